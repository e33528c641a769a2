//! Petty's alerts function: an owner's safe zones and alert settings per collar, and the
//! alerts the evaluator (readings as they arrive) and the sweep (silent collars) raise, listed
//! and acknowledged. Raising and resolving happen elsewhere; this function only reads alerts
//! and marks them acknowledged.

pub mod config;

use std::collections::HashMap;
use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_alert_rules::rules::{AlertKey, parse_alert_id};
use petty_alert_rules::zone;
use petty_shared::api::alerts::{self as wire, AlertSettings, AlertStatus, MAX_ZONES, ZoneSpec, is_zone_id};
use petty_shared::api::notifications::AlertDetail;
use petty_shared::audit::AuditStore;
use petty_shared::auth::{ApiKeyStore, Principal, PrincipalKind};
use petty_shared::collar::{Collar, Need, access};
use petty_shared::dynamo::s;
use petty_shared::edge::Edge;
use petty_shared::http::query::{self, WindowRule};
use petty_shared::http::router::Matched;
use petty_shared::http::{
    ApiError, Handler, Invocation, RouteSpec, json_body, json_response, no_content, query_param, route,
};
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::stores::CollarStore;
use petty_shared::tables::alerts::{AlertRecord, AlertsTable, StoredZone};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::members::MembersTable;
use petty_shared::tables::notifications::NotificationsTable;

pub use config::AlertsConfig;

/// The service name in logs and metrics.
pub const SERVICE: &str = "alerts";
const DAY_MS: i64 = 86_400_000;
/// The alert list's window: opened in the last 90 days (the history kept) by default.
const WINDOW: WindowRule = WindowRule { default_to_offset_ms: DAY_MS, default_ms: 91 * DAY_MS, max_days: 92 };
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;
/// Zones and settings are changed, and alerts acknowledged, by a person with this scope.
const MANAGE: &str = "collars:manage";
/// Zones, settings and alerts are read with this scope (API keys may hold it).
const READ: &str = "readings:read";
/// Most collars one alert listing spans (an account's collar quota).
const MAX_COLLARS: i32 = 100;

/// This function's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    PutZone,
    ListZones,
    DeleteZone,
    GetSettings,
    PutSettings,
    ListAlerts,
    GetAlert,
    Ack,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("PUT", "/v1/collars/{collar_id}/zones/{zone_id}", Route::PutZone),
    route("GET", "/v1/collars/{collar_id}/zones", Route::ListZones),
    route("DELETE", "/v1/collars/{collar_id}/zones/{zone_id}", Route::DeleteZone),
    route("GET", "/v1/collars/{collar_id}/alert-settings", Route::GetSettings),
    route("PUT", "/v1/collars/{collar_id}/alert-settings", Route::PutSettings),
    route("GET", "/v1/alerts", Route::ListAlerts),
    route("GET", "/v1/alerts/{alert_id}", Route::GetAlert),
    route("POST", "/v1/alerts/{alert_id}/ack", Route::Ack),
];

/// The alerts function's handler, over collar lookups (the ownership check and the caller's
/// collars) and the alerts table.
pub struct AlertsApp<S, C = CollarsTable, K = ApiKeysTable, A = AuditTable> {
    collars: C,
    alerts: AlertsTable,
    notifications: NotificationsTable,
    edge: Edge<S, K, A>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn no_alert() -> ApiError {
    ApiError::NotFound("no such alert".into())
}

impl<S: SecretSource> AlertsApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &AlertsConfig, dynamodb: aws_sdk_dynamodb::Client, secrets: Arc<SecretCache<S>>) -> Self {
        Self {
            edge: Edge::new(&cfg.common, &cfg.routes, dynamodb.clone(), secrets),
            collars: CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone())
                .with_members(MembersTable::new(dynamodb.clone(), cfg.members_table.clone())),
            alerts: AlertsTable::new(dynamodb.clone(), cfg.alerts_table.clone()),
            notifications: NotificationsTable::new(dynamodb, cfg.notifications_table.clone()),
        }
    }
}

impl<S, C, K, A> AlertsApp<S, C, K, A>
where
    S: SecretSource,
    C: CollarStore,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    /// The handler over any collar store and edge.
    pub fn with_stores(
        edge: Edge<S, K, A>,
        collars: C,
        alerts: AlertsTable,
        notifications: NotificationsTable,
    ) -> Self {
        Self { collars, alerts, notifications, edge }
    }

    /// The caller's alert by id: another owner's, or one from before this owner's claim, is
    /// a 404 like none.
    async fn visible_alert(&self, principal: &Principal, alert_id: &str, need: Need) -> Result<AlertKey, ApiError> {
        let key = parse_alert_id(alert_id).ok_or_else(no_alert)?;
        let collar =
            access(&self.collars, principal, &key.collar_id, need).await.map(|a| a.collar).map_err(|e| match e {
                ApiError::NotFound(_) => no_alert(),
                other => other,
            })?;
        if key.opened_ms < collar.visible_from_ms() {
            return Err(no_alert());
        }
        Ok(key)
    }

    /// One alert and the caller's part of its delivery log.
    async fn get_alert(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, READ).await?;
        let key = self.visible_alert(&principal, m.param("alert_id"), Need::Read).await?;
        let alert = self.alerts.alert(&key).await?.ok_or_else(no_alert)?;
        // Each person sees the deliveries to their own destinations (`owner_id` of a delivery
        // is its recipient), never another member's webhooks or devices.
        let deliveries = self
            .notifications
            .deliveries(&alert.alert_id)
            .await?
            .iter()
            .filter(|d| d.owner_id == principal.user_id)
            .map(|d| d.view())
            .collect();
        json_response(StatusCode::OK, &AlertDetail { alert: alert.view(), deliveries })
    }

    async fn collar(&self, principal: &Principal, m: &Matched<Route>, need: Need) -> Result<Collar, ApiError> {
        Ok(access(&self.collars, principal, m.param("collar_id"), need).await?.collar)
    }

    async fn put_zone(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let collar = self.collar(&principal, m, Need::ManageAlerts).await?;
        let zone_id = m.param("zone_id");
        if !is_zone_id(zone_id) {
            return Err(ApiError::bad_request("invalid_zone_id", "zone_id must match ^[a-z0-9-]{1,32}$"));
        }
        let spec: ZoneSpec = json_body(req)?;
        zone::check(zone_id, &spec)
            .map_err(|e| ApiError::bad_request("invalid_zone", format!("{} ({}): {}", e.field, e.rule, e.message)))?;
        let zones = self.alerts.zones(&collar.collar_id).await?;
        let replacing = zones.iter().any(|z| z.zone_id == zone_id);
        if !replacing && zones.len() >= MAX_ZONES {
            return Err(ApiError::Conflict(format!("a collar has at most {MAX_ZONES} zones: remove one first")));
        }
        let stored = StoredZone { zone_id: zone_id.to_owned(), spec, updated_ms: now_ms() };
        self.alerts.put_zone(&collar.collar_id, &stored).await?;
        let status = if replacing { StatusCode::OK } else { StatusCode::CREATED };
        json_response(status, &stored.view())
    }

    async fn list_zones(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, READ).await?;
        let collar = self.collar(&principal, m, Need::Read).await?;
        let zones = self.alerts.zones(&collar.collar_id).await?;
        json_response(StatusCode::OK, &wire::ZoneList { zones: zones.iter().map(StoredZone::view).collect() })
    }

    async fn delete_zone(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let collar = self.collar(&principal, m, Need::ManageAlerts).await?;
        let zone_id = m.param("zone_id");
        if !is_zone_id(zone_id) || !self.alerts.delete_zone(&collar.collar_id, zone_id).await? {
            return Err(ApiError::NotFound("no such zone".into()));
        }
        Ok(no_content())
    }

    async fn get_settings(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, READ).await?;
        let collar = self.collar(&principal, m, Need::Read).await?;
        json_response(StatusCode::OK, &self.alerts.alert_settings(&collar.collar_id).await?)
    }

    async fn put_settings(&self, req: &Request, m: &Matched<Route>) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let collar = self.collar(&principal, m, Need::ManageAlerts).await?;
        let mut settings: AlertSettings = json_body(req)?;
        settings.validate().map_err(|m| ApiError::bad_request("invalid_alert_settings", m))?;
        settings.disabled.sort();
        settings.disabled.dedup();
        self.alerts.put_alert_settings(&collar.collar_id, &settings).await?;
        json_response(StatusCode::OK, &settings)
    }

    /// The collars a listing spans: the one asked for, or every collar the caller may see.
    async fn listed_collars(&self, req: &Request, principal: &Principal) -> Result<Vec<Collar>, ApiError> {
        if let Some(id) = query_param(req, "collar_id") {
            return Ok(vec![access(&self.collars, principal, &id, Need::Read).await?.collar]);
        }
        let (mut collars, _) = self.collars.collars_of_owner(&principal.user_id, MAX_COLLARS, None).await?;
        // A person also sees the alerts of collars shared with them; an API key only its owner's.
        if principal.kind == PrincipalKind::User {
            let (shared, _) = self.collars.shared_with(&principal.user_id, "", MAX_COLLARS as usize).await?;
            collars.extend(shared.into_iter().map(|(c, _)| c));
        }
        Ok(collars.into_iter().filter(|c| principal.require_collar(&c.collar_id).is_ok()).collect())
    }

    async fn list_alerts(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, READ).await?;
        let window = WINDOW.parse(req, now_ms())?;
        let limit = query::limit(req, DEFAULT_LIMIT, MAX_LIMIT)?;
        let status = query_param(req, "status")
            .map(|raw| {
                AlertStatus::parse(&raw).ok_or_else(|| {
                    ApiError::bad_request("invalid_status", "status must be open, acknowledged or resolved")
                })
            })
            .transpose()?;
        let collars = self.listed_collars(req, &principal).await?;
        let codec = self.edge.cursor_codec().await?;
        let (asked_from, asked_to) = &window.asked;
        let scope = format!(
            "alerts:{}:{}:{}:{asked_from}:{asked_to}",
            principal.user_id,
            query_param(req, "collar_id").unwrap_or_default(),
            status.map_or("", AlertStatus::as_str)
        );
        // The cursor is the last alert shown: its sort key and collar (ties across collars
        // are ordered by collar id, descending).
        let after = query_param(req, "cursor")
            .map(|c| codec.decode(&scope, &c))
            .transpose()?
            .and_then(|k| Some((k.get("sk")?.as_s().ok()?.clone(), k.get("c")?.as_s().ok()?.clone())));
        let mut merged: Vec<(String, AlertRecord)> = Vec::new();
        for collar in &collars {
            let from = window.from_ms.max(collar.visible_from_ms());
            if from >= window.to_ms {
                continue;
            }
            // Strictly after the cursor in (sort key, collar) descending order.
            let before =
                after.as_ref().map(|(sk, c)| if collar.collar_id < *c { format!("{sk}\0") } else { sk.clone() });
            let page = self
                .alerts
                .alerts_page(&collar.collar_id, (from, window.to_ms), before.as_deref(), status, limit + 1)
                .await?;
            merged.extend(page);
        }
        merged.sort_by(|(a, x), (b, y)| b.cmp(a).then_with(|| y.collar_id.cmp(&x.collar_id)));
        let more = merged.len() > limit;
        merged.truncate(limit);
        let next_cursor = match merged.last() {
            Some((sk, last)) if more => {
                let key = HashMap::from([("sk".to_owned(), s(sk)), ("c".to_owned(), s(&last.collar_id))]);
                Some(codec.encode(&scope, &key)?)
            }
            _ => None,
        };
        let alerts = merged.iter().map(|(_, r)| r.view()).collect();
        json_response(StatusCode::OK, &wire::AlertList { alerts, next_cursor })
    }

    async fn ack(&self, req: &Request, m: &Matched<Route>, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require_user(req, MANAGE).await?;
        let key = self.visible_alert(&principal, m.param("alert_id"), Need::ManageAlerts).await?;
        let alert = self.alerts.acknowledge(&key, now_ms()).await?.ok_or_else(no_alert)?;
        inv.metric_with(
            "AlertsAcknowledged",
            petty_shared::metrics::Unit::Count,
            1.0,
            &[("type", alert.kind.as_str())],
        );
        json_response(StatusCode::OK, &alert.view())
    }
}

impl<S, C, K, A> Handler for AlertsApp<S, C, K, A>
where
    S: SecretSource,
    C: CollarStore,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let m = petty_shared::http::router::find(ROUTES, &req)?;
        match m.route {
            Route::PutZone => Box::pin(self.put_zone(&req, &m)).await,
            Route::ListZones => Box::pin(self.list_zones(&req, &m)).await,
            Route::DeleteZone => Box::pin(self.delete_zone(&req, &m)).await,
            Route::GetSettings => Box::pin(self.get_settings(&req, &m)).await,
            Route::PutSettings => Box::pin(self.put_settings(&req, &m)).await,
            Route::ListAlerts => Box::pin(self.list_alerts(&req)).await,
            Route::GetAlert => Box::pin(self.get_alert(&req, &m)).await,
            Route::Ack => Box::pin(self.ack(&req, &m, inv)).await,
        }
    }
}
