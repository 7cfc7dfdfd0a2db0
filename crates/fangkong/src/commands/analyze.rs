//! `fangkong analyze …`: curves, growth, Rt, forecasts, alerts and risk levels.

use anyhow::{anyhow, bail, Context};
use chrono::{Duration, NaiveDate};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

use fangkong_domain::alert::{AlertStatus, AlertVerdict, RiskLevel};
use fangkong_service::analytics::{
    forecast_method, forecast_method_name, RtConfig, SiSpec, CASES_FIELD, CASES_FORM,
};
use fangkong_service::Service;
use fangkong_store::Alert;

use super::parse_date;
use crate::open::{open_service, principal};
use crate::Global;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct Period {
    /// The region (default: the nation).
    #[arg(long, default_value = "000000")]
    pub region: String,
    #[arg(long, value_parser = parse_date)]
    pub from: Option<NaiveDate>,
    #[arg(long, value_parser = parse_date)]
    pub to: Option<NaiveDate>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Args, Debug)]
pub struct SiArgs {
    /// Serial interval: a gamma's mean in days (default 4.7, COVID-19).
    #[arg(long, requires = "si_sd", conflicts_with = "si_file")]
    pub si_mean: Option<f64>,
    /// Serial interval: the gamma's standard deviation in days (default 2.9).
    #[arg(long, requires = "si_mean", conflicts_with = "si_file")]
    pub si_sd: Option<f64>,
    /// Serial interval as daily weights from day 0: one number a line, or `day,weight` lines.
    #[arg(long)]
    pub si_file: Option<std::path::PathBuf>,
}

impl SiArgs {
    fn spec(&self) -> anyhow::Result<SiSpec> {
        if let Some(path) = &self.si_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--si-file {}", path.display()))?;
            return Ok(SiSpec::Discrete(parse_weights(&text)?));
        }
        Ok(match (self.si_mean, self.si_sd) {
            (Some(mean), Some(sd)) => SiSpec::Gamma { mean, sd },
            _ => SiSpec::default(),
        })
    }
}

/// Weights from a file: one number a line, or `day,weight` (a header line is skipped).
fn parse_weights(text: &str) -> anyhow::Result<Vec<f64>> {
    let mut weights = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cell = line.rsplit(',').next().unwrap_or(line).trim();
        match cell.parse::<f64>() {
            Ok(w) => weights.push(w),
            Err(_) if n == 0 => continue,
            Err(_) => bail!("--si-file line {}: {cell:?} is not a number", n + 1),
        }
    }
    Ok(weights)
}

#[derive(Subcommand, Debug)]
pub enum AnalyzeCommand {
    /// The epidemic curve: daily counts, 7-day averages, cumulative.
    Curve {
        #[command(flatten)]
        period: Period,
        #[arg(long, default_value = CASES_FORM)]
        form: String,
        #[arg(long, default_value = CASES_FIELD)]
        field: String,
    },
    /// The reproduction number Rt (Cori et al. 2013, as EpiEstim) from daily new confirmed cases.
    Rt {
        #[command(flatten)]
        period: Period,
        #[command(flatten)]
        si: SiArgs,
        /// Days in each sliding window.
        #[arg(long, default_value_t = 7)]
        window: usize,
        /// The gamma prior of R: mean and standard deviation.
        #[arg(long, default_value_t = 5.0)]
        prior_mean: f64,
        #[arg(long, default_value_t = 5.0)]
        prior_sd: f64,
        /// Also print the windows too uncertain to show, with the reason.
        #[arg(long)]
        all: bool,
    },
    /// The exponential growth rate over the period, with doubling or halving time.
    Growth {
        #[command(flatten)]
        period: Period,
        /// The confidence level of the interval.
        #[arg(long, default_value_t = 0.95)]
        level: f64,
    },
    /// Forecast daily new confirmed cases and occupied beds, with prediction intervals.
    Forecast {
        #[command(flatten)]
        period: Period,
        #[command(flatten)]
        si: SiArgs,
        /// The last day of data to forecast from (default: --to, else today).
        #[arg(long, value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Days ahead (7 to 28 is what the method is meant for).
        #[arg(long, default_value_t = 28)]
        horizon: usize,
        /// Sample paths.
        #[arg(long, default_value_t = 1000)]
        paths: usize,
        /// ensemble (default), damped, renewal, trend or baseline.
        #[arg(long, default_value = "ensemble")]
        method: String,
    },
    /// Aberration alerts (EARS C1–C3, CIDARS): list them, or `--run` the methods first.
    Alerts {
        #[command(flatten)]
        period: Period,
        /// Run the methods for each day of the period (default: today) before listing.
        #[arg(long)]
        run: bool,
        /// Only alerts in this state.
        #[arg(long, value_parser = ["open", "acknowledged", "closed"])]
        status: Option<String>,
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Acknowledge an alert.
    Ack {
        id: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Close an alert with a verdict.
    Close {
        id: i64,
        #[arg(long, value_parser = ["true_signal", "false_alarm"])]
        verdict: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// County risk levels (low / medium / high): counts per day, each county on the last day, changes.
    Risk {
        #[command(flatten)]
        period: Period,
        /// Decide and store the levels for the period first.
        #[arg(long)]
        assess: bool,
    },
}

pub async fn analyze(g: &Global, cmd: AnalyzeCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        AnalyzeCommand::Curve {
            period,
            form,
            field,
        } => {
            let (from, to) = period_or_last(&service, &period, 60);
            let days = service
                .curve(&who, &period.region, &form, &field, from, to)
                .await?;
            let rows = days
                .iter()
                .map(|d| {
                    row(&[
                        ("date", json!(d.date.to_string())),
                        ("count", json!(d.count)),
                        ("reported", json!(d.reported)),
                        ("average7", json!(d.average7.map(round3))),
                        ("cumulative", json!(d.cumulative)),
                    ])
                })
                .collect();
            print_rows(period.format, rows);
        }
        AnalyzeCommand::Rt {
            period,
            si,
            window,
            prior_mean,
            prior_sd,
            all,
        } => {
            let (from, to) = period_or_last(&service, &period, 60);
            let config = RtConfig::default()
                .with_window(window)
                .map_err(|e| anyhow!("--window: {e}"))?
                .with_prior(prior_mean, prior_sd)
                .map_err(|e| anyhow!("--prior-mean/--prior-sd: {e}"))?;
            let estimates = service
                .rt(&who, &period.region, from, to, &si.spec()?, &config)
                .await?;
            let rows = estimates
                .iter()
                .filter(|r| all || r.too_uncertain.is_none())
                .map(|r| {
                    let mut fields = vec![
                        ("date", json!(r.date.to_string())),
                        ("mean", json!(r.mean)),
                        ("median", json!(r.median)),
                        ("q025", json!(r.q025)),
                        ("q975", json!(r.q975)),
                    ];
                    if period.format != OutputFormat::Csv || all {
                        fields.push(("cases", json!(r.cases)));
                    }
                    if all {
                        fields.push(("too_uncertain", json!(r.too_uncertain)));
                    }
                    row(&fields)
                })
                .collect();
            print_rows(period.format, rows);
        }
        AnalyzeCommand::Growth { period, level } => {
            let (from, to) = period_or_last(&service, &period, 14);
            let g = service
                .growth(&who, &period.region, from, to, level)
                .await?;
            let out = row(&[
                ("region", json!(g.region.code.as_str())),
                ("from", json!(g.from.to_string())),
                ("to", json!(g.to.to_string())),
                ("cases", json!(g.cases)),
                ("rate", json!(g.rate)),
                ("lower", json!(g.lower)),
                ("upper", json!(g.upper)),
                ("level", json!(g.level)),
                ("trend", json!(g.trend)),
                ("days", json!(g.time)),
                ("days_lower", json!(g.time_lower)),
                ("days_upper", json!(g.time_upper)),
            ]);
            print_rows(period.format, vec![out]);
        }
        AnalyzeCommand::Forecast {
            period,
            si,
            date,
            horizon,
            paths,
            method,
        } => {
            let origin = date.or(period.to).unwrap_or_else(|| service.today());
            let method = forecast_method(&method)?;
            let f = service
                .forecast(
                    &who,
                    &period.region,
                    origin,
                    horizon,
                    paths,
                    &si.spec()?,
                    method,
                )
                .await?;
            eprintln!(
                "{} {}: forecast from {} by the {} method; {} in hospital at the origin",
                f.region.code,
                f.region.name,
                f.origin,
                forecast_method_name(f.method),
                f.beds_today
            );
            let rows = f
                .days
                .iter()
                .zip(f.beds.iter().map(Some).chain(std::iter::repeat(None)))
                .map(|((date, b), beds)| {
                    let mut fields = vec![
                        ("date", json!(date.to_string())),
                        ("mean", json!(round3(b.mean))),
                        ("median", json!(b.median)),
                        ("lower50", json!(b.lower50)),
                        ("upper50", json!(b.upper50)),
                        ("lower90", json!(b.lower90)),
                        ("upper90", json!(b.upper90)),
                    ];
                    if let Some((_, beds)) = beds {
                        fields.extend([
                            ("beds", json!(beds.median)),
                            ("beds_lower90", json!(beds.lower90)),
                            ("beds_upper90", json!(beds.upper90)),
                        ]);
                    }
                    row(&fields)
                })
                .collect();
            print_rows(period.format, rows);
        }
        AnalyzeCommand::Alerts {
            period,
            run,
            status,
            limit,
        } => {
            let today = service.today();
            if run {
                let from = period.from.unwrap_or(period.to.unwrap_or(today));
                let to = period.to.unwrap_or(from.max(today));
                let r = service.run_alerts(&who, &period.region, from, to).await?;
                eprintln!(
                    "{from} to {to}: {} series, {} alerts raised, {} extended",
                    r.series, r.raised, r.extended
                );
            }
            let statuses = status
                .as_deref()
                .and_then(AlertStatus::parse)
                .into_iter()
                .collect();
            let alerts = service
                .alerts(&who, &period.region, statuses, period.from, limit)
                .await?;
            let rows = alerts
                .iter()
                .filter(|a| period.to.is_none_or(|to| a.first_day <= to))
                .map(alert_row)
                .collect();
            print_rows(period.format, rows);
        }
        AnalyzeCommand::Ack { id, note } => {
            let a = service.acknowledge_alert(&who, id, &note).await?;
            print_rows(OutputFormat::Table, vec![alert_row(&a)]);
        }
        AnalyzeCommand::Close { id, verdict, note } => {
            let verdict = AlertVerdict::parse(&verdict).ok_or_else(|| anyhow!("--verdict"))?;
            let a = service.close_alert(&who, id, verdict, &note).await?;
            print_rows(OutputFormat::Table, vec![alert_row(&a)]);
        }
        AnalyzeCommand::Risk { period, assess } => {
            let to = period.to.unwrap_or_else(|| service.today());
            let from = period.from.unwrap_or(to);
            if from > to {
                bail!("--from {from} is after --to {to}");
            }
            if assess {
                let n = service.assess_risk(&who, &period.region, from, to).await?;
                eprintln!("{n} county-days assessed");
            }
            let mut tally = Vec::new();
            let mut last = None;
            let mut d = from;
            while d <= to {
                let r = service.risk(&who, &period.region, d).await?;
                tally.push(row(&[
                    ("date", json!(d.to_string())),
                    ("low", json!(r.tally.low)),
                    ("medium", json!(r.tally.medium)),
                    ("high", json!(r.tally.high)),
                ]));
                last = Some(r);
                d += Duration::days(1);
            }
            let Some(r) = last else { return Ok(()) };
            let levels: Vec<Map<String, Value>> = r
                .levels
                .iter()
                .filter(|(l, _)| period.format == OutputFormat::Json || l.level != RiskLevel::Low)
                .map(|(l, name)| {
                    row(&[
                        ("region", json!(l.region.as_str())),
                        ("name", json!(name)),
                        ("level", json!(l.level.name())),
                        ("new_14d", json!(l.new_in_window)),
                        ("cumulative", json!(l.cumulative)),
                        ("cluster", json!(l.cluster)),
                    ])
                })
                .collect();
            let changes: Vec<Map<String, Value>> = r
                .changes
                .iter()
                .filter(|(c, _)| c.from.is_some())
                .map(|(c, name)| {
                    row(&[
                        ("date", json!(c.row.date.to_string())),
                        ("region", json!(c.row.region.as_str())),
                        ("name", json!(name)),
                        ("from", json!(c.from.map(RiskLevel::name))),
                        ("to", json!(c.row.level.name())),
                    ])
                })
                .collect();
            match period.format {
                OutputFormat::Json => println!(
                    "{}",
                    json!({ "tally": tally, "levels": levels, "changes": changes })
                ),
                OutputFormat::Csv => print_rows(OutputFormat::Csv, tally),
                OutputFormat::Table => {
                    print_rows(OutputFormat::Table, tally);
                    println!("\nCounties at medium or high risk on {to}:");
                    print_rows(OutputFormat::Table, levels);
                    println!("\nChanges in the 30 days up to {to}:");
                    print_rows(OutputFormat::Table, changes);
                }
            }
        }
    }
    Ok(())
}

/// The period asked for, or the `days` days up to today.
fn period_or_last(service: &Service, p: &Period, days: i64) -> (NaiveDate, NaiveDate) {
    let to = p.to.unwrap_or_else(|| service.today());
    let from = p.from.unwrap_or(to - Duration::days(days - 1));
    (from, to)
}

fn alert_row(a: &Alert) -> Map<String, Value> {
    row(&[
        ("id", json!(a.id)),
        ("region", json!(a.region.as_str())),
        ("form", json!(a.form)),
        ("field", json!(a.field)),
        ("method", json!(a.method.name())),
        (
            "methods",
            json!(a
                .methods
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(" ")),
        ),
        ("first_day", json!(a.first_day.to_string())),
        ("last_day", json!(a.last_day.to_string())),
        ("observed", json!(a.observed)),
        ("expected", json!(round3(a.expected))),
        ("statistic", json!(round3(a.statistic))),
        ("threshold", json!(round3(a.threshold))),
        ("status", json!(a.status.name())),
        ("verdict", json!(a.verdict.map(AlertVerdict::name))),
    ])
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn row(fields: &[(&str, Value)]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rows with the same keys, as an aligned table, CSV (header first) or a JSON array.
pub fn print_rows(format: OutputFormat, rows: Vec<Map<String, Value>>) {
    let headers: Vec<String> = rows
        .first()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    match format {
        OutputFormat::Json => {
            let rows: Vec<Value> = rows.into_iter().map(Value::Object).collect();
            println!("{}", Value::Array(rows));
        }
        OutputFormat::Csv => {
            println!("{}", headers.join(","));
            for r in &rows {
                let cells: Vec<String> = headers.iter().map(|h| csv_cell(&cell(&r[h]))).collect();
                println!("{}", cells.join(","));
            }
        }
        OutputFormat::Table => {
            if rows.is_empty() {
                println!("(none)");
                return;
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    headers
                        .iter()
                        .map(|h| match &r[h] {
                            Value::Number(n) if n.is_f64() => {
                                format!("{:.3}", n.as_f64().unwrap_or(f64::NAN))
                            }
                            v => cell(v),
                        })
                        .collect()
                })
                .collect();
            let widths: Vec<usize> = headers
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    cells
                        .iter()
                        .map(|c| c[i].chars().count())
                        .chain([h.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |items: &[String]| {
                items
                    .iter()
                    .zip(&widths)
                    .map(|(s, w)| format!("{s:>w$}", w = *w))
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            println!("{}", line(&headers));
            for c in &cells {
                println!("{}", line(c));
            }
        }
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
