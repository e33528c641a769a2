//! Petty's timeline function: behaviour episodes computed from readings on read, and the pet
//! plan built on them.
//!
//! Design: compute on read, one of the pet's local days at a time (midnight in its time zone,
//! so 23 or 25 hours when the clocks change). A request reads every reading of the days
//! its window touches (one `Query` per day, run concurrently, five attributes), segments
//! each day on its own with `petty_behaviour` and returns the episodes overlapping the
//! window. Days are the unit so that an episode and its id do not depend on the window asked
//! for.

mod app;
pub mod config;
mod days;
pub mod summary;

pub use app::{ROUTES, Route, Span, TimelineApp, TimelineQuery};
pub use config::TimelineConfig;
use petty_behaviour::segment::DAY_MS;

/// The service name in logs and metrics.
pub const SERVICE: &str = "timeline";
/// The window when none is given, and the longest one allowed.
pub const DEFAULT_WINDOW_MS: i64 = DAY_MS;
pub const MAX_WINDOW_DAYS: i64 = 7;
/// Events per page: default and maximum.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 500;
/// The pet plan looks at this many finished local days.
pub const PLAN_WINDOW_DAYS: u64 = 7;
