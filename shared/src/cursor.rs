//! Opaque, tamper-evident pagination cursors over DynamoDB's `LastEvaluatedKey`.
//!
//! A cursor is `v1.<payload>.<tag>`: the key's attributes as base64url JSON and an
//! HMAC-SHA256 over the payload *and a scope* (e.g. the collar and window of the query), so a
//! cursor cannot be edited, nor replayed against another query. Any failure is one error:
//! the HTTP layer answers 400 without saying which check failed.

use std::collections::HashMap;

use aws_lc_rs::hmac;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

const VERSION: &str = "v1";
/// Cursors longer than this are rejected before any decoding work.
const MAX_CURSOR_LEN: usize = 2048;

/// The one error a bad cursor produces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagination cursor")]
pub struct InvalidCursor;

/// Signs and verifies cursors with a key held by the function (from Secrets Manager).
pub struct CursorCodec {
    key: hmac::Key,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec([REDACTED])")
    }
}

impl CursorCodec {
    /// A codec over `key` (at least 32 bytes of randomness).
    pub fn new(key: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, key) }
    }

    fn tag(&self, scope: &str, payload: &str) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(scope.as_bytes());
        ctx.update(b"\n");
        ctx.update(payload.as_bytes());
        ctx.sign()
    }

    /// The codec over the key held in Secrets Manager under `secret_id` (through the cache).
    pub async fn from_secret<S: crate::secrets::SecretSource>(
        secrets: &crate::secrets::SecretCache<S>,
        secret_id: &str,
    ) -> Result<Self, crate::secrets::SecretError> {
        let key = secrets.get(secret_id).await?;
        Ok(Self::new(key.value.expose().as_bytes()))
    }

    /// Encodes a `LastEvaluatedKey` bound to `scope`. Keys hold only S, N and B attributes.
    pub fn encode(&self, scope: &str, key: &HashMap<String, AttributeValue>) -> Result<String, InvalidCursor> {
        let mut map = Map::new();
        for (name, value) in key {
            let encoded = match value {
                AttributeValue::S(s) => json!({ "S": s }),
                AttributeValue::N(n) => json!({ "N": n }),
                AttributeValue::B(b) => json!({ "B": B64.encode(b.as_ref()) }),
                _ => return Err(InvalidCursor),
            };
            map.insert(name.clone(), encoded);
        }
        let payload = B64.encode(Value::Object(map).to_string());
        let tag = self.tag(scope, &payload);
        Ok(format!("{VERSION}.{payload}.{}", B64.encode(tag.as_ref())))
    }

    /// Verifies and decodes a cursor produced by [`encode`](Self::encode) for the same scope.
    pub fn decode(&self, scope: &str, cursor: &str) -> Result<HashMap<String, AttributeValue>, InvalidCursor> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(InvalidCursor);
        }
        let mut parts = cursor.split('.');
        let (Some(VERSION), Some(payload), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidCursor);
        };
        let tag = B64.decode(tag).map_err(|_| InvalidCursor)?;
        let mut data = Vec::with_capacity(scope.len() + 1 + payload.len());
        data.extend_from_slice(scope.as_bytes());
        data.push(b'\n');
        data.extend_from_slice(payload.as_bytes());
        // Constant-time comparison of the tag.
        hmac::verify(&self.key, &data, &tag).map_err(|_| InvalidCursor)?;
        let json = B64.decode(payload).map_err(|_| InvalidCursor)?;
        let Value::Object(map) = serde_json::from_slice(&json).map_err(|_| InvalidCursor)? else {
            return Err(InvalidCursor);
        };
        map.into_iter()
            .map(|(name, typed)| {
                let value = match (typed.get("S"), typed.get("N"), typed.get("B")) {
                    (Some(Value::String(s)), None, None) => AttributeValue::S(s.clone()),
                    (None, Some(Value::String(n)), None) => AttributeValue::N(n.clone()),
                    (None, None, Some(Value::String(b))) => {
                        AttributeValue::B(Blob::new(B64.decode(b).map_err(|_| InvalidCursor)?))
                    }
                    _ => return Err(InvalidCursor),
                };
                Ok((name, value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S("COLLAR#AB-123".into())),
            ("ts".to_owned(), AttributeValue::N("1724000000".into())),
            ("raw".to_owned(), AttributeValue::B(Blob::new(vec![0u8, 1, 2, 255]))),
        ])
    }

    #[test]
    fn round_trips() {
        let codec = CursorCodec::new(&[7u8; 32]);
        let cursor = codec.encode("scope", &key()).unwrap();
        assert!(cursor.starts_with("v1."));
        assert_eq!(codec.decode("scope", &cursor).unwrap(), key());
    }

    #[test]
    fn any_tampering_is_rejected() {
        let codec = CursorCodec::new(&[7u8; 32]);
        let cursor = codec.encode("scope", &key()).unwrap();
        // Flip every character position in turn: none may decode.
        for i in 0..cursor.len() {
            let mut bytes = cursor.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let Ok(tampered) = String::from_utf8(bytes) else { continue };
            if tampered != cursor {
                assert_eq!(codec.decode("scope", &tampered), Err(InvalidCursor), "position {i}");
            }
        }
    }

    #[test]
    fn forged_payload_with_old_tag_is_rejected() {
        let codec = CursorCodec::new(&[7u8; 32]);
        let cursor = codec.encode("scope", &key()).unwrap();
        let tag = cursor.rsplit('.').next().unwrap();
        let forged = B64.encode(r#"{"pk":{"S":"COLLAR#XY-999"}}"#);
        assert_eq!(codec.decode("scope", &format!("v1.{forged}.{tag}")), Err(InvalidCursor));
    }

    #[test]
    fn other_scope_or_key_is_rejected() {
        let codec = CursorCodec::new(&[7u8; 32]);
        let cursor = codec.encode("collar=AB-1", &key()).unwrap();
        assert_eq!(codec.decode("collar=AB-2", &cursor), Err(InvalidCursor));
        assert_eq!(CursorCodec::new(&[8u8; 32]).decode("collar=AB-1", &cursor), Err(InvalidCursor));
    }

    #[test]
    fn garbage_is_rejected() {
        let codec = CursorCodec::new(&[7u8; 32]);
        for junk in ["", "v1", "v1..", "v2.a.b", "v1.a.b.c", "v1.!!!.###", &"a".repeat(5000)] {
            assert_eq!(codec.decode("s", junk), Err(InvalidCursor), "{junk:?}");
        }
        assert!(format!("{codec:?}").contains("REDACTED"));
    }
}

/// Property tests (fuzzing on stable Rust): decoding never panics, accepts only what was
/// encoded for the same scope, and round-trips every key.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn codec() -> CursorCodec {
        CursorCodec::new(&[7u8; 32])
    }

    proptest! {
        #[test]
        fn arbitrary_text_is_never_a_cursor(text in ".{0,300}", tail in "[A-Za-z0-9_.-]{0,200}") {
            prop_assert!(codec().decode("scope", &text).is_err());
            let forged = format!("v1.{tail}");
            prop_assert!(codec().decode("scope", &forged).is_err());
        }

        #[test]
        fn keys_round_trip_and_edits_or_other_scopes_are_refused(
            pk in ".{1,40}", sk in -1_000_000_000_000i64..1_000_000_000_000, at in 0usize..1000, other in ".{0,20}",
        ) {
            let key: HashMap<String, AttributeValue> =
                [("pk".to_owned(), AttributeValue::S(pk)), ("sk".to_owned(), AttributeValue::N(sk.to_string()))].into();
            let cursor = codec().encode("scope", &key).unwrap();
            prop_assert_eq!(codec().decode("scope", &cursor).unwrap(), key);
            if other != "scope" {
                prop_assert!(codec().decode(&other, &cursor).is_err());
            }
            let i = at % cursor.len();
            let mut edited = cursor.clone().into_bytes();
            edited[i] = if edited[i] == b'A' { b'B' } else { b'A' };
            if let Ok(edited) = String::from_utf8(edited) {
                if edited != cursor {
                    prop_assert!(codec().decode("scope", &edited).is_err());
                }
            }
        }
    }
}
