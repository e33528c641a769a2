//! Safe zones: a zone's geometry is checked once, when it is saved, so the rules only ever
//! measure against shapes that make sense; distances are metres on the sphere, never degrees.

use std::fmt;

use chrono::Timelike;
use petty_api::alerts::{ActiveHours, Polygon, RADIUS_M, RING_POSITIONS, ZONE_NAME_MAX, ZoneSpec, is_zone_id};
use petty_behaviour::geo::haversine_m;

mod geometry;
#[cfg(test)]
mod tests;

use geometry::Frame;

/// Largest distance between two vertices of a polygon, metres: a safe zone is a garden, a
/// park or a farm, and the flat projection the checks use stays far below GPS noise over it.
pub const MAX_EXTENT_M: f64 = 20_000.0;
/// Smallest polygon area, square metres: anything smaller is a line or a point, and every fix
/// would be outside it.
pub const MIN_AREA_M2: f64 = 1.0;

/// Why a zone was refused: the JSON path of the field, a stable snake_case rule code (clients
/// switch on it) and a plain-English message naming both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneError {
    pub field: &'static str,
    pub rule: &'static str,
    pub message: String,
}

impl ZoneError {
    fn new(field: &'static str, rule: &'static str, message: impl Into<String>) -> Self {
        Self { field, rule, message: message.into() }
    }
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ZoneError {}

/// A checked zone's shape, positions as `(lat, lon)` degrees (the wire's GeoJSON order is
/// `[lon, lat]`; inside the rules latitude comes first, as `haversine_m` takes it).
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Circle {
        lat: f64,
        lon: f64,
        radius_m: f64,
    },
    /// Closed: the last position equals the first.
    Polygon {
        ring: Vec<(f64, f64)>,
    },
}

/// A zone that passed [`check`]: the only form the rules accept.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedZone {
    pub zone_id: String,
    pub shape: Shape,
    /// Local minutes of the day, `from` inclusive to `to` exclusive; `None`: always watched.
    pub active: Option<(u16, u16)>,
}

/// Checks a zone as the owner sent it; the first broken rule is the error.
pub fn check(zone_id: &str, spec: &ZoneSpec) -> Result<CheckedZone, ZoneError> {
    // "-" stands for "no zone" inside alert ids, so it cannot be a zone's own id.
    if !is_zone_id(zone_id) {
        return Err(ZoneError::new(
            "zone_id",
            "invalid_id",
            "zone_id must be 1 to 32 characters of a-z, 0-9 and '-' (and not '-' alone)",
        ));
    }
    check_name(&spec.name)?;
    let shape = match (&spec.center, spec.radius_m, &spec.polygon) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(ZoneError::new(
                "polygon",
                "both_shapes",
                "polygon cannot be given with center or radius_m: a zone is a circle or a polygon, not both",
            ));
        }
        (Some(center), Some(radius_m), None) => circle(center, radius_m)?,
        (None, None, Some(polygon)) => Shape::Polygon { ring: ring(polygon)? },
        (Some(_), None, None) => {
            return Err(ZoneError::new(
                "radius_m",
                "no_shape",
                "radius_m is missing: a circle needs center and radius_m",
            ));
        }
        (None, Some(_), None) => {
            return Err(ZoneError::new("center", "no_shape", "center is missing: a circle needs center and radius_m"));
        }
        (None, None, None) => {
            return Err(ZoneError::new(
                "center",
                "no_shape",
                "center and radius_m (a circle) or polygon is required: the zone has no shape",
            ));
        }
    };
    let active = spec.active_hours.as_ref().map(hours).transpose()?;
    Ok(CheckedZone { zone_id: zone_id.to_owned(), shape, active })
}

fn check_name(name: &str) -> Result<(), ZoneError> {
    let t = name.trim();
    if t.is_empty() || t.chars().count() > ZONE_NAME_MAX || t.chars().any(char::is_control) {
        return Err(ZoneError::new(
            "name",
            "invalid_name",
            format!("name must be 1 to {ZONE_NAME_MAX} printable characters (no control characters)"),
        ));
    }
    Ok(())
}

fn circle(center: &[f64], radius_m: f64) -> Result<Shape, ZoneError> {
    let (lat, lon) = position("center", center, "center")?;
    if !radius_m.is_finite() || !RADIUS_M.contains(&radius_m) {
        return Err(ZoneError::new(
            "radius_m",
            "out_of_range",
            format!("radius_m must be from {} to {} metres", RADIUS_M.start(), RADIUS_M.end()),
        ));
    }
    Ok(Shape::Circle { lat, lon, radius_m })
}

/// A `[lon, lat]` position → `(lat, lon)`.
fn position(field: &'static str, v: &[f64], what: &str) -> Result<(f64, f64), ZoneError> {
    if v.len() != 2 || !v.iter().all(|x| x.is_finite()) {
        return Err(ZoneError::new(field, "invalid_position", format!("{what} must be [lon, lat]: exactly 2 numbers")));
    }
    let (lon, lat) = (v[0], v[1]);
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(ZoneError::new(
            field,
            "out_of_range",
            format!("{what} is out of range: longitude must be from -180 to 180 and latitude from -90 to 90"),
        ));
    }
    Ok((lat, lon))
}

const RING_FIELD: &str = "polygon.coordinates";

fn ring(polygon: &Polygon) -> Result<Vec<(f64, f64)>, ZoneError> {
    if polygon.kind != "Polygon" {
        return Err(ZoneError::new("polygon.type", "not_polygon", "polygon.type must be \"Polygon\""));
    }
    let raw = match polygon.coordinates.as_slice() {
        [] => return Err(ZoneError::new(RING_FIELD, "too_few_positions", "polygon.coordinates must hold one ring")),
        [ring] => ring,
        _ => {
            return Err(ZoneError::new(
                RING_FIELD,
                "holes_not_supported",
                "polygon.coordinates must hold exactly one ring: holes are not supported",
            ));
        }
    };
    let (min, max) = (*RING_POSITIONS.start(), *RING_POSITIONS.end());
    if raw.len() < min {
        return Err(ZoneError::new(
            RING_FIELD,
            "too_few_positions",
            format!("polygon.coordinates must have at least {min} positions (a closed ring of 3 corners)"),
        ));
    }
    if raw.len() > max {
        return Err(ZoneError::new(
            RING_FIELD,
            "too_many_positions",
            format!("polygon.coordinates must have at most {max} positions"),
        ));
    }
    let ring = raw
        .iter()
        .enumerate()
        .map(|(i, p)| position(RING_FIELD, p, &format!("polygon.coordinates position {i}")))
        .collect::<Result<Vec<_>, _>>()?;
    if ring.first() != ring.last() {
        return Err(ZoneError::new(
            RING_FIELD,
            "not_closed",
            "polygon.coordinates must be closed: the last position must equal the first",
        ));
    }
    geometry::check_ring(&ring)?;
    Ok(ring)
}

fn hours(h: &ActiveHours) -> Result<(u16, u16), ZoneError> {
    let from = hhmm(&h.from).ok_or_else(|| bad_time("active_hours.from"))?;
    let to = hhmm(&h.to).ok_or_else(|| bad_time("active_hours.to"))?;
    if from == to {
        return Err(ZoneError::new(
            "active_hours.to",
            "empty_window",
            "active_hours.to must differ from active_hours.from (leave active_hours out to watch all day)",
        ));
    }
    Ok((from, to))
}

fn bad_time(field: &'static str) -> ZoneError {
    ZoneError::new(field, "invalid_time", format!("{field} must be a time HH:MM from 00:00 to 23:59"))
}

/// `HH:MM`, exactly two digits each → minute of the day.
fn hhmm(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    let digit = |i: usize| b[i].is_ascii_digit().then(|| u16::from(b[i] - b'0'));
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let (h, m) = (digit(0)? * 10 + digit(1)?, digit(3)? * 10 + digit(4)?);
    (h <= 23 && m <= 59).then_some(h * 60 + m)
}

impl CheckedZone {
    /// Signed metres to the zone's boundary: positive outside (by that much), negative inside
    /// (that deep). Rules compare it with the fix's accuracy, so it must be true metres.
    pub fn distance_outside_m(&self, lat: f64, lon: f64) -> f64 {
        match &self.shape {
            Shape::Circle { lat: c_lat, lon: c_lon, radius_m } => haversine_m(*c_lat, *c_lon, lat, lon) - radius_m,
            Shape::Polygon { ring } => {
                let frame = Frame::for_ring(ring);
                let xy: Vec<(f64, f64)> = ring.iter().map(|&(a, o)| frame.to_xy(a, o)).collect();
                let p = frame.to_xy(lat, lon);
                let (cx, cy) = geometry::closest_on_ring(&xy, p);
                let (c_lat, c_lon) = frame.to_latlon(cx, cy);
                let d = haversine_m(lat, lon, c_lat, c_lon);
                if geometry::contains(&xy, p) { -d } else { d }
            }
        }
    }

    /// Whether the zone is watched at this local minute of the day (a window whose `from` is
    /// after its `to` spans midnight).
    pub fn is_active(&self, minute_of_day: u16) -> bool {
        match self.active {
            None => true,
            Some((from, to)) if from < to => (from..to).contains(&minute_of_day),
            Some((from, to)) => minute_of_day >= from || minute_of_day < to,
        }
    }
}

/// The local minute of the day (0–1439) of a Unix-ms instant in `tz`, daylight saving time
/// included. Instants chrono cannot represent (beyond ±262,000 years) give 0.
pub fn local_minute_of_day(ts_ms: i64, tz: chrono_tz::Tz) -> u16 {
    chrono::DateTime::from_timestamp_millis(ts_ms).map_or(0, |utc| {
        let local = utc.with_timezone(&tz);
        (local.hour() * 60 + local.minute()) as u16
    })
}
