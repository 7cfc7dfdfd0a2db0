//! Forecast outputs: central intervals, per-day summaries, sample paths.

use super::inputs::Method;
use super::score::{weighted_interval_score, Score};
use super::ForecastError;

/// A central prediction interval: `lower` and `upper` are the
/// `(1 − level)/2` and `(1 + level)/2` quantiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CentralInterval {
    pub(crate) level: f64,
    pub(crate) lower: f64,
    pub(crate) upper: f64,
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

impl DaySummary {
    /// The three central intervals, narrowest first.
    pub fn intervals(&self) -> [CentralInterval; 3] {
        [self.p50, self.p90, self.p95]
    }

    pub fn score(&self, observed: f64) -> Score {
        let log = |x: f64| x.max(0.0).ln_1p();
        let log_intervals = self.intervals().map(|i| CentralInterval {
            level: i.level,
            lower: log(i.lower),
            upper: log(i.upper),
        });
        Score {
            wis: weighted_interval_score(observed, self.median, &self.intervals()),
            wis_log: weighted_interval_score(log(observed), log(self.median), &log_intervals),
            covered50: self.p50.contains(observed),
            covered90: self.p90.contains(observed),
        }
    }

    /// Summarises a sample (reordered in place). The sample must be
    /// non-empty and free of NaN, which every caller guarantees.
    pub(crate) fn of_sample(sample: &mut [f64]) -> Self {
        sample.sort_unstable_by(f64::total_cmp);
        Self::of_sorted(sample)
    }

    /// Summarises a sample sorted in ascending order (non-empty, no NaN).
    pub(crate) fn of_sorted(sample: &[f64]) -> Self {
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
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
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
    pub(crate) horizon: usize,
    pub(crate) paths: usize,
    pub(crate) values: Vec<f64>,
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

    pub(crate) fn summaries(&self) -> Vec<DaySummary> {
        let mut scratch = vec![0.0; self.paths];
        (0..self.horizon)
            .map(|h| {
                scratch.copy_from_slice(self.day(h));
                DaySummary::of_sample(&mut scratch)
            })
            .collect()
    }
}

/// A forecast: one summary per day after the origin, the sample paths if
/// they were asked for, and the method that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// `days[h]` is forecast day `h + 1`.
    pub days: Vec<DaySummary>,
    pub paths: Option<SamplePaths>,
    /// The method actually used, which can be simpler than the one asked
    /// for (see [`super::forecast`]).
    pub method: Method,
}

impl Projection {
    pub(crate) fn from_paths(paths: SamplePaths, keep: bool, method: Method) -> Self {
        Self {
            days: paths.summaries(),
            paths: keep.then_some(paths),
            method,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::test_util::{close, ok};

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
}
