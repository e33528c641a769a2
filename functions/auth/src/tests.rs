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
use crate::store::{Lockout, Rotation, User};

/// Families: (user, current jti, scopes, revoked, expires).
type Family = (String, String, Vec<String>, bool, i64);

/// Users, families and lockouts in memory, with the table's conditions.
#[derive(Default)]
struct MemoryAccounts {
    users: Mutex<HashMap<String, User>>,
    families: Mutex<HashMap<String, Family>>,
    lockouts: Mutex<HashMap<String, Lockout>>,
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
    async fn create_family(
        &self,
        family: &str,
        user_id: &str,
        jti: &str,
        scopes: &[String],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let f = (user_id.to_owned(), jti.to_owned(), scopes.to_vec(), false, expires_at);
        self.families.lock().unwrap().insert(family.to_owned(), f);
        Ok(())
    }
    async fn rotate(&self, family: &str, presented: &str, next: &str, now: i64) -> Result<Rotation, StoreError> {
        let mut families = self.families.lock().unwrap();
        let Some(f) = families.get_mut(family) else { return Ok(Rotation::Dead) };
        if f.3 || f.4 <= now {
            return Ok(Rotation::Dead);
        }
        if f.1 != presented {
            f.3 = true;
            return Ok(Rotation::Reused { user_id: f.0.clone() });
        }
        f.1 = next.to_owned();
        Ok(Rotation::Rotated { scopes: f.2.clone() })
    }
    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        if let Some(f) = self.families.lock().unwrap().get_mut(family) {
            f.3 = true;
        }
        Ok(())
    }
    async fn family_active(&self, family: &str, now: i64) -> Result<bool, StoreError> {
        Ok(self.families.lock().unwrap().get(family).is_some_and(|f| !f.3 && f.4 > now))
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

type App = AuthApp<MemorySecrets, MemoryAccounts, MemoryApiKeys, MemoryAudit>;

const PASSWORD: &str = "correct horse battery staple";

fn app() -> App {
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
    ]);
    let cfg = AuthConfig::from_env(&env).unwrap();
    let cache = Arc::new(SecretCache::new(secrets, CacheSettings::default()));
    AuthApp::with_stores(&cfg, cache, MemoryAccounts::default(), MemoryApiKeys::default(), MemoryAudit::default())
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
