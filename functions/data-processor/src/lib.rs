//! Petty's data processor: collars, validated idempotent ingestion of readings, realtime.
//!
//! The reading domain (`domain::reading`) is built; the routes answer 501 until the rest of
//! the collars-and-ingestion issue lands.

pub mod domain;

/// The service name in logs and metrics.
pub const SERVICE: &str = "data-processor";
