//! Records of published data (R10): releases of a day's figures and the
//! errata between their versions.
//!
//! A *release* is what was published of one region on one day: the
//! bulletin's figures of the region and of each of its children, as they
//! stood when it was published. Releases are never changed: publishing again
//! with other figures adds the next version, and one [`Erratum`] per figure
//! that changed.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use fangkong_domain::region::{Level, RegionCode};

use crate::Result;

/// The figures a release holds for each region, in this order: the
/// bulletin's figures of the day (new) and up to the day (cumulative, now).
pub const RELEASE_FIELDS: [&str; 11] = [
    "new_confirmed",
    "new_suspected",
    "new_severe",
    "new_deaths",
    "new_recovered",
    "cum_confirmed",
    "cum_deaths",
    "cum_recovered",
    "current_severe",
    "current_suspected",
    "current_observation",
];

/// One region's figures in a release, in the order of [`RELEASE_FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReleaseFigures(pub [i64; RELEASE_FIELDS.len()]);

impl ReleaseFigures {
    /// The figure named `field` (one of [`RELEASE_FIELDS`]).
    pub fn get(&self, field: &str) -> Option<i64> {
        RELEASE_FIELDS
            .iter()
            .position(|f| *f == field)
            .map(|i| self.0[i])
    }

    /// `(field, value)` in the order of [`RELEASE_FIELDS`].
    pub fn named(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        RELEASE_FIELDS.iter().copied().zip(self.0.iter().copied())
    }
}

/// One region of a release: the released region itself or one of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    pub region: RegionCode,
    /// The region's name when it was published.
    pub name: String,
    pub level: Level,
    /// Whether anything was filed in the region that day (else the day's figures are zero).
    pub reported: bool,
    pub figures: ReleaseFigures,
}

/// A release without its rows: which version, when, by whom and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseHead {
    pub date: NaiveDate,
    pub region: RegionCode,
    /// 1 for the first publication, 2, 3, … for each revision.
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
    /// Why it was revised (required from version 2 on).
    pub reason: Option<String>,
    /// How many of the region's children had figures for the day.
    pub units_reporting: u32,
    /// The heads of the report and audit chains when it was made (`None`
    /// for releases made before releases witnessed them).
    pub witness: Option<Witness>,
}

/// The heads of both chains at one moment, kept outside the chain tables
/// (on each release, in a head file), so that a chain cut back and its
/// stored head rewound no longer matches what was witnessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Witness {
    pub report: crate::ChainHead,
    pub audit: crate::ChainHead,
}

/// A release: its head and its rows, the released region first, then its
/// children by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub head: ReleaseHead,
    pub rows: Vec<ReleaseRow>,
}

/// One figure that changed from one version of a release to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erratum {
    /// The day the figure is for.
    pub date: NaiveDate,
    /// The region whose figure changed.
    pub region: RegionCode,
    pub level: Level,
    /// The release it was published in.
    pub release_region: RegionCode,
    /// One of [`RELEASE_FIELDS`].
    pub field: String,
    pub old_value: i64,
    pub new_value: i64,
    /// The version that changed it.
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
    pub reason: String,
}

/// A region's figures as published in the latest version of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedRow {
    pub date: NaiveDate,
    pub release_region: RegionCode,
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub row: ReleaseRow,
}

/// Reading what was published. (Writes: [`crate::WriteTx::latest_release`]
/// and [`crate::WriteTx::insert_release`].)
#[async_trait]
pub trait PublicationStore: Send + Sync {
    /// One release: version `version`, or the latest when `None`.
    async fn release(
        &self,
        date: NaiveDate,
        region: &RegionCode,
        version: Option<i32>,
    ) -> Result<Option<Release>>;
    /// The heads of every version of one release, oldest first.
    async fn release_versions(
        &self,
        date: NaiveDate,
        region: &RegionCode,
    ) -> Result<Vec<ReleaseHead>>;
    /// The head of the latest version of each release of `region` (of every
    /// region when `None`) for days in `[from, to]`: newest day first, then
    /// by region, at most `limit`.
    async fn latest_releases(
        &self,
        region: Option<&RegionCode>,
        from: NaiveDate,
        to: NaiveDate,
        limit: u32,
    ) -> Result<Vec<ReleaseHead>>;
    /// The errata of figures for days in `[from, to]`: newest publication
    /// first (then by day, region, field), at most `limit`.
    async fn errata(&self, from: NaiveDate, to: NaiveDate, limit: u32) -> Result<Vec<Erratum>>;
    /// The head of the release published last that witnessed the chains.
    async fn last_witness(&self) -> Result<Option<ReleaseHead>>;
    /// The rows of regions at `level` in the latest version of every release
    /// for days in `[from, to]`, by day, region, then publication time (a
    /// region is in its own release and in its parent's).
    async fn released_rows(
        &self,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReleasedRow>>;
}
