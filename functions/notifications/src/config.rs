//! The notifications function's settings.

use petty_shared::config::{CommonConfig, ConfigError, DataRouteConfig, Env, FromEnv};
use petty_shared::webhook::WebhookPolicy;

#[derive(Debug, Clone)]
pub struct NotificationsConfig {
    pub common: CommonConfig,
    /// API keys, the audit trail and cursors.
    pub routes: DataRouteConfig,
    /// Destinations and settings.
    pub notifications_table: String,
    /// Owners' tests are queued here for the notifier.
    pub delivery_queue_url: String,
    /// The HMAC key of unsubscribe links.
    pub notification_key_secret_id: String,
    /// SNS platform applications; empty: that platform is not offered.
    pub apns_platform_app_arn: String,
    pub fcm_platform_app_arn: String,
    pub webhook_policy: WebhookPolicy,
}

impl FromEnv for NotificationsConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            routes: DataRouteConfig::from_env(env)?,
            notifications_table: env.required("NOTIFICATIONS_TABLE")?,
            delivery_queue_url: env.required("DELIVERY_QUEUE_URL")?,
            notification_key_secret_id: env.required("NOTIFICATION_KEY_SECRET_ID")?,
            apns_platform_app_arn: env.optional("APNS_PLATFORM_APP_ARN").unwrap_or_default().to_owned(),
            fcm_platform_app_arn: env.optional("FCM_PLATFORM_APP_ARN").unwrap_or_default().to_owned(),
            webhook_policy: WebhookPolicy::from_env(env)?,
        })
    }
}
