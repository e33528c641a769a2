//! `petty notifications settings|test`: which alerts go to which channels, quiet hours and
//! resolutions (with flags: read, changed as they say, and written back whole, since the API's
//! `PUT` replaces the settings), and a test to every destination.

use petty_client::Client;
use petty_client::types::{ActiveHours, AlertType, Channel, NotificationSettings, QuietHours};

use super::print_json;
use crate::cli::{NotificationSettingsArgs, NotificationsCmd};
use crate::exit::{Exit, Failure, Outcome};

/// `--json` prints the API's [`NotificationSettings`] (`settings`; after a change as the `PUT`
/// answered them) or [`TestQueued`](petty_client::types::TestQueued) (`test`).
pub async fn run(c: &Client, cmd: &NotificationsCmd, json: bool) -> Outcome {
    match cmd {
        NotificationsCmd::Settings(a) => settings(c, a, json).await,
        NotificationsCmd::Test => {
            let queued = c.send_test().await?;
            if json {
                print_json(&queued);
            } else if queued.deliveries.is_empty() {
                println!("test {} queued, but you have no destination: petty webhooks add URL", queued.test_id);
            } else {
                let n = queued.deliveries.len();
                println!("test {} queued to {n} destination{}:", queued.test_id, if n == 1 { "" } else { "s" });
                for t in &queued.deliveries {
                    println!("  {:<8} {}", t.channel.as_str(), t.destination_id);
                }
                eprintln!("deliveries arrive within seconds; a webhook that fails shows in `petty webhooks list`");
            }
            Ok(())
        }
    }
}

/// What the flags change; `None` and an empty list leave a setting as it is.
#[derive(Debug, Default)]
pub struct Changes {
    /// `Some(None)`: `--quiet off`.
    pub quiet: Option<Option<ActiveHours>>,
    pub timezone: Option<String>,
    pub hold_urgent: Option<bool>,
    pub resolved: Option<bool>,
    pub channels: Vec<(AlertType, Vec<Channel>)>,
}

impl Changes {
    fn of(a: &NotificationSettingsArgs) -> Result<Self, String> {
        let quiet = a.quiet.as_deref().map(parse_quiet).transpose().map_err(|e| format!("--quiet: {e}"))?;
        let mut channels: Vec<(AlertType, Vec<Channel>)> = Vec::new();
        for arg in &a.channels {
            let (kind, list) = parse_channels(arg).map_err(|e| format!("--channels: {e}"))?;
            if channels.iter().any(|(k, _)| *k == kind) {
                return Err(format!("--channels: {} given twice", kind.as_str()));
            }
            channels.push((kind, list));
        }
        Ok(Self {
            quiet,
            timezone: a.timezone.clone(),
            hold_urgent: a.hold_urgent.map(|o| o.is_on()),
            resolved: a.resolved.map(|o| o.is_on()),
            channels,
        })
    }

    fn is_empty(&self) -> bool {
        self.quiet.is_none()
            && self.timezone.is_none()
            && self.hold_urgent.is_none()
            && self.resolved.is_none()
            && self.channels.is_empty()
    }
}

/// `off`, or `HH:MM-HH:MM` (`7:00` is read as `07:00`); the two must differ.
fn parse_quiet(s: &str) -> Result<Option<ActiveHours>, String> {
    if s.trim() == "off" {
        return Ok(None);
    }
    super::zones::parse_hours(s, "--quiet off turns quiet hours off").map(Some)
}

/// `TYPE=webhook,email,push` or `TYPE=none`.
fn parse_channels(s: &str) -> Result<(AlertType, Vec<Channel>), String> {
    let Some((kind, list)) = s.split_once('=') else { return Err(format!("{s:?} is not TYPE=CHANNEL,...")) };
    let types = || AlertType::ALL.map(AlertType::as_str).join(", ");
    let kind = AlertType::parse(kind.trim())
        .ok_or_else(|| format!("unknown alert type {:?} (one of {})", kind.trim(), types()))?;
    if list.trim() == "none" {
        return Ok((kind, Vec::new()));
    }
    let mut channels = list
        .split(',')
        .map(|c| {
            Channel::parse(c.trim())
                .ok_or_else(|| format!("unknown channel {:?} (webhook, email, push or none)", c.trim()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    channels.sort();
    channels.dedup();
    Ok((kind, channels))
}

/// `current` changed as `changes` say. `--timezone` and `--hold-urgent` change the quiet hours
/// given with them or those already set; without either they are refused.
pub fn apply(current: &NotificationSettings, changes: &Changes) -> Result<NotificationSettings, String> {
    let mut next = current.clone();
    let tunes_quiet = changes.timezone.is_some() || changes.hold_urgent.is_some();
    next.quiet_hours = match (&changes.quiet, &current.quiet_hours) {
        (Some(None), _) if tunes_quiet => {
            return Err("--quiet off removes quiet hours: --timezone and --hold-urgent have nothing to change".into());
        }
        (Some(None), _) => None,
        (None, None) if tunes_quiet => {
            return Err("no quiet hours to change: give them with --quiet HH:MM-HH:MM".into());
        }
        (None, None) => None,
        (Some(Some(hours)), before) => Some(QuietHours {
            hours: hours.clone(),
            timezone: before.as_ref().map(|q| q.timezone.clone()).unwrap_or_else(|| "UTC".into()),
            hold_urgent: before.as_ref().is_some_and(|q| q.hold_urgent),
        }),
        (None, Some(q)) => Some(q.clone()),
    };
    if let Some(q) = next.quiet_hours.as_mut() {
        if let Some(tz) = &changes.timezone {
            q.timezone = tz.trim().to_owned();
        }
        if let Some(hold) = changes.hold_urgent {
            q.hold_urgent = hold;
        }
    }
    if let Some(resolved) = changes.resolved {
        next.notify_resolved = resolved;
    }
    for (kind, list) in &changes.channels {
        next.channels.insert(*kind, list.clone());
    }
    let next = next.normalized();
    next.validate()?;
    Ok(next)
}

async fn settings(c: &Client, a: &NotificationSettingsArgs, json: bool) -> Outcome {
    let changes = Changes::of(a).map_err(|e| Failure::new(Exit::Usage, e))?;
    let current = c.notification_settings().await?;
    let (settings, note) = if changes.is_empty() {
        (current, "")
    } else {
        let next = apply(&current, &changes).map_err(|e| Failure::new(Exit::Usage, e))?;
        if next == current.clone().normalized() {
            (current, " (unchanged)")
        } else {
            (c.put_notification_settings(&next).await?, " (saved)")
        }
    };
    if json {
        print_json(&settings);
    } else {
        print!("notification settings{note}\n{}", describe(&settings));
    }
    Ok(())
}

/// Every alert type with its channels, then quiet hours and resolutions.
pub fn describe(s: &NotificationSettings) -> String {
    let mut out = String::new();
    for t in AlertType::ALL {
        let channels = match s.channels.get(&t) {
            None => Channel::ALL.map(Channel::as_str).join(", "),
            Some(list) if list.is_empty() => "none".to_owned(),
            Some(list) => list.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
        };
        out += &format!("  {:<24} {channels}\n", t.as_str());
    }
    let quiet = match &s.quiet_hours {
        Some(q) => format!(
            "{}-{} {} ({})",
            q.hours.from,
            q.hours.to,
            q.timezone,
            if q.hold_urgent { "every alert waits" } else { "battery_low and collar_offline wait, the others pass" }
        ),
        None => "none".to_owned(),
    };
    out += &format!("  quiet hours              {quiet}\n");
    let resolved = if s.notify_resolved { "delivered too" } else { "not delivered (openings only)" };
    out += &format!("  resolved alerts          {resolved}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(quiet: Option<&str>, timezone: Option<&str>, hold: Option<bool>) -> Changes {
        Changes {
            quiet: quiet.map(|q| parse_quiet(q).unwrap()),
            timezone: timezone.map(str::to_owned),
            hold_urgent: hold,
            ..Changes::default()
        }
    }

    #[test]
    fn quiet_hours_are_set_tuned_and_removed() {
        let none = NotificationSettings::default();
        let set = apply(&none, &changes(Some("22:00-7:00"), Some("Europe/Berlin"), None)).unwrap();
        let q = set.quiet_hours.clone().unwrap();
        assert_eq!(
            (q.hours.from.as_str(), q.hours.to.as_str(), q.timezone.as_str(), q.hold_urgent),
            ("22:00", "07:00", "Europe/Berlin", false)
        );
        let held = apply(&set, &changes(None, None, Some(true))).unwrap();
        assert_eq!(
            held.quiet_hours.as_ref().map(|q| (q.timezone.as_str(), q.hold_urgent)),
            Some(("Europe/Berlin", true))
        );
        let moved = apply(&held, &changes(Some("23:00-06:00"), None, None)).unwrap();
        assert_eq!(
            moved.quiet_hours.map(|q| (q.hours.from, q.timezone, q.hold_urgent)),
            Some(("23:00".into(), "Europe/Berlin".into(), true)),
            "new hours keep the zone and the hold"
        );
        assert_eq!(apply(&held, &changes(Some("off"), None, None)).unwrap().quiet_hours, None);
        assert_eq!(
            apply(&none, &changes(None, Some("UTC"), None)).unwrap_err(),
            "no quiet hours to change: give them with --quiet HH:MM-HH:MM"
        );
        assert!(apply(&held, &changes(Some("off"), None, Some(false))).is_err());
        assert!(
            apply(&none, &changes(Some("22:00-07:00"), Some("Mars/Olympus"), None)).unwrap_err().contains("timezone")
        );
        assert!(parse_quiet("22:00-22:00").unwrap_err().contains("--quiet off"));
        assert!(parse_quiet("late").is_err() && parse_quiet("25:00-07:00").is_err());
    }

    #[test]
    fn channels_and_resolutions_change_only_what_is_named() {
        let (kind, list) = parse_channels("battery_low=push,webhook,push").unwrap();
        assert_eq!((kind, list.as_slice()), (AlertType::BatteryLow, [Channel::Webhook, Channel::Push].as_slice()));
        assert_eq!(parse_channels("collar_offline=none").unwrap().1, []);
        assert!(parse_channels("zone_exit=sms").unwrap_err().contains("\"sms\""));
        assert!(parse_channels("escape=push").unwrap_err().contains("unknown alert type"));
        let c = Changes {
            channels: vec![(AlertType::BatteryLow, vec![Channel::Push]), (AlertType::CollarOffline, vec![])],
            resolved: Some(true),
            ..Changes::default()
        };
        let next = apply(&NotificationSettings::default(), &c).unwrap();
        assert_eq!(next.channels[&AlertType::BatteryLow], [Channel::Push]);
        assert!(next.channels[&AlertType::CollarOffline].is_empty());
        assert_eq!(next.channels[&AlertType::ZoneExit], Channel::ALL);
        assert!(next.notify_resolved && next.quiet_hours.is_none());
        assert_eq!(apply(&next, &Changes::default()).unwrap(), next, "no flags, no change");
    }

    #[test]
    fn settings_are_described_type_by_type() {
        let mut s = NotificationSettings::default();
        s.channels.insert(AlertType::BatteryLow, vec![Channel::Push]);
        s.channels.insert(AlertType::CollarOffline, vec![]);
        s.quiet_hours = Some(QuietHours {
            hours: ActiveHours { from: "22:00".into(), to: "07:00".into() },
            timezone: "Europe/Berlin".into(),
            hold_urgent: false,
        });
        assert_eq!(
            describe(&s),
            "  zone_exit                webhook, email, push
  heart_rate_high_at_rest  webhook, email, push
  temperature_high         webhook, email, push
  temperature_low          webhook, email, push
  battery_low              push
  collar_offline           none
  quiet hours              22:00-07:00 Europe/Berlin (battery_low and collar_offline wait, the others pass)
  resolved alerts          not delivered (openings only)
"
        );
    }
}
