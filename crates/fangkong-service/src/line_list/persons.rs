//! One person, one record: matching people as cases and contacts come in,
//! and the review list of pairs that may be one person.
//!
//! On entry and on import each person is resolved to a person record
//! ([`PersonResolver`]): a record with the same ID number — stored, or made
//! earlier in the same import — *is* the person; otherwise a new record is
//! made and compared ([`fangkong_domain::matching::compare`]) with the
//! records that share its exact name or phone. Pairs the rules call
//! candidates wait in the review list; a reviewer merges them (the newer
//! record into the older, which keeps every case and contact of both and
//! takes the details it lacked) or marks them distinct. Nothing is merged
//! without a decision but an equal ID number.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::json;

use fangkong_domain::case::{CaseId, IdNumber, Person};
use fangkong_domain::contact::ContactId;
use fangkong_domain::matching::{compare, MatchStatus, Record, Verdict};
use fangkong_domain::report::now_millis;
use fangkong_domain::FieldError;
use fangkong_store::{MatchCandidate, MatchFilter, NewPerson, Store, StoredPerson, WriteTx};

use super::require_line_list;
use crate::audit::append_audit;
use crate::{Principal, Result, Service, ServiceError};

/// At most this many candidate pairs are listed for one new record.
const MAX_CANDIDATES_PER_RECORD: usize = 10;
/// A new record is compared with at most this many earlier records of the
/// same import that share its name or phone (the latest ones): a common name
/// must not make an import quadratic.
const MAX_EARLIER_PER_KEY: usize = 32;

/// An ID number as a number: its 17 digits (the check character follows
/// from them), so a million people take 16 bytes each, not a string.
fn id_key(id: &IdNumber) -> u64 {
    id.reveal()
        .bytes()
        .take(17)
        .fold(0u64, |n, b| n * 10 + u64::from(b.wrapping_sub(b'0') % 10))
}

/// A person to resolve: the data, the path of the home region, and the day
/// the record was made (for reading a birth year from an age).
pub(crate) struct Incoming {
    pub person: Person,
    pub home_path: String,
    pub recorded_on: NaiveDate,
}

/// Resolves people to person records across the batches of one import (or
/// one entry), remembering the records it made.
#[derive(Default)]
pub(crate) struct PersonResolver {
    by_id_number: HashMap<u64, i64>,
    /// Records made here that have a name or a phone, for matching later ones.
    made: Vec<(i64, Person, NaiveDate)>,
    by_phone: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    /// Candidate pairs found so far (`id` unset).
    pub candidates: Vec<MatchCandidate>,
}

impl PersonResolver {
    /// The person record of each incoming person, in order, making the
    /// records that do not exist yet inside `tx`.
    pub async fn resolve(
        &mut self,
        store: &dyn Store,
        tx: &mut dyn WriteTx,
        batch: Vec<Incoming>,
    ) -> Result<Vec<i64>> {
        let mut id_numbers = Vec::new();
        let mut phones = Vec::new();
        let mut names = Vec::new();
        for p in &batch {
            if let Some(n) = &p.person.id_number {
                if !self.by_id_number.contains_key(&id_key(n)) {
                    id_numbers.push(n.reveal().to_owned());
                }
            } else {
                phones.extend(p.person.phone.as_ref().map(|x| x.as_str().to_owned()));
                names.extend(p.person.name.as_ref().map(|x| x.as_str().to_owned()));
            }
        }
        let stored = if id_numbers.is_empty() && phones.is_empty() && names.is_empty() {
            Vec::new()
        } else {
            store.persons_matching(&id_numbers, &phones, &names).await?
        };
        for s in &stored {
            if let Some(n) = &s.person.id_number {
                self.by_id_number.entry(id_key(n)).or_insert(s.id);
            }
        }

        // which incoming people need a new record: the first of each ID number
        let mut ids: Vec<Option<i64>> = Vec::with_capacity(batch.len());
        let mut new_rows = Vec::new();
        let mut new_of: Vec<usize> = Vec::new();
        let mut pending: HashMap<u64, usize> = HashMap::new();
        for (i, p) in batch.iter().enumerate() {
            let key = p.person.id_number.as_ref().map(id_key);
            match key.and_then(|k| self.by_id_number.get(&k)) {
                Some(id) => ids.push(Some(*id)),
                None => {
                    ids.push(None);
                    match key.and_then(|k| pending.get(&k)) {
                        Some(&row) => new_of.push(row),
                        None => {
                            if let Some(k) = key {
                                pending.insert(k, new_rows.len());
                            }
                            new_of.push(new_rows.len());
                            new_rows.push(i);
                        }
                    }
                }
            }
        }
        let rows: Vec<NewPerson> = new_rows
            .iter()
            .map(|&i| NewPerson {
                person: batch[i].person.clone(),
                home_path: batch[i].home_path.clone(),
            })
            .collect();
        let made = if rows.is_empty() {
            Vec::new()
        } else {
            tx.insert_persons(&rows).await?
        };
        let mut next_new = new_of.into_iter();
        let mut out = Vec::with_capacity(batch.len());
        for id in ids {
            match id {
                Some(id) => out.push(id),
                None => {
                    let row = next_new.next().unwrap_or_default();
                    out.push(made.get(row).copied().unwrap_or_default());
                }
            }
        }

        for (row, &i) in new_rows.iter().enumerate() {
            let Some(&id) = made.get(row) else { continue };
            let incoming = &batch[i];
            if let Some(n) = &incoming.person.id_number {
                self.by_id_number.insert(id_key(n), id);
                continue;
            }
            self.match_new(id, incoming, &stored);
        }
        Ok(out)
    }

    /// Compares a new record without an ID number with the stored records
    /// and those made earlier that share its name or phone.
    fn match_new(&mut self, id: i64, incoming: &Incoming, stored: &[StoredPerson]) {
        let person = &incoming.person;
        let phone = person.phone.as_ref().map(|p| p.as_str().to_owned());
        let name = person.name.as_ref().map(|n| n.as_str().to_owned());
        if phone.is_none() && name.is_none() {
            return;
        }
        let this = Record {
            person,
            recorded_on: incoming.recorded_on,
        };
        let mut found = 0;
        let mut consider = |other_id: i64, other: Record<'_>, out: &mut Vec<MatchCandidate>| {
            if found >= MAX_CANDIDATES_PER_RECORD || other_id == id {
                return;
            }
            if let Verdict::Candidate { reason, score } = compare(other, this) {
                found += 1;
                out.push(MatchCandidate {
                    id: 0,
                    a: other_id.min(id),
                    b: other_id.max(id),
                    reason,
                    score,
                    status: MatchStatus::Pending,
                    found_at: now_millis(),
                    decided_by: None,
                    decided_at: None,
                });
            }
        };
        for s in stored {
            let shares = (phone.is_some()
                && s.person.phone.as_ref().map(|p| p.as_str()) == phone.as_deref())
                || (name.is_some()
                    && s.person.name.as_ref().map(|n| n.as_str()) == name.as_deref());
            if shares && s.merged_into.is_none() {
                let other = Record {
                    person: &s.person,
                    recorded_on: incoming.recorded_on,
                };
                consider(s.id, other, &mut self.candidates);
            }
        }
        let mut earlier: Vec<usize> = Vec::new();
        if let Some(p) = &phone {
            earlier.extend(self.by_phone.get(p).into_iter().flatten());
        }
        if let Some(n) = &name {
            earlier.extend(self.by_name.get(n).into_iter().flatten());
        }
        earlier.sort_unstable();
        earlier.dedup();
        for i in earlier {
            let (other_id, other, on) = &self.made[i];
            let other = Record {
                person: other,
                recorded_on: *on,
            };
            consider(*other_id, other, &mut self.candidates);
        }
        let index = self.made.len();
        self.made.push((id, person.clone(), incoming.recorded_on));
        for (map, key) in [(&mut self.by_phone, phone), (&mut self.by_name, name)] {
            if let Some(key) = key {
                let list = map.entry(key).or_default();
                if list.len() == MAX_EARLIER_PER_KEY {
                    list.remove(0);
                }
                list.push(index);
            }
        }
    }

    /// Stores the candidate pairs found.
    pub async fn finish(self, tx: &mut dyn WriteTx) -> Result<usize> {
        let n = self.candidates.len();
        if n > 0 {
            tx.insert_match_candidates(&self.candidates).await?;
        }
        Ok(n)
    }
}

/// A person record as one principal may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonView {
    pub id: i64,
    /// The person's data; `None` outside the principal's jurisdiction.
    pub person: Option<Person>,
    pub merged_into: Option<i64>,
    pub cases: Vec<CaseId>,
    pub contacts: Vec<ContactId>,
}

/// A candidate pair with both records.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateView {
    pub candidate: MatchCandidate,
    pub a: PersonView,
    pub b: PersonView,
}

impl Service {
    async fn person_view(&self, who: &Principal, id: i64) -> Result<PersonView> {
        let stored = self
            .store
            .person(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("person {id}")))?;
        let cases = self.store.cases_of_person(id).await?;
        let contacts = self.store.contacts_of_person(id).await?;
        let covers = stored.home_path.starts_with(&who.region.path)
            || cases
                .iter()
                .any(|c| c.entry.report_path.starts_with(&who.region.path))
            || contacts
                .iter()
                .any(|c| c.entry.report_path.starts_with(&who.region.path));
        Ok(PersonView {
            id,
            person: covers.then_some(stored.person),
            merged_into: stored.merged_into,
            cases: cases
                .into_iter()
                .map(|c| c.entry.case.id().clone())
                .collect(),
            contacts: contacts
                .into_iter()
                .map(|c| c.entry.contact.id().clone())
                .collect(),
        })
    }

    /// The review list: candidate pairs with a person in the principal's
    /// jurisdiction, oldest first.
    pub async fn match_candidates(
        &self,
        who: &Principal,
        status: Option<MatchStatus>,
        limit: u32,
    ) -> Result<Vec<CandidateView>> {
        require_line_list(who)?;
        let pairs = self
            .store
            .match_candidates(&MatchFilter {
                path: who.region.path.clone(),
                status,
                limit: limit.clamp(1, 1000),
            })
            .await?;
        let mut out = Vec::with_capacity(pairs.len());
        for candidate in pairs {
            let a = self.person_view(who, candidate.a).await?;
            let b = self.person_view(who, candidate.b).await?;
            out.push(CandidateView { candidate, a, b });
        }
        Ok(out)
    }

    /// Decides a candidate pair: `merged` merges the newer record into the
    /// older (which takes the details it lacked), `distinct` keeps both.
    /// Both records must be in the principal's jurisdiction.
    pub async fn decide_match(
        &self,
        who: &Principal,
        id: i64,
        decision: MatchStatus,
    ) -> Result<CandidateView> {
        require_line_list(who)?;
        if decision == MatchStatus::Pending {
            return Err(FieldError::new("decision", "decide merged or distinct").into());
        }
        let pair = self
            .store
            .match_candidate(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("candidate pair {id}")))?;
        let a = self.person_view(who, pair.a).await?;
        let b = self.person_view(who, pair.b).await?;
        let (Some(pa), Some(pb)) = (&a.person, &b.person) else {
            if a.person.is_none() && b.person.is_none() {
                return Err(ServiceError::NotFound(format!("candidate pair {id}")));
            }
            return Err(ServiceError::Forbidden(
                "one of the two records is outside your jurisdiction".into(),
            ));
        };
        if pair.status != MatchStatus::Pending {
            return Err(ServiceError::Conflict(format!(
                "candidate pair {id} is {} already",
                pair.status
            )));
        }
        if a.merged_into.is_some() || b.merged_into.is_some() {
            return Err(ServiceError::Conflict(format!(
                "a record of candidate pair {id} was merged since"
            )));
        }
        let mut tx = self.store.begin().await?;
        let at = now_millis();
        if decision == MatchStatus::Merged {
            let kept = fill_in(pa, pb);
            let home_path = self
                .store
                .person(pair.a)
                .await?
                .map(|p| p.home_path)
                .unwrap_or_default();
            tx.update_person(
                pair.a,
                &NewPerson {
                    person: kept,
                    home_path,
                },
            )
            .await?;
            tx.merge_person(pair.a, pair.b).await?;
        }
        tx.decide_match(id, decision, &who.username, at).await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "person.match",
            "person_match",
            &id.to_string(),
            None,
            Some(json!({
                "a": pair.a, "b": pair.b, "decision": decision.name(),
                "reason": pair.reason.name(),
            })),
        )
        .await?;
        tx.commit().await?;
        let candidate = self
            .store
            .match_candidate(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("candidate pair {id}")))?;
        let a = self.person_view(who, candidate.a).await?;
        let b = self.person_view(who, candidate.b).await?;
        Ok(CandidateView { candidate, a, b })
    }
}

/// The kept record with each detail it lacks taken from the merged one.
fn fill_in(kept: &Person, merged: &Person) -> Person {
    let mut p = kept.clone();
    p.name = p.name.or_else(|| merged.name.clone());
    p.id_number = p.id_number.or_else(|| merged.id_number.clone());
    p.age = p.age.or(merged.age);
    p.phone = p.phone.or_else(|| merged.phone.clone());
    p.address = p.address.or_else(|| merged.address.clone());
    if p.sex == fangkong_domain::case::Sex::Unknown {
        p.sex = merged.sex;
    }
    p
}
