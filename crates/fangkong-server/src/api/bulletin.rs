//! The daily bulletin (R10), in the national health commission's form, in
//! Chinese or English. Public: aggregate counts only, for the nation and the
//! provinces; below them only for a signed-in caller whose jurisdiction
//! covers the region (see `fangkong_service::bulletin`).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::bulletin::{BulletinFigures, Lang};
use fangkong_domain::region::NATION_CODE;

use crate::api::date_param;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryParams;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/bulletin", get(bulletin))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BulletinQuery {
    /// The day, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
    /// The region (default: the nation). Below the provinces only with a
    /// bearer token whose jurisdiction covers it; otherwise 422, the same
    /// answer as for an unknown code.
    pub region: Option<String>,
    /// `zh` (default) or `en`.
    pub lang: Option<String>,
    /// `json` (default) or `text`: the text alone. `Accept: text/plain` does the same.
    pub format: Option<String>,
}

/// Every number of a bulletin.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulletinFiguresBody {
    /// The region's name; null for the nation.
    pub region_name: Option<String>,
    /// The level of the units whose reports are counted.
    pub unit_level: Option<String>,
    /// How many of those units had figures for the day.
    pub units_reporting: u32,
    pub new_confirmed: i64,
    pub new_severe: i64,
    pub new_deaths: i64,
    pub new_recovered: i64,
    pub new_suspected: i64,
    pub cum_confirmed: i64,
    pub current_severe: i64,
    pub cum_deaths: i64,
    pub cum_recovered: i64,
    pub current_suspected: i64,
    pub current_observation: i64,
}

impl From<&BulletinFigures> for BulletinFiguresBody {
    fn from(b: &BulletinFigures) -> Self {
        BulletinFiguresBody {
            region_name: b.region_name.clone(),
            unit_level: b.unit_level.map(|l| l.name().to_owned()),
            units_reporting: b.units_reporting,
            new_confirmed: b.new_confirmed,
            new_severe: b.new_severe,
            new_deaths: b.new_deaths,
            new_recovered: b.new_recovered,
            new_suspected: b.new_suspected,
            cum_confirmed: b.cum_confirmed,
            current_severe: b.current_severe,
            cum_deaths: b.cum_deaths,
            cum_recovered: b.cum_recovered,
            current_suspected: b.current_suspected,
            current_observation: b.current_observation,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulletinBody {
    pub date: NaiveDate,
    #[schema(example = "000000")]
    pub region_code: String,
    /// `zh` or `en`.
    pub lang: String,
    /// The bulletin's text.
    #[schema(example = "1月25日0—24时，全国30个省（区、市）报告新增确诊病例688例……")]
    pub text: String,
    pub figures: BulletinFiguresBody,
}

fn wants_text(format: Option<&str>, headers: &HeaderMap) -> ApiResult<bool> {
    match format.map(str::trim) {
        Some("text") => return Ok(true),
        Some("json") => return Ok(false),
        None | Some("") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("must be json or text, got {other:?}"),
            ))
        }
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(accept.contains("text/plain") && !accept.contains("application/json"))
}

/// The daily bulletin of the nation or a region.
#[utoipa::path(
    get,
    path = "/api/v1/bulletin",
    tag = "bulletin",
    params(BulletinQuery),
    responses(
        (status = 200, description = "the bulletin (or its text alone, as text/plain)", body = BulletinBody),
        (status = 401, description = "a token was sent but is not a live session", body = ErrorBody),
        (status = 422, description = "invalid parameter (a future date, an unknown language; a region below the provinces outside the caller's jurisdiction, or no such region)", body = ErrorBody),
    )
)]
pub async fn bulletin(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<BulletinQuery>,
) -> ApiResult<Response> {
    let service = &state.service;
    let date = date_param("date", q.date.as_deref(), service.today())?;
    let lang = match q.lang.as_deref().map(str::trim) {
        None | Some("") => Lang::Zh,
        Some(l) => Lang::parse(l)
            .ok_or_else(|| ApiError::invalid("lang", format!("must be zh or en, got {l:?}")))?,
    };
    let text_only = wants_text(q.format.as_deref(), &headers)?;
    let region = q.region.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let who = crate::auth::caller(&headers, &state).await?;
    let figures = service.public_bulletin(who.as_ref(), region, date).await?;
    let text = figures.render(lang);
    if text_only {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response());
    }
    let region_code = match region {
        Some(code) => service.region(code).await?.code.to_string(),
        None => NATION_CODE.to_owned(),
    };
    Ok(Json(BulletinBody {
        date,
        region_code,
        lang: match lang {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
        .to_owned(),
        text,
        figures: BulletinFiguresBody::from(&figures),
    })
    .into_response())
}
