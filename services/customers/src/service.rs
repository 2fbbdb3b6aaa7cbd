//! Customer use cases: data scope, etag checks, idempotency. Transport-free: the gRPC adapter
//! in `api.rs` parses requests into these inputs and formats the results.
use crate::{
    access::Reach,
    domain::{DisplayName, Email, Kind, Phone},
    duplicates::{Candidate, Policy},
    error::Error,
    events, history,
    profile::Profile,
    store::{CustomerRow, NewRequest, SCHEMA, Store, Write},
};
use crm_platform::{auth::Principal, db, filter::DynamicField};
use tracing::instrument;
use uuid::Uuid;

/// The resource family whose data scope applies to customers.
pub(crate) const FAMILY: &str = "customers";
/// Sort order when the caller gives none: newest first.
const DEFAULT_ORDER: &str = "create_time desc";

/// A customer to create, already validated.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// Display name.
    pub display_name: DisplayName,
    /// Person or organisation.
    pub kind: Kind,
    /// Email.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Phone>,
    /// Owner; defaults to the caller.
    pub owner_id: Option<Uuid>,
    /// The descriptive fields.
    pub profile: Profile,
    /// Sensitive values to store (`None` entries store nothing).
    pub secrets: crate::sensitive::Writes,
    /// Custom field values, checked against the definitions when written.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// Changes to apply: `None` leaves a field as it is; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// New display name.
    pub display_name: Option<DisplayName>,
    /// New kind.
    pub kind: Option<Kind>,
    /// New or cleared email.
    pub email: Option<Option<Email>>,
    /// New or cleared phone.
    pub phone: Option<Option<Phone>>,
    /// New or cleared owner.
    pub owner_id: Option<Option<Uuid>>,
    /// Descriptive fields, applied for the names in `profile_fields`.
    pub profile: Profile,
    /// Which descriptive fields to apply.
    pub profile_fields: Vec<String>,
    /// Sensitive values to set or clear; fields not listed are kept.
    pub secrets: crate::sensitive::Writes,
    /// Custom field values to replace or set.
    pub custom_fields: Option<crate::custom_fields::ValuesChange>,
}

impl Changes {
    /// Every field of `new` named by `fields` (all when `None`), as changes.
    pub fn from_new(new: NewCustomer, fields: Option<&[String]>) -> Changes {
        let wants = |f: &str| fields.is_none_or(|fs| fs.iter().any(|p| p == f));
        Changes {
            display_name: wants("display_name").then_some(new.display_name),
            kind: wants("kind").then_some(new.kind),
            email: wants("email").then_some(new.email),
            phone: wants("phone").then_some(new.phone),
            owner_id: wants("owner_id").then_some(new.owner_id),
            profile_fields: crate::profile::FIELDS
                .iter()
                .filter(|f| wants(f))
                .map(|f| f.to_string())
                .collect(),
            profile: new.profile,
            secrets: crate::sensitive::Writes(
                new.secrets
                    .0
                    .into_iter()
                    .filter(|(n, _)| wants(n))
                    .collect(),
            ),
            custom_fields: crate::custom_fields::ValuesChange::for_paths(new.custom_fields, fields),
        }
    }
}

/// An idempotent request: its id, RPC and fingerprint.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The caller's request id.
    pub request_id: String,
    /// Hash of the request.
    pub fingerprint: String,
}

/// What a create returned.
#[derive(Debug)]
pub enum Created {
    /// A new customer (boxed: a row is much larger than a replayed response).
    New(Box<CustomerRow>),
    /// A retry: the encoded response of the first attempt.
    Replayed(Vec<u8>),
}

/// List parameters, as the caller sent them.
pub use crm_platform::paging::ListParams;

/// The customer use cases.
#[derive(Clone, Debug)]
pub struct Customers {
    pub(crate) store: Store,
    pub(crate) classification: crate::classification::ClassificationConfig,
    pub(crate) vault: crate::sensitive::Vault,
    pub(crate) duplicates: crate::duplicates::DuplicateConfig,
    /// Where exports are reported (the security audit log), when the process reaches it.
    pub(crate) audit: Option<std::sync::Arc<crm_platform::auth::Authenticator>>,
    /// The services that answer privacy requests.
    pub(crate) privacy_services: Vec<String>,
}

/// The row a new customer will be (before its custom fields are checked).
pub(crate) fn draft(principal: &Principal, new: &NewCustomer) -> CustomerRow {
    let mut row = CustomerRow::new(
        new.display_name.as_str(),
        new.kind,
        new.owner_id.or_else(|| principal.user_id()),
        &principal.unit_path,
        db::now(),
    );
    row.email = new.email.as_ref().map(|e| e.as_str().to_owned());
    row.phone = new.phone.as_ref().map(|p| p.as_str().to_owned());
    new.profile.apply(&mut row, |_| true);
    row
}

/// The field named `name` among `fields` (from [`Customers::dynamic_filter_fields`]): the
/// resolver of a filter's fields beyond [`SCHEMA`].
pub(crate) fn dynamic_field(fields: &[(String, DynamicField)], name: &str) -> Option<DynamicField> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, f)| f.clone())
}

fn external_id_taken() -> Error {
    Error::AlreadyExists("another customer already has this source and external_id".to_owned())
}

impl Customers {
    /// Use cases over a store, with fresh random keys for sensitive fields (tests, or until
    /// [`Customers::with_keyring`] sets the configured ones).
    pub fn new(store: Store) -> Self {
        let (keyring, _) =
            crm_platform::crypto::Keyring::generate().expect("the system random generator works");
        Self {
            store,
            classification: Default::default(),
            vault: crate::sensitive::Vault::new(keyring),
            duplicates: Default::default(),
            audit: None,
            privacy_services: vec![crate::NAME.to_owned()],
        }
    }

    /// The same use cases, expecting these services to answer privacy requests (this one is
    /// always among them: it answers itself).
    pub fn with_privacy_services(mut self, mut services: Vec<String>) -> Self {
        if !services.iter().any(|s| s == crate::NAME) {
            services.push(crate::NAME.to_owned());
        }
        self.privacy_services = services;
        self
    }

    /// The same use cases, reporting exports through `auth`'s security sink.
    pub fn with_audit(mut self, auth: std::sync::Arc<crm_platform::auth::Authenticator>) -> Self {
        self.audit = Some(auth);
        self
    }

    /// The same use cases with these duplicate thresholds and undo period.
    pub fn with_duplicates(mut self, config: crate::duplicates::DuplicateConfig) -> Self {
        self.duplicates = config;
        self
    }

    /// The same use cases with these keys for sensitive fields.
    pub fn with_keyring(mut self, keyring: crm_platform::crypto::Keyring) -> Self {
        self.vault = crate::sensitive::Vault::new(keyring);
        self
    }

    /// The sensitive-field vault.
    pub fn vault(&self) -> &crate::sensitive::Vault {
        &self.vault
    }

    /// The same use cases with these classification thresholds.
    pub fn with_classification(
        mut self,
        config: crate::classification::ClassificationConfig,
    ) -> Self {
        self.classification = config;
        self
    }

    /// What the caller reaches, for reading or for changing.
    pub async fn reach(&self, principal: &Principal, write: bool) -> Result<Reach, Error> {
        Ok(Reach::of(self.store.db(), principal, write).await?)
    }

    /// One customer the caller reaches (scope or share).
    #[instrument(skip(self, principal), fields(customer = %id))]
    pub async fn get(&self, principal: &Principal, id: Uuid) -> Result<CustomerRow, Error> {
        self.store
            .get(id, &self.reach(principal, false).await?)
            .await?
            .ok_or_else(|| Error::NotFound(crate::domain::name_of(id)))
    }

    /// One customer the caller may change: in their scope or shared with them for writing.
    /// Shared read-only is PERMISSION_DENIED; not reached at all is NOT_FOUND.
    pub async fn get_for_write(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> Result<CustomerRow, Error> {
        let reach = self.reach(principal, true).await?;
        self.get_within(principal, id, &reach, "is shared with you read-only")
            .await
    }

    /// One customer within `reach`; one the caller sees only beyond it is refused (`refusal`
    /// follows its name), not hidden; one the caller does not see at all is NOT_FOUND.
    pub(crate) async fn get_within(
        &self,
        principal: &Principal,
        id: Uuid,
        reach: &Reach,
        refusal: &str,
    ) -> Result<CustomerRow, Error> {
        match self.store.get(id, reach).await? {
            Some(row) => Ok(row),
            None => {
                self.get(principal, id).await?;
                Err(Error::PermissionDenied(format!(
                    "{} {refusal}",
                    crate::domain::name_of(id)
                )))
            }
        }
    }

    /// A page of customers in the caller's scope, and the token of the next page ("" at the end).
    #[instrument(skip(self, principal))]
    pub async fn list(
        &self,
        principal: &Principal,
        params: &ListParams,
    ) -> Result<(Vec<CustomerRow>, String), Error> {
        let mut query = Store::list_query(&self.reach(principal, false).await?);
        let dynamic = self.dynamic_filter_fields(&params.filter).await?;
        let resolve = |name: &str| dynamic_field(&dynamic, name);
        let page = params
            .prepare_with(&mut query, &SCHEMA, Some(&resolve), DEFAULT_ORDER)
            .map_err(crm_platform::paging::PageError::Query)?;
        let mut rows = crm_platform::db::fetch_all(self.store.db(), query)
            .await
            .map_err(crm_platform::paging::PageError::Db)?;
        let next = page.finish(
            &mut rows,
            params,
            |r: &CustomerRow, f| r.sort_value(f),
            |r| r.id,
        );
        Ok((rows, next))
    }

    /// The filter fields beyond [`SCHEMA`] that `filter` may name (custom fields), for
    /// [`dynamic_field`]. Looked up only when the filter names one: it costs a query.
    pub(crate) async fn dynamic_filter_fields(
        &self,
        filter: &str,
    ) -> Result<Vec<(String, DynamicField)>, Error> {
        if filter.contains("custom_fields.") {
            self.filter_fields().await
        } else {
            Ok(Vec::new())
        }
    }

    /// Creates a customer owned by the caller (unless an owner is given). With a request id,
    /// a retry returns the first result; `encode` makes the response stored for retries.
    pub async fn create(
        &self,
        principal: &Principal,
        new: NewCustomer,
        idempotency: Option<Idempotency>,
        encode: impl Fn(&CustomerRow) -> Vec<u8>,
    ) -> Result<Created, Error> {
        let (created, _) = self
            .create_checked(principal, new, Policy::Warn, idempotency, |row, _| {
                encode(row)
            })
            .await?;
        Ok(created)
    }

    /// [`Customers::create`] under a duplicate policy: with `Block`, a likely duplicate refuses
    /// the create; with `Warn`, the candidates come back with the new customer (and `encode`
    /// gets them, so a retry answers with them too).
    #[instrument(skip_all)]
    pub async fn create_checked(
        &self,
        principal: &Principal,
        new: NewCustomer,
        policy: Policy,
        idempotency: Option<Idempotency>,
        encode: impl Fn(&CustomerRow, &[Candidate]) -> Vec<u8>,
    ) -> Result<(Created, Vec<Candidate>), Error> {
        const METHOD: &str = "CreateCustomer";
        if let Some(key) = &idempotency
            && let Some(replay) = self.replay(METHOD, key).await?
        {
            return Ok((Created::Replayed(replay), Vec::new()));
        }
        let mut row = draft(principal, &new);
        let defs = self.definitions().await?;
        row.custom_fields = crate::custom_fields::apply(
            &defs,
            "{}",
            &crate::custom_fields::ValuesChange::Replace(new.custom_fields.clone()),
            true,
        )
        .map_err(Error::InvalidArgument)?;
        let candidates = match policy {
            Policy::Allow => Vec::new(),
            Policy::Warn | Policy::Block => {
                let record = crate::duplicates::record_of(&row);
                let check = self.check_record(principal, &row, record).await?;
                if policy == Policy::Block && check.blocks() {
                    return Err(Error::Duplicate(Box::new(check)));
                }
                check.candidates
            }
        };
        let request = idempotency.as_ref().map(|key| NewRequest {
            request_id: &key.request_id,
            method: METHOD,
            fingerprint: &key.fingerprint,
        });
        match self
            .insert_with_event(principal, &row, &new.secrets, request, |row| {
                encode(row, &candidates)
            })
            .await
        {
            Ok(stored) => {
                tracing::info!(customer = %stored.id, "customer created");
                Ok((Created::New(Box::new(stored)), candidates))
            }
            Err(Error::Db(e)) if e.is_unique("external") => Err(external_id_taken()),
            // A concurrent retry with the same request id committed first: answer as it did.
            Err(Error::Db(e)) if e.is_unique("request_log") => match &idempotency {
                Some(key) => match self.replay(METHOD, key).await? {
                    Some(replay) => Ok((Created::Replayed(replay), Vec::new())),
                    None => Err(e.into()),
                },
                None => Err(e.into()),
            },
            Err(e) => Err(e),
        }
    }

    /// The insert and its `customer.created` event, in one transaction.
    async fn insert_with_event(
        &self,
        principal: &Principal,
        row: &CustomerRow,
        secrets: &crate::sensitive::Writes,
        request: Option<NewRequest<'_>>,
        encode: impl Fn(&CustomerRow) -> Vec<u8>,
    ) -> Result<CustomerRow, Error> {
        let mut tx = self.store.db().begin().await?;
        let stored = self.store.insert(&mut tx, row, request, encode).await?;
        // A new customer has no contact points yet, and no keys to replace.
        let record = crate::duplicates::record_of(&stored);
        crate::duplicates::insert_record_keys(
            &mut tx,
            stored.id,
            &record,
            &self.duplicates.matcher(),
        )
        .await?;
        let mut trail = history::changes(None, Some(&stored));
        trail.extend(
            self.vault
                .write(&mut tx, stored.id, secrets, stored.created_at)
                .await?,
        );
        history::record(&mut tx, &principal.actor(), stored.id, "CREATED", &trail).await?;
        tx.emit(&events::changed(
            principal,
            events::CREATED,
            &stored,
            Vec::new(),
        ))
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn replay(&self, method: &str, key: &Idempotency) -> Result<Option<Vec<u8>>, Error> {
        use crm_platform::idempotency::{Replay, lookup};
        match lookup(self.store.db(), method, &key.request_id, &key.fingerprint).await? {
            Replay::First => Ok(None),
            Replay::Again(response) => Ok(Some(response)),
            Replay::Reused => Err(Error::field(
                "request_id",
                "was already used for a different request",
            )),
        }
    }

    /// Applies `changes` if the customer is in scope and, when `etag` is given, unchanged since.
    #[instrument(skip(self, principal, changes), fields(customer = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: Uuid,
        etag: Option<i64>,
        changes: Changes,
    ) -> Result<CustomerRow, Error> {
        let scope = self.reach(principal, true).await?;
        let current = self.get_for_write(principal, id).await?;
        if etag.is_some_and(|e| e != current.version) {
            return Err(Error::EtagMismatch(crate::domain::name_of(id)));
        }
        let mut next = current.clone();
        if let Some(name) = changes.display_name {
            next.display_name = name.as_str().to_owned();
        }
        if let Some(kind) = changes.kind {
            next.kind = kind.as_str().to_owned();
        }
        if let Some(email) = changes.email {
            next.email = email.map(|e| e.as_str().to_owned());
        }
        if let Some(phone) = changes.phone {
            next.phone = phone.map(|p| p.as_str().to_owned());
        }
        if let Some(owner) = changes.owner_id {
            next.owner_id = owner;
        }
        let fields = &changes.profile_fields;
        changes
            .profile
            .apply(&mut next, |f| fields.iter().any(|p| p == f));
        if let Some(change) = &changes.custom_fields {
            let defs = self.definitions().await?;
            next.custom_fields =
                crate::custom_fields::apply(&defs, &current.custom_fields, change, true)
                    .map_err(Error::InvalidArgument)?;
        }
        next.updated_at = db::now();
        // The version read above, not the caller's etag: a change between our read and our
        // write is a conflict even when the caller sent no etag.
        let mut tx = self.store.db().begin().await?;
        let written = match self
            .store
            .update(&mut tx, &next, current.version, &scope)
            .await
        {
            Err(e) if e.is_unique("external") => return Err(external_id_taken()),
            other => other?,
        };
        match written {
            Write::Done(row) => {
                // One diff serves the audit trail and the event's changed fields.
                let mut trail = history::changes(Some(&current), Some(&row));
                trail.extend(
                    self.vault
                        .write(&mut tx, row.id, &changes.secrets, row.updated_at)
                        .await?,
                );
                let fields = trail.iter().map(|c| c.field.clone()).collect();
                crate::duplicates::write_keys(&mut tx, &row, &self.duplicates.matcher()).await?;
                history::record(&mut tx, &principal.actor(), row.id, "UPDATED", &trail).await?;
                tx.emit(&events::changed(principal, events::UPDATED, &row, fields))
                    .await?;
                tx.commit().await?;
                Ok(row)
            }
            Write::NotFound => Err(Error::NotFound(crate::domain::name_of(id))),
            Write::Conflict => Err(Error::EtagMismatch(crate::domain::name_of(id))),
        }
    }

    /// Creates or updates the customer a corporate system knows as (`source`, `external_id`),
    /// replacing the fields named in `fields` (all when `None`) on update. Returns the customer
    /// and whether it was created.
    #[instrument(skip_all)]
    pub async fn upsert(
        &self,
        principal: &Principal,
        new: NewCustomer,
        fields: Option<Vec<String>>,
        policy: Policy,
    ) -> Result<(CustomerRow, bool, Vec<Candidate>), Error> {
        let (Some(source), Some(external_id)) =
            (new.profile.source.clone(), new.profile.external_id.clone())
        else {
            return Err(Error::InvalidArgument(vec![
                crm_platform::error::FieldViolation {
                    field: "customer.source".into(),
                    description: "is required to upsert".into(),
                },
                crm_platform::error::FieldViolation {
                    field: "customer.external_id".into(),
                    description: "is required to upsert".into(),
                },
            ]));
        };
        let scope = self.reach(principal, true).await?;
        // Two rounds: a concurrent upsert of the same pair may create it between our lookup
        // and our insert; the second round then updates it.
        for _ in 0..2 {
            if let Some(current) = self
                .store
                .by_external_id(&source, &external_id, &scope)
                .await?
            {
                let changes = Changes::from_new(new.clone(), fields.as_deref());
                let row = self.update(principal, current.id, None, changes).await?;
                return Ok((row, false, Vec::new()));
            }
            if self.store.external_id_taken(&source, &external_id).await? {
                // It exists outside the caller's scope: answered as if it did not exist, but
                // never duplicated.
                return Err(Error::NotFound(format!(
                    "customer with source {source:?} and external id {external_id:?}"
                )));
            }
            match self
                .create_checked(principal, new.clone(), policy, None, |_, _| Vec::new())
                .await
            {
                Ok((Created::New(row), candidates)) => return Ok((*row, true, candidates)),
                Ok((Created::Replayed(_), _)) | Err(Error::AlreadyExists(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(external_id_taken())
    }

    /// Deletes a customer in scope; with an etag, only if unchanged since.
    #[instrument(skip(self, principal), fields(customer = %id))]
    pub async fn delete(
        &self,
        principal: &Principal,
        id: Uuid,
        etag: Option<i64>,
    ) -> Result<(), Error> {
        let mut tx = self.store.db().begin().await?;
        match self
            .store
            // Deleting is for the scope's owners: a share, even for writing, does not reach it.
            .delete(&mut tx, id, etag, &Reach::scope(principal.scope(FAMILY)))
            .await?
        {
            Write::Done(row) => {
                let trail = history::changes(Some(&row), None);
                history::record(&mut tx, &principal.actor(), row.id, "DELETED", &trail).await?;
                tx.emit(&events::deleted(principal, &row)).await?;
                tx.commit().await?;
                tracing::info!(customer = %id, "customer deleted");
                Ok(())
            }
            Write::NotFound => Err(Error::NotFound(crate::domain::name_of(id))),
            Write::Conflict => Err(Error::EtagMismatch(crate::domain::name_of(id))),
        }
    }
}
