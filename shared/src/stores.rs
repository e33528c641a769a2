//! The store capabilities handlers are written over, one small trait per need, implemented by
//! the table modules (`crate::tables`) and, for unit tests, by the in-memory doubles in
//! [`crate::testing`]. A handler names only the capabilities it uses, so its IAM grants and
//! its test double stay as small as its needs.

use std::future::Future;

use petty_behaviour::Episode;
use petty_behaviour::calibration::Calibration;

use crate::audit::AuditEvent;
use crate::auth::ApiKeyRecord;
use crate::dynamo::{Item, StoreError};
use crate::reading::Reading;
use crate::tables::api_keys::ApiKeysTable;
use crate::tables::audit::AuditTable;
use crate::tables::claim_attempts::ClaimAttemptsTable;
use crate::tables::collars::{ClaimRequest, Collar, CollarsTable, Pet, Registration};
use crate::tables::feedback::{FeedbackRecord, FeedbackTable};
use crate::tables::readings::{ReadingsTable, Samples};
use crate::tables::timeline_events::{DayRecord, ShownEvent, StoredDay, TimelineEventsTable};

pub use crate::collar::{CollarLookup, Role};
pub use crate::ingest::ReadingStore;

/// A page of items and where the next one starts (an opaque DynamoDB key, cursor-encoded at
/// the edge).
pub type Page<T> = (Vec<T>, Option<Item>);

/// Claiming, listing, updating and releasing collars.
pub trait CollarStore: CollarLookup {
    /// The collar's registration, owned or not.
    fn registration(&self, collar_id: &str) -> impl Future<Output = Result<Option<Registration>, StoreError>> + Send;
    /// Claims a registered, unowned collar whose code hash matches; `ConditionFailed` for
    /// every other case alike.
    fn claim(&self, c: &ClaimRequest<'_>) -> impl Future<Output = Result<Collar, StoreError>> + Send;
    /// How many collars `owner` holds.
    fn count_of_owner(&self, owner: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// One page of an owner's collars.
    fn collars_of_owner(
        &self,
        owner: &str,
        limit: i32,
        start: Option<Item>,
    ) -> impl Future<Output = Result<Page<Collar>, StoreError>> + Send;
    /// Replaces the pet of a collar `owner` owns; `ConditionFailed` otherwise.
    fn update_pet(
        &self,
        collar_id: &str,
        owner: &str,
        pet: &Pet,
        now: i64,
    ) -> impl Future<Output = Result<Collar, StoreError>> + Send;
    /// Releases a collar `owner` owns, keeping its registration, and ends its household;
    /// `ConditionFailed` otherwise.
    fn release(&self, collar_id: &str, owner: &str, now: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Up to `limit` collars shared with `user_id` (memberships that count now), by collar
    /// id after `after`, with the user's role; and whether more follow.
    fn shared_with(
        &self,
        user_id: &str,
        after: &str,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<(Collar, Role)>, bool), StoreError>> + Send;
}

/// [`CollarStore::shared_with`] over any lookup: each membership checked against its collar
/// (the user index may lag a removal; the collar's household decides).
pub async fn shared_with<L: CollarLookup>(
    lookup: &L,
    mut memberships: Vec<crate::tables::members::Membership>,
    user_id: &str,
    after: &str,
    limit: usize,
) -> Result<(Vec<(Collar, Role)>, bool), StoreError> {
    memberships.sort_by(|a, b| a.collar_id.cmp(&b.collar_id));
    let now_s = chrono::Utc::now().timestamp();
    let mut out = Vec::new();
    for m in memberships.into_iter().filter(|m| m.collar_id.as_str() > after) {
        let Some(collar) = lookup.collar(&m.collar_id).await? else { continue };
        if let Some(role) = crate::collar::role_of(&collar, Some(&m), user_id, now_s) {
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push((collar, role));
        }
    }
    Ok((out, false))
}

impl CollarStore for CollarsTable {
    async fn registration(&self, collar_id: &str) -> Result<Option<Registration>, StoreError> {
        CollarsTable::registration(self, collar_id).await
    }
    async fn claim(&self, c: &ClaimRequest<'_>) -> Result<Collar, StoreError> {
        CollarsTable::claim(self, c).await
    }
    async fn count_of_owner(&self, owner: &str) -> Result<usize, StoreError> {
        CollarsTable::count_of_owner(self, owner).await
    }
    async fn collars_of_owner(&self, owner: &str, limit: i32, start: Option<Item>) -> Result<Page<Collar>, StoreError> {
        CollarsTable::collars_of_owner(self, owner, limit, start).await
    }
    async fn update_pet(&self, collar_id: &str, owner: &str, pet: &Pet, now: i64) -> Result<Collar, StoreError> {
        CollarsTable::update_pet(self, collar_id, owner, pet, now).await
    }
    async fn release(&self, collar_id: &str, owner: &str, now: i64) -> Result<(), StoreError> {
        CollarsTable::release(self, collar_id, owner, now).await?;
        // The release already ended every membership (no household left); this clears them.
        if let Some(members) = self.members_table() {
            members.end_household(collar_id).await?;
        }
        Ok(())
    }
    async fn shared_with(
        &self,
        user_id: &str,
        after: &str,
        limit: usize,
    ) -> Result<(Vec<(Collar, Role)>, bool), StoreError> {
        let Some(members) = self.members_table() else { return Ok((Vec::new(), false)) };
        shared_with(self, members.memberships_of(user_id).await?, user_id, after, limit).await
    }
}

/// Registering collars and resetting their claim codes (the operators' routes).
pub trait CollarRegistry: Send + Sync {
    /// False (nothing changed) when the serial is already registered.
    fn register_collar(
        &self,
        collar_id: &str,
        claim_code_hash: &str,
        iot_thing: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// `ConditionFailed` when the serial is not registered.
    fn reset_claim_code(
        &self,
        collar_id: &str,
        claim_code_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl CollarRegistry for CollarsTable {
    async fn register_collar(
        &self,
        collar_id: &str,
        hash: &str,
        iot_thing: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        CollarsTable::register_collar(self, collar_id, hash, iot_thing, now).await
    }
    async fn reset_claim_code(&self, collar_id: &str, hash: &str, now: i64) -> Result<(), StoreError> {
        CollarsTable::reset_claim_code(self, collar_id, hash, now).await
    }
}

/// Counters that bound claiming (attempts per window, claims per hour).
pub trait ClaimCounters: Send + Sync {
    /// Adds one to `subject`'s counter; the new count.
    fn bump_counter(&self, subject: &str, expires_at: i64) -> impl Future<Output = Result<u32, StoreError>> + Send;
    /// `subject`'s counter.
    fn counter(&self, subject: &str) -> impl Future<Output = Result<u32, StoreError>> + Send;
}

impl ClaimCounters for ClaimAttemptsTable {
    async fn bump_counter(&self, subject: &str, expires_at: i64) -> Result<u32, StoreError> {
        ClaimAttemptsTable::bump_counter(self, subject, expires_at).await
    }
    async fn counter(&self, subject: &str) -> Result<u32, StoreError> {
        ClaimAttemptsTable::counter(self, subject).await
    }
}

/// A collar's latest reading (realtime).
pub trait LatestReadings: Send + Sync {
    fn latest_reading(&self, collar_id: &str) -> impl Future<Output = Result<Option<Reading>, StoreError>> + Send;
}

impl LatestReadings for ReadingsTable {
    async fn latest_reading(&self, collar_id: &str) -> Result<Option<Reading>, StoreError> {
        ReadingsTable::latest_reading(self, collar_id).await
    }
}

/// An account's own time zone: a newly claimed pet's default.
pub trait AccountZones: Send + Sync {
    fn timezone_of(&self, user_id: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

impl AccountZones for crate::tables::users::UsersTable {
    async fn timezone_of(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        self.timezone(user_id).await
    }
}

/// A collar's readings as the behaviour model's samples, by UTC day (the timeline).
pub trait SampleSource: Send + Sync {
    /// `consistent`: every reading written before the call (a finished day's record).
    fn samples_by_day(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
        consistent: bool,
    ) -> impl Future<Output = Result<Samples, StoreError>> + Send;
}

impl SampleSource for ReadingsTable {
    async fn samples_by_day(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
        consistent: bool,
    ) -> Result<Samples, StoreError> {
        ReadingsTable::samples_by_day(self, collar_id, from_ms, to_ms, consistent).await
    }
}

/// Owners' current verdicts and the pet's calibration, read (the timeline and feedback).
pub trait FeedbackReader: Send + Sync {
    /// Every current verdict on events starting in `[from_ms, to_ms)`, all users.
    fn current_feedback(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Future<Output = Result<Vec<FeedbackRecord>, StoreError>> + Send;
    /// The pet's calibration for the ownership from `visible_from` (the default when none).
    fn calibration_of(
        &self,
        collar_id: &str,
        visible_from: i64,
    ) -> impl Future<Output = Result<Calibration, StoreError>> + Send;
}

impl FeedbackReader for FeedbackTable {
    async fn current_feedback(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<FeedbackRecord>, StoreError> {
        FeedbackTable::current_feedback(self, collar_id, from_ms, to_ms).await
    }
    async fn calibration_of(&self, collar_id: &str, visible_from: i64) -> Result<Calibration, StoreError> {
        FeedbackTable::calibration_of(self, collar_id, visible_from).await
    }
}

/// Recording verdicts, paging a user's, saving calibration (the feedback function).
pub trait FeedbackStore: FeedbackReader {
    fn record_feedback(
        &self,
        collar_id: &str,
        v: FeedbackRecord,
    ) -> impl Future<Output = Result<FeedbackRecord, StoreError>> + Send;
    fn feedback_page(
        &self,
        collar_id: &str,
        user_id: &str,
        window: (i64, i64),
        limit: i32,
        start: Option<Item>,
    ) -> impl Future<Output = Result<Page<FeedbackRecord>, StoreError>> + Send;
    fn save_calibration(
        &self,
        collar_id: &str,
        visible_from: i64,
        c: &Calibration,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl FeedbackStore for FeedbackTable {
    async fn record_feedback(&self, collar_id: &str, v: FeedbackRecord) -> Result<FeedbackRecord, StoreError> {
        FeedbackTable::record_feedback(self, collar_id, v).await
    }
    async fn feedback_page(
        &self,
        collar_id: &str,
        user_id: &str,
        window: (i64, i64),
        limit: i32,
        start: Option<Item>,
    ) -> Result<Page<FeedbackRecord>, StoreError> {
        FeedbackTable::feedback_page(self, collar_id, user_id, window, limit, start).await
    }
    async fn save_calibration(
        &self,
        collar_id: &str,
        from: i64,
        c: &Calibration,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        FeedbackTable::save_calibration(self, collar_id, from, c, now_ms).await
    }
}

/// Publishing what a day showed (the timeline).
pub trait EventPublisher: Send + Sync {
    fn publish_day(
        &self,
        collar_id: &str,
        day_ms: i64,
        episodes: &[Episode],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl EventPublisher for TimelineEventsTable {
    async fn publish_day(&self, collar_id: &str, day_ms: i64, episodes: &[Episode]) -> Result<(), StoreError> {
        TimelineEventsTable::publish_day(self, collar_id, day_ms, episodes).await
    }
}

/// Finished days computed once (the timeline and the summary).
pub trait DayRecords: Send + Sync {
    /// The stored days starting in `[from_day_ms, to_day_ms]` (records without their
    /// episodes unless `with_episodes`).
    fn days(
        &self,
        collar_id: &str,
        from_day_ms: i64,
        to_day_ms: i64,
        with_episodes: bool,
    ) -> impl Future<Output = Result<Vec<StoredDay>, StoreError>> + Send;
    /// False when a late reading landed on the day after `read_at` (not stored).
    fn put_record(
        &self,
        collar_id: &str,
        day_ms: i64,
        record: &DayRecord,
        read_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl DayRecords for TimelineEventsTable {
    async fn days(
        &self,
        collar_id: &str,
        from_day_ms: i64,
        to_day_ms: i64,
        with_episodes: bool,
    ) -> Result<Vec<StoredDay>, StoreError> {
        TimelineEventsTable::days(self, collar_id, from_day_ms, to_day_ms, with_episodes).await
    }
    async fn put_record(
        &self,
        collar_id: &str,
        day_ms: i64,
        record: &DayRecord,
        read_at: i64,
    ) -> Result<bool, StoreError> {
        TimelineEventsTable::put_record(self, collar_id, day_ms, record, read_at).await
    }
}

/// Marking finished days that late readings landed on (ingestion).
pub trait StaleDays: Send + Sync {
    fn mark_stale(
        &self,
        collar_id: &str,
        day_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl StaleDays for TimelineEventsTable {
    async fn mark_stale(&self, collar_id: &str, day_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        TimelineEventsTable::mark_stale(self, collar_id, day_ms, now_ms).await
    }
}

/// Reading what a day showed (feedback accepts only those events).
pub trait ShownEvents: Send + Sync {
    fn shown_on_day(
        &self,
        collar_id: &str,
        day_ms: i64,
    ) -> impl Future<Output = Result<Vec<ShownEvent>, StoreError>> + Send;
}

impl ShownEvents for TimelineEventsTable {
    async fn shown_on_day(&self, collar_id: &str, day_ms: i64) -> Result<Vec<ShownEvent>, StoreError> {
        TimelineEventsTable::shown_on_day(self, collar_id, day_ms).await
    }
}

/// Creating, listing and revoking a user's API keys (the auth function).
pub trait ApiKeyAdmin: Send + Sync {
    fn put_key(&self, key: &ApiKeyRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn keys_of_user(&self, user_id: &str) -> impl Future<Output = Result<Vec<ApiKeyRecord>, StoreError>> + Send;
    /// `ConditionFailed` when the key is not the user's or does not exist.
    fn revoke_key(&self, user_id: &str, key_id: &str, now: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl ApiKeyAdmin for ApiKeysTable {
    async fn put_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        ApiKeysTable::put_key(self, key).await
    }
    async fn keys_of_user(&self, user_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        ApiKeysTable::keys_of_user(self, user_id).await
    }
    async fn revoke_key(&self, user_id: &str, key_id: &str, now: i64) -> Result<(), StoreError> {
        ApiKeysTable::revoke_key(self, user_id, key_id, now).await
    }
}

/// A user's recent security events, newest first.
pub trait AuditReader: Send + Sync {
    fn recent(&self, user_id: &str, limit: i32) -> impl Future<Output = Result<Vec<AuditEvent>, StoreError>> + Send;
}

impl AuditReader for AuditTable {
    async fn recent(&self, user_id: &str, limit: i32) -> Result<Vec<AuditEvent>, StoreError> {
        AuditTable::recent(self, user_id, limit).await
    }
}
