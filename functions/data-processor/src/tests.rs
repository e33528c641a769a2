//! The data processor's rules over in-memory stores (no AWS): claims, ownership, pet updates,
//! release, realtime visibility and ingestion's ownership check. The DynamoDB adapters are
//! tested against moto in `tests/integration/data.rs`.

use lambda_http::http::StatusCode;
use petty_shared::api::format_ms;
use petty_shared::testing::{
    MemoryApiKeys, MemoryAudit, MemoryCollars, MemoryReadings, MemorySecrets, Tokens, call, edge,
};
use serde_json::{Value, json};

use super::*;

type App = DataApp<MemorySecrets, MemoryCollars, MemoryReadings, MemoryApiKeys, MemoryAudit>;

const SCOPES: &[&str] = &["collars:manage", "readings:read", "readings:write"];

fn app() -> (App, Tokens) {
    let (edge, tokens) = edge();
    (DataApp::with_stores(edge, MemoryCollars::default(), MemoryReadings::default()), tokens)
}

fn pet() -> Value {
    json!({"name": "Rex", "species": "dog", "weight_kg": 30})
}

async fn claim(app: &App, who: &str, collar: &str) -> (StatusCode, Value) {
    let body = json!({"collar_id": collar, "pet": pet()}).to_string();
    call(app, "POST", "/v1/collars", Some(who), Some(&body)).await
}

fn reading(collar: &str, ms: i64, hr: u16) -> String {
    json!({"collar_id": collar, "timestamp": format_ms(ms), "heart_rate": hr, "activity_level": 0,
           "location": {"type": "Point", "coordinates": [13.4, 52.5]}})
    .to_string()
}

#[tokio::test]
async fn a_claim_is_the_owners_once_and_another_owner_gets_a_conflict() {
    let (app, t) = app();
    let (ada, bob) = (t.bearer("ada", SCOPES), t.bearer("bob", SCOPES));
    assert_eq!(claim(&app, &ada, "AB-123456").await.0, StatusCode::CREATED);
    assert_eq!(claim(&app, &ada, "AB-123456").await.0, StatusCode::OK, "claiming one's own collar again");
    let (status, body) = claim(&app, &bob, "AB-123456").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    assert_eq!(claim(&app, &ada, "ab-1").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.audit.0.lock().unwrap().iter().filter(|e| e.action == "collar_claimed").count(), 1);
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
async fn realtime_shows_the_newest_reading_since_the_claim_and_nothing_before() {
    let (app, t) = app();
    let ada = t.bearer("ada", SCOPES);
    claim(&app, &ada, "AB-123456").await;
    let now = chrono::Utc::now().timestamp_millis();
    let path = "/v1/realtime?collar_id=AB-123456";
    // A reading from well before the claim (a previous owner's) is stored but never shown.
    let old = reading("AB-123456", now - 3_600_000, 70);
    let (status, report) = call(&app, "POST", "/v1/ingest", Some(&ada), Some(&old)).await;
    assert_eq!((status, report["accepted"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(call(&app, "GET", path, Some(&ada), None).await.0, StatusCode::NOT_FOUND);
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
