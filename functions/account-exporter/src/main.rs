//! Cold start: configuration and clients once; then one export per message, stopping a
//! minute before Lambda's deadline (the export is then `failed`, `export_too_large`).

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use petty_account_exporter::{Exporter, ExporterConfig, SERVICE, handle_batch};
use petty_shared::batch::{BatchResponse, SqsEvent};

/// Time kept back from Lambda's deadline to record the outcome.
const MARGIN: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: ExporterConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let exporter = Exporter::new(cfg, &sdk);
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| SERVICE.to_owned());
    let cold = std::sync::atomic::AtomicBool::new(true);
    let emf = petty_shared::logging::stdout_sink();
    let (exporter, function, cold, emf) = (&exporter, &function, &cold, &emf);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        // One EMF line an invocation: the cold start, as every function reports it.
        if cold.swap(false, std::sync::atomic::Ordering::Relaxed) {
            let mut metrics = petty_shared::metrics::Metrics::new(SERVICE, function);
            metrics.add("ColdStart", petty_shared::metrics::Unit::Count, 1.0).ok();
            for line in metrics.flush(chrono::Utc::now().timestamp_millis()) {
                emf(format!("{line}\n").as_bytes());
            }
        }
        // An emulator that sends no deadline gives one in the past: then 14 minutes.
        let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or(Duration::from_secs(900));
        let stop = Instant::now() + left.saturating_sub(MARGIN);
        Ok::<BatchResponse, Error>(handle_batch(exporter, event.payload, stop).await)
    }))
    .await
}
