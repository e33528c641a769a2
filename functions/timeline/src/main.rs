//! Cold start: configuration, SDK clients and the handler are built once; then the runtime loop.

use lambda_http::{Error, run, service_fn};
use petty_shared::HttpService;
use petty_timeline::{SERVICE, TimelineApp, TimelineConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: TimelineConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let cache = petty_shared::aws::secret_cache(&sdk, cfg.common.secret_ttl);
    let app = TimelineApp::new(&cfg, petty_shared::aws::dynamodb(&sdk), cache);
    let http = HttpService::from_config(SERVICE, &cfg.common);
    run(service_fn(|req| http.handle(&app, req))).await
}
