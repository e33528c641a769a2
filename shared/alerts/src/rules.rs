//! The alert rules: a batch of one collar's readings, with the state kept from the batches
//! before, becomes the alerts to open and resolve; the sweep finds silent collars.
//!
//! Everything is a pure function of the state, the context and the readings, so a retried
//! batch gives the same transitions with the same alert ids (or none, when the state already
//! saw it).

use petty_api::alerts::{AlertSettings, AlertType};
use petty_api::collars::Species;
use petty_behaviour::Thresholds;
use petty_behaviour::model::typical_resting_bpm;
use petty_behaviour::segment;
use serde::{Deserialize, Serialize};

use crate::temperature;
use crate::zone::CheckedZone;

mod escape;
mod heart;
mod ids;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_day;
#[cfg(test)]
mod tests_health;

pub use escape::{CONFIRM_FIXES, DEFAULT_ACCURACY_M, POOR_ACCURACY_M};
pub use heart::{BASELINE_MIN_MINUTES, CALM_MIN, NOISE_READINGS};
pub use ids::{AlertKey, alert_id, open_key, parse_alert_id};
pub use state::{CollarState, OpenAlert};

/// Readings older than this before `now_ms` are late: alerts describe the present, so late
/// readings never raise or resolve anything (they still feed the baseline).
pub const STALE_AFTER_MS: i64 = 15 * 60_000;
/// Readings more than this after `now_ms` are skipped: a collar clock that far ahead would
/// otherwise make every later reading look like a re-delivery.
pub const FUTURE_TOLERANCE_MS: i64 = 5 * 60_000;

/// One reading as the rules see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The reading's own time, Unix ms.
    pub ts_ms: i64,
    pub heart_rate: u16,
    /// 0 rest, 1 walk, 2 play (the collar's own classification).
    pub activity: u8,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy of the fix, metres (absent: [`DEFAULT_ACCURACY_M`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_pct: Option<f64>,
}

/// What the rules know about the collar besides its readings.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub collar_id: &'a str,
    /// The time of evaluation, Unix ms (what "late" and "future" are measured from).
    pub now_ms: i64,
    pub species: Species,
    pub weight_kg: f64,
    /// The pet's time zone: zones' active hours are local.
    pub tz: chrono_tz::Tz,
    pub settings: &'a AlertSettings,
    pub zones: &'a [CheckedZone],
    pub thresholds: Thresholds,
}

/// An alert to store and notify.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewAlert {
    pub alert_id: String,
    pub kind: AlertType,
    pub zone_id: Option<String>,
    /// The confirming reading's time (for `collar_offline`, when the silence began to count).
    pub opened_ms: i64,
    pub value: f64,
    pub threshold: f64,
    pub unit: &'static str,
    /// The confirming reading; `None` for `collar_offline`.
    pub reading: Option<Observation>,
}

/// An open alert whose condition cleared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resolution {
    pub alert_id: String,
    pub kind: AlertType,
    pub zone_id: Option<String>,
    /// The clearing reading's time.
    pub at_ms: i64,
    /// `zone_return`, `heart_rate_normal`, `temperature_normal`, `battery_recharged` or
    /// `readings_resumed`.
    pub by: &'static str,
}

/// What a batch or the sweep changed, in the order it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Transition {
    Open(NewAlert),
    Resolve(Resolution),
}

/// A condition a rule confirmed on a reading.
pub(crate) struct Found<'z> {
    pub kind: AlertType,
    pub zone_id: Option<&'z str>,
    pub value: f64,
    pub threshold: f64,
    pub unit: &'static str,
}

/// Opens the alert unless its type is disabled or it is already open.
pub(crate) fn raise(state: &mut CollarState, ctx: &Context, r: &Observation, f: Found, out: &mut Vec<Transition>) {
    let key = open_key(f.kind, f.zone_id);
    if !ctx.settings.enabled(f.kind) || state.open.contains_key(&key) {
        return;
    }
    let id = alert_id(ctx.collar_id, f.kind, f.zone_id, r.ts_ms);
    let zone_id = f.zone_id.map(str::to_owned);
    state
        .open
        .insert(key, OpenAlert { alert_id: id.clone(), kind: f.kind, zone_id: zone_id.clone(), opened_ms: r.ts_ms });
    out.push(Transition::Open(NewAlert {
        alert_id: id,
        kind: f.kind,
        zone_id,
        opened_ms: r.ts_ms,
        value: f.value,
        threshold: f.threshold,
        unit: f.unit,
        reading: Some(r.clone()),
    }));
}

/// Resolves the open alert under `key`, if any (whether or not its type is still enabled: an
/// alert left open forever would be worse than one the owner turned off).
pub(crate) fn clear(state: &mut CollarState, key: &str, at_ms: i64, by: &'static str, out: &mut Vec<Transition>) {
    if let Some(a) = state.open.remove(key) {
        out.push(Transition::Resolve(Resolution { alert_id: a.alert_id, kind: a.kind, zone_id: a.zone_id, at_ms, by }));
    }
}

/// Rounds to one decimal (values shown to owners).
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Evaluates a batch of one collar's readings (any order, duplicates allowed) and returns the
/// transitions, updating `state`. Readings at or before `state.last_ts_ms` are skipped, so a
/// re-delivered batch changes nothing.
///
/// Per reading, in time order: the baseline is fed; a fresh reading then resolves an open
/// `collar_offline` and runs the rules (zone exit, heart rate, temperature, battery); a late
/// one only breaks the runs in progress.
pub fn evaluate(state: &mut CollarState, ctx: &Context, readings: &[Observation]) -> Vec<Transition> {
    let mut batch: Vec<&Observation> = readings.iter().collect();
    batch.sort_by_key(|r| r.ts_ms);
    let latest_ok = ctx.now_ms.saturating_add(FUTURE_TOLERANCE_MS);
    let fresh_from = ctx.now_ms.saturating_sub(STALE_AFTER_MS);
    let rest_thresholds = Thresholds { min_baseline_samples: BASELINE_MIN_MINUTES, ..ctx.thresholds };
    let fallback = typical_resting_bpm(ctx.species, ctx.weight_kg);
    // The baseline only changes when the ring does (about once a minute): cached meanwhile.
    let mut baseline: Option<f64> = None;
    let mut out = Vec::new();
    for r in batch {
        if r.ts_ms <= state.last_ts_ms || r.ts_ms > latest_ok {
            continue;
        }
        state.heard_ms = state.heard_ms.max(ctx.now_ms);
        let prev_ts = std::mem::replace(&mut state.last_ts_ms, r.ts_ms);
        let minute = r.ts_ms.div_euclid(60_000);
        let pushed = r.activity == 0 && state.rest.push(minute, r.heart_rate);
        let trimmed = state.rest.trim(minute);
        if pushed || trimmed {
            baseline = None;
        }
        if r.ts_ms < fresh_from {
            state.reset_runs();
            continue;
        }
        clear(state, AlertType::CollarOffline.as_str(), r.ts_ms, "readings_resumed", &mut out);
        escape::apply(state, ctx, r, &mut out);
        let limit = (r.activity == 0 && r.heart_rate != 0).then(|| {
            let b =
                *baseline.get_or_insert_with(|| segment::baseline(&state.rest.samples(), &rest_thresholds, fallback).0);
            b * ctx.thresholds.elevated_ratio
        });
        heart::apply(state, ctx, r, prev_ts, limit, &mut out);
        apply_temperature(state, ctx, r, &mut out);
        apply_battery(state, ctx, r, &mut out);
    }
    out
}

/// `temperature_high` / `temperature_low`: see [`crate::temperature`]. Readings without a
/// temperature neither count nor break a run.
fn apply_temperature(state: &mut CollarState, ctx: &Context, r: &Observation, out: &mut Vec<Transition>) {
    let Some(t) = r.temperature_c.filter(|t| t.is_finite()) else { return };
    let band = temperature::band(ctx.species);
    let step = state.temp.step(band, t);
    if step.clear_high {
        clear(state, AlertType::TemperatureHigh.as_str(), r.ts_ms, "temperature_normal", out);
    }
    if step.clear_low {
        clear(state, AlertType::TemperatureLow.as_str(), r.ts_ms, "temperature_normal", out);
    }
    for (raise_it, kind, edge) in [
        (step.raise_high, AlertType::TemperatureHigh, band.high_c),
        (step.raise_low, AlertType::TemperatureLow, band.low_c),
    ] {
        if raise_it {
            raise(state, ctx, r, Found { kind, zone_id: None, value: t, threshold: edge, unit: "°C" }, out);
        }
    }
}

/// `battery_low`: once per discharge. Raising disarms it; only a charge above the re-arm
/// level arms it again (and resolves the alert), so a battery reading 14, 16, 14, 16 % around
/// a 15 % threshold raises once.
fn apply_battery(state: &mut CollarState, ctx: &Context, r: &Observation, out: &mut Vec<Transition>) {
    let Some(pct) = r.battery_pct.filter(|p| p.is_finite()) else { return };
    let low = f64::from(ctx.settings.battery_low_pct);
    if pct > ctx.settings.battery_rearm_pct() {
        state.battery_disarmed = false;
        clear(state, AlertType::BatteryLow.as_str(), r.ts_ms, "battery_recharged", out);
    } else if pct < low && !state.battery_disarmed && ctx.settings.enabled(AlertType::BatteryLow) {
        state.battery_disarmed = true;
        let found = Found { kind: AlertType::BatteryLow, zone_id: None, value: pct, threshold: low, unit: "%" };
        raise(state, ctx, r, found, out);
    }
}

/// How long after new readings last arrived a collar counts as talking, whatever their
/// timestamps: a collar uploading a buffered day is not offline while it uploads.
pub const ARRIVAL_GRACE_MS: i64 = 30_000;

/// When the collar counts as silent: the last reading plus `offline_after_min` (but never
/// within [`ARRIVAL_GRACE_MS`] of new readings arriving), if `collar_offline` is enabled, a
/// reading was seen and no `collar_offline` is open (the caller indexes collars by it, so the
/// sweep reads only the due ones).
pub fn silent_at(state: &CollarState, settings: &AlertSettings) -> Option<i64> {
    let watch = settings.enabled(AlertType::CollarOffline)
        && state.last_ts_ms > 0
        && !state.open.contains_key(AlertType::CollarOffline.as_str());
    watch.then(|| {
        let by_readings = state.last_ts_ms.saturating_add(i64::from(settings.offline_after_min) * 60_000);
        by_readings.max(state.heard_ms.saturating_add(ARRIVAL_GRACE_MS))
    })
}

/// Opens `collar_offline` for a collar silent since [`silent_at`]. The alert is dated at
/// `silent_at`, not `now_ms`, so a sweep run twice (or by two overlapping invocations) makes
/// the same alert id.
pub fn sweep(state: &mut CollarState, collar_id: &str, settings: &AlertSettings, now_ms: i64) -> Option<Transition> {
    let at = silent_at(state, settings)?;
    if now_ms < at {
        return None;
    }
    let kind = AlertType::CollarOffline;
    let alert_id = alert_id(collar_id, kind, None, at);
    let open = OpenAlert { alert_id: alert_id.clone(), kind, zone_id: None, opened_ms: at };
    state.open.insert(open_key(kind, None), open);
    Some(Transition::Open(NewAlert {
        alert_id,
        kind,
        zone_id: None,
        opened_ms: at,
        value: (now_ms.saturating_sub(state.last_ts_ms) / 60_000) as f64,
        threshold: f64::from(settings.offline_after_min),
        unit: "min",
        reading: None,
    }))
}
