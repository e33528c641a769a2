//! The timeline's domain: pure, free of AWS types, tested without I/O.
//!
//! [`segment`] turns one day of readings into behaviour episodes, [`plan`] turns a profile and
//! a week of episodes into the pet plan; [`model`] holds every threshold both use.

pub mod behavior;
pub mod calibration;
pub mod geo;
pub mod model;
pub mod plan;
pub mod segment;

pub use behavior::Behavior;
pub use model::{MODEL_VERSION, Thresholds};
pub use segment::{DayInput, DayTimeline, Episode, EpisodeStats, Sample, build_day, build_days};
