//! The line list on the command line: `import cases|contacts`, `export
//! cases --deidentified`, `chain`, `cases show`, `contacts due`, `persons
//! review`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use fangkong_domain::case::{CaseEvent, CaseId};
use fangkong_domain::matching::MatchStatus;
use fangkong_service::import::write_rejects;
use fangkong_service::line_list::chains::{export, ChainView, GraphFormat};
use fangkong_service::line_list::files::{ImportOptions, ImportSummary};
use fangkong_service::{Principal, Service};

use super::parse_date;
use crate::open::{open_service, principal};
use crate::Global;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ChainFormat {
    Json,
    Dot,
    Graphml,
}

/// `fangkong chain`.
#[derive(Args, Debug)]
pub struct ChainArgs {
    /// The case whose chain to show.
    #[arg(long = "case")]
    pub case_id: String,
    /// Everyone within this many steps (links in either direction); the whole cluster without it.
    #[arg(long)]
    pub depth: Option<u32>,
    #[arg(long, value_enum, default_value = "json")]
    pub format: ChainFormat,
}

#[derive(Subcommand, Debug)]
pub enum CasesCommand {
    /// One case: its person (within your jurisdiction), state, dates and history.
    Show { id: String },
}

#[derive(Subcommand, Debug)]
pub enum ContactsCommand {
    /// The contacts to follow up on a day (today by default), flagged when not reached for two days.
    Due {
        /// The region (default: yours).
        #[arg(long)]
        region: Option<String>,
        #[arg(long, value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PersonsCommand {
    /// The candidate pairs of records that may be one person, waiting for review.
    Review {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// Imports a case or contact file: all or nothing unless `skip_bad`.
pub async fn import_line_list(
    service: &Service,
    who: &Principal,
    contacts: bool,
    file: &Path,
    skip_bad: bool,
    rejects: Option<PathBuf>,
) -> anyhow::Result<()> {
    let input = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let len = input.metadata().map(|m| m.len()).unwrap_or(0);
    let what = if contacts { "contacts" } else { "cases" };
    let pb = super::import::bar(len, &format!("importing {what}"));
    let options = ImportOptions {
        skip_bad,
        label: file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..ImportOptions::default()
    };
    let input = BufReader::with_capacity(1 << 20, pb.wrap_read(input));
    let summary = if contacts {
        service.import_contacts(who, input, &options).await
    } else {
        service.import_cases(who, input, &options).await
    };
    pb.finish_and_clear();
    let summary = summary?;
    report_import(&summary, what, file, rejects)
}

fn report_import(
    summary: &ImportSummary,
    what: &str,
    file: &Path,
    rejects: Option<PathBuf>,
) -> anyhow::Result<()> {
    let bad = summary.bad.len();
    if bad > 0 {
        let path =
            rejects.unwrap_or_else(|| PathBuf::from(format!("{}.rejects.csv", file.display())));
        let out =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        write_rejects(BufWriter::new(out), &summary.header, &summary.bad)?;
        eprintln!("{bad} bad rows written to {}", path.display());
    }
    println!(
        "imported {} {what} from {} rows ({} links to source cases, {} candidate pairs of people to review){}{}",
        summary.imported,
        summary.rows,
        summary.links,
        summary.candidates,
        if summary.bulk {
            "; loaded in bulk, indexes rebuilt"
        } else {
            ""
        },
        if bad > 0 {
            format!("; {bad} bad rows skipped")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// `fangkong export cases --deidentified [--k 5]`: the CSV, and a note of
/// the k reached and what was coarsened on standard error (and beside the
/// file, as `FILE.note.txt`).
pub async fn export_cases(
    service: &Service,
    who: &Principal,
    deidentified: bool,
    k: usize,
    region: Option<String>,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    if !deidentified {
        anyhow::bail!("only the de-identified export is offered: add --deidentified");
    }
    match output {
        Some(path) => {
            let f =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            let summary = service
                .export_cases_deidentified(who, region.as_deref(), k, BufWriter::new(f))
                .await?;
            let note_path = PathBuf::from(format!("{}.note.txt", path.display()));
            std::fs::write(&note_path, format!("{}\n", summary.note()))
                .with_context(|| format!("cannot write {}", note_path.display()))?;
            eprintln!(
                "{} to {} (note: {})",
                summary.note(),
                path.display(),
                note_path.display()
            );
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            let summary = service
                .export_cases_deidentified(who, region.as_deref(), k, &mut lock)
                .await?;
            lock.flush()?;
            eprintln!("{}", summary.note());
        }
    }
    Ok(())
}

pub fn chain_json(view: &ChainView) -> Value {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string());
    let nodes: Vec<Value> = view
        .nodes
        .iter()
        .map(|n| {
            let mut v = json!({
                "id": n.id,
                "kind": n.kind,
                "region": n.region.as_str(),
                "reporting_unit": n.reporting_unit.as_str(),
                "distance": n.distance,
                "generation": n.generation,
                "classification": n.classification.map(|c| c.name()),
                "onset": date(n.onset),
                "report_date": date(n.report_date),
                "last_exposure": date(n.last_exposure),
                "visible": n.visible,
            });
            if n.visible {
                v["name"] = json!(n.name);
                v["sex"] = json!(n.sex.map(|s| s.name()));
                v["age"] = json!(n.age);
            }
            v
        })
        .collect();
    let edges: Vec<Value> = view
        .edges
        .iter()
        .map(|e| json!({"from": e.from, "to": e.to, "kind": e.kind, "date": date(e.date)}))
        .collect();
    let c = &view.cluster;
    json!({
        "nodes": nodes,
        "edges": edges,
        "root": view.root,
        "depth": view.depth,
        "source_chain": view.source_chain,
        "cycle": view.cycle,
        "generation": view.generation,
        "truncated": view.truncated,
        "cluster": {
            "size": c.size,
            "cases": c.cases,
            "contacts": c.contacts,
            "first_day": date(c.first_day),
            "last_day": date(c.last_day),
            "regions": c.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "index_cases": c.index_cases,
            "truncated": c.truncated,
        },
    })
}

pub async fn chain(g: &Global, args: ChainArgs) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    let id = CaseId::parse(&args.case_id)?;
    let view = service.chain(&who, &id, args.depth).await?;
    match args.format {
        ChainFormat::Json => println!("{}", serde_json::to_string(&chain_json(&view))?),
        ChainFormat::Dot => print!("{}", export(&view, GraphFormat::Dot)),
        ChainFormat::Graphml => print!("{}", export(&view, GraphFormat::GraphMl)),
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

pub async fn cases(g: &Global, cmd: CasesCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        CasesCommand::Show { id } => {
            let stored = service.case(&who, &CaseId::parse(&id)?).await?;
            let c = &stored.entry.case;
            let p = c.person();
            let d = c.dates();
            println!("case {} (version {})", c.id(), c.version());
            println!(
                "  person:         #{} {} {} {} age {} (ID {}, phone {})",
                stored.entry.person_id,
                opt(p.name.as_ref().map(|n| n.as_str())),
                p.sex,
                p.home_region,
                opt(p.age.map(|a| a.years())),
                opt(p.id_number.as_ref().map(|n| n.masked())),
                opt(p.phone.as_ref().map(|x| x.as_str())),
            );
            println!("  reported by:    {}", c.reporting_unit());
            println!(
                "  classification: {}; severity {}; outcome {}",
                c.classification(),
                opt(c.severity().map(|(s, d)| format!("{s} since {d}"))),
                opt(c.outcome().map(|(o, d)| format!("{o} on {d}")))
            );
            println!(
                "  dates:          onset {}, first visit {}, report {}, confirmation {}, exclusion {}",
                opt(d.onset),
                opt(d.first_visit),
                d.report,
                opt(d.confirmation),
                opt(d.exclusion)
            );
            if let Some(a) = c.admission() {
                println!(
                    "  admitted:       {} ({}) on {}",
                    a.facility.name.as_str(),
                    a.facility.region,
                    a.date
                );
            }
            match c.place_of_exposure() {
                Some(place) => println!("  origin:         {} ({})", c.origin(), place.as_str()),
                None => println!("  origin:         {}", c.origin()),
            }
            if !c.source_cases().is_empty() {
                let s: Vec<&str> = c.source_cases().iter().map(CaseId::as_str).collect();
                println!("  source cases:   {}", s.join(", "));
            }
            if let Some(k) = c.from_contact() {
                println!("  from contact:   {k}");
            }
            for r in c.history() {
                let what = match &r.event {
                    CaseEvent::Revise { to, reason, .. } => format!("revise to {to}: {reason}"),
                    CaseEvent::SetSeverity { severity, .. } => format!("severity {severity}"),
                    CaseEvent::Admit { facility, .. } => {
                        format!("admit to {}", facility.name.as_str())
                    }
                    e => e.name().to_owned(),
                };
                println!(
                    "  v{:<3} {} {what} (recorded {})",
                    r.version,
                    r.event.date(),
                    r.recorded_on
                );
            }
        }
    }
    Ok(())
}

pub async fn contacts(g: &Global, cmd: ContactsCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        ContactsCommand::Due { region, date } => {
            let day = date.unwrap_or_else(|| service.today());
            let due = service.due_follow_ups(&who, region.as_deref(), day).await?;
            println!("contact_id,home_region,reporting_unit,release_date,last_follow_up,not_reached_two_days");
            for d in &due {
                let c = &d.contact.entry.contact;
                println!(
                    "{},{},{},{},{},{}",
                    c.id(),
                    c.person().home_region,
                    d.contact.entry.reporting_unit,
                    c.release_date(),
                    c.follow_ups()
                        .last()
                        .map(|f| f.date.to_string())
                        .unwrap_or_default(),
                    d.not_reached_two_days
                );
            }
            eprintln!("{} contacts due on {day}", due.len());
        }
    }
    Ok(())
}

pub async fn persons(g: &Global, cmd: PersonsCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        PersonsCommand::Review { limit } => {
            let pairs = service
                .match_candidates(&who, Some(MatchStatus::Pending), limit)
                .await?;
            println!("pair,person_a,person_b,reason,score,a,b");
            let show = |v: &fangkong_service::line_list::persons::PersonView| -> String {
                let p = v.person.as_ref();
                let name = p
                    .and_then(|p| p.name.as_ref())
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_else(|| "?".into());
                let mut ids: Vec<String> = v.cases.iter().map(|c| format!("case {c}")).collect();
                ids.extend(v.contacts.iter().map(|c| format!("contact {c}")));
                format!("{name} [{}]", ids.join(" "))
            };
            for p in &pairs {
                println!(
                    "{},{},{},{},{:.2},{},{}",
                    p.candidate.id,
                    p.candidate.a,
                    p.candidate.b,
                    p.candidate.reason.name(),
                    p.candidate.score,
                    show(&p.a),
                    show(&p.b)
                );
            }
            eprintln!("{} pairs waiting for review", pairs.len());
        }
    }
    Ok(())
}
