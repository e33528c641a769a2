//! The command line: every command, argument and flag of `petty`, and their help.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES;

#[derive(Parser)]
#[command(
    name = "petty",
    version,
    about = "The Petty API from a terminal: accounts, collars, readings, timeline, feedback, plan."
)]
#[command(after_help = format!("Example:\n  petty login --email demo@petty.local\n  petty timeline DM-000001 --day 2026-11-21\n\n{EXIT_CODES}"))]
pub struct Cli {
    /// The API's base URL.
    #[arg(long, global = true, env = "PETTY_API_URL", default_value = petty_client::DEFAULT_API_URL)]
    pub api: String,
    /// Use this API key (X-Api-Key) instead of the logged-in session: collar mode.
    #[arg(long, global = true, env = "PETTY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Print JSON (one document) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for each request.
    #[arg(long, global = true, default_value_t = 30)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create an account.
    #[command(
        after_help = "Example:\n  PETTY_PASSWORD='correct horse battery staple' petty register --email ada@example.com --name Ada"
    )]
    Register(AccountArgs),
    /// Log in; the session is kept in your config directory (0600) and refreshed by itself.
    #[command(
        after_help = "Example:\n  petty login --email demo@petty.local          # asks for the password\n  echo \"$PW\" | petty login --email ada@example.com   # reads it from stdin"
    )]
    Login(AccountArgs),
    /// End the session (the server revokes it) and forget it.
    #[command(after_help = "Example:\n  petty logout")]
    Logout,
    /// Who the session belongs to, and its scopes.
    #[command(after_help = "Example:\n  petty whoami")]
    Whoami,
    /// Claim, list and show collars.
    #[command(subcommand)]
    Collars(CollarsCmd),
    /// Operators (`admin` scope): register collars before anyone claims them, replace lost codes.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Create, list and revoke API keys (for collars and scripts).
    #[command(subcommand, name = "api-keys")]
    ApiKeys(KeysCmd),
    /// Send readings from a file (JSON lines or CSV), 500 per request.
    #[command(
        after_help = "Example:\n  petty ingest --file readings.jsonl\n  petty ingest --file readings.csv   # header: collar_id,timestamp,heart_rate,activity_level,lon,lat[,temperature_c,battery_pct,accuracy_m,firmware]"
    )]
    Ingest {
        /// `.jsonl` (one reading per line) or `.csv`.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Simulate collars (the timeline's simulator) over the last hours and send their readings.
    #[command(
        after_help = "Example:\n  petty simulate --collars 2 --hours 3 --claim-code SM-000002=7KQ4-M2XD-9HTR-B5N8\n      # SM-000001 is yours already; SM-000002 is claimed with its code\n\nA collar's first owner sees what it buffered before the claim; a second-hand collar's\nreadings from before its current owner's claim are rejected (before_claim)."
    )]
    Simulate(SimulateArgs),
    /// The collar's latest reading; `--watch` polls, faster while the pet is active.
    #[command(after_help = "Example:\n  petty realtime DM-000001 --watch")]
    Realtime(RealtimeArgs),
    /// What the pet did: a table and a one-line chart of the window (default the last 24 h).
    #[command(
        after_help = "Example:\n  petty timeline DM-000001 --day 2026-11-21\n  petty timeline DM-000001 --json | jq '.timeline[].event_id'"
    )]
    Timeline(TimelineArgs),
    /// Tell Petty whether a timeline event was right.
    #[command(
        after_help = "Example:\n  petty feedback DM-000001.1795242590247.walk incorrect --corrected play --comment 'tug of war'"
    )]
    Feedback(FeedbackArgs),
    /// The pet plan: daily goals, nutrition, recommendations.
    #[command(after_help = "Example:\n  petty plan DM-000001")]
    Plan { collar: String },
    /// Is the API up? (`--ready`: its tables and key set too).
    #[command(after_help = "Example:\n  petty health --ready && echo up")]
    Health {
        #[arg(long)]
        ready: bool,
    },
}

// The account of `register` and `login` (the password is prompted for, never an argument). A
// plain comment: a doc comment here would become these commands' help text.
#[derive(Args)]
pub struct AccountArgs {
    #[arg(long)]
    pub email: String,
    /// Your name (register only).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Subcommand)]
pub enum CollarsCmd {
    /// Claim a registered collar for a pet with the code printed in its box (already yours: exit 0).
    #[command(
        after_help = "Example:\n  petty collars add AB-123456 --claim-code 7KQ4-M2XD-9HTR-B5N8 --name Rex --species dog --weight-kg 30\n\nA wrong code, an unregistered serial and another owner's collar all answer 404 (exit 4);\ntoo many attempts answer 429 (exit 5, try again later)."
    )]
    Add {
        collar: String,
        /// The code printed with the collar (case, spaces and dashes do not matter).
        #[arg(long)]
        claim_code: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["dog", "cat"])]
        species: String,
        #[arg(long)]
        weight_kg: f64,
        #[arg(long)]
        breed: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long)]
        birth_date: Option<String>,
        #[arg(long, value_parser = ["weight_loss", "inactive", "typical", "active", "working"])]
        activity_profile: Option<String>,
    },
    /// Your collars.
    #[command(after_help = "Example:\n  petty collars list")]
    List,
    /// One collar: its pet and fleet status (last seen, battery, firmware).
    #[command(after_help = "Example:\n  petty collars show DM-000001")]
    Show { collar: String },
}

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Register serials (500 per request): each new one's claim code is printed, once.
    #[command(
        after_help = "Example:\n  petty admin register AB-123456 AB-123457\n  petty admin register AB-123458 --iot --out certs/   # + IoT thing, certificate, key (0600 files)\n\nNeeds a session with the `admin` scope: `make admin EMAIL=...` grants it; log in again after.\nA serial already registered says `exists` and shows no code (`petty admin reset-code` makes a new one)."
    )]
    Register {
        /// Serials, AB-123456 style.
        #[arg(required = true, value_name = "COLLAR")]
        collars: Vec<String>,
        /// Also create each new collar's AWS IoT thing, certificate and private key.
        #[arg(long)]
        iot: bool,
        /// Where `--iot` writes `<collar>.cert.pem` and `<collar>.private.key` (0600) [default: .].
        /// Only `--json` prints them instead.
        #[arg(long, requires = "iot", value_name = "DIR")]
        out: Option<std::path::PathBuf>,
    },
    /// A new claim code for a registered collar (the old one stops working), printed once.
    #[command(name = "reset-code", after_help = "Example:\n  petty admin reset-code AB-123456")]
    ResetCode { collar: String },
}

#[derive(Subcommand)]
pub enum KeysCmd {
    /// A new key; its secret is printed once.
    #[command(
        after_help = "Example:\n  petty api-keys create --name 'kitchen collar' --scope readings:write --collar AB-123456"
    )]
    Create {
        #[arg(long)]
        name: String,
        /// readings:read, readings:write, timeline:read (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Limit the key to these collars (repeatable).
        #[arg(long = "collar")]
        collars: Vec<String>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Your keys (never their secrets).
    #[command(after_help = "Example:\n  petty api-keys list")]
    List,
    /// Revoke a key at once.
    #[command(after_help = "Example:\n  petty api-keys revoke 3f9c2a7d1e0b4c55")]
    Revoke { key_id: String },
}

#[derive(Args)]
pub struct SimulateArgs {
    /// How many collars (SM-000001, SM-000002, ...).
    #[arg(long, default_value_t = 1)]
    pub collars: u32,
    /// Hours back from now.
    #[arg(long, default_value_t = 1.0)]
    pub hours: f64,
    /// Seed of the simulator (same seed, same readings).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Collar id prefix (two capital letters).
    #[arg(long, default_value = "SM")]
    pub prefix: String,
    /// The claim code of a collar not yet yours: `COLLAR=CODE` (repeatable), or just `CODE`
    /// with `--collars 1`.
    #[arg(long = "claim-code", value_name = "[COLLAR=]CODE")]
    pub claim_codes: Vec<String>,
}

#[derive(Args)]
pub struct RealtimeArgs {
    pub collar: String,
    /// Keep polling (Ctrl-C stops).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between polls while the pet is active (walk, play).
    #[arg(long, default_value_t = 5)]
    pub active_every: u64,
    /// Seconds between polls at rest.
    #[arg(long, default_value_t = 30)]
    pub rest_every: u64,
    /// Stop after this many polls (for scripts).
    #[arg(long)]
    pub count: Option<u32>,
}

#[derive(Args)]
pub struct TimelineArgs {
    pub collar: String,
    /// A UTC day, YYYY-MM-DD.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub day: Option<chrono::NaiveDate>,
    /// RFC 3339.
    #[arg(long)]
    pub from: Option<String>,
    /// RFC 3339.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Args)]
pub struct FeedbackArgs {
    /// An event id from `petty timeline`.
    pub event: String,
    #[arg(value_enum)]
    pub verdict: VerdictArg,
    /// What the pet was really doing (with `incorrect`).
    #[arg(long)]
    pub corrected: Option<String>,
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum VerdictArg {
    Correct,
    Incorrect,
}
