//! Reminders: proto ⇄ domain, and the RPC bodies.
use super::{from_timestamp, invalid, parse_child_name, parse_etag, parse_name, timestamp};
use crate::{
    error::Error,
    reminders::{NewReminder, ReminderChanges, ReminderRow},
    service::{Customers, ListParams},
};
use chrono::{DateTime, Utc};
use crm_platform::{auth, error::Violations};
use crm_proto::crm::customers::v1::{
    CreateReminderRequest, ListMyRemindersRequest, ListRemindersRequest, ListRemindersResponse,
    Reminder, UpdateReminderRequest, reminder::State,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Resource name: "customers/{customer}/reminders/{id}".
pub fn reminder_name(row: &ReminderRow) -> String {
    format!(
        "{}/reminders/{}",
        crate::domain::name_of(row.customer_id),
        row.id
    )
}

/// Proto of a stored reminder, `overdue` as of `now`.
pub fn reminder_proto(row: &ReminderRow, now: DateTime<Utc>) -> Reminder {
    let state = match row.state.as_str() {
        "DONE" => State::Done,
        "CANCELLED" => State::Cancelled,
        _ => State::Open,
    };
    Reminder {
        name: reminder_name(row),
        id: row.id.to_string(),
        due_time: Some(timestamp(row.due_at)),
        assignee_id: row.assignee_id.to_string(),
        note: row.note.clone(),
        state: state as i32,
        overdue: row.overdue(now),
        customer: crate::domain::name_of(row.customer_id),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        etag: row.version.to_string(),
    }
}

fn time(ts: &Option<crm_proto::Timestamp>) -> Option<DateTime<Utc>> {
    ts.as_ref().and_then(from_timestamp)
}

fn note(raw: &str, v: &mut Violations) -> String {
    let n = raw.trim();
    if n.chars().count() > 2000 {
        v.add("reminder.note", "must be at most 2000 characters");
    }
    n.to_owned()
}

fn assignee(raw: &str, v: &mut Violations) -> Option<Uuid> {
    if raw.is_empty() {
        return None;
    }
    Uuid::parse_str(raw)
        .map_err(|_| v.add("reminder.assignee_id", "must be a user id (UUID)"))
        .ok()
}

fn respond(rows: Vec<ReminderRow>, next_page_token: String) -> Response<ListRemindersResponse> {
    let now = crm_platform::db::now();
    Response::new(ListRemindersResponse {
        reminders: rows.iter().map(|r| reminder_proto(r, now)).collect(),
        next_page_token,
    })
}

pub(super) async fn create(
    c: &Customers,
    req: Request<CreateReminderRequest>,
) -> Result<Response<Reminder>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let Some(reminder) = r.reminder else {
        return Err(Error::field("reminder", "is required").into());
    };
    let mut v = Violations::default();
    let due_at = time(&reminder.due_time);
    if due_at.is_none() {
        v.add("reminder.due_time", "is required");
    }
    if !matches!(
        State::try_from(reminder.state),
        Ok(State::Unspecified | State::Open)
    ) {
        v.add("reminder.state", "a new reminder is OPEN");
    }
    let new_note = note(&reminder.note, &mut v);
    let assignee_id = assignee(&reminder.assignee_id, &mut v);
    let Some(due_at) = due_at.filter(|_| v.is_empty()) else {
        return Err(invalid(v));
    };
    let new = NewReminder {
        due_at,
        assignee_id,
        note: new_note,
    };
    let row = c.create_reminder(&principal, customer, new).await?;
    Ok(Response::new(reminder_proto(&row, crm_platform::db::now())))
}

pub(super) async fn update(
    c: &Customers,
    req: Request<UpdateReminderRequest>,
) -> Result<Response<Reminder>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let Some(reminder) = r.reminder else {
        return Err(Error::field("reminder", "is required").into());
    };
    let (customer, id) = parse_child_name(&reminder.name, "reminders", "reminder.name")?;
    let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
    let mut v = Violations::default();
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: due_time, assignee_id, note, state",
        );
    }
    let mut changes = ReminderChanges::default();
    for path in &paths {
        match path.as_str() {
            "due_time" => match time(&reminder.due_time) {
                Some(t) => changes.due_at = Some(t),
                None => v.add("reminder.due_time", "is required"),
            },
            "assignee_id" => match assignee(&reminder.assignee_id, &mut v) {
                Some(a) => changes.assignee_id = Some(a),
                None => v.add("reminder.assignee_id", "is required"),
            },
            "note" => changes.note = Some(note(&reminder.note, &mut v)),
            "state" => match State::try_from(reminder.state) {
                Ok(State::Open) => changes.state = Some("OPEN"),
                Ok(State::Done) => changes.state = Some("DONE"),
                Ok(State::Cancelled) => changes.state = Some("CANCELLED"),
                _ => v.add("reminder.state", "must be OPEN, DONE or CANCELLED"),
            },
            other => v.add(
                "update_mask",
                format!("unknown field {other:?} (updatable: due_time, assignee_id, note, state)"),
            ),
        }
    }
    let etag = parse_etag(&reminder.etag, "reminder.etag", &mut v);
    if !v.is_empty() {
        return Err(invalid(v));
    }
    let row = c
        .update_reminder(&principal, customer, id, etag, changes)
        .await?;
    Ok(Response::new(reminder_proto(&row, crm_platform::db::now())))
}

pub(super) async fn list(
    c: &Customers,
    req: Request<ListRemindersRequest>,
) -> Result<Response<ListRemindersResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let customer = parse_name(&r.parent, "parent")?;
    let params = ListParams {
        page_size: r.page_size,
        page_token: r.page_token,
        ..ListParams::default()
    };
    let (rows, next) = c.list_reminders(&principal, customer, &params).await?;
    Ok(respond(rows, next))
}

pub(super) async fn mine(
    c: &Customers,
    req: Request<ListMyRemindersRequest>,
) -> Result<Response<ListRemindersResponse>, Status> {
    let principal = auth::principal(&req)?;
    let r = req.into_inner();
    let due_before = time(&r.due_before).unwrap_or_else(|| {
        let tomorrow = crm_platform::db::now().date_naive() + chrono::Duration::days(1);
        tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
    });
    let params = ListParams {
        page_size: r.page_size,
        page_token: r.page_token,
        ..ListParams::default()
    };
    let (rows, next) = c.list_my_reminders(&principal, due_before, &params).await?;
    Ok(respond(rows, next))
}
