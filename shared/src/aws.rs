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
    load_with(Duration::from_secs(3), Duration::from_secs(8)).await
}

/// The SDK config of the queue jobs (account erasure and export): the same retries, with
/// timeouts for pages of a big partition rather than for an API answer (a job has 15 minutes,
/// not 30 s; a slow page waited for is cheaper than a whole job retried).
pub async fn load_for_jobs() -> SdkConfig {
    load_with(Duration::from_secs(20), Duration::from_secs(60)).await
}

async fn load_with(attempt: Duration, operation: Duration) -> SdkConfig {
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
                .operation_attempt_timeout(attempt)
                .operation_timeout(operation)
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

/// An S3 client; path-style addressing, which S3 and the local emulator both serve (a
/// bucket-named host would not resolve on 127.0.0.1). Checksums only where S3 requires them:
/// the default (a CRC32 trailer on an `aws-chunked` body) stalled moto's S3 on a zip of a few
/// megabytes until the upload timed out; over TLS to S3 the body's integrity is TLS's.
pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
