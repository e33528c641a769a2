//! HTTP plumbing for lambda_http (API Gateway HTTP API payload v2; REST v1 tolerated):
//! request ids, correlation ids, CORS, body limits, security headers, gzip, panics as 500s,
//! one EMF flush and one X-Ray scope per invocation.

mod error;
mod event;
#[cfg(test)]
mod properties;
pub mod query;
mod request;
pub mod router;
mod service;

pub use error::ApiError;
pub use event::serve_event;
pub use request::{bearer_token, json_body, query_param, query_time, route_path, source_ip};
pub use router::{Matched, RouteSpec, route};
pub use service::{Cors, Handler, HttpService, Invocation};

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response with `status`.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_string(body).map_err(|e| ApiError::Internal(format!("serializing response: {e}")))?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(text))
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))
}

/// An empty 204 response.
pub fn no_content() -> Response<Body> {
    Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).expect("static response parts are valid")
}
