//! Petty API keys: `pty_<key id>_<secret><checksum>`, recognizable in logs and secret scanners,
//! with a CRC-32 checksum so a typo is rejected before any database read.
//!
//! Only a SHA-256 of the secret is stored: the secret has 190 bits of entropy, so a slow hash
//! buys nothing and a fast one keeps per-request verification cheap.

use aws_lc_rs::digest;

/// Every key starts with this.
pub const PREFIX: &str = "pty_";
const ID_LEN: usize = 16;
const SECRET_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ID_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A key as issued: shown to the caller once.
pub struct NewApiKey {
    /// The public id (the table key; safe to show and log).
    pub key_id: String,
    /// The whole key, for the caller; never stored or logged.
    pub plaintext: zeroize::Zeroizing<String>,
    /// What is stored: hex SHA-256 of the secret part.
    pub secret_hash: String,
}

/// A key whose format and checksum are valid (not yet checked against the store).
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedApiKey {
    pub key_id: String,
    pub secret_hash: String,
}

/// Why a presented key was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyFormatError {
    #[error("not a Petty API key")]
    Format,
    #[error("API key checksum mismatch (a typo?)")]
    Checksum,
}

/// `len` characters drawn uniformly from `alphabet` with the system RNG.
pub(crate) fn random_from(alphabet: &[u8], len: usize) -> String {
    // Rejection sampling keeps the distribution uniform.
    let limit = 256 / alphabet.len() * alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        aws_lc_rs::rand::fill(&mut buf).expect("system RNG");
        for b in buf.iter().map(|b| *b as usize).filter(|b| *b < limit) {
            if out.len() == len {
                break;
            }
            out.push(alphabet[b % alphabet.len()] as char);
        }
    }
    out
}

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

/// Hex SHA-256 of a secret.
pub fn hash_secret(secret: &str) -> String {
    digest::digest(&digest::SHA256, secret.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Generates a new key.
pub fn generate() -> NewApiKey {
    let key_id = random_from(ID_ALPHABET, ID_LEN);
    let secret = zeroize::Zeroizing::new(random_from(BASE62, SECRET_LEN));
    let body = format!("{PREFIX}{key_id}_{}", secret.as_str());
    let plaintext = zeroize::Zeroizing::new(format!("{body}{}", checksum(&body)));
    NewApiKey { secret_hash: hash_secret(&secret), key_id, plaintext }
}

/// Checks format and checksum; no I/O.
pub fn parse(presented: &str) -> Result<ParsedApiKey, ApiKeyFormatError> {
    let rest = presented.strip_prefix(PREFIX).ok_or(ApiKeyFormatError::Format)?;
    if rest.len() != ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN || !rest.is_ascii() {
        return Err(ApiKeyFormatError::Format);
    }
    let (key_id, tail) = rest.split_at(ID_LEN);
    let tail = tail.strip_prefix('_').ok_or(ApiKeyFormatError::Format)?;
    let (secret, sum) = tail.split_at(SECRET_LEN);
    if !key_id.bytes().all(|b| ID_ALPHABET.contains(&b)) || !tail.bytes().all(|b| BASE62.contains(&b)) {
        return Err(ApiKeyFormatError::Format);
    }
    let body = &presented[..presented.len() - CHECKSUM_LEN];
    if checksum(body) != sum {
        return Err(ApiKeyFormatError::Checksum);
    }
    Ok(ParsedApiKey { key_id: key_id.to_owned(), secret_hash: hash_secret(secret) })
}

/// Constant-time comparison of two stored-form hashes.
pub fn hashes_match(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back() {
        for _ in 0..200 {
            let k = generate();
            assert!(k.plaintext.starts_with("pty_"));
            assert_eq!(k.plaintext.len(), 4 + 16 + 1 + 32 + 6);
            let parsed = parse(&k.plaintext).unwrap();
            assert_eq!(parsed.key_id, k.key_id);
            assert!(hashes_match(&parsed.secret_hash, &k.secret_hash));
        }
    }

    #[test]
    fn keys_are_unique() {
        let a = generate();
        let b = generate();
        assert_ne!(a.key_id, b.key_id);
        assert_ne!(a.secret_hash, b.secret_hash);
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let k = generate();
        let key = k.plaintext.as_str();
        for i in PREFIX.len()..key.len() {
            for replacement in ['a', 'Z', '7'] {
                let mut typo: Vec<char> = key.chars().collect();
                if typo[i] == replacement {
                    continue;
                }
                typo[i] = replacement;
                let typo: String = typo.into_iter().collect();
                assert!(parse(&typo).is_err(), "typo at {i} accepted: {typo}");
            }
        }
    }

    #[test]
    fn garbage_is_a_format_error() {
        for junk in ["", "pty_", "ghp_abc", "pty_short", "eyJhbGciOiJSUzI1NiJ9.e30.sig", &"pty_".repeat(20)] {
            assert_eq!(parse(junk), Err(ApiKeyFormatError::Format), "{junk}");
        }
    }
}
