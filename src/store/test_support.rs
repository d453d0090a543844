//! Fresh databases for repository tests: a SQLite file in a temporary directory (always), and a
//! fresh PostgreSQL schema when `SEGMENTATION_TEST_POSTGRES_URL` is set. With `CI=true` a
//! missing or unreachable PostgreSQL fails the test instead of skipping it.
//!
//! [`store_tests!`] turns each `async fn scenario(store: &Store)` into one test per backend.

use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};

use super::Store;
use crate::context::{Principal, RequestContext, Tenant};

pub const POSTGRES_URL_VAR: &str = "SEGMENTATION_TEST_POSTGRES_URL";

/// A store on a database that disappears when this is dropped.
pub struct TestDb {
    pub store: Store,
    cleanup: Cleanup,
    url: String,
}

enum Cleanup {
    Dir(PathBuf),
    Schema { admin_url: String, schema: String },
}

fn unique_name() -> String {
    format!("seg_test_{}", uuid::Uuid::new_v4().simple())
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique_name());
        // The store creates the missing directory itself; that is part of what is tested.
        let url = format!("sqlite://{}/nested/test.db?mode=rwc", dir.display());
        let store = Store::connect(&url).await.expect("open sqlite store");
        TestDb {
            store,
            cleanup: Cleanup::Dir(dir),
            url,
        }
    }

    /// The URL of a SQLite test database (to open it a second time).
    pub fn sqlite_url(&self) -> Option<String> {
        match self.cleanup {
            Cleanup::Dir(_) => Some(self.url.clone()),
            Cleanup::Schema { .. } => None,
        }
    }

    /// A store in a fresh schema of the test PostgreSQL, or `None` (with a notice) when none is
    /// configured outside CI.
    pub async fn postgres() -> Option<TestDb> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            assert!(!ci, "CI=true but {POSTGRES_URL_VAR} is not set");
            eprintln!("skipping PostgreSQL store test: {POSTGRES_URL_VAR} is not set");
            return None;
        };
        let schema = unique_name();
        let admin = match admin_connection(&admin_url).await {
            Ok(db) => db,
            Err(e) if !ci => {
                eprintln!("skipping PostgreSQL store test: cannot connect to {admin_url}: {e}");
                return None;
            }
            Err(e) => panic!("CI=true and PostgreSQL at {admin_url} is unreachable: {e}"),
        };
        admin
            .execute_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("CREATE SCHEMA \"{schema}\""),
            ))
            .await
            .expect("create test schema");
        let _ = admin.close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options[search_path]={schema}");
        let store = Store::connect(&url).await.expect("open postgres store");
        Some(TestDb {
            store,
            cleanup: Cleanup::Schema { admin_url, schema },
            url,
        })
    }
}

/// Whether the test server answered, asked once per test run so that an unreachable server costs
/// one timeout, not one per test.
static REACHABLE: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

async fn admin_connection(url: &str) -> Result<sea_orm::DatabaseConnection, String> {
    let connect = || async {
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(1)
            .connect_timeout(Duration::from_secs(3))
            .acquire_timeout(Duration::from_secs(3))
            .sqlx_logging(false);
        Database::connect(options).await.map_err(|e| e.to_string())
    };
    REACHABLE
        .get_or_init(|| async { connect().await.map(|_| ()) })
        .await
        .clone()?;
    connect().await
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { admin_url, schema } => {
                // Drop runs inside the test's runtime; do the async cleanup on a thread of its
                // own so that it also happens when the test panicked.
                let (url, schema) = (admin_url.clone(), schema.clone());
                let done = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("cleanup runtime");
                    rt.block_on(async move {
                        if let Ok(db) = Database::connect(url.as_str()).await {
                            // Never hang a test run on a lock: a schema left behind is only
                            // litter.
                            let _ = db
                                .execute_raw(Statement::from_string(
                                    DbBackend::Postgres,
                                    "SET lock_timeout = '10s'".to_owned(),
                                ))
                                .await;
                            let _ = db
                                .execute_raw(Statement::from_string(
                                    DbBackend::Postgres,
                                    format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
                                ))
                                .await;
                            let _ = db.close().await;
                        }
                    });
                });
                let _ = done.join();
            }
        }
    }
}

pub fn tenant(org: &str, sandbox: &str) -> Tenant {
    Tenant::new(org, sandbox)
}

pub fn ctx(org: &str, sandbox: &str) -> RequestContext {
    RequestContext::new(tenant(org, sandbox), Principal::Anonymous, "test-request")
}

/// Generates, for each named `async fn(&Store)` in scope, a SQLite test and a PostgreSQL test.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::store::test_support::TestDb::sqlite().await;
                    super::$name(&db.store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::store::test_support::TestDb::postgres().await {
                        super::$name(&db.store).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use store_tests;
