//! One module per group of commands. Each parses its arguments, calls the
//! service and prints; none holds business rules.

pub mod analyze;
pub mod import;
pub mod line_list;
pub mod publish;
pub mod regions;
pub mod report;
pub mod serve;
pub mod user;

use anyhow::anyhow;
use chrono::NaiveDate;

use fangkong_service::ServiceError;

use crate::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = cli.global;
    let result = match cli.command {
        Command::Serve(args) => serve::serve(&g, args).await,
        Command::Demo(args) => serve::demo(&g, args).await,
        Command::Import(cmd) => import::import(&g, cmd).await,
        Command::Export(cmd) => import::export(&g, cmd).await,
        Command::Bulletin(args) => report::bulletin(&g, args).await,
        Command::Publish(args) => publish::publish(&g, args).await,
        Command::Report(cmd) => report::report(&g, cmd).await,
        Command::Regions(cmd) => regions::regions(&g, cmd).await,
        Command::User(cmd) => user::user(&g, cmd).await,
        Command::Audit(cmd) => user::audit(&g, cmd).await,
        Command::Analyze(cmd) => analyze::analyze(&g, cmd).await,
        Command::Chain(args) => line_list::chain(&g, args).await,
        Command::Cases(cmd) => line_list::cases(&g, cmd).await,
        Command::Contacts(cmd) => line_list::contacts(&g, cmd).await,
        Command::Persons(cmd) => line_list::persons(&g, cmd).await,
        Command::Bench(cmd) => crate::bench::bench(&g, cmd).await,
        Command::Policy(args) => {
            user::policy(&args);
            Ok(())
        }
    };
    result.map_err(explain)
}

/// Bad rows are listed one per line, so the reason of a failed import is on stderr.
fn explain(e: anyhow::Error) -> anyhow::Error {
    if let Some(ServiceError::BadRows(rows)) = e.downcast_ref::<ServiceError>() {
        let mut text = format!(
            "{} bad rows; nothing was imported (use --skip-bad to import the good rows):",
            rows.len()
        );
        for r in rows.iter().take(50) {
            text.push_str(&format!("\n  {r}"));
        }
        if rows.len() > 50 {
            text.push_str(&format!("\n  … and {} more", rows.len() - 50));
        }
        return anyhow!(text);
    }
    e
}

pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    fangkong_service::import::parse_date("date", s).map_err(|e| e.reason)
}
