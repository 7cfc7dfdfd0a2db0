//! # fangkong-store-postgres
//!
//! The storage contract ([`fangkong_store`]) on PostgreSQL: the engine for
//! several servers on one database. Writers of a chain take turns through a
//! row lock on its head (`SELECT … FOR UPDATE`); bulk loads go through
//! `COPY`; roll-ups are rebuilt with set-based SQL, one tree level at a time.
//!
//! Queries are built at run time (`sqlx::query` with `$N` placeholders): there
//! is no database at build time. Migrations live in `migrations/` and run on
//! [`PgStore::connect`].

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgExecutor, Postgres, Row};

use fangkong_domain::alert::{AlertStatus, AlertVerdict};
use fangkong_domain::audit::AuditEntry;
use fangkong_domain::case::CaseId;
use fangkong_domain::chain::Hash;
use fangkong_domain::contact::ContactId;
use fangkong_domain::form::{Values, MAX_FIELDS};
use fangkong_domain::matching::MatchStatus;
use fangkong_domain::region::{subtree_range, Level, Region, RegionCode};
use fangkong_domain::report::{ReportKey, ReportVersion, ReviewStatus, Source};
use fangkong_domain::user::Role;
use fangkong_store::LoginKey;
use fangkong_store::{
    Alert, AlertFilter, AnalyticsStore, AuditStore, Chain, ChainHead, ChildFigure,
    CompletenessCounts, DayFigure, NewUser, RegionStore, RegionTree, ReportStore, Result, Review,
    RiskChange, RiskRow, RollupRow, Store, StoreError, StoredUser, UnitStatus, UserStore, WriteTx,
};
use fangkong_store::{
    CaseEntry, CaseFilter, CaseStore, ContactEntry, ContactFilter, GraphRows, MatchCandidate,
    MatchFilter, NewPerson, StoredCase, StoredContact, StoredPerson,
};

mod analytics;
mod cases;
mod publications;
mod sessions;
mod tasks;
pub mod testing;

/// Bytes of CSV gathered before a `COPY` chunk is sent.
const COPY_CHUNK_BYTES: usize = 4 << 20;
/// A transaction that wrote at least this many report versions runs
/// `ANALYZE report` before it rebuilds roll-ups and before it commits, so
/// that what follows is planned for the table as it now is.
const ANALYZE_AFTER_ROWS: usize = 50_000;

const VALUE_COLS: &str = "v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16";
const REPORT_COLS: &str = "seq, form, region_code, date, version, \
    v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, \
    filed_by, filed_at, source, hash";
const REGION_COLS: &str = "code, parent_code, name, level, path";
const USER_COLS: &str =
    "id, username, display_name, role, region_code, password_hash, created_at, site";
const AUDIT_COLS: &str = "seq, at, actor, action, entity, entity_key, before, after, hash";

/// fangkong's storage on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect to the database at `url` and bring its schema up to date.
    pub async fn connect(url: &str) -> anyhow::Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(|e| anyhow!("cannot connect to PostgreSQL: {e}"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| anyhow!("cannot migrate the PostgreSQL database: {e}"))?;
        Ok(PgStore { pool })
    }

    /// The connection pool, for tools and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

// ---------------------------------------------------------------------------
// Errors and decoding

/// A unique violation (SQLSTATE 23505) is a [`StoreError::Conflict`];
/// a numeric value out of range (22003: `bigint out of range` in a roll-up's
/// sum) is [`StoreError::OutOfRange`]; anything else is [`StoreError::Other`].
fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        match d.code().as_deref() {
            Some("23505") => return StoreError::Conflict(d.message().to_owned()),
            Some("22003") => return StoreError::OutOfRange(d.message().to_owned()),
            _ => {}
        }
    }
    StoreError::Other(anyhow!(e))
}

fn bad(what: &str, value: impl std::fmt::Debug) -> StoreError {
    StoreError::Other(anyhow!("bad stored {what}: {value:?}"))
}

fn col<'r, T>(row: &'r PgRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(name).map_err(db_err)
}

fn code_of(s: &str) -> Result<RegionCode> {
    RegionCode::parse(s).map_err(|_| bad("region code", s))
}

fn level_of(depth: i16) -> Result<Level> {
    Level::from_depth(i64::from(depth)).ok_or_else(|| bad("level", depth))
}

fn hash_of(bytes: &[u8]) -> Result<Hash> {
    Hash::from_slice(bytes).ok_or_else(|| bad("hash (length)", bytes.len()))
}

/// `(region_code, v1…v16)` rows of one form and day.
async fn day_values(
    pool: &PgPool,
    sql: &str,
    form: &str,
    date: NaiveDate,
) -> Result<Vec<(RegionCode, Values)>> {
    let rows = sqlx::query(sql)
        .bind(form)
        .bind(date)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    all(rows, |row| {
        let code: String = row.try_get("region_code").map_err(db_err)?;
        Ok((
            RegionCode::parse(&code).map_err(|_| bad("region code", &code))?,
            values_of(row)?,
        ))
    })
}

fn values_of(row: &PgRow) -> Result<Values> {
    let mut values = Values::ZERO;
    for (i, v) in values.0.iter_mut().enumerate() {
        *v = row.try_get(VALUE_NAMES[i]).map_err(db_err)?;
    }
    Ok(values)
}

const VALUE_NAMES: [&str; MAX_FIELDS] = [
    "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
    "v16",
];

fn region_of(row: &PgRow) -> Result<Region> {
    let parent: Option<String> = col(row, "parent_code")?;
    Ok(Region {
        code: code_of(&col::<String>(row, "code")?)?,
        parent: parent.as_deref().map(code_of).transpose()?,
        name: col(row, "name")?,
        level: level_of(col(row, "level")?)?,
        path: col(row, "path")?,
    })
}

fn version_of(row: &PgRow) -> Result<ReportVersion> {
    let source: String = col(row, "source")?;
    Ok(ReportVersion {
        seq: col(row, "seq")?,
        key: ReportKey {
            form: col(row, "form")?,
            region: code_of(&col::<String>(row, "region_code")?)?,
            date: col(row, "date")?,
        },
        version: col(row, "version")?,
        values: values_of(row)?,
        filed_by: col(row, "filed_by")?,
        filed_at: col(row, "filed_at")?,
        source: Source::parse(&source).ok_or_else(|| bad("source", &source))?,
        hash: hash_of(&col::<Vec<u8>>(row, "hash")?)?,
    })
}

fn user_of(row: &PgRow) -> Result<StoredUser> {
    let role: String = col(row, "role")?;
    Ok(StoredUser {
        id: col(row, "id")?,
        username: col(row, "username")?,
        display_name: col(row, "display_name")?,
        role: role.parse::<Role>().map_err(|_| bad("role", &role))?,
        region: code_of(&col::<String>(row, "region_code")?)?,
        password_hash: col(row, "password_hash")?,
        created_at: col(row, "created_at")?,
        site: col(row, "site")?,
    })
}

fn audit_of(row: &PgRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: col(row, "seq")?,
        at: col(row, "at")?,
        actor: col(row, "actor")?,
        action: col(row, "action")?,
        entity: col(row, "entity")?,
        entity_key: col(row, "entity_key")?,
        before: col(row, "before")?,
        after: col(row, "after")?,
        hash: hash_of(&col::<Vec<u8>>(row, "hash")?)?,
    })
}

fn review_of(row: &PgRow) -> Result<Review> {
    let status: String = col(row, "status")?;
    Ok(Review {
        key: ReportKey {
            form: col(row, "form")?,
            region: code_of(&col::<String>(row, "region_code")?)?,
            date: col(row, "date")?,
        },
        version: col(row, "version")?,
        status: ReviewStatus::parse(&status).ok_or_else(|| bad("review status", &status))?,
        note: col(row, "note")?,
        reviewer: col(row, "reviewer")?,
        at: col(row, "at")?,
    })
}

fn unit_of(row: &PgRow) -> Result<UnitStatus> {
    Ok(UnitStatus {
        region: code_of(&col::<String>(row, "code")?)?,
        name: col(row, "name")?,
        filed_at: col(row, "filed_at")?,
    })
}

fn all<T>(rows: Vec<PgRow>, f: fn(&PgRow) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `%` `_` and `\` taken literally in a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// Queries shared by the pool and a transaction

async fn current_report_on<'e>(
    ex: impl PgExecutor<'e>,
    key: &ReportKey,
) -> Result<Option<ReportVersion>> {
    let sql = format!(
        "SELECT {REPORT_COLS} FROM report \
         WHERE form = $1 AND region_code = $2 AND date = $3 AND current \
         ORDER BY version DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(&key.form)
        .bind(key.region.as_str())
        .bind(key.date)
        .fetch_optional(ex)
        .await
        .map_err(db_err)?;
    row.as_ref().map(version_of).transpose()
}

async fn chain_head_on<'e>(ex: impl PgExecutor<'e>, chain: Chain, lock: bool) -> Result<ChainHead> {
    let sql = if lock {
        "SELECT seq, hash FROM chain_head WHERE name = $1 FOR UPDATE"
    } else {
        "SELECT seq, hash FROM chain_head WHERE name = $1"
    };
    let row = sqlx::query(sql)
        .bind(chain.name())
        .fetch_optional(ex)
        .await
        .map_err(db_err)?
        .ok_or_else(|| {
            StoreError::Other(anyhow!(
                "chain_head has no row for chain {:?}",
                chain.name()
            ))
        })?;
    Ok(ChainHead {
        seq: col(&row, "seq")?,
        hash: hash_of(&col::<Vec<u8>>(&row, "hash")?)?,
    })
}

// ---------------------------------------------------------------------------
// Reads

#[async_trait]
impl RegionStore for PgStore {
    async fn region(&self, code: &RegionCode) -> Result<Option<Region>> {
        let sql = format!("SELECT {REGION_COLS} FROM region WHERE code = $1");
        let row = sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(region_of).transpose()
    }

    async fn regions(&self, codes: &[RegionCode]) -> Result<Vec<Region>> {
        let codes: Vec<&str> = codes.iter().map(RegionCode::as_str).collect();
        let sql = format!("SELECT {REGION_COLS} FROM region WHERE code = ANY($1)");
        let rows = sqlx::query(&sql)
            .bind(&codes)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, region_of)
    }

    async fn children(&self, code: &RegionCode) -> Result<Vec<Region>> {
        let sql = format!("SELECT {REGION_COLS} FROM region WHERE parent_code = $1 ORDER BY code");
        let rows = sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, region_of)
    }

    async fn search_regions(&self, path: &str, query: &str, limit_n: u32) -> Result<Vec<Region>> {
        let (lo, hi) = subtree_range(path);
        let q = like_escape(query.trim());
        let sql = format!(
            "SELECT {REGION_COLS} FROM region \
             WHERE path >= $1 AND path < $2 \
               AND (name LIKE '%' || $3 || '%' ESCAPE '\\' OR code LIKE $3 || '%' ESCAPE '\\') \
             ORDER BY level, code LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(lo)
            .bind(hi)
            .bind(q)
            .bind(limit(limit_n))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, region_of)
    }

    async fn count_by_level(&self, path: &str) -> Result<Vec<(Level, u64)>> {
        let (lo, hi) = subtree_range(path);
        let rows = sqlx::query(
            "SELECT level, COUNT(*) AS n FROM region WHERE path >= $1 AND path < $2 \
             GROUP BY level ORDER BY level",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((level_of(col(r, "level")?)?, count(col(r, "n")?))))
            .collect()
    }

    async fn regions_at_level(&self, path: &str, level: Level) -> Result<Vec<Region>> {
        let (lo, hi) = subtree_range(path);
        let sql = format!(
            "SELECT {REGION_COLS} FROM region WHERE level = $1 AND path >= $2 AND path < $3 ORDER BY code"
        );
        let rows = sqlx::query(&sql)
            .bind(level.depth())
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, region_of)
    }

    async fn region_generation(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT generation FROM region_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn region_tree(&self) -> Result<RegionTree> {
        // one statement, so one snapshot; the whole tree as one text value
        let (generation, text): (i64, Option<String>) = sqlx::query_as(
            "SELECT (SELECT generation FROM region_generation WHERE id = 1), \
                    (SELECT string_agg(code || E'\\t' || coalesce(parent_code, '') || E'\\t' || level \
                         || E'\\t' || octet_length(name) || E'\\t' || name || E'\\n', '') \
                       FROM region)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        RegionTree::parse(generation, text.unwrap_or_default())
    }
}

/// The NOT EXISTS test "this roll-up row's region has no own current report".
const NO_OWN_REPORT: &str = "NOT EXISTS (SELECT 1 FROM report p \
     WHERE p.form = u.form AND p.region_code = u.region_code AND p.date = u.date AND p.current)";

#[async_trait]
impl ReportStore for PgStore {
    async fn current_report(&self, key: &ReportKey) -> Result<Option<ReportVersion>> {
        current_report_on(&self.pool, key).await
    }

    async fn report_history(&self, key: &ReportKey) -> Result<Vec<ReportVersion>> {
        let sql = format!(
            "SELECT {REPORT_COLS} FROM report \
             WHERE form = $1 AND region_code = $2 AND date = $3 ORDER BY version"
        );
        let rows = sqlx::query(&sql)
            .bind(&key.form)
            .bind(key.region.as_str())
            .bind(key.date)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, version_of)
    }

    async fn figures(
        &self,
        form: &str,
        region: &RegionCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayFigure>> {
        let sql = format!(
            "SELECT date, TRUE AS own, {VALUE_COLS} FROM report \
              WHERE form = $1 AND region_code = $2 AND date BETWEEN $3 AND $4 AND current \
             UNION ALL \
             SELECT u.date, FALSE AS own, {VALUE_COLS} FROM rollup u \
              WHERE u.form = $1 AND u.region_code = $2 AND u.date BETWEEN $3 AND $4 AND {NO_OWN_REPORT} \
             ORDER BY date"
        );
        let rows = sqlx::query(&sql)
            .bind(form)
            .bind(region.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(DayFigure {
                    date: col(r, "date")?,
                    values: values_of(r)?,
                    own: col(r, "own")?,
                })
            })
            .collect()
    }

    async fn child_figures(
        &self,
        form: &str,
        parent: &RegionCode,
        date: NaiveDate,
    ) -> Result<Vec<ChildFigure>> {
        let sql = format!(
            "SELECT region_code, TRUE AS own, {VALUE_COLS} \
               FROM report JOIN region ON region.code = report.region_code \
              WHERE region.parent_code = $2 AND form = $1 AND date = $3 AND current \
             UNION ALL \
             SELECT u.region_code, FALSE AS own, {VALUE_COLS} \
               FROM rollup u JOIN region ON region.code = u.region_code \
              WHERE region.parent_code = $2 AND u.form = $1 AND u.date = $3 AND {NO_OWN_REPORT} \
             ORDER BY region_code"
        );
        let rows = sqlx::query(&sql)
            .bind(form)
            .bind(parent.as_str())
            .bind(date)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ChildFigure {
                    region: code_of(&col::<String>(r, "region_code")?)?,
                    values: values_of(r)?,
                    own: col(r, "own")?,
                })
            })
            .collect()
    }

    async fn completeness(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        deadline: DateTime<Utc>,
    ) -> Result<CompletenessCounts> {
        let (lo, hi) = subtree_range(path);
        let row = sqlx::query(
            "SELECT COUNT(*) AS expected, COUNT(p.seq) AS filed, \
                    COUNT(p.seq) FILTER (WHERE p.filed_at <= $6) AS on_time \
               FROM region r \
               LEFT JOIN report p ON p.form = $1 AND p.region_code = r.code AND p.date = $2 AND p.version = 1 \
              WHERE r.level = $3 AND r.path >= $4 AND r.path < $5",
        )
        .bind(form)
        .bind(date)
        .bind(level.depth())
        .bind(lo)
        .bind(hi)
        .bind(deadline)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(CompletenessCounts {
            expected: count(col(&row, "expected")?),
            filed: count(col(&row, "filed")?),
            on_time: count(col(&row, "on_time")?),
        })
    }

    async fn missing_units(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        limit_n: u32,
    ) -> Result<Vec<UnitStatus>> {
        let (lo, hi) = subtree_range(path);
        let rows = sqlx::query(
            "SELECT r.code, r.name, NULL::timestamptz AS filed_at \
               FROM region r \
              WHERE r.level = $3 AND r.path >= $4 AND r.path < $5 \
                AND NOT EXISTS (SELECT 1 FROM report p \
                     WHERE p.form = $1 AND p.region_code = r.code AND p.date = $2 AND p.version = 1) \
              ORDER BY r.code LIMIT $6",
        )
        .bind(form)
        .bind(date)
        .bind(level.depth())
        .bind(lo)
        .bind(hi)
        .bind(limit(limit_n))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        all(rows, unit_of)
    }

    async fn late_units(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        deadline: DateTime<Utc>,
        limit_n: u32,
    ) -> Result<Vec<UnitStatus>> {
        let (lo, hi) = subtree_range(path);
        let rows = sqlx::query(
            "SELECT r.code, r.name, p.filed_at \
               FROM region r \
               JOIN report p ON p.form = $1 AND p.region_code = r.code AND p.date = $2 AND p.version = 1 \
              WHERE r.level = $3 AND r.path >= $4 AND r.path < $5 AND p.filed_at > $6 \
              ORDER BY r.code LIMIT $7",
        )
        .bind(form)
        .bind(date)
        .bind(level.depth())
        .bind(lo)
        .bind(hi)
        .bind(deadline)
        .bind(limit(limit_n))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        all(rows, unit_of)
    }

    async fn current_reports(
        &self,
        form: &str,
        path: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReportVersion>> {
        let (lo, hi) = subtree_range(path);
        let sql = format!(
            "SELECT {REPORT_COLS} FROM report JOIN region ON region.code = report.region_code \
              WHERE form = $1 AND current AND date BETWEEN $2 AND $3 \
                AND region.path >= $4 AND region.path < $5 \
              ORDER BY date, region_code"
        );
        let rows = sqlx::query(&sql)
            .bind(form)
            .bind(from)
            .bind(to)
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, version_of)
    }

    async fn unreviewed(
        &self,
        path: &str,
        below_level: Level,
        filed_before: DateTime<Utc>,
        limit_n: u32,
    ) -> Result<Vec<ReportVersion>> {
        let (lo, hi) = subtree_range(path);
        let sql = format!(
            "SELECT {REPORT_COLS} FROM report JOIN region ON region.code = report.region_code \
              WHERE current AND region.level > $1 AND filed_at < $2 \
                AND region.path >= $3 AND region.path < $4 \
                AND NOT EXISTS (SELECT 1 FROM review v \
                     WHERE v.form = report.form AND v.region_code = report.region_code \
                       AND v.date = report.date AND v.version = report.version) \
              ORDER BY filed_at, seq LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(below_level.depth())
            .bind(filed_before)
            .bind(lo)
            .bind(hi)
            .bind(limit(limit_n))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, version_of)
    }

    async fn reviews(&self, key: &ReportKey) -> Result<Vec<Review>> {
        let rows = sqlx::query(
            "SELECT form, region_code, date, version, status, note, reviewer, at FROM review \
              WHERE form = $1 AND region_code = $2 AND date = $3 ORDER BY id",
        )
        .bind(&key.form)
        .bind(key.region.as_str())
        .bind(key.date)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        all(rows, review_of)
    }

    async fn report_chain(&self, after: i64, limit_n: u32) -> Result<Vec<ReportVersion>> {
        let sql = format!("SELECT {REPORT_COLS} FROM report WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(limit(limit_n))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, version_of)
    }

    async fn report_days(&self, form: &str) -> Result<Vec<NaiveDate>> {
        sqlx::query_scalar(
            "SELECT date FROM rollup WHERE form = $1 \
             UNION SELECT date FROM report WHERE form = $1 AND current ORDER BY 1",
        )
        .bind(form)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn day_reports(&self, form: &str, date: NaiveDate) -> Result<Vec<(RegionCode, Values)>> {
        let sql = format!(
            "SELECT region_code, {VALUE_COLS} FROM report \
             WHERE form = $1 AND date = $2 AND current"
        );
        day_values(&self.pool, &sql, form, date).await
    }

    async fn day_rollups(&self, form: &str, date: NaiveDate) -> Result<Vec<(RegionCode, Values)>> {
        let sql =
            format!("SELECT region_code, {VALUE_COLS} FROM rollup WHERE form = $1 AND date = $2");
        day_values(&self.pool, &sql, form, date).await
    }

    async fn level_figures(
        &self,
        form: &str,
        path: &str,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(RegionCode, DayFigure)>> {
        analytics::level_figures(&self.pool, form, path, level, from, to).await
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn user_by_name(&self, username: &str) -> Result<Option<StoredUser>> {
        let sql = format!("SELECT {USER_COLS} FROM app_user WHERE lower(username) = lower($1)");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(user_of).transpose()
    }

    async fn user_by_session(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<StoredUser>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, u.region_code, u.password_hash, u.created_at, u.site \
               FROM session s JOIN app_user u ON u.id = s.user_id \
              WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(user_of).transpose()
    }

    async fn users(&self, path: &str) -> Result<Vec<StoredUser>> {
        let (lo, hi) = subtree_range(path);
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, u.region_code, u.password_hash, u.created_at, u.site \
               FROM app_user u JOIN region r ON r.code = u.region_code \
              WHERE r.path >= $1 AND r.path < $2 ORDER BY u.username",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        all(rows, user_of)
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn audit_chain(&self, after: i64, limit_n: u32) -> Result<Vec<AuditEntry>> {
        let sql = format!("SELECT {AUDIT_COLS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(limit(limit_n))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, audit_of)
    }

    async fn audit_recent(
        &self,
        entity_key: Option<&str>,
        limit_n: u32,
    ) -> Result<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit WHERE ($1::text IS NULL OR entity_key = $1) \
             ORDER BY seq DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(entity_key)
            .bind(limit(limit_n))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        all(rows, audit_of)
    }
}

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        analytics::alerts(&self.pool, filter).await
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        analytics::alert(&self.pool, id).await
    }

    async fn risk_levels_on(&self, path: &str, date: NaiveDate) -> Result<Vec<RiskRow>> {
        analytics::risk_levels_on(&self.pool, path, date).await
    }

    async fn risk_changes(
        &self,
        path: &str,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<RiskChange>> {
        analytics::risk_changes(&self.pool, path, from, to, limit).await
    }
}

#[async_trait]
impl CaseStore for PgStore {
    async fn case(&self, id: &CaseId) -> Result<Option<StoredCase>> {
        cases::case(&self.pool, id).await
    }

    async fn cases_by_keys(&self, keys: &[i64]) -> Result<Vec<StoredCase>> {
        cases::cases_by_keys(&self.pool, keys).await
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<StoredCase>> {
        cases::cases(&self.pool, filter).await
    }

    async fn existing_cases(&self, ids: &[CaseId]) -> Result<Vec<CaseId>> {
        cases::existing_cases(&self.pool, ids).await
    }

    async fn cases_of_person(&self, person_id: i64) -> Result<Vec<StoredCase>> {
        cases::cases_of_person(&self.pool, person_id).await
    }

    async fn contact(&self, id: &ContactId) -> Result<Option<StoredContact>> {
        cases::contact(&self.pool, id).await
    }

    async fn contacts_by_keys(&self, keys: &[i64]) -> Result<Vec<StoredContact>> {
        cases::contacts_by_keys(&self.pool, keys).await
    }

    async fn contacts(&self, filter: &ContactFilter) -> Result<Vec<StoredContact>> {
        cases::contacts(&self.pool, filter).await
    }

    async fn existing_contacts(&self, ids: &[ContactId]) -> Result<Vec<ContactId>> {
        cases::existing_contacts(&self.pool, ids).await
    }

    async fn contacts_of_person(&self, person_id: i64) -> Result<Vec<StoredContact>> {
        cases::contacts_of_person(&self.pool, person_id).await
    }

    async fn person(&self, id: i64) -> Result<Option<StoredPerson>> {
        cases::person(&self.pool, id).await
    }

    async fn persons_matching(
        &self,
        id_numbers: &[String],
        phones: &[String],
        names: &[String],
    ) -> Result<Vec<StoredPerson>> {
        cases::persons_matching(&self.pool, id_numbers, phones, names).await
    }

    async fn person_count(&self) -> Result<u64> {
        cases::person_count(&self.pool).await
    }

    async fn person_id_number_keys(&self) -> Result<Vec<(u64, i64)>> {
        cases::person_id_number_keys(&self.pool).await
    }

    async fn contact_ids(&self) -> Result<Vec<ContactId>> {
        cases::contact_ids(&self.pool).await
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>> {
        cases::case_ids(&self.pool).await
    }

    async fn case_states(&self, after: i64, limit: u32) -> Result<Vec<fangkong_store::StateRow>> {
        cases::state_rows(
            &self.pool,
            "case_file",
            &fangkong_store::CASE_STATE_COLUMNS,
            after,
            limit,
        )
        .await
    }

    async fn contact_states(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<fangkong_store::StateRow>> {
        cases::state_rows(
            &self.pool,
            "contact",
            &fangkong_store::CONTACT_STATE_COLUMNS,
            after,
            limit,
        )
        .await
    }

    async fn match_candidates(&self, filter: &MatchFilter) -> Result<Vec<MatchCandidate>> {
        cases::match_candidates(&self.pool, filter).await
    }

    async fn match_candidate(&self, id: i64) -> Result<Option<MatchCandidate>> {
        cases::match_candidate(&self.pool, id).await
    }

    async fn graph_generation(&self) -> Result<i64> {
        cases::graph_generation(&self.pool).await
    }

    async fn graph_rows(&self) -> Result<(i64, GraphRows)> {
        cases::graph_rows(&self.pool).await
    }
}

#[async_trait]
impl fangkong_store::PublicationStore for PgStore {
    async fn release(
        &self,
        date: NaiveDate,
        region: &RegionCode,
        version: Option<i32>,
    ) -> Result<Option<fangkong_store::Release>> {
        publications::release(&self.pool, date, region, version).await
    }

    async fn release_versions(
        &self,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Vec<fangkong_store::ReleaseHead>> {
        publications::release_versions(&self.pool, date, region).await
    }

    async fn latest_releases(
        &self,
        region: Option<&RegionCode>,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<fangkong_store::ReleaseHead>> {
        publications::latest_releases(&self.pool, region, from, to, limit).await
    }

    async fn errata(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<fangkong_store::Erratum>> {
        publications::errata(&self.pool, from, to, limit).await
    }

    async fn last_witness(&self) -> Result<Option<fangkong_store::ReleaseHead>> {
        publications::last_witness(&self.pool).await
    }

    async fn released_rows(
        &self,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<fangkong_store::ReleasedRow>> {
        publications::released_rows(&self.pool, level, from, to).await
    }
}

#[async_trait]
impl fangkong_store::TaskStore for PgStore {
    async fn directive(&self, id: i64) -> Result<Option<fangkong_store::StoredDirective>> {
        tasks::directive(&self.pool, id).await
    }

    async fn directives(
        &self,
        filter: &fangkong_store::DirectiveFilter,
    ) -> Result<Vec<fangkong_store::StoredDirective>> {
        tasks::directives(&self.pool, filter).await
    }

    async fn directive_targets(
        &self,
        filter: &fangkong_store::TargetFilter,
    ) -> Result<Vec<(fangkong_store::DirectiveRow, fangkong_store::StoredTarget)>> {
        tasks::directive_targets(&self.pool, filter).await
    }

    async fn tip(&self, id: i64) -> Result<Option<fangkong_store::StoredTip>> {
        tasks::tip(&self.pool, id).await
    }

    async fn tips(
        &self,
        filter: &fangkong_store::TipFilter,
    ) -> Result<Vec<fangkong_store::StoredTip>> {
        tasks::tips(&self.pool, filter).await
    }
}

#[async_trait]
impl Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>> {
        let tx = self.pool.begin().await.map_err(db_err)?;
        Ok(Box::new(PgTx {
            tx,
            inserted: 0,
            line_list_inserted: 0,
            suspended: Vec::new(),
            draw: cases::Draw::Shared,
        }))
    }

    async fn chain_head(&self, chain: Chain) -> Result<ChainHead> {
        chain_head_on(&self.pool, chain, false).await
    }
}

// ---------------------------------------------------------------------------
// Writes

/// One write transaction; dropped without [`WriteTx::commit`], it rolls back.
pub struct PgTx {
    tx: sqlx::Transaction<'static, Postgres>,
    /// Report versions written since statistics were last brought up to
    /// date: after a bulk load they are, before a roll-up rebuild and before commit.
    inserted: usize,
    /// Cases and contacts written since the line list's statistics were last
    /// brought up to date (after a bulk import, the planner must know the
    /// new sizes before the first observation list).
    line_list_inserted: usize,
    /// The indexes [`WriteTx::suspend_line_list_indexes`] dropped, as their
    /// definitions.
    suspended: Vec<String>,
    /// How person ids and contact keys are drawn: [`cases::Draw::Locked`]
    /// once a bulk load has locked their tables.
    draw: cases::Draw,
}

impl PgTx {
    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// After a bulk load in this transaction, bring the statistics of
    /// `report` up to date: for the columns queries select on (the values,
    /// hash and filer never are), a third of the time of the whole table.
    async fn analyze_if_loaded(&mut self) -> Result<()> {
        if self.inserted >= ANALYZE_AFTER_ROWS {
            sqlx::query(
                "ANALYZE report (seq, form, region_code, date, version, depth, current, filed_at)",
            )
            .execute(self.conn())
            .await
            .map_err(db_err)?;
            self.inserted = 0;
        }
        if self.line_list_inserted >= ANALYZE_AFTER_ROWS {
            sqlx::query("ANALYZE person, case_file, case_event, contact, contact_link")
                .execute(self.conn())
                .await
                .map_err(db_err)?;
            self.line_list_inserted = 0;
        }
        Ok(())
    }
}

/// Bulk statements hash and sort whole days of reports or the whole region
/// tree: give them memory enough not to spill to disk (for the rest of this
/// transaction only).
async fn set_work_mem(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SET LOCAL work_mem = '256MB'")
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Send a chunk of COPY data. On failure the connection is unusable for
/// this transaction anyway; the COPY is abandoned (the `PgCopyIn` drop
/// sends CopyFail) and the transaction will roll back.
async fn send_copy(
    copy: &mut sqlx::postgres::PgCopyIn<&mut PgConnection>,
    buf: &[u8],
) -> Result<()> {
    copy.send(buf).await.map_err(db_err)?;
    Ok(())
}

/// One CSV field for `COPY … (FORMAT csv)`, always quoted.
fn csv_text(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// `COPY … (FORMAT binary)`: PostgreSQL's own representation of each
/// value, so neither side formats or parses numbers, dates or hashes.
mod binary {
    use chrono::{DateTime, NaiveDate, Utc};

    /// The header: signature, flags, no extension.
    pub fn header(out: &mut Vec<u8>) {
        out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
    }

    pub fn trailer(out: &mut Vec<u8>) {
        out.extend_from_slice(&(-1i16).to_be_bytes());
    }

    pub fn row(out: &mut Vec<u8>, fields: usize) {
        out.extend_from_slice(&(fields as i16).to_be_bytes());
    }

    fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    }

    pub fn int8(out: &mut Vec<u8>, x: i64) {
        field(out, &x.to_be_bytes());
    }

    pub fn int4(out: &mut Vec<u8>, x: i32) {
        field(out, &x.to_be_bytes());
    }

    pub fn int2(out: &mut Vec<u8>, x: i16) {
        field(out, &x.to_be_bytes());
    }

    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        field(out, b);
    }

    pub fn text(out: &mut Vec<u8>, s: &str) {
        field(out, s.as_bytes());
    }

    /// PostgreSQL's epoch, 2000-01-01.
    fn epoch() -> NaiveDate {
        NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
    }

    /// Days since 2000-01-01.
    pub fn date(out: &mut Vec<u8>, d: NaiveDate) {
        int4(out, (d - epoch()).num_days() as i32);
    }

    /// Microseconds since 2000-01-01 00:00 UTC.
    pub fn timestamptz(out: &mut Vec<u8>, t: DateTime<Utc>) {
        let since = t.naive_utc() - epoch().and_hms_opt(0, 0, 0).unwrap_or_default();
        int8(out, since.num_microseconds().unwrap_or(i64::MAX));
    }
}

/// Report versions as binary COPY data: `seq, form, region_code, date,
/// version, depth, v1…v{slots}, filed_by, filed_at, source, hash` (the other
/// slots and `current` take their defaults: 0 and true).
fn binary_versions(out: &mut Vec<u8>, versions: &[(ReportVersion, Level)], slots: usize) {
    for (v, level) in versions {
        binary::row(out, 10 + slots);
        binary::int8(out, v.seq);
        binary::text(out, &v.key.form);
        binary::text(out, v.key.region.as_str());
        binary::date(out, v.key.date);
        binary::int4(out, v.version);
        binary::int2(out, level.depth());
        for x in &v.values.0[..slots] {
            binary::int8(out, *x);
        }
        binary::text(out, &v.filed_by);
        binary::timestamptz(out, v.filed_at);
        binary::text(out, v.source.name());
        binary::bytes(out, &v.hash.0);
    }
}

/// The value slots in use: up to the last one not zero in any row.
fn slots_in_use<'a>(values: impl Iterator<Item = &'a Values>) -> usize {
    values
        .map(|v| v.0.iter().rposition(|x| *x != 0).map_or(0, |i| i + 1))
        .max()
        .unwrap_or(0)
}

#[async_trait]
impl WriteTx for PgTx {
    async fn chain_head(&mut self, chain: Chain) -> Result<ChainHead> {
        chain_head_on(self.conn(), chain, true).await
    }

    async fn set_chain_head(&mut self, chain: Chain, head: ChainHead) -> Result<()> {
        let done = sqlx::query("UPDATE chain_head SET seq = $2, hash = $3 WHERE name = $1")
            .bind(chain.name())
            .bind(head.seq)
            .bind(&head.hash.0[..])
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Other(anyhow!(
                "chain_head has no row for chain {:?}",
                chain.name()
            )));
        }
        Ok(())
    }

    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (seq, at, actor, action, entity, entity_key, before, after, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(entry.seq)
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.entity)
        .bind(&entry.entity_key)
        .bind(entry.before.as_deref())
        .bind(entry.after.as_deref())
        .bind(&entry.hash.0[..])
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn insert_regions(&mut self, regions: &[Region]) -> Result<u64> {
        if regions.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        // COPY the rows as given into a staging table, then write them in
        // one statement: the last row given for a code wins, existing
        // regions that differ are updated, new ones inserted in path order
        // (parents before children; the indexes are filled in order). The
        // sorting and de-duplication happen in the server.
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS region_import ( \
                 code TEXT COLLATE \"C\" NOT NULL, parent_code TEXT COLLATE \"C\", name TEXT NOT NULL, \
                 level SMALLINT NOT NULL, path TEXT COLLATE \"C\" NOT NULL, ord BIGINT NOT NULL \
             ) ON COMMIT DROP",
        )
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        sqlx::query("TRUNCATE region_import")
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        set_work_mem(self.conn()).await?;
        let mut copy = self
            .conn()
            .copy_in_raw("COPY region_import (code, parent_code, name, level, path, ord) FROM STDIN WITH (FORMAT csv)")
            .await
            .map_err(db_err)?;
        let mut buf = String::with_capacity(COPY_CHUNK_BYTES + 1024);
        for (i, r) in regions.iter().enumerate() {
            csv_text(&mut buf, r.code.as_str());
            buf.push(',');
            // An unquoted empty field is NULL in CSV.
            if let Some(p) = &r.parent {
                csv_text(&mut buf, p.as_str());
            }
            buf.push(',');
            csv_text(&mut buf, &r.name);
            let _ = write!(buf, ",{},", r.level.depth());
            csv_text(&mut buf, &r.path);
            let _ = writeln!(buf, ",{i}");
            if buf.len() >= COPY_CHUNK_BYTES {
                send_copy(&mut copy, buf.as_bytes()).await?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            send_copy(&mut copy, buf.as_bytes()).await?;
        }
        copy.finish().await.map_err(db_err)?;
        let row = sqlx::query(
            "WITH latest AS ( \
                 SELECT DISTINCT ON (code) code, parent_code, name, level, path \
                   FROM region_import ORDER BY code, ord DESC \
             ), changed AS ( \
                 UPDATE region r SET parent_code = l.parent_code, name = l.name, level = l.level, path = l.path \
                   FROM latest l \
                  WHERE r.code = l.code \
                    AND (r.parent_code, r.name, r.level, r.path) IS DISTINCT FROM (l.parent_code, l.name, l.level, l.path) \
             ), added AS ( \
                 INSERT INTO region (code, parent_code, name, level, path) \
                 SELECT code, parent_code, name, level, path FROM latest l \
                  WHERE NOT EXISTS (SELECT 1 FROM region r WHERE r.code = l.code) \
                  ORDER BY path \
             ) \
             SELECT COUNT(*) AS n FROM latest",
        )
        .fetch_one(self.conn())
        .await
        .map_err(db_err)?;
        sqlx::query("TRUNCATE region_import")
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        sqlx::query("UPDATE region_generation SET generation = generation + 1 WHERE id = 1")
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        let written = count(col(&row, "n")?);
        tracing::debug!(rows = written, elapsed = ?started.elapsed(), "regions written");
        Ok(written)
    }

    async fn insert_user(&mut self, user: &NewUser) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO app_user (username, display_name, role, region_code, password_hash, created_at, site) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.role.name())
        .bind(user.region.as_str())
        .bind(&user.password_hash)
        .bind(user.created_at)
        .bind(&user.site)
        .fetch_one(self.conn())
        .await
        .map_err(db_err)?;
        col(&row, "id")
    }

    async fn insert_session(
        &mut self,
        token_hash: &[u8],
        user_id: i64,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO session (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(created_at)
            .bind(expires_at)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &[u8]) -> Result<bool> {
        sessions::delete_session(self.conn(), token_hash).await
    }

    async fn delete_sessions(&mut self, user_id: i64, except: Option<&[u8]>) -> Result<u64> {
        sessions::delete_sessions(self.conn(), user_id, except).await
    }

    async fn set_password_hash(&mut self, user_id: i64, password_hash: &str) -> Result<()> {
        sessions::set_password_hash(self.conn(), user_id, password_hash).await
    }

    async fn lock_login_failures(&mut self) -> Result<()> {
        sessions::lock_login_failures(self.conn()).await
    }

    async fn nth_login_failure(
        &mut self,
        by: LoginKey<'_>,
        since: DateTime<Utc>,
        n: u32,
    ) -> Result<Option<DateTime<Utc>>> {
        sessions::nth_login_failure(self.conn(), by, since, n).await
    }

    async fn insert_login_failure(
        &mut self,
        account: &[u8],
        address: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sessions::insert_login_failure(self.conn(), account, address, at).await
    }

    async fn clear_login_failures(
        &mut self,
        account: Option<&[u8]>,
        before: DateTime<Utc>,
    ) -> Result<()> {
        sessions::clear_login_failures(self.conn(), account, before).await
    }

    async fn current_report(&mut self, key: &ReportKey) -> Result<Option<ReportVersion>> {
        current_report_on(self.conn(), key).await
    }

    async fn current_reports_on(
        &mut self,
        form: &str,
        dates: &[NaiveDate],
    ) -> Result<Vec<ReportVersion>> {
        let sql = format!(
            "SELECT {REPORT_COLS} FROM report WHERE form = $1 AND date = ANY($2) AND current \
             ORDER BY date, region_code"
        );
        let rows = sqlx::query(&sql)
            .bind(form)
            .bind(dates)
            .fetch_all(self.conn())
            .await
            .map_err(db_err)?;
        all(rows, version_of)
    }

    async fn own_reports_among(
        &mut self,
        form: &str,
        date: NaiveDate,
        regions: &[RegionCode],
    ) -> Result<Vec<RegionCode>> {
        let codes: Vec<&str> = regions.iter().map(RegionCode::as_str).collect();
        let rows = sqlx::query(
            "SELECT DISTINCT region_code FROM report \
              WHERE form = $1 AND date = $2 AND current AND region_code = ANY($3)",
        )
        .bind(form)
        .bind(date)
        .bind(&codes)
        .fetch_all(self.conn())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| code_of(&col::<String>(r, "region_code")?))
            .collect()
    }

    async fn rollup(
        &mut self,
        form: &str,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Option<Values>> {
        let sql = format!(
            "SELECT {VALUE_COLS} FROM rollup WHERE form = $1 AND region_code = $2 AND date = $3"
        );
        let row = sqlx::query(&sql)
            .bind(form)
            .bind(region.as_str())
            .bind(date)
            .fetch_optional(self.conn())
            .await
            .map_err(db_err)?;
        row.as_ref().map(values_of).transpose()
    }

    async fn insert_versions(
        &mut self,
        versions: &[(ReportVersion, Level)],
        superseded: &[i64],
    ) -> Result<()> {
        let started = Instant::now();
        if !versions.is_empty() {
            let slots = slots_in_use(versions.iter().map(|(v, _)| &v.values));
            let values: Vec<&str> = VALUE_NAMES[..slots].to_vec();
            let mut columns = vec!["seq", "form", "region_code", "date", "version", "depth"];
            columns.extend(values);
            columns.extend(["filed_by", "filed_at", "source", "hash"]);
            let sql = format!(
                "COPY report ({}) FROM STDIN WITH (FORMAT binary)",
                columns.join(", ")
            );
            let mut copy = self.conn().copy_in_raw(&sql).await.map_err(db_err)?;
            let mut buf = Vec::with_capacity(COPY_CHUNK_BYTES + 1024);
            binary::header(&mut buf);
            // a batch at a time, so that the server works on one while the next is encoded
            for batch in versions.chunks(2_000) {
                binary_versions(&mut buf, batch, slots);
                if buf.len() >= COPY_CHUNK_BYTES / 8 {
                    send_copy(&mut copy, &buf).await?;
                    buf.clear();
                }
            }
            binary::trailer(&mut buf);
            send_copy(&mut copy, &buf).await?;
            copy.finish().await.map_err(db_err)?;
            self.inserted += versions.len();
        }
        if !superseded.is_empty() {
            sqlx::query("UPDATE report SET current = FALSE WHERE seq = ANY($1) AND current")
                .bind(superseded)
                .execute(self.conn())
                .await
                .map_err(db_err)?;
        }
        tracing::debug!(
            rows = versions.len(),
            superseded = superseded.len(),
            elapsed = ?started.elapsed(),
            "report versions written"
        );
        Ok(())
    }

    async fn add_to_rollups(&mut self, form: &str, deltas: &[RollupRow]) -> Result<()> {
        // one array per column, unnested into rows: one statement per chunk;
        // only the value slots in use (the others are 0 in every row)
        for chunk in deltas.chunks(50_000) {
            let slots = slots_in_use(chunk.iter().map(|d| &d.values));
            let casts: Vec<String> = (0..slots)
                .map(|i| format!(", ${}::int8[]", 5 + i))
                .collect();
            let update = if slots == 0 {
                "DO NOTHING".to_owned()
            } else {
                format!(
                    "DO UPDATE SET {}",
                    VALUE_NAMES[..slots]
                        .iter()
                        .map(|v| format!("{v} = rollup.{v} + excluded.{v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let sql = format!(
                "INSERT INTO rollup (form, region_code, date, depth{}) \
                 SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::int2[]{}) \
                 ON CONFLICT (form, region_code, date) {update}",
                VALUE_NAMES[..slots]
                    .iter()
                    .map(|v| format!(", {v}"))
                    .collect::<String>(),
                casts.concat(),
            );
            let regions: Vec<&str> = chunk.iter().map(|d| d.region.as_str()).collect();
            let dates: Vec<NaiveDate> = chunk.iter().map(|d| d.date).collect();
            let depths: Vec<i16> = chunk.iter().map(|d| d.level.depth()).collect();
            let mut q = sqlx::query(&sql)
                .bind(form)
                .bind(regions)
                .bind(dates)
                .bind(depths);
            for i in 0..slots {
                q = q.bind(chunk.iter().map(|d| d.values.0[i]).collect::<Vec<i64>>());
            }
            q.execute(self.conn()).await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn rollups_on(&mut self, form: &str, dates: &[NaiveDate]) -> Result<Vec<RollupRow>> {
        let sql = format!(
            "SELECT region_code, date, depth, {VALUE_COLS} FROM rollup WHERE form = $1 AND date = ANY($2)"
        );
        let rows = sqlx::query(&sql)
            .bind(form)
            .bind(dates)
            .fetch_all(self.conn())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let code: String = row.try_get("region_code").map_err(db_err)?;
                Ok(RollupRow {
                    date: row.try_get("date").map_err(db_err)?,
                    region: RegionCode::parse(&code).map_err(|_| bad("region code", &code))?,
                    level: level_of(row.try_get("depth").map_err(db_err)?)?,
                    values: values_of(row)?,
                })
            })
            .collect()
    }

    async fn rebuild_rollups(&mut self, form: &str, dates: &[NaiveDate]) -> Result<()> {
        let started = Instant::now();
        // planned for the reports as they now are
        self.analyze_if_loaded().await?;
        sqlx::query("DELETE FROM rollup WHERE form = $1 AND date = ANY($2)")
            .bind(form)
            .bind(dates)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        set_work_mem(self.conn()).await?;
        let sql = rebuild_level_sql();
        for depth in (1..=Level::Grid.depth()).rev() {
            sqlx::query(&sql)
                .bind(form)
                .bind(dates)
                .bind(depth)
                .execute(self.conn())
                .await
                .map_err(db_err)?;
        }
        tracing::debug!(form, days = dates.len(), elapsed = ?started.elapsed(), "roll-ups rebuilt");
        Ok(())
    }

    async fn insert_review(&mut self, review: &Review) -> Result<()> {
        sqlx::query(
            "INSERT INTO review (form, region_code, date, version, status, note, reviewer, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&review.key.form)
        .bind(review.key.region.as_str())
        .bind(review.key.date)
        .bind(review.version)
        .bind(review.status.name())
        .bind(&review.note)
        .bind(&review.reviewer)
        .bind(review.at)
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn alerts_since(&mut self, form: &str, since: NaiveDate) -> Result<Vec<Alert>> {
        analytics::alerts_since(self.conn(), form, since).await
    }

    async fn insert_alert(&mut self, alert: &Alert) -> Result<i64> {
        analytics::insert_alert(self.conn(), alert).await
    }

    async fn extend_alert(&mut self, alert: &Alert) -> Result<()> {
        analytics::extend_alert(self.conn(), alert).await
    }

    async fn set_alert_status(
        &mut self,
        id: i64,
        status: AlertStatus,
        verdict: Option<AlertVerdict>,
        note: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        analytics::set_alert_status(self.conn(), id, status, verdict, note, by, at).await
    }

    async fn put_risk_levels(&mut self, rows: &[RiskRow]) -> Result<()> {
        analytics::put_risk_levels(self.conn(), rows).await
    }

    async fn reserve_person_ids(&mut self, n: usize) -> Result<Vec<i64>> {
        let draw = self.draw;
        cases::reserve_person_ids(self.conn(), n, draw).await
    }

    async fn insert_persons_as(&mut self, ids: &[i64], persons: &[NewPerson]) -> Result<()> {
        cases::insert_persons_as(self.conn(), ids, persons).await
    }

    async fn persons_matching(
        &mut self,
        id_numbers: &[String],
        phones: &[String],
        names: &[String],
    ) -> Result<Vec<StoredPerson>> {
        cases::persons_matching(self.conn(), id_numbers, phones, names).await
    }

    async fn suspend_line_list_indexes(&mut self) -> Result<usize> {
        let dropped = cases::suspend_indexes(self.conn()).await?;
        self.draw = cases::Draw::Locked;
        let n = dropped.len();
        self.suspended.extend(dropped);
        Ok(n)
    }

    async fn restore_indexes(&mut self) -> Result<()> {
        let defs = std::mem::take(&mut self.suspended);
        cases::restore_indexes(self.conn(), &defs).await
    }

    async fn update_person(&mut self, id: i64, person: &NewPerson) -> Result<()> {
        cases::update_person(self.conn(), id, person).await
    }

    async fn merge_person(&mut self, keep: i64, merged: i64) -> Result<()> {
        cases::merge_person(self.conn(), keep, merged).await
    }

    async fn insert_cases(&mut self, cases: &[CaseEntry]) -> Result<Vec<i64>> {
        let keys = cases::insert_cases(self.conn(), cases).await?;
        self.line_list_inserted += keys.len();
        Ok(keys)
    }

    async fn update_case(&mut self, case: &CaseEntry, expected_version: u32) -> Result<()> {
        cases::update_case(self.conn(), case, expected_version).await
    }

    async fn insert_contacts(&mut self, contacts: &[ContactEntry]) -> Result<Vec<i64>> {
        let draw = self.draw;
        let keys = cases::insert_contacts(self.conn(), contacts, draw).await?;
        self.line_list_inserted += keys.len();
        Ok(keys)
    }

    async fn update_contact(&mut self, contact: &ContactEntry) -> Result<()> {
        cases::update_contact(self.conn(), contact).await
    }

    async fn insert_match_candidates(&mut self, candidates: &[MatchCandidate]) -> Result<()> {
        cases::insert_match_candidates(self.conn(), candidates).await
    }

    async fn decide_match(
        &mut self,
        id: i64,
        status: MatchStatus,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        cases::decide_match(self.conn(), id, status, by, at).await
    }

    async fn bump_graph_generation(&mut self) -> Result<()> {
        cases::bump_graph_generation(self.conn()).await
    }

    async fn latest_release(
        &mut self,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Option<fangkong_store::Release>> {
        publications::release_on(self.conn(), date, region, None).await
    }

    async fn insert_release(
        &mut self,
        release: &fangkong_store::Release,
        errata: &[fangkong_store::Erratum],
    ) -> Result<()> {
        publications::insert_release(self.conn(), release, errata).await
    }

    async fn insert_directive(&mut self, directive: &fangkong_store::NewDirective) -> Result<i64> {
        tasks::insert_directive(self.conn(), directive).await
    }

    async fn update_target(
        &mut self,
        target: &fangkong_store::StoredTarget,
        expected: fangkong_domain::task::TargetStatus,
    ) -> Result<()> {
        tasks::update_target(self.conn(), target, expected).await
    }

    async fn insert_tip(&mut self, tip: &fangkong_store::NewTip) -> Result<i64> {
        tasks::insert_tip(self.conn(), tip).await
    }

    async fn handle_tip(
        &mut self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
        note: Option<&fangkong_domain::task::Note>,
    ) -> Result<()> {
        tasks::handle_tip(self.conn(), id, by, at, note).await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.restore_indexes().await?;
        self.analyze_if_loaded().await?;
        self.tx.commit().await.map_err(db_err)
    }
}

/// The roll-ups of the parents of the regions at depth `$3`, for form `$1`
/// on the days `$2`: the sums of the children's figures, a child's figure
/// being its own current report, else its roll-up (built by the pass for
/// the level below).
fn rebuild_level_sql() -> String {
    let sums: Vec<String> = VALUE_NAMES
        .iter()
        .map(|v| format!("SUM({v})::bigint"))
        .collect();
    let sums = sums.join(", ");
    // a parent may sit more than one level up (a county directly under its
    // province): its row then collects from several passes
    let adds: Vec<String> = VALUE_NAMES
        .iter()
        .map(|v| format!("{v} = rollup.{v} + excluded.{v}"))
        .collect();
    let adds = adds.join(", ");
    format!(
        "INSERT INTO rollup (form, region_code, date, depth, {VALUE_COLS}) \
         SELECT $1, c.parent_code, c.date, p.level, {sums} FROM ( \
             SELECT region.parent_code, report.date, {VALUE_COLS} \
               FROM report JOIN region ON region.code = report.region_code \
              WHERE report.form = $1 AND report.date = ANY($2) AND report.depth = $3 AND report.current \
             UNION ALL \
             SELECT region.parent_code, u.date, {VALUE_COLS} \
               FROM rollup u JOIN region ON region.code = u.region_code \
              WHERE u.form = $1 AND u.date = ANY($2) AND u.depth = $3 AND {NO_OWN_REPORT} \
         ) c JOIN region p ON p.code = c.parent_code \
         GROUP BY c.parent_code, c.date, p.level \
         ON CONFLICT (form, region_code, date) DO UPDATE SET {adds}"
    )
}
