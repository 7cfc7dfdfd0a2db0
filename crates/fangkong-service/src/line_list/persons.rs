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

use crate::audit::append_audit;
use crate::{Principal, Result, Service, ServiceError};
use fangkong_domain::policy::Action;

/// At most this many candidate pairs are listed for one new record.
const MAX_CANDIDATES_PER_RECORD: usize = 10;
/// A new record is compared with at most this many earlier records of the
/// same import that share its name or phone (the latest ones): a common name
/// must not make an import quadratic.
const MAX_EARLIER_PER_KEY: usize = 32;

/// After a bulk import, records made without an ID number are compared with
/// the stored ones this many at a time.
const DEFERRED_CHUNK: usize = 20_000;

/// A person to resolve: the data, the path of the home region, and the day
/// the record was made (for reading a birth year from an age).
pub(crate) struct Incoming {
    pub person: Person,
    pub home_path: String,
    pub recorded_on: NaiveDate,
}

/// Stored records by phone and by exact name, to find those a new record
/// shares one with without comparing it with all of them.
struct StoredKeys<'a> {
    by_phone: HashMap<&'a str, Vec<&'a StoredPerson>>,
    by_name: HashMap<&'a str, Vec<&'a StoredPerson>>,
}

impl<'a> StoredKeys<'a> {
    /// The unmerged records among `stored` that `keep` keeps.
    fn new(stored: &'a [StoredPerson], keep: impl Fn(&StoredPerson) -> bool) -> Self {
        let mut keys = StoredKeys {
            by_phone: HashMap::new(),
            by_name: HashMap::new(),
        };
        for s in stored.iter().filter(|s| s.merged_into.is_none() && keep(s)) {
            if let Some(p) = &s.person.phone {
                keys.by_phone.entry(p.as_str()).or_default().push(s);
            }
            if let Some(n) = &s.person.name {
                keys.by_name.entry(n.as_str()).or_default().push(s);
            }
        }
        keys
    }

    /// The records sharing the person's phone or name, each once, oldest first.
    fn sharing(&self, person: &Person) -> Vec<&'a StoredPerson> {
        let mut out: Vec<&'a StoredPerson> = Vec::new();
        if let Some(p) = &person.phone {
            out.extend(self.by_phone.get(p.as_str()).into_iter().flatten());
        }
        if let Some(n) = &person.name {
            out.extend(self.by_name.get(n.as_str()).into_iter().flatten());
        }
        out.sort_by_key(|s| s.id);
        out.dedup_by_key(|s| s.id);
        out
    }
}

/// The candidate pair of two records, if the rules call them one.
fn candidate(a: i64, a_record: Record<'_>, b: i64, b_record: Record<'_>) -> Option<MatchCandidate> {
    if a == b {
        return None;
    }
    match compare(a_record, b_record) {
        Verdict::Candidate { reason, score } => Some(MatchCandidate {
            id: 0,
            a: a.min(b),
            b: a.max(b),
            reason,
            score,
            status: MatchStatus::Pending,
            found_at: now_millis(),
            decided_by: None,
            decided_at: None,
        }),
        _ => None,
    }
}

/// New person records to write, with the ids they were given.
pub(crate) struct NewRecords {
    pub ids: Vec<i64>,
    pub rows: Vec<NewPerson>,
}

/// A batch's people: those stored or made earlier (`ids`), and the first
/// of each new person (`new_rows`, indexes into the batch; `new_of` names
/// the new record of each person with no id yet).
pub(crate) struct Plan {
    stored: Vec<StoredPerson>,
    ids: Vec<Option<i64>>,
    new_rows: Vec<usize>,
    new_of: Vec<usize>,
}

impl Plan {
    /// How many new records the batch needs.
    pub fn new_records(&self) -> usize {
        self.new_rows.len()
    }
}

/// Resolves people to person records across the batches of one import (or
/// one entry), remembering the records it made.
#[derive(Default)]
pub(crate) struct PersonResolver {
    /// ID numbers ([`IdNumber::key`]) and their records: those stored that
    /// batches asked for (or all of them, once preloaded), and those made here.
    by_id_number: HashMap<u64, i64>,
    /// Records made here that have a name or a phone, for matching later ones.
    made: Vec<(i64, Person, NaiveDate)>,
    by_phone: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    /// Candidate pairs found so far (`id` unset).
    pub candidates: Vec<MatchCandidate>,
    /// Set by [`PersonResolver::preload`]: batches do not ask the store.
    preloaded: bool,
    /// Records made without an ID number since then, waiting for
    /// [`PersonResolver::match_deferred`] to compare them with stored ones.
    deferred: Vec<(i64, Person, NaiveDate)>,
    /// The first record made here: later ones were made by this import
    /// (or by one running beside it).
    first_made: Option<i64>,
}

impl PersonResolver {
    /// For a bulk import: takes every stored ID number at once, so that no
    /// batch asks the store again; records without an ID number are compared
    /// with the stored ones by [`PersonResolver::match_deferred`], once the
    /// store's indexes are back.
    pub fn preload(&mut self, keys: Vec<(u64, i64)>) {
        self.by_id_number.reserve(keys.len());
        for (key, id) in keys {
            // one ID number on two unmerged records: the older is the person
            let kept = self.by_id_number.entry(key).or_insert(id);
            *kept = (*kept).min(id);
        }
        self.preloaded = true;
    }

    /// The person record of each incoming person, in order, making the
    /// records that do not exist yet inside `tx`.
    pub async fn resolve(
        &mut self,
        store: &dyn Store,
        tx: &mut dyn WriteTx,
        batch: Vec<Incoming>,
    ) -> Result<Vec<i64>> {
        let plan = self.plan(store, &batch).await?;
        let ids = tx.reserve_person_ids(plan.new_rows.len()).await?;
        let (out, made) = self.settle(plan, batch, &ids);
        tx.insert_persons_as(&made.ids, &made.rows).await?;
        Ok(out)
    }

    /// Which incoming people are stored (or made earlier here) and which
    /// need a new record: the first of each ID number. Needs no transaction,
    /// so an import can plan a batch while the last is written; the plan is
    /// settled ([`PersonResolver::settle`]) before the next is made.
    pub async fn plan(&mut self, store: &dyn Store, batch: &[Incoming]) -> Result<Plan> {
        let mut id_numbers = Vec::new();
        let mut phones = Vec::new();
        let mut names = Vec::new();
        if !self.preloaded {
            for p in batch {
                if let Some(n) = &p.person.id_number {
                    if !self.by_id_number.contains_key(&n.key()) {
                        id_numbers.push(n.reveal().to_owned());
                    }
                } else {
                    phones.extend(p.person.phone.as_ref().map(|x| x.as_str().to_owned()));
                    names.extend(p.person.name.as_ref().map(|x| x.as_str().to_owned()));
                }
            }
        }
        let stored = if id_numbers.is_empty() && phones.is_empty() && names.is_empty() {
            Vec::new()
        } else {
            store.persons_matching(&id_numbers, &phones, &names).await?
        };
        for s in &stored {
            if let Some(n) = &s.person.id_number {
                self.by_id_number.entry(n.key()).or_insert(s.id);
            }
        }

        let mut ids: Vec<Option<i64>> = Vec::with_capacity(batch.len());
        let mut new_rows = Vec::new();
        let mut new_of: Vec<usize> = Vec::new();
        let mut pending: HashMap<u64, usize> = HashMap::new();
        for (i, p) in batch.iter().enumerate() {
            let key = p.person.id_number.as_ref().map(IdNumber::key);
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
        Ok(Plan {
            stored,
            ids,
            new_rows,
            new_of,
        })
    }

    /// Gives the new records of `plan` the `made` ids (one each, in order)
    /// and remembers them for the people after; returns the record of each
    /// incoming person and the records to write.
    pub fn settle(
        &mut self,
        plan: Plan,
        batch: Vec<Incoming>,
        made: &[i64],
    ) -> (Vec<i64>, NewRecords) {
        let Plan {
            stored,
            ids,
            new_rows,
            new_of,
        } = plan;
        if let Some(&first) = made.first() {
            self.first_made.get_or_insert(first);
        }
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

        let keys = StoredKeys::new(&stored, |_| true);
        for (row, &i) in new_rows.iter().enumerate() {
            let Some(&id) = made.get(row) else { continue };
            let incoming = &batch[i];
            if let Some(n) = &incoming.person.id_number {
                self.by_id_number.insert(n.key(), id);
                continue;
            }
            self.match_new(id, incoming, &keys);
            let person = &incoming.person;
            if self.preloaded && (person.phone.is_some() || person.name.is_some()) {
                self.deferred
                    .push((id, person.clone(), incoming.recorded_on));
            }
        }
        drop(keys);
        // the records to write take the incoming people's data
        let mut batch: Vec<Option<Incoming>> = batch.into_iter().map(Some).collect();
        let rows = new_rows
            .iter()
            .filter_map(|&i| batch[i].take())
            .map(|p| NewPerson {
                person: p.person,
                home_path: p.home_path,
            })
            .collect();
        (
            out,
            NewRecords {
                ids: made[..new_rows.len().min(made.len())].to_vec(),
                rows,
            },
        )
    }

    /// Compares a new record without an ID number with the stored records
    /// and those made earlier that share its name or phone.
    fn match_new(&mut self, id: i64, incoming: &Incoming, stored: &StoredKeys<'_>) {
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
        for s in stored.sharing(person) {
            if found == MAX_CANDIDATES_PER_RECORD {
                break;
            }
            let other = Record {
                person: &s.person,
                recorded_on: incoming.recorded_on,
            };
            if let Some(c) = candidate(s.id, other, id, this) {
                found += 1;
                self.candidates.push(c);
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
            if found == MAX_CANDIDATES_PER_RECORD {
                break;
            }
            let (other_id, other, on) = &self.made[i];
            let other = Record {
                person: other,
                recorded_on: *on,
            };
            if let Some(c) = candidate(*other_id, other, id, this) {
                found += 1;
                self.candidates.push(c);
            }
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

    /// After a preloaded import, with the store's indexes back: compares the
    /// records made without an ID number with the stored records (made
    /// before this import) that share a phone or a name, as each batch does
    /// otherwise.
    pub async fn match_deferred(&mut self, tx: &mut dyn WriteTx) -> Result<()> {
        let deferred = std::mem::take(&mut self.deferred);
        let first = self.first_made.unwrap_or(i64::MAX);
        for chunk in deferred.chunks(DEFERRED_CHUNK) {
            let phones: Vec<String> = chunk
                .iter()
                .filter_map(|(_, p, _)| p.phone.as_ref().map(|x| x.as_str().to_owned()))
                .collect();
            let names: Vec<String> = chunk
                .iter()
                .filter_map(|(_, p, _)| p.name.as_ref().map(|x| x.as_str().to_owned()))
                .collect();
            let stored = tx.persons_matching(&[], &phones, &names).await?;
            let keys = StoredKeys::new(&stored, |s| s.id < first);
            for (id, person, on) in chunk {
                let this = Record {
                    person,
                    recorded_on: *on,
                };
                let found = keys
                    .sharing(person)
                    .into_iter()
                    .filter_map(|s| {
                        let other = Record {
                            person: &s.person,
                            recorded_on: *on,
                        };
                        candidate(s.id, other, *id, this)
                    })
                    .take(MAX_CANDIDATES_PER_RECORD);
                self.candidates.extend(found);
            }
        }
        Ok(())
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
        who.require(Action::ReviewPersons)?;
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
        who.require(Action::ReviewPersons)?;
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
