//! Close contacts, medical observation and daily follow-up (R4).
//!
//! A close contact is a person linked to one or more source cases, each link
//! with a kind of exposure and the last day of exposure. The contact is
//! observed — at home or at a centralised site — from the day of
//! registration until released, and followed up daily.
//!
//! # The observation rule
//!
//! The *release day* is the last exposure across all links plus the period
//! (14 days by default, a setting): last exposure on 1 February, period 14 →
//! released on **15 February**. The days observed are the registration day
//! up to the day before the release day (here at most 1–14 February: the 14
//! full days after the exposure). On the release day the contact is no
//! longer under observation and drops off every list. See
//! [`observation_end`] and [`Contact::is_under_observation`]. A contact
//! converted to a suspected case stops being observed on the day of the
//! conversion.
//!
//! # Follow-up
//!
//! One result per day: reached (temperature and symptoms) or not reached. A
//! later result of the same day replaces an earlier one, except that "not
//! reached" never replaces "reached". Fever is a temperature of 37.3 °C or
//! more ([`FEVER_C`]).
//!
//! - **Due** ([`Contact::is_due`]): under observation on the day and not yet
//!   reached that day (a failed attempt leaves the contact due).
//! - **Not reached for two days** ([`Contact::not_reached_two_days`]): under
//!   observation on the day, and the last two *scheduled* days both lack a
//!   "reached" result (not reached, or nothing recorded). The scheduled days
//!   are the observed days up to the day, where the day itself counts only
//!   once something has been recorded for it (until then it is still open):
//!   not reached yesterday and the day before → flagged this morning; not
//!   reached today and nothing yesterday → flagged; reached today → not
//!   flagged. A contact observed for fewer than two such days is never
//!   flagged.
//!
//! # Rules
//!
//! | code | refused |
//! |---|---|
//! | `future_date` | a registration, an exposure, a follow-up or a conversion dated after `today` |
//! | `no_links` | a contact without a source case |
//! | `duplicate_source` | two links to the same source case at registration |
//! | `outside_observation` | a follow-up on a day the contact is not under observation |
//! | `already_converted` | a follow-up, a new link or a conversion after the conversion |
//! | `no_fever_or_symptoms` | a conversion when the latest reached follow-up shows neither fever nor symptoms |

use std::fmt;
use std::str::FromStr;

use chrono::{Days, NaiveDate};

use crate::case::{code_enum, parse_id, CaseId, NewCase, Origin, Person, Place};
use crate::region::RegionCode;
use crate::FieldError;

/// A close contact's identifier, as given by the unit that traced it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContactId(String);

impl ContactId {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        parse_id("contact_id", s).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ContactId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

code_enum! {
    /// How a contact was exposed to a source case.
    pub enum Exposure ("exposure") {
        Household = "household",
        Work = "work",
        Transport = "transport",
        Healthcare = "healthcare",
        Other = "other",
    }
}

/// A contact's link to one source case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactLink {
    pub source: CaseId,
    pub exposure: Exposure,
    pub last_exposure: NaiveDate,
}

/// The length of medical observation in days after the last exposure:
/// 1–60, 14 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObservationPeriod(u16);

impl ObservationPeriod {
    pub const DEFAULT_DAYS: u16 = 14;

    pub fn new(days: i64) -> Result<Self, FieldError> {
        u16::try_from(days)
            .ok()
            .filter(|d| (1..=60).contains(d))
            .map(Self)
            .ok_or_else(|| {
                FieldError::new(
                    "observation_days",
                    format!("{days} is not an observation period (1 to 60 days)"),
                )
            })
    }

    pub fn days(self) -> u16 {
        self.0
    }
}

impl Default for ObservationPeriod {
    fn default() -> Self {
        Self(Self::DEFAULT_DAYS)
    }
}

/// The release day: the latest of `last_exposures` plus `period` days (1
/// February, 14 days → 15 February). The contact is observed up to the day
/// before. `None` when there is no exposure.
pub fn observation_end(
    last_exposures: impl IntoIterator<Item = NaiveDate>,
    period: ObservationPeriod,
) -> Option<NaiveDate> {
    let last = last_exposures.into_iter().max()?;
    Some(
        last.checked_add_days(Days::new(u64::from(period.days())))
            .unwrap_or(NaiveDate::MAX),
    )
}

/// Where a contact is observed (医学观察：居家 / 集中).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObservationPlace {
    Home,
    /// At an isolation site, by name.
    Centralised {
        site: Place,
    },
}

impl ObservationPlace {
    /// `home` or `centralised`.
    pub fn name(&self) -> &'static str {
        match self {
            ObservationPlace::Home => "home",
            ObservationPlace::Centralised { .. } => "centralised",
        }
    }
}

/// China's fever threshold, in °C.
pub const FEVER_C: f32 = 37.3;

/// A body temperature in °C, 34.0–43.0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Temperature(f32);

impl Temperature {
    pub fn new(celsius: f32) -> Result<Self, FieldError> {
        if (34.0..=43.0).contains(&celsius) {
            Ok(Self(celsius))
        } else {
            Err(FieldError::new(
                "temperature_c",
                format!("{celsius} is not a body temperature (34.0 to 43.0 °C)"),
            ))
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let c = s
            .parse::<f32>()
            .map_err(|_| FieldError::new("temperature_c", format!("{s:?} is not a number")))?;
        Self::new(c)
    }

    pub fn celsius(self) -> f32 {
        self.0
    }

    /// 37.3 °C or more.
    pub fn is_fever(self) -> bool {
        self.0 >= FEVER_C
    }
}

code_enum! {
    /// Symptoms asked about at follow-up (the national guideline's list;
    /// fever is measured, not asked).
    pub enum Symptom ("symptoms") {
        Cough = "cough",
        Fatigue = "fatigue",
        SoreThroat = "sore_throat",
        NasalCongestion = "nasal_congestion",
        RunnyNose = "runny_nose",
        LossOfSmellOrTaste = "loss_of_smell_or_taste",
        ShortnessOfBreath = "shortness_of_breath",
        MuscleAche = "muscle_ache",
        Diarrhoea = "diarrhoea",
        Conjunctivitis = "conjunctivitis",
        Other = "other",
    }
}

impl Symptom {
    fn bit(self) -> u16 {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        1 << i
    }
}

/// A set of symptoms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Symptoms(u16);

impl Symptoms {
    pub fn none() -> Self {
        Self(0)
    }

    pub fn insert(&mut self, s: Symptom) {
        self.0 |= s.bit();
    }

    pub fn contains(self, s: Symptom) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Symptom> {
        Symptom::ALL
            .iter()
            .copied()
            .filter(move |s| self.contains(*s))
    }

    /// Code names separated by `;` or `,` (`cough;fatigue`); empty for none.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let mut set = Self::none();
        for part in s.split([';', ',']).filter(|p| !p.trim().is_empty()) {
            set.insert(part.parse()?);
        }
        Ok(set)
    }
}

impl FromIterator<Symptom> for Symptoms {
    fn from_iter<I: IntoIterator<Item = Symptom>>(iter: I) -> Self {
        let mut set = Self::none();
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl fmt::Display for Symptoms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Symptom::name).collect();
        f.write_str(&names.join(";"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FollowUpResult {
    Reached {
        temperature: Temperature,
        symptoms: Symptoms,
    },
    NotReached,
}

/// One day's follow-up of a contact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowUp {
    pub date: NaiveDate,
    pub result: FollowUpResult,
}

impl FollowUp {
    pub fn is_reached(&self) -> bool {
        matches!(self.result, FollowUpResult::Reached { .. })
    }

    pub fn has_fever(&self) -> bool {
        matches!(self.result, FollowUpResult::Reached { temperature, .. } if temperature.is_fever())
    }

    pub fn has_symptoms(&self) -> bool {
        matches!(self.result, FollowUpResult::Reached { symptoms, .. } if !symptoms.is_empty())
    }
}

code_enum! {
    /// The rules of contacts; see the table in the module docs.
    pub enum ContactRule ("rule") {
        FutureDate = "future_date",
        NoLinks = "no_links",
        DuplicateSource = "duplicate_source",
        OutsideObservation = "outside_observation",
        AlreadyConverted = "already_converted",
        NoFeverOrSymptoms = "no_fever_or_symptoms",
    }
}

impl ContactRule {
    /// The stable machine code (the same as `name()`).
    pub fn code(self) -> &'static str {
        self.name()
    }
}

/// A refused change to a contact: the rule, the field and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message} ({rule})")]
pub struct ContactRuleError {
    pub rule: ContactRule,
    pub field: &'static str,
    pub message: String,
}

impl ContactRuleError {
    fn new(rule: ContactRule, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            rule,
            field,
            message: message.into(),
        }
    }
}

impl From<ContactRuleError> for FieldError {
    fn from(e: ContactRuleError) -> Self {
        FieldError::new(e.field, format!("{} ({})", e.message, e.rule)).with_rule(e.rule.code())
    }
}

fn not_after_today(
    field: &'static str,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), ContactRuleError> {
    if date > today {
        return Err(ContactRuleError::new(
            ContactRule::FutureDate,
            field,
            format!("{date} is after today ({today})"),
        ));
    }
    Ok(())
}

/// A contact as traced, before it is registered: [`Contact::register`]
/// checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub id: ContactId,
    pub person: Person,
    pub links: Vec<ContactLink>,
    pub place: ObservationPlace,
    pub registered: NaiveDate,
    pub period: ObservationPeriod,
}

/// Where a contact stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactStatus {
    /// Before the registration day.
    NotRegistered,
    UnderObservation,
    /// On or after the release day.
    Released,
    /// On or after the day of conversion to a suspected case.
    Converted,
}

/// A close contact under (or after) medical observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    id: ContactId,
    person: Person,
    /// Never empty; one link per source case.
    links: Vec<ContactLink>,
    place: ObservationPlace,
    registered: NaiveDate,
    period: ObservationPeriod,
    /// Sorted by date, one per day.
    follow_ups: Vec<FollowUp>,
    converted: Option<(CaseId, NaiveDate)>,
}

impl Contact {
    pub fn register(new: NewContact, today: NaiveDate) -> Result<Contact, ContactRuleError> {
        not_after_today("registered_date", new.registered, today)?;
        if new.links.is_empty() {
            return Err(ContactRuleError::new(
                ContactRule::NoLinks,
                "source_case_id",
                "a contact needs at least one source case",
            ));
        }
        for (i, link) in new.links.iter().enumerate() {
            not_after_today("last_exposure_date", link.last_exposure, today)?;
            if new.links[..i].iter().any(|l| l.source == link.source) {
                return Err(ContactRuleError::new(
                    ContactRule::DuplicateSource,
                    "source_case_id",
                    format!("{} is linked twice", link.source),
                ));
            }
        }
        Ok(Contact {
            id: new.id,
            person: new.person,
            links: new.links,
            place: new.place,
            registered: new.registered,
            period: new.period,
            follow_ups: Vec::new(),
            converted: None,
        })
    }

    /// Rebuilds a contact from what storage keeps: the contact as registered
    /// (with its current links), its follow-ups and its conversion. The links
    /// are checked as at registration, on the day of the latest date stored;
    /// follow-ups are sorted and one per day is kept (a reached result over
    /// a not-reached one).
    pub fn restore(
        new: NewContact,
        follow_ups: Vec<FollowUp>,
        converted: Option<(CaseId, NaiveDate)>,
    ) -> Result<Contact, ContactRuleError> {
        let latest = new
            .links
            .iter()
            .map(|l| l.last_exposure)
            .chain(follow_ups.iter().map(|f| f.date))
            .chain(converted.iter().map(|(_, d)| *d))
            .fold(new.registered, NaiveDate::max);
        let mut contact = Contact::register(new, latest)?;
        let mut follow_ups = follow_ups;
        follow_ups.sort_by_key(|f| (f.date, f.is_reached()));
        for f in follow_ups {
            match contact.follow_ups.last_mut() {
                Some(last) if last.date == f.date => *last = f,
                _ => contact.follow_ups.push(f),
            }
        }
        contact.converted = converted;
        Ok(contact)
    }

    pub fn id(&self) -> &ContactId {
        &self.id
    }

    pub fn person(&self) -> &Person {
        &self.person
    }

    pub fn links(&self) -> &[ContactLink] {
        &self.links
    }

    pub fn place(&self) -> &ObservationPlace {
        &self.place
    }

    pub fn registered(&self) -> NaiveDate {
        self.registered
    }

    pub fn period(&self) -> ObservationPeriod {
        self.period
    }

    /// Oldest first, one per day.
    pub fn follow_ups(&self) -> &[FollowUp] {
        &self.follow_ups
    }

    /// The suspected case this contact became, and the day.
    pub fn converted(&self) -> Option<(&CaseId, NaiveDate)> {
        self.converted.as_ref().map(|(id, d)| (id, *d))
    }

    pub fn last_exposure(&self) -> NaiveDate {
        self.links
            .iter()
            .map(|l| l.last_exposure)
            .max()
            .unwrap_or(self.registered)
    }

    /// The release day (see the module docs): not itself observed.
    pub fn release_date(&self) -> NaiveDate {
        observation_end([self.last_exposure()], self.period).unwrap_or(NaiveDate::MAX)
    }

    pub fn status_on(&self, on: NaiveDate) -> ContactStatus {
        match self.converted {
            Some((_, day)) if on >= day => ContactStatus::Converted,
            _ if on < self.registered => ContactStatus::NotRegistered,
            _ if on >= self.release_date() => ContactStatus::Released,
            _ => ContactStatus::UnderObservation,
        }
    }

    /// From the registration day to the day before release (or before the
    /// conversion).
    pub fn is_under_observation(&self, on: NaiveDate) -> bool {
        self.status_on(on) == ContactStatus::UnderObservation
    }

    /// Adds a link, or for a source already linked moves its last exposure
    /// to `link.last_exposure` if later (a household contact still exposed).
    /// The release day moves with it.
    pub fn add_link(
        &mut self,
        link: ContactLink,
        today: NaiveDate,
    ) -> Result<(), ContactRuleError> {
        not_after_today("last_exposure_date", link.last_exposure, today)?;
        self.check_not_converted("source_case_id")?;
        match self.links.iter_mut().find(|l| l.source == link.source) {
            Some(existing) if link.last_exposure > existing.last_exposure => {
                *existing = link;
            }
            Some(_) => {}
            None => self.links.push(link),
        }
        Ok(())
    }

    fn check_not_converted(&self, field: &'static str) -> Result<(), ContactRuleError> {
        match &self.converted {
            Some((case, day)) => Err(ContactRuleError::new(
                ContactRule::AlreadyConverted,
                field,
                format!("the contact became case {case} on {day}"),
            )),
            None => Ok(()),
        }
    }

    pub fn follow_up_on(&self, day: NaiveDate) -> Option<&FollowUp> {
        self.follow_ups
            .binary_search_by_key(&day, |f| f.date)
            .ok()
            .and_then(|i| self.follow_ups.get(i))
    }

    fn reached_on(&self, day: NaiveDate) -> bool {
        self.follow_up_on(day).is_some_and(FollowUp::is_reached)
    }

    /// Records a day's follow-up (see the module docs for a second result
    /// on the same day).
    pub fn record_follow_up(
        &mut self,
        follow_up: FollowUp,
        today: NaiveDate,
    ) -> Result<(), ContactRuleError> {
        not_after_today("follow_up_date", follow_up.date, today)?;
        self.check_not_converted("follow_up_date")?;
        if !self.is_under_observation(follow_up.date) {
            return Err(ContactRuleError::new(
                ContactRule::OutsideObservation,
                "follow_up_date",
                format!(
                    "the contact is observed from {} until before {}",
                    self.registered,
                    self.release_date()
                ),
            ));
        }
        match self
            .follow_ups
            .binary_search_by_key(&follow_up.date, |f| f.date)
        {
            Ok(i) => {
                if let Some(existing) = self.follow_ups.get_mut(i) {
                    if follow_up.is_reached() || !existing.is_reached() {
                        *existing = follow_up;
                    }
                }
            }
            Err(i) => self.follow_ups.insert(i, follow_up),
        }
        Ok(())
    }

    /// Whether the contact is to be followed up on `today`: under observation
    /// and not yet reached that day.
    pub fn is_due(&self, today: NaiveDate) -> bool {
        self.is_under_observation(today) && !self.reached_on(today)
    }

    /// Whether the contact was not reached for two days (the precise rule
    /// is in the module docs).
    pub fn not_reached_two_days(&self, today: NaiveDate) -> bool {
        if !self.is_under_observation(today) {
            return false;
        }
        let today_counts = self.follow_up_on(today).is_some();
        let mut scheduled = std::iter::successors(Some(today), |d| d.pred_opt())
            .skip(usize::from(!today_counts))
            .take_while(|d| *d >= self.registered)
            .take(2);
        match (scheduled.next(), scheduled.next()) {
            (Some(a), Some(b)) => !self.reached_on(a) && !self.reached_on(b),
            _ => false,
        }
    }

    /// The onset of the current illness on or before `on`: the first day of
    /// the latest run of reached follow-ups showing fever or symptoms, if the
    /// latest reached follow-up shows them.
    pub fn onset_by(&self, on: NaiveDate) -> Option<NaiveDate> {
        let mut onset = None;
        for f in self
            .follow_ups
            .iter()
            .filter(|f| f.date <= on && f.is_reached())
        {
            if f.has_fever() || f.has_symptoms() {
                onset = onset.or(Some(f.date));
            } else {
                onset = None;
            }
        }
        onset
    }

    /// Turns this contact into a suspected case in one step: the new case
    /// keeps the person, the links (its source cases) and this contact's id;
    /// its onset is [`Contact::onset_by`] the report date. The contact stops
    /// being observed from `report_date`. Refused unless the contact has
    /// fever or symptoms.
    pub fn convert_to_suspected(
        &mut self,
        case_id: CaseId,
        reporting_unit: RegionCode,
        report_date: NaiveDate,
        today: NaiveDate,
    ) -> Result<NewCase, ContactRuleError> {
        not_after_today("report_date", report_date, today)?;
        self.check_not_converted("case_id")?;
        let Some(onset) = self.onset_by(report_date) else {
            return Err(ContactRuleError::new(
                ContactRule::NoFeverOrSymptoms,
                "case_id",
                "the latest follow-up shows neither fever nor symptoms",
            ));
        };
        let new = NewCase {
            id: case_id.clone(),
            person: self.person.clone(),
            reporting_unit,
            origin: Origin::Local,
            place_of_exposure: None,
            onset: Some(onset),
            first_visit: None,
            report: report_date,
            source_cases: self.links.iter().map(|l| l.source.clone()).collect(),
            from_contact: Some(self.id.clone()),
        };
        self.converted = Some((case_id, report_date));
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Case, Classification};

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, m, day).unwrap()
    }

    fn case(s: &str) -> CaseId {
        CaseId::parse(s).unwrap()
    }

    fn link(source: &str, last: NaiveDate) -> ContactLink {
        ContactLink {
            source: case(source),
            exposure: Exposure::Household,
            last_exposure: last,
        }
    }

    fn new_contact(links: Vec<ContactLink>, registered: NaiveDate) -> NewContact {
        NewContact {
            id: ContactId::parse("C-1").unwrap(),
            person: Person::unknown(RegionCode::parse("420102").unwrap()),
            links,
            place: ObservationPlace::Home,
            registered,
            period: ObservationPeriod::default(),
        }
    }

    /// Exposed on 1 Feb, registered on 3 Feb: observed 3–14 Feb.
    fn contact() -> Contact {
        Contact::register(new_contact(vec![link("A", d(2, 1))], d(2, 3)), d(2, 3)).unwrap()
    }

    fn reached(date: NaiveDate, c: f32, symptoms: &[Symptom]) -> FollowUp {
        FollowUp {
            date,
            result: FollowUpResult::Reached {
                temperature: Temperature::new(c).unwrap(),
                symptoms: symptoms.iter().copied().collect(),
            },
        }
    }

    fn missed(date: NaiveDate) -> FollowUp {
        FollowUp {
            date,
            result: FollowUpResult::NotReached,
        }
    }

    fn with(follow_ups: &[FollowUp]) -> Contact {
        let mut c = contact();
        for f in follow_ups {
            c.record_follow_up(*f, d(3, 1)).unwrap();
        }
        c
    }

    #[test]
    fn the_rule_table_lists_every_rule() {
        let docs = include_str!("contact.rs");
        for rule in ContactRule::ALL {
            assert!(
                docs.contains(&format!("//! | `{}` |", rule.code())),
                "{rule}"
            );
        }
    }

    #[test]
    fn observation_end_is_the_release_day() {
        let p14 = ObservationPeriod::default();
        assert_eq!(observation_end([d(2, 1)], p14), Some(d(2, 15)));
        // The latest exposure across all links counts, in any order.
        assert_eq!(
            observation_end([d(2, 5), d(2, 1), d(2, 3)], p14),
            Some(d(2, 19))
        );
        // Across a month end and a leap day.
        assert_eq!(observation_end([d(2, 20)], p14), Some(d(3, 5)));
        assert_eq!(observation_end([], p14), None);
        let p7 = ObservationPeriod::new(7).unwrap();
        assert_eq!(observation_end([d(2, 1)], p7), Some(d(2, 8)));
        assert!(ObservationPeriod::new(0).is_err());
        assert!(ObservationPeriod::new(61).is_err());
        assert_eq!(observation_end([NaiveDate::MAX], p14), Some(NaiveDate::MAX));
    }

    #[test]
    fn observation_boundaries() {
        let c = contact();
        assert_eq!(c.release_date(), d(2, 15));
        assert_eq!(c.status_on(d(2, 2)), ContactStatus::NotRegistered);
        assert!(!c.is_under_observation(d(2, 2)));
        assert!(c.is_under_observation(d(2, 3)));
        assert!(c.is_under_observation(d(2, 14)));
        assert!(!c.is_under_observation(d(2, 15)));
        assert_eq!(c.status_on(d(2, 15)), ContactStatus::Released);

        // Several links: the latest exposure sets the release day.
        let two = Contact::register(
            new_contact(vec![link("A", d(2, 1)), link("B", d(2, 4))], d(2, 3)),
            d(2, 4),
        )
        .unwrap();
        assert_eq!(two.release_date(), d(2, 18));
        assert!(two.is_under_observation(d(2, 17)));
        assert!(!two.is_under_observation(d(2, 18)));

        // A new exposure to the same source moves the release day; an older one does not.
        let mut c = contact();
        c.add_link(link("A", d(2, 6)), d(2, 6)).unwrap();
        c.add_link(link("A", d(2, 2)), d(2, 6)).unwrap();
        assert_eq!(c.links().len(), 1);
        assert_eq!(c.release_date(), d(2, 20));
        c.add_link(link("B", d(2, 7)), d(2, 7)).unwrap();
        assert_eq!(c.release_date(), d(2, 21));
    }

    #[test]
    fn registration_rules() {
        let e = Contact::register(new_contact(vec![], d(2, 3)), d(2, 3)).unwrap_err();
        assert_eq!(e.rule, ContactRule::NoLinks);
        let e = Contact::register(
            new_contact(vec![link("A", d(2, 1)), link("A", d(2, 2))], d(2, 3)),
            d(2, 3),
        )
        .unwrap_err();
        assert_eq!(e.rule, ContactRule::DuplicateSource);
        let e =
            Contact::register(new_contact(vec![link("A", d(2, 4))], d(2, 3)), d(2, 3)).unwrap_err();
        assert_eq!(
            (e.rule, e.field),
            (ContactRule::FutureDate, "last_exposure_date")
        );
        let e =
            Contact::register(new_contact(vec![link("A", d(2, 1))], d(2, 4)), d(2, 3)).unwrap_err();
        assert_eq!(
            (e.rule, e.field),
            (ContactRule::FutureDate, "registered_date")
        );
    }

    #[test]
    fn follow_up_rules() {
        let mut c = contact();
        let e = c.record_follow_up(missed(d(2, 5)), d(2, 4)).unwrap_err();
        assert_eq!(e.rule, ContactRule::FutureDate);
        for outside in [d(2, 2), d(2, 15)] {
            let e = c.record_follow_up(missed(outside), d(3, 1)).unwrap_err();
            assert_eq!(e.rule, ContactRule::OutsideObservation);
        }
        // A later result replaces an earlier one, but not reached never replaces reached.
        c.record_follow_up(missed(d(2, 4)), d(2, 4)).unwrap();
        c.record_follow_up(reached(d(2, 4), 36.5, &[]), d(2, 4))
            .unwrap();
        c.record_follow_up(missed(d(2, 4)), d(2, 4)).unwrap();
        assert!(c.follow_up_on(d(2, 4)).is_some_and(FollowUp::is_reached));
        assert_eq!(c.follow_ups().len(), 1);
        c.record_follow_up(reached(d(2, 3), 36.6, &[]), d(2, 4))
            .unwrap();
        let dates: Vec<NaiveDate> = c.follow_ups().iter().map(|f| f.date).collect();
        assert_eq!(dates, [d(2, 3), d(2, 4)]);
    }

    #[test]
    fn temperatures_and_symptoms() {
        assert!(Temperature::new(37.3).unwrap().is_fever());
        assert!(Temperature::parse("37.3").unwrap().is_fever());
        assert!(!Temperature::new(37.2).unwrap().is_fever());
        assert!(Temperature::new(34.0).is_ok());
        assert!(Temperature::new(43.0).is_ok());
        for bad in [33.9, 43.1, f32::NAN, f32::INFINITY] {
            assert!(Temperature::new(bad).is_err(), "{bad}");
        }
        assert!(Temperature::parse("hot").is_err());

        let s = Symptoms::parse("cough; fatigue,").unwrap();
        assert!(s.contains(Symptom::Cough) && s.contains(Symptom::Fatigue));
        assert!(!s.contains(Symptom::Other));
        assert_eq!(s.to_string(), "cough;fatigue");
        assert!(Symptoms::parse("").unwrap().is_empty());
        assert_eq!(Symptoms::parse("sneezing").unwrap_err().field, "symptoms");
        let all: Symptoms = Symptom::ALL.iter().copied().collect();
        assert_eq!(all.iter().count(), Symptom::ALL.len());
    }

    #[test]
    fn due_today() {
        let c = contact();
        assert!(!c.is_due(d(2, 2)), "not registered yet");
        assert!(c.is_due(d(2, 3)), "registration day");
        assert!(c.is_due(d(2, 14)), "last observed day");
        assert!(!c.is_due(d(2, 15)), "released");
        let c = with(&[reached(d(2, 5), 36.5, &[]), missed(d(2, 6))]);
        assert!(!c.is_due(d(2, 5)), "reached");
        assert!(c.is_due(d(2, 6)), "a failed attempt leaves it due");
    }

    #[test]
    fn not_reached_for_two_days() {
        let ok = reached;
        // Nothing recorded on the 3rd and 4th: flagged on the 5th, before any attempt.
        assert!(!contact().not_reached_two_days(d(2, 3)), "first day");
        assert!(
            !contact().not_reached_two_days(d(2, 4)),
            "only one day scheduled"
        );
        assert!(contact().not_reached_two_days(d(2, 5)));

        // Not reached on one day only.
        let one = with(&[ok(d(2, 3), 36.5, &[]), missed(d(2, 4))]);
        assert!(!one.not_reached_two_days(d(2, 4)));
        assert!(!one.not_reached_two_days(d(2, 5)), "today still open");
        // Two days in a row: not reached yesterday, nothing the day before.
        let two = with(&[ok(d(2, 3), 36.5, &[]), missed(d(2, 5)), missed(d(2, 6))]);
        assert!(two.not_reached_two_days(d(2, 6)));
        assert!(two.not_reached_two_days(d(2, 7)));
        // Missing days count as not reached.
        let gap = with(&[ok(d(2, 3), 36.5, &[]), ok(d(2, 4), 36.5, &[])]);
        assert!(!gap.not_reached_two_days(d(2, 5)));
        assert!(!gap.not_reached_two_days(d(2, 6)));
        assert!(gap.not_reached_two_days(d(2, 7)));
        // Reached today clears the flag.
        let back = with(&[missed(d(2, 5)), missed(d(2, 6)), ok(d(2, 7), 36.5, &[])]);
        assert!(back.not_reached_two_days(d(2, 6)));
        assert!(!back.not_reached_two_days(d(2, 7)));
        // Released contacts are never flagged.
        assert!(!contact().not_reached_two_days(d(2, 15)));
    }

    #[test]
    fn conversion_to_a_suspected_case() {
        let mut well = with(&[reached(d(2, 4), 37.2, &[])]);
        let e = well
            .convert_to_suspected(
                case("S-1"),
                RegionCode::parse("420102").unwrap(),
                d(2, 5),
                d(2, 5),
            )
            .unwrap_err();
        assert_eq!(e.rule, ContactRule::NoFeverOrSymptoms);
        // Fever then well again: no longer converted.
        let mut recovered = with(&[reached(d(2, 4), 38.0, &[]), reached(d(2, 5), 36.8, &[])]);
        assert!(recovered
            .convert_to_suspected(
                case("S-1"),
                RegionCode::parse("420102").unwrap(),
                d(2, 5),
                d(2, 5)
            )
            .is_err());

        let mut c = Contact::register(
            new_contact(vec![link("A", d(2, 1)), link("B", d(2, 2))], d(2, 3)),
            d(2, 3),
        )
        .unwrap();
        for f in [
            reached(d(2, 4), 36.6, &[]),
            missed(d(2, 5)),
            reached(d(2, 6), 36.9, &[Symptom::Cough]),
            reached(d(2, 7), 37.8, &[Symptom::Cough]),
        ] {
            c.record_follow_up(f, d(2, 7)).unwrap();
        }
        let e = c
            .convert_to_suspected(
                case("S-1"),
                RegionCode::parse("420102").unwrap(),
                d(2, 8),
                d(2, 7),
            )
            .unwrap_err();
        assert_eq!(e.rule, ContactRule::FutureDate);
        let new = c
            .convert_to_suspected(
                case("S-1"),
                RegionCode::parse("420102").unwrap(),
                d(2, 7),
                d(2, 7),
            )
            .unwrap();
        assert_eq!(new.onset, Some(d(2, 6)));
        assert_eq!(new.source_cases, [case("A"), case("B")]);
        assert_eq!(new.from_contact.as_ref(), Some(c.id()));
        assert_eq!(new.report, d(2, 7));
        let opened = Case::open(new, d(2, 7)).unwrap();
        assert_eq!(opened.classification(), Classification::Suspected);
        assert_eq!(opened.source_cases().len(), 2);

        // Converted: off the lists, and only once.
        assert_eq!(c.converted(), Some((&case("S-1"), d(2, 7))));
        assert_eq!(c.status_on(d(2, 7)), ContactStatus::Converted);
        assert!(c.is_under_observation(d(2, 6)));
        assert!(!c.is_due(d(2, 7)));
        assert!(!c.not_reached_two_days(d(2, 9)));
        let e = c
            .convert_to_suspected(
                case("S-2"),
                RegionCode::parse("420102").unwrap(),
                d(2, 7),
                d(2, 7),
            )
            .unwrap_err();
        assert_eq!(e.rule, ContactRule::AlreadyConverted);
        let e = c.record_follow_up(missed(d(2, 7)), d(2, 7)).unwrap_err();
        assert_eq!(e.rule, ContactRule::AlreadyConverted);
        let e = c.add_link(link("C", d(2, 7)), d(2, 7)).unwrap_err();
        assert_eq!(e.rule, ContactRule::AlreadyConverted);
    }

    #[test]
    fn a_restored_contact_equals_the_one_it_was_stored_from() {
        let mut c = with(&[
            missed(d(2, 3)),
            reached(d(2, 4), 36.6, &[]),
            reached(d(2, 5), 37.8, &[Symptom::Cough]),
        ]);
        c.add_link(link("B", d(2, 4)), d(2, 5)).unwrap();
        c.convert_to_suspected(
            case("S-1"),
            RegionCode::parse("420102").unwrap(),
            d(2, 5),
            d(2, 5),
        )
        .unwrap();
        let mut stored = new_contact(c.links().to_vec(), c.registered());
        stored.person = c.person().clone();
        // stored in any order, with a not-reached result beside a reached one
        let mut follow_ups = c.follow_ups().to_vec();
        follow_ups.reverse();
        follow_ups.push(missed(d(2, 4)));
        let restored = Contact::restore(
            stored,
            follow_ups,
            c.converted().map(|(id, day)| (id.clone(), day)),
        )
        .unwrap();
        assert_eq!(restored, c);
        assert_eq!(restored.release_date(), d(2, 18));
    }
}
