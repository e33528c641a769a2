//! The households' pure rules: who may be invited as what, until when, and the invitation
//! token. Stable codes; no I/O.

use petty_shared::api::members::Role;

/// A membership ends at most this far ahead (a sitter for a week, a dog walker for a season).
pub const MAX_MEMBERSHIP_DAYS: i64 = 366;
/// An invitation's end must leave the member at least this long (seconds): a few seconds, so a
/// short trial membership can be set up and seen to end.
pub const MIN_MEMBERSHIP_S: i64 = 1;
/// Invitations one collar may send per UTC day (each is an e-mail to a given address).
pub const INVITATIONS_PER_DAY: i64 = 20;

/// A broken rule, answered 422 with its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub code: &'static str,
    pub message: String,
}

fn broken(code: &'static str, message: impl Into<String>) -> RuleError {
    RuleError { code, message: message.into() }
}

/// The role an invitation or an update may give: a member's, never the owner's.
pub fn member_role(role: Role) -> Result<Role, RuleError> {
    match role {
        Role::Owner => {
            Err(broken("invalid_role", "a collar has one owner: invite a caregiver, then transfer the collar"))
        }
        other => Ok(other),
    }
}

/// A membership's end (RFC 3339) as Unix seconds: within [`MAX_MEMBERSHIP_DAYS`], and for a new
/// membership (`changing: false`) in the future; changing an existing one, an end now or in
/// the past ends it at once.
pub fn membership_end(raw: &str, now_s: i64, changing: bool) -> Result<i64, RuleError> {
    let at = chrono::DateTime::parse_from_rfc3339(raw)
        .map_err(|_| broken("invalid_expires_at", "expires_at must be an RFC 3339 time, e.g. 2026-12-24T18:00:00Z"))?
        .timestamp();
    if !changing && at < now_s + MIN_MEMBERSHIP_S {
        return Err(broken("invalid_expires_at", "expires_at must be in the future"));
    }
    if at > now_s + MAX_MEMBERSHIP_DAYS * 86_400 {
        return Err(broken("invalid_expires_at", format!("expires_at must be within {MAX_MEMBERSHIP_DAYS} days")));
    }
    Ok(at)
}

/// A new invitation token: a prefix and 256 random bits, base64url (only its hash is kept).
pub fn new_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    format!("pinv_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `token` has the shape [`new_token`] makes (checked before any lookup).
pub fn is_token(token: &str) -> bool {
    token
        .strip_prefix("pinv_")
        .is_some_and(|b| b.len() == 43 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'))
}

/// The invitation e-mail: subject and text.
pub fn invitation_email(inviter: &str, pet: &str, role: Role, token: &str, valid_days: i64) -> (String, String) {
    let rights = match role {
        Role::Caregiver => {
            "see its readings, timeline and alerts, give feedback and change its zones and alert settings"
        }
        _ => "see its readings, timeline and alerts",
    };
    let subject = format!("{inviter} shared {pet} with you on Petty");
    let text = format!(
        "Hello,\n\n{inviter} invited you to {pet}'s household on Petty as a {role}: you may {rights}.\n\n\
         Sign in with this address (verified) and accept within {valid_days} days:\n\nToken: {token}\n\n\
         (`petty members accept --token <token>`). It works once. If you do not know {inviter}, ignore this message.\n"
    );
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000;

    fn at(s: i64) -> String {
        chrono::DateTime::from_timestamp(s, 0).unwrap().to_rfc3339()
    }

    #[test]
    fn owners_are_not_invited() {
        assert_eq!(member_role(Role::Owner).unwrap_err().code, "invalid_role");
        assert_eq!(member_role(Role::Viewer), Ok(Role::Viewer));
        assert_eq!(member_role(Role::Caregiver), Ok(Role::Caregiver));
    }

    #[test]
    fn ends_are_in_the_future_within_a_year() {
        assert_eq!(membership_end(&at(NOW + 7 * 86_400), NOW, false), Ok(NOW + 7 * 86_400));
        assert_eq!(membership_end(&at(NOW + MIN_MEMBERSHIP_S), NOW, false), Ok(NOW + MIN_MEMBERSHIP_S));
        assert!(membership_end(&at(NOW + MIN_MEMBERSHIP_S - 1), NOW, false).is_err());
        assert!(membership_end(&at(NOW - 1), NOW, false).is_err());
        assert_eq!(membership_end(&at(NOW - 1), NOW, true), Ok(NOW - 1), "a change may end it now");
        assert_eq!(membership_end(&at(NOW + 366 * 86_400), NOW, false), Ok(NOW + 366 * 86_400));
        assert!(membership_end(&at(NOW + 366 * 86_400 + 1), NOW, true).is_err());
        assert_eq!(membership_end("next tuesday", NOW, true).unwrap_err().code, "invalid_expires_at");
        assert_eq!(membership_end("2026-12-24T18:00:00+09:00", 1_798_102_800 - 86_400, false), Ok(1_798_102_800));
    }

    #[test]
    fn tokens_are_random_and_recognised() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(is_token(&a) && is_token(&b));
        assert!(!is_token("pinv_short"));
        assert!(!is_token(&a.replace("pinv_", "prst_")));
        assert!(!is_token(&format!("{}!", &a[..a.len() - 1])));
    }

    #[test]
    fn the_email_carries_the_token_and_the_rights() {
        let (subject, text) = invitation_email("Ana", "Rex", Role::Viewer, "pinv_x", 7);
        assert!(subject.contains("Rex"));
        assert!(text.contains("Token: pinv_x\n"));
        assert!(text.contains("as a viewer") && !text.contains("feedback"));
    }
}
