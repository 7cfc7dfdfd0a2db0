//! Roll-ups: a region's figures for a day, its daily series, and the
//! completeness and timeliness of the reports below it.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::form::epidemic_form;
use fangkong_service::reports::epoch;

use crate::api::{date_param, limit_param, text_param, values_body, RegionRef, ValuesBody};
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::QueryParams;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/figures", get(figures))
        .route("/api/v1/series", get(series))
        .route("/api/v1/completeness", get(completeness))
}

/// The form named in a query, by default the daily epidemic report.
fn form_param(form: Option<&str>) -> String {
    match form.map(str::trim) {
        None | Some("") => epidemic_form().name,
        Some(f) => f.to_owned(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// The form (default `epidemic`).
    pub form: Option<String>,
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// The day, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresRegion {
    pub code: String,
    pub name: String,
    pub level: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresBody {
    pub region: FiguresRegion,
    pub date: NaiveDate,
    /// Whether the day's figure is the region's own report (true) or the sum
    /// of its children's (false); null when nothing was filed in the region that day.
    pub own: Option<bool>,
    /// The day's figures by field; null when nothing was filed that day.
    #[schema(value_type = Option<BTreeMap<String, i64>>)]
    pub day: Option<ValuesBody>,
    /// Since the first day: additive fields summed, stock fields as last reported.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub cumulative: ValuesBody,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// The form (default `epidemic`).
    pub form: Option<String>,
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// First day, `YYYY-MM-DD` (default: the beginning).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPoint {
    pub date: NaiveDate,
    /// The region's own report (true) or the sum of its children's (false).
    pub own: bool,
    #[schema(value_type = BTreeMap<String, i64>)]
    pub values: ValuesBody,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompletenessQuery {
    /// The form (default `epidemic`).
    pub form: Option<String>,
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// The day, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
    /// List at most this many missing and late units (default 100, at most 5000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChildCompleteness {
    pub code: String,
    pub name: String,
    pub expected: u64,
    pub filed: u64,
    pub on_time: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LateUnit {
    pub code: String,
    pub name: String,
    /// When the first version came in.
    pub filed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompletenessBody {
    pub region: FiguresRegion,
    pub form: String,
    pub date: NaiveDate,
    /// The level whose units file the form.
    pub level: String,
    /// Units that should have filed.
    pub expected: u64,
    /// Units that filed.
    pub filed: u64,
    /// Units that filed before the deadline.
    pub on_time: u64,
    /// filed / expected; null when no unit is expected.
    pub completeness: Option<f64>,
    /// on_time / expected; null when no unit is expected.
    pub timeliness: Option<f64>,
    pub deadline: DateTime<Utc>,
    /// Per child region of `region` with units expected.
    pub by_child: Vec<ChildCompleteness>,
    /// Units that have not filed (up to `limit`).
    pub missing: Vec<RegionRef>,
    /// Units that filed after the deadline (up to `limit`).
    pub late: Vec<LateUnit>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A region's figures for a day and since the start.
#[utoipa::path(
    get,
    path = "/api/v1/figures",
    tag = "rollup",
    security(("bearer" = [])),
    params(FiguresQuery),
    responses(
        (status = 200, description = "the figures", body = FiguresBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn figures(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<FiguresQuery>,
) -> ApiResult<Json<FiguresBody>> {
    let service = &state.service;
    let form_name = form_param(q.form.as_deref());
    let date = date_param("date", q.date.as_deref(), service.today())?;
    let home = who.region.code.to_string();
    let region = text_param(q.region.as_deref(), &home);
    let f = service.figures(&who, &form_name, region, date).await?;
    let form = service.form(&form_name)?;
    Ok(Json(FiguresBody {
        region: FiguresRegion {
            code: f.region.code.to_string(),
            name: f.region.name.clone(),
            level: f.region.level.name().to_owned(),
        },
        date: f.date,
        own: f.day.as_ref().map(|d| d.own),
        day: f.day.as_ref().map(|d| values_body(form, &d.values)),
        cumulative: values_body(form, &f.cumulative),
    }))
}

/// A region's daily figures over a period (days without figures are left out).
#[utoipa::path(
    get,
    path = "/api/v1/series",
    tag = "rollup",
    security(("bearer" = [])),
    params(SeriesQuery),
    responses(
        (status = 200, description = "the series, in date order", body = [SeriesPoint]),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn series(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<SeriesQuery>,
) -> ApiResult<Json<Vec<SeriesPoint>>> {
    let service = &state.service;
    let form_name = form_param(q.form.as_deref());
    let from = date_param("from", q.from.as_deref(), epoch())?;
    let to = date_param("to", q.to.as_deref(), service.today())?;
    let home = who.region.code.to_string();
    let region = text_param(q.region.as_deref(), &home);
    let days = service.series(&who, &form_name, region, from, to).await?;
    let form = service.form(&form_name)?;
    Ok(Json(
        days.iter()
            .map(|d| SeriesPoint {
                date: d.date,
                own: d.own,
                values: values_body(form, &d.values),
            })
            .collect(),
    ))
}

/// Who should have filed a form below a region on a day, who did, who did on time;
/// the missing and the late by name.
#[utoipa::path(
    get,
    path = "/api/v1/completeness",
    tag = "rollup",
    security(("bearer" = [])),
    params(CompletenessQuery),
    responses(
        (status = 200, description = "completeness and timeliness", body = CompletenessBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn completeness(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<CompletenessQuery>,
) -> ApiResult<Json<CompletenessBody>> {
    let service = &state.service;
    let form_name = form_param(q.form.as_deref());
    let date = date_param("date", q.date.as_deref(), service.today())?;
    let limit = limit_param("limit", q.limit, 100, 5000)?;
    let home = who.region.code.to_string();
    let region = text_param(q.region.as_deref(), &home);
    let c = service
        .completeness(&who, &form_name, region, date, limit)
        .await?;
    Ok(Json(CompletenessBody {
        region: FiguresRegion {
            code: c.region.code.to_string(),
            name: c.region.name.clone(),
            level: c.region.level.name().to_owned(),
        },
        form: form_name,
        date: c.date,
        level: c.level.name().to_owned(),
        expected: c.counts.expected,
        filed: c.counts.filed,
        on_time: c.counts.on_time,
        completeness: ratio(c.counts.filed, c.counts.expected),
        timeliness: ratio(c.counts.on_time, c.counts.expected),
        deadline: c.deadline,
        by_child: c
            .by_child
            .iter()
            .map(|(r, n)| ChildCompleteness {
                code: r.code.to_string(),
                name: r.name.clone(),
                expected: n.expected,
                filed: n.filed,
                on_time: n.on_time,
            })
            .collect(),
        missing: c
            .missing
            .iter()
            .map(|u| RegionRef {
                code: u.region.to_string(),
                name: u.name.clone(),
            })
            .collect(),
        late: c
            .late
            .iter()
            .map(|u| LateUnit {
                code: u.region.to_string(),
                name: u.name.clone(),
                filed_at: u.filed_at,
            })
            .collect(),
    }))
}
