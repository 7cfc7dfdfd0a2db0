//! One call per region: Rt, the path of R, simulation and the ensemble.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::rt::{self, Incidence, RtConfig, RtEstimate, TooUncertain};
use crate::serial_interval::SerialInterval;

use super::baseline::{baseline, DayDistribution};
use super::ensemble::quantile_average;
use super::inputs::{ForecastSettings, Method, RPosterior, SiWeights};
use super::renewal::{RPath, Renewal};
use super::sampling::mix;
use super::summary::Projection;
use super::{check_counts, ForecastError};

/// At most this share of an Rt window's infectiousness `Σ Λ_t` may depend on
/// the first day of the series for the window to be used (see
/// [`first_day_share`]).
pub const MAX_FIRST_DAY_SHARE: f64 = 0.05;

/// One region's daily confirmed cases, oldest first, the last day being the
/// forecast origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cases<'a> {
    local: &'a [f64],
    imported: Option<&'a [f64]>,
}

impl<'a> Cases<'a> {
    /// Every case counted as infected locally (as EpiEstim does with a
    /// single series, whose first day it counts as imported).
    pub fn local_only(local: &'a [f64]) -> Self {
        Self {
            local,
            imported: None,
        }
    }

    /// Local and imported cases over the same days. Imported cases infect
    /// (they enter `Λ_t`) but were not infected here; the forecast is of
    /// local cases, with no imports after the origin.
    pub fn with_imported(local: &'a [f64], imported: &'a [f64]) -> Result<Self, ForecastError> {
        if local.len() != imported.len() {
            return Err(ForecastError::LengthMismatch {
                local: local.len(),
                imported: imported.len(),
            });
        }
        Ok(Self {
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
}

/// Why no renewal forecast could be made: R at the origin cannot be
/// estimated from these data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RUnavailable {
    /// The series is not longer than one Rt window.
    TooShort,
    /// The last window ends within one mean serial interval of the first
    /// day, or the infectiousness over it is below the prior's: R is
    /// (almost) all prior ([`TooUncertain`]).
    NotIdentifiable(TooUncertain),
    /// More than [`MAX_FIRST_DAY_SHARE`] of the last window's infectiousness
    /// depends on the first day (see [`first_day_share`]).
    FirstDay { share: f64 },
}

/// Forecasts one region's daily cases `settings.horizon()` days past the
/// last day of `cases`, by `settings.method()` (default
/// [`Method::Ensemble`]); see the module docs for the methods.
///
/// R comes from [`rt::estimate_r`] with `rt_config` and `si`: the last
/// window (ending at the origin) and, for the damped trend, the window
/// ending `rt_config.window()` days earlier. The renewal part is skipped —
/// [`Method::Ensemble`] then returns the baseline alone, and
/// [`Method::Renewal`], [`Method::DampedGrowth`] and [`Method::DampedTrend`]
/// return [`ForecastError::RUnavailable`] — when the last window
/// - does not exist (the series is at most one window long),
/// - is flagged [`TooUncertain::BeforeOneMeanSi`] or
///   [`TooUncertain::InfectivityBelowPrior`], or
/// - depends on the first day for more than [`MAX_FIRST_DAY_SHARE`] of its
///   infectiousness.
///
/// The trend needs the earlier window to have no [`TooUncertain`] flag at
/// all (11 cases or more by EpiEstim's default) and to pass the first-day
/// rule; otherwise R is held constant. [`Projection::method`] says what was
/// done.
///
/// In the ensemble, the baseline member is one sorted sample of `paths`
/// draws from its day distribution, which is the same on every day.
///
/// Counts must be finite and non-negative; they are rounded to whole cases
/// for the Rt estimate. The same `seed` gives the same forecast.
pub fn forecast(
    cases: Cases<'_>,
    si: &SerialInterval,
    rt_config: &RtConfig,
    settings: &ForecastSettings,
    seed: u64,
) -> Result<Projection, ForecastError> {
    check_counts(cases.local)?;
    if let Some(imported) = cases.imported {
        check_counts(imported)?;
    }
    if settings.method == Method::Baseline {
        return baseline(cases.local, settings, mix(seed, 1));
    }
    let (paths, used) = match renewal_paths(cases, si, rt_config, settings, mix(seed, 0)) {
        Ok(renewal) => renewal,
        Err(ForecastError::RUnavailable(_)) if settings.method == Method::Ensemble => {
            return baseline(cases.local, settings, mix(seed, 1));
        }
        Err(e) => return Err(e),
    };
    if settings.method != Method::Ensemble {
        return Ok(Projection::from_paths(paths, settings.keep_paths, used));
    }
    let day = DayDistribution::of(cases.local)?;
    let mut rng = StdRng::seed_from_u64(mix(seed, 1));
    let mut sample: Vec<f64> = (0..settings.paths).map(|_| day.draw(&mut rng)).collect();
    sample.sort_unstable_by(f64::total_cmp);
    Ok(quantile_average(&paths, &sample, settings.keep_paths))
}

/// [`forecast`] for many regions in parallel (rayon's global pool; call it
/// from a blocking thread in an async server). Region `i` gets its own seed,
/// derived from `seed` and `i` (SplitMix64), so its result does not depend
/// on scheduling; results are in the order of `regions`.
pub fn forecast_regions(
    regions: &[Cases<'_>],
    si: &SerialInterval,
    rt_config: &RtConfig,
    settings: &ForecastSettings,
    seed: u64,
) -> Vec<Result<Projection, ForecastError>> {
    regions
        .par_iter()
        .enumerate()
        .map(|(i, &cases)| forecast(cases, si, rt_config, settings, mix(seed, i as u64)))
        .collect()
}

/// The share of an Rt window's infectiousness `Σ_{t∈window} Λ_t` that
/// depends on the first day of the series.
///
/// A series that starts in mid-epidemic — like the JHU CSSE series, whose
/// first day holds every case reported up to then — carries all earlier
/// cases on day 0, at an unknown time before day 1. Day 0's `I₀` cases add
/// `w_t · I₀` to `Λ_t` as if they all began on day 0; had they begun `j`
/// days earlier they would add `w_{t+j} · I₀`. So their contribution lies
/// between 0 and `I₀ · max_{s≥t} w_s`, and
///
/// ```text
/// share = I₀ · Σ_{t∈window} max_{s≥t} w_s / Σ_{t∈window} Λ_t
/// ```
///
/// bounds the relative error of `Σ Λ_t`, hence of R, that the unknown
/// timing can cause. A window is used only if the share is at most
/// [`MAX_FIRST_DAY_SHARE`] (5 %, a sixth of EpiEstim's aimed posterior CV
/// of 0.3). Where day 0 is a genuine first day the rule is merely
/// conservative.
pub fn first_day_share(first_day: f64, estimate: &RtEstimate, si: &SerialInterval) -> f64 {
    let w = si.weights();
    let reach: f64 = (estimate.t_start..=estimate.t_end)
        .map(|t| {
            w.get(t..)
                .map_or(0.0, |tail| tail.iter().copied().fold(0.0, f64::max))
        })
        .sum();
    let exposed = first_day * reach;
    if exposed <= 0.0 {
        0.0
    } else if estimate.infectivity > 0.0 {
        exposed / estimate.infectivity
    } else {
        f64::INFINITY
    }
}

/// The renewal paths for `settings.method` (damped growth for the
/// ensemble) and the method actually used.
fn renewal_paths(
    cases: Cases<'_>,
    si: &SerialInterval,
    rt_config: &RtConfig,
    settings: &ForecastSettings,
    seed: u64,
) -> Result<(super::SamplePaths, Method), ForecastError> {
    let whole = |c: &f64| c.round().min(f64::from(u32::MAX)) as u32;
    let local: Vec<u32> = cases.local.iter().map(whole).collect();
    let imported: Option<Vec<u32>> = cases.imported.map(|i| i.iter().map(whole).collect());
    let incidence = match &imported {
        Some(imported) => Incidence::with_imported(&local, imported).map_err(|e| {
            ForecastError::LengthMismatch {
                local: e.local,
                imported: e.imported,
            }
        })?,
        None => Incidence::local_only(&local),
    };
    let total: Vec<f64> = match cases.imported {
        Some(imported) => cases
            .local
            .iter()
            .zip(imported)
            .map(|(l, i)| l + i)
            .collect(),
        None => cases.local.to_vec(),
    };
    let first_day = total.first().copied().unwrap_or(0.0);

    let estimates = rt::estimate_r(incidence, si, rt_config);
    let current = estimates
        .last()
        .ok_or(ForecastError::RUnavailable(RUnavailable::TooShort))?;
    if let Some(flag @ (TooUncertain::BeforeOneMeanSi | TooUncertain::InfectivityBelowPrior)) =
        current.too_uncertain
    {
        return Err(ForecastError::RUnavailable(RUnavailable::NotIdentifiable(
            flag,
        )));
    }
    let share = first_day_share(first_day, current, si);
    if share > MAX_FIRST_DAY_SHARE {
        return Err(ForecastError::RUnavailable(RUnavailable::FirstDay {
            share,
        }));
    }
    let window = rt_config.window();
    let now = RPosterior::from(current.posterior);
    let damping = settings.damping;
    let path = match settings.method {
        Method::DampedGrowth | Method::Ensemble => RPath::DampedGrowth {
            current: now,
            window,
            damping,
        },
        Method::DampedTrend => {
            let previous = estimates
                .len()
                .checked_sub(1 + window)
                .and_then(|i| estimates.get(i))
                .filter(|e| {
                    e.t_end + window == current.t_end
                        && e.too_uncertain.is_none()
                        && first_day_share(first_day, e, si) <= MAX_FIRST_DAY_SHARE
                });
            match previous {
                Some(before) => RPath::DampedTrend {
                    current: now,
                    previous: RPosterior::from(before.posterior),
                    window,
                    damping,
                },
                None => RPath::Constant(now),
            }
        }
        Method::Renewal | Method::Baseline => RPath::Constant(now),
    };
    let model = Renewal::new(SiWeights::from(si), settings.offspring);
    Ok((
        model.simulate(&total, &path, settings, seed)?,
        path.method(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::summary::DaySummary;
    use crate::forecast::test_util::{close, ok};
    use crate::forecast::{bed_demand, BedCategory, BedModel, Damping, LengthOfStay};
    use crate::rt::Incidence;
    use proptest::prelude::*;

    fn si() -> SerialInterval {
        ok(SerialInterval::gamma(4.7, 2.9))
    }

    fn run(cases: &[f64], method: Method) -> Result<Projection, ForecastError> {
        let settings = ok(ForecastSettings::new(14, 2_000)).with_method(method);
        forecast(
            Cases::local_only(cases),
            &si(),
            &RtConfig::default(),
            &settings,
            9,
        )
    }

    #[test]
    fn a_steady_epidemic_is_forecast_steady_by_every_method() {
        let cases = [100.0; 60];
        for method in [
            Method::Renewal,
            Method::DampedGrowth,
            Method::DampedTrend,
            Method::Baseline,
            Method::Ensemble,
        ] {
            let p = ok(run(&cases, method));
            assert_eq!(p.method, method);
            assert_eq!(p.days.len(), 14);
            for day in &p.days {
                assert!(close(day.median, 100.0, 0.1), "{method:?}: {day:?}");
                assert!(day.p90.lower() < 100.0 && 100.0 < day.p90.upper());
            }
        }
    }

    #[test]
    fn the_ensemble_averages_its_members_quantiles() {
        // A falling epidemic: the renewal part forecasts further falls, the
        // baseline last week's mean; the ensemble lies between.
        let cases: Vec<f64> = (0..50)
            .map(|t| (400.0 * (-0.05 * t as f64).exp()).round())
            .collect();
        let growth = ok(run(&cases, Method::DampedGrowth));
        let base = ok(run(&cases, Method::Baseline));
        let both = ok(run(&cases, Method::Ensemble));
        for ((g, b), e) in growth.days.iter().zip(&base.days).zip(&both.days) {
            assert!(g.median < b.median);
            // Monte-Carlo members: the ensemble's own draws differ a little.
            let mid = 0.5 * (g.median + b.median);
            assert!(close(e.median, mid, 0.1), "{} vs {mid}", e.median);
            assert!(close(e.mean, 0.5 * (g.mean + b.mean), 0.1));
        }
    }

    #[test]
    fn without_r_the_ensemble_is_the_baseline() {
        // Six days: no Rt window yet.
        let short = [3.0, 5.0, 4.0, 6.0, 5.0, 7.0];
        assert_eq!(
            run(&short, Method::Renewal),
            Err(ForecastError::RUnavailable(RUnavailable::TooShort))
        );
        assert_eq!(ok(run(&short, Method::Ensemble)).method, Method::Baseline);
        // The first day holds 5,000 earlier cases: every window's
        // infectiousness depends on when they began.
        let mut truncated = vec![5_000.0];
        truncated.extend([40.0; 12]);
        assert!(matches!(
            run(&truncated, Method::DampedGrowth),
            Err(ForecastError::RUnavailable(RUnavailable::FirstDay { share })) if share > 0.05
        ));
        assert_eq!(
            ok(run(&truncated, Method::Ensemble)).method,
            Method::Baseline
        );
        // Nothing infectious for weeks: R is all prior.
        let mut quiet = vec![0.0; 60];
        quiet[0] = 1.0;
        assert!(matches!(
            run(&quiet, Method::Renewal),
            Err(ForecastError::RUnavailable(RUnavailable::NotIdentifiable(
                _
            )))
        ));
        let p = ok(run(&quiet, Method::Ensemble));
        assert_eq!(p.method, Method::Baseline);
        assert!(p.days.iter().all(|d| d.p95.upper() == 0.0));
    }

    #[test]
    fn the_trend_needs_a_certain_earlier_window() {
        // 3 cases a day for a month, then 100 a day: the earlier window has
        // too few cases for a trend (posterior CV above 0.3), so R is held.
        let mut cases = vec![1.0; 30];
        cases.extend([100.0; 7]);
        assert_eq!(ok(run(&cases, Method::DampedTrend)).method, Method::Renewal);
        let steady = [100.0; 40];
        assert_eq!(
            ok(run(&steady, Method::DampedTrend)).method,
            Method::DampedTrend
        );
    }

    #[test]
    fn first_day_share_by_hand() {
        // w₁ = w₂ = ½; windows of 2 days; 10 cases on day 0, then 1 a day.
        let si = ok(SerialInterval::discrete(&[0.0, 0.5, 0.5]));
        let cases = [10u32, 1, 1, 1, 1, 1];
        let config = ok(RtConfig::default().with_window(2));
        let estimates = rt::estimate_r(Incidence::local_only(&cases), &si, &config);
        // Window [1, 2]: Λ₁ = 5, Λ₂ = 5.5; day 0 could add ½·10 to each.
        let first = &estimates[0];
        assert_eq!((first.t_start, first.t_end), (1, 2));
        assert!(close(first_day_share(10.0, first, &si), 10.0 / 10.5, 1e-12));
        // Window [2, 3]: only Λ₂ depends on day 0.
        assert!(close(
            first_day_share(10.0, &estimates[1], &si),
            5.0 / 6.5,
            1e-12
        ));
        // From day 3 on, day 0 is out of reach.
        let last = &estimates[estimates.len() - 1];
        assert_eq!(first_day_share(10.0, last, &si), 0.0);
        assert_eq!(first_day_share(0.0, first, &si), 0.0);
    }

    #[test]
    fn imported_cases_infect_but_are_not_forecast() {
        let local = [0.0; 40];
        let imported = [50.0; 40];
        let settings = ok(ForecastSettings::new(7, 500)).with_method(Method::Renewal);
        let cases = ok(Cases::with_imported(&local, &imported));
        assert_eq!((cases.len(), cases.is_empty()), (40, false));
        // No local transmission from 50 infectious arrivals a day: R ≈ 0.
        let p = ok(forecast(cases, &si(), &RtConfig::default(), &settings, 1));
        assert!(p.days.iter().all(|d| d.median == 0.0));
        assert_eq!(
            Cases::with_imported(&local, &imported[..3]),
            Err(ForecastError::LengthMismatch {
                local: 40,
                imported: 3
            })
        );
        // Local cases sustained by imports: R around 1 of local cases per
        // unit of infectiousness, which the imports keep up.
        let local = [50.0; 40];
        let cases = ok(Cases::with_imported(&local, &imported));
        let p = ok(forecast(cases, &si(), &RtConfig::default(), &settings, 1));
        // R ≈ ½ (50 local per 100 infectious); without further imports the
        // local cases fall.
        assert!(p.days[6].median < 40.0, "{:?}", p.days[6]);
    }

    #[test]
    fn forecasts_are_seeded_and_batches_match_single_calls() {
        let a: Vec<f64> = (0..40).map(|t| 20.0 + t as f64).collect();
        let b = [7.0; 30];
        let regions = [
            Cases::local_only(&a),
            Cases::local_only(&b),
            Cases::local_only(&[]),
        ];
        let settings = ok(ForecastSettings::new(10, 300));
        let (si, config) = (si(), RtConfig::default());
        let all = forecast_regions(&regions, &si, &config, &settings, 5);
        for (i, region) in regions.iter().enumerate() {
            assert_eq!(
                all[i],
                forecast(*region, &si, &config, &settings, mix(5, i as u64))
            );
        }
        assert_eq!(all[2], Err(ForecastError::NoHistory));
        assert_ne!(
            forecast(regions[0], &si, &config, &settings, 1),
            forecast(regions[0], &si, &config, &settings, 2)
        );
        assert_eq!(
            forecast(Cases::local_only(&[1.0, -1.0]), &si, &config, &settings, 1),
            Err(ForecastError::InvalidCount { index: 1 })
        );
    }

    #[test]
    fn ensemble_paths_feed_bed_demand() {
        let cases: Vec<f64> = (0..40).map(|t| 50.0 + t as f64).collect();
        let settings = ok(ForecastSettings::new(10, 400)).keeping_paths();
        let p = ok(forecast(
            Cases::local_only(&cases),
            &si(),
            &RtConfig::default(),
            &settings,
            3,
        ));
        assert_eq!(p.method, Method::Ensemble);
        let Some(paths) = &p.paths else {
            panic!("paths were asked for")
        };
        // The kept paths carry exactly the summarised distribution.
        for (h, day) in p.days.iter().enumerate() {
            let mut sample = paths.day(h).to_vec();
            assert_eq!(DaySummary::of_sample(&mut sample), *day);
        }
        let stay = ok(LengthOfStay::fixed(7));
        let beds = bed_demand(
            paths,
            &ok(BedModel::new(vec![ok(BedCategory::new(0.1, stay, 30.0))])),
        );
        assert!(beds.total.iter().all(|d| d.median > 0.0));
    }

    fn any_method() -> impl Strategy<Value = Method> {
        prop_oneof![
            Just(Method::Renewal),
            Just(Method::DampedGrowth),
            Just(Method::DampedTrend),
            Just(Method::Baseline),
            Just(Method::Ensemble),
        ]
    }

    proptest! {
        #[test]
        fn forecast_never_panics(
            local in prop::collection::vec(prop::num::f64::ANY, 0..30),
            counts in prop::collection::vec(0.0f64..1e12, 0..30),
            imported in prop::collection::vec(0.0f64..1e6, 0..30),
            method in any_method(),
            phi in 0.01f64..1.0,
        ) {
            let settings = ok(ForecastSettings::new(20, 30))
                .with_method(method)
                .with_damping(ok(Damping::new(phi)))
                .keeping_paths();
            let (si, config) = (si(), RtConfig::default());
            let _ = forecast(Cases::local_only(&local), &si, &config, &settings, 1);
            if let Ok(p) = forecast(Cases::local_only(&counts), &si, &config, &settings, 1) {
                for day in &p.days {
                    prop_assert!(day.mean.is_finite() && day.p95.upper().is_finite());
                    prop_assert!(day.p95.upper() <= 1.001 * crate::forecast::MAX_COUNT);
                }
            }
            let n = counts.len().min(imported.len());
            if let Ok(cases) = Cases::with_imported(&counts[..n], &imported[..n]) {
                let _ = forecast(cases, &si, &config, &settings, 2);
            }
        }
    }
}
