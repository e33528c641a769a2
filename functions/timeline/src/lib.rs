//! Petty's timeline function: behaviour episodes computed from readings on read, and the pet
//! plan built on them.
//!
//! Design: compute on read, one UTC day at a time. A request reads every reading of the days
//! its window touches (one paginated `Query`, five attributes), segments each day on its own
//! and returns the episodes overlapping the window. Days are the unit so that an episode and
//! its id do not depend on the window asked for.
//!
//! The `lambda` feature (default) is the function: its handler, configuration and storage.
//! Without it the crate is the pure behaviour model and the collar-day simulator only (no AWS
//! SDK), which is what the `petty` CLI's `simulate` command links.

#[cfg(feature = "lambda")]
mod app;
#[cfg(feature = "lambda")]
pub mod config;
pub mod domain;
pub mod simulator;
#[cfg(feature = "lambda")]
pub mod store;

#[cfg(test)]
mod quality;

#[cfg(feature = "lambda")]
pub use app::{TimelineApp, TimelineQuery};
#[cfg(feature = "lambda")]
pub use config::TimelineConfig;
use domain::segment::DAY_MS;

/// The service name in logs and metrics.
pub const SERVICE: &str = "timeline";
/// The window when none is given, and the longest one allowed.
pub const DEFAULT_WINDOW_MS: i64 = DAY_MS;
pub const MAX_WINDOW_MS: i64 = 7 * DAY_MS;
/// Events per page: default and maximum.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 500;
/// The pet plan looks at this much history.
pub const PLAN_WINDOW_MS: i64 = 7 * DAY_MS;

/// RFC 3339 with milliseconds, UTC.
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
