//! The JSON (and CSV) routes the pages need that the rest of the API lacks:
//!
//! - `GET /api/v1/calendar`: today where the installation is, the day a
//!   report is filed for;
//! - `GET /api/v1/dashboard`: one call for the dashboard's headline figures
//!   (as in the bulletin, with the day before) and the figures of every child
//!   region for the map, in the caller's jurisdiction;
//! - `GET /api/v1/public/series` and `GET /api/v1/public/regions`: open data
//!   for the public page and its downloads. Aggregate counts of the epidemic
//!   form only, for the nation and the provinces; below the provinces counts
//!   from 1 to 4 are withheld, and so are the counts that would reveal them
//!   (the rule of `fangkong_domain::disclosure`, as every public route).
//!   No sign-in, no personal data.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::disclosure::{self, Cell, SUPPRESS_BELOW};
use fangkong_domain::form::{epidemic_form, Form, Values};
use fangkong_domain::region::{Level, Region, NATION_CODE};
use fangkong_domain::FieldError;
use fangkong_service::publications::SUPPRESSED;
use fangkong_service::reports::epoch;
use fangkong_service::{Principal, ServiceError};
use fangkong_store::RELEASE_FIELDS;

use crate::api::bulletin::BulletinFiguresBody;
use crate::api::{date_param, text_param, values_body, RegionBody, ValuesBody};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryParams;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/calendar", get(calendar))
        .route("/api/v1/dashboard", get(dashboard))
        .route("/api/v1/public/series", get(public_series))
        .route("/api/v1/public/regions", get(public_regions))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarBody {
    /// Today in the installation's local time: the day a report is filed for.
    pub today: NaiveDate,
    /// Yesterday: the last complete day.
    pub yesterday: NaiveDate,
    /// The local time's offset from UTC, in minutes (480 for China).
    pub utc_offset_minutes: i32,
}

/// Today's date where the installation is (not where the browser is).
#[utoipa::path(
    get,
    path = "/api/v1/calendar",
    tag = "ui",
    responses((status = 200, description = "today, local time", body = CalendarBody))
)]
pub async fn calendar(State(state): State<AppState>) -> Json<CalendarBody> {
    let today = state.service.today();
    Json(CalendarBody {
        today,
        yesterday: today - Duration::days(1),
        utc_offset_minutes: state.service.settings().utc_offset_minutes,
    })
}

/// The period of "new cases in the last days".
const RECENT_DAYS: i64 = 14;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// The day, `YYYY-MM-DD` (default: yesterday, the last complete day).
    pub date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeadlineBody {
    /// The bulletin's figures for the day.
    pub day: BulletinFiguresBody,
    /// The same for the day before, for the day's change.
    pub previous: BulletinFiguresBody,
}

/// A child region's epidemic figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChildFiguresBody {
    pub code: String,
    pub name: String,
    pub level: String,
    /// The day's figures; null when nothing was filed below it that day.
    #[schema(value_type = Option<BTreeMap<String, i64>>)]
    pub day: Option<ValuesBody>,
    /// Since the first day: additive fields summed, stock fields as last reported.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub cumulative: ValuesBody,
    /// New confirmed cases in the 14 days up to the day.
    pub new14: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardBody {
    pub region: RegionBody,
    /// From the nation down to the region, inclusive.
    pub lineage: Vec<RegionBody>,
    pub date: NaiveDate,
    /// Today, local time: the latest day that may be asked for.
    pub today: NaiveDate,
    pub headline: HeadlineBody,
    /// Every child region, by code.
    pub children: Vec<ChildFiguresBody>,
}

/// The day's figures of `region` from `series` (in date order), the
/// cumulative figures, and the new confirmed cases of the last 14 days.
fn summarize(
    form: &Form,
    days: &[(NaiveDate, Values)],
    date: NaiveDate,
) -> Result<(Option<Values>, Values, i64), FieldError> {
    let cumulative = form.accumulate(days.iter().map(|(_, v)| v))?;
    let day = days.last().filter(|(d, _)| *d == date).map(|(_, v)| *v);
    let new = form.field_index("new_confirmed");
    let since = date - Duration::days(RECENT_DAYS - 1);
    let new14 = new.map_or(0, |i| {
        days.iter()
            .filter(|(d, _)| *d >= since)
            .map(|(_, v)| v.get(i))
            .sum()
    });
    Ok((day, cumulative, new14))
}

/// The epidemic figures of every child of `region` up to `date`: one read
/// of each child's own series (by its code, so each is an index lookup; one
/// read of a whole level below a region scans every report at that level).
async fn child_figures(
    state: &AppState,
    region: &Region,
    date: NaiveDate,
) -> ApiResult<Vec<(Region, Option<Values>, Values, i64)>> {
    let service = &state.service;
    let form = epidemic_form();
    let children = service.children(region.code.as_str()).await?;
    // one read per child, all at once (the store's read pool serves them in parallel)
    let mut reads = tokio::task::JoinSet::new();
    for (i, c) in children.iter().enumerate() {
        // the service has no use case for this read yet; the caller's
        // jurisdiction was checked on `region`, and the store's read is side-effect free
        let store = service.store().clone();
        let (form, code) = (form.name.clone(), c.code.clone());
        reads.spawn(async move { (i, store.figures(&form, &code, epoch(), date).await) });
    }
    let mut figures: Vec<Option<Vec<(NaiveDate, Values)>>> = vec![None; children.len()];
    while let Some(done) = reads.join_next().await {
        let (i, read) = done.map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
        let days = read.map_err(ServiceError::from)?;
        if let Some(slot) = figures.get_mut(i) {
            *slot = Some(days.into_iter().map(|d| (d.date, d.values)).collect());
        }
    }
    let mut out = Vec::with_capacity(children.len());
    for (c, days) in children.into_iter().zip(figures) {
        let days = days.unwrap_or_default();
        let (day, cumulative, new14) = summarize(&form, &days, date)?;
        out.push((c, day, cumulative, new14));
    }
    Ok(out)
}

/// Everything the command dashboard shows of a region at once: the headline
/// figures with the day before, and the figures of each child region for the map.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard",
    tag = "ui",
    security(("bearer" = [])),
    params(DashboardQuery),
    responses(
        (status = 200, description = "the dashboard's figures", body = DashboardBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn dashboard(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<DashboardQuery>,
) -> ApiResult<Json<DashboardBody>> {
    let service = &state.service;
    let today = service.today();
    let date = date_param("date", q.date.as_deref(), today - Duration::days(1))?;
    let home = who.region.code.to_string();
    let code = text_param(q.region.as_deref(), &home);
    let region = service
        .region_for(&who, fangkong_domain::policy::Action::ReadAnalytics, code)
        .await?;
    let code = region.code.to_string();
    let lineage = service.lineage(&code).await?;
    // the day, the day before and the children's figures, read at once
    let (day, previous, children) = tokio::join!(
        service.bulletin(Some(&code), date),
        service.bulletin(Some(&code), date - Duration::days(1)),
        child_figures(&state, &region, date),
    );
    let (day, previous) = (day?, previous?);
    let form = epidemic_form();
    let children = children?
        .into_iter()
        .map(|(c, day, cumulative, new14)| ChildFiguresBody {
            code: c.code.to_string(),
            name: c.name.clone(),
            level: c.level.name().to_owned(),
            day: day.map(|v| values_body(&form, &v)),
            cumulative: values_body(&form, &cumulative),
            new14,
        })
        .collect();
    Ok(Json(DashboardBody {
        region: RegionBody::from(&region),
        lineage: lineage.iter().map(RegionBody::from).collect(),
        date,
        today,
        headline: HeadlineBody {
            day: BulletinFiguresBody::from(&day),
            previous: BulletinFiguresBody::from(&previous),
        },
        children,
    }))
}

// ---- open data ------------------------------------------------------------

/// The principal behind the public routes: they read published aggregates
/// only (the nation and the provinces, the epidemic form), as the bulletin does.
async fn public_reader(state: &AppState) -> ApiResult<Principal> {
    Ok(state.service.system().await?)
}

/// A region whose aggregates are public: the nation or a province.
async fn public_region(state: &AppState, code: Option<&str>) -> ApiResult<Region> {
    let code = text_param(code, NATION_CODE);
    let region = state.service.region(code).await?;
    if region.level > Level::Province {
        return Err(ApiError::invalid(
            "region",
            format!(
                "open data covers the nation and the provinces; {} is a {}",
                region.code,
                region.level.name()
            ),
        ));
    }
    Ok(region)
}

fn wants_csv(format: Option<&str>) -> ApiResult<bool> {
    match format.map(str::trim) {
        None | Some("") | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("must be json or csv, got {other:?}"),
        )),
    }
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicSeriesQuery {
    /// The nation (default) or a province.
    pub region: Option<String>,
    /// First day, `YYYY-MM-DD` (default: 60 days before `to`).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: yesterday, the last complete day).
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicDayBody {
    pub date: NaiveDate,
    /// The day's figures of the epidemic form, by field.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub values: ValuesBody,
    pub cum_confirmed: i64,
    pub cum_deaths: i64,
    pub cum_recovered: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSeriesBody {
    pub region: RegionBody,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Today, local time.
    pub today: NaiveDate,
    /// The fields of the epidemic form, in order.
    pub fields: Vec<String>,
    /// One entry per day with figures, in date order.
    pub days: Vec<PublicDayBody>,
}

/// Open data: the daily epidemic figures of the nation or a province, with running totals.
#[utoipa::path(
    get,
    path = "/api/v1/public/series",
    tag = "ui",
    params(PublicSeriesQuery),
    responses(
        (status = 200, description = "the series (JSON, or CSV with format=csv)", body = PublicSeriesBody),
        (status = 404, description = "no such region", body = ErrorBody),
        (status = 422, description = "invalid parameter, or a region below the provinces", body = ErrorBody),
    )
)]
pub async fn public_series(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PublicSeriesQuery>,
) -> ApiResult<Response> {
    let csv = wants_csv(q.format.as_deref())?;
    let region = public_region(&state, q.region.as_deref()).await?;
    let service = &state.service;
    let today = service.today();
    let to = date_param("to", q.to.as_deref(), today - Duration::days(1))?;
    let from = date_param("from", q.from.as_deref(), to - Duration::days(59))?;
    if from > to {
        return Err(ApiError::invalid(
            "from",
            format!("{from} is after to ({to})"),
        ));
    }
    if to > today {
        return Err(ApiError::invalid(
            "to",
            format!("{to} is in the future (today is {today})"),
        ));
    }
    let form = epidemic_form();
    let reader = public_reader(&state).await?;
    // the running totals need every day from the start
    let all = service
        .series(&reader, &form.name, region.code.as_str(), epoch(), to)
        .await?;
    let idx = |name: &str| form.field_index(name);
    let (ic, id, ir) = (
        idx("new_confirmed"),
        idx("new_deaths"),
        idx("new_recovered"),
    );
    let (mut cc, mut cd, mut cr) = (0, 0, 0);
    let mut days = Vec::new();
    for d in &all {
        cc += ic.map_or(0, |i| d.values.get(i));
        cd += id.map_or(0, |i| d.values.get(i));
        cr += ir.map_or(0, |i| d.values.get(i));
        if d.date >= from {
            days.push(PublicDayBody {
                date: d.date,
                values: values_body(&form, &d.values),
                cum_confirmed: cc,
                cum_deaths: cd,
                cum_recovered: cr,
            });
        }
    }
    let fields: Vec<String> = form.fields.iter().map(|f| f.name.clone()).collect();
    if csv {
        let mut out = String::from("region_code,date");
        for f in &fields {
            out.push(',');
            out.push_str(f);
        }
        out.push_str(",cum_confirmed,cum_deaths,cum_recovered\n");
        for d in &days {
            let _ = write!(out, "{},{}", region.code, d.date);
            for f in &fields {
                let _ = write!(out, ",{}", d.values.get(f).copied().unwrap_or(0));
            }
            let _ = writeln!(
                out,
                ",{},{},{}",
                d.cum_confirmed, d.cum_deaths, d.cum_recovered
            );
        }
        return Ok(csv_response(
            &format!("fangkong-{}-{from}-{to}.csv", region.code),
            out,
        ));
    }
    Ok(Json(PublicSeriesBody {
        region: RegionBody::from(&region),
        from,
        to,
        today,
        fields,
        days,
    })
    .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicRegionsQuery {
    /// The nation (default: its provinces) or a province (its cities).
    pub region: Option<String>,
    /// The day, `YYYY-MM-DD` (default: yesterday, the last complete day).
    pub date: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A published count: null when suppressed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRegionBody {
    pub code: String,
    pub name: String,
    pub level: String,
    /// New confirmed cases on the day.
    pub new_confirmed: Option<i64>,
    /// New confirmed cases in the 14 days up to the day.
    pub new14: Option<i64>,
    pub cum_confirmed: Option<i64>,
    pub cum_deaths: Option<i64>,
    pub cum_recovered: Option<i64>,
    /// Whether any count here was withheld (1 to 4 in a small area, or one
    /// that would reveal such a count); withheld counts are null (`x` in CSV).
    pub suppressed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRegionsBody {
    pub region: RegionBody,
    pub date: NaiveDate,
    pub today: NaiveDate,
    /// Counts from 1 to this minus one are withheld below the provinces,
    /// with the counts that would reveal them.
    pub suppress_below: i64,
    pub regions: Vec<PublicRegionBody>,
}

/// Open data: the epidemic figures of each province (or each city of a province) on a day.
#[utoipa::path(
    get,
    path = "/api/v1/public/regions",
    tag = "ui",
    params(PublicRegionsQuery),
    responses(
        (status = 200, description = "one entry per child region (JSON, or CSV with format=csv)", body = PublicRegionsBody),
        (status = 404, description = "no such region", body = ErrorBody),
        (status = 422, description = "invalid parameter, or a region below the provinces", body = ErrorBody),
    )
)]
pub async fn public_regions(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PublicRegionsQuery>,
) -> ApiResult<Response> {
    let csv = wants_csv(q.format.as_deref())?;
    let region = public_region(&state, q.region.as_deref()).await?;
    let today = state.service.today();
    let date = date_param("date", q.date.as_deref(), today - Duration::days(1))?;
    if date > today {
        return Err(ApiError::invalid(
            "date",
            format!("{date} is in the future (today is {today})"),
        ));
    }
    let form = epidemic_form();
    let idx = |name: &str| form.field_index(name);
    let (ic, id, ir) = (
        idx("new_confirmed"),
        idx("new_deaths"),
        idx("new_recovered"),
    );
    let mut rows = child_figures(&state, &region, date).await?;
    // by code, as every public route lists regions: the rule breaks ties by order
    rows.sort_by(|a, b| a.0.code.as_str().cmp(b.0.code.as_str()));
    let get = |v: &Values, i: Option<usize>| i.map_or(0, |i| v.get(i));
    // the five published counts of each child, and which release field each one is
    let counts: Vec<[i64; 5]> = rows
        .iter()
        .map(|(_, day, cumulative, new14)| {
            [
                day.as_ref().map_or(0, |v| get(v, ic)),
                *new14,
                get(cumulative, ic),
                get(cumulative, id),
                get(cumulative, ir),
            ]
        })
        .collect();
    const RELEASED_AS: [Option<&str>; 5] = [
        Some("new_confirmed"),
        None,
        Some("cum_confirmed"),
        Some("cum_deaths"),
        Some("cum_recovered"),
    ];
    // one rule for every public route: the region as the parent of its
    // children, per count, with whatever the day's releases withhold
    let released = state.service.disclosure(date, date).await?;
    let mut withheld = vec![[false; 5]; rows.len()];
    for (k, name) in RELEASED_AS.iter().enumerate() {
        let mut cells = vec![Cell {
            parent: None,
            value: counts.iter().map(|c| c[k]).sum(),
            small: region.level > Level::Province,
        }];
        cells.extend(rows.iter().zip(&counts).map(|((c, ..), n)| Cell {
            parent: Some(0),
            value: n[k],
            small: c.level > Level::Province,
        }));
        let field = name.and_then(|n| RELEASE_FIELDS.iter().position(|f| *f == n));
        for (i, w) in disclosure::withhold(&cells).into_iter().skip(1).enumerate() {
            let in_release = field.is_some_and(|f| released.is_withheld(date, &rows[i].0.code, f));
            withheld[i][k] = w || in_release;
        }
    }
    let regions: Vec<PublicRegionBody> = rows
        .iter()
        .zip(counts.iter().zip(&withheld))
        .map(|((c, ..), (n, w))| {
            let publish = |k: usize| (!w[k]).then_some(n[k]);
            PublicRegionBody {
                code: c.code.to_string(),
                name: c.name.clone(),
                level: c.level.name().to_owned(),
                new_confirmed: publish(0),
                new14: publish(1),
                cum_confirmed: publish(2),
                cum_deaths: publish(3),
                cum_recovered: publish(4),
                suppressed: w.iter().any(|x| *x),
            }
        })
        .collect();
    if csv {
        let cell = |n: Option<i64>| n.map_or_else(|| SUPPRESSED.to_owned(), |n| n.to_string());
        let mut out = String::from(
            "region_code,name,date,new_confirmed,new14,cum_confirmed,cum_deaths,cum_recovered\n",
        );
        for r in &regions {
            let _ = writeln!(
                out,
                "{},{},{date},{},{},{},{},{}",
                r.code,
                csv_field(&r.name),
                cell(r.new_confirmed),
                cell(r.new14),
                cell(r.cum_confirmed),
                cell(r.cum_deaths),
                cell(r.cum_recovered)
            );
        }
        return Ok(csv_response(
            &format!("fangkong-{}-regions-{date}.csv", region.code),
            out,
        ));
    }
    Ok(Json(PublicRegionsBody {
        region: RegionBody::from(&region),
        date,
        today,
        suppress_below: SUPPRESS_BELOW,
        regions,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("武汉市"), "武汉市");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn a_summary_has_the_day_the_totals_and_the_last_14_days() {
        let form = epidemic_form();
        let i = form.field_index("new_confirmed").unwrap_or(0);
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        let days: Vec<(NaiveDate, Values)> = (0..20)
            .map(|k| {
                let mut v = Values::ZERO;
                v.0[i] = 1;
                (start + Duration::days(k), v)
            })
            .collect();
        let last = start + Duration::days(19);
        let (day, cum, new14) = summarize(&form, &days, last).unwrap();
        assert_eq!(day.map(|v| v.get(i)), Some(1));
        assert_eq!(cum.get(i), 20);
        assert_eq!(new14, 14);
        let (day, _, _) = summarize(&form, &days, last + Duration::days(1)).unwrap();
        assert!(day.is_none());
    }
}
