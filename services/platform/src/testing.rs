//! Test support: a fresh database per test on SQLite always, and on PostgreSQL when
//! `CRM_TEST_POSTGRES_URL` is set (CI sets it, and fails when PostgreSQL is unreachable).
use crate::db::{Db, Migrations, PoolSettings};
use sqlx::{Connection, postgres::PgConnectOptions, sqlite::SqliteConnectOptions};
use std::str::FromStr;

/// Environment variable naming the PostgreSQL server for tests (any database on it; each
/// test creates and drops its own).
pub const POSTGRES_URL_ENV: &str = "CRM_TEST_POSTGRES_URL";

/// A migrated, empty database that belongs to one test.
pub struct TestDb {
    /// The pool.
    pub db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin: Box<PgConnectOptions>,
        name: String,
    },
}

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub async fn sqlite(migrations: &Migrations) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new().filename(dir.path().join("test.db"));
        let db = Db::connect_sqlite(options, PoolSettings::default())
            .await
            .expect("open sqlite");
        db.migrate(migrations).await.expect("migrate sqlite");
        TestDb {
            db,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new PostgreSQL database, or `None` when `CRM_TEST_POSTGRES_URL` is not set.
    /// Panics when it is set but the server cannot be used: a configured backend never skips.
    pub async fn postgres(migrations: &Migrations) -> Option<TestDb> {
        let url = std::env::var(POSTGRES_URL_ENV).ok()?;
        let admin =
            PgConnectOptions::from_str(&url).expect("CRM_TEST_POSTGRES_URL is not a valid url");
        let name = format!("crm_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect_with(&admin)
            .await
            .expect("CRM_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let settings = PoolSettings {
            max_connections: 8,
            ..PoolSettings::default()
        };
        let db = Db::connect_postgres(admin.clone().database(&name), settings)
            .await
            .expect("connect test database");
        db.migrate(migrations).await.expect("migrate postgres");
        Some(TestDb {
            db,
            cleanup: Cleanup::Postgres {
                admin: Box::new(admin),
                name,
            },
        })
    }

    /// Closes the pool and removes the database.
    pub async fn cleanup(self) {
        self.db.close().await;
        match self.cleanup {
            Cleanup::Sqlite(dir) => drop(dir),
            Cleanup::Postgres { admin, name } => {
                if let Ok(mut conn) = sqlx::PgConnection::connect_with(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            }
        }
    }
}

/// Declares each listed `async fn name(db: Db)` as two tests, `sqlite::name` and
/// `postgres::name`, each on a fresh database: one test suite for every backend.
/// The PostgreSQL variant returns early (and says so) when `CRM_TEST_POSTGRES_URL` is unset.
#[macro_export]
macro_rules! backend_tests {
    ($migrations:expr; $($name:ident),* $(,)?) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = $crate::testing::TestDb::sqlite(&$migrations).await;
                    super::$name(test_db.db.clone()).await;
                    test_db.cleanup().await;
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(test_db) = $crate::testing::TestDb::postgres(&$migrations).await else {
                        eprintln!("skipped: {} not set", $crate::testing::POSTGRES_URL_ENV);
                        return;
                    };
                    super::$name(test_db.db.clone()).await;
                    test_db.cleanup().await;
                }
            )*
        }
    };
}

/// Environment variable naming the Redis server for tests.
pub const REDIS_URL_ENV: &str = "CRM_TEST_REDIS_URL";

/// A TCP proxy that a test can cut and restore, to make a real server (Redis) unreachable for
/// a while without stopping it: while down, open connections are dropped and new ones closed
/// at once.
pub struct TcpProxy {
    /// Where the proxy listens (127.0.0.1, a free port).
    pub addr: std::net::SocketAddr,
    up: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Starts a proxy to `target`, up.
    pub async fn start(target: std::net::SocketAddr) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let up = std::sync::Arc::new(tokio::sync::watch::channel(true).0);
        let state = up.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut down = state.subscribe();
                if !*down.borrow() {
                    continue; // dropped: the client sees the connection closed
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        TcpProxy { addr, up, task }
    }

    /// Cuts (false) or restores (true) the connection to the target.
    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
