//! Prints a simulated collar day as JSON lines in the API's reading format, in the order a
//! collar would deliver them (duplicates and out-of-order runs included). `make dev` loads its
//! demo day with it.
//!
//! `cargo run -p petty-behaviour --example simulate -- [--collar DM-000001] [--seed 7]
//! [--day 2026-11-21] [--pet Biscuit|Pip|Atlas|Mochi] [--labels]`
//! (`--day` defaults to yesterday, UTC; `--labels` prints the ground truth instead.)

use petty_behaviour::simulator::{profiles, reading_json, simulate_day};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let collar = arg("--collar").unwrap_or_else(|| "DM-000001".into());
    let seed: u64 = arg("--seed").map_or(7, |s| s.parse().expect("--seed is a number"));
    let day = match arg("--day") {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").expect("--day is YYYY-MM-DD"),
        None => chrono::Utc::now().date_naive() - chrono::Days::new(1),
    };
    let pet = arg("--pet").unwrap_or_else(|| "Biscuit".into());
    let profile = profiles().into_iter().find(|p| p.name.eq_ignore_ascii_case(&pet)).expect("a known --pet");
    let start_ms = day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis();
    let sim = simulate_day(&profile, seed, start_ms);
    if args.iter().any(|a| a == "--labels") {
        for l in &sim.labels {
            let at = |ms| petty_api::format_ms(ms);
            println!("{}", serde_json::json!({"behavior": l.behavior, "start": at(l.start_ms), "end": at(l.end_ms)}));
        }
        return;
    }
    for r in &sim.delivered {
        println!("{}", reading_json(&collar, r));
    }
}
