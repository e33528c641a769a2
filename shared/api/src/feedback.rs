//! Feedback on timeline events (the feedback function): submissions, the caller's verdicts,
//! and the per-behaviour summary.

use serde::{Deserialize, Serialize};

use crate::behavior::Behavior;

/// An owner's verdict on an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Correct,
    Incorrect,
}

/// `POST /v1/submit-feedback`. The feedback function parses it field by field (each bad field
/// gets its own error code) and accepts exactly these fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// From `GET /v1/pet-timeline`.
    pub event_id: String,
    pub user_feedback: Verdict,
    /// Only with `incorrect`: what the pet was really doing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_behavior: Option<Behavior>,
    /// At most 1,000 characters; contact details are redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When the owner gave it, by their clock (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// What a submission answers (201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackReceipt {
    pub success: bool,
    pub feedback_id: String,
    /// True when this replaced the caller's earlier verdict on the event.
    pub replaced: bool,
    /// Submissions so far by this caller on this event (1 for the first).
    pub revisions: u32,
    /// The consistent corrections the pet's thresholds are now calibrated by.
    pub calibrated_by: Vec<String>,
}

/// One current verdict of `GET /v1/feedback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackEntry {
    pub feedback_id: String,
    pub event_id: String,
    /// What the timeline said.
    pub behavior: Behavior,
    /// RFC 3339.
    pub event_start: String,
    pub event_end: String,
    pub user_feedback: Verdict,
    pub corrected_behavior: Option<Behavior>,
    /// Redacted.
    pub comment: Option<String>,
    /// The client's own time of the verdict, if it sent one.
    pub timestamp: Option<String>,
    pub submitted_at: String,
    pub revisions: u32,
}

/// One page of `GET /v1/feedback`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackPage {
    pub collar_id: String,
    pub feedback: Vec<FeedbackEntry>,
    /// Opaque; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// How often owners said the timeline should have said `behavior`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub behavior: Behavior,
    pub count: u32,
}

/// One behaviour's figures in the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BehaviorSummary {
    pub behavior: Behavior,
    pub feedback_count: u32,
    pub correct_count: u32,
    /// `correct_count / feedback_count`, 0–1, three decimals.
    pub correct_share: f64,
    /// Most common first, at most three.
    pub top_corrections: Vec<Correction>,
}

/// `GET /v1/feedback/summary`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedbackSummary {
    pub collar_id: String,
    pub feedback_count: u32,
    /// 0–1; `null` without feedback.
    pub correct_share: Option<f64>,
    pub behaviors: Vec<BehaviorSummary>,
}
