//! The risk-assessment area on SQLite: figures of many regions at once,
//! alerts, risk levels.

use super::*;

use sqlx::{SqliteConnection, SqlitePool};

use fangkong_domain::alert::{AlertMethod, AlertStatus, AlertVerdict, RiskLevel};
use fangkong_store::{Alert, AlertFilter, RiskChange, RiskRow};

const ALERT_COLUMNS: &str = "id, form, field, region_code, method, methods, first_day, last_day, \
    observed, expected, statistic, threshold, status, verdict, note, raised_at, updated_at, \
    acknowledged_by, closed_by";

fn get<'r, T>(row: &'r SqliteRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(other)
}

fn code(row: &SqliteRow) -> Result<RegionCode> {
    let s: String = get(row, "region_code")?;
    RegionCode::parse(&s).map_err(|_| bad("region code", &s))
}

fn alert_from_row(row: &SqliteRow) -> Result<Alert> {
    let method: String = get(row, "method")?;
    let status: String = get(row, "status")?;
    let verdict: Option<String> = get(row, "verdict")?;
    Ok(Alert {
        id: get(row, "id")?,
        form: get(row, "form")?,
        field: get(row, "field")?,
        region: code(row)?,
        method: AlertMethod::parse(&method).ok_or_else(|| bad("alert method", &method))?,
        methods: get::<String>(row, "methods")?
            .split(',')
            .filter(|m| !m.is_empty())
            .map(|m| AlertMethod::parse(m).ok_or_else(|| bad("alert method", m)))
            .collect::<Result<_>>()?,
        first_day: get(row, "first_day")?,
        last_day: get(row, "last_day")?,
        observed: get(row, "observed")?,
        expected: get(row, "expected")?,
        statistic: get(row, "statistic")?,
        threshold: get(row, "threshold")?,
        status: AlertStatus::parse(&status).ok_or_else(|| bad("alert status", &status))?,
        verdict: verdict
            .map(|v| AlertVerdict::parse(&v).ok_or_else(|| bad("alert verdict", &v)))
            .transpose()?,
        note: get(row, "note")?,
        raised_at: get(row, "raised_at")?,
        updated_at: get(row, "updated_at")?,
        acknowledged_by: get(row, "acknowledged_by")?,
        closed_by: get(row, "closed_by")?,
    })
}

fn risk_from_row(row: &SqliteRow) -> Result<RiskRow> {
    let level: String = get(row, "level")?;
    Ok(RiskRow {
        region: code(row)?,
        date: get(row, "date")?,
        level: RiskLevel::parse(&level).ok_or_else(|| bad("risk level", &level))?,
        new_in_window: get(row, "new_in_window")?,
        cumulative: get(row, "cumulative")?,
        cluster: get::<i64>(row, "cluster")? != 0,
    })
}

pub(crate) async fn level_figures(
    pool: &SqlitePool,
    form: &str,
    path: &str,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(RegionCode, DayFigure)>> {
    let (lo, hi) = subtree_range(path);
    let sql = format!(
        "SELECT f.region_code, f.date, 1 AS own, {own} FROM report f \
           JOIN region g ON g.code = f.region_code \
          WHERE f.form = ?1 AND f.current = 1 AND f.depth = ?2 AND f.date BETWEEN ?3 AND ?4 \
            AND g.path >= ?5 AND g.path < ?6 \
         UNION ALL \
         SELECT u.region_code, u.date, 0 AS own, {roll} FROM rollup u \
           JOIN region g ON g.code = u.region_code \
          WHERE u.form = ?1 AND u.depth = ?2 AND u.date BETWEEN ?3 AND ?4 \
            AND g.path >= ?5 AND g.path < ?6 \
         ORDER BY region_code, date, own",
        own = prefixed("f", VALUE_COLUMNS),
        roll = prefixed("u", VALUE_COLUMNS),
    );
    let rows = sqlx::query(&sql)
        .bind(form)
        .bind(i64::from(level.depth()))
        .bind(from)
        .bind(to)
        .bind(lo)
        .bind(hi)
        .fetch_all(pool)
        .await
        .map_err(other)?;
    // Rows come by region, date, then the roll-up before the own report:
    // a later row for the same region and day replaces the earlier.
    let mut out: Vec<(RegionCode, DayFigure)> = Vec::with_capacity(rows.len());
    for row in rows {
        let region = code(&row)?;
        let fig = DayFigure {
            date: get(&row, "date")?,
            values: values_from_row(&row)?,
            own: get::<i64>(&row, "own")? == 1,
        };
        match out.last_mut() {
            Some((r, last)) if *r == region && last.date == fig.date => *last = fig,
            _ => out.push((region, fig)),
        }
    }
    Ok(out)
}

pub(crate) async fn alerts(pool: &SqlitePool, filter: &AlertFilter) -> Result<Vec<Alert>> {
    let (lo, hi) = subtree_range(&filter.path);
    let statuses = json_strings(filter.statuses.iter().map(|s| s.name()));
    let sql = format!(
        "SELECT {cols} FROM alert a CROSS JOIN region g ON g.code = a.region_code \
          WHERE g.path >= ?1 AND g.path < ?2 \
            AND (json_array_length(?3) = 0 OR a.status IN (SELECT value FROM json_each(?3))) \
            AND (?4 IS NULL OR a.last_day >= ?4) \
          ORDER BY a.last_day DESC, a.id DESC LIMIT ?5",
        cols = prefixed("a", ALERT_COLUMNS),
    );
    let rows = sqlx::query(&sql)
        .bind(lo)
        .bind(hi)
        .bind(statuses)
        .bind(filter.since)
        .bind(i64::from(filter.limit))
        .fetch_all(pool)
        .await
        .map_err(other)?;
    rows.iter().map(alert_from_row).collect()
}

pub(crate) async fn alert(pool: &SqlitePool, id: i64) -> Result<Option<Alert>> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alert WHERE id = ?1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(other)?
        .map(|r| alert_from_row(&r))
        .transpose()
}

pub(crate) async fn risk_levels_on(
    pool: &SqlitePool,
    path: &str,
    date: NaiveDate,
) -> Result<Vec<RiskRow>> {
    let (lo, hi) = subtree_range(path);
    let rows = sqlx::query(
        "SELECT k.region_code, k.date, k.level, k.new_in_window, k.cumulative, k.cluster \
           FROM risk_level k JOIN region g ON g.code = k.region_code \
          WHERE k.date = ?1 AND g.level = ?4 AND g.path >= ?2 AND g.path < ?3 \
          ORDER BY k.region_code",
    )
    .bind(date)
    .bind(lo)
    .bind(hi)
    .bind(Level::County.depth())
    .fetch_all(pool)
    .await
    .map_err(other)?;
    rows.iter().map(risk_from_row).collect()
}

pub(crate) async fn risk_changes(
    pool: &SqlitePool,
    path: &str,
    from: NaiveDate,
    to: NaiveDate,
    limit: u32,
) -> Result<Vec<RiskChange>> {
    let (lo, hi) = subtree_range(path);
    let rows = sqlx::query(
        "SELECT * FROM ( \
           SELECT k.region_code, k.date, k.level, k.new_in_window, k.cumulative, k.cluster, \
                  LAG(k.level) OVER (PARTITION BY k.region_code ORDER BY k.date) AS previous \
             FROM risk_level k JOIN region g ON g.code = k.region_code \
            WHERE k.date <= ?2 AND g.level = ?6 AND g.path >= ?3 AND g.path < ?4 \
         ) c \
         WHERE c.date >= ?1 AND c.previous IS NOT c.level \
         ORDER BY c.date DESC, c.region_code LIMIT ?5",
    )
    .bind(from)
    .bind(to)
    .bind(lo)
    .bind(hi)
    .bind(i64::from(limit))
    .bind(Level::County.depth())
    .fetch_all(pool)
    .await
    .map_err(other)?;
    rows.iter()
        .map(|r| {
            let previous: Option<String> = get(r, "previous")?;
            Ok(RiskChange {
                row: risk_from_row(r)?,
                from: previous
                    .map(|p| RiskLevel::parse(&p).ok_or_else(|| bad("risk level", &p)))
                    .transpose()?,
            })
        })
        .collect()
}

pub(crate) async fn alerts_since(
    conn: &mut SqliteConnection,
    form: &str,
    since: NaiveDate,
) -> Result<Vec<Alert>> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alert WHERE form = ?1 AND last_day >= ?2");
    let rows = sqlx::query(&sql)
        .bind(form)
        .bind(since)
        .fetch_all(conn)
        .await
        .map_err(other)?;
    rows.iter().map(alert_from_row).collect()
}

pub(crate) async fn insert_alert(conn: &mut SqliteConnection, a: &Alert) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO alert (form, field, region_code, method, methods, first_day, last_day, observed, \
           expected, statistic, threshold, status, verdict, note, raised_at, updated_at, \
           acknowledged_by, closed_by) \
         VALUES (?1, ?2, ?3, ?4, ?18, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
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
    .map_err(other)
}

pub(crate) async fn extend_alert(conn: &mut SqliteConnection, a: &Alert) -> Result<()> {
    sqlx::query(
        "UPDATE alert SET last_day = ?2, observed = ?3, expected = ?4, statistic = ?5, \
           threshold = ?6, updated_at = ?7, method = ?8, methods = ?9 WHERE id = ?1",
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
    .map_err(other)?;
    Ok(())
}

pub(crate) async fn set_alert_status(
    conn: &mut SqliteConnection,
    id: i64,
    status: AlertStatus,
    verdict: Option<AlertVerdict>,
    note: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE alert SET status = ?2, verdict = ?3, note = ?4, updated_at = ?6, \
           acknowledged_by = CASE WHEN ?2 = 'acknowledged' THEN ?5 ELSE acknowledged_by END, \
           closed_by = CASE WHEN ?2 = 'closed' THEN ?5 ELSE closed_by END \
         WHERE id = ?1",
    )
    .bind(id)
    .bind(status.name())
    .bind(verdict.map(AlertVerdict::name))
    .bind(note)
    .bind(by)
    .bind(at)
    .execute(conn)
    .await
    .map_err(other)?;
    Ok(())
}

/// Rows per INSERT: six parameters each, under SQLite's limit of 32,766.
const RISK_CHUNK: usize = 5_000;

pub(crate) async fn put_risk_levels(conn: &mut SqliteConnection, rows: &[RiskRow]) -> Result<()> {
    for chunk in rows.chunks(RISK_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO risk_level (region_code, date, level, new_in_window, cumulative, cluster) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.region.as_str())
                .push_bind(r.date)
                .push_bind(r.level.name())
                .push_bind(r.new_in_window)
                .push_bind(r.cumulative)
                .push_bind(i64::from(r.cluster));
        });
        q.push(
            " ON CONFLICT (region_code, date) DO UPDATE SET level = excluded.level, \
               new_in_window = excluded.new_in_window, cumulative = excluded.cumulative, \
               cluster = excluded.cluster",
        );
        q.build().execute(&mut *conn).await.map_err(other)?;
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
