//! openapi.yaml (the API contract) against template.yaml and the local router: the same
//! routes, each operation well-formed enough for `make fuzz-api` (tools/fuzz_api.sh) to mean
//! something.

use std::collections::BTreeSet;

use petty_tests::repo_root;
use serde_norway::Value as Yaml;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

fn yaml(file: &str) -> Yaml {
    let text = std::fs::read_to_string(repo_root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn spec() -> Yaml {
    yaml("openapi.yaml")
}

/// (METHOD, path) of every operation in the spec.
fn spec_routes(spec: &Yaml) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().expect("openapi.yaml has paths") {
        let path = path.as_str().unwrap();
        for method in METHODS {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    routes
}

/// (METHOD, path) of every HttpApi event in template.yaml.
fn template_routes() -> BTreeSet<(String, String)> {
    let t = yaml("template.yaml");
    let mut routes = BTreeSet::new();
    for (_, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        for (_, event) in resource["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                routes.insert((p["Method"].as_str().unwrap().to_uppercase(), p["Path"].as_str().unwrap().to_owned()));
            }
        }
    }
    routes
}

/// (METHOD, path) of the cargo-lambda router in Cargo.toml (`make dev`, the local stack).
fn router_routes() -> BTreeSet<(String, String)> {
    let cargo: toml::Table = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap().parse().unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    router
        .iter()
        .flat_map(|(path, targets)| {
            targets
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| (t["method"].as_str().unwrap().to_uppercase(), path.clone()))
        })
        .collect()
}

fn differences(a: &BTreeSet<(String, String)>, b: &BTreeSet<(String, String)>) -> Vec<String> {
    let only_a = a.difference(b).map(|(m, p)| format!("only in the spec: {m} {p}"));
    let only_b = b.difference(a).map(|(m, p)| format!("not in the spec: {m} {p}"));
    only_a.chain(only_b).collect()
}

#[test]
fn the_spec_describes_exactly_the_templates_routes() {
    let spec = spec_routes(&spec());
    let template = template_routes();
    assert!(!template.is_empty(), "template.yaml has HttpApi events");
    let diff = differences(&spec, &template);
    assert!(diff.is_empty(), "openapi.yaml and template.yaml differ:\n{}", diff.join("\n"));
    let diff = differences(&spec, &router_routes());
    assert!(diff.is_empty(), "openapi.yaml and Cargo.toml's local router differ:\n{}", diff.join("\n"));
}

/// What a `$ref` points at, within the spec.
fn resolve<'a>(spec: &'a Yaml, value: &'a Yaml) -> &'a Yaml {
    match value.get("$ref").and_then(Yaml::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix("#/").unwrap_or_else(|| panic!("local $ref only: {reference}"));
            let target = pointer.split('/').fold(spec, |node, key| &node[key]);
            assert!(!target.is_null(), "dangling $ref {reference}");
            resolve(spec, target)
        }
        None => value,
    }
}

#[test]
fn every_operation_declares_its_security_parameters_and_error_shape() {
    let spec = spec();
    assert_eq!(spec["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true), "OpenAPI 3.1");
    let schemes: BTreeSet<&str> =
        spec["components"]["securitySchemes"].as_mapping().unwrap().keys().filter_map(Yaml::as_str).collect();
    assert_eq!(schemes, BTreeSet::from(["apiKeyAuth", "bearerAuth"]));
    assert_eq!(spec["components"]["securitySchemes"]["apiKeyAuth"]["name"].as_str(), Some("X-Api-Key"));

    let mut operation_ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        let shared_params = item["parameters"].as_sequence().cloned().unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at}: operationId"));
            assert!(operation_ids.insert(id.to_owned()), "{at}: duplicate operationId {id}");

            // Security is explicit on every operation, and names declared schemes only.
            let security = op["security"].as_sequence().unwrap_or_else(|| panic!("{at}: explicit `security`"));
            for requirement in security {
                for name in requirement.as_mapping().unwrap().keys() {
                    assert!(schemes.contains(name.as_str().unwrap()), "{at}: unknown scheme {name:?}");
                }
            }

            // Every {param} of the path is declared as a required path parameter.
            let params: Vec<&Yaml> = shared_params
                .iter()
                .chain(op["parameters"].as_sequence().into_iter().flatten())
                .map(|p| resolve(&spec, p))
                .collect();
            for name in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
                assert!(
                    params.iter().any(|p| p["name"].as_str() == Some(name)
                        && p["in"].as_str() == Some("path")
                        && p["required"].as_bool() == Some(true)),
                    "{at}: path parameter `{name}` not declared"
                );
            }

            // A success, the 400 every route can answer, 401 where credentials are needed,
            // and X-Request-ID on every response.
            let responses = op["responses"].as_mapping().unwrap_or_else(|| panic!("{at}: responses"));
            let codes: BTreeSet<&str> = responses.keys().filter_map(Yaml::as_str).collect();
            assert!(codes.iter().any(|c| c.starts_with('2')), "{at}: no success response");
            assert!(codes.contains("400"), "{at}: 400 (malformed request) is possible on every route");
            assert!(!codes.contains("500") && !codes.contains("default"), "{at}: 500 is never part of the contract");
            if !security.is_empty() {
                assert!(codes.contains("401"), "{at}: authenticated routes answer 401");
            }
            for (code, response) in responses {
                let response = resolve(&spec, response);
                assert!(
                    response["headers"].get("X-Request-ID").is_some(),
                    "{at} {code:?}: every response carries X-Request-ID"
                );
            }
        }
    }
}
