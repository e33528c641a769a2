//! Petty's data processor: collars and their owners, validated idempotent ingestion of
//! readings (HTTP and SQS), and the latest reading per collar.

pub mod config;
pub mod domain;
pub mod ingest;
pub mod store;

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use petty_shared::api;
use petty_shared::audit::{self, AuditEvent};
use petty_shared::auth::{DataRoutes, Principal, PrincipalKind};
use petty_shared::dynamo::StoreError;
use petty_shared::http::{
    ApiError, Handler, Invocation, json_body, json_response, no_content, query_param, route_path, source_ip,
};
use petty_shared::ids::is_collar_id;
use petty_shared::metrics::Unit;
use petty_shared::secrets::{SecretCache, SecretSource};

pub use config::DataConfig;
use domain::reading::{Reading, format_timestamp};
use petty_shared::collar::{Collar, not_found};
use store::DataStore;

/// The service name in logs and metrics.
pub const SERVICE: &str = "data-processor";

/// The data processor's handler.
pub struct DataApp<S> {
    store: DataStore,
    routes: DataRoutes<S>,
}

/// A stored collar as its owner sees it.
fn collar_view(c: &Collar) -> api::Collar {
    api::Collar {
        collar_id: c.collar_id.clone(),
        pet: c.pet.clone(),
        claimed_at: format_timestamp(c.created_at * 1000),
        updated_at: format_timestamp(c.updated_at * 1000),
    }
}

/// The latest reading as `GET /v1/realtime` shows it, `age_s` old.
fn realtime_view(latest: &Reading, age_s: i64) -> api::Realtime {
    api::Realtime {
        collar_id: latest.collar_id.clone(),
        heart_rate: latest.heart_rate,
        activity_level: latest.activity_level.into(),
        location: api::Point::new(latest.lon, latest.lat),
        timestamp: format_timestamp(latest.timestamp_ms),
        age_s,
        temperature_c: latest.temperature_c,
        battery_pct: latest.battery_pct,
    }
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

impl<S: SecretSource> DataApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &DataConfig, dynamodb: aws_sdk_dynamodb::Client, secrets: Arc<SecretCache<S>>) -> Self {
        Self {
            routes: DataRoutes::new(
                &cfg.common,
                dynamodb.clone(),
                secrets,
                &cfg.routes.api_keys_table,
                &cfg.routes.audit_table,
                cfg.routes.audit_retention_days,
                &cfg.routes.cursor_key_secret_id,
            ),
            store: DataStore::new(dynamodb, cfg),
        }
    }

    /// The storage adapter (the SQS path uses it too).
    pub fn store(&self) -> &DataStore {
        &self.store
    }

    async fn owned_collar(&self, principal: &Principal, collar_id: &str) -> Result<Collar, ApiError> {
        self.store.collars().owned(principal, collar_id).await
    }

    async fn user(&self, req: &Request, scope: &str) -> Result<Principal, ApiError> {
        let principal = self.routes.auth.authenticate(req).await?;
        if principal.kind != PrincipalKind::User {
            return Err(ApiError::Forbidden("managing collars needs a user's token, not an API key".into()));
        }
        principal.require_scope(scope)?;
        Ok(principal)
    }

    async fn claim(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req, "collars:manage").await?;
        let body: api::ClaimCollar = json_body(req)?;
        if !is_collar_id(&body.collar_id) {
            return Err(ApiError::unprocessable("invalid_collar_id", "collar_id must match ^[A-Z]{2}-\\d{3,6}$"));
        }
        body.pet.validate(chrono::Utc::now().date_naive()).map_err(|m| ApiError::unprocessable("invalid_pet", m))?;
        let t = now_s();
        let collar = Collar {
            collar_id: body.collar_id,
            owner_id: principal.user_id.clone(),
            pet: body.pet,
            created_at: t,
            updated_at: t,
        };
        match self.store.claim(&collar).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                return match self.store.collar(&collar.collar_id).await? {
                    Some(existing) if existing.owner_id == principal.user_id => {
                        json_response(StatusCode::OK, &collar_view(&existing))
                    }
                    _ => Err(ApiError::Conflict("this collar is claimed by another account".into())),
                };
            }
            Err(other) => return Err(other.into()),
        }
        let event = AuditEvent::now("collar_claimed", "success", Some(&principal.user_id), source_ip(req).as_deref())
            .with_detail(collar.collar_id.clone());
        audit::emit(&self.routes.audit, event).await;
        json_response(StatusCode::CREATED, &collar_view(&collar))
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req, "collars:manage").await?;
        let limit = match query_param(req, "limit") {
            None => 50,
            Some(raw) => raw
                .parse::<i32>()
                .ok()
                .filter(|l| (1..=100).contains(l))
                .ok_or_else(|| ApiError::bad_request("invalid_limit", "limit must be an integer from 1 to 100"))?,
        };
        let codec = self.routes.cursor_codec().await?;
        let scope = format!("collars:{}", principal.user_id);
        let start = query_param(req, "cursor").map(|c| codec.decode(&scope, &c)).transpose()?;
        let (collars, next) = self.store.collars_of(&principal.user_id, limit, start).await?;
        let next_cursor = next.map(|k| codec.encode(&scope, &k)).transpose()?;
        let page = api::CollarPage { collars: collars.iter().map(collar_view).collect(), next_cursor };
        json_response(StatusCode::OK, &page)
    }

    async fn get(&self, req: &Request, collar_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req, "collars:manage").await?;
        let collar = self.owned_collar(&principal, collar_id).await?;
        json_response(StatusCode::OK, &collar_view(&collar))
    }

    async fn patch(&self, req: &Request, collar_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req, "collars:manage").await?;
        let collar = self.owned_collar(&principal, collar_id).await?;
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
        pet.validate(chrono::Utc::now().date_naive()).map_err(|m| ApiError::unprocessable("invalid_pet", m))?;
        let updated = match self.store.update_pet(collar_id, &principal.user_id, &pet, now_s()).await {
            Err(StoreError::ConditionFailed) => return Err(not_found()),
            other => other?,
        };
        json_response(StatusCode::OK, &collar_view(&updated))
    }

    async fn release(&self, req: &Request, collar_id: &str) -> Result<Response<Body>, ApiError> {
        let principal = self.user(req, "collars:manage").await?;
        self.owned_collar(&principal, collar_id).await?;
        match self.store.release(collar_id, &principal.user_id).await {
            Err(StoreError::ConditionFailed) => return Err(not_found()),
            other => other?,
        }
        let event = AuditEvent::now("collar_released", "success", Some(&principal.user_id), source_ip(req).as_deref())
            .with_detail(collar_id);
        audit::emit(&self.routes.audit, event).await;
        Ok(no_content())
    }

    async fn realtime(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.routes.auth.authenticate(req).await?;
        principal.require_scope("readings:read")?;
        let collar_id = query_param(req, "collar_id")
            .ok_or_else(|| ApiError::bad_request("missing_collar_id", "collar_id is required"))?;
        let collar = self.owned_collar(&principal, &collar_id).await?;
        // Readings from before this owner's claim may belong to a previous owner.
        let claimed_ms = collar.visible_from_ms();
        let latest = self
            .store
            .latest(&collar_id)
            .await?
            .filter(|r| r.timestamp_ms >= claimed_ms)
            .ok_or_else(|| ApiError::NotFound("no reading from this collar yet".into()))?;
        let age_s = ((chrono::Utc::now().timestamp_millis() - latest.timestamp_ms) / 1000).max(0);
        json_response(StatusCode::OK, &realtime_view(&latest, age_s))
    }

    async fn ingest(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.routes.auth.authenticate(req).await?;
        principal.require_scope("readings:write")?;
        ingest::http(self, &principal, req, inv).await
    }
}

/// True for an SQS event (`Records[].eventSource == "aws:sqs"`).
pub fn is_sqs(event: &serde_json::Value) -> bool {
    event["Records"].as_array().and_then(|r| r.first()).is_some_and(|r| r["eventSource"] == "aws:sqs")
}

/// One Lambda event of either kind: an SQS batch goes to [`ingest::sqs`] (partial batch
/// response), anything else is an API Gateway request served through `http`.
pub async fn dispatch<S: SecretSource>(
    app: &DataApp<S>,
    http: &petty_shared::HttpService,
    payload: serde_json::Value,
    context: lambda_http::Context,
) -> Result<serde_json::Value, lambda_http::Error> {
    if is_sqs(&payload) {
        let batch: ingest::SqsEvent = serde_json::from_value(payload)?;
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let left = std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms));
        let deadline = std::time::Instant::now() + left.saturating_sub(std::time::Duration::from_millis(1500));
        let records = batch.records.len();
        let response = ingest::sqs(&app.store, batch, deadline).await;
        // The same metrics as HTTP ingestion, so the rejection ratio covers the collar stream.
        http.record_metrics(|m| {
            let c = &response.counts;
            m.add("ReadingsAccepted", Unit::Count, c.accepted as f64).ok();
            for (reason, n) in &c.rejected {
                m.add_with("ReadingsRejected", Unit::Count, *n as f64, &[("reason", reason)]).ok();
            }
            m.add("IngestBatchSize", Unit::Count, records as f64).ok();
        });
        return Ok(serde_json::to_value(response)?);
    }
    petty_shared::serve_event(http, app, payload, context).await
}

impl<S: SecretSource> Handler for DataApp<S> {
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let path = route_path(&req);
        let method = req.method().clone();
        let collar_param = || {
            req.path_parameters_ref()
                .and_then(|p| p.first("collar_id").map(str::to_owned))
                .unwrap_or_else(|| path.trim_start_matches("/v1/collars/").to_owned())
        };
        match (path.as_str(), method) {
            ("/v1/ingest", Method::POST) => Box::pin(self.ingest(&req, inv)).await,
            ("/v1/realtime", Method::GET) => Box::pin(self.realtime(&req)).await,
            ("/v1/collars", Method::POST) => Box::pin(self.claim(&req)).await,
            ("/v1/collars", Method::GET) => Box::pin(self.list(&req)).await,
            (p, Method::GET) if p.starts_with("/v1/collars/") => Box::pin(self.get(&req, &collar_param())).await,
            (p, Method::PATCH) if p.starts_with("/v1/collars/") => Box::pin(self.patch(&req, &collar_param())).await,
            (p, Method::DELETE) if p.starts_with("/v1/collars/") => Box::pin(self.release(&req, &collar_param())).await,
            ("/v1/ingest" | "/v1/realtime" | "/v1/collars", _) => Err(ApiError::MethodNotAllowed),
            (p, _) if p.starts_with("/v1/collars/") => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound("no such route".into())),
        }
    }
}
