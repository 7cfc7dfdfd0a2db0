//! # fangkong-analytics
//!
//! Numerical methods over daily series: turning cumulative counts into daily
//! counts and back, and (as the risk-assessment work lands) epidemic curves,
//! growth, Rt, forecasts and early warning.
//!
//! Invariant: pure functions over slices. No I/O, no database, no async, no
//! knowledge of regions or forms.

pub mod series;
