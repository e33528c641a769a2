//! The Lambda entry point for API Gateway events: the event becomes a request here, so what
//! the conversion cannot take is a JSON 400 with the request id, not a crashed invocation.

use std::panic::{AssertUnwindSafe, catch_unwind};

use lambda_http::request::LambdaRequest;
use lambda_http::{Context, Error, LambdaEvent, Service};
use serde_json::{Value, json};

use super::{ApiError, Handler, HttpService};

/// Serves one raw API Gateway event (HTTP API v2 or REST v1) through `http` and `handler`.
///
/// lambda_http 1.3 panics while building the request URI from some client-controlled query
/// strings (a bare `"` in `rawQueryString`, found by fuzzing, `http::properties`). In its own
/// adapter that panic fails the invocation and API Gateway answers a bare 500 with no request
/// id. Here the conversion is tried first, and an event it cannot take is a 400.
pub async fn serve_event<H: Handler>(
    http: &HttpService,
    handler: &H,
    payload: Value,
    context: Context,
) -> Result<Value, Error> {
    let probe: LambdaRequest = serde_json::from_value(payload.clone())?;
    if catch_unwind(AssertUnwindSafe(|| lambda_http::Request::from(probe))).is_err() {
        tracing::warn!(request_id = %context.request_id, "API Gateway event with an unusable URI refused");
        return Ok(unconvertible(&context.request_id));
    }
    let request: LambdaRequest = serde_json::from_value(payload)?;
    let mut adapter = lambda_http::Adapter::from(lambda_http::service_fn(|req| http.handle(handler, req)));
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(response)?)
}

/// The proxy response (same shape for payload v1 and v2) refusing an unconvertible event.
fn unconvertible(request_id: &str) -> Value {
    let response = ApiError::bad_request("malformed_request", "the request's path or query string is not a valid URI")
        .into_response(request_id);
    let body = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    json!({
        "statusCode": response.status().as_u16(),
        "headers": {"content-type": "application/json", "x-request-id": request_id},
        "body": body,
        "isBase64Encoded": false,
    })
}
