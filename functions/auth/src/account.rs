//! Keeping and closing an account: password change and reset, e-mail verification, the
//! profile, sessions, erasure and export. Every token is single-use, purpose-bound, stored
//! hashed and sent only by e-mail; a reset request answers the same whether or not the
//! account exists.

use std::time::Instant;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::account_jobs::{AccountJob, ERASURE_RECORD_DAYS, EXPORT_RETENTION_DAYS, export_object_key};
use petty_shared::api;
use petty_shared::api_key::{hash_secret, hashes_match};
use petty_shared::audit::{AuditEvent, AuditStore};
use petty_shared::auth::ApiKeyStore;
use petty_shared::http::{ApiError, json_body, json_response, no_content, source_ip};
use petty_shared::secrets::SecretSource;
use petty_shared::stores::{ApiKeyAdmin, AuditReader};
use petty_shared::tables::lockouts::rate_key;
use petty_shared::tables::users::{TokenError, TokenPurpose, attr};

use crate::credentials::{check_password_policy, normalize_email};
use crate::outbox::{EXPORT_LINK_TTL, JobQueue, Outbox};
use crate::store::{AccountStore, StoredToken, User};
use crate::{AuthApp, now, user_view};

/// Password-reset tokens work this long.
pub const RESET_TOKEN_TTL_S: i64 = 30 * 60;
/// Verification tokens work this long.
pub const VERIFY_TOKEN_TTL_S: i64 = 24 * 3600;
const HOUR: i64 = 3600;

/// A rate limit: at most `limit` requests per `window_s` for one subject.
struct Rate {
    what: &'static str,
    limit: u32,
    window_s: i64,
}

const RESET_PER_EMAIL: Rate = Rate { what: "reset-email", limit: 5, window_s: HOUR };
const RESET_PER_CLIENT: Rate = Rate { what: "reset-client", limit: 20, window_s: HOUR };
const CONFIRM_PER_CLIENT: Rate = Rate { what: "token-client", limit: 30, window_s: HOUR };
const VERIFY_PER_USER: Rate = Rate { what: "verify-user", limit: 5, window_s: HOUR };
const EXPORT_PER_USER: Rate = Rate { what: "export-user", limit: 3, window_s: 24 * HOUR };

/// A new token: a purpose prefix and 256 random bits, base64url.
fn new_token(purpose: TokenPurpose) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    let prefix = match purpose {
        TokenPurpose::PasswordReset => "prst_",
        TokenPurpose::VerifyEmail => "pver_",
    };
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn invalid_token() -> ApiError {
    ApiError::bad_request("invalid_token", "the token is invalid, already used or expired")
}

fn wrong_password() -> ApiError {
    ApiError::Forbidden("password is incorrect".into())
}

fn accepted(message: &str) -> api::Accepted {
    api::Accepted { status: "accepted".into(), message: message.into() }
}

/// A name as registration accepts it; `""` clears.
pub(crate) fn check_name(name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(ApiError::unprocessable("invalid_name", "name must be at most 100 printable characters"));
    }
    Ok(n.to_owned())
}

/// An IANA time zone name, as the zone database spells it.
pub(crate) fn check_timezone(tz: &str) -> Result<String, ApiError> {
    tz.parse::<chrono_tz::Tz>()
        .map(|z| z.name().to_owned())
        .map_err(|_| ApiError::unprocessable("invalid_timezone", "timezone must be an IANA name such as Europe/Paris"))
}

/// A BCP 47 language tag's shape: a 2-3 letter language, then 1-8 character subtags.
pub(crate) fn check_locale(locale: &str) -> Result<String, ApiError> {
    let mut parts = locale.split('-');
    let lang_ok =
        parts.next().is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok = parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !lang_ok || !rest_ok || locale.len() > 35 {
        return Err(ApiError::unprocessable("invalid_locale", "locale must be a BCP 47 tag such as en or fr-CH"));
    }
    Ok(locale.to_owned())
}

/// Ids this function hands out (UUIDs); anything else cannot exist.
fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

impl<S, St, K, A, O> AuthApp<S, St, K, A, O>
where
    S: SecretSource,
    St: AccountStore,
    K: ApiKeyStore + ApiKeyAdmin + Clone,
    A: AuditStore + AuditReader + Clone,
    O: Outbox,
{
    /// Counts one request against `rate`; 429 past its limit.
    async fn limit(&self, rate: &Rate, subject: &str) -> Result<(), ApiError> {
        let t = now();
        let state = self.store.record_failure(&rate_key(rate.what, subject), t, rate.window_s).await?;
        if state.failures > rate.limit {
            let retry = (state.window_start + rate.window_s - t).max(1);
            return Err(ApiError::TooManyRequests { retry_after_s: retry as u64 });
        }
        Ok(())
    }

    async fn audit_user(&self, req: &Request, action: &str, outcome: &str, user_id: &str, detail: Option<String>) {
        let mut event = AuditEvent::now(action, outcome, Some(user_id), source_ip(req).as_deref());
        if let Some(d) = detail {
            event = event.with_detail(d);
        }
        self.audit(event).await;
    }

    /// A notice to the owner; a failure is logged, never the caller's error (the change is made).
    async fn notify(&self, to: &str, subject: &str, text: &str) {
        if let Err(e) = self.outbox.send_email(to, subject, text).await {
            tracing::warn!(error = %e, subject, "account notice not sent");
        }
    }

    /// Stores a new token of `purpose` for `user`, sent to `to`; the plaintext goes only into
    /// the e-mail.
    async fn send_token(&self, user: &User, purpose: TokenPurpose, to: &str) -> Result<(), ApiError> {
        let token = new_token(purpose);
        let ttl = match purpose {
            TokenPurpose::PasswordReset => RESET_TOKEN_TTL_S,
            TokenPurpose::VerifyEmail => VERIFY_TOKEN_TTL_S,
        };
        let stored = StoredToken {
            hash: hash_secret(&token),
            purpose,
            user_id: user.user_id.clone(),
            email: to.to_owned(),
            expires_at: now() + ttl,
        };
        self.store.issue_token(user, &stored).await?;
        let (subject, what) = match purpose {
            TokenPurpose::PasswordReset => {
                ("Reset your Petty password", "choose a new password (`petty password reset --token`)")
            }
            TokenPurpose::VerifyEmail => {
                ("Verify your Petty e-mail address", "confirm this address (`petty account verify-email --token`)")
            }
        };
        let text = format!(
            "Hello,\n\nUse this token within {} minutes to {what}:\n\nToken: {token}\n\nIt works once. If you did not ask for it, ignore this message.\n",
            ttl / 60
        );
        self.outbox.send_email(to, subject, &text).await
    }

    /// The open token of `purpose` named by `presented`, and its account.
    async fn redeem(&self, presented: &str, purpose: TokenPurpose) -> Result<(StoredToken, User), ApiError> {
        let hash = hash_secret(presented.trim());
        let token = self.store.token(&hash, purpose, now()).await?.ok_or_else(invalid_token)?;
        let user = self.store.user_by_id(&token.user_id).await?.filter(User::active).ok_or_else(invalid_token)?;
        if !user.open_token(purpose).is_some_and(|c| hashes_match(c, &hash)) {
            return Err(invalid_token());
        }
        Ok((token, user))
    }

    pub(crate) async fn change_password(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let body: api::ChangePassword = json_body(req)?;
        let user = self.current_user(&principal).await?;
        self.check_password(&user.email, Some(&user), &body.current_password, req, "password_change", wrong_password)
            .await?;
        check_password_policy(&body.new_password)?;
        let t = now();
        self.store.set_password(&user, &self.hasher.hash(&body.new_password)?, t).await?;
        let revoked = self.store.revoke_all_of_user(&user.user_id, principal.token_family.as_deref(), t).await?;
        self.audit_user(req, "password_change", "success", &user.user_id, Some(format!("sessions_revoked={revoked}")))
            .await;
        self.notify(&user.email, "Your Petty password was changed", "Your Petty password was just changed, and your other sessions were ended.\n\nIf this was not you, reset your password now (`petty password reset`).\n").await;
        json_response(StatusCode::OK, &api::SessionsRevoked { sessions_revoked: revoked, api_keys_revoked: 0 })
    }

    pub(crate) async fn request_password_reset(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let started = Instant::now();
        let body: api::PasswordReset = json_body(req)?;
        let email = normalize_email(&body.email)?;
        let client = source_ip(req).unwrap_or_else(|| "unknown".into());
        self.limit(&RESET_PER_CLIENT, &client).await?;
        self.limit(&RESET_PER_EMAIL, &email).await?;
        if let Some(user) = self.store.user_by_email(&email).await?.filter(User::active) {
            // The answer must not tell: a failure to send is logged, and the answer stays 202.
            match self.send_token(&user, TokenPurpose::PasswordReset, &user.email).await {
                Ok(()) => self.audit_user(req, "password_reset_requested", "sent", &user.user_id, None).await,
                Err(e) => tracing::error!(error = %e, "password reset token not sent"),
            }
        }
        // The same time with or without an account: answer no sooner than the floor.
        tokio::time::sleep(self.reset_answer_floor.saturating_sub(started.elapsed())).await;
        let message = "If an account uses this address, a reset token is on its way to it.";
        json_response(StatusCode::ACCEPTED, &accepted(message))
    }

    pub(crate) async fn confirm_password_reset(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: api::PasswordResetConfirm = json_body(req)?;
        self.limit(&CONFIRM_PER_CLIENT, &source_ip(req).unwrap_or_else(|| "unknown".into())).await?;
        check_password_policy(&body.new_password)?;
        let (token, user) = self.redeem(&body.token, TokenPurpose::PasswordReset).await?;
        let t = now();
        match self.store.reset_password(&token, &user, &self.hasher.hash(&body.new_password)?, t).await {
            Ok(()) => {}
            Err(TokenError::Store(e)) => return Err(e.into()),
            Err(_) => return Err(invalid_token()),
        }
        let sessions = self.store.revoke_all_of_user(&user.user_id, None, t).await?;
        // Every key, collar-scoped ones too: a reset means someone else may have held the
        // password, and a collar key can still read its collar's readings.
        let mut keys = 0;
        for key in self.api_keys.keys_of_user(&user.user_id).await? {
            if key.revoked {
                continue;
            }
            match self.api_keys.revoke_key(&user.user_id, &key.key_id, t).await {
                Ok(()) => keys += 1,
                Err(petty_shared::dynamo::StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
            self.auth.forget_key(&key.key_id);
        }
        self.store.clear_lockout(&user.email).await?;
        let detail = format!("sessions_revoked={sessions} api_keys_revoked={keys}");
        self.audit_user(req, "password_reset", "success", &user.user_id, Some(detail)).await;
        self.notify(&user.email, "Your Petty password was reset", "Your Petty password was just reset. Every session was ended and every API key revoked; create new keys for your apps and collars.\n\nIf this was not you, reset your password again and contact support.\n").await;
        json_response(StatusCode::OK, &api::SessionsRevoked { sessions_revoked: sessions, api_keys_revoked: keys })
    }

    pub(crate) async fn request_email_verification(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let user = self.current_user(&principal).await?;
        let to = match (&user.pending_email, user.email_verified) {
            (Some(pending), _) => pending.clone(),
            (None, false) => user.email.clone(),
            (None, true) => {
                return Err(ApiError::ConflictCode {
                    code: "already_verified",
                    message: "the address is already verified".into(),
                });
            }
        };
        self.limit(&VERIFY_PER_USER, &user.user_id).await?;
        self.send_token(&user, TokenPurpose::VerifyEmail, &to).await?;
        self.audit_user(req, "email_verification_requested", "sent", &user.user_id, None).await;
        json_response(StatusCode::ACCEPTED, &accepted("A verification token is on its way to the address."))
    }

    pub(crate) async fn confirm_email_verification(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let body: api::VerifyEmailConfirm = json_body(req)?;
        self.limit(&CONFIRM_PER_CLIENT, &source_ip(req).unwrap_or_else(|| "unknown".into())).await?;
        let (token, user) = self.redeem(&body.token, TokenPurpose::VerifyEmail).await?;
        let changed = token.email != user.email;
        match self.store.verify_email(&token, &user).await {
            Ok(()) => {}
            Err(TokenError::EmailTaken) => {
                return Err(ApiError::ConflictCode {
                    code: "email_taken",
                    message: "an account with this email already exists".into(),
                });
            }
            Err(TokenError::Store(e)) => return Err(e.into()),
            Err(TokenError::Invalid) => return Err(invalid_token()),
        }
        if changed {
            self.store.clear_lockout(&user.email).await?;
            self.audit_user(req, "email_changed", "success", &user.user_id, None).await;
            self.notify(&user.email, "Your Petty login address was changed", "The login address of your Petty account was just changed to another, verified address. If this was not you, contact support.\n").await;
        } else {
            self.audit_user(req, "email_verified", "success", &user.user_id, None).await;
        }
        let user = self.store.user_by_id(&user.user_id).await?.ok_or_else(invalid_token)?;
        json_response(StatusCode::OK, &user_view(&user))
    }

    pub(crate) async fn update_profile(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let patch: api::ProfilePatch = json_body(req)?;
        let user = self.current_user(&principal).await?;
        let mut changes: Vec<(&'static str, Option<String>)> = vec![
            (attr::NAME, patch.name.as_deref().map(check_name).transpose()?),
            (attr::TIMEZONE, patch.timezone.as_deref().map(check_timezone).transpose()?),
            (attr::LOCALE, patch.locale.as_deref().map(check_locale).transpose()?),
        ];
        let mut verify_to = None;
        if let Some(raw) = &patch.email {
            let email = normalize_email(raw)?;
            if email == user.email {
                changes.push((attr::PENDING_EMAIL, Some(String::new())));
            } else {
                if self.store.user_by_email(&email).await?.is_some() {
                    return Err(ApiError::ConflictCode {
                        code: "email_taken",
                        message: "an account with this email already exists".into(),
                    });
                }
                changes.push((attr::PENDING_EMAIL, Some(email.clone())));
                verify_to = Some(email);
            }
        }
        self.store.update_profile(&user, &changes).await?;
        let updated = self.current_user(&principal).await?;
        if let Some(to) = verify_to {
            self.limit(&VERIFY_PER_USER, &user.user_id).await?;
            self.send_token(&updated, TokenPurpose::VerifyEmail, &to).await?;
        }
        self.audit_user(req, "profile_updated", "success", &user.user_id, None).await;
        let updated = self.current_user(&principal).await?;
        json_response(StatusCode::OK, &user_view(&updated))
    }

    pub(crate) async fn sessions(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let t = now();
        let current = principal.token_family.as_deref();
        let sessions = self.store.sessions_of(&principal.user_id).await?;
        let sessions = sessions.iter().filter(|x| x.active(t)).map(|x| x.view(current)).collect();
        json_response(StatusCode::OK, &api::Sessions { sessions })
    }

    pub(crate) async fn end_session(&self, req: &Request, session_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        if !is_id(session_id) || !self.store.revoke_session_of_user(&principal.user_id, session_id, now()).await? {
            return Err(ApiError::NotFound("no such session".into()));
        }
        self.audit_user(req, "session_ended", "success", &principal.user_id, Some(session_id.to_owned())).await;
        Ok(no_content())
    }

    pub(crate) async fn logout_all(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let revoked = self.store.revoke_all_of_user(&principal.user_id, None, now()).await?;
        self.audit_user(req, "logout_all", "success", &principal.user_id, Some(format!("sessions_revoked={revoked}")))
            .await;
        json_response(StatusCode::OK, &api::SessionsRevoked { sessions_revoked: revoked, api_keys_revoked: 0 })
    }

    pub(crate) async fn delete_account(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let body: api::DeleteAccount = json_body(req)?;
        let user = self.current_user(&principal).await?;
        self.check_password(&user.email, Some(&user), &body.password, req, "account_delete", wrong_password).await?;
        let t = now();
        let erasure_id = uuid::Uuid::new_v4().to_string();
        let record = serde_json::json!({"erasure_id": erasure_id, "status": "queued", "requested_at": t});
        self.store.put_erasure(&user.user_id, &record, t + ERASURE_RECORD_DAYS * 86_400).await?;
        // Queued before the account closes: a closed account always has its job.
        let job = AccountJob::Erase { user_id: user.user_id.clone(), erasure_id: erasure_id.clone() };
        self.outbox.enqueue(JobQueue::Erasure, &serde_json::to_value(&job).expect("serializable")).await?;
        self.store.mark_deleted(&user, t).await?;
        let sessions = self.store.revoke_all_of_user(&user.user_id, None, t).await?;
        self.audit_user(
            req,
            "account_deleted",
            "erasing",
            &user.user_id,
            Some(format!("erasure_id={erasure_id} sessions_revoked={sessions}")),
        )
        .await;
        json_response(StatusCode::ACCEPTED, &api::AccountDeleted { status: "erasing".into(), erasure_id })
    }

    pub(crate) async fn start_export(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let user = self.current_user(&principal).await?;
        self.limit(&EXPORT_PER_USER, &user.user_id).await?;
        let t = now();
        let export = api::Export {
            export_id: uuid::Uuid::new_v4().to_string(),
            status: api::ExportStatus::Pending,
            created_at: t,
            completed_at: None,
            url: None,
            url_expires_at: None,
            size_bytes: None,
            counts: None,
            error: None,
            expires_at: t + EXPORT_RETENTION_DAYS * 86_400,
        };
        self.store.put_export(&user.user_id, &export).await?;
        let job = AccountJob::Export { user_id: user.user_id.clone(), export_id: export.export_id.clone() };
        self.outbox.enqueue(JobQueue::Export, &serde_json::to_value(&job).expect("serializable")).await?;
        self.audit_user(req, "export_requested", "queued", &user.user_id, Some(export.export_id.clone())).await;
        json_response(StatusCode::ACCEPTED, &export)
    }

    pub(crate) async fn export_status(&self, req: &Request, export_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.account_owner(req).await?;
        let not_found = || ApiError::NotFound("no such export".into());
        if !is_id(export_id) {
            return Err(not_found());
        }
        let mut export = self.store.export(&principal.user_id, export_id).await?.ok_or_else(not_found)?;
        if export.status == api::ExportStatus::Ready {
            export.url = Some(self.outbox.presign(&export_object_key(&principal.user_id, export_id)).await?);
            export.url_expires_at = Some(now() + EXPORT_LINK_TTL.as_secs() as i64);
        }
        json_response(StatusCode::OK, &export)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_their_purpose() {
        let a = new_token(TokenPurpose::PasswordReset);
        let b = new_token(TokenPurpose::PasswordReset);
        assert!(a.starts_with("prst_") && a.len() == 5 + 43, "{a}");
        assert_ne!(a, b);
        assert!(new_token(TokenPurpose::VerifyEmail).starts_with("pver_"));
    }

    #[test]
    fn profile_fields_are_validated() {
        assert_eq!(check_timezone("Europe/Paris").unwrap(), "Europe/Paris");
        assert!(check_timezone("Mars/Olympus").is_err());
        assert!(check_timezone("").is_err());
        assert_eq!(check_locale("fr-CH").unwrap(), "fr-CH");
        assert!(check_locale("f").is_err() && check_locale("en_US").is_err() && check_locale("en-").is_err());
        assert_eq!(check_name("  Rex's owner ").unwrap(), "Rex's owner");
        assert!(check_name(&"x".repeat(101)).is_err());
        assert!(is_id("0b7c1c1e-4f7e-4b1a-9d43-6f1f1f1f1f1f") && !is_id("../x") && !is_id(""));
    }
}
