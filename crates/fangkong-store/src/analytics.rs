//! Records of the risk-assessment area: aberration alerts and county risk levels.

use chrono::{DateTime, NaiveDate, Utc};

use fangkong_domain::alert::{AlertMethod, AlertStatus, AlertVerdict, RiskLevel};
use fangkong_domain::region::RegionCode;

/// An aberration signal on one field of one region's reports: raised once,
/// extended while the signal lasts, acknowledged, then closed with a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: i64,
    pub form: String,
    pub field: String,
    pub region: RegionCode,
    /// The method whose figures the alert shows (the strongest day's).
    pub method: AlertMethod,
    /// Every method that flagged the signal.
    pub methods: Vec<AlertMethod>,
    /// The first and the last day on which the method signalled.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The observation, what the baseline expected, the statistic and its
    /// threshold, on the day the signal peaked.
    pub observed: f64,
    pub expected: f64,
    pub statistic: f64,
    pub threshold: f64,
    pub status: AlertStatus,
    pub verdict: Option<AlertVerdict>,
    pub note: String,
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_by: Option<String>,
    pub closed_by: Option<String>,
}

/// Which alerts to list.
#[derive(Debug, Clone)]
pub struct AlertFilter {
    /// The subtree (a region's path).
    pub path: String,
    /// Only alerts in these states (all when empty).
    pub statuses: Vec<AlertStatus>,
    /// Only alerts whose signal lasted until this day or later.
    pub since: Option<NaiveDate>,
    pub limit: u32,
}

/// A region's risk level on one day, with the figures it was decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskRow {
    pub region: RegionCode,
    pub date: NaiveDate,
    pub level: RiskLevel,
    /// New confirmed cases within the window that ends on `date`.
    pub new_in_window: i64,
    /// Confirmed cases since the start, up to `date`.
    pub cumulative: i64,
    /// Whether a cluster was known within the window.
    pub cluster: bool,
}

/// A day on which a region's level differs from its level the day before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskChange {
    pub row: RiskRow,
    /// `None` on the first day the region was assessed.
    pub from: Option<RiskLevel>,
}
