//! The line list on SQLite: people, cases, contacts and their follow-ups,
//! candidate pairs, the transmission graph's rows.
//!
//! Bulk writes use the fixed-width records of [`Fixed`] (one BLOB per chunk
//! cut apart in SQL); keys and person ids are given here, counting on from
//! the largest stored one (the writer connection is the only writer, so
//! nobody else takes them). Reads of many cases or contacts fetch the rows of
//! the page, then the history (or links and follow-ups) of the whole page in
//! one query each, in one read transaction.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;

use sqlx::{SqliteConnection, SqlitePool};

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

/// Temperatures travel in bulk records as whole numbers of 2⁻²⁴ °C: every
/// `f32` of 0.5 °C or more is one, so the REAL stored is the `f32` exactly.
const TEMPERATURE_SCALE: f64 = 16_777_216.0;
/// Keys per read of the graph's rows (each read is one text value).
const GRAPH_CHUNK: i64 = 500_000;

const PERSON_COLUMNS: &str =
    "p.id, p.name, p.id_number, p.sex, p.age, p.phone, p.address, p.home_region, p.home_path, \
     p.merged_into";
const CASE_COLUMNS: &str = "c.key, c.case_id, c.person_id, c.reporting_unit, c.origin, \
    c.place_of_exposure, c.onset, c.first_visit, c.report_date, c.from_contact, c.opened_on, \
    c.home_path, ifnull(c.report_path, c.home_path) AS report_path, \
    p.name, p.id_number, p.sex, p.age, p.phone, p.address, p.home_region";
const CONTACT_COLUMNS: &str = "k.key, k.contact_id, k.person_id, k.reporting_unit, k.place, \
    k.site, k.registered, k.period, k.converted_case_id, k.converted_on, k.version, \
    k.home_path, ifnull(k.report_path, k.home_path) AS report_path, \
    p.name, p.id_number, p.sex, p.age, p.phone, p.address, p.home_region";
const MATCH_COLUMNS: &str =
    "m.id, m.a, m.b, m.reason, m.score, m.status, m.found_at, m.decided_by, m.decided_at";

fn get<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(other)
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(anyhow!("stored line list: {what}"))
}

fn case_id_of(s: &str) -> Result<CaseId> {
    CaseId::parse(s).map_err(|_| bad("case id", s))
}

fn contact_id_of(s: &str) -> Result<ContactId> {
    ContactId::parse(s).map_err(|_| bad("contact id", s))
}

fn region_code(s: &str) -> Result<RegionCode> {
    RegionCode::parse(s).map_err(|_| bad("region code", s))
}

fn date_text(d: NaiveDate) -> Cow<'static, str> {
    Cow::Owned(d.to_string())
}

fn opt_date_text(d: Option<NaiveDate>) -> Option<Cow<'static, str>> {
    d.map(date_text)
}

/// The reporting unit's path as stored: NULL when it is the home path (see
/// the migration).
fn other_path<'a>(home: &str, report: &'a str) -> Option<&'a str> {
    (home != report).then_some(report)
}

/// A JSON array of integers.
fn json_ints(xs: &[i64]) -> String {
    let mut json = String::with_capacity(xs.len() * 8 + 2);
    json.push('[');
    for (n, x) in xs.iter().enumerate() {
        if n > 0 {
            json.push(',');
        }
        json.push_str(&x.to_string());
    }
    json.push(']');
    json
}

// ---------------------------------------------------------------------------
// Bulk records
// ---------------------------------------------------------------------------

enum Data<'a> {
    Int(Vec<i64>),
    Text(Vec<Cow<'a, str>>),
}

struct Column<'a> {
    name: &'static str,
    data: Data<'a>,
    /// An SQL expression around the field's (`#E`), e.g. to read a NULL.
    wrap: Option<&'static str>,
}

/// The rows of one `INSERT`, column by column, sent as [`Fixed`] records.
struct Records<'a> {
    rows: usize,
    counter: Option<(&'static str, i64)>,
    columns: Vec<Column<'a>>,
}

impl<'a> Records<'a> {
    fn new(rows: usize) -> Self {
        Records {
            rows,
            counter: None,
            columns: Vec::new(),
        }
    }

    /// A column `start + i` for row `i`.
    fn key(&mut self, name: &'static str, start: i64) {
        self.counter = Some((name, start));
    }

    fn int(&mut self, name: &'static str, values: impl Iterator<Item = i64>) {
        let values: Vec<i64> = values.collect();
        debug_assert_eq!(values.len(), self.rows);
        self.columns.push(Column {
            name,
            data: Data::Int(values),
            wrap: None,
        });
    }

    /// Non-negative integers or NULL.
    fn int_or_null(&mut self, name: &'static str, values: impl Iterator<Item = Option<i64>>) {
        self.int(name, values.map(|v| v.unwrap_or(-1)));
        self.wrap("NULLIF(#E, -1)");
    }

    fn text(&mut self, name: &'static str, values: impl Iterator<Item = Cow<'a, str>>) {
        let values: Vec<Cow<'a, str>> = values.collect();
        debug_assert_eq!(values.len(), self.rows);
        self.columns.push(Column {
            name,
            data: Data::Text(values),
            wrap: None,
        });
    }

    /// Texts that are never empty, or NULL.
    fn text_or_null(
        &mut self,
        name: &'static str,
        values: impl Iterator<Item = Option<Cow<'a, str>>>,
    ) {
        self.text(name, values.map(Option::unwrap_or_default));
        self.wrap("NULLIF(#E, '')");
    }

    fn wrap(&mut self, template: &'static str) {
        if let Some(c) = self.columns.last_mut() {
            c.wrap = Some(template);
        }
    }

    /// `INSERT INTO table (…) SELECT … tail`.
    async fn insert(self, conn: &mut SqliteConnection, table: &str, tail: &str) -> Result<()> {
        match self.statement(table, tail) {
            Some(insert) => insert.run(conn).await,
            None => Ok(()),
        }
    }

    /// The statement [`Records::insert`] runs, built (`None` for no rows).
    fn statement(self, table: &str, tail: &str) -> Option<Insert> {
        if self.rows == 0 {
            return None;
        }
        let mut f = Fixed::new();
        if let Some((name, start)) = self.counter {
            f.counter(name, start);
        }
        // a column with the same value in every row is a parameter, bound once
        let mut varying = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            match &c.data {
                Data::Int(v) if v.iter().all(|x| *x == v[0]) => {
                    f.param(c.name, Param::Int(v[0]));
                }
                Data::Text(v) if v.iter().all(|x| *x == v[0]) => {
                    f.param(c.name, Param::Text(v[0].clone().into_owned()));
                }
                Data::Int(v) => {
                    f.int_field(c.name, v.iter().copied());
                    varying.push(c);
                }
                Data::Text(v) => {
                    f.text_field(c.name, v.iter().map(|s| s.as_ref()));
                    varying.push(c);
                }
            }
            if let (Some(wrap), Some(expr)) = (c.wrap, f.exprs.last_mut()) {
                *expr = wrap.replace("#E", expr);
            }
        }
        let mut records = Vec::with_capacity(self.rows * f.width);
        let mut cells = Vec::with_capacity(varying.len());
        for i in 0..self.rows {
            cells.clear();
            for c in &varying {
                cells.push(match &c.data {
                    Data::Int(v) => Cell::Int(v[i]),
                    Data::Text(v) => Cell::Text(v[i].as_ref()),
                });
            }
            f.push(&mut records, &cells);
        }
        debug_assert_eq!(records.len(), self.rows * f.width);
        Some(Insert {
            sql: f.sql(table, tail),
            records,
            rows: self.rows,
            params: f.params,
        })
    }
}

/// One built `INSERT` of [`Records`].
struct Insert {
    sql: String,
    records: Vec<u8>,
    rows: usize,
    params: Vec<Param>,
}

impl Insert {
    async fn run(self, conn: &mut SqliteConnection) -> Result<()> {
        let mut q = sqlx::query(&self.sql)
            .bind(self.records)
            .bind(self.rows as i64);
        for p in &self.params {
            q = match p {
                Param::Text(t) => q.bind(t.as_str()),
                Param::Int(x) => q.bind(*x),
            };
        }
        q.execute(&mut *conn).await.map_err(other)?;
        Ok(())
    }
}

/// Runs the statements `next` builds (asked with `0, 1, …` until it returns
/// `None`; `Some(None)` is a statement with no rows), building each while
/// the one before runs on the connection's thread: the records of a bulk
/// insert are made beside SQLite's work instead of before it. A failure
/// comes with the number of its statement.
async fn run_overlapped(
    conn: &mut SqliteConnection,
    mut next: impl FnMut(usize) -> Option<Option<Insert>>,
) -> std::result::Result<(), (usize, StoreError)> {
    let mut built = next(0);
    let mut n = 0;
    while let Some(current) = built.take() {
        let run = async {
            match current {
                Some(insert) => insert.run(&mut *conn).await,
                None => Ok(()),
            }
        };
        // biased: the statement is sent to SQLite's thread before the next is built
        let (ran, after) = tokio::join!(biased; run, async { next(n + 1) });
        ran.map_err(|e| (n, e))?;
        built = after;
        n += 1;
    }
    Ok(())
}

/// The next free value of an integer key column.
async fn next_key(conn: &mut SqliteConnection, table: &str, column: &str) -> Result<i64> {
    sqlx::query_scalar(&format!("SELECT ifnull(max({column}), 0) + 1 FROM {table}"))
        .fetch_one(&mut *conn)
        .await
        .map_err(other)
}

// ---------------------------------------------------------------------------
// Person keys
// ---------------------------------------------------------------------------

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
    let mut s = format!("{key:017}");
    let check =
        IdNumber::check_char(s.as_bytes()).ok_or_else(|| corrupt("an ID number is not valid"))?;
    s.push(char::from(check));
    IdNumber::parse(&s).map_err(|_| corrupt("an ID number is not valid"))
}

/// A phone as stored: its digits after a leading 1, so that leading zeros
/// survive (at most 15 digits: 16 with the 1, well inside an i64).
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
// People
// ---------------------------------------------------------------------------

fn person_records<'a>(r: &mut Records<'a>, persons: &[&'a NewPerson]) {
    r.text_or_null(
        "name",
        persons
            .iter()
            .map(|n| n.person.name.as_ref().map(|x| Cow::Borrowed(x.as_str()))),
    );
    r.int_or_null(
        "name_hash",
        persons
            .iter()
            .map(|n| n.person.name.as_ref().map(|x| name_hash(x.as_str()))),
    );
    r.int_or_null(
        "id_number",
        persons.iter().map(|n| {
            n.person
                .id_number
                .as_ref()
                .and_then(|x| id_number_key(x.reveal()))
        }),
    );
    r.text(
        "sex",
        persons.iter().map(|n| Cow::Borrowed(n.person.sex.name())),
    );
    r.int_or_null(
        "age",
        persons
            .iter()
            .map(|n| n.person.age.map(|a| i64::from(a.years()))),
    );
    r.int_or_null(
        "phone",
        persons
            .iter()
            .map(|n| n.person.phone.as_ref().and_then(|x| phone_key(x.as_str()))),
    );
    r.text_or_null(
        "address",
        persons
            .iter()
            .map(|n| n.person.address.as_ref().map(|x| Cow::Borrowed(x.as_str()))),
    );
    r.text(
        "home_region",
        persons
            .iter()
            .map(|n| Cow::Borrowed(n.person.home_region.as_str())),
    );
    r.text(
        "home_path",
        persons.iter().map(|n| Cow::Borrowed(n.home_path.as_str())),
    );
}

/// The person columns of a row (`name`, `id_number`, …, `home_region`).
fn person_from_row(row: &SqliteRow) -> Result<Person> {
    let name: Option<String> = get(row, "name")?;
    let id_number: Option<i64> = get(row, "id_number")?;
    let sex: String = get(row, "sex")?;
    let age: Option<i64> = get(row, "age")?;
    let phone: Option<i64> = get(row, "phone")?;
    let address: Option<String> = get(row, "address")?;
    let home: String = get(row, "home_region")?;
    Ok(Person {
        name: name
            .map(|s| PersonName::parse(&s).map_err(|_| bad("name", s)))
            .transpose()?,
        id_number: id_number.map(id_number_of_key).transpose()?,
        sex: Sex::parse(&sex).ok_or_else(|| bad("sex", &sex))?,
        age: age
            .map(|a| Age::new(a).map_err(|_| bad("age", a)))
            .transpose()?,
        phone: phone.map(phone_of_key).transpose()?,
        address: address
            .map(|s| Place::parse("address", &s).map_err(|_| bad("address", s)))
            .transpose()?,
        home_region: region_code(&home)?,
    })
}

fn stored_person_from_row(row: &SqliteRow) -> Result<StoredPerson> {
    Ok(StoredPerson {
        id: get(row, "id")?,
        person: person_from_row(row)?,
        home_path: get(row, "home_path")?,
        merged_into: get(row, "merged_into")?,
    })
}

pub(crate) async fn person(pool: &SqlitePool, id: i64) -> Result<Option<StoredPerson>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person p WHERE p.id = ?1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(other)?
        .map(|r| stored_person_from_row(&r))
        .transpose()
}

pub(crate) async fn persons_matching(
    conn: &mut SqliteConnection,
    id_numbers: &[String],
    phones: &[String],
    names: &[String],
) -> Result<Vec<StoredPerson>> {
    // one UNION branch per partial index; a name is found by its hash, then
    // compared
    let sql = format!(
        "SELECT {PERSON_COLUMNS} FROM person p WHERE p.id IN ( \
           SELECT id FROM person WHERE merged_into IS NULL AND id_number IS NOT NULL \
             AND id_number IN (SELECT value FROM json_each(?1)) \
           UNION SELECT id FROM person WHERE merged_into IS NULL AND phone IS NOT NULL \
             AND phone IN (SELECT value FROM json_each(?2)) \
           UNION SELECT id FROM person WHERE merged_into IS NULL AND name_hash IS NOT NULL \
             AND name_hash IN (SELECT value FROM json_each(?3)) \
             AND name IN (SELECT value FROM json_each(?4))) \
         ORDER BY p.id"
    );
    // values that cannot be stored cannot match
    let id_numbers: Vec<i64> = id_numbers.iter().filter_map(|s| id_number_key(s)).collect();
    let phones: Vec<i64> = phones.iter().filter_map(|s| phone_key(s)).collect();
    let rounds = id_numbers
        .len()
        .max(phones.len())
        .max(names.len())
        .div_ceil(JSON_CHUNK);
    let range = |len: usize, n: usize| (n * JSON_CHUNK).min(len)..((n + 1) * JSON_CHUNK).min(len);
    let mut out = BTreeMap::new();
    for n in 0..rounds {
        let names = &names[range(names.len(), n)];
        let hashes: Vec<i64> = names.iter().map(|s| name_hash(s)).collect();
        let rows = sqlx::query(&sql)
            .bind(json_ints(&id_numbers[range(id_numbers.len(), n)]))
            .bind(json_ints(&phones[range(phones.len(), n)]))
            .bind(json_ints(&hashes))
            .bind(json_strings(names.iter().map(String::as_str)))
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
        for row in rows {
            let p = stored_person_from_row(&row)?;
            out.insert(p.id, p);
        }
    }
    Ok(out.into_values().collect())
}

pub(crate) async fn person_count(pool: &SqlitePool) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM person")
        .fetch_one(pool)
        .await
        .map_err(other)?;
    Ok(n.unsigned_abs())
}

pub(crate) async fn person_id_number_keys(pool: &SqlitePool) -> Result<Vec<(u64, i64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id_number, id FROM person WHERE merged_into IS NULL AND id_number IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(other)?;
    Ok(rows
        .into_iter()
        .map(|(key, id)| (key.unsigned_abs(), id))
        .collect())
}

pub(crate) async fn case_ids(pool: &SqlitePool) -> Result<Vec<CaseId>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT case_id FROM case_file")
        .fetch_all(pool)
        .await
        .map_err(other)?;
    ids.iter().map(|id| case_id_of(id)).collect()
}

pub(crate) async fn contact_ids(pool: &SqlitePool) -> Result<Vec<ContactId>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT contact_id FROM contact")
        .fetch_all(pool)
        .await
        .map_err(other)?;
    ids.iter().map(|id| contact_id_of(id)).collect()
}

/// Drops the non-unique indexes of the person and contact tables (the
/// person's matching keys and the contact's paths go in at random places,
/// dearer than sorting them once at the end); returns their `CREATE`
/// statements, to be run again.
pub(crate) async fn suspend_indexes(conn: &mut SqliteConnection) -> Result<Vec<String>> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
           AND tbl_name IN ('person', 'contact') AND sql IS NOT NULL \
           AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let mut made = Vec::with_capacity(indexes.len());
    for (name, sql) in indexes {
        sqlx::query(&format!("DROP INDEX \"{name}\""))
            .execute(&mut *conn)
            .await
            .map_err(other)?;
        made.push(sql);
    }
    Ok(made)
}

/// Builds the indexes [`suspend_indexes`] dropped again.
///
/// SQLite sorts an index's keys in memory as one linked list of records, each
/// allocated alone, when temporary storage is in memory (the connection's
/// setting): 10 s for one index of 6M people. Sorted in runs of a few
/// MiB (the sorter's run is the page cache's size) by two worker threads and
/// merged through temporary files, the same index takes 2 s. The settings are
/// the connection's own, so they are set back afterwards, whatever happens.
pub(crate) async fn restore_indexes(conn: &mut SqliteConnection, sql: &[String]) -> Result<()> {
    if sql.is_empty() {
        return Ok(());
    }
    let (cache_size, temp_store): (i64, i64) =
        sqlx::query_as("SELECT cache_size, temp_store FROM pragma_cache_size, pragma_temp_store")
            .fetch_one(&mut *conn)
            .await
            .map_err(other)?;
    pragmas(
        conn,
        &["temp_store = FILE", "threads = 2", "cache_size = -2048"],
    )
    .await?;
    let mut built = Ok(());
    for create in sql {
        built = sqlx::query(create).execute(&mut *conn).await.map(drop);
        if built.is_err() {
            break;
        }
    }
    pragmas(
        conn,
        &[
            &format!("temp_store = {temp_store}"),
            "threads = 0",
            &format!("cache_size = {cache_size}"),
        ],
    )
    .await?;
    built.map_err(other)
}

async fn pragmas(conn: &mut SqliteConnection, settings: &[&str]) -> Result<()> {
    for setting in settings {
        sqlx::query(&format!("PRAGMA {setting}"))
            .execute(&mut *conn)
            .await
            .map_err(other)?;
    }
    Ok(())
}

pub(crate) async fn next_person_id(conn: &mut SqliteConnection) -> Result<i64> {
    next_key(conn, "person", "id").await
}

/// Inserts person records with the ids given (`ids[i]` for `persons[i]`).
pub(crate) async fn insert_persons(
    conn: &mut SqliteConnection,
    ids: &[i64],
    persons: &[NewPerson],
) -> Result<()> {
    NewPerson::one_id_each(ids, persons)?;
    let chunks: Vec<(&[i64], &[NewPerson])> = ids
        .chunks(RECORD_CHUNK)
        .zip(persons.chunks(RECORD_CHUNK))
        .collect();
    let statement = |n: usize| {
        let (ids, chunk) = chunks.get(n)?;
        let mut r = Records::new(chunk.len());
        // ids drawn together follow each other: a counter, not a column
        if ids.windows(2).all(|w| w[1] == w[0] + 1) {
            r.key("id", ids[0]);
        } else {
            r.int("id", ids.iter().copied());
        }
        let refs: Vec<&NewPerson> = chunk.iter().collect();
        person_records(&mut r, &refs);
        Some(r.statement("person", ""))
    };
    run_overlapped(conn, statement).await.map_err(|(_, e)| e)
}

pub(crate) async fn update_person(
    conn: &mut SqliteConnection,
    id: i64,
    person: &NewPerson,
) -> Result<()> {
    let p = &person.person;
    let done = sqlx::query(
        "UPDATE person SET name = ?2, id_number = ?3, sex = ?4, age = ?5, phone = ?6, \
         address = ?7, home_region = ?8, home_path = ?9, name_hash = ?10 WHERE id = ?1",
    )
    .bind(id)
    .bind(p.name.as_ref().map(PersonName::as_str))
    .bind(p.id_number.as_ref().and_then(|n| id_number_key(n.reveal())))
    .bind(p.sex.name())
    .bind(p.age.map(|a| i64::from(a.years())))
    .bind(p.phone.as_ref().and_then(|x| phone_key(x.as_str())))
    .bind(p.address.as_ref().map(Place::as_str))
    .bind(p.home_region.as_str())
    .bind(&person.home_path)
    .bind(p.name.as_ref().map(|x| name_hash(x.as_str())))
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("person {id}")));
    }
    Ok(())
}

pub(crate) async fn merge_person(
    conn: &mut SqliteConnection,
    keep: i64,
    merged: i64,
) -> Result<()> {
    if keep == merged {
        return Err(StoreError::Conflict(format!(
            "person {keep} cannot be merged into itself"
        )));
    }
    let found: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, merged_into FROM person WHERE id IN (?1, ?2)")
            .bind(keep)
            .bind(merged)
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
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
    for sql in [
        "UPDATE person SET merged_into = ?1 WHERE id = ?2 OR merged_into = ?2",
        "UPDATE case_file SET person_id = ?1 WHERE person_id = ?2",
        "UPDATE contact SET person_id = ?1 WHERE person_id = ?2",
    ] {
        sqlx::query(sql)
            .bind(keep)
            .bind(merged)
            .execute(&mut *conn)
            .await
            .map_err(other)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

/// The `case_file` columns of the cases (the key is a counter).
fn case_records<'a>(r: &mut Records<'a>, entries: &'a [CaseEntry]) {
    let cases = || entries.iter().map(|e| &e.case);
    r.text("case_id", cases().map(|c| Cow::Borrowed(c.id().as_str())));
    r.int("person_id", entries.iter().map(|e| e.person_id));
    r.text(
        "reporting_unit",
        cases().map(|c| Cow::Borrowed(c.reporting_unit().as_str())),
    );
    r.text("origin", cases().map(|c| Cow::Borrowed(c.origin().name())));
    r.text_or_null(
        "place_of_exposure",
        cases().map(|c| c.place_of_exposure().map(|p| Cow::Borrowed(p.as_str()))),
    );
    r.text_or_null("onset", cases().map(|c| opt_date_text(c.dates().onset)));
    r.text_or_null(
        "first_visit",
        cases().map(|c| opt_date_text(c.dates().first_visit)),
    );
    r.text("report_date", cases().map(|c| date_text(c.dates().report)));
    r.text_or_null(
        "from_contact",
        cases().map(|c| c.from_contact().map(|k| Cow::Borrowed(k.as_str()))),
    );
    r.text("opened_on", cases().map(|c| date_text(c.opened_on())));
    r.int("version", cases().map(|c| i64::from(c.version())));
    r.text(
        "home_path",
        entries.iter().map(|e| Cow::Borrowed(e.home_path.as_str())),
    );
    r.text_or_null(
        "report_path",
        entries
            .iter()
            .map(|e| other_path(&e.home_path, &e.report_path).map(Cow::Borrowed)),
    );
    r.text(
        "classification",
        cases().map(|c| Cow::Borrowed(c.classification().name())),
    );
    r.text_or_null(
        "severity",
        cases().map(|c| c.severity().map(|(s, _)| Cow::Borrowed(s.name()))),
    );
    r.text_or_null(
        "severity_date",
        cases().map(|c| opt_date_text(c.severity().map(|(_, d)| d))),
    );
    r.text_or_null(
        "facility_region",
        cases().map(|c| {
            c.admission()
                .map(|a| Cow::Borrowed(a.facility.region.as_str()))
        }),
    );
    r.text_or_null(
        "facility_name",
        cases().map(|c| {
            c.admission()
                .map(|a| Cow::Borrowed(a.facility.name.as_str()))
        }),
    );
    r.text_or_null(
        "admission_date",
        cases().map(|c| opt_date_text(c.admission().map(|a| a.date))),
    );
    r.text_or_null(
        "outcome",
        cases().map(|c| c.outcome().map(|(o, _)| Cow::Borrowed(o.name()))),
    );
    r.text_or_null(
        "outcome_date",
        cases().map(|c| opt_date_text(c.outcome().map(|(_, d)| d))),
    );
    r.text_or_null(
        "confirmation_date",
        cases().map(|c| opt_date_text(c.dates().confirmation)),
    );
    r.text_or_null(
        "exclusion_date",
        cases().map(|c| opt_date_text(c.dates().exclusion)),
    );
}

/// The history records of cases, by key.
fn event_records<'a>(events: &[(i64, &'a CaseRecord)]) -> Records<'a> {
    let mut r = Records::new(events.len());
    r.int("case_key", events.iter().map(|(k, _)| *k));
    r.int("version", events.iter().map(|(_, e)| i64::from(e.version)));
    r.text(
        "recorded_on",
        events.iter().map(|(_, e)| date_text(e.recorded_on)),
    );
    r.text(
        "kind",
        events.iter().map(|(_, e)| Cow::Borrowed(e.event.name())),
    );
    r.text(
        "date",
        events.iter().map(|(_, e)| date_text(e.event.date())),
    );
    r.text_or_null(
        "classification_to",
        events.iter().map(|(_, e)| match &e.event {
            CaseEvent::Revise { to, .. } => Some(Cow::Borrowed(to.name())),
            _ => None,
        }),
    );
    r.text_or_null(
        "reason",
        events.iter().map(|(_, e)| match &e.event {
            // a reason is never blank (the rule `revision_needs_reason`)
            CaseEvent::Revise { reason, .. } => Some(Cow::Borrowed(reason.as_str())),
            _ => None,
        }),
    );
    r.text_or_null(
        "severity",
        events.iter().map(|(_, e)| match &e.event {
            CaseEvent::SetSeverity { severity, .. } => Some(Cow::Borrowed(severity.name())),
            _ => None,
        }),
    );
    r.text_or_null(
        "facility_region",
        events.iter().map(|(_, e)| match &e.event {
            CaseEvent::Admit { facility, .. } => Some(Cow::Borrowed(facility.region.as_str())),
            _ => None,
        }),
    );
    r.text_or_null(
        "facility_name",
        events.iter().map(|(_, e)| match &e.event {
            CaseEvent::Admit { facility, .. } => Some(Cow::Borrowed(facility.name.as_str())),
            _ => None,
        }),
    );
    r
}

fn source_records<'a>(sources: &[(i64, i64, &'a CaseId)]) -> Records<'a> {
    let mut r = Records::new(sources.len());
    r.int("case_key", sources.iter().map(|(k, _, _)| *k));
    r.int("ordinal", sources.iter().map(|(_, o, _)| *o));
    r.text(
        "source_case_id",
        sources.iter().map(|(_, _, s)| Cow::Borrowed(s.as_str())),
    );
    r
}

/// A conflict naming the first of `ids` that is stored (or given twice).
async fn which_exists(
    conn: &mut SqliteConnection,
    table: &str,
    column: &str,
    what: &str,
    ids: &[&str],
) -> StoreError {
    let sql = format!(
        "SELECT x.{column} FROM json_each(?1) j JOIN {table} x ON x.{column} = j.value \
         ORDER BY j.key LIMIT 1"
    );
    let found: std::result::Result<Option<String>, _> = sqlx::query_scalar(&sql)
        .bind(json_strings(ids.iter().copied()))
        .fetch_optional(&mut *conn)
        .await;
    match found {
        Ok(Some(id)) => StoreError::Conflict(format!("{what} {id} already exists")),
        Ok(None) => StoreError::Conflict(format!("a {what} id already exists")),
        Err(e) => other(e),
    }
}

fn given_twice<'a>(what: &str, ids: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(StoreError::Conflict(format!("{what} {id} is given twice")));
        }
    }
    Ok(())
}

pub(crate) async fn insert_cases(
    conn: &mut SqliteConnection,
    cases: &[CaseEntry],
) -> Result<Vec<i64>> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    given_twice("case", cases.iter().map(|e| e.case.id().as_str()))?;
    let start = next_key(conn, "case_file", "key").await?;
    for (n, chunk) in cases.chunks(RECORD_CHUNK).enumerate() {
        let first = start + (n * RECORD_CHUNK) as i64;
        let mut r = Records::new(chunk.len());
        r.key("key", first);
        case_records(&mut r, chunk);
        match r.insert(conn, "case_file", "").await {
            Err(StoreError::Conflict(_)) => {
                let ids: Vec<&str> = chunk.iter().map(|e| e.case.id().as_str()).collect();
                return Err(which_exists(conn, "case_file", "case_id", "case", &ids).await);
            }
            other => other?,
        }
        let mut events = Vec::new();
        let mut sources = Vec::new();
        for (i, e) in chunk.iter().enumerate() {
            let key = first + i as i64;
            events.extend(e.case.history().iter().map(|h| (key, h)));
            sources.extend(
                e.case
                    .source_cases()
                    .iter()
                    .enumerate()
                    .map(|(o, s)| (key, o as i64, s)),
            );
        }
        event_records(&events)
            .insert(conn, "case_event", "")
            .await?;
        source_records(&sources)
            .insert(conn, "case_source", "")
            .await?;
    }
    Ok((0..cases.len() as i64).map(|i| start + i).collect())
}

pub(crate) async fn update_case(
    conn: &mut SqliteConnection,
    entry: &CaseEntry,
    expected_version: u32,
) -> Result<()> {
    let c = &entry.case;
    let stored: Option<(i64, i64)> =
        sqlx::query_as("SELECT key, version FROM case_file WHERE case_id = ?1")
            .bind(c.id().as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    let Some((key, version)) = stored else {
        return Err(StoreError::NotFound(format!("case {}", c.id())));
    };
    if version != i64::from(expected_version) {
        return Err(StoreError::Conflict(format!(
            "case {} is at version {version}, not {expected_version}: someone changed it first",
            c.id()
        )));
    }
    if c.version() < expected_version {
        return Err(StoreError::Conflict(format!(
            "case {} at version {} is older than the stored version {version}",
            c.id(),
            c.version()
        )));
    }
    sqlx::query(
        "UPDATE case_file SET person_id = ?2, reporting_unit = ?3, origin = ?4, \
         place_of_exposure = ?5, onset = ?6, first_visit = ?7, report_date = ?8, \
         from_contact = ?9, version = ?10, home_path = ?11, report_path = ?12, \
         classification = ?13, severity = ?14, severity_date = ?15, facility_region = ?16, \
         facility_name = ?17, admission_date = ?18, outcome = ?19, outcome_date = ?20, \
         confirmation_date = ?21, exclusion_date = ?22 WHERE key = ?1",
    )
    .bind(key)
    .bind(entry.person_id)
    .bind(c.reporting_unit().as_str())
    .bind(c.origin().name())
    .bind(c.place_of_exposure().map(Place::as_str))
    .bind(c.dates().onset)
    .bind(c.dates().first_visit)
    .bind(c.dates().report)
    .bind(c.from_contact().map(ContactId::as_str))
    .bind(i64::from(c.version()))
    .bind(&entry.home_path)
    .bind(other_path(&entry.home_path, &entry.report_path))
    .bind(c.classification().name())
    .bind(c.severity().map(|(s, _)| s.name()))
    .bind(c.severity().map(|(_, d)| d))
    .bind(c.admission().map(|a| a.facility.region.as_str()))
    .bind(c.admission().map(|a| a.facility.name.as_str()))
    .bind(c.admission().map(|a| a.date))
    .bind(c.outcome().map(|(o, _)| o.name()))
    .bind(c.outcome().map(|(_, d)| d))
    .bind(c.dates().confirmation)
    .bind(c.dates().exclusion)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    let events: Vec<(i64, &CaseRecord)> = c
        .history()
        .iter()
        .filter(|h| h.version > expected_version)
        .map(|h| (key, h))
        .collect();
    event_records(&events)
        .insert(conn, "case_event", "")
        .await?;
    sqlx::query("DELETE FROM case_source WHERE case_key = ?1")
        .bind(key)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    let sources: Vec<(i64, i64, &CaseId)> = c
        .source_cases()
        .iter()
        .enumerate()
        .map(|(o, s)| (key, o as i64, s))
        .collect();
    source_records(&sources)
        .insert(conn, "case_source", "")
        .await
}

fn event_from_row(row: &SqliteRow) -> Result<CaseRecord> {
    let kind: String = get(row, "kind")?;
    let date: NaiveDate = get(row, "date")?;
    let text = |name: &str| -> Result<String> {
        get::<Option<String>>(row, name)?
            .ok_or_else(|| corrupt(format!("a `{kind}` event without its {name}")))
    };
    let event = match kind.as_str() {
        "confirm" => CaseEvent::Confirm { date },
        "exclude" => CaseEvent::Exclude { date },
        "revise" => {
            let to = text("classification_to")?;
            CaseEvent::Revise {
                to: Classification::parse(&to).ok_or_else(|| bad("classification", &to))?,
                date,
                reason: text("reason")?,
            }
        }
        "set_severity" => {
            let s = text("severity")?;
            CaseEvent::SetSeverity {
                severity: Severity::parse(&s).ok_or_else(|| bad("severity", &s))?,
                date,
            }
        }
        "admit" => {
            let name = text("facility_name")?;
            CaseEvent::Admit {
                facility: Facility {
                    region: region_code(&text("facility_region")?)?,
                    name: Place::parse("facility", &name).map_err(|_| bad("facility", &name))?,
                },
                date,
            }
        }
        "discharge" => CaseEvent::Discharge { date },
        "die" => CaseEvent::Die { date },
        _ => return Err(bad("case event", &kind)),
    };
    Ok(CaseRecord {
        version: get::<i64>(row, "version")?
            .try_into()
            .map_err(|_| corrupt("a case version out of range"))?,
        event,
        recorded_on: get(row, "recorded_on")?,
    })
}

/// Rebuild the cases of `rows` (`CASE_COLUMNS`), with their history and
/// sources read in one query each.
async fn assemble_cases(
    conn: &mut SqliteConnection,
    rows: Vec<SqliteRow>,
) -> Result<Vec<StoredCase>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<i64> = rows
        .iter()
        .map(|r| get::<i64>(r, "key"))
        .collect::<Result<_>>()?;
    let json = json_ints(&keys);
    let mut history: HashMap<i64, Vec<CaseRecord>> = HashMap::new();
    let events = sqlx::query(
        "SELECT case_key, version, recorded_on, kind, date, classification_to, reason, severity, \
         facility_region, facility_name FROM case_event \
         WHERE case_key IN (SELECT value FROM json_each(?1)) ORDER BY case_key, version",
    )
    .bind(&json)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    for row in &events {
        history
            .entry(get(row, "case_key")?)
            .or_default()
            .push(event_from_row(row)?);
    }
    let mut sources: HashMap<i64, Vec<CaseId>> = HashMap::new();
    let rows_s: Vec<(i64, String)> = sqlx::query_as(
        "SELECT case_key, source_case_id FROM case_source \
         WHERE case_key IN (SELECT value FROM json_each(?1)) ORDER BY case_key, ordinal",
    )
    .bind(&json)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    for (key, id) in rows_s {
        let id = case_id_of(&id)?;
        sources.entry(key).or_default().push(id);
    }
    rows.iter()
        .map(|row| {
            let key: i64 = get(row, "key")?;
            let id: String = get(row, "case_id")?;
            let origin: String = get(row, "origin")?;
            let place: Option<String> = get(row, "place_of_exposure")?;
            let from_contact: Option<String> = get(row, "from_contact")?;
            let new = NewCase {
                id: case_id_of(&id)?,
                person: person_from_row(row)?,
                reporting_unit: region_code(&get::<String>(row, "reporting_unit")?)?,
                origin: Origin::parse(&origin).ok_or_else(|| bad("origin", &origin))?,
                place_of_exposure: place
                    .map(|p| Place::parse("place_of_exposure", &p).map_err(|_| bad("place", p)))
                    .transpose()?,
                onset: get(row, "onset")?,
                first_visit: get(row, "first_visit")?,
                report: get(row, "report_date")?,
                source_cases: sources.remove(&key).unwrap_or_default(),
                from_contact: from_contact.map(|k| contact_id_of(&k)).transpose()?,
            };
            let opened_on: NaiveDate = get(row, "opened_on")?;
            let records = history.remove(&key).unwrap_or_default();
            let case = Case::replay(new, opened_on, &records)
                .map_err(|e| corrupt(format!("case {id} does not replay: {e}")))?;
            Ok(StoredCase {
                key,
                entry: CaseEntry {
                    case,
                    person_id: get(row, "person_id")?,
                    home_path: get(row, "home_path")?,
                    report_path: get(row, "report_path")?,
                },
            })
        })
        .collect()
}

const CASE_FROM: &str = "FROM case_file c JOIN person p ON p.id = c.person_id";

pub(crate) async fn case(pool: &SqlitePool, id: &CaseId) -> Result<Option<StoredCase>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let sql = format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.case_id = ?1");
    let rows = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
    Ok(assemble_cases(&mut tx, rows).await?.pop())
}

pub(crate) async fn cases_by_keys(pool: &SqlitePool, keys: &[i64]) -> Result<Vec<StoredCase>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let sql = format!(
        "SELECT {CASE_COLUMNS} {CASE_FROM} \
         WHERE c.key IN (SELECT value FROM json_each(?1)) ORDER BY c.key"
    );
    let mut out = Vec::with_capacity(keys.len());
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for chunk in sorted.chunks(JSON_CHUNK) {
        let rows = sqlx::query(&sql)
            .bind(json_ints(chunk))
            .fetch_all(&mut *tx)
            .await
            .map_err(other)?;
        out.extend(assemble_cases(&mut tx, rows).await?);
    }
    Ok(out)
}

/// `(home_path in the subtree OR report_path in it)` for the alias, binding
/// the range.
fn push_visible(qb: &mut QueryBuilder<'_, Sqlite>, alias: &str, path: &str) {
    let (lo, hi) = subtree_range(path);
    qb.push(format!("(({alias}.home_path >= "))
        .push_bind(lo.clone())
        .push(format!(" AND {alias}.home_path < "))
        .push_bind(hi.clone())
        .push(format!(") OR ({alias}.report_path >= "))
        .push_bind(lo)
        .push(format!(" AND {alias}.report_path < "))
        .push_bind(hi)
        .push("))");
}

pub(crate) async fn cases(pool: &SqlitePool, filter: &CaseFilter) -> Result<Vec<StoredCase>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE "));
    push_visible(&mut qb, "c", &filter.path);
    if let Some(from) = filter.reported_from {
        qb.push(" AND c.report_date >= ").push_bind(from);
    }
    if let Some(to) = filter.reported_to {
        qb.push(" AND c.report_date <= ").push_bind(to);
    }
    if let Some(class) = filter.classification {
        qb.push(" AND c.classification = ").push_bind(class.name());
    }
    if let Some(f) = &filter.facility {
        qb.push(" AND c.facility_region = ")
            .push_bind(f.region.as_str().to_owned())
            .push(" AND c.facility_name = ")
            .push_bind(f.name.as_str().to_owned());
    }
    if let Some(after) = &filter.after {
        qb.push(" AND c.case_id > ")
            .push_bind(after.as_str().to_owned());
    }
    qb.push(" ORDER BY c.case_id LIMIT ")
        .push_bind(i64::from(filter.limit));
    let rows = qb.build().fetch_all(&mut *tx).await.map_err(other)?;
    assemble_cases(&mut tx, rows).await
}

pub(crate) async fn existing_cases(pool: &SqlitePool, ids: &[CaseId]) -> Result<Vec<CaseId>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(JSON_CHUNK) {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT c.case_id FROM json_each(?1) j JOIN case_file c ON c.case_id = j.value \
             ORDER BY j.key",
        )
        .bind(json_strings(chunk.iter().map(CaseId::as_str)))
        .fetch_all(pool)
        .await
        .map_err(other)?;
        for id in found {
            out.push(case_id_of(&id)?);
        }
    }
    Ok(out)
}

pub(crate) async fn cases_of_person(pool: &SqlitePool, person_id: i64) -> Result<Vec<StoredCase>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let sql = format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.person_id = ?1 ORDER BY c.key");
    let rows = sqlx::query(&sql)
        .bind(person_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
    assemble_cases(&mut tx, rows).await
}

// ---------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------

fn contact_records<'a>(r: &mut Records<'a>, entries: &'a [ContactEntry]) {
    let contacts = || entries.iter().map(|e| &e.contact);
    r.text(
        "contact_id",
        contacts().map(|c| Cow::Borrowed(c.id().as_str())),
    );
    r.int("person_id", entries.iter().map(|e| e.person_id));
    r.text(
        "reporting_unit",
        entries
            .iter()
            .map(|e| Cow::Borrowed(e.reporting_unit.as_str())),
    );
    r.text("place", contacts().map(|c| Cow::Borrowed(c.place().name())));
    r.text_or_null(
        "site",
        contacts().map(|c| match c.place() {
            ObservationPlace::Centralised { site } => Some(Cow::Borrowed(site.as_str())),
            ObservationPlace::Home => None,
        }),
    );
    r.text("registered", contacts().map(|c| date_text(c.registered())));
    r.int("period", contacts().map(|c| i64::from(c.period().days())));
    r.text_or_null(
        "converted_case_id",
        contacts().map(|c| c.converted().map(|(id, _)| Cow::Borrowed(id.as_str()))),
    );
    r.text_or_null(
        "converted_on",
        contacts().map(|c| opt_date_text(c.converted().map(|(_, d)| d))),
    );
    r.text(
        "release_date",
        contacts().map(|c| date_text(c.release_date())),
    );
    r.int("version", entries.iter().map(|e| i64::from(e.version)));
    r.text(
        "home_path",
        entries.iter().map(|e| Cow::Borrowed(e.home_path.as_str())),
    );
    r.text_or_null(
        "report_path",
        entries
            .iter()
            .map(|e| other_path(&e.home_path, &e.report_path).map(Cow::Borrowed)),
    );
}

fn link_records<'a>(links: &[(i64, i64, &'a ContactLink)]) -> Records<'a> {
    let mut r = Records::new(links.len());
    r.int("contact_key", links.iter().map(|(k, _, _)| *k));
    r.int("ordinal", links.iter().map(|(_, o, _)| *o));
    r.text(
        "source_case_id",
        links
            .iter()
            .map(|(_, _, l)| Cow::Borrowed(l.source.as_str())),
    );
    r.text(
        "exposure",
        links
            .iter()
            .map(|(_, _, l)| Cow::Borrowed(l.exposure.name())),
    );
    r.text(
        "last_exposure",
        links.iter().map(|(_, _, l)| date_text(l.last_exposure)),
    );
    r
}

fn follow_up_records(follow_ups: &[(i64, &FollowUp)]) -> Records<'static> {
    let mut r = Records::new(follow_ups.len());
    r.int("contact_key", follow_ups.iter().map(|(k, _)| *k));
    r.text("date", follow_ups.iter().map(|(_, f)| date_text(f.date)));
    r.int(
        "reached",
        follow_ups.iter().map(|(_, f)| i64::from(f.is_reached())),
    );
    r.int_or_null(
        "temperature",
        follow_ups.iter().map(|(_, f)| match f.result {
            FollowUpResult::Reached { temperature, .. } => {
                Some((f64::from(temperature.celsius()) * TEMPERATURE_SCALE) as i64)
            }
            FollowUpResult::NotReached => None,
        }),
    );
    r.wrap("NULLIF(#E, -1) / 16777216.0"); // TEMPERATURE_SCALE
    r.text(
        "symptoms",
        follow_ups.iter().map(|(_, f)| match f.result {
            FollowUpResult::Reached { symptoms, .. } => Cow::Owned(format!("+{symptoms}")),
            FollowUpResult::NotReached => Cow::Borrowed(""),
        }),
    );
    // `+` and the symptoms when reached ('' for none), NULL when not
    r.wrap("substr(NULLIF(#E, ''), 2)");
    r
}

/// Write the links and follow-ups of contacts with their keys.
/// The links of contacts (with their keys), as one statement.
fn link_statement<'a>(contacts: impl Iterator<Item = (i64, &'a Contact)>) -> Option<Insert> {
    let links: Vec<(i64, i64, &ContactLink)> = contacts
        .flat_map(|(key, c)| {
            c.links()
                .iter()
                .enumerate()
                .map(move |(o, l)| (key, o as i64, l))
        })
        .collect();
    link_records(&links).statement("contact_link", "")
}

/// The follow-ups of contacts (with their keys), as one statement.
fn follow_up_statement<'a>(contacts: impl Iterator<Item = (i64, &'a Contact)>) -> Option<Insert> {
    let follow_ups: Vec<(i64, &FollowUp)> = contacts
        .flat_map(|(key, c)| c.follow_ups().iter().map(move |f| (key, f)))
        .collect();
    follow_up_records(&follow_ups).statement("follow_up", "")
}

async fn insert_contact_parts(
    conn: &mut SqliteConnection,
    contacts: impl Iterator<Item = (i64, &Contact)> + Clone,
) -> Result<()> {
    if let Some(links) = link_statement(contacts.clone()) {
        links.run(conn).await?;
    }
    match follow_up_statement(contacts) {
        Some(follow_ups) => follow_ups.run(conn).await,
        None => Ok(()),
    }
}

pub(crate) async fn insert_contacts(
    conn: &mut SqliteConnection,
    contacts: &[ContactEntry],
) -> Result<Vec<i64>> {
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    given_twice("contact", contacts.iter().map(|e| e.contact.id().as_str()))?;
    let start = next_key(conn, "contact", "key").await?;
    // each chunk: its contacts, their links, their follow-ups
    const PARTS: usize = 3;
    let chunks: Vec<&[ContactEntry]> = contacts.chunks(RECORD_CHUNK).collect();
    let statement = |s: usize| {
        let chunk = chunks.get(s / PARTS)?;
        let first = start + (s / PARTS * RECORD_CHUNK) as i64;
        let keyed = || {
            chunk
                .iter()
                .enumerate()
                .map(move |(i, e)| (first + i as i64, &e.contact))
        };
        Some(match s % PARTS {
            0 => {
                let mut r = Records::new(chunk.len());
                r.key("key", first);
                contact_records(&mut r, chunk);
                r.statement("contact", "")
            }
            1 => link_statement(keyed()),
            _ => follow_up_statement(keyed()),
        })
    };
    match run_overlapped(conn, statement).await {
        Ok(()) => Ok((0..contacts.len() as i64).map(|i| start + i).collect()),
        Err((s, StoreError::Conflict(_))) if s % PARTS == 0 => {
            let chunk = chunks.get(s / PARTS).copied().unwrap_or_default();
            let ids: Vec<&str> = chunk.iter().map(|e| e.contact.id().as_str()).collect();
            Err(which_exists(conn, "contact", "contact_id", "contact", &ids).await)
        }
        Err((_, e)) => Err(e),
    }
}

pub(crate) async fn update_contact(
    conn: &mut SqliteConnection,
    entry: &ContactEntry,
) -> Result<()> {
    let c = &entry.contact;
    let stored: Option<(i64, i64)> =
        sqlx::query_as("SELECT key, version FROM contact WHERE contact_id = ?1")
            .bind(c.id().as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(other)?;
    let Some((key, version)) = stored else {
        return Err(StoreError::NotFound(format!("contact {}", c.id())));
    };
    if version + 1 != i64::from(entry.version) {
        return Err(StoreError::Conflict(format!(
            "contact {} is at version {version}: version {} does not follow it \
             (someone changed it first)",
            c.id(),
            entry.version
        )));
    }
    let site = match c.place() {
        ObservationPlace::Centralised { site } => Some(site.as_str()),
        ObservationPlace::Home => None,
    };
    sqlx::query(
        "UPDATE contact SET person_id = ?2, reporting_unit = ?3, place = ?4, site = ?5, \
         registered = ?6, period = ?7, converted_case_id = ?8, converted_on = ?9, \
         release_date = ?10, version = ?11, home_path = ?12, report_path = ?13 WHERE key = ?1",
    )
    .bind(key)
    .bind(entry.person_id)
    .bind(entry.reporting_unit.as_str())
    .bind(c.place().name())
    .bind(site)
    .bind(c.registered())
    .bind(i64::from(c.period().days()))
    .bind(c.converted().map(|(id, _)| id.as_str()))
    .bind(c.converted().map(|(_, d)| d))
    .bind(c.release_date())
    .bind(i64::from(entry.version))
    .bind(&entry.home_path)
    .bind(other_path(&entry.home_path, &entry.report_path))
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    for sql in [
        "DELETE FROM contact_link WHERE contact_key = ?1",
        "DELETE FROM follow_up WHERE contact_key = ?1",
    ] {
        sqlx::query(sql)
            .bind(key)
            .execute(&mut *conn)
            .await
            .map_err(other)?;
    }
    insert_contact_parts(conn, std::iter::once((key, c))).await
}

fn follow_up_from_row(row: &SqliteRow) -> Result<FollowUp> {
    let date: NaiveDate = get(row, "date")?;
    let reached: bool = get::<i64>(row, "reached")? != 0;
    let result = if reached {
        let t: Option<f64> = get(row, "temperature")?;
        let t = t.ok_or_else(|| corrupt("a follow-up reached without a temperature"))?;
        let symptoms: Option<String> = get(row, "symptoms")?;
        let symptoms = symptoms.unwrap_or_default();
        FollowUpResult::Reached {
            temperature: Temperature::new(t as f32).map_err(|_| bad("temperature", t))?,
            symptoms: Symptoms::parse(&symptoms).map_err(|_| bad("symptoms", &symptoms))?,
        }
    } else {
        FollowUpResult::NotReached
    };
    Ok(FollowUp { date, result })
}

/// Rebuild the contacts of `rows` (`CONTACT_COLUMNS`), with their links and
/// follow-ups read in one query each.
async fn assemble_contacts(
    conn: &mut SqliteConnection,
    rows: Vec<SqliteRow>,
) -> Result<Vec<StoredContact>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<i64> = rows
        .iter()
        .map(|r| get::<i64>(r, "key"))
        .collect::<Result<_>>()?;
    let json = json_ints(&keys);
    let mut links: HashMap<i64, Vec<ContactLink>> = HashMap::new();
    let link_rows: Vec<(i64, String, String, NaiveDate)> = sqlx::query_as(
        "SELECT contact_key, source_case_id, exposure, last_exposure FROM contact_link \
         WHERE contact_key IN (SELECT value FROM json_each(?1)) ORDER BY contact_key, ordinal",
    )
    .bind(&json)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    for (key, source, exposure, last_exposure) in link_rows {
        links.entry(key).or_default().push(ContactLink {
            source: case_id_of(&source)?,
            exposure: Exposure::parse(&exposure).ok_or_else(|| bad("exposure", &exposure))?,
            last_exposure,
        });
    }
    let mut follow_ups: HashMap<i64, Vec<FollowUp>> = HashMap::new();
    let f_rows = sqlx::query(
        "SELECT contact_key, date, reached, temperature, symptoms FROM follow_up \
         WHERE contact_key IN (SELECT value FROM json_each(?1)) ORDER BY contact_key, date",
    )
    .bind(&json)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    for row in &f_rows {
        follow_ups
            .entry(get(row, "contact_key")?)
            .or_default()
            .push(follow_up_from_row(row)?);
    }
    rows.iter()
        .map(|row| {
            let key: i64 = get(row, "key")?;
            let id: String = get(row, "contact_id")?;
            let place: String = get(row, "place")?;
            let site: Option<String> = get(row, "site")?;
            let place = match (place.as_str(), site) {
                ("home", _) => ObservationPlace::Home,
                ("centralised", Some(site)) => ObservationPlace::Centralised {
                    site: Place::parse("site", &site).map_err(|_| bad("site", site))?,
                },
                _ => return Err(bad("place of observation", &place)),
            };
            let period: i64 = get(row, "period")?;
            let new = NewContact {
                id: contact_id_of(&id)?,
                person: person_from_row(row)?,
                links: links.remove(&key).unwrap_or_default(),
                place,
                registered: get(row, "registered")?,
                period: ObservationPeriod::new(period).map_err(|_| bad("period", period))?,
            };
            let converted_id: Option<String> = get(row, "converted_case_id")?;
            let converted_on: Option<NaiveDate> = get(row, "converted_on")?;
            let converted = match (converted_id, converted_on) {
                (Some(c), Some(d)) => Some((case_id_of(&c)?, d)),
                (None, None) => None,
                _ => return Err(corrupt(format!("contact {id}: half a conversion"))),
            };
            let contact =
                Contact::restore(new, follow_ups.remove(&key).unwrap_or_default(), converted)
                    .map_err(|e| corrupt(format!("contact {id} does not restore: {e}")))?;
            let reporting_unit: String = get(row, "reporting_unit")?;
            let version: i64 = get(row, "version")?;
            Ok(StoredContact {
                key,
                entry: ContactEntry {
                    contact,
                    person_id: get(row, "person_id")?,
                    reporting_unit: region_code(&reporting_unit)?,
                    home_path: get(row, "home_path")?,
                    report_path: get(row, "report_path")?,
                    version: u32::try_from(version).map_err(|_| bad("version", version))?,
                },
            })
        })
        .collect()
}

const CONTACT_FROM: &str = "FROM contact k JOIN person p ON p.id = k.person_id";

pub(crate) async fn contact(pool: &SqlitePool, id: &ContactId) -> Result<Option<StoredContact>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let sql = format!("SELECT {CONTACT_COLUMNS} {CONTACT_FROM} WHERE k.contact_id = ?1");
    let rows = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
    Ok(assemble_contacts(&mut tx, rows).await?.pop())
}

pub(crate) async fn contacts_by_keys(
    pool: &SqlitePool,
    keys: &[i64],
) -> Result<Vec<StoredContact>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let sql = format!(
        "SELECT {CONTACT_COLUMNS} {CONTACT_FROM} \
         WHERE k.key IN (SELECT value FROM json_each(?1)) ORDER BY k.key"
    );
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(JSON_CHUNK) {
        let rows = sqlx::query(&sql)
            .bind(json_ints(chunk))
            .fetch_all(&mut *tx)
            .await
            .map_err(other)?;
        out.extend(assemble_contacts(&mut tx, rows).await?);
    }
    Ok(out)
}

pub(crate) async fn contacts(
    pool: &SqlitePool,
    filter: &ContactFilter,
) -> Result<Vec<StoredContact>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let mut qb =
        QueryBuilder::<Sqlite>::new(format!("SELECT {CONTACT_COLUMNS} {CONTACT_FROM} WHERE "));
    push_visible(&mut qb, "k", &filter.path);
    if let Some(day) = filter.observed_on {
        qb.push(" AND k.registered <= ")
            .push_bind(day)
            .push(" AND k.release_date > ")
            .push_bind(day)
            .push(" AND (k.converted_on IS NULL OR k.converted_on > ")
            .push_bind(day)
            .push(")");
    }
    if let Some(after) = &filter.after {
        qb.push(" AND k.contact_id > ")
            .push_bind(after.as_str().to_owned());
    }
    qb.push(" ORDER BY k.contact_id LIMIT ")
        .push_bind(i64::from(filter.limit));
    let rows = qb.build().fetch_all(&mut *tx).await.map_err(other)?;
    assemble_contacts(&mut tx, rows).await
}

pub(crate) async fn existing_contacts(
    pool: &SqlitePool,
    ids: &[ContactId],
) -> Result<Vec<ContactId>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(JSON_CHUNK) {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT k.contact_id FROM json_each(?1) j JOIN contact k ON k.contact_id = j.value \
             ORDER BY j.key",
        )
        .bind(json_strings(chunk.iter().map(ContactId::as_str)))
        .fetch_all(pool)
        .await
        .map_err(other)?;
        for id in found {
            out.push(contact_id_of(&id)?);
        }
    }
    Ok(out)
}

pub(crate) async fn contacts_of_person(
    pool: &SqlitePool,
    person_id: i64,
) -> Result<Vec<StoredContact>> {
    let mut tx = pool.begin().await.map_err(other)?;
    let sql =
        format!("SELECT {CONTACT_COLUMNS} {CONTACT_FROM} WHERE k.person_id = ?1 ORDER BY k.key");
    let rows = sqlx::query(&sql)
        .bind(person_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(other)?;
    assemble_contacts(&mut tx, rows).await
}

// ---------------------------------------------------------------------------
// Candidate pairs
// ---------------------------------------------------------------------------

fn match_from_row(row: &SqliteRow) -> Result<MatchCandidate> {
    let reason: String = get(row, "reason")?;
    let status: String = get(row, "status")?;
    Ok(MatchCandidate {
        id: get(row, "id")?,
        a: get(row, "a")?,
        b: get(row, "b")?,
        reason: MatchReason::parse(&reason).ok_or_else(|| bad("match reason", &reason))?,
        score: get(row, "score")?,
        status: MatchStatus::parse(&status).ok_or_else(|| bad("match status", &status))?,
        found_at: get(row, "found_at")?,
        decided_by: get(row, "decided_by")?,
        decided_at: get(row, "decided_at")?,
    })
}

pub(crate) async fn match_candidates(
    pool: &SqlitePool,
    filter: &MatchFilter,
) -> Result<Vec<MatchCandidate>> {
    let (lo, hi) = subtree_range(&filter.path);
    let sql = format!(
        "SELECT {MATCH_COLUMNS} FROM person_match m \
         WHERE (?1 IS NULL OR m.status = ?1) \
           AND (EXISTS (SELECT 1 FROM person p WHERE p.id = m.a AND p.home_path >= ?2 AND p.home_path < ?3) \
             OR EXISTS (SELECT 1 FROM person p WHERE p.id = m.b AND p.home_path >= ?2 AND p.home_path < ?3)) \
         ORDER BY m.id LIMIT ?4"
    );
    sqlx::query(&sql)
        .bind(filter.status.map(MatchStatus::name))
        .bind(lo)
        .bind(hi)
        .bind(i64::from(filter.limit))
        .fetch_all(pool)
        .await
        .map_err(other)?
        .iter()
        .map(match_from_row)
        .collect()
}

pub(crate) async fn match_candidate(pool: &SqlitePool, id: i64) -> Result<Option<MatchCandidate>> {
    let sql = format!("SELECT {MATCH_COLUMNS} FROM person_match m WHERE m.id = ?1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(other)?
        .map(|r| match_from_row(&r))
        .transpose()
}

pub(crate) async fn insert_match_candidates(
    conn: &mut SqliteConnection,
    candidates: &[MatchCandidate],
) -> Result<()> {
    for chunk in candidates.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO person_match (a, b, reason, score, status, found_at, decided_by, decided_at) ",
        );
        qb.push_values(chunk, |mut b, m| {
            b.push_bind(m.a.min(m.b))
                .push_bind(m.a.max(m.b))
                .push_bind(m.reason.name())
                .push_bind(m.score)
                .push_bind(m.status.name())
                .push_bind(m.found_at)
                .push_bind(m.decided_by.clone())
                .push_bind(m.decided_at);
        });
        qb.push(" ON CONFLICT (a, b) DO NOTHING");
        qb.build().execute(&mut *conn).await.map_err(other)?;
    }
    Ok(())
}

pub(crate) async fn decide_match(
    conn: &mut SqliteConnection,
    id: i64,
    status: MatchStatus,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE person_match SET status = ?2, decided_by = ?3, decided_at = ?4 WHERE id = ?1",
    )
    .bind(id)
    .bind(status.name())
    .bind(by)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("candidate pair {id}")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The graph
// ---------------------------------------------------------------------------

pub(crate) async fn graph_generation(pool: &SqlitePool) -> Result<i64> {
    sqlx::query_scalar("SELECT generation FROM graph_generation WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(other)
}

pub(crate) async fn bump_graph_generation(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query("UPDATE graph_generation SET generation = generation + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}

/// `YYYY-MM-DD` without chrono's parser (millions of them).
fn parse_day(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// Rows of three fields (`a b date`, one per line; the date may be empty)
/// read as one text per range of keys: one sqlx value instead of a row each.
async fn triples(
    conn: &mut SqliteConnection,
    sql: &str,
    max_key: i64,
    mut push: impl FnMut(i64, i64, Option<NaiveDate>) -> Result<()>,
) -> Result<()> {
    let mut lo = 1;
    while lo <= max_key {
        let hi = lo + GRAPH_CHUNK;
        let text: Option<String> = sqlx::query_scalar(sql)
            .bind(lo)
            .bind(hi)
            .fetch_one(&mut *conn)
            .await
            .map_err(other)?;
        for line in text.as_deref().unwrap_or_default().lines() {
            let mut parts = line.split(' ');
            let (Some(a), Some(b), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(corrupt(format!("a graph row `{line}`")));
            };
            let a = a.parse().map_err(|_| bad("key", a))?;
            let b = b.parse().map_err(|_| bad("key", b))?;
            let d = if d.is_empty() {
                None
            } else {
                Some(parse_day(d).ok_or_else(|| bad("date", d))?)
            };
            push(a, b, d)?;
        }
        lo = hi;
    }
    Ok(())
}

pub(crate) async fn graph_rows(pool: &SqlitePool) -> Result<(i64, GraphRows)> {
    let mut tx = pool.begin().await.map_err(other)?;
    let (generation, max_case_key, max_contact_key): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT generation FROM graph_generation WHERE id = 1), \
                (SELECT ifnull(max(key), 0) FROM case_file), \
                (SELECT ifnull(max(key), 0) FROM contact)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(other)?;
    let mut rows = GraphRows {
        max_case_key,
        max_contact_key,
        ..GraphRows::default()
    };
    triples(
        &mut tx,
        "SELECT group_concat(src.key || ' ' || s.case_key || ' ' || ifnull(c.onset, ''), char(10)) \
         FROM case_source s JOIN case_file src ON src.case_id = s.source_case_id \
         JOIN case_file c ON c.key = s.case_key \
         WHERE s.case_key >= ?1 AND s.case_key < ?2",
        max_case_key,
        |a, b, d| {
            rows.transmissions.push((a, b, d));
            Ok(())
        },
    )
    .await?;
    triples(
        &mut tx,
        "SELECT group_concat(src.key || ' ' || l.contact_key || ' ' || l.last_exposure, char(10)) \
         FROM contact_link l JOIN case_file src ON src.case_id = l.source_case_id \
         WHERE l.contact_key >= ?1 AND l.contact_key < ?2",
        max_contact_key,
        |a, b, d| {
            let d = d.ok_or_else(|| corrupt("an exposure without its date"))?;
            rows.exposures.push((a, b, d));
            Ok(())
        },
    )
    .await?;
    triples(
        &mut tx,
        "SELECT group_concat(k.key || ' ' || c.key || ' ', char(10)) \
         FROM contact k JOIN case_file c ON c.case_id = k.converted_case_id \
         WHERE k.converted_case_id IS NOT NULL AND k.key >= ?1 AND k.key < ?2",
        max_contact_key,
        |a, b, _| {
            rows.conversions.push((a, b));
            Ok(())
        },
    )
    .await?;
    Ok((generation, rows))
}

/// The derived columns of a line-list table as text, by key (for
/// `fangkong audit verify`, which compares them with the replay).
pub(crate) async fn state_rows(
    pool: &SqlitePool,
    table: &str,
    columns: &[&str],
    after: i64,
    limit: u32,
) -> Result<Vec<fangkong_store::StateRow>> {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({c} AS TEXT) AS {c}"))
        .collect();
    let sql = format!(
        "SELECT key, {} FROM {table} WHERE key > ?1 ORDER BY key LIMIT ?2",
        cols.join(", ")
    );
    sqlx::query(&sql)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(other)?
        .iter()
        .map(|row| {
            Ok(fangkong_store::StateRow {
                key: get(row, "key")?,
                cells: columns
                    .iter()
                    .map(|c| get::<Option<String>>(row, c))
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn settings(conn: &mut SqliteConnection) -> (i64, i64, i64) {
        sqlx::query_as("SELECT cache_size, temp_store, threads FROM pragma_cache_size, pragma_temp_store, pragma_threads")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_rebuild_sets_the_connection_back_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::SqliteStore::connect(&url).await.unwrap();
        let mut tx = store.write.begin().await.unwrap();
        let before = settings(&mut tx).await;
        assert_eq!(before, (-1_048_576, 2, 0));
        let dropped = suspend_indexes(&mut tx).await.unwrap();
        assert_eq!(dropped.len(), 6, "{dropped:?}");
        sqlx::query("INSERT INTO person (id, sex, home_region, home_path, phone) VALUES (1, 'male', '420102', '/420102/', 13800000001)")
            .execute(&mut *tx)
            .await
            .unwrap();
        restore_indexes(&mut tx, &dropped).await.unwrap();
        assert_eq!(settings(&mut tx).await, before);
        let found: i64 = sqlx::query_scalar(
            "SELECT id FROM person INDEXED BY person_phone WHERE phone = 13800000001 AND merged_into IS NULL",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(found, 1);

        // a CREATE that fails sets them back too, and says why
        let failed =
            restore_indexes(&mut tx, &["CREATE INDEX person_phone ON nothing(x)".into()]).await;
        assert!(failed.is_err());
        assert_eq!(settings(&mut tx).await, before);
    }
}
