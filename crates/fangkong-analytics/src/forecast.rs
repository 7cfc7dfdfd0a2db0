//! Short-term forecasts: renewal-equation projections with prediction
//! intervals, hospital bed demand, and forecast scoring.
//!
//! # Renewal projection
//!
//! As in the R package `projections` (Jombart, Nouvellet et al.; the method
//! of Nouvellet et al. 2018, *Epidemics* 22:29–35), future daily incidence
//! follows the renewal equation with the serial interval `w` used by the Rt
//! estimator of Cori et al. (2013, *Am J Epidemiol* 178:1505–1512):
//!
//! ```text
//! Λ_t = Σ_{s≥1} w_s · I_{t−s}          (total infectiousness)
//! I_t ~ Poisson(R · Λ_t)                (or negative binomial, below)
//! ```
//!
//! `Λ_t` runs over the observed days (local and imported cases alike: both
//! infect) and over the days already simulated on the same path. Each of `N`
//! sample paths draws one `R` from the gamma posterior of the last Rt window
//! and keeps it for the whole horizon (`projections`' `R_fix_within = TRUE`).
//! The posterior describes uncertainty about a *single* current value of
//! `R`; drawing a fresh `R` every day would instead treat it as noise that
//! averages out over the days of a path and would make the intervals too
//! narrow. With `R` fixed per path the paths are draws from the posterior
//! predictive distribution under "R stays where it is".
//!
//! Assumptions, stated because they bound what the intervals can mean:
//! `R` is constant over the horizon (no new measures, no depletion of
//! susceptibles), no cases are imported after the forecast origin, and the
//! reporting delay is stable. The intervals cover sampling and posterior
//! uncertainty only; [`calibrate`] measures how much that misses.
//!
//! Offspring: [`Offspring::Poisson`] is the model above.
//! [`Offspring::NegativeBinomial`] replaces the Poisson draw by
//! `NB(mean R·Λ_t, size k·Λ_t)` — the sum of `Λ_t` infectors' negative
//! binomial offspring with dispersion `k` (Lloyd-Smith et al. 2005,
//! *Nature* 438:355), as `projections` does with `model = "negbin"` — drawn
//! as `Poisson(Gamma(k·Λ_t, scale R/k))`.
//!
//! Each path and day produces a whole number of cases; counts are capped at
//! [`MAX_COUNT`] so that an explosive path cannot overflow.
//!
//! # Summaries
//!
//! Each forecast day is summarised by the sample mean, the median and the
//! central 50 %, 90 % and 95 % prediction intervals, all quantiles of the
//! `N` draws by R's default rule (type 7: linear interpolation between order
//! statistics, Hyndman & Fan 1996), as `projections`' `summary()` does.
//!
//! # Bed demand
//!
//! See [`bed_demand`]: admissions are fixed fractions of projected cases,
//! convolved with the survival function of the length of stay; patients in
//! hospital today leave by the residual-stay survival.
//!
//! # Scoring
//!
//! See [`weighted_interval_score`] (Bracher, Ray, Gneiting & Reich 2021),
//! [`CentralInterval::contains`] for coverage, [`baseline`] for the naive
//! comparator, and [`calibrate`] / [`summarise_scores`] for rolling-origin
//! evaluation.

use std::fmt;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, StandardNormal};
use rayon::prelude::*;

/// The longest forecast horizon accepted, in days.
pub const MAX_HORIZON: usize = 180;
/// The most sample paths accepted per forecast.
pub const MAX_PATHS: usize = 20_000;
/// The longest length of stay accepted, in days.
pub const MAX_STAY: usize = 365;
/// Simulated daily counts are capped here (10¹⁵ cases) so that no path can
/// overflow, whatever `R` is drawn.
pub const MAX_COUNT: f64 = 1e15;

/// Why a forecast input was rejected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ForecastError {
    /// Serial-interval weights must start with `w[0] = 0`.
    SiFirstNotZero,
    /// A serial-interval weight is negative or not finite.
    SiInvalidWeight { index: usize },
    /// The serial-interval weights do not sum to 1 (within 0.01, as EpiEstim
    /// checks).
    SiSum { sum: f64 },
    /// The gamma posterior for R needs a positive, finite shape and scale.
    InvalidPosterior,
    /// The negative-binomial dispersion `k` must be positive and finite.
    InvalidDispersion,
    /// The horizon must be between 1 and [`MAX_HORIZON`] days.
    InvalidHorizon { horizon: usize },
    /// The number of paths must be between 1 and [`MAX_PATHS`].
    InvalidPaths { paths: usize },
    /// An incidence or case count is negative or not finite.
    InvalidCount { index: usize },
    /// The baseline needs at least one observed day.
    NoHistory,
    /// Sample paths must be non-empty and of one length.
    RaggedPaths,
    /// A length of stay must be 1 to [`MAX_STAY`] days, with a probability
    /// mass function that is zero at 0 days and sums to 1 (within 0.01).
    InvalidStay,
    /// A hospitalised fraction must lie in [0, 1], and the fractions of all
    /// categories may not sum to more than 1.
    InvalidFraction,
    /// Current occupancy must be non-negative and finite.
    InvalidOccupancy,
    /// A bed model needs at least one category.
    NoCategories,
    /// A central interval needs a level in (0, 1) and `lower ≤ upper`.
    InvalidInterval,
    /// Calibration needs at least one horizon.
    NoHorizons,
}

impl fmt::Display for ForecastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SiFirstNotZero => f.write_str("serial-interval weight w[0] must be 0"),
            Self::SiInvalidWeight { index } => {
                write!(
                    f,
                    "serial-interval weight w[{index}] is negative or not finite"
                )
            }
            Self::SiSum { sum } => write!(f, "serial-interval weights sum to {sum}, not 1"),
            Self::InvalidPosterior => {
                f.write_str("posterior shape and scale must be positive and finite")
            }
            Self::InvalidDispersion => f.write_str("dispersion must be positive and finite"),
            Self::InvalidHorizon { horizon } => {
                write!(f, "horizon {horizon} is outside 1..={MAX_HORIZON} days")
            }
            Self::InvalidPaths { paths } => {
                write!(f, "{paths} sample paths is outside 1..={MAX_PATHS}")
            }
            Self::InvalidCount { index } => {
                write!(f, "count at index {index} is negative or not finite")
            }
            Self::NoHistory => f.write_str("no observed days to carry forward"),
            Self::RaggedPaths => f.write_str("sample paths must be non-empty and of equal length"),
            Self::InvalidStay => f.write_str("invalid length-of-stay distribution"),
            Self::InvalidFraction => {
                f.write_str("hospitalised fractions must lie in [0, 1] and sum to at most 1")
            }
            Self::InvalidOccupancy => f.write_str("occupancy must be non-negative and finite"),
            Self::NoCategories => f.write_str("a bed model needs at least one category"),
            Self::InvalidInterval => {
                f.write_str("an interval needs a level in (0, 1) and lower <= upper")
            }
            Self::NoHorizons => f.write_str("calibration needs at least one horizon"),
        }
    }
}

impl std::error::Error for ForecastError {}

// ---------------------------------------------------------------------------
// Model inputs
// ---------------------------------------------------------------------------

/// Discretised serial-interval weights `w[0] = 0, w[1], …`, as EpiEstim uses
/// them: non-negative, summing to 1 within 0.01. Trailing zeros are dropped,
/// so the renewal sum runs over the support only. The weights are not
/// renormalised, so `Λ_t` is the same quantity the Rt estimator used.
#[derive(Debug, Clone, PartialEq)]
pub struct SiWeights(Vec<f64>);

impl SiWeights {
    pub fn new(weights: &[f64]) -> Result<Self, ForecastError> {
        if let Some(index) = weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(ForecastError::SiInvalidWeight { index });
        }
        if weights.first().is_some_and(|w| *w != 0.0) {
            return Err(ForecastError::SiFirstNotZero);
        }
        let sum: f64 = weights.iter().sum();
        if (sum - 1.0).abs() > 0.01 {
            return Err(ForecastError::SiSum { sum });
        }
        let support = weights.iter().rposition(|w| *w > 0.0).map_or(0, |i| i + 1);
        Ok(Self(weights[..support].to_vec()))
    }

    /// The weights, `w[0] = 0` first, up to the last positive one.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }
}

/// A gamma posterior for the reproduction number (the Cori et al. posterior
/// of one window): `R ~ Gamma(shape, scale)`, mean `shape · scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RPosterior {
    shape: f64,
    scale: f64,
}

impl RPosterior {
    pub fn new(shape: f64, scale: f64) -> Result<Self, ForecastError> {
        let valid = |v: f64| v.is_finite() && v > 0.0;
        if valid(shape) && valid(scale) {
            Ok(Self { shape, scale })
        } else {
            Err(ForecastError::InvalidPosterior)
        }
    }

    pub fn shape(&self) -> f64 {
        self.shape
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    pub fn mean(&self) -> f64 {
        self.shape * self.scale
    }
}

/// The distribution of a day's new cases given `R · Λ_t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offspring {
    /// `I_t ~ Poisson(R · Λ_t)`, as in Cori et al. and `projections`' default.
    Poisson,
    /// `I_t ~ NB(mean R · Λ_t, size k · Λ_t)` with individual dispersion `k`.
    NegativeBinomial(Dispersion),
}

/// The dispersion `k > 0` of individual offspring counts (smaller is more
/// overdispersed; COVID-19 estimates range from about 0.1 to 0.6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispersion(f64);

impl Dispersion {
    pub fn new(k: f64) -> Result<Self, ForecastError> {
        if k.is_finite() && k > 0.0 {
            Ok(Self(k))
        } else {
            Err(ForecastError::InvalidDispersion)
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// How far ahead and with how many sample paths to forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastSettings {
    horizon: usize,
    paths: usize,
    keep_paths: bool,
}

impl ForecastSettings {
    /// `horizon` days (1 to [`MAX_HORIZON`]) with `paths` sample paths (1 to
    /// [`MAX_PATHS`]); the paths themselves are not kept (see
    /// [`Self::keeping_paths`]).
    pub fn new(horizon: usize, paths: usize) -> Result<Self, ForecastError> {
        if !(1..=MAX_HORIZON).contains(&horizon) {
            return Err(ForecastError::InvalidHorizon { horizon });
        }
        if !(1..=MAX_PATHS).contains(&paths) {
            return Err(ForecastError::InvalidPaths { paths });
        }
        Ok(Self {
            horizon,
            paths,
            keep_paths: false,
        })
    }

    /// Also return the sample paths (needed for [`bed_demand`]).
    pub fn keeping_paths(self) -> Self {
        Self {
            keep_paths: true,
            ..self
        }
    }

    pub fn horizon(&self) -> usize {
        self.horizon
    }

    pub fn paths(&self) -> usize {
        self.paths
    }
}

// ---------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------

/// A central prediction interval: `lower` and `upper` are the
/// `(1 − level)/2` and `(1 + level)/2` quantiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CentralInterval {
    level: f64,
    lower: f64,
    upper: f64,
}

impl CentralInterval {
    pub fn new(level: f64, lower: f64, upper: f64) -> Result<Self, ForecastError> {
        // `lower <= upper` is false when either is NaN.
        if level > 0.0 && level < 1.0 && lower <= upper {
            Ok(Self {
                level,
                lower,
                upper,
            })
        } else {
            Err(ForecastError::InvalidInterval)
        }
    }

    pub fn level(&self) -> f64 {
        self.level
    }

    pub fn lower(&self) -> f64 {
        self.lower
    }

    pub fn upper(&self) -> f64 {
        self.upper
    }

    /// Whether `y` lies in the closed interval `[lower, upper]`.
    pub fn contains(&self, y: f64) -> bool {
        self.lower <= y && y <= self.upper
    }

    /// The interval score of Gneiting & Raftery (2007, *JASA* 102:359, §6.2)
    /// at `α = 1 − level`:
    ///
    /// ```text
    /// IS_α(F, y) = (u − l) + (2/α)(l − y)·1(y < l) + (2/α)(y − u)·1(y > u).
    /// ```
    pub fn interval_score(&self, y: f64) -> f64 {
        let alpha = 1.0 - self.level;
        let below = if y < self.lower {
            (2.0 / alpha) * (self.lower - y)
        } else {
            0.0
        };
        let above = if y > self.upper {
            (2.0 / alpha) * (y - self.upper)
        } else {
            0.0
        };
        (self.upper - self.lower) + below + above
    }
}

/// The predictive distribution of one forecast day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DaySummary {
    pub mean: f64,
    pub median: f64,
    pub p50: CentralInterval,
    pub p90: CentralInterval,
    pub p95: CentralInterval,
}

/// How one forecast fared against the observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// [`weighted_interval_score`] over the median and the 50 %, 90 % and
    /// 95 % intervals.
    pub wis: f64,
    pub covered50: bool,
    pub covered90: bool,
}

impl DaySummary {
    /// The three central intervals, narrowest first.
    pub fn intervals(&self) -> [CentralInterval; 3] {
        [self.p50, self.p90, self.p95]
    }

    pub fn score(&self, observed: f64) -> Score {
        Score {
            wis: weighted_interval_score(observed, self.median, &self.intervals()),
            covered50: self.p50.contains(observed),
            covered90: self.p90.contains(observed),
        }
    }

    /// Summarises a sample (reordered in place). The sample must be
    /// non-empty and free of NaN, which every caller guarantees.
    fn of_sample(sample: &mut [f64]) -> Self {
        sample.sort_unstable_by(f64::total_cmp);
        let q = |p: f64| quantile_sorted(sample, p);
        // Quantile levels written out: (1 − 0.9)/2 is 0.04999… in floating
        // point, which would move the type-7 interpolation off the order
        // statistic.
        let interval = |level: f64, lower: f64, upper: f64| CentralInterval {
            level,
            lower: q(lower),
            upper: q(upper),
        };
        Self {
            mean: sample.iter().sum::<f64>() / sample.len() as f64,
            median: q(0.5),
            p50: interval(0.5, 0.25, 0.75),
            p90: interval(0.9, 0.05, 0.95),
            p95: interval(0.95, 0.025, 0.975),
        }
    }
}

/// Type-7 quantile (Hyndman & Fan 1996) of a sorted, non-empty sample.
fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    match (sorted.get(lo), sorted.get(lo + 1)) {
        (Some(a), Some(b)) => a + (h - lo as f64) * (b - a),
        (Some(a), None) => *a,
        _ => f64::NAN,
    }
}

/// Simulated daily values, `paths` sample paths over `horizon` days.
/// Stored day-major: all paths of day 1, then all of day 2, …
#[derive(Debug, Clone, PartialEq)]
pub struct SamplePaths {
    horizon: usize,
    paths: usize,
    values: Vec<f64>,
}

impl SamplePaths {
    /// Paths given one by one, each a series over the same horizon of
    /// non-negative finite values.
    pub fn from_paths<P: AsRef<[f64]>>(paths: &[P]) -> Result<Self, ForecastError> {
        let horizon = paths.first().map_or(0, |p| p.as_ref().len());
        if horizon == 0 || paths.iter().any(|p| p.as_ref().len() != horizon) {
            return Err(ForecastError::RaggedPaths);
        }
        let mut values = vec![0.0; horizon * paths.len()];
        for (p, path) in paths.iter().enumerate() {
            for (h, v) in path.as_ref().iter().enumerate() {
                if !(v.is_finite() && *v >= 0.0) {
                    return Err(ForecastError::InvalidCount { index: h });
                }
                values[h * paths.len() + p] = *v;
            }
        }
        Ok(Self {
            horizon,
            paths: paths.len(),
            values,
        })
    }

    pub fn horizon(&self) -> usize {
        self.horizon
    }

    pub fn paths(&self) -> usize {
        self.paths
    }

    /// Every path's value on forecast day `day + 1` (`day` counts from 0);
    /// empty past the horizon.
    pub fn day(&self, day: usize) -> &[f64] {
        self.values
            .get(day * self.paths..(day + 1) * self.paths)
            .unwrap_or(&[])
    }

    /// One path over the horizon.
    pub fn path(&self, path: usize) -> impl Iterator<Item = f64> + '_ {
        self.values
            .iter()
            .skip(path)
            .step_by(self.paths.max(1))
            .copied()
            .take(if path < self.paths { self.horizon } else { 0 })
    }

    fn summaries(&self) -> Vec<DaySummary> {
        let mut scratch = vec![0.0; self.paths];
        (0..self.horizon)
            .map(|h| {
                scratch.copy_from_slice(self.day(h));
                DaySummary::of_sample(&mut scratch)
            })
            .collect()
    }
}

/// A forecast: one summary per day after the origin, and the sample paths
/// if they were asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// `days[h]` is forecast day `h + 1`.
    pub days: Vec<DaySummary>,
    pub paths: Option<SamplePaths>,
}

impl Projection {
    fn from_paths(paths: SamplePaths, keep: bool) -> Self {
        Self {
            days: paths.summaries(),
            paths: keep.then_some(paths),
        }
    }
}

// ---------------------------------------------------------------------------
// Renewal projection
// ---------------------------------------------------------------------------

/// The renewal model: serial interval and offspring distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Renewal {
    si: SiWeights,
    offspring: Offspring,
}

/// One region's inputs to [`Renewal::project_regions`].
#[derive(Debug, Clone, Copy)]
pub struct RegionInput<'a> {
    /// Daily incidence up to and including the origin, local plus imported.
    pub incidence: &'a [f64],
    pub posterior: RPosterior,
    /// The region's own seed, so its result does not depend on scheduling.
    pub seed: u64,
}

impl Renewal {
    pub fn new(si: SiWeights, offspring: Offspring) -> Self {
        Self { si, offspring }
    }

    /// Projects `settings.horizon()` days beyond the last day of
    /// `incidence` (daily counts, oldest first, local plus imported), with
    /// `R` drawn from `posterior`. The same `seed` gives the same result.
    pub fn project(
        &self,
        incidence: &[f64],
        posterior: RPosterior,
        settings: &ForecastSettings,
        seed: u64,
    ) -> Result<Projection, ForecastError> {
        check_counts(incidence)?;
        let paths = self.simulate(incidence, posterior, settings, seed)?;
        Ok(Projection::from_paths(paths, settings.keep_paths))
    }

    /// [`Self::project`] for many regions in parallel (rayon). Result `i`
    /// equals `project` on region `i` with its own seed.
    pub fn project_regions(
        &self,
        regions: &[RegionInput<'_>],
        settings: &ForecastSettings,
    ) -> Vec<Result<Projection, ForecastError>> {
        regions
            .par_iter()
            .map(|r| self.project(r.incidence, r.posterior, settings, r.seed))
            .collect()
    }

    fn simulate(
        &self,
        incidence: &[f64],
        posterior: RPosterior,
        settings: &ForecastSettings,
        seed: u64,
    ) -> Result<SamplePaths, ForecastError> {
        let w = self.si.as_slice();
        let (horizon, n_paths, n) = (settings.horizon, settings.paths, incidence.len());
        let mut rng = StdRng::seed_from_u64(seed);

        // Infectiousness from the observed days, the same for every path:
        // past[h] = Σ_s w_s · I_{n+h−s} over observed days n + h − s < n.
        let past: Vec<f64> = (0..horizon)
            .map(|h| {
                let t = n + h;
                (h + 1..w.len().min(t + 1))
                    .map(|s| w[s] * incidence[t - s])
                    .sum()
            })
            .collect();

        let r_posterior = Gamma::new(posterior.shape, posterior.scale)
            .map_err(|_| ForecastError::InvalidPosterior)?;
        let r: Vec<f64> = (0..n_paths).map(|_| r_posterior.sample(&mut rng)).collect();

        let mut values = vec![0.0; horizon * n_paths];
        let mut lambda = vec![0.0; n_paths];
        for h in 0..horizon {
            lambda.fill(past[h]);
            for s in 1..w.len().min(h + 1) {
                let ws = w[s];
                let earlier = &values[(h - s) * n_paths..(h - s + 1) * n_paths];
                for (l, x) in lambda.iter_mut().zip(earlier) {
                    *l += ws * x;
                }
            }
            let today = &mut values[h * n_paths..(h + 1) * n_paths];
            for ((out, l), rp) in today.iter_mut().zip(&lambda).zip(&r) {
                *out = match self.offspring {
                    Offspring::Poisson => poisson(&mut rng, rp * l),
                    Offspring::NegativeBinomial(k) => negative_binomial(&mut rng, rp * l, k.0 * l),
                };
            }
        }
        Ok(SamplePaths {
            horizon,
            paths: n_paths,
            values,
        })
    }
}

fn check_counts(counts: &[f64]) -> Result<(), ForecastError> {
    match counts.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
        Some(index) => Err(ForecastError::InvalidCount { index }),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Sampling
// ---------------------------------------------------------------------------

/// A Poisson draw with mean `lambda` (0 for a mean that is not positive;
/// means above [`MAX_COUNT`] are capped).
///
/// rand_distr 0.4's `Poisson` needs a fresh `Poisson::new` (a log-gamma) per
/// mean and rejects with a Cauchy envelope; here the mean changes on every
/// draw, so instead:
/// - `λ < 10`: inversion by sequential search from 0 (one uniform; Devroye
///   1986, §X.3), about `λ + 1` steps;
/// - `10 ≤ λ < 10⁷`: the transformed rejection method PTRS of Hörmann (1993,
///   *Insurance Math Econom* 12:39–45), as in NumPy: two uniforms, with
///   acceptance above 0.9 and no set-up beyond a square root and a log;
/// - `λ ≥ 10⁷`: the normal approximation `⌊λ + √λ·Z + ½⌋`, whose error
///   (skewness `λ^{−1/2} ≤ 3·10⁻⁴`) is far below Monte-Carlo noise, and which
///   avoids PTRS's cancellation between terms of size `λ ln λ`.
///
/// Measured on `benches/forecast.rs` (3,000 regions × 28 days × 1,000
/// paths, 2 cores): 10.6 s with rand_distr's `Poisson`, 2.4 s with this.
fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0.0;
    }
    let lambda = lambda.min(MAX_COUNT);
    if lambda < 10.0 {
        let mut u: f64 = rng.gen();
        let mut p = (-lambda).exp();
        let mut k = 0.0;
        // `p > 0` stops the search should rounding leave `u` above the
        // accumulated mass.
        while u > p && p > 0.0 {
            u -= p;
            k += 1.0;
            p *= lambda / k;
        }
        k
    } else if lambda < 1e7 {
        ptrs(rng, lambda)
    } else {
        let z: f64 = rng.sample(StandardNormal);
        (lambda + lambda.sqrt() * z + 0.5).floor().max(0.0)
    }
}

/// Hörmann's PTRS for `λ ≥ 10`.
fn ptrs<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> f64 {
    let b = 0.931 + 2.53 * lambda.sqrt();
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let v_r = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.gen::<f64>() - 0.5;
        let v: f64 = rng.gen();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= v_r {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        // The exact test, reached in under a tenth of the draws: only here
        // are logarithms needed.
        if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln()
            <= -lambda + k * lambda.ln() - ln_factorial(k)
        {
            return k;
        }
    }
}

/// `ln k!` for a whole `k ≥ 0`: exact products below 16, Stirling's series
/// with four correction terms above (error below 10⁻¹⁴).
fn ln_factorial(k: f64) -> f64 {
    if k < 16.0 {
        let mut product = 1.0;
        let mut i = 2.0;
        while i <= k {
            product *= i;
            i += 1.0;
        }
        product.ln()
    } else {
        let x = k + 1.0;
        let x2 = x * x;
        (x - 0.5) * x.ln() - x
            + 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x
    }
}

/// A negative-binomial draw with the given mean and size, as
/// `Poisson(Gamma(size, mean/size))`; Poisson when the size is not usable.
fn negative_binomial<R: Rng + ?Sized>(rng: &mut R, mean: f64, size: f64) -> f64 {
    if mean.is_nan() || mean <= 0.0 {
        return 0.0;
    }
    match Gamma::new(size, mean / size) {
        Ok(g) if size.is_finite() => {
            let rate = g.sample(rng);
            poisson(rng, rate)
        }
        _ => poisson(rng, mean),
    }
}

// ---------------------------------------------------------------------------
// Baseline
// ---------------------------------------------------------------------------

/// The naive comparator: last week's average carried forward.
///
/// Every forecast day gets the same predictive distribution, centred on the
/// mean `m` of the last 7 observed days (fewer if fewer exist): a negative
/// binomial with mean `m` and size `k = m² / (s² − m)` matched to the sample
/// variance `s²` of those days, or Poisson(`m`) when `s² ≤ m`. Its paths are
/// independent draws, summarised by the same quantile rule as the renewal
/// forecast.
///
/// Why this rule: a Poisson interval around `m` would be a straw man —
/// daily case counts are overdispersed, so its coverage would be poor for
/// reasons unrelated to the lack of a model. Matching the dispersion to the
/// scatter the data showed last week gives the persistence forecast honest
/// intervals; summarising both forecasts from the same number of draws with
/// the same quantile rule makes WIS and coverage compare on equal terms.
/// Its intervals do not widen with the horizon: persistence assumes no
/// change, which is exactly what the renewal model has to beat.
pub fn baseline(
    history: &[f64],
    settings: &ForecastSettings,
    seed: u64,
) -> Result<Projection, ForecastError> {
    check_counts(history)?;
    let week = &history[history.len().saturating_sub(7)..];
    if week.is_empty() {
        return Err(ForecastError::NoHistory);
    }
    let n = week.len() as f64;
    let mean = week.iter().sum::<f64>() / n;
    let variance = if week.len() > 1 {
        week.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let size = (variance > mean).then(|| mean * mean / (variance - mean));
    let mut rng = StdRng::seed_from_u64(seed);
    let values = (0..settings.horizon * settings.paths)
        .map(|_| match size {
            Some(k) => negative_binomial(&mut rng, mean, k),
            None => poisson(&mut rng, mean),
        })
        .collect();
    let paths = SamplePaths {
        horizon: settings.horizon,
        paths: settings.paths,
        values,
    };
    Ok(Projection::from_paths(paths, settings.keep_paths))
}

// ---------------------------------------------------------------------------
// Bed demand
// ---------------------------------------------------------------------------

/// A length-of-stay distribution in whole days, held as its survival
/// function `S(d) = P(stay > d)`, `d = 0, 1, …` (a patient admitted on day
/// `u` with a stay of `ℓ` days is in a bed at the daily census of days
/// `u … u+ℓ−1`, so `S(0) = 1` and the mean stay is `Σ_d S(d)`).
#[derive(Debug, Clone, PartialEq)]
pub struct LengthOfStay {
    survival: Vec<f64>,
    /// `residual[d] = Σ_{j≥d} S(j) / Σ_j S(j)`, see [`bed_demand`].
    residual: Vec<f64>,
}

impl LengthOfStay {
    /// Every patient stays exactly `days` days (1 to [`MAX_STAY`]).
    pub fn fixed(days: usize) -> Result<Self, ForecastError> {
        if !(1..=MAX_STAY).contains(&days) {
            return Err(ForecastError::InvalidStay);
        }
        Ok(Self::from_survival(vec![1.0; days]))
    }

    /// A stay of `d` days with probability `pmf[d]`; `pmf[0]` must be 0
    /// (every admitted patient is counted at least once), the mass must sum
    /// to 1 within 0.01 (it is then renormalised) and end by [`MAX_STAY`].
    pub fn from_pmf(pmf: &[f64]) -> Result<Self, ForecastError> {
        let valid = pmf.iter().all(|p| p.is_finite() && *p >= 0.0);
        let sum: f64 = pmf.iter().sum();
        if !valid || pmf.first() != Some(&0.0) || (sum - 1.0).abs() > 0.01 {
            return Err(ForecastError::InvalidStay);
        }
        let last = pmf.iter().rposition(|p| *p > 0.0).unwrap_or(0);
        if last > MAX_STAY {
            return Err(ForecastError::InvalidStay);
        }
        // S(d) = 1 − Σ_{j≤d} pmf[j] / sum, for d < last.
        let mut cumulative = 0.0;
        let survival = pmf[..last]
            .iter()
            .map(|p| {
                cumulative += p / sum;
                (1.0 - cumulative).max(0.0)
            })
            .collect();
        Ok(Self::from_survival(survival))
    }

    fn from_survival(survival: Vec<f64>) -> Self {
        let mean: f64 = survival.iter().sum();
        let mut tail = 0.0;
        let mut residual: Vec<f64> = survival
            .iter()
            .rev()
            .map(|s| {
                tail += s;
                tail / mean
            })
            .collect();
        residual.reverse();
        Self { survival, residual }
    }

    /// The mean stay in days.
    pub fn mean(&self) -> f64 {
        self.survival.iter().sum()
    }

    fn survival(&self, d: usize) -> f64 {
        self.survival.get(d).copied().unwrap_or(0.0)
    }

    fn residual(&self, d: usize) -> f64 {
        self.residual.get(d).copied().unwrap_or(0.0)
    }
}

/// One kind of hospital bed use, e.g. severe (ward), critical (ICU), or mild
/// cases hospitalised for isolation.
#[derive(Debug, Clone, PartialEq)]
pub struct BedCategory {
    fraction: f64,
    stay: LengthOfStay,
    occupied_today: f64,
}

impl BedCategory {
    /// `fraction` of cases is admitted to this category on the day it is
    /// reported and stays `stay`; `occupied_today` beds hold such patients
    /// at today's census.
    pub fn new(
        fraction: f64,
        stay: LengthOfStay,
        occupied_today: f64,
    ) -> Result<Self, ForecastError> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(ForecastError::InvalidFraction);
        }
        if !(occupied_today.is_finite() && occupied_today >= 0.0) {
            return Err(ForecastError::InvalidOccupancy);
        }
        Ok(Self {
            fraction,
            stay,
            occupied_today,
        })
    }
}

/// Bed categories whose fractions sum to at most 1.
#[derive(Debug, Clone, PartialEq)]
pub struct BedModel(Vec<BedCategory>);

impl BedModel {
    pub fn new(categories: Vec<BedCategory>) -> Result<Self, ForecastError> {
        if categories.is_empty() {
            return Err(ForecastError::NoCategories);
        }
        if categories.iter().map(|c| c.fraction).sum::<f64>() > 1.0 + 1e-9 {
            return Err(ForecastError::InvalidFraction);
        }
        Ok(Self(categories))
    }
}

/// Beds occupied per forecast day: all categories together and each one in
/// the order of the [`BedModel`].
#[derive(Debug, Clone, PartialEq)]
pub struct BedDemand {
    pub total: Vec<DaySummary>,
    pub by_category: Vec<Vec<DaySummary>>,
}

/// Beds occupied on each forecast day, from sample paths of daily cases.
///
/// For category `c` with admitted fraction `f_c`, stay survival `S_c` and
/// `N_c` beds occupied at today's census (day 0), the census on forecast
/// day `d ≥ 1` of one path with cases `I_1 … I_H` is
///
/// ```text
/// B_c(d) = N_c · Q_c(d) + f_c · Σ_{u=1}^{d} I_u · S_c(d − u),
/// Q_c(d) = Σ_{j≥d} S_c(j) / Σ_{j≥0} S_c(j).
/// ```
///
/// New admissions are the expected fraction of each path's cases, admitted
/// on the day the case is reported (binomial noise in admissions is left
/// out: it is small next to the spread between paths once cases number in
/// the tens). `Q_c` is the survival of the *remaining* stay of a patient
/// found in a bed at a census under steady admissions (the
/// forward-recurrence time of renewal theory, e.g. Cox 1962, *Renewal
/// Theory*): today's patients were admitted on various earlier days,
/// so the longest stays are over-represented and part of each stay is
/// already behind them. For a geometric stay `Q_c = S_c` (no memory); for a
/// fixed stay of `L` days `Q_c(d) = (L − d)/L`. The model is consistent: with
/// constant admissions `a` per day and `N_c = a·E[stay]` the census stays at
/// `a·E[stay]` (Little's law). Intervals come from the spread over paths.
pub fn bed_demand(cases: &SamplePaths, model: &BedModel) -> BedDemand {
    let (horizon, n_paths) = (cases.horizon, cases.paths);
    let mut total = vec![0.0; horizon * n_paths];
    let mut census = vec![0.0; horizon * n_paths];
    let mut by_category = Vec::with_capacity(model.0.len());
    for category in &model.0 {
        for (d, day) in census.chunks_exact_mut(n_paths).enumerate() {
            day.fill(category.occupied_today * category.stay.residual(d + 1));
            for u in 0..=d {
                let weight = category.fraction * category.stay.survival(d - u);
                if weight > 0.0 {
                    for (b, i) in day.iter_mut().zip(cases.day(u)) {
                        *b += weight * i;
                    }
                }
            }
        }
        for (t, b) in total.iter_mut().zip(&census) {
            *t += b;
        }
        let paths = SamplePaths {
            horizon,
            paths: n_paths,
            values: census.clone(),
        };
        by_category.push(paths.summaries());
    }
    let total = SamplePaths {
        horizon,
        paths: n_paths,
        values: total,
    };
    BedDemand {
        total: total.summaries(),
        by_category,
    }
}

// ---------------------------------------------------------------------------
// Scoring
// ---------------------------------------------------------------------------

/// The weighted interval score of Bracher, Ray, Gneiting & Reich (2021,
/// *PLoS Comput Biol* 17:e1008618, eq. 2) of a forecast given by its median
/// `m` and `K` central intervals at levels `1 − α_k`:
///
/// ```text
/// WIS(F, y) = 1/(K + ½) · ( w₀·|y − m| + Σ_{k=1}^{K} w_k · IS_{α_k}(F, y) ),
/// w₀ = ½,  w_k = α_k / 2,
/// ```
///
/// with `IS_α` the interval score ([`CentralInterval::interval_score`]).
/// Equivalently it is the mean of the `2K + 1` quantile scores
/// `2·(1(y ≤ q_τ) − τ)·(q_τ − y)` over the quantile levels of the bounds
/// and the median. It is a proper score, in the units of the data, and
/// approximates the CRPS as `K` grows. Lower is better; it is 0 only for a
/// point forecast that is right.
pub fn weighted_interval_score(y: f64, median: f64, intervals: &[CentralInterval]) -> f64 {
    let weighted: f64 = intervals
        .iter()
        .map(|i| (1.0 - i.level) / 2.0 * i.interval_score(y))
        .sum();
    (0.5 * (y - median).abs() + weighted) / (intervals.len() as f64 + 0.5)
}

// ---------------------------------------------------------------------------
// Calibration
// ---------------------------------------------------------------------------

/// What a rolling-origin evaluation scores: forecast horizons (days after
/// the origin), paths per forecast and a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationPlan {
    horizons: Vec<usize>,
    settings: ForecastSettings,
    seed: u64,
}

impl CalibrationPlan {
    /// `horizons` in days (each 1 to [`MAX_HORIZON`]; order and repeats do
    /// not matter), `paths` sample paths per forecast.
    pub fn new(horizons: &[usize], paths: usize, seed: u64) -> Result<Self, ForecastError> {
        let mut horizons = horizons.to_vec();
        horizons.sort_unstable();
        horizons.dedup();
        let longest = *horizons.last().ok_or(ForecastError::NoHorizons)?;
        for &horizon in &horizons {
            ForecastSettings::new(horizon, paths)?;
        }
        Ok(Self {
            horizons,
            settings: ForecastSettings::new(longest, paths)?,
            seed,
        })
    }

    pub fn horizons(&self) -> &[usize] {
        &self.horizons
    }
}

/// The model's and the baseline's scores for one origin and horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredForecast {
    /// Index of the last day the forecast saw.
    pub origin: usize,
    pub horizon: usize,
    pub observed: f64,
    pub model: Score,
    pub baseline: Score,
}

/// Rolling-origin evaluation of the renewal forecast against
/// [`baseline`] on one region's daily series.
///
/// For each origin `t` (an index into `incidence`), both forecasts see
/// `incidence[..=t]`; `posterior` gives the R posterior from that data (the
/// Cori posterior of the last window, say) or `None` to skip the origin.
/// Each horizon `h` with `t + h` inside the series is scored against
/// `incidence[t + h]`. Origins past the end are skipped. The two forecasts
/// share origins, targets, path count and quantile rule, so their scores
/// compare directly.
pub fn calibrate<F>(
    model: &Renewal,
    incidence: &[f64],
    origins: impl IntoIterator<Item = usize>,
    plan: &CalibrationPlan,
    mut posterior: F,
) -> Result<Vec<ScoredForecast>, ForecastError>
where
    F: FnMut(&[f64]) -> Option<RPosterior>,
{
    check_counts(incidence)?;
    let mut scored = Vec::new();
    for origin in origins {
        let Some(seen) = incidence.get(..=origin) else {
            continue;
        };
        let targets: Vec<(usize, f64)> = plan
            .horizons
            .iter()
            .filter_map(|&h| {
                let target = origin.checked_add(h)?;
                incidence.get(target).map(|y| (h, *y))
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(r) = posterior(seen) else {
            continue;
        };
        let seed = mix(plan.seed, origin as u64);
        let forecast = model.project(seen, r, &plan.settings, seed)?;
        let naive = baseline(seen, &plan.settings, mix(seed, u64::MAX))?;
        for (horizon, observed) in targets {
            let (Some(m), Some(b)) = (forecast.days.get(horizon - 1), naive.days.get(horizon - 1))
            else {
                continue;
            };
            scored.push(ScoredForecast {
                origin,
                horizon,
                observed,
                model: m.score(observed),
                baseline: b.score(observed),
            });
        }
    }
    Ok(scored)
}

/// SplitMix64's finaliser over `seed + stream·γ`: distinct streams give
/// unrelated seeds.
fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed.wrapping_add(stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Coverage and mean WIS of one forecaster over a set of forecasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreSummary {
    /// Share of observations inside the 50 % interval (ideal: 0.5).
    pub coverage50: f64,
    /// Share of observations inside the 90 % interval (ideal: 0.9).
    pub coverage90: f64,
    pub mean_wis: f64,
}

/// Scores aggregated over every origin (and region) at one horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HorizonSummary {
    pub horizon: usize,
    pub forecasts: usize,
    pub model: ScoreSummary,
    pub baseline: ScoreSummary,
    /// Mean model WIS over mean baseline WIS on the same forecasts (below 1:
    /// the model beats persistence); `None` if the baseline scored 0.
    pub relative_wis: Option<f64>,
}

/// Aggregates scored forecasts, from one region or many, by horizon
/// (ascending).
pub fn summarise_scores(scores: &[ScoredForecast]) -> Vec<HorizonSummary> {
    let mut horizons: Vec<usize> = scores.iter().map(|s| s.horizon).collect();
    horizons.sort_unstable();
    horizons.dedup();
    horizons
        .into_iter()
        .map(|horizon| {
            let at: Vec<&ScoredForecast> = scores.iter().filter(|s| s.horizon == horizon).collect();
            let n = at.len() as f64;
            let summary = |pick: fn(&ScoredForecast) -> Score| {
                let share = |hit: fn(&Score) -> bool| {
                    at.iter().filter(|s| hit(&pick(s))).count() as f64 / n
                };
                ScoreSummary {
                    coverage50: share(|s| s.covered50),
                    coverage90: share(|s| s.covered90),
                    mean_wis: at.iter().map(|s| pick(s).wis).sum::<f64>() / n,
                }
            };
            let model = summary(|s| s.model);
            let baseline = summary(|s| s.baseline);
            HorizonSummary {
                horizon,
                forecasts: at.len(),
                model,
                baseline,
                relative_wis: (baseline.mean_wis > 0.0).then(|| model.mean_wis / baseline.mean_wis),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok<T, E: fmt::Debug>(r: Result<T, E>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    fn interval(level: f64, lower: f64, upper: f64) -> CentralInterval {
        ok(CentralInterval::new(level, lower, upper))
    }

    /// Sample mean and variance.
    fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    /// A posterior so concentrated that R is effectively fixed.
    fn fixed_r(r: f64) -> RPosterior {
        ok(RPosterior::new(1e8, r / 1e8))
    }

    fn one_day_si() -> SiWeights {
        ok(SiWeights::new(&[0.0, 1.0]))
    }

    // --- inputs -----------------------------------------------------------

    #[test]
    fn si_weights_are_checked_and_trimmed() {
        assert_eq!(
            SiWeights::new(&[0.1, 0.9]),
            Err(ForecastError::SiFirstNotZero)
        );
        assert_eq!(
            SiWeights::new(&[0.0, -0.1, 1.1]),
            Err(ForecastError::SiInvalidWeight { index: 1 })
        );
        assert_eq!(
            SiWeights::new(&[0.0, 0.5]),
            Err(ForecastError::SiSum { sum: 0.5 })
        );
        assert!(matches!(
            SiWeights::new(&[]),
            Err(ForecastError::SiSum { .. })
        ));
        let w = ok(SiWeights::new(&[0.0, 0.3, 0.695, 0.0, 0.0]));
        assert_eq!(w.as_slice(), &[0.0, 0.3, 0.695]);
    }

    #[test]
    fn settings_and_posteriors_are_checked() {
        assert_eq!(
            ForecastSettings::new(0, 10),
            Err(ForecastError::InvalidHorizon { horizon: 0 })
        );
        assert_eq!(
            ForecastSettings::new(7, MAX_PATHS + 1),
            Err(ForecastError::InvalidPaths {
                paths: MAX_PATHS + 1
            })
        );
        assert_eq!(
            RPosterior::new(0.0, 1.0),
            Err(ForecastError::InvalidPosterior)
        );
        assert_eq!(
            RPosterior::new(2.0, f64::INFINITY),
            Err(ForecastError::InvalidPosterior)
        );
        assert_eq!(ok(RPosterior::new(4.0, 0.25)).mean(), 1.0);
        assert_eq!(Dispersion::new(0.0), Err(ForecastError::InvalidDispersion));
    }

    // --- sampling ---------------------------------------------------------

    #[test]
    fn ln_factorial_is_exact_enough() {
        // ln 10! and ln 20! (exact factorials), ln 100! (tabulated).
        assert!(close(ln_factorial(0.0), 0.0, 1e-15));
        assert!(close(ln_factorial(10.0), 3_628_800f64.ln(), 1e-14));
        assert!(close(
            ln_factorial(20.0),
            2_432_902_008_176_640_000f64.ln(),
            1e-14
        ));
        assert!(close(ln_factorial(100.0), 363.739_375_555_563_5, 1e-14));
        // Continuity across the switch from products to Stirling.
        assert!(close(
            ln_factorial(16.0) - ln_factorial(15.0),
            16f64.ln(),
            1e-13
        ));
    }

    #[test]
    fn poisson_draws_have_the_right_moments() {
        let mut rng = StdRng::seed_from_u64(1);
        for lambda in [0.3, 4.0, 9.99, 10.0, 37.5, 1_000.0, 2e7] {
            let xs: Vec<f64> = (0..200_000).map(|_| poisson(&mut rng, lambda)).collect();
            let (mean, var) = moments(&xs);
            // Standard error of the mean is sqrt(λ / n); allow 5 of them.
            assert!(
                (mean - lambda).abs() < 5.0 * (lambda / 200_000.0).sqrt(),
                "λ {lambda}: mean {mean}"
            );
            assert!((var / lambda - 1.0).abs() < 0.02, "λ {lambda}: var {var}");
            assert!(xs.iter().all(|x| x.fract() == 0.0 && *x >= 0.0));
        }
        assert_eq!(poisson(&mut rng, 0.0), 0.0);
        assert_eq!(poisson(&mut rng, -3.0), 0.0);
        assert_eq!(poisson(&mut rng, f64::NAN), 0.0);
        let capped = poisson(&mut rng, f64::INFINITY);
        assert!(capped.is_finite() && capped < 1.001 * MAX_COUNT);
    }

    #[test]
    fn ptrs_matches_the_poisson_mass_function() {
        // Frequencies of k for λ = 15 (PTRS) against the exact pmf, within
        // 5 binomial standard errors.
        let lambda = 15.0;
        let n = 400_000;
        let mut rng = StdRng::seed_from_u64(2);
        let mut counts = [0usize; 60];
        for _ in 0..n {
            let k = poisson(&mut rng, lambda) as usize;
            if let Some(c) = counts.get_mut(k) {
                *c += 1;
            }
        }
        for (k, c) in counts.iter().enumerate().take(35).skip(3) {
            let p = (-lambda + k as f64 * f64::ln(lambda) - ln_factorial(k as f64)).exp();
            let se = (p * (1.0 - p) / n as f64).sqrt();
            let freq = *c as f64 / n as f64;
            assert!((freq - p).abs() < 5.0 * se + 1e-5, "k {k}: {freq} vs {p}");
        }
    }

    #[test]
    fn negative_binomial_draws_have_the_right_moments() {
        let mut rng = StdRng::seed_from_u64(3);
        let (mean, size) = (40.0, 2.5);
        let xs: Vec<f64> = (0..200_000)
            .map(|_| negative_binomial(&mut rng, mean, size))
            .collect();
        let (m, v) = moments(&xs);
        assert!(close(m, mean, 0.01), "{m}");
        assert!(close(v, mean + mean * mean / size, 0.03), "{v}");
        assert_eq!(negative_binomial(&mut rng, 0.0, 1.0), 0.0);
    }

    // --- summaries --------------------------------------------------------

    #[test]
    fn quantiles_follow_r_type_7() {
        // R: quantile(c(1, 2, 3, 4), c(0.25, 0.5, 0.9)) = 1.75, 2.5, 3.7
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert!(close(quantile_sorted(&xs, 0.25), 1.75, 1e-15));
        assert!(close(quantile_sorted(&xs, 0.5), 2.5, 1e-15));
        assert!(close(quantile_sorted(&xs, 0.9), 3.7, 1e-15));
        assert_eq!(quantile_sorted(&xs, 1.0), 4.0);
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);

        // R: quantile(0:20, c(.025, .05, .25, .5, .75, .95, .975))
        //  = 0.5 1 5 10 15 19 19.5
        let mut sample: Vec<f64> = (0..=20).rev().map(f64::from).collect();
        let s = DaySummary::of_sample(&mut sample);
        assert_eq!(s.mean, 10.0);
        assert_eq!(s.median, 10.0);
        assert_eq!((s.p50.lower, s.p50.upper), (5.0, 15.0));
        assert_eq!((s.p90.lower, s.p90.upper), (1.0, 19.0));
        assert_eq!((s.p95.lower, s.p95.upper), (0.5, 19.5));
    }

    #[test]
    fn sample_paths_round_trip() {
        let paths = ok(SamplePaths::from_paths(&[
            vec![1.0, 2.0, 3.0],
            vec![4.0, 5.0, 6.0],
        ]));
        assert_eq!((paths.horizon(), paths.paths()), (3, 2));
        assert_eq!(paths.day(1), &[2.0, 5.0]);
        assert_eq!(paths.day(3), &[] as &[f64]);
        assert_eq!(paths.path(1).collect::<Vec<_>>(), vec![4.0, 5.0, 6.0]);
        assert_eq!(paths.path(2).count(), 0);
        assert_eq!(
            SamplePaths::from_paths(&[vec![1.0], vec![1.0, 2.0]]),
            Err(ForecastError::RaggedPaths)
        );
        assert_eq!(
            SamplePaths::from_paths::<Vec<f64>>(&[]),
            Err(ForecastError::RaggedPaths)
        );
        assert_eq!(
            SamplePaths::from_paths(&[vec![1.0, -2.0]]),
            Err(ForecastError::InvalidCount { index: 1 })
        );
    }

    // --- renewal projection -----------------------------------------------

    #[test]
    fn critical_branching_process_keeps_its_mean_and_spreads() {
        // SI of exactly one day and R = 1: a Galton–Watson process with
        // Poisson(1) offspring from 100 cases, so E[I_h] = 100 and
        // Var[I_h] = 100·h.
        let model = Renewal::new(one_day_si(), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(5, 20_000)).keeping_paths();
        let p = ok(model.project(&[3.0, 50.0, 100.0], fixed_r(1.0), &settings, 7));
        let Some(paths) = &p.paths else {
            panic!("paths were asked for")
        };
        for h in 0..5 {
            let (mean, var) = moments(paths.day(h));
            let expected_var = 100.0 * (h + 1) as f64;
            assert!((mean - 100.0).abs() < 5.0 * (expected_var / 20_000.0).sqrt());
            assert!(close(var, expected_var, 0.05), "day {}: {var}", h + 1);
            assert!(close(p.days[h].mean, mean, 1e-12));
        }
        // Day 1 is Poisson(100): central 90 % interval [84, 117].
        assert!((p.days[0].p90.lower - 84.0).abs() <= 1.0);
        assert!((p.days[0].p90.upper - 117.0).abs() <= 1.0);
    }

    #[test]
    fn mean_path_follows_the_deterministic_renewal_equation() {
        let w = [0.0, 0.2, 0.5, 0.3];
        let r = 1.3;
        let past: Vec<f64> = (0..30).map(|t| 50.0 + t as f64).collect();
        let model = Renewal::new(ok(SiWeights::new(&w)), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(10, 10_000));
        let p = ok(model.project(&past, fixed_r(r), &settings, 11));
        // E[I_t] = R · Σ_s w_s E[I_{t−s}], by linearity.
        let mut expected = past.clone();
        for _ in 0..10 {
            let t = expected.len();
            let lambda: f64 = (1..w.len()).map(|s| w[s] * expected[t - s]).sum();
            expected.push(r * lambda);
        }
        for (h, day) in p.days.iter().enumerate() {
            assert!(
                close(day.mean, expected[30 + h], 0.01),
                "day {}: {} vs {}",
                h + 1,
                day.mean,
                expected[30 + h]
            );
        }
    }

    #[test]
    fn posterior_uncertainty_widens_the_intervals() {
        // Same mean R, but a diffuse posterior: R drawn once per path makes
        // the paths fan out.
        let model = Renewal::new(ok(SiWeights::new(&[0.0, 0.4, 0.6])), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(14, 4_000));
        let past = [80.0; 20];
        let sharp = ok(model.project(&past, fixed_r(1.0), &settings, 5));
        let diffuse = ok(model.project(&past, ok(RPosterior::new(25.0, 0.04)), &settings, 5));
        let width = |p: &Projection| p.days[13].p90.upper - p.days[13].p90.lower;
        assert!(width(&diffuse) > 2.0 * width(&sharp));
    }

    #[test]
    fn negative_binomial_offspring_is_more_dispersed() {
        let si = ok(SiWeights::new(&[0.0, 0.4, 0.6]));
        let settings = ok(ForecastSettings::new(7, 4_000)).keeping_paths();
        let past = [200.0; 10];
        let poisson = Renewal::new(si.clone(), Offspring::Poisson);
        let nb = Renewal::new(si, Offspring::NegativeBinomial(ok(Dispersion::new(0.1))));
        let p = ok(poisson.project(&past, fixed_r(1.0), &settings, 9));
        let q = ok(nb.project(&past, fixed_r(1.0), &settings, 9));
        let day1 = |p: &Projection| match &p.paths {
            Some(paths) => moments(paths.day(0)),
            None => panic!("paths were asked for"),
        };
        let ((pm, pv), (qm, qv)) = (day1(&p), day1(&q));
        // Day 1: Λ = 200, so NB(mean 200, size 20): variance 200 + 200²/20.
        assert!(close(pm, 200.0, 0.01) && close(qm, 200.0, 0.02));
        assert!(close(pv, 200.0, 0.08), "{pv}");
        assert!(close(qv, 2_200.0, 0.08), "{qv}");
    }

    #[test]
    fn projections_are_reproducible_and_seeded() {
        let model = Renewal::new(ok(SiWeights::new(&[0.0, 0.4, 0.6])), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(7, 200));
        let past = [5.0, 8.0, 13.0];
        let posterior = ok(RPosterior::new(30.0, 0.05));
        let a = ok(model.project(&past, posterior, &settings, 42));
        let b = ok(model.project(&past, posterior, &settings, 42));
        let c = ok(model.project(&past, posterior, &settings, 43));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.paths, None);

        let inputs = [
            RegionInput {
                incidence: &past,
                posterior,
                seed: 42,
            },
            RegionInput {
                incidence: &[1.0, 2.0],
                posterior,
                seed: 43,
            },
            RegionInput {
                incidence: &[1.0, -2.0],
                posterior,
                seed: 44,
            },
        ];
        let all = model.project_regions(&inputs, &settings);
        assert_eq!(all[0], Ok(a));
        assert_eq!(all[1], model.project(&[1.0, 2.0], posterior, &settings, 43));
        assert_eq!(all[2], Err(ForecastError::InvalidCount { index: 1 }));
    }

    #[test]
    fn no_infectiousness_means_no_cases() {
        let model = Renewal::new(ok(SiWeights::new(&[0.0, 0.5, 0.5])), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(7, 100));
        let none = ok(model.project(&[], fixed_r(2.0), &settings, 1));
        assert!(none
            .days
            .iter()
            .all(|d| d.mean == 0.0 && d.p95.upper == 0.0));
        // Cases long ago, beyond the serial interval's support.
        let old = ok(model.project(&[9.0, 0.0, 0.0], fixed_r(2.0), &settings, 1));
        assert!(old.days.iter().all(|d| d.p95.upper == 0.0));
    }

    #[test]
    fn explosive_paths_stay_finite() {
        let model = Renewal::new(one_day_si(), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(MAX_HORIZON, 20));
        let p = ok(model.project(&[1e14], ok(RPosterior::new(1.0, 1e6)), &settings, 3));
        for day in &p.days {
            assert!(day.mean.is_finite() && day.p95.upper.is_finite());
            assert!(day.p95.upper <= MAX_COUNT * 1.001);
        }
    }

    // --- baseline ---------------------------------------------------------

    #[test]
    fn baseline_carries_last_weeks_mean_with_poisson_noise_when_calm() {
        // Last 7 days all 20 (older days ignored): variance 0 → Poisson(20),
        // whose 5 % and 95 % quantiles are 13 and 28.
        let history = [900.0, 900.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0];
        let settings = ok(ForecastSettings::new(3, 20_000));
        let b = ok(baseline(&history, &settings, 1));
        assert_eq!(b.days.len(), 3);
        for day in &b.days {
            assert!(close(day.mean, 20.0, 0.01));
            assert_eq!(day.median, 20.0);
            assert_eq!((day.p90.lower, day.p90.upper), (13.0, 28.0));
        }
    }

    #[test]
    fn baseline_matches_last_weeks_scatter() {
        // Mean 130/7, sample variance 800/7·… > mean: negative binomial whose
        // variance equals the sample variance.
        let history = [10.0, 30.0, 10.0, 30.0, 10.0, 30.0, 10.0];
        let (m, s2) = moments(&history);
        let settings = ok(ForecastSettings::new(2, 20_000)).keeping_paths();
        let b = ok(baseline(&history, &settings, 2));
        let Some(paths) = &b.paths else {
            panic!("paths were asked for")
        };
        let (mean, var) = moments(paths.day(1));
        assert!(close(mean, m, 0.02), "{mean} vs {m}");
        assert!(close(var, s2, 0.05), "{var} vs {s2}");
        assert_eq!(baseline(&[], &settings, 1), Err(ForecastError::NoHistory));
        // A single day: Poisson around it.
        let one = ok(baseline(&[4.0], &settings, 3));
        assert!(close(one.days[0].mean, 4.0, 0.03));
    }

    // --- bed demand -------------------------------------------------------

    fn constant_cases(per_day: f64, horizon: usize) -> SamplePaths {
        ok(SamplePaths::from_paths(&[vec![per_day; horizon]]))
    }

    fn beds(cases: &SamplePaths, categories: Vec<BedCategory>) -> BedDemand {
        bed_demand(cases, &ok(BedModel::new(categories)))
    }

    #[test]
    fn steady_admissions_fill_a_times_l_beds() {
        // 100 cases a day, 10 % admitted (a = 10 a day), fixed 5-day stay.
        let cases = constant_cases(100.0, 12);
        let stay = || ok(LengthOfStay::fixed(5));
        // Starting from the steady census a·L = 50, it stays at 50.
        let d = beds(&cases, vec![ok(BedCategory::new(0.1, stay(), 50.0))]);
        for day in &d.total {
            assert!(close(day.median, 50.0, 1e-12), "{}", day.median);
        }
        // Starting empty, it fills by a a day until the first leave at L.
        let d = beds(&cases, vec![ok(BedCategory::new(0.1, stay(), 0.0))]);
        let census: Vec<f64> = d.total.iter().map(|s| s.median).collect();
        let expected = [
            10.0, 20.0, 30.0, 40.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0,
        ];
        for (c, e) in census.iter().zip(expected) {
            assert!(close(*c, e, 1e-12), "{census:?}");
        }
        // With no new cases, today's 50 patients leave evenly over 5 days.
        let d = beds(
            &constant_cases(0.0, 6),
            vec![ok(BedCategory::new(0.1, stay(), 50.0))],
        );
        let census: Vec<f64> = d.total.iter().map(|s| s.median).collect();
        for (c, e) in census.iter().zip([40.0, 30.0, 20.0, 10.0, 0.0, 0.0]) {
            assert!(close(*c, e, 1e-12), "{census:?}");
        }
    }

    #[test]
    fn steady_state_holds_for_any_stay_distribution() {
        // Stay 1 day w.p. 0.5, 2 days w.p. 0.3, 4 days w.p. 0.2: mean 1.9.
        let stay = ok(LengthOfStay::from_pmf(&[0.0, 0.5, 0.3, 0.0, 0.2]));
        assert!(close(stay.mean(), 1.9, 1e-12));
        // Residual survival: Q(d) = Σ_{j≥d} S(j) / 1.9 with S = 1, .5, .2, .2.
        assert!(close(stay.residual(1), 0.9 / 1.9, 1e-12));
        assert!(close(stay.residual(3), 0.2 / 1.9, 1e-12));
        assert_eq!(stay.residual(4), 0.0);
        // a = 0.2 · 50 = 10 a day: census a · E[stay] = 19 throughout.
        let cases = constant_cases(50.0, 10);
        let d = beds(&cases, vec![ok(BedCategory::new(0.2, stay, 19.0))]);
        for day in &d.total {
            assert!(close(day.median, 19.0, 1e-12), "{}", day.median);
        }
    }

    #[test]
    fn categories_add_up_and_paths_give_intervals() {
        // Two paths: 0 and 200 cases every day.
        let cases = ok(SamplePaths::from_paths(&[vec![0.0; 3], vec![200.0; 3]]));
        let severe = ok(BedCategory::new(0.05, ok(LengthOfStay::fixed(10)), 30.0));
        let critical = ok(BedCategory::new(0.01, ok(LengthOfStay::fixed(2)), 4.0));
        let d = beds(&cases, vec![severe, critical]);
        assert_eq!(d.by_category.len(), 2);
        // Day 1, path 0: 30·0.9 + 4·0.5 = 29; path 1: 29 + 10 + 2 = 41.
        let day1 = d.total[0];
        assert!(close(day1.mean, 35.0, 1e-12));
        assert!(close(day1.p90.lower, 29.0 + 0.05 * 12.0, 1e-12));
        assert!(close(day1.p90.upper, 41.0 - 0.05 * 12.0, 1e-12));
        assert!(close(d.by_category[0][0].mean, 27.0 + 5.0, 1e-12));
        assert!(close(d.by_category[1][0].mean, 2.0 + 1.0, 1e-12));
        // Day 3, path 1, critical: today's 4 gone, 2 days of admissions = 4.
        assert!(close(
            d.by_category[1][2].p95.upper,
            4.0 - 0.025 * 4.0,
            1e-12
        ));
    }

    #[test]
    fn bed_inputs_are_checked() {
        assert_eq!(LengthOfStay::fixed(0), Err(ForecastError::InvalidStay));
        assert_eq!(
            LengthOfStay::fixed(MAX_STAY + 1),
            Err(ForecastError::InvalidStay)
        );
        assert_eq!(
            LengthOfStay::from_pmf(&[0.2, 0.8]),
            Err(ForecastError::InvalidStay)
        );
        assert_eq!(
            LengthOfStay::from_pmf(&[0.0, 0.5]),
            Err(ForecastError::InvalidStay)
        );
        let stay = || ok(LengthOfStay::fixed(3));
        assert_eq!(
            BedCategory::new(1.5, stay(), 0.0),
            Err(ForecastError::InvalidFraction)
        );
        assert_eq!(
            BedCategory::new(0.5, stay(), f64::NAN),
            Err(ForecastError::InvalidOccupancy)
        );
        let half = || ok(BedCategory::new(0.6, stay(), 0.0));
        assert_eq!(
            BedModel::new(vec![half(), half()]),
            Err(ForecastError::InvalidFraction)
        );
        assert_eq!(BedModel::new(vec![]), Err(ForecastError::NoCategories));
    }

    // --- scoring ----------------------------------------------------------

    #[test]
    fn wis_by_hand() {
        // y = 10, median 6, 50 % interval [4, 8], 90 % interval [2, 12]:
        //   ½·|10 − 6|                      = 2
        //   α = 0.5: (8 − 4) + (2/0.5)(10 − 8) = 12, weight 0.25 → 3
        //   α = 0.1: (12 − 2), y inside       = 10, weight 0.05 → 0.5
        //   WIS = (2 + 3 + 0.5) / (2 + ½)      = 2.2
        let i50 = interval(0.5, 4.0, 8.0);
        let i90 = interval(0.9, 2.0, 12.0);
        assert!(close(
            weighted_interval_score(10.0, 6.0, &[i50, i90]),
            2.2,
            1e-15
        ));
        // Adding the 95 % interval [1, 15]: + 0.025·14 = 0.35, K = 3.
        let i95 = interval(0.95, 1.0, 15.0);
        assert!(close(
            weighted_interval_score(10.0, 6.0, &[i50, i90, i95]),
            5.85 / 3.5,
            1e-15
        ));
        // Below every interval: y = 0.
        //   ½·6 = 3; α = 0.5: 4 + 4·4 = 20 → 5; α = 0.1: 10 + 20·2 = 50 → 2.5
        assert!(close(
            weighted_interval_score(0.0, 6.0, &[i50, i90]),
            10.5 / 2.5,
            1e-15
        ));
        // K = 0: the absolute error of the median.
        assert_eq!(weighted_interval_score(3.0, 7.5, &[]), 4.5);
        // A point forecast that is right scores 0.
        let point = interval(0.9, 5.0, 5.0);
        assert_eq!(weighted_interval_score(5.0, 5.0, &[point]), 0.0);
    }

    #[test]
    fn coverage_is_closed_and_intervals_are_checked() {
        let i = interval(0.5, 4.0, 8.0);
        assert!(i.contains(4.0) && i.contains(8.0) && i.contains(6.0));
        assert!(!i.contains(3.999) && !i.contains(8.001));
        assert_eq!(
            CentralInterval::new(0.5, 8.0, 4.0),
            Err(ForecastError::InvalidInterval)
        );
        assert_eq!(
            CentralInterval::new(1.0, 4.0, 8.0),
            Err(ForecastError::InvalidInterval)
        );
        assert_eq!(
            CentralInterval::new(0.5, f64::NAN, 8.0),
            Err(ForecastError::InvalidInterval)
        );
    }

    #[test]
    fn day_summary_scores_all_three_intervals() {
        let s = DaySummary {
            mean: 7.0,
            median: 6.0,
            p50: interval(0.5, 4.0, 8.0),
            p90: interval(0.9, 2.0, 12.0),
            p95: interval(0.95, 1.0, 15.0),
        };
        let score = s.score(10.0);
        assert!(close(score.wis, 5.85 / 3.5, 1e-15));
        assert!(!score.covered50 && score.covered90);
    }

    /// The quantile score `2·(1(y ≤ q) − τ)·(q − y)`.
    fn quantile_score(tau: f64, q: f64, y: f64) -> f64 {
        2.0 * (f64::from(u8::from(y <= q)) - tau) * (q - y)
    }

    proptest! {
        #[test]
        fn wis_is_the_mean_quantile_score(
            y in -50.0f64..150.0,
            median in 0.0f64..100.0,
            spreads in prop::collection::vec((0.0f64..40.0, 0.0f64..40.0), 0..5),
        ) {
            // Nested intervals around the median at levels 0.2, 0.4, …
            let mut intervals = Vec::new();
            let mut quantiles = vec![(0.5, median)];
            let (mut lo, mut hi) = (median, median);
            for (k, (down, up)) in spreads.iter().enumerate() {
                let level = 0.2 * (k + 1) as f64 - 0.01;
                lo -= down;
                hi += up;
                intervals.push(interval(level, lo, hi));
                quantiles.push(((1.0 - level) / 2.0, lo));
                quantiles.push(((1.0 + level) / 2.0, hi));
            }
            let mean_qs = quantiles.iter().map(|(tau, q)| quantile_score(*tau, *q, y)).sum::<f64>()
                / quantiles.len() as f64;
            let wis = weighted_interval_score(y, median, &intervals);
            prop_assert!((wis - mean_qs).abs() < 1e-9 * (1.0 + wis.abs()), "{wis} vs {mean_qs}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_inputs_never_panic(
            incidence in prop::collection::vec(prop::num::f64::ANY, 0..12),
            positive in prop::collection::vec(0.0f64..1e300, 0..12),
            shape in prop::num::f64::ANY,
            scale in prop::num::f64::ANY,
            k in prop::num::f64::ANY,
        ) {
            let si = ok(SiWeights::new(&[0.0, 0.3, 0.7]));
            let settings = ok(ForecastSettings::new(10, 20)).keeping_paths();
            let offspring = Dispersion::new(k).map_or(Offspring::Poisson, Offspring::NegativeBinomial);
            let model = Renewal::new(si, offspring);
            let posterior = RPosterior::new(shape, scale).unwrap_or_else(|_| fixed_r(3.0));
            let _ = model.project(&incidence, posterior, &settings, 1);
            let _ = baseline(&incidence, &settings, 1);
            let p = ok(model.project(&positive, posterior, &settings, 1));
            for day in &p.days {
                prop_assert!(!day.mean.is_nan() && !day.p95.upper.is_nan());
            }
            if let Some(paths) = &p.paths {
                let stay = ok(LengthOfStay::fixed(4));
                let d = bed_demand(paths, &ok(BedModel::new(vec![ok(BedCategory::new(0.1, stay, 7.0))])));
                prop_assert!(d.total.iter().all(|s| s.median.is_finite()));
            }
        }
    }

    // --- calibration ------------------------------------------------------

    #[test]
    fn plans_are_checked() {
        assert_eq!(
            CalibrationPlan::new(&[], 100, 1),
            Err(ForecastError::NoHorizons)
        );
        assert_eq!(
            CalibrationPlan::new(&[7, 0], 100, 1),
            Err(ForecastError::InvalidHorizon { horizon: 0 })
        );
        assert_eq!(
            CalibrationPlan::new(&[7], 0, 1),
            Err(ForecastError::InvalidPaths { paths: 0 })
        );
        let plan = ok(CalibrationPlan::new(&[14, 7, 14, 28], 100, 1));
        assert_eq!(plan.horizons(), &[7, 14, 28]);
    }

    /// One simulated epidemic from the model itself: R = 1.1, SI over 1–4
    /// days.
    fn simulated_epidemic() -> (Renewal, Vec<f64>) {
        let w = [0.0, 0.2, 0.4, 0.3, 0.1];
        let model = Renewal::new(ok(SiWeights::new(&w)), Offspring::Poisson);
        let mut rng = StdRng::seed_from_u64(2020);
        let mut series = vec![20.0; 5];
        for t in 5..110 {
            let r = 1.1;
            let lambda: f64 = (1..w.len()).map(|s| w[s] * series[t - s]).sum();
            series.push(poisson(&mut rng, r * lambda));
        }
        (model, series)
    }

    /// Cori et al.'s posterior over the last 7 days, prior mean 5, sd 5.
    fn cori_last_week(w: &[f64]) -> impl FnMut(&[f64]) -> Option<RPosterior> + '_ {
        move |seen: &[f64]| {
            let t = seen.len();
            let window = t.checked_sub(7)?..t;
            let lambda =
                |u: usize| -> f64 { (1..w.len().min(u + 1)).map(|s| w[s] * seen[u - s]).sum() };
            let cases: f64 = seen[window.clone()].iter().sum();
            let exposure: f64 = window.map(lambda).sum();
            RPosterior::new(1.0 + cases, 1.0 / (0.2 + exposure)).ok()
        }
    }

    #[test]
    fn the_renewal_model_is_calibrated_on_its_own_epidemic() {
        let (model, series) = simulated_epidemic();
        let w = [0.0, 0.2, 0.4, 0.3, 0.1];
        let plan = ok(CalibrationPlan::new(&[7, 14], 1_000, 99));
        let scores = ok(calibrate(
            &model,
            &series,
            (20..95).step_by(2),
            &plan,
            cori_last_week(&w),
        ));
        let summary = summarise_scores(&scores);
        assert_eq!(summary.len(), 2);
        let week = summary[0];
        assert_eq!((week.horizon, week.forecasts), (7, 38));
        assert_eq!(summary[1].forecasts, 38);
        // The model is the truth here, so its intervals are close to
        // nominal (observed: 0.47 and 0.92 at 7 days), while persistence
        // misses a growing epidemic entirely.
        assert!((0.3..=0.7).contains(&week.model.coverage50), "{week:?}");
        assert!(week.model.coverage90 >= 0.8, "{week:?}");
        for h in &summary {
            assert!(h.relative_wis.is_some_and(|r| r < 0.5), "{h:?}");
            assert!(h.baseline.coverage90 < 0.2, "{h:?}");
        }
    }

    #[test]
    fn calibration_skips_what_it_cannot_score() {
        let (model, series) = simulated_epidemic();
        let plan = ok(CalibrationPlan::new(&[7, 28], 50, 1));
        let n = series.len();
        // An origin 10 days before the end can score h = 7 only; one past
        // the end nothing; one without a posterior nothing.
        let scores = ok(calibrate(
            &model,
            &series,
            [n - 11, n + 5, usize::MAX, 30],
            &plan,
            |seen: &[f64]| (seen.len() != 31).then(|| fixed_r(1.0)),
        ));
        assert_eq!(scores.len(), 1);
        assert_eq!((scores[0].origin, scores[0].horizon), (n - 11, 7));
        assert_eq!(scores[0].observed, series[n - 4]);
    }

    #[test]
    fn calibration_is_reproducible() {
        let (model, series) = simulated_epidemic();
        let plan = ok(CalibrationPlan::new(&[7], 100, 5));
        let run = || {
            ok(calibrate(
                &model,
                &series,
                [30, 40],
                &plan,
                |_: &[f64]| Some(fixed_r(1.0)),
            ))
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn summaries_aggregate_by_horizon() {
        let score = |wis: f64, covered50: bool, covered90: bool| Score {
            wis,
            covered50,
            covered90,
        };
        let scored = |horizon, model, baseline| ScoredForecast {
            origin: 0,
            horizon,
            observed: 0.0,
            model,
            baseline,
        };
        let scores = [
            scored(14, score(2.0, true, true), score(4.0, false, true)),
            scored(7, score(1.0, true, true), score(0.0, true, true)),
            scored(14, score(4.0, false, true), score(8.0, false, false)),
            scored(14, score(0.0, false, false), score(3.0, true, true)),
            scored(14, score(2.0, false, true), score(5.0, false, true)),
        ];
        let s = summarise_scores(&scores);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].horizon, s[0].forecasts), (7, 1));
        assert_eq!(s[0].relative_wis, None);
        let two = s[1];
        assert_eq!((two.horizon, two.forecasts), (14, 4));
        assert_eq!(
            two.model,
            ScoreSummary {
                coverage50: 0.25,
                coverage90: 0.75,
                mean_wis: 2.0
            }
        );
        assert_eq!(
            two.baseline,
            ScoreSummary {
                coverage50: 0.25,
                coverage90: 0.75,
                mean_wis: 5.0
            }
        );
        assert_eq!(two.relative_wis, Some(0.4));
        assert!(summarise_scores(&[]).is_empty());
    }

    #[test]
    fn seeds_mix_into_distinct_streams() {
        assert_ne!(mix(1, 0), mix(1, 1));
        assert_ne!(mix(1, 0), mix(2, 0));
        assert_eq!(mix(7, 3), mix(7, 3));
    }
}
