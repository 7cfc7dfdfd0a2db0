//! The audit chain (R11) and the verification of both chains (Principle 2).

use chrono::{DateTime, Utc};
use serde_json::Value;

use fangkong_domain::audit::AuditEntry;
use fangkong_domain::chain::{Hash, Verdict};
use fangkong_domain::report::now_millis;
use fangkong_store::{Chain, ChainHead, WriteTx};

use crate::{Principal, Result, Service};

/// Append one entry to the audit chain inside `tx`.
pub(crate) async fn append_audit(
    tx: &mut dyn WriteTx,
    actor: &str,
    action: &str,
    entity: &str,
    entity_key: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<AuditEntry> {
    let head = tx.chain_head(Chain::Audit).await?;
    let mut entry = AuditEntry {
        seq: head.seq + 1,
        at: now_millis(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        entity: entity.to_owned(),
        entity_key: entity_key.to_owned(),
        before: before.map(|v| v.to_string()),
        after: after.map(|v| v.to_string()),
        hash: Hash::GENESIS,
    };
    entry.seal(&head.hash);
    tx.append_audit(&entry).await?;
    tx.set_chain_head(
        Chain::Audit,
        ChainHead {
            seq: entry.seq,
            hash: entry.hash,
        },
    )
    .await?;
    Ok(entry)
}

/// The outcome of walking both chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub reports: Verdict,
    pub audit: Verdict,
    pub checked_at: DateTime<Utc>,
}

impl ChainCheck {
    pub fn intact(&self) -> bool {
        matches!(self.reports, Verdict::Intact { .. })
            && matches!(self.audit, Verdict::Intact { .. })
    }
}

const PAGE: u32 = 20_000;

/// Walks one chain: contiguous sequence numbers, each hash fitting its
/// predecessor, and the end matching the stored head.
struct Walk {
    prev_seq: i64,
    prev_hash: Hash,
    entries: u64,
}

impl Walk {
    fn new() -> Walk {
        Walk {
            prev_seq: 0,
            prev_hash: Hash::GENESIS,
            entries: 0,
        }
    }

    fn step(&mut self, seq: i64, fits: bool, hash: Hash) -> Option<Verdict> {
        if seq != self.prev_seq + 1 {
            return Some(Verdict::Broken {
                seq: self.prev_seq + 1,
                reason: format!(
                    "entry {} is missing (the next stored entry is {seq})",
                    self.prev_seq + 1
                ),
            });
        }
        if !fits {
            return Some(Verdict::Broken {
                seq,
                reason: format!(
                    "entry {seq} does not match its hash: it was changed after it was written"
                ),
            });
        }
        self.prev_seq = seq;
        self.prev_hash = hash;
        self.entries += 1;
        None
    }

    fn finish(self, head: ChainHead) -> Verdict {
        if head.seq != self.prev_seq || head.hash != self.prev_hash {
            return Verdict::Broken {
                seq: self.prev_seq + 1,
                reason: format!(
                    "the chain ends at entry {} but its head says {}: entries were removed",
                    self.prev_seq, head.seq
                ),
            };
        }
        Verdict::Intact {
            entries: self.entries,
        }
    }
}

impl Service {
    /// Recompute both chains from their first entry; name the first entry that does not fit.
    pub async fn verify_chains(&self, who: &Principal) -> Result<ChainCheck> {
        who.require(fangkong_domain::policy::Action::ReadAudit)?;
        let reports = self.verify_report_chain().await?;
        let audit = self.verify_audit_chain().await?;
        Ok(ChainCheck {
            reports,
            audit,
            checked_at: now_millis(),
        })
    }

    async fn verify_report_chain(&self) -> Result<Verdict> {
        let head = self.store.chain_head(Chain::Report).await?;
        let mut walk = Walk::new();
        loop {
            let page = self.store.report_chain(walk.prev_seq, PAGE).await?;
            if page.is_empty() {
                return Ok(walk.finish(head));
            }
            for v in &page {
                if let Some(broken) = walk.step(v.seq, v.fits_after(&walk.prev_hash), v.hash) {
                    return Ok(broken);
                }
            }
        }
    }

    async fn verify_audit_chain(&self) -> Result<Verdict> {
        let head = self.store.chain_head(Chain::Audit).await?;
        let mut walk = Walk::new();
        loop {
            let page = self.store.audit_chain(walk.prev_seq, PAGE).await?;
            if page.is_empty() {
                return Ok(walk.finish(head));
            }
            for e in &page {
                if let Some(broken) = walk.step(e.seq, e.fits_after(&walk.prev_hash), e.hash) {
                    return Ok(broken);
                }
            }
        }
    }

    /// The newest audit entries, optionally for one entity key. National level only:
    /// entries carry before/after states from every jurisdiction.
    pub async fn audit_recent(
        &self,
        who: &Principal,
        entity_key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        who.require(fangkong_domain::policy::Action::ReadAudit)?;
        Ok(self.store.audit_recent(entity_key, limit.min(1000)).await?)
    }
}
