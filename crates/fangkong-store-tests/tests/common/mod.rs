//! What every contract test file shares: a fresh store on each engine —
//! SQLite in a temporary directory, PostgreSQL on a fresh database per test
//! (skipped with a warning without a server, failed under CI: see
//! `fangkong_store_postgres::testing`) — and small region trees.

#![allow(dead_code)] // each test file uses its part

use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_store::Store;
use fangkong_store_postgres::testing::fresh_database;
use fangkong_store_postgres::PgStore;
use fangkong_store_sqlite::SqliteStore;

pub struct Engine {
    pub name: &'static str,
    pub store: Box<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh, empty store on each engine.
pub async fn empty_engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let sqlite = SqliteStore::connect(&url).await.expect("sqlite");
    let mut out = vec![Engine {
        name: "sqlite",
        store: Box::new(sqlite),
        _dir: Some(dir),
    }];
    if let Some(url) = fresh_database().await {
        let pg = PgStore::connect(&url).await.expect("connect and migrate");
        out.push(Engine {
            name: "postgres",
            store: Box::new(pg),
            _dir: None,
        });
    }
    out
}

/// A fresh store on each engine holding `regions`.
pub async fn engines_with(regions: &[Region]) -> Vec<Engine> {
    let out = empty_engines().await;
    for e in &out {
        let mut tx = e.store.begin().await.expect("begin");
        tx.insert_regions(regions).await.expect("regions");
        tx.commit().await.expect("commit");
    }
    out
}

pub fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).expect("code")
}

/// A region under `parent` (the root when `None`), its path made from the parent's.
pub fn region(c: &str, parent: Option<&Region>, name: &str, level: Level) -> Region {
    let code = code(c);
    let path = match parent {
        Some(p) => p.child_path(&code),
        None => format!("/{c}/"),
    };
    Region {
        code,
        parent: parent.map(|p| p.code.clone()),
        name: name.to_owned(),
        level,
        path,
    }
}
