//! Petty's behaviour model: pure, free of AWS types, tested without I/O. The timeline, the
//! feedback loop, the coming alerts and the `petty` CLI's `simulate` all use this one model.
//!
//! [`days`] says where a pet's local days start; [`segment`] turns one day of readings into behaviour episodes with deterministic event
//! ids; [`model`] holds every threshold; [`calibration`] moves thresholds from an owner's
//! consistent corrections; [`plan`] turns a profile and a week of episodes into the pet plan;
//! [`simulator`] makes labelled collar days, and the quality test scores the model on them.

pub mod calibration;
pub mod days;
pub mod geo;
pub mod model;
pub mod plan;
pub mod segment;
pub mod simulator;
pub mod summary;

#[cfg(test)]
mod quality;

pub use days::Calendar;
pub use model::{MODEL_VERSION, Thresholds};
/// Behaviours are on the wire (events, feedback, plan): defined once in `petty_api`.
pub use petty_api::behavior::Behavior;
pub use segment::{DayInput, DayTimeline, Episode, EpisodeStats, Sample, build_day, build_days};
