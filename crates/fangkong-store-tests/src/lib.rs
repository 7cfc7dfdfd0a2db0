//! Tests only: see `tests/contract.rs`, the storage contract on every engine.
