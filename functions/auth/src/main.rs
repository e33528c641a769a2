//! Cold start: configuration, SDK clients and the handler are built once; then the runtime loop.

use std::sync::Arc;

use lambda_http::{Error, run, service_fn};
use petty_auth::{AuthApp, AuthConfig, SERVICE};
use petty_shared::HttpService;
use petty_shared::secrets::{CacheSettings, SecretCache, SecretsManagerSource};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: AuthConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load().await;
    let secrets = SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk));
    let cache =
        Arc::new(SecretCache::new(secrets, CacheSettings { ttl: cfg.common.secret_ttl, ..CacheSettings::default() }));
    let app = AuthApp::new(&cfg, petty_shared::aws::dynamodb(&sdk), cache);
    let http = HttpService::from_config(SERVICE, &cfg.common);
    run(service_fn(|req| http.handle(&app, req))).await
}
