//! Opening the store a URL names: the one place where the engines meet.

use std::sync::Arc;

use anyhow::{bail, Context};

use fangkong_service::{Principal, Service, Settings};
use fangkong_store::Store;
use fangkong_store_postgres::PgStore;
use fangkong_store_sqlite::SqliteStore;

use crate::Global;

pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        bail!("--database {url:?}: expected sqlite://FILE or postgres://…")
    }
}

pub fn settings(global: &Global) -> Settings {
    Settings {
        utc_offset_minutes: global.utc_offset,
        observation_period: fangkong_domain::contact::ObservationPeriod::new(i64::from(
            global.observation_days,
        ))
        .unwrap_or_default(),
        login_failures_per_account: global.login_failures_per_account,
        login_failures_per_address: global.login_failures_per_address,
        login_window_minutes: i64::from(global.login_window_minutes),
        ..Settings::default()
    }
}

pub async fn open_service(global: &Global) -> anyhow::Result<Service> {
    let store = open_store(&global.database).await?;
    Service::open(store, settings(global))
        .await
        .context("cannot open the service")
}

/// Who the command acts as: `--as USER`, or the program itself.
pub async fn principal(service: &Service, global: &Global) -> anyhow::Result<Principal> {
    Ok(match &global.as_user {
        Some(user) => service.principal(user).await?,
        None => service.system().await?,
    })
}
