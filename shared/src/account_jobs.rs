//! The account jobs' messages (SQS bodies) and the export archive's place in S3, shared by
//! the auth function that queues them and the job functions that run them.

use serde::{Deserialize, Serialize};

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
