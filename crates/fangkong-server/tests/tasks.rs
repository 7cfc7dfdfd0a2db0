//! Directives, the tip line and the task list over HTTP, on both engines:
//! a province directs two cities and sees who has not answered; a county
//! cannot answer for another; a public tip becomes a task of its county,
//! rate limited and spam-guarded, and its contact never appears in a public
//! answer.

#![allow(dead_code)] // the harness is shared in shape with tests/http.rs

use std::sync::Arc;

use anyhow::{anyhow, ensure, Context, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use fangkong_domain::user::Role;
use fangkong_server::{serve, AppState};
use fangkong_service::{Principal, Service, Settings};
use fangkong_store::Store;

#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

/// A running server over a fresh store.
struct TestApp {
    base: String,
    http: reqwest::Client,
    service: Arc<Service>,
    system: Principal,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

const PASSWORD: &str = "correct horse battery";

async fn spawn_app(engine: Engine) -> Result<Option<TestApp>> {
    let (store, dir): (Arc<dyn Store>, _) = match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            (
                Arc::new(fangkong_store_sqlite::SqliteStore::connect(&url).await?),
                Some(dir),
            )
        }
        Engine::Postgres => {
            let Some(url) = fangkong_store_postgres::testing::fresh_database().await else {
                return Ok(None);
            };
            (
                Arc::new(fangkong_store_postgres::PgStore::connect(&url).await?),
                None,
            )
        }
    };
    let service = Arc::new(Service::open(store, Settings::default()).await?);
    let system = service.system().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState {
        service: service.clone(),
    };
    let server = tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    Ok(Some(TestApp {
        base,
        http: reqwest::Client::new(),
        service,
        system,
        shutdown: Some(tx),
        server: Some(server),
        _dir: dir,
    }))
}

/// An answer: status and JSON body (`Value::Null` when the body is not JSON).
struct Answer {
    status: StatusCode,
    body: Value,
    text: String,
    content_type: String,
    retry_after: Option<u64>,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
    /// Refuses with `status` and error `code`, in the API's JSON error shape.
    fn refused(&self, status: u16, code: &str) -> Result<&Self> {
        ensure!(
            self.status.as_u16() == status,
            "expected {status}, got {}: {}",
            self.status,
            self.text
        );
        ensure!(
            self.content_type.starts_with("application/json"),
            "error is not JSON: {}",
            self.content_type
        );
        ensure!(self.code() == code, "expected code {code}: {}", self.text);
        ensure!(
            self.body["error"]["message"].is_string(),
            "no message: {}",
            self.text
        );
        Ok(self)
    }
    fn ok(&self, status: u16) -> Result<&Value> {
        ensure!(
            self.status.as_u16() == status,
            "expected {status}, got {}: {}",
            self.status,
            self.text
        );
        Ok(&self.body)
    }
}

impl TestApp {
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Answer> {
        let res = req.send().await?;
        let status = res.status();
        let content_type = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = res.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            text,
            content_type,
            retry_after,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, token: Option<&str>, path: &str) -> Result<Answer> {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    async fn post(&self, token: Option<&str>, path: &str, body: &Value) -> Result<Answer> {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    async fn post_csv(&self, token: &str, path: &str, csv: &str) -> Result<Answer> {
        let req = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv.to_owned());
        self.send(req).await
    }

    async fn add_user(&self, username: &str, role: Role, region: &str) -> Result<()> {
        self.service
            .add_user(&self.system, username, username, role, region, PASSWORD)
            .await?;
        Ok(())
    }

    /// Log in through the API; the token.
    async fn login(&self, username: &str) -> Result<String> {
        let a = self
            .post(
                None,
                "/api/v1/sessions",
                &json!({"username": username, "password": PASSWORD}),
            )
            .await?;
        let body = a.ok(201)?;
        ensure!(body["user"]["username"] == username, "{}", a.text);
        body["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no token: {}", a.text))
    }

    /// A user of `role` at `region`, logged in.
    async fn user(&self, username: &str, role: Role, region: &str) -> Result<String> {
        self.add_user(username, role, region).await?;
        self.login(username).await
    }

    async fn audit_actions(&self) -> Result<Vec<String>> {
        let entries = self.service.audit_recent(&self.system, None, 1000).await?;
        Ok(entries.into_iter().map(|e| e.action).collect())
    }

    async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        Ok(())
    }
}

/// Runs `scenario` on a fresh server over `engine`; skips PostgreSQL when there is none.
async fn run<F, Fut>(engine: Engine, scenario: F) -> Result<()>
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = Result<TestApp>>,
{
    let Some(app) = spawn_app(engine)
        .await
        .with_context(|| format!("starting on {engine:?}"))?
    else {
        return Ok(());
    };
    let app = scenario(app)
        .await
        .with_context(|| format!("on {engine:?}"))?;
    app.stop().await
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::run(super::Engine::Sqlite, super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() -> anyhow::Result<()> {
                    super::run(super::Engine::Postgres, super::$name).await
                }
            )*
        }
    };
}

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
