//! The timeline function's routes: `GET /v1/pet-timeline` and `GET /v1/pet-plan`, answered
//! with the `petty_api` wire types.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api::format_ms;
use petty_shared::api::{
    Event, EventFeedback, EventMetadata, EventStats, Plan, PlanMetadata, PlanPet, Timeline, TimelineMetadata, Verdict,
    Window,
};
use petty_shared::audit::AuditStore;
use petty_shared::auth::ApiKeyStore;
use petty_shared::collar::{Collar, Need, access};
use petty_shared::dynamo::n;
use petty_shared::edge::Edge;
use petty_shared::http::query::{self, TimeWindow, WindowRule, collar_id};
use petty_shared::http::{ApiError, Handler, Invocation, RouteSpec, json_response, query_param, route};
use petty_shared::metrics::Unit;
use petty_shared::secrets::{SecretCache, SecretSource};
use petty_shared::stores::{CollarLookup, DayRecords, EventPublisher, FeedbackReader, SampleSource};
use petty_shared::tables::api_keys::ApiKeysTable;
use petty_shared::tables::audit::AuditTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::feedback::{FeedbackRecord, FeedbackTable};
use petty_shared::tables::members::MembersTable;
use petty_shared::tables::readings::ReadingsTable;
use petty_shared::tables::timeline_events::TimelineEventsTable;

use crate::config::TimelineConfig;
use crate::days::DaySource;
use crate::summary::SummaryQuery;
use crate::{DEFAULT_LIMIT, DEFAULT_WINDOW_MS, MAX_LIMIT, MAX_WINDOW_DAYS, PLAN_WINDOW_DAYS};
use petty_behaviour::plan::{ActivitySummary, pet_plan};
use petty_behaviour::segment::{BaselineSource, EpisodeStats, event_id};
use petty_behaviour::{Behavior, Calendar, Episode, MODEL_VERSION, Thresholds};
use petty_shared::api::summary::{DaySummary, PetSummary};

/// This function's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Timeline,
    Plan,
    Summary,
}

/// The routing table (the template and router tests compare it with `template.yaml`).
pub const ROUTES: &[RouteSpec<Route>] = &[
    route("GET", "/v1/pet-timeline", Route::Timeline),
    route("GET", "/v1/pet-plan", Route::Plan),
    route("GET", "/v1/pet-summary", Route::Summary),
];

/// The timeline's window: the last 24 hours by default, at most 7 days.
const WINDOW: WindowRule =
    WindowRule { default_to_offset_ms: 0, default_ms: DEFAULT_WINDOW_MS, max_days: MAX_WINDOW_DAYS };

/// The timeline function's handler.
///
/// Over the capabilities it uses: collar lookups, samples by day, feedback read, the event
/// index written (the tables in Lambda, in-memory doubles in unit tests).
pub struct TimelineApp<
    S,
    C = CollarsTable,
    R = ReadingsTable,
    F = FeedbackTable,
    P = TimelineEventsTable,
    K = ApiKeysTable,
    A = AuditTable,
> {
    collars: C,
    readings: R,
    feedback: F,
    shown: P,
    edge: Edge<S, K, A>,
    thresholds: Thresholds,
}

/// What a timeline asks for: a window of instants, or one of the pet's local days (whose
/// bounds are known once the pet's time zone is).
#[derive(Clone, Debug, PartialEq)]
pub enum Span {
    Window(TimeWindow),
    Day(chrono::NaiveDate),
}

/// A timeline request's validated parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineQuery {
    pub collar_id: String,
    pub span: Span,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl TimelineQuery {
    /// Validates the query string at the edge, before any storage call: `day=YYYY-MM-DD`
    /// (400 `invalid_day`) or a `from`/`to` window, not both (400 `invalid_window`).
    pub fn parse(req: &Request, now_ms: i64) -> Result<Self, ApiError> {
        let span = match query_param(req, "day") {
            None => Span::Window(WINDOW.parse(req, now_ms)?),
            Some(_) if query_param(req, "from").is_some() || query_param(req, "to").is_some() => {
                return Err(ApiError::bad_request("invalid_window", "give day or from/to, not both"));
            }
            Some(day) => Span::Day(
                chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .ok()
                    .filter(|_| day.len() == 10)
                    .ok_or_else(|| ApiError::bad_request("invalid_day", "day must be a date, YYYY-MM-DD"))?,
            ),
        };
        Ok(Self {
            collar_id: collar_id(req)?,
            span,
            limit: query::limit(req, DEFAULT_LIMIT, MAX_LIMIT)?,
            cursor: query_param(req, "cursor"),
        })
    }

    /// `[from, to)` in Unix ms: a day's in the pet's `calendar`.
    pub fn window(&self, calendar: &Calendar) -> (i64, i64) {
        match &self.span {
            Span::Window(w) => (w.from_ms, w.to_ms),
            Span::Day(day) => calendar.window(*day),
        }
    }

    /// What a cursor is bound to: this collar and this window (or day) as asked.
    fn cursor_scope(&self) -> String {
        match &self.span {
            Span::Window(w) => format!("timeline:{}:{}:{}", self.collar_id, w.asked.0, w.asked.1),
            Span::Day(day) => format!("timeline:{}:day:{day}", self.collar_id),
        }
    }
}

/// An episode as clients see it (the fields of the system Petty replaces, plus the episode's
/// bounds and statistics).
fn event_view(
    collar_id: &str,
    e: &Episode,
    baseline_bpm: f64,
    source: BaselineSource,
    feedback: Option<&FeedbackRecord>,
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
            corrected_behavior: f.corrected,
            submitted_at: format_ms(f.submitted_at),
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
    /// Each day's summary, in order.
    summaries: Vec<petty_shared::api::summary::DaySummary>,
    data_points: usize,
    elapsed_ms: f64,
    /// The caller's verdicts by (event start, behaviour).
    feedback: std::collections::HashMap<(i64, Behavior), FeedbackRecord>,
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
            edge: Edge::new(&cfg.common, &cfg.routes, dynamodb.clone(), secrets),
            collars: CollarsTable::new(dynamodb.clone(), cfg.collars_table.clone())
                .with_members(MembersTable::new(dynamodb.clone(), cfg.members_table.clone())),
            // Read-only here: the retention only matters to writers.
            readings: ReadingsTable::new(dynamodb.clone(), cfg.readings_table.clone(), 1),
            feedback: FeedbackTable::new(dynamodb.clone(), cfg.feedback_table.clone()),
            shown: TimelineEventsTable::new(dynamodb, cfg.timeline_events_table.clone()),
            thresholds: Thresholds::default(),
        }
    }
}

impl<S, C, R, F, P, K, A> TimelineApp<S, C, R, F, P, K, A>
where
    S: SecretSource,
    C: CollarLookup,
    R: SampleSource,
    F: FeedbackReader,
    P: EventPublisher + DayRecords,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    /// The handler over any stores (unit tests pass in-memory doubles).
    pub fn with_stores(edge: Edge<S, K, A>, collars: C, readings: R, feedback: F, shown: P) -> Self {
        Self { collars, readings, feedback, shown, edge, thresholds: Thresholds::default() }
    }

    /// The pet's local days overlapping `[from_ms, to_ms)` that the caller may see (finished
    /// days from their records, the rest computed: see [`crate::days`]), with the pet's
    /// calibration and the caller's verdicts.
    async fn analyse(
        &self,
        collar: &Collar,
        user_id: &str,
        from_ms: i64,
        to_ms: i64,
        inv: &Invocation,
    ) -> Result<Analysis, ApiError> {
        let now = now_ms();
        let calendar = Calendar::new(collar.pet.tz());
        let start = calendar.floor(from_ms).max(collar.visible_from_ms());
        let end = calendar.window(calendar.date_of(to_ms - 1)).1.min(now);
        let (calibration, statuses) = tokio::try_join!(
            self.feedback.calibration_of(&collar.collar_id, collar.visible_from_ms()),
            self.feedback.current_feedback(&collar.collar_id, start, end),
        )?;
        let days = self.days().load(collar, &calibration, (start, end), (from_ms, to_ms), true, inv).await?;
        let data_points = days.days.iter().map(|d| d.readings_in_window).sum();
        let elapsed_ms = days.elapsed_ms;
        let summaries = days.days.iter().map(|d| d.summary.clone()).collect();
        let episodes = days
            .days
            .into_iter()
            .flat_map(|day| {
                let (baseline, source) = (day.baseline_bpm, day.baseline_source);
                day.episodes.into_iter().map(move |e| (e, baseline, source))
            })
            .collect();
        let feedback =
            statuses.into_iter().filter(|f| f.user_id == user_id).map(|f| ((f.event_start, f.behavior), f)).collect();
        Ok(Analysis { episodes, summaries, data_points, elapsed_ms, feedback, calibrated_by: calibration.because })
    }

    /// Where days come from: readings, their records and the event index.
    pub(crate) fn days(&self) -> DaySource<'_, R, P> {
        DaySource { readings: &self.readings, records: &self.shown, thresholds: &self.thresholds }
    }

    async fn timeline(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, "timeline:read").await?;
        let q = TimelineQuery::parse(req, now_ms())?;
        let codec = self.edge.cursor_codec().await?;
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
        let collar = access(&self.collars, &principal, &q.collar_id, Need::Read).await?.collar;
        let (from_ms, to_ms) = q.window(&Calendar::new(collar.pet.tz()));
        // A later page only needs the days from where the previous one stopped.
        let from = after.map_or(from_ms, |a| a.clamp(from_ms, to_ms));
        let analysis = self.analyse(&collar, &principal.user_id, from, to_ms, inv).await?;
        let in_window = |e: &Episode| e.end_ms > from_ms && e.start_ms < to_ms;
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
                window: Window { from: format_ms(from_ms), to: format_ms(to_ms) },
                timezone: collar.pet.tz().name().to_owned(),
            },
        };
        json_response(StatusCode::OK, &body)
    }

    async fn plan(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, "timeline:read").await?;
        let collar_id = collar_id(req)?;
        let collar = access(&self.collars, &principal, &collar_id, Need::Read).await?.collar;
        // The last 7 finished local days, from their summaries: no reading is read once they
        // have their records (today, still changing, is the timeline's).
        let calendar = Calendar::new(collar.pet.tz());
        let today = calendar.date_of(now_ms());
        let to = calendar.start_of(today);
        let week_ago = today - chrono::Days::new(PLAN_WINDOW_DAYS);
        let from = calendar.start_of(week_ago).max(collar.visible_from_ms()).min(to);
        let analysis = self.analyse(&collar, &principal.user_id, from, to, inv).await?;
        let summary = ActivitySummary::from_days(&analysis.summaries);
        let plan = pet_plan(&collar.pet, today, &summary);
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

    async fn summary(&self, req: &Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let principal = self.edge.require(req, "timeline:read").await?;
        let q = SummaryQuery::parse(req)?;
        let collar = access(&self.collars, &principal, &q.collar_id, Need::Read).await?.collar;
        let now = now_ms();
        let calendar = Calendar::new(collar.pet.tz());
        let (from, to) = q.range(calendar.date_of(now))?;
        // Rows from the claim's day to today at most: nothing of a previous ownership, nothing ahead.
        let start = calendar.start_of(from).max(collar.visible_from_ms());
        let end = calendar.window(to).1.min(now);
        let calibration = self.feedback.calibration_of(&collar.collar_id, collar.visible_from_ms()).await?;
        let days = self.days().load(&collar, &calibration, (start, end), (start, end), false, inv).await?;
        let rows: Vec<DaySummary> = days.days.into_iter().map(|d| d.summary).collect();
        let body = PetSummary {
            collar_id: q.collar_id,
            timezone: calendar.tz().name().to_owned(),
            from: from.format("%Y-%m-%d").to_string(),
            to: to.format("%Y-%m-%d").to_string(),
            weeks: petty_behaviour::summary::weeks(&rows),
            months: petty_behaviour::summary::months(&rows),
            streaks: petty_behaviour::summary::streaks(&rows),
            days: rows,
            model_version: MODEL_VERSION.to_owned(),
            generated_at: format_ms(now_ms()),
        };
        json_response(StatusCode::OK, &body)
    }
}

impl<S, C, R, F, P, K, A> Handler for TimelineApp<S, C, R, F, P, K, A>
where
    S: SecretSource,
    C: CollarLookup,
    R: SampleSource,
    F: FeedbackReader,
    P: EventPublisher + DayRecords,
    K: ApiKeyStore,
    A: AuditStore + Clone,
{
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        match petty_shared::http::router::find(ROUTES, &req)?.route {
            Route::Timeline => Box::pin(self.timeline(&req, inv)).await,
            Route::Plan => Box::pin(self.plan(&req, inv)).await,
            Route::Summary => Box::pin(self.summary(&req, inv)).await,
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
