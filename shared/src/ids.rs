//! Identifier formats shared by every function.

/// True for a collar id as collars print it: two capital letters, a dash, 3 to 6 digits
/// (`^[A-Z]{2}-\d{3,6}$`).
pub fn is_collar_id(id: &str) -> bool {
    let b = id.as_bytes();
    (6..=9).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2] == b'-'
        && b[3..].iter().all(u8::is_ascii_digit)
}

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
