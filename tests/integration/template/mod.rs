//! template.yaml against the code: routes (the local router, each function's routing table,
//! the README), sample events and seeding ([`events`]), least privilege proven from the
//! sources ([`least_privilege`] over [`source_scan`]), and alarms and the dashboard
//! ([`operations`]).

mod events;
mod iot;
mod least_privilege;
mod operations;
mod source_scan;

use least_privilege::*;
use source_scan::*;

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
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::readings::ReadingsTable;
use petty_shared::{Env, HttpService};
use petty_tests::{endpoint, repo_root, sdk, secret_cache, unique};
use petty_timeline::{TimelineApp, TimelineConfig};
use serde_norway::Value as Yaml;

pub(super) fn template() -> Yaml {
    serde_norway::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap()
}

pub(super) fn resources<'a>(t: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

/// (method, path) → binary, from the template's HttpApi events.
pub(super) fn template_routes() -> BTreeMap<(String, String), String> {
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

/// `(method, path) → binary` from a function's routing table.
fn table_rows<R>(binary: &str, table: &[petty_shared::http::RouteSpec<R>]) -> Vec<((String, String), String)> {
    table.iter().map(|r| ((r.method.to_owned(), r.path.to_owned()), binary.to_owned())).collect()
}

#[test]
fn each_functions_routing_table_is_exactly_its_template_routes() {
    let mut code = BTreeMap::new();
    for rows in [
        table_rows("petty-auth", petty_auth::ROUTES),
        table_rows("petty-data-processor", petty_data_processor::ROUTES),
        table_rows("petty-timeline", petty_timeline::ROUTES),
        table_rows("petty-feedback", petty_feedback::ROUTES),
        table_rows("petty-health", petty_health::ROUTES),
        table_rows("petty-admin", petty_admin::ROUTES),
        table_rows("petty-alerts", petty_alerts::ROUTES),
        table_rows("petty-notifications", petty_notifications::ROUTES),
        table_rows("petty-households", petty_households::ROUTES),
    ] {
        for (key, binary) in rows {
            assert!(code.insert(key.clone(), binary).is_none(), "{key:?} is declared twice");
        }
    }
    assert_eq!(code, template_routes());
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
    // The one hand-made role is the IoT topic rule's (a rule is not a function); its trust and
    // permissions are checked in `iot`.
    let roles: Vec<&str> = resources(&t, "AWS::IAM::Role").into_iter().map(|(n, _)| n).collect();
    assert_eq!(roles, vec!["ReadingsRuleRole"], "no shared, hand-made function roles");
}

/// The text of a plain or `!Sub`-tagged scalar, with `${Stage}` replaced.
pub(super) fn sub_text(value: &Yaml, stage: &str) -> String {
    let text = match value {
        Yaml::Tagged(tagged) => tagged.value.as_str(),
        other => other.as_str(),
    };
    text.expect("a string or !Sub string").replace("${Stage}", stage)
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
