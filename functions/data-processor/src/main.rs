//! Cold start: configuration, SDK clients and the handler are built once; then the runtime
//! loop, which takes both API Gateway requests and SQS batches (the collar stream).

use lambda_http::{Error, LambdaEvent, service_fn};
use petty_data_processor::{DataApp, DataConfig, SERVICE, dispatch};
use petty_shared::HttpService;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: DataConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let cache = petty_shared::aws::secret_cache(&sdk, cfg.common.secret_ttl);
    let app = DataApp::new(&cfg, petty_shared::aws::dynamodb(&sdk), cache);
    let http = HttpService::from_config(SERVICE, &cfg.common);
    let (app, http) = (&app, &http);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| dispatch(app, http, event.payload, event.context)))
        .await
}
