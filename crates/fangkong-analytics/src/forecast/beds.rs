//! Hospital bed demand from sample paths of daily cases.

use super::summary::{DaySummary, SamplePaths};
use super::{ForecastError, MAX_STAY};

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

    pub(crate) fn residual(&self, d: usize) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::test_util::{close, ok};

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
}
