//! `fangkong import …` and `fangkong export …`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use fangkong_domain::form::epidemic_form;
use fangkong_domain::report::Source;
use fangkong_service::import::{
    convert_jhu, convert_nhc, write_rejects, write_reports_csv, Converted,
};
use fangkong_service::reports::epoch;
use fangkong_service::{Principal, Service, ServiceError};

use super::parse_date;
use crate::open::{open_service, principal};
use crate::Global;

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import a report CSV: header `region_code,date` then the form's fields.
    /// All or nothing unless --skip-bad.
    Reports {
        /// The form: epidemic, grid, …
        #[arg(long)]
        form: String,
        file: PathBuf,
        /// Import the good rows and write the bad ones to the reject file.
        #[arg(long)]
        skip_bad: bool,
        /// Where --skip-bad writes bad rows (default: FILE.rejects.csv).
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Import a case line list (case_id,region_code,sex,age,onset_date,report_date,classification
    /// and optional columns; see `fangkong_service::line_list::files`). All or nothing unless --skip-bad.
    Cases {
        file: PathBuf,
        /// Import the good rows and write the bad ones to the reject file.
        #[arg(long)]
        skip_bad: bool,
        /// Where --skip-bad writes bad rows (default: FILE.rejects.csv).
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Import close contacts (contact_id,source_case_id,region_code,exposure,last_exposure_date and
    /// optional columns); one row per link. All or nothing unless --skip-bad.
    Contacts {
        file: PathBuf,
        #[arg(long)]
        skip_bad: bool,
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Import JHU CSSE's China province series (province,date,confirmed_cum,deaths_cum,recovered_cum)
    /// as province-level epidemic reports.
    Jhu {
        file: PathBuf,
        /// Write the converted report CSV here instead of importing it.
        #[arg(long)]
        to_csv: Option<PathBuf>,
    },
    /// Import the national health commission's national daily series as nation-level epidemic reports.
    Nhc {
        file: PathBuf,
        /// Write the converted report CSV here instead of importing it.
        #[arg(long)]
        to_csv: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Current reports of a form in a region's subtree, as the import CSV (plus version and filing columns).
    Reports {
        #[arg(long)]
        form: String,
        /// The region whose subtree to export (default: the nation).
        #[arg(long, default_value = "000000")]
        region: String,
        #[arg(long, value_parser = parse_date)]
        from: Option<NaiveDate>,
        #[arg(long, value_parser = parse_date)]
        to: Option<NaiveDate>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The line list of cases for researchers: no names, ID numbers, phones or addresses; ages in bands;
    /// k-anonymous on region, reporting unit, sex, age band and dates (coarsened as needed).
    Cases {
        /// Required: the only export of cases offered is the de-identified one.
        #[arg(long)]
        deidentified: bool,
        /// Every written row shares its region, reporting unit, sex, age band and dates with at least k-1 others.
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// The region whose cases to export (default: your jurisdiction).
        #[arg(long)]
        region: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

fn open_input(path: &Path) -> anyhow::Result<(File, u64)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((file, len))
}

pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

fn spinner(what: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_message(what.to_owned());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

pub async fn import(g: &Global, cmd: ImportCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        ImportCommand::Reports {
            form,
            file,
            skip_bad,
            rejects,
        } => import_reports(&service, &who, &form, &file, skip_bad, rejects).await,
        ImportCommand::Cases {
            file,
            skip_bad,
            rejects,
        } => {
            super::line_list::import_line_list(&service, &who, false, &file, skip_bad, rejects)
                .await
        }
        ImportCommand::Contacts {
            file,
            skip_bad,
            rejects,
        } => {
            super::line_list::import_line_list(&service, &who, true, &file, skip_bad, rejects).await
        }
        ImportCommand::Jhu { file, to_csv } => {
            let (input, _) = open_input(&file)?;
            let converted = convert_jhu(BufReader::new(input), &epidemic_form())?;
            import_converted(&service, &who, converted, &file, to_csv).await
        }
        ImportCommand::Nhc { file, to_csv } => {
            let (input, _) = open_input(&file)?;
            let converted = convert_nhc(BufReader::new(input), &epidemic_form())?;
            import_converted(&service, &who, converted, &file, to_csv).await
        }
    }
}

async fn import_reports(
    service: &Service,
    who: &Principal,
    form: &str,
    file: &Path,
    skip_bad: bool,
    rejects: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (input, len) = open_input(file)?;
    let pb = bar(len, "reading");
    let parsed = service
        .read_report_csv(who, form, BufReader::new(pb.wrap_read(input)), &|_| {})
        .await?;
    pb.finish_and_clear();
    let bad_count = parsed.bad.len();
    if bad_count > 0 {
        if !skip_bad {
            return Err(
                ServiceError::BadRows(parsed.bad.into_iter().map(|(e, _)| e).collect()).into(),
            );
        }
        let path =
            rejects.unwrap_or_else(|| PathBuf::from(format!("{}.rejects.csv", file.display())));
        let out =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        write_rejects(BufWriter::new(out), &parsed.header, &parsed.bad)?;
        eprintln!("{bad_count} bad rows written to {}", path.display());
    }
    let sp = spinner(&format!("importing {} rows", parsed.rows.len()));
    let label = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let summary = service
        .import_report_rows(who, form, parsed.rows, Source::Import, &label)
        .await?;
    sp.finish_and_clear();
    println!(
        "imported {} rows of {form}: {} filed, {} corrected, {} unchanged, over {} days{}",
        summary.rows,
        summary.filed,
        summary.corrected,
        summary.unchanged,
        summary.days,
        if bad_count > 0 {
            format!("; {bad_count} bad rows skipped")
        } else {
            String::new()
        }
    );
    Ok(())
}

async fn import_converted(
    service: &Service,
    who: &Principal,
    converted: Converted,
    file: &Path,
    to_csv: Option<PathBuf>,
) -> anyhow::Result<()> {
    if let Some(out) = to_csv {
        let w = File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
        converted.write_csv(BufWriter::new(w), &epidemic_form())?;
        for n in &converted.notes {
            eprintln!("note: {n}");
        }
        println!("wrote {} rows to {}", converted.rows.len(), out.display());
        return Ok(());
    }
    let label = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (summary, notes) = service
        .import_converted(who, "epidemic", converted, &label)
        .await?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    println!(
        "imported {} rows of epidemic: {} filed, {} corrected, {} unchanged, over {} days",
        summary.rows, summary.filed, summary.corrected, summary.unchanged, summary.days
    );
    Ok(())
}

pub async fn export(g: &Global, cmd: ExportCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        ExportCommand::Cases {
            deidentified,
            k,
            region,
            output,
        } => super::line_list::export_cases(&service, &who, deidentified, k, region, output).await,
        ExportCommand::Reports {
            form,
            region,
            from,
            to,
            output,
        } => {
            let from = from.unwrap_or_else(epoch);
            let to = to.unwrap_or_else(|| service.today());
            let versions = service
                .export_reports(&who, &form, &region, from, to)
                .await?;
            let form = service.form(&form)?;
            match output {
                Some(path) => {
                    let f = File::create(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    write_reports_csv(BufWriter::new(f), form, &versions)?;
                    eprintln!("wrote {} reports to {}", versions.len(), path.display());
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    write_reports_csv(&mut lock, form, &versions)?;
                    lock.flush()?;
                }
            }
            Ok(())
        }
    }
}
