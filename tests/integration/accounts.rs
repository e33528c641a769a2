//! Accounts against moto, through the real handlers: password change and reset with the token
//! read from SES's inbox, e-mail verification, sessions, cross-owner isolation of the new
//! routes, and the two jobs fed real SQS messages from their queues (erasure checked table by
//! table; an export that holds exactly its owner's data).

use std::io::Read;
use std::time::{Duration, Instant};

use lambda_http::http::StatusCode;
use petty_account_eraser::{Eraser, EraserConfig};
use petty_account_exporter::{Exporter, ExporterConfig};
use petty_behaviour::Sample;
use petty_shared::batch::{SqsEvent, SqsMessage};
use petty_shared::config::FromEnv;
use petty_shared::dynamo::s;
use petty_tests::apps::{Apps, Header, PASSWORD};
use petty_tests::{drain, sdk, token_from_inbox, unique};
use serde_json::{Value, json};

fn email(prefix: &str) -> String {
    format!("{}@example.com", unique(prefix).to_lowercase())
}

fn bearer(tokens: &Value) -> Header {
    ("authorization", format!("Bearer {}", tokens["access_token"].as_str().unwrap()))
}

async fn login(apps: &Apps, email: &str, password: &str) -> (StatusCode, Value) {
    let (status, body, _) =
        apps.auth("POST", "/v1/auth/login", &[], json!({"email": email, "password": password})).await;
    (status, body)
}

async fn call(apps: &Apps, method: &str, path: &str, who: &Header, body: Value) -> (StatusCode, Value) {
    let (status, body, _) = apps.auth(method, path, &[(who.0, &who.1)], body).await;
    (status, body)
}

fn samples(start_ms: i64, count: i64) -> Vec<Sample> {
    (0..count)
        .map(|i| Sample { ts_ms: start_ms + i * 60_000, heart_rate: 80, activity: 1, lat: 40.0, lon: -74.0 })
        .collect()
}

#[tokio::test]
async fn a_reset_through_the_inbox_ends_every_session_and_key_and_unknown_addresses_look_the_same() {
    let apps = Apps::seed().await;
    let ada = email("ada");
    let who = apps.owner(&ada).await;
    let other_session = bearer(&login(&apps, &ada, PASSWORD).await.1);
    apps.api_key(&who, &["readings:write"], &["AB-123456"]).await;

    let started = Instant::now();
    let (s1, unknown, _) = apps.auth("POST", "/v1/auth/password-reset", &[], json!({"email": email("nobody")})).await;
    let unknown_took = started.elapsed();
    let started = Instant::now();
    let (s2, known, _) = apps.auth("POST", "/v1/auth/password-reset", &[], json!({"email": ada.to_uppercase()})).await;
    let known_took = started.elapsed();
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(unknown, known, "one body whether or not the account exists");
    assert!(
        unknown_took >= Duration::from_millis(300) && known_took >= Duration::from_millis(300),
        "both wait out the floor"
    );
    let first = token_from_inbox(&ada, "Reset your Petty password").await;
    // A new request (the account read by its login address, as every request is) sends a new
    // token and invalidates the first.
    assert_eq!(apps.auth("POST", "/v1/auth/password-reset", &[], json!({"email": ada})).await.0, StatusCode::ACCEPTED);
    let token = token_from_inbox(&ada, "Reset your Petty password").await;
    assert!(token.starts_with("prst_") && token.len() >= 43 && token != first, "a second token was mailed");

    // A verification token is not a reset token, and a weak password is refused first.
    let confirm = |t: &str, p: &str| json!({"token": t, "new_password": p});
    let (status, body, _) =
        apps.auth("POST", "/v1/auth/password-reset/confirm", &[], confirm(&token, "password")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body, _) = apps
        .auth("POST", "/v1/auth/password-reset/confirm", &[], confirm("prst_forged", "a long new passphrase"))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_token")));
    let (status, body, _) =
        apps.auth("POST", "/v1/auth/password-reset/confirm", &[], confirm(&first, "a long new passphrase")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_token")), "replaced");

    // Two concurrent confirmations with one token: exactly one wins.
    let (a, b) = tokio::join!(
        apps.auth("POST", "/v1/auth/password-reset/confirm", &[], confirm(&token, "a long new passphrase")),
        apps.auth("POST", "/v1/auth/password-reset/confirm", &[], confirm(&token, "another long passphrase")),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST], "{} / {}", a.1, b.1);
    let (won, new_password) =
        if a.0 == StatusCode::OK { (a.1, "a long new passphrase") } else { (b.1, "another long passphrase") };
    assert_eq!((won["sessions_revoked"].as_u64(), won["api_keys_revoked"].as_u64()), (Some(2), Some(1)), "{won}");
    for old in [&who, &other_session] {
        assert_eq!(call(&apps, "GET", "/v1/auth/me", old, json!(null)).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&apps, &ada, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let (status, fresh) = login(&apps, &ada, new_password).await;
    assert_eq!(status, StatusCode::OK);
    let (_, keys) = call(&apps, "GET", "/v1/api-keys", &bearer(&fresh), json!(null)).await;
    assert!(keys["api_keys"].as_array().unwrap().iter().all(|k| k["revoked"] == true), "{keys}");
    let mail = petty_tests::mail_to(&ada).await;
    assert!(mail.iter().any(|(s, _)| s == "Your Petty password was reset"), "{mail:?}");
    assert!(mail.iter().all(|(_, b)| !b.contains(new_password)), "no password in mail");
}

#[tokio::test]
async fn change_verify_profile_and_sessions_work_for_their_owner_only() {
    let apps = Apps::seed().await;
    let (bo, cy) = (email("bo"), email("cy"));
    let bo1 = apps.owner(&bo).await;
    let bo2 = bearer(&login(&apps, &bo, PASSWORD).await.1);
    let cy1 = apps.owner(&cy).await;

    let wrong = json!({"current_password": "not it, not at all", "new_password": "a long new passphrase"});
    assert_eq!(call(&apps, "POST", "/v1/auth/password", &bo1, wrong).await.0, StatusCode::FORBIDDEN);
    let right = json!({"current_password": PASSWORD, "new_password": "a long new passphrase"});
    let (status, body) = call(&apps, "POST", "/v1/auth/password", &bo1, right).await;
    assert_eq!((status, body["sessions_revoked"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(call(&apps, "GET", "/v1/auth/me", &bo2, json!(null)).await.0, StatusCode::UNAUTHORIZED);

    let (status, me) = call(&apps, "GET", "/v1/auth/me", &bo1, json!(null)).await;
    assert_eq!(
        (status, me["email_verified"].as_bool(), me["timezone"].as_str()),
        (StatusCode::OK, Some(false), Some("UTC"))
    );
    apps.verify_email(&bo1, &bo).await;
    let patch = json!({"name": "Bo", "timezone": "Europe/Paris", "locale": "fr-CH"});
    let (status, me) = call(&apps, "PATCH", "/v1/auth/me", &bo1, patch).await;
    assert_eq!(
        (status, me["timezone"].as_str(), me["locale"].as_str()),
        (StatusCode::OK, Some("Europe/Paris"), Some("fr-CH"))
    );
    let (status, body) = call(&apps, "PATCH", "/v1/auth/me", &bo1, json!({"timezone": "Mars/Base"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_timezone")));
    // A new address is the login only once verified.
    let bo_new = email("bo-new");
    let (status, me) = call(&apps, "PATCH", "/v1/auth/me", &bo1, json!({"email": bo_new})).await;
    assert_eq!(
        (status, me["pending_email"].as_str(), me["email"].as_str()),
        (StatusCode::OK, Some(bo_new.as_str()), Some(bo.as_str()))
    );
    let token = token_from_inbox(&bo_new, "Verify").await;
    let (status, me, _) = apps.auth("POST", "/v1/auth/verify-email/confirm", &[], json!({"token": token})).await;
    assert_eq!(
        (status, me["email"].as_str(), me["email_verified"].as_bool()),
        (StatusCode::OK, Some(bo_new.as_str()), Some(true))
    );
    let (status, _, _) = apps.auth("POST", "/v1/auth/verify-email/confirm", &[], json!({"token": token})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a token works once");
    assert_eq!(login(&apps, &bo, "a long new passphrase").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&apps, &bo_new, "a long new passphrase").await.0, StatusCode::OK);

    let (status, list) = call(&apps, "GET", "/v1/auth/sessions", &bo1, json!(null)).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list}");
    let current: Vec<&Value> = sessions.iter().filter(|x| x["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let other = sessions.iter().find(|x| x["current"] == false).unwrap()["session_id"].as_str().unwrap().to_owned();
    // Someone else's session looks like no session.
    let path = format!("/v1/auth/sessions/{other}");
    assert_eq!(call(&apps, "DELETE", &path, &cy1, json!(null)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&apps, "DELETE", &path, &bo1, json!(null)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(&apps, "DELETE", &path, &bo1, json!(null)).await.0, StatusCode::NOT_FOUND, "already ended");
    let (status, body) = call(&apps, "POST", "/v1/auth/logout-all", &bo1, json!({})).await;
    assert_eq!((status, body["sessions_revoked"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(call(&apps, "GET", "/v1/auth/sessions", &bo1, json!(null)).await.0, StatusCode::UNAUTHORIZED);
    let (status, list) = call(&apps, "GET", "/v1/auth/sessions", &cy1, json!(null)).await;
    assert_eq!((status, list["sessions"].as_array().unwrap().len()), (StatusCode::OK, 1), "cy's untouched");
}

#[tokio::test]
async fn an_export_holds_exactly_its_owners_data_and_an_erasure_removes_it_table_by_table() {
    let apps = Apps::seed().await;
    let sdk = sdk().await;
    let ddb = petty_shared::aws::dynamodb(&sdk);
    let (di, ed) = (email("di"), email("ed"));
    let (di_h, ed_h) = (apps.owner(&di).await, apps.owner(&ed).await);
    let day_ms = 86_400_000;
    let start = (chrono::Utc::now().timestamp_millis() / day_ms - 2) * day_ms;
    let (di_collar, ed_collar) = ("DX-000101", "DX-000202");
    for (who, collar) in [(&di_h, di_collar), (&ed_h, ed_collar)] {
        apps.claim_at(who, collar, json!({"name": "Rex", "species": "dog", "weight_kg": 20}), start - 1).await;
        let key = apps.api_key(who, &["readings:write"], &[collar]).await;
        assert_eq!(apps.ingest(&key, collar, &samples(start, 120)).await, 120);
    }

    // Export: di's data and nobody else's.
    let (status, export) = call(&apps, "POST", "/v1/auth/export", &di_h, json!({})).await;
    assert_eq!((status, export["status"].as_str()), (StatusCode::ACCEPTED, Some("pending")), "{export}");
    let export_id = export["export_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/auth/export/{export_id}");
    assert_eq!(call(&apps, "GET", &path, &ed_h, json!(null)).await.0, StatusCode::NOT_FOUND, "not ed's");
    let exporter = Exporter::new(ExporterConfig::from_env(&apps.env).unwrap(), &sdk);
    let jobs = drain(apps.env.optional("EXPORT_QUEUE_URL").unwrap()).await;
    assert_eq!(jobs.records.len(), 1);
    let done = petty_account_exporter::handle_batch(&exporter, jobs, Instant::now() + Duration::from_secs(120)).await;
    assert!(done.batch_item_failures.is_empty());
    let (status, ready) = call(&apps, "GET", &path, &di_h, json!(null)).await;
    assert_eq!((status, ready["status"].as_str()), (StatusCode::OK, Some("ready")), "{ready}");
    let zip_bytes = reqwest::get(ready["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    let mut text = |name: &str| {
        let mut out = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut out).unwrap();
        out
    };
    let readings = text("readings.jsonl");
    assert_eq!(readings.lines().count(), 120, "every reading of di's ownership, and only those");
    let all =
        [readings, text("profile.jsonl"), text("collars.jsonl"), text("api_keys.jsonl"), text("audit_events.jsonl")]
            .concat();
    assert!(all.contains(di_collar) && all.contains(&di));
    assert!(!all.contains(ed_collar) && !all.contains(&ed), "nothing of ed's");
    assert!(!all.contains("secret_hash") && !all.contains("password_hash"));
    assert_eq!(ready["counts"]["readings.jsonl"], 120);

    // Erasure: the answer at once, a second login refused at once, then the job.
    let (status, _) = call(&apps, "DELETE", "/v1/auth/me", &di_h, json!({"password": "wrong wrong wrong"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, deleted) = call(&apps, "DELETE", "/v1/auth/me", &di_h, json!({"password": PASSWORD})).await;
    assert_eq!((status, deleted["status"].as_str()), (StatusCode::ACCEPTED, Some("erasing")), "{deleted}");
    assert_eq!(login(&apps, &di, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    let user_id = {
        let (_, me) = call(&apps, "GET", "/v1/auth/me", &ed_h, json!(null)).await;
        assert_eq!(me["email"], ed.as_str(), "ed is untouched");
        let item = ddb
            .get_item()
            .table_name(apps.env.optional("USERS_TABLE").unwrap())
            .key("pk", s(format!("EMAIL#{di}")))
            .send()
            .await
            .unwrap();
        item.item.unwrap()["user_id"].as_s().unwrap().clone()
    };
    let eraser = Eraser::new(EraserConfig::from_env(&apps.env).unwrap(), &sdk);
    let jobs = drain(apps.env.optional("ERASURE_QUEUE_URL").unwrap()).await;
    assert_eq!(jobs.records.len(), 1);
    let body = jobs.records[0].body.clone();
    let done = petty_account_eraser::handle_batch(&eraser, jobs, Instant::now() + Duration::from_secs(120)).await;
    assert!(done.batch_item_failures.is_empty());
    // A duplicate delivery is harmless.
    let again = SqsEvent { records: vec![SqsMessage { message_id: "dup".into(), body }] };
    assert!(
        petty_account_eraser::handle_batch(&eraser, again, Instant::now() + Duration::from_secs(60))
            .await
            .batch_item_failures
            .is_empty()
    );

    let count = |table: &'static str, key: &'static str, value: String| {
        let ddb = ddb.clone();
        let table = apps.env.optional(table).unwrap().to_owned();
        async move {
            let q = ddb
                .query()
                .table_name(table)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":v", s(value));
            petty_shared::dynamo::query_all(q).await.unwrap().len()
        }
    };
    let users = apps.env.optional("USERS_TABLE").unwrap();
    for pk in [format!("USER#{user_id}"), format!("EMAIL#{di}")] {
        assert!(ddb.get_item().table_name(users).key("pk", s(pk.clone())).send().await.unwrap().item.is_none(), "{pk}");
    }
    assert_eq!(count("READINGS_TABLE", "collar_id", di_collar.into()).await, 0, "di's readings");
    assert_eq!(count("READINGS_TABLE", "collar_id", ed_collar.into()).await, 121, "ed's readings and latest item stay");
    assert_eq!(count("ALERTS_TABLE", "collar_id", di_collar.into()).await, 0);
    assert_eq!(count("NOTIFICATIONS_TABLE", "pk", format!("user#{user_id}")).await, 0);
    let families = ddb
        .query()
        .table_name(apps.env.optional("REFRESH_FAMILIES_TABLE").unwrap())
        .index_name("user_id-index")
        .key_condition_expression("user_id = :u")
        .expression_attribute_values(":u", s(&user_id));
    assert_eq!(petty_shared::dynamo::query_all(families).await.unwrap().len(), 0, "sessions");
    let keys = ddb
        .query()
        .table_name(apps.env.optional("API_KEYS_TABLE").unwrap())
        .index_name("user_id-index")
        .key_condition_expression("user_id = :u")
        .expression_attribute_values(":u", s(&user_id));
    assert_eq!(petty_shared::dynamo::query_all(keys).await.unwrap().len(), 0, "API keys");
    let collar = ddb
        .get_item()
        .table_name(apps.env.optional("COLLARS_TABLE").unwrap())
        .key("collar_id", s(di_collar))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!collar.contains_key("owner_id") && collar.contains_key("released_at"), "released, registration kept");
    let s3 = petty_shared::aws::s3(&sdk);
    let listed = s3
        .list_objects_v2()
        .bucket(apps.env.optional("EXPORTS_BUCKET").unwrap())
        .prefix(format!("exports/{user_id}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 0, "the export's zip");
    // The audit trail stays, without the address.
    let audit = ddb
        .query()
        .table_name(apps.env.optional("AUDIT_TABLE").unwrap())
        .key_condition_expression("user_id = :u")
        .expression_attribute_values(":u", s(&user_id));
    let audit = petty_shared::dynamo::query_all(audit).await.unwrap();
    assert!(audit.iter().any(|i| i["action"].as_s().is_ok_and(|a| a == "account_erased")));
    assert!(!format!("{audit:?}").contains(&di), "no address in the audit trail");
}
