//! Aberration detection over daily counts: EARS C1, C2, C3 and the moving
//! percentile method of China's CIDARS; grouping alarm days into signals.
//!
//! Every method looks at one series of daily counts (`&[f64]`, index = day)
//! and, for a day `t`, compares what was seen with a baseline taken from
//! earlier days only. [`Ears::assess`] and [`MovingPercentile::assess`] judge
//! one day (the daily run needs only the recent history); `run` judges every
//! day of a series. A day is `None` when it cannot be judged: too little
//! history before it, or a non-finite value (NaN, ±∞) in the data it needs.
//! Counts are taken as given; missing reports must be filled by the caller.
//!
//! # EARS C1, C2, C3
//!
//! The CDC's Early Aberration Reporting System (Hutwagner L, Thompson W,
//! Seeman GM, Treadwell T. *The bioterrorism preparedness and response Early
//! Aberration Reporting System (EARS)*. J Urban Health 2003;80(2 Suppl
//! 1):i89–i96; Fricker RD, Hegler BL, Dunfee DA. *Comparing syndromic
//! surveillance detection methods: EARS' versus a CUSUM-based methodology*.
//! Stat Med 2008;27:3407–3429). With `b` baseline days (default 7), the
//! baseline mean Ȳ and the sample standard deviation S (denominator `b − 1`,
//! as R's `sd`):
//!
//! - **C1** (MILD): baseline days `t−b … t−1`; `C1(t) = (Y(t) − Ȳ₁) / S₁`.
//! - **C2** (MEDIUM): baseline days `t−b−2 … t−3` (a 2-day guard band keeps
//!   the start of an outbreak out of its own baseline); `C2(t) = (Y(t) − Ȳ₂) / S₂`.
//! - **C3** (HIGH): `C3(t) = Σ_{i=0}^{2} max(0, C2(t−i) − 1)`, which
//!   accumulates moderate excesses over three days.
//!
//! A day alarms when the statistic is **strictly greater** than the threshold:
//! 3 for C1 and C2, 2 for C3 (Hutwagner et al. 2003). The first day that can be
//! judged is `t = b` for C1, `b + 2` for C2 and `b + 4` for C3.
//!
//! The details follow the R package `surveillance`, function `earsC`
//! (R/earsC.R and man/earsC.Rd, read from the CRAN mirror), which cites
//! Fricker et al. 2008:
//!
//! - The standard deviation is R's `sd` (n − 1), and the baseline must have at
//!   least 3 days.
//! - `surveillance` states the threshold as `z₁₋α = qnorm(1 − α)`, a quantile
//!   of the **standard normal** (not of Student's t): α = 0.001 (z ≈ 3.090)
//!   for C1 and C2 and α = 0.025 (z ≈ 1.960) for C3 by default. Our defaults
//!   are Hutwagner's round 3 / 3 / 2; pass 3.090 or 1.960 to
//!   [`Ears::with_threshold`] to reproduce the package.
//! - **A baseline with S = 0.** The sigma used is `σ = max(S, min_sigma)` with
//!   `min_sigma = 0` by default, as in `surveillance` (whose documentation
//!   notes Howard Burkom's suggestion of 0.5 or 1 for sparse data). With
//!   σ = 0 the package's upper bound `Ȳ + z·σ` equals the baseline value, so
//!   *any* count above a constant baseline alarms and a count equal to it does
//!   not. We keep that rule and report the statistic as `+∞` (above), `0`
//!   (equal) or `−∞` (below): a county with seven days of zero cases and then
//!   one case alarms under C1, C2 and C3. A baseline whose values are all
//!   equal has S = 0 exactly (its sums run over deviations from its first
//!   value).
//! - **C3 differs from the package's code.** The code read computes the C3
//!   upper bound as `Y(t) + S₂(z − Σ_{i=1}^{2} max(0, C2(t−i) − 1))`, so its
//!   alarm depends only on the two previous days. We follow the published
//!   statistic above (Hutwagner 2003, Fricker 2008 and the package's own
//!   documentation), in which today's C2 counts too.
//!
//! # The moving percentile method (CIDARS)
//!
//! The China Infectious Disease Automated-alert and Response System has run
//! this method for notifiable diseases at county level since 2008 (Yang W, Li
//! Z, Lan Y, et al. *A nationwide web-based automated system for early
//! outbreak detection and rapid response in China*. Western Pac Surveill
//! Response J 2011;2(1):10–15). The count over the current moving window (the
//! 7 days ending today) is compared with the P-th percentile of the counts in
//! the same-length windows of a baseline; a day alarms when the current count
//! is strictly greater than that percentile, so a window without cases never
//! alarms. Two baselines are offered ([`Baseline`]); the caller picks
//! whichever its data allow ([`MovingPercentile::required_history`]):
//!
//! - [`Baseline::Historical`], the CIDARS baseline: in each of the previous
//!   `years` years, the window at the same time of year and the `adjacent`
//!   windows immediately before and after it. The defaults (3 years, 1
//!   adjacent window each side: 3 × 3 = 9 windows, 365-day years, P80) follow
//!   the description we were given of CIDARS; we could not read the
//!   specification itself. Other studies of the method use five windows per
//!   year (`adjacent = 2`): Wang R et al., BMC Public Health 2017,
//!   doi:10.1186/s12889-017-4488-0, "moving window [5 week × 5 year]", chose
//!   per-disease thresholds among P40–P95 (P75 or P80 for five of six
//!   diseases, P45 for rubella). Both are a configuration away. A year is
//!   `year_days` days (365: a leap day shifts the comparison by one day).
//! - [`Baseline::Recent`], for a new disease without earlier years (COVID-19
//!   in 2020): the `windows` consecutive windows that end before the current
//!   one, skipping a guard band of `guard_days` so that the first days of a
//!   rising outbreak do not raise their own baseline. Defaults: 4 windows of 7
//!   days after a 7-day guard band (41 days of history before the day
//!   judged). This variant is our adaptation, not part of CIDARS.
//!
//! The percentile is R's default, `quantile(type = 7)` (Hyndman & Fan 1996,
//! definition 7): for sorted values `x₀ ≤ … ≤ x_{n−1}` and `p ∈ [0, 1]`,
//! `h = (n − 1)p`, `Q(p) = x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋₊₁ − x_⌊h⌋)`. CIDARS'
//! own percentile definition is not documented in what we could read.
//!
//! # Signals
//!
//! An alert is raised once per signal, not once per alarm day: [`signals`]
//! groups consecutive alarm days (optionally bridging short gaps) into one
//! [`Signal`] with its first, last and peak day. For the daily run, a signal
//! whose `first` day is today is a new alert.

use std::cmp::Ordering;
use std::fmt;

/// One day judged by a method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// The method's statistic: the z-score for C1 and C2, the three-day sum
    /// for C3 (either may be ±∞, see the module docs), the current window's
    /// count for the moving percentile method.
    pub statistic: f64,
    /// The value the statistic must exceed: the configured threshold for
    /// EARS, the baseline percentile for the moving percentile method.
    pub threshold: f64,
    /// `statistic > threshold`.
    pub alarm: bool,
}

impl Assessment {
    fn new(statistic: f64, threshold: f64) -> Self {
        Assessment {
            statistic,
            threshold,
            alarm: statistic > threshold,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigError {
    /// An EARS baseline needs at least 3 days (as in `surveillance`).
    BaselineTooShort { days: usize },
    /// The alarm threshold must be a finite number.
    ThresholdNotFinite,
    /// The minimum sigma must be finite and not negative.
    MinSigmaInvalid,
    /// The percentile must lie in 0–100.
    PercentileOutOfRange,
    /// A window must cover at least one day.
    EmptyWindow,
    /// The baseline must contain at least one window.
    NoBaselineWindows,
    /// A historical year must be long enough that no baseline window overlaps
    /// the current one: `year_days ≥ window_days × (adjacent + 1)`.
    YearTooShort { year_days: usize, min: usize },
    /// The history the configuration needs does not fit in `usize`.
    HistoryTooLong,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BaselineTooShort { days } => {
                write!(f, "an EARS baseline needs at least 3 days, not {days}")
            }
            ConfigError::ThresholdNotFinite => write!(f, "the threshold must be finite"),
            ConfigError::MinSigmaInvalid => {
                write!(f, "the minimum sigma must be finite and not negative")
            }
            ConfigError::PercentileOutOfRange => write!(f, "the percentile must lie in 0–100"),
            ConfigError::EmptyWindow => write!(f, "a window must cover at least one day"),
            ConfigError::NoBaselineWindows => {
                write!(f, "the baseline must contain at least one window")
            }
            ConfigError::YearTooShort { year_days, min } => write!(
                f,
                "a year of {year_days} days would overlap the current window; at least {min} needed"
            ),
            ConfigError::HistoryTooLong => write!(f, "the history needed is too long"),
        }
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------
// EARS
// ---------------------------------------------------------------------------

/// Which EARS method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EarsMethod {
    /// Baseline: the `b` days before today.
    C1,
    /// Baseline: `b` days ending 3 days before today (a 2-day guard band).
    C2,
    /// The sum of C2's excesses over 1 on today and the two days before.
    C3,
}

/// An EARS detector: the method with its baseline length, threshold and
/// minimum sigma. See the module docs for the formulas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ears {
    method: EarsMethod,
    baseline_days: usize,
    threshold: f64,
    min_sigma: f64,
}

impl Ears {
    /// The method with Hutwagner et al.'s settings: a 7-day baseline,
    /// threshold 3 for C1 and C2 and 2 for C3, and no minimum sigma (the
    /// `surveillance` default).
    pub fn new(method: EarsMethod) -> Self {
        Ears {
            method,
            baseline_days: 7,
            threshold: match method {
                EarsMethod::C1 | EarsMethod::C2 => 3.0,
                EarsMethod::C3 => 2.0,
            },
            min_sigma: 0.0,
        }
    }

    /// A baseline of `days` days (at least 3).
    pub fn with_baseline_days(self, days: usize) -> Result<Self, ConfigError> {
        if days < 3 {
            return Err(ConfigError::BaselineTooShort { days });
        }
        // C3 needs `days + 4` days before today.
        if days.checked_add(4).is_none() {
            return Err(ConfigError::HistoryTooLong);
        }
        Ok(Ears {
            baseline_days: days,
            ..self
        })
    }

    /// Alarm when the statistic exceeds `threshold` (any finite value).
    pub fn with_threshold(self, threshold: f64) -> Result<Self, ConfigError> {
        if !threshold.is_finite() {
            return Err(ConfigError::ThresholdNotFinite);
        }
        Ok(Ears { threshold, ..self })
    }

    /// Use `max(S, min_sigma)` as the sigma (finite, ≥ 0).
    pub fn with_min_sigma(self, min_sigma: f64) -> Result<Self, ConfigError> {
        if !(min_sigma.is_finite() && min_sigma >= 0.0) {
            return Err(ConfigError::MinSigmaInvalid);
        }
        Ok(Ears { min_sigma, ..self })
    }

    pub fn method(&self) -> EarsMethod {
        self.method
    }

    pub fn baseline_days(&self) -> usize {
        self.baseline_days
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    pub fn min_sigma(&self) -> f64 {
        self.min_sigma
    }

    /// The first day that can be judged: the number of days of history the
    /// method needs before it (`b`, `b + 2` or `b + 4`).
    pub fn required_history(&self) -> usize {
        match self.method {
            EarsMethod::C1 => self.baseline_days,
            EarsMethod::C2 => self.baseline_days + 2,
            EarsMethod::C3 => self.baseline_days + 4,
        }
    }

    /// Judges day `t` of `counts`. `None` before [`Self::required_history`],
    /// past the end of the series, or when a value it needs is not finite.
    pub fn assess(&self, counts: &[f64], t: usize) -> Option<Assessment> {
        if t >= counts.len() || t < self.required_history() {
            return None;
        }
        let statistic = match self.method {
            EarsMethod::C1 => self.z_score(counts, t, 1)?,
            EarsMethod::C2 => self.z_score(counts, t, 3)?,
            EarsMethod::C3 => {
                let mut sum = 0.0;
                for day in t - 2..=t {
                    sum += c3_term(self.z_score(counts, day, 3)?);
                }
                sum
            }
        };
        Some(Assessment::new(statistic, self.threshold))
    }

    /// Judges every day of `counts`; the result has the same length.
    pub fn run(&self, counts: &[f64]) -> Vec<Option<Assessment>> {
        match self.method {
            EarsMethod::C1 | EarsMethod::C2 => {
                (0..counts.len()).map(|t| self.assess(counts, t)).collect()
            }
            EarsMethod::C3 => {
                // Each C2 is needed three times; compute it once.
                let c2: Vec<Option<f64>> = (0..counts.len())
                    .map(|t| {
                        if t < self.baseline_days + 2 {
                            None
                        } else {
                            self.z_score(counts, t, 3)
                        }
                    })
                    .collect();
                (0..counts.len())
                    .map(|t| {
                        if t < self.required_history() {
                            return None;
                        }
                        let mut sum = 0.0;
                        for z in &c2[t - 2..=t] {
                            sum += c3_term((*z)?);
                        }
                        Some(Assessment::new(sum, self.threshold))
                    })
                    .collect()
            }
        }
    }

    /// `(Y(t) − Ȳ) / σ` over the baseline that ends `lag` days before `t`.
    /// The caller guarantees `t ≥ baseline_days + lag − 1` and `t < len`.
    fn z_score(&self, counts: &[f64], t: usize, lag: usize) -> Option<f64> {
        let end = t + 1 - lag;
        let baseline = BaselineStats::of(&counts[end - self.baseline_days..end])?;
        let x = counts[t];
        if !x.is_finite() {
            return None;
        }
        let sigma = baseline.sd.max(self.min_sigma);
        let z = if sigma > 0.0 {
            (x - baseline.mean) / sigma
        } else {
            // surveillance's rule for σ = 0: the upper bound is the mean.
            match x.partial_cmp(&baseline.mean) {
                Some(Ordering::Greater) => f64::INFINITY,
                Some(Ordering::Less) => f64::NEG_INFINITY,
                _ => 0.0,
            }
        };
        // Finite counts near f64::MAX can still overflow to NaN.
        (!z.is_nan()).then_some(z)
    }
}

/// One day's share of C3: `max(0, C2 − 1)`.
fn c3_term(c2: f64) -> f64 {
    (c2 - 1.0).max(0.0)
}

/// Mean and sample standard deviation of a baseline.
struct BaselineStats {
    mean: f64,
    sd: f64,
}

impl BaselineStats {
    /// `None` when `values` has fewer than 2 values or the sums are not
    /// finite (a value that is not finite, or an overflow).
    ///
    /// One pass over the deviations from the first value, `d = v − v₀`:
    /// `S² = (Σd² − (Σd)²/n) / (n − 1)`. The shift keeps the subtraction
    /// well-conditioned for short baselines (the sums are exact for integer
    /// counts), and a constant baseline gives exactly `Ȳ = v₀` and `S = 0`.
    fn of(values: &[f64]) -> Option<Self> {
        if values.len() < 2 {
            return None;
        }
        let first = values[0];
        let mut sum = 0.0;
        let mut squares = 0.0;
        for &v in values {
            let d = v - first;
            sum += d;
            squares += d * d;
        }
        if !(sum.is_finite() && squares.is_finite()) {
            return None;
        }
        let n = values.len() as f64;
        let centred = (squares - sum * sum / n).max(0.0);
        Some(BaselineStats {
            mean: first + sum / n,
            sd: (centred / (n - 1.0)).sqrt(),
        })
    }
}

// ---------------------------------------------------------------------------
// Moving percentile method
// ---------------------------------------------------------------------------

/// Where the moving percentile method takes its baseline windows from. All
/// windows have the detector's `window_days`; "window ending on day e" covers
/// days `e − window_days + 1 … e`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Baseline {
    /// CIDARS: for each `y` in `1..=years` and `k` in `−adjacent..=adjacent`,
    /// the window ending on day `t − y·year_days + k·window_days`
    /// (`years × (2·adjacent + 1)` windows).
    Historical {
        years: usize,
        adjacent: usize,
        year_days: usize,
    },
    /// A new disease: for `j` in `1..=windows`, the window ending on day
    /// `t − window_days − guard_days − (j − 1)·window_days`.
    Recent { windows: usize, guard_days: usize },
}

/// The moving percentile detector: window length, percentile and baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MovingPercentile {
    window_days: usize,
    percentile: f64,
    baseline: Baseline,
    required_history: usize,
}

impl MovingPercentile {
    /// The CIDARS defaults: 7-day windows, P80, the same window and one
    /// adjacent window either side in each of the previous 3 years of 365
    /// days (9 baseline windows; the first day judged is day 1,108).
    pub fn cidars() -> Self {
        MovingPercentile {
            window_days: 7,
            percentile: 80.0,
            baseline: Baseline::Historical {
                years: 3,
                adjacent: 1,
                year_days: 365,
            },
            required_history: 3 * 365 + 7 + 7 - 1,
        }
    }

    /// The recent-past variant for a new disease: 7-day windows, P80, the 4
    /// windows before a 7-day guard band (the first day judged is day 41).
    pub fn recent() -> Self {
        MovingPercentile {
            window_days: 7,
            percentile: 80.0,
            baseline: Baseline::Recent {
                windows: 4,
                guard_days: 7,
            },
            required_history: 7 + 7 * 5 - 1,
        }
    }

    /// Any configuration: `percentile` in 0–100 (80 for P80), windows of at
    /// least one day, a baseline with at least one window whose windows never
    /// overlap the current one.
    pub fn new(
        window_days: usize,
        percentile: f64,
        baseline: Baseline,
    ) -> Result<Self, ConfigError> {
        if !(0.0..=100.0).contains(&percentile) {
            return Err(ConfigError::PercentileOutOfRange);
        }
        if window_days == 0 {
            return Err(ConfigError::EmptyWindow);
        }
        let required_history = match baseline {
            Baseline::Historical {
                years,
                adjacent,
                year_days,
            } => {
                if years == 0 {
                    return Err(ConfigError::NoBaselineWindows);
                }
                let min = adjacent
                    .checked_add(1)
                    .and_then(|a| a.checked_mul(window_days))
                    .ok_or(ConfigError::HistoryTooLong)?;
                if year_days < min {
                    return Err(ConfigError::YearTooShort { year_days, min });
                }
                // The earliest window ends on t − years·year_days − adjacent·w
                // and starts w − 1 days before that.
                years
                    .checked_mul(year_days)
                    .and_then(|d| d.checked_add(adjacent.checked_mul(window_days)?))
                    .and_then(|d| d.checked_add(window_days - 1))
                    .ok_or(ConfigError::HistoryTooLong)?
            }
            Baseline::Recent {
                windows,
                guard_days,
            } => {
                if windows == 0 {
                    return Err(ConfigError::NoBaselineWindows);
                }
                // The earliest window starts guard + w·(windows + 1) − 1 days
                // before t.
                windows
                    .checked_add(1)
                    .and_then(|k| k.checked_mul(window_days))
                    .and_then(|d| d.checked_add(guard_days))
                    .map(|d| d - 1)
                    .ok_or(ConfigError::HistoryTooLong)?
            }
        };
        Ok(MovingPercentile {
            window_days,
            percentile,
            baseline,
            required_history,
        })
    }

    pub fn window_days(&self) -> usize {
        self.window_days
    }

    /// The percentile in 0–100.
    pub fn percentile(&self) -> f64 {
        self.percentile
    }

    pub fn baseline(&self) -> Baseline {
        self.baseline
    }

    /// The first day that can be judged: the days of history needed before
    /// it. With the defaults, 1,108 for [`Self::cidars`] and 41 for
    /// [`Self::recent`].
    pub fn required_history(&self) -> usize {
        self.required_history
    }

    /// Judges day `t`: the count of the window ending on `t` against the
    /// percentile of the baseline windows' counts.
    pub fn assess(&self, counts: &[f64], t: usize) -> Option<Assessment> {
        if t >= counts.len() || t < self.required_history {
            return None;
        }
        let w = self.window_days;
        let sum = |end: usize| window_sum(&counts[end + 1 - w..=end]);
        let mut baseline = Vec::with_capacity(self.baseline_windows());
        self.judge(t, sum, &mut baseline)
    }

    /// Judges every day of `counts`; the result has the same length.
    pub fn run(&self, counts: &[f64]) -> Vec<Option<Assessment>> {
        if counts.len() <= self.required_history {
            return vec![None; counts.len()];
        }
        let w = self.window_days;
        // Every window sum once; the same arithmetic as `assess`.
        let sums: Vec<f64> = (0..counts.len())
            .map(|end| {
                if end + 1 < w {
                    f64::NAN
                } else {
                    window_sum(&counts[end + 1 - w..=end])
                }
            })
            .collect();
        let mut baseline = Vec::with_capacity(self.baseline_windows());
        (0..counts.len())
            .map(|t| {
                if t < self.required_history {
                    None
                } else {
                    self.judge(t, |end| sums[end], &mut baseline)
                }
            })
            .collect()
    }

    /// How many baseline windows. Only called once a day can be judged,
    /// which bounds it by the series' length (each year or window takes days).
    fn baseline_windows(&self) -> usize {
        match self.baseline {
            Baseline::Historical {
                years, adjacent, ..
            } => years.saturating_mul(adjacent.saturating_mul(2).saturating_add(1)),
            Baseline::Recent { windows, .. } => windows,
        }
    }

    /// The caller guarantees `required_history ≤ t < len`, so every window
    /// end below lies in `w − 1 ..= t`.
    fn judge(
        &self,
        t: usize,
        sum: impl Fn(usize) -> f64,
        baseline: &mut Vec<f64>,
    ) -> Option<Assessment> {
        let w = self.window_days;
        baseline.clear();
        match self.baseline {
            Baseline::Historical {
                years,
                adjacent,
                year_days,
            } => {
                for y in 1..=years {
                    let first_end = t - y * year_days - adjacent * w;
                    for k in 0..=2 * adjacent {
                        baseline.push(sum(first_end + k * w));
                    }
                }
            }
            Baseline::Recent {
                windows,
                guard_days,
            } => {
                let first_end = t - w - guard_days;
                for j in 0..windows {
                    baseline.push(sum(first_end - j * w));
                }
            }
        }
        let observed = sum(t);
        if !observed.is_finite() || baseline.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let threshold = quantile_type7(baseline, self.percentile / 100.0)?;
        Some(Assessment::new(observed, threshold))
    }
}

fn window_sum(days: &[f64]) -> f64 {
    days.iter().sum()
}

/// The `percent`-th percentile (0–100) of `values` by R's default
/// `quantile(type = 7)`. `None` for no values, a percent outside 0–100 or a
/// value that is not finite.
pub fn percentile(values: &[f64], percent: f64) -> Option<f64> {
    if !(0.0..=100.0).contains(&percent) || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    quantile_type7(values, percent / 100.0)
}

/// Hyndman & Fan's definition 7 of finite values in any order, `p` in [0, 1].
fn quantile_type7(values: &[f64], p: f64) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    let h = last as f64 * p;
    // h ≥ 0, so truncation is the floor (and avoids a libm call).
    let lo = (h as usize).min(last);
    let hi = (lo + 1).min(last);
    let (x_lo, x_hi) = if values.len() <= 32 {
        order_statistics(values, lo, hi)
    } else {
        let mut sorted = values.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        (sorted[lo], sorted[hi])
    };
    Some(x_lo + (h - lo as f64) * (x_hi - x_lo))
}

/// The `lo`-th and `hi`-th smallest of a few finite values (0-based).
///
/// The r-th smallest is the largest value with at most `r` values strictly
/// below it. Counting is O(n²) but free of the data-dependent branches on
/// which a sort of a handful of values mispredicts; for the 4 to 25 windows
/// of the usual baselines it takes half the time of sorting them.
fn order_statistics(values: &[f64], lo: usize, hi: usize) -> (f64, f64) {
    let mut x_lo = f64::NEG_INFINITY;
    let mut x_hi = f64::NEG_INFINITY;
    for &v in values {
        let below = values.iter().filter(|&&w| w < v).count();
        if below <= lo {
            x_lo = x_lo.max(v);
        }
        if below <= hi {
            x_hi = x_hi.max(v);
        }
    }
    (x_lo, x_hi)
}

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// A run of alarm days raised as one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    /// The first alarm day.
    pub first: usize,
    /// The last alarm day.
    pub last: usize,
    /// The alarm day with the largest statistic (the earliest of equals).
    pub peak: usize,
    /// How many days in `first..=last` alarmed (fewer than the span when
    /// gaps were bridged).
    pub alarm_days: usize,
}

/// Groups alarm days into signals. Two alarm days belong to the same signal
/// when at most `merge_gap` days without an alarm (or not judged) lie between
/// them: `merge_gap = 0` joins only consecutive days.
pub fn signals(days: &[Option<Assessment>], merge_gap: usize) -> Vec<Signal> {
    let mut out: Vec<Signal> = Vec::new();
    let mut peak_statistic = f64::NEG_INFINITY;
    for (day, assessment) in days.iter().enumerate() {
        let Some(a) = assessment.filter(|a| a.alarm) else {
            continue;
        };
        match out.last_mut() {
            Some(s) if day - s.last - 1 <= merge_gap => {
                s.last = day;
                s.alarm_days += 1;
                if a.statistic > peak_statistic {
                    s.peak = day;
                    peak_statistic = a.statistic;
                }
            }
            _ => {
                out.push(Signal {
                    first: day,
                    last: day,
                    peak: day,
                    alarm_days: 1,
                });
                peak_statistic = a.statistic;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOL: f64 = 1e-9;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= TOL * (1.0 + b.abs())
    }

    fn series(values: &[i32]) -> Vec<f64> {
        values.iter().map(|&v| f64::from(v)).collect()
    }

    fn alarm_days(days: &[Option<Assessment>]) -> Vec<usize> {
        days.iter()
            .enumerate()
            .filter(|(_, a)| a.is_some_and(|a| a.alarm))
            .map(|(t, _)| t)
            .collect()
    }

    // Baseline 1,2,3,2,1,2,3: mean 2, S² = 4/6, S = 0.816497; then 2, 2 (the
    // C2 guard band) and a spike of 6 on day 9.
    const SPIKE: [i32; 10] = [1, 2, 3, 2, 1, 2, 3, 2, 2, 6];

    #[test]
    fn c1_detects_the_spike_with_the_hand_computed_statistic() {
        let counts = series(&SPIKE);
        let c1 = Ears::new(EarsMethod::C1);
        // Day 9: baseline days 2..=8 = 3,2,1,2,3,2,2: mean 15/7, squares sum
        // 20/7, S² = 10/21; C1 = (6 − 15/7) / √(10/21) = 5.589531.
        let a = c1.assess(&counts, 9).unwrap();
        assert!(close(
            a.statistic,
            (6.0 - 15.0 / 7.0) / (10.0f64 / 21.0).sqrt()
        ));
        assert!(close(a.statistic, 5.589_531_030_673), "{}", a.statistic);
        assert_eq!(a.threshold, 3.0);
        assert!(a.alarm);
        // Day 7: baseline days 0..=6, mean 2, S = √(2/3): C1 = 0.
        assert_eq!(c1.assess(&counts, 7).unwrap().statistic, 0.0);
        assert_eq!(alarm_days(&c1.run(&counts)), vec![9]);
        // Nothing before day 7.
        assert!(c1.run(&counts)[..7].iter().all(Option::is_none));
    }

    #[test]
    fn c2_uses_the_guard_band_and_detects_the_spike() {
        let counts = series(&SPIKE);
        let c2 = Ears::new(EarsMethod::C2);
        // Day 9: baseline days 0..=6 (mean 2, S = √(2/3)); C2 = 4/0.816497.
        let a = c2.assess(&counts, 9).unwrap();
        assert!(close(a.statistic, 4.0 / (2.0f64 / 3.0).sqrt()));
        assert!(close(a.statistic, 4.898_979_485_566));
        assert!(a.alarm);
        assert_eq!(c2.required_history(), 9);
        assert_eq!(c2.assess(&counts, 8), None);
    }

    #[test]
    fn c3_sums_three_days_of_c2() {
        // Pattern 1,3,1,3,1,3,2 repeated: every 7 consecutive days have mean 2
        // and S = 1 exactly. Then 4, 4, 4: C2 = 2 on each (the guard band
        // keeps them out of each other's baseline), C1 and C2 stay below 3.
        let mut v: Vec<i32> = [1, 3, 1, 3, 1, 3, 2].repeat(3);
        v.extend([4, 4, 4]);
        let counts = series(&v);
        let c3 = Ears::new(EarsMethod::C3);
        let c2 = Ears::new(EarsMethod::C2);
        for t in 21..24 {
            assert_eq!(c2.assess(&counts, t).unwrap().statistic, 2.0);
        }
        // Pattern days contribute max(0, C2 − 1) = 0 (their largest C2 is 1).
        let c3_at = |t| c3.assess(&counts, t).unwrap();
        assert_eq!(c3_at(20).statistic, 0.0);
        assert_eq!(c3_at(21).statistic, 1.0);
        // Exactly 2 is not more than 2.
        assert_eq!(c3_at(22).statistic, 2.0);
        assert!(!c3_at(22).alarm);
        assert_eq!(c3_at(23).statistic, 3.0);
        assert!(c3_at(23).alarm);
        assert_eq!(alarm_days(&c3.run(&counts)), vec![23]);
        assert!(alarm_days(&c2.run(&counts)).is_empty());
        assert!(alarm_days(&Ears::new(EarsMethod::C1).run(&counts)).is_empty());
    }

    #[test]
    fn flat_series_never_alarms() {
        let counts = vec![5.0; 60];
        for method in [EarsMethod::C1, EarsMethod::C2, EarsMethod::C3] {
            let run = Ears::new(method).run(&counts);
            assert!(alarm_days(&run).is_empty(), "{method:?}");
            // A constant baseline with an equal count has statistic 0.
            assert_eq!(run[59].unwrap().statistic, 0.0);
        }
        assert!(alarm_days(&MovingPercentile::recent().run(&counts)).is_empty());
        let long = vec![5.0; 1200];
        assert!(alarm_days(&MovingPercentile::cidars().run(&long)).is_empty());
    }

    #[test]
    fn one_case_after_a_zero_baseline_alarms() {
        // surveillance's σ = 0 rule: the upper bound is the baseline mean.
        let mut counts = vec![0.0; 12];
        counts.push(1.0);
        let t = 12;
        for method in [EarsMethod::C1, EarsMethod::C2, EarsMethod::C3] {
            let a = Ears::new(method).assess(&counts, t).unwrap();
            assert_eq!(a.statistic, f64::INFINITY, "{method:?}");
            assert!(a.alarm);
        }
        // With Burkom's minimum sigma of 0.5 one case gives z = 2, two give 4.
        let c1 = Ears::new(EarsMethod::C1).with_min_sigma(0.5).unwrap();
        let a = c1.assess(&counts, t).unwrap();
        assert_eq!(a.statistic, 2.0);
        assert!(!a.alarm);
        counts[t] = 2.0;
        let a = c1.assess(&counts, t).unwrap();
        assert_eq!(a.statistic, 4.0);
        assert!(a.alarm);
        // A count below a constant baseline: −∞, no alarm.
        let mut below = vec![3.0; 8];
        below.push(1.0);
        let a = Ears::new(EarsMethod::C1).assess(&below, 8).unwrap();
        assert_eq!(a.statistic, f64::NEG_INFINITY);
        assert!(!a.alarm);
    }

    #[test]
    fn a_steady_linear_rise_is_caught_by_c3_only() {
        // Y(t) = 10 + t. C1's baseline t−7..t−1 has mean Y(t) − 4 and
        // S² = 28/6; C2's has mean Y(t) − 6. So C1 = 4/√(28/6) = 1.8516,
        // C2 = 6/√(28/6) = 2.7775 and C3 = 3·(C2 − 1) = 5.3324, whatever the
        // slope: C3 responds to a sustained moderate excess.
        let counts: Vec<f64> = (0..40).map(|t| 10.0 + f64::from(t)).collect();
        let s = (28.0f64 / 6.0).sqrt();
        let c1 = Ears::new(EarsMethod::C1).assess(&counts, 30).unwrap();
        let c2 = Ears::new(EarsMethod::C2).assess(&counts, 30).unwrap();
        let c3 = Ears::new(EarsMethod::C3).assess(&counts, 30).unwrap();
        assert!(close(c1.statistic, 4.0 / s) && close(c1.statistic, 1.851_640_199_545));
        assert!(close(c2.statistic, 6.0 / s) && close(c2.statistic, 2.777_460_299_318));
        assert!(close(c3.statistic, 3.0 * (6.0 / s - 1.0)));
        assert!(close(c3.statistic, 5.332_380_897_953));
        assert!(!c1.alarm && !c2.alarm && c3.alarm);
        let run = Ears::new(EarsMethod::C3).run(&counts);
        assert_eq!(alarm_days(&run), (11..40).collect::<Vec<_>>());
    }

    #[test]
    fn surveillance_thresholds_can_be_set() {
        let counts = series(&SPIKE);
        let c1 = Ears::new(EarsMethod::C1)
            .with_threshold(3.090_232_3)
            .unwrap();
        assert_eq!(c1.threshold(), 3.090_232_3);
        assert!(c1.assess(&counts, 9).unwrap().alarm);
        // A 14-day baseline needs 14 days before day t.
        let long = Ears::new(EarsMethod::C1).with_baseline_days(14).unwrap();
        assert_eq!(long.required_history(), 14);
        assert_eq!(long.assess(&counts, 9), None);
    }

    #[test]
    fn invalid_ears_configurations_are_refused() {
        let c1 = Ears::new(EarsMethod::C1);
        assert_eq!(
            c1.with_baseline_days(2),
            Err(ConfigError::BaselineTooShort { days: 2 })
        );
        assert_eq!(
            c1.with_threshold(f64::NAN),
            Err(ConfigError::ThresholdNotFinite)
        );
        assert_eq!(c1.with_min_sigma(-0.1), Err(ConfigError::MinSigmaInvalid));
        assert_eq!(
            c1.with_min_sigma(f64::INFINITY),
            Err(ConfigError::MinSigmaInvalid)
        );
        assert_eq!(
            c1.with_baseline_days(usize::MAX),
            Err(ConfigError::HistoryTooLong)
        );
    }

    #[test]
    fn non_finite_values_make_days_unjudgeable() {
        let mut counts = series(&SPIKE);
        counts[1] = f64::NAN;
        let run = Ears::new(EarsMethod::C1).run(&counts);
        // Day 1 is in the baselines of days 7 (0..=6) and 8 (1..=7) only.
        assert_eq!(run[7], None);
        assert_eq!(run[8], None);
        assert!(run[9].unwrap().alarm);
    }

    #[test]
    fn percentile_matches_r_type_7() {
        // R: quantile(1:10, 0.8) = 8.2; quantile(c(0,0,0,1,5), 0.8) = 1.8;
        // quantile(c(3,1,2), 0.5) = 2; quantile(7, 0.8) = 7.
        let one_to_ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!(close(percentile(&one_to_ten, 80.0).unwrap(), 8.2));
        assert!(close(
            percentile(&[5.0, 0.0, 1.0, 0.0, 0.0], 80.0).unwrap(),
            1.8
        ));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[7.0], 80.0), Some(7.0));
        assert_eq!(percentile(&one_to_ten, 0.0), Some(1.0));
        assert_eq!(percentile(&one_to_ten, 100.0), Some(10.0));
        assert_eq!(percentile(&[], 80.0), None);
        assert_eq!(percentile(&one_to_ten, 100.5), None);
        assert_eq!(percentile(&[1.0, f64::NAN], 50.0), None);
    }

    #[test]
    fn percentile_agrees_with_sorting_for_short_and_long_inputs() {
        for n in [1usize, 2, 4, 9, 15, 32, 33, 70] {
            let values: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 - 3.5).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for percent in [0.0, 12.5, 50.0, 80.0, 99.0, 100.0] {
                let h = (n - 1) as f64 * (percent / 100.0);
                let lo = h.floor() as usize;
                let hi = (lo + 1).min(n - 1);
                let want = sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]);
                assert_eq!(
                    percentile(&values, percent),
                    Some(want),
                    "n {n}, P{percent}"
                );
            }
        }
    }

    /// Puts `sum` on the last day of the window ending on `end`.
    fn put(counts: &mut [f64], end: usize, sum: f64) {
        counts[end] = sum;
    }

    #[test]
    fn historical_percentile_on_a_hand_made_baseline() {
        // 2 years of 28 days, one adjacent window each side: 6 windows of 7
        // days ending on t − 28y + 7k. t = 70 needs 2·28 + 7 + 6 = 69 days.
        let mp = MovingPercentile::new(
            7,
            80.0,
            Baseline::Historical {
                years: 2,
                adjacent: 1,
                year_days: 28,
            },
        )
        .unwrap();
        assert_eq!(mp.required_history(), 69);
        let t = 70;
        let mut counts = vec![0.0; t + 1];
        // Windows end on 35, 42, 49 (year 1) and 7, 14, 21 (year 2).
        for (end, sum) in [(35, 4.0), (42, 10.0), (49, 0.0)] {
            put(&mut counts, end, sum);
        }
        for (end, sum) in [(7, 6.0), (14, 2.0), (21, 8.0)] {
            put(&mut counts, end, sum);
        }
        // Sorted 0 2 4 6 8 10: P80 → h = 5·0.8 = 4 → 8.
        counts[t] = 9.0;
        let a = mp.assess(&counts, t).unwrap();
        assert_eq!((a.statistic, a.threshold, a.alarm), (9.0, 8.0, true));
        // Equal to the percentile: no alarm.
        counts[t] = 5.0;
        counts[t - 3] = 3.0;
        let a = mp.assess(&counts, t).unwrap();
        assert_eq!((a.statistic, a.alarm), (8.0, false));
        // P50 → h = 2.5 → 4 + 0.5·(6 − 4) = 5.
        let p50 = MovingPercentile::new(7, 50.0, mp.baseline()).unwrap();
        assert_eq!(p50.assess(&counts, t).unwrap().threshold, 5.0);
        assert_eq!(mp.assess(&counts, 68), None);
        assert_eq!(mp.run(&counts)[t], mp.assess(&counts, t));
    }

    #[test]
    fn recent_percentile_skips_the_guard_band() {
        let mp = MovingPercentile::recent();
        assert_eq!(mp.required_history(), 41);
        let t = 41;
        let mut counts = vec![0.0; t + 1];
        // Baseline windows end on 27, 20, 13, 6; the guard band is 28..=34;
        // the current window 35..=41.
        for (end, sum) in [(27, 5.0), (20, 2.0), (13, 3.0), (6, 1.0)] {
            put(&mut counts, end, sum);
        }
        counts[30] = 100.0; // in the guard band: ignored
        counts[36] = 1.0;
        counts[41] = 3.0;
        // Sorted 1 2 3 5: h = 3·0.8 = 2.4 → 3 + 0.4·2 = 3.8.
        let a = mp.assess(&counts, t).unwrap();
        assert_eq!(a.statistic, 4.0);
        assert!(close(a.threshold, 3.8));
        assert!(a.alarm);
        assert_eq!(mp.assess(&counts, 40), None);
    }

    #[test]
    fn cidars_defaults_use_nine_windows_from_three_years() {
        let mp = MovingPercentile::cidars();
        assert_eq!(mp.required_history(), 1108);
        assert_eq!(
            MovingPercentile::new(7, 80.0, mp.baseline()).unwrap(),
            mp,
            "the defaults pass validation"
        );
        assert_eq!(
            MovingPercentile::new(7, 80.0, MovingPercentile::recent().baseline()).unwrap(),
            MovingPercentile::recent()
        );
        // The nine windows (days t − 365y − 7, t − 365y, t − 365y + 7 for
        // y = 1, 2, 3) count 1, 2, …, 9: P80 → h = 8·0.8 = 6.4 → 7.4. Today 7
        // does not alarm, 8 does.
        let t = 1200;
        let mut counts = vec![0.0; t + 1];
        let mut sum = 1.0;
        for y in 1..=3 {
            for k in [-7i64, 0, 7] {
                let end = (t as i64 - 365 * y + k) as usize;
                put(&mut counts, end, sum);
                sum += 1.0;
            }
        }
        counts[t] = 7.0;
        let a = mp.assess(&counts, t).unwrap();
        assert!(close(a.threshold, 7.4));
        assert!(!a.alarm);
        counts[t] = 8.0;
        assert!(mp.assess(&counts, t).unwrap().alarm);
    }

    #[test]
    fn a_huge_baseline_on_a_short_series_judges_nothing() {
        let huge = MovingPercentile::new(
            7,
            80.0,
            Baseline::Historical {
                years: 1 << 40,
                adjacent: 1,
                year_days: 365,
            },
        )
        .unwrap();
        assert_eq!(huge.run(&[1.0; 30]), vec![None; 30]);
        assert_eq!(huge.assess(&[1.0; 30], 29), None);
    }

    #[test]
    fn invalid_percentile_configurations_are_refused() {
        let recent = Baseline::Recent {
            windows: 4,
            guard_days: 7,
        };
        assert_eq!(
            MovingPercentile::new(7, 101.0, recent),
            Err(ConfigError::PercentileOutOfRange)
        );
        assert_eq!(
            MovingPercentile::new(7, f64::NAN, recent),
            Err(ConfigError::PercentileOutOfRange)
        );
        assert_eq!(
            MovingPercentile::new(0, 80.0, recent),
            Err(ConfigError::EmptyWindow)
        );
        assert_eq!(
            MovingPercentile::new(
                7,
                80.0,
                Baseline::Recent {
                    windows: 0,
                    guard_days: 0
                }
            ),
            Err(ConfigError::NoBaselineWindows)
        );
        assert_eq!(
            MovingPercentile::new(
                7,
                80.0,
                Baseline::Historical {
                    years: 1,
                    adjacent: 2,
                    year_days: 20
                }
            ),
            Err(ConfigError::YearTooShort {
                year_days: 20,
                min: 21
            })
        );
        assert_eq!(
            MovingPercentile::new(
                7,
                80.0,
                Baseline::Historical {
                    years: usize::MAX,
                    adjacent: 1,
                    year_days: 365
                }
            ),
            Err(ConfigError::HistoryTooLong)
        );
    }

    fn judged(alarms: &[(bool, f64)]) -> Vec<Option<Assessment>> {
        alarms
            .iter()
            .map(|&(alarm, statistic)| {
                Some(Assessment {
                    statistic,
                    threshold: 3.0,
                    alarm,
                })
            })
            .collect()
    }

    #[test]
    fn signals_group_consecutive_alarm_days() {
        let (t, f) = (true, false);
        let mut days = judged(&[
            (f, 0.0),
            (t, 4.0),
            (t, 6.0),
            (f, 1.0),
            (t, 5.0),
            (f, 0.0),
            (f, 0.0),
            (f, 0.0),
            (t, 3.5),
        ]);
        days.insert(0, None);
        // Days shifted by one: alarms on 2, 3, 5, 9.
        assert_eq!(
            signals(&days, 0),
            vec![
                Signal {
                    first: 2,
                    last: 3,
                    peak: 3,
                    alarm_days: 2
                },
                Signal {
                    first: 5,
                    last: 5,
                    peak: 5,
                    alarm_days: 1
                },
                Signal {
                    first: 9,
                    last: 9,
                    peak: 9,
                    alarm_days: 1
                },
            ]
        );
        // A one-day gap merges 2–3 with 5; 9 is three days after 5.
        assert_eq!(
            signals(&days, 1),
            vec![
                Signal {
                    first: 2,
                    last: 5,
                    peak: 3,
                    alarm_days: 3
                },
                Signal {
                    first: 9,
                    last: 9,
                    peak: 9,
                    alarm_days: 1
                },
            ]
        );
        assert_eq!(signals(&days, 3).len(), 1);
        assert!(signals(&[], 0).is_empty());
        assert!(signals(&[None, None], 5).is_empty());
    }

    #[test]
    fn the_peak_is_the_first_of_equal_statistics() {
        let days = judged(&[(true, 5.0), (true, 7.0), (true, 7.0), (true, 2.0)]);
        assert_eq!(signals(&days, 0)[0].peak, 1);
    }

    #[test]
    fn a_new_alert_starts_on_the_first_alarm_day_only() {
        // The daily run: today's alarm is a new alert only when it begins a
        // signal.
        let counts = series(&[1, 2, 3, 2, 1, 2, 3, 2, 2, 9, 12]);
        let run = Ears::new(EarsMethod::C1).run(&counts);
        let s = signals(&run, 0);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].first, s[0].last), (9, 10));
        assert_ne!(s[0].first, counts.len() - 1, "day 10 continues the signal");
    }

    type Detector = Box<dyn Fn(&[f64]) -> Vec<Option<Assessment>>>;

    fn all_detectors() -> Vec<(&'static str, Detector)> {
        let short = MovingPercentile::new(
            3,
            80.0,
            Baseline::Historical {
                years: 2,
                adjacent: 1,
                year_days: 10,
            },
        )
        .unwrap();
        vec![
            ("C1", Box::new(|c| Ears::new(EarsMethod::C1).run(c))),
            ("C2", Box::new(|c| Ears::new(EarsMethod::C2).run(c))),
            ("C3", Box::new(|c| Ears::new(EarsMethod::C3).run(c))),
            ("recent", Box::new(|c| MovingPercentile::recent().run(c))),
            ("historical", Box::new(move |c| short.run(c))),
        ]
    }

    proptest! {
        #[test]
        fn scaling_leaves_alarms_unchanged(
            v in prop::collection::vec(0u8..50, 20..70),
            scale in 0.01f64..100.0,
        ) {
            let counts: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            let scaled: Vec<f64> = counts.iter().map(|x| x * scale).collect();
            for (name, run) in all_detectors() {
                let before = run(&counts);
                let after = run(&scaled);
                for (t, (b, a)) in before.iter().zip(&after).enumerate() {
                    let (Some(b), Some(a)) = (b, a) else {
                        prop_assert_eq!(b.is_some(), a.is_some());
                        continue;
                    };
                    // Rounding may flip a statistic that sits on its threshold.
                    let margin = (b.statistic - b.threshold).abs();
                    if margin > 1e-9 * (1.0 + b.threshold.abs()) {
                        prop_assert_eq!(b.alarm, a.alarm, "{} day {}", name, t);
                    }
                }
            }
        }

        #[test]
        fn a_spike_on_the_last_day_can_only_raise_alarms(
            v in prop::collection::vec(0u8..50, 20..70),
        ) {
            let counts: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            let last = counts.len() - 1;
            let mut spiked = counts.clone();
            spiked[last] += 1000.0;
            for (name, run) in all_detectors() {
                let before = run(&counts);
                let after = run(&spiked);
                // Earlier days never look at the last one.
                prop_assert_eq!(&before[..last], &after[..last], "{}", name);
                if let (Some(b), Some(a)) = (before[last], after[last]) {
                    prop_assert!(a.statistic >= b.statistic, "{}", name);
                    prop_assert!(a.alarm, "{} misses a spike of 1000", name);
                }
            }
        }

        #[test]
        fn run_agrees_with_assess_day_by_day(
            v in prop::collection::vec(0u8..50, 0..70),
        ) {
            let counts: Vec<f64> = v.iter().map(|&x| f64::from(x) * 0.7).collect();
            for ears in [EarsMethod::C1, EarsMethod::C2, EarsMethod::C3].map(Ears::new) {
                let run = ears.run(&counts);
                prop_assert_eq!(run.len(), counts.len());
                for (t, day) in run.iter().enumerate() {
                    prop_assert_eq!(*day, ears.assess(&counts, t));
                }
            }
            let mp = MovingPercentile::recent();
            let run = mp.run(&counts);
            for (t, day) in run.iter().enumerate() {
                prop_assert_eq!(*day, mp.assess(&counts, t));
            }
        }

        #[test]
        fn any_input_is_judged_without_panicking(
            counts in prop::collection::vec(prop::num::f64::ANY, 0..60),
            t in 0usize..80,
            gap in 0usize..5,
        ) {
            for (_, run) in all_detectors() {
                let days = run(&counts);
                prop_assert_eq!(days.len(), counts.len());
                for s in signals(&days, gap) {
                    prop_assert!(s.first <= s.peak && s.peak <= s.last);
                    prop_assert!(s.alarm_days <= s.last - s.first + 1);
                }
            }
            for ears in [EarsMethod::C1, EarsMethod::C2, EarsMethod::C3].map(Ears::new) {
                let _ = ears.assess(&counts, t);
            }
            let _ = MovingPercentile::recent().assess(&counts, t);
        }
    }
}
