//! `petty export [--no-wait] | export status ID`: a copy of the caller's data.

use std::time::{Duration, Instant};

use petty_client::Client;
use petty_client::types::{Export, ExportStatus};

use super::print_json;
use crate::cli::{ExportArgs, ExportCmd};
use crate::exit::{Exit, Failure, Outcome};

/// How often a waiting `petty export` asks.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// `--json` prints the API's [`Export`]: as started (`--no-wait`), as last seen (`status`), or
/// once ready or failed (waiting).
pub async fn run(c: &Client, a: &ExportArgs, json: bool) -> Outcome {
    let export = match &a.cmd {
        Some(ExportCmd::Status { export }) => c.export(export).await?,
        None if a.no_wait => c.start_export().await?,
        None => {
            let started = c.start_export().await?;
            if !json {
                eprintln!("export {} started; waiting up to {} s", started.export_id, a.wait);
            }
            wait(c, started, Duration::from_secs(a.wait)).await?
        }
    };
    if json {
        print_json(&export);
    } else {
        print(&export);
    }
    match (export.status, &export.error) {
        (ExportStatus::Failed, error) => Err(Failure::new(
            Exit::Other,
            format!("export {} failed: {}", export.export_id, error.as_deref().unwrap_or("unknown")),
        )),
        _ => Ok(()),
    }
}

/// Polls until the export is ready or failed, or `limit` has passed (exit 5, with how to ask later).
async fn wait(c: &Client, mut export: Export, limit: Duration) -> Result<Export, Failure> {
    let since = Instant::now();
    while matches!(export.status, ExportStatus::Pending | ExportStatus::Running) {
        if since.elapsed() >= limit {
            return Err(Failure::new(
                Exit::Unavailable,
                format!("export {0} not ready after {1} s: petty export status {0}", export.export_id, limit.as_secs()),
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
        export = c.export(&export.export_id).await?;
    }
    Ok(export)
}

fn print(e: &Export) {
    let status = serde_json::to_value(e.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    println!("export {} {status}", e.export_id);
    if let Some(size) = e.size_bytes {
        println!("size   {size} bytes");
    }
    if let Some(counts) = &e.counts {
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("items  {}", parts.join(", "));
    }
    if let Some(url) = &e.url {
        println!("url    {url}\n       (valid 15 minutes; `petty export status {}` gives a new one)", e.export_id);
    }
}
