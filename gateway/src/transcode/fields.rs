//! Setting request fields from text: path variables and query parameters (`pageSize=20`,
//! `filter.kind=PERSON`, `tags=a&tags=b`, `updateMask=displayName,phone`). Each value is read as
//! its field's type, and a value that does not fit names the field in its error.
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

/// A field path that cannot be set, or a value that does not fit its field: `field` is the proto
/// path (`page_size`, `customer.kind`), `description` what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted proto field path.
    pub field: String,
    /// What is wrong, for the caller.
    pub description: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Finds a field by its proto name or its JSON name.
pub fn field_named(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.get_field_by_json_name(name))
}

/// Resolves a dotted path of proto or JSON names to fields, every step but the last a singular
/// message. `None` when a step is unknown.
pub fn resolve(message: &MessageDescriptor, path: &str) -> Option<Vec<FieldDescriptor>> {
    let mut fields = Vec::new();
    let mut current = message.clone();
    let mut steps = path.split('.').peekable();
    while let Some(step) = steps.next() {
        let field = field_named(&current, step)?;
        if steps.peek().is_some() {
            match field.kind() {
                Kind::Message(m) if !field.is_list() && !field.is_map() => current = m,
                _ => return None,
            }
        }
        fields.push(field);
    }
    Some(fields)
}

/// The proto path of resolved fields (`customer.display_name`).
pub fn proto_path(fields: &[FieldDescriptor]) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
    names.join(".")
}

/// The message holding the last field of `fields`, created on the way down.
fn holder<'m>(
    message: &'m mut DynamicMessage,
    fields: &[FieldDescriptor],
) -> Result<&'m mut DynamicMessage, FieldError> {
    let mut current = message;
    for f in &fields[..fields.len() - 1] {
        // resolve() only lets singular message fields through before the last step.
        match current.get_field_mut(f) {
            Value::Message(m) => current = m,
            _ => return Err(FieldError::new(f.name(), "is not a message")),
        }
    }
    Ok(current)
}

/// Sets (or, for a repeated field, appends to) the field at `fields` from the text `raw`.
pub fn set_text(
    message: &mut DynamicMessage,
    fields: &[FieldDescriptor],
    raw: &str,
) -> Result<(), FieldError> {
    let Some(last) = fields.last() else {
        return Ok(());
    };
    let path = proto_path(fields);
    if last.is_map() {
        return Err(FieldError::new(path, "is a map: send it in the JSON body"));
    }
    let target = holder(message, fields)?;
    if last.is_list() {
        // Repeated fields take the key repeated (`types=a&types=b`) or a comma-separated list
        // (`types=a,b`), the form the change stream has always read.
        for part in raw.split(',').filter(|p| !p.is_empty()) {
            let value = parse(&last.kind(), part).map_err(|d| FieldError::new(&path, d))?;
            if let Value::List(items) = target.get_field_mut(last) {
                items.push(value);
            }
        }
    } else {
        let value = parse(&last.kind(), raw).map_err(|d| FieldError::new(&path, d))?;
        target.set_field(last, value);
    }
    Ok(())
}

/// Reads text as a value of `kind`, in the proto3 JSON forms (enums by name or number; 64-bit
/// integers, floats as in JSON; bytes in base64; well-known types in their string forms).
pub fn parse(kind: &Kind, raw: &str) -> Result<Value, String> {
    fn num<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, String> {
        raw.trim()
            .parse()
            .map_err(|_| format!("must be {what}, not {raw:?}"))
    }
    Ok(match kind {
        Kind::String => Value::String(raw.to_owned()),
        Kind::Bool => match raw {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(format!("must be true or false, not {raw:?}")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(num(raw, "a 32-bit integer")?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(num(raw, "a 64-bit integer")?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(num(raw, "a non-negative 32-bit integer")?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(num(raw, "a non-negative 64-bit integer")?),
        Kind::Float => Value::F32(float(raw)? as f32),
        Kind::Double => Value::F64(float(raw)?),
        Kind::Bytes => {
            use base64::Engine as _;
            let engines = [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::URL_SAFE,
            ];
            let bytes = engines.iter().find_map(|e| e.decode(raw).ok());
            Value::Bytes(bytes.ok_or("must be base64")?.into())
        }
        Kind::Enum(e) => {
            let v = e
                .get_value_by_name(raw)
                .or_else(|| raw.parse().ok().and_then(|n| e.get_value(n)));
            match v {
                Some(v) => Value::EnumNumber(v.number()),
                None => {
                    let names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
                    return Err(format!("must be one of {}", names.join(", ")));
                }
            }
        }
        Kind::Message(m) => {
            // Well-known types (Timestamp, Duration, FieldMask, wrappers) read their proto3 JSON
            // string form; any other message has no text form.
            if !m.full_name().starts_with("google.protobuf.") {
                return Err("is a message: send it in the JSON body".to_owned());
            }
            if m.full_name() == "google.protobuf.FieldMask" {
                // Paths as JSON names (`displayName`) or proto names (`display_name`).
                let paths: Vec<Value> = raw
                    .split(',')
                    .map(|p| Value::String(to_snake(p.trim())))
                    .filter(|p| p.as_str() != Some(""))
                    .collect();
                // An empty mask in the query is a mistake (the document's pattern says so), not
                // "no mask": leave the parameter out to have the mask taken from the body.
                if paths.is_empty() {
                    return Err("must name at least one field (or be left out)".to_owned());
                }
                let mut mask = DynamicMessage::new(m.clone());
                mask.set_field_by_name("paths", Value::List(paths));
                return Ok(Value::Message(mask));
            }
            let json = serde_json::Value::String(raw.to_owned());
            let message = DynamicMessage::deserialize(m.clone(), json)
                .or_else(|_| DynamicMessage::deserialize(m.clone(), number_or_bool(raw)))
                .map_err(|e| format!("is not a valid {}: {e}", m.name()))?;
            Value::Message(message)
        }
    })
}

/// `displayName` → `display_name`; proto names pass unchanged.
fn to_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Wrappers of numbers and booleans read JSON numbers and booleans, not strings.
fn number_or_bool(raw: &str) -> serde_json::Value {
    serde_json::from_str(raw).unwrap_or(serde_json::Value::Null)
}

fn float(raw: &str) -> Result<f64, String> {
    match raw {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("must be a number, not {raw:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_their_type() {
        assert_eq!(parse(&Kind::Int32, "20"), Ok(Value::I32(20)));
        assert!(parse(&Kind::Int32, "many").unwrap_err().contains("32-bit"));
        assert!(parse(&Kind::Int32, "99999999999").is_err());
        assert!(parse(&Kind::Uint32, "-1").is_err());
        assert_eq!(parse(&Kind::Bool, "true"), Ok(Value::Bool(true)));
        assert!(parse(&Kind::Bool, "yes").is_err());
        assert_eq!(
            parse(&Kind::Int64, "9007199254740993"),
            Ok(Value::I64(9007199254740993))
        );
        assert_eq!(
            parse(&Kind::Bytes, "AAE="),
            Ok(Value::Bytes(vec![0, 1].into()))
        );
        assert!(matches!(parse(&Kind::Double, "NaN"), Ok(Value::F64(f)) if f.is_nan()));
        assert!(parse(&Kind::Double, "inf").is_err());
    }
}
