//! The Petty API as a Rust client: typed requests and responses ([`types`]), a session whose
//! access token is refreshed by itself, API-key mode for collars, and the resilience the apps
//! need: retries with exponential backoff and full jitter for idempotent requests only,
//! `Retry-After` honoured, a timeout per request, and a circuit breaker per host.
//!
//! ```no_run
//! # async fn demo() -> Result<(), petty_client::Error> {
//! let client = petty_client::Client::new(petty_client::Config::from_env(None)?)?;
//! client.login("ada@example.com", "correct horse battery staple").await?;
//! for collar in client.collars(None, None).await?.collars {
//!     println!("{} {}", collar.collar_id, collar.pet.name);
//! }
//! # Ok(()) }
//! ```

pub mod accounts;
pub mod alerts;
pub mod breaker;
pub mod members;
pub mod notifications;
pub mod retry;
pub mod types;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use alerts::{AlertFilter, ZoneWrite};
pub use breaker::{BreakerSettings, CircuitBreaker, CircuitState};
pub use retry::RetryPolicy;
use types::*;

/// The local stack (`make dev`).
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:9000";
/// The environment variable that names the API.
pub const API_URL_ENV: &str = "PETTY_API_URL";
/// The most readings one ingest request may carry.
pub const MAX_BATCH: usize = 500;

/// Everything that can go wrong, in the terms a caller acts on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error (its JSON error shape).
    #[error("{message} (HTTP {status}, {code})")]
    Api { status: u16, code: String, message: String, request_id: Option<String>, retry_after: Option<Duration> },
    /// No answer: connection refused or reset, DNS, TLS, or the per-request timeout.
    #[error("cannot reach {host}: {message}")]
    Transport { host: String, message: String, timeout: bool },
    /// The host failed repeatedly; calls are refused without trying until a probe succeeds.
    #[error("{host} is failing: circuit open, next try in {:.1} s", retry_in.as_secs_f64())]
    CircuitOpen { host: String, retry_in: Duration },
    /// The API answered something this client does not understand.
    #[error("unexpected answer (HTTP {status}): {message}")]
    Decode { status: u16, message: String },
    /// The call needs a login (or an API key) and there is none.
    #[error("not logged in")]
    NotLoggedIn,
    /// A bad base URL or argument.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// The HTTP status, for errors the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Where the API is and how patient to be with it.
#[derive(Clone, Debug)]
pub struct Config {
    pub base_url: String,
    /// Per request (each attempt), connect to last byte.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerSettings,
}

impl Config {
    /// `base_url`, else `PETTY_API_URL`, else the local stack.
    pub fn from_env(base_url: Option<String>) -> Result<Self, Error> {
        let base_url = base_url
            .or_else(|| std::env::var(API_URL_ENV).ok().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        Ok(Self::new(base_url))
    }

    /// Defaults: 30 s per request (a day's timeline against moto takes ~10 s), 3 retries from
    /// 200 ms up to 5 s, breaker at 5 failures with a 30 s cool-down.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            breaker: BreakerSettings::default(),
        }
    }
}

/// How calls authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    None,
    /// An owner's session (refreshed on a 401).
    Tokens(TokenPair),
    /// A collar's (or a script's) API key, sent as `X-Api-Key`.
    ApiKey(String),
}

type TokenHook = Box<dyn Fn(&TokenPair) + Send + Sync>;

/// A client of one API. Cheap to share behind an `Arc`; clients built with
/// [`Client::with_breaker`] share one breaker (its circuits are per host).
pub struct Client {
    http: reqwest::Client,
    base: Url,
    host: String,
    config: Config,
    credentials: Mutex<Credentials>,
    /// Serialises refreshes: a refresh token is single-use, two concurrent refreshes with the
    /// same one would look like theft and revoke the session.
    refreshing: tokio::sync::Mutex<()>,
    breaker: Arc<CircuitBreaker>,
    on_tokens: Option<TokenHook>,
}

/// One call, as the retry loop sees it.
struct Call<'a> {
    method: Method,
    path: &'a str,
    query: Vec<(&'a str, String)>,
    body: Option<Vec<u8>>,
    /// Sends the credentials.
    auth: bool,
    /// Safe to send again: GET/PUT/DELETE, or a POST whose effect is keyed (ingest).
    idempotent: bool,
    /// Statuses (besides 2xx) whose body is the answer, not an error.
    accept: &'a [u16],
}

impl<'a> Call<'a> {
    fn new(method: Method, path: &'a str) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS);
        Self { method, path, query: Vec::new(), body: None, auth: true, idempotent, accept: &[] }
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, Error> {
        self.body = Some(serde_json::to_vec(body).map_err(|e| Error::Invalid(e.to_string()))?);
        Ok(self)
    }

    fn query(mut self, key: &'a str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((key, v.to_string()));
        }
        self
    }

    fn anonymous(mut self) -> Self {
        self.auth = false;
        self
    }
}

/// A raw answer.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
}

/// What a timeline covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span<'a> {
    /// `[from, to)`, RFC 3339; absent bounds take the server's default (the last 24 hours).
    Window { from: Option<&'a str>, to: Option<&'a str> },
    /// One local day of the pet, `YYYY-MM-DD`, in the pet's time zone.
    Day(&'a str),
}

impl Client {
    /// A client with its own breaker.
    pub fn new(config: Config) -> Result<Self, Error> {
        let breaker = Arc::new(CircuitBreaker::new(config.breaker));
        Self::with_breaker(config, breaker)
    }

    /// A client sharing `breaker` with others.
    pub fn with_breaker(config: Config, breaker: Arc<CircuitBreaker>) -> Result<Self, Error> {
        let mut base = Url::parse(config.base_url.trim())
            .map_err(|e| Error::Invalid(format!("invalid API URL {:?}: {e}", config.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Invalid(format!("invalid API URL {:?}: http or https only", config.base_url)));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let host = format!("{}:{}", base.host_str().unwrap_or_default(), base.port_or_known_default().unwrap_or(0));
        let http = reqwest::Client::builder()
            .user_agent(concat!("petty-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Invalid(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            host,
            config,
            credentials: Mutex::default(),
            refreshing: tokio::sync::Mutex::new(()),
            breaker,
            on_tokens: None,
        })
    }

    /// Uses `credentials` from now on.
    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.lock().unwrap_or_else(|e| e.into_inner()) = credentials;
    }

    /// The current credentials (after any refresh).
    pub fn credentials(&self) -> Credentials {
        self.credentials.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Called with every new token pair (login, refresh): to keep the session on disk.
    pub fn on_tokens(mut self, hook: impl Fn(&TokenPair) + Send + Sync + 'static) -> Self {
        self.on_tokens = Some(Box::new(hook));
        self
    }

    /// `host:port` of the API (the breaker's key).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The breaker shared by this client.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn store_tokens(&self, pair: &TokenPair) {
        self.set_credentials(Credentials::Tokens(pair.clone()));
        if let Some(hook) = &self.on_tokens {
            hook(pair);
        }
    }

    /// One attempt: `Ok` is any HTTP answer.
    async fn attempt(&self, call: &Call<'_>, credentials: &Credentials) -> Result<Answer, Error> {
        let url = self.base.join(call.path.trim_start_matches('/')).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut req = self.http.request(call.method.clone(), url).timeout(self.config.timeout);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(body) = &call.body {
            req = req.header("content-type", "application/json").body(body.clone());
        }
        if call.auth {
            match credentials {
                Credentials::Tokens(t) => req = req.bearer_auth(&t.access_token),
                Credentials::ApiKey(k) => req = req.header("x-api-key", k),
                Credentials::None => {}
            }
        }
        let transport = |e: reqwest::Error| Error::Transport {
            host: self.host.clone(),
            timeout: e.is_timeout(),
            message: describe(&e),
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let retry_after =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(retry::parse_retry_after);
        let body = resp.bytes().await.map_err(transport)?.to_vec();
        if status.is_success() || call.accept.contains(&status.as_u16()) {
            return Ok(Answer { status, body });
        }
        Err(api_error(status, &body, retry_after))
    }

    /// Tells the breaker: the host failed (transport error, 5xx) or answered.
    fn record(&self, outcome: &Result<Answer, Error>) {
        match outcome {
            Err(Error::Transport { .. }) => self.breaker.failure(&self.host),
            Err(Error::Api { status, .. }) if *status >= 500 => self.breaker.failure(&self.host),
            _ => self.breaker.success(&self.host),
        }
    }

    /// The retry loop: breaker, attempt, refresh once on 401, back off and retry on 429, 5xx
    /// and transport errors when the call is idempotent.
    async fn send(&self, call: Call<'_>) -> Result<Answer, Error> {
        let mut retries = 0;
        let mut refreshed = false;
        loop {
            if let Err(retry_in) = self.breaker.acquire(&self.host) {
                return Err(Error::CircuitOpen { host: self.host.clone(), retry_in });
            }
            let credentials = if call.auth { self.credentials() } else { Credentials::None };
            if call.auth && credentials == Credentials::None {
                return Err(Error::NotLoggedIn);
            }
            let outcome = self.attempt(&call, &credentials).await;
            self.record(&outcome);
            let wait = match &outcome {
                Err(Error::Api { status: 401, .. }) if !refreshed => {
                    if let Credentials::Tokens(used) = &credentials {
                        refreshed = true;
                        if self.refresh_after(used).await.is_ok() {
                            continue;
                        }
                    }
                    None
                }
                Err(Error::Transport { .. }) => Some(None),
                Err(Error::Api { status, retry_after, .. }) if *status == 429 || *status >= 500 => Some(*retry_after),
                _ => None,
            };
            match wait {
                Some(retry_after) if call.idempotent && retries < self.config.retry.max_retries => {
                    let delay = match retry_after {
                        Some(d) if d > self.config.retry.max_retry_after => return outcome,
                        Some(d) => d,
                        None => self.config.retry.backoff(retries),
                    };
                    retries += 1;
                    tokio::time::sleep(delay).await;
                }
                _ => return outcome,
            }
        }
    }

    /// Refreshes the session once, unless another call already replaced `used` meanwhile.
    async fn refresh_after(&self, used: &TokenPair) -> Result<(), Error> {
        let _one_at_a_time = self.refreshing.lock().await;
        match self.credentials() {
            Credentials::Tokens(now) if now.access_token != used.access_token => Ok(()),
            Credentials::Tokens(now) => self.refresh_with(&now.refresh_token).await.map(|_| ()),
            _ => Err(Error::NotLoggedIn),
        }
    }

    async fn refresh_with(&self, refresh_token: &str) -> Result<TokenPair, Error> {
        // Not retried: a refresh token is single-use, and resending one whose answer was lost
        // would look like theft and revoke the session.
        let call = Call::new(Method::POST, "v1/auth/refresh")
            .anonymous()
            .json(&Refresh { refresh_token: refresh_token.to_owned() })?;
        if let Err(retry_in) = self.breaker.acquire(&self.host) {
            return Err(Error::CircuitOpen { host: self.host.clone(), retry_in });
        }
        let outcome = self.attempt(&call, &Credentials::None).await;
        self.record(&outcome);
        let pair: TokenPair = decode(outcome?)?;
        self.store_tokens(&pair);
        Ok(pair)
    }

    async fn json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        decode(self.send(call).await?)
    }

    // --- accounts -------------------------------------------------------------------------

    /// Creates an account (201); a taken email is a 409.
    pub async fn register(&self, email: &str, password: &str, name: Option<&str>) -> Result<User, Error> {
        self.json(Call::new(Method::POST, "v1/auth/register").anonymous().json(&Register {
            email: email.to_owned(),
            password: password.to_owned(),
            name: name.map(str::to_owned),
        })?)
        .await
    }

    /// Logs in and keeps the session.
    pub async fn login(&self, email: &str, password: &str) -> Result<TokenPair, Error> {
        let pair: TokenPair = self
            .json(
                Call::new(Method::POST, "v1/auth/login")
                    .anonymous()
                    .json(&Login { email: email.to_owned(), password: password.to_owned() })?,
            )
            .await?;
        self.store_tokens(&pair);
        Ok(pair)
    }

    /// Replaces the session with a new pair now.
    pub async fn refresh(&self) -> Result<TokenPair, Error> {
        match self.credentials() {
            Credentials::Tokens(t) => self.refresh_with(&t.refresh_token).await,
            _ => Err(Error::NotLoggedIn),
        }
    }

    /// Ends the session (its refresh family is revoked) and forgets it.
    pub async fn logout(&self) -> Result<(), Error> {
        self.send(Call::new(Method::POST, "v1/auth/logout")).await?;
        self.set_credentials(Credentials::None);
        Ok(())
    }

    /// The caller's profile and scopes.
    pub async fn me(&self) -> Result<User, Error> {
        self.json(Call::new(Method::GET, "v1/auth/me")).await
    }

    // --- API keys -------------------------------------------------------------------------

    /// A new API key; its secret is in the answer only.
    pub async fn create_api_key(&self, key: &NewApiKey) -> Result<CreatedApiKey, Error> {
        self.json(Call::new(Method::POST, "v1/api-keys").json(key)?).await
    }

    /// The caller's keys (never their secrets).
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, Error> {
        Ok(self.json::<ApiKeyList>(Call::new(Method::GET, "v1/api-keys")).await?.api_keys)
    }

    /// Revokes a key at once.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<(), Error> {
        let path = format!("v1/api-keys/{}", segment(key_id)?);
        self.send(Call::new(Method::DELETE, &path)).await.map(|_| ())
    }

    // --- collars and readings -------------------------------------------------------------

    /// Claims a collar for its pet with the code printed in its box (201; already yours: 200).
    pub async fn claim_collar(&self, collar_id: &str, claim_code: &str, pet: &Pet) -> Result<Collar, Error> {
        let body = ClaimCollar { collar_id: collar_id.to_owned(), claim_code: claim_code.to_owned(), pet: pet.clone() };
        self.json(Call::new(Method::POST, "v1/collars").json(&body)?).await
    }

    /// Registers serials before anyone owns them (`admin` scope): each new one's claim code
    /// (and, with `iot`, its IoT identity) is in the answer, once.
    pub async fn register_collars(&self, collars: &[(&str, bool)]) -> Result<RegisteredCollars, Error> {
        let body = RegisterCollars {
            collars: collars.iter().map(|(id, iot)| NewCollar { collar_id: (*id).to_owned(), iot: *iot }).collect(),
        };
        self.json(Call::new(Method::POST, "v1/admin/collars").json(&body)?).await
    }

    /// Replaces a registered collar's lost claim code (`admin` scope); the old one stops working.
    pub async fn reset_claim_code(&self, collar_id: &str) -> Result<ClaimCodeReset, Error> {
        let path = format!("v1/admin/collars/{}/claim-code", segment(collar_id)?);
        self.json(Call::new(Method::POST, &path)).await
    }

    /// One page of the caller's collars.
    pub async fn collars(&self, cursor: Option<&str>, limit: Option<u32>) -> Result<CollarPage, Error> {
        self.json(Call::new(Method::GET, "v1/collars").query("cursor", cursor).query("limit", limit)).await
    }

    /// One collar (another owner's is a 404, like a missing one).
    pub async fn collar(&self, collar_id: &str) -> Result<Collar, Error> {
        let path = format!("v1/collars/{}", segment(collar_id)?);
        self.json(Call::new(Method::GET, &path)).await
    }

    /// Changes the fields of the collar's pet that `patch` names (the others stay); the answer
    /// is the collar with the merged profile.
    pub async fn update_collar(&self, collar_id: &str, patch: &PetPatch) -> Result<Collar, Error> {
        let path = format!("v1/collars/{}", segment(collar_id)?);
        self.json(Call::new(Method::PATCH, &path).json(&UpdateCollar { pet: patch.clone() })?).await
    }

    /// Ingests up to [`MAX_BATCH`] readings (JSON objects, as collars send them).
    ///
    /// Retried like an idempotent request: readings are keyed by collar and timestamp, so a
    /// batch sent twice stores each reading once (the second time they count as duplicates).
    pub async fn ingest(&self, readings: &[serde_json::Value]) -> Result<IngestReport, Error> {
        if readings.is_empty() || readings.len() > MAX_BATCH {
            return Err(Error::Invalid(format!("a batch holds 1 to {MAX_BATCH} readings, not {}", readings.len())));
        }
        let mut call = Call::new(Method::POST, "v1/ingest").json(&IngestBatch { readings: readings.to_vec() })?;
        call.idempotent = true;
        self.json(call).await
    }

    /// The collar's latest reading.
    pub async fn realtime(&self, collar_id: &str) -> Result<Realtime, Error> {
        self.json(Call::new(Method::GET, "v1/realtime").query("collar_id", Some(collar_id))).await
    }

    // --- timeline, plan, feedback ---------------------------------------------------------

    /// One page of the timeline over `span`.
    pub async fn timeline(
        &self,
        collar_id: &str,
        span: Span<'_>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Timeline, Error> {
        let (from, to, day) = match span {
            Span::Window { from, to } => (from, to, None),
            Span::Day(day) => (None, None, Some(day)),
        };
        self.json(
            Call::new(Method::GET, "v1/pet-timeline")
                .query("collar_id", Some(collar_id))
                .query("day", day)
                .query("from", from)
                .query("to", to)
                .query("limit", limit)
                .query("cursor", cursor),
        )
        .await
    }

    /// Every event of `span`, following cursors.
    pub async fn timeline_all(&self, collar_id: &str, span: Span<'_>) -> Result<Timeline, Error> {
        let mut page = self.timeline(collar_id, span, None, Some(500)).await?;
        while let Some(cursor) = page.next_cursor.take() {
            let next = self.timeline(collar_id, span, Some(&cursor), Some(500)).await?;
            page.timeline.extend(next.timeline);
            page.next_cursor = next.next_cursor;
        }
        Ok(page)
    }

    /// The pet plan.
    pub async fn plan(&self, collar_id: &str) -> Result<Plan, Error> {
        self.json(Call::new(Method::GET, "v1/pet-plan").query("collar_id", Some(collar_id))).await
    }

    /// The pet's local days from `from` to `to` (`YYYY-MM-DD`, both included, at most 366 days:
    /// longer is a 400), with weekly and monthly aggregates and goal streaks.
    pub async fn summary(&self, collar_id: &str, from: &str, to: &str) -> Result<PetSummary, Error> {
        self.json(
            Call::new(Method::GET, "v1/pet-summary")
                .query("collar_id", Some(collar_id))
                .query("from", Some(from))
                .query("to", Some(to)),
        )
        .await
    }

    /// Submits (or replaces) the caller's verdict on an event.
    pub async fn feedback(&self, feedback: &Feedback) -> Result<FeedbackReceipt, Error> {
        self.json(Call::new(Method::POST, "v1/submit-feedback").json(feedback)?).await
    }

    // --- health ---------------------------------------------------------------------------

    /// Liveness.
    pub async fn health(&self) -> Result<Liveness, Error> {
        self.json(Call::new(Method::GET, "v1/health").anonymous()).await
    }

    /// Readiness: 200 ready or 503 with the failing checks, both answered as [`Readiness`].
    /// Not retried (a 503 here is an answer).
    pub async fn ready(&self) -> Result<Readiness, Error> {
        let mut call = Call::new(Method::GET, "v1/health/ready").anonymous();
        call.accept = &[503];
        call.idempotent = false;
        self.json(call).await
    }
}

fn decode<T: DeserializeOwned>(answer: Answer) -> Result<T, Error> {
    let body = if answer.body.is_empty() { b"null".as_slice() } else { &answer.body };
    serde_json::from_slice(body).map_err(|e| Error::Decode { status: answer.status.as_u16(), message: e.to_string() })
}

fn api_error(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => Error::Api {
            status: status.as_u16(),
            code: e.error.code,
            message: e.error.message,
            request_id: e.request_id,
            retry_after,
        },
        Err(_) => Error::Api {
            status: status.as_u16(),
            code: status.canonical_reason().unwrap_or("error").to_lowercase().replace(' ', "_"),
            message: String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_owned(),
            request_id: None,
            retry_after,
        },
    }
}

/// A path segment: ids are plain (`AB-123456`, key ids); anything else is refused here.
fn segment(id: &str) -> Result<&str, Error> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(id)
    } else {
        Err(Error::Invalid(format!("invalid id {id:?}")))
    }
}

/// reqwest's error with its causes (its `Display` alone says only "error sending request").
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
