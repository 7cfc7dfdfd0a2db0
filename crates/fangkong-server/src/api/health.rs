//! `GET /healthz`: is the process up and its database reachable.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(health))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    #[schema(example = "ok")]
    pub status: String,
    /// The storage engine: `sqlite` or `postgres`.
    #[schema(example = "sqlite")]
    pub engine: String,
}

/// Health check: answers when the database answers (it reads the root region).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "up", body = HealthBody),
        (status = 500, description = "the database does not answer", body = ErrorBody),
    )
)]
pub async fn health(State(state): State<AppState>) -> ApiResult<Json<HealthBody>> {
    state.service.nation().await?;
    Ok(Json(HealthBody {
        status: "ok".into(),
        engine: state.service.engine().to_owned(),
    }))
}
