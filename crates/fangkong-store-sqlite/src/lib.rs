//! # fangkong-store-sqlite
//!
//! The storage contract of `fangkong-store` on SQLite, the embedded default:
//! one file in WAL mode, created on first use, migrated on open.
//!
//! SQLite allows one writer at a time, so writes go through a pool of one
//! connection (no two write transactions can wait on each other) while reads
//! use their own pool and never block on writers (WAL).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::Notify;

use fangkong_domain::alert::{AlertStatus, AlertVerdict};
use fangkong_domain::audit::AuditEntry;
use fangkong_domain::case::CaseId;
use fangkong_domain::chain::Hash;
use fangkong_domain::contact::ContactId;
use fangkong_domain::form::{Values, MAX_FIELDS};
use fangkong_domain::matching::MatchStatus;
use fangkong_domain::region::{subtree_range, Level, Region, RegionCode};
use fangkong_domain::report::{ReportKey, ReportVersion, ReviewStatus, Source};
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

/// `v1, v2, …, v16`
mod analytics;
mod cases;
mod publications;
mod sessions;
mod tasks;

const VALUE_COLUMNS: &str = "v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16";
const REPORT_COLUMNS: &str = "seq, form, region_code, date, version, \
    v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, \
    filed_by, filed_at, source, hash";
const REGION_COLUMNS: &str = "code, parent_code, name, level, path";
const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.region_code, u.password_hash, u.created_at, u.site";
const AUDIT_COLUMNS: &str = "seq, at, actor, action, entity, entity_key, before, after, hash";
/// Rows per multi-row INSERT: 26 parameters each, well under SQLite's 32,766.
const INSERT_CHUNK: usize = 1000;
/// Items per JSON array handed to `json_each` in bulk paths.
const JSON_CHUNK: usize = 50_000;
/// Rows per BLOB of fixed-width records in bulk inserts (see `Fixed`).
const RECORD_CHUNK: usize = 20_000;

/// A JSON array of strings that need no escaping (codes, names of forms, usernames).
fn json_strings<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut json = String::from("[");
    for (n, item) in items.enumerate() {
        if n > 0 {
            json.push(',');
        }
        push_json_str(&mut json, item);
    }
    json.push(']');
    json
}

/// A JSON string literal, escaped.
fn push_json_str(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    checkpoints: Checkpoints,
}

/// Copies the WAL into the database file on a connection of its own after
/// commits (a passive checkpoint: readers and the writer go on meanwhile),
/// as a server's checkpointer does, instead of inside the commit that
/// passed SQLite's threshold: a commit returns once its pages are in the
/// WAL, which is what makes it last (a national import's commit waited 6 s
/// more for the copy). Commits that come while one runs are covered by the
/// next.
struct Checkpoints {
    wake: Arc<Notify>,
    /// Held while a checkpoint runs.
    running: Arc<tokio::sync::Mutex<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Checkpoints {
    fn start(pool: SqlitePool) -> Checkpoints {
        let wake = Arc::new(Notify::new());
        let running = Arc::new(tokio::sync::Mutex::new(()));
        let (woken, lock) = (wake.clone(), running.clone());
        let task = tokio::spawn(async move {
            loop {
                woken.notified().await;
                let _running = lock.lock().await;
                let started = std::time::Instant::now();
                match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    Ok(_) => tracing::debug!(took = ?started.elapsed(), "WAL checkpoint"),
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        });
        Checkpoints {
            wake,
            running,
            task,
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SqliteStore {
    /// Open (creating if missing) the database at `url` (`sqlite://fangkong.db`)
    /// and apply the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("not a SQLite URL: {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        // The writer's page cache holds the indexes a bulk import inserts
        // into at random places (a national line list: a few hundred MiB);
        // SQLite allocates it as pages are read, so a small database never
        // uses it. Dirty pages are not spilled to the WAL in the middle of
        // a transaction until they take 3 GiB (786,431 pages of 4 KiB; SQLite
        // reads the number's low byte as on/off too, so it must not be 0): a
        // page spilled and then changed again is written again, and every
        // miss looks through the WAL index of the growing transaction,
        // which made a national import superlinear (5M contacts: 266 s
        // spilling at 1 GiB, 210 s not spilling, 2.7 GiB resident).
        let write_options = options
            .clone()
            .pragma("cache_size", "-1048576")
            .pragma("cache_spill", "786431")
            .pragma("wal_autocheckpoint", "0");
        // the migrations on a connection of their own: a table rebuilt
        // (0007) opens the connection's temporary database, after which a
        // bulk load could no longer set `temp_store` inside its transaction
        let migrate = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(write_options.clone())
            .await
            .with_context(|| format!("cannot open SQLite database {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&migrate)
            .await
            .context("cannot migrate the SQLite database")?;
        migrate.close().await;
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(write_options)
            .await
            .with_context(|| format!("cannot open SQLite database {url}"))?;
        let checkpoints = Checkpoints::start(
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_lazy_with(options.clone()),
        );
        // the migrations' pages too
        checkpoints.wake.notify_one();
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("cannot open SQLite database {url}"))?;
        Ok(SqliteStore {
            read,
            write,
            checkpoints,
        })
    }
}

/// A unique violation is a [`StoreError::Conflict`]. A sum that leaves
/// `i64` is [`StoreError::OutOfRange`]: SQLite's `SUM()` says "integer
/// overflow", and `v + excluded.v` turns into a REAL that the STRICT
/// roll-up table refuses (SQLITE_CONSTRAINT_DATATYPE, 3091).
fn other(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_owned());
        }
        if db.code().as_deref() == Some("3091") || db.message() == "integer overflow" {
            return StoreError::OutOfRange(db.message().to_owned());
        }
    }
    StoreError::Other(anyhow!(e))
}

fn bad(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Other(anyhow!("stored {what} `{value}` is not valid"))
}

fn region_from_row(row: &SqliteRow) -> Result<Region> {
    let code: String = row.try_get("code").map_err(other)?;
    let parent: Option<String> = row.try_get("parent_code").map_err(other)?;
    let level: i64 = row.try_get("level").map_err(other)?;
    Ok(Region {
        code: RegionCode::parse(&code).map_err(|_| bad("region code", &code))?,
        parent: parent
            .map(|p| RegionCode::parse(&p).map_err(|_| bad("region code", &p)))
            .transpose()?,
        name: row.try_get("name").map_err(other)?,
        level: Level::from_depth(level).ok_or_else(|| bad("level", level))?,
        path: row.try_get("path").map_err(other)?,
    })
}

fn values_from_row(row: &SqliteRow) -> Result<Values> {
    let mut values = Values::ZERO;
    for (i, v) in values.0.iter_mut().enumerate() {
        *v = row.try_get(format!("v{}", i + 1).as_str()).map_err(other)?;
    }
    Ok(values)
}

/// `(region_code, v1…v16)` rows of one form and day.
async fn day_values(
    pool: &SqlitePool,
    sql: &str,
    form: &str,
    date: NaiveDate,
) -> Result<Vec<(RegionCode, Values)>> {
    sqlx::query(sql)
        .bind(form)
        .bind(date)
        .fetch_all(pool)
        .await
        .map_err(other)?
        .iter()
        .map(|row| {
            let code: String = row.try_get("region_code").map_err(other)?;
            Ok((
                RegionCode::parse(&code).map_err(|_| bad("region code", &code))?,
                values_from_row(row)?,
            ))
        })
        .collect()
}

fn hash_from_row(row: &SqliteRow, column: &str) -> Result<Hash> {
    let bytes: Vec<u8> = row.try_get(column).map_err(other)?;
    Hash::from_slice(&bytes).ok_or_else(|| bad("hash", hex_len(&bytes)))
}

fn hex_len(bytes: &[u8]) -> String {
    format!("of {} bytes", bytes.len())
}

fn version_from_row(row: &SqliteRow) -> Result<ReportVersion> {
    let region: String = row.try_get("region_code").map_err(other)?;
    let source: String = row.try_get("source").map_err(other)?;
    Ok(ReportVersion {
        seq: row.try_get("seq").map_err(other)?,
        key: ReportKey {
            form: row.try_get("form").map_err(other)?,
            region: RegionCode::parse(&region).map_err(|_| bad("region code", &region))?,
            date: row.try_get("date").map_err(other)?,
        },
        version: row.try_get("version").map_err(other)?,
        values: values_from_row(row)?,
        filed_by: row.try_get("filed_by").map_err(other)?,
        filed_at: row.try_get("filed_at").map_err(other)?,
        source: Source::parse(&source).ok_or_else(|| bad("source", &source))?,
        hash: hash_from_row(row, "hash")?,
    })
}

fn user_from_row(row: &SqliteRow) -> Result<StoredUser> {
    let role: String = row.try_get("role").map_err(other)?;
    let region: String = row.try_get("region_code").map_err(other)?;
    Ok(StoredUser {
        id: row.try_get("id").map_err(other)?,
        username: row.try_get("username").map_err(other)?,
        display_name: row.try_get("display_name").map_err(other)?,
        role: role.parse().map_err(|_| bad("role", &role))?,
        region: RegionCode::parse(&region).map_err(|_| bad("region code", &region))?,
        password_hash: row.try_get("password_hash").map_err(other)?,
        created_at: row.try_get("created_at").map_err(other)?,
        site: row.try_get("site").map_err(other)?,
    })
}

fn audit_from_row(row: &SqliteRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.try_get("seq").map_err(other)?,
        at: row.try_get("at").map_err(other)?,
        actor: row.try_get("actor").map_err(other)?,
        action: row.try_get("action").map_err(other)?,
        entity: row.try_get("entity").map_err(other)?,
        entity_key: row.try_get("entity_key").map_err(other)?,
        before: row.try_get("before").map_err(other)?,
        after: row.try_get("after").map_err(other)?,
        hash: hash_from_row(row, "hash")?,
    })
}

/// A unit that filed late (`filed_at`) or not at all (`filed_at` NULL).
fn unit_from_row(row: &SqliteRow) -> Result<UnitStatus> {
    let code: String = row.try_get("code").map_err(other)?;
    Ok(UnitStatus {
        region: RegionCode::parse(&code).map_err(|_| bad("region code", &code))?,
        name: row.try_get("name").map_err(other)?,
        filed_at: row.try_get("filed_at").map_err(other)?,
    })
}

fn review_from_row(row: &SqliteRow) -> Result<Review> {
    let region: String = row.try_get("region_code").map_err(other)?;
    let status: String = row.try_get("status").map_err(other)?;
    Ok(Review {
        key: ReportKey {
            form: row.try_get("form").map_err(other)?,
            region: RegionCode::parse(&region).map_err(|_| bad("region code", &region))?,
            date: row.try_get("date").map_err(other)?,
        },
        version: row.try_get("version").map_err(other)?,
        status: ReviewStatus::parse(&status).ok_or_else(|| bad("review status", &status))?,
        note: row.try_get("note").map_err(other)?,
        reviewer: row.try_get("reviewer").map_err(other)?,
        at: row.try_get("at").map_err(other)?,
    })
}

/// Per date, the own report where there is one, else the roll-up.
fn prefer_own(rows: Vec<SqliteRow>) -> Result<Vec<DayFigure>> {
    let mut out: Vec<DayFigure> = Vec::with_capacity(rows.len());
    for row in rows {
        let fig = DayFigure {
            date: row.try_get("date").map_err(other)?,
            values: values_from_row(&row)?,
            own: row.try_get::<i64, _>("own").map_err(other)? == 1,
        };
        match out.last_mut() {
            Some(last) if last.date == fig.date => {
                if fig.own {
                    *last = fig;
                }
            }
            _ => out.push(fig),
        }
    }
    Ok(out)
}

#[async_trait]
impl RegionStore for SqliteStore {
    async fn region(&self, code: &RegionCode) -> Result<Option<Region>> {
        let sql = format!("SELECT {REGION_COLUMNS} FROM region WHERE code = ?1");
        sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(other)?
            .map(|r| region_from_row(&r))
            .transpose()
    }

    async fn regions(&self, codes: &[RegionCode]) -> Result<Vec<Region>> {
        // Codes go in as one JSON array per chunk and the regions come back as
        // one JSON array: with sqlx, every parameter and every result row has a
        // cost that dominates at 620,000 codes; SQLite's JSON functions do not.
        let sql =
            "SELECT json_group_array(json_array(r.code, r.parent_code, r.name, r.level, r.path)) \
                   FROM json_each(?1) j JOIN region r ON r.code = j.value";
        let mut out = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(JSON_CHUNK) {
            let json = json_strings(chunk.iter().map(RegionCode::as_str));
            let found: String = sqlx::query_scalar(sql)
                .bind(json)
                .fetch_one(&self.read)
                .await
                .map_err(other)?;
            let rows: Vec<(String, Option<String>, String, i64, String)> =
                serde_json::from_str(&found)
                    .map_err(|e| StoreError::Other(anyhow!("regions as JSON: {e}")))?;
            for (code, parent, name, level, path) in rows {
                out.push(Region {
                    code: RegionCode::parse(&code).map_err(|_| bad("region code", &code))?,
                    parent: parent
                        .map(|p| RegionCode::parse(&p).map_err(|_| bad("region code", &p)))
                        .transpose()?,
                    name,
                    level: Level::from_depth(level).ok_or_else(|| bad("level", level))?,
                    path,
                });
            }
        }
        Ok(out)
    }

    async fn children(&self, code: &RegionCode) -> Result<Vec<Region>> {
        let sql =
            format!("SELECT {REGION_COLUMNS} FROM region WHERE parent_code = ?1 ORDER BY code");
        sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(region_from_row)
            .collect()
    }

    async fn search_regions(&self, path: &str, query: &str, limit: u32) -> Result<Vec<Region>> {
        let (lo, hi) = subtree_range(path);
        let sql = format!(
            "SELECT {REGION_COLUMNS} FROM region WHERE path >= ?1 AND path < ?2 \
             AND (instr(name, ?3) > 0 OR substr(code, 1, length(?3)) = ?3) \
             ORDER BY level, code LIMIT ?4"
        );
        sqlx::query(&sql)
            .bind(lo)
            .bind(hi)
            .bind(query)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(region_from_row)
            .collect()
    }

    async fn count_by_level(&self, path: &str) -> Result<Vec<(Level, u64)>> {
        let (lo, hi) = subtree_range(path);
        let mut out = Vec::new();
        // one range scan of the (level, path) index per level
        for level in Level::ALL {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM region WHERE level = ?1 AND path >= ?2 AND path < ?3",
            )
            .bind(level.depth())
            .bind(&lo)
            .bind(&hi)
            .fetch_one(&self.read)
            .await
            .map_err(other)?;
            if n > 0 {
                out.push((level, n as u64));
            }
        }
        Ok(out)
    }

    async fn regions_at_level(&self, path: &str, level: Level) -> Result<Vec<Region>> {
        let (lo, hi) = subtree_range(path);
        let sql = format!(
            "SELECT {REGION_COLUMNS} FROM region WHERE level = ?1 AND path >= ?2 AND path < ?3 ORDER BY code"
        );
        sqlx::query(&sql)
            .bind(level.depth())
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(region_from_row)
            .collect()
    }

    async fn region_generation(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT generation FROM region_generation WHERE id = 1")
            .fetch_one(&self.read)
            .await
            .map_err(other)
    }

    async fn region_tree(&self) -> Result<RegionTree> {
        // one statement, so one snapshot; the whole tree as one text value
        let (generation, text): (i64, Option<String>) = sqlx::query_as(
            "SELECT (SELECT generation FROM region_generation WHERE id = 1), \
                    (SELECT group_concat(printf('%s\t%s\t%d\t%d\t%s\n', code, ifnull(parent_code, ''), \
                         level, length(CAST(name AS BLOB)), name), '') FROM region)",
        )
        .fetch_one(&self.read)
        .await
        .map_err(other)?;
        RegionTree::parse(generation, text.unwrap_or_default())
    }
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn current_report(&self, key: &ReportKey) -> Result<Option<ReportVersion>> {
        current_report_on(&self.read, key).await
    }

    async fn report_history(&self, key: &ReportKey) -> Result<Vec<ReportVersion>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM report WHERE form = ?1 AND region_code = ?2 AND date = ?3 \
             ORDER BY version"
        );
        sqlx::query(&sql)
            .bind(&key.form)
            .bind(key.region.as_str())
            .bind(key.date)
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(version_from_row)
            .collect()
    }

    async fn figures(
        &self,
        form: &str,
        region: &RegionCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayFigure>> {
        let sql = format!(
            "SELECT date, 1 AS own, {VALUE_COLUMNS} FROM report \
               WHERE form = ?1 AND region_code = ?2 AND date BETWEEN ?3 AND ?4 AND current = 1 \
             UNION ALL \
             SELECT date, 0 AS own, {VALUE_COLUMNS} FROM rollup \
               WHERE form = ?1 AND region_code = ?2 AND date BETWEEN ?3 AND ?4 \
             ORDER BY date, own"
        );
        let rows = sqlx::query(&sql)
            .bind(form)
            .bind(region.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(&self.read)
            .await
            .map_err(other)?;
        prefer_own(rows)
    }

    async fn child_figures(
        &self,
        form: &str,
        parent: &RegionCode,
        date: NaiveDate,
    ) -> Result<Vec<ChildFigure>> {
        let sql = format!(
            "SELECT r.code AS region_code, 1 AS own, {VALUE_COLUMNS} FROM region r \
               JOIN report f ON f.form = ?1 AND f.region_code = r.code AND f.date = ?3 AND f.current = 1 \
               WHERE r.parent_code = ?2 \
             UNION ALL \
             SELECT r.code AS region_code, 0 AS own, {VALUE_COLUMNS} FROM region r \
               JOIN rollup u ON u.form = ?1 AND u.region_code = r.code AND u.date = ?3 \
               WHERE r.parent_code = ?2 \
             ORDER BY region_code, own"
        );
        let rows = sqlx::query(&sql)
            .bind(form)
            .bind(parent.as_str())
            .bind(date)
            .fetch_all(&self.read)
            .await
            .map_err(other)?;
        let mut out: Vec<ChildFigure> = Vec::with_capacity(rows.len());
        for row in rows {
            let code: String = row.try_get("region_code").map_err(other)?;
            let fig = ChildFigure {
                region: RegionCode::parse(&code).map_err(|_| bad("region code", &code))?,
                values: values_from_row(&row)?,
                own: row.try_get::<i64, _>("own").map_err(other)? == 1,
            };
            match out.last_mut() {
                Some(last) if last.region == fig.region => {
                    if fig.own {
                        *last = fig;
                    }
                }
                _ => out.push(fig),
            }
        }
        Ok(out)
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
            "SELECT COUNT(*) AS expected, COUNT(f.seq) AS filed, \
                    COALESCE(SUM(CASE WHEN f.filed_at <= ?5 THEN 1 ELSE 0 END), 0) AS on_time \
             FROM region r \
             LEFT JOIN report f ON f.form = ?1 AND f.region_code = r.code AND f.date = ?2 AND f.version = 1 \
             WHERE r.level = ?3 AND r.path >= ?4 AND r.path < ?6",
        )
        .bind(form)
        .bind(date)
        .bind(level.depth())
        .bind(lo)
        .bind(deadline)
        .bind(hi)
        .fetch_one(&self.read)
        .await
        .map_err(other)?;
        let get =
            |c: &str| -> Result<u64> { Ok(row.try_get::<i64, _>(c).map_err(other)?.max(0) as u64) };
        Ok(CompletenessCounts {
            expected: get("expected")?,
            filed: get("filed")?,
            on_time: get("on_time")?,
        })
    }

    async fn missing_units(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        limit: u32,
    ) -> Result<Vec<UnitStatus>> {
        let (lo, hi) = subtree_range(path);
        let rows = sqlx::query(
            "SELECT r.code, r.name, NULL AS filed_at FROM region r \
             WHERE r.level = ?3 AND r.path >= ?4 AND r.path < ?5 \
               AND NOT EXISTS (SELECT 1 FROM report f WHERE f.form = ?1 AND f.region_code = r.code \
                               AND f.date = ?2 AND f.version = 1) \
             ORDER BY r.code LIMIT ?6",
        )
        .bind(form)
        .bind(date)
        .bind(level.depth())
        .bind(lo)
        .bind(hi)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(other)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn late_units(
        &self,
        form: &str,
        path: &str,
        level: Level,
        date: NaiveDate,
        deadline: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UnitStatus>> {
        let (lo, hi) = subtree_range(path);
        let rows = sqlx::query(
            "SELECT r.code, r.name, f.filed_at FROM region r \
             JOIN report f ON f.form = ?1 AND f.region_code = r.code AND f.date = ?2 AND f.version = 1 \
             WHERE r.level = ?3 AND r.path >= ?4 AND r.path < ?5 AND f.filed_at > ?6 \
             ORDER BY r.code LIMIT ?7",
        )
        .bind(form)
        .bind(date)
        .bind(level.depth())
        .bind(lo)
        .bind(hi)
        .bind(deadline)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(other)?;
        rows.iter().map(unit_from_row).collect()
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
            "SELECT {} FROM report f JOIN region r ON r.code = f.region_code \
             WHERE f.form = ?1 AND f.date BETWEEN ?2 AND ?3 AND f.current = 1 \
               AND r.path >= ?4 AND r.path < ?5 \
             ORDER BY f.date, f.region_code",
            prefixed("f", REPORT_COLUMNS)
        );
        sqlx::query(&sql)
            .bind(form)
            .bind(from)
            .bind(to)
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(version_from_row)
            .collect()
    }

    async fn unreviewed(
        &self,
        path: &str,
        below_level: Level,
        filed_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ReportVersion>> {
        let (lo, hi) = subtree_range(path);
        let sql = format!(
            "SELECT {} FROM report f JOIN region r ON r.code = f.region_code \
             WHERE f.current = 1 AND f.depth > ?1 AND f.filed_at < ?2 \
               AND r.path >= ?3 AND r.path < ?4 \
               AND NOT EXISTS (SELECT 1 FROM review v WHERE v.form = f.form \
                   AND v.region_code = f.region_code AND v.date = f.date AND v.version = f.version) \
             ORDER BY f.filed_at LIMIT ?5",
            prefixed("f", REPORT_COLUMNS)
        );
        sqlx::query(&sql)
            .bind(below_level.depth())
            .bind(filed_before)
            .bind(lo)
            .bind(hi)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(version_from_row)
            .collect()
    }

    async fn reviews(&self, key: &ReportKey) -> Result<Vec<Review>> {
        sqlx::query(
            "SELECT form, region_code, date, version, status, note, reviewer, at FROM review \
             WHERE form = ?1 AND region_code = ?2 AND date = ?3 ORDER BY id",
        )
        .bind(&key.form)
        .bind(key.region.as_str())
        .bind(key.date)
        .fetch_all(&self.read)
        .await
        .map_err(other)?
        .iter()
        .map(review_from_row)
        .collect()
    }

    async fn report_chain(&self, after: i64, limit: u32) -> Result<Vec<ReportVersion>> {
        let sql =
            format!("SELECT {REPORT_COLUMNS} FROM report WHERE seq > ?1 ORDER BY seq LIMIT ?2");
        sqlx::query(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(version_from_row)
            .collect()
    }

    async fn report_days(&self, form: &str) -> Result<Vec<NaiveDate>> {
        sqlx::query_scalar(
            "SELECT date FROM rollup WHERE form = ?1 \
             UNION SELECT date FROM report WHERE form = ?1 AND current = 1 ORDER BY 1",
        )
        .bind(form)
        .fetch_all(&self.read)
        .await
        .map_err(other)
    }

    async fn day_reports(&self, form: &str, date: NaiveDate) -> Result<Vec<(RegionCode, Values)>> {
        let sql = format!(
            "SELECT region_code, {VALUE_COLUMNS} FROM report \
             WHERE form = ?1 AND date = ?2 AND current = 1"
        );
        day_values(&self.read, &sql, form, date).await
    }

    async fn day_rollups(&self, form: &str, date: NaiveDate) -> Result<Vec<(RegionCode, Values)>> {
        let sql = format!(
            "SELECT region_code, {VALUE_COLUMNS} FROM rollup WHERE form = ?1 AND date = ?2"
        );
        day_values(&self.read, &sql, form, date).await
    }

    async fn level_figures(
        &self,
        form: &str,
        path: &str,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(RegionCode, DayFigure)>> {
        analytics::level_figures(&self.read, form, path, level, from, to).await
    }
}

fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn user_by_name(&self, username: &str) -> Result<Option<StoredUser>> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM app_user u WHERE lower(u.username) = lower(?1)");
        sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.read)
            .await
            .map_err(other)?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn user_by_session(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<StoredUser>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM session s JOIN app_user u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2"
        );
        sqlx::query(&sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.read)
            .await
            .map_err(other)?
            .map(|r| user_from_row(&r))
            .transpose()
    }

    async fn users(&self, path: &str) -> Result<Vec<StoredUser>> {
        let (lo, hi) = subtree_range(path);
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM app_user u JOIN region r ON r.code = u.region_code \
             WHERE r.path >= ?1 AND r.path < ?2 ORDER BY u.username"
        );
        sqlx::query(&sql)
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(user_from_row)
            .collect()
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_chain(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2");
        sqlx::query(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(audit_from_row)
            .collect()
    }

    async fn audit_recent(&self, entity_key: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit WHERE (?1 IS NULL OR entity_key = ?1) \
             ORDER BY seq DESC LIMIT ?2"
        );
        sqlx::query(&sql)
            .bind(entity_key)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(other)?
            .iter()
            .map(audit_from_row)
            .collect()
    }
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        analytics::alerts(&self.read, filter).await
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        analytics::alert(&self.read, id).await
    }

    async fn risk_levels_on(&self, path: &str, date: NaiveDate) -> Result<Vec<RiskRow>> {
        analytics::risk_levels_on(&self.read, path, date).await
    }

    async fn risk_changes(
        &self,
        path: &str,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<RiskChange>> {
        analytics::risk_changes(&self.read, path, from, to, limit).await
    }
}

#[async_trait]
impl CaseStore for SqliteStore {
    async fn case(&self, id: &CaseId) -> Result<Option<StoredCase>> {
        cases::case(&self.read, id).await
    }

    async fn cases_by_keys(&self, keys: &[i64]) -> Result<Vec<StoredCase>> {
        cases::cases_by_keys(&self.read, keys).await
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<StoredCase>> {
        cases::cases(&self.read, filter).await
    }

    async fn existing_cases(&self, ids: &[CaseId]) -> Result<Vec<CaseId>> {
        cases::existing_cases(&self.read, ids).await
    }

    async fn cases_of_person(&self, person_id: i64) -> Result<Vec<StoredCase>> {
        cases::cases_of_person(&self.read, person_id).await
    }

    async fn contact(&self, id: &ContactId) -> Result<Option<StoredContact>> {
        cases::contact(&self.read, id).await
    }

    async fn contacts_by_keys(&self, keys: &[i64]) -> Result<Vec<StoredContact>> {
        cases::contacts_by_keys(&self.read, keys).await
    }

    async fn contacts(&self, filter: &ContactFilter) -> Result<Vec<StoredContact>> {
        cases::contacts(&self.read, filter).await
    }

    async fn existing_contacts(&self, ids: &[ContactId]) -> Result<Vec<ContactId>> {
        cases::existing_contacts(&self.read, ids).await
    }

    async fn contacts_of_person(&self, person_id: i64) -> Result<Vec<StoredContact>> {
        cases::contacts_of_person(&self.read, person_id).await
    }

    async fn person(&self, id: i64) -> Result<Option<StoredPerson>> {
        cases::person(&self.read, id).await
    }

    async fn persons_matching(
        &self,
        id_numbers: &[String],
        phones: &[String],
        names: &[String],
    ) -> Result<Vec<StoredPerson>> {
        let mut conn = self.read.acquire().await.map_err(other)?;
        cases::persons_matching(&mut conn, id_numbers, phones, names).await
    }

    async fn person_count(&self) -> Result<u64> {
        cases::person_count(&self.read).await
    }

    async fn person_id_number_keys(&self) -> Result<Vec<(u64, i64)>> {
        cases::person_id_number_keys(&self.read).await
    }

    async fn contact_ids(&self) -> Result<Vec<ContactId>> {
        cases::contact_ids(&self.read).await
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>> {
        cases::case_ids(&self.read).await
    }

    async fn case_states(&self, after: i64, limit: u32) -> Result<Vec<fangkong_store::StateRow>> {
        cases::state_rows(
            &self.read,
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
            &self.read,
            "contact",
            &fangkong_store::CONTACT_STATE_COLUMNS,
            after,
            limit,
        )
        .await
    }

    async fn match_candidates(&self, filter: &MatchFilter) -> Result<Vec<MatchCandidate>> {
        cases::match_candidates(&self.read, filter).await
    }

    async fn match_candidate(&self, id: i64) -> Result<Option<MatchCandidate>> {
        cases::match_candidate(&self.read, id).await
    }

    async fn graph_generation(&self) -> Result<i64> {
        cases::graph_generation(&self.read).await
    }

    async fn graph_rows(&self) -> Result<(i64, GraphRows)> {
        // the whole graph is read: after the checkpoint that is running, if
        // any, so that it is read from the file and not page by page
        // through a long WAL (after a national import: 17 s, not 33 s)
        drop(self.checkpoints.running.lock().await);
        cases::graph_rows(&self.read).await
    }
}

#[async_trait]
impl fangkong_store::PublicationStore for SqliteStore {
    async fn release(
        &self,
        date: NaiveDate,
        region: &RegionCode,
        version: Option<i32>,
    ) -> Result<Option<fangkong_store::Release>> {
        publications::release(&self.read, date, region, version).await
    }

    async fn release_versions(
        &self,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Vec<fangkong_store::ReleaseHead>> {
        publications::release_versions(&self.read, date, region).await
    }

    async fn latest_releases(
        &self,
        region: Option<&RegionCode>,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<fangkong_store::ReleaseHead>> {
        publications::latest_releases(&self.read, region, from, to, limit).await
    }

    async fn errata(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<fangkong_store::Erratum>> {
        publications::errata(&self.read, from, to, limit).await
    }

    async fn last_witness(&self) -> Result<Option<fangkong_store::ReleaseHead>> {
        publications::last_witness(&self.read).await
    }

    async fn released_rows(
        &self,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<fangkong_store::ReleasedRow>> {
        publications::released_rows(&self.read, level, from, to).await
    }
}

#[async_trait]
impl fangkong_store::TaskStore for SqliteStore {
    async fn directive(&self, id: i64) -> Result<Option<fangkong_store::StoredDirective>> {
        tasks::directive(&self.read, id).await
    }

    async fn directives(
        &self,
        filter: &fangkong_store::DirectiveFilter,
    ) -> Result<Vec<fangkong_store::StoredDirective>> {
        tasks::directives(&self.read, filter).await
    }

    async fn directive_targets(
        &self,
        filter: &fangkong_store::TargetFilter,
    ) -> Result<Vec<(fangkong_store::DirectiveRow, fangkong_store::StoredTarget)>> {
        tasks::directive_targets(&self.read, filter).await
    }

    async fn tip(&self, id: i64) -> Result<Option<fangkong_store::StoredTip>> {
        tasks::tip(&self.read, id).await
    }

    async fn tips(
        &self,
        filter: &fangkong_store::TipFilter,
    ) -> Result<Vec<fangkong_store::StoredTip>> {
        tasks::tips(&self.read, filter).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>> {
        let tx = self.write.begin().await.map_err(other)?;
        Ok(Box::new(SqliteTx {
            tx,
            checkpoint: self.checkpoints.wake.clone(),
            suspended: Vec::new(),
            next_person_id: None,
        }))
    }

    async fn chain_head(&self, chain: Chain) -> Result<ChainHead> {
        read_chain_head(&self.read, chain).await
    }
}

/// The highest version of one report, inside a transaction or not.
async fn current_report_on<'e, E>(ex: E, key: &ReportKey) -> Result<Option<ReportVersion>>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM report WHERE form = ?1 AND region_code = ?2 AND date = ?3 \
         ORDER BY version DESC LIMIT 1"
    );
    sqlx::query(&sql)
        .bind(&key.form)
        .bind(key.region.as_str())
        .bind(key.date)
        .fetch_optional(ex)
        .await
        .map_err(other)?
        .map(|r| version_from_row(&r))
        .transpose()
}

async fn read_chain_head<'e, E>(ex: E, chain: Chain) -> Result<ChainHead>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE name = ?1")
        .bind(chain.name())
        .fetch_one(ex)
        .await
        .map_err(other)?;
    Ok(ChainHead {
        seq: row.try_get("seq").map_err(other)?,
        hash: hash_from_row(&row, "hash")?,
    })
}

/// Rows for one `INSERT … SELECT` sent as one BLOB of fixed-width records,
/// cut apart in SQL by a counter (`WITH RECURSIVE n(i)`): field `k` of row
/// `i` is `substr(?1, i * width + offset_k, length_k)`.
///
/// With sqlx every bound parameter and every JSON value has a cost that
/// dominates at hundreds of thousands of rows; slicing a BLOB is the
/// cheapest thing SQLite does with bytes. What is the same for a whole chunk
/// is a parameter instead, and each field is as wide as its widest value in
/// the chunk.
struct Fixed {
    columns: Vec<String>,
    exprs: Vec<String>,
    params: Vec<Param>,
    fields: Vec<FieldSpec>,
    width: usize,
}

enum Param {
    Text(String),
    Int(i64),
}

#[derive(Clone, Copy)]
enum FieldSpec {
    /// Decimal, zero-padded to the width, a sign first when negative.
    Int(usize),
    /// The length in bytes (decimal, as wide as the first number), then
    /// the text padded with spaces to the second.
    Text(usize, usize),
    Bytes(usize),
}

/// One field of one record, in the order the columns were declared.
enum Cell<'a> {
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// `n` in decimal, zero-padded to `w` digits (`n` has at most `w`).
fn push_padded(out: &mut Vec<u8>, mut n: u64, w: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    while n > 0 {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[digits.len() - w..]);
}

/// The characters of `x` in decimal.
fn decimal_width(x: i64) -> usize {
    let mut n = x.unsigned_abs();
    let mut w = usize::from(x < 0) + 1;
    while n >= 10 {
        n /= 10;
        w += 1;
    }
    w
}

impl Fixed {
    fn new() -> Fixed {
        Fixed {
            columns: Vec::new(),
            exprs: Vec::new(),
            params: Vec::new(),
            fields: Vec::new(),
            width: 0,
        }
    }

    /// A column with the same value in every row (parameters ?3, ?4, …).
    fn param(&mut self, column: &str, value: Param) {
        self.params.push(value);
        self.columns.push(column.to_owned());
        self.exprs.push(format!("?{}", self.params.len() + 2));
    }

    /// A column `start + i` for row `i`.
    fn counter(&mut self, column: &str, start: i64) {
        self.params.push(Param::Int(start));
        self.columns.push(column.to_owned());
        self.exprs.push(format!("?{} + n.i", self.params.len() + 2));
    }

    fn field(&mut self, column: &str, spec: FieldSpec) {
        let at = self.width + 1;
        let expr = match spec {
            FieldSpec::Int(w) => {
                self.width += w;
                format!("CAST(substr(?1, n.i * #W + {at}, {w}) AS INTEGER)")
            }
            FieldSpec::Text(lw, w) => {
                self.width += lw + w;
                format!(
                    "CAST(substr(?1, n.i * #W + {}, CAST(substr(?1, n.i * #W + {at}, {lw}) AS INTEGER)) AS TEXT)",
                    at + lw
                )
            }
            FieldSpec::Bytes(w) => {
                self.width += w;
                format!("substr(?1, n.i * #W + {at}, {w})")
            }
        };
        self.columns.push(column.to_owned());
        self.exprs.push(expr);
        self.fields.push(spec);
    }

    /// A text field as wide as the longest of `texts`.
    fn text_field<'a>(&mut self, column: &str, texts: impl Iterator<Item = &'a str>) {
        let w = texts.map(str::len).max().unwrap_or(0);
        self.field(column, FieldSpec::Text(decimal_width(w as i64), w));
    }

    /// An integer field as wide as the widest of `values`.
    fn int_field(&mut self, column: &str, values: impl Iterator<Item = i64>) {
        let w = values.map(decimal_width).max().unwrap_or(1);
        self.field(column, FieldSpec::Int(w));
    }

    /// `INSERT INTO {table} ({columns}) SELECT … {tail}`: ?1 the records, ?2 their count.
    fn sql(&self, table: &str, tail: &str) -> String {
        let exprs = self.exprs.join(", ").replace("#W", &self.width.to_string());
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2) \
             INSERT INTO {table} ({}) SELECT {exprs} FROM n WHERE true {tail}",
            self.columns.join(", ")
        )
    }

    fn push(&self, out: &mut Vec<u8>, cells: &[Cell<'_>]) {
        for (spec, cell) in self.fields.iter().zip(cells) {
            match (*spec, cell) {
                (FieldSpec::Int(w), Cell::Int(x)) => {
                    if *x < 0 {
                        out.push(b'-');
                        push_padded(out, x.unsigned_abs(), w - 1);
                    } else {
                        push_padded(out, x.unsigned_abs(), w);
                    }
                }
                (FieldSpec::Text(lw, w), Cell::Text(t)) => {
                    push_padded(out, t.len() as u64, lw);
                    out.extend_from_slice(t.as_bytes());
                    out.resize(out.len() + (w - t.len()), b' ');
                }
                (FieldSpec::Bytes(w), Cell::Bytes(b)) => {
                    out.extend_from_slice(&b[..w]);
                }
                // the callers push cells in the order of their fields
                _ => debug_assert!(false, "a cell of the wrong kind"),
            }
        }
    }

    async fn execute(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        sql: &str,
        records: Vec<u8>,
        rows: usize,
    ) -> Result<()> {
        debug_assert_eq!(records.len(), rows * self.width);
        let mut q = sqlx::query(sql).bind(records).bind(rows as i64);
        for p in &self.params {
            q = match p {
                Param::Text(t) => q.bind(t.as_str()),
                Param::Int(x) => q.bind(*x),
            };
        }
        q.execute(&mut **tx).await.map_err(other)?;
        Ok(())
    }
}

/// Timestamps as sqlx writes them, so that text comparisons hold.
fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// The value slots in use: up to the last one not zero in any row.
fn slots_in_use<'a>(values: impl Iterator<Item = &'a Values>) -> usize {
    values
        .map(|v| v.0.iter().rposition(|x| *x != 0).map_or(0, |i| i + 1))
        .max()
        .unwrap_or(0)
}

/// Insert report versions as fixed-width records ([`Fixed`]): what the whole
/// chunk shares (form, filer, source, day, filing time, consecutive sequence
/// numbers) is bound once, and only the value slots in use are sent.
async fn insert_rows(
    tx: &mut Transaction<'static, Sqlite>,
    rows: &[(ReportVersion, Level)],
) -> Result<()> {
    let Some((first, _)) = rows.first() else {
        return Ok(());
    };
    let mut f = Fixed::new();
    let all = |same: &dyn Fn(&ReportVersion) -> bool| rows.iter().all(|(v, _)| same(v));
    let consecutive = rows
        .iter()
        .enumerate()
        .all(|(k, (v, _))| v.seq == first.seq + k as i64);
    if consecutive {
        f.counter("seq", first.seq);
    } else {
        f.int_field("seq", rows.iter().map(|(v, _)| v.seq));
    }
    // what the whole chunk shares is a parameter, else a field of each record
    let mut varying: Vec<Vec<String>> = Vec::new();
    let mut text = |column: &str, same: bool, text: &dyn Fn(&ReportVersion) -> String| {
        if same {
            f.param(column, Param::Text(text(first)));
        } else {
            let values: Vec<String> = rows.iter().map(|(v, _)| text(v)).collect();
            f.text_field(column, values.iter().map(String::as_str));
            varying.push(values);
        }
    };
    text("form", all(&|v| v.key.form == first.key.form), &|v| {
        v.key.form.clone()
    });
    text("filed_by", all(&|v| v.filed_by == first.filed_by), &|v| {
        v.filed_by.clone()
    });
    text("source", all(&|v| v.source == first.source), &|v| {
        v.source.name().to_owned()
    });
    text("date", all(&|v| v.key.date == first.key.date), &|v| {
        v.key.date.to_string()
    });
    text("filed_at", all(&|v| v.filed_at == first.filed_at), &|v| {
        time_text(&v.filed_at)
    });
    f.field("hash", FieldSpec::Bytes(32));
    f.int_field("version", rows.iter().map(|(v, _)| i64::from(v.version)));
    f.int_field("depth", rows.iter().map(|(_, l)| i64::from(l.depth())));
    let slots = slots_in_use(rows.iter().map(|(v, _)| &v.values));
    for k in 0..slots {
        f.int_field(
            &format!("v{}", k + 1),
            rows.iter().map(|(v, _)| v.values.0[k]),
        );
    }
    f.text_field(
        "region_code",
        rows.iter().map(|(v, _)| v.key.region.as_str()),
    );

    let mut records = Vec::with_capacity(rows.len() * f.width);
    let mut cells = Vec::with_capacity(8 + slots);
    for (i, (v, level)) in rows.iter().enumerate() {
        cells.clear();
        if !consecutive {
            cells.push(Cell::Int(v.seq));
        }
        for values in &varying {
            cells.push(Cell::Text(&values[i]));
        }
        cells.push(Cell::Bytes(&v.hash.0));
        cells.push(Cell::Int(i64::from(v.version)));
        cells.push(Cell::Int(i64::from(level.depth())));
        cells.extend(v.values.0[..slots].iter().map(|x| Cell::Int(*x)));
        cells.push(Cell::Text(v.key.region.as_str()));
        f.push(&mut records, &cells);
    }
    f.execute(tx, &f.sql("report", ""), records, rows.len())
        .await
}

/// A write transaction on the single writer connection.
pub struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    /// Woken after the commit ([`Checkpoints`]).
    checkpoint: Arc<Notify>,
    /// The indexes [`WriteTx::suspend_line_list_indexes`] dropped, as
    /// their `CREATE` statements.
    suspended: Vec<String>,
    /// The next person id [`WriteTx::reserve_person_ids`] gives, once asked.
    next_person_id: Option<i64>,
}

#[async_trait]
impl WriteTx for SqliteTx {
    async fn chain_head(&mut self, chain: Chain) -> Result<ChainHead> {
        // the writer pool has one connection: holding this transaction is the lock
        read_chain_head(&mut *self.tx, chain).await
    }

    async fn set_chain_head(&mut self, chain: Chain, head: ChainHead) -> Result<()> {
        sqlx::query("UPDATE chain_head SET seq = ?2, hash = ?3 WHERE name = ?1")
            .bind(chain.name())
            .bind(head.seq)
            .bind(head.hash.0.as_slice())
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn append_audit(&mut self, e: &AuditEntry) -> Result<()> {
        let sql = format!(
            "INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        );
        sqlx::query(&sql)
            .bind(e.seq)
            .bind(e.at)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.entity)
            .bind(&e.entity_key)
            .bind(e.before.as_deref())
            .bind(e.after.as_deref())
            .bind(e.hash.0.as_slice())
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn insert_regions(&mut self, regions: &[Region]) -> Result<u64> {
        if regions.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        for chunk in regions.chunks(INSERT_CHUNK) {
            let mut qb =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO region ({REGION_COLUMNS}) "));
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.code.as_str())
                    .push_bind(r.parent.as_ref().map(|p| p.as_str()))
                    .push_bind(&r.name)
                    .push_bind(r.level.depth())
                    .push_bind(&r.path);
            });
            qb.push(
                " ON CONFLICT (code) DO UPDATE SET parent_code = excluded.parent_code, \
                 name = excluded.name, level = excluded.level, path = excluded.path",
            );
            n += qb
                .build()
                .execute(&mut *self.tx)
                .await
                .map_err(other)?
                .rows_affected();
        }
        sqlx::query("UPDATE region_generation SET generation = generation + 1 WHERE id = 1")
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(n)
    }

    async fn insert_user(&mut self, u: &NewUser) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO app_user (username, display_name, role, region_code, password_hash, created_at, site) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(u.role.name())
        .bind(u.region.as_str())
        .bind(&u.password_hash)
        .bind(u.created_at)
        .bind(&u.site)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(other)?;
        row.try_get("id").map_err(other)
    }

    async fn insert_session(
        &mut self,
        token_hash: &[u8],
        user_id: i64,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO session (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(created_at)
            .bind(expires_at)
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &[u8]) -> Result<bool> {
        sessions::delete_session(&mut self.tx, token_hash).await
    }

    async fn delete_sessions(&mut self, user_id: i64, except: Option<&[u8]>) -> Result<u64> {
        sessions::delete_sessions(&mut self.tx, user_id, except).await
    }

    async fn set_password_hash(&mut self, user_id: i64, password_hash: &str) -> Result<()> {
        sessions::set_password_hash(&mut self.tx, user_id, password_hash).await
    }

    async fn lock_login_failures(&mut self) -> Result<()> {
        // the writer pool has one connection: holding this transaction is the lock
        Ok(())
    }

    async fn nth_login_failure(
        &mut self,
        by: LoginKey<'_>,
        since: DateTime<Utc>,
        n: u32,
    ) -> Result<Option<DateTime<Utc>>> {
        sessions::nth_login_failure(&mut self.tx, by, since, n).await
    }

    async fn insert_login_failure(
        &mut self,
        account: &[u8],
        address: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sessions::insert_login_failure(&mut self.tx, account, address, at).await
    }

    async fn clear_login_failures(
        &mut self,
        account: Option<&[u8]>,
        before: DateTime<Utc>,
    ) -> Result<()> {
        sessions::clear_login_failures(&mut self.tx, account, before).await
    }

    async fn current_report(&mut self, key: &ReportKey) -> Result<Option<ReportVersion>> {
        current_report_on(&mut *self.tx, key).await
    }

    async fn current_reports_on(
        &mut self,
        form: &str,
        dates: &[NaiveDate],
    ) -> Result<Vec<ReportVersion>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM report WHERE form = ?1 AND date = ?2 AND current = 1"
        );
        let mut out = Vec::new();
        for date in dates {
            let rows = sqlx::query(&sql)
                .bind(form)
                .bind(date)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(other)?;
            for row in rows {
                out.push(version_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn own_reports_among(
        &mut self,
        form: &str,
        date: NaiveDate,
        regions: &[RegionCode],
    ) -> Result<Vec<RegionCode>> {
        if regions.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT region_code FROM report WHERE form = ");
        qb.push_bind(form)
            .push(" AND date = ")
            .push_bind(date)
            .push(" AND current = 1 AND region_code IN (");
        let mut sep = qb.separated(", ");
        for r in regions {
            sep.push_bind(r.as_str());
        }
        qb.push(")");
        let rows = qb.build().fetch_all(&mut *self.tx).await.map_err(other)?;
        rows.iter()
            .map(|row| {
                let code: String = row.try_get("region_code").map_err(other)?;
                RegionCode::parse(&code).map_err(|_| bad("region code", &code))
            })
            .collect()
    }

    async fn rollup(
        &mut self,
        form: &str,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Option<Values>> {
        let sql = format!(
            "SELECT {VALUE_COLUMNS} FROM rollup WHERE form = ?1 AND region_code = ?2 AND date = ?3"
        );
        sqlx::query(&sql)
            .bind(form)
            .bind(region.as_str())
            .bind(date)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(other)?
            .map(|r| values_from_row(&r))
            .transpose()
    }

    async fn insert_versions(
        &mut self,
        versions: &[(ReportVersion, Level)],
        superseded: &[i64],
    ) -> Result<()> {
        for chunk in versions.chunks(RECORD_CHUNK) {
            insert_rows(&mut self.tx, chunk).await?;
        }
        // after the insert, so a version superseded in the same batch is found
        for chunk in superseded.chunks(INSERT_CHUNK) {
            let mut qb =
                QueryBuilder::<Sqlite>::new("UPDATE report SET current = 0 WHERE seq IN (");
            let mut sep = qb.separated(", ");
            for seq in chunk {
                sep.push_bind(*seq);
            }
            qb.push(")");
            qb.build().execute(&mut *self.tx).await.map_err(other)?;
        }
        Ok(())
    }

    async fn add_to_rollups(&mut self, form: &str, deltas: &[RollupRow]) -> Result<()> {
        for chunk in deltas.chunks(RECORD_CHUNK) {
            let Some(first) = chunk.first() else {
                continue;
            };
            // only the slots in use: the others are 0 in every row, the
            // default of a new roll-up and nothing to add to an old one
            let slots = slots_in_use(chunk.iter().map(|d| &d.values));
            let same_day = chunk.iter().all(|d| d.date == first.date);
            let dates: Vec<String> = if same_day {
                Vec::new()
            } else {
                chunk.iter().map(|d| d.date.to_string()).collect()
            };
            let mut f = Fixed::new();
            f.param("form", Param::Text(form.to_owned()));
            if same_day {
                f.param("date", Param::Text(first.date.to_string()));
            } else {
                f.text_field("date", dates.iter().map(String::as_str));
            }
            f.int_field("depth", chunk.iter().map(|d| i64::from(d.level.depth())));
            for k in 0..slots {
                f.int_field(&format!("v{}", k + 1), chunk.iter().map(|d| d.values.0[k]));
            }
            f.text_field("region_code", chunk.iter().map(|d| d.region.as_str()));
            let adds: Vec<String> = (1..=slots)
                .map(|i| format!("v{i} = v{i} + excluded.v{i}"))
                .collect();
            let tail = if adds.is_empty() {
                "ON CONFLICT (form, region_code, date) DO NOTHING".to_owned()
            } else {
                format!(
                    "ON CONFLICT (form, region_code, date) DO UPDATE SET {}",
                    adds.join(", ")
                )
            };
            let mut records = Vec::with_capacity(chunk.len() * f.width);
            let mut cells = Vec::with_capacity(3 + slots);
            for (i, d) in chunk.iter().enumerate() {
                cells.clear();
                if !same_day {
                    cells.push(Cell::Text(&dates[i]));
                }
                cells.push(Cell::Int(i64::from(d.level.depth())));
                cells.extend(d.values.0[..slots].iter().map(|x| Cell::Int(*x)));
                cells.push(Cell::Text(d.region.as_str()));
                f.push(&mut records, &cells);
            }
            f.execute(&mut self.tx, &f.sql("rollup", &tail), records, chunk.len())
                .await?;
        }
        Ok(())
    }

    async fn rollups_on(&mut self, form: &str, dates: &[NaiveDate]) -> Result<Vec<RollupRow>> {
        // one JSON array per day rather than one sqlx row per roll-up
        let sql = format!(
            "SELECT json_group_array(json_array(region_code, depth, {VALUE_COLUMNS})) \
             FROM rollup WHERE form = ?1 AND date = ?2"
        );
        let mut out = Vec::new();
        for date in dates {
            let json: String = sqlx::query_scalar(&sql)
                .bind(form)
                .bind(date)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(other)?;
            let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(&json)
                .map_err(|e| StoreError::Other(anyhow!("roll-ups as JSON: {e}")))?;
            for row in rows {
                let code = row.first().and_then(|v| v.as_str()).unwrap_or_default();
                let depth = row.get(1).and_then(serde_json::Value::as_i64).unwrap_or(-1);
                let mut values = Values::ZERO;
                for (i, v) in values.0.iter_mut().enumerate() {
                    *v = row
                        .get(2 + i)
                        .and_then(serde_json::Value::as_i64)
                        .unwrap_or(0);
                }
                out.push(RollupRow {
                    date: *date,
                    region: RegionCode::parse(code).map_err(|_| bad("region code", code))?,
                    level: Level::from_depth(depth).ok_or_else(|| bad("level", depth))?,
                    values,
                });
            }
        }
        Ok(out)
    }

    async fn rebuild_rollups(&mut self, form: &str, dates: &[NaiveDate]) -> Result<()> {
        let sums: Vec<String> = (1..=MAX_FIELDS).map(|i| format!("SUM(c.v{i})")).collect();
        let sums = sums.join(", ");
        // a parent may sit more than one level up (a county directly under a
        // province): its row then collects from several passes
        let adds: Vec<String> = (1..=MAX_FIELDS)
            .map(|i| format!("v{i} = v{i} + excluded.v{i}"))
            .collect();
        let adds = adds.join(", ");
        for date in dates {
            sqlx::query("DELETE FROM rollup WHERE form = ?1 AND date = ?2")
                .bind(form)
                .bind(date)
                .execute(&mut *self.tx)
                .await
                .map_err(other)?;
            // bottom-up: the parents of regions at depth d get the sums of
            // their children's figures (own report, else the roll-up built
            // in the pass before)
            for depth in (1..=Level::Grid.depth()).rev() {
                let sql = format!(
                    "INSERT INTO rollup (form, region_code, date, depth, {VALUE_COLUMNS}) \
                     SELECT ?1, r.parent_code, ?2, p.level, {sums} FROM ( \
                        SELECT region_code, {VALUE_COLUMNS} FROM report \
                          WHERE form = ?1 AND date = ?2 AND depth = ?3 AND current = 1 \
                        UNION ALL \
                        SELECT u.region_code, {} FROM rollup u \
                          WHERE u.form = ?1 AND u.date = ?2 AND u.depth = ?3 \
                            AND NOT EXISTS (SELECT 1 FROM report f WHERE f.form = ?1 AND f.date = ?2 \
                                AND f.region_code = u.region_code AND f.current = 1) \
                     ) c JOIN region r ON r.code = c.region_code JOIN region p ON p.code = r.parent_code \
                     WHERE true GROUP BY r.parent_code \
                     ON CONFLICT (form, region_code, date) DO UPDATE SET {adds}",
                    prefixed("u", VALUE_COLUMNS)
                );
                sqlx::query(&sql)
                    .bind(form)
                    .bind(date)
                    .bind(depth)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(other)?;
            }
        }
        Ok(())
    }

    async fn insert_review(&mut self, r: &Review) -> Result<()> {
        sqlx::query(
            "INSERT INTO review (form, region_code, date, version, status, note, reviewer, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(&r.key.form)
        .bind(r.key.region.as_str())
        .bind(r.key.date)
        .bind(r.version)
        .bind(r.status.name())
        .bind(&r.note)
        .bind(&r.reviewer)
        .bind(r.at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn alerts_since(&mut self, form: &str, since: NaiveDate) -> Result<Vec<Alert>> {
        analytics::alerts_since(&mut self.tx, form, since).await
    }

    async fn insert_alert(&mut self, alert: &Alert) -> Result<i64> {
        analytics::insert_alert(&mut self.tx, alert).await
    }

    async fn extend_alert(&mut self, alert: &Alert) -> Result<()> {
        analytics::extend_alert(&mut self.tx, alert).await
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
        analytics::set_alert_status(&mut self.tx, id, status, verdict, note, by, at).await
    }

    async fn put_risk_levels(&mut self, rows: &[RiskRow]) -> Result<()> {
        analytics::put_risk_levels(&mut self.tx, rows).await
    }

    async fn reserve_person_ids(&mut self, n: usize) -> Result<Vec<i64>> {
        // this transaction is the only writer: ids are counted here from the
        // highest stored one
        let next = match self.next_person_id {
            Some(next) => next,
            None => cases::next_person_id(&mut self.tx).await?,
        };
        let end = next + n as i64;
        self.next_person_id = Some(end);
        Ok((next..end).collect())
    }

    async fn insert_persons_as(&mut self, ids: &[i64], persons: &[NewPerson]) -> Result<()> {
        cases::insert_persons(&mut self.tx, ids, persons).await
    }

    async fn persons_matching(
        &mut self,
        id_numbers: &[String],
        phones: &[String],
        names: &[String],
    ) -> Result<Vec<StoredPerson>> {
        cases::persons_matching(&mut self.tx, id_numbers, phones, names).await
    }

    async fn suspend_line_list_indexes(&mut self) -> Result<usize> {
        let dropped = cases::suspend_indexes(&mut self.tx).await?;
        let n = dropped.len();
        self.suspended.extend(dropped);
        Ok(n)
    }

    async fn restore_indexes(&mut self) -> Result<()> {
        let sql = std::mem::take(&mut self.suspended);
        cases::restore_indexes(&mut self.tx, &sql).await
    }

    async fn update_person(&mut self, id: i64, person: &NewPerson) -> Result<()> {
        cases::update_person(&mut self.tx, id, person).await
    }

    async fn merge_person(&mut self, keep: i64, merged: i64) -> Result<()> {
        cases::merge_person(&mut self.tx, keep, merged).await
    }

    async fn insert_cases(&mut self, cases: &[CaseEntry]) -> Result<Vec<i64>> {
        cases::insert_cases(&mut self.tx, cases).await
    }

    async fn update_case(&mut self, case: &CaseEntry, expected_version: u32) -> Result<()> {
        cases::update_case(&mut self.tx, case, expected_version).await
    }

    async fn insert_contacts(&mut self, contacts: &[ContactEntry]) -> Result<Vec<i64>> {
        cases::insert_contacts(&mut self.tx, contacts).await
    }

    async fn update_contact(&mut self, contact: &ContactEntry) -> Result<()> {
        cases::update_contact(&mut self.tx, contact).await
    }

    async fn insert_match_candidates(&mut self, candidates: &[MatchCandidate]) -> Result<()> {
        cases::insert_match_candidates(&mut self.tx, candidates).await
    }

    async fn decide_match(
        &mut self,
        id: i64,
        status: MatchStatus,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        cases::decide_match(&mut self.tx, id, status, by, at).await
    }

    async fn bump_graph_generation(&mut self) -> Result<()> {
        cases::bump_graph_generation(&mut self.tx).await
    }

    async fn latest_release(
        &mut self,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Option<fangkong_store::Release>> {
        publications::release_on(&mut self.tx, date, region, None).await
    }

    async fn insert_release(
        &mut self,
        release: &fangkong_store::Release,
        errata: &[fangkong_store::Erratum],
    ) -> Result<()> {
        publications::insert_release(&mut self.tx, release, errata).await
    }

    async fn insert_directive(&mut self, directive: &fangkong_store::NewDirective) -> Result<i64> {
        tasks::insert_directive(&mut self.tx, directive).await
    }

    async fn update_target(
        &mut self,
        target: &fangkong_store::StoredTarget,
        expected: fangkong_domain::task::TargetStatus,
    ) -> Result<()> {
        tasks::update_target(&mut self.tx, target, expected).await
    }

    async fn insert_tip(&mut self, tip: &fangkong_store::NewTip) -> Result<i64> {
        tasks::insert_tip(&mut self.tx, tip).await
    }

    async fn handle_tip(
        &mut self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
        note: Option<&fangkong_domain::task::Note>,
    ) -> Result<()> {
        tasks::handle_tip(&mut self.tx, id, by, at, note).await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.restore_indexes().await?;
        self.tx.commit().await.map_err(other)?;
        self.checkpoint.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The database file's size, and the size its pages take.
    async fn sizes(store: &SqliteStore, path: &std::path::Path) -> (u64, u64) {
        let (pages, size): (i64, i64) =
            sqlx::query_as("SELECT page_count, page_size FROM pragma_page_count, pragma_page_size")
                .fetch_one(&store.read)
                .await
                .unwrap();
        let file = std::fs::metadata(path).unwrap().len();
        (file, (pages * size) as u64)
    }

    #[tokio::test]
    async fn commits_are_copied_from_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let rows: Vec<NewPerson> = (0..5_000)
            .map(|i| NewPerson {
                person: fangkong_domain::case::Person {
                    name: None,
                    id_number: None,
                    sex: fangkong_domain::case::Sex::Female,
                    age: None,
                    phone: None,
                    address: Some(
                        fangkong_domain::case::Place::parse("address", &format!("{i:0>200}"))
                            .unwrap(),
                    ),
                    home_region: RegionCode::parse("420102").unwrap(),
                },
                home_path: "/420102/".into(),
            })
            .collect();
        tx.insert_persons(&rows).await.unwrap();
        tx.commit().await.unwrap();
        // the writer leaves the copy to the checkpointer, which does it soon
        let mut waited = Duration::ZERO;
        loop {
            let (file, pages) = sizes(&store, &path).await;
            if file == pages && file > 5_000 * 200 {
                break;
            }
            assert!(
                waited < Duration::from_secs(10),
                "the database file has {file} bytes of {pages}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += Duration::from_millis(20);
        }
    }
}
