//! The command line: every command, argument and flag of `petty`, and their help.

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use petty_client::types::{AlertType, BATTERY_LOW_PCT, HEART_RATE_SUSTAINED_MIN, OFFLINE_AFTER_MIN, Role};

use crate::exit::EXIT_CODES;

#[derive(Parser)]
#[command(
    name = "petty",
    version,
    about = "The Petty API from a terminal: accounts, collars and their households, readings, timeline, feedback, plan, safe zones, alerts, notifications."
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
    /// Change your password, or reset a forgotten one with a token sent by e-mail.
    #[command(subcommand)]
    Password(PasswordCmd),
    /// Your sessions (devices logged in): list them, end one, or end them all.
    #[command(
        after_help = "Example:\n  petty sessions\n  petty sessions end 0f3c9a1e2b7d4c55\n  petty sessions end-all   # this one too: log in again after"
    )]
    Sessions(SessionsArgs),
    /// Your account: show or change the profile, verify the e-mail address, delete the account.
    #[command(subcommand)]
    Account(AccountCmd),
    /// A copy of all your data (JSON Lines in a zip): starts an export and waits for its link.
    #[command(
        after_help = "Example:\n  petty export                       # waits, then prints a download link valid 15 minutes\n  petty export --no-wait\n  petty export status 3f9c2a7d1e0b4c55a1b2c3d4e5f60718"
    )]
    Export(ExportArgs),
    /// Claim, edit, list, show and transfer collars.
    #[command(subcommand)]
    Collars(CollarsCmd),
    /// A collar's household: who shares it and as what (owner, caregiver, viewer); invitations.
    #[command(
        after_help = "Example:\n  petty members DM-000001\n  petty members invite DM-000001 bea@example.com --role viewer --until 2026-12-24T18:00:00Z\n  petty members accept --token \"$TOKEN_FROM_THE_MAIL\"\n  petty members set DM-000001 USER_ID --role caregiver --no-end\n  petty members rm DM-000001 USER_ID   # your own id (petty whoami): leave the household\n\nA caregiver may also change zones, alert settings and the pet's profile; a viewer only reads.\nOnly the owner manages the household (others: exit 3); ownership moves by `petty collars transfer`."
    )]
    Members(MembersArgs),
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
    /// The pet's days as a chart: active minutes against the goal per day, streaks, weekly and
    /// monthly averages (default this month).
    #[command(
        after_help = "Example:\n  petty summary DM-000001                 # this month (its dates in UTC)\n  petty summary DM-000001 --month 2026-11\n  petty summary DM-000001 --from 2026-01-01 --to 2026-12-31 --json | jq '.streaks'\n\nDays are the pet's local days; both dates are included, at most 366 days (else exit 6)."
    )]
    Summary(SummaryArgs),
    /// Tell Petty whether a timeline event was right.
    #[command(
        after_help = "Example:\n  petty feedback DM-000001.1795242590247.walk incorrect --corrected play --comment 'tug of war'"
    )]
    Feedback(FeedbackArgs),
    /// Safe zones: where the pet may be (and when); leaving every active one opens a zone_exit alert.
    #[command(subcommand)]
    Zones(ZonesCmd),
    /// Your collars' alerts: list them (newest first), watch for new ones, acknowledge one.
    #[command(
        after_help = "Example:\n  petty alerts                        # the newest page, every collar\n  petty alerts DM-000001 --status open --all\n  petty alerts --watch --interval 10  # new alerts and status changes as they happen\n  petty alerts ack DM-000001.zone_exit.home.1764633600000\n  petty alerts show DM-000001.zone_exit.home.1764633600000   # and where it was delivered"
    )]
    Alerts(AlertsArgs),
    /// Which alerts a collar raises, and when: with no flag shows them, with flags changes them.
    #[command(
        name = "alert-settings",
        after_help = "Example:\n  petty alert-settings DM-000001\n  petty alert-settings DM-000001 --disable battery_low,collar_offline --offline-after 60\n\nA change reads the settings, changes what the flags say and writes them all back."
    )]
    AlertSettings(AlertSettingsArgs),
    /// Webhooks: addresses your alerts are POSTed to, signed with the webhook's secret.
    #[command(subcommand)]
    Webhooks(WebhooksCmd),
    /// How alerts reach you (webhooks, e-mail, push): the settings, and a test to every destination.
    #[command(subcommand)]
    Notifications(NotificationsCmd),
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
pub enum PasswordCmd {
    /// Change the password: asks for the current one, then the new one; every other session ends.
    #[command(
        after_help = "Example:\n  petty password change\n  PETTY_PASSWORD=old PETTY_NEW_PASSWORD='a new long passphrase' petty password change"
    )]
    Change,
    /// Forgot it: `--email` mails a reset token (valid 30 minutes); `--token` sets the new
    /// password with it, ending every session and API key of the account.
    #[command(
        group(ArgGroup::new("step").required(true).args(["email", "token"])),
        after_help = "Example:\n  petty password reset --email ada@example.com\n  petty password reset --token \"$TOKEN_FROM_THE_MAIL\"   # asks for the new password"
    )]
    Reset {
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        token: Option<String>,
    },
}

#[derive(Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub cmd: Option<SessionsCmd>,
}

#[derive(Subcommand)]
pub enum SessionsCmd {
    /// End one session (an id from `petty sessions`); its access token lapses within 15 minutes.
    End { session: String },
    /// End every session, this one included.
    #[command(name = "end-all")]
    EndAll,
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Your profile: name, e-mail (and whether it is verified), time zone, locale, scopes.
    #[command(after_help = "Example:\n  petty account show")]
    Show,
    /// Change the profile; a new e-mail address takes effect once verified.
    #[command(
        after_help = "Example:\n  petty account update --name Ada --timezone Europe/Berlin --locale de-DE\n  petty account update --email ada@new.example   # then: petty account verify-email --token ..."
    )]
    Update {
        #[arg(long)]
        name: Option<String>,
        /// An IANA time zone, e.g. Europe/Berlin.
        #[arg(long)]
        timezone: Option<String>,
        /// A language tag, e.g. en or de-DE.
        #[arg(long)]
        locale: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Without `--token`: mails a verification token; with it: confirms the address.
    #[command(
        name = "verify-email",
        after_help = "Example:\n  petty account verify-email\n  petty account verify-email --token \"$TOKEN_FROM_THE_MAIL\""
    )]
    VerifyEmail {
        #[arg(long)]
        token: Option<String>,
    },
    /// Erase your account and everything of it (asks for the password); your collars are released.
    #[command(after_help = "Example:\n  petty account delete --yes")]
    Delete {
        /// Yes, erase it: there is no undo.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub cmd: Option<ExportCmd>,
    /// Start the export and print its id without waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds to wait for the export to be ready.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub wait: u64,
}

#[derive(Subcommand)]
pub enum ExportCmd {
    /// An export's status, and its download link when ready (a new link each time).
    Status { export: String },
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
        /// The pet's IANA time zone (Europe/Berlin): zones' active hours are in it [default: UTC].
        #[arg(long)]
        timezone: Option<String>,
    },
    /// Change the pet's profile: only the fields given, the others stay as they are.
    #[command(
        after_help = "Example:\n  petty collars edit DM-000001 --timezone Europe/Berlin\n  petty collars edit DM-000001 --weight-kg 31.5 --breed Collie"
    )]
    #[command(group(ArgGroup::new("change").required(true).multiple(true)))]
    Edit {
        collar: String,
        #[arg(long, group = "change")]
        name: Option<String>,
        #[arg(long, group = "change")]
        weight_kg: Option<f64>,
        #[arg(long, group = "change")]
        breed: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long, group = "change")]
        birth_date: Option<String>,
        #[arg(long, group = "change", value_parser = ["weight_loss", "inactive", "typical", "active", "working"])]
        activity_profile: Option<String>,
        /// The pet's IANA time zone (Europe/Berlin): zones' active hours are in it.
        #[arg(long, group = "change")]
        timezone: Option<String>,
    },
    /// Your collars.
    #[command(after_help = "Example:\n  petty collars list")]
    List,
    /// One collar: its pet and fleet status (last seen, battery, firmware).
    #[command(after_help = "Example:\n  petty collars show DM-000001")]
    Show { collar: String },
    /// Hand the collar to a caregiver of its household (owner only): it becomes theirs, and your
    /// access to it ends, every other member's too.
    #[command(
        after_help = "Example:\n  petty members DM-000001            # the caregiver's USER_ID\n  petty collars transfer DM-000001 6f1c2b7a-9d8e-4f60-a1b2-c3d4e5f60718\n\nSomeone who is not a current caregiver answers 409 (exit 6): promote them first with\n`petty members set COLLAR USER_ID --role caregiver`."
    )]
    Transfer {
        collar: String,
        /// The new owner's user id (from `petty members COLLAR`).
        user_id: String,
    },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct MembersArgs {
    #[command(subcommand)]
    pub cmd: Option<MembersCmd>,
    /// List this collar's household: the owner first, then the members by when they joined.
    pub collar: Option<String>,
}

#[derive(Subcommand)]
pub enum MembersCmd {
    /// Invite someone by e-mail (owner only); the token goes to that address, valid 7 days.
    #[command(
        after_help = "Example:\n  petty members invite DM-000001 bea@example.com --role caregiver\n  petty members invite DM-000001 sitter@example.com --role viewer --until 2026-12-24T18:00:00Z"
    )]
    Invite {
        collar: String,
        /// The address the invitation (and its token) goes to.
        email: String,
        /// A caregiver may also change zones, alert settings and the pet's profile; a viewer only reads.
        #[arg(long, value_enum)]
        role: MemberRole,
        /// When the membership ends by itself (RFC 3339, within a year) [default: never].
        #[arg(long, value_name = "RFC3339")]
        until: Option<String>,
    },
    /// Join a household with the token of the invitation e-mail (signed in with that address, verified).
    #[command(after_help = "Example:\n  petty members accept --token \"$TOKEN_FROM_THE_MAIL\"")]
    Accept {
        #[arg(long)]
        token: String,
    },
    /// Change a member's role or end (owner only): only what the flags say, the rest stays.
    #[command(
        group(ArgGroup::new("change").required(true).multiple(true).args(["role", "until", "no_end"])),
        after_help = "Example:\n  petty members set DM-000001 USER_ID --role caregiver\n  petty members set DM-000001 USER_ID --until 2026-12-24T18:00:00Z\n  petty members set DM-000001 USER_ID --no-end"
    )]
    Set {
        collar: String,
        /// The member's user id (from `petty members COLLAR`).
        user_id: String,
        /// The new role.
        #[arg(long, value_enum)]
        role: Option<MemberRole>,
        /// A new end of the membership (RFC 3339, within a year).
        #[arg(long, value_name = "RFC3339", conflicts_with = "no_end")]
        until: Option<String>,
        /// The membership no longer ends by itself.
        #[arg(long)]
        no_end: bool,
    },
    /// Remove a member (owner only), or leave a household with your own user id (no such member: exit 4).
    #[command(
        visible_alias = "remove",
        after_help = "Example:\n  petty members rm DM-000001 6f1c2b7a-9d8e-4f60-a1b2-c3d4e5f60718\n  petty members rm DM-000001 \"$(petty whoami --json | jq -r .user_id)\"   # leave"
    )]
    Rm {
        collar: String,
        /// The member's user id (from `petty members COLLAR`; yours to leave).
        user_id: String,
    },
}

/// A member's role (the owner's moves only by a transfer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MemberRole {
    Caregiver,
    Viewer,
}

impl MemberRole {
    pub fn role(self) -> Role {
        match self {
            MemberRole::Caregiver => Role::Caregiver,
            MemberRole::Viewer => Role::Viewer,
        }
    }
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
    /// One of the pet's days, YYYY-MM-DD, in the pet's time zone (`petty collars edit --timezone`).
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
pub struct SummaryArgs {
    pub collar: String,
    /// A calendar month, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM", value_parser = month, conflicts_with_all = ["from", "to"])]
    pub month: Option<chrono::NaiveDate>,
    /// The first day, YYYY-MM-DD (with --to).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// The last day, YYYY-MM-DD, included (with --from).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "from")]
    pub to: Option<chrono::NaiveDate>,
}

/// `YYYY-MM` as the month's first day.
fn month(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").map_err(|_| format!("{s:?} is not YYYY-MM"))
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

#[derive(Subcommand)]
pub enum ZonesCmd {
    /// Create a zone, or replace the collar's zone of that id: a circle or a GeoJSON polygon.
    #[command(
        after_help = "Example:\n  petty zones add DM-000001 home --name Home --circle=-74.006,40.7128 --radius 150\n  petty zones add DM-000001 yard --name 'Back yard' --polygon yard.geojson --active 22:00-07:00\n  petty zones add DM-000001 park --name Park --polygon '{\"type\":\"Polygon\",\"coordinates\":[[[13.40,52.50],[13.41,52.50],[13.41,52.51],[13.40,52.50]]]}'\n\nActive hours are in the pet's time zone (petty collars edit COLLAR --timezone Europe/Berlin;\nUTC until set); 22:00-07:00 spans midnight. Without --active the zone is always watched."
    )]
    Add(ZoneAddArgs),
    /// The collar's zones.
    #[command(after_help = "Example:\n  petty zones list DM-000001")]
    List { collar: String },
    /// Delete a zone (no such zone: exit 4).
    #[command(visible_alias = "remove", after_help = "Example:\n  petty zones rm DM-000001 home")]
    Rm {
        collar: String,
        /// The zone's id.
        zone: String,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("shape").required(true).args(["circle", "polygon"])))]
pub struct ZoneAddArgs {
    pub collar: String,
    /// The zone's id: 1 to 32 of a-z, 0-9 and - (the same id again replaces the zone).
    pub zone: String,
    /// What the zone is called (up to 50 characters).
    #[arg(long)]
    pub name: String,
    /// A circle's centre, degrees (a negative longitude: --circle=-74.006,40.7128).
    #[arg(long, value_name = "LON,LAT", allow_hyphen_values = true, requires = "radius")]
    pub circle: Option<String>,
    /// The circle's radius, metres (20 to 5000).
    #[arg(long, value_name = "M", requires = "circle")]
    pub radius: Option<f64>,
    /// A GeoJSON Polygon (or a Feature holding one): a file, or the JSON itself. One closed ring
    /// of 4 to 50 [lon, lat] positions, no holes.
    #[arg(long, value_name = "FILE|JSON")]
    pub polygon: Option<String>,
    /// When the zone is watched, local to the pet [default: always].
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub active: Option<String>,
}

#[derive(Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub cmd: Option<AlertsCmd>,
    #[command(flatten)]
    pub list: AlertsListArgs,
}

#[derive(Subcommand)]
pub enum AlertsCmd {
    /// Acknowledge an alert: you have seen it (it resolves when its condition clears).
    #[command(after_help = "Example:\n  petty alerts ack DM-000001.zone_exit.home.1764633600000")]
    Ack {
        /// An alert id from `petty alerts`.
        alert: String,
    },
    /// One alert and its delivery log: each webhook, e-mail and push delivery, its status and attempts.
    #[command(after_help = "Example:\n  petty alerts show DM-000001.zone_exit.home.1764633600000")]
    Show {
        /// An alert id from `petty alerts`.
        alert: String,
    },
}

#[derive(Args)]
pub struct AlertsListArgs {
    /// Only this collar's alerts [default: every collar of yours].
    pub collar: Option<String>,
    /// Only alerts in this status.
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Opened at or after this time (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Opened before this time (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
    /// Alerts per page [default: the API's].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Every page, following the cursors (otherwise the newest page only).
    #[arg(long)]
    pub all: bool,
    /// Keep polling (Ctrl-C stops): each alert is printed when it first appears and again when
    /// its status changes. With --status, an alert that leaves that status just drops out.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between polls (with --watch).
    #[arg(long, value_name = "SECS", default_value_t = WATCH_EVERY_S, value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
    /// Stop after this many polls (with --watch; for scripts).
    #[arg(long, requires = "watch")]
    pub count: Option<u32>,
}

/// `petty alerts --watch --interval`'s default, seconds.
pub const WATCH_EVERY_S: u64 = 5;

#[derive(Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Open,
    Acknowledged,
    Resolved,
}

fn alert_types() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(AlertType::ALL.map(AlertType::as_str))
}

#[derive(Args)]
pub struct AlertSettingsArgs {
    pub collar: String,
    /// Turn these alert types off (comma-separated).
    #[arg(long, value_name = "TYPE,...", value_delimiter = ',', value_parser = alert_types())]
    pub disable: Vec<String>,
    /// Turn these alert types on again (comma-separated).
    #[arg(long, value_name = "TYPE,...", value_delimiter = ',', value_parser = alert_types())]
    pub enable: Vec<String>,
    /// battery_low below this percentage (5 to 50).
    #[arg(long, value_name = "PCT",
        value_parser = clap::value_parser!(u8).range(i64::from(*BATTERY_LOW_PCT.start())..=i64::from(*BATTERY_LOW_PCT.end())))]
    pub battery_low: Option<u8>,
    /// collar_offline after this many minutes without a reading (10 to 1440).
    #[arg(long, value_name = "MIN",
        value_parser = clap::value_parser!(u32).range(i64::from(*OFFLINE_AFTER_MIN.start())..=i64::from(*OFFLINE_AFTER_MIN.end())))]
    pub offline_after: Option<u32>,
    /// heart_rate_high_at_rest after this many minutes at rest (5 to 60).
    #[arg(long, value_name = "MIN",
        value_parser = clap::value_parser!(u32).range(i64::from(*HEART_RATE_SUSTAINED_MIN.start())..=i64::from(*HEART_RATE_SUSTAINED_MIN.end())))]
    pub hr_sustained: Option<u32>,
}

#[derive(Subcommand)]
pub enum WebhooksCmd {
    /// Register a webhook: every alert is POSTed to it, signed; its secret is printed once.
    #[command(
        after_help = "Example:\n  petty webhooks add https://hooks.example.com/petty --name 'home automation'\n\nOn a deployed stage only https URLs to public addresses on the default port are accepted;\nthe local stack also accepts http://127.0.0.1:PORT. Verify each delivery's Petty-Signature\nwith the secret (the README shows how)."
    )]
    Add {
        /// Where deliveries are POSTed.
        url: String,
        /// What the webhook is called (up to 50 characters).
        #[arg(long)]
        name: Option<String>,
    },
    /// Your webhooks and their health (never their secrets).
    #[command(after_help = "Example:\n  petty webhooks list")]
    List,
    /// Remove a webhook: no more deliveries to it (no such webhook: exit 4).
    #[command(
        visible_alias = "remove",
        after_help = "Example:\n  petty webhooks rm wh_3f1c2b7a9d8e4f60a1b2c3d4e5f60718"
    )]
    Rm {
        /// The webhook's id, from `petty webhooks list`.
        webhook: String,
    },
}

#[derive(Subcommand)]
pub enum NotificationsCmd {
    /// Which alerts go to which channels, quiet hours, resolutions: with no flag shows them,
    /// with flags changes them.
    #[command(
        after_help = "Example:\n  petty notifications settings\n  petty notifications settings --quiet 22:00-07:00 --timezone Europe/Berlin --resolved on\n  petty notifications settings --channels battery_low=push --channels collar_offline=none\n  petty notifications settings --quiet off\n\nDuring quiet hours battery_low and collar_offline wait until they end; escape and health\nalerts pass unless --hold-urgent on. A change reads the settings, changes what the flags say\nand writes them all back."
    )]
    Settings(NotificationSettingsArgs),
    /// Send a test to every destination you have (each webhook, your e-mail, each device).
    #[command(after_help = "Example:\n  petty notifications test")]
    Test,
}

#[derive(Args)]
pub struct NotificationSettingsArgs {
    /// Quiet hours, or `off` for none.
    #[arg(long, value_name = "HH:MM-HH:MM|off")]
    pub quiet: Option<String>,
    /// The quiet hours' IANA time zone, e.g. Europe/Berlin (new quiet hours are in UTC unless given).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Hold escape and health alerts during quiet hours too.
    #[arg(long, value_enum, value_name = "on|off")]
    pub hold_urgent: Option<OnOff>,
    /// Also deliver an alert when it resolves.
    #[arg(long, value_enum, value_name = "on|off")]
    pub resolved: Option<OnOff>,
    /// The channels of an alert type: `TYPE=webhook,email,push`, or `TYPE=none` (repeatable).
    #[arg(long = "channels", value_name = "TYPE=CHANNEL,...")]
    pub channels: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn is_on(self) -> bool {
        self == OnOff::On
    }
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::{CommandFactory, Parser};

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("petty").chain(args.iter().copied()))
    }

    fn members(args: &[&str]) -> MembersArgs {
        let mut all = vec!["members"];
        all.extend_from_slice(args);
        match parse(&all).unwrap_or_else(|e| panic!("{args:?}: {e}")).command {
            Command::Members(a) => a,
            _ => panic!("not members"),
        }
    }

    fn refused(args: &[&str]) -> ErrorKind {
        match parse(args) {
            Ok(_) => panic!("{args:?} parsed"),
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn members_lists_a_collar_or_runs_a_subcommand() {
        let a = members(&["DM-000001", "--json"]);
        assert_eq!((a.collar.as_deref(), a.cmd.is_none()), (Some("DM-000001"), true));
        match members(&[
            "invite",
            "DM-000001",
            "bea@example.com",
            "--role",
            "viewer",
            "--until",
            "2026-12-24T18:00:00Z",
        ])
        .cmd
        {
            Some(MembersCmd::Invite { collar, email, role, until }) => {
                assert_eq!(
                    (collar.as_str(), email.as_str(), role),
                    ("DM-000001", "bea@example.com", MemberRole::Viewer)
                );
                assert_eq!(until.as_deref(), Some("2026-12-24T18:00:00Z"));
            }
            _ => panic!("not invite"),
        }
        assert!(
            matches!(members(&["accept", "--token", "pinv_x"]).cmd, Some(MembersCmd::Accept { token }) if token == "pinv_x")
        );
        assert!(matches!(
            members(&["rm", "DM-000001", "u-1"]).cmd,
            Some(MembersCmd::Rm { collar, user_id }) if collar == "DM-000001" && user_id == "u-1"
        ));
        assert!(matches!(members(&["remove", "DM-000001", "u-1"]).cmd, Some(MembersCmd::Rm { .. })));
        // Usage errors: exit 2, from clap.
        assert_eq!(refused(&["members"]), ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand);
        assert_eq!(refused(&["members", "invite", "DM-000001", "bea@example.com"]), ErrorKind::MissingRequiredArgument);
        assert_eq!(
            refused(&["members", "invite", "DM-000001", "bea@example.com", "--role", "owner"]),
            ErrorKind::InvalidValue,
            "the owner's role moves by a transfer"
        );
        assert_eq!(refused(&["members", "accept"]), ErrorKind::MissingRequiredArgument);
        assert_eq!(
            refused(&["members", "DM-000001", "rm", "u-1"]),
            ErrorKind::ArgumentConflict,
            "a list or a subcommand"
        );
    }

    #[test]
    fn members_set_needs_a_change_and_one_end_at_most() {
        match members(&["set", "DM-000001", "u-1", "--role", "caregiver"]).cmd {
            Some(MembersCmd::Set { role, until, no_end, .. }) => {
                assert_eq!((role, until, no_end), (Some(MemberRole::Caregiver), None, false));
            }
            _ => panic!("not set"),
        }
        assert!(matches!(
            members(&["set", "DM-000001", "u-1", "--no-end"]).cmd,
            Some(MembersCmd::Set { role: None, until: None, no_end: true, .. })
        ));
        assert!(matches!(
            members(&["set", "DM-000001", "u-1", "--until", "2027-01-01T00:00:00Z", "--role", "viewer"]).cmd,
            Some(MembersCmd::Set { role: Some(MemberRole::Viewer), until: Some(_), no_end: false, .. })
        ));
        assert_eq!(refused(&["members", "set", "DM-000001", "u-1"]), ErrorKind::MissingRequiredArgument);
        assert_eq!(
            refused(&["members", "set", "DM-000001", "u-1", "--until", "2027-01-01T00:00:00Z", "--no-end"]),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(MemberRole::Caregiver.role(), Role::Caregiver);
        assert_eq!(MemberRole::Viewer.role(), Role::Viewer);
    }

    #[test]
    fn a_collar_is_transferred_to_a_user_id() {
        match parse(&["collars", "transfer", "DM-000001", "u-2", "--json"]).unwrap() {
            Cli { json: true, command: Command::Collars(CollarsCmd::Transfer { collar, user_id }), .. } => {
                assert_eq!((collar.as_str(), user_id.as_str()), ("DM-000001", "u-2"));
            }
            _ => panic!("not a transfer"),
        }
        assert_eq!(refused(&["collars", "transfer", "DM-000001"]), ErrorKind::MissingRequiredArgument);
    }
}
