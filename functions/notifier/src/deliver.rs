//! Deliveries: an alert event fanned out to the owner's destinations, each claimed once in
//! the delivery log, attempted, and retried through the delivery queue or dead-lettered.

use std::sync::Arc;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use petty_shared::api::alerts::{Alert, AlertStatus, AlertType};
use petty_shared::api::notifications::{Channel, EventKind, WebhookEvent, WebhookStatus};
use petty_shared::collar::{CollarLookup, recipients, role_of};
use petty_shared::delivery_job::{DeliveryJob, delay_s};
use petty_shared::dynamo::StoreError;
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::tables::notifications::{
    ATTEMPT_LEASE_MS, AttemptEnd, DeliveryKey, Destinations, NotificationsTable, OWNER_EMAIL, email_destination,
};
use petty_shared::webhook::signature;

use crate::domain::{RetryPolicy, Verdict, email, push_message, quiet_release_ms, seed_of, webhook_verdict};
use crate::webhook_client::{SendError, WebhookClient};

/// A webhook failing this long is disabled.
pub const DISABLE_AFTER_MS: i64 = 24 * 3_600_000;

/// Why a record must be retried by Lambda (storage or queue trouble; never a receiver's).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("queue: {0}")]
    Queue(String),
    #[error("notification key: {0}")]
    Secret(String),
}

/// What the notifier did, for its EMF line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// (channel, outcome) → count; outcomes `sent`, `retry`, `failed`, `held`, `gone`.
    pub counts: std::collections::BTreeMap<(Channel, &'static str), u32>,
    /// Deliveries skipped as already done or under way (re-delivered events).
    pub duplicates: u32,
}

impl Tally {
    fn add(&mut self, channel: Channel, outcome: &'static str) {
        *self.counts.entry((channel, outcome)).or_default() += 1;
    }

    pub fn count(&self, channel: Channel, outcome: &str) -> u32 {
        self.counts.iter().filter(|((c, o), _)| *c == channel && *o == outcome).map(|(_, n)| n).sum()
    }

    pub fn extend(&mut self, other: Tally) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.duplicates += other.duplicates;
    }
}

/// How one attempt went.
enum Sent {
    Verdict(Verdict),
    /// The destination is gone (removed, disabled, endpoint disabled, no address): the
    /// delivery ends without a dead letter.
    Gone(String),
}

/// The notifier over its clients; built once at cold start.
pub struct Notifier<C, S> {
    pub collars: C,
    pub notifications: NotificationsTable,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The owner's address (`USER#<id>`'s `email` and `email_verified` only).
    pub users: petty_shared::tables::users::UsersTable,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub sns: aws_sdk_sns::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub email_sender: String,
    pub secrets: Arc<SecretCache<S>>,
    pub key_secret_id: String,
    pub public_base_url: String,
    pub webhooks: WebhookClient,
    pub retry: RetryPolicy,
}

impl<C: CollarLookup, S: SecretSource> Notifier<C, S> {
    /// An alert opened or resolved: for the owner and each member of the household whose
    /// membership counts now, every destination their own settings name.
    pub async fn on_alert(
        &self,
        alert: &Alert,
        opened_ms: i64,
        event: EventKind,
        now_ms: i64,
    ) -> Result<Tally, NotifyError> {
        let Some(collar) = self.collars.collar(&alert.collar_id).await? else { return Ok(Tally::default()) };
        // An alert of a previous ownership is not the new owner's news.
        if opened_ms < collar.visible_from_ms() {
            return Ok(Tally::default());
        }
        let mut tally = Tally::default();
        for recipient in recipients(&self.collars, &collar, now_ms / 1000).await? {
            let dest = self.notifications.destinations(&recipient).await?;
            if event == EventKind::Resolved && !dest.settings.notify_resolved {
                continue;
            }
            let hold = quiet_release_ms(dest.settings.quiet_hours.as_ref(), alert.kind, now_ms);
            let targets = dest.targets(Some(alert.kind), &email_destination(&recipient, &collar.owner_id));
            tally.extend(self.start_all(targets, event, &recipient, alert, hold, &dest, now_ms).await?);
        }
        Ok(tally)
    }

    /// Whether `recipient` still hears about the alert's collar (its owner, or a member whose
    /// membership counts): a retry to someone removed from the household meanwhile ends.
    async fn still_hears(&self, recipient: &str, alert: &Alert, now_ms: i64) -> Result<bool, NotifyError> {
        let Some(collar) = self.collars.collar(&alert.collar_id).await? else { return Ok(false) };
        if collar.owner_id == recipient {
            return Ok(true);
        }
        let membership = self.collars.membership(&alert.collar_id, recipient).await?;
        Ok(role_of(&collar, membership.as_ref(), recipient, now_ms / 1000).is_some())
    }

    /// The owner's test: every destination, whatever the settings and the hour.
    pub async fn on_test(&self, owner: &str, test_id: &str, now_ms: i64) -> Result<Tally, NotifyError> {
        let dest = self.notifications.destinations(owner).await?;
        let alert = test_alert(test_id, now_ms);
        self.start_all(dest.targets(None, OWNER_EMAIL), EventKind::Test, owner, &alert, None, &dest, now_ms).await
    }

    /// A queued attempt: re-queued until due, then attempted if still the next one.
    pub async fn on_job(&self, job: DeliveryJob, now_ms: i64) -> Result<Tally, NotifyError> {
        match job {
            DeliveryJob::Test { owner_id, test_id } => self.on_test(&owner_id, &test_id, now_ms).await,
            DeliveryJob::Attempt { delivery, owner_id, done, due_ms, alert } => {
                let mut tally = Tally::default();
                if due_ms > now_ms + 1_000 {
                    let job = DeliveryJob::Attempt { delivery, owner_id, done, due_ms, alert };
                    self.enqueue(&job, due_ms, now_ms).await?;
                    return Ok(tally);
                }
                let Some(record) = self.notifications.delivery(&delivery).await? else { return Ok(tally) };
                let dest = self.notifications.destinations(&owner_id).await?;
                self.attempt(&delivery, &owner_id, &alert, done, record.first_ms, &dest, now_ms, &mut tally).await?;
                Ok(tally)
            }
        }
    }

    /// Every destination of one event side by side (one slow webhook does not hold up the
    /// push or the e-mail, nor the other webhooks).
    #[allow(clippy::too_many_arguments)]
    async fn start_all(
        &self,
        targets: Vec<(Channel, String)>,
        event: EventKind,
        owner: &str,
        alert: &Alert,
        hold: Option<i64>,
        dest: &Destinations,
        now_ms: i64,
    ) -> Result<Tally, NotifyError> {
        let runs = targets.into_iter().map(|(channel, destination_id)| async move {
            let key = DeliveryKey { alert_id: alert.alert_id.clone(), event, channel, destination_id };
            let mut tally = Tally::default();
            self.start(&key, owner, alert, hold, dest, now_ms, &mut tally).await.map(|()| tally)
        });
        let mut tally = Tally::default();
        for result in futures_util::future::join_all(runs).await {
            tally.extend(result?);
        }
        Ok(tally)
    }

    /// Claims a delivery and acts on its stored state: a new or orphaned one is attempted,
    /// a scheduled one (re-)queued, a done or running one left alone.
    #[allow(clippy::too_many_arguments)]
    async fn start(
        &self,
        key: &DeliveryKey,
        owner: &str,
        alert: &Alert,
        hold: Option<i64>,
        dest: &Destinations,
        now_ms: i64,
        tally: &mut Tally,
    ) -> Result<(), NotifyError> {
        use petty_shared::api::notifications::DeliveryStatus as St;
        let (record, created) = self.notifications.claim_delivery(key, owner, now_ms, hold).await?;
        match record.status {
            St::Held | St::Retrying => {
                // Queuing again is harmless: only the job whose `done` matches gets an attempt.
                let due = record.next_attempt_ms.unwrap_or(now_ms);
                let job = DeliveryJob::Attempt {
                    delivery: key.clone(),
                    owner_id: owner.to_owned(),
                    done: record.attempts,
                    due_ms: due,
                    alert: alert.clone(),
                };
                self.enqueue(&job, due, now_ms).await?;
                if created {
                    tally.add(key.channel, "held");
                } else {
                    tally.duplicates += 1;
                }
            }
            St::Pending if record.attempts == 0 || now_ms - record.updated_ms > ATTEMPT_LEASE_MS => {
                self.attempt(key, owner, alert, record.attempts, record.first_ms, dest, now_ms, tally).await?;
            }
            _ => tally.duplicates += 1,
        }
        Ok(())
    }

    /// Attempt `done + 1`, if no one else took it.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        key: &DeliveryKey,
        owner: &str,
        alert: &Alert,
        done: u32,
        first_ms: i64,
        dest: &Destinations,
        now_ms: i64,
        tally: &mut Tally,
    ) -> Result<(), NotifyError> {
        if !self.notifications.begin_attempt(key, done, now_ms).await? {
            tally.duplicates += 1;
            return Ok(());
        }
        let attempt = done + 1;
        let sent = if key.event != EventKind::Test && !self.still_hears(owner, alert, now_ms).await? {
            Sent::Gone("not_in_household".into())
        } else {
            self.send(key, owner, alert, dest, now_ms).await?
        };
        let (end, outcome) = match sent {
            Sent::Verdict(Verdict::Delivered) => (AttemptEnd::Delivered, "sent"),
            Sent::Gone(error) => (AttemptEnd::Failed { error }, "gone"),
            Sent::Verdict(Verdict::Retry(error)) => {
                match self.retry.next_attempt_ms(attempt, first_ms, now_ms, seed_of(&key.idempotency_id())) {
                    Some(next_ms) => {
                        // Queued before it is recorded: a crash between leaves a job that
                        // finds the attempt still `pending` and takes it (never a lost retry).
                        let job = DeliveryJob::Attempt {
                            delivery: key.clone(),
                            owner_id: owner.to_owned(),
                            done: attempt,
                            due_ms: next_ms,
                            alert: alert.clone(),
                        };
                        self.enqueue(&job, next_ms, now_ms).await?;
                        (AttemptEnd::Retry { next_ms, error }, "retry")
                    }
                    None => (
                        AttemptEnd::Failed { error: format!("{error} (out of retries after {attempt} attempts)") },
                        "failed",
                    ),
                }
            }
            Sent::Verdict(Verdict::Fail(error)) => (AttemptEnd::Failed { error }, "failed"),
        };
        if outcome == "failed" {
            let AttemptEnd::Failed { error } = &end else { unreachable!() };
            self.dead_letter(key, owner, alert, attempt, error, now_ms).await?;
            if key.channel == Channel::Webhook {
                self.notifications.webhook_failed(owner, &key.destination_id, error, now_ms, DISABLE_AFTER_MS).await?;
            }
        }
        if outcome == "sent" && key.channel == Channel::Webhook {
            self.notifications.webhook_recovered(owner, &key.destination_id).await?;
        }
        self.notifications.end_attempt(key, attempt, &end, now_ms).await?;
        tracing::info!(
            alert_id = %key.alert_id,
            channel = key.channel.as_str(),
            destination_id = %key.destination_id,
            event = key.event.as_str(),
            attempt,
            outcome,
            "delivery attempt"
        );
        tally.add(key.channel, outcome);
        Ok(())
    }

    async fn send(
        &self,
        key: &DeliveryKey,
        owner: &str,
        alert: &Alert,
        dest: &Destinations,
        now_ms: i64,
    ) -> Result<Sent, NotifyError> {
        Ok(match key.channel {
            Channel::Webhook => {
                let Some(hook) = dest.webhooks.iter().find(|w| w.webhook_id == key.destination_id) else {
                    return Ok(Sent::Gone("destination_removed".into()));
                };
                if hook.status == WebhookStatus::Disabled {
                    return Ok(Sent::Gone("webhook_disabled".into()));
                }
                let body = WebhookEvent {
                    id: key.idempotency_id(),
                    event: key.event,
                    created_at: petty_shared::api::format_ms(now_ms),
                    alert: alert.clone(),
                };
                let body = serde_json::to_vec(&body).expect("a webhook event serializes");
                let headers = [
                    ("content-type", "application/json".to_owned()),
                    ("user-agent", "Petty-Webhooks/1".to_owned()),
                    ("petty-delivery-id", key.idempotency_id()),
                    ("petty-signature", signature(&hook.secret, now_ms / 1000, &body)),
                ];
                match self.webhooks.post(&hook.url, &headers, body).await {
                    Ok(status) => Sent::Verdict(webhook_verdict(status)),
                    // A name that does not resolve may resolve later (a DNS outage): retried.
                    Err(SendError::Refused(r)) if r.code == "dns_failed" => {
                        Sent::Verdict(Verdict::Retry(r.code.to_owned()))
                    }
                    Err(SendError::Refused(r)) => Sent::Verdict(Verdict::Fail(r.code.to_owned())),
                    Err(other) => Sent::Verdict(Verdict::Retry(other.to_string())),
                }
            }
            Channel::Email => {
                let Some((address, verified)) = self.users.contact(owner).await? else {
                    return Ok(Sent::Gone("no_address".into()));
                };
                // Alert mail goes to addresses the owner proved they read.
                if !verified {
                    return Ok(Sent::Gone("email_unverified".into()));
                }
                let key_secret =
                    self.secrets.get(&self.key_secret_id).await.map_err(|e| NotifyError::Secret(e.to_string()))?;
                let token = petty_shared::unsubscribe::token(key_secret.value.expose(), owner, alert.kind);
                let link = format!("{}/v1/notifications/unsubscribe?token={token}", self.public_base_url);
                let (subject, text, html) = email(alert, key.event, &link);
                let content =
                    |data: String| Content::builder().data(data).charset("UTF-8").build().expect("data is set");
                // RFC 8058 one-click: mail clients offer "unsubscribe" and POST to the link.
                let header =
                    |name: &str, value: String| MessageHeader::builder().name(name).value(value).build().expect("set");
                let message = Message::builder()
                    .subject(content(subject))
                    .body(Body::builder().text(content(text)).html(content(html)).build())
                    .headers(header("List-Unsubscribe", format!("<{link}>")))
                    .headers(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()))
                    .build();
                let sent = self
                    .ses
                    .send_email()
                    .from_email_address(&self.email_sender)
                    .destination(Destination::builder().to_addresses(address).build())
                    .content(EmailContent::builder().simple(message).build())
                    .send()
                    .await;
                match sent {
                    Ok(_) => Sent::Verdict(Verdict::Delivered),
                    Err(e) => Sent::Verdict(aws_verdict(&e)),
                }
            }
            Channel::Push => {
                let Some(device) = dest.devices.iter().find(|d| d.device_id == key.destination_id) else {
                    return Ok(Sent::Gone("destination_removed".into()));
                };
                let published = self
                    .sns
                    .publish()
                    .target_arn(&device.endpoint_arn)
                    .message_structure("json")
                    .message(push_message(alert, key.event))
                    .send()
                    .await;
                match published {
                    Ok(_) => Sent::Verdict(Verdict::Delivered),
                    Err(e) if aws_code(&e) == Some("EndpointDisabled") => {
                        // SNS (APNs/FCM feedback) says the token is dead: remove the device.
                        let _ = self.sns.delete_endpoint().endpoint_arn(&device.endpoint_arn).send().await;
                        self.notifications.delete_device(owner, &device.device_id).await?;
                        Sent::Gone("endpoint_disabled: device removed".into())
                    }
                    Err(e) => Sent::Verdict(aws_verdict(&e)),
                }
            }
        })
    }

    async fn enqueue(&self, job: &DeliveryJob, due_ms: i64, now_ms: i64) -> Result<(), NotifyError> {
        let body = serde_json::to_string(job).expect("a job serializes");
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(delay_s(due_ms, now_ms))
            .send()
            .await
            .map_err(|e| NotifyError::Queue(petty_shared::sdk_error::error_summary(&e)))?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        key: &DeliveryKey,
        owner: &str,
        alert: &Alert,
        attempts: u32,
        error: &str,
        now_ms: i64,
    ) -> Result<(), NotifyError> {
        let job = DeliveryJob::Attempt {
            delivery: key.clone(),
            owner_id: owner.to_owned(),
            done: attempts,
            due_ms: now_ms,
            alert: alert.clone(),
        };
        let body = serde_json::json!({"job": job, "error": error, "attempts": attempts,
            "failed_at": petty_shared::api::format_ms(now_ms)});
        self.sqs
            .send_message()
            .queue_url(&self.dlq_url)
            .message_body(body.to_string())
            .send()
            .await
            .map_err(|e| NotifyError::Queue(petty_shared::sdk_error::error_summary(&e)))?;
        Ok(())
    }
}

fn test_alert(test_id: &str, now_ms: i64) -> Alert {
    Alert {
        alert_id: format!("test.{test_id}"),
        kind: AlertType::ZoneExit,
        status: AlertStatus::Open,
        collar_id: "test".into(),
        zone_id: None,
        opened_at: petty_shared::api::format_ms(now_ms),
        value: 0.0,
        threshold: 0.0,
        unit: "m".into(),
        reading: None,
        acknowledged_at: None,
        resolved_at: None,
        resolved_by: None,
    }
}

fn aws_code<E: aws_sdk_sns::error::ProvideErrorMetadata, R>(e: &aws_sdk_sns::error::SdkError<E, R>) -> Option<&str> {
    match e {
        aws_sdk_sns::error::SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

/// Throttling, 5xx and transport trouble are tried again; a refused request is not.
fn aws_verdict<E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &aws_sdk_sns::error::SdkError<E, R>,
) -> Verdict {
    use aws_sdk_sns::error::SdkError;
    match e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("unknown").to_owned();
            let retry = matches!(
                code.as_str(),
                "Throttling"
                    | "ThrottlingException"
                    | "TooManyRequestsException"
                    | "InternalError"
                    | "InternalFailure"
                    | "ServiceUnavailable"
                    | "KMSThrottling"
            );
            if retry { Verdict::Retry(code) } else { Verdict::Fail(code) }
        }
        _ => Verdict::Retry("unreachable".into()),
    }
}
