//! # fangkong-domain
//!
//! The vocabulary of fangkong: regions and their codes, forms and report
//! values, users and roles, the hash chain that makes history
//! tamper-evident, and the text of the daily bulletin.
//!
//! Everything here is pure: no I/O, no async, no database, no JSON. A value
//! that exists is valid (`RegionCode::parse`, `Form::values_from_pairs`), so
//! the layers outside never check again.

pub mod alert;
pub mod audit;
pub mod bulletin;
pub mod case;
pub mod chain;
pub mod contact;
pub mod disclosure;
pub mod error;
pub mod form;
pub mod matching;
pub mod policy;
pub mod region;
pub mod report;
pub mod task;
pub mod user;

pub use error::FieldError;
