//! One service per engine, each on a fresh database.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::NaiveDate;
use tempfile::TempDir;

use fangkong_service::{Principal, Service, Settings};
use fangkong_store_postgres::PgStore;
use fangkong_store_sqlite::SqliteStore;

pub struct TestDb {
    pub engine: &'static str,
    pub url: String,
    pub service: Service,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn system(&self) -> Principal {
        self.service.system().await.expect("system principal")
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = SqliteStore::connect(&url).await.expect("sqlite store");
    let service = Service::open(Arc::new(store), Settings::default())
        .await
        .expect("service");
    TestDb {
        engine: "sqlite",
        url,
        service,
        _dir: Some(dir),
    }
}

pub async fn postgres() -> Option<TestDb> {
    let url = fangkong_store_postgres::testing::fresh_database().await?;
    let store = PgStore::connect(&url).await.expect("postgres store");
    let service = Service::open(Arc::new(store), Settings::default())
        .await
        .expect("service");
    Some(TestDb {
        engine: "postgres",
        url,
        service,
        _dir: None,
    })
}

/// A fresh database on each engine (PostgreSQL only where reachable; in CI it must be).
pub async fn engines() -> Vec<TestDb> {
    let mut out = vec![sqlite().await];
    out.extend(postgres().await);
    out
}

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

pub fn shared(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(path)
}
