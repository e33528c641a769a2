//! The one access check every data route makes on a collar: another owner's collar is a 404,
//! exactly like a collar that does not exist (and a malformed id); an API key limited to
//! other collars is a 403.

use std::future::Future;

use crate::auth::Principal;
use crate::dynamo::StoreError;
use crate::http::ApiError;
use crate::tables::collars::CollarsTable;

pub use crate::tables::collars::{CLOCK_SKEW_S, Collar};
/// The pet profile and its rules are wire types: defined once in `petty_api`.
pub use petty_api::collars::{ActivityProfile, Pet, Species, WEIGHT_KG, is_collar_id};

/// Finding a collar by id, whoever owns it.
pub trait CollarLookup: Send + Sync {
    /// The collar, if claimed.
    fn collar(&self, collar_id: &str) -> impl Future<Output = Result<Option<Collar>, StoreError>> + Send;
}

impl CollarLookup for CollarsTable {
    async fn collar(&self, collar_id: &str) -> Result<Option<Collar>, StoreError> {
        CollarsTable::collar(self, collar_id).await
    }
}

/// The collar if `principal` may see it (see the module doc).
pub async fn owned<L: CollarLookup>(lookup: &L, principal: &Principal, collar_id: &str) -> Result<Collar, ApiError> {
    if !is_collar_id(collar_id) {
        return Err(not_found());
    }
    principal.require_collar(collar_id)?;
    match lookup.collar(collar_id).await? {
        Some(c) if c.owner_id == principal.user_id => Ok(c),
        _ => Err(not_found()),
    }
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
