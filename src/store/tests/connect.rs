//! Opening stores: URLs, directory creation, WAL, re-running migrations, health.

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::Error;
use crate::store::test_support::TestDb;
use crate::store::{Backend, Store, StoreOptions};

#[tokio::test]
async fn sqlite_store_is_created_in_wal_mode_and_reopens() {
    let db = TestDb::sqlite().await;
    assert_eq!(db.store.backend(), Backend::Sqlite);
    db.store.ping().await.unwrap();
    let row = db
        .store
        .db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA journal_mode",
        ))
        .await
        .unwrap()
        .unwrap();
    let mode: String = row.try_get_by_index(0).unwrap();
    assert_eq!(mode, "wal");

    // A second process start finds the migrations applied and the data kept.
    let t = crate::store::test_support::tenant("ORG", "prod");
    db.store
        .replace_memberships(&t, &["s".to_owned()], &[])
        .await
        .unwrap();
    let url = match db.sqlite_url() {
        Some(u) => u,
        None => panic!("sqlite test db has a url"),
    };
    let again = Store::connect(&url).await.unwrap();
    again.ping().await.unwrap();
    assert!(again.list_definitions_all(&t).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_urls_and_unreachable_servers_are_reported() {
    let err = Store::connect("mysql://localhost/db").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    // Port 1 on loopback refuses every connection attempt.
    let quick = StoreOptions {
        acquire_timeout: std::time::Duration::from_millis(500),
        ..StoreOptions::default()
    };
    let err = Store::connect_with("postgres://postgres@127.0.0.1:1/nothing", quick)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn postgres_store_pings() {
    if let Some(db) = TestDb::postgres().await {
        assert_eq!(db.store.backend(), Backend::Postgres);
        db.store.ping().await.unwrap();
    }
}
