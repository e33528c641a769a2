//! `petty password change|reset`.

use petty_client::Client;
use petty_client::types::SessionsRevoked;

use super::accounts::{password, secret};
use super::print_json;
use crate::cli::PasswordCmd;
use crate::exit::Outcome;

/// `--json` prints the API's [`SessionsRevoked`] (`change`, `reset --token`) or
/// [`Accepted`](petty_client::types::Accepted) (`reset --email`).
pub async fn run(c: &Client, cmd: &PasswordCmd, json: bool) -> Outcome {
    match cmd {
        PasswordCmd::Change => {
            let current = password("current password: ")?;
            let new = secret("PETTY_NEW_PASSWORD", "new password: ")?;
            let ended = c.change_password(&current, &new).await?;
            if json {
                print_json(&ended);
            } else {
                println!("password changed; {}", ended_text(&ended, "other "));
            }
        }
        PasswordCmd::Reset { email: Some(email), .. } => {
            let accepted = c.request_password_reset(email).await?;
            if json {
                print_json(&accepted);
            } else {
                println!("{}\nnext: petty password reset --token TOKEN", accepted.message);
            }
        }
        PasswordCmd::Reset { token: Some(token), .. } => {
            let new = secret("PETTY_NEW_PASSWORD", "new password: ")?;
            let ended = c.confirm_password_reset(token, &new).await?;
            if json {
                print_json(&ended);
            } else {
                println!("password reset; {}\nnext: petty login", ended_text(&ended, ""));
            }
        }
        // clap's `step` group requires one of the two.
        PasswordCmd::Reset { .. } => unreachable!("--email or --token is required"),
    }
    Ok(())
}

fn ended_text(ended: &SessionsRevoked, other: &str) -> String {
    let plural = |n: u32| if n == 1 { "" } else { "s" };
    let mut text = format!("{} {other}session{} ended", ended.sessions_revoked, plural(ended.sessions_revoked));
    if ended.api_keys_revoked > 0 {
        text.push_str(&format!(", {} API key{} revoked", ended.api_keys_revoked, plural(ended.api_keys_revoked)));
    }
    text
}
