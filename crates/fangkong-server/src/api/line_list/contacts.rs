//! Close contacts and medical observation (R4): registration, new links,
//! daily follow-up, the due list with its "not reached for two days" flag,
//! and conversion of a contact with fever or symptoms into a suspected case.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::case::{CaseId, Place};
use fangkong_domain::contact::{
    ContactId, ContactLink, ContactStatus, Exposure, FollowUp, FollowUpResult, NewContact,
    ObservationPeriod, ObservationPlace, Symptom, Symptoms, Temperature,
};
use fangkong_service::line_list::contacts::{ContactQuery, DueContact};
use fangkong_store::StoredContact;

use super::cases::CaseBody;
use super::{
    at, date_field, given, next_cursor, opt_date, parse_person, region_field, rename_field,
    PersonBody, PersonInput,
};
use crate::api::{date_param, limit_param};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;

/// A contact's link to a source case.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    #[schema(example = "HB-2020-000123")]
    pub source_case_id: String,
    /// `household`, `work`, `transport`, `healthcare` or `other`.
    #[schema(example = "household")]
    pub exposure: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "2020-01-24")]
    pub last_exposure_date: String,
}

/// One day's follow-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpBody {
    pub date: NaiveDate,
    pub reached: bool,
    /// °C, when reached.
    pub temperature: Option<f32>,
    /// 37.3 °C or more.
    pub fever: bool,
    pub symptoms: Vec<String>,
}

impl From<&FollowUp> for FollowUpBody {
    fn from(f: &FollowUp) -> Self {
        let (temperature, symptoms) = match f.result {
            FollowUpResult::Reached {
                temperature,
                symptoms,
            } => (
                Some(temperature.celsius()),
                symptoms.iter().map(|s| s.name().to_owned()).collect(),
            ),
            FollowUpResult::NotReached => (None, Vec::new()),
        };
        FollowUpBody {
            date: f.date,
            reached: f.is_reached(),
            temperature,
            fever: f.has_fever(),
            symptoms,
        }
    }
}

/// The case a contact became.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionBody {
    pub case_id: String,
    pub date: NaiveDate,
}

/// A close contact under (or after) medical observation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactBody {
    #[schema(example = "HB-C-000456")]
    pub id: String,
    /// Send it back as `expected_version` to refuse changes made in between.
    pub version: u32,
    pub person: PersonBody,
    /// The unit that traced and registered the contact.
    pub reporting_unit: String,
    pub links: Vec<LinkBody>,
    /// `home` or `centralised`.
    pub place: String,
    /// The isolation site, when centralised.
    pub site: Option<String>,
    pub registered_date: NaiveDate,
    pub observation_days: u16,
    pub last_exposure_date: NaiveDate,
    /// The day observation ends: not itself observed.
    pub release_date: NaiveDate,
    /// Today: `not_registered`, `under_observation`, `released` or `converted`.
    pub status: String,
    pub converted: Option<ConversionBody>,
    /// Oldest first, one per day.
    pub follow_ups: Vec<FollowUpBody>,
}

fn status_name(s: ContactStatus) -> &'static str {
    match s {
        ContactStatus::NotRegistered => "not_registered",
        ContactStatus::UnderObservation => "under_observation",
        ContactStatus::Released => "released",
        ContactStatus::Converted => "converted",
    }
}

fn place_parts(p: &ObservationPlace) -> (String, Option<String>) {
    match p {
        ObservationPlace::Home => ("home".into(), None),
        ObservationPlace::Centralised { site } => {
            ("centralised".into(), Some(site.as_str().to_owned()))
        }
    }
}

impl ContactBody {
    pub fn new(stored: &StoredContact, today: NaiveDate, full_id_number: bool) -> ContactBody {
        let c = &stored.entry.contact;
        let (place, site) = place_parts(c.place());
        ContactBody {
            id: c.id().to_string(),
            version: stored.entry.version,
            person: PersonBody::new(c.person(), full_id_number),
            reporting_unit: stored.entry.reporting_unit.to_string(),
            links: c
                .links()
                .iter()
                .map(|l| LinkBody {
                    source_case_id: l.source.to_string(),
                    exposure: l.exposure.name().to_owned(),
                    last_exposure_date: l.last_exposure.to_string(),
                })
                .collect(),
            place,
            site,
            registered_date: c.registered(),
            observation_days: c.period().days(),
            last_exposure_date: c.last_exposure(),
            release_date: c.release_date(),
            status: status_name(c.status_on(today)).to_owned(),
            converted: c.converted().map(|(id, date)| ConversionBody {
                case_id: id.to_string(),
                date,
            }),
            follow_ups: c.follow_ups().iter().map(FollowUpBody::from).collect(),
        }
    }
}

fn contact_id(id: &str) -> ApiResult<ContactId> {
    at("id", ContactId::parse(id))
}

fn parse_link(prefix: &str, l: &LinkBody) -> ApiResult<ContactLink> {
    Ok(ContactLink {
        source: at(
            &format!("{prefix}source_case_id"),
            CaseId::parse(&l.source_case_id),
        )?,
        exposure: at(&format!("{prefix}exposure"), l.exposure.parse::<Exposure>())?,
        last_exposure: date_field(
            &format!("{prefix}last_exposure_date"),
            &l.last_exposure_date,
        )?,
    })
}

/// Register a close contact of one or more cases.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterContactRequest {
    #[schema(example = "HB-C-000456")]
    pub contact_id: String,
    pub name: Option<String>,
    pub id_number: Option<String>,
    /// `male`, `female` or `unknown` (default: from the ID number, else unknown).
    pub sex: Option<String>,
    pub age: Option<i64>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// The home region.
    #[schema(example = "420102")]
    pub region_code: String,
    /// The unit that traced the contact: in the caller's jurisdiction.
    #[schema(example = "420102")]
    pub reporting_unit: String,
    /// The source cases (at least one).
    pub links: Vec<LinkBody>,
    /// `home` (default) or `centralised` (with `site`).
    pub place: Option<String>,
    /// The isolation site.
    pub site: Option<String>,
    /// `YYYY-MM-DD`: observation starts that day.
    #[schema(example = "2020-01-25")]
    pub registered_date: String,
    /// Days of observation after the last exposure (default 14).
    pub observation_days: Option<i64>,
}

fn observation_place(place: Option<&str>, site: Option<&str>) -> ApiResult<ObservationPlace> {
    match (
        given(place).map(str::to_ascii_lowercase).as_deref(),
        given(site),
    ) {
        (None | Some("home"), None) => Ok(ObservationPlace::Home),
        (None | Some("home"), Some(_)) => Err(ApiError::invalid(
            "site",
            "a site is given for centralised observation only",
        )),
        (Some("centralised" | "centralized"), Some(site)) => Ok(ObservationPlace::Centralised {
            site: Place::parse("site", site)?,
        }),
        (Some("centralised" | "centralized"), None) => Err(ApiError::invalid(
            "site",
            "is required for centralised observation",
        )),
        (Some(other), _) => Err(ApiError::invalid(
            "place",
            format!("unknown value {other:?}; expected home or centralised"),
        )),
    }
}

fn new_contact(
    req: &RegisterContactRequest,
    default_period: ObservationPeriod,
) -> ApiResult<NewContact> {
    let id = ContactId::parse(&req.contact_id)?;
    let person = parse_person(PersonInput {
        name: req.name.as_deref(),
        id_number: req.id_number.as_deref(),
        sex: req.sex.as_deref(),
        age: req.age,
        phone: req.phone.as_deref(),
        address: req.address.as_deref(),
        region_code: &req.region_code,
    })?;
    let mut links = Vec::with_capacity(req.links.len());
    for (i, l) in req.links.iter().enumerate() {
        links.push(parse_link(&format!("links[{i}]."), l)?);
    }
    let period = match req.observation_days {
        Some(days) => ObservationPeriod::new(days)?,
        None => default_period,
    };
    Ok(NewContact {
        id,
        person,
        links,
        place: observation_place(req.place.as_deref(), req.site.as_deref())?,
        registered: date_field("registered_date", &req.registered_date)?,
        period,
    })
}

/// The service names a link's fields without the list; the request has one.
fn link_fields(f: &str) -> Option<&'static str> {
    match f {
        "source_case_id" => Some("links"),
        "last_exposure_date" => Some("links"),
        _ => None,
    }
}

/// Register a close contact: the person, the source cases with the kind and
/// last day of exposure, the place of observation. Observation runs from
/// the registration day until the release day (the last exposure plus the
/// period). The reporting unit must be in the caller's jurisdiction.
#[utoipa::path(
    post,
    path = "/api/v1/contacts",
    tag = "line list",
    security(("bearer" = [])),
    request_body = RegisterContactRequest,
    responses(
        (status = 201, description = "registered", body = ContactBody),
        (status = 403, description = "the reporting unit is outside the caller's jurisdiction", body = ErrorBody),
        (status = 404, description = "no such region", body = ErrorBody),
        (status = 409, description = "a contact with this id exists", body = ErrorBody),
        (status = 422, description = "an invalid field, or a rule (`rule`)", body = ErrorBody),
    )
)]
pub async fn register_contact(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(req): JsonBody<RegisterContactRequest>,
) -> ApiResult<(StatusCode, Json<ContactBody>)> {
    let new = new_contact(&req, state.service.settings().observation_period)?;
    let unit = region_field("reporting_unit", &req.reporting_unit)?;
    let stored = state
        .service
        .register_contact(&who, new, &unit)
        .await
        .map_err(|e| rename_field(e.into(), link_fields))?;
    tracing::info!(contact = %stored.entry.contact.id(), "contact registered");
    let today = state.service.today();
    Ok((
        StatusCode::CREATED,
        Json(ContactBody::new(&stored, today, true)),
    ))
}

/// One contact, with the person's data in full and every follow-up.
#[utoipa::path(
    get,
    path = "/api/v1/contacts/{id}",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the contact id", example = "HB-C-000456")),
    responses(
        (status = 200, description = "the contact", body = ContactBody),
        (status = 404, description = "no such contact in the caller's jurisdiction", body = ErrorBody),
    )
)]
pub async fn contact(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<ContactBody>> {
    let stored = state.service.contact(&who, &contact_id(&id)?).await?;
    Ok(Json(ContactBody::new(&stored, state.service.today(), true)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactListQuery {
    /// The subtree (default: the caller's home region).
    pub region: Option<String>,
    /// Only those under observation on this day, `YYYY-MM-DD`.
    pub observed_on: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A page of contacts, by contact id. ID numbers are masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPage {
    pub contacts: Vec<ContactBody>,
    /// Pass as `after` for the next page; none on the last page.
    pub next: Option<String>,
}

/// The contacts the caller may see in a region's subtree, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/contacts",
    tag = "line list",
    security(("bearer" = [])),
    params(ContactListQuery),
    responses(
        (status = 200, description = "a page of contacts", body = ContactPage),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn list_contacts(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<ContactListQuery>,
) -> ApiResult<Json<ContactPage>> {
    let limit = limit_param("limit", q.limit, 100, 1000)?;
    let query = ContactQuery {
        region: given(q.region.as_deref()).map(str::to_owned),
        observed_on: opt_date("observed_on", q.observed_on.as_deref())?,
        after: given(q.after.as_deref())
            .map(|a| at("after", ContactId::parse(a)))
            .transpose()?,
        limit,
    };
    let contacts = state.service.contacts(&who, &query).await?;
    let today = state.service.today();
    Ok(Json(ContactPage {
        next: next_cursor(&contacts, limit, |c| c.entry.contact.id().to_string()),
        contacts: contacts
            .iter()
            .map(|c| ContactBody::new(c, today, false))
            .collect(),
    }))
}

/// A new source case of a contact, or a later exposure to one already linked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLinkRequest {
    #[schema(example = "HB-2020-000124")]
    pub source_case_id: String,
    /// `household`, `work`, `transport`, `healthcare` or `other`.
    pub exposure: String,
    pub last_exposure_date: String,
    /// Refuse the change if the contact changed since this version.
    pub expected_version: Option<u32>,
}

/// Link a contact to another source case, or move the last exposure to a
/// source already linked later; the release day moves with it.
#[utoipa::path(
    post,
    path = "/api/v1/contacts/{id}/links",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the contact id")),
    request_body = AddLinkRequest,
    responses(
        (status = 200, description = "the contact", body = ContactBody),
        (status = 404, description = "no such contact in the caller's jurisdiction", body = ErrorBody),
        (status = 409, description = "the contact changed since expected_version", body = ErrorBody),
        (status = 422, description = "an invalid field, or a rule (`rule`)", body = ErrorBody),
    )
)]
pub async fn add_link(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<AddLinkRequest>,
) -> ApiResult<Json<ContactBody>> {
    let id = contact_id(&id)?;
    let link = parse_link(
        "",
        &LinkBody {
            source_case_id: req.source_case_id,
            exposure: req.exposure,
            last_exposure_date: req.last_exposure_date,
        },
    )?;
    let stored = state
        .service
        .add_contact_link(&who, &id, link, req.expected_version)
        .await?;
    Ok(Json(ContactBody::new(&stored, state.service.today(), true)))
}

/// A day's follow-up: reached with temperature and symptoms, or not reached.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpRequest {
    /// `YYYY-MM-DD`: a day of observation, not in the future.
    #[schema(example = "2020-01-26")]
    pub date: String,
    pub reached: bool,
    /// °C (34.0–43.0); required when reached.
    #[schema(example = 36.6)]
    pub temperature: Option<f32>,
    /// `cough`, `fatigue`, `sore_throat`, `nasal_congestion`, `runny_nose`,
    /// `loss_of_smell_or_taste`, `shortness_of_breath`, `muscle_ache`,
    /// `diarrhoea`, `conjunctivitis`, `other`.
    #[serde(default)]
    pub symptoms: Vec<String>,
    /// Refuse the change if the contact changed since this version (without
    /// it, follow-ups of different days written at once are both kept).
    pub expected_version: Option<u32>,
}

fn follow_up_of(req: &FollowUpRequest) -> ApiResult<FollowUp> {
    let date = date_field("date", &req.date)?;
    let result = if req.reached {
        let temperature = req.temperature.ok_or_else(|| {
            ApiError::invalid("temperature", "is required when the contact was reached")
        })?;
        let temperature = at("temperature", Temperature::new(temperature))?;
        let mut symptoms = Symptoms::none();
        for (i, s) in req.symptoms.iter().enumerate() {
            symptoms.insert(at(&format!("symptoms[{i}]"), s.parse::<Symptom>())?);
        }
        FollowUpResult::Reached {
            temperature,
            symptoms,
        }
    } else {
        if req.temperature.is_some() {
            return Err(ApiError::invalid(
                "temperature",
                "a contact not reached has no temperature",
            ));
        }
        if !req.symptoms.is_empty() {
            return Err(ApiError::invalid(
                "symptoms",
                "a contact not reached has no symptoms",
            ));
        }
        FollowUpResult::NotReached
    };
    Ok(FollowUp { date, result })
}

/// Record a day's follow-up of a contact. A later result of the same day
/// replaces an earlier one, except that "not reached" never replaces
/// "reached".
#[utoipa::path(
    post,
    path = "/api/v1/contacts/{id}/follow-ups",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the contact id")),
    request_body = FollowUpRequest,
    responses(
        (status = 200, description = "the contact", body = ContactBody),
        (status = 404, description = "no such contact in the caller's jurisdiction", body = ErrorBody),
        (status = 409, description = "the contact changed since expected_version", body = ErrorBody),
        (status = 422, description = "an invalid field, or a rule (`rule`: outside_observation, already_converted, future_date)", body = ErrorBody),
    )
)]
pub async fn follow_up(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<FollowUpRequest>,
) -> ApiResult<Json<ContactBody>> {
    let id = contact_id(&id)?;
    let follow_up = follow_up_of(&req)?;
    let stored = state
        .service
        .record_follow_up(&who, &id, follow_up, req.expected_version)
        .await
        .map_err(|e| {
            rename_field(e.into(), |f| match f {
                "follow_up_date" => Some("date"),
                _ => None,
            })
        })?;
    Ok(Json(ContactBody::new(&stored, state.service.today(), true)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DueQuery {
    /// The region (default: the caller's home region).
    pub region: Option<String>,
    /// The day, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
}

/// A contact to follow up on the day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueContactBody {
    pub id: String,
    /// Send with the follow-up as `expected_version`, if wanted.
    pub version: u32,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub region_code: String,
    pub reporting_unit: String,
    /// `home` or `centralised`.
    pub place: String,
    pub site: Option<String>,
    pub release_date: NaiveDate,
    /// The latest follow-up recorded (of any day).
    pub last_follow_up: Option<FollowUpBody>,
    /// Not reached on the last two scheduled days: to be escalated.
    pub not_reached_two_days: bool,
}

impl From<&DueContact> for DueContactBody {
    fn from(d: &DueContact) -> Self {
        let entry = &d.contact.entry;
        let c = &entry.contact;
        let p = c.person();
        let (place, site) = place_parts(c.place());
        DueContactBody {
            id: c.id().to_string(),
            version: entry.version,
            name: p.name.as_ref().map(|n| n.as_str().to_owned()),
            phone: p.phone.as_ref().map(|x| x.as_str().to_owned()),
            address: p.address.as_ref().map(|x| x.as_str().to_owned()),
            region_code: p.home_region.to_string(),
            reporting_unit: entry.reporting_unit.to_string(),
            place,
            site,
            release_date: c.release_date(),
            last_follow_up: c.follow_ups().last().map(FollowUpBody::from),
            not_reached_two_days: d.not_reached_two_days,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DueListBody {
    pub date: NaiveDate,
    pub region: String,
    /// How many are due; how many of them were not reached for two days.
    pub due: usize,
    pub not_reached_two_days: usize,
    /// By contact id.
    pub contacts: Vec<DueContactBody>,
}

/// Who is due for follow-up on a day: the contacts of a region (a grid, a
/// village, a county) under observation and not yet reached that day, each
/// flagged when not reached for two days. Released contacts drop off on
/// their release day.
#[utoipa::path(
    get,
    path = "/api/v1/follow-ups/due",
    tag = "line list",
    security(("bearer" = [])),
    params(DueQuery),
    responses(
        (status = 200, description = "the due list", body = DueListBody),
        (status = 403, description = "outside the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn due(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<DueQuery>,
) -> ApiResult<Json<DueListBody>> {
    let date = date_param("date", q.date.as_deref(), state.service.today())?;
    let region = given(q.region.as_deref());
    let list = state.service.due_follow_ups(&who, region, date).await?;
    let contacts: Vec<DueContactBody> = list.iter().map(DueContactBody::from).collect();
    Ok(Json(DueListBody {
        date,
        region: region.map_or_else(|| who.region.code.to_string(), str::to_owned),
        due: contacts.len(),
        not_reached_two_days: contacts.iter().filter(|c| c.not_reached_two_days).count(),
        contacts,
    }))
}

/// Turn a contact into a suspected case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertRequest {
    /// The new case's id.
    #[schema(example = "HB-2020-000200")]
    pub case_id: String,
    /// `YYYY-MM-DD`: the case's report date; observation ends that day.
    pub report_date: String,
    /// The reporting unit (default: the contact's).
    pub reporting_unit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionResultBody {
    pub case: CaseBody,
    pub contact: ContactBody,
}

/// Turn a contact with fever or symptoms into a suspected case in one step:
/// the case keeps the person, the source cases (the chain's links) and the
/// contact's id; the contact leaves observation.
#[utoipa::path(
    post,
    path = "/api/v1/contacts/{id}/convert",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the contact id")),
    request_body = ConvertRequest,
    responses(
        (status = 201, description = "the new case and the contact", body = ConversionResultBody),
        (status = 403, description = "the reporting unit is outside the caller's jurisdiction", body = ErrorBody),
        (status = 404, description = "no such contact in the caller's jurisdiction", body = ErrorBody),
        (status = 409, description = "a case with this id exists", body = ErrorBody),
        (status = 422, description = "an invalid field, or a rule (`rule`: no_fever_or_symptoms, already_converted, future_date)", body = ErrorBody),
    )
)]
pub async fn convert(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<ConvertRequest>,
) -> ApiResult<(StatusCode, Json<ConversionResultBody>)> {
    let id = contact_id(&id)?;
    let case_id = CaseId::parse(&req.case_id)?;
    let report_date = date_field("report_date", &req.report_date)?;
    let unit = given(req.reporting_unit.as_deref())
        .map(|u| region_field("reporting_unit", u))
        .transpose()?;
    let (contact, case) = state
        .service
        .convert_contact(&who, &id, case_id, unit.as_ref(), report_date)
        .await?;
    tracing::info!(contact = %id, case = %case.entry.case.id(), "contact converted");
    let today = state.service.today();
    Ok((
        StatusCode::CREATED,
        Json(ConversionResultBody {
            case: CaseBody::new(&case, true),
            contact: ContactBody::new(&contact, today, true),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: serde_json::Value) -> Result<FollowUp, String> {
        let req: FollowUpRequest = serde_json::from_value(json).map_err(|e| e.to_string())?;
        follow_up_of(&req).map_err(|e| match e {
            ApiError::Invalid(f) => f.field,
            other => other.to_string(),
        })
    }

    #[test]
    fn follow_ups_name_their_fields() {
        let ok = check(
            serde_json::json!({"date": "2020-01-26", "reached": true, "temperature": 37.8, "symptoms": ["cough"]}),
        );
        assert!(ok.is_ok_and(|f| f.has_fever() && f.has_symptoms()));
        assert_eq!(
            check(serde_json::json!({"date": "2020-01-26", "reached": true})).err(),
            Some("temperature".into())
        );
        assert_eq!(
            check(serde_json::json!({"date": "2020-01-26", "reached": true, "temperature": 50.0}))
                .err(),
            Some("temperature".into())
        );
        assert_eq!(
            check(serde_json::json!({"date": "2020-01-26", "reached": true, "temperature": 36.5, "symptoms": ["cough", "sneezing"]})).err(),
            Some("symptoms[1]".into())
        );
        assert_eq!(
            check(serde_json::json!({"date": "2020-01-26", "reached": false, "temperature": 36.5}))
                .err(),
            Some("temperature".into())
        );
        assert!(check(serde_json::json!({"date": "2020-01-26", "reached": false})).is_ok());
    }

    #[test]
    fn places() {
        assert!(matches!(
            observation_place(None, None),
            Ok(ObservationPlace::Home)
        ));
        assert!(matches!(
            observation_place(Some("centralised"), Some("Hotel 7")),
            Ok(ObservationPlace::Centralised { .. })
        ));
        assert!(observation_place(Some("centralised"), None).is_err());
        assert!(observation_place(Some("home"), Some("Hotel 7")).is_err());
        assert!(observation_place(Some("tent"), None).is_err());
    }
}
