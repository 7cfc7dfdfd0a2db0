//! The line list on PostgreSQL: what the shared contract suite
//! (`crates/fangkong-store-tests/tests/line_list.rs`) does not show — bulk
//! insert speed at benchmark scale (`--ignored`) — and a few quick checks of
//! round trips, conflicts and the graph's rows.
//! Without a server the tests are skipped with a warning (failed under CI).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};

use fangkong_domain::case::{
    Age, Case, CaseEvent, CaseId, Classification, Facility, IdNumber, NewCase, Origin, Person,
    PersonName, Phone, Place, Severity, Sex,
};
use fangkong_domain::contact::{
    Contact, ContactId, ContactLink, Exposure, FollowUp, FollowUpResult, NewContact,
    ObservationPeriod, ObservationPlace, Symptoms, Temperature,
};
use fangkong_domain::matching::{MatchReason, MatchStatus};
use fangkong_domain::region::RegionCode;
use fangkong_store::{
    CaseEntry, CaseFilter, CaseStore, ContactEntry, ContactFilter, MatchCandidate, MatchFilter,
    NewPerson, Store, StoreError,
};
use fangkong_store_postgres::testing::fresh_database;
use fangkong_store_postgres::PgStore;

async fn store() -> Option<PgStore> {
    let url = fresh_database().await?;
    Some(PgStore::connect(&url).await.expect("connect and migrate"))
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(u64::from(d) - 1)
}

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

fn path(county: &str) -> String {
    format!("/000000/420000/420100/{county}/")
}

fn person(county: &str, name: &str) -> NewPerson {
    let mut p = Person::unknown(code(county));
    p.name = Some(PersonName::parse(name).unwrap());
    NewPerson {
        person: p,
        home_path: path(county),
    }
}

fn new_case(id: &str, person: &Person, sources: &[&str]) -> NewCase {
    NewCase {
        id: CaseId::parse(id).unwrap(),
        person: person.clone(),
        reporting_unit: code("420103"),
        origin: Origin::Local,
        place_of_exposure: Some(Place::parse("place_of_exposure", "华南海鲜市场").unwrap()),
        onset: Some(day(10)),
        first_visit: Some(day(12)),
        report: day(14),
        source_cases: sources.iter().map(|s| CaseId::parse(s).unwrap()).collect(),
        from_contact: None,
    }
}

fn entry(case: Case, person_id: i64, county: &str) -> CaseEntry {
    CaseEntry {
        case,
        person_id,
        home_path: path(county),
        report_path: path("420103"),
    }
}

fn contact_entry(contact: Contact, person_id: i64, county: &str) -> ContactEntry {
    ContactEntry {
        contact,
        person_id,
        reporting_unit: code("420103"),
        home_path: path(county),
        report_path: path("420103"),
        version: 1,
    }
}

fn new_contact(id: &str, person: &Person, sources: &[(&str, u32)]) -> NewContact {
    NewContact {
        id: ContactId::parse(id).unwrap(),
        person: person.clone(),
        links: sources
            .iter()
            .map(|(s, d)| ContactLink {
                source: CaseId::parse(s).unwrap(),
                exposure: Exposure::Household,
                last_exposure: day(*d),
            })
            .collect(),
        place: ObservationPlace::Centralised {
            site: Place::parse("site", "汉口宾馆").unwrap(),
        },
        registered: day(15),
        period: ObservationPeriod::default(),
    }
}

#[tokio::test]
async fn cases_and_contacts_round_trip() {
    let Some(store) = store().await else { return };
    let mut tx = store.begin().await.unwrap();
    let mut full = Person::unknown(code("420102"));
    full.name = Some(PersonName::parse("张伟").unwrap());
    full.id_number = Some(IdNumber::parse("11010519491231002X").unwrap());
    full.sex = Sex::Male;
    full.age = Some(Age::new(70).unwrap());
    full.phone = Some(Phone::parse("13800138000").unwrap());
    full.address = Some(Place::parse("address", "江岸区某路1号").unwrap());
    let ids = tx
        .insert_persons(&[
            NewPerson {
                person: full.clone(),
                home_path: path("420102"),
            },
            person("420104", "李娜"),
            person("420104", "王芳"),
        ])
        .await
        .unwrap();
    assert_eq!(ids, [1, 2, 3]);

    let a = Case::open(new_case("HB-1", &full, &[]), day(14)).unwrap();
    let a = a
        .apply(CaseEvent::Confirm { date: day(15) }, day(15))
        .unwrap();
    let a = a
        .apply(
            CaseEvent::Admit {
                facility: Facility {
                    region: code("420102"),
                    name: Place::parse("facility_name", "金银潭医院").unwrap(),
                },
                date: day(15),
            },
            day(15),
        )
        .unwrap();
    let a = a
        .apply(
            CaseEvent::SetSeverity {
                severity: Severity::Severe,
                date: day(16),
            },
            day(16),
        )
        .unwrap();
    let b_person = {
        let mut p = Person::unknown(code("420104"));
        p.name = Some(PersonName::parse("李娜").unwrap());
        p
    };
    let b = Case::open(new_case("HB-2", &b_person, &["HB-1", "HB-9"]), day(16)).unwrap();
    let keys = tx
        .insert_cases(&[
            entry(a.clone(), ids[0], "420102"),
            entry(b.clone(), ids[1], "420104"),
        ])
        .await
        .unwrap();
    assert_eq!(keys, [1, 2]);
    // a duplicate is a conflict naming it, and the transaction goes on
    match tx.insert_cases(&[entry(b.clone(), ids[1], "420104")]).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("HB-2"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut c_person = Person::unknown(code("420104"));
    c_person.name = Some(PersonName::parse("王芳").unwrap());
    let mut contact = Contact::register(
        new_contact("C-1", &c_person, &[("HB-1", 14), ("HB-2", 12)]),
        day(15),
    )
    .unwrap();
    contact
        .record_follow_up(
            FollowUp {
                date: day(16),
                result: FollowUpResult::Reached {
                    temperature: Temperature::new(37.6).unwrap(),
                    symptoms: Symptoms::parse("cough;fatigue").unwrap(),
                },
            },
            day(16),
        )
        .unwrap();
    contact
        .record_follow_up(
            FollowUp {
                date: day(17),
                result: FollowUpResult::NotReached,
            },
            day(17),
        )
        .unwrap();
    let contact_keys = tx
        .insert_contacts(&[contact_entry(contact.clone(), ids[2], "420104")])
        .await
        .unwrap();
    assert_eq!(contact_keys, [1]);
    tx.commit().await.unwrap();

    let got = store
        .case(&CaseId::parse("HB-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.key, 1);
    assert_eq!(got.entry, entry(a.clone(), ids[0], "420102"));
    let got = store.cases_by_keys(&[2, 1, 7]).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].entry.case, b);
    let got = store
        .contact(&ContactId::parse("C-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.entry, contact_entry(contact.clone(), ids[2], "420104"));

    // visibility: home or reporting unit in the subtree
    let filter = |county: &str| CaseFilter {
        path: path(county),
        limit: 10,
        ..CaseFilter::default()
    };
    let ids_of = |cases: Vec<fangkong_store::StoredCase>| -> Vec<String> {
        cases
            .into_iter()
            .map(|c| c.entry.case.id().to_string())
            .collect()
    };
    assert_eq!(
        ids_of(store.cases(&filter("420102")).await.unwrap()),
        ["HB-1"]
    );
    assert_eq!(
        ids_of(store.cases(&filter("420103")).await.unwrap()),
        ["HB-1", "HB-2"]
    );
    let confirmed = CaseFilter {
        classification: Some(Classification::Confirmed),
        after: None,
        ..filter("420103")
    };
    assert_eq!(ids_of(store.cases(&confirmed).await.unwrap()), ["HB-1"]);
    let after = CaseFilter {
        after: Some(CaseId::parse("HB-1").unwrap()),
        ..filter("420103")
    };
    assert_eq!(ids_of(store.cases(&after).await.unwrap()), ["HB-2"]);
    let observed = |d: u32| ContactFilter {
        path: path("420104"),
        observed_on: Some(day(d)),
        after: None,
        limit: 10,
    };
    assert_eq!(store.contacts(&observed(15)).await.unwrap().len(), 1);
    assert_eq!(store.contacts(&observed(14)).await.unwrap().len(), 0);
    // released on 14 + 14 = day 28
    assert_eq!(store.contacts(&observed(27)).await.unwrap().len(), 1);
    assert_eq!(store.contacts(&observed(28)).await.unwrap().len(), 0);
    assert_eq!(
        store
            .existing_cases(&[
                CaseId::parse("HB-2").unwrap(),
                CaseId::parse("HB-7").unwrap(),
                CaseId::parse("HB-1").unwrap()
            ])
            .await
            .unwrap(),
        [
            CaseId::parse("HB-2").unwrap(),
            CaseId::parse("HB-1").unwrap()
        ]
    );

    // optimistic versions
    let a2 = a
        .apply(CaseEvent::Discharge { date: day(20) }, day(20))
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    match tx
        .update_case(&entry(a2.clone(), ids[0], "420102"), 3)
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains("HB-1"), "{m}"),
        other => panic!("{other:?}"),
    }
    tx.update_case(&entry(a2.clone(), ids[0], "420102"), a.version())
        .await
        .unwrap();
    let mut converted = contact.clone();
    let new = converted
        .convert_to_suspected(
            CaseId::parse("HB-3").unwrap(),
            code("420103"),
            day(17),
            day(17),
        )
        .unwrap();
    let mut update = contact_entry(converted.clone(), ids[2], "420104");
    update.version = 3;
    assert!(matches!(
        tx.update_contact(&update).await,
        Err(StoreError::Conflict(_))
    ));
    update.version = 2;
    tx.update_contact(&update).await.unwrap();
    let c3 = Case::open(new, day(17)).unwrap();
    tx.insert_cases(&[entry(c3, ids[2], "420104")])
        .await
        .unwrap();
    tx.bump_graph_generation().await.unwrap();
    tx.commit().await.unwrap();
    let got = store.case(a.id()).await.unwrap().unwrap();
    assert_eq!(got.entry.case, a2);
    let got = store.contact(converted.id()).await.unwrap().unwrap();
    assert_eq!(got.entry, update);
    assert_eq!(store.contacts(&observed(17)).await.unwrap().len(), 0);
    assert_eq!(store.contacts(&observed(16)).await.unwrap().len(), 1);

    // the graph: HB-9 is unknown and left out
    let (generation, rows) = store.graph_rows().await.unwrap();
    assert_eq!(generation, 2);
    assert_eq!(store.graph_generation().await.unwrap(), 2);
    assert_eq!(rows.max_case_key, 3);
    assert_eq!(rows.max_contact_key, 1);
    // the converted case HB-3 keeps the contact's sources, with onset at the fever
    assert_eq!(
        rows.transmissions,
        [
            (1, 2, Some(day(10))),
            (1, 3, Some(day(16))),
            (2, 3, Some(day(16)))
        ]
    );
    assert_eq!(rows.exposures, [(1, 1, day(14)), (2, 1, day(12))]);
    assert_eq!(rows.conversions, [(1, 3)]);

    // people: matching, merging, candidate pairs
    let found = store
        .persons_matching(
            &[],
            &["13800138000".into()],
            &["王芳".into(), "无名".into()],
        )
        .await
        .unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 3]);
    let mut tx = store.begin().await.unwrap();
    let at = Utc.with_ymd_and_hms(2020, 1, 20, 8, 0, 0).unwrap();
    tx.insert_match_candidates(&[MatchCandidate {
        id: 0,
        a: 3,
        b: 2,
        reason: MatchReason::NameBirthYear,
        score: 0.75,
        status: MatchStatus::Pending,
        found_at: at,
        decided_by: None,
        decided_at: None,
    }])
    .await
    .unwrap();
    tx.merge_person(2, 3).await.unwrap();
    let pairs = {
        // read inside the transaction's effects only after commit
        tx.decide_match(1, MatchStatus::Merged, "admin", at)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store
            .match_candidates(&MatchFilter {
                path: path("420104"),
                status: None,
                limit: 10,
            })
            .await
            .unwrap()
    };
    assert_eq!(pairs.len(), 1);
    assert_eq!((pairs[0].a, pairs[0].b), (2, 3));
    assert_eq!(pairs[0].status, MatchStatus::Merged);
    assert_eq!(pairs[0].decided_by.as_deref(), Some("admin"));
    let merged = store.person(3).await.unwrap().unwrap();
    assert_eq!(merged.merged_into, Some(2));
    let of_two = store.cases_of_person(2).await.unwrap();
    assert_eq!(
        of_two
            .iter()
            .map(|c| c.entry.case.id().to_string())
            .collect::<Vec<_>>(),
        ["HB-2", "HB-3"]
    );
    // the case now carries the kept record's person data
    assert_eq!(
        of_two[1]
            .entry
            .case
            .person()
            .name
            .as_ref()
            .unwrap()
            .as_str(),
        "李娜"
    );
    assert_eq!(store.contacts_of_person(2).await.unwrap().len(), 1);
    let found = store
        .persons_matching(&[], &[], &["王芳".into()])
        .await
        .unwrap();
    assert!(found.is_empty());
}

/// Bulk insert at a tenth of the benchmark: 100,000 cases and 500,000
/// contacts, each with its person, contacts with a link and three
/// follow-ups, 50,000 entries per call.
/// `cargo test --release -p fangkong-store-postgres --test line_list_pg -- --ignored --nocapture`
#[tokio::test]
#[ignore]
async fn bulk_insert_speed() {
    let Some(store) = store().await else { return };
    let cases_n: usize = std::env::var("FK_BULK_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let contacts_n = cases_n * 5;
    let counties = ["420102", "420103", "420104", "420105", "420106"];
    let persons = |n: usize, offset: usize| -> Vec<NewPerson> {
        (0..n)
            .map(|i| {
                let county = counties[(i + offset) % counties.len()];
                let mut p = Person::unknown(code(county));
                p.sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
                p.age = Some(Age::new((i % 90) as i64).unwrap());
                NewPerson {
                    person: p,
                    home_path: path(county),
                }
            })
            .collect()
    };
    let started = Instant::now();
    let mut tx = store.begin().await.unwrap();
    let mut encode = std::time::Duration::ZERO;
    let mut rows = 0usize;
    for start in (0..cases_n).step_by(50_000) {
        let n = 50_000.min(cases_n - start);
        let people = persons(n, start);
        let ids = tx.insert_persons(&people).await.unwrap();
        let t = Instant::now();
        let entries: Vec<CaseEntry> = (0..n)
            .map(|i| {
                let p = &people[i].person;
                let mut new = new_case(&format!("HB-{:07}", start + i), p, &[]);
                if start + i > 0 {
                    new.source_cases =
                        vec![CaseId::parse(&format!("HB-{:07}", (start + i) / 2)).unwrap()];
                }
                let case = Case::open(new, day(14)).unwrap();
                let case = if i % 2 == 0 {
                    case.apply(CaseEvent::Confirm { date: day(15) }, day(15))
                        .unwrap()
                } else {
                    case
                };
                rows += 2 + case.history().len();
                entry(case, ids[i], counties[(start + i) % counties.len()])
            })
            .collect();
        encode += t.elapsed();
        tx.insert_cases(&entries).await.unwrap();
        rows += n;
    }
    let cases_done = started.elapsed();
    for start in (0..contacts_n).step_by(50_000) {
        let n = 50_000.min(contacts_n - start);
        let people = persons(n, start);
        let ids = tx.insert_persons(&people).await.unwrap();
        let t = Instant::now();
        let entries: Vec<ContactEntry> = (0..n)
            .map(|i| {
                let p = &people[i].person;
                let source = format!("HB-{:07}", (start + i) / 5);
                let mut c = Contact::register(
                    new_contact(&format!("C-{:08}", start + i), p, &[(&source, 14)]),
                    day(15),
                )
                .unwrap();
                for d in 16..19 {
                    c.record_follow_up(
                        FollowUp {
                            date: day(d),
                            result: FollowUpResult::Reached {
                                temperature: Temperature::new(36.5).unwrap(),
                                symptoms: Symptoms::none(),
                            },
                        },
                        day(d),
                    )
                    .unwrap();
                }
                rows += 6;
                contact_entry(c, ids[i], counties[(start + i) % counties.len()])
            })
            .collect();
        encode += t.elapsed();
        tx.insert_contacts(&entries).await.unwrap();
    }
    let t = Instant::now();
    tx.commit().await.unwrap();
    let commit = t.elapsed();
    let total = started.elapsed();
    let stored = total - encode;
    println!(
        "bulk insert: {cases_n} cases + {contacts_n} contacts ({rows} rows) in {total:.2?} \
         (building domain values {encode:.2?}, cases part {cases_done:.2?}, commit {commit:.2?}); \
         storage {:.0} entries/s, {:.0} rows/s",
        (2 * (cases_n + contacts_n)) as f64 / stored.as_secs_f64(),
        rows as f64 / stored.as_secs_f64(),
    );
    let t = Instant::now();
    let (_, graph) = store.graph_rows().await.unwrap();
    println!(
        "graph rows: {} transmissions, {} exposures in {:.2?}",
        graph.transmissions.len(),
        graph.exposures.len(),
        t.elapsed()
    );
    assert_eq!(graph.exposures.len(), contacts_n);
    assert_eq!(graph.transmissions.len(), cases_n - 1);
    let t = Instant::now();
    let page = store
        .contacts(&ContactFilter {
            path: path("420102"),
            observed_on: Some(day(20)),
            after: None,
            limit: 500,
        })
        .await
        .unwrap();
    println!("a county's observation page (500) in {:.2?}", t.elapsed());
    assert_eq!(page.len(), 500);
}
