//! Accounts and the session: `register`, `login`, `logout`, `whoami`, and how passwords are read.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use petty_client::types::TokenPair;
use petty_client::{Client, Error};
use serde::Serialize;

use super::print_json;
use crate::cli::AccountArgs;
use crate::exit::{Exit, Failure, Outcome};
use crate::session;

/// `petty register`; `--json` prints the API's [`User`](petty_client::types::User).
pub async fn register(c: &Client, a: &AccountArgs, json: bool) -> Outcome {
    let pw = password("password: ")?;
    let user = c.register(&a.email, &pw, a.name.as_deref()).await?;
    if json {
        print_json(&user);
    } else {
        println!("registered {} ({})\nnext: petty login --email {}", user.email, user.user_id, user.email);
    }
    Ok(())
}

/// What `petty login --json` prints. Deliberately not the API's [`TokenPair`]: its access and
/// refresh tokens are secrets, kept only in the 0600 session file and never printed. Instead:
/// the account (`email`, as the API's `Login` names it), the pair's other fields under their
/// API names, and where the session is kept.
#[derive(Serialize)]
struct LoggedIn<'a> {
    email: &'a str,
    /// Always `Bearer`.
    token_type: &'a str,
    /// Access-token lifetime in seconds (the session refreshes itself).
    expires_in: u64,
    /// The session file.
    session: &'a Path,
}

/// `petty login`: the session is kept on disk (by the client's token hook).
pub async fn login(c: &Client, a: &AccountArgs, json: bool) -> Outcome {
    let pw = password("password: ")?;
    let pair: TokenPair = c.login(&a.email, &pw).await?;
    let path = session::path().map_err(|e| Failure::new(Exit::Other, e))?;
    if json {
        print_json(&LoggedIn {
            email: &a.email,
            token_type: &pair.token_type,
            expires_in: pair.expires_in,
            session: &path,
        });
    } else {
        println!("logged in as {} (session kept in {}, refreshed automatically)", a.email, path.display());
    }
    Ok(())
}

/// `petty logout`: the server revokes the session, and it is forgotten here whatever the
/// server said. The API answers 204 without a body, so there is no JSON to print.
pub async fn logout(c: &Client, api: &str) -> Outcome {
    let outcome = c.logout().await;
    session::store(api, None).map_err(|e| Failure::new(Exit::Other, e))?;
    match outcome {
        Ok(()) | Err(Error::NotLoggedIn) | Err(Error::Api { status: 401, .. }) => println!("logged out"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// `petty whoami`; `--json` prints the API's [`User`](petty_client::types::User).
pub async fn whoami(c: &Client, json: bool) -> Outcome {
    let me = c.me().await?;
    if json {
        print_json(&me);
    } else {
        println!("{} ({})\nscopes: {}", me.email, me.user_id, me.scopes.join(" "));
    }
    Ok(())
}

/// The password: `PETTY_PASSWORD`, else a line of stdin (prompted for, without echo, on a
/// terminal).
pub fn password(prompt: &str) -> Result<String, Failure> {
    secret("PETTY_PASSWORD", prompt)
}

/// A secret: the environment variable `var`, else a line of stdin (prompted for, without
/// echo, on a terminal). Several secrets piped in are read one line each, in order.
pub fn secret(var: &str, prompt: &str) -> Result<String, Failure> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let _ = std::process::Command::new("stty").arg("-echo").stdin(std::process::Stdio::inherit()).status();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if tty {
        let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
        eprintln!();
    }
    read.map_err(|e| Failure::new(Exit::Usage, format!("reading the password: {e}")))?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err(Failure::new(Exit::Usage, format!("no password (type it, pipe it, or set {var})")));
    }
    Ok(p)
}
