//! What every data route does at the edge, wired once per function: authenticate the caller
//! and require a scope, audit, and sign pagination cursors.

use std::sync::Arc;

use lambda_http::Request;

use crate::audit::AuditStore;
use crate::auth::{ApiKeyStore, Authenticator, Principal};
use crate::config::{CommonConfig, DataRouteConfig};
use crate::cursor::CursorCodec;
use crate::http::ApiError;
use crate::jwt::Verifier;
use crate::secrets::{SecretCache, SecretSource};
use crate::tables::api_keys::ApiKeysTable;
use crate::tables::audit::AuditTable;

/// The data routes' edge: bearer tokens and API keys, the audit trail, cursors. In Lambda over
/// the API keys and audit tables; in unit tests over `crate::testing`'s doubles.
pub struct Edge<S, K = ApiKeysTable, A = AuditTable> {
    /// Bearer tokens and API keys (first uses audited).
    pub auth: Authenticator<S, K, A>,
    /// Where the function's own security events go.
    pub audit: A,
    secrets: Arc<SecretCache<S>>,
    cursor_key_secret_id: String,
}

impl<S: SecretSource> Edge<S> {
    /// Wires it at cold start from the function's settings.
    pub fn new(
        common: &CommonConfig,
        routes: &DataRouteConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        secrets: Arc<SecretCache<S>>,
    ) -> Self {
        let audit = AuditTable::new(dynamodb.clone(), routes.audit_table.clone(), routes.audit_retention_days);
        let verifier = Verifier::new(secrets.clone(), common.public_keys_secret_id.clone(), &common.jwt_settings());
        let keys = ApiKeysTable::new(dynamodb, routes.api_keys_table.clone());
        Self {
            auth: Authenticator::new(verifier, Some(keys), audit.clone()),
            audit,
            secrets,
            cursor_key_secret_id: routes.cursor_key_secret_id.clone(),
        }
    }
}

impl<S: SecretSource, K: ApiKeyStore, A: AuditStore + Clone> Edge<S, K, A> {
    /// An edge from its parts (tests wire in-memory doubles this way).
    pub fn from_parts(
        auth: Authenticator<S, K, A>,
        audit: A,
        secrets: Arc<SecretCache<S>>,
        cursor_key_secret_id: impl Into<String>,
    ) -> Self {
        Self { auth, audit, secrets, cursor_key_secret_id: cursor_key_secret_id.into() }
    }

    /// The caller, holding `scope`.
    pub async fn require(&self, req: &Request, scope: &str) -> Result<Principal, ApiError> {
        self.auth.require(req, scope).await
    }

    /// The caller, a person (not an API key) holding `scope`.
    pub async fn require_user(&self, req: &Request, scope: &str) -> Result<Principal, ApiError> {
        self.auth.require_user(req, scope).await
    }

    /// The pagination cursor codec, over the key from Secrets Manager (cached).
    pub async fn cursor_codec(&self) -> Result<CursorCodec, ApiError> {
        Ok(CursorCodec::from_secret(&self.secrets, &self.cursor_key_secret_id).await?)
    }
}
