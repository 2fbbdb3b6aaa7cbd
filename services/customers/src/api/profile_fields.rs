//! The descriptive fields of a customer message: parsed and checked, every bad one named.
use crate::profile::{self, Profile};
use crm_platform::error::Violations;
use crm_proto::crm::customers::v1::Customer;

/// A text-valued profile field, recording a violation on failure.
fn text(v: &mut Violations, name: &str, result: Result<Option<String>, String>) -> Option<String> {
    result.unwrap_or_else(|e| {
        v.add(format!("customer.{name}"), e);
        None
    })
}

/// An enum-valued profile field.
fn choice(
    v: &mut Violations,
    name: &str,
    value: i32,
    names: &'static [&'static str],
) -> Option<&'static str> {
    profile::enum_name(value, names).unwrap_or_else(|e| {
        v.add(format!("customer.{name}"), e);
        None
    })
}

/// The descriptive fields of a customer message, every one checked.
pub(super) fn parse_profile(c: &Customer, v: &mut Violations) -> Profile {
    let p = Profile {
        legal_name: text(v, "legal_name", profile::short_text(&c.legal_name, 300)),
        lifecycle_stage: choice(v, "lifecycle_stage", c.lifecycle_stage, profile::STAGES),
        stage_pinned: c.stage_pinned,
        industry: text(v, "industry", profile::short_text(&c.industry, 100)),
        region: text(v, "region", profile::short_text(&c.region, 100)),
        company_size: choice(v, "company_size", c.company_size, profile::SIZES),
        source_channel: choice(v, "source_channel", c.source_channel, profile::CHANNELS),
        tags: profile::tags(&c.tags).unwrap_or_else(|e| {
            v.add("customer.tags", e);
            Vec::new()
        }),
        external_id: text(v, "external_id", profile::key_text(&c.external_id, 200)),
        source: text(v, "source", profile::source(&c.source)),
        birth_date: text(v, "birth_date", profile::date(&c.birth_date)),
        preferred_language: text(
            v,
            "preferred_language",
            profile::language(&c.preferred_language),
        ),
        notes: text(v, "notes", profile::notes(&c.notes)),
        given_name: text(v, "given_name", profile::short_text(&c.given_name, 100)),
        family_name: text(v, "family_name", profile::short_text(&c.family_name, 100)),
    };
    match (&p.external_id, &p.source) {
        (Some(_), None) => v.add("customer.source", "is required with external_id"),
        (None, Some(_)) => v.add("customer.external_id", "is required with source"),
        _ => {}
    }
    p
}
