//! The API's one timestamp format: RFC 3339 in UTC with milliseconds and `Z`
//! (`2026-11-28T10:00:00.000Z`), for every time a response carries as a string.

/// Unix ms as the API writes a time.
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_milliseconds_and_z() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_764_324_000_000), "2025-11-28T10:00:00.000Z");
        assert_eq!(format_ms(1_764_324_000_123), "2025-11-28T10:00:00.123Z");
    }
}
