//! The client against a local HTTP server that fails on purpose: retries (only when safe),
//! `Retry-After`, the per-request timeout, the one refresh on a 401, API-key mode, and the
//! circuit breaker opening, refusing fast, and recovering through a half-open probe.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petty_client::types::TokenPair;
use petty_client::{BreakerSettings, CircuitState, Client, Credentials, Error};
use serde_json::json;
use support::{Reply, Server, config, error};

fn live() -> serde_json::Value {
    json!({"status": "ok", "service": "health", "version": "0.1.0", "git_sha": "x", "cold_start": false, "uptime_s": 1,
        "build": {"version": "0.1.0", "git_sha": "x", "profile": "debug", "arch": "x86_64"}})
}

fn user() -> serde_json::Value {
    json!({"user_id": "u1", "email": "ada@example.com", "name": null, "scopes": [], "created_at": 1})
}

fn pair(access: &str, refresh: &str) -> TokenPair {
    TokenPair {
        access_token: access.into(),
        refresh_token: refresh.into(),
        token_type: "Bearer".into(),
        expires_in: 900,
    }
}

#[tokio::test]
async fn idempotent_get_is_retried_on_5xx_429_and_dropped_connections() {
    let server = Server::start(|n, _| match n {
        0 => Reply::Json(503, error("unavailable")),
        1 => Reply::Drop,
        2 => Reply::WithHeader(429, "retry-after", "0", error("throttled")),
        _ => Reply::Json(200, live()),
    })
    .await;
    let client = Client::new(config(&server.url)).unwrap();
    let live = client.health().await.unwrap();
    assert_eq!(live.status, "ok");
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn gives_up_after_max_retries_with_the_last_error() {
    let server = Server::start(|_, _| Reply::Json(502, error("bad_gateway"))).await;
    let client = Client::new(config(&server.url)).unwrap();
    let err = client.health().await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 502, ref code, .. } if code == "bad_gateway"), "{err:?}");
    assert_eq!(server.count(), 4, "1 try + 3 retries");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = Server::start(|n, _| match n {
        0 => Reply::WithHeader(503, "retry-after", "1", error("unavailable")),
        _ => Reply::Json(200, live()),
    })
    .await;
    let client = Client::new(config(&server.url)).unwrap();
    let started = Instant::now();
    client.health().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_returned_not_waited_for() {
    let server = Server::start(|_, _| Reply::WithHeader(429, "retry-after", "900", error("locked"))).await;
    let client = Client::new(config(&server.url)).unwrap();
    let started = Instant::now();
    let err = client.health().await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 429, retry_after: Some(d), .. } if d == Duration::from_secs(900)));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn non_idempotent_post_is_never_retried_but_ingest_is() {
    let server = Server::start(|n, req| match (req.path.as_str(), n) {
        ("/v1/collars", _) => Reply::Json(503, error("unavailable")),
        ("/v1/ingest", 1) => Reply::Drop,
        ("/v1/ingest", _) => {
            Reply::Json(200, json!({"accepted": 1, "duplicates": 0, "rejected": [], "not_stored": []}))
        }
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = Client::new(config(&server.url)).unwrap();
    client.set_credentials(Credentials::ApiKey("pty_key".into()));
    let pet = serde_json::from_value(json!({"name": "Rex", "species": "dog", "weight_kg": 30.0})).unwrap();
    let err = client.claim_collar("AB-123456", "7KQ4-M2XD-9HTR-B5N8", &pet).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.count(), 1, "POST /v1/collars: sent once");

    let report = client.ingest(&[json!({"collar_id": "AB-123456"})]).await.unwrap();
    assert_eq!(report.accepted, 1);
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "ingest: dropped once, then answered");
    assert_eq!(seen[1].body, seen[2].body, "the same batch sent again");
}

#[tokio::test]
async fn each_attempt_has_its_own_timeout() {
    let server = Server::start(|_, _| Reply::Hang(Duration::from_secs(3))).await;
    let mut cfg = config(&server.url);
    cfg.timeout = Duration::from_millis(200);
    cfg.retry.max_retries = 1;
    let client = Client::new(cfg).unwrap();
    let started = Instant::now();
    let err = client.health().await.unwrap_err();
    assert!(matches!(err, Error::Transport { timeout: true, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_call_retried() {
    let server = Server::start(|_, req| match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v1/auth/me") if req.header("authorization") == Some("Bearer fresh") => Reply::Json(200, user()),
        ("GET", "/v1/auth/me") => Reply::Json(401, error("invalid_token")),
        ("POST", "/v1/auth/refresh") if req.body.contains("\"r-old\"") => Reply::Json(
            200,
            json!({"access_token": "fresh", "refresh_token": "r-new", "token_type": "Bearer", "expires_in": 900}),
        ),
        _ => Reply::Json(401, error("invalid_token")),
    })
    .await;
    let saved: Arc<Mutex<Vec<TokenPair>>> = Arc::default();
    let hook = saved.clone();
    let client = Client::new(config(&server.url)).unwrap().on_tokens(move |p| hook.lock().unwrap().push(p.clone()));
    client.set_credentials(Credentials::Tokens(pair("expired", "r-old")));

    assert_eq!(client.me().await.unwrap().user_id, "u1");
    let paths: Vec<_> = server.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/v1/auth/me", "/v1/auth/refresh", "/v1/auth/me"]);
    assert!(server.seen()[1].header("authorization").is_none(), "refresh sends the refresh token only");
    assert_eq!(client.credentials(), Credentials::Tokens(pair("fresh", "r-new")));
    assert_eq!(*saved.lock().unwrap(), [pair("fresh", "r-new")], "the new pair is handed over to be kept");
}

#[tokio::test]
async fn a_failed_refresh_ends_with_the_401_and_no_loop() {
    let server = Server::start(|_, _| Reply::Json(401, error("invalid_token"))).await;
    let client = Client::new(config(&server.url)).unwrap();
    client.set_credentials(Credentials::Tokens(pair("expired", "r-spent")));
    let err = client.me().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.count(), 2, "the call and one refresh");
}

#[tokio::test]
async fn concurrent_401s_refresh_only_once() {
    let server = Server::start(|_, req| match (req.method.as_str(), req.path.as_str()) {
        (_, "/v1/auth/refresh") => Reply::Json(
            200,
            json!({"access_token": "fresh", "refresh_token": "r-new", "token_type": "Bearer", "expires_in": 900}),
        ),
        _ if req.header("authorization") == Some("Bearer fresh") => Reply::Json(200, user()),
        _ => Reply::Json(401, error("invalid_token")),
    })
    .await;
    let client = Client::new(config(&server.url)).unwrap();
    client.set_credentials(Credentials::Tokens(pair("expired", "r-old")));
    let (a, b, c) = tokio::join!(client.me(), client.me(), client.me());
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    let refreshes = server.seen().iter().filter(|s| s.path == "/v1/auth/refresh").count();
    assert_eq!(refreshes, 1, "a refresh token is single-use: one refresh for all");
}

#[tokio::test]
async fn api_key_mode_sends_x_api_key_and_never_refreshes() {
    let server = Server::start(|_, _| Reply::Json(401, error("invalid_api_key"))).await;
    let client = Client::new(config(&server.url)).unwrap();
    client.set_credentials(Credentials::ApiKey("pty_collar".into()));
    let err = client.realtime("AB-123456").await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("x-api-key"), Some("pty_collar"));
    assert!(seen[0].header("authorization").is_none());
    assert_eq!(seen[0].path, "/v1/realtime?collar_id=AB-123456");
}

#[tokio::test]
async fn the_breaker_opens_rejects_fast_then_recovers_through_a_half_open_probe() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    let server = Server::start(move |_, _| {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::Json(200, live())
        } else {
            Reply::Json(500, error("internal"))
        }
    })
    .await;
    let mut cfg = config(&server.url);
    cfg.retry.max_retries = 0;
    cfg.breaker = BreakerSettings { failure_threshold: 3, cool_down: Duration::from_millis(300) };
    let client = Client::new(cfg).unwrap();
    let host = client.host().to_owned();

    for _ in 0..3 {
        assert_eq!(client.health().await.unwrap_err().status(), Some(500));
    }
    assert!(matches!(client.breaker().state(&host), CircuitState::Open { .. }));

    // Open: refused at once, nothing sent.
    let started = Instant::now();
    for _ in 0..20 {
        assert!(matches!(client.health().await.unwrap_err(), Error::CircuitOpen { .. }));
    }
    assert!(started.elapsed() < Duration::from_millis(50), "{:?}", started.elapsed());
    assert_eq!(server.count(), 3);

    // Cool-down over, still failing: the probe fails and the circuit opens again.
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert_eq!(client.health().await.unwrap_err().status(), Some(500));
    assert_eq!(server.count(), 4, "exactly one probe");
    assert!(matches!(client.health().await.unwrap_err(), Error::CircuitOpen { .. }));

    // The host recovers: after the next cool-down the probe succeeds and closes the circuit.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert_eq!(client.health().await.unwrap().status, "ok");
    assert_eq!(client.breaker().state(&host), CircuitState::Closed { failures: 0 });
    client.health().await.unwrap();
    assert_eq!(server.count(), 6);
}

#[tokio::test]
async fn an_opening_breaker_cuts_a_retry_loop_short() {
    let server = Server::start(|_, _| Reply::Json(503, error("unavailable"))).await;
    let mut cfg = config(&server.url);
    cfg.retry.max_retries = 10;
    cfg.breaker = BreakerSettings { failure_threshold: 2, cool_down: Duration::from_secs(60) };
    let client = Client::new(cfg).unwrap();
    let err = client.health().await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err:?}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn client_errors_are_answers_not_failures() {
    let server = Server::start(|_, _| Reply::Json(404, error("not_found"))).await;
    let mut cfg = config(&server.url);
    cfg.breaker = BreakerSettings { failure_threshold: 1, cool_down: Duration::from_secs(60) };
    let client = Client::new(cfg).unwrap();
    client.set_credentials(Credentials::ApiKey("pty_collar".into()));
    for _ in 0..3 {
        let err = client.collar("AB-123456").await.unwrap_err();
        assert!(matches!(err, Error::Api { status: 404, ref message, .. } if message == "not_found on purpose"));
    }
    assert_eq!(server.count(), 3, "404s neither retried nor opening the circuit");
}
