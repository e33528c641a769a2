//! One definition of each API type: every success body the handlers answer decodes into its
//! `petty_api` type and encodes back to exactly the same JSON. A field the handler adds that
//! the type lacks, a field the type expects that the handler dropped, a renamed field or a
//! changed number type (`3` vs `3.0`) fails here, before a client sees it. Requests are sent
//! as the shared request types too, so the client's bodies are the ones the handlers accept.

use lambda_http::http::StatusCode;
use petty_behaviour::Behavior;
use petty_behaviour::segment::{DAY_MS, day_floor};
use petty_behaviour::simulator::{profiles, reading_json, simulate_day};
use petty_health::{HealthApp, HealthConfig};
use petty_shared::api::format_ms;
use petty_shared::api::{
    ApiKeyList, ClaimCollar, Collar, CollarPage, CreatedApiKey, Feedback, FeedbackEntry, FeedbackPage, FeedbackReceipt,
    FeedbackSummary, IngestBatch, IngestReport, Liveness, Login, NewApiKey, PetPatch, Plan, Readiness, Realtime,
    Refresh, Register, SecurityEvents, Timeline, TokenPair, UpdateCollar, User, Verdict,
};
use petty_shared::config::FromEnv;
use petty_shared::secrets::CacheSettings;
use petty_shared::{Env, HttpService};
use petty_tests::apps::{Apps, Header, PASSWORD};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const COLLAR: &str = "WT-100001";

/// `body` as `T`, checked both ways: nothing missing, nothing extra, nothing retyped.
fn strict<T: Serialize + DeserializeOwned>(what: &str, body: &Value) -> T {
    let typed: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{what}: {e}\n{body}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, body, "{what}: the shared type does not round-trip the handler's answer");
    typed
}

fn to_json(body: &impl Serialize) -> Value {
    serde_json::to_value(body).unwrap()
}

/// A call to whichever function serves `path`; `want` is the success status.
async fn call(
    apps: &Apps,
    method: &str,
    path: &str,
    who: Option<&Header>,
    body: Option<Value>,
    want: StatusCode,
) -> Value {
    let text = body.map(|b| b.to_string());
    let headers: Vec<(&str, &str)> = who.map(|w| (w.0, w.1.as_str())).into_iter().collect();
    let (h, b) = (&apps.http, text.as_deref());
    let (status, reply, _) = if path.starts_with("/v1/pet-") {
        petty_tests::call(h, &apps.timeline, method, path, &headers, b).await
    } else if path.starts_with("/v1/submit-feedback") || path.starts_with("/v1/feedback") {
        petty_tests::call(h, &apps.feedback, method, path, &headers, b).await
    } else if path.starts_with("/v1/auth") || path.starts_with("/v1/api-keys") {
        petty_tests::call(h, &apps.auth, method, path, &headers, b).await
    } else {
        petty_tests::call(h, &apps.data, method, path, &headers, b).await
    };
    assert_eq!(status, want, "{method} {path}: {reply}");
    reply
}

#[tokio::test]
async fn every_success_body_is_its_shared_type_exactly() {
    let apps = Apps::seed().await;

    // Accounts.
    let register = Register { email: "wire@example.com".into(), password: PASSWORD.into(), name: Some("Wyn".into()) };
    let user: User = strict(
        "register",
        &call(&apps, "POST", "/v1/auth/register", None, Some(to_json(&register)), StatusCode::CREATED).await,
    );
    assert_eq!(user.name.as_deref(), Some("Wyn"));
    let login = Login { email: register.email.clone(), password: PASSWORD.into() };
    let pair: TokenPair =
        strict("login", &call(&apps, "POST", "/v1/auth/login", None, Some(to_json(&login)), StatusCode::OK).await);
    let refresh = Refresh { refresh_token: pair.refresh_token.clone() };
    let pair: TokenPair = strict(
        "refresh",
        &call(&apps, "POST", "/v1/auth/refresh", None, Some(to_json(&refresh)), StatusCode::OK).await,
    );
    assert_eq!(pair.token_type, "Bearer");
    let wyn: Header = ("authorization", format!("Bearer {}", pair.access_token));
    let me: User = strict("me", &call(&apps, "GET", "/v1/auth/me", Some(&wyn), None, StatusCode::OK).await);
    assert_eq!(me, user);

    // A collar (claimed a day back, so yesterday's readings are Wyn's), edited and listed.
    let yesterday = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    let pet = json!({"name": "Biscuit", "species": "dog", "weight_kg": 18.0, "birth_date": "2020-03-01"});
    let claim_code = apps.claim_at(&wyn, COLLAR, pet.clone(), yesterday - DAY_MS).await;
    let claim = ClaimCollar { collar_id: COLLAR.into(), claim_code, pet: serde_json::from_value(pet).unwrap() };
    let again: Collar = strict(
        "claim (already yours)",
        &call(&apps, "POST", "/v1/collars", Some(&wyn), Some(to_json(&claim)), StatusCode::OK).await,
    );
    let shown: Collar =
        strict("collar", &call(&apps, "GET", &format!("/v1/collars/{COLLAR}"), Some(&wyn), None, StatusCode::OK).await);
    assert_eq!(shown, again);
    let patch = UpdateCollar { pet: PetPatch { breed: Some("Beagle".into()), ..PetPatch::default() } };
    let patched: Collar = strict(
        "patch",
        &call(&apps, "PATCH", &format!("/v1/collars/{COLLAR}"), Some(&wyn), Some(to_json(&patch)), StatusCode::OK)
            .await,
    );
    assert_eq!(patched.pet.breed.as_deref(), Some("Beagle"));
    let page: CollarPage =
        strict("collars", &call(&apps, "GET", "/v1/collars?limit=1", Some(&wyn), None, StatusCode::OK).await);
    assert_eq!((page.collars.len(), page.next_cursor), (1, None));

    // API keys.
    let new_key = NewApiKey {
        name: "wire".into(),
        scopes: vec!["readings:read".into(), "readings:write".into(), "timeline:read".into()],
        collar_ids: vec![COLLAR.into()],
        expires_in_days: Some(30),
    };
    let created: CreatedApiKey = strict(
        "create key",
        &call(&apps, "POST", "/v1/api-keys", Some(&wyn), Some(to_json(&new_key)), StatusCode::CREATED).await,
    );
    let key: Header = ("x-api-key", created.api_key.clone());

    // Readings through the key: six simulated hours and one invalid reading.
    let day = simulate_day(&profiles()[0], 7, yesterday);
    let mut readings: Vec<Value> = day
        .delivered
        .iter()
        .filter(|r| r.ts_ms < yesterday + 6 * 3_600_000)
        .take(400)
        .map(|r| reading_json(COLLAR, r))
        .collect();
    let mut bad = readings[0].clone();
    bad["heart_rate"] = json!(400);
    readings.push(bad);
    let batch = IngestBatch { readings };
    let report: IngestReport =
        strict("ingest", &call(&apps, "POST", "/v1/ingest", Some(&key), Some(to_json(&batch)), StatusCode::OK).await);
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let latest: Realtime = strict(
        "realtime",
        &call(&apps, "GET", &format!("/v1/realtime?collar_id={COLLAR}"), Some(&key), None, StatusCode::OK).await,
    );
    assert_eq!(latest.collar_id, COLLAR);
    let keys: ApiKeyList =
        strict("list keys", &call(&apps, "GET", "/v1/api-keys", Some(&wyn), None, StatusCode::OK).await);
    assert_eq!(keys.api_keys.iter().map(|k| &k.key_id).collect::<Vec<_>>(), [&created.key.key_id]);
    let events: SecurityEvents =
        strict("events", &call(&apps, "GET", "/v1/auth/events", Some(&wyn), None, StatusCode::OK).await);
    assert!(!events.events.is_empty());

    // Timeline, feedback on two events (one corrected, with a comment and the client's time).
    let window =
        format!("collar_id={COLLAR}&from={}&to={}", format_ms(yesterday), format_ms(yesterday + 6 * 3_600_000));
    let timeline: Timeline = strict(
        "timeline",
        &call(&apps, "GET", &format!("/v1/pet-timeline?{window}"), Some(&key), None, StatusCode::OK).await,
    );
    assert!(timeline.timeline.len() >= 2, "{timeline:?}");
    let (first, second) = (&timeline.timeline[0], &timeline.timeline[1]);
    let correct = Feedback {
        event_id: first.event_id.clone(),
        user_feedback: Verdict::Correct,
        corrected_behavior: None,
        comment: None,
        timestamp: None,
    };
    let receipt: FeedbackReceipt = strict(
        "submit",
        &call(&apps, "POST", "/v1/submit-feedback", Some(&wyn), Some(to_json(&correct)), StatusCode::CREATED).await,
    );
    assert_eq!((receipt.success, receipt.replaced, receipt.revisions), (true, false, 1));
    let other = if second.behavior == Behavior::Rest { Behavior::DeepSleep } else { Behavior::Rest };
    let corrected = Feedback {
        event_id: second.event_id.clone(),
        user_feedback: Verdict::Incorrect,
        corrected_behavior: Some(other),
        comment: Some("was asleep on the sofa".into()),
        timestamp: Some(format_ms(chrono::Utc::now().timestamp_millis())),
    };
    let _: FeedbackReceipt = strict(
        "submit corrected",
        &call(&apps, "POST", "/v1/submit-feedback", Some(&wyn), Some(to_json(&corrected)), StatusCode::CREATED).await,
    );
    let timeline: Timeline = strict(
        "timeline with feedback",
        &call(&apps, "GET", &format!("/v1/pet-timeline?{window}"), Some(&wyn), None, StatusCode::OK).await,
    );
    let verdicts: Vec<_> = timeline.timeline[..2]
        .iter()
        .map(|e| e.feedback.as_ref().map(|f| (f.user_feedback, f.corrected_behavior)))
        .collect();
    assert_eq!(verdicts, [Some((Verdict::Correct, None)), Some((Verdict::Incorrect, Some(other)))]);
    let paged: Timeline = strict(
        "timeline page",
        &call(&apps, "GET", &format!("/v1/pet-timeline?{window}&limit=1"), Some(&wyn), None, StatusCode::OK).await,
    );
    assert!(paged.next_cursor.is_some(), "{paged:?}");
    let list: FeedbackPage = strict(
        "feedback",
        &call(&apps, "GET", &format!("/v1/feedback?collar_id={COLLAR}"), Some(&wyn), None, StatusCode::OK).await,
    );
    let mine: Vec<&FeedbackEntry> = list.feedback.iter().filter(|f| f.comment.is_some()).collect();
    assert_eq!((list.feedback.len(), mine.len()), (2, 1), "{list:?}");
    assert!(mine[0].timestamp.is_some());
    let summary: FeedbackSummary = strict(
        "summary",
        &call(&apps, "GET", &format!("/v1/feedback/summary?collar_id={COLLAR}"), Some(&wyn), None, StatusCode::OK)
            .await,
    );
    assert_eq!((summary.feedback_count, summary.correct_share), (2, Some(0.5)));

    // The plan: typed goals and nutrition, every figure with its unit.
    let plan: Plan = strict(
        "plan",
        &call(&apps, "GET", &format!("/v1/pet-plan?collar_id={COLLAR}"), Some(&key), None, StatusCode::OK).await,
    );
    assert_eq!(plan.nutrition_plan.weight.unit, "kg");
    assert!(plan.daily_goals.age.is_some(), "{plan:?}");
    assert!(!plan.health_recommendations.is_empty(), "{plan:?}");
}

#[tokio::test]
async fn health_bodies_are_their_shared_types_exactly() {
    let apps = Apps::seed().await;
    let sdk = petty_tests::sdk().await;
    let jwks = apps.env.required("PUBLIC_KEYS_SECRET_ID").unwrap();
    let table = apps.env.required("COLLARS_TABLE").unwrap();
    let cfg = |tables: &str| {
        HealthConfig::from_env(&Env::from_pairs([
            ("STAGE", "test"),
            ("JWT_ISSUER", petty_tests::ISSUER),
            ("JWT_AUDIENCE", petty_tests::AUDIENCE),
            ("PUBLIC_KEYS_SECRET_ID", jwks.as_str()),
            ("TABLE_NAMES", tables),
            ("ALARM_PREFIX", "wire-"),
            ("HEALTH_CHECK_TIMEOUT_MS", "3000"),
        ]))
        .unwrap()
    };
    let http = HttpService::new("health");
    for (tables, want, status) in [
        (table.clone(), StatusCode::OK, "ready"),
        (format!("{table},wire-missing-table"), StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
    ] {
        let cache = petty_tests::secret_cache(petty_shared::aws::secrets_manager(&sdk), CacheSettings::default());
        let app = HealthApp::new(
            &cfg(&tables),
            petty_shared::aws::dynamodb(&sdk),
            aws_sdk_cloudwatch::Client::new(&sdk),
            cache,
        );
        let (got, live, _) = petty_tests::call(&http, &app, "GET", "/v1/health", &[], None).await;
        assert_eq!(got, StatusCode::OK, "{live}");
        let live: Liveness = strict("liveness", &live);
        assert_eq!(live.build.version, live.version);
        let (got, ready, _) = petty_tests::call(&http, &app, "GET", "/v1/health/ready", &[], None).await;
        assert_eq!(got, want, "{ready}");
        let ready: Readiness = strict("readiness", &ready);
        assert_eq!(ready.status, status);
        assert_eq!(ready.checks.iter().filter(|c| c.error.is_some()).count(), usize::from(want != StatusCode::OK));
    }
}
