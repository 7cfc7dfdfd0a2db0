//! `GET /`: a small public page with today's national bulletin, in Chinese
//! and English. Self-contained (inline CSS and script, nothing fetched from
//! elsewhere); the real web UI comes later.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;

use crate::AppState;

const INDEX_HTML: &str = include_str!("index.html");

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

/// The public page.
#[utoipa::path(
    get,
    path = "/",
    tag = "page",
    responses((status = 200, description = "an HTML page", body = String, content_type = "text/html"))
)]
pub async fn index() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], Html(INDEX_HTML))
}
