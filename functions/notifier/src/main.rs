//! Cold start: configuration and clients are built once (the webhook client's trust store on
//! its first HTTPS delivery); then the runtime loop over stream and queue batches, each
//! answered with its partial batch failures and one EMF line.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use petty_notifier::domain::RetryPolicy;
use petty_notifier::webhook_client::WebhookClient;
use petty_notifier::{BatchResponse, Event, Notifier, NotifierConfig, SERVICE, handle_batch};
use petty_shared::metrics::{Metrics, Unit};
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::members::MembersTable;
use petty_shared::tables::notifications::NotificationsTable;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: NotifierConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let dynamodb = petty_shared::aws::dynamodb(&sdk);
    let notifier = Notifier {
        collars: CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone())
            .with_members(MembersTable::new(dynamodb.clone(), cfg.members_table.clone())),
        notifications: NotificationsTable::new(dynamodb.clone(), cfg.notifications_table.clone()),
        dynamodb: dynamodb.clone(),
        users: petty_shared::tables::users::UsersTable::new(dynamodb.clone(), cfg.users_table.clone()),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        queue_url: cfg.delivery_queue_url.clone(),
        dlq_url: cfg.delivery_dlq_url.clone(),
        sns: aws_sdk_sns::Client::new(&sdk),
        ses: aws_sdk_sesv2::Client::new(&sdk),
        email_sender: cfg.email_sender.clone(),
        secrets: Arc::clone(&petty_shared::aws::secret_cache(&sdk, cfg.secret_ttl)),
        key_secret_id: cfg.notification_key_secret_id.clone(),
        public_base_url: cfg.public_base_url.clone(),
        webhooks: WebhookClient::new(cfg.webhook_policy.clone(), cfg.webhook_timeout),
        retry: RetryPolicy::default(),
    };
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| SERVICE.to_owned());
    let cold = std::sync::atomic::AtomicBool::new(true);
    let emf = petty_shared::logging::stdout_sink();
    let attempt_budget = cfg.webhook_timeout + std::time::Duration::from_secs(5);
    let (notifier, function, cold, emf, attempt_budget) = (&notifier, &function, &cold, &emf, &attempt_budget);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        let started = std::time::Instant::now();
        // Leave one webhook attempt's budget (and a margin) before Lambda's deadline.
        // (An emulator that sends no deadline gives one in the past: then there is no stop.)
        let stop = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .ok()
            .map(|left| started + left.saturating_sub(*attempt_budget));
        let outcome = handle_batch(notifier, event.payload, chrono::Utc::now().timestamp_millis(), stop).await;
        let mut metrics = Metrics::new(SERVICE, function);
        if cold.swap(false, std::sync::atomic::Ordering::Relaxed) {
            metrics.add("ColdStart", Unit::Count, 1.0).ok();
        }
        outcome.record_metrics(&mut metrics);
        metrics.add("NotifierBatchMs", Unit::Milliseconds, started.elapsed().as_secs_f64() * 1000.0).ok();
        for line in metrics.flush(chrono::Utc::now().timestamp_millis()) {
            emf(format!("{line}\n").as_bytes());
        }
        Ok::<BatchResponse, Error>(outcome.response)
    }))
    .await
}
