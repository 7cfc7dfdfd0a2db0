//! The audit chain (R11) and the verification of both chains (Principle 2).

use chrono::{DateTime, Utc};
use serde_json::Value;

use fangkong_domain::audit::AuditEntry;
use fangkong_domain::chain::{Hash, Verdict};
use fangkong_domain::report::now_millis;
use std::collections::HashMap;

use fangkong_domain::form::{Form, Values};
use fangkong_domain::region::RegionCode;
use fangkong_store::{
    case_state_cells, contact_state_cells, Chain, ChainHead, Witness, WriteTx, CASE_STATE_COLUMNS,
    CONTACT_STATE_COLUMNS,
};

use crate::regions::RegionIndex;

use crate::{Principal, Result, Service, ServiceError};

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

/// The outcome of walking both chains and checking what is derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub reports: Verdict,
    pub audit: Verdict,
    /// Every stored roll-up against the sum of its current reports.
    pub rollups: Derived,
    /// Every case's and contact's current-state columns against the replay of its history.
    pub line_list: Derived,
    /// What the chains were compared with beyond their stored heads: the
    /// last release that witnessed them, a head file.
    pub witnesses: Vec<String>,
    pub checked_at: DateTime<Utc>,
}

impl ChainCheck {
    pub fn intact(&self) -> bool {
        matches!(self.reports, Verdict::Intact { .. })
            && matches!(self.audit, Verdict::Intact { .. })
            && matches!(self.rollups, Derived::Agrees { .. })
            && matches!(self.line_list, Derived::Agrees { .. })
    }
}

/// Stored rows derived from others (roll-ups from reports, a case's current
/// state from its history) compared with a recomputation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Derived {
    /// Every row agrees; `rows` were compared.
    Agrees { rows: u64 },
    /// The first row that does not: which row, and how it differs.
    Differs { row: String, reason: String },
}

/// Where the chains were witnessed: the heads, and who saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenHeads {
    pub heads: Witness,
    /// "the release of 000000 for 2020-01-25 (version 1)", "the head file".
    pub by: String,
}

const PAGE: u32 = 20_000;

/// Walks one chain: contiguous sequence numbers, each hash fitting its
/// predecessor, the end matching the stored head, and each witnessed
/// entry still the one that was witnessed.
struct Walk<'a> {
    prev_seq: i64,
    prev_hash: Hash,
    entries: u64,
    /// `(seq, hash, by)` of what witnesses saw of this chain.
    seen: Vec<(i64, Hash, &'a str)>,
}

impl<'a> Walk<'a> {
    fn new(seen: Vec<(i64, Hash, &'a str)>) -> Walk<'a> {
        Walk {
            prev_seq: 0,
            prev_hash: Hash::GENESIS,
            entries: 0,
            seen,
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
        if let Some((_, _, by)) = self.seen.iter().find(|(s, h, _)| *s == seq && *h != hash) {
            return Some(Verdict::Broken {
                seq,
                reason: format!(
                    "entry {seq} is not the one {by} witnessed: entries after seq {} were removed and others written in their place",
                    seq - 1
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
        if let Some((seq, _, by)) = self
            .seen
            .iter()
            .filter(|(s, _, _)| *s > self.prev_seq)
            .max_by_key(|(s, _, _)| *s)
        {
            return Verdict::Broken {
                seq: self.prev_seq + 1,
                reason: format!(
                    "the chain ends at entry {} but {by} witnessed entry {seq}: entries after seq {} were removed",
                    self.prev_seq, self.prev_seq
                ),
            };
        }
        Verdict::Intact {
            entries: self.entries,
        }
    }
}

impl Service {
    /// Recompute both chains from their first entry; name the first entry
    /// that does not fit. Also compare them with the last release that
    /// witnessed them, and check the roll-ups and the line list against
    /// what they are derived from.
    pub async fn verify_chains(&self, who: &Principal) -> Result<ChainCheck> {
        self.verify_all(who, None).await
    }

    /// [`Service::verify_chains`], comparing the chains with the heads of a
    /// head file too ([`Service::witness`] wrote them).
    pub async fn verify_all(&self, who: &Principal, file: Option<Witness>) -> Result<ChainCheck> {
        who.require(fangkong_domain::policy::Action::ReadAudit)?;
        let mut seen = Vec::new();
        if let Some(r) = self.store.last_witness().await? {
            if let Some(heads) = r.witness {
                seen.push(SeenHeads {
                    heads,
                    by: format!(
                        "the release of {} for {} (version {}, published {})",
                        r.region,
                        r.date,
                        r.version,
                        r.published_at.to_rfc3339()
                    ),
                });
            }
        }
        if let Some(heads) = file {
            seen.push(SeenHeads {
                heads,
                by: "the head file".to_owned(),
            });
        }
        let t0 = std::time::Instant::now();
        let reports = self
            .verify_report_chain(
                seen.iter()
                    .map(|s| (s.heads.report.seq, s.heads.report.hash, s.by.as_str()))
                    .collect(),
            )
            .await?;
        let audit = self
            .verify_audit_chain(
                seen.iter()
                    .map(|s| (s.heads.audit.seq, s.heads.audit.hash, s.by.as_str()))
                    .collect(),
            )
            .await?;
        tracing::info!(elapsed = ?t0.elapsed(), "chains verified");
        let t0 = std::time::Instant::now();
        let rollups = self.verify_rollups().await?;
        tracing::info!(elapsed = ?t0.elapsed(), "roll-ups verified");
        let t0 = std::time::Instant::now();
        let line_list = self.verify_line_list().await?;
        tracing::info!(elapsed = ?t0.elapsed(), "line list verified");
        Ok(ChainCheck {
            reports,
            audit,
            rollups,
            line_list,
            witnesses: seen.into_iter().map(|s| s.by).collect(),
            checked_at: now_millis(),
        })
    }

    /// The heads of both chains now, for a head file kept outside the
    /// database (national level).
    pub async fn witness(&self, who: &Principal) -> Result<Witness> {
        who.require(fangkong_domain::policy::Action::ReadAudit)?;
        Ok(Witness {
            report: self.store.chain_head(Chain::Report).await?,
            audit: self.store.chain_head(Chain::Audit).await?,
        })
    }

    async fn verify_report_chain(&self, seen: Vec<(i64, Hash, &str)>) -> Result<Verdict> {
        let head = self.store.chain_head(Chain::Report).await?;
        let mut walk = Walk::new(seen);
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

    async fn verify_audit_chain(&self, seen: Vec<(i64, Hash, &str)>) -> Result<Verdict> {
        let head = self.store.chain_head(Chain::Audit).await?;
        let mut walk = Walk::new(seen);
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

    /// Every stored roll-up against the sum of its current reports, form by
    /// form and day by day, by the filing rule: a region's current values
    /// count in each ancestor's roll-up up to and including the first
    /// ancestor with its own report. The first wrong row (by day, then from
    /// the top of the tree) is named.
    async fn verify_rollups(&self) -> Result<Derived> {
        let Some(index) = self.region_index.current(&self.store, true).await? else {
            return Ok(Derived::Agrees { rows: 0 });
        };
        let mut rows = 0u64;
        for form in &self.forms {
            for date in self.store.report_days(&form.name).await? {
                let (reports, stored) = tokio::try_join!(
                    self.store.day_reports(&form.name, date),
                    self.store.day_rollups(&form.name, date)
                )?;
                let found = {
                    let index = index.clone();
                    let form = form.clone();
                    tokio::task::spawn_blocking(move || {
                        compare_rollups(&index, &form, date, &reports, &stored)
                    })
                    .await
                    .map_err(|e| ServiceError::Internal(anyhow::anyhow!(e)))?
                };
                match found {
                    Ok(n) => rows += n,
                    Err(differs) => return Ok(differs),
                }
            }
        }
        Ok(Derived::Agrees { rows })
    }

    /// Every case's current-state columns against the replay of its opening
    /// and history, and every contact's derived columns against its
    /// records; the first wrong row is named.
    async fn verify_line_list(&self) -> Result<Derived> {
        let mut rows = 0u64;
        let mut after = 0;
        loop {
            let page = self.store.case_states(after, 5_000).await?;
            let Some(last) = page.last() else { break };
            after = last.key;
            let keys: Vec<i64> = page.iter().map(|r| r.key).collect();
            let cases: HashMap<i64, _> = self
                .store
                .cases_by_keys(&keys)
                .await?
                .into_iter()
                .map(|c| (c.key, c))
                .collect();
            for row in &page {
                let Some(case) = cases.get(&row.key) else {
                    continue; // (not the line list's: a case without its person record)
                };
                let expected = case_state_cells(&case.entry.case);
                if let Some(d) = first_difference(&CASE_STATE_COLUMNS, &row.cells, &expected) {
                    return Ok(Derived::Differs {
                        row: format!("case_file {} (key {})", case.entry.case.id(), row.key),
                        reason: d,
                    });
                }
                rows += 1;
            }
        }
        let mut after = 0;
        loop {
            let page = self.store.contact_states(after, 5_000).await?;
            let Some(last) = page.last() else { break };
            after = last.key;
            let keys: Vec<i64> = page.iter().map(|r| r.key).collect();
            let contacts: HashMap<i64, _> = self
                .store
                .contacts_by_keys(&keys)
                .await?
                .into_iter()
                .map(|c| (c.key, c))
                .collect();
            for row in &page {
                let Some(contact) = contacts.get(&row.key) else {
                    continue;
                };
                let expected = contact_state_cells(&contact.entry);
                if let Some(d) = first_difference(&CONTACT_STATE_COLUMNS, &row.cells, &expected) {
                    return Ok(Derived::Differs {
                        row: format!("contact {} (key {})", contact.entry.contact.id(), row.key),
                        reason: d,
                    });
                }
                rows += 1;
            }
        }
        Ok(Derived::Agrees { rows })
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

/// The first column whose stored text differs from the replay's.
fn first_difference(
    columns: &[&str],
    stored: &[Option<String>],
    expected: &[Option<String>],
) -> Option<String> {
    let show = |c: Option<&String>| c.map_or_else(|| "NULL".to_owned(), |s| format!("{s:?}"));
    columns
        .iter()
        .zip(stored.iter().zip(expected))
        .find(|(_, (s, e))| s != e)
        .map(|(c, (s, e))| {
            format!(
                "column {c} holds {} but the replay of its history gives {}",
                show(s.as_ref()),
                show(e.as_ref())
            )
        })
}

/// One day's stored roll-ups of a form against the sums of its current
/// reports: the rows compared, or the first wrong one (from the top of the
/// tree, then by code).
fn compare_rollups(
    index: &RegionIndex,
    form: &Form,
    date: chrono::NaiveDate,
    reports: &[(RegionCode, Values)],
    stored: &[(RegionCode, Values)],
) -> std::result::Result<u64, Derived> {
    let differs = |region: &str, reason: String| Derived::Differs {
        row: format!("rollup {} {region} {date}", form.name),
        reason,
    };
    let mut own: HashMap<u32, Values> = HashMap::with_capacity(reports.len());
    for (code, v) in reports {
        let Some(id) = index.find(code.as_str()) else {
            return Err(Derived::Differs {
                row: format!("report {} {code} {date}", form.name),
                reason: "its region is not in the region tree".into(),
            });
        };
        own.insert(id, *v);
    }
    let mut expected: HashMap<u32, Values> = HashMap::new();
    for (id, v) in &own {
        for a in index.ancestors(*id) {
            let sum = expected.entry(a).or_default();
            *sum = sum.plus(v).map_err(|o| {
                differs(
                    index.code(a),
                    format!(
                        "{}: the sum of its reports leaves the integer range",
                        form.slot_name(o.slot)
                    ),
                )
            })?;
            if own.contains_key(&a) {
                break;
            }
        }
    }
    let mut wrong: Vec<(u32, String)> = Vec::new();
    let mut stored_ids: HashMap<u32, Values> = HashMap::with_capacity(stored.len());
    for (code, v) in stored {
        match index.find(code.as_str()) {
            Some(id) => {
                stored_ids.insert(id, *v);
            }
            None => {
                return Err(differs(
                    code.as_str(),
                    "its region is not in the region tree".into(),
                ));
            }
        }
    }
    for (id, v) in &stored_ids {
        match expected.get(id) {
            None => wrong.push((
                *id,
                "is stored, but no report below it counts in it".to_owned(),
            )),
            Some(e) if e != v => {
                let slot = (0..v.0.len()).find(|i| v.0[*i] != e.0[*i]).unwrap_or(0);
                wrong.push((
                    *id,
                    format!(
                        "{} is {} but its reports sum to {}",
                        form.slot_name(slot),
                        v.0[slot],
                        e.0[slot]
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    for id in expected.keys() {
        if !stored_ids.contains_key(id) {
            wrong.push((
                *id,
                "is missing, but reports below it count in it".to_owned(),
            ));
        }
    }
    match wrong.into_iter().min_by(|a, b| {
        (index.level(a.0), index.code(a.0)).cmp(&(index.level(b.0), index.code(b.0)))
    }) {
        Some((id, reason)) => Err(differs(index.code(id), reason)),
        None => Ok(stored_ids.len() as u64),
    }
}
