//! `petty feedback`: the owner's verdict on a timeline event.

use petty_client::Client;
use petty_client::types::{Behavior, Feedback, Verdict};
use serde_json::json;

use super::print_json;
use crate::cli::{FeedbackArgs, VerdictArg};
use crate::exit::{Exit, Failure, Outcome};

/// `petty feedback`; `--json` prints the API's
/// [`FeedbackReceipt`](petty_client::types::FeedbackReceipt).
pub async fn run(c: &Client, a: &FeedbackArgs, json: bool) -> Outcome {
    let corrected = match &a.corrected {
        Some(b) => Some(parse_behavior(b)?),
        None => None,
    };
    let verdict = match a.verdict {
        VerdictArg::Correct => Verdict::Correct,
        VerdictArg::Incorrect => Verdict::Incorrect,
    };
    let receipt = c
        .feedback(&Feedback {
            event_id: a.event.clone(),
            user_feedback: verdict,
            corrected_behavior: corrected,
            comment: a.comment.clone(),
            timestamp: None,
        })
        .await?;
    if json {
        print_json(&receipt);
    } else {
        let what = if receipt.replaced { "replaced your earlier verdict" } else { "recorded" };
        println!("feedback {what} on {} (revision {})", a.event, receipt.revisions);
        if !receipt.calibrated_by.is_empty() {
            println!("this pet's model was calibrated by: {}", receipt.calibrated_by.join(", "));
        }
    }
    Ok(())
}

fn parse_behavior(name: &str) -> Result<Behavior, Failure> {
    serde_json::from_value(json!(name)).map_err(|_| {
        let names: Vec<&str> = Behavior::ALL.iter().map(|b| b.as_str()).collect();
        Failure::new(Exit::Usage, format!("unknown behaviour {name:?}: one of {}", names.join(", ")))
    })
}
