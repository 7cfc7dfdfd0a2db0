//! Model inputs: serial-interval weights, R posteriors, offspring
//! distributions and forecast settings.

use crate::serial_interval::{SerialInterval, SiError};
use crate::special::Gamma;

use super::{ForecastError, MAX_HORIZON, MAX_PATHS};

/// Discretised serial-interval weights `w[0] = 0, w[1], …`, as EpiEstim uses
/// them: non-negative, summing to 1 within 0.01. Trailing zeros are dropped,
/// so the renewal sum runs over the support only. The weights are not
/// renormalised, so `Λ_t` is the same quantity the Rt estimator used.
///
/// The rules are [`SerialInterval::discrete`]'s; a [`SerialInterval`]
/// converts directly (`SiWeights::from(&si)`).
#[derive(Debug, Clone, PartialEq)]
pub struct SiWeights(Vec<f64>);

impl SiWeights {
    pub fn new(weights: &[f64]) -> Result<Self, ForecastError> {
        SerialInterval::discrete(weights)
            .map(|si| Self::from(&si))
            .map_err(|e| match e {
                SiError::FirstNotZero(_) => ForecastError::SiFirstNotZero,
                SiError::NotFinite { day } | SiError::Negative { day, .. } => {
                    ForecastError::SiInvalidWeight { index: day }
                }
                SiError::SumNotOne(sum) => ForecastError::SiSum { sum },
                SiError::Empty | SiError::MeanNotAboveOne(_) | SiError::SdNotPositive(_) => {
                    ForecastError::SiSum { sum: 0.0 }
                }
            })
    }

    /// The weights, `w[0] = 0` first, up to the last positive one.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }
}

impl From<&SerialInterval> for SiWeights {
    fn from(si: &SerialInterval) -> Self {
        let w = si.weights();
        let support = w.iter().rposition(|w| *w > 0.0).map_or(0, |i| i + 1);
        Self(w[..support].to_vec())
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

/// The posterior of an [`crate::rt::RtEstimate`] (`estimate.posterior`).
impl From<Gamma> for RPosterior {
    fn from(g: Gamma) -> Self {
        // A `Gamma` always has a finite, positive shape and scale.
        Self {
            shape: g.shape(),
            scale: g.scale(),
        }
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
/// overdispersed). COVID-19 estimates: 0.1 from international case counts
/// (Endo et al. 2020, *Wellcome Open Res* 5:67), 0.58 from contact tracing
/// in Shenzhen, January–February 2020 (Bi et al. 2020, *Lancet Infect Dis*
/// 20:911), 0.70 from 9,120 cases in China (He et al. 2020, *BMC Public
/// Health* 20:1558).
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

/// The damping `φ ∈ (0, 1]` of the trend in log R, per week (7 days): the
/// trend of week `j` after the last estimate is `φ^j` times the last one
/// (Gardner & McKenzie 1985). `φ = 1` keeps the trend undamped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Damping(f64);

impl Damping {
    /// The default, 0.8 per week: the strongest damping of standard practice
    /// (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*,
    /// 3rd ed., §8.2, keep φ in [0.8, 0.98]), because the trend here is a
    /// single difference of two weekly estimates, the noisiest trend estimate
    /// there is. Chosen before any evaluation; see the module docs.
    pub const DEFAULT: Damping = Damping(0.8);

    pub fn new(per_week: f64) -> Result<Self, ForecastError> {
        if per_week > 0.0 && per_week <= 1.0 {
            Ok(Self(per_week))
        } else {
            Err(ForecastError::InvalidDamping)
        }
    }

    pub fn per_week(self) -> f64 {
        self.0
    }

    /// `Σ_{i=1}^{d} φ_1^i` for the daily damping `φ_1 = φ^{1/7}` and a real
    /// `d ≥ 0`: how many days' worth of the current daily trend accumulate
    /// over the next `d` days. Tends to `φ_1 / (1 − φ_1)` (31 days at
    /// `φ = 0.8`), and is `d` without damping.
    pub(crate) fn accumulated(self, days: f64) -> f64 {
        let daily = self.0.powf(1.0 / 7.0);
        if daily >= 1.0 {
            days
        } else {
            daily * (1.0 - daily.powf(days)) / (1.0 - daily)
        }
    }
}

impl Default for Damping {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which forecast [`super::forecast`] makes (see [`super::RPath`] for the
/// renewal variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// The renewal projection with R constant over the horizon, drawn once
    /// per path from the posterior of the last Rt window (Nouvellet et al.
    /// 2018; R package `projections`).
    Renewal,
    /// The renewal projection with R reverting to 1: the epidemic growth
    /// rate damped toward zero.
    DampedGrowth,
    /// The renewal projection with a damped trend in log R from the last
    /// two non-overlapping Rt windows; R constant (as [`Self::Renewal`])
    /// when the earlier window cannot give a trend. Not recommended: an
    /// increase of R compounds (see the module docs).
    DampedTrend,
    /// Last week's mean carried forward ([`super::baseline`]).
    Baseline,
    /// The default: the equal-weight quantile average of
    /// [`Self::DampedGrowth`] and [`Self::Baseline`]; the baseline alone
    /// where R cannot be estimated.
    #[default]
    Ensemble,
}

/// How far ahead, with how many sample paths, and (for
/// [`super::forecast`]) by which method to forecast.
///
/// [`super::Renewal::project`] and [`super::baseline`] use the horizon, the
/// path count and whether to keep the paths; the method, offspring and
/// damping are read by [`super::forecast`] only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastSettings {
    pub(crate) horizon: usize,
    pub(crate) paths: usize,
    pub(crate) keep_paths: bool,
    pub(crate) method: Method,
    pub(crate) offspring: Offspring,
    pub(crate) damping: Damping,
}

impl ForecastSettings {
    /// `horizon` days (1 to [`MAX_HORIZON`]) with `paths` sample paths (1 to
    /// [`MAX_PATHS`]); the paths themselves are not kept (see
    /// [`Self::keeping_paths`]). Method [`Method::Ensemble`], Poisson
    /// offspring, damping [`Damping::DEFAULT`].
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
            method: Method::default(),
            offspring: Offspring::Poisson,
            damping: Damping::DEFAULT,
        })
    }

    /// Also return the sample paths (needed for [`super::bed_demand`]).
    pub fn keeping_paths(self) -> Self {
        Self {
            keep_paths: true,
            ..self
        }
    }

    pub fn with_method(self, method: Method) -> Self {
        Self { method, ..self }
    }

    pub fn with_offspring(self, offspring: Offspring) -> Self {
        Self { offspring, ..self }
    }

    pub fn with_damping(self, damping: Damping) -> Self {
        Self { damping, ..self }
    }

    pub fn horizon(&self) -> usize {
        self.horizon
    }

    pub fn paths(&self) -> usize {
        self.paths
    }

    pub fn keeps_paths(&self) -> bool {
        self.keep_paths
    }

    pub fn method(&self) -> Method {
        self.method
    }

    pub fn offspring(&self) -> Offspring {
        self.offspring
    }

    pub fn damping(&self) -> Damping {
        self.damping
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::test_util::ok;

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

    #[test]
    fn damping_accumulates_a_geometric_sum() {
        assert_eq!(Damping::new(0.0), Err(ForecastError::InvalidDamping));
        assert_eq!(Damping::new(1.01), Err(ForecastError::InvalidDamping));
        assert_eq!(Damping::new(f64::NAN), Err(ForecastError::InvalidDamping));
        assert_eq!(Damping::default().per_week(), 0.8);
        // Undamped: d days of trend.
        assert_eq!(ok(Damping::new(1.0)).accumulated(9.5), 9.5);
        // φ = 0.8 per week: Σ_{i=1}^{d} φ₁^i by direct sum, and a week's
        // damping φ₁^7 = 0.8.
        let d = Damping::DEFAULT;
        let daily = 0.8_f64.powf(1.0 / 7.0);
        let direct: f64 = (1..=10).map(|i| daily.powi(i)).sum();
        assert!((d.accumulated(10.0) - direct).abs() < 1e-12);
        assert!((daily.powi(7) - 0.8).abs() < 1e-15);
        assert_eq!(d.accumulated(0.0), 0.0);
        // The limit φ₁ / (1 − φ₁) ≈ 30.9 days.
        let limit = daily / (1.0 - daily);
        assert!((d.accumulated(1e4) - limit).abs() < 1e-9 && (30.0..32.0).contains(&limit));
    }

    #[test]
    fn settings_carry_the_method() {
        let s = ok(ForecastSettings::new(7, 10));
        assert_eq!(s.method(), Method::Ensemble);
        assert_eq!(s.offspring(), Offspring::Poisson);
        assert!(!s.keeps_paths());
        let k = ok(Dispersion::new(0.5));
        let t = s
            .with_method(Method::Renewal)
            .with_offspring(Offspring::NegativeBinomial(k))
            .with_damping(ok(Damping::new(0.9)))
            .keeping_paths();
        assert_eq!(t.method(), Method::Renewal);
        assert_eq!(t.offspring(), Offspring::NegativeBinomial(k));
        assert_eq!(t.damping().per_week(), 0.9);
        assert!(t.keeps_paths());
        assert_eq!((t.horizon(), t.paths()), (7, 10));
    }

    #[test]
    fn serial_intervals_convert_to_weights() {
        let si = ok(SerialInterval::gamma(4.7, 2.9));
        let w = SiWeights::from(&si);
        assert_eq!(w.as_slice(), si.weights());
        assert!(matches!(
            SiWeights::new(&[]),
            Err(ForecastError::SiSum { .. })
        ));
        let g = ok(Gamma::new(3.0, 0.5));
        assert_eq!(RPosterior::from(g), ok(RPosterior::new(3.0, 0.5)));
    }
}
