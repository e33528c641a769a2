//! Query-string parameters every list route shares: `limit` and a `from`/`to` window, each
//! validated at the edge with one stable error code and message.

use lambda_http::Request;

use super::{ApiError, query_param, query_time};

/// `limit`: `default` when absent, else an integer in `1..=max` (400 `invalid_limit`).
pub fn limit(req: &Request, default: usize, max: usize) -> Result<usize, ApiError> {
    match query_param(req, "limit") {
        None => Ok(default),
        Some(raw) => {
            raw.parse().ok().filter(|l| (1..=max).contains(l)).ok_or_else(|| {
                ApiError::bad_request("invalid_limit", format!("limit must be an integer from 1 to {max}"))
            })
        }
    }
}

/// How a route's window defaults and how long it may be.
#[derive(Clone, Copy, Debug)]
pub struct WindowRule {
    /// Where `to` is when not given, relative to now (ms).
    pub default_to_offset_ms: i64,
    /// The window's length when `from` is not given (ms).
    pub default_ms: i64,
    /// The longest window allowed, in days (named in the error).
    pub max_days: i64,
}

/// A validated `[from, to)` window in Unix ms, and the parameters as asked (empty when
/// defaulted), which cursors are bound to: a default window moves with the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub from_ms: i64,
    pub to_ms: i64,
    pub asked: (String, String),
}

impl WindowRule {
    /// Reads `from`/`to` (RFC 3339): 400 `invalid_from`/`invalid_to`, `invalid_window` when
    /// `from` is not before `to`, `window_too_long` past the rule's maximum.
    pub fn parse(&self, req: &Request, now_ms: i64) -> Result<TimeWindow, ApiError> {
        let to_ms = query_time(req, "to", "invalid_to")?.unwrap_or(now_ms + self.default_to_offset_ms);
        let from_ms = query_time(req, "from", "invalid_from")?.unwrap_or(to_ms - self.default_ms);
        if from_ms >= to_ms {
            return Err(ApiError::bad_request("invalid_window", "from must be before to"));
        }
        if to_ms - from_ms > self.max_days * 86_400_000 {
            return Err(ApiError::bad_request(
                "window_too_long",
                format!("the window may span at most {} days", self.max_days),
            ));
        }
        let asked = (query_param(req, "from").unwrap_or_default(), query_param(req, "to").unwrap_or_default());
        Ok(TimeWindow { from_ms, to_ms, asked })
    }
}

/// The `collar_id` query parameter, required (400 `missing_collar_id`).
pub fn collar_id(req: &Request) -> Result<String, ApiError> {
    query_param(req, "collar_id").ok_or_else(|| ApiError::bad_request("missing_collar_id", "collar_id is required"))
}
