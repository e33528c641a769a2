//! SDK errors in log lines: a code and a message, never a request body.

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
