//! The one error the domain returns: which field broke which rule.

use std::fmt;

/// A rule broken by one input field. `field` names the input (`region_code`,
/// `date`, `values.new_confirmed`, …) and `reason` says what is wrong with it,
/// in lowercase and without a trailing period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}
