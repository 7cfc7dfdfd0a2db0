//! Daily reports (R2): filing and correcting, history and reviews, what
//! waits for review, and report files in and out.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::report::{ReviewStatus, Source};
use fangkong_service::import::{parse_date, write_reports_csv};
use fangkong_service::reports::{epoch, FiledValues, Filing};
use fangkong_service::RowError;
use fangkong_store::Review;

use crate::api::{date_param, limit_param, text_param, VersionBody};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody, RowErrorBody, MAX_ROWS_LISTED};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;

/// The JSON routes; the file import has its own limits (see [`import_router`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports", post(file_report))
        .route("/api/v1/reports/overdue-reviews", get(overdue_reviews))
        .route("/api/v1/reports/export", get(export_reports))
        .route("/api/v1/reports/{form}/{region}/{date}", get(report))
        .route(
            "/api/v1/reports/{form}/{region}/{date}/review",
            post(review_report),
        )
}

/// `POST /api/v1/reports/import`: a CSV body of up to 64 MiB.
pub fn import_router() -> Router<AppState> {
    Router::new().route("/api/v1/reports/import", post(import_reports))
}

/// A unit's report for one day: every field of the form, or `zero: true`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileReportRequest {
    #[schema(example = "epidemic")]
    pub form: String,
    #[schema(example = "420102")]
    pub region_code: String,
    /// The day reported, `YYYY-MM-DD`; not in the future.
    #[schema(example = "2020-01-25")]
    pub date: String,
    /// One non-negative integer per field of the form.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, i64>>, example = json!({"new_confirmed": 3, "new_suspected": 1, "new_severe": 0, "new_deaths": 0, "new_recovered": 0, "current_severe": 0, "current_suspected": 2, "current_observation": 40}))]
    pub values: Option<Map<String, Value>>,
    /// A zero report: every field 0 (零报告). Give either this or `values`.
    #[serde(default)]
    pub zero: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FilingBody {
    /// `filed` (the first report of the day, 201), `corrected` (a new
    /// version, 200) or `unchanged` (the same values again, 200).
    #[schema(example = "filed")]
    pub status: String,
    /// The current version.
    pub report: VersionBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewBody {
    /// The version reviewed.
    pub version: i32,
    /// `approved` or `returned`.
    pub status: String,
    pub note: String,
    pub reviewer: String,
    pub at: DateTime<Utc>,
}

impl From<&Review> for ReviewBody {
    fn from(r: &Review) -> Self {
        ReviewBody {
            version: r.version,
            status: r.status.name().to_owned(),
            note: r.note.clone(),
            reviewer: r.reviewer.clone(),
            at: r.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportBody {
    pub form: String,
    pub region_code: String,
    pub date: NaiveDate,
    /// The version that counts.
    pub current: VersionBody,
    /// Every version, oldest first.
    pub history: Vec<VersionBody>,
    /// Reviews by the level above, oldest first.
    pub reviews: Vec<ReviewBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `approved` or `returned`.
    #[schema(example = "returned")]
    pub status: String,
    /// Why, for a returned report.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many (default 100, at most 5000).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The form of the file's rows.
    pub form: String,
    /// Import the good rows and list the bad ones, instead of refusing the whole file.
    #[serde(default)]
    pub skip_bad: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportBody {
    /// Good rows in the file.
    pub rows: u64,
    pub filed: u64,
    pub corrected: u64,
    pub unchanged: u64,
    /// Distinct days in the file.
    pub days: u64,
    /// Bad rows left out (with `skip_bad=true`).
    pub skipped: u64,
    /// The bad rows left out (at most 1000).
    pub bad: Vec<RowErrorBody>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    pub form: String,
    /// The region whose subtree to export (default: the caller's home region).
    pub region: Option<String>,
    /// First day, `YYYY-MM-DD` (default: the beginning).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today).
    pub to: Option<String>,
}

/// Check the values of a report body: each must be a JSON integer ≥ 0.
/// Names the first offending field as `values.<field>`. Which fields the
/// form has is the service's rule.
fn filed_values(values: Option<Map<String, Value>>, zero: bool) -> ApiResult<FiledValues> {
    let values =
        match (values, zero) {
            (Some(v), true) if !v.is_empty() => {
                return Err(ApiError::invalid(
                    "zero",
                    "a zero report has no values; send either values or zero: true",
                ))
            }
            (_, true) => return Ok(FiledValues::Zero),
            (None, false) => return Err(ApiError::invalid(
                "values",
                "is missing; send one count per field of the form, or zero: true for a zero report",
            )),
            (Some(v), false) => v,
        };
    let mut pairs = Vec::with_capacity(values.len());
    for (name, value) in values {
        let field = format!("values.{name}");
        let n = match &value {
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) if i >= 0 => i,
                (Some(i), _) => {
                    return Err(ApiError::invalid(
                        field,
                        format!("must not be negative, got {i}"),
                    ))
                }
                (None, Some(_)) => {
                    return Err(ApiError::invalid(field, format!("is too large, got {n}")))
                }
                (None, None) => {
                    return Err(ApiError::invalid(
                        field,
                        format!("must be a non-negative integer, got {n}"),
                    ))
                }
            },
            Value::Null => {
                return Err(ApiError::invalid(
                    field,
                    "must be a non-negative integer, got null; a zero report sends 0",
                ))
            }
            Value::String(s) => {
                return Err(ApiError::invalid(
                    field,
                    format!("must be a JSON number, not the string {s:?}"),
                ))
            }
            other => {
                return Err(ApiError::invalid(
                    field,
                    format!("must be a non-negative integer, got {other}"),
                ))
            }
        };
        pairs.push((name, n));
    }
    Ok(FiledValues::Pairs(pairs))
}

/// File a unit's daily report, or correct it. Filing the same values again changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "reports",
    security(("bearer" = [])),
    request_body = FileReportRequest,
    responses(
        (status = 201, description = "filed: the first report of the day", body = FilingBody),
        (status = 200, description = "corrected (a new version) or unchanged", body = FilingBody),
        (status = 401, description = "not logged in", body = ErrorBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 404, description = "no such region", body = ErrorBody),
        (status = 422, description = "invalid field", body = ErrorBody),
    )
)]
pub async fn file_report(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(req): JsonBody<FileReportRequest>,
) -> ApiResult<(StatusCode, Json<FilingBody>)> {
    let date = parse_date("date", &req.date)?;
    let values = filed_values(req.values, req.zero)?;
    let service = &state.service;
    let filing = service
        .file_report(&who, &req.form, &req.region_code, date, values)
        .await?;
    let form = service.form(&req.form)?;
    let (status, word) = match &filing {
        Filing::Filed(_) => (StatusCode::CREATED, "filed"),
        Filing::Corrected { .. } => (StatusCode::OK, "corrected"),
        Filing::Unchanged(_) => (StatusCode::OK, "unchanged"),
    };
    tracing::info!(form = %form.name, region = %filing.version().key.region, %date, status = word, "report");
    Ok((
        status,
        Json(FilingBody {
            status: word.into(),
            report: VersionBody::new(form, filing.version()),
        }),
    ))
}

/// One report: the current version, every version, and its reviews.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{form}/{region}/{date}",
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("form" = String, Path, example = "epidemic"),
        ("region" = String, Path, example = "420102"),
        ("date" = String, Path, description = "YYYY-MM-DD", example = "2020-01-25"),
    ),
    responses(
        (status = 200, description = "the report", body = ReportBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 404, description = "nothing filed", body = ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams((form_name, region, date)): PathParams<(String, String, String)>,
) -> ApiResult<Json<ReportBody>> {
    let date = parse_date("date", &date)?;
    let (history, reviews) = state
        .service
        .report_history(&who, &form_name, &region, date)
        .await?;
    let form = state.service.form(&form_name)?;
    let history: Vec<VersionBody> = history.iter().map(|v| VersionBody::new(form, v)).collect();
    let current = history.last().cloned().ok_or_else(|| {
        ApiError::NotFound(format!("report {form_name} {region} {date} not found"))
    })?;
    Ok(Json(ReportBody {
        form: current.form.clone(),
        region_code: current.region_code.clone(),
        date,
        current,
        history,
        reviews: reviews.iter().map(ReviewBody::from).collect(),
    }))
}

/// Review a unit's current report (审核): approve it or return it with a
/// note. A status set by the level above; it never holds the figures back.
#[utoipa::path(
    post,
    path = "/api/v1/reports/{form}/{region}/{date}/review",
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("form" = String, Path, example = "epidemic"),
        ("region" = String, Path, example = "420102"),
        ("date" = String, Path, description = "YYYY-MM-DD", example = "2020-01-25"),
    ),
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "reviewed", body = ReviewBody),
        (status = 403, description = "outside the caller's jurisdiction, or the caller's own report", body = ErrorBody),
        (status = 404, description = "nothing filed", body = ErrorBody),
        (status = 422, description = "invalid field", body = ErrorBody),
    )
)]
pub async fn review_report(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams((form, region, date)): PathParams<(String, String, String)>,
    JsonBody(req): JsonBody<ReviewRequest>,
) -> ApiResult<(StatusCode, Json<ReviewBody>)> {
    let date = parse_date("date", &date)?;
    let status = ReviewStatus::parse(req.status.trim()).ok_or_else(|| {
        ApiError::invalid(
            "status",
            format!("must be approved or returned, got {:?}", req.status),
        )
    })?;
    let review = state
        .service
        .review_report(&who, &form, &region, date, status, &req.note)
        .await?;
    Ok((StatusCode::CREATED, Json(ReviewBody::from(&review))))
}

/// Reports below the caller's direct reports that the level in between has
/// left unreviewed too long: what to chase.
#[utoipa::path(
    get,
    path = "/api/v1/reports/overdue-reviews",
    tag = "reports",
    security(("bearer" = [])),
    params(LimitQuery),
    responses(
        (status = 200, description = "unreviewed reports", body = [VersionBody]),
        (status = 401, description = "not logged in", body = ErrorBody),
    )
)]
pub async fn overdue_reviews(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<LimitQuery>,
) -> ApiResult<Json<Vec<VersionBody>>> {
    let limit = limit_param("limit", q.limit, 100, 5000)?;
    let versions = state.service.overdue_reviews(&who, limit).await?;
    let mut out = Vec::with_capacity(versions.len());
    for v in &versions {
        let form = state.service.form(&v.key.form)?;
        out.push(VersionBody::new(form, v));
    }
    Ok(Json(out))
}

/// Import a report CSV (`region_code,date,<the form's fields…>`). All or
/// nothing by default: any bad row refuses the file with every bad row named;
/// with `skip_bad=true` the good rows are imported and the bad ones listed.
#[utoipa::path(
    post,
    path = "/api/v1/reports/import",
    tag = "reports",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "a report CSV, at most 64 MiB"),
    responses(
        (status = 200, description = "imported", body = ImportBody),
        (status = 403, description = "a row lies outside the caller's jurisdiction", body = ErrorBody),
        (status = 413, description = "the file is too large", body = ErrorBody),
        (status = 422, description = "bad rows (code bad_rows) or a bad header", body = ErrorBody),
    )
)]
pub async fn import_reports(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<ImportQuery>,
    body: Bytes,
) -> ApiResult<Json<ImportBody>> {
    let service = &state.service;
    let file = service
        .read_report_csv(&who, &q.form, body.as_ref(), &|_| {})
        .await?;
    let bad: Vec<RowError> = file.bad.into_iter().map(|(e, _)| e).collect();
    if !bad.is_empty() && !q.skip_bad {
        return Err(ApiError::BadRows(bad));
    }
    let summary = service
        .import_report_rows(&who, &q.form, file.rows, Source::Import, "api")
        .await?;
    Ok(Json(ImportBody {
        rows: summary.rows,
        filed: summary.filed,
        corrected: summary.corrected,
        unchanged: summary.unchanged,
        days: summary.days,
        skipped: bad.len() as u64,
        bad: bad
            .iter()
            .take(MAX_ROWS_LISTED)
            .map(RowErrorBody::from)
            .collect(),
    }))
}

/// The current versions of a form's reports in a region's subtree, as a
/// report CSV (the import format, with version, filed_by and filed_at).
#[utoipa::path(
    get,
    path = "/api/v1/reports/export",
    tag = "reports",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 200, description = "a report CSV", body = String, content_type = "text/csv"),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn export_reports(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<ExportQuery>,
) -> ApiResult<Response> {
    let service = &state.service;
    let from = date_param("from", q.from.as_deref(), epoch())?;
    let to = date_param("to", q.to.as_deref(), service.today())?;
    if from > to {
        return Err(ApiError::invalid(
            "from",
            format!("{from} is after to ({to})"),
        ));
    }
    let home = who.region.code.to_string();
    let region = text_param(q.region.as_deref(), &home);
    let versions = service
        .export_reports(&who, &q.form, region, from, to)
        .await?;
    let form = service.form(&q.form)?;
    let mut csv = Vec::new();
    write_reports_csv(&mut csv, form, &versions)?;
    let filename = format!(
        "attachment; filename=\"{}-{}-{from}-{to}.csv\"",
        form.name, region
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(values: Value) -> Result<Vec<(String, i64)>, String> {
        let map = match values {
            Value::Object(m) => m,
            _ => return Err("not an object".into()),
        };
        match filed_values(Some(map), false) {
            Ok(FiledValues::Pairs(p)) => Ok(p),
            Ok(FiledValues::Zero) => Err("zero".into()),
            Err(ApiError::Invalid(e)) => Err(e.field),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn values_must_be_non_negative_integers() {
        assert_eq!(check(json!({"a": 3})), Ok(vec![("a".to_owned(), 3)]));
        assert_eq!(check(json!({"a": 1.5})), Err("values.a".to_owned()));
        assert_eq!(check(json!({"a": "3"})), Err("values.a".to_owned()));
        assert_eq!(check(json!({"a": null})), Err("values.a".to_owned()));
        assert_eq!(check(json!({"a": -1})), Err("values.a".to_owned()));
        assert_eq!(check(json!({"a": 3.0})), Err("values.a".to_owned()));
        assert_eq!(check(json!({"a": u64::MAX})), Err("values.a".to_owned()));
        assert_eq!(check(json!({"a": [1]})), Err("values.a".to_owned()));
    }

    #[test]
    fn a_zero_report_has_no_values() {
        assert!(matches!(filed_values(None, true), Ok(FiledValues::Zero)));
        assert!(matches!(
            filed_values(Some(Map::new()), true),
            Ok(FiledValues::Zero)
        ));
        assert!(filed_values(None, false).is_err());
        let mut m = Map::new();
        m.insert("a".into(), json!(1));
        assert!(filed_values(Some(m), true).is_err());
    }
}
