//! Safe zones, alert settings and alerts (the alerts function's routes).
//!
//! The rules that check a zone's geometry and raise alerts live in `petty-alert-rules`; these
//! are the shapes on the wire, with the bounds a client can check before sending.

use serde::{Deserialize, Serialize};

use crate::ingest::Point;

/// Most zones per collar.
pub const MAX_ZONES: usize = 10;
/// A circle's radius bounds, metres.
pub const RADIUS_M: std::ops::RangeInclusive<f64> = 20.0..=5_000.0;
/// Positions in a polygon's ring (closed: the first repeated last).
pub const RING_POSITIONS: std::ops::RangeInclusive<usize> = 4..=50;
/// Longest zone name, characters.
pub const ZONE_NAME_MAX: usize = 50;

/// `zone_id`: `[a-z0-9-]{1,32}`, but not `-` alone (it stands for "no zone" inside alert ids).
pub fn is_zone_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id != "-"
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `PUT /v1/collars/{collar_id}/zones/{zone_id}`: a circle (`center` and `radius_m`) or a
/// `polygon`, exactly one of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    /// `[lon, lat]`, degrees (circle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<Vec<f64>>,
    /// 20 to 5,000 metres (circle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<f64>,
    /// A GeoJSON Polygon with one closed ring of 4 to 50 `[lon, lat]` positions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polygon: Option<Polygon>,
    /// When the zone is watched, in the pet's time zone; absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_hours: Option<ActiveHours>,
}

/// A GeoJSON Polygon (only its outer ring is used; holes are refused).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Polygon {
    /// Always `Polygon`.
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: Vec<Vec<Vec<f64>>>,
}

/// Local hours `from` (inclusive) to `to` (exclusive), `HH:MM`; `22:00`–`07:00` spans
/// midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveHours {
    pub from: String,
    pub to: String,
}

/// A stored zone, as `GET /v1/collars/{collar_id}/zones` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub zone_id: String,
    #[serde(flatten)]
    pub spec: ZoneSpec,
    pub updated_at: String,
}

/// `GET /v1/collars/{collar_id}/zones`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneList {
    pub zones: Vec<Zone>,
}

/// Every alert type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    /// Outside every active zone, confirmed by two fixes beyond their accuracy.
    ZoneExit,
    /// Heart rate above the resting baseline by the model's elevated factor, at rest, sustained.
    HeartRateHighAtRest,
    /// Temperature above the species' band for several readings.
    TemperatureHigh,
    /// Temperature below the species' band for several readings.
    TemperatureLow,
    /// Battery below the collar's setting, once per discharge.
    BatteryLow,
    /// No reading for the collar's setting, found by the sweep.
    CollarOffline,
}

impl AlertType {
    pub const ALL: [AlertType; 6] = [
        AlertType::ZoneExit,
        AlertType::HeartRateHighAtRest,
        AlertType::TemperatureHigh,
        AlertType::TemperatureLow,
        AlertType::BatteryLow,
        AlertType::CollarOffline,
    ];

    /// The wire name (also the EMF `type` dimension and part of alert ids).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::ZoneExit => "zone_exit",
            AlertType::HeartRateHighAtRest => "heart_rate_high_at_rest",
            AlertType::TemperatureHigh => "temperature_high",
            AlertType::TemperatureLow => "temperature_low",
            AlertType::BatteryLow => "battery_low",
            AlertType::CollarOffline => "collar_offline",
        }
    }

    pub fn parse(s: &str) -> Option<AlertType> {
        AlertType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An alert's lifecycle: `open` → `acknowledged` (by the owner) → `resolved` (by the
/// condition clearing); an open alert may also resolve unacknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        [AlertStatus::Open, AlertStatus::Acknowledged, AlertStatus::Resolved].into_iter().find(|x| x.as_str() == s)
    }
}

/// The reading that confirmed an alert (position as `GET /v1/realtime` shows it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertReading {
    pub timestamp: String,
    pub location: Point,
    pub heart_rate: u16,
    pub activity_level: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// One alert, as `GET /v1/alerts` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic: the same condition confirmed by the same reading is the same alert.
    pub alert_id: String,
    #[serde(rename = "type")]
    pub kind: AlertType,
    pub status: AlertStatus,
    pub collar_id: String,
    /// `zone_exit` only: the zone the pet left.
    pub zone_id: Option<String>,
    pub opened_at: String,
    /// What was measured (see `unit`): metres outside, bpm, °C, percent, minutes silent.
    pub value: f64,
    /// The limit it crossed, in the same unit.
    pub threshold: f64,
    /// `m`, `bpm`, `°C`, `%` or `min`.
    pub unit: String,
    /// The confirming reading; `null` for `collar_offline` (no reading confirms silence).
    pub reading: Option<AlertReading>,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    /// What cleared it: `zone_return`, `heart_rate_normal`, `temperature_normal`,
    /// `battery_recharged` or `readings_resumed`.
    pub resolved_by: Option<String>,
}

/// `GET /v1/alerts`: newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
    pub next_cursor: Option<String>,
}

/// Bounds of the per-collar settings.
pub const BATTERY_LOW_PCT: std::ops::RangeInclusive<u8> = 5..=50;
pub const OFFLINE_AFTER_MIN: std::ops::RangeInclusive<u32> = 10..=1_440;
pub const HEART_RATE_SUSTAINED_MIN: std::ops::RangeInclusive<u32> = 5..=60;

/// `PUT`/`GET /v1/collars/{collar_id}/alert-settings`. A `PUT` replaces the settings;
/// absent fields take their defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// The types that are off (every type is on by default).
    pub disabled: Vec<AlertType>,
    /// `battery_low` below this percentage (5–50, default 15); re-armed above 30 % (or
    /// 15 points above the threshold, whichever is higher).
    pub battery_low_pct: u8,
    /// `collar_offline` after this many minutes without a reading (10–1,440, default 30).
    pub offline_after_min: u32,
    /// `heart_rate_high_at_rest` after this many minutes (5–60, default 10).
    pub heart_rate_sustained_min: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self { disabled: Vec::new(), battery_low_pct: 15, offline_after_min: 30, heart_rate_sustained_min: 10 }
    }
}

impl AlertSettings {
    /// Checks the bounds; `Err` names the field and the rule.
    pub fn validate(&self) -> Result<(), String> {
        if !BATTERY_LOW_PCT.contains(&self.battery_low_pct) {
            return Err("battery_low_pct must be from 5 to 50".into());
        }
        if !OFFLINE_AFTER_MIN.contains(&self.offline_after_min) {
            return Err("offline_after_min must be from 10 to 1440".into());
        }
        if !HEART_RATE_SUSTAINED_MIN.contains(&self.heart_rate_sustained_min) {
            return Err("heart_rate_sustained_min must be from 5 to 60".into());
        }
        Ok(())
    }

    pub fn enabled(&self, kind: AlertType) -> bool {
        !self.disabled.contains(&kind)
    }

    /// The battery percentage above which `battery_low` is armed again.
    pub fn battery_rearm_pct(&self) -> f64 {
        f64::from(self.battery_low_pct.saturating_add(15).max(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_ids_and_settings_bounds() {
        assert!(is_zone_id("home") && is_zone_id("back-yard-2") && is_zone_id(&"a".repeat(32)));
        assert!(
            !is_zone_id("")
                && !is_zone_id("-")
                && !is_zone_id("Home")
                && !is_zone_id("a_b")
                && !is_zone_id(&"a".repeat(33))
        );
        assert!(AlertSettings::default().validate().is_ok());
        let low = AlertSettings { battery_low_pct: 4, ..AlertSettings::default() };
        assert!(low.validate().unwrap_err().contains("battery_low_pct"));
        assert_eq!(AlertSettings::default().battery_rearm_pct(), 30.0);
        assert_eq!(AlertSettings { battery_low_pct: 20, ..AlertSettings::default() }.battery_rearm_pct(), 35.0);
        let parsed: AlertSettings = serde_json::from_str(r#"{"disabled":["battery_low"]}"#).unwrap();
        assert!(!parsed.enabled(AlertType::BatteryLow) && parsed.enabled(AlertType::ZoneExit));
        assert_eq!(parsed.offline_after_min, 30);
        for t in AlertType::ALL {
            assert_eq!(AlertType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }
}
