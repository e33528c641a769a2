//! `petty zones add|list|rm`: a collar's safe zones, checked here before they are sent (the
//! same bounds as the API's: ids, names, radius, the polygon's ring, `HH:MM` hours).

use petty_client::types::{ActiveHours, Polygon, RADIUS_M, RING_POSITIONS, ZONE_NAME_MAX, Zone, ZoneSpec, is_zone_id};
use petty_client::{Client, ZoneWrite};
use serde::Serialize;
use serde_json::Value;

use super::print_json;
use crate::cli::{ZoneAddArgs, ZonesCmd};
use crate::exit::{Exit, Failure, Outcome};
use crate::render;

/// What `petty zones rm --json` prints. The API answers 204 without a body: the zone's ids
/// under the API's names, and `deleted`, always `true`.
#[derive(Serialize)]
struct Removed<'a> {
    collar_id: &'a str,
    zone_id: &'a str,
    deleted: bool,
}

/// `--json` prints the API's [`Zone`] (`add`), [`ZoneList`](petty_client::types::ZoneList)
/// (`list`) or [`Removed`] (`rm`).
pub async fn run(c: &Client, cmd: &ZonesCmd, json: bool) -> Outcome {
    match cmd {
        ZonesCmd::Add(a) => {
            let spec = spec_of(a)?;
            let (zone, how) = c.put_zone(&a.collar, &a.zone, &spec).await?;
            if json {
                print_json(&zone);
            } else {
                let how = match how {
                    ZoneWrite::Created => "created",
                    ZoneWrite::Replaced => "replaced",
                };
                let active = match &zone.spec.active_hours {
                    Some(h) => format!("active {}-{} (the pet's time zone)", h.from, h.to),
                    None => "always active".to_owned(),
                };
                println!(
                    "zone {} {how} on {}: {}, {}, {active}",
                    zone.zone_id,
                    a.collar,
                    zone.spec.name,
                    where_(&zone)
                );
            }
        }
        ZonesCmd::List { collar } => {
            let list = c.zones(collar).await?;
            if json {
                print_json(&list);
            } else if list.zones.is_empty() {
                println!("no zones yet: petty zones add {collar} ZONE --name NAME --circle LON,LAT --radius M");
            } else {
                let rows: Vec<Vec<String>> = list
                    .zones
                    .iter()
                    .map(|z| vec![z.zone_id.clone(), z.spec.name.clone(), shape(&z.spec), active(&z.spec)])
                    .collect();
                print!("{}", render::table(&["ZONE", "NAME", "SHAPE", "ACTIVE"], &rows));
            }
        }
        ZonesCmd::Rm { collar, zone } => {
            check_zone_id(zone).map_err(usage)?;
            c.delete_zone(collar, zone).await?;
            if json {
                print_json(&Removed { collar_id: collar, zone_id: zone, deleted: true });
            } else {
                println!("deleted zone {zone} of {collar}");
            }
        }
    }
    Ok(())
}

fn usage(message: String) -> Failure {
    Failure::new(Exit::Usage, message)
}

/// The zone `add` sends, from its flags (`--polygon`'s file read here).
fn spec_of(a: &ZoneAddArgs) -> Result<ZoneSpec, Failure> {
    check_zone_id(&a.zone).map_err(usage)?;
    let polygon = match a.polygon.as_deref() {
        Some(arg) if arg.trim_start().starts_with('{') => Some(arg.to_owned()),
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| usage(format!("--polygon {path}: {e}")))?),
        None => None,
    };
    let circle = match (a.circle.as_deref(), a.radius) {
        (Some(c), Some(r)) => Some((c, r)),
        _ => None,
    };
    zone_spec(&a.name, circle, polygon.as_deref(), a.active.as_deref()).map_err(usage)
}

/// A zone id: [`is_zone_id`], and not `-` alone (it stands for "no zone" inside alert ids).
fn check_zone_id(id: &str) -> Result<(), String> {
    if is_zone_id(id) { Ok(()) } else { Err(format!("zone id {id:?}: 1 to 32 of a-z, 0-9 and - (not - alone)")) }
}

/// A zone from its parts: a circle (`LON,LAT` and a radius) or a polygon's GeoJSON text, and
/// optional `HH:MM-HH:MM` hours. `Err` names the flag and the rule.
pub fn zone_spec(
    name: &str,
    circle: Option<(&str, f64)>,
    polygon: Option<&str>,
    active: Option<&str>,
) -> Result<ZoneSpec, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > ZONE_NAME_MAX || name.chars().any(char::is_control) {
        return Err(format!("--name: 1 to {ZONE_NAME_MAX} printable characters"));
    }
    let mut spec = ZoneSpec { name: name.to_owned(), center: None, radius_m: None, polygon: None, active_hours: None };
    match (circle, polygon) {
        (Some((center, radius)), None) => {
            spec.center = Some(parse_center(center).map_err(|e| format!("--circle: {e}"))?);
            if !RADIUS_M.contains(&radius) {
                return Err(format!("--radius: {radius} m is not from {} to {} m", RADIUS_M.start(), RADIUS_M.end()));
            }
            spec.radius_m = Some(radius);
        }
        (None, Some(text)) => spec.polygon = Some(parse_polygon(text).map_err(|e| format!("--polygon: {e}"))?),
        _ => return Err("a zone is a circle (--circle and --radius) or a --polygon, one of them".into()),
    }
    if let Some(hours) = active {
        spec.active_hours = Some(parse_active(hours).map_err(|e| format!("--active: {e}"))?);
    }
    Ok(spec)
}

/// `LON,LAT` (degrees) as GeoJSON's `[lon, lat]`.
pub fn parse_center(s: &str) -> Result<Vec<f64>, String> {
    let Some((lon, lat)) = s.split_once(',') else { return Err(format!("{s:?} is not LON,LAT")) };
    let number = |v: &str, what: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{what} {:?} is not a number", v.trim()))
    };
    let (lon, lat) = (number(lon, "longitude")?, number(lat, "latitude")?);
    check_position(lon, lat)?;
    Ok(vec![lon, lat])
}

fn check_position(lon: f64, lat: f64) -> Result<(), String> {
    if !(-180.0..=180.0).contains(&lon) {
        return Err(format!("longitude {lon} is not from -180 to 180"));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(format!("latitude {lat} is not from -90 to 90 (the longitude comes first)"));
    }
    Ok(())
}

/// A GeoJSON Polygon, or a Feature whose geometry is one: one closed ring of 4 to 50
/// `[lon, lat]` positions (no holes, no altitudes). Members besides `type` and `coordinates`
/// (`bbox`, a Feature's `properties`) are dropped.
pub fn parse_polygon(text: &str) -> Result<Polygon, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let geometry = match value.get("type").and_then(Value::as_str) {
        Some("Polygon") => &value,
        Some("Feature") => match value.get("geometry") {
            Some(g) if g.get("type").and_then(Value::as_str) == Some("Polygon") => g,
            _ => return Err("the Feature's geometry is not a Polygon".into()),
        },
        Some(other) => return Err(format!("a {other}, not a Polygon")),
        None => return Err(r#"not GeoJSON: {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}"#.into()),
    };
    let rings: Vec<Vec<Vec<f64>>> = geometry
        .get("coordinates")
        .cloned()
        .and_then(|c| serde_json::from_value(c).ok())
        .ok_or("coordinates must be [[[lon, lat], ...]] (numbers)")?;
    let ring = match rings.as_slice() {
        [ring] => ring,
        [] => return Err("no ring".into()),
        _ => return Err(format!("{} rings: one outer ring only (holes are not supported)", rings.len())),
    };
    if !RING_POSITIONS.contains(&ring.len()) {
        return Err(format!(
            "the ring has {} positions, not {} to {} (closed: the first repeated last)",
            ring.len(),
            RING_POSITIONS.start(),
            RING_POSITIONS.end()
        ));
    }
    for (i, p) in ring.iter().enumerate() {
        match p.as_slice() {
            [lon, lat] => check_position(*lon, *lat).map_err(|e| format!("position {}: {e}", i + 1))?,
            _ => return Err(format!("position {}: [lon, lat] only, not {} numbers", i + 1, p.len())),
        }
    }
    if ring.first() != ring.last() {
        return Err("the ring is not closed: repeat the first position last".into());
    }
    Ok(Polygon { kind: "Polygon".into(), coordinates: rings })
}

/// `HH:MM-HH:MM` (`7:00` is read as `07:00`); the two must differ.
pub fn parse_active(s: &str) -> Result<ActiveHours, String> {
    parse_hours(s, "leave --active out to watch the zone always")
}

/// `HH:MM-HH:MM` hours (zones' active hours, notifications' quiet hours); `empty_hint` says
/// what to do instead of giving two equal times.
pub fn parse_hours(s: &str, empty_hint: &str) -> Result<ActiveHours, String> {
    let Some((from, to)) = s.split_once('-') else { return Err(format!("{s:?} is not HH:MM-HH:MM")) };
    let time = |t: &str| {
        chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
            .map(|t| t.format("%H:%M").to_string())
            .map_err(|_| format!("{:?} is not a time of day, HH:MM (00:00 to 23:59)", t.trim()))
    };
    let (from, to) = (time(from)?, time(to)?);
    if from == to {
        return Err(format!("{from}-{to} is empty: {empty_hint}"));
    }
    Ok(ActiveHours { from, to })
}

/// `circle 150 m` or `polygon 5 pts` (its corners: a closed ring's last position is not one).
pub fn shape(spec: &ZoneSpec) -> String {
    match (&spec.polygon, spec.radius_m) {
        (Some(p), _) => {
            let ring = p.coordinates.first().map(Vec::as_slice).unwrap_or_default();
            let closed = ring.len() > 1 && ring.first() == ring.last();
            format!("polygon {} pts", ring.len() - usize::from(closed))
        }
        (None, Some(r)) => format!("circle {r} m"),
        (None, None) => "-".to_owned(),
    }
}

/// `22:00-07:00`, or `always`.
pub fn active(spec: &ZoneSpec) -> String {
    spec.active_hours.as_ref().map(|h| format!("{}-{}", h.from, h.to)).unwrap_or_else(|| "always".into())
}

/// The shape and, for a circle, where it is (latitude first, as `petty realtime` shows places).
fn where_(zone: &Zone) -> String {
    match zone.spec.center.as_deref() {
        Some([lon, lat]) => format!("{} around ({lat:.5}, {lon:.5})", shape(&zone.spec)),
        _ => shape(&zone.spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str =
        r#"{"type":"Polygon","coordinates":[[[13.40,52.50],[13.41,52.50],[13.41,52.51],[13.40,52.51],[13.40,52.50]]]}"#;

    #[test]
    fn circles_are_lon_lat_within_bounds() {
        assert_eq!(parse_center("-74.006,40.7128").unwrap(), [-74.006, 40.7128]);
        assert_eq!(parse_center(" 13.4 , 52.5 ").unwrap(), [13.4, 52.5]);
        assert_eq!(parse_center("13.4").unwrap_err(), r#""13.4" is not LON,LAT"#);
        assert_eq!(parse_center("east,52").unwrap_err(), r#"longitude "east" is not a number"#);
        assert_eq!(parse_center("13,52,7").unwrap_err(), r#"latitude "52,7" is not a number"#);
        assert_eq!(parse_center("181,0").unwrap_err(), "longitude 181 is not from -180 to 180");
        assert!(parse_center("40,-100").unwrap_err().contains("latitude -100"));
        assert!(parse_center("NaN,1").is_err() && parse_center("inf,1").is_err());

        let spec = zone_spec(" Home ", Some(("13.4,52.5", 150.0)), None, None).unwrap();
        assert_eq!((spec.name.as_str(), spec.center, spec.radius_m), ("Home", Some(vec![13.4, 52.5]), Some(150.0)));
        assert_eq!((spec.polygon, spec.active_hours), (None, None));
        assert_eq!(
            zone_spec("Home", Some(("13.4,52.5", 19.9)), None, None).unwrap_err(),
            "--radius: 19.9 m is not from 20 to 5000 m"
        );
        assert!(zone_spec("Home", Some(("13.4,52.5", 5000.0)), None, None).is_ok());
        assert!(zone_spec("Home", Some(("x", 150.0)), None, None).unwrap_err().starts_with("--circle: "));
    }

    #[test]
    fn names_and_shapes_are_checked() {
        assert!(zone_spec("", Some(("0,0", 50.0)), None, None).unwrap_err().starts_with("--name"));
        assert!(zone_spec(&"n".repeat(51), Some(("0,0", 50.0)), None, None).is_err());
        assert!(zone_spec(&"n".repeat(50), Some(("0,0", 50.0)), None, None).is_ok());
        assert!(zone_spec("a\tb", Some(("0,0", 50.0)), None, None).is_err());
        assert!(zone_spec("Home", None, None, None).unwrap_err().contains("one of them"));
        assert!(zone_spec("Home", Some(("0,0", 50.0)), Some(SQUARE), None).unwrap_err().contains("one of them"));
        assert!(check_zone_id("back-yard-2").is_ok());
        assert_eq!(
            check_zone_id("Back_Yard").unwrap_err(),
            r#"zone id "Back_Yard": 1 to 32 of a-z, 0-9 and - (not - alone)"#
        );
        assert!(check_zone_id("-").is_err() && check_zone_id("--").is_ok() && check_zone_id(&"a".repeat(33)).is_err());
    }

    #[test]
    fn polygons_are_one_closed_ring_of_lon_lat() {
        let p = parse_polygon(SQUARE).unwrap();
        assert_eq!(p.kind, "Polygon");
        assert_eq!(p.coordinates[0].len(), 5);
        assert_eq!(p.coordinates[0][2], [13.41, 52.51]);
        let feature = format!(r#"{{"type":"Feature","properties":{{"name":"park"}},"geometry":{SQUARE}}}"#);
        assert_eq!(parse_polygon(&feature).unwrap(), p, "a Feature's geometry, its properties dropped");
        let with_bbox = SQUARE.replacen('{', r#"{"bbox":[13.40,52.50,13.41,52.51],"#, 1);
        assert_eq!(parse_polygon(&with_bbox).unwrap(), p);

        let err = |text: &str| parse_polygon(text).unwrap_err();
        assert_eq!(err(r#"{"type":"Point","coordinates":[1,2]}"#), "a Point, not a Polygon");
        assert_eq!(
            err(r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}}"#),
            "the Feature's geometry is not a Polygon"
        );
        assert!(err("[1, 2]").starts_with("not GeoJSON"));
        assert!(err("{nope").starts_with("not JSON"));
        assert_eq!(
            err(r#"{"type":"Polygon","coordinates":[["a"]]}"#),
            "coordinates must be [[[lon, lat], ...]] (numbers)"
        );
        assert_eq!(err(r#"{"type":"Polygon","coordinates":[]}"#), "no ring");
        let hole =
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0.1,0.1],[0.2,0.1],[0.2,0.2],[0.1,0.1]]]}"#;
        assert_eq!(err(hole), "2 rings: one outer ring only (holes are not supported)");
        assert_eq!(
            err(r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}"#),
            "the ring has 3 positions, not 4 to 50 (closed: the first repeated last)"
        );
        let open = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#;
        assert_eq!(err(open), "the ring is not closed: repeat the first position last");
        let altitude = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0,5],[1,1],[0,0]]]}"#;
        assert_eq!(err(altitude), "position 2: [lon, lat] only, not 3 numbers");
        let far = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,95],[0,0]]]}"#;
        assert!(err(far).starts_with("position 3: latitude 95"));
        let big: Vec<String> = (0..51).map(|i| format!("[{}, 0]", f64::from(i) / 100.0)).collect();
        assert!(err(&format!(r#"{{"type":"Polygon","coordinates":[[{}]]}}"#, big.join(","))).contains("51 positions"));

        let spec = zone_spec("Park", None, Some(SQUARE), Some("22:00-07:00")).unwrap();
        assert_eq!((spec.center, spec.radius_m, spec.polygon), (None, None, Some(p)));
        assert!(zone_spec("Park", None, Some("{}"), None).unwrap_err().starts_with("--polygon: "));
    }

    #[test]
    fn active_hours_are_two_different_times_of_day() {
        let h = parse_active("22:00-07:00").unwrap();
        assert_eq!((h.from.as_str(), h.to.as_str()), ("22:00", "07:00"));
        let h = parse_active(" 7:05 - 9:30 ").unwrap();
        assert_eq!((h.from.as_str(), h.to.as_str()), ("07:05", "09:30"), "normalised to HH:MM");
        assert_eq!(parse_active("00:00-23:59").unwrap().to, "23:59");
        assert_eq!(parse_active("22:00").unwrap_err(), r#""22:00" is not HH:MM-HH:MM"#);
        assert_eq!(parse_active("24:00-07:00").unwrap_err(), r#""24:00" is not a time of day, HH:MM (00:00 to 23:59)"#);
        assert!(
            parse_active("22:60-07:00").is_err()
                && parse_active("22-07").is_err()
                && parse_active("22:00:00-07:00").is_err()
        );
        assert!(parse_active("08:00-08:00").unwrap_err().contains("is empty"));
        assert!(zone_spec("Home", Some(("0,0", 50.0)), None, Some("8-9")).unwrap_err().starts_with("--active: "));
    }

    #[test]
    fn shapes_and_hours_summarised() {
        let circle = zone_spec("Home", Some(("13.4,52.5", 150.0)), None, None).unwrap();
        assert_eq!((shape(&circle), active(&circle)), ("circle 150 m".to_owned(), "always".to_owned()));
        let square = zone_spec("Park", None, Some(SQUARE), Some("22:00-07:00")).unwrap();
        assert_eq!((shape(&square), active(&square)), ("polygon 4 pts".to_owned(), "22:00-07:00".to_owned()));
        let zone = Zone { zone_id: "home".into(), spec: circle, updated_at: String::new() };
        assert_eq!(where_(&zone), "circle 150 m around (52.50000, 13.40000)");
    }
}
