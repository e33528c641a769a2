//! `petty timeline`: what the pet did over a window.

use petty_client::types::Verdict;
use petty_client::{Client, Span};

use super::print_json;
use crate::cli::TimelineArgs;
use crate::exit::Outcome;
use crate::render;

/// `petty timeline`: a table and a one-line chart of the window; `--json` prints the API's
/// [`Timeline`](petty_client::types::Timeline), every page's events in one (so `next_cursor` is
/// `null`).
pub async fn run(c: &Client, a: &TimelineArgs, json: bool) -> Outcome {
    let day = a.day.map(|d| d.format("%Y-%m-%d").to_string());
    let span = match &day {
        Some(day) => Span::Day(day),
        None => Span::Window { from: a.from.as_deref(), to: a.to.as_deref() },
    };
    let t = c.timeline_all(&a.collar, span).await?;
    if json {
        print_json(&t);
        return Ok(());
    }
    // Times on the pet's clock: its days start at its midnight.
    let zone: chrono_tz::Tz = t.metadata.timezone.parse().unwrap_or(chrono_tz::UTC);
    println!(
        "{}  {} → {}  ({} readings, model {}; times in {})",
        t.collar_id,
        t.metadata.window.from,
        t.metadata.window.to,
        t.metadata.data_points,
        t.metadata.model_version,
        zone.name()
    );
    if t.timeline.is_empty() {
        println!("no events in this window");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = t
        .timeline
        .iter()
        .map(|e| {
            vec![
                render::hhmm_in(&e.start, &zone),
                render::hhmm_in(&e.end, &zone),
                e.behavior.as_str().to_owned(),
                format!("{:.2}", e.confidence),
                e.stats.heart_rate_mean_bpm.map(|h| format!("{h:.0}")).unwrap_or_else(|| "-".into()),
                format!("{:.0}", e.stats.distance_m),
                match e.feedback.as_ref().map(|f| f.user_feedback) {
                    Some(Verdict::Correct) => "correct".to_owned(),
                    Some(Verdict::Incorrect) => "incorrect".to_owned(),
                    None => String::new(),
                },
                e.event_id.clone(),
            ]
        })
        .collect();
    print!("{}", render::table(&["START", "END", "BEHAVIOUR", "CONF", "HR", "DIST m", "FEEDBACK", "EVENT"], &rows));
    if let (Some(from), Some(to)) =
        (render::parse_time(&t.metadata.window.from), render::parse_time(&t.metadata.window.to))
    {
        println!();
        print!("{}", render::chart(&t.timeline, from.with_timezone(&zone), to.with_timezone(&zone), 96));
    }
    Ok(())
}
