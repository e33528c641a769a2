//! Petty's common crate: everything the Lambda functions share, so each function's own code
//! is only its domain and its routes.
//!
//! Modules are split by responsibility; none of them knows about a particular function.

pub mod api_key;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod collar;
pub mod config;
pub mod cursor;
pub mod dynamo;
pub mod http;
pub mod ids;
pub mod jwt;
pub mod keygen;
pub mod logging;
pub mod metrics;
pub mod secrets;
pub mod xray;

/// The API's wire types (request and response bodies), shared with `petty-client`.
pub use petty_api as api;

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
