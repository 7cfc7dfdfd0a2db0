//! The storage contract, the same tests on every engine: SQLite in a
//! temporary directory and PostgreSQL on a fresh database per test (skipped
//! with a warning without a server, failed under CI: see
//! `fangkong_store_postgres::testing`).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{code, empty_engines, region, Engine};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use fangkong_domain::audit::AuditEntry;
use fangkong_domain::chain::Hash;
use fangkong_domain::form::Values;
use fangkong_domain::region::{Level, Region, RegionCode};
use fangkong_domain::report::{ReportKey, ReportVersion, ReviewStatus, Source};
use fangkong_domain::user::Role;
use fangkong_store::{
    Chain, ChainHead, CompletenessCounts, NewUser, Review, RollupRow, Store, StoreError,
};

async fn engines() -> Vec<Engine> {
    empty_engines().await
}

/// nation 000000 → 420000 (湖北省) → 420100 (武汉市) → 420102, 420103, 420104;
/// and 430000 (湖南省).
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

/// Each engine's store with a small tree in it.
async fn with_trees() -> Vec<Engine> {
    let all = engines().await;
    for e in &all {
        let mut tx = e.store.begin().await.expect("begin");
        // Children first on purpose: the engine orders parents first itself.
        let mut regions = tree();
        regions.reverse();
        assert_eq!(
            tx.insert_regions(&regions).await.expect("insert regions"),
            7,
            "{}",
            e.name
        );
        tx.commit().await.expect("commit");
    }
    all
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, d).expect("date")
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 25, h, m, 0)
        .single()
        .expect("time")
}

fn vals(xs: &[i64]) -> Values {
    let mut v = Values::ZERO;
    v.0[..xs.len()].copy_from_slice(xs);
    v
}

fn version(
    seq: i64,
    form: &str,
    region: &str,
    date: NaiveDate,
    version: i32,
    values: Values,
) -> ReportVersion {
    ReportVersion {
        seq,
        key: ReportKey {
            form: form.to_owned(),
            region: code(region),
            date,
        },
        version,
        values,
        filed_by: "grid,\"one\"".to_owned(),
        filed_at: DateTime::from_timestamp_millis(1_579_950_000_123 + seq).expect("time"),
        source: Source::Entry,
        hash: Hash([u8::try_from(seq % 256).expect("byte"); 32]),
    }
}

fn level_of(region: &str) -> Level {
    match region {
        "000000" => Level::Nation,
        r if r.ends_with("0000") => Level::Province,
        r if r.ends_with("00") => Level::City,
        _ => Level::County,
    }
}

async fn file(s: &dyn Store, versions: Vec<ReportVersion>, superseded: &[i64]) {
    let rows: Vec<(ReportVersion, Level)> = versions
        .into_iter()
        .map(|v| {
            let l = level_of(v.key.region.as_str());
            (v, l)
        })
        .collect();
    let mut tx = s.begin().await.expect("begin");
    tx.insert_versions(&rows, superseded)
        .await
        .expect("insert versions");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn regions_are_stored_and_queried() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let hubei = s
            .region(&code("420000"))
            .await
            .expect("region")
            .expect("exists");
        assert_eq!(hubei.name, "湖北省");
        assert_eq!(hubei.level, Level::Province);
        assert_eq!(hubei.path, "/000000/420000/");
        assert_eq!(hubei.parent, Some(RegionCode::nation()));
        assert!(s.region(&code("999999")).await.expect("region").is_none());
        let nation = s
            .region(&RegionCode::nation())
            .await
            .expect("region")
            .expect("nation");
        assert_eq!(nation.parent, None);

        let mut found = s
            .regions(&[code("420102"), code("430000"), code("999999")])
            .await
            .expect("regions");
        found.sort_by(|a, b| a.code.cmp(&b.code));
        let codes: Vec<&str> = found.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["420102", "430000"]);

        let children = s.children(&code("420100")).await.expect("children");
        let codes: Vec<&str> = children.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["420102", "420103", "420104"]);

        let counts = s.count_by_level("/000000/420000/").await.expect("counts");
        assert_eq!(
            counts,
            vec![(Level::Province, 1), (Level::City, 1), (Level::County, 3)]
        );
        let counts = s.count_by_level("/000000/").await.expect("counts");
        assert_eq!(counts[0], (Level::Nation, 1));
        assert_eq!(counts[1], (Level::Province, 2));

        let at_level = s
            .regions_at_level("/000000/", Level::County)
            .await
            .expect("level");
        assert_eq!(at_level.len(), 3);

        let hits = s
            .search_regions("/000000/", "江", 10)
            .await
            .expect("search");
        let codes: Vec<&str> = hits.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["420102", "420103"]);
        let hits = s
            .search_regions("/000000/", "4201", 10)
            .await
            .expect("search");
        let codes: Vec<&str> = hits.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["420100", "420102", "420103", "420104"]);
        let hits = s
            .search_regions("/000000/430000/", "4201", 10)
            .await
            .expect("search");
        assert!(hits.is_empty());
        let hits = s.search_regions("/000000/", "%", 10).await.expect("search");
        assert!(hits.is_empty(), "LIKE wildcards are taken literally");
        let hits = s.search_regions("/000000/", "湖", 1).await.expect("search");
        assert_eq!(hits.len(), 1);

        // Re-import is harmless and updates.
        let mut again = tree();
        again[1].name = "湖北".to_owned();
        let mut tx = s.begin().await.expect("begin");
        assert_eq!(tx.insert_regions(&again).await.expect("reimport"), 7);
        tx.commit().await.expect("commit");
        let hubei = s
            .region(&code("420000"))
            .await
            .expect("region")
            .expect("exists");
        assert_eq!(hubei.name, "湖北");
        assert_eq!(s.count_by_level("/000000/").await.expect("counts").len(), 4);
    }
}

#[tokio::test]
async fn versions_supersede_and_keep_history() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let key = ReportKey {
            form: "epidemic".to_owned(),
            region: code("420102"),
            date: day(25),
        };
        file(
            s,
            vec![version(1, "epidemic", "420102", day(25), 1, vals(&[5, 1]))],
            &[],
        )
        .await;
        assert_eq!(
            s.current_report(&key)
                .await
                .expect("current")
                .expect("some")
                .version,
            1
        );

        let mut tx = s.begin().await.expect("begin");
        let current = tx
            .current_report(&key)
            .await
            .expect("current")
            .expect("some");
        assert_eq!(current.seq, 1);
        let v2 = version(
            2,
            "epidemic",
            "420102",
            day(25),
            2,
            vals(&[7, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -3]),
        );
        tx.insert_versions(&[(v2.clone(), Level::County)], &[1])
            .await
            .expect("insert");
        tx.commit().await.expect("commit");

        let current = s
            .current_report(&key)
            .await
            .expect("current")
            .expect("some");
        assert_eq!(
            current, v2,
            "every field round-trips, quotes and commas included"
        );
        let history = s.report_history(&key).await.expect("history");
        assert_eq!(
            history.iter().map(|v| v.version).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(history[0].values, vals(&[5, 1]));

        let chain = s.report_chain(0, 10).await.expect("chain");
        assert_eq!(chain.iter().map(|v| v.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.report_chain(1, 10).await.expect("chain").len(), 1);
        assert_eq!(s.report_chain(0, 1).await.expect("chain").len(), 1);

        let in_tree = s
            .current_reports("epidemic", "/000000/420000/", day(1), day(31))
            .await
            .expect("current");
        assert_eq!(in_tree, vec![v2.clone()]);
        assert!(s
            .current_reports("epidemic", "/000000/430000/", day(1), day(31))
            .await
            .expect("current")
            .is_empty());

        let mut tx = s.begin().await.expect("begin");
        let on = tx
            .current_reports_on("epidemic", &[day(25), day(26)])
            .await
            .expect("on");
        assert_eq!(on, vec![v2.clone()]);
        let own = tx
            .own_reports_among("epidemic", day(25), &[code("420102"), code("420103")])
            .await
            .expect("own");
        assert_eq!(own, vec![code("420102")]);
    }
}

#[tokio::test]
async fn a_duplicate_version_is_a_conflict() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        file(
            s,
            vec![version(1, "epidemic", "420102", day(25), 1, vals(&[1]))],
            &[],
        )
        .await;
        let mut tx = s.begin().await.expect("begin");
        let dup = version(2, "epidemic", "420102", day(25), 1, vals(&[2]));
        let err = tx
            .insert_versions(&[(dup, Level::County)], &[])
            .await
            .expect_err("duplicate");
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        drop(tx);

        let mut tx = s.begin().await.expect("begin");
        let user = NewUser {
            username: "wuhan".to_owned(),
            display_name: "Wuhan".to_owned(),
            role: Role::City,
            region: code("420100"),
            password_hash: "x".to_owned(),
            created_at: at(1, 0),
            site: None,
        };
        tx.insert_user(&user).await.expect("first user");
        let err = tx.insert_user(&user).await.expect_err("same name");
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
}

#[tokio::test]
async fn a_dropped_transaction_leaves_nothing() {
    for engine in engines().await {
        let s = engine.store.as_ref();
        {
            let mut tx = s.begin().await.expect("begin");
            tx.insert_regions(&tree()).await.expect("insert");
            tx.set_chain_head(
                Chain::Report,
                ChainHead {
                    seq: 9,
                    hash: Hash([9; 32]),
                },
            )
            .await
            .expect("head");
        }
        assert!(s
            .region(&RegionCode::nation())
            .await
            .expect("region")
            .is_none());
        assert_eq!(s.chain_head(Chain::Report).await.expect("head").seq, 0);
    }
}

#[tokio::test]
async fn rollups_add_up() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let mut tx = s.begin().await.expect("begin");
        let wuhan = code("420100");
        assert_eq!(
            tx.rollup("epidemic", day(25), &wuhan)
                .await
                .expect("rollup"),
            None
        );
        add_one(
            &mut tx,
            "epidemic",
            day(25),
            &wuhan,
            Level::City,
            &vals(&[1, 2, 3]),
        )
        .await
        .expect("add");
        add_one(
            &mut tx,
            "epidemic",
            day(25),
            &wuhan,
            Level::City,
            &vals(&[10, -2, 0, 4]),
        )
        .await
        .expect("add");
        assert_eq!(
            tx.rollup("epidemic", day(25), &wuhan)
                .await
                .expect("rollup"),
            Some(vals(&[11, 0, 3, 4]))
        );
        tx.commit().await.expect("commit");
        let figures = s
            .figures("epidemic", &wuhan, day(1), day(31))
            .await
            .expect("figures");
        assert_eq!(figures.len(), 1);
        assert_eq!(figures[0].values, vals(&[11, 0, 3, 4]));
        assert!(!figures[0].own);
    }
}

/// Issue 12: on SQLite a roll-up summed past `i64` became a REAL (and the
/// public routes answered 500); on PostgreSQL it failed with a bare
/// "bigint out of range". Both engines now refuse it as out of range, in
/// one row or in a bulk statement, and the dropped transaction leaves the
/// roll-up as it was, still an integer.
#[tokio::test]
async fn rollups_past_i64_are_refused_and_leave_nothing() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let wuhan = code("420100");
        let hubei = code("420000");
        let near = vals(&[i64::MAX - 5, 7]);
        let mut tx = s.begin().await.expect("begin");
        add_one(&mut tx, "epidemic", day(25), &wuhan, Level::City, &near)
            .await
            .expect("add");
        tx.commit().await.expect("commit");

        for deltas in [
            vec![RollupRow {
                date: day(25),
                region: wuhan.clone(),
                level: Level::City,
                values: vals(&[6]),
            }],
            // a bulk change: a new row first, the one that overflows after
            vec![
                RollupRow {
                    date: day(25),
                    region: hubei.clone(),
                    level: Level::Province,
                    values: vals(&[1, 1]),
                },
                RollupRow {
                    date: day(25),
                    region: wuhan.clone(),
                    level: Level::City,
                    values: vals(&[i64::MAX, 0]),
                },
            ],
        ] {
            let mut tx = s.begin().await.expect("begin");
            match tx.add_to_rollups("epidemic", &deltas).await {
                Err(StoreError::OutOfRange(_)) => {}
                other => panic!("{}: {other:?}", engine.name),
            }
            drop(tx);
        }
        let figures = s
            .figures("epidemic", &wuhan, day(1), day(31))
            .await
            .expect("figures still read");
        assert_eq!(figures.len(), 1, "{}", engine.name);
        assert_eq!(figures[0].values, near, "{}", engine.name);
        assert!(
            s.figures("epidemic", &hubei, day(1), day(31))
                .await
                .expect("figures")
                .is_empty(),
            "{}: nothing of the refused bulk change is written",
            engine.name
        );
        // and the engine still takes a sum that fits
        let mut tx = s.begin().await.expect("begin");
        add_one(
            &mut tx,
            "epidemic",
            day(25),
            &wuhan,
            Level::City,
            &vals(&[5, -7]),
        )
        .await
        .expect("add");
        assert_eq!(
            tx.rollup("epidemic", day(25), &wuhan)
                .await
                .expect("rollup"),
            Some(vals(&[i64::MAX]))
        );
    }
}

#[tokio::test]
async fn rebuilt_rollups_sum_children_and_prefer_own_reports() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        file(
            s,
            vec![
                version(1, "epidemic", "420102", day(25), 1, vals(&[1, 10])),
                version(2, "epidemic", "420103", day(25), 1, vals(&[2, 20])),
                version(3, "epidemic", "420103", day(25), 2, vals(&[3, 30])),
                version(4, "epidemic", "430000", day(25), 1, vals(&[100])),
                version(5, "epidemic", "420102", day(26), 1, vals(&[4])),
                version(6, "other", "420102", day(25), 1, vals(&[1000])),
            ],
            &[2],
        )
        .await;
        let mut tx = s.begin().await.expect("begin");
        // A stale row that the rebuild must replace.
        add_one(
            &mut tx,
            "epidemic",
            day(25),
            &code("420000"),
            Level::Province,
            &vals(&[999]),
        )
        .await
        .expect("add");
        tx.rebuild_rollups("epidemic", &[day(25), day(26)])
            .await
            .expect("rebuild");
        assert_eq!(
            tx.rollup("epidemic", day(25), &code("420100"))
                .await
                .expect("r"),
            Some(vals(&[4, 40]))
        );
        assert_eq!(
            tx.rollup("epidemic", day(25), &code("420000"))
                .await
                .expect("r"),
            Some(vals(&[4, 40]))
        );
        assert_eq!(
            tx.rollup("epidemic", day(25), &code("000000"))
                .await
                .expect("r"),
            Some(vals(&[104, 40]))
        );
        assert_eq!(
            tx.rollup("epidemic", day(26), &code("000000"))
                .await
                .expect("r"),
            Some(vals(&[4]))
        );
        assert_eq!(
            tx.rollup("epidemic", day(25), &code("430000"))
                .await
                .expect("r"),
            None
        );
        assert_eq!(
            tx.rollup("other", day(25), &code("420100"))
                .await
                .expect("r"),
            None
        );
        tx.commit().await.expect("commit");

        // The city files its own figures: they count instead of its children's.
        file(
            s,
            vec![version(7, "epidemic", "420100", day(25), 1, vals(&[50, 5]))],
            &[],
        )
        .await;
        let mut tx = s.begin().await.expect("begin");
        tx.rebuild_rollups("epidemic", &[day(25)])
            .await
            .expect("rebuild");
        assert_eq!(
            tx.rollup("epidemic", day(25), &code("420000"))
                .await
                .expect("r"),
            Some(vals(&[50, 5]))
        );
        assert_eq!(
            tx.rollup("epidemic", day(25), &code("000000"))
                .await
                .expect("r"),
            Some(vals(&[150, 5]))
        );
        assert_eq!(
            tx.rollup("epidemic", day(26), &code("000000"))
                .await
                .expect("r"),
            Some(vals(&[4]))
        );
        tx.commit().await.expect("commit");

        let wuhan = s
            .figures("epidemic", &code("420100"), day(24), day(26))
            .await
            .expect("figures");
        assert_eq!(wuhan.len(), 2);
        assert_eq!(
            (wuhan[0].date, wuhan[0].own, wuhan[0].values),
            (day(25), true, vals(&[50, 5]))
        );
        assert_eq!(
            (wuhan[1].date, wuhan[1].own, wuhan[1].values),
            (day(26), false, vals(&[4]))
        );

        let children = s
            .child_figures("epidemic", &code("000000"), day(25))
            .await
            .expect("children");
        assert_eq!(children.len(), 2);
        assert_eq!(
            (children[0].region.as_str(), children[0].own),
            ("420000", false)
        );
        assert_eq!(children[0].values, vals(&[50, 5]));
        assert_eq!(
            (children[1].region.as_str(), children[1].own),
            ("430000", true)
        );
        let children = s
            .child_figures("epidemic", &code("420100"), day(25))
            .await
            .expect("children");
        let got: Vec<(&str, bool)> = children
            .iter()
            .map(|c| (c.region.as_str(), c.own))
            .collect();
        assert_eq!(got, [("420102", true), ("420103", true)]);
        assert_eq!(children[1].values, vals(&[3, 30]));
    }
}

#[tokio::test]
async fn completeness_counts_first_filings() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let on_time = version(1, "epidemic", "420102", day(25), 1, vals(&[1]));
        let mut late = version(2, "epidemic", "420103", day(25), 1, vals(&[1]));
        late.filed_at = at(20, 0);
        let mut correction = version(3, "epidemic", "420102", day(25), 2, vals(&[2]));
        correction.filed_at = at(21, 0);
        file(s, vec![on_time.clone(), late.clone(), correction], &[1]).await;
        let deadline = at(12, 0);
        assert!(on_time.filed_at <= deadline);

        let counts = s
            .completeness(
                "epidemic",
                "/000000/420000/",
                Level::County,
                day(25),
                deadline,
            )
            .await
            .expect("completeness");
        assert_eq!(
            counts,
            CompletenessCounts {
                expected: 3,
                filed: 2,
                on_time: 1
            }
        );
        let counts = s
            .completeness(
                "epidemic",
                "/000000/430000/",
                Level::County,
                day(25),
                deadline,
            )
            .await
            .expect("completeness");
        assert_eq!(counts, CompletenessCounts::default());

        let missing = s
            .missing_units("epidemic", "/000000/", Level::County, day(25), 10)
            .await
            .expect("missing");
        assert_eq!(missing.len(), 1);
        assert_eq!(
            (missing[0].region.as_str(), missing[0].name.as_str()),
            ("420104", "硚口区")
        );
        assert_eq!(missing[0].filed_at, None);
        let missing = s
            .missing_units("epidemic", "/000000/", Level::County, day(26), 2)
            .await
            .expect("missing");
        assert_eq!(
            missing
                .iter()
                .map(|u| u.region.as_str())
                .collect::<Vec<_>>(),
            ["420102", "420103"]
        );

        let late_units = s
            .late_units("epidemic", "/000000/", Level::County, day(25), deadline, 10)
            .await
            .expect("late");
        assert_eq!(late_units.len(), 1);
        assert_eq!(late_units[0].region.as_str(), "420103");
        assert_eq!(late_units[0].filed_at, Some(late.filed_at));
    }
}

#[tokio::test]
async fn users_sessions_reviews_and_audit() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let mut tx = s.begin().await.expect("begin");
        let user = NewUser {
            username: "jiangan".to_owned(),
            display_name: "江岸区疾控".to_owned(),
            role: Role::County,
            region: code("420102"),
            password_hash: "$argon2id$…".to_owned(),
            created_at: at(1, 0),
            site: Some("武汉市第八医院".to_owned()),
        };
        let id = tx.insert_user(&user).await.expect("user");
        let other = NewUser {
            username: "hunan".to_owned(),
            role: Role::Provincial,
            region: code("430000"),
            site: None,
            ..user.clone()
        };
        tx.insert_user(&other).await.expect("user");
        tx.insert_session(b"token-hash", id, at(1, 0), at(23, 0))
            .await
            .expect("session");
        let mut entry = AuditEntry {
            seq: 1,
            at: at(2, 0),
            actor: "system".to_owned(),
            action: "user.add".to_owned(),
            entity: "user".to_owned(),
            entity_key: "jiangan".to_owned(),
            before: None,
            after: Some("{\"role\":\"county\"}".to_owned()),
            hash: Hash::GENESIS,
        };
        entry.seal(&Hash::GENESIS);
        tx.append_audit(&entry).await.expect("audit");
        let mut second = AuditEntry {
            seq: 2,
            entity_key: "hunan".to_owned(),
            ..entry.clone()
        };
        second.seal(&entry.hash);
        tx.append_audit(&second).await.expect("audit");
        tx.commit().await.expect("commit");

        let stored = s
            .user_by_name("jiangan")
            .await
            .expect("user")
            .expect("some");
        assert_eq!(
            (stored.id, stored.role, stored.region.clone()),
            (id, Role::County, code("420102"))
        );
        assert_eq!(stored.created_at, user.created_at);
        assert_eq!(stored.site.as_deref(), Some("武汉市第八医院"));
        assert!(s.user_by_name("nobody").await.expect("user").is_none());
        let by_session = s
            .user_by_session(b"token-hash", at(12, 0))
            .await
            .expect("session");
        assert_eq!(
            by_session.map(|u| (u.username, u.site)),
            Some(("jiangan".to_owned(), Some("武汉市第八医院".to_owned())))
        );
        let hunan = s.user_by_name("hunan").await.expect("user").expect("some");
        assert_eq!(hunan.site, None);
        assert!(s
            .user_by_session(b"token-hash", at(23, 0))
            .await
            .expect("session")
            .is_none());
        assert!(s
            .user_by_session(b"other", at(12, 0))
            .await
            .expect("session")
            .is_none());
        let names: Vec<String> = s
            .users("/000000/420000/")
            .await
            .expect("users")
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["jiangan"]);
        assert_eq!(s.users("/000000/").await.expect("users").len(), 2);

        let chain = s.audit_chain(0, 10).await.expect("audit");
        assert_eq!(chain, vec![entry.clone(), second.clone()]);
        assert!(chain[1].fits_after(&chain[0].hash));
        let recent = s.audit_recent(None, 10).await.expect("recent");
        assert_eq!(recent.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 1]);
        let recent = s.audit_recent(Some("jiangan"), 10).await.expect("recent");
        assert_eq!(recent, vec![entry]);

        // Reviews: a reviewed version drops out of the unreviewed list.
        file(
            s,
            vec![
                version(1, "epidemic", "420102", day(25), 1, vals(&[1])),
                version(2, "epidemic", "420103", day(25), 1, vals(&[1])),
                version(3, "epidemic", "420100", day(25), 1, vals(&[1])),
            ],
            &[],
        )
        .await;
        let before = DateTime::from_timestamp_millis(1_579_950_000_123 + 100).expect("time");
        let open = s
            .unreviewed("/000000/420000/", Level::City, before, 10)
            .await
            .expect("unreviewed");
        assert_eq!(open.iter().map(|v| v.seq).collect::<Vec<_>>(), [1, 2]);
        let key = ReportKey {
            form: "epidemic".to_owned(),
            region: code("420102"),
            date: day(25),
        };
        let review = Review {
            key: key.clone(),
            version: 1,
            status: ReviewStatus::Returned,
            note: "check v2".to_owned(),
            reviewer: "wuhan".to_owned(),
            at: at(3, 0),
        };
        let mut tx = s.begin().await.expect("begin");
        tx.insert_review(&review).await.expect("review");
        tx.commit().await.expect("commit");
        assert_eq!(s.reviews(&key).await.expect("reviews"), vec![review]);
        let open = s
            .unreviewed("/000000/420000/", Level::City, before, 10)
            .await
            .expect("unreviewed");
        assert_eq!(open.iter().map(|v| v.seq).collect::<Vec<_>>(), [2]);
        let open = s
            .unreviewed("/000000/", Level::Province, before, 10)
            .await
            .expect("unreviewed");
        assert_eq!(open.iter().map(|v| v.seq).collect::<Vec<_>>(), [2, 3]);
        let early = DateTime::from_timestamp_millis(1_579_950_000_123).expect("time");
        assert!(s
            .unreviewed("/000000/", Level::Nation, early, 10)
            .await
            .expect("unreviewed")
            .is_empty());
    }
}

async fn add_one(
    tx: &mut Box<dyn fangkong_store::WriteTx>,
    form: &str,
    date: chrono::NaiveDate,
    region: &fangkong_domain::region::RegionCode,
    level: Level,
    values: &fangkong_domain::form::Values,
) -> fangkong_store::Result<()> {
    let row = fangkong_store::RollupRow {
        date,
        region: region.clone(),
        level,
        values: *values,
    };
    tx.add_to_rollups(form, &[row]).await
}

#[tokio::test]
async fn level_figures_prefer_own_reports_by_region_and_day() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        // 420102 files on the 24th and 25th; 420103 has only a roll-up on
        // the 25th and its own report on the 24th beside a roll-up.
        file(
            s,
            vec![
                version(1, "epidemic", "420102", day(24), 1, vals(&[1])),
                version(2, "epidemic", "420102", day(25), 1, vals(&[2])),
                version(3, "epidemic", "420103", day(24), 1, vals(&[7])),
            ],
            &[],
        )
        .await;
        let mut tx = s.begin().await.expect("begin");
        let b = code("420103");
        for d in [24, 25] {
            add_one(&mut tx, "epidemic", day(d), &b, Level::County, &vals(&[5]))
                .await
                .expect("add");
        }
        tx.commit().await.expect("commit");
        let got = s
            .level_figures(
                "epidemic",
                "/000000/420000/",
                Level::County,
                day(1),
                day(31),
            )
            .await
            .expect("level figures");
        let got: Vec<(&str, u32, i64, bool)> = got
            .iter()
            .map(|(r, f)| {
                (
                    r.as_str(),
                    chrono::Datelike::day(&f.date),
                    f.values.0[0],
                    f.own,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("420102", 24, 1, true),
                ("420102", 25, 2, true),
                ("420103", 24, 7, true),
                ("420103", 25, 5, false),
            ],
            "{}",
            engine.name
        );
        let none = s
            .level_figures(
                "epidemic",
                "/000000/430000/",
                Level::County,
                day(1),
                day(31),
            )
            .await
            .expect("level figures");
        assert!(none.is_empty(), "{}", engine.name);
    }
}

fn alert(region: &str, first: u32, last: u32) -> fangkong_store::Alert {
    use fangkong_domain::alert::{AlertMethod, AlertStatus};
    fangkong_store::Alert {
        id: 0,
        form: "epidemic".into(),
        field: "new_confirmed".into(),
        region: code(region),
        method: AlertMethod::EarsC2,
        methods: vec![AlertMethod::EarsC2, AlertMethod::Cidars],
        first_day: day(first),
        last_day: day(last),
        observed: 12.0,
        expected: 2.5,
        statistic: 4.25,
        threshold: 3.0,
        status: AlertStatus::Open,
        verdict: None,
        note: String::new(),
        raised_at: at(1, 0),
        updated_at: at(1, 0),
        acknowledged_by: None,
        closed_by: None,
    }
}

#[tokio::test]
async fn alerts_are_raised_extended_and_closed() {
    use fangkong_domain::alert::{AlertStatus, AlertVerdict};
    use fangkong_store::AlertFilter;
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let mut tx = s.begin().await.expect("begin");
        let a = tx
            .insert_alert(&alert("420102", 20, 20))
            .await
            .expect("insert");
        let b = tx
            .insert_alert(&alert("420103", 10, 11))
            .await
            .expect("insert");
        assert_ne!(a, b);
        tx.commit().await.expect("commit");
        // The same signal twice is a conflict, not a second alert (and on
        // PostgreSQL it spoils its transaction, so it gets its own).
        let mut tx = s.begin().await.expect("begin");
        assert!(matches!(
            tx.insert_alert(&alert("420102", 20, 21)).await,
            Err(StoreError::Conflict(_))
        ));
        drop(tx);

        let mut tx = s.begin().await.expect("begin");
        let recent = tx.alerts_since("epidemic", day(19)).await.expect("since");
        assert_eq!(recent.len(), 1, "{}", engine.name);
        let mut longer = recent[0].clone();
        longer.last_day = day(21);
        longer.observed = 20.0;
        longer.updated_at = at(2, 0);
        tx.extend_alert(&longer).await.expect("extend");
        tx.set_alert_status(
            b,
            AlertStatus::Closed,
            Some(AlertVerdict::FalseAlarm),
            "holiday backlog",
            "wuhan",
            at(3, 0),
        )
        .await
        .expect("close");
        tx.commit().await.expect("commit");

        let got = s.alert(a).await.expect("alert").expect("exists");
        assert_eq!(
            (got.last_day, got.observed, got.updated_at),
            (day(21), 20.0, at(2, 0))
        );
        assert_eq!(got.first_day, day(20));
        assert_eq!(
            got.methods,
            vec![
                fangkong_domain::alert::AlertMethod::EarsC2,
                fangkong_domain::alert::AlertMethod::Cidars
            ]
        );
        let closed = s.alert(b).await.expect("alert").expect("exists");
        assert_eq!(closed.status, AlertStatus::Closed);
        assert_eq!(closed.verdict, Some(AlertVerdict::FalseAlarm));
        assert_eq!(closed.closed_by.as_deref(), Some("wuhan"));
        assert_eq!(closed.acknowledged_by, None);
        assert_eq!(closed.note, "holiday backlog");

        let filter = |path: &str, statuses: Vec<AlertStatus>| AlertFilter {
            path: path.into(),
            statuses,
            since: None,
            limit: 10,
        };
        let open = s
            .alerts(&filter("/000000/", vec![AlertStatus::Open]))
            .await
            .expect("alerts");
        assert_eq!(open.iter().map(|x| x.id).collect::<Vec<_>>(), vec![a]);
        let every = s
            .alerts(&filter("/000000/420000/", vec![]))
            .await
            .expect("alerts");
        assert_eq!(every.iter().map(|x| x.id).collect::<Vec<_>>(), vec![a, b]);
        let hunan = s
            .alerts(&filter("/000000/430000/", vec![]))
            .await
            .expect("alerts");
        assert!(hunan.is_empty());
        let since = s
            .alerts(&AlertFilter {
                since: Some(day(15)),
                ..filter("/000000/", vec![])
            })
            .await
            .expect("alerts");
        assert_eq!(since.len(), 1);
        assert!(s.alert(a + b + 100).await.expect("alert").is_none());
    }
}

#[tokio::test]
async fn risk_levels_are_replaced_and_their_changes_listed() {
    use fangkong_domain::alert::RiskLevel;
    use fangkong_store::RiskRow;
    let row = |region: &str, d: u32, level: RiskLevel| RiskRow {
        region: code(region),
        date: day(d),
        level,
        new_in_window: i64::from(d),
        cumulative: 60,
        cluster: level == RiskLevel::High,
    };
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let mut tx = s.begin().await.expect("begin");
        tx.put_risk_levels(&[
            row("420102", 1, RiskLevel::Low),
            row("420102", 2, RiskLevel::Medium),
            row("420102", 3, RiskLevel::Medium),
            row("420103", 2, RiskLevel::Low),
            row("420103", 3, RiskLevel::Low),
        ])
        .await
        .expect("put");
        // Recomputing a day replaces it.
        tx.put_risk_levels(&[row("420102", 3, RiskLevel::High)])
            .await
            .expect("put");
        tx.commit().await.expect("commit");
        let on3 = s.risk_levels_on("/000000/", day(3)).await.expect("levels");
        assert_eq!(
            on3.iter()
                .map(|r| (r.region.as_str(), r.level))
                .collect::<Vec<_>>(),
            vec![("420102", RiskLevel::High), ("420103", RiskLevel::Low)],
            "{}",
            engine.name
        );
        assert!(on3[0].cluster);
        let changes = s
            .risk_changes("/000000/420000/", day(2), day(3), 10)
            .await
            .expect("changes");
        let changes: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.row.region.as_str(),
                    chrono::Datelike::day(&c.row.date),
                    c.from,
                    c.row.level,
                )
            })
            .collect();
        assert_eq!(
            changes,
            vec![
                ("420102", 3, Some(RiskLevel::Medium), RiskLevel::High),
                ("420102", 2, Some(RiskLevel::Low), RiskLevel::Medium),
                ("420103", 2, None, RiskLevel::Low),
            ],
            "{}",
            engine.name
        );
        assert!(s
            .risk_levels_on("/000000/430000/", day(3))
            .await
            .expect("levels")
            .is_empty());
    }
}

/// The whole tree in one read, and its generation: advanced by every write
/// of regions that commits, not by one rolled back.
#[tokio::test]
async fn the_region_tree_is_read_whole_with_its_generation() {
    for engine in engines().await {
        let s = engine.store.as_ref();
        let empty = s.region_tree().await.expect("tree");
        assert!(empty.is_empty(), "{}", engine.name);
        let g0 = s.region_generation().await.expect("generation");
        assert_eq!(empty.generation, g0, "{}", engine.name);

        // names with what the transfer format uses as separators
        let mut regions = tree();
        regions[2].name = "湖南\t省\n(新)".to_owned();
        regions[6].name = String::new();
        let mut tx = s.begin().await.expect("begin");
        tx.insert_regions(&regions).await.expect("insert");
        tx.commit().await.expect("commit");
        let g1 = s.region_generation().await.expect("generation");
        assert!(g1 > g0, "{}: {g0} then {g1}", engine.name);

        let t = s.region_tree().await.expect("tree");
        assert_eq!(t.generation, g1, "{}", engine.name);
        let mut read: Vec<(String, Option<String>, Level, String)> = t
            .rows()
            .iter()
            .map(|r| {
                (
                    t.code(r).to_owned(),
                    t.parent(r).map(str::to_owned),
                    r.level,
                    t.name(r).to_owned(),
                )
            })
            .collect();
        read.sort();
        let mut expected: Vec<(String, Option<String>, Level, String)> = regions
            .iter()
            .map(|r| {
                (
                    r.code.to_string(),
                    r.parent.as_ref().map(|p| p.to_string()),
                    r.level,
                    r.name.clone(),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(read, expected, "{}", engine.name);

        // a rolled-back write leaves the generation as it was
        let mut tx = s.begin().await.expect("begin");
        tx.insert_regions(&regions[..2]).await.expect("insert");
        drop(tx);
        assert_eq!(
            s.region_generation().await.expect("generation"),
            g1,
            "{}",
            engine.name
        );
        // an update of existing regions advances it
        let mut tx = s.begin().await.expect("begin");
        tx.insert_regions(&regions[..2]).await.expect("insert");
        tx.commit().await.expect("commit");
        assert!(
            s.region_generation().await.expect("generation") > g1,
            "{}",
            engine.name
        );
    }
}

/// Bulk writes of every shape come back exactly: versions of several
/// forms, filers, sources, days and times in one batch, sequence numbers
/// with gaps, long codes, extreme values in all sixteen slots; and roll-up
/// changes over several days, negative ones included.
#[tokio::test]
async fn bulk_writes_of_any_shape_read_back_exactly() {
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let long = "X".repeat(32);
        let mut tx = s.begin().await.expect("begin");
        let nation = Region::nation("中国");
        tx.insert_regions(&[region(&long, Some(&nation), "长", Level::Province)])
            .await
            .expect("region");
        tx.commit().await.expect("commit");

        let mut all16 = Values::ZERO;
        for (i, v) in all16.0.iter_mut().enumerate() {
            *v = match i % 4 {
                0 => i64::MAX,
                1 => i64::MIN,
                2 => -1,
                _ => 1_234_567_890_123 * i as i64,
            };
        }
        let mut versions = Vec::new();
        for (i, region) in ["420102", "420103", &long, "420104"].iter().enumerate() {
            let seq = [1, 2, 5, 9][i];
            let mut v = version(seq, "epidemic", region, day(25), 1, vals(&[i as i64]));
            match i {
                1 => {
                    v.key.form = "grid".into();
                    v.filed_by = "其他人".repeat(40);
                    v.source = Source::Import;
                }
                2 => {
                    v.key.date = day(26);
                    v.values = all16;
                }
                3 => v.values = Values::ZERO,
                _ => {}
            }
            versions.push(v);
        }
        let rows: Vec<(ReportVersion, Level)> = versions
            .iter()
            .map(|v| (v.clone(), Level::County))
            .collect();
        let mut tx = s.begin().await.expect("begin");
        tx.insert_versions(&rows, &[]).await.expect("versions");
        tx.commit().await.expect("commit");
        let read = s.report_chain(0, 100).await.expect("chain");
        assert_eq!(read, versions, "{}", engine.name);

        // the uniform case: consecutive, one form, filer, day and time
        let mut uniform = Vec::new();
        for (i, region) in ["420102", "420103", "420104", "420100", "420000"]
            .iter()
            .enumerate()
        {
            let mut v = version(
                20 + i as i64,
                "epidemic",
                region,
                day(27),
                1,
                vals(&[i as i64, 0, 7]),
            );
            v.filed_at = versions[0].filed_at;
            uniform.push((v, Level::County));
        }
        let mut tx = s.begin().await.expect("begin");
        tx.insert_versions(&uniform, &[]).await.expect("versions");
        tx.commit().await.expect("commit");
        let read = s.report_chain(9, 100).await.expect("chain");
        let expected: Vec<ReportVersion> = uniform.iter().map(|(v, _)| v.clone()).collect();
        assert_eq!(read, expected, "{}", engine.name);

        let mut tx = s.begin().await.expect("begin");
        let deltas = vec![
            RollupRow {
                date: day(25),
                region: code("420100"),
                level: Level::City,
                values: vals(&[5, -3]),
            },
            RollupRow {
                date: day(26),
                region: code("420100"),
                level: Level::City,
                values: all16,
            },
            RollupRow {
                date: day(25),
                region: code(&long),
                level: Level::Province,
                values: Values::ZERO,
            },
        ];
        tx.add_to_rollups("epidemic", &deltas).await.expect("add");
        tx.add_to_rollups(
            "epidemic",
            &[RollupRow {
                date: day(25),
                region: code("420100"),
                level: Level::City,
                values: vals(&[-5, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]),
            }],
        )
        .await
        .expect("add");
        assert_eq!(
            tx.rollup("epidemic", day(25), &code("420100"))
                .await
                .expect("rollup"),
            Some(vals(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9])),
            "{}",
            engine.name
        );
        assert_eq!(
            tx.rollup("epidemic", day(26), &code("420100"))
                .await
                .expect("rollup"),
            Some(all16),
            "{}",
            engine.name
        );
        // a zero change still gives the region its figure for the day
        assert_eq!(
            tx.rollup("epidemic", day(25), &code(&long))
                .await
                .expect("rollup"),
            Some(Values::ZERO),
            "{}",
            engine.name
        );
        let mut on: Vec<(NaiveDate, String, Level, Values)> = tx
            .rollups_on("epidemic", &[day(25), day(26)])
            .await
            .expect("rollups")
            .into_iter()
            .map(|r| (r.date, r.region.to_string(), r.level, r.values))
            .collect();
        on.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        assert_eq!(on.len(), 3, "{}", engine.name);
        assert_eq!(on[2], (day(26), "420100".to_owned(), Level::City, all16));
        tx.commit().await.expect("commit");
    }
}

/// Names are one account whatever their case; sessions end one at a time or
/// all of a user's (but one); passwords change; failed logins are counted
/// per account and address in a window, and forgotten.
#[tokio::test]
async fn sessions_end_and_failed_logins_are_counted() {
    use fangkong_store::LoginKey;
    for engine in with_trees().await {
        let s = engine.store.as_ref();
        let name = engine.name;
        let mut tx = s.begin().await.expect("begin");
        let user = NewUser {
            username: "Jianghan".to_owned(),
            display_name: "江汉区疾控".to_owned(),
            role: Role::County,
            region: code("420103"),
            password_hash: "old".to_owned(),
            created_at: at(1, 0),
            site: None,
        };
        tx.insert_user(&user).await.expect("user");
        let twin = NewUser {
            username: "jiangHAN".to_owned(),
            ..user.clone()
        };
        let err = tx
            .insert_user(&twin)
            .await
            .expect_err("same name, other case");
        assert!(matches!(err, StoreError::Conflict(_)), "{name}: {err:?}");
        drop(tx);
        let mut tx = s.begin().await.expect("begin");
        let id = tx.insert_user(&user).await.expect("user");
        for token in [b"a".as_slice(), b"b", b"c"] {
            tx.insert_session(token, id, at(1, 0), at(23, 0))
                .await
                .expect("session");
        }
        tx.commit().await.expect("commit");
        let found = s
            .user_by_name("JIANGHAN")
            .await
            .expect("user")
            .expect("some");
        assert_eq!(found.username, "Jianghan", "{name}");

        let mut tx = s.begin().await.expect("begin");
        assert!(tx.delete_session(b"a").await.expect("delete"), "{name}");
        assert!(!tx.delete_session(b"a").await.expect("delete"), "{name}");
        assert_eq!(
            tx.delete_sessions(id, Some(b"c")).await.expect("delete"),
            1,
            "{name}"
        );
        tx.set_password_hash(id, "new").await.expect("password");
        tx.commit().await.expect("commit");
        for (token, live) in [(b"a".as_slice(), false), (b"b", false), (b"c", true)] {
            let user = s.user_by_session(token, at(2, 0)).await.expect("session");
            assert_eq!(user.is_some(), live, "{name}: {token:?}");
        }
        let found = s
            .user_by_name("jianghan")
            .await
            .expect("user")
            .expect("some");
        assert_eq!(found.password_hash, "new", "{name}");
        let mut tx = s.begin().await.expect("begin");
        assert_eq!(
            tx.delete_sessions(id, None).await.expect("all"),
            1,
            "{name}"
        );
        tx.commit().await.expect("commit");

        // failures at 1:00, 1:01, 1:02 of one account; two from one address
        let mut tx = s.begin().await.expect("begin");
        tx.lock_login_failures().await.expect("lock");
        for (minute, address) in [(0, Some("10.0.0.1")), (1, Some("10.0.0.1")), (2, None)] {
            let when = at(1, 0) + chrono::Duration::minutes(minute);
            tx.insert_login_failure(b"acct", address, when)
                .await
                .expect("failure");
        }
        tx.insert_login_failure(b"other", Some("10.0.0.2"), at(1, 0))
            .await
            .expect("failure");
        let account = LoginKey::Account(b"acct");
        let nth = |n| (account, at(1, 0), n);
        let (k, since, n) = nth(3);
        assert_eq!(
            tx.nth_login_failure(k, since, n).await.expect("nth"),
            Some(at(1, 0)),
            "{name}: the third newest"
        );
        let (k, since, n) = nth(1);
        assert_eq!(
            tx.nth_login_failure(k, since, n).await.expect("nth"),
            Some(at(1, 0) + chrono::Duration::minutes(2)),
            "{name}: the newest"
        );
        let (k, _, n) = nth(3);
        assert_eq!(
            tx.nth_login_failure(k, at(1, 0) + chrono::Duration::minutes(1), n)
                .await
                .expect("nth"),
            None,
            "{name}: two in the window"
        );
        assert_eq!(
            tx.nth_login_failure(LoginKey::Address("10.0.0.1"), at(1, 0), 2)
                .await
                .expect("nth"),
            Some(at(1, 0)),
            "{name}: by address"
        );
        // the account's failures forgotten, and the other's by age
        tx.clear_login_failures(Some(b"acct"), at(1, 0) + chrono::Duration::minutes(1))
            .await
            .expect("clear");
        assert_eq!(
            tx.nth_login_failure(account, at(0, 0), 1)
                .await
                .expect("nth"),
            None,
            "{name}"
        );
        assert_eq!(
            tx.nth_login_failure(LoginKey::Account(b"other"), at(0, 0), 1)
                .await
                .expect("nth"),
            None,
            "{name}: too old"
        );
        tx.commit().await.expect("commit");
    }
}
