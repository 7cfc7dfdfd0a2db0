//! Directives, the tip line and the task list over HTTP, on both engines:
//! a province directs two cities and sees who has not answered; a county
//! cannot answer for another; a public tip becomes a task of its county,
//! rate limited and spam-guarded, and its contact never appears in a public
//! answer.

#[macro_use]
mod common;

use common::{run, Engine, TestApp};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use fangkong_domain::user::Role;

on_both_engines!(
    the_issuer_sees_who_has_not,
    a_county_cannot_answer_for_another,
    a_tip_becomes_a_task_of_its_county,
    the_sixth_tip_in_ten_minutes_waits,
    spam_is_refused_with_a_reason,
);

fn in_a_day() -> String {
    (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()
}

fn tip(what: &str, region: &str, contact: Option<&str>) -> Value {
    let now = chrono::Utc::now().timestamp_millis();
    json!({
        "what": what,
        "region": region,
        "contact": contact,
        "website": "",
        "started_at": now - 20_000,
    })
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A province directs two cities; one acknowledges and completes; the
/// issuer sees that the other has not.
async fn the_issuer_sees_who_has_not(app: TestApp) -> Result<TestApp> {
    let hubei = app.user("hubei", Role::Provincial, "420000").await?;
    let wuhan = app.user("wuhan", Role::City, "420100").await?;
    let a = app
        .post(
            Some(&hubei),
            "/api/v1/directives",
            &json!({
                "text": "全面排查发热病人，24小时内上报",
                "deadline": in_a_day(),
                "targets": ["420100", "420500"],
            }),
        )
        .await?;
    let body = a.ok(201)?;
    let id = body["id"].as_i64().context("id")?;
    ensure!(
        codes(&body["not_acknowledged"]) == ["420100", "420500"],
        "{}",
        a.text
    );

    // Wuhan finds it in its task list
    let t = app.get(Some(&wuhan), "/api/v1/tasks").await?;
    let tasks = t.ok(200)?["tasks"].as_array().context("tasks")?.clone();
    ensure!(
        tasks.len() == 1 && tasks[0]["kind"] == "directive" && tasks[0]["id"] == id,
        "{}",
        t.text
    );
    let path = format!("/api/v1/directives/{id}/targets/420100");
    app.post(Some(&wuhan), &format!("{path}/acknowledge"), &json!({}))
        .await?
        .ok(200)?;
    let done = app
        .post(
            Some(&wuhan),
            &format!("{path}/complete"),
            &json!({"note": "已排查 1200 人，发现发热 3 人"}),
        )
        .await?;
    let body = done.ok(200)?;
    ensure!(body["targets"][0]["status"] == "completed", "{}", done.text);
    ensure!(body["issuer_side"] == false, "{}", done.text);
    // completing twice is refused with its rule
    let again = app
        .post(
            Some(&wuhan),
            &format!("{path}/complete"),
            &json!({"note": "x"}),
        )
        .await?;
    again.refused(422, "invalid")?;
    ensure!(
        again.body["error"]["rule"] == "already_completed",
        "{}",
        again.text
    );

    let seen = app
        .get(Some(&hubei), &format!("/api/v1/directives/{id}"))
        .await?;
    let body = seen.ok(200)?;
    ensure!(
        codes(&body["not_acknowledged"]) == ["420500"],
        "{}",
        seen.text
    );
    ensure!(codes(&body["not_completed"]) == ["420500"], "{}", seen.text);
    ensure!(
        body["counts"]["completed"] == 1 && body["counts"]["total"] == 2,
        "{}",
        seen.text
    );
    let list = app.get(Some(&hubei), "/api/v1/directives").await?;
    ensure!(
        list.ok(200)?["directives"].as_array().map(Vec::len) == Some(1),
        "{}",
        list.text
    );
    let actions = app.audit_actions().await?;
    for a in [
        "directive.issue",
        "directive.acknowledge",
        "directive.complete",
    ] {
        ensure!(actions.iter().any(|x| x == a), "{a} not audited");
    }
    Ok(app)
}

/// A county cannot complete another county's target; a facility cannot
/// issue; a target above the issuer is refused with its rule.
async fn a_county_cannot_answer_for_another(app: TestApp) -> Result<TestApp> {
    let wuhan = app.user("wuhan", Role::City, "420100").await?;
    let jiangan = app.user("jiangan", Role::County, "420102").await?;
    let hospital = app.user("hospital", Role::Facility, "420102").await?;
    let a = app
        .post(
            Some(&wuhan),
            "/api/v1/directives",
            &json!({"text": "封闭管理", "deadline": "2099-01-01", "targets": ["420102", "420103"]}),
        )
        .await?;
    let id = a.ok(201)?["id"].as_i64().context("id")?;
    app.post(
        Some(&jiangan),
        &format!("/api/v1/directives/{id}/targets/420103/complete"),
        &json!({"note": "done"}),
    )
    .await?
    .refused(404, "not_found")?;
    app.post(
        Some(&jiangan),
        &format!("/api/v1/directives/{id}/targets/420103/acknowledge"),
        &json!({}),
    )
    .await?
    .refused(404, "not_found")?;
    // its own target it can
    app.post(
        Some(&jiangan),
        &format!("/api/v1/directives/{id}/targets/420102/acknowledge"),
        &json!({}),
    )
    .await?
    .ok(200)?;
    app.post(
        Some(&hospital),
        "/api/v1/directives",
        &json!({"text": "x", "deadline": in_a_day(), "targets": ["420102"]}),
    )
    .await?
    .refused(403, "forbidden")?;
    let up = app
        .post(
            Some(&wuhan),
            "/api/v1/directives",
            &json!({"text": "x", "deadline": in_a_day(), "targets": ["420000"]}),
        )
        .await?;
    up.refused(422, "invalid")?;
    ensure!(
        up.body["error"]["rule"] == "target_not_below_issuer",
        "{}",
        up.text
    );
    let bad = app
        .post(
            Some(&wuhan),
            "/api/v1/directives",
            &json!({"text": "x", "deadline": "soon", "targets": ["420102"]}),
        )
        .await?;
    bad.refused(422, "invalid")?;
    ensure!(bad.field() == "deadline", "{}", bad.text);
    app.get(None, "/api/v1/directives")
        .await?
        .refused(401, "unauthenticated")?;
    Ok(app)
}

/// A public tip becomes a task of the county; its contact reaches that
/// county only and never a public answer.
async fn a_tip_becomes_a_task_of_its_county(app: TestApp) -> Result<TestApp> {
    const CONTACT: &str = "13800000001 王先生";
    let jiangan = app.user("jiangan", Role::County, "420102").await?;
    let wuhan = app.user("wuhan", Role::City, "420100").await?;
    let jianghan = app.user("jianghan", Role::County, "420103").await?;
    let a = app
        .post(
            None,
            "/api/v1/tips",
            &tip("小区有人从外地返回未登记", "420102", Some(CONTACT)),
        )
        .await?;
    let receipt = a.ok(201)?;
    ensure!(receipt["responsible"]["code"] == "420102", "{}", a.text);
    ensure!(
        !a.text.contains("13800000001"),
        "contact in a public answer: {}",
        a.text
    );
    let id = receipt["id"].as_i64().context("id")?;

    // refusals and public reads carry no contact either
    let refused = app
        .post(
            None,
            "/api/v1/tips",
            &json!({"what": "x", "region": "420102", "contact": CONTACT, "website": "", "started_at": chrono::Utc::now().timestamp_millis()}),
        )
        .await?;
    refused.refused(422, "invalid")?;
    ensure!(!refused.text.contains("13800000001"), "{}", refused.text);
    let public = app.get(None, "/api/v1/tips").await?;
    public.refused(401, "unauthenticated")?;
    ensure!(!public.text.contains("13800000001"), "{}", public.text);
    for path in ["/", "/api/v1/bulletin", "/api/openapi.json"] {
        let p = app.get(None, path).await?;
        ensure!(!p.text.contains("13800000001"), "contact in {path}");
    }

    // the county's task, with the contact
    let t = app.get(Some(&jiangan), "/api/v1/tasks").await?;
    let tasks = t.ok(200)?["tasks"].as_array().context("tasks")?.clone();
    ensure!(tasks.len() == 1, "{}", t.text);
    ensure!(
        tasks[0]["kind"] == "tip" && tasks[0]["id"] == id,
        "{}",
        t.text
    );
    ensure!(tasks[0]["contact"] == CONTACT, "{}", t.text);
    // the city sees the tip, without the contact; another county not at all
    let c = app.get(Some(&wuhan), "/api/v1/tips").await?;
    ensure!(
        c.ok(200)?["tips"].as_array().map(Vec::len) == Some(1),
        "{}",
        c.text
    );
    ensure!(!c.text.contains("13800000001"), "{}", c.text);
    let other = app.get(Some(&jianghan), "/api/v1/tasks").await?;
    ensure!(
        other.ok(200)?["tasks"].as_array().map(Vec::len) == Some(0),
        "{}",
        other.text
    );
    app.post(
        Some(&jianghan),
        &format!("/api/v1/tips/{id}/handle"),
        &json!({}),
    )
    .await?
    .refused(404, "not_found")?;

    let h = app
        .post(
            Some(&jiangan),
            &format!("/api/v1/tips/{id}/handle"),
            &json!({"note": "已上门登记"}),
        )
        .await?;
    ensure!(h.ok(200)?["status"] == "handled", "{}", h.text);
    let t = app.get(Some(&jiangan), "/api/v1/tasks").await?;
    ensure!(
        t.ok(200)?["tasks"].as_array().map(Vec::len) == Some(0),
        "{}",
        t.text
    );
    let all = app.get(Some(&jiangan), "/api/v1/tips?all=true").await?;
    ensure!(
        all.ok(200)?["tips"].as_array().map(Vec::len) == Some(1),
        "{}",
        all.text
    );

    // the audit keeps neither the text nor the contact
    let entries = app.service.audit_recent(&app.system, None, 100).await?;
    for e in entries.iter().filter(|e| e.entity == "tip") {
        let text = format!("{:?} {:?}", e.before, e.after);
        ensure!(
            !text.contains("13800000001") && !text.contains("未登记"),
            "{text}"
        );
    }
    Ok(app)
}

/// Five tips from one address in ten minutes go through; the sixth waits.
async fn the_sixth_tip_in_ten_minutes_waits(app: TestApp) -> Result<TestApp> {
    for n in 1..=5 {
        app.post(
            None,
            "/api/v1/tips",
            &tip(&format!("tip {n}"), "420102", None),
        )
        .await?
        .ok(201)
        .with_context(|| format!("tip {n}"))?;
    }
    let sixth = app
        .post(None, "/api/v1/tips", &tip("tip 6", "420102", None))
        .await?;
    sixth.refused(429, "rate_limited")?;
    let wait = sixth.retry_after.context("no Retry-After")?;
    ensure!((1..=600).contains(&wait), "Retry-After {wait}");
    Ok(app)
}

/// The honeypot, a form sent too fast, link stuffing, an unknown place and
/// oversized text are each refused, naming the field and the rule.
async fn spam_is_refused_with_a_reason(app: TestApp) -> Result<TestApp> {
    let mut honeypot = tip("有人聚集", "420102", None);
    honeypot["website"] = json!("http://spam.example");
    let cases = [
        (honeypot, "website", Some("honeypot")),
        (
            json!({"what": "x", "region": "420102", "started_at": chrono::Utc::now().timestamp_millis() - 500}),
            "started_at",
            Some("too_fast"),
        ),
        (
            tip(
                "cheap masks http://a.example http://b.example",
                "420102",
                None,
            ),
            "what",
            Some("too_many_links"),
        ),
        (tip("有人聚集", "999999", None), "region", None),
        (tip(&"长".repeat(1001), "420102", None), "what", None),
    ];
    for (body, field, rule) in cases {
        let a = app.post(None, "/api/v1/tips", &body).await?;
        a.refused(422, "invalid")?;
        ensure!(a.field() == field, "{}", a.text);
        ensure!(a.body["error"]["rule"].as_str() == rule, "{}", a.text);
    }
    Ok(app)
}
