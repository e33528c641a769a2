//! Cold start: configuration, SDK clients and the handler are built once; then the runtime loop.

use lambda_http::{Error, LambdaEvent, lambda_runtime, service_fn};
use petty_households::{HouseholdsApp, HouseholdsConfig, SERVICE, SesMailer};
use petty_shared::{HttpService, serve_event};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: HouseholdsConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let cache = petty_shared::aws::secret_cache(&sdk, cfg.common.secret_ttl);
    let mailer = SesMailer { ses: aws_sdk_sesv2::Client::new(&sdk), sender: cfg.email_sender.clone() };
    let app = HouseholdsApp::new(&cfg, petty_shared::aws::dynamodb(&sdk), mailer, cache);
    let http = HttpService::from_config(SERVICE, &cfg.common);
    let (app, http) = (&app, &http);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        serve_event(http, app, event.payload, event.context)
    }))
    .await
}
