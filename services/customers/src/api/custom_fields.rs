//! Custom field definitions, and custom field values in the Customer proto.
use super::{invalid, parse_etag};
use crate::{
    custom_fields::{
        DefinitionChanges, DefinitionRow, NewDefinition, TYPES, parse_choices, parse_key,
    },
    error::Error,
    service::Customers,
};
use crm_platform::{error::Violations, proto_time::timestamp};
use crm_proto::crm::customers::v1::{
    CreateCustomFieldDefinitionRequest, CustomFieldDefinition, DeleteCustomFieldDefinitionRequest,
    ListCustomFieldDefinitionsRequest, ListCustomFieldDefinitionsResponse,
    UpdateCustomFieldDefinitionRequest, custom_field_definition::Type,
};
use pbjson_types::{ListValue, Struct, Value as ProtoValue, value::Kind as ValueKind};
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

/// Proto representation of a definition.
pub fn definition_proto(row: &DefinitionRow) -> CustomFieldDefinition {
    CustomFieldDefinition {
        name: format!("customFieldDefinitions/{}", row.key),
        key: row.key.clone(),
        label: row.label.clone(),
        r#type: Type::from_str_name(&row.field_type).unwrap_or(Type::Unspecified) as i32,
        required: row.required,
        choices: row.choice_list(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        etag: row.version.to_string(),
    }
}

/// A proto value as JSON. Whole numbers stay whole ("2", not "2.0").
pub fn to_json(value: &ProtoValue) -> Value {
    match &value.kind {
        None | Some(ValueKind::NullValue(_)) => Value::Null,
        Some(ValueKind::BoolValue(b)) => Value::Bool(*b),
        Some(ValueKind::StringValue(s)) => Value::String(s.clone()),
        Some(ValueKind::NumberValue(n)) => {
            crate::custom_fields::number_value(*n).unwrap_or(Value::Null)
        }
        Some(ValueKind::ListValue(l)) => Value::Array(l.values.iter().map(to_json).collect()),
        Some(ValueKind::StructValue(s)) => Value::Object(struct_to_map(s)),
    }
}

/// A proto Struct as a JSON object.
pub fn struct_to_map(s: &Struct) -> Map<String, Value> {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), to_json(v)))
        .collect()
}

fn from_json(value: &Value) -> ProtoValue {
    let kind = match value {
        Value::Null => ValueKind::NullValue(0),
        Value::Bool(b) => ValueKind::BoolValue(*b),
        Value::Number(n) => ValueKind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => ValueKind::StringValue(s.clone()),
        Value::Array(a) => ValueKind::ListValue(ListValue {
            values: a.iter().map(from_json).collect(),
        }),
        Value::Object(o) => ValueKind::StructValue(Struct {
            fields: o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect(),
        }),
    };
    ProtoValue { kind: Some(kind) }
}

/// Stored values (a JSON object) as a proto Struct; none when empty.
pub fn values_proto(stored: &str) -> Option<Struct> {
    let map: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    (!map.is_empty()).then(|| Struct {
        fields: map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect(),
    })
}

fn parse_type(raw: i32, v: &mut Violations) -> Option<&'static str> {
    match Type::try_from(raw) {
        Ok(Type::Unspecified) | Err(_) => {
            v.add(
                "definition.type",
                format!("must be one of {}", TYPES.join(", ")),
            );
            None
        }
        Ok(t) => TYPES.iter().find(|n| **n == t.as_str_name()).copied(),
    }
}

fn parse_label(raw: &str, v: &mut Violations) -> Option<String> {
    let label = raw.trim();
    if label.is_empty() || label.chars().count() > 100 {
        v.add("definition.label", "must be 1-100 characters");
        None
    } else {
        Some(label.to_owned())
    }
}

fn key_of(name: &str) -> Result<String, Status> {
    name.strip_prefix("customFieldDefinitions/")
        .and_then(|k| parse_key(k).ok())
        .ok_or_else(|| Error::field("name", "must be \"customFieldDefinitions/{key}\"").into())
}

pub(super) async fn create(
    c: &Customers,
    req: Request<CreateCustomFieldDefinitionRequest>,
) -> Result<Response<CustomFieldDefinition>, Status> {
    let d = req.into_inner().definition.unwrap_or_default();
    let mut v = Violations::default();
    let key = parse_key(d.key.trim())
        .map_err(|e| v.add("definition.key", e))
        .ok();
    let label = parse_label(&d.label, &mut v);
    let field_type = parse_type(d.r#type, &mut v);
    let choices = match field_type {
        Some("SINGLE_CHOICE" | "MULTI_CHOICE") => parse_choices(&d.choices)
            .map_err(|e| v.add("definition.choices", e))
            .unwrap_or_default(),
        _ if !d.choices.is_empty() => {
            v.add("definition.choices", "only choice fields have choices");
            Vec::new()
        }
        _ => Vec::new(),
    };
    let (Some(key), Some(label), Some(field_type)) = (key, label, field_type) else {
        return Err(invalid(v));
    };
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let row = c
        .create_definition(NewDefinition {
            key,
            label,
            field_type,
            required: d.required,
            choices,
        })
        .await?;
    Ok(Response::new(definition_proto(&row)))
}

pub(super) async fn list(
    c: &Customers,
    _: Request<ListCustomFieldDefinitionsRequest>,
) -> Result<Response<ListCustomFieldDefinitionsResponse>, Status> {
    let rows = c.definitions().await?;
    Ok(Response::new(ListCustomFieldDefinitionsResponse {
        definitions: rows.iter().map(definition_proto).collect(),
    }))
}

pub(super) async fn update(
    c: &Customers,
    req: Request<UpdateCustomFieldDefinitionRequest>,
) -> Result<Response<CustomFieldDefinition>, Status> {
    let r = req.into_inner();
    let d = r.definition.unwrap_or_default();
    let key = key_of(&d.name)?;
    let mut v = Violations::default();
    let etag = parse_etag(&d.etag, "definition.etag", &mut v);
    let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        v.add("update_mask", "is required: label, required, choices");
    }
    let mut changes = DefinitionChanges::default();
    for path in &paths {
        match path.as_str() {
            "label" => changes.label = parse_label(&d.label, &mut v),
            "required" => changes.required = Some(d.required),
            "choices" => {
                changes.choices = parse_choices(&d.choices)
                    .map_err(|e| v.add("definition.choices", e))
                    .ok()
            }
            other => v.add(
                "update_mask",
                format!("{other:?} cannot be changed (label, required, choices)"),
            ),
        }
    }
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let row = c.update_definition(&key, etag, changes).await?;
    Ok(Response::new(definition_proto(&row)))
}

pub(super) async fn delete(
    c: &Customers,
    req: Request<DeleteCustomFieldDefinitionRequest>,
) -> Result<Response<pbjson_types::Empty>, Status> {
    let key = key_of(&req.get_ref().name)?;
    c.delete_definition(&key).await?;
    Ok(Response::new(pbjson_types::Empty {}))
}
