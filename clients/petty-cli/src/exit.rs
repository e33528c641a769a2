//! How `petty` fails: the exit codes scripts act on, and the API client's errors mapped to them.

use std::process::ExitCode;

use petty_client::Error;

/// Exit codes: one per thing a script acts on differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Something unexpected (an answer not understood, a local I/O error).
    Other = 1,
    /// Bad command line or input file (clap's own usage errors are 2 as well).
    Usage = 2,
    /// Not logged in, session expired, wrong password, or not allowed (401, 403).
    Auth = 3,
    /// No such collar, event or key, or not yours (404).
    NotFound = 4,
    /// The API is unreachable, failing or throttling (5xx, 429, timeout, circuit open).
    Unavailable = 5,
    /// The API refused the input (400, 409, 413, 422; readings rejected by ingest).
    Rejected = 6,
}

/// The exit codes and environment, as `petty --help` shows them.
pub const EXIT_CODES: &str = "Exit codes:
  0  ok
  1  unexpected error (an answer not understood, local I/O)
  2  usage: bad arguments or input file
  3  auth: not logged in, session expired, wrong password, or not allowed (401/403)
  4  not found: no such collar, event or key, or not yours (404)
  5  unavailable: API unreachable, failing or throttling (5xx/429/timeout/circuit open)
  6  rejected: the API refused the input (400/409/413/422), or ingest rejected readings

Environment: PETTY_API_URL (default http://127.0.0.1:9000), PETTY_API_KEY (collar mode),
PETTY_PASSWORD (login/register/password/account delete without a prompt),
PETTY_NEW_PASSWORD (password change/reset without a prompt), PETTY_CONFIG_DIR (where the session is kept).";

/// Why a command failed: its exit code and the message printed on stderr.
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self { exit, message: message.into() }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let exit = match &e {
            Error::NotLoggedIn => Exit::Auth,
            Error::Api { status: 401 | 403, .. } => Exit::Auth,
            Error::Api { status: 404, .. } => Exit::NotFound,
            Error::Api { status: 429, .. } | Error::Api { status: 500.., .. } => Exit::Unavailable,
            Error::Transport { .. } | Error::CircuitOpen { .. } => Exit::Unavailable,
            Error::Api { .. } => Exit::Rejected,
            Error::Invalid(_) => Exit::Usage,
            Error::Decode { .. } => Exit::Other,
        };
        let hint = match &e {
            Error::NotLoggedIn | Error::Api { status: 401, .. } => "\n  hint: `petty login` (or set PETTY_API_KEY)",
            Error::Transport { .. } => "\n  hint: is the API running (`make dev`) and PETTY_API_URL right?",
            _ => "",
        };
        Self::new(exit, format!("{e}{hint}"))
    }
}

/// What every command returns.
pub type Outcome = Result<(), Failure>;

/// Prints the failure and turns it into the process's exit code.
pub fn fail(f: Failure) -> ExitCode {
    eprintln!("petty: {}", f.message);
    ExitCode::from(f.exit as u8)
}
