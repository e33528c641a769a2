//! Petty's common crate: everything the Lambda functions share, so each function's own code
//! is only its domain and its routes.
//!
//! Modules are split by responsibility: [`tables`] owns every table shared by functions,
//! [`ingest`] stores readings for both the HTTP route and the collar stream, [`edge`] and
//! [`http`] are the request plumbing every function runs. No function crate depends on
//! another; they meet here and in `petty-api` and `petty-behaviour`.

pub mod account_jobs;
pub mod alerting;
pub mod api_key;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod batch;
pub mod claim_code;
pub mod collar;
pub mod config;
pub mod cursor;
pub mod delivery_job;
pub mod dynamo;
pub mod edge;
pub mod email;
pub mod http;
pub mod ingest;
pub mod jwt;
pub mod keygen;
pub mod logging;
pub mod metrics;
pub mod reading;
pub mod sdk_error;
pub mod secrets;
pub mod stores;
pub mod tables;
pub mod testing;
pub mod unsubscribe;
pub mod webhook;
pub mod xray;

/// The API's wire types (request and response bodies), shared with `petty-client`.
pub use petty_api as api;
/// A pet's local days (ingestion marks them, the timeline cuts them).
pub use petty_behaviour::Calendar;

pub use config::{CommonConfig, ConfigError, Env, FromEnv};
pub use http::{ApiError, Handler, HttpService, Invocation, serve_event};

/// Reads the log level, installs the JSON logger, then loads the function's configuration.
///
/// Config errors are logged as one clear line naming the variable before init fails, which is
/// what an operator reading CloudWatch after a failed deploy needs.
pub fn init<C: config::FromEnv>(service: &'static str) -> Result<C, ConfigError> {
    let env = Env::process();
    logging::init(service, &env);
    C::from_env(&env).inspect_err(|e| {
        tracing::error!(variable = e.variable(), "configuration error: {e}");
    })
}
