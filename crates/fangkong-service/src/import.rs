//! Report files in and out: the report CSV (`region_code,date,<fields…>`),
//! and converters from published series (JHU CSSE provinces, NHC national
//! bulletins) to that CSV.
//!
//! Reading a file checks every row and reports each bad one with its line,
//! column and reason; the caller decides between refusing the whole file
//! (the default) and importing the good rows.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::sync::Arc;

use chrono::NaiveDate;

use fangkong_analytics::series::decumulate;
use fangkong_domain::form::{parse_count, Form, Values};
use fangkong_domain::region::{Region, RegionCode};
use fangkong_domain::report::ReportVersion;
use fangkong_domain::FieldError;

use crate::reports::ImportRow;
use crate::{Principal, Result, RowError, Service, ServiceError};

/// A report file read and checked.
#[derive(Debug, Default)]
pub struct ReportFile {
    pub rows: Vec<ImportRow>,
    /// Bad rows: the error and the row as it was in the file.
    pub bad: Vec<(RowError, Vec<String>)>,
    pub header: Vec<String>,
}

pub fn parse_date(field: &str, text: &str) -> std::result::Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            field,
            format!("{:?} is not a date (YYYY-MM-DD)", text.trim()),
        )
    })
}

struct RawRow {
    line: u64,
    /// One allocation per row: the fields share the record's buffer.
    record: csv::StringRecord,
}

impl Service {
    /// Read a report CSV for `form`: header `region_code,date` then the
    /// form's fields (any order). `progress` is called with the number of
    /// rows read so far.
    pub async fn read_report_csv(
        &self,
        who: &Principal,
        form: &str,
        input: impl Read,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ReportFile> {
        let started = std::time::Instant::now();
        let form = self.form(form)?.clone();
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(input);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| ServiceError::Invalid(FieldError::new("header", e.to_string())))?
            .iter()
            .map(str::to_owned)
            .collect();
        let columns = header_columns(&form, &header)?;

        let mut raw = Vec::new();
        let mut bad = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            match record {
                Ok(r) => raw.push(RawRow { line, record: r }),
                Err(e) => bad.push((
                    RowError {
                        line,
                        column: "-".into(),
                        reason: e.to_string(),
                    },
                    Vec::new(),
                )),
            }
            if line.is_multiple_of(10_000) {
                progress(line - 1);
            }
        }
        progress(raw.len() as u64 + bad.len() as u64);

        tracing::debug!(rows = raw.len(), elapsed = ?started.elapsed(), "report file parsed");
        // resolve every distinct region code once
        let regions = self
            .resolve_regions(
                raw.iter()
                    .map(|r| r.record.get(columns.region).unwrap_or("")),
            )
            .await?;
        let mut rows = Vec::with_capacity(raw.len());
        tracing::debug!(regions = regions.len(), elapsed = ?started.elapsed(), "regions resolved");
        let mut seen: HashMap<(&str, NaiveDate), u64> = HashMap::with_capacity(raw.len());
        let today = self.today();
        for r in raw {
            match check_row(&form, &columns, &r, &regions, who, today, &mut seen) {
                Ok(row) => rows.push(row),
                Err(e) => bad.push((e, r.record.iter().map(str::to_owned).collect())),
            }
        }
        bad.sort_by_key(|(e, _)| e.line);
        tracing::debug!(elapsed = ?started.elapsed(), "report file checked");
        Ok(ReportFile { rows, bad, header })
    }

    /// Look up region codes (each once); the map holds those that exist, by the code as written.
    async fn resolve_regions<'a>(
        &self,
        codes: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, Arc<Region>>> {
        let distinct: std::collections::HashSet<&str> = codes.collect();
        let lookup: Vec<RegionCode> = distinct
            .iter()
            .filter_map(|c| RegionCode::parse(c).ok())
            .collect();
        // exact codes first, moved into the map under their own text
        let mut found: HashMap<String, Arc<Region>> = self
            .store
            .regions(&lookup)
            .await?
            .into_iter()
            .map(|r| (r.code.as_str().to_owned(), Arc::new(r)))
            .collect();
        // the codes not found, tried in China's canonical form
        let retry: Vec<(&str, RegionCode)> = lookup
            .iter()
            .filter(|c| !found.contains_key(c.as_str()))
            .map(|c| (c.as_str(), c.china_canonical()))
            .filter(|(text, canon)| canon.as_str() != *text)
            .collect();
        if !retry.is_empty() {
            let canon: Vec<RegionCode> = retry.iter().map(|(_, c)| c.clone()).collect();
            let by_code: HashMap<String, Arc<Region>> = self
                .store
                .regions(&canon)
                .await?
                .into_iter()
                .map(|r| (r.code.as_str().to_owned(), Arc::new(r)))
                .collect();
            for (text, canon) in retry {
                if let Some(region) = by_code.get(canon.as_str()) {
                    found.insert(text.to_owned(), Arc::clone(region));
                }
            }
        }
        Ok(found)
    }
}

/// Columns `export reports` adds after the fields; an import reads past them,
/// so an export is an import file.
const EXPORT_ONLY: [&str; 3] = ["version", "filed_by", "filed_at"];

/// Which column holds `region_code`, `date` and each of the form's fields.
struct Columns {
    region: usize,
    date: usize,
    fields: Vec<usize>,
}

fn header_columns(form: &Form, header: &[String]) -> Result<Columns> {
    let find = |name: &str| header.iter().position(|h| h == name);
    let missing = |name: &str| {
        ServiceError::Invalid(FieldError::new(
            "header",
            format!(
                "has no column {name:?}; a {} report file has region_code,date,{}",
                form.name,
                form.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ))
    };
    if let Some(unknown) = header.iter().find(|h| {
        !matches!(h.as_str(), "region_code" | "date")
            && !EXPORT_ONLY.contains(&h.as_str())
            && form.field_index(h).is_none()
    }) {
        return Err(ServiceError::Invalid(FieldError::new(
            "header",
            format!(
                "column {unknown:?} is not a field of form {}; its fields are {}",
                form.name,
                form.field_list()
            ),
        )));
    }
    Ok(Columns {
        region: find("region_code").ok_or_else(|| missing("region_code"))?,
        date: find("date").ok_or_else(|| missing("date"))?,
        fields: form
            .fields
            .iter()
            .map(|f| find(&f.name).ok_or_else(|| missing(&f.name)))
            .collect::<Result<_>>()?,
    })
}

fn check_row<'a>(
    form: &Form,
    columns: &Columns,
    r: &RawRow,
    regions: &'a HashMap<String, Arc<Region>>,
    who: &Principal,
    today: NaiveDate,
    seen: &mut HashMap<(&'a str, NaiveDate), u64>,
) -> std::result::Result<ImportRow, RowError> {
    let line = r.line;
    let err = |column: &str, reason: String| RowError {
        line,
        column: column.to_owned(),
        reason,
    };
    let get = |i: usize| r.record.get(i).unwrap_or("");
    if r.record.len() < columns.fields.len() + 2 {
        return Err(err(
            "-",
            format!("has {} columns, the header has more", r.record.len()),
        ));
    }
    let code = get(columns.region);
    let Some(region) = regions.get(code) else {
        RegionCode::parse(code).map_err(|e| err("region_code", e.reason))?;
        return Err(err("region_code", format!("unknown region {code:?}")));
    };
    if !who.covers(region) {
        return Err(err(
            "region_code",
            format!(
                "region {code} lies outside your jurisdiction ({})",
                who.region.code
            ),
        ));
    }
    let date = parse_date("date", get(columns.date)).map_err(|e| err("date", e.reason))?;
    if date > today {
        return Err(err(
            "date",
            format!("{date} is in the future (today is {today})"),
        ));
    }
    let mut values = Values::ZERO;
    for (i, (field, col)) in form.fields.iter().zip(&columns.fields).enumerate() {
        values.0[i] =
            parse_count(&field.name, get(*col)).map_err(|e| err(&field.name, e.reason))?;
    }
    if let Some(first) = seen.insert((region.code.as_str(), date), line) {
        return Err(err(
            "region_code",
            format!("region {code} on {date} was already given on line {first}"),
        ));
    }
    Ok(ImportRow {
        line,
        region: Arc::clone(region),
        date,
        values,
        filed_at: None,
    })
}

/// Write bad rows with their reasons, for `--skip-bad`'s reject file.
pub fn write_rejects(
    out: impl Write,
    header: &[String],
    bad: &[(RowError, Vec<String>)],
) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut head = vec!["line".to_owned(), "column".to_owned(), "reason".to_owned()];
    head.extend(header.iter().cloned());
    w.write_record(&head).map_err(anyhow::Error::from)?;
    for (e, record) in bad {
        let mut row = vec![e.line.to_string(), e.column.clone(), e.reason.clone()];
        row.extend(record.iter().cloned());
        w.write_record(&row).map_err(anyhow::Error::from)?;
    }
    w.flush().map_err(anyhow::Error::from)?;
    Ok(())
}

/// Write current report versions as a report CSV (the import format).
pub fn write_reports_csv(out: impl Write, form: &Form, versions: &[ReportVersion]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut head = vec!["region_code".to_owned(), "date".to_owned()];
    head.extend(form.fields.iter().map(|f| f.name.clone()));
    head.extend(["version", "filed_by", "filed_at"].map(str::to_owned));
    w.write_record(&head).map_err(anyhow::Error::from)?;
    for v in versions {
        let mut row = vec![v.key.region.to_string(), v.key.date.to_string()];
        row.extend(form.named(&v.values).map(|(_, n)| n.to_string()));
        row.push(v.version.to_string());
        row.push(v.filed_by.clone());
        row.push(v.filed_at.to_rfc3339());
        w.write_record(&row).map_err(anyhow::Error::from)?;
    }
    w.flush().map_err(anyhow::Error::from)?;
    Ok(())
}

/// JHU CSSE's English names of China's provincial-level units, with their
/// GB/T 2260 codes. Hong Kong and Macau are listed by JHU under China; they
/// import only where the region tree has them.
pub const JHU_PROVINCES: [(&str, &str); 33] = [
    ("Anhui", "340000"),
    ("Beijing", "110000"),
    ("Chongqing", "500000"),
    ("Fujian", "350000"),
    ("Gansu", "620000"),
    ("Guangdong", "440000"),
    ("Guangxi", "450000"),
    ("Guizhou", "520000"),
    ("Hainan", "460000"),
    ("Hebei", "130000"),
    ("Heilongjiang", "230000"),
    ("Henan", "410000"),
    ("Hong Kong", "810000"),
    ("Hubei", "420000"),
    ("Hunan", "430000"),
    ("Inner Mongolia", "150000"),
    ("Jiangsu", "320000"),
    ("Jiangxi", "360000"),
    ("Jilin", "220000"),
    ("Liaoning", "210000"),
    ("Macau", "820000"),
    ("Ningxia", "640000"),
    ("Qinghai", "630000"),
    ("Shaanxi", "610000"),
    ("Shandong", "370000"),
    ("Shanghai", "310000"),
    ("Shanxi", "140000"),
    ("Sichuan", "510000"),
    ("Tianjin", "120000"),
    ("Tibet", "540000"),
    ("Xinjiang", "650000"),
    ("Yunnan", "530000"),
    ("Zhejiang", "330000"),
];

/// A converted series: rows of the `epidemic` report CSV, and what was left out.
#[derive(Debug, Default)]
pub struct Converted {
    /// `region_code,date,new_confirmed,…` rows in the epidemic form's field order.
    pub rows: Vec<(String, NaiveDate, Values)>,
    pub notes: Vec<String>,
}

impl Converted {
    pub fn write_csv(&self, out: impl Write, form: &Form) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let mut head = vec!["region_code".to_owned(), "date".to_owned()];
        head.extend(form.fields.iter().map(|f| f.name.clone()));
        w.write_record(&head).map_err(anyhow::Error::from)?;
        for (code, date, values) in &self.rows {
            let mut row = vec![code.clone(), date.to_string()];
            row.extend(form.named(values).map(|(_, n)| n.to_string()));
            w.write_record(&row).map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
        Ok(())
    }
}

/// Convert JHU CSSE's cumulative province series
/// (`province,date,confirmed_cum,deaths_cum,recovered_cum`) to daily
/// `epidemic` reports per province: new confirmed, deaths and recovered are
/// the clipped differences of the cumulative counts (a fall is named in the
/// notes); the file has no suspected, severe or observation counts, so those
/// fields are 0.
pub fn convert_jhu(input: impl Read, form: &Form) -> Result<Converted> {
    let idx = |name: &str| {
        form.field_index(name).ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("form {} has no field {name}", form.name))
        })
    };
    let (i_conf, i_dead, i_rec) = (
        idx("new_confirmed")?,
        idx("new_deaths")?,
        idx("new_recovered")?,
    );
    let codes: HashMap<&str, &str> = JHU_PROVINCES.iter().copied().collect();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut series: BTreeMap<String, Vec<JhuDay>> = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, record) in reader.deserialize::<JhuRow>().enumerate() {
        let line = i as u64 + 2;
        let row = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    line,
                    column: "-".into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let Some(code) = codes.get(row.province.as_str()) else {
            errors.push(RowError {
                line,
                column: "province".into(),
                reason: format!("unknown province {:?}", row.province),
            });
            continue;
        };
        let date = match parse_date("date", &row.date) {
            Ok(d) => d,
            Err(e) => {
                errors.push(RowError {
                    line,
                    column: "date".into(),
                    reason: e.reason,
                });
                continue;
            }
        };
        series
            .entry((*code).to_owned())
            .or_default()
            .push((date, [row.confirmed_cum, row.deaths_cum, row.recovered_cum]));
    }
    if !errors.is_empty() {
        return Err(ServiceError::BadRows(errors));
    }
    let mut out = Converted::default();
    for (code, mut days) in series {
        days.sort_by_key(|(d, _)| *d);
        let mut daily = Vec::new();
        for (k, name) in ["confirmed", "deaths", "recovered"].iter().enumerate() {
            let cum: Vec<Option<i64>> = days.iter().map(|(_, c)| c[k]).collect();
            let d = decumulate(&cum);
            for i in &d.falls {
                out.notes.push(format!(
                    "{code} {}: cumulative {name} fell; daily count clipped to 0",
                    days[*i].0
                ));
            }
            daily.push(d.daily);
        }
        for (i, (date, _)) in days.iter().enumerate() {
            let mut v = Values::ZERO;
            v.0[i_conf] = daily[0][i];
            v.0[i_dead] = daily[1][i];
            v.0[i_rec] = daily[2][i];
            out.rows.push((code.clone(), *date, v));
        }
    }
    Ok(out)
}

/// A province's day: confirmed, deaths and recovered, cumulative.
type JhuDay = (NaiveDate, [Option<i64>; 3]);

#[derive(serde::Deserialize)]
struct JhuRow {
    province: String,
    date: String,
    confirmed_cum: Option<i64>,
    deaths_cum: Option<i64>,
    recovered_cum: Option<i64>,
}

/// Convert the national health commission's national series
/// (`date,confirmed_cum,severe_current,deaths_cum,recovered_cum,suspected_current,contacts_under_observation,…`)
/// to daily `epidemic` reports for the nation (region 000000): new confirmed,
/// deaths and recovered from the cumulative counts; current severe, suspected
/// and observation as given (a blank carries the day before). The bulletins'
/// new severe and new suspected counts are not in the file: 0.
pub fn convert_nhc(input: impl Read, form: &Form) -> Result<Converted> {
    let idx = |name: &str| {
        form.field_index(name).ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("form {} has no field {name}", form.name))
        })
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut days: Vec<(NaiveDate, NhcRow)> = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.deserialize::<NhcRow>().enumerate() {
        let line = i as u64 + 2;
        match record {
            Ok(r) => match parse_date("date", &r.date) {
                Ok(d) => days.push((d, r)),
                Err(e) => errors.push(RowError {
                    line,
                    column: "date".into(),
                    reason: e.reason,
                }),
            },
            Err(e) => errors.push(RowError {
                line,
                column: "-".into(),
                reason: e.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::BadRows(errors));
    }
    days.sort_by_key(|(d, _)| *d);
    let mut out = Converted::default();
    let flows = [
        ("new_confirmed", 0usize),
        ("new_deaths", 1),
        ("new_recovered", 2),
    ];
    let cum = |k: usize| -> Vec<Option<i64>> {
        days.iter()
            .map(|(_, r)| [r.confirmed_cum, r.deaths_cum, r.recovered_cum][k])
            .collect()
    };
    let daily: Vec<Vec<i64>> = (0..3).map(|k| decumulate(&cum(k)).daily).collect();
    let stocks = ["current_severe", "current_suspected", "current_observation"];
    let mut last = [0i64; 3];
    for (i, (date, r)) in days.iter().enumerate() {
        let mut v = Values::ZERO;
        for (name, k) in flows {
            v.0[idx(name)?] = daily[k][i];
        }
        for (k, (name, value)) in stocks
            .iter()
            .zip([
                r.severe_current,
                r.suspected_current,
                r.contacts_under_observation,
            ])
            .enumerate()
        {
            if let Some(x) = value {
                last[k] = x;
            }
            v.0[idx(name)?] = last[k];
        }
        out.rows
            .push((fangkong_domain::region::NATION_CODE.to_owned(), *date, v));
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct NhcRow {
    date: String,
    confirmed_cum: Option<i64>,
    severe_current: Option<i64>,
    deaths_cum: Option<i64>,
    recovered_cum: Option<i64>,
    suspected_current: Option<i64>,
    contacts_under_observation: Option<i64>,
}

impl Service {
    /// Import a converted series: rows for regions the tree does not have
    /// (Hong Kong and Macau in JHU's file, unless imported) are left out and
    /// named in the returned notes.
    pub async fn import_converted(
        &self,
        who: &Principal,
        form: &str,
        converted: Converted,
        label: &str,
    ) -> Result<(crate::reports::ImportSummary, Vec<String>)> {
        let regions = self
            .resolve_regions(converted.rows.iter().map(|(c, _, _)| c.as_str()))
            .await?;
        let mut notes = converted.notes;
        let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
        let mut rows = Vec::with_capacity(converted.rows.len());
        for (i, (code, date, values)) in converted.rows.into_iter().enumerate() {
            match regions.get(&code) {
                Some(region) => rows.push(ImportRow {
                    line: i as u64 + 2,
                    region: region.clone(),
                    date,
                    values,
                    filed_at: None,
                }),
                None => *skipped.entry(code).or_default() += 1,
            }
        }
        for (code, n) in skipped {
            notes.push(format!(
                "region {code} is not in the region tree: its {n} rows were left out"
            ));
        }
        let summary = self
            .import_report_rows(
                who,
                form,
                rows,
                fangkong_domain::report::Source::Import,
                label,
            )
            .await?;
        Ok((summary, notes))
    }
}
