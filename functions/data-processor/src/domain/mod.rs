//! The data processor's domain: pure, free of AWS types, tested without I/O.

pub mod reading;
