use petty_api::alerts::{ActiveHours, Polygon, ZoneSpec};
use petty_behaviour::geo::{EARTH_RADIUS_M, haversine_m};
use proptest::prelude::*;

use super::*;

const NYC: (f64, f64) = (40.7128, -74.0060);

/// Metres north / east of `(lat, lon)` → `(lat, lon)` (flat, accurate to millimetres here).
fn offset(p: (f64, f64), north_m: f64, east_m: f64) -> (f64, f64) {
    let per_deg = EARTH_RADIUS_M.to_radians();
    (p.0 + north_m / per_deg, p.1 + east_m / (per_deg * p.0.to_radians().cos()))
}

fn circle_spec(c: (f64, f64), radius_m: f64) -> ZoneSpec {
    ZoneSpec {
        name: "Home".into(),
        center: Some(vec![c.1, c.0]),
        radius_m: Some(radius_m),
        polygon: None,
        active_hours: None,
    }
}

/// A polygon from `(lat, lon)` positions, written as GeoJSON `[lon, lat]`.
fn polygon_spec(ring: &[(f64, f64)]) -> ZoneSpec {
    let coordinates = vec![ring.iter().map(|p| vec![p.1, p.0]).collect()];
    ZoneSpec {
        name: "Yard".into(),
        center: None,
        radius_m: None,
        polygon: Some(Polygon { kind: "Polygon".into(), coordinates }),
        active_hours: None,
    }
}

/// A square of `side_m` centred on `c`, closed.
fn square(c: (f64, f64), side_m: f64) -> Vec<(f64, f64)> {
    let h = side_m / 2.0;
    let ring = vec![offset(c, -h, -h), offset(c, -h, h), offset(c, h, h), offset(c, h, -h)];
    closed(ring)
}

fn closed(mut ring: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    ring.push(ring[0]);
    ring
}

fn rule_of(spec: &ZoneSpec) -> (&'static str, &'static str) {
    let e = check("home", spec).unwrap_err();
    assert!(e.message.contains(e.field.split('.').next().unwrap()), "message names the field: {e:?}");
    assert_eq!(e.to_string(), e.message);
    (e.field, e.rule)
}

#[test]
fn circle_distances_match_known_values() {
    let zone = check("home", &circle_spec(NYC, 100.0)).unwrap();
    assert_eq!(zone.shape, Shape::Circle { lat: NYC.0, lon: NYC.1, radius_m: 100.0 });
    let p = offset(NYC, 230.0, 0.0);
    assert!((zone.distance_outside_m(p.0, p.1) - 130.0).abs() < 1.0, "{}", zone.distance_outside_m(p.0, p.1));
    assert!((zone.distance_outside_m(NYC.0, NYC.1) + 100.0).abs() < 1e-9);
    let q = offset(NYC, 0.0, -40.0);
    assert!((zone.distance_outside_m(q.0, q.1) + 60.0).abs() < 0.1);
    // New York to London, about 5,570 km: metres, not degrees.
    assert!((zone.distance_outside_m(51.5074, -0.1278) - 5_570_000.0).abs() < 10_000.0);
}

#[test]
fn polygon_square_inside_and_outside() {
    let ring = square(NYC, 100.0);
    let zone = check("yard", &polygon_spec(&ring)).unwrap();
    assert_eq!(zone.shape, Shape::Polygon { ring: ring.clone() });
    let depth = zone.distance_outside_m(NYC.0, NYC.1);
    assert!((depth + 50.0).abs() < 0.5, "{depth}");
    let near_edge = offset(NYC, 0.0, 45.0);
    assert!((zone.distance_outside_m(near_edge.0, near_edge.1) + 5.0).abs() < 0.2);
    // 30 m east of the east edge: the nearest boundary point is on that edge at the same
    // latitude.
    let out = offset(NYC, 0.0, 80.0);
    let edge = offset(NYC, 0.0, 50.0);
    let truth = haversine_m(out.0, out.1, out.0, edge.1);
    let d = zone.distance_outside_m(out.0, out.1);
    assert!((d - truth).abs() < 0.05 && (d - 30.0).abs() < 0.5, "{d} vs {truth}");
    // Beyond a corner the nearest point is the corner itself.
    let corner = ring[2];
    let beyond = offset(NYC, 70.0, 70.0);
    let d = zone.distance_outside_m(beyond.0, beyond.1);
    assert!((d - haversine_m(beyond.0, beyond.1, corner.0, corner.1)).abs() < 0.05 && (d - 28.28).abs() < 0.5, "{d}");
}

#[test]
fn concave_polygons_measure_to_the_nearest_arm() {
    // A U open to the north: 100 m square with a 40 m wide notch from 30 m up.
    let p = |n: f64, e: f64| offset(NYC, n, e);
    let ring = closed(vec![
        p(0.0, 0.0),
        p(0.0, 100.0),
        p(100.0, 100.0),
        p(100.0, 70.0),
        p(30.0, 70.0),
        p(30.0, 30.0),
        p(100.0, 30.0),
        p(100.0, 0.0),
    ]);
    let zone = check("u", &polygon_spec(&ring)).unwrap();
    let at = |n: f64, e: f64| zone.distance_outside_m(p(n, e).0, p(n, e).1);
    assert!((at(60.0, 50.0) - 20.0).abs() < 0.1, "in the notch: outside, 20 m from both arms: {}", at(60.0, 50.0));
    assert!((at(60.0, 15.0) + 15.0).abs() < 0.1, "in the left arm: {}", at(60.0, 15.0));
    assert!((at(60.0, 85.0) + 15.0).abs() < 0.1, "in the right arm: {}", at(60.0, 85.0));
    assert!((at(15.0, 50.0) + 15.0).abs() < 0.1, "in the base: {}", at(15.0, 50.0));
    assert!((at(40.0, 50.0) - 10.0).abs() < 0.1, "just above the base: {}", at(40.0, 50.0));
}

#[test]
fn polygons_across_the_antimeridian_work() {
    let c = (-17.0, 179.9995);
    let ring: Vec<(f64, f64)> =
        square(c, 200.0).into_iter().map(|(lat, lon)| (lat, if lon > 180.0 { lon - 360.0 } else { lon })).collect();
    assert!(ring.iter().any(|p| p.1 < 0.0) && ring.iter().any(|p| p.1 > 0.0));
    let zone = check("isle", &polygon_spec(&ring)).unwrap();
    assert!((zone.distance_outside_m(c.0, c.1) + 100.0).abs() < 0.5);
    assert!((zone.distance_outside_m(c.0, -179.99) - (haversine_m(c.0, c.1, c.0, -179.99) - 100.0)).abs() < 0.5);
}

#[test]
fn broken_rings_are_refused() {
    let a = offset(NYC, 0.0, 0.0);
    let b = offset(NYC, 0.0, 100.0);
    let c = offset(NYC, 100.0, 100.0);
    let d = offset(NYC, 100.0, 0.0);
    // Bow-tie: the edges a–c and b–d cross.
    assert_eq!(rule_of(&polygon_spec(&closed(vec![a, c, b, d]))), (RING_FIELD, "self_intersecting"));
    // Unclosed.
    assert_eq!(rule_of(&polygon_spec(&[a, b, c, d])), (RING_FIELD, "not_closed"));
    // 3 positions: a closed "ring" of two corners.
    assert_eq!(rule_of(&polygon_spec(&closed(vec![a, b]))), (RING_FIELD, "too_few_positions"));
    // 4 positions (a triangle) is the smallest ring.
    assert!(check("t", &polygon_spec(&closed(vec![a, b, c]))).is_ok());
    // 51 positions is one too many; 50 is fine.
    let gon = |n: usize| -> Vec<(f64, f64)> {
        closed(
            (0..n)
                .map(|i| (i as f64) * std::f64::consts::TAU / n as f64)
                .map(|t| offset(NYC, 80.0 * t.sin(), 80.0 * t.cos()))
                .collect(),
        )
    };
    assert!(check("g", &polygon_spec(&gon(49))).is_ok());
    assert_eq!(rule_of(&polygon_spec(&gon(50))), (RING_FIELD, "too_many_positions"));
    // A vertex repeated, a vertex touching another edge, an edge folding back.
    let mid_ab = offset(NYC, 0.0, 50.0);
    assert_eq!(rule_of(&polygon_spec(&closed(vec![a, b, c, a, d]))), (RING_FIELD, "self_intersecting"));
    let e = offset(NYC, 50.0, 50.0);
    assert_eq!(rule_of(&polygon_spec(&closed(vec![a, mid_ab, c, d, e, mid_ab]))), (RING_FIELD, "self_intersecting"));
    // Two triangles meeting at a point: vertex v lies on the non-adjacent edge a–b (or within
    // a millimetre of it); a metre away the ring is fine.
    for (north, ok) in [(0.0, false), (0.0005, false), (1.0, true)] {
        let v = offset(NYC, north, 50.0);
        let res = check("v", &polygon_spec(&closed(vec![a, b, c, v, d])));
        assert_eq!(res.is_ok(), ok, "{north} {res:?}");
        if !ok {
            assert_eq!(res.unwrap_err().rule, "self_intersecting");
        }
    }
    // An edge folding back along the one before.
    assert_eq!(
        rule_of(&polygon_spec(&closed(vec![a, b, c, d, offset(NYC, 100.0, 50.0)]))),
        (RING_FIELD, "self_intersecting")
    );
    // Collinear overlap: out along a line and back past the start.
    let f = offset(NYC, 0.0, 150.0);
    assert_eq!(rule_of(&polygon_spec(&closed(vec![a, f, mid_ab, c]))), (RING_FIELD, "self_intersecting"));
    // All on a line.
    assert_eq!(rule_of(&polygon_spec(&closed(vec![a, mid_ab, b]))), (RING_FIELD, "self_intersecting"));
    // A sliver: 100 m long, 1 cm wide (0.5 m²).
    let sliver = closed(vec![a, b, offset(NYC, 0.01, 50.0)]);
    assert_eq!(rule_of(&polygon_spec(&sliver)), (RING_FIELD, "zero_area"));
    // 25 km square corners are 35 km apart.
    assert_eq!(rule_of(&polygon_spec(&square(NYC, 25_000.0))), (RING_FIELD, "too_large"));
    assert!(check("big", &polygon_spec(&square(NYC, 14_000.0))).is_ok(), "19.8 km diagonal");
}

#[test]
fn polygon_structure_rules() {
    let ring = square(NYC, 100.0);
    let mut spec = polygon_spec(&ring);
    spec.polygon.as_mut().unwrap().kind = "MultiPolygon".into();
    assert_eq!(rule_of(&spec), ("polygon.type", "not_polygon"));
    let mut spec = polygon_spec(&ring);
    let hole = spec.polygon.as_ref().unwrap().coordinates[0].clone();
    spec.polygon.as_mut().unwrap().coordinates.push(hole);
    assert_eq!(rule_of(&spec), (RING_FIELD, "holes_not_supported"));
    spec.polygon.as_mut().unwrap().coordinates.clear();
    assert_eq!(rule_of(&spec), (RING_FIELD, "too_few_positions"));
    let mut spec = polygon_spec(&ring);
    spec.polygon.as_mut().unwrap().coordinates[0][1] = vec![-74.0, 40.7, 10.0];
    assert_eq!(rule_of(&spec), (RING_FIELD, "invalid_position"));
    spec.polygon.as_mut().unwrap().coordinates[0][1] = vec![f64::NAN, 40.7];
    assert_eq!(rule_of(&spec), (RING_FIELD, "invalid_position"));
    spec.polygon.as_mut().unwrap().coordinates[0][1] = vec![-74.0, 90.5];
    assert_eq!(rule_of(&spec), (RING_FIELD, "out_of_range"));
}

#[test]
fn circle_and_shape_rules() {
    let ok = circle_spec(NYC, 100.0);
    assert!(check("home", &ok).is_ok());
    for (r, good) in
        [(20.0, true), (5_000.0, true), (19.99, false), (5_000.01, false), (f64::NAN, false), (f64::INFINITY, false)]
    {
        let res = check("home", &circle_spec(NYC, r));
        assert_eq!(res.is_ok(), good, "{r}");
        if !good {
            assert_eq!(rule_of(&circle_spec(NYC, r)), ("radius_m", "out_of_range"));
            assert_eq!(res.unwrap_err().message, "radius_m must be from 20 to 5000 metres");
        }
    }
    let with = |center: Option<Vec<f64>>| ZoneSpec { center, ..ok.clone() };
    assert_eq!(rule_of(&with(Some(vec![-74.0]))), ("center", "invalid_position"));
    assert_eq!(rule_of(&with(Some(vec![-74.0, 40.7, 3.0]))), ("center", "invalid_position"));
    assert_eq!(rule_of(&with(Some(vec![-180.5, 40.7]))), ("center", "out_of_range"));
    assert_eq!(rule_of(&with(Some(vec![-74.0, -90.5]))), ("center", "out_of_range"));
    assert!(check("home", &with(Some(vec![180.0, -90.0]))).is_ok());
    assert_eq!(rule_of(&with(None)), ("center", "no_shape"));
    assert_eq!(rule_of(&ZoneSpec { radius_m: None, ..ok.clone() }), ("radius_m", "no_shape"));
    assert_eq!(rule_of(&ZoneSpec { radius_m: None, center: None, ..ok.clone() }), ("center", "no_shape"));
    let poly = polygon_spec(&square(NYC, 100.0)).polygon;
    assert_eq!(rule_of(&ZoneSpec { polygon: poly.clone(), ..ok.clone() }), ("polygon", "both_shapes"));
    assert_eq!(rule_of(&ZoneSpec { polygon: poly, center: None, ..ok.clone() }), ("polygon", "both_shapes"));
}

#[test]
fn name_id_and_hours_rules() {
    let ok = circle_spec(NYC, 100.0);
    for (name, good) in [
        ("Home", true),
        ("  Home  ", true),
        ("", false),
        ("   ", false),
        ("Ho\u{7}me", false),
        ("Home\n", true),
        ("Ho\nme", false),
    ] {
        assert_eq!(check("home", &ZoneSpec { name: name.into(), ..ok.clone() }).is_ok(), good, "{name:?}");
    }
    assert!(check("home", &ZoneSpec { name: "é".repeat(50), ..ok.clone() }).is_ok());
    assert_eq!(rule_of(&ZoneSpec { name: "é".repeat(51), ..ok.clone() }), ("name", "invalid_name"));
    for bad in ["Home", "", "-", "a_b", &"a".repeat(33)] {
        let e = check(bad, &ok).unwrap_err();
        assert_eq!((e.field, e.rule), ("zone_id", "invalid_id"), "{bad:?}");
    }
    let hours = |from: &str, to: &str| ZoneSpec {
        active_hours: Some(ActiveHours { from: from.into(), to: to.into() }),
        ..ok.clone()
    };
    assert_eq!(check("home", &hours("22:00", "07:00")).unwrap().active, Some((1_320, 420)));
    assert_eq!(check("home", &hours("00:00", "23:59")).unwrap().active, Some((0, 1_439)));
    for bad in ["7:00", "24:00", "23:60", "07:0", "0a:00", "07-00", "07:000", " 7:00", "+7:00", "１２:００"] {
        assert_eq!(rule_of(&hours(bad, "08:00")), ("active_hours.from", "invalid_time"), "{bad}");
        assert_eq!(rule_of(&hours("08:00", bad)), ("active_hours.to", "invalid_time"), "{bad}");
    }
    assert_eq!(rule_of(&hours("08:00", "08:00")), ("active_hours.to", "empty_window"));
}

#[test]
fn wire_positions_are_lon_lat() {
    let spec: ZoneSpec = serde_json::from_str(r#"{"name":"Park","center":[13.405,52.52],"radius_m":150}"#).unwrap();
    assert_eq!(check("park", &spec).unwrap().shape, Shape::Circle { lat: 52.52, lon: 13.405, radius_m: 150.0 });
}

#[test]
fn active_windows_and_midnight() {
    let mut z = check("home", &circle_spec(NYC, 100.0)).unwrap();
    assert!(z.is_active(0) && z.is_active(1_439));
    z.active = Some((480, 1_080));
    assert!(!z.is_active(479) && z.is_active(480) && z.is_active(1_079) && !z.is_active(1_080));
    z.active = Some((1_320, 420));
    assert!(z.is_active(1_320) && z.is_active(0) && z.is_active(419));
    assert!(!z.is_active(420) && !z.is_active(720) && !z.is_active(1_319));
}

#[test]
fn local_minutes_follow_daylight_saving() {
    let at = |y, mo, d, h, mi| {
        chrono::NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap().and_utc().timestamp_millis()
    };
    let berlin = chrono_tz::Europe::Berlin;
    // Summer: CEST, UTC+2. Winter: CET, UTC+1.
    assert_eq!(local_minute_of_day(at(2024, 7, 1, 12, 0), berlin), 14 * 60);
    assert_eq!(local_minute_of_day(at(2024, 1, 15, 12, 0), berlin), 13 * 60);
    // The spring change: 01:59 CET is followed by 03:00 CEST.
    assert_eq!(local_minute_of_day(at(2024, 3, 31, 0, 59), berlin), 60 + 59);
    assert_eq!(local_minute_of_day(at(2024, 3, 31, 1, 0), berlin), 3 * 60);
    assert_eq!(local_minute_of_day(at(2024, 1, 15, 23, 30), berlin), 30);
    assert_eq!(local_minute_of_day(at(2024, 1, 15, 23, 30), chrono_tz::UTC), 23 * 60 + 30);
    assert_eq!(local_minute_of_day(-1, chrono_tz::UTC), 1_439);
    assert_eq!(local_minute_of_day(i64::MAX, berlin), 0, "unrepresentable instants do not panic");
}

/// A regular n-gon of radius `r` around `c` (longitudes wrapped into range).
fn regular(c: (f64, f64), n: usize, r: f64, phase: f64) -> Vec<(f64, f64)> {
    let ring = (0..n)
        .map(|i| phase + i as f64 * std::f64::consts::TAU / n as f64)
        .map(|t| offset(c, r * t.sin(), r * t.cos()))
        .map(|(lat, lon)| {
            (
                lat,
                if lon > 180.0 {
                    lon - 360.0
                } else if lon < -180.0 {
                    lon + 360.0
                } else {
                    lon
                },
            )
        })
        .collect();
    closed(ring)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn circle_sign_matches_haversine(
        lat in -70.0f64..70.0, lon in -179.0f64..179.0, radius in 20.0f64..=5_000.0,
        dist in 0.0f64..12_000.0, bearing in 0.0f64..std::f64::consts::TAU,
    ) {
        let zone = check("c", &circle_spec((lat, lon), radius)).unwrap();
        let p = offset((lat, lon), dist * bearing.cos(), dist * bearing.sin());
        let truth = haversine_m(lat, lon, p.0, p.1);
        let d = zone.distance_outside_m(p.0, p.1);
        prop_assert_eq!(d > 0.0, truth > radius);
        prop_assert!((d - (truth - radius)).abs() < 1e-6);
    }

    #[test]
    fn regular_polygons_contain_their_centre_and_not_far_points(
        lat in -60.0f64..60.0, lon in -180.0f64..180.0, n in 3usize..=24, r in 30.0f64..2_000.0,
        phase in 0.0f64..1.0, bearing in 0.0f64..std::f64::consts::TAU,
    ) {
        let ring = regular((lat, lon), n, r, phase);
        let zone = check("gon", &polygon_spec(&ring)).unwrap();
        let centre = zone.distance_outside_m(lat, lon);
        let apothem = r * (std::f64::consts::PI / n as f64).cos();
        prop_assert!(centre < 0.0 && (centre + apothem).abs() < 0.01 * apothem + 0.5, "{} vs {}", centre, apothem);
        let far = offset((lat, lon), 3.0 * r * bearing.cos(), 3.0 * r * bearing.sin());
        let far = (far.0, if far.1 > 180.0 { far.1 - 360.0 } else if far.1 < -180.0 { far.1 + 360.0 } else { far.1 });
        let d = zone.distance_outside_m(far.0, far.1);
        prop_assert!(d > 1.95 * r - 1.0 && d < 1.01 * (3.0 * r - apothem) + 1.0, "{} for r {}", d, r);
    }

    #[test]
    fn checking_never_panics(
        coords in prop::collection::vec(prop::collection::vec(prop::num::f64::ANY, 0..4), 0..12),
        name in "\\PC{0,60}", from in "[0-9:]{0,6}",
    ) {
        let mut spec = polygon_spec(&[]);
        spec.name = name;
        spec.polygon.as_mut().unwrap().coordinates = vec![coords];
        spec.active_hours = Some(ActiveHours { from, to: "07:00".into() });
        if let Ok(zone) = check("z", &spec) {
            prop_assert!(zone.distance_outside_m(0.0, 0.0).is_finite());
        }
    }
}
