//! Short-term forecasts of daily cases: renewal-equation projections with
//! prediction intervals, a persistence baseline and their ensemble, hospital
//! bed demand, and forecast scoring.
//!
//! # Which function to call
//!
//! One region, everything included (Rt estimation, the R path, simulation,
//! the ensemble):
//!
//! ```text
//! forecast(cases: Cases<'_>, si: &SerialInterval, rt_config: &RtConfig,
//!          settings: &ForecastSettings, seed: u64) -> Result<Projection, ForecastError>
//! ```
//!
//! with `Cases::local_only(&daily)` (or `Cases::with_imported(&local,
//! &imported)?`), the serial interval of [`crate::serial_interval`], the Rt
//! settings of [`crate::rt`] (`RtConfig::default()` is EpiEstim's) and
//! `ForecastSettings::new(horizon, paths)?` — by default
//! [`Method::Ensemble`] with Poisson offspring and damping 0.8 per week;
//! `.keeping_paths()` for [`bed_demand`]. For many regions in parallel,
//! [`forecast_regions`] (`&[Cases]`, one seed; region `i` gets its own
//! stream). Both are CPU-bound (about 2 ms per region at 28 days and 1,000
//! paths): call them from a blocking thread in an async server.
//!
//! The parts, for callers that have their own R: [`Renewal::project`] (R
//! constant, as first issued), [`Renewal::project_path`] (any [`RPath`]),
//! [`Renewal::project_regions`], [`baseline`], [`bed_demand`],
//! [`weighted_interval_score`], and the rolling-origin evaluation
//! [`calibrate`] / [`calibrate_with`] / [`summarise_scores`].
//!
//! Source layout: `pipeline` ([`forecast`]), `inputs` (settings, posteriors,
//! serial-interval weights), `renewal` (simulation, [`RPath`]), `baseline`,
//! `ensemble` (quantile average), `summary` (intervals, sample paths),
//! `sampling` (Poisson and negative-binomial draws), `beds`, `score`,
//! `calibrate`.
//!
//! # The renewal projection
//!
//! As in the R package `projections` (Jombart, Nouvellet et al.; the method
//! of Nouvellet et al. 2018, *Epidemics* 22:29–35), future daily incidence
//! follows the renewal equation with the serial interval `w` used by the Rt
//! estimator of Cori et al. (2013, *Am J Epidemiol* 178:1505–1512):
//!
//! ```text
//! Λ_t = Σ_{s≥1} w_s · I_{t−s}          (total infectiousness)
//! I_t ~ Poisson(R_t · Λ_t)              (or negative binomial, below)
//! ```
//!
//! `Λ_t` runs over the observed days (local and imported cases alike: both
//! infect) and over the days already simulated on the same path. R comes
//! from the gamma posterior of the last Rt window and is drawn once per
//! path, not per day: the posterior describes uncertainty about one current
//! value, and fresh daily draws would average out and make the intervals
//! too narrow. How R then moves over the horizon is the [`RPath`]:
//!
//! - [`Method::Renewal`] holds it (`projections`' `R_fix_within = TRUE`,
//!   also EpiNow2's default `future = "latest"`). With R above 1 the paths
//!   grow exponentially for the whole horizon; under control measures, when
//!   R is falling, it overshoots.
//! - [`Method::DampedGrowth`] lets it revert to 1: `ln R_h = φ₁^{h+c} ln R₀`,
//!   `φ₁ = φ^{1/7}`, `c` the days from the window's centre to the origin.
//!   This is the damped-trend method of Gardner & McKenzie (1985, *Manage
//!   Sci* 31:1237–1246), a standard automatic method that did well in the
//!   forecasting competitions (Makridakis & Hibon 2000, *Int J Forecast*
//!   16:451), applied to log incidence, whose trend is the growth
//!   rate `r ≈ ln R / T_g` (Wallinga & Lipsitch 2007, *Proc R Soc B*
//!   274:599): the forecast growth rate decays geometrically to zero and
//!   cases level off instead of growing exponentially for ever.
//! - [`Method::DampedTrend`] damps a trend in log R itself, from the last
//!   two non-overlapping windows. It follows a steady fall well, but a rise
//!   of R between two windows compounds into faster-than-exponential growth;
//!   after a one-day cluster report it explodes (see the evaluation). Kept
//!   for comparison, not recommended.
//!
//! The damping is `φ = 0.8` per week ([`Damping::DEFAULT`]), the strongest
//! damping of standard practice (Hyndman & Athanasopoulos, *Forecasting:
//! Principles and Practice*, 3rd ed., §8.2, keep `φ` in [0.8, 0.98]), chosen
//! before any evaluation.
//!
//! Offspring: [`Offspring::Poisson`] (the default; Cori et al.'s
//! likelihood). [`Offspring::NegativeBinomial`] draws
//! `NB(mean R·Λ_t, size k·Λ_t)` — the sum of `Λ_t` infectors' negative
//! binomial offspring with dispersion `k` (Lloyd-Smith et al. 2005,
//! *Nature* 438:355), as `projections` does with `model = "negbin"` — as
//! `Poisson(Gamma(k·Λ_t, scale R/k))`. For SARS-CoV-2 in China in early 2020,
//! `k = 0.58` (Bi et al. 2020, *Lancet Infect Dis* 20:911, contact tracing
//! in Shenzhen) is the estimate closest to the data; it widens the intervals
//! where counts are small. Counts are capped at [`MAX_COUNT`] so that no
//! path can overflow.
//!
//! # Where R cannot be estimated
//!
//! [`forecast`] takes R from [`crate::rt::estimate_r`] and makes no renewal
//! forecast when the last window does not exist, is all prior
//! ([`crate::rt::TooUncertain::BeforeOneMeanSi`] or
//! [`crate::rt::TooUncertain::InfectivityBelowPrior`]), or depends on the
//! first day of the series for more than [`MAX_FIRST_DAY_SHARE`] (5 %) of
//! its infectiousness ([`first_day_share`]). The last rule is for series
//! that start in mid-epidemic, like JHU CSSE's, whose first day holds every
//! case reported until then at unknown times: following EpiEstim, the first
//! day counts as infectious but not as infected, and a window is used only
//! if the unknown timing of those cases can move its `Σ Λ`, hence R, by at
//! most 5 %. [`Method::Ensemble`] is then the baseline alone;
//! [`Method::Renewal`], [`Method::DampedGrowth`] and
//! [`Method::DampedTrend`] return [`ForecastError::RUnavailable`].
//!
//! # The baseline and the ensemble
//!
//! [`baseline`] carries last week's mean forward with a negative binomial
//! matched to last week's scatter. [`Method::Ensemble`], the default, is the
//! equal-weight quantile average ("Vincentization") of
//! [`Method::DampedGrowth`] and the baseline: each quantile and the mean are
//! the means of the members'. This is how the US COVID-19 Forecast Hub
//! combined its members until July 2020 (a median since; with two members
//! the two agree), and untrained equal-weight quantile ensembles were
//! consistently among the best forecasts there and in Europe (Cramer et al.
//! 2022, *PNAS* 119:e2113561119; Ray et al. 2023, *Int J Forecast*
//! 39:1366–1383; Sherratt et al. 2023, *eLife* 12:e81916; Bracher et al.
//! 2021, *Nat Commun* 12:5173). Because the quantile score is convex in the
//! quantile, the ensemble's WIS is never above the mean of its members' WIS
//! for the same observation. Kept paths are the averaged quantiles in the
//! rank order of the renewal paths (ensemble copula coupling), so they can
//! feed [`bed_demand`].
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
//! also on the log scale ([`Score::wis_log`]; Bosse et al. 2023, *PLoS
//! Comput Biol* 19:e1011393), [`CentralInterval::contains`] for coverage,
//! [`baseline`] for the naive comparator, and [`calibrate`] /
//! [`calibrate_with`] / [`summarise_scores`] for rolling-origin evaluation.
//!
//! # Evaluation
//!
//! `cargo run --release -p fangkong-analytics --example calibration`: 33
//! Chinese provinces (JHU CSSE), origins every day of February 2020, targets
//! the daily count 7, 14, 21 and 28 days later; serial interval gamma 4.7 /
//! 2.9 days (Nishiura et al. 2020), EpiEstim's Rt defaults, `k = 0.58`,
//! `φ = 0.8`, 1,000 paths; every setting fixed before the first run.
//! Relative WIS is the mean WIS over the baseline's on the same forecasts
//! (below 1 beats persistence); "median" is the median over provinces of
//! each province's relative WIS; "log" the relative WIS on the log scale.
//!
//! ```text
//!                      all provinces                   |  without Hubei
//!  h  as issued   damped growth    ensemble (default)  |  as issued  ensemble
//!     rel WIS     rel  median log  rel  median log cov90 |  rel WIS   rel  median
//!  7     4.9      3.1   1.41  0.94 1.90  1.14  1.02 0.62 |    3.1     1.40  1.14
//! 14    23.7      7.1   2.16  0.97 3.89  1.58  1.08 0.51 |    7.5     1.91  1.55
//! 21   117       10.9   3.20  1.02 5.79  2.10  1.12 0.46 |   74       2.62  1.97
//! 28  3832       15.1   4.51  1.06 7.92  2.65  1.15 0.44 |  15351     3.48  2.46
//! ```
//!
//! Damping removes the explosions (relative WIS at 28 days from 3,832 to
//! 15, and 8 for the ensemble), but on these data no method beats
//! persistence on average. By week of origin (without Hubei, 7 days
//! ahead) the ensemble's relative WIS is 2.4, 0.91, 0.77 and 1.8: the renewal
//! models win while their assumptions hold (8–21 February) and lose when
//! they do not — early February, when cases imported from Wuhan before
//! 23 January still counted as local transmission and inflated R, and late
//! February, when one-day cluster reports (203 prison cases in Shandong and
//! 28 in Zhejiang on 21 February; 14,840 clinically diagnosed cases in Hubei
//! on 13 February) enter R and the infectiousness. The damped log-R trend
//! is the best method on the log scale up to 14 days (0.85) and was
//! astronomically wrong after those reports (relative WIS 10⁹–10¹¹). The
//! ensemble's intervals are too narrow (90 % coverage 0.62 at 7 days; the
//! baseline's 0.68): members that disagree average to a sharp forecast
//! between them. Case forecasts beyond one or two weeks are hard in
//! general: the US COVID-19 Forecast Hub dropped its 2–4-week case
//! forecasts from the official ensemble in September 2021 after repeated
//! lapses in accuracy (Reich, Tibshirani, Ray & Rosenfeld 2021, IIF blog
//! "On the predictability of COVID-19").

mod baseline;
mod beds;
mod calibrate;
mod ensemble;
mod inputs;
mod pipeline;
mod renewal;
mod sampling;
mod score;
mod summary;

use std::fmt;

pub use baseline::baseline;
pub use beds::{bed_demand, BedCategory, BedDemand, BedModel, LengthOfStay};
pub use calibrate::{
    calibrate, calibrate_with, summarise_scores, CalibrationPlan, HorizonSummary, ScoreSummary,
    ScoredForecast,
};
pub use inputs::{Damping, Dispersion, ForecastSettings, Method, Offspring, RPosterior, SiWeights};
pub use pipeline::{
    first_day_share, forecast, forecast_regions, Cases, RUnavailable, MAX_FIRST_DAY_SHARE,
};
pub use renewal::{RPath, RegionInput, Renewal};
pub use score::{weighted_interval_score, Score};
pub use summary::{CentralInterval, DaySummary, Projection, SamplePaths};

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
    /// The trend damping must lie in (0, 1].
    InvalidDamping,
    /// An Rt window must be at least one day long.
    InvalidWindow,
    /// The local and imported series differ in length.
    LengthMismatch { local: usize, imported: usize },
    /// R at the origin cannot be estimated, so no renewal forecast is made.
    RUnavailable(RUnavailable),
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
            Self::InvalidDamping => f.write_str("trend damping must lie in (0, 1]"),
            Self::InvalidWindow => f.write_str("an Rt window must be at least one day"),
            Self::LengthMismatch { local, imported } => write!(
                f,
                "local series has {local} days but imported series has {imported}"
            ),
            Self::RUnavailable(why) => match why {
                RUnavailable::TooShort => {
                    f.write_str("R cannot be estimated: the series is not longer than one window")
                }
                RUnavailable::NotIdentifiable(_) => f.write_str(
                    "R cannot be estimated: too little infectiousness in the last window",
                ),
                RUnavailable::FirstDay { share } => write!(
                    f,
                    "R cannot be estimated: {:.0} % of the last window's infectiousness \
                     depends on the first day",
                    share * 100.0
                ),
            },
        }
    }
}

impl std::error::Error for ForecastError {}

fn check_counts(counts: &[f64]) -> Result<(), ForecastError> {
    match counts.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
        Some(index) => Err(ForecastError::InvalidCount { index }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod test_util {
    use std::fmt;

    use super::{CentralInterval, RPosterior, SiWeights};

    pub(crate) fn ok<T, E: fmt::Debug>(r: Result<T, E>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }

    pub(crate) fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    pub(crate) fn interval(level: f64, lower: f64, upper: f64) -> CentralInterval {
        ok(CentralInterval::new(level, lower, upper))
    }

    /// Sample mean and variance.
    pub(crate) fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    /// A posterior so concentrated that R is effectively fixed.
    pub(crate) fn fixed_r(r: f64) -> RPosterior {
        ok(RPosterior::new(1e8, r / 1e8))
    }

    pub(crate) fn one_day_si() -> SiWeights {
        ok(SiWeights::new(&[0.0, 1.0]))
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::{fixed_r, ok};
    use super::*;
    use proptest::prelude::*;

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
}
