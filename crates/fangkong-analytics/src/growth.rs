//! Exponential growth rate and doubling / halving time.
//!
//! # Model
//!
//! Over a window of `n` consecutive days with counts `y_0 … y_{n−1}` the
//! expected count is taken to be log-linear in time,
//!
//! ```text
//! E[y_i] = μ_i = exp(a + r·t_i),    Var[y_i] = φ·μ_i,    t_i = i − (n−1)/2,
//! ```
//!
//! a quasi-Poisson generalised linear model (McCullagh & Nelder 1989, ch. 9;
//! Wedderburn 1974). `r` is the exponential growth rate per day; cases double
//! every `ln 2 / r` days when `r > 0` and halve every `ln 2 / |r|` days when
//! `r < 0`. Centring `t` makes `a` the log of the mean count at mid-window and
//! keeps the fit well conditioned.
//!
//! # Why this estimator
//!
//! The common shortcut — ordinary least squares on `log y` (as in the R
//! package `incidence`'s `fit()`) — is undefined on days with zero cases,
//! and dropping or shifting those days (`log(y + 1)`) biases `r` exactly when
//! counts are small, which is when a doubling time matters most. The Poisson
//! likelihood has no such problem: a zero is an ordinary observation. Its
//! estimating equations are also those of the quasi-Poisson model, so the
//! point estimate `r̂` is the Poisson maximum-likelihood estimate while the
//! interval is widened for the overdispersion that case counts nearly always
//! show (reporting batches, clusters).
//!
//! # Fitting
//!
//! The score equation for `a` gives `a` in closed form for any `r`
//! (`Σ μ_i = Σ y_i`); substituting it, the score equation for `r` reduces to
//!
//! ```text
//! m(r) := Σ t_i e^{r t_i} / Σ e^{r t_i}  =  Σ t_i y_i / Σ y_i  =: t̄_y,
//! ```
//!
//! i.e. the fitted mean time of cases must equal the observed one. `m` is a
//! weighted mean of `t`, strictly increasing in `r` (`m′(r)` is the weighted
//! variance of `t`), with range `(t_0, t_{n−1})`. So:
//!
//! - a unique finite `r̂` exists if and only if at least one case is observed
//!   and not all cases fall on the first day or all on the last day
//!   (otherwise `r̂ = ∓∞`, reported as [`GrowthError::Unbounded`]);
//! - it is found by safeguarded Newton iterations on `m(r) = t̄_y`, which are
//!   exactly the Fisher-scoring (IRLS) steps of the GLM with `a` profiled
//!   out, but cannot diverge.
//!
//! # Interval
//!
//! Wald interval with the quasi-Poisson dispersion:
//!
//! ```text
//! se(r̂)² = φ / Σ μ_i (t_i − m(r̂))²,
//! φ = max(1, X² / (n − 2)),   X² = Σ (y_i − μ_i)² / μ_i   (Pearson),
//! r̂ ± t_{n−2, (1+level)/2} · se(r̂).
//! ```
//!
//! `Σ μ_i (t_i − m)²` is the `(r, r)` entry of the inverse Fisher
//! information `(XᵀWX)⁻¹` with `W = diag(μ)`. The dispersion is floored at 1
//! (as in Farrington et al. 1996, *J R Stat Soc A* 159:547) so that a
//! short, accidentally smooth window never yields an interval narrower than
//! the Poisson one; because `φ` is estimated from `n − 2` residual degrees
//! of freedom, the Student-t quantile is used rather than the normal one
//! (it matters: `t_{5, 0.975} = 2.57` for a 7-day window against 1.96).
//! Doubling and halving times are monotone in `r`, so their interval is the
//! image of the interval for `r`; when that interval contains zero the time
//! is unbounded on one side.
//!
//! # Assumptions
//!
//! Growth is exponential (constant `r`) within the window, days are
//! exchangeable apart from the trend (no day-of-week effect is modelled: use
//! whole weeks as windows), and reporting delays are stable across the
//! window.

use std::f64::consts::{FRAC_2_PI, LN_2};
use std::fmt;

/// The smallest window: with two days `r` fits exactly and no dispersion
/// can be estimated.
pub const MIN_DAYS: usize = 3;

/// Why a growth rate could not be estimated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GrowthError {
    /// The window has fewer than [`MIN_DAYS`] days.
    TooFewDays { days: usize },
    /// A count is negative, infinite or not a number.
    InvalidCount { index: usize },
    /// No case in the window: the rate is not identifiable.
    NoCases,
    /// Every case is on the first day (`r̂ = −∞`) or every case on the last
    /// day (`r̂ = +∞`): the likelihood has no finite maximum.
    Unbounded,
    /// The counts are too large for their sum to be represented.
    Overflow,
    /// A confidence level outside the open interval (0, 1).
    InvalidLevel,
}

impl fmt::Display for GrowthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewDays { days } => {
                write!(
                    f,
                    "a growth rate needs at least {MIN_DAYS} days, got {days}"
                )
            }
            Self::InvalidCount { index } => {
                write!(f, "count at index {index} is negative or not finite")
            }
            Self::NoCases => f.write_str("no cases in the window"),
            Self::Unbounded => f.write_str(
                "all cases fall on the first or the last day: the growth rate is unbounded",
            ),
            Self::Overflow => f.write_str("counts too large to sum"),
            Self::InvalidLevel => f.write_str("confidence level must lie strictly between 0 and 1"),
        }
    }
}

impl std::error::Error for GrowthError {}

/// A confidence level strictly between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ConfidenceLevel(f64);

impl ConfidenceLevel {
    /// The customary 95 % level.
    pub const NINETY_FIVE: Self = Self(0.95);

    pub fn new(level: f64) -> Result<Self, GrowthError> {
        if level > 0.0 && level < 1.0 {
            Ok(Self(level))
        } else {
            Err(GrowthError::InvalidLevel)
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// An estimated exponential growth rate (per day) with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowthRate {
    /// `r̂`, per day.
    pub r: f64,
    /// Lower end of the interval for `r`.
    pub lower: f64,
    /// Upper end of the interval for `r`.
    pub upper: f64,
    /// Standard error of `r̂` (dispersion included).
    pub se: f64,
    /// The dispersion `φ ≥ 1` used for the interval.
    pub dispersion: f64,
    pub level: ConfidenceLevel,
}

/// A doubling or halving time in days with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeEstimate {
    /// `ln 2 / |r̂|`.
    pub days: f64,
    /// The shortest time in the interval.
    pub lower: f64,
    /// The longest time in the interval; `None` when the interval for `r`
    /// reaches zero, so the data cannot exclude "no growth" and the time is
    /// unbounded above.
    pub upper: Option<f64>,
}

/// The growth rate read as a doubling or halving time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DoublingTime {
    /// `r̂ > 0`: cases double every `days`.
    Doubling(TimeEstimate),
    /// `r̂ < 0`: cases halve every `days`.
    Halving(TimeEstimate),
    /// `r̂ = 0`: cases neither double nor halve.
    Flat,
}

impl GrowthRate {
    /// `ln 2 / r̂` with the interval mapped through (see the module docs).
    pub fn doubling_time(&self) -> DoublingTime {
        let time = |rate: f64| LN_2 / rate.abs();
        if self.r > 0.0 {
            DoublingTime::Doubling(TimeEstimate {
                days: time(self.r),
                lower: time(self.upper),
                upper: (self.lower > 0.0).then(|| time(self.lower)),
            })
        } else if self.r < 0.0 {
            DoublingTime::Halving(TimeEstimate {
                days: time(self.r),
                lower: time(self.lower),
                upper: (self.upper < 0.0).then(|| time(self.upper)),
            })
        } else {
            DoublingTime::Flat
        }
    }
}

/// The exponential growth rate over `counts` (one value per consecutive day,
/// oldest first; the whole slice is the window), by quasi-Poisson regression
/// as described in the module docs.
pub fn growth_rate(counts: &[f64], level: ConfidenceLevel) -> Result<GrowthRate, GrowthError> {
    let n = counts.len();
    if n < MIN_DAYS {
        return Err(GrowthError::TooFewDays { days: n });
    }
    if let Some(index) = counts.iter().position(|y| !(y.is_finite() && *y >= 0.0)) {
        return Err(GrowthError::InvalidCount { index });
    }
    let total: f64 = counts.iter().sum();
    if !total.is_finite() {
        return Err(GrowthError::Overflow);
    }
    if total <= 0.0 {
        return Err(GrowthError::NoCases);
    }
    let only = |day: usize| {
        counts
            .iter()
            .enumerate()
            .all(|(i, y)| i == day || *y == 0.0)
    };
    if only(0) || only(n - 1) {
        return Err(GrowthError::Unbounded);
    }

    let centre = (n - 1) as f64 / 2.0;
    let times: Vec<f64> = (0..n).map(|i| i as f64 - centre).collect();
    let target = times.iter().zip(counts).map(|(t, y)| t * y).sum::<f64>() / total;
    let r = solve_mean_time(&times, target);

    // Fitted means μ_i = Σy · e^{r t_i} / Σ e^{r t_i}, computed stably.
    let moments = WeightedTime::at(&times, r);
    let mu: Vec<f64> = times
        .iter()
        .map(|t| total * ((r * t - moments.max_exponent).exp() / moments.norm))
        .collect();
    let information: f64 = mu
        .iter()
        .zip(&times)
        .map(|(m, t)| m * (t - moments.mean).powi(2))
        .sum();
    let pearson: f64 = counts
        .iter()
        .zip(&mu)
        .map(|(y, m)| if *m > 0.0 { (y - m).powi(2) / m } else { 0.0 })
        .sum();
    let df = n - 2;
    let dispersion = (pearson / df as f64).max(1.0);
    let se = (dispersion / information).sqrt();
    let half_width = student_t_quantile(df, level.0) * se;
    Ok(GrowthRate {
        r,
        lower: r - half_width,
        upper: r + half_width,
        se,
        dispersion,
        level,
    })
}

/// The mean and variance of `t` under weights `e^{r t}`, with the pieces
/// needed to rebuild the weights without overflow.
struct WeightedTime {
    mean: f64,
    variance: f64,
    max_exponent: f64,
    norm: f64,
}

impl WeightedTime {
    fn at(times: &[f64], r: f64) -> Self {
        let max_exponent = times
            .iter()
            .map(|t| r * t)
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut norm, mut first, mut second) = (0.0, 0.0, 0.0);
        for t in times {
            let w = (r * t - max_exponent).exp();
            norm += w;
            first += w * t;
            second += w * t * t;
        }
        let mean = first / norm;
        Self {
            mean,
            variance: (second / norm - mean * mean).max(0.0),
            max_exponent,
            norm,
        }
    }
}

/// Solves `m(r) = target` for `target` strictly inside `(t_0, t_{n−1})`:
/// Newton steps kept inside a bracket that shrinks, with bisection whenever
/// a Newton step would leave it.
fn solve_mean_time(times: &[f64], target: f64) -> f64 {
    let mean_at = |r: f64| WeightedTime::at(times, r).mean;
    // Bracket: m is increasing, so widen until the target is enclosed.
    let (mut lo, mut hi) = (-1.0_f64, 1.0_f64);
    while mean_at(lo) > target && lo > -1e6 {
        lo *= 2.0;
    }
    while mean_at(hi) < target && hi < 1e6 {
        hi *= 2.0;
    }
    let mut r = 0.0_f64.clamp(lo, hi);
    for _ in 0..200 {
        let wt = WeightedTime::at(times, r);
        let gap = wt.mean - target;
        if gap == 0.0 {
            break;
        }
        if gap < 0.0 {
            lo = r;
        } else {
            hi = r;
        }
        let newton = r - gap / wt.variance;
        let next = if newton > lo && newton < hi && wt.variance > 0.0 {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if (next - r).abs() <= 1e-15 * (1.0 + r.abs()) {
            r = next;
            break;
        }
        r = next;
    }
    r
}

/// The `(1 + level) / 2` quantile of Student's t with `df ≥ 1` degrees of
/// freedom, i.e. the half-width multiplier of a central `level` interval.
///
/// For integer `df` the central probability `A(t | ν) = P(|T| ≤ t)` has the
/// finite closed forms of Abramowitz & Stegun 26.7.3–26.7.4 in
/// `θ = atan(t / √ν)`; `A` is increasing in `θ ∈ [0, π/2)`, so bisection on
/// `θ` inverts it to full precision.
fn student_t_quantile(df: usize, level: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, std::f64::consts::FRAC_PI_2);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if student_t_central(mid, df) < level {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (df as f64).sqrt() * (0.5 * (lo + hi)).tan()
}

/// `A(t | ν)` as a function of `θ = atan(t / √ν)` (A&S 26.7.3–26.7.4).
fn student_t_central(theta: f64, df: usize) -> f64 {
    let (sin, cos) = theta.sin_cos();
    let cos2 = cos * cos;
    if df % 2 == 1 {
        // 2/π [θ + sin θ (cos θ + 2/3 cos³θ + … + (2·4···(ν−3))/(1·3···(ν−2)) cos^{ν−2}θ)]
        let mut sum = 0.0;
        if df > 1 {
            let mut term = cos;
            sum = cos;
            for k in (3..df).step_by(2) {
                term *= cos2 * (k - 1) as f64 / k as f64;
                sum += term;
                if term < 1e-17 * sum {
                    break;
                }
            }
        }
        FRAC_2_PI * (theta + sin * sum)
    } else {
        // sin θ [1 + 1/2 cos²θ + (1·3)/(2·4) cos⁴θ + … + (1·3···(ν−3))/(2·4···(ν−2)) cos^{ν−2}θ]
        let (mut term, mut sum) = (1.0, 1.0);
        for k in (2..df).step_by(2) {
            term *= cos2 * (k - 1) as f64 / k as f64;
            sum += term;
            if term < 1e-17 * sum {
                break;
            }
        }
        sin * sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fit(counts: &[f64]) -> GrowthRate {
        match growth_rate(counts, ConfidenceLevel::NINETY_FIVE) {
            Ok(g) => g,
            Err(e) => panic!("fit failed: {e}"),
        }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn student_t_quantiles_match_tables() {
        // Two-sided 95 % critical values (e.g. Abramowitz & Stegun table 26.10).
        for (df, t) in [
            (1, 12.706_204_736),
            (2, 4.302_652_730),
            (3, 3.182_446_305),
            (5, 2.570_581_836),
            (10, 2.228_138_852),
            (30, 2.042_272_456),
        ] {
            let got = student_t_quantile(df, 0.95);
            assert!(close(got, t, 1e-8), "df {df}: {got} vs {t}");
        }
        // 90 % with 4 df, and the normal limit.
        assert!(close(student_t_quantile(4, 0.90), 2.131_846_786, 1e-8));
        assert!(close(student_t_quantile(100_000, 0.95), 1.959_98, 1e-4));
    }

    #[test]
    fn exact_exponential_series_recovers_r() {
        let r = 0.2;
        let counts: Vec<f64> = (0..10).map(|i| 5.0 * (r * i as f64).exp()).collect();
        let g = fit(&counts);
        assert!(close(g.r, r, 1e-12), "{}", g.r);
        // Perfect fit: Pearson X² = 0, so the dispersion is floored at 1.
        assert_eq!(g.dispersion, 1.0);
        match g.doubling_time() {
            DoublingTime::Doubling(t) => {
                assert!(close(t.days, LN_2 / 0.2, 1e-10));
                assert!(t.lower < t.days);
                assert!(t.upper.is_some_and(|u| u > t.days));
            }
            other => panic!("expected doubling, got {other:?}"),
        }
    }

    #[test]
    fn interval_matches_an_independent_glm_fit() {
        // Poisson GLM of y on day (0..6) fitted by plain IRLS on the 2×2
        // normal equations (an independent Python computation):
        //   r̂ = 0.226_929_854_530, se_Poisson = 0.095_561_703_465,
        //   Pearson X² = 5.587_359_333, df = 5 → φ = 1.117_471_866_655,
        //   se = se_Poisson·√φ = 0.101_018_794_571, t_{5,0.975} = 2.570_581_836.
        let y = [3.0, 0.0, 4.0, 6.0, 3.0, 8.0, 7.0];
        let g = fit(&y);
        assert!(close(g.r, 0.226_929_854_530, 1e-10), "{}", g.r);
        assert!(
            close(g.dispersion, 1.117_471_866_655, 1e-10),
            "{}",
            g.dispersion
        );
        assert!(close(g.se, 0.101_018_794_571, 1e-10), "{}", g.se);
        assert!(close(g.lower, -0.032_747_223_852, 1e-9), "{}", g.lower);
        assert!(close(g.upper, 0.486_606_932_913, 1e-9), "{}", g.upper);
        // The interval for r contains 0: doubling time ≥ ln2 / 0.4866 days.
        match g.doubling_time() {
            DoublingTime::Doubling(t) => {
                assert!(close(t.days, LN_2 / 0.226_929_854_530, 1e-9));
                assert!(close(t.lower, LN_2 / 0.486_606_932_913, 1e-9));
                assert_eq!(t.upper, None);
            }
            other => panic!("expected doubling, got {other:?}"),
        }
    }

    #[test]
    fn poisson_floor_applies_to_underdispersed_windows() {
        // Pearson X² / df < 1 here, so φ = 1 and se is the Poisson one.
        let y = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0];
        let g = fit(&y);
        assert!(close(g.r, 0.077_305_400_080, 1e-10), "{}", g.r);
        assert_eq!(g.dispersion, 1.0);
        assert!(close(g.se, information(&y, g.r).recip().sqrt(), 1e-12));
    }

    #[test]
    fn overdispersion_widens_the_interval() {
        // Noisy days: independent IRLS gives r̂ = 0.159_536_261_236 and
        // Pearson X² / df = 8.249_613_527.
        let y = [2.0, 12.0, 1.0, 15.0, 3.0, 25.0, 6.0];
        let g = fit(&y);
        assert!(close(g.r, 0.159_536_261_236, 1e-10), "{}", g.r);
        assert!(close(g.dispersion, 8.249_613_527, 1e-9), "{}", g.dispersion);
        assert!(close(
            g.se,
            (g.dispersion / information(&y, g.r)).sqrt(),
            1e-12
        ));
    }

    fn information(y: &[f64], r: f64) -> f64 {
        let n = y.len();
        let total: f64 = y.iter().sum();
        let t: Vec<f64> = (0..n).map(|i| i as f64 - (n - 1) as f64 / 2.0).collect();
        let z: f64 = t.iter().map(|t| (r * t).exp()).sum();
        let mu: Vec<f64> = t.iter().map(|t| total * (r * t).exp() / z).collect();
        let mean: f64 = mu.iter().zip(&t).map(|(m, t)| m * t).sum::<f64>() / total;
        mu.iter().zip(&t).map(|(m, t)| m * (t - mean).powi(2)).sum()
    }

    #[test]
    fn constant_series_is_flat() {
        let g = fit(&[40.0; 7]);
        assert_eq!(g.r, 0.0);
        assert!(g.lower < 0.0 && g.upper > 0.0);
        assert_eq!(g.doubling_time(), DoublingTime::Flat);
    }

    #[test]
    fn halving_series_gives_halving_time() {
        // Halves every 4 days.
        let counts: Vec<f64> = (0..14)
            .map(|i| 800.0 * 0.5f64.powf(i as f64 / 4.0))
            .collect();
        let g = fit(&counts);
        assert!(close(g.r, -LN_2 / 4.0, 1e-12));
        match g.doubling_time() {
            DoublingTime::Halving(t) => {
                assert!(close(t.days, 4.0, 1e-10));
                assert!(t.lower < 4.0);
                assert!(t.upper.is_some_and(|u| u > 4.0));
            }
            other => panic!("expected halving, got {other:?}"),
        }
    }

    #[test]
    fn zeros_are_ordinary_observations() {
        // Independent IRLS: r̂ = 0.522_114_586_409, se = 0.200_987_423_233,
        // X² / df = 0.976 → φ = 1. The interval just excludes zero, so the
        // doubling time's upper end is finite but long.
        let g = fit(&[0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 5.0]);
        assert!(close(g.r, 0.522_114_586_409, 1e-10), "{}", g.r);
        assert!(close(g.se, 0.200_987_423_233, 1e-10), "{}", g.se);
        let lower_r = 0.522_114_586_409 - 2.570_581_836 * 0.200_987_423_233;
        match g.doubling_time() {
            DoublingTime::Doubling(t) => {
                assert!(close(t.days, LN_2 / 0.522_114_586_409, 1e-9));
                assert!(t.upper.is_some_and(|u| close(u, LN_2 / lower_r, 1e-6)));
            }
            other => panic!("expected doubling, got {other:?}"),
        }
    }

    #[test]
    fn degenerate_windows_are_errors() {
        let level = ConfidenceLevel::NINETY_FIVE;
        assert_eq!(
            growth_rate(&[1.0, 2.0], level),
            Err(GrowthError::TooFewDays { days: 2 })
        );
        assert_eq!(growth_rate(&[0.0; 7], level), Err(GrowthError::NoCases));
        assert_eq!(
            growth_rate(&[0.0, 0.0, 9.0], level),
            Err(GrowthError::Unbounded)
        );
        assert_eq!(
            growth_rate(&[9.0, 0.0, 0.0], level),
            Err(GrowthError::Unbounded)
        );
        assert_eq!(
            growth_rate(&[1.0, -1.0, 2.0], level),
            Err(GrowthError::InvalidCount { index: 1 })
        );
        assert_eq!(
            growth_rate(&[1.0, f64::NAN, 2.0], level),
            Err(GrowthError::InvalidCount { index: 1 })
        );
        assert_eq!(ConfidenceLevel::new(1.0), Err(GrowthError::InvalidLevel));
        assert_eq!(
            ConfidenceLevel::new(f64::NAN),
            Err(GrowthError::InvalidLevel)
        );
    }

    #[test]
    fn a_single_interior_day_still_has_a_finite_rate() {
        // The observed mean time is the middle of the window: r̂ = 0.
        let g = fit(&[0.0, 10.0, 0.0]);
        assert_eq!(g.r, 0.0);
    }

    #[test]
    fn extreme_but_finite_data_do_not_break_the_fit() {
        let g = fit(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1e9]);
        assert!(g.r > 2.0 && g.r.is_finite() && g.se.is_finite());
        // A floating-point sum that swallows the small count is still finite.
        let g = fit(&[1e20, 1.0, 0.0]);
        assert!(g.r < -20.0 && g.r.is_finite());
        assert_eq!(
            growth_rate(&[f64::MAX, f64::MAX, 1.0], ConfidenceLevel::NINETY_FIVE),
            Err(GrowthError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn recovers_any_exponential(r in -0.6f64..0.6, a in 0.5f64..1e4, n in 3usize..60) {
            let counts: Vec<f64> = (0..n).map(|i| a * (r * i as f64).exp()).collect();
            let g = fit(&counts);
            prop_assert!((g.r - r).abs() < 1e-9, "{} vs {}", g.r, r);
        }

        #[test]
        fn scale_free_and_time_symmetric(counts in prop::collection::vec(0u32..500, 3..30), c in 0.1f64..100.0) {
            let y: Vec<f64> = counts.iter().map(|v| f64::from(*v)).collect();
            let Ok(g) = growth_rate(&y, ConfidenceLevel::NINETY_FIVE) else { return Ok(()) };
            prop_assert!(g.lower <= g.r && g.r <= g.upper);
            prop_assert!(g.dispersion >= 1.0);
            let scaled: Vec<f64> = y.iter().map(|v| v * c).collect();
            let gs = fit(&scaled);
            prop_assert!((gs.r - g.r).abs() < 1e-9 * (1.0 + g.r.abs()));
            let reversed: Vec<f64> = y.iter().rev().copied().collect();
            let gr = fit(&reversed);
            prop_assert!((gr.r + g.r).abs() < 1e-9 * (1.0 + g.r.abs()));
            prop_assert!((gr.se - g.se).abs() < 1e-9 * g.se);
        }

        #[test]
        fn never_panics(y in prop::collection::vec(prop::num::f64::ANY, 0..20)) {
            let _ = growth_rate(&y, ConfidenceLevel::NINETY_FIVE);
        }
    }
}
