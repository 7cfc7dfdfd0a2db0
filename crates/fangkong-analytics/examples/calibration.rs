//! Rolling-origin calibration of the forecasts on China's provinces,
//! February 2020 (JHU CSSE daily cumulative confirmed cases).
//!
//! ```text
//! cargo run --release -p fangkong-analytics --example calibration -- \
//!     [CSV] [--si nishiura|li] [--poisson | --nb K] [--damping PHI] [--paths N]
//! ```
//!
//! For every province and every origin from 2020-02-01 to 2020-02-29, each
//! method and the persistence baseline are scored against the reported
//! cases 7, 14, 21 and 28 days later:
//!
//! - `renewal (issue)`: the projection as first issued — R constant, drawn
//!   from the Cori posterior of the last 7 days, Poisson offspring, at every
//!   origin with any infectiousness;
//! - `renewal`, `damped trend`, `damped growth`, `ensemble (default)`:
//!   [`forecast`] with [`Method::Renewal`], [`Method::DampedTrend`],
//!   [`Method::DampedGrowth`] and [`Method::Ensemble`], which skip the
//!   renewal model where R cannot be estimated (the ensemble is then the
//!   baseline alone; the others make no forecast).
//!
//! Tables give, per horizon and method, the number of forecasts scored,
//! the coverage of the 50 % and 90 % intervals, the mean WIS, the relative
//! WIS (mean WIS over the baseline's on the same forecasts), the median
//! over provinces of each province's relative WIS, and the relative WIS on
//! the log scale (`ln(1 + x)`; Bosse et al. 2023, *PLoS Comput Biol*
//! 19:e1011393). Then the same restricted to the forecasts where R was
//! available, so that all methods compare on the same targets, and the
//! relative WIS by week of origin.
//!
//! Inputs, all fixed before the evaluation:
//! - Serial interval: gamma with mean 4.7 and sd 2.9 days (Nishiura, Linton
//!   & Akhmetzhanov 2020, *Int J Infect Dis* 93:284), by default. It rests on
//!   28 infector–infectee pairs against the 6 behind Li et al. (2020, *N Engl
//!   J Med* 382:1199; mean 7.5, sd 3.4; `--si li`), and the serial interval
//!   in China shortened as cases were isolated sooner (Ali et al. 2020,
//!   *Science* 369:1106), so the shorter one fits February better.
//!   Discretised as EpiEstim's `discr_si` ([`SerialInterval::gamma`]).
//! - Rt: EpiEstim's defaults ([`RtConfig::default`]: 7-day windows, prior
//!   mean 5 and sd 5), by [`rt::estimate_r`].
//! - Damping: 0.8 per week ([`Damping::DEFAULT`]; `--damping PHI`).
//! - Offspring: negative binomial with the dispersion k = 0.58 of Bi et al.
//!   (2020, *Lancet Infect Dis* 20:911), from contact tracing in Shenzhen in
//!   January–February 2020; `--poisson` for Cori et al.'s Poisson, `--nb K`
//!   for another k.
//! - Local and imported cases are not separated in the JHU series; all
//!   cases count as local, and the first day (2020-01-22, a cumulative
//!   total) as EpiEstim counts it: infectious, of unknown timing.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs;

use fangkong_analytics::forecast::{
    calibrate, calibrate_with, forecast, summarise_scores, CalibrationPlan, Cases, Damping,
    Dispersion, ForecastError, ForecastSettings, Method, Offspring, RPosterior, RUnavailable,
    Renewal, ScoredForecast, SiWeights,
};
use fangkong_analytics::rt::{self, Incidence, RtConfig};
use fangkong_analytics::serial_interval::SerialInterval;
use fangkong_analytics::series::decumulate;
use rayon::prelude::*;

const DEFAULT_CSV: &str = "/work/shared/data/jhu_china_provinces_2020.csv";
const HORIZONS: [usize; 4] = [7, 14, 21, 28];
const SEED: u64 = 2020;
/// Offspring dispersion k of SARS-CoV-2 from contact tracing in Shenzhen,
/// January–February 2020 (Bi et al. 2020, *Lancet Infect Dis* 20:911; 95 %
/// CI 0.35–1.18): the estimate closest in place and time to these data.
const BI_ET_AL_K: f64 = 0.58;

struct Options {
    csv: String,
    si: (f64, f64, &'static str),
    offspring: Offspring,
    damping: Damping,
    paths: usize,
}

fn options() -> Result<Options, Box<dyn Error>> {
    let mut options = Options {
        csv: DEFAULT_CSV.to_owned(),
        si: (4.7, 2.9, "Nishiura et al. 2020"),
        offspring: Offspring::NegativeBinomial(Dispersion::new(BI_ET_AL_K)?),
        damping: Damping::DEFAULT,
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
            "--poisson" => options.offspring = Offspring::Poisson,
            "--nb" => {
                let k: f64 = args.next().ok_or("--nb needs a dispersion")?.parse()?;
                options.offspring = Offspring::NegativeBinomial(Dispersion::new(k)?);
            }
            "--damping" => {
                let phi: f64 = args.next().ok_or("--damping needs a value")?.parse()?;
                options.damping = Damping::new(phi)?;
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

/// The forecasters compared with the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Forecaster {
    /// The projection as issued: constant R from the last window, always.
    AsIssued,
    /// [`forecast`] with this method.
    Pipeline(Method),
}

const FORECASTERS: [Forecaster; 5] = [
    Forecaster::AsIssued,
    Forecaster::Pipeline(Method::Renewal),
    Forecaster::Pipeline(Method::DampedTrend),
    Forecaster::Pipeline(Method::DampedGrowth),
    Forecaster::Pipeline(Method::Ensemble),
];
/// The index of [`Method::Ensemble`] in [`FORECASTERS`].
const ENSEMBLE: usize = 4;

impl Forecaster {
    fn label(self) -> &'static str {
        match self {
            Forecaster::AsIssued => "renewal (issue)",
            Forecaster::Pipeline(Method::Renewal) => "renewal",
            Forecaster::Pipeline(Method::DampedTrend) => "damped trend",
            Forecaster::Pipeline(Method::Ensemble) => "ensemble (default)",
            Forecaster::Pipeline(Method::Baseline) => "baseline",
            Forecaster::Pipeline(Method::DampedGrowth) => "damped growth",
        }
    }
}

/// Everything scored for one province.
struct Scored {
    province: String,
    /// Per forecaster (in the order of [`FORECASTERS`]).
    scores: Vec<Vec<ScoredForecast>>,
    /// Origins where R was unavailable, and why.
    unavailable: Vec<(usize, RUnavailable)>,
    /// Origins where the damped trend fell back to constant R.
    no_trend: usize,
}

fn whole(counts: &[f64]) -> Vec<u32> {
    counts.iter().map(|&c| c as u32).collect()
}

fn score_province(
    name: &str,
    province: &Province,
    si: &SerialInterval,
    rt_config: &RtConfig,
    plan: &CalibrationPlan,
    options: &Options,
) -> Result<Scored, ForecastError> {
    let cases = &province.cases;
    let origins: Vec<usize> = province
        .dates
        .iter()
        .enumerate()
        .filter(|(_, d)| d.starts_with("2020-02-"))
        .map(|(i, _)| i)
        .collect();
    let mut unavailable = Vec::new();
    let mut no_trend = 0;
    let mut scores = Vec::new();
    for forecaster in FORECASTERS {
        let scored = match forecaster {
            Forecaster::AsIssued => {
                let model = Renewal::new(SiWeights::from(si), Offspring::Poisson);
                calibrate(&model, cases, origins.iter().copied(), plan, |seen| {
                    rt::estimate_r(Incidence::local_only(&whole(seen)), si, rt_config)
                        .last()
                        .filter(|e| e.infectivity > 0.0)
                        .map(|e| RPosterior::from(e.posterior))
                })?
            }
            Forecaster::Pipeline(method) => calibrate_with(
                cases,
                origins.iter().copied(),
                plan,
                |origin, settings, seed| {
                    let settings = settings
                        .with_method(method)
                        .with_offspring(options.offspring)
                        .with_damping(options.damping);
                    let seen = Cases::local_only(&cases[..=origin]);
                    match forecast(seen, si, rt_config, &settings, seed) {
                        Ok(p) => {
                            if method == Method::DampedTrend && p.method == Method::Renewal {
                                no_trend += 1;
                            }
                            Ok(Some(p))
                        }
                        Err(ForecastError::RUnavailable(why)) => {
                            if method == Method::Renewal {
                                unavailable.push((origin, why));
                            }
                            Ok(None)
                        }
                        Err(e) => Err(e),
                    }
                },
            )?,
        };
        scores.push(scored);
    }
    Ok(Scored {
        province: name.to_owned(),
        scores,
        unavailable,
        no_trend,
    })
}

/// Three decimals, or scientific notation for the astronomical.
fn big(v: f64) -> String {
    if v.abs() < 1e6 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

/// The median of each province's relative WIS at `horizon` (provinces
/// whose baseline scored above 0 there).
fn median_relative(provinces: &[(&str, Vec<ScoredForecast>)], horizon: usize) -> Option<f64> {
    let mut ratios: Vec<f64> = provinces
        .iter()
        .filter_map(|(_, scores)| {
            let at = scores.iter().filter(|s| s.horizon == horizon);
            let (m, b) = at.fold((0.0, 0.0), |(m, b), s| {
                (m + s.model.wis, b + s.baseline.wis)
            });
            (b > 0.0).then(|| m / b)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    Some(if n % 2 == 1 {
        ratios[n / 2]
    } else {
        0.5 * (ratios[n / 2 - 1] + ratios[n / 2])
    })
}

/// One table: per horizon, the baseline then every forecaster, each on its
/// own forecasts; `keep` selects provinces and forecasts.
fn print_table(title: &str, all: &[Scored], keep: &dyn Fn(&Scored, &ScoredForecast) -> bool) {
    println!("\n{title}");
    println!(
        "{:>3} {:<20} {:>9} {:>6} {:>6} {:>11} {:>9} {:>10} {:>9}",
        "h",
        "method",
        "forecasts",
        "cov50",
        "cov90",
        "mean WIS",
        "rel WIS",
        "median rel",
        "rel log"
    );
    for &horizon in &HORIZONS {
        for (f, forecaster) in FORECASTERS.iter().enumerate() {
            let by_province: Vec<(&str, Vec<ScoredForecast>)> = all
                .iter()
                .map(|p| {
                    let kept = p.scores[f]
                        .iter()
                        .filter(|s| s.horizon == horizon && keep(p, s))
                        .copied()
                        .collect();
                    (p.province.as_str(), kept)
                })
                .collect();
            let pooled: Vec<ScoredForecast> = by_province
                .iter()
                .flat_map(|(_, s)| s.iter().copied())
                .collect();
            let Some(summary) = summarise_scores(&pooled).into_iter().next() else {
                continue;
            };
            if f == 0 {
                let b = summary.baseline;
                println!(
                    "{:>3} {:<20} {:>9} {:>6.3} {:>6.3} {:>11.2} {:>9} {:>10} {:>9}",
                    horizon,
                    "baseline",
                    summary.forecasts,
                    b.coverage50,
                    b.coverage90,
                    b.mean_wis,
                    "1",
                    "1",
                    "1"
                );
            }
            let m = summary.model;
            let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), big);
            println!(
                "{:>3} {:<20} {:>9} {:>6.3} {:>6.3} {:>11} {:>9} {:>10} {:>9}",
                "",
                forecaster.label(),
                summary.forecasts,
                m.coverage50,
                m.coverage90,
                big(m.mean_wis),
                fmt(summary.relative_wis),
                fmt(median_relative(&by_province, horizon)),
                fmt(summary.relative_wis_log),
            );
        }
    }
}

/// Relative WIS by week of origin, all provinces but Hubei.
fn print_by_week(all: &[Scored]) {
    const WEEKS: [(&str, usize, usize); 4] = [
        ("02-01..07", 10, 16),
        ("02-08..14", 17, 23),
        ("02-15..21", 24, 30),
        ("02-22..29", 31, 38),
    ];
    println!("\nRelative WIS by week of origin (forecasts / ratio), excluding Hubei");
    let mut header = format!("{:>3} {:<20}", "h", "method");
    for (label, _, _) in WEEKS {
        header += &format!(" | {label:>15}");
    }
    println!("{header}");
    for &horizon in &HORIZONS {
        for (f, forecaster) in FORECASTERS.iter().enumerate() {
            let mut line = format!("{:>3} {:<20}", horizon, forecaster.label());
            for (_, first, last) in WEEKS {
                let (mut model, mut base, mut n) = (0.0, 0.0, 0);
                for p in all.iter().filter(|p| p.province != "Hubei") {
                    for s in p.scores[f]
                        .iter()
                        .filter(|s| s.horizon == horizon && (first..=last).contains(&s.origin))
                    {
                        model += s.model.wis;
                        base += s.baseline.wis;
                        n += 1;
                    }
                }
                let ratio = if base > 0.0 {
                    format!("{:.3}", model / base)
                } else {
                    "-".to_owned()
                };
                line += &format!(" | {n:>4} {ratio:>10}");
            }
            println!("{line}");
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = options()?;
    let (si_mean, si_sd, si_source) = options.si;
    let si = SerialInterval::gamma(si_mean, si_sd)?;
    let rt_config = RtConfig::default();
    let plan = CalibrationPlan::new(&HORIZONS, options.paths, SEED)?;
    // Checks the path count too.
    ForecastSettings::new(1, options.paths)?;
    let provinces = read_provinces(&options.csv)?;

    let scored: Vec<Scored> = provinces
        .par_iter()
        .map(|(name, p)| score_province(name, p, &si, &rt_config, &plan, &options))
        .collect::<Result<_, ForecastError>>()?;

    println!(
        "SI: gamma mean {si_mean} sd {si_sd} ({si_source}), EpiEstim discretisation: \
         {} weights, mean {:.4}, sd {:.4}",
        si.weights().len(),
        si.mean(),
        si.sd()
    );
    println!(
        "Rt: Cori et al., {}-day windows, prior mean {} sd {}; offspring {:?}; damping {} \
         per week; {} paths; {} provinces; origins 2020-02-01..=2020-02-29",
        rt_config.window(),
        rt_config.prior().mean(),
        rt_config.prior().sd(),
        options.offspring,
        options.damping.per_week(),
        options.paths,
        scored.len()
    );
    let origins: usize = scored
        .iter()
        .map(|p| p.scores[ENSEMBLE].len())
        .sum::<usize>();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &scored {
        for (_, why) in &p.unavailable {
            let key = match why {
                RUnavailable::TooShort => "series too short",
                RUnavailable::NotIdentifiable(_) => "too little infectiousness",
                RUnavailable::FirstDay { .. } => "first-day share above 5 %",
            };
            *reasons.entry(key).or_default() += 1;
        }
    }
    let unavailable: usize = reasons.values().sum();
    let no_trend: usize = scored.iter().map(|p| p.no_trend).sum();
    println!(
        "R unavailable at {unavailable} province-origins ({reasons:?}); the damped trend held R \
         constant at {no_trend}; ({origins} scored forecasts of the ensemble in all)"
    );
    let hubei_r: Vec<usize> = scored
        .iter()
        .filter(|p| p.province == "Hubei")
        .flat_map(|p| p.unavailable.iter().map(|(o, _)| *o))
        .collect();
    if !hubei_r.is_empty() {
        println!("  Hubei origins without R: {hubei_r:?}");
    }

    print_table("All provinces", &scored, &|_, _| true);
    print_table("Excluding Hubei", &scored, &|p, _| p.province != "Hubei");
    // The forecasts where R was available: the ones `renewal` scored.
    let available = |p: &Scored, s: &ScoredForecast| {
        !p.unavailable.iter().any(|(origin, _)| *origin == s.origin)
    };
    print_table(
        "All provinces, only where R was available (same targets for every method)",
        &scored,
        &available,
    );
    print_table(
        "Excluding Hubei, only where R was available",
        &scored,
        &|p, s| p.province != "Hubei" && available(p, s),
    );
    print_by_week(&scored);
    Ok(())
}
