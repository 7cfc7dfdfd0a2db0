//! Daily reports and zero reports, their roll-up, completeness and review (R2).
//!
//! A region's figure for a day is its own report where it has one, else the
//! sum of its children's figures — never both. The store keeps, for every
//! region and day, the sum of its children's figures (the *roll-up*). Filing
//! a report changes the unit's figure by some delta; the delta is added to
//! the roll-up of each ancestor in turn, up to and including the first
//! ancestor that has its own report (above it nothing changes). So a filed
//! report counts upward at once, and reading any region's figure is one row.
//! A bulk import applies the same rule in memory (`Propagation`) and writes
//! each changed roll-up once. It finds each row's ancestors in the region
//! index ([`crate::regions::RegionIndex`]) when the batch is large, and
//! seals its versions batch by batch while the store writes the batch
//! before (the chain stays one sequence: each version's hash covers the one
//! before it).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use fangkong_domain::chain::Hash;
use fangkong_domain::form::{Form, Overflow, Values};
use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_domain::report::{now_millis, ReportKey, ReportVersion, ReviewStatus, Sealer, Source};
use fangkong_domain::FieldError;
use fangkong_store::{
    Chain, ChainHead, CompletenessCounts, DayFigure, Review, RollupRow, UnitStatus,
};

use crate::audit::append_audit;
use crate::regions::{IdMap, RegionIndex, INDEX_FROM_ROWS};
use crate::{Principal, Result, Service, ServiceError};
use fangkong_domain::policy::Action;

/// The earliest day any series is read from.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
}

/// What a filing did. (Returned once per filing, never stored in bulk: the
/// size of the corrected variant does not matter.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Filing {
    /// The first report of this unit for this form and day.
    Filed(ReportVersion),
    /// A new version replacing `previous`, which is kept.
    Corrected {
        previous: ReportVersion,
        current: ReportVersion,
    },
    /// The same values as the current version: nothing written.
    Unchanged(ReportVersion),
}

impl Filing {
    pub fn version(&self) -> &ReportVersion {
        match self {
            Filing::Filed(v) | Filing::Unchanged(v) => v,
            Filing::Corrected { current, .. } => current,
        }
    }
}

/// The values a unit files: all zeros, or one count per field.
#[derive(Debug, Clone)]
pub enum FiledValues {
    Zero,
    Pairs(Vec<(String, i64)>),
}

/// One validated row of a bulk import.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: u64,
    pub region: Arc<Region>,
    pub date: NaiveDate,
    pub values: Values,
    /// When the unit filed it; `None`: now. (The demo files in the past.)
    pub filed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: u64,
    pub filed: u64,
    pub corrected: u64,
    pub unchanged: u64,
    pub days: u64,
}

/// A region's figures on one day.
#[derive(Debug, Clone)]
pub struct RegionFigures {
    pub region: Region,
    pub date: NaiveDate,
    /// The day's figure; `None` if nothing was filed in the region that day.
    pub day: Option<DayFigure>,
    /// Since the first day: additive fields summed, stock fields as last reported.
    pub cumulative: Values,
}

/// Completeness and timeliness of one form's reports below a region on one day.
#[derive(Debug, Clone)]
pub struct Completeness {
    pub region: Region,
    pub date: NaiveDate,
    pub level: Level,
    pub deadline: DateTime<Utc>,
    pub counts: CompletenessCounts,
    pub by_child: Vec<(Region, CompletenessCounts)>,
    pub missing: Vec<UnitStatus>,
    pub late: Vec<UnitStatus>,
}

pub(crate) fn version_json(form: &Form, v: &ReportVersion) -> Value {
    let values: serde_json::Map<String, Value> = form
        .named(&v.values)
        .map(|(k, n)| (k.to_owned(), json!(n)))
        .collect();
    json!({
        "form": v.key.form,
        "region_code": v.key.region.as_str(),
        "date": v.key.date.to_string(),
        "version": v.version,
        "values": values,
        "filed_by": v.filed_by,
        "filed_at": v.filed_at.to_rfc3339(),
        "seq": v.seq,
        "hash": v.hash.to_hex(),
    })
}

/// A sum of counts that left `i64` while propagating: the field and the
/// line of the row that made it (a bounded form never gets here).
fn overflow(form: &Form, o: Overflow, row: Option<&ImportRow>) -> ServiceError {
    let reason = "the roll-up of this value over the regions above leaves the integer range";
    match row {
        Some(r) => FieldError::new(form.slot_name(o.slot), format!("line {}: {reason}", r.line)),
        None => FieldError::new(form.slot_name(o.slot), reason),
    }
    .into()
}

/// No slot: a row's region that is no ancestor of another row's region.
const NO_SLOT: u32 = u32::MAX;

/// Rows of a bulk filing sealed and handed to the store at a time: the store
/// writes one batch while the next is prepared.
const BATCH: usize = 20_000;

/// Where the rows of a bulk filing send their changes. Every ancestor of a
/// row's region has a *slot* (a small integer), so the propagation below
/// works on vectors, not on maps of codes.
struct Plan {
    /// Each slot's region and level.
    slots: Vec<(RegionCode, Level)>,
    slot_of: HashMap<RegionCode, u32>,
    /// Ancestors' slots, nearest first: one chain per distinct parent (0: none).
    chains: Vec<Vec<u32>>,
    /// Per row: its region's slot (or [`NO_SLOT`]) and its chain.
    rows: Vec<(u32, u32)>,
}

impl Plan {
    fn new() -> Plan {
        Plan {
            slots: Vec::new(),
            slot_of: HashMap::new(),
            chains: vec![Vec::new()],
            rows: Vec::new(),
        }
    }

    fn slot(&mut self, code: &RegionCode, level: Level) -> u32 {
        if let Some(s) = self.slot_of.get(code) {
            return *s;
        }
        let s = self.slots.len() as u32;
        self.slots.push((code.clone(), level));
        self.slot_of.insert(code.clone(), s);
        s
    }

    /// From the region index: `None` if a row's region is not in it.
    fn from_index(index: &RegionIndex, rows: &[ImportRow]) -> Option<Plan> {
        let mut plan = Plan::new();
        let mut slot_by_id: IdMap<u32, u32> = IdMap::default();
        let mut chain_by_parent: IdMap<u32, u32> = IdMap::default();
        let mut ids = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in rows {
            let id = index.find_after(r.region.code.as_str(), last)?;
            last = Some(id);
            let chain = match index.parent(id) {
                None => 0,
                Some(parent) => match chain_by_parent.get(&parent) {
                    Some(c) => *c,
                    None => {
                        let mut chain = Vec::new();
                        for a in std::iter::once(parent).chain(index.ancestors(parent)) {
                            let slot = match slot_by_id.get(&a) {
                                Some(s) => *s,
                                None => {
                                    let code = RegionCode::parse(index.code(a)).ok()?;
                                    let s = plan.slot(&code, index.level(a));
                                    slot_by_id.insert(a, s);
                                    s
                                }
                            };
                            chain.push(slot);
                        }
                        let c = plan.chains.len() as u32;
                        plan.chains.push(chain);
                        chain_by_parent.insert(parent, c);
                        c
                    }
                },
            };
            ids.push((id, chain));
        }
        plan.rows = ids
            .into_iter()
            .map(|(id, chain)| (slot_by_id.get(&id).copied().unwrap_or(NO_SLOT), chain))
            .collect();
        Some(plan)
    }

    /// From each parent's ancestors, nearest first (itself included), with their levels.
    fn from_ancestry(
        ancestry: &HashMap<RegionCode, Vec<(RegionCode, Level)>>,
        rows: &[ImportRow],
    ) -> Plan {
        let mut plan = Plan::new();
        let mut chain_by_parent: HashMap<&RegionCode, u32> = HashMap::new();
        let mut chains = Vec::with_capacity(rows.len());
        for r in rows {
            let chain = match r.region.parent.as_ref() {
                None => 0,
                Some(parent) => match chain_by_parent.get(parent) {
                    Some(c) => *c,
                    None => {
                        let chain: Vec<u32> = ancestry
                            .get(parent)
                            .map_or(&[][..], |a| &a[..])
                            .iter()
                            .map(|(code, level)| plan.slot(code, *level))
                            .collect();
                        let c = plan.chains.len() as u32;
                        plan.chains.push(chain);
                        chain_by_parent.insert(parent, c);
                        c
                    }
                },
            };
            chains.push(chain);
        }
        plan.rows = rows
            .iter()
            .zip(chains)
            .map(|(r, chain)| {
                let slot = plan.slot_of.get(&r.region.code).copied().unwrap_or(NO_SLOT);
                (slot, chain)
            })
            .collect();
        plan
    }
}

/// One day's figures as a bulk filing proceeds.
#[derive(Default)]
struct DayFigures {
    /// The own current values of regions with a slot (stored, or filed now).
    own: IdMap<u32, Values>,
    /// The stored roll-ups of regions with a slot.
    stored: IdMap<u32, Values>,
    /// The stored roll-ups of the other regions.
    stored_other: HashMap<RegionCode, Values>,
    /// The change to each slot's roll-up, and whether it has one (a zero
    /// change still gives an ancestor its figure for the day).
    delta: Vec<Values>,
    touched: Vec<bool>,
}

/// The figures of a bulk filing as it proceeds: each region's own current
/// values and roll-up per day, and the changes to roll-ups the filing makes.
/// The same rule as a single filing — a unit's change goes to each ancestor
/// up to and including the first with its own report — in memory, so a day of
/// 620,000 reports becomes one write of its ~45,000 changed roll-ups.
struct Propagation {
    days: HashMap<NaiveDate, DayFigures>,
    slots: usize,
}

impl Propagation {
    fn new(
        plan: &Plan,
        own: impl Iterator<Item = (NaiveDate, RegionCode, Values)>,
        rollups: Vec<RollupRow>,
    ) -> Propagation {
        let mut p = Propagation {
            days: HashMap::new(),
            slots: plan.slots.len(),
        };
        for (date, region, values) in own {
            if let Some(s) = plan.slot_of.get(&region) {
                p.day(date).own.insert(*s, values);
            }
        }
        for r in rollups {
            let day = p.day(r.date);
            match plan.slot_of.get(&r.region) {
                Some(s) => {
                    day.stored.insert(*s, r.values);
                }
                None => {
                    day.stored_other.insert(r.region, r.values);
                }
            }
        }
        p
    }

    fn day(&mut self, date: NaiveDate) -> &mut DayFigures {
        let slots = self.slots;
        self.days.entry(date).or_insert_with(|| DayFigures {
            delta: vec![Values::ZERO; slots],
            touched: vec![false; slots],
            ..DayFigures::default()
        })
    }

    /// A region files `values` for `date`: `slot` is its own slot (if it is
    /// an ancestor of another region filing now), `chain` its ancestors'
    /// slots nearest first, `current` its current own values if any.
    fn file(
        &mut self,
        date: NaiveDate,
        region: &RegionCode,
        (slot, chain): (u32, &[u32]),
        current: Option<Values>,
        values: Values,
    ) -> std::result::Result<(), Overflow> {
        let day = self.day(date);
        let old = if slot == NO_SLOT {
            match current {
                Some(v) => v,
                None if day.stored_other.is_empty() => Values::ZERO,
                None => day.stored_other.get(region).copied().unwrap_or_default(),
            }
        } else {
            let s = slot as usize;
            match day.own.get(&slot) {
                Some(v) => *v,
                None => day
                    .stored
                    .get(&slot)
                    .copied()
                    .unwrap_or_default()
                    .plus(&day.delta[s])?,
            }
        };
        if slot != NO_SLOT {
            day.own.insert(slot, values);
        }
        let delta = values.minus(&old)?;
        for a in chain {
            let s = *a as usize;
            day.delta[s] = day.delta[s].plus(&delta)?;
            day.touched[s] = true;
            if day.own.contains_key(a) {
                break;
            }
        }
        Ok(())
    }

    fn into_deltas(self, plan: &Plan) -> Vec<RollupRow> {
        let mut out = Vec::new();
        for (date, day) in self.days {
            for (s, (region, level)) in plan.slots.iter().enumerate() {
                if day.touched[s] {
                    out.push(RollupRow {
                        date,
                        region: region.clone(),
                        level: *level,
                        values: day.delta[s],
                    });
                }
            }
        }
        out
    }
}

/// The sealing of a bulk filing's rows, batch by batch, in chain order.
struct BulkFiling<'a> {
    form: &'a Form,
    form_name: &'a str,
    who: &'a str,
    source: Source,
    filed_at: DateTime<Utc>,
    plan: &'a Plan,
    existing: &'a HashMap<NaiveDate, HashMap<RegionCode, ReportVersion>>,
    figures: Propagation,
    sealer: Sealer,
    seq: i64,
    prev: Hash,
    superseded: Vec<i64>,
    summary: ImportSummary,
}

impl BulkFiling<'_> {
    /// Classify, propagate and seal the rows of one batch (`first` the
    /// index of its first row), yielding now and then so that the store's
    /// write of the batch before goes on meanwhile.
    async fn batch(
        &mut self,
        rows: &[ImportRow],
        first: usize,
    ) -> Result<Vec<(ReportVersion, Level)>> {
        let mut versions = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            if i % 1024 == 1023 {
                tokio::task::yield_now().await;
            }
            let current = if self.existing.is_empty() {
                None
            } else {
                self.existing
                    .get(&r.date)
                    .and_then(|m| m.get(&r.region.code))
            };
            if let Some(c) = current {
                if c.values == r.values {
                    self.summary.unchanged += 1;
                    continue;
                }
                self.superseded.push(c.seq);
                self.summary.corrected += 1;
            } else {
                self.summary.filed += 1;
            }
            let (slot, chain) = self.plan.rows[first + i];
            self.figures
                .file(
                    r.date,
                    &r.region.code,
                    (slot, &self.plan.chains[chain as usize]),
                    current.map(|c| c.values),
                    r.values,
                )
                .map_err(|o| overflow(self.form, o, Some(r)))?;
            self.seq += 1;
            let mut v = ReportVersion {
                seq: self.seq,
                key: ReportKey {
                    form: self.form_name.to_owned(),
                    region: r.region.code.clone(),
                    date: r.date,
                },
                version: current.map_or(1, |c| c.version + 1),
                values: r.values,
                filed_by: self.who.to_owned(),
                filed_at: r.filed_at.unwrap_or(self.filed_at),
                source: self.source,
                hash: Hash::GENESIS,
            };
            self.prev = self.sealer.seal(&mut v, &self.prev);
            versions.push((v, r.region.level));
        }
        Ok(versions)
    }
}

impl Service {
    /// For each parent of the rows' regions, its ancestors nearest first
    /// (itself included) with their levels.
    async fn ancestry(
        &self,
        rows: &[ImportRow],
    ) -> Result<HashMap<RegionCode, Vec<(RegionCode, Level)>>> {
        let mut parents: HashMap<RegionCode, Vec<RegionCode>> = HashMap::new();
        for r in rows {
            if let Some(parent) = &r.region.parent {
                if !parents.contains_key(parent) {
                    parents.insert(parent.clone(), r.region.ancestors_nearest_first());
                }
            }
        }
        let all: Vec<RegionCode> = parents
            .values()
            .flatten()
            .cloned()
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        let levels: HashMap<RegionCode, Level> = self
            .store
            .regions(&all)
            .await?
            .into_iter()
            .map(|r| (r.code, r.level))
            .collect();
        Ok(parents
            .into_iter()
            .map(|(parent, chain)| {
                let chain = chain
                    .into_iter()
                    .filter_map(|c| levels.get(&c).map(|l| (c, *l)))
                    .collect();
                (parent, chain)
            })
            .collect())
    }

    /// Where the rows send their changes: from the region index when one is
    /// held or the batch is large, else from the store.
    async fn plan(&self, rows: &[ImportRow]) -> Result<Plan> {
        let load = rows.len() >= INDEX_FROM_ROWS;
        if let Some(index) = self.region_index.current(&self.store, load).await? {
            if let Some(plan) = Plan::from_index(&index, rows) {
                return Ok(plan);
            }
        }
        Ok(Plan::from_ancestry(&self.ancestry(rows).await?, rows))
    }

    fn check_date(&self, date: NaiveDate) -> Result<()> {
        let today = self.today();
        if date > today {
            return Err(FieldError::new(
                "date",
                format!("{date} is in the future (today is {today})"),
            )
            .into());
        }
        Ok(())
    }

    /// File (or correct) one unit's report for one day. Filing the same
    /// values again changes nothing; other values make a new version.
    pub async fn file_report(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        date: NaiveDate,
        values: FiledValues,
    ) -> Result<Filing> {
        self.file_report_as(
            who,
            form,
            region_code,
            date,
            values,
            Source::Entry,
            now_millis(),
        )
        .await
    }

    /// [`Service::file_report`] with the source and time given (the demo files reports "in the past").
    #[allow(clippy::too_many_arguments)]
    pub async fn file_report_as(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        date: NaiveDate,
        values: FiledValues,
        source: Source,
        filed_at: DateTime<Utc>,
    ) -> Result<Filing> {
        let form = self.form(form)?;
        let region = self
            .region_for(who, Action::FileReport, region_code)
            .await?;
        self.check_date(date)?;
        let values = match values {
            FiledValues::Zero => Values::ZERO,
            FiledValues::Pairs(pairs) => {
                form.values_from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), *v)))?
            }
        };
        let key = ReportKey {
            form: form.name.clone(),
            region: region.code.clone(),
            date,
        };
        // ancestors' levels, read before the transaction (the tree does not change with reports)
        let mut ancestors = self
            .store
            .regions(&region.ancestors_nearest_first())
            .await?;
        ancestors.sort_by_key(|a| std::cmp::Reverse(a.level));

        let mut tx = self.store.begin().await?;
        let current = tx.current_report(&key).await?;
        if let Some(c) = &current {
            if c.values == values {
                return Ok(Filing::Unchanged(c.clone()));
            }
        }
        let old_figure = match &current {
            Some(c) => c.values,
            None => tx
                .rollup(&key.form, date, &region.code)
                .await?
                .unwrap_or_default(),
        };
        let head = tx.chain_head(Chain::Report).await?;
        let mut version = ReportVersion {
            seq: head.seq + 1,
            key: key.clone(),
            version: current.as_ref().map_or(1, |c| c.version + 1),
            values,
            filed_by: who.username.clone(),
            filed_at,
            source,
            hash: Hash::GENESIS,
        };
        version.seal(&head.hash);
        let superseded: Vec<i64> = current.iter().map(|c| c.seq).collect();
        tx.insert_versions(&[(version.clone(), region.level)], &superseded)
            .await?;
        tx.set_chain_head(
            Chain::Report,
            ChainHead {
                seq: version.seq,
                hash: version.hash,
            },
        )
        .await?;

        // propagate even a zero delta: a first zero report must still give
        // every ancestor a figure for the day (zero, not "nothing filed")
        let delta = values
            .minus(&old_figure)
            .map_err(|o| overflow(form, o, None))?;
        let codes: Vec<RegionCode> = ancestors.iter().map(|a| a.code.clone()).collect();
        let owners = tx.own_reports_among(&key.form, date, &codes).await?;
        let mut deltas = Vec::with_capacity(ancestors.len());
        for a in &ancestors {
            deltas.push(RollupRow {
                date,
                region: a.code.clone(),
                level: a.level,
                values: delta,
            });
            if owners.contains(&a.code) {
                break;
            }
        }
        tx.add_to_rollups(&key.form, &deltas).await?;
        let (action, before) = match &current {
            Some(c) => ("report.correct", Some(version_json(form, c))),
            None => ("report.file", None),
        };
        let entity_key = format!("report/{}/{}/{}", key.form, key.region, key.date);
        append_audit(
            tx.as_mut(),
            &who.username,
            action,
            "report",
            &entity_key,
            before,
            Some(version_json(form, &version)),
        )
        .await?;
        tx.commit().await?;
        Ok(match current {
            Some(previous) => Filing::Corrected {
                previous,
                current: version,
            },
            None => Filing::Filed(version),
        })
    }

    /// File many validated rows of one form in one transaction: all or nothing.
    /// Rows identical to the current version are skipped; others become new
    /// versions; the roll-ups of the days touched are rebuilt.
    pub async fn import_report_rows(
        &self,
        who: &Principal,
        form: &str,
        rows: Vec<ImportRow>,
        source: Source,
        label: &str,
    ) -> Result<ImportSummary> {
        who.require(Action::FileReport)?;
        let form = self.form(form)?;
        let today = self.today();
        for r in &rows {
            if !who.covers(&r.region) {
                return Err(ServiceError::Forbidden(format!(
                    "line {}: region {} lies outside the jurisdiction of {}",
                    r.line, r.region.code, who.username
                )));
            }
            if r.date > today {
                return Err(FieldError::new(
                    "date",
                    format!("line {}: {} is in the future", r.line, r.date),
                )
                .into());
            }
            // every path that makes rows (CSV, the converters, the demo)
            // meets the form's bounds here at the latest
            form.check_values(&r.values)
                .map_err(|e| FieldError::new(e.field, format!("line {}: {}", r.line, e.reason)))?;
        }
        let days: Vec<NaiveDate> = rows
            .iter()
            .map(|r| r.date)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let filed_at = now_millis();
        let summary = ImportSummary {
            rows: rows.len() as u64,
            days: days.len() as u64,
            ..Default::default()
        };

        let t0 = std::time::Instant::now();
        let plan = self.plan(&rows).await?;
        tracing::debug!(elapsed = ?t0.elapsed(), slots = plan.slots.len(), "planned");
        let mut tx = self.store.begin().await?;
        let mut existing: HashMap<NaiveDate, HashMap<RegionCode, ReportVersion>> = HashMap::new();
        for v in tx.current_reports_on(&form.name, &days).await? {
            existing
                .entry(v.key.date)
                .or_default()
                .insert(v.key.region.clone(), v);
        }
        let figures = Propagation::new(
            &plan,
            existing
                .values()
                .flat_map(|m| m.values())
                .map(|v| (v.key.date, v.key.region.clone(), v.values)),
            tx.rollups_on(&form.name, &days).await?,
        );
        tracing::debug!(elapsed = ?t0.elapsed(), "existing figures read");
        let head = tx.chain_head(Chain::Report).await?;
        let mut filing = BulkFiling {
            form,
            form_name: &form.name,
            who: &who.username,
            source,
            filed_at,
            plan: &plan,
            existing: &existing,
            figures,
            sealer: Sealer::default(),
            seq: head.seq,
            prev: head.hash,
            superseded: Vec::new(),
            summary,
        };
        // seal one batch while the store writes the one before
        let mut pending: Vec<(ReportVersion, Level)> = Vec::new();
        for (k, batch) in rows.chunks(BATCH).enumerate() {
            let next = if pending.is_empty() {
                filing.batch(batch, k * BATCH).await?
            } else {
                let (written, next) = tokio::join!(
                    tx.insert_versions(&pending, &[]),
                    filing.batch(batch, k * BATCH)
                );
                written?;
                next?
            };
            pending = next;
        }
        let BulkFiling {
            figures,
            seq,
            prev,
            superseded,
            summary,
            ..
        } = filing;
        tracing::debug!(elapsed = ?t0.elapsed(), "versions sealed");
        if seq > head.seq {
            tx.insert_versions(&pending, &superseded).await?;
            tracing::debug!(elapsed = ?t0.elapsed(), "versions inserted");
            tx.set_chain_head(Chain::Report, ChainHead { seq, hash: prev })
                .await?;
            tx.add_to_rollups(&form.name, &figures.into_deltas(&plan))
                .await?;
            tracing::debug!(elapsed = ?t0.elapsed(), "roll-ups updated");
        }
        append_audit(
            tx.as_mut(),
            &who.username,
            "report.import",
            "report",
            &format!("import/{}/{}", form.name, label),
            None,
            Some(json!({
                "form": form.name,
                "source": label,
                "rows": summary.rows,
                "filed": summary.filed,
                "corrected": summary.corrected,
                "unchanged": summary.unchanged,
                "first_seq": head.seq + 1,
                "last_seq": seq,
                "last_hash": prev.to_hex(),
            })),
        )
        .await?;
        tx.commit().await?;
        tracing::debug!(elapsed = ?t0.elapsed(), "committed");
        // hundreds of thousands of rows and their regions: free them
        // elsewhere, the caller need not wait
        if rows.len() >= INDEX_FROM_ROWS {
            // (without a thread to be had, the closure and the rows are dropped here)
            let _ = std::thread::Builder::new().spawn(move || drop(rows));
        }
        tracing::info!(form = %form.name, rows = summary.rows, filed = summary.filed, corrected = summary.corrected, "reports imported");
        Ok(summary)
    }

    /// The current version of one report and all its versions, oldest first.
    pub async fn report_history(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        date: NaiveDate,
    ) -> Result<(Vec<ReportVersion>, Vec<Review>)> {
        let form = self.form(form)?;
        let region = self
            .region_for(who, Action::ReadReports, region_code)
            .await?;
        let key = ReportKey {
            form: form.name.clone(),
            region: region.code,
            date,
        };
        let history = self.store.report_history(&key).await?;
        if history.is_empty() {
            return Err(ServiceError::NotFound(format!(
                "report {} {} {}",
                key.form, key.region, key.date
            )));
        }
        let reviews = self.store.reviews(&key).await?;
        Ok((history, reviews))
    }

    /// A region's figures for a day and since the start.
    pub async fn figures(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        date: NaiveDate,
    ) -> Result<RegionFigures> {
        let region = self
            .region_for(who, Action::ReadReports, region_code)
            .await?;
        self.figures_of(form, region, date).await
    }

    /// The figures without a jurisdiction check: for published aggregates (the bulletin).
    pub(crate) async fn figures_of(
        &self,
        form: &str,
        region: Region,
        date: NaiveDate,
    ) -> Result<RegionFigures> {
        let form = self.form(form)?;
        let series = self
            .store
            .figures(&form.name, &region.code, epoch(), date)
            .await?;
        let cumulative = form.accumulate(series.iter().map(|d| &d.values))?;
        let day = series.into_iter().last().filter(|d| d.date == date);
        Ok(RegionFigures {
            region,
            date,
            day,
            cumulative,
        })
    }

    /// A region's daily figures over `[from, to]` (days without figures are left out).
    pub async fn series(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayFigure>> {
        let form = self.form(form)?;
        let region = self
            .region_for(who, Action::ReadReports, region_code)
            .await?;
        if from > to {
            return Err(FieldError::new("from", format!("{from} is after to ({to})")).into());
        }
        Ok(self
            .store
            .figures(&form.name, &region.code, from, to)
            .await?)
    }

    /// Who should have filed a form below a region on a day, who did, who did on time.
    pub async fn completeness(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        date: NaiveDate,
        list_limit: u32,
    ) -> Result<Completeness> {
        let form = self.form(form)?;
        let region = self
            .region_for(who, Action::ReadReports, region_code)
            .await?;
        let deadline = form.deadline(date, self.settings.utc_offset_minutes);
        let store = &self.store;
        let children = if region.level < form.level {
            store.children(&region.code).await?
        } else {
            Vec::new()
        };
        let mut by_child = Vec::with_capacity(children.len());
        let mut counts = CompletenessCounts::default();
        if children.is_empty() {
            counts = store
                .completeness(&form.name, &region.path, form.level, date, deadline)
                .await?;
        } else {
            // every expected unit lies below exactly one child: sum the children
            for child in children {
                let c = store
                    .completeness(&form.name, &child.path, form.level, date, deadline)
                    .await?;
                counts.expected += c.expected;
                counts.filed += c.filed;
                counts.on_time += c.on_time;
                if c.expected > 0 {
                    by_child.push((child, c));
                }
            }
        }
        let missing = store
            .missing_units(&form.name, &region.path, form.level, date, list_limit)
            .await?;
        let late = store
            .late_units(
                &form.name,
                &region.path,
                form.level,
                date,
                deadline,
                list_limit,
            )
            .await?;
        Ok(Completeness {
            region,
            date,
            level: form.level,
            deadline,
            counts,
            by_child,
            missing,
            late,
        })
    }

    /// Review a unit's current report (审核): a status the level above sets;
    /// it never holds the figures back.
    pub async fn review_report(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        date: NaiveDate,
        status: ReviewStatus,
        note: &str,
    ) -> Result<Review> {
        let form = self.form(form)?;
        let region = self
            .region_for(who, Action::ReviewReports, region_code)
            .await?;
        if region.code == who.region.code {
            return Err(ServiceError::Forbidden(
                "a unit's report is reviewed by the level above, not by itself".into(),
            ));
        }
        let key = ReportKey {
            form: form.name.clone(),
            region: region.code.clone(),
            date,
        };
        let current = self.store.current_report(&key).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("report {} {} {date}", form.name, region.code))
        })?;
        let review = Review {
            key: key.clone(),
            version: current.version,
            status,
            note: note.trim().to_owned(),
            reviewer: who.username.clone(),
            at: now_millis(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_review(&review).await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "report.review",
            "report",
            &format!("report/{}/{}/{}", key.form, key.region, key.date),
            None,
            Some(
                json!({ "version": review.version, "status": status.name(), "note": review.note }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(review)
    }

    /// Reports below the principal's direct reports that the level in between
    /// has left unreviewed for longer than the setting: what to chase.
    pub async fn overdue_reviews(&self, who: &Principal, limit: u32) -> Result<Vec<ReportVersion>> {
        who.require(Action::ReviewReports)?;
        let below = who.region.level.child().unwrap_or(Level::Grid);
        let before = Utc::now() - Duration::hours(self.settings.review_after_hours);
        Ok(self
            .store
            .unreviewed(&who.region.path, below, before, limit.min(5000))
            .await?)
    }

    /// Current versions of a form in a region's subtree, for export.
    pub async fn export_reports(
        &self,
        who: &Principal,
        form: &str,
        region_code: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReportVersion>> {
        let form = self.form(form)?;
        let region = self
            .region_for(who, Action::ExportReports, region_code)
            .await?;
        Ok(self
            .store
            .current_reports(&form.name, &region.path, from, to)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use std::fmt::Write;

    use chrono::NaiveDate;
    use fangkong_domain::form::Values;
    use fangkong_domain::region::Level;
    use fangkong_domain::report::Source;

    use crate::regions::testing::services;
    use crate::{Principal, Service};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 2, d).unwrap()
    }

    type Figure = (String, NaiveDate, Option<(Values, bool)>);

    async fn figures(s: &Service, sys: &Principal, regions: &[String]) -> Vec<Figure> {
        let mut out = Vec::new();
        for r in regions {
            for d in [day(1), day(2)] {
                let f = s.figures(sys, "grid", r, d).await.unwrap();
                out.push((r.clone(), d, f.day.map(|x| (x.values, x.own))));
            }
        }
        out
    }

    /// A province's every village files (the index path, batches written
    /// while the next is sealed), some townships file their own figures in
    /// the same file, then a second file corrects some and repeats others:
    /// the roll-ups propagated in memory are those a rebuild from the
    /// reports gives, and the chain verifies.
    #[tokio::test]
    async fn a_province_in_one_file_rolls_up_as_a_rebuild() {
        for t in services().await {
            let s = &t.service;
            let sys = s.system().await.unwrap();
            s.import_demo_province(&sys).await.unwrap();
            let villages = s
                .store()
                .regions_at_level("/000000/420000/", Level::Village)
                .await
                .unwrap();
            let townships = s
                .store()
                .regions_at_level("/000000/420000/", Level::Township)
                .await
                .unwrap();
            assert!(villages.len() > 20_000, "{}", t.engine);
            let header = "region_code,date,households_visited,returnees_registered,fever_found,home_observation\n";
            let mut first = header.to_owned();
            for (i, v) in villages.iter().enumerate() {
                for d in [1, 2] {
                    writeln!(
                        first,
                        "{},2020-02-0{d},{},{},{},0",
                        v.code,
                        i % 90,
                        i % 3,
                        d
                    )
                    .unwrap();
                }
                // a township's own figure, in the middle of its villages
                if i % 500 == 7 {
                    let township = townships[i % townships.len()].code.as_str();
                    writeln!(first, "{township},2020-02-01,1000,0,0,{i}").unwrap();
                }
            }
            let file = s
                .read_report_csv(&sys, "grid", first.as_bytes(), &|_| {})
                .await
                .unwrap();
            assert!(file.bad.is_empty(), "{}: {:?}", t.engine, file.bad.first());
            let summary = s
                .import_report_rows(&sys, "grid", file.rows, Source::Import, "first")
                .await
                .unwrap();
            assert_eq!(
                summary.filed as usize,
                villages.len() * 2 + 55,
                "{}",
                t.engine
            );
            assert!(
                s.region_index.held().is_some(),
                "{}: the index path",
                t.engine
            );

            let mut second = header.to_owned();
            for (i, v) in villages.iter().enumerate().step_by(7) {
                let changed = if i % 2 == 0 { 1 } else { 0 };
                writeln!(
                    second,
                    "{},2020-02-01,{},{},1,0",
                    v.code,
                    i % 90 + changed,
                    i % 3
                )
                .unwrap();
            }
            writeln!(second, "{},2020-02-02,5,5,5,5", townships[3].code).unwrap();
            writeln!(second, "420100,2020-02-02,1,1,1,1").unwrap();
            let file = s
                .read_report_csv(&sys, "grid", second.as_bytes(), &|_| {})
                .await
                .unwrap();
            assert!(file.bad.is_empty(), "{}: {:?}", t.engine, file.bad.first());
            let summary = s
                .import_report_rows(&sys, "grid", file.rows, Source::Import, "second")
                .await
                .unwrap();
            assert!(
                summary.corrected > 0 && summary.filed == 2,
                "{}: {summary:?}",
                t.engine
            );

            let mut regions: Vec<String> = ["000000", "420000", "420100", "420103", "110000"]
                .map(str::to_owned)
                .to_vec();
            regions.extend(townships.iter().take(40).map(|r| r.code.to_string()));
            regions.extend(villages.iter().step_by(997).map(|r| r.code.to_string()));
            let before = figures(s, &sys, &regions).await;
            let mut tx = s.store().begin().await.unwrap();
            tx.rebuild_rollups("grid", &[day(1), day(2)]).await.unwrap();
            tx.commit().await.unwrap();
            let after = figures(s, &sys, &regions).await;
            assert_eq!(before, after, "{}", t.engine);
            assert_eq!(
                before[5].2.map(|(v, own)| (v.get(0), own)),
                Some((1, true)),
                "{}: 武汉's own figure on the 2nd",
                t.engine
            );
            let verdict = s.verify_chains(&sys).await.unwrap();
            assert!(
                matches!(
                    verdict.reports,
                    fangkong_domain::chain::Verdict::Intact { .. }
                ),
                "{}: {verdict:?}",
                t.engine
            );
        }
    }
}
