//! The API's requests and responses: `petty_api`'s types, re-exported.
//!
//! One definition of each type: the functions build these same structs and serialize them,
//! and the integration tests (`tests/integration/wire.rs`) round-trip every route's answer
//! through them, so a renamed, added or removed field fails a test. Unknown fields in
//! responses are ignored: the API may add fields without breaking clients. `petty_api`
//! depends on serde and chrono only, so this client (and the CLI) links no AWS SDK.

pub use petty_api::*;
use serde::Deserialize;

/// The API's one error shape.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ErrorDetail {
    pub code: String,
    pub message: String,
}
