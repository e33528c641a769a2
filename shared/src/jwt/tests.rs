//! Every rejection we can name, against keys generated per test run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use super::*;
use crate::keygen::{self, GeneratedKey};
use crate::secrets::{CacheSettings, SecretSource, SecretString};

const ISS: &str = "https://auth.petty.test";
const AUD: &str = "petty-api";
const JWKS_ID: &str = "jwks";

#[derive(Default)]
struct MemorySecrets {
    values: Mutex<HashMap<String, String>>,
    fetches: AtomicUsize,
}

impl SecretSource for Arc<MemorySecrets> {
    async fn fetch(&self, id: &str) -> Result<SecretString, SecretError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.values
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .map(SecretString::new)
            .ok_or_else(|| SecretError::NotFound(id.into()))
    }
}

struct Fixture {
    k1: GeneratedKey,
    signer: Signer,
    secrets: Arc<MemorySecrets>,
    verifier: Verifier<Arc<MemorySecrets>>,
}

fn fixture() -> Fixture {
    let k1 = keygen::generate("k1");
    let secrets = Arc::new(MemorySecrets::default());
    secrets.values.lock().unwrap().insert(JWKS_ID.into(), keygen::jwks_json(&[&k1]));
    let settings = CacheSettings { min_refresh_interval: Duration::ZERO, ..CacheSettings::default() };
    let cache = Arc::new(SecretCache::new(secrets.clone(), settings));
    let verifier = Verifier::new(cache, JWKS_ID, &JwtSettings { issuer: ISS.into(), audience: AUD.into() });
    let signer = Signer::from_json(&keygen::signing_set_json("k1", &[&k1])).unwrap();
    Fixture { k1, signer, secrets, verifier }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(token_type: TokenType) -> Claims {
    let t = now();
    Claims {
        iss: ISS.into(),
        aud: AUD.into(),
        sub: "user-1".into(),
        scopes: vec!["readings:read".into()],
        token_type,
        jti: "jti-1".into(),
        iat: t,
        nbf: t,
        exp: t + 900,
        fam: None,
    }
}

/// A token with an arbitrary header and payload, RS256-signed by `key` (when given).
fn forge(header: Value, payload: Value, key: Option<&GeneratedKey>) -> String {
    let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload.to_string()));
    let signature = match key {
        Some(k) => {
            let der = pem_body(&k.private_pem);
            let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
            let mut sig = vec![0; pair.public_modulus_len()];
            pair.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .unwrap();
            B64.encode(sig)
        }
        None => String::new(),
    };
    format!("{signing_input}.{signature}")
}

fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

fn payload(c: &Claims) -> Value {
    serde_json::to_value(c).unwrap()
}

#[tokio::test]
async fn accepts_a_valid_access_token() {
    let f = fixture();
    let token = f.signer.sign(&claims(TokenType::Access)).unwrap();
    let got = f.verifier.verify(&token, TokenType::Access).await.unwrap();
    assert_eq!(got.sub, "user-1");
    assert!(got.scopes.iter().any(|s| s == "readings:read"));
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::RS256, Some("k1")));
}

#[tokio::test]
async fn keys_are_fetched_and_parsed_once() {
    let f = fixture();
    let token = f.signer.sign(&claims(TokenType::Access)).unwrap();
    for _ in 0..50 {
        f.verifier.verify(&token, TokenType::Access).await.unwrap();
    }
    assert_eq!(f.secrets.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn rejects_alg_none() {
    let f = fixture();
    let token = forge(json!({"alg": "none", "kid": "k1"}), payload(&claims(TokenType::Access)), None);
    let err = f.verifier.verify(&token, TokenType::Access).await.unwrap_err();
    assert!(matches!(err, JwtError::Malformed | JwtError::UnsupportedAlgorithm), "{err:?}");
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_public_key() {
    let f = fixture();
    let signing_input = format!(
        "{}.{}",
        B64.encode(json!({"alg": "HS256", "kid": "k1", "typ": "JWT"}).to_string()),
        B64.encode(payload(&claims(TokenType::Access)).to_string())
    );
    // The classic confusion: the verifier's public key used as an HMAC secret.
    let secret = keygen::jwks_json(&[&f.k1]);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
    let token = format!("{signing_input}.{}", B64.encode(tag.as_ref()));
    assert_eq!(f.verifier.verify(&token, TokenType::Access).await.unwrap_err(), JwtError::UnsupportedAlgorithm);
}

#[tokio::test]
async fn rejects_other_rsa_algorithms() {
    let f = fixture();
    for alg in ["RS384", "RS512", "PS256", "ES256"] {
        let token = forge(json!({"alg": alg, "kid": "k1"}), payload(&claims(TokenType::Access)), Some(&f.k1));
        assert_eq!(
            f.verifier.verify(&token, TokenType::Access).await.unwrap_err(),
            JwtError::UnsupportedAlgorithm,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn requires_a_kid() {
    let f = fixture();
    let token = forge(json!({"alg": "RS256"}), payload(&claims(TokenType::Access)), Some(&f.k1));
    assert_eq!(f.verifier.verify(&token, TokenType::Access).await.unwrap_err(), JwtError::MissingKid);
}

#[tokio::test]
async fn rejects_an_unknown_kid_after_one_refresh() {
    let f = fixture();
    let token = forge(json!({"alg": "RS256", "kid": "nope"}), payload(&claims(TokenType::Access)), Some(&f.k1));
    assert_eq!(f.verifier.verify(&token, TokenType::Access).await.unwrap_err(), JwtError::UnknownKid);
    assert_eq!(f.secrets.fetches.load(Ordering::SeqCst), 2, "one initial fetch, one refresh");
}

#[tokio::test]
async fn picks_up_a_rotated_key_at_once() {
    let f = fixture();
    f.verifier.verify(&f.signer.sign(&claims(TokenType::Access)).unwrap(), TokenType::Access).await.unwrap();
    let k2 = keygen::generate("k2");
    f.secrets.values.lock().unwrap().insert(JWKS_ID.into(), keygen::jwks_json(&[&k2, &f.k1]));
    let new_signer = Signer::from_json(&keygen::signing_set_json("k2", &[&k2, &f.k1])).unwrap();
    assert_eq!(new_signer.current_kid(), "k2");
    let new_token = new_signer.sign(&claims(TokenType::Access)).unwrap();
    assert!(f.verifier.verify(&new_token, TokenType::Access).await.is_ok(), "new kid accepted within the TTL");
    let old_token = f.signer.sign(&claims(TokenType::Access)).unwrap();
    assert!(f.verifier.verify(&old_token, TokenType::Access).await.is_ok(), "previous key still valid");
}

#[tokio::test]
async fn rejects_expired_beyond_leeway_but_tolerates_skew() {
    let f = fixture();
    let mut c = claims(TokenType::Access);
    c.exp = now() - 60;
    assert_eq!(f.verifier.verify(&f.signer.sign(&c).unwrap(), TokenType::Access).await.unwrap_err(), JwtError::Expired);
    c.exp = now() - 10;
    assert!(
        f.verifier.verify(&f.signer.sign(&c).unwrap(), TokenType::Access).await.is_ok(),
        "10 s skew is within the leeway"
    );
}

#[tokio::test]
async fn rejects_nbf_in_the_future() {
    let f = fixture();
    let mut c = claims(TokenType::Access);
    c.nbf = now() + 120;
    assert_eq!(
        f.verifier.verify(&f.signer.sign(&c).unwrap(), TokenType::Access).await.unwrap_err(),
        JwtError::NotYetValid
    );
}

#[tokio::test]
async fn rejects_iat_in_the_future() {
    let f = fixture();
    let mut c = claims(TokenType::Access);
    c.iat = now() + 120;
    assert_eq!(
        f.verifier.verify(&f.signer.sign(&c).unwrap(), TokenType::Access).await.unwrap_err(),
        JwtError::IssuedInFuture
    );
}

#[tokio::test]
async fn rejects_wrong_issuer_and_audience() {
    let f = fixture();
    let mut c = claims(TokenType::Access);
    c.iss = "https://evil.example".into();
    assert_eq!(
        f.verifier.verify(&f.signer.sign(&c).unwrap(), TokenType::Access).await.unwrap_err(),
        JwtError::WrongIssuer
    );
    let mut c = claims(TokenType::Access);
    c.aud = "another-api".into();
    assert_eq!(
        f.verifier.verify(&f.signer.sign(&c).unwrap(), TokenType::Access).await.unwrap_err(),
        JwtError::WrongAudience
    );
}

#[tokio::test]
async fn rejects_missing_required_claims() {
    let f = fixture();
    let mut p = payload(&claims(TokenType::Access));
    p.as_object_mut().unwrap().remove("nbf");
    let token = forge(json!({"alg": "RS256", "kid": "k1"}), p, Some(&f.k1));
    assert_eq!(f.verifier.verify(&token, TokenType::Access).await.unwrap_err(), JwtError::Malformed);
}

#[tokio::test]
async fn rejects_tampered_payload_and_signature() {
    let f = fixture();
    let token = f.signer.sign(&claims(TokenType::Access)).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut evil = claims(TokenType::Access);
    evil.scopes.push("admin".into());
    let tampered = format!("{}.{}.{}", parts[0], B64.encode(payload(&evil).to_string()), parts[2]);
    assert_eq!(f.verifier.verify(&tampered, TokenType::Access).await.unwrap_err(), JwtError::BadSignature);

    let mut sig = B64.decode(parts[2]).unwrap();
    sig[10] ^= 0x01;
    let bad_sig = format!("{}.{}.{}", parts[0], parts[1], B64.encode(sig));
    assert_eq!(f.verifier.verify(&bad_sig, TokenType::Access).await.unwrap_err(), JwtError::BadSignature);
}

#[tokio::test]
async fn rejects_a_token_from_another_key_set() {
    let f = fixture();
    let impostor = keygen::generate("k1");
    let signer = Signer::from_json(&keygen::signing_set_json("k1", &[&impostor])).unwrap();
    let token = signer.sign(&claims(TokenType::Access)).unwrap();
    assert_eq!(f.verifier.verify(&token, TokenType::Access).await.unwrap_err(), JwtError::BadSignature);
}

#[tokio::test]
async fn token_types_are_not_interchangeable() {
    let f = fixture();
    let refresh = f.signer.sign(&claims(TokenType::Refresh)).unwrap();
    assert_eq!(f.verifier.verify(&refresh, TokenType::Access).await.unwrap_err(), JwtError::WrongTokenType);
    let access = f.signer.sign(&claims(TokenType::Access)).unwrap();
    assert_eq!(f.verifier.verify(&access, TokenType::Refresh).await.unwrap_err(), JwtError::WrongTokenType);
}

#[tokio::test]
async fn rejects_garbage() {
    let f = fixture();
    let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
    for junk in ["", "abc", "a.b", "a.b.c", "eyJhbGciOiJSUzI1NiJ9", "....", huge.as_str()] {
        assert_eq!(f.verifier.verify(junk, TokenType::Access).await.unwrap_err(), JwtError::Malformed, "{junk:.20}");
    }
}

#[tokio::test]
async fn missing_key_set_is_unavailable_not_unauthorized() {
    let f = fixture();
    f.secrets.values.lock().unwrap().clear();
    let token = f.signer.sign(&claims(TokenType::Access)).unwrap();
    assert!(matches!(f.verifier.verify(&token, TokenType::Access).await.unwrap_err(), JwtError::KeysUnavailable(_)));
}

#[test]
fn jwks_parsing_keeps_only_usable_keys() {
    let k = keygen::generate("k1");
    let mut ec = k.jwk.clone();
    ec["kty"] = json!("EC");
    ec["kid"] = json!("ec");
    let mut enc = k.jwk.clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc");
    let set = PublicKeySet::from_jwks(&json!({"keys": [k.jwk, ec, enc]}).to_string()).unwrap();
    assert_eq!(set.keys.keys().collect::<Vec<_>>(), vec!["k1"]);
    assert!(PublicKeySet::from_jwks(r#"{"keys": []}"#).is_err());
    assert!(PublicKeySet::from_jwks("not json").is_err());
}

#[test]
fn signer_rejects_bad_sets_and_hides_keys() {
    let k = keygen::generate("k1");
    assert!(Signer::from_json(&keygen::signing_set_json("k9", &[&k])).is_err());
    assert!(Signer::from_json("{}").is_err());
    let signer = Signer::from_json(&keygen::signing_set_json("k1", &[&k])).unwrap();
    let shown = format!("{signer:?}");
    assert!(shown.contains("k1") && !shown.contains("PRIVATE"), "{shown}");
}

/// Fuzzing token verification on stable Rust: nothing but an untouched token signed by a
/// listed key, with every claim in bounds, is ever accepted.
mod properties {
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;

    /// One key pair per test binary: RSA generation is too slow for every case.
    static FIXTURE: LazyLock<Fixture> = LazyLock::new(fixture);

    fn verify(token: &str) -> Result<Claims, JwtError> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(FIXTURE.verifier.verify(token, TokenType::Access))
    }

    proptest! {
        #[test]
        fn arbitrary_text_is_never_a_token(text in ".{0,400}", segments in prop::collection::vec("[A-Za-z0-9_-]{0,120}", 1..5)) {
            prop_assert!(verify(&text).is_err());
            prop_assert!(verify(&segments.join(".")).is_err());
        }

        #[test]
        fn any_edit_to_a_signed_token_is_refused(at in any::<prop::sample::Index>(), with in "[A-Za-z0-9_.=-]") {
            let token = FIXTURE.signer.sign(&claims(TokenType::Access)).unwrap();
            let at = at.index(token.len());
            let mut edited = token.clone();
            edited.replace_range(at..at + 1, &with);
            prop_assume!(edited != token);
            prop_assert!(verify(&edited).is_err(), "accepted an edit at {} of {}", at, token.len());
        }

        #[test]
        fn claims_are_accepted_exactly_when_in_bounds(
            exp_s in -3_600i64..3_600,
            nbf_s in -3_600i64..3_600,
            iat_s in -3_600i64..3_600,
            right_iss in any::<bool>(),
            right_aud in any::<bool>(),
            access in any::<bool>(),
        ) {
            // Away from the leeway's edges, where a second of test time could flip the answer.
            let leeway = LEEWAY_SECONDS as i64;
            for offset in [exp_s, nbf_s, iat_s] {
                prop_assume!((offset.abs() - leeway).abs() > 5);
            }
            let t = now();
            let mut c = claims(if access { TokenType::Access } else { TokenType::Refresh });
            (c.exp, c.nbf, c.iat) = (t + exp_s, t + nbf_s, t + iat_s);
            if !right_iss { c.iss = "https://evil.example".into(); }
            if !right_aud { c.aud = "someone-else".into(); }
            let token = FIXTURE.signer.sign(&c).unwrap();
            let valid = exp_s > -leeway && nbf_s < leeway && iat_s < leeway && right_iss && right_aud && access;
            prop_assert_eq!(verify(&token).is_ok(), valid, "exp {} nbf {} iat {} iss {} aud {} access {}",
                exp_s, nbf_s, iat_s, right_iss, right_aud, access);
        }
    }
}
