//! Erases a closed account, as the README's "Deleting an account" states. One message per
//! account (`AccountJob::Erase`); progress lives in the users table's `ERASURE#<user>` record,
//! so a re-run (a retry, a resumption past the time budget, a duplicate message) skips what
//! is done and every step is idempotent.
//!
//! Order: the owned collars and their ownership windows are recorded before any is released
//! (a released collar no longer names its owner); each collar's data is deleted and the
//! collar recorded done; then the account's own items; the account items go last, so a
//! failure anywhere leaves the job findable and the message retried.

pub mod config;

use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use petty_shared::account_jobs::{AccountJob, ERASURE_RECORD_DAYS, export_prefix};
use petty_shared::audit::{AuditEvent, AuditStore};
use petty_shared::batch::{BatchResponse, ItemFailure, SqsEvent};
use petty_shared::dynamo::{Item, StoreError, delete_keys, get_s, n, query_page, s};
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::feedback::calibration_key;
use petty_shared::tables::lockouts::{ADDRESS_RATES, LockoutsTable, rate_key};
use petty_shared::tables::members::MembersTable;
use petty_shared::tables::notifications::{NotificationsTable, user_pk};
use petty_shared::tables::sessions::SessionsTable;
use petty_shared::tables::users::UsersTable;
use serde::{Deserialize, Serialize};

pub use config::EraserConfig;

/// The service name in logs and metrics.
pub const SERVICE: &str = "account-eraser";
/// Keys per query page: full pages mean few calls, and a bounded page keeps each call short
/// (moto builds a whole unlimited answer before cutting it at 1 MB: a 259,200-item partition
/// timed out there, 10,000 keys a page did not).
const KEYS_PER_PAGE: i32 = 10_000;
const DAY_MS: i64 = 86_400_000;

/// Why a step failed (the message is retried; after 5 receives it is in the DLQ).
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Aws(String),
}

/// One collar's ownership: the readings `[from_ms, to_ms]` are this owner's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub collar_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// The `ERASURE#` record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub erasure_id: String,
    /// `queued`, `running`, `done`.
    pub status: String,
    pub requested_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collars: Option<Vec<Window>>,
    #[serde(default)]
    pub collars_done: Vec<String>,
    /// Items deleted per table so far.
    #[serde(default)]
    pub deleted: std::collections::BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
}

/// What a run did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Out of time: the job was queued again to go on.
    Resumed,
}

/// The tables and clients.
pub struct Eraser {
    pub dynamodb: Client,
    pub cfg: EraserConfig,
    pub users: UsersTable,
    pub sessions: SessionsTable,
    pub lockouts: LockoutsTable,
    pub collars: CollarsTable,
    pub members: MembersTable,
    pub notifications: NotificationsTable,
    pub audit: AuditTable,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
}

fn aws(e: impl std::fmt::Display) -> EraseError {
    EraseError::Aws(e.to_string())
}

impl Eraser {
    /// Over the configured tables.
    pub fn new(cfg: EraserConfig, sdk: &aws_config::SdkConfig) -> Self {
        let dynamodb = petty_shared::aws::dynamodb(sdk);
        Self {
            users: UsersTable::new(dynamodb.clone(), &cfg.tables.users_table),
            sessions: SessionsTable::new(dynamodb.clone(), &cfg.tables.sessions_table),
            lockouts: LockoutsTable::new(dynamodb.clone(), &cfg.lockouts_table),
            collars: CollarsTable::new(dynamodb.clone(), &cfg.tables.collars_table),
            members: MembersTable::new(dynamodb.clone(), &cfg.tables.members_table),
            notifications: NotificationsTable::new(dynamodb.clone(), &cfg.tables.notifications_table),
            audit: AuditTable::new(dynamodb.clone(), &cfg.tables.audit_table, cfg.audit_retention_days),
            s3: petty_shared::aws::s3(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            dynamodb,
            cfg,
        }
    }

    /// Deletes every item of a query (keys only), page by page; `None` when `stop` came first.
    async fn delete_query(
        &self,
        table: &str,
        keys: [&str; 2],
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        keep: impl Fn(&Item) -> bool,
        stop: Instant,
    ) -> Result<Option<u64>, EraseError> {
        let mut deleted = 0u64;
        let mut start = None;
        loop {
            if Instant::now() >= stop {
                return Ok(None);
            }
            let mut q = self
                .dynamodb
                .query()
                .table_name(table)
                .key_condition_expression(condition)
                .projection_expression("#a, #b")
                .expression_attribute_names("#a", keys[0])
                .expression_attribute_names("#b", keys[1])
                .limit(KEYS_PER_PAGE);
            for (k, v) in &values {
                q = q.expression_attribute_values(*k, v.clone());
            }
            let (items, next) = query_page(q, start).await?;
            let doomed: Vec<Item> = items.into_iter().filter(|i| !keep(i)).collect();
            deleted += delete_keys(&self.dynamodb, table, doomed, stop).await? as u64;
            match next {
                Some(k) => start = Some(k),
                None => return Ok(Some(deleted)),
            }
        }
    }

    /// Deletes one collar's data of this ownership; `false` when out of time.
    async fn erase_collar(
        &self,
        user_id: &str,
        w: &Window,
        p: &mut Progress,
        stop: Instant,
    ) -> Result<bool, EraseError> {
        let cfg = &self.cfg;
        let c = || ("collar_id = :c", s(&w.collar_id));
        let none = |_: &Item| false;
        let readings = self
            .delete_query(
                &cfg.tables.readings_table,
                ["collar_id", "ts"],
                "collar_id = :c AND ts BETWEEN :f AND :t",
                vec![(":c", c().1), (":f", n(w.from_ms.max(0))), (":t", n(w.to_ms))],
                none,
                stop,
            )
            .await?;
        let Some(readings) = readings else { return Ok(false) };
        // The latest-reading item (ts 0) is this owner's last position.
        self.dynamodb
            .delete_item()
            .table_name(&cfg.tables.readings_table)
            .key("collar_id", s(&w.collar_id))
            .key("ts", n(0))
            .send()
            .await
            .map_err(|e| EraseError::Store(StoreError::from_sdk(&e)))?;
        let Some(alerts) = self
            .delete_query(&cfg.tables.alerts_table, ["collar_id", "sk"], c().0, vec![(":c", c().1)], none, stop)
            .await?
        else {
            return Ok(false);
        };
        let calibration = calibration_key(w.from_ms);
        let not_theirs = |i: &Item| {
            let sk = get_s(i, "sk").unwrap_or_default();
            let parts: Vec<&str> = sk.split('#').collect();
            let mine = matches!(parts.first(), Some(&"cur") | Some(&"hist")) && parts.get(3) == Some(&user_id);
            !(mine || sk == calibration)
        };
        let Some(feedback) = self
            .delete_query(&cfg.tables.feedback_table, ["collar_id", "sk"], c().0, vec![(":c", c().1)], not_theirs, stop)
            .await?
        else {
            return Ok(false);
        };
        let first_day = w.from_ms.max(0) / DAY_MS * DAY_MS;
        let Some(days) = self
            .delete_query(
                &cfg.tables.timeline_events_table,
                ["collar_id", "day"],
                "collar_id = :c AND #b BETWEEN :f AND :t",
                vec![(":c", c().1), (":f", n(first_day)), (":t", n(w.to_ms))],
                none,
                stop,
            )
            .await?
        else {
            return Ok(false);
        };
        for (table, count) in
            [("readings", readings + 1), ("alerts", alerts), ("feedback", feedback), ("timeline_events", days)]
        {
            *p.deleted.entry(table.into()).or_default() += count;
        }
        Ok(true)
    }

    /// Runs (or resumes) the erasure of `user_id`.
    pub async fn erase(&self, user_id: &str, erasure_id: &str, stop: Instant) -> Result<Outcome, EraseError> {
        let now = chrono::Utc::now();
        let mut p: Progress = match self.users.erasure(user_id).await? {
            Some(v) => serde_json::from_value(v).unwrap_or_default(),
            None => Progress::default(),
        };
        if p.status == "done" {
            return Ok(Outcome::Done);
        }
        p.erasure_id = erasure_id.to_owned();
        p.status = "running".into();
        let Some(user) = self.users.user_by_id(user_id).await? else {
            // Nothing left of the account: a duplicate of a finished run whose record expired.
            return Ok(Outcome::Done);
        };
        if user.deleted_at.is_none() {
            match self.users.mark_deleted(&user, now.timestamp()).await {
                Ok(()) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let expires = p.requested_at.max(now.timestamp()) + ERASURE_RECORD_DAYS * 86_400;
        let save = |p: &Progress| serde_json::to_value(p).expect("serializable");
        // 1. The ownerships, recorded before any release.
        if p.collars.is_none() {
            let mut windows = Vec::new();
            let mut start = None;
            loop {
                let (page, next) = self.collars.collars_of_owner(user_id, 100, start).await?;
                windows.extend(page.iter().map(|c| Window {
                    collar_id: c.collar_id.clone(),
                    from_ms: c.visible_from_ms(),
                    to_ms: now.timestamp_millis(),
                }));
                match next {
                    Some(k) => start = Some(k),
                    None => break,
                }
            }
            p.collars = Some(windows);
            self.users.put_erasure(user_id, &save(&p), expires).await?;
        }
        let windows = p.collars.clone().unwrap_or_default();
        for w in &windows {
            match self.collars.release(&w.collar_id, user_id, now.timestamp()).await {
                Ok(()) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
            // The release ended the household (no household id left); this clears its items.
            *p.deleted.entry("household_memberships".into()).or_default() +=
                self.members.end_household(&w.collar_id).await? as u64;
        }
        // 2. Each collar's data of this ownership.
        for w in &windows {
            if p.collars_done.contains(&w.collar_id) {
                continue;
            }
            if !self.erase_collar(user_id, w, &mut p, stop).await? {
                self.users.put_erasure(user_id, &save(&p), expires).await?;
                return self.resume(user_id, erasure_id).await;
            }
            p.collars_done.push(w.collar_id.clone());
            self.users.put_erasure(user_id, &save(&p), expires).await?;
        }
        // 3. The account's own items elsewhere: its verdicts on collars shared with it, then
        // its memberships.
        for m in self.members.memberships_of(user_id).await? {
            let not_theirs = |i: &Item| {
                let sk = get_s(i, "sk").unwrap_or_default();
                let parts: Vec<&str> = sk.split('#').collect();
                !(matches!(parts.first(), Some(&"cur") | Some(&"hist")) && parts.get(3) == Some(&user_id))
            };
            let c = vec![(":c", s(&m.collar_id))];
            let feedback = self
                .delete_query(
                    &self.cfg.tables.feedback_table,
                    ["collar_id", "sk"],
                    "collar_id = :c",
                    c,
                    not_theirs,
                    stop,
                )
                .await?;
            let Some(feedback) = feedback else {
                self.users.put_erasure(user_id, &save(&p), expires).await?;
                return self.resume(user_id, erasure_id).await;
            };
            *p.deleted.entry("feedback".into()).or_default() += feedback;
        }
        *p.deleted.entry("memberships".into()).or_default() += self.members.remove_user(user_id).await? as u64;
        let destinations = self.notifications.destinations(user_id).await?;
        for device in &destinations.devices {
            if let Err(e) = self.sns.delete_endpoint().endpoint_arn(&device.endpoint_arn).send().await {
                tracing::warn!(error = %petty_shared::sdk_error::error_summary(&e), "push endpoint not deleted");
            }
        }
        let Some(notifications) = self
            .delete_query(
                &self.cfg.tables.notifications_table,
                ["pk", "sk"],
                "pk = :p",
                vec![(":p", s(user_pk(user_id)))],
                |_| false,
                stop,
            )
            .await?
        else {
            self.users.put_erasure(user_id, &save(&p), expires).await?;
            return self.resume(user_id, erasure_id).await;
        };
        *p.deleted.entry("notifications".into()).or_default() += notifications;
        let sessions = self.sessions.sessions_of(user_id).await?;
        for x in &sessions {
            self.sessions.delete(&x.family_id).await?;
        }
        *p.deleted.entry("sessions".into()).or_default() += sessions.len() as u64;
        let keys = self.api_keys_of(user_id).await?;
        let key_items: Vec<Item> = keys.iter().map(|k| Item::from([("key_id".to_owned(), s(k))])).collect();
        *p.deleted.entry("api_keys".into()).or_default() +=
            delete_keys(&self.dynamodb, &self.cfg.tables.api_keys_table, key_items, stop).await? as u64;
        self.lockouts.clear(&user.email).await?;
        for rate in ADDRESS_RATES {
            self.lockouts.clear(&rate_key(rate, &user.email)).await?;
        }
        *p.deleted.entry("exports".into()).or_default() += self.erase_exports(user_id).await?;
        // 4. The account itself, last.
        self.users.erase_account(user_id).await?;
        p.status = "done".into();
        p.completed_at = Some(chrono::Utc::now().timestamp());
        self.users.put_erasure(user_id, &save(&p), expires).await?;
        let detail = format!("erasure_id={erasure_id} {}", serde_json::to_string(&p.deleted).unwrap_or_default());
        self.audit
            .record(&AuditEvent::now("account_erased", "success", Some(user_id), None).with_detail(detail))
            .await?;
        Ok(Outcome::Done)
    }

    async fn api_keys_of(&self, user_id: &str) -> Result<Vec<String>, EraseError> {
        let q = self
            .dynamodb
            .query()
            .table_name(&self.cfg.tables.api_keys_table)
            .index_name("user_id-index")
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id));
        Ok(petty_shared::dynamo::query_all(q).await?.iter().filter_map(|i| get_s(i, "key_id")).collect())
    }

    /// Deletes the user's export zips and their records.
    async fn erase_exports(&self, user_id: &str) -> Result<u64, EraseError> {
        let prefix = export_prefix(user_id);
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&self.cfg.tables.exports_bucket)
            .prefix(&prefix)
            .send()
            .await
            .map_err(aws)?;
        let mut count = 0;
        for object in listed.contents() {
            let Some(key) = object.key() else { continue };
            self.s3.delete_object().bucket(&self.cfg.tables.exports_bucket).key(key).send().await.map_err(aws)?;
            if let Some(id) = key.strip_prefix(&prefix).and_then(|k| k.strip_suffix(".zip")) {
                self.users.delete_export(user_id, id).await?;
            }
            count += 1;
        }
        Ok(count)
    }

    /// Queues the job again to go on where it stopped.
    async fn resume(&self, user_id: &str, erasure_id: &str) -> Result<Outcome, EraseError> {
        let job = AccountJob::Erase { user_id: user_id.to_owned(), erasure_id: erasure_id.to_owned() };
        self.sqs
            .send_message()
            .queue_url(&self.cfg.erasure_queue_url)
            .message_body(serde_json::to_string(&job).expect("serializable"))
            .send()
            .await
            .map_err(aws)?;
        tracing::info!(erasure_id, "erasure resumes in a new invocation");
        Ok(Outcome::Resumed)
    }
}

/// Runs each message's job; a failed one is handed back to the queue.
pub async fn handle_batch(eraser: &Eraser, event: SqsEvent, stop: Instant) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in event.records {
        let result = match serde_json::from_str::<AccountJob>(&record.body) {
            Ok(AccountJob::Erase { user_id, erasure_id }) => {
                eraser.erase(&user_id, &erasure_id, stop).await.map(|_| ())
            }
            Ok(other) => {
                tracing::error!(?other, "not an erasure job: dropped");
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "malformed erasure job: dropped");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "erasure failed; the message is retried");
            response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
        }
    }
    response
}
