//! Readings parsed and validated per second on one core (numbers, not pass/fail).

use std::time::{Duration, Instant};

use petty_shared::api::format_ms as format_timestamp;
use petty_shared::reading::parse_reading;

fn main() {
    let now = chrono::Utc::now().timestamp_millis();
    // A realistic mix: 10-second readings over a day, optional fields on some.
    let readings: Vec<String> = (0..8640)
        .map(|i| {
            let ts = format_timestamp(now - (8640 - i) * 10_000);
            let extra = if i % 3 == 0 { r#","temperature_c":38.4,"battery_pct":71,"accuracy_m":4.5"# } else { "" };
            format!(
                r#"{{"collar_id":"AB-123456","timestamp":"{ts}","heart_rate":{},"activity_level":{},"location":{{"type":"Point","coordinates":[-74.{:04},40.{:04}]}}{extra}}}"#,
                60 + i % 90,
                i % 3,
                i % 10_000,
                (i * 7) % 10_000
            )
        })
        .collect();
    let window = Duration::from_secs(3);
    let started = Instant::now();
    let (mut done, mut valid) = (0u64, 0u64);
    while started.elapsed() < window {
        for r in &readings {
            valid += u64::from(parse_reading(r, now).is_ok());
        }
        done += readings.len() as u64;
    }
    let rate = done as f64 / started.elapsed().as_secs_f64();
    assert_eq!(valid, done, "every generated reading is valid");
    println!("readings parsed and validated: {rate:.0}/s on one core ({:.2} µs each)", 1e6 / rate);
}
