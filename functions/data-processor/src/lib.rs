//! Petty's data processor: collars and their owners, validated idempotent ingestion of
//! readings over HTTP, and the latest reading per collar. The collar stream (SQS) is the
//! `petty-stream` function; both store through `petty_shared::ingest`.

mod claim;
pub mod config;
mod http_ingest;

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api;
use petty_shared::audit::{self, AuditEvent, AuditStore};
use petty_shared::auth::{ApiKeyStore, Principal};
use petty_shared::collar::{Access, Collar, Need, Role, access, not_found};
use petty_shared::dynamo::StoreError;
use petty_shared::edge::Edge;
use petty_shared::http::query::{self, collar_id};
use petty_shared::http::{
    ApiError, Handler, Invocation, RouteSpec, json_body, json_response, no_content, route, source_ip,
};
use petty_shared::ingest::ReadingStore;
use petty_shared::reading::Reading;
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::stores::{AccountZones, ClaimCounters, CollarStore, LatestReadings};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::claim_attempts::ClaimAttemptsTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::members::MembersTable;
use petty_shared::tables::readings::ReadingsTable;
use petty_shared::tables::timeline_events::TimelineEventsTable;
use petty_shared::tables::users::UsersTable;

pub use config::{ClaimLimits, DataConfig};
pub use http_ingest::MAX_BATCH;
use petty_shared::api::format_ms;

/// The service name in logs and metrics.
pub const SERVICE: &str = "data-processor";

/// This function's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Ingest,
    Realtime,
    Claim,
    List,
    Get,
    Patch,
    Release,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("POST", "/v1/ingest", Route::Ingest),
    route("GET", "/v1/realtime", Route::Realtime),
    route("POST", "/v1/collars", Route::Claim),
    route("GET", "/v1/collars", Route::List),
    route("GET", "/v1/collars/{collar_id}", Route::Get),
    route("PATCH", "/v1/collars/{collar_id}", Route::Patch),
    route("DELETE", "/v1/collars/{collar_id}", Route::Release),
];

/// The data processor's handler, over the collar and reading capabilities it uses (the
/// tables in Lambda, in-memory doubles in unit tests) and the edge.
pub struct DataApp<
    S,
    C = CollarsTable,
    R = ReadingsTable,
    N = ClaimAttemptsTable,
    K = ApiKeysTable,
    A = AuditTable,
    U = UsersTable,
> {
    pub(crate) collars: C,
    pub(crate) readings: R,
    pub(crate) counters: N,
    /// Owners' time zones: a pet claimed without one gets its owner's.
    pub(crate) zones: U,
    pub(crate) edge: Edge<S, K, A>,
    pub(crate) claim_limits: ClaimLimits,
}

/// A stored collar as its owner sees it, with the fleet status of its latest reading of this
/// ownership (none from before the claim).
fn collar_view(c: &Collar, role: Role, latest: Option<&Reading>) -> api::Collar {
    let latest = latest.filter(|r| r.timestamp_ms >= c.visible_from_ms());
    api::Collar {
        collar_id: c.collar_id.clone(),
        pet: c.pet.clone(),
        role,
        claimed_at: format_ms(c.created_at * 1000),
        updated_at: format_ms(c.updated_at * 1000),
        last_seen_at: latest.map(|r| format_ms(r.timestamp_ms)),
        battery_pct: latest.and_then(|r| r.battery_pct),
        firmware: latest.and_then(|r| r.firmware.clone()),
    }
}

/// The latest reading as `GET /v1/realtime` shows it, `age_s` old.
fn realtime_view(latest: &Reading, age_s: i64) -> api::Realtime {
    api::Realtime {
        collar_id: latest.collar_id.clone(),
        heart_rate: latest.heart_rate,
        activity_level: latest.activity_level.into(),
        location: api::Point::new(latest.lon, latest.lat),
        timestamp: format_ms(latest.timestamp_ms),
        age_s,
        temperature_c: latest.temperature_c,
        battery_pct: latest.battery_pct,
    }
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The cursor key of `GET /v1/collars` once it lists shared collars: the last collar id shown.
const SHARED_AFTER: &str = "shared_after";

/// Collars are managed with a person's token holding this scope.
pub(crate) const MANAGE: &str = "collars:manage";

impl<S: SecretSource> DataApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &DataConfig, dynamodb: aws_sdk_dynamodb::Client, secrets: Arc<SecretCache<S>>) -> Self {
        Self {
            edge: Edge::new(&cfg.common, &cfg.routes, dynamodb.clone(), secrets),
            collars: CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone())
                .with_members(MembersTable::new(dynamodb.clone(), cfg.members_table.clone())),
            readings: ReadingsTable::new(dynamodb.clone(), cfg.readings_table.clone(), cfg.retention_days)
                .with_days(TimelineEventsTable::new(dynamodb.clone(), cfg.timeline_events_table.clone())),
            counters: ClaimAttemptsTable::new(dynamodb.clone(), cfg.claim_attempts_table.clone()),
            zones: UsersTable::new(dynamodb, cfg.users_table.clone()),
            claim_limits: cfg.claims,
        }
    }
}

impl<S, C, R, N, K, A, U> DataApp<S, C, R, N, K, A, U>
where
    S: SecretSource,
    C: CollarStore,
    R: ReadingStore + LatestReadings,
    N: ClaimCounters,
    K: ApiKeyStore,
    A: AuditStore + Clone,
    U: AccountZones,
{
    /// The handler over any stores (unit tests pass in-memory doubles).
    pub fn with_stores(
        edge: Edge<S, K, A>,
        collars: C,
        readings: R,
        counters: N,
        zones: U,
        claim_limits: ClaimLimits,
    ) -> Self {
        Self { collars, readings, counters, zones, edge, claim_limits }
    }

    /// The collar with its fleet status (one read of its latest reading).
    async fn collar_view(&self, c: &Collar, role: Role) -> Result<api::Collar, ApiError> {
        let latest = self.readings.latest_reading(&c.collar_id).await?;
        Ok(collar_view(c, role, latest.as_ref()))
    }

    /// The one access check ([`access`]) on this function's store.
    pub(crate) async fn collar_for(
        &self,
        principal: &Principal,
        collar_id: &str,
        need: Need,
    ) -> Result<Access, ApiError> {
        access(&self.collars, principal, collar_id, need).await
    }

    /// The caller's collars: those they own (by the owner index), then those shared with them
    /// (by collar id); the cursor says which part it continues.
    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let limit = query::limit(req, 50, 100)? as i32;
        let codec = self.edge.cursor_codec().await?;
        let scope = format!("collars:{}", principal.user_id);
        let start = petty_shared::http::query_param(req, "cursor").map(|c| codec.decode(&scope, &c)).transpose()?;
        let shared_after = start.as_ref().and_then(|k| k.get(SHARED_AFTER)).and_then(|v| v.as_s().ok()).cloned();
        let mut views = Vec::new();
        let mut next = None;
        if shared_after.is_none() {
            let (owned, owned_next) = self.collars.collars_of_owner(&principal.user_id, limit, start).await?;
            views.extend(owned.iter().map(|c| collar_view(c, Role::Owner, None)));
            next = owned_next;
        }
        if next.is_none() {
            // The room left on this page (none after a full page of owned collars: then this
            // only tells whether a shared one follows).
            let room = limit as usize - views.len();
            let after = shared_after.unwrap_or_default();
            let (shared, more) = self.collars.shared_with(&principal.user_id, &after, room).await?;
            if more {
                let last = shared.last().map_or(after, |(c, _)| c.collar_id.clone());
                next =
                    Some(std::collections::HashMap::from([(SHARED_AFTER.to_owned(), petty_shared::dynamo::s(last))]));
            }
            views.extend(shared.iter().map(|(c, role)| collar_view(c, *role, None)));
        }
        let next_cursor = next.map(|k| codec.encode(&scope, &k)).transpose()?;
        json_response(StatusCode::OK, &api::CollarPage { collars: views, next_cursor })
    }

    async fn get(&self, req: &Request, collar_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let Access { collar, role } = self.collar_for(&principal, collar_id, Need::Read).await?;
        json_response(StatusCode::OK, &self.collar_view(&collar, role).await?)
    }

    async fn patch(&self, req: &Request, collar_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let Access { collar, role } = self.collar_for(&principal, collar_id, Need::ManageAlerts).await?;
        let patch: api::UpdateCollar = json_body(req)?;
        let mut pet = collar.pet.clone();
        let p = patch.pet;
        if let Some(v) = p.name {
            pet.name = v;
        }
        if p.breed.is_some() {
            pet.breed = p.breed;
        }
        if p.birth_date.is_some() {
            pet.birth_date = p.birth_date;
        }
        if let Some(v) = p.weight_kg {
            pet.weight_kg = v;
        }
        if p.activity_profile.is_some() {
            pet.activity_profile = p.activity_profile;
        }
        if p.timezone.is_some() {
            pet.timezone = p.timezone;
        }
        pet.validate(chrono::Utc::now().date_naive()).map_err(|m| ApiError::unprocessable("invalid_pet", m))?;
        // Conditioned on the owner read by the access check: a collar released or transferred
        // meanwhile is not changed.
        let updated = match self.collars.update_pet(collar_id, &collar.owner_id, &pet, now_s()).await {
            Err(StoreError::ConditionFailed) => return Err(not_found()),
            other => other?,
        };
        json_response(StatusCode::OK, &self.collar_view(&updated, role).await?)
    }

    async fn release(&self, req: &Request, collar_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        self.collar_for(&principal, collar_id, Need::ManageMembers).await?;
        match self.collars.release(collar_id, &principal.user_id, now_s()).await {
            Err(StoreError::ConditionFailed) => return Err(not_found()),
            other => other?,
        }
        let event = AuditEvent::now("collar_released", "success", Some(&principal.user_id), source_ip(req).as_deref())
            .with_detail(collar_id);
        audit::emit(&self.edge.audit, event).await;
        Ok(no_content())
    }

    async fn realtime(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, "readings:read").await?;
        let collar_id = collar_id(req)?;
        let collar = self.collar_for(&principal, &collar_id, Need::Read).await?.collar;
        // Readings from before this owner's claim may belong to a previous owner.
        let claimed_ms = collar.visible_from_ms();
        let latest = self
            .readings
            .latest_reading(&collar_id)
            .await?
            .filter(|r| r.timestamp_ms >= claimed_ms)
            .ok_or_else(|| ApiError::NotFound("no reading from this collar yet".into()))?;
        let age_s = ((chrono::Utc::now().timestamp_millis() - latest.timestamp_ms) / 1000).max(0);
        json_response(StatusCode::OK, &realtime_view(&latest, age_s))
    }

    async fn ingest(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, "readings:write").await?;
        http_ingest::ingest(self, &principal, req, inv).await
    }
}

impl<S, C, R, N, K, A, U> Handler for DataApp<S, C, R, N, K, A, U>
where
    S: SecretSource,
    C: CollarStore,
    R: ReadingStore + LatestReadings,
    N: ClaimCounters,
    K: ApiKeyStore,
    A: AuditStore + Clone,
    U: AccountZones,
{
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let m = petty_shared::http::router::find(ROUTES, &req)?;
        match m.route {
            Route::Ingest => Box::pin(self.ingest(&req, inv)).await,
            Route::Realtime => Box::pin(self.realtime(&req)).await,
            Route::Claim => Box::pin(claim::claim(self, &req)).await,
            Route::List => Box::pin(self.list(&req)).await,
            Route::Get => Box::pin(self.get(&req, m.param("collar_id"))).await,
            Route::Patch => Box::pin(self.patch(&req, m.param("collar_id"))).await,
            Route::Release => Box::pin(self.release(&req, m.param("collar_id"))).await,
        }
    }
}

#[cfg(test)]
mod tests;
