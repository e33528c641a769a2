//! The one access check every data route makes on a collar: [`access`] answers who the
//! caller is to the collar (owner, caregiver, viewer) and whether that role may do what the
//! route needs. No access at all is a 404, exactly like a collar that does not exist (and a
//! malformed id): a stranger learns nothing. A member without the right is a 403; an API key
//! limited to other collars is a 403.
//!
//! Cost per request: the collar's `GetItem`, as before households; for a caller who is not
//! the owner one more consistent `GetItem` of their membership. Nothing is cached, so a
//! removed or expired member loses access on their next request.

use std::future::Future;

use crate::auth::{Principal, PrincipalKind};
use crate::dynamo::StoreError;
use crate::http::ApiError;
use crate::tables::collars::CollarsTable;
use crate::tables::members::Membership;

pub use crate::tables::collars::{CLOCK_SKEW_S, Collar, new_household};
/// The pet profile and its rules are wire types: defined once in `petty_api`.
pub use petty_api::collars::{ActivityProfile, Pet, Species, WEIGHT_KG, is_collar_id};
pub use petty_api::members::Role;

/// Finding a collar by id, whoever owns it, and its household.
pub trait CollarLookup: Send + Sync {
    /// The collar, if claimed.
    fn collar(&self, collar_id: &str) -> impl Future<Output = Result<Option<Collar>, StoreError>> + Send;
    /// `user_id`'s stored membership of the collar, in whatever state.
    fn membership(
        &self,
        collar_id: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<Membership>, StoreError>> + Send;
    /// Every stored membership of the collar.
    fn members(&self, collar_id: &str) -> impl Future<Output = Result<Vec<Membership>, StoreError>> + Send;
}

impl CollarLookup for CollarsTable {
    async fn collar(&self, collar_id: &str) -> Result<Option<Collar>, StoreError> {
        CollarsTable::collar(self, collar_id).await
    }
    async fn membership(&self, collar_id: &str, user_id: &str) -> Result<Option<Membership>, StoreError> {
        match self.members_table() {
            Some(m) => m.membership(collar_id, user_id).await,
            // A function not given the members table knows only owners (fails closed).
            None => Ok(None),
        }
    }
    async fn members(&self, collar_id: &str) -> Result<Vec<Membership>, StoreError> {
        match self.members_table() {
            Some(m) => m.members(collar_id).await,
            None => Ok(Vec::new()),
        }
    }
}

/// What a route needs to do with a collar (the roles table in the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Readings, realtime, timeline, plan, summaries, zones and alerts as they are.
    Read,
    /// Verdicts on the timeline (each member's own).
    Feedback,
    /// Zones, alert settings, the pet profile, acknowledging alerts.
    ManageAlerts,
    /// Members, API keys, ingest, release and transfer: the owner's alone.
    ManageMembers,
}

impl Need {
    /// Whether `role` has this right.
    pub fn allowed(self, role: Role) -> bool {
        match role {
            Role::Owner => true,
            Role::Caregiver => self != Need::ManageMembers,
            Role::Viewer => self == Need::Read,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Need::Read => "see this collar",
            Need::Feedback => "give feedback on this collar's timeline",
            Need::ManageAlerts => "change this collar's zones, alert settings or pet profile",
            Need::ManageMembers => "manage this collar's household, keys or ownership",
        }
    }
}

/// A collar and who the caller is to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Access {
    pub collar: Collar,
    pub role: Role,
}

/// The caller's role on a collar of `household`, if any, at `now_s`; `None` is no access.
pub fn role_of(collar: &Collar, membership: Option<&Membership>, user_id: &str, now_s: i64) -> Option<Role> {
    if collar.owner_id == user_id {
        return Some(Role::Owner);
    }
    membership.filter(|m| m.user_id == user_id && m.active(&collar.household, now_s)).map(|m| m.role)
}

/// The collar if `principal` may do `need` with it (see the module doc). API keys are the
/// owner's tool: a key acts only on collars its user owns.
pub async fn access<L: CollarLookup>(
    lookup: &L,
    principal: &Principal,
    collar_id: &str,
    need: Need,
) -> Result<Access, ApiError> {
    if !is_collar_id(collar_id) {
        return Err(not_found());
    }
    principal.require_collar(collar_id)?;
    let collar = lookup.collar(collar_id).await?.ok_or_else(not_found)?;
    let membership = if collar.owner_id == principal.user_id || principal.kind == PrincipalKind::ApiKey {
        None
    } else {
        lookup.membership(collar_id, &principal.user_id).await?
    };
    let now_s = chrono::Utc::now().timestamp();
    let role = role_of(&collar, membership.as_ref(), &principal.user_id, now_s).ok_or_else(not_found)?;
    if !need.allowed(role) {
        return Err(ApiError::Forbidden(format!("a {role} may not {}", need.what())));
    }
    Ok(Access { collar, role })
}

/// Who hears about the collar's alerts: the owner and every member whose membership counts
/// now, each once (each by their own notification settings).
pub async fn recipients<L: CollarLookup>(lookup: &L, collar: &Collar, now_s: i64) -> Result<Vec<String>, StoreError> {
    let mut out = vec![collar.owner_id.clone()];
    for m in lookup.members(&collar.collar_id).await? {
        if m.active(&collar.household, now_s) && !out.contains(&m.user_id) {
            out.push(m.user_id);
        }
    }
    Ok(out)
}

/// The one answer for a collar the caller may not see.
pub fn not_found() -> ApiError {
    ApiError::NotFound("no such collar".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2025, 8, 18).unwrap()
    }

    fn pet(v: serde_json::Value) -> Result<Pet, String> {
        let p: Pet = serde_json::from_value(v).map_err(|e| e.to_string())?;
        p.validate(today()).map(|_| p)
    }

    #[test]
    fn rights_follow_the_roles_table() {
        use Need::*;
        let table = [
            (Role::Owner, [true, true, true, true]),
            (Role::Caregiver, [true, true, true, false]),
            (Role::Viewer, [true, false, false, false]),
        ];
        for (role, rights) in table {
            let got = [Read, Feedback, ManageAlerts, ManageMembers].map(|n| n.allowed(role));
            assert_eq!(got, rights, "{role}");
        }
    }

    fn collar(owner: &str, household: &str) -> Collar {
        Collar {
            collar_id: "DM-000001".into(),
            owner_id: owner.into(),
            pet: pet(json!({"name": "Rex", "species": "dog", "weight_kg": 3})).unwrap(),
            created_at: 0,
            updated_at: 0,
            visible_from: 0,
            household: household.into(),
        }
    }

    fn member(user: &str, household: &str, ends_at: Option<i64>) -> Membership {
        Membership {
            collar_id: "DM-000001".into(),
            user_id: user.into(),
            role: Role::Viewer,
            household: household.into(),
            joined_ms: 0,
            invited_by: "o".into(),
            ends_at,
        }
    }

    #[test]
    fn a_membership_counts_in_its_household_until_its_end() {
        let c = collar("o", "h1");
        assert_eq!(role_of(&c, None, "o", 100), Some(Role::Owner));
        assert_eq!(role_of(&c, None, "v", 100), None);
        assert_eq!(role_of(&c, Some(&member("v", "h1", None)), "v", 100), Some(Role::Viewer));
        assert_eq!(role_of(&c, Some(&member("v", "h1", Some(101))), "v", 100), Some(Role::Viewer));
        assert_eq!(role_of(&c, Some(&member("v", "h1", Some(100))), "v", 100), None, "ended at its end");
        assert_eq!(role_of(&c, Some(&member("v", "h0", None)), "v", 100), None, "an earlier household");
        assert_eq!(role_of(&c, Some(&member("x", "h1", None)), "v", 100), None, "someone else's");
    }

    #[test]
    fn valid_profiles() {
        let p = pet(json!({"name": "Rex", "species": "dog", "weight_kg": 30.5, "activity_profile": "active", "birth_date": "2020-02-29"})).unwrap();
        assert_eq!((p.species, p.activity_profile), (Species::Dog, Some(ActivityProfile::Active)));
        assert!(pet(json!({"name": "Tom", "species": "cat", "weight_kg": 0.1})).is_ok());
        assert!(pet(json!({"name": "Tom", "species": "cat", "weight_kg": 150.0})).is_ok());
    }

    #[test]
    fn invalid_profiles_name_the_field() {
        for (v, field) in [
            (json!({"name": "", "species": "dog", "weight_kg": 3}), "name"),
            (json!({"name": "x".repeat(51), "species": "dog", "weight_kg": 3}), "name"),
            (json!({"name": "Rex", "species": "parrot", "weight_kg": 3}), "parrot"),
            (json!({"name": "Rex", "species": "dog", "weight_kg": 0.09}), "weight_kg"),
            (json!({"name": "Rex", "species": "dog", "weight_kg": 150.1}), "weight_kg"),
            (json!({"name": "Rex", "species": "dog", "weight_kg": 3, "birth_date": "2025-08-19"}), "birth_date"),
            (json!({"name": "Rex", "species": "dog", "weight_kg": 3, "birth_date": "18/08/2020"}), "birth_date"),
            (json!({"name": "Rex", "species": "dog", "weight_kg": 3, "colour": "red"}), "colour"),
            (json!({"name": "Rex", "species": "dog", "weight_kg": 3, "activity_profile": "lazy"}), "lazy"),
        ] {
            let err = pet(v.clone()).unwrap_err();
            assert!(err.contains(field), "{v}: {err}");
        }
    }
}
