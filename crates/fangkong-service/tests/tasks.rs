//! Directives, the tip line and the task list, on both engines: a province
//! directs two cities, one answers, the issuer sees who has not; units move
//! only their own targets; a tip becomes a task of its county, whose contact
//! only that county reads; alerts join the same list; every write is audited.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chrono::{Duration, Utc};

use common::{engines, TestDb};
use fangkong_domain::alert::{AlertMethod, AlertStatus};
use fangkong_domain::region::RegionCode;
use fangkong_domain::report::now_millis;
use fangkong_domain::task::{TargetStatus, TaskKind, TipStatus};
use fangkong_domain::user::Role;
use fangkong_service::tasks::TaskItem;
use fangkong_service::{Principal, ServiceError};
use fangkong_store::Alert;

async fn who(db: &TestDb, username: &str, role: Role, region: &str) -> Principal {
    Principal {
        username: username.into(),
        role,
        region: db.service.region(region).await.unwrap(),
        site: None,
    }
}

fn rule(e: ServiceError) -> Option<&'static str> {
    match e {
        ServiceError::Invalid(f) => f.rule,
        other => panic!("expected a broken rule, got {other:?}"),
    }
}

fn tomorrow() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(1)
}

#[tokio::test]
async fn the_issuer_sees_who_has_not_answered() {
    for db in engines().await {
        let hubei = who(&db, "hubei", Role::Provincial, "420000").await;
        let wuhan = who(&db, "wuhan", Role::City, "420100").await;
        let yichang = who(&db, "yichang", Role::City, "420500").await;
        let s = &db.service;

        let d = s
            .issue_directive(
                &hubei,
                "全面排查发热病人，24小时内上报",
                tomorrow(),
                &["420100".into(), "420500".into()],
            )
            .await
            .unwrap();
        let id = d.directive.id;
        assert_eq!(d.counts.total, 2, "{}", db.engine);
        assert_eq!(d.not_acknowledged().count(), 2);

        let after_ack = s.acknowledge_target(&wuhan, id, "420100").await.unwrap();
        // Wuhan sees its own target only
        assert!(!after_ack.issuer_side);
        assert_eq!(after_ack.targets.len(), 1);
        assert_eq!(
            after_ack.targets[0].stored.target.status,
            TargetStatus::Acknowledged
        );
        let done = s
            .complete_target(&wuhan, id, "420100", "已排查 1200 人")
            .await
            .unwrap();
        assert_eq!(done.counts.completed, 1);

        // the issuer sees who has not
        let seen = s.directive(&hubei, id).await.unwrap();
        assert_eq!(seen.counts.total, 2);
        assert_eq!(seen.counts.acknowledged, 1);
        assert_eq!(seen.counts.completed, 1);
        let late: Vec<&str> = seen
            .not_completed()
            .map(|t| t.stored.target.region.as_str())
            .collect();
        assert_eq!(late, ["420500"], "{}", db.engine);
        assert_eq!(seen.not_acknowledged().count(), 1);
        assert!(seen.targets.iter().any(|t| t.name == "宜昌市"));
        let listed = s.directives(&hubei, 100).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(s.directives(&yichang, 100).await.unwrap().len(), 1);

        // nothing goes back, nothing twice
        assert_eq!(
            rule(
                s.acknowledge_target(&wuhan, id, "420100")
                    .await
                    .unwrap_err()
            ),
            Some("already_completed")
        );
        assert_eq!(
            rule(
                s.complete_target(&yichang, id, "420500", " ")
                    .await
                    .unwrap_err()
            ),
            Some("completion_needs_note")
        );
        // completing implies acknowledging
        let y = s
            .complete_target(&yichang, id, "420500", "done")
            .await
            .unwrap();
        assert_eq!(
            y.targets[0].stored.target.acknowledged_by.as_deref(),
            Some("yichang")
        );

        let actions: Vec<String> = s
            .audit_recent(&db.system().await, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for a in [
            "directive.issue",
            "directive.acknowledge",
            "directive.complete",
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{a} not audited: {actions:?}"
            );
        }
    }
}

#[tokio::test]
async fn only_command_levels_direct_and_only_below_themselves() {
    for db in engines().await {
        let s = &db.service;
        let hubei = who(&db, "hubei", Role::Provincial, "420000").await;
        let grid = who(&db, "grid", Role::Grid, "420102").await;
        let jiangan = who(&db, "jiangan", Role::County, "420102").await;
        let jianghan = who(&db, "jianghan", Role::County, "420103").await;

        let e = s
            .issue_directive(&grid, "x", tomorrow(), &["420102".into()])
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ServiceError::Refused {
                    role: Role::Grid,
                    ..
                }
            ),
            "{e:?}"
        );
        for (targets, expected) in [
            (vec!["420000".to_owned()], "target_not_below_issuer"),
            (vec!["430000".to_owned()], "target_not_below_issuer"),
            (vec![], "no_targets"),
            (vec!["420100".into(), "420100".into()], "duplicate_target"),
        ] {
            let e = s
                .issue_directive(&hubei, "x", tomorrow(), &targets)
                .await
                .unwrap_err();
            assert_eq!(rule(e), Some(expected), "{targets:?} on {}", db.engine);
        }
        let e = s
            .issue_directive(
                &hubei,
                "x",
                Utc::now() - Duration::hours(1),
                &["420100".into()],
            )
            .await
            .unwrap_err();
        assert_eq!(rule(e), Some("deadline_passed"));
        let e = s
            .issue_directive(&hubei, "x", tomorrow(), &["999999".into()])
            .await
            .unwrap_err();
        assert!(
            matches!(e, ServiceError::Invalid(ref f) if f.field == "targets"),
            "{e:?}"
        );

        // a county cannot answer for another county
        let d = s
            .issue_directive(
                &hubei,
                "封闭管理",
                tomorrow(),
                &["420102".into(), "420103".into()],
            )
            .await
            .unwrap();
        let id = d.directive.id;
        let e = s
            .complete_target(&jiangan, id, "420103", "done")
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
        let e = s.directive(&jiangan, id + 1000).await.unwrap_err();
        assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
        // each county sees only its own target of the directive
        let mine = s.directive(&jianghan, id).await.unwrap();
        let codes: Vec<&str> = mine
            .targets
            .iter()
            .map(|t| t.stored.target.region.as_str())
            .collect();
        assert_eq!(codes, ["420103"]);
        // a county with no target in a directive does not see it
        let other = s
            .issue_directive(&hubei, "y", tomorrow(), &["420500".into()])
            .await
            .unwrap();
        assert!(matches!(
            s.directive(&jiangan, other.directive.id).await.unwrap_err(),
            ServiceError::NotFound(_)
        ));
    }
}

#[tokio::test]
async fn a_tip_is_a_task_of_its_county_and_only_it_reads_the_contact() {
    for db in engines().await {
        let s = &db.service;
        let jiangan = who(&db, "jiangan", Role::County, "420102").await;
        let jianghan = who(&db, "jianghan", Role::County, "420103").await;
        let wuhan = who(&db, "wuhan", Role::City, "420100").await;

        let receipt = s
            .submit_tip("小区有人从武汉返回未登记", "420102", Some("138 0000 0001"))
            .await
            .unwrap();
        assert_eq!(receipt.responsible.code.as_str(), "420102");
        let city_tip = s.submit_tip("市场聚集", "420100", None).await.unwrap();
        assert_eq!(city_tip.responsible.code.as_str(), "420100");
        assert!(matches!(
            s.submit_tip("x", "999999", None).await.unwrap_err(),
            ServiceError::Invalid(ref f) if f.field == "region"
        ));
        assert_eq!(
            rule(
                s.submit_tip("http://a.cn http://b.cn", "420102", None)
                    .await
                    .unwrap_err()
            ),
            Some("too_many_links")
        );

        // the county's task, with the contact
        let tasks = s.tasks(&jiangan).await.unwrap();
        assert_eq!(tasks.len(), 1, "{}", db.engine);
        assert_eq!(tasks[0].kind, TaskKind::Tip);
        let TaskItem::Tip(view) = &tasks[0].item else {
            panic!("not a tip")
        };
        assert_eq!(view.tip.id, receipt.id);
        assert_eq!(view.tip.contact.as_ref().unwrap().reveal(), "138 0000 0001");
        // the city sees the tip in its list, but not the contact
        let listed = s.tips(&wuhan, false, 100).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(
            listed.iter().all(|t| t.tip.contact.is_none()),
            "{}",
            db.engine
        );
        // another county sees nothing
        assert!(s.tasks(&jianghan).await.unwrap().is_empty());
        assert!(s.tips(&jianghan, true, 100).await.unwrap().is_empty());
        assert!(matches!(
            s.handle_tip(&jianghan, receipt.id, "x").await.unwrap_err(),
            ServiceError::NotFound(_)
        ));

        let handled = s
            .handle_tip(&jiangan, receipt.id, "已上门登记")
            .await
            .unwrap();
        assert_eq!(handled.tip.status, TipStatus::Handled);
        assert_eq!(
            rule(
                s.handle_tip(&jiangan, receipt.id, "again")
                    .await
                    .unwrap_err()
            ),
            Some("already_handled")
        );
        assert!(s.tasks(&jiangan).await.unwrap().is_empty());
        assert_eq!(s.tips(&jiangan, true, 100).await.unwrap().len(), 1);

        // the audit has neither the text nor the contact
        let entries = s.audit_recent(&db.system().await, None, 100).await.unwrap();
        let tip_entries: Vec<_> = entries.iter().filter(|e| e.entity == "tip").collect();
        assert_eq!(tip_entries.len(), 3, "{}", db.engine);
        for e in tip_entries {
            let text = format!("{:?} {:?}", e.before, e.after);
            assert!(
                !text.contains("138 0000 0001") && !text.contains("未登记"),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn one_list_holds_directives_tips_and_alerts_by_due_time() {
    for db in engines().await {
        let s = &db.service;
        let hubei = who(&db, "hubei", Role::Provincial, "420000").await;
        let wuhan = who(&db, "wuhan", Role::City, "420100").await;

        let later = s
            .issue_directive(
                &hubei,
                "later",
                Utc::now() + Duration::days(3),
                &["420100".into()],
            )
            .await
            .unwrap();
        let sooner = s
            .issue_directive(
                &hubei,
                "sooner",
                Utc::now() + Duration::hours(2),
                &["420102".into()],
            )
            .await
            .unwrap();
        let tip = s.submit_tip("聚集", "420100", None).await.unwrap();
        let mut tx = s.store().begin().await.unwrap();
        let day = s.today();
        tx.insert_alert(&Alert {
            id: 0,
            form: "epidemic".into(),
            field: "new_confirmed".into(),
            region: RegionCode::parse("420103").unwrap(),
            method: AlertMethod::EarsC1,
            methods: vec![AlertMethod::EarsC1],
            first_day: day,
            last_day: day,
            observed: 10.0,
            expected: 1.0,
            statistic: 5.0,
            threshold: 3.0,
            status: AlertStatus::Open,
            verdict: None,
            note: String::new(),
            raised_at: now_millis() - Duration::days(1),
            updated_at: now_millis(),
            acknowledged_by: None,
            closed_by: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let tasks = s.tasks(&wuhan).await.unwrap();
        let kinds: Vec<TaskKind> = tasks.iter().map(|t| t.kind).collect();
        // the alert raised yesterday, the tip received now, then the deadlines
        assert_eq!(
            kinds,
            [
                TaskKind::Alert,
                TaskKind::Tip,
                TaskKind::Directive,
                TaskKind::Directive
            ],
            "{}",
            db.engine
        );
        let directive_ids: Vec<i64> = tasks
            .iter()
            .filter_map(|t| match &t.item {
                TaskItem::Directive { directive, .. } => Some(directive.id),
                _ => None,
            })
            .collect();
        assert_eq!(directive_ids, [sooner.directive.id, later.directive.id]);
        assert!(matches!(&tasks[1].item, TaskItem::Tip(v) if v.tip.id == tip.id));
        assert!(tasks.iter().all(|t| !t.overdue));

        // completed targets leave the list; Hubei's own list has the alert only
        s.complete_target(&wuhan, later.directive.id, "420100", "ok")
            .await
            .unwrap();
        assert_eq!(s.tasks(&wuhan).await.unwrap().len(), 3);
        let province: Vec<TaskKind> = s
            .tasks(&hubei)
            .await
            .unwrap()
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(province, [TaskKind::Alert, TaskKind::Directive]);
    }
}
