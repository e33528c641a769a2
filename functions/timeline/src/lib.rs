//! Petty's timeline function: behaviour episodes from readings, and the pet plan.
//!
//! Until its own issue lands, every route answers 501 with the standard JSON error body.

/// The service name in logs and metrics.
pub const SERVICE: &str = "timeline";
