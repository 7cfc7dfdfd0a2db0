//! Who is calling: the principal behind `Authorization: Bearer <token>`.
//!
//! Tokens come from `POST /api/v1/sessions`; the service keeps only their
//! hashes. A token is never logged.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

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

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthenticated("missing authorization header; log in at POST /api/v1/sessions and send Authorization: Bearer <token>".into())
        })?;
        let token = header.to_str().ok().and_then(bearer).ok_or_else(|| {
            ApiError::Unauthenticated("the authorization header is not a bearer token".into())
        })?;
        match state.service.authenticate(token).await {
            Ok(principal) => Ok(Auth(principal)),
            Err(ServiceError::Unauthenticated) => Err(ApiError::Unauthenticated(
                "the token is unknown or has expired; log in again".into(),
            )),
            Err(e) => Err(e.into()),
        }
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
