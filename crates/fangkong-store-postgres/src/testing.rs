//! Test support: a fresh, empty database per test.
//!
//! The server is the one at `FANGKONG_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it cannot be reached the
//! tests are skipped with a loud warning, except under CI (`CI=true` or
//! `CI=1`), where that is a failure.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use sqlx::{Connection, PgConnection, Row};

/// The server tests run against unless `FANGKONG_TEST_PG` says otherwise.
pub const DEFAULT_TEST_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Test databases older than this are dropped when a new one is made.
const STALE_AFTER_SECS: u64 = 3600;

/// Create an empty database named `fk_test_<hex>` and return its URL, or
/// `None` (after a warning) when no PostgreSQL server can be reached outside CI.
///
/// The hex name starts with the creation time in seconds (10 hex digits), so
/// that databases left behind by earlier runs can be dropped after an hour.
pub async fn fresh_database() -> Option<String> {
    let base = std::env::var("FANGKONG_TEST_PG").unwrap_or_else(|_| DEFAULT_TEST_PG.to_owned());
    let connected =
        tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(&base)).await;
    let mut conn = match connected {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return unreachable_server(&base, &e.to_string()),
        Err(_) => return unreachable_server(&base, "timed out after 10 s"),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!("fk_test_{now:010x}{:016x}", rand::thread_rng().gen::<u64>());
    drop_stale(&mut conn, now).await;
    if let Err(e) = sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
    {
        return unreachable_server(&base, &format!("cannot create a test database: {e}"));
    }
    let _ = conn.close().await;
    Some(with_database(&base, &name))
}

fn unreachable_server(base: &str, why: &str) -> Option<String> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if ci {
        panic!(
            "PostgreSQL tests need a server at {base} (set FANGKONG_TEST_PG), and CI is set: {why}"
        );
    }
    eprintln!("\n!!!!!!!!\n!!! SKIPPING PostgreSQL tests: no usable server at {base}: {why}\n!!! (set FANGKONG_TEST_PG to a postgres:// URL of a server where databases may be created)\n!!!!!!!!\n");
    None
}

/// Drop test databases made more than an hour ago (best effort, errors ignored).
async fn drop_stale(conn: &mut PgConnection, now: u64) {
    let Ok(rows) =
        sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'fk\\_test\\_%'")
            .fetch_all(&mut *conn)
            .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String, _>("datname") else {
            continue;
        };
        let made = name
            .strip_prefix("fk_test_")
            .and_then(|hex| hex.get(..10))
            .and_then(|t| u64::from_str_radix(t, 16).ok());
        if made.is_some_and(|t| t + STALE_AFTER_SECS < now)
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// `base` with its database replaced by `name` (query parameters kept).
fn with_database(base: &str, name: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (base, None),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let mut url = match main[authority_start..].find('/') {
        Some(i) => format!("{}/{name}", &main[..authority_start + i]),
        None => format!("{main}/{name}"),
    };
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
