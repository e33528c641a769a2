//! The auth function end to end against moto: accounts, token families, lockout, API keys,
//! rotation, the audit trail, bad input, and logs that never hold a credential.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::StatusCode;
use petty_auth::{AuthApp, AuthConfig};
use petty_shared::HttpService;
use petty_shared::auth::{Authenticator, PrincipalKind};
use petty_shared::config::FromEnv;
use petty_shared::jwt::{JwtSettings, Verifier};
use petty_shared::logging::{JsonLayer, memory_sink};
use petty_shared::secrets::{CacheSettings, SecretCache, SecretsManagerSource};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_tests::{Reply, Stack, request, sdk, secret_cache, v2_event};
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;

const PASSWORD: &str = "correct horse battery staple";

struct Auth {
    stack: Stack,
    cfg: AuthConfig,
    app: AuthApp<SecretsManagerSource>,
    http: HttpService,
}

async fn auth(overrides: &[(&str, &str)]) -> Auth {
    let stack = Stack::seed(overrides);
    let cfg = AuthConfig::from_env(&stack.env).expect("seeded env configures auth");
    let sdk = sdk().await;
    let cache = secret_cache(
        petty_shared::aws::secrets_manager(&sdk),
        CacheSettings { ttl: cfg.common.secret_ttl, min_refresh_interval: Duration::ZERO, ..CacheSettings::default() },
    );
    let app = AuthApp::new(&cfg, &sdk, cache);
    let (sink, _) = memory_sink();
    let http = HttpService::new("auth").with_emf_sink(sink);
    Auth { stack, cfg, app, http }
}

impl Auth {
    async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Reply {
        let text = body.map(|b| b.to_string());
        petty_tests::call(&self.http, &self.app, method, path, headers, text.as_deref()).await
    }

    async fn register(&self, email: &str) -> Value {
        let (status, body, _) = self
            .call("POST", "/v1/auth/register", &[], Some(json!({"email": email, "password": PASSWORD, "name": "Ada"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    async fn login(&self, email: &str, password: &str) -> Reply {
        self.call("POST", "/v1/auth/login", &[], Some(json!({"email": email, "password": password}))).await
    }

    async fn tokens(&self, email: &str) -> (String, String) {
        let (status, body, _) = self.login(email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
    }

    async fn with_token(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {token}");
        self.call(method, path, &[("authorization", &auth)], body).await
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        self.call("POST", "/v1/auth/refresh", &[], Some(json!({"refresh_token": refresh_token}))).await
    }
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn the_account_journey_with_refresh_reuse_detection() {
    let a = auth(&[]).await;
    let user = a.register("  Ada@Example.COM ").await;
    assert_eq!(user["email"], "ada@example.com");
    assert!(user.get("password_hash").is_none() && !user.to_string().contains("argon2"), "no secrets: {user}");

    let (status, pair, resp) = a.login("ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((pair["token_type"].as_str(), pair["expires_in"].as_u64()), (Some("Bearer"), Some(900)));
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (access1, refresh1) =
        (pair["access_token"].as_str().unwrap().to_owned(), pair["refresh_token"].as_str().unwrap().to_owned());
    let c = claims_of(&access1);
    assert_eq!((c["token_type"].as_str(), c["sub"].clone()), (Some("access"), user["user_id"].clone()));
    assert!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap() <= 900);

    let (status, me, _) = a.with_token("GET", "/v1/auth/me", &access1, None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "ada@example.com");
    assert!(me["scopes"].as_array().unwrap().iter().any(|s| s == "readings:write"));

    // Refresh rotates within the family and preserves scopes.
    let (status, pair2, _) = a.refresh(&refresh1).await;
    assert_eq!(status, StatusCode::OK, "{pair2}");
    let refresh2 = pair2["refresh_token"].as_str().unwrap().to_owned();
    let access2 = pair2["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&access2)["scopes"], c["scopes"]);
    assert_eq!(claims_of(&refresh2)["fam"], claims_of(&refresh1)["fam"]);

    // The refresh token as an access token, and the reverse, are refused.
    assert_eq!(a.with_token("GET", "/v1/auth/me", &refresh2, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(a.refresh(&access2).await.0, StatusCode::UNAUTHORIZED);

    // Presenting the consumed token again: the whole family is revoked.
    let (status, body, _) = a.refresh(&refresh1).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"));
    assert_eq!(a.refresh(&refresh2).await.0, StatusCode::UNAUTHORIZED, "the thief's new token is dead too");
    assert_eq!(
        a.with_token("GET", "/v1/auth/me", &access2, None).await.0,
        StatusCode::UNAUTHORIZED,
        "account routes check the family"
    );

    // A new session, then logout ends it.
    let (access3, refresh3) = a.tokens("ada@example.com").await;
    assert_eq!(a.with_token("POST", "/v1/auth/logout", &access3, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(a.with_token("GET", "/v1/auth/me", &access3, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(a.refresh(&refresh3).await.0, StatusCode::UNAUTHORIZED);

    // The owner's recent activity lists what happened, newest first.
    let (access4, _) = a.tokens("ada@example.com").await;
    let (status, events, _) = a.with_token("GET", "/v1/auth/events", &access4, None).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["register", "login", "refresh", "refresh_reuse", "logout"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert_eq!(actions[0], "login", "newest first");
    assert_eq!(events["events"][0]["source_ip"], "192.0.2.1");
}

#[tokio::test]
async fn registration_validates_at_the_edge() {
    let a = auth(&[]).await;
    a.register("owner@example.com").await;
    let post = |body: Value| a.call("POST", "/v1/auth/register", &[], Some(body));
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({"email": "OWNER@example.com ", "password": PASSWORD}), StatusCode::CONFLICT, "conflict"),
        (json!({"email": "ｏｗｎｅｒ@example.com", "password": PASSWORD}), StatusCode::CONFLICT, "conflict"),
        (
            json!({"email": "new@example.com", "password": "short-pw-11"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
        (
            json!({"email": "new@example.com", "password": "qwerty123456"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
        (
            json!({"email": "new@example.com", "password": "x".repeat(129)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
        (json!({"email": "not-an-email", "password": PASSWORD}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_email"),
        (
            json!({"email": "new@example.com", "password": PASSWORD, "admin": true}),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (json!({"email": "new@example.com"}), StatusCode::BAD_REQUEST, "invalid_json"),
        (json!({"email": 42, "password": PASSWORD}), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            json!({"email": "new@example.com", "password": PASSWORD, "name": "x".repeat(101)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_name",
        ),
    ];
    for (body, status, code) in cases {
        let (got, resp, _) = post(body.clone()).await;
        assert_eq!((got, resp["error"]["code"].as_str()), (status, Some(code)), "{body}");
        assert_eq!(resp["request_id"], "req-test");
    }
    let (status, _, _) = a.call("POST", "/v1/auth/register", &[], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = a.call("GET", "/v1/auth/register", &[], None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // Login input is bounded before hashing, and odd credentials are 401s, never 500s.
    let (status, body, _) = a.login("owner@example.com", &"x".repeat(10_000)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    assert_eq!(a.login("not an email", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    for header in ["Basic b3duZXI6cHc=", "Bearer", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", "Bearer a.b.c"] {
        let (status, body, resp) = a.call("GET", "/v1/auth/me", &[("authorization", header)], None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header}: {body}");
        assert!(resp.headers().contains_key("www-authenticate"));
    }
}

#[tokio::test]
async fn lockout_after_repeated_failures_and_its_expiry() {
    // A 6 s lock: long enough that the logins checking it finish inside it on a loaded machine
    // (argon2 in a debug build), short enough to wait out.
    let a = auth(&[("LOCKOUT_THRESHOLD", "3"), ("LOCKOUT_WINDOW_SECONDS", "60"), ("LOCKOUT_SECONDS", "6")]).await;
    a.register("lock@example.com").await;
    let (s1, b1, _) = a.login("lock@example.com", "wrong password 1").await;
    let (s_unknown, b_unknown, _) = a.login("nobody@example.com", "wrong password 1").await;
    assert_eq!((s1, s_unknown), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(b1["error"]["message"], b_unknown["error"]["message"], "unknown email and wrong password look the same");
    assert_eq!(a.login("lock@example.com", "wrong password 2").await.0, StatusCode::UNAUTHORIZED);
    let (status, _, resp) = a.login("lock@example.com", "wrong password 3").await;
    let locked_at = std::time::Instant::now();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "6");
    let (status, _, resp) = a.login("lock@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(resp.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() <= 6);

    tokio::time::sleep(Duration::from_millis(6100).saturating_sub(locked_at.elapsed())).await;
    assert_eq!(a.login("lock@example.com", PASSWORD).await.0, StatusCode::OK, "the lock expired");
    // Success cleared the counter: one more failure does not lock.
    assert_eq!(a.login("lock@example.com", "wrong again!").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(a.login("lock@example.com", PASSWORD).await.0, StatusCode::OK);
}

#[tokio::test]
async fn api_keys_are_created_used_listed_and_revoked() {
    let a = auth(&[]).await;
    a.register("collars@example.com").await;
    a.register("other@example.com").await;
    let (token, _) = a.tokens("collars@example.com").await;
    let (other, _) = a.tokens("other@example.com").await;

    let (status, created, _) = a
        .with_token("POST", "/v1/api-keys", &token, Some(json!({"name": "kitchen collar", "scopes": ["readings:write"], "collar_ids": ["AB-123456"], "expires_in_days": 30})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["api_key"].as_str().unwrap().to_owned();
    let key_id = created["key_id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pty_") && key.contains(&key_id));

    // Another function's extractor (a fresh instance) accepts it.
    let sdk = sdk().await;
    let ddb = petty_shared::aws::dynamodb(&sdk);
    let cache = Arc::new(SecretCache::new(
        SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk)),
        CacheSettings::default(),
    ));
    let settings = JwtSettings { issuer: a.cfg.common.jwt_issuer.clone(), audience: a.cfg.common.jwt_audience.clone() };
    let other_fn = || {
        Authenticator::new(
            Verifier::new(cache.clone(), a.cfg.common.public_keys_secret_id.clone(), &settings),
            Some(ApiKeysTable::new(ddb.clone(), a.cfg.api_keys_table.clone())),
            AuditTable::new(ddb.clone(), a.cfg.audit_table.clone(), 90),
        )
    };
    let extractor = other_fn();
    let req = |k: &str| request(&v2_event("POST", "/v1/ingest", &[("x-api-key", k)], None), "r", None);
    let principal = extractor.authenticate(&req(&key)).await.unwrap();
    assert_eq!(principal.kind, PrincipalKind::ApiKey);
    assert_eq!(principal.scopes, vec!["readings:write"]);
    assert_eq!(principal.collar_ids, vec!["AB-123456"]);
    principal.require_collar("AB-123456").unwrap();
    assert_eq!(principal.require_collar("XY-999").unwrap_err().status(), StatusCode::FORBIDDEN);
    assert_eq!(principal.require_scope("timeline:read").unwrap_err().status(), StatusCode::FORBIDDEN);

    // A typo (checksum) and a bearer token in the wrong header are 401s.
    let mut typo = key.clone();
    typo.replace_range(10..11, if &key[10..11] == "a" { "b" } else { "a" });
    assert_eq!(extractor.authenticate(&req(&typo)).await.unwrap_err().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(extractor.authenticate(&req(&token)).await.unwrap_err().status(), StatusCode::UNAUTHORIZED);

    // Listed without the secret, with last use recorded.
    let (status, list, _) = a.with_token("GET", "/v1/api-keys", &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains(&key) && !list.to_string().contains("secret_hash"), "{list}");
    assert_eq!(list["api_keys"][0]["key_id"], key_id.as_str());
    assert!(list["api_keys"][0]["last_used_at"].is_i64(), "{list}");

    // API keys cannot manage the account; other owners cannot revoke it.
    let (status, _, _) = a.call("GET", "/v1/api-keys", &[("x-api-key", &key)], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(a.with_token("DELETE", &format!("/v1/api-keys/{key_id}"), &other, None).await.0, StatusCode::NOT_FOUND);

    // Revoked: rejected at once by a fresh lookup.
    assert_eq!(a.with_token("DELETE", &format!("/v1/api-keys/{key_id}"), &token, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(other_fn().authenticate(&req(&key)).await.unwrap_err().status(), StatusCode::UNAUTHORIZED);
    let (_, list, _) = a.with_token("GET", "/v1/api-keys", &token, None).await;
    assert_eq!(list["api_keys"][0]["revoked"], true);
    assert_eq!(a.with_token("DELETE", "/v1/api-keys/nope", &token, None).await.0, StatusCode::NOT_FOUND);

    // Scope and expiry rules.
    for body in [
        json!({"name": "x", "scopes": ["admin"]}),
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["readings:write"], "collar_ids": ["bad"]}),
        json!({"name": "x", "scopes": ["readings:write"], "expires_in_days": 0}),
        json!({"name": "x", "scopes": ["readings:write"], "expires_in_days": 366}),
        json!({"name": "", "scopes": ["readings:write"]}),
    ] {
        let (status, resp, _) = a.with_token("POST", "/v1/api-keys", &token, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {resp}");
    }
    let (_, events, _) = a.with_token("GET", "/v1/auth/events", &token, None).await;
    let actions: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["api_key_created", "api_key_first_use", "api_key_revoked"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key() {
    let a = auth(&[("SECRET_TTL_SECONDS", "1")]).await;
    a.register("rotate@example.com").await;
    let (old_access, _) = a.tokens("rotate@example.com").await;
    let old_kid = kid_of(&old_access);

    a.stack.rotate_keys();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (new_access, _) = a.tokens("rotate@example.com").await;
    let new_kid = kid_of(&new_access);
    assert_ne!(old_kid, new_kid, "new tokens use the new current key");
    assert_eq!(
        a.with_token("GET", "/v1/auth/me", &old_access, None).await.0,
        StatusCode::OK,
        "previous key still accepted"
    );
    assert_eq!(a.with_token("GET", "/v1/auth/me", &new_access, None).await.0, StatusCode::OK);

    let (status, jwks, resp) = a.call("GET", "/.well-known/jwks.json", &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()]);
    for k in jwks["keys"].as_array().unwrap() {
        assert_eq!(k.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["alg", "e", "kid", "kty", "n", "use"]);
    }
}

#[tokio::test]
async fn the_auth_flow_never_logs_a_credential() {
    let (log_sink, logs) = memory_sink();
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new("auth", "petty-auth", log_sink));
    let _guard = tracing::subscriber::set_default(subscriber);
    let a = auth(&[]).await;
    a.register("quiet@example.com").await;
    let (_, _, _) = a.login("quiet@example.com", "an entirely wrong password").await;
    let (access, refresh) = a.tokens("quiet@example.com").await;
    let (_, pair, _) = a.refresh(&refresh).await;
    a.refresh(&refresh).await; // reuse: a security event is logged
    let (_, created, _) = a
        .with_token(
            "POST",
            "/v1/api-keys",
            pair["access_token"].as_str().unwrap_or(&access),
            Some(json!({"name": "k", "scopes": ["readings:write"]})),
        )
        .await;
    let all = logs.lock().unwrap().join("\n");
    let mut secrets = vec![PASSWORD.to_owned(), "an entirely wrong password".into(), access.clone(), refresh.clone()];
    secrets.extend(pair["refresh_token"].as_str().map(str::to_owned));
    secrets.extend(created["api_key"].as_str().map(str::to_owned));
    for secret in secrets {
        assert!(!all.contains(&secret), "a credential leaked into the logs");
    }
    let audit_lines: Vec<Value> =
        all.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|l| l["audit"] == true).collect();
    let actions: Vec<&str> = audit_lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    for expected in ["register", "login", "refresh", "refresh_reuse"] {
        assert!(actions.contains(&expected), "{expected} not in audit lines {actions:?}");
    }
    assert!(
        audit_lines
            .iter()
            .all(|l| l["source_ip"] == "192.0.2.1" && l["message"].as_str().unwrap().starts_with("AUDIT "))
    );
    assert!(all.contains("refresh_token_reuse"), "the reuse is a logged security event");
}
