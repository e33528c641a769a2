//! One module per DynamoDB table: its key layout, attribute names, item ⇄ type conversion and
//! the reads and writes the functions need. Functions call these and never spell an
//! attribute name; the table's layout is documented at the top of its module.
//!
//! The auth function's own tables (users, refresh families, lockouts) live in
//! `functions/auth/src/store.rs`: no other function reads them.

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod claim_attempts;
pub mod collars;
pub mod feedback;
pub mod notifications;
pub mod readings;
pub mod timeline_events;
