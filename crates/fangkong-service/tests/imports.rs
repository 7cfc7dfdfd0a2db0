//! Report files, the published 2020 series and the bulletin, on both engines.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;

use chrono::Duration;

use common::{day, engines, shared, TestDb};
use fangkong_analytics::series::cumulate;
use fangkong_domain::bulletin::Lang;
use fangkong_domain::chain::Verdict;
use fangkong_domain::form::epidemic_form;
use fangkong_domain::report::Source;
use fangkong_service::import::{convert_jhu, convert_nhc, JHU_PROVINCES};
use fangkong_service::ServiceError;

async fn import_csv(
    db: &TestDb,
    form: &str,
    csv: &str,
) -> fangkong_service::Result<fangkong_service::reports::ImportSummary> {
    let sys = db.system().await;
    let file = db
        .service
        .read_report_csv(&sys, form, csv.as_bytes(), &|_| {})
        .await?;
    if !file.bad.is_empty() {
        return Err(ServiceError::BadRows(
            file.bad.into_iter().map(|(e, _)| e).collect(),
        ));
    }
    db.service
        .import_report_rows(&sys, form, file.rows, Source::Import, "test.csv")
        .await
}

#[tokio::test]
async fn every_bad_row_is_named_and_nothing_is_half_imported() {
    for db in engines().await {
        let future = db.service.today() + Duration::days(3);
        let csv = format!(
            "region_code,date,new_confirmed,new_suspected,new_severe,new_deaths,new_recovered,current_severe,current_suspected,current_observation\n\
             420102,2020-01-25,1,0,0,0,0,0,0,0\n\
             999999,2020-01-25,1,0,0,0,0,0,0,0\n\
             420103,{future},1,0,0,0,0,0,0,0\n\
             420104,2020-01-25,-2,0,0,0,0,0,0,0\n\
             420105,2020-01-25,1.5,0,0,0,0,0,0,0\n\
             420102,2020-01-25,2,0,0,0,0,0,0,0\n\
             420106,2020-01-32,1,0,0,0,0,0,0,0\n"
        );
        let err = import_csv(&db, "epidemic", &csv).await.unwrap_err();
        let ServiceError::BadRows(rows) = err else {
            panic!("{}: expected bad rows, got {err}", db.engine)
        };
        let found: Vec<(u64, String)> = rows.iter().map(|r| (r.line, r.column.clone())).collect();
        let expected: Vec<(u64, String)> = [
            (3, "region_code"),
            (4, "date"),
            (5, "new_confirmed"),
            (6, "new_confirmed"),
            (7, "region_code"),
            (8, "date"),
        ]
        .into_iter()
        .map(|(l, c)| (l, c.to_owned()))
        .collect();
        assert_eq!(found, expected, "{}: {rows:?}", db.engine);
        assert!(rows[1].reason.contains("future"), "{}", rows[1].reason);
        assert!(
            rows[4].reason.contains("line 2"),
            "duplicate names the first line: {}",
            rows[4].reason
        );
        // nothing was imported
        let sys = db.system().await;
        let f = db
            .service
            .figures(&sys, "epidemic", "420000", day("2020-01-25"))
            .await
            .expect("figures");
        assert!(f.day.is_none(), "{}", db.engine);

        // an unknown column is refused before any row is read
        let err = import_csv(&db, "grid", "region_code,date,households_visited,cats\n")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::Invalid(f) if f.field == "header" && f.reason.contains("cats")),
            "{err}"
        );
        let err = import_csv(&db, "grid", "region_code,date,households_visited\n")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::Invalid(f) if f.reason.contains("returnees_registered")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_bulletin_of_25_january_2020_reads_as_the_commissions() {
    let path = shared("data/nhc_national_daily_2020.csv");
    for db in engines().await {
        // through the import path: the commission's series converted to the report CSV, then imported
        let converted = convert_nhc(
            std::fs::File::open(&path).expect("nhc file"),
            &epidemic_form(),
        )
        .expect("convert");
        let mut csv = Vec::new();
        converted
            .write_csv(&mut csv, &epidemic_form())
            .expect("csv");
        let summary = import_csv(&db, "epidemic", std::str::from_utf8(&csv).expect("utf8"))
            .await
            .expect("import");
        assert_eq!(summary.filed, 56, "{}", db.engine);

        let b = db
            .service
            .bulletin(None, day("2020-01-25"))
            .await
            .expect("bulletin");
        let zh = b.render(Lang::Zh);
        assert!(
            zh.contains("截至1月25日24时，全国累计报告确诊病例1975例，现有重症病例324例，累计死亡病例56例，累计治愈出院病例49例，现有疑似病例2684例。"),
            "{}: {zh}",
            db.engine
        );
        assert!(
            zh.contains("1月25日0—24时，全国报告新增确诊病例688例"),
            "{zh}"
        );
        // deaths 56 − 41 the day before, discharged 49 − 38
        assert!(
            zh.contains("新增死亡病例15例，新增治愈出院病例11例"),
            "{zh}"
        );
        assert!(zh.contains("现有21556名密切接触者正在接受医学观察"), "{zh}");
        let en = b.render(Lang::En);
        assert!(
            en.contains("As of 24:00 on January 25, the nation had reported a total of 1,975 confirmed cases, of which 324 are severe now; 56 deaths; 49 discharged (cured); and 2,684 suspected cases now."),
            "{en}"
        );
        // a later day, from the same series: 2020-02-11
        let b = db
            .service
            .bulletin(None, day("2020-02-11"))
            .await
            .expect("bulletin");
        assert_eq!(
            (b.cum_confirmed, b.cum_deaths),
            (44653, 1113),
            "{}",
            db.engine
        );
    }
}

/// The JHU file, read independently of the code under test.
fn jhu_file() -> Vec<(String, String, i64, i64)> {
    let text =
        std::fs::read_to_string(shared("data/jhu_china_provinces_2020.csv")).expect("jhu file");
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[0].to_owned(),
                c[1].to_owned(),
                c[2].parse().expect("n"),
                c[3].parse().expect("n"),
            )
        })
        .collect()
}

#[tokio::test]
async fn jhu_2020_provinces_roll_up_to_the_nation_and_hubei_matches_day_by_day() {
    let rows = jhu_file();
    for db in engines().await {
        let input = std::fs::File::open(shared("data/jhu_china_provinces_2020.csv")).expect("jhu");
        let converted = convert_jhu(input, &epidemic_form()).expect("convert");
        let sys = db.system().await;
        let (summary, notes) = db
            .service
            .import_converted(&sys, "epidemic", converted, "jhu")
            .await
            .expect("import");
        assert_eq!(
            summary.filed,
            31 * 345,
            "{}: the 31 mainland provinces",
            db.engine
        );
        assert!(
            notes.iter().any(|n| n.contains("810000")),
            "Hong Kong is not in the tree: {notes:?}"
        );

        // the nation on 2020-02-29 is the sum of the provinces (each province's running maximum:
        // a published fall is clipped, never subtracted)
        let mainland: Vec<&str> = JHU_PROVINCES
            .iter()
            .filter(|(_, code)| !matches!(*code, "810000" | "820000"))
            .map(|(name, _)| *name)
            .collect();
        let mut highest: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for (province, date, confirmed, deaths) in &rows {
            if mainland.contains(&province.as_str()) && date.as_str() <= "2020-02-29" {
                let e = highest.entry(province.as_str()).or_default();
                *e = (e.0.max(*confirmed), e.1.max(*deaths));
            }
        }
        let expected: (i64, i64) = highest.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let nation = db
            .service
            .figures(&sys, "epidemic", "000000", day("2020-02-29"))
            .await
            .expect("nation");
        assert_eq!(
            (nation.cumulative.get(0), nation.cumulative.get(3)),
            expected,
            "{}",
            db.engine
        );
        // and that is the commission's published total as of 2020-02-29 24:00
        assert_eq!(expected, (79_251, 2_835));

        // Hubei's cumulative series equals the file on every day of 2020
        let series = db
            .service
            .series(
                &sys,
                "epidemic",
                "420000",
                day("2020-01-22"),
                day("2020-12-31"),
            )
            .await
            .expect("series");
        assert_eq!(series.len(), 345);
        let confirmed = cumulate(&series.iter().map(|d| d.values.get(0)).collect::<Vec<_>>());
        let deaths = cumulate(&series.iter().map(|d| d.values.get(3)).collect::<Vec<_>>());
        let hubei: Vec<&(String, String, i64, i64)> =
            rows.iter().filter(|r| r.0 == "Hubei").collect();
        for (i, (d, r)) in series.iter().zip(&hubei).enumerate() {
            assert_eq!(d.date.to_string(), r.1);
            assert_eq!(
                (confirmed[i], deaths[i]),
                (r.2, r.3),
                "{}: Hubei on {}",
                db.engine,
                r.1
            );
        }
        assert!(db
            .service
            .verify_chains(&sys)
            .await
            .expect("verify")
            .intact());
    }
}

#[tokio::test]
async fn tampering_with_history_is_found_and_named() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        for (i, county) in ["420102", "420103", "420104"].iter().enumerate() {
            s.file_report(
                &sys,
                "epidemic",
                county,
                day("2020-01-25"),
                fangkong_service::reports::FiledValues::Pairs(
                    epidemic_form()
                        .fields
                        .iter()
                        .map(|f| (f.name.clone(), i as i64))
                        .collect(),
                ),
            )
            .await
            .expect("file");
        }
        assert!(s.verify_chains(&sys).await.expect("verify").intact());
        let sql_tamper_report = "UPDATE report SET v1 = v1 + 100 WHERE seq = 2";
        let sql_tamper_audit =
            "UPDATE audit SET actor = 'someone' WHERE seq = (SELECT MAX(seq) FROM audit)";
        execute(&db, sql_tamper_report).await;
        let check = s.verify_chains(&sys).await.expect("verify");
        assert!(
            matches!(check.reports, Verdict::Broken { seq: 2, .. }),
            "{}: {:?}",
            db.engine,
            check.reports
        );
        execute(&db, sql_tamper_audit).await;
        let check = s.verify_chains(&sys).await.expect("verify");
        assert!(
            matches!(check.audit, Verdict::Broken { .. }),
            "{}: {:?}",
            db.engine,
            check.audit
        );
        // removing the newest entry is found too
        execute(&db, "UPDATE report SET v1 = v1 - 100 WHERE seq = 2").await;
        execute(&db, "DELETE FROM report WHERE seq = 3").await;
        let check = s.verify_chains(&sys).await.expect("verify");
        assert!(
            matches!(&check.reports, Verdict::Broken { seq: 3, reason } if reason.contains("removed")),
            "{:?}",
            check.reports
        );
    }
}

const EPIDEMIC_HEADER: &str = "region_code,date,new_confirmed,new_suspected,new_severe,new_deaths,new_recovered,current_severe,current_suspected,current_observation\n";

/// Issue 12: two CSV rows of `i64::MAX / 2 + 1` new cases wrapped around
/// silently in the roll-ups. Each is now a bad row naming its line and
/// column, and nothing of the file is written.
#[tokio::test]
async fn counts_over_the_bound_are_bad_rows_and_nothing_is_written() {
    let half = i64::MAX / 2 + 1;
    for db in engines().await {
        let csv = format!(
            "{EPIDEMIC_HEADER}\
             420102,2020-01-25,{half},0,0,0,0,0,0,0\n\
             420103,2020-01-25,{half},0,0,0,0,0,0,0\n\
             420104,2020-01-25,3,0,0,0,0,0,0,10000001\n\
             420105,2020-01-25,10000000,0,0,0,0,0,0,0\n"
        );
        let err = import_csv(&db, "epidemic", &csv).await.unwrap_err();
        let ServiceError::BadRows(rows) = err else {
            panic!("{}: expected bad rows, got {err}", db.engine)
        };
        let found: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.column.as_str())).collect();
        assert_eq!(
            found,
            [
                (2, "new_confirmed"),
                (3, "new_confirmed"),
                (4, "current_observation")
            ],
            "{}: {rows:?}",
            db.engine
        );
        assert_eq!(
            rows[0].reason,
            format!("must be at most 10000000, got {half}")
        );
        let sys = db.system().await;
        let f = db
            .service
            .figures(&sys, "epidemic", "000000", day("2020-01-25"))
            .await
            .expect("figures");
        assert!(f.day.is_none(), "{}: nothing written", db.engine);

        // rows made in code (the demo, the converters) meet the bound too
        let region = std::sync::Arc::new(
            db.service
                .store()
                .region(&"420102".parse().unwrap())
                .await
                .unwrap()
                .unwrap(),
        );
        let mut values = fangkong_domain::form::Values::ZERO;
        values.0[0] = half;
        let err = db
            .service
            .import_report_rows(
                &sys,
                "epidemic",
                vec![fangkong_service::reports::ImportRow {
                    line: 7,
                    region,
                    date: day("2020-01-25"),
                    values,
                    filed_at: None,
                }],
                Source::Demo,
                "test",
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::Invalid(f) if f.field == "values.new_confirmed" && f.reason.starts_with("line 7: must be at most")),
            "{}: {err}",
            db.engine
        );
    }
}

/// The JHU and NHC converters refuse a day whose count (a difference of
/// cumulative counts, or a stock as given) is over the field's bound,
/// naming the source line and the field.
#[test]
fn converted_series_are_bounded() {
    let form = epidemic_form();
    let jhu = "province,date,confirmed_cum,deaths_cum,recovered_cum\n\
               Hubei,2020-01-22,444,17,28\n\
               Hubei,2020-01-23,9223372036854775807,18,28\n\
               Hunan,2020-01-23,4,0,0\n";
    let err = convert_jhu(jhu.as_bytes(), &form).unwrap_err();
    let ServiceError::BadRows(rows) = err else {
        panic!("expected bad rows, got {err}")
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].line, rows[0].column.as_str()),
        (3, "new_confirmed")
    );
    assert!(
        rows[0].reason.contains("at most 10000000"),
        "{}",
        rows[0].reason
    );

    let nhc = "date,confirmed_cum,severe_current,deaths_cum,recovered_cum,suspected_current,contacts_under_observation\n\
               2020-01-24,1287,237,41,38,1965,13967\n\
               2020-01-25,1975,324,56,49,2684,99999999\n";
    let err = convert_nhc(nhc.as_bytes(), &form).unwrap_err();
    let ServiceError::BadRows(rows) = err else {
        panic!("expected bad rows, got {err}")
    };
    assert_eq!(
        rows.iter()
            .map(|r| (r.line, r.column.as_str()))
            .collect::<Vec<_>>(),
        [(3, "current_observation")]
    );
    assert!(convert_nhc(
        "date,confirmed_cum,severe_current,deaths_cum,recovered_cum,suspected_current,contacts_under_observation\n2020-01-24,1287,237,41,38,1965,13967\n".as_bytes(),
        &form
    )
    .is_ok());
}

/// Issue 12: a sum past `i64` in the roll-ups made SQLite store a REAL (the
/// public routes then answered 500) and PostgreSQL fail every later report
/// of the day. A roll-up already near the limit now refuses the filing that
/// would overflow it with an error naming the values, nothing of the filing
/// is written, and the public figures still answer.
#[tokio::test]
async fn a_refused_overflow_leaves_the_public_figures_answering() {
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        let d = day("2020-01-25");
        let mut near = fangkong_domain::form::Values::ZERO;
        near.0[0] = i64::MAX - 3;
        let mut tx = s.store().begin().await.unwrap();
        tx.add_to_rollups(
            "epidemic",
            &[fangkong_store::RollupRow {
                date: d,
                region: "000000".parse().unwrap(),
                level: fangkong_domain::region::Level::Nation,
                values: near,
            }],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let pairs: Vec<(String, i64)> = epidemic_form()
            .fields
            .iter()
            .map(|f| (f.name.clone(), 5))
            .collect();
        let err = s
            .file_report(
                &sys,
                "epidemic",
                "420102",
                d,
                fangkong_service::reports::FiledValues::Pairs(pairs),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ServiceError::Invalid(f) if f.field == "values" && f.reason.contains("nothing was written")),
            "{}: {err:?}",
            db.engine
        );
        for region in ["420102", "420100", "420000"] {
            let f = s.figures(&sys, "epidemic", region, d).await.unwrap();
            assert!(f.day.is_none(), "{}: {region} untouched", db.engine);
        }
        let bulletin = s.bulletin(None, d).await;
        assert!(bulletin.is_ok(), "{}: {bulletin:?}", db.engine);
        let series = s.series(&sys, "epidemic", "000000", d, d).await.unwrap();
        assert_eq!(series[0].values.get(0), i64::MAX - 3, "{}", db.engine);
        // another unit's report that fits is still taken on the same day
        let f = s
            .file_report(
                &sys,
                "epidemic",
                "430102",
                d,
                fangkong_service::reports::FiledValues::Zero,
            )
            .await;
        assert!(f.is_ok(), "{}: {f:?}", db.engine);
    }
}

/// Three counties of 武汉 file the 25th.
async fn three_counties_file(db: &TestDb) {
    let sys = db.system().await;
    for (i, county) in ["420102", "420103", "420104"].iter().enumerate() {
        db.service
            .file_report(
                &sys,
                "epidemic",
                county,
                day("2020-01-25"),
                fangkong_service::reports::FiledValues::Pairs(
                    epidemic_form()
                        .fields
                        .iter()
                        .map(|f| (f.name.clone(), i as i64 + 1))
                        .collect(),
                ),
            )
            .await
            .expect("file");
    }
}

/// Issue 12: stored roll-ups and line-list rows could be edited without any
/// check noticing. `audit verify` now recomputes both and names the first
/// wrong row.
#[tokio::test]
async fn verify_names_an_edited_rollup_and_an_edited_line_list_row() {
    use fangkong_domain::case::{CaseId, NewCase, Origin, Person};
    use fangkong_domain::contact::{
        ContactId, ContactLink, Exposure, NewContact, ObservationPeriod, ObservationPlace,
    };
    use fangkong_service::audit::Derived;
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        three_counties_file(&db).await;
        let wuhan = fangkong_domain::region::RegionCode::parse("420102").unwrap();
        s.report_case(
            &sys,
            NewCase {
                id: CaseId::parse("WH-1").unwrap(),
                person: Person::unknown(wuhan.clone()),
                reporting_unit: wuhan.clone(),
                origin: Origin::Local,
                place_of_exposure: None,
                onset: Some(day("2020-01-20")),
                first_visit: None,
                report: day("2020-01-22"),
                source_cases: vec![],
                from_contact: None,
            },
            vec![],
        )
        .await
        .unwrap();
        s.register_contact(
            &sys,
            NewContact {
                id: ContactId::parse("K-1").unwrap(),
                person: Person::unknown(wuhan.clone()),
                links: vec![ContactLink {
                    source: CaseId::parse("WH-1").unwrap(),
                    exposure: Exposure::Household,
                    last_exposure: day("2020-01-21"),
                }],
                place: ObservationPlace::Home,
                registered: day("2020-01-22"),
                period: ObservationPeriod::default(),
            },
            &wuhan,
        )
        .await
        .unwrap();
        let check = s.verify_chains(&sys).await.unwrap();
        assert!(check.intact(), "{}: {check:?}", db.engine);
        // nation, 湖北, 武汉 on the 25th
        assert_eq!(check.rollups, Derived::Agrees { rows: 3 }, "{}", db.engine);
        assert_eq!(
            check.line_list,
            Derived::Agrees { rows: 2 },
            "{}",
            db.engine
        );

        execute(
            &db,
            "UPDATE rollup SET v1 = v1 + 1 WHERE region_code = '420100' AND form = 'epidemic'",
        )
        .await;
        let check = s.verify_chains(&sys).await.unwrap();
        assert!(!check.intact());
        assert_eq!(
            check.rollups,
            Derived::Differs {
                row: "rollup epidemic 420100 2020-01-25".into(),
                reason: "values.new_confirmed is 7 but its reports sum to 6".into(),
            },
            "{}",
            db.engine
        );
        assert!(
            matches!(
                check.reports,
                fangkong_domain::chain::Verdict::Intact { .. }
            ),
            "{}: the chains themselves are intact",
            db.engine
        );
        execute(
            &db,
            "UPDATE rollup SET v1 = v1 - 1 WHERE region_code = '420100'",
        )
        .await;
        // a roll-up row removed is named too
        execute(&db, "DELETE FROM rollup WHERE region_code = '420000'").await;
        let check = s.verify_chains(&sys).await.unwrap();
        assert!(
            matches!(&check.rollups, Derived::Differs { row, reason } if row == "rollup epidemic 420000 2020-01-25" && reason.contains("missing")),
            "{}: {:?}",
            db.engine,
            check.rollups
        );
        let mut tx = s.store().begin().await.unwrap();
        tx.rebuild_rollups("epidemic", &[day("2020-01-25")])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(
            s.verify_chains(&sys).await.unwrap().intact(),
            "{}",
            db.engine
        );

        execute(&db, "UPDATE case_file SET classification = 'confirmed'").await;
        let check = s.verify_chains(&sys).await.unwrap();
        assert_eq!(
            check.line_list,
            Derived::Differs {
                row: "case_file WH-1 (key 1)".into(),
                reason: "column classification holds \"confirmed\" but the replay of its history gives \"suspected\"".into(),
            },
            "{}",
            db.engine
        );
        execute(&db, "UPDATE case_file SET classification = 'suspected'").await;
        execute(&db, "UPDATE contact SET release_date = '2020-01-23'").await;
        let check = s.verify_chains(&sys).await.unwrap();
        assert!(
            matches!(&check.line_list, Derived::Differs { row, reason } if row.starts_with("contact K-1") && reason.contains("release_date")),
            "{}: {:?}",
            db.engine,
            check.line_list
        );
    }
}

/// Issue 12: deleting the last audit entries and rewinding the stored head
/// was not detected. A release witnesses both heads, and so does a head
/// file: a chain cut back below either is broken, "entries after seq N were
/// removed".
#[tokio::test]
async fn a_tampered_tail_is_found_against_the_witnesses() {
    use fangkong_domain::chain::Verdict;
    for db in engines().await {
        let s = &db.service;
        let sys = db.system().await;
        three_counties_file(&db).await;
        s.publish(&sys, day("2020-01-25"), Some("000000"), None)
            .await
            .unwrap();
        let release = s.store().last_witness().await.unwrap().unwrap();
        let seen = release.witness.unwrap();
        assert_eq!(seen.report.seq, 3, "{}", db.engine);
        assert!(seen.audit.seq >= 3, "{}", db.engine);
        let check = s.verify_chains(&sys).await.unwrap();
        assert!(check.intact(), "{}: {check:?}", db.engine);
        assert_eq!(check.witnesses.len(), 1);

        // cut the audit chain back to before the release, head rewound to fit
        let n = seen.audit.seq - 2;
        execute(&db, &format!("DELETE FROM audit WHERE seq > {n}")).await;
        execute(
            &db,
            &format!(
                "UPDATE chain_head SET seq = {n}, hash = (SELECT hash FROM audit WHERE seq = {n}) \
                 WHERE name = 'audit'"
            ),
        )
        .await;
        let check = s.verify_chains(&sys).await.unwrap();
        assert!(!check.intact());
        match &check.audit {
            Verdict::Broken { seq, reason } => {
                assert_eq!(*seq, n + 1, "{}", db.engine);
                assert!(
                    reason.contains(&format!("entries after seq {n} were removed"))
                        && reason.contains("release of 000000"),
                    "{}: {reason}",
                    db.engine
                );
            }
            other => panic!("{}: {other:?}", db.engine),
        }

        // with the releases gone as well, a head file still tells
        execute(&db, "DELETE FROM release_figure").await;
        execute(&db, "DELETE FROM release").await;
        assert!(
            s.verify_chains(&sys).await.unwrap().intact(),
            "{}",
            db.engine
        );
        three_counties_file(&db).await; // unchanged: nothing new
        let mut pairs: Vec<(String, i64)> = epidemic_form()
            .fields
            .iter()
            .map(|f| (f.name.clone(), 0))
            .collect();
        pairs[0].1 = 9;
        s.file_report(
            &sys,
            "epidemic",
            "420105",
            day("2020-01-25"),
            fangkong_service::reports::FiledValues::Pairs(pairs),
        )
        .await
        .unwrap();
        let file = s.witness(&sys).await.unwrap();
        assert_eq!(file.report.seq, 4, "{}", db.engine);
        execute(&db, "DELETE FROM report WHERE seq = 4").await;
        execute(
            &db,
            "UPDATE chain_head SET seq = 3, hash = (SELECT hash FROM report WHERE seq = 3) \
             WHERE name = 'report'",
        )
        .await;
        let check = s.verify_chains(&sys).await.unwrap();
        assert!(
            matches!(check.reports, Verdict::Intact { .. }),
            "{}: without a witness the cut is not seen",
            db.engine
        );
        let check = s.verify_all(&sys, Some(file)).await.unwrap();
        match &check.reports {
            Verdict::Broken { seq: 4, reason } => assert!(
                reason
                    .contains("the head file witnessed entry 4: entries after seq 3 were removed"),
                "{}: {reason}",
                db.engine
            ),
            other => panic!("{}: {other:?}", db.engine),
        }
    }
}

async fn execute(db: &TestDb, sql: &str) {
    use sqlx::Connection;
    if db.engine == "sqlite" {
        let mut c = sqlx::SqliteConnection::connect(&db.url)
            .await
            .expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect("tamper");
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::query(sql).execute(&mut c).await.expect("tamper");
    }
}
