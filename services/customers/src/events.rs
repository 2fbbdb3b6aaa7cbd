//! The customers service's domain events, written to the outbox with the change they describe.
use crate::store::CustomerRow;
use crm_platform::{auth::Principal, events, permissions};
use crm_proto::crm::customers::v1::{CustomerChanged, CustomerDeleted};
use crm_proto::crm::events::v1::{Audience, Event};

/// A customer was created.
pub const CREATED: &str = "crm.customers.v1.customer.created";
/// A batch of an import created customers (one event for up to 1,000 of them).
pub const IMPORTED: &str = "crm.customers.v1.customers.imported";
/// A customer was changed.
pub const UPDATED: &str = "crm.customers.v1.customer.updated";
/// A customer was deleted.
pub const DELETED: &str = "crm.customers.v1.customer.deleted";
/// Customers were merged into a survivor: re-point references to the merged customers.
pub const MERGED: &str = "crm.customers.v1.customer.merged";
/// A merge was undone: the merged customers are back.
pub const UNMERGED: &str = "crm.customers.v1.customer.unmerged";
/// A data subject asked what is held about them: every service answers with what it holds.
pub const ACCESS_REQUESTED: &str = "crm.customers.v1.privacy.access_requested";
/// A data subject asked to be erased: every service erases and answers with what it did.
pub const ERASURE_REQUESTED: &str = "crm.customers.v1.privacy.erasure_requested";
/// A customer's lifecycle stage changed (classification or by hand).
pub const STAGE_CHANGED: &str = "crm.customers.v1.customer.stage_changed";
/// A customer's value tier changed.
pub const TIER_CHANGED: &str = "crm.customers.v1.customer.tier_changed";
/// A consent decision was recorded.
pub const CONSENT_RECORDED: &str = "crm.customers.v1.consent.recorded";
/// An interaction was recorded.
pub const INTERACTION_CREATED: &str = "crm.customers.v1.interaction.created";
/// A reminder came due while open.
pub const REMINDER_DUE: &str = "crm.customers.v1.reminder.due";
/// A purchase was recorded (or refunded).
pub const TRANSACTION_RECORDED: &str = "crm.customers.v1.transaction.recorded";

/// Readers of a customer's events: those who may read the customer itself.
fn audience(row: &CustomerRow) -> Audience {
    Audience {
        permission_family: "customers".to_owned(),
        owner: row
            .owner_id
            .map(|id| format!("users/{id}"))
            .unwrap_or_default(),
        unit_path: row.owner_unit_path.clone(),
        read_permission: permissions::CUSTOMERS_CUSTOMER_READ.to_owned(),
    }
}

/// `customer.created` or `customer.updated` with the customer as it is now.
pub fn changed(principal: &Principal, ty: &str, row: &CustomerRow, fields: Vec<String>) -> Event {
    events::event(
        crate::NAME,
        ty,
        crate::domain::name_of(row.id),
        events::actor(principal),
        audience(row),
        &CustomerChanged {
            customer: Some(crate::api::to_proto(row)),
            changed_fields: fields,
        },
    )
}

/// `customers.imported`: the customers one batch of import `import` created, one event per
/// audience (rows may name their owner, and each event is delivered only to who may read its
/// customers): one event for a batch whose customers are all owned alike.
pub fn imported(principal: &Principal, import: uuid::Uuid, rows: &[CustomerRow]) -> Vec<Event> {
    let mut groups: Vec<(Audience, Vec<crm_proto::crm::customers::v1::Customer>)> = Vec::new();
    for row in rows {
        let readers = audience(row);
        let customer = crate::api::to_proto(row);
        match groups.iter_mut().find(|(a, _)| *a == readers) {
            Some((_, customers)) => customers.push(customer),
            None => groups.push((readers, vec![customer])),
        }
    }
    groups
        .into_iter()
        .map(|(readers, customers)| {
            events::event(
                crate::NAME,
                IMPORTED,
                crate::bulk::import_name(import),
                events::actor(principal),
                readers,
                &crm_proto::crm::customers::v1::CustomersImported {
                    import: crate::bulk::import_name(import),
                    customers,
                },
            )
        })
        .collect()
}

/// `transaction.recorded`: about the customer's transaction, readable by who may read the
/// customer.
pub fn transaction_recorded(
    principal: &Principal,
    customer: &CustomerRow,
    transaction: &crate::transactions::TransactionRow,
) -> Event {
    events::event(
        crate::NAME,
        TRANSACTION_RECORDED,
        crate::api::transaction_name(transaction),
        events::actor(principal),
        audience(customer),
        &crm_proto::crm::customers::v1::TransactionRecorded {
            transaction: Some(crate::api::transaction_proto(transaction)),
        },
    )
}

/// `reminder.due`, published by the system when the reminder's timer fires.
pub fn reminder_due(customer: &CustomerRow, reminder: &crate::reminders::ReminderRow) -> Event {
    let payload = crm_proto::crm::customers::v1::ReminderDue {
        reminder: Some(crate::api::reminder_proto(
            reminder,
            crm_platform::db::now(),
        )),
    };
    events::event(
        crate::NAME,
        REMINDER_DUE,
        crate::api::reminder_name(reminder),
        crm_proto::crm::events::v1::Actor {
            principal: "system".to_owned(),
            request_id: String::new(),
        },
        audience(customer),
        &payload,
    )
}

/// `interaction.created`.
pub fn interaction_created(
    principal: &Principal,
    customer: &CustomerRow,
    interaction: &crate::interactions::InteractionRow,
) -> Event {
    let payload = crm_proto::crm::customers::v1::InteractionCreated {
        interaction: Some(crate::api::interaction_proto(interaction)),
    };
    events::event(
        crate::NAME,
        INTERACTION_CREATED,
        crate::api::interaction_name(interaction),
        events::actor(principal),
        audience(customer),
        &payload,
    )
}

/// `consent.recorded`: marketing stops mailing on a withdrawal.
pub fn consent_recorded(
    principal: &Principal,
    customer: &CustomerRow,
    consent: &crate::consents::ConsentRow,
) -> Event {
    let payload = crm_proto::crm::customers::v1::ConsentRecorded {
        consent: Some(crate::api::consent_proto(consent)),
    };
    events::event(
        crate::NAME,
        CONSENT_RECORDED,
        crate::api::consent_name(consent),
        events::actor(principal),
        audience(customer),
        &payload,
    )
}

/// `customer.merged` or `customer.unmerged`: the merge and the survivor as it is now, readable
/// by who may read the survivor.
pub fn merged(
    principal: &Principal,
    ty: &str,
    merge: &crate::merge::MergeRow,
    survivor: &CustomerRow,
) -> Event {
    events::event(
        crate::NAME,
        ty,
        crate::domain::name_of(survivor.id),
        events::actor(principal),
        audience(survivor),
        &crm_proto::crm::customers::v1::CustomerMerged {
            merge: Some(crate::api::merge_proto(merge)),
            survivor: Some(crate::api::to_proto(survivor)),
        },
    )
}

/// `privacy.access_requested` or `privacy.erasure_requested`, for the holders of the privacy
/// permission.
pub fn privacy_requested(
    principal: &Principal,
    ty: &str,
    request: &crate::privacy::PrivacyRow,
    emails: Vec<String>,
    phones: Vec<String>,
) -> Event {
    events::event(
        crate::NAME,
        ty,
        crate::privacy::privacy_name(request.id),
        events::actor(principal),
        Audience {
            permission_family: "customers".to_owned(),
            owner: String::new(),
            unit_path: "/".to_owned(),
            read_permission: permissions::CUSTOMERS_PRIVACY_MANAGE.to_owned(),
        },
        &crm_proto::crm::customers::v1::PrivacyRequested {
            privacy_request: Some(crate::api::privacy_proto(request)),
            emails,
            phones,
        },
    )
}

/// `customer.deleted`.
pub fn deleted(principal: &Principal, row: &CustomerRow) -> Event {
    let name = crate::domain::name_of(row.id);
    events::event(
        crate::NAME,
        DELETED,
        name.clone(),
        events::actor(principal),
        audience(row),
        &CustomerDeleted { name },
    )
}

/// The fields that differ between two versions of a customer.
pub fn changed_fields(before: &CustomerRow, after: &CustomerRow) -> Vec<String> {
    crate::history::changes(Some(before), Some(after))
        .into_iter()
        .map(|c| c.field)
        .collect()
}
