//! Identifier formats shared by every function.

/// The collar id format is part of the API (owners type it): defined in `petty_api`.
pub use petty_api::collars::is_collar_id;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collar_ids_at_and_past_each_boundary() {
        for ok in ["AB-123", "AB-123456", "ZZ-000"] {
            assert!(is_collar_id(ok), "{ok}");
        }
        for bad in ["AB-12", "AB-1234567", "ab-123", "A1-123", "AB123", "AB-12a", "", "ÄB-123", "AB-１２３"] {
            assert!(!is_collar_id(bad), "{bad}");
        }
    }
}
