//! Auth benchmark (numbers, not pass/fail): argon2id hash time, RS256 tokens issued and
//! verified per second on one core, and login latency against a seeded local stack.
//!
//! Run by `make bench`, which starts moto, seeds a stage and exports its environment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petty_auth::credentials::PasswordHasher;
use petty_auth::{AuthApp, AuthConfig};
use petty_shared::config::FromEnv;
use petty_shared::jwt::{Claims, JwtSettings, Signer, TokenType, Verifier};
use petty_shared::secrets::{
    CacheSettings, SecretCache, SecretError, SecretSource, SecretString, SecretsManagerSource,
};
use petty_shared::{Env, HttpService, keygen};

/// Key sets held in memory: this measures verification, not Secrets Manager.
struct InMemory(Mutex<HashMap<String, String>>);

impl SecretSource for InMemory {
    async fn fetch(&self, id: &str) -> Result<SecretString, SecretError> {
        self.0.lock().unwrap().get(id).cloned().map(SecretString::new).ok_or_else(|| SecretError::NotFound(id.into()))
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn claims() -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: "https://auth.petty.example".into(),
        aud: "petty-api".into(),
        sub: "user-1".into(),
        scopes: vec!["readings:read".into(), "readings:write".into()],
        token_type: TokenType::Access,
        jti: "j".into(),
        iat: now,
        nbf: now,
        exp: now + 900,
        fam: Some("f".into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hasher = PasswordHasher::default();
    let mut hash_ms: Vec<f64> = (0..10)
        .map(|_| {
            let t = Instant::now();
            hasher.hash("correct horse battery staple").unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    hash_ms.sort_by(f64::total_cmp);
    println!(
        "argon2id hash (m=19456 KiB, t=2, p=1): p50 {:.1} ms, max {:.1} ms",
        percentile(&hash_ms, 0.5),
        hash_ms[9]
    );

    let key = keygen::generate("k1");
    let signer = Signer::from_json(&keygen::signing_set_json("k1", &[&key])).unwrap();
    let c = claims();
    let window = Duration::from_secs(2);
    let t = Instant::now();
    let mut issued = 0u64;
    while t.elapsed() < window {
        signer.sign(&c).unwrap();
        issued += 1;
    }
    println!("RS256 tokens issued: {:.0}/s on one core", issued as f64 / t.elapsed().as_secs_f64());

    let secrets = InMemory(Mutex::new(HashMap::from([("jwks".to_owned(), keygen::jwks_json(&[&key]))])));
    let cache = Arc::new(SecretCache::new(secrets, CacheSettings::default()));
    let verifier = Verifier::new(cache, "jwks", &JwtSettings { issuer: c.iss.clone(), audience: c.aud.clone() });
    let token = signer.sign(&c).unwrap();
    let t = Instant::now();
    let mut verified = 0u64;
    while t.elapsed() < window {
        verifier.verify(&token, TokenType::Access).await.unwrap();
        verified += 1;
    }
    println!("RS256 tokens verified: {:.0}/s on one core", verified as f64 / t.elapsed().as_secs_f64());

    if std::env::var("USERS_TABLE").is_err() {
        println!("login p50: skipped (no seeded stack in the environment; run `make bench`)");
        return;
    }
    let cfg = AuthConfig::from_env(&Env::process()).expect("seeded stack environment");
    let sdk = petty_shared::aws::load().await;
    let cache = Arc::new(SecretCache::new(
        SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk)),
        CacheSettings::default(),
    ));
    let app = AuthApp::new(&cfg, &sdk, cache);
    let http = HttpService::new("auth").with_emf_sink(Arc::new(|_: &[u8]| {}));
    let event = |path: &str, body: &str| {
        let json = serde_json::json!({
            "version": "2.0", "routeKey": format!("POST {path}"), "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
                "requestId": "r", "routeKey": format!("POST {path}"), "stage": "$default", "time": "t", "timeEpoch": 0},
            "body": body, "isBase64Encoded": false
        });
        lambda_http::request::from_str(&json.to_string()).unwrap()
    };
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let body = serde_json::json!({"email": email, "password": "correct horse battery staple"}).to_string();
    let created = http.handle(&app, event("/v1/auth/register", &body)).await.unwrap();
    assert_eq!(created.status(), 201);
    let mut login_ms = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let resp = http.handle(&app, event("/v1/auth/login", &body)).await.unwrap();
        login_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(resp.status(), 200);
    }
    login_ms.sort_by(f64::total_cmp);
    println!(
        "login against moto (50 logins: lockout read, user read, argon2 verify, family write, 2 signatures, audit write): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&login_ms, 0.5),
        percentile(&login_ms, 0.99)
    );
}
