//! The line list on PostgreSQL: people, cases, contacts and their follow-ups,
//! candidate pairs, the transmission graph's rows.

#![allow(unused_variables)] // the stubs: removed when the engine stores the line list

use super::*;

use sqlx::{PgConnection, PgPool};

use fangkong_domain::case::CaseId;
use fangkong_domain::contact::ContactId;
use fangkong_domain::matching::MatchStatus;
use fangkong_store::{
    CaseEntry, CaseFilter, ContactEntry, ContactFilter, GraphRows, MatchCandidate, MatchFilter,
    NewPerson, StoredCase, StoredContact, StoredPerson,
};

fn not_yet() -> StoreError {
    StoreError::Other(anyhow::anyhow!(
        "the line list is not stored on this engine yet"
    ))
}

pub(crate) async fn case(_pool: &PgPool, id: &CaseId) -> Result<Option<StoredCase>> {
    Err(not_yet())
}

pub(crate) async fn cases_by_keys(_pool: &PgPool, keys: &[i64]) -> Result<Vec<StoredCase>> {
    Err(not_yet())
}

pub(crate) async fn cases(_pool: &PgPool, filter: &CaseFilter) -> Result<Vec<StoredCase>> {
    Err(not_yet())
}

pub(crate) async fn existing_cases(_pool: &PgPool, ids: &[CaseId]) -> Result<Vec<CaseId>> {
    Err(not_yet())
}

pub(crate) async fn cases_of_person(_pool: &PgPool, person_id: i64) -> Result<Vec<StoredCase>> {
    Err(not_yet())
}

pub(crate) async fn contact(_pool: &PgPool, id: &ContactId) -> Result<Option<StoredContact>> {
    Err(not_yet())
}

pub(crate) async fn contacts_by_keys(_pool: &PgPool, keys: &[i64]) -> Result<Vec<StoredContact>> {
    Err(not_yet())
}

pub(crate) async fn contacts(_pool: &PgPool, filter: &ContactFilter) -> Result<Vec<StoredContact>> {
    Err(not_yet())
}

pub(crate) async fn existing_contacts(_pool: &PgPool, ids: &[ContactId]) -> Result<Vec<ContactId>> {
    Err(not_yet())
}

pub(crate) async fn contacts_of_person(
    _pool: &PgPool,
    person_id: i64,
) -> Result<Vec<StoredContact>> {
    Err(not_yet())
}

pub(crate) async fn person(_pool: &PgPool, id: i64) -> Result<Option<StoredPerson>> {
    Err(not_yet())
}

pub(crate) async fn persons_matching(
    _pool: &PgPool,
    id_numbers: &[String],
    phones: &[String],
    names: &[String],
) -> Result<Vec<StoredPerson>> {
    Err(not_yet())
}

pub(crate) async fn match_candidates(
    _pool: &PgPool,
    filter: &MatchFilter,
) -> Result<Vec<MatchCandidate>> {
    Err(not_yet())
}

pub(crate) async fn match_candidate(_pool: &PgPool, id: i64) -> Result<Option<MatchCandidate>> {
    Err(not_yet())
}

pub(crate) async fn graph_generation(_pool: &PgPool) -> Result<i64> {
    Err(not_yet())
}

pub(crate) async fn graph_rows(_pool: &PgPool) -> Result<(i64, GraphRows)> {
    Err(not_yet())
}

pub(crate) async fn insert_persons(
    _conn: &mut PgConnection,
    persons: &[NewPerson],
) -> Result<Vec<i64>> {
    Err(not_yet())
}

pub(crate) async fn update_person(
    _conn: &mut PgConnection,
    id: i64,
    person: &NewPerson,
) -> Result<()> {
    Err(not_yet())
}

pub(crate) async fn merge_person(_conn: &mut PgConnection, keep: i64, merged: i64) -> Result<()> {
    Err(not_yet())
}

pub(crate) async fn insert_cases(
    _conn: &mut PgConnection,
    cases: &[CaseEntry],
) -> Result<Vec<i64>> {
    Err(not_yet())
}

pub(crate) async fn update_case(
    _conn: &mut PgConnection,
    case: &CaseEntry,
    expected_version: u32,
) -> Result<()> {
    Err(not_yet())
}

pub(crate) async fn insert_contacts(
    _conn: &mut PgConnection,
    contacts: &[ContactEntry],
) -> Result<Vec<i64>> {
    Err(not_yet())
}

pub(crate) async fn update_contact(_conn: &mut PgConnection, contact: &ContactEntry) -> Result<()> {
    Err(not_yet())
}

pub(crate) async fn insert_match_candidates(
    _conn: &mut PgConnection,
    candidates: &[MatchCandidate],
) -> Result<()> {
    Err(not_yet())
}

pub(crate) async fn decide_match(
    _conn: &mut PgConnection,
    id: i64,
    status: MatchStatus,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    Err(not_yet())
}

pub(crate) async fn bump_graph_generation(_conn: &mut PgConnection) -> Result<()> {
    Err(not_yet())
}
