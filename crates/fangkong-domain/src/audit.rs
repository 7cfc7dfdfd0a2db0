//! The audit trail (R11): who changed what, when, with the state before and
//! after. Entries form a hash chain like report versions do.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::chain::{self, Hash};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The username, or `system` for the program itself.
    pub actor: String,
    /// What was done: `report.file`, `report.correct`, `report.import`, `user.add`, …
    pub action: String,
    /// The kind of thing changed: `report`, `user`, `region`, …
    pub entity: String,
    /// Which one, e.g. `grid/420102001001/2020-01-25`.
    pub entity_key: String,
    /// The state before and after, as JSON text; `None` where there was none.
    pub before: Option<String>,
    pub after: Option<String>,
    pub hash: Hash,
}

impl AuditEntry {
    pub fn canonical(&self) -> Vec<u8> {
        format!(
            "audit|{}|{}|{}|{}|{}|{}|{}|{}",
            self.seq,
            self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.actor,
            self.action,
            self.entity,
            self.entity_key,
            self.before.as_deref().unwrap_or("-"),
            self.after.as_deref().unwrap_or("-"),
        )
        .into_bytes()
    }

    pub fn seal(&mut self, prev: &Hash) {
        self.hash = chain::link(prev, &self.canonical());
    }

    pub fn fits_after(&self, prev: &Hash) -> bool {
        chain::link(prev, &self.canonical()) == self.hash
    }
}
