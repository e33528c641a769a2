//! Cold start: configuration and clients are built once; then the runtime loop over SQS
//! batches, each answered with its partial batch failures and one EMF line.

use std::time::{Duration, Instant};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use petty_shared::metrics::{Metrics, Unit};
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::readings::ReadingsTable;
use petty_stream::{ANSWER_MARGIN, SERVICE, SqsBatchResponse, SqsEvent, StreamConfig, handle_batch};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: StreamConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let dynamodb = petty_shared::aws::dynamodb(&sdk);
    let collars = CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone());
    let days = petty_shared::tables::timeline_events::TimelineEventsTable::new(
        dynamodb.clone(),
        cfg.timeline_events_table.clone(),
    );
    let readings = ReadingsTable::new(dynamodb, cfg.readings_table.clone(), cfg.retention_days).with_days(days);
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| SERVICE.to_owned());
    let cold = std::sync::atomic::AtomicBool::new(true);
    let emf = petty_shared::logging::stdout_sink();
    let (collars, readings, function, cold, emf) = (&collars, &readings, &function, &cold, &emf);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
        let deadline = Instant::now() + left.saturating_sub(ANSWER_MARGIN);
        let outcome = handle_batch(collars, readings, event.payload, deadline).await;
        let mut metrics = Metrics::new(SERVICE, function);
        if cold.swap(false, std::sync::atomic::Ordering::Relaxed) {
            metrics.add("ColdStart", Unit::Count, 1.0).ok();
        }
        outcome.record_metrics(&mut metrics);
        for line in metrics.flush(chrono::Utc::now().timestamp_millis()) {
            emf(format!("{line}\n").as_bytes());
        }
        Ok::<SqsBatchResponse, Error>(outcome.response)
    }))
    .await
}
