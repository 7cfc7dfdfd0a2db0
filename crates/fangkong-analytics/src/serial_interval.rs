//! Serial-interval distributions on whole days, as EpiEstim builds them.
//!
//! A [`SerialInterval`] holds the weights w₀, w₁, w₂, … with w_k the
//! probability that the serial interval is k days. A value that exists
//! satisfies EpiEstim's rules, so [`crate::rt`] never re-checks them.
//!
//! # From a gamma distribution: `discr_si`
//!
//! [`SerialInterval::gamma`] discretises a gamma distribution with mean μ
//! and standard deviation σ *shifted by one day* exactly as EpiEstim's
//! `discr_si` (Cori et al. 2013, Web Appendix 11): the serial interval minus
//! one is gamma with mean μ − 1 and sd σ (shape a = ((μ − 1)/σ)², scale
//! b = σ²/(μ − 1)), its start is uniform within a day, and
//!
//! ```text
//! w_k = k F(k) + (k − 2) F(k − 2) − 2(k − 1) F(k − 1)
//!       + ab (2 F₊(k − 1) − F₊(k − 2) − F₊(k)),      clipped at 0,
//! ```
//!
//! with F the gamma(a, b) CDF, F₊ the gamma(a + 1, b) CDF and F(x) = 0 for
//! x ≤ 0; w₀ = 0. In the upper tail the same sum is evaluated through the
//! survival functions S = 1 − F (the constant parts cancel exactly), which
//! keeps digits where every F is close to 1.
//!
//! EpiEstim's `estimate_R` (method `parametric_si`) evaluates `discr_si` on
//! k = 0, …, T − 1 for a series of T days, without truncation or
//! renormalisation. Here the weights stop at the first day K beyond which
//! the remaining mass, at most Q(a, (K − 1)/b), is below 1e-16 (or at
//! [`MAX_DAYS`]), so every Λ_t agrees with EpiEstim's to that relative
//! amount. The one other place where EpiEstim's length shows, the mean
//! serial interval over k < T in its "one mean serial interval" rule, is
//! reproduced by [`crate::rt`].
//!
//! # From weights: `non_parametric_si`
//!
//! [`SerialInterval::discrete`] takes the weights as given, under
//! EpiEstim's `check_si_distr`: w₀ = 0, no negative weight, and a sum within
//! 0.01 of 1. Like EpiEstim it does not renormalise.

use std::fmt;

use crate::special::{gamma_p, gamma_q};

/// A discrete serial-interval distribution: `weights()[k]` is the
/// probability that the serial interval is k days, with `weights()[0] == 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialInterval {
    weights: Vec<f64>,
    origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    Gamma,
    Discrete,
}

/// The rule a serial interval broke.
#[derive(Debug, Clone, PartialEq)]
pub enum SiError {
    /// `gamma`: the mean must be finite and above 1 day (the distribution is shifted by one day).
    MeanNotAboveOne(f64),
    /// `gamma`: the standard deviation must be finite and positive.
    SdNotPositive(f64),
    /// `discrete`: no weights.
    Empty,
    /// `discrete`: a weight is NaN or infinite.
    NotFinite { day: usize },
    /// `discrete`: w₀ must be 0 (nobody infects on the day of their own onset).
    FirstNotZero(f64),
    /// `discrete`: a weight is negative.
    Negative { day: usize, weight: f64 },
    /// `discrete`: the weights must sum to 1 within 0.01.
    SumNotOne(f64),
}

impl fmt::Display for SiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SiError::MeanNotAboveOne(m) => {
                write!(f, "serial interval mean must be above 1 day, got {m}")
            }
            SiError::SdNotPositive(s) => write!(f, "serial interval sd must be positive, got {s}"),
            SiError::Empty => write!(f, "serial interval has no weights"),
            SiError::NotFinite { day } => write!(
                f,
                "serial interval weight of day {day} is not a finite number"
            ),
            SiError::FirstNotZero(w) => {
                write!(f, "serial interval weight of day 0 must be 0, got {w}")
            }
            SiError::Negative { day, weight } => {
                write!(
                    f,
                    "serial interval weight of day {day} is negative ({weight})"
                )
            }
            SiError::SumNotOne(s) => write!(
                f,
                "serial interval weights must sum to 1 within 0.01, got {s}"
            ),
        }
    }
}

impl std::error::Error for SiError {}

/// The longest serial interval [`SerialInterval::gamma`] keeps: EpiEstim
/// uses w_k for k < T only, so this is exact for series up to ten years.
pub const MAX_DAYS: usize = 3650;

/// Remaining mass at which the gamma discretisation stops.
const TAIL: f64 = 1e-16;

/// F and S = 1 − F of gamma(a, b), and F₊ and S₊ of gamma(a + 1, b), at one day.
#[derive(Clone, Copy)]
struct Cdfs {
    f: f64,
    s: f64,
    f_plus: f64,
    s_plus: f64,
}

impl SerialInterval {
    /// EpiEstim's `discr_si(k, mean, sd)`: a gamma serial interval shifted
    /// by one day (see the module docs). EpiEstim's `estimate_R` requires
    /// mean > 1 and sd > 0.
    pub fn gamma(mean: f64, sd: f64) -> Result<Self, SiError> {
        if !(mean.is_finite() && mean > 1.0) {
            return Err(SiError::MeanNotAboveOne(mean));
        }
        if !(sd.is_finite() && sd > 0.0) {
            return Err(SiError::SdNotPositive(sd));
        }
        let shape = ((mean - 1.0) / sd).powi(2);
        let scale = sd * sd / (mean - 1.0);
        let at = |day: usize| {
            let x = day as f64 / scale;
            Cdfs {
                f: gamma_p(shape, x),
                s: gamma_q(shape, x),
                f_plus: gamma_p(shape + 1.0, x),
                s_plus: gamma_q(shape + 1.0, x),
            }
        };
        let ab = mean - 1.0;
        let mut weights = vec![0.0];
        // days k − 2 and k − 1; at and below day 0 F = 0 and S = 1
        let mut back2 = Cdfs {
            f: 0.0,
            s: 1.0,
            f_plus: 0.0,
            s_plus: 1.0,
        };
        let mut back1 = back2;
        for k in 1..=MAX_DAYS {
            let now = at(k);
            let kf = k as f64;
            let w = if kf - 2.0 < ab {
                kf * now.f + (kf - 2.0) * back2.f - 2.0 * (kf - 1.0) * back1.f
                    + ab * (2.0 * back1.f_plus - back2.f_plus - now.f_plus)
            } else {
                -kf * now.s - (kf - 2.0) * back2.s
                    + 2.0 * (kf - 1.0) * back1.s
                    + ab * (now.s_plus + back2.s_plus - 2.0 * back1.s_plus)
            };
            weights.push(w.max(0.0));
            // every later weight comes from the gamma's mass beyond day k − 1
            if k >= 2 && back1.s <= TAIL {
                break;
            }
            (back2, back1) = (back1, now);
        }
        Ok(SerialInterval {
            weights,
            origin: Origin::Gamma,
        })
    }

    /// A serial interval given as weights w₀, w₁, … (EpiEstim's
    /// `non_parametric_si` with `si_distr`), checked by EpiEstim's rules.
    pub fn discrete(weights: &[f64]) -> Result<Self, SiError> {
        let first = *weights.first().ok_or(SiError::Empty)?;
        if let Some(day) = weights.iter().position(|w| !w.is_finite()) {
            return Err(SiError::NotFinite { day });
        }
        if first != 0.0 {
            return Err(SiError::FirstNotZero(first));
        }
        if let Some((day, &weight)) = weights.iter().enumerate().find(|(_, w)| **w < 0.0) {
            return Err(SiError::Negative { day, weight });
        }
        let sum: f64 = weights.iter().sum();
        if (sum - 1.0).abs() > 0.01 {
            return Err(SiError::SumNotOne(sum));
        }
        Ok(SerialInterval {
            weights: weights.to_vec(),
            origin: Origin::Discrete,
        })
    }

    /// w₀ = 0, then w₁, w₂, …
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The mean Σ k w_k (EpiEstim's `SI.Moments$Mean`).
    pub fn mean(&self) -> f64 {
        self.moments().0
    }

    /// The standard deviation √(Σ k² w_k − mean²) (EpiEstim's `SI.Moments$Std`).
    pub fn sd(&self) -> f64 {
        let (mean, second) = self.moments();
        (second - mean * mean).max(0.0).sqrt()
    }

    /// The mean EpiEstim compares window ends with, for a series of `days`
    /// days: over k < `days` for a gamma serial interval (EpiEstim evaluates
    /// `discr_si` on 0..T − 1), over every weight for given weights.
    pub(crate) fn mean_for_series(&self, days: usize) -> f64 {
        let len = match self.origin {
            Origin::Gamma => days.min(self.weights.len()),
            Origin::Discrete => self.weights.len(),
        };
        self.weights[..len]
            .iter()
            .enumerate()
            .map(|(k, w)| k as f64 * w)
            .sum()
    }

    fn moments(&self) -> (f64, f64) {
        self.weights
            .iter()
            .enumerate()
            .fold((0.0, 0.0), |(m, s), (k, w)| {
                let k = k as f64;
                (m + k * w, s + k * k * w)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_matches_epiestim_discr_si() {
        // EpiEstim's saved output for discr_si(0:31, 2.6, 1.5) (printed to 7 digits)
        let published = [
            0.0,
            2.331721e-01,
            3.585794e-01,
            1.981108e-01,
            1.033427e-01,
            5.290518e-02,
            2.682146e-02,
            1.351620e-02,
            6.783438e-03,
            3.394351e-03,
            1.694674e-03,
            8.445945e-04,
        ];
        let si = SerialInterval::gamma(2.6, 1.5).unwrap();
        for (k, want) in published.iter().enumerate() {
            let got = si.weights()[k];
            assert!(
                (got - want).abs() <= 5e-7 * want.max(1e-300) + 1e-12,
                "w_{k}: {got} vs {want}"
            );
        }
        // EpiEstim's SI.Moments: Mean 2.6, Std 1.55488
        assert!((si.mean() - 2.6).abs() < 1e-9);
        assert!((si.sd() - 1.55488).abs() < 5e-6);
        let tail: f64 = 1.0 - si.weights().iter().sum::<f64>();
        assert!(tail.abs() < 1e-14, "mass lost: {tail}");
    }

    #[test]
    fn long_tailed_gamma_is_still_represented() {
        // EpiEstim's own test case "long tailed": mean 3, sd 6
        let si = SerialInterval::gamma(3.0, 6.0).unwrap();
        assert!(si.weights().len() < MAX_DAYS);
        assert!((si.weights().iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((si.mean() - 3.0).abs() < 1e-9);
    }

    #[test]
    fn gamma_rules() {
        assert_eq!(
            SerialInterval::gamma(1.0, 1.0),
            Err(SiError::MeanNotAboveOne(1.0))
        );
        assert!(matches!(
            SerialInterval::gamma(f64::NAN, 1.0),
            Err(SiError::MeanNotAboveOne(_))
        ));
        assert_eq!(
            SerialInterval::gamma(5.0, 0.0),
            Err(SiError::SdNotPositive(0.0))
        );
        assert!(matches!(
            SerialInterval::gamma(5.0, f64::INFINITY),
            Err(SiError::SdNotPositive(_))
        ));
        // a tail longer than ten years is cut there, as a series that long would cut it in EpiEstim
        let huge = SerialInterval::gamma(1000.0, 1000.0).unwrap();
        assert_eq!(huge.weights().len(), MAX_DAYS + 1);
    }

    #[test]
    fn discrete_rules_name_the_rule_broken() {
        assert_eq!(SerialInterval::discrete(&[]), Err(SiError::Empty));
        assert_eq!(
            SerialInterval::discrete(&[0.1, 0.9]),
            Err(SiError::FirstNotZero(0.1))
        );
        assert_eq!(
            SerialInterval::discrete(&[0.0, 1.2, -0.2]),
            Err(SiError::Negative {
                day: 2,
                weight: -0.2
            })
        );
        assert_eq!(
            SerialInterval::discrete(&[0.0, f64::NAN]),
            Err(SiError::NotFinite { day: 1 })
        );
        assert_eq!(
            SerialInterval::discrete(&[0.0, 0.5, 0.48]),
            Err(SiError::SumNotOne(0.98))
        );
        let ok = SerialInterval::discrete(&[0.0, 0.5, 0.495]).unwrap();
        assert_eq!(ok.weights(), &[0.0, 0.5, 0.495]); // within 0.01, not renormalised
        assert_eq!(
            SiError::Negative {
                day: 2,
                weight: -0.2
            }
            .to_string(),
            "serial interval weight of day 2 is negative (-0.2)"
        );
    }

    #[test]
    fn epiestim_mean_for_short_series() {
        let si = SerialInterval::gamma(2.6, 1.5).unwrap();
        let within_3: f64 = si.weights()[1] + 2.0 * si.weights()[2];
        assert_eq!(si.mean_for_series(3), within_3);
        let given = SerialInterval::discrete(&[0.0, 0.2, 0.3, 0.5]).unwrap();
        assert!((given.mean_for_series(2) - 2.3).abs() < 1e-15);
    }
}
