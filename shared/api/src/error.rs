//! The API's one error body: `{"error": {"code", "message"}, "request_id"}` on every non-2xx
//! answer the functions make (the server writes it, `petty-client` reads it).

use serde::{Deserialize, Serialize};

/// An error answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// Lambda's request id (also in `X-Request-ID`), to quote to operators.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// What went wrong: a stable machine-readable `code` and a message for people.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}
