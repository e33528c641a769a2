//! `petty health`: liveness, or readiness with `--ready`.

use petty_client::Client;

use super::print_json;
use crate::exit::{Exit, Failure, Outcome};

/// `petty health [--ready]`; `--json` prints the API's
/// [`Liveness`](petty_client::types::Liveness) or [`Readiness`](petty_client::types::Readiness).
/// Not ready is exit 5, after printing the checks.
pub async fn run(c: &Client, ready: bool, json: bool) -> Outcome {
    if ready {
        let r = c.ready().await?;
        if json {
            print_json(&r);
        } else {
            for k in &r.checks {
                let state =
                    if k.ok { "ok".to_owned() } else { format!("FAIL {}", k.error.clone().unwrap_or_default()) };
                println!("{:<40} {state} ({:.0} ms)", k.name, k.latency_ms);
            }
            println!("{}", r.status);
        }
        if r.status != "ready" {
            return Err(Failure::new(Exit::Unavailable, "not ready"));
        }
    } else {
        let live = c.health().await?;
        if json {
            print_json(&live);
        } else {
            println!(
                "{} {} (version {}, {}, up {} s)",
                c.base_url(),
                live.status,
                live.version,
                live.git_sha,
                live.uptime_s
            );
        }
    }
    Ok(())
}
