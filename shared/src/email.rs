//! E-mail addresses as accounts and invitations compare them.

use unicode_normalization::UnicodeNormalization;

use crate::http::ApiError;

/// Trims, NFKC-normalizes and lower-cases an email, then checks its shape.
pub fn normalize_email(raw: &str) -> Result<String, ApiError> {
    let email: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    let invalid = || ApiError::unprocessable("invalid_email", "email must look like name@example.com");
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || !domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    {
        return Err(invalid());
    }
    Ok(email)
}
