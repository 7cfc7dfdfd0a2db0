//! # fangkong — the binary
//!
//! Thin glue: parses the command line, opens the store the `--database` URL
//! names (the one place where the concrete engines meet), builds the service
//! and runs one command. Every command acts as a principal — the program
//! itself by default, or a stored user with `--as USER` — and the service
//! enforces that principal's jurisdiction, exactly as for the HTTP API.

mod bench;
mod commands;
mod open;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Bulk imports allocate and free millions of small strings; mimalloc does
/// that markedly faster than the system allocator (measured with `fangkong bench ingest`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// fangkong (防控): epidemic prevention and control — daily and zero
/// reporting, roll-up, completeness, the daily bulletin.
#[derive(Parser, Debug)]
#[command(name = "fangkong", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The database: `sqlite://FILE` (created if missing) or `postgres://…`.
    #[arg(
        long,
        global = true,
        env = "FANGKONG_DATABASE",
        default_value = "sqlite://fangkong.db"
    )]
    pub database: String,
    /// Act as this stored user (their jurisdiction applies); by default the program acts with national scope.
    #[arg(long = "as", global = true, env = "FANGKONG_USER")]
    pub as_user: Option<String>,
    /// Local time's offset east of UTC in minutes, for deadlines and "today".
    #[arg(
        long,
        global = true,
        env = "FANGKONG_UTC_OFFSET",
        default_value_t = 480,
        allow_negative_numbers = true
    )]
    pub utc_offset: i32,
    /// Days close contacts are observed after their last exposure (1–60).
    #[arg(long, global = true, env = "FANGKONG_OBSERVATION_DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(u16).range(1..=60))]
    pub observation_days: u16,
    /// Failed logins an account may have in the login window before further
    /// attempts are refused (429); 0 turns the limit off.
    #[arg(
        long,
        global = true,
        env = "FANGKONG_LOGIN_FAILURES_PER_ACCOUNT",
        default_value_t = 5
    )]
    pub login_failures_per_account: u32,
    /// Failed logins from one client address (IPv6: one /64) in the window;
    /// 0 turns it off (behind a reverse proxy every client has its address).
    #[arg(
        long,
        global = true,
        env = "FANGKONG_LOGIN_FAILURES_PER_ADDRESS",
        default_value_t = 20
    )]
    pub login_failures_per_address: u32,
    /// The login limits' sliding window, in minutes (1–1440).
    #[arg(long, global = true, env = "FANGKONG_LOGIN_WINDOW_MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u16).range(1..=1440))]
    pub login_window_minutes: u16,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the HTTP API and web pages.
    Serve(commands::serve::ServeArgs),
    /// Create a fresh demo database with a generated outbreak and serve it.
    Demo(commands::serve::DemoArgs),
    /// Import reports, published series or regions from files.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Export reports as CSV.
    #[command(subcommand)]
    Export(commands::import::ExportCommand),
    /// Print the daily bulletin in the national health commission's form.
    Bulletin(commands::report::BulletinArgs),
    /// Publish a day's figures to the public: a new version when they changed, with a reason.
    Publish(commands::publish::PublishArgs),
    /// File, show and check reports.
    #[command(subcommand)]
    Report(commands::report::ReportCommand),
    /// The region tree: import, show, search, count.
    #[command(subcommand)]
    Regions(commands::regions::RegionsCommand),
    /// Users: add, list, set a password, end their sessions.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// The audit trail: verify the chains, read the log.
    #[command(subcommand)]
    Audit(commands::user::AuditCommand),
    /// Risk assessment: curves, growth, Rt, forecasts, alerts, risk levels.
    #[command(subcommand)]
    Analyze(commands::analyze::AnalyzeCommand),
    /// A case's transmission chain: everyone within --depth steps, or its whole cluster.
    Chain(commands::line_list::ChainArgs),
    /// The case line list.
    #[command(subcommand)]
    Cases(commands::line_list::CasesCommand),
    /// Close contacts under medical observation.
    #[command(subcommand)]
    Contacts(commands::line_list::ContactsCommand),
    /// People: candidate pairs of records waiting for review.
    #[command(subcommand)]
    Persons(commands::line_list::PersonsCommand),
    /// Measure ingestion and roll-up at national size.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Who may do what: the policy table (role × action × scope), or each HTTP route's action.
    Policy(commands::user::PolicyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FANGKONG_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,fangkong=info,fangkong_server=info")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
