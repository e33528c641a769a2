//! Who is calling: one extractor for every function. `Authorization: Bearer <jwt>` or
//! `X-Api-Key: pty_...` becomes a typed [`Principal`]; 401 when missing or invalid, 403 when a
//! scope is missing. Access to a collar (another owner's collar is a 404) is checked with this
//! principal by [`crate::collar::owned`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lambda_http::Request;
use lambda_http::http::header;

use crate::api_key;
use crate::audit::{self, AuditEvent, AuditStore};
use crate::dynamo::StoreError;
use crate::http::{ApiError, bearer_token, source_ip};
use crate::jwt::{TokenType, Verifier};
use crate::secrets::SecretSource;

/// Scopes a new account gets.
pub const USER_SCOPES: &[&str] =
    &["collars:manage", "readings:read", "readings:write", "timeline:read", "feedback:write", "api-keys:manage"];
/// Scopes an API key may carry (a subset of its owner's).
pub const API_KEY_SCOPES: &[&str] = &["readings:read", "readings:write", "timeline:read"];
/// How long a verified API key is trusted from memory (revocation reaches warm instances of
/// other functions within this time; the auth function itself forgets a revoked key at once).
pub const API_KEY_CACHE_TTL: Duration = Duration::from_secs(30);
/// `last_used_at` is written at most this often per key (no write per request).
pub const LAST_USED_GRANULARITY_S: i64 = 3600;

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    ApiKey,
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub scopes: Vec<String>,
    pub kind: PrincipalKind,
    /// For API keys limited to some collars; empty means not limited.
    pub collar_ids: Vec<String>,
    /// The refresh family an access token belongs to (for revocation checks).
    pub token_family: Option<String>,
    /// The API key id, for API-key principals.
    pub key_id: Option<String>,
}

impl Principal {
    /// 403 unless the principal holds `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the `{scope}` scope is required")))
        }
    }

    /// 403 unless the principal may act on `collar_id` (API keys can be limited to collars).
    pub fn require_collar(&self, collar_id: &str) -> Result<(), ApiError> {
        if self.collar_ids.is_empty() || self.collar_ids.iter().any(|c| c == collar_id) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this API key is not valid for that collar".into()))
        }
    }
}

/// An API key as stored (the hash, never the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub user_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub collar_ids: Vec<String>,
    pub secret_hash: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    pub last_used_at: Option<i64>,
}

/// Reading API keys, and noting their use.
pub trait ApiKeyStore: Send + Sync {
    /// The key with this id, if any.
    fn get(&self, key_id: &str) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;
    /// Sets `last_used_at = now` unless it is newer than `not_after`; true on first use ever.
    fn touch(&self, key_id: &str, now: i64, not_after: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// An audit store that only logs (functions that keep no per-user events).
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOnlyAudit;

impl AuditStore for LogOnlyAudit {
    async fn record(&self, _event: &AuditEvent) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Verifies bearer tokens and API keys, caching verified keys briefly.
pub struct Authenticator<S, K, A = LogOnlyAudit> {
    verifier: Verifier<S>,
    keys: Option<K>,
    audit: A,
    cache: Mutex<HashMap<String, (Instant, ApiKeyRecord)>>,
}

impl<S: SecretSource, K: ApiKeyStore, A: AuditStore> Authenticator<S, K, A> {
    /// Accepts bearer tokens, and API keys when `keys` is given.
    pub fn new(verifier: Verifier<S>, keys: Option<K>, audit: A) -> Self {
        Self { verifier, keys, audit, cache: Mutex::new(HashMap::new()) }
    }

    /// The caller, who must hold `scope` (401 without credentials, 403 without the scope).
    pub async fn require(&self, req: &Request, scope: &str) -> Result<Principal, ApiError> {
        let principal = self.authenticate(req).await?;
        principal.require_scope(scope)?;
        Ok(principal)
    }

    /// The caller, who must be a person (a bearer token): API keys are refused (403).
    pub async fn user(&self, req: &Request) -> Result<Principal, ApiError> {
        let principal = self.authenticate(req).await?;
        if principal.kind != PrincipalKind::User {
            return Err(ApiError::Forbidden("this route needs a user's token, not an API key".into()));
        }
        Ok(principal)
    }

    /// [`Self::user`] holding `scope`.
    pub async fn require_user(&self, req: &Request, scope: &str) -> Result<Principal, ApiError> {
        let principal = self.user(req).await?;
        principal.require_scope(scope)?;
        Ok(principal)
    }

    /// The verifier, taken back (to wire another authenticator over the same keys).
    pub fn into_verifier(self) -> Verifier<S> {
        self.verifier
    }

    /// The token verifier (for refresh tokens and the like).
    pub fn verifier(&self) -> &Verifier<S> {
        &self.verifier
    }

    /// The caller, from `Authorization: Bearer` or `X-Api-Key`.
    pub async fn authenticate(&self, req: &Request) -> Result<Principal, ApiError> {
        if req.headers().contains_key(header::AUTHORIZATION) {
            let token = bearer_token(req)?;
            let claims = self.verifier.verify(token, TokenType::Access).await.inspect_err(|err| {
                tracing::info!(reason = %err, "bearer token rejected");
            })?;
            return Ok(Principal {
                user_id: claims.sub,
                scopes: claims.scopes,
                kind: PrincipalKind::User,
                collar_ids: vec![],
                token_family: claims.fam,
                key_id: None,
            });
        }
        let Some(presented) = req.headers().get("x-api-key") else {
            return Err(ApiError::Unauthorized("missing credentials: send a bearer token or an API key".into()));
        };
        let presented = presented.to_str().map_err(|_| ApiError::Unauthorized("invalid API key".into()))?;
        self.api_key(presented.trim(), source_ip(req).as_deref()).await
    }

    async fn api_key(&self, presented: &str, ip: Option<&str>) -> Result<Principal, ApiError> {
        let keys = self.keys.as_ref().ok_or_else(|| ApiError::Unauthorized("API keys are not accepted here".into()))?;
        let parsed = api_key::parse(presented).map_err(|err| {
            tracing::info!(reason = %err, "API key rejected before lookup");
            ApiError::Unauthorized("invalid API key".into())
        })?;
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(&parsed.key_id).filter(|(at, _)| at.elapsed() < API_KEY_CACHE_TTL).map(|(_, r)| r.clone())
        };
        let record = match cached {
            Some(record) => record,
            None => {
                let record =
                    keys.get(&parsed.key_id).await?.ok_or_else(|| ApiError::Unauthorized("invalid API key".into()))?;
                self.cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(parsed.key_id.clone(), (Instant::now(), record.clone()));
                record
            }
        };
        let now = chrono::Utc::now().timestamp();
        if !api_key::hashes_match(&record.secret_hash, &parsed.secret_hash)
            || record.revoked
            || record.expires_at.is_some_and(|exp| exp <= now)
        {
            return Err(ApiError::Unauthorized("invalid API key".into()));
        }
        if record.last_used_at.is_none_or(|t| t < now - LAST_USED_GRANULARITY_S) {
            match keys.touch(&record.key_id, now, now - LAST_USED_GRANULARITY_S).await {
                Ok(first_use) => {
                    self.remember_use(&record.key_id, now);
                    if first_use {
                        let event = AuditEvent::now("api_key_first_use", "success", Some(&record.user_id), ip)
                            .with_detail(record.key_id.clone());
                        audit::emit(&self.audit, event).await;
                    }
                }
                Err(err) => tracing::warn!(error = %err, "API key last_used_at not updated"),
            }
        }
        Ok(Principal {
            user_id: record.user_id,
            scopes: record.scopes,
            kind: PrincipalKind::ApiKey,
            collar_ids: record.collar_ids,
            token_family: None,
            key_id: Some(record.key_id),
        })
    }

    fn remember_use(&self, key_id: &str, now: i64) {
        if let Some((_, record)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get_mut(key_id) {
            record.last_used_at = Some(now);
        }
    }

    /// Drops a key from this instance's cache (after a revocation).
    pub fn forget_key(&self, key_id: &str) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(key_id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::jwt::JwtSettings;
    use crate::secrets::{CacheSettings, SecretCache, SecretError, SecretString};

    /// Counts lookups: the cache logic under test is what decides whether they happen.
    #[derive(Default)]
    struct CountingKeys {
        record: Mutex<Option<ApiKeyRecord>>,
        gets: AtomicUsize,
        touches: AtomicUsize,
    }

    impl ApiKeyStore for Arc<CountingKeys> {
        async fn get(&self, _key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            Ok(self.record.lock().unwrap().clone())
        }
        async fn touch(&self, _key_id: &str, _now: i64, _not_after: i64) -> Result<bool, StoreError> {
            Ok(self.touches.fetch_add(1, Ordering::SeqCst) == 0)
        }
    }

    struct NoSecrets;
    impl SecretSource for NoSecrets {
        async fn fetch(&self, id: &str) -> Result<SecretString, SecretError> {
            Err(SecretError::NotFound(id.into()))
        }
    }

    fn request_with_key(key: &str) -> Request {
        let mut req = Request::default();
        req.headers_mut().insert("x-api-key", key.parse().unwrap());
        req
    }

    #[tokio::test]
    async fn verified_keys_are_served_from_memory_and_touched_at_most_hourly() {
        let new = api_key::generate();
        let store = Arc::new(CountingKeys::default());
        *store.record.lock().unwrap() = Some(ApiKeyRecord {
            key_id: new.key_id.clone(),
            user_id: "u1".into(),
            name: "collar".into(),
            scopes: vec!["readings:write".into()],
            collar_ids: vec!["AB-123".into()],
            secret_hash: new.secret_hash.clone(),
            created_at: 0,
            expires_at: None,
            revoked: false,
            last_used_at: None,
        });
        let verifier = Verifier::new(
            Arc::new(SecretCache::new(NoSecrets, CacheSettings::default())),
            "jwks",
            &JwtSettings { issuer: "i".into(), audience: "a".into() },
        );
        let auth = Authenticator::new(verifier, Some(store.clone()), LogOnlyAudit);
        for _ in 0..20 {
            let p = auth.authenticate(&request_with_key(&new.plaintext)).await.unwrap();
            assert_eq!((p.kind, p.user_id.as_str(), p.collar_ids.len()), (PrincipalKind::ApiKey, "u1", 1));
        }
        assert_eq!(store.gets.load(Ordering::SeqCst), 1, "one lookup for 20 requests");
        assert_eq!(store.touches.load(Ordering::SeqCst), 1, "last_used_at written once");

        // A key with a swapped id fails its checksum, and neither it nor junk reaches the store.
        let other = api_key::generate();
        let forged = other.plaintext.replace(&other.key_id, &new.key_id);
        assert!(auth.authenticate(&request_with_key(&forged)).await.is_err());
        assert!(auth.authenticate(&request_with_key("pty_x")).await.is_err());
        assert_eq!(store.gets.load(Ordering::SeqCst), 1);

        // After revocation the auth function forgets the key at once.
        store.record.lock().unwrap().as_mut().unwrap().revoked = true;
        auth.forget_key(&new.key_id);
        assert!(auth.authenticate(&request_with_key(&new.plaintext)).await.is_err());
    }
}
