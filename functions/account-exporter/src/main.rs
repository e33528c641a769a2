//! Cold start: configuration and clients once; then one export per message, stopping a
//! minute before Lambda's deadline (the export is then `failed`, `export_too_large`).

use std::time::Duration;

use lambda_runtime::Error;
use petty_account_exporter::{Exporter, ExporterConfig, SERVICE, handle_batch};

/// Time kept back from Lambda's deadline to record the outcome.
const MARGIN: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let cfg: ExporterConfig = petty_shared::init(SERVICE)?;
    let sdk = petty_shared::aws::load_for_jobs().await;
    let exporter = Exporter::new(cfg, &sdk);
    let exporter = &exporter;
    petty_shared::account_jobs::run_until_deadline(SERVICE, MARGIN, |event, stop| handle_batch(exporter, event, stop))
        .await
}
