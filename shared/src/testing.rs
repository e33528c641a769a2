//! In-memory doubles for unit tests of handlers' rules, without AWS: secrets, API keys, the
//! audit trail, collars and readings, and an [`Edge`] with a fresh key set whose [`Tokens`]
//! mint bearer tokens. The moto integration tests (`tests/`) cover the real adapters; no Lambda wires
//! these.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

use crate::audit::{AuditEvent, AuditStore};
use crate::auth::{ApiKeyRecord, ApiKeyStore, Authenticator};
use crate::collar::CollarLookup;
use crate::dynamo::{BatchWriteReport, Item, StoreError};
use crate::edge::Edge;
use crate::ingest::ReadingStore;
use crate::jwt::{Claims, JwtSettings, Signer, TokenType, Verifier};
use crate::reading::Reading;
use crate::secrets::{CacheSettings, SecretCache, SecretError, SecretSource, SecretString};
use crate::stores::{CollarStore, LatestReadings, Page};
use crate::tables::collars::{ClaimRequest, Collar, Pet, Registration};

const ISSUER: &str = "https://auth.petty.test";
const AUDIENCE: &str = "petty-api";
const JWKS: &str = "test/jwks";
const CURSOR_KEY: &str = "test/cursor-key";

/// Secrets in memory.
#[derive(Default)]
pub struct MemorySecrets(Mutex<HashMap<String, String>>);

impl MemorySecrets {
    /// Secrets from `(id, value)` pairs.
    pub fn with(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(Mutex::new(pairs.into_iter().collect()))
    }
}

impl SecretSource for MemorySecrets {
    async fn fetch(&self, id: &str) -> Result<SecretString, SecretError> {
        let values = self.0.lock().unwrap_or_else(|p| p.into_inner());
        values.get(id).map(|v| SecretString::new(v.clone())).ok_or_else(|| SecretError::NotFound(id.into()))
    }
}

/// API keys in memory, shared by clones (none unless a test adds them).
#[derive(Clone, Default)]
pub struct MemoryApiKeys(pub Arc<Mutex<HashMap<String, ApiKeyRecord>>>);

impl ApiKeyStore for MemoryApiKeys {
    async fn get(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).get(key_id).cloned())
    }
    async fn touch(&self, key_id: &str, now: i64, _not_after: i64) -> Result<bool, StoreError> {
        let mut keys = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(key) = keys.get_mut(key_id) else { return Ok(false) };
        let first = key.last_used_at.is_none();
        key.last_used_at = Some(now);
        Ok(first)
    }
}

impl crate::stores::ApiKeyAdmin for MemoryApiKeys {
    async fn put_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut keys = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if keys.contains_key(&key.key_id) {
            return Err(StoreError::ConditionFailed);
        }
        keys.insert(key.key_id.clone(), key.clone());
        Ok(())
    }
    async fn keys_of_user(&self, user_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let keys = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut mine: Vec<ApiKeyRecord> = keys.values().filter(|k| k.user_id == user_id).cloned().collect();
        mine.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.key_id.cmp(&b.key_id)));
        Ok(mine)
    }
    async fn revoke_key(&self, user_id: &str, key_id: &str, _now: i64) -> Result<(), StoreError> {
        let mut keys = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match keys.get_mut(key_id) {
            Some(k) if k.user_id == user_id => {
                k.revoked = true;
                Ok(())
            }
            _ => Err(StoreError::ConditionFailed),
        }
    }
}

/// Audit events kept in memory, shared by clones.
#[derive(Clone, Default)]
pub struct MemoryAudit(pub Arc<Mutex<Vec<AuditEvent>>>);

impl AuditStore for MemoryAudit {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event.clone());
        Ok(())
    }
}

impl crate::stores::AuditReader for MemoryAudit {
    async fn recent(&self, user_id: &str, limit: i32) -> Result<Vec<AuditEvent>, StoreError> {
        let events = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mine = events.iter().rev().filter(|e| e.user_id.as_deref() == Some(user_id));
        Ok(mine.take(limit as usize).cloned().collect())
    }
}

/// The data routes' edge over in-memory keys and audit.
pub type MemoryEdge = Edge<MemorySecrets, MemoryApiKeys, MemoryAudit>;

/// Mints bearer tokens the matching [`MemoryEdge`] accepts, and sees its audit events.
pub struct Tokens {
    pub audit: MemoryAudit,
    signer: Signer,
}

/// A verifier of a fresh RSA key set (2048 bits, generated here), and the tokens for it.
pub fn verifier() -> (Verifier<MemorySecrets>, Tokens) {
    let (edge, tokens) = edge();
    (edge.auth.into_verifier(), tokens)
}

/// An edge with a fresh RSA key set (2048 bits, generated here) and a cursor key, and the
/// tokens for it.
pub fn edge() -> (MemoryEdge, Tokens) {
    let key = crate::keygen::generate("test-kid");
    let secrets = MemorySecrets::default();
    {
        let mut values = secrets.0.lock().unwrap_or_else(|p| p.into_inner());
        values.insert(JWKS.into(), crate::keygen::jwks_json(&[&key]));
        values.insert(CURSOR_KEY.into(), "a cursor key for tests only".into());
    }
    let signer = Signer::from_json(&crate::keygen::signing_set_json("test-kid", &[&key])).expect("a key set");
    let cache = Arc::new(SecretCache::new(secrets, CacheSettings::default()));
    let settings = JwtSettings { issuer: ISSUER.into(), audience: AUDIENCE.into() };
    let audit = MemoryAudit::default();
    let auth = Authenticator::new(
        Verifier::new(cache.clone(), JWKS, &settings),
        Some(MemoryApiKeys::default()),
        audit.clone(),
    );
    (Edge::from_parts(auth, audit.clone(), cache, CURSOR_KEY), Tokens { audit, signer })
}

impl Tokens {
    /// An `Authorization` header value for `user_id` holding `scopes`.
    pub fn bearer(&self, user_id: &str, scopes: &[&str]) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            token_type: TokenType::Access,
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            nbf: now,
            exp: now + 600,
            fam: Some("test-family".into()),
        };
        format!("Bearer {}", self.signer.sign(&claims).expect("signing"))
    }
}

/// Collars in memory, with the table's conditions: a registration per serial (its ownership
/// inside while claimed); claim only unowned with the right code, update and release only by
/// the owner. `.1` logs each store call by name, so tests can compare what different paths do.
#[derive(Default)]
pub struct MemoryCollars(
    pub Mutex<BTreeMap<String, Registration>>,
    pub Mutex<Vec<&'static str>>,
    /// Memberships, as the members table holds them.
    pub Mutex<Vec<crate::tables::members::Membership>>,
);

impl MemoryCollars {
    fn log(&self, call: &'static str) {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).push(call);
    }

    /// Registers `collar_id` with `code` (as the operators' route would).
    pub fn with_registered(self, collar_id: &str, code: &crate::claim_code::ClaimCode) -> Self {
        let reg = Registration::new(collar_id, Some(code.hash()), None);
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(collar_id.into(), reg);
        self
    }

    /// Puts `collar` in as owned (registered with no code), replacing what was there.
    pub fn insert_owned(&self, collar: Collar) {
        let reg = Registration {
            owners_so_far: 1,
            owned: Some(collar.clone()),
            ..Registration::new(&collar.collar_id, None, None)
        };
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(collar.collar_id.clone(), reg);
    }

    /// Adds `user_id` to the household of `collar_id` (which must be owned) as `role`.
    pub fn add_member(&self, collar_id: &str, user_id: &str, role: crate::collar::Role, ends_at: Option<i64>) {
        let household = self.0.lock().unwrap_or_else(|p| p.into_inner())[collar_id]
            .owned
            .as_ref()
            .expect("owned")
            .household
            .clone();
        let mut members = self.2.lock().unwrap_or_else(|p| p.into_inner());
        members.retain(|m| !(m.collar_id == collar_id && m.user_id == user_id));
        members.push(crate::tables::members::Membership {
            collar_id: collar_id.into(),
            user_id: user_id.into(),
            role,
            household,
            joined_ms: 0,
            invited_by: "owner".into(),
            ends_at,
        });
    }

    /// `f` on the owner's collar `collar_id`; `ConditionFailed` when it is not theirs.
    fn with_owned<T>(
        &self,
        collar_id: &str,
        owner: &str,
        f: impl FnOnce(&mut Registration) -> T,
    ) -> Result<T, StoreError> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match all.get_mut(collar_id) {
            Some(reg) if reg.owned.as_ref().is_some_and(|c| c.owner_id == owner) => Ok(f(reg)),
            _ => Err(StoreError::ConditionFailed),
        }
    }
}

impl CollarLookup for MemoryCollars {
    async fn collar(&self, collar_id: &str) -> Result<Option<Collar>, StoreError> {
        self.log("collar");
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).get(collar_id).and_then(|r| r.owned.clone()))
    }
    async fn membership(
        &self,
        collar_id: &str,
        user_id: &str,
    ) -> Result<Option<crate::tables::members::Membership>, StoreError> {
        self.log("membership");
        let members = self.2.lock().unwrap_or_else(|p| p.into_inner());
        Ok(members.iter().find(|m| m.collar_id == collar_id && m.user_id == user_id).cloned())
    }
    async fn members(&self, collar_id: &str) -> Result<Vec<crate::tables::members::Membership>, StoreError> {
        self.log("members");
        let members = self.2.lock().unwrap_or_else(|p| p.into_inner());
        Ok(members.iter().filter(|m| m.collar_id == collar_id).cloned().collect())
    }
}

impl CollarStore for MemoryCollars {
    async fn registration(&self, collar_id: &str) -> Result<Option<Registration>, StoreError> {
        self.log("registration");
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).get(collar_id).cloned())
    }
    async fn claim(&self, c: &ClaimRequest<'_>) -> Result<Collar, StoreError> {
        self.log("claim");
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(reg) = all.get_mut(c.collar_id) else { return Err(StoreError::ConditionFailed) };
        if reg.owned.is_some()
            || reg.claim_code_hash.as_deref() != Some(c.claim_code_hash)
            || reg.owners_so_far != c.owners_seen
        {
            return Err(StoreError::ConditionFailed);
        }
        let collar = Collar {
            collar_id: c.collar_id.into(),
            owner_id: c.owner_id.into(),
            pet: c.pet.clone(),
            created_at: c.now_ms / 1000,
            updated_at: c.now_ms / 1000,
            visible_from: if c.owners_seen == 0 { 0 } else { c.now_ms },
            household: c.household.into(),
        };
        reg.owners_so_far += 1;
        reg.owned = Some(collar.clone());
        Ok(collar)
    }
    async fn count_of_owner(&self, owner: &str) -> Result<usize, StoreError> {
        self.log("count_of_owner");
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(all.values().filter(|r| r.owned.as_ref().is_some_and(|c| c.owner_id == owner)).count())
    }
    async fn collars_of_owner(&self, owner: &str, limit: i32, start: Option<Item>) -> Result<Page<Collar>, StoreError> {
        let after = start.and_then(|k| k.get("collar_id").and_then(|v| v.as_s().ok()).cloned());
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut mine: Vec<Collar> = all
            .values()
            .filter_map(|r| r.owned.clone())
            .filter(|c| c.owner_id == owner && after.as_ref().is_none_or(|a| &c.collar_id > a))
            .collect();
        let more = mine.len() > limit as usize;
        mine.truncate(limit as usize);
        let next = more.then(|| {
            let last = mine.last().map(|c| c.collar_id.clone()).unwrap_or_default();
            HashMap::from([("collar_id".to_owned(), crate::dynamo::s(last))])
        });
        Ok((mine, next))
    }
    async fn update_pet(&self, collar_id: &str, owner: &str, pet: &Pet, now: i64) -> Result<Collar, StoreError> {
        self.with_owned(collar_id, owner, |reg| {
            let c = reg.owned.as_mut().expect("owned");
            c.pet = pet.clone();
            c.updated_at = now;
            c.clone()
        })
    }
    async fn release(&self, collar_id: &str, owner: &str, _now: i64) -> Result<(), StoreError> {
        self.with_owned(collar_id, owner, |reg| reg.owned = None)?;
        self.2.lock().unwrap_or_else(|p| p.into_inner()).retain(|m| m.collar_id != collar_id);
        Ok(())
    }
    async fn shared_with(
        &self,
        user_id: &str,
        after: &str,
        limit: usize,
    ) -> Result<(Vec<(Collar, crate::collar::Role)>, bool), StoreError> {
        let mine: Vec<_> =
            self.2.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|m| m.user_id == user_id).cloned().collect();
        crate::stores::shared_with(self, mine, user_id, after, limit).await
    }
}

/// Claim counters in memory; `.1` logs each call by name.
/// Accounts' time zones by user id.
#[derive(Default)]
pub struct MemoryZones(pub Mutex<HashMap<String, String>>);

impl crate::stores::AccountZones for MemoryZones {
    async fn timezone_of(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.0.lock().unwrap().get(user_id).cloned())
    }
}

#[derive(Default)]
pub struct MemoryCounters(pub Mutex<HashMap<String, u32>>, pub Mutex<Vec<&'static str>>);

impl crate::stores::ClaimCounters for MemoryCounters {
    async fn bump_counter(&self, subject: &str, _expires_at: i64) -> Result<u32, StoreError> {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).push("bump_counter");
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = all.entry(subject.to_owned()).or_default();
        *count += 1;
        Ok(*count)
    }
    async fn counter(&self, subject: &str) -> Result<u32, StoreError> {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).push("counter");
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).get(subject).copied().unwrap_or(0))
    }
}

/// Readings in memory: every stored reading, each collar's latest (moved only forward), and
/// the days marked stale (collar, day start).
#[derive(Default)]
pub struct MemoryReadings {
    pub stored: Mutex<BTreeMap<(String, i64), Reading>>,
    pub latest: Mutex<HashMap<String, Reading>>,
    pub stale: Mutex<Vec<(String, i64)>>,
}

impl ReadingStore for MemoryReadings {
    async fn existing(&self, keys: &[(String, i64)]) -> Result<std::collections::HashSet<(String, i64)>, StoreError> {
        let stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        Ok(keys.iter().filter(|k| stored.contains_key(*k)).cloned().collect())
    }
    async fn put_all(&self, readings: &[&Reading], _deadline: Instant) -> BatchWriteReport {
        let mut stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        for r in readings {
            stored.insert((r.collar_id.clone(), r.timestamp_ms), (*r).clone());
        }
        BatchWriteReport { written: readings.len(), ..BatchWriteReport::default() }
    }
    async fn offer_latest(&self, r: &Reading) -> Result<bool, StoreError> {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        let newer = latest.get(&r.collar_id).is_none_or(|l| l.timestamp_ms < r.timestamp_ms);
        if newer {
            latest.insert(r.collar_id.clone(), r.clone());
        }
        Ok(newer)
    }
    async fn mark_stale(&self, collar_id: &str, day_ms: i64, _now_ms: i64) -> Result<(), StoreError> {
        self.stale.lock().unwrap_or_else(|p| p.into_inner()).push((collar_id.to_owned(), day_ms));
        Ok(())
    }
}

impl LatestReadings for MemoryReadings {
    async fn latest_reading(&self, collar_id: &str) -> Result<Option<Reading>, StoreError> {
        Ok(self.latest.lock().unwrap_or_else(|p| p.into_inner()).get(collar_id).cloned())
    }
}

/// An API Gateway HTTP API (v2) event, as the runtime hands it over (`path` may carry a query
/// string).
pub fn api_gateway_event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let headers: serde_json::Map<String, Value> = headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let params: serde_json::Map<String, Value> =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), json!(v))).collect();
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.petty.test",
            "domainPrefix": "api",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "tests" },
            "requestId": "apigw-req",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "22/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1795370400000u64
        },
        "body": body,
        "isBase64Encoded": false
    });
    event["rawQueryString"] = json!(query);
    if !params.is_empty() {
        event["queryStringParameters"] = Value::Object(params);
    }
    event
}

/// Sends a JSON request through the production pipeline to `handler`; the status and the JSON
/// body (`null` when empty).
pub async fn call<H: crate::Handler>(
    handler: &H,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> (lambda_http::http::StatusCode, Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = authorization {
        headers.push(("authorization", a));
    }
    let event = api_gateway_event(method, path, &headers, body);
    let req = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway request");
    let http = crate::HttpService::new("tests").with_emf_sink(crate::logging::memory_sink().0);
    let resp = http.handle(handler, req).await.expect("the pipeline always answers");
    let json = match resp.body() {
        lambda_http::Body::Text(t) if !t.is_empty() => serde_json::from_str(t).expect("a JSON body"),
        _ => Value::Null,
    };
    (resp.status(), json)
}

impl crate::stores::SampleSource for MemoryReadings {
    async fn samples_by_day(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
        _consistent: bool,
    ) -> Result<crate::tables::readings::Samples, StoreError> {
        let stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        let samples = stored
            .range((collar_id.to_owned(), from_ms)..(collar_id.to_owned(), to_ms))
            .map(|(_, r)| petty_behaviour::Sample {
                ts_ms: r.timestamp_ms,
                heart_rate: r.heart_rate,
                activity: r.activity_level as u8,
                lat: r.lat,
                lon: r.lon,
            })
            .collect();
        Ok(crate::tables::readings::Samples { samples, pages: 1, malformed: 0 })
    }
}

/// Feedback and calibration in memory, keyed like the table (current verdict per user and
/// event; revisions counted).
#[derive(Default)]
pub struct MemoryFeedback {
    pub current: Mutex<BTreeMap<(String, i64, String, String), crate::tables::feedback::FeedbackRecord>>,
    /// By (collar, the ownership's `visible_from`).
    pub calibration: Mutex<HashMap<(String, i64), petty_behaviour::calibration::Calibration>>,
}

impl crate::stores::FeedbackReader for MemoryFeedback {
    async fn current_feedback(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<crate::tables::feedback::FeedbackRecord>, StoreError> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        Ok(current
            .iter()
            .filter(|((c, start, _, _), _)| c == collar_id && (from_ms..to_ms).contains(start))
            .map(|(_, v)| v.clone())
            .collect())
    }
    async fn calibration_of(
        &self,
        collar_id: &str,
        visible_from: i64,
    ) -> Result<petty_behaviour::calibration::Calibration, StoreError> {
        let all = self.calibration.lock().unwrap_or_else(|p| p.into_inner());
        Ok(all.get(&(collar_id.to_owned(), visible_from)).cloned().unwrap_or_default())
    }
}

impl crate::stores::FeedbackStore for MemoryFeedback {
    async fn record_feedback(
        &self,
        collar_id: &str,
        mut v: crate::tables::feedback::FeedbackRecord,
    ) -> Result<crate::tables::feedback::FeedbackRecord, StoreError> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let key = (collar_id.to_owned(), v.event_start, v.behavior.as_str().to_owned(), v.user_id.clone());
        v.revisions = current.get(&key).map_or(1, |old| old.revisions + 1);
        current.insert(key, v.clone());
        Ok(v)
    }
    async fn feedback_page(
        &self,
        collar_id: &str,
        user_id: &str,
        (from_ms, to_ms): (i64, i64),
        limit: i32,
        _start: Option<Item>,
    ) -> Result<Page<crate::tables::feedback::FeedbackRecord>, StoreError> {
        let all = crate::stores::FeedbackReader::current_feedback(self, collar_id, from_ms, to_ms).await?;
        Ok((all.into_iter().filter(|v| v.user_id == user_id).take(limit as usize).collect(), None))
    }
    async fn save_calibration(
        &self,
        collar_id: &str,
        visible_from: i64,
        c: &petty_behaviour::calibration::Calibration,
        _now_ms: i64,
    ) -> Result<(), StoreError> {
        self.calibration
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((collar_id.to_owned(), visible_from), c.clone());
        Ok(())
    }
}

/// The event index in memory: what each (collar, day) showed; day records and stale marks.
#[derive(Default)]
pub struct MemoryEventIndex(
    pub Mutex<HashMap<(String, i64), Vec<crate::tables::timeline_events::ShownEvent>>>,
    pub Mutex<BTreeMap<(String, i64), crate::tables::timeline_events::StoredDay>>,
);

impl crate::stores::DayRecords for MemoryEventIndex {
    async fn days(
        &self,
        collar_id: &str,
        from_day_ms: i64,
        to_day_ms: i64,
        with_episodes: bool,
    ) -> Result<Vec<crate::tables::timeline_events::StoredDay>, StoreError> {
        let days = self.1.lock().unwrap_or_else(|p| p.into_inner());
        Ok(days
            .range((collar_id.to_owned(), from_day_ms)..=(collar_id.to_owned(), to_day_ms))
            .map(|(_, d)| {
                let mut d = d.clone();
                if let Some(r) = d.record.as_mut().filter(|_| !with_episodes) {
                    r.episodes.clear();
                }
                d
            })
            .collect())
    }

    async fn put_record(
        &self,
        collar_id: &str,
        day_ms: i64,
        record: &crate::tables::timeline_events::DayRecord,
        read_at: i64,
    ) -> Result<bool, StoreError> {
        let mut days = self.1.lock().unwrap_or_else(|p| p.into_inner());
        let key = (collar_id.to_owned(), day_ms);
        if days.get(&key).and_then(|d| d.stale_at).is_some_and(|mark| mark >= read_at) {
            return Ok(false);
        }
        let stored = crate::tables::timeline_events::StoredDay {
            day_ms,
            record: Some(record.clone()),
            read_at: Some(read_at),
            stale_at: None,
        };
        days.insert(key.clone(), stored);
        let shown = record
            .episodes
            .iter()
            .map(|e| crate::tables::timeline_events::ShownEvent {
                start_ms: e.start_ms,
                end_ms: e.end_ms,
                behavior: e.behavior,
            })
            .collect();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(key, shown);
        Ok(true)
    }
}

impl crate::stores::StaleDays for MemoryEventIndex {
    async fn mark_stale(&self, collar_id: &str, day_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        let mut days = self.1.lock().unwrap_or_else(|p| p.into_inner());
        let day = days.entry((collar_id.to_owned(), day_ms)).or_insert(crate::tables::timeline_events::StoredDay {
            day_ms,
            record: None,
            read_at: None,
            stale_at: None,
        });
        day.stale_at = Some(now_ms);
        Ok(())
    }
}

impl crate::stores::EventPublisher for MemoryEventIndex {
    async fn publish_day(
        &self,
        collar_id: &str,
        day_ms: i64,
        episodes: &[petty_behaviour::Episode],
    ) -> Result<(), StoreError> {
        // As the table: a day with its record keeps it.
        let key = (collar_id.to_owned(), day_ms);
        if self.1.lock().unwrap_or_else(|p| p.into_inner()).get(&key).is_some_and(|d| d.record.is_some()) {
            return Ok(());
        }
        let shown = episodes
            .iter()
            .map(|e| crate::tables::timeline_events::ShownEvent {
                start_ms: e.start_ms,
                end_ms: e.end_ms,
                behavior: e.behavior,
            })
            .collect();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert((collar_id.to_owned(), day_ms), shown);
        Ok(())
    }
}

impl crate::stores::ShownEvents for MemoryEventIndex {
    async fn shown_on_day(
        &self,
        collar_id: &str,
        day_ms: i64,
    ) -> Result<Vec<crate::tables::timeline_events::ShownEvent>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(collar_id.to_owned(), day_ms))
            .cloned()
            .unwrap_or_default())
    }
}

impl crate::stores::CollarRegistry for MemoryCollars {
    async fn register_collar(
        &self,
        collar_id: &str,
        hash: &str,
        iot_thing: Option<&str>,
        _now: i64,
    ) -> Result<bool, StoreError> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if all.contains_key(collar_id) {
            return Ok(false);
        }
        all.insert(collar_id.into(), Registration::new(collar_id, Some(hash.into()), iot_thing));
        Ok(true)
    }
    async fn reset_claim_code(&self, collar_id: &str, hash: &str, _now: i64) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let reg = all.get_mut(collar_id).ok_or(StoreError::ConditionFailed)?;
        reg.claim_code_hash = Some(hash.into());
        Ok(())
    }
}
