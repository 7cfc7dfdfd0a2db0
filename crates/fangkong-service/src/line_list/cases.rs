//! Cases (R3): reporting, every later event through the domain's state
//! machine, reading and listing by jurisdiction, and the epidemic figures
//! the line list implies compared with the filed reports.
//!
//! Each change is written against the version the user edited: a case
//! changed by someone else in between is refused with a conflict naming both
//! versions, never overwritten.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::json;

use fangkong_domain::case::{Case, CaseEvent, CaseId, Classification, NewCase, Outcome, Severity};
use fangkong_domain::region::RegionCode;
use fangkong_domain::FieldError;
use fangkong_store::{CaseEntry, CaseFilter, ContactFilter, StoredCase};

use super::persons::{Incoming, PersonResolver};
use super::{at_site, may_touch_case, require_unit, visible};
use crate::audit::append_audit;
use crate::{Principal, Result, Service, ServiceError};
use fangkong_domain::policy::{Action, Scope};

/// What a case event needs of the policy table: a classification, or treatment.
pub(crate) fn event_action(event: &CaseEvent) -> Action {
    match event {
        CaseEvent::Confirm { .. } | CaseEvent::Exclude { .. } | CaseEvent::Revise { .. } => {
            Action::ClassifyCase
        }
        CaseEvent::SetSeverity { .. }
        | CaseEvent::Admit { .. }
        | CaseEvent::Discharge { .. }
        | CaseEvent::Die { .. } => Action::TreatCase,
    }
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// The subtree (the principal's region when `None`).
    pub region: Option<String>,
    pub reported_from: Option<NaiveDate>,
    pub reported_to: Option<NaiveDate>,
    pub classification: Option<Classification>,
    /// The last case id of the previous page.
    pub after: Option<CaseId>,
    pub limit: u32,
}

/// The epidemic report's figures for one day as the line list gives them,
/// beside the filed (or rolled-up) figures where they differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub date: NaiveDate,
    pub field: &'static str,
    pub line_list: i64,
    /// `None` when nothing was filed for the day.
    pub reported: Option<i64>,
}

/// The epidemic form's fields the line list can give, in form order.
pub const LINE_LIST_FIELDS: [&str; 8] = [
    "new_confirmed",
    "new_suspected",
    "new_severe",
    "new_deaths",
    "new_recovered",
    "current_severe",
    "current_suspected",
    "current_observation",
];

/// One day of figures derived from the line list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineListDay {
    pub date: NaiveDate,
    /// In the order of [`LINE_LIST_FIELDS`].
    pub values: [i64; 8],
}

/// A case's classification on a day, from its history: suspected from the
/// report date, then each confirmation, exclusion or revision dated by then.
pub fn classification_on(case: &Case, day: NaiveDate) -> Option<Classification> {
    if day < case.dates().report {
        return None;
    }
    let mut events: Vec<&CaseEvent> = case.history().iter().map(|r| &r.event).collect();
    events.sort_by_key(|e| e.date());
    let mut c = Classification::Suspected;
    for e in events.into_iter().filter(|e| e.date() <= day) {
        match e {
            CaseEvent::Confirm { .. } => c = Classification::Confirmed,
            CaseEvent::Exclude { .. } => c = Classification::Excluded,
            CaseEvent::Revise { to, .. } => c = *to,
            _ => {}
        }
    }
    Some(c)
}

/// The day a case first became severe or critical, if it did.
fn first_severe(case: &Case) -> Option<NaiveDate> {
    case.history()
        .iter()
        .filter_map(|r| match &r.event {
            CaseEvent::SetSeverity { severity, date } if *severity != Severity::Mild => Some(*date),
            _ => None,
        })
        .min()
}

impl Service {
    /// Reports a new case (suspected, version 1) with any events already
    /// known (a confirmation, a severity, an admission…), applied in order.
    /// The reporting unit must be in the principal's jurisdiction; the
    /// person's home region may be anywhere.
    pub async fn report_case(
        &self,
        who: &Principal,
        new: NewCase,
        events: Vec<CaseEvent>,
    ) -> Result<StoredCase> {
        let unit = self.region(new.reporting_unit.as_str()).await?;
        require_unit(who, Action::ReportCase, &unit)?;
        let home = self.region(new.person.home_region.as_str()).await?;
        self.check_sources(who, &new.source_cases).await?;
        let today = self.today();
        let mut case = Case::open(new, today).map_err(FieldError::from)?;
        let mut own_site = false;
        for event in events {
            // a case reported already classified or treated needs those rights too
            own_site |= who.require(event_action(&event))? == Scope::OwnSite;
            self.check_event(&event).await?;
            case = case.apply(event, today).map_err(FieldError::from)?;
        }
        if own_site && !at_site(who, &case) {
            return Err(ServiceError::Forbidden(format!(
                "{} may classify and treat only the patients admitted at its own site",
                who.username
            )));
        }
        let mut tx = self.store.begin().await?;
        let mut resolver = PersonResolver::default();
        let person_id = resolver
            .resolve(
                self.store.as_ref(),
                tx.as_mut(),
                vec![Incoming {
                    person: case.person().clone(),
                    home_path: home.path.clone(),
                    recorded_on: case.opened_on(),
                }],
            )
            .await?
            .first()
            .copied()
            .unwrap_or_default();
        resolver.finish(tx.as_mut()).await?;
        let id = case.id().clone();
        let has_sources = !case.source_cases().is_empty();
        let entry = CaseEntry {
            case,
            person_id,
            home_path: home.path,
            report_path: unit.path,
        };
        tx.insert_cases(std::slice::from_ref(&entry)).await?;
        if has_sources {
            tx.bump_graph_generation().await?;
        }
        append_audit(
            tx.as_mut(),
            &who.username,
            "case.report",
            "case",
            id.as_str(),
            None,
            Some(case_audit(&entry.case)),
        )
        .await?;
        tx.commit().await?;
        self.stored_case(&id).await
    }

    /// Records an event of a case (a confirmation, a revision, a severity,
    /// an admission, a discharge, a death) against the version the user
    /// saw: a case changed since is a conflict, and nothing is written.
    pub async fn record_case_event(
        &self,
        who: &Principal,
        id: &CaseId,
        expected_version: u32,
        event: CaseEvent,
    ) -> Result<StoredCase> {
        let action = event_action(&event);
        who.require(action)?;
        let stored = match self.store.case(id).await? {
            Some(c) if may_touch_case(who, action, &c) => c,
            // the same answer whether it exists elsewhere or not at all
            _ => return Err(ServiceError::NotFound(format!("case {id}"))),
        };
        let current = stored.entry.case.version();
        if current != expected_version {
            return Err(ServiceError::Conflict(format!(
                "case {id} is at version {current}, changed since version {expected_version} \
                 was read; reload it and apply the change again"
            )));
        }
        self.check_event(&event).await?;
        let before = case_audit(&stored.entry.case);
        let next = stored
            .entry
            .case
            .apply(event, self.today())
            .map_err(FieldError::from)?;
        let entry = CaseEntry {
            case: next,
            ..stored.entry
        };
        let mut tx = self.store.begin().await?;
        tx.update_case(&entry, expected_version).await?;
        let action = entry
            .case
            .history()
            .last()
            .map(|r| format!("case.{}", r.event.name()))
            .unwrap_or_else(|| "case.update".into());
        append_audit(
            tx.as_mut(),
            &who.username,
            &action,
            "case",
            id.as_str(),
            Some(before),
            Some(case_audit(&entry.case)),
        )
        .await?;
        tx.commit().await?;
        self.stored_case(id).await
    }

    /// One case, if the principal may see it (otherwise not found).
    pub async fn case(&self, who: &Principal, id: &CaseId) -> Result<StoredCase> {
        who.require(Action::ReadCases)?;
        match self.store.case(id).await? {
            Some(c) if may_touch_case(who, Action::ReadCases, &c) => Ok(c),
            _ => Err(ServiceError::NotFound(format!("case {id}"))),
        }
    }

    async fn stored_case(&self, id: &CaseId) -> Result<StoredCase> {
        self.store
            .case(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("case {id}")))
    }

    /// Cases visible to the principal in a subtree, by case id, a page at a time.
    /// A site sees its own patients, wherever they live.
    pub async fn cases(&self, who: &Principal, query: &CaseQuery) -> Result<Vec<StoredCase>> {
        let (path, facility) = match who.require(Action::ReadCases)? {
            Scope::OwnSite => {
                let Some(facility) = who.facility() else {
                    return Ok(Vec::new());
                };
                let path = match &query.region {
                    Some(code) => self.region(code).await?.path,
                    None => self.nation().await?.path,
                };
                (path, Some(facility))
            }
            _ => match &query.region {
                Some(code) => (
                    self.region_for(who, Action::ReadCases, code).await?.path,
                    None,
                ),
                None => (who.region.path.clone(), None),
            },
        };
        Ok(self
            .store
            .cases(&CaseFilter {
                path,
                reported_from: query.reported_from,
                reported_to: query.reported_to,
                classification: query.classification,
                facility,
                after: query.after.clone(),
                limit: query.limit.clamp(1, 10_000),
            })
            .await?)
    }

    /// Every source case must exist and be visible to `who`. A case the
    /// caller cannot see answers exactly as one that does not exist (issue
    /// 12: the source field was a way to probe other counties' case ids), so
    /// a source case in another county is linked by a level that sees both.
    pub(crate) async fn check_sources(&self, who: &Principal, sources: &[CaseId]) -> Result<()> {
        for id in sources {
            let seen = match self.store.case(id).await? {
                Some(c) => visible(who, &c.entry.home_path, &c.entry.report_path),
                None => false,
            };
            if !seen {
                return Err(FieldError::new(
                    "source_case_id",
                    format!("there is no case {id} that {} can see", who.username),
                )
                .into());
            }
        }
        Ok(())
    }

    /// An admission names a facility in a known region.
    async fn check_event(&self, event: &CaseEvent) -> Result<()> {
        if let CaseEvent::Admit { facility, .. } = event {
            self.region(facility.region.as_str()).await.map_err(|_| {
                FieldError::new(
                    "facility_region",
                    format!("there is no region {}", facility.region),
                )
            })?;
        }
        Ok(())
    }

    /// The epidemic figures of a region's line list for each day of
    /// `[from, to]`: cases counted where they were reported (the unit that
    /// files the daily report), contacts where they were registered.
    pub async fn line_list_figures(
        &self,
        who: &Principal,
        region: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LineListDay>> {
        who.require(Action::ReadLineListFigures)?;
        if from > to {
            return Err(FieldError::new("from", format!("{from} is after to ({to})")).into());
        }
        let days = usize::try_from((to - from).num_days() + 1).unwrap_or(0);
        if days > 3660 {
            return Err(FieldError::new("to", "at most ten years at a time").into());
        }
        let region = self
            .region_for(who, Action::ReadLineListFigures, region)
            .await?;
        let mut out: Vec<LineListDay> = (0..days)
            .map(|i| LineListDay {
                date: from + chrono::Duration::days(i as i64),
                values: [0; 8],
            })
            .collect();
        let index = |d: NaiveDate| -> Option<usize> {
            let i = (d - from).num_days();
            usize::try_from(i).ok().filter(|i| *i < days)
        };
        let mut after = None;
        loop {
            let page = self
                .store
                .cases(&CaseFilter {
                    path: region.path.clone(),
                    after: after.clone(),
                    limit: 5_000,
                    ..CaseFilter::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.entry.case.id().clone());
            for stored in page
                .iter()
                .filter(|c| c.entry.report_path.starts_with(&region.path))
            {
                let case = &stored.entry.case;
                let mut add = |d: Option<NaiveDate>, field: usize| {
                    if let Some(i) = d.and_then(index) {
                        out[i].values[field] += 1;
                    }
                };
                if case.classification() == Classification::Confirmed {
                    add(case.dates().confirmation, 0);
                }
                add(Some(case.dates().report), 1);
                add(first_severe(case), 2);
                match case.outcome() {
                    Some((Outcome::Death, d)) => add(Some(d), 3),
                    Some((Outcome::Recovered, d)) => add(Some(d), 4),
                    None => {}
                }
                for day in out.iter_mut() {
                    let open = case.outcome().is_none_or(|(_, d)| day.date < d);
                    let class = classification_on(case, day.date);
                    if open
                        && class == Some(Classification::Confirmed)
                        && matches!(
                            case.severity_on(day.date),
                            Some(Severity::Severe | Severity::Critical)
                        )
                    {
                        day.values[5] += 1;
                    }
                    if class == Some(Classification::Suspected) {
                        day.values[6] += 1;
                    }
                }
            }
            if page.len() < 5_000 {
                break;
            }
        }
        // the contacts are read once, each counted on the days it was observed
        let mut after = None;
        loop {
            let page = self
                .store
                .contacts(&ContactFilter {
                    path: region.path.clone(),
                    observed_on: None,
                    after: after.clone(),
                    limit: 10_000,
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.entry.contact.id().clone());
            for c in page
                .iter()
                .filter(|c| c.entry.report_path.starts_with(&region.path))
            {
                for day in out.iter_mut() {
                    if c.entry.contact.is_under_observation(day.date) {
                        day.values[7] += 1;
                    }
                }
            }
            if page.len() < 10_000 {
                break;
            }
        }
        Ok(out)
    }

    /// Where the line list and the filed epidemic reports of a region
    /// disagree, day by day and field by field (a day with cases but no
    /// report is listed with `reported: None`).
    pub async fn line_list_mismatches(
        &self,
        who: &Principal,
        region: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Mismatch>> {
        let derived = self.line_list_figures(who, region, from, to).await?;
        let form = self.form("epidemic")?;
        let code = self
            .region_for(who, Action::ReadLineListFigures, region)
            .await?
            .code;
        let filed = self.store.figures(&form.name, &code, from, to).await?;
        let mut out = Vec::new();
        for day in &derived {
            let reported = filed.iter().find(|f| f.date == day.date);
            for (i, field) in LINE_LIST_FIELDS.iter().enumerate() {
                let line_list = day.values[i];
                let value = match (reported, form.field_index(field)) {
                    (Some(f), Some(k)) => Some(f.values.get(k)),
                    _ => None,
                };
                if value.unwrap_or(0) != line_list || (value.is_none() && line_list != 0) {
                    out.push(Mismatch {
                        date: day.date,
                        field,
                        line_list,
                        reported: value,
                    });
                }
            }
        }
        Ok(out)
    }
}

impl Service {
    /// The days on which each county of a subtree had a cluster (聚集性疫情)
    /// in its line list: a case the county reported, confirmed on the day,
    /// whose source case was confirmed within the 14 days before — two
    /// confirmed cases linked by transmission. Only cases reported in
    /// `[from − 28 days, to]` are read.
    pub(crate) async fn cluster_days(
        &self,
        path: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<HashMap<RegionCode, Vec<NaiveDate>>> {
        let window = chrono::Duration::days(14);
        let mut confirmed: HashMap<CaseId, NaiveDate> = HashMap::new();
        let mut linked: Vec<(RegionCode, NaiveDate, Vec<CaseId>)> = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .cases(&CaseFilter {
                    path: path.to_owned(),
                    reported_from: Some(from - window - window),
                    reported_to: Some(to),
                    classification: Some(Classification::Confirmed),
                    facility: None,
                    after: after.clone(),
                    limit: 5_000,
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.entry.case.id().clone());
            for c in &page {
                let case = &c.entry.case;
                let Some(day) = case.dates().confirmation else {
                    continue;
                };
                confirmed.insert(case.id().clone(), day);
                if !case.source_cases().is_empty()
                    && c.entry.report_path.starts_with(path)
                    && (from..=to).contains(&day)
                {
                    linked.push((
                        case.reporting_unit().clone(),
                        day,
                        case.source_cases().to_vec(),
                    ));
                }
            }
            if page.len() < 5_000 {
                break;
            }
        }
        let mut out: HashMap<_, Vec<NaiveDate>> = HashMap::new();
        for (unit, day, sources) in linked {
            let mut hit = false;
            for s in &sources {
                let source_day = match confirmed.get(s) {
                    Some(d) => Some(*d),
                    None => self
                        .store
                        .case(s)
                        .await?
                        .filter(|c| c.entry.case.classification() == Classification::Confirmed)
                        .and_then(|c| c.entry.case.dates().confirmation),
                };
                if source_day.is_some_and(|d| d <= day && day - d <= window) {
                    hit = true;
                    break;
                }
            }
            if hit {
                out.entry(unit).or_default().push(day);
            }
        }
        Ok(out)
    }
}

/// What the audit keeps of a case: the record and its state, no personal data.
pub(crate) fn case_audit(case: &Case) -> serde_json::Value {
    json!({
        "case_id": case.id().as_str(),
        "version": case.version(),
        "classification": case.classification().name(),
        "severity": case.severity().map(|(s, _)| s.name()),
        "outcome": case.outcome().map(|(o, _)| o.name()),
        "reporting_unit": case.reporting_unit().as_str(),
        "home_region": case.person().home_region.as_str(),
        "report_date": case.dates().report.to_string(),
    })
}
