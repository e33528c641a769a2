//! Petty's alert sweep: every few minutes (a schedule in `template.yaml`; `tools/schedule.py`
//! locally) it asks the alerts table's sparse silent index which collars have sent nothing
//! since their `silent_at` (last reading + the collar's offline setting) and raises
//! `collar_offline` for each, once. A collar's next reading resolves it (the evaluator).
//!
//! The index holds only collars being watched: a collar with an open `collar_offline`, one
//! whose type is off, or one released, leaves it, so a sweep reads the silent, not the fleet.

pub mod config;

use petty_shared::alerting::{Applied, Swept, sweep_collar};
use petty_shared::collar::CollarLookup;
use petty_shared::metrics::{Metrics, Unit};
use petty_shared::tables::alerts::{AlertsTable, SWEEP_SHARDS};
use serde::Serialize;

pub use config::SweepConfig;

/// The service name in logs and metrics.
pub const SERVICE: &str = "alert-sweep";
/// Collars read per shard per query page; a sweep keeps paging until the shard is done or
/// `MAX_PER_RUN` collars were checked (the rest are next run's, and the lag metric shows it).
const PAGE: i32 = 100;
pub const MAX_PER_RUN: usize = 2_000;

/// What a sweep did (also its answer, for operators invoking it by hand).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    /// Silent collars checked.
    pub checked: usize,
    /// `collar_offline` alerts raised.
    pub raised: usize,
    /// Collars no longer watched (released or re-claimed).
    pub unwatched: usize,
    /// Collars that could not be checked (retried next run).
    pub failed: usize,
    /// How long past its `silent_at` the oldest collar found was, seconds: the sweep falling
    /// behind shows here (the `AlertSweepLag` alarm).
    pub lag_s: i64,
    /// The run stopped at `MAX_PER_RUN` with collars left.
    pub truncated: bool,
    #[serde(skip)]
    pub applied: Applied,
}

impl SweepReport {
    pub fn record_metrics(&self, m: &mut Metrics) {
        self.applied.record_metrics(m);
        m.add("SweepCollarsChecked", Unit::Count, self.checked as f64).ok();
        m.add("SweepFailures", Unit::Count, self.failed as f64).ok();
        m.add("SweepLagSeconds", Unit::Seconds, self.lag_s as f64).ok();
    }
}

/// One sweep at `now_ms`.
pub async fn sweep<C: CollarLookup>(
    collars: &C,
    alerts: &AlertsTable,
    now_ms: i64,
) -> Result<SweepReport, petty_shared::dynamo::StoreError> {
    let mut report = SweepReport::default();
    for shard in 0..SWEEP_SHARDS {
        loop {
            let due = alerts.silent_collars(shard, now_ms, PAGE).await?;
            let mut progressed = false;
            for (collar_id, silent_at) in &due {
                report.checked += 1;
                report.lag_s = report.lag_s.max((now_ms - silent_at) / 1000);
                match sweep_collar(collars, alerts, collar_id, now_ms).await {
                    Ok(Swept::Unwatched) => {
                        report.unwatched += 1;
                        progressed = true;
                    }
                    // Raised, or re-indexed at a later `silent_at`: either way it left the page.
                    Ok(Swept::Checked(applied)) => {
                        report.raised += applied.raised.len();
                        progressed = true;
                        report.applied.extend(applied);
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "silent collar not checked; next run retries");
                        report.failed += 1;
                    }
                }
            }
            if report.checked >= MAX_PER_RUN {
                report.truncated = true;
                return Ok(report);
            }
            // Checked collars leave the index; a full page of failures would be read again.
            if due.len() < PAGE as usize || !progressed {
                break;
            }
        }
    }
    Ok(report)
}
