//! `petty api-keys create|list|revoke`.

use petty_client::Client;
use petty_client::types::NewApiKey;
use serde::Serialize;

use super::print_json;
use crate::cli::KeysCmd;
use crate::exit::Outcome;
use crate::render;

/// What `petty api-keys revoke --json` prints. The API answers 204 without a body, so there is
/// no API type to print: the key's id and state under the names the API's
/// [`ApiKey`](petty_client::types::ApiKey) gives them.
#[derive(Serialize)]
struct Revoked<'a> {
    key_id: &'a str,
    /// Always `true`.
    revoked: bool,
}

/// `--json` prints the API's [`CreatedApiKey`](petty_client::types::CreatedApiKey) (`create`:
/// the key's fields and, this once, `api_key`), the array of its
/// [`ApiKey`](petty_client::types::ApiKey)s (`list`), or [`Revoked`].
pub async fn run(c: &Client, cmd: &KeysCmd, json: bool) -> Outcome {
    match cmd {
        KeysCmd::Create { name, scopes, collars, expires_in_days } => {
            let key = c
                .create_api_key(&NewApiKey {
                    name: name.clone(),
                    scopes: scopes.clone(),
                    collar_ids: collars.clone(),
                    expires_in_days: *expires_in_days,
                })
                .await?;
            if json {
                print_json(&key);
            } else {
                println!("{}", key.api_key);
                eprintln!(
                    "key {} ({}): shown once, keep it now; use it with PETTY_API_KEY=... or --api-key",
                    key.key.key_id, key.key.name
                );
            }
        }
        KeysCmd::List => {
            let keys = c.api_keys().await?;
            let when = |t: Option<i64>| {
                t.and_then(|s| chrono::DateTime::from_timestamp(s, 0)).map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            };
            if json {
                print_json(&keys);
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.key_id.clone(),
                            k.name.clone(),
                            k.scopes.join(","),
                            if k.collar_ids.is_empty() { "any".into() } else { k.collar_ids.join(",") },
                            when(k.last_used_at).unwrap_or_else(|| "never".into()),
                            if k.revoked { "revoked".into() } else { "active".into() },
                        ]
                    })
                    .collect();
                print!("{}", render::table(&["KEY", "NAME", "SCOPES", "COLLARS", "LAST USED", "STATE"], &rows));
            }
        }
        KeysCmd::Revoke { key_id } => {
            c.revoke_api_key(key_id).await?;
            if json {
                print_json(&Revoked { key_id, revoked: true });
            } else {
                println!("revoked {key_id}");
            }
        }
    }
    Ok(())
}
