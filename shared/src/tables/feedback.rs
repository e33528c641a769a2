//! The feedback table: owners' verdicts on timeline events, and each pet's calibration.
//!
//! `collar_id` (S) + `sk` (S):
//! - `cur#<event start ms:013>#<behaviour>#<user>`: the user's current verdict on an event
//!   (replaced by a new submission; `revisions` counts them). Sorted by the event's start.
//! - `hist#<event start:013>#<behaviour>#<user>#<submitted:013>#<feedback id>`: every
//!   submission, kept.
//! - `calibration#<visible_from ms:013>`: the pet's [`Calibration`] as JSON for one
//!   ownership (written by feedback, read by the timeline): a collar's next owner starts from
//!   the model's defaults, never from the previous owner's corrections.
//!
//! One decoder, one key layout, one range for "events starting in `[from, to)`".

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use petty_behaviour::Behavior;
use petty_behaviour::calibration::Calibration;

use crate::dynamo::{Item, StoreError, get_n, get_s, n, query_all, query_page, s, sdk_err};

/// The sort key of the pet's calibration for the ownership that sees readings from
/// `visible_from` (Unix ms).
pub fn calibration_key(visible_from: i64) -> String {
    format!("calibration#{:013}", visible_from.max(0))
}

/// One stored verdict: a user's feedback on one event.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackRecord {
    pub feedback_id: String,
    pub event_id: String,
    pub event_start: i64,
    pub event_end: i64,
    pub behavior: Behavior,
    pub user_id: String,
    /// The owner said the timeline was right.
    pub correct: bool,
    pub corrected: Option<Behavior>,
    pub comment: Option<String>,
    pub client_timestamp_ms: Option<i64>,
    /// Unix ms.
    pub submitted_at: i64,
    /// Submissions so far by this user on this event (1 for the first).
    pub revisions: i64,
}

/// The sort key of a user's current verdict on an event.
fn current_key(start_ms: i64, behavior: Behavior, user_id: &str) -> String {
    format!("cur#{start_ms:013}#{behavior}#{user_id}")
}

fn history_key(v: &FeedbackRecord) -> String {
    format!("hist#{:013}#{}#{}#{:013}#{}", v.event_start, v.behavior, v.user_id, v.submitted_at, v.feedback_id)
}

/// The lowest and highest current-verdict keys for events starting in `[from_ms, to_ms)`.
fn current_range(from_ms: i64, to_ms: i64) -> (String, String) {
    (format!("cur#{:013}", from_ms.max(0)), format!("cur#{:013}~", (to_ms - 1).max(0)))
}

/// A stored verdict back as a record; `None` when malformed (an unknown verdict included).
fn record_from(item: &Item) -> Option<FeedbackRecord> {
    Some(FeedbackRecord {
        feedback_id: get_s(item, "feedback_id")?,
        event_id: get_s(item, "event_id")?,
        event_start: get_n(item, "event_start")?,
        event_end: get_n(item, "event_end")?,
        behavior: Behavior::parse(&get_s(item, "behavior")?)?,
        user_id: get_s(item, "user_id")?,
        correct: match get_s(item, "user_feedback")?.as_str() {
            "correct" => true,
            "incorrect" => false,
            _ => return None,
        },
        corrected: get_s(item, "corrected_behavior").and_then(|b| Behavior::parse(&b)),
        comment: get_s(item, "comment"),
        client_timestamp_ms: get_n(item, "client_timestamp"),
        submitted_at: get_n(item, "submitted_at")?,
        revisions: get_n(item, "revisions").unwrap_or(1),
    })
}

/// The attributes both the current and the history item carry (`None`: absent).
fn attributes(v: &FeedbackRecord) -> Vec<(&'static str, Option<AttributeValue>)> {
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

/// The feedback table.
#[derive(Clone, Debug)]
pub struct FeedbackTable {
    client: Client,
    table: String,
}

impl FeedbackTable {
    /// Over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Keeps `v` in the history and makes it the user's current verdict on the event;
    /// returns it with its revision count.
    pub async fn record_feedback(&self, collar_id: &str, mut v: FeedbackRecord) -> Result<FeedbackRecord, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("collar_id", s(collar_id))
            .item("sk", s(history_key(&v)));
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
            .table_name(&self.table)
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

    /// The query for current verdicts on events starting in `[from_ms, to_ms)`.
    fn current_query(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (lo, hi) = current_range(from_ms, to_ms);
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("collar_id = :c AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(hi))
    }

    /// Every current verdict on events starting in `[from_ms, to_ms)`, all users, every page.
    pub async fn current_feedback(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        Ok(query_all(self.current_query(collar_id, from_ms, to_ms)).await?.iter().filter_map(record_from).collect())
    }

    /// One page of `user_id`'s current verdicts on events starting in `[from_ms, to_ms)`.
    pub async fn feedback_page(
        &self,
        collar_id: &str,
        user_id: &str,
        (from_ms, to_ms): (i64, i64),
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<FeedbackRecord>, Option<Item>), StoreError> {
        let query = self
            .current_query(collar_id, from_ms, to_ms)
            .filter_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id))
            .limit(limit);
        let (items, next) = query_page(query, start).await?;
        Ok((items.iter().filter_map(record_from).collect(), next))
    }

    /// The pet's calibration for the ownership from `visible_from` (the default when that
    /// owner never corrected it, or when the stored one is unreadable).
    pub async fn calibration_of(&self, collar_id: &str, visible_from: i64) -> Result<Calibration, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .key("sk", s(calibration_key(visible_from)))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| get_s(i, "calibration"))
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Stores the pet's calibration for the ownership from `visible_from`, for the timeline.
    pub async fn save_calibration(
        &self,
        collar_id: &str,
        visible_from: i64,
        c: &Calibration,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(c).map_err(|e| StoreError::Other(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("collar_id", s(collar_id))
            .item("sk", s(calibration_key(visible_from)))
            .item("calibration", s(json))
            .item("updated_at", n(now_ms))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> FeedbackRecord {
        FeedbackRecord {
            feedback_id: "f1".into(),
            event_id: "AB-123.1000.walk".into(),
            event_start: 1000,
            event_end: 2000,
            behavior: Behavior::Walk,
            user_id: "u1".into(),
            correct: false,
            corrected: Some(Behavior::Play),
            comment: None,
            client_timestamp_ms: Some(1500),
            submitted_at: 3000,
            revisions: 2,
        }
    }

    #[test]
    fn a_record_round_trips_and_an_unknown_verdict_is_malformed() {
        let v = record();
        let mut item: Item = attributes(&v).into_iter().filter_map(|(k, a)| Some((k.to_owned(), a?))).collect();
        item.insert("revisions".into(), n(2));
        assert_eq!(record_from(&item), Some(v));
        item.insert("user_feedback".into(), s("maybe"));
        assert_eq!(record_from(&item), None);
    }

    #[test]
    fn the_current_range_holds_exactly_the_events_starting_in_the_window() {
        let (lo, hi) = current_range(1000, 2000);
        let inside = |start: i64| {
            let k = current_key(start, Behavior::Walk, "u1");
            lo <= k && k <= hi
        };
        assert!(inside(1000) && inside(1999));
        assert!(!inside(999) && !inside(2000));
    }
}
