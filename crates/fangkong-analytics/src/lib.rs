//! # fangkong-analytics
//!
//! Numerical methods over daily series: cumulative ⇄ daily counts, epidemic
//! curves, growth and doubling time, the reproduction number Rt (Cori et al.
//! 2013), renewal-equation forecasts with prediction intervals and bed
//! demand, aberration detection (EARS C1–C3, CIDARS moving percentiles) and
//! county risk levels.
//!
//! Invariant: pure functions over slices. No I/O, no database, no async, no
//! knowledge of regions or forms.
//!
//! ## Layout
//!
//! - [`series`]: cumulative ⇄ daily, with clipping of falls.
//! - [`special`]: the gamma function family (incomplete gamma, quantiles).
//! - [`serial_interval`]: serial-interval distributions, EpiEstim's discretisation.
//! - [`rt`]: Rt by Cori et al. (EpiEstim's `estimate_R`).
//! - [`growth`]: exponential growth rate, doubling / halving time.
//! - [`forecast`]: renewal projections, bed demand, scoring (coverage, WIS).
//! - [`epicurve`]: curves by date, imported / local, 7-day averages.
//! - [`aberration`]: EARS C1, C2, C3 and CIDARS moving percentiles; signals.
//! - [`risk`]: county risk levels (low / medium / high) by the 2020 rules.
//! - [`transmission`]: who-infected-whom graphs: source chains, k-step neighbourhoods, clusters.

pub mod aberration;
pub mod epicurve;
pub mod forecast;
pub mod growth;
pub mod risk;
pub mod rt;
pub mod serial_interval;
pub mod series;
pub mod special;
pub mod transmission;
