//! `petty sessions [end ID|end-all]`.

use petty_client::Client;
use petty_client::types::Session;
use serde::Serialize;

use super::print_json;
use crate::cli::{SessionsArgs, SessionsCmd};
use crate::exit::{Exit, Failure, Outcome};
use crate::{render, session};

/// What `petty sessions end --json` prints. The API answers 204 without a body: the session's
/// id under the API's name, and `ended`, always `true`.
#[derive(Serialize)]
struct Ended<'a> {
    session_id: &'a str,
    ended: bool,
}

/// `--json` prints the API's [`Sessions`](petty_client::types::Sessions) (list),
/// [`Ended`] (`end`) or [`SessionsRevoked`](petty_client::types::SessionsRevoked) (`end-all`).
pub async fn run(c: &Client, a: &SessionsArgs, api: &str, json: bool) -> Outcome {
    match &a.cmd {
        None => {
            let list = c.sessions().await?;
            if json {
                print_json(&list);
            } else {
                let rows: Vec<Vec<String>> = list.sessions.iter().map(row).collect();
                print!("{}", render::table(&["SESSION", "", "CREATED", "LAST USED", "FROM", "CLIENT"], &rows));
            }
        }
        Some(SessionsCmd::End { session }) => {
            c.end_session(session).await?;
            if json {
                print_json(&Ended { session_id: session, ended: true });
            } else {
                println!("ended session {session} (its access token lapses within 15 minutes)");
            }
        }
        Some(SessionsCmd::EndAll) => {
            let ended = c.logout_all().await?;
            session::store(api, None).map_err(|e| Failure::new(Exit::Other, e))?;
            if json {
                print_json(&ended);
            } else {
                println!("ended {} session(s), this one included\nnext: petty login", ended.sessions_revoked);
            }
        }
    }
    Ok(())
}

fn row(s: &Session) -> Vec<String> {
    let at = |t: Option<i64>| t.map(render::unix).unwrap_or_else(|| "-".into());
    vec![
        s.session_id.clone(),
        if s.current { "this one".into() } else { String::new() },
        at(s.created_at),
        at(s.last_used_at),
        s.source.clone().unwrap_or_else(|| "-".into()),
        s.user_agent.clone().unwrap_or_else(|| "-".into()),
    ]
}
