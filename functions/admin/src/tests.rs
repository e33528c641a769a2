//! The operators' routes over in-memory stores (no AWS): codes shown once and stored hashed,
//! existing serials unchanged, IoT identities on request, resets, and the `admin` scope.

use std::sync::Mutex;

use lambda_http::http::StatusCode;
use petty_shared::api::IotIdentity;
use petty_shared::claim_code::ClaimCode;
use petty_shared::stores::CollarStore;
use petty_shared::testing::{MemoryApiKeys, MemoryAudit, MemoryCollars, MemorySecrets, Tokens, call, verifier};
use serde_json::{Value, json};

use super::*;

/// Device identities made up in memory; `fail` makes every creation fail.
#[derive(Default)]
struct FakeDevices {
    made: Mutex<Vec<String>>,
    fail: bool,
}

impl DeviceRegistry for FakeDevices {
    async fn create_identity(&self, thing_name: &str) -> Result<IotIdentity, String> {
        if self.fail {
            return Err("CreateThing: throttled".into());
        }
        self.made.lock().unwrap().push(thing_name.to_owned());
        Ok(IotIdentity {
            thing_name: thing_name.into(),
            certificate_arn: format!("arn:aws:iot:us-east-1:123456789012:cert/{thing_name}"),
            certificate_pem: "-----BEGIN CERTIFICATE-----".into(),
            private_key: format!("key of {thing_name}, made up for the test"),
        })
    }
}

type App = AdminApp<MemorySecrets, MemoryCollars, FakeDevices, MemoryAudit, MemoryApiKeys>;

fn app(devices: FakeDevices) -> (App, Tokens) {
    let (verifier, tokens) = verifier();
    (AdminApp::with_stores(verifier, MemoryCollars::default(), devices, MemoryAudit::default()), tokens)
}

async fn register(app: &App, who: &str, collars: Value) -> (StatusCode, Value) {
    call(app, "POST", "/v1/admin/collars", Some(who), Some(&json!({ "collars": collars }).to_string())).await
}

#[tokio::test]
async fn new_serials_get_a_code_once_existing_ones_change_nothing() {
    let (app, t) = app(FakeDevices::default());
    let op = t.bearer("op", &["admin"]);
    let (status, first) = register(&app, &op, json!([{"collar_id": "AB-123456"}, {"collar_id": "AB-000002"}])).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let code = ClaimCode::parse(first["collars"][0]["claim_code"].as_str().unwrap()).unwrap();
    assert_eq!(first["collars"][0]["status"], "registered");
    // Only the hash is stored, and it is the printed code's.
    let reg = app.registry.registration("AB-123456").await.unwrap().unwrap();
    assert!(code.matches(reg.claim_code_hash.as_deref().unwrap()));
    let (_, again) = register(&app, &op, json!([{"collar_id": "AB-123456"}, {"collar_id": "AB-000003"}])).await;
    assert_eq!(again["collars"][0], json!({"collar_id": "AB-123456", "status": "exists"}), "no code shown twice");
    assert_eq!(again["collars"][1]["status"], "registered");
    let still = app.registry.registration("AB-123456").await.unwrap().unwrap();
    assert_eq!(still.claim_code_hash, reg.claim_code_hash, "nothing changed");
}

#[tokio::test]
async fn iot_collars_get_their_thing_certificate_and_key_once() {
    let (app, t) = app(FakeDevices::default());
    let op = t.bearer("op", &["admin"]);
    let (_, body) =
        register(&app, &op, json!([{"collar_id": "AB-123456", "iot": true}, {"collar_id": "AB-000002"}])).await;
    assert_eq!(body["collars"][0]["iot"]["thing_name"], "AB-123456");
    assert!(body["collars"][0]["iot"]["private_key"].as_str().unwrap().contains("made up for the test"));
    assert!(body["collars"][1].get("iot").is_none());
    assert_eq!(*app.devices.made.lock().unwrap(), vec!["AB-123456"]);
    let reg = app.registry.registration("AB-123456").await.unwrap().unwrap();
    assert_eq!(reg.iot_thing.as_deref(), Some("AB-123456"));

    let (app, t) = self::app(FakeDevices { fail: true, ..FakeDevices::default() });
    let (status, body) =
        register(&app, &t.bearer("op", &["admin"]), json!([{"collar_id": "AB-1234", "iot": true}])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

#[tokio::test]
async fn a_reset_code_replaces_the_old_one_and_everything_needs_the_admin_scope() {
    let (app, t) = app(FakeDevices::default());
    let op = t.bearer("op", &["admin"]);
    let (_, first) = register(&app, &op, json!([{"collar_id": "AB-123456"}])).await;
    let old = ClaimCode::parse(first["collars"][0]["claim_code"].as_str().unwrap()).unwrap();
    let (status, reset) = call(&app, "POST", "/v1/admin/collars/AB-123456/claim-code", Some(&op), None).await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    let new = ClaimCode::parse(reset["claim_code"].as_str().unwrap()).unwrap();
    let hash = app.registry.registration("AB-123456").await.unwrap().unwrap().claim_code_hash.unwrap();
    assert!(new.matches(&hash) && !old.matches(&hash));
    assert_eq!(
        call(&app, "POST", "/v1/admin/collars/ZZ-999999/claim-code", Some(&op), None).await.0,
        StatusCode::NOT_FOUND
    );
    let owner = t.bearer("ada", &["collars:manage"]);
    assert_eq!(register(&app, &owner, json!([{"collar_id": "AB-000009"}])).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&app, "POST", "/v1/admin/collars/AB-123456/claim-code", Some(&owner), None).await.0,
        StatusCode::FORBIDDEN
    );
    let audit = app.audit.0.lock().unwrap();
    assert!(audit.iter().any(|e| e.action == "claim_code_reset" && e.user_id.as_deref() == Some("op")));
}

#[tokio::test]
async fn bad_batches_are_refused_before_anything_is_written() {
    let (app, t) = app(FakeDevices::default());
    let op = t.bearer("op", &["admin"]);
    let too_many: Vec<Value> = (0..501).map(|i| json!({"collar_id": format!("AB-{i:06}")})).collect();
    assert_eq!(register(&app, &op, json!(too_many)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(register(&app, &op, json!([])).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = register(&app, &op, json!([{"collar_id": "AB-1"}])).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_collar_id")));
    let dup = json!([{"collar_id": "AB-123"}, {"collar_id": "AB-123"}]);
    assert_eq!(register(&app, &op, dup).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.registry.0.lock().unwrap().is_empty());
}
