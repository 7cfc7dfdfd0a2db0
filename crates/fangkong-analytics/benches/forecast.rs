//! Forecasts at national scale: 3,000 regions, 28 days, 1,000 sample paths
//! each, in parallel (rayon). Target: under 10 s for each of
//!
//! 1. the plain renewal projection from given R posteriors
//!    ([`Renewal::project_regions`]), and
//! 2. the default forecast from the daily counts alone ([`forecast_regions`]
//!    with [`Method::Ensemble`]: Rt by Cori et al., R reverting to 1, the
//!    baseline, and their quantile average), plus each other method.
//!
//! Run with `cargo bench -p fangkong-analytics --bench forecast`. Prints the
//! time of each of three runs and their median.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fangkong_analytics::forecast::{
    forecast_regions, Cases, Dispersion, ForecastError, ForecastSettings, Method, Offspring,
    Projection, RPosterior, RegionInput, Renewal, SiWeights,
};
use fangkong_analytics::rt::RtConfig;
use fangkong_analytics::serial_interval::SerialInterval;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};

const REGIONS: usize = 3_000;
const HISTORY: usize = 60;
const HORIZON: usize = 28;
const PATHS: usize = 1_000;
const RUNS: usize = 3;

/// A synthetic serial interval: gamma with mean 4.7 and sd 2.9 (Nishiura et
/// al. 2020) evaluated at 1…30 days and normalised. Only its support length
/// (30 days, longer than a truncated SI would be) matters for the timing.
fn serial_interval() -> Vec<f64> {
    let (mean, sd) = (4.7_f64, 2.9_f64);
    let shape = (mean / sd).powi(2);
    let scale = sd * sd / mean;
    let mut w: Vec<f64> = (0..=30)
        .map(|k| {
            let x = f64::from(k);
            if k == 0 {
                0.0
            } else {
                x.powf(shape - 1.0) * (-x / scale).exp()
            }
        })
        .collect();
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= total);
    w
}

struct Region {
    incidence: Vec<f64>,
    posterior: RPosterior,
}

/// Regions with 60 days of Poisson counts around an exponential trend
/// (level 1–3,000 cases a day, growth −0.1…0.1 per day) and an R posterior
/// with mean 0.6–1.4 whose shape is one plus last week's cases, as Cori's
/// would be.
fn regions(seed: u64) -> Result<Vec<Region>, Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..REGIONS)
        .map(|_| {
            let level = 10f64.powf(rng.gen_range(0.0..3.5));
            let growth = rng.gen_range(-0.1..0.1);
            let incidence = (0..HISTORY)
                .map(|t| {
                    let mean = level * (growth * (t as f64 - (HISTORY - 1) as f64)).exp();
                    Ok(Poisson::new(mean.max(1e-9))?.sample(&mut rng))
                })
                .collect::<Result<Vec<f64>, rand_distr::PoissonError>>()?;
            let shape = 1.0 + incidence[HISTORY - 7..].iter().sum::<f64>();
            let r = rng.gen_range(0.6..1.4);
            Ok(Region {
                incidence,
                posterior: RPosterior::new(shape, r / shape)?,
            })
        })
        .collect()
}

/// Times `RUNS` runs of `run` and prints each and the median.
fn time(label: &str, mut run: impl FnMut() -> Vec<Result<Projection, ForecastError>>) {
    println!("{label}");
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for i in 1..=RUNS {
        let start = Instant::now();
        let out = black_box(run());
        let elapsed = start.elapsed();
        let failed = out.iter().filter(|r| r.is_err()).count();
        let last_day_median: f64 = out
            .iter()
            .flatten()
            .filter_map(|p| p.days.last())
            .map(|d| d.median)
            .sum();
        println!(
            "  run {i}: {:.3} s ({failed} failed; Σ day-{HORIZON} medians {last_day_median:.0})",
            elapsed.as_secs_f64()
        );
        times.push(elapsed);
    }
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "  median of {RUNS}: {:.3} s ({:.2} ms per region)",
        median.as_secs_f64(),
        median.as_secs_f64() * 1e3 / REGIONS as f64
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = Renewal::new(SiWeights::new(&serial_interval())?, Offspring::Poisson);
    let settings = ForecastSettings::new(HORIZON, PATHS)?;
    let data = regions(20200123)?;
    let inputs: Vec<RegionInput<'_>> = data
        .iter()
        .enumerate()
        .map(|(i, r)| RegionInput {
            incidence: &r.incidence,
            posterior: r.posterior,
            seed: i as u64,
        })
        .collect();
    println!(
        "{REGIONS} regions × {HORIZON} days × {PATHS} paths, {} threads",
        rayon::current_num_threads()
    );
    time(
        "renewal projection from given posteriors (R constant):",
        || model.project_regions(black_box(&inputs), &settings),
    );

    let si = SerialInterval::gamma(4.7, 2.9)?;
    let rt_config = RtConfig::default();
    let cases: Vec<Cases<'_>> = data
        .iter()
        .map(|r| Cases::local_only(&r.incidence))
        .collect();
    let nb = Offspring::NegativeBinomial(Dispersion::new(0.58)?);
    for (label, method, offspring) in [
        (
            "ensemble (default), Poisson",
            Method::Ensemble,
            Offspring::Poisson,
        ),
        ("ensemble (default), NB k = 0.58", Method::Ensemble, nb),
        (
            "damped growth, Poisson",
            Method::DampedGrowth,
            Offspring::Poisson,
        ),
        (
            "damped trend, Poisson",
            Method::DampedTrend,
            Offspring::Poisson,
        ),
        ("renewal, Poisson", Method::Renewal, Offspring::Poisson),
        ("baseline", Method::Baseline, Offspring::Poisson),
    ] {
        let settings = settings.with_method(method).with_offspring(offspring);
        time(
            &format!("forecast_regions from counts (Rt included), {label}:"),
            || forecast_regions(black_box(&cases), &si, &rt_config, &settings, 7),
        );
    }
    Ok(())
}
