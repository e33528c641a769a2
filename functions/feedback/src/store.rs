//! DynamoDB adapters for feedback.
//!
//! - Feedback table (`FEEDBACK_TABLE`): `collar_id` + `sk`.
//!   `cur#<event start:013>#<behaviour>#<user>` is the user's current verdict on an event
//!   (replaced by a new submission, `revisions` counting them); `hist#<event start:013>#
//!   <behaviour>#<user>#<submitted:013>#<id>` keeps every submission; `calibration` holds
//!   the pet's calibration as JSON (read by the timeline).
//! - Event index (`TIMELINE_EVENTS_TABLE`, written by the timeline): `collar_id` + `day` →
//!   the events the timeline showed that day; read here to accept only real events.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use petty_shared::dynamo::{Item, StoreError, get_n, get_s, get_string_list, n, query_all, query_page, s, sdk_err};
use petty_timeline::domain::Behavior;
use petty_timeline::domain::calibration::Calibration;
use petty_timeline::store::{CALIBRATION_KEY, current_key};

/// One stored verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub feedback_id: String,
    pub event_id: String,
    pub event_start: i64,
    pub event_end: i64,
    pub behavior: Behavior,
    pub user_id: String,
    pub correct: bool,
    pub corrected: Option<Behavior>,
    pub comment: Option<String>,
    pub client_timestamp_ms: Option<i64>,
    pub submitted_at: i64,
    /// Submissions so far by this user on this event (1 for the first).
    pub revisions: i64,
}

fn verdict_from(item: &Item) -> Option<Verdict> {
    Some(Verdict {
        feedback_id: get_s(item, "feedback_id")?,
        event_id: get_s(item, "event_id")?,
        event_start: get_n(item, "event_start")?,
        event_end: get_n(item, "event_end")?,
        behavior: Behavior::parse(&get_s(item, "behavior")?)?,
        user_id: get_s(item, "user_id")?,
        correct: get_s(item, "user_feedback")? == "correct",
        corrected: get_s(item, "corrected_behavior").and_then(|b| Behavior::parse(&b)),
        comment: get_s(item, "comment"),
        client_timestamp_ms: get_n(item, "client_timestamp"),
        submitted_at: get_n(item, "submitted_at")?,
        revisions: get_n(item, "revisions").unwrap_or(1),
    })
}

/// The attributes both the current and the history item carry.
fn attributes(v: &Verdict) -> Vec<(&'static str, Option<AttributeValue>)> {
    vec![
        ("feedback_id", Some(s(&v.feedback_id))),
        ("event_id", Some(s(&v.event_id))),
        ("event_start", Some(n(v.event_start))),
        ("event_end", Some(n(v.event_end))),
        ("behavior", Some(s(v.behavior.as_str()))),
        ("user_id", Some(s(&v.user_id))),
        ("user_feedback", Some(s(if v.correct { "correct" } else { "incorrect" }))),
        ("corrected_behavior", v.corrected.map(|b| s(b.as_str()))),
        ("comment", v.comment.as_ref().map(s)),
        ("client_timestamp", v.client_timestamp_ms.map(n)),
        ("submitted_at", Some(n(v.submitted_at))),
    ]
}

/// The feedback function's storage.
#[derive(Clone, Debug)]
pub struct FeedbackStore {
    client: Client,
    events_table: String,
    feedback_table: String,
}

/// The lowest and highest current-verdict keys for events starting in `[from, to)`.
fn current_range(from_ms: i64, to_ms: i64) -> (String, String) {
    (format!("cur#{:013}", from_ms.max(0)), format!("cur#{:013}", (to_ms - 1).max(0)) + "~")
}

impl FeedbackStore {
    /// Over the event index and feedback tables.
    pub fn new(client: Client, events_table: impl Into<String>, feedback_table: impl Into<String>) -> Self {
        Self { client, events_table: events_table.into(), feedback_table: feedback_table.into() }
    }

    /// The entries the timeline last showed for a day (`start.end.behaviour`).
    pub async fn published(&self, collar_id: &str, day_ms: i64) -> Result<Vec<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.events_table)
            .key("collar_id", s(collar_id))
            .key("day", n(day_ms))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().map(|i| get_string_list(i, "events")).unwrap_or_default())
    }

    /// Keeps `v` in the history and makes it the user's current verdict on the event;
    /// returns it with its revision count.
    pub async fn record(&self, collar_id: &str, mut v: Verdict) -> Result<Verdict, StoreError> {
        let history_key =
            format!("hist#{:013}#{}#{}#{:013}#{}", v.event_start, v.behavior, v.user_id, v.submitted_at, v.feedback_id);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.feedback_table)
            .item("collar_id", s(collar_id))
            .item("sk", s(history_key));
        for (name, value) in attributes(&v) {
            if let Some(value) = value {
                put = put.item(name, value);
            }
        }
        put.send().await.map_err(sdk_err)?;

        let (mut sets, mut removes) = (vec!["revisions = if_not_exists(revisions, :zero) + :one".to_owned()], vec![]);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.feedback_table)
            .key("collar_id", s(collar_id))
            .key("sk", s(current_key(v.event_start, v.behavior, &v.user_id)))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew);
        for (name, value) in attributes(&v) {
            match value {
                Some(value) => {
                    sets.push(format!("#{name} = :{name}"));
                    update = update.expression_attribute_values(format!(":{name}"), value);
                }
                None => removes.push(format!("#{name}")),
            }
            update = update.expression_attribute_names(format!("#{name}"), name);
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression += &format!(" REMOVE {}", removes.join(", "));
        }
        let out = update.update_expression(expression).send().await.map_err(sdk_err)?;
        v.revisions = out.attributes.as_ref().and_then(|a| get_n(a, "revisions")).unwrap_or(1);
        Ok(v)
    }

    /// Every current verdict on events starting in `[from_ms, to_ms)`, all users.
    pub async fn currents(&self, collar_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<Verdict>, StoreError> {
        let (lo, hi) = current_range(from_ms, to_ms);
        let query = self
            .client
            .query()
            .table_name(&self.feedback_table)
            .key_condition_expression("collar_id = :c AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi));
        Ok(query_all(query).await?.iter().filter_map(verdict_from).collect())
    }

    /// One page of `user_id`'s current verdicts on events starting in `[from_ms, to_ms)`.
    pub async fn page(
        &self,
        collar_id: &str,
        user_id: &str,
        (from_ms, to_ms): (i64, i64),
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Verdict>, Option<Item>), StoreError> {
        let (lo, hi) = current_range(from_ms, to_ms);
        let query = self
            .client
            .query()
            .table_name(&self.feedback_table)
            .key_condition_expression("collar_id = :c AND sk BETWEEN :lo AND :hi")
            .filter_expression("user_id = :u")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi))
            .expression_attribute_values(":u", s(user_id))
            .limit(limit);
        let (items, next) = query_page(query, start).await?;
        Ok((items.iter().filter_map(verdict_from).collect(), next))
    }

    /// Stores the pet's calibration for the timeline to read.
    pub async fn save_calibration(&self, collar_id: &str, c: &Calibration, now_ms: i64) -> Result<(), StoreError> {
        let json = serde_json::to_string(c).map_err(|e| StoreError::Other(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.feedback_table)
            .item("collar_id", s(collar_id))
            .item("sk", s(CALIBRATION_KEY))
            .item("calibration", s(json))
            .item("updated_at", n(now_ms))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}
