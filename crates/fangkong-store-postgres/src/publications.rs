//! Published data on PostgreSQL: releases in every version, their figures,
//! and the errata between versions. Rows are only ever inserted; a release's
//! rows and errata go in as one `INSERT … SELECT FROM UNNEST` each.

use super::*;

use fangkong_store::{
    Erratum, Release, ReleaseFigures, ReleaseHead, ReleaseRow, ReleasedRow, Witness, RELEASE_FIELDS,
};

const HEAD_COLS: &str = "date, region_code, version, published_at, published_by, reason, \
    units_reporting, report_seq, report_hash, audit_seq, audit_hash";
const ERRATUM_COLS: &str = "date, region_code, depth, release_code, field, old_value, \
    new_value, version, published_at, published_by, reason";

fn figure_cols(prefix: &str) -> String {
    RELEASE_FIELDS
        .iter()
        .map(|f| format!("{prefix}{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn head_of(row: &PgRow) -> Result<ReleaseHead> {
    let units: i32 = col(row, "units_reporting")?;
    Ok(ReleaseHead {
        date: col(row, "date")?,
        region: code_of(&col::<String>(row, "region_code")?)?,
        version: col(row, "version")?,
        published_at: col(row, "published_at")?,
        published_by: col(row, "published_by")?,
        reason: col(row, "reason")?,
        units_reporting: u32::try_from(units).map_err(|_| bad("units reporting", units))?,
        witness: witness_of(row)?,
    })
}

fn witness_of(row: &PgRow) -> Result<Option<Witness>> {
    let head = |seq: &str, hash: &str| -> Result<Option<ChainHead>> {
        let seq: Option<i64> = col(row, seq)?;
        let hash: Option<Vec<u8>> = col(row, hash)?;
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
pub(crate) async fn last_witness(pool: &PgPool) -> Result<Option<ReleaseHead>> {
    let sql = format!(
        "SELECT {HEAD_COLS} FROM release WHERE report_seq IS NOT NULL \
         ORDER BY published_at DESC, report_seq DESC, audit_seq DESC LIMIT 1"
    );
    sqlx::query(&sql)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(head_of)
        .transpose()
}

fn release_row_of(row: &PgRow) -> Result<ReleaseRow> {
    let mut figures = ReleaseFigures::default();
    for (slot, name) in figures.0.iter_mut().zip(RELEASE_FIELDS) {
        *slot = col(row, name)?;
    }
    Ok(ReleaseRow {
        region: code_of(&col::<String>(row, "region_code")?)?,
        name: col(row, "name")?,
        level: level_of(col(row, "depth")?)?,
        reported: col(row, "reported")?,
        figures,
    })
}

fn erratum_of(row: &PgRow) -> Result<Erratum> {
    Ok(Erratum {
        date: col(row, "date")?,
        region: code_of(&col::<String>(row, "region_code")?)?,
        level: level_of(col(row, "depth")?)?,
        release_region: code_of(&col::<String>(row, "release_code")?)?,
        field: col(row, "field")?,
        old_value: col(row, "old_value")?,
        new_value: col(row, "new_value")?,
        version: col(row, "version")?,
        published_at: col(row, "published_at")?,
        published_by: col(row, "published_by")?,
        reason: col(row, "reason")?,
    })
}

fn released_of(row: &PgRow) -> Result<ReleasedRow> {
    Ok(ReleasedRow {
        date: col(row, "date")?,
        release_region: code_of(&col::<String>(row, "release_code")?)?,
        version: col(row, "version")?,
        published_at: col(row, "published_at")?,
        row: release_row_of(row)?,
    })
}

/// One release (the latest version when `version` is `None`) with its rows.
pub(crate) async fn release_on(
    conn: &mut PgConnection,
    date: NaiveDate,
    region: &RegionCode,
    version: Option<i32>,
) -> Result<Option<Release>> {
    let sql = format!(
        "SELECT {HEAD_COLS} FROM release WHERE date = $1 AND region_code = $2 \
           AND ($3::INTEGER IS NULL OR version = $3) \
         ORDER BY version DESC LIMIT 1"
    );
    let Some(head) = sqlx::query(&sql)
        .bind(date)
        .bind(region.as_str())
        .bind(version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let head = head_of(&head)?;
    let sql = format!(
        "SELECT region_code, name, depth, reported, {} FROM release_figure \
         WHERE date = $1 AND release_code = $2 AND version = $3 \
         ORDER BY depth, region_code",
        figure_cols("")
    );
    let rows = sqlx::query(&sql)
        .bind(date)
        .bind(region.as_str())
        .bind(head.version)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(Some(Release {
        head,
        rows: all(rows, release_row_of)?,
    }))
}

pub(crate) async fn release(
    pool: &PgPool,
    date: NaiveDate,
    region: &RegionCode,
    version: Option<i32>,
) -> Result<Option<Release>> {
    // the head and the rows in one snapshot
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let out = release_on(&mut tx, date, region, version).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub(crate) async fn release_versions(
    pool: &PgPool,
    date: NaiveDate,
    region: &RegionCode,
) -> Result<Vec<ReleaseHead>> {
    let sql = format!(
        "SELECT {HEAD_COLS} FROM release WHERE date = $1 AND region_code = $2 ORDER BY version"
    );
    let rows = sqlx::query(&sql)
        .bind(date)
        .bind(region.as_str())
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    all(rows, head_of)
}

pub(crate) async fn latest_releases(
    pool: &PgPool,
    region: Option<&RegionCode>,
    from: NaiveDate,
    to: NaiveDate,
    max: u32,
) -> Result<Vec<ReleaseHead>> {
    let sql = format!(
        "SELECT DISTINCT ON (date, region_code) {HEAD_COLS} FROM release \
          WHERE ($1::TEXT IS NULL OR region_code = $1) AND date BETWEEN $2 AND $3 \
          ORDER BY date DESC, region_code, version DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(region.map(RegionCode::as_str))
        .bind(from)
        .bind(to)
        .bind(limit(max))
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    all(rows, head_of)
}

pub(crate) async fn errata(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    max: u32,
) -> Result<Vec<Erratum>> {
    let sql = format!(
        "SELECT {ERRATUM_COLS} FROM erratum WHERE date BETWEEN $1 AND $2 \
         ORDER BY published_at DESC, date DESC, region_code, field LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .bind(limit(max))
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    all(rows, erratum_of)
}

pub(crate) async fn released_rows(
    pool: &PgPool,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ReleasedRow>> {
    let sql = format!(
        "SELECT f.date, f.release_code, f.version, r.published_at, f.region_code, f.name, \
                f.depth, f.reported, {} \
           FROM release_figure f \
           JOIN release r ON r.date = f.date AND r.region_code = f.release_code \
                         AND r.version = f.version \
          WHERE f.depth = $1 AND f.date BETWEEN $2 AND $3 \
            AND f.version = (SELECT MAX(x.version) FROM release x \
                              WHERE x.date = f.date AND x.region_code = f.release_code) \
          ORDER BY f.date, f.region_code, r.published_at",
        figure_cols("f.")
    );
    let rows = sqlx::query(&sql)
        .bind(level.depth())
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    all(rows, released_of)
}

pub(crate) async fn insert_release(
    conn: &mut PgConnection,
    release: &Release,
    errata: &[Erratum],
) -> Result<()> {
    let h = &release.head;
    let units = i32::try_from(h.units_reporting).map_err(|_| bad("units", h.units_reporting))?;
    let sql = format!(
        "INSERT INTO release ({HEAD_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    let w = h.witness.as_ref();
    sqlx::query(&sql)
        .bind(h.date)
        .bind(h.region.as_str())
        .bind(h.version)
        .bind(h.published_at)
        .bind(&h.published_by)
        .bind(h.reason.as_deref())
        .bind(units)
        .bind(w.map(|w| w.report.seq))
        .bind(w.map(|w| w.report.hash.0.to_vec()))
        .bind(w.map(|w| w.audit.seq))
        .bind(w.map(|w| w.audit.hash.0.to_vec()))
        .execute(&mut *conn)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "version {} of the release of {} for {} is already published",
                h.version, h.region, h.date
            )),
            e => e,
        })?;

    let rows = &release.rows;
    let codes: Vec<&str> = rows.iter().map(|r| r.region.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let depths: Vec<i16> = rows.iter().map(|r| r.level.depth()).collect();
    let reported: Vec<bool> = rows.iter().map(|r| r.reported).collect();
    let figures: Vec<Vec<i64>> = (0..RELEASE_FIELDS.len())
        .map(|i| rows.iter().map(|r| r.figures.0[i]).collect())
        .collect();
    let params: Vec<String> = (0..RELEASE_FIELDS.len())
        .map(|i| format!("${}::BIGINT[]", i + 8))
        .collect();
    let sql = format!(
        "INSERT INTO release_figure (date, release_code, version, region_code, name, depth, \
           reported, {cols}) \
         SELECT $1, $2, $3, u.* FROM UNNEST($4::TEXT[], $5::TEXT[], $6::SMALLINT[], \
           $7::BOOLEAN[], {params}) AS u",
        cols = figure_cols(""),
        params = params.join(", "),
    );
    let mut q = sqlx::query(&sql)
        .bind(h.date)
        .bind(h.region.as_str())
        .bind(h.version)
        .bind(&codes)
        .bind(&names)
        .bind(&depths)
        .bind(&reported);
    for column in &figures {
        q = q.bind(column);
    }
    q.execute(&mut *conn).await.map_err(db_err)?;

    if errata.is_empty() {
        return Ok(());
    }
    let dates: Vec<NaiveDate> = errata.iter().map(|e| e.date).collect();
    let regions: Vec<&str> = errata.iter().map(|e| e.region.as_str()).collect();
    let depths: Vec<i16> = errata.iter().map(|e| e.level.depth()).collect();
    let releases: Vec<&str> = errata.iter().map(|e| e.release_region.as_str()).collect();
    let fields: Vec<&str> = errata.iter().map(|e| e.field.as_str()).collect();
    let olds: Vec<i64> = errata.iter().map(|e| e.old_value).collect();
    let news: Vec<i64> = errata.iter().map(|e| e.new_value).collect();
    let versions: Vec<i32> = errata.iter().map(|e| e.version).collect();
    let ats: Vec<DateTime<Utc>> = errata.iter().map(|e| e.published_at).collect();
    let bys: Vec<&str> = errata.iter().map(|e| e.published_by.as_str()).collect();
    let reasons: Vec<&str> = errata.iter().map(|e| e.reason.as_str()).collect();
    let sql = format!(
        "INSERT INTO erratum ({ERRATUM_COLS}) \
         SELECT * FROM UNNEST($1::DATE[], $2::TEXT[], $3::SMALLINT[], $4::TEXT[], $5::TEXT[], \
           $6::BIGINT[], $7::BIGINT[], $8::INTEGER[], $9::TIMESTAMPTZ[], $10::TEXT[], $11::TEXT[])"
    );
    sqlx::query(&sql)
        .bind(&dates)
        .bind(&regions)
        .bind(&depths)
        .bind(&releases)
        .bind(&fields)
        .bind(&olds)
        .bind(&news)
        .bind(&versions)
        .bind(&ats)
        .bind(&bys)
        .bind(&reasons)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
