//! E-mail unsubscribe links: a token that turns one alert type's e-mail off for one account
//! without logging in. `<base64url(user_id "\n" type)>.<base64url(HMAC-SHA256)>`, keyed by the
//! stack's notification key (Secrets Manager); verified in constant time. It does not expire:
//! it can only turn e-mail off, and the owner turns it on again in the settings.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use petty_api::alerts::AlertType;

const CONTEXT: &[u8] = b"petty-unsubscribe-v1\n";

fn tag(key: &str, payload: &[u8]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(CONTEXT);
    ctx.update(payload);
    ctx.sign()
}

/// The token for `user_id`'s e-mail of `kind`.
pub fn token(key: &str, user_id: &str, kind: AlertType) -> String {
    let payload = format!("{user_id}\n{}", kind.as_str());
    format!("{}.{}", B64.encode(&payload), B64.encode(tag(key, payload.as_bytes()).as_ref()))
}

/// The account and type a genuine token names.
pub fn verify(key: &str, token: &str) -> Option<(String, AlertType)> {
    let (payload, mac) = token.split_once('.')?;
    let payload = B64.decode(payload).ok()?;
    let mac = B64.decode(mac).ok()?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    let mut msg = CONTEXT.to_vec();
    msg.extend_from_slice(&payload);
    hmac::verify(&key, &msg, &mac).ok()?;
    let text = String::from_utf8(payload).ok()?;
    let (user, kind) = text.split_once('\n')?;
    Some((user.to_owned(), AlertType::parse(kind)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_and_unaltered() {
        let t = token("k1", "user-1", AlertType::BatteryLow);
        assert_eq!(verify("k1", &t), Some(("user-1".to_owned(), AlertType::BatteryLow)));
        assert_eq!(verify("k2", &t), None);
        let (p, m) = t.split_once('.').unwrap();
        let other = B64.encode("user-2\nbattery_low");
        assert_eq!(verify("k1", &format!("{other}.{m}")), None);
        assert_eq!(verify("k1", p), None);
        assert_eq!(verify("k1", "garbage"), None);
    }
}
