//! Sessions ended on request and failed logins counted, on PostgreSQL.

use super::*;

use sqlx::PgConnection;

use fangkong_store::LoginKey;

/// The advisory lock that serializes failed-login bookkeeping ("fklogin").
const LOGIN_LOCK: i64 = 0x0066_6b6c_6f67_696e;

pub(crate) async fn delete_session(conn: &mut PgConnection, token_hash: &[u8]) -> Result<bool> {
    let done = sqlx::query("DELETE FROM session WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn delete_sessions(
    conn: &mut PgConnection,
    user_id: i64,
    except: Option<&[u8]>,
) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM session WHERE user_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)",
    )
    .bind(user_id)
    .bind(except)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected())
}

pub(crate) async fn set_password_hash(
    conn: &mut PgConnection,
    user_id: i64,
    password_hash: &str,
) -> Result<()> {
    let done = sqlx::query("UPDATE app_user SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .execute(conn)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    Ok(())
}

pub(crate) async fn lock_login_failures(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOGIN_LOCK)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn nth_login_failure(
    conn: &mut PgConnection,
    by: LoginKey<'_>,
    since: DateTime<Utc>,
    n: u32,
) -> Result<Option<DateTime<Utc>>> {
    let offset = i64::from(n.max(1)) - 1;
    let query = match by {
        LoginKey::Account(account) => sqlx::query_scalar(
            "SELECT at FROM login_failure WHERE account = $1 AND at >= $2 \
             ORDER BY at DESC LIMIT 1 OFFSET $3",
        )
        .bind(account),
        LoginKey::Address(address) => sqlx::query_scalar(
            "SELECT at FROM login_failure WHERE address = $1 AND at >= $2 \
             ORDER BY at DESC LIMIT 1 OFFSET $3",
        )
        .bind(address),
    };
    query
        .bind(since)
        .bind(offset)
        .fetch_optional(conn)
        .await
        .map_err(db_err)
}

pub(crate) async fn insert_login_failure(
    conn: &mut PgConnection,
    account: &[u8],
    address: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO login_failure (account, address, at) VALUES ($1, $2, $3)")
        .bind(account)
        .bind(address)
        .bind(at)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn clear_login_failures(
    conn: &mut PgConnection,
    account: Option<&[u8]>,
    before: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM login_failure WHERE at < $2 OR account = $1")
        .bind(account)
        .bind(before)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
