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
//! Which role may do what is the policy table's (`fangkong_domain::policy`).
//! Over a *subtree*, a case or contact is *visible* to a principal whose
//! region contains its person's home region **or** its reporting unit:
//! where a case lives in one county and is reported (treated) in another,
//! both see it. At its *own site*, a hospital sees the cases admitted there
//! now, wherever they live, and an isolation site the contacts observed
//! there that its region registered; nothing else of the line list.
//! Personal data (name, ID number, phone, address) is never shown outside
//! that; a chain that crosses counties shows the other county's nodes with
//! their id, kind, region and dates only. The public role and grid workers
//! see no case line list (a grid worker sees the follow-up list of its
//! community). Audit entries of the line list name the record and the
//! change, never the person's data.

pub mod cases;
pub mod chains;
pub mod contacts;
pub mod demo;
pub mod files;
pub mod persons;

use fangkong_domain::case::Case;
use fangkong_domain::contact::{Contact, ObservationPlace};
use fangkong_domain::policy::{Action, Scope};
use fangkong_domain::region::Region;
use fangkong_store::{StoredCase, StoredContact};

use crate::{Principal, Result, ServiceError};

/// Whether a record with these paths lies in `who`'s subtree.
pub(crate) fn visible(who: &Principal, home_path: &str, report_path: &str) -> bool {
    home_path.starts_with(&who.region.path) || report_path.starts_with(&who.region.path)
}

/// Whether the case is admitted now at `who`'s own site.
pub(crate) fn at_site(who: &Principal, case: &Case) -> bool {
    match (who.facility(), case.admission()) {
        (Some(site), Some(admission)) => admission.facility == site,
        _ => false,
    }
}

/// Whether the contact is observed at `who`'s own site, registered in its region.
pub(crate) fn observed_at_site(who: &Principal, contact: &Contact, report_path: &str) -> bool {
    match (who.site.as_deref(), contact.place()) {
        (Some(mine), ObservationPlace::Centralised { site }) => {
            site.as_str() == mine && report_path.starts_with(&who.region.path)
        }
        _ => false,
    }
}

/// Whether `who` may do `action` to this case: over its subtree, or at its own site.
pub(crate) fn may_touch_case(who: &Principal, action: Action, c: &StoredCase) -> bool {
    match who.scope(action) {
        Some(Scope::Subtree) => visible(who, &c.entry.home_path, &c.entry.report_path),
        Some(Scope::OwnSite) => at_site(who, &c.entry.case),
        _ => false,
    }
}

/// Whether `who` may do `action` to this contact: over its subtree, or at its own site.
pub(crate) fn may_touch_contact(who: &Principal, action: Action, c: &StoredContact) -> bool {
    match who.scope(action) {
        Some(Scope::Subtree) => visible(who, &c.entry.home_path, &c.entry.report_path),
        Some(Scope::OwnSite) => observed_at_site(who, &c.entry.contact, &c.entry.report_path),
        _ => false,
    }
}

/// The unit that reports must lie in the principal's jurisdiction for
/// `action`: its subtree, or its own region when it acts for its site.
pub(crate) fn require_unit(who: &Principal, action: Action, unit: &Region) -> Result<()> {
    let inside = match who.require(action)? {
        Scope::Subtree => who.covers(unit),
        Scope::OwnSite => who.site.is_some() && unit.code == who.region.code,
        Scope::Everyone | Scope::Account => false,
    };
    if !inside {
        return Err(ServiceError::Forbidden(format!(
            "{} ({}) is outside the jurisdiction of {}",
            unit.name, unit.code, who.username
        )));
    }
    Ok(())
}
