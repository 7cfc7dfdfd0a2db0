//! The demo: a generated outbreak on the real hierarchy, so a newcomer sees
//! a living system at once.
//!
//! Hubei is loaded at full depth (27,057 villages and communities). An
//! outbreak starts in Wuhan's Jianghan district (江汉区, 420103) four weeks
//! before today, grows exponentially, seeds the other cities of Hubei and then
//! other provinces, and turns down once control measures start on day 16.
//! Every county in China files the `epidemic` report each day (mostly zero
//! reports), every village and community in Hubei files the `grid` report;
//! a few are late, a few are missing, and today's reports are still coming in.
//! Deterministic: the same seed gives the same outbreak.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use fangkong_domain::form::{epidemic_form, grid_form, Form, Values};
use fangkong_domain::region::{Level, Region};
use fangkong_domain::report::{now_millis, Source};
use fangkong_domain::user::Role;

use crate::reports::ImportRow;
use crate::{Result, Service};

/// The demo's logins: every one has the password [`DEMO_PASSWORD`].
pub const DEMO_USERS: [(&str, &str, Role, &str); 7] = [
    (
        "nation",
        "国家卫生健康委 national command",
        Role::National,
        "000000",
    ),
    (
        "hubei",
        "湖北省指挥部 Hubei command",
        Role::Provincial,
        "420000",
    ),
    ("wuhan", "武汉市指挥部 Wuhan command", Role::City, "420100"),
    (
        "jianghan",
        "江汉区疾控 Jianghan CDC",
        Role::County,
        "420103",
    ),
    ("grid", "网格员 grid worker", Role::Grid, "GRID"),
    (
        "jinyintan",
        "金银潭医院 Jinyintan hospital",
        Role::Facility,
        "420112",
    ),
    ("public", "公众 the public", Role::Public, "000000"),
];
pub const DEMO_PASSWORD: &str = "fangkong2020";
/// The site of the demo's facility user (`jinyintan`), in 东西湖区.
pub const DEMO_SITE: &str = "金银潭医院";

/// The days the demo covers, ending today.
pub const DEMO_DAYS: i64 = 28;
/// The alerts are run for this many of the last days.
const ALERT_DAYS: usize = 14;
const SOURCE_COUNTY: &str = "420103";
const WUHAN: &str = "420100";
const HUBEI: &str = "420000";
/// The day (from the start) control measures begin.
const CONTROL_DAY: f64 = 16.0;
const GROWTH: f64 = 0.24;
const DECLINE: f64 = 0.11;

#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub epidemic_reports: u64,
    pub grid_reports: u64,
    pub users: Vec<String>,
    /// The village the `grid` user works in.
    pub grid_village: String,
    /// Alerts the aberration methods raised over the last days.
    pub alerts: usize,
    /// The line list: a cluster across Wuhan's districts with its contacts.
    pub line_list: crate::line_list::demo::DemoLineList,
    /// Releases published: the nation and every province, each day but today.
    pub releases: usize,
}

/// Poisson sample: Knuth's method for small means, a normal approximation above 30.
fn poisson(rng: &mut StdRng, mean: f64) -> i64 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        // Box–Muller
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        return (mean + z * mean.sqrt()).round().max(0.0) as i64;
    }
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = rng.gen::<f64>();
    while p > limit {
        k += 1;
        p *= rng.gen::<f64>();
    }
    k
}

/// Expected new cases on day `t` for a county whose outbreak starts on `start` with `seed` cases.
fn intensity(t: f64, start: f64, seed: f64) -> f64 {
    if t < start {
        return 0.0;
    }
    let peak_t = CONTROL_DAY.max(start);
    if t <= peak_t {
        seed * (GROWTH * (t - start)).exp()
    } else {
        seed * (GROWTH * (peak_t - start)).exp() * (-DECLINE * (t - peak_t)).exp()
    }
}

/// When a report for `deadline` came in: mostly before it, some after, some not at all.
/// `None`: not filed (yet).
fn filing_time(
    rng: &mut StdRng,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let roll: f64 = rng.gen();
    let at = if roll < 0.006 {
        return None; // missing
    } else if roll < 0.04 {
        deadline + Duration::minutes(rng.gen_range(15..600)) // late
    } else {
        deadline - Duration::minutes(rng.gen_range(5..720))
    };
    if at <= now {
        return Some(at);
    }
    // the day is still open: about two thirds are in already
    (rng.gen::<f64>() < 0.66).then(|| now - Duration::minutes(rng.gen_range(1..180)))
}

struct CountyOutbreak {
    start: f64,
    seed: f64,
    hubei: bool,
}

impl Service {
    /// Fill an empty database with the demo: Hubei at full depth, users for
    /// each role, four weeks of reports. `progress` hears what is happening.
    pub async fn generate_demo(&self, progress: &(dyn Fn(&str) + Sync)) -> Result<DemoSummary> {
        let system = self.system().await?;
        let mut rng = StdRng::seed_from_u64(20_200_123);
        let mut summary = DemoSummary::default();

        progress("loading Hubei's townships and villages");
        let hubei = self.region(HUBEI).await?;
        if self
            .store
            .count_by_level(&hubei.path)
            .await?
            .iter()
            .all(|(l, _)| *l != Level::Village)
        {
            self.import_demo_province(&system).await?;
        }

        let villages = self
            .store
            .regions_at_level(&hubei.path, Level::Village)
            .await?;
        let grid_village = villages
            .iter()
            .find(|v| v.path.contains(&format!("/{SOURCE_COUNTY}/")))
            .map(|v| v.code.to_string())
            .unwrap_or_default();
        summary.grid_village = grid_village.clone();

        progress("creating the demo users");
        for (username, name, role, region) in DEMO_USERS {
            let region = if region == "GRID" {
                grid_village.as_str()
            } else {
                region
            };
            // the hospital's user works for 金银潭医院, where the demo admits patients
            let site = (role == Role::Facility).then_some(DEMO_SITE);
            if self.store.user_by_name(username).await?.is_none() {
                self.add_user_at_site(&system, username, name, role, region, site, DEMO_PASSWORD)
                    .await?;
            }
            summary.users.push(username.to_owned());
        }

        let today = self.today();
        let days: Vec<NaiveDate> = (0..DEMO_DAYS)
            .map(|i| today - Duration::days(DEMO_DAYS - 1 - i))
            .collect();
        summary.from = days.first().copied();
        summary.to = days.last().copied();
        let now = now_millis();

        // every county's outbreak: where and when it starts
        let nation = self.nation().await?;
        let counties = self
            .store
            .regions_at_level(&nation.path, Level::County)
            .await?;
        let outbreaks: HashMap<String, CountyOutbreak> = counties
            .iter()
            .map(|c| {
                let code = c.code.as_str();
                let in_wuhan = c.path.contains(&format!("/{WUHAN}/"));
                let in_hubei = c.path.contains(&format!("/{HUBEI}/"));
                let o = if code == SOURCE_COUNTY {
                    CountyOutbreak {
                        start: 0.0,
                        seed: 3.0,
                        hubei: true,
                    }
                } else if in_wuhan {
                    CountyOutbreak {
                        start: rng.gen_range(2.0..5.0),
                        seed: 1.5,
                        hubei: true,
                    }
                } else if in_hubei {
                    CountyOutbreak {
                        start: rng.gen_range(5.0..10.0),
                        seed: 0.8,
                        hubei: true,
                    }
                } else if rng.gen::<f64>() < 0.3 {
                    CountyOutbreak {
                        start: rng.gen_range(9.0..16.0),
                        seed: 0.4,
                        hubei: false,
                    }
                } else {
                    CountyOutbreak {
                        start: f64::INFINITY,
                        seed: 0.0,
                        hubei: false,
                    }
                };
                (code.to_owned(), o)
            })
            .collect();

        progress("generating the epidemic reports of every county");
        let epidemic = epidemic_form();
        let rows = epidemic_rows(&epidemic, &counties, &outbreaks, &days, now, self, &mut rng);
        summary.epidemic_reports = rows.len() as u64;
        self.import_report_rows(&system, &epidemic.name, rows, Source::Demo, "demo")
            .await?;

        progress("generating the grid reports of every village and community in Hubei");
        let grid = grid_form();
        let rows = grid_rows(&grid, &villages, &outbreaks, &days, now, self, &mut rng);
        summary.grid_reports = rows.len() as u64;
        self.import_report_rows(&system, &grid.name, rows, Source::Demo, "demo")
            .await?;

        progress("generating the line list: cases, close contacts and follow-ups");
        let index_case = fangkong_domain::case::CaseId::parse("WH-0001")?;
        if let (Some(&first), None) = (days.first(), self.store.case(&index_case).await?) {
            summary.line_list = self
                .generate_demo_line_list(&system, SOURCE_COUNTY, WUHAN, first, Some(&grid_village))
                .await?;
        }

        progress("assessing the counties' risk levels and running the alerts");
        let nation_code = nation.code.to_string();
        if let (Some(&first), Some(&last)) = (days.first(), days.last()) {
            self.assess_risk(&system, &nation_code, first, last).await?;
        }
        if let (Some(&first), Some(&last)) = (days.iter().rev().nth(ALERT_DAYS - 1), days.last()) {
            let run = self.run_alerts(&system, &nation_code, first, last).await?;
            summary.alerts = run.raised;
        }

        progress("publishing the nation and every province, each day but today");
        let past: Vec<NaiveDate> = days.iter().copied().filter(|d| *d < today).collect();
        summary.releases = self.publish_days(&system, &past, None, None).await?.len();
        Ok(summary)
    }
}

fn epidemic_rows(
    form: &Form,
    counties: &[Region],
    outbreaks: &HashMap<String, CountyOutbreak>,
    days: &[NaiveDate],
    now: DateTime<Utc>,
    service: &Service,
    rng: &mut StdRng,
) -> Vec<ImportRow> {
    let i = |name: &str| form.field_index(name).unwrap_or(0);
    let (conf, susp, sev, dead, rec) = (
        i("new_confirmed"),
        i("new_suspected"),
        i("new_severe"),
        i("new_deaths"),
        i("new_recovered"),
    );
    let (c_sev, c_susp, c_obs) = (
        i("current_severe"),
        i("current_suspected"),
        i("current_observation"),
    );
    let mut rows = Vec::with_capacity(counties.len() * days.len());
    for county in counties {
        let shared = Arc::new(county.clone());
        let Some(o) = outbreaks.get(county.code.as_str()) else {
            continue;
        };
        let mut new_cases: Vec<i64> = Vec::with_capacity(days.len());
        let (mut active, mut severe) = (0i64, 0i64);
        for (t, date) in days.iter().enumerate() {
            let lambda = intensity(t as f64, o.start, o.seed);
            let mut v = Values::ZERO;
            v.0[conf] = poisson(rng, lambda);
            new_cases.push(v.0[conf]);
            v.0[susp] = poisson(rng, 1.4 * lambda);
            v.0[sev] = poisson(rng, if o.hubei { 0.18 } else { 0.1 } * v.0[conf] as f64);
            let lagged = |lag: usize| {
                if t >= lag {
                    new_cases[t - lag] as f64
                } else {
                    0.0
                }
            };
            v.0[dead] = poisson(rng, if o.hubei { 0.04 } else { 0.008 } * lagged(8)).min(active);
            v.0[rec] = poisson(rng, 0.45 * lagged(12))
                .min(active - v.0[dead])
                .max(0);
            active += v.0[conf] - v.0[dead] - v.0[rec];
            severe =
                (severe + v.0[sev] - poisson(rng, 0.08 * severe as f64)).clamp(0, active.max(0));
            v.0[c_sev] = severe;
            v.0[c_susp] = poisson(rng, 2.0 * lambda);
            let recent: i64 = new_cases.iter().rev().take(14).sum();
            v.0[c_obs] = poisson(rng, 9.0 * recent as f64);
            let deadline = form.deadline(*date, service.settings.utc_offset_minutes);
            if let Some(at) = filing_time(rng, deadline, now) {
                rows.push(ImportRow {
                    line: 0,
                    region: Arc::clone(&shared),
                    date: *date,
                    values: v,
                    filed_at: Some(at),
                });
            }
        }
    }
    rows
}

fn grid_rows(
    form: &Form,
    villages: &[Region],
    outbreaks: &HashMap<String, CountyOutbreak>,
    days: &[NaiveDate],
    now: DateTime<Utc>,
    service: &Service,
    rng: &mut StdRng,
) -> Vec<ImportRow> {
    let i = |name: &str| form.field_index(name).unwrap_or(0);
    let (visited, returnees, fever, home) = (
        i("households_visited"),
        i("returnees_registered"),
        i("fever_found"),
        i("home_observation"),
    );
    // villages per county, to spread a county's intensity over them
    let county_of = |v: &Region| {
        v.lineage()
            .get(3)
            .map(|c| c.to_string())
            .unwrap_or_default()
    };
    let mut per_county: HashMap<String, f64> = HashMap::new();
    for v in villages {
        *per_county.entry(county_of(v)).or_default() += 1.0;
    }
    let mut rows = Vec::with_capacity(villages.len() * days.len());
    for village in villages {
        let shared = Arc::new(village.clone());
        let county = county_of(village);
        let share = 1.0 / per_county.get(&county).copied().unwrap_or(1.0);
        let o = outbreaks.get(&county);
        let households = rng.gen_range(40..160) as f64;
        let mut observing = 0i64;
        for (t, date) in days.iter().enumerate() {
            let lambda = o.map_or(0.0, |o| intensity(t as f64, o.start, o.seed)) * share;
            let mut v = Values::ZERO;
            v.0[visited] = poisson(rng, households * 0.6);
            // returnees from the Spring Festival travel, fading
            v.0[returnees] = poisson(rng, 1.5 * (-(t as f64) / 9.0).exp());
            v.0[fever] = poisson(rng, 0.02 + 4.0 * lambda);
            observing = (observing + poisson(rng, 0.1 + 10.0 * lambda)
                - poisson(rng, observing as f64 / 14.0))
            .max(0);
            v.0[home] = observing;
            let deadline = form.deadline(*date, service.settings.utc_offset_minutes);
            if let Some(at) = filing_time(rng, deadline, now) {
                rows.push(ImportRow {
                    line: 0,
                    region: Arc::clone(&shared),
                    date: *date,
                    values: v,
                    filed_at: Some(at),
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_means_are_right() {
        let mut rng = StdRng::seed_from_u64(1);
        for mean in [0.3, 4.0, 80.0] {
            let n = 20_000;
            let total: i64 = (0..n).map(|_| poisson(&mut rng, mean)).sum();
            let m = total as f64 / n as f64;
            assert!(
                (m - mean).abs() < 0.05 * mean + 0.02,
                "mean {mean}: got {m}"
            );
        }
    }

    #[test]
    fn the_outbreak_grows_then_declines() {
        let early = intensity(5.0, 0.0, 3.0);
        let peak = intensity(CONTROL_DAY, 0.0, 3.0);
        let late = intensity(27.0, 0.0, 3.0);
        assert!(early < peak && late < peak && late > 0.0);
        assert_eq!(intensity(3.0, 5.0, 1.0), 0.0);
    }
}
