//! Chains and clusters (R5): the who-infected-whom graph of the whole line
//! list, kept in memory and rebuilt when the stored graph generation moves
//! (a case with sources, a contact, a new link, a conversion).
//!
//! Nodes are cases and contacts; a contact converted into a case *is* that
//! case (its exposures become the case's). Links are confirmed
//! transmissions (a case's source cases, dated by the infectee's onset) and
//! exposures (a contact's source cases, dated by the last exposure). The
//! methods are `fangkong_analytics::transmission`'s; this module maps keys
//! to nodes and back and decides what each principal may see of each node:
//! everyone sees ids, kinds, regions and dates; personal data only within
//! the principal's jurisdiction.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{Datelike, NaiveDate};

use fangkong_analytics::transmission::{Bfs, Link, LinkKind, TransmissionGraph};
use fangkong_domain::case::{CaseId, Classification, Sex};
use fangkong_domain::contact::ContactId;
use fangkong_domain::region::RegionCode;
use fangkong_store::{StoredCase, StoredContact};

use super::visible;
use crate::{Principal, Result, Service, ServiceError};
use fangkong_domain::policy::Action;

/// The most nodes one answer lists; a larger neighbourhood or cluster is
/// cut (nearest first) and marked truncated.
pub const MAX_NODES: usize = 5_000;

/// The graph as last built, and the generation it was built at.
pub(crate) struct BuiltGraph {
    generation: i64,
    max_case_key: i64,
    graph: TransmissionGraph,
    /// Converted contacts: contact key → the case key it became.
    converted: HashMap<i64, i64>,
    /// Reusable search buffers.
    bfs: Mutex<Vec<Bfs>>,
}

/// The service's cache of the graph.
#[derive(Default)]
pub struct GraphCell {
    built: tokio::sync::Mutex<Option<Arc<BuiltGraph>>>,
}

/// A node by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Case(i64),
    Contact(i64),
}

fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

fn date_of(n: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(n)
}

impl BuiltGraph {
    fn node_count(max_case: i64, max_contact: i64) -> usize {
        usize::try_from(max_case.max(0) + max_contact.max(0)).unwrap_or(0)
    }

    fn node(&self, key: Key) -> Option<u32> {
        let index = match key {
            Key::Case(k) => k - 1,
            Key::Contact(k) => match self.converted.get(&k) {
                Some(case) => case - 1,
                None => self.max_case_key + k - 1,
            },
        };
        u32::try_from(index)
            .ok()
            .filter(|n| self.graph.contains(*n))
    }

    fn key(&self, node: u32) -> Key {
        let n = i64::from(node);
        if n < self.max_case_key {
            Key::Case(n + 1)
        } else {
            Key::Contact(n - self.max_case_key + 1)
        }
    }

    fn within(&self, node: u32, k: u32) -> Vec<(u32, u32)> {
        let mut bfs = self
            .bfs
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_else(|| Bfs::new(&self.graph));
        let out = bfs.within(&self.graph, node, k).to_vec();
        if let Ok(mut pool) = self.bfs.lock() {
            pool.push(bfs);
        }
        out
    }
}

/// One person in a chain, as the principal may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainNode {
    /// `case` or `contact`.
    pub kind: &'static str,
    pub id: String,
    /// Home region, and the unit that reported or traced the person.
    pub region: RegionCode,
    pub reporting_unit: RegionCode,
    /// Steps from the case asked about (links in either direction).
    pub distance: u32,
    /// Steps back to the index case along the chosen sources.
    pub generation: Option<u32>,
    pub classification: Option<Classification>,
    pub onset: Option<NaiveDate>,
    pub report_date: Option<NaiveDate>,
    /// A contact's last exposure.
    pub last_exposure: Option<NaiveDate>,
    /// Whether the principal may see this person's data.
    pub visible: bool,
    /// Name, sex and age: only when visible.
    pub name: Option<String>,
    pub sex: Option<Sex>,
    pub age: Option<u8>,
}

/// A link between two nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEdge {
    pub from: String,
    pub to: String,
    /// `transmission` or `contact`.
    pub kind: &'static str,
    pub date: Option<NaiveDate>,
}

/// A cluster: the people connected to a case by any chain of links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub size: usize,
    pub cases: usize,
    pub contacts: usize,
    /// Earliest and latest onset, report or exposure among the members.
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    /// The members' home regions and reporting units, sorted.
    pub regions: Vec<RegionCode>,
    /// The ids of the cases of the cluster with no source (index cases).
    pub index_cases: Vec<String>,
    /// A case of the cluster the principal may open: the index case when
    /// visible, else the first visible case (`None` when none is).
    pub open_with: Option<String>,
    /// Whether the members were too many to read (days and regions then
    /// describe the first [`MAX_NODES`]).
    pub truncated: bool,
}

/// A case's chain: its neighbourhood within `depth` steps (or its whole
/// cluster), the links among those, its source chain and its cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainView {
    pub root: String,
    pub depth: Option<u32>,
    pub nodes: Vec<ChainNode>,
    pub edges: Vec<ChainEdge>,
    /// From the case back to the index case, by id (the case first).
    pub source_chain: Vec<String>,
    /// Whether the source chain ends in a cycle (a data error).
    pub cycle: bool,
    pub generation: Option<u32>,
    pub cluster: ClusterInfo,
    /// Whether the node list was cut at [`MAX_NODES`].
    pub truncated: bool,
}

/// A node's data read from storage.
enum Stored {
    Case(Box<StoredCase>),
    Contact(Box<StoredContact>),
}

impl Service {
    /// The graph, rebuilt if the stored generation moved.
    async fn graph(&self) -> Result<Arc<BuiltGraph>> {
        let mut slot = self.graph.built.lock().await;
        let generation = self.store.graph_generation().await?;
        if let Some(g) = slot.as_ref() {
            if g.generation == generation {
                return Ok(g.clone());
            }
        }
        let (generation, rows) = self.store.graph_rows().await?;
        let max_case_key = rows.max_case_key;
        let converted: HashMap<i64, i64> = rows.conversions.iter().copied().collect();
        let built = tokio::task::spawn_blocking(move || -> Result<BuiltGraph> {
            let nodes = BuiltGraph::node_count(rows.max_case_key, rows.max_contact_key);
            let case_node = |k: i64| u32::try_from(k - 1).ok();
            let mut links = Vec::with_capacity(rows.transmissions.len() + rows.exposures.len());
            for &(s, t, day) in &rows.transmissions {
                if let (Some(s), Some(t)) = (case_node(s), case_node(t)) {
                    let l = Link::transmission(s, t);
                    links.push(match day {
                        Some(d) => l.on(day_number(d)),
                        None => l,
                    });
                }
            }
            for &(s, contact, day) in &rows.exposures {
                let t = match converted.get(&contact) {
                    Some(&case) => case_node(case),
                    None => u32::try_from(max_case_key + contact - 1).ok(),
                };
                if let (Some(s), Some(t)) = (case_node(s), t) {
                    links.push(Link::contact(s, t).on(day_number(day)));
                }
            }
            let graph = TransmissionGraph::from_links(nodes, &links)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("graph: {e}")))?;
            Ok(BuiltGraph {
                generation,
                max_case_key,
                graph,
                converted,
                bfs: Mutex::new(Vec::new()),
            })
        })
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("graph build: {e}")))??;
        let built = Arc::new(built);
        *slot = Some(built.clone());
        Ok(built)
    }

    /// Reads the nodes' data: cases and contacts by key.
    async fn read_nodes(&self, keys: &[Key]) -> Result<HashMap<Key, Stored>> {
        let cases: Vec<i64> = keys
            .iter()
            .filter_map(|k| match k {
                Key::Case(k) => Some(*k),
                Key::Contact(_) => None,
            })
            .collect();
        let contacts: Vec<i64> = keys
            .iter()
            .filter_map(|k| match k {
                Key::Contact(k) => Some(*k),
                Key::Case(_) => None,
            })
            .collect();
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in cases.chunks(MAX_NODES) {
            for c in self.store.cases_by_keys(chunk).await? {
                out.insert(Key::Case(c.key), Stored::Case(Box::new(c)));
            }
        }
        for chunk in contacts.chunks(MAX_NODES) {
            for c in self.store.contacts_by_keys(chunk).await? {
                out.insert(Key::Contact(c.key), Stored::Contact(Box::new(c)));
            }
        }
        Ok(out)
    }

    /// The chain of a case: everyone within `depth` steps (links in either
    /// direction), or the whole cluster when `depth` is `None`; the links
    /// among them; the source chain back to the index case; the cluster.
    pub async fn chain(
        &self,
        who: &Principal,
        case_id: &CaseId,
        depth: Option<u32>,
    ) -> Result<ChainView> {
        who.require(Action::ReadChains)?;
        let root = self.case(who, case_id).await?;
        let g = self.graph().await?;
        let Some(node) = g.node(Key::Case(root.key)) else {
            // a case without links reported since the graph was built
            let view = node_view(&Stored::Case(Box::new(root.clone())), who, 0, Some(0));
            return Ok(ChainView {
                root: case_id.to_string(),
                depth,
                nodes: vec![view],
                edges: Vec::new(),
                source_chain: vec![case_id.to_string()],
                cycle: false,
                generation: Some(0),
                cluster: ClusterInfo {
                    size: 1,
                    cases: 1,
                    contacts: 0,
                    first_day: root.entry.case.dates().onset,
                    last_day: Some(root.entry.case.dates().report),
                    regions: vec![root.entry.case.person().home_region.clone()],
                    index_cases: vec![case_id.to_string()],
                    open_with: Some(case_id.to_string()),
                    truncated: false,
                },
                truncated: false,
            });
        };
        let mut near: Vec<(u32, u32)> = match depth {
            Some(k) => g.within(node, k),
            None => g.within(node, u32::MAX),
        };
        let truncated = near.len() > MAX_NODES;
        near.truncate(MAX_NODES);
        let chain = g.graph.source_chain(node);
        let source_nodes: Vec<u32> = chain.as_ref().map(|c| c.nodes.clone()).unwrap_or_default();
        let generation = chain.as_ref().and_then(|c| c.generation());
        let cycle = chain.as_ref().is_some_and(|c| c.index_case().is_none());

        let mut wanted: BTreeSet<Key> = near.iter().map(|(n, _)| g.key(*n)).collect();
        wanted.extend(source_nodes.iter().map(|n| g.key(*n)));
        let keys: Vec<Key> = wanted.into_iter().collect();
        let stored = self.read_nodes(&keys).await?;
        let id_of = |n: u32| -> String {
            match stored.get(&g.key(n)) {
                Some(Stored::Case(c)) => c.entry.case.id().to_string(),
                Some(Stored::Contact(c)) => c.entry.contact.id().to_string(),
                None => format!("#{n}"),
            }
        };
        let nodes: Vec<ChainNode> = near
            .iter()
            .filter_map(|&(n, dist)| {
                let s = stored.get(&g.key(n))?;
                let generation = g.graph.generation(n);
                Some(node_view(s, who, dist, generation))
            })
            .collect();
        let sub = g.graph.subgraph(near.iter().map(|(n, _)| *n));
        let edges: Vec<ChainEdge> = sub
            .links()
            .map(|l| ChainEdge {
                from: id_of(l.source),
                to: id_of(l.infectee),
                kind: match l.kind {
                    LinkKind::Transmission => "transmission",
                    LinkKind::Contact => "contact",
                },
                date: l.day.and_then(date_of),
            })
            .collect();
        let cluster = self.cluster_info(who, &g, node).await?;
        Ok(ChainView {
            root: case_id.to_string(),
            depth,
            nodes,
            edges,
            source_chain: source_nodes.iter().map(|n| id_of(*n)).collect(),
            cycle,
            generation,
            cluster,
            truncated,
        })
    }

    /// The cluster of a case.
    pub async fn cluster(&self, who: &Principal, case_id: &CaseId) -> Result<ClusterInfo> {
        who.require(Action::ReadChains)?;
        let root = self.case(who, case_id).await?;
        let g = self.graph().await?;
        match g.node(Key::Case(root.key)) {
            Some(node) => self.cluster_info(who, &g, node).await,
            None => Ok(ClusterInfo {
                size: 1,
                cases: 1,
                contacts: 0,
                first_day: root.entry.case.dates().onset,
                last_day: Some(root.entry.case.dates().report),
                regions: vec![root.entry.case.person().home_region.clone()],
                index_cases: vec![case_id.to_string()],
                open_with: Some(case_id.to_string()),
                truncated: false,
            }),
        }
    }

    async fn cluster_info(
        &self,
        who: &Principal,
        g: &BuiltGraph,
        node: u32,
    ) -> Result<ClusterInfo> {
        let (members, stored) = self.cluster_members(g, node).await?;
        Ok(summarise(who, g, members, &stored))
    }

    /// The members of a node's cluster and the data of the first [`MAX_NODES`].
    async fn cluster_members<'g>(
        &self,
        g: &'g BuiltGraph,
        node: u32,
    ) -> Result<(&'g [u32], HashMap<Key, Stored>)> {
        let members = g
            .graph
            .cluster_containing(node)
            .map(|c| c.members)
            .unwrap_or(&[]);
        let keys: Vec<Key> = members.iter().take(MAX_NODES).map(|n| g.key(*n)).collect();
        Ok((members, self.read_nodes(&keys).await?))
    }

    /// The clusters of at least `min_size` people with a member visible to
    /// the principal, the largest first.
    pub async fn clusters(
        &self,
        who: &Principal,
        min_size: usize,
        limit: usize,
    ) -> Result<Vec<ClusterInfo>> {
        who.require(Action::ReadChains)?;
        let g = self.graph().await?;
        let mut big: Vec<(usize, u32)> = g
            .graph
            .clusters()
            .filter(|c| c.size() >= min_size.max(2))
            .map(|c| (c.size(), c.members.first().copied().unwrap_or(0)))
            .collect();
        big.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut out = Vec::new();
        for (_, first) in big {
            if out.len() >= limit {
                break;
            }
            let (members, stored) = self.cluster_members(&g, first).await?;
            let seen = stored.values().any(|s| match s {
                Stored::Case(c) => visible(who, &c.entry.home_path, &c.entry.report_path),
                Stored::Contact(c) => visible(who, &c.entry.home_path, &c.entry.report_path),
            });
            if seen {
                out.push(summarise(who, &g, members, &stored));
            }
        }
        Ok(out)
    }

    /// The cases with the most distinct infectees (cases and contacts), visible
    /// to the principal, as `(case id, infectees)`.
    pub async fn top_spreaders(&self, who: &Principal, limit: usize) -> Result<Vec<(CaseId, u32)>> {
        who.require(Action::ReadChains)?;
        let g = self.graph().await?;
        let ranked = g.graph.top_spreaders(limit.saturating_mul(20).max(100));
        let keys: Vec<Key> = ranked.iter().map(|(n, _)| g.key(*n)).collect();
        let stored = self.read_nodes(&keys).await?;
        let mut out = Vec::new();
        for (n, count) in ranked {
            if let Some(Stored::Case(c)) = stored.get(&g.key(n)) {
                if visible(who, &c.entry.home_path, &c.entry.report_path) {
                    out.push((c.entry.case.id().clone(), count));
                }
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The chain as DOT or GraphML for analysts: ids and kinds only.
    pub async fn chain_export(
        &self,
        who: &Principal,
        case_id: &CaseId,
        depth: Option<u32>,
        format: GraphFormat,
    ) -> Result<String> {
        let view = self.chain(who, case_id, depth).await?;
        Ok(export(&view, format))
    }

    /// Benchmark access: the node of a case key, everyone within `k` steps
    /// and the cluster's size, straight from the graph in memory.
    pub async fn graph_probe(&self, case_key: i64, k: u32) -> Result<Option<(usize, usize)>> {
        let g = self.graph().await?;
        Ok(g.node(Key::Case(case_key)).map(|n| {
            let near = g.within(n, k).len();
            let size = g.graph.cluster_containing(n).map_or(1, |c| c.size());
            (near, size)
        }))
    }

    /// Builds the graph now if it is out of date (after an import), and says
    /// how many nodes and links it has.
    pub async fn warm_graph(&self) -> Result<(usize, usize)> {
        let g = self.graph().await?;
        Ok((g.graph.node_count(), g.graph.link_count()))
    }

    /// Looks a contact's node up (for callers that start from a contact).
    pub async fn contact_case(&self, who: &Principal, id: &ContactId) -> Result<Option<CaseId>> {
        let c = self.contact(who, id).await?;
        Ok(c.entry.contact.converted().map(|(id, _)| id.clone()))
    }
}

/// A cluster's summary from its members' data (see [`ClusterInfo`]).
fn summarise(
    who: &Principal,
    g: &BuiltGraph,
    members: &[u32],
    stored: &HashMap<Key, Stored>,
) -> ClusterInfo {
    let truncated = members.len() > MAX_NODES;
    let cases = members
        .iter()
        .filter(|n| matches!(g.key(**n), Key::Case(_)))
        .count();
    let mut days = Vec::new();
    let mut regions = BTreeSet::new();
    let mut index_cases = Vec::new();
    let mut visible_cases = Vec::new();
    for n in members.iter().take(MAX_NODES) {
        match stored.get(&g.key(*n)) {
            Some(Stored::Case(c)) => {
                let case = &c.entry.case;
                days.extend(case.dates().onset);
                days.push(case.dates().report);
                regions.insert(case.person().home_region.clone());
                regions.insert(case.reporting_unit().clone());
                if g.graph.chosen_source(*n).is_none() {
                    index_cases.push(case.id().to_string());
                }
                if visible(who, &c.entry.home_path, &c.entry.report_path) {
                    visible_cases.push(case.id().to_string());
                }
            }
            Some(Stored::Contact(c)) => {
                days.push(c.entry.contact.last_exposure());
                regions.insert(c.entry.contact.person().home_region.clone());
                regions.insert(c.entry.reporting_unit.clone());
            }
            None => {}
        }
    }
    index_cases.sort();
    let open_with = index_cases
        .iter()
        .find(|id| visible_cases.contains(id))
        .or(visible_cases.first())
        .cloned();
    ClusterInfo {
        size: members.len(),
        cases,
        contacts: members.len() - cases,
        first_day: days.iter().min().copied(),
        last_day: days.iter().max().copied(),
        regions: regions.into_iter().collect(),
        index_cases,
        open_with,
        truncated,
    }
}

fn node_view(s: &Stored, who: &Principal, distance: u32, generation: Option<u32>) -> ChainNode {
    match s {
        Stored::Case(c) => {
            let case = &c.entry.case;
            let seen = visible(who, &c.entry.home_path, &c.entry.report_path);
            let p = case.person();
            ChainNode {
                kind: "case",
                id: case.id().to_string(),
                region: p.home_region.clone(),
                reporting_unit: case.reporting_unit().clone(),
                distance,
                generation,
                classification: Some(case.classification()),
                onset: case.dates().onset,
                report_date: Some(case.dates().report),
                last_exposure: None,
                visible: seen,
                name: seen
                    .then(|| p.name.as_ref().map(|n| n.as_str().to_owned()))
                    .flatten(),
                sex: seen.then_some(p.sex),
                age: seen.then(|| p.age.map(|a| a.years())).flatten(),
            }
        }
        Stored::Contact(c) => {
            let contact = &c.entry.contact;
            let seen = visible(who, &c.entry.home_path, &c.entry.report_path);
            let p = contact.person();
            ChainNode {
                kind: "contact",
                id: contact.id().to_string(),
                region: p.home_region.clone(),
                reporting_unit: c.entry.reporting_unit.clone(),
                distance,
                generation,
                classification: None,
                onset: None,
                report_date: None,
                last_exposure: Some(contact.last_exposure()),
                visible: seen,
                name: seen
                    .then(|| p.name.as_ref().map(|n| n.as_str().to_owned()))
                    .flatten(),
                sex: seen.then_some(p.sex),
                age: seen.then(|| p.age.map(|a| a.years())).flatten(),
            }
        }
    }
}

/// The graph file formats for analysts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    GraphMl,
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// DOT or GraphML of a chain: ids, kinds, regions, classification and dates;
/// never personal data.
pub fn export(view: &ChainView, format: GraphFormat) -> String {
    let mut out = String::new();
    match format {
        GraphFormat::Dot => {
            out.push_str("digraph chain {\n");
            for n in &view.nodes {
                let shape = if n.kind == "case" { "box" } else { "ellipse" };
                let class = n.classification.map(|c| c.name()).unwrap_or("contact");
                out.push_str(&format!(
                    "  {:?} [shape={shape}, label={:?}, region={:?}, class={:?}];\n",
                    n.id,
                    n.id,
                    n.region.as_str(),
                    class
                ));
            }
            for e in &view.edges {
                let style = if e.kind == "transmission" {
                    "solid"
                } else {
                    "dashed"
                };
                out.push_str(&format!(
                    "  {:?} -> {:?} [kind={:?}, style={style}];\n",
                    e.from, e.to, e.kind
                ));
            }
            out.push_str("}\n");
        }
        GraphFormat::GraphMl => {
            out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n");
            for (id, on, name) in [
                ("kind", "node", "kind"),
                ("region", "node", "region"),
                ("classification", "node", "classification"),
                ("onset", "node", "onset"),
                ("ekind", "edge", "kind"),
                ("date", "edge", "date"),
            ] {
                out.push_str(&format!(
                    "  <key id=\"{id}\" for=\"{on}\" attr.name=\"{name}\" attr.type=\"string\"/>\n"
                ));
            }
            out.push_str("  <graph id=\"chain\" edgedefault=\"directed\">\n");
            for n in &view.nodes {
                out.push_str(&format!(
                    "    <node id=\"{}\"><data key=\"kind\">{}</data><data key=\"region\">{}</data>",
                    escape_xml(&n.id),
                    n.kind,
                    n.region
                ));
                if let Some(c) = n.classification {
                    out.push_str(&format!("<data key=\"classification\">{c}</data>"));
                }
                if let Some(d) = n.onset {
                    out.push_str(&format!("<data key=\"onset\">{d}</data>"));
                }
                out.push_str("</node>\n");
            }
            for e in &view.edges {
                out.push_str(&format!(
                    "    <edge source=\"{}\" target=\"{}\"><data key=\"ekind\">{}</data>",
                    escape_xml(&e.from),
                    escape_xml(&e.to),
                    e.kind
                ));
                if let Some(d) = e.date {
                    out.push_str(&format!("<data key=\"date\">{d}</data>"));
                }
                out.push_str("</edge>\n");
            }
            out.push_str("  </graph>\n</graphml>\n");
        }
    }
    out
}
