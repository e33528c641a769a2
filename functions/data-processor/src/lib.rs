//! Petty's data-processor function: collars, validated idempotent ingestion of readings, realtime.
//!
//! Until its own issue lands, every route answers 501 with the standard JSON error body.

/// The service name in logs and metrics.
pub const SERVICE: &str = "data-processor";
