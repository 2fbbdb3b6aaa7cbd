//! Who reaches which customer: the caller's data scope (owner and unit rules) plus explicit
//! shares with a user or a unit (read or write). [`Reach`] is the one condition every customer
//! query is filtered by (see `Store::scoped`).
use crm_platform::{
    auth::{DataScope, Principal},
    db::{Db, DbError},
    sql::{SqlBuf, SqlValue},
    with_pool,
};
use uuid::Uuid;

/// Beyond this many shared customers the condition is a sub-query instead of a list of ids.
const INLINE_SHARES: usize = 2000;

/// What a caller reaches: their data scope, and the customers shared with them or their units.
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    /// The data scope of the caller's roles.
    pub scope: DataScope,
    /// Customers shared with the caller (with enough access), when few.
    shared: Shared,
}

#[derive(Debug, Clone, PartialEq)]
enum Shared {
    None,
    Ids(Vec<Uuid>),
    /// Many: matched by sub-query on the grantee.
    Query {
        user: Option<Uuid>,
        unit_path: String,
        write: bool,
    },
}

/// The share condition on `customer_shares` for a grantee, shared by the lookup and the
/// sub-query form so both mean the same.
fn push_grantee(buf: &mut SqlBuf, user: Option<Uuid>, unit_path: &str, write: bool) {
    buf.push("((grantee_kind = 'UNIT' AND ");
    buf.push_bind(SqlValue::Text(unit_path.to_owned()));
    // A share with a unit reaches its members and the units below it.
    buf.push(" LIKE grantee || '%')");
    if let Some(user) = user {
        buf.push(" OR (grantee_kind = 'USER' AND grantee = ");
        buf.push_bind(SqlValue::Text(user.to_string()));
        buf.push(")");
    }
    buf.push(")");
    if write {
        buf.push(" AND access = 'WRITE'");
    }
}

impl Reach {
    /// Every customer (system work, existence checks).
    pub fn all() -> Reach {
        Reach {
            scope: DataScope::All,
            shared: Shared::None,
        }
    }

    /// A scope without shares (tests, jobs).
    pub fn scope(scope: DataScope) -> Reach {
        Reach {
            scope,
            shared: Shared::None,
        }
    }

    /// What `principal` reaches for reading (`write` false) or changing (`write` true).
    pub async fn of(db: &Db, principal: &Principal, write: bool) -> Result<Reach, DbError> {
        let scope = principal.scope("customers");
        if scope == DataScope::All {
            return Ok(Reach::all());
        }
        let user = principal.user_id();
        let mut buf = SqlBuf::new("SELECT customer_id FROM customer_shares WHERE ");
        push_grantee(&mut buf, user, &principal.unit_path, write);
        buf.push(" LIMIT ");
        buf.push_bind(SqlValue::Int(INLINE_SHARES as i64 + 1));
        let SqlBuf { sql, binds } = buf;
        let rows: Vec<(Uuid,)> = with_pool!(db, |pool| crm_platform::db::bind_values(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())),
            &binds
        )
        .fetch_all(pool)
        .await)?;
        let shared = match rows.len() {
            0 => Shared::None,
            n if n > INLINE_SHARES => Shared::Query {
                user,
                unit_path: principal.unit_path.clone(),
                write,
            },
            _ => Shared::Ids(rows.into_iter().map(|(id,)| id).collect()),
        };
        Ok(Reach { scope, shared })
    }

    /// Appends the condition "the customer row (columns `id`, `owner_id`, `owner_unit_path`,
    /// `merged_into`) is reached".
    pub fn push_condition(&self, buf: &mut SqlBuf) {
        // A merged customer lives on in its survivor: hidden from every read, kept only so an
        // undo can bring it back exactly.
        buf.push("merged_into IS NULL AND ");
        if matches!(self.shared, Shared::None) {
            self.scope
                .push_condition(buf, "owner_id", "owner_unit_path");
            return;
        }
        buf.push("(");
        self.scope
            .push_condition(buf, "owner_id", "owner_unit_path");
        buf.push(" OR id IN (");
        match &self.shared {
            Shared::None => {}
            Shared::Ids(ids) => buf.push_binds(ids.iter().map(|id| SqlValue::Uuid(*id))),
            Shared::Query {
                user,
                unit_path,
                write,
            } => {
                buf.push("SELECT customer_id FROM customer_shares WHERE ");
                push_grantee(buf, *user, unit_path, *write);
            }
        }
        buf.push("))");
    }
}
