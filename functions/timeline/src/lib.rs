//! Petty's timeline function: behaviour episodes from readings, and the pet plan.

pub mod domain;
pub mod simulator;

#[cfg(test)]
mod quality;

/// The service name in logs and metrics.
pub const SERVICE: &str = "timeline";
