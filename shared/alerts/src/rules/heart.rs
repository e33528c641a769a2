//! `heart_rate_high_at_rest`: a resting heart rate above the pet's own baseline × the model's
//! elevated ratio, sustained for the collar's setting.
//!
//! Exercise explains a high heart rate, so walking or playing ends a run; a reading or two at
//! or below the limit is sensor noise and does not; a silence longer than the model's gap
//! does (nobody knows what happened in it). The alert clears after five calm resting minutes.

use petty_api::alerts::AlertType;

use super::state::HeartRuns;
use super::{CollarState, Context, Found, Observation, Transition, clear, raise, round1};

/// Resting minutes of the last day needed to use the pet's measured baseline (an hour, one
/// sample a minute); with fewer, the profile's typical resting heart rate is used.
pub const BASELINE_MIN_MINUTES: usize = 60;
/// Resting readings in a row at or below the limit tolerated inside a run (the next one ends
/// it).
pub const NOISE_READINGS: u8 = 2;
/// Calm resting minutes that resolve the alert.
pub const CALM_MIN: i64 = 5;

/// `limit`: the current limit, bpm, for a resting reading with a heart rate (`None` for any
/// other reading); `prev_ts`: the previous reading's time.
pub(crate) fn apply(
    state: &mut CollarState,
    ctx: &Context,
    r: &Observation,
    prev_ts: i64,
    limit: Option<f64>,
    out: &mut Vec<Transition>,
) {
    if r.ts_ms.saturating_sub(prev_ts) > ctx.thresholds.gap_s.saturating_mul(1_000) {
        state.heart = HeartRuns::default();
    }
    // A heart rate of 0 is a collar off the neck or a failed reading: no information.
    if r.heart_rate == 0 {
        return;
    }
    let h = &mut state.heart;
    if r.activity != 0 {
        h.run_start_ms = None;
        h.run_low = 0;
        return;
    }
    let Some(limit) = limit else { return };
    if f64::from(r.heart_rate) > limit {
        h.calm_since_ms = None;
        h.run_low = 0;
        let start = *h.run_start_ms.get_or_insert(r.ts_ms);
        if r.ts_ms - start >= i64::from(ctx.settings.heart_rate_sustained_min) * 60_000 {
            let found = Found {
                kind: AlertType::HeartRateHighAtRest,
                zone_id: None,
                value: f64::from(r.heart_rate),
                threshold: round1(limit),
                unit: "bpm",
            };
            raise(state, ctx, r, found, out);
        }
    } else {
        if h.run_start_ms.is_some() {
            h.run_low = h.run_low.saturating_add(1);
            if h.run_low > NOISE_READINGS {
                h.run_start_ms = None;
                h.run_low = 0;
            }
        }
        let since = *h.calm_since_ms.get_or_insert(r.ts_ms);
        if r.ts_ms - since >= CALM_MIN * 60_000 {
            clear(state, AlertType::HeartRateHighAtRest.as_str(), r.ts_ms, "heart_rate_normal", out);
        }
    }
}
