//! Support for the integration tests: the moto endpoint, SDK clients, unique names, keys,
//! and realistic API Gateway events.
//!
//! Tests run against moto over the real AWS wire protocol; `make test` starts it and sets
//! `AWS_ENDPOINT_URL`. Nothing here talks to real AWS: a non-loopback endpoint is refused.

pub mod apps;
pub mod receiver;

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use lambda_http::{Body, Request, RequestExt, Response};
use petty_shared::jwt::{Claims, JwtSettings, Signer, TokenType, Verifier};
use petty_shared::keygen::{self, GeneratedKey};
use petty_shared::secrets::{CacheSettings, SecretCache, SecretsManagerSource};
use serde_json::Value;

/// Token issuer the tests configure.
pub const ISSUER: &str = "https://auth.petty.test";
/// Token audience the tests configure.
pub const AUDIENCE: &str = "petty-api";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The moto endpoint; panics with instructions when tests are run without `make test`.
pub fn endpoint() -> String {
    let url = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the tests with `make test`, which starts moto");
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:"),
        "refusing to run integration tests against a non-local endpoint: {url}"
    );
    url
}

/// The production SDK configuration, pointed at moto by the environment.
pub async fn sdk() -> SdkConfig {
    endpoint();
    petty_shared::aws::load().await
}

/// Everything moto recorded (SES's sent mail under `ses.Message`, SNS's publishes...).
pub async fn moto_data() -> serde_json::Value {
    // moto serializes its whole state for this answer; under parallel tests it sometimes fails
    // mid-way (a 500 that is not JSON): asked again, it answers.
    let mut last = String::new();
    for _ in 0..10 {
        let text = reqwest::get(format!("{}/moto-api/data.json", endpoint())).await.unwrap().text().await.unwrap();
        match serde_json::from_str(&text) {
            Ok(v) => return v,
            Err(_) => last = text,
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("moto's data.json did not answer JSON: {}", &last[..last.len().min(300)]);
}

/// The mail SES sent to `to`, oldest first: (subject, text body).
pub async fn mail_to(to: &str) -> Vec<(String, String)> {
    let data = moto_data().await;
    let mut out = Vec::new();
    for m in data["ses"]["Message"].as_array().into_iter().flatten() {
        if m["destinations"]["ToAddresses"][0] == to {
            out.push((
                m["subject"].as_str().unwrap_or_default().to_owned(),
                m["body"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

/// The token (`Token: …` line) of the newest mail to `to` whose subject contains `subject`,
/// as a user would copy it from their inbox.
pub async fn token_from_inbox(to: &str, subject: &str) -> String {
    let mail = mail_to(to).await;
    let (_, body) = mail
        .iter()
        .rev()
        .find(|(s, b)| s.contains(subject) && b.contains("Token: "))
        .unwrap_or_else(|| panic!("no `{subject}` mail to {to} in {mail:?}"));
    body.split("Token: ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// The messages waiting on a queue (up to 10, deleted as received), as the SQS event Lambda
/// would deliver them: the account jobs are fed from their real queues.
pub async fn drain(queue_url: &str) -> petty_shared::batch::SqsEvent {
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let out = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
    let mut event = petty_shared::batch::SqsEvent::default();
    for m in out.messages() {
        sqs.delete_message().queue_url(queue_url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        event.records.push(petty_shared::batch::SqsMessage {
            message_id: m.message_id().unwrap().to_owned(),
            body: m.body().unwrap().to_owned(),
        });
    }
    event
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Creates a table keyed by `pk` (S) and `sk` (N).
pub async fn create_table(ddb: &aws_sdk_dynamodb::Client, name: &str) {
    ddb.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("sk").attribute_type(ScalarAttributeType::N).build().unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .key_schema(KeySchemaElement::builder().attribute_name("sk").key_type(KeyType::Range).build().unwrap())
        .send()
        .await
        .expect("create table in moto");
}

/// Creates or overwrites a secret.
pub async fn put_secret(sm: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    if sm.create_secret().name(name).secret_string(value).send().await.is_err() {
        sm.put_secret_value().secret_id(name).secret_string(value).send().await.expect("put secret in moto");
    }
}

/// A key set stored in moto under a unique JWKS secret, with a signer for it.
pub struct Keys {
    pub key: GeneratedKey,
    pub signer: Signer,
    pub jwks_secret_id: String,
}

impl Keys {
    /// Generates a key and stores its JWKS in moto.
    pub async fn stored(sm: &aws_sdk_secretsmanager::Client) -> Self {
        let key = keygen::generate(&unique("kid"));
        let jwks_secret_id = unique("jwks");
        put_secret(sm, &jwks_secret_id, &keygen::jwks_json(&[&key])).await;
        let signer = Signer::from_json(&keygen::signing_set_json(&key.kid, &[&key])).unwrap();
        Self { key, signer, jwks_secret_id }
    }

    /// An access token for `sub` with `scopes`.
    pub fn access_token(&self, sub: &str, scopes: &[&str]) -> String {
        self.signer.sign(&claims(sub, scopes, TokenType::Access)).unwrap()
    }
}

/// Valid claims for the test issuer and audience.
pub fn claims(sub: &str, scopes: &[&str], token_type: TokenType) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: sub.into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        token_type,
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        nbf: now,
        exp: now + 900,
        fam: None,
    }
}

/// A secret cache over the real Secrets Manager client.
pub fn secret_cache(
    sm: aws_sdk_secretsmanager::Client,
    settings: CacheSettings,
) -> Arc<SecretCache<SecretsManagerSource>> {
    Arc::new(SecretCache::new(SecretsManagerSource::new(sm), settings))
}

/// A verifier for the test issuer and audience.
pub fn verifier(cache: Arc<SecretCache<SecretsManagerSource>>, jwks_secret_id: &str) -> Verifier<SecretsManagerSource> {
    Verifier::new(cache, jwks_secret_id, &JwtSettings { issuer: ISSUER.into(), audience: AUDIENCE.into() })
}

/// An API Gateway HTTP API (v2) event (`path` may carry a query string).
pub use petty_shared::testing::api_gateway_event as v2_event;

/// Registers `collar` in the stage's collars table, as `POST /v1/admin/collars` does (the
/// same table module), and returns its claim code.
pub async fn register_collar(env: &petty_shared::Env, collar: &str) -> petty_shared::claim_code::ClaimCode {
    let code = petty_shared::claim_code::ClaimCode::generate();
    let table = petty_shared::tables::collars::CollarsTable::new(
        petty_shared::aws::dynamodb(&sdk().await),
        env.required("COLLARS_TABLE").unwrap(),
    );
    assert!(
        table.register_collar(collar, &code.hash(), None, chrono::Utc::now().timestamp()).await.unwrap(),
        "{collar} is new"
    );
    code
}

/// Moves a claim back to `claimed_at_ms` (as if it had been claimed then, by a second owner:
/// readings from that time on are theirs).
pub async fn backdate_claim(ddb: &aws_sdk_dynamodb::Client, env: &petty_shared::Env, collar: &str, claimed_at_ms: i64) {
    use petty_shared::dynamo::{n, s};
    ddb.update_item()
        .table_name(env.required("COLLARS_TABLE").unwrap())
        .key("collar_id", s(collar))
        .update_expression("SET created_at = :t, visible_from = :v")
        .expression_attribute_values(":t", n(claimed_at_ms / 1000))
        .expression_attribute_values(":v", n(claimed_at_ms))
        .send()
        .await
        .unwrap();
}

/// Grants `scope` to the account of `email`, as `tools/local_aws.py grant-scope` does for an
/// operator (both user items), so tests can call the operators' routes.
pub async fn grant_scope(
    ddb: &aws_sdk_dynamodb::Client,
    env: &petty_shared::Env,
    user_id: &str,
    email: &str,
    scope: &str,
) {
    use petty_shared::dynamo::s;
    for pk in [format!("USER#{user_id}"), format!("EMAIL#{email}")] {
        ddb.update_item()
            .table_name(env.required("USERS_TABLE").unwrap())
            .key("pk", s(pk))
            .update_expression("SET scopes = list_append(scopes, :s)")
            .expression_attribute_values(":s", aws_sdk_dynamodb::types::AttributeValue::L(vec![s(scope)]))
            .send()
            .await
            .unwrap();
    }
}

/// A response's status, its JSON body (null when empty), and the response itself.
pub type Reply = (lambda_http::http::StatusCode, Value, Response<Body>);

/// Sends a JSON request (`content-type: application/json` plus `headers`) through the pipeline.
pub async fn call<H: petty_shared::Handler>(
    http: &petty_shared::HttpService,
    handler: &H,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let resp = http.handle(handler, request(&v2_event(method, path, &all, body), "req-test", None)).await.unwrap();
    let json = if matches!(resp.body(), Body::Empty) { Value::Null } else { body_json(&resp) };
    (resp.status(), json, resp)
}

/// A request parsed from an event, with a Lambda context carrying `request_id` and `trace`.
pub fn request(event: &Value, request_id: &str, trace: Option<&str>) -> Request {
    request_with_deadline(event, request_id, trace, 10_000)
}

/// [`request`] with Lambda's deadline `deadline_ms` from now.
pub fn request_with_deadline(event: &Value, request_id: &str, trace: Option<&str>, deadline_ms: i64) -> Request {
    let req = lambda_http::request::from_str(&event.to_string()).expect("event parses as an API Gateway request");
    let mut ctx = lambda_http::Context::default();
    ctx.request_id = request_id.to_owned();
    ctx.xray_trace_id = trace.map(str::to_owned);
    ctx.deadline = (chrono::Utc::now().timestamp_millis() + deadline_ms) as u64;
    req.with_lambda_context(ctx)
}

/// The response body as text (gunzipped if needed).
pub fn body_text(resp: &Response<Body>) -> String {
    let bytes: Vec<u8> = match resp.body() {
        Body::Text(t) => t.clone().into_bytes(),
        Body::Binary(b) => b.clone(),
        _ => vec![],
    };
    if resp.headers().get("content-encoding").is_some_and(|v| v == "gzip") {
        use std::io::Read;
        let mut out = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut out).expect("valid gzip");
        return out;
    }
    String::from_utf8(bytes).expect("utf-8 body")
}

/// The response body as JSON.
pub fn body_json(resp: &Response<Body>) -> Value {
    serde_json::from_str(&body_text(resp)).expect("JSON body")
}

/// A stage seeded in moto from template.yaml by `tools/local_aws.py` (every table and secret,
/// a fresh key set), and the functions' environment for it.
pub struct Stack {
    pub stage: String,
    pub env: petty_shared::Env,
}

impl Stack {
    /// Seeds a new, unique stage; `overrides` are added to its environment.
    pub fn seed(overrides: &[(&str, &str)]) -> Self {
        let stage = unique("t").to_lowercase();
        let env_file = std::env::temp_dir().join(format!("{stage}.env"));
        run_tool(&["seed", "--endpoint", &endpoint(), "--stage", &stage, "--env-file", env_file.to_str().unwrap()]);
        let text = std::fs::read_to_string(&env_file).unwrap();
        std::fs::remove_file(&env_file).ok();
        let mut pairs: Vec<(String, String)> =
            text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        pairs.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Self { stage, env: petty_shared::Env::from_pairs(pairs) }
    }

    /// Rotates this stage's key set (`make rotate-keys`): a new current key, previous kept.
    pub fn rotate_keys(&self) {
        run_tool(&["keys", "--endpoint", &endpoint(), "--stage", &self.stage]);
    }
}

fn run_tool(args: &[&str]) {
    let python = std::env::var("PETTY_PYTHON").expect("PETTY_PYTHON is set by `make test` (the repo's venv python)");
    let out =
        std::process::Command::new(python).arg(repo_root().join("tools/local_aws.py")).args(args).output().unwrap();
    assert!(out.status.success(), "local_aws.py {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

// ---------------------------------------------------------------- fault injection

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Simulates DynamoDB leaving part of a batch unprocessed, over the real wire protocol: some
/// items of a request are removed before it is sent (so moto never sees them) and reported
/// back as `UnprocessedItems` in the response.
#[derive(Debug)]
pub struct PartialBatches {
    table: String,
    /// The table's hash and (numeric) range key attributes.
    hash_key: String,
    range_key: String,
    /// Drop the last `drop_last` items of each of the first `remaining` requests...
    drop_last: usize,
    remaining: AtomicUsize,
    /// ...and always drop items whose range key is a multiple of this (never written).
    poison_every: Option<u64>,
}

impl PartialBatches {
    /// Tampers with `BatchWriteItem` requests to `table` (hash key `pk` unless the range key is
    /// `ts`, in which case `collar_id`: the two schemas the tests use).
    pub fn new(table: &str, range_key: &str, drop_last: usize, times: usize, poison_every: Option<u64>) -> Self {
        let hash_key = if range_key == "ts" { "collar_id" } else { "pk" };
        Self {
            table: table.to_owned(),
            hash_key: hash_key.to_owned(),
            range_key: range_key.to_owned(),
            drop_last,
            remaining: AtomicUsize::new(times),
            poison_every,
        }
    }

    fn poisoned(&self, item: &Value) -> bool {
        let key = item
            .pointer(&format!("/PutRequest/Item/{}/N", self.range_key))
            .and_then(Value::as_str)
            .and_then(|n| n.parse::<u64>().ok());
        matches!((self.poison_every, key), (Some(every), Some(k)) if k % every == 0)
    }
}

#[derive(Debug, Clone)]
struct Dropped(Vec<Value>);
impl Storable for Dropped {
    type Storer = StoreReplace<Self>;
}

/// Replaces a message body, keeping `content-length` true.
#[macro_export]
macro_rules! set_json_body {
    ($msg:expr, $value:expr) => {{
        let bytes = serde_json::to_vec($value)?;
        $msg.headers_mut().insert("content-length", bytes.len().to_string());
        *$msg.body_mut() = aws_smithy_types::body::SdkBody::from(bytes);
    }};
}

impl Intercept for PartialBatches {
    fn name(&self) -> &'static str {
        "PartialBatches"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request_mut();
        let Some(bytes) = req.body().bytes() else { return Ok(()) };
        let mut json: Value = serde_json::from_slice(bytes)?;
        let Some(items) = json.pointer_mut(&format!("/RequestItems/{}", self.table)).and_then(Value::as_array_mut)
        else {
            return Ok(());
        };
        let (mut dropped, kept): (Vec<Value>, Vec<Value>) = items.drain(..).partition(|i| self.poisoned(i));
        *items = kept;
        if items.len() > self.drop_last
            && self.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
        {
            dropped.extend(items.split_off(items.len() - self.drop_last));
        }
        if dropped.is_empty() {
            return Ok(());
        }
        if items.is_empty() {
            // DynamoDB rejects an empty batch: send a harmless sentinel instead.
            let mut sentinel = serde_json::Map::new();
            sentinel.insert(self.hash_key.clone(), serde_json::json!({"S": "SENTINEL"}));
            sentinel.insert(self.range_key.clone(), serde_json::json!({"N": "0"}));
            items.push(serde_json::json!({"PutRequest": {"Item": sentinel}}));
        }
        cfg.interceptor_state().store_put(Dropped(dropped));
        set_json_body!(req, &json);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Dropped(dropped)) = cfg.load::<Dropped>().cloned() else { return Ok(()) };
        let resp = ctx.response_mut();
        let mut json: Value = serde_json::from_slice(resp.body().bytes().unwrap_or(b"{}"))?;
        json["UnprocessedItems"] = serde_json::json!({ self.table.clone(): dropped });
        set_json_body!(resp, &json);
        Ok(())
    }
}
