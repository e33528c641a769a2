//! Collars and the pets wearing them (the data processor's `/v1/collars` routes). The pet
//! profile and the collar id format live here because owners send them and every function
//! checks them the same way.

use serde::{Deserialize, Serialize};

/// True for a collar id as collars print it: two capital letters, a dash, 3 to 6 digits
/// (`^[A-Z]{2}-\d{3,6}$`).
pub fn is_collar_id(id: &str) -> bool {
    let b = id.as_bytes();
    (6..=9).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2] == b'-'
        && b[3..].iter().all(u8::is_ascii_digit)
}

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
    /// The pet's IANA time zone (`Europe/Berlin`): its days start at local midnight and zones'
    /// active hours are in it. A claim without one takes the owner's account zone; absent: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
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
    /// The pet's time zone (UTC when unset or, for a profile stored before the rule, unknown).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.as_deref().and_then(|tz| tz.parse().ok()).unwrap_or(chrono_tz::UTC)
    }

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
        if self.timezone.as_deref().is_some_and(|tz| tz.parse::<chrono_tz::Tz>().is_err()) {
            return Err("pet.timezone must be an IANA time zone, e.g. Europe/Berlin".into());
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

/// `POST /v1/collars`: claim a collar for its pet with the code printed in its box.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimCollar {
    pub collar_id: String,
    /// `7KQ4-M2XD-9HTR-B5N8`: case, spaces and dashes do not matter.
    pub claim_code: String,
    pub pet: Pet,
}

/// The pet fields a `PATCH` may change; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PetPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breed: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_profile: Option<ActivityProfile>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// `PATCH /v1/collars/{collar_id}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCollar {
    pub pet: PetPatch,
}

/// A collar and its pet, as its owner sees it (never the owner id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Collar {
    pub collar_id: String,
    pub pet: Pet,
    /// The caller's role: `owner`, or `caregiver`/`viewer` for a collar shared with them.
    pub role: crate::members::Role,
    /// When this owner claimed it (RFC 3339).
    pub claimed_at: String,
    pub updated_at: String,
    /// Fleet status from the collar's latest reading of this ownership (`null` before one):
    /// when it was last heard from, its battery and its firmware.
    #[serde(default)]
    pub last_seen_at: Option<String>,
    #[serde(default)]
    pub battery_pct: Option<f64>,
    #[serde(default)]
    pub firmware: Option<String>,
}

/// One page of `GET /v1/collars`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollarPage {
    pub collars: Vec<Collar>,
    /// Opaque and tamper-evident; `null` on the last page.
    pub next_cursor: Option<String>,
}
