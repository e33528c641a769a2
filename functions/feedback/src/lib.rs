//! Petty's feedback function: owners' corrections of the timeline, and accuracy metrics.
//!
//! Until its own issue lands, every route answers 501 with the standard JSON error body.

/// The service name in logs and metrics.
pub const SERVICE: &str = "feedback";
