//! Petty's auth function: accounts, RS256 tokens with rotation and revocation, API keys, JWKS.
//!
//! Until its own issue lands, every route answers 501 with the standard JSON error body.

/// The service name in logs and metrics.
pub const SERVICE: &str = "auth";
