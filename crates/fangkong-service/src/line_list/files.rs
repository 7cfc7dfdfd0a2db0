//! CSV line lists in and out: cases and close contacts imported from files
//! with the rules of the report import (every bad row named with its line,
//! column and reason; all or nothing unless told to skip bad rows), and the
//! de-identified case export for researchers.
//!
//! # The case file (`fangkong import cases FILE.csv`)
//!
//! One row per case; the header names the columns, in any order. Required:
//!
//! | column | |
//! |---|---|
//! | `case_id` | the reporting unit's id of the case, unique (in the file and in the database) |
//! | `region_code` | the person's home region |
//! | `sex` | `male`, `female` or `unknown` (also `m`, `f`, `男`, `女`; blank: from the ID number, else unknown) |
//! | `age` | whole years; blank: from the ID number on the report date, else unknown |
//! | `onset_date` | `YYYY-MM-DD`; may be blank (asymptomatic) |
//! | `report_date` | `YYYY-MM-DD` |
//! | `classification` | `suspected`, `confirmed` or `excluded` |
//!
//! Optional:
//!
//! | column | |
//! |---|---|
//! | `reporting_unit` | the unit that reported the case (default: `region_code`); must be in the importer's jurisdiction |
//! | `confirmation_date` | the day of confirmation (or exclusion); default `report_date` |
//! | `exclusion_date` | the day of exclusion; default `confirmation_date`, else `report_date` |
//! | `first_visit_date` | the first visit to a doctor |
//! | `severity`, `severity_date` | `mild`, `severe` or `critical`; the date defaults to the confirmation (or report) date |
//! | `admission_date`, `facility`, `facility_region` | the admission: facility name (default `unspecified`) and region (default the reporting unit) |
//! | `outcome`, `outcome_date` | `recovered` (also `cured`, `discharged`) or `death` (also `dead`, `died`); the date is required with an outcome |
//! | `imported` | `true`/`false`, `1`/`0`, `yes`/`no`, `imported`/`local` (blank: local) |
//! | `place_of_exposure` | e.g. `travel from Wuhan` |
//! | `source_case_id` | the cases this one was infected by, separated by `;`: each must be stored already or be a case of the same file (earlier or later) |
//! | `name`, `id_number`, `phone`, `address` | personal data |
//!
//! Each row becomes a case through the domain's state machine, checked
//! against today: opened as suspected on the report date, then its events in
//! date order (on one day: admission, severity, classification, outcome).
//! A case discharged `recovered` without an `admission_date` is taken to have
//! been admitted on its confirmation date (the state machine allows a
//! discharge only after an admission); the admission's facility is `facility`
//! or `unspecified`.
//!
//! # The contact file (`fangkong import contacts FILE.csv`)
//!
//! One row per link of a contact to a source case. Required: `contact_id`,
//! `source_case_id` (a stored case; several may be given separated by `;`,
//! with the same exposure), `region_code` (home region), `exposure`
//! (`household`, `work`, `transport`, `healthcare`, `other`),
//! `last_exposure_date`. Optional: `registered_date` (default: the contact's
//! latest `last_exposure_date`, so observation covers the whole period after
//! the exposure), `reporting_unit` (default `region_code`; in the importer's
//! jurisdiction), `place` (`home` or `centralised`, default `home`), `site`
//! (required with `centralised`), `observation_days` (default: the `--observation-days` setting, 14), `name`,
//! `id_number`, `sex`, `age`, `phone`, `address`.
//!
//! The rows of a contact with several links must follow each other; the
//! person, region, unit, place and registration are read from its first
//! row (later rows may leave them blank, or repeat them). A contact id given
//! again after another contact's rows is a row error.
//!
//! # Rules common to both
//!
//! - Every bad row is reported with its line, column and reason. By default
//!   nothing is written when any row is bad (one write transaction); with
//!   [`ImportOptions::skip_bad`] the good rows are written and the bad ones
//!   returned for a reject file.
//! - Ids given twice in the file or already stored are row errors.
//! - People are matched as they come in ([`super::persons`]): the same ID
//!   number is the same person record (also across a case file and a contact
//!   file); candidate pairs are stored for review at the end.
//! - The file is streamed: parsed and checked on a second thread, written in
//!   batches of [`BATCH_ROWS`] inside one transaction; the graph generation is
//!   bumped once; one audit entry names the file and the counts (no personal
//!   data). A contact file's next batch is checked against the store and its
//!   people resolved (new records given ids drawn beforehand,
//!   [`WriteTx::reserve_person_ids`]) by a task of its own while the last is
//!   written.
//! - A large file loads in bulk ([`BULK_ROWS`]): once it is seen to be
//!   large beside the people stored, every stored ID number (and for
//!   contacts every contact and case id) is read into memory, the person
//!   records' matching indexes and the contacts' non-unique ones are
//!   dropped inside the transaction and built again before it commits, and
//!   people without an ID number are compared with the stored ones at the
//!   end. The result is the same as row by row; on PostgreSQL, others
//!   reading people or contacts wait for the import to commit.
//!
//! # The de-identified export
//!
//! [`Service::export_cases_deidentified`]: `case_id, region_code,
//! reporting_unit, sex, age_band, onset_date, first_visit_date, report_date,
//! confirmation_date, exclusion_date, classification, severity,
//! severity_date, admission_date, outcome, outcome_date, imported,
//! source_case_id, from_contact` — no name, ID number, phone, address, place of
//! exposure or facility name; ages in ten-year bands (`0-9` … `80+`).
//!
//! It is **k-anonymous** (k = 5 by default, `--k`) on its quasi-identifiers:
//! home region, reporting unit, sex, age band and every date. Regions are
//! coarsened (as recorded → township → county → city → province) and dates
//! (day → ISO week `2020-W02` → onset and report by week, the other dates
//! withheld → onset and report by month `2020-01` → withheld), the
//! least coarsening first, until withholding the rows still in groups
//! smaller than k withholds at most one row in 10
//! ([`fangkong_domain::disclosure::k_anonymize`]); those rows are left
//! out. [`DeidentifiedSummary::note`] says the k reached and what was
//! coarsened (the CLI prints it and writes it beside the file).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;

use fangkong_domain::case::{
    Age, Case, CaseEvent, CaseId, Classification, Facility, IdNumber, NewCase, Origin, Outcome,
    Person, PersonName, Phone, Place, Severity, Sex,
};
use fangkong_domain::contact::{
    Contact, ContactId, ContactLink, Exposure, NewContact, ObservationPeriod, ObservationPlace,
};
use fangkong_domain::disclosure::{k_anonymize, Anonymized, QuasiIds, DATE_LEVELS};
use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_domain::FieldError;
use fangkong_store::{CaseEntry, CaseFilter, ContactEntry, Store, WriteTx};

use super::persons::{Incoming, NewRecords, PersonResolver, Plan};
use crate::audit::append_audit;
use crate::import::parse_date;
use crate::regions::RegionIndex;
use crate::{Principal, Result, RowError, Service, ServiceError};
use fangkong_domain::policy::Action;

/// Rows written per batch.
pub const BATCH_ROWS: usize = 50_000;

/// A case or contact import loads in bulk once it has written this many rows
/// and at least a quarter as many as there were people stored before it:
/// the person records' matching indexes are then dropped and built again at
/// the end ([`fangkong_store::WriteTx::suspend_line_list_indexes`]), which
/// costs less than keeping them up to date row by row.
pub const BULK_ROWS: u64 = 200_000;

/// How a line-list file is imported.
#[derive(Clone)]
pub struct ImportOptions {
    /// Write the good rows and return the bad ones (default: nothing is
    /// written when a row is bad).
    pub skip_bad: bool,
    /// Rows per batch (at least 1).
    pub batch_rows: usize,
    /// Called with the number of rows read so far, after each batch.
    pub progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
    /// Cases or contacts written before an import considers loading in
    /// bulk (see [`BULK_ROWS`]), and between its looks.
    pub bulk_rows: u64,
    /// The file's name, for the audit entry.
    pub label: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            skip_bad: false,
            batch_rows: BATCH_ROWS,
            progress: None,
            bulk_rows: BULK_ROWS,
            label: String::new(),
        }
    }
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("skip_bad", &self.skip_bad)
            .field("batch_rows", &self.batch_rows)
            .field("bulk_rows", &self.bulk_rows)
            .field("label", &self.label)
            .finish()
    }
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Data rows read.
    pub rows: u64,
    /// Cases or contacts written.
    pub imported: u64,
    /// Links written: a case's source cases, a contact's source cases.
    pub links: u64,
    /// Candidate pairs of person records found for review.
    pub candidates: u64,
    /// Whether the import loaded in bulk (see [`BULK_ROWS`]).
    pub bulk: bool,
    /// With `skip_bad`: the bad rows, each with its fields as in the file.
    pub bad: Vec<(RowError, Vec<String>)>,
    /// The file's header (for a reject file).
    pub header: Vec<String>,
}

// ---------------------------------------------------------------------------
// a compact set of ids

/// A set of short strings (ids), each with a `u32`, in one arena: about 20
/// bytes an id instead of a `String` and a map entry each.
#[derive(Default)]
struct IdSet {
    text: String,
    ends: Vec<u32>,
    values: Vec<u32>,
    /// Entry index + 1; 0 is empty.
    table: Vec<u32>,
    /// 64 − log2 of the table's size.
    shift: u32,
}

fn hash(s: &str) -> u64 {
    let mut h: u64 = 0;
    for chunk in s.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    // fold the high bits (where the multiplications put the differences)
    // down, and mix again: the table takes the top bits
    (h ^ (h >> 32)).wrapping_mul(0x9e_37_79_b9_7f_4a_7c_15)
}

impl IdSet {
    fn entry(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..self.ends[i] as usize).unwrap_or("")
    }

    fn slot(&self, s: &str) -> (usize, Option<usize>) {
        let mask = self.table.len() - 1;
        let mut slot = (hash(s) >> self.shift) as usize;
        loop {
            match self.table[slot] {
                0 => return (slot, None),
                e if self.entry(e as usize - 1) == s => return (slot, Some(e as usize - 1)),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn get(&self, s: &str) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        self.slot(s).1.map(|i| self.values[i])
    }

    /// Sets the value of `s`; the value before, if `s` was there.
    fn set(&mut self, s: &str, value: u32) -> Option<u32> {
        if (self.ends.len() + 1) * 4 > self.table.len() * 3 {
            self.grow();
        }
        match self.slot(s) {
            (_, Some(i)) => Some(std::mem::replace(&mut self.values[i], value)),
            (slot, None) => {
                self.text.push_str(s);
                self.ends.push(self.text.len() as u32);
                self.values.push(value);
                self.table[slot] = self.ends.len() as u32;
                None
            }
        }
    }

    /// Adds `s` unless present; the value of the one present.
    fn insert(&mut self, s: &str, value: u32) -> Option<u32> {
        match self.get(s) {
            Some(v) => Some(v),
            None => {
                self.set(s, value);
                None
            }
        }
    }

    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(1024);
        self.table = vec![0; size];
        self.shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        for i in 0..self.ends.len() {
            let mut slot = (hash(self.entry(i)) >> self.shift) as usize;
            while self.table[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.table[slot] = i as u32 + 1;
        }
    }
}

// ---------------------------------------------------------------------------
// columns

/// The columns of a file kind: names, and where each is in the header.
struct Header {
    names: &'static [&'static str],
    pos: Vec<Option<usize>>,
}

impl Header {
    fn new(
        header: &[String],
        names: &'static [&'static str],
        required: usize,
        what: &str,
    ) -> Result<Header> {
        if let Some(unknown) = header.iter().find(|h| !names.contains(&h.as_str())) {
            return Err(FieldError::new(
                "header",
                format!(
                    "column {unknown:?} is not a column of a {what} file; the columns are {}",
                    names.join(",")
                ),
            )
            .into());
        }
        let pos: Vec<Option<usize>> = names
            .iter()
            .map(|n| header.iter().position(|h| h == n))
            .collect();
        if let Some(missing) = (0..required).find(|i| pos[*i].is_none()) {
            return Err(FieldError::new(
                "header",
                format!(
                    "has no column {:?}; a {what} file has at least {}",
                    names[missing],
                    names[..required].join(",")
                ),
            )
            .into());
        }
        Ok(Header { names, pos })
    }

    fn get<'r>(&self, r: &'r csv::StringRecord, col: usize) -> &'r str {
        self.pos[col].and_then(|p| r.get(p)).unwrap_or("").trim()
    }

    /// The column of a domain field: the field itself when the file has it,
    /// else `fallback`.
    fn column_of(&self, field: &str, fallback: usize) -> String {
        match self.names.iter().position(|n| *n == field) {
            Some(i) if self.pos[i].is_some() => field.to_owned(),
            _ => self.names[fallback].to_owned(),
        }
    }
}

/// The columns of a case file: the first 7 are required.
const CASE_COLUMNS: &[&str] = &[
    "case_id",
    "region_code",
    "sex",
    "age",
    "onset_date",
    "report_date",
    "classification",
    "reporting_unit",
    "confirmation_date",
    "exclusion_date",
    "first_visit_date",
    "severity",
    "severity_date",
    "admission_date",
    "facility",
    "facility_region",
    "outcome",
    "outcome_date",
    "imported",
    "place_of_exposure",
    "source_case_id",
    "name",
    "id_number",
    "phone",
    "address",
];

mod cc {
    pub const CASE_ID: usize = 0;
    pub const REGION: usize = 1;
    pub const SEX: usize = 2;
    pub const AGE: usize = 3;
    pub const ONSET: usize = 4;
    pub const REPORT: usize = 5;
    pub const CLASSIFICATION: usize = 6;
    pub const UNIT: usize = 7;
    pub const CONFIRMATION: usize = 8;
    pub const EXCLUSION: usize = 9;
    pub const FIRST_VISIT: usize = 10;
    pub const SEVERITY: usize = 11;
    pub const SEVERITY_DATE: usize = 12;
    pub const ADMISSION: usize = 13;
    pub const FACILITY: usize = 14;
    pub const FACILITY_REGION: usize = 15;
    pub const OUTCOME: usize = 16;
    pub const OUTCOME_DATE: usize = 17;
    pub const IMPORTED: usize = 18;
    pub const PLACE: usize = 19;
    pub const SOURCES: usize = 20;
    pub const NAME: usize = 21;
}

/// The columns of a contact file: the first 5 are required.
const CONTACT_COLUMNS: &[&str] = &[
    "contact_id",
    "source_case_id",
    "region_code",
    "exposure",
    "last_exposure_date",
    "registered_date",
    "reporting_unit",
    "place",
    "site",
    "observation_days",
    "name",
    "id_number",
    "sex",
    "age",
    "phone",
    "address",
];

mod kc {
    pub const CONTACT_ID: usize = 0;
    pub const SOURCES: usize = 1;
    pub const REGION: usize = 2;
    pub const EXPOSURE: usize = 3;
    pub const LAST_EXPOSURE: usize = 4;
    pub const REGISTERED: usize = 5;
    pub const UNIT: usize = 6;
    pub const PLACE: usize = 7;
    pub const SITE: usize = 8;
    pub const DAYS: usize = 9;
    pub const NAME: usize = 10;
}

/// Where the person columns are: name, id_number, sex, age, phone, address.
#[derive(Clone, Copy)]
struct PersonColumns {
    name: usize,
    id_number: usize,
    sex: usize,
    age: usize,
    phone: usize,
    address: usize,
}

const CASE_PERSON: PersonColumns = PersonColumns {
    name: cc::NAME,
    id_number: cc::NAME + 1,
    sex: cc::SEX,
    age: cc::AGE,
    phone: cc::NAME + 2,
    address: cc::NAME + 3,
};

const CONTACT_PERSON: PersonColumns = PersonColumns {
    name: kc::NAME,
    id_number: kc::NAME + 1,
    sex: kc::NAME + 2,
    age: kc::NAME + 3,
    phone: kc::NAME + 4,
    address: kc::NAME + 5,
};

// ---------------------------------------------------------------------------
// checking rows (on the reading thread)

/// What each row is checked against: the region tree, the importer, today.
struct RowCheck {
    header: Header,
    index: Arc<RegionIndex>,
    regions: Vec<Option<Arc<Region>>>,
    who: Principal,
    today: NaiveDate,
    /// The observation period of a contact without `observation_days`.
    period: ObservationPeriod,
    /// Whether bad rows keep their fields (for a reject file).
    keep_fields: bool,
}

type RowResult<T> = std::result::Result<T, RowError>;

fn row_error(line: u64, column: &str, reason: impl Into<String>) -> RowError {
    RowError {
        line,
        column: column.to_owned(),
        reason: reason.into(),
    }
}

fn fields_of(r: &csv::StringRecord) -> Vec<String> {
    r.iter().map(str::to_owned).collect()
}

impl RowCheck {
    fn col(&self, col: usize) -> &'static str {
        self.header.names[col]
    }

    fn text<'r>(&self, r: &'r csv::StringRecord, col: usize) -> &'r str {
        self.header.get(r, col)
    }

    fn required<'r>(&self, r: &'r csv::StringRecord, col: usize, line: u64) -> RowResult<&'r str> {
        let t = self.text(r, col);
        if t.is_empty() {
            return Err(row_error(line, self.col(col), "must not be empty"));
        }
        Ok(t)
    }

    /// A field parsed by a domain function; its error at `col`.
    fn parse<T>(
        &self,
        r: &csv::StringRecord,
        col: usize,
        line: u64,
        f: impl FnOnce(&str) -> std::result::Result<T, FieldError>,
    ) -> RowResult<Option<T>> {
        let t = self.text(r, col);
        if t.is_empty() {
            return Ok(None);
        }
        f(t).map(Some)
            .map_err(|e| row_error(line, self.col(col), e.reason))
    }

    fn date(&self, r: &csv::StringRecord, col: usize, line: u64) -> RowResult<Option<NaiveDate>> {
        let name = self.col(col);
        self.parse(r, col, line, |t| parse_date(name, t))
    }

    /// A region by its code (or China's other forms of it).
    fn region(&mut self, code: &str, col: usize, line: u64) -> RowResult<Arc<Region>> {
        let id = self.index.find(code).or_else(|| {
            let canon = RegionCode::parse(code).ok()?.china_canonical();
            (canon.as_str() != code)
                .then(|| self.index.find(canon.as_str()))
                .flatten()
        });
        let Some(id) = id else {
            RegionCode::parse(code).map_err(|e| row_error(line, self.col(col), e.reason))?;
            return Err(row_error(
                line,
                self.col(col),
                format!("unknown region {code:?}"),
            ));
        };
        if let Some(Some(r)) = self.regions.get(id as usize) {
            return Ok(Arc::clone(r));
        }
        let region = Arc::new(
            self.index
                .region(id)
                .map_err(|e| row_error(line, self.col(col), e.to_string()))?,
        );
        if let Some(slot) = self.regions.get_mut(id as usize) {
            *slot = Some(Arc::clone(&region));
        }
        Ok(region)
    }

    /// The reporting unit: in the importer's jurisdiction.
    fn unit(
        &mut self,
        r: &csv::StringRecord,
        col: usize,
        home: &Arc<Region>,
        line: u64,
    ) -> RowResult<Arc<Region>> {
        let code = self.text(r, col);
        let (unit, column) = if code.is_empty() {
            // the home region stands for the unit
            (Arc::clone(home), "region_code")
        } else {
            (self.region(code, col, line)?, self.col(col))
        };
        if !self.who.covers(&unit) {
            return Err(row_error(
                line,
                column,
                format!(
                    "the reporting unit {} lies outside your jurisdiction ({})",
                    unit.code, self.who.region.code
                ),
            ));
        }
        Ok(unit)
    }

    fn person(
        &self,
        r: &csv::StringRecord,
        p: PersonColumns,
        home: RegionCode,
        on: NaiveDate,
        line: u64,
    ) -> RowResult<Person> {
        let id_number = self.parse(r, p.id_number, line, IdNumber::parse)?;
        let sex = match self.text(r, p.sex) {
            "" => id_number.as_ref().map_or(Sex::Unknown, IdNumber::sex),
            t => match t {
                "m" | "M" | "男" => Sex::Male,
                "f" | "F" | "女" => Sex::Female,
                _ => t
                    .parse::<Sex>()
                    .map_err(|e| row_error(line, self.col(p.sex), e.reason))?,
            },
        };
        let age = match self.parse(r, p.age, line, Age::parse)? {
            Some(a) => Some(a),
            None => id_number.as_ref().and_then(|n| n.age_on(on)),
        };
        Ok(Person {
            name: self.parse(r, p.name, line, PersonName::parse)?,
            id_number,
            sex,
            age,
            phone: self.parse(r, p.phone, line, Phone::parse)?,
            address: self.parse(r, p.address, line, |t| Place::parse("address", t))?,
            home_region: home,
        })
    }

    /// A case row: the case after its events, and its regions.
    fn case(&mut self, r: &csv::StringRecord, line: u64) -> RowResult<CaseRow> {
        let id = CaseId::parse(self.required(r, cc::CASE_ID, line)?)
            .map_err(|e| row_error(line, "case_id", e.reason))?;
        let home_code = self.required(r, cc::REGION, line)?;
        let home = self.region(home_code, cc::REGION, line)?;
        let unit = self.unit(r, cc::UNIT, &home, line)?;
        let report = self
            .date(r, cc::REPORT, line)?
            .ok_or_else(|| row_error(line, "report_date", "must not be empty"))?;
        let onset = self.date(r, cc::ONSET, line)?;
        let first_visit = self.date(r, cc::FIRST_VISIT, line)?;
        let class_text = self.required(r, cc::CLASSIFICATION, line)?;
        let classification = class_text
            .parse::<Classification>()
            .map_err(|e| row_error(line, "classification", e.reason))?;
        let origin = match self.text(r, cc::IMPORTED).to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" | "local" => Origin::Local,
            "true" | "1" | "yes" | "imported" => Origin::Imported,
            other => {
                return Err(row_error(
                    line,
                    "imported",
                    format!("{other:?} is not one of true, false, 1, 0, yes, no, imported, local"),
                ))
            }
        };
        let place_of_exposure =
            self.parse(r, cc::PLACE, line, |t| Place::parse("place_of_exposure", t))?;
        let mut sources: Vec<CaseId> = Vec::new();
        for s in self
            .text(r, cc::SOURCES)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let s = CaseId::parse(s).map_err(|e| row_error(line, "source_case_id", e.reason))?;
            if s == id {
                return Err(row_error(
                    line,
                    "source_case_id",
                    "a case cannot be its own source",
                ));
            }
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
        let person = self.person(r, CASE_PERSON, home.code.clone(), report, line)?;

        // the events, in date order (on one day: admit, severity, classify, outcome)
        let confirmation = self.date(r, cc::CONFIRMATION, line)?;
        let classified_on = confirmation.unwrap_or(report);
        let mut events: Vec<(NaiveDate, u8, CaseEvent)> = Vec::new();
        match classification {
            Classification::Suspected => {}
            Classification::Confirmed => events.push((
                classified_on,
                2,
                CaseEvent::Confirm {
                    date: classified_on,
                },
            )),
            Classification::Excluded => {
                let date = self.date(r, cc::EXCLUSION, line)?.unwrap_or(classified_on);
                events.push((date, 2, CaseEvent::Exclude { date }));
            }
        }
        if let Some(severity) = self.parse(r, cc::SEVERITY, line, |t| t.parse::<Severity>())? {
            let date = self
                .date(r, cc::SEVERITY_DATE, line)?
                .unwrap_or(classified_on);
            events.push((date, 1, CaseEvent::SetSeverity { severity, date }));
        }
        let outcome = match self.text(r, cc::OUTCOME).to_ascii_lowercase().as_str() {
            "" => None,
            "cured" | "discharged" => Some(Outcome::Recovered),
            "dead" | "died" => Some(Outcome::Death),
            t => Some(
                t.parse::<Outcome>()
                    .map_err(|e| row_error(line, "outcome", e.reason))?,
            ),
        };
        let admission = self.date(r, cc::ADMISSION, line)?;
        let admitted_on = match (admission, outcome) {
            (Some(d), _) => Some(d),
            // a cured case was admitted: on its confirmation date unless given
            (None, Some(Outcome::Recovered)) => Some(classified_on),
            _ => None,
        };
        if let Some(date) = admitted_on {
            let name = match self.text(r, cc::FACILITY) {
                "" => "unspecified",
                t => t,
            };
            let name = Place::parse("facility", name)
                .map_err(|e| row_error(line, "facility", e.reason))?;
            let region = match self.text(r, cc::FACILITY_REGION) {
                "" => unit.code.clone(),
                code => self.region(code, cc::FACILITY_REGION, line)?.code.clone(),
            };
            events.push((
                date,
                0,
                CaseEvent::Admit {
                    facility: Facility { region, name },
                    date,
                },
            ));
        }
        if let Some(outcome) = outcome {
            let date = self
                .date(r, cc::OUTCOME_DATE, line)?
                .ok_or_else(|| row_error(line, "outcome_date", "is required with an outcome"))?;
            events.push((
                date,
                3,
                match outcome {
                    Outcome::Recovered => CaseEvent::Discharge { date },
                    Outcome::Death => CaseEvent::Die { date },
                },
            ));
        }
        events.sort_by_key(|(d, rank, _)| (*d, *rank));

        let new = NewCase {
            id,
            person,
            reporting_unit: unit.code.clone(),
            origin,
            place_of_exposure,
            onset,
            first_visit,
            report,
            source_cases: sources,
            from_contact: None,
        };
        let rule = |e: fangkong_domain::case::CaseRuleError| {
            let fallback = match e.field {
                "exclusion_date" => cc::CONFIRMATION,
                "severity_date" => cc::SEVERITY,
                "admission_date" | "facility" => cc::OUTCOME,
                _ => cc::CLASSIFICATION,
            };
            let column = self.header.column_of(e.field, fallback);
            row_error(line, &column, format!("{} ({})", e.message, e.rule))
        };
        let mut case = Case::open(new, self.today).map_err(rule)?;
        for (_, _, event) in events {
            case = case.apply(event, self.today).map_err(rule)?;
        }
        Ok(CaseRow {
            line,
            case,
            home,
            unit,
            fields: Vec::new(),
        })
    }

    /// One row of a contact file.
    fn contact_line(&mut self, r: &csv::StringRecord, line: u64) -> RowResult<ContactLine> {
        let home = self.region(self.required(r, kc::REGION, line)?, kc::REGION, line)?;
        let unit = self.unit(r, kc::UNIT, &home, line)?;
        let exposure = self
            .required(r, kc::EXPOSURE, line)?
            .parse::<Exposure>()
            .map_err(|e| row_error(line, "exposure", e.reason))?;
        let last_exposure = self
            .date(r, kc::LAST_EXPOSURE, line)?
            .ok_or_else(|| row_error(line, "last_exposure_date", "must not be empty"))?;
        let mut sources = Vec::new();
        for s in self
            .required(r, kc::SOURCES, line)?
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            sources
                .push(CaseId::parse(s).map_err(|e| row_error(line, "source_case_id", e.reason))?);
        }
        let registered = self.date(r, kc::REGISTERED, line)?;
        let place = match self.text(r, kc::PLACE).to_ascii_lowercase().as_str() {
            "" | "home" => ObservationPlace::Home,
            "centralised" | "centralized" => {
                let site = self.required(r, kc::SITE, line)?;
                ObservationPlace::Centralised {
                    site: Place::parse("site", site)
                        .map_err(|e| row_error(line, "site", e.reason))?,
                }
            }
            other => {
                return Err(row_error(
                    line,
                    "place",
                    format!("{other:?} is not home or centralised"),
                ))
            }
        };
        let period = self
            .parse(r, kc::DAYS, line, |t| {
                t.parse::<i64>()
                    .map_err(|_| FieldError::new("observation_days", "is not a whole number"))
                    .and_then(ObservationPeriod::new)
            })?
            .unwrap_or(self.period);
        let person = self.person(
            r,
            CONTACT_PERSON,
            home.code.clone(),
            registered.unwrap_or(last_exposure),
            line,
        )?;
        let has_person = [
            CONTACT_PERSON.name,
            CONTACT_PERSON.id_number,
            CONTACT_PERSON.sex,
            CONTACT_PERSON.age,
            CONTACT_PERSON.phone,
            CONTACT_PERSON.address,
        ]
        .iter()
        .any(|c| !self.text(r, *c).is_empty());
        Ok(ContactLine {
            line,
            sources,
            exposure,
            last_exposure,
            home,
            unit,
            registered,
            place,
            period,
            person,
            has_person,
        })
    }
}

/// A case checked on its own.
struct CaseRow {
    line: u64,
    case: Case,
    home: Arc<Region>,
    unit: Arc<Region>,
    /// The row as in the file (only with `skip_bad`).
    fields: Vec<String>,
}

/// One row of a contact file, checked on its own.
struct ContactLine {
    line: u64,
    sources: Vec<CaseId>,
    exposure: Exposure,
    last_exposure: NaiveDate,
    home: Arc<Region>,
    unit: Arc<Region>,
    registered: Option<NaiveDate>,
    place: ObservationPlace,
    period: ObservationPeriod,
    person: Person,
    has_person: bool,
}

/// A contact checked on its own: its rows' lines (the first is the one
/// the person was read from), and for each link the line that gave it.
struct ContactRow {
    lines: Vec<u64>,
    link_lines: Vec<u64>,
    contact: Contact,
    home: Arc<Region>,
    unit: Arc<Region>,
    fields: Vec<Vec<String>>,
}

/// What the reading thread sends: checked rows and bad rows.
struct Batch<T> {
    rows: Vec<T>,
    bad: Vec<(RowError, Vec<String>)>,
    read: u64,
}

impl<T> Batch<T> {
    fn new(capacity: usize) -> Self {
        Batch {
            rows: Vec::with_capacity(capacity),
            bad: Vec::new(),
            read: 0,
        }
    }
}

/// Reads the header of a CSV line list.
fn open_csv<R: Read>(input: R) -> Result<(csv::Reader<R>, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ServiceError::Invalid(FieldError::new("header", e.to_string())))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    Ok((reader, header))
}

/// Reads records on a thread of its own, handing each to `each` with its
/// line; `each` fills the batch, `full` says when to send it.
fn spawn_reader<R, T, S>(
    mut reader: csv::Reader<R>,
    mut state: S,
    each: impl Fn(&mut S, &csv::StringRecord, u64, &mut Batch<T>) + Send + 'static,
    finish: impl Fn(&mut S, &mut Batch<T>) + Send + 'static,
    full: usize,
) -> Result<tokio::sync::mpsc::Receiver<Batch<T>>>
where
    R: Read + Send + 'static,
    T: Send + 'static,
    S: Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch<T>>(2);
    std::thread::Builder::new()
        .name("line-list-reader".into())
        .spawn(move || {
            let mut record = csv::StringRecord::new();
            let mut batch = Batch::new(full);
            for i in 0u64.. {
                let line = i + 2;
                match reader.read_record(&mut record) {
                    Ok(true) => {
                        batch.read += 1;
                        each(&mut state, &record, line, &mut batch);
                    }
                    Ok(false) => break,
                    Err(e) => {
                        let io = matches!(e.kind(), csv::ErrorKind::Io(_));
                        batch.read += 1;
                        batch
                            .bad
                            .push((row_error(line, "-", e.to_string()), Vec::new()));
                        if io {
                            break;
                        }
                    }
                }
                if batch.rows.len() >= full {
                    let next = std::mem::replace(&mut batch, Batch::new(full));
                    if tx.blocking_send(next).is_err() {
                        return;
                    }
                }
            }
            finish(&mut state, &mut batch);
            let _ = tx.blocking_send(batch);
        })
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("cannot start a thread: {e}")))?;
    Ok(rx)
}

/// Where an import's time goes (logged at debug level): waiting for the
/// reading thread, checking against the database, resolving people, writing.
#[derive(Default)]
struct Timing {
    started: Option<std::time::Instant>,
    wait: std::time::Duration,
    check: std::time::Duration,
    persons: std::time::Duration,
    write: std::time::Duration,
    /// Waiting for the next batch to be prepared after writing the last.
    prepare: std::time::Duration,
}

impl Timing {
    async fn time<T>(slot: &mut std::time::Duration, f: impl std::future::Future<Output = T>) -> T {
        let t = std::time::Instant::now();
        let out = f.await;
        *slot += t.elapsed();
        out
    }

    async fn wait<T>(&mut self, f: impl std::future::Future<Output = T>) -> T {
        self.started.get_or_insert_with(std::time::Instant::now);
        Self::time(&mut self.wait, f).await
    }

    async fn check<T>(&mut self, f: impl std::future::Future<Output = T>) -> T {
        Self::time(&mut self.check, f).await
    }

    async fn persons<T>(&mut self, f: impl std::future::Future<Output = T>) -> T {
        Self::time(&mut self.persons, f).await
    }

    async fn write<T>(&mut self, f: impl std::future::Future<Output = T>) -> T {
        Self::time(&mut self.write, f).await
    }

    async fn prepare<T>(&mut self, f: impl std::future::Future<Output = T>) -> T {
        self.started.get_or_insert_with(std::time::Instant::now);
        Self::time(&mut self.prepare, f).await
    }

    fn log(&self, what: &str) {
        tracing::debug!(
            what,
            total = ?self.started.map(|s| s.elapsed()),
            waiting_for_rows = ?self.wait,
            checking = ?self.check,
            persons = ?self.persons,
            writing = ?self.write,
            waiting_for_batches = ?self.prepare,
            "line-list import"
        );
    }
}

/// The state of an id seen in a case file.
const GOOD: u32 = 1 << 31;
const PENDING: u32 = 1 << 30;
const LINE: u32 = PENDING - 1;

/// A case waiting for a source case given later in the file.
struct Deferred {
    row: CaseRow,
    waiting: Vec<CaseId>,
}

/// When an import goes bulk ([`BULK_ROWS`]): it looks each time it has
/// written another `step` rows.
struct BulkLook {
    next: u64,
    step: u64,
    persons_before: Option<u64>,
    on: bool,
}

impl BulkLook {
    fn new(options: &ImportOptions) -> Self {
        let step = options.bulk_rows.max(1);
        BulkLook {
            next: step,
            step,
            persons_before: None,
            on: false,
        }
    }

    /// Whether the import, having written `written` rows, should go bulk
    /// now: once, when it has written a quarter as many as the people stored
    /// before it.
    async fn due(&mut self, store: &dyn Store, written: u64) -> Result<bool> {
        if self.on || written < self.next {
            return Ok(false);
        }
        self.next = written.saturating_add(self.step);
        let before = match self.persons_before {
            Some(n) => n,
            None => *self.persons_before.insert(store.person_count().await?),
        };
        self.on = written.saturating_mul(4) >= before;
        Ok(self.on)
    }
}

impl Service {
    /// Goes bulk: every stored ID number into the resolver, then the
    /// indexes dropped (reads of those tables wait on PostgreSQL from then on).
    async fn start_bulk(&self, tx: &mut dyn WriteTx, resolver: &mut PersonResolver) -> Result<()> {
        resolver.preload(self.store.person_id_number_keys().await?);
        tx.suspend_line_list_indexes().await?;
        Ok(())
    }

    /// Ends a bulk load: the indexes built again, then the people without an
    /// ID number compared with the stored ones.
    async fn end_bulk(&self, tx: &mut dyn WriteTx, resolver: &mut PersonResolver) -> Result<()> {
        let started = std::time::Instant::now();
        tx.restore_indexes().await?;
        resolver.match_deferred(tx).await?;
        tracing::debug!(took = ?started.elapsed(), "indexes rebuilt, deferred matches found");
        Ok(())
    }

    async fn import_index(&self) -> Result<Arc<RegionIndex>> {
        self.region_index
            .current(&self.store, true)
            .await?
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no region index")))
    }

    fn row_check(
        &self,
        who: &Principal,
        header: Header,
        index: Arc<RegionIndex>,
        keep: bool,
    ) -> RowCheck {
        RowCheck {
            header,
            regions: vec![None; index.len()],
            index,
            who: who.clone(),
            today: self.today(),
            period: self.settings.observation_period,
            keep_fields: keep,
        }
    }

    /// Imports a case file (see the module docs for its columns and rules).
    /// Without `skip_bad`, any bad row is a [`ServiceError::BadRows`] listing
    /// every one and nothing is written.
    pub async fn import_cases<R: Read + Send + 'static>(
        &self,
        who: &Principal,
        input: R,
        options: &ImportOptions,
    ) -> Result<ImportSummary> {
        who.require(Action::ImportLineList)?;
        let (reader, header) = open_csv(input)?;
        let columns = Header::new(&header, CASE_COLUMNS, 7, "case")?;
        let index = self.import_index().await?;
        let check = self.row_check(who, columns, index, options.skip_bad);
        let full = options.batch_rows.max(1);
        let mut rx = spawn_reader(
            reader,
            check,
            |check: &mut RowCheck, r, line, batch: &mut Batch<CaseRow>| match check.case(r, line) {
                Ok(mut row) => {
                    if check.keep_fields {
                        row.fields = fields_of(r);
                    }
                    batch.rows.push(row);
                }
                Err(e) => batch.bad.push((
                    e,
                    if check.keep_fields {
                        fields_of(r)
                    } else {
                        Vec::new()
                    },
                )),
            },
            |_, _| {},
            full,
        )?;

        let mut summary = ImportSummary {
            header,
            ..ImportSummary::default()
        };
        let mut bad: Vec<(RowError, Vec<String>)> = Vec::new();
        let mut seen = IdSet::default();
        let mut deferred: Vec<Deferred> = Vec::new();
        let mut tx = self.store.begin().await?;
        let mut resolver = PersonResolver::default();
        let mut timing = Timing::default();
        let mut look = BulkLook::new(options);
        while let Some(batch) = timing.wait(rx.recv()).await {
            summary.rows += batch.read;
            bad.extend(batch.bad);
            let mut rows = batch.rows;
            // an id given twice in the file: the first stands
            let mut fresh = Vec::with_capacity(rows.len());
            for row in rows.drain(..) {
                let id = row.case.id().as_str();
                match seen.insert(id, (row.line as u32 & LINE) | GOOD) {
                    Some(first) => bad.push((
                        row_error(
                            row.line,
                            "case_id",
                            format!("case {id} was already given on line {}", first & LINE),
                        ),
                        row.fields,
                    )),
                    None => fresh.push(row),
                }
            }
            // stored already, and sources not given in the file so far
            let mut ask: Vec<CaseId> = fresh.iter().map(|r| r.case.id().clone()).collect();
            let mut asked: HashSet<&str> = HashSet::new();
            for r in &fresh {
                for s in r.case.source_cases() {
                    if seen.get(s.as_str()).is_none() && asked.insert(s.as_str()) {
                        ask.push(s.clone());
                    }
                }
            }
            drop(asked);
            let stored: HashSet<CaseId> = if ask.is_empty() {
                HashSet::new()
            } else {
                timing
                    .check(self.store.existing_cases(&ask))
                    .await?
                    .into_iter()
                    .collect()
            };
            drop(ask);
            let mut good = Vec::with_capacity(fresh.len());
            for row in fresh {
                let id = row.case.id().as_str();
                if stored.contains(row.case.id()) {
                    // the stored case stands for the id: sources may name it
                    seen.set(id, (row.line as u32 & LINE) | GOOD);
                    bad.push((
                        row_error(row.line, "case_id", format!("case {id} is stored already")),
                        row.fields,
                    ));
                    continue;
                }
                let mut waiting = Vec::new();
                let mut error = None;
                for s in row.case.source_cases() {
                    match seen.get(s.as_str()) {
                        Some(v) if v & GOOD != 0 => {}
                        Some(v) if v & PENDING != 0 => waiting.push(s.clone()),
                        Some(v) => {
                            error = Some(format!(
                                "the source case {s} is on a bad row (line {})",
                                v & LINE
                            ))
                        }
                        None if stored.contains(s) => {}
                        None => waiting.push(s.clone()),
                    }
                }
                if let Some(reason) = error {
                    seen.set(id, row.line as u32 & LINE);
                    bad.push((row_error(row.line, "source_case_id", reason), row.fields));
                } else if !waiting.is_empty() {
                    seen.set(id, (row.line as u32 & LINE) | PENDING);
                    deferred.push(Deferred { row, waiting });
                } else {
                    good.push(row);
                }
            }
            let writing = options.skip_bad || bad.is_empty();
            if writing && !good.is_empty() {
                self.write_cases(tx.as_mut(), &mut resolver, good, &mut summary, &mut timing)
                    .await?;
            }
            if look.due(self.store.as_ref(), summary.imported).await? {
                self.start_bulk(tx.as_mut(), &mut resolver).await?;
                tracing::debug!(cases = summary.imported, "case import in bulk");
                summary.bulk = true;
            }
            if let Some(p) = &options.progress {
                p(summary.rows);
            }
        }
        // cases waiting for a source given later: settled once every row is read
        let mut settled = Vec::new();
        loop {
            let before = deferred.len();
            let mut still = Vec::new();
            for d in deferred {
                let mut error = None;
                let mut waits = false;
                for s in &d.waiting {
                    match seen.get(s.as_str()) {
                        Some(v) if v & GOOD != 0 => {}
                        Some(v) if v & PENDING != 0 => waits = true,
                        Some(v) => {
                            error = Some(format!(
                                "the source case {s} is on a bad row (line {})",
                                v & LINE
                            ))
                        }
                        None => {
                            error = Some(format!(
                                "there is no case {s} in the database or in this file"
                            ))
                        }
                    }
                }
                let id = d.row.case.id().as_str().to_owned();
                let line = d.row.line as u32 & LINE;
                if let Some(reason) = error {
                    seen.set(&id, line);
                    bad.push((
                        row_error(d.row.line, "source_case_id", reason),
                        d.row.fields,
                    ));
                } else if waits {
                    still.push(d);
                } else {
                    seen.set(&id, line | GOOD);
                    settled.push(d.row);
                }
            }
            deferred = still;
            if deferred.len() == before || deferred.is_empty() {
                break;
            }
        }
        for d in deferred {
            bad.push((
                row_error(
                    d.row.line,
                    "source_case_id",
                    "the source cases form a cycle: each is infected by another in the cycle",
                ),
                d.row.fields,
            ));
        }
        if !options.skip_bad && !bad.is_empty() {
            bad.sort_by_key(|(e, _)| e.line);
            return Err(ServiceError::BadRows(
                bad.into_iter().map(|(e, _)| e).collect(),
            ));
        }
        timing.log("cases");
        if !settled.is_empty() {
            self.write_cases(
                tx.as_mut(),
                &mut resolver,
                settled,
                &mut summary,
                &mut timing,
            )
            .await?;
        }
        if summary.bulk {
            self.end_bulk(tx.as_mut(), &mut resolver).await?;
        }
        summary.candidates = resolver.finish(tx.as_mut()).await? as u64;
        if summary.links > 0 {
            tx.bump_graph_generation().await?;
        }
        append_audit(
            tx.as_mut(),
            &who.username,
            "case.import",
            "case",
            &format!("import/{}", options.label),
            None,
            Some(json!({
                "file": options.label,
                "rows": summary.rows,
                "cases": summary.imported,
                "sources": summary.links,
                "bad_rows": bad.len(),
                "candidate_pairs": summary.candidates,
            })),
        )
        .await?;
        let committing = std::time::Instant::now();
        tx.commit().await?;
        tracing::debug!(took = ?committing.elapsed(), "line-list import committed");
        bad.sort_by_key(|(e, _)| e.line);
        summary.bad = bad;
        Ok(summary)
    }

    async fn write_cases(
        &self,
        tx: &mut dyn fangkong_store::WriteTx,
        resolver: &mut PersonResolver,
        rows: Vec<CaseRow>,
        summary: &mut ImportSummary,
        timing: &mut Timing,
    ) -> Result<()> {
        let incoming: Vec<Incoming> = rows
            .iter()
            .map(|r| Incoming {
                person: r.case.person().clone(),
                home_path: r.home.path.clone(),
                recorded_on: r.case.dates().report,
            })
            .collect();
        let persons = timing
            .persons(resolver.resolve(self.store.as_ref(), tx, incoming))
            .await?;
        let entries: Vec<CaseEntry> = rows
            .into_iter()
            .zip(persons)
            .map(|(r, person_id)| {
                summary.links += r.case.source_cases().len() as u64;
                CaseEntry {
                    home_path: r.home.path.clone(),
                    report_path: r.unit.path.clone(),
                    case: r.case,
                    person_id,
                }
            })
            .collect();
        timing.write(tx.insert_cases(&entries)).await?;
        summary.imported += entries.len() as u64;
        Ok(())
    }

    /// Imports a contact file (see the module docs for its columns and
    /// rules). Without `skip_bad`, any bad row is a
    /// [`ServiceError::BadRows`] listing every one and nothing is written.
    ///
    /// Two things go on at once: a task of its own prepares the next batch
    /// (checks it, resolves its people, gives new records their ids) while
    /// this one writes the last, so that the database is kept busy.
    pub async fn import_contacts<R: Read + Send + 'static>(
        &self,
        who: &Principal,
        input: R,
        options: &ImportOptions,
    ) -> Result<ImportSummary> {
        who.require(Action::ImportLineList)?;
        let (reader, header) = open_csv(input)?;
        let columns = Header::new(&header, CONTACT_COLUMNS, 5, "contact")?;
        let index = self.import_index().await?;
        let check = self.row_check(who, columns, index, options.skip_bad);
        let full = options.batch_rows.max(1);
        let state = ContactReader {
            check,
            seen: IdSet::default(),
            group: None,
        };
        let rx = spawn_reader(
            reader,
            state,
            |s: &mut ContactReader, r, line, batch: &mut Batch<ContactRow>| s.row(r, line, batch),
            |s: &mut ContactReader, batch| s.flush(batch),
            full,
        )?;

        let mut summary = ImportSummary {
            header,
            ..ImportSummary::default()
        };
        let mut bad: Vec<(RowError, Vec<String>)> = Vec::new();
        let mut tx = self.store.begin().await?;
        let mut prep = ContactPrep {
            rx,
            store: self.store.clone(),
            resolver: PersonResolver::default(),
            known_cases: IdSet::default(),
            stored_ids: None,
            skip_bad: options.skip_bad,
            timing: Timing::default(),
        };
        let mut timing = Timing::default();
        let mut look = BulkLook::new(options);
        let mut pending: Option<ContactBatch> = None;
        // ids for the next batch's new records (none for the first, whose
        // are drawn once it is planned)
        let mut ids: Vec<i64> = Vec::new();
        loop {
            let writing = options.skip_bad || bad.is_empty();
            let drawn = std::mem::take(&mut ids);
            let next = tokio::spawn(async move {
                let batch = prep.next(&drawn, writing).await;
                (prep, batch)
            });
            if let Some(b) = pending.take() {
                timing.write(write_contacts(tx.as_mut(), &b)).await?;
                summary.imported += b.entries.len() as u64;
            }
            let (back, batch) = timing
                .prepare(next)
                .await
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("preparing contacts: {e}")))?;
            prep = back;
            let Some(batch) = batch? else { break };
            summary.rows += batch.read;
            summary.links += batch.links;
            bad.extend(batch.bad);
            pending = match batch.people {
                People::Settled(people, persons) => {
                    Some(ContactBatch::new(batch.rows, people, persons))
                }
                People::Unsettled(plan, incoming) => {
                    // more new people than ids drawn: their ids now
                    let more = tx.reserve_person_ids(plan.new_records()).await?;
                    let (people, persons) = prep.resolver.settle(plan, incoming, &more);
                    Some(ContactBatch::new(batch.rows, people, persons))
                }
                People::None => None,
            };
            let written = summary.imported + pending.as_ref().map_or(0, |b| b.entries.len() as u64);
            if look.due(self.store.as_ref(), written).await? {
                // read before the indexes go: on PostgreSQL, reads of the
                // tables wait for this transaction from then on
                let mut known = IdSet::default();
                for id in self.store.contact_ids().await? {
                    known.set(id.as_str(), 1);
                }
                for id in self.store.case_ids().await? {
                    prep.known_cases.set(id.as_str(), 1);
                }
                self.start_bulk(tx.as_mut(), &mut prep.resolver).await?;
                tracing::debug!(contacts = summary.imported, "contact import in bulk");
                prep.stored_ids = Some(known);
                summary.bulk = true;
            }
            // as many as this batch writes contacts: none after a batch
            // that writes nothing (the next then draws its own)
            let contacts = pending.as_ref().map_or(0, |b| b.entries.len());
            ids = tx.reserve_person_ids(contacts).await?;
            if let Some(p) = &options.progress {
                p(summary.rows);
            }
        }
        timing.started = timing.started.min(prep.timing.started);
        timing.wait = prep.timing.wait;
        timing.check = prep.timing.check;
        timing.persons = prep.timing.persons;
        timing.log("contacts");
        bad.sort_by_key(|(e, _)| e.line);
        if !options.skip_bad && !bad.is_empty() {
            return Err(ServiceError::BadRows(
                bad.into_iter().map(|(e, _)| e).collect(),
            ));
        }
        let mut resolver = prep.resolver;
        if summary.bulk {
            self.end_bulk(tx.as_mut(), &mut resolver).await?;
        }
        summary.candidates = resolver.finish(tx.as_mut()).await? as u64;
        if summary.imported > 0 {
            tx.bump_graph_generation().await?;
        }
        append_audit(
            tx.as_mut(),
            &who.username,
            "contact.import",
            "contact",
            &format!("import/{}", options.label),
            None,
            Some(json!({
                "file": options.label,
                "rows": summary.rows,
                "contacts": summary.imported,
                "links": summary.links,
                "bad_rows": bad.len(),
                "candidate_pairs": summary.candidates,
            })),
        )
        .await?;
        let committing = std::time::Instant::now();
        tx.commit().await?;
        tracing::debug!(took = ?committing.elapsed(), "line-list import committed");
        summary.bad = bad;
        Ok(summary)
    }

    /// The cases visible in a region (the principal's when `None`) as a
    /// de-identified CSV that is `k`-anonymous on its quasi-identifiers (see
    /// the module docs); returns what was written and how.
    pub async fn export_cases_deidentified(
        &self,
        who: &Principal,
        region: Option<&str>,
        k: usize,
        out: impl Write,
    ) -> Result<DeidentifiedSummary> {
        who.require(Action::ExportDeidentified)?;
        if !(1..=1000).contains(&k) {
            return Err(FieldError::new("k", format!("must be from 1 to 1000, got {k}")).into());
        }
        let region = match region {
            Some(code) => {
                self.region_for(who, Action::ExportDeidentified, code)
                    .await?
            }
            None => who.region.clone(),
        };
        let mut cases = Vec::new();
        let mut after = None;
        const PAGE: u32 = 5_000;
        loop {
            let page = self
                .store
                .cases(&CaseFilter {
                    path: region.path.clone(),
                    after: after.clone(),
                    limit: PAGE,
                    ..CaseFilter::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.entry.case.id().clone());
            let full = page.len() == PAGE as usize;
            cases.extend(page.into_iter().map(|c| c.entry.case));
            if !full {
                break;
            }
        }
        // each region as a ladder: itself, then its township, county, city, province
        let mut ladders: HashMap<String, Vec<String>> = HashMap::new();
        let mut rows = Vec::with_capacity(cases.len());
        for case in &cases {
            let mut regions = Vec::with_capacity(2);
            for code in [
                case.person().home_region.as_str(),
                case.reporting_unit().as_str(),
            ] {
                if !ladders.contains_key(code) {
                    let lineage = self.lineage(code).await?;
                    let ladder = REGION_LADDER
                        .iter()
                        .map(|target| {
                            lineage
                                .iter()
                                .rev()
                                .find(|r| r.level <= *target)
                                .map_or_else(|| code.to_owned(), |r| r.code.to_string())
                        })
                        .collect();
                    ladders.insert(code.to_owned(), ladder);
                }
                regions.push(ladders[code].clone());
            }
            let p = case.person();
            let d = case.dates();
            rows.push(QuasiIds {
                regions,
                fixed: vec![
                    p.sex.name().to_owned(),
                    p.age.map(|a| a.band().label()).unwrap_or_default(),
                ],
                // onset and report first: they are kept longest
                dates: vec![
                    d.onset,
                    Some(d.report),
                    d.first_visit,
                    d.confirmation,
                    d.exclusion,
                    case.severity().map(|(_, d)| d),
                    case.admission().map(|a| a.date),
                    case.outcome().map(|(_, d)| d),
                ],
                primary_dates: 2,
            });
        }
        let max_withheld = cases.len() / 10;
        let plan = k_anonymize(&rows, k, max_withheld);
        let mut w = csv::Writer::from_writer(out);
        w.write_record(DEIDENTIFIED_COLUMNS)
            .map_err(anyhow::Error::from)?;
        let mut written = 0u64;
        for ((case, q), kept) in cases.iter().zip(&rows).zip(&plan.kept) {
            if *kept {
                w.write_record(deidentified_row(case, q, &plan))
                    .map_err(anyhow::Error::from)?;
                written += 1;
            }
        }
        w.flush().map_err(anyhow::Error::from)?;
        Ok(DeidentifiedSummary {
            written,
            withheld: plan.withheld() as u64,
            k,
            k_reached: plan.k_reached,
            region_level: REGION_LADDER[plan.region_level.min(REGION_LADDER.len() - 1)],
            dates: DATE_LEVELS[plan.date_level.min(DATE_LEVELS.len() - 1)],
        })
    }
}

/// The levels the export's regions are coarsened to, finest first (index 0:
/// each region as it is).
const REGION_LADDER: [Level; 5] = [
    Level::Grid,
    Level::Township,
    Level::County,
    Level::City,
    Level::Province,
];

/// What a de-identified export wrote, and how it reached k-anonymity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeidentifiedSummary {
    /// Rows written.
    pub written: u64,
    /// Rows withheld: their quasi-identifiers were shared by fewer than `k` even coarsened.
    pub withheld: u64,
    /// The k asked for.
    pub k: usize,
    /// The smallest group of written rows sharing region, reporting unit,
    /// sex, age band and dates (0 when nothing was written).
    pub k_reached: usize,
    /// The level regions were coarsened to (`grid`: not coarsened).
    pub region_level: Level,
    /// One of [`DATE_LEVELS`]: how dates were coarsened.
    pub dates: &'static str,
}

impl DeidentifiedSummary {
    /// One line for people: what was written, the k reached, what was coarsened.
    pub fn note(&self) -> String {
        format!(
            "{} cases written, {} withheld; {}-anonymous (asked {}) on region, reporting unit, \
             sex, age band and dates; regions {}, dates {}",
            self.written,
            self.withheld,
            self.k_reached,
            self.k,
            if self.region_level == Level::Grid {
                "as recorded".to_owned()
            } else {
                format!("coarsened to the {}", self.region_level.name())
            },
            self.dates
        )
    }
}

/// The columns of the de-identified export.
pub const DEIDENTIFIED_COLUMNS: [&str; 19] = [
    "case_id",
    "region_code",
    "reporting_unit",
    "sex",
    "age_band",
    "onset_date",
    "first_visit_date",
    "report_date",
    "confirmation_date",
    "exclusion_date",
    "classification",
    "severity",
    "severity_date",
    "admission_date",
    "outcome",
    "outcome_date",
    "imported",
    "source_case_id",
    "from_contact",
];

fn deidentified_row(case: &Case, q: &QuasiIds, plan: &Anonymized) -> [String; 19] {
    let date = |i: usize| q.date(i, plan.date_level);
    let region = |i: usize| {
        q.regions
            .get(i)
            .and_then(|l| l.get(plan.region_level).or(l.last()))
            .cloned()
            .unwrap_or_default()
    };
    [
        case.id().to_string(),
        region(0),
        region(1),
        q.fixed[0].clone(),
        q.fixed[1].clone(),
        date(0),
        date(2),
        date(1),
        date(3),
        date(4),
        case.classification().name().to_owned(),
        case.severity()
            .map(|(s, _)| s.name().to_owned())
            .unwrap_or_default(),
        date(5),
        date(6),
        case.outcome()
            .map(|(o, _)| o.name().to_owned())
            .unwrap_or_default(),
        date(7),
        case.origin().name().to_owned(),
        case.source_cases()
            .iter()
            .map(CaseId::as_str)
            .collect::<Vec<_>>()
            .join(";"),
        case.from_contact()
            .map(|c| c.to_string())
            .unwrap_or_default(),
    ]
}

/// A batch of contacts prepared for writing: its rows, what was refused,
/// and its people resolved (settled, or to be settled by the writer when
/// it needed more ids than were drawn).
struct PreparedContacts {
    read: u64,
    links: u64,
    bad: Vec<(RowError, Vec<String>)>,
    rows: Vec<ContactRow>,
    people: People,
}

enum People {
    /// Nothing to write: no good row, or bad rows seen and not skipped.
    None,
    /// The person record of each row, and the new records to write.
    Settled(Vec<i64>, NewRecords),
    Unsettled(Plan, Vec<Incoming>),
}

/// The records one batch writes: new people, then contacts.
struct ContactBatch {
    persons: NewRecords,
    entries: Vec<ContactEntry>,
}

impl ContactBatch {
    fn new(rows: Vec<ContactRow>, people: Vec<i64>, persons: NewRecords) -> ContactBatch {
        let entries = rows
            .into_iter()
            .zip(people)
            .map(|(r, person_id)| ContactEntry {
                home_path: r.home.path.clone(),
                report_path: r.unit.path.clone(),
                reporting_unit: r.unit.code.clone(),
                contact: r.contact,
                person_id,
                version: 1,
            })
            .collect();
        ContactBatch { persons, entries }
    }
}

async fn write_contacts(tx: &mut dyn WriteTx, b: &ContactBatch) -> Result<()> {
    tx.insert_persons_as(&b.persons.ids, &b.persons.rows)
        .await?;
    tx.insert_contacts(&b.entries).await?;
    Ok(())
}

/// The preparing side of a contact import: it reads the batches, checks
/// them against what is stored and resolves their people. It moves into a
/// task of its own for each batch and back.
struct ContactPrep {
    rx: tokio::sync::mpsc::Receiver<Batch<ContactRow>>,
    store: Arc<dyn Store>,
    resolver: PersonResolver,
    /// Source cases known to be stored (in bulk: all of them).
    known_cases: IdSet,
    /// In bulk: the contact ids stored before the import.
    stored_ids: Option<IdSet>,
    /// Bad rows are left out and the rest written.
    skip_bad: bool,
    timing: Timing,
}

impl ContactPrep {
    /// The next batch, `None` after the last. New people take their ids
    /// from `ids` when there are enough; `writing` is false once a bad row
    /// (not skipped) means nothing will be written.
    async fn next(&mut self, ids: &[i64], writing: bool) -> Result<Option<PreparedContacts>> {
        let Some(batch) = self.timing.wait(self.rx.recv()).await else {
            return Ok(None);
        };
        let mut bad = batch.bad;
        let rows = batch.rows;
        let stored: HashSet<ContactId> = match &self.stored_ids {
            Some(known) => rows
                .iter()
                .map(|r| r.contact.id())
                .filter(|id| known.get(id.as_str()).is_some())
                .cloned()
                .collect(),
            None if rows.is_empty() => HashSet::new(),
            None => {
                let ids: Vec<ContactId> = rows.iter().map(|r| r.contact.id().clone()).collect();
                self.timing
                    .check(self.store.existing_contacts(&ids))
                    .await?
                    .into_iter()
                    .collect()
            }
        };
        let mut ask: Vec<CaseId> = Vec::new();
        if self.stored_ids.is_none() {
            // in bulk, every stored case is known already
            let mut asked: HashSet<&str> = HashSet::new();
            for r in &rows {
                for l in r.contact.links() {
                    let s = l.source.as_str();
                    if self.known_cases.get(s).is_none() && asked.insert(s) {
                        ask.push(l.source.clone());
                    }
                }
            }
        }
        for chunk in ask.chunks(50_000) {
            for id in self.timing.check(self.store.existing_cases(chunk)).await? {
                self.known_cases.set(id.as_str(), 1);
            }
        }
        let mut good = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.contact.id();
            let first = row.lines.first().copied().unwrap_or_default();
            let error = if stored.contains(id) {
                Some((
                    first,
                    "contact_id",
                    format!("contact {id} is stored already"),
                ))
            } else {
                row.contact
                    .links()
                    .iter()
                    .zip(&row.link_lines)
                    .find(|(l, _)| self.known_cases.get(l.source.as_str()).is_none())
                    .map(|(l, line)| {
                        (
                            *line,
                            "source_case_id",
                            format!("there is no case {}", l.source),
                        )
                    })
            };
            match error {
                Some((at, column, reason)) => refuse_contact(&mut bad, row, at, column, reason),
                None => good.push(row),
            }
        }
        let writing = writing && (self.skip_bad || bad.is_empty()) && !good.is_empty();
        let links = if writing {
            good.iter().map(|r| r.contact.links().len() as u64).sum()
        } else {
            0
        };
        let people = if writing {
            let incoming: Vec<Incoming> = good
                .iter()
                .map(|r| Incoming {
                    person: r.contact.person().clone(),
                    home_path: r.home.path.clone(),
                    recorded_on: r.contact.registered(),
                })
                .collect();
            let resolver = &mut self.resolver;
            let store = self.store.as_ref();
            self.timing
                .persons(async {
                    let plan = resolver.plan(store, &incoming).await?;
                    Ok::<_, ServiceError>(if plan.new_records() <= ids.len() {
                        let (people, persons) = resolver.settle(plan, incoming, ids);
                        People::Settled(people, persons)
                    } else {
                        People::Unsettled(plan, incoming)
                    })
                })
                .await?
        } else {
            People::None
        };
        Ok(Some(PreparedContacts {
            read: batch.read,
            links,
            bad,
            rows: good,
            people,
        }))
    }
}

/// A contact refused: the reason at its line, and each other row of it named.
fn refuse_contact(
    bad: &mut Vec<(RowError, Vec<String>)>,
    row: ContactRow,
    at: u64,
    column: &str,
    reason: String,
) {
    let id = row.contact.id().to_string();
    let mut fields = row.fields.into_iter();
    for line in row.lines {
        let f = fields.next().unwrap_or_default();
        if line == at {
            bad.push((row_error(line, column, reason.clone()), f));
        } else {
            bad.push((
                row_error(
                    line,
                    "contact_id",
                    format!("contact {id} is refused: see line {at}"),
                ),
                f,
            ));
        }
    }
}

/// The reading thread's state for contacts: rows are grouped into contacts
/// as they come (a contact's rows follow each other).
struct ContactReader {
    check: RowCheck,
    /// Every contact id given so far, with its first line.
    seen: IdSet,
    group: Option<Group>,
}

/// The rows of the contact being read.
struct Group {
    id: String,
    lines: Vec<(u64, RowResult<ContactLine>)>,
    fields: Vec<Vec<String>>,
}

impl ContactReader {
    fn row(&mut self, r: &csv::StringRecord, line: u64, batch: &mut Batch<ContactRow>) {
        let keep = self.check.keep_fields;
        let fields = if keep { fields_of(r) } else { Vec::new() };
        let id_text = self.check.text(r, kc::CONTACT_ID);
        let id = match ContactId::parse(id_text) {
            Ok(id) => id,
            Err(e) => {
                batch
                    .bad
                    .push((row_error(line, "contact_id", e.reason), fields));
                return;
            }
        };
        let same = self.group.as_ref().is_some_and(|g| g.id == id.as_str());
        if !same {
            self.flush(batch);
            if let Some(first) = self.seen.insert(id.as_str(), line as u32) {
                batch.bad.push((
                    row_error(
                        line,
                        "contact_id",
                        format!(
                            "contact {id} was given on line {first}: the rows of one contact must follow each other"
                        ),
                    ),
                    fields,
                ));
                return;
            }
            self.group = Some(Group {
                id: id.as_str().to_owned(),
                lines: Vec::new(),
                fields: Vec::new(),
            });
        }
        let parsed = self.check.contact_line(r, line);
        if let Some(g) = self.group.as_mut() {
            g.lines.push((line, parsed));
            g.fields.push(fields);
        }
    }

    /// Makes the contact of the rows read, if any.
    fn flush(&mut self, batch: &mut Batch<ContactRow>) {
        let Some(g) = self.group.take() else { return };
        let lines: Vec<u64> = g.lines.iter().map(|(l, _)| *l).collect();
        let refuse =
            |batch: &mut Batch<ContactRow>, at: u64, e: RowError, fields: Vec<Vec<String>>| {
                let mut fields = fields.into_iter();
                for line in &lines {
                    let f = fields.next().unwrap_or_default();
                    if *line == at {
                        batch.bad.push((e.clone(), f));
                    } else {
                        batch.bad.push((
                            row_error(
                                *line,
                                "contact_id",
                                format!("contact {} is refused: see line {at}", g.id),
                            ),
                            f,
                        ));
                    }
                }
            };
        let mut parsed = Vec::with_capacity(g.lines.len());
        for (line, p) in g.lines {
            match p {
                Ok(p) => parsed.push(p),
                Err(e) => return refuse(batch, line, e, g.fields),
            }
        }
        let Some(first) = parsed.first() else { return };
        let mut links = Vec::new();
        let mut link_lines = Vec::new();
        for p in &parsed[..] {
            if p.home.code != first.home.code {
                let e = row_error(
                    p.line,
                    "region_code",
                    format!("differs from the contact's first row (line {})", first.line),
                );
                return refuse(batch, p.line, e, g.fields);
            }
            if p.line != first.line && p.has_person && p.person != first.person {
                let e = row_error(
                    p.line,
                    "name",
                    format!(
                        "the person differs from the contact's first row (line {})",
                        first.line
                    ),
                );
                return refuse(batch, p.line, e, g.fields);
            }
            for s in &p.sources {
                if let Some(i) = links.iter().position(|l: &ContactLink| &l.source == s) {
                    let e = row_error(
                        p.line,
                        "source_case_id",
                        format!("{s} is linked twice (also on line {})", link_lines[i]),
                    );
                    return refuse(batch, p.line, e, g.fields);
                }
                links.push(ContactLink {
                    source: s.clone(),
                    exposure: p.exposure,
                    last_exposure: p.last_exposure,
                });
                link_lines.push(p.line);
            }
        }
        let registered = first.registered.unwrap_or_else(|| {
            parsed
                .iter()
                .map(|p| p.last_exposure)
                .max()
                .unwrap_or(first.last_exposure)
        });
        let Ok(id) = ContactId::parse(&g.id) else {
            return;
        };
        let new = NewContact {
            id,
            person: first.person.clone(),
            links,
            place: first.place.clone(),
            registered,
            period: first.period,
        };
        match Contact::register(new, self.check.today) {
            Ok(contact) => batch.rows.push(ContactRow {
                lines,
                link_lines,
                contact,
                home: Arc::clone(&first.home),
                unit: Arc::clone(&first.unit),
                fields: g.fields,
            }),
            Err(e) => {
                let at = first.line;
                let column = self.check.header.column_of(e.field, kc::CONTACT_ID);
                let err = row_error(at, &column, format!("{} ({})", e.message, e.rule));
                refuse(batch, at, err, g.fields)
            }
        }
    }
}
