//! template.yaml against the local router, the README, the seeding script and events/.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;

use lambda_http::http::StatusCode;
use petty_auth::{AuthApp, AuthConfig};
use petty_data_processor::{DataApp, DataConfig};
use petty_health::{HealthApp, HealthConfig};
use petty_shared::config::FromEnv;
use petty_shared::jwt::{Signer, TokenType};
use petty_shared::secrets::{CacheSettings, SecretSource, SecretsManagerSource};
use petty_shared::{Env, HttpService};
use petty_tests::{endpoint, repo_root, sdk, secret_cache, unique};
use serde_norway::Value as Yaml;

fn template() -> Yaml {
    serde_norway::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap()
}

fn resources<'a>(t: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

/// (method, path) → binary, from the template's HttpApi events.
fn template_routes() -> BTreeMap<(String, String), String> {
    let t = template();
    let mut routes = BTreeMap::new();
    for (_, f) in resources(&t, "AWS::Serverless::Function") {
        let binary =
            f["Metadata"]["BuildProperties"]["Binary"].as_str().expect("every function names its Binary").to_owned();
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                let key = (p["Method"].as_str().unwrap().to_uppercase(), p["Path"].as_str().unwrap().to_owned());
                assert!(routes.insert(key.clone(), binary.clone()).is_none(), "duplicate route {key:?}");
            }
        }
    }
    routes
}

#[test]
fn the_local_router_serves_exactly_the_templates_routes() {
    let cargo: toml::Table = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap().parse().unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    let mut local = BTreeMap::new();
    for (path, targets) in router {
        for target in targets.as_array().expect("per-method routes") {
            local.insert(
                (target["method"].as_str().unwrap().to_owned(), path.clone()),
                target["function"].as_str().unwrap().to_owned(),
            );
        }
    }
    assert_eq!(local, template_routes());
}

#[test]
fn the_readme_lists_every_route() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for (method, path) in template_routes().keys() {
        assert!(readme.contains(&format!("| `{method} {path}`")), "README route table lacks `{method} {path}`");
    }
}

#[test]
fn every_function_has_its_own_role_and_no_wildcard_actions() {
    let t = template();
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        let props = &f["Properties"];
        assert!(props.get("Role").is_none(), "{name}: use Policies so SAM creates a role for this function alone");
        for policy in props["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let actions: Vec<&str> = match &statement["Action"] {
                    Yaml::String(a) => vec![a.as_str()],
                    Yaml::Sequence(list) => list.iter().filter_map(Yaml::as_str).collect(),
                    other => panic!("{name}: unexpected Action {other:?}"),
                };
                assert!(actions.iter().all(|a| !a.contains('*')), "{name}: wildcard action in {actions:?}");
                if statement["Resource"].as_str() == Some("*") {
                    // AWS offers no resource-level permission for these.
                    assert!(
                        actions.iter().all(|a| ["cloudwatch:DescribeAlarms"].contains(a)),
                        "{name}: Resource * for {actions:?}"
                    );
                }
            }
        }
    }
}

/// The text of a plain or `!Sub`-tagged scalar, with `${Stage}` replaced.
fn sub_text(value: &Yaml, stage: &str) -> String {
    let text = match value {
        Yaml::Tagged(tagged) => tagged.value.as_str(),
        other => other.as_str(),
    };
    text.expect("a string or !Sub string").replace("${Stage}", stage)
}

fn python() -> String {
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

/// The status each sample event must produce against a freshly seeded local stack.
const EXPECTED: &[(&str, u16)] = &[
    ("auth/api-keys-with-bad-key.json", 401),
    ("auth/jwks.json", 200),
    ("auth/login-malformed-json.json", 400),
    ("auth/login-wrong-password.json", 401),
    ("auth/me-without-token.json", 401),
    ("auth/refresh-garbage-token.json", 401),
    ("auth/register-weak-password.json", 422),
    ("auth/register.json", 201),
    ("data-processor/claim-collar-without-credentials.json", 401),
    ("data-processor/get-collar-without-credentials.json", 401),
    ("data-processor/ingest-batch-without-credentials.json", 401),
    ("data-processor/ingest-single.json", 401),
    ("data-processor/realtime-without-credentials.json", 401),
    // SQS: 200 stands for "processed"; every record fails (an old timestamp, an out-of-range
    // heart rate, bad JSON) and is reported for retry and the dead-letter queue.
    ("data-processor/sqs-batch.json", 200),
    ("health/cors-preflight.json", 204),
    ("health/detailed-without-token.json", 401),
    ("health/liveness-rest-v1.json", 200),
    ("health/liveness.json", 200),
    ("health/ready.json", 200),
    ("health/unknown-route.json", 404),
];

#[tokio::test]
async fn every_sample_event_gives_its_expected_status() {
    let events = repo_root().join("events");
    let mut found = BTreeSet::new();
    for dir in std::fs::read_dir(&events).unwrap() {
        let dir = dir.unwrap().path();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            found.insert(file.strip_prefix(&events).unwrap().to_string_lossy().into_owned());
        }
    }
    let expected: BTreeSet<String> = EXPECTED.iter().map(|(f, _)| (*f).to_owned()).collect();
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
    let auth = AuthApp::new(&AuthConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let data = DataApp::new(&DataConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let (sink, _) = petty_shared::logging::memory_sink();
    let http = HttpService::from_config("events", &health_cfg.common).with_emf_sink(sink);
    for (file, status) in EXPECTED {
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(events.join(file)).unwrap()).unwrap();
        if file.contains("sqs") {
            let records = event["Records"].as_array().unwrap().len();
            let batch = serde_json::from_value(event).unwrap();
            let response = petty_data_processor::ingest::sqs(
                data.store(),
                batch,
                std::time::Instant::now() + std::time::Duration::from_secs(5),
            )
            .await;
            assert_eq!(response.batch_item_failures.len(), records, "{file}");
            continue;
        }
        let req = petty_tests::request(&event, "evt", None);
        let resp = match file.split('/').next() {
            Some("auth") => http.handle(&auth, req).await.unwrap(),
            Some("data-processor") => http.handle(&data, req).await.unwrap(),
            Some("health") => http.handle(&health, req).await.unwrap(),
            other => panic!("no handler for events of {other:?}"),
        };
        assert_eq!(resp.status(), StatusCode::from_u16(*status).unwrap(), "{file}");
    }
}
