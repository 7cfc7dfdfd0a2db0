//! Published data's storage contract (releases in every version, errata,
//! the rows open data is built from), the same tests on every engine:
//! SQLite in a temporary directory and PostgreSQL on a fresh database per
//! test (see `tests/contract.rs`).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{code, engines_with, region, Engine};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use fangkong_domain::chain::Hash;
use fangkong_domain::region::{Level, Region};
use fangkong_store::{
    ChainHead, Erratum, Release, ReleaseFigures, ReleaseHead, ReleaseRow, StoreError, Witness,
    RELEASE_FIELDS,
};

/// A fresh store on each engine, with the small tree of `tree()` in it.
async fn engines() -> Vec<Engine> {
    engines_with(&tree()).await
}

/// nation → 420000 → 420100 → 420102, 420103, 420104; and 430000.
fn tree() -> Vec<Region> {
    let nation = Region::nation("中国");
    let hubei = region("420000", Some(&nation), "湖北省", Level::Province);
    let hunan = region("430000", Some(&nation), "湖南省", Level::Province);
    let wuhan = region("420100", Some(&hubei), "武汉市", Level::City);
    let a = region("420102", Some(&wuhan), "江岸区", Level::County);
    let b = region("420103", Some(&wuhan), "江汉区", Level::County);
    let c = region("420104", Some(&wuhan), "硚口区", Level::County);
    vec![nation, hubei, hunan, wuhan, a, b, c]
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, d).expect("date")
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 26, h, m, 0)
        .single()
        .expect("time")
        + chrono::Duration::milliseconds(123)
}

/// Figures with `new_confirmed` = `n`, `cum_confirmed` = 10 n and the rest 1, 2, …
fn figures(n: i64) -> ReleaseFigures {
    let mut f = ReleaseFigures::default();
    for (i, v) in f.0.iter_mut().enumerate() {
        *v = i as i64 + 1;
    }
    f.0[0] = n;
    f.0[5] = 10 * n;
    f
}

fn row(c: &str, name: &str, level: Level, n: i64) -> ReleaseRow {
    ReleaseRow {
        region: code(c),
        name: name.to_owned(),
        level,
        reported: n > 0,
        figures: figures(n),
    }
}

/// Wuhan's release for `date`: the city and its three districts.
fn wuhan_release(date: NaiveDate, version: i32, jianghan: i64, when: DateTime<Utc>) -> Release {
    Release {
        head: ReleaseHead {
            date,
            region: code("420100"),
            version,
            published_at: when,
            published_by: "wuhan.cmd".to_owned(),
            reason: (version > 1).then(|| "江汉区 corrected its report".to_owned()),
            units_reporting: 2,
            // version 1 made before releases witnessed the chains; later ones witness them
            witness: (version > 1).then(|| Witness {
                report: ChainHead {
                    seq: i64::from(version) * 10,
                    hash: Hash([version as u8; 32]),
                },
                audit: ChainHead {
                    seq: i64::from(version) * 100,
                    hash: Hash([0xa0 + version as u8; 32]),
                },
            }),
        },
        rows: vec![
            row("420100", "武汉市", Level::City, 7 + jianghan),
            row("420102", "江岸区", Level::County, 7),
            row("420103", "江汉区", Level::County, jianghan),
            row("420104", "硚口区", Level::County, 0),
        ],
    }
}

fn erratum(
    date: NaiveDate,
    c: &str,
    level: Level,
    field: &str,
    old: i64,
    new: i64,
    when: DateTime<Utc>,
) -> Erratum {
    Erratum {
        date,
        region: code(c),
        level,
        release_region: code("420100"),
        field: field.to_owned(),
        old_value: old,
        new_value: new,
        version: 2,
        published_at: when,
        published_by: "wuhan.cmd".to_owned(),
        reason: "江汉区 corrected its report".to_owned(),
    }
}

#[tokio::test]
async fn releases_keep_every_version_and_their_errata() {
    for e in engines().await {
        let s = &e.store;
        let d = day(25);
        let v1 = wuhan_release(d, 1, 3, at(9, 0));
        let mut tx = s.begin().await.unwrap();
        assert_eq!(tx.latest_release(d, &code("420100")).await.unwrap(), None);
        tx.insert_release(&v1, &[]).await.unwrap();
        assert_eq!(
            tx.latest_release(d, &code("420100"))
                .await
                .unwrap()
                .as_ref(),
            Some(&v1),
            "{}: read back in the transaction",
            e.name
        );
        tx.commit().await.unwrap();
        assert_eq!(
            s.release(d, &code("420100"), None).await.unwrap().as_ref(),
            Some(&v1),
            "{}",
            e.name
        );
        assert_eq!(s.last_witness().await.unwrap(), None, "{}", e.name);

        // a revision: 江汉区 3 → 6, the city 10 → 13
        let v2 = wuhan_release(d, 2, 6, at(15, 30));
        let errata = vec![
            erratum(
                d,
                "420100",
                Level::City,
                "new_confirmed",
                10,
                13,
                at(15, 30),
            ),
            erratum(
                d,
                "420100",
                Level::City,
                "cum_confirmed",
                100,
                130,
                at(15, 30),
            ),
            erratum(
                d,
                "420103",
                Level::County,
                "new_confirmed",
                3,
                6,
                at(15, 30),
            ),
            erratum(
                d,
                "420103",
                Level::County,
                "cum_confirmed",
                30,
                60,
                at(15, 30),
            ),
        ];
        let mut tx = s.begin().await.unwrap();
        tx.insert_release(&v2, &errata).await.unwrap();
        tx.commit().await.unwrap();

        // the same version again is a conflict
        let mut tx = s.begin().await.unwrap();
        let again = tx.insert_release(&v2, &[]).await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{}: {again:?}",
            e.name
        );
        drop(tx);

        assert_eq!(
            s.release(d, &code("420100"), None).await.unwrap().as_ref(),
            Some(&v2),
            "{}: the latest",
            e.name
        );
        assert_eq!(
            s.release(d, &code("420100"), Some(1))
                .await
                .unwrap()
                .as_ref(),
            Some(&v1),
            "{}: version 1 exactly as released",
            e.name
        );
        assert_eq!(s.release(d, &code("420100"), Some(3)).await.unwrap(), None);
        assert_eq!(
            s.release(day(24), &code("420100"), None).await.unwrap(),
            None
        );
        // the chain heads version 2 witnessed, outside the chain tables
        assert_eq!(
            s.last_witness().await.unwrap(),
            Some(v2.head.clone()),
            "{}",
            e.name
        );
        assert_eq!(v2.head.witness.map(|w| w.audit.seq), Some(200));
        let versions = s.release_versions(d, &code("420100")).await.unwrap();
        assert_eq!(
            versions,
            vec![v1.head.clone(), v2.head.clone()],
            "{}",
            e.name
        );

        let mut stored = s.errata(day(20), day(31), 100).await.unwrap();
        let mut expected = errata.clone();
        let key = |x: &Erratum| (x.region.to_string(), x.field.clone());
        stored.sort_by_key(key);
        expected.sort_by_key(key);
        assert_eq!(stored, expected, "{}", e.name);
        assert!(s.errata(day(26), day(31), 100).await.unwrap().is_empty());
        assert_eq!(s.errata(day(20), day(31), 1).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn open_data_reads_the_latest_version_of_each_release() {
    for e in engines().await {
        let s = &e.store;
        let mut tx = s.begin().await.unwrap();
        tx.insert_release(&wuhan_release(day(24), 1, 1, at(8, 0)), &[])
            .await
            .unwrap();
        tx.insert_release(&wuhan_release(day(25), 1, 3, at(9, 0)), &[])
            .await
            .unwrap();
        tx.insert_release(&wuhan_release(day(25), 2, 6, at(10, 0)), &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let rows = s
            .released_rows(Level::County, day(24), day(25))
            .await
            .unwrap();
        let got: Vec<(NaiveDate, String, i32, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.date,
                    r.row.region.to_string(),
                    r.version,
                    r.row.figures.get("new_confirmed").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (day(24), "420102".to_owned(), 1, 7),
                (day(24), "420103".to_owned(), 1, 1),
                (day(24), "420104".to_owned(), 1, 0),
                (day(25), "420102".to_owned(), 2, 7),
                (day(25), "420103".to_owned(), 2, 6),
                (day(25), "420104".to_owned(), 2, 0),
            ],
            "{}",
            e.name
        );
        assert!(rows.iter().all(|r| r.release_region == code("420100")));
        assert_eq!(rows[4].published_at, at(10, 0));
        assert_eq!(rows[4].row.name, "江汉区");
        assert_eq!(rows[4].row.level, Level::County);
        let city = s
            .released_rows(Level::City, day(25), day(25))
            .await
            .unwrap();
        assert_eq!(city.len(), 1, "{}", e.name);
        assert_eq!(city[0].row.figures.get("cum_confirmed"), Some(130));
        assert!(s
            .released_rows(Level::Province, day(1), day(31))
            .await
            .unwrap()
            .is_empty());

        let heads = s
            .latest_releases(Some(&code("420100")), day(1), day(31), 10)
            .await
            .unwrap();
        let got: Vec<(NaiveDate, i32)> = heads.iter().map(|h| (h.date, h.version)).collect();
        assert_eq!(got, vec![(day(25), 2), (day(24), 1)], "{}", e.name);
        let all = s.latest_releases(None, day(1), day(24), 10).await.unwrap();
        assert_eq!(all.len(), 1);
        assert!(s
            .latest_releases(Some(&code("430000")), day(1), day(31), 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(RELEASE_FIELDS.len(), figures(0).0.len());
    }
}
