//! Emails, password policy and argon2id hashing: pure functions, no AWS types.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use petty_shared::http::ApiError;

/// Password length bounds, in characters (checked before any hashing).
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// argon2id parameters for a 256–512 MB Lambda: OWASP's first recommended set (19 MiB, 2
/// passes, 1 lane). 19 MiB fits many times over; the time is in the README's measurements.
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect())
}

/// E-mail addresses are normalised once, in the common crate (households invite by them too).
pub use petty_shared::email::normalize_email;

/// True when the password is a known-common one, or one followed only by digits/symbols.
pub fn is_common_password(password: &str) -> bool {
    let lower = password.to_lowercase();
    let base = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let set = common_passwords();
    set.contains(lower.as_str()) || (base.len() >= 3 && set.contains(base))
}

/// Length bounds and the common-password list; 422 with the reason.
pub fn check_password_policy(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
        return Err(ApiError::unprocessable(
            "weak_password",
            format!("password must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    if is_common_password(password) {
        return Err(ApiError::unprocessable("weak_password", "this password is too common; choose another"));
    }
    Ok(())
}

/// argon2id hashing with Petty's parameters.
pub struct PasswordHasher {
    argon: Argon2<'static>,
    /// A hash of a random throwaway password with the same parameters, made on first need:
    /// verifying against it costs what a real verification costs, so unknown emails answer in
    /// about the same time as wrong passwords.
    dummy: OnceLock<String>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        let params =
            Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None).expect("valid argon2 params");
        Self { argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params), dummy: OnceLock::new() }
    }
}

impl PasswordHasher {
    /// A PHC string (`$argon2id$v=19$m=...`), salt included.
    pub fn hash(&self, password: &str) -> Result<String, ApiError> {
        self.argon
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
    }

    /// True when `password` matches `phc` (constant-time inside argon2).
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        self.argon.verify_password(password.as_bytes(), phc).is_ok()
    }

    /// Spends the time of a verification and returns false.
    pub fn verify_dummy(&self, password: &str) -> bool {
        let dummy = self.dummy.get_or_init(|| {
            let throwaway = uuid::Uuid::new_v4().to_string();
            self.hash(&throwaway).unwrap_or_default()
        });
        let _ = self.argon.verify_password(password.as_bytes(), dummy.as_str());
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized() {
        assert_eq!(normalize_email("  Owner@Example.COM ").unwrap(), "owner@example.com");
        // Fullwidth letters fold to ASCII under NFKC.
        assert_eq!(normalize_email("ｏｗｎｅｒ@example.com").unwrap(), "owner@example.com");
        assert_eq!(normalize_email("Ünïcode@exämple.de").unwrap(), "ünïcode@exämple.de");
    }

    #[test]
    fn bad_emails_are_422() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@.com",
            "a@example.",
            "a b@example.com",
            "a@exa mple.com",
            "a@@example.com",
            "a@ex..com",
            "a\u{0}@example.com",
        ] {
            let err = normalize_email(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_email", "{bad:?}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(normalize_email(&long_local).is_err());
    }

    #[test]
    fn password_length_boundaries() {
        assert!(check_password_policy(&"x7Q!".repeat(3)[..11]).is_err(), "11 chars");
        assert!(check_password_policy("k9#Vt2!pLq8z").is_ok(), "12 chars");
        assert!(check_password_policy(&"k9#Vt2!pLq8z".repeat(11)[..128]).is_ok(), "128 chars");
        assert!(check_password_policy(&"k9#Vt2!pLq8z".repeat(11)[..129]).is_err(), "129 chars");
        assert!(check_password_policy("ééééééééééé").is_err(), "11 characters even if 22 bytes");
    }

    #[test]
    fn common_passwords_are_rejected() {
        for weak in ["qwerty123456", "Password123456", "password!!!!!!!!", "1qaz2wsx3edc", "iloveyou12345678"] {
            assert!(is_common_password(weak), "{weak}");
            assert_eq!(check_password_policy(weak).unwrap_err().code(), "weak_password");
        }
        assert!(!is_common_password("correct horse battery staple"));
        assert!(common_passwords().len() > 5000);
    }

    #[test]
    fn hashes_verify_and_dummy_never_does() {
        let h = PasswordHasher::default();
        let phc = h.hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify("correct horse battery staple", &phc));
        assert!(!h.verify("correct horse battery stapler", &phc));
        assert!(!h.verify_dummy("anything at all"));
        assert_ne!(phc, h.hash("correct horse battery staple").unwrap(), "salted");
    }
}
