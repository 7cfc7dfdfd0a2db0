//! # fangkong-server
//!
//! The HTTP JSON API of fangkong over [`fangkong_service::Service`], its
//! OpenAPI document, and a small public page.
//!
//! ## Layout
//!
//! - [`app`] builds the router, [`serve`] runs it on a listener until a
//!   shutdown signal (tests bind port 0);
//! - [`error`]: [`error::ApiError`], the one error type, and its JSON shape;
//! - [`auth`]: the [`auth::Auth`] extractor (bearer tokens);
//! - [`extract`]: axum's extractors with this API's rejections;
//! - [`api`]: one module per feature, each with its request and response
//!   types and `pub fn router()`;
//! - [`openapi`]: the OpenAPI 3 document, generated from the handlers;
//! - [`ui`]: the web UI built from `web/` and embedded (`build.rs`), and
//!   the few routes its pages need.
//!
//! Invariants:
//! - request and response types live here; domain and store types are never
//!   serialized directly, so their shape can change without changing the API;
//! - every route is in [`policy::ROUTES`] with the action it performs, and
//!   [`policy::authorize`] refuses a role the policy table gives no grant
//!   (a route not in the table is refused); jurisdiction and scope are
//!   checked by the service: a handler passes the caller's principal and
//!   maps the outcome;
//! - nothing here panics on input, and nothing here logs a request body, a
//!   token or a password;
//! - every answer carries the security headers ([`SECURITY_HEADERS`]) and,
//!   unless its handler chose otherwise for public data, `Cache-Control:
//!   no-store`; an answer to a request with credentials is always
//!   `no-store`, whatever its handler said.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod policy;
pub mod ui;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use fangkong_service::Service;

use crate::error::ApiError;

/// The largest JSON body accepted.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;
/// The largest file accepted by an import route.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// How long an ordinary request may take (heavy ones: [`limits::HEAVY_TIMEOUT`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a file import may take.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    /// Permits for heavy work and the public cache ([`limits`]).
    pub limits: Arc<limits::Limits>,
}

impl AppState {
    pub fn new(service: Arc<Service>) -> AppState {
        AppState {
            service,
            limits: Arc::default(),
        }
    }
}

/// The whole application: the API, its OpenAPI document, the web UI.
pub fn app(state: AppState) -> Router {
    let json_api = Router::new()
        .merge(api::health::router())
        .merge(api::sessions::router())
        .merge(api::regions::router())
        .merge(api::forms::router())
        .merge(api::reports::router())
        .merge(api::rollup::router())
        .merge(api::bulletin::router())
        .merge(api::publications::router())
        .merge(api::analytics::router())
        .merge(api::tasks::router())
        .merge(api::line_list::router())
        .merge(api::audit::router())
        .merge(api::users::router())
        .merge(openapi::router())
        .merge(api::page::router())
        .merge(ui::router())
        // the gate first (outermost), then the limits, which know the caller
        .route_layer(middleware::from_fn_with_state(state.clone(), limits::limit))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            policy::authorize,
        ))
        .layer(RequestBodyLimitLayer::new(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(json_length))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits::HEAVY_TIMEOUT,
        ));
    // file imports have their own, larger limits
    let imports = api::reports::import_router()
        .route_layer(middleware::from_fn_with_state(state.clone(), limits::limit))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            policy::authorize,
        ))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(IMPORT_BODY_LIMIT))
        .layer(middleware::from_fn(import_length))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            IMPORT_TIMEOUT,
        ));

    let mut app = Router::new()
        .merge(json_api)
        .merge(imports)
        .fallback(unknown_route)
        .layer(middleware::from_fn(json_errors));
    // outside `json_errors`, so that the errors of the layers carry them too
    for (name, value) in SECURITY_HEADERS {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app.layer(middleware::from_fn(private_when_signed_in))
        .layer(
            TraceLayer::new_for_http()
                // the path only: no query string, no headers (tokens), no bodies
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_millis() as u64, "answered");
                })
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .with_state(state)
}

/// What a JSON (or CSV, or error) answer may load or be framed by: nothing.
/// The web UI's pages set their own policy ([`ui::CONTENT_SECURITY_POLICY`]).
pub const API_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The headers every answer carries, where its handler has not set them:
/// no MIME sniffing, no framing, no referrer, a policy that allows nothing,
/// and not stored by any cache (personal data must not linger in a shared
/// proxy or the browser's cache; public routes may choose a short cache).
pub const SECURITY_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CONTENT_SECURITY_POLICY, API_CONTENT_SECURITY_POLICY),
    (header::CACHE_CONTROL, "no-store"),
];

/// An answer to a request that carries credentials is personal: never
/// stored, whatever its handler said.
async fn private_when_signed_in(req: Request, next: Next) -> Response {
    let signed_in = req.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(req).await;
    if signed_in {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Run the application on `listener` until `shutdown` completes, then finish
/// the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, engine = state.service.engine(), "serving");
    }
    // the peer's address: the tip line's rate limit counts per client
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The most of an oversized JSON body read and thrown away before answering 413.
const DRAIN_LIMIT: usize = 4 * JSON_BODY_LIMIT;

/// Refuse a body whose declared length is over `limit` before any handler
/// runs. A body up to `drain` bytes is read and thrown away first: a client
/// still sending when the server answers and closes gets a connection reset
/// instead of the 413, and a kept-alive connection with unread body is
/// unusable. Larger bodies are refused at once, with `Connection: close`.
/// (Chunked bodies are cut by `RequestBodyLimitLayer` as they are read.)
async fn refuse_oversized(req: Request, next: Next, limit: usize, drain: usize) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => {
            if n <= drain as u64 {
                let _ = axum::body::to_bytes(req.into_body(), drain).await;
            }
            ApiError::TooLarge.into_response()
        }
        _ => next.run(req).await,
    }
}

async fn json_length(req: Request, next: Next) -> Response {
    refuse_oversized(req, next, JSON_BODY_LIMIT, DRAIN_LIMIT).await
}

async fn import_length(req: Request, next: Next) -> Response {
    refuse_oversized(req, next, IMPORT_BODY_LIMIT, 0).await
}

async fn unknown_route(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {method} {}", uri.path()))
}

/// Answers that come from the layers rather than from a handler (413 from
/// the body limit, 503 from the timeout, 405 from the router) have no JSON
/// body; give them the API's error shape, so that every error is JSON.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", ApiError::TooLarge.to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not take this method".to_owned(),
        ),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took too long and was stopped".to_owned(),
        ),
        StatusCode::NOT_FOUND => ("not_found", "not found".to_owned()),
        s if s.is_server_error() => ("internal", "internal error; it has been logged".to_owned()),
        s => (
            "bad_request",
            s.canonical_reason().unwrap_or("bad request").to_lowercase(),
        ),
    };
    let (mut parts, _) = response.into_parts();
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // the rest of the body was not read: this connection cannot carry another request
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let mut response = Response::from_parts(parts, Body::from(body.to_string()));
    *response.status_mut() = status;
    response.into_response()
}
