//! The REST forms of streaming RPCs, chosen by the shape of their messages so that no route is
//! written by hand:
//! - a client stream whose request is a `oneof` of a first message and byte chunks (an upload)
//!   is a multipart form: a JSON part for the first message, then the file part streamed on as
//!   it arrives;
//! - a server stream of byte chunks is a file download (name and media type from the first
//!   chunk's `file_name` and `content_type` when it has them);
//! - the change stream (`WatchEventsResponse`) is Server-Sent Events with CloudEvents JSON, and
//!   any other server stream is Server-Sent Events of proto3 JSON messages.
use crate::{
    rest::{bad_request, request},
    transcode::{Route, from_json, grpc::RawCodec},
};
use axum::{
    body::Body as HttpBody,
    extract::{FromRequest, Multipart, Request},
    http::{HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use bytes::Bytes;
use crm_platform::error::{http_response, json_body};
use futures::StreamExt as _;
use prost::Message as _;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage, Value,
};
use tonic::transport::Channel;

/// The change stream's response type, rendered as CloudEvents.
const WATCH: &str = "crm.events.v1.WatchEventsResponse";

/// The first message field and the bytes field of an upload's `oneof`.
fn upload_shape(desc: &MessageDescriptor) -> Option<(FieldDescriptor, FieldDescriptor)> {
    let oneof = desc.oneofs().next()?;
    let first = oneof
        .fields()
        .find(|f| matches!(f.kind(), Kind::Message(_)))?;
    let chunk = oneof.fields().find(|f| f.kind() == Kind::Bytes)?;
    Some((first, chunk))
}

/// A multipart upload streamed to a client-streaming RPC: the part named after the first
/// message field (`options`, JSON) first, then the part named `file`.
pub async fn upload(channel: Channel, route: &Route, req: Request) -> Response {
    let input = route.method.input();
    let Some((first, chunk)) = upload_shape(&input) else {
        return http_response(&tonic::Status::unimplemented(
            "this stream has no REST form",
        ));
    };
    let headers = req.headers().clone();
    let mut form = match Multipart::from_request(req, &()).await {
        Ok(f) => f,
        Err(e) => return bad_request("body", format!("must be multipart/form-data: {e}")),
    };
    let Kind::Message(first_desc) = first.kind() else {
        return http_response(&tonic::Status::internal("internal error"));
    };
    let mut options = match form.next_field().await {
        Ok(Some(field)) if field.name() == Some(first.name()) => match field.bytes().await {
            Ok(bytes) => match from_json(first_desc, &bytes, first.name()) {
                Ok(o) => o,
                Err(e) => return bad_request(&e.field, e.description),
            },
            Err(e) => return bad_request(first.name(), e.to_string()),
        },
        Ok(Some(field)) if field.name() == Some("file") => {
            return bad_request(first.name(), "must be the first part, before \"file\"");
        }
        Ok(_) => return bad_request("file", "is required (a multipart part named \"file\")"),
        Err(e) => return bad_request("body", e.to_string()),
    };
    let mut field = match form.next_field().await {
        Ok(Some(field)) if field.name() == Some("file") => field,
        Ok(_) => return bad_request("file", "is required (a multipart part named \"file\")"),
        Err(e) => return bad_request("body", e.to_string()),
    };
    // The form's file name stands in when the options name none.
    if let (Some(name_field), Some(file_name)) = (
        options.descriptor().get_field_by_name("file_name"),
        field.file_name().map(str::to_owned),
    ) && options
        .get_field(&name_field)
        .as_str()
        .is_some_and(str::is_empty)
    {
        options.set_field(&name_field, Value::String(file_name));
    }
    let message = |set: &dyn Fn(&mut DynamicMessage)| {
        let mut m = DynamicMessage::new(input.clone());
        set(&mut m);
        Bytes::from(m.encode_to_vec())
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let head = message(&|m| m.set_field(&first, Value::Message(options.clone())));
    if tx.send(head).await.is_err() {
        return bad_request("body", "upload closed");
    }
    let path = route.grpc_path.clone();
    // The file's bytes flow on as they arrive; the gRPC call runs beside the copy.
    let call = tokio::spawn(async move {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|_| tonic::Status::unavailable("service unavailable, retry later"))?;
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        grpc.client_streaming(request(&headers, stream), path, RawCodec)
            .await
    });
    loop {
        match field.chunk().await {
            Ok(Some(bytes)) => {
                let part = message(&|m| m.set_field(&chunk, Value::Bytes(bytes.clone())));
                if tx.send(part).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return bad_request("file", e.to_string()),
        }
    }
    drop(tx);
    match call.await {
        Ok(Ok(r)) => json(route.method.output(), r.into_inner()),
        Ok(Err(status)) => http_response(&status),
        Err(_) => http_response(&tonic::Status::internal("internal error")),
    }
}

fn json(desc: MessageDescriptor, bytes: Bytes) -> Response {
    match DynamicMessage::decode(desc, bytes).map(|m| serde_json::to_vec(&m)) {
        Ok(Ok(body)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        _ => http_response(&tonic::Status::internal("internal error")),
    }
}

/// Renders a server stream by the shape of its messages.
pub async fn render(
    route: &Route,
    stream: tonic::Streaming<Bytes>,
    shutdown: crm_platform::server::Shutdown,
) -> Response {
    let output = route.method.output();
    if output.full_name() == WATCH {
        return watch(stream, shutdown);
    }
    let data = output
        .fields()
        .find(|f| f.kind() == Kind::Bytes && !f.is_list());
    match data {
        Some(data) => download(output, data, stream).await,
        None => sse_json(output, stream, shutdown),
    }
}

/// A file streamed by the service, as an HTTP download.
async fn download(
    output: MessageDescriptor,
    data: FieldDescriptor,
    mut stream: tonic::Streaming<Bytes>,
) -> Response {
    // The first chunk carries the name and type (and is there even for an empty file).
    let first = match stream.message().await {
        Ok(Some(chunk)) => chunk,
        Ok(None) => Bytes::new(),
        Err(status) => return http_response(&status),
    };
    let first = DynamicMessage::decode(output.clone(), first)
        .unwrap_or_else(|_| DynamicMessage::new(output.clone()));
    let text = |name: &str| {
        first
            .get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    // A stream without a media type of its own carries CSV when its bytes field says so.
    let content_type = match text("content_type") {
        t if !t.is_empty() => t,
        _ if data.name().contains("csv") => "text/csv; charset=utf-8".to_owned(),
        _ => "application/octet-stream".to_owned(),
    };
    let bytes_of = move |m: &DynamicMessage| match m.get_field(&data).as_ref() {
        Value::Bytes(b) => b.clone(),
        _ => Bytes::new(),
    };
    let head = bytes_of(&first);
    let rest = stream.map(move |item| {
        item.map(|b| {
            DynamicMessage::decode(output.clone(), b)
                .map(|m| bytes_of(&m))
                .unwrap_or_default()
        })
    });
    let body = futures::stream::once(async { Ok::<_, tonic::Status>(head) }).chain(rest);
    let mut response = HttpBody::from_stream(body).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let file_name = text("file_name");
    if !file_name.is_empty() {
        let disposition = format!(
            "attachment; filename=\"{}\"",
            file_name.replace(['"', '\\'], "_")
        );
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

/// The change stream as Server-Sent Events: `id` is the cursor (browsers and SSE clients send
/// it back as `Last-Event-ID` when they reconnect, so the stream resumes without gaps), `event`
/// the event type, `data` the event as CloudEvents JSON.
fn watch(stream: tonic::Streaming<Bytes>, shutdown: crm_platform::server::Shutdown) -> Response {
    use crm_proto::crm::events::v1::WatchEventsResponse;
    sse(stream, shutdown, |bytes| {
        let r = WatchEventsResponse::decode(bytes)
            .map_err(|_| tonic::Status::internal("internal error"))?;
        let event = r.event.unwrap_or_default();
        Ok(SseEvent::default()
            .id(r.cursor)
            .event(event.r#type.clone())
            .data(crm_platform::events::json::cloudevent(&event).to_string()))
    })
}

/// Any other server stream: one `message` event of proto3 JSON per message.
fn sse_json(
    output: MessageDescriptor,
    stream: tonic::Streaming<Bytes>,
    shutdown: crm_platform::server::Shutdown,
) -> Response {
    sse(stream, shutdown, move |bytes| {
        let m = DynamicMessage::decode(output.clone(), bytes)
            .map_err(|_| tonic::Status::internal("internal error"))?;
        let data =
            serde_json::to_string(&m).map_err(|_| tonic::Status::internal("internal error"))?;
        Ok(SseEvent::default().data(data))
    })
}

/// A server stream as Server-Sent Events, one event per message; an error ends the stream with
/// an `error` event. It ends at shutdown: an open stream would otherwise hold the gateway's
/// drain forever.
fn sse(
    stream: tonic::Streaming<Bytes>,
    shutdown: crm_platform::server::Shutdown,
    event: impl Fn(Bytes) -> Result<SseEvent, tonic::Status> + Send + 'static,
) -> Response {
    let stream = stream.take_until(shutdown.wait());
    let events = stream.map(move |item| {
        let e = item.and_then(&event).unwrap_or_else(|status| {
            SseEvent::default()
                .event("error")
                .data(json_body(&status).to_string())
        });
        Ok::<_, std::convert::Infallible>(e)
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
