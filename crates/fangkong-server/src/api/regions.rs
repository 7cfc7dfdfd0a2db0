//! The region tree: one region with its lineage, its children, search.
//! Region names and codes are public.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::region::NATION_CODE;

use crate::api::{limit_param, text_param, RegionBody};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PathParams, QueryParams};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/regions", get(search_regions))
        .route("/api/v1/regions/{code}", get(region))
        .route("/api/v1/regions/{code}/children", get(children))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionDetailBody {
    #[serde(flatten)]
    pub region: RegionBody,
    /// From the nation down to this region, inclusive.
    pub lineage: Vec<RegionBody>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Part of a name, or the start of a code.
    pub q: Option<String>,
    /// Search below this region (default: the nation).
    pub under: Option<String>,
    /// At most this many (default 20, at most 500).
    pub limit: Option<u32>,
}

/// A region and its lineage. Codes may be written in China's other forms (`42`, `420102000000`).
#[utoipa::path(
    get,
    path = "/api/v1/regions/{code}",
    tag = "regions",
    params(("code" = String, Path, description = "region code", example = "420102")),
    responses(
        (status = 200, description = "the region", body = RegionDetailBody),
        (status = 404, description = "no such region", body = ErrorBody),
        (status = 422, description = "malformed code", body = ErrorBody),
    )
)]
pub async fn region(
    State(state): State<AppState>,
    PathParams(code): PathParams<String>,
) -> ApiResult<Json<RegionDetailBody>> {
    let region = state.service.region(&code).await?;
    let lineage = state.service.lineage(region.code.as_str()).await?;
    Ok(Json(RegionDetailBody {
        region: RegionBody::from(&region),
        lineage: lineage.iter().map(RegionBody::from).collect(),
    }))
}

/// The regions directly below a region.
#[utoipa::path(
    get,
    path = "/api/v1/regions/{code}/children",
    tag = "regions",
    params(("code" = String, Path, description = "region code", example = "420100")),
    responses(
        (status = 200, description = "the children, by code", body = [RegionBody]),
        (status = 404, description = "no such region", body = ErrorBody),
    )
)]
pub async fn children(
    State(state): State<AppState>,
    PathParams(code): PathParams<String>,
) -> ApiResult<Json<Vec<RegionBody>>> {
    let children = state.service.children(&code).await?;
    Ok(Json(children.iter().map(RegionBody::from).collect()))
}

/// Search regions by name or code prefix.
#[utoipa::path(
    get,
    path = "/api/v1/regions",
    tag = "regions",
    params(SearchQuery),
    responses(
        (status = 200, description = "matching regions", body = [RegionBody]),
        (status = 404, description = "no such region to search under", body = ErrorBody),
    )
)]
pub async fn search_regions(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<SearchQuery>,
) -> ApiResult<Json<Vec<RegionBody>>> {
    let limit = limit_param("limit", q.limit, 20, 500)?;
    let under = text_param(q.under.as_deref(), NATION_CODE);
    let found = state
        .service
        .search_regions(under, q.q.as_deref().unwrap_or(""), limit)
        .await?;
    Ok(Json(found.iter().map(RegionBody::from).collect()))
}
