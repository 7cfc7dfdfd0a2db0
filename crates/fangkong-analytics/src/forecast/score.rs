//! Scoring: the weighted interval score and coverage.

use super::summary::CentralInterval;

/// How one forecast fared against the observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// [`weighted_interval_score`] over the median and the 50 %, 90 % and
    /// 95 % intervals.
    pub wis: f64,
    /// The same on the log scale: quantiles and observation transformed by
    /// `ln(1 + x)` (quantiles commute with monotone maps). A relative error,
    /// so large regions and explosive forecasts do not dominate its mean;
    /// recommended for exponential processes by Bosse et al. (2023, *PLoS
    /// Comput Biol* 19:e1011393).
    pub wis_log: f64,
    pub covered50: bool,
    pub covered90: bool,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::summary::DaySummary;
    use crate::forecast::test_util::{close, interval};
    use crate::forecast::ForecastError;
    use proptest::prelude::*;

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
        // On the log scale: every value x becomes ln(1 + x).
        let l = |x: f64| x.ln_1p();
        let logged = [
            interval(0.5, l(4.0), l(8.0)),
            interval(0.9, l(2.0), l(12.0)),
            interval(0.95, l(1.0), l(15.0)),
        ];
        let want = weighted_interval_score(l(10.0), l(6.0), &logged);
        assert!(close(score.wis_log, want, 1e-15));
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
}
