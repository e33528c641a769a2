//! `POST /v1/submit-feedback` bodies and the rules they must meet (checked before any I/O).

use petty_behaviour::segment::parse_event_id;
use petty_behaviour::{Behavior, Calendar};
use serde::Deserialize;

use super::comment;

/// What clients send (the field names of the system Petty replaces).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    pub event_id: String,
    pub user_feedback: String,
    #[serde(default)]
    pub corrected_behavior: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// When the owner gave the feedback, by their clock: RFC 3339, or a local time without a
    /// zone (`2026-11-21T14:30:05.123456`, what the app's `DateTime.now().toIso8601String()`
    /// sends), read in the pet's time zone.
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// A validated submission.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    pub event_id: String,
    pub collar_id: String,
    pub event_start: i64,
    pub behavior: Behavior,
    pub correct: bool,
    pub corrected: Option<Behavior>,
    /// Redacted and neutralized.
    pub comment: Option<String>,
    pub client_time: Option<ClientTime>,
}

/// The client's `timestamp`, parsed: an instant, or a wall-clock time that needs the pet's zone.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientTime {
    Instant(i64),
    Local(chrono::NaiveDateTime),
}

impl ClientTime {
    /// Unix ms, a local time read in `calendar`'s zone (the earlier instant when the clocks
    /// went back over it), within the last 30 days and not ahead of `now_ms` (422
    /// `invalid_timestamp`, also for a local time the zone skipped).
    pub fn resolve(&self, calendar: &Calendar, now_ms: i64) -> Result<i64, Invalid> {
        let ms = match self {
            ClientTime::Instant(ms) => *ms,
            ClientTime::Local(local) => calendar.instant(local).ok_or_else(|| {
                rule("invalid_timestamp", "timestamp is a local time the pet's time zone skipped (clock change)")
            })?,
        };
        in_range(ms, now_ms)
    }
}

fn in_range(ms: i64, now_ms: i64) -> Result<i64, Invalid> {
    if ms > now_ms + TIMESTAMP_FUTURE_MS || ms < now_ms - TIMESTAMP_PAST_MS {
        return Err(rule("invalid_timestamp", "timestamp must be within the last 30 days, not in the future"));
    }
    Ok(ms)
}

/// Local wall-clock times are at most this far from UTC (ms): UTC-12 to UTC+14.
const WIDEST_OFFSET_MS: i64 = 14 * 3_600_000;

/// Parses `timestamp`; checks what can be checked without the pet's zone.
fn client_time(text: &str, now_ms: i64) -> Result<ClientTime, Invalid> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return in_range(t.timestamp_millis(), now_ms).map(ClientTime::Instant);
    }
    let local = text.parse::<chrono::NaiveDateTime>().map_err(|_| {
        rule("invalid_timestamp", "timestamp must be RFC 3339 or a local time such as 2026-11-21T14:30:05.123456")
    })?;
    // Whatever the zone, the instant is within the widest offset of the wall time read as UTC.
    let as_utc = local.and_utc().timestamp_millis();
    in_range(as_utc - WIDEST_OFFSET_MS, now_ms).or_else(|_| in_range(as_utc + WIDEST_OFFSET_MS, now_ms))?;
    Ok(ClientTime::Local(local))
}

/// Why a body was refused: a stable code and a message naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
    /// Malformed (400) rather than well-formed but against a rule (422).
    pub malformed: bool,
}

fn rule(code: &'static str, message: impl Into<String>) -> Invalid {
    Invalid { code, message: message.into(), malformed: false }
}

/// How far ahead of our clock, and how far back, a client's `timestamp` may be.
pub const TIMESTAMP_FUTURE_MS: i64 = 5 * 60_000;
pub const TIMESTAMP_PAST_MS: i64 = 30 * 86_400_000;

/// Checks a body against `now_ms`.
pub fn validate(body: SubmitBody, now_ms: i64) -> Result<Submission, Invalid> {
    let (collar_id, event_start, behavior) = parse_event_id(&body.event_id).ok_or_else(|| Invalid {
        code: "invalid_event_id",
        message: "event_id must be an event_id from GET /v1/pet-timeline".into(),
        malformed: true,
    })?;
    let correct = match body.user_feedback.as_str() {
        "correct" => true,
        "incorrect" => false,
        _ => return Err(rule("invalid_user_feedback", "user_feedback must be \"correct\" or \"incorrect\"")),
    };
    let corrected = match body.corrected_behavior.as_deref() {
        None => None,
        Some(name) => Some(Behavior::parse(name).ok_or_else(|| {
            let names: Vec<&str> = Behavior::ALL.iter().map(|b| b.as_str()).collect();
            rule("invalid_corrected_behavior", format!("corrected_behavior must be one of {}", names.join(", ")))
        })?),
    };
    if correct && corrected.is_some() {
        return Err(rule("unexpected_corrected_behavior", "corrected_behavior is only for incorrect feedback"));
    }
    if corrected == Some(behavior) {
        return Err(rule("same_behavior", "corrected_behavior must differ from the event's behavior"));
    }
    let comment = match body.comment.as_deref() {
        None => None,
        Some(text) => comment::clean(text).map_err(|m| rule("comment_too_long", m))?,
    };
    let client_time = body.timestamp.as_deref().map(|text| client_time(text, now_ms)).transpose()?;
    Ok(Submission {
        event_id: body.event_id,
        collar_id,
        event_start,
        behavior,
        correct,
        corrected,
        comment,
        client_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_795_300_000_000;
    const EVENT: &str = "AB-123456.1795242590247.anxious_pacing";

    fn check(v: serde_json::Value) -> Result<Submission, Invalid> {
        validate(serde_json::from_value(v).map_err(|e| rule("json", e.to_string()))?, NOW)
    }

    fn code(v: serde_json::Value) -> &'static str {
        check(v).unwrap_err().code
    }

    #[test]
    fn a_correction_is_parsed() {
        let s = check(json!({"event_id": EVENT, "user_feedback": "incorrect", "corrected_behavior": "play",
                             "comment": "She was playing <b>fetch</b>", "timestamp": "2026-11-21T10:00:00Z"}))
        .unwrap();
        assert_eq!(
            (s.collar_id.as_str(), s.event_start, s.behavior),
            ("AB-123456", 1_795_242_590_247, Behavior::AnxiousPacing)
        );
        assert_eq!((s.correct, s.corrected), (false, Some(Behavior::Play)));
        assert_eq!(s.comment.as_deref(), Some("She was playing &lt;b&gt;fetch&lt;/b&gt;"));
        assert!(check(json!({"event_id": EVENT, "user_feedback": "correct"})).unwrap().correct);
        assert!(check(json!({"event_id": EVENT, "user_feedback": "incorrect"})).unwrap().corrected.is_none());
    }

    #[test]
    fn the_apps_local_timestamp_is_read_in_the_pets_zone() {
        // NOW is 2026-11-21T22:26:40Z; the app sends its local wall clock with microseconds.
        let sent = "2026-11-21T14:30:05.123456";
        let s = check(json!({"event_id": EVENT, "user_feedback": "correct", "timestamp": sent})).unwrap();
        let local = s.client_time.clone().unwrap();
        assert_eq!(local, ClientTime::Local(sent.parse().unwrap()));
        let at = |tz: &str| local.resolve(&Calendar::new(tz.parse().unwrap()), NOW).unwrap();
        assert_eq!(at("Europe/Berlin"), 1_795_267_805_123, "13:30:05.123Z");
        assert_eq!(at("America/New_York"), 1_795_289_405_123, "19:30:05.123Z");
        assert_eq!(at("UTC"), 1_795_271_405_123);
        // Ahead of now in that zone: Tokyo's 14:30 was 05:30Z, fine; Honolulu's is 00:30Z tomorrow.
        assert!(local.resolve(&Calendar::new("Asia/Tokyo".parse().unwrap()), NOW).is_ok());
        let ahead = local.resolve(&Calendar::new("Pacific/Honolulu".parse().unwrap()), NOW).unwrap_err();
        assert_eq!(ahead.code, "invalid_timestamp");
        // A zoned timestamp with microseconds is an instant, whatever the pet's zone.
        let zoned = check(
            json!({"event_id": EVENT, "user_feedback": "correct", "timestamp": "2026-11-21T14:30:05.123456+01:00"}),
        )
        .unwrap()
        .client_time
        .unwrap();
        assert_eq!(zoned, ClientTime::Instant(1_795_267_805_123));
        assert_eq!(zoned.resolve(&Calendar::UTC, NOW).unwrap(), 1_795_267_805_123);
        // Without seconds' fraction, too; a wall time the zone skipped is refused.
        assert!(
            check(json!({"event_id": EVENT, "user_feedback": "correct", "timestamp": "2026-11-21T14:30:05"})).is_ok()
        );
        let skipped = ClientTime::Local("2026-03-29T02:30:00".parse().unwrap());
        let berlin = Calendar::new("Europe/Berlin".parse().unwrap());
        assert_eq!(skipped.resolve(&berlin, 1_774_800_000_000).unwrap_err().code, "invalid_timestamp");
        // Far outside the 30 days in any zone: refused before any I/O.
        assert_eq!(
            code(json!({"event_id": EVENT, "user_feedback": "correct", "timestamp": "2026-09-01T10:00:00.5"})),
            "invalid_timestamp"
        );
        assert_eq!(
            code(json!({"event_id": EVENT, "user_feedback": "correct", "timestamp": "2026-11-21 14:30"})),
            "invalid_timestamp"
        );
    }

    #[test]
    fn every_rule_names_its_field() {
        let e = EVENT;
        assert_eq!(code(json!({"event_id": "../etc/passwd", "user_feedback": "correct"})), "invalid_event_id");
        assert_eq!(code(json!({"event_id": format!("{e}x"), "user_feedback": "correct"})), "invalid_event_id");
        assert_eq!(code(json!({"event_id": e, "user_feedback": "yes"})), "invalid_user_feedback");
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "incorrect", "corrected_behavior": "nap"})),
            "invalid_corrected_behavior"
        );
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "correct", "corrected_behavior": "play"})),
            "unexpected_corrected_behavior"
        );
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "incorrect", "corrected_behavior": "anxious_pacing"})),
            "same_behavior"
        );
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "correct", "comment": "x".repeat(1001)})),
            "comment_too_long"
        );
        assert!(check(json!({"event_id": e, "user_feedback": "correct", "comment": "x".repeat(1000)})).is_ok());
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "correct", "timestamp": "yesterday"})),
            "invalid_timestamp"
        );
        let at = |ms: i64| petty_shared::api::format_ms(ms);
        assert!(
            check(json!({"event_id": e, "user_feedback": "correct", "timestamp": at(NOW + TIMESTAMP_FUTURE_MS)}))
                .is_ok()
        );
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "correct", "timestamp": at(NOW + TIMESTAMP_FUTURE_MS + 1000)})),
            "invalid_timestamp"
        );
        assert!(
            check(json!({"event_id": e, "user_feedback": "correct", "timestamp": at(NOW - TIMESTAMP_PAST_MS)})).is_ok()
        );
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "correct", "timestamp": at(NOW - TIMESTAMP_PAST_MS - 1000)})),
            "invalid_timestamp"
        );
        assert_eq!(
            code(json!({"event_id": e, "user_feedback": "correct", "rating": 5})),
            "json",
            "unknown fields are refused"
        );
    }
}
