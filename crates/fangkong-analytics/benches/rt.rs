//! Rt for 3,000 regions × 365 days (EpiEstim's weekly windows, 95%
//! intervals), the national picture refreshed at once.
//!
//! ```sh
//! cargo bench -p fangkong-analytics --bench rt
//! FANGKONG_BENCH_DATA=.cache/rt-bench cargo bench -p fangkong-analytics --bench rt
//! ```
//!
//! With `FANGKONG_BENCH_DATA=DIR` it also writes `DIR/incidence.csv`
//! (`region,day,incidence`, the generated input) and `DIR/estimates.csv`
//! (`region,t_start,t_end,mean,q025,median,q975` for the first three
//! regions) so `scripts/bench/epyestim_rt.py` runs on the same data and
//! checks that it computes the same numbers.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use fangkong_analytics::rt::{estimate_r_many, Incidence, RtConfig, RtEstimate};
use fangkong_analytics::serial_interval::SerialInterval;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};

const REGIONS: usize = 3_000;
const DAYS: usize = 365;
const RUNS: usize = 5;
/// Serial interval of COVID-19 (Nishiura et al. 2020), also used by the Python side.
const SI_MEAN: f64 = 4.7;
const SI_SD: f64 = 2.9;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let series = generate(REGIONS, DAYS, 20_200_123);
    let regions: Vec<Incidence<'_>> = series.iter().map(|s| Incidence::local_only(s)).collect();
    let si = SerialInterval::gamma(SI_MEAN, SI_SD)?;
    let config = RtConfig::default();

    let mut times = Vec::with_capacity(RUNS);
    let mut estimates = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        estimates = estimate_r_many(&regions, &si, &config);
        times.push(start.elapsed());
    }
    times.sort();
    let windows: usize = estimates.iter().map(Vec::len).sum();
    let median = times[RUNS / 2];
    println!(
        "rt: {REGIONS} regions x {DAYS} days, {windows} windows (mean, sd, 95% interval), {} threads",
        rayon::current_num_threads()
    );
    println!(
        "rt: median of {RUNS} runs {:.1} ms (min {:.1}, max {:.1}); {:.0} ns per window",
        ms(median),
        ms(times[0]),
        ms(times[RUNS - 1]),
        median.as_nanos() as f64 / windows as f64
    );

    if let Ok(dir) = std::env::var("FANGKONG_BENCH_DATA") {
        write_data(Path::new(&dir), &series, &estimates)?;
        println!("rt: wrote {dir}/incidence.csv and {dir}/estimates.csv");
    }
    Ok(())
}

/// Epidemic curves with Poisson noise: one wave per region, peak
/// log-uniform between 5 and 2,000 cases a day, peak day between 60 and
/// 300, width between 10 and 40 days, over a background of 0.3 a day.
fn generate(regions: usize, days: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..regions)
        .map(|_| {
            let peak = (rng.gen_range(5f64.ln()..2_000f64.ln())).exp();
            let peak_day = rng.gen_range(60.0..300.0);
            let width = rng.gen_range(10.0..40.0);
            (0..days)
                .map(|t| {
                    let z = (t as f64 - peak_day) / width;
                    let mean = 0.3 + peak * (-0.5 * z * z).exp();
                    Poisson::new(mean).map_or(0, |p| p.sample(&mut rng) as u32)
                })
                .collect()
        })
        .collect()
}

fn write_data(
    dir: &Path,
    series: &[Vec<u32>],
    estimates: &[Vec<RtEstimate>],
) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut out = BufWriter::new(fs::File::create(dir.join("incidence.csv"))?);
    writeln!(out, "region,day,incidence")?;
    for (region, days) in series.iter().enumerate() {
        for (day, cases) in days.iter().enumerate() {
            writeln!(out, "{region},{day},{cases}")?;
        }
    }
    out.flush()?;
    let mut out = BufWriter::new(fs::File::create(dir.join("estimates.csv"))?);
    writeln!(out, "region,t_start,t_end,mean,q025,median,q975")?;
    for (region, windows) in estimates.iter().enumerate().take(3) {
        for e in windows {
            writeln!(
                out,
                "{region},{},{},{:e},{:e},{:e},{:e}",
                e.t_start, e.t_end, e.mean, e.q025, e.median, e.q975
            )?;
        }
    }
    out.flush()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
