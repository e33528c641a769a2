//! The delivery queue's messages: the notifications function queues an owner's test; the
//! notifier queues its own retries and quiet-hours holds (SQS `DelaySeconds`, at most 15
//! minutes a hop: a later one is re-queued until due).

use petty_api::alerts::Alert;
use serde::{Deserialize, Serialize};

use crate::tables::notifications::DeliveryKey;

/// SQS's longest delay.
pub const MAX_DELAY_S: i64 = 900;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Short-lived queue messages, built one at a time: boxing the alert would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum DeliveryJob {
    /// Attempt `done + 1` of one delivery, due at `due_ms`.
    Attempt { delivery: DeliveryKey, owner_id: String, done: u32, due_ms: i64, alert: Alert },
    /// A test to every destination of the owner.
    Test { owner_id: String, test_id: String },
}

/// The `DelaySeconds` for a job due at `due_ms`.
pub fn delay_s(due_ms: i64, now_ms: i64) -> i32 {
    ((due_ms - now_ms + 999) / 1000).clamp(0, MAX_DELAY_S) as i32
}
