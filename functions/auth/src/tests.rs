//! The auth function's rules over in-memory stores (no AWS): accounts, the lockout, refresh
//! rotation and reuse detection, logout, and API keys. The DynamoDB adapters (conditional
//! writes, the two-item user transaction) are tested against moto in
//! `tests/integration/auth.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lambda_http::http::StatusCode;
use petty_shared::config::{Env, FromEnv};
use petty_shared::dynamo::StoreError;
use petty_shared::secrets::{CacheSettings, SecretCache};
use petty_shared::testing::{MemoryApiKeys, MemoryAudit, MemorySecrets, call};
use serde_json::{Value, json};

use super::*;
use crate::outbox::JobQueue;
use crate::store::{Lockout, NewSession, Rotation, StoredSession, StoredToken, User};
use petty_shared::tables::users::{TokenError, TokenPurpose};

/// Users, sessions, tokens, exports and counters in memory, with the tables' conditions.
#[derive(Default)]
struct MemoryAccounts {
    users: Mutex<HashMap<String, User>>,
    /// family → (session, current jti)
    families: Mutex<HashMap<String, (StoredSession, String)>>,
    tokens: Mutex<HashMap<String, StoredToken>>,
    exports: Mutex<HashMap<(String, String), api::Export>>,
    lockouts: Mutex<HashMap<String, Lockout>>,
}

impl MemoryAccounts {
    fn with_user<T>(&self, user_id: &str, f: impl FnOnce(&mut User) -> T) -> Result<T, StoreError> {
        let mut users = self.users.lock().unwrap();
        let u = users.get_mut(user_id).filter(|u| u.deleted_at.is_none()).ok_or(StoreError::ConditionFailed)?;
        Ok(f(u))
    }
}

impl AccountStore for MemoryAccounts {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut users = self.users.lock().unwrap();
        if users.values().any(|u| u.email == user.email) {
            return Err(StoreError::ConditionFailed);
        }
        users.insert(user.user_id.clone(), user.clone());
        Ok(())
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.lock().unwrap().values().find(|u| u.email == email).cloned())
    }
    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.users.lock().unwrap().get(user_id).cloned())
    }
    async fn set_password(&self, user: &User, hash: &str, _now: i64) -> Result<(), StoreError> {
        self.with_user(&user.user_id, |u| u.password_hash = hash.to_owned())
    }
    async fn update_profile(&self, user: &User, changes: &[(&'static str, Option<String>)]) -> Result<(), StoreError> {
        self.with_user(&user.user_id, |u| {
            for (name, value) in changes {
                let Some(v) = value else { continue };
                let v = Some(v.clone()).filter(|v| !v.is_empty());
                match *name {
                    "name" => u.name = v,
                    "timezone" => u.timezone = v,
                    "locale" => u.locale = v,
                    "pending_email" => u.pending_email = v,
                    other => panic!("unknown attribute {other}"),
                }
            }
        })
    }
    async fn issue_token(&self, user: &User, token: &StoredToken) -> Result<(), StoreError> {
        let old = self.with_user(&user.user_id, |u| {
            let slot = match token.purpose {
                TokenPurpose::PasswordReset => &mut u.reset_token,
                TokenPurpose::VerifyEmail => &mut u.verify_token,
            };
            slot.replace(token.hash.clone())
        })?;
        let mut tokens = self.tokens.lock().unwrap();
        if let Some(old) = old {
            tokens.remove(&old);
        }
        tokens.insert(token.hash.clone(), token.clone());
        Ok(())
    }
    async fn token(&self, hash: &str, purpose: TokenPurpose, now: i64) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.tokens.lock().unwrap().get(hash).filter(|t| t.purpose == purpose && t.expires_at > now).cloned())
    }
    async fn reset_password(&self, t: &StoredToken, user: &User, hash: &str, _now: i64) -> Result<(), TokenError> {
        if self.tokens.lock().unwrap().remove(&t.hash).is_none() {
            return Err(TokenError::Invalid);
        }
        self.with_user(&user.user_id, |u| {
            u.password_hash = hash.to_owned();
            u.reset_token = None;
        })?;
        Ok(())
    }
    async fn verify_email(&self, t: &StoredToken, user: &User) -> Result<(), TokenError> {
        if self.tokens.lock().unwrap().remove(&t.hash).is_none() {
            return Err(TokenError::Invalid);
        }
        self.with_user(&user.user_id, |u| {
            u.email = t.email.clone();
            u.email_verified = true;
            u.pending_email = None;
            u.verify_token = None;
        })?;
        Ok(())
    }
    async fn mark_deleted(&self, user: &User, now: i64) -> Result<(), StoreError> {
        self.with_user(&user.user_id, |u| u.deleted_at = Some(now))
    }
    async fn put_export(&self, user_id: &str, export: &api::Export) -> Result<(), StoreError> {
        self.exports.lock().unwrap().insert((user_id.to_owned(), export.export_id.clone()), export.clone());
        Ok(())
    }
    async fn export(&self, user_id: &str, export_id: &str) -> Result<Option<api::Export>, StoreError> {
        Ok(self.exports.lock().unwrap().get(&(user_id.to_owned(), export_id.to_owned())).cloned())
    }
    async fn put_erasure(&self, _user_id: &str, _record: &Value, _expires_at: i64) -> Result<(), StoreError> {
        Ok(())
    }
    async fn create_session(&self, new: &NewSession) -> Result<(), StoreError> {
        let session = StoredSession {
            family_id: new.family_id.clone(),
            user_id: new.user_id.clone(),
            revoked: false,
            created_at: Some(new.created_at),
            last_used_at: Some(new.created_at),
            expires_at: new.expires_at,
            user_agent: new.user_agent.clone(),
            source: new.source.clone(),
        };
        self.families.lock().unwrap().insert(new.family_id.clone(), (session, new.jti.clone()));
        Ok(())
    }
    async fn rotate(&self, family: &str, presented: &str, next: &str, now: i64) -> Result<Rotation, StoreError> {
        let mut families = self.families.lock().unwrap();
        let Some((f, jti)) = families.get_mut(family) else { return Ok(Rotation::Dead) };
        if !f.active(now) {
            return Ok(Rotation::Dead);
        }
        if jti != presented {
            f.revoked = true;
            return Ok(Rotation::Reused { user_id: f.user_id.clone() });
        }
        *jti = next.to_owned();
        Ok(Rotation::Rotated { user_id: f.user_id.clone() })
    }
    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        if let Some((f, _)) = self.families.lock().unwrap().get_mut(family) {
            f.revoked = true;
        }
        Ok(())
    }
    async fn family_active(&self, family: &str, now: i64) -> Result<bool, StoreError> {
        Ok(self.families.lock().unwrap().get(family).is_some_and(|(f, _)| f.active(now)))
    }
    async fn sessions_of(&self, user_id: &str) -> Result<Vec<StoredSession>, StoreError> {
        Ok(self
            .families
            .lock()
            .unwrap()
            .values()
            .filter(|(f, _)| f.user_id == user_id)
            .map(|(f, _)| f.clone())
            .collect())
    }
    async fn revoke_session_of_user(&self, user_id: &str, family: &str, now: i64) -> Result<bool, StoreError> {
        let mut families = self.families.lock().unwrap();
        match families.get_mut(family) {
            Some((f, _)) if f.user_id == user_id && f.active(now) => {
                f.revoked = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn revoke_all_of_user(&self, user_id: &str, keep: Option<&str>, now: i64) -> Result<u32, StoreError> {
        let mut n = 0;
        for (id, (f, _)) in self.families.lock().unwrap().iter_mut() {
            if f.user_id == user_id && f.active(now) && Some(id.as_str()) != keep {
                f.revoked = true;
                n += 1;
            }
        }
        Ok(n)
    }
    async fn lockout(&self, email: &str) -> Result<Option<Lockout>, StoreError> {
        Ok(self.lockouts.lock().unwrap().get(email).copied())
    }
    async fn record_failure(&self, email: &str, now: i64, window_s: i64) -> Result<Lockout, StoreError> {
        let mut all = self.lockouts.lock().unwrap();
        let fresh = Lockout { failures: 1, window_start: now, locked_until: None };
        let state = match all.get(email) {
            Some(l) if l.window_start >= now - window_s => Lockout { failures: l.failures + 1, ..*l },
            _ => fresh,
        };
        all.insert(email.to_owned(), state);
        Ok(state)
    }
    async fn lock(&self, email: &str, until: i64) -> Result<(), StoreError> {
        if let Some(l) = self.lockouts.lock().unwrap().get_mut(email) {
            l.locked_until = Some(until);
        }
        Ok(())
    }
    async fn clear_lockout(&self, email: &str) -> Result<(), StoreError> {
        self.lockouts.lock().unwrap().remove(email);
        Ok(())
    }
}

/// Mail and jobs recorded (shared, so a test reads what the app sent).
#[derive(Clone, Default)]
struct MemoryOutbox {
    mail: Arc<Mutex<Vec<(String, String, String)>>>,
    jobs: Arc<Mutex<Vec<(JobQueue, Value)>>>,
}

impl Outbox for MemoryOutbox {
    async fn send_email(&self, to: &str, subject: &str, text: &str) -> Result<(), ApiError> {
        self.mail.lock().unwrap().push((to.to_owned(), subject.to_owned(), text.to_owned()));
        Ok(())
    }
    async fn enqueue(&self, queue: JobQueue, body: &Value) -> Result<(), ApiError> {
        self.jobs.lock().unwrap().push((queue, body.clone()));
        Ok(())
    }
    async fn presign(&self, key: &str) -> Result<String, ApiError> {
        Ok(format!("https://exports.test/{key}?signed"))
    }
}

impl MemoryOutbox {
    /// The token of the newest mail to `to`.
    fn token_to(&self, to: &str) -> String {
        let mail = self.mail.lock().unwrap();
        let (_, _, text) =
            mail.iter().rev().find(|(addr, _, text)| addr == to && text.contains("Token: ")).expect("a token mail");
        text.split("Token: ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
    }
}

type App = AuthApp<MemorySecrets, MemoryAccounts, MemoryApiKeys, MemoryAudit, MemoryOutbox>;

const PASSWORD: &str = "correct horse battery staple";

fn app() -> App {
    app_with(MemoryOutbox::default())
}

fn app_with(outbox: MemoryOutbox) -> App {
    let key = petty_shared::keygen::generate("k1");
    let secrets = MemorySecrets::with([
        ("signing".to_owned(), petty_shared::keygen::signing_set_json("k1", &[&key]).to_string()),
        ("jwks".to_owned(), petty_shared::keygen::jwks_json(&[&key])),
    ]);
    let env = Env::from_pairs([
        ("STAGE", "test"),
        ("JWT_ISSUER", "https://auth.petty.test"),
        ("JWT_AUDIENCE", "petty-api"),
        ("PUBLIC_KEYS_SECRET_ID", "jwks"),
        ("SIGNING_KEYS_SECRET_ID", "signing"),
        ("USERS_TABLE", "u"),
        ("REFRESH_FAMILIES_TABLE", "f"),
        ("API_KEYS_TABLE", "k"),
        ("LOCKOUTS_TABLE", "l"),
        ("AUDIT_TABLE", "a"),
        ("LOCKOUT_THRESHOLD", "3"),
        ("EMAIL_SENDER", "alerts@petty.test"),
        ("ERASURE_QUEUE_URL", "erasures"),
        ("EXPORT_QUEUE_URL", "exports"),
        ("EXPORTS_BUCKET", "bucket"),
        ("RESET_ANSWER_FLOOR_MS", "0"),
    ]);
    let cfg = AuthConfig::from_env(&env).unwrap();
    let cache = Arc::new(SecretCache::new(secrets, CacheSettings::default()));
    AuthApp::with_stores(
        &cfg,
        cache,
        MemoryAccounts::default(),
        MemoryApiKeys::default(),
        MemoryAudit::default(),
        outbox,
    )
}

async fn post(app: &App, path: &str, auth: Option<&str>, body: Value) -> (StatusCode, Value) {
    call(app, "POST", path, auth, Some(&body.to_string())).await
}

async fn login(app: &App, email: &str, password: &str) -> (StatusCode, Value) {
    post(app, "/v1/auth/login", None, json!({"email": email, "password": password})).await
}

fn bearer(pair: &Value) -> String {
    format!("Bearer {}", pair["access_token"].as_str().unwrap())
}

#[tokio::test]
async fn an_account_registers_once_logs_in_and_is_locked_after_the_threshold() {
    let app = app();
    let creds = json!({"email": "Ada@Example.com", "password": PASSWORD});
    assert_eq!(post(&app, "/v1/auth/register", None, creds.clone()).await.0, StatusCode::CREATED);
    assert_eq!(post(&app, "/v1/auth/register", None, creds).await.0, StatusCode::CONFLICT);
    let (status, pair) = login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let (status, me) = call(&app, "GET", "/v1/auth/me", Some(&bearer(&pair)), None).await;
    assert_eq!((status, me["email"].as_str()), (StatusCode::OK, Some("ada@example.com")));
    for _ in 0..2 {
        assert_eq!(login(&app, "ada@example.com", "wrong password entirely").await.0, StatusCode::UNAUTHORIZED);
    }
    // The third failure (the threshold) locks the account, and the right password waits too.
    assert_eq!(login(&app, "ada@example.com", "wrong password entirely").await.0, StatusCode::TOO_MANY_REQUESTS);
    let (status, body) = login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests")));
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_family_and_logout_ends_the_session() {
    let app = app();
    post(&app, "/v1/auth/register", None, json!({"email": "bob@example.com", "password": PASSWORD})).await;
    let (_, first) = login(&app, "bob@example.com", PASSWORD).await;
    let refresh = |t: &Value| json!({"refresh_token": t["refresh_token"]});
    let (status, second) = post(&app, "/v1/auth/refresh", None, refresh(&first)).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(post(&app, "/v1/auth/refresh", None, refresh(&first)).await.0, StatusCode::UNAUTHORIZED, "reuse");
    assert_eq!(post(&app, "/v1/auth/refresh", None, refresh(&second)).await.0, StatusCode::UNAUTHORIZED, "revoked");

    let (_, pair) = login(&app, "bob@example.com", PASSWORD).await;
    assert_eq!(post(&app, "/v1/auth/logout", Some(&bearer(&pair)), json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(&app, "GET", "/v1/auth/me", Some(&bearer(&pair)), None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_keys_are_created_listed_and_revoked_by_their_owner_only() {
    let app = app();
    for email in ["cy@example.com", "di@example.com"] {
        post(&app, "/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
    }
    let cy = bearer(&login(&app, "cy@example.com", PASSWORD).await.1);
    let di = bearer(&login(&app, "di@example.com", PASSWORD).await.1);
    let body = json!({"name": "collar", "scopes": ["readings:write"], "collar_ids": ["AB-123"]});
    let (status, created) = post(&app, "/v1/api-keys", Some(&cy), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["api_key"].as_str().unwrap().starts_with("pty_"));
    let key_id = created["key_id"].as_str().unwrap().to_owned();
    let (_, list) = call(&app, "GET", "/v1/api-keys", Some(&cy), None).await;
    assert_eq!(list["api_keys"][0]["key_id"], key_id.as_str());
    assert!(list["api_keys"][0].get("api_key").is_none(), "the secret is shown once, at creation");
    let path = format!("/v1/api-keys/{key_id}");
    assert_eq!(call(&app, "DELETE", &path, Some(&di), None).await.0, StatusCode::NOT_FOUND, "not di's key");
    assert_eq!(call(&app, "DELETE", &path, Some(&cy), None).await.0, StatusCode::NO_CONTENT);
    let (_, list) = call(&app, "GET", "/v1/api-keys", Some(&cy), None).await;
    assert_eq!(list["api_keys"][0]["revoked"], true);
    let too_much = json!({"name": "x", "scopes": ["collars:manage"]});
    assert_eq!(post(&app, "/v1/api-keys", Some(&cy), too_much).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_reset_token_works_once_and_ends_every_session_and_key() {
    let outbox = MemoryOutbox::default();
    let app = app_with(outbox.clone());
    post(&app, "/v1/auth/register", None, json!({"email": "eve@example.com", "password": PASSWORD})).await;
    let first = bearer(&login(&app, "eve@example.com", PASSWORD).await.1);
    let second = bearer(&login(&app, "eve@example.com", PASSWORD).await.1);
    let key = json!({"name": "collar", "scopes": ["readings:write"], "collar_ids": ["AB-123456"]});
    assert_eq!(post(&app, "/v1/api-keys", Some(&first), key).await.0, StatusCode::CREATED);

    let (status, unknown) = post(&app, "/v1/auth/password-reset", None, json!({"email": "nobody@example.com"})).await;
    let (status2, known) = post(&app, "/v1/auth/password-reset", None, json!({"email": "eve@example.com"})).await;
    assert_eq!((status, status2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(unknown, known, "the same answer with or without an account");
    let stale = outbox.token_to("eve@example.com");
    post(&app, "/v1/auth/password-reset", None, json!({"email": "eve@example.com"})).await;
    let token = outbox.token_to("eve@example.com");
    assert_ne!(stale, token);

    let confirm = |t: &str| json!({"token": t, "new_password": "a brand new passphrase"});
    let (status, body) = post(&app, "/v1/auth/password-reset/confirm", None, confirm(&stale)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_token")), "replaced");
    let (status, body) = post(&app, "/v1/auth/password-reset/confirm", None, confirm(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["sessions_revoked"].as_u64(), body["api_keys_revoked"].as_u64()), (Some(2), Some(1)));
    assert_eq!(
        post(&app, "/v1/auth/password-reset/confirm", None, confirm(&token)).await.0,
        StatusCode::BAD_REQUEST,
        "used"
    );
    for old in [&first, &second] {
        assert_eq!(call(&app, "GET", "/v1/auth/me", Some(old), None).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, "eve@example.com", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, "eve@example.com", "a brand new passphrase").await.0, StatusCode::OK);
    // A verification token cannot reset a password.
    let me = bearer(&login(&app, "eve@example.com", "a brand new passphrase").await.1);
    assert_eq!(post(&app, "/v1/auth/verify-email", Some(&me), json!({})).await.0, StatusCode::ACCEPTED);
    let verify = outbox.token_to("eve@example.com");
    assert_eq!(post(&app, "/v1/auth/password-reset/confirm", None, confirm(&verify)).await.0, StatusCode::BAD_REQUEST);
    let (status, user) = post(&app, "/v1/auth/verify-email/confirm", None, json!({"token": verify})).await;
    assert_eq!((status, user["email_verified"].as_bool()), (StatusCode::OK, Some(true)));
}

#[tokio::test]
async fn a_password_change_keeps_the_callers_session_only_and_deletion_closes_the_account() {
    let outbox = MemoryOutbox::default();
    let app = app_with(outbox.clone());
    post(&app, "/v1/auth/register", None, json!({"email": "fay@example.com", "password": PASSWORD})).await;
    let mine = bearer(&login(&app, "fay@example.com", PASSWORD).await.1);
    let other = bearer(&login(&app, "fay@example.com", PASSWORD).await.1);
    let wrong = json!({"current_password": "not the password at all", "new_password": "another fine passphrase"});
    assert_eq!(post(&app, "/v1/auth/password", Some(&mine), wrong).await.0, StatusCode::FORBIDDEN);
    let right = json!({"current_password": PASSWORD, "new_password": "another fine passphrase"});
    let (status, body) = post(&app, "/v1/auth/password", Some(&mine), right).await;
    assert_eq!((status, body["sessions_revoked"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(call(&app, "GET", "/v1/auth/me", Some(&other), None).await.0, StatusCode::UNAUTHORIZED);
    let (status, sessions) = call(&app, "GET", "/v1/auth/sessions", Some(&mine), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(sessions["sessions"][0]["current"], true);

    let (status, _) =
        call(&app, "DELETE", "/v1/auth/me", Some(&mine), Some(r#"{"password": "another fine passphrase"}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(login(&app, "fay@example.com", "another fine passphrase").await.0, StatusCode::UNAUTHORIZED);
    let jobs = outbox.jobs.lock().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].0, jobs[0].1["kind"].as_str()), (JobQueue::Erasure, Some("erase")));
}
