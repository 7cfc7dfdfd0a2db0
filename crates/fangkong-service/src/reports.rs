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
//! each changed roll-up once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use fangkong_domain::chain::Hash;
use fangkong_domain::form::{Form, Values};
use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_domain::report::{now_millis, ReportKey, ReportVersion, ReviewStatus, Source};
use fangkong_domain::FieldError;
use fangkong_store::{
    Chain, ChainHead, CompletenessCounts, DayFigure, Review, RollupRow, UnitStatus,
};

use crate::audit::append_audit;
use crate::{Principal, Result, Service, ServiceError};

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

/// The figures of a bulk filing as it proceeds: each region's own current
/// values and roll-up per day, and the changes to roll-ups the filing makes.
/// The same rule as a single filing — a unit's change goes to each ancestor
/// up to and including the first with its own report — in memory, so a day of
/// 620,000 reports becomes one write of its ~45,000 changed roll-ups.
struct Propagation {
    own: HashMap<NaiveDate, HashMap<RegionCode, Values>>,
    rollup: HashMap<NaiveDate, HashMap<RegionCode, Values>>,
    deltas: HashMap<NaiveDate, HashMap<RegionCode, (Level, Values)>>,
}

impl Propagation {
    fn new(
        own: impl Iterator<Item = (NaiveDate, RegionCode, Values)>,
        rollups: Vec<RollupRow>,
    ) -> Propagation {
        let mut p = Propagation {
            own: HashMap::new(),
            rollup: HashMap::new(),
            deltas: HashMap::new(),
        };
        for (date, region, values) in own {
            p.own.entry(date).or_default().insert(region, values);
        }
        for r in rollups {
            p.rollup
                .entry(r.date)
                .or_default()
                .insert(r.region, r.values);
        }
        p
    }

    /// `region` files `values` for `date`; `ancestors` nearest first, with their levels.
    fn file(
        &mut self,
        date: NaiveDate,
        region: &RegionCode,
        ancestors: &[(RegionCode, Level)],
        values: Values,
        remember: bool,
    ) {
        let own = self.own.entry(date).or_default();
        let deltas = self.deltas.entry(date).or_default();
        let old = match own.get(region) {
            Some(v) => *v,
            None => {
                let base = self
                    .rollup
                    .get(&date)
                    .and_then(|d| d.get(region))
                    .copied()
                    .unwrap_or_default();
                let moved = deltas.get(region).map(|(_, v)| *v).unwrap_or_default();
                base.plus(&moved)
            }
        };
        if remember {
            own.insert(region.clone(), values);
        }
        let delta = values.minus(&old);
        for (code, level) in ancestors {
            match deltas.get_mut(code) {
                Some((_, v)) => *v = v.plus(&delta),
                None => {
                    deltas.insert(code.clone(), (*level, delta));
                }
            }
            if own.contains_key(code) {
                break;
            }
        }
    }

    fn into_deltas(self) -> Vec<RollupRow> {
        self.deltas
            .into_iter()
            .flat_map(|(date, regions)| {
                regions
                    .into_iter()
                    .map(move |(region, (level, values))| RollupRow {
                        date,
                        region,
                        level,
                        values,
                    })
            })
            .collect()
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

    fn check_writer(who: &Principal) -> Result<()> {
        if !who.role.may_write() {
            return Err(ServiceError::Forbidden(format!(
                "role {} cannot file reports",
                who.role
            )));
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
        Self::check_writer(who)?;
        let form = self.form(form)?;
        let region = self.region_in_scope(who, region_code).await?;
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
        let delta = values.minus(&old_figure);
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
        Self::check_writer(who)?;
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
        }
        let days: Vec<NaiveDate> = rows
            .iter()
            .map(|r| r.date)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let filed_at = now_millis();
        let mut summary = ImportSummary {
            rows: rows.len() as u64,
            days: days.len() as u64,
            ..Default::default()
        };

        let t0 = std::time::Instant::now();
        let ancestry = self.ancestry(&rows).await?;
        let above: std::collections::HashSet<&RegionCode> =
            ancestry.values().flatten().map(|(code, _)| code).collect();
        tracing::debug!(elapsed = ?t0.elapsed(), "ancestry");
        let mut tx = self.store.begin().await?;
        let mut existing: HashMap<NaiveDate, HashMap<RegionCode, ReportVersion>> = HashMap::new();
        for v in tx.current_reports_on(&form.name, &days).await? {
            existing
                .entry(v.key.date)
                .or_default()
                .insert(v.key.region.clone(), v);
        }
        let mut figures = Propagation::new(
            existing
                .values()
                .flat_map(|m| m.values())
                .map(|v| (v.key.date, v.key.region.clone(), v.values)),
            tx.rollups_on(&form.name, &days).await?,
        );
        tracing::debug!(elapsed = ?t0.elapsed(), "existing figures read");
        let head = tx.chain_head(Chain::Report).await?;
        let (mut seq, mut prev) = (head.seq, head.hash);
        let mut versions = Vec::with_capacity(rows.len());
        let mut superseded = Vec::new();
        for r in rows {
            let current = existing.get(&r.date).and_then(|m| m.get(&r.region.code));
            if let Some(c) = current {
                if c.values == r.values {
                    summary.unchanged += 1;
                    continue;
                }
                superseded.push(c.seq);
                summary.corrected += 1;
            } else {
                summary.filed += 1;
            }
            let ancestors = r
                .region
                .parent
                .as_ref()
                .and_then(|p| ancestry.get(p))
                .map_or(&[][..], |a| &a[..]);
            // only a region above others in the batch can stop a propagation:
            // only those are remembered
            let remember = above.contains(&r.region.code);
            figures.file(r.date, &r.region.code, ancestors, r.values, remember);
            seq += 1;
            let mut v = ReportVersion {
                seq,
                key: ReportKey {
                    form: form.name.clone(),
                    region: r.region.code.clone(),
                    date: r.date,
                },
                version: current.map_or(1, |c| c.version + 1),
                values: r.values,
                filed_by: who.username.clone(),
                filed_at: r.filed_at.unwrap_or(filed_at),
                source,
                hash: Hash::GENESIS,
            };
            v.seal(&prev);
            prev = v.hash;
            versions.push((v, r.region.level));
        }
        let started = std::time::Instant::now();
        if !versions.is_empty() {
            tx.insert_versions(&versions, &superseded).await?;
            tracing::debug!(elapsed = ?started.elapsed(), "versions inserted");
            tx.set_chain_head(Chain::Report, ChainHead { seq, hash: prev })
                .await?;
            tx.add_to_rollups(&form.name, &figures.into_deltas())
                .await?;
            tracing::debug!(elapsed = ?started.elapsed(), "roll-ups updated");
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
        tracing::debug!(elapsed = ?started.elapsed(), "committed");
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
        let region = self.region_in_scope(who, region_code).await?;
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
        let region = self.region_in_scope(who, region_code).await?;
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
        let cumulative = form.accumulate(series.iter().map(|d| &d.values));
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
        let region = self.region_in_scope(who, region_code).await?;
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
        let region = self.region_in_scope(who, region_code).await?;
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
        Self::check_writer(who)?;
        let form = self.form(form)?;
        let region = self.region_in_scope(who, region_code).await?;
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
        let region = self.region_in_scope(who, region_code).await?;
        Ok(self
            .store
            .current_reports(&form.name, &region.path, from, to)
            .await?)
    }
}
