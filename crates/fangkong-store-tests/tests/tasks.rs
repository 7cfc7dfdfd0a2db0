//! Directives and tips: the storage contract, the same tests on every engine
//! (SQLite in a temporary directory, PostgreSQL on a fresh database per test).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{code, engines_with, region, Engine};

use chrono::{DateTime, Duration, TimeZone, Utc};

use fangkong_domain::region::{Level, Region};
use fangkong_domain::task::{
    DirectiveText, Note, TargetEvent, TargetStatus, TipContact, TipStatus, TipText,
};
use fangkong_store::{DirectiveFilter, NewDirective, NewTip, StoreError, TargetFilter, TipFilter};

/// A fresh store on each engine, with the small tree of `tree()` in it.
async fn engines() -> Vec<Engine> {
    engines_with(&tree()).await
}

/// nation → 420000 → 420100 → 420102, 420103; 420500; and 430000.
fn tree() -> Vec<Region> {
    let nation = Region::nation("中国");
    let hubei = region("420000", Some(&nation), "湖北省", Level::Province);
    let hunan = region("430000", Some(&nation), "湖南省", Level::Province);
    let wuhan = region("420100", Some(&hubei), "武汉市", Level::City);
    let yichang = region("420500", Some(&hubei), "宜昌市", Level::City);
    let a = region("420102", Some(&wuhan), "江岸区", Level::County);
    let b = region("420103", Some(&wuhan), "江汉区", Level::County);
    vec![nation, hubei, hunan, wuhan, yichang, a, b]
}

const HUBEI: &str = "/000000/420000/";
const WUHAN: &str = "/000000/420000/420100/";
const YICHANG: &str = "/000000/420000/420500/";
const JIANGAN: &str = "/000000/420000/420100/420102/";
const JIANGHAN: &str = "/000000/420000/420100/420103/";

fn at(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 25, 8, 0, 0).unwrap() + Duration::hours(h)
}

fn directive(text: &str, deadline: i64, targets: &[(&str, &str)]) -> NewDirective {
    NewDirective {
        text: DirectiveText::parse(text).unwrap(),
        deadline: at(deadline),
        issuer_region: code("420000"),
        issuer_path: HUBEI.into(),
        issued_by: "hubei".into(),
        issued_at: at(0),
        targets: targets
            .iter()
            .map(|(c, p)| (code(c), (*p).to_owned()))
            .collect(),
    }
}

#[tokio::test]
async fn directives_and_their_targets_round_trip() {
    for e in engines().await {
        let store = &e.store;
        let mut tx = store.begin().await.unwrap();
        let first = tx
            .insert_directive(&directive(
                "封闭离汉通道\n第二行",
                24,
                &[("420100", WUHAN), ("420500", YICHANG)],
            ))
            .await
            .unwrap();
        let second = tx
            .insert_directive(&directive("排查发热病人", 12, &[("420102", JIANGAN)]))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_ne!(first, second, "{}", e.name);

        let d = store.directive(first).await.unwrap().unwrap();
        assert_eq!(
            d.directive.text.as_str(),
            "封闭离汉通道\n第二行",
            "{}",
            e.name
        );
        assert_eq!(d.directive.deadline, at(24), "{}", e.name);
        assert_eq!(d.directive.issued_at, at(0), "{}", e.name);
        assert_eq!(d.directive.issuer_region, code("420000"));
        let codes: Vec<&str> = d.targets.iter().map(|t| t.target.region.as_str()).collect();
        assert_eq!(codes, ["420100", "420500"], "{}", e.name);
        assert!(d
            .targets
            .iter()
            .all(|t| t.target.status == TargetStatus::Issued && t.directive_id == first));
        assert!(store.directive(first + 100).await.unwrap().is_none());

        // issued in Hubei or for Wuhan's subtree; Hunan sees nothing
        let list = |path: &str| DirectiveFilter {
            path: path.into(),
            limit: 100,
        };
        let ids = |ds: Vec<fangkong_store::StoredDirective>| -> Vec<i64> {
            ds.iter().map(|d| d.directive.id).collect()
        };
        let hubei = store.directives(&list(HUBEI)).await.unwrap();
        assert_eq!(hubei.len(), 2, "{}", e.name);
        assert_eq!(hubei[0].targets.len() + hubei[1].targets.len(), 3);
        let mut wuhan = ids(store.directives(&list(WUHAN)).await.unwrap());
        wuhan.sort_unstable();
        assert_eq!(wuhan, [first, second], "{}", e.name);
        assert_eq!(
            ids(store.directives(&list(YICHANG)).await.unwrap()),
            [first]
        );
        assert_eq!(
            ids(store.directives(&list(JIANGHAN)).await.unwrap()),
            Vec::<i64>::new()
        );
        assert!(store
            .directives(&list("/000000/430000/"))
            .await
            .unwrap()
            .is_empty());

        // targets in a subtree, by deadline
        let targets = store
            .directive_targets(&TargetFilter {
                path: WUHAN.into(),
                open_only: true,
                limit: 100,
            })
            .await
            .unwrap();
        let got: Vec<(i64, &str)> = targets
            .iter()
            .map(|(d, t)| (d.id, t.target.region.as_str()))
            .collect();
        assert_eq!(got, [(second, "420102"), (first, "420100")], "{}", e.name);
    }
}

#[tokio::test]
async fn a_target_moves_only_from_the_state_it_was_read_in() {
    for e in engines().await {
        let store = &e.store;
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .insert_directive(&directive("x", 24, &[("420100", WUHAN)]))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let stored = store.directive(id).await.unwrap().unwrap().targets[0].clone();
        let mut done = stored.clone();
        done.target = stored
            .target
            .apply(
                &TargetEvent::Complete {
                    by: "wuhan".into(),
                    at: at(2),
                    note: Some(Note::parse("已完成").unwrap()),
                },
                at(0),
            )
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.update_target(&done, TargetStatus::Issued).await.unwrap();
        tx.commit().await.unwrap();
        let back = store.directive(id).await.unwrap().unwrap().targets[0].clone();
        assert_eq!(back, done, "{}", e.name);
        assert_eq!(back.target.acknowledged_at, Some(at(2)));

        // a second writer that read `issued` loses
        let mut tx = store.begin().await.unwrap();
        let err = tx.update_target(&done, TargetStatus::Issued).await;
        assert!(matches!(err, Err(StoreError::Conflict(_))), "{}", e.name);
        drop(tx);

        let open = store
            .directive_targets(&TargetFilter {
                path: WUHAN.into(),
                open_only: true,
                limit: 10,
            })
            .await
            .unwrap();
        assert!(open.is_empty(), "{}", e.name);
        let all = store
            .directive_targets(&TargetFilter {
                path: WUHAN.into(),
                open_only: false,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "{}", e.name);
    }
}

#[tokio::test]
async fn tips_are_kept_for_their_unit_and_handled_once() {
    for e in engines().await {
        let store = &e.store;
        let tip =
            |region: &str, responsible: &str, path: &str, h: i64, contact: Option<&str>| NewTip {
                region: code(region),
                responsible: code(responsible),
                responsible_path: path.into(),
                what: TipText::parse("有人发热未就医").unwrap(),
                contact: contact.map(|c| TipContact::parse(c).unwrap()),
                received_at: at(h),
            };
        let mut tx = store.begin().await.unwrap();
        let a = tx
            .insert_tip(&tip("420102", "420102", JIANGAN, 1, Some("138 0000 0000")))
            .await
            .unwrap();
        let b = tx
            .insert_tip(&tip("420103", "420103", JIANGHAN, 0, None))
            .await
            .unwrap();
        let c = tx
            .insert_tip(&tip("420100", "420100", WUHAN, 2, None))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let stored = store.tip(a).await.unwrap().unwrap();
        assert_eq!(stored.contact.as_ref().unwrap().reveal(), "138 0000 0000");
        assert_eq!(stored.status, TipStatus::Open);
        assert_eq!(stored.received_at, at(1), "{}", e.name);
        assert!(store.tip(a + 100).await.unwrap().is_none());

        let filter = |path: &str, subtree: bool, statuses: Vec<TipStatus>| TipFilter {
            path: path.into(),
            subtree,
            statuses,
            limit: 100,
        };
        let ids = |tips: Vec<fangkong_store::StoredTip>| -> Vec<i64> {
            tips.iter().map(|t| t.id).collect()
        };
        // oldest first; Wuhan's own tips, or the whole subtree's
        assert_eq!(
            ids(store.tips(&filter(WUHAN, true, vec![])).await.unwrap()),
            [b, a, c],
            "{}",
            e.name
        );
        assert_eq!(
            ids(store.tips(&filter(WUHAN, false, vec![])).await.unwrap()),
            [c],
            "{}",
            e.name
        );
        assert_eq!(
            ids(store.tips(&filter(JIANGAN, false, vec![])).await.unwrap()),
            [a]
        );

        let mut tx = store.begin().await.unwrap();
        let note = Note::parse("已核实").unwrap();
        tx.handle_tip(a, "jiangan", at(3), Some(&note))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            tx.handle_tip(a, "jiangan", at(4), None).await,
            Err(StoreError::Conflict(_))
        ));
        drop(tx);
        let handled = store.tip(a).await.unwrap().unwrap();
        assert_eq!(handled.status, TipStatus::Handled);
        assert_eq!(handled.handled_by.as_deref(), Some("jiangan"));
        assert_eq!(handled.handled_at, Some(at(3)));
        assert_eq!(handled.note, Some(note));
        assert_eq!(
            ids(store
                .tips(&filter(WUHAN, true, vec![TipStatus::Open]))
                .await
                .unwrap()),
            [b, c],
            "{}",
            e.name
        );
        assert_eq!(
            ids(store
                .tips(&filter(WUHAN, true, vec![TipStatus::Handled]))
                .await
                .unwrap()),
            [a]
        );
    }
}
