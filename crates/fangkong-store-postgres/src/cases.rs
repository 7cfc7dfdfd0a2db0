//! The line list on PostgreSQL: people, cases, contacts and their follow-ups,
//! candidate pairs, the transmission graph's rows.
//!
//! Reads rebuild domain values: a case from its opening columns, its person
//! record (the current one: after a merge, the kept record), its sources and
//! its history ([`Case::replay`]); a contact with [`Contact::restore`]. A
//! page of cases or contacts is three or four queries in one snapshot (the
//! rows, then the children of the whole page with `= ANY($1)`), never one
//! per row.
//!
//! Bulk writes go through binary `COPY`: keys are drawn from the sequence
//! in one statement, then the rows and their children are copied, inside a
//! savepoint so that a duplicate id is a [`StoreError::Conflict`] naming it
//! and leaves the transaction usable. Small inserts (an entry from the API)
//! look for stored ids first, so that a refused one leaves no gap in the keys.
//!
//! Optimistic versions: an update is `UPDATE … WHERE id = $1 AND version =
//! $expected`; no row updated is a conflict (or not found).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::*;

use sqlx::postgres::PgDatabaseError;
use sqlx::{PgConnection, PgPool};

use fangkong_domain::case::{
    Age, Case, CaseEvent, CaseId, CaseRecord, Classification, Facility, IdNumber, NewCase, Origin,
    Person, PersonName, Phone, Place, Severity, Sex,
};
use fangkong_domain::contact::{
    Contact, ContactId, ContactLink, Exposure, FollowUp, FollowUpResult, NewContact,
    ObservationPeriod, ObservationPlace, Symptoms, Temperature,
};
use fangkong_domain::matching::{MatchReason, MatchStatus};
use fangkong_store::{
    CaseEntry, CaseFilter, ContactEntry, ContactFilter, GraphRows, MatchCandidate, MatchFilter,
    NewPerson, StoredCase, StoredContact, StoredPerson,
};

/// Bytes of COPY data gathered before they are sent.
const SEND_BYTES: usize = 512 << 10;

// ---------------------------------------------------------------------------
// Person keys

/// An ID number as stored: its first 17 digits as an integer (the 18th
/// character is their check character, rebuilt on read).
fn id_number_key(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 18 {
        return None;
    }
    let check = IdNumber::check_char(&b[..17])?;
    if !b[17].eq_ignore_ascii_case(&check) {
        return None;
    }
    Some(
        b[..17]
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0')),
    )
}

fn id_number_of_key(key: i64) -> Result<IdNumber> {
    // the number itself stays out of error messages
    let invalid = || bad("id_number", "(not shown)");
    let mut s = format!("{key:017}");
    let check = IdNumber::check_char(s.as_bytes()).ok_or_else(invalid)?;
    s.push(char::from(check));
    IdNumber::parse(&s).map_err(|_| invalid())
}

/// A phone as stored: its digits after a leading 1, so that leading zeros
/// survive (at most 15 digits: 16 with the 1, well inside a BIGINT).
fn phone_key(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(1i64, |n, d| n * 10 + i64::from(d - b'0')))
}

fn phone_of_key(key: i64) -> Result<Phone> {
    let s = key.to_string();
    s.strip_prefix('1')
        .and_then(|digits| Phone::parse(digits).ok())
        .ok_or_else(|| bad("phone", key))
}

/// The index key of a name: FNV-1a (64 bits) of its UTF-8, the top bit
/// cleared (the text is compared after the index finds the hash).
fn name_hash(s: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 1) as i64
}

// ---------------------------------------------------------------------------
// Columns and decoding

const PERSON_COLS: &str =
    "p.id, p.name, p.id_number, p.sex, p.age, p.phone, p.address, p.home_region, p.home_path, p.merged_into";

/// A case's own columns and its person's.
const CASE_COLS: &str = "c.key, c.case_id, c.person_id, c.reporting_unit, c.origin, \
    c.place_of_exposure, c.onset, c.first_visit, c.report_date, c.from_contact, c.opened_on, \
    c.version, c.home_path, coalesce(c.report_path, c.home_path) AS report_path, \
    p.name, p.id_number, p.sex, p.age, p.phone, p.address, p.home_region";

/// A contact's own columns and its person's.
const CONTACT_COLS: &str = "t.key, t.contact_id, t.person_id, t.reporting_unit, t.place, \
    t.site, t.registered, t.period, t.converted_case_id, t.converted_on, t.version, \
    t.home_path, coalesce(t.report_path, t.home_path) AS report_path, \
    p.name, p.id_number, p.sex, p.age, p.phone, p.address, p.home_region";

const MATCH_COLS: &str =
    "m.id, m.a, m.b, m.reason, m.score, m.status, m.found_at, m.decided_by, m.decided_at";

fn parsed<T, E>(what: &str, s: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T> {
    parse(s).map_err(|_| bad(what, s))
}

fn opt_parsed<T, E>(
    row: &PgRow,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>> {
    col::<Option<String>>(row, name)?
        .map(|s| parsed(name, &s, parse))
        .transpose()
}

fn person_of(row: &PgRow) -> Result<Person> {
    let sex: String = col(row, "sex")?;
    let age: Option<i16> = col(row, "age")?;
    Ok(Person {
        name: opt_parsed(row, "name", PersonName::parse)?,
        id_number: col::<Option<i64>>(row, "id_number")?
            .map(id_number_of_key)
            .transpose()?,
        sex: Sex::parse(&sex).ok_or_else(|| bad("sex", &sex))?,
        age: age
            .map(|a| Age::new(i64::from(a)).map_err(|_| bad("age", a)))
            .transpose()?,
        phone: col::<Option<i64>>(row, "phone")?
            .map(phone_of_key)
            .transpose()?,
        address: opt_parsed(row, "address", |s| Place::parse("address", s))?,
        home_region: code_of(&col::<String>(row, "home_region")?)?,
    })
}

fn stored_person_of(row: &PgRow) -> Result<StoredPerson> {
    Ok(StoredPerson {
        id: col(row, "id")?,
        person: person_of(row)?,
        home_path: col(row, "home_path")?,
        merged_into: col(row, "merged_into")?,
    })
}

fn version_u32(v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| bad("version", v))
}

fn version_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// One event of a case's history, from a `case_event` row.
fn record_of(row: &PgRow) -> Result<CaseRecord> {
    let kind: String = col(row, "kind")?;
    let date: NaiveDate = col(row, "date")?;
    let event = match kind.as_str() {
        "confirm" => CaseEvent::Confirm { date },
        "exclude" => CaseEvent::Exclude { date },
        "revise" => {
            let to: Option<String> = col(row, "classification_to")?;
            let to = to.unwrap_or_default();
            CaseEvent::Revise {
                to: Classification::parse(&to).ok_or_else(|| bad("classification", &to))?,
                date,
                reason: col::<Option<String>>(row, "reason")?.unwrap_or_default(),
            }
        }
        "set_severity" => {
            let s: Option<String> = col(row, "severity")?;
            let s = s.unwrap_or_default();
            CaseEvent::SetSeverity {
                severity: Severity::parse(&s).ok_or_else(|| bad("severity", &s))?,
                date,
            }
        }
        "admit" => {
            let region: Option<String> = col(row, "facility_region")?;
            let name: Option<String> = col(row, "facility_name")?;
            CaseEvent::Admit {
                facility: Facility {
                    region: code_of(&region.unwrap_or_default())?,
                    name: parsed("facility_name", &name.unwrap_or_default(), |s| {
                        Place::parse("facility_name", s)
                    })?,
                },
                date,
            }
        }
        "discharge" => CaseEvent::Discharge { date },
        "die" => CaseEvent::Die { date },
        _ => return Err(bad("case event", &kind)),
    };
    Ok(CaseRecord {
        version: version_u32(col(row, "version")?)?,
        event,
        recorded_on: col(row, "recorded_on")?,
    })
}

fn case_id_of(s: &str) -> Result<CaseId> {
    parsed("case id", s, CaseId::parse)
}

fn contact_id_of(s: &str) -> Result<ContactId> {
    parsed("contact id", s, ContactId::parse)
}

/// A case from its row (with its person's columns), sources and history.
fn case_of(row: &PgRow, sources: Vec<CaseId>, history: &[CaseRecord]) -> Result<StoredCase> {
    let id = case_id_of(&col::<String>(row, "case_id")?)?;
    let origin: String = col(row, "origin")?;
    let version = version_u32(col(row, "version")?)?;
    let new = NewCase {
        id: id.clone(),
        person: person_of(row)?,
        reporting_unit: code_of(&col::<String>(row, "reporting_unit")?)?,
        origin: Origin::parse(&origin).ok_or_else(|| bad("origin", &origin))?,
        place_of_exposure: opt_parsed(row, "place_of_exposure", |s| {
            Place::parse("place_of_exposure", s)
        })?,
        onset: col(row, "onset")?,
        first_visit: col(row, "first_visit")?,
        report: col(row, "report_date")?,
        source_cases: sources,
        from_contact: opt_parsed(row, "from_contact", ContactId::parse)?,
    };
    // events recorded after this row was read belong to a later version
    let upto = history
        .iter()
        .position(|r| r.version > version)
        .unwrap_or(history.len());
    let case = Case::replay(new, col(row, "opened_on")?, &history[..upto]).map_err(|e| {
        StoreError::Other(anyhow!(
            "case {id}: its stored history does not replay: {e}"
        ))
    })?;
    if case.version() != version {
        return Err(StoreError::Other(anyhow!(
            "case {id}: stored at version {version}, its history reaches version {}",
            case.version()
        )));
    }
    Ok(StoredCase {
        key: col(row, "key")?,
        entry: CaseEntry {
            case,
            person_id: col(row, "person_id")?,
            home_path: col(row, "home_path")?,
            report_path: col(row, "report_path")?,
        },
    })
}

fn follow_up_of(row: &PgRow) -> Result<FollowUp> {
    let date: NaiveDate = col(row, "date")?;
    let result = if col::<bool>(row, "reached")? {
        let t: Option<f32> = col(row, "temperature")?;
        let t = t.ok_or_else(|| bad("temperature", "NULL"))?;
        let symptoms: Option<String> = col(row, "symptoms")?;
        let symptoms = symptoms.unwrap_or_default();
        FollowUpResult::Reached {
            temperature: Temperature::new(t).map_err(|_| bad("temperature", t))?,
            symptoms: parsed("symptoms", &symptoms, Symptoms::parse)?,
        }
    } else {
        FollowUpResult::NotReached
    };
    Ok(FollowUp { date, result })
}

fn link_of(row: &PgRow) -> Result<ContactLink> {
    let exposure: String = col(row, "exposure")?;
    Ok(ContactLink {
        source: case_id_of(&col::<String>(row, "source_case_id")?)?,
        exposure: Exposure::parse(&exposure).ok_or_else(|| bad("exposure", &exposure))?,
        last_exposure: col(row, "last_exposure")?,
    })
}

fn contact_of(
    row: &PgRow,
    links: Vec<ContactLink>,
    follow_ups: Vec<FollowUp>,
) -> Result<StoredContact> {
    let id = contact_id_of(&col::<String>(row, "contact_id")?)?;
    let place: String = col(row, "place")?;
    let place = match place.as_str() {
        "home" => ObservationPlace::Home,
        "centralised" => ObservationPlace::Centralised {
            site: opt_parsed(row, "site", |s| Place::parse("site", s))?
                .ok_or_else(|| bad("site", "NULL"))?,
        },
        _ => return Err(bad("observation place", &place)),
    };
    let period: i16 = col(row, "period")?;
    let new = NewContact {
        id: id.clone(),
        person: person_of(row)?,
        links,
        place,
        registered: col(row, "registered")?,
        period: ObservationPeriod::new(i64::from(period)).map_err(|_| bad("period", period))?,
    };
    let converted = match (
        col::<Option<String>>(row, "converted_case_id")?,
        col::<Option<NaiveDate>>(row, "converted_on")?,
    ) {
        (Some(case), Some(on)) => Some((case_id_of(&case)?, on)),
        _ => None,
    };
    let contact = Contact::restore(new, follow_ups, converted).map_err(|e| {
        StoreError::Other(anyhow!(
            "contact {id}: its stored state does not restore: {e}"
        ))
    })?;
    Ok(StoredContact {
        key: col(row, "key")?,
        entry: ContactEntry {
            contact,
            person_id: col(row, "person_id")?,
            reporting_unit: code_of(&col::<String>(row, "reporting_unit")?)?,
            home_path: col(row, "home_path")?,
            report_path: col(row, "report_path")?,
            version: version_u32(col(row, "version")?)?,
        },
    })
}

fn match_of(row: &PgRow) -> Result<MatchCandidate> {
    let reason: String = col(row, "reason")?;
    let status: String = col(row, "status")?;
    Ok(MatchCandidate {
        id: col(row, "id")?,
        a: col(row, "a")?,
        b: col(row, "b")?,
        reason: MatchReason::parse(&reason).ok_or_else(|| bad("match reason", &reason))?,
        score: col(row, "score")?,
        status: MatchStatus::parse(&status).ok_or_else(|| bad("match status", &status))?,
        found_at: col(row, "found_at")?,
        decided_by: col(row, "decided_by")?,
        decided_at: col(row, "decided_at")?,
    })
}

/// Rows grouped by a key column, in the order read.
fn group<T>(rows: &[PgRow], key: &str, f: fn(&PgRow) -> Result<T>) -> Result<HashMap<i64, Vec<T>>> {
    let mut out: HashMap<i64, Vec<T>> = HashMap::new();
    for row in rows {
        out.entry(col(row, key)?).or_default().push(f(row)?);
    }
    Ok(out)
}

fn keys_of(rows: &[PgRow]) -> Result<Vec<i64>> {
    rows.iter().map(|r| col(r, "key")).collect()
}

// ---------------------------------------------------------------------------
// Reads

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// A read-only transaction in one snapshot, for reads of several statements.
async fn snapshot(pool: &PgPool) -> Result<sqlx::Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(tx)
}

/// The cases selected by `where_order` (a `WHERE … ORDER BY … LIMIT …` over
/// `case_file c JOIN person p`) with binds added by `bind`, then their
/// sources and histories: three statements in one snapshot.
async fn read_cases(
    pool: &PgPool,
    where_order: &str,
    bind: impl for<'q> FnOnce(PgQuery<'q>) -> PgQuery<'q>,
) -> Result<Vec<StoredCase>> {
    let sql = format!(
        "SELECT {CASE_COLS} FROM case_file c JOIN person p ON p.id = c.person_id {where_order}"
    );
    let mut tx = snapshot(pool).await?;
    let rows = bind(sqlx::query(&sql))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys = keys_of(&rows)?;
    let sources = sqlx::query(
        "SELECT case_key, source_case_id FROM case_source WHERE case_key = ANY($1) \
         ORDER BY case_key, ordinal",
    )
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let events = sqlx::query(
        "SELECT case_key, version, recorded_on, kind, date, classification_to, reason, severity, \
                facility_region, facility_name \
           FROM case_event WHERE case_key = ANY($1) ORDER BY case_key, version",
    )
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    let mut sources = group(&sources, "case_key", |r| {
        case_id_of(&col::<String>(r, "source_case_id")?)
    })?;
    let events = group(&events, "case_key", record_of)?;
    rows.iter()
        .zip(keys)
        .map(|(row, key)| {
            case_of(
                row,
                sources.remove(&key).unwrap_or_default(),
                events.get(&key).map_or(&[][..], Vec::as_slice),
            )
        })
        .collect()
}

/// The contacts selected by `where_order` over `contact t JOIN person p`,
/// then their links and follow-ups: three statements in one snapshot.
async fn read_contacts(
    pool: &PgPool,
    where_order: &str,
    bind: impl for<'q> FnOnce(PgQuery<'q>) -> PgQuery<'q>,
) -> Result<Vec<StoredContact>> {
    let sql = format!(
        "SELECT {CONTACT_COLS} FROM contact t JOIN person p ON p.id = t.person_id {where_order}"
    );
    let mut tx = snapshot(pool).await?;
    let rows = bind(sqlx::query(&sql))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys = keys_of(&rows)?;
    let links = sqlx::query(
        "SELECT contact_key, source_case_id, exposure, last_exposure FROM contact_link \
          WHERE contact_key = ANY($1) ORDER BY contact_key, ordinal",
    )
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let follow_ups = sqlx::query(
        "SELECT contact_key, date, reached, temperature, symptoms FROM follow_up \
          WHERE contact_key = ANY($1) ORDER BY contact_key, date",
    )
    .bind(&keys)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    let mut links = group(&links, "contact_key", link_of)?;
    let mut follow_ups = group(&follow_ups, "contact_key", follow_up_of)?;
    rows.iter()
        .zip(keys)
        .map(|(row, key)| {
            contact_of(
                row,
                links.remove(&key).unwrap_or_default(),
                follow_ups.remove(&key).unwrap_or_default(),
            )
        })
        .collect()
}

pub(crate) async fn case(pool: &PgPool, id: &CaseId) -> Result<Option<StoredCase>> {
    let id = id.as_str().to_owned();
    let mut found = read_cases(pool, "WHERE c.case_id = $1", |q| q.bind(id)).await?;
    Ok(found.pop())
}

pub(crate) async fn cases_by_keys(pool: &PgPool, keys: &[i64]) -> Result<Vec<StoredCase>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys = keys.to_vec();
    read_cases(pool, "WHERE c.key = ANY($1) ORDER BY c.key", |q| {
        q.bind(keys)
    })
    .await
}

/// `home_path` or `report_path` (of the table aliased `t`) in the subtree
/// whose range is `$lo`, `$lo + 1`.
fn visible(alias: &str, lo: usize) -> String {
    let hi = lo + 1;
    format!(
        "(({alias}.home_path >= ${lo} AND {alias}.home_path < ${hi}) \
          OR ({alias}.report_path >= ${lo} AND {alias}.report_path < ${hi}))"
    )
}

pub(crate) async fn cases(pool: &PgPool, filter: &CaseFilter) -> Result<Vec<StoredCase>> {
    let (lo, hi) = subtree_range(&filter.path);
    // only the conditions given, so that each shape of query gets its own plan
    let mut sql = format!("WHERE {}", visible("c", 1));
    let mut n = 2;
    let mut arg = |sql: &mut String, cond: &str| {
        n += 1;
        sql.push_str(&cond.replace('?', &format!("${n}")));
    };
    if filter.reported_from.is_some() {
        arg(&mut sql, " AND c.report_date >= ?");
    }
    if filter.reported_to.is_some() {
        arg(&mut sql, " AND c.report_date <= ?");
    }
    if filter.classification.is_some() {
        arg(&mut sql, " AND c.classification = ?");
    }
    if filter.facility.is_some() {
        arg(&mut sql, " AND c.facility_region = ?");
        arg(&mut sql, " AND c.facility_name = ?");
    }
    if filter.after.is_some() {
        arg(&mut sql, " AND c.case_id > ?");
    }
    arg(&mut sql, " ORDER BY c.case_id LIMIT ?");
    read_cases(pool, &sql, |q| {
        let mut q = q.bind(lo).bind(hi);
        if let Some(d) = filter.reported_from {
            q = q.bind(d);
        }
        if let Some(d) = filter.reported_to {
            q = q.bind(d);
        }
        if let Some(c) = filter.classification {
            q = q.bind(c.name());
        }
        if let Some(f) = &filter.facility {
            q = q
                .bind(f.region.as_str().to_owned())
                .bind(f.name.as_str().to_owned());
        }
        if let Some(after) = &filter.after {
            q = q.bind(after.as_str().to_owned());
        }
        q.bind(limit(filter.limit))
    })
    .await
}

/// The ids among `ids` found in `table.column`, in the order given, each once.
async fn existing(pool: &PgPool, table: &str, column: &str, ids: &[&str]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {column} FROM {table} WHERE {column} = ANY($1)");
    let found: Vec<String> = sqlx::query_scalar(&sql)
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    let mut found: std::collections::HashSet<String> = found.into_iter().collect();
    Ok(ids
        .iter()
        .filter_map(|id| found.take(*id))
        .collect::<Vec<_>>())
}

pub(crate) async fn existing_cases(pool: &PgPool, ids: &[CaseId]) -> Result<Vec<CaseId>> {
    let ids: Vec<&str> = ids.iter().map(CaseId::as_str).collect();
    existing(pool, "case_file", "case_id", &ids)
        .await?
        .iter()
        .map(|s| case_id_of(s))
        .collect()
}

pub(crate) async fn cases_of_person(pool: &PgPool, person_id: i64) -> Result<Vec<StoredCase>> {
    read_cases(pool, "WHERE c.person_id = $1 ORDER BY c.key", |q| {
        q.bind(person_id)
    })
    .await
}

pub(crate) async fn contact(pool: &PgPool, id: &ContactId) -> Result<Option<StoredContact>> {
    let id = id.as_str().to_owned();
    let mut found = read_contacts(pool, "WHERE t.contact_id = $1", |q| q.bind(id)).await?;
    Ok(found.pop())
}

pub(crate) async fn contacts_by_keys(pool: &PgPool, keys: &[i64]) -> Result<Vec<StoredContact>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let keys = keys.to_vec();
    read_contacts(pool, "WHERE t.key = ANY($1) ORDER BY t.key", |q| {
        q.bind(keys)
    })
    .await
}

pub(crate) async fn contacts(pool: &PgPool, filter: &ContactFilter) -> Result<Vec<StoredContact>> {
    let (lo, hi) = subtree_range(&filter.path);
    let mut sql = format!("WHERE {}", visible("t", 1));
    let mut n = 2;
    if filter.observed_on.is_some() {
        n += 1;
        let _ = write!(
            sql,
            " AND t.registered <= ${n} AND ${n} < t.release_date \
              AND (t.converted_on IS NULL OR ${n} < t.converted_on)"
        );
    }
    if filter.after.is_some() {
        n += 1;
        let _ = write!(sql, " AND t.contact_id > ${n}");
    }
    let _ = write!(sql, " ORDER BY t.contact_id LIMIT ${}", n + 1);
    read_contacts(pool, &sql, |q| {
        let mut q = q.bind(lo).bind(hi);
        if let Some(d) = filter.observed_on {
            q = q.bind(d);
        }
        if let Some(after) = &filter.after {
            q = q.bind(after.as_str().to_owned());
        }
        q.bind(limit(filter.limit))
    })
    .await
}

pub(crate) async fn existing_contacts(pool: &PgPool, ids: &[ContactId]) -> Result<Vec<ContactId>> {
    let ids: Vec<&str> = ids.iter().map(ContactId::as_str).collect();
    existing(pool, "contact", "contact_id", &ids)
        .await?
        .iter()
        .map(|s| contact_id_of(s))
        .collect()
}

pub(crate) async fn contacts_of_person(
    pool: &PgPool,
    person_id: i64,
) -> Result<Vec<StoredContact>> {
    read_contacts(pool, "WHERE t.person_id = $1 ORDER BY t.key", |q| {
        q.bind(person_id)
    })
    .await
}

pub(crate) async fn person(pool: &PgPool, id: i64) -> Result<Option<StoredPerson>> {
    let sql = format!("SELECT {PERSON_COLS} FROM person p WHERE p.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.as_ref().map(stored_person_of).transpose()
}

pub(crate) async fn persons_matching<'e>(
    ex: impl sqlx::PgExecutor<'e>,
    id_numbers: &[String],
    phones: &[String],
    names: &[String],
) -> Result<Vec<StoredPerson>> {
    // values that cannot be stored cannot match
    let id_numbers: Vec<i64> = id_numbers.iter().filter_map(|s| id_number_key(s)).collect();
    let phones: Vec<i64> = phones.iter().filter_map(|s| phone_key(s)).collect();
    let hashes: Vec<i64> = names.iter().map(|s| name_hash(s)).collect();
    // one arm per index (each partial on unmerged records with a value); a
    // name is found by its hash, then compared
    let arm = |column: &str, n: usize| {
        format!(
            "SELECT {PERSON_COLS} FROM person p \
              WHERE p.merged_into IS NULL AND p.{column} IS NOT NULL AND p.{column} = ANY(${n})"
        )
    };
    let sql = format!(
        "SELECT * FROM ({} UNION {} UNION {} AND p.name = ANY($4)) m ORDER BY id",
        arm("id_number", 1),
        arm("phone", 2),
        arm("name_hash", 3)
    );
    let rows = sqlx::query(&sql)
        .bind(id_numbers)
        .bind(phones)
        .bind(hashes)
        .bind(names)
        .fetch_all(ex)
        .await
        .map_err(db_err)?;
    all(rows, stored_person_of)
}

pub(crate) async fn person_count(pool: &PgPool) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM person")
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    Ok(n.unsigned_abs())
}

pub(crate) async fn person_id_number_keys(pool: &PgPool) -> Result<Vec<(u64, i64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id_number, id FROM person WHERE merged_into IS NULL AND id_number IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|(key, id)| (key.unsigned_abs(), id))
        .collect())
}

pub(crate) async fn case_ids(pool: &PgPool) -> Result<Vec<CaseId>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT case_id FROM case_file")
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    ids.iter().map(|id| case_id_of(id)).collect()
}

pub(crate) async fn contact_ids(pool: &PgPool) -> Result<Vec<ContactId>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT contact_id FROM contact")
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    ids.iter().map(|id| contact_id_of(id)).collect()
}

/// Drops the non-unique indexes of the person and contact tables; returns
/// their definitions, to be run again.
///
/// Both tables stay locked (`ACCESS EXCLUSIVE`, as `DROP INDEX` locks them)
/// until the transaction ends, so keys for them are drawn in one step
/// from then on ([`Draw::Locked`]).
pub(crate) async fn suspend_indexes(conn: &mut PgConnection) -> Result<Vec<String>> {
    sqlx::query("LOCK TABLE person, contact IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes \
          WHERE schemaname = current_schema() AND tablename IN ('person', 'contact') \
            AND indexdef NOT LIKE 'CREATE UNIQUE%' ORDER BY indexname",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut made = Vec::with_capacity(indexes.len());
    for (name, def) in indexes {
        sqlx::query(&format!("DROP INDEX \"{name}\""))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        made.push(def);
    }
    Ok(made)
}

/// Builds indexes from their definitions, sorting in memory where it can.
pub(crate) async fn restore_indexes(conn: &mut PgConnection, defs: &[String]) -> Result<()> {
    if defs.is_empty() {
        return Ok(());
    }
    sqlx::query("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for def in defs {
        sqlx::query(def).execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn match_candidates(
    pool: &PgPool,
    filter: &MatchFilter,
) -> Result<Vec<MatchCandidate>> {
    let (lo, hi) = subtree_range(&filter.path);
    let status = if filter.status.is_some() {
        " AND m.status = $4"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {MATCH_COLS} FROM person_match m \
          WHERE (EXISTS (SELECT 1 FROM person p WHERE p.id = m.a AND p.home_path >= $1 AND p.home_path < $2) \
             OR EXISTS (SELECT 1 FROM person p WHERE p.id = m.b AND p.home_path >= $1 AND p.home_path < $2)){status} \
          ORDER BY m.id LIMIT $3"
    );
    let mut q = sqlx::query(&sql)
        .bind(lo)
        .bind(hi)
        .bind(limit(filter.limit));
    if let Some(s) = filter.status {
        q = q.bind(s.name());
    }
    let rows = q.fetch_all(pool).await.map_err(db_err)?;
    all(rows, match_of)
}

pub(crate) async fn match_candidate(pool: &PgPool, id: i64) -> Result<Option<MatchCandidate>> {
    let sql = format!("SELECT {MATCH_COLS} FROM person_match m WHERE m.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.as_ref().map(match_of).transpose()
}

pub(crate) async fn graph_generation(pool: &PgPool) -> Result<i64> {
    sqlx::query_scalar("SELECT generation FROM graph_generation WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(db_err)
}

/// Two or three columns of one query as arrays (one value each instead of
/// a row per pair), zipped back together.
type Pairs<T> = (Option<Vec<i64>>, Option<Vec<i64>>, Option<Vec<T>>);

pub(crate) async fn graph_rows(pool: &PgPool) -> Result<(i64, GraphRows)> {
    let mut tx = snapshot(pool).await?;
    let (generation, max_case_key, max_contact_key): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT generation FROM graph_generation WHERE id = 1), \
                (SELECT coalesce(max(key), 0) FROM case_file), \
                (SELECT coalesce(max(key), 0) FROM contact)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    // the aggregates of one query see its rows in one order
    let (from, to, onset): Pairs<Option<NaiveDate>> = sqlx::query_as(
        "SELECT array_agg(s.key), array_agg(c.key), array_agg(c.onset) \
           FROM case_source cs \
           JOIN case_file s ON s.case_id = cs.source_case_id \
           JOIN case_file c ON c.key = cs.case_key",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut transmissions: Vec<(i64, i64, Option<NaiveDate>)> = zip3(from, to, onset);
    let (from, to, last): Pairs<NaiveDate> = sqlx::query_as(
        "SELECT array_agg(s.key), array_agg(l.contact_key), array_agg(l.last_exposure) \
           FROM contact_link l JOIN case_file s ON s.case_id = l.source_case_id",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut exposures = zip3(from, to, last);
    let (from, to): (Option<Vec<i64>>, Option<Vec<i64>>) = sqlx::query_as(
        "SELECT array_agg(t.key), array_agg(c.key) \
           FROM contact t JOIN case_file c ON c.case_id = t.converted_case_id",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut conversions: Vec<(i64, i64)> = from
        .unwrap_or_default()
        .into_iter()
        .zip(to.unwrap_or_default())
        .collect();
    tx.commit().await.map_err(db_err)?;
    transmissions.sort_unstable();
    exposures.sort_unstable();
    conversions.sort_unstable();
    Ok((
        generation,
        GraphRows {
            max_case_key,
            max_contact_key,
            transmissions,
            exposures,
            conversions,
        },
    ))
}

fn zip3<T>(a: Option<Vec<i64>>, b: Option<Vec<i64>>, c: Option<Vec<T>>) -> Vec<(i64, i64, T)> {
    a.unwrap_or_default()
        .into_iter()
        .zip(b.unwrap_or_default())
        .zip(c.unwrap_or_default())
        .map(|((a, b), c)| (a, b, c))
        .collect()
}

// ---------------------------------------------------------------------------
// Binary COPY

/// Binary COPY values beyond those of [`binary`].
mod bin {
    use chrono::NaiveDate;

    pub use crate::binary::*;

    pub fn null(out: &mut Vec<u8>) {
        out.extend_from_slice(&(-1i32).to_be_bytes());
    }

    pub fn opt_text(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => text(out, s),
            None => null(out),
        }
    }

    pub fn opt_date(out: &mut Vec<u8>, d: Option<NaiveDate>) {
        match d {
            Some(d) => date(out, d),
            None => null(out),
        }
    }

    pub fn opt_int8(out: &mut Vec<u8>, x: Option<i64>) {
        match x {
            Some(x) => int8(out, x),
            None => null(out),
        }
    }

    pub fn opt_int2(out: &mut Vec<u8>, x: Option<i16>) {
        match x {
            Some(x) => int2(out, x),
            None => null(out),
        }
    }

    pub fn float4(out: &mut Vec<u8>, x: f32) {
        out.extend_from_slice(&4i32.to_be_bytes());
        out.extend_from_slice(&x.to_bits().to_be_bytes());
    }

    pub fn boolean(out: &mut Vec<u8>, b: bool) {
        out.extend_from_slice(&1i32.to_be_bytes());
        out.push(u8::from(b));
    }
}

/// A unique violation names the duplicate: `case HB-1 is already stored`.
fn insert_err(e: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.code().as_deref() == Some("23505") {
            // "Key (case_id)=(HB-1) already exists."
            let value = d
                .try_downcast_ref::<PgDatabaseError>()
                .and_then(PgDatabaseError::detail)
                .and_then(|s| s.split_once(")=(").map(|(_, v)| v.to_owned()))
                .map(|v| {
                    v.strip_suffix(" already exists.")
                        .and_then(|v| v.strip_suffix(')'))
                        .unwrap_or(&v)
                        .to_owned()
                });
            return StoreError::Conflict(match value {
                Some(v) => format!("{what} {v} is already stored"),
                None => format!("{what}: {}", d.message()),
            });
        }
    }
    db_err(e)
}

/// `COPY table (columns) FROM STDIN` in binary, the rows written by `encode`
/// (called once per item; it writes the whole row, field count included).
async fn copy_rows<T>(
    conn: &mut PgConnection,
    table: &str,
    what: &str,
    items: impl IntoIterator<Item = T>,
    mut encode: impl FnMut(&mut Vec<u8>, T),
) -> Result<()> {
    let started = Instant::now();
    let sql = format!("COPY {table} FROM STDIN WITH (FORMAT binary)");
    let mut copy = conn
        .copy_in_raw(&sql)
        .await
        .map_err(|e| insert_err(e, what))?;
    let mut buf = Vec::with_capacity(SEND_BYTES + 4096);
    bin::header(&mut buf);
    for item in items {
        encode(&mut buf, item);
        if buf.len() >= SEND_BYTES {
            copy.send(buf.as_slice())
                .await
                .map_err(|e| insert_err(e, what))?;
            buf.clear();
        }
    }
    bin::trailer(&mut buf);
    copy.send(buf.as_slice())
        .await
        .map_err(|e| insert_err(e, what))?;
    let rows = copy.finish().await.map_err(|e| insert_err(e, what))?;
    tracing::debug!(table = what, rows, elapsed = ?started.elapsed(), "copied");
    Ok(())
}

/// Inserts of at most this many entries look for stored ids before they draw
/// keys, so that a refused insert leaves no gap in the keys; larger ones
/// learn of a duplicate from the unique index as they copy (the keys drawn
/// are then lost, as in any rolled-back transaction).
const PRECHECK_MAX: usize = 1_000;

/// A [`StoreError::Conflict`] naming the first of `ids` stored in
/// `table.column` or given twice.
async fn refuse_stored(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    what: &str,
    ids: &[&str],
) -> Result<()> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    if let Some(twice) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(StoreError::Conflict(format!(
            "{what} {twice} is given twice"
        )));
    }
    let sql = format!("SELECT {column} FROM {table} WHERE {column} = ANY($1) LIMIT 1");
    let stored: Option<String> = sqlx::query_scalar(&sql)
        .bind(ids)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match stored {
        Some(id) => Err(StoreError::Conflict(format!(
            "{what} {id} is already stored"
        ))),
        None => Ok(()),
    }
}

/// How keys are drawn from a sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Draw {
    /// One `nextval` a key: others may draw from the sequence meanwhile.
    Shared,
    /// In one step: this transaction holds the table the sequence numbers
    /// exclusively (a bulk load), so nobody else draws from it until commit.
    Locked,
}

/// `n` new values of a sequence, ascending.
async fn draw_keys(
    conn: &mut PgConnection,
    sequence: &str,
    n: usize,
    draw: Draw,
) -> Result<Vec<i64>> {
    if draw == Draw::Shared || n == 0 {
        return next_keys(conn, sequence, n).await;
    }
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let sql = format!("SELECT setval('{sequence}', nextval('{sequence}') + $1 - 1)");
    let last: i64 = sqlx::query_scalar(&sql)
        .bind(n)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok((last - n + 1..=last).collect())
}

/// `n` new values of a sequence, ascending: one statement.
async fn next_keys(conn: &mut PgConnection, sequence: &str, n: usize) -> Result<Vec<i64>> {
    let sql = format!("SELECT array_agg(nextval('{sequence}')) FROM generate_series(1, $1)");
    let keys: Option<Vec<i64>> = sqlx::query_scalar(&sql)
        .bind(i64::try_from(n).unwrap_or(i64::MAX))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut keys = keys.unwrap_or_default();
    keys.sort_unstable();
    if keys.len() != n {
        return Err(StoreError::Other(anyhow!(
            "{sequence}: {} values drawn for {n} rows",
            keys.len()
        )));
    }
    Ok(keys)
}

/// Release the savepoint taken by [`savepoint`], or on failure roll back to
/// it, so that the transaction stays usable after a [`StoreError::Conflict`].
async fn end_savepoint(conn: &mut PgConnection, result: Result<()>) -> Result<()> {
    match result {
        Ok(()) => {
            sqlx::query("RELEASE SAVEPOINT line_list_insert")
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(())
        }
        Err(e) => {
            for sql in [
                "ROLLBACK TO SAVEPOINT line_list_insert",
                "RELEASE SAVEPOINT line_list_insert",
            ] {
                sqlx::query(sql).execute(&mut *conn).await.map_err(db_err)?;
            }
            Err(e)
        }
    }
}

async fn savepoint(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SAVEPOINT line_list_insert")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The reporting unit's path as stored: `None` when it is the home path.
fn other_path<'a>(home: &str, report: &'a str) -> Option<&'a str> {
    (report != home).then_some(report)
}

fn age_of(person: &Person) -> Option<i16> {
    person.age.map(|a| i16::from(a.years()))
}

// ---------------------------------------------------------------------------
// Writes

pub(crate) async fn reserve_person_ids(
    conn: &mut PgConnection,
    n: usize,
    draw: Draw,
) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    draw_keys(conn, "person_id_seq", n, draw).await
}

/// Inserts person records with the ids given (`ids[i]` for `persons[i]`).
pub(crate) async fn insert_persons_as(
    conn: &mut PgConnection,
    ids: &[i64],
    persons: &[NewPerson],
) -> Result<()> {
    NewPerson::one_id_each(ids, persons)?;
    if persons.is_empty() {
        return Ok(());
    }
    copy_rows(
        conn,
        "person (id, name, name_hash, id_number, sex, age, phone, address, home_region, \
         home_path)",
        "person",
        persons.iter().zip(ids),
        |out, (p, id)| {
            let person = &p.person;
            bin::row(out, 10);
            bin::int8(out, *id);
            bin::opt_text(out, person.name.as_ref().map(PersonName::as_str));
            bin::opt_int8(out, person.name.as_ref().map(|n| name_hash(n.as_str())));
            bin::opt_int8(
                out,
                person
                    .id_number
                    .as_ref()
                    .and_then(|n| id_number_key(n.reveal())),
            );
            bin::text(out, person.sex.name());
            bin::opt_int2(out, age_of(person));
            bin::opt_int8(
                out,
                person.phone.as_ref().and_then(|x| phone_key(x.as_str())),
            );
            bin::opt_text(out, person.address.as_ref().map(Place::as_str));
            bin::text(out, person.home_region.as_str());
            bin::text(out, &p.home_path);
        },
    )
    .await
}

pub(crate) async fn update_person(
    conn: &mut PgConnection,
    id: i64,
    person: &NewPerson,
) -> Result<()> {
    let p = &person.person;
    let done = sqlx::query(
        "UPDATE person SET name = $2, id_number = $3, sex = $4, age = $5, phone = $6, \
                address = $7, home_region = $8, home_path = $9, name_hash = $10 \
          WHERE id = $1",
    )
    .bind(id)
    .bind(p.name.as_ref().map(PersonName::as_str))
    .bind(p.id_number.as_ref().and_then(|n| id_number_key(n.reveal())))
    .bind(p.sex.name())
    .bind(age_of(p))
    .bind(p.phone.as_ref().and_then(|x| phone_key(x.as_str())))
    .bind(p.address.as_ref().map(Place::as_str))
    .bind(p.home_region.as_str())
    .bind(&person.home_path)
    .bind(p.name.as_ref().map(|n| name_hash(n.as_str())))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("person {id}")));
    }
    Ok(())
}

pub(crate) async fn merge_person(conn: &mut PgConnection, keep: i64, merged: i64) -> Result<()> {
    if keep == merged {
        return Err(StoreError::Conflict(format!(
            "person {keep} cannot be merged into itself"
        )));
    }
    // both locked until commit: a concurrent merge of either waits, then sees this one
    let found: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, merged_into FROM person WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind([keep, merged])
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for id in [keep, merged] {
        match found.iter().find(|(i, _)| *i == id) {
            None => return Err(StoreError::NotFound(format!("person {id}"))),
            Some((_, Some(into))) => {
                return Err(StoreError::Conflict(format!(
                    "person {id} was already merged into {into}"
                )))
            }
            Some(_) => {}
        }
    }
    // records merged into `merged` earlier now point at `keep` too
    sqlx::query("UPDATE person SET merged_into = $1 WHERE id = $2 OR merged_into = $2")
        .bind(keep)
        .bind(merged)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for table in ["case_file", "contact"] {
        sqlx::query(&format!(
            "UPDATE {table} SET person_id = $1 WHERE person_id = $2"
        ))
        .bind(keep)
        .bind(merged)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// A case's current state, as the columns `classification, severity,
/// severity_date, facility_region, facility_name, admission_date, outcome,
/// outcome_date, confirmation_date, exclusion_date`.
struct CaseState<'a> {
    classification: &'static str,
    severity: Option<(&'static str, NaiveDate)>,
    admission: Option<(&'a str, &'a str, NaiveDate)>,
    outcome: Option<(&'static str, NaiveDate)>,
    confirmation: Option<NaiveDate>,
    exclusion: Option<NaiveDate>,
}

impl<'a> CaseState<'a> {
    fn of(case: &'a Case) -> Self {
        CaseState {
            classification: case.classification().name(),
            severity: case.severity().map(|(s, d)| (s.name(), d)),
            admission: case
                .admission()
                .map(|a| (a.facility.region.as_str(), a.facility.name.as_str(), a.date)),
            outcome: case.outcome().map(|(o, d)| (o.name(), d)),
            confirmation: case.dates().confirmation,
            exclusion: case.dates().exclusion,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        bin::text(out, self.classification);
        bin::opt_text(out, self.severity.map(|s| s.0));
        bin::opt_date(out, self.severity.map(|s| s.1));
        bin::opt_text(out, self.admission.map(|a| a.0));
        bin::opt_text(out, self.admission.map(|a| a.1));
        bin::opt_date(out, self.admission.map(|a| a.2));
        bin::opt_text(out, self.outcome.map(|o| o.0));
        bin::opt_date(out, self.outcome.map(|o| o.1));
        bin::opt_date(out, self.confirmation);
        bin::opt_date(out, self.exclusion);
    }
}

const STATE_COLS: &str = "classification, severity, severity_date, facility_region, \
    facility_name, admission_date, outcome, outcome_date, confirmation_date, exclusion_date";

/// The event columns of a history record: `kind, date, classification_to,
/// reason, severity, facility_region, facility_name`.
struct EventCols<'a> {
    kind: &'static str,
    date: NaiveDate,
    to: Option<&'static str>,
    reason: Option<&'a str>,
    severity: Option<&'static str>,
    facility: Option<(&'a str, &'a str)>,
}

impl<'a> EventCols<'a> {
    fn of(event: &'a CaseEvent) -> Self {
        let mut cols = EventCols {
            kind: event.name(),
            date: event.date(),
            to: None,
            reason: None,
            severity: None,
            facility: None,
        };
        match event {
            CaseEvent::Revise { to, reason, .. } => {
                cols.to = Some(to.name());
                cols.reason = Some(reason);
            }
            CaseEvent::SetSeverity { severity, .. } => cols.severity = Some(severity.name()),
            CaseEvent::Admit { facility, .. } => {
                cols.facility = Some((facility.region.as_str(), facility.name.as_str()));
            }
            _ => {}
        }
        cols
    }
}

fn encode_event(out: &mut Vec<u8>, key: i64, record: &CaseRecord) {
    let e = EventCols::of(&record.event);
    bin::row(out, 10);
    bin::int8(out, key);
    bin::int4(out, version_i32(record.version));
    bin::date(out, record.recorded_on);
    bin::text(out, e.kind);
    bin::date(out, e.date);
    bin::opt_text(out, e.to);
    bin::opt_text(out, e.reason);
    bin::opt_text(out, e.severity);
    bin::opt_text(out, e.facility.map(|f| f.0));
    bin::opt_text(out, e.facility.map(|f| f.1));
}

const EVENT_TABLE: &str = "case_event (case_key, version, recorded_on, kind, date, \
    classification_to, reason, severity, facility_region, facility_name)";

pub(crate) async fn insert_cases(conn: &mut PgConnection, cases: &[CaseEntry]) -> Result<Vec<i64>> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    if cases.len() <= PRECHECK_MAX {
        let ids: Vec<&str> = cases.iter().map(|e| e.case.id().as_str()).collect();
        refuse_stored(conn, "case_file", "case_id", "case", &ids).await?;
    }
    let keys = next_keys(conn, "case_key_seq", cases.len()).await?;
    savepoint(conn).await?;
    let copied = copy_cases(conn, cases, &keys).await;
    end_savepoint(conn, copied).await?;
    Ok(keys)
}

async fn copy_cases(conn: &mut PgConnection, cases: &[CaseEntry], keys: &[i64]) -> Result<()> {
    let table = format!(
        "case_file (key, case_id, person_id, reporting_unit, origin, place_of_exposure, onset, \
         first_visit, report_date, from_contact, opened_on, version, home_path, report_path, \
         {STATE_COLS})"
    );
    copy_rows(
        conn,
        &table,
        "case",
        cases.iter().zip(keys),
        |out, (e, key)| {
            let c = &e.case;
            let dates = c.dates();
            bin::row(out, 24);
            bin::int8(out, *key);
            bin::text(out, c.id().as_str());
            bin::int8(out, e.person_id);
            bin::text(out, c.reporting_unit().as_str());
            bin::text(out, c.origin().name());
            bin::opt_text(out, c.place_of_exposure().map(Place::as_str));
            bin::opt_date(out, dates.onset);
            bin::opt_date(out, dates.first_visit);
            bin::date(out, dates.report);
            bin::opt_text(out, c.from_contact().map(ContactId::as_str));
            bin::date(out, c.opened_on());
            bin::int4(out, version_i32(c.version()));
            bin::text(out, &e.home_path);
            bin::opt_text(out, other_path(&e.home_path, &e.report_path));
            CaseState::of(c).encode(out);
        },
    )
    .await?;
    let events = cases
        .iter()
        .zip(keys)
        .flat_map(|(e, key)| e.case.history().iter().map(move |r| (*key, r)))
        .collect::<Vec<_>>();
    if cases.iter().any(|e| !e.case.history().is_empty()) {
        copy_rows(conn, EVENT_TABLE, "case event", events, |out, (key, r)| {
            encode_event(out, key, r);
        })
        .await?;
    }
    if cases.iter().any(|e| !e.case.source_cases().is_empty()) {
        let sources = cases.iter().zip(keys).flat_map(|(e, key)| {
            e.case
                .source_cases()
                .iter()
                .enumerate()
                .map(move |(i, s)| (*key, i, s))
        });
        let sources: Vec<_> = sources.collect();
        copy_rows(
            conn,
            "case_source (case_key, ordinal, source_case_id)",
            "case source",
            sources,
            |out, (key, i, s)| {
                bin::row(out, 3);
                bin::int8(out, key);
                bin::int4(out, i32::try_from(i).unwrap_or(i32::MAX));
                bin::text(out, s.as_str());
            },
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn update_case(
    conn: &mut PgConnection,
    entry: &CaseEntry,
    expected_version: u32,
) -> Result<()> {
    let c = &entry.case;
    let s = CaseState::of(c);
    let key: Option<i64> = sqlx::query_scalar(
        "UPDATE case_file SET person_id = $3, version = $4, home_path = $5, report_path = $6, \
                classification = $7, severity = $8, severity_date = $9, facility_region = $10, \
                facility_name = $11, admission_date = $12, outcome = $13, outcome_date = $14, \
                confirmation_date = $15, exclusion_date = $16 \
          WHERE case_id = $1 AND version = $2 RETURNING key",
    )
    .bind(c.id().as_str())
    .bind(version_i32(expected_version))
    .bind(entry.person_id)
    .bind(version_i32(c.version()))
    .bind(&entry.home_path)
    .bind(other_path(&entry.home_path, &entry.report_path))
    .bind(s.classification)
    .bind(s.severity.map(|x| x.0))
    .bind(s.severity.map(|x| x.1))
    .bind(s.admission.map(|x| x.0))
    .bind(s.admission.map(|x| x.1))
    .bind(s.admission.map(|x| x.2))
    .bind(s.outcome.map(|x| x.0))
    .bind(s.outcome.map(|x| x.1))
    .bind(s.confirmation)
    .bind(s.exclusion)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(key) = key else {
        let stored: Option<i32> =
            sqlx::query_scalar("SELECT version FROM case_file WHERE case_id = $1")
                .bind(c.id().as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
        return Err(match stored {
            None => StoreError::NotFound(format!("case {}", c.id())),
            Some(v) => StoreError::Conflict(format!(
                "case {} is at version {v}, not {expected_version}: it was changed meanwhile",
                c.id()
            )),
        });
    };
    let new: Vec<&CaseRecord> = c
        .history()
        .iter()
        .filter(|r| r.version > expected_version)
        .collect();
    if !new.is_empty() {
        let cols: Vec<EventCols> = new.iter().map(|r| EventCols::of(&r.event)).collect();
        sqlx::query(
            "INSERT INTO case_event (case_key, version, recorded_on, kind, date, classification_to, \
                    reason, severity, facility_region, facility_name) \
             SELECT $1, * FROM UNNEST($2::int4[], $3::date[], $4::text[], $5::date[], $6::text[], \
                    $7::text[], $8::text[], $9::text[], $10::text[])",
        )
        .bind(key)
        .bind(new.iter().map(|r| version_i32(r.version)).collect::<Vec<_>>())
        .bind(new.iter().map(|r| r.recorded_on).collect::<Vec<_>>())
        .bind(cols.iter().map(|e| e.kind).collect::<Vec<_>>())
        .bind(cols.iter().map(|e| e.date).collect::<Vec<_>>())
        .bind(cols.iter().map(|e| e.to).collect::<Vec<_>>())
        .bind(cols.iter().map(|e| e.reason).collect::<Vec<_>>())
        .bind(cols.iter().map(|e| e.severity).collect::<Vec<_>>())
        .bind(cols.iter().map(|e| e.facility.map(|f| f.0)).collect::<Vec<_>>())
        .bind(cols.iter().map(|e| e.facility.map(|f| f.1)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// The site of a contact observed at a centralised site.
fn site_of(place: &ObservationPlace) -> Option<&str> {
    match place {
        ObservationPlace::Home => None,
        ObservationPlace::Centralised { site } => Some(site.as_str()),
    }
}

/// A follow-up's columns `reached, temperature, symptoms`.
fn follow_up_cols(f: &FollowUp) -> (bool, Option<f32>, Option<String>) {
    match f.result {
        FollowUpResult::Reached {
            temperature,
            symptoms,
        } => (
            true,
            Some(temperature.celsius()),
            Some(symptoms.to_string()),
        ),
        FollowUpResult::NotReached => (false, None, None),
    }
}

pub(crate) async fn insert_contacts(
    conn: &mut PgConnection,
    contacts: &[ContactEntry],
    draw: Draw,
) -> Result<Vec<i64>> {
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    if contacts.len() <= PRECHECK_MAX {
        let ids: Vec<&str> = contacts.iter().map(|e| e.contact.id().as_str()).collect();
        refuse_stored(conn, "contact", "contact_id", "contact", &ids).await?;
    }
    let keys = draw_keys(conn, "contact_key_seq", contacts.len(), draw).await?;
    savepoint(conn).await?;
    let copied = copy_contacts(conn, contacts, &keys).await;
    end_savepoint(conn, copied).await?;
    Ok(keys)
}

async fn copy_contacts(
    conn: &mut PgConnection,
    contacts: &[ContactEntry],
    keys: &[i64],
) -> Result<()> {
    copy_rows(
        conn,
        "contact (key, contact_id, person_id, reporting_unit, place, site, registered, period, \
         converted_case_id, converted_on, release_date, version, home_path, report_path)",
        "contact",
        contacts.iter().zip(keys),
        |out, (e, key)| {
            let c = &e.contact;
            let converted = c.converted();
            bin::row(out, 14);
            bin::int8(out, *key);
            bin::text(out, c.id().as_str());
            bin::int8(out, e.person_id);
            bin::text(out, e.reporting_unit.as_str());
            bin::text(out, c.place().name());
            bin::opt_text(out, site_of(c.place()));
            bin::date(out, c.registered());
            bin::int2(out, i16::try_from(c.period().days()).unwrap_or(i16::MAX));
            bin::opt_text(out, converted.map(|(id, _)| id.as_str()));
            bin::opt_date(out, converted.map(|(_, d)| d));
            bin::date(out, c.release_date());
            bin::int4(out, version_i32(e.version));
            bin::text(out, &e.home_path);
            bin::opt_text(out, other_path(&e.home_path, &e.report_path));
        },
    )
    .await?;
    let links = contacts.iter().zip(keys).flat_map(|(e, key)| {
        e.contact
            .links()
            .iter()
            .enumerate()
            .map(move |(i, l)| (*key, i, l))
    });
    let links: Vec<_> = links.collect();
    copy_rows(
        conn,
        "contact_link (contact_key, ordinal, source_case_id, exposure, last_exposure)",
        "contact link",
        links,
        |out, (key, i, l)| {
            bin::row(out, 5);
            bin::int8(out, key);
            bin::int4(out, i32::try_from(i).unwrap_or(i32::MAX));
            bin::text(out, l.source.as_str());
            bin::text(out, l.exposure.name());
            bin::date(out, l.last_exposure);
        },
    )
    .await?;
    if contacts.iter().any(|e| !e.contact.follow_ups().is_empty()) {
        let follow_ups = contacts
            .iter()
            .zip(keys)
            .flat_map(|(e, key)| e.contact.follow_ups().iter().map(move |f| (*key, f)))
            .collect::<Vec<_>>();
        let mut symptoms = String::new();
        copy_rows(
            conn,
            "follow_up (contact_key, date, reached, temperature, symptoms)",
            "follow-up",
            follow_ups,
            |out, (key, f)| {
                bin::row(out, 5);
                bin::int8(out, key);
                bin::date(out, f.date);
                match f.result {
                    FollowUpResult::Reached {
                        temperature,
                        symptoms: s,
                    } => {
                        bin::boolean(out, true);
                        bin::float4(out, temperature.celsius());
                        symptoms.clear();
                        let _ = write!(symptoms, "{s}");
                        bin::text(out, &symptoms);
                    }
                    FollowUpResult::NotReached => {
                        bin::boolean(out, false);
                        bin::null(out);
                        bin::null(out);
                    }
                }
            },
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn update_contact(conn: &mut PgConnection, entry: &ContactEntry) -> Result<()> {
    let c = &entry.contact;
    let converted = c.converted();
    let key: Option<i64> = sqlx::query_scalar(
        "UPDATE contact SET person_id = $3, reporting_unit = $4, place = $5, site = $6, \
                registered = $7, period = $8, converted_case_id = $9, converted_on = $10, \
                release_date = $11, version = $2 + 1, home_path = $12, report_path = $13 \
          WHERE contact_id = $1 AND version = $2 RETURNING key",
    )
    .bind(c.id().as_str())
    .bind(version_i32(entry.version.saturating_sub(1)))
    .bind(entry.person_id)
    .bind(entry.reporting_unit.as_str())
    .bind(c.place().name())
    .bind(site_of(c.place()))
    .bind(c.registered())
    .bind(i16::try_from(c.period().days()).unwrap_or(i16::MAX))
    .bind(converted.map(|(id, _)| id.as_str()))
    .bind(converted.map(|(_, d)| d))
    .bind(c.release_date())
    .bind(&entry.home_path)
    .bind(other_path(&entry.home_path, &entry.report_path))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(key) = key else {
        let stored: Option<i32> =
            sqlx::query_scalar("SELECT version FROM contact WHERE contact_id = $1")
                .bind(c.id().as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
        return Err(match stored {
            None => StoreError::NotFound(format!("contact {}", c.id())),
            Some(v) => StoreError::Conflict(format!(
                "contact {} is at version {v}, not {}: it was changed meanwhile",
                c.id(),
                entry.version.saturating_sub(1)
            )),
        });
    };
    sqlx::query(
        "WITH gone_links AS (DELETE FROM contact_link WHERE contact_key = $1), \
              gone_follow_ups AS (DELETE FROM follow_up WHERE contact_key = $1) \
         SELECT 1",
    )
    .bind(key)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let links = c.links();
    sqlx::query(
        "INSERT INTO contact_link (contact_key, ordinal, source_case_id, exposure, last_exposure) \
         SELECT $1, u.ordinal::int4 - 1, u.source, u.exposure, u.last \
           FROM UNNEST($2::text[], $3::text[], $4::date[]) WITH ORDINALITY \
                AS u(source, exposure, last, ordinal)",
    )
    .bind(key)
    .bind(links.iter().map(|l| l.source.as_str()).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.exposure.name()).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.last_exposure).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let follow_ups = c.follow_ups();
    if !follow_ups.is_empty() {
        let cols: Vec<_> = follow_ups.iter().map(follow_up_cols).collect();
        sqlx::query(
            "INSERT INTO follow_up (contact_key, date, reached, temperature, symptoms) \
             SELECT $1, * FROM UNNEST($2::date[], $3::bool[], $4::float4[], $5::text[])",
        )
        .bind(key)
        .bind(follow_ups.iter().map(|f| f.date).collect::<Vec<_>>())
        .bind(cols.iter().map(|c| c.0).collect::<Vec<_>>())
        .bind(cols.iter().map(|c| c.1).collect::<Vec<_>>())
        .bind(cols.iter().map(|c| c.2.clone()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn insert_match_candidates(
    conn: &mut PgConnection,
    candidates: &[MatchCandidate],
) -> Result<()> {
    if candidates.is_empty() {
        return Ok(());
    }
    // the older record first, so that a pair is listed once
    sqlx::query(
        "INSERT INTO person_match (a, b, reason, score, status, found_at, decided_by, decided_at) \
         SELECT least(a, b), greatest(a, b), reason, score, status, found_at, decided_by, decided_at \
           FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::float8[], $5::text[], \
                       $6::timestamptz[], $7::text[], $8::timestamptz[]) \
                AS u(a, b, reason, score, status, found_at, decided_by, decided_at) \
         ON CONFLICT (a, b) DO NOTHING",
    )
    .bind(candidates.iter().map(|c| c.a).collect::<Vec<_>>())
    .bind(candidates.iter().map(|c| c.b).collect::<Vec<_>>())
    .bind(candidates.iter().map(|c| c.reason.name()).collect::<Vec<_>>())
    .bind(candidates.iter().map(|c| c.score).collect::<Vec<_>>())
    .bind(candidates.iter().map(|c| c.status.name()).collect::<Vec<_>>())
    .bind(candidates.iter().map(|c| c.found_at).collect::<Vec<_>>())
    .bind(
        candidates
            .iter()
            .map(|c| c.decided_by.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(candidates.iter().map(|c| c.decided_at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn decide_match(
    conn: &mut PgConnection,
    id: i64,
    status: MatchStatus,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE person_match SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status.name())
    .bind(by)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("candidate pair {id}")));
    }
    Ok(())
}

pub(crate) async fn bump_graph_generation(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("UPDATE graph_generation SET generation = generation + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The derived columns of a line-list table as text, by key (for
/// `fangkong audit verify`, which compares them with the replay).
pub(crate) async fn state_rows(
    pool: &PgPool,
    table: &str,
    columns: &[&str],
    after: i64,
    limit_n: u32,
) -> Result<Vec<fangkong_store::StateRow>> {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("{c}::text AS {c}"))
        .collect();
    let sql = format!(
        "SELECT key, {} FROM {table} WHERE key > $1 ORDER BY key LIMIT $2",
        cols.join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(i64::from(limit_n))
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(fangkong_store::StateRow {
                key: col(row, "key")?,
                cells: columns
                    .iter()
                    .map(|c| col::<Option<String>>(row, c))
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}
