//! Cases and their state machine (R3).
//!
//! A case is a person with a classification (suspected → confirmed or
//! excluded), a clinical severity over time, a place of treatment and an
//! outcome. It changes only through [`Case::apply`], which either returns the
//! next version of the case with the event appended to its history, or
//! refuses with the [`CaseRule`] the event would break. Storage keeps the
//! history and the version; [`Case::replay`] rebuilds a case from them.
//!
//! # The rules
//!
//! The table is the specification; the tests check every row. "Onset" is the
//! onset date when one is known; rules that compare with it do nothing when
//! it is not.
//!
//! | code | refused |
//! |---|---|
//! | `future_date` | any date of a new case or of an event after `today` |
//! | `date_too_early` | any date of a new case or of an event before 2000-01-01 (year 0001 is a typing slip) |
//! | `first_visit_before_onset` | a new case whose first visit is before onset |
//! | `onset_after_report` | a new case whose onset is after its report date |
//! | `same_classification` | `Confirm` a confirmed case, `Exclude` an excluded one, `Revise` to the current classification |
//! | `revision_required` | `Exclude` a confirmed case, `Confirm` an excluded one: only `Revise` leaves confirmed or excluded (there is no other way back to suspected) |
//! | `revision_needs_reason` | `Revise` with a blank reason |
//! | `confirmation_before_onset` | `Confirm` or `Revise` to confirmed dated before onset |
//! | `dead_is_final` | `SetSeverity`, `Admit` or `Die` on a dead case |
//! | `dead_cannot_recover` | `Discharge` a dead case (dead → recovered) |
//! | `recovered_is_final` | `SetSeverity`, `Admit`, `Discharge` or `Die` on a recovered case |
//! | `excluded_case` | `SetSeverity`, `Admit`, `Discharge` or `Die` on an excluded case |
//! | `severity_before_onset` | `SetSeverity` dated before onset |
//! | `transfer_before_admission` | `Admit` (a transfer) dated before the current admission |
//! | `recovery_needs_confirmation` | `Discharge` (cured) a case that is not confirmed |
//! | `discharge_without_admission` | `Discharge` a case never admitted |
//! | `discharge_before_admission` | `Discharge` dated before the admission |
//! | `outcome_before_onset` | `Discharge` or `Die` dated before onset |
//! | `outcome_before_confirmation` | `Discharge` dated before the confirmation |
//!
//! What is allowed, on purpose:
//!
//! - classification and outcome are separate: a dead or recovered case may
//!   still be confirmed, excluded or revised (a post-mortem test, a
//!   correction), and a suspected case may die before it is confirmed, so a
//!   death is *not* refused for being dated before a confirmation;
//! - `Admit` on an admitted case is a transfer to another facility;
//! - a suspected case may be given a severity and admitted.
//!
//! A new case is always opened as suspected, version 1; a case reported as
//! confirmed is opened and then confirmed (two entries of its history).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::contact::ContactId;
use crate::region::RegionCode;
use crate::FieldError;

/// A closed set of words with a code name each (GLOSSARY.md): `ALL`,
/// `name()`, `parse()` (code names, case-insensitive), `Display` and
/// `FromStr` (a [`FieldError`] on `$field` listing the accepted names).
macro_rules! code_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident ($field:literal) {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code name (GLOSSARY.md).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// By code name, ignoring case and surrounding spaces.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.name().eq_ignore_ascii_case(s))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
                    $crate::FieldError::new(
                        $field,
                        format!("unknown value {:?}; expected one of {}", s.trim(), names.join(", ")),
                    )
                })
            }
        }
    };
}
pub(crate) use code_enum;

/// Trimmed text of 1..=`max` characters without control characters.
pub(crate) fn parse_text(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// An identifier as given by a unit: trimmed, 1–64 characters, none of them
/// whitespace or control characters.
pub(crate) fn parse_id(field: &str, s: &str) -> Result<String, FieldError> {
    let s = parse_text(field, s, 64)?;
    if s.chars().any(char::is_whitespace) {
        return Err(FieldError::new(field, "must not contain spaces"));
    }
    if let Some(what) = personal_pattern(&s) {
        return Err(FieldError::new(
            field,
            format!(
                "looks like {what}: an id goes into logs, the audit chain and the \
                 de-identified export, so it must not hold personal numbers; use the \
                 unit's own numbering (e.g. HB-2020-000123)"
            ),
        ));
    }
    Ok(s)
}

/// Whether an id holds something personal: a resident ID number (18
/// characters, or 15 digits of the old ones), a mobile number (11 digits
/// starting with 1, also written 138-1234-5678), or any run of 11 or more
/// digits. What it looks like, if so.
pub fn personal_pattern(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    // runs of digits
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    for &(a, z) in &runs {
        let n = z - a;
        let x_after = b.get(z).is_some_and(|c| *c == b'X' || *c == b'x');
        if n == 18 || (n == 17 && x_after) {
            return Some("a resident ID number");
        }
        if n == 15 {
            return Some("an old resident ID number");
        }
        if n == 11 && b[a] == b'1' {
            return Some("a mobile phone number");
        }
        if n >= 11 {
            return Some("a long run of digits (an ID or phone number)");
        }
    }
    // a mobile number in groups of 3, 4 and 4 digits with one separator between
    for w in runs.windows(3) {
        let [(a1, z1), (a2, z2), (a3, z3)] = [w[0], w[1], w[2]];
        if (z1 - a1, z2 - a2, z3 - a3) == (3, 4, 4) && a2 == z1 + 1 && a3 == z2 + 1 && b[a1] == b'1'
        {
            return Some("a mobile phone number");
        }
    }
    None
}

/// A case's identifier as given by the reporting unit (`HB-2020-000123`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId(String);

impl CaseId {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        parse_id("case_id", s).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CaseId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A person's name: 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        parse_text("name", s, 64).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An address or a place (of exposure, of a facility): 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place(String);

impl Place {
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        parse_text(field, s, 200).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

code_enum! {
    pub enum Sex ("sex") {
        Male = "male",
        Female = "female",
        Unknown = "unknown",
    }
}

/// An age in whole years, 0..=130.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Age(u8);

impl Age {
    pub const MAX: u8 = 130;

    pub fn new(years: i64) -> Result<Self, FieldError> {
        u8::try_from(years)
            .ok()
            .filter(|y| *y <= Self::MAX)
            .map(Self)
            .ok_or_else(|| FieldError::new("age", format!("{years} is not an age (0 to 130)")))
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let years = s
            .parse::<i64>()
            .map_err(|_| FieldError::new("age", format!("{s:?} is not a whole number of years")))?;
        Self::new(years)
    }

    pub fn years(self) -> u8 {
        self.0
    }

    pub fn band(self) -> AgeBand {
        AgeBand::of(self)
    }
}

/// Ten-year age bands for de-identified exports: 0–9, 10–19, …, 70–79, 80+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgeBand(u8);

impl AgeBand {
    /// The lower bound of the open top band.
    pub const TOP: u8 = 80;

    pub fn of(age: Age) -> Self {
        Self((age.0 / 10 * 10).min(Self::TOP))
    }

    /// The youngest age in the band.
    pub fn lower(self) -> u8 {
        self.0
    }

    /// The oldest age in the band; `None` for the top band.
    pub fn upper(self) -> Option<u8> {
        (self.0 < Self::TOP).then_some(self.0 + 9)
    }

    /// `0-9`, `10-19`, …, `80+`.
    pub fn label(self) -> String {
        match self.upper() {
            Some(upper) => format!("{}-{upper}", self.0),
            None => format!("{}+", self.0),
        }
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A resident identity number of the People's Republic of China (GB
/// 11643-1999): six digits of the issuing region, the birth date as
/// `YYYYMMDD`, a three-digit sequence whose last digit is odd for men and
/// even for women, and an ISO 7064 MOD 11-2 check character (`0`–`9` or `X`).
///
/// It is personal data: `Display` and `Debug` show only [`IdNumber::masked`];
/// the full number is read with [`IdNumber::reveal`], for storage and
/// matching only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

/// The weights of the 17 digits: 2^(17 − i) mod 11.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder of the weighted sum mod 11.
const ID_CHECK: [u8; 11] = *b"10X98765432";

impl IdNumber {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "id_number";
        let s = s.trim().to_ascii_uppercase();
        let bytes = s.as_bytes();
        if bytes.len() != 18 {
            return Err(FieldError::new(FIELD, "must be 18 characters"));
        }
        let (body, check) = bytes.split_at(17);
        if !body.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::new(
                FIELD,
                "the first 17 characters must be digits",
            ));
        }
        let Some(expected) = Self::check_char(body) else {
            return Err(FieldError::new(
                FIELD,
                "the first 17 characters must be digits",
            ));
        };
        if check != [expected] {
            return Err(FieldError::new(FIELD, "the check character does not match"));
        }
        let digits = |r: std::ops::Range<usize>| -> u32 {
            body[r].iter().fold(0, |n, b| n * 10 + u32::from(b - b'0'))
        };
        let (y, m, d) = (digits(6..10), digits(10..12), digits(12..14));
        let date = i32::try_from(y)
            .ok()
            .filter(|y| *y >= 1880)
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, d));
        if date.is_none() {
            return Err(FieldError::new(FIELD, "the birth date in it is not a date"));
        }
        Ok(Self(s))
    }

    /// The check character (`0`–`9` or `X`) of 17 digits; `None` if `body`
    /// is not 17 ASCII digits.
    pub fn check_char(body: &[u8]) -> Option<u8> {
        if body.len() != 17 || !body.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let sum: u32 = body
            .iter()
            .zip(ID_WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        ID_CHECK.get((sum % 11) as usize).copied()
    }

    fn digit(&self, i: usize) -> u32 {
        self.0
            .as_bytes()
            .get(i)
            .map_or(0, |b| u32::from(b.wrapping_sub(b'0')))
    }

    fn number(&self, range: std::ops::Range<usize>) -> u32 {
        range.fold(0, |n, i| n * 10 + self.digit(i))
    }

    pub fn birth_date(&self) -> NaiveDate {
        i32::try_from(self.number(6..10))
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, self.number(10..12), self.number(12..14)))
            .unwrap_or(NaiveDate::MIN)
    }

    pub fn birth_year(&self) -> i32 {
        self.birth_date().year()
    }

    /// From the parity of the 17th digit: odd for men, even for women.
    pub fn sex(&self) -> Sex {
        if self.digit(16) % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The age in whole years on `on`; `None` before birth or beyond 130.
    pub fn age_on(&self, on: NaiveDate) -> Option<Age> {
        let years = on.years_since(self.birth_date())?;
        Age::new(i64::from(years)).ok()
    }

    /// `420102********1234`: the issuing region and the last four characters.
    pub fn masked(&self) -> String {
        let (head, tail) = (self.0.get(..6), self.0.get(14..));
        format!("{}********{}", head.unwrap_or(""), tail.unwrap_or(""))
    }

    /// The full number: for storage and matching, never for display or logs.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The number as a number, for indexes and maps: its first 17 digits
    /// (the check character follows from them).
    pub fn key(&self) -> u64 {
        self.0
            .bytes()
            .take(17)
            .fold(0, |n, b| n * 10 + u64::from(b.wrapping_sub(b'0') % 10))
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A phone number: 7–15 digits after an optional `+86`, with spaces and
/// hyphens ignored. Stored as the digits without the country code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.strip_prefix("+86").unwrap_or(&compact);
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(
                "phone",
                "must be digits, optionally after +86",
            ));
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(FieldError::new("phone", "must have 7 to 15 digits"));
        }
        Ok(Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who a case (or a contact) is. Everything but the sex and the home region
/// may be unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: Option<PersonName>,
    pub id_number: Option<IdNumber>,
    pub sex: Sex,
    pub age: Option<Age>,
    pub phone: Option<Phone>,
    pub address: Option<Place>,
    /// Where the person lives.
    pub home_region: RegionCode,
}

impl Person {
    /// A person of whom only the home region is known.
    pub fn unknown(home_region: RegionCode) -> Self {
        Self {
            name: None,
            id_number: None,
            sex: Sex::Unknown,
            age: None,
            phone: None,
            address: None,
            home_region,
        }
    }
}

code_enum! {
    pub enum Classification ("classification") {
        /// 疑似病例
        Suspected = "suspected",
        /// 确诊病例
        Confirmed = "confirmed",
        /// 排除: ruled out.
        Excluded = "excluded",
    }
}

code_enum! {
    /// Clinical severity: 轻症 / 重症 / 危重症.
    pub enum Severity ("severity") {
        Mild = "mild",
        Severe = "severe",
        Critical = "critical",
    }
}

code_enum! {
    /// How a case ended; a case without one is still open.
    pub enum Outcome ("outcome") {
        /// 治愈出院: discharged cured.
        Recovered = "recovered",
        /// 死亡
        Death = "death",
    }
}

code_enum! {
    /// Where the infection happened: 输入性 / 本地.
    pub enum Origin ("imported") {
        Local = "local",
        Imported = "imported",
    }
}

/// Where a case is treated: a designated hospital, a treatment centre, a
/// shelter hospital, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    pub region: RegionCode,
    pub name: Place,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub facility: Facility,
    pub date: NaiveDate,
}

/// The dates of a case. `confirmation` and `exclusion` are those of the
/// current classification (a revision away from it clears them; the history
/// keeps them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDates {
    pub onset: Option<NaiveDate>,
    pub first_visit: Option<NaiveDate>,
    pub report: NaiveDate,
    pub confirmation: Option<NaiveDate>,
    pub exclusion: Option<NaiveDate>,
}

/// A case as reported, before it exists: [`Case::open`] checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub id: CaseId,
    pub person: Person,
    /// The unit that reported the case.
    pub reporting_unit: RegionCode,
    pub origin: Origin,
    /// Where the person was exposed (`travel from Wuhan`, a market, …).
    pub place_of_exposure: Option<Place>,
    pub onset: Option<NaiveDate>,
    pub first_visit: Option<NaiveDate>,
    pub report: NaiveDate,
    /// The cases this one was infected by, when known (a contact's sources).
    pub source_cases: Vec<CaseId>,
    /// The close contact this case was converted from.
    pub from_contact: Option<ContactId>,
}

/// Something that happens to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseEvent {
    Confirm {
        date: NaiveDate,
    },
    Exclude {
        date: NaiveDate,
    },
    /// A recorded revision of the classification: the only way out of
    /// confirmed or excluded.
    Revise {
        to: Classification,
        date: NaiveDate,
        reason: String,
    },
    SetSeverity {
        severity: Severity,
        date: NaiveDate,
    },
    /// Admission, or a transfer when already admitted.
    Admit {
        facility: Facility,
        date: NaiveDate,
    },
    /// Discharged cured.
    Discharge {
        date: NaiveDate,
    },
    Die {
        date: NaiveDate,
    },
}

impl CaseEvent {
    pub fn date(&self) -> NaiveDate {
        match self {
            CaseEvent::Confirm { date }
            | CaseEvent::Exclude { date }
            | CaseEvent::Revise { date, .. }
            | CaseEvent::SetSeverity { date, .. }
            | CaseEvent::Admit { date, .. }
            | CaseEvent::Discharge { date }
            | CaseEvent::Die { date } => *date,
        }
    }

    /// `confirm`, `exclude`, `revise`, `set_severity`, `admit`, `discharge`, `die`.
    pub fn name(&self) -> &'static str {
        match self {
            CaseEvent::Confirm { .. } => "confirm",
            CaseEvent::Exclude { .. } => "exclude",
            CaseEvent::Revise { .. } => "revise",
            CaseEvent::SetSeverity { .. } => "set_severity",
            CaseEvent::Admit { .. } => "admit",
            CaseEvent::Discharge { .. } => "discharge",
            CaseEvent::Die { .. } => "die",
        }
    }

    /// The input field the event's date fills.
    pub fn date_field(&self) -> &'static str {
        match self {
            CaseEvent::Confirm { .. } => "confirmation_date",
            CaseEvent::Exclude { .. } => "exclusion_date",
            CaseEvent::Revise { .. } => "revision_date",
            CaseEvent::SetSeverity { .. } => "severity_date",
            CaseEvent::Admit { .. } => "admission_date",
            CaseEvent::Discharge { .. } | CaseEvent::Die { .. } => "outcome_date",
        }
    }
}

/// One entry of a case's history: the event that made `version`, and the
/// day it was recorded (the `today` it was checked against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub version: u32,
    pub event: CaseEvent,
    pub recorded_on: NaiveDate,
}

code_enum! {
    /// The rules of the state machine; see the table in the module docs.
    pub enum CaseRule ("rule") {
        FutureDate = "future_date",
        DateTooEarly = "date_too_early",
        FirstVisitBeforeOnset = "first_visit_before_onset",
        OnsetAfterReport = "onset_after_report",
        SameClassification = "same_classification",
        RevisionRequired = "revision_required",
        RevisionNeedsReason = "revision_needs_reason",
        ConfirmationBeforeOnset = "confirmation_before_onset",
        DeadIsFinal = "dead_is_final",
        DeadCannotRecover = "dead_cannot_recover",
        RecoveredIsFinal = "recovered_is_final",
        ExcludedCase = "excluded_case",
        SeverityBeforeOnset = "severity_before_onset",
        TransferBeforeAdmission = "transfer_before_admission",
        RecoveryNeedsConfirmation = "recovery_needs_confirmation",
        DischargeWithoutAdmission = "discharge_without_admission",
        DischargeBeforeAdmission = "discharge_before_admission",
        OutcomeBeforeOnset = "outcome_before_onset",
        OutcomeBeforeConfirmation = "outcome_before_confirmation",
        /// A history whose versions do not follow 2, 3, … ([`Case::replay`]).
        VersionGap = "version_gap",
    }
}

impl CaseRule {
    /// The stable machine code (the same as `name()`).
    pub fn code(self) -> &'static str {
        self.name()
    }
}

/// A refused change: the rule, the input field it concerns and a message in
/// lowercase without a trailing period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message} ({rule})")]
pub struct CaseRuleError {
    pub rule: CaseRule,
    pub field: &'static str,
    pub message: String,
}

impl CaseRuleError {
    fn new(rule: CaseRule, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            rule,
            field,
            message: message.into(),
        }
    }
}

impl From<CaseRuleError> for FieldError {
    fn from(e: CaseRuleError) -> Self {
        FieldError::new(e.field, format!("{} ({})", e.message, e.rule)).with_rule(e.rule.code())
    }
}

/// A case: valid by construction, changed only by [`Case::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    id: CaseId,
    person: Person,
    reporting_unit: RegionCode,
    origin: Origin,
    place_of_exposure: Option<Place>,
    classification: Classification,
    severity: Option<(Severity, NaiveDate)>,
    admission: Option<Admission>,
    outcome: Option<(Outcome, NaiveDate)>,
    dates: CaseDates,
    source_cases: Vec<CaseId>,
    from_contact: Option<ContactId>,
    opened_on: NaiveDate,
    history: Vec<CaseRecord>,
    version: u32,
}

fn not_after_today(
    field: &'static str,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), CaseRuleError> {
    if date > today {
        return Err(CaseRuleError::new(
            CaseRule::FutureDate,
            field,
            format!("{date} is after today ({today})"),
        ));
    }
    if date < EARLIEST_DATE {
        return Err(CaseRuleError::new(
            CaseRule::DateTooEarly,
            field,
            format!("{date} is before {EARLIEST_DATE}"),
        ));
    }
    Ok(())
}

/// The earliest date a case or an event may carry.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

impl Case {
    /// Opens a new case, suspected, version 1.
    pub fn open(new: NewCase, today: NaiveDate) -> Result<Case, CaseRuleError> {
        for (field, date) in [
            ("onset_date", new.onset),
            ("first_visit_date", new.first_visit),
            ("report_date", Some(new.report)),
        ] {
            if let Some(date) = date {
                not_after_today(field, date, today)?;
            }
        }
        if let Some(onset) = new.onset.filter(|o| *o > new.report) {
            return Err(CaseRuleError::new(
                CaseRule::OnsetAfterReport,
                "onset_date",
                format!("onset ({onset}) is after the report date ({})", new.report),
            ));
        }
        if let (Some(onset), Some(visit)) = (new.onset, new.first_visit) {
            if visit < onset {
                return Err(CaseRuleError::new(
                    CaseRule::FirstVisitBeforeOnset,
                    "first_visit_date",
                    format!("the first visit ({visit}) is before onset ({onset})"),
                ));
            }
        }
        Ok(Case {
            id: new.id,
            person: new.person,
            reporting_unit: new.reporting_unit,
            origin: new.origin,
            place_of_exposure: new.place_of_exposure,
            classification: Classification::Suspected,
            severity: None,
            admission: None,
            outcome: None,
            dates: CaseDates {
                onset: new.onset,
                first_visit: new.first_visit,
                report: new.report,
                confirmation: None,
                exclusion: None,
            },
            source_cases: new.source_cases,
            from_contact: new.from_contact,
            opened_on: today,
            history: Vec::new(),
            version: 1,
        })
    }

    /// Rebuilds a case from what storage keeps: the new case, the day it was
    /// opened and its history, each event checked again against the day it
    /// was recorded. Versions must run 2, 3, … in order.
    pub fn replay(
        new: NewCase,
        opened_on: NaiveDate,
        history: &[CaseRecord],
    ) -> Result<Case, CaseRuleError> {
        let mut case = Case::open(new, opened_on)?;
        for record in history {
            if Some(record.version) != case.version.checked_add(1) {
                return Err(CaseRuleError::new(
                    CaseRule::VersionGap,
                    "version",
                    format!(
                        "version {} follows version {}",
                        record.version, case.version
                    ),
                ));
            }
            case = case.apply(record.event.clone(), record.recorded_on)?;
        }
        Ok(case)
    }

    /// The next version of this case with `event` applied and recorded, or
    /// the rule it breaks. `today` is the day of recording: no date may be
    /// after it.
    pub fn apply(&self, event: CaseEvent, today: NaiveDate) -> Result<Case, CaseRuleError> {
        let date = event.date();
        let field = event.date_field();
        not_after_today(field, date, today)?;
        let mut next = self.clone();
        match &event {
            CaseEvent::Confirm { .. } => {
                self.check_classify(Classification::Confirmed)?;
                self.check_confirmation_date(date)?;
                next.classify(Classification::Confirmed, date);
            }
            CaseEvent::Exclude { .. } => {
                self.check_classify(Classification::Excluded)?;
                next.classify(Classification::Excluded, date);
            }
            CaseEvent::Revise { to, reason, .. } => {
                if reason.trim().is_empty() {
                    return Err(CaseRuleError::new(
                        CaseRule::RevisionNeedsReason,
                        "reason",
                        "a revision must say why",
                    ));
                }
                if *to == self.classification {
                    return Err(self.same_classification());
                }
                if *to == Classification::Confirmed {
                    self.check_confirmation_date(date)?;
                }
                next.classify(*to, date);
            }
            CaseEvent::SetSeverity { severity, .. } => {
                self.check_open("severity")?;
                self.check_not_before_onset(CaseRule::SeverityBeforeOnset, field, date)?;
                next.severity = Some((*severity, date));
            }
            CaseEvent::Admit { facility, .. } => {
                self.check_open("facility")?;
                if let Some(current) = &self.admission {
                    if date < current.date {
                        return Err(CaseRuleError::new(
                            CaseRule::TransferBeforeAdmission,
                            field,
                            format!(
                                "a transfer on {date} is before the current admission ({})",
                                current.date
                            ),
                        ));
                    }
                }
                next.admission = Some(Admission {
                    facility: facility.clone(),
                    date,
                });
            }
            CaseEvent::Discharge { .. } => {
                if matches!(self.outcome, Some((Outcome::Death, _))) {
                    return Err(CaseRuleError::new(
                        CaseRule::DeadCannotRecover,
                        "outcome",
                        "a dead case cannot be discharged cured",
                    ));
                }
                self.check_open("outcome")?;
                if self.classification != Classification::Confirmed {
                    return Err(CaseRuleError::new(
                        CaseRule::RecoveryNeedsConfirmation,
                        "outcome",
                        format!("a {} case cannot be discharged cured", self.classification),
                    ));
                }
                let Some(admission) = &self.admission else {
                    return Err(CaseRuleError::new(
                        CaseRule::DischargeWithoutAdmission,
                        "outcome",
                        "the case was never admitted",
                    ));
                };
                if date < admission.date {
                    return Err(CaseRuleError::new(
                        CaseRule::DischargeBeforeAdmission,
                        field,
                        format!(
                            "the discharge ({date}) is before the admission ({})",
                            admission.date
                        ),
                    ));
                }
                self.check_not_before_onset(CaseRule::OutcomeBeforeOnset, field, date)?;
                if let Some(confirmation) = self.dates.confirmation {
                    if date < confirmation {
                        return Err(CaseRuleError::new(
                            CaseRule::OutcomeBeforeConfirmation,
                            field,
                            format!(
                                "the discharge ({date}) is before the confirmation ({confirmation})"
                            ),
                        ));
                    }
                }
                next.outcome = Some((Outcome::Recovered, date));
            }
            CaseEvent::Die { .. } => {
                self.check_open("outcome")?;
                self.check_not_before_onset(CaseRule::OutcomeBeforeOnset, field, date)?;
                next.outcome = Some((Outcome::Death, date));
            }
        }
        next.version = self.version.saturating_add(1);
        next.history.push(CaseRecord {
            version: next.version,
            event,
            recorded_on: today,
        });
        Ok(next)
    }

    fn same_classification(&self) -> CaseRuleError {
        CaseRuleError::new(
            CaseRule::SameClassification,
            "classification",
            format!("the case is already {}", self.classification),
        )
    }

    /// `Confirm` and `Exclude` move a suspected case only.
    fn check_classify(&self, to: Classification) -> Result<(), CaseRuleError> {
        if self.classification == to {
            return Err(self.same_classification());
        }
        if self.classification != Classification::Suspected {
            return Err(CaseRuleError::new(
                CaseRule::RevisionRequired,
                "classification",
                format!(
                    "a {} case becomes {to} only through a recorded revision",
                    self.classification
                ),
            ));
        }
        Ok(())
    }

    fn check_confirmation_date(&self, date: NaiveDate) -> Result<(), CaseRuleError> {
        self.check_not_before_onset(CaseRule::ConfirmationBeforeOnset, "confirmation_date", date)
    }

    fn check_not_before_onset(
        &self,
        rule: CaseRule,
        field: &'static str,
        date: NaiveDate,
    ) -> Result<(), CaseRuleError> {
        match self.dates.onset {
            Some(onset) if date < onset => Err(CaseRuleError::new(
                rule,
                field,
                format!("{date} is before onset ({onset})"),
            )),
            _ => Ok(()),
        }
    }

    /// Severity, admission and outcome need a case that is neither dead,
    /// recovered nor excluded.
    fn check_open(&self, field: &'static str) -> Result<(), CaseRuleError> {
        match self.outcome {
            Some((Outcome::Death, date)) => Err(CaseRuleError::new(
                CaseRule::DeadIsFinal,
                field,
                format!("the case died on {date}"),
            )),
            Some((Outcome::Recovered, date)) => Err(CaseRuleError::new(
                CaseRule::RecoveredIsFinal,
                field,
                format!("the case was discharged cured on {date}"),
            )),
            None if self.classification == Classification::Excluded => Err(CaseRuleError::new(
                CaseRule::ExcludedCase,
                field,
                "the case was ruled out",
            )),
            None => Ok(()),
        }
    }

    fn classify(&mut self, to: Classification, date: NaiveDate) {
        self.classification = to;
        self.dates.confirmation = (to == Classification::Confirmed).then_some(date);
        self.dates.exclusion = (to == Classification::Excluded).then_some(date);
    }

    pub fn id(&self) -> &CaseId {
        &self.id
    }

    pub fn person(&self) -> &Person {
        &self.person
    }

    pub fn reporting_unit(&self) -> &RegionCode {
        &self.reporting_unit
    }

    pub fn origin(&self) -> Origin {
        self.origin
    }

    pub fn place_of_exposure(&self) -> Option<&Place> {
        self.place_of_exposure.as_ref()
    }

    pub fn classification(&self) -> Classification {
        self.classification
    }

    /// The current severity and the day it was set.
    pub fn severity(&self) -> Option<(Severity, NaiveDate)> {
        self.severity
    }

    /// The current (or last, once discharged or dead) admission.
    pub fn admission(&self) -> Option<&Admission> {
        self.admission.as_ref()
    }

    pub fn outcome(&self) -> Option<(Outcome, NaiveDate)> {
        self.outcome
    }

    pub fn dates(&self) -> &CaseDates {
        &self.dates
    }

    pub fn source_cases(&self) -> &[CaseId] {
        &self.source_cases
    }

    pub fn from_contact(&self) -> Option<&ContactId> {
        self.from_contact.as_ref()
    }

    pub fn opened_on(&self) -> NaiveDate {
        self.opened_on
    }

    /// Every event since the case was opened, oldest first.
    pub fn history(&self) -> &[CaseRecord] {
        &self.history
    }

    /// 1 when opened, one more for each event. Storage refuses a write whose
    /// case was read at another version than the one stored.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The severity in force on `on`, from the history (the last one set on
    /// or before that day, while the case had no outcome before it).
    pub fn severity_on(&self, on: NaiveDate) -> Option<Severity> {
        if self.outcome.is_some_and(|(_, d)| d < on) {
            return None;
        }
        self.history
            .iter()
            .filter_map(|r| match r.event {
                CaseEvent::SetSeverity { severity, date } if date <= on => Some((date, severity)),
                _ => None,
            })
            .max_by_key(|(date, _)| *date)
            .map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12, finding 7: an ID number or a phone as a case id went
    /// verbatim into logs, chains and the de-identified export.
    #[test]
    fn ids_holding_id_numbers_or_phones_are_refused() {
        for bad in [
            "420103198001011234",
            "42010319800101123X",
            "HB-42010319800101123x",
            "420103800101123",
            "13812345678",
            "case-13812345678",
            "138-1234-5678",
            "HB-2020-00000000123",
        ] {
            let e = CaseId::parse(bad).expect_err(bad);
            assert_eq!(e.field, "case_id", "{bad}");
            assert!(e.reason.starts_with("looks like"), "{bad}: {}", e.reason);
            let e = crate::contact::ContactId::parse(bad).expect_err(bad);
            assert_eq!(e.field, "contact_id", "{bad}");
        }
        for good in [
            "HB-2020-000123",
            "WH-0001",
            "HB-0000001",
            "C-20200123-0042",
            "2020012312",
        ] {
            assert!(CaseId::parse(good).is_ok(), "{good}");
        }
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, m, day).unwrap()
    }

    const TODAY: (u32, u32) = (3, 1);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1)
    }

    fn region(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    fn new_case() -> NewCase {
        NewCase {
            id: CaseId::parse("HB-2020-000123").unwrap(),
            person: Person::unknown(region("420102")),
            reporting_unit: region("420102"),
            origin: Origin::Local,
            place_of_exposure: None,
            onset: Some(d(2, 1)),
            first_visit: Some(d(2, 2)),
            report: d(2, 3),
            source_cases: vec![],
            from_contact: None,
        }
    }

    fn facility() -> Facility {
        Facility {
            region: region("420102"),
            name: Place::parse("facility", "金银潭医院").unwrap(),
        }
    }

    /// A suspected case, onset 1 Feb.
    fn suspected() -> Case {
        Case::open(new_case(), today()).unwrap()
    }

    fn run(case: &Case, events: &[CaseEvent]) -> Result<Case, CaseRuleError> {
        events
            .iter()
            .try_fold(case.clone(), |c, e| c.apply(e.clone(), today()))
    }

    fn confirmed() -> Case {
        run(&suspected(), &[CaseEvent::Confirm { date: d(2, 4) }]).unwrap()
    }

    fn admitted() -> Case {
        run(
            &confirmed(),
            &[CaseEvent::Admit {
                facility: facility(),
                date: d(2, 5),
            }],
        )
        .unwrap()
    }

    fn recovered() -> Case {
        run(&admitted(), &[CaseEvent::Discharge { date: d(2, 20) }]).unwrap()
    }

    fn dead() -> Case {
        run(&admitted(), &[CaseEvent::Die { date: d(2, 10) }]).unwrap()
    }

    fn excluded() -> Case {
        run(&suspected(), &[CaseEvent::Exclude { date: d(2, 4) }]).unwrap()
    }

    fn revise(to: Classification, date: NaiveDate) -> CaseEvent {
        CaseEvent::Revise {
            to,
            date,
            reason: "retest".into(),
        }
    }

    fn severity(date: NaiveDate) -> CaseEvent {
        CaseEvent::SetSeverity {
            severity: Severity::Severe,
            date,
        }
    }

    fn admit(date: NaiveDate) -> CaseEvent {
        CaseEvent::Admit {
            facility: facility(),
            date,
        }
    }

    /// Applies `event` to `case` and checks it is refused by `rule`.
    #[track_caller]
    fn refused(case: &Case, event: CaseEvent, rule: &str) {
        match case.apply(event.clone(), today()) {
            Ok(_) => panic!(
                "{} on {:?} was allowed",
                event.name(),
                case.classification()
            ),
            Err(e) => {
                assert_eq!(e.rule.code(), rule, "{e}");
                assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn the_rule_table_lists_every_rule() {
        let docs = include_str!("case.rs");
        for rule in CaseRule::ALL {
            if *rule == CaseRule::VersionGap {
                continue;
            }
            assert!(
                docs.contains(&format!("//! | `{}` |", rule.code())),
                "{rule}"
            );
        }
    }

    #[test]
    fn a_new_case_is_suspected_version_one() {
        let c = suspected();
        assert_eq!(c.classification(), Classification::Suspected);
        assert_eq!(c.version(), 1);
        assert!(c.history().is_empty());
        assert_eq!(c.outcome(), None);
    }

    #[test]
    fn new_case_dates_are_checked() {
        let mut future = new_case();
        future.report = d(3, 2);
        let e = Case::open(future, today()).unwrap_err();
        assert_eq!((e.rule, e.field), (CaseRule::FutureDate, "report_date"));

        let mut early = new_case();
        early.first_visit = Some(d(1, 31));
        let e = Case::open(early, today()).unwrap_err();
        assert_eq!(e.rule, CaseRule::FirstVisitBeforeOnset);

        // issue 12: year 0001, and an onset after the report
        let mut ancient = new_case();
        ancient.onset = NaiveDate::from_ymd_opt(1, 1, 1);
        let e = Case::open(ancient, today()).unwrap_err();
        assert_eq!((e.rule, e.field), (CaseRule::DateTooEarly, "onset_date"));
        let mut late = new_case();
        late.onset = Some(late.report + chrono::Duration::days(1));
        late.first_visit = None;
        let e = Case::open(late, today()).unwrap_err();
        assert_eq!(
            (e.rule, e.field),
            (CaseRule::OnsetAfterReport, "onset_date")
        );

        let mut unknown_onset = new_case();
        unknown_onset.onset = None;
        assert!(Case::open(unknown_onset, today()).is_ok());
    }

    #[test]
    fn allowed_transitions() {
        let c = confirmed();
        assert_eq!(c.classification(), Classification::Confirmed);
        assert_eq!(c.dates().confirmation, Some(d(2, 4)));
        assert_eq!(c.version(), 2);

        let e = excluded();
        assert_eq!(e.classification(), Classification::Excluded);
        assert_eq!(e.dates().exclusion, Some(d(2, 4)));

        // A suspected case may be given a severity and admitted.
        let s = run(&suspected(), &[severity(d(2, 3)), admit(d(2, 3))]).unwrap();
        assert_eq!(s.severity(), Some((Severity::Severe, d(2, 3))));
        assert_eq!(s.admission().map(|a| a.date), Some(d(2, 3)));

        // A transfer on or after the admission.
        let t = run(&admitted(), &[admit(d(2, 5)), admit(d(2, 8))]).unwrap();
        assert_eq!(t.admission().map(|a| a.date), Some(d(2, 8)));

        let r = recovered();
        assert_eq!(r.outcome(), Some((Outcome::Recovered, d(2, 20))));
        let x = dead();
        assert_eq!(x.outcome(), Some((Outcome::Death, d(2, 10))));

        // A suspected case may die before it is confirmed, and be confirmed after.
        let pm = run(
            &suspected(),
            &[
                CaseEvent::Die { date: d(2, 5) },
                CaseEvent::Confirm { date: d(2, 7) },
            ],
        )
        .unwrap();
        assert_eq!(pm.classification(), Classification::Confirmed);
        assert_eq!(pm.outcome(), Some((Outcome::Death, d(2, 5))));

        // Dates on today and on onset are fine.
        assert!(suspected()
            .apply(CaseEvent::Confirm { date: today() }, today())
            .is_ok());
        assert!(suspected()
            .apply(CaseEvent::Confirm { date: d(2, 1) }, today())
            .is_ok());
    }

    #[test]
    fn revisions_are_the_way_back() {
        let back = confirmed()
            .apply(revise(Classification::Suspected, d(2, 6)), today())
            .unwrap();
        assert_eq!(back.classification(), Classification::Suspected);
        assert_eq!(back.dates().confirmation, None);

        let again = excluded()
            .apply(revise(Classification::Confirmed, d(2, 9)), today())
            .unwrap();
        assert_eq!(again.classification(), Classification::Confirmed);
        assert_eq!(again.dates().confirmation, Some(d(2, 9)));
        assert_eq!(again.dates().exclusion, None);

        // A dead case's classification may still be revised.
        let ruled_out = dead()
            .apply(revise(Classification::Excluded, d(2, 12)), today())
            .unwrap();
        assert_eq!(ruled_out.classification(), Classification::Excluded);
        assert_eq!(ruled_out.outcome(), Some((Outcome::Death, d(2, 10))));
    }

    #[test]
    fn classification_rules() {
        refused(
            &confirmed(),
            CaseEvent::Confirm { date: d(2, 5) },
            "same_classification",
        );
        refused(
            &excluded(),
            CaseEvent::Exclude { date: d(2, 5) },
            "same_classification",
        );
        refused(
            &confirmed(),
            revise(Classification::Confirmed, d(2, 5)),
            "same_classification",
        );
        refused(
            &confirmed(),
            CaseEvent::Exclude { date: d(2, 5) },
            "revision_required",
        );
        refused(
            &excluded(),
            CaseEvent::Confirm { date: d(2, 5) },
            "revision_required",
        );
        let blank = CaseEvent::Revise {
            to: Classification::Suspected,
            date: d(2, 5),
            reason: "  ".into(),
        };
        refused(&confirmed(), blank, "revision_needs_reason");
        refused(
            &suspected(),
            CaseEvent::Confirm { date: d(1, 31) },
            "confirmation_before_onset",
        );
        refused(
            &excluded(),
            revise(Classification::Confirmed, d(1, 31)),
            "confirmation_before_onset",
        );
    }

    #[test]
    fn future_dates_are_refused() {
        let tomorrow = d(3, 2);
        for (case, event) in [
            (suspected(), CaseEvent::Confirm { date: tomorrow }),
            (suspected(), CaseEvent::Exclude { date: tomorrow }),
            (confirmed(), revise(Classification::Suspected, tomorrow)),
            (confirmed(), severity(tomorrow)),
            (confirmed(), admit(tomorrow)),
            (admitted(), CaseEvent::Discharge { date: tomorrow }),
            (admitted(), CaseEvent::Die { date: tomorrow }),
        ] {
            let field = event.date_field();
            let e = case.apply(event, today()).unwrap_err();
            assert_eq!((e.rule, e.field), (CaseRule::FutureDate, field));
        }
    }

    #[test]
    fn dead_is_final() {
        refused(&dead(), severity(d(2, 11)), "dead_is_final");
        refused(&dead(), admit(d(2, 11)), "dead_is_final");
        refused(&dead(), CaseEvent::Die { date: d(2, 11) }, "dead_is_final");
        refused(
            &dead(),
            CaseEvent::Discharge { date: d(2, 11) },
            "dead_cannot_recover",
        );
    }

    #[test]
    fn recovered_is_final() {
        refused(&recovered(), severity(d(2, 21)), "recovered_is_final");
        refused(&recovered(), admit(d(2, 21)), "recovered_is_final");
        refused(
            &recovered(),
            CaseEvent::Discharge { date: d(2, 21) },
            "recovered_is_final",
        );
        refused(
            &recovered(),
            CaseEvent::Die { date: d(2, 21) },
            "recovered_is_final",
        );
    }

    #[test]
    fn excluded_cases_are_not_treated() {
        refused(&excluded(), severity(d(2, 5)), "excluded_case");
        refused(&excluded(), admit(d(2, 5)), "excluded_case");
        refused(
            &excluded(),
            CaseEvent::Discharge { date: d(2, 5) },
            "excluded_case",
        );
        refused(
            &excluded(),
            CaseEvent::Die { date: d(2, 5) },
            "excluded_case",
        );
    }

    #[test]
    fn treatment_date_rules() {
        refused(&confirmed(), severity(d(1, 31)), "severity_before_onset");
        refused(&admitted(), admit(d(2, 4)), "transfer_before_admission");
        let suspected_admitted = run(&suspected(), &[admit(d(2, 3))]).unwrap();
        refused(
            &suspected_admitted,
            CaseEvent::Discharge { date: d(2, 9) },
            "recovery_needs_confirmation",
        );
        refused(
            &confirmed(),
            CaseEvent::Discharge { date: d(2, 9) },
            "discharge_without_admission",
        );
        refused(
            &admitted(),
            CaseEvent::Discharge { date: d(2, 4) },
            "discharge_before_admission",
        );
        refused(
            &admitted(),
            CaseEvent::Die { date: d(1, 31) },
            "outcome_before_onset",
        );

        // Admitted before onset and confirmation (a patient already in
        // hospital): a discharge before onset or confirmation is refused.
        let mut no_onset = new_case();
        no_onset.onset = Some(d(2, 3));
        no_onset.first_visit = None;
        let inpatient = run(
            &Case::open(no_onset, today()).unwrap(),
            &[admit(d(2, 1)), CaseEvent::Confirm { date: d(2, 6) }],
        )
        .unwrap();
        refused(
            &inpatient,
            CaseEvent::Discharge { date: d(2, 2) },
            "outcome_before_onset",
        );
        refused(
            &inpatient,
            CaseEvent::Discharge { date: d(2, 5) },
            "outcome_before_confirmation",
        );
        assert!(inpatient
            .apply(CaseEvent::Discharge { date: d(2, 6) }, today())
            .is_ok());
    }

    #[test]
    fn versions_and_history() {
        let r = recovered();
        assert_eq!(r.version(), 4);
        let versions: Vec<u32> = r.history().iter().map(|h| h.version).collect();
        assert_eq!(versions, [2, 3, 4]);
        let names: Vec<&str> = r.history().iter().map(|h| h.event.name()).collect();
        assert_eq!(names, ["confirm", "admit", "discharge"]);
        // Refusal leaves the case as it was.
        let before = r.clone();
        assert!(r.apply(CaseEvent::Die { date: d(2, 21) }, today()).is_err());
        assert_eq!(r, before);
    }

    #[test]
    fn replay_rebuilds_the_case() {
        let r = recovered();
        let again = Case::replay(new_case(), today(), r.history()).unwrap();
        assert_eq!(again, r);
        let mut gap = r.history().to_vec();
        gap.remove(0);
        let e = Case::replay(new_case(), today(), &gap).unwrap_err();
        assert_eq!(e.rule, CaseRule::VersionGap);
    }

    #[test]
    fn severity_over_time() {
        let c = run(
            &admitted(),
            &[
                CaseEvent::SetSeverity {
                    severity: Severity::Mild,
                    date: d(2, 5),
                },
                CaseEvent::SetSeverity {
                    severity: Severity::Critical,
                    date: d(2, 8),
                },
                CaseEvent::Die { date: d(2, 12) },
            ],
        )
        .unwrap();
        assert_eq!(c.severity_on(d(2, 4)), None);
        assert_eq!(c.severity_on(d(2, 7)), Some(Severity::Mild));
        assert_eq!(c.severity_on(d(2, 12)), Some(Severity::Critical));
        assert_eq!(c.severity_on(d(2, 13)), None);
    }

    /// The check character computed the long way, to test `check_char`.
    fn check_by_hand(body: &str) -> char {
        let sum: u32 = body
            .chars()
            .enumerate()
            .map(|(i, c)| c.to_digit(10).unwrap() * (2u32.pow(17 - i as u32) % 11))
            .sum();
        let r = (12 - sum % 11) % 11;
        if r == 10 {
            'X'
        } else {
            char::from_digit(r, 10).unwrap()
        }
    }

    #[test]
    fn id_numbers() {
        // The example published with GB 11643-1999.
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.reveal(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.birth_year(), 1949);
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(id.to_string(), "110105********002X");
        assert!(!format!("{id:?}").contains("19491231"));
        assert_eq!(id.age_on(d(3, 1)).map(Age::years), Some(70));

        for body in [
            "42010219800101123",
            "42010219850615001",
            "44030420001231987",
        ] {
            let full = format!("{body}{}", check_by_hand(body));
            let id = IdNumber::parse(&full).unwrap();
            assert_eq!(
                IdNumber::check_char(body.as_bytes()).map(char::from),
                Some(check_by_hand(body))
            );
            assert_eq!(
                id.masked(),
                format!("{}********{}", &full[..6], &full[14..])
            );
            // Every other check character is refused.
            for wrong in "0123456789X".chars().filter(|c| *c != check_by_hand(body)) {
                let e = IdNumber::parse(&format!("{body}{wrong}")).unwrap_err();
                assert_eq!(e.field, "id_number");
            }
        }
        let male = format!("42010219800101123{}", check_by_hand("42010219800101123"));
        assert_eq!(IdNumber::parse(&male).unwrap().sex(), Sex::Male);

        // Impossible birth dates, even with the right check character.
        for body in [
            "42010219800230123",
            "42010219801301123",
            "42010218000101123",
        ] {
            let e = IdNumber::parse(&format!("{body}{}", check_by_hand(body))).unwrap_err();
            assert!(e.reason.contains("birth date"), "{e}");
        }
        for bad in [
            "",
            "1101051949123100",
            "11010519491231002XX",
            "1101051949123100AX",
            "11010519491231002Y",
            "１１０１０５１９４９１２３１００２Ｘ",
        ] {
            assert!(IdNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn small_types() {
        assert_eq!(
            Phone::parse("+86 138-0013-8000").unwrap().as_str(),
            "13800138000"
        );
        assert_eq!(Phone::parse("027 8765432").unwrap().as_str(), "0278765432");
        assert!(Phone::parse("123456").is_err());
        assert!(Phone::parse("1234567890123456").is_err());
        assert!(Phone::parse("+1 2025550123").is_err());
        assert!(Phone::parse("").is_err());

        assert_eq!(Age::parse("130").unwrap().years(), 130);
        assert!(Age::parse("131").is_err());
        assert!(Age::parse("-1").is_err());
        assert!(Age::parse("x").is_err());

        assert!(CaseId::parse(" HB-2020-000123 ").is_ok());
        assert!(CaseId::parse("").is_err());
        assert!(CaseId::parse("a b").is_err());
        assert!(CaseId::parse("a\u{7}").is_err());
        assert!(CaseId::parse(&"x".repeat(65)).is_err());
        assert!(CaseId::parse(&"病".repeat(64)).is_ok());

        assert!(PersonName::parse("张三").is_ok());
        assert!(PersonName::parse(" ").is_err());
        assert!(PersonName::parse(&"名".repeat(65)).is_err());

        assert_eq!(
            "Confirmed".parse::<Classification>().unwrap(),
            Classification::Confirmed
        );
        assert_eq!(Severity::parse("critical"), Some(Severity::Critical));
        assert_eq!(Outcome::parse("death"), Some(Outcome::Death));
        let e = "asymptomatic".parse::<Classification>().unwrap_err();
        assert_eq!(e.field, "classification");
        assert!(e.reason.contains("suspected, confirmed, excluded"), "{e}");
    }

    #[test]
    fn age_bands() {
        let band = |y: i64| Age::new(y).unwrap().band().label();
        assert_eq!(band(0), "0-9");
        assert_eq!(band(9), "0-9");
        assert_eq!(band(10), "10-19");
        assert_eq!(band(79), "70-79");
        assert_eq!(band(80), "80+");
        assert_eq!(band(130), "80+");
        assert_eq!(Age::new(45).unwrap().band().upper(), Some(49));
        assert_eq!(Age::new(85).unwrap().band().upper(), None);
    }
}
