//! The one error the domain returns: which field broke which rule.

use std::fmt;

/// A rule broken by one input field. `field` names the input (`region_code`,
/// `date`, `values.new_confirmed`, …) and `reason` says what is wrong with it,
/// in lowercase and without a trailing period. Where a state machine refused
/// the change, `rule` is the stable code of the rule (`dead_is_final`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
    pub rule: Option<&'static str>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
            rule: None,
        }
    }

    /// The same error, naming the rule broken.
    pub fn with_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}
