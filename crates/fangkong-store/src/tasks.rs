//! Records of directives and the public tip line (R10, R11). Alerts, the
//! third kind of task, stay where they are ([`crate::AnalyticsStore`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use fangkong_domain::region::RegionCode;
use fangkong_domain::task::{DirectiveText, Note, Target, TipContact, TipStatus, TipText};

use crate::Result;

/// A directive to store, with its targets as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDirective {
    pub text: DirectiveText,
    pub deadline: DateTime<Utc>,
    pub issuer_region: RegionCode,
    /// The issuer region's path: who sees the directive as issued in their jurisdiction.
    pub issuer_path: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    /// Each target region and its path.
    pub targets: Vec<(RegionCode, String)>,
}

/// A stored directive, without its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveRow {
    pub id: i64,
    pub text: DirectiveText,
    pub deadline: DateTime<Utc>,
    pub issuer_region: RegionCode,
    pub issuer_path: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
}

/// One target of a stored directive: its region's path and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTarget {
    pub directive_id: i64,
    pub path: String,
    pub target: Target,
}

/// A stored directive and its targets, by region code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDirective {
    pub directive: DirectiveRow,
    pub targets: Vec<StoredTarget>,
}

/// Which directives to list: those issued in the subtree at `path`, or with
/// a target in it; newest first.
#[derive(Debug, Clone)]
pub struct DirectiveFilter {
    pub path: String,
    pub limit: u32,
}

/// Which directive targets to list: the targets in the subtree at `path`,
/// only those not completed when `open_only`; by deadline, earliest first.
#[derive(Debug, Clone)]
pub struct TargetFilter {
    pub path: String,
    pub open_only: bool,
    pub limit: u32,
}

/// A tip to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTip {
    /// Where it happened.
    pub region: RegionCode,
    /// The unit responsible ([`fangkong_domain::task::responsible_unit`]) and its path.
    pub responsible: RegionCode,
    pub responsible_path: String,
    pub what: TipText,
    /// Personal data: only the responsible unit reads it.
    pub contact: Option<TipContact>,
    pub received_at: DateTime<Utc>,
}

/// A stored tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTip {
    pub id: i64,
    pub region: RegionCode,
    pub responsible: RegionCode,
    pub responsible_path: String,
    pub what: TipText,
    pub contact: Option<TipContact>,
    pub received_at: DateTime<Utc>,
    pub status: TipStatus,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
    pub note: Option<Note>,
}

/// Which tips to list: those whose responsible unit is the region at `path`
/// (or lies below it, when `subtree`), in these states (all when empty);
/// oldest first.
#[derive(Debug, Clone)]
pub struct TipFilter {
    pub path: String,
    pub subtree: bool,
    pub statuses: Vec<TipStatus>,
    pub limit: u32,
}

/// Directives and tips. Writes are in [`crate::WriteTx`]: `insert_directive`,
/// `update_target`, `insert_tip`, `handle_tip`.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// A directive and all its targets.
    async fn directive(&self, id: i64) -> Result<Option<StoredDirective>>;
    /// Directives issued in or for a subtree, each with all its targets.
    async fn directives(&self, filter: &DirectiveFilter) -> Result<Vec<StoredDirective>>;
    /// Targets in a subtree with their directives.
    async fn directive_targets(
        &self,
        filter: &TargetFilter,
    ) -> Result<Vec<(DirectiveRow, StoredTarget)>>;
    async fn tip(&self, id: i64) -> Result<Option<StoredTip>>;
    async fn tips(&self, filter: &TipFilter) -> Result<Vec<StoredTip>>;
}
