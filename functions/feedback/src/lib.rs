//! Petty's feedback function: owners say whether the timeline was right, Petty keeps every
//! answer, reports its accuracy, and calibrates each pet's thresholds from consistent
//! corrections.

pub mod config;
pub mod domain;
pub mod store;

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use petty_shared::api;
use petty_shared::auth::{DataRoutes, Principal};
use petty_shared::collar::{Collar, CollarReader};
use petty_shared::http::{
    ApiError, Handler, Invocation, json_body, json_response, query_param, query_time, route_path,
};
use petty_shared::metrics::Unit;
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_timeline::domain::calibration::{self, Calibration};
use petty_timeline::domain::segment::{DAY_MS, day_floor};
use petty_timeline::format_ms;
use petty_timeline::store::parse_index_entry;

pub use config::FeedbackConfig;
use domain::submission::{SubmitBody, validate};
use domain::summary::{Entry, Summary, summarize};
use store::{FeedbackStore, Verdict};

/// The service name in logs and metrics.
pub const SERVICE: &str = "feedback";
/// Feedback listing: default window, longest window, page size.
pub const DEFAULT_WINDOW_MS: i64 = 30 * DAY_MS;
pub const MAX_WINDOW_MS: i64 = 90 * DAY_MS;
pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 100;

/// The feedback function's handler.
pub struct FeedbackApp<S> {
    collars: CollarReader,
    store: FeedbackStore,
    routes: DataRoutes<S>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn no_event() -> ApiError {
    ApiError::NotFound("no such event: take event_id from GET /v1/pet-timeline".into())
}

fn verdict(correct: bool) -> api::Verdict {
    if correct { api::Verdict::Correct } else { api::Verdict::Incorrect }
}

/// A stored verdict as `GET /v1/feedback` lists it.
fn view(v: &Verdict) -> api::FeedbackEntry {
    api::FeedbackEntry {
        feedback_id: v.feedback_id.clone(),
        event_id: v.event_id.clone(),
        behavior: v.behavior,
        event_start: format_ms(v.event_start),
        event_end: format_ms(v.event_end),
        user_feedback: verdict(v.correct),
        corrected_behavior: v.corrected,
        comment: v.comment.clone(),
        timestamp: v.client_timestamp_ms.map(format_ms),
        submitted_at: format_ms(v.submitted_at),
        revisions: revisions(v.revisions),
    }
}

fn revisions(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The summary as `GET /v1/feedback/summary` answers it.
fn summary_view(collar_id: String, s: Summary) -> api::FeedbackSummary {
    api::FeedbackSummary {
        collar_id,
        feedback_count: s.feedback_count,
        correct_share: s.correct_share,
        behaviors: s
            .behaviors
            .into_iter()
            .map(|b| api::BehaviorSummary {
                behavior: b.behavior,
                feedback_count: b.feedback_count,
                correct_count: b.correct_count,
                correct_share: b.correct_share,
                top_corrections: b
                    .top_corrections
                    .into_iter()
                    .map(|c| api::Correction { behavior: c.behavior, count: c.count })
                    .collect(),
            })
            .collect(),
    }
}

impl<S: SecretSource> FeedbackApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &FeedbackConfig, dynamodb: aws_sdk_dynamodb::Client, secrets: Arc<SecretCache<S>>) -> Self {
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
            collars: CollarReader::new(dynamodb.clone(), cfg.collars_table.clone()),
            store: FeedbackStore::new(dynamodb, cfg.timeline_events_table.clone(), cfg.feedback_table.clone()),
        }
    }

    async fn caller(&self, req: &Request, scope: &str) -> Result<Principal, ApiError> {
        let principal = self.routes.auth.authenticate(req).await?;
        principal.require_scope(scope)?;
        Ok(principal)
    }

    async fn collar_of(&self, req: &Request, principal: &Principal) -> Result<Collar, ApiError> {
        let collar_id = query_param(req, "collar_id")
            .ok_or_else(|| ApiError::bad_request("missing_collar_id", "collar_id is required"))?;
        self.collars.owned(principal, &collar_id).await
    }

    /// The owner's verdicts on this pet's events since the claim, as calibration reads them.
    async fn recalibrate(&self, collar: &Collar, user_id: &str) -> Result<Calibration, ApiError> {
        let verdicts = self.store.currents(&collar.collar_id, collar.visible_from_ms(), now_ms() + DAY_MS).await?;
        let mine: Vec<calibration::Verdict> = verdicts
            .iter()
            .filter(|v| v.user_id == user_id)
            .map(|v| calibration::Verdict { behavior: v.behavior, corrected: v.corrected })
            .collect();
        let c = Calibration::from_verdicts(&mine);
        self.store.save_calibration(&collar.collar_id, &c, now_ms()).await?;
        Ok(c)
    }

    async fn submit(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.caller(req, "feedback:write").await?;
        let body: SubmitBody = json_body(req)?;
        let now = now_ms();
        let sub = validate(body, now).map_err(|e| {
            if e.malformed {
                ApiError::bad_request(e.code, e.message)
            } else {
                ApiError::unprocessable(e.code, e.message)
            }
        })?;
        // Another owner's event looks exactly like one that does not exist.
        let collar = self.collars.owned(&principal, &sub.collar_id).await.map_err(|e| match e {
            ApiError::NotFound(_) => no_event(),
            other => other,
        })?;
        if sub.event_start < collar.visible_from_ms() {
            return Err(no_event());
        }
        let published = self.store.published(&sub.collar_id, day_floor(sub.event_start)).await?;
        let event_end = published
            .iter()
            .filter_map(|e| parse_index_entry(e))
            .find(|(start, _, behavior)| *start == sub.event_start && *behavior == sub.behavior)
            .map(|(_, end, _)| end)
            .ok_or_else(no_event)?;
        let verdict = Verdict {
            feedback_id: uuid::Uuid::new_v4().to_string(),
            event_id: sub.event_id,
            event_start: sub.event_start,
            event_end,
            behavior: sub.behavior,
            user_id: principal.user_id.clone(),
            correct: sub.correct,
            corrected: sub.corrected,
            comment: sub.comment,
            client_timestamp_ms: sub.client_timestamp_ms,
            submitted_at: now,
            revisions: 1,
        };
        let stored = self.store.record(&collar.collar_id, verdict).await?;
        let behavior = stored.behavior.as_str();
        inv.metric_with("FeedbackReceived", Unit::Count, 1.0, &[("behavior", behavior)]);
        let accuracy = if stored.correct { 100.0 } else { 0.0 };
        inv.metric_with("BehaviorAccuracy", Unit::Percent, accuracy, &[("behavior", behavior)]);
        let calibration = self.recalibrate(&collar, &principal.user_id).await?;
        json_response(
            StatusCode::CREATED,
            &api::FeedbackReceipt {
                success: true,
                replaced: stored.revisions > 1,
                revisions: revisions(stored.revisions),
                feedback_id: stored.feedback_id,
                calibrated_by: calibration.because,
            },
        )
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.caller(req, "timeline:read").await?;
        let now = now_ms();
        let to = query_time(req, "to", "invalid_to")?.unwrap_or(now + DAY_MS);
        let from = query_time(req, "from", "invalid_from")?.unwrap_or(to - DEFAULT_WINDOW_MS);
        if from >= to {
            return Err(ApiError::bad_request("invalid_window", "from must be before to"));
        }
        if to - from > MAX_WINDOW_MS {
            return Err(ApiError::bad_request("window_too_long", "the window may span at most 90 days"));
        }
        let limit = match query_param(req, "limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw.parse().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| {
                ApiError::bad_request("invalid_limit", format!("limit must be an integer from 1 to {MAX_LIMIT}"))
            })?,
        };
        let codec = self.routes.cursor_codec().await?;
        let collar = self.collar_of(req, &principal).await?;
        // Bound to the window as asked (a default window moves with the clock between pages).
        let asked = |name| query_param(req, name).unwrap_or_default();
        let scope = format!("feedback:{}:{}:{}:{}", collar.collar_id, principal.user_id, asked("from"), asked("to"));
        let start = query_param(req, "cursor").map(|c| codec.decode(&scope, &c)).transpose()?;
        let window = (from.max(collar.visible_from_ms()), to);
        let (items, next) = if window.0 < window.1 {
            self.store.page(&collar.collar_id, &principal.user_id, window, limit, start).await?
        } else {
            (Vec::new(), None)
        };
        let next_cursor = next.map(|k| codec.encode(&scope, &k)).transpose()?;
        let page =
            api::FeedbackPage { collar_id: collar.collar_id, feedback: items.iter().map(view).collect(), next_cursor };
        json_response(StatusCode::OK, &page)
    }

    async fn summary(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.caller(req, "timeline:read").await?;
        let collar = self.collar_of(req, &principal).await?;
        let verdicts = self.store.currents(&collar.collar_id, collar.visible_from_ms(), now_ms() + DAY_MS).await?;
        let entries: Vec<Entry> = verdicts
            .iter()
            .filter(|v| v.user_id == principal.user_id)
            .map(|v| Entry { behavior: v.behavior, correct: v.correct, corrected: v.corrected })
            .collect();
        let summary = summarize(&entries);
        json_response(StatusCode::OK, &summary_view(collar.collar_id, summary))
    }
}

impl<S: SecretSource> Handler for FeedbackApp<S> {
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        match (route_path(&req).as_str(), req.method().clone()) {
            ("/v1/submit-feedback", Method::POST) => Box::pin(self.submit(&req, inv)).await,
            ("/v1/feedback", Method::GET) => Box::pin(self.list(&req)).await,
            ("/v1/feedback/summary", Method::GET) => Box::pin(self.summary(&req)).await,
            ("/v1/submit-feedback" | "/v1/feedback" | "/v1/feedback/summary", _) => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound("no such route".into())),
        }
    }
}
