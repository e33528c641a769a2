//! Petty's auth function: accounts, RS256 token pairs with rotating refresh families,
//! API keys, the audit trail and the JWKS.
//!
//! Access tokens live at most 15 minutes and are verified statelessly by every function. The
//! auth function's own account routes (`/me`, `/logout`, `/events`, `/api-keys`) also check
//! that the token's refresh family is still active, so a logout or a detected refresh-token
//! theft stops account changes at once; data routes accept the token until it expires.

mod account;
pub mod config;
pub mod credentials;
pub mod outbox;
pub mod store;
pub mod tokens;

use std::sync::Arc;

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use petty_shared::api;
use petty_shared::audit::AuditStore;
use petty_shared::audit::{self, AuditEvent};
use petty_shared::auth::{API_KEY_SCOPES, ApiKeyRecord, ApiKeyStore, Authenticator, Principal, USER_SCOPES};
use petty_shared::dynamo::StoreError;
use petty_shared::http::{
    ApiError, Handler, Invocation, RouteSpec, json_body, json_response, no_content, route, source_ip,
};
use petty_shared::jwt::{TokenType, Verifier};
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::stores::{ApiKeyAdmin, AuditReader};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use serde_json::json;

pub use config::AuthConfig;
use credentials::{PASSWORD_MAX_CHARS, PasswordHasher, check_password_policy, normalize_email};
use outbox::{AwsOutbox, Outbox};
use store::{AccountStore, AuthStore, NewSession, Rotation, User};
use tokens::TokenIssuer;

/// The service name in logs and metrics.
pub const SERVICE: &str = "auth";
/// Events `GET /v1/auth/events` returns.
pub const EVENTS_SHOWN: i32 = 50;

/// This function's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    Events,
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
    Jwks,
    ChangePassword,
    RequestPasswordReset,
    ConfirmPasswordReset,
    RequestEmailVerification,
    ConfirmEmailVerification,
    UpdateProfile,
    DeleteAccount,
    Sessions,
    EndSession,
    LogoutAll,
    StartExport,
    ExportStatus,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("POST", "/v1/auth/register", Route::Register),
    route("POST", "/v1/auth/login", Route::Login),
    route("POST", "/v1/auth/refresh", Route::Refresh),
    route("POST", "/v1/auth/logout", Route::Logout),
    route("GET", "/v1/auth/me", Route::Me),
    route("GET", "/v1/auth/events", Route::Events),
    route("POST", "/v1/api-keys", Route::CreateApiKey),
    route("GET", "/v1/api-keys", Route::ListApiKeys),
    route("DELETE", "/v1/api-keys/{key_id}", Route::RevokeApiKey),
    route("GET", "/.well-known/jwks.json", Route::Jwks),
    route("POST", "/v1/auth/password", Route::ChangePassword),
    route("POST", "/v1/auth/password-reset", Route::RequestPasswordReset),
    route("POST", "/v1/auth/password-reset/confirm", Route::ConfirmPasswordReset),
    route("POST", "/v1/auth/verify-email", Route::RequestEmailVerification),
    route("POST", "/v1/auth/verify-email/confirm", Route::ConfirmEmailVerification),
    route("PATCH", "/v1/auth/me", Route::UpdateProfile),
    route("DELETE", "/v1/auth/me", Route::DeleteAccount),
    route("GET", "/v1/auth/sessions", Route::Sessions),
    route("DELETE", "/v1/auth/sessions/{session_id}", Route::EndSession),
    route("POST", "/v1/auth/logout-all", Route::LogoutAll),
    route("POST", "/v1/auth/export", Route::StartExport),
    route("GET", "/v1/auth/export/{export_id}", Route::ExportStatus),
];

/// The auth handler, over its account storage, API keys, audit trail and outbox (AWS in
/// Lambda, in-memory doubles in unit tests).
pub struct AuthApp<S, St = AuthStore, K = ApiKeysTable, A = AuditTable, O = AwsOutbox> {
    store: St,
    outbox: O,
    api_keys: K,
    audit: A,
    hasher: PasswordHasher,
    tokens: TokenIssuer<S>,
    auth: Authenticator<S, K, A>,
    secrets: Arc<SecretCache<S>>,
    public_keys_secret_id: String,
    lockout_threshold: u32,
    lockout_window_s: i64,
    lockout_s: i64,
    reset_answer_floor: std::time::Duration,
}

/// The account as its owner sees it (never the password hash).
pub(crate) fn user_view(u: &User) -> api::User {
    api::User {
        user_id: u.user_id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        scopes: u.scopes.clone(),
        created_at: u.created_at,
        email_verified: u.email_verified,
        pending_email: u.pending_email.clone(),
        timezone: u.timezone.clone().unwrap_or_else(api::default_timezone),
        locale: u.locale.clone().unwrap_or_else(api::default_locale),
    }
}

/// A key as listed (never the secret or its hash).
fn api_key_view(k: &ApiKeyRecord) -> api::ApiKey {
    api::ApiKey {
        key_id: k.key_id.clone(),
        name: k.name.clone(),
        scopes: k.scopes.clone(),
        collar_ids: k.collar_ids.clone(),
        created_at: k.created_at,
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        revoked: k.revoked,
    }
}

/// An audit item as `GET /v1/auth/events` shows it.
fn security_event(e: AuditEvent) -> api::SecurityEvent {
    api::SecurityEvent {
        action: e.action,
        outcome: e.outcome,
        user_id: e.user_id,
        source_ip: e.source_ip,
        at: e.at,
        detail: e.detail,
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized("invalid email or password".into())
}

impl<S: SecretSource> AuthApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &AuthConfig, sdk: &aws_config::SdkConfig, secrets: Arc<SecretCache<S>>) -> Self {
        let dynamodb = petty_shared::aws::dynamodb(sdk);
        let store = AuthStore::new(dynamodb.clone(), cfg);
        let audit = AuditTable::new(dynamodb.clone(), cfg.audit_table.clone(), cfg.audit_retention_days);
        let api_keys = ApiKeysTable::new(dynamodb, cfg.api_keys_table.clone());
        let outbox = AwsOutbox {
            ses: aws_sdk_sesv2::Client::new(sdk),
            sender: cfg.email_sender.clone(),
            sqs: aws_sdk_sqs::Client::new(sdk),
            erasure_queue_url: cfg.erasure_queue_url.clone(),
            export_queue_url: cfg.export_queue_url.clone(),
            s3: petty_shared::aws::s3(sdk),
            bucket: cfg.exports_bucket.clone(),
        };
        Self::with_stores(cfg, secrets, store, api_keys, audit, outbox)
    }
}

impl<S, St, K, A, O> AuthApp<S, St, K, A, O>
where
    S: SecretSource,
    St: AccountStore,
    K: ApiKeyStore + ApiKeyAdmin + Clone,
    A: AuditStore + AuditReader + Clone,
    O: Outbox,
{
    /// The handler over any stores (unit tests pass in-memory doubles).
    pub fn with_stores(
        cfg: &AuthConfig,
        secrets: Arc<SecretCache<S>>,
        store: St,
        api_keys: K,
        audit: A,
        outbox: O,
    ) -> Self {
        let settings = cfg.common.jwt_settings();
        let verifier = Verifier::new(secrets.clone(), cfg.common.public_keys_secret_id.clone(), &settings);
        Self {
            auth: Authenticator::new(verifier, Some(api_keys.clone()), audit.clone()),
            api_keys,
            audit,
            tokens: TokenIssuer::new(secrets.clone(), cfg),
            hasher: PasswordHasher::default(),
            store,
            outbox,
            reset_answer_floor: cfg.reset_answer_floor,
            secrets,
            public_keys_secret_id: cfg.common.public_keys_secret_id.clone(),
            lockout_threshold: cfg.lockout_threshold,
            lockout_window_s: cfg.lockout_window.as_secs() as i64,
            lockout_s: cfg.lockout_duration.as_secs() as i64,
        }
    }

    async fn audit(&self, event: AuditEvent) {
        audit::emit(&self.audit, event).await;
    }

    /// A user principal whose session (refresh family) is still active.
    async fn account_owner(&self, req: &Request) -> Result<Principal, ApiError> {
        let principal = self.auth.user(req).await?;
        let family =
            principal.token_family.as_deref().ok_or_else(|| ApiError::Unauthorized("session unknown".into()))?;
        if !self.store.family_active(family, now()).await? {
            return Err(ApiError::Unauthorized("session has ended; log in again".into()));
        }
        Ok(principal)
    }

    /// The signed-in account (401 once it is deleted or disabled).
    async fn current_user(&self, principal: &Principal) -> Result<User, ApiError> {
        self.store
            .user_by_id(&principal.user_id)
            .await?
            .filter(User::active)
            .ok_or_else(|| ApiError::Unauthorized("account no longer exists".into()))
    }

    /// Checks a password against the account under the lockout of its address: a locked
    /// address is a 429, a wrong password counts a failure (and may lock) and is `wrong`.
    async fn check_password(
        &self,
        email: &str,
        user: Option<&User>,
        password: &str,
        req: &Request,
        action: &str,
        wrong: fn() -> ApiError,
    ) -> Result<(), ApiError> {
        let ip = source_ip(req);
        let t = now();
        if let Some(lock) = self.store.lockout(email).await? {
            if let Some(until) = lock.locked_until.filter(|u| *u > t) {
                self.audit(AuditEvent::now(action, "locked_out", user.map(|u| u.user_id.as_str()), ip.as_deref()))
                    .await;
                return Err(ApiError::TooManyRequests { retry_after_s: (until - t) as u64 });
            }
        }
        let user = user.filter(|u| u.active());
        let valid = match user {
            Some(u) if password.chars().count() <= PASSWORD_MAX_CHARS => self.hasher.verify(password, &u.password_hash),
            _ => {
                self.hasher.verify_dummy(password);
                false
            }
        };
        if valid {
            return Ok(());
        }
        let user_id = user.map(|u| u.user_id.as_str());
        let state = self.store.record_failure(email, t, self.lockout_window_s).await?;
        self.audit(AuditEvent::now(action, "failure", user_id, ip.as_deref())).await;
        if state.failures >= self.lockout_threshold {
            self.store.lock(email, t + self.lockout_s).await?;
            self.audit(AuditEvent::now("lockout", "locked", user_id, ip.as_deref())).await;
            return Err(ApiError::TooManyRequests { retry_after_s: self.lockout_s as u64 });
        }
        Err(wrong())
    }

    async fn register(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: api::Register = json_body(req)?;
        let email = normalize_email(&body.email)?;
        check_password_policy(&body.password)?;
        let name = match body.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) {
            Some(n) if n.chars().count() > 100 || n.chars().any(char::is_control) => {
                return Err(ApiError::unprocessable("invalid_name", "name must be at most 100 printable characters"));
            }
            other => other,
        };
        let user = User {
            user_id: uuid::Uuid::new_v4().to_string(),
            email,
            name,
            password_hash: self.hasher.hash(&body.password)?,
            scopes: USER_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            created_at: now(),
            ..User::default()
        };
        match self.store.create_user(&user).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                self.audit(AuditEvent::now("register", "duplicate", None, source_ip(req).as_deref())).await;
                return Err(ApiError::Conflict("an account with this email already exists".into()));
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(AuditEvent::now("register", "success", Some(&user.user_id), source_ip(req).as_deref())).await;
        json_response(StatusCode::CREATED, &user_view(&user))
    }

    async fn login(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let body: api::Login = json_body(req)?;
        // Bounded before any hashing: an over-long password can never be right.
        if body.password.chars().count() > PASSWORD_MAX_CHARS {
            return Err(invalid_credentials());
        }
        let Ok(email) = normalize_email(&body.email) else { return Err(invalid_credentials()) };
        let user = self.store.user_by_email(&email).await?;
        if let Err(e) =
            self.check_password(&email, user.as_ref(), &body.password, req, "login", invalid_credentials).await
        {
            if !matches!(e, ApiError::TooManyRequests { .. }) {
                inv.metric("LoginFailed", petty_shared::metrics::Unit::Count, 1.0);
            }
            return Err(e);
        }
        let user = user.ok_or_else(invalid_credentials)?;
        self.store.clear_lockout(&email).await?;
        let pair = self.start_session(&user, req).await?;
        self.audit(AuditEvent::now("login", "success", Some(&user.user_id), source_ip(req).as_deref())).await;
        json_response(StatusCode::OK, &pair)
    }

    /// A new session (refresh family) for `user`, with the client's user agent and network.
    async fn start_session(&self, user: &User, req: &Request) -> Result<api::TokenPair, ApiError> {
        let t = now();
        let new = NewSession {
            family_id: uuid::Uuid::new_v4().to_string(),
            user_id: user.user_id.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            scopes: user.scopes.clone(),
            created_at: t,
            expires_at: t + self.tokens.refresh_ttl().as_secs() as i64,
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().filter(|c| !c.is_control()).take(200).collect()),
            source: source_ip(req).as_deref().and_then(petty_shared::tables::sessions::approximate_source),
        };
        self.store.create_session(&new).await?;
        self.tokens.issue(&user.user_id, &user.scopes, &new.family_id, &new.jti).await
    }

    async fn refresh(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: api::Refresh = json_body(req)?;
        let ip = source_ip(req);
        let claims = self.auth.verifier().verify(body.refresh_token.trim(), TokenType::Refresh).await?;
        let family = claims.fam.clone().ok_or_else(|| ApiError::Unauthorized("refresh token has no family".into()))?;
        let next = uuid::Uuid::new_v4().to_string();
        match self.store.rotate(&family, &claims.jti, &next, now()).await? {
            Rotation::Rotated { .. } => {
                // The account's scopes now, not the login's: a removed scope ends at the next
                // refresh; a deleted or disabled account ends here.
                let Some(user) = self.store.user_by_id(&claims.sub).await?.filter(User::active) else {
                    self.store.revoke_family(&family).await?;
                    return Err(ApiError::Unauthorized("account no longer exists".into()));
                };
                let pair = self.tokens.issue(&claims.sub, &user.scopes, &family, &next).await?;
                self.audit(AuditEvent::now("refresh", "success", Some(&claims.sub), ip.as_deref())).await;
                json_response(StatusCode::OK, &pair)
            }
            Rotation::Reused { user_id } => {
                tracing::warn!(security_event = "refresh_token_reuse", actor = %user_id, "refresh token presented twice: family revoked");
                self.audit(
                    AuditEvent::now("refresh_reuse", "family_revoked", Some(&user_id), ip.as_deref())
                        .with_detail(family),
                )
                .await;
                Err(ApiError::Unauthorized("refresh token already used; the session has been revoked".into()))
            }
            Rotation::Dead => Err(ApiError::Unauthorized("session has ended; log in again".into())),
        }
    }

    async fn logout(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let family = principal.token_family.as_deref().unwrap_or_default();
        self.store.revoke_family(family).await?;
        self.audit(AuditEvent::now("logout", "success", Some(&principal.user_id), source_ip(req).as_deref())).await;
        Ok(no_content())
    }

    async fn me(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let user = self.current_user(&principal).await?;
        json_response(StatusCode::OK, &user_view(&user))
    }

    async fn events(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let events = self.audit.recent(&principal.user_id, EVENTS_SHOWN).await?;
        let events = api::SecurityEvents { events: events.into_iter().map(security_event).collect() };
        json_response(StatusCode::OK, &events)
    }

    async fn create_api_key(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        principal.require_scope("api-keys:manage")?;
        let body: api::NewApiKey = json_body(req)?;
        let name = body.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(ApiError::unprocessable("invalid_name", "name must be 1 to 64 printable characters"));
        }
        if body.scopes.is_empty() {
            return Err(ApiError::unprocessable("invalid_scopes", "give at least one scope"));
        }
        for scope in &body.scopes {
            if !API_KEY_SCOPES.contains(&scope.as_str()) {
                return Err(ApiError::unprocessable(
                    "invalid_scopes",
                    format!("API keys may carry only {API_KEY_SCOPES:?}, not `{scope}`"),
                ));
            }
            principal.require_scope(scope)?;
        }
        if body.collar_ids.len() > 100 {
            return Err(ApiError::unprocessable("invalid_collar_ids", "at most 100 collars per key"));
        }
        if let Some(bad) = body.collar_ids.iter().find(|c| !petty_shared::collar::is_collar_id(c)) {
            return Err(ApiError::unprocessable(
                "invalid_collar_ids",
                format!("`{bad}` is not a collar id (AB-123456)"),
            ));
        }
        let t = now();
        let expires_at = match body.expires_in_days {
            None => None,
            Some(days @ 1..=365) => Some(t + i64::from(days) * 86_400),
            Some(_) => return Err(ApiError::unprocessable("invalid_expiry", "expires_in_days must be 1 to 365")),
        };
        let mut scopes = body.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let new = petty_shared::api_key::generate();
        let record = ApiKeyRecord {
            key_id: new.key_id.clone(),
            user_id: principal.user_id.clone(),
            name,
            scopes,
            collar_ids: body.collar_ids,
            secret_hash: new.secret_hash.clone(),
            created_at: t,
            expires_at,
            revoked: false,
            last_used_at: None,
        };
        self.api_keys.put_key(&record).await?;
        self.audit(
            AuditEvent::now("api_key_created", "success", Some(&principal.user_id), source_ip(req).as_deref())
                .with_detail(record.key_id.clone()),
        )
        .await;
        let created = api::CreatedApiKey { key: api_key_view(&record), api_key: new.plaintext.as_str().to_owned() };
        json_response(StatusCode::CREATED, &created)
    }

    async fn list_api_keys(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let keys = self.api_keys.keys_of_user(&principal.user_id).await?;
        let list = api::ApiKeyList { api_keys: keys.iter().map(api_key_view).collect() };
        json_response(StatusCode::OK, &list)
    }

    async fn revoke_api_key(&self, req: &Request, key_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let not_found = || ApiError::NotFound("no such API key".into());
        if key_id.is_empty() || key_id.len() > 64 || !key_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(not_found());
        }
        match self.api_keys.revoke_key(&principal.user_id, key_id, now()).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => return Err(not_found()),
            Err(other) => return Err(other.into()),
        }
        self.auth.forget_key(key_id);
        self.audit(
            AuditEvent::now("api_key_revoked", "success", Some(&principal.user_id), source_ip(req).as_deref())
                .with_detail(key_id),
        )
        .await;
        Ok(no_content())
    }

    async fn jwks(&self) -> Result<Response<Body>, ApiError> {
        let secret = self.secrets.get(&self.public_keys_secret_id).await?;
        let doc: serde_json::Value =
            serde_json::from_str(secret.value.expose()).map_err(|_| ApiError::Internal("JWKS is not JSON".into()))?;
        // Publish only public members, whatever else the secret holds.
        let keys: Vec<serde_json::Value> = doc["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| json!({ "kty": k["kty"], "kid": k["kid"], "use": k["use"], "alg": k["alg"], "n": k["n"], "e": k["e"] }))
            .collect();
        let mut resp = json_response(StatusCode::OK, &json!({ "keys": keys }))?;
        resp.headers_mut().insert(header::CACHE_CONTROL, "public, max-age=300".parse().expect("static"));
        Ok(resp)
    }
}

impl<S, St, K, A, O> Handler for AuthApp<S, St, K, A, O>
where
    S: SecretSource,
    St: AccountStore,
    K: ApiKeyStore + ApiKeyAdmin + Clone,
    A: AuditStore + AuditReader + Clone,
    O: Outbox,
{
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let m = petty_shared::http::router::find(ROUTES, &req)?;
        match m.route {
            Route::Register => Box::pin(self.register(&req)).await,
            Route::Login => Box::pin(self.login(&req, inv)).await,
            Route::Refresh => Box::pin(self.refresh(&req)).await,
            Route::Logout => Box::pin(self.logout(&req)).await,
            Route::Me => Box::pin(self.me(&req)).await,
            Route::Events => Box::pin(self.events(&req)).await,
            Route::CreateApiKey => Box::pin(self.create_api_key(&req)).await,
            Route::ListApiKeys => Box::pin(self.list_api_keys(&req)).await,
            Route::RevokeApiKey => Box::pin(self.revoke_api_key(&req, m.param("key_id"))).await,
            Route::Jwks => Box::pin(self.jwks()).await,
            Route::ChangePassword => Box::pin(self.change_password(&req)).await,
            Route::RequestPasswordReset => Box::pin(self.request_password_reset(&req)).await,
            Route::ConfirmPasswordReset => Box::pin(self.confirm_password_reset(&req)).await,
            Route::RequestEmailVerification => Box::pin(self.request_email_verification(&req)).await,
            Route::ConfirmEmailVerification => Box::pin(self.confirm_email_verification(&req)).await,
            Route::UpdateProfile => Box::pin(self.update_profile(&req)).await,
            Route::DeleteAccount => Box::pin(self.delete_account(&req)).await,
            Route::Sessions => Box::pin(self.sessions(&req)).await,
            Route::EndSession => Box::pin(self.end_session(&req, m.param("session_id"))).await,
            Route::LogoutAll => Box::pin(self.logout_all(&req)).await,
            Route::StartExport => Box::pin(self.start_export(&req)).await,
            Route::ExportStatus => Box::pin(self.export_status(&req, m.param("export_id"))).await,
        }
    }
}

#[cfg(test)]
mod tests;
