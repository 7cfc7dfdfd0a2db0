//! The audit trail (R11): the newest entries, and a walk of both hash
//! chains. National level only; the service enforces it.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::audit::AuditEntry;
use fangkong_domain::chain::Verdict;
use fangkong_service::audit::Derived;

use crate::api::{limit_param, text_param};
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::QueryParams;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/audit/verify", get(verify))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this entity, e.g. `report/epidemic/420102/2020-01-25` or `user/jiangan.cdc`.
    pub entity_key: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryBody {
    /// Position in the audit chain.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The username, or `system`.
    pub actor: String,
    /// `report.file`, `report.correct`, `report.review`, `report.import`, `user.add`, `user.login`, …
    pub action: String,
    pub entity: String,
    pub entity_key: String,
    /// The state before, where there was one.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The state after, where there is one.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
    /// The chain hash (hex SHA-256).
    pub hash: String,
}

/// Audit states are stored as JSON text; answer them as JSON (as a string if
/// one ever is not).
fn state_json(text: Option<&str>) -> Option<Value> {
    text.map(|t| serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned())))
}

impl From<&AuditEntry> for AuditEntryBody {
    fn from(e: &AuditEntry) -> Self {
        AuditEntryBody {
            seq: e.seq,
            at: e.at,
            actor: e.actor.clone(),
            action: e.action.clone(),
            entity: e.entity.clone(),
            entity_key: e.entity_key.clone(),
            before: state_json(e.before.as_deref()),
            after: state_json(e.after.as_deref()),
            hash: e.hash.to_hex(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictBody {
    pub intact: bool,
    /// Entries checked (when intact).
    pub entries: Option<u64>,
    /// The first entry that does not fit (when broken).
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

impl From<&Verdict> for VerdictBody {
    fn from(v: &Verdict) -> Self {
        match v {
            Verdict::Intact { entries } => VerdictBody {
                intact: true,
                entries: Some(*entries),
                broken_at: None,
                reason: None,
            },
            Verdict::Broken { seq, reason } => VerdictBody {
                intact: false,
                entries: None,
                broken_at: Some(*seq),
                reason: Some(reason.clone()),
            },
        }
    }
}

/// Stored rows derived from others, against a recomputation.
#[derive(Debug, Serialize, ToSchema)]
pub struct DerivedBody {
    pub intact: bool,
    /// Rows compared (when intact).
    pub rows: Option<u64>,
    /// The first wrong row (when not), e.g. `rollup epidemic 420100 2020-01-25`.
    pub row: Option<String>,
    pub reason: Option<String>,
}

impl From<&Derived> for DerivedBody {
    fn from(d: &Derived) -> Self {
        match d {
            Derived::Agrees { rows } => DerivedBody {
                intact: true,
                rows: Some(*rows),
                row: None,
                reason: None,
            },
            Derived::Differs { row, reason } => DerivedBody {
                intact: false,
                rows: None,
                row: Some(row.clone()),
                reason: Some(reason.clone()),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChainCheckBody {
    /// Both chains intact, each as its last witness saw it, and the roll-ups
    /// and the line list agreeing with what they are derived from.
    pub intact: bool,
    pub reports: VerdictBody,
    pub audit: VerdictBody,
    /// Every stored roll-up against the sum of its current reports.
    pub rollups: DerivedBody,
    /// Every case's and contact's current-state columns against the replay of its history.
    pub line_list: DerivedBody,
    /// What the chains were compared with beyond their stored heads (the last release that witnessed them).
    pub witnesses: Vec<String>,
    pub checked_at: DateTime<Utc>,
}

/// The newest audit entries.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "entries, newest first", body = [AuditEntryBody]),
        (status = 403, description = "not the national level", body = ErrorBody),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntryBody>>> {
    let limit = limit_param("limit", q.limit, 100, 1000)?;
    let key = Some(text_param(q.entity_key.as_deref(), "")).filter(|k| !k.is_empty());
    let entries = state.service.audit_recent(&who, key, limit).await?;
    Ok(Json(entries.iter().map(AuditEntryBody::from).collect()))
}

/// Walk the report chain and the audit chain from their first entries.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the verdicts", body = ChainCheckBody),
        (status = 403, description = "not the national level", body = ErrorBody),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<ChainCheckBody>> {
    let check = state.service.verify_chains(&who).await?;
    Ok(Json(ChainCheckBody {
        intact: check.intact(),
        reports: VerdictBody::from(&check.reports),
        audit: VerdictBody::from(&check.audit),
        rollups: DerivedBody::from(&check.rollups),
        line_list: DerivedBody::from(&check.line_list),
        witnesses: check.witnesses.clone(),
        checked_at: check.checked_at,
    }))
}
