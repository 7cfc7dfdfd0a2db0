//! Published data (R10): publishing a day's figures, the public releases in
//! every version, the errata, and the open data built from releases only.
//!
//! - `POST /api/v1/publications` (signed in, command levels): publish or
//!   re-publish; a changed re-publication needs a `reason`.
//! - `GET /api/v1/public/releases?date=&region=`: the latest version, with
//!   links to the earlier ones.
//! - `GET /api/v1/public/releases/{date}/{region}/versions/{n}`: an earlier
//!   version exactly as released.
//! - `GET /api/v1/public/errata?from=&to=`: what changed, when and why.
//! - `GET /api/v1/public/open-data.csv` and `.json?from=&to=&level=`.
//!
//! Public answers hold aggregate counts only, no personal data (not even
//! the publisher's username); a count from 1 to 4 of a region below the
//! provinces, and every count withheld so that none can be worked out from
//! its parent and siblings, is sent as `"x"`
//! (see [`fangkong_service::publications::Disclosure`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::bulletin::Lang;
use fangkong_domain::region::Level;
use fangkong_service::import::parse_date;
use fangkong_service::publications::{
    release_bulletin, Disclosure, PublicCount, PublishOutcome, SUPPRESSED, SUPPRESS_BELOW,
};
use fangkong_store::{Erratum, Release, ReleaseHead, ReleaseRow, RELEASE_FIELDS};

use crate::api::bulletin::BulletinFiguresBody;
use crate::api::{date_param, limit_param, RegionBody};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/publications", post(publish))
        .route("/api/v1/public/releases", get(latest_release))
        .route(
            "/api/v1/public/releases/{date}/{region}/versions/{version}",
            get(release_version),
        )
        .route("/api/v1/public/errata", get(errata))
        .route("/api/v1/public/open-data.csv", get(open_data_csv))
        .route("/api/v1/public/open-data.json", get(open_data_json))
}

// ---- publishing -----------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The day to publish, `YYYY-MM-DD`; not in the future.
    #[schema(example = "2020-01-25")]
    pub date: String,
    /// The region (with its children). Default: the nation and every
    /// province for a national user, the home region for anyone else.
    #[schema(example = "420000")]
    pub region: Option<String>,
    /// Why the figures are revised: required when a release of the day
    /// exists and any figure changed.
    pub reason: Option<String>,
}

/// One figure changed by a revision.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErratumBody {
    /// The day the figure is for.
    pub date: NaiveDate,
    pub region_code: String,
    pub level: String,
    /// The release the figure was published in.
    pub release_region: String,
    /// One of the release's fields (`new_confirmed`, `cum_deaths`, …).
    pub field: String,
    /// The value before (a number, or `"x"` when withheld: a small count of a
    /// small area, or withheld in the day's latest release).
    #[schema(value_type = Object)]
    pub old_value: Value,
    #[schema(value_type = Object)]
    pub new_value: Value,
    /// The version that changed it.
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub reason: String,
}

fn public_value(c: PublicCount) -> Value {
    match c {
        PublicCount::Count(n) => Value::from(n),
        PublicCount::Suppressed => Value::from(SUPPRESSED),
    }
}

impl ErratumBody {
    /// An erratum as the public sees it: a value is withheld when it is a
    /// small count, or when the day's latest releases withhold the figure.
    fn public(e: &Erratum, withheld: &Disclosure) -> Self {
        let field = RELEASE_FIELDS.iter().position(|f| *f == e.field);
        let hidden = field.is_some_and(|i| withheld.is_withheld(e.date, &e.region, i));
        let value = |n: i64| {
            if hidden {
                public_value(PublicCount::Suppressed)
            } else {
                public_value(PublicCount::of(e.level, n))
            }
        };
        ErratumBody {
            date: e.date,
            region_code: e.region.to_string(),
            level: e.level.name().to_owned(),
            release_region: e.release_region.to_string(),
            field: e.field.clone(),
            old_value: value(e.old_value),
            new_value: value(e.new_value),
            version: e.version,
            published_at: e.published_at,
            reason: e.reason.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationBody {
    pub date: NaiveDate,
    pub region_code: String,
    /// `published` (version 1), `revised` (a new version) or `unchanged`
    /// (the figures are those of the latest version; nothing was stored).
    #[schema(example = "published")]
    pub outcome: String,
    /// The version now public.
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub reason: Option<String>,
    /// The figures the revision changed (empty unless `revised`).
    pub errata: Vec<ErratumBody>,
    /// Where the public reads it.
    pub href: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationsBody {
    /// One entry per release.
    pub publications: Vec<PublicationBody>,
    /// How many releases were stored (published or revised).
    pub stored: usize,
    /// How many were unchanged.
    pub unchanged: usize,
}

fn version_href(h: &ReleaseHead) -> String {
    format!(
        "/api/v1/public/releases/{}/{}/versions/{}",
        h.date, h.region, h.version
    )
}

/// Publish the day's figures of a region and its children (or the nation
/// and every province): version 1, a revision with its errata, or nothing
/// when nothing changed.
#[utoipa::path(
    post,
    path = "/api/v1/publications",
    tag = "publications",
    security(("bearer" = [])),
    request_body = PublishRequest,
    responses(
        (status = 201, description = "at least one release was published or revised", body = PublicationsBody),
        (status = 200, description = "nothing changed: no new version", body = PublicationsBody),
        (status = 401, description = "not signed in", body = ErrorBody),
        (status = 403, description = "not a command level, or outside the jurisdiction", body = ErrorBody),
        (status = 409, description = "someone published the same release at the same moment", body = ErrorBody),
        (status = 422, description = "invalid input; a changed re-publication without `reason`", body = ErrorBody),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(req): JsonBody<PublishRequest>,
) -> ApiResult<Response> {
    let date = parse_date("date", req.date.trim())?;
    let outcomes = state
        .service
        .publish(&who, date, req.region.as_deref(), req.reason.as_deref())
        .await?;
    let withheld = state.service.disclosure(date, date).await?;
    let publications: Vec<PublicationBody> = outcomes
        .iter()
        .map(|o| {
            let h = o.head();
            PublicationBody {
                date: h.date,
                region_code: h.region.to_string(),
                outcome: o.name().to_owned(),
                version: h.version,
                published_at: h.published_at,
                reason: h.reason.clone(),
                errata: match o {
                    PublishOutcome::Revised { errata, .. } => errata
                        .iter()
                        .map(|e| ErratumBody::public(e, &withheld))
                        .collect(),
                    _ => Vec::new(),
                },
                href: version_href(h),
            }
        })
        .collect();
    let unchanged = outcomes
        .iter()
        .filter(|o| matches!(o, PublishOutcome::Unchanged(_)))
        .count();
    let stored = outcomes.len() - unchanged;
    let status = if stored > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(PublicationsBody {
            publications,
            stored,
            unchanged,
        }),
    )
        .into_response())
}

// ---- releases -------------------------------------------------------------

/// One region of a release, as the public sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseRowBody {
    pub code: String,
    pub name: String,
    pub level: String,
    /// Whether anything was filed in the region that day.
    pub reported: bool,
    /// Each figure: a number, or `"x"` when withheld (a count from 1 to 4
    /// below the provinces, or one that would reveal such a count).
    #[schema(value_type = BTreeMap<String, Object>)]
    pub figures: BTreeMap<String, Value>,
}

fn row_body(date: NaiveDate, r: &ReleaseRow, withheld: &Disclosure) -> ReleaseRowBody {
    ReleaseRowBody {
        code: r.region.to_string(),
        name: r.name.clone(),
        level: r.level.name().to_owned(),
        reported: r.reported,
        figures: withheld
            .figures(date, r)
            .into_iter()
            .map(|(k, c)| (k.to_owned(), public_value(c)))
            .collect(),
    }
}

/// A version of a release, in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionRefBody {
    pub version: i32,
    pub published_at: DateTime<Utc>,
    /// Why it was revised (none for version 1).
    pub reason: Option<String>,
    /// The version exactly as released.
    pub href: String,
}

fn version_ref(h: &ReleaseHead) -> VersionRefBody {
    VersionRefBody {
        version: h.version,
        published_at: h.published_at,
        reason: h.reason.clone(),
        href: version_href(h),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseBody {
    pub date: NaiveDate,
    /// The released region (its name as published).
    pub region: RegionBody,
    pub version: i32,
    /// Whether this is the latest version.
    pub latest: bool,
    /// The latest version's number.
    pub latest_version: i32,
    pub published_at: DateTime<Utc>,
    /// Why this version revised the one before (none for version 1).
    pub reason: Option<String>,
    /// How many child regions had figures for the day.
    pub units_reporting: u32,
    /// Counts from 1 to this minus one are withheld below the provinces
    /// (sent as `"x"`, like the counts withheld beside them).
    pub suppress_below: i64,
    /// The bulletin's text of this version, in Chinese and English (the
    /// nation and the provinces only; null below them).
    pub text_zh: Option<String>,
    pub text_en: Option<String>,
    /// The bulletin's figures (the nation and the provinces only).
    pub bulletin: Option<BulletinFiguresBody>,
    /// The released region first, then its children by code.
    pub rows: Vec<ReleaseRowBody>,
    /// Every version, oldest first, with links.
    pub versions: Vec<VersionRefBody>,
    /// The figures this version changed (empty for version 1).
    pub errata: Vec<ErratumBody>,
    /// This version's address.
    pub href: String,
}

async fn release_body(state: &AppState, release: Release) -> ApiResult<ReleaseBody> {
    let service = &state.service;
    let h = &release.head;
    let code = h.region.to_string();
    let versions = service.release_versions(h.date, Some(&code)).await?;
    let latest_version = versions.last().map_or(h.version, |v| v.version);
    // the day's latest releases as one tree; an earlier version by itself too
    let mut withheld = service.disclosure(h.date, h.date).await?;
    if h.version != latest_version {
        withheld.add_release(&release);
    }
    let errata = if h.version > 1 {
        service
            .errata(h.date, h.date, 10_000)
            .await?
            .iter()
            .filter(|e| e.release_region == h.region && e.version == h.version)
            .map(|e| ErratumBody::public(e, &withheld))
            .collect()
    } else {
        Vec::new()
    };
    let bulletin = release_bulletin(&release);
    let own = release.rows.first();
    let region = match own {
        Some(r) => RegionBody {
            code: r.region.to_string(),
            name: r.name.clone(),
            level: r.level.name().to_owned(),
            parent_code: service.region(&code).await?.parent.map(|p| p.to_string()),
        },
        None => RegionBody::from(&service.region(&code).await?),
    };
    Ok(ReleaseBody {
        date: h.date,
        region,
        version: h.version,
        latest: h.version == latest_version,
        latest_version,
        published_at: h.published_at,
        reason: h.reason.clone(),
        units_reporting: h.units_reporting,
        suppress_below: SUPPRESS_BELOW,
        text_zh: bulletin.as_ref().map(|b| b.render(Lang::Zh)),
        text_en: bulletin.as_ref().map(|b| b.render(Lang::En)),
        bulletin: bulletin.as_ref().map(BulletinFiguresBody::from),
        rows: release
            .rows
            .iter()
            .map(|r| row_body(h.date, r, &withheld))
            .collect(),
        versions: versions.iter().map(version_ref).collect(),
        errata,
        href: version_href(h),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleaseQuery {
    /// The day, `YYYY-MM-DD` (default: the latest day with a release of the region).
    pub date: Option<String>,
    /// The region (default: the nation).
    pub region: Option<String>,
}

/// The latest version of a day's release of a region, with links to the earlier versions.
#[utoipa::path(
    get,
    path = "/api/v1/public/releases",
    tag = "publications",
    params(ReleaseQuery),
    responses(
        (status = 200, description = "the release", body = ReleaseBody),
        (status = 404, description = "no such region, or nothing published for the day", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn latest_release(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReleaseQuery>,
) -> ApiResult<Json<ReleaseBody>> {
    let service = &state.service;
    let region = q.region.as_deref();
    let date = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => parse_date("date", d)?,
        None => service.latest_release_date(region).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "nothing has been published for region {}",
                region.unwrap_or("000000")
            ))
        })?,
    };
    let release = service.release(date, region, None).await?;
    Ok(Json(release_body(&state, release).await?))
}

/// A version of a release exactly as it was released.
#[utoipa::path(
    get,
    path = "/api/v1/public/releases/{date}/{region}/versions/{version}",
    tag = "publications",
    params(
        ("date" = String, Path, description = "the day, YYYY-MM-DD"),
        ("region" = String, Path, description = "the released region's code"),
        ("version" = i32, Path, description = "1, 2, …"),
    ),
    responses(
        (status = 200, description = "the version", body = ReleaseBody),
        (status = 404, description = "no such region or version", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn release_version(
    State(state): State<AppState>,
    PathParams((date, region, version)): PathParams<(String, String, i32)>,
) -> ApiResult<Json<ReleaseBody>> {
    let date = parse_date("date", date.trim())?;
    if version < 1 {
        return Err(ApiError::invalid("version", "must be at least 1"));
    }
    let release = state
        .service
        .release(date, Some(&region), Some(version))
        .await?;
    Ok(Json(release_body(&state, release).await?))
}

// ---- errata ---------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ErrataQuery {
    /// The first day whose figures count, `YYYY-MM-DD` (default: 90 days before `to`).
    pub from: Option<String>,
    /// The last day (default: today).
    pub to: Option<String>,
    /// At most this many (default 1000, at most 10000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrataBody {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Newest revision first.
    pub errata: Vec<ErratumBody>,
}

/// The errata list: every published figure a revision changed, with the old
/// and new value, the version, when and why.
#[utoipa::path(
    get,
    path = "/api/v1/public/errata",
    tag = "publications",
    params(ErrataQuery),
    responses(
        (status = 200, description = "the errata", body = ErrataBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn errata(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ErrataQuery>,
) -> ApiResult<Json<ErrataBody>> {
    let today = state.service.today();
    let to = date_param("to", q.to.as_deref(), today)?;
    let from = date_param("from", q.from.as_deref(), to - Duration::days(89))?;
    let limit = limit_param("limit", q.limit, 1000, 10_000)?;
    let errata = state.service.errata(from, to, limit).await?;
    let withheld = match (
        errata.iter().map(|e| e.date).min(),
        errata.iter().map(|e| e.date).max(),
    ) {
        (Some(a), Some(b)) => state.service.disclosure(a, b).await?,
        _ => Disclosure::default(),
    };
    Ok(Json(ErrataBody {
        from,
        to,
        errata: errata
            .iter()
            .map(|e| ErratumBody::public(e, &withheld))
            .collect(),
    }))
}

// ---- open data ------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenDataQuery {
    /// The first day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// The last day (default: yesterday).
    pub to: Option<String>,
    /// `nation`, `province` (default), `city` or `county`.
    pub level: Option<String>,
}

/// One region on one day, as published.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenDataRowBody {
    pub date: NaiveDate,
    pub region_code: String,
    pub name: String,
    pub level: String,
    /// The release it comes from, and its version.
    pub release_region: String,
    pub version: i32,
    pub published_at: DateTime<Utc>,
    #[schema(value_type = BTreeMap<String, Object>)]
    pub figures: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenDataBody {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub level: String,
    /// Counts from 1 to this minus one are sent as `suppressed` below the
    /// provinces, and so is every count withheld beside them.
    pub suppress_below: i64,
    #[schema(example = "x")]
    pub suppressed: String,
    /// The figures of each row, in order.
    pub fields: Vec<String>,
    /// By day, then region.
    pub rows: Vec<OpenDataRowBody>,
}

async fn open_data(state: &AppState, q: &OpenDataQuery) -> ApiResult<OpenDataBody> {
    let today = state.service.today();
    let to = date_param("to", q.to.as_deref(), today - Duration::days(1))?;
    let from = date_param("from", q.from.as_deref(), to - Duration::days(29))?;
    let level = match q.level.as_deref().map(str::trim) {
        None | Some("") => Level::Province,
        Some(l) => [Level::Nation, Level::Province, Level::City, Level::County]
            .into_iter()
            .find(|x| x.name() == l)
            .ok_or_else(|| {
                ApiError::invalid(
                    "level",
                    format!("must be nation, province, city or county, got {l:?}"),
                )
            })?,
    };
    let rows = state.service.open_data(level, from, to).await?;
    let withheld = state.service.disclosure(from, to).await?;
    Ok(OpenDataBody {
        from,
        to,
        level: level.name().to_owned(),
        suppress_below: SUPPRESS_BELOW,
        suppressed: SUPPRESSED.to_owned(),
        fields: RELEASE_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
        rows: rows
            .iter()
            .map(|r| OpenDataRowBody {
                date: r.date,
                region_code: r.row.region.to_string(),
                name: r.row.name.clone(),
                level: r.row.level.name().to_owned(),
                release_region: r.release_region.to_string(),
                version: r.version,
                published_at: r.published_at,
                figures: row_body(r.date, &r.row, &withheld).figures,
            })
            .collect(),
    })
}

/// Open data as JSON: the published figures of every region at a level, day by day.
#[utoipa::path(
    get,
    path = "/api/v1/public/open-data.json",
    tag = "publications",
    params(OpenDataQuery),
    responses(
        (status = 200, description = "the rows", body = OpenDataBody),
        (status = 422, description = "invalid parameter (a range over 366 days, an unknown level)", body = ErrorBody),
    )
)]
pub async fn open_data_json(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<OpenDataQuery>,
) -> ApiResult<Json<OpenDataBody>> {
    Ok(Json(open_data(&state, &q).await?))
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Open data as CSV: one line per region and day, the same columns as the JSON rows.
#[utoipa::path(
    get,
    path = "/api/v1/public/open-data.csv",
    tag = "publications",
    params(OpenDataQuery),
    responses(
        (status = 200, description = "date, region_code, name, level, release_region, version, published_at, then the figures", content_type = "text/csv"),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn open_data_csv(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<OpenDataQuery>,
) -> ApiResult<Response> {
    let body = open_data(&state, &q).await?;
    let mut out = String::from("date,region_code,name,level,release_region,version,published_at");
    for f in &body.fields {
        out.push(',');
        out.push_str(f);
    }
    out.push('\n');
    for r in &body.rows {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{}",
            r.date,
            r.region_code,
            csv_field(&r.name),
            r.level,
            r.release_region,
            r.version,
            r.published_at.to_rfc3339()
        );
        for f in &body.fields {
            match r.figures.get(f) {
                Some(Value::String(s)) => {
                    out.push(',');
                    out.push_str(s);
                }
                Some(v) => {
                    let _ = write!(out, ",{v}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    let name = format!(
        "fangkong-open-data-{}-{}-{}.csv",
        body.level, body.from, body.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppressed_counts_are_a_marker_never_the_number() {
        assert_eq!(
            public_value(PublicCount::of(Level::County, 3)),
            Value::from("x")
        );
        assert_eq!(
            public_value(PublicCount::of(Level::Province, 3)),
            Value::from(3)
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
