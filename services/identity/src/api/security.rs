//! `crm.identity.v1.SecurityService`.
use super::{ALERTS, EVENTS, caller, list_params, parse_etag, parse_name, query_error, ts};
use crate::{
    error::Error,
    service::Identity,
    store::{AlertRow, EventRow, Store},
};
use crm_platform::sql::SqlValue;
use crm_proto::crm::identity::v1::{
    AcknowledgeSecurityAlertRequest, ExportSecurityEventsRequest, ExportSecurityEventsResponse,
    ListSecurityAlertsRequest, ListSecurityAlertsResponse, ListSecurityEventsRequest,
    ListSecurityEventsResponse, RecordSecurityEventsRequest, SecurityAlert, SecurityEvent,
    security_alert, security_event, security_service_server::SecurityService,
};
use crm_proto::crm::r#type::v1::AuditStamp;
use std::{collections::HashMap, pin::Pin};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// The adapter.
#[derive(Clone)]
pub struct Security(pub Identity);

fn event_proto(e: &EventRow) -> SecurityEvent {
    let details: HashMap<String, String> = serde_json::from_str(&e.details).unwrap_or_default();
    SecurityEvent {
        name: format!("securityEvents/{}", e.id),
        id: e.id.to_string(),
        r#type: security_event::Type::from_str_name(&e.r#type)
            .unwrap_or(security_event::Type::Unspecified) as i32,
        actor: e.actor.clone(),
        target: e.target.clone(),
        time: Some(ts(e.time)),
        source_ip: e.source_ip.clone(),
        request_id: e.request_id.clone(),
        trace_id: e.trace_id.clone(),
        details,
    }
}

pub(crate) fn alert_proto(a: &AlertRow) -> SecurityAlert {
    SecurityAlert {
        name: format!("securityAlerts/{}", a.id),
        id: a.id.to_string(),
        rule: security_alert::Rule::from_str_name(&a.rule)
            .unwrap_or(security_alert::Rule::Unspecified) as i32,
        subject: a.subject.clone(),
        count: a.count,
        window_start_time: Some(ts(a.window_start)),
        window_end_time: Some(ts(a.window_end)),
        state: security_alert::State::from_str_name(&a.state)
            .unwrap_or(security_alert::State::Unspecified) as i32,
        acknowledged: a.ack_time.map(|t| AuditStamp {
            time: Some(ts(t)),
            actor: a.ack_actor.clone().unwrap_or_default(),
        }),
        create_time: Some(ts(a.created_at)),
        update_time: Some(ts(a.updated_at)),
        etag: a.version.to_string(),
    }
}

fn csv_row(e: &EventRow) -> Result<Vec<u8>, Status> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record([
        &e.id.to_string(),
        &e.r#type,
        &e.time.to_rfc3339(),
        &e.actor,
        &e.target,
        &e.source_ip,
        &e.request_id,
        &e.trace_id,
        &e.details,
    ])
    .map_err(|err| Status::from(Error::Internal(err.to_string())))?;
    w.into_inner()
        .map_err(|err| Status::from(Error::Internal(err.to_string())))
}

type ExportStream =
    Pin<Box<dyn Stream<Item = Result<ExportSecurityEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl SecurityService for Security {
    async fn list_security_events(
        &self,
        req: Request<ListSecurityEventsRequest>,
    ) -> Result<Response<ListSecurityEventsResponse>, Status> {
        let r = req.into_inner();
        let params = list_params(r.page_size, r.page_token, r.filter, r.order_by);
        let mut q = Store::list_query("security_events");
        q.push("1 = 1");
        let page = params
            .prepare(&mut q, &EVENTS, "time desc")
            .map_err(query_error)?;
        let mut rows: Vec<EventRow> = self.0.store.fetch(q).await.map_err(Error::from)?;
        let next_page_token = page.finish(
            &mut rows,
            &params,
            |e, _| SqlValue::Timestamp(e.time),
            |e| e.id,
        );
        Ok(Response::new(ListSecurityEventsResponse {
            security_events: rows.iter().map(event_proto).collect(),
            next_page_token,
        }))
    }

    type ExportSecurityEventsStream = ExportStream;

    async fn export_security_events(
        &self,
        req: Request<ExportSecurityEventsRequest>,
    ) -> Result<Response<ExportStream>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        // Pages of 1000, each sent as one chunk: memory stays bounded whatever the log's size.
        let identity = self.0.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let header =
            b"name,type,time,actor,target,source_ip,request_id,trace_id,details\r\n".to_vec();
        tokio::spawn(async move {
            let mut params = list_params(1000, String::new(), r.filter, r.order_by);
            let mut chunk = header;
            let mut exported = 0usize;
            loop {
                let mut q = Store::list_query("security_events");
                q.push("1 = 1");
                let page = match params.prepare(&mut q, &EVENTS, "time desc") {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(query_error(e))).await;
                        return;
                    }
                };
                let mut rows: Vec<EventRow> = match identity.store.fetch(q).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(Error::from(e).into())).await;
                        return;
                    }
                };
                let next = page.finish(
                    &mut rows,
                    &params,
                    |e, _| SqlValue::Timestamp(e.time),
                    |e| e.id,
                );
                for e in &rows {
                    match csv_row(e) {
                        Ok(line) => chunk.extend(line),
                        Err(status) => {
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    }
                }
                exported += rows.len();
                if tx
                    .send(Ok(ExportSecurityEventsResponse {
                        csv_chunk: std::mem::take(&mut chunk),
                    }))
                    .await
                    .is_err()
                    || next.is_empty()
                {
                    break;
                }
                params.page_token = next;
            }
            let _ = identity
                .audit(
                    &caller,
                    "DATA_EXPORTED",
                    "securityEvents",
                    &[("rows", exported.to_string())],
                )
                .await;
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn list_security_alerts(
        &self,
        req: Request<ListSecurityAlertsRequest>,
    ) -> Result<Response<ListSecurityAlertsResponse>, Status> {
        let r = req.into_inner();
        let params = list_params(r.page_size, r.page_token, r.filter, r.order_by);
        let mut q = Store::list_query("security_alerts");
        q.push("1 = 1");
        let page = params
            .prepare(&mut q, &ALERTS, "create_time desc")
            .map_err(query_error)?;
        let mut rows: Vec<AlertRow> = self.0.store.fetch(q).await.map_err(Error::from)?;
        let next_page_token = page.finish(
            &mut rows,
            &params,
            |a, _| SqlValue::Timestamp(a.created_at),
            |a| a.id,
        );
        Ok(Response::new(ListSecurityAlertsResponse {
            security_alerts: rows.iter().map(alert_proto).collect(),
            next_page_token,
        }))
    }

    async fn acknowledge_security_alert(
        &self,
        req: Request<AcknowledgeSecurityAlertRequest>,
    ) -> Result<Response<SecurityAlert>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        let id = parse_name(&r.name, "securityAlerts", "name")?;
        let etag = parse_etag(&r.etag, "etag")?;
        Ok(Response::new(alert_proto(
            &self.0.acknowledge(&caller, id, etag).await?,
        )))
    }

    async fn record_security_events(
        &self,
        req: Request<RecordSecurityEventsRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let events = req.into_inner().events;
        if events.len() > 500 {
            return Err(Error::field("events", "at most 500 per call").into());
        }
        for (i, e) in events.into_iter().enumerate() {
            let r#type = security_event::Type::try_from(e.r#type)
                .unwrap_or(security_event::Type::Unspecified);
            if r#type == security_event::Type::Unspecified
                || e.actor.is_empty()
                || e.target.is_empty()
            {
                return Err(Error::field(
                    &format!("events[{i}]"),
                    "needs a type, an actor and a target",
                )
                .into());
            }
            let details: std::collections::BTreeMap<String, String> =
                e.details.into_iter().collect();
            let row = EventRow {
                id: uuid::Uuid::now_v7(),
                r#type: r#type.as_str_name().to_owned(),
                actor: e.actor,
                target: e.target,
                time: crm_platform::db::now(),
                source_ip: e.source_ip,
                request_id: e.request_id,
                trace_id: e.trace_id,
                details: serde_json::to_string(&details)
                    .map_err(|err| Status::from(Error::Internal(err.to_string())))?,
            };
            self.0.record(row).await?;
        }
        Ok(Response::new(pbjson_types::Empty {}))
    }
}
