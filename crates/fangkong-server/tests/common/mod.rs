//! What every HTTP test file shares: the real server on 127.0.0.1:0 over a
//! fresh store (SQLite in a temporary directory, or a fresh PostgreSQL
//! database — skipped, loudly, when no server can be reached outside CI),
//! requests and answers, and `on_both_engines!`, which runs each scenario on
//! both engines.

#![allow(dead_code)] // each test file uses its part

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
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A running server over a fresh store.
pub struct TestApp {
    pub base: String,
    /// The database the server runs on, for a second server or service on it.
    pub database_url: String,
    pub http: reqwest::Client,
    pub service: Arc<Service>,
    pub system: Principal,
    pub shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

pub const PASSWORD: &str = "correct horse battery";

pub async fn spawn_app(engine: Engine) -> Result<Option<TestApp>> {
    let (store, dir, database_url): (Arc<dyn Store>, _, _) = match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            (
                Arc::new(fangkong_store_sqlite::SqliteStore::connect(&url).await?),
                Some(dir),
                url,
            )
        }
        Engine::Postgres => {
            let Some(url) = fangkong_store_postgres::testing::fresh_database().await else {
                return Ok(None);
            };
            (
                Arc::new(fangkong_store_postgres::PgStore::connect(&url).await?),
                None,
                url,
            )
        }
    };
    let service = Arc::new(Service::open(store, Settings::default()).await?);
    let system = service.system().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::new(service.clone());
    let server = tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    Ok(Some(TestApp {
        base,
        database_url,
        http: reqwest::Client::new(),
        service,
        system,
        shutdown: Some(tx),
        server: Some(server),
        _dir: dir,
    }))
}

/// An answer: status and JSON body (`Value::Null` when the body is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub content_type: String,
    pub etag: String,
    /// The `Retry-After` header in seconds, when there is one.
    pub retry_after: Option<u64>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
    pub fn rule(&self) -> &str {
        self.body["error"]["rule"].as_str().unwrap_or("")
    }
    /// Refuses with `status` and error `code`, in the API's JSON error shape.
    pub fn refused(&self, status: u16, code: &str) -> Result<&Self> {
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
    /// Refused as invalid (422), naming `field`.
    pub fn invalid(&self, field: &str) -> Result<&Self> {
        self.refused(422, "invalid")?;
        ensure!(
            self.field() == field,
            "expected field {field}: {}",
            self.text
        );
        Ok(self)
    }
    /// Refused by a rule of a state machine (422), naming the field and the rule.
    pub fn broke(&self, field: &str, rule: &str) -> Result<&Self> {
        self.invalid(field)?;
        ensure!(self.rule() == rule, "expected rule {rule}: {}", self.text);
        Ok(self)
    }
    pub fn ok(&self, status: u16) -> Result<&Value> {
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
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Answer> {
        let res = req.send().await?;
        let status = res.status();
        let header = |name: reqwest::header::HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let retry_after = header(reqwest::header::RETRY_AFTER).parse().ok();
        let text = res.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            text,
            content_type,
            etag,
            retry_after,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Result<Answer> {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn post(&self, token: Option<&str>, path: &str, body: &Value) -> Result<Answer> {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn delete(&self, token: Option<&str>, path: &str) -> Result<Answer> {
        let mut req = self.http.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn put(&self, token: Option<&str>, path: &str, body: &Value) -> Result<Answer> {
        let mut req = self.http.put(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// A second service over the same database: another server's view.
    pub async fn second_service(&self) -> Result<Service> {
        let store: Arc<dyn Store> = if self.database_url.starts_with("sqlite:") {
            Arc::new(fangkong_store_sqlite::SqliteStore::connect(&self.database_url).await?)
        } else {
            Arc::new(fangkong_store_postgres::PgStore::connect(&self.database_url).await?)
        };
        Ok(Service::open(store, Settings::default()).await?)
    }

    pub async fn post_csv(&self, token: &str, path: &str, csv: &str) -> Result<Answer> {
        let req = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv.to_owned());
        self.send(req).await
    }

    /// A facility user works for a site named after it (`<username> hospital`).
    pub async fn add_user(&self, username: &str, role: Role, region: &str) -> Result<()> {
        let site = format!("{username} hospital");
        let site = (role == Role::Facility).then_some(site.as_str());
        self.service
            .add_user_at_site(
                &self.system,
                username,
                username,
                role,
                region,
                site,
                PASSWORD,
            )
            .await?;
        Ok(())
    }

    /// Log in through the API; the token.
    pub async fn login(&self, username: &str) -> Result<String> {
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
    pub async fn user(&self, username: &str, role: Role, region: &str) -> Result<String> {
        self.add_user(username, role, region).await?;
        self.login(username).await
    }

    pub async fn audit_actions(&self) -> Result<Vec<String>> {
        let entries = self.service.audit_recent(&self.system, None, 1000).await?;
        Ok(entries.into_iter().map(|e| e.action).collect())
    }

    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await??;
        }
        Ok(())
    }
}

pub async fn run<F, Fut>(engine: Engine, scenario: F) -> Result<()>
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

/// Runs each scenario (an `async fn(TestApp) -> Result<TestApp>` of the
/// test file) as a test on SQLite and one on PostgreSQL.
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
