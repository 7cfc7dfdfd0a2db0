//! Timing of the early-warning methods at national size: 3,000 counties × 5
//! fields, judged for the last day (the daily run) and for every day.
//!
//! Run with `cargo bench -p fangkong-analytics --bench alerts`.
//!
//! The data are synthetic (fixed seed): Poisson counts with a rate per series
//! between 0.05 and 20 a day, and an outbreak of 10 days in one series of
//! five. Every series has 4 years (1,461 days) so that the CIDARS baseline
//! (3 previous years) can be judged; EARS and the recent-baseline percentile
//! method use the last 365 days.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fangkong_analytics::aberration::{Assessment, Ears, EarsMethod, MovingPercentile};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use rayon::prelude::*;

const COUNTIES: usize = 3_000;
const FIELDS: usize = 5;
const DAYS: usize = 365;
const HISTORY_DAYS: usize = 4 * 365 + 1;
const RUNS: usize = 7;

fn synthetic_series(rng: &mut StdRng) -> Vec<f64> {
    let rate = 0.05 * 400f64.powf(rng.gen::<f64>());
    let background = Poisson::new(rate).ok();
    let mut counts: Vec<f64> = (0..HISTORY_DAYS)
        .map(|_| background.map_or(0.0, |p| p.sample(rng)))
        .collect();
    if rng.gen_bool(0.2) {
        let start = rng.gen_range(0..HISTORY_DAYS - 10);
        let extra = Poisson::new(3.0 * rate + 2.0).ok();
        for c in &mut counts[start..start + 10] {
            *c += extra.map_or(0.0, |p| p.sample(rng));
        }
    }
    counts
}

/// The median wall time of `RUNS` calls, and the last result.
fn median_time<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(RUNS);
    let mut result = f(); // warm-up
    for _ in 0..RUNS {
        let start = Instant::now();
        result = black_box(f());
        times.push(start.elapsed());
    }
    times.sort();
    (times[RUNS / 2], result)
}

fn alarms(days: &[Option<Assessment>]) -> usize {
    days.iter().flatten().filter(|a| a.alarm).count()
}

/// The last `days` days of a series.
fn tail(series: &[f64], days: usize) -> &[f64] {
    &series[series.len() - days..]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

enum Detector {
    Ears(Ears),
    Percentile(MovingPercentile),
}

impl Detector {
    fn last(&self, counts: &[f64]) -> Option<Assessment> {
        let t = counts.len() - 1;
        match self {
            Detector::Ears(e) => e.assess(counts, t),
            Detector::Percentile(p) => p.assess(counts, t),
        }
    }

    fn all(&self, counts: &[f64]) -> Vec<Option<Assessment>> {
        match self {
            Detector::Ears(e) => e.run(counts),
            Detector::Percentile(p) => p.run(counts),
        }
    }
}

struct Method {
    name: &'static str,
    /// Days of the series the method looks at: the last 365 or all 4 years.
    days: usize,
    detector: Detector,
}

fn ears(name: &'static str, method: EarsMethod) -> Method {
    Method {
        name,
        days: DAYS,
        detector: Detector::Ears(Ears::new(method)),
    }
}

fn percentile(name: &'static str, mp: MovingPercentile, days: usize) -> Method {
    Method {
        name,
        days,
        detector: Detector::Percentile(mp),
    }
}

fn main() {
    let mut rng = StdRng::seed_from_u64(20_200_123);
    let series: Vec<Vec<f64>> = (0..COUNTIES * FIELDS)
        .map(|_| synthetic_series(&mut rng))
        .collect();
    let methods = [
        ears("EARS C1", EarsMethod::C1),
        ears("EARS C2", EarsMethod::C2),
        ears("EARS C3", EarsMethod::C3),
        percentile("MPM recent (P80, 4 wk)", MovingPercentile::recent(), DAYS),
        percentile(
            "MPM CIDARS (P80, 3 y × 3)",
            MovingPercentile::cidars(),
            HISTORY_DAYS,
        ),
    ];

    println!(
        "{} series ({COUNTIES} counties × {FIELDS} fields); median of {RUNS} runs; {} rayon threads",
        series.len(),
        rayon::current_num_threads()
    );
    println!(
        "{:<27} {:>6} {:>12} {:>12} {:>12} {:>12} {:>9} {:>9}",
        "method",
        "days",
        "last seq ms",
        "last par ms",
        "all seq ms",
        "all par ms",
        "alarms",
        "of days"
    );
    let mut total = [Duration::ZERO; 4];
    for m in &methods {
        let (last_seq, _) = median_time(|| {
            series
                .iter()
                .filter(|s| m.detector.last(tail(s, m.days)).is_some_and(|a| a.alarm))
                .count()
        });
        let (last_par, _) = median_time(|| {
            series
                .par_iter()
                .filter(|s| m.detector.last(tail(s, m.days)).is_some_and(|a| a.alarm))
                .count()
        });
        let (all_seq, _) = median_time(|| {
            series
                .iter()
                .map(|s| alarms(&m.detector.all(tail(s, m.days))))
                .sum::<usize>()
        });
        let (all_par, (alarm_days, judged)) = median_time(|| {
            series
                .par_iter()
                .map(|s| {
                    let days = m.detector.all(tail(s, m.days));
                    (alarms(&days), days.iter().flatten().count())
                })
                .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        println!(
            "{:<27} {:>6} {:>12.2} {:>12.2} {:>12.2} {:>12.2} {:>9} {:>9}",
            m.name,
            m.days,
            ms(last_seq),
            ms(last_par),
            ms(all_seq),
            ms(all_par),
            alarm_days,
            judged
        );
        for (t, d) in total.iter_mut().zip([last_seq, last_par, all_seq, all_par]) {
            *t += d;
        }
    }
    println!(
        "{:<27} {:>6} {:>12.2} {:>12.2} {:>12.2} {:>12.2}",
        "all five methods",
        "",
        ms(total[0]),
        ms(total[1]),
        ms(total[2]),
        ms(total[3])
    );
}
