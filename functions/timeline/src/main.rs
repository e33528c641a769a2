//! Cold start: configuration and the pipeline are built once; then the runtime loop.

use lambda_http::{Error, run, service_fn};
use petty_shared::http::NotYetImplemented;
use petty_shared::{CommonConfig, HttpService};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: CommonConfig = petty_shared::init(petty_timeline::SERVICE)?;
    let http = HttpService::from_config(petty_timeline::SERVICE, &cfg);
    run(service_fn(|req| http.handle(&NotYetImplemented, req))).await
}
