//! The naive comparator: last week's mean carried forward.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::inputs::Method;
use super::sampling::{negative_binomial, poisson};
use super::summary::{Projection, SamplePaths};
use super::{check_counts, ForecastError, ForecastSettings};

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
    let day = DayDistribution::of(history)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let values = (0..settings.horizon * settings.paths)
        .map(|_| day.draw(&mut rng))
        .collect();
    let paths = SamplePaths {
        horizon: settings.horizon,
        paths: settings.paths,
        values,
    };
    Ok(Projection::from_paths(
        paths,
        settings.keep_paths,
        Method::Baseline,
    ))
}

/// The baseline's predictive distribution of any one forecast day.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayDistribution {
    mean: f64,
    /// Negative-binomial size; `None` for Poisson.
    size: Option<f64>,
}

impl DayDistribution {
    /// From checked counts: last week's mean and matched dispersion.
    pub(crate) fn of(history: &[f64]) -> Result<Self, ForecastError> {
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
        Ok(Self { mean, size })
    }

    pub(crate) fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self.size {
            Some(k) => negative_binomial(rng, self.mean, k),
            None => poisson(rng, self.mean),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::test_util::{close, moments, ok};

    #[test]
    fn baseline_carries_last_weeks_mean_with_poisson_noise_when_calm() {
        // Last 7 days all 20 (older days ignored): variance 0 → Poisson(20),
        // whose 5 % and 95 % quantiles are 13 and 28.
        let history = [900.0, 900.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0];
        let settings = ok(ForecastSettings::new(3, 20_000));
        let b = ok(baseline(&history, &settings, 1));
        assert_eq!(b.days.len(), 3);
        assert_eq!(b.method, Method::Baseline);
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
}
