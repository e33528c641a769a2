//! Polygon geometry in a local flat frame. Zones are at most [`MAX_EXTENT_M`] across, where a
//! flat projection around the ring's mean latitude is accurate to centimetres; longitudes are
//! taken relative to the ring's first vertex (wrapped), so the numbers stay small and a zone
//! across the antimeridian works too.

use petty_behaviour::geo::{LocalProjection, haversine_m};

use super::{MAX_EXTENT_M, MIN_AREA_M2, RING_FIELD, ZoneError};

/// Edges closer than this, metres, touch: a ring that comes back to within a millimetre of
/// itself is as ambiguous as one that crosses.
const TOUCH_M: f64 = 0.001;

/// Wraps a longitude difference into [-180, 180).
fn wrap(dlon: f64) -> f64 {
    (dlon + 180.0).rem_euclid(360.0) - 180.0
}

/// The flat frame of one ring: origin at its first vertex, metres east and north.
pub(crate) struct Frame {
    lat0: f64,
    lon0: f64,
    projection: LocalProjection,
    /// Metres per degree of longitude and of latitude (to convert back).
    kx: f64,
    ky: f64,
}

impl Frame {
    /// The frame of a closed ring (the closing position is not counted twice in the mean).
    pub(crate) fn for_ring(ring: &[(f64, f64)]) -> Self {
        let open = if ring.len() > 1 { &ring[..ring.len() - 1] } else { ring };
        let mean_lat = if open.is_empty() { 0.0 } else { open.iter().map(|p| p.0).sum::<f64>() / open.len() as f64 };
        let (lat0, lon0) = ring.first().copied().unwrap_or((0.0, 0.0));
        let projection = LocalProjection::new(mean_lat);
        let (kx, ky) = projection.project(1.0, 1.0);
        Self { lat0, lon0, projection, kx, ky }
    }

    pub(crate) fn to_xy(&self, lat: f64, lon: f64) -> (f64, f64) {
        self.projection.project(lat - self.lat0, wrap(lon - self.lon0))
    }

    pub(crate) fn to_latlon(&self, x: f64, y: f64) -> (f64, f64) {
        let lon = if self.kx.abs() > f64::MIN_POSITIVE { self.lon0 + x / self.kx } else { self.lon0 };
        (self.lat0 + y / self.ky, lon)
    }
}

fn sub(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0 - b.0, a.1 - b.1)
}

fn cross(a: (f64, f64), b: (f64, f64)) -> f64 {
    a.0 * b.1 - a.1 * b.0
}

/// The closest point to `p` on segment `a`–`b`.
fn closest_on_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let ab = sub(b, a);
    let len2 = ab.0 * ab.0 + ab.1 * ab.1;
    let t = if len2 > 0.0 { (((p.0 - a.0) * ab.0 + (p.1 - a.1) * ab.1) / len2).clamp(0.0, 1.0) } else { 0.0 };
    (a.0 + t * ab.0, a.1 + t * ab.1)
}

fn dist_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let c = closest_on_segment(p, a, b);
    (p.0 - c.0).hypot(p.1 - c.1)
}

/// The closest point to `p` on a closed ring's edges (flat frame).
pub(crate) fn closest_on_ring(xy: &[(f64, f64)], p: (f64, f64)) -> (f64, f64) {
    let mut best = (f64::INFINITY, xy.first().copied().unwrap_or(p));
    for w in xy.windows(2) {
        let c = closest_on_segment(p, w[0], w[1]);
        let d = (p.0 - c.0).hypot(p.1 - c.1);
        if d < best.0 {
            best = (d, c);
        }
    }
    best.1
}

/// Even-odd ray casting: whether `p` is inside the closed ring.
pub(crate) fn contains(xy: &[(f64, f64)], p: (f64, f64)) -> bool {
    let mut inside = false;
    for w in xy.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.1 > p.1) != (b.1 > p.1) {
            let x = a.0 + (p.1 - a.1) / (b.1 - a.1) * (b.0 - a.0);
            if p.0 < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// Whether two segments cross or come within [`TOUCH_M`] of each other (collinear overlaps
/// included).
fn segments_touch(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)) -> bool {
    let (o1, o2) = (cross(sub(b, a), sub(c, a)), cross(sub(b, a), sub(d, a)));
    let (o3, o4) = (cross(sub(d, c), sub(a, c)), cross(sub(d, c), sub(b, c)));
    let proper =
        o1 != 0.0 && o2 != 0.0 && o3 != 0.0 && o4 != 0.0 && (o1 > 0.0) != (o2 > 0.0) && (o3 > 0.0) != (o4 > 0.0);
    proper
        || dist_to_segment(a, c, d) <= TOUCH_M
        || dist_to_segment(b, c, d) <= TOUCH_M
        || dist_to_segment(c, a, b) <= TOUCH_M
        || dist_to_segment(d, a, b) <= TOUCH_M
}

/// Largest distance between two vertices, metres (on the sphere).
pub(crate) fn extent_m(ring: &[(f64, f64)]) -> f64 {
    let mut max: f64 = 0.0;
    for (i, p) in ring.iter().enumerate() {
        for q in &ring[i + 1..] {
            max = max.max(haversine_m(p.0, p.1, q.0, q.1));
        }
    }
    max
}

/// Area of a closed ring in the flat frame, square metres (shoelace).
pub(crate) fn area_m2(xy: &[(f64, f64)]) -> f64 {
    (xy.windows(2).map(|w| cross(w[0], w[1])).sum::<f64>() / 2.0).abs()
}

/// The geometric rules of a closed ring of in-range `(lat, lon)` positions: not too large,
/// simple (no repeated vertex, no two edges crossing or touching), not flat.
pub(crate) fn check_ring(ring: &[(f64, f64)]) -> Result<(), ZoneError> {
    let extent = extent_m(ring);
    if extent > MAX_EXTENT_M {
        return Err(ZoneError::new(
            RING_FIELD,
            "too_large",
            format!(
                "polygon.coordinates is too large: its corners are up to {:.0} m apart, at most {:.0} m is allowed",
                extent, MAX_EXTENT_M
            ),
        ));
    }
    let frame = Frame::for_ring(ring);
    let xy: Vec<(f64, f64)> = ring.iter().map(|&(lat, lon)| frame.to_xy(lat, lon)).collect();
    let corners = &xy[..xy.len() - 1];
    for (i, p) in corners.iter().enumerate() {
        for (j, q) in corners.iter().enumerate().skip(i + 1) {
            if ring[i] == ring[j] || (p.0 - q.0).hypot(p.1 - q.1) <= TOUCH_M {
                return Err(intersecting(format!("positions {i} and {j} are the same point")));
            }
        }
    }
    let edges = xy.len() - 1;
    for i in 0..edges {
        let (a, b) = (xy[i], xy[i + 1]);
        // The next edge shares vertex b: it must not fold back along this one.
        let c = xy[(i + 2) % edges];
        if dist_to_segment(c, a, b) <= TOUCH_M || dist_to_segment(a, b, c) <= TOUCH_M {
            return Err(intersecting(format!("edges {i} and {} fold back onto each other", (i + 1) % edges)));
        }
        for j in i + 2..edges {
            if i == 0 && j == edges - 1 {
                continue; // adjacent through the closing vertex
            }
            if segments_touch(a, b, xy[j], xy[j + 1]) {
                return Err(intersecting(format!("edges {i} and {j} cross or touch")));
            }
        }
    }
    if area_m2(&xy) <= MIN_AREA_M2 {
        return Err(ZoneError::new(
            RING_FIELD,
            "zero_area",
            format!("polygon.coordinates must enclose an area of more than {MIN_AREA_M2} m²"),
        ));
    }
    Ok(())
}

fn intersecting(detail: String) -> ZoneError {
    ZoneError::new(
        RING_FIELD,
        "self_intersecting",
        format!("polygon.coordinates must not cross or touch itself: {detail}"),
    )
}
