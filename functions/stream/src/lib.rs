//! Petty's collar stream: collars publish readings over AWS IoT Core, a topic rule puts each
//! on the readings queue, and Lambda's SQS event source mapping hands batches to this
//! function. Each record is one reading, stored through `petty_shared::ingest` (the same
//! rules and counts as `POST /v1/ingest`). Records that are invalid, for unclaimed collars,
//! or not stored in time come back in `batchItemFailures`: the good ones are neither blocked
//! nor re-driven, and the bad ones reach the dead-letter queue after `maxReceiveCount`.

pub mod config;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use petty_shared::collar::CollarLookup;
use petty_shared::ingest::{ReadingStore, store_valid, validate_all};
use petty_shared::metrics::{Metrics, Unit};
use serde::{Deserialize, Serialize};

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

/// The partial-batch response (`ReportBatchItemFailures`).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SqsBatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<SqsItemFailure>,
}

/// One record to retry (and, after `maxReceiveCount`, to dead-letter).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SqsItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

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

/// Ingests one SQS batch; `deadline` is when the answer must be on its way.
pub async fn handle_batch<C: CollarLookup, St: ReadingStore>(
    collars: &C,
    readings: &St,
    event: SqsEvent,
    deadline: Instant,
) -> StreamOutcome {
    let bodies: Vec<&str> = event.records.iter().map(|r| r.body.as_str()).collect();
    let (valid, rejected) = validate_all(&bodies, chrono::Utc::now().timestamp_millis());
    let mut failed: Vec<usize> = rejected.iter().map(|r| r.index).collect();
    let mut outcome = StreamOutcome { records: event.records.len(), ..StreamOutcome::default() };
    for r in &rejected {
        tracing::warn!(message_id = %event.records[r.index].message_id, reason = r.reason, "stream reading rejected");
        *outcome.rejected.entry(r.reason).or_default() += 1;
    }
    let mut claimed: HashMap<String, bool> = HashMap::new();
    let mut storable = Vec::new();
    for (index, reading) in valid {
        let known = match claimed.get(&reading.collar_id) {
            Some(k) => *k,
            None => {
                let k = matches!(collars.collar(&reading.collar_id).await, Ok(Some(_)));
                claimed.insert(reading.collar_id.clone(), k);
                k
            }
        };
        if known {
            storable.push((index, reading));
        } else {
            tracing::warn!(message_id = %event.records[index].message_id, "stream reading for an unclaimed collar");
            *outcome.rejected.entry("unclaimed_collar").or_default() += 1;
            failed.push(index);
        }
    }
    match store_valid(readings, &storable, deadline).await {
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
