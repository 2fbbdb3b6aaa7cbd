//! Proto ⇄ domain conversion of customers: responses, creates and updates with their field masks.
use super::{profile_fields::parse_profile, sensitive};
use crate::{
    domain::{self, DisplayName, Email, Kind, Phone},
    error::Error,
    profile,
    service::{Changes, NewCustomer},
    store::CustomerRow,
};
use crm_platform::{error::Violations, proto_time::timestamp};
use crm_proto::crm::customers::v1::{Customer, customer::Kind as ProtoKind};
use tonic::Status;
use uuid::Uuid;

/// Proto representation of a stored customer.
pub fn to_proto(row: &CustomerRow) -> Customer {
    let kind = match row.kind() {
        Some(Kind::Person) => ProtoKind::Person,
        Some(Kind::Organization) => ProtoKind::Organization,
        None => ProtoKind::Unspecified,
    };
    Customer {
        name: domain::name_of(row.id),
        id: row.id.to_string(),
        display_name: row.display_name.clone(),
        kind: kind as i32,
        email: row.email.clone().unwrap_or_default(),
        phone: row.phone.clone().unwrap_or_default(),
        owner_id: row.owner_id.map(|id| id.to_string()).unwrap_or_default(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        etag: row.version.to_string(),
        legal_name: row.legal_name.clone().unwrap_or_default(),
        lifecycle_stage: profile::enum_value(Some(&row.lifecycle_stage), profile::STAGES),
        stage_pinned: row.stage_pinned,
        value_tier: profile::enum_value(Some(&row.value_tier), profile::TIERS),
        industry: row.industry.clone().unwrap_or_default(),
        region: row.region.clone().unwrap_or_default(),
        company_size: profile::enum_value(row.company_size.as_deref(), profile::SIZES),
        source_channel: profile::enum_value(row.source_channel.as_deref(), profile::CHANNELS),
        tags: row.tag_list(),
        external_id: row.external_id.clone().unwrap_or_default(),
        source: row.source.clone().unwrap_or_default(),
        birth_date: row.birth_date.clone().unwrap_or_default(),
        preferred_language: row.preferred_language.clone().unwrap_or_default(),
        notes: row.notes.clone().unwrap_or_default(),
        given_name: row.given_name.clone().unwrap_or_default(),
        family_name: row.family_name.clone().unwrap_or_default(),
        custom_fields: super::custom_fields::values_proto(&row.custom_fields),
        lifetime_value_minor: row.lifetime_value_minor,
        duplicate_candidates: Vec::new(),
        // Filled by the handlers that may show them (see `sensitive`).
        national_id: String::new(),
        bank_account: String::new(),
    }
}

pub(super) fn parse_kind(value: i32, field: &str, v: &mut Violations) -> Option<Kind> {
    match ProtoKind::try_from(value) {
        Ok(ProtoKind::Person) => Some(Kind::Person),
        Ok(ProtoKind::Organization) => Some(Kind::Organization),
        Ok(ProtoKind::Unspecified) => {
            v.add(field, "is required (PERSON or ORGANIZATION)");
            None
        }
        Err(_) => {
            v.add(field, "must be PERSON or ORGANIZATION");
            None
        }
    }
}

/// Parses a value with `parse`, recording a violation for `field` on failure.
pub(super) fn field<T>(
    v: &mut Violations,
    field: &str,
    result: Result<T, &'static str>,
) -> Option<T> {
    result.map_err(|e| v.add(field, e)).ok()
}

/// An optional text field: empty means "none".
pub(super) fn optional<T>(
    v: &mut Violations,
    name: &str,
    raw: &str,
    parse: fn(&str) -> Result<T, &'static str>,
) -> Option<Option<T>> {
    if raw.trim().is_empty() {
        Some(None)
    } else {
        field(v, name, parse(raw)).map(Some)
    }
}

pub(super) fn parse_owner(raw: &str) -> Result<Uuid, &'static str> {
    Uuid::parse_str(raw).map_err(|_| "must be a user id (UUID)")
}

pub(super) fn parse_etag(raw: &str, name: &str, v: &mut Violations) -> Option<i64> {
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(etag) => Some(etag),
        Err(_) => {
            v.add(name, "is not an etag returned by this service");
            None
        }
    }
}

pub(super) fn invalid(v: Violations) -> Status {
    Error::InvalidArgument(v.into_vec()).into()
}

pub(super) fn parse_new(c: &Customer) -> Result<NewCustomer, Status> {
    parse_new_customer(c).map_err(|v| {
        let mut out = Violations::default();
        for f in v {
            out.add(f.field, f.description);
        }
        invalid(out)
    })
}

/// [`parse_new`] with the bad fields as a list (imports report them per row).
pub fn parse_new_customer(
    c: &Customer,
) -> Result<NewCustomer, Vec<crm_platform::error::FieldViolation>> {
    let mut v = Violations::default();
    // A person given by name parts alone gets the name composed from them.
    let composed = c
        .display_name
        .trim()
        .is_empty()
        .then(|| profile::compose_name(&c.given_name, &c.family_name))
        .flatten();
    let display_name = field(
        &mut v,
        "customer.display_name",
        DisplayName::parse(composed.as_deref().unwrap_or(&c.display_name)),
    );
    let kind = parse_kind(c.kind, "customer.kind", &mut v);
    let email = optional(&mut v, "customer.email", &c.email, Email::parse);
    let phone = optional(&mut v, "customer.phone", &c.phone, Phone::parse);
    let owner_id = optional(&mut v, "customer.owner_id", &c.owner_id, parse_owner);
    let profile = parse_profile(c, &mut v);
    let secrets = sensitive::parse(c, |_| true, &mut v);
    match (display_name, kind, email, phone, owner_id) {
        (Some(display_name), Some(kind), Some(email), Some(phone), Some(owner_id))
            if v.is_empty() =>
        {
            Ok(NewCustomer {
                custom_fields: c
                    .custom_fields
                    .as_ref()
                    .map(super::custom_fields::struct_to_map)
                    .unwrap_or_default(),
                display_name,
                kind,
                email,
                phone,
                owner_id,
                profile,
                secrets,
            })
        }
        _ => Err(v.into_vec()),
    }
}

/// Fields an update mask may name; output-only fields are ignored (AIP-161).
const UPDATABLE: &[&str] = &[
    "display_name",
    "kind",
    "email",
    "phone",
    "owner_id",
    "legal_name",
    "lifecycle_stage",
    "stage_pinned",
    "industry",
    "region",
    "company_size",
    "source_channel",
    "tags",
    "external_id",
    "source",
    "birth_date",
    "preferred_language",
    "notes",
    "given_name",
    "family_name",
];
const OUTPUT_ONLY: &[&str] = &[
    "name",
    "id",
    "create_time",
    "update_time",
    "etag",
    "value_tier",
    "lifetime_value_minor",
];

/// Checks the paths of an update mask; `None` means every updatable field ("*" or empty when
/// `empty_is_all`).
pub(super) fn mask_paths(
    paths: &[String],
    empty_is_all: bool,
    v: &mut Violations,
) -> Option<Vec<String>> {
    if paths.iter().any(|p| p == "*") || (empty_is_all && paths.is_empty()) {
        return None;
    }
    for path in paths {
        if !UPDATABLE.contains(&path.as_str())
            && !OUTPUT_ONLY.contains(&path.as_str())
            && crate::sensitive::field(path).is_none()
            && path != "custom_fields"
            && path
                .strip_prefix("custom_fields.")
                .is_none_or(|k| crate::custom_fields::parse_key(k).is_err())
        {
            v.add(
                "update_mask",
                format!(
                    "unknown field {path:?} (updatable: {}, {}, custom_fields, custom_fields.<key>)",
                    UPDATABLE.join(", "),
                    crate::sensitive::FIELDS
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    Some(paths.to_vec())
}

/// What an update does to custom fields: "custom_fields" (or "*") replaces them all,
/// "custom_fields.<key>" sets (or, absent or null, removes) one.
pub(crate) fn custom_fields_change(
    c: &Customer,
    paths: Option<&[String]>,
) -> Option<crate::custom_fields::ValuesChange> {
    let values = c
        .custom_fields
        .as_ref()
        .map(super::custom_fields::struct_to_map)
        .unwrap_or_default();
    crate::custom_fields::ValuesChange::for_paths(values, paths)
}

pub(super) fn parse_changes(c: &Customer, paths: &[String]) -> Result<Changes, Status> {
    let mut v = Violations::default();
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: name the fields to update, or \"*\" for all",
        );
        return Err(invalid(v));
    }
    let masked = mask_paths(paths, false, &mut v);
    let mut changes = Changes::default();
    let wants = |f: &str| masked.as_ref().is_none_or(|m| m.iter().any(|p| p == f));
    changes.profile = parse_profile(c, &mut v);
    changes.profile_fields = profile::FIELDS
        .iter()
        .filter(|f| wants(f))
        .map(|f| f.to_string())
        .collect();
    changes.secrets = sensitive::parse(c, wants, &mut v);
    changes.custom_fields = custom_fields_change(c, masked.as_deref());
    if wants("display_name") {
        changes.display_name = field(
            &mut v,
            "customer.display_name",
            DisplayName::parse(&c.display_name),
        );
    }
    if wants("kind") {
        changes.kind = parse_kind(c.kind, "customer.kind", &mut v);
    }
    if wants("email") {
        changes.email = optional(&mut v, "customer.email", &c.email, Email::parse);
    }
    if wants("phone") {
        changes.phone = optional(&mut v, "customer.phone", &c.phone, Phone::parse);
    }
    if wants("owner_id") {
        changes.owner_id = optional(&mut v, "customer.owner_id", &c.owner_id, parse_owner);
    }
    if v.is_empty() {
        Ok(changes)
    } else {
        Err(invalid(v))
    }
}
