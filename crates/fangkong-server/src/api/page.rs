//! `GET /`: the public page of the web UI (the day's bulletin in Chinese and
//! English, the national trend, the province map, open data), built from
//! `web/` and embedded; see [`crate::ui`].

use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::AppState;

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
pub async fn index(headers: HeaderMap) -> Response {
    crate::ui::public_page(&headers)
}
