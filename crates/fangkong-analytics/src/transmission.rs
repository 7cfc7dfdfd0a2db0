//! Transmission chains and clusters: the who-infected-whom graph as pure
//! graph algorithms.
//!
//! People (cases and contacts) are **nodes** with dense `u32` indices
//! `0..n`; the caller maps its own ids to indices and back. A [`Link`] is a
//! directed edge `source → infectee` with an optional day (of exposure or
//! onset, a plain day number) and a [`LinkKind`]: a case–contact link or a
//! confirmed transmission. A person may have several candidate sources.
//!
//! [`TransmissionGraph`] is immutable and built once ([`from_links`],
//! [`from_edges`]) in O(n + m): compressed sparse rows of the links in both
//! directions, and the connected components ("clusters", direction ignored)
//! by union–find. Queries:
//!
//! - [`source_chain`] / [`generation`]: the chain back to an index case (a
//!   node with no source); see *The chosen source* below.
//! - [`within`] / [`Bfs::within`]: everyone within `k` steps, links taken in
//!   both directions, sorted by distance then id. A [`Bfs`] keeps its buffers
//!   (a visited array with an epoch counter), so repeated queries allocate
//!   nothing of size n: the cost is the size of the neighbourhood.
//! - [`cluster_of`], [`cluster`], [`clusters`], [`summarise`] (size, span of
//!   days, distinct regions from per-node attributes the caller passes in).
//! - [`top_spreaders`]: nodes by number of distinct infectees.
//! - [`subgraph`]: a node set with the links among them, exported as DOT or
//!   GraphML; the service layer builds its JSON from [`Subgraph::nodes`] and
//!   [`Subgraph::links`] (this crate knows no JSON).
//!
//! # Cleaning on build
//!
//! - **Self-links** (`a → a`) are data errors — nobody is their own source —
//!   and are dropped; [`TransmissionGraph::self_links`] counts them.
//! - **Parallel links** (the same `source → infectee` more than once, e.g. a
//!   contact link later confirmed as a transmission) are merged into one:
//!   the kind is a transmission if any of them is, the day is the earliest
//!   known. [`TransmissionGraph::merged_links`] counts the links merged away.
//!
//! So each node's out-degree is its number of distinct infectees.
//!
//! # The chosen source
//!
//! Where a node has several sources, its chain follows one, chosen by the
//! first rule that separates them:
//!
//! 1. a confirmed [`LinkKind::Transmission`] before a [`LinkKind::Contact`]
//!    link (confirmation is stronger evidence than exposure);
//! 2. the earliest-dated link, a dated link before an undated one;
//! 3. the smallest source id.
//!
//! The rule depends only on the node's own incoming links, so it is the same
//! whatever order the links were given in.
//!
//! # Cycles
//!
//! A cycle of chosen sources (a infected b infected a) is a data error. The
//! chain walk remembers the nodes it has visited; when the next source is one
//! of them it stops and reports [`ChainEnd::Cycle`] with the repeated node, so
//! a walk never takes more than n steps. Cycles elsewhere in the graph do not
//! affect any query: the search and the components ignore direction.
//!
//! [`from_links`]: TransmissionGraph::from_links
//! [`from_edges`]: TransmissionGraph::from_edges
//! [`source_chain`]: TransmissionGraph::source_chain
//! [`generation`]: TransmissionGraph::generation
//! [`within`]: TransmissionGraph::within
//! [`cluster_of`]: TransmissionGraph::cluster_of
//! [`cluster`]: TransmissionGraph::cluster
//! [`clusters`]: TransmissionGraph::clusters
//! [`summarise`]: TransmissionGraph::summarise
//! [`top_spreaders`]: TransmissionGraph::top_spreaders
//! [`subgraph`]: TransmissionGraph::subgraph

use std::collections::HashSet;
use std::fmt::{self, Write as _};

// ---------------------------------------------------------------------------
// Links and errors
// ---------------------------------------------------------------------------

/// What a link says about a pair of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// The infectee is a close contact of the source (exposure, not proof).
    Contact,
    /// The source is confirmed to have infected the infectee.
    Transmission,
}

impl LinkKind {
    /// `"contact"` or `"transmission"`, as written in the exports.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Contact => "contact",
            LinkKind::Transmission => "transmission",
        }
    }

    /// 0 for the stronger evidence, so that ascending order prefers it.
    fn rank(self) -> u8 {
        match self {
            LinkKind::Transmission => 0,
            LinkKind::Contact => 1,
        }
    }
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A directed link `source → infectee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Link {
    pub source: u32,
    pub infectee: u32,
    /// The day of exposure or onset, as a plain day number.
    pub day: Option<i32>,
    pub kind: LinkKind,
}

impl Link {
    /// An undated confirmed transmission.
    pub fn transmission(source: u32, infectee: u32) -> Self {
        Link {
            source,
            infectee,
            day: None,
            kind: LinkKind::Transmission,
        }
    }

    /// An undated contact link.
    pub fn contact(source: u32, infectee: u32) -> Self {
        Link {
            source,
            infectee,
            day: None,
            kind: LinkKind::Contact,
        }
    }

    /// The same link dated `day`.
    pub fn on(self, day: i32) -> Self {
        Link {
            day: Some(day),
            ..self
        }
    }

    /// The order of preference among a node's sources (smaller first); see
    /// the module documentation.
    fn preference(&self) -> (u8, bool, i32, u32) {
        (
            self.kind.rank(),
            self.day.is_none(),
            self.day.unwrap_or(0),
            self.source,
        )
    }
}

/// A cluster's number. Clusters are numbered `0..cluster_count()` in the
/// order of their smallest member, so the numbering depends only on the
/// graph, not on the order of the links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterId(pub u32);

/// Why a graph could not be built or summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphError {
    /// Node indices are `u32`: at most `u32::MAX` nodes.
    TooManyNodes { nodes: usize },
    /// Link positions are `u32`: at most `u32::MAX` links.
    TooManyLinks { links: usize },
    /// Link number `link` (0-based) names a node outside `0..nodes`.
    NodeOutOfRange {
        link: usize,
        node: u32,
        nodes: usize,
    },
    /// A per-node attribute slice does not have one entry per node.
    AttributeLength {
        attribute: &'static str,
        len: usize,
        nodes: usize,
    },
    /// No cluster has this id.
    UnknownCluster { id: ClusterId },
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::TooManyNodes { nodes } => {
                write!(f, "{nodes} nodes is more than a u32 index can name")
            }
            GraphError::TooManyLinks { links } => {
                write!(f, "{links} links is more than a u32 position can name")
            }
            GraphError::NodeOutOfRange { link, node, nodes } => write!(
                f,
                "link {link} names node {node}, outside the {nodes} nodes of the graph"
            ),
            GraphError::AttributeLength {
                attribute,
                len,
                nodes,
            } => write!(
                f,
                "the {attribute} attribute has {len} entries for {nodes} nodes"
            ),
            GraphError::UnknownCluster { id } => write!(f, "there is no cluster {}", id.0),
        }
    }
}

impl std::error::Error for GraphError {}

// ---------------------------------------------------------------------------
// The graph
// ---------------------------------------------------------------------------

/// The immutable who-infected-whom graph; see the module documentation.
#[derive(Debug, Clone)]
pub struct TransmissionGraph {
    nodes: usize,
    /// Out-links of `v` are positions `out_offsets[v]..out_offsets[v + 1]`,
    /// sorted by infectee.
    out_offsets: Vec<u32>,
    out_targets: Vec<u32>,
    out_days: Vec<Option<i32>>,
    out_kinds: Vec<LinkKind>,
    /// In-links of `v`, sorted by source; `in_links` is the position of the
    /// same link in the `out_*` arrays (for its day and kind).
    in_offsets: Vec<u32>,
    in_sources: Vec<u32>,
    in_links: Vec<u32>,
    /// The cluster number of each node.
    cluster: Vec<u32>,
    /// Members of cluster `c` are `members[member_offsets[c]..member_offsets[c + 1]]`,
    /// ascending.
    member_offsets: Vec<u32>,
    members: Vec<u32>,
    self_links: usize,
    merged_links: usize,
}

/// The range of row `v` in a compressed-sparse-row offsets array.
fn row(offsets: &[u32], v: u32) -> std::ops::Range<usize> {
    let v = v as usize;
    match (offsets.get(v), offsets.get(v + 1)) {
        (Some(&a), Some(&b)) => a as usize..b as usize,
        _ => 0..0,
    }
}

impl TransmissionGraph {
    /// A graph of `nodes` nodes from bare `source → infectee` pairs, each
    /// taken as an undated confirmed transmission.
    pub fn from_edges(nodes: usize, edges: &[(u32, u32)]) -> Result<Self, GraphError> {
        let links: Vec<Link> = edges
            .iter()
            .map(|&(s, t)| Link::transmission(s, t))
            .collect();
        Self::from_links(nodes, &links)
    }

    /// A graph of `nodes` nodes from its links. Refuses a link naming a node
    /// outside `0..nodes`; drops self-links and merges parallel links (see
    /// *Cleaning on build*).
    pub fn from_links(nodes: usize, links: &[Link]) -> Result<Self, GraphError> {
        if u32::try_from(nodes).is_err() {
            return Err(GraphError::TooManyNodes { nodes });
        }
        if u32::try_from(links.len()).is_err() {
            return Err(GraphError::TooManyLinks { links: links.len() });
        }
        for (i, l) in links.iter().enumerate() {
            for node in [l.source, l.infectee] {
                if node as usize >= nodes {
                    return Err(GraphError::NodeOutOfRange {
                        link: i,
                        node,
                        nodes,
                    });
                }
            }
        }

        // Out-rows by counting sort (stable in the input order). Every count
        // and offset fits in u32: there are at most u32::MAX links.
        let mut offsets = vec![0u32; nodes + 1];
        let mut self_links = 0usize;
        for l in links {
            if l.source == l.infectee {
                self_links += 1;
            } else {
                offsets[l.source as usize + 1] += 1;
            }
        }
        for v in 0..nodes {
            offsets[v + 1] += offsets[v];
        }
        let kept = offsets[nodes] as usize;
        let mut cursor = offsets.clone();
        let mut rows: Vec<(u32, LinkKind, Option<i32>)> = vec![(0, LinkKind::Contact, None); kept];
        for l in links {
            if l.source != l.infectee {
                let c = &mut cursor[l.source as usize];
                rows[*c as usize] = (l.infectee, l.kind, l.day);
                *c += 1;
            }
        }
        drop(cursor);

        // Sort each row by infectee and merge parallel links.
        let mut out_offsets = Vec::with_capacity(nodes + 1);
        let mut out_targets = Vec::with_capacity(kept);
        let mut out_days: Vec<Option<i32>> = Vec::with_capacity(kept);
        let mut out_kinds: Vec<LinkKind> = Vec::with_capacity(kept);
        out_offsets.push(0u32);
        for v in 0..nodes {
            let r = &mut rows[offsets[v] as usize..offsets[v + 1] as usize];
            r.sort_unstable_by_key(|&(t, _, _)| t);
            let row_start = out_targets.len();
            for &(t, kind, day) in r.iter() {
                if out_targets.len() > row_start && out_targets.last() == Some(&t) {
                    if let (Some(k), Some(d)) = (out_kinds.last_mut(), out_days.last_mut()) {
                        if kind == LinkKind::Transmission {
                            *k = LinkKind::Transmission;
                        }
                        *d = match (*d, day) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                    }
                } else {
                    out_targets.push(t);
                    out_kinds.push(kind);
                    out_days.push(day);
                }
            }
            out_offsets.push(out_targets.len() as u32);
        }
        drop(rows);
        drop(offsets);
        let m = out_targets.len();
        let merged_links = kept - m;

        // In-rows: walking sources in ascending order sorts each row by source.
        let mut in_offsets = vec![0u32; nodes + 1];
        for &t in &out_targets {
            in_offsets[t as usize + 1] += 1;
        }
        for v in 0..nodes {
            in_offsets[v + 1] += in_offsets[v];
        }
        let mut cursor = in_offsets.clone();
        let mut in_sources = vec![0u32; m];
        let mut in_links = vec![0u32; m];
        for s in 0..nodes {
            for e in out_offsets[s] as usize..out_offsets[s + 1] as usize {
                let c = &mut cursor[out_targets[e] as usize];
                in_sources[*c as usize] = s as u32;
                in_links[*c as usize] = e as u32;
                *c += 1;
            }
        }
        drop(cursor);

        let (cluster, member_offsets, members) = components(nodes, &out_offsets, &out_targets);

        Ok(TransmissionGraph {
            nodes,
            out_offsets,
            out_targets,
            out_days,
            out_kinds,
            in_offsets,
            in_sources,
            in_links,
            cluster,
            member_offsets,
            members,
            self_links,
            merged_links,
        })
    }

    /// The number of nodes, `n`.
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// The number of links kept (after dropping self-links and merging
    /// parallel ones).
    pub fn link_count(&self) -> usize {
        self.out_targets.len()
    }

    /// Self-links dropped on build.
    pub fn self_links(&self) -> usize {
        self.self_links
    }

    /// Parallel links merged into another on build.
    pub fn merged_links(&self) -> usize {
        self.merged_links
    }

    /// Whether `node` is a node of this graph.
    pub fn contains(&self, node: u32) -> bool {
        (node as usize) < self.nodes
    }

    /// The heap memory the graph holds, in bytes.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        (self.out_offsets.capacity()
            + self.out_targets.capacity()
            + self.in_offsets.capacity()
            + self.in_sources.capacity()
            + self.in_links.capacity()
            + self.cluster.capacity()
            + self.member_offsets.capacity()
            + self.members.capacity())
            * size_of::<u32>()
            + self.out_days.capacity() * size_of::<Option<i32>>()
            + self.out_kinds.capacity() * size_of::<LinkKind>()
    }

    fn out_link(&self, e: usize) -> Option<Link> {
        Some(Link {
            source: 0,
            infectee: *self.out_targets.get(e)?,
            day: *self.out_days.get(e)?,
            kind: *self.out_kinds.get(e)?,
        })
    }

    /// The links out of `node` (to its distinct infectees), by infectee.
    /// Empty for an unknown node.
    pub fn infectees(&self, node: u32) -> impl Iterator<Item = Link> + '_ {
        row(&self.out_offsets, node)
            .filter_map(move |e| self.out_link(e).map(|l| Link { source: node, ..l }))
    }

    /// The links into `node` (from its candidate sources), by source. Empty
    /// for an unknown node.
    pub fn sources(&self, node: u32) -> impl Iterator<Item = Link> + '_ {
        row(&self.in_offsets, node).filter_map(move |i| {
            let source = *self.in_sources.get(i)?;
            let e = *self.in_links.get(i)? as usize;
            self.out_link(e).map(|l| Link { source, ..l })
        })
    }

    /// The source a chain follows out of `node` (see *The chosen source*);
    /// `None` for an index case or an unknown node.
    pub fn chosen_source(&self, node: u32) -> Option<u32> {
        self.sources(node)
            .min_by_key(Link::preference)
            .map(|l| l.source)
    }

    /// The chain from `node` back to its index case, following the chosen
    /// source at each step; `None` for an unknown node. Takes at most n steps
    /// (a cycle is reported, not followed).
    pub fn source_chain(&self, node: u32) -> Option<SourceChain> {
        if !self.contains(node) {
            return None;
        }
        let mut nodes = vec![node];
        let mut seen = HashSet::from([node]);
        let mut at = node;
        while let Some(next) = self.chosen_source(at) {
            if !seen.insert(next) {
                return Some(SourceChain {
                    nodes,
                    end: ChainEnd::Cycle { repeated: next },
                });
            }
            nodes.push(next);
            at = next;
        }
        Some(SourceChain {
            nodes,
            end: ChainEnd::IndexCase,
        })
    }

    /// The generation of `node`: 0 for an index case, else the number of
    /// steps of its source chain. `None` for an unknown node or a chain that
    /// runs into a cycle.
    pub fn generation(&self, node: u32) -> Option<u32> {
        self.source_chain(node)?.generation()
    }

    /// Everyone within `k` steps of `node`, links taken in both directions,
    /// as `(node, distance)` sorted by distance then id; `node` itself comes
    /// first at distance 0. Empty for an unknown node.
    ///
    /// This allocates a visited array of n entries; for repeated queries keep
    /// a [`Bfs`] and call [`Bfs::within`].
    pub fn within(&self, node: u32, k: u32) -> Vec<(u32, u32)> {
        let mut bfs = Bfs::new(self);
        bfs.within(self, node, k).to_vec()
    }

    /// The number of clusters.
    pub fn cluster_count(&self) -> usize {
        self.member_offsets.len().saturating_sub(1)
    }

    /// The cluster of `node`; `None` for an unknown node.
    pub fn cluster_of(&self, node: u32) -> Option<ClusterId> {
        self.cluster.get(node as usize).map(|&c| ClusterId(c))
    }

    /// The cluster numbered `id`, with its members; `None` for an unknown id.
    pub fn cluster(&self, id: ClusterId) -> Option<Cluster<'_>> {
        let members = self.members.get(row(&self.member_offsets, id.0))?;
        if members.is_empty() {
            return None;
        }
        Some(Cluster { id, members })
    }

    /// The cluster of `node`, with its members; `None` for an unknown node.
    pub fn cluster_containing(&self, node: u32) -> Option<Cluster<'_>> {
        self.cluster(self.cluster_of(node)?)
    }

    /// Every cluster, by id (isolated nodes are clusters of one).
    pub fn clusters(&self) -> impl ExactSizeIterator<Item = Cluster<'_>> + '_ {
        (0..self.cluster_count()).map(move |c| {
            let r = row(&self.member_offsets, c as u32);
            Cluster {
                id: ClusterId(c as u32),
                members: self.members.get(r).unwrap_or(&[]),
            }
        })
    }

    fn check_attributes(&self, regions: &[u32], days: &[Option<i32>]) -> Result<(), GraphError> {
        for (attribute, len) in [("region", regions.len()), ("day", days.len())] {
            if len != self.nodes {
                return Err(GraphError::AttributeLength {
                    attribute,
                    len,
                    nodes: self.nodes,
                });
            }
        }
        Ok(())
    }

    /// A cluster's size, span of days and distinct regions, given one region
    /// index and one optional day per node (`regions[v]`, `days[v]`).
    pub fn summarise(
        &self,
        id: ClusterId,
        regions: &[u32],
        days: &[Option<i32>],
    ) -> Result<ClusterSummary, GraphError> {
        self.check_attributes(regions, days)?;
        let cluster = self.cluster(id).ok_or(GraphError::UnknownCluster { id })?;
        Ok(summary(cluster, regions, days))
    }

    /// The summaries of every cluster of at least `min_size` members, the
    /// largest first (ties by id). See [`summarise`](Self::summarise).
    pub fn summarise_clusters(
        &self,
        min_size: usize,
        regions: &[u32],
        days: &[Option<i32>],
    ) -> Result<Vec<ClusterSummary>, GraphError> {
        self.check_attributes(regions, days)?;
        let mut out: Vec<ClusterSummary> = self
            .clusters()
            .filter(|c| c.size() >= min_size)
            .map(|c| summary(c, regions, days))
            .collect();
        out.sort_unstable_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// The `limit` nodes with the most distinct infectees (any kind of
    /// link), as `(node, infectees)`, the most first, ties by id. Nodes
    /// without infectees are never listed.
    pub fn top_spreaders(&self, limit: usize) -> Vec<(u32, u32)> {
        self.top_by(limit, |v| row(&self.out_offsets, v).len() as u32)
    }

    /// As [`top_spreaders`](Self::top_spreaders), counting only links of
    /// `kind` (e.g. confirmed transmissions, the secondary cases proper).
    pub fn top_spreaders_by_kind(&self, limit: usize, kind: LinkKind) -> Vec<(u32, u32)> {
        self.top_by(limit, |v| {
            self.out_kinds
                .get(row(&self.out_offsets, v))
                .map_or(0, |ks| ks.iter().filter(|&&k| k == kind).count() as u32)
        })
    }

    fn top_by(&self, limit: usize, count: impl Fn(u32) -> u32) -> Vec<(u32, u32)> {
        if limit == 0 {
            return Vec::new();
        }
        let mut all: Vec<(u32, u32)> = (0..self.nodes as u32)
            .map(|v| (v, count(v)))
            .filter(|&(_, c)| c > 0)
            .collect();
        let order = |a: &(u32, u32), b: &(u32, u32)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if all.len() > limit {
            all.select_nth_unstable_by(limit - 1, order);
            all.truncate(limit);
        }
        all.sort_unstable_by(order);
        all
    }

    /// The nodes given (unknown ones ignored, duplicates once) and the links
    /// among them.
    pub fn subgraph(&self, nodes: impl IntoIterator<Item = u32>) -> Subgraph<'_> {
        let mut nodes: Vec<u32> = nodes.into_iter().filter(|&v| self.contains(v)).collect();
        nodes.sort_unstable();
        nodes.dedup();
        Subgraph { graph: self, nodes }
    }
}

/// Union–find with path halving; the root of a set is always its smallest
/// member (the larger root is linked under the smaller), so numbering roots
/// in ascending order numbers clusters by their smallest member.
fn components(
    nodes: usize,
    out_offsets: &[u32],
    out_targets: &[u32],
) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    fn find(parent: &mut [u32], mut v: u32) -> u32 {
        while parent[v as usize] != v {
            let grand = parent[parent[v as usize] as usize];
            parent[v as usize] = grand;
            v = grand;
        }
        v
    }
    let mut parent: Vec<u32> = (0..nodes as u32).collect();
    for s in 0..nodes {
        for &t in &out_targets[out_offsets[s] as usize..out_offsets[s + 1] as usize] {
            let a = find(&mut parent, s as u32);
            let b = find(&mut parent, t);
            if a != b {
                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                parent[hi as usize] = lo;
            }
        }
    }
    // Point every node at its root, then, in place and in ascending order,
    // replace roots by new numbers and others by their root's number (a root
    // is never larger than its members, so it has been numbered already).
    for v in 0..nodes as u32 {
        let r = find(&mut parent, v);
        parent[v as usize] = r;
    }
    let mut count = 0u32;
    for v in 0..nodes {
        let r = parent[v] as usize;
        parent[v] = if r == v {
            count += 1;
            count - 1
        } else {
            parent[r]
        };
    }
    let cluster = parent;
    let mut offsets = vec![0u32; count as usize + 1];
    for &c in &cluster {
        offsets[c as usize + 1] += 1;
    }
    for c in 0..count as usize {
        offsets[c + 1] += offsets[c];
    }
    let mut cursor = offsets.clone();
    let mut members = vec![0u32; nodes];
    for (v, &c) in cluster.iter().enumerate() {
        let p = &mut cursor[c as usize];
        members[*p as usize] = v as u32;
        *p += 1;
    }
    (cluster, offsets, members)
}

fn summary(cluster: Cluster<'_>, regions: &[u32], days: &[Option<i32>]) -> ClusterSummary {
    let mut first_day: Option<i32> = None;
    let mut last_day: Option<i32> = None;
    let mut undated = 0u32;
    let mut rs = Vec::new();
    for &v in cluster.members {
        match days.get(v as usize).copied().flatten() {
            Some(d) => {
                first_day = Some(first_day.map_or(d, |f| f.min(d)));
                last_day = Some(last_day.map_or(d, |l| l.max(d)));
            }
            None => undated += 1,
        }
        if let Some(&r) = regions.get(v as usize) {
            rs.push(r);
        }
    }
    rs.sort_unstable();
    rs.dedup();
    ClusterSummary {
        id: cluster.id,
        size: cluster.members.len() as u32,
        first_day,
        last_day,
        undated,
        regions: rs,
    }
}

// ---------------------------------------------------------------------------
// Query results
// ---------------------------------------------------------------------------

/// How a source chain ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainEnd {
    /// The last node has no source: it is the index case.
    IndexCase,
    /// The last node's chosen source, `repeated`, is already in the chain: a
    /// cycle (a data error). The cycle runs from `repeated` to the last node.
    Cycle { repeated: u32 },
}

/// A chain of chosen sources: `nodes[0]` is the node asked about,
/// `nodes[i + 1]` the chosen source of `nodes[i]`; the nodes are distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceChain {
    pub nodes: Vec<u32>,
    pub end: ChainEnd,
}

impl SourceChain {
    /// The index case, unless the chain ends in a cycle.
    pub fn index_case(&self) -> Option<u32> {
        match self.end {
            ChainEnd::IndexCase => self.nodes.last().copied(),
            ChainEnd::Cycle { .. } => None,
        }
    }

    /// The number of steps to the index case, unless the chain ends in a
    /// cycle.
    pub fn generation(&self) -> Option<u32> {
        match self.end {
            ChainEnd::IndexCase => u32::try_from(self.nodes.len().saturating_sub(1)).ok(),
            ChainEnd::Cycle { .. } => None,
        }
    }
}

/// A connected group of nodes (links taken in both directions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cluster<'g> {
    pub id: ClusterId,
    /// Ascending node indices.
    pub members: &'g [u32],
}

impl Cluster<'_> {
    pub fn size(&self) -> usize {
        self.members.len()
    }
}

/// What [`TransmissionGraph::summarise`] says of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSummary {
    pub id: ClusterId,
    pub size: u32,
    /// The earliest and latest known day among the members.
    pub first_day: Option<i32>,
    pub last_day: Option<i32>,
    /// Members without a day.
    pub undated: u32,
    /// The distinct region indices of the members, ascending.
    pub regions: Vec<u32>,
}

// ---------------------------------------------------------------------------
// Breadth-first search with reusable buffers
// ---------------------------------------------------------------------------

/// Scratch space for [`Bfs::within`]: a visited mark per node holding the
/// number (epoch) of the query that set it, so a new query starts by
/// incrementing the epoch instead of clearing n entries. Allocate one per
/// thread and reuse it.
#[derive(Debug, Clone, Default)]
pub struct Bfs {
    seen: Vec<u32>,
    epoch: u32,
    found: Vec<(u32, u32)>,
}

impl Bfs {
    /// Buffers for queries on `graph` (they grow if used on a larger one).
    pub fn new(graph: &TransmissionGraph) -> Self {
        Bfs {
            seen: vec![0; graph.node_count()],
            epoch: 0,
            found: Vec::new(),
        }
    }

    /// As [`TransmissionGraph::within`], into this scratch space: the result
    /// lives until the next query.
    pub fn within(&mut self, graph: &TransmissionGraph, node: u32, k: u32) -> &[(u32, u32)] {
        self.found.clear();
        if !graph.contains(node) {
            return &self.found;
        }
        if self.seen.len() < graph.node_count() {
            self.seen.resize(graph.node_count(), 0);
        }
        if self.epoch == u32::MAX {
            self.seen.fill(0);
            self.epoch = 0;
        }
        self.epoch += 1;
        let epoch = self.epoch;
        let seen = &mut self.seen;
        let found = &mut self.found;

        seen[node as usize] = epoch;
        found.push((node, 0));
        let mut start = 0;
        for d in 1..=k {
            let end = found.len();
            if start == end {
                break;
            }
            for i in start..end {
                let v = found[i].0;
                let outs = &graph.out_targets[row(&graph.out_offsets, v)];
                let ins = &graph.in_sources[row(&graph.in_offsets, v)];
                for &w in outs.iter().chain(ins) {
                    let mark = &mut seen[w as usize];
                    if *mark != epoch {
                        *mark = epoch;
                        found.push((w, d));
                    }
                }
            }
            found[end..].sort_unstable();
            start = end;
        }
        &self.found
    }
}

// ---------------------------------------------------------------------------
// Subgraphs and their exports
// ---------------------------------------------------------------------------

/// A set of nodes of a graph and the links among them (both ends in the
/// set), for export.
#[derive(Debug, Clone)]
pub struct Subgraph<'g> {
    graph: &'g TransmissionGraph,
    nodes: Vec<u32>,
}

impl Subgraph<'_> {
    /// The nodes, ascending.
    pub fn nodes(&self) -> &[u32] {
        &self.nodes
    }

    pub fn contains(&self, node: u32) -> bool {
        self.nodes.binary_search(&node).is_ok()
    }

    /// The links with both ends in the subgraph, by source then infectee.
    pub fn links(&self) -> impl Iterator<Item = Link> + '_ {
        self.nodes.iter().flat_map(move |&v| {
            self.graph
                .infectees(v)
                .filter(move |l| self.contains(l.infectee))
        })
    }

    /// Graphviz DOT: node `v` is `n{v}` with the caller's label; a contact
    /// link is dashed; links carry their `kind` and, if known, `day`.
    pub fn to_dot(&self, label: impl Fn(u32) -> String) -> String {
        let mut out = String::from("digraph transmission {\n");
        for &v in &self.nodes {
            let _ = writeln!(out, "  n{v} [label=\"{}\"];", dot_escape(&label(v)));
        }
        for l in self.links() {
            let _ = write!(
                out,
                "  n{} -> n{} [kind=\"{}\"",
                l.source, l.infectee, l.kind
            );
            if let Some(d) = l.day {
                let _ = write!(out, ", day={d}");
            }
            if l.kind == LinkKind::Contact {
                out.push_str(", style=dashed");
            }
            out.push_str("];\n");
        }
        out.push_str("}\n");
        out
    }

    /// GraphML (XML): node `v` has id `n{v}` and a `label`; each edge a
    /// `kind` and, if known, a `day`.
    pub fn to_graphml(&self, label: impl Fn(u32) -> String) -> String {
        let mut out = String::from(concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\"",
            " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
            " xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns",
            " http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
            "  <key id=\"label\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>\n",
            "  <key id=\"kind\" for=\"edge\" attr.name=\"kind\" attr.type=\"string\"/>\n",
            "  <key id=\"day\" for=\"edge\" attr.name=\"day\" attr.type=\"int\"/>\n",
            "  <graph id=\"transmission\" edgedefault=\"directed\">\n",
        ));
        for &v in &self.nodes {
            let _ = writeln!(
                out,
                "    <node id=\"n{v}\"><data key=\"label\">{}</data></node>",
                xml_escape(&label(v))
            );
        }
        for (i, l) in self.links().enumerate() {
            let _ = write!(
                out,
                "    <edge id=\"e{i}\" source=\"n{}\" target=\"n{}\"><data key=\"kind\">{}</data>",
                l.source, l.infectee, l.kind
            );
            if let Some(d) = l.day {
                let _ = write!(out, "<data key=\"day\">{d}</data>");
            }
            out.push_str("</edge>\n");
        }
        out.push_str("  </graph>\n</graphml>\n");
        out
    }
}

/// The text of a DOT quoted string: `"` and `\` escaped, line breaks as
/// `\n`, other control characters dropped.
fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// XML character data or attribute text: the five special characters as
/// entities; characters XML 1.0 forbids (controls other than tab, line feed
/// and carriage return; U+FFFE, U+FFFF) dropped.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The hand-drawn graph. T = confirmed transmission, c = contact link,
    // [d] = day.
    //
    //   A0 ─T[1]─▶ B1 ─T[7]─▶ J9 ◀─T[5]─ E4        (A→B given twice: c[1] and
    //   │           └──c───▶ K10 ◀──c─── D3          T[2], merged to T[1])
    //   └─T[3]─▶ C2 ─T[6]─▶ D3 ─c[9]─▶ I8
    //            └──T[7]─▶ E4 ─T[10]─▶ F5 ─T[12]─▶ I8   (F→F: self-link, dropped)
    //
    //   G6 ─T[20]─▶ H7                                  a second cluster
    //
    //   X11 ─T[30]─▶ Y12 ─T[31]─▶ Z13 ─T[32]─▶ X11      a cycle (data error)
    //                              └──T[33]─▶ W14
    //
    //   V15                                             alone
    //
    // Two sources: I8 ← D3 (contact, day 9) and F5 (transmission, day 12):
    // the transmission wins. J9 ← B1 (day 7) and E4 (day 5), both
    // transmissions: the earlier wins. K10 ← B1 and D3, undated contacts:
    // the smaller id wins.
    const A: u32 = 0;
    const B: u32 = 1;
    const C: u32 = 2;
    const D: u32 = 3;
    const E: u32 = 4;
    const F: u32 = 5;
    const G: u32 = 6;
    const H: u32 = 7;
    const I: u32 = 8;
    const J: u32 = 9;
    const K: u32 = 10;
    const X: u32 = 11;
    const Y: u32 = 12;
    const Z: u32 = 13;
    const W: u32 = 14;
    const V: u32 = 15;
    const NAMES: [&str; 16] = [
        "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "X", "Y", "Z", "W", "V",
    ];

    fn links() -> Vec<Link> {
        vec![
            Link::contact(A, B).on(1),
            Link::transmission(A, B).on(2),
            Link::transmission(A, C).on(3),
            Link::transmission(C, D).on(6),
            Link::transmission(C, E).on(7),
            Link::transmission(E, F).on(10),
            Link::transmission(G, H).on(20),
            Link::contact(D, I).on(9),
            Link::transmission(F, I).on(12),
            Link::transmission(B, J).on(7),
            Link::transmission(E, J).on(5),
            Link::contact(D, K),
            Link::contact(B, K),
            Link::transmission(X, Y).on(30),
            Link::transmission(Y, Z).on(31),
            Link::transmission(Z, X).on(32),
            Link::transmission(Z, W).on(33),
            Link::transmission(F, F).on(11),
        ]
    }

    fn graph() -> TransmissionGraph {
        match TransmissionGraph::from_links(16, &links()) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    fn chain(nodes: &[u32]) -> SourceChain {
        SourceChain {
            nodes: nodes.to_vec(),
            end: ChainEnd::IndexCase,
        }
    }

    #[test]
    fn build_cleans_self_and_parallel_links() {
        let g = graph();
        assert_eq!(g.node_count(), 16);
        assert_eq!(g.self_links(), 1);
        assert_eq!(g.merged_links(), 1);
        assert_eq!(g.link_count(), 16);
        let ab: Vec<Link> = g.infectees(A).collect();
        assert_eq!(
            ab,
            vec![
                Link::transmission(A, B).on(1),
                Link::transmission(A, C).on(3)
            ]
        );
        assert_eq!(
            g.infectees(F).collect::<Vec<_>>(),
            vec![Link::transmission(F, I).on(12)]
        );
        assert_eq!(
            g.sources(I).collect::<Vec<_>>(),
            vec![Link::contact(D, I).on(9), Link::transmission(F, I).on(12)]
        );
        assert_eq!(g.sources(99).count(), 0);
        assert_eq!(g.infectees(99).count(), 0);
    }

    #[test]
    fn out_of_range_links_are_refused() {
        assert_eq!(
            TransmissionGraph::from_edges(3, &[(0, 1), (1, 3)]).err(),
            Some(GraphError::NodeOutOfRange {
                link: 1,
                node: 3,
                nodes: 3
            })
        );
        assert_eq!(
            TransmissionGraph::from_edges(0, &[(0, 0)]).err(),
            Some(GraphError::NodeOutOfRange {
                link: 0,
                node: 0,
                nodes: 0
            })
        );
        let err = GraphError::NodeOutOfRange {
            link: 1,
            node: 3,
            nodes: 3,
        };
        assert_eq!(
            err.to_string(),
            "link 1 names node 3, outside the 3 nodes of the graph"
        );
    }

    #[test]
    fn the_empty_graph_answers_every_query() {
        let g = match TransmissionGraph::from_edges(0, &[]) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(g.cluster_count(), 0);
        assert_eq!(g.source_chain(0), None);
        assert_eq!(g.generation(0), None);
        assert!(g.within(0, 3).is_empty());
        assert_eq!(g.cluster_of(0), None);
        assert_eq!(g.cluster(ClusterId(0)), None);
        assert!(g.top_spreaders(5).is_empty());
        assert_eq!(g.summarise_clusters(1, &[], &[]), Ok(vec![]));
        assert_eq!(g.subgraph([0, 1]).nodes(), &[] as &[u32]);
    }

    #[test]
    fn source_chains_follow_the_chosen_source() {
        let g = graph();
        assert_eq!(g.source_chain(A), Some(chain(&[A])));
        assert_eq!(g.source_chain(B), Some(chain(&[B, A])));
        assert_eq!(g.source_chain(C), Some(chain(&[C, A])));
        assert_eq!(g.source_chain(D), Some(chain(&[D, C, A])));
        assert_eq!(g.source_chain(E), Some(chain(&[E, C, A])));
        assert_eq!(g.source_chain(F), Some(chain(&[F, E, C, A])));
        // Transmission before contact, although the contact is earlier.
        assert_eq!(g.source_chain(I), Some(chain(&[I, F, E, C, A])));
        // The earlier of two transmissions.
        assert_eq!(g.source_chain(J), Some(chain(&[J, E, C, A])));
        // The smaller id of two undated contacts.
        assert_eq!(g.source_chain(K), Some(chain(&[K, B, A])));
        assert_eq!(g.source_chain(H), Some(chain(&[H, G])));
        assert_eq!(g.source_chain(V), Some(chain(&[V])));
        assert_eq!(g.source_chain(16), None);
        assert_eq!(g.chosen_source(I), Some(F));
        assert_eq!(g.chosen_source(A), None);
        assert_eq!(g.chosen_source(F), Some(E)); // the self-link is gone
    }

    #[test]
    fn a_cycle_stops_the_chain_and_is_reported() {
        let g = graph();
        assert_eq!(
            g.source_chain(W),
            Some(SourceChain {
                nodes: vec![W, Z, Y, X],
                end: ChainEnd::Cycle { repeated: Z },
            })
        );
        assert_eq!(
            g.source_chain(X),
            Some(SourceChain {
                nodes: vec![X, Z, Y],
                end: ChainEnd::Cycle { repeated: X },
            })
        );
        assert_eq!(g.generation(W), None);
        assert_eq!(g.source_chain(W).and_then(|c| c.index_case()), None);
    }

    #[test]
    fn generations() {
        let g = graph();
        let gens: Vec<Option<u32>> = (0..17).map(|v| g.generation(v)).collect();
        assert_eq!(
            gens,
            vec![
                Some(0), // A
                Some(1), // B
                Some(1), // C
                Some(2), // D
                Some(2), // E
                Some(3), // F
                Some(0), // G
                Some(1), // H
                Some(4), // I
                Some(3), // J
                Some(2), // K
                None,    // X, in the cycle
                None,    // Y
                None,    // Z
                None,    // W, after the cycle
                Some(0), // V
                None,    // unknown
            ]
        );
        assert_eq!(g.source_chain(I).and_then(|c| c.index_case()), Some(A));
    }

    #[test]
    fn within_k_steps_both_directions() {
        let g = graph();
        assert_eq!(g.within(A, 0), vec![(A, 0)]);
        assert_eq!(g.within(A, 1), vec![(A, 0), (B, 1), (C, 1)]);
        assert_eq!(
            g.within(A, 2),
            vec![(A, 0), (B, 1), (C, 1), (D, 2), (E, 2), (J, 2), (K, 2)]
        );
        let all = vec![
            (A, 0),
            (B, 1),
            (C, 1),
            (D, 2),
            (E, 2),
            (J, 2),
            (K, 2),
            (F, 3),
            (I, 3),
        ];
        assert_eq!(g.within(A, 3), all);
        assert_eq!(g.within(A, u32::MAX), all);
        // Upstream too: C's source A is one step away.
        assert_eq!(g.within(C, 1), vec![(C, 0), (A, 1), (D, 1), (E, 1)]);
        assert_eq!(g.within(W, 2), vec![(W, 0), (Z, 1), (X, 2), (Y, 2)]);
        assert_eq!(g.within(V, 5), vec![(V, 0)]);
        assert_eq!(g.within(16, 5), vec![]);
    }

    #[test]
    fn bfs_reuses_its_buffers_across_queries_and_epoch_wrap() {
        let g = graph();
        let mut bfs = Bfs::new(&g);
        for _ in 0..3 {
            assert_eq!(bfs.within(&g, G, 3), &[(G, 0), (H, 1)]);
            assert_eq!(bfs.within(&g, A, 1), &[(A, 0), (B, 1), (C, 1)]);
        }
        bfs.epoch = u32::MAX - 1;
        assert_eq!(bfs.within(&g, A, 1), &[(A, 0), (B, 1), (C, 1)]);
        assert_eq!(bfs.epoch, u32::MAX);
        assert_eq!(bfs.within(&g, A, 1), &[(A, 0), (B, 1), (C, 1)]);
        assert_eq!(bfs.epoch, 1);
        // A scratch space made for a smaller graph grows.
        let mut small = Bfs::default();
        assert_eq!(small.within(&g, H, 1), &[(H, 0), (G, 1)]);
        assert_eq!(small.within(&g, 99, 1), &[] as &[(u32, u32)]);
    }

    #[test]
    fn clusters_ignore_direction() {
        let g = graph();
        assert_eq!(g.cluster_count(), 4);
        let ids: Vec<u32> = (0..16)
            .filter_map(|v| g.cluster_of(v))
            .map(|c| c.0)
            .collect();
        assert_eq!(ids, vec![0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 2, 2, 2, 2, 3]);
        assert_eq!(g.cluster_of(16), None);
        let all: Vec<(u32, Vec<u32>)> =
            g.clusters().map(|c| (c.id.0, c.members.to_vec())).collect();
        assert_eq!(
            all,
            vec![
                (0, vec![A, B, C, D, E, F, I, J, K]),
                (1, vec![G, H]),
                (2, vec![X, Y, Z, W]),
                (3, vec![V]),
            ]
        );
        assert_eq!(g.cluster_containing(W).map(|c| c.size()), Some(4));
        assert_eq!(g.cluster(ClusterId(4)), None);
        assert_eq!(g.cluster_containing(16), None);
    }

    #[test]
    fn cluster_summaries() {
        let g = graph();
        //               A   B   C   D   E   F   G   H   I   J   K   X   Y   Z   W   V
        let regions = [
            10, 10, 10, 20, 20, 30, 40, 40, 20, 10, 30, 50, 50, 50, 50, 60,
        ];
        let days = [
            Some(0),
            Some(3),
            Some(4),
            Some(8),
            Some(9),
            Some(13),
            Some(20),
            Some(24),
            None,
            Some(8),
            None,
            Some(30),
            Some(32),
            Some(33),
            Some(35),
            None,
        ];
        let first = ClusterSummary {
            id: ClusterId(0),
            size: 9,
            first_day: Some(0),
            last_day: Some(13),
            undated: 2,
            regions: vec![10, 20, 30],
        };
        assert_eq!(
            g.summarise(ClusterId(0), &regions, &days),
            Ok(first.clone())
        );
        assert_eq!(
            g.summarise(ClusterId(3), &regions, &days),
            Ok(ClusterSummary {
                id: ClusterId(3),
                size: 1,
                first_day: None,
                last_day: None,
                undated: 1,
                regions: vec![60],
            })
        );
        let big = g.summarise_clusters(2, &regions, &days);
        assert_eq!(
            big,
            Ok(vec![
                first,
                ClusterSummary {
                    id: ClusterId(2),
                    size: 4,
                    first_day: Some(30),
                    last_day: Some(35),
                    undated: 0,
                    regions: vec![50],
                },
                ClusterSummary {
                    id: ClusterId(1),
                    size: 2,
                    first_day: Some(20),
                    last_day: Some(24),
                    undated: 0,
                    regions: vec![40],
                },
            ])
        );
        assert_eq!(
            g.summarise(ClusterId(4), &regions, &days),
            Err(GraphError::UnknownCluster { id: ClusterId(4) })
        );
        assert_eq!(
            g.summarise(ClusterId(0), &regions[..3], &days),
            Err(GraphError::AttributeLength {
                attribute: "region",
                len: 3,
                nodes: 16
            })
        );
        assert_eq!(
            g.summarise_clusters(1, &regions, &days[1..]).err(),
            Some(GraphError::AttributeLength {
                attribute: "day",
                len: 15,
                nodes: 16
            })
        );
    }

    #[test]
    fn top_spreaders_by_distinct_infectees() {
        let g = graph();
        assert_eq!(g.top_spreaders(0), vec![]);
        assert_eq!(g.top_spreaders(3), vec![(A, 2), (B, 2), (C, 2)]);
        assert_eq!(
            g.top_spreaders(100),
            vec![
                (A, 2),
                (B, 2),
                (C, 2),
                (D, 2),
                (E, 2),
                (Z, 2),
                (F, 1),
                (G, 1),
                (X, 1),
                (Y, 1)
            ]
        );
        assert_eq!(
            g.top_spreaders_by_kind(4, LinkKind::Transmission),
            vec![(A, 2), (C, 2), (E, 2), (Z, 2)]
        );
        assert_eq!(
            g.top_spreaders_by_kind(10, LinkKind::Contact),
            vec![(D, 2), (B, 1)]
        );
    }

    #[test]
    fn subgraph_links_and_dot() {
        let g = graph();
        let s = g.subgraph([K, D, B, A, 99, B]);
        assert_eq!(s.nodes(), &[A, B, D, K]);
        assert_eq!(
            s.links().collect::<Vec<_>>(),
            vec![
                Link::transmission(A, B).on(1),
                Link::contact(B, K),
                Link::contact(D, K)
            ]
        );
        let label = |v: u32| match v {
            A => "A \"index\" \\ <&>\nline2".to_string(),
            _ => NAMES[v as usize].to_string(),
        };
        assert_eq!(
            s.to_dot(label),
            concat!(
                "digraph transmission {\n",
                "  n0 [label=\"A \\\"index\\\" \\\\ <&>\\nline2\"];\n",
                "  n1 [label=\"B\"];\n",
                "  n3 [label=\"D\"];\n",
                "  n10 [label=\"K\"];\n",
                "  n0 -> n1 [kind=\"transmission\", day=1];\n",
                "  n1 -> n10 [kind=\"contact\", style=dashed];\n",
                "  n3 -> n10 [kind=\"contact\", style=dashed];\n",
                "}\n",
            )
        );
    }

    #[test]
    fn subgraph_graphml_escapes_labels() {
        let g = graph();
        let s = g.subgraph([A, B]);
        let label = |v: u32| match v {
            A => "<A & 'B' \"C\">\u{1}\u{FFFF}\t甲".to_string(),
            _ => NAMES[v as usize].to_string(),
        };
        assert_eq!(
            s.to_graphml(label),
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\"",
                " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
                " xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns",
                " http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
                "  <key id=\"label\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>\n",
                "  <key id=\"kind\" for=\"edge\" attr.name=\"kind\" attr.type=\"string\"/>\n",
                "  <key id=\"day\" for=\"edge\" attr.name=\"day\" attr.type=\"int\"/>\n",
                "  <graph id=\"transmission\" edgedefault=\"directed\">\n",
                "    <node id=\"n0\"><data key=\"label\">&lt;A &amp; &apos;B&apos; &quot;C&quot;&gt;\t甲</data></node>\n",
                "    <node id=\"n1\"><data key=\"label\">B</data></node>\n",
                "    <edge id=\"e0\" source=\"n0\" target=\"n1\"><data key=\"kind\">transmission</data><data key=\"day\">1</data></edge>\n",
                "  </graph>\n",
                "</graphml>\n",
            )
        );
        let undated = TransmissionGraph::from_links(2, &[Link::contact(0, 1)]);
        let xml = undated.map(|g| g.subgraph([0, 1]).to_graphml(|v| v.to_string()));
        assert!(xml.is_ok_and(|x| x.contains(
            "<edge id=\"e0\" source=\"n0\" target=\"n1\"><data key=\"kind\">contact</data></edge>"
        )));
    }

    #[test]
    fn link_order_does_not_change_answers() {
        let g = graph();
        let mut reversed = links();
        reversed.reverse();
        let r = match TransmissionGraph::from_links(16, &reversed) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        for v in 0..16 {
            assert_eq!(g.source_chain(v), r.source_chain(v));
            assert_eq!(g.within(v, 4), r.within(v, 4));
            assert_eq!(g.cluster_of(v), r.cluster_of(v));
            assert_eq!(
                g.infectees(v).collect::<Vec<_>>(),
                r.infectees(v).collect::<Vec<_>>()
            );
            assert_eq!(
                g.sources(v).collect::<Vec<_>>(),
                r.sources(v).collect::<Vec<_>>()
            );
        }
    }

    // -----------------------------------------------------------------------
    // Properties on small random graphs, against naive computations
    // -----------------------------------------------------------------------

    fn arb_graph() -> impl Strategy<Value = (usize, Vec<Link>)> {
        (1usize..14).prop_flat_map(|n| {
            let link = (
                0..n as u32,
                0..n as u32,
                proptest::option::of(-3i32..4),
                any::<bool>(),
            )
                .prop_map(|(s, t, day, confirmed)| Link {
                    source: s,
                    infectee: t,
                    day,
                    kind: if confirmed {
                        LinkKind::Transmission
                    } else {
                        LinkKind::Contact
                    },
                });
            (Just(n), proptest::collection::vec(link, 0..40))
        })
    }

    fn build(n: usize, links: &[Link]) -> TransmissionGraph {
        match TransmissionGraph::from_links(n, links) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// Undirected all-pairs distances by Floyd–Warshall.
    fn naive_distances(n: usize, links: &[Link]) -> Vec<Vec<Option<u32>>> {
        let mut d = vec![vec![None; n]; n];
        for (v, row) in d.iter_mut().enumerate() {
            row[v] = Some(0);
        }
        for l in links {
            let (s, t) = (l.source as usize, l.infectee as usize);
            if s != t {
                d[s][t] = Some(1);
                d[t][s] = Some(1);
            }
        }
        for m in 0..n {
            for a in 0..n {
                for b in 0..n {
                    if let (Some(x), Some(y)) = (d[a][m], d[m][b]) {
                        if d[a][b].is_none_or(|z| x + y < z) {
                            d[a][b] = Some(x + y);
                        }
                    }
                }
            }
        }
        d
    }

    /// The chosen source by the documented rule, straight from the raw links.
    fn naive_source(node: u32, links: &[Link]) -> Option<u32> {
        let mut best: Option<(u8, bool, i32, u32)> = None;
        let sources: HashSet<u32> = links
            .iter()
            .filter(|l| l.infectee == node && l.source != node)
            .map(|l| l.source)
            .collect();
        for s in sources {
            let parallel: Vec<&Link> = links
                .iter()
                .filter(|l| l.source == s && l.infectee == node)
                .collect();
            let confirmed = parallel.iter().any(|l| l.kind == LinkKind::Transmission);
            let day = parallel.iter().filter_map(|l| l.day).min();
            let key = (
                if confirmed { 0 } else { 1 },
                day.is_none(),
                day.unwrap_or(0),
                s,
            );
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|b| b.3)
    }

    proptest! {
        #[test]
        fn bfs_agrees_with_all_pairs((n, links) in arb_graph(), k in 0u32..6) {
            let g = build(n, &links);
            let d = naive_distances(n, &links);
            let mut bfs = Bfs::new(&g);
            for (v, from_v) in d.iter().enumerate() {
                let mut expected: Vec<(u32, u32)> = from_v
                    .iter()
                    .enumerate()
                    .filter_map(|(u, du)| du.filter(|&x| x <= k).map(|x| (u as u32, x)))
                    .collect();
                expected.sort_by_key(|&(u, x)| (x, u));
                prop_assert_eq!(bfs.within(&g, v as u32, k), expected.as_slice());
            }
        }

        #[test]
        fn components_agree_with_flood_fill((n, links) in arb_graph()) {
            let g = build(n, &links);
            let mut adj = vec![Vec::new(); n];
            for l in &links {
                adj[l.source as usize].push(l.infectee as usize);
                adj[l.infectee as usize].push(l.source as usize);
            }
            let mut label = vec![usize::MAX; n];
            let mut next = 0;
            for start in 0..n {
                if label[start] != usize::MAX {
                    continue;
                }
                let mut stack = vec![start];
                label[start] = next;
                while let Some(v) = stack.pop() {
                    for &w in &adj[v] {
                        if label[w] == usize::MAX {
                            label[w] = next;
                            stack.push(w);
                        }
                    }
                }
                next += 1;
            }
            prop_assert_eq!(g.cluster_count(), next);
            for (v, &l) in label.iter().enumerate() {
                prop_assert_eq!(g.cluster_of(v as u32), Some(ClusterId(l as u32)));
            }
            for c in g.clusters() {
                let expected: Vec<u32> =
                    (0..n as u32).filter(|&v| label[v as usize] == c.id.0 as usize).collect();
                prop_assert_eq!(c.members, expected.as_slice());
            }
        }

        #[test]
        fn source_chains_terminate_and_follow_the_rule((n, links) in arb_graph()) {
            let g = build(n, &links);
            for v in 0..n as u32 {
                let Some(chain) = g.source_chain(v) else {
                    return Err(TestCaseError::fail("a known node has a chain"));
                };
                prop_assert_eq!(chain.nodes[0], v);
                prop_assert!(chain.nodes.len() <= n);
                let distinct: HashSet<u32> = chain.nodes.iter().copied().collect();
                prop_assert_eq!(distinct.len(), chain.nodes.len());
                for pair in chain.nodes.windows(2) {
                    prop_assert_eq!(naive_source(pair[0], &links), Some(pair[1]));
                }
                let last = chain.nodes[chain.nodes.len() - 1];
                match chain.end {
                    ChainEnd::IndexCase => {
                        prop_assert_eq!(naive_source(last, &links), None);
                        prop_assert_eq!(g.generation(v), Some(chain.nodes.len() as u32 - 1));
                    }
                    ChainEnd::Cycle { repeated } => {
                        prop_assert_eq!(naive_source(last, &links), Some(repeated));
                        prop_assert!(distinct.contains(&repeated));
                        prop_assert_eq!(g.generation(v), None);
                    }
                }
            }
        }

        #[test]
        fn merged_links_keep_the_strongest_kind_and_earliest_day((n, links) in arb_graph()) {
            let g = build(n, &links);
            let mut count = 0;
            for s in 0..n as u32 {
                for l in g.infectees(s) {
                    count += 1;
                    let parallel: Vec<&Link> = links
                        .iter()
                        .filter(|r| r.source == s && r.infectee == l.infectee)
                        .collect();
                    prop_assert!(!parallel.is_empty());
                    prop_assert_eq!(l.day, parallel.iter().filter_map(|r| r.day).min());
                    let confirmed = parallel.iter().any(|r| r.kind == LinkKind::Transmission);
                    prop_assert_eq!(l.kind == LinkKind::Transmission, confirmed);
                }
            }
            let distinct: HashSet<(u32, u32)> = links
                .iter()
                .filter(|l| l.source != l.infectee)
                .map(|l| (l.source, l.infectee))
                .collect();
            prop_assert_eq!(count, distinct.len());
            prop_assert_eq!(g.link_count(), distinct.len());
            prop_assert_eq!(
                g.self_links() + g.merged_links() + g.link_count(),
                links.len()
            );
        }
    }
}
