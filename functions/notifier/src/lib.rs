//! Petty's notifier: alerts reach their owners by webhook, e-mail (SES) and push (SNS).
//!
//! Two triggers hand it work, both answered with partial batch failures:
//! - the alerts table's DynamoDB stream: an alert item inserted `open` is an `alert.opened`
//!   event, one turning `resolved` an `alert.resolved` event (delivered when the owner asks
//!   for resolutions). The stream is the alert path's outbox: what the evaluator and the sweep
//!   wrote is delivered even if they crash right after, with no second write to forget.
//! - the delivery queue (SQS): retries with backoff, quiet-hours holds and owners' tests.
//!
//! Every (alert event, channel, destination) is one item of the delivery log, claimed by a
//! conditional write, and every attempt is taken by a conditional increment, so a re-delivered
//! event or a duplicate job never sends twice; receivers also get a stable idempotency id.

pub mod config;
pub mod deliver;
pub mod domain;
pub mod webhook_client;

use petty_shared::api::alerts::AlertStatus;
use petty_shared::api::notifications::{Channel, EventKind};
use petty_shared::collar::CollarLookup;
use petty_shared::delivery_job::DeliveryJob;
use petty_shared::dynamo::item_from_json;
use petty_shared::metrics::{Metrics, Unit};
use petty_shared::secrets::SecretSource;
use petty_shared::tables::alerts::alert_from_image;
use serde::Deserialize;

pub use config::NotifierConfig;
pub use deliver::{Notifier, NotifyError, Tally};

/// The service name in logs and metrics.
pub const SERVICE: &str = "notifier";

/// A record of either trigger: the fields the notifier reads.
#[derive(Debug, Deserialize)]
pub struct Record {
    #[serde(rename = "eventSource", default)]
    pub event_source: String,
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    /// DynamoDB stream records.
    #[serde(default)]
    pub dynamodb: Option<StreamChange>,
    /// SQS records.
    #[serde(rename = "messageId", default)]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<serde_json::Value>,
    #[serde(rename = "OldImage", default)]
    pub old_image: Option<serde_json::Value>,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
}

/// A batch from the stream or the queue.
#[derive(Debug, Deserialize)]
pub struct Event {
    #[serde(rename = "Records", default)]
    pub records: Vec<Record>,
}

pub use petty_shared::batch::{BatchResponse, ItemFailure};

/// What a batch did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub response: BatchResponse,
    pub tally: Tally,
    /// Records that failed (retried by Lambda) and records that could not be read (dropped).
    pub failed: usize,
    pub unreadable: usize,
}

impl Outcome {
    pub fn record_metrics(&self, m: &mut Metrics) {
        for channel in Channel::ALL {
            for (name, outcome) in [
                ("DeliveriesSent", "sent"),
                ("DeliveryRetries", "retry"),
                ("DeliveriesFailed", "failed"),
                ("DeliveriesHeld", "held"),
                ("DeliveriesGone", "gone"),
            ] {
                let n = self.tally.count(channel, outcome);
                if n > 0 {
                    m.add_with(name, Unit::Count, f64::from(n), &[("channel", channel.as_str())]).ok();
                }
            }
        }
        m.add("DeliveryDuplicatesSkipped", Unit::Count, f64::from(self.tally.duplicates)).ok();
        m.add("NotifierRecordFailures", Unit::Count, self.failed as f64).ok();
    }
}

/// What a stream record means: an alert event, or nothing to deliver.
fn alert_event(change: &StreamChange) -> Option<(petty_shared::api::alerts::Alert, i64, EventKind)> {
    let new = alert_from_image(&item_from_json(change.new_image.as_ref()?)?)?;
    let old = change.old_image.as_ref().and_then(item_from_json).as_ref().and_then(alert_from_image);
    let event = match (&old, new.status) {
        (None, AlertStatus::Open) => EventKind::Opened,
        (Some(o), AlertStatus::Resolved) if o.status != AlertStatus::Resolved => EventKind::Resolved,
        _ => return None,
    };
    Some((new.view(), new.opened_ms, event))
}

/// Handles one batch of either trigger. Records after the first not started before `stop`
/// (the invocation's deadline less one attempt's budget) are handed back as failures, to
/// come again.
pub async fn handle_batch<C: CollarLookup, S: SecretSource>(
    notifier: &Notifier<C, S>,
    event: Event,
    now_ms: i64,
    stop: Option<std::time::Instant>,
) -> Outcome {
    let mut outcome = Outcome::default();
    for (i, record) in event.records.into_iter().enumerate() {
        // The first record is always tried: a batch handed back untried would come back so.
        if i > 0 && stop.is_some_and(|at| std::time::Instant::now() >= at) {
            let id = record.dynamodb.as_ref().map_or(record.message_id.clone(), |c| c.sequence_number.clone());
            outcome.failed += 1;
            outcome.response.batch_item_failures.push(ItemFailure { item_identifier: id });
            continue;
        }
        let (id, result) = if record.event_source == "aws:sqs" {
            let Ok(job) = serde_json::from_str::<DeliveryJob>(&record.body) else {
                tracing::error!(message_id = %record.message_id, "unreadable delivery job dropped");
                outcome.unreadable += 1;
                continue;
            };
            (record.message_id.clone(), notifier.on_job(job, now_ms).await)
        } else {
            let Some(change) = record.dynamodb.as_ref() else { continue };
            if record.event_name == "REMOVE" {
                continue;
            }
            let Some((alert, opened_ms, kind)) = alert_event(change) else { continue };
            (change.sequence_number.clone(), notifier.on_alert(&alert, opened_ms, kind, now_ms).await)
        };
        match result {
            Ok(tally) => outcome.tally.extend(tally),
            Err(err) => {
                tracing::error!(error = %err, "record not delivered; retried");
                outcome.failed += 1;
                outcome.response.batch_item_failures.push(ItemFailure { item_identifier: id });
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(status: &str) -> serde_json::Value {
        json!({"collar_id": {"S": "DM-000001"}, "sk": {"S": "alert#0001700000000000#zone_exit#home"},
            "alert_id": {"S": "DM-000001.zone_exit.home.1700000000000"}, "type": {"S": "zone_exit"},
            "zone_id": {"S": "home"}, "status": {"S": status}, "opened_ms": {"N": "1700000000000"},
            "value": {"N": "120"}, "threshold": {"N": "10"}, "unit": {"S": "m"}})
    }

    fn change(old: Option<&str>, new: &str) -> StreamChange {
        StreamChange { new_image: Some(image(new)), old_image: old.map(image), sequence_number: "1".into() }
    }

    #[test]
    fn stream_changes_map_to_opened_and_resolved_only() {
        let (alert, opened, kind) = alert_event(&change(None, "open")).unwrap();
        assert_eq!(
            (alert.alert_id.as_str(), opened, kind),
            ("DM-000001.zone_exit.home.1700000000000", 1_700_000_000_000, EventKind::Opened)
        );
        assert_eq!(alert_event(&change(Some("open"), "resolved")).unwrap().2, EventKind::Resolved);
        assert_eq!(alert_event(&change(Some("acknowledged"), "resolved")).unwrap().2, EventKind::Resolved);
        // Acknowledging, a TTL move of a resolved alert, and junk deliver nothing.
        assert!(alert_event(&change(Some("open"), "acknowledged")).is_none());
        assert!(alert_event(&change(Some("resolved"), "resolved")).is_none());
        assert!(
            alert_event(&StreamChange {
                new_image: Some(json!({"collar_id": {"S": "x"}})),
                old_image: None,
                sequence_number: "2".into()
            })
            .is_none()
        );
    }
}
