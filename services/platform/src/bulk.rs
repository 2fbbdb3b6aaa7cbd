//! Bulk writes of many rows in one transaction: PostgreSQL's binary `COPY … FROM STDIN`, SQLite's
//! multi-row `INSERT`s. Imports and backfills write tens of thousands of rows a batch; one
//! statement per row (or even per 1,000 rows, with 30,000 bound values to parse and plan) spent
//! more time in the database's front end than in the write itself.
use crate::db::{DbError, Tx, TxConn};
use crate::sql::{SqlBuf, SqlValue};
use crate::{db, with_tx};

/// Binds per statement, under SQLite's limit (32,766) and PostgreSQL's (65,535).
const MAX_BINDS: usize = 30_000;

/// The binary COPY stream's bytes are sent in pieces of about this size.
const COPY_CHUNK: usize = 1 << 20;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Inserts `count` rows of `width` values, as few statements as the bind limit allows:
/// `head` ("INSERT INTO t (a, b) VALUES "), the rows, then `tail` (e.g. an ON CONFLICT clause).
/// For writes that need SQL around the values (conflict handling); plain appends of new rows
/// go through [`copy_rows`].
pub async fn insert_rows<F>(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    width: usize,
    count: usize,
    mut row: F,
) -> Result<(), DbError>
where
    F: FnMut(usize, &mut Vec<SqlValue>),
{
    let per = (MAX_BINDS / width).max(1);
    let mut start = 0;
    while start < count {
        let end = (start + per).min(count);
        let mut buf = SqlBuf::new(head);
        for i in start..end {
            let mut values = Vec::with_capacity(width);
            row(i, &mut values);
            buf.push(if i == start { "(" } else { ", (" });
            buf.push_binds(values);
            buf.push(")");
        }
        buf.push(tail);
        execute(tx, buf).await?;
        start = end;
    }
    Ok(())
}

/// Runs one statement in `tx`; returns the rows it affected.
pub async fn execute(tx: &mut Tx, buf: SqlBuf) -> Result<u64, DbError> {
    let SqlBuf { sql, binds } = buf;
    Ok(with_tx!(tx, |conn| db::bind_values(
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str())),
        &binds
    )
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Appends `count` new rows to `table` (`columns` a comma-separated list; one value each, in
/// order): binary COPY on
/// PostgreSQL, multi-row INSERTs on SQLite. A constraint a row breaks fails the whole write,
/// as an INSERT would (the caller's transaction is then to be dropped).
///
/// Value types on PostgreSQL: `Int` goes to BIGINT columns, `Float` to DOUBLE PRECISION,
/// `Timestamp` to TIMESTAMPTZ, `Text` to TEXT (binary COPY does not convert: a mismatch is an
/// error from the server, never a silently different value).
pub async fn copy_rows<F>(
    tx: &mut Tx,
    table: &str,
    columns: &str,
    count: usize,
    mut row: F,
) -> Result<(), DbError>
where
    F: FnMut(usize, &mut Vec<SqlValue>),
{
    if count == 0 {
        return Ok(());
    }
    let width = columns.split(',').count();
    if let TxConn::Pg(t) = &mut tx.conn {
        let statement = format!("COPY {table} ({columns}) FROM STDIN (FORMAT binary)");
        let mut copy = t.copy_in_raw(&statement).await?;
        let mut out = CopyEncoder::new();
        let mut values = Vec::with_capacity(width);
        for i in 0..count {
            values.clear();
            row(i, &mut values);
            out.row(&values);
            if out.buf.len() >= COPY_CHUNK {
                copy.send(std::mem::take(&mut out.buf)).await?;
            }
        }
        copy.send(out.finish()).await?;
        copy.finish().await?;
        return Ok(());
    }
    let head = format!("INSERT INTO {table} ({columns}) VALUES ");
    insert_rows(tx, &head, "", width, count, row).await
}

/// PostgreSQL's binary COPY format: a signature and two zero words, then per row the number
/// of fields and each field as its length (-1: NULL) and its bytes, then -1 as the trailer.
struct CopyEncoder {
    buf: Vec<u8>,
}

impl CopyEncoder {
    fn new() -> Self {
        let mut buf = Vec::with_capacity(COPY_CHUNK + 4096);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags: no OIDs
        buf.extend_from_slice(&0i32.to_be_bytes()); // no header extension
        Self { buf }
    }

    fn row(&mut self, values: &[SqlValue]) {
        // A table has at most 1,600 columns: the count always fits.
        self.buf
            .extend_from_slice(&(values.len() as i16).to_be_bytes());
        for v in values {
            self.field(v);
        }
    }

    fn field(&mut self, value: &SqlValue) {
        let b = &mut self.buf;
        let mut put = |bytes: &[u8]| {
            // A field over 2 GiB cannot be stored by PostgreSQL (1 GB limit) anyway; the
            // server refuses the row.
            b.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            b.extend_from_slice(bytes);
        };
        match value {
            SqlValue::Text(s) => put(s.as_bytes()),
            SqlValue::Int(n) => put(&n.to_be_bytes()),
            SqlValue::Float(f) => put(&f.to_bits().to_be_bytes()),
            SqlValue::Bool(v) => put(&[u8::from(*v)]),
            SqlValue::Timestamp(t) => put(&(t.timestamp_micros() - PG_EPOCH_MICROS).to_be_bytes()),
            SqlValue::Uuid(u) => put(u.as_bytes()),
            SqlValue::NullText | SqlValue::NullUuid => b.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_binary_copy_format_is_postgres_own() {
        let mut e = CopyEncoder::new();
        e.row(&[
            SqlValue::Int(1),
            SqlValue::NullText,
            SqlValue::Bool(true),
            SqlValue::Timestamp(chrono::Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap()),
            SqlValue::Text("é".into()),
        ]);
        let bytes = e.finish();
        let mut want = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        want.extend_from_slice(&[0, 5]);
        want.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        want.extend_from_slice(&[0, 0, 0, 1, 1]);
        want.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40]);
        want.extend_from_slice(&[0, 0, 0, 2, 0xc3, 0xa9]);
        want.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(bytes, want);
    }
}
