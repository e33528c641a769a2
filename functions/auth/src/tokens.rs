//! Issuing token pairs with the current signing key (parsed once per secret version).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use petty_shared::http::ApiError;
use petty_shared::jwt::{Claims, Signer, TokenType};
use petty_shared::secrets::{SecretCache, SecretSource};

/// What login and refresh return: the wire type.
pub use petty_shared::api::TokenPair;

/// Signs access and refresh tokens.
pub struct TokenIssuer<S> {
    cache: Arc<SecretCache<S>>,
    secret_id: String,
    parsed: Mutex<Option<(u64, Arc<Signer>)>>,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl<S: SecretSource> TokenIssuer<S> {
    /// An issuer over the signing key set at `secret_id`.
    pub fn new(cache: Arc<SecretCache<S>>, cfg: &crate::AuthConfig) -> Self {
        Self {
            cache,
            secret_id: cfg.signing_keys_secret_id.clone(),
            parsed: Mutex::new(None),
            issuer: cfg.common.jwt_issuer.clone(),
            audience: cfg.common.jwt_audience.clone(),
            access_ttl: cfg.access_ttl,
            refresh_ttl: cfg.refresh_ttl,
        }
    }

    /// How long refresh tokens (and families) live.
    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    async fn signer(&self) -> Result<Arc<Signer>, ApiError> {
        let versioned = self.cache.get(&self.secret_id).await?;
        let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((version, signer)) = parsed.as_ref() {
            if *version == versioned.version {
                return Ok(signer.clone());
            }
        }
        let signer = Arc::new(Signer::from_json(versioned.value.expose()).map_err(|reason| {
            tracing::error!(%reason, "signing key set is unusable");
            ApiError::Unavailable { message: "token signing is unavailable".into(), retry_after_s: Some(5) }
        })?);
        *parsed = Some((versioned.version, signer.clone()));
        Ok(signer)
    }

    /// A new access + refresh pair in `family`; the refresh token's id is `refresh_jti`.
    pub async fn issue(
        &self,
        user_id: &str,
        scopes: &[String],
        family: &str,
        refresh_jti: &str,
    ) -> Result<TokenPair, ApiError> {
        let signer = self.signer().await?;
        let now = chrono::Utc::now().timestamp();
        let claims = |token_type, jti: String, ttl: Duration| Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_owned(),
            scopes: scopes.to_vec(),
            token_type,
            jti,
            iat: now,
            nbf: now,
            exp: now + ttl.as_secs() as i64,
            fam: Some(family.to_owned()),
        };
        let sign = |c: &Claims| signer.sign(c).map_err(|e| ApiError::Internal(format!("signing: {e}")));
        Ok(TokenPair {
            access_token: sign(&claims(TokenType::Access, uuid::Uuid::new_v4().to_string(), self.access_ttl))?,
            refresh_token: sign(&claims(TokenType::Refresh, refresh_jti.to_owned(), self.refresh_ttl))?,
            token_type: "Bearer".to_owned(),
            expires_in: self.access_ttl.as_secs(),
        })
    }
}
