//! `petty collars add|edit|list|show|transfer`: claiming with the box's code, the pet's profile,
//! the fleet status, and handing a collar to a caregiver of its household.

use petty_client::Client;
use petty_client::types::{Collar, Pet, PetPatch};
use serde_json::json;

use super::print_json;
use crate::cli::CollarsCmd;
use crate::exit::{Exit, Failure, Outcome};
use crate::render;

/// `--json` prints the API's [`Collar`] (`add`, `edit`, `show`), or for `list` an array of
/// them: every page's collars in order, the pages' cursors already followed; for `transfer` the
/// API's [`Transferred`](petty_client::types::Transferred).
pub async fn run(c: &Client, cmd: &CollarsCmd, json: bool) -> Outcome {
    match cmd {
        CollarsCmd::Add {
            collar,
            claim_code,
            name,
            species,
            weight_kg,
            breed,
            birth_date,
            activity_profile,
            timezone,
        } => {
            let pet: Pet = serde_json::from_value(json!({
                "name": name, "species": species, "weight_kg": weight_kg, "breed": breed,
                "birth_date": birth_date, "activity_profile": activity_profile, "timezone": timezone,
            }))
            .map_err(|e| Failure::new(Exit::Usage, e.to_string()))?;
            let got = c.claim_collar(collar, claim_code, &pet).await?;
            if json {
                print_json(&got);
            } else {
                println!("collar {} is yours: {} (claimed {})", got.collar_id, got.pet.name, got.claimed_at);
            }
        }
        CollarsCmd::Edit { collar, name, weight_kg, breed, birth_date, activity_profile, timezone } => {
            let patch: PetPatch = serde_json::from_value(json!({
                "name": name, "weight_kg": weight_kg, "breed": breed, "birth_date": birth_date,
                "activity_profile": activity_profile, "timezone": timezone,
            }))
            .map_err(|e| Failure::new(Exit::Usage, e.to_string()))?;
            let got = c.update_collar(collar, &patch).await?;
            if json {
                print_json(&got);
            } else {
                println!("collar {}: {} updated", got.collar_id, got.pet.name);
                println!("pet        {}", serde_json::to_string(&got.pet).unwrap_or_default());
            }
        }
        CollarsCmd::List => {
            let all = all_collars(c).await?;
            if json {
                print_json(&all);
            } else if all.is_empty() {
                println!(
                    "no collars yet: petty collars add COLLAR --claim-code CODE --name ... --species dog --weight-kg ..."
                );
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|k| {
                        vec![
                            k.collar_id.clone(),
                            k.pet.name.clone(),
                            json!(k.pet.species).as_str().unwrap_or_default().to_owned(),
                            format!("{}", k.pet.weight_kg),
                            k.role.to_string(),
                            k.claimed_at.clone(),
                        ]
                    })
                    .collect();
                // The list carries no fleet status (the API reads it per collar): `collars show`.
                print!("{}", render::table(&["COLLAR", "PET", "SPECIES", "KG", "ROLE", "CLAIMED"], &rows));
            }
        }
        CollarsCmd::Show { collar } => {
            let k = c.collar(collar).await?;
            if json {
                print_json(&k);
            } else {
                println!("collar     {}\nrole       {}", k.collar_id, k.role);
                println!("claimed    {}\nupdated    {}", k.claimed_at, k.updated_at);
                println!("pet        {}", serde_json::to_string(&k.pet).unwrap_or_default());
                // Fleet status, from the latest reading of this ownership.
                match &k.last_seen_at {
                    Some(seen) => println!("last seen  {seen}{}", age(seen)),
                    None => println!("last seen  never (no reading since the claim)"),
                }
                println!("battery    {}", battery(k.battery_pct));
                println!("firmware   {}", k.firmware.as_deref().unwrap_or("unknown"));
            }
        }
        CollarsCmd::Transfer { collar, user_id } => {
            let moved = c.transfer_collar(collar, user_id).await?;
            super::members::transferred(&moved, json);
        }
    }
    Ok(())
}

fn battery(pct: Option<f64>) -> String {
    pct.map(|p| format!("{p:.0}%")).unwrap_or_else(|| "-".into())
}

/// ` (5 min ago)`, from an RFC 3339 time.
fn age(at: &str) -> String {
    let Some(t) = render::parse_time(at) else { return String::new() };
    let s = (chrono::Utc::now() - t).num_seconds().max(0);
    match s {
        0..120 => format!(" ({s} s ago)"),
        120..7200 => format!(" ({} min ago)", s / 60),
        7200..172_800 => format!(" ({} h ago)", s / 3600),
        _ => format!(" ({} days ago)", s / 86_400),
    }
}

/// Every collar of the caller, following the pages' cursors.
async fn all_collars(c: &Client) -> Result<Vec<Collar>, Failure> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = c.collars(cursor.as_deref(), Some(100)).await?;
        all.extend(page.collars);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(all)
}
