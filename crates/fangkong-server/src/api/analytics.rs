//! Risk assessment and early warning (R9) for the dashboard: the epidemic
//! curve, growth, Rt, forecasts, alerts and county risk levels, each scoped
//! to the caller's jurisdiction.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::alert::{AlertStatus, AlertVerdict};
use fangkong_service::analytics::{
    forecast_method, forecast_method_name, Band, RtConfig, SiSpec, CASES_FIELD, CASES_FORM,
};
use fangkong_store::Alert;

use crate::api::{date_param, limit_param, text_param, RegionRef};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/analytics/curve", get(curve))
        .route("/api/v1/analytics/rt", get(rt))
        .route("/api/v1/analytics/growth", get(growth))
        .route("/api/v1/analytics/forecast", get(forecast))
        .route("/api/v1/analytics/alerts", get(alerts))
        .route("/api/v1/analytics/alerts/run", post(run_alerts))
        .route(
            "/api/v1/analytics/alerts/{id}/acknowledge",
            post(acknowledge),
        )
        .route("/api/v1/analytics/alerts/{id}/close", post(close))
        .route("/api/v1/analytics/risk", get(risk))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// First day, `YYYY-MM-DD` (default: 60 days before `to`; 14 for growth).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today).
    pub to: Option<String>,
    /// The form (curve only; default `epidemic`).
    pub form: Option<String>,
    /// The field (curve only; default `new_confirmed`).
    pub field: Option<String>,
    /// Serial interval, gamma mean in days (Rt; default 4.7).
    pub si_mean: Option<f64>,
    /// Serial interval, gamma sd in days (Rt; default 2.9).
    pub si_sd: Option<f64>,
    /// Sliding window in days (Rt; default 7).
    pub window: Option<usize>,
    /// Confidence level (growth; default 0.95).
    pub level: Option<f64>,
}

struct Period {
    region: String,
    from: NaiveDate,
    to: NaiveDate,
}

fn period(
    state: &AppState,
    who: &fangkong_service::Principal,
    q: &PeriodQuery,
    days: i64,
) -> ApiResult<Period> {
    let to = date_param("to", q.to.as_deref(), state.service.today())?;
    let from = date_param("from", q.from.as_deref(), to - Duration::days(days - 1))?;
    if from > to {
        return Err(ApiError::invalid(
            "from",
            format!("{from} is after to ({to})"),
        ));
    }
    if (to - from).num_days() > 3660 {
        return Err(ApiError::invalid("from", "a period is at most ten years"));
    }
    let home = who.region.code.to_string();
    Ok(Period {
        region: text_param(q.region.as_deref(), &home).to_owned(),
        from,
        to,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurveDayBody {
    pub date: NaiveDate,
    pub count: i64,
    /// Whether a figure was filed (or rolled up) for the day; days without count 0.
    pub reported: bool,
    /// Trailing 7-day average.
    pub average7: Option<f64>,
    pub cumulative: i64,
}

/// The epidemic curve of a region: daily counts of a field, 7-day averages, cumulative.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/curve",
    tag = "analytics",
    security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "one entry per day", body = [CurveDayBody]),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn curve(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<PeriodQuery>,
) -> ApiResult<Json<Vec<CurveDayBody>>> {
    let p = period(&state, &who, &q, 60)?;
    let form = text_param(q.form.as_deref(), CASES_FORM);
    let field = text_param(q.field.as_deref(), CASES_FIELD);
    let days = state
        .service
        .curve(&who, &p.region, form, field, p.from, p.to)
        .await?;
    Ok(Json(
        days.into_iter()
            .map(|d| CurveDayBody {
                date: d.date,
                count: d.count,
                reported: d.reported,
                average7: d.average7,
                cumulative: d.cumulative,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RtBody {
    /// First and last day of the window; an estimate is dated by its last day.
    pub start: NaiveDate,
    pub date: NaiveDate,
    /// Local cases in the window.
    pub cases: u64,
    pub mean: f64,
    pub sd: f64,
    pub median: f64,
    pub q025: f64,
    pub q975: f64,
    /// Why the estimate is too uncertain to show; null when it may be shown.
    pub too_uncertain: Option<String>,
}

/// Rt by Cori et al. (2013) from daily new confirmed cases, as EpiEstim computes it.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/rt",
    tag = "analytics",
    security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "one estimate per window ending in the period", body = [RtBody]),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn rt(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<PeriodQuery>,
) -> ApiResult<Json<Vec<RtBody>>> {
    let p = period(&state, &who, &q, 60)?;
    let si = match (q.si_mean, q.si_sd) {
        (None, None) => SiSpec::default(),
        (Some(mean), Some(sd)) => SiSpec::Gamma { mean, sd },
        (None, Some(_)) => return Err(ApiError::invalid("si_mean", "give si_mean with si_sd")),
        (Some(_), None) => return Err(ApiError::invalid("si_sd", "give si_sd with si_mean")),
    };
    let config = RtConfig::default()
        .with_window(q.window.unwrap_or(7))
        .map_err(|e| ApiError::invalid("window", e.to_string()))?;
    let rows = state
        .service
        .rt(&who, &p.region, p.from, p.to, &si, &config)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| RtBody {
                start: r.start,
                date: r.date,
                cases: r.cases,
                mean: r.mean,
                sd: r.sd,
                median: r.median,
                q025: r.q025,
                q975: r.q975,
                too_uncertain: r.too_uncertain.map(str::to_owned),
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrowthBody {
    pub region: RegionRef,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub cases: i64,
    /// Exponential growth rate per day, with its confidence interval.
    pub rate: f64,
    pub lower: f64,
    pub upper: f64,
    pub level: f64,
    /// `doubling`, `halving` or `flat`.
    pub trend: String,
    /// Doubling or halving time in days, with its interval (upper null: unbounded).
    pub days: Option<f64>,
    pub days_lower: Option<f64>,
    pub days_upper: Option<f64>,
}

/// The exponential growth rate of daily new confirmed cases, with doubling or halving time.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/growth",
    tag = "analytics",
    security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "the growth rate", body = GrowthBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter, or no cases to fit", body = ErrorBody),
    )
)]
pub async fn growth(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<PeriodQuery>,
) -> ApiResult<Json<GrowthBody>> {
    let p = period(&state, &who, &q, 14)?;
    let g = state
        .service
        .growth(&who, &p.region, p.from, p.to, q.level.unwrap_or(0.95))
        .await?;
    Ok(Json(GrowthBody {
        region: RegionRef {
            code: g.region.code.to_string(),
            name: g.region.name.clone(),
        },
        from: g.from,
        to: g.to,
        cases: g.cases,
        rate: g.rate,
        lower: g.lower,
        upper: g.upper,
        level: g.level,
        trend: g.trend.to_owned(),
        days: g.time,
        days_lower: g.time_lower,
        days_upper: g.time_upper,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// The last day of data to forecast from, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
    /// Days ahead, 1–180 (default 28).
    pub horizon: Option<usize>,
    /// Sample paths, 1–20,000 (default 1,000).
    pub paths: Option<usize>,
    /// `ensemble` (default), `damped`, `renewal`, `trend` or `baseline`.
    pub method: Option<String>,
}

/// A forecast day: mean, median and central prediction intervals.
#[derive(Debug, Serialize, ToSchema)]
pub struct BandBody {
    pub date: NaiveDate,
    pub mean: f64,
    pub median: f64,
    pub lower50: f64,
    pub upper50: f64,
    pub lower90: f64,
    pub upper90: f64,
    pub lower95: f64,
    pub upper95: f64,
}

fn band(date: NaiveDate, b: &Band) -> BandBody {
    BandBody {
        date,
        mean: b.mean,
        median: b.median,
        lower50: b.lower50,
        upper50: b.upper50,
        lower90: b.lower90,
        upper90: b.upper90,
        lower95: b.lower95,
        upper95: b.upper95,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastBody {
    pub region: RegionRef,
    pub origin: NaiveDate,
    pub method: String,
    /// Daily new confirmed cases.
    pub cases: Vec<BandBody>,
    /// Beds occupied by confirmed cases.
    pub beds: Vec<BandBody>,
    /// Beds occupied at the origin.
    pub beds_today: i64,
}

/// Forecast daily new confirmed cases and bed demand with prediction intervals.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/forecast",
    tag = "analytics",
    security(("bearer" = [])),
    params(ForecastQuery),
    responses(
        (status = 200, description = "the forecast", body = ForecastBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter, or no data to forecast from", body = ErrorBody),
    )
)]
pub async fn forecast(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<ForecastQuery>,
) -> ApiResult<Json<ForecastBody>> {
    let origin = date_param("date", q.date.as_deref(), state.service.today())?;
    let home = who.region.code.to_string();
    let region = text_param(q.region.as_deref(), &home);
    let method = forecast_method(text_param(q.method.as_deref(), "ensemble"))?;
    let paths = q.paths.unwrap_or(1000);
    if !(1..=20_000).contains(&paths) {
        return Err(ApiError::invalid(
            "paths",
            format!("must be 1 to 20000, got {paths}"),
        ));
    }
    let f = state
        .service
        .forecast(
            &who,
            region,
            origin,
            q.horizon.unwrap_or(28),
            paths,
            &SiSpec::default(),
            method,
        )
        .await?;
    Ok(Json(ForecastBody {
        region: RegionRef {
            code: f.region.code.to_string(),
            name: f.region.name.clone(),
        },
        origin: f.origin,
        method: forecast_method_name(f.method).to_owned(),
        cases: f.days.iter().map(|(d, b)| band(*d, b)).collect(),
        beds: f.beds.iter().map(|(d, b)| band(*d, b)).collect(),
        beds_today: f.beds_today,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertBody {
    pub id: i64,
    pub region_code: String,
    pub form: String,
    pub field: String,
    /// The method whose figures are shown: `ears_c1`, `ears_c2`, `ears_c3` or `cidars`.
    pub method: String,
    /// Every method that flagged the signal.
    pub methods: Vec<String>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub observed: f64,
    pub expected: f64,
    /// Null when infinite (a count above a perfectly flat baseline).
    pub statistic: Option<f64>,
    pub threshold: f64,
    /// `open`, `acknowledged` or `closed`.
    pub status: String,
    /// `true_signal` or `false_alarm` once closed.
    pub verdict: Option<String>,
    pub note: String,
    pub acknowledged_by: Option<String>,
    pub closed_by: Option<String>,
}

impl From<&Alert> for AlertBody {
    fn from(a: &Alert) -> Self {
        AlertBody {
            id: a.id,
            region_code: a.region.to_string(),
            form: a.form.clone(),
            field: a.field.clone(),
            method: a.method.name().to_owned(),
            methods: a.methods.iter().map(|m| m.name().to_owned()).collect(),
            first_day: a.first_day,
            last_day: a.last_day,
            observed: a.observed,
            expected: a.expected,
            statistic: a.statistic.is_finite().then_some(a.statistic),
            threshold: a.threshold,
            status: a.status.name().to_owned(),
            verdict: a.verdict.map(|v| v.name().to_owned()),
            note: a.note.clone(),
            acknowledged_by: a.acknowledged_by.clone(),
            closed_by: a.closed_by.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// `open`, `acknowledged` or `closed` (default: all), comma-separated.
    pub status: Option<String>,
    /// Only signals that lasted until this day or later.
    pub since: Option<String>,
    /// At most this many (default 200, at most 5000).
    pub limit: Option<u32>,
}

/// Alerts in the caller's jurisdiction, newest signal first.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/alerts",
    tag = "analytics",
    security(("bearer" = [])),
    params(AlertsQuery),
    responses(
        (status = 200, description = "the alerts", body = [AlertBody]),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn alerts(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<AlertsQuery>,
) -> ApiResult<Json<Vec<AlertBody>>> {
    let mut statuses = Vec::new();
    for s in text_param(q.status.as_deref(), "")
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        statuses.push(AlertStatus::parse(s.trim()).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!("{s:?} is not open, acknowledged or closed"),
            )
        })?);
    }
    let since = match q.since.as_deref() {
        None | Some("") => None,
        Some(s) => Some(date_param("since", Some(s), state.service.today())?),
    };
    let home = who.region.code.to_string();
    let region = text_param(q.region.as_deref(), &home);
    let limit = limit_param("limit", q.limit, 200, 5000)?;
    let list = state
        .service
        .alerts(&who, region, statuses, since, limit)
        .await?;
    Ok(Json(list.iter().map(AlertBody::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunAlertsRequest {
    /// The region whose counties are examined (default: the caller's home region).
    pub region: Option<String>,
    /// The day, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertRunBody {
    pub series: usize,
    pub raised: usize,
    pub extended: usize,
}

/// Run the aberration methods over the counties of a region for a day.
#[utoipa::path(
    post,
    path = "/api/v1/analytics/alerts/run",
    tag = "analytics",
    security(("bearer" = [])),
    request_body = RunAlertsRequest,
    responses(
        (status = 200, description = "what the run did", body = AlertRunBody),
        (status = 403, description = "outside the caller's jurisdiction or role", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn run_alerts(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(req): JsonBody<RunAlertsRequest>,
) -> ApiResult<Json<AlertRunBody>> {
    let date = date_param("date", req.date.as_deref(), state.service.today())?;
    let home = who.region.code.to_string();
    let region = text_param(req.region.as_deref(), &home);
    let r = state.service.run_alerts(&who, region, date, date).await?;
    Ok(Json(AlertRunBody {
        series: r.series,
        raised: r.raised,
        extended: r.extended,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertActionRequest {
    /// `true_signal` or `false_alarm` (closing only).
    pub verdict: Option<String>,
    #[serde(default)]
    pub note: String,
}

fn alert_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError::invalid("id", format!("{id:?} is not an alert id")))
}

/// Acknowledge an alert: someone responsible has looked at it.
#[utoipa::path(
    post,
    path = "/api/v1/analytics/alerts/{id}/acknowledge",
    tag = "analytics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "the alert")),
    request_body = AlertActionRequest,
    responses(
        (status = 200, description = "the alert", body = AlertBody),
        (status = 404, description = "no such alert in the caller's jurisdiction", body = ErrorBody),
        (status = 409, description = "already acknowledged or closed", body = ErrorBody),
    )
)]
pub async fn acknowledge(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<AlertActionRequest>,
) -> ApiResult<Json<AlertBody>> {
    if req.verdict.is_some() {
        return Err(ApiError::invalid(
            "verdict",
            "a verdict is given when closing",
        ));
    }
    let a = state
        .service
        .acknowledge_alert(&who, alert_id(&id)?, &req.note)
        .await?;
    Ok(Json(AlertBody::from(&a)))
}

/// Close an alert with a verdict (true signal or false alarm).
#[utoipa::path(
    post,
    path = "/api/v1/analytics/alerts/{id}/close",
    tag = "analytics",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "the alert")),
    request_body = AlertActionRequest,
    responses(
        (status = 200, description = "the alert", body = AlertBody),
        (status = 404, description = "no such alert in the caller's jurisdiction", body = ErrorBody),
        (status = 409, description = "already closed", body = ErrorBody),
        (status = 422, description = "no or an unknown verdict", body = ErrorBody),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<AlertActionRequest>,
) -> ApiResult<Json<AlertBody>> {
    let verdict = req
        .verdict
        .as_deref()
        .ok_or_else(|| ApiError::invalid("verdict", "is missing: true_signal or false_alarm"))?;
    let verdict = AlertVerdict::parse(verdict).ok_or_else(|| {
        ApiError::invalid(
            "verdict",
            format!("{verdict:?} is not true_signal or false_alarm"),
        )
    })?;
    let a = state
        .service
        .close_alert(&who, alert_id(&id)?, verdict, &req.note)
        .await?;
    Ok(Json(AlertBody::from(&a)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskQuery {
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// The day, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RiskCountyBody {
    pub code: String,
    pub name: String,
    /// `low`, `medium` or `high`.
    pub level: String,
    pub label_zh: String,
    pub label_en: String,
    /// New confirmed cases in the 14 days up to the day.
    pub new_in_window: i64,
    pub cumulative: i64,
    pub cluster: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RiskChangeBody {
    pub code: String,
    pub name: String,
    pub date: NaiveDate,
    /// Null on the first day a county was assessed.
    pub from: Option<String>,
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RiskBody {
    pub region: RegionRef,
    pub date: NaiveDate,
    pub low: usize,
    pub medium: usize,
    pub high: usize,
    pub counties: Vec<RiskCountyBody>,
    /// Changes of level in the 30 days up to the day, newest first.
    pub changes: Vec<RiskChangeBody>,
}

/// County risk levels below a region on a day, counted per level, with recent changes.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/risk",
    tag = "analytics",
    security(("bearer" = [])),
    params(RiskQuery),
    responses(
        (status = 200, description = "the levels", body = RiskBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn risk(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<RiskQuery>,
) -> ApiResult<Json<RiskBody>> {
    let date = date_param("date", q.date.as_deref(), state.service.today())?;
    let home = who.region.code.to_string();
    let region = text_param(q.region.as_deref(), &home);
    let r = state.service.risk(&who, region, date).await?;
    Ok(Json(RiskBody {
        region: RegionRef {
            code: r.region.code.to_string(),
            name: r.region.name.clone(),
        },
        date: r.date,
        low: r.tally.low,
        medium: r.tally.medium,
        high: r.tally.high,
        counties: r
            .levels
            .iter()
            .map(|(l, name)| RiskCountyBody {
                code: l.region.to_string(),
                name: name.clone(),
                level: l.level.name().to_owned(),
                label_zh: l.level.label_zh().to_owned(),
                label_en: l.level.label_en().to_owned(),
                new_in_window: l.new_in_window,
                cumulative: l.cumulative,
                cluster: l.cluster,
            })
            .collect(),
        changes: r
            .changes
            .iter()
            .map(|(c, name)| RiskChangeBody {
                code: c.row.region.to_string(),
                name: name.clone(),
                date: c.row.date,
                from: c.from.map(|l| l.name().to_owned()),
                to: c.row.level.name().to_owned(),
            })
            .collect(),
    }))
}
