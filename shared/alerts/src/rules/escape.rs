//! `zone_exit`: outside every active zone, confirmed by two fixes.
//!
//! GPS is noisy, so a fix only counts when it is beyond the fence by more than its own
//! accuracy: a pet resting by the fence with jittery fixes raises nothing, while a real
//! escape is confirmed by the second fix outside (ten seconds at the collar's rate). Fixes at
//! the fence within their accuracy break both runs: they neither prove an escape nor a return.

use petty_api::alerts::AlertType;

use super::state::ZoneRuns;
use super::{CollarState, Context, Found, Observation, Transition, clear, raise, round1};
use crate::zone::{CheckedZone, local_minute_of_day};

/// The accuracy assumed for a fix that does not report one, metres (a typical collar GPS
/// with open sky).
pub const DEFAULT_ACCURACY_M: f64 = 10.0;
/// Fixes less accurate than this, metres, are ignored entirely (indoors, cell-tower fixes):
/// they would otherwise put a pet sleeping at home hundreds of metres away.
pub const POOR_ACCURACY_M: f64 = 50.0;
/// Consecutive fixes outside that confirm an exit, and inside that confirm the return.
pub const CONFIRM_FIXES: u8 = 2;

/// Where one fix puts the pet.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Verdict {
    Outside,
    Inside,
    Ambiguous,
}

fn position_ok(lat: f64, lon: f64) -> bool {
    lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

/// The active zone the fix is least inside (smallest signed distance), if any is active.
fn nearest<'z>(ctx: &Context<'z>, r: &Observation) -> Option<(&'z CheckedZone, f64)> {
    let mut minute = None;
    let mut best: Option<(&CheckedZone, f64)> = None;
    for z in ctx.zones {
        if z.active.is_some() && !z.is_active(*minute.get_or_insert_with(|| local_minute_of_day(r.ts_ms, ctx.tz))) {
            continue;
        }
        let d = z.distance_outside_m(r.lat, r.lon);
        if !d.is_nan() && best.is_none_or(|(_, b)| d < b) {
            best = Some((z, d));
        }
    }
    best
}

pub(crate) fn apply(state: &mut CollarState, ctx: &Context, r: &Observation, out: &mut Vec<Transition>) {
    let accuracy = match r.accuracy_m {
        None => DEFAULT_ACCURACY_M,
        Some(a) if a.is_finite() && a >= 0.0 => a,
        Some(_) => return,
    };
    if accuracy > POOR_ACCURACY_M || !position_ok(r.lat, r.lon) {
        return;
    }
    let Some((zone, d)) = nearest(ctx, r) else {
        // Nothing is watched now: a fix neither proves an exit nor a return.
        state.zone = ZoneRuns::default();
        return;
    };
    let verdict = if d > accuracy {
        Verdict::Outside
    } else if d < -accuracy {
        Verdict::Inside
    } else {
        Verdict::Ambiguous
    };
    let runs = &mut state.zone;
    match verdict {
        Verdict::Outside => *runs = ZoneRuns { outside: runs.outside.saturating_add(1), inside: 0 },
        Verdict::Inside => *runs = ZoneRuns { outside: 0, inside: runs.inside.saturating_add(1) },
        Verdict::Ambiguous => *runs = ZoneRuns::default(),
    }
    let exits: Vec<String> =
        state.open.iter().filter(|(_, a)| a.kind == AlertType::ZoneExit).map(|(k, _)| k.clone()).collect();
    if state.zone.outside >= CONFIRM_FIXES && exits.is_empty() {
        let found = Found {
            kind: AlertType::ZoneExit,
            zone_id: Some(&zone.zone_id),
            value: round1(d),
            threshold: accuracy,
            unit: "m",
        };
        raise(state, ctx, r, found, out);
    }
    if state.zone.inside >= CONFIRM_FIXES {
        for key in exits {
            clear(state, &key, r.ts_ms, "zone_return", out);
        }
    }
}
