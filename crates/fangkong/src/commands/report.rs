//! `fangkong bulletin` and `fangkong report …`.

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use fangkong_domain::bulletin::Lang;
use fangkong_domain::form::Form;
use fangkong_domain::report::ReviewStatus;
use fangkong_service::reports::FiledValues;

use super::parse_date;
use crate::open::{open_service, principal};
use crate::Global;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LangArg {
    Zh,
    En,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct BulletinArgs {
    /// The bulletin's day ("as of DATE 24:00").
    #[arg(long, value_parser = parse_date)]
    pub date: NaiveDate,
    /// The region (default: the nation).
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: LangArg,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// File (or correct) one report: `--values new_confirmed=3,new_deaths=0,…` or `--zero`.
    File {
        #[arg(long)]
        form: String,
        #[arg(long)]
        region: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        #[arg(long, conflicts_with = "zero")]
        values: Option<String>,
        /// A zero report: nothing happened.
        #[arg(long)]
        zero: bool,
    },
    /// One report's versions and reviews.
    Show {
        #[arg(long)]
        form: String,
        #[arg(long)]
        region: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
    },
    /// A region's figures for a day and since the start.
    Figures {
        #[arg(long)]
        form: String,
        #[arg(long, default_value = "000000")]
        region: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
    },
    /// A region's daily figures over a period, as CSV.
    Series {
        #[arg(long)]
        form: String,
        #[arg(long, default_value = "000000")]
        region: String,
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
    },
    /// Who should have filed below a region on a day, who did, who was late, who is missing.
    Completeness {
        #[arg(long)]
        form: String,
        #[arg(long, default_value = "000000")]
        region: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        /// How many missing and late units to list.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Review a unit's report (the level above): approved or returned.
    Review {
        #[arg(long)]
        form: String,
        #[arg(long)]
        region: String,
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        #[arg(long, value_parser = ["approved", "returned"])]
        status: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Reports the level below has left unreviewed too long.
    Overdue {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

pub async fn bulletin(g: &Global, args: BulletinArgs) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let figures = service.bulletin(args.region.as_deref(), args.date).await?;
    let lang = match args.lang {
        LangArg::Zh => Lang::Zh,
        LangArg::En => Lang::En,
    };
    let text = figures.render(lang);
    if args.format == Format::Json {
        let out = json!({
            "date": figures.date.to_string(),
            "region": args.region.unwrap_or_else(|| "000000".into()),
            "text": text,
            "units_reporting": figures.units_reporting,
            "new_confirmed": figures.new_confirmed,
            "new_severe": figures.new_severe,
            "new_deaths": figures.new_deaths,
            "new_recovered": figures.new_recovered,
            "new_suspected": figures.new_suspected,
            "cum_confirmed": figures.cum_confirmed,
            "current_severe": figures.current_severe,
            "cum_deaths": figures.cum_deaths,
            "cum_recovered": figures.cum_recovered,
            "current_suspected": figures.current_suspected,
            "current_observation": figures.current_observation,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

fn parse_values(text: &str) -> anyhow::Result<Vec<(String, i64)>> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--values: {pair:?} is not field=count"))?;
            let n = fangkong_domain::form::parse_count(&format!("values.{}", k.trim()), v)?;
            Ok((k.trim().to_owned(), n))
        })
        .collect()
}

fn values_line(form: &Form, values: &fangkong_domain::form::Values) -> String {
    form.named(values)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn report(g: &Global, cmd: ReportCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        ReportCommand::File {
            form,
            region,
            date,
            values,
            zero,
        } => {
            let values = match (values, zero) {
                (_, true) => FiledValues::Zero,
                (Some(v), false) => FiledValues::Pairs(parse_values(&v)?),
                (None, false) => anyhow::bail!("give --values field=count,… or --zero"),
            };
            let filing = service
                .file_report(&who, &form, &region, date, values)
                .await?;
            let what = match &filing {
                fangkong_service::reports::Filing::Filed(_) => "filed",
                fangkong_service::reports::Filing::Corrected { .. } => "corrected",
                fangkong_service::reports::Filing::Unchanged(_) => "unchanged",
            };
            let v = filing.version();
            println!(
                "{what}: {form} {region} {date} version {} (chain entry {})",
                v.version, v.seq
            );
        }
        ReportCommand::Show { form, region, date } => {
            let (history, reviews) = service.report_history(&who, &form, &region, date).await?;
            let f = service.form(&form)?;
            for v in &history {
                println!(
                    "version {} filed by {} at {} ({}): {}",
                    v.version,
                    v.filed_by,
                    v.filed_at.to_rfc3339(),
                    v.source.name(),
                    values_line(f, &v.values)
                );
            }
            for r in &reviews {
                println!(
                    "review of version {}: {} by {} at {} {}",
                    r.version,
                    r.status.name(),
                    r.reviewer,
                    r.at.to_rfc3339(),
                    r.note
                );
            }
        }
        ReportCommand::Figures { form, region, date } => {
            let figs = service.figures(&who, &form, &region, date).await?;
            let f = service.form(&form)?;
            println!(
                "{} {} ({}) on {date}",
                figs.region.code, figs.region.name, figs.region.level
            );
            match &figs.day {
                Some(d) => println!(
                    "  day ({}): {}",
                    if d.own {
                        "own report"
                    } else {
                        "sum of units below"
                    },
                    values_line(f, &d.values)
                ),
                None => println!("  day: nothing filed"),
            }
            println!("  since the start: {}", values_line(f, &figs.cumulative));
        }
        ReportCommand::Series {
            form,
            region,
            from,
            to,
        } => {
            let series = service.series(&who, &form, &region, from, to).await?;
            let f = service.form(&form)?;
            let names: Vec<&str> = f.fields.iter().map(|x| x.name.as_str()).collect();
            println!("date,own,{}", names.join(","));
            for d in series {
                let vals: Vec<String> = f.named(&d.values).map(|(_, v)| v.to_string()).collect();
                println!("{},{},{}", d.date, d.own, vals.join(","));
            }
        }
        ReportCommand::Completeness {
            form,
            region,
            date,
            limit,
        } => {
            let c = service
                .completeness(&who, &form, &region, date, limit)
                .await?;
            let pct = |n: u64| {
                if c.counts.expected == 0 {
                    0.0
                } else {
                    100.0 * n as f64 / c.counts.expected as f64
                }
            };
            println!(
                "{form} reports of {} units ({}) below {} {} on {date}, due {}:",
                c.counts.expected,
                c.level,
                c.region.code,
                c.region.name,
                c.deadline.to_rfc3339()
            );
            println!(
                "  filed {} ({:.1}%), on time {} ({:.1}%), missing {}",
                c.counts.filed,
                pct(c.counts.filed),
                c.counts.on_time,
                pct(c.counts.on_time),
                c.counts.expected - c.counts.filed
            );
            for (child, cc) in &c.by_child {
                println!(
                    "  {:<13} {:<16} {:>7} expected {:>7} filed {:>7} on time",
                    child.code, child.name, cc.expected, cc.filed, cc.on_time
                );
            }
            for m in &c.missing {
                println!("  missing: {} {}", m.region, m.name);
            }
            for l in &c.late {
                println!(
                    "  late:    {} {} (filed {})",
                    l.region,
                    l.name,
                    l.filed_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                );
            }
        }
        ReportCommand::Review {
            form,
            region,
            date,
            status,
            note,
        } => {
            let status = ReviewStatus::parse(&status)
                .ok_or_else(|| anyhow::anyhow!("--status: approved or returned"))?;
            let r = service
                .review_report(&who, &form, &region, date, status, &note)
                .await?;
            println!("reviewed version {}: {}", r.version, r.status.name());
        }
        ReportCommand::Overdue { limit } => {
            for v in service.overdue_reviews(&who, limit).await? {
                println!(
                    "{} {} {} version {} filed {} by {}",
                    v.key.form,
                    v.key.region,
                    v.key.date,
                    v.version,
                    v.filed_at.to_rfc3339(),
                    v.filed_by
                );
            }
        }
    }
    Ok(())
}
