//! Sample events under events/ through every function, and the seeding script.

use super::*;

pub(super) fn python() -> String {
    std::env::var("PETTY_PYTHON").expect("PETTY_PYTHON is set by `make test` (the repo's venv python)")
}

#[tokio::test]
async fn seeding_creates_every_declared_table_and_secret_with_a_working_key_set() {
    let stage = unique("t").to_lowercase();
    let env_file = std::env::temp_dir().join(format!("{stage}.env"));
    let out = Command::new(python())
        .arg(repo_root().join("tools/local_aws.py"))
        .args(["seed", "--endpoint", &endpoint(), "--stage", &stage, "--env-file"])
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "seed failed: {}", String::from_utf8_lossy(&out.stderr));

    let t = template();
    let sdk = sdk().await;
    let ddb = petty_shared::aws::dynamodb(&sdk);
    for (logical, table) in resources(&t, "AWS::DynamoDB::Table") {
        let name = sub_text(&table["Properties"]["TableName"], &stage);
        let described = ddb.describe_table().table_name(&name).send().await;
        assert!(described.is_ok(), "{logical}: table {name} not created");
    }
    let sm = petty_shared::aws::secrets_manager(&sdk);
    let source = SecretsManagerSource::new(sm.clone());
    let secret_names: Vec<String> = resources(&t, "AWS::SecretsManager::Secret")
        .iter()
        .map(|(_, s)| sub_text(&s["Properties"]["Name"], &stage))
        .collect();
    assert!(secret_names.len() >= 2);
    for name in &secret_names {
        assert!(!source.fetch(name).await.unwrap().expose().is_empty(), "{name} has a value");
    }

    // The key set the script wrote works with the Rust signer and verifier.
    let env_text = std::fs::read_to_string(&env_file).unwrap();
    let env =
        Env::from_pairs(env_text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())));
    let signing = source.fetch(&format!("petty/{stage}/jwt-signing-keys")).await.unwrap();
    let signer = Signer::from_json(signing.expose()).unwrap();
    let mut claims = petty_tests::claims("user-1", &["admin"], TokenType::Access);
    claims.iss = env.required("JWT_ISSUER").unwrap();
    claims.aud = env.required("JWT_AUDIENCE").unwrap();
    let token = signer.sign(&claims).unwrap();
    let cfg = HealthConfig::from_env(&env).expect("the env file configures the functions");
    let verifier = petty_shared::jwt::Verifier::new(
        secret_cache(sm, CacheSettings::default()),
        cfg.common.public_keys_secret_id.clone(),
        &petty_shared::jwt::JwtSettings {
            issuer: cfg.common.jwt_issuer.clone(),
            audience: cfg.common.jwt_audience.clone(),
        },
    );
    assert_eq!(verifier.verify(&token, TokenType::Access).await.unwrap().sub, "user-1");
    std::fs::remove_file(env_file).ok();
}

/// `events/expected.tsv`: (event file under events/, expected status), one row an event.
pub(super) fn expected_statuses() -> Vec<(String, u16)> {
    std::fs::read_to_string(repo_root().join("events/expected.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            let file = cols.next().unwrap().to_owned();
            let status = cols.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("expected.tsv: {l:?}"));
            (file, status)
        })
        .collect()
}

#[test]
fn every_function_has_sample_events() {
    let t = template();
    let expected = expected_statuses();
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let dir = binary.strip_prefix("petty-").unwrap();
        assert!(
            expected.iter().any(|(file, _)| file.starts_with(&format!("{dir}/"))),
            "{name}: no sample event under events/{dir}/ (with its row in events/expected.tsv)"
        );
    }
}

#[tokio::test]
async fn every_sample_event_gives_its_expected_status() {
    let events = repo_root().join("events");
    let expected_rows = expected_statuses();
    let mut found = BTreeSet::new();
    for dir in std::fs::read_dir(&events).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            found.insert(file.strip_prefix(&events).unwrap().to_string_lossy().into_owned());
        }
    }
    let expected: BTreeSet<String> = expected_rows.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(found, expected, "every event file has an expected status, and every expectation a file");

    let stack = petty_tests::Stack::seed(&[("CORS_ALLOWED_ORIGINS", "*")]);
    let sdk = sdk().await;
    let cache = || {
        Arc::new(petty_shared::secrets::SecretCache::new(
            SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk)),
            CacheSettings::default(),
        ))
    };
    let health_cfg = HealthConfig::from_env(&stack.env).unwrap();
    let health =
        HealthApp::new(&health_cfg, petty_shared::aws::dynamodb(&sdk), aws_sdk_cloudwatch::Client::new(&sdk), cache());
    let auth = AuthApp::new(&AuthConfig::from_env(&stack.env).unwrap(), &sdk, cache());
    let data = DataApp::new(&DataConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let timeline =
        TimelineApp::new(&TimelineConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let feedback =
        FeedbackApp::new(&FeedbackConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let admin = petty_admin::AdminApp::new(
        &petty_admin::AdminConfig::from_env(&stack.env).unwrap(),
        petty_shared::aws::dynamodb(&sdk),
        aws_sdk_iot::Client::new(&sdk),
        cache(),
    );
    let alerts_app = petty_alerts::AlertsApp::new(
        &petty_alerts::AlertsConfig::from_env(&stack.env).unwrap(),
        petty_shared::aws::dynamodb(&sdk),
        cache(),
    );
    let notifications_app = petty_notifications::NotificationsApp::new(
        &petty_notifications::NotificationsConfig::from_env(&stack.env).unwrap(),
        petty_shared::aws::dynamodb(&sdk),
        aws_sdk_sns::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
        cache(),
    );
    let households_cfg = petty_households::HouseholdsConfig::from_env(&stack.env).unwrap();
    let households_app = petty_households::HouseholdsApp::new(
        &households_cfg,
        petty_shared::aws::dynamodb(&sdk),
        petty_households::SesMailer {
            ses: aws_sdk_sesv2::Client::new(&sdk),
            sender: households_cfg.email_sender.clone(),
        },
        cache(),
    );
    let notifier_cfg = petty_notifier::NotifierConfig::from_env(&stack.env).unwrap();
    let notifier = {
        let ddb = petty_shared::aws::dynamodb(&sdk);
        petty_notifier::Notifier {
            collars: CollarsTable::new(ddb.clone(), notifier_cfg.collars_table.clone()),
            notifications: petty_shared::tables::notifications::NotificationsTable::new(
                ddb.clone(),
                notifier_cfg.notifications_table.clone(),
            ),
            dynamodb: ddb,
            users: petty_shared::tables::users::UsersTable::new(
                petty_shared::aws::dynamodb(&sdk),
                notifier_cfg.users_table.clone(),
            ),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            queue_url: notifier_cfg.delivery_queue_url.clone(),
            dlq_url: notifier_cfg.delivery_dlq_url.clone(),
            sns: aws_sdk_sns::Client::new(&sdk),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            email_sender: notifier_cfg.email_sender.clone(),
            secrets: cache(),
            key_secret_id: notifier_cfg.notification_key_secret_id.clone(),
            public_base_url: notifier_cfg.public_base_url.clone(),
            webhooks: petty_notifier::webhook_client::WebhookClient::new(
                notifier_cfg.webhook_policy.clone(),
                std::time::Duration::from_secs(2),
            ),
            retry: petty_notifier::domain::RetryPolicy::default(),
        }
    };
    let (sink, _) = petty_shared::logging::memory_sink();
    let http = HttpService::from_config("events", &health_cfg.common).with_emf_sink(sink);
    for (file, status) in &expected_rows {
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(events.join(file)).unwrap()).unwrap();
        if file.starts_with("alert-evaluator/") {
            let ddb = petty_shared::aws::dynamodb(&sdk);
            let collars = CollarsTable::new(ddb.clone(), stack.env.required("COLLARS_TABLE").unwrap());
            let alerts =
                petty_shared::tables::alerts::AlertsTable::new(ddb, stack.env.required("ALERTS_TABLE").unwrap());
            let batch = serde_json::from_value(event).unwrap();
            let outcome = petty_alert_evaluator::handle_batch(&collars, &alerts, batch, 1_795_372_230_000).await;
            assert!(outcome.response.batch_item_failures.is_empty() && outcome.applied.raised.is_empty(), "{file}");
            assert_eq!(outcome.readings, 2, "{file}: both records are readings");
            continue;
        }
        if file.starts_with("alert-sweep/") {
            let ddb = petty_shared::aws::dynamodb(&sdk);
            let collars = CollarsTable::new(ddb.clone(), stack.env.required("COLLARS_TABLE").unwrap());
            let alerts =
                petty_shared::tables::alerts::AlertsTable::new(ddb, stack.env.required("ALERTS_TABLE").unwrap());
            let report = petty_alert_sweep::sweep(&collars, &alerts, chrono::Utc::now().timestamp_millis()).await;
            assert_eq!(report.unwrap().checked, 0, "{file}: nothing is silent in a fresh stage");
            continue;
        }
        if file.starts_with("notifier/") {
            // Alert-stream or delivery-queue records of a fresh stage: nothing to deliver (no
            // such collar, no destinations), and nothing failed.
            let batch = serde_json::from_value(event).unwrap();
            let outcome =
                petty_notifier::handle_batch(&notifier, batch, chrono::Utc::now().timestamp_millis(), None).await;
            assert!(outcome.response.batch_item_failures.is_empty(), "{file}: {:?}", outcome.response);
            let unreadable = usize::from(file.ends_with("delivery-queue-batch.json"));
            assert_eq!(outcome.unreadable, unreadable, "{file}: only the queue sample's last body is no delivery job");
            continue;
        }
        if file.starts_with("account-eraser/") || file.starts_with("account-exporter/") {
            // Jobs of a fresh stage for an account (or export) that does not exist: done,
            // nothing to do, nothing failed.
            let batch: petty_shared::batch::SqsEvent = serde_json::from_value(event).unwrap();
            let stop = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let response = if file.starts_with("account-eraser/") {
                let eraser = petty_account_eraser::Eraser::new(
                    petty_account_eraser::EraserConfig::from_env(&stack.env).unwrap(),
                    &sdk,
                );
                petty_account_eraser::handle_batch(&eraser, batch, stop).await
            } else {
                let exporter = petty_account_exporter::Exporter::new(
                    petty_account_exporter::ExporterConfig::from_env(&stack.env).unwrap(),
                    &sdk,
                );
                petty_account_exporter::handle_batch(&exporter, batch, stop).await
            };
            assert!(response.batch_item_failures.is_empty(), "{file}: {response:?}");
            continue;
        }
        if file.starts_with("stream/") {
            let records = event["Records"].as_array().unwrap().len();
            let batch = serde_json::from_value(event).unwrap();
            let ddb = petty_shared::aws::dynamodb(&sdk);
            let collars = CollarsTable::new(ddb.clone(), stack.env.required("COLLARS_TABLE").unwrap());
            let readings = ReadingsTable::new(ddb, stack.env.required("READINGS_TABLE").unwrap(), 90);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let outcome = petty_stream::handle_batch(&collars, &readings, batch, deadline).await;
            assert_eq!(outcome.response.batch_item_failures.len(), records, "{file}");
            continue;
        }
        // Through the functions' own entry point (`serve_event`), as the runtime hands it over.
        let mut ctx = lambda_http::Context::default();
        ctx.request_id = "evt".into();
        ctx.deadline = (chrono::Utc::now().timestamp_millis() + 10_000) as u64;
        // One arm per function directory under events/ (a new function adds its app above and
        // its arm here; its events are rows of events/expected.tsv).
        let resp = match file.split('/').next() {
            Some("auth") => serve_event(&http, &auth, event, ctx).await.unwrap(),
            Some("data-processor") => serve_event(&http, &data, event, ctx).await.unwrap(),
            Some("health") => serve_event(&http, &health, event, ctx).await.unwrap(),
            Some("timeline") => serve_event(&http, &timeline, event, ctx).await.unwrap(),
            Some("feedback") => serve_event(&http, &feedback, event, ctx).await.unwrap(),
            Some("admin") => serve_event(&http, &admin, event, ctx).await.unwrap(),
            Some("alerts") => serve_event(&http, &alerts_app, event, ctx).await.unwrap(),
            Some("notifications") => serve_event(&http, &notifications_app, event, ctx).await.unwrap(),
            Some("households") => serve_event(&http, &households_app, event, ctx).await.unwrap(),
            other => panic!("no handler for events of {other:?}"),
        };
        assert_eq!(resp["statusCode"].as_u64(), Some(u64::from(*status)), "{file}");
    }
}
