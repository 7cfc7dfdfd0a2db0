//! Filing, correcting, rolling up and checking reports, on both engines.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chrono::Duration;

use common::{day, engines, TestDb};
use fangkong_domain::region::Level;
use fangkong_domain::report::{ReviewStatus, Source};
use fangkong_domain::user::Role;
use fangkong_service::reports::{FiledValues, Filing};
use fangkong_service::{Principal, ServiceError};

const EPIDEMIC: [&str; 8] = [
    "new_confirmed",
    "new_suspected",
    "new_severe",
    "new_deaths",
    "new_recovered",
    "current_severe",
    "current_suspected",
    "current_observation",
];

/// Epidemic values: new_confirmed and current_severe given, the rest 0.
fn epi(new_confirmed: i64, current_severe: i64) -> FiledValues {
    FiledValues::Pairs(
        EPIDEMIC
            .iter()
            .map(|f| {
                let v = match *f {
                    "new_confirmed" => new_confirmed,
                    "current_severe" => current_severe,
                    _ => 0,
                };
                (f.to_string(), v)
            })
            .collect(),
    )
}

async fn confirmed(
    db: &TestDb,
    who: &Principal,
    region: &str,
    date: &str,
) -> (Option<i64>, Option<bool>) {
    let f = db
        .service
        .figures(who, "epidemic", region, day(date))
        .await
        .expect("figures");
    (
        f.day.as_ref().map(|d| d.values.get(0)),
        f.day.map(|d| d.own),
    )
}

#[tokio::test]
async fn a_region_counts_its_own_report_or_its_childrens_never_both() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let d = "2020-01-25";
        s.file_report(&sys, "epidemic", "420102", day(d), epi(5, 1))
            .await
            .expect("file");
        s.file_report(&sys, "epidemic", "420103", day(d), epi(7, 0))
            .await
            .expect("file");
        assert_eq!(
            confirmed(&db, &sys, "420100", d).await,
            (Some(12), Some(false)),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "420000", d).await,
            (Some(12), Some(false)),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "000000", d).await,
            (Some(12), Some(false)),
            "{}",
            db.engine
        );

        // the province files its own figure: above it, the province's own counts, not its counties'
        s.file_report(&sys, "epidemic", "420000", day(d), epi(100, 9))
            .await
            .expect("file");
        assert_eq!(
            confirmed(&db, &sys, "420000", d).await,
            (Some(100), Some(true)),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "000000", d).await,
            (Some(100), Some(false)),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "420100", d).await,
            (Some(12), Some(false)),
            "{}",
            db.engine
        );

        // a county correction below an own-reporting province stops at the province
        let corrected = s
            .file_report(&sys, "epidemic", "420102", day(d), epi(6, 1))
            .await
            .expect("correct");
        assert!(
            matches!(corrected, Filing::Corrected { ref previous, .. } if previous.version == 1)
        );
        assert_eq!(corrected.version().version, 2);
        assert_eq!(
            confirmed(&db, &sys, "420100", d).await,
            (Some(13), Some(false)),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "000000", d).await,
            (Some(100), Some(false)),
            "{}",
            db.engine
        );

        // another province's county adds to the nation
        s.file_report(&sys, "epidemic", "110101", day(d), epi(3, 0))
            .await
            .expect("file");
        assert_eq!(
            confirmed(&db, &sys, "000000", d).await,
            (Some(103), Some(false)),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "110000", d).await,
            (Some(3), Some(false)),
            "{}",
            db.engine
        );

        // a province-level figure corrected: the nation follows
        s.file_report(&sys, "epidemic", "420000", day(d), epi(90, 9))
            .await
            .expect("correct");
        assert_eq!(
            confirmed(&db, &sys, "000000", d).await,
            (Some(93), Some(false)),
            "{}",
            db.engine
        );

        // children of the nation that have figures that day
        let bulletin = s.bulletin(None, day(d)).await.expect("bulletin");
        assert_eq!(bulletin.units_reporting, 2, "{}", db.engine);
        assert_eq!(bulletin.cum_confirmed, 93);
    }
}

#[tokio::test]
async fn corrections_keep_history_and_the_same_report_twice_is_harmless() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let d = day("2020-02-01");
        let first = s
            .file_report(&sys, "epidemic", "420106", d, epi(4, 2))
            .await
            .expect("file");
        assert!(matches!(first, Filing::Filed(_)));
        let again = s
            .file_report(&sys, "epidemic", "420106", d, epi(4, 2))
            .await
            .expect("again");
        assert!(
            matches!(again, Filing::Unchanged(ref v) if v.version == 1),
            "{again:?}"
        );
        s.file_report(&sys, "epidemic", "420106", d, epi(5, 2))
            .await
            .expect("correct");
        s.file_report(&sys, "epidemic", "420106", d, epi(5, 2))
            .await
            .expect("again");
        let (history, _) = s
            .report_history(&sys, "epidemic", "420106", d)
            .await
            .expect("history");
        let versions: Vec<(i32, i64)> = history
            .iter()
            .map(|v| (v.version, v.values.get(0)))
            .collect();
        assert_eq!(versions, vec![(1, 4), (2, 5)], "{}", db.engine);
        assert!(history[1].seq > history[0].seq);
        assert_eq!(
            confirmed(&db, &sys, "420100", "2020-02-01").await.0,
            Some(5)
        );
    }
}

#[tokio::test]
async fn cumulative_figures_add_flows_and_keep_the_latest_stock() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        s.file_report(&sys, "epidemic", "420102", day("2020-01-24"), epi(5, 2))
            .await
            .expect("file");
        s.file_report(&sys, "epidemic", "420102", day("2020-01-25"), epi(3, 4))
            .await
            .expect("file");
        s.file_report(&sys, "epidemic", "420103", day("2020-01-25"), epi(1, 1))
            .await
            .expect("file");
        let f = s
            .figures(&sys, "epidemic", "420100", day("2020-01-25"))
            .await
            .expect("figures");
        assert_eq!(f.cumulative.get(0), 9, "{}: 5 + 3 + 1 confirmed", db.engine);
        assert_eq!(
            f.cumulative.get(5),
            5,
            "{}: severe now is 4 + 1, not a sum over days",
            db.engine
        );
        let f = s
            .figures(&sys, "epidemic", "420100", day("2020-01-24"))
            .await
            .expect("figures");
        assert_eq!((f.cumulative.get(0), f.cumulative.get(5)), (5, 2));
        let series = s
            .series(
                &sys,
                "epidemic",
                "420000",
                day("2020-01-20"),
                day("2020-01-31"),
            )
            .await
            .expect("series");
        let days: Vec<(String, i64)> = series
            .iter()
            .map(|d| (d.date.to_string(), d.values.get(0)))
            .collect();
        assert_eq!(
            days,
            vec![("2020-01-24".into(), 5), ("2020-01-25".into(), 4)],
            "{}",
            db.engine
        );
    }
}

#[tokio::test]
async fn zero_reports_count_as_filed_and_completeness_lists_the_missing_and_the_late() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        s.import_demo_province(&sys).await.expect("Hubei villages");
        // 江汉区's villages and communities file the grid form
        let county = s.region("420103").await.expect("county");
        let villages = s
            .store()
            .regions_at_level(&county.path, Level::Village)
            .await
            .expect("villages");
        assert!(villages.len() > 50, "{}", villages.len());
        let d = day("2020-01-25");
        let deadline = s
            .form("grid")
            .expect("form")
            .deadline(d, s.settings().utc_offset_minutes);
        let (on_time, late) = (&villages[..10], &villages[10..13]);
        for v in on_time {
            s.file_report_as(
                &sys,
                "grid",
                v.code.as_str(),
                d,
                FiledValues::Zero,
                Source::Entry,
                deadline - Duration::hours(2),
            )
            .await
            .expect("zero report");
        }
        for v in late {
            s.file_report_as(
                &sys,
                "grid",
                v.code.as_str(),
                d,
                FiledValues::Zero,
                Source::Entry,
                deadline + Duration::minutes(30),
            )
            .await
            .expect("late report");
        }
        let c = s
            .completeness(&sys, "grid", "420103", d, 1000)
            .await
            .expect("completeness");
        assert_eq!(c.counts.expected, villages.len() as u64, "{}", db.engine);
        assert_eq!(c.counts.filed, 13, "{}", db.engine);
        assert_eq!(c.counts.on_time, 10, "{}", db.engine);
        assert_eq!(c.missing.len(), villages.len() - 13);
        let late_codes: Vec<String> = c.late.iter().map(|u| u.region.to_string()).collect();
        let expected_late: Vec<String> = late.iter().map(|v| v.code.to_string()).collect();
        assert_eq!(late_codes, expected_late, "{}", db.engine);
        assert!(!c
            .missing
            .iter()
            .any(|m| on_time.iter().any(|v| v.code == m.region)));
        // by township: the sums add up
        let by_child: u64 = c.by_child.iter().map(|(_, cc)| cc.filed).sum();
        assert_eq!(by_child, 13);
        // a zero report's figure is a real zero, counted upward
        let f = s.figures(&sys, "grid", "420103", d).await.expect("figures");
        assert!(f.day.is_some_and(|d| d.values.is_zero()));
    }
}

#[tokio::test]
async fn a_county_user_stays_in_its_county_and_every_write_is_audited() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        s.add_user(
            &sys,
            "jiangan",
            "江岸区疾控",
            Role::County,
            "420102",
            "secret-password",
        )
        .await
        .expect("user");
        let county = s.principal("jiangan").await.expect("principal");
        let before = s.audit_recent(&sys, None, 1000).await.expect("audit").len();

        let d = day("2020-01-25");
        s.file_report(&county, "epidemic", "420102", d, epi(2, 0))
            .await
            .expect("own county");
        let err = s
            .file_report(&county, "epidemic", "420103", d, epi(2, 0))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Forbidden(_)),
            "{}: {err}",
            db.engine
        );
        s.file_report(&sys, "epidemic", "420103", d, epi(4, 0))
            .await
            .expect("system");
        let err = s
            .figures(&county, "epidemic", "420103", d)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Forbidden(_)));
        let err = s
            .report_history(&county, "epidemic", "420103", d)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Forbidden(_)));
        let err = s
            .figures(&county, "epidemic", "420000", d)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Forbidden(_)),
            "the province lies above the county"
        );
        let err = s
            .review_report(&county, "epidemic", "420102", d, ReviewStatus::Approved, "")
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Forbidden(_)),
            "no unit reviews itself"
        );

        s.add_user(
            &sys,
            "wuhan-cdc",
            "武汉市疾控",
            Role::City,
            "420100",
            "secret-password",
        )
        .await
        .expect("user");
        let city = s.principal("wuhan-cdc").await.expect("principal");
        let review = s
            .review_report(
                &city,
                "epidemic",
                "420102",
                d,
                ReviewStatus::Returned,
                "check deaths",
            )
            .await
            .expect("review");
        assert_eq!(review.version, 1);

        let after = s.audit_recent(&sys, None, 1000).await.expect("audit");
        let actions: Vec<&str> = after[..after.len() - before]
            .iter()
            .map(|e| e.action.as_str())
            .collect();
        assert_eq!(
            actions,
            vec!["report.review", "user.add", "report.file", "report.file"],
            "{}",
            db.engine
        );
        assert_eq!(after[2].actor, "system");
        assert_eq!(after[3].actor, "jiangan");
        assert!(after[3]
            .after
            .as_deref()
            .is_some_and(|a| a.contains("\"new_confirmed\":2")));
        assert!(s.verify_chains(&sys).await.expect("verify").intact());
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let future = s.today() + Duration::days(1);
        let field = |e: ServiceError| match e {
            ServiceError::Invalid(f) => f.field,
            other => format!("not invalid: {other}"),
        };
        let err = s
            .file_report(&sys, "epidemic", "420102", future, epi(1, 0))
            .await
            .unwrap_err();
        assert_eq!(field(err), "date");
        let err = s
            .file_report(&sys, "epidemic", "420102", day("2020-01-25"), epi(-1, 0))
            .await
            .unwrap_err();
        assert_eq!(field(err), "values.new_confirmed");
        let err = s
            .file_report(
                &sys,
                "epidemic",
                "420102",
                day("2020-01-25"),
                FiledValues::Pairs(vec![("cats".into(), 1)]),
            )
            .await
            .unwrap_err();
        assert_eq!(field(err), "values.cats");
        let err = s
            .file_report(&sys, "nosuch", "420102", day("2020-01-25"), epi(1, 0))
            .await
            .unwrap_err();
        assert_eq!(field(err), "form");
        let err = s
            .file_report(&sys, "epidemic", "999999", day("2020-01-25"), epi(1, 0))
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::NotFound(_)), "{err}");
        // nothing of it was written
        assert_eq!(
            s.store()
                .chain_head(fangkong_store::Chain::Report)
                .await
                .expect("head")
                .seq,
            0
        );
    }
}

#[tokio::test]
async fn the_tree_answers_paths_and_counts() {
    for db in engines().await {
        let s = &db.service;
        let counts = s.count_regions("000000").await.expect("counts");
        let n = |l: Level| counts.iter().find(|(x, _)| *x == l).map_or(0, |(_, n)| *n);
        assert_eq!(
            (n(Level::Province), n(Level::City), n(Level::County)),
            (31, 339, 2978),
            "{}",
            db.engine
        );
        let lineage: Vec<String> = s
            .lineage("420103")
            .await
            .expect("lineage")
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(
            lineage,
            vec!["中华人民共和国", "湖北省", "武汉市", "江汉区"]
        );
        // the 12-digit statistical form of a county code is understood
        assert_eq!(
            s.region("420103000000").await.expect("region").name,
            "江汉区"
        );
        let found = s
            .search_regions("420000", "江汉", 10)
            .await
            .expect("search");
        assert!(found.iter().any(|r| r.code.as_str() == "420103"));
        // another country's tree, under the nation
        let sys = db.system().await;
        let csv = "code,parent_code,name,level\nGB-ENG,000000,England,province\nGB-LND,GB-ENG,London,city\nGB-CMD,GB-LND,Camden,county\n";
        let rows = fangkong_service::regions::parse_region_csv(csv.as_bytes()).expect("parse");
        assert_eq!(s.import_regions(&sys, rows).await.expect("import"), 3);
        let lineage: Vec<String> = s
            .lineage("GB-CMD")
            .await
            .expect("lineage")
            .iter()
            .map(|r| r.code.to_string())
            .collect();
        assert_eq!(lineage, vec!["000000", "GB-ENG", "GB-LND", "GB-CMD"]);
        // an unknown parent, or a child above its parent, is refused
        let bad = "code,parent_code,name,level\nX1,NOPE,X,county\n";
        let err = s
            .import_regions(
                &sys,
                fangkong_service::regions::parse_region_csv(bad.as_bytes()).expect("parse"),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
        let bad = "code,parent_code,name,level\nX2,420103,X,province\n";
        let err = s
            .import_regions(
                &sys,
                fangkong_service::regions::parse_region_csv(bad.as_bytes()).expect("parse"),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("below"), "{err}");
        let bad = "code,parent_code,name,level\nX/3,000000,X,province\n,000000,Y,galaxy\n";
        match fangkong_service::regions::parse_region_csv(bad.as_bytes()) {
            Err(ServiceError::BadRows(rows)) => {
                let cols: Vec<(u64, &str)> =
                    rows.iter().map(|r| (r.line, r.column.as_str())).collect();
                assert_eq!(cols, vec![(2, "code"), (3, "code"), (3, "level")]);
            }
            other => panic!("expected bad rows, got {other:?}"),
        }
    }
}

/// 东莞 (441900) is a county directly under its province, with no city between:
/// its figures must reach Guangdong once, on the incremental and on the bulk path.
#[tokio::test]
async fn a_county_directly_under_its_province_rolls_up_once() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let dongguan = s.region("441900").await.expect("东莞");
        assert_eq!(dongguan.parent.as_ref().map(|p| p.as_str()), Some("440000"));
        s.file_report(&sys, "epidemic", "441900", day("2020-01-25"), epi(4, 0))
            .await
            .expect("file");
        s.file_report(&sys, "epidemic", "440106", day("2020-01-25"), epi(6, 0))
            .await
            .expect("file");
        assert_eq!(
            confirmed(&db, &sys, "440000", "2020-01-25").await.0,
            Some(10),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "000000", "2020-01-25").await.0,
            Some(10),
            "{}",
            db.engine
        );

        let csv = format!(
            "region_code,date,{}\n441900,2020-01-26,4,0,0,0,0,0,0,0\n440106,2020-01-26,6,0,0,0,0,0,0,0\n420102,2020-01-26,1,0,0,0,0,0,0,0\n",
            EPIDEMIC.join(",")
        );
        let file = s
            .read_report_csv(&sys, "epidemic", csv.as_bytes(), &|_| {})
            .await
            .expect("read");
        assert!(file.bad.is_empty());
        s.import_report_rows(&sys, "epidemic", file.rows, Source::Import, "ragged")
            .await
            .expect("import");
        assert_eq!(
            confirmed(&db, &sys, "440000", "2020-01-26").await.0,
            Some(10),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "000000", "2020-01-26").await.0,
            Some(11),
            "{}",
            db.engine
        );
        // and the bulk rebuild agrees with the incremental path on the day before
        let file = s
            .read_report_csv(
                &sys,
                "epidemic",
                format!(
                    "region_code,date,{}\n420103,2020-01-25,2,0,0,0,0,0,0,0\n",
                    EPIDEMIC.join(",")
                )
                .as_bytes(),
                &|_| {},
            )
            .await
            .expect("read");
        s.import_report_rows(&sys, "epidemic", file.rows, Source::Import, "more")
            .await
            .expect("import");
        assert_eq!(
            confirmed(&db, &sys, "000000", "2020-01-25").await.0,
            Some(12),
            "{}",
            db.engine
        );
        assert_eq!(
            confirmed(&db, &sys, "440000", "2020-01-25").await.0,
            Some(10),
            "{}",
            db.engine
        );
    }
}

/// The bulk path propagates changes in memory; rebuilding the days from the
/// reports in SQL must give the same figures, through corrections, a
/// province's own report and zero reports.
#[tokio::test]
async fn bulk_filing_agrees_with_a_rebuild_from_the_reports() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let counties = s
            .store()
            .regions_at_level("/000000/420000/", Level::County)
            .await
            .expect("counties");
        let mut csv = format!("region_code,date,{}\n", EPIDEMIC.join(","));
        for (i, c) in counties.iter().enumerate() {
            for d in ["2020-01-24", "2020-01-25"] {
                csv.push_str(&format!(
                    "{},{d},{},{},0,{},0,{},0,{}\n",
                    c.code,
                    i % 7,
                    i % 3,
                    i % 2,
                    i % 5,
                    i
                ));
            }
        }
        import(&db, &csv).await;
        // a second file: corrections, a zero report, the province's own figure, and Beijing
        let second = format!(
            "region_code,date,{}\n{},2020-01-25,50,0,0,0,0,0,0,0\n{},2020-01-25,0,0,0,0,0,0,0,0\n420000,2020-01-24,999,1,1,1,1,1,1,1\n110101,2020-01-25,3,0,0,0,0,0,0,0\n",
            EPIDEMIC.join(","),
            counties[0].code,
            counties[1].code
        );
        import(&db, &second).await;
        s.file_report(
            &sys,
            "epidemic",
            counties[2].code.as_str(),
            day("2020-01-25"),
            epi(8, 8),
        )
        .await
        .expect("file");

        let regions = [
            "000000",
            "420000",
            "420100",
            "420500",
            "110000",
            counties[0].code.as_str(),
        ];
        let mut before = Vec::new();
        for r in regions {
            for d in ["2020-01-24", "2020-01-25"] {
                let f = s
                    .figures(&sys, "epidemic", r, day(d))
                    .await
                    .expect("figures");
                before.push((r, d, f.day.map(|x| (x.values, x.own))));
            }
        }
        let mut tx = s.store().begin().await.expect("tx");
        tx.rebuild_rollups("epidemic", &[day("2020-01-24"), day("2020-01-25")])
            .await
            .expect("rebuild");
        tx.commit().await.expect("commit");
        let mut after = Vec::new();
        for r in regions {
            for d in ["2020-01-24", "2020-01-25"] {
                let f = s
                    .figures(&sys, "epidemic", r, day(d))
                    .await
                    .expect("figures");
                after.push((r, d, f.day.map(|x| (x.values, x.own))));
            }
        }
        assert_eq!(before, after, "{}", db.engine);
        // and the figures are what the files say: the province's own figure on the 24th
        assert_eq!(
            before[2].2.map(|(v, own)| (v.get(0), own)),
            Some((999, true))
        );
        assert_eq!(
            before[0].2.map(|(v, _)| v.get(0)),
            Some(999),
            "the nation on the 24th is Hubei's own figure"
        );
    }
}

async fn import(db: &TestDb, csv: &str) {
    let sys = db.system().await;
    let file = db
        .service
        .read_report_csv(&sys, "epidemic", csv.as_bytes(), &|_| {})
        .await
        .expect("read");
    assert!(file.bad.is_empty(), "{:?}", file.bad.first());
    db.service
        .import_report_rows(&sys, "epidemic", file.rows, Source::Import, "bulk")
        .await
        .expect("import");
}

/// In one file, a province's own figure before one of its counties: the
/// county's change must stop at the province, whatever the order of the rows.
#[tokio::test]
async fn in_one_file_a_province_figure_holds_whatever_the_row_order() {
    for db in engines().await {
        let sys = db.system().await;
        for (date, rows) in [
            (
                "2020-01-20",
                ["420000,2020-01-20,100", "420102,2020-01-20,7"],
            ),
            (
                "2020-01-21",
                ["420102,2020-01-21,7", "420000,2020-01-21,100"],
            ),
        ] {
            let zeros = ",0,0,0,0,0,0,0";
            let csv = format!(
                "region_code,date,{}\n{}{zeros}\n{}{zeros}\n",
                EPIDEMIC.join(","),
                rows[0],
                rows[1]
            );
            import(&db, &csv).await;
            assert_eq!(
                confirmed(&db, &sys, "000000", date).await,
                (Some(100), Some(false)),
                "{} {date}",
                db.engine
            );
            assert_eq!(
                confirmed(&db, &sys, "420000", date).await,
                (Some(100), Some(true)),
                "{} {date}",
                db.engine
            );
            assert_eq!(
                confirmed(&db, &sys, "420100", date).await,
                (Some(7), Some(false)),
                "{} {date}",
                db.engine
            );
        }
    }
}
