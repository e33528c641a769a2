//! Alert ids and the keys of open alerts. Ids are deterministic (the same condition confirmed
//! by the same reading is the same alert), so a retried batch or a re-run sweep writes the
//! same item instead of a duplicate; they are parsed strictly because clients send them back.

use petty_api::alerts::{AlertType, is_zone_id};
use petty_api::collars::is_collar_id;

/// The parts of a well-formed alert id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertKey {
    pub collar_id: String,
    pub kind: AlertType,
    pub zone_id: Option<String>,
    pub opened_ms: i64,
}

/// `<collar_id>.<type>.<zone_id or ->.<opened_ms>`.
pub fn alert_id(collar_id: &str, kind: AlertType, zone_id: Option<&str>, opened_ms: i64) -> String {
    format!("{collar_id}.{}.{}.{opened_ms}", kind.as_str(), zone_id.unwrap_or("-"))
}

/// The parts of an id [`alert_id`] made; `None` for anything else (a valid collar id, a
/// known type, `-` or a valid zone id, and a non-negative decimal without sign or leading
/// zeros).
pub fn parse_alert_id(id: &str) -> Option<AlertKey> {
    let mut parts = id.split('.');
    let collar_id = parts.next().filter(|c| is_collar_id(c))?;
    let kind = AlertType::parse(parts.next()?)?;
    let zone_id = match parts.next()? {
        "-" => None,
        z if is_zone_id(z) => Some(z.to_owned()),
        _ => return None,
    };
    let ms = parts.next()?;
    if parts.next().is_some()
        || ms.is_empty()
        || !ms.bytes().all(|b| b.is_ascii_digit())
        || (ms.len() > 1 && ms.starts_with('0'))
    {
        return None;
    }
    Some(AlertKey { collar_id: collar_id.to_owned(), kind, zone_id, opened_ms: ms.parse().ok()? })
}

/// The key of an open alert in [`super::CollarState::open`]: `<type>` or `<type>#<zone_id>`.
pub fn open_key(kind: AlertType, zone_id: Option<&str>) -> String {
    match zone_id {
        Some(z) => format!("{}#{z}", kind.as_str()),
        None => kind.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_have_the_documented_form() {
        assert_eq!(
            alert_id("AB-1234", AlertType::ZoneExit, Some("home"), 1_700_000_000_000),
            "AB-1234.zone_exit.home.1700000000000"
        );
        assert_eq!(alert_id("AB-1234", AlertType::BatteryLow, None, 5), "AB-1234.battery_low.-.5");
        assert_eq!(open_key(AlertType::ZoneExit, Some("home")), "zone_exit#home");
        assert_eq!(open_key(AlertType::CollarOffline, None), "collar_offline");
        let key = parse_alert_id("AB-1234.zone_exit.home.17").unwrap();
        assert_eq!(
            key,
            AlertKey {
                collar_id: "AB-1234".into(),
                kind: AlertType::ZoneExit,
                zone_id: Some("home".into()),
                opened_ms: 17
            }
        );
        assert_eq!(parse_alert_id("AB-1234.battery_low.-.0").unwrap().zone_id, None);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "AB-1234",
            "AB-1234.zone_exit.home",
            "ab-1234.zone_exit.home.1",
            "AB-1234.zone_exits.home.1",
            "AB-1234.zone_exit.Home.1",
            "AB-1234.zone_exit..1",
            "AB-1234.zone_exit.home.+1",
            "AB-1234.zone_exit.home.-1",
            "AB-1234.zone_exit.home.01",
            "AB-1234.zone_exit.home.1.2",
            "AB-1234.zone_exit.home.",
            "AB-1234.zone_exit.home.1 ",
            "AB-1234.zone_exit.home.99999999999999999999",
        ] {
            assert_eq!(parse_alert_id(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn ids_round_trip(
            collar in "[A-Z]{2}-[0-9]{3,6}",
            kind in prop::sample::select(AlertType::ALL.to_vec()),
            zone in proptest::option::of("[a-z0-9-]{1,32}".prop_filter("'-' means no zone", |z| z != "-")),
            opened_ms in 0i64..=i64::MAX,
        ) {
            let id = alert_id(&collar, kind, zone.as_deref(), opened_ms);
            let key = parse_alert_id(&id).unwrap();
            prop_assert_eq!(key, AlertKey { collar_id: collar, kind, zone_id: zone, opened_ms });
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,60}") {
            if let Some(key) = parse_alert_id(&s) {
                prop_assert_eq!(alert_id(&key.collar_id, key.kind, key.zone_id.as_deref(), key.opened_ms), s);
            }
        }
    }
}
