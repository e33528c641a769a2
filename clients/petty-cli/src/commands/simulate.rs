//! `petty simulate`: the behaviour model's collar simulator, sent as readings.

use petty_behaviour::simulator::{profiles, reading_json, simulate_day};
use petty_client::types::Pet;
use petty_client::{Client, Error};

use super::ingest;
use crate::cli::SimulateArgs;
use crate::exit::{Exit, Failure, Outcome};

/// The `--claim-code` of `collar_id`: `COLLAR=CODE`, or a bare `CODE` when only one collar is
/// simulated.
fn code_for<'a>(a: &'a SimulateArgs, collar_id: &str) -> Option<&'a str> {
    a.claim_codes.iter().find_map(|arg| match arg.split_once('=') {
        Some((id, code)) if id.trim() == collar_id => Some(code.trim()),
        None if a.collars == 1 => Some(arg.trim()),
        _ => None,
    })
}

/// `petty simulate`: claims the collars not yet yours (with their `--claim-code`), simulates
/// their readings over the last `--hours` and sends them; `--json` prints
/// [`IngestOutcome`](super::ingest::IngestOutcome).
pub async fn run(c: &Client, a: &SimulateArgs, json: bool) -> Outcome {
    if a.collars == 0 || a.collars > 100 || !(a.hours > 0.0 && a.hours <= 24.0 * 30.0) {
        return Err(Failure::new(Exit::Usage, "--collars 1..100 and --hours up to 720"));
    }
    let prefix = &a.prefix;
    if prefix.len() != 2 || !prefix.chars().all(|ch| ch.is_ascii_uppercase()) {
        return Err(Failure::new(Exit::Usage, "--prefix is two capital letters"));
    }
    if a.collars > 1 {
        if let Some(bare) = a.claim_codes.iter().find(|arg| !arg.contains('=')) {
            return Err(Failure::new(
                Exit::Usage,
                format!("--claim-code {bare}: with several collars, say whose: COLLAR=CODE"),
            ));
        }
    }
    let now = chrono::Utc::now().timestamp_millis();
    let from = now - (a.hours * 3_600_000.0) as i64;
    let day_ms = 86_400_000;
    let pets = profiles();
    let mut readings = Vec::new();
    for n in 1..=a.collars {
        let collar_id = format!("{prefix}-{n:06}");
        let profile = &pets[(n as usize - 1) % pets.len()];
        // Claim it unless it is already yours (a wrong code or another owner's: 404, reported).
        if let Err(Error::Api { status: 404, .. }) = c.collar(&collar_id).await {
            let Some(code) = code_for(a, &collar_id) else {
                return Err(Failure::new(
                    Exit::Usage,
                    format!(
                        "{collar_id} is not yours yet: pass --claim-code {collar_id}=CODE (the code an operator got \
                         from `petty admin register {collar_id}`)"
                    ),
                ));
            };
            let pet = Pet {
                name: profile.name.to_owned(),
                species: profile.species,
                breed: None,
                birth_date: None,
                weight_kg: profile.weight_kg,
                activity_profile: None,
                timezone: None,
            };
            c.claim_collar(&collar_id, code, &pet).await?;
            if !json {
                eprintln!("claimed {collar_id} for {}", profile.name);
            }
        }
        let mut day = from.div_euclid(day_ms) * day_ms;
        while day < now {
            let sim =
                simulate_day(profile, a.seed.wrapping_add(n as u64).wrapping_add(day as u64 / day_ms as u64), day);
            readings.extend(
                sim.delivered.iter().filter(|s| s.ts_ms >= from && s.ts_ms <= now).map(|s| reading_json(&collar_id, s)),
            );
            day += day_ms;
        }
    }
    if readings.is_empty() {
        return Err(Failure::new(Exit::Usage, "no readings in that window"));
    }
    let report = ingest::send_batches(c, &readings, json).await?;
    ingest::report_outcome(&report, readings.len(), json)
}
