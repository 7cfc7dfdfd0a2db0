//! Rolling-origin calibration of the renewal forecast on China's provinces,
//! February 2020 (JHU CSSE daily cumulative confirmed cases).
//!
//! ```text
//! cargo run --release -p fangkong-analytics --example calibration -- \
//!     [CSV] [--si nishiura|li] [--nb K] [--paths N]
//! ```
//!
//! For every province and every origin from 2020-02-01 to 2020-02-29, the
//! renewal projection and the persistence baseline are scored against the
//! reported cases 7, 14, 21 and 28 days later.
//!
//! - Serial interval: gamma with mean 4.7 and sd 2.9 days (Nishiura, Linton
//!   & Akhmetzhanov 2020, *Int J Infect Dis* 93:284), by default. It rests on
//!   28 infector–infectee pairs against the 6 behind Li et al. (2020, *N Engl
//!   J Med* 382:1199; mean 7.5, sd 3.4; `--si li`), and the serial interval
//!   in China shortened as cases were isolated sooner (Ali et al. 2020,
//!   *Science* 369:1106), so the shorter one fits February better.
//!   Discretised as EpiEstim's `discr_si` (Cori et al. 2013, Web Appendix
//!   11): `(SI − 1)` is gamma and `w_k` is its density integrated against a
//!   triangular kernel centred at `k`. (Until `serial_interval.rs` provides
//!   it, the example carries its own regularised incomplete gamma.)
//! - R posterior: Cori et al.'s for the last 7 days with prior mean 5 and sd
//!   5, i.e. `Gamma(1 + Σ I, scale 1/(1/5 + Σ Λ))` over the window.
//! - Local and imported cases are not separated in the JHU series; all
//!   cases count as infectors and as targets.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;

use fangkong_analytics::forecast::{
    calibrate, summarise_scores, CalibrationPlan, Dispersion, HorizonSummary, Offspring,
    RPosterior, Renewal, ScoredForecast, SiWeights,
};
use fangkong_analytics::series::decumulate;
use rayon::prelude::*;

const DEFAULT_CSV: &str = "/work/shared/data/jhu_china_provinces_2020.csv";
const HORIZONS: [usize; 4] = [7, 14, 21, 28];
const WINDOW: usize = 7;
/// Cori et al.'s default prior: mean 5, sd 5 → shape 1, scale 5.
const PRIOR_SHAPE: f64 = 1.0;
const PRIOR_SCALE: f64 = 5.0;
/// The longest serial interval kept; the gamma tail beyond is below 10⁻⁶.
const SI_DAYS: usize = 40;

struct Options {
    csv: String,
    si: (f64, f64, &'static str),
    offspring: Offspring,
    paths: usize,
}

fn options() -> Result<Options, Box<dyn Error>> {
    let mut options = Options {
        csv: DEFAULT_CSV.to_owned(),
        si: (4.7, 2.9, "Nishiura et al. 2020"),
        offspring: Offspring::Poisson,
        paths: 1_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--si" => match args.next().as_deref() {
                Some("nishiura") => options.si = (4.7, 2.9, "Nishiura et al. 2020"),
                Some("li") => options.si = (7.5, 3.4, "Li et al. 2020"),
                other => return Err(format!("unknown serial interval {other:?}").into()),
            },
            "--nb" => {
                let k: f64 = args.next().ok_or("--nb needs a dispersion")?.parse()?;
                options.offspring = Offspring::NegativeBinomial(Dispersion::new(k)?);
            }
            "--paths" => options.paths = args.next().ok_or("--paths needs a number")?.parse()?,
            path => options.csv = path.to_owned(),
        }
    }
    Ok(options)
}

/// One province's daily series and its dates.
struct Province {
    dates: Vec<String>,
    cases: Vec<f64>,
}

/// Reads `province,date,confirmed_cum,…` (sorted by province, then date)
/// and decumulates the confirmed counts, clipping falls.
fn read_provinces(path: &str) -> Result<BTreeMap<String, Province>, Box<dyn Error>> {
    let text = fs::read_to_string(path)?;
    let mut rows: BTreeMap<String, (Vec<String>, Vec<Option<i64>>)> = BTreeMap::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [province, date, confirmed, ..] = fields[..] else {
            return Err(format!("line {}: too few fields", number + 1).into());
        };
        let entry = rows.entry(province.to_owned()).or_default();
        entry.0.push(date.to_owned());
        entry.1.push(confirmed.trim().parse().ok());
    }
    Ok(rows
        .into_iter()
        .map(|(name, (dates, cumulative))| {
            let cases = decumulate(&cumulative)
                .daily
                .into_iter()
                .map(|d| d as f64)
                .collect();
            (name, Province { dates, cases })
        })
        .collect())
}

/// EpiEstim's `discr_si(k, mu, sigma)` for `k = 0..=SI_DAYS`.
fn discretised_si(mean: f64, sd: f64) -> Vec<f64> {
    let a = ((mean - 1.0) / sd).powi(2);
    let b = sd * sd / (mean - 1.0);
    let cdf = |shape: f64, x: f64| if x <= 0.0 { 0.0 } else { gamma_p(shape, x / b) };
    (0..=SI_DAYS)
        .map(|k| {
            let k = k as f64;
            let w = k * cdf(a, k) + (k - 2.0) * cdf(a, k - 2.0) - 2.0 * (k - 1.0) * cdf(a, k - 1.0)
                + a * b * (2.0 * cdf(a + 1.0, k - 1.0) - cdf(a + 1.0, k - 2.0) - cdf(a + 1.0, k));
            w.max(0.0)
        })
        .collect()
}

/// The regularised lower incomplete gamma `P(a, x)`: series for
/// `x < a + 1`, Lentz's continued fraction for the complement otherwise
/// (Press et al., *Numerical Recipes*, §6.2).
fn gamma_p(a: f64, x: f64) -> f64 {
    let prefix = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        sum * prefix
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < tiny { tiny } else { d };
            c = b + an / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        1.0 - prefix * h
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine coefficients).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = COEFFICIENTS[1..]
        .iter()
        .enumerate()
        .fold(COEFFICIENTS[0], |acc, (i, c)| {
            acc + c / (x + i as f64 + 1.0)
        });
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// Cori et al.'s posterior for R over the last `WINDOW` days of `seen`;
/// `None` before a full window or when nothing infectious came before it.
fn cori_posterior(w: &[f64], seen: &[f64]) -> Option<RPosterior> {
    let end = seen.len();
    let start = end.checked_sub(WINDOW)?;
    let lambda = |t: usize| -> f64 { (1..w.len().min(t + 1)).map(|s| w[s] * seen[t - s]).sum() };
    let exposure: f64 = (start..end).map(lambda).sum();
    if exposure <= 0.0 {
        return None;
    }
    let cases: f64 = seen[start..end].iter().sum();
    RPosterior::new(PRIOR_SHAPE + cases, 1.0 / (1.0 / PRIOR_SCALE + exposure)).ok()
}

fn print_table(title: &str, rows: &[HorizonSummary]) {
    println!("\n{title}");
    println!(
        "{:>7} {:>9} | {:>6} {:>6} {:>10} | {:>6} {:>6} {:>10} | {:>7}",
        "horizon", "forecasts", "cov50", "cov90", "WIS", "cov50", "cov90", "WIS", "rel WIS"
    );
    println!(
        "{:>17} | {:^25} | {:^25} |",
        "", "renewal model", "baseline (persistence)"
    );
    for r in rows {
        let relative = r
            .relative_wis
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
        println!(
            "{:>7} {:>9} | {:>6.3} {:>6.3} {:>10.2} | {:>6.3} {:>6.3} {:>10.2} | {:>7}",
            r.horizon,
            r.forecasts,
            r.model.coverage50,
            r.model.coverage90,
            r.model.mean_wis,
            r.baseline.coverage50,
            r.baseline.coverage90,
            r.baseline.mean_wis,
            relative
        );
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = options()?;
    let (si_mean, si_sd, si_source) = options.si;
    let weights = discretised_si(si_mean, si_sd);
    let si = SiWeights::new(&weights)?;
    let model = Renewal::new(si.clone(), options.offspring);
    let plan = CalibrationPlan::new(&HORIZONS, options.paths, 2020)?;
    let provinces = read_provinces(&options.csv)?;

    let scored: Vec<(String, Vec<ScoredForecast>)> = provinces
        .par_iter()
        .map(|(name, p)| {
            let origins = p
                .dates
                .iter()
                .enumerate()
                .filter(|(_, d)| d.starts_with("2020-02-"))
                .map(|(i, _)| i);
            let scores = calibrate(&model, &p.cases, origins, &plan, |seen: &[f64]| {
                cori_posterior(si.as_slice(), seen)
            })?;
            Ok((name.clone(), scores))
        })
        .collect::<Result<_, fangkong_analytics::forecast::ForecastError>>()?;

    // The discretisation keeps the mean: Σ k·w_k = mean.
    let (total, mean) = weights
        .iter()
        .enumerate()
        .fold((0.0, 0.0), |(t, m), (k, w)| (t + w, m + k as f64 * w));
    println!(
        "SI: gamma mean {si_mean} sd {si_sd} ({si_source}), EpiEstim discretisation \
         over 0..={SI_DAYS} days: Σw = {total:.6}, Σk·w = {mean:.4}"
    );
    println!(
        "R: Cori posterior, last {WINDOW} days, prior mean 5 sd 5; offspring {:?}; \
         {} paths; {} provinces; origins 2020-02-01..=2020-02-29",
        options.offspring,
        options.paths,
        scored.len()
    );
    let all: Vec<ScoredForecast> = scored.iter().flat_map(|(_, s)| s.clone()).collect();
    print_table("All provinces", &summarise_scores(&all));
    let without_hubei: Vec<ScoredForecast> = scored
        .iter()
        .filter(|(name, _)| name != "Hubei")
        .flat_map(|(_, s)| s.clone())
        .collect();
    print_table("Excluding Hubei", &summarise_scores(&without_hubei));
    Ok(())
}
