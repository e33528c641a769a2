//! `petty plan`: the pet plan (daily goals, nutrition, recommendations).

use petty_client::Client;
use serde_json::{Value, json};

use super::print_json;
use crate::exit::Outcome;

/// `petty plan`: every figure printed with its unit; `--json` prints the API's
/// [`Plan`](petty_client::types::Plan).
pub async fn run(c: &Client, collar: &str, json: bool) -> Outcome {
    let p = c.plan(collar).await?;
    if json {
        print_json(&p);
        return Ok(());
    }
    let figure = |v: &Value| -> String {
        let unit = v.get("unit").and_then(Value::as_str).unwrap_or("");
        let shown: Vec<String> = v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, x)| *k != "unit" && !x.is_null() && !x.is_object())
            .map(|(k, x)| format!("{k} {}", x.to_string().trim_matches('"')))
            .collect();
        format!("{} {unit}", shown.join(", ")).trim().to_owned()
    };
    // Every figure printed with its unit, whatever the plan holds: its parts as JSON objects.
    let parts = |v: Value| v.as_object().cloned().unwrap_or_default();
    println!("pet plan for {}", p.collar_id);
    println!("daily goals:");
    for (k, v) in &parts(json!(p.daily_goals)) {
        println!("  {k:<28} {}", if v.is_object() { figure(v) } else { v.to_string().trim_matches('"').to_owned() });
    }
    println!("nutrition:");
    for (k, v) in &parts(json!(p.nutrition_plan)) {
        println!("  {k:<28} {}", if v.is_object() { figure(v) } else { v.to_string().trim_matches('"').to_owned() });
    }
    println!("recommendations:");
    for r in &p.health_recommendations {
        println!("  [{}] {}: {}", r.severity, r.code, r.message);
    }
    Ok(())
}
