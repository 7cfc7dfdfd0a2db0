//! Directives, the public tip line and the task list (R10, R11).
//!
//! A command level issues a directive to units below it; each target unit
//! acknowledges it and reports completion; the issuer sees who has not. A
//! tip from the public becomes a task of the unit responsible for the place
//! (the county, or the place itself above county level). A unit's task
//! list holds its directive targets, its tips and the alerts not yet closed
//! in its jurisdiction, earliest due (or oldest) first.
//!
//! Jurisdiction: a directive is seen by whoever covers its issuer (with all
//! targets) or one of its targets (with the targets they cover); a target is
//! moved by a user who covers it; a tip is seen and handled by whoever covers
//! its responsible unit, and its contact (personal data) is shown to that
//! unit only. Outside the jurisdiction, things read as not found. Every
//! write commits with its audit entry; the audit never holds a tip's text or
//! contact.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use fangkong_domain::alert::AlertStatus;
use fangkong_domain::region::{Region, RegionCode};
use fangkong_domain::report::{now_millis, truncate_millis};
use fangkong_domain::task::{
    check_directive, check_handle_tip, overdue, responsible_unit, DirectiveText, Note, TargetEvent,
    TargetStatus, TaskKind, TipContact, TipStatus, TipText,
};
use fangkong_domain::FieldError;
use fangkong_store::{
    Alert, AlertFilter, DirectiveFilter, DirectiveRow, NewDirective, NewTip, StoredDirective,
    StoredTarget, StoredTip, TargetFilter, TipFilter,
};

use crate::audit::append_audit;
use crate::{Principal, Result, Service, ServiceError};
use fangkong_domain::policy::Action;

/// The most items of each kind a list returns.
pub const LIST_LIMIT: u32 = 1000;

/// One target of a directive as a viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetView {
    pub stored: StoredTarget,
    pub name: String,
    pub overdue: bool,
}

/// How far a directive's targets (those the viewer sees) have got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetCounts {
    pub total: u64,
    pub acknowledged: u64,
    pub completed: u64,
    pub overdue: u64,
}

/// A directive as a viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveView {
    pub directive: DirectiveRow,
    pub issuer_name: String,
    /// Whether the viewer covers the issuer (and so sees every target).
    pub issuer_side: bool,
    pub targets: Vec<TargetView>,
    pub counts: TargetCounts,
}

impl DirectiveView {
    /// The targets that have not acknowledged (nor completed).
    pub fn not_acknowledged(&self) -> impl Iterator<Item = &TargetView> {
        self.targets
            .iter()
            .filter(|t| t.stored.target.status == TargetStatus::Issued)
    }

    /// The targets that have not completed.
    pub fn not_completed(&self) -> impl Iterator<Item = &TargetView> {
        self.targets
            .iter()
            .filter(|t| t.stored.target.status != TargetStatus::Completed)
    }
}

/// What the public line answers: the tip's number and the unit it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TipReceipt {
    pub id: i64,
    pub responsible: Region,
    pub received_at: DateTime<Utc>,
}

/// A tip as a unit sees it: the contact only for the responsible unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TipView {
    pub tip: StoredTip,
    pub region_name: String,
    pub responsible_name: String,
}

/// One item of the task list.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskItem {
    Directive {
        directive: DirectiveRow,
        target: StoredTarget,
    },
    Tip(TipView),
    Alert(Alert),
}

/// An item of the task list, with what it is sorted by.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub kind: TaskKind,
    /// The region the task is for (the target, the responsible unit, the alert's region).
    pub region: RegionCode,
    pub region_name: String,
    /// The deadline, for directives.
    pub due: Option<DateTime<Utc>>,
    /// When the task arose: issued, received, raised.
    pub since: DateTime<Utc>,
    pub overdue: bool,
    pub item: TaskItem,
}

/// Whether a region at `path` lies in the principal's jurisdiction.
fn covers_path(who: &Principal, path: &str) -> bool {
    path.starts_with(&who.region.path)
}

impl Service {
    /// Names of regions by code (unknown codes are left out).
    async fn region_names(&self, codes: Vec<RegionCode>) -> Result<HashMap<RegionCode, String>> {
        let mut codes = codes;
        codes.sort_unstable();
        codes.dedup();
        Ok(self
            .store
            .regions(&codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect())
    }

    /// A stored directive as `who` sees it; `None` when it is outside their jurisdiction.
    async fn view_directives(
        &self,
        who: &Principal,
        stored: Vec<StoredDirective>,
    ) -> Result<Vec<DirectiveView>> {
        let mut codes = Vec::new();
        for d in &stored {
            codes.push(d.directive.issuer_region.clone());
            codes.extend(d.targets.iter().map(|t| t.target.region.clone()));
        }
        let names = self.region_names(codes).await?;
        let name = |c: &RegionCode| names.get(c).cloned().unwrap_or_default();
        let now = Utc::now();
        let mut out = Vec::with_capacity(stored.len());
        for d in stored {
            let issuer_side = covers_path(who, &d.directive.issuer_path);
            let targets: Vec<TargetView> = d
                .targets
                .into_iter()
                .filter(|t| issuer_side || covers_path(who, &t.path))
                .map(|t| TargetView {
                    name: name(&t.target.region),
                    overdue: overdue(t.target.status, d.directive.deadline, now),
                    stored: t,
                })
                .collect();
            if !issuer_side && targets.is_empty() {
                continue;
            }
            let mut counts = TargetCounts::default();
            for t in &targets {
                counts.total += 1;
                counts.acknowledged += u64::from(t.stored.target.status != TargetStatus::Issued);
                counts.completed += u64::from(t.stored.target.status == TargetStatus::Completed);
                counts.overdue += u64::from(t.overdue);
            }
            out.push(DirectiveView {
                issuer_name: name(&d.directive.issuer_region),
                directive: d.directive,
                issuer_side,
                targets,
                counts,
            });
        }
        Ok(out)
    }

    /// Issue a directive from `who`'s region to regions strictly below it.
    /// `who` must be a command level (national, provincial, city, county).
    pub async fn issue_directive(
        &self,
        who: &Principal,
        text: &str,
        deadline: DateTime<Utc>,
        targets: &[String],
    ) -> Result<DirectiveView> {
        who.require(Action::IssueDirectives)?;
        let text = DirectiveText::parse(text)?;
        let mut regions = Vec::with_capacity(targets.len());
        for code in targets {
            match self.region(code).await {
                Ok(r) => regions.push(r),
                Err(ServiceError::NotFound(_)) | Err(ServiceError::Invalid(_)) => {
                    return Err(FieldError::new(
                        "targets",
                        format!("{:?} is not a known region", code.trim()),
                    )
                    .into())
                }
                Err(e) => return Err(e),
            }
        }
        let issued_at = now_millis();
        let deadline = truncate_millis(deadline);
        check_directive(who.role, &who.region, &regions, issued_at, deadline)?;
        let new = NewDirective {
            text,
            deadline,
            issuer_region: who.region.code.clone(),
            issuer_path: who.region.path.clone(),
            issued_by: who.username.clone(),
            issued_at,
            targets: regions
                .iter()
                .map(|r| (r.code.clone(), r.path.clone()))
                .collect(),
        };
        let mut tx = self.store.begin().await?;
        let id = tx.insert_directive(&new).await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "directive.issue",
            "directive",
            &format!("directive/{id}"),
            None,
            Some(json!({
                "issuer_region": new.issuer_region.as_str(),
                "text": new.text.as_str(),
                "deadline": new.deadline,
                "targets": regions.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
            })),
        )
        .await?;
        tx.commit().await?;
        self.directive(who, id).await
    }

    /// One directive, as `who` sees it.
    pub async fn directive(&self, who: &Principal, id: i64) -> Result<DirectiveView> {
        who.require(Action::WorkTasks)?;
        let not_found = || ServiceError::NotFound(format!("directive {id}"));
        let stored = self.store.directive(id).await?.ok_or_else(not_found)?;
        self.view_directives(who, vec![stored])
            .await?
            .pop()
            .ok_or_else(not_found)
    }

    /// Directives issued in `who`'s jurisdiction or to units in it, newest
    /// first, each with its counts and the targets that have not answered.
    pub async fn directives(&self, who: &Principal, limit: u32) -> Result<Vec<DirectiveView>> {
        who.require(Action::WorkTasks)?;
        let stored = self
            .store
            .directives(&DirectiveFilter {
                path: who.region.path.clone(),
                limit: limit.clamp(1, LIST_LIMIT),
            })
            .await?;
        self.view_directives(who, stored).await
    }

    /// The target unit has seen the directive and is acting on it.
    pub async fn acknowledge_target(
        &self,
        who: &Principal,
        directive_id: i64,
        region: &str,
    ) -> Result<DirectiveView> {
        let event = TargetEvent::Acknowledge {
            by: who.username.clone(),
            at: now_millis(),
        };
        self.move_target(who, directive_id, region, event).await
    }

    /// The target unit reports the directive done, with what was done.
    pub async fn complete_target(
        &self,
        who: &Principal,
        directive_id: i64,
        region: &str,
        note: &str,
    ) -> Result<DirectiveView> {
        let note = if note.trim().is_empty() {
            None
        } else {
            Some(Note::parse(note)?)
        };
        let event = TargetEvent::Complete {
            by: who.username.clone(),
            at: now_millis(),
            note,
        };
        self.move_target(who, directive_id, region, event).await
    }

    async fn move_target(
        &self,
        who: &Principal,
        directive_id: i64,
        region: &str,
        event: TargetEvent,
    ) -> Result<DirectiveView> {
        who.require(Action::WorkTasks)?;
        let not_found = || {
            ServiceError::NotFound(format!(
                "target {} of directive {directive_id}",
                region.trim()
            ))
        };
        let region = match self.region(region).await {
            Ok(r) => r,
            Err(ServiceError::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        // out of jurisdiction reads as not found: no hint that it exists
        if !who.covers(&region) {
            return Err(not_found());
        }
        let stored = self
            .store
            .directive(directive_id)
            .await?
            .ok_or_else(not_found)?;
        let current = stored
            .targets
            .into_iter()
            .find(|t| t.target.region == region.code)
            .ok_or_else(not_found)?;
        let next = StoredTarget {
            target: current.target.apply(&event, stored.directive.issued_at)?,
            ..current.clone()
        };
        let mut tx = self.store.begin().await?;
        tx.update_target(&next, current.target.status).await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            &format!("directive.{}", event.name()),
            "directive_target",
            &format!("directive/{directive_id}/{}", region.code),
            Some(json!({ "status": current.target.status.name() })),
            Some(json!({
                "status": next.target.status.name(),
                "note": next.target.note.as_ref().map(Note::as_str),
            })),
        )
        .await?;
        tx.commit().await?;
        self.directive(who, directive_id).await
    }

    /// A tip from the public line: no sign-in. It becomes a task of the unit
    /// responsible for `region`. The contact is kept for that unit only.
    pub async fn submit_tip(
        &self,
        what: &str,
        region: &str,
        contact: Option<&str>,
    ) -> Result<TipReceipt> {
        let what = TipText::parse(what)?;
        let contact = match contact.map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(TipContact::parse(c)?),
        };
        let place = match self.region(region).await {
            Ok(r) => r,
            Err(ServiceError::NotFound(_)) => {
                return Err(FieldError::new(
                    "region",
                    format!("{:?} is not a known region", region.trim()),
                )
                .into())
            }
            Err(ServiceError::Invalid(e)) => return Err(FieldError::new("region", e.reason).into()),
            Err(e) => return Err(e),
        };
        let (responsible, responsible_path) = responsible_unit(&place);
        let tip = NewTip {
            region: place.code.clone(),
            responsible: responsible.clone(),
            responsible_path,
            what,
            contact,
            received_at: now_millis(),
        };
        let mut tx = self.store.begin().await?;
        let id = tx.insert_tip(&tip).await?;
        // no text and no contact in the audit: they may name people
        append_audit(
            tx.as_mut(),
            "public",
            "tip.submit",
            "tip",
            &format!("tip/{id}"),
            None,
            Some(json!({
                "region": tip.region.as_str(),
                "responsible": tip.responsible.as_str(),
                "chars": tip.what.as_str().chars().count(),
                "has_contact": tip.contact.is_some(),
            })),
        )
        .await?;
        tx.commit().await?;
        let responsible = self.region(responsible.as_str()).await?;
        Ok(TipReceipt {
            id,
            responsible,
            received_at: tip.received_at,
        })
    }

    async fn view_tips(&self, who: &Principal, tips: Vec<StoredTip>) -> Result<Vec<TipView>> {
        let codes = tips
            .iter()
            .flat_map(|t| [t.region.clone(), t.responsible.clone()])
            .collect();
        let names = self.region_names(codes).await?;
        let name = |c: &RegionCode| names.get(c).cloned().unwrap_or_default();
        Ok(tips
            .into_iter()
            .map(|mut tip| {
                if tip.responsible != who.region.code {
                    tip.contact = None;
                }
                TipView {
                    region_name: name(&tip.region),
                    responsible_name: name(&tip.responsible),
                    tip,
                }
            })
            .collect())
    }

    /// Tips whose responsible unit lies in `who`'s jurisdiction, oldest
    /// first; only open ones unless `all`.
    pub async fn tips(&self, who: &Principal, all: bool, limit: u32) -> Result<Vec<TipView>> {
        who.require(Action::HandleTips)?;
        let tips = self
            .store
            .tips(&TipFilter {
                path: who.region.path.clone(),
                subtree: true,
                statuses: if all { vec![] } else { vec![TipStatus::Open] },
                limit: limit.clamp(1, LIST_LIMIT),
            })
            .await?;
        self.view_tips(who, tips).await
    }

    /// One tip, as `who` sees it.
    pub async fn tip(&self, who: &Principal, id: i64) -> Result<TipView> {
        who.require(Action::HandleTips)?;
        let not_found = || ServiceError::NotFound(format!("tip {id}"));
        let tip = self.store.tip(id).await?.ok_or_else(not_found)?;
        if !covers_path(who, &tip.responsible_path) {
            return Err(not_found());
        }
        self.view_tips(who, vec![tip])
            .await?
            .pop()
            .ok_or_else(not_found)
    }

    /// Mark a tip dealt with, saying how.
    pub async fn handle_tip(&self, who: &Principal, id: i64, note: &str) -> Result<TipView> {
        who.require(Action::HandleTips)?;
        let not_found = || ServiceError::NotFound(format!("tip {id}"));
        let tip = self.store.tip(id).await?.ok_or_else(not_found)?;
        if !covers_path(who, &tip.responsible_path) {
            return Err(not_found());
        }
        check_handle_tip(tip.status)?;
        let note = if note.trim().is_empty() {
            None
        } else {
            Some(Note::parse(note)?)
        };
        let mut tx = self.store.begin().await?;
        tx.handle_tip(id, &who.username, now_millis(), note.as_ref())
            .await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "tip.handle",
            "tip",
            &format!("tip/{id}"),
            Some(json!({ "status": tip.status.name() })),
            Some(json!({
                "status": TipStatus::Handled.name(),
                "note": note.as_ref().map(Note::as_str),
            })),
        )
        .await?;
        tx.commit().await?;
        self.tip(who, id).await
    }

    /// `who`'s task list: the directive targets not completed in their
    /// region and below, the open tips for their region, and the alerts not
    /// closed in their jurisdiction. Sorted by deadline for directives and
    /// by age for tips and alerts (the oldest first), all on one time line.
    pub async fn tasks(&self, who: &Principal) -> Result<Vec<Task>> {
        who.require(Action::WorkTasks)?;
        let now = Utc::now();
        let path = who.region.path.clone();
        let targets = self
            .store
            .directive_targets(&TargetFilter {
                path: path.clone(),
                open_only: true,
                limit: LIST_LIMIT,
            })
            .await?;
        // tips and alerts only for the roles that handle them
        let tips = if who.may(Action::HandleTips) {
            let tips = self
                .store
                .tips(&TipFilter {
                    path: path.clone(),
                    subtree: false,
                    statuses: vec![TipStatus::Open],
                    limit: LIST_LIMIT,
                })
                .await?;
            self.view_tips(who, tips).await?
        } else {
            Vec::new()
        };
        let alerts = if who.may(Action::ReadAlerts) {
            self.store
                .alerts(&AlertFilter {
                    path,
                    statuses: vec![AlertStatus::Open, AlertStatus::Acknowledged],
                    since: None,
                    limit: LIST_LIMIT,
                })
                .await?
        } else {
            Vec::new()
        };
        let codes = targets
            .iter()
            .map(|(_, t)| t.target.region.clone())
            .chain(alerts.iter().map(|a| a.region.clone()))
            .collect();
        let names = self.region_names(codes).await?;
        let name = |c: &RegionCode| names.get(c).cloned().unwrap_or_default();

        let mut tasks = Vec::with_capacity(targets.len() + tips.len() + alerts.len());
        for (directive, target) in targets {
            tasks.push(Task {
                kind: TaskKind::Directive,
                region: target.target.region.clone(),
                region_name: name(&target.target.region),
                due: Some(directive.deadline),
                since: directive.issued_at,
                overdue: overdue(target.target.status, directive.deadline, now),
                item: TaskItem::Directive { directive, target },
            });
        }
        for tip in tips {
            tasks.push(Task {
                kind: TaskKind::Tip,
                region: tip.tip.responsible.clone(),
                region_name: tip.responsible_name.clone(),
                due: None,
                since: tip.tip.received_at,
                overdue: false,
                item: TaskItem::Tip(tip),
            });
        }
        for alert in alerts {
            tasks.push(Task {
                kind: TaskKind::Alert,
                region: alert.region.clone(),
                region_name: name(&alert.region),
                due: None,
                since: alert.raised_at,
                overdue: false,
                item: TaskItem::Alert(alert),
            });
        }
        tasks.sort_by_key(|t| (t.due.unwrap_or(t.since), t.kind));
        Ok(tasks)
    }
}
