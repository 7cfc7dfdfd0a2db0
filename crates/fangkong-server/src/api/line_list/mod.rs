//! The line list (R3–R5, R12): cases, close contacts and their follow-up,
//! chains and clusters, the review of candidate person pairs, and the line
//! list's figures beside the filed reports.
//!
//! - [`cases`]: reporting a case, its events (optimistic version, `If-Match`),
//!   reading and listing, the line list's figures and mismatches;
//! - [`contacts`]: registering contacts, links, daily follow-up, the due
//!   list, conversion into a suspected case;
//! - [`chains`]: a case's chain (JSON, DOT, GraphML), clusters, spreaders;
//! - [`persons`]: the candidate pairs and their decisions.
//!
//! Who sees what is the service's rule: a record outside the caller's
//! jurisdiction is not found; a chain shows other counties' nodes with
//! `visible: false` and no personal data. Lists mask ID numbers
//! ([`IdNumber::masked`]); the single case or contact shows them in full.
//! Nothing here logs a request body or a person's data.

pub mod cases;
pub mod chains;
pub mod contacts;
pub mod persons;

use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use fangkong_domain::case::{Age, IdNumber, Person, PersonName, Phone, Place, Sex};
use fangkong_domain::region::RegionCode;
use fangkong_domain::FieldError;
use fangkong_service::import::parse_date;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/cases",
            post(cases::report_case).get(cases::list_cases),
        )
        .route("/api/v1/cases/{id}", get(cases::case))
        .route("/api/v1/cases/{id}/events", post(cases::record_event))
        .route("/api/v1/cases/{id}/chain", get(chains::chain))
        .route("/api/v1/cases/{id}/chain.dot", get(chains::chain_dot))
        .route(
            "/api/v1/cases/{id}/chain.graphml",
            get(chains::chain_graphml),
        )
        .route("/api/v1/cases/{id}/cluster", get(chains::cluster))
        .route("/api/v1/clusters", get(chains::clusters))
        .route("/api/v1/spreaders", get(chains::spreaders))
        .route(
            "/api/v1/contacts",
            post(contacts::register_contact).get(contacts::list_contacts),
        )
        .route("/api/v1/contacts/{id}", get(contacts::contact))
        .route("/api/v1/contacts/{id}/links", post(contacts::add_link))
        .route(
            "/api/v1/contacts/{id}/follow-ups",
            post(contacts::follow_up),
        )
        .route("/api/v1/contacts/{id}/convert", post(contacts::convert))
        .route("/api/v1/follow-ups/due", get(contacts::due))
        .route("/api/v1/persons/candidates", get(persons::candidates))
        .route("/api/v1/persons/candidates/{id}", post(persons::decide))
        .route("/api/v1/line-list/figures", get(cases::figures))
        .route("/api/v1/line-list/mismatches", get(cases::mismatches))
}

/// A person as the caller may see them. In lists the ID number is masked
/// (`420102********1234`); a single case or contact shows it in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonBody {
    pub name: Option<String>,
    #[schema(example = "420102********1234")]
    pub id_number: Option<String>,
    /// `male`, `female` or `unknown`.
    pub sex: String,
    pub age: Option<u8>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// The home region.
    #[schema(example = "420102")]
    pub region_code: String,
}

impl PersonBody {
    pub fn new(p: &Person, full_id_number: bool) -> PersonBody {
        PersonBody {
            name: p.name.as_ref().map(|n| n.as_str().to_owned()),
            id_number: p.id_number.as_ref().map(|n| {
                if full_id_number {
                    n.reveal().to_owned()
                } else {
                    n.masked()
                }
            }),
            sex: p.sex.name().to_owned(),
            age: p.age.map(Age::years),
            phone: p.phone.as_ref().map(|x| x.as_str().to_owned()),
            address: p.address.as_ref().map(|x| x.as_str().to_owned()),
            region_code: p.home_region.to_string(),
        }
    }
}

/// The person fields of a request, as sent.
pub(crate) struct PersonInput<'a> {
    pub name: Option<&'a str>,
    pub id_number: Option<&'a str>,
    pub sex: Option<&'a str>,
    pub age: Option<i64>,
    pub phone: Option<&'a str>,
    pub address: Option<&'a str>,
    pub region_code: &'a str,
}

/// Text that counts only when it has more than spaces.
pub(crate) fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A domain parse whose error names `field` (the request's name for it).
pub(crate) fn at<T>(field: &str, r: Result<T, FieldError>) -> ApiResult<T> {
    r.map_err(|e| ApiError::Invalid(FieldError::new(field, e.reason)))
}

/// The person of a request; the sex defaults to the ID number's, else unknown.
pub(crate) fn parse_person(p: PersonInput<'_>) -> ApiResult<Person> {
    let name = given(p.name).map(PersonName::parse).transpose()?;
    let id_number = given(p.id_number).map(IdNumber::parse).transpose()?;
    let sex = match given(p.sex) {
        Some(s) => s.parse::<Sex>()?,
        None => id_number.as_ref().map_or(Sex::Unknown, IdNumber::sex),
    };
    let age = p.age.map(Age::new).transpose()?;
    let phone = given(p.phone).map(Phone::parse).transpose()?;
    let address = given(p.address)
        .map(|a| Place::parse("address", a))
        .transpose()?;
    let home_region = RegionCode::parse(p.region_code)?;
    Ok(Person {
        name,
        id_number,
        sex,
        age,
        phone,
        address,
        home_region,
    })
}

/// A required date of a request body.
pub(crate) fn date_field(name: &str, text: &str) -> ApiResult<NaiveDate> {
    parse_date(name, text).map_err(ApiError::Invalid)
}

/// An optional date of a request body or query (blank counts as absent).
pub(crate) fn opt_date(name: &str, text: Option<&str>) -> ApiResult<Option<NaiveDate>> {
    given(text).map(|t| date_field(name, t)).transpose()
}

/// A region code of a request, named `field`.
pub(crate) fn region_field(field: &str, text: &str) -> ApiResult<RegionCode> {
    at(field, RegionCode::parse(text))
}

/// Renames the field of an `invalid` error (the service's name for an input
/// to the request's), leaving every other error alone.
pub(crate) fn rename_field(e: ApiError, rename: impl Fn(&str) -> Option<&'static str>) -> ApiError {
    match e {
        ApiError::Invalid(mut f) => {
            if let Some(to) = rename(&f.field) {
                f.field = to.to_owned();
            }
            ApiError::Invalid(f)
        }
        other => other,
    }
}

/// A page of a list: the items and the cursor of the next page.
pub(crate) fn next_cursor<T>(items: &[T], limit: u32, id: impl Fn(&T) -> String) -> Option<String> {
    if items.len() >= limit as usize {
        items.last().map(id)
    } else {
        None
    }
}
