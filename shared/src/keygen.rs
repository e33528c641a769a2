//! RSA key-set generation, for tests (which must generate their own keys) and tools.
//!
//! Formats (shared with `tools/local_aws.py`, which writes the same for `make dev`):
//! - signing key set: `{"current_kid": "...", "keys": [{"kid": "...", "private_key_pem": "<PKCS#8 PEM>"}]}`
//! - public key set: a JWKS, `{"keys": [{"kty": "RSA", "kid": "...", "use": "sig", "alg": "RS256", "n": "...", "e": "..."}]}`

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// One generated key: its id, private PEM (PKCS#8) and public JWK.
pub struct GeneratedKey {
    /// Key id, as put in token headers.
    pub kid: String,
    /// PKCS#8 PEM of the private key; zeroized on drop.
    pub private_pem: Zeroizing<String>,
    /// The public half as a JWK.
    pub jwk: Value,
}

/// Generates a 2048-bit RSA key.
pub fn generate(kid: &str) -> GeneratedKey {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
    let der = pair.as_der().expect("PKCS#8 encoding");
    let private_pem = Zeroizing::new(pem("PRIVATE KEY", der.as_ref()));
    let public = pair.public_key();
    let jwk = json!({
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    });
    GeneratedKey { kid: kid.to_owned(), private_pem, jwk }
}

/// PEM armour with 64-column lines.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The signing key set secret for `keys`, with `current` as the signing key.
pub fn signing_set_json(current: &str, keys: &[&GeneratedKey]) -> Zeroizing<String> {
    let entries: Vec<Value> =
        keys.iter().map(|k| json!({ "kid": k.kid, "private_key_pem": k.private_pem.as_str() })).collect();
    Zeroizing::new(json!({ "current_kid": current, "keys": entries }).to_string())
}

/// The public key set (JWKS) secret for `keys`.
pub fn jwks_json(keys: &[&GeneratedKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}
