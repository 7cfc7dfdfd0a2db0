//! Published data on SQLite: releases in every version, their figures, and
//! the errata between versions. Rows are only ever inserted.

use super::*;

use sqlx::SqliteConnection;

use fangkong_store::{
    Erratum, Release, ReleaseFigures, ReleaseHead, ReleaseRow, ReleasedRow, Witness, RELEASE_FIELDS,
};

const HEAD_COLUMNS: &str = "date, region_code, version, published_at, published_by, reason, \
    units_reporting, report_seq, report_hash, audit_seq, audit_hash";
const FIGURE_COLUMNS: &str = "new_confirmed, new_suspected, new_severe, new_deaths, \
    new_recovered, cum_confirmed, cum_deaths, cum_recovered, current_severe, current_suspected, \
    current_observation";
const ERRATUM_COLUMNS: &str = "date, region_code, depth, release_code, field, old_value, \
    new_value, version, published_at, published_by, reason";
/// Rows per multi-row INSERT of figures: 18 parameters each.
const FIGURE_CHUNK: usize = 500;

fn get<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(other)
}

fn code_at(row: &SqliteRow, name: &str) -> Result<RegionCode> {
    let s: String = get(row, name)?;
    RegionCode::parse(&s).map_err(|_| bad("region code", &s))
}

fn level_at(row: &SqliteRow) -> Result<Level> {
    let depth: i64 = get(row, "depth")?;
    Level::from_depth(depth).ok_or_else(|| bad("level", depth))
}

fn head_from_row(row: &SqliteRow) -> Result<ReleaseHead> {
    let units: i64 = get(row, "units_reporting")?;
    Ok(ReleaseHead {
        date: get(row, "date")?,
        region: code_at(row, "region_code")?,
        version: get(row, "version")?,
        published_at: get(row, "published_at")?,
        published_by: get(row, "published_by")?,
        reason: get(row, "reason")?,
        units_reporting: u32::try_from(units).map_err(|_| bad("units reporting", units))?,
        witness: witness_from_row(row)?,
    })
}

fn witness_from_row(row: &SqliteRow) -> Result<Option<Witness>> {
    let head = |seq: &str, hash: &str| -> Result<Option<ChainHead>> {
        let seq: Option<i64> = get(row, seq)?;
        let hash: Option<Vec<u8>> = get(row, hash)?;
        Ok(match (seq, hash) {
            (Some(seq), Some(h)) => Some(ChainHead {
                seq,
                hash: Hash::from_slice(&h).ok_or_else(|| bad("witnessed hash", seq))?,
            }),
            _ => None,
        })
    };
    Ok(
        match (
            head("report_seq", "report_hash")?,
            head("audit_seq", "audit_hash")?,
        ) {
            (Some(report), Some(audit)) => Some(Witness { report, audit }),
            _ => None,
        },
    )
}

/// The head of the release published last that witnessed the chains.
pub(crate) async fn last_witness(pool: &SqlitePool) -> Result<Option<ReleaseHead>> {
    let sql = format!(
        "SELECT {HEAD_COLUMNS} FROM release WHERE report_seq IS NOT NULL \
         ORDER BY published_at DESC, report_seq DESC, audit_seq DESC LIMIT 1"
    );
    sqlx::query(&sql)
        .fetch_optional(pool)
        .await
        .map_err(other)?
        .as_ref()
        .map(head_from_row)
        .transpose()
}

fn release_row_from_row(row: &SqliteRow) -> Result<ReleaseRow> {
    let mut figures = ReleaseFigures::default();
    for (slot, name) in figures.0.iter_mut().zip(RELEASE_FIELDS) {
        *slot = get(row, name)?;
    }
    Ok(ReleaseRow {
        region: code_at(row, "region_code")?,
        name: get(row, "name")?,
        level: level_at(row)?,
        reported: get::<i64>(row, "reported")? != 0,
        figures,
    })
}

fn erratum_from_row(row: &SqliteRow) -> Result<Erratum> {
    Ok(Erratum {
        date: get(row, "date")?,
        region: code_at(row, "region_code")?,
        level: level_at(row)?,
        release_region: code_at(row, "release_code")?,
        field: get(row, "field")?,
        old_value: get(row, "old_value")?,
        new_value: get(row, "new_value")?,
        version: get(row, "version")?,
        published_at: get(row, "published_at")?,
        published_by: get(row, "published_by")?,
        reason: get(row, "reason")?,
    })
}

/// One release (the latest version when `version` is `None`) with its rows.
pub(crate) async fn release_on(
    conn: &mut SqliteConnection,
    date: NaiveDate,
    region: &RegionCode,
    version: Option<i32>,
) -> Result<Option<Release>> {
    let sql = format!(
        "SELECT {HEAD_COLUMNS} FROM release WHERE date = ?1 AND region_code = ?2 \
           AND (?3 IS NULL OR version = ?3) \
         ORDER BY version DESC LIMIT 1"
    );
    let Some(head) = sqlx::query(&sql)
        .bind(date)
        .bind(region.as_str())
        .bind(version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(other)?
    else {
        return Ok(None);
    };
    let head = head_from_row(&head)?;
    let sql = format!(
        "SELECT region_code, name, depth, reported, {FIGURE_COLUMNS} FROM release_figure \
         WHERE date = ?1 AND release_code = ?2 AND version = ?3 \
         ORDER BY depth, region_code"
    );
    let rows = sqlx::query(&sql)
        .bind(date)
        .bind(region.as_str())
        .bind(head.version)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
        .iter()
        .map(release_row_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Release { head, rows }))
}

pub(crate) async fn release(
    pool: &SqlitePool,
    date: NaiveDate,
    region: &RegionCode,
    version: Option<i32>,
) -> Result<Option<Release>> {
    let mut conn = pool.acquire().await.map_err(other)?;
    release_on(&mut conn, date, region, version).await
}

pub(crate) async fn release_versions(
    pool: &SqlitePool,
    date: NaiveDate,
    region: &RegionCode,
) -> Result<Vec<ReleaseHead>> {
    let sql = format!(
        "SELECT {HEAD_COLUMNS} FROM release WHERE date = ?1 AND region_code = ?2 ORDER BY version"
    );
    sqlx::query(&sql)
        .bind(date)
        .bind(region.as_str())
        .fetch_all(pool)
        .await
        .map_err(other)?
        .iter()
        .map(head_from_row)
        .collect()
}

pub(crate) async fn latest_releases(
    pool: &SqlitePool,
    region: Option<&RegionCode>,
    from: NaiveDate,
    to: NaiveDate,
    limit: u32,
) -> Result<Vec<ReleaseHead>> {
    let sql = format!(
        "SELECT {HEAD_COLUMNS} FROM release r \
         WHERE (?1 IS NULL OR r.region_code = ?1) AND r.date BETWEEN ?2 AND ?3 \
           AND r.version = (SELECT MAX(x.version) FROM release x \
                             WHERE x.date = r.date AND x.region_code = r.region_code) \
         ORDER BY r.date DESC, r.region_code LIMIT ?4"
    );
    sqlx::query(&sql)
        .bind(region.map(RegionCode::as_str))
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(other)?
        .iter()
        .map(head_from_row)
        .collect()
}

pub(crate) async fn errata(
    pool: &SqlitePool,
    from: NaiveDate,
    to: NaiveDate,
    limit: u32,
) -> Result<Vec<Erratum>> {
    let sql = format!(
        "SELECT {ERRATUM_COLUMNS} FROM erratum WHERE date BETWEEN ?1 AND ?2 \
         ORDER BY published_at DESC, date DESC, region_code, field LIMIT ?3"
    );
    sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(other)?
        .iter()
        .map(erratum_from_row)
        .collect()
}

pub(crate) async fn released_rows(
    pool: &SqlitePool,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ReleasedRow>> {
    let sql = format!(
        "SELECT f.date, f.release_code, f.version, r.published_at, f.region_code, f.name, \
                f.depth, f.reported, {figures} \
           FROM release_figure f \
           JOIN release r ON r.date = f.date AND r.region_code = f.release_code \
                         AND r.version = f.version \
          WHERE f.depth = ?1 AND f.date BETWEEN ?2 AND ?3 \
            AND f.version = (SELECT MAX(x.version) FROM release x \
                              WHERE x.date = f.date AND x.region_code = f.release_code) \
          ORDER BY f.date, f.region_code, r.published_at",
        figures = FIGURE_COLUMNS
            .split(", ")
            .map(|c| format!("f.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    sqlx::query(&sql)
        .bind(level.depth())
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .map_err(other)?
        .iter()
        .map(|row| {
            Ok(ReleasedRow {
                date: get(row, "date")?,
                release_region: code_at(row, "release_code")?,
                version: get(row, "version")?,
                published_at: get(row, "published_at")?,
                row: release_row_from_row(row)?,
            })
        })
        .collect()
}

pub(crate) async fn insert_release(
    conn: &mut SqliteConnection,
    release: &Release,
    errata: &[Erratum],
) -> Result<()> {
    let h = &release.head;
    let sql = format!(
        "INSERT INTO release ({HEAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    );
    let w = h.witness.as_ref();
    sqlx::query(&sql)
        .bind(h.date)
        .bind(h.region.as_str())
        .bind(h.version)
        .bind(h.published_at)
        .bind(&h.published_by)
        .bind(h.reason.as_deref())
        .bind(i64::from(h.units_reporting))
        .bind(w.map(|w| w.report.seq))
        .bind(w.map(|w| w.report.hash.0.to_vec()))
        .bind(w.map(|w| w.audit.seq))
        .bind(w.map(|w| w.audit.hash.0.to_vec()))
        .execute(&mut *conn)
        .await
        .map_err(|e| match other(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "version {} of the release of {} for {} is already published",
                h.version, h.region, h.date
            )),
            e => e,
        })?;
    for chunk in release.rows.chunks(FIGURE_CHUNK) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "INSERT INTO release_figure (date, release_code, version, region_code, name, depth, \
             reported, {FIGURE_COLUMNS}) "
        ));
        q.push_values(chunk, |mut b, r| {
            b.push_bind(h.date)
                .push_bind(h.region.as_str())
                .push_bind(h.version)
                .push_bind(r.region.as_str())
                .push_bind(&r.name)
                .push_bind(r.level.depth())
                .push_bind(i64::from(r.reported));
            for v in r.figures.0 {
                b.push_bind(v);
            }
        });
        q.build().execute(&mut *conn).await.map_err(other)?;
    }
    for chunk in errata.chunks(FIGURE_CHUNK) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("INSERT INTO erratum ({ERRATUM_COLUMNS}) "));
        q.push_values(chunk, |mut b, e| {
            b.push_bind(e.date)
                .push_bind(e.region.as_str())
                .push_bind(e.level.depth())
                .push_bind(e.release_region.as_str())
                .push_bind(&e.field)
                .push_bind(e.old_value)
                .push_bind(e.new_value)
                .push_bind(e.version)
                .push_bind(e.published_at)
                .push_bind(&e.published_by)
                .push_bind(&e.reason);
        });
        q.build().execute(&mut *conn).await.map_err(other)?;
    }
    Ok(())
}
