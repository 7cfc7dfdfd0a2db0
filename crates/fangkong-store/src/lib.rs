//! # fangkong-store
//!
//! The storage contract: what the service layer needs from a database, split
//! by area ([`RegionStore`], [`ReportStore`], [`UserStore`], [`AuditStore`],
//! [`AnalyticsStore`])
//! for reads, and one [`WriteTx`] for every write, so that a change, its
//! roll-up and its audit entry commit together or not at all.
//!
//! Invariants:
//! - no SQL here; each engine crate (`fangkong-store-sqlite`,
//!   `fangkong-store-postgres`) implements the contract with its own migrations;
//! - the engines store what they are given: hashing, validation, roll-up rules
//!   and authorization live in the service layer, once.

pub mod analytics;
pub mod cases;
pub mod publications;
pub mod tasks;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use fangkong_domain::audit::AuditEntry;
use fangkong_domain::chain::Hash;
use fangkong_domain::form::Values;
use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_domain::report::{ReportKey, ReportVersion, ReviewStatus};
use fangkong_domain::user::Role;

pub use analytics::{Alert, AlertFilter, RiskChange, RiskRow};
pub use cases::{
    case_state_cells, contact_state_cells, CaseEntry, CaseFilter, ContactEntry, ContactFilter,
    GraphRows, MatchCandidate, MatchFilter, NewPerson, StateRow, StoredCase, StoredContact,
    StoredPerson, CASE_STATE_COLUMNS, CONTACT_STATE_COLUMNS,
};
use fangkong_domain::alert::{AlertStatus, AlertVerdict};
use fangkong_domain::case::CaseId;
use fangkong_domain::contact::ContactId;
use fangkong_domain::matching::MatchStatus;
pub use publications::{
    Erratum, PublicationStore, Release, ReleaseFigures, ReleaseHead, ReleaseRow, ReleasedRow,
    Witness, RELEASE_FIELDS,
};
pub use tasks::{
    DirectiveFilter, DirectiveRow, NewDirective, NewTip, StoredDirective, StoredTarget, StoredTip,
    TargetFilter, TaskStore, TipFilter,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule or a concurrent change: try again or fix the input.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A sum (a roll-up) would leave the range of its integer column; the
    /// engine refused it and the transaction must be dropped: nothing of
    /// it is written, and no column ever holds a wrapped or REAL figure.
    #[error("out of range: {0}")]
    OutOfRange(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The two chains of tamper-evident history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    Report,
    Audit,
}

impl Chain {
    pub fn name(self) -> &'static str {
        match self {
            Chain::Report => "report",
            Chain::Audit => "audit",
        }
    }
}

/// The last entry of a chain: its sequence number and hash (0 and
/// [`Hash::GENESIS`] for an empty chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: Hash,
}

/// A region's figures for one day: its own report where it has one,
/// otherwise the sum of its children's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFigure {
    pub date: NaiveDate,
    pub values: Values,
    /// Whether the figure is the region's own report (not a sum of children).
    pub own: bool,
}

/// One region's roll-up on one day (or a change to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    pub date: NaiveDate,
    pub region: RegionCode,
    pub level: Level,
    pub values: Values,
}

/// The figure of one child region on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFigure {
    pub region: RegionCode,
    pub values: Values,
    pub own: bool,
}

/// How many units at a level below a region should have filed, did, and did on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompletenessCounts {
    pub expected: u64,
    pub filed: u64,
    pub on_time: u64,
}

/// A unit that has not filed, or filed late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitStatus {
    pub region: RegionCode,
    pub name: String,
    /// When the first version came in; `None` when nothing came.
    pub filed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region: RegionCode,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// The site (hospital, isolation site) the user belongs to, by the name
    /// admissions and observation give it, in the user's home region.
    pub site: Option<String>,
}

/// Whose failed logins to count: an account (the hash of its lower-cased
/// name, so that names typed by mistake, often passwords, are not stored)
/// or a client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKey<'a> {
    Account(&'a [u8]),
    Address(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region: RegionCode,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// The site (hospital, isolation site) the user belongs to, by the name
    /// admissions and observation give it, in the user's home region.
    pub site: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub key: ReportKey,
    pub version: i32,
    pub status: ReviewStatus,
    pub note: String,
    pub reviewer: String,
    pub at: DateTime<Utc>,
}

/// The whole region tree in one piece of text, for a process that keeps the
/// tree in memory (the service's index for bulk imports): every region's
/// code, parent, level and name, and the tree's generation.
///
/// The engines send it as one text, per region
/// `code \t parent_code \t level \t byte length of name \t name \n`
/// (the parent empty for the root), which [`RegionTree::parse`] reads: one
/// value from the database instead of a row per region.
#[derive(Debug, Clone, Default)]
pub struct RegionTree {
    /// The [`RegionStore::region_generation`] the tree was read at.
    pub generation: i64,
    text: String,
    rows: Vec<RegionTreeRow>,
}

/// One region of a [`RegionTree`]: where its code, parent code (empty for
/// the root) and name lie in the tree's text, as (start, length) in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionTreeRow {
    pub code: (u32, u32),
    pub parent: (u32, u32),
    pub name: (u32, u32),
    pub level: Level,
}

impl RegionTree {
    /// Read the transfer format (see [`RegionTree`]).
    pub fn parse(generation: i64, text: String) -> Result<RegionTree> {
        let invalid = |at: usize, what: &str| {
            StoreError::Other(anyhow::anyhow!("region tree: {what} at byte {at}"))
        };
        if u32::try_from(text.len()).is_err() {
            return Err(invalid(0, "text over 4 GiB"));
        }
        let bytes = text.as_bytes();
        let mut rows = Vec::with_capacity(text.len() / 40);
        let mut at = 0usize;
        // the next field up to a tab: its range
        let field = |at: &mut usize| -> Result<(u32, u32)> {
            let start = *at;
            let len = bytes[start..]
                .iter()
                .position(|b| *b == b'\t')
                .ok_or_else(|| invalid(start, "a field without its tab"))?;
            *at = start + len + 1;
            Ok((start as u32, len as u32))
        };
        let number = |(start, len): (u32, u32)| -> Option<usize> {
            text.get(start as usize..(start + len) as usize)?
                .parse()
                .ok()
        };
        while at < bytes.len() {
            let code = field(&mut at)?;
            let parent = field(&mut at)?;
            let level = field(&mut at)?;
            let name_len = field(&mut at)?;
            let level = number(level)
                .and_then(|d| Level::from_depth(d as i64))
                .ok_or_else(|| invalid(level.0 as usize, "a bad level"))?;
            let len = number(name_len)
                .ok_or_else(|| invalid(name_len.0 as usize, "a bad name length"))?;
            let name = (at as u32, len as u32);
            at += len;
            if bytes.get(at) != Some(&b'\n') || !text.is_char_boundary(name.0 as usize) {
                return Err(invalid(at, "a name of the wrong length"));
            }
            at += 1;
            if code.1 == 0 {
                return Err(invalid(code.0 as usize, "an empty code"));
            }
            rows.push(RegionTreeRow {
                code,
                parent,
                name,
                level,
            });
        }
        Ok(RegionTree {
            generation,
            text,
            rows,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> &[RegionTreeRow] {
        &self.rows
    }

    /// The text at a span of a row.
    pub fn span(&self, (start, len): (u32, u32)) -> &str {
        self.text
            .get(start as usize..(start + len) as usize)
            .unwrap_or_default()
    }

    pub fn code(&self, row: &RegionTreeRow) -> &str {
        self.span(row.code)
    }

    /// `None` for the root.
    pub fn parent(&self, row: &RegionTreeRow) -> Option<&str> {
        Some(self.span(row.parent)).filter(|p| !p.is_empty())
    }

    pub fn name(&self, row: &RegionTreeRow) -> &str {
        self.span(row.name)
    }

    /// All the text, which the rows' spans refer to (an index keeps it as its arena).
    pub fn into_text(self) -> String {
        self.text
    }
}

#[async_trait]
pub trait RegionStore: Send + Sync {
    async fn region(&self, code: &RegionCode) -> Result<Option<Region>>;
    /// The regions among `codes` that exist (in no particular order).
    async fn regions(&self, codes: &[RegionCode]) -> Result<Vec<Region>>;
    async fn children(&self, code: &RegionCode) -> Result<Vec<Region>>;
    /// Regions in the subtree at `path` whose name contains `query` or whose code starts with it.
    async fn search_regions(&self, path: &str, query: &str, limit: u32) -> Result<Vec<Region>>;
    /// How many regions of each level lie in the subtree at `path` (itself included).
    async fn count_by_level(&self, path: &str) -> Result<Vec<(Level, u64)>>;
    /// Every region at `level` in the subtree at `path`, ordered by code (for exports and the demo).
    async fn regions_at_level(&self, path: &str, level: Level) -> Result<Vec<Region>>;
    /// A number that changes whenever regions are written
    /// ([`WriteTx::insert_regions`]): a copy of the tree read at one
    /// generation is current while the generation stays the same.
    async fn region_generation(&self) -> Result<i64>;
    /// The whole tree and its generation, read in one snapshot.
    async fn region_tree(&self) -> Result<RegionTree>;
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    async fn current_report(&self, key: &ReportKey) -> Result<Option<ReportVersion>>;
    /// Every version of one report, oldest first.
    async fn report_history(&self, key: &ReportKey) -> Result<Vec<ReportVersion>>;
    /// A region's figure for each day in `[from, to]` that has one, in date order.
    async fn figures(
        &self,
        form: &str,
        region: &RegionCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayFigure>>;
    /// The figures of a region's children on one day (children without figures are left out).
    async fn child_figures(
        &self,
        form: &str,
        parent: &RegionCode,
        date: NaiveDate,
    ) -> Result<Vec<ChildFigure>>;
    async fn completeness(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        deadline: DateTime<Utc>,
    ) -> Result<CompletenessCounts>;
    /// Units at `level` in the subtree that filed nothing for the day, by code.
    async fn missing_units(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        limit: u32,
    ) -> Result<Vec<UnitStatus>>;
    /// Units at `level` in the subtree whose first filing came after `deadline`.
    async fn late_units(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        deadline: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UnitStatus>>;
    /// Current versions in the subtree at `path` for `[from, to]`, by date then region.
    async fn current_reports(
        &self,
        form: &str,
        path: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReportVersion>>;
    /// Current versions in the subtree filed before `filed_before` that no one has reviewed.
    async fn unreviewed(
        &self,
        path: &str,
        below_level: Level,
        filed_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ReportVersion>>;
    async fn reviews(&self, key: &ReportKey) -> Result<Vec<Review>>;
    /// Report versions in chain order with `seq > after`, at most `limit`.
    async fn report_chain(&self, after: i64, limit: u32) -> Result<Vec<ReportVersion>>;
    /// The days of a form with a current report or a roll-up, in order.
    async fn report_days(&self, form: &str) -> Result<Vec<NaiveDate>>;
    /// The current reports of a form on one day: each region's own values.
    async fn day_reports(&self, form: &str, date: NaiveDate) -> Result<Vec<(RegionCode, Values)>>;
    /// The stored roll-ups of a form on one day.
    async fn day_rollups(&self, form: &str, date: NaiveDate) -> Result<Vec<(RegionCode, Values)>>;
    /// The figures of every region at `level` in the subtree at `path` for
    /// each day of `[from, to]` that has one (own report, else roll-up), by
    /// region then date: the input of analyses over many regions at once.
    async fn level_figures(
        &self,
        form: &str,
        path: &str,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(RegionCode, DayFigure)>>;
}

#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// Alerts in a subtree, newest signal first.
    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>>;
    async fn alert(&self, id: i64) -> Result<Option<Alert>>;
    /// The risk level of every assessed region in the subtree at `path` on `date`.
    async fn risk_levels_on(&self, path: &str, date: NaiveDate) -> Result<Vec<RiskRow>>;
    /// Days in `[from, to]` on which a region in the subtree changed level, newest first.
    async fn risk_changes(
        &self,
        path: &str,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<RiskChange>>;
}

/// The line list: people, cases, contacts, candidate pairs, the graph.
#[async_trait]
pub trait CaseStore: Send + Sync {
    async fn case(&self, id: &CaseId) -> Result<Option<StoredCase>>;
    /// The cases with these keys (unknown keys are left out), in key order.
    async fn cases_by_keys(&self, keys: &[i64]) -> Result<Vec<StoredCase>>;
    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<StoredCase>>;
    /// The ids among `ids` that are stored cases.
    async fn existing_cases(&self, ids: &[CaseId]) -> Result<Vec<CaseId>>;
    /// The cases of a person record, oldest key first.
    async fn cases_of_person(&self, person_id: i64) -> Result<Vec<StoredCase>>;

    async fn contact(&self, id: &ContactId) -> Result<Option<StoredContact>>;
    async fn contacts_by_keys(&self, keys: &[i64]) -> Result<Vec<StoredContact>>;
    async fn contacts(&self, filter: &ContactFilter) -> Result<Vec<StoredContact>>;
    async fn existing_contacts(&self, ids: &[ContactId]) -> Result<Vec<ContactId>>;
    async fn contacts_of_person(&self, person_id: i64) -> Result<Vec<StoredContact>>;

    async fn person(&self, id: i64) -> Result<Option<StoredPerson>>;
    /// Unmerged persons sharing an ID number, a phone or an exact name with
    /// any of those given: the candidates for matching.
    async fn persons_matching(
        &self,
        id_numbers: &[String],
        phones: &[String],
        names: &[String],
    ) -> Result<Vec<StoredPerson>>;
    async fn match_candidates(&self, filter: &MatchFilter) -> Result<Vec<MatchCandidate>>;
    async fn match_candidate(&self, id: i64) -> Result<Option<MatchCandidate>>;
    /// How many person records there are, merged ones included.
    async fn person_count(&self) -> Result<u64>;
    /// Every unmerged person record with an ID number, as the number's
    /// [`IdNumber::key`](fangkong_domain::case::IdNumber::key) and the
    /// record's id: what a bulk import resolves people against.
    async fn person_id_number_keys(&self) -> Result<Vec<(u64, i64)>>;
    /// Every stored contact id.
    async fn contact_ids(&self) -> Result<Vec<ContactId>>;
    /// Every stored case id.
    async fn case_ids(&self) -> Result<Vec<CaseId>>;
    /// The stored current-state columns ([`CASE_STATE_COLUMNS`]) of the
    /// cases with a key after `after`, by key, at most `limit`.
    async fn case_states(&self, after: i64, limit: u32) -> Result<Vec<StateRow>>;
    /// The stored derived columns ([`CONTACT_STATE_COLUMNS`]) of the
    /// contacts with a key after `after`, by key, at most `limit`.
    async fn contact_states(&self, after: i64, limit: u32) -> Result<Vec<StateRow>>;

    /// Bumped by [`WriteTx::bump_graph_generation`]: a graph built from
    /// [`CaseStore::graph_rows`] stays current while it stays the same.
    async fn graph_generation(&self) -> Result<i64>;
    /// The whole graph's rows and the generation they were read at, in one snapshot.
    async fn graph_rows(&self) -> Result<(i64, GraphRows)>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user of that name, whatever its case (`Jianghan` is `jianghan`).
    async fn user_by_name(&self, username: &str) -> Result<Option<StoredUser>>;
    /// The user holding a live session whose token hashes to `token_hash`.
    async fn user_by_session(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<StoredUser>>;
    async fn users(&self, path: &str) -> Result<Vec<StoredUser>>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Audit entries in chain order with `seq > after`, at most `limit`.
    async fn audit_chain(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>>;
    /// The newest entries first, optionally for one entity key.
    async fn audit_recent(&self, entity_key: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>>;
}

/// Everything a database offers; engines implement it, the service holds an `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    RegionStore
    + ReportStore
    + UserStore
    + AuditStore
    + AnalyticsStore
    + CaseStore
    + PublicationStore
    + TaskStore
{
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
    /// Begin a write transaction. On PostgreSQL several may run at once; the
    /// chain heads are locked by [`WriteTx::chain_head`], so writes to one
    /// chain are serialized.
    async fn begin(&self) -> Result<Box<dyn WriteTx>>;
    async fn chain_head(&self, chain: Chain) -> Result<ChainHead>;
}

/// One write transaction. Nothing is visible to others until `commit`;
/// dropping it without commit rolls everything back.
#[async_trait]
pub trait WriteTx: Send {
    /// The head of a chain, locked until commit.
    async fn chain_head(&mut self, chain: Chain) -> Result<ChainHead>;
    async fn set_chain_head(&mut self, chain: Chain, head: ChainHead) -> Result<()>;
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<()>;

    /// Add or update regions; advances the [`RegionStore::region_generation`].
    async fn insert_regions(&mut self, regions: &[Region]) -> Result<u64>;

    async fn insert_user(&mut self, user: &NewUser) -> Result<i64>;
    async fn insert_session(
        &mut self,
        token_hash: &[u8],
        user_id: i64,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// End one session; whether there was one.
    async fn delete_session(&mut self, token_hash: &[u8]) -> Result<bool>;
    /// End every session of a user but the one whose token hashes to
    /// `except`; how many ended.
    async fn delete_sessions(&mut self, user_id: i64, except: Option<&[u8]>) -> Result<u64>;
    async fn set_password_hash(&mut self, user_id: i64, password_hash: &str) -> Result<()>;

    /// Hold the failed-login records until commit, so that counting them
    /// and adding one is a single step for every server on the database
    /// (PostgreSQL: a transaction-level advisory lock; SQLite's one writer
    /// connection is such a lock already).
    async fn lock_login_failures(&mut self) -> Result<()>;
    /// The time of the `n`-th newest failed login at or after `since` of
    /// an account or from an address, when there are `n` of them.
    async fn nth_login_failure(
        &mut self,
        by: LoginKey<'_>,
        since: DateTime<Utc>,
        n: u32,
    ) -> Result<Option<DateTime<Utc>>>;
    /// Record a failed login (or one under way: it is forgotten if it succeeds).
    async fn insert_login_failure(
        &mut self,
        account: &[u8],
        address: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Forget the failed logins of an account (when given) and every one
    /// older than `before`.
    async fn clear_login_failures(
        &mut self,
        account: Option<&[u8]>,
        before: DateTime<Utc>,
    ) -> Result<()>;

    async fn current_report(&mut self, key: &ReportKey) -> Result<Option<ReportVersion>>;
    /// Current versions of a form on the given days (for bulk classification).
    async fn current_reports_on(
        &mut self,
        form: &str,
        dates: &[NaiveDate],
    ) -> Result<Vec<ReportVersion>>;
    /// The regions among `regions` that have their own current report for the day.
    async fn own_reports_among(
        &mut self,
        form: &str,
        date: NaiveDate,
        regions: &[RegionCode],
    ) -> Result<Vec<RegionCode>>;
    /// The sum of a region's children's figures for the day, if any child has one.
    async fn rollup(
        &mut self,
        form: &str,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Option<Values>>;
    /// Append versions (already sealed, in chain order; `depth` of each region
    /// given alongside) and mark the versions with sequence numbers
    /// `superseded` as no longer current.
    async fn insert_versions(
        &mut self,
        versions: &[(ReportVersion, Level)],
        superseded: &[i64],
    ) -> Result<()>;
    /// Add each row's values to that region's roll-up for its day (creating
    /// the roll-up at zero): the deltas of filed reports, propagated upward.
    async fn add_to_rollups(&mut self, form: &str, deltas: &[RollupRow]) -> Result<()>;
    /// Every roll-up of a form on the given days.
    async fn rollups_on(&mut self, form: &str, dates: &[NaiveDate]) -> Result<Vec<RollupRow>>;
    /// Recompute the roll-ups of a form for whole days from the current reports.
    async fn rebuild_rollups(&mut self, form: &str, dates: &[NaiveDate]) -> Result<()>;
    async fn insert_review(&mut self, review: &Review) -> Result<()>;

    /// Alerts of a form whose signal lasted until `since` or later (to extend them).
    async fn alerts_since(&mut self, form: &str, since: NaiveDate) -> Result<Vec<Alert>>;
    /// Store a new alert (its `id` is ignored); returns the id given.
    async fn insert_alert(&mut self, alert: &Alert) -> Result<i64>;
    /// Extend a signal to a later day, with the figures of its peak.
    async fn extend_alert(&mut self, alert: &Alert) -> Result<()>;
    /// Acknowledge or close an alert.
    async fn set_alert_status(
        &mut self,
        id: i64,
        status: AlertStatus,
        verdict: Option<AlertVerdict>,
        note: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Store (or replace) regions' risk levels for their days.
    async fn put_risk_levels(&mut self, rows: &[RiskRow]) -> Result<()>;

    /// Insert person records; returns their ids in order.
    async fn insert_persons(&mut self, persons: &[NewPerson]) -> Result<Vec<i64>> {
        let ids = self.reserve_person_ids(persons.len()).await?;
        self.insert_persons_as(&ids, persons).await?;
        Ok(ids)
    }
    /// Draws `n` ids for person records this transaction will insert with
    /// [`WriteTx::insert_persons_as`], so that an import can give records
    /// their ids before it writes them (and prepare one batch while the last
    /// is written). No other record gets them; those left unused are gaps.
    async fn reserve_person_ids(&mut self, n: usize) -> Result<Vec<i64>>;
    /// Insert person records with ids drawn by [`WriteTx::reserve_person_ids`]
    /// (`ids[i]` is the id of `persons[i]`).
    async fn insert_persons_as(&mut self, ids: &[i64], persons: &[NewPerson]) -> Result<()>;
    async fn update_person(&mut self, id: i64, person: &NewPerson) -> Result<()>;
    /// Merge person record `merged` into `keep`: `merged` stays, marked as
    /// merged, and its cases and contacts point at `keep`.
    async fn merge_person(&mut self, keep: i64, merged: i64) -> Result<()>;
    /// Insert new cases (opening, history, sources); a case id already stored
    /// is a [`StoreError::Conflict`] naming it. Returns the keys given, in order.
    async fn insert_cases(&mut self, cases: &[CaseEntry]) -> Result<Vec<i64>>;
    /// Store a case's new state and the history records after
    /// `expected_version`; a [`StoreError::Conflict`] when the stored version
    /// is not `expected_version` (someone else changed it first).
    async fn update_case(&mut self, case: &CaseEntry, expected_version: u32) -> Result<()>;
    /// Insert new contacts (links, follow-ups); an id already stored is a
    /// [`StoreError::Conflict`]. Returns the keys given, in order.
    async fn insert_contacts(&mut self, contacts: &[ContactEntry]) -> Result<Vec<i64>>;
    /// Replace a contact's state (links, follow-ups, conversion) with
    /// `contact.version`; a [`StoreError::Conflict`] when the stored version is
    /// not `contact.version - 1`.
    async fn update_contact(&mut self, contact: &ContactEntry) -> Result<()>;
    /// [`CaseStore::persons_matching`] inside this transaction: its own
    /// records are among those found.
    async fn persons_matching(
        &mut self,
        id_numbers: &[String],
        phones: &[String],
        names: &[String],
    ) -> Result<Vec<StoredPerson>>;
    /// Bulk loading (PostgreSQL's "remove indexes" advice): drops the
    /// non-unique indexes of the person table (its matching keys, inserted
    /// at random places) and of the contact table (its paths) inside this
    /// transaction, for [`WriteTx::restore_indexes`] to build again from
    /// sorted keys once the rows are in; commit builds them if it was not
    /// called, and a rollback brings them back as they were. Unique keys and
    /// the other tables keep theirs. Meanwhile this transaction's reads of
    /// those tables scan them; on PostgreSQL other sessions' reads of them
    /// wait for the commit (SQLite's readers go on with the last commit).
    /// Returns how many indexes it dropped.
    async fn suspend_line_list_indexes(&mut self) -> Result<usize>;
    /// Builds the indexes [`WriteTx::suspend_line_list_indexes`] dropped.
    async fn restore_indexes(&mut self) -> Result<()>;
    /// Add candidate pairs (a pair already listed is left as it is).
    async fn insert_match_candidates(&mut self, candidates: &[MatchCandidate]) -> Result<()>;
    async fn decide_match(
        &mut self,
        id: i64,
        status: MatchStatus,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Mark the transmission graph as changed (links, conversions, merges).
    async fn bump_graph_generation(&mut self) -> Result<()>;

    /// The latest version of a release, read in this transaction.
    async fn latest_release(
        &mut self,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Option<Release>>;
    /// Store a new version of a release with the errata against the version
    /// before; a version already stored is a [`StoreError::Conflict`].
    async fn insert_release(&mut self, release: &Release, errata: &[Erratum]) -> Result<()>;

    /// Store a directive and its targets as issued; returns its id.
    async fn insert_directive(&mut self, directive: &NewDirective) -> Result<i64>;
    /// Store a target's next state; a [`StoreError::Conflict`] when its
    /// stored status is not `expected` (someone else moved it first).
    async fn update_target(
        &mut self,
        target: &StoredTarget,
        expected: fangkong_domain::task::TargetStatus,
    ) -> Result<()>;
    /// Store a tip; returns its id.
    async fn insert_tip(&mut self, tip: &NewTip) -> Result<i64>;
    /// Mark an open tip handled; a [`StoreError::Conflict`] when it is not open.
    async fn handle_tip(
        &mut self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
        note: Option<&fangkong_domain::task::Note>,
    ) -> Result<()>;

    async fn commit(self: Box<Self>) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_tree_is_read_from_its_transfer_text() {
        let text = "000000\t\t0\t6\t中国\n420000\t000000\t1\t11\t湖北\t省\n\n9\t000000\t1\t0\t\n";
        let tree = RegionTree::parse(7, text.to_owned()).expect("parse");
        assert_eq!(tree.generation, 7);
        let rows: Vec<(&str, Option<&str>, Level, &str)> = tree
            .rows()
            .iter()
            .map(|r| (tree.code(r), tree.parent(r), r.level, tree.name(r)))
            .collect();
        assert_eq!(
            rows,
            [
                ("000000", None, Level::Nation, "中国"),
                ("420000", Some("000000"), Level::Province, "湖北\t省\n"),
                ("9", Some("000000"), Level::Province, ""),
            ]
        );
        assert!(RegionTree::parse(0, String::new())
            .expect("empty")
            .is_empty());
        for bad in [
            "000000\t\t0\t6\t中国",
            "000000\t\t0\t5\t中国\n",
            "000000\t\t9\t6\t中国\n",
            "\t\t0\t0\t\n",
            "000000\t\t0",
        ] {
            assert!(RegionTree::parse(0, bad.to_owned()).is_err(), "{bad:?}");
        }
    }
}
