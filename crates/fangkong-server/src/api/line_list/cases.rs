//! Cases (R3): reporting with the events already known, every later event
//! against the version the user saw (a stale one is a conflict, never a lost
//! change), reading and listing by jurisdiction, and the line list's
//! epidemic figures beside the filed reports.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::case::{
    CaseEvent, CaseId, CaseRecord, Classification, Facility, NewCase, Origin, Outcome, Place,
    Severity,
};
use fangkong_service::line_list::cases::{CaseQuery, LINE_LIST_FIELDS};
use fangkong_store::StoredCase;

use super::{
    at, date_field, given, next_cursor, opt_date, parse_person, region_field, rename_field,
    PersonBody, PersonInput,
};
use crate::api::{date_param, limit_param, text_param};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;

/// A case: the person, the classification and its dates, severity,
/// admission, outcome, and the history of every event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseBody {
    #[schema(example = "HB-2020-000123")]
    pub id: String,
    /// 1 when reported; each event adds one. Send it back as `expected_version`.
    pub version: u32,
    pub person: PersonBody,
    /// The unit that reported the case.
    #[schema(example = "420102")]
    pub reporting_unit: String,
    /// `suspected`, `confirmed` or `excluded`.
    pub classification: String,
    /// `mild`, `severe` or `critical`, and since when.
    pub severity: Option<String>,
    pub severity_date: Option<NaiveDate>,
    pub admission: Option<AdmissionBody>,
    /// `recovered` or `death`; none while the case is open.
    pub outcome: Option<String>,
    pub outcome_date: Option<NaiveDate>,
    pub imported: bool,
    pub place_of_exposure: Option<String>,
    pub onset_date: Option<NaiveDate>,
    pub first_visit_date: Option<NaiveDate>,
    pub report_date: NaiveDate,
    pub confirmation_date: Option<NaiveDate>,
    pub exclusion_date: Option<NaiveDate>,
    pub source_case_ids: Vec<String>,
    /// The close contact this case was converted from.
    pub from_contact_id: Option<String>,
    /// The day the case was entered.
    pub opened_on: NaiveDate,
    /// Every event after the report, oldest first.
    pub history: Vec<CaseEventBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdmissionBody {
    pub facility_region: String,
    pub facility_name: String,
    pub date: NaiveDate,
}

/// One entry of a case's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventBody {
    /// The version this event made.
    pub version: u32,
    /// `confirm`, `exclude`, `revise`, `set_severity`, `admit`, `discharge` or `die`.
    pub event: String,
    pub date: NaiveDate,
    /// The day it was recorded.
    pub recorded_on: NaiveDate,
    /// `revise`: the new classification and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `set_severity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// `admit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility_name: Option<String>,
}

impl From<&CaseRecord> for CaseEventBody {
    fn from(r: &CaseRecord) -> Self {
        let mut body = CaseEventBody {
            version: r.version,
            event: r.event.name().to_owned(),
            date: r.event.date(),
            recorded_on: r.recorded_on,
            to: None,
            reason: None,
            severity: None,
            facility_region: None,
            facility_name: None,
        };
        match &r.event {
            CaseEvent::Revise { to, reason, .. } => {
                body.to = Some(to.name().to_owned());
                body.reason = Some(reason.clone());
            }
            CaseEvent::SetSeverity { severity, .. } => {
                body.severity = Some(severity.name().to_owned());
            }
            CaseEvent::Admit { facility, .. } => {
                body.facility_region = Some(facility.region.to_string());
                body.facility_name = Some(facility.name.as_str().to_owned());
            }
            CaseEvent::Confirm { .. }
            | CaseEvent::Exclude { .. }
            | CaseEvent::Discharge { .. }
            | CaseEvent::Die { .. } => {}
        }
        body
    }
}

impl CaseBody {
    /// `full_id_number`: the single case shows the ID number, lists mask it.
    pub fn new(stored: &StoredCase, full_id_number: bool) -> CaseBody {
        let c = &stored.entry.case;
        let dates = c.dates();
        CaseBody {
            id: c.id().to_string(),
            version: c.version(),
            person: PersonBody::new(c.person(), full_id_number),
            reporting_unit: c.reporting_unit().to_string(),
            classification: c.classification().name().to_owned(),
            severity: c.severity().map(|(s, _)| s.name().to_owned()),
            severity_date: c.severity().map(|(_, d)| d),
            admission: c.admission().map(|a| AdmissionBody {
                facility_region: a.facility.region.to_string(),
                facility_name: a.facility.name.as_str().to_owned(),
                date: a.date,
            }),
            outcome: c.outcome().map(|(o, _)| o.name().to_owned()),
            outcome_date: c.outcome().map(|(_, d)| d),
            imported: c.origin() == Origin::Imported,
            place_of_exposure: c.place_of_exposure().map(|p| p.as_str().to_owned()),
            onset_date: dates.onset,
            first_visit_date: dates.first_visit,
            report_date: dates.report,
            confirmation_date: dates.confirmation,
            exclusion_date: dates.exclusion,
            source_case_ids: c.source_cases().iter().map(ToString::to_string).collect(),
            from_contact_id: c.from_contact().map(ToString::to_string),
            opened_on: c.opened_on(),
            history: c.history().iter().map(CaseEventBody::from).collect(),
        }
    }
}

/// The `ETag` of a case version: `"<version>"`.
fn etag(version: u32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A case answer with its version as `ETag`.
fn case_response(status: StatusCode, stored: &StoredCase) -> Response {
    let body = CaseBody::new(stored, true);
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(stored.entry.case.version()));
    response
}

/// A case id from the path.
pub(crate) fn case_id(id: &str) -> ApiResult<CaseId> {
    at("id", CaseId::parse(id))
}

/// Report a case: the person, the reporting unit, dates, origin and
/// sources, and any events already known.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportCaseRequest {
    /// The case's id as given by the reporting unit.
    #[schema(example = "HB-2020-000123")]
    pub case_id: String,
    pub name: Option<String>,
    /// An 18-character resident identity number (checked).
    pub id_number: Option<String>,
    /// `male`, `female` or `unknown` (default: from the ID number, else unknown).
    pub sex: Option<String>,
    pub age: Option<i64>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// The home region.
    #[schema(example = "420102")]
    pub region_code: String,
    /// The reporting unit: a region in the caller's jurisdiction.
    #[schema(example = "420102")]
    pub reporting_unit: String,
    #[serde(default)]
    pub imported: bool,
    /// Where the person was exposed (`travel from Wuhan`, a market, …).
    pub place_of_exposure: Option<String>,
    /// `YYYY-MM-DD`.
    pub onset_date: Option<String>,
    pub first_visit_date: Option<String>,
    #[schema(example = "2020-01-25")]
    pub report_date: String,
    /// The cases this one was infected by.
    #[serde(default)]
    pub source_case_ids: Vec<String>,
    /// `suspected` (default), `confirmed` (with `confirmation_date`) or
    /// `excluded` (with `exclusion_date`).
    pub classification: Option<String>,
    pub confirmation_date: Option<String>,
    pub exclusion_date: Option<String>,
    /// `mild`, `severe` or `critical`, since `severity_date` (default: the report date).
    pub severity: Option<String>,
    pub severity_date: Option<String>,
    /// An admission: all three, or none.
    pub facility_region: Option<String>,
    pub facility_name: Option<String>,
    pub admission_date: Option<String>,
    /// `recovered` or `death`, on `outcome_date`.
    pub outcome: Option<String>,
    pub outcome_date: Option<String>,
}

/// The events a report brings along, in the order they are applied:
/// classification, severity, admission, outcome.
fn initial_events(req: &ReportCaseRequest, report: NaiveDate) -> ApiResult<Vec<CaseEvent>> {
    let mut events = Vec::new();
    let confirmation = opt_date("confirmation_date", req.confirmation_date.as_deref())?;
    let exclusion = opt_date("exclusion_date", req.exclusion_date.as_deref())?;
    let classification = match given(req.classification.as_deref()) {
        Some(c) => c.parse::<Classification>()?,
        None if confirmation.is_some() => Classification::Confirmed,
        None if exclusion.is_some() => Classification::Excluded,
        None => Classification::Suspected,
    };
    match classification {
        Classification::Suspected => {
            if confirmation.is_some() {
                return Err(ApiError::invalid(
                    "confirmation_date",
                    "a suspected case has no confirmation date",
                ));
            }
            if exclusion.is_some() {
                return Err(ApiError::invalid(
                    "exclusion_date",
                    "a suspected case has no exclusion date",
                ));
            }
        }
        Classification::Confirmed => {
            if exclusion.is_some() {
                return Err(ApiError::invalid(
                    "exclusion_date",
                    "a confirmed case has no exclusion date",
                ));
            }
            let date = confirmation.ok_or_else(|| {
                ApiError::invalid("confirmation_date", "is required for a confirmed case")
            })?;
            events.push(CaseEvent::Confirm { date });
        }
        Classification::Excluded => {
            if confirmation.is_some() {
                return Err(ApiError::invalid(
                    "confirmation_date",
                    "an excluded case has no confirmation date",
                ));
            }
            let date = exclusion.ok_or_else(|| {
                ApiError::invalid("exclusion_date", "is required for an excluded case")
            })?;
            events.push(CaseEvent::Exclude { date });
        }
    }
    let severity_date = opt_date("severity_date", req.severity_date.as_deref())?;
    match given(req.severity.as_deref()) {
        Some(s) => events.push(CaseEvent::SetSeverity {
            severity: s.parse::<Severity>()?,
            date: severity_date.unwrap_or(report),
        }),
        None if severity_date.is_some() => {
            return Err(ApiError::invalid(
                "severity",
                "is required with severity_date",
            ))
        }
        None => {}
    }
    let admission_date = opt_date("admission_date", req.admission_date.as_deref())?;
    match (
        given(req.facility_region.as_deref()),
        given(req.facility_name.as_deref()),
        admission_date,
    ) {
        (None, None, None) => {}
        (Some(region), Some(name), Some(date)) => events.push(CaseEvent::Admit {
            facility: Facility {
                region: region_field("facility_region", region)?,
                name: Place::parse("facility_name", name)?,
            },
            date,
        }),
        (region, name, _) => {
            let missing = if region.is_none() {
                "facility_region"
            } else if name.is_none() {
                "facility_name"
            } else {
                "admission_date"
            };
            return Err(ApiError::invalid(
                missing,
                "an admission needs facility_region, facility_name and admission_date",
            ));
        }
    }
    let outcome_date = opt_date("outcome_date", req.outcome_date.as_deref())?;
    match (given(req.outcome.as_deref()), outcome_date) {
        (None, None) => {}
        (Some(o), Some(date)) => events.push(match o.parse::<Outcome>()? {
            Outcome::Recovered => CaseEvent::Discharge { date },
            Outcome::Death => CaseEvent::Die { date },
        }),
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "outcome_date",
                "is required with an outcome",
            ))
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "outcome",
                "is required with outcome_date",
            ))
        }
    }
    Ok(events)
}

fn new_case(req: &ReportCaseRequest) -> ApiResult<NewCase> {
    let id = CaseId::parse(&req.case_id)?;
    let person = parse_person(PersonInput {
        name: req.name.as_deref(),
        id_number: req.id_number.as_deref(),
        sex: req.sex.as_deref(),
        age: req.age,
        phone: req.phone.as_deref(),
        address: req.address.as_deref(),
        region_code: &req.region_code,
    })?;
    let reporting_unit = region_field("reporting_unit", &req.reporting_unit)?;
    let place_of_exposure = given(req.place_of_exposure.as_deref())
        .map(|p| Place::parse("place_of_exposure", p))
        .transpose()?;
    let mut source_cases = Vec::with_capacity(req.source_case_ids.len());
    for (i, s) in req.source_case_ids.iter().enumerate() {
        source_cases.push(at(&format!("source_case_ids[{i}]"), CaseId::parse(s))?);
    }
    Ok(NewCase {
        id,
        person,
        reporting_unit,
        origin: if req.imported {
            Origin::Imported
        } else {
            Origin::Local
        },
        place_of_exposure,
        onset: opt_date("onset_date", req.onset_date.as_deref())?,
        first_visit: opt_date("first_visit_date", req.first_visit_date.as_deref())?,
        report: date_field("report_date", &req.report_date)?,
        source_cases,
        from_contact: None,
    })
}

/// Report a case (suspected, version 1) with the events already known:
/// a confirmation or exclusion, a severity, an admission, an outcome. The
/// reporting unit must be in the caller's jurisdiction; the person may
/// live anywhere (both counties then see the case). A date that breaks a
/// rule of the state machine is refused naming the field and the `rule`.
#[utoipa::path(
    post,
    path = "/api/v1/cases",
    tag = "line list",
    security(("bearer" = [])),
    request_body = ReportCaseRequest,
    responses(
        (status = 201, description = "reported; `ETag` is the version", body = CaseBody),
        (status = 401, description = "not logged in", body = ErrorBody),
        (status = 403, description = "the reporting unit is outside the caller's jurisdiction", body = ErrorBody),
        (status = 404, description = "no such region", body = ErrorBody),
        (status = 409, description = "a case with this id exists", body = ErrorBody),
        (status = 422, description = "an invalid field, or a rule of the state machine (`rule`)", body = ErrorBody),
    )
)]
pub async fn report_case(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(req): JsonBody<ReportCaseRequest>,
) -> ApiResult<Response> {
    let new = new_case(&req)?;
    let events = initial_events(&req, new.report)?;
    let stored = state
        .service
        .report_case(&who, new, events)
        .await
        .map_err(|e| {
            rename_field(e.into(), |f| match f {
                "source_case_id" => Some("source_case_ids"),
                "facility" => Some("facility_name"),
                _ => None,
            })
        })?;
    tracing::info!(case = %stored.entry.case.id(), "case reported");
    Ok(case_response(StatusCode::CREATED, &stored))
}

/// One case, with the person's data in full and every event.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the case id", example = "HB-2020-000123")),
    responses(
        (status = 200, description = "the case; `ETag` is the version", body = CaseBody),
        (status = 404, description = "no such case in the caller's jurisdiction", body = ErrorBody),
    )
)]
pub async fn case(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
) -> ApiResult<Response> {
    let stored = state.service.case(&who, &case_id(&id)?).await?;
    Ok(case_response(StatusCode::OK, &stored))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseListQuery {
    /// The subtree (default: the caller's home region); a case is in it by
    /// its home region or its reporting unit.
    pub region: Option<String>,
    /// Reported on or after this day, `YYYY-MM-DD`.
    pub reported_from: Option<String>,
    /// Reported on or before this day.
    pub reported_to: Option<String>,
    /// `suspected`, `confirmed` or `excluded` (now).
    pub classification: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A page of cases, by case id. ID numbers are masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseBody>,
    /// Pass as `after` for the next page; none on the last page.
    pub next: Option<String>,
}

/// The cases the caller may see in a region's subtree, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "line list",
    security(("bearer" = [])),
    params(CaseListQuery),
    responses(
        (status = 200, description = "a page of cases", body = CasePage),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn list_cases(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<CaseListQuery>,
) -> ApiResult<Json<CasePage>> {
    let limit = limit_param("limit", q.limit, 100, 1000)?;
    let reported_from = opt_date("reported_from", q.reported_from.as_deref())?;
    let reported_to = opt_date("reported_to", q.reported_to.as_deref())?;
    if let (Some(from), Some(to)) = (reported_from, reported_to) {
        if from > to {
            return Err(ApiError::invalid(
                "reported_from",
                format!("{from} is after reported_to ({to})"),
            ));
        }
    }
    let classification = given(q.classification.as_deref())
        .map(str::parse::<Classification>)
        .transpose()?;
    let after = given(q.after.as_deref())
        .map(|a| at("after", CaseId::parse(a)))
        .transpose()?;
    let query = CaseQuery {
        region: given(q.region.as_deref()).map(str::to_owned),
        reported_from,
        reported_to,
        classification,
        after,
        limit,
    };
    let cases = state.service.cases(&who, &query).await?;
    Ok(Json(CasePage {
        next: next_cursor(&cases, limit, |c| c.entry.case.id().to_string()),
        cases: cases.iter().map(|c| CaseBody::new(c, false)).collect(),
    }))
}

/// An event of a case, against the version the user saw.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseEventRequest {
    /// The version the change was made on (or send `If-Match: "<version>"`).
    pub expected_version: Option<u32>,
    /// `confirm`, `exclude`, `revise`, `set_severity`, `admit`, `discharge` or `die`.
    #[schema(example = "confirm")]
    pub event: String,
    /// The day of the event, `YYYY-MM-DD`.
    #[schema(example = "2020-01-27")]
    pub date: String,
    /// `revise`: the new classification, and why.
    pub to: Option<String>,
    pub reason: Option<String>,
    /// `set_severity`: `mild`, `severe` or `critical`.
    pub severity: Option<String>,
    /// `admit`: the facility (an admission, or a transfer when admitted).
    pub facility_region: Option<String>,
    pub facility_name: Option<String>,
}

/// The fields an event request may carry, by event.
const EVENT_FIELDS: [(&str, &[&str]); 7] = [
    ("confirm", &[]),
    ("exclude", &[]),
    ("revise", &["to", "reason"]),
    ("set_severity", &["severity"]),
    ("admit", &["facility_region", "facility_name"]),
    ("discharge", &[]),
    ("die", &[]),
];

fn case_event(req: &CaseEventRequest) -> ApiResult<CaseEvent> {
    let name = req.event.trim().to_ascii_lowercase();
    let Some((_, allowed)) = EVENT_FIELDS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = EVENT_FIELDS.iter().map(|(n, _)| *n).collect();
        return Err(ApiError::invalid(
            "event",
            format!(
                "unknown event {:?}; expected one of {}",
                req.event.trim(),
                names.join(", ")
            ),
        ));
    };
    for (field, value) in [
        ("to", &req.to),
        ("reason", &req.reason),
        ("severity", &req.severity),
        ("facility_region", &req.facility_region),
        ("facility_name", &req.facility_name),
    ] {
        if value.is_some() && !allowed.contains(&field) {
            return Err(ApiError::invalid(
                field,
                format!("is not a field of the event {name}"),
            ));
        }
    }
    let required = |field: &str, value: &Option<String>| -> ApiResult<String> {
        given(value.as_deref())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::invalid(field, format!("is required for the event {name}")))
    };
    let date = date_field("date", &req.date)?;
    Ok(match name.as_str() {
        "confirm" => CaseEvent::Confirm { date },
        "exclude" => CaseEvent::Exclude { date },
        "revise" => CaseEvent::Revise {
            to: at("to", required("to", &req.to)?.parse::<Classification>())?,
            date,
            reason: req.reason.clone().unwrap_or_default(),
        },
        "set_severity" => CaseEvent::SetSeverity {
            severity: required("severity", &req.severity)?.parse::<Severity>()?,
            date,
        },
        "admit" => CaseEvent::Admit {
            facility: Facility {
                region: region_field(
                    "facility_region",
                    &required("facility_region", &req.facility_region)?,
                )?,
                name: Place::parse(
                    "facility_name",
                    &required("facility_name", &req.facility_name)?,
                )?,
            },
            date,
        },
        "discharge" => CaseEvent::Discharge { date },
        _ => CaseEvent::Die { date },
    })
}

/// The version of an `If-Match` header: `"3"`, `3` or `W/"3"`.
fn if_match(headers: &HeaderMap) -> ApiResult<Option<u32>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let bare = text.trim_start_matches("W/").trim_matches('"');
    bare.parse::<u32>().map(Some).map_err(|_| {
        ApiError::invalid(
            "If-Match",
            format!("{text:?} is not a case version (the ETag of the case, e.g. \"3\")"),
        )
    })
}

/// Record an event of a case — confirm, exclude, revise (the only way out
/// of confirmed or excluded), set the severity, admit (or transfer),
/// discharge cured, die — against the version the user saw. A case changed
/// since is a conflict and nothing is written; an event that breaks a rule
/// of the state machine is refused naming the rule.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/events",
    tag = "line list",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "the case id", example = "HB-2020-000123"),
        ("If-Match" = Option<String>, Header, description = "the case's ETag, instead of expected_version"),
    ),
    request_body = CaseEventRequest,
    responses(
        (status = 200, description = "the case after the event; `ETag` is the new version", body = CaseBody),
        (status = 404, description = "no such case in the caller's jurisdiction", body = ErrorBody),
        (status = 409, description = "the case changed since expected_version", body = ErrorBody),
        (status = 422, description = "an invalid field, or a rule of the state machine (`rule`)", body = ErrorBody),
    )
)]
pub async fn record_event(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CaseEventRequest>,
) -> ApiResult<Response> {
    let id = case_id(&id)?;
    let header_version = if_match(&headers)?;
    let expected = match (req.expected_version, header_version) {
        (Some(v), Some(h)) if v != h => {
            return Err(ApiError::invalid(
                "expected_version",
                format!("{v} differs from If-Match ({h})"),
            ))
        }
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => {
            return Err(ApiError::invalid(
                "expected_version",
                "is required (the case's version as read), or send If-Match",
            ))
        }
    };
    let event = case_event(&req)?;
    let revise = matches!(event, CaseEvent::Revise { .. });
    let stored = state
        .service
        .record_case_event(&who, &id, expected, event)
        .await
        .map_err(|e| {
            // the service names the case's fields; answer with the request's
            rename_field(e.into(), |f| match f {
                "confirmation_date" | "exclusion_date" | "revision_date" | "severity_date"
                | "admission_date" | "outcome_date" => Some("date"),
                "classification" if revise => Some("to"),
                "classification" | "outcome" | "facility" => Some("event"),
                _ => None,
            })
        })?;
    tracing::info!(case = %id, version = stored.entry.case.version(), "case event");
    Ok(case_response(StatusCode::OK, &stored))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day (default: today).
    pub to: Option<String>,
}

struct Period {
    region: String,
    from: NaiveDate,
    to: NaiveDate,
}

fn period(
    state: &AppState,
    who: &fangkong_service::Principal,
    q: &FiguresQuery,
) -> ApiResult<Period> {
    let to = date_param("to", q.to.as_deref(), state.service.today())?;
    let from = date_param("from", q.from.as_deref(), to - Duration::days(29))?;
    if from > to {
        return Err(ApiError::invalid(
            "from",
            format!("{from} is after to ({to})"),
        ));
    }
    let home = who.region.code.to_string();
    Ok(Period {
        region: text_param(q.region.as_deref(), &home).to_owned(),
        from,
        to,
    })
}

/// A day of the epidemic figures the line list gives.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineListDayBody {
    pub date: NaiveDate,
    /// By field of the `epidemic` form.
    #[schema(value_type = BTreeMap<String, i64>, example = json!({"new_confirmed": 3, "new_suspected": 1, "new_severe": 0, "new_deaths": 0, "new_recovered": 0, "current_severe": 0, "current_suspected": 2, "current_observation": 40}))]
    pub values: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineListFiguresBody {
    pub region: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The fields, in the form's order.
    pub fields: Vec<String>,
    pub days: Vec<LineListDayBody>,
}

/// The `epidemic` figures a region's line list implies, day by day: cases
/// counted where they were reported, contacts where they were registered.
#[utoipa::path(
    get,
    path = "/api/v1/line-list/figures",
    tag = "line list",
    security(("bearer" = [])),
    params(FiguresQuery),
    responses(
        (status = 200, description = "one entry per day", body = LineListFiguresBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn figures(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<FiguresQuery>,
) -> ApiResult<Json<LineListFiguresBody>> {
    let p = period(&state, &who, &q)?;
    let days = state
        .service
        .line_list_figures(&who, &p.region, p.from, p.to)
        .await?;
    Ok(Json(LineListFiguresBody {
        region: p.region,
        from: p.from,
        to: p.to,
        fields: LINE_LIST_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
        days: days
            .into_iter()
            .map(|d| LineListDayBody {
                date: d.date,
                values: LINE_LIST_FIELDS
                    .iter()
                    .zip(d.values)
                    .map(|(f, v)| ((*f).to_owned(), v))
                    .collect(),
            })
            .collect(),
    }))
}

/// A field of a day where the line list and the filed report disagree.
#[derive(Debug, Serialize, ToSchema)]
pub struct MismatchBody {
    pub date: NaiveDate,
    #[schema(example = "new_confirmed")]
    pub field: String,
    pub line_list: i64,
    /// The filed (or rolled-up) figure; none when nothing was filed that day.
    pub reported: Option<i64>,
}

/// Where a region's line list and its filed `epidemic` reports disagree,
/// day by day and field by field.
#[utoipa::path(
    get,
    path = "/api/v1/line-list/mismatches",
    tag = "line list",
    security(("bearer" = [])),
    params(FiguresQuery),
    responses(
        (status = 200, description = "the disagreements, by day and field", body = [MismatchBody]),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn mismatches(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<FiguresQuery>,
) -> ApiResult<Json<Vec<MismatchBody>>> {
    let p = period(&state, &who, &q)?;
    let list = state
        .service
        .line_list_mismatches(&who, &p.region, p.from, p.to)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|m| MismatchBody {
                date: m.date,
                field: m.field.to_owned(),
                line_list: m.line_list,
                reported: m.reported,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn event(json: serde_json::Value) -> Result<CaseEvent, String> {
        let req: CaseEventRequest = serde_json::from_value(json).map_err(|e| e.to_string())?;
        case_event(&req).map_err(|e| match e {
            ApiError::Invalid(f) => f.field,
            other => other.to_string(),
        })
    }

    #[test]
    fn events_name_their_fields() {
        assert!(matches!(
            event(serde_json::json!({"event": "confirm", "date": "2020-01-27"})),
            Ok(CaseEvent::Confirm { .. })
        ));
        assert_eq!(
            event(serde_json::json!({"event": "promote", "date": "2020-01-27"})),
            Err("event".into())
        );
        assert_eq!(
            event(serde_json::json!({"event": "confirm", "date": "27/01/2020"})),
            Err("date".into())
        );
        assert_eq!(
            event(serde_json::json!({"event": "revise", "date": "2020-01-27", "reason": "x"})),
            Err("to".into())
        );
        assert_eq!(
            event(serde_json::json!({"event": "revise", "date": "2020-01-27", "to": "maybe"})),
            Err("to".into())
        );
        assert_eq!(
            event(
                serde_json::json!({"event": "confirm", "date": "2020-01-27", "severity": "mild"})
            ),
            Err("severity".into())
        );
        assert_eq!(
            event(
                serde_json::json!({"event": "admit", "date": "2020-01-27", "facility_region": "420102"})
            ),
            Err("facility_name".into())
        );
        assert_eq!(
            event(
                serde_json::json!({"event": "set_severity", "date": "2020-01-27", "severity": "grave"})
            ),
            Err("severity".into())
        );
    }

    #[test]
    fn if_match_reads_etags() {
        let mut h = HeaderMap::new();
        assert!(matches!(if_match(&h), Ok(None)));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"3\""));
        assert!(matches!(if_match(&h), Ok(Some(3))));
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"4\""));
        assert!(matches!(if_match(&h), Ok(Some(4))));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert!(if_match(&h).is_err());
    }
}
