//! The account jobs' messages (SQS bodies) and the export archive's place in S3, shared by
//! the auth function that queues them and the job functions that run them; the tables both
//! jobs read, and their runtime loop.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::batch::{BatchResponse, SqsEvent};
use crate::config::{ConfigError, Env};

/// Exports (the zip and its record) are kept this long.
pub const EXPORT_RETENTION_DAYS: i64 = 7;
/// An erasure's progress record (ids, counts, times) is kept this long after the request.
pub const ERASURE_RECORD_DAYS: i64 = 30;

/// A job message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountJob {
    /// Erase the account `user_id` (its progress is the users table's `ERASURE#` record).
    Erase { user_id: String, erasure_id: String },
    /// Build the export `export_id` of `user_id`.
    Export { user_id: String, export_id: String },
}

/// Where an export's zip is stored.
pub fn export_object_key(user_id: &str, export_id: &str) -> String {
    format!("{}{export_id}.zip", export_prefix(user_id))
}

/// The prefix of a user's exports (erasure deletes all of it).
pub fn export_prefix(user_id: &str) -> String {
    format!("exports/{user_id}/")
}

/// The tables (and the bucket) holding a person's data: what the exporter reads and the
/// eraser deletes from.
#[derive(Debug, Clone)]
pub struct AccountTables {
    pub users_table: String,
    pub sessions_table: String,
    pub api_keys_table: String,
    pub audit_table: String,
    pub collars_table: String,
    pub readings_table: String,
    pub alerts_table: String,
    pub feedback_table: String,
    pub timeline_events_table: String,
    pub notifications_table: String,
    /// Households: the memberships a person holds (exported, removed with the account).
    pub members_table: String,
    pub exports_bucket: String,
}

impl AccountTables {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            users_table: env.required("USERS_TABLE")?,
            sessions_table: env.required("REFRESH_FAMILIES_TABLE")?,
            api_keys_table: env.required("API_KEYS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            collars_table: env.required("COLLARS_TABLE")?,
            readings_table: env.required("READINGS_TABLE")?,
            alerts_table: env.required("ALERTS_TABLE")?,
            feedback_table: env.required("FEEDBACK_TABLE")?,
            timeline_events_table: env.required("TIMELINE_EVENTS_TABLE")?,
            notifications_table: env.required("NOTIFICATIONS_TABLE")?,
            members_table: env.required("MEMBERS_TABLE")?,
            exports_bucket: env.required("EXPORTS_BUCKET")?,
        })
    }
}

/// The runtime loop of an account job: one `ColdStart` EMF line on the process's first
/// invocation, then each SQS batch handed to `job` with the instant to stop by, `margin`
/// before Lambda's deadline (an emulator that sends no deadline gets 15 minutes).
pub async fn run_until_deadline<F, Fut>(
    service: &'static str,
    margin: Duration,
    job: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Fn(SqsEvent, Instant) -> Fut,
    Fut: Future<Output = BatchResponse>,
{
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| service.to_owned());
    let cold = AtomicBool::new(true);
    let emf = crate::logging::stdout_sink();
    let (job, function, cold, emf) = (&job, &function, &cold, &emf);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
        if cold.swap(false, Ordering::Relaxed) {
            let mut metrics = crate::metrics::Metrics::new(service, function);
            metrics.add("ColdStart", crate::metrics::Unit::Count, 1.0).ok();
            for line in metrics.flush(chrono::Utc::now().timestamp_millis()) {
                emf(format!("{line}\n").as_bytes());
            }
        }
        let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or(Duration::from_secs(900));
        let stop = Instant::now() + left.saturating_sub(margin);
        // Boxed: the job's future is deep (every table's pages), and inlined into the runtime's
        // it passes the compiler's layout depth limit; one allocation an invocation.
        Ok::<BatchResponse, lambda_runtime::Error>(Box::pin(job(event.payload, stop)).await)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_messages_have_a_stable_shape() {
        let job = AccountJob::Erase { user_id: "u1".into(), erasure_id: "e1".into() };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(text, r#"{"kind":"erase","user_id":"u1","erasure_id":"e1"}"#);
        assert_eq!(serde_json::from_str::<AccountJob>(&text).unwrap(), job);
        assert_eq!(export_object_key("u1", "x"), "exports/u1/x.zip");
    }
}
