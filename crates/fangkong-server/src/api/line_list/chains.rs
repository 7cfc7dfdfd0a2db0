//! Chains and clusters (R5): a case's who-infected-whom neighbourhood for
//! the web UI (JSON) and for analysts (DOT, GraphML), clusters and the top
//! spreaders. Nodes outside the caller's jurisdiction are shown with
//! `visible: false`: id, kind, regions and dates, no personal data. A chain
//! never carries ID numbers, phones or addresses.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use fangkong_service::line_list::chains::{
    ChainEdge, ChainNode, ChainView, ClusterInfo, GraphFormat,
};

use super::cases::case_id;
use crate::api::limit_param;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PathParams, QueryParams};
use crate::AppState;

/// A person in a chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainNodeBody {
    #[schema(example = "HB-2020-000123")]
    pub id: String,
    /// `case` or `contact`.
    pub kind: String,
    /// The home region.
    pub region: String,
    /// The unit that reported the case or traced the contact.
    pub reporting_unit: String,
    /// Steps from the case asked about (links in either direction).
    pub distance: u32,
    /// Steps back to the index case along the chosen sources.
    pub generation: Option<u32>,
    /// A case's classification: `suspected`, `confirmed` or `excluded`.
    pub classification: Option<String>,
    pub onset: Option<NaiveDate>,
    pub report_date: Option<NaiveDate>,
    /// A contact's last exposure.
    pub last_exposure: Option<NaiveDate>,
    /// Whether the caller may see this person's data; when false, there is
    /// no name, sex or age.
    pub visible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<u8>,
}

impl From<&ChainNode> for ChainNodeBody {
    fn from(n: &ChainNode) -> Self {
        ChainNodeBody {
            id: n.id.clone(),
            kind: n.kind.to_owned(),
            region: n.region.to_string(),
            reporting_unit: n.reporting_unit.to_string(),
            distance: n.distance,
            generation: n.generation,
            classification: n.classification.map(|c| c.name().to_owned()),
            onset: n.onset,
            report_date: n.report_date,
            last_exposure: n.last_exposure,
            visible: n.visible,
            // the service leaves these empty for invisible nodes; do not rely on it
            name: n.name.clone().filter(|_| n.visible),
            sex: n.sex.filter(|_| n.visible).map(|s| s.name().to_owned()),
            age: n.age.filter(|_| n.visible),
        }
    }
}

/// A link: `from` infected or exposed `to`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainEdgeBody {
    pub from: String,
    pub to: String,
    /// `transmission` (a case's source) or `contact` (an exposure).
    pub kind: String,
    /// The infectee's onset, or the last exposure.
    pub date: Option<NaiveDate>,
}

impl From<&ChainEdge> for ChainEdgeBody {
    fn from(e: &ChainEdge) -> Self {
        ChainEdgeBody {
            from: e.from.clone(),
            to: e.to.clone(),
            kind: e.kind.to_owned(),
            date: e.date,
        }
    }
}

/// A cluster: the people connected by any chain of links.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterBody {
    pub size: usize,
    pub cases: usize,
    pub contacts: usize,
    /// Earliest and latest onset, report or exposure among the members.
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    /// The members' home regions and reporting units.
    pub regions: Vec<String>,
    /// The cases of the cluster with no source.
    pub index_cases: Vec<String>,
    /// A case of the cluster the caller may open (the index case when it
    /// is in the caller's jurisdiction), to draw the cluster from.
    pub open_with: Option<String>,
    /// Whether the members were too many to read in full (days and regions
    /// then describe the first 5000).
    pub truncated: bool,
}

impl From<&ClusterInfo> for ClusterBody {
    fn from(c: &ClusterInfo) -> Self {
        ClusterBody {
            size: c.size,
            cases: c.cases,
            contacts: c.contacts,
            first_day: c.first_day,
            last_day: c.last_day,
            regions: c.regions.iter().map(ToString::to_string).collect(),
            index_cases: c.index_cases.clone(),
            open_with: c.open_with.clone(),
            truncated: c.truncated,
        }
    }
}

/// A case's chain: its neighbourhood, the links among it, its source chain
/// back to the index case, its generation and its cluster.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainBody {
    /// The case asked about.
    pub root: String,
    /// The depth asked for; none for the whole cluster.
    pub depth: Option<u32>,
    /// Nearest first.
    pub nodes: Vec<ChainNodeBody>,
    pub edges: Vec<ChainEdgeBody>,
    /// From the case back to the index case, by id (the case first).
    pub source_chain: Vec<String>,
    /// Whether the source chain ends in a cycle (a data error to look at).
    pub cycle: bool,
    /// Steps back to the index case; 0 for an index case.
    pub generation: Option<u32>,
    pub cluster: ClusterBody,
    /// Whether the node list was cut at 5000.
    pub truncated: bool,
}

impl From<&ChainView> for ChainBody {
    fn from(v: &ChainView) -> Self {
        ChainBody {
            root: v.root.clone(),
            depth: v.depth,
            nodes: v.nodes.iter().map(ChainNodeBody::from).collect(),
            edges: v.edges.iter().map(ChainEdgeBody::from).collect(),
            source_chain: v.source_chain.clone(),
            cycle: v.cycle,
            generation: v.generation,
            cluster: ClusterBody::from(&v.cluster),
            truncated: v.truncated,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChainQuery {
    /// Everyone within this many steps (default: the whole cluster).
    pub depth: Option<u32>,
}

/// A case's chain for the web UI: everyone within `depth` steps (links in
/// either direction) or its whole cluster, the links among them, the source
/// chain back to the index case, the generation and the cluster. Other
/// counties' people appear with `visible: false` and no name, sex or age.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/chain",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the case id"), ChainQuery),
    responses(
        (status = 200, description = "the chain", body = ChainBody),
        (status = 404, description = "no such case in the caller's jurisdiction", body = ErrorBody),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn chain(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<ChainQuery>,
) -> ApiResult<Json<ChainBody>> {
    let view = state.service.chain(&who, &case_id(&id)?, q.depth).await?;
    Ok(Json(ChainBody::from(&view)))
}

async fn chain_file(
    state: &AppState,
    who: &fangkong_service::Principal,
    id: &str,
    depth: Option<u32>,
    format: GraphFormat,
) -> ApiResult<Response> {
    let id = case_id(id)?;
    let text = state.service.chain_export(who, &id, depth, format).await?;
    let (content_type, ext) = match format {
        GraphFormat::Dot => ("text/vnd.graphviz; charset=utf-8", "dot"),
        GraphFormat::GraphMl => ("application/graphml+xml; charset=utf-8", "graphml"),
    };
    // the id may hold any character but spaces: keep the file name plain
    let safe: String = id
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"chain-{safe}.{ext}\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// A case's chain as Graphviz DOT for analysts: ids, kinds, regions and
/// classifications; no personal data.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/chain.dot",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the case id"), ChainQuery),
    responses(
        (status = 200, description = "the chain in DOT", body = String, content_type = "text/vnd.graphviz"),
        (status = 404, description = "no such case in the caller's jurisdiction", body = ErrorBody),
    )
)]
pub async fn chain_dot(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<ChainQuery>,
) -> ApiResult<Response> {
    chain_file(&state, &who, &id, q.depth, GraphFormat::Dot).await
}

/// A case's chain as GraphML for analysts: ids, kinds, regions,
/// classifications and dates; no personal data.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/chain.graphml",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the case id"), ChainQuery),
    responses(
        (status = 200, description = "the chain in GraphML", body = String, content_type = "application/graphml+xml"),
        (status = 404, description = "no such case in the caller's jurisdiction", body = ErrorBody),
    )
)]
pub async fn chain_graphml(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<ChainQuery>,
) -> ApiResult<Response> {
    chain_file(&state, &who, &id, q.depth, GraphFormat::GraphMl).await
}

/// The cluster of a case.
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/cluster",
    tag = "line list",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the case id")),
    responses(
        (status = 200, description = "the cluster", body = ClusterBody),
        (status = 404, description = "no such case in the caller's jurisdiction", body = ErrorBody),
    )
)]
pub async fn cluster(
    State(state): State<AppState>,
    Auth(who): Auth,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<ClusterBody>> {
    let c = state.service.cluster(&who, &case_id(&id)?).await?;
    Ok(Json(ClusterBody::from(&c)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClustersQuery {
    /// At least this many people (default 2).
    pub min_size: Option<u32>,
    /// At most this many clusters (default 20, at most 500).
    pub limit: Option<u32>,
}

/// The clusters with someone in the caller's jurisdiction, the largest first.
#[utoipa::path(
    get,
    path = "/api/v1/clusters",
    tag = "line list",
    security(("bearer" = [])),
    params(ClustersQuery),
    responses(
        (status = 200, description = "the clusters", body = [ClusterBody]),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn clusters(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<ClustersQuery>,
) -> ApiResult<Json<Vec<ClusterBody>>> {
    let min_size = limit_param("min_size", q.min_size, 2, 1_000_000)?;
    let limit = limit_param("limit", q.limit, 20, 500)?;
    let list = state
        .service
        .clusters(&who, min_size as usize, limit as usize)
        .await?;
    Ok(Json(list.iter().map(ClusterBody::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SpreadersQuery {
    /// At most this many (default 20, at most 500).
    pub limit: Option<u32>,
}

/// A case and how many people it infected or exposed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpreaderBody {
    pub case_id: String,
    /// Distinct infectees: cases and contacts.
    pub infectees: u32,
}

/// The cases in the caller's jurisdiction with the most infectees.
#[utoipa::path(
    get,
    path = "/api/v1/spreaders",
    tag = "line list",
    security(("bearer" = [])),
    params(SpreadersQuery),
    responses(
        (status = 200, description = "the top spreaders, most infectees first", body = [SpreaderBody]),
        (status = 422, description = "invalid parameter", body = ErrorBody),
    )
)]
pub async fn spreaders(
    State(state): State<AppState>,
    Auth(who): Auth,
    QueryParams(q): QueryParams<SpreadersQuery>,
) -> ApiResult<Json<Vec<SpreaderBody>>> {
    let limit = limit_param("limit", q.limit, 20, 500)?;
    let list = state.service.top_spreaders(&who, limit as usize).await?;
    Ok(Json(
        list.into_iter()
            .map(|(id, n)| SpreaderBody {
                case_id: id.to_string(),
                infectees: n,
            })
            .collect(),
    ))
}
