//! The line list through the service, on both engines: cases through the
//! state machine with optimistic versions, who sees what across counties,
//! contacts with follow-ups, the due list and conversion, person matching,
//! the figures the line list implies, and chain queries on a hand-drawn
//! graph whose answers are known.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chrono::NaiveDate;

use common::{day, engines, TestDb};
use fangkong_domain::case::{
    Age, CaseEvent, CaseId, Classification, Facility, IdNumber, NewCase, Origin, Person,
    PersonName, Phone, Place, Severity, Sex,
};
use fangkong_domain::contact::{
    ContactId, ContactLink, Exposure, FollowUp, FollowUpResult, NewContact, ObservationPeriod,
    ObservationPlace, Symptom, Temperature,
};
use fangkong_domain::form::epidemic_form;
use fangkong_domain::matching::{MatchReason, MatchStatus};
use fangkong_domain::region::RegionCode;
use fangkong_domain::user::Role;
use fangkong_service::line_list::cases::CaseQuery;
use fangkong_service::reports::FiledValues;
use fangkong_service::{Principal, ServiceError};

const JIANGAN: &str = "420102";
const JIANGHAN: &str = "420103";
const QIAOKOU: &str = "420104";

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn cid(s: &str) -> CaseId {
    CaseId::parse(s).unwrap()
}

fn kid(s: &str) -> ContactId {
    ContactId::parse(s).unwrap()
}

fn person(home: &str, name: &str) -> Person {
    let mut p = Person::unknown(code(home));
    p.name = Some(PersonName::parse(name).unwrap());
    p.sex = Sex::Female;
    p.age = Some(Age::new(40).unwrap());
    p
}

/// A case living in `home`, reported by `unit`, with its onset and sources.
fn new_case(id: &str, home: &str, unit: &str, onset: &str, sources: &[&str]) -> NewCase {
    NewCase {
        id: cid(id),
        person: person(home, &format!("病例{id}")),
        reporting_unit: code(unit),
        origin: Origin::Local,
        place_of_exposure: None,
        onset: Some(day(onset)),
        first_visit: None,
        report: day(onset) + chrono::Duration::days(1),
        source_cases: sources.iter().map(|s| cid(s)).collect(),
        from_contact: None,
    }
}

fn new_contact(id: &str, home: &str, source: &str, last: &str) -> NewContact {
    NewContact {
        id: kid(id),
        person: person(home, &format!("密接{id}")),
        links: vec![ContactLink {
            source: cid(source),
            exposure: Exposure::Household,
            last_exposure: day(last),
        }],
        place: ObservationPlace::Home,
        registered: day(last),
        period: ObservationPeriod::default(),
    }
}

fn reached(date: NaiveDate, celsius: f32, symptoms: &[Symptom]) -> FollowUp {
    FollowUp {
        date,
        result: FollowUpResult::Reached {
            temperature: Temperature::new(celsius).unwrap(),
            symptoms: symptoms.iter().copied().collect(),
        },
    }
}

fn missed(date: NaiveDate) -> FollowUp {
    FollowUp {
        date,
        result: FollowUpResult::NotReached,
    }
}

/// A county user of `region`.
async fn county(db: &TestDb, name: &str, region: &str) -> Principal {
    let sys = db.system().await;
    db.service
        .add_user(&sys, name, name, Role::County, region, "a long password 1")
        .await
        .unwrap();
    db.service.principal(name).await.unwrap()
}

fn invalid(e: ServiceError) -> (String, String) {
    match e {
        ServiceError::Invalid(f) => (f.field.to_string(), f.reason),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_case_moves_through_the_state_machine_and_stale_edits_are_refused() {
    for db in engines().await {
        let e = db.engine;
        let sys = db.system().await;
        let s = &db.service;
        let c = s
            .report_case(
                &sys,
                new_case("A", JIANGAN, JIANGAN, "2020-01-05", &[]),
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(c.key, 1, "{e}");
        assert_eq!(c.entry.case.classification(), Classification::Suspected);
        assert_eq!(c.entry.case.version(), 1);

        // a confirmation before onset names the rule and the field
        let err = s
            .record_case_event(
                &sys,
                &cid("A"),
                1,
                CaseEvent::Confirm {
                    date: day("2020-01-04"),
                },
            )
            .await
            .unwrap_err();
        let (field, message) = invalid(err);
        assert_eq!(field, "confirmation_date", "{e}");
        assert!(
            message.contains("confirmation_before_onset"),
            "{e}: {message}"
        );

        let c = s
            .record_case_event(
                &sys,
                &cid("A"),
                1,
                CaseEvent::Confirm {
                    date: day("2020-01-07"),
                },
            )
            .await
            .unwrap();
        assert_eq!(c.entry.case.version(), 2);
        // someone else edited version 1 too: refused, nothing lost
        let err = s
            .record_case_event(
                &sys,
                &cid("A"),
                1,
                CaseEvent::SetSeverity {
                    severity: Severity::Severe,
                    date: day("2020-01-08"),
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{e}: {err:?}");
        let now = s.case(&sys, &cid("A")).await.unwrap();
        assert_eq!(now.entry.case.version(), 2);
        assert_eq!(now.entry.case.severity(), None);

        // confirmed → suspected needs a recorded revision
        let err = s
            .record_case_event(
                &sys,
                &cid("A"),
                2,
                CaseEvent::Revise {
                    to: Classification::Suspected,
                    date: day("2020-01-08"),
                    reason: String::new(),
                },
            )
            .await
            .unwrap_err();
        assert!(invalid(err).1.contains("revision_needs_reason"), "{e}");

        let facility = Facility {
            region: code(JIANGHAN),
            name: Place::parse("facility", "金银潭医院").unwrap(),
        };
        let mut v = 2;
        for event in [
            CaseEvent::SetSeverity {
                severity: Severity::Critical,
                date: day("2020-01-08"),
            },
            CaseEvent::Admit {
                facility,
                date: day("2020-01-08"),
            },
            CaseEvent::Die {
                date: day("2020-01-20"),
            },
        ] {
            let c = s
                .record_case_event(&sys, &cid("A"), v, event)
                .await
                .unwrap();
            v = c.entry.case.version();
        }
        assert_eq!(v, 5, "{e}");
        // dead → recovered is refused by name
        let err = s
            .record_case_event(
                &sys,
                &cid("A"),
                5,
                CaseEvent::Discharge {
                    date: day("2020-01-21"),
                },
            )
            .await
            .unwrap_err();
        assert!(invalid(err).1.contains("dead"), "{e}");
        // a future date is refused
        let err = s
            .record_case_event(
                &sys,
                &cid("A"),
                5,
                CaseEvent::Revise {
                    to: Classification::Excluded,
                    date: s.today() + chrono::Duration::days(1),
                    reason: "test".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(invalid(err).1.contains("future_date"), "{e}");

        // the stored history replays to the same case
        let read = s.case(&sys, &cid("A")).await.unwrap();
        assert_eq!(read.entry.case.history().len(), 4, "{e}");
        assert_eq!(
            read.entry.case.severity_on(day("2020-01-09")),
            Some(Severity::Critical)
        );

        // a duplicate id is a conflict; an unknown source a field error
        let err = s
            .report_case(
                &sys,
                new_case("A", JIANGAN, JIANGAN, "2020-01-05", &[]),
                vec![],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{e}: {err:?}");
        let err = s
            .report_case(
                &sys,
                new_case("B", JIANGAN, JIANGAN, "2020-01-05", &["Z"]),
                vec![],
            )
            .await
            .unwrap_err();
        assert_eq!(invalid(err).0, "source_case_id", "{e}");
    }
}

#[tokio::test]
async fn counties_see_the_cases_they_host_or_report_and_no_others() {
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        let jiangan = county(&db, "jiangan", JIANGAN).await;
        let jianghan = county(&db, "jianghan", JIANGHAN).await;
        let qiaokou = county(&db, "qiaokou", QIAOKOU).await;
        // lives in 江汉, reported by 江岸 (where it was treated)
        s.report_case(
            &jiangan,
            new_case("X", JIANGHAN, JIANGAN, "2020-01-05", &[]),
            vec![],
        )
        .await
        .unwrap();
        // a county cannot report for another
        let err = s
            .report_case(
                &jiangan,
                new_case("Y", QIAOKOU, QIAOKOU, "2020-01-05", &[]),
                vec![],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Forbidden(_)), "{e}: {err:?}");
        s.report_case(
            &sys,
            new_case("Y", QIAOKOU, QIAOKOU, "2020-01-05", &[]),
            vec![],
        )
        .await
        .unwrap();

        for (who, expected) in [
            (&jiangan, vec!["X"]),
            (&jianghan, vec!["X"]),
            (&qiaokou, vec!["Y"]),
            (&sys, vec!["X", "Y"]),
        ] {
            let listed: Vec<String> = s
                .cases(
                    who,
                    &CaseQuery {
                        limit: 100,
                        ..CaseQuery::default()
                    },
                )
                .await
                .unwrap()
                .iter()
                .map(|c| c.entry.case.id().to_string())
                .collect();
            assert_eq!(listed, expected, "{e}: {}", who.username);
        }
        let err = s.case(&qiaokou, &cid("X")).await.unwrap_err();
        assert!(matches!(err, ServiceError::NotFound(_)), "{e}");
        // both counties may update it
        s.record_case_event(
            &jianghan,
            &cid("X"),
            1,
            CaseEvent::Confirm {
                date: day("2020-01-06"),
            },
        )
        .await
        .unwrap();
        // the public sees no line list
        let public = Principal {
            role: Role::Public,
            ..sys.clone()
        };
        assert!(matches!(
            s.case(&public, &cid("X")).await.unwrap_err(),
            ServiceError::Refused { .. }
        ));
    }
}

#[tokio::test]
async fn contacts_are_followed_up_flagged_released_and_converted() {
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        let jiangan = county(&db, "jiangan", JIANGAN).await;
        s.report_case(
            &sys,
            new_case("A", JIANGAN, JIANGAN, "2020-01-01", &[]),
            vec![],
        )
        .await
        .unwrap();
        // last exposure 1 Jan, registered 1 Jan: observed 1–14 Jan, released 15 Jan
        for id in ["K1", "K2"] {
            s.register_contact(
                &jiangan,
                new_contact(id, JIANGAN, "A", "2020-01-01"),
                &code(JIANGAN),
            )
            .await
            .unwrap();
        }
        let k1 = s.contact(&jiangan, &kid("K1")).await.unwrap();
        assert_eq!(k1.entry.contact.release_date(), day("2020-01-15"), "{e}");

        // K1 reached every day; K2 not reached on the 2nd and 3rd
        for d in 1..=3 {
            let date = NaiveDate::from_ymd_opt(2020, 1, d).unwrap();
            s.record_follow_up(&jiangan, &kid("K1"), reached(date, 36.5, &[]), None)
                .await
                .unwrap();
        }
        s.record_follow_up(
            &jiangan,
            &kid("K2"),
            reached(day("2020-01-01"), 36.6, &[]),
            None,
        )
        .await
        .unwrap();
        for d in ["2020-01-02", "2020-01-03"] {
            s.record_follow_up(&jiangan, &kid("K2"), missed(day(d)), None)
                .await
                .unwrap();
        }
        let due = s
            .due_follow_ups(&jiangan, None, day("2020-01-03"))
            .await
            .unwrap();
        let due: Vec<(String, bool)> = due
            .iter()
            .map(|d| {
                (
                    d.contact.entry.contact.id().to_string(),
                    d.not_reached_two_days,
                )
            })
            .collect();
        assert_eq!(due, [("K2".to_owned(), true)], "{e}");
        // on the 14th both are due; on the release day neither
        assert_eq!(
            s.due_follow_ups(&jiangan, None, day("2020-01-14"))
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(s
            .due_follow_ups(&jiangan, None, day("2020-01-15"))
            .await
            .unwrap()
            .is_empty());

        // a stale follow-up version is refused; without a version it is merged in
        let err = s
            .record_follow_up(
                &jiangan,
                &kid("K1"),
                reached(day("2020-01-04"), 36.5, &[]),
                Some(1),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{e}: {err:?}");

        // no fever, no conversion; then fever and cough on the 4th
        let err = s
            .convert_contact(&jiangan, &kid("K1"), cid("S1"), None, day("2020-01-04"))
            .await
            .unwrap_err();
        assert!(invalid(err).1.contains("no_fever_or_symptoms"), "{e}");
        s.record_follow_up(
            &jiangan,
            &kid("K1"),
            reached(day("2020-01-04"), 38.2, &[Symptom::Cough]),
            None,
        )
        .await
        .unwrap();
        let (contact, case) = s
            .convert_contact(&jiangan, &kid("K1"), cid("S1"), None, day("2020-01-04"))
            .await
            .unwrap();
        assert_eq!(
            case.entry.case.classification(),
            Classification::Suspected,
            "{e}"
        );
        assert_eq!(case.entry.case.source_cases(), [cid("A")]);
        assert_eq!(case.entry.case.from_contact(), Some(&kid("K1")));
        assert_eq!(case.entry.case.dates().onset, Some(day("2020-01-04")));
        assert_eq!(case.entry.person_id, contact.entry.person_id, "one person");
        assert_eq!(
            contact.entry.contact.converted(),
            Some((&cid("S1"), day("2020-01-04")))
        );
        let due: Vec<String> = s
            .due_follow_ups(&jiangan, None, day("2020-01-04"))
            .await
            .unwrap()
            .iter()
            .map(|d| d.contact.entry.contact.id().to_string())
            .collect();
        assert_eq!(due, ["K2"], "{e}: the converted contact left the list");

        // the chain keeps the link: A → S1 (the contact is the case)
        let chain = s.chain(&jiangan, &cid("A"), Some(1)).await.unwrap();
        let mut ids: Vec<&str> = chain.nodes.iter().map(|n| n.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["A", "K2", "S1"], "{e}");
    }
}

#[tokio::test]
async fn one_id_number_is_one_person_and_similar_records_wait_for_review() {
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let mut a = new_case("A", JIANGAN, JIANGAN, "2020-01-01", &[]);
        a.person.id_number = Some(id.clone());
        let a = s.report_case(&sys, a, vec![]).await.unwrap();
        // the same ID number under another name: the same person
        let mut b = new_case("B", JIANGAN, JIANGAN, "2020-01-10", &[]);
        b.person.id_number = Some(id);
        let b = s.report_case(&sys, b, vec![]).await.unwrap();
        assert_eq!(a.entry.person_id, b.entry.person_id, "{e}");

        // a contact named like case C with C's phone: a candidate pair
        let mut c = new_case("C", JIANGAN, JIANGAN, "2020-01-01", &[]);
        c.person.name = Some(PersonName::parse("王芳").unwrap());
        c.person.phone = Some(Phone::parse("13800138000").unwrap());
        let c = s.report_case(&sys, c, vec![]).await.unwrap();
        let mut k = new_contact("K", JIANGAN, "A", "2020-01-02");
        k.person.name = Some(PersonName::parse("王 芳").unwrap());
        k.person.phone = Some(Phone::parse("13800138000").unwrap());
        let k = s.register_contact(&sys, k, &code(JIANGAN)).await.unwrap();
        assert_ne!(
            k.entry.person_id, c.entry.person_id,
            "{e}: not merged without review"
        );
        let pending = s
            .match_candidates(&sys, Some(MatchStatus::Pending), 10)
            .await
            .unwrap();
        assert_eq!(pending.len(), 1, "{e}");
        let pair = &pending[0];
        assert_eq!(pair.candidate.reason, MatchReason::NamePhone);
        assert_eq!(
            (pair.candidate.a, pair.candidate.b),
            (c.entry.person_id, k.entry.person_id)
        );
        assert_eq!(pair.a.cases, [cid("C")]);
        assert_eq!(pair.b.contacts, [kid("K")]);

        let decided = s
            .decide_match(&sys, pair.candidate.id, MatchStatus::Merged)
            .await
            .unwrap();
        assert_eq!(decided.candidate.status, MatchStatus::Merged, "{e}");
        assert_eq!(decided.candidate.decided_by.as_deref(), Some("system"));
        let k = s.contact(&sys, &kid("K")).await.unwrap();
        assert_eq!(k.entry.person_id, c.entry.person_id, "{e}: merged");
        assert!(s
            .match_candidates(&sys, Some(MatchStatus::Pending), 10)
            .await
            .unwrap()
            .is_empty());
        let err = s
            .decide_match(&sys, pair.candidate.id, MatchStatus::Distinct)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{e}");
    }
}

/// The hand-drawn graph:
///
/// ```text
///        A (江岸) ──→ B (江岸) ──→ D (硚口) ──→ E (硚口)
///        │  ╲                       ╲
///        │   ╲→ C (lives 江汉,       ╲→ K2 (contact, 硚口)
///        │        reported 江岸) ──→ K3 (contact, 江汉)
///        └──→ K1 (contact, 江岸)
///   F (江岸), alone
/// ```
async fn hand_drawn(db: &TestDb) {
    let s = &db.service;
    let sys = db.system().await;
    for (id, home, unit, onset, sources) in [
        ("A", JIANGAN, JIANGAN, "2020-01-01", vec![]),
        ("B", JIANGAN, JIANGAN, "2020-01-05", vec!["A"]),
        ("C", JIANGHAN, JIANGAN, "2020-01-06", vec!["A"]),
        ("D", QIAOKOU, QIAOKOU, "2020-01-09", vec!["B"]),
        ("E", QIAOKOU, QIAOKOU, "2020-01-13", vec!["D"]),
        ("F", JIANGAN, JIANGAN, "2020-01-02", vec![]),
    ] {
        s.report_case(&sys, new_case(id, home, unit, onset, &sources), vec![])
            .await
            .unwrap();
    }
    for (id, home, source, last) in [
        ("K1", JIANGAN, "A", "2020-01-02"),
        ("K2", QIAOKOU, "D", "2020-01-10"),
        ("K3", JIANGHAN, "C", "2020-01-07"),
    ] {
        s.register_contact(&sys, new_contact(id, home, source, last), &code(home))
            .await
            .unwrap();
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v
}

#[tokio::test]
async fn chain_queries_on_a_hand_drawn_graph_give_the_known_answers() {
    for db in engines().await {
        let e = db.engine;
        hand_drawn(&db).await;
        let s = &db.service;
        let sys = db.system().await;
        let jiangan = county(&db, "jiangan", JIANGAN).await;

        let one = s.chain(&sys, &cid("B"), Some(1)).await.unwrap();
        let ids = |v: &fangkong_service::line_list::chains::ChainView| {
            sorted(v.nodes.iter().map(|n| n.id.clone()).collect())
        };
        let edges = |v: &fangkong_service::line_list::chains::ChainView| {
            sorted(
                v.edges
                    .iter()
                    .map(|x| format!("{}->{}", x.from, x.to))
                    .collect(),
            )
        };
        assert_eq!(ids(&one), ["A", "B", "D"], "{e}");
        assert_eq!(edges(&one), ["A->B", "B->D"], "{e}");
        let two = s.chain(&sys, &cid("B"), Some(2)).await.unwrap();
        assert_eq!(ids(&two), ["A", "B", "C", "D", "E", "K1", "K2"], "{e}");
        assert_eq!(
            edges(&two),
            ["A->B", "A->C", "A->K1", "B->D", "D->E", "D->K2"],
            "{e}"
        );
        let distance = |v: &fangkong_service::line_list::chains::ChainView, id: &str| {
            v.nodes.iter().find(|n| n.id == id).map(|n| n.distance)
        };
        assert_eq!(distance(&two, "K1"), Some(2));
        assert_eq!(distance(&two, "B"), Some(0));

        // E's source chain back to the index case, and its generation
        let chain = s.chain(&sys, &cid("E"), Some(0)).await.unwrap();
        assert_eq!(chain.source_chain, ["E", "D", "B", "A"], "{e}");
        assert_eq!(chain.generation, Some(3));
        assert!(!chain.cycle);
        let gens: Vec<(String, Option<u32>)> = s
            .chain(&sys, &cid("A"), None)
            .await
            .unwrap()
            .nodes
            .iter()
            .filter(|n| n.kind == "case")
            .map(|n| (n.id.clone(), n.generation))
            .collect();
        assert_eq!(
            sorted(
                gens.iter()
                    .map(|(i, g)| format!("{i}{}", g.unwrap()))
                    .collect()
            ),
            ["A0", "B1", "C1", "D2", "E3"],
            "{e}"
        );

        // the cluster: everything but F, across three counties
        let cluster = s.cluster(&sys, &cid("K1")).await;
        assert!(cluster.is_err(), "K1 is a contact, not a case");
        let cluster = s.cluster(&sys, &cid("C")).await.unwrap();
        assert_eq!(
            (cluster.size, cluster.cases, cluster.contacts),
            (8, 5, 3),
            "{e}"
        );
        assert_eq!(cluster.index_cases, ["A"]);
        assert_eq!(cluster.first_day, Some(day("2020-01-01")));
        assert_eq!(cluster.last_day, Some(day("2020-01-14")));
        assert_eq!(
            cluster
                .regions
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>(),
            [JIANGAN, JIANGHAN, QIAOKOU]
        );
        let alone = s.cluster(&sys, &cid("F")).await.unwrap();
        assert_eq!(alone.size, 1, "{e}");
        let clusters = s.clusters(&sys, 2, 10).await.unwrap();
        assert_eq!(
            clusters.iter().map(|c| c.size).collect::<Vec<_>>(),
            [8],
            "{e}"
        );
        assert_eq!(clusters[0].open_with.as_deref(), Some("A"), "{e}");
        // 硚口 opens the cluster from its own first case, not 江岸's index case
        let qiaokou = county(&db, "qiaokou", QIAOKOU).await;
        let theirs = s.clusters(&qiaokou, 2, 10).await.unwrap();
        assert_eq!(theirs[0].index_cases, ["A"], "{e}");
        assert_eq!(theirs[0].open_with.as_deref(), Some("D"), "{e}");

        // spreaders: A infected B, C and K1; D infected E and K2
        let top = s.top_spreaders(&sys, 2).await.unwrap();
        assert_eq!(top, [(cid("A"), 3), (cid("D"), 2)], "{e}");

        // 江岸 sees 硚口's D in B's chain, without personal data
        let seen = s.chain(&jiangan, &cid("B"), Some(1)).await.unwrap();
        let d = seen.nodes.iter().find(|n| n.id == "D").unwrap();
        assert!(!d.visible, "{e}");
        assert_eq!((d.name.as_deref(), d.sex, d.age), (None, None, None));
        assert_eq!(d.region.as_str(), QIAOKOU);
        let b = seen.nodes.iter().find(|n| n.id == "B").unwrap();
        assert!(b.visible && b.name.as_deref() == Some("病例B"), "{e}");
        // …and cannot start from E
        assert!(matches!(
            s.chain(&jiangan, &cid("E"), Some(1)).await.unwrap_err(),
            ServiceError::NotFound(_)
        ));
        // 江岸's spreaders leave 硚口's D out
        let top = s.top_spreaders(&jiangan, 5).await.unwrap();
        assert_eq!(top.first(), Some(&(cid("A"), 3)), "{e}");
        assert!(top.iter().all(|(id, _)| id.as_str() != "D"), "{e}");

        // a new link moves the graph: K1 also met B
        s.add_contact_link(
            &sys,
            &kid("K1"),
            ContactLink {
                source: cid("B"),
                exposure: Exposure::Work,
                last_exposure: day("2020-01-06"),
            },
            None,
        )
        .await
        .unwrap();
        let one = s.chain(&sys, &cid("B"), Some(1)).await.unwrap();
        assert_eq!(ids(&one), ["A", "B", "D", "K1"], "{e}");

        // DOT and GraphML carry ids, never names
        let dot = s
            .chain_export(
                &sys,
                &cid("B"),
                Some(1),
                fangkong_service::line_list::chains::GraphFormat::Dot,
            )
            .await
            .unwrap();
        assert!(dot.contains("\"A\" -> \"B\""), "{e}: {dot}");
        assert!(!dot.contains("病例"), "{e}");
        let graphml = s
            .chain_export(
                &sys,
                &cid("B"),
                Some(1),
                fangkong_service::line_list::chains::GraphFormat::GraphMl,
            )
            .await
            .unwrap();
        assert!(graphml.contains("<edge source=\"B\" target=\"D\">"), "{e}");
    }
}

#[tokio::test]
async fn line_list_figures_are_compared_with_the_filed_reports() {
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        // two cases reported on 6 Jan, one confirmed on 7 Jan
        s.report_case(
            &sys,
            new_case("A", JIANGAN, JIANGAN, "2020-01-05", &[]),
            vec![],
        )
        .await
        .unwrap();
        s.report_case(
            &sys,
            new_case("B", JIANGAN, JIANGAN, "2020-01-05", &[]),
            vec![CaseEvent::Confirm {
                date: day("2020-01-07"),
            }],
        )
        .await
        .unwrap();
        let figures = s
            .line_list_figures(&sys, JIANGAN, day("2020-01-06"), day("2020-01-07"))
            .await
            .unwrap();
        // new_confirmed, new_suspected, …, current_suspected, current_observation
        assert_eq!(figures[0].values, [0, 2, 0, 0, 0, 0, 2, 0], "{e}");
        assert_eq!(figures[1].values, [1, 0, 0, 0, 0, 0, 1, 0], "{e}");

        // the county filed 2 confirmed on the 7th: a mismatch, and a missing report on the 6th
        let form = epidemic_form();
        let pairs = form
            .fields
            .iter()
            .map(|f| {
                let v = match f.name.as_str() {
                    "new_confirmed" => 2,
                    "current_suspected" => 1,
                    _ => 0,
                };
                (f.name.clone(), v)
            })
            .collect();
        s.file_report(
            &sys,
            "epidemic",
            JIANGAN,
            day("2020-01-07"),
            FiledValues::Pairs(pairs),
        )
        .await
        .unwrap();
        let mismatches = s
            .line_list_mismatches(&sys, JIANGAN, day("2020-01-06"), day("2020-01-07"))
            .await
            .unwrap();
        let listed: Vec<(String, &str, i64, Option<i64>)> = mismatches
            .iter()
            .map(|m| (m.date.to_string(), m.field, m.line_list, m.reported))
            .collect();
        assert_eq!(
            listed,
            [
                ("2020-01-06".to_owned(), "new_suspected", 2, None),
                ("2020-01-06".to_owned(), "current_suspected", 2, None),
                ("2020-01-07".to_owned(), "new_confirmed", 1, Some(2)),
            ],
            "{e}"
        );
    }
}

#[tokio::test]
async fn a_linked_pair_of_confirmed_cases_is_a_cluster_that_raises_the_risk_level() {
    use fangkong_domain::alert::RiskLevel;
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        // 51 confirmed cases filed for 江岸 on 7 Jan: above the 50-case line
        let form = epidemic_form();
        let pairs = form
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    if f.name == "new_confirmed" { 51 } else { 0 },
                )
            })
            .collect();
        s.file_report(
            &sys,
            "epidemic",
            JIANGAN,
            day("2020-01-07"),
            FiledValues::Pairs(pairs),
        )
        .await
        .unwrap();
        let confirm = |d: &str| vec![CaseEvent::Confirm { date: day(d) }];
        s.report_case(
            &sys,
            new_case("A", JIANGAN, JIANGAN, "2020-01-05", &[]),
            confirm("2020-01-07"),
        )
        .await
        .unwrap();
        assert_eq!(
            level_on(&db, "2020-01-08").await,
            Some((RiskLevel::Medium, false)),
            "{e}"
        );
        // B, infected by A, confirmed on the 9th: a cluster
        s.report_case(
            &sys,
            new_case("B", JIANGAN, JIANGAN, "2020-01-07", &["A"]),
            confirm("2020-01-09"),
        )
        .await
        .unwrap();
        assert_eq!(
            level_on(&db, "2020-01-09").await,
            Some((RiskLevel::High, true)),
            "{e}"
        );
    }
}

/// 江岸's risk level on a day, assessed for that day, and whether a cluster counted.
async fn level_on(db: &TestDb, d: &str) -> Option<(fangkong_domain::alert::RiskLevel, bool)> {
    let sys = db.system().await;
    db.service
        .assess_risk(&sys, JIANGAN, day(d), day(d))
        .await
        .unwrap();
    db.service
        .risk(&sys, JIANGAN, day(d))
        .await
        .unwrap()
        .levels
        .iter()
        .find(|(r, _)| r.region.as_str() == JIANGAN)
        .map(|(r, _)| (r.level, r.cluster))
}

#[tokio::test]
async fn the_demo_line_list_holds_a_cluster_across_counties_with_contacts_to_follow_up() {
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        let first = s.today() - chrono::Duration::days(27);
        let made = s
            .generate_demo_line_list(&sys, JIANGHAN, "420100", first, None)
            .await
            .unwrap();
        assert!(made.cases >= 50, "{e}: {made:?}");
        assert!(
            made.contacts >= 2 * made.cases - made.converted,
            "{e}: {made:?}"
        );
        assert!(made.follow_ups > made.contacts, "{e}: {made:?}");
        assert!(made.converted >= 1, "{e}: {made:?}");

        let index = cid("WH-0001");
        let cluster = s.cluster(&sys, &index).await.unwrap();
        assert_eq!(cluster.index_cases, ["WH-0001"], "{e}");
        assert!(cluster.size > made.cases, "{e}: {cluster:?}");
        let counties: Vec<&str> = cluster
            .regions
            .iter()
            .map(|r| r.as_str())
            .filter(|r| r.starts_with("4201"))
            .collect();
        assert!(
            counties.len() >= 3,
            "{e}: a cluster across counties: {counties:?}"
        );
        let index_case = s.case(&sys, &index).await.unwrap();
        assert_eq!(
            index_case.entry.case.dates().onset,
            Some(first + chrono::Duration::days(1))
        );
        // today's round of follow-ups is under way: some are still due
        let due = s
            .due_follow_ups(&sys, Some("420100"), s.today())
            .await
            .unwrap();
        assert!(!due.is_empty(), "{e}");
        // the figures of the line list are there to compare with the reports
        let figures = s
            .line_list_figures(&sys, JIANGHAN, first, s.today())
            .await
            .unwrap();
        assert!(figures.iter().map(|d| d.values[0]).sum::<i64>() > 0, "{e}");
        // running it again is refused: the ids exist
        assert!(matches!(
            s.generate_demo_line_list(&sys, JIANGHAN, "420100", first, None)
                .await,
            Err(ServiceError::Conflict(_))
        ));
    }
}

/// The refusal's rule code.
fn rule_of(e: ServiceError) -> String {
    match e {
        ServiceError::Invalid(f) => f.rule.unwrap_or("none").to_owned(),
        other => format!("not a rule: {other:?}"),
    }
}

#[tokio::test]
async fn every_rule_of_the_case_state_machine_is_enforced_through_storage() {
    use fangkong_domain::case::CaseRule;
    let facility = || Facility {
        region: code("420112"),
        name: Place::parse("facility", "金银潭医院").unwrap(),
    };
    let confirm = |d: &str| CaseEvent::Confirm { date: day(d) };
    let admit = |d: &str| CaseEvent::Admit {
        facility: facility(),
        date: day(d),
    };
    let discharge = |d: &str| CaseEvent::Discharge { date: day(d) };
    let die = |d: &str| CaseEvent::Die { date: day(d) };
    let severe = |d: &str| CaseEvent::SetSeverity {
        severity: Severity::Severe,
        date: day(d),
    };
    let far = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    // onset 5 Jan, reported 6 Jan; (rule, events already recorded, the refused event)
    let table: Vec<(CaseRule, Vec<CaseEvent>, CaseEvent)> = vec![
        (
            CaseRule::FutureDate,
            vec![],
            CaseEvent::Confirm { date: far },
        ),
        (
            CaseRule::SameClassification,
            vec![confirm("2020-01-07")],
            confirm("2020-01-08"),
        ),
        (
            CaseRule::RevisionRequired,
            vec![confirm("2020-01-07")],
            CaseEvent::Exclude {
                date: day("2020-01-08"),
            },
        ),
        (
            CaseRule::RevisionNeedsReason,
            vec![confirm("2020-01-07")],
            CaseEvent::Revise {
                to: Classification::Excluded,
                date: day("2020-01-08"),
                reason: " ".into(),
            },
        ),
        (
            CaseRule::ConfirmationBeforeOnset,
            vec![],
            confirm("2020-01-04"),
        ),
        (
            CaseRule::DeadIsFinal,
            vec![die("2020-01-10")],
            severe("2020-01-11"),
        ),
        (
            CaseRule::DeadCannotRecover,
            vec![
                confirm("2020-01-07"),
                admit("2020-01-07"),
                die("2020-01-10"),
            ],
            discharge("2020-01-11"),
        ),
        (
            CaseRule::RecoveredIsFinal,
            vec![
                confirm("2020-01-07"),
                admit("2020-01-07"),
                discharge("2020-01-20"),
            ],
            die("2020-01-21"),
        ),
        (
            CaseRule::ExcludedCase,
            vec![CaseEvent::Exclude {
                date: day("2020-01-07"),
            }],
            admit("2020-01-08"),
        ),
        (CaseRule::SeverityBeforeOnset, vec![], severe("2020-01-04")),
        (
            CaseRule::TransferBeforeAdmission,
            vec![admit("2020-01-08")],
            admit("2020-01-07"),
        ),
        (
            CaseRule::RecoveryNeedsConfirmation,
            vec![admit("2020-01-07")],
            discharge("2020-01-10"),
        ),
        (
            CaseRule::DischargeWithoutAdmission,
            vec![confirm("2020-01-07")],
            discharge("2020-01-10"),
        ),
        (
            CaseRule::DischargeBeforeAdmission,
            vec![confirm("2020-01-07"), admit("2020-01-09")],
            discharge("2020-01-08"),
        ),
        (CaseRule::OutcomeBeforeOnset, vec![], die("2020-01-04")),
        (
            CaseRule::OutcomeBeforeConfirmation,
            vec![admit("2020-01-07"), confirm("2020-01-09")],
            discharge("2020-01-08"),
        ),
    ];
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        for (i, (rule, setup, refused)) in table.iter().enumerate() {
            let id = format!("R{i}");
            let case = s
                .report_case(
                    &sys,
                    new_case(&id, JIANGAN, JIANGAN, "2020-01-05", &[]),
                    setup.clone(),
                )
                .await
                .unwrap();
            let version = case.entry.case.version();
            let err = s
                .record_case_event(&sys, &cid(&id), version, refused.clone())
                .await
                .unwrap_err();
            assert_eq!(rule_of(err), rule.code(), "{e}: {id}");
            // nothing was written
            let after = s.case(&sys, &cid(&id)).await.unwrap();
            assert_eq!(after.entry.case, case.entry.case, "{e}: {id}");
        }
        // the rules of a new case
        let mut early = new_case("R-open", JIANGAN, JIANGAN, "2020-01-05", &[]);
        early.first_visit = Some(day("2020-01-04"));
        let err = s.report_case(&sys, early, vec![]).await.unwrap_err();
        assert_eq!(rule_of(err), CaseRule::FirstVisitBeforeOnset.code(), "{e}");
        let mut future = new_case("R-future", JIANGAN, JIANGAN, "2020-01-05", &[]);
        future.report = far;
        let err = s.report_case(&sys, future, vec![]).await.unwrap_err();
        assert_eq!(rule_of(err), CaseRule::FutureDate.code(), "{e}");
        let ancient = new_case("R-ancient", JIANGAN, JIANGAN, "0001-01-05", &[]);
        let err = s.report_case(&sys, ancient, vec![]).await.unwrap_err();
        assert_eq!(rule_of(err), CaseRule::DateTooEarly.code(), "{e}");
        let mut backwards = new_case("R-backwards", JIANGAN, JIANGAN, "2020-01-05", &[]);
        backwards.report = day("2020-01-04");
        let err = s.report_case(&sys, backwards, vec![]).await.unwrap_err();
        assert_eq!(rule_of(err), CaseRule::OnsetAfterReport.code(), "{e}");
    }
    // every rule but the replay's version check is in the table
    let covered: Vec<&str> = table.iter().map(|(r, _, _)| r.code()).collect();
    for rule in CaseRule::ALL {
        assert!(
            covered.contains(&rule.code())
                || matches!(
                    rule,
                    CaseRule::FirstVisitBeforeOnset
                        | CaseRule::VersionGap
                        | CaseRule::DateTooEarly
                        | CaseRule::OnsetAfterReport
                ),
            "{rule} has no row"
        );
    }
}

#[tokio::test]
async fn every_rule_of_contacts_is_enforced_through_storage() {
    use fangkong_domain::contact::ContactRule;
    for db in engines().await {
        let e = db.engine;
        let s = &db.service;
        let sys = db.system().await;
        for id in ["A", "B"] {
            s.report_case(
                &sys,
                new_case(id, JIANGAN, JIANGAN, "2020-01-01", &[]),
                vec![],
            )
            .await
            .unwrap();
        }
        let unit = code(JIANGAN);
        let far = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
        let mut none = new_contact("K0", JIANGAN, "A", "2020-01-02");
        none.links.clear();
        let err = s.register_contact(&sys, none, &unit).await.unwrap_err();
        assert_eq!(rule_of(err), ContactRule::NoLinks.code(), "{e}");
        let mut twice = new_contact("K0", JIANGAN, "A", "2020-01-02");
        twice.links.push(twice.links[0].clone());
        let err = s.register_contact(&sys, twice, &unit).await.unwrap_err();
        assert_eq!(rule_of(err), ContactRule::DuplicateSource.code(), "{e}");
        let mut future = new_contact("K0", JIANGAN, "A", "2020-01-02");
        future.registered = far;
        let err = s.register_contact(&sys, future, &unit).await.unwrap_err();
        assert_eq!(rule_of(err), ContactRule::FutureDate.code(), "{e}");

        s.register_contact(&sys, new_contact("K", JIANGAN, "A", "2020-01-02"), &unit)
            .await
            .unwrap();
        // released on the 16th: a follow-up then is outside observation
        let err = s
            .record_follow_up(&sys, &kid("K"), reached(day("2020-01-16"), 36.5, &[]), None)
            .await
            .unwrap_err();
        assert_eq!(rule_of(err), ContactRule::OutsideObservation.code(), "{e}");
        s.record_follow_up(&sys, &kid("K"), reached(day("2020-01-03"), 36.5, &[]), None)
            .await
            .unwrap();
        let err = s
            .convert_contact(&sys, &kid("K"), cid("S"), None, day("2020-01-03"))
            .await
            .unwrap_err();
        assert_eq!(rule_of(err), ContactRule::NoFeverOrSymptoms.code(), "{e}");
        s.record_follow_up(&sys, &kid("K"), reached(day("2020-01-04"), 37.5, &[]), None)
            .await
            .unwrap();
        s.convert_contact(&sys, &kid("K"), cid("S"), None, day("2020-01-04"))
            .await
            .unwrap();
        let err = s
            .add_contact_link(
                &sys,
                &kid("K"),
                ContactLink {
                    source: cid("B"),
                    exposure: Exposure::Work,
                    last_exposure: day("2020-01-03"),
                },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(rule_of(err), ContactRule::AlreadyConverted.code(), "{e}");
    }
}
