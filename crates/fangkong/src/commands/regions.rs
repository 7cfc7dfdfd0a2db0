//! `fangkong regions …`.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use fangkong_service::regions::parse_region_csv;

use crate::open::{open_service, principal};
use crate::Global;

#[derive(Subcommand, Debug)]
pub enum RegionsCommand {
    /// Import regions from CSV (code,parent_code,name,level), e.g. China's townships and villages
    /// made by scripts/china-division.sh, or another country's tree (top level under 000000).
    Import { file: PathBuf },
    /// Load the built-in townships and villages of Hubei (the demo's full-depth province).
    DemoProvince,
    /// One region and the path from the nation down to it.
    Show { code: String },
    /// The children of a region.
    Children { code: String },
    /// Regions below CODE whose name contains TEXT or whose code starts with it.
    Search {
        text: String,
        #[arg(long, default_value = "000000")]
        under: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// How many regions of each level lie below a region.
    Count {
        #[arg(default_value = "000000")]
        code: String,
    },
}

pub async fn regions(g: &Global, cmd: RegionsCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    match cmd {
        RegionsCommand::Import { file } => {
            let who = principal(&service, g).await?;
            let input =
                File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            let rows = parse_region_csv(BufReader::new(input))?;
            let n = rows.len();
            let started = std::time::Instant::now();
            service.import_regions(&who, rows).await?;
            println!(
                "imported {n} regions in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        RegionsCommand::DemoProvince => {
            let who = principal(&service, g).await?;
            let n = service.import_demo_province(&who).await?;
            println!("imported {n} townships, villages and communities of Hubei");
        }
        RegionsCommand::Show { code } => {
            for r in service.lineage(&code).await? {
                println!("{:<13} {:<9} {}", r.code, r.level.name(), r.name);
            }
        }
        RegionsCommand::Children { code } => {
            for r in service.children(&code).await? {
                println!("{:<13} {:<9} {}", r.code, r.level.name(), r.name);
            }
        }
        RegionsCommand::Search { text, under, limit } => {
            for r in service.search_regions(&under, &text, limit).await? {
                println!("{:<13} {:<9} {}", r.code, r.level.name(), r.name);
            }
        }
        RegionsCommand::Count { code } => {
            for (level, n) in service.count_regions(&code).await? {
                println!("{:<9} {n}", level.name());
            }
        }
    }
    Ok(())
}
