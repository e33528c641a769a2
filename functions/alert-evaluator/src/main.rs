//! Cold start: configuration and clients are built once; then the runtime loop over stream
//! batches, each answered with its partial batch failures and one EMF line.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use petty_alert_evaluator::{BatchResponse, EvaluatorConfig, SERVICE, StreamEvent, handle_batch};
use petty_shared::metrics::{Metrics, Unit};
use petty_shared::tables::alerts::AlertsTable;
use petty_shared::tables::collars::CollarsTable;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: EvaluatorConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let dynamodb = petty_shared::aws::dynamodb(&sdk);
    let collars = CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone());
    let alerts = AlertsTable::new(dynamodb, cfg.alerts_table.clone());
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| SERVICE.to_owned());
    let cold = std::sync::atomic::AtomicBool::new(true);
    let emf = petty_shared::logging::stdout_sink();
    let (collars, alerts, function, cold, emf) = (&collars, &alerts, &function, &cold, &emf);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| async move {
        let started = std::time::Instant::now();
        let outcome = handle_batch(collars, alerts, event.payload, chrono::Utc::now().timestamp_millis()).await;
        let mut metrics = Metrics::new(SERVICE, function);
        if cold.swap(false, std::sync::atomic::Ordering::Relaxed) {
            metrics.add("ColdStart", Unit::Count, 1.0).ok();
        }
        outcome.record_metrics(&mut metrics);
        metrics.add("AlertEvaluationMs", Unit::Milliseconds, started.elapsed().as_secs_f64() * 1000.0).ok();
        for line in metrics.flush(chrono::Utc::now().timestamp_millis()) {
            emf(format!("{line}\n").as_bytes());
        }
        Ok::<BatchResponse, Error>(outcome.response)
    }))
    .await
}
