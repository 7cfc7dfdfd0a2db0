//! Limits on expensive work, so that one account cannot take the server
//! down and the public page and `/healthz` keep answering while exports run.
//!
//! - Heavy routes ([`HEAVY`]: exports, imports, open data, the audit
//!   verification, the alert run, the overdue reviews, the line list's
//!   figures) share a few permits ([`Limits::heavy`], fewer than the
//!   storage's read connections): a heavy request waits a while for one,
//!   then is told to come back (503 with `Retry-After`). Light requests never
//!   wait for them.
//! - Each caller (a user, or an address when not signed in) has at most
//!   [`PER_CALLER`] heavy requests in flight; one more is refused at once
//!   (429 with `Retry-After`).
//! - Heavy requests run under their own time limit ([`HEAVY_TIMEOUT`]).
//!
//! Anonymous public answers are cached ([`PublicCache`]) and dropped when a
//! release is published.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Auth;
use crate::AppState;

/// The routes whose work grows with the size of the country.
pub const HEAVY: &[(&str, &str)] = &[
    ("GET", "/api/v1/reports/export"),
    ("POST", "/api/v1/reports/import"),
    ("GET", "/api/v1/reports/overdue-reviews"),
    ("GET", "/api/v1/public/open-data.csv"),
    ("GET", "/api/v1/public/open-data.json"),
    ("GET", "/api/v1/audit/verify"),
    ("POST", "/api/v1/analytics/alerts/run"),
    ("GET", "/api/v1/line-list/figures"),
    ("GET", "/api/v1/line-list/mismatches"),
    ("GET", "/api/v1/persons/candidates"),
];

/// Heavy requests one caller may have in flight.
pub const PER_CALLER: usize = 1;
/// How long a heavy request waits for a permit before it is told to come back.
pub const HEAVY_WAIT: Duration = Duration::from_secs(10);
/// How long a heavy request may run (imports have their own, longer limit).
pub const HEAVY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long an anonymous public answer is kept (a publication drops it sooner).
pub const PUBLIC_TTL: Duration = Duration::from_secs(30);
/// Public answers kept at most (the oldest goes first).
const PUBLIC_ENTRIES: usize = 2_000;

fn is_heavy(method: &Method, route: &str) -> bool {
    HEAVY
        .iter()
        .any(|(m, r)| *r == route && method.as_str() == *m)
}

/// The server's limits: permits for heavy work, who holds how many, and the
/// public cache.
pub struct Limits {
    heavy: Arc<Semaphore>,
    /// How long a heavy request waits for a permit ([`HEAVY_WAIT`]).
    wait: Duration,
    in_flight: Mutex<HashMap<String, usize>>,
    pub public: PublicCache,
}

impl Limits {
    /// `heavy`: heavy requests at once, for the whole server (at least 1);
    /// `wait`: how long one waits for its turn.
    pub fn new(heavy: usize, wait: Duration) -> Limits {
        Limits {
            heavy: Arc::new(Semaphore::new(heavy.max(1))),
            wait,
            in_flight: Mutex::new(HashMap::new()),
            public: PublicCache::default(),
        }
    }

    /// The permits of heavy work (tests hold them to see who waits).
    pub fn heavy_permits(&self) -> Arc<Semaphore> {
        Arc::clone(&self.heavy)
    }

    /// Count a heavy request of `caller`; `None` when it has its share running.
    fn enter(self: &Arc<Self>, caller: &str) -> Option<CallerSlot> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(caller.to_owned()).or_insert(0);
        if *n >= PER_CALLER {
            return None;
        }
        *n += 1;
        Some(CallerSlot {
            limits: Arc::clone(self),
            caller: caller.to_owned(),
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        // fewer than SQLite's four read connections, so light reads always find one
        Limits::new(2, HEAVY_WAIT)
    }
}

/// A caller's heavy request in flight; counted down when dropped.
struct CallerSlot {
    limits: Arc<Limits>,
    caller: String,
}

impl Drop for CallerSlot {
    fn drop(&mut self) {
        let mut map = self
            .limits
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.caller) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.caller);
            }
        }
    }
}

fn busy(status: StatusCode, code: &str, message: &str, retry_after: u64) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    res
}

/// Who is calling, for the per-caller count: the user the policy gate
/// found, else the client's address.
fn caller(req: &Request) -> String {
    if let Some(Auth(who)) = req.extensions().get::<Auth>() {
        return format!("user:{}", who.username);
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "address:?".to_owned(),
            |c| format!("address:{}", c.0.ip()),
        )
}

/// The middleware: heavy routes take a caller slot and a permit, and run
/// under [`HEAVY_TIMEOUT`]; anonymous public GETs go through the cache.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(route) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    if is_heavy(&method, &route) {
        return heavy(&state, req, next).await;
    }
    let light = async {
        if method == Method::GET
            && PublicCache::caches(&route)
            && !req.headers().contains_key(header::AUTHORIZATION)
        {
            state.limits.public.serve(&state, req, next).await
        } else {
            next.run(req).await
        }
    };
    match tokio::time::timeout(crate::REQUEST_TIMEOUT, light).await {
        Ok(res) => res,
        Err(_) => busy(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long and was stopped",
            5,
        ),
    }
}

async fn heavy(state: &AppState, req: Request, next: Next) -> Response {
    let limits = &state.limits;
    let who = caller(&req);
    let Some(_slot) = limits.enter(&who) else {
        return busy(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "you have a heavy request (an export, an import, a verification) running; wait for it to finish",
            5,
        );
    };
    let permit: OwnedSemaphorePermit =
        match tokio::time::timeout(limits.wait, Arc::clone(&limits.heavy).acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => {
                return busy(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server is busy with other exports and imports; try again shortly",
                    10,
                )
            }
        };
    let timeout = if req.method() == Method::POST && req.uri().path().ends_with("/import") {
        crate::IMPORT_TIMEOUT
    } else {
        HEAVY_TIMEOUT
    };
    let res = match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => busy(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long and was stopped; narrow the region or the period",
            30,
        ),
    };
    drop(permit);
    res
}

/// One kept answer.
#[derive(Clone)]
struct Kept {
    at: Instant,
    generation: u64,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// Anonymous answers of the public routes, by path and query. An entry
/// lives [`PUBLIC_TTL`] at most and is dropped when a release is published
/// through this server (the service's publication generation moves); other
/// servers of the same database catch up within the TTL.
#[derive(Default)]
pub struct PublicCache {
    entries: Mutex<HashMap<String, Kept>>,
}

/// The public routes whose anonymous answers are cached.
const CACHED: &[&str] = &[
    "/api/v1/bulletin",
    "/api/v1/public/series",
    "/api/v1/public/regions",
    "/api/v1/public/releases",
    "/api/v1/public/releases/{date}/{region}/versions/{version}",
    "/api/v1/public/errata",
    "/api/v1/public/open-data.csv",
    "/api/v1/public/open-data.json",
];

/// The largest answer kept.
const MAX_KEPT: usize = 4 * 1024 * 1024;

impl PublicCache {
    fn caches(route: &str) -> bool {
        CACHED.contains(&route)
    }

    fn get(&self, key: &str, generation: u64) -> Option<Kept> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|k| k.generation == generation && k.at.elapsed() < PUBLIC_TTL)
            .cloned()
    }

    fn put(&self, key: String, kept: Kept) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PUBLIC_ENTRIES {
            map.retain(|_, k| k.generation == kept.generation && k.at.elapsed() < PUBLIC_TTL);
            if map.len() >= PUBLIC_ENTRIES {
                if let Some(oldest) = map.iter().min_by_key(|(_, k)| k.at).map(|(k, _)| k.clone()) {
                    map.remove(&oldest);
                }
            }
        }
        map.insert(key, kept);
    }

    /// How many answers are kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn serve(&self, state: &AppState, req: Request, next: Next) -> Response {
        let key = cache_key(&req);
        let generation = state.service.publication_generation();
        if let Some(k) = self.get(&key, generation) {
            let mut res = Response::new(Body::from(k.body));
            *res.status_mut() = k.status;
            *res.headers_mut() = k.headers;
            res.headers_mut()
                .insert("x-cache", HeaderValue::from_static("hit"));
            return res;
        }
        let res = next.run(req).await;
        if res.status() != StatusCode::OK {
            return res;
        }
        let (parts, body) = res.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_KEPT).await else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "answer too large").into_response();
        };
        self.put(
            key,
            Kept {
                at: Instant::now(),
                generation,
                status: parts.status,
                headers: parts.headers.clone(),
                body: bytes.clone(),
            },
        );
        let mut res = Response::from_parts(parts, Body::from(bytes));
        res.headers_mut()
            .insert("x-cache", HeaderValue::from_static("miss"));
        res
    }
}

/// The answer depends on the path, the query, and the negotiated format and language.
fn cache_key(req: &Request) -> String {
    let header = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    format!(
        "{}\n{}\n{}",
        req.uri(),
        header(header::ACCEPT),
        header(header::ACCEPT_LANGUAGE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_has_one_heavy_request_at_a_time() {
        let limits = Arc::new(Limits::new(2, HEAVY_WAIT));
        let first = limits.enter("user:a").expect("first");
        assert!(limits.enter("user:a").is_none(), "a second one is refused");
        let other = limits.enter("user:b").expect("another caller");
        drop(first);
        assert!(limits.enter("user:a").is_some(), "free again");
        drop(other);
        assert!(limits
            .in_flight
            .lock()
            .map(|m| m.values().all(|n| *n <= 1))
            .unwrap_or(false));
    }

    #[test]
    fn heavy_routes_are_known_by_method_and_route() {
        assert!(is_heavy(&Method::GET, "/api/v1/reports/export"));
        assert!(!is_heavy(&Method::GET, "/api/v1/bulletin"));
        assert!(!is_heavy(&Method::GET, "/api/v1/reports/import"));
    }
}
