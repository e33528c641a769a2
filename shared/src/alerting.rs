//! Running the alert rules (`petty_alert_rules`) against the alerts table, for the two
//! entry points that raise alerts: the evaluator (readings as they are stored) and the sweep
//! (collars gone silent). Both load a collar's state, let the pure rules decide, write the
//! transitions, and save the state under its version, retrying when the other saved first.
//!
//! Nothing doubles: an alert's id (and key) is deterministic, opening it is a conditional put
//! and resolving it a conditional update, so a batch evaluated twice (a re-delivery, or a
//! retry after a version conflict) writes nothing new.

use petty_alert_rules::rules::{self, CollarState, Context, Observation, Transition};
use petty_alert_rules::zone::{self, CheckedZone};
use petty_api::alerts::AlertType;
use petty_behaviour::Thresholds;

use crate::collar::{Collar, CollarLookup};
use crate::dynamo::StoreError;
use crate::metrics::{Metrics, Unit};
use crate::reading::Reading;
use crate::tables::alerts::{AlertsTable, CollarAlerting, StoredState, StoredZone};

/// Attempts at saving a collar's state before giving the batch back for a retry.
const SAVE_ATTEMPTS: u32 = 3;

/// What one collar's evaluation or sweep changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Alerts newly stored, by type (a re-delivered open is not counted).
    pub raised: Vec<AlertType>,
    pub resolved: Vec<AlertType>,
}

impl Applied {
    pub fn extend(&mut self, other: Applied) {
        self.raised.extend(other.raised);
        self.resolved.extend(other.resolved);
    }

    /// `AlertsRaised` and `AlertsResolved`, dimension `type`.
    pub fn record_metrics(&self, m: &mut Metrics) {
        for (name, kinds) in [("AlertsRaised", &self.raised), ("AlertsResolved", &self.resolved)] {
            for kind in AlertType::ALL {
                let count = kinds.iter().filter(|k| **k == kind).count();
                if count > 0 {
                    m.add_with(name, Unit::Count, count as f64, &[("type", kind.as_str())]).ok();
                }
            }
        }
    }
}

/// The zones the rules check; a stored zone that no longer passes the rules is skipped
/// (logged), never fatal to the collar's other alerts.
pub fn checked_zones(zones: &[StoredZone]) -> Vec<CheckedZone> {
    zones
        .iter()
        .filter_map(|z| match zone::check(&z.zone_id, &z.spec) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(zone_id = %z.zone_id, field = e.field, rule = e.rule, "stored zone skipped");
                None
            }
        })
        .collect()
}

/// A stored reading as the rules see it.
pub fn observation(r: &Reading) -> Observation {
    Observation {
        ts_ms: r.timestamp_ms,
        heart_rate: r.heart_rate,
        activity: r.activity_level as u8,
        lat: r.lat,
        lon: r.lon,
        accuracy_m: r.accuracy_m,
        temperature_c: r.temperature_c,
        battery_pct: r.battery_pct,
    }
}

/// The state of the collar's current ownership: a state kept for an earlier claim starts over.
fn state_for(loaded: &StoredState, collar: &Collar) -> CollarState {
    if loaded.claimed_at == collar.created_at { loaded.state.clone() } else { CollarState::default() }
}

/// Writes the transitions: opens first (conditional puts), then resolutions.
async fn write(alerts: &AlertsTable, collar_id: &str, transitions: &[Transition]) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    for t in transitions {
        match t {
            Transition::Open(a) => {
                if alerts.open_alert(collar_id, a).await? {
                    tracing::info!(alert_id = %a.alert_id, kind = a.kind.as_str(), "alert raised");
                    applied.raised.push(a.kind);
                }
            }
            Transition::Resolve(r) => {
                alerts.resolve_alert(collar_id, r).await?;
                tracing::info!(alert_id = %r.alert_id, by = r.by, "alert resolved");
                applied.resolved.push(r.kind);
            }
        }
    }
    Ok(applied)
}

/// Loads, decides, writes and saves one collar, retrying on a version conflict. `decide`
/// gets the state of the current ownership and the loaded settings and zones. An unchanged
/// state is saved only when `reindex` (the sweep: settings may have moved `silent_at`).
async fn run<F>(alerts: &AlertsTable, collar: &Collar, reindex: bool, mut decide: F) -> Result<Applied, StoreError>
where
    F: FnMut(&mut CollarState, &CollarAlerting, &[CheckedZone]) -> Vec<Transition>,
{
    let mut applied = Applied::default();
    for attempt in 1..=SAVE_ATTEMPTS {
        let loaded = alerts.collar_alerting(&collar.collar_id).await?;
        let zones = checked_zones(&loaded.zones);
        let mut state = state_for(&loaded.state, collar);
        let before = state.clone();
        let transitions = decide(&mut state, &loaded, &zones);
        if !reindex && transitions.is_empty() && state == before && loaded.state.claimed_at == collar.created_at {
            return Ok(applied);
        }
        applied.extend(write(alerts, &collar.collar_id, &transitions).await?);
        let next = StoredState { state, version: loaded.state.version + 1, claimed_at: collar.created_at };
        let silent_at = rules::silent_at(&next.state, &loaded.settings);
        match alerts.save_state(&collar.collar_id, &next, loaded.state.version, silent_at).await {
            Ok(()) => return Ok(applied),
            Err(StoreError::ConditionFailed) if attempt < SAVE_ATTEMPTS => {
                tracing::info!(attempt, "alert state changed meanwhile; evaluating again");
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::ConditionFailed)
}

/// Evaluates a collar's newly stored readings (any order; late and repeated ones are the
/// rules' to ignore). Readings from before the current owner's claim never count; an
/// unclaimed collar has nothing to evaluate.
pub async fn evaluate_collar<C: CollarLookup>(
    collars: &C,
    alerts: &AlertsTable,
    collar_id: &str,
    readings: &[Reading],
    now_ms: i64,
) -> Result<Applied, StoreError> {
    let Some(collar) = collars.collar(collar_id).await? else {
        return Ok(Applied::default());
    };
    let observations: Vec<Observation> =
        readings.iter().filter(|r| r.timestamp_ms >= collar.visible_from_ms()).map(observation).collect();
    if observations.is_empty() {
        return Ok(Applied::default());
    }
    let (species, weight_kg, tz) = (collar.pet.species, collar.pet.weight_kg, collar.pet.tz());
    run(alerts, &collar, false, |state, loaded, zones| {
        let ctx = Context {
            collar_id,
            now_ms,
            species,
            weight_kg,
            tz,
            settings: &loaded.settings,
            zones,
            thresholds: Thresholds::default(),
        };
        rules::evaluate(state, &ctx, &observations)
    })
    .await
}

/// What the sweep did with one silent collar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Swept {
    /// The collar is released (or re-claimed since): it is no longer watched.
    Unwatched,
    Checked(Applied),
}

/// Checks one collar the silent index named: raises `collar_offline` when it is due.
pub async fn sweep_collar<C: CollarLookup>(
    collars: &C,
    alerts: &AlertsTable,
    collar_id: &str,
    now_ms: i64,
) -> Result<Swept, StoreError> {
    let Some(collar) = collars.collar(collar_id).await? else {
        let loaded = alerts.collar_alerting(collar_id).await?;
        if loaded.state.version > 0 {
            alerts.save_state(collar_id, &loaded.state, loaded.state.version, None).await?;
        }
        return Ok(Swept::Unwatched);
    };
    let applied = run(alerts, &collar, true, |state, loaded, _| {
        rules::sweep(state, collar_id, &loaded.settings, now_ms).into_iter().collect()
    })
    .await?;
    Ok(Swept::Checked(applied))
}
