//! The errors of the use cases. The HTTP layer maps each to a status and a
//! stable code; the CLI prints the message.

use fangkong_domain::policy::Action;
use fangkong_domain::user::Role;
use fangkong_domain::FieldError;
use fangkong_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a rule; names the field.
    #[error("{0}")]
    Invalid(#[from] FieldError),
    /// Several rows of a file are bad; nothing was imported.
    #[error("{} bad rows; nothing was imported", .0.len())]
    BadRows(Vec<RowError>),
    #[error("{0} not found")]
    NotFound(String),
    /// Not logged in, or the token has expired.
    #[error("not authenticated")]
    Unauthenticated,
    /// Logged in, but outside this user's jurisdiction or role.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The policy table gives this role no grant for this action.
    #[error("forbidden: a {} user may not {} ({})", .role, .action.label_en(), .action)]
    Refused { role: Role, action: Action },
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many failed logins: wait this many seconds.
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::Conflict(what) => ServiceError::Conflict(what),
            StoreError::OutOfRange(what) => ServiceError::Invalid(FieldError::new(
                "values",
                format!("a total over the regions above would leave the integer range ({what}); nothing was written"),
            )),
            StoreError::Other(e) => ServiceError::Internal(e),
        }
    }
}

/// One bad row of an imported file: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.reason
        )
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
