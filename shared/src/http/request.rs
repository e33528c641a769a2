//! Reading requests at the edge: JSON bodies with field-path errors, bearer tokens, queries.

use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use super::ApiError;

/// Parses the body as `T`; errors name the JSON path of the offending field.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        if !(ct.starts_with("application/json") || ct.contains("+json")) {
            return Err(ApiError::bad_request("unsupported_content_type", "send the body as application/json"));
        }
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("missing_body", "a JSON request body is required"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("invalid JSON body: {inner}")
        } else {
            format!("invalid field `{path}`: {inner}")
        };
        ApiError::bad_request("invalid_json", message)
    })?;
    de.end().map_err(|_| ApiError::bad_request("invalid_json", "trailing characters after the JSON body"))?;
    Ok(value)
}

/// The token of an `Authorization: Bearer <token>` header; 401 when absent or another scheme.
pub fn bearer_token(req: &Request) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed authorization header".into()))?;
    let (scheme, token) =
        value.split_once(' ').ok_or_else(|| ApiError::Unauthorized("malformed authorization header".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized("authorization must use the Bearer scheme".into()));
    }
    Ok(token.trim())
}

/// A single query-string parameter.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_owned)
}

/// A query-string time (RFC 3339) as Unix ms; a malformed one is a 400 with `code`.
pub fn query_time(req: &Request, name: &str, code: &'static str) -> Result<Option<i64>, ApiError> {
    query_param(req, name)
        .map(|raw| {
            chrono::DateTime::parse_from_rfc3339(&raw)
                .map(|t| t.timestamp_millis())
                .map_err(|_| ApiError::bad_request(code, format!("{name} must be RFC 3339, e.g. 2025-08-18T14:30:00Z")))
        })
        .transpose()
}

/// The route path without any stage prefix or trailing slash, for either payload version
/// (REST v1 puts the stage in the URI; HTTP API named stages put it in `rawPath`).
pub fn route_path(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    let raw = req.raw_http_path();
    let raw = if raw.is_empty() { req.uri().path() } else { raw };
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let path = match stage.filter(|s| s != "$default") {
        Some(stage) => raw.strip_prefix(&format!("/{stage}")).filter(|p| p.starts_with('/')).unwrap_or(raw),
        None => raw,
    };
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() { "/".to_owned() } else { trimmed.to_owned() }
}

/// The client's address as API Gateway saw it (either payload version).
pub fn source_ip(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.clone(),
        _ => None,
    }
}
