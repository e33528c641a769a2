//! The audit trail: one structured log line per security-relevant action, with a stable
//! marker (`"audit": true`, `"message": "AUDIT <action>"`), the actor, the source IP and the
//! outcome, never a secret; and, through an [`AuditStore`], kept per user for their
//! "recent activity" page.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::dynamo::StoreError;

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
