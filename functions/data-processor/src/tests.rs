//! The data processor's rules over in-memory stores (no AWS): claims, ownership, pet updates,
//! release, realtime visibility and ingestion's ownership check. The DynamoDB adapters are
//! tested against moto in `tests/integration/data.rs`.

use lambda_http::http::StatusCode;
use petty_shared::api::format_ms;
use petty_shared::claim_code::ClaimCode;
use petty_shared::testing::{
    MemoryApiKeys, MemoryAudit, MemoryCollars, MemoryCounters, MemoryReadings, MemorySecrets, MemoryZones, Tokens,
    call, edge,
};
use serde_json::{Value, json};

use super::*;

type App =
    DataApp<MemorySecrets, MemoryCollars, MemoryReadings, MemoryCounters, MemoryApiKeys, MemoryAudit, MemoryZones>;

const SCOPES: &[&str] = &["collars:manage", "readings:read", "readings:write"];
const SERIALS: &[&str] = &["AB-123456", "AB-100", "AB-200", "AB-300", "AB-400"];

/// The printed code of a registered test serial (derived, so tests can type it).
fn code_of(collar: &str) -> ClaimCode {
    CODES.with(|codes| codes.borrow_mut().entry(collar.to_owned()).or_insert_with(ClaimCode::generate).clone())
}

thread_local! {
    static CODES: std::cell::RefCell<std::collections::HashMap<String, ClaimCode>> = Default::default();
}

fn app_with(limits: ClaimLimits) -> (App, Tokens) {
    let (edge, tokens) = edge();
    let collars = SERIALS.iter().fold(MemoryCollars::default(), |c, id| c.with_registered(id, &code_of(id)));
    let zones = MemoryZones::default();
    zones.0.lock().unwrap().insert("tokyo-owner".into(), "Asia/Tokyo".into());
    let readings = MemoryReadings::default();
    (DataApp::with_stores(edge, collars, readings, MemoryCounters::default(), zones, limits), tokens)
}

fn app() -> (App, Tokens) {
    app_with(ClaimLimits::default())
}

fn pet() -> Value {
    json!({"name": "Rex", "species": "dog", "weight_kg": 30})
}

async fn claim(app: &App, who: &str, collar: &str) -> (StatusCode, Value) {
    claim_with(app, who, collar, &code_of(collar).printed()).await
}

async fn claim_with(app: &App, who: &str, collar: &str, code: &str) -> (StatusCode, Value) {
    let body = json!({"collar_id": collar, "claim_code": code, "pet": pet()}).to_string();
    call(app, "POST", "/v1/collars", Some(who), Some(&body)).await
}

fn reading(collar: &str, ms: i64, hr: u16) -> String {
    json!({"collar_id": collar, "timestamp": format_ms(ms), "heart_rate": hr, "activity_level": 0,
           "location": {"type": "Point", "coordinates": [13.4, 52.5]}})
    .to_string()
}

#[tokio::test]
async fn a_claim_needs_the_printed_code_and_every_failure_looks_the_same() {
    let (app, t) = app();
    let (ada, bob) = (t.bearer("ada", SCOPES), t.bearer("bob", SCOPES));
    // Typed loosely: lower case, spaces for dashes.
    let typed = code_of("AB-123456").printed().to_lowercase().replace('-', " ");
    assert_eq!(claim_with(&app, &ada, "AB-123456", &typed).await.0, StatusCode::CREATED);
    assert_eq!(claim(&app, &ada, "AB-123456").await.0, StatusCode::OK, "claiming one's own collar again");
    let taken = claim(&app, &bob, "AB-123456").await;
    let wrong_code = claim_with(&app, &bob, "AB-100", &code_of("AB-200").printed()).await;
    let unregistered = claim_with(&app, &bob, "ZZ-999999", &code_of("AB-200").printed()).await;
    // The same status and error body (only the request id differs).
    let answer = |(status, body): &(StatusCode, Value)| (*status, body["error"].clone());
    assert_eq!(taken.0, StatusCode::NOT_FOUND);
    assert_eq!(answer(&taken), answer(&wrong_code), "a taken collar and a wrong code answer alike");
    assert_eq!(answer(&taken), answer(&unregistered), "and so does a serial nobody registered");
    assert_eq!(claim(&app, &ada, "ab-1").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = t.audit.0.lock().unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "collar_claimed").count(), 1);
    assert_eq!(audit.iter().filter(|e| e.action == "collar_claim" && e.outcome == "failure").count(), 3);
}

#[tokio::test]
async fn a_wrong_code_an_unregistered_serial_and_a_taken_collar_make_the_same_calls() {
    let (app, t) = app();
    claim(&app, &t.bearer("ada", SCOPES), "AB-123456").await;
    let bob = t.bearer("bob", SCOPES);
    let mut logs = Vec::new();
    for (collar, code) in [
        ("AB-123456", code_of("AB-123456").printed()), // taken, with its right code
        ("AB-100", code_of("AB-200").printed()),       // registered, the wrong code
        ("ZZ-999999", code_of("AB-200").printed()),    // never registered
    ] {
        app.collars.1.lock().unwrap().clear();
        app.counters.1.lock().unwrap().clear();
        assert_eq!(claim_with(&app, &bob, collar, &code).await.0, StatusCode::NOT_FOUND);
        logs.push((app.collars.1.lock().unwrap().clone(), app.counters.1.lock().unwrap().clone()));
    }
    assert_eq!(logs[0], logs[1], "taken vs wrong code");
    assert_eq!(logs[0], logs[2], "taken vs unregistered");
    assert_eq!(logs[0].0, ["registration", "count_of_owner", "claim"]);
    assert_eq!(logs[0].1, ["bump_counter", "bump_counter", "counter"]);
}

#[tokio::test]
async fn a_pet_claimed_without_a_zone_lives_in_its_owners_and_one_given_is_kept() {
    let (app, tokens) = app();
    let owner = tokens.bearer("tokyo-owner", SCOPES);
    let (status, body) = claim(&app, &owner, "AB-100").await;
    assert_eq!((status, body["pet"]["timezone"].as_str()), (StatusCode::CREATED, Some("Asia/Tokyo")), "{body}");
    let given = json!({"collar_id": "AB-200", "claim_code": code_of("AB-200").printed(),
                       "pet": {"name": "Rex", "species": "dog", "weight_kg": 30, "timezone": "Europe/Berlin"}});
    let (status, body) = call(&app, "POST", "/v1/collars", Some(&owner), Some(&given.to_string())).await;
    assert_eq!((status, body["pet"]["timezone"].as_str()), (StatusCode::CREATED, Some("Europe/Berlin")), "{body}");
    // An owner who set none: the pet has none either (UTC).
    let (status, body) = claim(&app, &tokens.bearer("ada", SCOPES), "AB-300").await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["pet"].get("timezone").is_none(), "{body}");
}

#[tokio::test]
async fn a_malformed_code_is_a_400_naming_the_field() {
    let (app, t) = app();
    let ada = t.bearer("ada", SCOPES);
    for bad in ["", "7KQ4-M2XD", "7KQ4-M2XD-9HTR-B5U8"] {
        let (status, body) = claim_with(&app, &ada, "AB-100", bad).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_claim_code")));
        assert!(body["error"]["message"].as_str().unwrap().contains("claim_code"), "{body}");
    }
    // A one-character typo is caught by the check character before any lookup.
    let mut typo: Vec<char> = code_of("AB-100").printed().chars().collect();
    typo[0] = if typo[0] == '7' { '8' } else { '7' };
    let (status, _) = claim_with(&app, &ada, "AB-100", &typo.iter().collect::<String>()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn guessing_is_locked_out_per_serial_and_per_account_with_retry_after() {
    let limits = ClaimLimits { attempts_per_collar: 3, attempts_per_account: 4, ..ClaimLimits::default() };
    let (app, t) = app_with(limits);
    let mallory = t.bearer("mallory", SCOPES);
    let wrong = code_of("AB-400").printed();
    for _ in 0..3 {
        assert_eq!(claim_with(&app, &mallory, "AB-100", &wrong).await.0, StatusCode::NOT_FOUND);
    }
    let (status, body) = claim_with(&app, &mallory, "AB-100", &wrong).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_requests")));
    // The serial is locked for everyone this window, the right code included.
    let ada = t.bearer("ada", SCOPES);
    assert_eq!(claim(&app, &ada, "AB-100").await.0, StatusCode::TOO_MANY_REQUESTS);
    // The account, past its own limit, is locked on any serial.
    assert_eq!(claim_with(&app, &mallory, "AB-200", &wrong).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(claim(&app, &ada, "AB-200").await.0, StatusCode::CREATED);
    assert!(t.audit.0.lock().unwrap().iter().any(|e| e.outcome == "locked_out"));
}

#[tokio::test]
async fn the_collars_per_account_and_claims_per_hour_quotas_answer_403_and_429() {
    let (app, t) = app_with(ClaimLimits { collars_per_account: 2, ..ClaimLimits::default() });
    let ada = t.bearer("ada", SCOPES);
    assert_eq!(claim(&app, &ada, "AB-100").await.0, StatusCode::CREATED);
    assert_eq!(claim(&app, &ada, "AB-200").await.0, StatusCode::CREATED);
    let (status, body) = claim(&app, &ada, "AB-300").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("at most 2"));

    let (app, t) = app_with(ClaimLimits { claims_per_hour: 1, ..ClaimLimits::default() });
    let bob = t.bearer("bob", SCOPES);
    assert_eq!(claim(&app, &bob, "AB-100").await.0, StatusCode::CREATED);
    assert_eq!(claim(&app, &bob, "AB-200").await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_second_hand_collar_shows_its_new_owner_nothing_of_the_previous_one() {
    let (app, t) = app();
    let (ada, bob) = (t.bearer("ada", SCOPES), t.bearer("bob", SCOPES));
    let now = chrono::Utc::now().timestamp_millis();
    claim(&app, &ada, "AB-123456").await;
    // The first owner gets what the collar buffered before the claim.
    let buffered = reading("AB-123456", now - 2 * 3_600_000, 70);
    let (status, report) = call(&app, "POST", "/v1/ingest", Some(&ada), Some(&buffered)).await;
    assert_eq!((status, report["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{report}");
    call(&app, "POST", "/v1/ingest", Some(&ada), Some(&reading("AB-123456", now - 1_000, 88))).await;
    assert_eq!(call(&app, "DELETE", "/v1/collars/AB-123456", Some(&ada), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(&app, "GET", "/v1/collars/AB-123456", Some(&ada), None).await.0, StatusCode::NOT_FOUND);

    assert_eq!(claim(&app, &bob, "AB-123456").await.0, StatusCode::CREATED, "the printed code again");
    // Realtime and the fleet status: nothing of ada's readings.
    let path = "/v1/realtime?collar_id=AB-123456";
    assert_eq!(call(&app, "GET", path, Some(&bob), None).await.0, StatusCode::NOT_FOUND);
    let (_, collar) = call(&app, "GET", "/v1/collars/AB-123456", Some(&bob), None).await;
    assert!(collar["last_seen_at"].is_null(), "{collar}");
    // Readings timed before bob's claim are refused, not silently invisible; after it they count.
    let (status, body) =
        call(&app, "POST", "/v1/ingest", Some(&bob), Some(&reading("AB-123456", now - 60_000, 90))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("before_claim")));
    let later = chrono::Utc::now().timestamp_millis() + 1_000;
    let (status, report) = call(&app, "POST", "/v1/ingest", Some(&bob), Some(&reading("AB-123456", later, 91))).await;
    assert_eq!((status, report["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{report}");
    let (_, latest) = call(&app, "GET", path, Some(&bob), None).await;
    assert_eq!(latest["heart_rate"], 91);
}

#[tokio::test]
async fn another_owners_collar_is_a_404_like_a_missing_one_on_every_collar_route() {
    let (app, t) = app();
    let (ada, bob) = (t.bearer("ada", SCOPES), t.bearer("bob", SCOPES));
    claim(&app, &ada, "AB-123456").await;
    for (method, path, body) in [
        ("GET", "/v1/collars/AB-123456", None),
        ("PATCH", "/v1/collars/AB-123456", Some(json!({"pet": {"name": "Max"}}).to_string())),
        ("DELETE", "/v1/collars/AB-123456", None),
        ("GET", "/v1/realtime?collar_id=AB-123456", None),
        ("POST", "/v1/ingest", Some(reading("AB-123456", chrono::Utc::now().timestamp_millis(), 80))),
    ] {
        let theirs = call(&app, method, path, Some(&bob), body.as_deref()).await;
        let missing = path.replace("AB-123456", "ZZ-999999");
        let body = body.map(|b| b.replace("AB-123456", "ZZ-999999"));
        let unknown = call(&app, method, &missing, Some(&bob), body.as_deref()).await;
        assert_eq!(theirs.0, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!((theirs.0, &theirs.1["error"]), (unknown.0, &unknown.1["error"]), "{method} {path}");
    }
    assert_eq!(call(&app, "GET", "/v1/collars/AB-123456", Some(&ada), None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_patch_merges_the_profile_and_validates_the_result() {
    let (app, t) = app();
    let ada = t.bearer("ada", SCOPES);
    claim(&app, &ada, "AB-123456").await;
    let patch = json!({"pet": {"weight_kg": 31.5, "breed": "Collie"}}).to_string();
    let (status, body) = call(&app, "PATCH", "/v1/collars/AB-123456", Some(&ada), Some(&patch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["pet"]["name"].as_str(), body["pet"]["weight_kg"].as_f64()), (Some("Rex"), Some(31.5)));
    let bad = json!({"pet": {"weight_kg": 500}}).to_string();
    let (status, body) = call(&app, "PATCH", "/v1/collars/AB-123456", Some(&ada), Some(&bad)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_pet")));
}

#[tokio::test]
async fn realtime_shows_the_newest_reading() {
    let (app, t) = app();
    let ada = t.bearer("ada", SCOPES);
    claim(&app, &ada, "AB-123456").await;
    let now = chrono::Utc::now().timestamp_millis();
    let path = "/v1/realtime?collar_id=AB-123456";
    assert_eq!(call(&app, "GET", path, Some(&ada), None).await.0, StatusCode::NOT_FOUND, "no reading yet");
    let batch = json!({"readings": [
        serde_json::from_str::<Value>(&reading("AB-123456", now - 2_000, 81)).unwrap(),
        serde_json::from_str::<Value>(&reading("AB-123456", now - 1_000, 82)).unwrap(),
    ]});
    call(&app, "POST", "/v1/ingest", Some(&ada), Some(&batch.to_string())).await;
    let (status, latest) = call(&app, "GET", path, Some(&ada), None).await;
    assert_eq!((status, latest["heart_rate"].as_u64()), (StatusCode::OK, Some(82)));
    assert_eq!(latest["timestamp"].as_str(), Some(format_ms(now - 1_000).as_str()));
}

#[tokio::test]
async fn a_released_collar_can_be_claimed_by_the_next_owner_and_the_list_pages() {
    let (app, t) = app();
    let (ada, bob) = (t.bearer("ada", SCOPES), t.bearer("bob", SCOPES));
    for id in ["AB-100", "AB-200", "AB-300"] {
        claim(&app, &ada, id).await;
    }
    let (status, page) = call(&app, "GET", "/v1/collars?limit=2", Some(&ada), None).await;
    assert_eq!((status, page["collars"].as_array().unwrap().len()), (StatusCode::OK, 2));
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let (_, rest) = call(&app, "GET", &format!("/v1/collars?limit=2&cursor={cursor}"), Some(&ada), None).await;
    assert_eq!(rest["collars"][0]["collar_id"], "AB-300");
    assert_eq!(call(&app, "DELETE", "/v1/collars/AB-200", Some(&ada), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(claim(&app, &bob, "AB-200").await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn collar_routes_refuse_an_api_keys_scope_set_and_unknown_routes_are_404_or_405() {
    let (app, t) = app();
    let reader = t.bearer("ada", &["readings:read"]);
    assert_eq!(claim(&app, &reader, "AB-123456").await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, "PUT", "/v1/collars", Some(&reader), None).await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(call(&app, "GET", "/v1/nothing", Some(&reader), None).await.0, StatusCode::NOT_FOUND);
}
