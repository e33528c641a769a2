//! Households against moto: invitations through SES (the token from moto's inbox), every data
//! route checked for the owner, a caregiver, a viewer, an expired and a removed member and a
//! stranger, the collar list with roles, transfer and release ending the household.

use lambda_http::http::StatusCode;
use petty_alerts::{AlertsApp, AlertsConfig};
use petty_behaviour::Sample;
use petty_behaviour::segment::{DAY_MS, day_floor};
use petty_households::{HouseholdsApp, HouseholdsConfig, SesMailer};
use petty_shared::api::format_ms;
use petty_shared::config::FromEnv;
use petty_shared::dynamo::{n, s};
use petty_shared::secrets::SecretsManagerSource;
use petty_tests::apps::{Apps, Header, eager_cache};
use petty_tests::sdk;
use serde_json::{Value, json};

pub(crate) struct World {
    pub(crate) apps: Apps,
    households: HouseholdsApp<SecretsManagerSource>,
    alerts: AlertsApp<SecretsManagerSource>,
    ddb: aws_sdk_dynamodb::Client,
}

/// A person of a test: their bearer header, address and id.
#[derive(Clone)]
pub(crate) struct Person {
    pub(crate) who: Header,
    pub(crate) email: String,
    pub(crate) user_id: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `minutes` of readings every 10 s from `start_ms`, still or walking away.
fn stretch(start_ms: i64, minutes: i64, hr: u16, walking: bool) -> Vec<Sample> {
    (0..minutes * 6)
        .map(|i| Sample {
            ts_ms: start_ms + i * 10_000,
            heart_rate: hr,
            activity: u8::from(walking),
            lat: 40.0 + if walking { 0.000_117 * i as f64 } else { 0.0 },
            lon: -74.0,
        })
        .collect()
}

impl World {
    pub(crate) async fn new() -> Self {
        let apps = Apps::seed().await;
        let sdk = sdk().await;
        let ddb = petty_shared::aws::dynamodb(&sdk);
        let cfg = HouseholdsConfig::from_env(&apps.env).unwrap();
        let mailer = SesMailer { ses: aws_sdk_sesv2::Client::new(&sdk), sender: cfg.email_sender.clone() };
        let households = HouseholdsApp::new(&cfg, ddb.clone(), mailer, eager_cache(&sdk));
        let alerts = AlertsApp::new(&AlertsConfig::from_env(&apps.env).unwrap(), ddb.clone(), eager_cache(&sdk));
        Self { apps, households, alerts, ddb }
    }

    /// Any route, to the function that serves it.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        who: &Header,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let text = body.map(|b| b.to_string());
        let (h, a) = (&self.apps.http, [(who.0, who.1.as_str())]);
        let route = path.split('?').next().unwrap();
        let (status, json, _) = if route.ends_with("/members")
            || route.contains("/members/")
            || route.ends_with("/transfer")
            || route.starts_with("/v1/invitations")
        {
            petty_tests::call(h, &self.households, method, path, &a, text.as_deref()).await
        } else if route.contains("/zones") || route.contains("/alert-settings") || route.starts_with("/v1/alerts") {
            petty_tests::call(h, &self.alerts, method, path, &a, text.as_deref()).await
        } else if route.starts_with("/v1/pet-") {
            petty_tests::call(h, &self.apps.timeline, method, path, &a, text.as_deref()).await
        } else if route.contains("feedback") {
            petty_tests::call(h, &self.apps.feedback, method, path, &a, text.as_deref()).await
        } else if route.starts_with("/v1/auth") || route.starts_with("/v1/api-keys") {
            petty_tests::call(h, &self.apps.auth, method, path, &a, text.as_deref()).await
        } else {
            petty_tests::call(h, &self.apps.data, method, path, &a, text.as_deref()).await
        };
        (status, json)
    }

    /// A registered account with a verified address.
    pub(crate) async fn person(&self, tag: &str) -> Person {
        let email = format!("{}@example.com", petty_tests::unique(tag).to_lowercase());
        let who = self.apps.owner(&email).await;
        self.apps.verify_email(&who, &email).await;
        let (status, me) = self.call("GET", "/v1/auth/me", &who, None).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        Person { who, email, user_id: me["user_id"].as_str().unwrap().to_owned() }
    }

    /// `owner` claims `collar` (a day back) and gives it yesterday's readings: an hour still,
    /// a 20-minute walk, half an hour still.
    pub(crate) async fn owner_with_collar(&self, tag: &str, collar: &str) -> Person {
        let owner = self.person(tag).await;
        let yesterday = day_floor(now_ms()) - DAY_MS;
        let pet = json!({"name": "Rex", "species": "dog", "weight_kg": 20});
        self.apps.claim_at(&owner.who, collar, pet, yesterday - DAY_MS).await;
        let mut day = stretch(yesterday, 60, 80, false);
        day.extend(stretch(yesterday + 60 * 60_000, 20, 110, true));
        day.extend(stretch(yesterday + 80 * 60_000, 30, 80, false));
        day.extend(stretch(now_ms() - 60_000, 1, 80, false));
        self.apps.ingest(&owner.who, collar, &day).await;
        owner
    }

    /// Invites `email` as `role`; the invitation's answer.
    pub(crate) async fn invite(
        &self,
        owner: &Person,
        collar: &str,
        email: &str,
        role: &str,
        until: Option<String>,
    ) -> (StatusCode, Value) {
        let mut body = json!({"email": email, "role": role});
        if let Some(t) = until {
            body["expires_at"] = json!(t);
        }
        self.call("POST", &format!("/v1/collars/{collar}/members"), &owner.who, Some(body)).await
    }

    /// `member` accepts the newest invitation mailed to them.
    pub(crate) async fn accept(&self, member: &Person) -> (StatusCode, Value) {
        let token = petty_tests::token_from_inbox(&member.email, "shared").await;
        self.call("POST", "/v1/invitations/accept", &member.who, Some(json!({"token": token}))).await
    }

    /// `who` accepts with `token`.
    async fn accept_token(&self, who: &Person, token: &str) -> (StatusCode, Value) {
        self.call("POST", "/v1/invitations/accept", &who.who, Some(json!({"token": token}))).await
    }

    /// A person invited and joined as `role`.
    pub(crate) async fn member(&self, owner: &Person, collar: &str, tag: &str, role: &str) -> Person {
        let m = self.person(tag).await;
        let (status, body) = self.invite(owner, collar, &m.email, role, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = self.accept(&m).await;
        assert_eq!((status, body["role"].as_str()), (StatusCode::OK, Some(role)), "{body}");
        m
    }

    /// Moves a membership's end into the past (as if its week were over; TTL has not run).
    async fn expire(&self, collar: &str, user_id: &str) {
        let past = now_ms() / 1000 - 60;
        self.ddb
            .update_item()
            .table_name(self.apps.env.required("MEMBERS_TABLE").unwrap())
            .key("pk", s(format!("collar#{collar}")))
            .key("sk", s(format!("member#{user_id}")))
            .update_expression("SET ends_at = :p, expires_at = :p")
            .expression_attribute_values(":p", n(past))
            .send()
            .await
            .unwrap();
    }

    /// The first event of `behavior` the timeline shows `who` yesterday.
    async fn event(&self, who: &Header, collar: &str, behavior: &str) -> String {
        let day = day_floor(now_ms()) - DAY_MS;
        let path = format!(
            "/v1/pet-timeline?collar_id={collar}&from={}&to={}&limit=500",
            format_ms(day),
            format_ms(day + DAY_MS)
        );
        let (status, body) = self.call("GET", &path, who, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let events = body["timeline"].as_array().unwrap();
        events.iter().find(|e| e["behavior"] == behavior).unwrap_or_else(|| panic!("no {behavior}: {body}"))["event_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A data route and the right it needs: `(method, path, body, need, status when allowed)`.
type RouteCase = (&'static str, String, Option<Value>, &'static str, StatusCode);

fn routes(collar: &str, walk: &str, zone: &str) -> Vec<RouteCase> {
    let ok = StatusCode::OK;
    let c = collar;
    let reading = json!({"collar_id": c, "timestamp": format_ms(now_ms() - 5_000), "heart_rate": 80,
        "activity_level": 0, "location": {"type": "Point", "coordinates": [-74.0, 40.0]}});
    vec![
        ("GET", format!("/v1/collars/{c}"), None, "read", ok),
        ("GET", format!("/v1/realtime?collar_id={c}"), None, "read", ok),
        ("GET", format!("/v1/pet-timeline?collar_id={c}"), None, "read", ok),
        ("GET", format!("/v1/pet-plan?collar_id={c}"), None, "read", ok),
        ("GET", format!("/v1/feedback?collar_id={c}"), None, "read", ok),
        ("GET", format!("/v1/feedback/summary?collar_id={c}"), None, "read", ok),
        ("GET", format!("/v1/collars/{c}/zones"), None, "read", ok),
        ("GET", format!("/v1/collars/{c}/alert-settings"), None, "read", ok),
        ("GET", format!("/v1/alerts?collar_id={c}"), None, "read", ok),
        ("GET", format!("/v1/collars/{c}/members"), None, "read", ok),
        (
            "POST",
            "/v1/submit-feedback".into(),
            Some(json!({"event_id": walk, "user_feedback": "correct"})),
            "feedback",
            StatusCode::CREATED,
        ),
        (
            "PUT",
            format!("/v1/collars/{c}/zones/{zone}"),
            Some(json!({"name": "Park", "center": [-74.0, 40.0], "radius_m": 200})),
            "manage-alerts",
            StatusCode::CREATED,
        ),
        ("DELETE", format!("/v1/collars/{c}/zones/{zone}"), None, "manage-alerts", StatusCode::NO_CONTENT),
        ("PUT", format!("/v1/collars/{c}/alert-settings"), Some(json!({})), "manage-alerts", ok),
        ("PATCH", format!("/v1/collars/{c}"), Some(json!({"pet": {"weight_kg": 21}})), "manage-alerts", ok),
        ("POST", "/v1/ingest".into(), Some(json!({"readings": [reading]})), "manage-members", ok),
        (
            "POST",
            format!("/v1/collars/{c}/members"),
            Some(json!({"email": "someone@example.com", "role": "viewer"})),
            "manage-members",
            StatusCode::CREATED,
        ),
    ]
}

fn allowed(role: &str, need: &str) -> bool {
    match role {
        "owner" => true,
        "caregiver" => need != "manage-members",
        "viewer" => need == "read",
        _ => false,
    }
}

#[tokio::test]
async fn every_data_route_answers_each_role_by_the_roles_table() {
    let w = World::new().await;
    let collar = "HH-000001";
    let owner = w.owner_with_collar("hh-owner", collar).await;
    let caregiver = w.member(&owner, collar, "hh-care", "caregiver").await;
    let viewer = w.member(&owner, collar, "hh-view", "viewer").await;
    let expired = w.member(&owner, collar, "hh-sitter", "caregiver").await;
    let removed = w.member(&owner, collar, "hh-gone", "viewer").await;
    let stranger = w.person("hh-stranger").await;
    w.expire(collar, &expired.user_id).await;
    let path = format!("/v1/collars/{collar}/members/{}", removed.user_id);
    assert_eq!(w.call("DELETE", &path, &owner.who, None).await.0, StatusCode::NO_CONTENT);
    let walk = w.event(&owner.who, collar, "walk").await;

    let people = [
        ("owner", &owner),
        ("caregiver", &caregiver),
        ("viewer", &viewer),
        ("expired", &expired),
        ("removed", &removed),
        ("stranger", &stranger),
    ];
    let mut checked = 0;
    for (role, p) in people {
        for (method, path, body, need, ok) in routes(collar, &walk, &format!("z-{role}")) {
            let (status, reply) = w.call(method, &path, &p.who, body).await;
            let want = if allowed(role, need) {
                ok
            } else if ["caregiver", "viewer"].contains(&role) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, want, "{role} {method} {path}: {reply}");
            if want == StatusCode::NOT_FOUND && path.starts_with("/v1/collars/") && !path.contains("/zones/") {
                assert_eq!(
                    reply["error"]["message"], "no such collar",
                    "{role} {method} {path}: a stranger learns nothing"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 6 * 17);

    // The owner-only routes, refused to members (403) and strangers (404) before any work.
    for (role, p) in &people[1..] {
        let want = if ["caregiver", "viewer"].contains(role) { StatusCode::FORBIDDEN } else { StatusCode::NOT_FOUND };
        let body = json!({"user_id": caregiver.user_id});
        let transfer = w.call("POST", &format!("/v1/collars/{collar}/transfer"), &p.who, Some(body)).await;
        let release = w.call("DELETE", &format!("/v1/collars/{collar}"), &p.who, None).await;
        assert_eq!((transfer.0, release.0), (want, want), "{role}: {transfer:?} {release:?}");
    }
    // A member's own API key never reaches the shared collar; the owner's does.
    let key = w.apps.api_key(&caregiver.who, &["readings:read"], &[]).await;
    let realtime = format!("/v1/realtime?collar_id={collar}");
    assert_eq!(w.call("GET", &realtime, &key, None).await.0, StatusCode::NOT_FOUND);
    let key = w.apps.api_key(&owner.who, &["readings:read"], &[collar]).await;
    assert_eq!(w.call("GET", &realtime, &key, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn members_see_the_household_and_their_collars_with_their_role() {
    let w = World::new().await;
    let collar = "HH-000002";
    let owner = w.owner_with_collar("hh-owner", collar).await;
    let caregiver = w.member(&owner, collar, "hh-care", "caregiver").await;
    let until = format_ms(now_ms() + 7 * DAY_MS);
    let sitter = w.person("hh-sitter").await;
    let (status, inv) = w.invite(&owner, collar, &sitter.email, "viewer", Some(until.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!((inv["role"].as_str(), inv["email"].as_str()), (Some("viewer"), Some(sitter.email.as_str())));
    assert!(w.accept(&sitter).await.0.is_success());

    let path = format!("/v1/collars/{collar}/members");
    let (status, list) = w.call("GET", &path, &owner.who, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let members = list["members"].as_array().unwrap();
    let roles: Vec<(&str, &str)> =
        members.iter().map(|m| (m["user_id"].as_str().unwrap(), m["role"].as_str().unwrap())).collect();
    assert_eq!(
        roles,
        vec![
            (owner.user_id.as_str(), "owner"),
            (caregiver.user_id.as_str(), "caregiver"),
            (sitter.user_id.as_str(), "viewer")
        ]
    );
    assert!(members.iter().all(|m| m["email"].is_string() && m.get("name").is_some()), "{list}");
    assert_eq!(members[2]["expires_at"].as_str().map(|t| &t[..16]), Some(&until[..16]));
    // Members see who is in it, never their addresses.
    let (status, seen) = w.call("GET", &path, &sitter.who, None).await;
    assert_eq!((status, seen["role"].as_str()), (StatusCode::OK, Some("viewer")));
    assert!(seen["members"].as_array().unwrap().iter().all(|m| m.get("email").is_none()), "{seen}");
    assert_eq!(seen["members"].as_array().unwrap().len(), 3);

    // GET /v1/collars: owned and shared, each with the caller's role.
    for (p, role) in [(&owner, "owner"), (&caregiver, "caregiver"), (&sitter, "viewer")] {
        let (status, page) = w.call("GET", "/v1/collars", &p.who, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let listed: Vec<(&str, &str)> = page["collars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["collar_id"].as_str().unwrap(), c["role"].as_str().unwrap()))
            .collect();
        assert_eq!(listed, vec![(collar, role)], "{page}");
        let (_, one) = w.call("GET", &format!("/v1/collars/{collar}"), &p.who, None).await;
        assert_eq!(one["role"], role);
    }
    // Owned collars first, then shared ones, one cursor across both.
    w.apps.claim_at(&caregiver.who, "HH-000102", json!({"name": "Tom", "species": "cat", "weight_kg": 4}), 0).await;
    let (_, first) = w.call("GET", "/v1/collars?limit=1", &caregiver.who, None).await;
    assert_eq!(
        (first["collars"][0]["collar_id"].as_str(), first["collars"][0]["role"].as_str()),
        (Some("HH-000102"), Some("owner"))
    );
    let cursor = first["next_cursor"].as_str().expect("the shared collar follows");
    let (_, second) = w.call("GET", &format!("/v1/collars?limit=1&cursor={cursor}"), &caregiver.who, None).await;
    assert_eq!(second["collars"][0]["collar_id"], collar, "{second}");
    assert!(second["next_cursor"].is_null(), "{second}");

    // The owner changes a role and an end; a member may leave; nobody removes the owner.
    let member_path = format!("/v1/collars/{collar}/members/{}", sitter.user_id);
    let (status, changed) =
        w.call("PATCH", &member_path, &owner.who, Some(json!({"role": "caregiver", "expires_at": null}))).await;
    assert_eq!((status, changed["role"].as_str()), (StatusCode::OK, Some("caregiver")), "{changed}");
    assert!(changed["expires_at"].is_null(), "{changed}");
    let (status, bad) = w.call("PATCH", &member_path, &owner.who, Some(json!({"role": "owner"}))).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_role")));
    let (status, _) = w.call("PATCH", &member_path, &caregiver.who, Some(json!({"role": "viewer"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a caregiver does not manage members");
    let owner_path = format!("/v1/collars/{collar}/members/{}", owner.user_id);
    assert_eq!(w.call("DELETE", &owner_path, &caregiver.who, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.call("DELETE", &owner_path, &owner.who, None).await.0, StatusCode::CONFLICT);
    assert_eq!(w.call("DELETE", &member_path, &caregiver.who, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.call("DELETE", &member_path, &sitter.who, None).await.0, StatusCode::NO_CONTENT, "leaving");
    assert_eq!(w.call("GET", &format!("/v1/collars/{collar}"), &sitter.who, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(w.call("DELETE", &member_path, &owner.who, None).await.0, StatusCode::NOT_FOUND, "already gone");
    let (_, page) = w.call("GET", "/v1/collars", &sitter.who, None).await;
    assert_eq!(page["collars"], json!([]), "{page}");

    // An end passes by itself: a membership of a few seconds, seen, then gone.
    // The end is set once the member has joined: accepting reads moto's SES record, which may
    // take seconds while the suite shares the cores, and an invitation whose end has passed
    // is refused (tested above), so a few-second end on the invitation itself raced the accept.
    let brief = w.person("hh-brief").await;
    let (status, inv) = w.invite(&owner, collar, &brief.email, "viewer", None).await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(w.accept(&brief).await.0, StatusCode::OK);
    let brief_path = format!("/v1/collars/{collar}/members/{}", brief.user_id);
    let soon = now_ms() + 5_000;
    let (status, set) = w.call("PATCH", &brief_path, &owner.who, Some(json!({"expires_at": format_ms(soon)}))).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["expires_at"].as_str().map(|t| &t[..19]), Some(&format_ms(soon)[..19]), "{set}");
    let one = format!("/v1/collars/{collar}");
    let seen = w.call("GET", &one, &brief.who, None).await.0;
    // Ends are whole seconds: an answer that arrived before the end was decided before it.
    let end_ms = soon / 1000 * 1000;
    if now_ms() < end_ms {
        assert_eq!(seen, StatusCode::OK, "a member until their end");
    }
    tokio::time::sleep(std::time::Duration::from_millis((soon - now_ms()).max(0) as u64 + 1_100)).await;
    assert_eq!(w.call("GET", &one, &brief.who, None).await.0, StatusCode::NOT_FOUND, "ended on time");
    // The owner may end one now by moving its end to the past.
    let caregiver_path = format!("/v1/collars/{collar}/members/{}", caregiver.user_id);
    let past = format_ms(now_ms() - 1_000);
    assert_eq!(w.call("PATCH", &caregiver_path, &owner.who, Some(json!({"expires_at": past}))).await.0, StatusCode::OK);
    assert_eq!(w.call("GET", &one, &caregiver.who, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invitations_are_for_one_verified_address_once_within_seven_days() {
    let w = World::new().await;
    let collar = "HH-000003";
    let owner = w.owner_with_collar("hh-owner", collar).await;
    let invited = w.person("hh-invited").await;
    let other = w.person("hh-other").await;
    assert_eq!(w.invite(&owner, collar, &invited.email, "viewer", None).await.0, StatusCode::CREATED);
    let token = petty_tests::token_from_inbox(&invited.email, "shared").await;
    // Another account, even knowing the token, is not the invited address.
    let (status, body) = w.accept_token(&other, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(w.call("GET", &format!("/v1/collars/{collar}"), &other.who, None).await.0, StatusCode::NOT_FOUND);
    // Once.
    assert_eq!(w.accept_token(&invited, &token).await.0, StatusCode::OK);
    let (status, body) = w.accept_token(&invited, &token).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_token")), "{body}");
    // Unknown and malformed tokens.
    let forged = format!("pinv_{}", "A".repeat(43));
    assert_eq!(w.accept_token(&invited, &forged).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(w.accept_token(&invited, "nonsense").await.0, StatusCode::BAD_REQUEST);

    // Expired: seven days on (the stored deadline moved into the past).
    let late = w.person("hh-late").await;
    assert_eq!(w.invite(&owner, collar, &late.email, "caregiver", None).await.0, StatusCode::CREATED);
    let token = petty_tests::token_from_inbox(&late.email, "shared").await;
    let hash = petty_shared::api_key::hash_secret(&token);
    w.ddb
        .update_item()
        .table_name(w.apps.env.required("MEMBERS_TABLE").unwrap())
        .key("pk", s(format!("invite#{hash}")))
        .key("sk", s("invite"))
        .update_expression("SET valid_until = :p")
        .expression_attribute_values(":p", n(now_ms() / 1000 - 1))
        .send()
        .await
        .unwrap();
    let (status, body) = w.accept_token(&late, &token).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_token")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("expired"), "{body}");

    // An unverified address may not join, even with its own invitation.
    let email = format!("{}@example.com", petty_tests::unique("hh-unverified").to_lowercase());
    let unverified = w.apps.owner(&email).await;
    assert_eq!(w.invite(&owner, collar, &email, "viewer", None).await.0, StatusCode::CREATED);
    let token = petty_tests::token_from_inbox(&email, "shared").await;
    let body = json!({"token": token});
    let (status, reply) = w.call("POST", "/v1/invitations/accept", &unverified, Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("verify"), "{reply}");

    // What an invitation may say.
    for (body, status, code) in [
        (json!({"email": "x@example.com", "role": "owner"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_role"),
        (json!({"email": "x@example.com", "role": "admin"}), StatusCode::BAD_REQUEST, "invalid_json"),
        (json!({"email": "not-an-address", "role": "viewer"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_email"),
        (
            json!({"email": "x@example.com", "role": "viewer", "expires_at": format_ms(now_ms() - 1000)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_expires_at",
        ),
        (
            json!({"email": "x@example.com", "role": "viewer", "expires_at": format_ms(now_ms() + 400 * DAY_MS)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_expires_at",
        ),
        (json!({"email": owner.email, "role": "viewer"}), StatusCode::CONFLICT, "already_owner"),
    ] {
        let (got, reply) =
            w.call("POST", &format!("/v1/collars/{collar}/members"), &owner.who, Some(body.clone())).await;
        assert_eq!((got, reply["error"]["code"].as_str()), (status, Some(code)), "{body}: {reply}");
    }
    // A member does not invite; a stranger cannot tell the collar exists.
    let body = json!({"email": "x@example.com", "role": "viewer"});
    let members = format!("/v1/collars/{collar}/members");
    assert_eq!(w.call("POST", &members, &invited.who, Some(body.clone())).await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.call("POST", &members, &other.who, Some(body)).await.0, StatusCode::NOT_FOUND);
    // The token is in the mail, never in the answer.
    let (_, inv) = w.invite(&owner, collar, "y@example.com", "viewer", None).await;
    assert!(!inv.to_string().contains("pinv_"), "{inv}");
}

#[tokio::test]
async fn a_transfer_hands_the_collar_to_a_caregiver_and_ends_the_household() {
    let w = World::new().await;
    let collar = "HH-000004";
    let owner = w.owner_with_collar("hh-owner", collar).await;
    let caregiver = w.member(&owner, collar, "hh-care", "caregiver").await;
    let viewer = w.member(&owner, collar, "hh-view", "viewer").await;
    let zone = json!({"name": "Home", "center": [-74.0, 40.0], "radius_m": 150});
    assert_eq!(
        w.call("PUT", &format!("/v1/collars/{collar}/zones/home"), &owner.who, Some(zone)).await.0,
        StatusCode::CREATED
    );
    let path = format!("/v1/collars/{collar}/transfer");
    // Only to a current caregiver.
    for to in [&viewer.user_id, &owner.user_id, &"nobody".to_owned()] {
        let (status, body) = w.call("POST", &path, &owner.who, Some(json!({"user_id": to}))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_a_caregiver")), "{body}");
    }
    let (status, moved) = w.call("POST", &path, &owner.who, Some(json!({"user_id": caregiver.user_id}))).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["owner_user_id"], caregiver.user_id.as_str());

    let one = format!("/v1/collars/{collar}");
    let (status, now_theirs) = w.call("GET", &one, &caregiver.who, None).await;
    assert_eq!((status, now_theirs["role"].as_str()), (StatusCode::OK, Some("owner")), "{now_theirs}");
    // The pet and its care go with it; the household does not.
    let (_, zones) = w.call("GET", &format!("/v1/collars/{collar}/zones"), &caregiver.who, None).await;
    assert_eq!(zones["zones"][0]["zone_id"], "home", "{zones}");
    let (_, list) = w.call("GET", &format!("/v1/collars/{collar}/members"), &caregiver.who, None).await;
    assert_eq!(list["members"].as_array().unwrap().len(), 1, "{list}");
    for p in [&owner, &viewer] {
        assert_eq!(w.call("GET", &one, &p.who, None).await.0, StatusCode::NOT_FOUND);
        let (_, page) = w.call("GET", "/v1/collars", &p.who, None).await;
        assert_eq!(page["collars"], json!([]), "{page}");
    }
    // The new owner's history goes on: yesterday's walk is still there.
    w.event(&caregiver.who, collar, "walk").await;

    // A release ends the new household too.
    let newcomer = w.member(&caregiver, collar, "hh-new", "viewer").await;
    assert_eq!(w.call("GET", &one, &newcomer.who, None).await.0, StatusCode::OK);
    assert_eq!(w.call("DELETE", &one, &caregiver.who, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(w.call("GET", &one, &newcomer.who, None).await.0, StatusCode::NOT_FOUND);
    let out = w
        .ddb
        .query()
        .table_name(w.apps.env.required("MEMBERS_TABLE").unwrap())
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s(format!("collar#{collar}")))
        .send()
        .await
        .unwrap();
    let left: Vec<_> = out.items().iter().filter(|i| i["sk"].as_s().unwrap().starts_with("member#")).collect();
    assert!(left.is_empty(), "no membership item outlives the household: {left:?}");
}

/// Runs the erasure jobs queued so far.
async fn run_erasures(w: &World) {
    use std::time::{Duration, Instant};
    let sdk = sdk().await;
    let eraser =
        petty_account_eraser::Eraser::new(petty_account_eraser::EraserConfig::from_env(&w.apps.env).unwrap(), &sdk);
    let jobs = petty_tests::drain(&w.apps.env.required("ERASURE_QUEUE_URL").unwrap()).await;
    assert_eq!(jobs.records.len(), 1, "one erasure queued");
    let done = petty_account_eraser::handle_batch(&eraser, jobs, Instant::now() + Duration::from_secs(120)).await;
    assert!(done.batch_item_failures.is_empty(), "{done:?}");
}

#[tokio::test]
async fn deleting_an_account_removes_its_memberships_and_deleting_the_owner_ends_the_household() {
    let w = World::new().await;
    let collar = "HH-000005";
    let owner = w.owner_with_collar("hh-owner", collar).await;
    let caregiver = w.member(&owner, collar, "hh-care", "caregiver").await;
    let viewer = w.member(&owner, collar, "hh-view", "viewer").await;
    let walk = w.event(&caregiver.who, collar, "walk").await;
    let verdict = json!({"event_id": walk, "user_feedback": "correct"});
    assert_eq!(
        w.call("POST", "/v1/submit-feedback", &caregiver.who, Some(verdict.clone())).await.0,
        StatusCode::CREATED
    );
    assert_eq!(w.call("POST", "/v1/submit-feedback", &owner.who, Some(verdict)).await.0, StatusCode::CREATED);
    let members_of = |pk: String| {
        let ddb = w.ddb.clone();
        let table = w.apps.env.required("MEMBERS_TABLE").unwrap().to_owned();
        async move {
            let out = ddb
                .query()
                .table_name(table)
                .key_condition_expression("pk = :p AND begins_with(sk, :m)")
                .expression_attribute_values(":p", s(pk))
                .expression_attribute_values(":m", s("member#"))
                .send()
                .await
                .unwrap();
            out.items().iter().map(|i| i["user_id"].as_s().unwrap().clone()).collect::<Vec<_>>()
        }
    };
    let verdict_users = || {
        let ddb = w.ddb.clone();
        let table = w.apps.env.required("FEEDBACK_TABLE").unwrap().to_owned();
        async move {
            let out = ddb
                .query()
                .table_name(table)
                .key_condition_expression("collar_id = :c AND begins_with(sk, :cur)")
                .expression_attribute_values(":c", s(collar))
                .expression_attribute_values(":cur", s("cur#"))
                .send()
                .await
                .unwrap();
            let mut users: Vec<String> = out.items().iter().map(|i| i["user_id"].as_s().unwrap().clone()).collect();
            users.sort();
            users
        }
    };
    let mut both = vec![owner.user_id.clone(), caregiver.user_id.clone()];
    both.sort();
    assert_eq!(verdict_users().await, both);

    // The caregiver closes their account: their membership and their verdict go, nothing else.
    let (status, body) =
        w.call("DELETE", "/v1/auth/me", &caregiver.who, Some(json!({"password": petty_tests::apps::PASSWORD}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    run_erasures(&w).await;
    assert_eq!(members_of(format!("collar#{collar}")).await, vec![viewer.user_id.clone()]);
    assert_eq!(verdict_users().await, vec![owner.user_id.clone()]);
    assert_eq!(w.call("GET", &format!("/v1/collars/{collar}"), &viewer.who, None).await.0, StatusCode::OK);

    // The owner closes theirs: the collar is released and the household ends.
    let (status, _) =
        w.call("DELETE", "/v1/auth/me", &owner.who, Some(json!({"password": petty_tests::apps::PASSWORD}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    run_erasures(&w).await;
    assert_eq!(w.call("GET", &format!("/v1/collars/{collar}"), &viewer.who, None).await.0, StatusCode::NOT_FOUND);
    let (_, page) = w.call("GET", "/v1/collars", &viewer.who, None).await;
    assert_eq!(page["collars"], json!([]), "{page}");
    assert!(members_of(format!("collar#{collar}")).await.is_empty());
}
