//! `GET /v1/feedback/summary`: per behaviour, how much feedback and how often the timeline
//! was right, and what owners most often said instead, computed straight into the wire type.

use std::collections::BTreeMap;

use petty_behaviour::Behavior;
use petty_shared::api::{BehaviorSummary, Correction, FeedbackSummary};

/// One current verdict, as the summary needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub behavior: Behavior,
    pub correct: bool,
    pub corrected: Option<Behavior>,
}

fn share(part: u32, whole: u32) -> f64 {
    (f64::from(part) / f64::from(whole) * 1000.0).round() / 1000.0
}

/// Aggregates current verdicts (one per user and event) into the answer for `collar_id`.
pub fn summarize(collar_id: &str, entries: &[Entry]) -> FeedbackSummary {
    let mut by: BTreeMap<Behavior, (u32, u32, BTreeMap<Behavior, u32>)> = BTreeMap::new();
    for e in entries {
        let slot = by.entry(e.behavior).or_default();
        slot.0 += 1;
        if e.correct {
            slot.1 += 1;
        }
        if let Some(to) = e.corrected {
            *slot.2.entry(to).or_default() += 1;
        }
    }
    let behaviors: Vec<BehaviorSummary> = by
        .into_iter()
        .map(|(behavior, (count, correct, corrections))| {
            let mut top: Vec<Correction> =
                corrections.into_iter().map(|(behavior, count)| Correction { behavior, count }).collect();
            top.sort_by(|a, b| b.count.cmp(&a.count).then(a.behavior.cmp(&b.behavior)));
            top.truncate(3);
            BehaviorSummary {
                behavior,
                feedback_count: count,
                correct_count: correct,
                correct_share: share(correct, count),
                top_corrections: top,
            }
        })
        .collect();
    let total = entries.len() as u32;
    let correct = entries.iter().filter(|e| e.correct).count() as u32;
    FeedbackSummary {
        collar_id: collar_id.to_owned(),
        feedback_count: total,
        correct_share: (total > 0).then(|| share(correct, total)),
        behaviors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Behavior::*;

    fn e(behavior: Behavior, corrected: Option<Behavior>) -> Entry {
        Entry { behavior, correct: corrected.is_none(), corrected }
    }

    #[test]
    fn shares_and_top_corrections() {
        let entries = [
            e(Walk, None),
            e(Walk, None),
            e(Walk, Some(AnxiousPacing)),
            e(AnxiousPacing, Some(Play)),
            e(AnxiousPacing, Some(Play)),
            e(AnxiousPacing, Some(Walk)),
            e(AnxiousPacing, None),
            e(AnxiousPacing, Some(Rest)),
            e(AnxiousPacing, Some(PlayingFetch)),
        ];
        let s = summarize("AB-123", &entries);
        assert_eq!((s.feedback_count, s.correct_share), (9, Some(0.333)));
        let pacing = s.behaviors.iter().find(|b| b.behavior == AnxiousPacing).unwrap();
        assert_eq!((pacing.feedback_count, pacing.correct_count, pacing.correct_share), (6, 1, 0.167));
        let top: Vec<(Behavior, u32)> = pacing.top_corrections.iter().map(|c| (c.behavior, c.count)).collect();
        assert_eq!(top, [(Play, 2), (Rest, 1), (Walk, 1)], "most common first, three at most, ties in a fixed order");
        let walk = s.behaviors.iter().find(|b| b.behavior == Walk).unwrap();
        assert_eq!((walk.correct_share, walk.top_corrections.len()), (0.667, 1));
    }

    #[test]
    fn nothing_to_summarize() {
        let s = summarize("AB-123", &[]);
        assert_eq!((s.feedback_count, s.correct_share, s.behaviors.len()), (0, None, 0));
    }
}
