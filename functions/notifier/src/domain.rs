//! The notifier's pure rules: when to try again, what quiet hours hold back, how a webhook's
//! answer is read, and the words of an e-mail and a push. No I/O; tested here.

use chrono::{Duration, NaiveTime, TimeZone, Timelike};
use petty_shared::api::alerts::{Alert, AlertType};
use petty_shared::api::notifications::{EventKind, QuietHours, is_urgent, minute_of_day};

/// Retries: exponential from `base_ms`, capped at `cap_ms`, with equal jitter (half fixed,
/// half spread), at most `max_attempts` in all and none later than `deadline_ms` after the
/// first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base_ms: i64,
    pub cap_ms: i64,
    pub max_attempts: u32,
    pub deadline_ms: i64,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min … capped at 6 h: 12 attempts over 7 to 14.5 h (jitter), within 24 h.
    fn default() -> Self {
        Self { base_ms: 30_000, cap_ms: 6 * 3_600_000, max_attempts: 12, deadline_ms: 24 * 3_600_000 }
    }
}

impl RetryPolicy {
    /// When attempt `attempt + 1` runs after attempt `attempt` (1-based) failed at `now_ms`,
    /// or `None` when no attempt is left. `seed` spreads the jitter (a hash of the delivery).
    pub fn next_attempt_ms(&self, attempt: u32, first_ms: i64, now_ms: i64, seed: u64) -> Option<i64> {
        if attempt >= self.max_attempts {
            return None;
        }
        let ceiling = self.base_ms.saturating_mul(1i64 << (attempt - 1).min(40)).min(self.cap_ms);
        let spread = ceiling / 2;
        let jitter = if spread > 0 { (splitmix(seed ^ u64::from(attempt)) % spread as u64) as i64 } else { 0 };
        let at = now_ms + ceiling - spread + jitter;
        (at <= first_ms + self.deadline_ms).then_some(at)
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A stable 64-bit hash (FNV-1a) of a delivery's id, the jitter's seed.
pub fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// When quiet hours release an alert of `kind` raised at `now_ms`: `None` to deliver now.
pub fn quiet_release_ms(quiet: Option<&QuietHours>, kind: AlertType, now_ms: i64) -> Option<i64> {
    let q = quiet?;
    if is_urgent(kind) && !q.hold_urgent {
        return None;
    }
    let (from, to) = (minute_of_day(&q.hours.from)?, minute_of_day(&q.hours.to)?);
    let tz: chrono_tz::Tz = q.timezone.parse().ok()?;
    let local = chrono::DateTime::from_timestamp_millis(now_ms)?.with_timezone(&tz);
    let m = (local.hour() * 60 + local.minute()) as u16;
    let quiet_now = if from < to { (from..to).contains(&m) } else { m >= from || m < to };
    if !quiet_now {
        return None;
    }
    let end = NaiveTime::from_hms_opt(u32::from(to / 60), u32::from(to % 60), 0)?;
    let day = if m < to { local.date_naive() } else { local.date_naive() + Duration::days(1) };
    // A quiet end inside a DST gap (e.g. 02:30 on spring-forward night) is an hour later.
    let at = tz
        .from_local_datetime(&day.and_time(end))
        .earliest()
        .or_else(|| tz.from_local_datetime(&(day.and_time(end) + Duration::hours(1))).earliest())?;
    Some(at.timestamp_millis())
}

/// How a webhook answer (or the lack of one) is treated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Timeouts, connection failures, 408, 429 and 5xx: tried again.
    Retry(String),
    /// Every other answer (other 4xx, redirects), and refused addresses: not tried again.
    Fail(String),
}

pub fn webhook_verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        300..=399 => Verdict::Fail(format!("http_{status}: redirects are not followed")),
        408 | 429 | 500..=599 => Verdict::Retry(format!("http_{status}")),
        _ => Verdict::Fail(format!("http_{status}")),
    }
}

/// A one-line headline of an alert, for a push title or an e-mail subject. No position.
pub fn headline(alert: &Alert) -> String {
    let collar = &alert.collar_id;
    match alert.kind {
        AlertType::ZoneExit => format!(
            "{collar} left {} ({:.0} m outside)",
            alert.zone_id.as_deref().map_or("its safe zone".to_owned(), |z| format!("zone {z}")),
            alert.value
        ),
        AlertType::HeartRateHighAtRest => format!("{collar}: heart rate {:.0} bpm at rest", alert.value),
        AlertType::TemperatureHigh => format!("{collar}: temperature high, {:.1} °C", alert.value),
        AlertType::TemperatureLow => format!("{collar}: temperature low, {:.1} °C", alert.value),
        AlertType::BatteryLow => format!("{collar}: battery low, {:.0} %", alert.value),
        AlertType::CollarOffline => format!("{collar} has been silent for {:.0} min", alert.value),
    }
}

/// The e-mail's subject, plain text and HTML.
pub fn email(alert: &Alert, event: EventKind, unsubscribe_url: &str) -> (String, String, String) {
    let resolved = event == EventKind::Resolved;
    let head = if event == EventKind::Test { TEST_LINE.to_owned() } else { headline(alert) };
    let subject = match event {
        EventKind::Opened => format!("Petty alert: {head}"),
        EventKind::Resolved => format!("Resolved: {head}"),
        EventKind::Test => "Petty: test notification".to_owned(),
    };
    let state = if event == EventKind::Test {
        "No pet needs you: this is the test you asked for.".to_owned()
    } else if resolved {
        format!("It was resolved at {}.", alert.resolved_at.as_deref().unwrap_or("-"))
    } else {
        format!("Opened at {} (limit {} {}).", alert.opened_at, alert.threshold, alert.unit)
    };
    let text = format!(
        "{head}\n\n{state}\nAlert {id}: open the Petty app for the details.\n\nStop e-mails about {kind}: {unsubscribe_url}\n",
        id = alert.alert_id,
        kind = alert.kind.as_str()
    );
    let html = format!(
        "<!doctype html><html><body><p><strong>{}</strong></p><p>{}</p><p>Alert {}: open the Petty app for the details.</p>\
         <p style=\"font-size:small\"><a href=\"{}\">Stop e-mails about {}</a></p></body></html>",
        escape(&head),
        escape(&state),
        escape(&alert.alert_id),
        escape(unsubscribe_url),
        alert.kind.as_str()
    );
    (subject, text, html)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// What a test says instead of an alert's headline.
const TEST_LINE: &str = "Your Petty alerts will arrive here";

/// The SNS message (`MessageStructure: json`) for APNs and FCM.
pub fn push_message(alert: &Alert, event: EventKind) -> String {
    let title = match event {
        EventKind::Opened => "Petty alert",
        EventKind::Resolved => "Resolved",
        EventKind::Test => "Petty test",
    };
    let body = if event == EventKind::Test { TEST_LINE.to_owned() } else { headline(alert) };
    let apns = serde_json::json!({"aps": {"alert": {"title": title, "body": body}, "sound": "default"},
        "alert_id": alert.alert_id})
    .to_string();
    let fcm = serde_json::json!({"notification": {"title": title, "body": body},
        "data": {"alert_id": alert.alert_id}})
    .to_string();
    serde_json::json!({"default": body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use petty_shared::api::alerts::{ActiveHours, AlertStatus};

    fn quiet(from: &str, to: &str, tz: &str, hold_urgent: bool) -> QuietHours {
        QuietHours { hours: ActiveHours { from: from.into(), to: to.into() }, timezone: tz.into(), hold_urgent }
    }

    fn ms(rfc: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc).unwrap().timestamp_millis()
    }

    #[test]
    fn backoff_grows_jitters_within_bounds_and_stops() {
        let p = RetryPolicy::default();
        let mut now = 0;
        let mut attempt = 1;
        let mut gaps = Vec::new();
        while let Some(at) = p.next_attempt_ms(attempt, 0, now, 42) {
            let ceiling = (30_000i64 << (attempt - 1)).min(p.cap_ms);
            assert!((ceiling / 2..=ceiling).contains(&(at - now)), "attempt {attempt}: {}", at - now);
            gaps.push(at - now);
            now = at;
            attempt += 1;
        }
        assert_eq!(attempt, p.max_attempts, "every attempt used");
        assert!(now <= p.deadline_ms, "last attempt within 24 h: {now}");
        assert!(gaps.windows(2).take(8).all(|w| w[1] > w[0] / 2), "{gaps:?}");
        // Different deliveries spread apart.
        let a = p.next_attempt_ms(3, 0, 0, seed_of("a"));
        let b = p.next_attempt_ms(3, 0, 0, seed_of("b"));
        assert_ne!(a, b);
        // The deadline ends retries early.
        assert_eq!(p.next_attempt_ms(2, 0, p.deadline_ms - 1_000, 1), None);
    }

    #[test]
    fn quiet_hours_hold_non_urgent_until_their_local_end() {
        let q = quiet("22:00", "07:00", "Europe/Berlin", false);
        // 23:30 in Berlin (CET, UTC+1) → released 07:00 Berlin next morning = 06:00 UTC.
        let night = ms("2026-01-10T22:30:00Z");
        assert_eq!(quiet_release_ms(Some(&q), AlertType::BatteryLow, night), Some(ms("2026-01-11T06:00:00Z")));
        // 05:00 Berlin: same morning.
        assert_eq!(
            quiet_release_ms(Some(&q), AlertType::CollarOffline, ms("2026-01-11T04:00:00Z")),
            Some(ms("2026-01-11T06:00:00Z"))
        );
        // Escapes pass, unless held too.
        assert_eq!(quiet_release_ms(Some(&q), AlertType::ZoneExit, night), None);
        let strict = quiet("22:00", "07:00", "Europe/Berlin", true);
        assert!(quiet_release_ms(Some(&strict), AlertType::ZoneExit, night).is_some());
        // Daytime: no hold; no quiet hours: no hold.
        assert_eq!(quiet_release_ms(Some(&q), AlertType::BatteryLow, ms("2026-01-11T12:00:00Z")), None);
        assert_eq!(quiet_release_ms(None, AlertType::BatteryLow, night), None);
        // Summer time (CEST, UTC+2): 07:00 Berlin is 05:00 UTC.
        assert_eq!(
            quiet_release_ms(Some(&q), AlertType::BatteryLow, ms("2026-07-01T01:00:00Z")),
            Some(ms("2026-07-01T05:00:00Z"))
        );
        // A same-day window.
        let nap = quiet("13:00", "15:00", "UTC", false);
        assert_eq!(
            quiet_release_ms(Some(&nap), AlertType::BatteryLow, ms("2026-03-01T14:10:00Z")),
            Some(ms("2026-03-01T15:00:00Z"))
        );
    }

    #[test]
    fn webhook_answers_retry_only_on_timeouts_429_and_5xx() {
        assert_eq!(webhook_verdict(204), Verdict::Delivered);
        for s in [408, 429, 500, 502, 503] {
            assert!(matches!(webhook_verdict(s), Verdict::Retry(_)), "{s}");
        }
        for s in [301, 302, 307, 400, 401, 403, 404, 410, 422] {
            assert!(matches!(webhook_verdict(s), Verdict::Fail(_)), "{s}");
        }
    }

    #[test]
    fn messages_name_the_alert_never_a_position_and_escape_html() {
        let alert = Alert {
            alert_id: "DM-000001.zone_exit.home.1".into(),
            kind: AlertType::ZoneExit,
            status: AlertStatus::Open,
            collar_id: "DM-000001".into(),
            zone_id: Some("<home>".into()),
            opened_at: "2026-01-01T00:00:00.000Z".into(),
            value: 120.4,
            threshold: 10.0,
            unit: "m".into(),
            reading: None,
            acknowledged_at: None,
            resolved_at: None,
            resolved_by: None,
        };
        let (subject, text, html) = email(&alert, EventKind::Opened, "https://x/unsub?token=a&b");
        assert_eq!(subject, "Petty alert: DM-000001 left zone <home> (120 m outside)");
        assert!(text.contains("https://x/unsub?token=a&b") && text.contains("zone_exit"));
        assert!(html.contains("zone &lt;home&gt;") && html.contains("token=a&amp;b") && !html.contains("<home>"));
        let (test_subject, test_text, _) = email(&alert, EventKind::Test, "https://x/u");
        assert_eq!(test_subject, "Petty: test notification");
        assert!(!test_text.contains("left") && test_text.contains("test you asked for"));
        let push: serde_json::Value = serde_json::from_str(&push_message(&alert, EventKind::Opened)).unwrap();
        let apns: serde_json::Value = serde_json::from_str(push["APNS"].as_str().unwrap()).unwrap();
        assert_eq!(apns["aps"]["alert"]["body"], "DM-000001 left zone <home> (120 m outside)");
        assert!(push["GCM"].as_str().unwrap().contains("alert_id"));
    }
}
