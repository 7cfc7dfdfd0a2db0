//! Directives, the public tip line and the task list (R10, R11).
//!
//! A *directive* (部署 / 指令) goes from a command level to units below it:
//! a text, a deadline and the target regions. Each target moves through
//! `issued → acknowledged → completed` by [`Target::apply`], which returns
//! the next state or refuses with the rule the event would break; nothing
//! goes back. A target is *overdue* when the deadline has passed and it is
//! not completed.
//!
//! A *tip* (举报) comes from the public: what happened, where, and perhaps a
//! way to reach the sender. It is a task of the unit responsible for that
//! place — the county containing it, or the place itself when it lies above
//! the counties — and the contact is personal data: only that unit sees it.
//!
//! # The rules
//!
//! | code | refused |
//! |---|---|
//! | `not_a_command_level` | a directive issued by a role that is not a command level (national, provincial, city, county) |
//! | `no_targets` | a directive without target regions |
//! | `too_many_targets` | a directive with more than [`MAX_TARGETS`] targets |
//! | `duplicate_target` | the same region named twice |
//! | `target_not_below_issuer` | a target that is not strictly below the issuer's region |
//! | `deadline_passed` | a directive whose deadline is not after its issue |
//! | `already_acknowledged` | `Acknowledge` an acknowledged target |
//! | `already_completed` | any event on a completed target |
//! | `before_issue` | an event dated before the directive was issued |
//! | `before_acknowledgement` | `Complete` dated before the acknowledgement |
//! | `completion_needs_note` | `Complete` without a report (the note) |
//! | `already_handled` | handling a tip that was handled |
//! | `too_many_links` | a tip whose text holds more than [`MAX_TIP_LINKS`] links, or a contact holding one |
//!
//! Completing an issued target acknowledges it at the same moment.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::case::code_enum;
use crate::region::{path_codes, Level, Region, RegionCode};
use crate::user::Role;
use crate::FieldError;

/// The most target regions one directive may name.
pub const MAX_TARGETS: usize = 1000;
/// The longest directive text, in characters.
pub const MAX_DIRECTIVE_CHARS: usize = 2000;
/// The longest note (a completion report, a tip's handling), in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// The longest tip text, in characters.
pub const MAX_TIP_CHARS: usize = 1000;
/// The longest tip contact, in characters.
pub const MAX_CONTACT_CHARS: usize = 100;
/// The most links a tip's text may hold.
pub const MAX_TIP_LINKS: usize = 1;

/// Trimmed text of 1..=`max` characters; line breaks and tabs are allowed,
/// other control characters are not.
fn parse_long_text(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// How many links a text holds: `http://`, `https://` and `www.` anywhere,
/// case-insensitive.
pub fn count_links(s: &str) -> usize {
    let lower = s.to_lowercase();
    ["http://", "https://", "www."]
        .iter()
        .map(|p| lower.matches(p).count())
        .sum::<usize>()
        // `https://www.x` and `http://www.x` are one link each
        - lower.matches("://www.").count()
}

macro_rules! text_value {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, FieldError> {
                parse_long_text($field, s, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value! {
    /// What a directive orders: 1–2000 characters.
    DirectiveText, "text", MAX_DIRECTIVE_CHARS
}

text_value! {
    /// A note: the report of a completed target, the outcome of a handled
    /// tip. 1–2000 characters.
    Note, "note", MAX_NOTE_CHARS
}

/// What a tip reports: 1–1000 characters, at most [`MAX_TIP_LINKS`] links.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TipText(String);

impl TipText {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = parse_long_text("what", s, MAX_TIP_CHARS)?;
        if count_links(&s) > MAX_TIP_LINKS {
            return Err(
                FieldError::new("what", format!("must hold at most {MAX_TIP_LINKS} link"))
                    .with_rule("too_many_links"),
            );
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How to reach the sender of a tip: free text of 1–100 characters, no
/// links. Personal data: `Debug` does not show it, and only the unit
/// responsible for the tip ever reads it ([`TipContact::reveal`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TipContact(String);

impl TipContact {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = crate::case::parse_text("contact", s, MAX_CONTACT_CHARS)?;
        if count_links(&s) > 0 {
            return Err(
                FieldError::new("contact", "must not hold a link").with_rule("too_many_links")
            );
        }
        Ok(Self(s))
    }

    /// The contact itself: for storage and the responsible unit only.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TipContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TipContact(***)")
    }
}

/// Whether a role is a command level (指挥部) and may issue directives.
pub fn is_command_role(role: Role) -> bool {
    matches!(
        role,
        Role::National | Role::Provincial | Role::City | Role::County
    )
}

/// Check who issues a directive to which regions, and when it is due.
/// `targets` are the regions named, in order; the first rule broken refuses.
pub fn check_directive(
    role: Role,
    issuer: &Region,
    targets: &[Region],
    issued_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Result<(), FieldError> {
    if !is_command_role(role) {
        return Err(FieldError::new(
            "role",
            format!(
                "a {} user cannot issue directives; command levels (national, provincial, city, county) can",
                role.name()
            ),
        )
        .with_rule("not_a_command_level"));
    }
    if targets.is_empty() {
        return Err(
            FieldError::new("targets", "name at least one target region").with_rule("no_targets"),
        );
    }
    if targets.len() > MAX_TARGETS {
        return Err(
            FieldError::new("targets", format!("at most {MAX_TARGETS} target regions"))
                .with_rule("too_many_targets"),
        );
    }
    for (i, t) in targets.iter().enumerate() {
        if targets[..i].iter().any(|o| o.code == t.code) {
            return Err(
                FieldError::new("targets", format!("region {} is named twice", t.code))
                    .with_rule("duplicate_target"),
            );
        }
        if !issuer.contains(t) || t.code == issuer.code {
            return Err(FieldError::new(
                "targets",
                format!(
                    "region {} is not below the issuer's region {}",
                    t.code, issuer.code
                ),
            )
            .with_rule("target_not_below_issuer"));
        }
    }
    if deadline <= issued_at {
        return Err(
            FieldError::new("deadline", "must be after the time of issue")
                .with_rule("deadline_passed"),
        );
    }
    Ok(())
}

code_enum! {
    /// Where one target of a directive stands.
    pub enum TargetStatus ("status") {
        /// Sent; the unit has not answered.
        Issued = "issued",
        /// The unit has seen it and is acting.
        Acknowledged = "acknowledged",
        /// The unit reported it done.
        Completed = "completed",
    }
}

/// Whether something due at `deadline` and not completed is late at `now`.
pub fn overdue(status: TargetStatus, deadline: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status != TargetStatus::Completed && now > deadline
}

/// What a target unit does with a directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetEvent {
    Acknowledge {
        by: String,
        at: DateTime<Utc>,
    },
    /// The completion report; completing an issued target acknowledges it too.
    Complete {
        by: String,
        at: DateTime<Utc>,
        note: Option<Note>,
    },
}

impl TargetEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            TargetEvent::Acknowledge { at, .. } | TargetEvent::Complete { at, .. } => *at,
        }
    }

    /// `acknowledge` or `complete`.
    pub fn name(&self) -> &'static str {
        match self {
            TargetEvent::Acknowledge { .. } => "acknowledge",
            TargetEvent::Complete { .. } => "complete",
        }
    }
}

/// One target unit's state for one directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub region: RegionCode,
    pub status: TargetStatus,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The completion report; empty until completed.
    pub note: Option<Note>,
}

impl Target {
    /// A target as issued.
    pub fn issued(region: RegionCode) -> Target {
        Target {
            region,
            status: TargetStatus::Issued,
            acknowledged_by: None,
            acknowledged_at: None,
            completed_by: None,
            completed_at: None,
            note: None,
        }
    }

    /// The next state after `event`, or the rule it breaks. `issued_at` is
    /// when the directive was issued.
    pub fn apply(
        &self,
        event: &TargetEvent,
        issued_at: DateTime<Utc>,
    ) -> Result<Target, FieldError> {
        if self.status == TargetStatus::Completed {
            return Err(FieldError::new(
                "status",
                format!(
                    "the target {} has completed the directive already",
                    self.region
                ),
            )
            .with_rule("already_completed"));
        }
        if event.at() < issued_at {
            return Err(
                FieldError::new("at", "dated before the directive was issued")
                    .with_rule("before_issue"),
            );
        }
        let mut next = self.clone();
        match event {
            TargetEvent::Acknowledge { by, at } => {
                if self.status == TargetStatus::Acknowledged {
                    return Err(FieldError::new(
                        "status",
                        format!(
                            "the target {} has acknowledged the directive already",
                            self.region
                        ),
                    )
                    .with_rule("already_acknowledged"));
                }
                next.status = TargetStatus::Acknowledged;
                next.acknowledged_by = Some(by.clone());
                next.acknowledged_at = Some(*at);
            }
            TargetEvent::Complete { by, at, note } => {
                let Some(note) = note else {
                    return Err(FieldError::new(
                        "note",
                        "report what was done: a completion needs a note",
                    )
                    .with_rule("completion_needs_note"));
                };
                if let Some(acked) = self.acknowledged_at {
                    if *at < acked {
                        return Err(FieldError::new("at", "dated before the acknowledgement")
                            .with_rule("before_acknowledgement"));
                    }
                } else {
                    next.acknowledged_by = Some(by.clone());
                    next.acknowledged_at = Some(*at);
                }
                next.status = TargetStatus::Completed;
                next.completed_by = Some(by.clone());
                next.completed_at = Some(*at);
                next.note = Some(note.clone());
            }
        }
        Ok(next)
    }
}

code_enum! {
    /// Where a tip stands.
    pub enum TipStatus ("status") {
        /// Received, not yet dealt with.
        Open = "open",
        /// The responsible unit dealt with it.
        Handled = "handled",
    }
}

/// Check that a tip in `status` may be handled.
pub fn check_handle_tip(status: TipStatus) -> Result<(), FieldError> {
    match status {
        TipStatus::Open => Ok(()),
        TipStatus::Handled => {
            Err(FieldError::new("status", "the tip was handled already")
                .with_rule("already_handled"))
        }
    }
}

/// The unit responsible for what happens in `region`: the county containing
/// it, or the region itself at county level and above. Its code and path.
pub fn responsible_unit(region: &Region) -> (RegionCode, String) {
    if region.level <= Level::County {
        return (region.code.clone(), region.path.clone());
    }
    let county = Level::County.depth() as usize;
    let codes = path_codes(&region.path);
    match codes.get(county) {
        Some(code) => {
            let path: String = codes[..=county]
                .iter()
                .map(|c| format!("/{c}"))
                .collect::<String>()
                + "/";
            (code.clone(), path)
        }
        // a path shorter than its level says: the region itself
        None => (region.code.clone(), region.path.clone()),
    }
}

code_enum! {
    /// What an item of the task list is.
    pub enum TaskKind ("kind") {
        /// A directive to the unit: acknowledge and complete it.
        Directive = "directive",
        /// A tip from the public line.
        Tip = "tip",
        /// An early-warning alert not yet closed.
        Alert = "alert",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2020, 1, 25, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn region(path: &str, level: Level) -> Region {
        let codes = path_codes(path);
        Region {
            code: codes.last().unwrap().clone(),
            parent: codes.len().checked_sub(2).map(|i| codes[i].clone()),
            name: String::new(),
            level,
            path: path.to_owned(),
        }
    }

    fn hubei() -> Region {
        region("/000000/420000/", Level::Province)
    }

    #[test]
    fn texts_are_checked() {
        assert!(DirectiveText::parse("  封闭管理  ").unwrap().as_str() == "封闭管理");
        assert!(DirectiveText::parse("line one\nline two").is_ok());
        assert_eq!(DirectiveText::parse(" ").unwrap_err().field, "text");
        assert!(DirectiveText::parse(&"x".repeat(2000)).is_ok());
        assert!(DirectiveText::parse(&"x".repeat(2001)).is_err());
        assert!(DirectiveText::parse("a\u{7}b").is_err());
        assert!(TipText::parse(&"字".repeat(1000)).is_ok());
        assert!(TipText::parse(&"字".repeat(1001)).is_err());
        assert!(TipContact::parse(&"1".repeat(101)).is_err());
        assert_eq!(
            format!("{:?}", TipContact::parse("13800000000").unwrap()),
            "TipContact(***)"
        );
    }

    #[test]
    fn link_stuffed_tips_are_refused() {
        assert_eq!(
            count_links("see https://www.a.cn and www.b.cn, http://c"),
            3
        );
        assert!(TipText::parse("gathering at the market, photo https://x.cn/1").is_ok());
        let e = TipText::parse("buy http://a.cn http://b.cn").unwrap_err();
        assert_eq!((e.field.as_str(), e.rule), ("what", Some("too_many_links")));
        assert_eq!(
            TipContact::parse("www.spam.cn").unwrap_err().rule,
            Some("too_many_links")
        );
    }

    #[test]
    fn directives_are_checked() {
        let wuhan = region("/000000/420000/420100/", Level::City);
        let yichang = region("/000000/420000/420500/", Level::City);
        let hunan = region("/000000/430000/", Level::Province);
        let ok = check_directive(
            Role::Provincial,
            &hubei(),
            &[wuhan.clone(), yichang.clone()],
            t(0),
            t(24),
        );
        assert!(ok.is_ok());
        let rule = |r: Result<(), FieldError>| r.unwrap_err().rule;
        assert_eq!(
            rule(check_directive(
                Role::Grid,
                &hubei(),
                std::slice::from_ref(&wuhan),
                t(0),
                t(24)
            )),
            Some("not_a_command_level")
        );
        assert_eq!(
            rule(check_directive(
                Role::Provincial,
                &hubei(),
                &[],
                t(0),
                t(24)
            )),
            Some("no_targets")
        );
        assert_eq!(
            rule(check_directive(
                Role::Provincial,
                &hubei(),
                &[wuhan.clone(), wuhan.clone()],
                t(0),
                t(24)
            )),
            Some("duplicate_target")
        );
        assert_eq!(
            rule(check_directive(
                Role::Provincial,
                &hubei(),
                &[hubei()],
                t(0),
                t(24)
            )),
            Some("target_not_below_issuer")
        );
        assert_eq!(
            rule(check_directive(
                Role::Provincial,
                &hubei(),
                &[hunan],
                t(0),
                t(24)
            )),
            Some("target_not_below_issuer")
        );
        assert_eq!(
            rule(check_directive(
                Role::Provincial,
                &hubei(),
                &[wuhan],
                t(5),
                t(5)
            )),
            Some("deadline_passed")
        );
    }

    #[test]
    fn a_target_moves_forward_only() {
        let issued = Target::issued(RegionCode::parse("420100").unwrap());
        let ack = TargetEvent::Acknowledge {
            by: "wuhan".into(),
            at: t(1),
        };
        let done = |h, note: Option<&str>| TargetEvent::Complete {
            by: "wuhan".into(),
            at: t(h),
            note: note.map(|n| Note::parse(n).unwrap()),
        };
        let acked = issued.apply(&ack, t(0)).unwrap();
        assert_eq!(acked.status, TargetStatus::Acknowledged);
        assert_eq!(
            acked.apply(&ack, t(0)).unwrap_err().rule,
            Some("already_acknowledged")
        );
        let completed = acked.apply(&done(3, Some("all closed")), t(0)).unwrap();
        assert_eq!(completed.status, TargetStatus::Completed);
        assert_eq!(completed.acknowledged_at, Some(t(1)));
        assert_eq!(completed.note.as_ref().unwrap().as_str(), "all closed");
        for e in [ack.clone(), done(4, Some("again"))] {
            assert_eq!(
                completed.apply(&e, t(0)).unwrap_err().rule,
                Some("already_completed")
            );
        }
        // completing implies acknowledging
        let direct = issued.apply(&done(2, Some("done")), t(0)).unwrap();
        assert_eq!(direct.status, TargetStatus::Completed);
        assert_eq!(direct.acknowledged_at, Some(t(2)));
        assert_eq!(direct.acknowledged_by.as_deref(), Some("wuhan"));
        assert_eq!(
            issued.apply(&done(2, None), t(0)).unwrap_err().rule,
            Some("completion_needs_note")
        );
        assert_eq!(
            issued.apply(&ack, t(2)).unwrap_err().rule,
            Some("before_issue")
        );
        assert_eq!(
            acked.apply(&done(0, Some("x")), t(0)).unwrap_err().rule,
            Some("before_acknowledgement")
        );
    }

    #[test]
    fn overdue_is_late_and_not_completed() {
        assert!(overdue(TargetStatus::Issued, t(1), t(2)));
        assert!(overdue(TargetStatus::Acknowledged, t(1), t(2)));
        assert!(!overdue(TargetStatus::Completed, t(1), t(2)));
        assert!(!overdue(TargetStatus::Issued, t(2), t(1)));
    }

    #[test]
    fn tips_go_to_the_county() {
        let village = region(
            "/000000/420000/420100/420102/420102001/420102001001/",
            Level::Village,
        );
        let (code, path) = responsible_unit(&village);
        assert_eq!(code.as_str(), "420102");
        assert_eq!(path, "/000000/420000/420100/420102/");
        let city = region("/000000/420000/420100/", Level::City);
        assert_eq!(
            responsible_unit(&city),
            (city.code.clone(), city.path.clone())
        );
        assert!(check_handle_tip(TipStatus::Open).is_ok());
        assert_eq!(
            check_handle_tip(TipStatus::Handled).unwrap_err().rule,
            Some("already_handled")
        );
        assert_eq!("tip".parse::<TaskKind>().unwrap(), TaskKind::Tip);
    }
}
