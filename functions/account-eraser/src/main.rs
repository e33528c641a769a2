//! Cold start: configuration and clients once; then one erasure job per message, stopping
//! a minute before Lambda's deadline to queue the rest.

use std::time::Duration;

use lambda_runtime::Error;
use petty_account_eraser::{Eraser, EraserConfig, SERVICE, handle_batch};

/// Time kept back from Lambda's deadline to save progress and queue the rest.
const MARGIN: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: EraserConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load_for_jobs().await;
    let eraser = Eraser::new(cfg, &sdk);
    let eraser = &eraser;
    petty_shared::account_jobs::run_until_deadline(SERVICE, MARGIN, |event, stop| handle_batch(eraser, event, stop))
        .await
}
