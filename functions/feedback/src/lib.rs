//! Petty's feedback function: owners say whether the timeline was right, Petty keeps every
//! answer, reports its accuracy, and calibrates each pet's thresholds from consistent
//! corrections.

pub mod config;
pub mod domain;

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_behaviour::Calendar;
use petty_behaviour::calibration::{Calibration, Judgement};
use petty_behaviour::segment::DAY_MS;
use petty_shared::api;
use petty_shared::api::format_ms;
use petty_shared::audit::AuditStore;
use petty_shared::auth::ApiKeyStore;
use petty_shared::auth::Principal;
use petty_shared::collar::{Collar, Need, access};
use petty_shared::edge::Edge;
use petty_shared::http::query::{self, WindowRule, collar_id};
use petty_shared::http::{ApiError, Handler, Invocation, RouteSpec, json_body, json_response, query_param, route};
use petty_shared::metrics::Unit;
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::stores::{CollarLookup, FeedbackStore, ShownEvents};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::feedback::{FeedbackRecord, FeedbackTable};
use petty_shared::tables::members::MembersTable;
use petty_shared::tables::timeline_events::TimelineEventsTable;

pub use config::FeedbackConfig;
use domain::submission::{SubmitBody, validate};
use domain::summary::{Entry, summarize};

/// The service name in logs and metrics.
pub const SERVICE: &str = "feedback";
/// Feedback listing: the window (events of the last 30 days by default, at most 90), and
/// the page size.
const WINDOW: WindowRule = WindowRule { default_to_offset_ms: DAY_MS, default_ms: 30 * DAY_MS, max_days: 90 };
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// This function's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Submit,
    List,
    Summary,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("POST", "/v1/submit-feedback", Route::Submit),
    route("GET", "/v1/feedback", Route::List),
    route("GET", "/v1/feedback/summary", Route::Summary),
];

/// The feedback function's handler, over the capabilities it uses: collar lookups, feedback
/// read and written, the event index read (the tables in Lambda, in-memory doubles in unit
/// tests).
pub struct FeedbackApp<
    S,
    C = CollarsTable,
    F = FeedbackTable,
    E = TimelineEventsTable,
    K = ApiKeysTable,
    A = AuditTable,
> {
    collars: C,
    feedback: F,
    shown: E,
    edge: Edge<S, K, A>,
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
fn view(v: &FeedbackRecord) -> api::FeedbackEntry {
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

impl<S: SecretSource> FeedbackApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &FeedbackConfig, dynamodb: aws_sdk_dynamodb::Client, secrets: Arc<SecretCache<S>>) -> Self {
        Self {
            edge: Edge::new(&cfg.common, &cfg.routes, dynamodb.clone(), secrets),
            collars: CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone())
                .with_members(MembersTable::new(dynamodb.clone(), cfg.members_table.clone())),
            feedback: FeedbackTable::new(dynamodb.clone(), cfg.feedback_table.clone()),
            shown: TimelineEventsTable::new(dynamodb, cfg.timeline_events_table.clone()),
        }
    }
}

impl<S, C, F, E, K, A> FeedbackApp<S, C, F, E, K, A>
where
    S: SecretSource,
    C: CollarLookup,
    F: FeedbackStore,
    E: ShownEvents,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    /// The handler over any stores (unit tests pass in-memory doubles).
    pub fn with_stores(edge: Edge<S, K, A>, collars: C, feedback: F, shown: E) -> Self {
        Self { collars, feedback, shown, edge }
    }

    async fn collar_of(&self, req: &Request, principal: &Principal) -> Result<Collar, ApiError> {
        Ok(access(&self.collars, principal, &collar_id(req)?, Need::Read).await?.collar)
    }

    /// The pet's calibration from the household's verdicts since the claim: every current
    /// verdict of the owner and of the caregivers whose membership counts now (the people
    /// with the feedback right). A removed or expired caregiver's verdicts stay theirs, listed
    /// for them, but stop shaping the pet's timeline at the next recalibration.
    async fn recalibrate(&self, collar: &Collar) -> Result<Calibration, ApiError> {
        let verdicts =
            self.feedback.current_feedback(&collar.collar_id, collar.visible_from_ms(), now_ms() + DAY_MS).await?;
        let now_s = now_ms() / 1000;
        let mut calibrators = vec![collar.owner_id.clone()];
        for m in self.collars.members(&collar.collar_id).await? {
            if m.active(&collar.household, now_s) && Need::Feedback.allowed(m.role) {
                calibrators.push(m.user_id);
            }
        }
        let household: Vec<Judgement> = verdicts
            .iter()
            .filter(|v| calibrators.contains(&v.user_id))
            .map(|v| Judgement { behavior: v.behavior, corrected: v.corrected })
            .collect();
        let c = Calibration::from_judgements(&household);
        self.feedback.save_calibration(&collar.collar_id, collar.visible_from_ms(), &c, now_ms()).await?;
        Ok(c)
    }

    async fn submit(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, "feedback:write").await?;
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
        let collar = access(&self.collars, &principal, &sub.collar_id, Need::Feedback)
            .await
            .map(|a| a.collar)
            .map_err(|e| match e {
                ApiError::NotFound(_) => no_event(),
                other => other,
            })?;
        if sub.event_start < collar.visible_from_ms() {
            return Err(no_event());
        }
        let calendar = Calendar::new(collar.pet.tz());
        let client_timestamp_ms = sub
            .client_time
            .as_ref()
            .map(|t| t.resolve(&calendar, now))
            .transpose()
            .map_err(|e| ApiError::unprocessable(e.code, e.message))?;
        // The event index is kept per local day of the pet, as the timeline published it.
        let shown = self.shown.shown_on_day(&sub.collar_id, calendar.floor(sub.event_start)).await?;
        let event_end = shown
            .iter()
            .find(|e| e.start_ms == sub.event_start && e.behavior == sub.behavior)
            .map(|e| e.end_ms)
            .ok_or_else(no_event)?;
        let verdict = FeedbackRecord {
            feedback_id: uuid::Uuid::new_v4().to_string(),
            event_id: sub.event_id,
            event_start: sub.event_start,
            event_end,
            behavior: sub.behavior,
            user_id: principal.user_id.clone(),
            correct: sub.correct,
            corrected: sub.corrected,
            comment: sub.comment,
            client_timestamp_ms,
            submitted_at: now,
            revisions: 1,
        };
        let stored = self.feedback.record_feedback(&collar.collar_id, verdict).await?;
        let behavior = stored.behavior.as_str();
        inv.metric_with("FeedbackReceived", Unit::Count, 1.0, &[("behavior", behavior)]);
        let accuracy = if stored.correct { 100.0 } else { 0.0 };
        inv.metric_with("BehaviorAccuracy", Unit::Percent, accuracy, &[("behavior", behavior)]);
        let calibration = self.recalibrate(&collar).await?;
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
        let principal = self.edge.require(req, "timeline:read").await?;
        let window = WINDOW.parse(req, now_ms())?;
        let (from, to) = (window.from_ms, window.to_ms);
        let limit = query::limit(req, DEFAULT_LIMIT, MAX_LIMIT)? as i32;
        let codec = self.edge.cursor_codec().await?;
        let collar = self.collar_of(req, &principal).await?;
        // Bound to the window as asked (a default window moves with the clock between pages).
        let (asked_from, asked_to) = &window.asked;
        let scope = format!("feedback:{}:{}:{asked_from}:{asked_to}", collar.collar_id, principal.user_id);
        let start = query_param(req, "cursor").map(|c| codec.decode(&scope, &c)).transpose()?;
        let window = (from.max(collar.visible_from_ms()), to);
        let (items, next) = if window.0 < window.1 {
            self.feedback.feedback_page(&collar.collar_id, &principal.user_id, window, limit, start).await?
        } else {
            (Vec::new(), None)
        };
        let next_cursor = next.map(|k| codec.encode(&scope, &k)).transpose()?;
        let page =
            api::FeedbackPage { collar_id: collar.collar_id, feedback: items.iter().map(view).collect(), next_cursor };
        json_response(StatusCode::OK, &page)
    }

    async fn summary(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, "timeline:read").await?;
        let collar = self.collar_of(req, &principal).await?;
        let verdicts =
            self.feedback.current_feedback(&collar.collar_id, collar.visible_from_ms(), now_ms() + DAY_MS).await?;
        let entries: Vec<Entry> = verdicts
            .iter()
            .filter(|v| v.user_id == principal.user_id)
            .map(|v| Entry { behavior: v.behavior, correct: v.correct, corrected: v.corrected })
            .collect();
        json_response(StatusCode::OK, &summarize(&collar.collar_id, &entries))
    }
}

impl<S, C, F, E, K, A> Handler for FeedbackApp<S, C, F, E, K, A>
where
    S: SecretSource,
    C: CollarLookup,
    F: FeedbackStore,
    E: ShownEvents,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        match petty_shared::http::router::find(ROUTES, &req)?.route {
            Route::Submit => Box::pin(self.submit(&req, inv)).await,
            Route::List => Box::pin(self.list(&req)).await,
            Route::Summary => Box::pin(self.summary(&req)).await,
        }
    }
}

#[cfg(test)]
mod tests;
