//! Logging in (`POST /api/v1/sessions`) and out (`DELETE /api/v1/sessions`),
//! who am I (`GET /api/v1/me`), changing one's password
//! (`PUT /api/v1/me/password`).
//!
//! Failed logins are counted per account and per client address in the
//! store (see [`fangkong_service::users`]), so the limit holds across
//! servers on one database; past it, 429 with `Retry-After`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use fangkong_service::{Principal, ServiceError};

use crate::api::tasks::ClientIp;
use crate::auth::{Auth, Token};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", post(create_session).delete(end_session))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", put(change_password))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "jiangan.cdc")]
    pub username: String,
    pub password: String,
}

// no Debug: it holds a password
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A user as the API shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeBody {
    pub username: String,
    pub display_name: String,
    /// `national`, `provincial`, `city`, `county`, `grid`, `facility` or `public`.
    pub role: String,
    /// The home region: the root of this user's jurisdiction.
    pub region_code: String,
    pub region_name: String,
    /// The site a facility user works for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// What this user may do (the policy table's actions, e.g. `read_cases`,
    /// `follow_up`): the pages a user interface offers.
    #[schema(example = json!(["read_public", "file_report", "follow_up"]))]
    pub actions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    /// The bearer token: send it as `Authorization: Bearer <token>`. It is shown only once.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: MeBody,
}

/// The user behind a principal, with the display name from the store.
pub(crate) async fn me_body(state: &AppState, who: &Principal) -> ApiResult<MeBody> {
    // the service has no "user by name" use case yet; the store's read is side-effect free
    let user = state
        .service
        .store()
        .user_by_name(&who.username)
        .await
        .map_err(ServiceError::from)?;
    Ok(MeBody {
        username: who.username.clone(),
        display_name: user.map_or_else(|| who.username.clone(), |u| u.display_name),
        role: who.role.name().to_owned(),
        region_code: who.region.code.to_string(),
        region_name: who.region.name.clone(),
        site: who.site.clone(),
        actions: fangkong_domain::policy::actions_of(who.role)
            .into_iter()
            .map(|a| a.name().to_owned())
            .collect(),
    })
}

/// Log in: check a username and password and open a session.
#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    tag = "sessions",
    request_body = LoginRequest,
    responses(
        (status = 201, description = "logged in", body = SessionBody),
        (status = 401, description = "wrong username or password", body = ErrorBody),
        (status = 422, description = "malformed body", body = ErrorBody),
        (status = 429, description = "too many failed logins for this account or from this address; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    )
)]
pub async fn create_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<(StatusCode, Json<SessionBody>)> {
    let session = state
        .service
        .login(&req.username, &req.password, ip)
        .await
        .map_err(|e| match e {
            ServiceError::Unauthenticated => {
                ApiError::Unauthenticated("wrong username or password".into())
            }
            other => other.into(),
        })?;
    let user = me_body(&state, &session.principal).await?;
    Ok((
        StatusCode::CREATED,
        Json(SessionBody {
            token: session.token,
            expires_at: session.expires_at,
            user,
        }),
    ))
}

/// The logged-in user.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the caller", body = MeBody),
        (status = 401, description = "not logged in", body = ErrorBody),
    )
)]
pub async fn me(State(state): State<AppState>, Auth(who): Auth) -> ApiResult<Json<MeBody>> {
    Ok(Json(me_body(&state, &who).await?))
}

/// Log out: the caller's token stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "logged out"),
        (status = 401, description = "not logged in", body = ErrorBody),
    )
)]
pub async fn end_session(
    State(state): State<AppState>,
    Auth(_caller): Auth,
    Token(token): Token,
) -> ApiResult<StatusCode> {
    state.service.logout(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub old_password: String,
    /// 8 to 1024 characters.
    pub new_password: String,
}

// no Debug: it holds passwords
impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").finish_non_exhaustive()
    }
}

/// Change one's own password. The current one must be right (a wrong one
/// counts as a failed login); every other session of the caller ends, this
/// one stays.
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "sessions",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "changed; the caller's other sessions have ended"),
        (status = 401, description = "not logged in", body = ErrorBody),
        (status = 422, description = "`old_password` is wrong, or `new_password` breaks a rule", body = ErrorBody),
        (status = 429, description = "too many failed attempts; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    Auth(who): Auth,
    Token(token): Token,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<PasswordChange>,
) -> ApiResult<StatusCode> {
    state
        .service
        .change_password(&who, &token, &req.old_password, &req.new_password, ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
