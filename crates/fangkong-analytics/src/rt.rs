//! The instantaneous reproduction number R_t by the method of Cori et al.,
//! computed as R package EpiEstim's `estimate_R` does for a known serial
//! interval (methods `parametric_si` and `non_parametric_si`).
//!
//! Cori A, Ferguson NM, Fraser C, Cauchemez S. A new framework and software
//! to estimate time-varying reproduction numbers during epidemics. Am J
//! Epidemiol 2013;178(9):1505–1512. doi:10.1093/aje/kwt133
//!
//! # Model
//!
//! Cases with onset on day t that were infected locally are Poisson with
//! mean R_t Λ_t, where the *overall infectivity*
//!
//! ```text
//! Λ_t = Σ_{s=1}^{t} w_s I_{t−s},    I = local + imported,
//! ```
//!
//! weighs everyone with earlier onset (local or imported: an imported case
//! infects but was not infected here) by the serial interval w. With R
//! constant over a window τ = [t_start, t_end] and a gamma prior with shape
//! a and scale b, the posterior of R is gamma with
//!
//! ```text
//! shape = a + Σ_{t∈τ} I^local_t,      scale = 1 / (1/b + Σ_{t∈τ} Λ_t)
//! ```
//!
//! (Cori et al. 2013; EpiEstim's `posterior_from_si_distr`, which counts
//! local cases only in the shape). The posterior mean is shape·scale, the sd
//! √shape·scale, and the credible interval comes from gamma quantiles
//! ([`crate::special`]).
//!
//! # As EpiEstim does it
//!
//! - Windows: EpiEstim's default sliding windows, 1-based t_start = 2, …,
//!   T − w + 1 and t_end = t_start + w − 1. Here days are **0-based**: the
//!   windows are [s, s + w − 1] for s = 1, …, T − w, so `t_start` and
//!   `t_end` are EpiEstim's minus one. A series of at most w days has none.
//! - Λ is EpiEstim's `overall_infectivity`: the full convolution over every
//!   earlier day, the serial interval cut nowhere but where less than 1e-16
//!   of its mass is left (see [`crate::serial_interval`]). Λ₀ is 0 here,
//!   NA in EpiEstim; no window contains day 0.
//! - EpiEstim counts every case of day 0 as imported. Day 0 is in no
//!   window and Λ uses the total, so that changes no estimate and is not
//!   repeated.
//! - Prior: mean 5 and sd 5 (shape (mean/sd)², scale sd²/mean), EpiEstim's
//!   default, "a high prior value with large uncertainty so that if one
//!   estimates R to be below 1, the result is strongly data-driven".
//! - Window sums are summed directly, in EpiEstim's order, rather than from
//!   prefix sums: prefix sums of Λ lose digits to cancellation after a large
//!   wave, and w additions per window cost nothing next to the quantiles.
//!
//! # Too uncertain to show
//!
//! Every window gets its posterior; [`RtEstimate::too_uncertain`] says why
//! one should not be shown, checking in this order:
//!
//! 1. [`TooUncertain::BeforeOneMeanSi`]: the window ends within one mean
//!    serial interval of the start of the series (1-based t_end ≤ the mean
//!    of the discrete serial interval). EpiEstim returns NA for these and
//!    drops the row; its mean is taken over the weights it uses, k < T for
//!    a gamma serial interval.
//! 2. [`TooUncertain::InfectivityBelowPrior`]: Σ Λ over the window is below
//!    1/b, the prior's own "exposure", so the posterior scale is mostly the
//!    prior's and the cases in the window, if any, had (almost) nobody to
//!    be infected by. This includes Σ Λ = 0, where EpiEstim reports the
//!    prior updated with the window's local cases alone (a posterior mean of
//!    (a + cases)·b: 55 for 10 cases) rather than NA. The numbers are kept;
//!    they say nothing about transmission. (This rule is ours, not
//!    EpiEstim's; comparing with 1/b rather than with 0 also keeps it off
//!    the rounding noise in the far tail of the serial interval.)
//! 3. [`TooUncertain::PosteriorCv`]: the posterior coefficient of variation
//!    1/√shape is above [`RtConfig::cv_posterior`] (default 0.3).
//!    EpiEstim's `make_config` documents `cv_posterior` as "the aimed
//!    posterior CV": "a warning will be produced if the incidence within one
//!    of the time windows considered is too low to get this CV", the
//!    threshold being `ceiling(1/cv_posterior^2 - a_prior)` cases; for
//!    integer counts that is exactly shape·cv² < 1. With the default prior
//!    (shape 1) and CV 0.3 a window needs at least 11 local cases; with the
//!    index case before it, 12 cases since the beginning of the epidemic,
//!    the minimum that the `estimateR` package (which wraps EpiEstim) uses
//!    by default "as recommended in Cori et al., 2013"
//!    (`minimum_cumul_incidence = 12`); rule 1 is the other half of that
//!    advice, one mean serial interval into the series. Two differences from
//!    EpiEstim, which only warns: the rule is applied to every window, not
//!    just the first, and it counts local cases only (EpiEstim's count adds
//!    imported ones, which do not enter the posterior).
//!
//! # Many regions
//!
//! [`estimate_r_many`] runs regions in parallel on rayon's global pool: a
//! CPU-bound call, to be made from `spawn_blocking` or a plain thread
//! inside an async server. 3,000 regions × 365 days take well under a second
//! on two cores (`cargo bench -p fangkong-analytics --bench rt`).

use std::fmt;

use rayon::prelude::*;

use crate::serial_interval::SerialInterval;
use crate::special::{Gamma, GammaError};

/// Daily case counts of one region: local cases, and optionally imported
/// ones, over the same days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incidence<'a> {
    local: &'a [u32],
    imported: Option<&'a [u32]>,
}

/// The local and imported series differ in length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthMismatch {
    pub local: usize,
    pub imported: usize,
}

impl fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "local series has {} days but imported series has {}",
            self.local, self.imported
        )
    }
}

impl std::error::Error for LengthMismatch {}

impl<'a> Incidence<'a> {
    /// Every case counted as local transmission.
    pub fn local_only(local: &'a [u32]) -> Self {
        Incidence {
            local,
            imported: None,
        }
    }

    /// Local and imported cases (EpiEstim's `incid$local`, `incid$imported`).
    pub fn with_imported(local: &'a [u32], imported: &'a [u32]) -> Result<Self, LengthMismatch> {
        if local.len() != imported.len() {
            return Err(LengthMismatch {
                local: local.len(),
                imported: imported.len(),
            });
        }
        Ok(Incidence {
            local,
            imported: Some(imported),
        })
    }

    /// Number of days.
    pub fn len(&self) -> usize {
        self.local.len()
    }

    pub fn is_empty(&self) -> bool {
        self.local.is_empty()
    }

    fn total(&self, day: usize) -> f64 {
        let imported = self.imported.map_or(0, |i| i[day]);
        (u64::from(self.local[day]) + u64::from(imported)) as f64
    }
}

/// Settings of the estimation; the default is EpiEstim's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtConfig {
    window: usize,
    prior: Gamma,
    cv_posterior: f64,
}

/// A setting out of its domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RtConfigError {
    /// The window must be at least one day.
    EmptyWindow,
    /// The prior mean and sd must be finite and positive.
    Prior(GammaError),
    /// The aimed posterior CV must be finite and positive.
    CvPosterior(f64),
}

impl fmt::Display for RtConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtConfigError::EmptyWindow => write!(f, "window must be at least one day"),
            RtConfigError::Prior(e) => write!(f, "prior: {e}"),
            RtConfigError::CvPosterior(cv) => {
                write!(f, "posterior cv must be finite and positive, got {cv}")
            }
        }
    }
}

impl std::error::Error for RtConfigError {}

impl Default for RtConfig {
    /// Weekly windows, prior mean 5 and sd 5, posterior CV 0.3.
    fn default() -> Self {
        RtConfig {
            window: 7,
            prior: EPIESTIM_PRIOR,
            cv_posterior: 0.3,
        }
    }
}

/// Mean 5 and sd 5: shape 1, scale 5 (checked at compile time).
const EPIESTIM_PRIOR: Gamma = match Gamma::new(1.0, 5.0) {
    Ok(prior) => prior,
    Err(_) => panic!("shape 1 and scale 5 make a valid gamma"),
};

impl RtConfig {
    /// Windows of `days` days (EpiEstim's default is 7).
    pub fn with_window(self, days: usize) -> Result<Self, RtConfigError> {
        if days == 0 {
            return Err(RtConfigError::EmptyWindow);
        }
        Ok(RtConfig {
            window: days,
            ..self
        })
    }

    /// A gamma prior on R with this mean and sd (EpiEstim's `mean_prior`, `std_prior`).
    pub fn with_prior(self, mean: f64, sd: f64) -> Result<Self, RtConfigError> {
        let prior = Gamma::from_mean_sd(mean, sd).map_err(RtConfigError::Prior)?;
        Ok(RtConfig { prior, ..self })
    }

    /// The aimed posterior coefficient of variation (EpiEstim's `cv_posterior`).
    pub fn with_cv_posterior(self, cv: f64) -> Result<Self, RtConfigError> {
        if !(cv.is_finite() && cv > 0.0) {
            return Err(RtConfigError::CvPosterior(cv));
        }
        Ok(RtConfig {
            cv_posterior: cv,
            ..self
        })
    }

    pub fn window(&self) -> usize {
        self.window
    }

    pub fn prior(&self) -> Gamma {
        self.prior
    }

    pub fn cv_posterior(&self) -> f64 {
        self.cv_posterior
    }
}

/// Why an estimate is too uncertain to show (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooUncertain {
    /// The window ends within one mean serial interval of the first day
    /// (EpiEstim: NA).
    BeforeOneMeanSi,
    /// Σ Λ over the window is below the prior's 1/b (Σ Λ = 0 included):
    /// (almost) no one could have infected the window's cases.
    InfectivityBelowPrior,
    /// The posterior CV is above the configured aim: too few local cases.
    PosteriorCv,
}

/// R over one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtEstimate {
    /// First day of the window, 0-based (EpiEstim's `t_start` − 1).
    pub t_start: usize,
    /// Last day of the window, 0-based and inclusive (EpiEstim's `t_end` − 1).
    pub t_end: usize,
    /// Local cases over the window.
    pub local_cases: u64,
    /// Σ Λ_t over the window.
    pub infectivity: f64,
    /// The gamma posterior of R. EpiEstim's other columns are its
    /// quantiles: `posterior.quantile(0.05)`, `(0.25)`, `(0.75)`, `(0.95)`.
    pub posterior: Gamma,
    pub mean: f64,
    pub sd: f64,
    pub q025: f64,
    pub median: f64,
    pub q975: f64,
    /// `Some(reason)` when the estimate should not be shown.
    pub too_uncertain: Option<TooUncertain>,
}

/// Λ_t for every day of the series (EpiEstim's `overall_infectivity`, with
/// Λ₀ = 0 where EpiEstim has NA).
pub fn overall_infectivity(incidence: Incidence<'_>, si: &SerialInterval) -> Vec<f64> {
    let w = si.weights();
    let total: Vec<f64> = (0..incidence.len())
        .map(|day| incidence.total(day))
        .collect();
    (0..total.len())
        .map(|t| {
            let reach = t.min(w.len() - 1);
            w[1..=reach]
                .iter()
                .zip(total[..t].iter().rev())
                .map(|(w, i)| w * i)
                .sum()
        })
        .collect()
}

/// R over EpiEstim's default sliding windows of `config.window()` days.
pub fn estimate_r(
    incidence: Incidence<'_>,
    si: &SerialInterval,
    config: &RtConfig,
) -> Vec<RtEstimate> {
    let days = incidence.len();
    let window = config.window;
    if days <= window {
        return Vec::new();
    }
    let lambda = overall_infectivity(incidence, si);
    let mean_si = si.mean_for_series(days);
    (1..=days - window)
        .map(|t_start| {
            let t_end = t_start + window - 1;
            let local_cases: u64 = incidence.local[t_start..=t_end]
                .iter()
                .map(|&c| u64::from(c))
                .sum();
            let infectivity: f64 = lambda[t_start..=t_end].iter().sum();
            let posterior = config.prior.updated(local_cases as f64, infectivity);
            let [q025, median, q975] = posterior.quantiles([0.025, 0.5, 0.975]);
            let too_uncertain = if (t_end + 1) as f64 <= mean_si {
                Some(TooUncertain::BeforeOneMeanSi)
            } else if infectivity * config.prior.scale() < 1.0 {
                Some(TooUncertain::InfectivityBelowPrior)
            } else if posterior.shape() * config.cv_posterior.powi(2) < 1.0 {
                Some(TooUncertain::PosteriorCv)
            } else {
                None
            };
            RtEstimate {
                t_start,
                t_end,
                local_cases,
                infectivity,
                posterior,
                mean: posterior.mean(),
                sd: posterior.sd(),
                q025,
                median,
                q975,
                too_uncertain,
            }
        })
        .collect()
}

/// [`estimate_r`] for many regions at once, in parallel (rayon's global
/// pool); results in the order of `regions`.
pub fn estimate_r_many(
    regions: &[Incidence<'_>],
    si: &SerialInterval,
    config: &RtConfig,
) -> Vec<Vec<RtEstimate>> {
    regions
        .par_iter()
        .map(|&incidence| estimate_r(incidence, si, config))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{rngs::StdRng, SeedableRng};
    use rand_distr::{Distribution, Poisson};

    fn one_day_si() -> SerialInterval {
        SerialInterval::discrete(&[0.0, 1.0]).unwrap()
    }

    #[test]
    fn constant_incidence_with_one_day_si_is_closed_form() {
        // w₁ = 1: Λ_t = I_{t−1}, so the posterior mean is (a + Σ I_t) / (1/b + Σ I_{t−1})
        let cases = [40u32; 30];
        let config = RtConfig::default();
        let (a, b) = (config.prior().shape(), config.prior().scale());
        let estimates = estimate_r(Incidence::local_only(&cases), &one_day_si(), &config);
        assert_eq!(estimates.len(), 30 - 7);
        for e in &estimates {
            let want = (a + 7.0 * 40.0) / (1.0 / b + 7.0 * 40.0);
            assert!(
                (e.mean - want).abs() <= 2.0 * f64::EPSILON * want,
                "{} vs {want}",
                e.mean
            );
            assert_eq!(e.mean, e.posterior.shape() * e.posterior.scale());
            assert!(e.q025 < e.median && e.median < e.q975);
            assert_eq!(e.too_uncertain, None);
        }
        assert_eq!((estimates[0].t_start, estimates[0].t_end), (1, 7));
        assert_eq!(estimates.last().map(|e| e.t_end), Some(29));
    }

    #[test]
    fn imported_cases_infect_but_are_not_counted() {
        let local = [0u32, 0, 0, 0];
        let imported = [10u32, 0, 0, 0];
        let incidence = Incidence::with_imported(&local, &imported).unwrap();
        assert_eq!(
            overall_infectivity(incidence, &one_day_si()),
            vec![0.0, 10.0, 0.0, 0.0]
        );
        let config = RtConfig::default().with_window(1).unwrap();
        let e = estimate_r(incidence, &one_day_si(), &config);
        // day 1: no local case, Λ = 10 → shape 1, scale 1/(1/5 + 10)
        assert_eq!(e[0].posterior, Gamma::new(1.0, 1.0 / (0.2 + 10.0)).unwrap());
        assert_eq!(e[0].too_uncertain, Some(TooUncertain::PosteriorCv));
        assert_eq!(
            e[1].too_uncertain,
            Some(TooUncertain::InfectivityBelowPrior)
        );
        assert_eq!(
            Incidence::with_imported(&local, &imported[..3]),
            Err(LengthMismatch {
                local: 4,
                imported: 3
            })
        );
    }

    #[test]
    fn posterior_cv_rule_is_epiestims_case_threshold() {
        // default prior shape 1, cv 0.3: ceiling(1/0.09 − 1) = 11 local cases per window
        let si = one_day_si();
        let config = RtConfig::default().with_window(1).unwrap();
        for (cases, flagged) in [(10u32, true), (11, false)] {
            let series = [5, cases];
            let e = estimate_r(Incidence::local_only(&series), &si, &config);
            assert_eq!(
                e[0].too_uncertain == Some(TooUncertain::PosteriorCv),
                flagged,
                "{cases} cases"
            );
        }
        let loose = config.with_cv_posterior(0.5).unwrap(); // ceiling(4 − 1) = 3
        let e = estimate_r(Incidence::local_only(&[5, 3]), &si, &loose);
        assert_eq!(e[0].too_uncertain, None);
    }

    #[test]
    fn windows_within_one_mean_si_are_flagged() {
        let si = SerialInterval::gamma(8.4, 3.8).unwrap();
        let cases: Vec<u32> = (0..40).map(|t| 20 + t).collect();
        let e = estimate_r(
            Incidence::local_only(&cases),
            &si,
            &RtConfig::default().with_window(3).unwrap(),
        );
        for e in &e {
            let before = (e.t_end + 1) as f64 <= si.mean_for_series(40);
            assert_eq!(
                e.too_uncertain == Some(TooUncertain::BeforeOneMeanSi),
                before
            );
        }
        // e[i] ends on day i + 3, 1-based i + 4: flagged up to 8 ≤ 8.4
        assert_eq!(e[4].too_uncertain, Some(TooUncertain::BeforeOneMeanSi));
        assert_eq!(e[5].too_uncertain, None);
    }

    #[test]
    fn short_empty_and_silent_series() {
        let si = SerialInterval::gamma(4.7, 2.9).unwrap();
        let config = RtConfig::default();
        assert!(estimate_r(Incidence::local_only(&[]), &si, &config).is_empty());
        assert!(estimate_r(Incidence::local_only(&[3; 7]), &si, &config).is_empty());
        assert_eq!(
            estimate_r(Incidence::local_only(&[3; 8]), &si, &config).len(),
            1
        );
        let zeros = [0u32; 20];
        for e in estimate_r(Incidence::local_only(&zeros), &si, &config) {
            assert_eq!(e.posterior, config.prior());
            assert!(matches!(
                e.too_uncertain,
                Some(TooUncertain::BeforeOneMeanSi | TooUncertain::InfectivityBelowPrior)
            ));
        }
    }

    #[test]
    fn config_rules() {
        assert_eq!(
            RtConfig::default().with_window(0),
            Err(RtConfigError::EmptyWindow)
        );
        assert!(matches!(
            RtConfig::default().with_prior(5.0, f64::NAN),
            Err(RtConfigError::Prior(_))
        ));
        assert!(matches!(
            RtConfig::default().with_cv_posterior(0.0),
            Err(RtConfigError::CvPosterior(_))
        ));
        let c = RtConfig::default();
        assert_eq!(
            (
                c.window(),
                c.prior().mean(),
                c.prior().sd(),
                c.cv_posterior()
            ),
            (7, 5.0, 5.0, 0.3)
        );
    }

    /// A renewal process whose R drops from 1.3 to 0.8 on day 40: the
    /// windows on either side recover it.
    #[test]
    fn step_change_in_a_simulated_renewal_process_is_recovered() {
        let si = SerialInterval::gamma(4.7, 2.9).unwrap();
        let w = si.weights();
        let truth = |t: usize| if t < 40 { 1.3 } else { 0.8 };
        let mut rng = StdRng::seed_from_u64(2013);
        let mut cases = vec![2000u32];
        for t in 1..80 {
            let lambda: f64 = (1..=t.min(w.len() - 1))
                .map(|s| w[s] * f64::from(cases[t - s]))
                .sum();
            let draw = Poisson::new(truth(t) * lambda)
                .map(|p| p.sample(&mut rng))
                .unwrap_or(0.0);
            cases.push(draw as u32);
        }
        let estimates = estimate_r(Incidence::local_only(&cases), &si, &RtConfig::default());
        let (mut checked, mut covered) = (0, 0);
        for e in estimates
            .iter()
            .filter(|e| e.t_start >= 10 && (e.t_end < 40 || e.t_start >= 40))
        {
            let r = truth(e.t_start);
            assert!(
                (e.mean - r).abs() < 0.1,
                "window {}..{}: {} vs {r}",
                e.t_start,
                e.t_end,
                e.mean
            );
            checked += 1;
            covered += usize::from(e.q025 <= r && r <= e.q975);
        }
        assert!(
            checked > 50 && covered * 10 >= checked * 8,
            "{covered} of {checked} intervals cover R"
        );
    }

    #[test]
    fn many_regions_in_parallel_match_one_by_one() {
        let si = SerialInterval::gamma(4.7, 2.9).unwrap();
        let series: Vec<Vec<u32>> = (0..16)
            .map(|r| (0..60).map(|t| (r * 7 + t * t) % 50).collect())
            .collect();
        let regions: Vec<Incidence<'_>> = series.iter().map(|s| Incidence::local_only(s)).collect();
        let config = RtConfig::default();
        let many = estimate_r_many(&regions, &si, &config);
        for (region, got) in regions.iter().zip(&many) {
            assert_eq!(got, &estimate_r(*region, &si, &config));
        }
    }

    proptest! {
        #[test]
        fn intervals_are_ordered_and_the_mean_is_shape_times_scale(
            local in prop::collection::vec(0u32..5000, 0..60),
            window in 1usize..15,
            si_mean in 1.1f64..20.0,
            si_sd in 0.1f64..10.0,
        ) {
            let si = SerialInterval::gamma(si_mean, si_sd).unwrap();
            let config = RtConfig::default().with_window(window).unwrap();
            for e in estimate_r(Incidence::local_only(&local), &si, &config) {
                prop_assert!(e.q025 <= e.median && e.median <= e.q975, "{e:?}");
                prop_assert!(e.q025 >= 0.0 && e.q975.is_finite());
                prop_assert_eq!(e.mean, e.posterior.shape() * e.posterior.scale());
                prop_assert!((e.posterior.cdf(e.median) - 0.5).abs() < 1e-9);
            }
        }
    }
}
