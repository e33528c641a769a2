//! A small Secrets Manager cache: TTL, one fetch per key when concurrent misses race,
//! serve-stale-on-error within a bounded grace, and explicit (rate-limited) refresh.
//!
//! Why not the official `aws_secretsmanager_caching` crate: its refresh calls
//! `DescribeSecret` in addition to `GetSecretValue` (one more IAM action and round trip), its
//! error type is not `Send` (it cannot cross the `Send` futures lambda_runtime requires),
//! it has no serve-stale-on-error grace, and the values it hands out are plain `String`s that
//! are neither redacted in `Debug` nor zeroized. What we need is ~150 lines over one trait.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// A secret's value: never printed by `Debug`/`Display`, wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a value; the caller gives up its plain copy.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The value itself; call sites are easy to audit by this name.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([REDACTED])")
    }
}

/// Why a secret could not be had. Messages never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The secret does not exist (a deployment error, not a transient one).
    #[error("secret {0} not found")]
    NotFound(String),
    /// The secret exists but has no string value.
    #[error("secret {0} has no string value")]
    Empty(String),
    /// Secrets Manager could not be reached or refused the call.
    #[error("secrets manager unavailable: {0}")]
    Unavailable(String),
}

/// Where secret values come from; Secrets Manager in production, anything in unit tests.
pub trait SecretSource: Send + Sync + 'static {
    /// Fetches the current value of `id`.
    fn fetch(&self, id: &str) -> impl Future<Output = Result<SecretString, SecretError>> + Send;
}

/// [`SecretSource`] over the real Secrets Manager API (`GetSecretValue` only).
#[derive(Clone, Debug)]
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerSource {
    /// Wraps a client built once at cold start.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

impl SecretSource for SecretsManagerSource {
    async fn fetch(&self, id: &str) -> Result<SecretString, SecretError> {
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        let out =
            self.client.get_secret_value().secret_id(id).send().await.map_err(|err| match err.as_service_error() {
                Some(GetSecretValueError::ResourceNotFoundException(_)) => SecretError::NotFound(id.to_owned()),
                _ => SecretError::Unavailable(crate::sdk_error::error_summary(&err)),
            })?;
        out.secret_string.map(SecretString::new).ok_or_else(|| SecretError::Empty(id.to_owned()))
    }
}

/// A cached value with a version that changes only when the content changes, so consumers
/// can keep something parsed from it and re-parse only on a new version.
#[derive(Clone, Debug)]
pub struct Versioned {
    /// The value.
    pub value: Arc<SecretString>,
    /// Increments each time a fetch returns different content.
    pub version: u64,
}

/// Cache tuning; defaults fit a Lambda that lives minutes to hours.
#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    /// Served without a fetch for this long.
    pub ttl: Duration,
    /// After the TTL, a value is still served for this long if Secrets Manager fails.
    pub stale_grace: Duration,
    /// Forced refreshes of one id are at most this frequent (unknown-`kid` storms stay cheap).
    pub min_refresh_interval: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            stale_grace: Duration::from_secs(900),
            min_refresh_interval: Duration::from_secs(10),
        }
    }
}

struct Cached {
    value: Versioned,
    fetched_at: Instant,
}

#[derive(Default)]
struct Slot {
    current: Mutex<Option<Cached>>,
    /// Held while fetching: racing misses wait here and then find the fresh value.
    fetching: tokio::sync::Mutex<()>,
    /// When [`SecretCache::refresh`] last fetched (only ever read under `fetching`).
    last_forced: Mutex<Option<Instant>>,
}

impl Slot {
    fn snapshot(&self) -> Option<(Versioned, Instant)> {
        let guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|c| (c.value.clone(), c.fetched_at))
    }
}

/// TTL cache of secrets by id over any [`SecretSource`].
pub struct SecretCache<S> {
    source: S,
    settings: CacheSettings,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl<S: SecretSource> SecretCache<S> {
    /// A cache with the given settings.
    pub fn new(source: S, settings: CacheSettings) -> Self {
        Self { source, settings, slots: Mutex::new(HashMap::new()) }
    }

    /// The underlying source, for callers that must bypass the cache (readiness probes).
    pub fn source(&self) -> &S {
        &self.source
    }

    fn slot(&self, id: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(id) {
            return slot.clone();
        }
        slots.entry(id.to_owned()).or_default().clone()
    }

    /// The value of `id`: cached while fresh, fetched once when stale, stale within the grace
    /// when the fetch fails.
    pub async fn get(&self, id: &str) -> Result<Versioned, SecretError> {
        let slot = self.slot(id);
        if let Some((value, at)) = slot.snapshot() {
            if at.elapsed() < self.settings.ttl {
                return Ok(value);
            }
        }
        let _fetching = slot.fetching.lock().await;
        // Another caller may have fetched while we waited.
        if let Some((value, at)) = slot.snapshot() {
            if at.elapsed() < self.settings.ttl {
                return Ok(value);
            }
        }
        self.fetch_into(id, &slot).await
    }

    /// Fetches `id` now unless another forced refresh did within `min_refresh_interval`; used
    /// when a cached key fails verification after a rotation. Only forced refreshes count
    /// against the interval: a value the TTL fetched a moment ago may still predate the
    /// rotation, and a token signed with the new key must not be refused until the next one.
    pub async fn refresh(&self, id: &str) -> Result<Versioned, SecretError> {
        let slot = self.slot(id);
        let _fetching = slot.fetching.lock().await;
        {
            let mut last = slot.last_forced.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < self.settings.min_refresh_interval) {
                drop(last);
                if let Some((value, _)) = slot.snapshot() {
                    return Ok(value);
                }
            } else {
                *last = Some(Instant::now());
            }
        }
        self.fetch_into(id, &slot).await
    }

    async fn fetch_into(&self, id: &str, slot: &Slot) -> Result<Versioned, SecretError> {
        match self.source.fetch(id).await {
            Ok(fresh) => {
                let mut guard = slot.current.lock().unwrap_or_else(|p| p.into_inner());
                let version = match guard.as_ref() {
                    Some(old) if *old.value.value == fresh => old.value.version,
                    Some(old) => old.value.version + 1,
                    None => 1,
                };
                let value = Versioned { value: Arc::new(fresh), version };
                *guard = Some(Cached { value: value.clone(), fetched_at: Instant::now() });
                Ok(value)
            }
            Err(err) => match slot.snapshot() {
                Some((value, at)) if at.elapsed() < self.settings.ttl + self.settings.stale_grace => {
                    tracing::warn!(secret_id = id, error = %err, "secret fetch failed; serving the cached value");
                    Ok(value)
                }
                _ => Err(err),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    #[derive(Default)]
    struct Scripted {
        calls: AtomicUsize,
        fail: AtomicBool,
        value: Mutex<String>,
    }

    impl SecretSource for Arc<Scripted> {
        async fn fetch(&self, _id: &str) -> Result<SecretString, SecretError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(SecretError::Unavailable("boom".into()));
            }
            Ok(SecretString::new(self.value.lock().unwrap().clone()))
        }
    }

    fn source(value: &str) -> Arc<Scripted> {
        let s = Arc::new(Scripted::default());
        *s.value.lock().unwrap() = value.to_owned();
        s
    }

    fn settings(ttl_ms: u64, grace_ms: u64) -> CacheSettings {
        CacheSettings {
            ttl: Duration::from_millis(ttl_ms),
            stale_grace: Duration::from_millis(grace_ms),
            min_refresh_interval: Duration::from_millis(0),
        }
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretString::new("hunter2-private".into());
        assert_eq!(format!("{s:?}"), "SecretString([REDACTED])");
        let v = Versioned { value: Arc::new(s), version: 1 };
        assert!(!format!("{v:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn concurrent_misses_fetch_once() {
        let src = source("v1");
        let cache = Arc::new(SecretCache::new(src.clone(), settings(60_000, 0)));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.get("id").await.unwrap() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().value.expose(), "v1");
        }
        assert_eq!(src.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refetches_after_ttl_and_versions_changes() {
        let src = source("v1");
        let cache = SecretCache::new(src.clone(), settings(30, 0));
        let first = cache.get("id").await.unwrap();
        assert_eq!(first.version, 1);
        assert_eq!(cache.get("id").await.unwrap().version, 1);
        assert_eq!(src.calls.load(Ordering::SeqCst), 1);

        tokio::time::sleep(Duration::from_millis(40)).await;
        let same = cache.get("id").await.unwrap();
        assert_eq!((same.version, src.calls.load(Ordering::SeqCst)), (1, 2), "same content keeps its version");

        *src.value.lock().unwrap() = "v2".into();
        tokio::time::sleep(Duration::from_millis(40)).await;
        let changed = cache.get("id").await.unwrap();
        assert_eq!((changed.value.expose(), changed.version), ("v2", 2));
    }

    #[tokio::test]
    async fn serves_stale_within_grace_then_fails() {
        let src = source("v1");
        let cache = SecretCache::new(src.clone(), settings(20, 100));
        cache.get("id").await.unwrap();
        src.fail.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(cache.get("id").await.unwrap().value.expose(), "v1", "stale within grace");
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(cache.get("id").await.unwrap_err(), SecretError::Unavailable("boom".into()));
    }

    #[tokio::test]
    async fn first_fetch_failure_is_an_error() {
        let src = source("v1");
        src.fail.store(true, Ordering::SeqCst);
        let cache = SecretCache::new(src, settings(1000, 1000));
        assert!(matches!(cache.get("id").await, Err(SecretError::Unavailable(_))));
    }

    #[tokio::test]
    async fn refresh_bypasses_ttl_but_is_rate_limited() {
        let src = source("v1");
        let mut s = settings(60_000, 0);
        s.min_refresh_interval = Duration::from_millis(50);
        let cache = SecretCache::new(src.clone(), s);
        cache.get("id").await.unwrap();
        // Rotated right after the TTL fetch: the first forced refresh fetches at once.
        *src.value.lock().unwrap() = "v2".into();
        assert_eq!(cache.refresh("id").await.unwrap().value.expose(), "v2", "fresh TTL fetch: still refreshed");
        assert_eq!(src.calls.load(Ordering::SeqCst), 2);
        *src.value.lock().unwrap() = "v3".into();
        assert_eq!(cache.refresh("id").await.unwrap().value.expose(), "v2", "too soon after a refresh: no fetch");
        assert_eq!(src.calls.load(Ordering::SeqCst), 2);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.refresh("id").await.unwrap().value.expose(), "v3");
        assert_eq!(cache.get("id").await.unwrap().value.expose(), "v3");
        assert_eq!(src.calls.load(Ordering::SeqCst), 3);
    }
}
