//! The notifier's settings.

use std::time::Duration;

use petty_shared::config::{ConfigError, Env, FromEnv};
use petty_shared::webhook::WebhookPolicy;

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// Deployment stage: a metric dimension.
    pub stage: String,
    /// Collars: the owner an alert's collar belongs to, since when.
    pub collars_table: String,
    /// Households: whom the collar is shared with.
    pub members_table: String,
    /// Destinations, settings and the delivery log.
    pub notifications_table: String,
    /// The owner's address (read-only: `USER#<id>`'s `email`).
    pub users_table: String,
    /// Retries and quiet-hours holds.
    pub delivery_queue_url: String,
    /// Deliveries out of retries.
    pub delivery_dlq_url: String,
    /// The verified SES identity alerts are sent from.
    pub email_sender: String,
    /// The HMAC key of unsubscribe links.
    pub notification_key_secret_id: String,
    /// The API's address, for unsubscribe links.
    pub public_base_url: String,
    pub webhook_policy: WebhookPolicy,
    /// One webhook attempt's whole budget (DNS, connect, TLS, answer).
    pub webhook_timeout: Duration,
    pub secret_ttl: Duration,
}

impl FromEnv for NotifierConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            stage: env.required("STAGE")?,
            collars_table: env.required("COLLARS_TABLE")?,
            members_table: env.required("MEMBERS_TABLE")?,
            notifications_table: env.required("NOTIFICATIONS_TABLE")?,
            users_table: env.required("USERS_TABLE")?,
            delivery_queue_url: env.required("DELIVERY_QUEUE_URL")?,
            delivery_dlq_url: env.required("DELIVERY_DLQ_URL")?,
            email_sender: env.required("EMAIL_SENDER")?,
            notification_key_secret_id: env.required("NOTIFICATION_KEY_SECRET_ID")?,
            public_base_url: env.required("PUBLIC_BASE_URL")?.trim_end_matches('/').to_owned(),
            webhook_policy: WebhookPolicy::from_env(env)?,
            webhook_timeout: env.seconds_or("WEBHOOK_TIMEOUT_SECONDS", 10, 30)?,
            secret_ttl: env.seconds_or("SECRET_TTL_SECONDS", 300, 3_600)?,
        })
    }
}
