//! Published data (R10, Principle 4): releases, their versions and errata,
//! and the open data built from them.
//!
//! **A release** is what was published of one region on one day: the
//! bulletin's figures (new and cumulative confirmed, deaths, recovered; new
//! and current suspected and severe; close contacts under observation; see
//! [`RELEASE_FIELDS`]) of the region and of each of its children, read from
//! the same figures the command sees at the moment of publication.
//!
//! - The first publication of a day and region is version 1. Publishing
//!   again when any figure has changed since stores version 2 (3, …), and
//!   needs a *reason*; every figure that changed gets an [`Erratum`] (day,
//!   region, field, old value, new value, version, when, by whom, why).
//!   Publishing again with nothing changed is a no-op and says so.
//! - Releases are immutable: a later filing or correction changes the
//!   command's figures at once (Principle 1), but what the public sees
//!   changes only when someone re-publishes. Every earlier version stays
//!   readable exactly as it was released.
//! - Publishing is for the command levels (national, provincial, city and
//!   county users) within their jurisdiction; every publication is audited.
//!   By default (no region given) a national user publishes the nation and
//!   every province; anyone else publishes their home region.
//!
//! **Small-area suppression** ([`fangkong_domain::disclosure`]). In every
//! public output of a release (the release itself, its earlier versions,
//! the errata and the open data), a count from 1 to 4 of a region below
//! the province level (a city, a county, or anything smaller) is withheld,
//! and so are the other counts that would let it be worked out: a parent
//! minus its published children, a withheld parent from its children
//! (*complementary suppression*, per field and day, over the tree of the
//! day's latest releases; see [`Disclosure`]). A withheld count is sent as
//! the marker [`SUPPRESSED`], the same for both kinds; the number is never
//! sent. Counts of the nation and the provinces are published as they are.
//! An erratum shows an old or new value withheld when it is a small count
//! or withheld in the day's latest release. (Not covered: differences
//! between days, e.g. a cumulative count today minus yesterday's.)
//!
//! No personal data is ever part of a release: only aggregate counts of
//! the daily epidemic report, with region codes and names.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use fangkong_domain::bulletin::BulletinFigures;
use fangkong_domain::disclosure::{self, Cell};
use fangkong_domain::form::{epidemic_form, Form, Values};
use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_domain::report::now_millis;
use fangkong_domain::FieldError;
use fangkong_store::{
    Chain, DayFigure, Erratum, Release, ReleaseFigures, ReleaseHead, ReleaseRow, ReleasedRow,
    Witness, RELEASE_FIELDS,
};

use crate::audit::append_audit;
use crate::reports::epoch;
use crate::{Principal, Result, Service, ServiceError};

/// Counts from 1 to this minus one are withheld for small areas.
pub const SUPPRESS_BELOW: i64 = disclosure::SUPPRESS_BELOW;
/// What is published instead of a withheld count: a small count, or one
/// withheld so that a small count cannot be worked out.
pub const SUPPRESSED: &str = "x";
/// The longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 1000;
/// The most days one open-data download covers.
pub const MAX_OPEN_DATA_DAYS: i64 = 366;

/// Whether counts of a region at `level` are subject to small-area suppression.
pub fn is_small_area(level: Level) -> bool {
    level > Level::Province
}

/// A count as the public sees it: the number, or withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicCount {
    Count(i64),
    /// A count from 1 to 4 in a small area, or one withheld beside it;
    /// published as [`SUPPRESSED`].
    Suppressed,
}

impl PublicCount {
    /// The count `n` of a region at `level`, suppressed where the rule says so.
    pub fn of(level: Level, n: i64) -> PublicCount {
        if is_small_area(level) && n > 0 && n < SUPPRESS_BELOW {
            PublicCount::Suppressed
        } else {
            PublicCount::Count(n)
        }
    }

    pub fn count(self) -> Option<i64> {
        match self {
            PublicCount::Count(n) => Some(n),
            PublicCount::Suppressed => None,
        }
    }
}

impl fmt::Display for PublicCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicCount::Count(n) => write!(f, "{n}"),
            PublicCount::Suppressed => f.write_str(SUPPRESSED),
        }
    }
}

/// A release row's figures as the public sees them, in the order of
/// [`RELEASE_FIELDS`], with primary suppression only: see
/// [`Disclosure::figures`] for what is published.
pub fn public_figures(row: &ReleaseRow) -> Vec<(&'static str, PublicCount)> {
    row.figures
        .named()
        .map(|(f, n)| (f, PublicCount::of(row.level, n)))
        .collect()
}

/// Which published counts are withheld, for the days it was read for: the
/// rule of [`fangkong_domain::disclosure`] applied per field and day to the
/// tree of the day's latest releases (each region's latest published
/// figures, under the region whose release lists it as a child).
#[derive(Debug, Default, Clone)]
pub struct Disclosure {
    withheld: HashSet<(NaiveDate, RegionCode, usize)>,
    /// The regions and days the rule saw: others get primary suppression only.
    seen: HashSet<(NaiveDate, RegionCode)>,
}

impl Disclosure {
    /// Whether field `field` (an index into [`RELEASE_FIELDS`]) of `region` is withheld on `date`.
    pub fn is_withheld(&self, date: NaiveDate, region: &RegionCode, field: usize) -> bool {
        self.withheld.contains(&(date, region.clone(), field))
    }

    /// How many counts are withheld.
    pub fn len(&self) -> usize {
        self.withheld.len()
    }

    pub fn is_empty(&self) -> bool {
        self.withheld.is_empty()
    }

    /// One count as published.
    pub fn count(
        &self,
        date: NaiveDate,
        region: &RegionCode,
        level: Level,
        field: usize,
        n: i64,
    ) -> PublicCount {
        if self.is_withheld(date, region, field) {
            PublicCount::Suppressed
        } else if self.seen.contains(&(date, region.clone())) {
            // the rule publishes it (the only child of a province is the province's count)
            PublicCount::Count(n)
        } else {
            PublicCount::of(level, n)
        }
    }

    /// A release row's figures as the public sees them, in the order of [`RELEASE_FIELDS`].
    pub fn figures(&self, date: NaiveDate, row: &ReleaseRow) -> Vec<(&'static str, PublicCount)> {
        row.figures
            .named()
            .enumerate()
            .map(|(i, (f, n))| (f, self.count(date, &row.region, row.level, i, n)))
            .collect()
    }

    /// Add the rule's answer for one release on its own (the released
    /// region and its children): for an earlier version, whose figures are
    /// not the day's latest, beside what the day's latest withhold.
    pub fn add_release(&mut self, release: &Release) {
        let date = release.head.date;
        let rows = &release.rows;
        let fresh: Vec<bool> = rows
            .iter()
            .map(|r| !self.seen.contains(&(date, r.region.clone())))
            .collect();
        for field in 0..RELEASE_FIELDS.len() {
            let cells: Vec<Cell> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| Cell {
                    parent: (i > 0).then_some(0),
                    value: r.figures.0[field],
                    small: is_small_area(r.level),
                })
                .collect();
            for (i, w) in disclosure::withhold(&cells).into_iter().enumerate() {
                // a row the day's tree did not see keeps its own primary suppression
                let primary = fresh[i]
                    && PublicCount::of(rows[i].level, cells[i].value)
                        .count()
                        .is_none();
                if w || primary {
                    self.withheld.insert((date, rows[i].region.clone(), field));
                }
            }
        }
        for r in rows {
            self.seen.insert((date, r.region.clone()));
        }
    }

    /// The rule over a tree of one day's rows: `rows` with the index of each one's parent.
    fn add_tree(&mut self, date: NaiveDate, rows: &[(&ReleaseRow, Option<usize>)]) {
        for field in 0..RELEASE_FIELDS.len() {
            let cells: Vec<Cell> = rows
                .iter()
                .map(|(r, parent)| Cell {
                    parent: *parent,
                    value: r.figures.0[field],
                    small: is_small_area(r.level),
                })
                .collect();
            for (i, w) in disclosure::withhold(&cells).into_iter().enumerate() {
                if w {
                    self.withheld
                        .insert((date, rows[i].0.region.clone(), field));
                }
            }
        }
        for (r, _) in rows {
            self.seen.insert((date, r.region.clone()));
        }
    }
}

/// What one publication of one release did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// The first version.
    Published(ReleaseHead),
    /// A new version, with the figures that changed.
    Revised {
        head: ReleaseHead,
        errata: Vec<Erratum>,
    },
    /// The figures are those of the latest version: nothing was stored.
    Unchanged(ReleaseHead),
}

impl PublishOutcome {
    pub fn head(&self) -> &ReleaseHead {
        match self {
            PublishOutcome::Published(h)
            | PublishOutcome::Unchanged(h)
            | PublishOutcome::Revised { head: h, .. } => h,
        }
    }

    /// `published`, `revised` or `unchanged`.
    pub fn name(&self) -> &'static str {
        match self {
            PublishOutcome::Published(_) => "published",
            PublishOutcome::Revised { .. } => "revised",
            PublishOutcome::Unchanged(_) => "unchanged",
        }
    }
}

/// A region's daily figures with running totals, for lookups by day.
struct Series {
    days: Vec<NaiveDate>,
    values: Vec<Values>,
    cumulative: Vec<Values>,
}

impl Series {
    fn new(form: &Form, figures: impl IntoIterator<Item = DayFigure>) -> Result<Series> {
        let mut s = Series {
            days: Vec::new(),
            values: Vec::new(),
            cumulative: Vec::new(),
        };
        for f in figures {
            let acc = form.accumulate(s.cumulative.last().into_iter().chain([&f.values]))?;
            s.days.push(f.date);
            s.values.push(f.values);
            s.cumulative.push(acc);
        }
        Ok(s)
    }

    /// The day's values (if any) and the totals up to the day.
    fn at(&self, date: NaiveDate) -> (Option<Values>, Values) {
        let n = self.days.partition_point(|d| *d <= date);
        if n == 0 {
            return (None, Values::ZERO);
        }
        let day = (self.days[n - 1] == date).then(|| self.values[n - 1]);
        (day, self.cumulative[n - 1])
    }
}

/// Where the bulletin's figures sit in the epidemic form.
struct FieldSlots {
    confirmed: usize,
    suspected: usize,
    severe: usize,
    deaths: usize,
    recovered: usize,
    current_severe: usize,
    current_suspected: usize,
    current_observation: usize,
}

impl FieldSlots {
    fn of(form: &Form) -> Result<FieldSlots> {
        let i = |name: &str| {
            form.field_index(name).ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!("epidemic form has no field {name}"))
            })
        };
        Ok(FieldSlots {
            confirmed: i("new_confirmed")?,
            suspected: i("new_suspected")?,
            severe: i("new_severe")?,
            deaths: i("new_deaths")?,
            recovered: i("new_recovered")?,
            current_severe: i("current_severe")?,
            current_suspected: i("current_suspected")?,
            current_observation: i("current_observation")?,
        })
    }

    /// The release figures (in the order of [`RELEASE_FIELDS`]) from a day and its totals.
    fn figures(&self, day: &Values, cum: &Values) -> ReleaseFigures {
        ReleaseFigures([
            day.get(self.confirmed),
            day.get(self.suspected),
            day.get(self.severe),
            day.get(self.deaths),
            day.get(self.recovered),
            cum.get(self.confirmed),
            cum.get(self.deaths),
            cum.get(self.recovered),
            cum.get(self.current_severe),
            cum.get(self.current_suspected),
            cum.get(self.current_observation),
        ])
    }
}

/// A region to publish: itself and its children, with their series.
struct Subject {
    region: Region,
    own: Series,
    children: Vec<(Region, Series)>,
}

impl Subject {
    fn release(&self, slots: &FieldSlots, date: NaiveDate) -> (Vec<ReleaseRow>, u32) {
        let row = |r: &Region, s: &Series| {
            let (day, cum) = s.at(date);
            ReleaseRow {
                region: r.code.clone(),
                name: r.name.clone(),
                level: r.level,
                reported: day.is_some(),
                figures: slots.figures(&day.unwrap_or_default(), &cum),
            }
        };
        let mut rows = Vec::with_capacity(1 + self.children.len());
        rows.push(row(&self.region, &self.own));
        rows.extend(self.children.iter().map(|(r, s)| row(r, s)));
        let units = rows[1..].iter().filter(|r| r.reported).count() as u32;
        (rows, units)
    }
}

/// The errata between the latest version's rows and the new ones.
fn errata_between(old: &Release, new: &Release, reason: &str) -> Vec<Erratum> {
    let before: HashMap<&RegionCode, &ReleaseFigures> =
        old.rows.iter().map(|r| (&r.region, &r.figures)).collect();
    let h = &new.head;
    let mut out = Vec::new();
    for row in &new.rows {
        let was = before
            .get(&row.region)
            .copied()
            .copied()
            .unwrap_or_default();
        for (i, field) in RELEASE_FIELDS.iter().enumerate() {
            if was.0[i] != row.figures.0[i] {
                out.push(Erratum {
                    date: h.date,
                    region: row.region.clone(),
                    level: row.level,
                    release_region: h.region.clone(),
                    field: (*field).to_owned(),
                    old_value: was.0[i],
                    new_value: row.figures.0[i],
                    version: h.version,
                    published_at: h.published_at,
                    published_by: h.published_by.clone(),
                    reason: reason.to_owned(),
                });
            }
        }
    }
    out
}

fn same_figures(a: &Release, b: &[ReleaseRow]) -> bool {
    a.rows.len() == b.len()
        && a.rows
            .iter()
            .zip(b)
            .all(|(x, y)| x.region == y.region && x.figures == y.figures)
}

fn figures_json(row: &ReleaseRow) -> Value {
    let figures: serde_json::Map<String, Value> = row
        .figures
        .named()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    Value::Object(figures)
}

fn head_json(h: &ReleaseHead) -> Value {
    json!({
        "date": h.date.to_string(),
        "region_code": h.region.as_str(),
        "version": h.version,
        "published_at": h.published_at.to_rfc3339(),
        "published_by": h.published_by,
        "reason": h.reason,
        "units_reporting": h.units_reporting,
        "witness": h.witness.map(|w| json!({
            "report_seq": w.report.seq,
            "report_hash": w.report.hash.to_hex(),
            "audit_seq": w.audit.seq,
            "audit_hash": w.audit.hash.to_hex(),
        })),
    })
}

fn check_publisher(who: &Principal, region: &Region) -> Result<()> {
    who.require(fangkong_domain::policy::Action::Publish)?;
    if !who.covers(region) {
        return Err(ServiceError::Forbidden(format!(
            "region {} lies outside the jurisdiction of {} ({})",
            region.code, who.username, who.region.code
        )));
    }
    Ok(())
}

fn clean_reason(reason: Option<&str>) -> Result<Option<String>> {
    let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if r.chars().count() > MAX_REASON_CHARS {
        return Err(FieldError::new(
            "reason",
            format!("must be at most {MAX_REASON_CHARS} characters"),
        )
        .into());
    }
    Ok(Some(r.to_owned()))
}

impl Service {
    /// Publish the day's figures of `region` and its children (see the
    /// module docs): by default the nation and every province for a
    /// national user, the home region for anyone else. A changed
    /// re-publication needs `reason`.
    pub async fn publish(
        &self,
        who: &Principal,
        date: NaiveDate,
        region: Option<&str>,
        reason: Option<&str>,
    ) -> Result<Vec<PublishOutcome>> {
        self.publish_days(who, &[date], region, reason).await
    }

    /// [`Service::publish`] for several days in one transaction: all or nothing.
    pub async fn publish_days(
        &self,
        who: &Principal,
        dates: &[NaiveDate],
        region: Option<&str>,
        reason: Option<&str>,
    ) -> Result<Vec<PublishOutcome>> {
        let reason = clean_reason(reason)?;
        let today = self.today();
        let mut dates = dates.to_vec();
        dates.sort();
        dates.dedup();
        let Some(&last) = dates.last() else {
            return Ok(Vec::new());
        };
        if last > today {
            return Err(FieldError::new(
                "date",
                format!("{last} is in the future (today is {today})"),
            )
            .into());
        }
        let regions = match region.map(str::trim).filter(|r| !r.is_empty()) {
            Some(code) => vec![self.region(code).await?],
            None if who.region.level == Level::Nation => {
                let nation = self.nation().await?;
                let mut all = vec![nation.clone()];
                all.extend(
                    self.store
                        .children(&nation.code)
                        .await?
                        .into_iter()
                        .filter(|c| c.level == Level::Province),
                );
                all
            }
            None => vec![who.region.clone()],
        };
        for r in &regions {
            check_publisher(who, r)?;
        }

        let form = epidemic_form();
        let slots = FieldSlots::of(&form)?;
        let mut subjects = Vec::with_capacity(regions.len());
        for region in regions {
            subjects.push(self.subject(&form, region, last).await?);
        }

        let published_at = now_millis();
        let mut outcomes = Vec::with_capacity(dates.len() * subjects.len());
        // the chains as they stand, witnessed on each release: the report
        // head read outside the transaction (so filers need not wait for
        // it), the audit head inside (the release's own entry comes after)
        let report_head = self.store.chain_head(Chain::Report).await?;
        let mut tx = self.store.begin().await?;
        let witness = Witness {
            report: report_head,
            audit: tx.chain_head(Chain::Audit).await?,
        };
        for &date in &dates {
            for subject in &subjects {
                let (rows, units) = subject.release(&slots, date);
                let code = &subject.region.code;
                let latest = tx.latest_release(date, code).await?;
                if let Some(l) = &latest {
                    if same_figures(l, &rows) {
                        outcomes.push(PublishOutcome::Unchanged(l.head.clone()));
                        continue;
                    }
                }
                let version = latest.as_ref().map_or(1, |l| l.head.version + 1);
                if latest.is_some() && reason.is_none() {
                    return Err(FieldError::new(
                        "reason",
                        format!(
                            "the figures of {code} for {date} changed since version {} was \
                             published; a revision needs a reason",
                            version - 1
                        ),
                    )
                    .into());
                }
                let release = Release {
                    head: ReleaseHead {
                        date,
                        region: code.clone(),
                        version,
                        published_at,
                        published_by: who.username.clone(),
                        reason: reason.clone(),
                        units_reporting: units,
                        witness: Some(witness),
                    },
                    rows,
                };
                let errata = match &latest {
                    Some(l) => errata_between(l, &release, reason.as_deref().unwrap_or("")),
                    None => Vec::new(),
                };
                tx.insert_release(&release, &errata).await?;
                let changed: Vec<Value> = errata
                    .iter()
                    .map(|e| {
                        json!({"region_code": e.region.as_str(), "field": e.field,
                               "old": e.old_value, "new": e.new_value})
                    })
                    .collect();
                let mut after = head_json(&release.head);
                after["figures"] = figures_json(&release.rows[0]);
                after["regions"] = json!(release.rows.len());
                if latest.is_some() {
                    after["changed"] = Value::Array(changed);
                }
                append_audit(
                    tx.as_mut(),
                    &who.username,
                    if latest.is_some() {
                        "release.revise"
                    } else {
                        "release.publish"
                    },
                    "release",
                    &format!("release/{code}/{date}"),
                    latest.as_ref().map(|l| head_json(&l.head)),
                    Some(after),
                )
                .await?;
                outcomes.push(match latest {
                    Some(_) => PublishOutcome::Revised {
                        head: release.head,
                        errata,
                    },
                    None => PublishOutcome::Published(release.head),
                });
            }
        }
        tx.commit().await?;
        // cached public answers of this process are stale now
        self.publications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(outcomes)
    }

    /// A region's series and its children's, up to `to`.
    async fn subject(&self, form: &Form, region: Region, to: NaiveDate) -> Result<Subject> {
        let own = self
            .store
            .figures(&form.name, &region.code, epoch(), to)
            .await?;
        let own = Series::new(form, own)?;
        let mut children = Vec::new();
        if region.level.child().is_some() {
            let mut kids = self.store.children(&region.code).await?;
            kids.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
            // children at every level they sit at: the prefecture cities
            // without counties are county-level units under their province
            let mut levels: Vec<Level> = kids.iter().map(|k| k.level).collect();
            levels.sort();
            levels.dedup();
            let mut by_region: HashMap<RegionCode, Vec<DayFigure>> = HashMap::new();
            for level in levels {
                for (code, f) in self
                    .store
                    .level_figures(&form.name, &region.path, level, epoch(), to)
                    .await?
                {
                    by_region.entry(code).or_default().push(f);
                }
            }
            for kid in kids {
                let mut figures = by_region.remove(&kid.code).unwrap_or_default();
                figures.sort_by_key(|f| f.date);
                children.push((kid, Series::new(form, figures)?));
            }
        }
        Ok(Subject {
            region,
            own,
            children,
        })
    }

    /// A release of `region` (the nation when `None`) for `date`: version
    /// `version`, or the latest. Public: aggregate counts only.
    pub async fn release(
        &self,
        date: NaiveDate,
        region: Option<&str>,
        version: Option<i32>,
    ) -> Result<Release> {
        let region = self.public_region(region).await?;
        self.store
            .release(date, &region.code, version)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(match version {
                    Some(v) => format!("version {v} of the release of {} for {date}", region.code),
                    None => format!("a release of {} for {date}", region.code),
                })
            })
    }

    /// Every version of a release, oldest first (empty when never published).
    pub async fn release_versions(
        &self,
        date: NaiveDate,
        region: Option<&str>,
    ) -> Result<Vec<ReleaseHead>> {
        let region = self.public_region(region).await?;
        Ok(self.store.release_versions(date, &region.code).await?)
    }

    /// The latest day up to today for which `region` (the nation when
    /// `None`) has a release.
    pub async fn latest_release_date(&self, region: Option<&str>) -> Result<Option<NaiveDate>> {
        let region = self.public_region(region).await?;
        Ok(self
            .store
            .latest_releases(Some(&region.code), epoch(), self.today(), 1)
            .await?
            .first()
            .map(|h| h.date))
    }

    /// The latest version of each release of any region for days in `[from, to]`.
    pub async fn releases_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<ReleaseHead>> {
        check_range(from, to, None)?;
        Ok(self
            .store
            .latest_releases(None, from, to, limit.min(10_000))
            .await?)
    }

    /// What changed in revisions of figures for days in `[from, to]`, newest first.
    pub async fn errata(&self, from: NaiveDate, to: NaiveDate, limit: u32) -> Result<Vec<Erratum>> {
        check_range(from, to, None)?;
        Ok(self.store.errata(from, to, limit.min(10_000)).await?)
    }

    /// Open data: the published figures of every region at `level` for days
    /// in `[from, to]`, from releases only, by day and region. A region in
    /// both its own release and its parent's counts as published last.
    pub async fn open_data(
        &self,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReleasedRow>> {
        if level > Level::County {
            return Err(FieldError::new(
                "level",
                format!(
                    "open data goes down to the counties; {} is below them",
                    level.name()
                ),
            )
            .into());
        }
        check_range(from, to, Some(MAX_OPEN_DATA_DAYS))?;
        let rows = self.store.released_rows(level, from, to).await?;
        // ordered by day, region, publication: keep the last of each run
        let mut out: Vec<ReleasedRow> = Vec::with_capacity(rows.len());
        for r in rows {
            match out.last_mut() {
                Some(prev) if prev.date == r.date && prev.row.region == r.row.region => *prev = r,
                _ => out.push(r),
            }
        }
        Ok(out)
    }

    /// What the public routes withhold for days in `[from, to]` (see
    /// [`Disclosure`]): the day's latest releases of every region, as one tree.
    pub async fn disclosure(&self, from: NaiveDate, to: NaiveDate) -> Result<Disclosure> {
        check_range(from, to, Some(MAX_OPEN_DATA_DAYS))?;
        // each region's latest figures of the day, and its parent (the
        // region whose release lists it as a child)
        let mut days: BTreeMap<NaiveDate, HashMap<RegionCode, (ReleasedRow, Option<RegionCode>)>> =
            BTreeMap::new();
        for level in Level::ALL {
            for r in self.store.released_rows(level, from, to).await? {
                let day = days.entry(r.date).or_default();
                let parent = (r.release_region != r.row.region).then(|| r.release_region.clone());
                match day.get_mut(&r.row.region) {
                    // ordered by publication: the later figures count
                    Some((prev, p)) => {
                        if parent.is_some() {
                            *p = parent;
                        }
                        *prev = r;
                    }
                    None => {
                        day.insert(r.row.region.clone(), (r, parent));
                    }
                }
            }
        }
        let mut out = Disclosure::default();
        for (date, day) in days {
            let mut entries: Vec<(&RegionCode, &(ReleasedRow, Option<RegionCode>))> =
                day.iter().collect();
            entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            let index: HashMap<&RegionCode, usize> = entries
                .iter()
                .enumerate()
                .map(|(i, (c, _))| (*c, i))
                .collect();
            let rows: Vec<(&ReleaseRow, Option<usize>)> = entries
                .iter()
                .map(|(_, (r, p))| (&r.row, p.as_ref().and_then(|p| index.get(p).copied())))
                .collect();
            out.add_tree(date, &rows);
        }
        Ok(out)
    }

    /// A region for the public routes (the nation when `None`).
    async fn public_region(&self, region: Option<&str>) -> Result<Region> {
        match region.map(str::trim).filter(|r| !r.is_empty()) {
            Some(code) => self.region(code).await,
            None => self.nation().await,
        }
    }
}

fn check_range(from: NaiveDate, to: NaiveDate, max_days: Option<i64>) -> Result<()> {
    if from > to {
        return Err(FieldError::new("from", format!("{from} is after to ({to})")).into());
    }
    if let Some(max) = max_days {
        if to - from >= Duration::days(max) {
            return Err(FieldError::new(
                "from",
                format!("a download covers at most {max} days; {from} to {to} is longer"),
            )
            .into());
        }
    }
    Ok(())
}

/// The bulletin of a release, for the nation and the provinces only (below
/// them its counts would need suppression, which prose cannot carry).
pub fn release_bulletin(release: &Release) -> Option<BulletinFigures> {
    let own = release.rows.first()?;
    if is_small_area(own.level) {
        return None;
    }
    let f = |name: &str| own.figures.get(name).unwrap_or(0);
    Some(BulletinFigures {
        date: release.head.date,
        region_name: (own.level != Level::Nation).then(|| own.name.clone()),
        unit_level: own.level.child(),
        units_reporting: release.head.units_reporting,
        new_confirmed: f("new_confirmed"),
        new_severe: f("new_severe"),
        new_deaths: f("new_deaths"),
        new_recovered: f("new_recovered"),
        new_suspected: f("new_suspected"),
        cum_confirmed: f("cum_confirmed"),
        current_severe: f("current_severe"),
        cum_deaths: f("cum_deaths"),
        cum_recovered: f("cum_recovered"),
        current_suspected: f("current_suspected"),
        current_observation: f("current_observation"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::*;

    #[test]
    fn small_counts_of_small_areas_are_withheld() {
        assert_eq!(PublicCount::of(Level::County, 3), PublicCount::Suppressed);
        assert_eq!(PublicCount::of(Level::City, 4).to_string(), "x");
        assert_eq!(PublicCount::of(Level::County, 0), PublicCount::Count(0));
        assert_eq!(PublicCount::of(Level::County, 5), PublicCount::Count(5));
        assert_eq!(PublicCount::of(Level::Province, 3), PublicCount::Count(3));
        assert_eq!(PublicCount::of(Level::Nation, 1).to_string(), "1");
    }

    #[test]
    fn a_series_gives_the_day_and_the_totals_up_to_it() {
        let form = epidemic_form();
        let d = |n: u32| NaiveDate::from_ymd_opt(2020, 1, n).unwrap_or_default();
        let v = |n: i64| {
            let mut v = Values::ZERO;
            v.0[0] = n;
            v
        };
        let s = Series::new(
            &form,
            [
                DayFigure {
                    date: d(2),
                    values: v(3),
                    own: true,
                },
                DayFigure {
                    date: d(4),
                    values: v(5),
                    own: true,
                },
            ],
        )
        .unwrap();
        assert_eq!(s.at(d(1)), (None, Values::ZERO));
        assert_eq!(s.at(d(2)), (Some(v(3)), v(3)));
        assert_eq!(s.at(d(3)), (None, v(3)));
        assert_eq!(s.at(d(4)), (Some(v(5)), v(8)));
    }
}
