//! The owner's journey against the running local stack (`make dev`'s: moto, every function
//! behind `cargo lambda watch`), over HTTP as an app meets it. Ignored in the plain test run:
//! `tools/e2e.sh` starts a stack and runs these with `--run-ignored only`.

use std::time::Duration;

use petty_behaviour::Sample;
use petty_behaviour::segment::{DAY_MS, day_floor, normalize};
use petty_behaviour::simulator::{profiles, reading_json, simulate_day};
use petty_shared::api::format_ms;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The stack `tools/stack.sh` started: its HTTP endpoint and the functions' environment.
struct LocalStack {
    api: String,
    env: petty_shared::Env,
    http: reqwest::Client,
}

/// Who calls: nobody, a bearer token or a collar's API key.
#[derive(Clone)]
enum Caller {
    Anonymous,
    Bearer(String),
    ApiKey(String),
}

impl LocalStack {
    fn from_env() -> Self {
        let api = std::env::var("PETTY_API_URL").expect("PETTY_API_URL: run through tools/e2e.sh (make e2e)");
        let env_file = std::env::var("PETTY_STACK_ENV").expect("PETTY_STACK_ENV: run through tools/e2e.sh");
        let text = std::fs::read_to_string(env_file).unwrap();
        let pairs = text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned()));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        Self { api, env: petty_shared::Env::from_pairs(pairs), http }
    }

    /// One request; returns the status and the JSON body (Null when empty). Every error
    /// answer must carry a request id, whatever the route.
    async fn call(&self, method: &str, path: &str, who: &Caller, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", self.api));
        req = match who {
            Caller::Anonymous => req,
            Caller::Bearer(token) => req.bearer_auth(token),
            Caller::ApiKey(key) => req.header("x-api-key", key),
        };
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect(&text) };
        if status.is_client_error() || status.is_server_error() {
            assert!(value["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{method} {path}: {value}");
            assert!(value["error"]["code"].is_string(), "{method} {path}: {value}");
        }
        (status, value)
    }

    async fn register_and_login(&self, email: &str) -> (Caller, String) {
        let creds = json!({"email": email, "password": petty_tests::apps::PASSWORD});
        let registration = json!({"email": email, "password": petty_tests::apps::PASSWORD, "name": "E2E"});
        let (status, reply) = self.call("POST", "/v1/auth/register", &Caller::Anonymous, Some(registration)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        let (status, tokens) = self.call("POST", "/v1/auth/login", &Caller::Anonymous, Some(creds)).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = Caller::Bearer(tokens["access_token"].as_str().unwrap().to_owned());
        (access, tokens["refresh_token"].as_str().unwrap().to_owned())
    }

    /// The token of the newest mail to `email` (moto's SES inbox, as a person copies it).
    async fn token_for(&self, email: &str) -> String {
        let moto = std::env::var("PETTY_MOTO_URL").unwrap();
        let data: Value =
            self.http.get(format!("{moto}/moto-api/data.json")).send().await.unwrap().json().await.unwrap();
        let body = data["ses"]["Message"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["destinations"]["ToAddresses"][0] == email)
            .and_then(|m| m["body"].as_str())
            .unwrap()
            .to_owned();
        body.split("Token: ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
    }

    /// A registered account whose address is verified, logged in.
    async fn verified(&self, email: &str) -> Caller {
        let (who, _) = self.register_and_login(email).await;
        assert_eq!(self.call("POST", "/v1/auth/verify-email", &who, Some(json!({}))).await.0, StatusCode::ACCEPTED);
        let token = self.token_for(email).await;
        let (status, me) =
            self.call("POST", "/v1/auth/verify-email/confirm", &Caller::Anonymous, Some(json!({"token": token}))).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        who
    }

    /// `email` invited by `owner` to `collar`'s household as `role`, joined with the token
    /// from their inbox.
    async fn join(&self, owner: &Caller, collar: &str, email: &str, role: &str) -> Caller {
        let who = self.verified(email).await;
        let invite = json!({"email": email, "role": role});
        let (status, reply) = self.call("POST", &format!("/v1/collars/{collar}/members"), owner, Some(invite)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        let token = self.token_for(email).await;
        let (status, joined) = self.call("POST", "/v1/invitations/accept", &who, Some(json!({"token": token}))).await;
        assert_eq!((status, joined["role"].as_str()), (StatusCode::OK, Some(role)), "{joined}");
        who
    }

    /// The stack's moto, for what only an operator's tools do (granting a scope, backdating).
    async fn moto(&self) -> aws_sdk_dynamodb::Client {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(std::env::var("PETTY_MOTO_URL").unwrap())
            .load()
            .await;
        petty_shared::aws::dynamodb(&sdk)
    }

    /// An operator: an account granted `admin` as `make admin` does, logged in again so its
    /// token carries the scope.
    async fn operator(&self, email: &str) -> Caller {
        self.register_and_login(email).await;
        let (_, me) = self.call("GET", "/v1/auth/me", &self.login(email).await, None).await;
        let user_id = me["user_id"].as_str().unwrap().to_owned();
        petty_tests::grant_scope(&self.moto().await, &self.env, &user_id, email, "admin").await;
        self.login(email).await
    }

    async fn login(&self, email: &str) -> Caller {
        let creds = json!({"email": email, "password": petty_tests::apps::PASSWORD});
        let (status, tokens) = self.call("POST", "/v1/auth/login", &Caller::Anonymous, Some(creds)).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        Caller::Bearer(tokens["access_token"].as_str().unwrap().to_owned())
    }

    /// Moves a claim back in time in moto, as if made then, so past simulated hours count
    /// (the API never lets a client backdate a claim).
    async fn backdate_claim(&self, collar: &str, claimed_at_ms: i64) {
        petty_tests::backdate_claim(&self.moto().await, &self.env, collar, claimed_at_ms).await;
    }
}

/// Every data route, with the owner's ids wherever the route takes one.
fn data_routes(collar: &str, event_id: &str, key_id: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let reading = reading_json(
        collar,
        &Sample { ts_ms: chrono::Utc::now().timestamp_millis(), heart_rate: 80, activity: 0, lat: 40.0, lon: -74.0 },
    );
    vec![
        ("GET", format!("/v1/collars/{collar}"), None),
        ("PATCH", format!("/v1/collars/{collar}"), Some(json!({"pet": {"name": "Mine now"}}))),
        ("DELETE", format!("/v1/collars/{collar}"), None),
        ("GET", format!("/v1/realtime?collar_id={collar}"), None),
        ("POST", "/v1/ingest".to_owned(), Some(json!({"readings": [reading]}))),
        ("GET", format!("/v1/pet-timeline?collar_id={collar}"), None),
        ("GET", format!("/v1/pet-plan?collar_id={collar}"), None),
        ("POST", "/v1/submit-feedback".to_owned(), Some(json!({"event_id": event_id, "user_feedback": "correct"}))),
        ("GET", format!("/v1/feedback?collar_id={collar}"), None),
        ("GET", format!("/v1/feedback/summary?collar_id={collar}"), None),
        ("DELETE", format!("/v1/api-keys/{key_id}"), None),
    ]
}

#[tokio::test]
#[ignore = "needs the local stack: tools/e2e.sh (make e2e)"]
async fn an_owner_from_registration_to_logout_against_the_local_stack() {
    let stack = LocalStack::from_env();
    let suffix = petty_tests::unique("e").to_lowercase();
    let collar = format!("EE-{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000);
    let (jo, refresh) = stack.register_and_login(&format!("jo-{suffix}@example.com")).await;

    // An operator registers the collar; Jo claims it with the printed code (moved back two
    // days: yesterday's simulated day is Jo's) and makes a key for it.
    let op = stack.operator(&format!("op-{suffix}@example.com")).await;
    let (status, registered) =
        stack.call("POST", "/v1/admin/collars", &op, Some(json!({"collars": [{"collar_id": collar}]}))).await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let code = registered["collars"][0]["claim_code"].as_str().unwrap().to_owned();
    let pet = json!({"name": "Biscuit", "species": "dog", "weight_kg": 18.0, "breed": "Beagle"});
    let wrong = json!({"collar_id": collar, "claim_code": "7KQ4-M2XD-9HTR-B5N8", "pet": pet});
    let (status, _) = stack.call("POST", "/v1/collars", &jo, Some(wrong)).await;
    assert!(matches!(status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST), "a wrong code: {status}");
    let claim = json!({"collar_id": collar, "claim_code": code, "pet": pet});
    let (status, claimed) = stack.call("POST", "/v1/collars", &jo, Some(claim)).await;
    assert_eq!(status, StatusCode::CREATED, "{claimed}");
    let yesterday = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    stack.backdate_claim(&collar, yesterday - DAY_MS).await;
    let scopes = json!({"name": "collar", "scopes": ["readings:write", "readings:read"], "collar_ids": [collar]});
    let (status, key) = stack.call("POST", "/v1/api-keys", &jo, Some(scopes)).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let collar_key = Caller::ApiKey(key["api_key"].as_str().unwrap().to_owned());
    let key_id = key["key_id"].as_str().unwrap().to_owned();

    // The collar sends its simulated day through the key, duplicates and out-of-order included;
    // every distinct reading is accepted once, and the resend of a batch is all duplicates.
    let day = simulate_day(&profiles()[0], 23, yesterday);
    let mut distinct = day.delivered.clone();
    normalize(&mut distinct);
    let (mut accepted, mut duplicates) = (0, 0);
    for chunk in day.delivered.chunks(500) {
        let body = json!({"readings": chunk.iter().map(|r| reading_json(&collar, r)).collect::<Vec<_>>()});
        let (status, report) = stack.call("POST", "/v1/ingest", &collar_key, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["rejected"], json!([]), "{report}");
        accepted += report["accepted"].as_u64().unwrap();
        duplicates += report["duplicates"].as_u64().unwrap();
    }
    assert_eq!(accepted as usize, distinct.len());
    assert_eq!((accepted + duplicates) as usize, day.delivered.len());
    let resend = json!({"readings": day.delivered[..50].iter().map(|r| reading_json(&collar, r)).collect::<Vec<_>>()});
    let (status, report) = stack.call("POST", "/v1/ingest", &collar_key, Some(resend)).await;
    assert_eq!(
        (status, report["accepted"].as_u64(), report["duplicates"].as_u64()),
        (StatusCode::OK, Some(0), Some(50))
    );

    // Realtime: the day's last reading.
    let (status, latest) = stack.call("GET", &format!("/v1/realtime?collar_id={collar}"), &collar_key, None).await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    let last = format_ms(distinct.last().unwrap().ts_ms);
    assert_eq!(latest["timestamp"].as_str().map(|t| &t[..19]), Some(&last[..19]), "{latest}");

    // Timeline of the morning: the pure computation's episodes, with their ids.
    let window =
        format!("collar_id={collar}&from={}&to={}", format_ms(yesterday), format_ms(yesterday + 6 * 3_600_000));
    let (status, timeline) = stack.call("GET", &format!("/v1/pet-timeline?{window}"), &jo, None).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let events = timeline["timeline"].as_array().unwrap();
    assert!(events.len() >= 3, "{timeline}");
    assert!(events.iter().all(|e| e["event_id"].as_str().unwrap().starts_with(&format!("{collar}."))));

    // Feedback on two events, then the summary and the timeline show it.
    let (first, second) = (events[0]["event_id"].as_str().unwrap(), events[1]["event_id"].as_str().unwrap());
    let corrected = if events[1]["behavior"] == "rest" { "deep_sleep" } else { "rest" };
    let verdicts = [
        json!({"event_id": first, "user_feedback": "correct"}),
        json!({"event_id": second, "user_feedback": "incorrect", "corrected_behavior": corrected}),
    ];
    for body in verdicts {
        let (status, receipt) = stack.call("POST", "/v1/submit-feedback", &jo, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{receipt}");
    }
    let (status, summary) = stack.call("GET", &format!("/v1/feedback/summary?collar_id={collar}"), &jo, None).await;
    assert_eq!(
        (status, summary["feedback_count"].as_u64(), summary["correct_share"].as_f64()),
        (StatusCode::OK, Some(2), Some(0.5)),
        "{summary}"
    );
    let (status, plan) = stack.call("GET", &format!("/v1/pet-plan?collar_id={collar}"), &jo, None).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let rer = plan["nutrition_plan"]["resting_energy_requirement"]["value"].as_f64();
    assert_eq!(rer, Some((70.0 * 18f64.powf(0.75)).round()), "RER of an 18 kg dog: {plan}");

    // A second owner: every route with Jo's ids is a 404, never a 200 or a 500, and Jo's
    // data is unchanged afterwards.
    // The account routes that take an id: Jo's session and Jo's export are a stranger's 404 too.
    let (status, export) = stack.call("POST", "/v1/auth/export", &jo, Some(json!({}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{export}");
    let export_path = format!("/v1/auth/export/{}", export["export_id"].as_str().unwrap());
    let (status, sessions) = stack.call("GET", "/v1/auth/sessions", &jo, None).await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    let session_path = format!("/v1/auth/sessions/{}", sessions["sessions"][0]["session_id"].as_str().unwrap());
    let (stranger, _) = stack.register_and_login(&format!("stranger-{suffix}@example.com")).await;
    let account_routes = [("GET", export_path.clone(), None), ("DELETE", session_path, None)];
    for (method, path, body) in data_routes(&collar, first, &key_id).into_iter().chain(account_routes) {
        let (status, reply) = stack.call(method, &path, &stranger, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {reply}");
    }
    let (status, theirs) = stack.call("GET", "/v1/auth/sessions", &stranger, None).await;
    assert_eq!((status, theirs["sessions"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "only its own");
    assert_eq!(stack.call("GET", &export_path, &jo, None).await.0, StatusCode::OK, "Jo's export is Jo's");
    // The operators' routes are not an owner's: a stranger and the owner alike get a 403.
    for who in [&stranger, &jo] {
        let register = json!({"collars": [{"collar_id": "EE-999999"}]});
        assert_eq!(stack.call("POST", "/v1/admin/collars", who, Some(register)).await.0, StatusCode::FORBIDDEN);
        let reset = format!("/v1/admin/collars/{collar}/claim-code");
        assert_eq!(stack.call("POST", &reset, who, None).await.0, StatusCode::FORBIDDEN);
    }
    // The stranger cannot claim Jo's collar, even with its printed code.
    let steal =
        json!({"collar_id": collar, "claim_code": code, "pet": {"name": "Mine", "species": "dog", "weight_kg": 9}});
    assert_eq!(stack.call("POST", "/v1/collars", &stranger, Some(steal)).await.0, StatusCode::NOT_FOUND);
    let (status, theirs) = stack.call("GET", "/v1/collars", &stranger, None).await;
    assert_eq!((status, theirs["collars"].clone()), (StatusCode::OK, json!([])));
    let (status, still) = stack.call("GET", &format!("/v1/collars/{collar}"), &jo, None).await;
    assert_eq!((status, still["pet"]["name"].as_str()), (StatusCode::OK, Some("Biscuit")), "{still}");
    let (status, keys) = stack.call("GET", "/v1/api-keys", &jo, None).await;
    assert_eq!(status, StatusCode::OK);
    let listed = keys.as_array().or(keys["api_keys"].as_array()).cloned().unwrap_or_default();
    assert!(listed.iter().any(|k| k["key_id"] == json!(key_id) && k["revoked"] != json!(true)), "{keys}");

    // A household: a caregiver and a viewer, each with the rights of the roles table on every
    // data route; members' refusals are 403s, the stranger's stay 404s.
    let caregiver = stack.join(&jo, &collar, &format!("care-{suffix}@example.com"), "caregiver").await;
    let viewer = stack.join(&jo, &collar, &format!("view-{suffix}@example.com"), "viewer").await;
    let (ok, created, forbidden, missing) =
        (StatusCode::OK, StatusCode::CREATED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND);
    // In the order of `data_routes`: collar get, patch, release, realtime, ingest, timeline,
    // plan, feedback, feedback list, summary, Jo's API key (an account's own: a 404 to all).
    let expected = [
        (&caregiver, "caregiver", [ok, ok, forbidden, ok, forbidden, ok, ok, created, ok, ok, missing]),
        (&viewer, "viewer", [ok, forbidden, forbidden, ok, forbidden, ok, ok, forbidden, ok, ok, missing]),
    ];
    for (who, role, statuses) in expected {
        for ((method, path, body), want) in data_routes(&collar, first, &key_id).into_iter().zip(statuses) {
            let (status, reply) = stack.call(method, &path, who, body).await;
            assert_eq!(status, want, "{role} {method} {path}: {reply}");
        }
        let (status, mine) = stack.call("GET", "/v1/collars", who, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (mine["collars"][0]["collar_id"].as_str(), mine["collars"][0]["role"].as_str()),
            (Some(collar.as_str()), Some(role))
        );
    }
    let (status, household) = stack.call("GET", &format!("/v1/collars/{collar}/members"), &viewer, None).await;
    assert_eq!((status, household["members"].as_array().map(Vec::len)), (StatusCode::OK, Some(3)), "{household}");
    assert!(household["members"].as_array().unwrap().iter().all(|m| m.get("email").is_none()), "{household}");
    for (method, path, body) in data_routes(&collar, first, &key_id) {
        assert_eq!(stack.call(method, &path, &stranger, body).await.0, StatusCode::NOT_FOUND, "{method} {path}");
    }
    // Removed, the viewer is a stranger again at the next request.
    let (_, me) = stack.call("GET", "/v1/auth/me", &viewer, None).await;
    let viewer_path = format!("/v1/collars/{collar}/members/{}", me["user_id"].as_str().unwrap());
    assert_eq!(stack.call("DELETE", &viewer_path, &jo, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(stack.call("GET", &format!("/v1/collars/{collar}"), &viewer, None).await.0, StatusCode::NOT_FOUND);

    // Refresh, log out: the old tokens are refused, access and refresh alike.
    let (status, renewed) =
        stack.call("POST", "/v1/auth/refresh", &Caller::Anonymous, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let jo2 = Caller::Bearer(renewed["access_token"].as_str().unwrap().to_owned());
    assert_eq!(stack.call("POST", "/v1/auth/logout", &jo2, None).await.0, StatusCode::NO_CONTENT);
    for token in [json!(refresh), renewed["refresh_token"].clone()] {
        let (status, _) =
            stack.call("POST", "/v1/auth/refresh", &Caller::Anonymous, Some(json!({"refresh_token": token}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(stack.call("GET", "/v1/auth/me", &jo, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(stack.call("GET", "/v1/auth/me", &jo2, None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
#[ignore = "needs the local stack: tools/e2e.sh (make e2e)"]
async fn an_escape_reaches_the_owners_webhook_and_inbox_against_the_local_stack() {
    use petty_tests::receiver::Receiver;
    let stack = LocalStack::from_env();
    let suffix = petty_tests::unique("n").to_lowercase();
    let collar = format!("EN-{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000);
    let email = format!("kim-{suffix}@example.com");
    let (kim, _) = stack.register_and_login(&email).await;
    // Alert e-mail goes to verified addresses only: kim confirms hers from the inbox.
    let (status, _) = stack.call("POST", "/v1/auth/verify-email", &kim, Some(json!({}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let moto = std::env::var("PETTY_MOTO_URL").unwrap();
    let data: Value = stack.http.get(format!("{moto}/moto-api/data.json")).send().await.unwrap().json().await.unwrap();
    let body = data["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["destinations"]["ToAddresses"][0] == email.as_str())
        .and_then(|m| m["body"].as_str())
        .unwrap()
        .to_owned();
    let token = body.split("Token: ").nth(1).unwrap().split_whitespace().next().unwrap();
    let (status, me) =
        stack.call("POST", "/v1/auth/verify-email/confirm", &Caller::Anonymous, Some(json!({"token": token}))).await;
    assert_eq!((status, me["email_verified"].as_bool()), (StatusCode::OK, Some(true)), "{me}");
    let op = stack.operator(&format!("op-{suffix}@example.com")).await;
    let (status, registered) =
        stack.call("POST", "/v1/admin/collars", &op, Some(json!({"collars": [{"collar_id": collar}]}))).await;
    assert_eq!(status, StatusCode::OK, "{registered}");
    let code = registered["collars"][0]["claim_code"].as_str().unwrap().to_owned();
    let pet = json!({"name": "Pip", "species": "dog", "weight_kg": 8.0});
    let (status, _) = stack
        .call("POST", "/v1/collars", &kim, Some(json!({"collar_id": collar, "claim_code": code, "pet": pet})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let scopes = json!({"name": "collar", "scopes": ["readings:write"], "collar_ids": [collar]});
    let (_, key) = stack.call("POST", "/v1/api-keys", &kim, Some(scopes)).await;
    let collar_key = Caller::ApiKey(key["api_key"].as_str().unwrap().to_owned());
    let zone = json!({"name": "Home", "center": [13.405, 52.52], "radius_m": 150});
    let (status, _) = stack.call("PUT", &format!("/v1/collars/{collar}/zones/home"), &kim, Some(zone)).await;
    assert_eq!(status, StatusCode::CREATED);
    let receiver = Receiver::start().await;
    let (status, hook) =
        stack.call("POST", "/v1/notifications/webhooks", &kim, Some(json!({"url": receiver.url, "name": "e2e"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let (_, listed) = stack.call("GET", "/v1/notifications/webhooks", &kim, None).await;
    assert!(listed.to_string().find(&secret).is_none(), "the secret is shown once");

    // Two fixes 400 m outside home: the escape, confirmed by the second.
    let now = chrono::Utc::now().timestamp_millis();
    let fix = |ms: i64| {
        json!({"collar_id": collar, "timestamp": format_ms(ms), "heart_rate": 90, "activity_level": 1,
        "location": {"type": "Point", "coordinates": [13.405, 52.5236]}, "accuracy_m": 5, "battery_pct": 80})
    };
    let (status, report) = stack
        .call("POST", "/v1/ingest", &collar_key, Some(json!({"readings": [fix(now - 20_000), fix(now - 10_000)]})))
        .await;
    assert_eq!((status, report["accepted"].as_u64()), (StatusCode::OK, Some(2)), "{report}");
    let accepted = std::time::Instant::now();
    let delivery = loop {
        if let Some(d) = receiver.received().into_iter().find(|r| r.json()["event"] == "alert.opened") {
            break d;
        }
        assert!(accepted.elapsed() < Duration::from_secs(60), "no webhook delivery within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("reading accepted -> webhook received: {} ms", accepted.elapsed().as_millis());
    let now_s = chrono::Utc::now().timestamp();
    assert!(petty_shared::webhook::verify_signature(
        &secret,
        &delivery.headers["petty-signature"],
        &delivery.body,
        now_s,
        300
    ));
    let body = delivery.json();
    assert_eq!(
        (body["alert"]["type"].as_str(), body["alert"]["collar_id"].as_str()),
        (Some("zone_exit"), Some(collar.as_str()))
    );
    let alert_id = body["alert"]["alert_id"].as_str().unwrap().to_owned();

    // The delivery log, and the e-mail in the local SES.
    let mut log = Value::Null;
    for _ in 0..100 {
        let (status, detail) = stack.call("GET", &format!("/v1/alerts/{alert_id}"), &kim, None).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        log = detail["deliveries"].clone();
        let done = |c: &str| log.as_array().unwrap().iter().any(|d| d["channel"] == c && d["status"] == "delivered");
        if done("webhook") && done("email") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.as_array().map(Vec::len), Some(2), "{log}");
    let moto = std::env::var("PETTY_MOTO_URL").unwrap();
    let data: Value = stack.http.get(format!("{moto}/moto-api/data.json")).send().await.unwrap().json().await.unwrap();
    let mails = data["ses"]["Message"].as_array().unwrap();
    let alert_mails = mails
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == email.as_str())
        .filter(|m| !m["subject"].as_str().unwrap_or_default().starts_with("Verify"));
    assert_eq!(alert_mails.count(), 1);
    // Another owner cannot read it.
    let (stranger, _) = stack.register_and_login(&format!("stranger-{suffix}@example.com")).await;
    assert_eq!(stack.call("GET", &format!("/v1/alerts/{alert_id}"), &stranger, None).await.0, StatusCode::NOT_FOUND);

    // The test route reaches the webhook through the delivery queue.
    let (status, queued) = stack.call("POST", "/v1/notifications/test", &kim, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let started = std::time::Instant::now();
    while !receiver.received().iter().any(|r| r.json()["event"] == "test") {
        assert!(started.elapsed() < Duration::from_secs(60), "no test delivery within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.received().iter().filter(|r| r.json()["event"] == "alert.opened").count(), 1, "once");
}
