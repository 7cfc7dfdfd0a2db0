//! The line list's storage contract (people, cases, contacts, candidate
//! pairs, the graph's rows), the same tests on every engine: SQLite in a
//! temporary directory and PostgreSQL on a fresh database per test (see
//! `tests/contract.rs`).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::{code, engines_with, region, Engine};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use fangkong_domain::case::{
    Age, Case, CaseEvent, CaseId, Classification, Facility, IdNumber, NewCase, Origin, Person,
    PersonName, Phone, Place, Severity, Sex,
};
use fangkong_domain::contact::{
    Contact, ContactId, ContactLink, Exposure, FollowUp, FollowUpResult, NewContact,
    ObservationPeriod, ObservationPlace, Symptoms, Temperature,
};
use fangkong_domain::matching::{MatchReason, MatchStatus};
use fangkong_domain::region::{Level, Region};
use fangkong_store::{
    CaseEntry, CaseFilter, ContactEntry, ContactFilter, GraphRows, MatchCandidate, MatchFilter,
    NewPerson, Store, StoreError,
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

/// The path of a county of Wuhan, or of Hunan.
fn path(c: &str) -> String {
    match c {
        "430000" => "/000000/430000/".to_owned(),
        "420100" => "/000000/420000/420100/".to_owned(),
        _ => format!("/000000/420000/420100/{c}/"),
    }
}

const WUHAN: &str = "/000000/420000/420100/";

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, m, d).expect("date")
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 2, 1, h, m, 0)
        .single()
        .expect("time")
        + chrono::Duration::milliseconds(123)
}

fn case_id(s: &str) -> CaseId {
    CaseId::parse(s).expect("case id")
}

fn contact_id(s: &str) -> ContactId {
    ContactId::parse(s).expect("contact id")
}

/// A valid ID number from its first 17 digits.
fn id_number(body: &str) -> IdNumber {
    let check = IdNumber::check_char(body.as_bytes()).expect("17 digits");
    IdNumber::parse(&format!("{body}{}", check as char)).expect("id number")
}

fn full_person(name: &str, id: Option<&str>, phone: Option<&str>, home: &str) -> Person {
    Person {
        name: Some(PersonName::parse(name).expect("name")),
        id_number: id.map(id_number),
        sex: Sex::Male,
        age: Some(Age::new(30).expect("age")),
        phone: phone.map(|p| Phone::parse(p).expect("phone")),
        address: Some(Place::parse("address", "解放大道 1 号 \"东\"").expect("address")),
        home_region: code(home),
    }
}

fn new_person(person: &Person) -> NewPerson {
    NewPerson {
        person: person.clone(),
        home_path: path(person.home_region.as_str()),
    }
}

fn new_case(id: &str, person: Person, unit: &str, report: NaiveDate) -> NewCase {
    NewCase {
        id: case_id(id),
        person,
        reporting_unit: code(unit),
        origin: Origin::Local,
        place_of_exposure: None,
        onset: None,
        first_visit: None,
        report,
        source_cases: Vec::new(),
        from_contact: None,
    }
}

fn entry(case: Case, person_id: i64, unit: &str) -> CaseEntry {
    let home = case.person().home_region.as_str().to_owned();
    CaseEntry {
        case,
        person_id,
        home_path: path(&home),
        report_path: path(unit),
    }
}

async fn persons(s: &dyn Store, people: &[Person]) -> Vec<i64> {
    let rows: Vec<NewPerson> = people.iter().map(new_person).collect();
    let mut tx = s.begin().await.expect("begin");
    let ids = tx.insert_persons(&rows).await.expect("insert persons");
    tx.commit().await.expect("commit");
    ids
}

async fn insert_cases(s: &dyn Store, entries: &[CaseEntry]) -> Vec<i64> {
    let mut tx = s.begin().await.expect("begin");
    let keys = tx.insert_cases(entries).await.expect("insert cases");
    tx.commit().await.expect("commit");
    keys
}

async fn insert_contacts(s: &dyn Store, entries: &[ContactEntry]) -> Vec<i64> {
    let mut tx = s.begin().await.expect("begin");
    let keys = tx.insert_contacts(entries).await.expect("insert contacts");
    tx.commit().await.expect("commit");
    keys
}

/// A simple suspected case of a person of `home`, reported by `unit`.
async fn simple_case(s: &dyn Store, id: &str, home: &str, unit: &str, report: NaiveDate) -> i64 {
    let p = Person::unknown(code(home));
    let pid = persons(s, std::slice::from_ref(&p)).await[0];
    let case = Case::open(new_case(id, p, unit, report), report).expect("open");
    insert_cases(s, &[entry(case, pid, unit)]).await[0]
}

/// Opened on 14 January, confirmed, revised twice, severe, admitted, mild,
/// discharged on 25 January: version 8.
fn case_with_history(person: Person) -> Case {
    let mut new = new_case("HB-2020-0001", person, "420103", day(1, 14));
    new.origin = Origin::Imported;
    new.place_of_exposure = Some(Place::parse("place_of_exposure", "travel from Wuhan").unwrap());
    new.onset = Some(day(1, 10));
    new.first_visit = Some(day(1, 12));
    let facility = Facility {
        region: code("420103"),
        name: Place::parse("facility", "金银潭医院").unwrap(),
    };
    let events = [
        (CaseEvent::Confirm { date: day(1, 15) }, day(1, 15)),
        (
            CaseEvent::Revise {
                to: Classification::Excluded,
                date: day(1, 16),
                reason: "retest negative".to_owned(),
            },
            day(1, 16),
        ),
        (
            CaseEvent::Revise {
                to: Classification::Confirmed,
                date: day(1, 17),
                reason: "positive culture".to_owned(),
            },
            day(1, 18),
        ),
        (
            CaseEvent::SetSeverity {
                severity: Severity::Severe,
                date: day(1, 17),
            },
            day(1, 18),
        ),
        (
            CaseEvent::Admit {
                facility,
                date: day(1, 17),
            },
            day(1, 18),
        ),
        (
            CaseEvent::SetSeverity {
                severity: Severity::Mild,
                date: day(1, 20),
            },
            day(1, 20),
        ),
        (CaseEvent::Discharge { date: day(1, 25) }, day(1, 26)),
    ];
    let mut case = Case::open(new, day(1, 14)).expect("open");
    for (event, today) in events {
        case = case.apply(event, today).expect("apply");
    }
    assert_eq!(case.version(), 8);
    case
}

#[tokio::test]
async fn a_case_with_its_history_reads_back_equal() {
    for e in engines().await {
        let s = e.store.as_ref();
        let p1 = full_person(
            "张伟",
            Some("42010219900101123"),
            Some("13800000001"),
            "420102",
        );
        let p2 = Person::unknown(code("420104"));
        let ids = persons(s, &[p1.clone(), p2.clone()]).await;
        assert_eq!(ids.len(), 2, "{}", e.name);
        assert_ne!(ids[0], ids[1], "{}", e.name);

        let a = entry(case_with_history(p1), ids[0], "420103");
        let mut b_new = new_case("HB-2020-0002", p2, "420104", day(1, 20));
        b_new.source_cases = vec![case_id("HB-2020-0001"), case_id("HB-UNKNOWN")];
        b_new.from_contact = Some(contact_id("MC-1"));
        b_new.onset = Some(day(1, 19));
        let b = entry(Case::open(b_new, day(1, 20)).unwrap(), ids[1], "420104");
        let keys = insert_cases(s, &[a.clone(), b.clone()]).await;
        assert_eq!(keys, [1, 2], "{}: keys dense from 1", e.name);

        let got = s.case(&case_id("HB-2020-0001")).await.unwrap().unwrap();
        assert_eq!(got.key, 1, "{}", e.name);
        assert_eq!(got.entry, a, "{}", e.name);
        assert_eq!(got.entry.case.history().len(), 7, "{}", e.name);
        let got = s.case(&case_id("HB-2020-0002")).await.unwrap().unwrap();
        assert_eq!(got.entry, b, "{}", e.name);
        assert!(s.case(&case_id("nope")).await.unwrap().is_none());

        let by_keys = s.cases_by_keys(&[2, 99, 1]).await.unwrap();
        let got: Vec<i64> = by_keys.iter().map(|c| c.key).collect();
        assert_eq!(got, [1, 2], "{}", e.name);
        assert_eq!(by_keys[0].entry, a, "{}", e.name);
        assert_eq!(by_keys[1].entry, b, "{}", e.name);

        let existing = s
            .existing_cases(&[case_id("HB-2020-0002"), case_id("x")])
            .await
            .unwrap();
        assert_eq!(existing, [case_id("HB-2020-0002")], "{}", e.name);

        let of_person = s.cases_of_person(ids[0]).await.unwrap();
        assert_eq!(of_person.len(), 1, "{}", e.name);
        assert_eq!(of_person[0].entry, a, "{}", e.name);
        assert!(s.cases_of_person(999).await.unwrap().is_empty());

        // the next insert goes on from the last key
        let k = simple_case(s, "HB-2020-0003", "420102", "420102", day(1, 21)).await;
        assert_eq!(k, 3, "{}", e.name);
    }
}

#[tokio::test]
async fn a_case_id_already_stored_is_a_conflict() {
    for e in engines().await {
        let s = e.store.as_ref();
        simple_case(s, "C-1", "420102", "420102", day(1, 20)).await;
        let p = Person::unknown(code("420102"));
        let pid = persons(s, std::slice::from_ref(&p)).await[0];
        let open = |id: &str| {
            entry(
                Case::open(new_case(id, p.clone(), "420102", day(1, 20)), day(1, 20)).unwrap(),
                pid,
                "420102",
            )
        };

        let mut tx = s.begin().await.unwrap();
        let err = tx
            .insert_cases(&[open("C-2"), open("C-1")])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("C-1")),
            "{}: {err:?}",
            e.name
        );
        drop(tx);

        let mut tx = s.begin().await.unwrap();
        let err = tx
            .insert_cases(&[open("C-3"), open("C-3")])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("C-3")),
            "{}: {err:?}",
            e.name
        );
        drop(tx);

        assert!(
            s.case(&case_id("C-2")).await.unwrap().is_none(),
            "{}",
            e.name
        );
        assert!(
            s.case(&case_id("C-3")).await.unwrap().is_none(),
            "{}",
            e.name
        );
        assert!(
            s.case(&case_id("C-1")).await.unwrap().is_some(),
            "{}",
            e.name
        );
    }
}

#[tokio::test]
async fn a_stale_update_is_a_conflict_and_writes_nothing() {
    for e in engines().await {
        let s = e.store.as_ref();
        simple_case(s, "C-1", "420102", "420103", day(1, 20)).await;
        let read = s.case(&case_id("C-1")).await.unwrap().unwrap().entry;
        assert_eq!(read.case.version(), 1);

        // two editors read version 1; the first one's change is stored
        let mut first = read.clone();
        first.case = read
            .case
            .apply(CaseEvent::Confirm { date: day(1, 21) }, day(1, 21))
            .unwrap();
        let mut tx = s.begin().await.unwrap();
        tx.update_case(&first, 1).await.unwrap();
        tx.commit().await.unwrap();

        let mut second = read.clone();
        second.case = read
            .case
            .apply(CaseEvent::Exclude { date: day(1, 21) }, day(1, 21))
            .unwrap();
        second.report_path = path("430000");
        let mut tx = s.begin().await.unwrap();
        let err = tx.update_case(&second, 1).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err:?}",
            e.name
        );
        tx.commit().await.unwrap();

        let got = s.case(&case_id("C-1")).await.unwrap().unwrap();
        assert_eq!(got.entry, first, "{}", e.name);
        assert_eq!(got.entry.case.classification(), Classification::Confirmed);

        // the next change, from the stored version, goes on
        let mut next = first.clone();
        next.case = first
            .case
            .apply(
                CaseEvent::SetSeverity {
                    severity: Severity::Critical,
                    date: day(1, 22),
                },
                day(1, 22),
            )
            .unwrap()
            .apply(CaseEvent::Die { date: day(1, 23) }, day(1, 23))
            .unwrap();
        let mut tx = s.begin().await.unwrap();
        tx.update_case(&next, 2).await.unwrap();
        tx.commit().await.unwrap();
        let got = s.case(&case_id("C-1")).await.unwrap().unwrap();
        assert_eq!(got.entry, next, "{}", e.name);
        assert_eq!(got.entry.case.version(), 4);

        // the current state is what the list filters on
        let confirmed = s
            .cases(&CaseFilter {
                path: WUHAN.to_owned(),
                classification: Some(Classification::Confirmed),
                limit: 10,
                ..CaseFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(confirmed.len(), 1, "{}", e.name);

        let mut tx = s.begin().await.unwrap();
        let mut missing = next.clone();
        missing.case = Case::open(
            new_case(
                "C-404",
                Person::unknown(code("420102")),
                "420102",
                day(1, 20),
            ),
            day(1, 20),
        )
        .unwrap();
        let err = tx.update_case(&missing, 1).await.unwrap_err();
        assert!(
            matches!(err, StoreError::NotFound(_)),
            "{}: {err:?}",
            e.name
        );
    }
}

/// A site's patients: the cases admitted there now (or last), wherever
/// they live and whoever reported them; a transfer moves the case.
#[tokio::test]
async fn cases_are_listed_by_the_facility_they_are_admitted_at() {
    for e in engines().await {
        let s = e.store.as_ref();
        let at = |region: &str, name: &str| Facility {
            region: code(region),
            name: Place::parse("facility", name).unwrap(),
        };
        let admit = |id: &str, f: Facility| {
            let id = id.to_owned();
            async move {
                let stored = s.case(&case_id(&id)).await.unwrap().unwrap();
                let mut entry = stored.entry.clone();
                entry.case = stored
                    .entry
                    .case
                    .apply(
                        CaseEvent::Admit {
                            facility: f,
                            date: day(1, 23),
                        },
                        day(1, 23),
                    )
                    .unwrap();
                let mut tx = s.begin().await.unwrap();
                tx.update_case(&entry, stored.entry.case.version())
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        };
        // lives in Hunan, reported in 420102, treated at 金银潭 (420103 here)
        simple_case(s, "F-1", "430000", "420102", day(1, 20)).await;
        simple_case(s, "F-2", "420104", "420104", day(1, 20)).await;
        simple_case(s, "F-3", "420102", "420102", day(1, 20)).await;
        admit("F-1", at("420103", "金银潭医院")).await;
        admit("F-2", at("420103", "金银潭医院")).await;
        admit("F-3", at("420103", "武汉市中心医院")).await;
        let list = |f: Facility| CaseFilter {
            path: "/000000/".to_owned(),
            facility: Some(f),
            limit: 100,
            ..CaseFilter::default()
        };
        let got = s.cases(&list(at("420103", "金银潭医院"))).await.unwrap();
        assert_eq!(ids_of(&got), ["F-1", "F-2"], "{}", e.name);
        // same name, other region: another site
        let got = s.cases(&list(at("420104", "金银潭医院"))).await.unwrap();
        assert!(got.is_empty(), "{}", e.name);
        // a transfer moves the patient to the other site's list
        admit("F-2", at("420103", "武汉市中心医院")).await;
        let got = s
            .cases(&list(at("420103", "武汉市中心医院")))
            .await
            .unwrap();
        assert_eq!(ids_of(&got), ["F-2", "F-3"], "{}", e.name);
        let got = s.cases(&list(at("420103", "金银潭医院"))).await.unwrap();
        assert_eq!(ids_of(&got), ["F-1"], "{}", e.name);
    }
}

fn ids_of(cases: &[fangkong_store::StoredCase]) -> Vec<&str> {
    cases.iter().map(|c| c.entry.case.id().as_str()).collect()
}

#[tokio::test]
async fn cases_are_visible_from_home_and_reporting_unit_and_paged() {
    for e in engines().await {
        let s = e.store.as_ref();
        // lives in 420102, reported in 420103
        simple_case(s, "A", "420102", "420103", day(1, 20)).await;
        simple_case(s, "B", "420104", "420104", day(1, 21)).await;
        simple_case(s, "C", "430000", "430000", day(1, 22)).await;
        let list = |p: &str| CaseFilter {
            path: p.to_owned(),
            limit: 100,
            ..CaseFilter::default()
        };
        for (p, want) in [
            (path("420102"), vec!["A"]),
            (path("420103"), vec!["A"]),
            (path("420104"), vec!["B"]),
            (WUHAN.to_owned(), vec!["A", "B"]),
            ("/000000/".to_owned(), vec!["A", "B", "C"]),
            (path("430000"), vec!["C"]),
        ] {
            let got = s.cases(&list(&p)).await.unwrap();
            assert_eq!(ids_of(&got), want, "{}: {p}", e.name);
        }
        // a path that is only a prefix of another's text is not its parent
        let got = s.cases(&list("/000000/42010/")).await.unwrap();
        assert!(got.is_empty(), "{}", e.name);

        let got = s
            .cases(&CaseFilter {
                reported_from: Some(day(1, 21)),
                reported_to: Some(day(1, 21)),
                ..list("/000000/")
            })
            .await
            .unwrap();
        assert_eq!(ids_of(&got), ["B"], "{}", e.name);

        for n in 1..=5 {
            simple_case(s, &format!("P-{n}"), "420102", "420102", day(1, 20)).await;
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .cases(&CaseFilter {
                    after: after.clone(),
                    limit: 2,
                    ..list(&path("420102"))
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 2);
            after = Some(page.last().unwrap().entry.case.id().clone());
            seen.extend(page.iter().map(|c| c.entry.case.id().as_str().to_owned()));
        }
        assert_eq!(seen, ["A", "P-1", "P-2", "P-3", "P-4", "P-5"], "{}", e.name);
    }
}

fn link(source: &str, exposure: Exposure, last: NaiveDate) -> ContactLink {
    ContactLink {
        source: case_id(source),
        exposure,
        last_exposure: last,
    }
}

fn reached(date: NaiveDate, celsius: f32, symptoms: &str) -> FollowUp {
    FollowUp {
        date,
        result: FollowUpResult::Reached {
            temperature: Temperature::new(celsius).unwrap(),
            symptoms: Symptoms::parse(symptoms).unwrap(),
        },
    }
}

fn contact_entry(contact: Contact, person_id: i64, home: &str, unit: &str) -> ContactEntry {
    ContactEntry {
        contact,
        person_id,
        reporting_unit: code(unit),
        home_path: path(home),
        report_path: path(unit),
        version: 1,
    }
}

/// A contact of `sources` living in `home`, registered on `registered`.
fn contact(
    id: &str,
    person: Person,
    links: Vec<ContactLink>,
    place: ObservationPlace,
    registered: NaiveDate,
) -> Contact {
    Contact::register(
        NewContact {
            id: contact_id(id),
            person,
            links,
            place,
            registered,
            period: ObservationPeriod::default(),
        },
        registered,
    )
    .unwrap()
}

#[tokio::test]
async fn contacts_with_follow_ups_and_conversion_read_back_equal() {
    for e in engines().await {
        let s = e.store.as_ref();
        simple_case(s, "A", "420102", "420102", day(1, 10)).await;
        simple_case(s, "B", "420103", "420103", day(1, 12)).await;
        let p = full_person("王芳", None, Some("13900000002"), "420104");
        let pid = persons(s, std::slice::from_ref(&p)).await[0];

        let site = ObservationPlace::Centralised {
            site: Place::parse("site", "如家酒店 (汉口站店)").unwrap(),
        };
        let mut k1 = contact(
            "MC-1",
            p.clone(),
            vec![
                link("A", Exposure::Household, day(1, 13)),
                link("B", Exposure::Work, day(1, 15)),
            ],
            site,
            day(1, 16),
        );
        k1.record_follow_up(reached(day(1, 16), 36.6, ""), day(1, 16))
            .unwrap();
        let e1 = contact_entry(k1.clone(), pid, "420104", "420102");
        let k2 = contact(
            "MC-2",
            Person::unknown(code("420102")),
            vec![link("A", Exposure::Transport, day(1, 14))],
            ObservationPlace::Home,
            day(1, 16),
        );
        let pid2 = persons(s, &[k2.person().clone()]).await[0];
        let e2 = contact_entry(k2, pid2, "420102", "420102");
        let keys = insert_contacts(s, &[e1.clone(), e2.clone()]).await;
        assert_eq!(keys, [1, 2], "{}: keys dense from 1", e.name);

        let got = s.contact(&contact_id("MC-1")).await.unwrap().unwrap();
        assert_eq!(got.key, 1);
        assert_eq!(got.entry, e1, "{}", e.name);
        let got = s.contact(&contact_id("MC-2")).await.unwrap().unwrap();
        assert_eq!(got.entry, e2, "{}", e.name);
        assert!(s.contact(&contact_id("nope")).await.unwrap().is_none());

        // two more days, a fever, then the conversion
        k1.record_follow_up(
            FollowUp {
                date: day(1, 17),
                result: FollowUpResult::NotReached,
            },
            day(1, 17),
        )
        .unwrap();
        k1.record_follow_up(reached(day(1, 18), 37.8, "cough;fatigue"), day(1, 18))
            .unwrap();
        let new_case = k1
            .convert_to_suspected(case_id("C"), code("420104"), day(1, 18), day(1, 18))
            .unwrap();
        let mut e1b = e1.clone();
        e1b.contact = k1.clone();
        e1b.version = 2;
        let case = Case::open(new_case, day(1, 18)).unwrap();
        let mut tx = s.begin().await.unwrap();
        tx.update_contact(&e1b).await.unwrap();
        tx.insert_cases(&[entry(case.clone(), pid, "420104")])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let got = s.contact(&contact_id("MC-1")).await.unwrap().unwrap();
        assert_eq!(got.entry, e1b, "{}", e.name);
        assert_eq!(got.entry.contact.follow_ups().len(), 3);
        assert_eq!(
            got.entry.contact.converted(),
            Some((&case_id("C"), day(1, 18)))
        );
        let got = s.case(&case_id("C")).await.unwrap().unwrap();
        assert_eq!(got.entry.case, case, "{}", e.name);
        assert_eq!(got.entry.case.source_cases(), [case_id("A"), case_id("B")]);

        // the same version again: someone else wrote it first
        let mut tx = s.begin().await.unwrap();
        let err = tx.update_contact(&e1b).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{}: {err:?}",
            e.name
        );
        drop(tx);

        let by_keys = s.contacts_by_keys(&[2, 1, 7]).await.unwrap();
        assert_eq!(by_keys.len(), 2, "{}", e.name);
        assert_eq!(by_keys[0].entry, e1b, "{}", e.name);
        assert_eq!(by_keys[1].entry, e2, "{}", e.name);
        let of_person = s.contacts_of_person(pid).await.unwrap();
        assert_eq!(of_person.len(), 1, "{}", e.name);
        assert_eq!(of_person[0].entry, e1b, "{}", e.name);
        let existing = s
            .existing_contacts(&[contact_id("MC-9"), contact_id("MC-2")])
            .await
            .unwrap();
        assert_eq!(existing, [contact_id("MC-2")], "{}", e.name);

        // a contact id already stored
        let mut tx = s.begin().await.unwrap();
        let err = tx
            .insert_contacts(std::slice::from_ref(&e2))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("MC-2")),
            "{}: {err:?}",
            e.name
        );
    }
}

#[tokio::test]
async fn the_observation_list_starts_on_registration_and_ends_before_release() {
    for e in engines().await {
        let s = e.store.as_ref();
        simple_case(s, "A", "420102", "420102", day(1, 10)).await;
        let p = Person::unknown(code("420102"));
        let pid = persons(s, std::slice::from_ref(&p)).await[0];
        // last exposure 14 January: released on 28 January
        let home = contact(
            "MC-H",
            p.clone(),
            vec![link("A", Exposure::Household, day(1, 14))],
            ObservationPlace::Home,
            day(1, 16),
        );
        assert_eq!(home.release_date(), day(1, 28));
        // converted on 18 January
        let mut conv = contact(
            "MC-C",
            p.clone(),
            vec![link("A", Exposure::Household, day(1, 14))],
            ObservationPlace::Home,
            day(1, 16),
        );
        conv.record_follow_up(reached(day(1, 17), 38.2, ""), day(1, 17))
            .unwrap();
        conv.convert_to_suspected(case_id("C"), code("420102"), day(1, 18), day(1, 18))
            .unwrap();
        // lives in Hunan, traced by 420103
        let far = contact(
            "MC-F",
            Person::unknown(code("430000")),
            vec![link("A", Exposure::Other, day(1, 14))],
            ObservationPlace::Home,
            day(1, 16),
        );
        insert_contacts(
            s,
            &[
                contact_entry(home, pid, "420102", "420102"),
                contact_entry(conv, pid, "420102", "420102"),
                contact_entry(far, pid, "430000", "420103"),
            ],
        )
        .await;
        let observed = |p: &str, d: NaiveDate| ContactFilter {
            path: p.to_owned(),
            observed_on: Some(d),
            after: None,
            limit: 100,
        };
        for (d, want) in [
            (day(1, 15), vec![]),
            (day(1, 16), vec!["MC-C", "MC-F", "MC-H"]),
            (day(1, 17), vec!["MC-C", "MC-F", "MC-H"]),
            (day(1, 18), vec!["MC-F", "MC-H"]),
            (day(1, 27), vec!["MC-F", "MC-H"]),
            (day(1, 28), vec![]),
        ] {
            let got = s.contacts(&observed("/000000/", d)).await.unwrap();
            let got: Vec<&str> = got.iter().map(|c| c.entry.contact.id().as_str()).collect();
            assert_eq!(got, want, "{}: {d}", e.name);
        }
        for (p, want) in [
            (path("420102"), vec!["MC-C", "MC-H"]),
            (path("420103"), vec!["MC-F"]),
            (path("430000"), vec!["MC-F"]),
            (path("420104"), vec![]),
        ] {
            let got = s
                .contacts(&ContactFilter {
                    path: p.clone(),
                    observed_on: None,
                    after: None,
                    limit: 100,
                })
                .await
                .unwrap();
            let got: Vec<&str> = got.iter().map(|c| c.entry.contact.id().as_str()).collect();
            assert_eq!(got, want, "{}: {p}", e.name);
        }
        let page = s
            .contacts(&ContactFilter {
                path: "/000000/".to_owned(),
                observed_on: None,
                after: Some(contact_id("MC-C")),
                limit: 1,
            })
            .await
            .unwrap();
        let got: Vec<&str> = page.iter().map(|c| c.entry.contact.id().as_str()).collect();
        assert_eq!(got, ["MC-F"], "{}", e.name);
    }
}

#[tokio::test]
async fn persons_are_matched_and_merged() {
    for e in engines().await {
        let s = e.store.as_ref();
        let zhang = full_person(
            "张伟",
            Some("42010219900101123"),
            Some("13800000001"),
            "420102",
        );
        let zhang2 = full_person("张伟", None, Some("13800000009"), "420103");
        let li = full_person("李娜", None, Some("13800000001"), "420104");
        let ids = persons(s, &[zhang.clone(), zhang2.clone(), li.clone()]).await;
        let (p1, p2, p3) = (ids[0], ids[1], ids[2]);

        let got = s.person(p1).await.unwrap().unwrap();
        assert_eq!(got.person, zhang, "{}", e.name);
        assert_eq!(got.home_path, path("420102"));
        assert_eq!(got.merged_into, None);
        assert!(s.person(9999).await.unwrap().is_none());

        let strings = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let id = zhang.id_number.as_ref().unwrap().reveal().to_owned();
        let matching = |got: Vec<fangkong_store::StoredPerson>| -> Vec<i64> {
            got.iter().map(|p| p.id).collect()
        };
        let by_id = s
            .persons_matching(std::slice::from_ref(&id), &[], &[])
            .await
            .unwrap();
        assert_eq!(matching(by_id), [p1], "{}", e.name);
        let by_phone = s
            .persons_matching(&[], &strings(&["13800000001"]), &[])
            .await
            .unwrap();
        assert_eq!(matching(by_phone), [p1, p3], "{}", e.name);
        let by_name = s
            .persons_matching(&[], &[], &strings(&["张伟", "nobody"]))
            .await
            .unwrap();
        assert_eq!(matching(by_name), [p1, p2], "{}", e.name);
        let all = s
            .persons_matching(
                std::slice::from_ref(&id),
                &strings(&["13800000001"]),
                &strings(&["张伟"]),
            )
            .await
            .unwrap();
        assert_eq!(matching(all), [p1, p2, p3], "{}", e.name);
        assert!(s.persons_matching(&[], &[], &[]).await.unwrap().is_empty());

        // a case and a contact of the second record
        let case = Case::open(
            new_case("Z-2", zhang2.clone(), "420103", day(1, 20)),
            day(1, 20),
        )
        .unwrap();
        insert_cases(s, &[entry(case, p2, "420103")]).await;
        let k = contact(
            "MC-Z",
            zhang2.clone(),
            vec![link("Z-2", Exposure::Household, day(1, 19))],
            ObservationPlace::Home,
            day(1, 20),
        );
        insert_contacts(s, &[contact_entry(k, p2, "420103", "420103")]).await;
        let case1 = Case::open(
            new_case("Z-1", zhang.clone(), "420102", day(1, 21)),
            day(1, 21),
        )
        .unwrap();
        insert_cases(s, &[entry(case1, p1, "420102")]).await;

        let mut tx = s.begin().await.unwrap();
        tx.merge_person(p1, p2).await.unwrap();
        tx.commit().await.unwrap();

        let merged = s.person(p2).await.unwrap().unwrap();
        assert_eq!(merged.merged_into, Some(p1), "{}", e.name);
        assert_eq!(merged.person, zhang2, "{}: the merged record stays", e.name);
        let cases = s.cases_of_person(p1).await.unwrap();
        let got: Vec<&str> = cases.iter().map(|c| c.entry.case.id().as_str()).collect();
        assert_eq!(got, ["Z-2", "Z-1"], "{}: oldest key first", e.name);
        assert!(s.cases_of_person(p2).await.unwrap().is_empty());
        let z2 = s.case(&case_id("Z-2")).await.unwrap().unwrap();
        assert_eq!(z2.entry.person_id, p1);
        assert_eq!(z2.entry.case.person(), &zhang, "{}: the kept data", e.name);
        let contacts = s.contacts_of_person(p1).await.unwrap();
        assert_eq!(contacts.len(), 1, "{}", e.name);
        assert_eq!(contacts[0].entry.contact.person(), &zhang, "{}", e.name);
        assert!(s.contacts_of_person(p2).await.unwrap().is_empty());

        // merged records are not candidates any more
        let by_name = s
            .persons_matching(&[], &[], &strings(&["张伟"]))
            .await
            .unwrap();
        assert_eq!(matching(by_name), [p1], "{}", e.name);

        // an update of the kept record shows in its cases
        let mut moved = zhang.clone();
        moved.phone = Some(Phone::parse("+86 139-0000-0003").unwrap());
        let mut tx = s.begin().await.unwrap();
        tx.update_person(p1, &new_person(&moved)).await.unwrap();
        tx.commit().await.unwrap();
        let z1 = s.case(&case_id("Z-1")).await.unwrap().unwrap();
        assert_eq!(z1.entry.case.person(), &moved, "{}", e.name);
    }
}

fn candidate(a: i64, b: i64, reason: MatchReason, score: f64) -> MatchCandidate {
    MatchCandidate {
        id: 0,
        a,
        b,
        reason,
        score,
        status: MatchStatus::Pending,
        found_at: at(8, 0),
        decided_by: None,
        decided_at: None,
    }
}

#[tokio::test]
async fn candidate_pairs_wait_for_a_decision() {
    for e in engines().await {
        let s = e.store.as_ref();
        let ids = persons(
            s,
            &[
                full_person("张伟", None, Some("13800000001"), "420102"),
                full_person("张玮", None, Some("13800000001"), "420102"),
                full_person("李娜", None, None, "430000"),
                full_person("李那", None, None, "430000"),
            ],
        )
        .await;
        let mut tx = s.begin().await.unwrap();
        tx.insert_match_candidates(&[
            candidate(ids[0], ids[1], MatchReason::NamePhone, 0.8),
            candidate(ids[2], ids[3], MatchReason::NameBirthYear, 0.75),
        ])
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // the same pair again is left as it is
        let mut tx = s.begin().await.unwrap();
        tx.insert_match_candidates(&[candidate(ids[0], ids[1], MatchReason::NameBirthYear, 0.5)])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let list = |p: &str, status: Option<MatchStatus>| MatchFilter {
            path: p.to_owned(),
            status,
            limit: 10,
        };
        let all = s.match_candidates(&list("/000000/", None)).await.unwrap();
        assert_eq!(all.len(), 2, "{}", e.name);
        let first = all[0].clone();
        assert_eq!(
            first,
            MatchCandidate {
                id: first.id,
                ..candidate(ids[0], ids[1], MatchReason::NamePhone, 0.8)
            },
            "{}",
            e.name
        );
        let wuhan = s.match_candidates(&list(WUHAN, None)).await.unwrap();
        assert_eq!(wuhan, std::slice::from_ref(&first), "{}", e.name);
        let hunan = s
            .match_candidates(&list(&path("430000"), Some(MatchStatus::Pending)))
            .await
            .unwrap();
        assert_eq!(hunan.len(), 1, "{}", e.name);
        assert_eq!((hunan[0].a, hunan[0].b), (ids[2], ids[3]), "{}", e.name);
        assert!(s
            .match_candidates(&list(&path("420104"), None))
            .await
            .unwrap()
            .is_empty());

        let mut tx = s.begin().await.unwrap();
        tx.decide_match(first.id, MatchStatus::Distinct, "reviewer", at(9, 30))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let decided = s.match_candidate(first.id).await.unwrap().unwrap();
        assert_eq!(decided.status, MatchStatus::Distinct, "{}", e.name);
        assert_eq!(decided.decided_by.as_deref(), Some("reviewer"));
        assert_eq!(decided.decided_at, Some(at(9, 30)), "{}", e.name);
        let pending = s
            .match_candidates(&list("/000000/", Some(MatchStatus::Pending)))
            .await
            .unwrap();
        assert_eq!(pending.len(), 1, "{}", e.name);
        assert_ne!(pending[0].id, first.id);
        let distinct = s
            .match_candidates(&list("/000000/", Some(MatchStatus::Distinct)))
            .await
            .unwrap();
        assert_eq!(distinct, [decided], "{}", e.name);
        assert!(s.match_candidate(9999).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn the_graph_rows_of_a_small_outbreak() {
    for e in engines().await {
        let s = e.store.as_ref();
        let empty = s.graph_rows().await.unwrap();
        assert_eq!(empty.1, GraphRows::default(), "{}", e.name);
        let g0 = s.graph_generation().await.unwrap();
        assert_eq!(empty.0, g0);

        let p = Person::unknown(code("420102"));
        let pid = persons(s, std::slice::from_ref(&p)).await[0];
        let open = |id: &str, onset: Option<NaiveDate>, sources: &[&str]| {
            let mut new = new_case(id, p.clone(), "420102", day(1, 20));
            new.onset = onset;
            new.source_cases = sources.iter().map(|s| case_id(s)).collect();
            entry(Case::open(new, day(1, 20)).unwrap(), pid, "420102")
        };
        // 1: A (index case); 2: B ← A; 3: C ← A, an unknown case, B
        insert_cases(
            s,
            &[
                open("A", Some(day(1, 5)), &[]),
                open("B", Some(day(1, 12)), &["A"]),
                open("C", None, &["A", "X-UNKNOWN", "B"]),
            ],
        )
        .await;
        let k = |id: &str, links: Vec<ContactLink>| {
            contact_entry(
                contact(id, p.clone(), links, ObservationPlace::Home, day(1, 18)),
                pid,
                "420102",
                "420102",
            )
        };
        let mut converted = k("K-1", vec![link("A", Exposure::Household, day(1, 14))]);
        converted
            .contact
            .record_follow_up(reached(day(1, 18), 38.0, ""), day(1, 18))
            .unwrap();
        let d_case = converted
            .contact
            .convert_to_suspected(case_id("D"), code("420102"), day(1, 19), day(1, 19))
            .unwrap();
        // 1: K-1 ← A, became D; 2: K-2 ← B and an unknown case; 3: K-3 ← C
        insert_contacts(
            s,
            &[
                converted,
                k(
                    "K-2",
                    vec![
                        link("B", Exposure::Work, day(1, 15)),
                        link("X-UNKNOWN", Exposure::Work, day(1, 15)),
                    ],
                ),
                k("K-3", vec![link("C", Exposure::Transport, day(1, 16))]),
            ],
        )
        .await;
        // 4: D ← A (from K-1)
        let d_key = insert_cases(
            s,
            &[entry(
                Case::open(d_case, day(1, 19)).unwrap(),
                pid,
                "420102",
            )],
        )
        .await[0];
        assert_eq!(d_key, 4);

        let mut tx = s.begin().await.unwrap();
        tx.bump_graph_generation().await.unwrap();
        tx.commit().await.unwrap();
        let g1 = s.graph_generation().await.unwrap();
        assert_eq!(g1, g0 + 1, "{}", e.name);
        // a bump that is not committed does not count
        let mut tx = s.begin().await.unwrap();
        tx.bump_graph_generation().await.unwrap();
        drop(tx);
        assert_eq!(s.graph_generation().await.unwrap(), g1, "{}", e.name);

        let (generation, mut rows) = s.graph_rows().await.unwrap();
        assert_eq!(generation, g1, "{}", e.name);
        rows.transmissions.sort();
        rows.exposures.sort();
        rows.conversions.sort();
        assert_eq!(
            rows,
            GraphRows {
                max_case_key: 4,
                max_contact_key: 3,
                transmissions: vec![
                    (1, 2, Some(day(1, 12))),
                    (1, 3, None),
                    (1, 4, Some(day(1, 18))),
                    (2, 3, None),
                ],
                exposures: vec![(1, 1, day(1, 14)), (2, 2, day(1, 15)), (3, 3, day(1, 16))],
                conversions: vec![(1, 4)],
            },
            "{}",
            e.name
        );
    }
}

#[tokio::test]
async fn a_dropped_transaction_leaves_nothing() {
    for e in engines().await {
        let s = e.store.as_ref();
        let p = full_person(
            "张伟",
            Some("42010219900101123"),
            Some("13800000001"),
            "420102",
        );
        let mut tx = s.begin().await.unwrap();
        let ids = tx.insert_persons(&[new_person(&p)]).await.unwrap();
        let case = Case::open(new_case("A", p.clone(), "420102", day(1, 20)), day(1, 20)).unwrap();
        tx.insert_cases(&[entry(case, ids[0], "420102")])
            .await
            .unwrap();
        let k = contact(
            "K",
            p.clone(),
            vec![link("A", Exposure::Household, day(1, 19))],
            ObservationPlace::Home,
            day(1, 20),
        );
        tx.insert_contacts(&[contact_entry(k, ids[0], "420102", "420102")])
            .await
            .unwrap();
        tx.insert_match_candidates(&[candidate(ids[0], ids[0] + 1, MatchReason::NamePhone, 0.8)])
            .await
            .unwrap();
        tx.bump_graph_generation().await.unwrap();
        drop(tx);

        assert!(s.person(ids[0]).await.unwrap().is_none(), "{}", e.name);
        assert!(s.case(&case_id("A")).await.unwrap().is_none(), "{}", e.name);
        assert!(
            s.contact(&contact_id("K")).await.unwrap().is_none(),
            "{}",
            e.name
        );
        assert!(s
            .match_candidates(&MatchFilter {
                path: "/000000/".to_owned(),
                status: None,
                limit: 10
            })
            .await
            .unwrap()
            .is_empty());
        let id = p.id_number.as_ref().unwrap().reveal().to_owned();
        assert!(s
            .persons_matching(&[id], &[], &[])
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            s.graph_rows().await.unwrap().1,
            GraphRows::default(),
            "{}",
            e.name
        );
    }
}

/// Bulk insert speed: `cargo test --release -p fangkong-store-tests --test
/// line_list -- --ignored --nocapture bulk`.
#[tokio::test]
#[ignore = "timing; run by hand in release mode"]
async fn bulk_insert_timing() {
    const CASES: usize = 100_000;
    const CONTACTS: usize = 500_000;
    const BATCH: usize = 50_000;
    for e in engines().await {
        let s = e.store.as_ref();
        let homes = ["420102", "420103", "420104"];
        // as the import's minimal columns give them (region, sex, age), or
        // with a name, an ID number and a phone each (LINE_LIST_FULL_PERSONS=1)
        let full = std::env::var("LINE_LIST_FULL_PERSONS").is_ok_and(|v| v == "1");
        let person = |i: usize| {
            if full {
                let mut p = full_person(
                    &format!("人{i}"),
                    None,
                    Some(&format!("138{:08}", (i * 7919) % 100_000_000)),
                    homes[i % 3],
                );
                p.id_number = Some(id_number(&format!(
                    "420102{:04}{:02}{:02}{:03}",
                    1930 + i % 80,
                    1 + (i / 80) % 12,
                    1 + (i / 960) % 28,
                    (i * 7) % 1000
                )));
                p
            } else {
                let mut p = Person::unknown(code(homes[i % 3]));
                p.sex = Sex::Female;
                p.age = Some(Age::new((i % 90) as i64).unwrap());
                p
            }
        };
        let mut in_store = [std::time::Duration::ZERO; 4];
        let timed = std::time::Instant::now;
        let start = std::time::Instant::now();
        let mut case_keys = 0;
        for b in 0..CASES / BATCH {
            let people: Vec<NewPerson> = (0..BATCH)
                .map(|i| new_person(&person(b * BATCH + i)))
                .collect();
            let t = timed();
            let mut tx = s.begin().await.unwrap();
            let ids = tx.insert_persons(&people).await.unwrap();
            in_store[0] += t.elapsed();
            let entries: Vec<CaseEntry> = people
                .into_iter()
                .zip(ids)
                .enumerate()
                .map(|(i, (np, id))| {
                    let n = b * BATCH + i;
                    let mut new = new_case(&format!("C{n:07}"), np.person, "420102", day(1, 20));
                    new.onset = Some(day(1, 15));
                    if n > 0 {
                        new.source_cases = vec![case_id(&format!("C{:07}", n / 2))];
                    }
                    let case = Case::open(new, day(1, 20))
                        .unwrap()
                        .apply(CaseEvent::Confirm { date: day(1, 21) }, day(1, 21))
                        .unwrap();
                    entry(case, id, "420102")
                })
                .collect();
            let t = timed();
            case_keys += tx.insert_cases(&entries).await.unwrap().len();
            tx.commit().await.unwrap();
            in_store[1] += t.elapsed();
        }
        let cases_done = start.elapsed();
        let mut contact_keys = 0;
        for b in 0..CONTACTS / BATCH {
            let people: Vec<NewPerson> = (0..BATCH)
                .map(|i| new_person(&person(CASES + b * BATCH + i)))
                .collect();
            let t = timed();
            let mut tx = s.begin().await.unwrap();
            let ids = tx.insert_persons(&people).await.unwrap();
            in_store[2] += t.elapsed();
            let entries: Vec<ContactEntry> = people
                .into_iter()
                .zip(ids)
                .enumerate()
                .map(|(i, (np, id))| {
                    let n = b * BATCH + i;
                    let mut k = contact(
                        &format!("K{n:07}"),
                        np.person,
                        vec![link(
                            &format!("C{:07}", n % CASES),
                            Exposure::Household,
                            day(1, 14),
                        )],
                        ObservationPlace::Home,
                        day(1, 16),
                    );
                    for d in 16..19 {
                        k.record_follow_up(reached(day(1, d), 36.5, ""), day(1, d))
                            .unwrap();
                    }
                    contact_entry(k, id, "420102", "420102")
                })
                .collect();
            let t = timed();
            contact_keys += tx.insert_contacts(&entries).await.unwrap().len();
            tx.commit().await.unwrap();
            in_store[3] += t.elapsed();
        }
        let all = start.elapsed();
        let contacts_done = all - cases_done;
        println!(
            "{}: {case_keys} cases (+ persons, 1 event, 1 source) in {:.2} s = {:.0}/s; \
             {contact_keys} contacts (+ persons, 1 link, 3 follow-ups) in {:.2} s = {:.0}/s",
            e.name,
            cases_done.as_secs_f64(),
            CASES as f64 / cases_done.as_secs_f64(),
            contacts_done.as_secs_f64(),
            CONTACTS as f64 / contacts_done.as_secs_f64(),
        );
        println!(
            "{} ({}): in the store: {:.2} s for {} persons of cases, {:.2} s for the cases, \
             {:.2} s for {} persons of contacts, {:.2} s for the contacts",
            e.name,
            if full {
                "full persons"
            } else {
                "minimal persons"
            },
            in_store[0].as_secs_f64(),
            CASES,
            in_store[1].as_secs_f64(),
            in_store[2].as_secs_f64(),
            CONTACTS,
            in_store[3].as_secs_f64()
        );
        let t = std::time::Instant::now();
        let (_, rows) = s.graph_rows().await.unwrap();
        println!(
            "{}: graph rows ({} transmissions, {} exposures) in {:.2} s",
            e.name,
            rows.transmissions.len(),
            rows.exposures.len(),
            t.elapsed().as_secs_f64()
        );
    }
}

#[tokio::test]
async fn a_bulk_load_drops_the_person_indexes_and_builds_them_again() {
    for e in engines().await {
        let s = e.store.as_ref();
        let zhang = full_person(
            "张伟",
            Some("42010219900101123"),
            Some("13800000001"),
            "420102",
        );
        let li = full_person("李娜", None, Some("13800000002"), "420104");
        let wang = full_person("王芳", Some("42010419850505123"), None, "420104");
        let p1 = persons(s, std::slice::from_ref(&zhang)).await[0];
        assert_eq!(s.person_count().await.unwrap(), 1, "{}", e.name);
        let key = zhang.id_number.as_ref().unwrap().key();
        assert_eq!(key, 42010219900101123, "{}", e.name);
        assert_eq!(
            s.person_id_number_keys().await.unwrap(),
            [(key, p1)],
            "{}",
            e.name
        );
        assert!(s.contact_ids().await.unwrap().is_empty(), "{}", e.name);
        let strings = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let ids = |got: Vec<fangkong_store::StoredPerson>| -> Vec<i64> {
            got.iter().map(|p| p.id).collect()
        };

        // suspended: the transaction still finds its own records
        let mut tx = s.begin().await.unwrap();
        let dropped = tx.suspend_line_list_indexes().await.unwrap();
        assert!(dropped >= 3, "{}: {dropped} indexes", e.name);
        // ids drawn in bulk are still nobody else's
        let drawn = tx.reserve_person_ids(2).await.unwrap();
        assert_eq!(drawn.len(), 2, "{}", e.name);
        assert!(
            drawn[0] > p1 && drawn[1] > drawn[0],
            "{}: {drawn:?}",
            e.name
        );
        let made = tx
            .insert_persons(&[new_person(&li), new_person(&wang)])
            .await
            .unwrap();
        assert!(made[0] > drawn[1], "{}: {made:?} after {drawn:?}", e.name);
        let phones = strings(&["13800000001", "13800000002"]);
        let found = tx.persons_matching(&[], &phones, &[]).await.unwrap();
        assert_eq!(ids(found), [p1, made[0]], "{}", e.name);
        tx.restore_indexes().await.unwrap();
        let wang_id = wang.id_number.as_ref().unwrap().reveal().to_owned();
        let found = tx
            .persons_matching(std::slice::from_ref(&wang_id), &[], &strings(&["李娜"]))
            .await
            .unwrap();
        assert_eq!(ids(found), made, "{}", e.name);
        tx.commit().await.unwrap();
        assert_eq!(
            ids(s.persons_matching(&[], &phones, &[]).await.unwrap()),
            [p1, made[0]],
            "{}",
            e.name
        );
        let mut keys = s.person_id_number_keys().await.unwrap();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [(key, p1), (wang.id_number.as_ref().unwrap().key(), made[1])],
            "{}",
            e.name
        );
        assert_eq!(s.person_count().await.unwrap(), 3, "{}", e.name);

        // the same indexes are there after a restore, a rollback, and a
        // commit that was not told to restore
        for end in ["rollback", "commit"] {
            let mut tx = s.begin().await.unwrap();
            let again = tx.suspend_line_list_indexes().await.unwrap();
            assert_eq!(again, dropped, "{}: before the {end}", e.name);
            tx.insert_persons(&[new_person(&Person::unknown(code("420102")))])
                .await
                .unwrap();
            if end == "commit" {
                tx.commit().await.unwrap();
            } else {
                drop(tx);
            }
        }
        let mut tx = s.begin().await.unwrap();
        assert_eq!(
            tx.suspend_line_list_indexes().await.unwrap(),
            dropped,
            "{}: after the commit",
            e.name
        );
        drop(tx);
        assert_eq!(s.person_count().await.unwrap(), 4, "{}", e.name);

        // contact ids
        let k = contact(
            "BULK-1",
            li.clone(),
            vec![link("X-1", Exposure::Household, day(1, 19))],
            ObservationPlace::Home,
            day(1, 20),
        );
        insert_contacts(s, &[contact_entry(k, made[0], "420104", "420104")]).await;
        let got: Vec<String> = s
            .contact_ids()
            .await
            .unwrap()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        assert_eq!(got, ["BULK-1"], "{}", e.name);
        assert!(s.case_ids().await.unwrap().is_empty(), "{}", e.name);
        simple_case(s, "BULK-C", "420102", "420102", day(1, 20)).await;
        let got: Vec<String> = s
            .case_ids()
            .await
            .unwrap()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        assert_eq!(got, ["BULK-C"], "{}", e.name);
    }
}

#[tokio::test]
async fn person_ids_drawn_beforehand_are_nobody_elses() {
    for e in engines().await {
        let s = e.store.as_ref();
        let li = full_person("李娜", None, Some("13800000002"), "420104");
        let wang = full_person("王芳", Some("42010419850505123"), None, "420104");
        let first = persons(s, std::slice::from_ref(&li)).await[0];

        let mut tx = s.begin().await.unwrap();
        let drawn = tx.reserve_person_ids(3).await.unwrap();
        assert_eq!(drawn.len(), 3, "{}", e.name);
        assert!(drawn.iter().all(|id| *id > first), "{}: {drawn:?}", e.name);
        let mut distinct = drawn.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 3, "{}: {drawn:?}", e.name);
        // records made the usual way in the same transaction take others
        let other = tx.insert_persons(&[new_person(&li)]).await.unwrap();
        assert!(
            !drawn.contains(&other[0]),
            "{}: {other:?} in {drawn:?}",
            e.name
        );
        // two of the three used, in another order than drawn
        tx.insert_persons_as(&[drawn[2], drawn[0]], &[new_person(&wang), new_person(&li)])
            .await
            .unwrap();
        let refused = tx.insert_persons_as(&drawn[..1], &[]).await;
        assert!(refused.is_err(), "{}: one id for no record", e.name);
        tx.commit().await.unwrap();

        let stored = s.person(drawn[2]).await.unwrap().expect("stored");
        assert_eq!(stored.person, wang, "{}", e.name);
        assert_eq!(
            s.person(drawn[0]).await.unwrap().unwrap().person,
            li,
            "{}",
            e.name
        );
        assert!(s.person(drawn[1]).await.unwrap().is_none(), "{}", e.name);
        assert_eq!(s.person_count().await.unwrap(), 4, "{}", e.name);
        // a later transaction does not hand out the unused one either
        let later = persons(s, std::slice::from_ref(&li)).await[0];
        assert!(later > drawn[2], "{}: {later} after {drawn:?}", e.name);
    }
}
