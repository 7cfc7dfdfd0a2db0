//! Early-warning alerts and county risk levels: the words the rest of the
//! system uses for them. The methods themselves live in `fangkong-analytics`.

use std::fmt;

/// How an aberration was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertMethod {
    /// CDC EARS C1: today against the 7 days before.
    EarsC1,
    /// CDC EARS C2: today against days t−9…t−3 (a 2-day guard band).
    EarsC2,
    /// CDC EARS C3: C2's excesses over the last 3 days summed.
    EarsC3,
    /// CIDARS moving percentile: the last 7 days against a percentile of the baseline.
    Cidars,
}

impl AlertMethod {
    pub const ALL: [AlertMethod; 4] = [
        AlertMethod::EarsC1,
        AlertMethod::EarsC2,
        AlertMethod::EarsC3,
        AlertMethod::Cidars,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AlertMethod::EarsC1 => "ears_c1",
            AlertMethod::EarsC2 => "ears_c2",
            AlertMethod::EarsC3 => "ears_c3",
            AlertMethod::Cidars => "cidars",
        }
    }

    pub fn parse(s: &str) -> Option<AlertMethod> {
        AlertMethod::ALL.into_iter().find(|m| m.name() == s)
    }
}

impl fmt::Display for AlertMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an alert stands. It is raised open, acknowledged by someone who has
/// looked at it, and closed with a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Closed,
}

impl AlertStatus {
    pub fn name(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        match s {
            "open" => Some(AlertStatus::Open),
            "acknowledged" => Some(AlertStatus::Acknowledged),
            "closed" => Some(AlertStatus::Closed),
            _ => None,
        }
    }
}

/// What a closed alert turned out to be, so a method's precision can be measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertVerdict {
    TrueSignal,
    FalseAlarm,
}

impl AlertVerdict {
    pub fn name(self) -> &'static str {
        match self {
            AlertVerdict::TrueSignal => "true_signal",
            AlertVerdict::FalseAlarm => "false_alarm",
        }
    }

    pub fn parse(s: &str) -> Option<AlertVerdict> {
        match s {
            "true_signal" => Some(AlertVerdict::TrueSignal),
            "false_alarm" => Some(AlertVerdict::FalseAlarm),
            _ => None,
        }
    }
}

/// A county's risk level (风险等级) under the February 2020 rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];

    pub fn name(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<RiskLevel> {
        RiskLevel::ALL.into_iter().find(|l| l.name() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RiskLevel::Low => "低风险",
            RiskLevel::Medium => "中风险",
            RiskLevel::High => "高风险",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RiskLevel::Low => "low risk",
            RiskLevel::Medium => "medium risk",
            RiskLevel::High => "high risk",
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in AlertMethod::ALL {
            assert_eq!(AlertMethod::parse(m.name()), Some(m));
        }
        for l in RiskLevel::ALL {
            assert_eq!(RiskLevel::parse(l.name()), Some(l));
        }
        for s in [
            AlertStatus::Open,
            AlertStatus::Acknowledged,
            AlertStatus::Closed,
        ] {
            assert_eq!(AlertStatus::parse(s.name()), Some(s));
        }
        for v in [AlertVerdict::TrueSignal, AlertVerdict::FalseAlarm] {
            assert_eq!(AlertVerdict::parse(v.name()), Some(v));
        }
        assert_eq!(RiskLevel::parse("severe"), None);
        assert!(RiskLevel::Low < RiskLevel::High);
    }
}
