//! Records of the line list (R3–R5): people, cases, close contacts with
//! their follow-ups, candidate pairs of records of one person, and the rows
//! the transmission graph is built from.
//!
//! Cases and contacts are stored as domain values ([`Case`], [`Contact`])
//! with what the service decides about them: the person record they belong
//! to, and the materialized paths of the regions that may see them (the home
//! region, and the reporting unit). An engine rebuilds a case from its
//! opening and its history with [`Case::replay`], and a contact with
//! [`Contact::restore`], so a stored value is valid by construction.
//!
//! Every case and contact also has a **key**: a positive integer the engine
//! assigns on insert, dense from 1, never reused. Graphs index their nodes
//! by key, so the whole who-infected-whom graph is read as integer pairs.

use chrono::{DateTime, NaiveDate, Utc};

use fangkong_domain::case::{Case, CaseId, Classification, Facility, Person};
use fangkong_domain::contact::{Contact, ContactId};
use fangkong_domain::matching::{MatchReason, MatchStatus};
use fangkong_domain::region::RegionCode;

/// One person: the record that cases and contacts point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPerson {
    pub id: i64,
    pub person: Person,
    /// The materialized path of the home region (jurisdiction over the person).
    pub home_path: String,
    /// Set when this record was merged into another: the record kept.
    pub merged_into: Option<i64>,
}

/// A person to insert: the data and the path of the home region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub person: Person,
    pub home_path: String,
}

impl NewPerson {
    /// What [`crate::WriteTx::insert_persons_as`] checks before it writes:
    /// one id a record.
    pub fn one_id_each(ids: &[i64], persons: &[NewPerson]) -> crate::Result<()> {
        if ids.len() == persons.len() {
            return Ok(());
        }
        Err(crate::StoreError::Other(anyhow::anyhow!(
            "{} ids for {} person records",
            ids.len(),
            persons.len()
        )))
    }
}

/// A case to write, with the person record it belongs to and the paths of the
/// regions that may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEntry {
    pub case: Case,
    pub person_id: i64,
    /// The path of the person's home region.
    pub home_path: String,
    /// The path of the reporting unit.
    pub report_path: String,
}

/// The columns of `case_file` that hold a case's current state, derived from
/// its opening and history (`Case::replay`) and written with them, so that
/// queries need not replay: `fangkong audit verify` compares them with the
/// replay. Engines read them as text (dates `YYYY-MM-DD`).
pub const CASE_STATE_COLUMNS: [&str; 11] = [
    "version",
    "classification",
    "severity",
    "severity_date",
    "facility_region",
    "facility_name",
    "admission_date",
    "outcome",
    "outcome_date",
    "confirmation_date",
    "exclusion_date",
];

/// The derived columns of `contact`: its version and its release day
/// (`Contact::release_date`).
pub const CONTACT_STATE_COLUMNS: [&str; 2] = ["version", "release_date"];

/// A row's derived columns as stored, as text in the order of
/// [`CASE_STATE_COLUMNS`] or [`CONTACT_STATE_COLUMNS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRow {
    pub key: i64,
    pub cells: Vec<Option<String>>,
}

/// What the derived columns of a case should hold: its replayed state.
pub fn case_state_cells(case: &Case) -> Vec<Option<String>> {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
    vec![
        Some(case.version().to_string()),
        Some(case.classification().name().to_owned()),
        case.severity().map(|(s, _)| s.name().to_owned()),
        date(case.severity().map(|(_, d)| d)),
        case.admission().map(|a| a.facility.region.to_string()),
        case.admission()
            .map(|a| a.facility.name.as_str().to_owned()),
        date(case.admission().map(|a| a.date)),
        case.outcome().map(|(o, _)| o.name().to_owned()),
        date(case.outcome().map(|(_, d)| d)),
        date(case.dates().confirmation),
        date(case.dates().exclusion),
    ]
}

/// What the derived columns of a contact should hold.
pub fn contact_state_cells(entry: &ContactEntry) -> Vec<Option<String>> {
    vec![
        Some(entry.version.to_string()),
        Some(entry.contact.release_date().to_string()),
    ]
}

/// A case as stored. Its person data is the person record's (after a merge,
/// the kept record's).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    pub key: i64,
    pub entry: CaseEntry,
}

/// A contact to write. `version` is the version being written: 1 on insert,
/// the stored version + 1 on update.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEntry {
    pub contact: Contact,
    pub person_id: i64,
    /// The unit that traced and registered the contact.
    pub reporting_unit: RegionCode,
    pub home_path: String,
    pub report_path: String,
    pub version: u32,
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredContact {
    pub key: i64,
    pub entry: ContactEntry,
}

/// Which cases to list: those visible from a subtree (home region or reporting
/// unit inside it), ordered by case id, a page at a time.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub path: String,
    /// Only cases reported on these days (inclusive).
    pub reported_from: Option<NaiveDate>,
    pub reported_to: Option<NaiveDate>,
    /// Only cases currently so classified.
    pub classification: Option<Classification>,
    /// Only cases admitted now at this facility (a site's patients).
    pub facility: Option<Facility>,
    /// Only cases whose id sorts after this one (the last id of the previous page).
    pub after: Option<CaseId>,
    pub limit: u32,
}

/// Which contacts to list: those visible from a subtree, ordered by contact id.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub path: String,
    /// Only contacts under observation on this day: registered on or before
    /// it, released after it, not converted on or before it.
    pub observed_on: Option<NaiveDate>,
    pub after: Option<ContactId>,
    pub limit: u32,
}

/// Two person records that may be one person, waiting for a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchCandidate {
    pub id: i64,
    /// The older record (smaller id) and the newer one.
    pub a: i64,
    pub b: i64,
    pub reason: MatchReason,
    /// How alike the two are, 0–1 (1 = identical on every compared field).
    pub score: f64,
    pub status: MatchStatus,
    pub found_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Which candidate pairs to list: those with either person in the subtree.
#[derive(Debug, Clone)]
pub struct MatchFilter {
    pub path: String,
    /// Only pairs in this state (all when `None`).
    pub status: Option<MatchStatus>,
    pub limit: u32,
}

/// Everything the who-infected-whom graph is built from, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphRows {
    /// The largest case and contact keys given so far (0 when none).
    pub max_case_key: i64,
    pub max_contact_key: i64,
    /// Confirmed transmissions: source case → case, with the infectee's onset.
    pub transmissions: Vec<(i64, i64, Option<NaiveDate>)>,
    /// Exposures: source case → contact, with the last day of exposure.
    pub exposures: Vec<(i64, i64, NaiveDate)>,
    /// Conversions: contact → the case it became.
    pub conversions: Vec<(i64, i64)>,
}
