//! Petty's alert rules: pure functions from a collar's readings (and the small state kept
//! between batches) to the alerts to open and resolve. No AWS, no clock: the caller passes
//! `now_ms`, stores [`CollarState`] as JSON and writes the [`Transition`]s.
//!
//! Every type is confirmed by more than one observation and cleared with hysteresis, so a
//! noisy sensor cannot cause an alert storm, while every confirmation is as short as the
//! noise allows, so a real escape is not missed:
//!
//! | type | confirmed by | cleared by (`resolved_by`) |
//! |---|---|---|
//! | `zone_exit` | 2 fixes in a row outside every active zone by more than their accuracy | 2 fixes inside an active zone by more than their accuracy (`zone_return`) |
//! | `heart_rate_high_at_rest` | resting heart rate above baseline × 1.35 for the collar's minutes (walks end the run; 2 noisy readings don't) | 5 calm resting minutes (`heart_rate_normal`) |
//! | `temperature_high` / `_low` | 3 readings in a row outside the species' band | 3 readings back inside by 0.2 °C (`temperature_normal`) |
//! | `battery_low` | a reading below the setting, once per discharge | a charge above the re-arm level (`battery_recharged`) |
//! | `collar_offline` | the sweep: no reading for the collar's minutes | any fresh reading (`readings_resumed`) |
//!
//! Fixes with poor accuracy (> 50 m) are ignored, and fixes at the fence within their
//! accuracy prove nothing either way. Readings older than 15 minutes are late: alerts
//! describe the present, so they never raise or resolve (they still feed the baseline).
//! Alert ids are deterministic ([`alert_id`]), so retries write the same alert.
//!
//! [`zone`] checks a zone's geometry once, when it is saved; [`temperature`] holds the body
//! temperature bands; [`rules`] evaluates batches and sweeps.

pub mod rules;
pub mod temperature;
pub mod zone;

pub use rules::{
    AlertKey, CollarState, Context, NewAlert, Observation, OpenAlert, Resolution, STALE_AFTER_MS, Transition, alert_id,
    evaluate, open_key, parse_alert_id, silent_at, sweep,
};
pub use temperature::{Band, CONSECUTIVE_READINGS, HYSTERESIS_C, band};
pub use zone::{CheckedZone, Shape, ZoneError, check, local_minute_of_day};
