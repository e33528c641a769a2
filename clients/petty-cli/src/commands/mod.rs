//! The commands, one module per group, and what they share: the client built from the global
//! flags and the `--json` printer.
//!
//! `--json` prints the API's own answer, the `petty_client::types` (`petty-api`) struct the
//! client returned, serialized with serde: the same field names and shapes as the HTTP API and
//! its OpenAPI document. A command that combines several answers (every page of a list, every
//! batch of an ingest) prints a small struct of those types, documented where it is defined.

pub mod account;
pub mod accounts;
pub mod admin;
pub mod alert_settings;
pub mod alerts;
pub mod api_keys;
pub mod collars;
pub mod export;
pub mod feedback;
pub mod health;
pub mod ingest;
pub mod members;
pub mod notifications;
pub mod password;
pub mod plan;
pub mod realtime;
pub mod sessions;
pub mod simulate;
pub mod summary;
pub mod timeline;
pub mod webhooks;
pub mod zones;

use std::time::Duration;

use petty_client::{Client, Config, Credentials};
use serde::Serialize;

use crate::cli::Cli;
use crate::exit::Failure;
use crate::session;

/// A client of `--api`, authenticated by `--api-key` or else by the kept session, which it
/// saves again whenever it refreshes.
pub fn connect(cli: &Cli) -> Result<Client, Failure> {
    let mut config = Config::new(cli.api.trim_end_matches('/'));
    config.timeout = Duration::from_secs(cli.timeout.max(1));
    let api = config.base_url.clone();
    let client = Client::new(config)?.on_tokens(move |pair| {
        if let Err(e) = session::store(&api, Some(pair)) {
            eprintln!("petty: warning: session not saved: {e}");
        }
    });
    if let Some(key) = &cli.api_key {
        client.set_credentials(Credentials::ApiKey(key.clone()));
    } else if let Some(pair) = session::load(cli.api.trim_end_matches('/')) {
        client.set_credentials(Credentials::Tokens(pair));
    }
    Ok(client)
}

/// `--json`: one pretty-printed document.
pub fn print_json(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}
