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
