//! Petty's alert evaluator: the readings table's DynamoDB stream hands each batch of newly
//! stored readings (from `POST /v1/ingest` and the collar stream alike) to this function,
//! which evaluates them per collar, in the collar's time order, through
//! `petty_shared::alerting`.
//!
//! Why a stream and not inline after ingest: ingestion answers without waiting for alert
//! work (its latency does not move; `make bench` measures both), a collar's records arrive
//! in order on one shard, and one function's role holds the alert writes. A collar whose
//! evaluation fails comes back in `batchItemFailures` from its first record, so Lambda
//! retries from there; what was already applied is not applied again (deterministic ids,
//! conditional writes, and the state's newest evaluated reading).

pub mod config;

use std::collections::BTreeMap;

use petty_shared::alerting::{Applied, evaluate_collar};
use petty_shared::collar::CollarLookup;
use petty_shared::dynamo::item_from_json;
use petty_shared::metrics::{Metrics, Unit};
use petty_shared::reading::Reading;
use petty_shared::tables::alerts::AlertsTable;
use petty_shared::tables::readings::reading_from_image;
use serde::Deserialize;

pub use config::EvaluatorConfig;

/// The service name in logs and metrics.
pub const SERVICE: &str = "alert-evaluator";

/// The part of a stream record the evaluator reads.
#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

/// A record's change: the new image and its position in the shard.
#[derive(Debug, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<serde_json::Value>,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
}

/// A DynamoDB stream batch.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

pub use petty_shared::batch::{BatchResponse, ItemFailure};

/// What a batch did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub response: BatchResponse,
    pub applied: Applied,
    /// Readings handed to the rules.
    pub readings: usize,
    /// Collars whose evaluation failed (retried by Lambda).
    pub failed_collars: usize,
}

impl Outcome {
    pub fn record_metrics(&self, m: &mut Metrics) {
        self.applied.record_metrics(m);
        m.add("AlertReadingsEvaluated", Unit::Count, self.readings as f64).ok();
        m.add("AlertEvaluationFailures", Unit::Count, self.failed_collars as f64).ok();
    }
}

/// The readings of a batch by collar, each with the sequence number of its first record.
fn by_collar(event: &StreamEvent) -> BTreeMap<String, (String, Vec<Reading>)> {
    let mut out: BTreeMap<String, (String, Vec<Reading>)> = BTreeMap::new();
    for record in &event.records {
        if record.event_name == "REMOVE" {
            continue;
        }
        let Some(reading) =
            record.dynamodb.new_image.as_ref().and_then(item_from_json).as_ref().and_then(reading_from_image)
        else {
            continue;
        };
        out.entry(reading.collar_id.clone())
            .or_insert_with(|| (record.dynamodb.sequence_number.clone(), Vec::new()))
            .1
            .push(reading);
    }
    out
}

/// Evaluates one stream batch.
pub async fn handle_batch<C: CollarLookup>(
    collars: &C,
    alerts: &AlertsTable,
    event: StreamEvent,
    now_ms: i64,
) -> Outcome {
    let mut outcome = Outcome::default();
    for (collar_id, (first_sequence, readings)) in by_collar(&event) {
        outcome.readings += readings.len();
        match evaluate_collar(collars, alerts, &collar_id, &readings, now_ms).await {
            Ok(applied) => outcome.applied.extend(applied),
            Err(err) => {
                tracing::error!(error = %err, "collar's readings not evaluated; retried from its first record");
                outcome.failed_collars += 1;
                outcome.response.batch_item_failures.push(ItemFailure { item_identifier: first_sequence });
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_group_by_collar_skipping_latest_items_removals_and_junk() {
        let image = |collar: &str, ts: i64| {
            serde_json::json!({"collar_id": {"S": collar}, "ts": {"N": ts.to_string()}, "hr": {"N": "80"},
                "act": {"N": "0"}, "lon": {"N": "-74.006"}, "lat": {"N": "40.7128"}, "expires_at": {"N": "1"}})
        };
        let record = |name: &str, img: serde_json::Value, seq: &str| serde_json::json!({"eventName": name, "dynamodb": {"NewImage": img, "SequenceNumber": seq}});
        let event: StreamEvent = serde_json::from_value(serde_json::json!({"Records": [
            record("INSERT", image("DM-000001", 2_000), "101"),
            record("INSERT", image("DM-000002", 1_000), "102"),
            record("INSERT", image("DM-000001", 1_000), "103"),
            record("MODIFY", image("DM-000001", 0), "104"),
            record("REMOVE", image("DM-000002", 5_000), "105"),
            record("INSERT", serde_json::json!({"collar_id": {"S": "DM-000003"}}), "106"),
        ]}))
        .unwrap();
        let grouped = by_collar(&event);
        assert_eq!(grouped.keys().cloned().collect::<Vec<_>>(), vec!["DM-000001", "DM-000002"]);
        let (seq, readings) = &grouped["DM-000001"];
        assert_eq!(seq, "101");
        assert_eq!(readings.iter().map(|r| r.timestamp_ms).collect::<Vec<_>>(), vec![2_000, 1_000]);
        assert_eq!(grouped["DM-000002"].0, "102");
    }
}
