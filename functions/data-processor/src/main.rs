//! Cold start: configuration, SDK clients and the handler are built once; then the runtime
//! loop, which takes both API Gateway requests and SQS batches (the collar stream).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Error, LambdaEvent, Service, service_fn};
use petty_data_processor::ingest::{self, SqsEvent};
use petty_data_processor::{DataApp, DataConfig, SERVICE};
use petty_shared::HttpService;
use petty_shared::secrets::{CacheSettings, SecretCache, SecretsManagerSource};
use serde_json::Value;

/// True for an SQS event (`Records[].eventSource == "aws:sqs"`).
fn is_sqs(event: &Value) -> bool {
    event["Records"].as_array().and_then(|r| r.first()).is_some_and(|r| r["eventSource"] == "aws:sqs")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: DataConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let secrets = SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk));
    let cache =
        Arc::new(SecretCache::new(secrets, CacheSettings { ttl: cfg.common.secret_ttl, ..CacheSettings::default() }));
    let app = DataApp::new(&cfg, petty_shared::aws::dynamodb(&sdk), cache);
    let http = HttpService::from_config(SERVICE, &cfg.common);
    let (app, http) = (&app, &http);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let LambdaEvent { payload, context } = event;
        if is_sqs(&payload) {
            let batch: SqsEvent = serde_json::from_value(payload)?;
            let left =
                Duration::from_millis(context.deadline.saturating_sub(chrono::Utc::now().timestamp_millis() as u64));
            let deadline = Instant::now() + left.saturating_sub(Duration::from_millis(1500));
            return Ok::<Value, Error>(serde_json::to_value(ingest::sqs(app.store(), batch, deadline).await)?);
        }
        let request: LambdaRequest = serde_json::from_value(payload)?;
        let mut adapter = Adapter::from(service_fn(|req| http.handle(app, req)));
        let response = adapter.call(LambdaEvent::new(request, context)).await?;
        Ok(serde_json::to_value(response)?)
    }))
    .await
}
