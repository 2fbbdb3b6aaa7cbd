//! Survivorship: which value each field of a merge's survivor keeps (see `merge`).
use crate::{
    error::Error,
    merge::{FIELDS, MAX_MERGED, MergeRequest, Rule},
    store::CustomerRow,
};
use crm_platform::error::FieldViolation;
use uuid::Uuid;

/// A field's value on a row ("" counts as empty).
pub(crate) fn value(row: &CustomerRow, field: &str) -> Option<String> {
    if let Some(key) = field.strip_prefix("custom_fields.") {
        let values: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.custom_fields).unwrap_or_default();
        return values.get(key).map(|v| v.to_string());
    }
    let v = match field {
        "display_name" => Some(row.display_name.clone()),
        "given_name" => row.given_name.clone(),
        "family_name" => row.family_name.clone(),
        "email" => row.email.clone(),
        "phone" => row.phone.clone(),
        "legal_name" => row.legal_name.clone(),
        "industry" => row.industry.clone(),
        "region" => row.region.clone(),
        "company_size" => row.company_size.clone(),
        "source_channel" => row.source_channel.clone(),
        "birth_date" => row.birth_date.clone(),
        "preferred_language" => row.preferred_language.clone(),
        "notes" => row.notes.clone(),
        "owner_id" => row.owner_id.map(|id| id.to_string()),
        "tags" => Some(row.tags.clone()).filter(|t| t != "[]"),
        _ => None,
    };
    v.filter(|s| !s.is_empty())
}

/// Sets a field's value (`None` clears it; the display name is never cleared).
pub(crate) fn set(row: &mut CustomerRow, field: &str, v: Option<String>) {
    if let Some(key) = field.strip_prefix("custom_fields.") {
        let mut values: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.custom_fields).unwrap_or_default();
        match v.and_then(|s| serde_json::from_str(&s).ok()) {
            Some(json) => values.insert(key.to_owned(), json),
            None => values.remove(key),
        };
        row.custom_fields = serde_json::Value::Object(values).to_string();
        return;
    }
    match field {
        "display_name" => {
            if let Some(v) = v {
                row.display_name = v;
            }
        }
        "given_name" => row.given_name = v,
        "family_name" => row.family_name = v,
        "email" => row.email = v,
        "phone" => row.phone = v,
        "legal_name" => row.legal_name = v,
        "industry" => row.industry = v,
        "region" => row.region = v,
        "company_size" => row.company_size = v,
        "source_channel" => row.source_channel = v,
        "birth_date" => row.birth_date = v,
        "preferred_language" => row.preferred_language = v,
        "notes" => row.notes = v,
        "owner_id" => row.owner_id = v.and_then(|s| Uuid::parse_str(&s).ok()),
        "tags" => row.tags = v.unwrap_or_else(|| "[]".into()),
        _ => {}
    }
}

/// The value `rule` picks; `all` is the survivor first, then the merged customers, most
/// recently updated first.
fn pick(rule: Rule, field: &str, all: &[&CustomerRow]) -> Option<String> {
    let by_recency = || {
        let mut rows = all.to_vec();
        rows.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
        rows
    };
    match rule {
        Rule::KeepSurvivor => value(all[0], field),
        Rule::FillEmpty => all.iter().find_map(|r| value(r, field)),
        Rule::MostRecent => by_recency().iter().find_map(|r| value(r, field)),
        Rule::MostComplete => {
            all.iter()
                .filter_map(|r| value(r, field))
                .fold(None, |best: Option<String>, v| match best {
                    Some(b) if b.chars().count() >= v.chars().count() => Some(b),
                    _ => Some(v),
                })
        }
        Rule::Choose(id) => all
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| value(r, field)),
    }
}

/// The survivor after the rules: its fields, tags united, custom fields per key.
pub fn survive(req: &MergeRequest, survivor: &CustomerRow, merged: &[CustomerRow]) -> CustomerRow {
    let mut all: Vec<&CustomerRow> = vec![survivor];
    let mut others: Vec<&CustomerRow> = merged.iter().collect();
    others.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    all.extend(others);
    let rule = |field: &str| req.rules.get(field).copied().unwrap_or(req.default_rule);
    let mut next = survivor.clone();
    for field in FIELDS {
        set(&mut next, field, pick(rule(field), field, &all));
    }
    let mut keys: Vec<String> = Vec::new();
    for row in &all {
        let values: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.custom_fields).unwrap_or_default();
        keys.extend(
            values
                .keys()
                .filter(|k| !keys.contains(k))
                .cloned()
                .collect::<Vec<_>>(),
        );
    }
    for key in keys {
        let field = format!("custom_fields.{key}");
        set(&mut next, &field, pick(rule(&field), &field, &all));
    }
    let mut tags = survivor.tag_list();
    for row in &all[1..] {
        for tag in row.tag_list() {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    next.tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
    next
}

/// Checks the request's shape: distinct customers, known fields, CHOOSE among them.
pub fn validate(req: &MergeRequest) -> Result<(), Error> {
    let mut v = Vec::new();
    let mut bad = |field: &str, description: String| {
        v.push(FieldViolation {
            field: field.to_owned(),
            description,
        })
    };
    if req.merged.is_empty() || req.merged.len() > MAX_MERGED {
        bad(
            "merged_customers",
            format!("must name 1 to {MAX_MERGED} customers"),
        );
    }
    let mut seen = vec![req.survivor];
    for id in &req.merged {
        if seen.contains(id) {
            bad(
                "merged_customers",
                format!(
                    "names {} twice (or the survivor)",
                    crate::domain::name_of(*id)
                ),
            );
        }
        seen.push(*id);
    }
    for (field, rule) in &req.rules {
        if !FIELDS.contains(&field.as_str()) && !field.starts_with("custom_fields.") {
            bad(
                "field_rules.field",
                format!("{field:?} cannot be merged by rule"),
            );
        }
        if let Rule::Choose(id) = rule
            && !seen.contains(id)
        {
            bad(
                "field_rules.source",
                format!(
                    "{} is neither the survivor nor merged",
                    crate::domain::name_of(*id)
                ),
            );
        }
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(v))
    }
}
