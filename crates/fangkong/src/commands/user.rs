//! `fangkong user …` and `fangkong audit …`.

use std::io::BufRead;

use clap::Subcommand;

use fangkong_domain::chain::Verdict;
use fangkong_domain::user::Role;

use crate::open::{open_service, principal};
use crate::Global;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password comes from standard input (one line) or FANGKONG_PASSWORD.
    Add {
        username: String,
        /// national, provincial, city, county, grid, facility or public
        #[arg(long)]
        role: String,
        /// The home region: the user's jurisdiction.
        #[arg(long)]
        region: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Users in your jurisdiction.
    List,
    /// Set a user's password; all their sessions end. The new password comes
    /// from standard input (one line) or FANGKONG_PASSWORD.
    Passwd { username: String },
    /// End all sessions of a user: their tokens stop working at once.
    Revoke { username: String },
}

/// A password from FANGKONG_PASSWORD, or one line of standard input.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    Ok(match std::env::var("FANGKONG_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("{prompt} (one line on standard input):");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    })
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the report and audit chains; name the first broken entry.
    Verify,
    /// The newest audit entries.
    Log {
        /// Only entries about this entity, e.g. report/epidemic/420102/2020-01-25
        #[arg(long)]
        key: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

pub async fn user(g: &Global, cmd: UserCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        UserCommand::Add {
            username,
            role,
            region,
            name,
        } => {
            let role: Role = role.parse()?;
            let password = read_password(&format!("password for {username}"))?;
            let u = service
                .add_user(&who, &username, &name, role, &region, &password)
                .await?;
            println!("added {} ({}, {})", u.username, u.role, u.region_code);
        }
        UserCommand::List => {
            for u in service.users(&who).await? {
                println!(
                    "{:<20} {:<10} {:<13} {}",
                    u.username,
                    u.role.name(),
                    u.region_code,
                    u.display_name
                );
            }
        }
        UserCommand::Passwd { username } => {
            let password = read_password(&format!("new password for {username}"))?;
            service.set_password(&who, &username, &password).await?;
            println!("password of {username} set; their sessions have ended");
        }
        UserCommand::Revoke { username } => {
            let (username, ended) = service.revoke_sessions(&who, &username).await?;
            println!("{ended} sessions of {username} ended");
        }
    }
    Ok(())
}

pub async fn audit(g: &Global, cmd: AuditCommand) -> anyhow::Result<()> {
    let service = open_service(g).await?;
    let who = principal(&service, g).await?;
    match cmd {
        AuditCommand::Verify => {
            let check = service.verify_chains(&who).await?;
            let mut broken = false;
            for (name, verdict) in [
                ("report chain", &check.reports),
                ("audit chain", &check.audit),
            ] {
                match verdict {
                    Verdict::Intact { entries } => println!("{name}: intact ({entries} entries)"),
                    Verdict::Broken { seq, reason } => {
                        broken = true;
                        println!("{name}: BROKEN at entry {seq}: {reason}");
                    }
                }
            }
            if broken {
                anyhow::bail!("the chains are not intact");
            }
        }
        AuditCommand::Log { key, limit } => {
            for e in service.audit_recent(&who, key.as_deref(), limit).await? {
                println!(
                    "{:>8} {} {:<12} {:<16} {}",
                    e.seq,
                    e.at.to_rfc3339(),
                    e.actor,
                    e.action,
                    e.entity_key
                );
            }
        }
    }
    Ok(())
}
