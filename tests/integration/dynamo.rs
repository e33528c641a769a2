//! Put, query, pagination with cursors, and batch writes with `UnprocessedItems`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use petty_shared::cursor::{CursorCodec, InvalidCursor};
use petty_shared::dynamo::{Backoff, StoreError, batch_write, query_all, query_page};
use petty_tests::{PartialBatches, create_table, sdk, set_json_body, unique};

fn put(pk: &str, sk: usize) -> WriteRequest {
    let item = [
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::N(sk.to_string())),
        ("hr".to_owned(), AttributeValue::N((60 + sk % 40).to_string())),
    ];
    WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item.into())).build().unwrap()).build()
}

async fn stored_sks(client: &Client, table: &str, pk: &str) -> Vec<usize> {
    let items = query_all(
        client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into())),
    )
    .await
    .unwrap();
    items.iter().map(|i| i["sk"].as_n().unwrap().parse().unwrap()).collect()
}

#[tokio::test]
async fn batch_write_then_query_every_page() {
    let sdk = sdk().await;
    let client = petty_shared::aws::dynamodb(&sdk);
    let table = unique("readings");
    create_table(&client, &table).await;

    let requests: Vec<WriteRequest> = (0..130).map(|i| put("COLLAR#AB-1", i)).collect();
    let report =
        batch_write(&client, &table, requests, Instant::now() + Duration::from_secs(10), Backoff::default()).await;
    assert_eq!((report.written, report.unwritten.len(), report.error.clone()), (130, 0, None));
    assert_eq!(report.calls, 6, "130 items are 6 chunks of at most 25");

    assert_eq!(
        stored_sks(&client, &table, "COLLAR#AB-1").await,
        (0..130).collect::<Vec<_>>(),
        "query_all follows every page"
    );

    // Page through with Limit and opaque cursors: nothing lost, nothing repeated.
    let codec = CursorCodec::new(&[42u8; 32]);
    let scope = "collar=AB-1";
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let start = cursor.as_deref().map(|c| codec.decode(scope, c).unwrap());
        let query = client
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S("COLLAR#AB-1".into()))
            .limit(40);
        let (items, next) = query_page(query, start).await.unwrap();
        seen.extend(items.iter().map(|i| i["sk"].as_n().unwrap().parse::<usize>().unwrap()));
        pages += 1;
        match next {
            Some(key) => {
                let encoded = codec.encode(scope, &key).unwrap();
                assert_eq!(codec.decode("collar=AB-2", &encoded), Err(InvalidCursor), "a cursor is bound to its query");
                cursor = Some(encoded);
            }
            None => break,
        }
    }
    assert_eq!(seen, (0..130).collect::<Vec<_>>());
    assert!(pages >= 4, "40-item pages: {pages}");
}

#[tokio::test]
async fn conditional_put_conflict_is_typed() {
    let sdk = sdk().await;
    let client = petty_shared::aws::dynamodb(&sdk);
    let table = unique("cond");
    create_table(&client, &table).await;
    let put = || {
        client
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("u".into()))
            .item("sk", AttributeValue::N("1".into()))
            .condition_expression("attribute_not_exists(pk)")
    };
    put().send().await.unwrap();
    let err = put().send().await.unwrap_err();
    assert_eq!(StoreError::from_sdk(&err), StoreError::ConditionFailed);

    let missing = client
        .get_item()
        .table_name("no-such-table")
        .key("pk", AttributeValue::S("u".into()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(StoreError::from_sdk(&missing), StoreError::Other(_)), "a missing table is a bug, not an outage");
}

async fn partial_client(table: &str, drop_last: usize, times: usize, poison_every: Option<u64>) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk().await)
        .interceptor(PartialBatches::new(table, "sk", drop_last, times, poison_every))
        .build();
    Client::from_conf(conf)
}

#[tokio::test]
async fn unprocessed_items_are_resubmitted_until_written() {
    let table = unique("unproc");
    let plain = petty_shared::aws::dynamodb(&sdk().await);
    create_table(&plain, &table).await;
    // The first 6 requests each leave 5 items unprocessed.
    let client = partial_client(&table, 5, 6, None).await;
    let requests: Vec<WriteRequest> = (0..60).map(|i| put("COLLAR#UP-1", i)).collect();
    let backoff = Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20) };
    let report = batch_write(&client, &table, requests, Instant::now() + Duration::from_secs(10), backoff).await;
    assert_eq!((report.written, report.unwritten.clone(), report.error.clone()), (60, vec![], None));
    assert!(report.calls > 3, "resubmissions happened: {} calls", report.calls);
    assert_eq!(
        stored_sks(&plain, &table, "COLLAR#UP-1").await,
        (0..60).collect::<Vec<_>>(),
        "every item stored exactly once"
    );
}

#[tokio::test]
async fn deadline_reports_exactly_the_unwritten_items() {
    let table = unique("deadline");
    let plain = petty_shared::aws::dynamodb(&sdk().await);
    create_table(&plain, &table).await;
    // Items with sk % 7 == 0 are never processed; others sometimes on the second try.
    let client = partial_client(&table, 3, 4, Some(7)).await;
    let requests: Vec<WriteRequest> = (0..70).map(|i| put("COLLAR#DL-1", i)).collect();
    let backoff = Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(40) };
    let report = batch_write(&client, &table, requests, Instant::now() + Duration::from_millis(400), backoff).await;
    assert_eq!(report.unwritten, (0..70).filter(|i| i % 7 == 0).collect::<Vec<_>>(), "exactly the poisoned items");
    assert_eq!(report.written + report.unwritten.len(), 70);
    assert_eq!(report.error, None);
    let stored: HashSet<usize> = stored_sks(&plain, &table, "COLLAR#DL-1").await.into_iter().collect();
    for i in 0..70 {
        assert_eq!(stored.contains(&i), !report.unwritten.contains(&i), "item {i}: the report must match the table");
    }
}

/// Turns the first `remaining` responses into DynamoDB throttling errors, on the wire.
#[derive(Debug)]
struct Throttles {
    remaining: AtomicUsize,
    attempts: Arc<AtomicUsize>,
}

impl Intercept for Throttles {
    fn name(&self) -> &'static str {
        "Throttles"
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            let resp = ctx.response_mut();
            *resp.status_mut() = 400.try_into()?;
            let body = serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded."
            });
            set_json_body!(resp, &body);
        }
        Ok(())
    }
}

async fn throttled_client(times: usize) -> (Client, Arc<AtomicUsize>) {
    let attempts = Arc::new(AtomicUsize::new(0));
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk().await)
        .interceptor(Throttles { remaining: AtomicUsize::new(times), attempts: attempts.clone() })
        .build();
    (Client::from_conf(conf), attempts)
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_then_typed() {
    let table = unique("throttle");
    create_table(&petty_shared::aws::dynamodb(&sdk().await), &table).await;
    let put = |c: &Client, sk: &str| {
        c.put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("p".into()))
            .item("sk", AttributeValue::N(sk.into()))
    };

    // Two throttles: the SDK's standard retry mode (3 attempts, full-jitter backoff) absorbs them.
    let (client, attempts) = throttled_client(2).await;
    put(&client, "1").send().await.expect("retried past two throttles");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);

    // Throttled on every attempt: the error is typed, so the edge answers 503 + Retry-After.
    let (client, attempts) = throttled_client(usize::MAX).await;
    let err = put(&client, "2").send().await.unwrap_err();
    assert_eq!(StoreError::from_sdk(&err), StoreError::Throttled);
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "bounded attempts");
    let api: petty_shared::http::ApiError = StoreError::from_sdk(&err).into();
    assert_eq!(api.status().as_u16(), 503);
}

#[tokio::test]
async fn every_chunk_is_sent_once_even_with_no_time_left() {
    let sdk = sdk().await;
    let client = petty_shared::aws::dynamodb(&sdk);
    let table = unique("late");
    create_table(&client, &table).await;
    let requests: Vec<WriteRequest> = (0..30).map(|i| put("COLLAR#LT-1", i)).collect();
    let report = batch_write(&client, &table, requests, Instant::now(), Backoff::default()).await;
    assert_eq!(
        (report.written, report.calls, report.unwritten.len()),
        (30, 2, 0),
        "no retries, but no lost first attempt"
    );
}
