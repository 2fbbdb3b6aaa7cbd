//! Paging and names of the job-like resources (merges, scans and their pairs, imports and their
//! rows, privacy requests): listed newest first or in a fixed order, the token being the last
//! item's id or position, and named "collection/{uuid}".
use crate::error::Error;
use tonic::Status;
use uuid::Uuid;

/// Page size: 50 by default; larger than 1000 is lowered to 1000 (AIP-158), as every other
/// list does; negative is refused.
pub(super) fn page_size(n: i32) -> Result<i64, Status> {
    match n {
        0 => Ok(50),
        n if n > 0 => Ok(i64::from(n.min(1000))),
        _ => Err(Error::field("page_size", "must not be negative").into()),
    }
}

fn bad_token() -> Status {
    Error::field("page_token", "is not a token of this list").into()
}

/// The id a page continues after (none: the first page).
pub(super) fn after_id(token: &str) -> Result<Option<Uuid>, Status> {
    (!token.is_empty())
        .then(|| Uuid::parse_str(token))
        .transpose()
        .map_err(|_| bad_token())
}

/// The position a page continues after (0: the first page).
pub(super) fn after_position(token: &str) -> Result<i64, Status> {
    match token {
        "" => Ok(0),
        t => t.parse::<i64>().map_err(|_| bad_token()),
    }
}

/// `rows` read with one more than `size`: the page, and the token of the next one ("" at the
/// end) from the last item of the page.
pub(super) fn page<T>(
    mut rows: Vec<T>,
    size: i64,
    token: impl Fn(&T) -> String,
) -> (Vec<T>, String) {
    if rows.len() as i64 > size {
        rows.truncate(size as usize);
        let next = rows.last().map(token).unwrap_or_default();
        (rows, next)
    } else {
        (rows, String::new())
    }
}

/// "collection/{uuid}" → the uuid; anything else is a bad `field`.
pub(super) fn parse_id(name: &str, collection: &str, field: &str) -> Result<Uuid, Status> {
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            Error::field(
                field,
                format!("must be a resource name: {collection}/{{uuid}}"),
            )
            .into()
        })
}
