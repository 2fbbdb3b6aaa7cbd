//! Events as CloudEvents JSON (structured mode), for webhooks and the Server-Sent Events change
//! stream: the payload is rendered as proto3 JSON, so a corporate system needs no protobuf.
use super::proto::Event;
use base64::Engine;
use prost::{Message, Name};
use serde_json::{Map, Value, json};

/// The payload as JSON when its type is known to this build.
fn data(any: &pbjson_types::Any) -> Option<Value> {
    fn render<M: Message + Name + Default + serde::Serialize>(
        any: &pbjson_types::Any,
    ) -> Option<Option<Value>> {
        (any.type_url == M::type_url()).then(|| {
            M::decode(any.value.as_ref())
                .ok()
                .and_then(|m| serde_json::to_value(&m).ok())
        })
    }
    use crm_proto::crm::{customers::v1 as customers, identity::v1 as identity};
    // Every payload type the suite emits; an unknown one is sent base64-encoded.
    render::<customers::CustomerChanged>(any)
        .or_else(|| render::<customers::CustomerDeleted>(any))
        .or_else(|| render::<customers::TransactionRecorded>(any))
        .or_else(|| render::<customers::ReminderDue>(any))
        .or_else(|| render::<customers::InteractionCreated>(any))
        .or_else(|| render::<customers::ConsentRecorded>(any))
        .or_else(|| render::<identity::SecurityAlert>(any))
        .flatten()
}

/// The event as a CloudEvents 1.0 JSON object.
pub fn cloudevent(event: &Event) -> Value {
    let mut out = Map::new();
    out.insert("specversion".into(), json!("1.0"));
    out.insert("id".into(), json!(event.id));
    out.insert("source".into(), json!(event.source));
    out.insert("type".into(), json!(event.r#type));
    out.insert("subject".into(), json!(event.subject));
    if let Some(t) = event
        .time
        .as_ref()
        .and_then(crate::proto_time::from_timestamp)
    {
        out.insert(
            "time".into(),
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
    }
    if let Some(actor) = &event.actor {
        out.insert("actor".into(), json!(actor.principal));
    }
    if let Some(trace) = &event.trace
        && !trace.traceparent.is_empty()
    {
        out.insert("traceparent".into(), json!(trace.traceparent));
    }
    if let Some(any) = &event.data {
        out.insert("dataschema".into(), json!(any.type_url));
        match data(any) {
            Some(value) => {
                out.insert("datacontenttype".into(), json!("application/json"));
                out.insert("data".into(), value);
            }
            None => {
                out.insert(
                    "data_base64".into(),
                    json!(base64::engine::general_purpose::STANDARD.encode(&any.value)),
                );
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_proto::crm::customers::v1::{Customer, CustomerChanged};

    #[test]
    fn known_payloads_render_as_json_and_unknown_ones_as_base64() {
        let payload = CustomerChanged {
            customer: Some(Customer {
                display_name: "Acme".into(),
                ..Customer::default()
            }),
            changed_fields: vec!["display_name".into()],
        };
        let event = super::super::event(
            "customers",
            "crm.customers.v1.customer.updated",
            "customers/1".into(),
            Default::default(),
            Default::default(),
            &payload,
        );
        let json = cloudevent(&event);
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(
            json["dataschema"],
            "type.googleapis.com/crm.customers.v1.CustomerChanged"
        );
        assert_eq!(json["type"], "crm.customers.v1.customer.updated");
        assert_eq!(json["data"]["customer"]["displayName"], "Acme");
        assert_eq!(json["data"]["changedFields"][0], "display_name");
        assert!(json["time"].as_str().is_some_and(|t| t.ends_with('Z')));

        let unknown = super::super::event(
            "customers",
            "crm.test.v1.x.y",
            "x/1".into(),
            Default::default(),
            Default::default(),
            &crm_proto::crm::events::v1::Actor::default(),
        );
        let json = cloudevent(&unknown);
        assert!(json.get("data").is_none());
        assert!(json["data_base64"].is_string());
    }
}
