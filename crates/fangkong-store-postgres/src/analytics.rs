//! The risk-assessment area on PostgreSQL: figures of many regions at once,
//! alerts, risk levels.

use super::*;

use fangkong_domain::alert::{AlertMethod, AlertStatus, AlertVerdict, RiskLevel};
use fangkong_store::{Alert, AlertFilter, RiskChange, RiskRow};

const ALERT_COLS: &str = "id, form, field, region_code, method, methods, first_day, last_day, \
    observed, expected, statistic, threshold, status, verdict, note, raised_at, updated_at, \
    acknowledged_by, closed_by";

fn alert_of(row: &PgRow) -> Result<Alert> {
    let method: String = col(row, "method")?;
    let status: String = col(row, "status")?;
    let verdict: Option<String> = col(row, "verdict")?;
    Ok(Alert {
        id: col(row, "id")?,
        form: col(row, "form")?,
        field: col(row, "field")?,
        region: code_of(&col::<String>(row, "region_code")?)?,
        method: AlertMethod::parse(&method).ok_or_else(|| bad("alert method", &method))?,
        methods: col::<String>(row, "methods")?
            .split(',')
            .filter(|m| !m.is_empty())
            .map(|m| AlertMethod::parse(m).ok_or_else(|| bad("alert method", m)))
            .collect::<Result<_>>()?,
        first_day: col(row, "first_day")?,
        last_day: col(row, "last_day")?,
        observed: col(row, "observed")?,
        expected: col(row, "expected")?,
        statistic: col(row, "statistic")?,
        threshold: col(row, "threshold")?,
        status: AlertStatus::parse(&status).ok_or_else(|| bad("alert status", &status))?,
        verdict: verdict
            .map(|v| AlertVerdict::parse(&v).ok_or_else(|| bad("alert verdict", &v)))
            .transpose()?,
        note: col(row, "note")?,
        raised_at: col(row, "raised_at")?,
        updated_at: col(row, "updated_at")?,
        acknowledged_by: col(row, "acknowledged_by")?,
        closed_by: col(row, "closed_by")?,
    })
}

fn risk_of(row: &PgRow) -> Result<RiskRow> {
    let level: String = col(row, "level")?;
    Ok(RiskRow {
        region: code_of(&col::<String>(row, "region_code")?)?,
        date: col(row, "date")?,
        level: RiskLevel::parse(&level).ok_or_else(|| bad("risk level", &level))?,
        new_in_window: col(row, "new_in_window")?,
        cumulative: col(row, "cumulative")?,
        cluster: col(row, "cluster")?,
    })
}

pub(crate) async fn level_figures(
    pool: &PgPool,
    form: &str,
    path: &str,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(RegionCode, DayFigure)>> {
    let (lo, hi) = subtree_range(path);
    let sql = format!(
        "SELECT f.region_code, f.date, TRUE AS own, {own} FROM report f \
           JOIN region g ON g.code = f.region_code \
          WHERE f.form = $1 AND f.current AND f.depth = $2 AND f.date BETWEEN $3 AND $4 \
            AND g.path >= $5 AND g.path < $6 \
         UNION ALL \
         SELECT u.region_code, u.date, FALSE AS own, {roll} FROM rollup u \
           JOIN region g ON g.code = u.region_code \
          WHERE u.form = $1 AND u.depth = $2 AND u.date BETWEEN $3 AND $4 \
            AND g.path >= $5 AND g.path < $6 AND {NO_OWN_REPORT} \
         ORDER BY region_code, date",
        own = prefixed("f", VALUE_COLS),
        roll = prefixed("u", VALUE_COLS),
    );
    let rows = sqlx::query(&sql)
        .bind(form)
        .bind(level.depth())
        .bind(from)
        .bind(to)
        .bind(lo)
        .bind(hi)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok((
                code_of(&col::<String>(r, "region_code")?)?,
                DayFigure {
                    date: col(r, "date")?,
                    values: values_of(r)?,
                    own: col(r, "own")?,
                },
            ))
        })
        .collect()
}

fn prefixed(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) async fn alerts(pool: &PgPool, filter: &AlertFilter) -> Result<Vec<Alert>> {
    let (lo, hi) = subtree_range(&filter.path);
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.name()).collect();
    let sql = format!(
        "SELECT {cols} FROM alert a JOIN region g ON g.code = a.region_code \
          WHERE g.path >= $1 AND g.path < $2 \
            AND (cardinality($3::text[]) = 0 OR a.status = ANY($3)) \
            AND ($4::date IS NULL OR a.last_day >= $4) \
          ORDER BY a.last_day DESC, a.id DESC LIMIT $5",
        cols = prefixed("a", ALERT_COLS),
    );
    let rows = sqlx::query(&sql)
        .bind(lo)
        .bind(hi)
        .bind(&statuses)
        .bind(filter.since)
        .bind(limit(filter.limit))
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    all(rows, alert_of)
}

pub(crate) async fn alert(pool: &PgPool, id: i64) -> Result<Option<Alert>> {
    let sql = format!("SELECT {ALERT_COLS} FROM alert WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .map(|r| alert_of(&r))
        .transpose()
}

pub(crate) async fn risk_levels_on(
    pool: &PgPool,
    path: &str,
    date: NaiveDate,
) -> Result<Vec<RiskRow>> {
    let (lo, hi) = subtree_range(path);
    let rows = sqlx::query(
        "SELECT k.region_code, k.date, k.level, k.new_in_window, k.cumulative, k.cluster \
           FROM risk_level k JOIN region g ON g.code = k.region_code \
          WHERE k.date = $1 AND g.path >= $2 AND g.path < $3 ORDER BY k.region_code",
    )
    .bind(date)
    .bind(lo)
    .bind(hi)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    all(rows, risk_of)
}

pub(crate) async fn risk_changes(
    pool: &PgPool,
    path: &str,
    from: NaiveDate,
    to: NaiveDate,
    max: u32,
) -> Result<Vec<RiskChange>> {
    let (lo, hi) = subtree_range(path);
    let rows = sqlx::query(
        "SELECT * FROM ( \
           SELECT k.region_code, k.date, k.level, k.new_in_window, k.cumulative, k.cluster, \
                  LAG(k.level) OVER (PARTITION BY k.region_code ORDER BY k.date) AS previous \
             FROM risk_level k JOIN region g ON g.code = k.region_code \
            WHERE k.date <= $2 AND g.path >= $3 AND g.path < $4 \
         ) c \
         WHERE c.date >= $1 AND c.previous IS DISTINCT FROM c.level \
         ORDER BY c.date DESC, c.region_code LIMIT $5",
    )
    .bind(from)
    .bind(to)
    .bind(lo)
    .bind(hi)
    .bind(limit(max))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let previous: Option<String> = col(r, "previous")?;
            Ok(RiskChange {
                row: risk_of(r)?,
                from: previous
                    .map(|p| RiskLevel::parse(&p).ok_or_else(|| bad("risk level", &p)))
                    .transpose()?,
            })
        })
        .collect()
}

pub(crate) async fn alerts_since(
    conn: &mut PgConnection,
    form: &str,
    since: NaiveDate,
) -> Result<Vec<Alert>> {
    let sql = format!("SELECT {ALERT_COLS} FROM alert WHERE form = $1 AND last_day >= $2");
    let rows = sqlx::query(&sql)
        .bind(form)
        .bind(since)
        .fetch_all(conn)
        .await
        .map_err(db_err)?;
    all(rows, alert_of)
}

pub(crate) async fn insert_alert(conn: &mut PgConnection, a: &Alert) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO alert (form, field, region_code, method, methods, first_day, last_day, observed, \
           expected, statistic, threshold, status, verdict, note, raised_at, updated_at, \
           acknowledged_by, closed_by) \
         VALUES ($1, $2, $3, $4, $18, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         RETURNING id",
    )
    .bind(&a.form)
    .bind(&a.field)
    .bind(a.region.as_str())
    .bind(a.method.name())
    .bind(a.first_day)
    .bind(a.last_day)
    .bind(a.observed)
    .bind(a.expected)
    .bind(a.statistic)
    .bind(a.threshold)
    .bind(a.status.name())
    .bind(a.verdict.map(AlertVerdict::name))
    .bind(&a.note)
    .bind(a.raised_at)
    .bind(a.updated_at)
    .bind(&a.acknowledged_by)
    .bind(&a.closed_by)
    .bind(method_list(&a.methods))
    .fetch_one(conn)
    .await
    .map_err(db_err)
}

pub(crate) async fn extend_alert(conn: &mut PgConnection, a: &Alert) -> Result<()> {
    sqlx::query(
        "UPDATE alert SET last_day = $2, observed = $3, expected = $4, statistic = $5, \
           threshold = $6, updated_at = $7, method = $8, methods = $9 WHERE id = $1",
    )
    .bind(a.id)
    .bind(a.last_day)
    .bind(a.observed)
    .bind(a.expected)
    .bind(a.statistic)
    .bind(a.threshold)
    .bind(a.updated_at)
    .bind(a.method.name())
    .bind(method_list(&a.methods))
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn set_alert_status(
    conn: &mut PgConnection,
    id: i64,
    status: AlertStatus,
    verdict: Option<AlertVerdict>,
    note: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE alert SET status = $2, verdict = $3, note = $4, updated_at = $6, \
           acknowledged_by = CASE WHEN $2 = 'acknowledged' THEN $5 ELSE acknowledged_by END, \
           closed_by = CASE WHEN $2 = 'closed' THEN $5 ELSE closed_by END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(status.name())
    .bind(verdict.map(AlertVerdict::name))
    .bind(note)
    .bind(by)
    .bind(at)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn put_risk_levels(conn: &mut PgConnection, rows: &[RiskRow]) -> Result<()> {
    for chunk in rows.chunks(10_000) {
        let codes: Vec<&str> = chunk.iter().map(|r| r.region.as_str()).collect();
        let dates: Vec<NaiveDate> = chunk.iter().map(|r| r.date).collect();
        let levels: Vec<&str> = chunk.iter().map(|r| r.level.name()).collect();
        let new: Vec<i64> = chunk.iter().map(|r| r.new_in_window).collect();
        let cumulative: Vec<i64> = chunk.iter().map(|r| r.cumulative).collect();
        let cluster: Vec<bool> = chunk.iter().map(|r| r.cluster).collect();
        sqlx::query(
            "INSERT INTO risk_level (region_code, date, level, new_in_window, cumulative, cluster) \
             SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[], $6::bool[]) \
             ON CONFLICT (region_code, date) DO UPDATE SET level = EXCLUDED.level, \
               new_in_window = EXCLUDED.new_in_window, cumulative = EXCLUDED.cumulative, \
               cluster = EXCLUDED.cluster",
        )
        .bind(&codes)
        .bind(&dates)
        .bind(&levels)
        .bind(&new)
        .bind(&cumulative)
        .bind(&cluster)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

fn method_list(methods: &[AlertMethod]) -> String {
    methods
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(",")
}
