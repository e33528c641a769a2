//! `petty alert-settings`: which alerts a collar raises, and their thresholds; with flags, read,
//! changed as they say, and written back whole (the API's `PUT` replaces the settings).

use petty_client::Client;
use petty_client::types::{AlertSettings, AlertType};

use super::print_json;
use crate::cli::AlertSettingsArgs;
use crate::exit::{Exit, Failure, Outcome};

/// What the flags change; `None` and empty lists leave a setting as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub disable: Vec<AlertType>,
    pub enable: Vec<AlertType>,
    pub battery_low_pct: Option<u8>,
    pub offline_after_min: Option<u32>,
    pub heart_rate_sustained_min: Option<u32>,
}

impl Changes {
    fn of(a: &AlertSettingsArgs) -> Result<Self, Failure> {
        let types = |names: &[String]| {
            names
                .iter()
                .map(|n| {
                    AlertType::parse(n).ok_or_else(|| Failure::new(Exit::Usage, format!("unknown alert type {n:?}")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            disable: types(&a.disable)?,
            enable: types(&a.enable)?,
            battery_low_pct: a.battery_low,
            offline_after_min: a.offline_after,
            heart_rate_sustained_min: a.hr_sustained,
        })
    }

    fn is_empty(&self) -> bool {
        self.disable.is_empty()
            && self.enable.is_empty()
            && self.battery_low_pct.is_none()
            && self.offline_after_min.is_none()
            && self.heart_rate_sustained_min.is_none()
    }
}

/// `current` changed as `changes` say: `disabled` keeps its order of types and no repeats.
pub fn apply(current: &AlertSettings, changes: &Changes) -> Result<AlertSettings, String> {
    if let Some(both) = changes.disable.iter().find(|t| changes.enable.contains(t)) {
        return Err(format!("{} is both in --disable and --enable", both.as_str()));
    }
    let mut next = current.clone();
    next.disabled.extend(&changes.disable);
    next.disabled.retain(|t| !changes.enable.contains(t));
    next.disabled.sort();
    next.disabled.dedup();
    next.battery_low_pct = changes.battery_low_pct.unwrap_or(next.battery_low_pct);
    next.offline_after_min = changes.offline_after_min.unwrap_or(next.offline_after_min);
    next.heart_rate_sustained_min = changes.heart_rate_sustained_min.unwrap_or(next.heart_rate_sustained_min);
    next.validate()?;
    Ok(next)
}

/// `petty alert-settings`; `--json` prints the API's [`AlertSettings`] (after a change: as the
/// `PUT` answered them).
pub async fn run(c: &Client, a: &AlertSettingsArgs, json: bool) -> Outcome {
    let changes = Changes::of(a)?;
    let current = c.alert_settings(&a.collar).await?;
    let (settings, note) = if changes.is_empty() {
        (current, "")
    } else {
        let next = apply(&current, &changes).map_err(|e| Failure::new(Exit::Usage, e))?;
        if next == current {
            (current, " (unchanged)")
        } else {
            (c.put_alert_settings(&a.collar, &next).await?, " (saved)")
        }
    };
    if json {
        print_json(&settings);
    } else {
        print!("alert settings of {}{note}\n{}", a.collar, describe(&settings));
    }
    Ok(())
}

/// Every type, on or off, with the threshold it has.
pub fn describe(s: &AlertSettings) -> String {
    let mut out = String::new();
    for t in AlertType::ALL {
        let when = match t {
            AlertType::HeartRateHighAtRest => format!("after {} min at rest", s.heart_rate_sustained_min),
            AlertType::BatteryLow => format!("below {}%", s.battery_low_pct),
            AlertType::CollarOffline => format!("after {} min without a reading", s.offline_after_min),
            _ => String::new(),
        };
        let state = if s.enabled(t) { "on" } else { "off" };
        out += format!("  {:<24} {state:<4} {when}", t.as_str()).trim_end();
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_merge_into_the_current_settings() {
        let current = AlertSettings { disabled: vec![AlertType::CollarOffline], ..AlertSettings::default() };
        let changes = Changes {
            disable: vec![AlertType::BatteryLow, AlertType::ZoneExit, AlertType::BatteryLow],
            enable: vec![AlertType::CollarOffline],
            offline_after_min: Some(60),
            ..Changes::default()
        };
        let next = apply(&current, &changes).unwrap();
        assert_eq!(next.disabled, [AlertType::ZoneExit, AlertType::BatteryLow]);
        assert_eq!((next.battery_low_pct, next.offline_after_min, next.heart_rate_sustained_min), (15, 60, 10));
        assert_eq!(apply(&next, &Changes::default()).unwrap(), next, "no flags, no change");
        let already = Changes { disable: vec![AlertType::ZoneExit], ..Changes::default() };
        assert_eq!(apply(&next, &already).unwrap(), next);
    }

    #[test]
    fn contradictions_and_bounds_are_refused() {
        let both =
            Changes { disable: vec![AlertType::ZoneExit], enable: vec![AlertType::ZoneExit], ..Changes::default() };
        assert_eq!(apply(&AlertSettings::default(), &both).unwrap_err(), "zone_exit is both in --disable and --enable");
        let low = Changes { battery_low_pct: Some(60), ..Changes::default() };
        assert_eq!(apply(&AlertSettings::default(), &low).unwrap_err(), "battery_low_pct must be from 5 to 50");
    }

    #[test]
    fn every_type_is_described() {
        let s = AlertSettings { disabled: vec![AlertType::BatteryLow], ..AlertSettings::default() };
        assert_eq!(
            describe(&s),
            "  zone_exit                on
  heart_rate_high_at_rest  on   after 10 min at rest
  temperature_high         on
  temperature_low          on
  battery_low              off  below 15%
  collar_offline           on   after 30 min without a reading
"
        );
    }
}
