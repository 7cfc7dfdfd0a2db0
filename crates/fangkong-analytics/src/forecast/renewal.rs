//! The renewal projection, with R constant per path or moving by a damped
//! model over the horizon.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Gamma};
use rayon::prelude::*;

use super::inputs::{Damping, Method, Offspring, RPosterior, SiWeights};
use super::sampling::{negative_binomial, poisson};
use super::summary::{Projection, SamplePaths};
use super::{check_counts, ForecastError, ForecastSettings};

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

/// How R moves over the horizon on each sample path.
///
/// The posteriors are Cori et al.'s for windows of `window` days, the last
/// one ending at the forecast origin. A window's estimate belongs to its
/// centre, `c = (window − 1)/2` days before the origin, so the damped models
/// start moving R there. With `φ` the damping per week and `φ₁ = φ^{1/7}`
/// per day, on forecast day `h`:
///
/// ```text
/// Constant:      R_h = R₀
/// DampedGrowth:  ln R_h = φ₁^{h+c} · ln R₀
/// DampedTrend:   ln R_h = ln R₀ + β · Σ_{i=1}^{h+c} φ₁^i,   β = ln(R₀/R₁)/window
/// ```
///
/// with `R₀` (and `R₁`, from the window ending `window` days earlier) drawn
/// once per path from the posteriors, so that the uncertainty about R — and
/// about its trend — carries into the paths.
///
/// **DampedGrowth** is the damped-trend method of Gardner & McKenzie (1985,
/// *Manage Sci* 31:1237) applied to log incidence, whose level is today's
/// incidence and whose trend is the epidemic growth rate `r`: the forecast
/// growth rate on day `h` is `φ₁^h · r`, tending to zero. Since
/// `ln R ≈ r · T_g` for a generation time `T_g` (Wallinga & Lipsitch 2007,
/// *Proc R Soc B* 274:599), damping `r` is damping `ln R` towards 0, i.e. R
/// towards 1. Cases then level off at a plateau instead of growing or
/// shrinking exponentially for ever.
///
/// **DampedTrend** damps the trend of log R itself — a trend in the growth
/// rate — from two non-overlapping windows. It follows a steady fall of R
/// well, but an increase between two windows compounds: R grows within the
/// horizon and cases grow faster than exponentially. After a one-day cluster
/// report (a prison outbreak, a reclassification), R₀/R₁ is large and the
/// forecast explodes; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RPath {
    /// R drawn once per path and held (R package `projections`,
    /// `R_fix_within = TRUE`; Nouvellet et al. 2018, *Epidemics* 22:29).
    Constant(RPosterior),
    /// R reverting to 1: the growth rate damped toward 0.
    DampedGrowth {
        current: RPosterior,
        window: usize,
        damping: Damping,
    },
    /// A damped trend in log R from the window ending at the origin
    /// (`current`) and the one ending `window` days earlier (`previous`).
    DampedTrend {
        current: RPosterior,
        previous: RPosterior,
        window: usize,
        damping: Damping,
    },
}

impl RPath {
    pub(crate) fn method(&self) -> Method {
        match self {
            RPath::Constant(_) => Method::Renewal,
            RPath::DampedGrowth { .. } => Method::DampedGrowth,
            RPath::DampedTrend { .. } => Method::DampedTrend,
        }
    }
}

impl Renewal {
    pub fn new(si: SiWeights, offspring: Offspring) -> Self {
        Self { si, offspring }
    }

    /// Projects `settings.horizon()` days beyond the last day of
    /// `incidence` (daily counts, oldest first, local plus imported), with
    /// `R` drawn once per path from `posterior` and held over the horizon.
    /// The same `seed` gives the same result.
    pub fn project(
        &self,
        incidence: &[f64],
        posterior: RPosterior,
        settings: &ForecastSettings,
        seed: u64,
    ) -> Result<Projection, ForecastError> {
        self.project_path(incidence, &RPath::Constant(posterior), settings, seed)
    }

    /// As [`Self::project`], with R moving along `path`.
    pub fn project_path(
        &self,
        incidence: &[f64],
        path: &RPath,
        settings: &ForecastSettings,
        seed: u64,
    ) -> Result<Projection, ForecastError> {
        check_counts(incidence)?;
        let paths = self.simulate(incidence, path, settings, seed)?;
        Ok(Projection::from_paths(
            paths,
            settings.keep_paths,
            path.method(),
        ))
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

    /// The sample paths behind [`Self::project_path`]; `incidence` must have
    /// been checked.
    pub(crate) fn simulate(
        &self,
        incidence: &[f64],
        path: &RPath,
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

        let draw = |posterior: RPosterior, rng: &mut StdRng| -> Result<Vec<f64>, ForecastError> {
            let gamma = Gamma::new(posterior.shape(), posterior.scale())
                .map_err(|_| ForecastError::InvalidPosterior)?;
            Ok((0..n_paths).map(|_| gamma.sample(rng)).collect())
        };
        let centre = |window: usize| -> Result<f64, ForecastError> {
            match window {
                0 => Err(ForecastError::InvalidWindow),
                w => Ok((w - 1) as f64 / 2.0),
            }
        };
        // R per path: fixed, or ln R_h = a + b · f(h) per path and day.
        let (mut r, moving) = match *path {
            RPath::Constant(posterior) => (draw(posterior, &mut rng)?, None),
            RPath::DampedGrowth {
                current,
                window,
                damping,
            } => {
                let c = centre(window)?;
                let r0 = draw(current, &mut rng)?;
                let ln_r0: Vec<f64> = r0.iter().map(|v| v.ln()).collect();
                let daily = damping.per_week().powf(1.0 / 7.0);
                let f: Vec<f64> = (1..=horizon).map(|h| daily.powf(h as f64 + c)).collect();
                (r0, Some((vec![0.0; n_paths], ln_r0, f)))
            }
            RPath::DampedTrend {
                current,
                previous,
                window,
                damping,
            } => {
                let c = centre(window)?;
                let r0 = draw(current, &mut rng)?;
                let r1 = draw(previous, &mut rng)?;
                let beta: Vec<f64> = r0
                    .iter()
                    .zip(&r1)
                    .map(|(a, b)| {
                        let slope = (a / b).ln() / window as f64;
                        // A draw that underflowed to 0 gives no usable trend.
                        if slope.is_finite() {
                            slope
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let ln_r0: Vec<f64> = r0.iter().map(|v| v.ln()).collect();
                let f: Vec<f64> = (1..=horizon)
                    .map(|h| damping.accumulated(h as f64 + c))
                    .collect();
                (r0, Some((ln_r0, beta, f)))
            }
        };

        let mut values = vec![0.0; horizon * n_paths];
        let mut lambda = vec![0.0; n_paths];
        for h in 0..horizon {
            if let Some((a, b, f)) = &moving {
                let f = f[h];
                for ((r, a), b) in r.iter_mut().zip(a).zip(b) {
                    // exp(−∞) = 0 for a zero draw; +∞ is capped by `poisson`.
                    *r = (a + b * f).exp();
                }
            }
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
                    Offspring::NegativeBinomial(k) => {
                        negative_binomial(&mut rng, rp * l, k.get() * l)
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::test_util::{close, fixed_r, moments, ok, one_day_si};
    use crate::forecast::{Damping, Dispersion, Method, MAX_COUNT, MAX_HORIZON};

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

    /// The mean path of R moving by `r_of(h)` (h from 1) from `past`.
    fn expected_means(
        w: &[f64],
        past: &[f64],
        days: usize,
        r_of: impl Fn(usize) -> f64,
    ) -> Vec<f64> {
        let mut expected = past.to_vec();
        for h in 1..=days {
            let t = expected.len();
            let lambda: f64 = (1..w.len()).map(|s| w[s] * expected[t - s]).sum();
            expected.push(r_of(h) * lambda);
        }
        expected.split_off(past.len())
    }

    #[test]
    fn damped_paths_follow_their_deterministic_r() {
        let w = [0.0, 0.2, 0.5, 0.3];
        let past: Vec<f64> = (0..30).map(|t| 80.0 - t as f64).collect();
        let model = Renewal::new(ok(SiWeights::new(&w)), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(21, 10_000));
        let damping = ok(Damping::new(0.8));
        let daily = 0.8_f64.powf(1.0 / 7.0);
        // R reverting to 1 from 1.6, window 7 (centre 3 days back).
        let growth = RPath::DampedGrowth {
            current: fixed_r(1.6),
            window: 7,
            damping,
        };
        let p = ok(model.project_path(&past, &growth, &settings, 3));
        assert_eq!(p.method, Method::DampedGrowth);
        let want = expected_means(&w, &past, 21, |h| {
            (daily.powf(h as f64 + 3.0) * 1.6_f64.ln()).exp()
        });
        for (day, want) in p.days.iter().zip(&want) {
            assert!(close(day.mean, *want, 0.01), "{} vs {want}", day.mean);
        }
        // R from 1.2 a week ago to 0.9 now: the fall goes on, damped.
        let trend = RPath::DampedTrend {
            current: fixed_r(0.9),
            previous: fixed_r(1.2),
            window: 7,
            damping,
        };
        let p = ok(model.project_path(&past, &trend, &settings, 4));
        assert_eq!(p.method, Method::DampedTrend);
        let beta = (0.9_f64 / 1.2).ln() / 7.0;
        let want = expected_means(&w, &past, 21, |h| {
            0.9 * (beta * damping.accumulated(h as f64 + 3.0)).exp()
        });
        for (day, want) in p.days.iter().zip(&want) {
            assert!(close(day.mean, *want, 0.01), "{} vs {want}", day.mean);
        }
        let bad = RPath::DampedGrowth {
            current: fixed_r(1.0),
            window: 0,
            damping,
        };
        assert_eq!(
            model.project_path(&past, &bad, &settings, 1),
            Err(ForecastError::InvalidWindow)
        );
    }

    #[test]
    fn reverting_r_levels_off_where_constant_r_explodes() {
        let model = Renewal::new(ok(SiWeights::new(&[0.0, 0.4, 0.6])), Offspring::Poisson);
        let settings = ok(ForecastSettings::new(MAX_HORIZON, 200));
        let past = [100.0; 10];
        let constant = ok(model.project(&past, fixed_r(1.5), &settings, 1));
        let growth = RPath::DampedGrowth {
            current: fixed_r(1.5),
            window: 7,
            damping: Damping::DEFAULT,
        };
        let damped = ok(model.project_path(&past, &growth, &settings, 1));
        let last = |p: &Projection| p.days[MAX_HORIZON - 1].median;
        assert!(last(&constant) >= MAX_COUNT * 0.99);
        // ln(plateau/100) ≈ ln 1.5 / T_g · φ₁/(1 − φ₁) with T_g = 1.6 days.
        let plateau = last(&damped);
        assert!((1e4..1e6).contains(&plateau), "{plateau}");
        let late = damped.days[MAX_HORIZON - 30].median;
        assert!(close(plateau, late, 0.06), "{plateau} vs {late}");
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
}
