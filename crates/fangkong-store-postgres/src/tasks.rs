//! Directives and the public tip line on PostgreSQL.

use super::*;

use fangkong_domain::task::{
    DirectiveText, Note, Target, TargetStatus, TipContact, TipStatus, TipText,
};
use fangkong_store::{
    DirectiveFilter, DirectiveRow, NewDirective, NewTip, StoredDirective, StoredTarget, StoredTip,
    TargetFilter, TipFilter,
};

/// Targets per multi-row INSERT: 4 parameters each, well under 65,535.
const TARGET_CHUNK: usize = 5000;

const DIRECTIVE_COLUMNS: &str =
    "d.id, d.text, d.deadline, d.issuer_region, d.issuer_path, d.issued_by, d.issued_at";
const TARGET_COLUMNS: &str = "t.directive_id, t.region_code, t.path, t.status, \
    t.acknowledged_by, t.acknowledged_at, t.completed_by, t.completed_at, t.note";
const TIP_COLUMNS: &str = "id, region_code, responsible, responsible_path, what, contact, \
    received_at, status, handled_by, handled_at, note";

fn get<'r, T>(row: &'r PgRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    col(row, name)
}

fn code_in(row: &PgRow, name: &str) -> Result<RegionCode> {
    let s: String = get(row, name)?;
    code_of(&s)
}

fn note_in(row: &PgRow) -> Result<Option<Note>> {
    get::<Option<String>>(row, "note")?
        .map(|n| Note::parse(&n).map_err(|_| bad("note", &n)))
        .transpose()
}

fn directive_from_row(row: &PgRow) -> Result<DirectiveRow> {
    let text: String = get(row, "text")?;
    Ok(DirectiveRow {
        id: get(row, "id")?,
        text: DirectiveText::parse(&text).map_err(|_| bad("directive text", &text))?,
        deadline: get(row, "deadline")?,
        issuer_region: code_in(row, "issuer_region")?,
        issuer_path: get(row, "issuer_path")?,
        issued_by: get(row, "issued_by")?,
        issued_at: get(row, "issued_at")?,
    })
}

fn target_from_row(row: &PgRow) -> Result<StoredTarget> {
    let status: String = get(row, "status")?;
    Ok(StoredTarget {
        directive_id: get(row, "directive_id")?,
        path: get(row, "path")?,
        target: Target {
            region: code_in(row, "region_code")?,
            status: TargetStatus::parse(&status).ok_or_else(|| bad("target status", &status))?,
            acknowledged_by: get(row, "acknowledged_by")?,
            acknowledged_at: get(row, "acknowledged_at")?,
            completed_by: get(row, "completed_by")?,
            completed_at: get(row, "completed_at")?,
            note: note_in(row)?,
        },
    })
}

fn tip_from_row(row: &PgRow) -> Result<StoredTip> {
    let what: String = get(row, "what")?;
    let status: String = get(row, "status")?;
    Ok(StoredTip {
        id: get(row, "id")?,
        region: code_in(row, "region_code")?,
        responsible: code_in(row, "responsible")?,
        responsible_path: get(row, "responsible_path")?,
        // stored as checked on the way in; read back without the spam rules
        what: TipText::parse(&what).map_err(|_| bad("tip text", "…"))?,
        contact: get::<Option<String>>(row, "contact")?
            .map(|c| TipContact::parse(&c).map_err(|_| bad("tip contact", "***")))
            .transpose()?,
        received_at: get(row, "received_at")?,
        status: TipStatus::parse(&status).ok_or_else(|| bad("tip status", &status))?,
        handled_by: get(row, "handled_by")?,
        handled_at: get(row, "handled_at")?,
        note: note_in(row)?,
    })
}

/// The targets of these directives, by directive then region code.
async fn targets_of(pool: &PgPool, ids: &[i64]) -> Result<Vec<StoredTarget>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {TARGET_COLUMNS} FROM directive_target t \
          WHERE t.directive_id = ANY($1) \
          ORDER BY t.directive_id, t.region_code"
    );
    sqlx::query(&sql)
        .bind(ids)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(target_from_row)
        .collect()
}

/// Each directive with its targets.
async fn with_targets(pool: &PgPool, heads: Vec<DirectiveRow>) -> Result<Vec<StoredDirective>> {
    let ids: Vec<i64> = heads.iter().map(|d| d.id).collect();
    let mut targets = targets_of(pool, &ids).await?;
    Ok(heads
        .into_iter()
        .map(|directive| {
            let mine: Vec<StoredTarget>;
            (mine, targets) = targets
                .drain(..)
                .partition(|t| t.directive_id == directive.id);
            StoredDirective {
                directive,
                targets: mine,
            }
        })
        .collect())
}

pub(crate) async fn directive(pool: &PgPool, id: i64) -> Result<Option<StoredDirective>> {
    let sql = format!("SELECT {DIRECTIVE_COLUMNS} FROM directive d WHERE d.id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let head = directive_from_row(&row)?;
    Ok(with_targets(pool, vec![head]).await?.pop())
}

pub(crate) async fn directives(
    pool: &PgPool,
    filter: &DirectiveFilter,
) -> Result<Vec<StoredDirective>> {
    let (lo, hi) = subtree_range(&filter.path);
    let sql = format!(
        "SELECT {DIRECTIVE_COLUMNS} FROM directive d \
          WHERE (d.issuer_path >= $1 AND d.issuer_path < $2) \
             OR EXISTS (SELECT 1 FROM directive_target t \
                         WHERE t.directive_id = d.id AND t.path >= $1 AND t.path < $2) \
          ORDER BY d.issued_at DESC, d.id DESC LIMIT $3"
    );
    let heads = sqlx::query(&sql)
        .bind(lo)
        .bind(hi)
        .bind(i64::from(filter.limit))
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(directive_from_row)
        .collect::<Result<Vec<_>>>()?;
    with_targets(pool, heads).await
}

pub(crate) async fn directive_targets(
    pool: &PgPool,
    filter: &TargetFilter,
) -> Result<Vec<(DirectiveRow, StoredTarget)>> {
    let (lo, hi) = subtree_range(&filter.path);
    let sql = format!(
        "SELECT {DIRECTIVE_COLUMNS}, {TARGET_COLUMNS} FROM directive_target t \
           JOIN directive d ON d.id = t.directive_id \
          WHERE t.path >= $1 AND t.path < $2 AND (NOT $3 OR t.status <> 'completed') \
          ORDER BY d.deadline, d.id, t.region_code LIMIT $4"
    );
    sqlx::query(&sql)
        .bind(lo)
        .bind(hi)
        .bind(filter.open_only)
        .bind(i64::from(filter.limit))
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((directive_from_row(row)?, target_from_row(row)?)))
        .collect()
}

pub(crate) async fn tip(pool: &PgPool, id: i64) -> Result<Option<StoredTip>> {
    let sql = format!("SELECT {TIP_COLUMNS} FROM tip WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .map(|r| tip_from_row(&r))
        .transpose()
}

pub(crate) async fn tips(pool: &PgPool, filter: &TipFilter) -> Result<Vec<StoredTip>> {
    let (lo, hi) = if filter.subtree {
        subtree_range(&filter.path)
    } else {
        // exactly this path: nothing sorts between it and itself + U+0001
        (filter.path.clone(), format!("{}\u{1}", filter.path))
    };
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.name()).collect();
    let sql = format!(
        "SELECT {TIP_COLUMNS} FROM tip \
          WHERE responsible_path >= $1 AND responsible_path < $2 \
            AND (cardinality($3::text[]) = 0 OR status = ANY($3)) \
          ORDER BY received_at, id LIMIT $4"
    );
    sqlx::query(&sql)
        .bind(lo)
        .bind(hi)
        .bind(statuses)
        .bind(i64::from(filter.limit))
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(tip_from_row)
        .collect()
}

pub(crate) async fn insert_directive(conn: &mut PgConnection, d: &NewDirective) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO directive (text, deadline, issuer_region, issuer_path, issued_by, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(d.text.as_str())
    .bind(d.deadline)
    .bind(d.issuer_region.as_str())
    .bind(&d.issuer_path)
    .bind(&d.issued_by)
    .bind(d.issued_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    for chunk in d.targets.chunks(TARGET_CHUNK) {
        let mut q = sqlx::QueryBuilder::<Postgres>::new(
            "INSERT INTO directive_target (directive_id, region_code, path, status) ",
        );
        q.push_values(chunk, |mut b, (code, path)| {
            b.push_bind(id)
                .push_bind(code.as_str())
                .push_bind(path)
                .push_bind(TargetStatus::Issued.name());
        });
        q.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(id)
}

pub(crate) async fn update_target(
    conn: &mut PgConnection,
    t: &StoredTarget,
    expected: TargetStatus,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE directive_target SET status = $3, acknowledged_by = $4, acknowledged_at = $5, \
           completed_by = $6, completed_at = $7, note = $8 \
         WHERE directive_id = $1 AND region_code = $2 AND status = $9",
    )
    .bind(t.directive_id)
    .bind(t.target.region.as_str())
    .bind(t.target.status.name())
    .bind(&t.target.acknowledged_by)
    .bind(t.target.acknowledged_at)
    .bind(&t.target.completed_by)
    .bind(t.target.completed_at)
    .bind(t.target.note.as_ref().map(Note::as_str))
    .bind(expected.name())
    .execute(conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "target {} of directive {} is no longer {expected}",
            t.target.region, t.directive_id
        )));
    }
    Ok(())
}

pub(crate) async fn insert_tip(conn: &mut PgConnection, t: &NewTip) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO tip (region_code, responsible, responsible_path, what, contact, received_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(t.region.as_str())
    .bind(t.responsible.as_str())
    .bind(&t.responsible_path)
    .bind(t.what.as_str())
    .bind(t.contact.as_ref().map(TipContact::reveal))
    .bind(t.received_at)
    .bind(TipStatus::Open.name())
    .fetch_one(conn)
    .await
    .map_err(db_err)
}

pub(crate) async fn handle_tip(
    conn: &mut PgConnection,
    id: i64,
    by: &str,
    at: DateTime<Utc>,
    note: Option<&Note>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE tip SET status = $2, handled_by = $3, handled_at = $4, note = $5 \
         WHERE id = $1 AND status = $6",
    )
    .bind(id)
    .bind(TipStatus::Handled.name())
    .bind(by)
    .bind(at)
    .bind(note.map(Note::as_str))
    .bind(TipStatus::Open.name())
    .execute(conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!("tip {id} is not open")));
    }
    Ok(())
}
