//! `fangkong user …` and `fangkong audit …`.

use std::io::BufRead;

use clap::Subcommand;

use anyhow::Context;

use fangkong_domain::chain::{Hash, Verdict};
use fangkong_domain::user::Role;
use fangkong_service::audit::Derived;
use fangkong_store::{ChainHead, Witness};

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
        /// For a facility user: the site it works for, as admissions name it (金银潭医院).
        #[arg(long)]
        site: Option<String>,
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
    /// Recompute the report and audit chains and name the first broken
    /// entry; compare them with the last release that witnessed them (and a
    /// head file); check every roll-up against its reports and the line
    /// list against the replay of its history.
    Verify {
        /// Heads written by `fangkong audit witness`: a chain shorter than
        /// them, or different at them, is broken.
        #[arg(long)]
        head_file: Option<std::path::PathBuf>,
    },
    /// Write the heads of both chains (seq and hash) to a file, to keep
    /// outside the database and give to `audit verify --head-file` later.
    Witness {
        #[arg(long)]
        output: std::path::PathBuf,
    },
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
            site,
        } => {
            let role: Role = role.parse()?;
            let password = read_password(&format!("password for {username}"))?;
            let u = service
                .add_user_at_site(
                    &who,
                    &username,
                    &name,
                    role,
                    &region,
                    site.as_deref(),
                    &password,
                )
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
        AuditCommand::Verify { head_file } => {
            let file = match &head_file {
                Some(path) => Some(read_head_file(path)?),
                None => None,
            };
            let started = std::time::Instant::now();
            let check = service.verify_all(&who, file).await?;
            for by in &check.witnesses {
                println!("compared with the heads {by} witnessed");
            }
            for (name, verdict) in [
                ("report chain", &check.reports),
                ("audit chain", &check.audit),
            ] {
                match verdict {
                    Verdict::Intact { entries } => println!("{name}: intact ({entries} entries)"),
                    Verdict::Broken { seq, reason } => {
                        println!("{name}: BROKEN at entry {seq}: {reason}");
                    }
                }
            }
            for (name, derived) in [
                ("roll-ups", &check.rollups),
                ("line list", &check.line_list),
            ] {
                match derived {
                    Derived::Agrees { rows } => println!("{name}: agree ({rows} rows)"),
                    Derived::Differs { row, reason } => {
                        println!("{name}: WRONG at {row}: {reason}")
                    }
                }
            }
            println!("checked in {:.1} s", started.elapsed().as_secs_f64());
            if !check.intact() {
                anyhow::bail!("the chains are not intact");
            }
        }
        AuditCommand::Witness { output } => {
            let w = service.witness(&who).await?;
            let text = serde_json::to_string_pretty(&serde_json::json!({
                "report": { "seq": w.report.seq, "hash": w.report.hash.to_hex() },
                "audit": { "seq": w.audit.seq, "hash": w.audit.hash.to_hex() },
                "at": chrono::Utc::now().to_rfc3339(),
            }))?;
            std::fs::write(&output, text + "\n")
                .with_context(|| format!("cannot write {}", output.display()))?;
            println!(
                "report chain at {}, audit chain at {}: written to {}",
                w.report.seq,
                w.audit.seq,
                output.display()
            );
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

#[derive(clap::Args, Debug)]
pub struct PolicyArgs {
    /// List each HTTP route with the actions it needs instead.
    #[arg(long)]
    routes: bool,
}

/// `fangkong policy`: the table as docs/policy.md has it, or the routes.
pub fn policy(args: &PolicyArgs) {
    if !args.routes {
        print!("{}", fangkong_domain::policy::markdown());
        return;
    }
    for (method, route, actions) in fangkong_server::policy::ROUTES {
        let names: Vec<&str> = actions.iter().map(|a| a.name()).collect();
        println!("{method:<6} {route:<60} {}", names.join(" | "));
    }
}

/// The heads `fangkong audit witness` wrote.
fn read_head_file(path: &std::path::Path) -> anyhow::Result<Witness> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the head file {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a head file (JSON)", path.display()))?;
    let head = |chain: &str| -> anyhow::Result<ChainHead> {
        let seq = json[chain]["seq"]
            .as_i64()
            .with_context(|| format!("{}: no {chain}.seq", path.display()))?;
        let hex = json[chain]["hash"]
            .as_str()
            .with_context(|| format!("{}: no {chain}.hash", path.display()))?;
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect();
        let hash = bytes
            .and_then(|b| Hash::from_slice(&b))
            .with_context(|| format!("{}: {chain}.hash is not a hash", path.display()))?;
        Ok(ChainHead { seq, hash })
    };
    Ok(Witness {
        report: head("report")?,
        audit: head("audit")?,
    })
}
