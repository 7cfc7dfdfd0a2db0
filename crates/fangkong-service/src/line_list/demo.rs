//! The demo's line list: a transmission tree that starts with a case exposed
//! at a market in Jianghan district (江汉区) and spreads across Wuhan's
//! districts, so the demo has a cluster that crosses counties; every case
//! with its close contacts, their daily follow-ups (a few not reached, a
//! few with fever and converted into suspected cases), and today's
//! follow-ups still partly to do. Every value passes the domain's rules:
//! the cases are built through the state machine, the contacts through
//! registration and follow-up. Deterministic for a seed.

use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use fangkong_domain::case::{
    Age, Case, CaseEvent, CaseId, Facility, IdNumber, NewCase, Origin, Person, PersonName, Phone,
    Place, Severity, Sex,
};
use fangkong_domain::contact::{
    Contact, ContactId, ContactLink, Exposure, FollowUp, FollowUpResult, NewContact,
    ObservationPeriod, ObservationPlace, Symptom, Symptoms, Temperature,
};
use fangkong_domain::region::{Level, Region};
use fangkong_store::{CaseEntry, ContactEntry};

use super::persons::{Incoming, PersonResolver};
use crate::audit::append_audit;
use crate::{Principal, Result, Service};

/// What the demo's line list holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoLineList {
    pub cases: usize,
    pub contacts: usize,
    pub follow_ups: usize,
    pub converted: usize,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "晓东", "雪梅", "志强",
];
const ROADS: &[&str] = &[
    "解放大道",
    "中山大道",
    "建设大道",
    "发展大道",
    "武珞路",
    "珞喻路",
    "汉阳大道",
    "和平大道",
];
const HOSPITALS: &[(&str, &str)] = &[
    ("420112", "金银潭医院"),
    ("420106", "武汉大学人民医院"),
    ("420103", "武汉市中心医院"),
    ("420104", "武汉市第一医院"),
    ("420102", "武汉市第八医院"),
];
/// Cases in the tree at most.
const MAX_CASES: usize = 240;

struct Tree {
    rng: StdRng,
    counties: Vec<Region>,
    first: NaiveDate,
    today: NaiveDate,
    serial: u32,
}

impl Tree {
    fn person(&mut self, home: &Region, on: NaiveDate) -> Person {
        let rng = &mut self.rng;
        let sex = if rng.gen::<bool>() {
            Sex::Male
        } else {
            Sex::Female
        };
        let age = rng.gen_range(3..88);
        let name = format!(
            "{}{}",
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
            GIVEN[rng.gen_range(0..GIVEN.len())]
        );
        // an ID number for most: the home county, the birth date, a serial
        // whose last digit is odd for men
        let id_number = (rng.gen::<f64>() < 0.85)
            .then(|| {
                let born = NaiveDate::from_ymd_opt(on.year() - age, rng.gen_range(1..=12), 1)?
                    + Duration::days(rng.gen_range(0..28));
                let mut serial = rng.gen_range(0..500) * 2;
                if sex == Sex::Male {
                    serial += 1;
                }
                let body = format!(
                    "{}{}{:03}",
                    home.code.as_str(),
                    born.format("%Y%m%d"),
                    serial % 1000
                );
                let check = IdNumber::check_char(body.as_bytes())?;
                IdNumber::parse(&format!("{body}{}", check as char)).ok()
            })
            .flatten();
        // a mobile number: 1, a two-digit carrier prefix, eight digits
        let phone = Phone::parse(&format!(
            "1{}{:08}",
            rng.gen_range(30..90),
            rng.gen_range(0..100_000_000u32)
        ))
        .ok();
        let address = Place::parse(
            "address",
            &format!(
                "{}{}号",
                ROADS[rng.gen_range(0..ROADS.len())],
                rng.gen_range(1..900)
            ),
        )
        .ok();
        Person {
            name: PersonName::parse(&name).ok(),
            id_number,
            sex,
            age: Age::new(i64::from(age)).ok(),
            phone,
            address,
            home_region: home.code.clone(),
        }
    }

    fn county(&mut self, near: &Region) -> Region {
        // most infections stay in the district; some cross to another
        if self.rng.gen::<f64>() < 0.7 || self.counties.len() < 2 {
            near.clone()
        } else {
            self.counties[self.rng.gen_range(0..self.counties.len())].clone()
        }
    }

    fn day(&self, offset: i64) -> NaiveDate {
        self.first + Duration::days(offset)
    }

    /// A case through the state machine: reported, confirmed, perhaps
    /// severe, admitted, and by today perhaps discharged or dead. An event
    /// the rules refuse is left out.
    fn case(&mut self, new: NewCase) -> Option<Case> {
        let today = self.today;
        let report = new.report;
        let onset = new.onset.unwrap_or(report);
        let mut case = Case::open(new, today).ok()?;
        let rng = &mut self.rng;
        let confirm = report + Duration::days(rng.gen_range(0..3));
        if confirm > today || rng.gen::<f64>() < 0.06 {
            return Some(case);
        }
        let hospital = HOSPITALS[rng.gen_range(0..HOSPITALS.len())];
        let facility = Facility {
            region: fangkong_domain::region::RegionCode::parse(hospital.0).ok()?,
            name: Place::parse("facility", hospital.1).ok()?,
        };
        let mut events = vec![
            CaseEvent::Confirm { date: confirm },
            CaseEvent::Admit {
                facility,
                date: confirm,
            },
        ];
        let severe = rng.gen::<f64>();
        if severe < 0.18 {
            events.push(CaseEvent::SetSeverity {
                severity: if severe < 0.05 {
                    Severity::Critical
                } else {
                    Severity::Severe
                },
                date: confirm + Duration::days(rng.gen_range(1..5)),
            });
        } else {
            events.push(CaseEvent::SetSeverity {
                severity: Severity::Mild,
                date: confirm,
            });
        }
        let end = rng.gen::<f64>();
        if end < 0.04 && severe < 0.18 {
            events.push(CaseEvent::Die {
                date: onset + Duration::days(rng.gen_range(12..22)),
            });
        } else {
            events.push(CaseEvent::Discharge {
                date: onset + Duration::days(rng.gen_range(14..24)),
            });
        }
        for event in events {
            if event.date() > today {
                break;
            }
            if let Ok(next) = case.apply(event, today) {
                case = next;
            }
        }
        Some(case)
    }

    fn case_id(&mut self) -> Option<CaseId> {
        self.serial += 1;
        CaseId::parse(&format!("WH-{:04}", self.serial)).ok()
    }
}

impl Service {
    /// Generates and stores the demo's line list over the days from `first`
    /// to today, in one transaction.
    pub async fn generate_demo_line_list(
        &self,
        who: &Principal,
        source_county: &str,
        city: &str,
        first: NaiveDate,
        grid_village: Option<&str>,
    ) -> Result<DemoLineList> {
        let today = self.today();
        let city = self.region(city).await?;
        let counties: Vec<Region> = self
            .store
            .regions_at_level(&city.path, Level::County)
            .await?;
        let source = self.region(source_county).await?;
        // a grid worker's community: a share of the source county's contacts live there
        let village = match grid_village {
            Some(code) if !code.is_empty() => Some(self.region(code).await?),
            _ => None,
        };
        let mut tree = Tree {
            rng: StdRng::seed_from_u64(20_200_123),
            counties,
            first,
            today,
            serial: 0,
        };

        // the transmission tree, breadth first: (case, home county, onset offset)
        let mut cases: Vec<(Case, Region)> = Vec::new();
        let mut queue: std::collections::VecDeque<(CaseId, Region, i64, usize)> =
            std::collections::VecDeque::new();
        let span = (today - first).num_days();
        let make = |tree: &mut Tree,
                    home: Region,
                    onset: i64,
                    sources: Vec<CaseId>,
                    exposure: Option<&str>|
         -> Option<(Case, Region)> {
            let id = tree.case_id()?;
            let onset_day = tree.day(onset);
            let report = (onset_day + Duration::days(tree.rng.gen_range(1..4))).min(today);
            let unit = if tree.rng.gen::<f64>() < 0.85 {
                home.clone()
            } else {
                tree.county(&home)
            };
            let new = NewCase {
                id,
                person: tree.person(&home, onset_day),
                reporting_unit: unit.code.clone(),
                origin: Origin::Local,
                place_of_exposure: exposure.and_then(|e| Place::parse("place_of_exposure", e).ok()),
                onset: Some(onset_day),
                first_visit: Some(report),
                report,
                source_cases: sources,
                from_contact: None,
            };
            tree.case(new).map(|c| (c, unit))
        };
        if let Some((index, unit)) = make(
            &mut tree,
            source.clone(),
            1,
            vec![],
            Some("华南海鲜市场 Huanan seafood market"),
        ) {
            queue.push_back((index.id().clone(), source.clone(), 1, 0));
            cases.push((index, unit));
        }
        while let Some((id, home, onset, generation)) = queue.pop_front() {
            if cases.len() >= MAX_CASES {
                break;
            }
            // R falls from about 2.6 to 0.6 once control starts (day 16)
            let r = if onset < 16 { 2.6 } else { 0.6 };
            // the first generations always spread, so the tree never dies out early
            let offspring = poisson_small(&mut tree.rng, r).max(if generation < 3 { 2 } else { 0 });
            for _ in 0..offspring {
                let next = onset + tree.rng.gen_range(3..8);
                if next >= span - 1 || cases.len() >= MAX_CASES {
                    continue;
                }
                let at = tree.county(&home);
                if let Some((case, unit)) =
                    make(&mut tree, at.clone(), next, vec![id.clone()], None)
                {
                    queue.push_back((case.id().clone(), at, next, generation + 1));
                    cases.push((case, unit));
                }
            }
        }

        // close contacts of every case, followed up each day
        let mut contacts: Vec<(Contact, Region, Region)> = Vec::new();
        let mut converted: Vec<(Case, Region)> = Vec::new();
        let mut follow_ups = 0;
        let mut serial = 0;
        for (case, unit) in &cases {
            let n = tree.rng.gen_range(2..7);
            let registered = case.dates().report;
            for _ in 0..n {
                serial += 1;
                let Ok(id) = ContactId::parse(&format!("MJ-{serial:05}")) else {
                    continue;
                };
                let home_code = case.person().home_region.clone();
                let home = self.region(home_code.as_str()).await?;
                let home = match &village {
                    Some(v) if home.code == source.code && tree.rng.gen::<f64>() < 0.3 => v.clone(),
                    _ => tree.county(&home),
                };
                let last = registered - Duration::days(tree.rng.gen_range(0..3));
                let exposure = [
                    Exposure::Household,
                    Exposure::Household,
                    Exposure::Work,
                    Exposure::Transport,
                    Exposure::Healthcare,
                    Exposure::Other,
                ][tree.rng.gen_range(0..6)];
                let centralised = tree.rng.gen::<f64>() < 0.4;
                let place = if centralised {
                    Place::parse("site", "江汉区集中隔离点（如家酒店）")
                        .map(|site| ObservationPlace::Centralised { site })
                        .unwrap_or(ObservationPlace::Home)
                } else {
                    ObservationPlace::Home
                };
                let person = tree.person(&home, registered);
                let Ok(mut contact) = Contact::register(
                    NewContact {
                        id,
                        person,
                        links: vec![ContactLink {
                            source: case.id().clone(),
                            exposure,
                            last_exposure: last,
                        }],
                        place,
                        registered,
                        period: ObservationPeriod::default(),
                    },
                    today,
                ) else {
                    continue;
                };
                let fever_on = (tree.rng.gen::<f64>() < 0.05)
                    .then(|| registered + Duration::days(tree.rng.gen_range(1..8)));
                let mut day = registered;
                while contact.is_under_observation(day) && day <= today {
                    // today's round is under way: some are still to do
                    if day == today && tree.rng.gen::<f64>() < 0.4 {
                        break;
                    }
                    let result = if Some(day) == fever_on {
                        let mut symptoms = Symptoms::none();
                        symptoms.insert(Symptom::Cough);
                        reached(38.1, symptoms)
                    } else if tree.rng.gen::<f64>() < 0.05 {
                        FollowUpResult::NotReached
                    } else {
                        let t = 36.0 + f32::from(tree.rng.gen_range(0u8..12)) / 10.0;
                        reached(t, Symptoms::none())
                    };
                    if contact
                        .record_follow_up(FollowUp { date: day, result }, today)
                        .is_ok()
                    {
                        follow_ups += 1;
                    }
                    if Some(day) == fever_on {
                        let new = tree.case_id().and_then(|case_id| {
                            contact
                                .convert_to_suspected(case_id, unit.code.clone(), day, today)
                                .ok()
                        });
                        if let Some(new) = new {
                            if let Ok(c) = Case::open(new, today) {
                                converted.push((c, unit.clone()));
                            }
                        }
                        break;
                    }
                    day += Duration::days(1);
                }
                contacts.push((contact, home, unit.clone()));
            }
        }
        let summary = DemoLineList {
            cases: cases.len() + converted.len(),
            contacts: contacts.len(),
            follow_ups,
            converted: converted.len(),
        };

        // persons, then cases and contacts, in one transaction
        let mut tx = self.store.begin().await?;
        let mut resolver = PersonResolver::default();
        let mut all_cases: Vec<(Case, Region)> = cases;
        all_cases.extend(converted);
        let mut incoming = Vec::with_capacity(all_cases.len() + contacts.len());
        let mut homes = Vec::with_capacity(all_cases.len());
        for (case, _) in &all_cases {
            let home = self.region(case.person().home_region.as_str()).await?;
            incoming.push(Incoming {
                person: case.person().clone(),
                home_path: home.path.clone(),
                recorded_on: case.dates().report,
            });
            homes.push(home);
        }
        for (contact, home, _) in &contacts {
            incoming.push(Incoming {
                person: contact.person().clone(),
                home_path: home.path.clone(),
                recorded_on: contact.registered(),
            });
        }
        let ids = resolver
            .resolve(self.store.as_ref(), tx.as_mut(), incoming)
            .await?;
        // a converted contact and its case are one person
        let mut by_contact = std::collections::HashMap::new();
        let (case_ids, contact_ids) = ids.split_at(all_cases.len());
        let entries: Vec<CaseEntry> = all_cases
            .into_iter()
            .zip(homes)
            .zip(case_ids)
            .map(|(((case, unit), home), &person_id)| CaseEntry {
                case,
                person_id,
                home_path: home.path,
                report_path: unit.path,
            })
            .collect();
        let contact_entries: Vec<ContactEntry> = contacts
            .into_iter()
            .zip(contact_ids)
            .map(|((contact, home, unit), &person_id)| {
                if let Some((case, _)) = contact.converted() {
                    by_contact.insert(case.clone(), person_id);
                }
                ContactEntry {
                    contact,
                    person_id,
                    reporting_unit: unit.code.clone(),
                    home_path: home.path,
                    report_path: unit.path,
                    version: 1,
                }
            })
            .collect();
        let entries: Vec<CaseEntry> = entries
            .into_iter()
            .map(|mut e| {
                if let Some(&p) = by_contact.get(e.case.id()) {
                    e.person_id = p;
                }
                e
            })
            .collect();
        tx.insert_cases(&entries).await?;
        tx.insert_contacts(&contact_entries).await?;
        resolver.finish(tx.as_mut()).await?;
        tx.bump_graph_generation().await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "demo.line_list",
            "line_list",
            city.code.as_str(),
            None,
            Some(json!({
                "cases": summary.cases,
                "contacts": summary.contacts,
                "follow_ups": summary.follow_ups,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }
}

/// A reached follow-up (a temperature out of range reads as not reached).
fn reached(celsius: f32, symptoms: Symptoms) -> FollowUpResult {
    match Temperature::new(celsius) {
        Ok(temperature) => FollowUpResult::Reached {
            temperature,
            symptoms,
        },
        Err(_) => FollowUpResult::NotReached,
    }
}

/// A Poisson draw with a small mean (Knuth).
fn poisson_small(rng: &mut StdRng, mean: f64) -> u32 {
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = rng.gen::<f64>();
    while p > limit && k < 50 {
        k += 1;
        p *= rng.gen::<f64>();
    }
    k
}
