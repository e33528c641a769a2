//! Who is calling: the principal every data route authorises against.
//!
//! The foundation accepts bearer JWTs; API keys (`X-Api-Key`) join when the auth function
//! lands, through the same [`Principal`].

use lambda_http::Request;

use crate::http::{ApiError, bearer_token};
use crate::jwt::{TokenType, Verifier};
use crate::secrets::SecretSource;

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    ApiKey,
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub scopes: Vec<String>,
    pub kind: PrincipalKind,
    /// For API keys limited to some collars; empty means not limited.
    pub collar_ids: Vec<String>,
}

impl Principal {
    /// 403 unless the principal holds `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the `{scope}` scope is required")))
        }
    }
}

/// Verifies the request's bearer access token: 401 when missing or invalid.
pub async fn authenticate<S: SecretSource>(verifier: &Verifier<S>, req: &Request) -> Result<Principal, ApiError> {
    let token = bearer_token(req)?;
    let claims = verifier.verify(token, TokenType::Access).await.inspect_err(|err| {
        tracing::info!(reason = %err, "bearer token rejected");
    })?;
    Ok(Principal { user_id: claims.sub, scopes: claims.scopes, kind: PrincipalKind::User, collar_ids: vec![] })
}
