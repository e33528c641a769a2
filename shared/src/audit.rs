//! The audit trail: one structured log line per security-relevant action, with a stable
//! marker (`"audit": true`, `"message": "AUDIT <action>"`), the actor, the source IP and the
//! outcome, never a secret; and, through an [`AuditStore`], kept per user for their
//! "recent activity" page.

use std::future::Future;

use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamo::{StoreError, get_n, get_s};

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// e.g. `login`, `refresh_reuse`, `api_key_created`.
    pub action: String,
    /// `success`, `failure`, `denied`, `revoked`...
    pub outcome: String,
    /// The user the event concerns, when known.
    pub user_id: Option<String>,
    /// Where the request came from.
    pub source_ip: Option<String>,
    /// Unix seconds.
    pub at: i64,
    /// Non-secret context (a key id, a reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event happening now.
    pub fn now(action: &str, outcome: &str, user_id: Option<&str>, source_ip: Option<&str>) -> Self {
        Self {
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            user_id: user_id.map(str::to_owned),
            source_ip: source_ip.map(str::to_owned),
            at: chrono::Utc::now().timestamp(),
            detail: None,
        }
    }

    /// Adds non-secret context.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Writes the audit log line.
    pub fn log(&self) {
        tracing::info!(
            audit = true,
            action = %self.action,
            outcome = %self.outcome,
            actor = self.user_id.as_deref().unwrap_or("anonymous"),
            source_ip = self.source_ip.as_deref().unwrap_or("unknown"),
            detail = self.detail.as_deref().unwrap_or(""),
            "AUDIT {}",
            self.action
        );
    }
}

/// Where per-user events are kept.
pub trait AuditStore: Send + Sync {
    /// Stores an event for its user (events without a user are only logged).
    fn record(&self, event: &AuditEvent) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Logs the event and stores it; a storage failure is logged, never fails the request.
pub async fn emit<A: AuditStore>(store: &A, event: AuditEvent) {
    event.log();
    if event.user_id.is_some() {
        if let Err(err) = store.record(&event).await {
            tracing::error!(action = %event.action, error = %err, "audit event not stored");
        }
    }
}

/// [`AuditStore`] over the audit table: `user_id` + `sk` (`<unix ms>#<seq>#<random>`), TTL
/// `expires_at`. Any function that authenticates API keys writes first uses here.
#[derive(Clone, Debug)]
pub struct DynamoAudit {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention_s: i64,
}

impl DynamoAudit {
    /// Events in `table`, kept for `retention_days`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, retention_days: i64) -> Self {
        Self { client, table: table.into(), retention_s: retention_days * 86_400 }
    }

    /// The user's most recent events, newest first.
    pub async fn recent(&self, user_id: &str, limit: i32) -> Result<Vec<AuditEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", AttributeValue::S(user_id.to_owned()))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| {
                Some(AuditEvent {
                    action: get_s(i, "action")?,
                    outcome: get_s(i, "outcome")?,
                    user_id: get_s(i, "user_id"),
                    source_ip: get_s(i, "source_ip"),
                    at: get_n(i, "at")?,
                    detail: get_s(i, "detail"),
                })
            })
            .collect())
    }
}

/// Milliseconds, then a per-process sequence: events of one instance keep their order even
/// within a millisecond; a random tail keeps instances apart.
fn sort_key() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1_000_000;
    let ms = chrono::Utc::now().timestamp_millis();
    format!("{ms:013}#{seq:06}#{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

impl AuditStore for DynamoAudit {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let Some(user_id) = &event.user_id else { return Ok(()) };
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: i64| AttributeValue::N(v.to_string());
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("user_id", s(user_id))
            .item("sk", s(&sort_key()))
            .item("action", s(&event.action))
            .item("outcome", s(&event.outcome))
            .item("at", n(event.at))
            .item("expires_at", n(event.at + self.retention_s));
        if let Some(ip) = &event.source_ip {
            req = req.item("source_ip", s(ip));
        }
        if let Some(detail) = &event.detail {
            req = req.item("detail", s(detail));
        }
        req.send().await.map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }
}
