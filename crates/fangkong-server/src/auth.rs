//! Who is calling: the principal behind `Authorization: Bearer <token>`.
//!
//! Tokens come from `POST /api/v1/sessions`; the service keeps only their
//! hashes. A token is never logged.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderValue;

use fangkong_service::{Principal, ServiceError};

use crate::error::ApiError;
use crate::AppState;

/// The logged-in caller. A handler that takes `Auth` answers 401 to anyone
/// without a live session token.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

/// The token of an `Authorization` header value, if it is a bearer token.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The principal behind an `Authorization` header, or 401.
pub async fn principal_from_header(
    state: &AppState,
    header: Option<&HeaderValue>,
) -> Result<Principal, ApiError> {
    let header = header.ok_or_else(|| {
        ApiError::Unauthenticated("missing authorization header; log in at POST /api/v1/sessions and send Authorization: Bearer <token>".into())
    })?;
    let token = header.to_str().ok().and_then(bearer).ok_or_else(|| {
        ApiError::Unauthenticated("the authorization header is not a bearer token".into())
    })?;
    match state.service.authenticate(token).await {
        Ok(principal) => Ok(principal),
        Err(ServiceError::Unauthenticated) => Err(ApiError::Unauthenticated(
            "the token is unknown or has expired; log in again".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // the policy gate has read the session already
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        principal_from_header(state, parts.headers.get(AUTHORIZATION))
            .await
            .map(Auth)
    }
}

/// The caller's bearer token as sent, unchecked: for the routes that act on
/// the session itself (logging out, changing the password), beside [`Auth`].
pub struct Token(pub String);

// no Debug: it is a secret
impl FromRequestParts<AppState> for Token {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(bearer)
            .map(|t| Token(t.to_owned()))
            .ok_or_else(|| ApiError::Unauthenticated("missing bearer token".into()))
    }
}

/// The caller of a route open to everyone: `None` without an
/// `Authorization` header; a header that does not hold a live token is
/// refused as [`Auth`] refuses it.
pub async fn caller(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<Option<fangkong_service::Principal>, ApiError> {
    if headers.get(AUTHORIZATION).is_none() {
        return Ok(None);
    }
    let mut parts = axum::http::Request::new(()).into_parts().0;
    parts.headers = headers.clone();
    Ok(Some(Auth::from_request_parts(&mut parts, state).await?.0))
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_tokens_are_read_leniently() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}
