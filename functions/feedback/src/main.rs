//! Cold start: configuration, SDK clients and the handler are built once; then the runtime loop.

use lambda_http::{Error, run, service_fn};
use petty_feedback::{FeedbackApp, FeedbackConfig, SERVICE};
use petty_shared::HttpService;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: FeedbackConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let cache = petty_shared::aws::secret_cache(&sdk, cfg.common.secret_ttl);
    let app = FeedbackApp::new(&cfg, petty_shared::aws::dynamodb(&sdk), cache);
    let http = HttpService::from_config(SERVICE, &cfg.common);
    run(service_fn(|req| http.handle(&app, req))).await
}
