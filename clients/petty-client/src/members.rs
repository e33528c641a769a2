//! Households: a collar shared with people in roles (the households function's routes, for a
//! user's session; an API key is refused there). The owner invites by e-mail, changes and
//! removes members, and transfers the collar to a caregiver; a member may leave.
//!
//! Not retried unless the route is idempotent: an invitation resent would mail a second token,
//! an accept resent would fail on the spent token, a transfer resent would be refused (the
//! collar is no longer the caller's), hiding the first answer.

use reqwest::Method;

use super::types::{
    AcceptInvitation, Invitation, InviteMember, Member, MemberList, Role, TransferCollar, Transferred, UpdateMember,
};
use super::{Call, Client, Error, segment};

impl Client {
    /// Invites `email` to the collar's household as `role` (a caregiver or a viewer), the
    /// membership ending by itself at `expires_at` (RFC 3339) if given. 201; the token goes to
    /// the address only.
    pub async fn invite_member(
        &self,
        collar_id: &str,
        email: &str,
        role: Role,
        expires_at: Option<&str>,
    ) -> Result<Invitation, Error> {
        let path = format!("v1/collars/{}/members", segment(collar_id)?);
        let body = InviteMember { email: email.to_owned(), role, expires_at: expires_at.map(str::to_owned) };
        self.json(Call::new(Method::POST, &path).json(&body)?).await
    }

    /// The collar's household: the caller's own role, the owner first, then the members by when
    /// they joined (e-mail addresses for the owner only).
    pub async fn members(&self, collar_id: &str) -> Result<MemberList, Error> {
        let path = format!("v1/collars/{}/members", segment(collar_id)?);
        self.json(Call::new(Method::GET, &path)).await
    }

    /// Changes a member's role and/or end: `update.expires_at` `Some(None)` sends `null` (no
    /// end), `None` leaves it out (unchanged). The answer is the member as now stored.
    pub async fn update_member(&self, collar_id: &str, user_id: &str, update: &UpdateMember) -> Result<Member, Error> {
        let path = member_path(collar_id, user_id)?;
        self.json(Call::new(Method::PATCH, &path).json(update)?).await
    }

    /// Removes a member (204); the caller's own id leaves the household. No such member is a 404.
    pub async fn remove_member(&self, collar_id: &str, user_id: &str) -> Result<(), Error> {
        let path = member_path(collar_id, user_id)?;
        self.send(Call::new(Method::DELETE, &path)).await.map(|_| ())
    }

    /// Accepts an invitation with the e-mailed token (the caller's verified address must be the
    /// invited one); the answer is the household joined.
    pub async fn accept_invitation(&self, token: &str) -> Result<MemberList, Error> {
        let body = AcceptInvitation { token: token.to_owned() };
        self.json(Call::new(Method::POST, "v1/invitations/accept").json(&body)?).await
    }

    /// Hands the collar to `user_id`, a current caregiver; the caller's access ends and every
    /// membership of the household with it.
    pub async fn transfer_collar(&self, collar_id: &str, user_id: &str) -> Result<Transferred, Error> {
        let path = format!("v1/collars/{}/transfer", segment(collar_id)?);
        let body = TransferCollar { user_id: segment(user_id)?.to_owned() };
        self.json(Call::new(Method::POST, &path).json(&body)?).await
    }
}

fn member_path(collar_id: &str, user_id: &str) -> Result<String, Error> {
    Ok(format!("v1/collars/{}/members/{}", segment(collar_id)?, segment(user_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_check_both_ids() {
        assert_eq!(
            member_path("DM-000001", "6f1c2b7a-9d8e-4f60-a1b2-c3d4e5f60718").unwrap(),
            "v1/collars/DM-000001/members/6f1c2b7a-9d8e-4f60-a1b2-c3d4e5f60718"
        );
        assert!(matches!(member_path("DM-000001", "a/b"), Err(Error::Invalid(_))));
        assert!(matches!(member_path("DM/1", "u1"), Err(Error::Invalid(_))));
        assert!(matches!(member_path("DM-000001", ""), Err(Error::Invalid(_))));
    }
}
