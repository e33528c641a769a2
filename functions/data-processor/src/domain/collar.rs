//! A collar and the pet wearing it: what owners send and the rules it must meet.

use serde::{Deserialize, Serialize};

/// The pet's profile, as owners describe it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pet {
    pub name: String,
    pub species: Species,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breed: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    pub weight_kg: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_profile: Option<ActivityProfile>,
}

/// Species Petty's models know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Species {
    Dog,
    Cat,
}

/// The energy profile the pet plan's factor comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityProfile {
    WeightLoss,
    Inactive,
    Typical,
    Active,
    Working,
}

/// Weight bounds, kg (a kitten to a mastiff).
pub const WEIGHT_KG: std::ops::RangeInclusive<f64> = 0.1..=150.0;

fn text_ok(s: &str, max: usize) -> bool {
    let t = s.trim();
    !t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)
}

impl Pet {
    /// Checks the profile; `Err` names the field.
    pub fn validate(&self, today: chrono::NaiveDate) -> Result<(), String> {
        if !text_ok(&self.name, 50) {
            return Err("pet.name must be 1 to 50 printable characters".into());
        }
        if self.breed.as_deref().is_some_and(|b| !text_ok(b, 50)) {
            return Err("pet.breed must be 1 to 50 printable characters".into());
        }
        if !WEIGHT_KG.contains(&self.weight_kg) {
            return Err("pet.weight_kg must be from 0.1 to 150".into());
        }
        if let Some(date) = &self.birth_date {
            let parsed = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| "pet.birth_date must be YYYY-MM-DD".to_owned())?;
            if parsed > today || parsed < today - chrono::Days::new(40 * 365) {
                return Err("pet.birth_date must be in the last 40 years".into());
            }
        }
        Ok(())
    }
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
