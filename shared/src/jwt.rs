//! RS256 tokens: a verifier every function holds (public keys only) and a signer only the auth
//! function holds (private keys from its own secret).
//!
//! Verification pins the algorithm to RS256, requires a `kid` that is in the public key set,
//! and enforces `iss`, `aud`, `exp`, `nbf` and `iat` with a small leeway. Parsed keys are
//! cached by the secret's version and never parsed per request. An unknown `kid` or a bad
//! signature triggers one rate-limited refresh of the key set, so a rotation is picked up at
//! once rather than after the cache TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::secrets::{SecretCache, SecretError, SecretSource, Versioned};

/// Leeway for clock skew between issuer and verifier, in seconds (at most 30 by policy).
pub const LEEWAY_SECONDS: u64 = 30;
/// Tokens longer than this are rejected before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Access tokens authorise API calls; refresh tokens only buy new pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims Petty issues and checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub scopes: Vec<String>,
    pub token_type: TokenType,
    /// Unique token id (revocation, reuse detection).
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Refresh-token family, for rotation and reuse detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

/// Why a token was refused. Every variant but `KeysUnavailable` is the caller's fault (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm is not RS256")]
    UnsupportedAlgorithm,
    #[error("token header has no kid")]
    MissingKid,
    #[error("token kid is unknown")]
    UnknownKid,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token was issued in the future")]
    IssuedInFuture,
    #[error("token issuer is not accepted")]
    WrongIssuer,
    #[error("token audience is not accepted")]
    WrongAudience,
    #[error("wrong kind of token")]
    WrongTokenType,
    #[error("key set unavailable: {0}")]
    KeysUnavailable(String),
}

impl JwtError {
    fn from_jsonwebtoken(err: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match err.kind() {
            K::InvalidSignature => JwtError::BadSignature,
            K::ExpiredSignature => JwtError::Expired,
            K::ImmatureSignature => JwtError::NotYetValid,
            K::InvalidIssuer => JwtError::WrongIssuer,
            K::InvalidAudience => JwtError::WrongAudience,
            K::InvalidAlgorithm | K::UnsupportedAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => {
                JwtError::UnsupportedAlgorithm
            }
            _ => JwtError::Malformed,
        }
    }
}

/// What `iss` and `aud` must be.
#[derive(Clone, Debug)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
}

#[derive(Deserialize)]
struct JwkEntry {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Deserialize)]
struct JwksDoc {
    keys: Vec<JwkEntry>,
}

/// Parsed public keys by `kid`.
#[derive(Clone)]
pub struct PublicKeySet {
    keys: HashMap<String, DecodingKey>,
}

impl PublicKeySet {
    /// Parses a JWKS, keeping only RSA signature keys usable with RS256. A set without any
    /// usable key is an error: it would reject every token.
    pub fn from_jwks(json: &str) -> Result<Self, String> {
        let doc: JwksDoc = serde_json::from_str(json).map_err(|e| format!("JWKS is not valid JSON: {e}"))?;
        let mut keys = HashMap::new();
        for entry in doc.keys {
            let usable = entry.kty == "RSA"
                && entry.alg.as_deref().is_none_or(|a| a == "RS256")
                && entry.usage.as_deref().is_none_or(|u| u == "sig");
            let (Some(kid), Some(n), Some(e), true) = (entry.kid, entry.n, entry.e, usable) else { continue };
            let key = DecodingKey::from_rsa_components(&n, &e).map_err(|err| format!("key {kid}: {err}"))?;
            keys.insert(kid, key);
        }
        if keys.is_empty() {
            return Err("JWKS holds no usable RS256 key".into());
        }
        Ok(Self { keys })
    }

    fn get(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.get(kid)
    }
}

/// Verifies access and refresh tokens against the public key set in Secrets Manager.
pub struct Verifier<S> {
    cache: Arc<SecretCache<S>>,
    secret_id: String,
    validation: Validation,
    parsed: Mutex<Option<(u64, Arc<PublicKeySet>)>>,
}

impl<S: SecretSource> Verifier<S> {
    /// A verifier reading the JWKS at `secret_id` through `cache`.
    pub fn new(cache: Arc<SecretCache<S>>, secret_id: impl Into<String>, settings: &JwtSettings) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Self { cache, secret_id: secret_id.into(), validation, parsed: Mutex::new(None) }
    }

    /// The current public key set (parsed once per secret version).
    pub async fn key_set(&self) -> Result<Arc<PublicKeySet>, JwtError> {
        let versioned = self.cache.get(&self.secret_id).await.map_err(keys_unavailable)?;
        self.parse(versioned)
    }

    async fn refreshed_key_set(&self) -> Result<Arc<PublicKeySet>, JwtError> {
        let versioned = self.cache.refresh(&self.secret_id).await.map_err(keys_unavailable)?;
        self.parse(versioned)
    }

    fn parse(&self, versioned: Versioned) -> Result<Arc<PublicKeySet>, JwtError> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((version, set)) = parsed.as_ref() {
            if *version == versioned.version {
                return Ok(set.clone());
            }
        }
        let set = Arc::new(PublicKeySet::from_jwks(versioned.value.expose()).map_err(|reason| {
            tracing::error!(secret_id = %self.secret_id, %reason, "public key set is unusable");
            JwtError::KeysUnavailable("public key set is unusable".into())
        })?);
        *parsed = Some((versioned.version, set.clone()));
        Ok(set)
    }

    /// Verifies `token` and checks it is of the `expected` type.
    pub async fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, JwtError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| match JwtError::from_jsonwebtoken(e) {
            JwtError::UnsupportedAlgorithm => JwtError::UnsupportedAlgorithm,
            _ => JwtError::Malformed,
        })?;
        if header.alg != Algorithm::RS256 {
            return Err(JwtError::UnsupportedAlgorithm);
        }
        let kid = header.kid.ok_or(JwtError::MissingKid)?;

        let keys = self.key_set().await?;
        let claims = match keys.get(&kid) {
            Some(key) => match self.decode(token, key) {
                // A cached key that fails may have been replaced under the same kid.
                Err(JwtError::BadSignature) => self.retry_with_fresh_keys(token, &kid).await?,
                other => other?,
            },
            None => self.retry_with_fresh_keys(token, &kid).await?,
        };

        let now = chrono::Utc::now().timestamp();
        if claims.iat > now + LEEWAY_SECONDS as i64 {
            return Err(JwtError::IssuedInFuture);
        }
        if claims.token_type != expected {
            return Err(JwtError::WrongTokenType);
        }
        Ok(claims)
    }

    async fn retry_with_fresh_keys(&self, token: &str, kid: &str) -> Result<Claims, JwtError> {
        let keys = self.refreshed_key_set().await?;
        let key = keys.get(kid).ok_or(JwtError::UnknownKid)?;
        self.decode(token, key)
    }

    fn decode(&self, token: &str, key: &DecodingKey) -> Result<Claims, JwtError> {
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(JwtError::from_jsonwebtoken)
    }
}

fn keys_unavailable(err: SecretError) -> JwtError {
    JwtError::KeysUnavailable(err.to_string())
}

#[derive(Deserialize)]
struct SigningEntry {
    kid: String,
    private_key_pem: String,
}

#[derive(Deserialize)]
struct SigningDoc {
    current_kid: String,
    keys: Vec<SigningEntry>,
}

/// The private signing keys (current + previous), parsed once from the signing secret.
///
/// Signing uses aws-lc's `RsaKeyPair` directly so the private key is parsed (and checked) once,
/// not on every signature as `jsonwebtoken::encode` would; tokens are verified by
/// `jsonwebtoken` like any other.
pub struct Signer {
    current_kid: String,
    current: aws_lc_rs::signature::RsaKeyPair,
    /// `base64url(header)`, fixed per key.
    header_b64: String,
    kids: Vec<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("current_kid", &self.current_kid)
            .field("kids", &self.kids)
            .finish_non_exhaustive()
    }
}

/// Parses a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
fn rsa_key_from_pem(pem: &str) -> Option<aws_lc_rs::signature::RsaKeyPair> {
    use base64::Engine;
    let body: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(pem.lines().filter(|l| !l.starts_with("-----")).collect());
    let der = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(body.trim()).ok()?);
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        aws_lc_rs::signature::RsaKeyPair::from_der(&der).ok()
    } else {
        aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).ok()
    }
}

impl Signer {
    /// Parses the signing key set; its `current_kid` must be one of its keys.
    pub fn from_json(json: &str) -> Result<Self, String> {
        use base64::Engine;
        let mut doc: SigningDoc =
            serde_json::from_str(json).map_err(|_| "signing key set is not valid JSON".to_owned())?;
        let kids = doc.keys.iter().map(|k| k.kid.clone()).collect();
        let index = doc
            .keys
            .iter()
            .position(|k| k.kid == doc.current_kid)
            .ok_or_else(|| format!("current_kid {} is not in the signing key set", doc.current_kid))?;
        let entry = doc.keys.swap_remove(index);
        let pem = zeroize::Zeroizing::new(entry.private_key_pem);
        let current = rsa_key_from_pem(&pem).ok_or_else(|| format!("key {} is not an RSA private key", entry.kid))?;
        if current.public_modulus_len() < 256 {
            return Err(format!("key {} is shorter than 2048 bits", entry.kid));
        }
        for mut other in doc.keys {
            zeroize::Zeroize::zeroize(&mut other.private_key_pem);
        }
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": doc.current_kid });
        let header_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
        Ok(Self { current_kid: doc.current_kid, current, header_b64, kids })
    }

    /// The kid new tokens are signed with.
    pub fn current_kid(&self) -> &str {
        &self.current_kid
    }

    /// Signs `claims` with the current key (RS256, `kid` in the header).
    pub fn sign(&self, claims: &Claims) -> Result<String, JwtError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Malformed)?;
        let signing_input = format!("{}.{}", self.header_b64, b64.encode(payload));
        let mut signature = vec![0u8; self.current.public_modulus_len()];
        self.current
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| JwtError::Malformed)?;
        Ok(format!("{signing_input}.{}", b64.encode(signature)))
    }
}

#[cfg(test)]
mod tests;
