//! Petty's admin function: the operators' routes (`admin` scope, a person's bearer token).
//!
//! - `POST /v1/admin/collars`: registers up to 500 serials. Each new serial gets a claim code
//!   (returned once, stored only as its hash) and, with `"iot": true`, its AWS IoT thing,
//!   certificate and keys (returned once). A serial already registered changes nothing and
//!   says so (`"status": "exists"`, no code).
//! - `POST /v1/admin/collars/{collar_id}/claim-code`: a lost code replaced; the old one stops
//!   working. Audited, like every registration.

pub mod config;
pub mod iot;

use std::sync::Arc;

use futures_util::{StreamExt, stream};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api::{
    ClaimCodeReset, MAX_REGISTRATIONS, RegisterCollars, RegisteredCollar, RegisteredCollars, RegistrationStatus,
};
use petty_shared::audit::{self, AuditEvent, AuditStore};
use petty_shared::auth::{ApiKeyStore, Authenticator, Principal};
use petty_shared::claim_code::ClaimCode;
use petty_shared::collar::is_collar_id;
use petty_shared::dynamo::StoreError;
use petty_shared::http::{ApiError, Handler, Invocation, RouteSpec, json_body, json_response, route, source_ip};
use petty_shared::jwt::Verifier;
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::stores::CollarRegistry;
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::collars::CollarsTable;

pub use config::AdminConfig;
pub use iot::{DeviceRegistry, IotCore};

/// The service name in logs and metrics.
pub const SERVICE: &str = "admin";
/// The scope every route requires.
pub const ADMIN_SCOPE: &str = "admin";
/// Registrations written at once (each a conditional put).
const CONCURRENCY: usize = 8;

/// This function's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Register,
    ResetCode,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("POST", "/v1/admin/collars", Route::Register),
    route("POST", "/v1/admin/collars/{collar_id}/claim-code", Route::ResetCode),
];

/// The admin handler, over the registry, the device registry and the audit trail.
pub struct AdminApp<S, C = CollarsTable, D = IotCore, A = AuditTable, K = ApiKeysTable> {
    registry: C,
    devices: D,
    audit: A,
    /// Bearer tokens only: no API key carries `admin`.
    auth: Authenticator<S, K, A>,
}

impl<S: SecretSource> AdminApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(
        cfg: &AdminConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        iot: aws_sdk_iot::Client,
        secrets: Arc<SecretCache<S>>,
    ) -> Self {
        let audit = AuditTable::new(dynamodb.clone(), cfg.audit_table.clone(), cfg.audit_retention_days);
        Self::with_stores(
            Verifier::new(secrets, cfg.common.public_keys_secret_id.clone(), &cfg.common.jwt_settings()),
            CollarsTable::new(dynamodb, cfg.collars_table.clone()),
            IotCore::new(iot, cfg.iot_policy_name.clone()),
            audit,
        )
    }
}

impl<S, C, D, A, K> AdminApp<S, C, D, A, K>
where
    S: SecretSource,
    C: CollarRegistry,
    D: DeviceRegistry,
    A: AuditStore + Clone,
    K: ApiKeyStore,
{
    /// The handler over any stores (unit tests pass in-memory doubles).
    pub fn with_stores(verifier: Verifier<S>, registry: C, devices: D, audit: A) -> Self {
        Self { auth: Authenticator::new(verifier, None, audit.clone()), registry, devices, audit }
    }

    async fn operator(&self, req: &Request) -> Result<Principal, ApiError> {
        self.auth.require_user(req, ADMIN_SCOPE).await
    }

    async fn register_one(&self, collar_id: String, iot: bool, now: i64) -> Result<RegisteredCollar, ApiError> {
        let code = ClaimCode::generate();
        let thing = iot.then_some(collar_id.as_str());
        if !self.registry.register_collar(&collar_id, &code.hash(), thing, now).await? {
            return Ok(RegisteredCollar { collar_id, status: RegistrationStatus::Exists, claim_code: None, iot: None });
        }
        let identity = if iot {
            Some(self.devices.create_identity(&collar_id).await.map_err(|e| {
                tracing::error!(error = %e, "IoT identity not created");
                ApiError::Unavailable {
                    message: format!("{collar_id} is registered, but its IoT identity could not be created"),
                    retry_after_s: Some(5),
                }
            })?)
        } else {
            None
        };
        Ok(RegisteredCollar {
            collar_id,
            status: RegistrationStatus::Registered,
            claim_code: Some(code.printed()),
            iot: identity,
        })
    }

    async fn register(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let operator = self.operator(req).await?;
        let body: RegisterCollars = json_body(req)?;
        if body.collars.is_empty() || body.collars.len() > MAX_REGISTRATIONS {
            return Err(ApiError::unprocessable("batch_size", format!("send 1 to {MAX_REGISTRATIONS} collars")));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &body.collars {
            if !is_collar_id(&c.collar_id) {
                return Err(ApiError::unprocessable(
                    "invalid_collar_id",
                    format!("collars[].collar_id `{}` must match ^[A-Z]{{2}}-\\d{{3,6}}$", c.collar_id),
                ));
            }
            if !seen.insert(c.collar_id.as_str()) {
                return Err(ApiError::unprocessable("duplicate_collar_id", format!("{} is listed twice", c.collar_id)));
            }
        }
        let now = chrono::Utc::now().timestamp();
        let rows: Vec<Result<RegisteredCollar, ApiError>> = stream::iter(body.collars)
            .map(|c| self.register_one(c.collar_id, c.iot, now))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let rows: Vec<RegisteredCollar> = rows.into_iter().collect::<Result<_, _>>()?;
        let registered = rows.iter().filter(|r| r.status == RegistrationStatus::Registered).count();
        let detail = format!("{registered} registered, {} already registered", rows.len() - registered);
        let event =
            AuditEvent::now("collars_registered", "success", Some(&operator.user_id), source_ip(req).as_deref())
                .with_detail(detail);
        audit::emit(&self.audit, event).await;
        json_response(StatusCode::OK, &RegisteredCollars { collars: rows })
    }

    async fn reset_code(&self, req: &Request, collar_id: &str) -> Result<Response<Body>, ApiError> {
        let operator = self.operator(req).await?;
        if !is_collar_id(collar_id) {
            return Err(ApiError::NotFound("no such registered collar".into()));
        }
        let code = ClaimCode::generate();
        match self.registry.reset_claim_code(collar_id, &code.hash(), chrono::Utc::now().timestamp()).await {
            Err(StoreError::ConditionFailed) => return Err(ApiError::NotFound("no such registered collar".into())),
            other => other?,
        }
        let event = AuditEvent::now("claim_code_reset", "success", Some(&operator.user_id), source_ip(req).as_deref())
            .with_detail(collar_id);
        audit::emit(&self.audit, event).await;
        json_response(StatusCode::OK, &ClaimCodeReset { collar_id: collar_id.to_owned(), claim_code: code.printed() })
    }
}

impl<S, C, D, A, K> Handler for AdminApp<S, C, D, A, K>
where
    S: SecretSource,
    C: CollarRegistry,
    D: DeviceRegistry,
    A: AuditStore + Clone,
    K: ApiKeyStore,
{
    async fn handle(&self, req: Request, _inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let m = petty_shared::http::router::find(ROUTES, &req)?;
        match m.route {
            Route::Register => Box::pin(self.register(&req)).await,
            Route::ResetCode => Box::pin(self.reset_code(&req, m.param("collar_id"))).await,
        }
    }
}

#[cfg(test)]
mod tests;
