//! `petty webhooks add|list|rm`: where alerts are POSTed, signed with each webhook's secret.

use petty_client::Client;
use petty_client::types::{Webhook, WebhookStatus};
use serde::Serialize;

use super::print_json;
use crate::cli::WebhooksCmd;
use crate::exit::Outcome;
use crate::render;

/// What `petty webhooks rm --json` prints. The API answers 204 without a body: the webhook's
/// id under the API's name, and `deleted`, always `true`.
#[derive(Serialize)]
struct Removed<'a> {
    webhook_id: &'a str,
    deleted: bool,
}

/// `--json` prints the API's [`WebhookCreated`](petty_client::types::WebhookCreated) (`add`: the
/// webhook's fields and, this once, `secret`), [`WebhookList`](petty_client::types::WebhookList)
/// (`list`) or [`Removed`] (`rm`).
pub async fn run(c: &Client, cmd: &WebhooksCmd, json: bool) -> Outcome {
    match cmd {
        WebhooksCmd::Add { url, name } => {
            let created = c.create_webhook(url, name.as_deref()).await?;
            if json {
                print_json(&created);
            } else {
                let hook = &created.webhook;
                let named = hook.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                println!("webhook {}{named} added: {}", hook.webhook_id, hook.url);
                println!("secret  {}", created.secret);
                eprintln!(
                    "the secret is shown once: keep it now. Each delivery is signed with it (Petty-Signature); \
                     `petty notifications test` sends one"
                );
            }
        }
        WebhooksCmd::List => {
            let list = c.webhooks().await?;
            if json {
                print_json(&list);
            } else if list.webhooks.is_empty() {
                println!("no webhooks yet: petty webhooks add URL [--name NAME]");
            } else {
                let rows: Vec<Vec<String>> = list.webhooks.iter().map(row).collect();
                print!("{}", render::table(&["WEBHOOK", "NAME", "URL", "STATUS", "CREATED", "LAST ERROR"], &rows));
            }
        }
        WebhooksCmd::Rm { webhook } => {
            c.delete_webhook(webhook).await?;
            if json {
                print_json(&Removed { webhook_id: webhook, deleted: true });
            } else {
                println!("removed webhook {webhook}");
            }
        }
    }
    Ok(())
}

/// One webhook as a table row: its status says since when it fails, or why it was disabled.
fn row(w: &Webhook) -> Vec<String> {
    let status = match (w.status, &w.failing_since, &w.disabled_reason) {
        (WebhookStatus::Failing, Some(since), _) => format!("failing since {}", render::datetime(since)),
        (WebhookStatus::Disabled, _, Some(why)) => format!("disabled: {why}"),
        (s, _, _) => s.as_str().to_owned(),
    };
    vec![
        w.webhook_id.clone(),
        w.name.clone().unwrap_or_else(|| "-".into()),
        w.url.clone(),
        status,
        render::datetime(&w.created_at),
        w.last_error.clone().unwrap_or_else(|| "-".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(status: &str) -> Webhook {
        serde_json::from_value(serde_json::json!({
            "webhook_id": "wh_1", "name": null, "url": "https://hooks.example.com/petty", "status": status,
            "created_at": "2026-12-01T08:00:00.000Z", "failing_since": null, "disabled_reason": null, "last_error": null
        }))
        .unwrap()
    }

    #[test]
    fn rows_say_how_a_webhook_is_doing() {
        assert_eq!(
            row(&webhook("active")),
            ["wh_1", "-", "https://hooks.example.com/petty", "active", "2026-12-01 08:00:00", "-"]
        );
        let mut failing = webhook("failing");
        failing.failing_since = Some("2026-12-01T09:00:00.000Z".into());
        failing.last_error = Some("http_503".into());
        assert_eq!(row(&failing)[3..], ["failing since 2026-12-01 09:00:00", "2026-12-01 08:00:00", "http_503"]);
        let mut disabled = webhook("disabled");
        disabled.disabled_reason = Some("failing for 24 h".into());
        assert_eq!(row(&disabled)[3], "disabled: failing for 24 h");
    }
}
