//! `petty account show|update|verify-email|delete`.

use petty_client::Client;
use petty_client::types::{ProfilePatch, User};

use super::accounts::password;
use super::print_json;
use crate::cli::AccountCmd;
use crate::exit::{Exit, Failure, Outcome};
use crate::session;

/// `--json` prints the API's [`User`] (`show`, `update`, `verify-email --token`),
/// [`Accepted`](petty_client::types::Accepted) (`verify-email`) or
/// [`AccountDeleted`](petty_client::types::AccountDeleted) (`delete`).
pub async fn run(c: &Client, cmd: &AccountCmd, api: &str, json: bool) -> Outcome {
    match cmd {
        AccountCmd::Show => show(&c.me().await?, json),
        AccountCmd::Update { name, timezone, locale, email } => {
            if name.is_none() && timezone.is_none() && locale.is_none() && email.is_none() {
                return Err(Failure::new(Exit::Usage, "nothing to change: --name, --timezone, --locale or --email"));
            }
            let patch = ProfilePatch {
                name: name.clone(),
                timezone: timezone.clone(),
                locale: locale.clone(),
                email: email.clone(),
            };
            let user = c.update_profile(&patch).await?;
            show(&user, json);
            if !json && user.pending_email.is_some() {
                println!("a verification token was sent to the new address: petty account verify-email --token TOKEN");
            }
        }
        AccountCmd::VerifyEmail { token: None } => {
            let accepted = c.request_email_verification().await?;
            if json {
                print_json(&accepted);
            } else {
                println!("{}\nnext: petty account verify-email --token TOKEN", accepted.message);
            }
        }
        AccountCmd::VerifyEmail { token: Some(token) } => show(&c.confirm_email_verification(token).await?, json),
        AccountCmd::Delete { yes } => {
            if !yes {
                return Err(Failure::new(
                    Exit::Usage,
                    "this erases the account and all its data, and releases its collars: add --yes",
                ));
            }
            let pw = password("password: ")?;
            let deleted = c.delete_account(&pw).await?;
            session::store(api, None).map_err(|e| Failure::new(Exit::Other, e))?;
            if json {
                print_json(&deleted);
            } else {
                println!("account deleted; erasure {} is running (your sessions have ended)", deleted.erasure_id);
            }
        }
    }
    Ok(())
}

fn show(user: &User, json: bool) {
    if json {
        print_json(user);
        return;
    }
    let verified = if user.email_verified { "verified" } else { "not verified: petty account verify-email" };
    println!("{} ({})", user.name.as_deref().unwrap_or("-"), user.user_id);
    println!("email    {} ({verified})", user.email);
    if let Some(pending) = &user.pending_email {
        println!("pending  {pending} (until verified)");
    }
    println!("timezone {}\nlocale   {}\nscopes   {}", user.timezone, user.locale, user.scopes.join(" "));
}
