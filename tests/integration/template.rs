//! template.yaml against the local router, the README, the seeding script and events/.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;

use petty_auth::{AuthApp, AuthConfig};
use petty_data_processor::{DataApp, DataConfig};
use petty_feedback::{FeedbackApp, FeedbackConfig};
use petty_health::{HealthApp, HealthConfig};
use petty_shared::config::FromEnv;
use petty_shared::jwt::{Signer, TokenType};
use petty_shared::secrets::{CacheSettings, SecretSource, SecretsManagerSource};
use petty_shared::serve_event;
use petty_shared::{Env, HttpService};
use petty_tests::{endpoint, repo_root, sdk, secret_cache, unique};
use petty_timeline::{TimelineApp, TimelineConfig};
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
fn every_function_has_its_own_role() {
    let t = template();
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        let props = &f["Properties"];
        assert!(props.get("Role").is_none(), "{name}: use Policies so SAM creates a role for this function alone");
        assert!(
            props["Policies"].as_sequence().is_some_and(|p| !p.is_empty()),
            "{name}: its own policy statements (no Policies would leave only SAM's defaults)"
        );
    }
    let roles = resources(&t, "AWS::IAM::Role");
    assert!(roles.is_empty(), "no shared, hand-made roles: {:?}", roles.iter().map(|(n, _)| n).collect::<Vec<_>>());
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

/// `events/expected.tsv`: (event file under events/, expected status), one row an event.
fn expected_statuses() -> Vec<(String, u16)> {
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
        if is_stub(&sources_under(&format!("{}/src", crate_dir(binary)))) {
            continue; // a 501 stub: its events come with its code
        }
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
    let auth = AuthApp::new(&AuthConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let data = DataApp::new(&DataConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let timeline =
        TimelineApp::new(&TimelineConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let feedback =
        FeedbackApp::new(&FeedbackConfig::from_env(&stack.env).unwrap(), petty_shared::aws::dynamodb(&sdk), cache());
    let (sink, _) = petty_shared::logging::memory_sink();
    let http = HttpService::from_config("events", &health_cfg.common).with_emf_sink(sink);
    for (file, status) in &expected_rows {
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
            other => panic!("no handler for events of {other:?}"),
        };
        assert_eq!(resp["statusCode"].as_u64(), Some(u64::from(*status)), "{file}");
    }
}

// ------------------------------------------------------------------------------------------
// Least privilege, proven: what each function's code calls against what its role grants.
//
// The code side scans the Rust sources of each function crate (`src/`, without `#[cfg(test)]`
// code and comments) for AWS SDK fluent calls (`.get_item()`, `.query()`...), maps each to its
// IAM action and works out which table, index or secret it targets by following the argument
// (`.table_name(&self.users)` → the store's `users: cfg.users_table` → `env.required(
// "USERS_TABLE")`, or through a constructor's caller). Shared code is attributed through
// `SHARED` below. The policy side reads each function's `Policies` statements and names every
// resource by the environment variable that hands it to the code (`!GetAtt UsersTable.Arn` →
// `USERS_TABLE: !Ref UsersTable`). Both sides must be equal: a call without a grant fails, and
// so does a grant no code uses.

/// AWS SDK fluent call → the IAM action it needs (`TRANSACT`: one action per item kind).
const SDK_CALLS: &[(&str, &str)] = &[
    ("get_item", "dynamodb:GetItem"),
    ("put_item", "dynamodb:PutItem"),
    ("update_item", "dynamodb:UpdateItem"),
    ("delete_item", "dynamodb:DeleteItem"),
    ("query", "dynamodb:Query"),
    ("scan", "dynamodb:Scan"),
    ("batch_write_item", "dynamodb:BatchWriteItem"),
    ("batch_get_item", "dynamodb:BatchGetItem"),
    ("transact_write_items", TRANSACT),
    ("transact_get_items", TRANSACT),
    ("describe_table", "dynamodb:DescribeTable"),
    ("get_secret_value", "secretsmanager:GetSecretValue"),
    ("describe_secret", "secretsmanager:DescribeSecret"),
    ("put_secret_value", "secretsmanager:PutSecretValue"),
    ("describe_alarms", "cloudwatch:DescribeAlarms"),
    ("put_metric_data", "cloudwatch:PutMetricData"),
];
const TRANSACT: &str = "(per item)";

/// TransactWriteItems/TransactGetItems have no IAM action of their own: each item is
/// authorized as the single-item action on its table.
const TRANSACT_ITEMS: &[(&str, &str)] = &[
    ("Put::builder()", "dynamodb:PutItem"),
    ("Update::builder()", "dynamodb:UpdateItem"),
    ("Delete::builder()", "dynamodb:DeleteItem"),
    ("ConditionCheck::builder()", "dynamodb:ConditionCheckItem"),
    ("Get::builder()", "dynamodb:GetItem"),
];

/// The commented allow-list of `Resource: "*"`: actions for which AWS offers no narrower
/// resource. Each such statement also carries a `# WILDCARD-OK: <why>` comment in the template.
const WILDCARD_ALLOWED: &[(&str, &str)] = &[
    ("cloudwatch:DescribeAlarms", "no resource-level permissions; the health function filters by the stack's prefix"),
    ("cloudwatch:PutMetricData", "no resource-level permissions (scope it with a cloudwatch:namespace condition)"),
    // Not in our Policies: SAM attaches AWSXrayWriteOnlyAccess for `Tracing: Active` and
    // AWSLambdaBasicExecutionRole (logs) to every role it generates.
    ("xray:PutTraceSegments", "no resource-level permissions"),
    ("xray:PutTelemetryRecords", "no resource-level permissions"),
];

/// Shared code that calls AWS, attributed to a function when its crate's sources contain
/// `used_if`. The table is named by the environment variable of what the function passes to
/// the constructor (`arg` = its position, checked against the function's code); `SECRETS`:
/// every `*_SECRET_ID` the function's configuration reads. Every SDK call in `shared/src` must
/// be covered here (checked), so new shared AWS code cannot slip past the policies.
struct Shared {
    what: &'static str,
    file: &'static str,
    used_if: &'static str,
    constructor: Option<(&'static str, usize)>,
    calls: &'static [(&'static str, &'static str)],
}
const SECRETS: &str = "*_SECRET_ID";
const SHARED: &[Shared] = &[
    Shared {
        what: "API-key lookups and last-use marks of the Authenticator",
        file: "shared/src/auth.rs",
        used_if: "DynamoApiKeys::new(",
        constructor: Some(("DynamoApiKeys::new(", 1)),
        calls: &[("dynamodb:GetItem", "API_KEYS_TABLE"), ("dynamodb:UpdateItem", "API_KEYS_TABLE")],
    },
    Shared {
        what: "API-key lookups of the data functions' Authenticator (DataRoutes)",
        file: "shared/src/auth.rs",
        used_if: "DataRoutes::new(",
        constructor: Some(("DataRoutes::new(", 3)),
        calls: &[("dynamodb:GetItem", "API_KEYS_TABLE"), ("dynamodb:UpdateItem", "API_KEYS_TABLE")],
    },
    Shared {
        what: "audit events the data functions write (DataRoutes)",
        file: "shared/src/audit.rs",
        used_if: "DataRoutes::new(",
        constructor: Some(("DataRoutes::new(", 4)),
        calls: &[("dynamodb:PutItem", "AUDIT_TABLE")],
    },
    Shared {
        what: "audit events written (DynamoAudit::record)",
        file: "shared/src/audit.rs",
        used_if: "DynamoAudit::new(",
        constructor: Some(("DynamoAudit::new(", 1)),
        calls: &[("dynamodb:PutItem", "AUDIT_TABLE")],
    },
    Shared {
        what: "a user's audit events read (DynamoAudit::recent)",
        file: "shared/src/audit.rs",
        used_if: ".recent(",
        constructor: Some(("DynamoAudit::new(", 1)),
        calls: &[("dynamodb:Query", "AUDIT_TABLE")],
    },
    Shared {
        what: "collar ownership checks (CollarReader)",
        file: "shared/src/collar.rs",
        used_if: "CollarReader::new(",
        constructor: Some(("CollarReader::new(", 1)),
        calls: &[("dynamodb:GetItem", "COLLARS_TABLE")],
    },
    Shared {
        what: "chunked batch writes (dynamo::batch_write)",
        file: "shared/src/dynamo.rs",
        used_if: "batch_write(",
        constructor: Some(("batch_write(", 1)),
        calls: &[("dynamodb:BatchWriteItem", "")],
    },
    Shared {
        what: "the secrets cache (SecretsManagerSource)",
        file: "shared/src/secrets.rs",
        used_if: "secret_cache(",
        constructor: None,
        calls: &[("secretsmanager:GetSecretValue", SECRETS)],
    },
];

/// Call sites whose target no source rule can follow, named by hand: (file, expression, env var).
const TARGET_OF: &[(&str, &str, &str)] = &[
    // Readiness describes each table of the list it is configured with.
    ("functions/health/src/probes.rs", "table", "TABLE_NAMES"),
];

/// One Rust source file: its path (from the repository root) and its code (no comments, no
/// `#[cfg(test)]` items).
struct Source {
    path: String,
    code: String,
}

fn sources_under(dir: &str) -> Vec<Source> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = repo_root();
    let mut files = Vec::new();
    walk(&root.join(dir), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| Source {
            path: p.strip_prefix(&root).unwrap().to_string_lossy().into_owned(),
            code: without_tests(&without_comments(&std::fs::read_to_string(&p).unwrap())),
        })
        .collect()
}

/// Removes `//` comments (doc comments included), minding string and char literals.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let bytes = line.as_bytes();
        let (mut i, mut in_str, mut cut) = (0, false, line.len());
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_str => i += 1,
                b'"' => in_str = !in_str,
                b'\'' if !in_str && bytes.get(i + 2) == Some(&b'\'') => i += 2,
                b'\'' if !in_str && bytes.get(i + 1) == Some(&b'\\') => {
                    i += bytes[i + 2..].iter().position(|&b| b == b'\'').map_or(0, |p| p + 2)
                }
                b'/' if !in_str && bytes.get(i + 1) == Some(&b'/') => {
                    cut = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    out
}

/// Removes every `#[cfg(test)]` item (a `mod tests { ... }`, a function, a `use`).
fn without_tests(code: &str) -> String {
    let mut code = code.to_owned();
    while let Some(at) = code.find("#[cfg(test)]") {
        let open = code[at..].find('{').map(|i| at + i);
        let semi = code[at..].find(';').map(|i| at + i);
        let end = match (open, semi) {
            (Some(o), Some(s)) if s < o => s,
            (Some(o), _) => closing(&code, o).unwrap_or(code.len() - 1),
            (None, Some(s)) => s,
            (None, None) => code.len() - 1,
        };
        code.replace_range(at..=end, "");
    }
    code
}

/// The index of the bracket closing the one at `open` (`(`, `[` or `{`), minding strings.
fn closing(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_str = false;
    let bytes = code.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' | b'[' | b'{' if !in_str => depth += 1,
            b')' | b']' | b'}' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The method chain starting at `at`: up to the end of its statement or expression.
fn chain_at(code: &str, at: usize) -> &str {
    let bytes = code.as_bytes();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut i = at;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' | b'[' if !in_str => depth += 1,
            b')' | b']' if !in_str => {
                depth -= 1;
                if depth < 0 {
                    break;
                }
            }
            b';' | b'{' | b'}' | b',' if !in_str && depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    &code[at..i]
}

/// The arguments of the call whose `(` ends `call` at `at` (e.g. `.table_name(`), split at
/// top-level commas.
fn args_at(code: &str, paren: usize) -> Vec<String> {
    let Some(end) = closing(code, paren) else { return vec![] };
    let inner = &code[paren + 1..end];
    let (mut args, mut depth, mut start, mut in_str) = (Vec::new(), 0i32, 0, false);
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' | b'[' | b'{' | b'<' if !in_str => depth += 1,
            b')' | b']' | b'}' | b'>' if !in_str => depth -= 1,
            b',' if !in_str && depth == 0 => {
                args.push(inner[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if !inner[start..].trim().is_empty() {
        args.push(inner[start..].trim().to_owned());
    }
    args
}

/// The first argument of `.method(` in `chain`.
fn arg_in(chain: &str, method: &str) -> Option<String> {
    let at = chain.find(method)?;
    args_at(chain, at + method.len() - 1).into_iter().next()
}

/// Occurrences of `needle` that start a word (not `foo_batch_write(` for `batch_write(`).
fn find_word<'a>(code: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    code.match_indices(needle).map(|(i, _)| i).filter(move |&i| {
        needle.starts_with(['.', ':'])
            || i == 0
            || !code.as_bytes()[i - 1].is_ascii_alphanumeric() && code.as_bytes()[i - 1] != b'_'
    })
}

/// `&self.users.clone()` → `self.users`.
fn normalized(expr: &str) -> String {
    let mut e = expr.trim().trim_start_matches('&').trim();
    for suffix in [".clone()", ".as_str()", ".to_owned()", ".to_string()", ".into()", ".as_ref()"] {
        while let Some(stripped) = e.strip_suffix(suffix) {
            e = stripped.trim();
        }
    }
    e.to_owned()
}

/// What a function crate's code calls: (IAM action, target) with the target named by the
/// environment variable that configures it (`USERS_TABLE`, `API_KEYS_TABLE/index/user_id-index`,
/// `PUBLIC_KEYS_SECRET_ID`, or `*` for actions without resources).
struct CodeScan<'a> {
    krate: &'a [Source],
    config: &'a [Source],
}

impl CodeScan<'_> {
    /// The environment variable a configuration field is read from.
    fn env_of_field(&self, field: &str) -> Option<String> {
        let needle = format!("{field}: env.");
        self.krate.iter().chain(self.config).find_map(|s| {
            let at = find_word(&s.code, &needle).next()?;
            let rest = &s.code[at..];
            let q = rest.find('"')?;
            let end = rest[q + 1..].find('"')?;
            Some(rest[q + 1..q + 1 + end].to_owned())
        })
    }

    /// The type of the `impl` block around `at` in `code`.
    fn impl_type(code: &str, at: usize) -> Option<String> {
        let line = code[..at].lines().rev().find(|l| l.trim_start().starts_with("impl"))?.trim_start();
        let header = &line[..line.find('{').unwrap_or(line.len())];
        let ty = header.rsplit(" for ").next()?.trim().trim_start_matches("impl").trim();
        let ty = ty.rsplit("> ").next()?.split('<').next()?.trim();
        Some(ty.rsplit("::").next()?.to_owned())
    }

    /// Resolves the expression naming a table or secret at `at` in `source` to environment
    /// variables (several when a constructor has several callers).
    fn resolve(&self, source: &Source, at: usize, expr: &str, depth: u32) -> Result<BTreeSet<String>, String> {
        let e = normalized(expr);
        if depth > 4 {
            return Err(format!("{}: `{e}` resolves too deep", source.path));
        }
        if let Some((_, _, env)) = TARGET_OF.iter().find(|(p, x, _)| *p == source.path && *x == e) {
            return Ok(BTreeSet::from([(*env).to_owned()]));
        }
        if let Some(i) = e.find("cfg.").or_else(|| e.find("config.")) {
            let field = e[i..].rsplit('.').next().unwrap();
            return self
                .env_of_field(field)
                .map(|v| BTreeSet::from([v]))
                .ok_or_else(|| format!("{}: no `{field}: env...` in the configuration", source.path));
        }
        let Some(field) = e.strip_prefix("self.") else {
            return Err(format!("{}: cannot tell what `{e}` names; add it to TARGET_OF", source.path));
        };
        // `self.field`: how the constructor of the surrounding type fills it.
        let ty = Self::impl_type(&source.code, at).ok_or_else(|| format!("{}: `{e}` outside an impl", source.path))?;
        let from_config: Vec<&str> = find_word(&source.code, &format!("{field}: "))
            .map(|i| chain_at(&source.code, i + field.len() + 2))
            .filter(|rhs| rhs.contains("cfg.") || rhs.contains("config."))
            .collect();
        match from_config.as_slice() {
            [_, ..] => {
                let mut out = BTreeSet::new();
                for rhs in from_config {
                    out.extend(self.resolve(source, at, rhs, depth + 1)?);
                }
                Ok(out)
            }
            [] => {
                // Filled from a constructor parameter: follow every caller of `Type::new(`.
                let impl_at = source
                    .code
                    .find(&format!("impl {ty} {{"))
                    .ok_or_else(|| format!("{}: no `impl {ty}`", source.path))?;
                let new_at = source.code[impl_at..]
                    .find("fn new(")
                    .map(|i| impl_at + i + "fn new".len())
                    .ok_or_else(|| format!("{}: no `{ty}::new` fills `{field}`", source.path))?;
                let params = args_at(&source.code, new_at);
                let index = params
                    .iter()
                    .filter(|p| !p.contains("self"))
                    .position(|p| p.split(':').next().unwrap().trim().trim_start_matches("mut ") == field)
                    .ok_or_else(|| format!("{}: `{ty}::new` has no parameter `{field}`", source.path))?;
                self.targets_from_callers(&format!("{ty}::new("), index, depth)
            }
        }
    }

    /// The targets passed as argument `index` by every call of `call` in the crate.
    fn targets_from_callers(&self, call: &str, index: usize, depth: u32) -> Result<BTreeSet<String>, String> {
        let mut out = BTreeSet::new();
        for s in self.krate {
            for at in find_word(&s.code, call) {
                let args = args_at(&s.code, at + call.len() - 1);
                let arg = args.get(index).ok_or_else(|| format!("{}: `{call}` without argument {index}", s.path))?;
                out.extend(self.resolve(s, at, arg, depth + 1)?);
            }
        }
        if out.is_empty() {
            return Err(format!("no caller of `{call}` in the crate"));
        }
        Ok(out)
    }

    /// Every (action, target) of the crate's own code.
    fn own_calls(&self) -> Result<BTreeSet<(String, String)>, String> {
        let mut out = BTreeSet::new();
        for s in self.krate {
            for (call, action) in SDK_CALLS {
                for at in find_word(&s.code, &format!(".{call}()")) {
                    let chain = chain_at(&s.code, at);
                    if ![
                        ".send()",
                        ".table_name(",
                        ".request_items(",
                        ".secret_id(",
                        ".transact_items(",
                        ".into_paginator()",
                    ]
                    .iter()
                    .any(|m| chain.contains(m))
                    {
                        continue; // not an SDK call (e.g. `uri().query()`)
                    }
                    out.extend(self.targets_of_call(s, at, chain, action)?);
                }
            }
        }
        Ok(out)
    }

    fn targets_of_call(
        &self,
        s: &Source,
        at: usize,
        chain: &str,
        action: &str,
    ) -> Result<Vec<(String, String)>, String> {
        if WILDCARD_ALLOWED.iter().any(|(a, _)| *a == action) {
            return Ok(vec![(action.to_owned(), "*".to_owned())]);
        }
        if action == TRANSACT {
            // The items are built before the call, in the same function.
            let fn_start = s.code[..at].rfind("fn ").unwrap_or(0);
            let body = &s.code[fn_start..at + chain.len()];
            let mut out = Vec::new();
            for (builder, item_action) in TRANSACT_ITEMS {
                for b in body.match_indices(builder).map(|(i, _)| i) {
                    let table = arg_in(&body[b..], ".table_name(")
                        .ok_or_else(|| format!("{}: {builder} without a table", s.path))?;
                    for env in self.resolve(s, fn_start + b, &table, 0)? {
                        out.push(((*item_action).to_owned(), env));
                    }
                }
            }
            return Ok(out);
        }
        let target = arg_in(chain, ".table_name(")
            .or_else(|| arg_in(chain, ".request_items("))
            .or_else(|| arg_in(chain, ".secret_id("))
            .ok_or_else(|| format!("{}: cannot find the target of `{action}` in `{chain}`", s.path))?;
        let index = match arg_in(chain, ".index_name(") {
            Some(name) if name.starts_with('"') => format!("/index/{}", name.trim_matches('"')),
            Some(other) => return Err(format!("{}: index name `{other}` is not a literal", s.path)),
            None => String::new(),
        };
        Ok(self
            .resolve(s, at, &target, 0)?
            .into_iter()
            .map(|env| (action.to_owned(), format!("{env}{index}")))
            .collect())
    }

    /// Every (action, target) the crate makes through shared code.
    fn shared_calls(&self) -> Result<BTreeSet<(String, String)>, String> {
        let mut out = BTreeSet::new();
        let uses = |marker: &str| self.krate.iter().any(|s| find_word(&s.code, marker).next().is_some());
        for shared in SHARED.iter().filter(|sh| uses(sh.used_if)) {
            for (action, declared) in shared.calls {
                let targets = if *declared == SECRETS {
                    self.secret_ids()
                } else {
                    let (call, index) = shared.constructor.expect("a table comes through a constructor");
                    let found =
                        self.targets_from_callers(call, index, 0).map_err(|e| format!("{}: {e}", shared.what))?;
                    assert!(
                        declared.is_empty() || found == BTreeSet::from([(*declared).to_owned()]),
                        "{}: the code passes {found:?}, SHARED says {declared}",
                        shared.what
                    );
                    found
                };
                out.extend(targets.into_iter().map(|t| ((*action).to_owned(), t)));
            }
        }
        Ok(out)
    }

    /// Every `*_SECRET_ID` the function's configuration reads: its own, and those of the
    /// shared configuration types it uses (`CommonConfig` always).
    fn secret_ids(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let uses =
            |ty: &str| ty == "CommonConfig" || self.krate.iter().any(|s| find_word(&s.code, ty).next().is_some());
        for (s, shared) in self.krate.iter().map(|s| (s, false)).chain(self.config.iter().map(|s| (s, true))) {
            for (i, _) in s.code.match_indices("_SECRET_ID\"") {
                if shared && !Self::impl_type(&s.code, i).is_some_and(|ty| uses(&ty)) {
                    continue;
                }
                let start = s.code[..i].rfind('"').unwrap() + 1;
                out.insert(s.code[start..i + "_SECRET_ID".len()].to_owned());
            }
        }
        out
    }
}

/// The function's environment (Globals, then its own) as (variable, logical id, through a list).
fn env_refs(t: &Yaml, f: &Yaml) -> Vec<(String, String, bool)> {
    let globals = t["Globals"]["Function"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    let own = f["Properties"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (var, value) in globals.iter().chain(own.iter()) {
        for (logical, listed) in refs_in(value) {
            out.push((var.as_str().unwrap().to_owned(), logical, listed));
        }
    }
    out
}

/// What a function's `Policies` grant: (action, target) with targets named like the code's
/// (a resource handed over in a list, like `TABLE_NAMES`, is `TABLE_NAMES[UsersTable]`).
fn granted(t: &Yaml, name: &str, f: &Yaml) -> BTreeSet<(String, String)> {
    let env_of: BTreeMap<String, String> = env_refs(t, f)
        .into_iter()
        .map(|(var, logical, listed)| {
            let key = if listed { format!("{var}[{logical}]") } else { var };
            (logical, key)
        })
        .collect();
    let mut out = BTreeSet::new();
    for policy in f["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        assert!(
            policy.get("Statement").is_some(),
            "{name}: use explicit policy statements (not SAM policy templates or managed policies) so this test can check them"
        );
        for st in policy["Statement"].as_sequence().unwrap() {
            assert_eq!(st["Effect"].as_str(), Some("Allow"), "{name}: only Allow statements expected");
            for action in strings(&st["Action"]) {
                for resource in list(&st["Resource"]) {
                    let target = match resource {
                        Yaml::String(s) if s == "*" => "*".to_owned(),
                        Yaml::Tagged(tag) => {
                            let text = tag.value.as_str().unwrap_or_else(|| panic!("{name}: resource {tag:?}"));
                            let (logical, rest) = match tag.tag.to_string().as_str() {
                                "!GetAtt" => (text.strip_suffix(".Arn").expect("X.Arn").to_owned(), String::new()),
                                "!Ref" => (text.to_owned(), String::new()),
                                "!Sub" => {
                                    let inner = text
                                        .strip_prefix("${")
                                        .and_then(|r| r.split_once(".Arn}"))
                                        .expect("${X.Arn}/...");
                                    (inner.0.to_owned(), inner.1.to_owned())
                                }
                                other => panic!("{name}: resource tag {other}"),
                            };
                            let var = env_of.get(&logical).unwrap_or_else(|| {
                                panic!("{name}: grants {action} on {logical}, which its environment does not name")
                            });
                            format!("{var}{rest}")
                        }
                        other => panic!("{name}: resource {other:?} must be a reference to this stack's resource"),
                    };
                    out.insert((action.clone(), target));
                }
            }
        }
    }
    out
}

/// The logical ids a value refers to, and whether through a list (`!Join`).
fn refs_in(value: &Yaml) -> Vec<(String, bool)> {
    match value {
        Yaml::Tagged(tag) if tag.tag == "!Ref" => vec![(tag.value.as_str().unwrap().to_owned(), false)],
        Yaml::Tagged(tag) if tag.tag == "!Join" => {
            tag.value[1].as_sequence().into_iter().flatten().flat_map(refs_in).map(|(l, _)| (l, true)).collect()
        }
        _ => vec![],
    }
}

fn strings(value: &Yaml) -> Vec<String> {
    list(value).iter().map(|v| v.as_str().expect("a string").to_owned()).collect()
}

fn list(value: &Yaml) -> Vec<Yaml> {
    match value {
        Yaml::Sequence(items) => items.clone(),
        Yaml::Null => vec![],
        other => vec![other.clone()],
    }
}

/// The crate directory of a function, from its binary name (`petty-auth` → `functions/auth`).
fn crate_dir(binary: &str) -> String {
    let dir = format!("functions/{}", binary.strip_prefix("petty-").expect("binaries are named petty-<dir>"));
    let manifest = std::fs::read_to_string(repo_root().join(&dir).join("Cargo.toml")).unwrap();
    assert!(manifest.contains(&format!("name = \"{binary}\"")), "{dir}/Cargo.toml builds {binary}");
    dir
}

/// A crate still answering 501 everywhere (its issue not landed): it may hold grants its code
/// does not use yet, but never lack one.
fn is_stub(krate: &[Source]) -> bool {
    krate.iter().any(|s| s.path.ends_with("main.rs") && s.code.contains("NotYetImplemented"))
}

#[test]
fn every_function_is_granted_exactly_the_aws_calls_its_code_makes() {
    let t = template();
    let config = sources_under("shared/src").into_iter().filter(|s| s.path.ends_with("config.rs")).collect::<Vec<_>>();
    let mut failures = Vec::new();
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        let dir = crate_dir(f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap());
        let krate = sources_under(&format!("{dir}/src"));
        let scan = CodeScan { krate: &krate, config: &config };
        let mut calls = scan.own_calls().unwrap_or_else(|e| panic!("{name}: {e}"));
        calls.extend(scan.shared_calls().unwrap_or_else(|e| panic!("{name}: {e}")));
        // A list-valued target (`TABLE_NAMES`) stands for each resource of the list.
        let env = env_refs(&t, f);
        let calls: BTreeSet<(String, String)> = calls
            .into_iter()
            .flat_map(|(action, target)| {
                let listed: Vec<_> = env
                    .iter()
                    .filter(|(var, _, listed)| *listed && *var == target)
                    .map(|(var, logical, _)| (action.clone(), format!("{var}[{logical}]")))
                    .collect();
                if listed.is_empty() { vec![(action, target)] } else { listed }
            })
            .collect();
        let grants = granted(&t, name, f);
        for missing in calls.difference(&grants) {
            failures.push(format!("{name}: the code calls {} on {} without a grant", missing.0, missing.1));
        }
        if is_stub(&krate) {
            println!("{name}: its crate is a 501 stub; grants not yet used by code are tolerated");
            continue;
        }
        for unused in grants.difference(&calls) {
            failures.push(format!("{name}: grants {} on {}, which its code never calls", unused.0, unused.1));
        }
    }
    assert!(failures.is_empty(), "least privilege:\n  {}", failures.join("\n  "));
}

#[test]
fn every_sdk_call_in_shared_code_is_attributed() {
    let shared = sources_under("shared/src");
    for s in &shared {
        let mut found = BTreeSet::new();
        for (call, action) in SDK_CALLS {
            for at in find_word(&s.code, &format!(".{call}()")) {
                let chain = chain_at(&s.code, at);
                if [".send()", ".table_name(", ".request_items(", ".secret_id(", ".into_paginator()"]
                    .iter()
                    .any(|m| chain.contains(m))
                {
                    found.insert((*action).to_owned());
                }
            }
        }
        let declared: BTreeSet<String> = SHARED
            .iter()
            .filter(|sh| sh.file == s.path)
            .flat_map(|sh| sh.calls.iter().map(|(a, _)| (*a).to_owned()))
            .collect();
        assert_eq!(found, declared, "{}: SDK calls vs. their entries in SHARED", s.path);
    }
}

#[test]
fn the_source_scan_sees_through_stores_constructors_and_transactions() {
    // A store filled from the configuration, a transaction, an index and a shared constructor.
    let krate = vec![Source {
        path: "functions/x/src/store.rs".into(),
        code: without_tests(&without_comments(
            r#"
            impl Store {
                pub fn new(client: Client, cfg: &Config) -> Self { Self { client, users: cfg.users_table.clone(), reader: Reader::new(client.clone(), cfg.readings_table.clone()) } }
                async fn a(&self) { self.client.get_item().table_name(&self.users).send().await; } // .put_item() in a comment
                async fn b(&self) {
                    let put = |pk| TransactWriteItem::builder().put(Put::builder().table_name(&self.users).build());
                    self.client.transact_write_items().transact_items(put(1)).send().await;
                }
                async fn c(&self) { query_all(self.client.query().table_name(&self.users).index_name("by-email")).await; }
                fn d(&self, req: &Request) { req.uri().query(); }
            }
            impl Reader {
                pub fn new(client: Client, table: impl Into<String>) -> Self { Self { client, table: table.into() } }
                async fn e(&self) { self.client.query().table_name(&self.table).into_paginator(); }
            }
            #[cfg(test)]
            mod tests { fn f(c: Client) { c.delete_item().table_name("t").send(); } }
            "#,
        )),
    }];
    let config = vec![Source {
        path: "functions/x/src/config.rs".into(),
        code: "users_table: env.required(\"USERS_TABLE\")?, readings_table: env.required(\"READINGS_TABLE\")?,".into(),
    }];
    let scan = CodeScan { krate: &krate, config: &config };
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<BTreeSet<_>>();
    assert_eq!(
        scan.own_calls().unwrap(),
        pairs(&[
            ("dynamodb:GetItem", "USERS_TABLE"),
            ("dynamodb:PutItem", "USERS_TABLE"),
            ("dynamodb:Query", "USERS_TABLE/index/by-email"),
            ("dynamodb:Query", "READINGS_TABLE"),
        ])
    );
}

#[test]
fn wildcards_only_where_aws_offers_nothing_narrower() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let t = template();
    fn walk(v: &Yaml, path: &str, out: &mut Vec<(String, Yaml)>) {
        match v {
            Yaml::Mapping(m) => {
                for (k, v) in m {
                    let key = k.as_str().unwrap_or("?");
                    if key == "Statement" {
                        for st in v.as_sequence().into_iter().flatten() {
                            out.push((path.to_owned(), st.clone()));
                        }
                    }
                    walk(v, &format!("{path}/{key}"), out);
                }
            }
            Yaml::Sequence(items) => items.iter().for_each(|i| walk(i, path, out)),
            Yaml::Tagged(tag) => walk(&tag.value, path, out),
            _ => {}
        }
    }
    let mut statements = Vec::new();
    walk(&t["Resources"], "Resources", &mut statements);
    assert!(statements.len() > 5, "the walk finds the policy statements");
    for (path, st) in statements {
        let actions = strings(&st["Action"]);
        assert!(actions.iter().all(|a| !a.contains('*')), "{path}: wildcard action in {actions:?}");
        for resource in list(&st["Resource"]) {
            let Some(r) = resource.as_str() else { continue };
            if !r.contains('*') {
                continue;
            }
            assert_eq!(r, "*", "{path}: partial wildcard resource {r}");
            for a in &actions {
                assert!(
                    WILDCARD_ALLOWED.iter().any(|(w, _)| w == a),
                    "{path}: Resource \"*\" for {a}, not in the allow-list"
                );
            }
            let sid = st["Sid"].as_str().unwrap_or_else(|| panic!("{path}: a wildcard statement needs a Sid"));
            let line = text.find(&format!("- Sid: {sid}\n")).expect("the Sid in the template text");
            let before = &text[..text[..line].rfind('\n').unwrap_or(0)];
            let comment: Vec<&str> = before.lines().rev().take_while(|l| l.trim_start().starts_with('#')).collect();
            assert!(
                comment.iter().any(|l| l.contains("WILDCARD-OK:")),
                "{path}: statement {sid} needs a `# WILDCARD-OK: <why>` comment right above it"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Operations: every function, table, dead-letter queue and the API have their alarms (named for
// the health function's prefix, with dimensions and actions) and their dashboard widgets.

fn is_ref(v: &Yaml, logical: &str) -> bool {
    matches!(v, Yaml::Tagged(tag) if tag.tag == "!Ref" && tag.value.as_str() == Some(logical))
}

/// The dimension `name` of an alarm or of any MetricStat in its Metrics.
fn alarm_dimensions(alarm: &Yaml) -> Vec<(String, Yaml)> {
    let p = &alarm["Properties"];
    let mut dims: Vec<Yaml> = list(&p["Dimensions"]);
    for m in list(&p["Metrics"]) {
        dims.extend(list(&m["MetricStat"]["Metric"]["Dimensions"]));
    }
    dims.iter().map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone())).collect()
}

fn alarm_metric_names(alarm: &Yaml) -> Vec<String> {
    let p = &alarm["Properties"];
    let mut names: Vec<String> = p["MetricName"].as_str().map(str::to_owned).into_iter().collect();
    for m in list(&p["Metrics"]) {
        names.extend(m["MetricStat"]["Metric"]["MetricName"].as_str().map(str::to_owned));
        names.extend(m["Expression"].as_str().map(str::to_owned));
        if let Yaml::Tagged(tag) = &m["Expression"] {
            names.extend(tag.value.as_str().map(str::to_owned));
        }
    }
    names
}

/// The dashboard body as JSON, every `${X}` replaced by `X`.
fn dashboard() -> serde_json::Value {
    let t = template();
    let boards = resources(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(boards.len(), 1, "one dashboard");
    let Yaml::Tagged(body) = &boards[0].1["Properties"]["DashboardBody"] else { panic!("DashboardBody: !Sub |") };
    let mut text = body.value.as_str().unwrap().to_owned();
    while let Some(start) = text.find("${") {
        let end = start + text[start..].find('}').unwrap();
        let name = text[start + 2..end].to_owned();
        text.replace_range(start..=end, &name);
    }
    serde_json::from_str(&text).expect("the dashboard body is JSON")
}

fn function_timeout(t: &Yaml, f: &Yaml) -> u64 {
    f["Properties"]["Timeout"].as_u64().or_else(|| t["Globals"]["Function"]["Timeout"].as_u64()).unwrap()
}

#[test]
fn every_alarm_is_named_for_the_stage_has_dimensions_and_notifies() {
    let t = template();
    let alarms = resources(&t, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 10);
    for (name, alarm) in &alarms {
        let p = &alarm["Properties"];
        let alarm_name = sub_text(&p["AlarmName"], "STAGE");
        assert!(alarm_name.starts_with("petty-STAGE-"), "{name}: AlarmName must start with petty-${{Stage}}-");
        assert!(!list(&p["AlarmActions"]).is_empty() && !list(&p["OKActions"]).is_empty(), "{name}: notifies");
        let queries_filtered = list(&p["Metrics"]).iter().any(|m| match &m["Expression"] {
            Yaml::Tagged(tag) => tag.value.as_str().is_some_and(|q| q.contains("SELECT") && q.contains("WHERE")),
            _ => false,
        });
        assert!(
            !alarm_dimensions(alarm).is_empty() || queries_filtered,
            "{name}: an alarm without dimensions watches the account"
        );
        for m in list(&p["Metrics"]) {
            let stat = &m["MetricStat"]["Metric"];
            assert!(
                stat.is_null() || !list(&stat["Dimensions"]).is_empty(),
                "{name}: metric {:?} without dimensions",
                m["Id"]
            );
        }
    }
    let mut names: Vec<String> = alarms.iter().map(|(_, a)| sub_text(&a["Properties"]["AlarmName"], "s")).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), alarms.len(), "alarm names are unique");
}

#[test]
fn every_function_has_its_alarms_and_dashboard_row() {
    let t = template();
    let alarms = resources(&t, "AWS::CloudWatch::Alarm");
    let board = dashboard().to_string();
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        let timeout_ms = function_timeout(&t, f) * 1000;
        let of_function: Vec<&Yaml> = alarms
            .iter()
            .filter(|(_, a)| alarm_dimensions(a).iter().any(|(d, v)| d == "FunctionName" && is_ref(v, name)))
            .map(|(_, a)| *a)
            .collect();
        let by_metric =
            |metric: &str| of_function.iter().find(|a| a["Properties"]["MetricName"].as_str() == Some(metric));
        assert!(by_metric("Errors").is_some(), "{name}: an Errors alarm");
        assert!(by_metric("Throttles").is_some(), "{name}: a Throttles alarm");
        let duration =
            by_metric("Duration").unwrap_or_else(|| panic!("{name}: a Duration alarm"))["Properties"].clone();
        assert_eq!(duration["ExtendedStatistic"].as_str(), Some("p99"), "{name}: p99 duration");
        assert_eq!(
            duration["Threshold"].as_u64(),
            Some(timeout_ms * 8 / 10),
            "{name}: p99 against 80 % of its timeout"
        );
        for metric in ["\"Invocations\"", "\"Errors\"", "\"Throttles\"", "\"Duration\"", "\"ColdStart\""] {
            let row = format!("{metric},\"FunctionName\",\"{name}\"");
            let emf = format!("{metric},\"service\"");
            assert!(
                board.contains(&row)
                    || (board.contains(&emf) && board.contains(&format!("\"function_name\",\"{name}\""))),
                "{name}: the dashboard shows its {metric}"
            );
        }
        assert!(
            board.contains(&format!("\"timeout {} s\"", timeout_ms / 1000)),
            "{name}: duration graph marks its timeout"
        );
        // Its own log group, with retention.
        let logs = &f["Properties"]["LoggingConfig"]["LogGroup"];
        let group = resources(&t, "AWS::Logs::LogGroup").into_iter().find(|(l, _)| is_ref(logs, l));
        let (_, group) =
            group.unwrap_or_else(|| panic!("{name}: LoggingConfig.LogGroup is one of the stack's log groups"));
        assert!(is_ref(&group["Properties"]["RetentionInDays"], "LogRetentionDays"), "{name}: log retention");
        // A queue it consumes stays invisible for six timeouts (Lambda's SQS guidance).
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() == Some("SQS") {
                let Yaml::Tagged(q) = &event["Properties"]["Queue"] else { panic!("Queue: !GetAtt X.Arn") };
                let queue = q.value.as_str().unwrap().trim_end_matches(".Arn");
                let visibility = t["Resources"][queue]["Properties"]["VisibilityTimeout"].as_u64().unwrap();
                assert!(
                    visibility >= 6 * timeout_ms / 1000,
                    "{queue}: VisibilityTimeout {visibility} < 6 x {name}'s timeout"
                );
            }
        }
    }
}

#[test]
fn every_table_dead_letter_queue_and_the_api_have_alarms() {
    let t = template();
    let alarms = resources(&t, "AWS::CloudWatch::Alarm");
    let watching = |dimension: &str, pred: &dyn Fn(&Yaml) -> bool| {
        alarms.iter().any(|(_, a)| alarm_dimensions(a).iter().any(|(d, v)| d == dimension && pred(v)))
    };
    let board = dashboard().to_string();
    for (table, _) in resources(&t, "AWS::DynamoDB::Table") {
        assert!(watching("TableName", &|v| is_ref(v, table)), "{table}: a throttling alarm");
        assert!(board.contains(&format!("\"TableName\",\"{table}\"")), "{table}: on the dashboard");
    }
    for (queue, q) in resources(&t, "AWS::SQS::Queue") {
        let Some(Yaml::Tagged(dlq)) = q["Properties"]["RedrivePolicy"].get("deadLetterTargetArn") else { continue };
        let dlq = dlq.value.as_str().unwrap().trim_end_matches(".Arn").to_owned();
        let by_name =
            |v: &Yaml| matches!(v, Yaml::Tagged(tag) if tag.value.as_str() == Some(&format!("{dlq}.QueueName")));
        assert!(watching("QueueName", &by_name), "{queue}'s dead-letter queue {dlq}: a depth alarm");
    }
    for metric in ["5xx", "Latency"] {
        assert!(
            alarms.iter().any(|(_, a)| alarm_metric_names(a).iter().any(|m| m == metric)
                && alarm_dimensions(a).iter().any(|(d, v)| d == "ApiId" && is_ref(v, "HttpApi"))),
            "an API {metric} alarm"
        );
    }
    // The EMF metrics the alarms and the dashboard read are the ones the code emits.
    let emitted = std::fs::read_to_string(repo_root().join("functions/data-processor/src/ingest.rs")).unwrap();
    for metric in ["ReadingsAccepted", "ReadingsRejected"] {
        assert!(emitted.contains(&format!("\"{metric}\"")), "the data processor emits {metric}");
        assert!(alarms.iter().any(|(_, a)| alarm_metric_names(a).iter().any(|m| m.contains(metric))), "{metric} alarm");
        assert!(board.contains(metric), "{metric} on the dashboard");
    }
    let metrics_rs = std::fs::read_to_string(repo_root().join("shared/src/metrics.rs")).unwrap();
    assert!(metrics_rs.contains("NAMESPACE: &str = \"Petty\""), "the EMF namespace the template reads");
    assert!(board.contains("BehaviorAccuracy") && board.contains("behavior"), "behaviour accuracy on the dashboard");
}

#[test]
fn route_throttling_names_existing_routes() {
    let t = template();
    let routes = template_routes();
    let settings = t["Resources"]["HttpApi"]["Properties"]["RouteSettings"].as_mapping().expect("per-route throttling");
    for (key, s) in settings {
        let (method, path) = key.as_str().unwrap().split_once(' ').unwrap();
        assert!(routes.contains_key(&(method.to_owned(), path.to_owned())), "RouteSettings for unknown route {key:?}");
        let default = &t["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"];
        assert!(s["ThrottlingRateLimit"].as_u64() < default["ThrottlingRateLimit"].as_u64(), "{key:?} is tighter");
    }
    for login in ["POST /v1/auth/login", "POST /v1/auth/register"] {
        assert!(settings.contains_key(login), "{login} has its own throttling");
    }
}
