//! Sessions over HTTP, on both engines (issue 12, finding 4): logins are
//! rate-limited per account and per address, in the database (a second
//! server on it sees the same count); a token can be ended by its holder
//! and by an administrator; a password change ends the other sessions;
//! names are one account whatever their case; every answer carries the
//! security headers, and personal ones are never stored by a cache.

#[macro_use]
mod common;

use common::{run, Engine, TestApp, PASSWORD};

use anyhow::{ensure, Context, Result};
use reqwest::header::{self, HeaderMap};
use serde_json::json;

use fangkong_domain::user::Role;
use fangkong_service::ServiceError;

on_both_engines!(
    three_hundred_wrong_passwords_are_refused,
    the_address_limit_counts_every_account,
    a_success_resets_the_account_count,
    logout_ends_the_token,
    an_administrator_revokes_a_users_sessions,
    a_password_change_ends_the_other_sessions,
    usernames_are_one_account_whatever_their_case,
    every_answer_carries_the_security_headers,
);

fn login_body(username: &str, password: &str) -> serde_json::Value {
    json!({ "username": username, "password": password })
}

/// 300 wrong passwords, 30 at a time: the account's first 5 are checked
/// (401), every other one is refused without checking (429 with
/// `Retry-After` up to the 15-minute window), even the right password;
/// another server on the same database refuses it too.
async fn three_hundred_wrong_passwords_are_refused(app: TestApp) -> Result<TestApp> {
    app.add_user("jianghan", Role::County, "420103").await?;
    let mut unauthorized = 0;
    let mut limited = 0;
    for batch in 0..10 {
        let mut attempts = tokio::task::JoinSet::new();
        for i in 0..30 {
            let req = app.http.post(app.url("/api/v1/sessions")).json(&login_body(
                "jianghan",
                &format!("guess number {batch}-{i}"),
            ));
            attempts.spawn(async move {
                let res = req.send().await?;
                let status = res.status().as_u16();
                let wait = res
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let body: serde_json::Value = res.json().await?;
                anyhow::Ok((status, wait, body))
            });
        }
        while let Some(done) = attempts.join_next().await {
            let (status, wait, body) = done??;
            match status {
                401 => unauthorized += 1,
                429 => {
                    ensure!(body["error"]["code"] == "rate_limited", "{body}");
                    let wait = wait.context("429 without Retry-After")?;
                    ensure!((1..=900).contains(&wait), "Retry-After {wait}");
                    limited += 1;
                }
                s => anyhow::bail!("unexpected {s}: {body}"),
            }
        }
    }
    ensure!(
        (unauthorized, limited) == (5, 295),
        "401s and 429s: {unauthorized}, {limited}"
    );
    // the right password waits too, in any case of the name
    app.post(None, "/api/v1/sessions", &login_body("JiangHan", PASSWORD))
        .await?
        .refused(429, "rate_limited")?;
    // a second server on the same database holds the same count
    let other = app.second_service().await?;
    let refused = other
        .login("jianghan", PASSWORD, Some("127.0.0.1".parse()?))
        .await;
    ensure!(
        matches!(refused, Err(ServiceError::RateLimited { retry_after_secs }) if retry_after_secs <= 900),
        "the second server let it in: {:?}",
        refused.map(|s| s.principal.username)
    );
    // another account from the same address still logs in
    app.user("wuhan", Role::City, "420100").await?;
    Ok(app)
}

/// 20 failures from one address, whichever accounts they name, and the
/// address waits, even for an account with no failures of its own.
async fn the_address_limit_counts_every_account(app: TestApp) -> Result<TestApp> {
    app.add_user("hubei", Role::Provincial, "420000").await?;
    for i in 0..20 {
        app.post(
            None,
            "/api/v1/sessions",
            &login_body(&format!("nobody{}", i % 7), "wrong password"),
        )
        .await?
        .refused(401, "unauthenticated")?;
    }
    let a = app
        .post(None, "/api/v1/sessions", &login_body("hubei", PASSWORD))
        .await?;
    a.refused(429, "rate_limited")?;
    ensure!(a.retry_after.is_some_and(|s| s > 0), "{:?}", a.retry_after);
    // counted per address: a client elsewhere is not held back
    let other = app.second_service().await?;
    other
        .login("hubei", PASSWORD, Some("2001:db8::1".parse()?))
        .await
        .context("another address")?;
    Ok(app)
}

/// Four failures, a success, four failures: the count started again.
async fn a_success_resets_the_account_count(app: TestApp) -> Result<TestApp> {
    app.add_user("wuchang", Role::County, "420106").await?;
    for _ in 0..2 {
        for _ in 0..4 {
            app.post(
                None,
                "/api/v1/sessions",
                &login_body("wuchang", "not it at all"),
            )
            .await?
            .refused(401, "unauthenticated")?;
        }
        app.login("wuchang").await?;
    }
    Ok(app)
}

/// `DELETE /api/v1/sessions` ends the caller's token, and only it.
async fn logout_ends_the_token(app: TestApp) -> Result<TestApp> {
    let token = app.user("jianghan", Role::County, "420103").await?;
    let other = app.login("jianghan").await?;
    app.get(Some(&token), "/api/v1/me").await?.ok(200)?;
    let a = app.delete(Some(&token), "/api/v1/sessions").await?;
    ensure!(a.status.as_u16() == 204, "{} {}", a.status, a.text);
    app.get(Some(&token), "/api/v1/me")
        .await?
        .refused(401, "unauthenticated")?;
    app.delete(Some(&token), "/api/v1/sessions")
        .await?
        .refused(401, "unauthenticated")?;
    app.get(Some(&other), "/api/v1/me").await?.ok(200)?;
    app.delete(None, "/api/v1/sessions")
        .await?
        .refused(401, "unauthenticated")?;
    ensure!(
        app.audit_actions()
            .await?
            .contains(&"user.logout".to_owned()),
        "no audit entry"
    );
    Ok(app)
}

/// A county ends the sessions of a hospital's user in its county; another
/// county cannot (the user is "not found" there), nor can the hospital.
async fn an_administrator_revokes_a_users_sessions(app: TestApp) -> Result<TestApp> {
    let county = app.user("jianghan", Role::County, "420103").await?;
    let elsewhere = app.user("wuchang", Role::County, "420106").await?;
    let hospital = app.user("hospital", Role::Facility, "420103").await?;
    let phone = app.login("hospital").await?;

    app.delete(Some(&elsewhere), "/api/v1/users/hospital/sessions")
        .await?
        .refused(404, "not_found")?;
    app.delete(Some(&hospital), "/api/v1/users/hospital/sessions")
        .await?
        .refused(403, "forbidden")?;
    app.delete(Some(&county), "/api/v1/users/nobody/sessions")
        .await?
        .refused(404, "not_found")?;
    app.delete(None, "/api/v1/users/hospital/sessions")
        .await?
        .refused(401, "unauthenticated")?;
    app.get(Some(&hospital), "/api/v1/me").await?.ok(200)?;

    let a = app
        .delete(Some(&county), "/api/v1/users/HOSPITAL/sessions")
        .await?;
    let body = a.ok(200)?;
    ensure!(
        body["username"] == "hospital" && body["sessions_ended"] == 2,
        "{}",
        a.text
    );
    for t in [&hospital, &phone] {
        app.get(Some(t), "/api/v1/me")
            .await?
            .refused(401, "unauthenticated")?;
    }
    // the password stays: the user logs in again
    app.login("hospital").await?;
    app.get(Some(&county), "/api/v1/me").await?.ok(200)?;
    let entries = app
        .service
        .audit_recent(&app.system, Some("user/hospital"), 10)
        .await?;
    ensure!(
        entries
            .iter()
            .any(|e| e.action == "user.revoke" && e.actor == "jianghan"),
        "no audit entry"
    );
    Ok(app)
}

/// The old password must be right; the new one works, the old one no
/// longer does; the caller's other sessions end, this one stays; the
/// audit entry holds no password.
async fn a_password_change_ends_the_other_sessions(app: TestApp) -> Result<TestApp> {
    let here = app.user("jianghan", Role::County, "420103").await?;
    let phone = app.login("jianghan").await?;
    let new = "a new passphrase 2020";

    app.put(
        Some(&here),
        "/api/v1/me/password",
        &json!({"old_password": "not the password", "new_password": new}),
    )
    .await?
    .invalid("old_password")?;
    app.put(
        Some(&here),
        "/api/v1/me/password",
        &json!({"old_password": PASSWORD, "new_password": "short"}),
    )
    .await?
    .invalid("new_password")?;
    app.put(
        Some(&here),
        "/api/v1/me/password",
        &json!({"old_password": PASSWORD, "new_password": "x".repeat(1025)}),
    )
    .await?
    .invalid("new_password")?;
    app.put(
        None,
        "/api/v1/me/password",
        &json!({"old_password": PASSWORD, "new_password": new}),
    )
    .await?
    .refused(401, "unauthenticated")?;
    app.get(Some(&phone), "/api/v1/me").await?.ok(200)?;

    let a = app
        .put(
            Some(&here),
            "/api/v1/me/password",
            &json!({"old_password": PASSWORD, "new_password": new}),
        )
        .await?;
    ensure!(a.status.as_u16() == 204, "{} {}", a.status, a.text);
    app.get(Some(&here), "/api/v1/me").await?.ok(200)?;
    app.get(Some(&phone), "/api/v1/me")
        .await?
        .refused(401, "unauthenticated")?;
    app.post(None, "/api/v1/sessions", &login_body("jianghan", PASSWORD))
        .await?
        .refused(401, "unauthenticated")?;
    app.post(None, "/api/v1/sessions", &login_body("jianghan", new))
        .await?
        .ok(201)?;

    let entries = app
        .service
        .audit_recent(&app.system, Some("user/jianghan"), 20)
        .await?;
    ensure!(
        entries.iter().any(|e| e.action == "user.password"),
        "no audit entry"
    );
    for e in &entries {
        let text = format!("{:?} {:?}", e.before, e.after);
        ensure!(
            !text.contains(new) && !text.contains(PASSWORD),
            "a password in the audit: {text}"
        );
    }
    Ok(app)
}

/// `Jianghan` is `jianghan`: no second account, login with either; long
/// display names and passwords are refused.
async fn usernames_are_one_account_whatever_their_case(app: TestApp) -> Result<TestApp> {
    let province = app.user("hubei", Role::Provincial, "420000").await?;
    app.add_user("jianghan", Role::County, "420103").await?;
    let create = |name: &str, display: &str, password: &str| {
        json!({"username": name, "display_name": display, "role": "county",
               "region_code": "420103", "password": password})
    };
    for name in ["Jianghan", "JIANGHAN", " jiangHan "] {
        app.post(
            Some(&province),
            "/api/v1/users",
            &create(name, "", PASSWORD),
        )
        .await?
        .refused(409, "conflict")?;
    }
    let a = app
        .post(None, "/api/v1/sessions", &login_body("JiangHan", PASSWORD))
        .await?;
    ensure!(a.ok(201)?["user"]["username"] == "jianghan", "{}", a.text);

    app.post(
        Some(&province),
        "/api/v1/users",
        &create("jianghan2", &"名".repeat(101), PASSWORD),
    )
    .await?
    .invalid("display_name")?;
    app.post(
        Some(&province),
        "/api/v1/users",
        &create("jianghan2", "江汉", &"x".repeat(1025)),
    )
    .await?
    .invalid("password")?;
    app.post(
        Some(&province),
        "/api/v1/users",
        &create("jianghan2", &"名".repeat(100), &"x".repeat(1024)),
    )
    .await?
    .ok(201)?;
    Ok(app)
}

fn header_of(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Security headers on every API answer, errors included; `no-store` on
/// every personal one; the UI's pages keep their own policy.
async fn every_answer_carries_the_security_headers(app: TestApp) -> Result<TestApp> {
    let token = app.user("jianghan", Role::County, "420103").await?;
    let big = "x".repeat(2 * 1024 * 1024);
    let requests = [
        ("health", app.http.get(app.url("/healthz"))),
        ("public", app.http.get(app.url("/api/v1/regions/420000"))),
        ("openapi", app.http.get(app.url("/api/openapi.json"))),
        (
            "me",
            app.http.get(app.url("/api/v1/me")).bearer_auth(&token),
        ),
        (
            "users",
            app.http.get(app.url("/api/v1/users")).bearer_auth(&token),
        ),
        (
            "cases",
            app.http.get(app.url("/api/v1/cases")).bearer_auth(&token),
        ),
        ("401", app.http.get(app.url("/api/v1/me"))),
        ("404", app.http.get(app.url("/api/v1/no-such-route"))),
        ("405", app.http.patch(app.url("/api/v1/sessions"))),
        (
            "422",
            app.http
                .post(app.url("/api/v1/sessions"))
                .header(header::CONTENT_TYPE, "application/json")
                .body("{\"username\": 1}"),
        ),
        (
            "413",
            app.http
                .post(app.url("/api/v1/sessions"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(big),
        ),
    ];
    for (what, req) in requests {
        let res = req.send().await.with_context(|| what.to_owned())?;
        let h = res.headers();
        ensure!(
            header_of(h, header::X_CONTENT_TYPE_OPTIONS) == "nosniff"
                && header_of(h, header::X_FRAME_OPTIONS) == "DENY"
                && header_of(h, header::REFERRER_POLICY) == "no-referrer"
                && header_of(h, header::CONTENT_SECURITY_POLICY).starts_with("default-src 'none'")
                && header_of(h, header::CACHE_CONTROL) == "no-store",
            "{what} ({}): {h:?}",
            res.status()
        );
    }
    // a signed-in request's answer is never stored, even on a public route
    let res = app
        .http
        .get(app.url("/api/v1/regions/420000"))
        .bearer_auth(&token)
        .send()
        .await?;
    ensure!(
        header_of(res.headers(), header::CACHE_CONTROL) == "no-store",
        "{:?}",
        res.headers()
    );
    // the pages keep the UI's own policy
    let page = app.http.get(app.url("/login")).send().await?;
    let h = page.headers();
    ensure!(
        header_of(h, header::CONTENT_SECURITY_POLICY).starts_with("default-src 'self'")
            && header_of(h, header::CACHE_CONTROL) == "no-cache"
            && header_of(h, header::X_FRAME_OPTIONS) == "DENY",
        "{h:?}"
    );
    // the new routes are documented
    let doc = app.get(None, "/api/openapi.json").await?;
    let paths = &doc.ok(200)?["paths"];
    ensure!(
        paths["/api/v1/sessions"]["delete"].is_object()
            && paths["/api/v1/me/password"]["put"].is_object()
            && paths["/api/v1/users/{username}/sessions"]["delete"].is_object(),
        "missing from the OpenAPI document"
    );
    Ok(app)
}
