//! Report files in and out: the report CSV (`region_code,date,<fields…>`),
//! and converters from published series (JHU CSSE provinces, NHC national
//! bulletins) to that CSV.
//!
//! Reading a file checks every row and reports each bad one with its line,
//! column and reason; the caller decides between refusing the whole file
//! (the default) and importing the good rows. A large file is checked
//! against the region tree in memory ([`crate::regions::RegionIndex`], read
//! while the file is parsed), on two threads.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::sync::Arc;

use chrono::NaiveDate;

use fangkong_analytics::series::decumulate;
use fangkong_domain::form::{parse_count, Form, Values};
use fangkong_domain::region::{Region, RegionCode};
use fangkong_domain::report::ReportVersion;
use fangkong_domain::FieldError;

use crate::regions::{IdMap, RegionIndex, RegionMaker, INDEX_FROM_ROWS};

/// From this many rows on, a file's rows are checked on two threads.
const PARALLEL_FROM_ROWS: usize = 20_000;
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

/// The records of a file as read, before they are checked: the text of
/// every field in one buffer (no allocation per row).
#[derive(Default)]
struct RawRows {
    text: String,
    /// The end of each field in `text`.
    ends: Vec<u32>,
    /// Per record: its line and its first field in `ends`.
    records: Vec<(u64, u32)>,
}

impl RawRows {
    fn push(&mut self, line: u64, record: &csv::StringRecord) -> Result<()> {
        self.records.push((line, self.ends.len() as u32));
        for field in record {
            self.text.push_str(field);
            self.ends.push(u32::try_from(self.text.len()).map_err(|_| {
                ServiceError::Invalid(FieldError::new("file", "is too large (over 4 GiB)"))
            })?);
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    /// The record at a line.
    fn by_line(&self, line: u64) -> Option<Record<'_>> {
        let i = self.records.binary_search_by_key(&line, |(l, _)| *l).ok()?;
        Some(self.record(i))
    }

    /// The fields of record `i`.
    fn record(&self, i: usize) -> Record<'_> {
        let (line, first) = self.records[i];
        let last = self
            .records
            .get(i + 1)
            .map_or(self.ends.len(), |(_, f)| *f as usize);
        Record {
            line,
            rows: self,
            first: first as usize,
            len: last - first as usize,
        }
    }
}

#[derive(Clone, Copy)]
struct Record<'a> {
    line: u64,
    rows: &'a RawRows,
    first: usize,
    len: usize,
}

impl<'a> Record<'a> {
    fn get(&self, i: usize) -> &'a str {
        if i >= self.len {
            return "";
        }
        let k = self.first + i;
        let start = if k == 0 {
            0
        } else {
            self.rows.ends[k - 1] as usize
        };
        self.rows
            .text
            .get(start..self.rows.ends[k] as usize)
            .unwrap_or("")
    }

    fn fields(&self) -> Vec<String> {
        (0..self.len).map(|i| self.get(i).to_owned()).collect()
    }
}

/// How the regions of a file's rows are found: in the region index (large
/// files, or whenever a current index is held), else by looking the
/// file's distinct codes up in the store.
enum Lookup {
    Index {
        index: Arc<RegionIndex>,
        /// The regions made so far, by id.
        made: Vec<Option<Arc<Region>>>,
        maker: RegionMaker,
        /// The region found last.
        last: Option<u32>,
    },
    /// By the code as written: a key for the region and the region.
    Found(HashMap<String, (u32, Arc<Region>)>),
}

impl Lookup {
    fn index(index: Arc<RegionIndex>) -> Lookup {
        Lookup::Index {
            made: vec![None; index.len()],
            index,
            maker: RegionMaker::default(),
            last: None,
        }
    }

    fn get(&mut self, code: &str) -> Option<(u32, Arc<Region>)> {
        match self {
            Lookup::Found(found) => found.get(code).cloned(),
            Lookup::Index {
                index,
                made,
                maker,
                last,
            } => {
                let id = index.find_after(code, *last).or_else(|| {
                    // a Chinese code written another way (`42`, `420102000000`)
                    let canon = RegionCode::parse(code).ok()?.china_canonical();
                    (canon.as_str() != code)
                        .then(|| index.find(canon.as_str()))
                        .flatten()
                })?;
                *last = Some(id);
                let made = made.get_mut(id as usize)?;
                let region = match made {
                    Some(r) => Arc::clone(r),
                    None => Arc::clone(made.insert(Arc::new(maker.region(index, id).ok()?))),
                };
                Some((id, region))
            }
        }
    }
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
        self.read_report_csv_with(who, form, input, progress, None)
            .await
    }

    /// [`Service::read_report_csv`]; `index`: whether to find the regions in
    /// the region index (`None`: by the size of the file, or whether a
    /// current index is held).
    async fn read_report_csv_with(
        &self,
        who: &Principal,
        form: &str,
        input: impl Read,
        progress: &(dyn Fn(u64) + Sync),
        index: Option<bool>,
    ) -> Result<ReportFile> {
        who.require(fangkong_domain::policy::Action::FileReport)?;
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

        let mut raw = RawRows::default();
        let mut bad = Vec::new();
        let mut record = csv::StringRecord::new();
        // a large file is checked against the whole tree in memory: read it
        // (in another task) while the file is parsed
        let mut loading = None;
        for i in 0u64.. {
            let line = i + 2;
            match reader.read_record(&mut record) {
                Ok(true) => raw.push(line, &record)?,
                Ok(false) => break,
                Err(e) => {
                    let io = matches!(e.kind(), csv::ErrorKind::Io(_));
                    bad.push((
                        RowError {
                            line,
                            column: "-".into(),
                            reason: e.to_string(),
                        },
                        Vec::new(),
                    ));
                    if io {
                        break;
                    }
                }
            }
            if line.is_multiple_of(10_000) {
                progress(line - 1);
            }
            if loading.is_none() && raw.len() == INDEX_FROM_ROWS && index != Some(false) {
                let store = Arc::clone(&self.store);
                let cell = Arc::clone(&self.region_index);
                loading = Some(tokio::spawn(
                    async move { cell.current(&store, true).await },
                ));
            }
        }
        progress(raw.len() as u64 + bad.len() as u64);
        tracing::debug!(rows = raw.len(), elapsed = ?started.elapsed(), "report file parsed");

        let index = match (loading, index) {
            (Some(task), _) => task.await.map_err(|e| {
                ServiceError::Internal(anyhow::anyhow!("reading the region index: {e}"))
            })??,
            (None, Some(false)) => None,
            (None, Some(true)) => self.region_index.current(&self.store, true).await?,
            (None, None) => self.region_index.current(&self.store, false).await?,
        };
        let mut lookup = match index {
            Some(index) => Lookup::index(index),
            None => Lookup::Found(
                self.resolve_regions((0..raw.len()).map(|i| raw.record(i).get(columns.region)))
                    .await?,
            ),
        };
        tracing::debug!(elapsed = ?started.elapsed(), "regions resolved");
        let check = Check {
            form: &form,
            columns: &columns,
            who,
            today: self.today(),
            last_date: None,
        };
        let n = raw.len();
        // a large file is checked on two threads, half of the rows each (a
        // row's checks depend on no other row's, but for repeats: found after)
        let parts: Vec<Checked> = match &lookup {
            Lookup::Index { index, .. } if n >= PARALLEL_FROM_ROWS => {
                let mut other = Lookup::index(Arc::clone(index));
                let (mut first, mut second) = (check.clone(), check);
                let raw = &raw;
                let (mine, theirs) = std::thread::scope(|scope| {
                    let half = std::thread::Builder::new()
                        .spawn_scoped(scope, || second.records(raw, n / 2..n, &mut other, 0));
                    let mine = first.records(raw, 0..n / 2, &mut lookup, n);
                    let theirs = match half {
                        Ok(half) => half.join().ok(),
                        // no thread to be had: this one does both halves
                        Err(_) => Some(first.records(raw, n / 2..n, &mut lookup, 0)),
                    };
                    (mine, theirs)
                });
                let theirs = theirs.ok_or_else(|| {
                    ServiceError::Internal(anyhow::anyhow!("a thread checking the file failed"))
                })?;
                vec![mine, theirs]
            }
            _ => {
                let mut check = check;
                vec![check.records(&raw, 0..n, &mut lookup, n)]
            }
        };
        // a region and day given twice: the first stands, the others are bad
        let total: usize = parts.iter().map(|p| p.rows.len()).sum();
        let mut seen = Seen::new(
            parts
                .iter()
                .flat_map(|p| p.keys.iter())
                .max()
                .map_or(0, |k| *k as usize + 1),
            parts.iter().flat_map(|p| p.rows.iter().map(|r| r.date)),
            total,
        );
        let mut repeats = Vec::new();
        for (p, part) in parts.iter().enumerate() {
            for (i, (row, key)) in part.rows.iter().zip(&part.keys).enumerate() {
                if let Some(first) = seen.insert(*key, row.date, row.line) {
                    repeats.push((p, i, first));
                }
            }
        }
        for (p, i, first) in &repeats {
            let row = &parts[*p].rows[*i];
            let r = raw.by_line(row.line);
            let code = r.map_or("", |r| r.get(columns.region));
            bad.push((
                RowError {
                    line: row.line,
                    column: "region_code".to_owned(),
                    reason: format!(
                        "region {code} on {} was already given on line {first}",
                        row.date
                    ),
                },
                r.map(|r| r.fields()).unwrap_or_default(),
            ));
        }
        // the first part has room for all rows: the others join it
        let mut rows = Vec::new();
        for (p, part) in parts.into_iter().enumerate() {
            bad.extend(part.bad);
            let mut part_rows = part.rows;
            if repeats.iter().any(|(q, _, _)| *q == p) {
                let drop: std::collections::HashSet<usize> = repeats
                    .iter()
                    .filter(|(q, _, _)| *q == p)
                    .map(|(_, i, _)| *i)
                    .collect();
                part_rows = part_rows
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !drop.contains(i))
                    .map(|(_, r)| r)
                    .collect();
            }
            if rows.is_empty() && rows.capacity() < total {
                rows = part_rows;
                rows.reserve(total.saturating_sub(rows.len()));
            } else {
                rows.extend(part_rows);
            }
        }
        bad.sort_by_key(|(e, _)| e.line);
        tracing::debug!(elapsed = ?started.elapsed(), "report file checked");
        Ok(ReportFile { rows, bad, header })
    }

    /// Look up region codes (each once) in the store: those that exist, by
    /// the code as written, with a key per region.
    async fn resolve_regions<'a>(
        &self,
        codes: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, (u32, Arc<Region>)>> {
        let distinct: std::collections::HashSet<&str> = codes.collect();
        let lookup: Vec<RegionCode> = distinct
            .iter()
            .filter_map(|c| RegionCode::parse(c).ok())
            .collect();
        // exact codes first, moved into the map under their own text
        let mut found: HashMap<String, (u32, Arc<Region>)> = self
            .store
            .regions(&lookup)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, r)| (r.code.as_str().to_owned(), (i as u32, Arc::new(r))))
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
            let mut next = found.len() as u32;
            let mut by_code: HashMap<String, (u32, Arc<Region>)> = HashMap::new();
            for r in self.store.regions(&canon).await? {
                let key = match found.get(r.code.as_str()) {
                    Some((key, _)) => *key,
                    None => {
                        next += 1;
                        next
                    }
                };
                by_code.insert(r.code.as_str().to_owned(), (key, Arc::new(r)));
            }
            for (text, canon) in retry {
                if let Some((key, region)) = by_code.get(canon.as_str()) {
                    // the same region found by both forms shares its key
                    let region = found
                        .get(canon.as_str())
                        .map_or_else(|| Arc::clone(region), |(_, r)| Arc::clone(r));
                    found.insert(text.to_owned(), (*key, region));
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

/// The checks of each row of a file.
#[derive(Clone)]
struct Check<'a> {
    form: &'a Form,
    columns: &'a Columns,
    who: &'a Principal,
    today: NaiveDate,
    /// The date last read and its text (a file's rows mostly share their day).
    last_date: Option<(String, NaiveDate)>,
}

/// The line on which each region (by key) and day was given.
struct Seen {
    /// Per day, by key (0: not yet), when the keys are dense enough.
    dense: Option<(usize, IdMap<NaiveDate, Vec<u64>>)>,
    sparse: IdMap<(u32, NaiveDate), u64>,
}

impl Seen {
    /// For `rows` rows with keys below `bound` on `dates`.
    fn new(bound: usize, dates: impl Iterator<Item = NaiveDate>, rows: usize) -> Seen {
        let days: IdMap<NaiveDate, ()> = dates.map(|d| (d, ())).collect();
        // a line per key and day, if no more than a map of the rows would take
        let dense = days.len().saturating_mul(bound) <= rows.saturating_mul(3);
        Seen {
            dense: dense.then(|| (bound, IdMap::default())),
            sparse: IdMap::default(),
        }
    }

    /// Note `line`; the line before it with the same key and day, if any.
    fn insert(&mut self, key: u32, date: NaiveDate, line: u64) -> Option<u64> {
        match &mut self.dense {
            Some((bound, days)) => {
                let lines = days.entry(date).or_insert_with(|| vec![0; *bound]);
                let before = std::mem::replace(&mut lines[key as usize], line);
                (before != 0).then_some(before)
            }
            None => self.sparse.insert((key, date), line),
        }
    }
}

/// Rows checked, each with the key of its region, and the bad ones.
struct Checked {
    rows: Vec<ImportRow>,
    keys: Vec<u32>,
    bad: Vec<(RowError, Vec<String>)>,
}

impl Check<'_> {
    /// Check records `range`; `room`: the rows to make room for.
    fn records(
        &mut self,
        raw: &RawRows,
        range: std::ops::Range<usize>,
        lookup: &mut Lookup,
        room: usize,
    ) -> Checked {
        let mut out = Checked {
            rows: Vec::with_capacity(room.max(range.len())),
            keys: Vec::with_capacity(range.len()),
            bad: Vec::new(),
        };
        for i in range {
            let r = raw.record(i);
            match self.row(r, lookup) {
                Ok((row, key)) => {
                    out.rows.push(row);
                    out.keys.push(key);
                }
                Err(e) => out.bad.push((e, r.fields())),
            }
        }
        out
    }

    /// A row checked on its own (repeats are found after), and the key of its region.
    fn row(
        &mut self,
        r: Record<'_>,
        lookup: &mut Lookup,
    ) -> std::result::Result<(ImportRow, u32), RowError> {
        let line = r.line;
        let err = |column: &str, reason: String| RowError {
            line,
            column: column.to_owned(),
            reason,
        };
        if r.len < self.columns.fields.len() + 2 {
            return Err(err(
                "-",
                format!("has {} columns, the header has more", r.len),
            ));
        }
        let code = r.get(self.columns.region);
        let Some((key, region)) = lookup.get(code) else {
            RegionCode::parse(code).map_err(|e| err("region_code", e.reason))?;
            return Err(err("region_code", format!("unknown region {code:?}")));
        };
        if !self.who.covers(&region) {
            return Err(err(
                "region_code",
                format!(
                    "region {code} lies outside your jurisdiction ({})",
                    self.who.region.code
                ),
            ));
        }
        let text = r.get(self.columns.date);
        let date = match &self.last_date {
            Some((last, date)) if last == text => *date,
            _ => {
                let date = parse_date("date", text).map_err(|e| err("date", e.reason))?;
                self.last_date = Some((text.to_owned(), date));
                date
            }
        };
        if date > self.today {
            return Err(err(
                "date",
                format!("{date} is in the future (today is {})", self.today),
            ));
        }
        let mut values = Values::ZERO;
        for (i, (field, col)) in self
            .form
            .fields
            .iter()
            .zip(&self.columns.fields)
            .enumerate()
        {
            values.0[i] =
                parse_count(&field.name, r.get(*col)).map_err(|e| err(&field.name, e.reason))?;
            self.form
                .check_count(i, values.0[i])
                .map_err(|e| err(&field.name, e.reason))?;
        }
        Ok((
            ImportRow {
                line,
                region,
                date,
                values,
                filed_at: None,
            },
            key,
        ))
    }
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
        series.entry((*code).to_owned()).or_default().push((
            date,
            line,
            [row.confirmed_cum, row.deaths_cum, row.recovered_cum],
        ));
    }
    if !errors.is_empty() {
        return Err(ServiceError::BadRows(errors));
    }
    let mut out = Converted::default();
    for (code, mut days) in series {
        days.sort_by_key(|(d, _, _)| *d);
        let mut daily = Vec::new();
        for (k, name) in ["confirmed", "deaths", "recovered"].iter().enumerate() {
            let cum: Vec<Option<i64>> = days.iter().map(|(_, _, c)| c[k]).collect();
            let d = decumulate(&cum);
            for i in &d.falls {
                out.notes.push(format!(
                    "{code} {}: cumulative {name} fell; daily count clipped to 0",
                    days[*i].0
                ));
            }
            daily.push(d.daily);
        }
        for (i, (date, line, _)) in days.iter().enumerate() {
            let mut v = Values::ZERO;
            v.0[i_conf] = daily[0][i];
            v.0[i_dead] = daily[1][i];
            v.0[i_rec] = daily[2][i];
            if let Err(e) = form.check_values(&v) {
                errors.push(bound_error(*line, &e, "the day's count"));
            }
            out.rows.push((code.clone(), *date, v));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(ServiceError::BadRows(errors));
    }
    Ok(out)
}

/// A province's day, its line, and its confirmed, deaths and recovered, cumulative.
type JhuDay = (NaiveDate, u64, [Option<i64>; 3]);

/// A converted day over a field's bound: the row's line, the field, and
/// that the count is derived (a difference of cumulative counts).
fn bound_error(line: u64, e: &FieldError, what: &str) -> RowError {
    RowError {
        line,
        column: e.field.trim_start_matches("values.").to_owned(),
        reason: format!("{what} {}", e.reason),
    }
}

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
    let mut days: Vec<(NaiveDate, u64, NhcRow)> = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.deserialize::<NhcRow>().enumerate() {
        let line = i as u64 + 2;
        match record {
            Ok(r) => match parse_date("date", &r.date) {
                Ok(d) => days.push((d, line, r)),
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
    days.sort_by_key(|(d, _, _)| *d);
    let mut out = Converted::default();
    let flows = [
        ("new_confirmed", 0usize),
        ("new_deaths", 1),
        ("new_recovered", 2),
    ];
    let cum = |k: usize| -> Vec<Option<i64>> {
        days.iter()
            .map(|(_, _, r)| [r.confirmed_cum, r.deaths_cum, r.recovered_cum][k])
            .collect()
    };
    let daily: Vec<Vec<i64>> = (0..3).map(|k| decumulate(&cum(k)).daily).collect();
    let stocks = ["current_severe", "current_suspected", "current_observation"];
    let mut last = [0i64; 3];
    for (i, (date, line, r)) in days.iter().enumerate() {
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
        if let Err(e) = form.check_values(&v) {
            errors.push(bound_error(*line, &e, "the day's count"));
        }
        out.rows
            .push((fangkong_domain::region::NATION_CODE.to_owned(), *date, v));
    }
    if !errors.is_empty() {
        return Err(ServiceError::BadRows(errors));
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
                Some((_, region)) => rows.push(ImportRow {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use fangkong_domain::user::Role;

    use crate::regions::testing::services;
    use crate::Principal;

    /// The two ways of finding a file's regions — the index in memory and
    /// the store — give the same rows and the same errors.
    #[tokio::test]
    async fn the_index_and_the_store_read_a_file_alike() {
        let zeros = ",0,0,0,0,0,0,0";
        let csv = format!(
            "region_code,date,new_confirmed,new_suspected,new_severe,new_deaths,new_recovered,current_severe,current_suspected,current_observation\n\
             420102,2020-01-25,1{zeros}\n\
             42,2020-01-25,2{zeros}\n\
             420103000000,2020-01-25,3{zeros}\n\
             420103,2020-01-25,4{zeros}\n\
             999999,2020-01-25,5{zeros}\n\
             4/2,2020-01-25,6{zeros}\n\
             430102,2020-01-25,7{zeros}\n\
             420104,2020-01-26,x{zeros}\n\
             420104,2020-01-26\n\
             4201,2020-01-24,8{zeros}\n\
             420100,2020-01-24,9{zeros}\n\
             420102,2020-01-26,10{zeros}\n"
        );
        for t in services().await {
            let s = &t.service;
            let nation = s.system().await.unwrap();
            let wuhan = Principal {
                username: "wuhan".into(),
                role: Role::City,
                region: s.region("420100").await.unwrap(),
                site: None,
            };
            for who in [&nation, &wuhan] {
                let mut read = Vec::new();
                for with_index in [false, true] {
                    let file = s
                        .read_report_csv_with(
                            who,
                            "epidemic",
                            csv.as_bytes(),
                            &|_| {},
                            Some(with_index),
                        )
                        .await
                        .unwrap();
                    let rows: Vec<_> = file
                        .rows
                        .iter()
                        .map(|r| (r.line, (*r.region).clone(), r.date, r.values))
                        .collect();
                    read.push((rows, file.bad, file.header));
                }
                assert_eq!(read[0], read[1], "{} as {}", t.engine, who.username);
                let (rows, bad, _) = &read[0];
                let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
                let bad: Vec<(u64, &str)> = bad
                    .iter()
                    .map(|(e, _)| (e.line, e.column.as_str()))
                    .collect();
                if who.username == "system" {
                    assert_eq!(lines, [2, 3, 4, 8, 11, 13], "{}", t.engine);
                    assert_eq!(
                        bad,
                        [
                            (5, "region_code"),
                            (6, "region_code"),
                            (7, "region_code"),
                            (9, "new_confirmed"),
                            (10, "-"),
                            (12, "region_code"),
                        ],
                        "{}",
                        t.engine
                    );
                    assert_eq!(rows[2].1.code.as_str(), "420103", "{}", t.engine);
                } else {
                    assert_eq!(lines, [2, 4, 11, 13], "{}", t.engine);
                }
            }
        }
    }

    /// A file large enough to be checked on two threads reads as it does
    /// checked against the store in one: bad rows in either half, a region
    /// repeated across the halves (in two forms of its code).
    #[tokio::test]
    async fn a_large_file_checked_in_halves_reads_as_in_one() {
        for t in services().await {
            let s = &t.service;
            let store = s.store();
            let sys = s.system().await.unwrap();
            let counties = store
                .regions_at_level("/000000/", fangkong_domain::region::Level::County)
                .await
                .unwrap();
            let mut csv = String::from("region_code,date,households_visited,returnees_registered,fever_found,home_observation\n");
            for d in 1..=7 {
                for (i, c) in counties.iter().enumerate() {
                    let code = match (d, i) {
                        (1, 5) => "420103000000".to_owned(),
                        (6, 9) => "nowhere".to_owned(),
                        _ => c.code.to_string(),
                    };
                    let visited = if (d, i) == (2, 3) {
                        "-1".to_owned()
                    } else {
                        (i % 50).to_string()
                    };
                    csv.push_str(&format!("{code},2020-02-0{d},{visited},{},0,{d}\n", i % 4));
                }
            }
            // 420103 again on the 1st, at the end, in the second half
            csv.push_str("420103,2020-02-01,1,1,1,1\n");
            assert!(counties.len() * 7 >= super::PARALLEL_FROM_ROWS);
            let mut read = Vec::new();
            for with_index in [false, true] {
                let file = s
                    .read_report_csv_with(&sys, "grid", csv.as_bytes(), &|_| {}, Some(with_index))
                    .await
                    .unwrap();
                let rows: Vec<_> = file
                    .rows
                    .iter()
                    .map(|r| (r.line, (*r.region).clone(), r.date, r.values))
                    .collect();
                read.push((rows, file.bad));
            }
            assert_eq!(read[0].1, read[1].1, "{}", t.engine);
            assert!(read[0].0 == read[1].0, "{}: the rows differ", t.engine);
            let bad: Vec<&str> = read[1].1.iter().map(|(e, _)| e.column.as_str()).collect();
            // 420103 itself, after its other form on line 7; -1; nowhere; 420103 at the end
            assert_eq!(
                bad,
                [
                    "region_code",
                    "households_visited",
                    "region_code",
                    "region_code"
                ],
                "{}",
                t.engine
            );
            assert!(
                read[1].1[0].0.reason.contains("line 7"),
                "{:?}",
                read[1].1[0]
            );
        }
    }
}
