//! The reading format collars and apps send, and the rules a reading must meet.
//!
//! `{"collar_id":"AB-123456","timestamp":"2025-08-18T14:30:00Z","heart_rate":85,
//! "activity_level":1,"location":{"type":"Point","coordinates":[-74.0060,40.7128]}}`, with
//! optional `temperature_c`, `battery_pct`, `accuracy_m` and `firmware`. Unknown fields are
//! rejected.
//! Integers may be written as whole-number floats (`85.0`), as JSON Schema's `integer` allows.
//! Coordinates are kept to 7 decimals (about 1 cm) and sensor values to 2: DynamoDB numbers
//! cannot be smaller than 1e-130, so an unrounded `1e-200` would pass every range and then fail
//! its whole batch's write.

use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// How far ahead of our clock a reading may be (collar clock skew).
pub const MAX_FUTURE_S: i64 = crate::collar::CLOCK_SKEW_S;
/// How old a reading may be (collars buffer while offline).
pub const MAX_AGE_S: i64 = 30 * 86_400;
/// Heart rate bounds, beats per minute (cats and small dogs reach the 200s).
pub const HEART_RATE_BPM: std::ops::RangeInclusive<u16> = 30..=300;
/// Sensor temperature bounds, °C (the collar's sensor range).
pub const TEMPERATURE_C: std::ops::RangeInclusive<f64> = -20.0..=50.0;
/// GPS accuracy bounds, metres.
pub const ACCURACY_M: std::ops::RangeInclusive<f64> = 0.0..=10_000.0;
/// Decimals kept of a coordinate (1e-7 degrees is about 1 cm).
pub const COORDINATE_DECIMALS: i32 = 7;
/// Longest firmware version string.
pub const FIRMWARE_MAX: usize = 32;
/// Decimals kept of temperature, battery and accuracy (finer than any collar sensor).
pub const SENSOR_DECIMALS: i32 = 2;

/// What the pet was doing, as the collar classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "u8")]
pub enum Activity {
    Rest = 0,
    Walk = 1,
    Play = 2,
}

impl From<Activity> for u8 {
    fn from(a: Activity) -> u8 {
        a as u8
    }
}

/// A validated reading.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reading {
    pub collar_id: String,
    /// The reading's own time (never the server's), as Unix milliseconds.
    pub timestamp_ms: i64,
    pub heart_rate: u16,
    pub activity_level: Activity,
    pub lon: f64,
    pub lat: f64,
    pub temperature_c: Option<f64>,
    pub battery_pct: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// The collar's firmware version, when it says (shown as fleet status).
    pub firmware: Option<String>,
}

/// Why a reading was rejected: a low-cardinality code (a metric dimension) and a message
/// naming the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub reason: &'static str,
    pub message: String,
}

impl Rejection {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    coordinates: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReading<'a> {
    #[serde(borrow)]
    collar_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    timestamp: std::borrow::Cow<'a, str>,
    heart_rate: f64,
    activity_level: f64,
    #[serde(borrow)]
    location: RawPoint<'a>,
    #[serde(default)]
    temperature_c: Option<f64>,
    #[serde(default)]
    battery_pct: Option<f64>,
    #[serde(default)]
    accuracy_m: Option<f64>,
    #[serde(default, borrow)]
    firmware: Option<std::borrow::Cow<'a, str>>,
}

/// Parses RFC 3339; a timestamp without a zone is UTC.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp_millis())
}

/// Parses and validates one reading's JSON against `now_ms`.
pub fn parse_reading(json: &str, now_ms: i64) -> Result<Reading, Rejection> {
    let raw: RawReading = serde_json::from_str(json).map_err(|e| {
        let text = e.to_string();
        let reason = if text.starts_with("unknown field") {
            "unknown_field"
        } else if text.starts_with("missing field") {
            "missing_field"
        } else {
            "invalid_json"
        };
        Rejection::new(reason, text)
    })?;
    validate(raw, now_ms)
}

fn validate(raw: RawReading, now_ms: i64) -> Result<Reading, Rejection> {
    if !petty_api::collars::is_collar_id(&raw.collar_id) {
        return Err(Rejection::new("collar_id", "collar_id must match ^[A-Z]{2}-\\d{3,6}$"));
    }
    let timestamp_ms = parse_timestamp(&raw.timestamp)
        .ok_or_else(|| Rejection::new("timestamp", "timestamp must be RFC 3339, e.g. 2025-08-18T14:30:00Z"))?;
    if timestamp_ms > now_ms + MAX_FUTURE_S * 1000 {
        return Err(Rejection::new("timestamp_future", "timestamp is more than 5 minutes in the future"));
    }
    if timestamp_ms < now_ms - MAX_AGE_S * 1000 {
        return Err(Rejection::new("timestamp_too_old", "timestamp is more than 30 days old"));
    }
    let heart_rate = whole(raw.heart_rate)
        .and_then(|hr| u16::try_from(hr).ok())
        .filter(|hr| HEART_RATE_BPM.contains(hr))
        .ok_or_else(|| Rejection::new("heart_rate", "heart_rate must be an integer from 30 to 300"))?;
    let activity_level = match whole(raw.activity_level) {
        Some(0) => Activity::Rest,
        Some(1) => Activity::Walk,
        Some(2) => Activity::Play,
        _ => return Err(Rejection::new("activity_level", "activity_level must be 0 (rest), 1 (walk) or 2 (play)")),
    };
    let point_error = || {
        Rejection::new(
            "location",
            "location must be a GeoJSON Point [lon, lat] with lon in -180..180 and lat in -90..90",
        )
    };
    if raw.location.kind != "Point" || !(2..=3).contains(&raw.location.coordinates.len()) {
        return Err(point_error());
    }
    let (lon, lat) = (raw.location.coordinates[0], raw.location.coordinates[1]);
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(point_error());
    }
    check_optional(raw.temperature_c, &TEMPERATURE_C, "temperature_c", "temperature_c must be from -20 to 50 °C")?;
    check_optional(raw.battery_pct, &(0.0..=100.0), "battery_pct", "battery_pct must be from 0 to 100")?;
    check_optional(raw.accuracy_m, &ACCURACY_M, "accuracy_m", "accuracy_m must be from 0 to 10000 m")?;
    if let Some(f) = &raw.firmware {
        let printable = f.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
        if f.is_empty() || f.len() > FIRMWARE_MAX || !printable {
            return Err(Rejection::new("firmware", "firmware must be 1-32 of A-Z a-z 0-9 . - _ +"));
        }
    }
    Ok(Reading {
        collar_id: raw.collar_id.into_owned(),
        timestamp_ms,
        heart_rate,
        activity_level,
        lon: round_to(lon, COORDINATE_DECIMALS),
        lat: round_to(lat, COORDINATE_DECIMALS),
        temperature_c: raw.temperature_c.map(|v| round_to(v, SENSOR_DECIMALS)),
        battery_pct: raw.battery_pct.map(|v| round_to(v, SENSOR_DECIMALS)),
        accuracy_m: raw.accuracy_m.map(|v| round_to(v, SENSOR_DECIMALS)),
        firmware: raw.firmware.map(|f| f.into_owned()),
    })
}

/// A whole number (`85` or `85.0`) as an integer; `None` for a fraction or one out of range.
fn whole(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 1e15).then_some(v as i64)
}

/// `v` to `decimals` places; never `-0` (which would store and read back as a different text).
fn round_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale + 0.0
}

fn check_optional(
    value: Option<f64>,
    range: &std::ops::RangeInclusive<f64>,
    reason: &'static str,
    message: &str,
) -> Result<(), Rejection> {
    match value {
        Some(v) if !range.contains(&v) => Err(Rejection::new(reason, message)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use petty_api::format_ms as format_timestamp;
    use serde_json::{Value, json};

    /// 2025-08-18T14:30:00Z
    const NOW: i64 = 1_755_527_400_000;

    fn base() -> Value {
        json!({"collar_id":"AB-123456","timestamp":"2025-08-18T14:30:00Z","heart_rate":85,"activity_level":1,
               "location":{"type":"Point","coordinates":[-74.0060,40.7128]}})
    }

    fn with(field: &str, value: Value) -> String {
        let mut v = base();
        v[field] = value;
        v.to_string()
    }

    fn reason(json: &str) -> &'static str {
        parse_reading(json, NOW).unwrap_err().reason
    }

    #[test]
    fn firmware_is_optional_short_and_plain() {
        assert_eq!(
            parse_reading(&with("firmware", json!("2.4.1-b7")), NOW).unwrap().firmware.as_deref(),
            Some("2.4.1-b7")
        );
        assert_eq!(parse_reading(&base().to_string(), NOW).unwrap().firmware, None);
        assert!(parse_reading(&with("firmware", json!("x".repeat(FIRMWARE_MAX))), NOW).is_ok());
        for bad in [json!(""), json!("x".repeat(FIRMWARE_MAX + 1)), json!("1.0 beta"), json!("1.0\u{202e}")] {
            assert_eq!(reason(&with("firmware", bad.clone())), "firmware", "{bad}");
        }
    }

    #[test]
    fn the_documented_example_is_valid() {
        let r = parse_reading(&base().to_string(), NOW).unwrap();
        assert_eq!(r.collar_id, "AB-123456");
        assert_eq!(r.timestamp_ms, NOW);
        assert_eq!((r.heart_rate, r.activity_level), (85, Activity::Walk));
        assert_eq!((r.lon, r.lat), (-74.0060, 40.7128));
        assert_eq!(format_timestamp(r.timestamp_ms), "2025-08-18T14:30:00.000Z");
    }

    #[test]
    fn timestamps_use_their_own_zone_and_default_to_utc() {
        let utc = parse_timestamp("2025-08-18T14:30:00Z").unwrap();
        assert_eq!(parse_timestamp("2025-08-18T16:30:00+02:00"), Some(utc));
        assert_eq!(parse_timestamp("2025-08-18T14:30:00"), Some(utc), "no zone means UTC");
        assert_eq!(parse_timestamp("2025-08-18T14:30:00.250Z"), Some(utc + 250));
        assert_eq!(parse_timestamp("18/08/2025 14:30"), None);
    }

    #[test]
    fn hour_23_utc_is_an_ordinary_hour() {
        // The system Petty replaces rejected every reading during UTC hour 23.
        let now = parse_timestamp("2025-08-18T23:59:00Z").unwrap();
        for ts in ["2025-08-18T23:00:00Z", "2025-08-18T23:30:00Z", "2025-08-18T23:59:59Z", "2025-08-19T00:03:00Z"] {
            let json = with("timestamp", json!(ts));
            assert!(parse_reading(&json, now).is_ok(), "{ts}");
        }
    }

    #[test]
    fn timestamp_window_boundaries() {
        let at = |offset_s: i64| with("timestamp", json!(format_timestamp(NOW + offset_s * 1000)));
        assert!(parse_reading(&at(MAX_FUTURE_S), NOW).is_ok(), "exactly 5 min ahead");
        assert_eq!(reason(&at(MAX_FUTURE_S + 1)), "timestamp_future");
        assert!(parse_reading(&at(-MAX_AGE_S), NOW).is_ok(), "exactly 30 days old");
        assert_eq!(reason(&at(-MAX_AGE_S - 1)), "timestamp_too_old");
        assert_eq!(reason(&with("timestamp", json!("yesterday"))), "timestamp");
    }

    #[test]
    fn heart_rate_boundaries() {
        for ok in [30, 300] {
            assert!(parse_reading(&with("heart_rate", json!(ok)), NOW).is_ok(), "{ok}");
        }
        for bad in [json!(29), json!(301), json!(-5), json!(85.5), json!("85"), json!(null)] {
            let r = parse_reading(&with("heart_rate", bad.clone()), NOW).unwrap_err();
            assert!(r.reason == "heart_rate" || r.reason == "invalid_json", "{bad}: {r:?}");
        }
    }

    #[test]
    fn whole_number_floats_are_integers() {
        let r = parse_reading(&with("heart_rate", json!(100.0)), NOW).unwrap();
        assert_eq!(r.heart_rate, 100);
        let r = parse_reading(&with("activity_level", json!(2.0)), NOW).unwrap();
        assert_eq!(r.activity_level, Activity::Play);
        assert_eq!(reason(&with("activity_level", json!(1.5))), "activity_level");
        assert_eq!(reason(&with("heart_rate", json!(1e300))), "heart_rate");
    }

    #[test]
    fn values_are_rounded_to_what_storage_can_hold() {
        // DynamoDB refuses numbers below 1e-130: such a value must not reach it.
        let tiny = with("location", json!({"type": "Point", "coordinates": [1e-200, -1e-200]}));
        let r = parse_reading(&tiny, NOW).unwrap();
        assert_eq!((r.lon.to_string(), r.lat.to_string()), ("0".to_owned(), "0".to_owned()));
        let precise = with("location", json!({"type": "Point", "coordinates": [-74.006_012_345_6, 40.712_849_999_9]}));
        let r = parse_reading(&precise, NOW).unwrap();
        assert_eq!((r.lon, r.lat), (-74.006_012_3, 40.712_85));
        let mut v = base();
        v["temperature_c"] = json!(38.456);
        v["battery_pct"] = json!(1e-300);
        v["accuracy_m"] = json!(4.999);
        let r = parse_reading(&v.to_string(), NOW).unwrap();
        assert_eq!((r.temperature_c, r.battery_pct, r.accuracy_m), (Some(38.46), Some(0.0), Some(5.0)));
    }

    #[test]
    fn activity_levels() {
        for ok in [0, 1, 2] {
            assert!(parse_reading(&with("activity_level", json!(ok)), NOW).is_ok());
        }
        assert_eq!(reason(&with("activity_level", json!(3))), "activity_level");
        assert_eq!(reason(&with("activity_level", json!(-1))), "activity_level");
    }

    #[test]
    fn collar_ids() {
        assert!(parse_reading(&with("collar_id", json!("AB-123")), NOW).is_ok());
        for bad in ["AB-12", "AB-1234567", "ab-123", "AB123"] {
            assert_eq!(reason(&with("collar_id", json!(bad))), "collar_id", "{bad}");
        }
    }

    #[test]
    fn location_boundaries() {
        let point = |lon: f64, lat: f64| with("location", json!({"type": "Point", "coordinates": [lon, lat]}));
        for (lon, lat) in [(180.0, 90.0), (-180.0, -90.0), (0.0, 0.0)] {
            assert!(parse_reading(&point(lon, lat), NOW).is_ok(), "{lon},{lat}");
        }
        for (lon, lat) in [(180.0001, 0.0), (-180.0001, 0.0), (0.0, 90.0001), (0.0, -90.0001)] {
            assert_eq!(reason(&point(lon, lat)), "location", "{lon},{lat}");
        }
        assert_eq!(reason(&with("location", json!({"type": "LineString", "coordinates": [0.0, 0.0]}))), "location");
        assert_eq!(reason(&with("location", json!({"type": "Point", "coordinates": [0.0]}))), "location");
        assert!(
            parse_reading(&with("location", json!({"type": "Point", "coordinates": [1.0, 2.0, 30.0]})), NOW).is_ok(),
            "altitude allowed"
        );
    }

    #[test]
    fn optional_fields_boundaries() {
        for (field, ok, bad) in [
            ("temperature_c", [-20.0, 50.0], [-20.1, 50.1]),
            ("battery_pct", [0.0, 100.0], [-0.1, 100.1]),
            ("accuracy_m", [0.0, 10_000.0], [-0.1, 10_000.1]),
        ] {
            for v in ok {
                assert!(parse_reading(&with(field, json!(v)), NOW).is_ok(), "{field}={v}");
            }
            for v in bad {
                assert_eq!(reason(&with(field, json!(v))), field, "{field}={v}");
            }
        }
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let r = parse_reading(&with("speed", json!(3)), NOW).unwrap_err();
        assert_eq!(r.reason, "unknown_field");
        assert!(r.message.contains("speed"), "{}", r.message);
        let mut v = base();
        v.as_object_mut().unwrap().remove("heart_rate");
        let r = parse_reading(&v.to_string(), NOW).unwrap_err();
        assert_eq!(r.reason, "missing_field");
        assert!(r.message.contains("heart_rate"));
        assert_eq!(reason("not json"), "invalid_json");
    }
}

/// Property tests (fuzzing on stable Rust): any text is either a reading that meets every
/// rule or a rejection with a known reason; never a panic.
#[cfg(test)]
mod properties {
    use petty_api::format_ms as format_timestamp;
    use proptest::prelude::*;

    use super::*;

    const NOW: i64 = 1_755_527_400_000;
    const REASONS: &[&str] = &[
        "unknown_field",
        "missing_field",
        "invalid_json",
        "collar_id",
        "timestamp",
        "timestamp_future",
        "timestamp_too_old",
        "heart_rate",
        "activity_level",
        "location",
        "temperature_c",
        "battery_pct",
        "accuracy_m",
        "firmware",
    ];

    fn check(result: Result<Reading, Rejection>) -> Result<(), TestCaseError> {
        match result {
            Ok(r) => {
                prop_assert!(HEART_RATE_BPM.contains(&r.heart_rate));
                prop_assert!((-180.0..=180.0).contains(&r.lon) && (-90.0..=90.0).contains(&r.lat));
                prop_assert!(r.timestamp_ms <= NOW + MAX_FUTURE_S * 1000 && r.timestamp_ms >= NOW - MAX_AGE_S * 1000);
                // Storable: no number DynamoDB would refuse (nonzero magnitude under 1e-130).
                for v in [Some(r.lon), Some(r.lat), r.temperature_c, r.battery_pct, r.accuracy_m].into_iter().flatten()
                {
                    prop_assert!(v == 0.0 || v.abs() >= 1e-7, "{v}");
                }
            }
            Err(rejection) => prop_assert!(REASONS.contains(&rejection.reason), "{rejection:?}"),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_text(text in ".{0,400}") {
            check(parse_reading(&text, NOW))?;
        }

        #[test]
        fn arbitrary_values_in_the_reading_shape(
            collar in "[A-Za-z0-9-]{0,12}", secs in -40i64 * 86_400..86_400, hr in -10i64..400, act in -2i64..5,
            lon in prop_oneof![-400.0f64..400.0, -1e-100f64..1e-100], lat in -200.0f64..200.0, temp in proptest::option::of(-100.0f64..100.0),
            extra in proptest::option::of("[a-z_]{1,12}"),
        ) {
            let mut v = serde_json::json!({
                "collar_id": collar, "timestamp": format_timestamp(NOW + secs * 1000), "heart_rate": hr,
                "activity_level": act, "location": {"type": "Point", "coordinates": [lon, lat]},
            });
            if let Some(t) = temp { v["temperature_c"] = serde_json::json!(t); }
            if let Some(name) = extra { v[name] = serde_json::json!(1); }
            check(parse_reading(&v.to_string(), NOW))?;
        }
    }
}
