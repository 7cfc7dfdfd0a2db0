//! Axum's extractors with this API's rejection: every malformed body, query
//! string or path answers with the JSON error shape of [`crate::error`].

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// A JSON request body; a malformed one is a `bad_json` error naming the field serde stopped at.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

/// A query string; a malformed one is an `invalid` error.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct QueryParams<T>(pub T);

/// Path parameters; malformed ones are an `invalid` error.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParams<T>(pub T);
