//! The timeline function's routes: `GET /v1/pet-timeline` and `GET /v1/pet-plan`, answered
//! with the `petty_api` wire types.

use std::sync::Arc;
use std::time::Instant;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use petty_shared::api::{
    Event, EventFeedback, EventMetadata, EventStats, Plan, PlanMetadata, PlanPet, Timeline, TimelineMetadata, Verdict,
    Window,
};
use petty_shared::auth::{DataRoutes, Principal};
use petty_shared::collar::{Collar, CollarReader};
use petty_shared::dynamo::n;
use petty_shared::http::{ApiError, Handler, Invocation, json_response, query_param, query_time, route_path};
use petty_shared::metrics::Unit;
use petty_shared::secrets::{SecretCache, SecretSource};

use crate::config::TimelineConfig;
use crate::domain::model::typical_resting_bpm;
use crate::domain::plan::{ActivitySummary, pet_plan};
use crate::domain::segment::{BaselineSource, DAY_MS, EpisodeStats, build_days, day_floor, event_id};
use crate::domain::{Behavior, Episode, MODEL_VERSION, Thresholds};
use crate::store::{FeedbackLoop, FeedbackStatus, ReadingReader};

use crate::{DEFAULT_LIMIT, DEFAULT_WINDOW_MS, MAX_LIMIT, MAX_WINDOW_MS, PLAN_WINDOW_MS, format_ms};

/// The timeline function's handler.
pub struct TimelineApp<S> {
    collars: CollarReader,
    readings: ReadingReader,
    feedback: FeedbackLoop,
    routes: DataRoutes<S>,
    thresholds: Thresholds,
}

/// A timeline request's validated parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineQuery {
    pub collar_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub limit: usize,
    pub cursor: Option<String>,
    /// `from` and `to` as asked (empty when defaulted), which cursors are bound to: a default
    /// window moves with the clock between pages.
    asked: (String, String),
}

impl TimelineQuery {
    /// Validates the query string at the edge, before any storage call.
    pub fn parse(req: &Request, now_ms: i64) -> Result<Self, ApiError> {
        let collar_id = query_param(req, "collar_id")
            .ok_or_else(|| ApiError::bad_request("missing_collar_id", "collar_id is required"))?;
        let to_ms = query_time(req, "to", "invalid_to")?.unwrap_or(now_ms);
        let from_ms = query_time(req, "from", "invalid_from")?.unwrap_or(to_ms - DEFAULT_WINDOW_MS);
        if from_ms >= to_ms {
            return Err(ApiError::bad_request("invalid_window", "from must be before to"));
        }
        if to_ms - from_ms > MAX_WINDOW_MS {
            return Err(ApiError::bad_request("window_too_long", "the window may span at most 7 days"));
        }
        let limit = match query_param(req, "limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw.parse().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| {
                ApiError::bad_request("invalid_limit", format!("limit must be an integer from 1 to {MAX_LIMIT}"))
            })?,
        };
        let asked = (query_param(req, "from").unwrap_or_default(), query_param(req, "to").unwrap_or_default());
        Ok(Self { collar_id, from_ms, to_ms, limit, cursor: query_param(req, "cursor"), asked })
    }

    /// What a cursor is bound to: this collar and this window.
    fn cursor_scope(&self) -> String {
        format!("timeline:{}:{}:{}", self.collar_id, self.asked.0, self.asked.1)
    }
}

/// An episode as clients see it (the fields of the system Petty replaces, plus the episode's
/// bounds and statistics).
fn event_view(
    collar_id: &str,
    e: &Episode,
    baseline_bpm: f64,
    source: BaselineSource,
    feedback: Option<&FeedbackStatus>,
) -> Event {
    Event {
        event_id: event_id(collar_id, e.behavior, e.start_ms),
        timestamp: format_ms(e.start_ms),
        behavior: e.behavior,
        confidence: e.confidence,
        start: format_ms(e.start_ms),
        end: format_ms(e.end_ms),
        duration_s: e.duration_s(),
        stats: stats_view(&e.stats),
        metadata: EventMetadata { baseline_heart_rate_bpm: baseline_bpm, baseline_source: source },
        feedback: feedback.map(|f| EventFeedback {
            user_feedback: if f.correct { Verdict::Correct } else { Verdict::Incorrect },
            corrected_behavior: f.corrected_behavior,
            submitted_at: format_ms(f.submitted_at_ms),
        }),
    }
}

fn stats_view(s: &EpisodeStats) -> EventStats {
    EventStats {
        samples: s.samples,
        heart_rate_mean_bpm: s.heart_rate_mean_bpm,
        heart_rate_min_bpm: s.heart_rate_min_bpm,
        heart_rate_max_bpm: s.heart_rate_max_bpm,
        distance_m: s.distance_m,
    }
}

/// Episodes of every day a span touches, with the baseline each was measured against.
struct Analysis {
    episodes: Vec<(Episode, f64, BaselineSource)>,
    data_points: usize,
    elapsed_ms: f64,
    /// The caller's verdicts by (event start, behaviour).
    feedback: std::collections::HashMap<(i64, Behavior), FeedbackStatus>,
    /// The consistent corrections this pet's thresholds were calibrated by.
    calibrated_by: Vec<String>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl<S: SecretSource> TimelineApp<S> {
    /// Wires the handler; called once at cold start.
    pub fn new(cfg: &TimelineConfig, dynamodb: aws_sdk_dynamodb::Client, secrets: Arc<SecretCache<S>>) -> Self {
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
            readings: ReadingReader::new(dynamodb.clone(), cfg.readings_table.clone()),
            feedback: FeedbackLoop::new(dynamodb, cfg.timeline_events_table.clone(), cfg.feedback_table.clone()),
            thresholds: Thresholds::default(),
        }
    }

    async fn reader(&self, req: &Request) -> Result<Principal, ApiError> {
        let principal = self.routes.auth.authenticate(req).await?;
        principal.require_scope("timeline:read")?;
        Ok(principal)
    }

    /// Reads and segments every day overlapping `[from_ms, to_ms)` that the owner may see,
    /// with the pet's calibration, then publishes each day's events for the feedback function.
    async fn analyse(
        &self,
        collar: &Collar,
        user_id: &str,
        from_ms: i64,
        to_ms: i64,
        inv: &Invocation,
    ) -> Result<Analysis, ApiError> {
        let now = now_ms();
        let start = day_floor(from_ms).max(collar.visible_from_ms());
        let end = (day_floor(to_ms - 1) + DAY_MS).min(now);
        let read_started = Instant::now();
        let (readings, calibration, statuses) = petty_shared::xray::phase("read", async {
            tokio::try_join!(
                self.readings.days(&collar.collar_id, start, end),
                self.feedback.calibration(&collar.collar_id),
                self.feedback.statuses(&collar.collar_id, start, end),
            )
        })
        .await?;
        inv.metric("TimelineReadMs", Unit::Milliseconds, read_started.elapsed().as_secs_f64() * 1000.0);
        inv.metric("TimelineReadings", Unit::Count, readings.samples.len() as f64);
        inv.metric("TimelineReadPages", Unit::Count, f64::from(readings.pages));
        let started = Instant::now();
        let fallback = typical_resting_bpm(collar.pet.species, collar.pet.weight_kg);
        let thresholds = calibration.apply(&self.thresholds);
        let days = build_days(&readings.samples, start, end, fallback, &thresholds);
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        inv.metric("TimelineComputeMs", Unit::Milliseconds, elapsed_ms);
        let published = days
            .iter()
            .map(|(day, from, _)| self.feedback.publish_day(&collar.collar_id, day_floor(*from), &day.episodes));
        if let Err(err) = futures_util::future::try_join_all(published).await {
            // The timeline is still right; feedback on these events waits for the next read.
            tracing::warn!(error = %err, "event index not published");
            inv.metric("EventIndexWriteFailed", Unit::Count, 1.0);
        }
        let episodes = days
            .into_iter()
            .flat_map(|(day, _, _)| {
                let (baseline, source) = (day.baseline_bpm, day.baseline_source);
                day.episodes.into_iter().map(move |e| (e, baseline, source))
            })
            .collect();
        let data_points = readings.samples.iter().filter(|s| s.ts_ms >= from_ms && s.ts_ms < to_ms).count();
        let feedback =
            statuses.into_iter().filter(|f| f.user_id == user_id).map(|f| ((f.event_start, f.behavior), f)).collect();
        Ok(Analysis { episodes, data_points, elapsed_ms, feedback, calibrated_by: calibration.because })
    }

    async fn timeline(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.reader(req).await?;
        let q = TimelineQuery::parse(req, now_ms())?;
        let codec = self.routes.cursor_codec().await?;
        let scope = q.cursor_scope();
        let after = match q.cursor.as_deref() {
            None => None,
            Some(c) => Some(
                codec
                    .decode(&scope, c)?
                    .get("start")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .ok_or(petty_shared::cursor::InvalidCursor)?,
            ),
        };
        let collar = self.collars.owned(&principal, &q.collar_id).await?;
        // A later page only needs the days from where the previous one stopped.
        let from = after.map_or(q.from_ms, |a| a.clamp(q.from_ms, q.to_ms));
        let analysis = self.analyse(&collar, &principal.user_id, from, q.to_ms, inv).await?;
        let in_window = |e: &Episode| e.end_ms > q.from_ms && e.start_ms < q.to_ms;
        let mut page: Vec<&(Episode, f64, BaselineSource)> = analysis
            .episodes
            .iter()
            .filter(|(e, _, _)| in_window(e) && after.is_none_or(|a| e.start_ms > a))
            .take(q.limit + 1)
            .collect();
        let next_cursor = if page.len() > q.limit {
            page.truncate(q.limit);
            let last = page.last().map_or(0, |(e, _, _)| e.start_ms);
            Some(codec.encode(&scope, &[("start".to_owned(), n(last))].into())?)
        } else {
            None
        };
        let events: Vec<Event> = page
            .iter()
            .map(|(e, baseline, source)| {
                event_view(&q.collar_id, e, *baseline, *source, analysis.feedback.get(&(e.start_ms, e.behavior)))
            })
            .collect();
        let mut behaviors: Vec<Behavior> = analysis
            .episodes
            .iter()
            .filter(|(e, _, _)| in_window(e) && e.behavior != Behavior::NoData)
            .map(|(e, _, _)| e.behavior)
            .collect();
        behaviors.sort();
        behaviors.dedup();
        inv.metric("TimelineEvents", Unit::Count, events.len() as f64);
        let body = Timeline {
            collar_id: q.collar_id,
            timeline: events,
            next_cursor,
            metadata: TimelineMetadata {
                data_points: analysis.data_points,
                behaviors_detected: behaviors.len(),
                behaviors,
                analysis_time_ms: (analysis.elapsed_ms * 100.0).round() / 100.0,
                generated_at: format_ms(now_ms()),
                model_version: MODEL_VERSION.to_owned(),
                calibrated_by: analysis.calibrated_by,
                window: Window { from: format_ms(q.from_ms), to: format_ms(q.to_ms) },
            },
        };
        json_response(StatusCode::OK, &body)
    }

    async fn plan(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.reader(req).await?;
        let collar_id = query_param(req, "collar_id")
            .ok_or_else(|| ApiError::bad_request("missing_collar_id", "collar_id is required"))?;
        let collar = self.collars.owned(&principal, &collar_id).await?;
        let to = now_ms();
        let from = (to - PLAN_WINDOW_MS).max(collar.visible_from_ms());
        let analysis = self.analyse(&collar, &principal.user_id, from, to, inv).await?;
        let summary = ActivitySummary::from_episodes(analysis.episodes.iter().map(|(e, _, _)| e), from, to);
        let plan = pet_plan(&collar.pet, chrono::Utc::now().date_naive(), &summary);
        let body = Plan {
            collar_id,
            pet: PlanPet { name: collar.pet.name.clone(), species: collar.pet.species },
            daily_goals: plan.daily_goals,
            nutrition_plan: plan.nutrition_plan,
            health_recommendations: plan.health_recommendations,
            metadata: PlanMetadata {
                window: Window { from: format_ms(from), to: format_ms(to) },
                data_points: analysis.data_points,
                model_version: MODEL_VERSION.to_owned(),
                generated_at: format_ms(now_ms()),
            },
        };
        json_response(StatusCode::OK, &body)
    }
}

impl<S: SecretSource> Handler for TimelineApp<S> {
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        match (route_path(&req).as_str(), req.method().clone()) {
            ("/v1/pet-timeline", Method::GET) => Box::pin(self.timeline(&req, inv)).await,
            ("/v1/pet-plan", Method::GET) => Box::pin(self.plan(&req, inv)).await,
            ("/v1/pet-timeline" | "/v1/pet-plan", _) => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound("no such route".into())),
        }
    }
}
