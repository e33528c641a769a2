//! The API's requests and responses: `petty_api`'s types, re-exported.
//!
//! One definition of each type: the functions build these same structs and serialize them,
//! and the integration tests (`tests/integration/wire.rs`) round-trip every route's answer
//! through them, so a renamed, added or removed field fails a test. Unknown fields in
//! responses are ignored: the API may add fields without breaking clients. `petty_api`
//! depends on serde and chrono only, so this client (and the CLI) links no AWS SDK.

pub use petty_api::*;
