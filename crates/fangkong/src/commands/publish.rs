//! `fangkong publish`: release a day's figures to the public (R10).

use chrono::NaiveDate;
use clap::Args;

use fangkong_service::publications::PublishOutcome;

use super::parse_date;
use crate::open::{open_service, principal};
use crate::Global;

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The day to publish.
    #[arg(long, value_parser = parse_date)]
    pub date: NaiveDate,
    /// The region, with its children (default: the nation and every
    /// province; with --as, the user's home region).
    #[arg(long)]
    pub region: Option<String>,
    /// Why the figures are revised: needed when a release of the day exists
    /// and a figure changed.
    #[arg(long)]
    pub reason: Option<String>,
}

pub async fn publish(g: &Global, args: PublishArgs) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    let outcomes = service
        .publish(
            &who,
            args.date,
            args.region.as_deref(),
            args.reason.as_deref(),
        )
        .await?;
    for o in &outcomes {
        let h = o.head();
        match o {
            PublishOutcome::Published(_) => {
                println!("{} {}: published version {}", h.date, h.region, h.version)
            }
            PublishOutcome::Revised { errata, .. } => {
                println!(
                    "{} {}: revised, version {} ({} figures changed)",
                    h.date,
                    h.region,
                    h.version,
                    errata.len()
                );
                for e in errata {
                    println!(
                        "  {} {}: {} → {}",
                        e.region, e.field, e.old_value, e.new_value
                    );
                }
            }
            PublishOutcome::Unchanged(_) => println!(
                "{} {}: unchanged since version {}; nothing published",
                h.date, h.region, h.version
            ),
        }
    }
    Ok(())
}
