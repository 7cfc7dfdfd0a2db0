//! Need to know (R12), as one table: which role may do which action, and
//! over what scope.
//!
//! Every use case names its [`Action`] and asks [`scope`] (through the
//! service's `Principal::require`); every HTTP route names its action in
//! the server's route table, and a route that is not there is refused. The
//! table is written out for people in `docs/policy.md`, which a test keeps
//! equal to [`markdown`].
//!
//! A role without a row for an action may not do it at all. The scope says
//! how far a role that may act reaches:
//!
//! - [`Scope::Everyone`]: what the public page shows, to anyone, signed in
//!   or not;
//! - [`Scope::Account`]: the caller's own account only;
//! - [`Scope::OwnSite`]: what the caller's own site holds or recorded (a
//!   hospital's patients, admitted there wherever they live; the contacts
//!   observed at an isolation site);
//! - [`Scope::Subtree`]: the caller's home region and everything below it.

use std::fmt;
use std::str::FromStr;

use crate::user::Role;
use crate::FieldError;

/// How far a grant reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Everyone,
    Account,
    OwnSite,
    Subtree,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Everyone => "everyone",
            Scope::Account => "own account",
            Scope::OwnSite => "own site",
            Scope::Subtree => "subtree",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Scope::Everyone => "所有人",
            Scope::Account => "本人账户",
            Scope::OwnSite => "本机构",
            Scope::Subtree => "本辖区及以下",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $zh:literal, $en:literal;)*) => {
        /// Something a caller does. One per use case a user can be allowed or
        /// refused, not one per route: several routes may share an action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The action's code name (`read_cases`), as the API and the docs spell it.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            pub fn label_zh(self) -> &'static str {
                match self { $(Action::$variant => $zh,)* }
            }

            pub fn label_en(self) -> &'static str {
                match self { $(Action::$variant => $en,)* }
            }
        }
    };
}

actions! {
    /// The public page: the bulletin, released figures, errata, open data,
    /// the region tree and the forms.
    ReadPublic = "read_public", "查看公开信息", "read what is published";
    /// The public tip line.
    SubmitTip = "submit_tip", "举报", "send a tip";
    /// Log in (anyone may try; the password decides).
    SignIn = "sign_in", "登录", "sign in";
    /// One's own account: who am I, change my password, log out.
    ManageAccount = "manage_account", "管理本人账户", "manage one's own account";

    /// File and correct the daily report of a unit, by hand or from a file.
    FileReport = "file_report", "填报日报", "file daily reports";
    /// Read filed reports with their versions and filers, figures, series and completeness.
    ReadReports = "read_reports", "查看报告与汇总", "read reports and figures";
    /// Export reports as files.
    ExportReports = "export_reports", "导出报告", "export reports";
    /// Review a report, and list the reports waiting for review.
    ReviewReports = "review_reports", "审核报告", "review reports";

    /// The command dashboard: epidemic curves, Rt, growth, forecasts, risk levels.
    ReadAnalytics = "read_analytics", "查看研判分析", "read risk assessment";
    ReadAlerts = "read_alerts", "查看预警", "read alerts";
    /// Run the aberration methods and the risk assessment.
    RunAlerts = "run_alerts", "运行预警与风险评估", "run alerts and risk assessment";
    /// Acknowledge and close alerts.
    HandleAlerts = "handle_alerts", "处置预警", "handle alerts";

    /// Release the day's figures to the public, with errata.
    Publish = "publish", "发布疫情信息", "publish figures";

    IssueDirectives = "issue_directives", "下达指令", "issue directives";
    /// Read directives and the task list, acknowledge and complete directives.
    WorkTasks = "work_tasks", "办理任务", "work on directives and tasks";
    /// Read the tips sent to a unit (with the tipster's contact) and handle them.
    HandleTips = "handle_tips", "处理举报", "handle tips";

    /// Report a suspected case.
    ReportCase = "report_case", "报告疑似病例", "report a suspected case";
    /// Confirm, exclude or revise a case's classification; report it as confirmed.
    ClassifyCase = "classify_case", "诊断分类", "classify cases";
    /// Record severity, admission and transfer, discharge, death.
    TreatCase = "treat_case", "记录救治", "record treatment";
    /// The case line list, with the people's data.
    ReadCases = "read_cases", "查看病例个案", "read the case line list";
    /// Transmission chains, clusters, spreaders.
    ReadChains = "read_chains", "查看传播链", "read transmission chains";
    /// Register close contacts and link them to cases.
    RegisterContacts = "register_contacts", "登记密切接触者", "register close contacts";
    /// The close contacts, with the people's data.
    ReadContacts = "read_contacts", "查看密切接触者", "read close contacts";
    /// The daily follow-up list (who to visit, where) and its checks.
    FollowUp = "follow_up", "医学观察随访", "follow up contacts";
    /// A contact who falls ill becomes a suspected case.
    ConvertContact = "convert_contact", "密接转疑似", "convert a contact to a suspected case";
    /// Review candidate pairs of one person's records and merge them.
    ReviewPersons = "review_persons", "人员查重合并", "review person matches";
    /// The line list's figures beside the filed reports.
    ReadLineListFigures = "read_line_list_figures", "核对个案与报告", "compare the line list with reports";
    /// Load case and contact files.
    ImportLineList = "import_line_list", "导入个案", "import line lists";
    /// The de-identified line list for researchers.
    ExportDeidentified = "export_deidentified", "导出脱敏个案", "export the de-identified line list";

    ReadUsers = "read_users", "查看用户", "read users";
    /// Create users and end their sessions.
    ManageUsers = "manage_users", "管理用户", "manage users";
    /// Read the audit trail and verify the hash chains.
    ReadAudit = "read_audit", "查看审计", "read and verify the audit trail";
    /// Import a region tree.
    ManageRegions = "manage_regions", "管理区划", "manage regions";
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.name() == s)
            .ok_or_else(|| FieldError::new("action", format!("unknown action {s:?}")))
    }
}

/// One row of the table: `role` may do `action` over `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub action: Action,
    pub scope: Scope,
}

/// The roles of a command headquarters (指挥部), national to county.
const COMMAND: [Role; 4] = [Role::National, Role::Provincial, Role::City, Role::County];
/// Every role (and, for [`Scope::Everyone`], no one signed in at all).
const SIGNED_IN: [Role; 7] = Role::ALL;

/// The table. Read it by action: who may, and how far.
/// The roles given one scope of an action.
type Grants = &'static [(&'static [Role], Scope)];

const TABLE: &[(Action, Grants)] = {
    use Action::*;
    use Role::{Facility, Grid, National, Provincial};
    use Scope::*;
    &[
        (ReadPublic, &[(&SIGNED_IN, Everyone)]),
        (SubmitTip, &[(&SIGNED_IN, Everyone)]),
        (SignIn, &[(&SIGNED_IN, Everyone)]),
        (ManageAccount, &[(&SIGNED_IN, Account)]),
        // a site's own forms (beds) come with the treatment work; until then
        // a facility files and reads no region's reports
        (FileReport, &[(&COMMAND, Subtree), (&[Grid], Subtree)]),
        (ReadReports, &[(&COMMAND, Subtree), (&[Grid], Subtree)]),
        (ExportReports, &[(&COMMAND, Subtree)]),
        (ReviewReports, &[(&COMMAND, Subtree)]),
        (ReadAnalytics, &[(&COMMAND, Subtree)]),
        (ReadAlerts, &[(&COMMAND, Subtree)]),
        (RunAlerts, &[(&COMMAND, Subtree)]),
        (HandleAlerts, &[(&COMMAND, Subtree)]),
        (Publish, &[(&COMMAND, Subtree)]),
        (IssueDirectives, &[(&COMMAND, Subtree)]),
        (WorkTasks, &[(&COMMAND, Subtree), (&[Grid], Subtree)]),
        (HandleTips, &[(&COMMAND, Subtree), (&[Grid], Subtree)]),
        (
            ReportCase,
            &[
                (&COMMAND, Subtree),
                (&[Grid], Subtree),
                (&[Facility], OwnSite),
            ],
        ),
        (ClassifyCase, &[(&COMMAND, Subtree), (&[Facility], OwnSite)]),
        (TreatCase, &[(&COMMAND, Subtree), (&[Facility], OwnSite)]),
        (ReadCases, &[(&COMMAND, Subtree), (&[Facility], OwnSite)]),
        (ReadChains, &[(&COMMAND, Subtree)]),
        (RegisterContacts, &[(&COMMAND, Subtree)]),
        (ReadContacts, &[(&COMMAND, Subtree), (&[Facility], OwnSite)]),
        (
            FollowUp,
            &[
                (&COMMAND, Subtree),
                (&[Grid], Subtree),
                (&[Facility], OwnSite),
            ],
        ),
        (
            ConvertContact,
            &[
                (&COMMAND, Subtree),
                (&[Grid], Subtree),
                (&[Facility], OwnSite),
            ],
        ),
        (ReviewPersons, &[(&COMMAND, Subtree)]),
        (ReadLineListFigures, &[(&COMMAND, Subtree)]),
        (ImportLineList, &[(&COMMAND, Subtree)]),
        (ExportDeidentified, &[(&COMMAND, Subtree)]),
        (ReadUsers, &[(&COMMAND, Subtree)]),
        (ManageUsers, &[(&COMMAND, Subtree)]),
        (ReadAudit, &[(&[National], Subtree)]),
        (ManageRegions, &[(&[National, Provincial], Subtree)]),
    ]
};

/// Whether anyone, signed in or not, may do `action` (what the public page does).
pub fn is_public(action: Action) -> bool {
    Role::ALL
        .iter()
        .all(|r| scope(*r, action) == Some(Scope::Everyone))
}

/// How far `role` may do `action`; `None` when it may not at all.
pub fn scope(role: Role, action: Action) -> Option<Scope> {
    TABLE
        .iter()
        .find(|(a, _)| *a == action)
        .and_then(|(_, grants)| {
            grants
                .iter()
                .find(|(roles, _)| roles.contains(&role))
                .map(|(_, s)| *s)
        })
}

/// Every row of the table, by action then role.
pub fn grants() -> Vec<Grant> {
    let mut out = Vec::new();
    for &action in Action::ALL {
        for role in Role::ALL {
            if let Some(scope) = scope(role, action) {
                out.push(Grant {
                    role,
                    action,
                    scope,
                });
            }
        }
    }
    out
}

/// The actions `role` may do at all, in table order.
pub fn actions_of(role: Role) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| scope(role, *a).is_some())
        .collect()
}

/// The table as a Markdown page for people (`docs/policy.md`): one row per
/// action, one column per role.
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Who may do what (谁可以做什么)\n\n");
    s.push_str(
        "fangkong's need-to-know table (R12). Every screen, HTTP route and command goes \
         through it; a route that is not in it is refused. Generated from \
         `crates/fangkong-domain/src/policy.rs` (a test keeps this page equal to it).\n\n",
    );
    s.push_str(
        "Scopes: **subtree** = the user's home region and everything below it (本辖区及以下); \
         **own site** = what the user's own hospital or isolation site holds: its patients, \
         wherever they live, and the contacts observed there (本机构); **own account** = the \
         user's own account (本人账户); **everyone** = anyone, signed in or not (所有人). \
         An empty cell: not allowed (不允许).\n\n",
    );
    s.push_str("| action (操作) |");
    for role in Role::ALL {
        s.push_str(&format!(" {} ({}) |", role.name(), role.label_zh()));
    }
    s.push_str("\n|---|");
    for _ in Role::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for &action in Action::ALL {
        s.push_str(&format!(
            "| {} ({}, `{}`) |",
            action.label_en(),
            action.label_zh(),
            action.name()
        ));
        for role in Role::ALL {
            match scope(role, action) {
                Some(sc) => s.push_str(&format!(" {} |", sc.name())),
                None => s.push_str(" |"),
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_in_the_table_once() {
        for &a in Action::ALL {
            let rows = TABLE.iter().filter(|(x, _)| *x == a).count();
            assert_eq!(rows, 1, "{a} has {rows} rows in the table");
        }
        assert_eq!(TABLE.len(), Action::ALL.len());
        for (a, grants) in TABLE {
            for role in Role::ALL {
                let n = grants.iter().filter(|(r, _)| r.contains(&role)).count();
                assert!(n <= 1, "{a}: role {role} is granted {n} times");
            }
        }
    }

    #[test]
    fn need_to_know_defaults() {
        // the public reads what is published and sends tips, nothing else
        assert_eq!(
            actions_of(Role::Public),
            vec![
                Action::ReadPublic,
                Action::SubmitTip,
                Action::SignIn,
                Action::ManageAccount
            ]
        );
        // a grid worker follows up and reports a suspected case, but neither
        // reads the line list nor classifies
        assert_eq!(scope(Role::Grid, Action::FollowUp), Some(Scope::Subtree));
        assert_eq!(scope(Role::Grid, Action::ReportCase), Some(Scope::Subtree));
        assert_eq!(scope(Role::Grid, Action::ReadCases), None);
        assert_eq!(scope(Role::Grid, Action::FileReport), Some(Scope::Subtree));
        assert_eq!(scope(Role::Grid, Action::WorkTasks), Some(Scope::Subtree));
        assert_eq!(scope(Role::Grid, Action::ClassifyCase), None);
        assert_eq!(scope(Role::Grid, Action::ReviewPersons), None);
        assert_eq!(scope(Role::Grid, Action::RunAlerts), None);
        // a facility: its own patients only, no tips, no alerts
        assert_eq!(
            scope(Role::Facility, Action::ReadCases),
            Some(Scope::OwnSite)
        );
        assert_eq!(
            scope(Role::Facility, Action::TreatCase),
            Some(Scope::OwnSite)
        );
        assert_eq!(scope(Role::Facility, Action::FileReport), None);
        assert_eq!(scope(Role::Facility, Action::HandleTips), None);
        assert_eq!(scope(Role::Facility, Action::HandleAlerts), None);
        assert_eq!(scope(Role::Facility, Action::ReadChains), None);
        // command levels work over their subtree; the audit is national
        for role in COMMAND {
            assert_eq!(scope(role, Action::ReadCases), Some(Scope::Subtree));
            assert_eq!(scope(role, Action::Publish), Some(Scope::Subtree));
        }
        assert_eq!(scope(Role::County, Action::ReadAudit), None);
        assert_eq!(
            scope(Role::National, Action::ReadAudit),
            Some(Scope::Subtree)
        );
    }

    /// `docs/policy.md` is this table for people; `FANGKONG_BLESS=1 cargo
    /// test -p fangkong-domain policy` writes it anew after a change.
    #[test]
    fn the_docs_page_is_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md");
        let want = markdown();
        if std::env::var("FANGKONG_BLESS").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/policy.md differs from the policy table; run FANGKONG_BLESS=1 cargo test -p fangkong-domain policy"
        );
    }

    #[test]
    fn names_round_trip_and_the_page_lists_every_action() {
        let page = markdown();
        for &a in Action::ALL {
            assert_eq!(a.name().parse::<Action>().unwrap(), a);
            assert!(page.contains(&format!("`{}`", a.name())), "{a}");
        }
        assert!("fly".parse::<Action>().is_err());
        assert!(!grants().is_empty());
    }
}
