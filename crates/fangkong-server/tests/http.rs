//! The HTTP API end to end: the real server on 127.0.0.1:0 over a fresh
//! store per test, on SQLite and on PostgreSQL (skipped, loudly, when no
//! PostgreSQL server can be reached outside CI).

#[macro_use]
mod common;

use common::{run, Engine, TestApp, PASSWORD};

use anyhow::{anyhow, ensure, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use fangkong_domain::user::Role;

fn epidemic(region: &str, date: &str, confirmed: i64) -> Value {
    json!({
        "form": "epidemic",
        "region_code": region,
        "date": date,
        "values": {
            "new_confirmed": confirmed,
            "new_suspected": 2,
            "new_severe": 1,
            "new_deaths": 0,
            "new_recovered": 0,
            "current_severe": 1,
            "current_suspected": 4,
            "current_observation": 30,
        }
    })
}

const DAY: &str = "2020-01-25";

on_both_engines!(
    jurisdiction_and_audit,
    validation_errors_are_json,
    corrections_keep_history,
    rollup_through_http,
    bulletin_health_and_openapi,
    csv_import_all_or_nothing,
    grid_worker_files_a_zero_report,
    analytics_for_the_dashboard,
    counts_are_bounded,
);

/// Issue 12: `new_confirmed` = 9223372036854775807 was filed with a 200,
/// and the roll-ups above it broke the public routes. Now a 422 names the
/// field and its bound, nothing is filed, and the public figures answer.
async fn counts_are_bounded(app: TestApp) -> Result<TestApp> {
    let token = app.user("wuhan.cdc", Role::City, "420100").await?;
    let t = Some(token.as_str());
    let a = app
        .post(t, "/api/v1/reports", &epidemic("420102", DAY, i64::MAX))
        .await?;
    a.refused(422, "invalid")?;
    ensure!(a.field() == "values.new_confirmed", "{}", a.text);
    ensure!(
        a.text
            .contains("must be at most 10000000, got 9223372036854775807"),
        "{}",
        a.text
    );
    app.post(t, "/api/v1/reports", &epidemic("420102", DAY, 10_000_001))
        .await?
        .refused(422, "invalid")?;
    let at_bound = app
        .post(t, "/api/v1/reports", &epidemic("420103", DAY, 10_000_000))
        .await?;
    ensure!(at_bound.status.is_success(), "{}", at_bound.text);
    for path in [
        format!("/api/v1/bulletin?date={DAY}"),
        "/api/v1/public/series?region=420000".to_owned(),
        format!("/api/v1/public/regions?date={DAY}"),
    ] {
        let r = app.get(None, &path).await?;
        ensure!(r.status == StatusCode::OK, "{path}: {}", r.text);
    }
    let r = app
        .get(None, &format!("/api/v1/bulletin?date={DAY}"))
        .await?;
    ensure!(r.text.contains("10000000"), "{}", r.text);
    ensure!(!r.text.contains("9223372036854775807"), "{}", r.text);
    Ok(app)
}

/// A grid worker in a village files the day's zero report; the county sees
/// it in the grid form's completeness.
async fn grid_worker_files_a_zero_report(app: TestApp) -> Result<TestApp> {
    app.service.import_demo_province(&app.system).await?;
    let townships = app.service.children("420102").await?;
    let township = townships
        .first()
        .ok_or_else(|| anyhow!("江岸区 has no townships"))?;
    let villages = app.service.children(township.code.as_str()).await?;
    let village = villages
        .first()
        .ok_or_else(|| anyhow!("{} has no villages", township.code))?;
    let code = village.code.to_string();
    let worker = app.user("grid.worker", Role::Grid, &code).await?;
    let county = app.user("jiangan.cdc", Role::County, "420102").await?;

    let zero = json!({"form": "grid", "region_code": code, "date": DAY, "zero": true});
    let filed = app.post(Some(&worker), "/api/v1/reports", &zero).await?;
    let filed = filed.ok(201)?;
    assert_eq!(filed["report"]["values"]["households_visited"], 0);
    // a neighbouring village is not the worker's
    if let Some(other) = villages.get(1) {
        let other =
            json!({"form": "grid", "region_code": other.code.as_str(), "date": DAY, "zero": true});
        app.post(Some(&worker), "/api/v1/reports", &other)
            .await?
            .refused(403, "forbidden")?;
    }

    let c = app
        .get(
            Some(&county),
            &format!("/api/v1/completeness?form=grid&date={DAY}&limit=5"),
        )
        .await?;
    let c = c.ok(200)?;
    assert_eq!(c["level"], "village", "{c}");
    assert_eq!(c["filed"], 1, "{c}");
    let expected = c["expected"].as_u64().unwrap_or(0);
    assert!(expected >= villages.len() as u64, "{c}");
    assert_eq!(
        c["by_child"].as_array().map(Vec::len),
        Some(townships.len()),
        "{c}"
    );
    assert_eq!(
        c["missing"].as_array().map(Vec::len),
        Some(5),
        "the list is limited: {c}"
    );
    let f = app
        .get(
            Some(&county),
            &format!("/api/v1/figures?form=grid&date={DAY}"),
        )
        .await?;
    let f = f.ok(200)?;
    assert_eq!(f["own"], false, "{f}");
    assert_eq!(
        f["day"]["households_visited"], 0,
        "a zero report counts: {f}"
    );
    Ok(app)
}

/// A county files its own report and nobody else's, reads only its own; the
/// province reads both; every write leaves an audit entry; the chains verify.
async fn jurisdiction_and_audit(app: TestApp) -> Result<TestApp> {
    let before = app.audit_actions().await?.len();
    let county = app.user("jiangan.cdc", Role::County, "420102").await?;
    let province = app.user("hubei.health", Role::Provincial, "420000").await?;
    let nation = app.user("nhc.admin", Role::National, "000000").await?;
    let actions = app.audit_actions().await?;
    assert_eq!(actions.len(), before + 6, "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| *a == "user.add").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "user.login").count(),
        3,
        "{actions:?}"
    );

    let me = app.get(Some(&county), "/api/v1/me").await?;
    let me = me.ok(200)?;
    assert_eq!(me["username"], "jiangan.cdc");
    assert_eq!(me["role"], "county");
    assert_eq!(me["region_code"], "420102");
    assert_eq!(me["region_name"], "江岸区");

    // the county files its own report
    let filed = app
        .post(
            Some(&county),
            "/api/v1/reports",
            &epidemic("420102", DAY, 5),
        )
        .await?;
    let body = filed.ok(201)?;
    assert_eq!(body["status"], "filed");
    assert_eq!(body["report"]["version"], 1);
    assert_eq!(body["report"]["values"]["new_confirmed"], 5);
    assert_eq!(body["report"]["filed_by"], "jiangan.cdc");
    let actions = app.audit_actions().await?;
    assert_eq!(actions.len(), before + 7);
    assert_eq!(actions[0], "report.file", "newest first: {actions:?}");

    // …but not its neighbour's
    let refused = app
        .post(
            Some(&county),
            "/api/v1/reports",
            &epidemic("420103", DAY, 1),
        )
        .await?;
    refused.refused(403, "forbidden")?;
    assert_eq!(
        app.audit_actions().await?.len(),
        before + 7,
        "a refused write leaves no entry"
    );

    // the province files for the neighbour
    app.post(
        Some(&province),
        "/api/v1/reports",
        &epidemic("420103", DAY, 7),
    )
    .await?
    .ok(201)?;

    // the county reads neither the neighbour's report nor its figures
    app.get(
        Some(&county),
        &format!("/api/v1/reports/epidemic/420103/{DAY}"),
    )
    .await?
    .refused(403, "forbidden")?;
    app.get(
        Some(&county),
        &format!("/api/v1/figures?form=epidemic&region=420103&date={DAY}"),
    )
    .await?
    .refused(403, "forbidden")?;
    // its own it reads
    let own = app
        .get(
            Some(&county),
            &format!("/api/v1/reports/epidemic/420102/{DAY}"),
        )
        .await?;
    assert_eq!(own.ok(200)?["current"]["values"]["new_confirmed"], 5);
    let own = app
        .get(
            Some(&county),
            &format!("/api/v1/figures?region=420102&date={DAY}"),
        )
        .await?;
    let own = own.ok(200)?;
    assert_eq!(own["own"], true);
    assert_eq!(own["day"]["new_confirmed"], 5);

    // the province reads both
    for (code, n) in [("420102", 5), ("420103", 7)] {
        let r = app
            .get(
                Some(&province),
                &format!("/api/v1/reports/epidemic/{code}/{DAY}"),
            )
            .await?;
        let r = r.ok(200)?;
        assert_eq!(r["current"]["values"]["new_confirmed"], n);
        assert_eq!(r["history"].as_array().map(Vec::len), Some(1));
        let f = app
            .get(
                Some(&province),
                &format!("/api/v1/figures?form=epidemic&region={code}&date={DAY}"),
            )
            .await?;
        let f = f.ok(200)?;
        assert_eq!(f["region"]["code"], code);
        assert_eq!(f["day"]["new_confirmed"], n);
        assert_eq!(f["cumulative"]["new_confirmed"], n);
    }

    // a correction and a review are audited too
    app.post(
        Some(&county),
        "/api/v1/reports",
        &epidemic("420102", DAY, 6),
    )
    .await?
    .ok(200)?;
    let review = app
        .post(
            Some(&province),
            &format!("/api/v1/reports/epidemic/420102/{DAY}/review"),
            &json!({"status": "returned", "note": "please check the severe count"}),
        )
        .await?;
    let review = review.ok(201)?;
    assert_eq!(review["status"], "returned");
    assert_eq!(review["version"], 2);
    assert_eq!(review["reviewer"], "hubei.health");
    // the county cannot review its own report
    app.post(
        Some(&county),
        &format!("/api/v1/reports/epidemic/420102/{DAY}/review"),
        &json!({"status": "approved"}),
    )
    .await?
    .refused(403, "forbidden")?;

    let actions = app.audit_actions().await?;
    assert_eq!(actions.len(), before + 10, "{actions:?}");
    assert_eq!(
        &actions[..3],
        ["report.review", "report.correct", "report.file"],
        "{actions:?}"
    );

    // the audit log through the API: national only
    app.get(Some(&province), "/api/v1/audit")
        .await?
        .refused(403, "forbidden")?;
    let log = app.get(Some(&nation), "/api/v1/audit?limit=1000").await?;
    let log = log.ok(200)?.as_array().cloned().unwrap_or_default();
    let api_actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(api_actions.len(), actions.len());
    for a in [
        "user.add",
        "user.login",
        "report.file",
        "report.correct",
        "report.review",
    ] {
        assert!(api_actions.contains(&a), "{a} missing from {api_actions:?}");
    }
    let key = format!("report/epidemic/420102/{DAY}");
    let one = app
        .get(Some(&nation), &format!("/api/v1/audit?entity_key={key}"))
        .await?;
    let one = one.ok(200)?.as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = one.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(kinds, ["report.review", "report.correct", "report.file"]);
    assert_eq!(one[1]["before"]["values"]["new_confirmed"], 5, "{}", one[1]);
    assert_eq!(one[1]["after"]["values"]["new_confirmed"], 6, "{}", one[1]);
    assert_eq!(one[1]["actor"], "jiangan.cdc");

    let verify = app.get(Some(&nation), "/api/v1/audit/verify").await?;
    let verify = verify.ok(200)?;
    assert_eq!(verify["intact"], true, "{verify}");
    assert_eq!(verify["reports"]["entries"], 3, "{verify}");
    assert_eq!(
        verify["audit"]["entries"].as_u64(),
        Some(actions.len() as u64),
        "{verify}"
    );
    app.get(Some(&county), "/api/v1/audit/verify")
        .await?
        .refused(403, "forbidden")?;

    // users: the province sees its own people, not the nation's
    let users = app.get(Some(&province), "/api/v1/users").await?;
    let names: Vec<String> = users
        .ok(200)?
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["username"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        names.contains(&"jiangan.cdc".to_owned()) && !names.contains(&"nhc.admin".to_owned()),
        "{names:?}"
    );
    let created = app
        .post(
            Some(&province),
            "/api/v1/users",
            &json!({"username": "jianghan.cdc", "display_name": "江汉区疾控", "role": "county", "region_code": "420103", "password": PASSWORD}),
        )
        .await?;
    assert_eq!(created.ok(201)?["region_code"], "420103");
    assert_eq!(app.audit_actions().await?[0], "user.add");
    app.post(
        Some(&county),
        "/api/v1/users",
        &json!({"username": "other.cdc", "role": "county", "region_code": "420103", "password": PASSWORD}),
    )
    .await?
    .refused(403, "forbidden")?;
    app.post(
        Some(&province),
        "/api/v1/users",
        &json!({"username": "jianghan.cdc", "role": "county", "region_code": "420103", "password": PASSWORD}),
    )
    .await?
    .refused(409, "conflict")?;

    // a wrong password is a 401, and leaves no session
    let wrong = app
        .post(
            None,
            "/api/v1/sessions",
            &json!({"username": "jiangan.cdc", "password": "nope nope nope"}),
        )
        .await?;
    wrong.refused(401, "unauthenticated")?;
    app.get(Some("not-a-token"), "/api/v1/me")
        .await?
        .refused(401, "unauthenticated")?;
    Ok(app)
}

/// Every bad input is refused with a JSON error naming what is wrong.
async fn validation_errors_are_json(app: TestApp) -> Result<TestApp> {
    let token = app.user("hubei.health", Role::Provincial, "420000").await?;
    let t = Some(token.as_str());
    let post = |body: Value| {
        let app = &app;
        async move { app.post(t, "/api/v1/reports", &body).await }
    };

    // no token
    app.post(None, "/api/v1/reports", &epidemic("420102", DAY, 1))
        .await?
        .refused(401, "unauthenticated")?;
    app.get(None, "/api/v1/figures")
        .await?
        .refused(401, "unauthenticated")?;

    // unknown region
    let a = post(epidemic("429999", DAY, 1)).await?;
    ensure!(
        a.status == StatusCode::NOT_FOUND
            || (a.status == StatusCode::UNPROCESSABLE_ENTITY && a.field() == "region_code"),
        "unknown region: {}",
        a.text
    );
    ensure!(
        a.code() == "not_found" || a.code() == "invalid",
        "{}",
        a.text
    );
    // a malformed region code
    assert_eq!(
        post(epidemic("42 01", DAY, 1))
            .await?
            .refused(422, "invalid")?
            .field(),
        "region_code"
    );

    // a future date, and a date that is no date
    let tomorrow = app
        .service
        .today()
        .succ_opt()
        .ok_or_else(|| anyhow!("no tomorrow"))?;
    assert_eq!(
        post(epidemic("420102", &tomorrow.to_string(), 1))
            .await?
            .refused(422, "invalid")?
            .field(),
        "date"
    );
    assert_eq!(
        post(epidemic("420102", "2020-02-30", 1))
            .await?
            .refused(422, "invalid")?
            .field(),
        "date"
    );
    assert_eq!(
        post(epidemic("420102", "25/01/2020", 1))
            .await?
            .refused(422, "invalid")?
            .field(),
        "date"
    );

    // counts: negative, fractional, strings, null
    for bad in [json!(-1), json!(1.5), json!("3"), json!(null), json!(true)] {
        let mut body = epidemic("420102", DAY, 1);
        body["values"]["new_confirmed"] = bad.clone();
        let a = post(body).await?;
        assert_eq!(
            a.refused(422, "invalid")?.field(),
            "values.new_confirmed",
            "{bad}: {}",
            a.text
        );
    }
    // an unknown field of the form, and one missing
    let mut body = epidemic("420102", DAY, 1);
    body["values"]["cats"] = json!(3);
    let a = post(body).await?;
    assert_eq!(
        a.refused(422, "invalid")?.field(),
        "values.cats",
        "{}",
        a.text
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("new_confirmed"),
        "lists the fields: {}",
        a.text
    );
    let mut body = epidemic("420102", DAY, 1);
    if let Some(values) = body["values"].as_object_mut() {
        values.remove("new_deaths");
    }
    assert_eq!(
        post(body).await?.refused(422, "invalid")?.field(),
        "values.new_deaths"
    );
    // an unknown top-level field, a missing one, a wrongly typed one
    let mut body = epidemic("420102", DAY, 1);
    body["colour"] = json!("red");
    let a = post(body).await?;
    assert_eq!(a.refused(422, "bad_json")?.field(), "colour", "{}", a.text);
    let mut body = epidemic("420102", DAY, 1);
    if let Some(b) = body.as_object_mut() {
        b.remove("date");
    }
    assert_eq!(post(body).await?.refused(422, "bad_json")?.field(), "date");
    let mut body = epidemic("420102", DAY, 1);
    body["values"] = json!([1, 2]);
    assert_eq!(
        post(body).await?.refused(422, "bad_json")?.field(),
        "values"
    );
    // neither values nor zero; both
    assert_eq!(
        post(json!({"form": "epidemic", "region_code": "420102", "date": DAY}))
            .await?
            .refused(422, "invalid")?
            .field(),
        "values"
    );
    let mut body = epidemic("420102", DAY, 1);
    body["zero"] = json!(true);
    assert_eq!(post(body).await?.refused(422, "invalid")?.field(), "zero");
    // an unknown form
    let mut body = epidemic("420102", DAY, 1);
    body["form"] = json!("weather");
    assert_eq!(post(body).await?.refused(422, "invalid")?.field(), "form");

    // malformed JSON, no JSON at all
    let req = app
        .http
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{\"form\": \"epidemic\",");
    app.send(req).await?.refused(400, "bad_json")?;
    let req = app
        .http
        .post(app.url("/api/v1/reports"))
        .bearer_auth(&token)
        .body("form=epidemic");
    app.send(req).await?.refused(415, "bad_json")?;

    // a body over the 1 MiB limit
    let mut body = epidemic("420102", DAY, 1);
    body["padding"] = json!("x".repeat(1_100_000));
    // several times: the connection must stay usable (or be closed cleanly) after a 413
    for _ in 0..5 {
        app.post(t, "/api/v1/reports", &body)
            .await?
            .refused(413, "too_large")?;
    }

    // query parameters
    app.get(t, "/api/v1/figures?region=420102&date=yesterday")
        .await?
        .refused(422, "invalid")?;
    assert_eq!(
        app.get(t, "/api/v1/figures?region=420102&date=yesterday")
            .await?
            .field(),
        "date"
    );
    assert_eq!(
        app.get(t, "/api/v1/series?region=420102&from=2020-13-01")
            .await?
            .refused(422, "invalid")?
            .field(),
        "from"
    );
    assert_eq!(
        app.get(t, "/api/v1/completeness?limit=lots")
            .await?
            .refused(422, "invalid")?
            .field(),
        "limit"
    );
    assert_eq!(
        app.get(None, "/api/v1/bulletin?date=2020-1-99")
            .await?
            .refused(422, "invalid")?
            .field(),
        "date"
    );
    assert_eq!(
        app.get(None, "/api/v1/bulletin?lang=fr")
            .await?
            .refused(422, "invalid")?
            .field(),
        "lang"
    );
    app.get(None, "/api/v1/regions/429999")
        .await?
        .refused(404, "not_found")?;
    app.get(t, &format!("/api/v1/reports/epidemic/420102/{DAY}"))
        .await?
        .refused(404, "not_found")?;
    app.get(t, "/api/v1/reports/epidemic/420102/someday")
        .await?
        .refused(422, "invalid")?;

    // unknown routes and methods
    app.get(None, "/api/v1/nothing-here")
        .await?
        .refused(404, "not_found")?;
    app.send(app.http.delete(app.url("/api/v1/forms")))
        .await?
        .refused(405, "method_not_allowed")?;

    // nothing was filed by any of it
    let f = app
        .get(t, &format!("/api/v1/figures?region=420000&date={DAY}"))
        .await?;
    assert_eq!(f.ok(200)?["day"], Value::Null);

    // a zero report is a report
    let zero =
        post(json!({"form": "epidemic", "region_code": "420102", "date": DAY, "zero": true}))
            .await?;
    let zero = zero.ok(201)?;
    assert_eq!(zero["report"]["values"]["new_confirmed"], 0);
    assert_eq!(
        zero["report"]["values"].as_object().map(|m| m.len()),
        Some(8)
    );
    Ok(app)
}

/// Other values for the same day make a new version; the same values again change nothing.
async fn corrections_keep_history(app: TestApp) -> Result<TestApp> {
    let token = app.user("jiangan.cdc", Role::County, "420102").await?;
    let t = Some(token.as_str());
    app.post(t, "/api/v1/reports", &epidemic("420102", DAY, 3))
        .await?
        .ok(201)?;
    let corrected = app
        .post(t, "/api/v1/reports", &epidemic("420102", DAY, 4))
        .await?;
    let corrected = corrected.ok(200)?;
    assert_eq!(corrected["status"], "corrected");
    assert_eq!(corrected["report"]["version"], 2);
    assert_eq!(corrected["report"]["values"]["new_confirmed"], 4);

    let path = format!("/api/v1/reports/epidemic/420102/{DAY}");
    let report = app.get(t, &path).await?;
    let report = report.ok(200)?;
    let history = report["history"].as_array().cloned().unwrap_or_default();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["values"]["new_confirmed"], 3);
    assert_eq!(history[1]["values"]["new_confirmed"], 4);
    assert_eq!(report["current"]["version"], 2);
    assert_ne!(history[0]["hash"], history[1]["hash"]);

    let again = app
        .post(t, "/api/v1/reports", &epidemic("420102", DAY, 4))
        .await?;
    let again = again.ok(200)?;
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["report"]["version"], 2);
    let report = app.get(t, &path).await?;
    assert_eq!(report.ok(200)?["history"].as_array().map(Vec::len), Some(2));

    // the day's figure is the current version, once
    let f = app
        .get(t, &format!("/api/v1/figures?region=420100&date={DAY}"))
        .await;
    f?.refused(403, "forbidden")?; // the city lies above the county
    let f = app.get(t, &format!("/api/v1/figures?date={DAY}")).await?;
    let f = f.ok(200)?;
    assert_eq!(f["region"]["code"], "420102");
    assert_eq!(f["day"]["new_confirmed"], 4);

    // the export has the current version
    let csv = app
        .get(
            t,
            "/api/v1/reports/export?form=epidemic&from=2020-01-01&to=2020-01-31",
        )
        .await?;
    csv.ok(200)?;
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(
        lines[0].starts_with("region_code,date,new_confirmed,"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("420102,2020-01-25,4,"), "{}", lines[1]);
    Ok(app)
}

/// Two counties of Wuhan file; the city and the province see the sums; the
/// city's completeness counts its counties and names the missing.
async fn rollup_through_http(app: TestApp) -> Result<TestApp> {
    let jiangan = app.user("jiangan.cdc", Role::County, "420102").await?;
    let jianghan = app.user("jianghan.cdc", Role::County, "420103").await?;
    let wuhan = app.user("wuhan.health", Role::City, "420100").await?;
    let hubei = app.user("hubei.health", Role::Provincial, "420000").await?;
    app.post(
        Some(&jiangan),
        "/api/v1/reports",
        &epidemic("420102", DAY, 5),
    )
    .await?
    .ok(201)?;
    app.post(
        Some(&jianghan),
        "/api/v1/reports",
        &epidemic("420103", DAY, 7),
    )
    .await?
    .ok(201)?;
    app.post(
        Some(&jiangan),
        "/api/v1/reports",
        &epidemic("420102", "2020-01-24", 2),
    )
    .await?
    .ok(201)?;

    for (token, code) in [(&wuhan, "420100"), (&hubei, "420000"), (&hubei, "420100")] {
        let f = app
            .get(
                Some(token),
                &format!("/api/v1/figures?form=epidemic&region={code}&date={DAY}"),
            )
            .await?;
        let f = f.ok(200)?;
        assert_eq!(f["region"]["code"], code, "{f}");
        assert_eq!(f["own"], false, "{f}");
        assert_eq!(f["day"]["new_confirmed"], 12, "{f}");
        assert_eq!(f["day"]["new_suspected"], 4, "{f}");
        assert_eq!(f["day"]["current_observation"], 60, "{f}");
        assert_eq!(f["cumulative"]["new_confirmed"], 14, "{f}");
        // stock fields: the latest day's sum, not a sum over days
        assert_eq!(f["cumulative"]["current_observation"], 60, "{f}");
    }
    let province = app
        .get(
            Some(&hubei),
            &format!("/api/v1/figures?region=420000&date={DAY}"),
        )
        .await?;
    assert_eq!(province.ok(200)?["region"]["level"], "province");

    let series = app
        .get(
            Some(&wuhan),
            "/api/v1/series?form=epidemic&region=420100&from=2020-01-20&to=2020-01-31",
        )
        .await?;
    let series = series.ok(200)?.as_array().cloned().unwrap_or_default();
    let points: Vec<(String, i64)> = series
        .iter()
        .map(|p| {
            (
                p["date"].as_str().unwrap_or("").to_owned(),
                p["values"]["new_confirmed"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        points,
        [("2020-01-24".to_owned(), 2), ("2020-01-25".to_owned(), 12)]
    );

    let counties = app.service.children("420100").await?;
    ensure!(counties.len() > 2, "Wuhan has {} counties", counties.len());
    let c = app
        .get(
            Some(&wuhan),
            &format!("/api/v1/completeness?form=epidemic&region=420100&date={DAY}&limit=100"),
        )
        .await?;
    let c = c.ok(200)?;
    assert_eq!(c["expected"].as_u64(), Some(counties.len() as u64), "{c}");
    assert_eq!(c["filed"], 2, "{c}");
    let expected = counties.len() as f64;
    let completeness = c["completeness"].as_f64().unwrap_or(-1.0);
    assert!((completeness - 2.0 / expected).abs() < 1e-9, "{c}");
    // filed today for a day in 2020: both late
    assert_eq!(c["on_time"], 0, "{c}");
    let late: Vec<&str> = c["late"]
        .as_array()
        .map(|m| m.iter().filter_map(|u| u["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(late, ["420102", "420103"], "{c}");
    let missing: Vec<&str> = c["missing"]
        .as_array()
        .map(|m| m.iter().filter_map(|u| u["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(missing.len(), counties.len() - 2, "{c}");
    for county in &counties {
        let filed = ["420102", "420103"].contains(&county.code.as_str());
        assert_eq!(
            missing.contains(&county.code.as_str()),
            !filed,
            "{} in {missing:?}",
            county.code
        );
    }
    let by_child = c["by_child"].as_array().map(Vec::len);
    assert_eq!(by_child, Some(counties.len()), "{c}");

    // the province's completeness: one entry per city, the two counties filed
    let c = app
        .get(
            Some(&hubei),
            &format!("/api/v1/completeness?region=420000&date={DAY}"),
        )
        .await?;
    let c = c.ok(200)?;
    assert_eq!(c["filed"], 2, "{c}");
    let wuhan_row = c["by_child"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["code"] == "420100"))
        .cloned();
    assert_eq!(wuhan_row.map(|r| r["filed"].clone()), Some(json!(2)));
    Ok(app)
}

/// Nation-level reports imported; the bulletin words them as the commission did.
async fn bulletin_health_and_openapi(app: TestApp) -> Result<TestApp> {
    let nation = app.user("nhc.admin", Role::National, "000000").await?;
    // the national figures of 24 and 25 January 2020 (cumulative on the 25th:
    // 1975 confirmed, 56 deaths, 49 cured; 324 severe, 2684 suspected, 21556 under observation now)
    let csv = "region_code,date,new_confirmed,new_suspected,new_severe,new_deaths,new_recovered,current_severe,current_suspected,current_observation\n\
               000000,2020-01-24,1287,1965,237,41,38,237,1965,13967\n\
               000000,2020-01-25,688,1309,87,15,11,324,2684,21556\n";
    let imported = app
        .post_csv(&nation, "/api/v1/reports/import?form=epidemic", csv)
        .await?;
    let imported = imported.ok(200)?;
    assert_eq!(imported["filed"], 2, "{imported}");

    let zh = app
        .get(None, &format!("/api/v1/bulletin?date={DAY}"))
        .await?;
    let zh = zh.ok(200)?;
    assert_eq!(zh["lang"], "zh");
    assert_eq!(zh["region_code"], "000000");
    assert_eq!(zh["figures"]["cum_confirmed"], 1975);
    let text = zh["text"].as_str().unwrap_or("");
    assert!(
        text.contains("截至1月25日24时，全国累计报告确诊病例1975例，现有重症病例324例，累计死亡病例56例，累计治愈出院病例49例，现有疑似病例2684例。"),
        "{text}"
    );
    assert!(text.contains("报告新增确诊病例688例"), "{text}");
    assert!(
        text.contains("现有21556名密切接触者正在接受医学观察"),
        "{text}"
    );

    let en = app
        .get(
            None,
            &format!("/api/v1/bulletin?date={DAY}&lang=en&format=text"),
        )
        .await?;
    en.ok(200)?;
    assert!(
        en.content_type.starts_with("text/plain"),
        "{}",
        en.content_type
    );
    assert!(
        en.text.contains("As of 24:00 on January 25") && en.text.contains("1,975 confirmed"),
        "{}",
        en.text
    );
    let accept = app
        .send(
            app.http
                .get(app.url(&format!("/api/v1/bulletin?date={DAY}")))
                .header("accept", "text/plain"),
        )
        .await?;
    assert!(accept.text.starts_with("1月25日0—24时"), "{}", accept.text);

    // a province's bulletin from the same roll-up: nothing filed there
    let hubei = app
        .get(None, &format!("/api/v1/bulletin?date={DAY}&region=420000"))
        .await?;
    let hubei = hubei.ok(200)?;
    assert_eq!(hubei["region_code"], "420000");
    assert_eq!(hubei["figures"]["cum_confirmed"], 0);

    let health = app.get(None, "/healthz").await?;
    let health = health.ok(200)?;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["engine"], app.service.engine());
    assert!(["sqlite", "postgres"].contains(&app.service.engine()));

    // the README names /api/v1/openapi.json; the first path stays as an alias
    let doc = app.get(None, "/api/v1/openapi.json").await?;
    let doc = doc.ok(200)?;
    let alias = app.get(None, "/api/openapi.json").await?;
    assert_eq!(alias.ok(200)?, doc, "the alias serves the same document");
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["paths"]["/api/v1/openapi.json"].is_object());
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for p in [
        "/api/v1/sessions",
        "/api/v1/me",
        "/api/v1/reports",
        "/api/v1/reports/{form}/{region}/{date}",
        "/api/v1/reports/{form}/{region}/{date}/review",
        "/api/v1/reports/overdue-reviews",
        "/api/v1/reports/import",
        "/api/v1/reports/export",
        "/api/v1/regions",
        "/api/v1/regions/{code}",
        "/api/v1/regions/{code}/children",
        "/api/v1/forms",
        "/api/v1/forms/{name}",
        "/api/v1/figures",
        "/api/v1/series",
        "/api/v1/completeness",
        "/api/v1/bulletin",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/users",
        "/healthz",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["FileReportRequest"].is_object());

    let page = app.get(None, "/").await?;
    page.ok(200)?;
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        page.text.contains("<title>fangkong 防控</title>")
            && page.text.contains("/api/v1/bulletin")
    );
    assert!(
        !page.text.contains("http://") && !page.text.contains("https://"),
        "no external assets"
    );

    // the public reference data
    let region = app.get(None, "/api/v1/regions/420102").await?;
    let region = region.ok(200)?;
    assert_eq!(region["name"], "江岸区");
    assert_eq!(region["level"], "county");
    let lineage: Vec<&str> = region["lineage"]
        .as_array()
        .map(|l| l.iter().filter_map(|r| r["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(lineage, ["000000", "420000", "420100", "420102"]);
    let children = app.get(None, "/api/v1/regions/420100/children").await?;
    assert!(children
        .ok(200)?
        .as_array()
        .is_some_and(|c| c.iter().any(|r| r["name"] == "江汉区")));
    let found = app.get(None, "/api/v1/regions?q=江岸&under=420000").await?;
    assert!(
        found
            .ok(200)?
            .as_array()
            .is_some_and(|c| c.iter().any(|r| r["code"] == "420102")),
        "{}",
        found.text
    );
    let forms = app.get(None, "/api/v1/forms").await?;
    assert_eq!(forms.ok(200)?.as_array().map(Vec::len), Some(2));
    let grid = app.get(None, "/api/v1/forms/grid").await?;
    let grid = grid.ok(200)?;
    assert_eq!(grid["level"], "village");
    assert_eq!(grid["fields"][0]["name"], "households_visited");
    assert_eq!(grid["fields"][0]["label_zh"], "走访户数");
    assert_eq!(grid["fields"][3]["kind"], "stock");
    app.get(None, "/api/v1/forms/weather")
        .await?
        .refused(404, "not_found")?;
    Ok(app)
}

/// A file with one bad row imports nothing; with skip_bad the good rows import.
async fn csv_import_all_or_nothing(app: TestApp) -> Result<TestApp> {
    let hubei = app.user("hubei.health", Role::Provincial, "420000").await?;
    let jiangan = app.user("jiangan.cdc", Role::County, "420102").await?;
    let header = "region_code,date,new_confirmed,new_suspected,new_severe,new_deaths,new_recovered,current_severe,current_suspected,current_observation";
    let csv = format!(
        "{header}\n\
         420102,2020-01-25,5,1,0,0,0,0,1,10\n\
         420103,2020-01-25,x,1,0,0,0,0,1,10\n\
         420104,2020-01-25,7,1,0,0,0,0,1,10\n"
    );
    let figures = || {
        let url = format!("/api/v1/figures?region=420100&date={DAY}");
        let req = app.http.get(app.url(&url)).bearer_auth(&hubei);
        app.send(req)
    };
    let before = figures().await?.ok(200)?.clone();
    assert_eq!(before["day"], Value::Null);
    let audit_before = app.audit_actions().await?.len();

    let refused = app
        .post_csv(&hubei, "/api/v1/reports/import?form=epidemic", &csv)
        .await?;
    refused.refused(422, "bad_rows")?;
    let rows = refused.body["error"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rows.len(), 1, "{}", refused.text);
    assert_eq!(rows[0]["line"], 3);
    assert_eq!(rows[0]["column"], "new_confirmed");
    assert!(
        rows[0]["reason"].as_str().unwrap_or("").contains("integer"),
        "{}",
        refused.text
    );
    let after = figures().await?.ok(200)?.clone();
    assert_eq!(after["day"], Value::Null, "nothing was imported: {after}");
    assert_eq!(after["cumulative"]["new_confirmed"], 0);
    assert_eq!(
        app.audit_actions().await?.len(),
        audit_before,
        "a refused file leaves no entry"
    );

    // a county's file with a neighbour's row: that row is bad, not the county's to file
    let mine = format!(
        "{header}\n420102,2020-01-25,5,1,0,0,0,0,1,10\n420103,2020-01-25,1,1,0,0,0,0,1,10\n"
    );
    let refused = app
        .post_csv(&jiangan, "/api/v1/reports/import?form=epidemic", &mine)
        .await?;
    refused.refused(422, "bad_rows")?;
    assert_eq!(
        refused.body["error"]["rows"][0]["column"], "region_code",
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["error"]["rows"][0]["line"], 3,
        "{}",
        refused.text
    );

    // a bad header is one error, not a row error
    let bad_header = "region_code,date,colour\n420102,2020-01-25,red\n";
    let a = app
        .post_csv(&hubei, "/api/v1/reports/import?form=epidemic", bad_header)
        .await?;
    assert_eq!(a.refused(422, "invalid")?.field(), "header");
    // a file over 1 MiB is not too large for the import route: its limit is 64 MiB
    let mut big = String::from(header);
    for _ in 0..40_000 {
        big.push_str("\n420102,2020-01-25,x,1,0,0,0,0,1,10");
    }
    assert!(big.len() > 1_100_000);
    let a = app
        .post_csv(&hubei, "/api/v1/reports/import?form=epidemic", &big)
        .await?;
    a.refused(422, "bad_rows")?;
    assert_eq!(a.body["error"]["rows"].as_array().map(Vec::len), Some(1000));
    assert_eq!(a.body["error"]["rows_total"], 40_000);
    // no form
    assert_eq!(
        app.post_csv(&hubei, "/api/v1/reports/import", &csv)
            .await?
            .refused(422, "invalid")?
            .field(),
        "form"
    );

    let imported = app
        .post_csv(
            &hubei,
            "/api/v1/reports/import?form=epidemic&skip_bad=true",
            &csv,
        )
        .await?;
    let imported = imported.ok(200)?;
    assert_eq!(imported["rows"], 2, "{imported}");
    assert_eq!(imported["filed"], 2, "{imported}");
    assert_eq!(imported["skipped"], 1, "{imported}");
    assert_eq!(imported["bad"][0]["line"], 3, "{imported}");
    let after = figures().await?.ok(200)?.clone();
    assert_eq!(after["day"]["new_confirmed"], 12, "{after}");
    assert_eq!(after["day"]["current_observation"], 20, "{after}");
    let actions = app.audit_actions().await?;
    assert_eq!(actions.len(), audit_before + 1);
    assert_eq!(actions[0], "report.import");

    // the same file again: nothing changes
    let again = app
        .post_csv(
            &hubei,
            "/api/v1/reports/import?form=epidemic&skip_bad=true",
            &csv,
        )
        .await?;
    let again = again.ok(200)?;
    assert_eq!(again["unchanged"], 2, "{again}");
    assert_eq!(again["filed"], 0, "{again}");
    let report = app
        .get(
            Some(&hubei),
            &format!("/api/v1/reports/epidemic/420104/{DAY}"),
        )
        .await?;
    let report = report.ok(200)?;
    assert_eq!(report["history"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["current"]["source"], "import");
    Ok(app)
}

/// Rt, risk and alerts through the API, each in the caller's jurisdiction:
/// a county acknowledges and closes its own alert, a neighbour cannot.
async fn analytics_for_the_dashboard(app: TestApp) -> Result<TestApp> {
    let national = app.user("nation", Role::National, "000000").await?;
    let jiangan = app.user("jiangan", Role::County, "420102").await?;
    let jianghan = app.user("jianghan", Role::County, "420103").await?;
    // Three weeks of a growing outbreak in 江岸区, then a jump.
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).ok_or_else(|| anyhow!("date"))?;
    for i in 0..22 {
        let n = if i == 21 { 90 } else { 2 + i / 2 };
        let date = (start + chrono::Duration::days(i)).to_string();
        app.post(
            Some(&jiangan),
            "/api/v1/reports",
            &epidemic("420102", &date, n),
        )
        .await?
        .ok(201)?;
    }
    let rt = app
        .get(
            Some(&jiangan),
            "/api/v1/analytics/rt?region=420102&from=2020-01-15&to=2020-01-22",
        )
        .await?;
    let rows = rt
        .ok(200)?
        .as_array()
        .ok_or_else(|| anyhow!("{}", rt.text))?;
    ensure!(rows.len() == 8, "{}", rt.text);
    ensure!(
        rows[7]["date"] == "2020-01-22" && rows[7]["mean"].as_f64() > Some(1.0),
        "{}",
        rt.text
    );
    app.get(Some(&jianghan), "/api/v1/analytics/rt?region=420102")
        .await?
        .refused(403, "forbidden")?;
    let half = app
        .get(
            Some(&jiangan),
            "/api/v1/analytics/rt?region=420102&si_mean=4.7",
        )
        .await?;
    half.refused(422, "invalid")?;
    ensure!(half.field() == "si_sd", "{}", half.text);

    let run = app
        .post(
            Some(&national),
            "/api/v1/analytics/alerts/run",
            &json!({"date": "2020-01-22"}),
        )
        .await?;
    ensure!(run.ok(200)?["raised"].as_u64() > Some(0), "{}", run.text);
    let mine = app
        .get(Some(&jiangan), "/api/v1/analytics/alerts?status=open")
        .await?;
    let list = mine
        .ok(200)?
        .as_array()
        .ok_or_else(|| anyhow!("{}", mine.text))?;
    ensure!(
        !list.is_empty() && list.iter().all(|a| a["region_code"] == "420102"),
        "{}",
        mine.text
    );
    let id = list[0]["id"].as_i64().ok_or_else(|| anyhow!("no id"))?;
    let theirs = app.get(Some(&jianghan), "/api/v1/analytics/alerts").await?;
    ensure!(
        theirs.ok(200)?.as_array().map(Vec::len) == Some(0),
        "{}",
        theirs.text
    );
    app.post(
        Some(&jianghan),
        &format!("/api/v1/analytics/alerts/{id}/close"),
        &json!({"verdict": "false_alarm"}),
    )
    .await?
    .refused(404, "not_found")?;
    app.post(
        Some(&jiangan),
        &format!("/api/v1/analytics/alerts/{id}/close"),
        &json!({"verdict": "maybe"}),
    )
    .await?
    .refused(422, "invalid")?;
    let closed = app
        .post(
            Some(&jiangan),
            &format!("/api/v1/analytics/alerts/{id}/close"),
            &json!({"verdict": "true_signal", "note": "family cluster"}),
        )
        .await?;
    ensure!(
        closed.ok(200)?["status"] == "closed" && closed.body["verdict"] == "true_signal",
        "{}",
        closed.text
    );
    app.post(
        Some(&jiangan),
        &format!("/api/v1/analytics/alerts/{id}/close"),
        &json!({"verdict": "true_signal"}),
    )
    .await?
    .refused(409, "conflict")?;

    app.service
        .assess_risk(
            &app.system,
            "420100",
            start,
            start + chrono::Duration::days(21),
        )
        .await?;
    let risk = app
        .get(
            Some(&national),
            "/api/v1/analytics/risk?region=420100&date=2020-01-22",
        )
        .await?;
    let body = risk.ok(200)?;
    ensure!(
        body["medium"] == 1 && body["high"] == 0 && body["low"].as_u64() == Some(12),
        "{}",
        risk.text
    );
    ensure!(
        body["counties"].as_array().map(Vec::len) == Some(13),
        "{}",
        risk.text
    );
    let county = body["counties"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["code"] == "420102"))
        .ok_or_else(|| anyhow!("{}", risk.text))?;
    ensure!(
        county["level"] == "medium" && county["label_zh"] == "中风险",
        "{}",
        risk.text
    );
    let doc = app.get(None, "/api/openapi.json").await?;
    ensure!(
        doc.ok(200)?["paths"]["/api/v1/analytics/rt"].is_object(),
        "rt is documented"
    );
    Ok(app)
}
