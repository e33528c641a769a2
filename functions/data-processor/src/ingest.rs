//! Ingestion, shared by the HTTP route and the SQS stream: validate every reading, check
//! ownership, drop duplicates (in the batch and already stored), write the rest in chunks of
//! 25 with `UnprocessedItems` retried until the deadline, and move each collar's latest
//! reading forward. Nothing is silently lost: every input is accepted, a duplicate, rejected
//! with a reason, or named as not stored.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api;
use petty_shared::auth::Principal;
use petty_shared::http::{ApiError, Invocation, json_response};
use petty_shared::metrics::Unit;
use petty_shared::secrets::SecretSource;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::DataApp;
use crate::domain::reading::{Reading, Rejection, parse_reading};
use crate::store::DataStore;

/// Readings per request.
pub const MAX_BATCH: usize = 500;
/// Time kept back from Lambda's deadline to answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(1500);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch<'a> {
    #[serde(borrow)]
    readings: Vec<&'a RawValue>,
}

/// One rejected input (its reason a static rule code, for metrics and error codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    pub reason: &'static str,
    pub message: String,
}

/// The outcome of a batch (answered as `api::IngestReport`, see [`report_view`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Newly stored readings.
    pub accepted: usize,
    /// Readings already stored (or repeated in the batch): not stored or counted again.
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Valid readings that could not be stored in time: send them again.
    pub not_stored: Vec<usize>,
}

/// The report as `POST /v1/ingest` answers it.
pub fn report_view(r: &IngestReport) -> api::IngestReport {
    api::IngestReport {
        accepted: r.accepted,
        duplicates: r.duplicates,
        rejected: r
            .rejected
            .iter()
            .map(|x| api::Rejected { index: x.index, reason: x.reason.to_owned(), message: x.message.clone() })
            .collect(),
        not_stored: r.not_stored.clone(),
        request_id: None,
    }
}

/// Splits a body into its raw readings, and says whether it was a `{"readings": [...]}` batch.
fn split_body(body: &str) -> Result<(Vec<&str>, bool), ApiError> {
    let is_batch = body.trim_start().starts_with('{') && body.contains("\"readings\"");
    if !is_batch {
        return Ok((vec![body], false));
    }
    let batch: Batch =
        serde_json::from_str(body).map_err(|e| ApiError::bad_request("invalid_json", format!("invalid batch: {e}")))?;
    if batch.readings.is_empty() || batch.readings.len() > MAX_BATCH {
        return Err(ApiError::unprocessable("batch_size", format!("send 1 to {MAX_BATCH} readings per request")));
    }
    Ok((batch.readings.into_iter().map(RawValue::get).collect(), true))
}

/// Validates `inputs`; valid readings keep their input index.
pub fn validate_all(inputs: &[&str], now_ms: i64) -> (Vec<(usize, Reading)>, Vec<Rejected>) {
    let mut valid = Vec::with_capacity(inputs.len());
    let mut rejected = Vec::new();
    for (index, raw) in inputs.iter().enumerate() {
        match parse_reading(raw, now_ms) {
            Ok(r) => valid.push((index, r)),
            Err(Rejection { reason, message }) => rejected.push(Rejected { index, reason, message }),
        }
    }
    (valid, rejected)
}

/// Stores valid readings: dedupes, writes, advances the latest reading. Returns the report
/// (without rejections) and the indices stored.
pub async fn store_valid(
    store: &DataStore,
    valid: &[(usize, Reading)],
    deadline: Instant,
) -> Result<IngestReport, ApiError> {
    let mut report = IngestReport::default();
    let mut seen = HashSet::new();
    let mut fresh: Vec<&(usize, Reading)> = Vec::new();
    for entry in valid {
        if seen.insert((entry.1.collar_id.clone(), entry.1.timestamp_ms)) {
            fresh.push(entry);
        } else {
            report.duplicates += 1;
        }
    }
    let keys: Vec<(String, i64)> = fresh.iter().map(|(_, r)| (r.collar_id.clone(), r.timestamp_ms)).collect();
    let existing = store.existing(&keys).await?;
    fresh.retain(|(_, r)| {
        let dup = existing.contains(&(r.collar_id.clone(), r.timestamp_ms));
        report.duplicates += usize::from(dup);
        !dup
    });
    let readings: Vec<&Reading> = fresh.iter().map(|(_, r)| r).collect();
    let written = store.put_readings(&readings, deadline).await;
    if let Some(err) = &written.error {
        tracing::error!(error = %err, unwritten = written.unwritten.len(), "readings not all stored");
    }
    let unwritten: HashSet<usize> = written.unwritten.iter().copied().collect();
    report.not_stored = written.unwritten.iter().map(|i| fresh[*i].0).collect();
    report.not_stored.sort_unstable();
    report.accepted = fresh.len() - unwritten.len();

    // The newest stored reading of each collar may become its latest.
    let mut newest: BTreeMap<&str, &Reading> = BTreeMap::new();
    for (i, (_, r)) in fresh.iter().enumerate() {
        if unwritten.contains(&i) {
            continue;
        }
        let slot = newest.entry(r.collar_id.as_str()).or_insert(r);
        if r.timestamp_ms > slot.timestamp_ms {
            *slot = r;
        }
    }
    for r in newest.values() {
        if let Err(err) = store.offer_latest(r).await {
            tracing::warn!(error = %err, "latest reading not updated");
        }
    }
    Ok(report)
}

fn record_metrics(inv: &Invocation, report: &IngestReport, batch: usize, started: Instant) {
    inv.metric("ReadingsAccepted", Unit::Count, report.accepted as f64);
    let mut by_reason: HashMap<&str, usize> = HashMap::new();
    for r in &report.rejected {
        *by_reason.entry(r.reason).or_default() += 1;
    }
    for (reason, count) in by_reason {
        inv.metric_with("ReadingsRejected", Unit::Count, count as f64, &[("reason", reason)]);
    }
    inv.metric("IngestBatchSize", Unit::Count, batch as f64);
    inv.metric("IngestLatency", Unit::Milliseconds, started.elapsed().as_secs_f64() * 1000.0);
}

/// `POST /v1/ingest` for an authenticated principal holding `readings:write`.
pub async fn http<S: SecretSource>(
    app: &DataApp<S>,
    principal: &Principal,
    req: &Request,
    inv: &Invocation,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let body = match req.body() {
        Body::Text(t) => t.as_str(),
        Body::Binary(b) => {
            std::str::from_utf8(b).map_err(|_| ApiError::bad_request("invalid_json", "body is not UTF-8"))?
        }
        _ => "",
    };
    if body.trim().is_empty() {
        return Err(ApiError::bad_request("missing_body", "a reading or {\"readings\": [...]} is required"));
    }
    let (inputs, is_batch) = split_body(body)?;
    let (valid, rejected) = validate_all(&inputs, chrono::Utc::now().timestamp_millis());

    // Every collar named must be the caller's (another owner's is a 404, like a missing one)
    // and allowed for an API key limited to some collars (403).
    let collars: HashSet<&str> = valid.iter().map(|(_, r)| r.collar_id.as_str()).collect();
    for collar in collars {
        app.owned_collar(principal, collar).await?;
    }
    if !is_batch && !rejected.is_empty() {
        let r = &rejected[0];
        record_metrics(inv, &IngestReport { rejected: rejected.clone(), ..IngestReport::default() }, 1, started);
        return Err(ApiError::unprocessable(r.reason, r.message.clone()));
    }
    let mut report = store_valid(app.store(), &valid, inv.deadline_with_margin(ANSWER_MARGIN)).await?;
    report.rejected = rejected;
    record_metrics(inv, &report, inputs.len(), started);
    let mut body = report_view(&report);
    if report.not_stored.is_empty() {
        json_response(StatusCode::OK, &body)
    } else {
        body.request_id = Some(inv.request_id.clone());
        let mut resp = json_response(StatusCode::SERVICE_UNAVAILABLE, &body)?;
        resp.headers_mut().insert("retry-after", "2".parse().expect("static"));
        Ok(resp)
    }
}

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
    /// What the batch did, for the EMF metrics (not part of the response).
    #[serde(skip)]
    pub counts: SqsCounts,
}

/// Readings stored, duplicates and rejections (by reason) of one SQS batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SqsCounts {
    pub accepted: usize,
    pub duplicates: usize,
    /// By reason: the validation rule's code, or `unclaimed_collar`.
    pub rejected: std::collections::BTreeMap<&'static str, usize>,
}

/// One record to retry (and, after `maxReceiveCount`, to dead-letter).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SqsItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Ingests an SQS batch (collars → IoT Core rule → SQS): each record is one reading. Invalid
/// records, records for unclaimed collars and records not stored are reported as failures, so
/// the good ones are neither blocked nor re-driven and the bad ones reach the dead-letter queue.
pub async fn sqs(store: &DataStore, event: SqsEvent, deadline: Instant) -> SqsBatchResponse {
    let bodies: Vec<&str> = event.records.iter().map(|r| r.body.as_str()).collect();
    let (valid, rejected) = validate_all(&bodies, chrono::Utc::now().timestamp_millis());
    let mut failed: Vec<usize> = rejected.iter().map(|r| r.index).collect();
    let mut counts = SqsCounts::default();
    for r in &rejected {
        tracing::warn!(message_id = %event.records[r.index].message_id, reason = r.reason, "SQS reading rejected");
        *counts.rejected.entry(r.reason).or_default() += 1;
    }
    let mut claimed: HashMap<String, bool> = HashMap::new();
    let mut storable = Vec::new();
    for (index, reading) in valid {
        let known = match claimed.get(&reading.collar_id) {
            Some(k) => *k,
            None => {
                let k = matches!(store.collar(&reading.collar_id).await, Ok(Some(_)));
                claimed.insert(reading.collar_id.clone(), k);
                k
            }
        };
        if known {
            storable.push((index, reading));
        } else {
            tracing::warn!(message_id = %event.records[index].message_id, "SQS reading for an unclaimed collar");
            *counts.rejected.entry("unclaimed_collar").or_default() += 1;
            failed.push(index);
        }
    }
    match store_valid(store, &storable, deadline).await {
        Ok(report) => {
            (counts.accepted, counts.duplicates) = (report.accepted, report.duplicates);
            failed.extend(report.not_stored);
        }
        Err(err) => {
            tracing::error!(error = %err, "SQS batch not stored");
            failed.extend(storable.iter().map(|(i, _)| *i));
        }
    }
    failed.sort_unstable();
    failed.dedup();
    SqsBatchResponse {
        batch_item_failures: failed
            .into_iter()
            .map(|i| SqsItemFailure { item_identifier: event.records[i].message_id.clone() })
            .collect(),
        counts,
    }
}
