//! Petty's collar stream: collars publish readings over AWS IoT Core, a topic rule puts each
//! on the readings queue, and Lambda's SQS event source mapping hands batches to this
//! function. Each record is one reading, stored through `petty_shared::ingest` (the same
//! rules and counts as `POST /v1/ingest`). Records that are invalid, for unclaimed collars,
//! from before the current owner's claim, or not stored in time come back in
//! `batchItemFailures`: the good ones are neither blocked nor re-driven, and the bad ones
//! reach the dead-letter queue after `maxReceiveCount`.
//!
//! **Identity.** A record's collar is the one the topic rule took from the MQTT topic
//! (`iot_thing`, `topic(4)` of `petty/<stage>/collars/<thing>/readings`, which the IoT policy
//! lets a thing publish to only as itself), never the payload's: a payload naming another
//! collar is rejected (`collar_mismatch`), a record without the rule's field
//! (`no_device_identity`) too.

pub mod config;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use petty_shared::collar::CollarLookup;
use petty_shared::ingest::{ReadingStore, store_valid, validate_all};
use petty_shared::metrics::{Metrics, Unit};
use serde::Deserialize;

pub use config::StreamConfig;

/// The service name in logs and metrics.
pub const SERVICE: &str = "stream";
/// Time kept back from Lambda's deadline to answer with the failures.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(1500);

/// An SQS record, as much of it as ingestion needs.
#[derive(Debug, Deserialize)]
pub struct SqsRecord {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
}

/// An SQS batch event.
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

/// The partial-batch response and a record to retry (and, after `maxReceiveCount`, to
/// dead-letter): the shared types under this function's names.
pub use petty_shared::batch::{BatchResponse as SqsBatchResponse, ItemFailure as SqsItemFailure};

/// What a batch did: the response, and the counts for the metrics.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StreamOutcome {
    pub response: SqsBatchResponse,
    pub accepted: usize,
    pub duplicates: usize,
    /// By reason: the validation rule's code, or `unclaimed_collar`.
    pub rejected: BTreeMap<&'static str, usize>,
    pub records: usize,
}

impl StreamOutcome {
    /// The same metric names as HTTP ingestion, so the rejection ratio covers the stream.
    pub fn record_metrics(&self, m: &mut Metrics) {
        m.add("ReadingsAccepted", Unit::Count, self.accepted as f64).ok();
        for (reason, n) in &self.rejected {
            m.add_with("ReadingsRejected", Unit::Count, *n as f64, &[("reason", reason)]).ok();
        }
        m.add("IngestBatchSize", Unit::Count, self.records as f64).ok();
    }
}

/// The field the IoT topic rule adds: the thing name from the topic (`topic(4)`).
pub const RULE_IDENTITY_FIELD: &str = "iot_thing";

/// The record's reading with its collar set to the rule-supplied identity, or why not.
fn identified(body: &str) -> Result<String, &'static str> {
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_str::<serde_json::Value>(body) else {
        return Err("invalid_json");
    };
    let thing = match fields.remove(RULE_IDENTITY_FIELD) {
        Some(serde_json::Value::String(t)) if petty_shared::collar::is_collar_id(&t) => t,
        _ => return Err("no_device_identity"),
    };
    match fields.get("collar_id") {
        None => {
            fields.insert("collar_id".into(), serde_json::Value::String(thing));
        }
        Some(serde_json::Value::String(named)) if *named == thing => {}
        Some(_) => return Err("collar_mismatch"),
    }
    Ok(serde_json::Value::Object(fields).to_string())
}

/// Ingests one SQS batch; `deadline` is when the answer must be on its way.
pub async fn handle_batch<C: CollarLookup, St: ReadingStore>(
    collars: &C,
    readings: &St,
    event: SqsEvent,
    deadline: Instant,
) -> StreamOutcome {
    let mut outcome = StreamOutcome { records: event.records.len(), ..StreamOutcome::default() };
    let mut failed = Vec::new();
    let mut reject = |index: usize, reason: &'static str, outcome: &mut StreamOutcome| {
        tracing::warn!(message_id = %event.records[index].message_id, reason, "stream reading rejected");
        *outcome.rejected.entry(reason).or_default() += 1;
        failed.push(index);
    };
    // The rule's identity first; records without one never reach validation.
    let mut bodies = Vec::with_capacity(event.records.len());
    let mut positions = Vec::with_capacity(event.records.len());
    for (index, record) in event.records.iter().enumerate() {
        match identified(&record.body) {
            Ok(body) => {
                bodies.push(body);
                positions.push(index);
            }
            Err(reason) => reject(index, reason, &mut outcome),
        }
    }
    let texts: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let (valid, rejected) = validate_all(&texts, chrono::Utc::now().timestamp_millis());
    for r in &rejected {
        reject(positions[r.index], r.reason, &mut outcome);
    }
    let mut visible_from: HashMap<String, Option<i64>> = HashMap::new();
    let mut calendars = HashMap::new();
    let mut storable = Vec::new();
    for (at, reading) in valid {
        let index = positions[at];
        let from = match visible_from.get(&reading.collar_id) {
            Some(v) => *v,
            None => {
                let collar = collars.collar(&reading.collar_id).await.ok().flatten();
                if let Some(c) = &collar {
                    calendars.insert(reading.collar_id.clone(), petty_shared::Calendar::new(c.pet.tz()));
                }
                let v = collar.map(|c| c.visible_from_ms());
                visible_from.insert(reading.collar_id.clone(), v);
                v
            }
        };
        match from {
            None => reject(index, "unclaimed_collar", &mut outcome),
            Some(from) if reading.timestamp_ms < from => reject(index, "before_claim", &mut outcome),
            Some(_) => storable.push((index, reading)),
        }
    }
    match store_valid(readings, &calendars, &storable, deadline).await {
        Ok(report) => {
            (outcome.accepted, outcome.duplicates) = (report.accepted, report.duplicates);
            failed.extend(report.not_stored);
        }
        Err(err) => {
            tracing::error!(error = %err, "stream batch not stored");
            failed.extend(storable.iter().map(|(i, _)| *i));
        }
    }
    failed.sort_unstable();
    failed.dedup();
    outcome.response.batch_item_failures =
        failed.into_iter().map(|i| SqsItemFailure { item_identifier: event.records[i].message_id.clone() }).collect();
    outcome
}
