//! The one error type of the API: a status, a stable machine `code`, the
//! field at fault where there is one, and a message for people.
//!
//! Every error body has the same shape:
//! `{"error":{"code":"invalid","field":"date","message":"…"}}`. A 500 is
//! logged with the real cause and answered with an opaque message: internal
//! errors can carry SQL, paths or people's data, none of which a client sees.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use fangkong_domain::FieldError;
use fangkong_service::{RowError, ServiceError};

/// How many bad rows an answer lists at most.
pub const MAX_ROWS_LISTED: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field breaks a rule (422).
    #[error("{0}")]
    Invalid(FieldError),
    /// Rows of an uploaded file are bad (422).
    #[error("{} bad rows; nothing was imported", .0.len())]
    BadRows(Vec<RowError>),
    /// The body is not JSON, or not JSON of the expected shape (400 or 422).
    #[error("{message}")]
    BadJson {
        status: StatusCode,
        field: Option<String>,
        message: String,
    },
    /// A query or path parameter cannot be read (422).
    #[error("{message}")]
    BadParameter {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is too large (limits: 1 MiB of JSON, 64 MiB for a file import)")]
    TooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts: answered 429 with `Retry-After` (whole seconds).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// Something broke inside; the cause is logged, never sent.
    #[error(transparent)]
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Invalid(FieldError::new(field, reason))
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRows(_) | ApiError::BadParameter { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BadJson { status, .. } => *status,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) | ApiError::BadParameter { .. } => "invalid",
            ApiError::BadRows(_) => "bad_rows",
            ApiError::BadJson { .. } | ApiError::UnsupportedMediaType(_) => "bad_json",
            ApiError::NotFound(_) => "not_found",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge => "too_large",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
        }
    }

    fn body(&self) -> ErrorBody {
        let (field, message) = match self {
            ApiError::Invalid(e) => (Some(e.field.clone()), e.to_string()),
            ApiError::BadJson { field, message, .. }
            | ApiError::BadParameter { field, message } => (field.clone(), message.clone()),
            ApiError::Internal(_) => (None, "internal error; it has been logged".to_owned()),
            other => (None, other.to_string()),
        };
        let rows = match self {
            ApiError::BadRows(rows) => Some(
                rows.iter()
                    .take(MAX_ROWS_LISTED)
                    .map(RowErrorBody::from)
                    .collect(),
            ),
            _ => None,
        };
        let rows_total = match self {
            ApiError::BadRows(rows) => Some(rows.len() as u64),
            _ => None,
        };
        let rule = match self {
            ApiError::Invalid(e) => e.rule.map(str::to_owned),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                field,
                rule,
                message,
                rows,
                rows_total,
            },
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine code: `invalid`, `bad_rows`, `bad_json`, `not_found`,
    /// `unauthenticated`, `forbidden`, `conflict`, `too_large`, `rate_limited`, `internal`, …
    pub code: String,
    /// The input at fault (`date`, `values.new_confirmed`, `region`, …), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a change the line list's state machines refuse: the rule broken
    /// (`future_date`, `revision_required`, `outside_observation`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub message: String,
    /// For `bad_rows`: the bad rows (at most 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowErrorBody>>,
    /// For `bad_rows`: how many rows were bad in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_total: Option<u64>,
}

/// One bad row of an uploaded file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowErrorBody {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl From<&RowError> for RowErrorBody {
    fn from(e: &RowError) -> Self {
        RowErrorBody {
            line: e.line,
            column: e.column.clone(),
            reason: e.reason.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match &self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "internal error"),
            other if status.is_server_error() => tracing::error!(error = %other, "server error"),
            _ => tracing::debug!(
                status = status.as_u16(),
                code = self.code(),
                "request refused"
            ),
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = &self
        {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from((*retry_after_secs).max(1)),
            );
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // the body may not have been read to its end: close rather than reuse the connection
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(f) => ApiError::Invalid(f),
            ServiceError::BadRows(rows) => ApiError::BadRows(rows),
            e @ ServiceError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ServiceError::Unauthenticated => ApiError::Unauthenticated("not authenticated".into()),
            e @ (ServiceError::Forbidden(_) | ServiceError::Refused { .. }) => {
                ApiError::Forbidden(e.to_string())
            }
            e @ ServiceError::Conflict(_) => ApiError::Conflict(e.to_string()),
            e @ ServiceError::RateLimited { retry_after_secs } => ApiError::RateLimited {
                message: e.to_string(),
                retry_after_secs,
            },
            ServiceError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

/// serde's messages end in ` at line 1 column 42`; the position is of little
/// use in a small body and the message reads better without it.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

/// The text between the first pair of backticks: serde names fields so
/// (``missing field `date` ``, ``unknown field `foo`, expected one of …``).
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Split axum's rejection text (`Failed to …: <path>: <serde message>`) into
/// the field serde was at, and its message.
fn field_and_message(text: &str) -> (Option<String>, String) {
    let detail = text.split_once(": ").map_or(text, |(_, rest)| rest);
    let detail = strip_position(detail);
    // serde_path_to_error puts `path: ` first when the path is known
    let (path, message) = match detail.split_once(": ") {
        Some((p, m)) if !p.is_empty() && !p.contains(' ') && !p.contains('`') => {
            (Some(p.to_owned()), m)
        }
        _ => (None, detail),
    };
    let named = if message.starts_with("missing field") || message.starts_with("unknown field") {
        backticked(message).map(str::to_owned)
    } else {
        None
    };
    let field = match (path, named) {
        // for an unknown field the path already ends in it
        (Some(p), Some(n)) if p == n || p.ends_with(&format!(".{n}")) => Some(p),
        (Some(p), Some(n)) if p != "." => Some(format!("{p}.{n}")),
        (_, Some(n)) => Some(n),
        (p, None) => p.filter(|p| p != "."),
    };
    let mut message = message.to_owned();
    if let Some(first) = message.get(..1) {
        message = first.to_lowercase() + &message[1..];
    }
    (field, message.trim_end_matches('.').to_owned())
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => {
                let (field, message) = field_and_message(&e.body_text());
                ApiError::BadJson {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    field,
                    message,
                }
            }
            JsonRejection::JsonSyntaxError(e) => {
                let (_, message) = field_and_message(&e.body_text());
                ApiError::BadJson {
                    status: StatusCode::BAD_REQUEST,
                    field: None,
                    message: format!("the body is not valid JSON: {message}"),
                }
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "expected a body with content-type application/json".into(),
            ),
            JsonRejection::BytesRejection(e) => ApiError::from(e),
            other => ApiError::BadJson {
                status: other.status(),
                field: None,
                message: other.body_text().to_lowercase(),
            },
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadJson {
                status: r.status(),
                field: None,
                message: "cannot read the request body".into(),
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        let (field, message) = field_and_message(&r.body_text());
        ApiError::BadParameter {
            field,
            message: format!("bad query string: {message}"),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        let (field, message) = field_and_message(&r.body_text());
        ApiError::BadParameter {
            field,
            message: format!("bad path: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_name_the_field() {
        let (f, m) = field_and_message(
            "Failed to deserialize the JSON body into the target type: missing field `date` at line 1 column 20",
        );
        assert_eq!(f.as_deref(), Some("date"));
        assert_eq!(m, "missing field `date`");

        let (f, m) = field_and_message(
            "Failed to deserialize the JSON body into the target type: values: invalid type: string \"x\", expected a map at line 1 column 9",
        );
        assert_eq!(f.as_deref(), Some("values"));
        assert_eq!(m, "invalid type: string \"x\", expected a map");

        let (f, _) = field_and_message(
            "Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `form`, `date` at line 1 column 9",
        );
        assert_eq!(f.as_deref(), Some("colour"));
    }

    #[test]
    fn state_machine_rules_are_named() {
        let refused = fangkong_domain::case::CaseRuleError {
            rule: fangkong_domain::case::CaseRule::FutureDate,
            field: "onset_date",
            message: "2099-01-01 is after today (2020-02-01)".into(),
        };
        let e = ApiError::Invalid(FieldError::from(refused));
        assert_eq!(e.body().error.rule.as_deref(), Some("future_date"));
        assert_eq!(e.body().error.field.as_deref(), Some("onset_date"));
        let e = ApiError::invalid("date", "must be YYYY-MM-DD (got 1) (future_date)");
        assert_eq!(e.body().error.rule, None, "a rule is data, not text");
    }

    #[test]
    fn internal_errors_stay_inside() {
        let e = ApiError::from(ServiceError::Internal(anyhow::anyhow!(
            "password=hunter2 at /var/db"
        )));
        let body = serde_json::to_string(&e.body()).unwrap_or_default();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(body.contains("\"code\":\"internal\""), "{body}");
    }
}
