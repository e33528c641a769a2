//! Petty's health function: liveness, readiness and a detailed view for operators.
//!
//! - `GET /v1/health`: cheap liveness, no dependency call.
//! - `GET /v1/health/ready`: every table and the public key set, concurrently, each with a
//!   timeout; 503 naming what failed.
//! - `GET /v1/health/detailed`: readiness plus this stack's alarms and build info; `admin` scope.

pub mod config;
pub mod probes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api::{Detailed, Liveness, Readiness};
use petty_shared::auth::Authenticator;
use petty_shared::http::{ApiError, Handler, Invocation, RouteSpec, json_response, route};
use petty_shared::jwt::{PublicKeySet, Verifier};
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::tables::api_keys::ApiKeysTable;

pub use config::HealthConfig;
pub use probes::{AlarmSource, AlarmStatus, TableProbe};

/// The service name in logs and metrics.
pub const SERVICE: &str = "health";
/// The scope `/v1/health/detailed` requires.
pub const ADMIN_SCOPE: &str = "admin";

/// Build facts, dependency checks and liveness are wire types (`petty_api::health`).
pub use petty_shared::api::{BuildInfo, Check};

/// This binary's build info (`PETTY_GIT_SHA` is set by `make build`).
pub fn current_build() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_sha: option_env!("PETTY_GIT_SHA").unwrap_or("unknown").to_owned(),
        profile: if cfg!(debug_assertions) { "debug" } else { "release" }.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
    }
}

/// This function's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Liveness,
    Readiness,
    Detailed,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("GET", "/v1/health", Route::Liveness),
    route("GET", "/v1/health/ready", Route::Readiness),
    route("GET", "/v1/health/detailed", Route::Detailed),
];

/// The health handler over its dependencies.
pub struct HealthApp<T, A, S> {
    tables: Vec<String>,
    table_probe: T,
    alarms: A,
    alarm_prefix: String,
    keys: Arc<SecretCache<S>>,
    public_keys_secret_id: String,
    auth: Authenticator<S, ApiKeysTable>,
    check_timeout: Duration,
    started: Instant,
    build: BuildInfo,
}

fn ready_status(ready: bool) -> String {
    if ready { "ready" } else { "not_ready" }.to_owned()
}

impl<T: TableProbe, A: AlarmSource, S: SecretSource> HealthApp<T, A, S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &HealthConfig, table_probe: T, alarms: A, keys: Arc<SecretCache<S>>) -> Self {
        let settings = cfg.common.jwt_settings();
        Self {
            tables: cfg.tables.clone(),
            table_probe,
            alarms,
            alarm_prefix: cfg.alarm_prefix.clone(),
            // Operators authenticate with bearer tokens only: no API key carries `admin`.
            auth: Authenticator::new(
                Verifier::new(keys.clone(), cfg.common.public_keys_secret_id.clone(), &settings),
                None,
                Default::default(),
            ),
            keys,
            public_keys_secret_id: cfg.common.public_keys_secret_id.clone(),
            check_timeout: cfg.check_timeout,
            started: Instant::now(),
            build: current_build(),
        }
    }

    fn liveness(&self, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        json_response(
            StatusCode::OK,
            &Liveness {
                status: "ok".to_owned(),
                service: SERVICE.to_owned(),
                version: self.build.version.clone(),
                git_sha: self.build.git_sha.clone(),
                cold_start: inv.cold_start,
                uptime_s: self.started.elapsed().as_secs(),
                build: self.build.clone(),
            },
        )
    }

    /// Runs every readiness check concurrently, each bounded by the timeout.
    pub async fn checks(&self) -> Vec<Check> {
        let tables =
            self.tables.iter().map(|table| self.timed(format!("dynamodb:{table}"), self.table_probe.describe(table)));
        let keys = self.timed("secretsmanager:public-keys".to_owned(), self.read_public_keys());
        let (mut checks, key_check) = futures_util::join!(join_all(tables), keys);
        checks.push(key_check);
        checks
    }

    /// Reads the public key set from Secrets Manager itself (not the cache) and parses it.
    async fn read_public_keys(&self) -> Result<(), String> {
        let value = self.keys.source().fetch(&self.public_keys_secret_id).await.map_err(|e| e.to_string())?;
        PublicKeySet::from_jwks(value.expose()).map(|_| ())
    }

    async fn timed(&self, name: String, check: impl std::future::Future<Output = Result<(), String>>) -> Check {
        let started = Instant::now();
        // Boxed: SDK futures are large, and several run side by side here.
        let outcome = petty_shared::xray::phase(&name, tokio::time::timeout(self.check_timeout, Box::pin(check))).await;
        let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(format!("timed out after {} ms", self.check_timeout.as_millis())),
        };
        if let Some(e) = &error {
            tracing::warn!(dependency = %name, error = %e, latency_ms, "dependency check failed");
        }
        Check { name, ok: error.is_none(), latency_ms, error }
    }

    async fn readiness(&self) -> Result<Response<Body>, ApiError> {
        let checks = self.checks().await;
        let ready = checks.iter().all(|c| c.ok);
        let report = Readiness { status: ready_status(ready), checks, request_id: None };
        if ready { json_response(StatusCode::OK, &report) } else { Err(ApiError::unavailable_report(&report, None)) }
    }

    async fn detailed(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        self.auth.require(req, ADMIN_SCOPE).await?;
        let (checks, alarms) =
            futures_util::join!(Box::pin(self.checks()), Box::pin(self.alarms.alarms(&self.alarm_prefix)));
        let ready = checks.iter().all(|c| c.ok);
        let (alarms, alarms_error) = match alarms {
            Ok(list) => (list, None),
            Err(e) => (vec![], Some(e)),
        };
        let in_alarm = alarms.iter().filter(|a| a.state == "ALARM").count();
        json_response(
            StatusCode::OK,
            &Detailed {
                status: ready_status(ready),
                checks,
                alarms,
                alarms_in_alarm_state: in_alarm,
                alarms_error,
                build: self.build.clone(),
                cold_start: inv.cold_start,
                uptime_s: self.started.elapsed().as_secs(),
            },
        )
    }
}

impl<T: TableProbe, A: AlarmSource, S: SecretSource> Handler for HealthApp<T, A, S> {
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        match petty_shared::http::router::find(ROUTES, &req)?.route {
            Route::Liveness => self.liveness(inv),
            Route::Readiness => self.readiness().await,
            Route::Detailed => self.detailed(&req, inv).await,
        }
    }
}
