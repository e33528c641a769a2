//! `petty`: the Petty API from a terminal. See `petty --help`; the exit codes are in
//! [`Exit`] and in the README.

mod render;
mod session;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use petty_client::types::{Behavior, Feedback, IngestReport, NewApiKey, Pet, Verdict};
use petty_client::{Client, Config, Credentials, Error};
use serde_json::{Value, json};

/// Exit codes: one per thing a script acts on differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
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

const EXIT_CODES: &str = "Exit codes:
  0  ok
  1  unexpected error (an answer not understood, local I/O)
  2  usage: bad arguments or input file
  3  auth: not logged in, session expired, wrong password, or not allowed (401/403)
  4  not found: no such collar, event or key, or not yours (404)
  5  unavailable: API unreachable, failing or throttling (5xx/429/timeout/circuit open)
  6  rejected: the API refused the input (400/409/413/422), or ingest rejected readings

Environment: PETTY_API_URL (default http://127.0.0.1:9000), PETTY_API_KEY (collar mode),
PETTY_PASSWORD (login/register without a prompt), PETTY_CONFIG_DIR (where the session is kept).";

struct Failure {
    exit: Exit,
    message: String,
}

impl Failure {
    fn new(exit: Exit, message: impl Into<String>) -> Self {
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

type Outcome = Result<(), Failure>;

#[derive(Parser)]
#[command(
    name = "petty",
    version,
    about = "The Petty API from a terminal: accounts, collars, readings, timeline, feedback, plan."
)]
#[command(after_help = format!("Example:\n  petty login --email demo@petty.local\n  petty timeline DM-000001 --day 2026-11-21\n\n{EXIT_CODES}"))]
struct Cli {
    /// The API's base URL.
    #[arg(long, global = true, env = "PETTY_API_URL", default_value = petty_client::DEFAULT_API_URL)]
    api: String,
    /// Use this API key (X-Api-Key) instead of the logged-in session: collar mode.
    #[arg(long, global = true, env = "PETTY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Print JSON (one document) instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for each request.
    #[arg(long, global = true, default_value_t = 30)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an account.
    #[command(
        after_help = "Example:\n  PETTY_PASSWORD='correct horse battery staple' petty register --email ada@example.com --name Ada"
    )]
    Register(Credentials_),
    /// Log in; the session is kept in your config directory (0600) and refreshed by itself.
    #[command(
        after_help = "Example:\n  petty login --email demo@petty.local          # asks for the password\n  echo \"$PW\" | petty login --email ada@example.com   # reads it from stdin"
    )]
    Login(Credentials_),
    /// End the session (the server revokes it) and forget it.
    #[command(after_help = "Example:\n  petty logout")]
    Logout,
    /// Who the session belongs to, and its scopes.
    #[command(after_help = "Example:\n  petty whoami")]
    Whoami,
    /// Claim, list and show collars.
    #[command(subcommand)]
    Collars(CollarsCmd),
    /// Create, list and revoke API keys (for collars and scripts).
    #[command(subcommand, name = "api-keys")]
    ApiKeys(KeysCmd),
    /// Send readings from a file (JSON lines or CSV), 500 per request.
    #[command(
        after_help = "Example:\n  petty ingest --file readings.jsonl\n  petty ingest --file readings.csv   # header: collar_id,timestamp,heart_rate,activity_level,lon,lat[,temperature_c,battery_pct,accuracy_m]"
    )]
    Ingest {
        /// `.jsonl` (one reading per line) or `.csv`.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Simulate collars (the timeline's simulator) over the last hours and send their readings.
    #[command(
        after_help = "Example:\n  petty simulate --collars 2 --hours 3      # claims SM-000001, SM-000002 if needed\n\nReadings from before a collar's claim are stored but not shown to its owner."
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

#[derive(Args)]
#[allow(non_camel_case_types)]
struct Credentials_ {
    #[arg(long)]
    email: String,
    /// Your name (register only).
    #[arg(long)]
    name: Option<String>,
}

#[derive(Subcommand)]
enum CollarsCmd {
    /// Claim a collar for a pet (already yours: updated, exit 0).
    #[command(
        after_help = "Example:\n  petty collars add AB-123456 --name Rex --species dog --weight-kg 30 --activity-profile active"
    )]
    Add {
        collar: String,
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
    /// One collar.
    #[command(after_help = "Example:\n  petty collars show DM-000001")]
    Show { collar: String },
}

#[derive(Subcommand)]
enum KeysCmd {
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
struct SimulateArgs {
    /// How many collars (SM-000001, SM-000002, ...).
    #[arg(long, default_value_t = 1)]
    collars: u32,
    /// Hours back from now.
    #[arg(long, default_value_t = 1.0)]
    hours: f64,
    /// Seed of the simulator (same seed, same readings).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Collar id prefix (two capital letters).
    #[arg(long, default_value = "SM")]
    prefix: String,
}

#[derive(Args)]
struct RealtimeArgs {
    collar: String,
    /// Keep polling (Ctrl-C stops).
    #[arg(long)]
    watch: bool,
    /// Seconds between polls while the pet is active (walk, play).
    #[arg(long, default_value_t = 5)]
    active_every: u64,
    /// Seconds between polls at rest.
    #[arg(long, default_value_t = 30)]
    rest_every: u64,
    /// Stop after this many polls (for scripts).
    #[arg(long)]
    count: Option<u32>,
}

#[derive(Args)]
struct TimelineArgs {
    collar: String,
    /// A UTC day, YYYY-MM-DD.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    day: Option<chrono::NaiveDate>,
    /// RFC 3339.
    #[arg(long)]
    from: Option<String>,
    /// RFC 3339.
    #[arg(long)]
    to: Option<String>,
}

#[derive(Args)]
struct FeedbackArgs {
    /// An event id from `petty timeline`.
    event: String,
    #[arg(value_enum)]
    verdict: VerdictArg,
    /// What the pet was really doing (with `incorrect`).
    #[arg(long)]
    corrected: Option<String>,
    #[arg(long)]
    comment: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum VerdictArg {
    Correct,
    Incorrect,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(Failure::new(Exit::Other, e.to_string())),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(f),
    }
}

fn fail(f: Failure) -> ExitCode {
    eprintln!("petty: {}", f.message);
    ExitCode::from(f.exit as u8)
}

fn client(cli: &Cli) -> Result<Client, Failure> {
    let mut config = Config::new(cli.api.trim_end_matches('/'));
    config.timeout = Duration::from_secs(cli.timeout.max(1));
    let api = config.base_url.clone();
    let client = Client::new(config)?.on_tokens(move |pair| {
        if let Err(e) = session::store(&api, Some(pair)) {
            eprintln!("petty: warning: session not saved: {e}");
        }
    });
    if let Some(key) = &cli.api_key {
        client.set_credentials(Credentials::ApiKey(key.clone()));
    } else if let Some(pair) = session::load(cli.api.trim_end_matches('/')) {
        client.set_credentials(Credentials::Tokens(pair));
    }
    Ok(client)
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn password(prompt: &str) -> Result<String, Failure> {
    if let Ok(p) = std::env::var("PETTY_PASSWORD") {
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
        return Err(Failure::new(Exit::Usage, "no password (type it, pipe it, or set PETTY_PASSWORD)"));
    }
    Ok(p)
}

async fn run(cli: Cli) -> Outcome {
    let c = client(&cli)?;
    let json = cli.json;
    match &cli.command {
        Command::Register(a) => {
            let pw = password("password: ")?;
            let user = c.register(&a.email, &pw, a.name.as_deref()).await?;
            if json {
                print_json(&json!({"user_id": user.user_id, "email": user.email}));
            } else {
                println!("registered {} ({})\nnext: petty login --email {}", user.email, user.user_id, user.email);
            }
        }
        Command::Login(a) => {
            let pw = password("password: ")?;
            let pair = c.login(&a.email, &pw).await?;
            let path = session::path().map_err(|e| Failure::new(Exit::Other, e))?;
            if json {
                print_json(&json!({"logged_in": a.email, "expires_in": pair.expires_in, "session": path}));
            } else {
                println!("logged in as {} (session kept in {}, refreshed automatically)", a.email, path.display());
            }
        }
        Command::Logout => {
            let outcome = c.logout().await;
            session::store(cli.api.trim_end_matches('/'), None).map_err(|e| Failure::new(Exit::Other, e))?;
            match outcome {
                Ok(()) | Err(Error::NotLoggedIn) | Err(Error::Api { status: 401, .. }) => println!("logged out"),
                Err(e) => return Err(e.into()),
            }
        }
        Command::Whoami => {
            let me = c.me().await?;
            if json {
                print_json(&json!({"user_id": me.user_id, "email": me.email, "name": me.name, "scopes": me.scopes}));
            } else {
                println!("{} ({})\nscopes: {}", me.email, me.user_id, me.scopes.join(" "));
            }
        }
        Command::Collars(cmd) => collars(&c, cmd, json).await?,
        Command::ApiKeys(cmd) => api_keys(&c, cmd, json).await?,
        Command::Ingest { file } => {
            let readings = read_readings(file)?;
            let report = send_batches(&c, &readings, json).await?;
            return report_outcome(&report, readings.len(), json);
        }
        Command::Simulate(a) => simulate(&c, a, json).await?,
        Command::Realtime(a) => realtime(&c, a, json).await?,
        Command::Timeline(a) => timeline(&c, a, json).await?,
        Command::Feedback(a) => {
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
                print_json(&json!({"feedback_id": receipt.feedback_id, "replaced": receipt.replaced,
                    "revisions": receipt.revisions, "calibrated_by": receipt.calibrated_by}));
            } else {
                let what = if receipt.replaced { "replaced your earlier verdict" } else { "recorded" };
                println!("feedback {what} on {} (revision {})", a.event, receipt.revisions);
                if !receipt.calibrated_by.is_empty() {
                    println!("this pet's model was calibrated by: {}", receipt.calibrated_by.join(", "));
                }
            }
        }
        Command::Plan { collar } => plan(&c, collar, json).await?,
        Command::Health { ready } => {
            if *ready {
                let r = c.ready().await?;
                if json {
                    print_json(
                        &json!({"status": r.status, "checks": r.checks.iter().map(|k| json!({"name": k.name, "ok": k.ok, "latency_ms": k.latency_ms, "error": k.error})).collect::<Vec<_>>()}),
                    );
                } else {
                    for k in &r.checks {
                        let state = if k.ok {
                            "ok".to_owned()
                        } else {
                            format!("FAIL {}", k.error.clone().unwrap_or_default())
                        };
                        println!("{:<40} {state} ({:.0} ms)", k.name, k.latency_ms);
                    }
                    println!("{}", r.status);
                }
                if r.status != "ready" {
                    return Err(Failure::new(Exit::Unavailable, "not ready"));
                }
            } else {
                let live = c.health().await?;
                if json {
                    print_json(
                        &json!({"status": live.status, "version": live.version, "git_sha": live.git_sha, "uptime_s": live.uptime_s}),
                    );
                } else {
                    println!(
                        "{} {} (version {}, {}, up {} s)",
                        c.base_url(),
                        live.status,
                        live.version,
                        live.git_sha,
                        live.uptime_s
                    );
                }
            }
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

async fn collars(c: &Client, cmd: &CollarsCmd, json: bool) -> Outcome {
    match cmd {
        CollarsCmd::Add { collar, name, species, weight_kg, breed, birth_date, activity_profile } => {
            let pet: Pet = serde_json::from_value(json!({
                "name": name, "species": species, "weight_kg": weight_kg, "breed": breed,
                "birth_date": birth_date, "activity_profile": activity_profile,
            }))
            .map_err(|e| Failure::new(Exit::Usage, e.to_string()))?;
            let got = c.claim_collar(collar, &pet).await?;
            if json {
                print_json(&json!({"collar_id": got.collar_id, "pet": got.pet, "claimed_at": got.claimed_at}));
            } else {
                println!("collar {} is yours: {} (claimed {})", got.collar_id, got.pet.name, got.claimed_at);
            }
        }
        CollarsCmd::List => {
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
            if json {
                let rows: Vec<Value> = all
                    .iter()
                    .map(|k| json!({"collar_id": k.collar_id, "pet": k.pet, "claimed_at": k.claimed_at}))
                    .collect();
                print_json(&rows);
            } else if all.is_empty() {
                println!("no collars yet: petty collars add COLLAR --name ... --species dog --weight-kg ...");
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|k| {
                        vec![
                            k.collar_id.clone(),
                            k.pet.name.clone(),
                            json!(k.pet.species).as_str().unwrap_or_default().to_owned(),
                            format!("{}", k.pet.weight_kg),
                            k.claimed_at.clone(),
                        ]
                    })
                    .collect();
                print!("{}", render::table(&["COLLAR", "PET", "SPECIES", "KG", "CLAIMED"], &rows));
            }
        }
        CollarsCmd::Show { collar } => {
            let k = c.collar(collar).await?;
            if json {
                print_json(
                    &json!({"collar_id": k.collar_id, "pet": k.pet, "claimed_at": k.claimed_at, "updated_at": k.updated_at}),
                );
            } else {
                println!("collar   {}\nclaimed  {}\nupdated  {}", k.collar_id, k.claimed_at, k.updated_at);
                println!("pet      {}", serde_json::to_string(&k.pet).unwrap_or_default());
            }
        }
    }
    Ok(())
}

async fn api_keys(c: &Client, cmd: &KeysCmd, json: bool) -> Outcome {
    match cmd {
        KeysCmd::Create { name, scopes, collars, expires_in_days } => {
            let key = c
                .create_api_key(&NewApiKey {
                    name: name.clone(),
                    scopes: scopes.clone(),
                    collar_ids: collars.clone(),
                    expires_in_days: *expires_in_days,
                })
                .await?;
            if json {
                print_json(
                    &json!({"key_id": key.key.key_id, "api_key": key.api_key, "scopes": key.key.scopes, "collar_ids": key.key.collar_ids}),
                );
            } else {
                println!("{}", key.api_key);
                eprintln!(
                    "key {} ({}): shown once, keep it now; use it with PETTY_API_KEY=... or --api-key",
                    key.key.key_id, key.key.name
                );
            }
        }
        KeysCmd::List => {
            let keys = c.api_keys().await?;
            let when = |t: Option<i64>| {
                t.and_then(|s| chrono::DateTime::from_timestamp(s, 0)).map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            };
            if json {
                let rows: Vec<Value> = keys
                    .iter()
                    .map(|k| json!({"key_id": k.key_id, "name": k.name, "scopes": k.scopes, "collar_ids": k.collar_ids,
                        "created_at": k.created_at, "expires_at": k.expires_at, "last_used_at": k.last_used_at, "revoked": k.revoked}))
                    .collect();
                print_json(&rows);
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.key_id.clone(),
                            k.name.clone(),
                            k.scopes.join(","),
                            if k.collar_ids.is_empty() { "any".into() } else { k.collar_ids.join(",") },
                            when(k.last_used_at).unwrap_or_else(|| "never".into()),
                            if k.revoked { "revoked".into() } else { "active".into() },
                        ]
                    })
                    .collect();
                print!("{}", render::table(&["KEY", "NAME", "SCOPES", "COLLARS", "LAST USED", "STATE"], &rows));
            }
        }
        KeysCmd::Revoke { key_id } => {
            c.revoke_api_key(key_id).await?;
            if json {
                print_json(&json!({"revoked": key_id}));
            } else {
                println!("revoked {key_id}");
            }
        }
    }
    Ok(())
}

/// Readings from a `.jsonl` or `.csv` file, as JSON objects.
fn read_readings(path: &std::path::Path) -> Result<Vec<Value>, Failure> {
    let usage = |m: String| Failure::new(Exit::Usage, format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| usage(e.to_string()))?;
    let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    if csv {
        let Some((_, header)) = lines.next() else { return Ok(out) };
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        for need in ["collar_id", "timestamp", "heart_rate", "activity_level", "lon", "lat"] {
            if !names.contains(&need) {
                return Err(usage(format!("CSV header lacks {need}")));
            }
        }
        for (n, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != names.len() {
                return Err(usage(format!("line {}: {} cells, the header has {}", n + 1, cells.len(), names.len())));
            }
            let mut reading = serde_json::Map::new();
            let (mut lon, mut lat) = (None, None);
            for (name, cell) in names.iter().zip(cells) {
                if cell.is_empty() {
                    continue;
                }
                let number =
                    || cell.parse::<f64>().map_err(|_| usage(format!("line {}: {name} is not a number", n + 1)));
                match *name {
                    "collar_id" | "timestamp" => {
                        reading.insert((*name).into(), json!(cell));
                    }
                    "lon" => lon = Some(number()?),
                    "lat" => lat = Some(number()?),
                    "heart_rate" | "activity_level" => {
                        let v: i64 =
                            cell.parse().map_err(|_| usage(format!("line {}: {name} is not an integer", n + 1)))?;
                        reading.insert((*name).into(), json!(v));
                    }
                    other => {
                        reading.insert(other.into(), json!(number()?));
                    }
                }
            }
            if let (Some(lon), Some(lat)) = (lon, lat) {
                reading.insert("location".into(), json!({"type": "Point", "coordinates": [lon, lat]}));
            }
            out.push(Value::Object(reading));
        }
    } else {
        for (n, line) in lines {
            out.push(serde_json::from_str(line).map_err(|e| usage(format!("line {}: {e}", n + 1)))?);
        }
    }
    if out.is_empty() {
        return Err(usage("no readings".into()));
    }
    Ok(out)
}

/// Sends readings 500 at a time with a progress bar; the reports added up.
async fn send_batches(c: &Client, readings: &[Value], json: bool) -> Result<IngestReport, Failure> {
    let bar = if json { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(readings.len() as u64) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} readings  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut total = IngestReport::default();
    for (i, batch) in readings.chunks(petty_client::MAX_BATCH).enumerate() {
        let offset = i * petty_client::MAX_BATCH;
        let report = match c.ingest(batch).await {
            Ok(r) => r,
            Err(Error::Api { status: 503, .. }) => {
                // Not stored in time even after retries: count the batch as not stored.
                IngestReport { not_stored: (0..batch.len()).collect(), ..IngestReport::default() }
            }
            Err(e) => {
                bar.abandon();
                return Err(e.into());
            }
        };
        total.accepted += report.accepted;
        total.duplicates += report.duplicates;
        total.rejected.extend(report.rejected.into_iter().map(|mut r| {
            r.index += offset;
            r
        }));
        total.not_stored.extend(report.not_stored.into_iter().map(|i| i + offset));
        bar.inc(batch.len() as u64);
        bar.set_message(format!("{} accepted, {} duplicates", total.accepted, total.duplicates));
    }
    bar.finish_and_clear();
    Ok(total)
}

fn report_outcome(report: &IngestReport, sent: usize, json: bool) -> Outcome {
    if json {
        let rejected: Vec<Value> = report
            .rejected
            .iter()
            .map(|r| json!({"index": r.index, "reason": r.reason, "message": r.message}))
            .collect();
        print_json(&json!({"sent": sent, "accepted": report.accepted, "duplicates": report.duplicates,
            "rejected": rejected, "not_stored": report.not_stored}));
    } else {
        println!(
            "{sent} readings: {} accepted, {} duplicates, {} rejected, {} not stored",
            report.accepted,
            report.duplicates,
            report.rejected.len(),
            report.not_stored.len()
        );
        for r in report.rejected.iter().take(10) {
            println!("  reading {}: {} ({})", r.index, r.message, r.reason);
        }
        if report.rejected.len() > 10 {
            println!("  ... and {} more (--json lists them all)", report.rejected.len() - 10);
        }
    }
    if !report.not_stored.is_empty() {
        return Err(Failure::new(Exit::Unavailable, "some readings were not stored: sending them again is safe"));
    }
    if !report.rejected.is_empty() {
        return Err(Failure::new(Exit::Rejected, format!("{} readings rejected", report.rejected.len())));
    }
    Ok(())
}

async fn simulate(c: &Client, a: &SimulateArgs, json: bool) -> Outcome {
    use petty_timeline::simulator::{profiles, reading_json, simulate_day};
    if a.collars == 0 || a.collars > 100 || !(a.hours > 0.0 && a.hours <= 24.0 * 30.0) {
        return Err(Failure::new(Exit::Usage, "--collars 1..100 and --hours up to 720"));
    }
    let prefix = &a.prefix;
    if prefix.len() != 2 || !prefix.chars().all(|ch| ch.is_ascii_uppercase()) {
        return Err(Failure::new(Exit::Usage, "--prefix is two capital letters"));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let from = now - (a.hours * 3_600_000.0) as i64;
    let day_ms = 86_400_000;
    let pets = profiles();
    let mut readings = Vec::new();
    for n in 1..=a.collars {
        let collar_id = format!("{prefix}-{n:06}");
        let profile = &pets[(n as usize - 1) % pets.len()];
        // Claim it unless it is already yours (another owner's: 409, reported).
        if let Err(Error::Api { status: 404, .. }) = c.collar(&collar_id).await {
            let pet: Pet = serde_json::from_value(json!({
                "name": profile.name, "species": profile.species, "weight_kg": profile.weight_kg,
            }))
            .map_err(|e| Failure::new(Exit::Other, e.to_string()))?;
            c.claim_collar(&collar_id, &pet).await?;
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
    let report = send_batches(c, &readings, json).await?;
    report_outcome(&report, readings.len(), json)
}

fn activity_name(level: u8) -> &'static str {
    match level {
        0 => "rest",
        1 => "walk",
        _ => "play",
    }
}

async fn realtime(c: &Client, a: &RealtimeArgs, json: bool) -> Outcome {
    let mut polls = 0u32;
    loop {
        let r = c.realtime(&a.collar).await;
        polls += 1;
        let last = !a.watch || a.count.is_some_and(|n| polls >= n);
        let r = match r {
            Ok(r) => r,
            // While watching, a passing outage is shown and polling goes on.
            Err(e @ (Error::Transport { .. } | Error::CircuitOpen { .. } | Error::Api { status: 429 | 500.., .. }))
                if !last =>
            {
                eprintln!("petty: {e} (still watching)");
                tokio::time::sleep(Duration::from_secs(a.rest_every)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        // Adaptive: fast while the pet moves, slow at rest, slowest when the collar is silent.
        let every = if r.age_s > 600 {
            a.rest_every * 2
        } else if r.activity_level > 0 {
            a.active_every
        } else {
            a.rest_every
        };
        if json {
            println!(
                "{}",
                json!({"collar_id": r.collar_id, "timestamp": r.timestamp, "heart_rate": r.heart_rate,
                    "activity_level": r.activity_level, "location": r.location, "age_s": r.age_s,
                    "next_poll_s": if last { Value::Null } else { json!(every) }})
            );
        } else {
            let [lon, lat] =
                [r.location.coordinates.first(), r.location.coordinates.get(1)].map(|v| v.copied().unwrap_or_default());
            let next = if last { String::new() } else { format!("  next poll in {every} s") };
            println!(
                "{}  {}  {:>3} bpm  {:<4}  ({lat:.5}, {lon:.5})  {} s ago{next}",
                render::hhmm(&r.timestamp),
                r.collar_id,
                r.heart_rate,
                activity_name(r.activity_level),
                r.age_s
            );
        }
        if last {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(every)).await;
    }
}

async fn timeline(c: &Client, a: &TimelineArgs, json: bool) -> Outcome {
    let (from, to) = match a.day {
        Some(day) => {
            let start = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            (Some(render_ts(start)), Some(render_ts(start + chrono::Duration::days(1))))
        }
        None => (a.from.clone(), a.to.clone()),
    };
    let t = c.timeline_all(&a.collar, from.as_deref(), to.as_deref()).await?;
    if json {
        // The events as the API gave them, for scripts.
        let events: Vec<Value> = t
            .timeline
            .iter()
            .map(|e| {
                json!({"event_id": e.event_id, "behavior": e.behavior, "confidence": e.confidence,
                "start": e.start, "end": e.end, "duration_s": e.duration_s,
                "heart_rate_mean_bpm": e.stats.heart_rate_mean_bpm, "distance_m": e.stats.distance_m,
                "samples": e.stats.samples, "feedback": e.feedback})
            })
            .collect();
        print_json(
            &json!({"collar_id": t.collar_id, "window": {"from": t.metadata.window.from, "to": t.metadata.window.to},
            "data_points": t.metadata.data_points, "timeline": events}),
        );
        return Ok(());
    }
    println!(
        "{}  {} → {}  ({} readings, model {})",
        t.collar_id, t.metadata.window.from, t.metadata.window.to, t.metadata.data_points, t.metadata.model_version
    );
    if t.timeline.is_empty() {
        println!("no events in this window");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = t
        .timeline
        .iter()
        .map(|e| {
            vec![
                render::hhmm(&e.start),
                render::hhmm(&e.end),
                e.behavior.as_str().to_owned(),
                format!("{:.2}", e.confidence),
                e.stats.heart_rate_mean_bpm.map(|h| format!("{h:.0}")).unwrap_or_else(|| "-".into()),
                format!("{:.0}", e.stats.distance_m),
                match e.feedback.as_ref().map(|f| f.user_feedback) {
                    Some(Verdict::Correct) => "correct".to_owned(),
                    Some(Verdict::Incorrect) => "incorrect".to_owned(),
                    None => String::new(),
                },
                e.event_id.clone(),
            ]
        })
        .collect();
    print!("{}", render::table(&["START", "END", "BEHAVIOUR", "CONF", "HR", "DIST m", "FEEDBACK", "EVENT"], &rows));
    if let (Some(from), Some(to)) =
        (render::parse_time(&t.metadata.window.from), render::parse_time(&t.metadata.window.to))
    {
        println!();
        print!("{}", render::chart(&t.timeline, from, to, 96));
    }
    Ok(())
}

fn render_ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn plan(c: &Client, collar: &str, json: bool) -> Outcome {
    let p = c.plan(collar).await?;
    if json {
        print_json(&json!({"collar_id": p.collar_id, "daily_goals": p.daily_goals, "nutrition_plan": p.nutrition_plan,
            "health_recommendations": p.health_recommendations.iter().map(|r| json!({"code": r.code, "severity": r.severity, "message": r.message})).collect::<Vec<_>>()}));
        return Ok(());
    }
    let figure = |v: &Value| -> String {
        let unit = v.get("unit").and_then(Value::as_str).unwrap_or("");
        let shown: Vec<String> = v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, x)| *k != "unit" && !x.is_null() && !x.is_object())
            .map(|(k, x)| format!("{k} {}", x.to_string().trim_matches('"')))
            .collect();
        format!("{} {unit}", shown.join(", ")).trim().to_owned()
    };
    // Every figure printed with its unit, whatever the plan holds: its parts as JSON objects.
    let parts = |v: Value| v.as_object().cloned().unwrap_or_default();
    println!("pet plan for {}", p.collar_id);
    println!("daily goals:");
    for (k, v) in &parts(json!(p.daily_goals)) {
        println!("  {k:<28} {}", if v.is_object() { figure(v) } else { v.to_string().trim_matches('"').to_owned() });
    }
    println!("nutrition:");
    for (k, v) in &parts(json!(p.nutrition_plan)) {
        println!("  {k:<28} {}", if v.is_object() { figure(v) } else { v.to_string().trim_matches('"').to_owned() });
    }
    println!("recommendations:");
    for r in &p.health_recommendations {
        println!("  [{}] {}: {}", r.severity, r.code, r.message);
    }
    Ok(())
}
