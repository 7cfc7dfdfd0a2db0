//! The web UI: the public page at `/`, sign-in at `/login`, the signed-in
//! application under `/app`, their scripts, styles and map geometry under
//! `/assets/`, and the few JSON routes the pages need that the API did not
//! have ([`data`]).
//!
//! The pages are built from `web/` by `build.rs` (esbuild) and embedded in
//! the binary, gzip-compressed: a browser that takes gzip gets the bytes as
//! they are, any other client gets them unpacked. Nothing is fetched from
//! anywhere else: every answer carries a Content-Security-Policy that allows
//! only `'self'`. Files under `/assets/` have content-hashed names and are
//! cached for a year; the pages themselves are revalidated every time.

mod assets;
pub mod data;

use std::io::Read;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

/// Only this origin: no inline script or style, no other host.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// How long a content-hashed file may be cached.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(app_page))
        .route("/app", get(app_page))
        .route("/app/", get(app_page))
        .route("/app/{*rest}", get(app_page))
        .route("/assets/{*path}", get(asset))
        .merge(data::router())
}

/// The public page (`GET /`).
pub fn public_page(headers: &HeaderMap) -> Response {
    page("public.html", headers)
}

async fn app_page(headers: HeaderMap) -> Response {
    page("app.html", &headers)
}

fn page(name: &str, headers: &HeaderMap) -> Response {
    match assets::get(name) {
        Some(a) => send(a, headers, "no-cache"),
        None => ApiError::NotFound(format!("the web bundle has no {name}")).into_response(),
    }
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match assets::get(&format!("assets/{path}")) {
        Some(a) => send(a, &headers, IMMUTABLE),
        None => ApiError::NotFound(format!("no asset {path}")).into_response(),
    }
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, `*`, not `;q=0`).
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

fn send(a: assets::Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let etag = format!("\"{:016x}\"", a.etag);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else if takes_gzip(headers) {
        let mut r = a.gzip.into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        let mut body = Vec::with_capacity(a.gzip.len() * 4);
        if let Err(e) = flate2::read::GzDecoder::new(a.gzip).read_to_end(&mut body) {
            return ApiError::Internal(anyhow::anyhow!("embedded asset is not gzip: {e}"))
                .into_response();
        }
        body.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    security_headers(h);
    response
}

/// The headers every page and file of the UI carries.
pub fn security_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The paths of the embedded bundle (for tests and diagnostics).
pub fn bundle_paths() -> Vec<&'static str> {
    assets::paths().collect()
}

#[cfg(test)]
mod tests;
