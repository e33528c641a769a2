//! Feedback's domain: pure, free of AWS types, tested without I/O.

pub mod comment;
pub mod submission;
pub mod summary;
