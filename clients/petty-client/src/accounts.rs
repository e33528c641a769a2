//! Keeping and closing an account (the auth function's account routes): password change and
//! reset, e-mail verification, the profile, sessions, deletion and the data export.
//!
//! Not retried unless the route is idempotent: a reset request resent would mail a second
//! token (invalidating the first), a change or confirm resent would fail on the spent token.

use reqwest::Method;

use super::types::{
    Accepted, AccountDeleted, ChangePassword, DeleteAccount, Export, PasswordReset, PasswordResetConfirm, ProfilePatch,
    Sessions, SessionsRevoked, User, VerifyEmailConfirm,
};
use super::{Call, Client, Error, segment};

impl Client {
    /// Changes the password; every other session ends (the answer says how many).
    pub async fn change_password(&self, current: &str, new: &str) -> Result<SessionsRevoked, Error> {
        let body = ChangePassword { current_password: current.to_owned(), new_password: new.to_owned() };
        self.json(Call::new(Method::POST, "v1/auth/password").json(&body)?).await
    }

    /// Asks for a reset token by e-mail: always 202 with the same answer.
    pub async fn request_password_reset(&self, email: &str) -> Result<Accepted, Error> {
        let body = PasswordReset { email: email.to_owned() };
        self.json(Call::new(Method::POST, "v1/auth/password-reset").anonymous().json(&body)?).await
    }

    /// Sets a new password with the e-mailed token; every session and API key of the account ends.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<SessionsRevoked, Error> {
        let body = PasswordResetConfirm { token: token.to_owned(), new_password: new_password.to_owned() };
        self.json(Call::new(Method::POST, "v1/auth/password-reset/confirm").anonymous().json(&body)?).await
    }

    /// Mails a verification token to the account's address (or to the pending new one).
    pub async fn request_email_verification(&self) -> Result<Accepted, Error> {
        self.json(Call::new(Method::POST, "v1/auth/verify-email")).await
    }

    /// Confirms the address with the e-mailed token; the answer is the updated profile.
    pub async fn confirm_email_verification(&self, token: &str) -> Result<User, Error> {
        let body = VerifyEmailConfirm { token: token.to_owned() };
        self.json(Call::new(Method::POST, "v1/auth/verify-email/confirm").json(&body)?).await
    }

    /// Changes the name, time zone, locale or (through verification) the e-mail address.
    pub async fn update_profile(&self, patch: &ProfilePatch) -> Result<User, Error> {
        self.json(Call::new(Method::PATCH, "v1/auth/me").json(patch)?).await
    }

    /// The caller's active sessions (`current` marks this one).
    pub async fn sessions(&self) -> Result<Sessions, Error> {
        self.json(Call::new(Method::GET, "v1/auth/sessions")).await
    }

    /// Ends one session (204); another user's or an unknown one is a 404.
    pub async fn end_session(&self, session_id: &str) -> Result<(), Error> {
        let path = format!("v1/auth/sessions/{}", segment(session_id)?);
        self.send(Call::new(Method::DELETE, &path)).await.map(|_| ())
    }

    /// Ends every session of the account, this one included, and forgets it here.
    pub async fn logout_all(&self) -> Result<SessionsRevoked, Error> {
        let ended = self.json(Call::new(Method::POST, "v1/auth/logout-all")).await?;
        self.set_credentials(super::Credentials::None);
        Ok(ended)
    }

    /// Erases the account (202; the erasure runs as a job) and forgets the session.
    pub async fn delete_account(&self, password: &str) -> Result<AccountDeleted, Error> {
        let body = DeleteAccount { password: password.to_owned() };
        // Not retried: once the first attempt is through, the account is gone and a second
        // would be refused, hiding the first answer.
        let mut call = Call::new(Method::DELETE, "v1/auth/me").json(&body)?;
        call.idempotent = false;
        let deleted = self.json(call).await?;
        self.set_credentials(super::Credentials::None);
        Ok(deleted)
    }

    /// Starts an export of the caller's data (202, `pending`).
    pub async fn start_export(&self) -> Result<Export, Error> {
        self.json(Call::new(Method::POST, "v1/auth/export")).await
    }

    /// An export's status; when `ready`, a presigned `url` valid for 15 minutes.
    pub async fn export(&self, export_id: &str) -> Result<Export, Error> {
        let path = format!("v1/auth/export/{}", segment(export_id)?);
        self.json(Call::new(Method::GET, &path)).await
    }
}
