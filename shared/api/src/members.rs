//! Households (served by the households function): who shares a collar, with which role, and
//! the invitations that bring them in.

use serde::{Deserialize, Serialize};

/// What a person may do with a collar. Exactly one owner; caregivers and viewers are members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Caregiver,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Caregiver => "caregiver",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "caregiver" => Some(Role::Caregiver),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /v1/collars/{collar_id}/members`: invite someone by e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteMember {
    pub email: String,
    /// `caregiver` or `viewer` (a collar has one owner; ownership moves by transfer).
    pub role: Role,
    /// When the membership ends by itself (RFC 3339, in the future, within a year).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// What an invitation answers (the token goes only to the invited address).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub collar_id: String,
    pub email: String,
    pub role: Role,
    /// When the membership will end, if it does.
    pub expires_at: Option<String>,
    /// The invitation's own deadline (7 days).
    pub valid_until: String,
}

/// `POST /v1/invitations/accept`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
}

/// One person of a household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub role: Role,
    /// Shown to the owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When they joined (the owner: when the collar became theirs).
    pub since: String,
    /// When the membership ends by itself; `null` when it does not (always for the owner).
    pub expires_at: Option<String>,
}

/// `GET /v1/collars/{collar_id}/members`, and the answer to accept, update and transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    pub collar_id: String,
    /// The caller's own role.
    pub role: Role,
    /// The owner first, then members by when they joined.
    pub members: Vec<Member>,
}

/// `PATCH /v1/collars/{collar_id}/members/{user_id}`: at least one field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// A new end (RFC 3339), or `null` for none; absent leaves it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub expires_at: Option<Option<String>>,
}

/// `POST /v1/collars/{collar_id}/transfer`: hand ownership to a caregiver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferCollar {
    pub user_id: String,
}

/// What a transfer answers: the collar is the new owner's; the caller's access ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transferred {
    pub collar_id: String,
    /// The new owner.
    pub owner_user_id: String,
    pub transferred_at: String,
}

/// `null` and absent told apart (absent: leave as is; `null`: clear).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().and_then(Option::as_ref).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_tells_null_from_absent() {
        let absent: UpdateMember = serde_json::from_str(r#"{"role":"viewer"}"#).unwrap();
        assert_eq!(absent.expires_at, None);
        let cleared: UpdateMember = serde_json::from_str(r#"{"expires_at":null}"#).unwrap();
        assert_eq!(cleared.expires_at, Some(None));
        let set: UpdateMember = serde_json::from_str(r#"{"expires_at":"2027-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(set.expires_at, Some(Some("2027-01-01T00:00:00Z".into())));
        assert!(serde_json::from_str::<UpdateMember>(r#"{"role":"owner","x":1}"#).is_err());
    }

    #[test]
    fn roles_are_lowercase() {
        assert_eq!(serde_json::to_string(&Role::Caregiver).unwrap(), "\"caregiver\"");
        assert!(serde_json::from_str::<Role>("\"admin\"").is_err());
        for r in [Role::Owner, Role::Caregiver, Role::Viewer] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
