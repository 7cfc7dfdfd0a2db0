//! Limits on expensive work: while heavy requests hold every permit,
//! `/healthz` and the public page answer at once; one caller cannot run two
//! heavy requests at a time; anonymous public answers are cached until a
//! publication. Engine-independent (the limits live in the server), so on
//! SQLite only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use serde_json::json;

use fangkong_domain::user::Role;
use fangkong_server::limits::Limits;
use fangkong_server::{serve, AppState};
use fangkong_service::{Service, Settings};

const PASSWORD: &str = "correct horse battery";

struct App {
    base: String,
    http: reqwest::Client,
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn app(limits: Limits) -> Result<App> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = fangkong_store_sqlite::SqliteStore::connect(&url).await?;
    let service = Arc::new(Service::open(Arc::new(store), Settings::default()).await?);
    let system = service.system().await?;
    for (name, role, region) in [
        ("nation", Role::National, "000000"),
        ("wuhan", Role::City, "420100"),
    ] {
        service
            .add_user(&system, name, name, role, region, PASSWORD)
            .await?;
    }
    let state = AppState {
        service,
        limits: Arc::new(limits),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(listener, state.clone(), std::future::pending()));
    Ok(App {
        base,
        http: reqwest::Client::new(),
        state,
        _dir: dir,
    })
}

impl App {
    async fn token(&self, username: &str) -> Result<String> {
        let res = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await?;
        let body: serde_json::Value = res.json().await?;
        Ok(body["token"].as_str().unwrap_or_default().to_owned())
    }

    fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let req = self.http.get(format!("{}{path}", self.base));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }
}

const EXPORT: &str =
    "/api/v1/reports/export?form=epidemic&region=420100&from=2020-01-01&to=2020-03-31";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_work_waits_its_turn_and_light_work_does_not() -> Result<()> {
    let app = app(Limits::new(1, Duration::from_millis(800))).await?;
    let wuhan = app.token("wuhan").await?;
    let nation = app.token("nation").await?;
    // an export alone goes through
    let alone = app.get(EXPORT, Some(&wuhan)).send().await?;
    ensure!(alone.status() == 200, "{}", alone.status());

    // every permit taken (as by long exports): the next export waits, then is told to come back
    let permits = app.state.limits.heavy_permits();
    let held = permits.acquire().await?;
    let started = Instant::now();
    let waiting = tokio::spawn(app.get(EXPORT, Some(&wuhan)).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // … while the same user's second heavy request is refused at once
    let second = app.get(EXPORT, Some(&wuhan)).send().await?;
    ensure!(
        second.status() == 429,
        "second heavy request: {}",
        second.status()
    );
    ensure!(
        second.headers().contains_key("retry-after"),
        "no Retry-After"
    );
    // another user's heavy request waits its turn as well, but light work answers at once
    for path in [
        "/healthz",
        "/api/v1/bulletin?date=2020-01-25",
        "/api/v1/regions/420100",
    ] {
        let t = Instant::now();
        let res = app.get(path, None).send().await?;
        ensure!(res.status() == 200, "{path}: {}", res.status());
        ensure!(
            t.elapsed() < Duration::from_millis(700),
            "{path} waited {:?}",
            t.elapsed()
        );
    }
    let figures = app
        .get(
            "/api/v1/figures?form=epidemic&region=420100&date=2020-01-25",
            Some(&nation),
        )
        .send()
        .await?;
    ensure!(figures.status() == 200, "figures: {}", figures.status());
    let waited = waiting.await??;
    ensure!(
        waited.status() == 503,
        "waiting export: {}",
        waited.status()
    );
    ensure!(
        waited.headers().contains_key("retry-after"),
        "no Retry-After"
    );
    ensure!(
        started.elapsed() >= Duration::from_millis(800),
        "gave up after {:?}",
        started.elapsed()
    );
    let body: serde_json::Value = waited.json().await?;
    ensure!(body["error"]["code"] == "busy", "{body}");
    // the permit back: heavy work goes on, and the user's count came back down
    drop(held);
    let after = app.get(EXPORT, Some(&wuhan)).send().await?;
    ensure!(after.status() == 200, "after: {}", after.status());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_answers_are_cached_until_a_publication() -> Result<()> {
    let app = app(Limits::default()).await?;
    let nation = app.token("nation").await?;
    let path = "/api/v1/bulletin?date=2020-01-25&lang=en";
    let cache = |res: &reqwest::Response| {
        res.headers()
            .get("x-cache")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let first = app.get(path, None).send().await?;
    let first_cache = cache(&first);
    let first_body = first.text().await?;
    // a report filed now shows after the next publication (or the TTL), not before
    let form: serde_json::Value = app
        .get("/api/v1/forms/epidemic", None)
        .send()
        .await?
        .json()
        .await?;
    let mut values = serde_json::Map::new();
    for f in form["fields"].as_array().into_iter().flatten() {
        let name = f["name"].as_str().unwrap_or_default().to_owned();
        let n = if name == "new_confirmed" { 7 } else { 0 };
        values.insert(name, json!(n));
    }
    let filed = app
        .http
        .post(format!("{}/api/v1/reports", app.base))
        .bearer_auth(&nation)
        .json(&json!({"form": "epidemic", "region_code": "420102", "date": "2020-01-25", "values": values}))
        .send()
        .await?;
    ensure!(filed.status().is_success(), "file: {}", filed.text().await?);
    let second = app.get(path, None).send().await?;
    ensure!(
        first_cache == "miss" && cache(&second) == "hit",
        "{first_cache}, {}",
        cache(&second)
    );
    ensure!(second.text().await? == first_body, "a hit answers the same");
    // signed-in callers are not served from the cache
    let signed = app.get(path, Some(&nation)).send().await?;
    ensure!(cache(&signed).is_empty(), "signed in: {}", cache(&signed));
    // a publication drops the kept answers
    let published = app
        .http
        .post(format!("{}/api/v1/publications", app.base))
        .bearer_auth(&nation)
        .json(&json!({"date": "2020-01-25"}))
        .send()
        .await?;
    ensure!(
        published.status().is_success(),
        "publish: {}",
        published.text().await?
    );
    let third = app.get(path, None).send().await?;
    ensure!(
        cache(&third) == "miss",
        "after publishing: {}",
        cache(&third)
    );
    ensure!(third.text().await? != first_body, "the new figures show");
    // another format of the same path is kept apart
    let text = app
        .get(path, None)
        .header("accept", "text/plain")
        .send()
        .await?;
    ensure!(cache(&text) == "miss", "text/plain: {}", cache(&text));
    let text = text.text().await?;
    ensure!(text.contains("As of 24:00 on January 25"), "{text}");
    Ok(())
}
