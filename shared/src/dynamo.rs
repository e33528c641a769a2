//! DynamoDB helpers every data function needs: backoff with full jitter, batch writes that
//! resubmit `UnprocessedItems` until done or a deadline (reporting exactly what was not
//! written), paginated queries, and one typed error for the HTTP edge.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, WriteRequest};
use futures_util::StreamExt;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A list-of-strings attribute value.
pub fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.clone())).collect())
}

/// Maps an SDK error (by value, for `map_err`) to a [`StoreError`].
pub fn sdk_err<E: ProvideErrorMetadata + std::error::Error + 'static, R>(err: SdkError<E, R>) -> StoreError {
    StoreError::from_sdk(&err)
}

/// A string attribute of an item.
pub fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

/// A number attribute of an item, as an integer.
pub fn get_n(item: &Item, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// A boolean attribute of an item.
pub fn get_bool(item: &Item, key: &str) -> Option<bool> {
    item.get(key).and_then(|v| v.as_bool().ok()).copied()
}

/// A list-of-strings attribute of an item (empty when absent).
pub fn get_string_list(item: &Item, key: &str) -> Vec<String> {
    item.get(key)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

/// An item from its DynamoDB JSON (`{"name": {"S": "x"}, "n": {"N": "1"}}`), as a DynamoDB
/// stream record's `NewImage` carries it; `None` when it is not an object of typed values.
pub fn item_from_json(image: &serde_json::Value) -> Option<Item> {
    image.as_object()?.iter().map(|(k, v)| Some((k.clone(), value_from_json(v)?))).collect()
}

/// An item as DynamoDB JSON (the inverse of [`item_from_json`], for the stream records the
/// local stand-ins and tests build).
pub fn item_to_json(item: &Item) -> serde_json::Value {
    fn value(v: &AttributeValue) -> serde_json::Value {
        use serde_json::json;
        match v {
            AttributeValue::S(s) => json!({"S": s}),
            AttributeValue::N(n) => json!({"N": n}),
            AttributeValue::Bool(b) => json!({"BOOL": b}),
            AttributeValue::L(l) => json!({"L": l.iter().map(value).collect::<Vec<_>>()}),
            AttributeValue::M(m) => json!({"M": item_to_json(m)}),
            AttributeValue::Ss(ss) => json!({"SS": ss}),
            _ => json!({"NULL": true}),
        }
    }
    serde_json::Value::Object(item.iter().map(|(k, v)| (k.clone(), value(v))).collect())
}

fn value_from_json(v: &serde_json::Value) -> Option<AttributeValue> {
    let (kind, inner) = v.as_object().filter(|o| o.len() == 1)?.iter().next()?;
    Some(match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_owned()),
        "N" => AttributeValue::N(inner.as_str()?.to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(inner.as_array()?.iter().map(value_from_json).collect::<Option<_>>()?),
        "M" => AttributeValue::M(item_from_json(inner)?),
        "SS" => {
            AttributeValue::Ss(inner.as_array()?.iter().map(|x| x.as_str().map(str::to_owned)).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

/// DynamoDB's limit on requests per `BatchWriteItem`.
pub const BATCH_WRITE_LIMIT: usize = 25;
/// Chunks written concurrently by [`batch_write`].
const BATCH_CONCURRENCY: usize = 4;

/// Why a storage call failed, in the terms the HTTP edge maps to a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write's condition did not hold.
    #[error("condition not met")]
    ConditionFailed,
    /// DynamoDB throttled us beyond the retries.
    #[error("storage throttled")]
    Throttled,
    /// DynamoDB could not be reached or failed (5xx, timeout, connection).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a misconfiguration (missing table, bad request).
    #[error("storage error: {0}")]
    Other(String),
}

const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

impl StoreError {
    /// Classifies an SDK error by its code and kind.
    pub fn from_sdk<E: ProvideErrorMetadata + std::error::Error + 'static, R>(err: &SdkError<E, R>) -> Self {
        match err {
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or_default();
                if code == "ConditionalCheckFailedException" {
                    StoreError::ConditionFailed
                } else if THROTTLING_CODES.contains(&code) {
                    StoreError::Throttled
                } else if code == "InternalServerError" || code == "ServiceUnavailable" {
                    StoreError::Unavailable(code.to_owned())
                } else {
                    StoreError::Other(crate::sdk_error::error_summary(err))
                }
            }
            _ => StoreError::Unavailable(crate::sdk_error::error_summary(err)),
        }
    }
}

/// Exponential backoff with full jitter: attempt `n` sleeps a random time in
/// `[0, min(cap, base * 2^n)]`, which spreads retries of many clients apart.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// First ceiling.
    pub base: Duration,
    /// Largest ceiling.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_millis(20), cap: Duration::from_millis(1000) }
    }
}

impl Backoff {
    /// The ceiling for attempt `n` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A jittered delay for attempt `n`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let mut bytes = [0u8; 8];
        let _ = aws_lc_rs::rand::fill(&mut bytes);
        let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(fraction)
    }
}

/// What [`batch_write`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchWriteReport {
    /// Requests DynamoDB confirmed.
    pub written: usize,
    /// Indices (into the input) of requests not written: unprocessed at the deadline, or in a
    /// chunk whose call failed. Sorted.
    pub unwritten: Vec<usize>,
    /// The last call error, if a call failed outright.
    pub error: Option<StoreError>,
    /// `BatchWriteItem` calls made (each chunk's first call plus resubmissions).
    pub calls: usize,
}

/// Writes `requests` to `table` in chunks of 25 (each chunk is sent at least once),
/// resubmitting `UnprocessedItems` with backoff until all are written or `deadline` passes. Nothing is silently dropped: whatever was not
/// confirmed is listed by index in the report.
pub async fn batch_write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
    deadline: Instant,
    backoff: Backoff,
) -> BatchWriteReport {
    let indexed: Vec<(usize, WriteRequest)> = requests.into_iter().enumerate().collect();
    let chunks: Vec<Vec<(usize, WriteRequest)>> = indexed.chunks(BATCH_WRITE_LIMIT).map(<[_]>::to_vec).collect();
    let reports: Vec<BatchWriteReport> = futures_util::stream::iter(chunks)
        .map(|chunk| write_chunk(client, table, chunk, deadline, backoff))
        .buffer_unordered(BATCH_CONCURRENCY)
        .collect()
        .await;
    let mut total = BatchWriteReport::default();
    for r in reports {
        total.written += r.written;
        total.calls += r.calls;
        total.unwritten.extend(r.unwritten);
        if r.error.is_some() {
            total.error = r.error;
        }
    }
    total.unwritten.sort_unstable();
    total
}

async fn write_chunk(
    client: &Client,
    table: &str,
    mut pending: Vec<(usize, WriteRequest)>,
    deadline: Instant,
    backoff: Backoff,
) -> BatchWriteReport {
    let mut report = BatchWriteReport::default();
    let mut attempt = 0u32;
    while !pending.is_empty() {
        // The first call is always made; only resubmissions are bounded by the deadline.
        if report.calls > 0 && Instant::now() >= deadline {
            break;
        }
        report.calls += 1;
        let batch: Vec<WriteRequest> = pending.iter().map(|(_, r)| r.clone()).collect();
        let result = client.batch_write_item().request_items(table, batch).send().await;
        let unprocessed = match result {
            Ok(out) => out.unprocessed_items.and_then(|mut m| m.remove(table)).unwrap_or_default(),
            Err(err) => {
                report.error = Some(StoreError::from_sdk(&err));
                break;
            }
        };
        let before = pending.len();
        pending.retain(|(_, req)| unprocessed.contains(req));
        report.written += before - pending.len();
        if pending.is_empty() {
            break;
        }
        let delay = backoff.delay(attempt);
        attempt += 1;
        if Instant::now() + delay >= deadline {
            break;
        }
        tracing::debug!(unprocessed = pending.len(), attempt, "resubmitting unprocessed items");
        tokio::time::sleep(delay).await;
    }
    report.unwritten = pending.into_iter().map(|(i, _)| i).collect();
    report
}

/// Runs a `TransactWriteItems`; a cancellation by conditions names the items whose condition
/// failed (by index), so a caller can tell which rule was broken.
pub async fn transact(client: &Client, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match client.transact_write_items().set_transact_items(Some(items)).send().await {
        Ok(_) => Ok(()),
        Err(err) => {
            let reasons = err.as_service_error().and_then(|e| match e {
                TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons.clone(),
                _ => None,
            });
            let failed: Vec<usize> = reasons
                .iter()
                .flatten()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            if failed.is_empty() {
                Err(TransactError::Store(StoreError::from_sdk(&err)))
            } else {
                Err(TransactError::Conditions(failed))
            }
        }
    }
}

/// Why a transaction did not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactError {
    /// The conditions of these items (indexes into the request) did not hold.
    #[error("conditions not met: {0:?}")]
    Conditions(Vec<usize>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TransactError> for StoreError {
    fn from(e: TransactError) -> Self {
        match e {
            TransactError::Conditions(_) => StoreError::ConditionFailed,
            TransactError::Store(s) => s,
        }
    }
}

/// Deletes the items with these keys (batches of 25, resubmitting unprocessed ones until
/// `deadline`); an error when any is left.
pub async fn delete_keys(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    deadline: Instant,
) -> Result<usize, StoreError> {
    use aws_sdk_dynamodb::types::DeleteRequest;
    let count = keys.len();
    let requests = keys
        .into_iter()
        .map(|k| {
            WriteRequest::builder()
                .delete_request(DeleteRequest::builder().set_key(Some(k)).build().expect("key is set"))
                .build()
        })
        .collect();
    let report = batch_write(client, table, requests, deadline, Backoff::default()).await;
    match (report.error, report.unwritten.is_empty()) {
        (Some(e), _) => Err(e),
        (None, false) => Err(StoreError::Unavailable(format!("{} deletes left unprocessed", report.unwritten.len()))),
        (None, true) => Ok(count),
    }
}

/// Every item a query matches, following `LastEvaluatedKey` to the end (no silent cap).
pub async fn query_all(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    let mut pages = query.into_paginator().send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StoreError::from_sdk(&e))?;
        items.extend(page.items.unwrap_or_default());
    }
    Ok(items)
}

/// One page of a query, and the key to continue from (feed it to a cursor).
pub async fn query_page(
    query: QueryFluentBuilder,
    start: Option<Item>,
) -> Result<(Vec<Item>, Option<Item>), StoreError> {
    let out = query.set_exclusive_start_key(start).send().await.map_err(|e| StoreError::from_sdk(&e))?;
    Ok((out.items.unwrap_or_default(), out.last_evaluated_key.filter(|k| !k.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_images_decode_to_items() {
        let image = serde_json::json!({"c": {"S": "DM-1"}, "ts": {"N": "5"}, "ok": {"BOOL": true},
            "l": {"L": [{"S": "a"}]}, "m": {"M": {"x": {"N": "1.5"}}}});
        let item = item_from_json(&image).unwrap();
        assert_eq!(item_to_json(&item), image);
        assert_eq!(
            (get_s(&item, "c").as_deref(), get_n(&item, "ts"), get_bool(&item, "ok")),
            (Some("DM-1"), Some(5), Some(true))
        );
        assert_eq!(get_string_list(&item, "l"), vec!["a".to_owned()]);
        assert!(item_from_json(&serde_json::json!({"c": {"X": 1}})).is_none());
        assert!(item_from_json(&serde_json::json!({"c": "plain"})).is_none());
    }

    #[test]
    fn backoff_ceilings_grow_then_cap() {
        let b = Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(100) };
        let ceilings: Vec<u128> = (0..6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, vec![10, 20, 40, 80, 100, 100]);
        assert_eq!(b.ceiling(500), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_within_the_ceiling_and_varies() {
        let b = Backoff { base: Duration::from_millis(50), cap: Duration::from_secs(1) };
        let delays: Vec<Duration> = (0..200).map(|_| b.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(400)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 150, "full jitter spreads delays");
        let mean = delays.iter().sum::<Duration>() / 200;
        assert!(
            mean > Duration::from_millis(120) && mean < Duration::from_millis(280),
            "mean {mean:?} near half the ceiling"
        );
    }
}
