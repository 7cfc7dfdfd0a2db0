//! # fangkong-service
//!
//! The use cases of fangkong, for every caller alike (HTTP API, CLI, demo):
//! the region tree, filing and correcting daily reports, roll-ups,
//! completeness and timeliness, bulk import and export, the bulletin, users
//! and sessions, and the audit chain.
//!
//! Invariants:
//! - every public method that reads or writes people's or units' data takes a
//!   [`Principal`] and checks that the target lies in its jurisdiction here,
//!   so no caller can forget;
//! - every write commits together with its audit entry, in one transaction;
//! - only the storage contract is used (`Arc<dyn Store>`), never an engine.

pub mod analytics;
pub mod audit;
pub mod bulletin;
pub mod demo;
pub mod error;
pub mod import;
pub mod line_list;
pub mod publications;
pub mod regions;
pub mod reports;
pub mod tasks;
pub mod users;

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};

use fangkong_domain::form::{builtin_forms, Form};
use fangkong_domain::policy::{self, Action, Scope};
use fangkong_domain::region::Region;
use fangkong_domain::user::Role;
use fangkong_store::Store;

pub use error::{Result, RowError, ServiceError};

/// Settings of the use cases; the binary fills them from flags and environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Local time's offset east of UTC, in minutes, for deadlines and "today" (China: 480).
    pub utc_offset_minutes: i32,
    /// A report unreviewed for this many hours is listed for the level above the reviewer.
    pub review_after_hours: i64,
    /// How long a login session lasts.
    pub session_hours: i64,
    /// How long close contacts are observed after their last exposure,
    /// unless a contact is registered with its own period.
    pub observation_period: fangkong_domain::contact::ObservationPeriod,
    /// Failed logins one account may have in [`Settings::login_window_minutes`]
    /// before further attempts are refused (0: no limit).
    pub login_failures_per_account: u32,
    /// Failed logins from one client address (IPv6: one /64) in the window
    /// (0: no limit). Behind a reverse proxy every client has the proxy's
    /// address: raise it or turn it off there.
    pub login_failures_per_address: u32,
    /// The sliding window of the login limits, in minutes.
    pub login_window_minutes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            utc_offset_minutes: 480,
            review_after_hours: 24,
            session_hours: 12,
            observation_period: fangkong_domain::contact::ObservationPeriod::default(),
            login_failures_per_account: 5,
            login_failures_per_address: 20,
            login_window_minutes: 15,
        }
    }
}

/// Who is acting: a logged-in user, or the program itself (`system`).
#[derive(Debug, Clone)]
pub struct Principal {
    pub username: String,
    pub role: Role,
    /// The home region: the root of this principal's jurisdiction.
    pub region: Region,
    /// The site the user belongs to (a hospital, an isolation site), by the
    /// name admissions and observation give it, in `region`.
    pub site: Option<String>,
}

impl Principal {
    /// Whether `region` lies in this principal's jurisdiction.
    pub fn covers(&self, region: &Region) -> bool {
        self.region.contains(region)
    }

    /// How far this principal may do `action` (the policy table), if at all.
    pub fn scope(&self, action: Action) -> Option<Scope> {
        policy::scope(self.role, action)
    }

    /// Whether this principal may do `action` at all.
    pub fn may(&self, action: Action) -> bool {
        self.scope(action).is_some()
    }

    /// The scope of `action` for this principal, or `Forbidden` naming the
    /// role and the action. Every use case starts here.
    pub fn require(&self, action: Action) -> Result<Scope> {
        self.scope(action).ok_or_else(|| ServiceError::Refused {
            role: self.role,
            action,
        })
    }

    /// The principal's site as an admission names it, when it has one.
    pub fn facility(&self) -> Option<fangkong_domain::case::Facility> {
        let name = self.site.as_deref()?;
        Some(fangkong_domain::case::Facility {
            region: self.region.code.clone(),
            name: fangkong_domain::case::Place::parse("site", name).ok()?,
        })
    }
}

/// The use cases over one store.
pub struct Service {
    store: Arc<dyn Store>,
    /// The whole region tree in memory, for bulk imports.
    region_index: Arc<regions::IndexCell>,
    /// The transmission graph in memory, rebuilt when its generation moves.
    graph: Arc<line_list::chains::GraphCell>,
    forms: Vec<Form>,
    settings: Settings,
    /// Moves with every publication by this process (caches of public answers key on it).
    publications: std::sync::atomic::AtomicU64,
}

impl Service {
    /// Open the service over `store`, loading China's divisions from the
    /// nation down to the counties on first use.
    pub async fn open(store: Arc<dyn Store>, settings: Settings) -> Result<Service> {
        let service = Service {
            store,
            forms: builtin_forms(),
            settings,
            region_index: Arc::default(),
            graph: Arc::default(),
            publications: Default::default(),
        };
        service.bootstrap_regions().await?;
        Ok(service)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A number that moves whenever this process publishes: what a cache of
    /// public answers compares.
    pub fn publication_generation(&self) -> u64 {
        self.publications.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn engine(&self) -> &'static str {
        self.store.engine()
    }

    pub fn forms(&self) -> &[Form] {
        &self.forms
    }

    pub fn form(&self, name: &str) -> Result<&Form> {
        self.forms.iter().find(|f| f.name == name).ok_or_else(|| {
            let names: Vec<_> = self.forms.iter().map(|f| f.name.as_str()).collect();
            ServiceError::Invalid(fangkong_domain::FieldError::new(
                "form",
                format!("unknown form {name:?}; the forms are {}", names.join(", ")),
            ))
        })
    }

    /// Today's date in local time.
    pub fn today(&self) -> NaiveDate {
        (Utc::now() + Duration::minutes(i64::from(self.settings.utc_offset_minutes))).date_naive()
    }

    /// The program itself, acting with national scope (CLI administration, imports, the demo).
    pub async fn system(&self) -> Result<Principal> {
        Ok(Principal {
            username: "system".into(),
            role: Role::National,
            region: self.nation().await?,
            site: None,
        })
    }
}
