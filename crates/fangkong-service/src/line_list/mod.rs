//! The line list (R3–R5, R12): cases, close contacts under medical
//! observation, one record per person, and the chains and clusters of
//! transmission.
//!
//! - [`cases`]: reporting a case and every later event of it (checked by the
//!   domain's state machine, written with an optimistic version), reading
//!   and listing, and the epidemic figures the line list implies, compared
//!   with the filed reports.
//! - [`contacts`]: registering contacts, daily follow-up, the due list,
//!   conversion of a contact into a suspected case in one step.
//! - [`persons`]: matching people on entry and import, the review list of
//!   candidate pairs, merging.
//! - [`chains`]: the who-infected-whom graph, kept in memory while the
//!   stored graph generation stays the same; source chains, neighbourhoods,
//!   clusters, spreaders, exports.
//! - [`files`]: CSV line lists in (all-or-nothing, row errors) and the
//!   de-identified export.
//!
//! # Who sees what
//!
//! A case or contact is *visible* to a principal whose region contains its
//! person's home region **or** its reporting unit: where a case lives in one
//! county and is reported (treated) in another, both see it. Personal data
//! (name, ID number, phone, address) is never shown outside that; a chain
//! that crosses counties shows the other county's nodes with their id, kind,
//! region and dates only. The public role sees no line list at all. Audit
//! entries of the line list name the record and the change, never the
//! person's data.

pub mod cases;
pub mod chains;
pub mod contacts;
pub mod demo;
pub mod files;
pub mod persons;

use fangkong_domain::region::Region;

use crate::{Principal, Result, ServiceError};

/// Whether a record with these paths is visible to `who`.
pub(crate) fn visible(who: &Principal, home_path: &str, report_path: &str) -> bool {
    home_path.starts_with(&who.region.path) || report_path.starts_with(&who.region.path)
}

/// Roles that work with the line list: every role but the public.
pub(crate) fn require_line_list(who: &Principal) -> Result<()> {
    if !who.role.may_write() {
        return Err(ServiceError::Forbidden(format!(
            "role {} has no access to the line list",
            who.role
        )));
    }
    Ok(())
}

/// The unit that reports must lie in the principal's jurisdiction.
pub(crate) fn require_unit(who: &Principal, unit: &Region) -> Result<()> {
    if !who.covers(unit) {
        return Err(ServiceError::Forbidden(format!(
            "{} ({}) is outside the jurisdiction of {}",
            unit.name, unit.code, who.username
        )));
    }
    Ok(())
}
