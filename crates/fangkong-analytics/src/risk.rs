//! County risk levels (风险等级) by the rule China adopted in February 2020.
//!
//! The State Council's joint prevention and control mechanism issued
//! 《关于科学防治精准施策分区分级做好新冠肺炎疫情防控工作的指导意见》 on
//! 17 February 2020. It classified each county (县市区) every day:
//!
//! - **低风险 low**: no confirmed case, or no new confirmed case for 14
//!   consecutive days (无确诊病例或连续14天无新增确诊病例);
//! - **中风险 medium**: new confirmed cases within 14 days and a cumulative
//!   total of at most 50; or a cumulative total above 50 and no cluster
//!   (聚集性疫情) within 14 days;
//! - **高风险 high**: a cumulative total above 50 and a cluster within 14 days.
//!
//! Read as a decision, in this order, for day `d`:
//!
//! 1. no new confirmed case in the window → low (this takes precedence: a
//!    county past 50 cases with a cluster but 14 quiet days is low);
//! 2. cumulative > 50 and a cluster in the window → high;
//! 3. otherwise → medium.
//!
//! "Within 14 days" is the window of [`RiskRules::window_days`] days ending on
//! and including day `d` (`d − 13 … d`). A county whose last case was on day
//! `L` is therefore medium (or high) up to day `L + 13` and low from day
//! `L + 14`, its 14th consecutive day without a new case. The cumulative total
//! is the count before the series plus every new case up to and including
//! `d`. Both thresholds are configurable ([`RiskRules::new`]); the defaults
//! are the guideline's 14 days and 50 cases.
//!
//! Assumptions: days before the series had no new case and no cluster (start
//! the series at least one window before the first day whose level matters);
//! a negative daily count (never produced by `series::decumulate`) counts as
//! zero. Later guidance (2021–2022) classified smaller areas by other rules;
//! those are not implemented here.

use std::fmt;

pub use fangkong_domain::alert::RiskLevel;

/// The thresholds of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RiskRules {
    window_days: usize,
    cumulative_limit: i64,
}

/// Thresholds that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskRulesError {
    /// The window must cover at least one day.
    EmptyWindow,
    /// The cumulative limit must not be negative.
    NegativeLimit,
}

impl fmt::Display for RiskRulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RiskRulesError::EmptyWindow => write!(f, "the window must cover at least one day"),
            RiskRulesError::NegativeLimit => {
                write!(f, "the cumulative limit must not be negative")
            }
        }
    }
}

impl std::error::Error for RiskRulesError {}

impl Default for RiskRules {
    /// The guideline's 14 days and 50 cumulative cases.
    fn default() -> Self {
        RiskRules {
            window_days: 14,
            cumulative_limit: 50,
        }
    }
}

impl RiskRules {
    /// A window of `window_days` (≥ 1) days; high risk needs a cumulative
    /// total strictly above `cumulative_limit` (≥ 0).
    pub fn new(window_days: usize, cumulative_limit: i64) -> Result<Self, RiskRulesError> {
        if window_days == 0 {
            return Err(RiskRulesError::EmptyWindow);
        }
        if cumulative_limit < 0 {
            return Err(RiskRulesError::NegativeLimit);
        }
        Ok(RiskRules {
            window_days,
            cumulative_limit,
        })
    }

    pub fn window_days(&self) -> usize {
        self.window_days
    }

    pub fn cumulative_limit(&self) -> i64 {
        self.cumulative_limit
    }

    /// The rule applied to one day's facts.
    pub fn classify(&self, facts: Facts) -> RiskLevel {
        if facts.new_in_window == 0 {
            RiskLevel::Low
        } else if facts.cumulative > self.cumulative_limit && facts.cluster_in_window {
            RiskLevel::High
        } else {
            RiskLevel::Medium
        }
    }
}

/// One day of a county's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountyDay {
    /// New confirmed cases reported that day (新增确诊).
    pub new_confirmed: i64,
    /// Whether a cluster (聚集性疫情) was reported that day.
    pub cluster: bool,
}

/// What the rule looked at on one day: the reason for its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// New confirmed cases in the window ending on the day.
    pub new_in_window: i64,
    /// Confirmed cases up to and including the day.
    pub cumulative: i64,
    /// Whether a cluster was reported in the window.
    pub cluster_in_window: bool,
}

/// A county's level on one day, with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskDay {
    pub level: RiskLevel,
    pub facts: Facts,
}

/// The level of every day of `days`; `cumulative_before` is the confirmed
/// total before the first day. The result has the same length as `days`.
pub fn levels(days: &[CountyDay], cumulative_before: i64, rules: &RiskRules) -> Vec<RiskDay> {
    let window = rules.window_days;
    let cases = |d: &CountyDay| d.new_confirmed.max(0);
    let mut cumulative = cumulative_before;
    // Running sums over the window; i128 cannot overflow on i64 inputs.
    let mut new_in_window: i128 = 0;
    let mut clusters_in_window = 0usize;
    days.iter()
        .enumerate()
        .map(|(d, day)| {
            cumulative = cumulative.saturating_add(cases(day));
            new_in_window += i128::from(cases(day));
            clusters_in_window += usize::from(day.cluster);
            if let Some(left) = d.checked_sub(window).map(|i| &days[i]) {
                new_in_window -= i128::from(cases(left));
                clusters_in_window -= usize::from(left.cluster);
            }
            let facts = Facts {
                new_in_window: i64::try_from(new_in_window).unwrap_or(i64::MAX),
                cumulative,
                cluster_in_window: clusters_in_window > 0,
            };
            RiskDay {
                level: rules.classify(facts),
                facts,
            }
        })
        .collect()
}

/// A change of level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelChange {
    /// The first day at the new level.
    pub day: usize,
    /// The level the day before; `None` for the first day of the series, so
    /// the history starts with the initial level.
    pub from: Option<RiskLevel>,
    pub to: RiskLevel,
    /// The facts on `day` that gave the new level.
    pub facts: Facts,
}

/// The history of a county's levels: the first day, then every day whose
/// level differs from the day before.
pub fn changes(days: &[RiskDay]) -> Vec<LevelChange> {
    let mut previous: Option<RiskLevel> = None;
    let mut out = Vec::new();
    for (day, risk) in days.iter().enumerate() {
        if previous != Some(risk.level) {
            out.push(LevelChange {
                day,
                from: previous,
                to: risk.level,
                facts: risk.facts,
            });
            previous = Some(risk.level);
        }
    }
    out
}

/// Counties per level, for a roll-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub low: usize,
    pub medium: usize,
    pub high: usize,
}

impl Tally {
    pub fn count(&self, level: RiskLevel) -> usize {
        match level {
            RiskLevel::Low => self.low,
            RiskLevel::Medium => self.medium,
            RiskLevel::High => self.high,
        }
    }

    pub fn total(&self) -> usize {
        self.low + self.medium + self.high
    }
}

/// Counts the levels, e.g. of every county under a city on one day.
pub fn tally(levels: impl IntoIterator<Item = RiskLevel>) -> Tally {
    let mut t = Tally::default();
    for level in levels {
        match level {
            RiskLevel::Low => t.low += 1,
            RiskLevel::Medium => t.medium += 1,
            RiskLevel::High => t.high += 1,
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(counts: &[i64]) -> Vec<CountyDay> {
        counts
            .iter()
            .map(|&new_confirmed| CountyDay {
                new_confirmed,
                cluster: false,
            })
            .collect()
    }

    fn level_list(days: &[RiskDay]) -> Vec<RiskLevel> {
        days.iter().map(|d| d.level).collect()
    }

    use RiskLevel::{High, Low, Medium};

    #[test]
    fn labels_and_code_names() {
        assert_eq!(
            RiskLevel::ALL.map(RiskLevel::name),
            ["low", "medium", "high"]
        );
        assert_eq!(
            RiskLevel::ALL.map(RiskLevel::label_zh),
            ["低风险", "中风险", "高风险"]
        );
        assert_eq!(
            RiskLevel::ALL.map(RiskLevel::label_en),
            ["low risk", "medium risk", "high risk"]
        );
        for level in RiskLevel::ALL {
            assert_eq!(RiskLevel::parse(level.name()), Some(level));
            assert_eq!(level.to_string(), level.name());
        }
        assert_eq!(RiskLevel::parse("高风险"), None);
        assert!(Low < Medium && Medium < High);
    }

    #[test]
    fn no_case_at_all_is_low() {
        let days = levels(&cases(&[0; 20]), 0, &RiskRules::default());
        assert!(days.iter().all(|d| d.level == Low));
        assert_eq!(
            days[19].facts,
            Facts {
                new_in_window: 0,
                cumulative: 0,
                cluster_in_window: false
            }
        );
    }

    #[test]
    fn new_cases_with_at_most_fifty_cumulative_are_medium() {
        // 40 before the series, 10 on day 2: exactly 50 is not above 50,
        // even with a cluster.
        let mut days = cases(&[0, 0, 10, 0]);
        days[2].cluster = true;
        let out = levels(&days, 40, &RiskRules::default());
        assert_eq!(level_list(&out), [Low, Low, Medium, Medium]);
        assert_eq!(
            out[3].facts,
            Facts {
                new_in_window: 10,
                cumulative: 50,
                cluster_in_window: true
            }
        );
    }

    #[test]
    fn fifty_one_with_a_cluster_is_high_without_a_cluster_medium() {
        let mut days = cases(&[0, 11, 0]);
        let rules = RiskRules::default();
        assert_eq!(
            level_list(&levels(&days, 40, &rules)),
            [Low, Medium, Medium]
        );
        days[1].cluster = true;
        let out = levels(&days, 40, &rules);
        assert_eq!(level_list(&out), [Low, High, High]);
        assert_eq!(out[1].facts.cumulative, 51);
        // The cluster may be reported on a day without new cases.
        let mut later = cases(&[0, 11, 0]);
        later[2].cluster = true;
        assert_eq!(level_list(&levels(&later, 40, &rules)), [Low, Medium, High]);
    }

    #[test]
    fn the_fourteenth_quiet_day_is_low_the_thirteenth_is_not() {
        // Last case on day 0: days 1..=13 are 13 quiet days (medium), day 14
        // is the 14th (low).
        let mut counts = vec![0; 20];
        counts[0] = 3;
        let out = levels(&cases(&counts), 0, &RiskRules::default());
        assert_eq!(out[13].level, Medium);
        assert_eq!(out[13].facts.new_in_window, 3);
        assert_eq!(out[14].level, Low);
        assert_eq!(out[14].facts.new_in_window, 0);
        assert_eq!(out[14].facts.cumulative, 3);
    }

    #[test]
    fn quiet_days_take_precedence_over_cumulative_and_cluster() {
        // 100 cases and a cluster on day 0, nothing after: high until day 13,
        // low from day 14 although the cumulative total is far above 50.
        let mut days = cases(&[0; 16]);
        days[0] = CountyDay {
            new_confirmed: 100,
            cluster: true,
        };
        let out = levels(&days, 0, &RiskRules::default());
        assert_eq!(out[13].level, High);
        assert_eq!(out[14].level, Low);
        assert_eq!(
            out[14].facts,
            Facts {
                new_in_window: 0,
                cumulative: 100,
                cluster_in_window: false
            }
        );
    }

    #[test]
    fn a_cluster_leaves_the_window_after_fourteen_days() {
        // Cumulative above 50 all along, a case every day, one cluster on day 1.
        let mut days = cases(&[1; 18]);
        days[1].cluster = true;
        let out = levels(&days, 60, &RiskRules::default());
        assert_eq!(out[0].level, Medium);
        assert!(out[1..=14].iter().all(|d| d.level == High));
        assert_eq!(out[15].level, Medium);
        assert!(!out[15].facts.cluster_in_window);
    }

    #[test]
    fn change_history_names_day_levels_and_reasons() {
        // Day 0–2 quiet; 30 cases on day 3; 30 more and a cluster on day 5;
        // then nothing.
        let mut days = cases(&[0; 25]);
        days[3].new_confirmed = 30;
        days[5] = CountyDay {
            new_confirmed: 30,
            cluster: true,
        };
        let out = levels(&days, 0, &RiskRules::default());
        let history = changes(&out);
        assert_eq!(
            history,
            vec![
                LevelChange {
                    day: 0,
                    from: None,
                    to: Low,
                    facts: Facts {
                        new_in_window: 0,
                        cumulative: 0,
                        cluster_in_window: false
                    }
                },
                LevelChange {
                    day: 3,
                    from: Some(Low),
                    to: Medium,
                    facts: Facts {
                        new_in_window: 30,
                        cumulative: 30,
                        cluster_in_window: false
                    }
                },
                LevelChange {
                    day: 5,
                    from: Some(Medium),
                    to: High,
                    facts: Facts {
                        new_in_window: 60,
                        cumulative: 60,
                        cluster_in_window: true
                    }
                },
                // The last case and the cluster were on day 5: low on day 19.
                LevelChange {
                    day: 19,
                    from: Some(High),
                    to: Low,
                    facts: Facts {
                        new_in_window: 0,
                        cumulative: 60,
                        cluster_in_window: false
                    }
                },
            ]
        );
        assert!(changes(&[]).is_empty());
    }

    #[test]
    fn configured_thresholds_apply() {
        let rules = RiskRules::new(7, 5).unwrap();
        let mut days = cases(&[6, 0, 0, 0, 0, 0, 0, 0]);
        days[0].cluster = true;
        let out = levels(&days, 0, &rules);
        assert_eq!(out[0].level, High);
        assert_eq!(out[6].level, High);
        assert_eq!(out[7].level, Low);
        assert_eq!(RiskRules::new(0, 50), Err(RiskRulesError::EmptyWindow));
        assert_eq!(RiskRules::new(14, -1), Err(RiskRulesError::NegativeLimit));
        assert_eq!(RiskRules::default().window_days(), 14);
        assert_eq!(RiskRules::default().cumulative_limit(), 50);
    }

    #[test]
    fn negative_counts_are_not_cases_and_huge_ones_saturate() {
        let out = levels(&cases(&[-5, i64::MAX, i64::MAX]), 10, &RiskRules::default());
        assert_eq!(out[0].level, Low);
        assert_eq!(out[0].facts.cumulative, 10);
        assert_eq!(out[2].facts.cumulative, i64::MAX);
        assert_eq!(out[2].facts.new_in_window, i64::MAX);
        assert_eq!(out[2].level, Medium);
    }

    #[test]
    fn tally_counts_counties_per_level() {
        let t = tally([Low, High, Low, Medium, Low]);
        assert_eq!(
            t,
            Tally {
                low: 3,
                medium: 1,
                high: 1
            }
        );
        assert_eq!(t.count(Low), 3);
        assert_eq!(t.total(), 5);
        assert_eq!(tally([]), Tally::default());
        // From a day's results across counties.
        let rules = RiskRules::default();
        let a = levels(&cases(&[0, 0]), 0, &rules);
        let b = levels(&cases(&[0, 4]), 0, &rules);
        assert_eq!(tally([&a, &b].map(|c| c[1].level)).medium, 1);
    }
}
