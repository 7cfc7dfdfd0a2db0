//! Risk assessment and early warning (R9): epidemic curves, growth, Rt,
//! forecasts, aberration alerts and county risk levels over the reports.
//!
//! The numbers come from `fangkong-analytics`; this module reads the series
//! they need (scoped to the principal's jurisdiction), turns dates into
//! indices and back, and stores what must be remembered: alerts, which are
//! raised once per signal and then acknowledged and closed with a verdict,
//! and each county's daily risk level.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::json;

use fangkong_analytics::aberration::{self, Assessment, Ears, EarsMethod, MovingPercentile};
use fangkong_analytics::epicurve::{moving_average, Alignment};
pub use fangkong_analytics::forecast::Method as ForecastMethod;
use fangkong_analytics::forecast::{
    self as fc, bed_demand, BedCategory, BedModel, Cases, DaySummary, Dispersion, ForecastSettings,
    LengthOfStay, Offspring,
};
use fangkong_analytics::growth::{self, ConfidenceLevel, DoublingTime};
use fangkong_analytics::risk::{self, CountyDay, RiskRules, Tally};
pub use fangkong_analytics::rt::RtConfig;
use fangkong_analytics::rt::{self, Incidence, TooUncertain};
use fangkong_analytics::serial_interval::SerialInterval;
use fangkong_domain::alert::{AlertMethod, AlertStatus, AlertVerdict};
use fangkong_domain::form::{FieldKind, Form};
use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_domain::report::now_millis;
use fangkong_domain::FieldError;
use fangkong_store::{Alert, AlertFilter, DayFigure, RiskChange, RiskRow};

use crate::audit::append_audit;
use crate::reports::epoch;
use crate::{Principal, Result, Service, ServiceError};
use fangkong_domain::policy::Action;

/// The form and field the epidemiological methods read by default.
pub const CASES_FORM: &str = "epidemic";
pub const CASES_FIELD: &str = "new_confirmed";

/// A serial interval as a caller gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum SiSpec {
    /// A gamma distribution (mean, sd in days), discretised as EpiEstim does.
    Gamma { mean: f64, sd: f64 },
    /// Daily weights from day 0 (which must be 0).
    Discrete(Vec<f64>),
}

impl Default for SiSpec {
    /// COVID-19: mean 4.7 days, sd 2.9 (Nishiura, Linton & Akhmetzhanov,
    /// Int J Infect Dis 2020;93:284–286).
    fn default() -> Self {
        SiSpec::Gamma { mean: 4.7, sd: 2.9 }
    }
}

impl SiSpec {
    pub fn parse(&self) -> Result<SerialInterval> {
        match self {
            SiSpec::Gamma { mean, sd } => SerialInterval::gamma(*mean, *sd)
                .map_err(|e| FieldError::new("si_mean", e.to_string()).into()),
            SiSpec::Discrete(w) => SerialInterval::discrete(w)
                .map_err(|e| FieldError::new("si_file", e.to_string()).into()),
        }
    }
}

/// A region's daily counts of one field, one value per day of `[from, to]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySeries {
    pub region: Region,
    pub form: String,
    pub field: String,
    pub from: NaiveDate,
    /// Days without a figure count as 0 here; `reported` says which had one.
    pub counts: Vec<i64>,
    pub reported: Vec<bool>,
}

impl DailySeries {
    pub fn date(&self, i: usize) -> NaiveDate {
        self.from + Duration::days(i as i64)
    }
}

/// One day of an epidemic curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveDay {
    pub date: NaiveDate,
    pub count: i64,
    /// Whether a figure was filed (or rolled up) for the day.
    pub reported: bool,
    /// The 7-day trailing average (from the 7th day on).
    pub average7: Option<f64>,
    pub cumulative: i64,
}

/// One Rt window, dated by its last day.
#[derive(Debug, Clone, PartialEq)]
pub struct RtRow {
    pub start: NaiveDate,
    pub date: NaiveDate,
    pub cases: u64,
    pub mean: f64,
    pub sd: f64,
    pub median: f64,
    pub q025: f64,
    pub q975: f64,
    /// Why the estimate should not be shown, if it should not.
    pub too_uncertain: Option<&'static str>,
}

/// The exponential growth rate over a window, with its doubling or halving time.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthReport {
    pub region: Region,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub cases: i64,
    /// Per day, with its confidence interval.
    pub rate: f64,
    pub lower: f64,
    pub upper: f64,
    pub level: f64,
    /// `doubling`, `halving` or `flat`.
    pub trend: &'static str,
    /// Days, with the interval (`upper` is `None` when the rate's interval reaches 0).
    pub time: Option<f64>,
    pub time_lower: Option<f64>,
    pub time_upper: Option<f64>,
}

/// One forecast day: the mean, the median and central prediction intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub mean: f64,
    pub median: f64,
    pub lower50: f64,
    pub upper50: f64,
    pub lower90: f64,
    pub upper90: f64,
    pub lower95: f64,
    pub upper95: f64,
}

impl From<&DaySummary> for Band {
    fn from(d: &DaySummary) -> Self {
        Band {
            mean: d.mean,
            median: d.median,
            lower50: d.p50.lower(),
            upper50: d.p50.upper(),
            lower90: d.p90.lower(),
            upper90: d.p90.upper(),
            lower95: d.p95.lower(),
            upper95: d.p95.upper(),
        }
    }
}

/// Daily new confirmed cases and occupied beds forecast after `origin`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastReport {
    pub region: Region,
    /// The last day of data the forecast starts from.
    pub origin: NaiveDate,
    pub method: ForecastMethod,
    pub days: Vec<(NaiveDate, Band)>,
    /// Beds occupied by confirmed cases (all are admitted, 应收尽收), per day.
    pub beds: Vec<(NaiveDate, Band)>,
    /// Beds occupied at the origin: confirmed cases not yet discharged or dead.
    pub beds_today: i64,
}

/// What a run of the aberration methods did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertRun {
    /// Series examined (regions × fields × methods).
    pub series: usize,
    pub raised: usize,
    pub extended: usize,
}

/// The risk levels of the counties in a region on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskReport {
    pub region: Region,
    pub date: NaiveDate,
    pub tally: Tally,
    pub levels: Vec<(RiskRow, String)>,
    pub changes: Vec<(RiskChange, String)>,
}

/// Days of history the daily alert run reads when no earlier years exist.
const RECENT_DAYS: i64 = 60;
/// Alarm days at most this many days apart are one signal.
const MERGE_GAP: usize = 1;
/// Days judged before the first day of a run, to find where its signals began.
const LOOK_BACK: usize = 14;

impl Service {
    /// A region's daily counts of one field over `[from, to]`.
    pub async fn daily_series(
        &self,
        who: &Principal,
        region_code: &str,
        form: &str,
        field: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<DailySeries> {
        let region = self
            .region_for(who, Action::ReadAnalytics, region_code)
            .await?;
        self.series_of(region, form, field, from, to).await
    }

    async fn series_of(
        &self,
        region: Region,
        form: &str,
        field: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<DailySeries> {
        check_period(from, to)?;
        let figures = self.store.figures(form, &region.code, from, to).await?;
        self.dense_series(region, form, field, from, to, &figures)
    }

    /// The series of a region from its first figure up to `to` (one day,
    /// unreported, when it has none): one read of the whole history.
    async fn history_of(
        &self,
        region: Region,
        form: &str,
        field: &str,
        to: NaiveDate,
    ) -> Result<DailySeries> {
        let figures = self.store.figures(form, &region.code, epoch(), to).await?;
        let first = figures.first().map_or(to, |f| f.date);
        self.dense_series(region, form, field, first, to, &figures)
    }

    /// One field of `figures` (dated within `[from, to]`) as a dense daily series.
    fn dense_series(
        &self,
        region: Region,
        form: &str,
        field: &str,
        from: NaiveDate,
        to: NaiveDate,
        figures: &[DayFigure],
    ) -> Result<DailySeries> {
        let (form, index) = self.field_of(form, field)?;
        let days = day_count(from, to);
        let mut counts = vec![0; days];
        let mut reported = vec![false; days];
        for f in figures {
            let i = day_count(from, f.date) - 1;
            counts[i] = f.values.get(index);
            reported[i] = true;
        }
        Ok(DailySeries {
            region,
            form: form.name.clone(),
            field: field.to_owned(),
            from,
            counts,
            reported,
        })
    }

    fn field_of(&self, form: &str, field: &str) -> Result<(&Form, usize)> {
        let form = self.form(form)?;
        let index = form.field_index(field).ok_or_else(|| {
            FieldError::new(
                "field",
                format!(
                    "form {} has no field {field} (it has {})",
                    form.name,
                    form.field_list()
                ),
            )
        })?;
        Ok((form, index))
    }

    /// The epidemic curve of a region: daily counts, 7-day averages, cumulative.
    pub async fn curve(
        &self,
        who: &Principal,
        region_code: &str,
        form: &str,
        field: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CurveDay>> {
        let region = self
            .region_for(who, Action::ReadAnalytics, region_code)
            .await?;
        // Six days before `from`, so the first day shown has its average.
        let series = self
            .series_of(region, form, field, from - Duration::days(6), to)
            .await?;
        let before = self
            .store
            .figures(
                &series.form,
                &series.region.code,
                epoch(),
                from - Duration::days(7),
            )
            .await?;
        let (_, index) = self.field_of(form, field)?;
        let mut cumulative: i64 = before.iter().map(|f| f.values.get(index)).sum();
        let averages = moving_average(&series.counts, Alignment::Trailing);
        let mut out = Vec::with_capacity(series.counts.len());
        for (i, &count) in series.counts.iter().enumerate() {
            cumulative += count;
            if i >= 6 {
                out.push(CurveDay {
                    date: series.date(i),
                    count,
                    reported: series.reported[i],
                    average7: averages[i],
                    cumulative,
                });
            }
        }
        Ok(out)
    }

    /// Rt by Cori et al. (2013) over the region's daily new confirmed cases,
    /// one row per window whose last day lies in `[from, to]`. The whole
    /// history before `from` counts towards the infectiousness.
    pub async fn rt(
        &self,
        who: &Principal,
        region_code: &str,
        from: NaiveDate,
        to: NaiveDate,
        si: &SiSpec,
        config: &RtConfig,
    ) -> Result<Vec<RtRow>> {
        check_period(from, to)?;
        let si = si.parse()?;
        let region = self
            .region_for(who, Action::ReadAnalytics, region_code)
            .await?;
        let series = self.history_of(region, CASES_FORM, CASES_FIELD, to).await?;
        let local: Vec<u32> = series
            .counts
            .iter()
            .map(|&c| u32::try_from(c.max(0)).unwrap_or(u32::MAX))
            .collect();
        let estimates = rt::estimate_r(Incidence::local_only(&local), &si, config);
        Ok(estimates
            .into_iter()
            .map(|e| RtRow {
                start: series.date(e.t_start),
                date: series.date(e.t_end),
                cases: e.local_cases,
                mean: e.mean,
                sd: e.sd,
                median: e.median,
                q025: e.q025,
                q975: e.q975,
                too_uncertain: e.too_uncertain.map(uncertain_reason),
            })
            .filter(|r| r.date >= from && r.date <= to)
            .collect())
    }

    /// The exponential growth rate of daily new confirmed cases over `[from, to]`.
    pub async fn growth(
        &self,
        who: &Principal,
        region_code: &str,
        from: NaiveDate,
        to: NaiveDate,
        level: f64,
    ) -> Result<GrowthReport> {
        let level =
            ConfidenceLevel::new(level).map_err(|e| FieldError::new("level", e.to_string()))?;
        let series = self
            .daily_series(who, region_code, CASES_FORM, CASES_FIELD, from, to)
            .await?;
        let counts: Vec<f64> = series.counts.iter().map(|&c| c as f64).collect();
        let g = growth::growth_rate(&counts, level).map_err(|e| {
            FieldError::new("from", format!("no growth rate over {from}…{to}: {e}"))
        })?;
        let (trend, time) = match g.doubling_time() {
            DoublingTime::Doubling(t) => ("doubling", Some(t)),
            DoublingTime::Halving(t) => ("halving", Some(t)),
            DoublingTime::Flat => ("flat", None),
        };
        Ok(GrowthReport {
            region: series.region,
            from,
            to,
            cases: series.counts.iter().sum(),
            rate: g.r,
            lower: g.lower,
            upper: g.upper,
            level: level.get(),
            trend,
            time: time.map(|t| t.days),
            time_lower: time.map(|t| t.lower),
            time_upper: time.and_then(|t| t.upper),
        })
    }

    /// Forecast daily new confirmed cases `horizon` days after `origin`, and
    /// the beds they will occupy. The default method is the ensemble of a
    /// renewal projection whose R reverts to 1 and last week's average
    /// carried forward (see `fangkong_analytics::forecast`); offspring are
    /// negative binomial with k = 0.58 (Bi et al., Lancet Infect Dis 2020).
    ///
    /// Beds: every confirmed case is admitted on the day it is reported (in
    /// China from February 2020, 应收尽收), 81% mild, 14% severe, 5% critical
    /// (Wu & McGoogan, JAMA 2020;323:1239), staying 14, 21 and 28 days; the
    /// cases in hospital at the origin are split in the same proportions.
    #[allow(clippy::too_many_arguments)]
    pub async fn forecast(
        &self,
        who: &Principal,
        region_code: &str,
        origin: NaiveDate,
        horizon: usize,
        paths: usize,
        si: &SiSpec,
        method: ForecastMethod,
    ) -> Result<ForecastReport> {
        let si = si.parse()?;
        let settings = ForecastSettings::new(horizon, paths)
            .map_err(|e| FieldError::new("horizon", e.to_string()))?
            .keeping_paths()
            .with_method(method)
            .with_offspring(Offspring::NegativeBinomial(
                Dispersion::new(0.58)
                    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?,
            ));
        let region = self
            .region_for(who, Action::ReadAnalytics, region_code)
            .await?;
        let series = self
            .history_of(region.clone(), CASES_FORM, CASES_FIELD, origin)
            .await?;
        if series.reported.iter().all(|r| !r) {
            return Err(FieldError::new(
                "region",
                format!("{} has no epidemic reports up to {origin}", region.code),
            )
            .into());
        }
        let local: Vec<f64> = series.counts.iter().map(|&c| c.max(0) as f64).collect();
        let seed = region
            .code
            .as_str()
            .parse::<u64>()
            .unwrap_or(0)
            .wrapping_mul(1_000_003)
            ^ u64::try_from(origin.num_days_from_ce()).unwrap_or(0);
        let projection = fc::forecast(
            Cases::local_only(&local),
            &si,
            &RtConfig::default(),
            &settings,
            seed,
        )
        .map_err(|e| FieldError::new("date", format!("no forecast from {origin}: {e}")))?;

        let (form, _) = self.field_of(CASES_FORM, CASES_FIELD)?;
        let figures = self
            .figures_of(&form.name.clone(), region.clone(), origin)
            .await?;
        let named = |name: &str| {
            form.field_index(name)
                .map_or(0, |i| figures.cumulative.get(i))
        };
        let beds_today =
            (named("new_confirmed") - named("new_deaths") - named("new_recovered")).max(0);
        let mut beds = Vec::new();
        if let Some(sample) = &projection.paths {
            let mut categories = Vec::new();
            for (fraction, stay) in [(0.81, 14), (0.14, 21), (0.05, 28)] {
                let stay = LengthOfStay::fixed(stay)
                    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
                categories.push(
                    BedCategory::new(fraction, stay, fraction * beds_today as f64)
                        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?,
                );
            }
            let model = BedModel::new(categories)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
            beds = bed_demand(sample, &model)
                .total
                .iter()
                .enumerate()
                .map(|(h, d)| (origin + Duration::days(h as i64 + 1), Band::from(d)))
                .collect();
        }
        Ok(ForecastReport {
            region,
            origin,
            method: projection.method,
            days: projection
                .days
                .iter()
                .enumerate()
                .map(|(h, d)| (origin + Duration::days(h as i64 + 1), Band::from(d)))
                .collect(),
            beds,
            beds_today,
        })
    }

    /// Run the aberration methods over every county below `region_code` for
    /// each day of `[from, to]` in turn, on each watched field of each form.
    /// A signal (alarm days at most [`MERGE_GAP`] apart, by any method)
    /// raises one alert, which later days of the same signal extend; the
    /// alert lists every method that flagged it.
    pub async fn run_alerts(
        &self,
        who: &Principal,
        region_code: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<AlertRun> {
        check_period(from, to)?;
        if (to - from).num_days() > 366 {
            return Err(
                FieldError::new("from", "the alerts run over at most a year at once").into(),
            );
        }
        let root = self.region_for(who, Action::RunAlerts, region_code).await?;
        let mut run = AlertRun::default();
        for form in self.forms.clone() {
            let r = self.run_form_alerts(who, &root, &form, from, to).await?;
            run.series += r.series;
            run.raised += r.raised;
            run.extended += r.extended;
        }
        Ok(run)
    }

    // The day index `t` reads several parallel per-method series at once.
    #[allow(clippy::needless_range_loop)]
    async fn run_form_alerts(
        &self,
        who: &Principal,
        root: &Region,
        form: &Form,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<AlertRun> {
        let fields: Vec<(usize, &str)> = form
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.watch && f.kind == FieldKind::Additive)
            .map(|(i, f)| (i, f.name.as_str()))
            .collect();
        if fields.is_empty() {
            return Ok(AlertRun::default());
        }
        let cidars = MovingPercentile::cidars();
        // Earlier years give the CIDARS baseline; a new disease has only the recent past.
        let years_back = first - Duration::days(cidars.required_history() as i64);
        let has_years = !self
            .store
            .figures(
                &form.name,
                &root.code,
                years_back,
                years_back + Duration::days(14),
            )
            .await?
            .is_empty();
        let (percentile, from) = if has_years {
            (cidars, years_back)
        } else {
            (
                MovingPercentile::recent(),
                first - Duration::days(RECENT_DAYS),
            )
        };
        let rows = self
            .store
            .level_figures(&form.name, &root.path, Level::County, from, last)
            .await?;
        let days = day_count(from, last);
        let first_index = day_count(from, first) - 1;
        let detectors = detectors(percentile);

        // The latest alert of each field and region, to extend.
        let mut latest: HashMap<(String, RegionCode), Alert> = HashMap::new();
        let mut tx = self.store.begin().await?;
        let since = first - Duration::days(MERGE_GAP as i64 + 1);
        for a in tx.alerts_since(&form.name, since).await? {
            let key = (a.field.clone(), a.region.clone());
            if latest.get(&key).is_none_or(|b| b.last_day < a.last_day) {
                latest.insert(key, a);
            }
        }

        let mut run = AlertRun::default();
        let now = now_millis();
        for (region, figures) in group_by_region(&rows) {
            for &(index, field) in &fields {
                let counts = dense(figures, from, days, index);
                run.series += 1;
                let assessed: Vec<Vec<Option<Assessment>>> = detectors
                    .iter()
                    .map(|(_, d)| d.run_from(&counts, first_index.saturating_sub(LOOK_BACK)))
                    .collect();
                let signals: Vec<Vec<aberration::Signal>> = assessed
                    .iter()
                    .map(|a| aberration::signals(a, MERGE_GAP))
                    .collect();
                for t in first_index..days {
                    let day = from + Duration::days(t as i64);
                    // Each method whose signal reaches today.
                    let firing: Vec<(usize, aberration::Signal)> = signals
                        .iter()
                        .enumerate()
                        .filter_map(|(m, s)| s.iter().find(|s| s.last == t).map(|s| (m, *s)))
                        .collect();
                    let Some(&(lead, _)) = firing.first() else {
                        continue;
                    };
                    let signal_first = firing.iter().map(|(_, s)| s.first).min().unwrap_or(t);
                    let (method, detector) = &detectors[lead];
                    let Some(today) = assessed[lead][t] else {
                        continue;
                    };
                    let methods: Vec<AlertMethod> =
                        firing.iter().map(|(m, _)| detectors[*m].0).collect();
                    let key = (field.to_owned(), region.clone());
                    let first_day = from + Duration::days(signal_first as i64);
                    match latest.get_mut(&key) {
                        // The same signal seen again, or going on: extend it.
                        Some(old) if old.last_day >= first_day - Duration::days(1) => {
                            if old.last_day >= day {
                                continue;
                            }
                            old.last_day = day;
                            for m in methods {
                                if !old.methods.contains(&m) {
                                    old.methods.push(m);
                                }
                            }
                            // The figures of the strongest day so far.
                            if today.statistic - today.threshold > old.statistic - old.threshold {
                                old.method = *method;
                                old.observed = detector.observed(&counts, t);
                                old.expected = detector.expected(&counts, t, &today);
                                old.statistic = today.statistic;
                                old.threshold = today.threshold;
                            }
                            old.updated_at = now;
                            tx.extend_alert(old).await?;
                            run.extended += 1;
                        }
                        _ => {
                            let mut alert = Alert {
                                id: 0,
                                form: form.name.clone(),
                                field: field.to_owned(),
                                region: region.clone(),
                                method: *method,
                                methods,
                                first_day,
                                last_day: day,
                                observed: detector.observed(&counts, t),
                                expected: detector.expected(&counts, t, &today),
                                statistic: today.statistic,
                                threshold: today.threshold,
                                status: AlertStatus::Open,
                                verdict: None,
                                note: String::new(),
                                raised_at: now,
                                updated_at: now,
                                acknowledged_by: None,
                                closed_by: None,
                            };
                            alert.id = tx.insert_alert(&alert).await?;
                            latest.insert(key, alert);
                            run.raised += 1;
                        }
                    }
                }
            }
        }
        append_audit(
            tx.as_mut(),
            &who.username,
            "alerts.run",
            "alerts",
            &format!("alerts/{}/{}/{first}/{last}", form.name, root.code),
            None,
            Some(json!({ "series": run.series, "raised": run.raised, "extended": run.extended })),
        )
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    /// The daily run over the whole country, as the program itself: the
    /// alerts for `day` and the counties' risk levels for `day` and the day
    /// before (late reports change yesterday's figures).
    pub async fn daily_assessment(&self, day: NaiveDate) -> Result<(AlertRun, usize)> {
        let system = self.system().await?;
        let nation = self.nation().await?;
        let code = nation.code.to_string();
        let run = self.run_alerts(&system, &code, day, day).await?;
        let assessed = self
            .assess_risk(&system, &code, day - Duration::days(1), day)
            .await?;
        Ok((run, assessed))
    }

    /// Alerts in a region's subtree (the unit responsible and every level above see them).
    pub async fn alerts(
        &self,
        who: &Principal,
        region_code: &str,
        statuses: Vec<AlertStatus>,
        since: Option<NaiveDate>,
        limit: u32,
    ) -> Result<Vec<Alert>> {
        let region = self
            .region_for(who, Action::ReadAlerts, region_code)
            .await?;
        Ok(self
            .store
            .alerts(&AlertFilter {
                path: region.path,
                statuses,
                since,
                limit: limit.clamp(1, 10_000),
            })
            .await?)
    }

    /// Acknowledge an open alert: someone responsible has seen it.
    pub async fn acknowledge_alert(&self, who: &Principal, id: i64, note: &str) -> Result<Alert> {
        self.set_alert(who, id, AlertStatus::Acknowledged, None, note)
            .await
    }

    /// Close an alert with a verdict, so each method's precision can be measured.
    pub async fn close_alert(
        &self,
        who: &Principal,
        id: i64,
        verdict: AlertVerdict,
        note: &str,
    ) -> Result<Alert> {
        self.set_alert(who, id, AlertStatus::Closed, Some(verdict), note)
            .await
    }

    async fn set_alert(
        &self,
        who: &Principal,
        id: i64,
        status: AlertStatus,
        verdict: Option<AlertVerdict>,
        note: &str,
    ) -> Result<Alert> {
        who.require(Action::HandleAlerts)?;
        let alert = self
            .store
            .alert(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("alert {id}")))?;
        // Out of jurisdiction reads as not found: no hint that it exists.
        let region = self.region(alert.region.as_str()).await?;
        if !who.covers(&region) {
            return Err(ServiceError::NotFound(format!("alert {id}")));
        }
        match (alert.status, status) {
            (AlertStatus::Closed, _) => {
                return Err(ServiceError::Conflict(format!(
                    "alert {id} is closed already"
                )))
            }
            (AlertStatus::Acknowledged, AlertStatus::Acknowledged) => {
                return Err(ServiceError::Conflict(format!(
                    "alert {id} is acknowledged already"
                )))
            }
            _ => {}
        }
        let note = note.trim();
        let mut tx = self.store.begin().await?;
        let at = now_millis();
        tx.set_alert_status(id, status, verdict, note, &who.username, at)
            .await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            if status == AlertStatus::Closed {
                "alert.close"
            } else {
                "alert.acknowledge"
            },
            "alert",
            &format!("alert/{id}"),
            Some(json!({ "status": alert.status.name() })),
            Some(json!({
                "status": status.name(),
                "verdict": verdict.map(AlertVerdict::name),
                "note": note,
            })),
        )
        .await?;
        tx.commit().await?;
        self.store
            .alert(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("alert {id}")))
    }

    /// Decide and store the risk level of every county below `region_code`
    /// for each day of `[from, to]` (the rules' defaults: 14 days, 50 cases).
    /// Clusters come from the line list; until a region has one, none is known.
    pub async fn assess_risk(
        &self,
        who: &Principal,
        region_code: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<usize> {
        check_period(from, to)?;
        let root = self.region_for(who, Action::RunAlerts, region_code).await?;
        let (form, index) = self.field_of(CASES_FORM, CASES_FIELD)?;
        let rules = RiskRules::default();
        let start = from - Duration::days(rules.window_days() as i64);
        let rows = self
            .store
            .level_figures(&form.name, &root.path, Level::County, epoch(), to)
            .await?;
        let by_region: HashMap<&RegionCode, &[(RegionCode, DayFigure)]> =
            group_by_region(&rows).into_iter().collect();
        let counties = self
            .store
            .regions_at_level(&root.path, Level::County)
            .await?;
        let days = day_count(start, to);
        let skip = day_count(start, from) - 1;
        let clusters = self.cluster_days(&root.path, start, to).await?;
        let mut out = Vec::with_capacity(counties.len() * (days - skip));
        for county in &counties {
            let figures = by_region.get(&county.code).copied().unwrap_or(&[]);
            let before: i64 = figures
                .iter()
                .filter(|(_, f)| f.date < start)
                .map(|(_, f)| f.values.get(index).max(0))
                .sum();
            let counts = dense(figures, start, days, index);
            let cluster_days = clusters.get(&county.code);
            let county_days: Vec<CountyDay> = counts
                .iter()
                .enumerate()
                .map(|(i, &c)| CountyDay {
                    new_confirmed: c as i64,
                    cluster: cluster_days
                        .is_some_and(|d| d.contains(&(start + Duration::days(i as i64)))),
                })
                .collect();
            for (i, d) in risk::levels(&county_days, before, &rules)
                .into_iter()
                .enumerate()
                .skip(skip)
            {
                out.push(RiskRow {
                    region: county.code.clone(),
                    date: start + Duration::days(i as i64),
                    level: d.level,
                    new_in_window: d.facts.new_in_window,
                    cumulative: d.facts.cumulative,
                    cluster: d.facts.cluster_in_window,
                });
            }
        }
        let mut tx = self.store.begin().await?;
        tx.put_risk_levels(&out).await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "risk.assess",
            "risk",
            &format!("risk/{}/{from}/{to}", root.code),
            None,
            Some(json!({ "counties": counties.len(), "rows": out.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(out.len())
    }

    /// The counties' risk levels below a region on a day, counted per level,
    /// with the changes of the 30 days up to it.
    pub async fn risk(
        &self,
        who: &Principal,
        region_code: &str,
        date: NaiveDate,
    ) -> Result<RiskReport> {
        let region = self
            .region_for(who, Action::ReadAnalytics, region_code)
            .await?;
        let rows = self.store.risk_levels_on(&region.path, date).await?;
        let changes = self
            .store
            .risk_changes(&region.path, date - Duration::days(30), date, 500)
            .await?;
        let mut codes: Vec<RegionCode> = rows.iter().map(|r| r.region.clone()).collect();
        codes.extend(changes.iter().map(|c| c.row.region.clone()));
        codes.sort();
        codes.dedup();
        let names: HashMap<RegionCode, String> = self
            .store
            .regions(&codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
        let name = |c: &RegionCode| names.get(c).cloned().unwrap_or_default();
        Ok(RiskReport {
            tally: risk::tally(rows.iter().map(|r| r.level)),
            levels: rows
                .into_iter()
                .map(|r| {
                    let n = name(&r.region);
                    (r, n)
                })
                .collect(),
            changes: changes
                .into_iter()
                .map(|c| {
                    let n = name(&c.row.region);
                    (c, n)
                })
                .collect(),
            region,
            date,
        })
    }
}

/// The forecast methods' names, as callers spell them.
pub const FORECAST_METHODS: [(&str, ForecastMethod); 5] = [
    ("ensemble", ForecastMethod::Ensemble),
    ("damped", ForecastMethod::DampedGrowth),
    ("renewal", ForecastMethod::Renewal),
    ("trend", ForecastMethod::DampedTrend),
    ("baseline", ForecastMethod::Baseline),
];

pub fn forecast_method(name: &str) -> Result<ForecastMethod> {
    FORECAST_METHODS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
        .ok_or_else(|| {
            FieldError::new(
                "method",
                format!("{name:?} is not ensemble, damped, renewal, trend or baseline"),
            )
            .into()
        })
}

pub fn forecast_method_name(method: ForecastMethod) -> &'static str {
    FORECAST_METHODS
        .iter()
        .find(|(_, m)| *m == method)
        .map_or("ensemble", |(n, _)| n)
}

fn uncertain_reason(t: TooUncertain) -> &'static str {
    match t {
        TooUncertain::BeforeOneMeanSi => "window ends within one mean serial interval",
        TooUncertain::InfectivityBelowPrior => "too little infectiousness before the window",
        TooUncertain::PosteriorCv => "too few cases in the window",
    }
}

/// A period is refused when it ends before it starts.
fn check_period(from: NaiveDate, to: NaiveDate) -> Result<()> {
    if from > to {
        return Err(FieldError::new("from", format!("{from} is after to ({to})")).into());
    }
    Ok(())
}

/// Days in `[from, to]` (1 when `from == to`).
fn day_count(from: NaiveDate, to: NaiveDate) -> usize {
    usize::try_from((to - from).num_days() + 1).unwrap_or(0)
}

/// Rows ordered by region, grouped.
fn group_by_region(
    rows: &[(RegionCode, DayFigure)],
) -> Vec<(&RegionCode, &[(RegionCode, DayFigure)])> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=rows.len() {
        if i == rows.len() || rows[i].0 != rows[start].0 {
            out.push((&rows[start].0, &rows[start..i]));
            start = i;
        }
    }
    out
}

/// One field of a region's figures as a dense daily series from `from`.
fn dense(
    figures: &[(RegionCode, DayFigure)],
    from: NaiveDate,
    days: usize,
    index: usize,
) -> Vec<f64> {
    let mut counts = vec![0.0; days];
    for (_, f) in figures {
        if let Ok(i) = usize::try_from((f.date - from).num_days()) {
            if i < days {
                counts[i] = f.values.get(index) as f64;
            }
        }
    }
    counts
}

/// One method of the run.
enum Detector {
    Ears(Ears),
    Percentile(MovingPercentile),
}

/// The methods of the run, the one that leads an alert first. EARS takes a
/// minimum sigma of 1 case, as Burkom suggests for sparse counts (the R
/// package `surveillance`, `earsC`): without it one case after a week of
/// zeros is an infinite z-score, and every county with a first case alarms
/// on every method — the case itself is reported anyway.
fn detectors(percentile: MovingPercentile) -> Vec<(AlertMethod, Detector)> {
    let ears = |m| {
        let e = Ears::new(m);
        Detector::Ears(e.with_min_sigma(1.0).unwrap_or(e))
    };
    vec![
        (AlertMethod::Cidars, Detector::Percentile(percentile)),
        (AlertMethod::EarsC3, ears(EarsMethod::C3)),
        (AlertMethod::EarsC2, ears(EarsMethod::C2)),
        (AlertMethod::EarsC1, ears(EarsMethod::C1)),
    ]
}

impl Detector {
    /// Assessments from day `start` on (earlier days are `None`).
    fn run_from(&self, counts: &[f64], start: usize) -> Vec<Option<Assessment>> {
        let mut out = vec![None; counts.len()];
        for (t, slot) in out.iter_mut().enumerate().skip(start) {
            *slot = match self {
                Detector::Ears(e) => e.assess(counts, t),
                Detector::Percentile(p) => p.assess(counts, t),
            };
        }
        out
    }

    /// What was observed on day `t`: the day's count, or the window's for the percentile method.
    fn observed(&self, counts: &[f64], t: usize) -> f64 {
        match self {
            Detector::Ears(_) => counts[t],
            Detector::Percentile(p) => {
                let w = p.window_days().min(t + 1);
                counts[t + 1 - w..=t].iter().sum()
            }
        }
    }

    /// What the baseline expected on day `t`: its mean for EARS, the
    /// percentile itself for the moving percentile method.
    fn expected(&self, counts: &[f64], t: usize, a: &Assessment) -> f64 {
        match self {
            Detector::Ears(e) => {
                let guard = match e.method() {
                    EarsMethod::C1 => 0,
                    EarsMethod::C2 | EarsMethod::C3 => 2,
                };
                let end = t.saturating_sub(guard);
                let start = end.saturating_sub(e.baseline_days());
                let base = &counts[start..end];
                if base.is_empty() {
                    0.0
                } else {
                    base.iter().sum::<f64>() / base.len() as f64
                }
            }
            Detector::Percentile(_) => a.threshold,
        }
    }
}
