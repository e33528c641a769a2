//! Distances on the Earth's surface in metres (the system Petty replaces used degrees).

/// Mean Earth radius, metres (IUGG).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance between two `(lat, lon)` points in degrees, metres.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// A local flat projection around a reference latitude: metres east and north. Over the few
/// hundred metres a feature window spans, its error is far below GPS noise, and it is ~10×
/// cheaper than haversine per point.
#[derive(Clone, Copy, Debug)]
pub struct LocalProjection {
    metres_per_deg_lon: f64,
    metres_per_deg_lat: f64,
}

impl LocalProjection {
    /// Around `lat0` degrees.
    pub fn new(lat0: f64) -> Self {
        let metres_per_deg_lat = EARTH_RADIUS_M.to_radians();
        Self { metres_per_deg_lon: metres_per_deg_lat * lat0.to_radians().cos(), metres_per_deg_lat }
    }

    /// `(x, y)` in metres.
    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        (lon * self.metres_per_deg_lon, lat * self.metres_per_deg_lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_distances() {
        // One degree of latitude is ~111.2 km; New York to London is ~5,570 km.
        assert!((haversine_m(0.0, 0.0, 1.0, 0.0) - 111_195.0).abs() < 10.0);
        let nyc_london = haversine_m(40.7128, -74.0060, 51.5074, -0.1278);
        assert!((nyc_london - 5_570_000.0).abs() < 10_000.0, "{nyc_london}");
        assert_eq!(haversine_m(10.0, 20.0, 10.0, 20.0), 0.0);
    }

    #[test]
    fn projection_agrees_with_haversine_locally() {
        let p = LocalProjection::new(40.7128);
        let (x1, y1) = p.project(40.7128, -74.0060);
        let (x2, y2) = p.project(40.7138, -74.0045);
        let flat = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt();
        let round = haversine_m(40.7128, -74.0060, 40.7138, -74.0045);
        assert!((flat - round).abs() < 0.5, "{flat} vs {round}");
    }
}
