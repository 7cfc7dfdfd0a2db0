//! Risk assessment over stored reports, on both engines: Rt from imported
//! figures agrees with the method run on the file itself; alerts are raised
//! once per signal, extended, acknowledged and closed; county risk levels.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chrono::{Duration, NaiveDate};

use common::{day, engines, shared, TestDb};
use fangkong_analytics::rt::{estimate_r, Incidence, RtConfig};
use fangkong_analytics::serial_interval::SerialInterval;
use fangkong_analytics::series::decumulate;
use fangkong_domain::alert::{AlertMethod, AlertStatus, AlertVerdict, RiskLevel};
use fangkong_domain::form::epidemic_form;
use fangkong_domain::user::Role;
use fangkong_service::analytics::{ForecastMethod, SiSpec};
use fangkong_service::import::convert_jhu;
use fangkong_service::reports::FiledValues;
use fangkong_service::{Principal, ServiceError};

/// An `epidemic` report with `n` new confirmed cases and every other field 0.
fn confirmed(n: i64) -> FiledValues {
    FiledValues::Pairs(
        epidemic_form()
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    if f.name == "new_confirmed" { n } else { 0 },
                )
            })
            .collect(),
    )
}

async fn file_series(db: &TestDb, who: &Principal, region: &str, first: NaiveDate, counts: &[i64]) {
    for (i, &n) in counts.iter().enumerate() {
        db.service
            .file_report(
                who,
                "epidemic",
                region,
                first + Duration::days(i as i64),
                confirmed(n),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn rt_of_imported_figures_equals_the_method_on_the_file() {
    // Hubei's daily new confirmed, decumulated straight from the file.
    let text = std::fs::read_to_string(shared("data/jhu_china_provinces_2020.csv")).unwrap();
    let cumulative: Vec<Option<i64>> = text
        .lines()
        .filter(|l| l.starts_with("Hubei,"))
        .map(|l| l.split(',').nth(2).unwrap().parse().ok())
        .collect();
    let daily: Vec<u32> = decumulate(&cumulative)
        .daily
        .iter()
        .map(|&d| u32::try_from(d).unwrap())
        .collect();
    let si = SerialInterval::gamma(4.7, 2.9).unwrap();
    let expected = estimate_r(Incidence::local_only(&daily), &si, &RtConfig::default());
    let first = day("2020-01-22");

    for db in engines().await {
        let sys = db.system().await;
        let input = std::fs::File::open(shared("data/jhu_china_provinces_2020.csv")).unwrap();
        let converted = convert_jhu(input, &epidemic_form()).unwrap();
        db.service
            .import_converted(&sys, "epidemic", converted, "jhu")
            .await
            .unwrap();
        let rows = db
            .service
            .rt(
                &sys,
                "420000",
                day("2020-02-01"),
                day("2020-02-29"),
                &SiSpec::Gamma { mean: 4.7, sd: 2.9 },
                &RtConfig::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            rows.len(),
            29,
            "{}: one window per day of February",
            db.engine
        );
        for row in &rows {
            let e = expected
                .iter()
                .find(|e| first + Duration::days(e.t_end as i64) == row.date)
                .unwrap();
            assert_eq!(row.cases, e.local_cases, "{} {}", db.engine, row.date);
            assert_eq!(row.start, row.date - Duration::days(6));
            for (got, want) in [
                (row.mean, e.mean),
                (row.median, e.median),
                (row.q025, e.q025),
                (row.q975, e.q975),
            ] {
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs(),
                    "{} {}",
                    db.engine,
                    row.date
                );
            }
        }
        // Hubei's R fell below 1 in February 2020.
        let last = rows.last().unwrap();
        assert!(last.q975 < 1.0, "{}: {last:?}", db.engine);
        assert!(rows[0].mean > last.mean);

        // Hubei on 10 February: in hospital = confirmed − deaths − recovered, as in the file.
        let row: Vec<i64> = text
            .lines()
            .find(|l| l.starts_with("Hubei,2020-02-10,"))
            .unwrap()
            .split(',')
            .skip(2)
            .map(|v| v.parse().unwrap())
            .collect();
        let f = db
            .service
            .forecast(
                &sys,
                "420000",
                day("2020-02-10"),
                14,
                400,
                &SiSpec::default(),
                ForecastMethod::Ensemble,
            )
            .await
            .unwrap();
        assert_eq!(f.beds_today, row[0] - row[1] - row[2], "{}", db.engine);
        assert_eq!(f.days.len(), 14);
        assert_eq!(f.days[0].0, day("2020-02-11"));
        for (_, b) in f.days.iter().chain(&f.beds) {
            assert!(b.lower90 <= b.lower50 && b.lower50 <= b.median && b.median <= b.upper50);
            assert!(b.upper50 <= b.upper90);
        }
        // Beds start from today's patients, who leave over the stays.
        assert!(f.beds[0].1.median > 0.5 * f.beds_today as f64);

        let g = db
            .service
            .growth(&sys, "420000", day("2020-02-16"), day("2020-02-29"), 0.95)
            .await
            .unwrap();
        assert_eq!(g.trend, "halving", "{}", db.engine);
        assert!(g.upper < 0.0 && g.lower < g.rate && g.rate < g.upper);
    }
}

#[tokio::test]
async fn a_spike_raises_one_alert_that_is_extended_then_closed_with_a_verdict() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let start = day("2020-03-01");
        // A quiet month of 3 cases a day in 420102, then 30 and 35.
        let mut counts: Vec<i64> = vec![3; 30];
        counts.extend([30, 35]);
        file_series(&db, &sys, "420102", start, &counts).await;
        // The neighbour files zeros throughout.
        file_series(&db, &sys, "420103", start, &[0; 32]).await;

        let spike = start + Duration::days(30);
        let quiet = s
            .run_alerts(
                &sys,
                "420100",
                spike - Duration::days(1),
                spike - Duration::days(1),
            )
            .await
            .unwrap();
        assert_eq!((quiet.raised, quiet.extended), (0, 0), "{}", db.engine);
        let first = s.run_alerts(&sys, "420100", spike, spike).await.unwrap();
        assert_eq!(
            (first.raised, first.extended),
            (1, 0),
            "{}: one signal, one alert",
            db.engine
        );
        // Running the same day again changes nothing.
        let again = s.run_alerts(&sys, "420100", spike, spike).await.unwrap();
        assert_eq!((again.raised, again.extended), (0, 0), "{}", db.engine);
        let next = s
            .run_alerts(
                &sys,
                "420100",
                spike + Duration::days(1),
                spike + Duration::days(1),
            )
            .await
            .unwrap();
        assert_eq!((next.raised, next.extended), (0, 1), "{}", db.engine);

        let alerts = s
            .alerts(&sys, "420000", vec![AlertStatus::Open], None, 100)
            .await
            .unwrap();
        assert_eq!(alerts.len(), 1, "{}: {alerts:?}", db.engine);
        let c1 = &alerts[0];
        assert_eq!(
            (c1.region.as_str(), c1.field.as_str()),
            ("420102", "new_confirmed")
        );
        assert_eq!(
            (c1.first_day, c1.last_day),
            (spike, spike + Duration::days(1))
        );
        // Every method flagged the jump from a flat 3 a day to 30.
        let mut methods = c1.methods.clone();
        methods.sort();
        assert_eq!(methods, AlertMethod::ALL.to_vec(), "{}", db.engine);
        // EARS with a minimum sigma of 1: z = (30 − 3) / 1 on the first day.
        let ears = c1.method != AlertMethod::Cidars;
        assert!(!ears || (c1.statistic - 27.0).abs() < 1e-9, "{c1:?}");
        assert!(c1.statistic > c1.threshold && c1.expected <= 21.0, "{c1:?}");
        assert!(alerts.iter().all(|a| a.region.as_str() == "420102"));

        // The county responsible sees it; the neighbour neither sees nor closes it.
        s.add_user(
            &sys,
            "jiangan",
            "江岸区",
            Role::County,
            "420102",
            "secret-password",
        )
        .await
        .unwrap();
        s.add_user(
            &sys,
            "jianghan",
            "江汉区",
            Role::County,
            "420103",
            "secret-password",
        )
        .await
        .unwrap();
        let own = s.principal("jiangan").await.unwrap();
        let other = s.principal("jianghan").await.unwrap();
        assert!(s
            .alerts(&other, "420103", vec![], None, 100)
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            s.close_alert(&other, c1.id, AlertVerdict::FalseAlarm, "")
                .await,
            Err(ServiceError::NotFound(_))
        ));
        let acked = s.acknowledge_alert(&own, c1.id, "checking").await.unwrap();
        assert_eq!(acked.status, AlertStatus::Acknowledged);
        assert_eq!(acked.acknowledged_by.as_deref(), Some("jiangan"));
        let closed = s
            .close_alert(&own, c1.id, AlertVerdict::TrueSignal, "a family cluster")
            .await
            .unwrap();
        assert_eq!(closed.verdict, Some(AlertVerdict::TrueSignal));
        assert!(matches!(
            s.close_alert(&own, c1.id, AlertVerdict::FalseAlarm, "")
                .await,
            Err(ServiceError::Conflict(_))
        ));
        let log = s
            .audit_recent(&sys, Some(&format!("alert/{}", c1.id)), 10)
            .await
            .unwrap();
        assert_eq!(
            log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            vec!["alert.close", "alert.acknowledge"],
            "{}",
            db.engine
        );
    }
}

#[tokio::test]
async fn risk_levels_follow_the_rules_and_their_changes_are_kept() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let start = day("2020-02-01");
        // 420102: 60 cases on day 0, none after. 420103: 5 cases on day 10.
        let mut a = vec![0; 40];
        a[0] = 60;
        let mut b = vec![0; 40];
        b[10] = 5;
        file_series(&db, &sys, "420102", start, &a).await;
        file_series(&db, &sys, "420103", start, &b).await;
        let to = start + Duration::days(39);
        let rows = s.assess_risk(&sys, "420100", start, to).await.unwrap();
        assert_eq!(
            rows,
            13 * 40,
            "{}: Wuhan's 13 districts, forty days",
            db.engine
        );

        let on = |d: i64| start + Duration::days(d);
        let level = |r: &fangkong_service::analytics::RiskReport, c: &str| {
            r.levels
                .iter()
                .find(|(row, _)| row.region.as_str() == c)
                .unwrap()
                .0
                .level
        };
        let day5 = s.risk(&sys, "420100", on(5)).await.unwrap();
        assert_eq!(
            level(&day5, "420102"),
            RiskLevel::Medium,
            "> 50 cases, no cluster known"
        );
        assert_eq!(level(&day5, "420103"), RiskLevel::Low);
        assert_eq!(level(&day5, "420104"), RiskLevel::Low);
        assert_eq!(
            (day5.tally.low, day5.tally.medium, day5.tally.high),
            (12, 1, 0)
        );
        // Day 13 is the 14th day since 420102's cases: still within the window; day 14 is low.
        assert_eq!(
            level(&s.risk(&sys, "420100", on(13)).await.unwrap(), "420102"),
            RiskLevel::Medium
        );
        let day14 = s.risk(&sys, "420100", on(14)).await.unwrap();
        assert_eq!(level(&day14, "420102"), RiskLevel::Low);
        assert_eq!(level(&day14, "420103"), RiskLevel::Medium);
        let changes: Vec<(String, NaiveDate, Option<RiskLevel>, RiskLevel)> = day14
            .changes
            .iter()
            .map(|(c, _)| (c.row.region.to_string(), c.row.date, c.from, c.row.level))
            .collect();
        assert!(changes.contains(&(
            "420102".into(),
            on(14),
            Some(RiskLevel::Medium),
            RiskLevel::Low
        )));
        assert!(changes.contains(&(
            "420103".into(),
            on(10),
            Some(RiskLevel::Low),
            RiskLevel::Medium
        )));
        assert_eq!(day14.changes[0].1, "江岸区");
    }
}
