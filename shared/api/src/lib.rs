//! Petty's wire types: the request and response bodies of every route, defined once.
//!
//! The Lambda functions build these structs and serialize them; `petty-client` decodes the
//! same structs, so a renamed, added or removed field is a compile error on one side or a
//! failing round-trip test (`tests/integration/wire.rs`) rather than silent drift.
//!
//! This crate depends on serde, serde_json and chrono only: the CLI links it without the AWS
//! SDK. `petty-shared` re-exports it as `petty_shared::api`.
//!
//! Conventions: field names are the JSON names; every number carries its unit in the field
//! name (`weight_kg`, `age_s`) or in a `unit` field next to it ([`plan::Figure`]); times are
//! strings in one format ([`time::format_ms`]: RFC 3339, UTC, milliseconds, `Z`) except the
//! account routes' `created_at`/`expires_at`/`last_used_at`, which are Unix seconds.
//! Request bodies reject unknown fields (a typo is a 400, not a silently ignored option);
//! responses do not, so a client tolerates fields a newer server adds.

pub mod accounts;
pub mod admin;
pub mod alerts;
pub mod api_keys;
pub mod auth;
pub mod behavior;
pub mod collars;
pub mod error;
pub mod feedback;
pub mod health;
pub mod ingest;
pub mod members;
pub mod notifications;
pub mod plan;
pub mod summary;
pub mod time;
pub mod timeline;

pub use accounts::*;
pub use admin::*;
pub use alerts::*;
pub use api_keys::*;
pub use auth::*;
pub use collars::*;
pub use error::*;
pub use feedback::*;
pub use health::*;
pub use ingest::*;
pub use members::*;
pub use notifications::*;
pub use plan::*;
pub use summary::*;
pub use time::format_ms;
pub use timeline::*;
