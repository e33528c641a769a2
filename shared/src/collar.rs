//! A collar and the pet wearing it: the profile owners send and the rules it must meet, the
//! stored collar, and the one ownership check every data route makes.
//!
//! Stored in the collars table: `collar_id` → `owner_id`, `pet` (JSON), `created_at` (the
//! claim, Unix s), `updated_at`; GSI `owner_id-index`.

use aws_sdk_dynamodb::Client;

use crate::auth::Principal;
use crate::dynamo::{Item, StoreError, get_n, get_s, s, sdk_err};
use crate::http::ApiError;
use crate::ids::is_collar_id;

/// The pet profile and its rules are wire types: defined once in `petty_api`, re-exported
/// here for the functions that store and check them.
pub use petty_api::collars::{ActivityProfile, Pet, Species, WEIGHT_KG};

/// A claimed collar.
#[derive(Clone, Debug, PartialEq)]
pub struct Collar {
    pub collar_id: String,
    pub owner_id: String,
    pub pet: Pet,
    /// When this owner claimed it (Unix s): readings before it may be a previous owner's.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Collar {
    /// The earliest reading time (Unix ms) this owner may see: the claim, less the clock skew
    /// a collar is allowed (readings are timed by the collar).
    pub fn visible_from_ms(&self) -> i64 {
        (self.created_at - CLOCK_SKEW_S) * 1000
    }
}

/// How far a collar's clock may run ahead of ours (the ingestion rule, seconds).
pub const CLOCK_SKEW_S: i64 = 5 * 60;

/// A stored collar item back as a [`Collar`]; `None` when it is malformed.
pub fn collar_from(item: &Item) -> Option<Collar> {
    Some(Collar {
        collar_id: get_s(item, "collar_id")?,
        owner_id: get_s(item, "owner_id")?,
        pet: serde_json::from_str(&get_s(item, "pet")?).ok()?,
        created_at: get_n(item, "created_at").unwrap_or_default(),
        updated_at: get_n(item, "updated_at").unwrap_or_default(),
    })
}

/// Reads collars: the ownership check of every data route (one consistent `GetItem`).
#[derive(Clone, Debug)]
pub struct CollarReader {
    client: Client,
    table: String,
}

impl CollarReader {
    /// Over the collars table.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The collar, whoever owns it.
    pub async fn get(&self, collar_id: &str) -> Result<Option<Collar>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(collar_from))
    }

    /// The collar if `principal` may see it: another owner's collar is a 404, exactly like a
    /// collar that does not exist (and a malformed id); an API key limited to other collars
    /// is a 403.
    pub async fn owned(&self, principal: &Principal, collar_id: &str) -> Result<Collar, ApiError> {
        if !is_collar_id(collar_id) {
            return Err(not_found());
        }
        principal.require_collar(collar_id)?;
        match self.get(collar_id).await? {
            Some(c) if c.owner_id == principal.user_id => Ok(c),
            _ => Err(not_found()),
        }
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
