//! Builds an account export (`AccountJob::Export`): everything the owner can see, as JSON
//! Lines in a zip written to /tmp page by page (a big collar's readings are never held in
//! memory), then streamed to the exports bucket from the file. Past the job's limits (time
//! left, or the zip larger than `MAX_ZIP_BYTES`) the export is `failed` with
//! `export_too_large`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use petty_shared::account_jobs::{AccountJob, AccountTables, export_object_key};
use petty_shared::api::{Export, ExportStatus};
use petty_shared::batch::{BatchResponse, ItemFailure, SqsEvent};
use petty_shared::dynamo::{Item, StoreError, get_s, n, query_page, s};
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::members::MembersTable;
use petty_shared::tables::notifications::NotificationsTable;
use petty_shared::tables::sessions::SessionsTable;
use petty_shared::tables::users::UsersTable;
use serde_json::{Value, json};

/// The service name in logs and metrics.
pub const SERVICE: &str = "account-exporter";
/// The largest zip the 2 GB of /tmp holds with room to spare.
pub const MAX_ZIP_BYTES: u64 = 1_500_000_000;
const DAY_MS: i64 = 86_400_000;
/// Items per query page: about 0.75 MB of readings, under DynamoDB's 1 MB page, in few calls;
/// bounded, because moto builds a whole unlimited answer before cutting it (a 259,200-reading
/// partition timed out there; 1,000 a page took over 9 minutes).
const ITEMS_PER_PAGE: i32 = 5_000;

/// Why a run failed (the message is retried; after 3 receives it is in the DLQ).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(String),
    #[error("export_too_large")]
    TooLarge,
}

fn io(e: impl std::fmt::Display) -> ExportError {
    ExportError::Io(e.to_string())
}

/// The tables the export reads and where it writes.
#[derive(Debug, Clone)]
pub struct ExporterConfig {
    pub tables: AccountTables,
    /// Where the zip is built.
    pub work_dir: std::path::PathBuf,
}

impl petty_shared::config::FromEnv for ExporterConfig {
    fn from_env(env: &petty_shared::Env) -> Result<Self, petty_shared::config::ConfigError> {
        Ok(Self { tables: AccountTables::from_env(env)?, work_dir: std::env::temp_dir() })
    }
}

/// An item as plain JSON (strings, numbers, booleans, lists, maps), attributes sorted.
pub fn plain_json(item: &Item) -> Value {
    fn value(v: &AttributeValue) -> Value {
        match v {
            AttributeValue::S(s) => serde_json::from_str::<Value>(s).ok().filter(Value::is_object).unwrap_or(json!(s)),
            AttributeValue::N(x) => {
                x.parse::<i64>().map(Value::from).or_else(|_| x.parse::<f64>().map(Value::from)).unwrap_or(json!(x))
            }
            AttributeValue::Bool(b) => json!(b),
            AttributeValue::L(l) => Value::Array(l.iter().map(value).collect()),
            AttributeValue::M(m) => plain_json(m),
            AttributeValue::Ss(ss) => json!(ss),
            _ => Value::Null,
        }
    }
    Value::Object(item.iter().collect::<BTreeMap<_, _>>().into_iter().map(|(k, v)| (k.clone(), value(v))).collect())
}

/// The zip being written: one JSON Lines entry at a time, lines counted per entry.
struct Archive {
    zip: zip::ZipWriter<std::fs::File>,
    counts: BTreeMap<String, u64>,
    current: String,
}

impl Archive {
    fn entry(&mut self, name: &str) -> Result<(), ExportError> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        self.zip.start_file(name, options).map_err(io)?;
        self.counts.insert(name.to_owned(), 0);
        self.current = name.to_owned();
        Ok(())
    }

    fn line(&mut self, v: &Value) -> Result<(), ExportError> {
        serde_json::to_writer(&mut self.zip, v).map_err(io)?;
        self.zip.write_all(b"\n").map_err(io)?;
        *self.counts.get_mut(&self.current).expect("an entry is open") += 1;
        Ok(())
    }
}

/// The exporter.
pub struct Exporter {
    pub dynamodb: Client,
    pub cfg: ExporterConfig,
    pub users: UsersTable,
    pub sessions: SessionsTable,
    pub collars: CollarsTable,
    pub notifications: NotificationsTable,
    pub s3: aws_sdk_s3::Client,
}

impl Exporter {
    pub fn new(cfg: ExporterConfig, sdk: &aws_config::SdkConfig) -> Self {
        let dynamodb = petty_shared::aws::dynamodb(sdk);
        Self {
            users: UsersTable::new(dynamodb.clone(), &cfg.tables.users_table),
            sessions: SessionsTable::new(dynamodb.clone(), &cfg.tables.sessions_table),
            collars: CollarsTable::new(dynamodb.clone(), &cfg.tables.collars_table)
                .with_members(MembersTable::new(dynamodb.clone(), &cfg.tables.members_table)),
            notifications: NotificationsTable::new(dynamodb.clone(), &cfg.tables.notifications_table),
            s3: petty_shared::aws::s3(sdk),
            dynamodb,
            cfg,
        }
    }

    /// Every item of a query, page by page (at most [`ITEMS_PER_PAGE`] in memory: a big collar
    /// is streamed, never held), each through `shape` and into the archive's current entry.
    async fn dump(
        &self,
        a: &mut Archive,
        table: &str,
        key: (&str, AttributeValue),
        from: Option<(&str, i64)>,
        shape: impl Fn(&Item) -> Option<Value>,
        stop: Instant,
    ) -> Result<(), ExportError> {
        let mut start = None;
        loop {
            if Instant::now() >= stop {
                return Err(ExportError::TooLarge);
            }
            let mut q = self
                .dynamodb
                .query()
                .table_name(table)
                .expression_attribute_names("#k", key.0)
                .expression_attribute_values(":k", key.1.clone())
                .limit(ITEMS_PER_PAGE);
            q = match from {
                Some((attr, v)) => q
                    .key_condition_expression("#k = :k AND #r >= :r")
                    .expression_attribute_names("#r", attr)
                    .expression_attribute_values(":r", n(v)),
                None => q.key_condition_expression("#k = :k"),
            };
            let (items, next) = query_page(q, start).await?;
            for item in &items {
                if let Some(v) = shape(item) {
                    a.line(&v)?;
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }

    /// Builds and uploads the export.
    pub async fn export(&self, user_id: &str, export_id: &str, stop: Instant) -> Result<(), ExportError> {
        let Some(mut record) = self.users.export(user_id, export_id).await? else { return Ok(()) };
        if matches!(record.status, ExportStatus::Ready | ExportStatus::Failed) {
            return Ok(());
        }
        record.status = ExportStatus::Running;
        self.users.put_export(user_id, &record).await?;
        let path = self.cfg.work_dir.join(format!("petty-export-{export_id}.zip"));
        let result = self.build(user_id, &record, &path, stop).await;
        let outcome = match result {
            Ok(counts) => {
                let size = std::fs::metadata(&path).map_err(io)?.len();
                if size > MAX_ZIP_BYTES {
                    Err(ExportError::TooLarge)
                } else {
                    let body = aws_sdk_s3::primitives::ByteStream::from_path(&path).await.map_err(io)?;
                    self.s3
                        .put_object()
                        .bucket(&self.cfg.tables.exports_bucket)
                        .key(export_object_key(user_id, export_id))
                        .content_type("application/zip")
                        .body(body)
                        .send()
                        .await
                        .map_err(|e| io(petty_shared::sdk_error::error_summary(&e)))?;
                    Ok((counts, size))
                }
            }
            Err(e) => Err(e),
        };
        std::fs::remove_file(&path).ok();
        match outcome {
            Ok((counts, size)) => {
                record.status = ExportStatus::Ready;
                record.size_bytes = Some(size);
                record.counts = Some(counts);
            }
            Err(ExportError::TooLarge) => {
                record.status = ExportStatus::Failed;
                record.error = Some("export_too_large".into());
            }
            Err(other) => return Err(other),
        }
        record.completed_at = Some(chrono::Utc::now().timestamp());
        self.users.put_export(user_id, &record).await?;
        Ok(())
    }

    async fn build(
        &self,
        user_id: &str,
        record: &Export,
        path: &std::path::Path,
        stop: Instant,
    ) -> Result<BTreeMap<String, u64>, ExportError> {
        let file = std::fs::File::create(path).map_err(io)?;
        let mut a = Archive { zip: zip::ZipWriter::new(file), counts: BTreeMap::new(), current: String::new() };
        let cfg = &self.cfg;
        let user = self.users.user_by_id(user_id).await?.ok_or(ExportError::Io("account gone".into()))?;
        a.entry("profile.jsonl")?;
        a.line(&json!({
            "user_id": user.user_id, "email": user.email, "name": user.name, "created_at": user.created_at,
            "email_verified": user.email_verified, "timezone": user.timezone, "locale": user.locale, "scopes": user.scopes,
        }))?;
        let mut collars = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.collars.collars_of_owner(user_id, 100, start).await?;
            collars.extend(page);
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        a.entry("collars.jsonl")?;
        for c in &collars {
            a.line(&json!({"collar_id": c.collar_id, "pet": c.pet, "claimed_at": c.created_at, "visible_from_ms": c.visible_from_ms()}))?;
        }
        // The households the person is a member of (their role; the readings stay the owner's).
        let memberships = self.collars.members_table().map(|m| m.memberships_of(user_id));
        let memberships = match memberships {
            Some(query) => query.await?,
            None => Vec::new(),
        };
        a.entry("memberships.jsonl")?;
        for m in &memberships {
            a.line(&json!({"collar_id": m.collar_id, "role": m.role, "joined_ms": m.joined_ms, "ends_at": m.ends_at}))?;
        }
        a.entry("readings.jsonl")?;
        for c in &collars {
            let from = c.visible_from_ms().max(1);
            self.dump(
                &mut a,
                &cfg.tables.readings_table,
                ("collar_id", s(&c.collar_id)),
                Some(("ts", from)),
                |i| {
                    let mut v = plain_json(i);
                    v.as_object_mut().map(|o| o.remove("expires_at"));
                    Some(v)
                },
                stop,
            )
            .await?;
        }
        a.entry("timeline_events.jsonl")?;
        for c in &collars {
            let first_day = c.visible_from_ms() / DAY_MS * DAY_MS;
            self.dump(
                &mut a,
                &cfg.tables.timeline_events_table,
                ("collar_id", s(&c.collar_id)),
                Some(("day", first_day)),
                |i| Some(plain_json(i)),
                stop,
            )
            .await?;
        }
        a.entry("feedback.jsonl")?;
        // Their own verdicts on shared collars too (never a household calibration there).
        let shared = memberships.iter().map(|m| (m.collar_id.clone(), None));
        for (collar_id, visible_from) in
            collars.iter().map(|c| (c.collar_id.clone(), Some(c.visible_from_ms()))).chain(shared)
        {
            let calibration = visible_from.map(petty_shared::tables::feedback::calibration_key).unwrap_or_default();
            let me = user_id.to_owned();
            self.dump(
                &mut a,
                &cfg.tables.feedback_table,
                ("collar_id", s(&collar_id)),
                None,
                move |i| {
                    let sk = get_s(i, "sk").unwrap_or_default();
                    let parts: Vec<&str> = sk.split('#').collect();
                    let mine =
                        matches!(parts.first(), Some(&"cur") | Some(&"hist")) && parts.get(3) == Some(&me.as_str());
                    (mine || sk == calibration).then(|| plain_json(i))
                },
                stop,
            )
            .await?;
        }
        a.entry("alerts.jsonl")?;
        for c in &collars {
            let from = c.visible_from_ms();
            self.dump(
                &mut a,
                &cfg.tables.alerts_table,
                ("collar_id", s(&c.collar_id)),
                None,
                move |i| {
                    let sk = get_s(i, "sk").unwrap_or_default();
                    let keep = match sk.split('#').next() {
                        Some("alert") => petty_shared::dynamo::get_n(i, "opened_ms").unwrap_or_default() >= from,
                        Some("zone") | Some("settings") => true,
                        _ => false,
                    };
                    keep.then(|| plain_json(i))
                },
                stop,
            )
            .await?;
        }
        a.entry("notifications.jsonl")?;
        let d = self.notifications.destinations(user_id).await?;
        for w in &d.webhooks {
            a.line(&json!({"kind": "webhook", "webhook": w.view()}))?;
        }
        for dev in &d.devices {
            a.line(&json!({"kind": "device", "device": dev.view()}))?;
        }
        a.line(&json!({"kind": "settings", "settings": d.settings}))?;
        a.entry("api_keys.jsonl")?;
        // The keys' index, read directly: `dump` reads tables, not indexes.
        let keys = self
            .dynamodb
            .query()
            .table_name(&cfg.tables.api_keys_table)
            .index_name("user_id-index")
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id));
        for item in petty_shared::dynamo::query_all(keys).await? {
            let mut v = plain_json(&item);
            v.as_object_mut().map(|o| o.remove("secret_hash"));
            a.line(&v)?;
        }
        a.entry("sessions.jsonl")?;
        for x in self.sessions.sessions_of(user_id).await? {
            a.line(&serde_json::to_value(x.view(None)).map_err(io)?)?;
        }
        a.entry("audit_events.jsonl")?;
        self.dump(&mut a, &cfg.tables.audit_table, ("user_id", s(user_id)), None, |i| Some(plain_json(i)), stop)
            .await?;
        let counts = a.counts.clone();
        a.entry("manifest.json")?;
        a.line(&json!({"export_id": record.export_id, "user_id": user_id, "created_at": record.created_at, "counts": counts,
            "format": "JSON Lines per file; times in readings are Unix ms; see the README, Export"}))?;
        a.counts.remove("manifest.json");
        a.zip.finish().map_err(io)?;
        Ok(counts)
    }
}

/// Runs each message's job; a failed one is handed back to the queue.
pub async fn handle_batch(exporter: &Exporter, event: SqsEvent, stop: Instant) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in event.records {
        let result = match serde_json::from_str::<AccountJob>(&record.body) {
            Ok(AccountJob::Export { user_id, export_id }) => exporter.export(&user_id, &export_id, stop).await,
            Ok(_) | Err(_) => {
                tracing::error!("not an export job: dropped");
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "export failed; the message is retried");
            response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
        }
    }
    response
}
