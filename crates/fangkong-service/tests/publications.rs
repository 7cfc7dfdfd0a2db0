//! Publishing on both engines: releases are immutable until re-published,
//! several days publish in one go, only the command levels publish, and
//! small counts of small areas are withheld.

mod common;

use chrono::NaiveDate;

use fangkong_domain::region::Level;
use fangkong_domain::user::Role;
use fangkong_service::publications::{public_figures, PublicCount, PublishOutcome};
use fangkong_service::reports::FiledValues;
use fangkong_service::{Principal, Service, ServiceError};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, d).expect("date")
}

async fn file(service: &Service, who: &Principal, county: &str, date: NaiveDate, n: i64) {
    let values = [
        ("new_confirmed", n),
        ("new_suspected", 0),
        ("new_severe", 0),
        ("new_deaths", 0),
        ("new_recovered", 0),
        ("current_severe", 0),
        ("current_suspected", 0),
        ("current_observation", 7),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), *v))
    .collect();
    service
        .file_report(who, "epidemic", county, date, FiledValues::Pairs(values))
        .await
        .expect("file");
}

#[tokio::test]
async fn releases_change_only_when_re_published() {
    for db in common::engines().await {
        let s = &db.service;
        let system = db.system().await;
        file(s, &system, "420103", day(24), 2).await;
        file(s, &system, "420103", day(25), 3).await;
        s.add_user(&system, "wuhan", "wuhan", Role::City, "420100", "password1")
            .await
            .expect("user");
        let wuhan = s.principal("wuhan").await.expect("principal");

        // two days at once, one release each
        let out = s
            .publish_days(&wuhan, &[day(25), day(24)], None, None)
            .await
            .expect("publish");
        assert_eq!(out.len(), 2, "{}", db.engine);
        assert!(out
            .iter()
            .all(|o| matches!(o, PublishOutcome::Published(h) if h.version == 1)));

        let r = s
            .release(day(25), Some("420100"), None)
            .await
            .expect("release");
        assert_eq!(r.rows[0].region.as_str(), "420100");
        assert_eq!(r.rows[0].figures.get("cum_confirmed"), Some(5));
        assert_eq!(r.head.units_reporting, 1, "{}", db.engine);
        let jianghan = r
            .rows
            .iter()
            .find(|row| row.region.as_str() == "420103")
            .expect("江汉区");
        assert_eq!(jianghan.level, Level::County);
        assert_eq!(jianghan.figures.get("new_confirmed"), Some(3));
        let public = public_figures(jianghan);
        assert!(public.contains(&("new_confirmed", PublicCount::Suppressed)));
        assert!(public.contains(&("cum_confirmed", PublicCount::Count(5))));
        assert!(public.contains(&("current_observation", PublicCount::Count(7))));

        // a later filing changes the command's figures, not the release
        file(s, &system, "420103", day(24), 4).await;
        let r24 = s.release(day(24), Some("420100"), None).await.unwrap();
        assert_eq!(r24.rows[0].figures.get("new_confirmed"), Some(2));
        let r25 = s.release(day(25), Some("420100"), None).await.unwrap();
        assert_eq!(r25.rows[0].figures.get("cum_confirmed"), Some(5));

        // re-publishing the 25th: its cumulative figures changed too
        let refused = s.publish(&wuhan, day(25), Some("420100"), Some("  ")).await;
        assert!(
            matches!(&refused, Err(ServiceError::Invalid(e)) if e.field == "reason"),
            "{refused:?}"
        );
        let out = s
            .publish(
                &wuhan,
                day(25),
                Some("420100"),
                Some("the 24th was corrected"),
            )
            .await
            .expect("revise");
        let PublishOutcome::Revised { head, errata } = &out[0] else {
            panic!("{out:?}");
        };
        assert_eq!(head.version, 2);
        let mut changed: Vec<(String, String, i64, i64)> = errata
            .iter()
            .map(|e| {
                (
                    e.region.to_string(),
                    e.field.clone(),
                    e.old_value,
                    e.new_value,
                )
            })
            .collect();
        changed.sort();
        assert_eq!(
            changed,
            vec![
                ("420100".into(), "cum_confirmed".into(), 5, 7),
                ("420103".into(), "cum_confirmed".into(), 5, 7),
            ],
            "{}",
            db.engine
        );
        let v1 = s.release(day(25), Some("420100"), Some(1)).await.unwrap();
        assert_eq!(v1.rows[0].figures.get("cum_confirmed"), Some(5));
        let versions = s.release_versions(day(25), Some("420100")).await.unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(
            s.latest_release_date(Some("420100")).await.unwrap(),
            Some(day(25))
        );
        let listed = s.errata(day(1), day(31), 100).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|e| e.reason == "the 24th was corrected"));
    }
}

#[tokio::test]
async fn only_command_levels_publish_in_their_jurisdiction() {
    for db in common::engines().await {
        let s = &db.service;
        let system = db.system().await;
        for (name, role, region) in [
            ("citizen", Role::Public, "000000"),
            ("hunan", Role::Provincial, "430000"),
            ("hospital", Role::Facility, "420103"),
        ] {
            let site = (role == Role::Facility).then_some("武汉市中心医院");
            s.add_user_at_site(&system, name, name, role, region, site, "password1")
                .await
                .expect("user");
        }
        for name in ["citizen", "hospital"] {
            let who = s.principal(name).await.unwrap();
            let r = s.publish(&who, day(25), Some("420103"), None).await;
            assert!(
                matches!(
                    r,
                    Err(ServiceError::Refused {
                        action: fangkong_domain::policy::Action::Publish,
                        ..
                    })
                ),
                "{name}: {r:?}"
            );
        }
        let hunan = s.principal("hunan").await.unwrap();
        let r = s.publish(&hunan, day(25), Some("420000"), None).await;
        assert!(matches!(r, Err(ServiceError::Forbidden(_))), "{r:?}");
        let nothing = s.open_data(Level::Province, day(1), day(31)).await.unwrap();
        assert!(nothing.is_empty(), "{}", db.engine);
        let r = s.open_data(Level::Township, day(1), day(31)).await;
        assert!(matches!(r, Err(ServiceError::Invalid(e)) if e.field == "level"));
    }
}
