//! Petty's notifications function: where an owner's alerts go. Webhooks (the signing secret
//! shown once; the URL checked against the SSRF rules, DNS included), push devices (SNS
//! platform endpoints; the token is handed to SNS, not kept), per-type channels and quiet
//! hours, a test to every destination, and the e-mail unsubscribe link. Delivering is the
//! notifier's work; this function only queues the owner's test.

pub mod config;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api::notifications::{
    self as wire, DEVICE_TOKEN_MAX, DeviceCreate, MAX_DEVICES, MAX_WEBHOOKS, NotificationSettings, Platform,
    WEBHOOK_NAME_MAX, WebhookCreate, WebhookStatus,
};
use petty_shared::audit::AuditStore;
use petty_shared::auth::{ApiKeyStore, Principal};
use petty_shared::delivery_job::DeliveryJob;
use petty_shared::edge::Edge;
use petty_shared::http::router::Matched;
use petty_shared::http::{
    ApiError, Handler, Invocation, RouteSpec, json_body, json_response, no_content, query_param, route,
};
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::notifications::{NotificationsTable, StoredDevice, StoredWebhook};

pub use config::NotificationsConfig;

/// The service name in logs and metrics.
pub const SERVICE: &str = "notifications";
/// Destinations and settings are changed by a person (never an API key) with this scope.
const MANAGE: &str = "collars:manage";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    CreateWebhook,
    ListWebhooks,
    DeleteWebhook,
    CreateDevice,
    ListDevices,
    DeleteDevice,
    GetSettings,
    PutSettings,
    Test,
    Unsubscribe,
    UnsubscribeOneClick,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("POST", "/v1/notifications/webhooks", Route::CreateWebhook),
    route("GET", "/v1/notifications/webhooks", Route::ListWebhooks),
    route("DELETE", "/v1/notifications/webhooks/{webhook_id}", Route::DeleteWebhook),
    route("POST", "/v1/notifications/devices", Route::CreateDevice),
    route("GET", "/v1/notifications/devices", Route::ListDevices),
    route("DELETE", "/v1/notifications/devices/{device_id}", Route::DeleteDevice),
    route("GET", "/v1/notifications/settings", Route::GetSettings),
    route("PUT", "/v1/notifications/settings", Route::PutSettings),
    route("POST", "/v1/notifications/test", Route::Test),
    route("GET", "/v1/notifications/unsubscribe", Route::Unsubscribe),
    route("POST", "/v1/notifications/unsubscribe", Route::UnsubscribeOneClick),
];

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("system RNG");
    B64.encode(buf)
}

/// An id of `[A-Za-z0-9_-]{1,64}` (a path parameter before any lookup).
fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn unavailable(what: &str) -> ApiError {
    ApiError::Unavailable { message: format!("{what} is unavailable, try again"), retry_after_s: Some(1) }
}

/// The handler over the notifications table, SNS (push endpoints) and SQS (tests).
pub struct NotificationsApp<S, K = ApiKeysTable, A = AuditTable> {
    edge: Edge<S, K, A>,
    secrets: Arc<SecretCache<S>>,
    table: NotificationsTable,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    cfg: NotificationsConfig,
}

impl<S: SecretSource> NotificationsApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(
        cfg: &NotificationsConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        sns: aws_sdk_sns::Client,
        sqs: aws_sdk_sqs::Client,
        secrets: Arc<SecretCache<S>>,
    ) -> Self {
        Self {
            edge: Edge::new(&cfg.common, &cfg.routes, dynamodb.clone(), Arc::clone(&secrets)),
            secrets,
            table: NotificationsTable::new(dynamodb, cfg.notifications_table.clone()),
            sns,
            sqs,
            cfg: cfg.clone(),
        }
    }
}

impl<S, K, A> NotificationsApp<S, K, A>
where
    S: SecretSource,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    async fn user(&self, req: &Request) -> Result<Principal, ApiError> {
        self.edge.require_user(req, MANAGE).await
    }

    async fn create_webhook(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let body: WebhookCreate = json_body(req)?;
        if let Some(name) = &body.name {
            if name.trim().is_empty() || name.chars().count() > WEBHOOK_NAME_MAX || name.chars().any(char::is_control) {
                return Err(ApiError::bad_request("invalid_name", "name must be 1 to 50 printable characters"));
            }
        }
        let refused = |r: petty_shared::webhook::Refusal| {
            ApiError::bad_request("invalid_webhook_url", format!("{}: {}", r.code, r.message))
        };
        let target = self.cfg.webhook_policy.check_url(&body.url).map_err(refused)?;
        self.cfg.webhook_policy.resolve(&target).await.map_err(refused)?;
        let dest = self.table.destinations(&principal.user_id).await?;
        if dest.webhooks.len() >= MAX_WEBHOOKS {
            return Err(ApiError::Conflict(format!(
                "an account has at most {MAX_WEBHOOKS} webhooks: remove one first"
            )));
        }
        let hook = StoredWebhook {
            webhook_id: format!("wh_{}", uuid::Uuid::new_v4().simple()),
            url: body.url,
            name: body.name,
            secret: format!("whsec_{}", random_b64(32)),
            status: WebhookStatus::Active,
            created_ms: now_ms(),
            failing_since_ms: None,
            last_error: None,
            disabled_reason: None,
        };
        self.table.put_webhook(&principal.user_id, &hook).await?;
        tracing::info!(webhook_id = %hook.webhook_id, "webhook registered");
        json_response(StatusCode::CREATED, &wire::WebhookCreated { webhook: hook.view(), secret: hook.secret.clone() })
    }

    async fn list_webhooks(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let dest = self.table.destinations(&principal.user_id).await?;
        json_response(
            StatusCode::OK,
            &wire::WebhookList { webhooks: dest.webhooks.iter().map(StoredWebhook::view).collect() },
        )
    }

    async fn delete_webhook(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let id = m.param("webhook_id");
        if !is_id(id) || !self.table.delete_webhook(&principal.user_id, id).await? {
            return Err(ApiError::NotFound("no such webhook".into()));
        }
        Ok(no_content())
    }

    fn platform_app(&self, platform: Platform) -> Option<&str> {
        let arn = match platform {
            Platform::Apns => &self.cfg.apns_platform_app_arn,
            Platform::Fcm => &self.cfg.fcm_platform_app_arn,
        };
        (!arn.is_empty()).then_some(arn.as_str())
    }

    async fn create_device(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let body: DeviceCreate = json_body(req)?;
        let token = body.token.trim();
        if token.is_empty() || token.len() > DEVICE_TOKEN_MAX || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::bad_request("invalid_token", "token must be 1 to 4096 printable ASCII characters"));
        }
        let Some(app) = self.platform_app(body.platform) else {
            return Err(ApiError::Unprocessable {
                code: "platform_not_configured",
                message: format!("push through {} is not configured on this stack", body.platform.as_str()),
            });
        };
        let token_hash = petty_shared::api_key::hash_secret(token);
        let dest = self.table.destinations(&principal.user_id).await?;
        if let Some(existing) = dest.devices.iter().find(|d| d.token_hash == token_hash && d.platform == body.platform)
        {
            return json_response(StatusCode::OK, &existing.view());
        }
        if dest.devices.len() >= MAX_DEVICES {
            return Err(ApiError::Conflict(format!("an account has at most {MAX_DEVICES} devices: remove one first")));
        }
        let device_id = format!("dev_{}", uuid::Uuid::new_v4().simple());
        let created = self
            .sns
            .create_platform_endpoint()
            .platform_application_arn(app)
            .token(token)
            .custom_user_data(&device_id)
            .send()
            .await;
        let endpoint_arn = match created {
            Ok(out) => out.endpoint_arn.ok_or_else(|| unavailable("push registration"))?,
            Err(e) => {
                let code = match &e {
                    aws_sdk_sns::error::SdkError::ServiceError(se) => {
                        aws_sdk_sns::error::ProvideErrorMetadata::code(se.err()).map(str::to_owned)
                    }
                    _ => None,
                };
                return Err(match code.as_deref() {
                    Some("InvalidParameter") => {
                        ApiError::bad_request("invalid_token", "the push service refused the token")
                    }
                    _ => unavailable("push registration"),
                });
            }
        };
        let device =
            StoredDevice { device_id, platform: body.platform, endpoint_arn, token_hash, created_ms: now_ms() };
        self.table.put_device(&principal.user_id, &device).await?;
        json_response(StatusCode::CREATED, &device.view())
    }

    async fn list_devices(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let dest = self.table.destinations(&principal.user_id).await?;
        json_response(
            StatusCode::OK,
            &wire::DeviceList { devices: dest.devices.iter().map(StoredDevice::view).collect() },
        )
    }

    async fn delete_device(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let id = m.param("device_id");
        let removed = if is_id(id) { self.table.delete_device(&principal.user_id, id).await? } else { None };
        let Some(device) = removed else { return Err(ApiError::NotFound("no such device".into())) };
        // The endpoint goes too; if SNS fails here the endpoint is orphaned, never used again.
        if let Err(e) = self.sns.delete_endpoint().endpoint_arn(&device.endpoint_arn).send().await {
            tracing::warn!(error = %petty_shared::sdk_error::error_summary(&e), "push endpoint not deleted");
        }
        Ok(no_content())
    }

    async fn get_settings(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        json_response(StatusCode::OK, &self.table.destinations(&principal.user_id).await?.settings)
    }

    async fn put_settings(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let settings: NotificationSettings = json_body(req)?;
        settings.validate().map_err(|m| ApiError::bad_request("invalid_notification_settings", m))?;
        let settings = settings.normalized();
        self.table.put_settings(&principal.user_id, &settings).await?;
        json_response(StatusCode::OK, &settings)
    }

    async fn test(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req).await?;
        let dest = self.table.destinations(&principal.user_id).await?;
        let test_id = uuid::Uuid::new_v4().simple().to_string();
        let job = DeliveryJob::Test { owner_id: principal.user_id.clone(), test_id: test_id.clone() };
        self.sqs
            .send_message()
            .queue_url(&self.cfg.delivery_queue_url)
            .message_body(serde_json::to_string(&job).expect("a job serializes"))
            .send()
            .await
            .map_err(|e| {
                tracing::error!(error = %petty_shared::sdk_error::error_summary(&e), "test not queued");
                unavailable("the delivery queue")
            })?;
        let deliveries = dest
            .targets(None, petty_shared::tables::notifications::OWNER_EMAIL)
            .into_iter()
            .map(|(channel, destination_id)| wire::TestTarget { channel, destination_id })
            .collect();
        json_response(StatusCode::ACCEPTED, &wire::TestQueued { test_id, deliveries })
    }

    /// The e-mail link: turns e-mail off for the token's alert type (idempotent).
    async fn unsubscribe(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let invalid = || ApiError::bad_request("invalid_token", "the unsubscribe link is invalid");
        let token = query_param(req, "token").ok_or_else(invalid)?;
        let key =
            self.secrets.get(&self.cfg.notification_key_secret_id).await.map_err(|_| unavailable("unsubscribing"))?;
        let (user_id, kind) = petty_shared::unsubscribe::verify(key.value.expose(), &token).ok_or_else(invalid)?;
        let mut settings = self.table.destinations(&user_id).await?.settings;
        if let Some(list) = settings.channels.get_mut(&kind) {
            list.retain(|c| *c != wire::Channel::Email);
        }
        self.table.put_settings(&user_id, &settings).await?;
        tracing::info!(alert_type = kind.as_str(), "e-mail unsubscribed by link");
        json_response(StatusCode::OK, &wire::Unsubscribed { kind, channel: wire::Channel::Email })
    }
}

impl<S, K, A> Handler for NotificationsApp<S, K, A>
where
    S: SecretSource,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    async fn handle(&self, req: Request, _inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let m = petty_shared::http::router::find(ROUTES, &req)?;
        match m.route {
            Route::CreateWebhook => Box::pin(self.create_webhook(&req)).await,
            Route::ListWebhooks => Box::pin(self.list_webhooks(&req)).await,
            Route::DeleteWebhook => Box::pin(self.delete_webhook(&req, &m)).await,
            Route::CreateDevice => Box::pin(self.create_device(&req)).await,
            Route::ListDevices => Box::pin(self.list_devices(&req)).await,
            Route::DeleteDevice => Box::pin(self.delete_device(&req, &m)).await,
            Route::GetSettings => Box::pin(self.get_settings(&req)).await,
            Route::PutSettings => Box::pin(self.put_settings(&req)).await,
            Route::Test => Box::pin(self.test(&req)).await,
            Route::Unsubscribe | Route::UnsubscribeOneClick => Box::pin(self.unsubscribe(&req)).await,
        }
    }
}
