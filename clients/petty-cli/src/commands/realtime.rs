//! `petty realtime`: the collar's latest reading, once or polled (`--watch`).

use std::time::Duration;

use petty_client::types::Realtime;
use petty_client::{Client, Error};
use serde::Serialize;

use crate::cli::RealtimeArgs;
use crate::exit::Outcome;
use crate::render;

/// One poll of `petty realtime --json`: the API's [`Realtime`] (its fields at the top level) and
/// `next_poll_s`, the seconds until the next poll (adaptive: shorter while the pet is active),
/// `null` on the last one. Printed compact, one line per poll, so `--watch --json` is a stream
/// of JSON lines.
#[derive(Serialize)]
struct Poll<'a> {
    #[serde(flatten)]
    reading: &'a Realtime,
    next_poll_s: Option<u64>,
}

fn activity_name(level: u8) -> &'static str {
    match level {
        0 => "rest",
        1 => "walk",
        _ => "play",
    }
}

/// `petty realtime`; `--json` prints a [`Poll`] per poll.
pub async fn run(c: &Client, a: &RealtimeArgs, json: bool) -> Outcome {
    let mut polls = 0u32;
    loop {
        let r = c.realtime(&a.collar).await;
        polls += 1;
        let last = !a.watch || a.count.is_some_and(|n| polls >= n);
        let r = match r {
            Ok(r) => r,
            // While watching, a passing outage is shown and polling goes on.
            Err(e @ (Error::Transport { .. } | Error::CircuitOpen { .. } | Error::Api { status: 429 | 500.., .. }))
                if !last =>
            {
                eprintln!("petty: {e} (still watching)");
                tokio::time::sleep(Duration::from_secs(a.rest_every)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        // Adaptive: fast while the pet moves, slow at rest, slowest when the collar is silent.
        let every = if r.age_s > 600 {
            a.rest_every * 2
        } else if r.activity_level > 0 {
            a.active_every
        } else {
            a.rest_every
        };
        if json {
            let poll = Poll { reading: &r, next_poll_s: if last { None } else { Some(every) } };
            println!("{}", serde_json::to_string(&poll).unwrap_or_default());
        } else {
            let [lon, lat] =
                [r.location.coordinates.first(), r.location.coordinates.get(1)].map(|v| v.copied().unwrap_or_default());
            let next = if last { String::new() } else { format!("  next poll in {every} s") };
            println!(
                "{}  {}  {:>3} bpm  {:<4}  ({lat:.5}, {lon:.5})  {} s ago{next}",
                render::hhmm(&r.timestamp),
                r.collar_id,
                r.heart_rate,
                activity_name(r.activity_level),
                r.age_s
            );
        }
        if last {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(every)).await;
    }
}
