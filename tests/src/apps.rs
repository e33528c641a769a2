//! Every function's handler over one freshly seeded stage, and the steps an owner takes
//! (register, log in, claim, API key, ingest) as one-liners for the tests.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::StatusCode;
use petty_auth::{AuthApp, AuthConfig};
use petty_behaviour::Sample;
use petty_behaviour::simulator::reading_json;
use petty_data_processor::{DataApp, DataConfig};
use petty_feedback::{FeedbackApp, FeedbackConfig};
use petty_shared::HttpService;
use petty_shared::config::FromEnv;

use petty_shared::secrets::{CacheSettings, SecretCache, SecretsManagerSource};
use petty_timeline::{TimelineApp, TimelineConfig};
use serde_json::{Value, json};

use crate::{Reply, Stack, sdk, secret_cache};

/// The password every test owner uses.
pub const PASSWORD: &str = "correct horse battery staple";
/// A credential header: `("authorization", "Bearer …")` or `("x-api-key", "pty_…")`.
pub type Header = (&'static str, String);
type Cache = Arc<SecretCache<SecretsManagerSource>>;

/// The handlers of one stage, called through the production pipeline; EMF lines are kept.
pub struct Apps {
    pub env: petty_shared::Env,
    pub auth: AuthApp<SecretsManagerSource>,
    pub data: DataApp<SecretsManagerSource>,
    pub timeline: TimelineApp<SecretsManagerSource>,
    pub feedback: FeedbackApp<SecretsManagerSource>,
    pub http: HttpService,
    pub emf: Arc<std::sync::Mutex<Vec<String>>>,
}

/// A secrets cache that refreshes whenever asked (tests rotate keys).
pub fn eager_cache(sdk: &aws_config::SdkConfig) -> Cache {
    secret_cache(
        petty_shared::aws::secrets_manager(sdk),
        CacheSettings { min_refresh_interval: Duration::ZERO, ..CacheSettings::default() },
    )
}

impl Apps {
    /// Seeds a new stage and wires every data function to it.
    pub async fn seed() -> Self {
        let stack = Stack::seed(&[]);
        let sdk = sdk().await;
        let ddb = || petty_shared::aws::dynamodb(&sdk);
        let (sink, emf) = petty_shared::logging::memory_sink();
        Self {
            auth: AuthApp::new(&AuthConfig::from_env(&stack.env).unwrap(), &sdk, eager_cache(&sdk)),
            data: DataApp::new(&DataConfig::from_env(&stack.env).unwrap(), ddb(), eager_cache(&sdk)),
            timeline: TimelineApp::new(&TimelineConfig::from_env(&stack.env).unwrap(), ddb(), eager_cache(&sdk)),
            feedback: FeedbackApp::new(&FeedbackConfig::from_env(&stack.env).unwrap(), ddb(), eager_cache(&sdk)),
            http: HttpService::new("tests").with_emf_sink(sink),
            emf,
            env: stack.env,
        }
    }

    /// A call to the auth function.
    pub async fn auth(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Value) -> Reply {
        crate::call(&self.http, &self.auth, method, path, headers, Some(&body.to_string())).await
    }

    /// A GET to the timeline function.
    pub async fn timeline_get(&self, path: &str, who: &Header) -> Reply {
        crate::call(&self.http, &self.timeline, "GET", path, &[(who.0, &who.1)], None).await
    }

    /// A call to the feedback function.
    pub async fn feedback_call(&self, method: &str, path: &str, who: &Header, body: Option<Value>) -> Reply {
        let text = body.map(|b| b.to_string());
        crate::call(&self.http, &self.feedback, method, path, &[(who.0, &who.1)], text.as_deref()).await
    }

    /// Registers and logs in `email`; returns its bearer header.
    pub async fn owner(&self, email: &str) -> Header {
        let creds = json!({"email": email, "password": PASSWORD});
        assert_eq!(self.auth("POST", "/v1/auth/register", &[], creds.clone()).await.0, StatusCode::CREATED);
        let (status, body, _) = self.auth("POST", "/v1/auth/login", &[], creds).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ("authorization", format!("Bearer {}", body["access_token"].as_str().unwrap()))
    }

    /// Proves `who` reads mail at `email` (the verification flow, token from the inbox).
    pub async fn verify_email(&self, who: &Header, email: &str) {
        let (status, body, _) = self.auth("POST", "/v1/auth/verify-email", &[(who.0, &who.1)], json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let token = crate::token_from_inbox(email, "Verify").await;
        let (status, body, _) = self.auth("POST", "/v1/auth/verify-email/confirm", &[], json!({"token": token})).await;
        assert_eq!((status, body["email_verified"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    }

    /// An API key of `who` with `scopes`, limited to `collars`.
    pub async fn api_key(&self, who: &Header, scopes: &[&str], collars: &[&str]) -> Header {
        let body = json!({"name": "integration", "scopes": scopes, "collar_ids": collars});
        let (status, body, _) = self.auth("POST", "/v1/api-keys", &[(who.0, &who.1)], body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ("x-api-key", body["api_key"].as_str().unwrap().to_owned())
    }

    /// Registers `collar` as the operators' route does (through the table module) and returns
    /// its printed claim code.
    pub async fn register(&self, collar: &str) -> String {
        crate::register_collar(&self.env, collar).await.printed()
    }

    /// Registers `collar`, claims it for `who` with its code, then moves the claim back to
    /// `claimed_at_ms` (as if it had been claimed then), so readings of past days are the
    /// owner's.
    pub async fn claim_at(&self, who: &Header, collar: &str, pet: Value, claimed_at_ms: i64) -> String {
        let code = self.register(collar).await;
        let body = json!({"collar_id": collar, "claim_code": code, "pet": pet}).to_string();
        let (status, reply, _) =
            crate::call(&self.http, &self.data, "POST", "/v1/collars", &[(who.0, &who.1)], Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        crate::backdate_claim(&petty_shared::aws::dynamodb(&sdk().await), &self.env, collar, claimed_at_ms).await;
        code
    }

    /// Sends readings through the data processor in batches of 500, in the given order;
    /// returns how many were accepted.
    pub async fn ingest(&self, key: &Header, collar: &str, readings: &[Sample]) -> u64 {
        let mut accepted = 0;
        for chunk in readings.chunks(500) {
            let body = json!({"readings": chunk.iter().map(|r| reading_json(collar, r)).collect::<Vec<_>>()});
            let (status, reply, _) =
                crate::call(&self.http, &self.data, "POST", "/v1/ingest", &[(key.0, &key.1)], Some(&body.to_string()))
                    .await;
            assert_eq!(status, StatusCode::OK, "{reply}");
            assert_eq!(reply["rejected"], json!([]), "{reply}");
            accepted += reply["accepted"].as_u64().unwrap();
        }
        accepted
    }
}
