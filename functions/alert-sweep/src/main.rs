//! Cold start: configuration and clients are built once; then one sweep per scheduled event,
//! with one EMF line. A sweep that cannot read its index fails the invocation (the
//! `AlertSweepErrors` alarm).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use petty_alert_sweep::{SERVICE, SweepConfig, SweepReport, sweep};
use petty_shared::metrics::{Metrics, Unit};
use petty_shared::tables::alerts::AlertsTable;
use petty_shared::tables::collars::CollarsTable;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: SweepConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let dynamodb = petty_shared::aws::dynamodb(&sdk);
    let collars = CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone());
    let alerts = AlertsTable::new(dynamodb, cfg.alerts_table.clone());
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| SERVICE.to_owned());
    let cold = std::sync::atomic::AtomicBool::new(true);
    let emf = petty_shared::logging::stdout_sink();
    let (collars, alerts, function, cold, emf) = (&collars, &alerts, &function, &cold, &emf);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| async move {
        let report = sweep(collars, alerts, chrono::Utc::now().timestamp_millis()).await?;
        let mut metrics = Metrics::new(SERVICE, function);
        if cold.swap(false, std::sync::atomic::Ordering::Relaxed) {
            metrics.add("ColdStart", Unit::Count, 1.0).ok();
        }
        report.record_metrics(&mut metrics);
        for line in metrics.flush(chrono::Utc::now().timestamp_millis()) {
            emf(format!("{line}\n").as_bytes());
        }
        Ok::<SweepReport, Error>(report)
    }))
    .await
}
