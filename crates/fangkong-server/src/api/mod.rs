//! The API's features, one module each with its request and response types
//! and a `pub fn router()`; and the small types several of them share.

pub mod analytics;
pub mod audit;
pub mod bulletin;
pub mod forms;
pub mod health;
pub mod line_list;
pub mod page;
pub mod publications;
pub mod regions;
pub mod reports;
pub mod rollup;
pub mod sessions;
pub mod tasks;
pub mod users;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use fangkong_domain::form::{Form, Values};
use fangkong_domain::region::Region;
use fangkong_domain::report::ReportVersion;
use fangkong_service::import::parse_date;

use crate::error::{ApiError, ApiResult};

/// A region in answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionBody {
    /// The official code (GB/T 2260 and the statistical codes for China).
    #[schema(example = "420102")]
    pub code: String,
    #[schema(example = "江岸区")]
    pub name: String,
    /// `nation`, `province`, `city`, `county`, `township`, `village` or `grid`.
    #[schema(example = "county")]
    pub level: String,
    /// The parent's code; none for the nation.
    pub parent_code: Option<String>,
}

impl From<&Region> for RegionBody {
    fn from(r: &Region) -> Self {
        RegionBody {
            code: r.code.to_string(),
            name: r.name.clone(),
            level: r.level.name().to_owned(),
            parent_code: r.parent.as_ref().map(ToString::to_string),
        }
    }
}

/// A region named in a list: code and name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionRef {
    pub code: String,
    pub name: String,
}

/// A form's values by field name.
pub type ValuesBody = BTreeMap<String, i64>;

pub fn values_body(form: &Form, values: &Values) -> ValuesBody {
    form.named(values).map(|(k, v)| (k.to_owned(), v)).collect()
}

/// One version of a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionBody {
    #[schema(example = "epidemic")]
    pub form: String,
    #[schema(example = "420102")]
    pub region_code: String,
    pub date: NaiveDate,
    /// 1 for the first filing, 2, 3, … for corrections.
    pub version: i32,
    #[schema(value_type = BTreeMap<String, i64>)]
    pub values: ValuesBody,
    pub filed_by: String,
    pub filed_at: DateTime<Utc>,
    /// `entry`, `import` or `demo`.
    pub source: String,
    /// Position in the report chain.
    pub seq: i64,
    /// The chain hash of this version (hex SHA-256).
    pub hash: String,
}

impl VersionBody {
    pub fn new(form: &Form, v: &ReportVersion) -> VersionBody {
        VersionBody {
            form: v.key.form.clone(),
            region_code: v.key.region.to_string(),
            date: v.key.date,
            version: v.version,
            values: values_body(form, &v.values),
            filed_by: v.filed_by.clone(),
            filed_at: v.filed_at,
            source: v.source.name().to_owned(),
            seq: v.seq,
            hash: v.hash.to_hex(),
        }
    }
}

/// A date from a query or path parameter: `YYYY-MM-DD`, or `default` when absent.
pub fn date_param(name: &str, text: Option<&str>, default: NaiveDate) -> ApiResult<NaiveDate> {
    match text.map(str::trim) {
        None | Some("") => Ok(default),
        Some(t) => parse_date(name, t).map_err(ApiError::Invalid),
    }
}

/// A non-empty text parameter, or `default`.
pub fn text_param<'a>(text: Option<&'a str>, default: &'a str) -> &'a str {
    match text.map(str::trim) {
        None | Some("") => default,
        Some(t) => t,
    }
}

/// A limit parameter: `default` when absent, refused when 0 or above `max`.
pub fn limit_param(name: &str, value: Option<u32>, default: u32, max: u32) -> ApiResult<u32> {
    match value {
        None => Ok(default),
        Some(0) => Err(ApiError::invalid(name, "must be at least 1")),
        Some(n) if n > max => Err(ApiError::invalid(
            name,
            format!("must be at most {max}, got {n}"),
        )),
        Some(n) => Ok(n),
    }
}
