//! Users in the caller's jurisdiction: list, create, end their sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use fangkong_domain::user::Role;
use fangkong_service::users::UserInfo;

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParams};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{username}/sessions", delete(revoke_sessions))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub region_code: String,
    /// The site a facility user works for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<UserInfo> for UserBody {
    fn from(u: UserInfo) -> Self {
        UserBody {
            username: u.username,
            display_name: u.display_name,
            role: u.role.name().to_owned(),
            region_code: u.region_code,
            site: u.site,
            created_at: u.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    #[schema(example = "jiangan.cdc")]
    pub username: String,
    #[serde(default)]
    #[schema(example = "江岸区疾控中心")]
    pub display_name: String,
    /// `national`, `provincial`, `city`, `county`, `grid`, `facility` or `public`;
    /// it must fit the home region's level.
    #[schema(example = "county")]
    pub role: String,
    #[schema(example = "420102")]
    pub region_code: String,
    /// For a facility user (required there, refused for other roles): the
    /// site it works for, named as its admissions name it (`金银潭医院`).
    #[serde(default)]
    pub site: Option<String>,
    /// At least 8 characters.
    pub password: String,
}

// no Debug: it holds a password
impl std::fmt::Debug for NewUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Users whose home region lies in the caller's jurisdiction.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the users", body = [UserBody]),
        (status = 401, description = "not logged in", body = ErrorBody),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<UserBody>>> {
    let users = state.service.users(&who).await?;
    Ok(Json(users.into_iter().map(UserBody::from).collect()))
}

/// Create a user in the caller's jurisdiction (command levels: national to county).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    security(("bearer" = [])),
    request_body = NewUserRequest,
    responses(
        (status = 201, description = "created", body = UserBody),
        (status = 403, description = "outside the caller's jurisdiction or role", body = ErrorBody),
        (status = 409, description = "the username is taken", body = ErrorBody),
        (status = 422, description = "invalid field", body = ErrorBody),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(req): JsonBody<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<UserBody>)> {
    let role: Role = req.role.parse()?;
    let user = state
        .service
        .add_user_at_site(
            &who,
            &req.username,
            &req.display_name,
            role,
            &req.region_code,
            req.site.as_deref(),
            &req.password,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedBody {
    pub username: String,
    /// How many live sessions ended.
    pub sessions_ended: u64,
}

/// End every session of a user (command levels, national to county, over
/// users whose home region lies in their jurisdiction). Their tokens stop
/// working at once; the password stays.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{username}/sessions",
    tag = "users",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "the user, in any case")),
    responses(
        (status = 200, description = "the sessions ended", body = RevokedBody),
        (status = 401, description = "not logged in", body = ErrorBody),
        (status = 403, description = "the caller's role does not administer users", body = ErrorBody),
        (status = 404, description = "no such user in the caller's jurisdiction", body = ErrorBody),
    )
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(username): PathParams<String>,
) -> ApiResult<Json<RevokedBody>> {
    let (username, ended) = state.service.revoke_sessions(&who, &username).await?;
    Ok(Json(RevokedBody {
        username,
        sessions_ended: ended,
    }))
}
