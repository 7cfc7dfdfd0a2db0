//! One person, one record (R12): the review list of candidate pairs — two
//! records that may be one person — and the decision on each: merged (the
//! newer record into the older, history kept) or distinct.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::matching::MatchStatus;
use fangkong_service::line_list::persons::{CandidateView, PersonView};

use super::{given, PersonBody};
use crate::api::limit_param;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;

/// A person record in a pair. The data is shown (ID number masked) only
/// when the caller may see the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonRecordBody {
    pub id: i64,
    pub visible: bool,
    pub person: Option<PersonBody>,
    /// The record this one was merged into.
    pub merged_into: Option<i64>,
    pub case_ids: Vec<String>,
    pub contact_ids: Vec<String>,
}

impl From<&PersonView> for PersonRecordBody {
    fn from(p: &PersonView) -> Self {
        PersonRecordBody {
            id: p.id,
            visible: p.person.is_some(),
            person: p.person.as_ref().map(|x| PersonBody::new(x, false)),
            merged_into: p.merged_into,
            case_ids: p.cases.iter().map(ToString::to_string).collect(),
            contact_ids: p.contacts.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Two records that may be one person.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateBody {
    pub id: i64,
    /// `name_phone` or `name_birth_year`.
    pub reason: String,
    /// How alike the two are, 0–1.
    pub score: f64,
    /// `pending`, `merged` or `distinct`.
    pub status: String,
    pub found_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The older record (kept on a merge) and the newer.
    pub a: PersonRecordBody,
    pub b: PersonRecordBody,
}

impl From<&CandidateView> for CandidateBody {
    fn from(v: &CandidateView) -> Self {
        let c = &v.candidate;
        CandidateBody {
            id: c.id,
            reason: c.reason.name().to_owned(),
            score: c.score,
            status: c.status.name().to_owned(),
            found_at: c.found_at,
            decided_by: c.decided_by.clone(),
            decided_at: c.decided_at,
            a: PersonRecordBody::from(&v.a),
            b: PersonRecordBody::from(&v.b),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidatesQuery {
    /// `pending` (default), `merged`, `distinct` or `all`.
    pub status: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The review list: candidate pairs with a person in the caller's
/// jurisdiction, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/persons/candidates",
    tag = "line list",
    security(("bearer" = [])),
    params(CandidatesQuery),
    responses(
        (status = 200, description = "the candidate pairs", body = [CandidateBody]),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn candidates(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<CandidatesQuery>,
) -> ApiResult<Json<Vec<CandidateBody>>> {
    let limit = limit_param("limit", q.limit, 100, 1000)?;
    let status = match given(q.status.as_deref()) {
        None => Some(MatchStatus::Pending),
        Some(s) if s.eq_ignore_ascii_case("all") => None,
        Some(s) => Some(s.parse::<MatchStatus>()?),
    };
    let list = state.service.match_candidates(&who, status, limit).await?;
    Ok(Json(list.iter().map(CandidateBody::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `merged` (one person: the newer record is merged into the older) or
    /// `distinct` (two people).
    #[schema(example = "merged")]
    pub decision: String,
}

/// Decide a candidate pair. Both records must be in the caller's jurisdiction.
#[utoipa::path(
    post,
    path = "/api/v1/persons/candidates/{id}",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "the candidate pair")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "the pair, decided", body = CandidateBody),
        (status = 403, description = "a record is outside the caller's jurisdiction", body = ErrorBody),
        (status = 404, description = "no such pair", body = ErrorBody),
        (status = 409, description = "decided already, or a record was merged since", body = ErrorBody),
        (status = 422, description = "invalid decision", body = ErrorBody),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<DecisionRequest>,
) -> ApiResult<Json<CandidateBody>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::invalid("id", format!("{id:?} is not a candidate pair id")))?;
    let decision = match MatchStatus::parse(&req.decision) {
        Some(d @ (MatchStatus::Merged | MatchStatus::Distinct)) => d,
        _ => {
            return Err(ApiError::invalid(
                "decision",
                format!("must be merged or distinct, got {:?}", req.decision),
            ))
        }
    };
    let view = state.service.decide_match(&who, id, decision).await?;
    Ok(Json(CandidateBody::from(&view)))
}
