//! `fangkong serve` and `fangkong demo`.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use fangkong_server::{serve as serve_http, AppState};
use fangkong_service::demo::{DEMO_DAYS, DEMO_PASSWORD, DEMO_USERS};
use fangkong_service::Service;

use crate::open::{open_service, settings};
use crate::Global;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Fill a fresh demo database first (see `fangkong demo`).
    #[arg(long)]
    pub demo: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Only create the demo database; do not serve it.
    #[arg(long)]
    pub no_serve: bool,
}

pub async fn serve(g: &Global, args: ServeArgs) -> anyhow::Result<()> {
    if args.demo {
        return demo(
            g,
            DemoArgs {
                listen: args.listen,
                no_serve: false,
            },
        )
        .await;
    }
    let service = open_service(g).await?;
    run_server(service, &args.listen).await
}

/// The demo's database: `--database` if given a non-default value, else `fangkong-demo.db`.
fn demo_url(g: &Global) -> String {
    if g.database == "sqlite://fangkong.db" {
        "sqlite://fangkong-demo.db".to_owned()
    } else {
        g.database.clone()
    }
}

pub async fn demo(g: &Global, args: DemoArgs) -> anyhow::Result<()> {
    let url = demo_url(g);
    if let Some(file) = url.strip_prefix("sqlite://") {
        // a fresh database every time
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{file}{suffix}");
            if std::path::Path::new(&path).exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove the old demo database {path}"))?;
            }
        }
    }
    let store = crate::open::open_store(&url).await?;
    let service = Service::open(store, settings(g)).await?;
    if service
        .store()
        .chain_head(fangkong_store::Chain::Report)
        .await?
        .seq
        > 0
    {
        anyhow::bail!("{url} already holds reports; the demo needs an empty database");
    }
    eprintln!("fangkong demo: generating {DEMO_DAYS} days of an outbreak on {url} …");
    let started = std::time::Instant::now();
    let summary = service
        .generate_demo(&|step: &str| eprintln!("  · {step}"))
        .await?;
    eprintln!(
        "  {} epidemic reports (every county in China) and {} grid reports (every village and community in Hubei), {} to {}, in {:.1} s",
        summary.epidemic_reports,
        summary.grid_reports,
        summary.from.map(|d| d.to_string()).unwrap_or_default(),
        summary.to.map(|d| d.to_string()).unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    eprintln!("  {} alerts raised over the last days", summary.alerts);
    eprintln!(
        "  {} releases published (the nation and every province, each day but today)",
        summary.releases
    );
    let l = summary.line_list;
    eprintln!(
        "  line list: {} cases ({} converted from contacts), {} close contacts, {} follow-ups",
        l.cases, l.converted, l.contacts, l.follow_ups
    );
    eprintln!("\ndemo logins (password {DEMO_PASSWORD}):");
    for (user, name, role, region) in DEMO_USERS {
        let region = if region == "GRID" {
            summary.grid_village.as_str()
        } else {
            region
        };
        eprintln!("  {user:<10} {:<10} {region:<13} {name}", role.name());
    }
    if args.no_serve {
        return Ok(());
    }
    run_server(service, &args.listen).await
}

async fn run_server(service: Service, listen: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    eprintln!("\nfangkong serving {} on http://{addr}/  (API: http://{addr}/api/v1/openapi.json; Ctrl-C stops)", service.engine());
    let service = Arc::new(service);
    tokio::spawn(daily_assessment(service.clone()));
    let state = AppState::new(service);
    serve_http(listener, state, shutdown_signal()).await?;
    eprintln!("fangkong stopped");
    Ok(())
}

/// Every hour, the alerts and risk levels of today (local time): cheap, and
/// idempotent, so late reports are taken in on the next round.
async fn daily_assessment(service: Arc<Service>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let today = service.today();
        match service.daily_assessment(today).await {
            Ok((run, assessed)) => tracing::info!(
                %today,
                alerts_raised = run.raised,
                alerts_extended = run.extended,
                county_days = assessed,
                "daily assessment"
            ),
            Err(e) => tracing::warn!(%today, error = %e, "daily assessment failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
