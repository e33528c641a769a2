//! One module per DynamoDB table: its key layout, attribute names, item ⇄ type conversion and
//! the reads and writes the functions need. Functions call these and never spell an
//! attribute name; the table's layout is documented at the top of its module.
//!
//! The account tables (users, sessions, lockouts) are written by the auth function and, for
//! an erasure or an export, by the account jobs; the notifier reads an owner's address.

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod claim_attempts;
pub mod collars;
pub mod feedback;
pub mod lockouts;
pub mod members;
pub mod notifications;
pub mod readings;
pub mod sessions;
pub mod timeline_events;
pub mod users;
