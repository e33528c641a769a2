//! AWS SDK configuration, built once at cold start, and clients with the X-Ray interceptor.
//!
//! Endpoints come only from the SDK's standard resolution (`AWS_ENDPOINT_URL` and friends),
//! which is how local runs reach moto; there is no test-only branch here.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::xray::XrayInterceptor;

/// Loads the shared SDK config: standard retry mode (exponential backoff with full jitter,
/// throttling errors included) and timeouts that fit inside API Gateway's 30 s.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(25))
                .with_max_backoff(Duration::from_secs(1)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(1500))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .load()
        .await
}

/// A DynamoDB client whose calls appear as X-Ray subsegments.
pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(config).interceptor(XrayInterceptor).build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// A Secrets Manager client whose calls appear as X-Ray subsegments.
pub fn secrets_manager(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let conf = aws_sdk_secretsmanager::config::Builder::from(config).interceptor(XrayInterceptor).build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

/// The secrets cache every function builds at cold start: Secrets Manager with `ttl`.
pub fn secret_cache(
    config: &SdkConfig,
    ttl: Duration,
) -> std::sync::Arc<crate::secrets::SecretCache<crate::secrets::SecretsManagerSource>> {
    let source = crate::secrets::SecretsManagerSource::new(secrets_manager(config));
    let settings = crate::secrets::CacheSettings { ttl, ..crate::secrets::CacheSettings::default() };
    std::sync::Arc::new(crate::secrets::SecretCache::new(source, settings))
}

/// A one-line description of an SDK error for logs: code and message, never request bodies.
pub fn error_summary<E, R>(err: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match err {
        SdkError::ServiceError(e) => {
            let meta = e.err();
            format!("{}: {}", meta.code().unwrap_or("ServiceError"), meta.message().unwrap_or(""))
        }
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(f) if f.is_timeout() => "timeout".to_owned(),
        SdkError::DispatchFailure(f) if f.is_io() => "connection failed".to_owned(),
        SdkError::DispatchFailure(_) => "dispatch failure".to_owned(),
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        SdkError::ConstructionFailure(_) => "request construction failed".to_owned(),
        _ => "unknown sdk error".to_owned(),
    }
}
