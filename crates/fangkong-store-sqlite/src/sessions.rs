//! Sessions ended on request and failed logins counted, on SQLite.

use super::*;

use sqlx::SqliteConnection;

use fangkong_store::LoginKey;

pub(crate) async fn delete_session(conn: &mut SqliteConnection, token_hash: &[u8]) -> Result<bool> {
    let done = sqlx::query("DELETE FROM session WHERE token_hash = ?1")
        .bind(token_hash)
        .execute(conn)
        .await
        .map_err(other)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn delete_sessions(
    conn: &mut SqliteConnection,
    user_id: i64,
    except: Option<&[u8]>,
) -> Result<u64> {
    let done =
        sqlx::query("DELETE FROM session WHERE user_id = ?1 AND (?2 IS NULL OR token_hash <> ?2)")
            .bind(user_id)
            .bind(except)
            .execute(conn)
            .await
            .map_err(other)?;
    Ok(done.rows_affected())
}

pub(crate) async fn set_password_hash(
    conn: &mut SqliteConnection,
    user_id: i64,
    password_hash: &str,
) -> Result<()> {
    let done = sqlx::query("UPDATE app_user SET password_hash = ?2 WHERE id = ?1")
        .bind(user_id)
        .bind(password_hash)
        .execute(conn)
        .await
        .map_err(other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    Ok(())
}

pub(crate) async fn nth_login_failure(
    conn: &mut SqliteConnection,
    by: LoginKey<'_>,
    since: DateTime<Utc>,
    n: u32,
) -> Result<Option<DateTime<Utc>>> {
    let offset = i64::from(n.max(1)) - 1;
    let query = match by {
        LoginKey::Account(account) => sqlx::query_scalar(
            "SELECT at FROM login_failure WHERE account = ?1 AND at >= ?2 \
             ORDER BY at DESC LIMIT 1 OFFSET ?3",
        )
        .bind(account),
        LoginKey::Address(address) => sqlx::query_scalar(
            "SELECT at FROM login_failure WHERE address = ?1 AND at >= ?2 \
             ORDER BY at DESC LIMIT 1 OFFSET ?3",
        )
        .bind(address),
    };
    query
        .bind(time_text(&since))
        .bind(offset)
        .fetch_optional(conn)
        .await
        .map_err(other)
}

pub(crate) async fn insert_login_failure(
    conn: &mut SqliteConnection,
    account: &[u8],
    address: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO login_failure (account, address, at) VALUES (?1, ?2, ?3)")
        .bind(account)
        .bind(address)
        .bind(time_text(&at))
        .execute(conn)
        .await
        .map_err(other)?;
    Ok(())
}

pub(crate) async fn clear_login_failures(
    conn: &mut SqliteConnection,
    account: Option<&[u8]>,
    before: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM login_failure WHERE at < ?2 OR account = ?1")
        .bind(account)
        .bind(time_text(&before))
        .execute(conn)
        .await
        .map_err(other)?;
    Ok(())
}
