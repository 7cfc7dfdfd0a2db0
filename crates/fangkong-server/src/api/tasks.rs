//! Directives, the public tip line and the task list (R10, R11).
//!
//! Directives and the task list need a sign-in; the service checks roles
//! and jurisdiction. `POST /api/v1/tips` is public and guarded here, in
//! this order: a rate limit per client address ([`TIP_LIMIT`] tips per
//! [`TIP_WINDOW`], in memory, answered 429 with `Retry-After`), a honeypot
//! field (`website`) that people never see and so leave empty, a minimum
//! time between showing the form and sending it ([`MIN_FILL`], from the
//! page's `started_at`), then the tip's own rules (lengths, no link
//! stuffing, a known region). A tip's contact is personal data: no public
//! answer carries it, and a signed-in answer only to the responsible unit.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_domain::region::RegionCode;
use fangkong_domain::FieldError;
use fangkong_service::tasks::{DirectiveView, Task, TaskItem, TipReceipt, TipView};

use crate::api::{limit_param, RegionRef};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;

/// Tips one client address may send per [`TIP_WINDOW`].
pub const TIP_LIMIT: usize = 5;
/// The window of the tip line's rate limit.
pub const TIP_WINDOW: Duration = Duration::from_secs(600);
/// The least time between showing the tip form and sending it.
pub const MIN_FILL: Duration = Duration::from_secs(3);
/// A form shown longer ago than this is stale: reload the page.
pub const MAX_FORM_AGE: Duration = Duration::from_secs(24 * 3600);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/directives", post(issue).get(list_directives))
        .route("/api/v1/directives/{id}", get(directive))
        .route(
            "/api/v1/directives/{id}/targets/{region}/acknowledge",
            post(acknowledge),
        )
        .route(
            "/api/v1/directives/{id}/targets/{region}/complete",
            post(complete),
        )
        .route("/api/v1/tasks", get(tasks))
        .route("/api/v1/tips", post(submit_tip).get(list_tips))
        .route("/api/v1/tips/{id}/handle", post(handle_tip))
        // one limiter per application: each server (and each test) counts its own
        .layer(Extension(Arc::new(RateLimiter::new(TIP_LIMIT, TIP_WINDOW))))
}

// ---------------------------------------------------------------------------
// The rate limit

/// A sliding-window limit per client: at most `max` hits in any `window`.
/// IPv6 clients are counted per /64, the block one subscriber usually holds.
#[derive(Debug)]
pub struct RateLimiter {
    max: usize,
    window: Duration,
    hits: Mutex<HashMap<Option<IpAddr>, VecDeque<Instant>>>,
}

/// Clients tracked before the idle ones are dropped.
const TRACKED_CLIENTS: usize = 100_000;

impl RateLimiter {
    pub fn new(max: usize, window: Duration) -> RateLimiter {
        RateLimiter {
            max,
            window,
            hits: Mutex::default(),
        }
    }

    fn key(ip: Option<IpAddr>) -> Option<IpAddr> {
        ip.map(|ip| match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        })
    }

    /// Count a hit from `ip` at `now`; refused with how long to wait when
    /// the client has had `max` hits in the window already.
    pub fn hit(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() >= TRACKED_CLIENTS {
            let window = self.window;
            hits.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let queue = hits.entry(Self::key(ip)).or_default();
        while queue
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            queue.pop_front();
        }
        if queue.len() >= self.max {
            let oldest = queue.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        queue.push_back(now);
        Ok(())
    }
}

/// The address the request came from (the TCP peer), when the server was
/// started with connection info ([`crate::serve`] is).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// 429 in the API's error shape, with `Retry-After` in whole seconds.
fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let body = ErrorBody {
        error: crate::error::ErrorDetail {
            code: "rate_limited".into(),
            field: None,
            rule: None,
            message: format!(
                "too many tips from this address: at most {TIP_LIMIT} in {} minutes; try again in {secs} s",
                TIP_WINDOW.as_secs() / 60
            ),
            rows: None,
            rows_total: None,
        },
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

// ---------------------------------------------------------------------------
// Bodies

/// A region named in an answer.
fn region_ref(code: &RegionCode, name: &str) -> RegionRef {
    RegionRef {
        code: code.to_string(),
        name: name.to_owned(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveRequest {
    /// What is ordered: 1–2000 characters.
    #[schema(example = "全面排查发热病人，24小时内上报")]
    pub text: String,
    /// When it is due: RFC 3339 (`2020-01-26T18:00:00+08:00`), or local time
    /// as `YYYY-MM-DDTHH:MM` (a `datetime-local` input), or a day
    /// `YYYY-MM-DD` (its end, local time).
    #[schema(example = "2020-01-26T18:00:00+08:00")]
    pub deadline: String,
    /// The target regions' codes, each strictly below the issuer's region.
    #[schema(example = json!(["420100", "420500"]))]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetCountsBody {
    pub total: u64,
    pub acknowledged: u64,
    pub completed: u64,
    pub overdue: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetBody {
    pub region: RegionRef,
    /// `issued`, `acknowledged` or `completed`.
    pub status: String,
    /// The deadline passed and the target has not completed.
    pub overdue: bool,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The completion report.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DirectiveBody {
    pub id: i64,
    pub text: String,
    pub deadline: DateTime<Utc>,
    pub issuer: RegionRef,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    /// Whether the caller covers the issuing region and so sees every
    /// target; otherwise only the targets in the caller's jurisdiction.
    pub issuer_side: bool,
    pub counts: TargetCountsBody,
    pub targets: Vec<TargetBody>,
    /// The targets that have not acknowledged.
    pub not_acknowledged: Vec<RegionRef>,
    /// The targets that have not completed.
    pub not_completed: Vec<RegionRef>,
}

impl From<&DirectiveView> for DirectiveBody {
    fn from(v: &DirectiveView) -> Self {
        let d = &v.directive;
        let refs = |it: &mut dyn Iterator<Item = &fangkong_service::tasks::TargetView>| {
            it.map(|t| region_ref(&t.stored.target.region, &t.name))
                .collect()
        };
        DirectiveBody {
            id: d.id,
            text: d.text.as_str().to_owned(),
            deadline: d.deadline,
            issuer: region_ref(&d.issuer_region, &v.issuer_name),
            issued_by: d.issued_by.clone(),
            issued_at: d.issued_at,
            issuer_side: v.issuer_side,
            counts: TargetCountsBody {
                total: v.counts.total,
                acknowledged: v.counts.acknowledged,
                completed: v.counts.completed,
                overdue: v.counts.overdue,
            },
            targets: v
                .targets
                .iter()
                .map(|t| {
                    let s = &t.stored.target;
                    TargetBody {
                        region: region_ref(&s.region, &t.name),
                        status: s.status.name().to_owned(),
                        overdue: t.overdue,
                        acknowledged_by: s.acknowledged_by.clone(),
                        acknowledged_at: s.acknowledged_at,
                        completed_by: s.completed_by.clone(),
                        completed_at: s.completed_at,
                        note: s.note.as_ref().map(|n| n.as_str().to_owned()),
                    }
                })
                .collect(),
            not_acknowledged: refs(&mut v.not_acknowledged()),
            not_completed: refs(&mut v.not_completed()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectivesBody {
    pub directives: Vec<DirectiveBody>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many (default 200, at most 1000).
    pub limit: Option<u32>,
    /// Tips only: also the handled ones (default: only open tips).
    pub all: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// What was done (required): 1–2000 characters.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TipRequest {
    /// What happened: 1–1000 characters, at most one link.
    #[schema(example = "小区有人从武汉返回，未登记")]
    pub what: String,
    /// Where: a region code (a county or below is best).
    #[schema(example = "420102")]
    pub region: String,
    /// How to reach the sender (optional, at most 100 characters): seen only
    /// by the unit responsible for the place.
    pub contact: Option<String>,
    /// The honeypot: a field the page hides from people. It must be empty.
    #[serde(default)]
    pub website: String,
    /// When the page showed the form, in milliseconds since 1970 (`Date.now()`).
    #[schema(example = 1579939200000_i64)]
    pub started_at: Option<i64>,
    /// When the page sent it, by the same clock (optional; when given, the
    /// page's clock may differ from the server's).
    pub submitted_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TipReceiptBody {
    /// The tip's number, to quote.
    pub id: i64,
    /// The unit it went to.
    pub responsible: RegionRef,
    pub received_at: DateTime<Utc>,
}

impl From<&TipReceipt> for TipReceiptBody {
    fn from(r: &TipReceipt) -> Self {
        TipReceiptBody {
            id: r.id,
            responsible: region_ref(&r.responsible.code, &r.responsible.name),
            received_at: r.received_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TipBody {
    pub id: i64,
    pub what: String,
    /// Where it happened.
    pub region: RegionRef,
    /// The unit responsible.
    pub responsible: RegionRef,
    /// Only for the responsible unit itself; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    pub received_at: DateTime<Utc>,
    /// `open` or `handled`.
    pub status: String,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

impl From<&TipView> for TipBody {
    fn from(v: &TipView) -> Self {
        let t = &v.tip;
        TipBody {
            id: t.id,
            what: t.what.as_str().to_owned(),
            region: region_ref(&t.region, &v.region_name),
            responsible: region_ref(&t.responsible, &v.responsible_name),
            contact: t.contact.as_ref().map(|c| c.reveal().to_owned()),
            received_at: t.received_at,
            status: t.status.name().to_owned(),
            handled_by: t.handled_by.clone(),
            handled_at: t.handled_at,
            note: t.note.as_ref().map(|n| n.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TipsBody {
    pub tips: Vec<TipBody>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandleTipRequest {
    /// What was done (optional): at most 2000 characters.
    #[serde(default)]
    pub note: String,
}

/// One item of the task list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskBody {
    /// `directive`, `tip` or `alert`.
    pub kind: String,
    /// The directive's, tip's or alert's id.
    pub id: i64,
    /// The unit the task is for.
    pub region: RegionRef,
    /// The deadline (directives).
    pub due: Option<DateTime<Utc>>,
    /// When it arose: issued, received, raised.
    pub since: DateTime<Utc>,
    pub overdue: bool,
    /// Directive targets: `issued`, `acknowledged`; tips: `open`; alerts: `open`, `acknowledged`.
    pub status: String,
    /// The directive's text, the tip's text, or what the alert saw.
    pub text: String,
    /// Tips only, and only for the responsible unit itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Who issued a directive: the region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Where to act on it in this API.
    #[schema(example = "/api/v1/directives/7/targets/420100")]
    pub href: String,
}

impl From<&Task> for TaskBody {
    fn from(t: &Task) -> Self {
        let region = region_ref(&t.region, &t.region_name);
        let (id, status, text, contact, issuer, href) = match &t.item {
            TaskItem::Directive { directive, target } => (
                directive.id,
                target.target.status.name().to_owned(),
                directive.text.as_str().to_owned(),
                None,
                Some(directive.issuer_region.to_string()),
                format!(
                    "/api/v1/directives/{}/targets/{}",
                    directive.id, target.target.region
                ),
            ),
            TaskItem::Tip(v) => (
                v.tip.id,
                v.tip.status.name().to_owned(),
                v.tip.what.as_str().to_owned(),
                v.tip.contact.as_ref().map(|c| c.reveal().to_owned()),
                None,
                format!("/api/v1/tips/{}", v.tip.id),
            ),
            TaskItem::Alert(a) => (
                a.id,
                a.status.name().to_owned(),
                format!(
                    "{}.{}: {} observed, {:.1} expected ({}, {} to {})",
                    a.form, a.field, a.observed, a.expected, a.method, a.first_day, a.last_day
                ),
                None,
                None,
                format!("/api/v1/analytics/alerts/{}", a.id),
            ),
        };
        TaskBody {
            kind: t.kind.name().to_owned(),
            id,
            region,
            due: t.due,
            since: t.since,
            overdue: t.overdue,
            status,
            text,
            contact,
            issuer,
            href,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TasksBody {
    pub tasks: Vec<TaskBody>,
}

// ---------------------------------------------------------------------------
// Parameters

fn id_param(what: &str, id: &str) -> ApiResult<i64> {
    id.trim()
        .parse()
        .ok()
        .filter(|n: &i64| *n > 0)
        .ok_or_else(|| ApiError::invalid("id", format!("{id:?} is not a {what} id")))
}

/// A deadline: RFC 3339, or `YYYY-MM-DDTHH:MM[:SS]` in local time, or a
/// day `YYYY-MM-DD` meaning its end in local time.
pub fn parse_deadline(s: &str, utc_offset_minutes: i32) -> Result<DateTime<Utc>, FieldError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = FixedOffset::east_opt(utc_offset_minutes * 60)
        .ok_or_else(|| FieldError::new("deadline", "the server's time offset is not valid"))?;
    let naive = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| NaiveTime::from_hms_opt(23, 59, 59).map(|t| d.and_time(t)))
        });
    naive
        .and_then(|n| local.from_local_datetime(&n).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            FieldError::new(
                "deadline",
                format!(
                    "{s:?} is not a time: use RFC 3339 (2020-01-26T18:00:00+08:00), YYYY-MM-DDTHH:MM or YYYY-MM-DD"
                ),
            )
        })
}

/// The spam checks of a tip that need no database: the honeypot and the
/// time taken to fill the form in (`now_ms`: the server's clock).
pub fn check_tip_form(req: &TipRequest, now_ms: i64) -> Result<(), FieldError> {
    if !req.website.trim().is_empty() {
        return Err(
            FieldError::new("website", "this field must be left empty").with_rule("honeypot")
        );
    }
    let started = req.started_at.ok_or_else(|| {
        FieldError::new(
            "started_at",
            "is missing: the time the form was shown, in milliseconds since 1970",
        )
        .with_rule("form_time_missing")
    })?;
    let sent = req.submitted_at.unwrap_or(now_ms);
    let elapsed = sent.saturating_sub(started);
    let min = MIN_FILL.as_millis() as i64;
    if elapsed < min {
        return Err(FieldError::new(
            "started_at",
            format!(
                "the form was sent {:.1} s after it was shown; take at least {} s and send it again",
                elapsed.max(0) as f64 / 1000.0,
                MIN_FILL.as_secs()
            ),
        )
        .with_rule("too_fast"));
    }
    if elapsed > MAX_FORM_AGE.as_millis() as i64 {
        return Err(FieldError::new(
            "started_at",
            "the form was shown more than a day ago; reload the page and send it again",
        )
        .with_rule("form_expired"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Handlers

/// Issue a directive to units below the caller's region (command levels:
/// national, provincial, city, county).
#[utoipa::path(
    post,
    path = "/api/v1/directives",
    tag = "tasks",
    security(("bearer" = [])),
    request_body = DirectiveRequest,
    responses(
        (status = 201, description = "the directive as issued", body = DirectiveBody),
        (status = 403, description = "the caller's role is not a command level", body = ErrorBody),
        (status = 422, description = "bad text, deadline or targets (`rule`: `no_targets`, `duplicate_target`, `target_not_below_issuer`, `deadline_passed`, …)", body = ErrorBody),
    )
)]
pub async fn issue(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(req): JsonBody<DirectiveRequest>,
) -> ApiResult<(StatusCode, Json<DirectiveBody>)> {
    let deadline = parse_deadline(&req.deadline, state.service.settings().utc_offset_minutes)?;
    let v = state
        .service
        .issue_directive(&who, &req.text, deadline, &req.targets)
        .await?;
    Ok((StatusCode::CREATED, Json(DirectiveBody::from(&v))))
}

/// Directives issued in the caller's jurisdiction or to units in it, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/directives",
    tag = "tasks",
    security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "the directives, each with who has not answered", body = DirectivesBody))
)]
pub async fn list_directives(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<DirectivesBody>> {
    let limit = limit_param("limit", q.limit, 200, 1000)?;
    let list = state.service.directives(&who, limit).await?;
    Ok(Json(DirectivesBody {
        directives: list.iter().map(DirectiveBody::from).collect(),
    }))
}

/// One directive: its targets and who has not acknowledged or completed.
#[utoipa::path(
    get,
    path = "/api/v1/directives/{id}",
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "the directive")),
    responses(
        (status = 200, description = "the directive", body = DirectiveBody),
        (status = 404, description = "no such directive in the caller's jurisdiction", body = ErrorBody),
    )
)]
pub async fn directive(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<DirectiveBody>> {
    let v = state
        .service
        .directive(&who, id_param("directive", &id)?)
        .await?;
    Ok(Json(DirectiveBody::from(&v)))
}

/// A target unit acknowledges a directive: it has seen it and is acting.
#[utoipa::path(
    post,
    path = "/api/v1/directives/{id}/targets/{region}/acknowledge",
    tag = "tasks",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "the directive"),
        ("region" = String, Path, description = "the target region's code"),
    ),
    responses(
        (status = 200, description = "the directive", body = DirectiveBody),
        (status = 404, description = "no such target in the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "`already_acknowledged` or `already_completed`", body = ErrorBody),
    )
)]
pub async fn acknowledge(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams((id, region)): PathParams<(String, String)>,
) -> ApiResult<Json<DirectiveBody>> {
    let v = state
        .service
        .acknowledge_target(&who, id_param("directive", &id)?, &region)
        .await?;
    Ok(Json(DirectiveBody::from(&v)))
}

/// A target unit reports a directive done, with what was done (acknowledging it too).
#[utoipa::path(
    post,
    path = "/api/v1/directives/{id}/targets/{region}/complete",
    tag = "tasks",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "the directive"),
        ("region" = String, Path, description = "the target region's code"),
    ),
    request_body = CompleteRequest,
    responses(
        (status = 200, description = "the directive", body = DirectiveBody),
        (status = 404, description = "no such target in the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "`completion_needs_note` or `already_completed`", body = ErrorBody),
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams((id, region)): PathParams<(String, String)>,
    JsonBody(req): JsonBody<CompleteRequest>,
) -> ApiResult<Json<DirectiveBody>> {
    let v = state
        .service
        .complete_target(&who, id_param("directive", &id)?, &region, &req.note)
        .await?;
    Ok(Json(DirectiveBody::from(&v)))
}

/// The caller's task list: directive targets not completed in their region
/// and below, open tips for their region, alerts not closed; deadlines and
/// ages on one time line, earliest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "tasks",
    security(("bearer" = [])),
    responses((status = 200, description = "the tasks", body = TasksBody))
)]
pub async fn tasks(State(state): State<AppState>, Auth(who): Auth) -> ApiResult<Json<TasksBody>> {
    let list = state.service.tasks(&who).await?;
    Ok(Json(TasksBody {
        tasks: list.iter().map(TaskBody::from).collect(),
    }))
}

/// The public tip line (no sign-in): a tip becomes a task of the unit
/// responsible for the place. Rate limited per client address.
#[utoipa::path(
    post,
    path = "/api/v1/tips",
    tag = "tasks",
    request_body = TipRequest,
    responses(
        (status = 201, description = "received: the tip's number and the unit it went to", body = TipReceiptBody),
        (status = 422, description = "refused (`rule`: `honeypot`, `too_fast`, `form_expired`, `form_time_missing`, `too_many_links`) or a bad field", body = ErrorBody),
        (status = 429, description = "too many tips from this address; see `Retry-After`", body = ErrorBody),
    )
)]
pub async fn submit_tip(
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<RateLimiter>>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<TipRequest>,
) -> Response {
    if let Err(wait) = limiter.hit(ip, Instant::now()) {
        return too_many(wait);
    }
    if let Err(e) = check_tip_form(&req, Utc::now().timestamp_millis()) {
        return ApiError::Invalid(e).into_response();
    }
    match state
        .service
        .submit_tip(&req.what, &req.region, req.contact.as_deref())
        .await
    {
        Ok(receipt) => (StatusCode::CREATED, Json(TipReceiptBody::from(&receipt))).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Tips for units in the caller's jurisdiction, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tips",
    tag = "tasks",
    security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "the tips (the contact only for the responsible unit)", body = TipsBody))
)]
pub async fn list_tips(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<TipsBody>> {
    let limit = limit_param("limit", q.limit, 200, 1000)?;
    let list = state
        .service
        .tips(&who, q.all.unwrap_or(false), limit)
        .await?;
    Ok(Json(TipsBody {
        tips: list.iter().map(TipBody::from).collect(),
    }))
}

/// Mark a tip dealt with.
#[utoipa::path(
    post,
    path = "/api/v1/tips/{id}/handle",
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "the tip")),
    request_body = HandleTipRequest,
    responses(
        (status = 200, description = "the tip", body = TipBody),
        (status = 404, description = "no such tip in the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "`already_handled`", body = ErrorBody),
    )
)]
pub async fn handle_tip(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<HandleTipRequest>,
) -> ApiResult<Json<TipBody>> {
    let v = state
        .service
        .handle_tip(&who, id_param("tip", &id)?, &req.note)
        .await?;
    Ok(Json(TipBody::from(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_slides() {
        let l = RateLimiter::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        let a: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        let b: Option<IpAddr> = Some("10.0.0.2".parse().unwrap());
        assert!(l.hit(a, t0).is_ok());
        assert!(l.hit(a, t0 + Duration::from_secs(4)).is_ok());
        let wait = l.hit(a, t0 + Duration::from_secs(5)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(5));
        assert!(l.hit(b, t0 + Duration::from_secs(5)).is_ok());
        assert!(l.hit(a, t0 + Duration::from_secs(10)).is_ok());
        // one IPv6 /64 is one client
        let x = Some("2001:db8::1".parse().unwrap());
        let y = Some("2001:db8::ffff".parse().unwrap());
        assert!(l.hit(x, t0).is_ok());
        assert!(l.hit(y, t0).is_ok());
        assert!(l.hit(x, t0).is_err());
    }

    fn form(website: &str, started: Option<i64>, sent: Option<i64>) -> TipRequest {
        TipRequest {
            what: "x".into(),
            region: "420102".into(),
            contact: None,
            website: website.into(),
            started_at: started,
            submitted_at: sent,
        }
    }

    #[test]
    fn spam_checks() {
        let now = 1_600_000_000_000;
        assert!(check_tip_form(&form("", Some(now - 10_000), None), now).is_ok());
        let rule = |r: Result<(), FieldError>| r.unwrap_err().rule;
        assert_eq!(
            rule(check_tip_form(
                &form("http://x", Some(now - 10_000), None),
                now
            )),
            Some("honeypot")
        );
        assert_eq!(
            rule(check_tip_form(&form("", Some(now - 1000), None), now)),
            Some("too_fast")
        );
        assert_eq!(
            rule(check_tip_form(&form("", None, None), now)),
            Some("form_time_missing")
        );
        assert_eq!(
            rule(check_tip_form(&form("", Some(0), None), now)),
            Some("form_expired")
        );
        // the page's own clock, however wrong, measures the time taken
        assert!(check_tip_form(&form("", Some(5_000), Some(9_000)), now).is_ok());
    }

    #[test]
    fn deadlines_in_three_forms() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_deadline("2020-01-26T18:00:00+08:00", 480).unwrap(),
            utc("2020-01-26T10:00:00Z")
        );
        assert_eq!(
            parse_deadline("2020-01-26T18:00", 480).unwrap(),
            utc("2020-01-26T10:00:00Z")
        );
        assert_eq!(
            parse_deadline("2020-01-26", 480).unwrap(),
            utc("2020-01-26T15:59:59Z")
        );
        assert_eq!(parse_deadline("soon", 480).unwrap_err().field, "deadline");
    }
}
