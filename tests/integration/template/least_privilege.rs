//! Least privilege, proven: what each function's code calls against what its role grants.

use super::*;

// ------------------------------------------------------------------------------------------
// Least privilege, proven: what each function's code calls against what its role grants.
//
// The code side scans the Rust sources of each function crate (`src/`, without `#[cfg(test)]`
// code and comments) for AWS SDK fluent calls (`.get_item()`, `.query()`...), maps each to its
// IAM action and works out which table, index or secret it targets by following the argument
// (`.table_name(&self.users)` → the store's `users: cfg.users_table` → `env.required(
// "USERS_TABLE")`, or through a constructor's caller). Shared code is attributed through
// `SHARED` below. The policy side reads each function's `Policies` statements and names every
// resource by the environment variable that hands it to the code (`!GetAtt UsersTable.Arn` →
// `USERS_TABLE: !Ref UsersTable`). Both sides must be equal: a call without a grant fails, and
// so does a grant no code uses.

/// AWS SDK fluent call → the IAM action it needs (`TRANSACT`: one action per item kind).
pub(super) const SDK_CALLS: &[(&str, &str)] = &[
    ("get_item", "dynamodb:GetItem"),
    ("put_item", "dynamodb:PutItem"),
    ("update_item", "dynamodb:UpdateItem"),
    ("delete_item", "dynamodb:DeleteItem"),
    ("query", "dynamodb:Query"),
    ("scan", "dynamodb:Scan"),
    ("batch_write_item", "dynamodb:BatchWriteItem"),
    ("batch_get_item", "dynamodb:BatchGetItem"),
    ("transact_write_items", TRANSACT),
    ("transact_get_items", TRANSACT),
    ("describe_table", "dynamodb:DescribeTable"),
    ("get_secret_value", "secretsmanager:GetSecretValue"),
    ("describe_secret", "secretsmanager:DescribeSecret"),
    ("put_secret_value", "secretsmanager:PutSecretValue"),
    ("describe_alarms", "cloudwatch:DescribeAlarms"),
    ("put_metric_data", "cloudwatch:PutMetricData"),
    ("create_thing", "iot:CreateThing"),
    ("create_keys_and_certificate", "iot:CreateKeysAndCertificate"),
    ("attach_policy", "iot:AttachPolicy"),
    ("attach_thing_principal", "iot:AttachThingPrincipal"),
    ("send_message", "sqs:SendMessage"),
    ("send_message_batch", "sqs:SendMessage"),
    ("change_message_visibility", "sqs:ChangeMessageVisibility"),
    ("delete_message", "sqs:DeleteMessage"),
    ("send_email", "ses:SendEmail"),
    ("create_platform_endpoint", "sns:CreatePlatformEndpoint"),
    ("publish", "sns:Publish"),
    ("delete_endpoint", "sns:DeleteEndpoint"),
    ("get_endpoint_attributes", "sns:GetEndpointAttributes"),
    ("set_endpoint_attributes", "sns:SetEndpointAttributes"),
    ("get_object", "s3:GetObject"),
    ("put_object", "s3:PutObject"),
    ("delete_object", "s3:DeleteObject"),
    ("list_objects_v2", "s3:ListBucket"),
];

/// S3 calls on objects: every key the code writes or reads is under `exports/`
/// (`petty_shared::account_jobs::export_prefix`), as the grants name `${Bucket.Arn}/exports/*`.
pub(super) const S3_OBJECT_ACTIONS: &[&str] = &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];

/// The builder methods that mark a fluent call as an AWS SDK request (beside `.send()`), and
/// name its target: a table, a secret, a queue, a sender identity, a platform application or
/// an endpoint.
pub(super) const SDK_MARKERS: &[&str] = &[
    ".send()",
    ".table_name(",
    ".request_items(",
    ".secret_id(",
    ".transact_items(",
    ".into_paginator()",
    ".queue_url(",
    ".from_email_address(",
    ".platform_application_arn(",
    ".target_arn(",
    ".endpoint_arn(",
    ".bucket(",
];

/// Where the target of a call is named: the first of these builder methods in its chain.
pub(super) const TARGET_ARGS: &[&str] = &[
    ".table_name(",
    ".request_items(",
    ".secret_id(",
    ".queue_url(",
    ".from_email_address(",
    ".platform_application_arn(",
    ".bucket(",
];

/// Calls on an SNS platform endpoint. An endpoint's ARN is read from a device record, not from
/// the configuration; every endpoint was created under one of the stack's platform
/// applications, so such a call targets the endpoints of each (`<APP_ENV>/endpoint/*`, as the
/// grant side names `${Endpoints}/*` derived from the application's ARN).
pub(super) const SNS_ENDPOINT_ACTIONS: &[&str] =
    &["sns:Publish", "sns:DeleteEndpoint", "sns:GetEndpointAttributes", "sns:SetEndpointAttributes"];
pub(super) const PLATFORM_APPS: &[&str] = &["APNS_PLATFORM_APP_ARN", "FCM_PLATFORM_APP_ARN"];

/// IoT calls whose resource is a kind of IoT resource, not one of the stack's: the code side
/// names them like the grant side reads `arn:...:iot:...:<kind>/*` (`iot:thing/*`).
pub(super) const IOT_TARGETS: &[(&str, &str)] = &[
    ("iot:CreateThing", "iot:thing/*"),
    ("iot:AttachThingPrincipal", "iot:thing/*"),
    ("iot:AttachPolicy", "iot:cert/*"),
];
pub(super) const TRANSACT: &str = "(per item)";

/// TransactWriteItems/TransactGetItems have no IAM action of their own: each item is
/// authorized as the single-item action on its table.
pub(super) const TRANSACT_ITEMS: &[(&str, &str)] = &[
    ("Put::builder()", "dynamodb:PutItem"),
    ("Update::builder()", "dynamodb:UpdateItem"),
    ("Delete::builder()", "dynamodb:DeleteItem"),
    ("ConditionCheck::builder()", "dynamodb:ConditionCheckItem"),
    ("Get::builder()", "dynamodb:GetItem"),
];

/// The commented allow-list of `Resource: "*"`: actions for which AWS offers no narrower
/// resource. Each such statement also carries a `# WILDCARD-OK: <why>` comment in the template.
pub(super) const WILDCARD_ALLOWED: &[(&str, &str)] = &[
    ("cloudwatch:DescribeAlarms", "no resource-level permissions; the health function filters by the stack's prefix"),
    ("cloudwatch:PutMetricData", "no resource-level permissions (scope it with a cloudwatch:namespace condition)"),
    // Not in our Policies: SAM attaches AWSXrayWriteOnlyAccess for `Tracing: Active` and
    // AWSLambdaBasicExecutionRole (logs) to every role it generates.
    ("xray:PutTraceSegments", "no resource-level permissions"),
    ("xray:PutTelemetryRecords", "no resource-level permissions"),
    ("iot:CreateKeysAndCertificate", "no resource-level permissions: a certificate has no ARN before it exists"),
];

/// Shared code that calls AWS, attributed to a function when its crate's sources contain one
/// of `used_if` (a method or function name of the table module). The target is the
/// environment variable of what the function passes to `constructor` (its argument `arg`),
/// or `fixed` when shared code wires it from a shared configuration type (the [`Edge`] of the
/// data routes reads `DataRouteConfig`); `index` names a GSI. `SECRETS`: every `*_SECRET_ID`
/// the function's configuration reads. Every SDK call in `shared/src` must be covered here
/// (checked), so new shared AWS code cannot slip past the policies.
///
/// [`Edge`]: petty_shared::edge::Edge
pub(super) struct Shared {
    pub(super) what: &'static str,
    pub(super) file: &'static str,
    pub(super) used_if: &'static [&'static str],
    pub(super) target: Target,
    pub(super) index: Option<&'static str>,
    pub(super) calls: &'static [&'static str],
}

/// Where a shared call's table or secret comes from.
pub(super) enum Target {
    /// Argument `.1` of the function's calls of `.0` (e.g. `("CollarsTable::new(", 1)`).
    Constructor(&'static str, usize),
    /// Always this environment variable.
    Fixed(&'static str),
    /// Every `*_SECRET_ID` the function's configuration reads.
    Secrets,
}

const API_KEYS: Target = Target::Constructor("ApiKeysTable::new(", 1);
const AUDIT: Target = Target::Constructor("AuditTable::new(", 1);
const COLLARS: Target = Target::Constructor("CollarsTable::new(", 1);
const CLAIMS: Target = Target::Constructor("ClaimAttemptsTable::new(", 1);
const FEEDBACK: Target = Target::Constructor("FeedbackTable::new(", 1);
const READINGS: Target = Target::Constructor("ReadingsTable::new(", 1);
const SHOWN: Target = Target::Constructor("TimelineEventsTable::new(", 1);
const ALERTS: Target = Target::Constructor("AlertsTable::new(", 1);
const NOTIFICATIONS: Target = Target::Constructor("NotificationsTable::new(", 1);
const USERS: Target = Target::Constructor("UsersTable::new(", 1);
const SESSIONS: Target = Target::Constructor("SessionsTable::new(", 1);
const LOCKOUTS: Target = Target::Constructor("LockoutsTable::new(", 1);
const MEMBERS: Target = Target::Constructor("MembersTable::new(", 1);

const fn shared(
    what: &'static str,
    file: &'static str,
    used_if: &'static [&'static str],
    target: Target,
    calls: &'static [&'static str],
) -> Shared {
    Shared { what, file, used_if, target, index: None, calls }
}

pub(super) const SHARED: &[Shared] = &[
    // Accounts (shared/src/tables/users.rs): both copies of an account change in one
    // transaction, authorized per item.
    shared(
        "accounts, tokens, export and erasure records read",
        "shared/src/tables/users.rs",
        &[
            "users.user_by_email(",
            "users.user_by_id(",
            "users.token(",
            "users.export(",
            "users.erasure(",
            "users.contact(",
            "users.person(",
            "users.timezone(",
            "zones.timezone_of(",
        ],
        USERS,
        &["dynamodb:GetItem"],
    ),
    shared(
        "accounts created, export and erasure records written",
        "shared/src/tables/users.rs",
        &["users.create_user(", "users.put_export(", "users.put_erasure("],
        USERS,
        &["dynamodb:PutItem"],
    ),
    shared(
        "passwords, profiles and closures (both copies, one transaction)",
        "shared/src/tables/users.rs",
        &["users.set_password(", "users.update_profile(", "users.mark_deleted("],
        USERS,
        &["dynamodb:UpdateItem"],
    ),
    shared(
        "one-time tokens issued and redeemed (the token item and the account, one transaction)",
        "shared/src/tables/users.rs",
        &["users.issue_token(", "users.reset_password(", "users.verify_email("],
        USERS,
        &["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    ),
    shared(
        "accounts and export records erased",
        "shared/src/tables/users.rs",
        &["users.erase_account(", "users.delete_export("],
        USERS,
        &["dynamodb:GetItem", "dynamodb:DeleteItem"],
    ),
    shared("sessions started", "shared/src/tables/sessions.rs", &["sessions.create("], SESSIONS, &["dynamodb:PutItem"]),
    shared(
        "sessions rotated (read back when the token was already used) and ended",
        "shared/src/tables/sessions.rs",
        &["sessions.rotate(", "sessions.revoke(", "sessions.revoke_of_user(", "sessions.revoke_all_of_user("],
        SESSIONS,
        &["dynamodb:UpdateItem", "dynamodb:GetItem"],
    ),
    shared(
        "a session checked",
        "shared/src/tables/sessions.rs",
        &["sessions.active(", "sessions.session("],
        SESSIONS,
        &["dynamodb:GetItem"],
    ),
    Shared {
        what: "a user's sessions listed",
        file: "shared/src/tables/sessions.rs",
        used_if: &["sessions.sessions_of(", "sessions.revoke_all_of_user("],
        target: SESSIONS,
        index: Some("user_id-index"),
        calls: &["dynamodb:Query"],
    },
    shared(
        "sessions erased",
        "shared/src/tables/sessions.rs",
        &["sessions.delete("],
        SESSIONS,
        &["dynamodb:DeleteItem"],
    ),
    shared("counters read", "shared/src/tables/lockouts.rs", &["lockouts.lockout("], LOCKOUTS, &["dynamodb:GetItem"]),
    shared(
        "counters counted and locked",
        "shared/src/tables/lockouts.rs",
        &["lockouts.record_failure(", "lockouts.lock("],
        LOCKOUTS,
        &["dynamodb:UpdateItem"],
    ),
    shared(
        "counters cleared",
        "shared/src/tables/lockouts.rs",
        &["lockouts.clear("],
        LOCKOUTS,
        &["dynamodb:DeleteItem"],
    ),
    shared(
        "items deleted in batches (dynamo::delete_keys, on the table its caller names)",
        "shared/src/dynamo.rs",
        &["delete_keys("],
        Target::Constructor("delete_keys(", 1),
        &["dynamodb:BatchWriteItem"],
    ),
    // dynamo::transact runs the transactions the table modules build; their items are
    // attributed per item action above (users.rs), so this entry attributes nothing itself.
    shared("transactions (attributed per item by their builders)", "shared/src/dynamo.rs", &[], USERS, &[TRANSACT]),
    // The data routes' edge (Edge::new): API-key lookups, last-use marks and audit events.
    shared(
        "API keys of the data routes' Authenticator (Edge)",
        "shared/src/tables/api_keys.rs",
        &["Edge::new("],
        Target::Fixed("API_KEYS_TABLE"),
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    shared(
        "audit events of the data routes (Edge)",
        "shared/src/tables/audit.rs",
        &["Edge::new("],
        Target::Fixed("AUDIT_TABLE"),
        &["dynamodb:PutItem"],
    ),
    // A function's own API keys and audit tables.
    shared(
        "API-key lookups and last-use marks of an Authenticator",
        "shared/src/tables/api_keys.rs",
        &["ApiKeysTable::new("],
        API_KEYS,
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    shared("API keys created", "shared/src/tables/api_keys.rs", &[".put_key("], API_KEYS, &["dynamodb:PutItem"]),
    shared("API keys revoked", "shared/src/tables/api_keys.rs", &[".revoke_key("], API_KEYS, &["dynamodb:UpdateItem"]),
    Shared {
        what: "a user's API keys listed",
        file: "shared/src/tables/api_keys.rs",
        used_if: &[".keys_of_user("],
        target: API_KEYS,
        index: Some("user_id-index"),
        calls: &["dynamodb:Query"],
    },
    shared("audit events written", "shared/src/tables/audit.rs", &["AuditTable::new("], AUDIT, &["dynamodb:PutItem"]),
    shared("a user's audit events read", "shared/src/tables/audit.rs", &[".recent("], AUDIT, &["dynamodb:Query"]),
    // Collars.
    shared(
        "collar lookups and the access check",
        "shared/src/tables/collars.rs",
        &["access(", ".collar("],
        COLLARS,
        &["dynamodb:GetItem"],
    ),
    shared(
        "registrations read and collars claimed (the claim flow)",
        "shared/src/tables/collars.rs",
        &[".registration(", ".claim("],
        COLLARS,
        &["dynamodb:GetItem", "dynamodb:UpdateItem"],
    ),
    shared(
        "collars registered",
        "shared/src/tables/collars.rs",
        &[".register_collar("],
        COLLARS,
        &["dynamodb:PutItem"],
    ),
    shared(
        "claim codes reset",
        "shared/src/tables/collars.rs",
        &[".reset_claim_code("],
        COLLARS,
        &["dynamodb:UpdateItem"],
    ),
    shared(
        "pet profiles updated",
        "shared/src/tables/collars.rs",
        &[".update_pet("],
        COLLARS,
        &["dynamodb:UpdateItem"],
    ),
    shared("collars released", "shared/src/tables/collars.rs", &[".release("], COLLARS, &["dynamodb:UpdateItem"]),
    shared("collars transferred", "shared/src/tables/collars.rs", &[".transfer("], COLLARS, &["dynamodb:UpdateItem"]),
    // Households (shared/src/tables/members.rs).
    shared(
        "a caller's membership read (the access check, a retry's recipient)",
        "shared/src/tables/members.rs",
        &["access(", ".membership(", "still_hears("],
        MEMBERS,
        &["dynamodb:GetItem"],
    ),
    shared(
        "a household's members listed (recipients, calibration, the members route)",
        "shared/src/tables/members.rs",
        &["recipients(", ".members(", "end_household(", ".release("],
        MEMBERS,
        &["dynamodb:Query"],
    ),
    shared(
        "a household's memberships deleted (release, transfer, erasure; dynamo::delete_keys)",
        "shared/src/dynamo.rs",
        &["end_household(", ".remove_user(", ".release("],
        MEMBERS,
        &["dynamodb:BatchWriteItem"],
    ),
    Shared {
        what: "the collars shared with a person",
        file: "shared/src/tables/members.rs",
        used_if: &["shared_with(", ".memberships_of(", ".remove_user("],
        target: MEMBERS,
        index: Some("user_id-index"),
        calls: &["dynamodb:Query"],
    },
    shared(
        "invitations stored and read",
        "shared/src/tables/members.rs",
        &[".put_invitation(", ".invitation("],
        MEMBERS,
        &["dynamodb:PutItem", "dynamodb:GetItem"],
    ),
    shared(
        "invitations accepted (the invitation used and the membership put, one transaction)",
        "shared/src/tables/members.rs",
        &[".accept("],
        MEMBERS,
        &["dynamodb:UpdateItem", "dynamodb:PutItem"],
    ),
    shared(
        "memberships changed and removed, invitations counted",
        "shared/src/tables/members.rs",
        &[".update_member(", ".remove_member(", ".count_invitation("],
        MEMBERS,
        &["dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    ),
    Shared {
        what: "an owner's collars listed and counted",
        file: "shared/src/tables/collars.rs",
        used_if: &[".collars_of_owner(", ".count_of_owner("],
        target: COLLARS,
        index: Some("owner_id-index"),
        calls: &["dynamodb:Query"],
    },
    // Claim attempts and claims per hour.
    shared(
        "claim counters bumped",
        "shared/src/tables/claim_attempts.rs",
        &[".bump_counter("],
        CLAIMS,
        &["dynamodb:UpdateItem"],
    ),
    shared("claim counters read", "shared/src/tables/claim_attempts.rs", &[".counter("], CLAIMS, &["dynamodb:GetItem"]),
    // Readings.
    shared(
        "ingestion: duplicates checked, latest reading offered (ingest::store_valid)",
        "shared/src/tables/readings.rs",
        &["store_valid("],
        READINGS,
        &["dynamodb:BatchGetItem", "dynamodb:PutItem"],
    ),
    shared(
        "ingestion: chunked batch writes (dynamo::batch_write under ingest::store_valid)",
        "shared/src/dynamo.rs",
        &["store_valid("],
        READINGS,
        &["dynamodb:BatchWriteItem"],
    ),
    shared(
        "the latest reading",
        "shared/src/tables/readings.rs",
        &[".latest_reading("],
        READINGS,
        &["dynamodb:GetItem"],
    ),
    shared("readings by day", "shared/src/tables/readings.rs", &[".samples_by_day("], READINGS, &["dynamodb:Query"]),
    // Feedback and the event index.
    shared(
        "feedback recorded (history and current)",
        "shared/src/tables/feedback.rs",
        &[".record_feedback("],
        FEEDBACK,
        &["dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    shared(
        "feedback read",
        "shared/src/tables/feedback.rs",
        &[".current_feedback(", ".feedback_page("],
        FEEDBACK,
        &["dynamodb:Query"],
    ),
    shared(
        "a pet's calibration read",
        "shared/src/tables/feedback.rs",
        &[".calibration_of("],
        FEEDBACK,
        &["dynamodb:GetItem"],
    ),
    shared(
        "a pet's calibration saved",
        "shared/src/tables/feedback.rs",
        &[".save_calibration("],
        FEEDBACK,
        &["dynamodb:PutItem"],
    ),
    shared(
        "the events a day showed, published",
        "shared/src/tables/timeline_events.rs",
        &[".publish_day("],
        SHOWN,
        &["dynamodb:PutItem"],
    ),
    shared(
        "the events a day showed, read",
        "shared/src/tables/timeline_events.rs",
        &[".shown_on_day("],
        SHOWN,
        &["dynamodb:GetItem"],
    ),
    shared(
        "finished days' records read and stored once",
        "shared/src/tables/timeline_events.rs",
        &["records.days(", ".put_record("],
        SHOWN,
        &["dynamodb:Query", "dynamodb:PutItem"],
    ),
    shared(
        "a late reading's finished day marked stale (ingestion)",
        "shared/src/tables/timeline_events.rs",
        &["store_valid("],
        SHOWN,
        &["dynamodb:UpdateItem"],
    ),
    // Alerts: zones, settings, alerts, and the engine the evaluator and the sweep share.
    shared("zones listed", "shared/src/tables/alerts.rs", &[".zones("], ALERTS, &["dynamodb:Query"]),
    shared("zones written", "shared/src/tables/alerts.rs", &[".put_zone("], ALERTS, &["dynamodb:PutItem"]),
    shared("zones removed", "shared/src/tables/alerts.rs", &[".delete_zone("], ALERTS, &["dynamodb:DeleteItem"]),
    shared("alert settings read", "shared/src/tables/alerts.rs", &[".alert_settings("], ALERTS, &["dynamodb:GetItem"]),
    shared(
        "alert settings written",
        "shared/src/tables/alerts.rs",
        &[".put_alert_settings("],
        ALERTS,
        &["dynamodb:PutItem"],
    ),
    shared("alerts listed", "shared/src/tables/alerts.rs", &[".alerts_page("], ALERTS, &["dynamodb:Query"]),
    shared("one alert read", "shared/src/tables/alerts.rs", &[".alert("], ALERTS, &["dynamodb:GetItem"]),
    shared(
        "alerts acknowledged (and read back when already acknowledged or resolved)",
        "shared/src/tables/alerts.rs",
        &[".acknowledge("],
        ALERTS,
        &["dynamodb:UpdateItem", "dynamodb:GetItem"],
    ),
    shared(
        "the alert engine: state, settings and zones read; alerts opened and resolved; state saved (alerting)",
        "shared/src/tables/alerts.rs",
        &["evaluate_collar(", "sweep_collar("],
        ALERTS,
        &["dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"],
    ),
    shared(
        "the alert engine's collar lookups (alerting)",
        "shared/src/tables/collars.rs",
        &["evaluate_collar(", "sweep_collar("],
        COLLARS,
        &["dynamodb:GetItem"],
    ),
    Shared {
        what: "collars silent past their offline time (the sweep)",
        file: "shared/src/tables/alerts.rs",
        used_if: &[".silent_collars("],
        target: ALERTS,
        index: Some("silent-index"),
        calls: &["dynamodb:Query"],
    },
    // Notifications: destinations and settings per account, the delivery log per alert.
    shared(
        "an account's webhooks, devices and settings",
        "shared/src/tables/notifications.rs",
        &[".destinations("],
        NOTIFICATIONS,
        &["dynamodb:Query"],
    ),
    // `.table.put_settings(`, not `.put_settings(`: the alerts function's own handler for
    // `PUT .../alert-settings` has that name too.
    shared(
        "webhooks, devices and settings written",
        "shared/src/tables/notifications.rs",
        &[".put_webhook(", ".put_device(", ".table.put_settings("],
        NOTIFICATIONS,
        &["dynamodb:PutItem"],
    ),
    shared(
        "webhooks and devices removed",
        "shared/src/tables/notifications.rs",
        &[".delete_webhook(", ".delete_device("],
        NOTIFICATIONS,
        &["dynamodb:DeleteItem"],
    ),
    shared(
        "a webhook marked failing, disabled or recovered",
        "shared/src/tables/notifications.rs",
        &[".webhook_failed(", ".webhook_recovered("],
        NOTIFICATIONS,
        &["dynamodb:UpdateItem"],
    ),
    shared(
        "a delivery claimed (created once, or read back when it exists)",
        "shared/src/tables/notifications.rs",
        &[".claim_delivery("],
        NOTIFICATIONS,
        &["dynamodb:PutItem", "dynamodb:GetItem"],
    ),
    shared(
        "a delivery read",
        "shared/src/tables/notifications.rs",
        &[".delivery("],
        NOTIFICATIONS,
        &["dynamodb:GetItem"],
    ),
    shared(
        "a delivery's attempts taken and ended",
        "shared/src/tables/notifications.rs",
        &[".begin_attempt(", ".end_attempt("],
        NOTIFICATIONS,
        &["dynamodb:UpdateItem"],
    ),
    shared(
        "an alert's delivery log",
        "shared/src/tables/notifications.rs",
        &[".deliveries("],
        NOTIFICATIONS,
        &["dynamodb:Query"],
    ),
    // Secrets.
    shared(
        "the secrets cache (SecretsManagerSource)",
        "shared/src/secrets.rs",
        &["secret_cache("],
        Target::Secrets,
        &["secretsmanager:GetSecretValue"],
    ),
];

/// Call sites whose target no source rule can follow, named by hand: (file, expression, env var).
pub(super) const TARGET_OF: &[(&str, &str, &str)] = &[
    // Readiness describes each table of the list it is configured with.
    ("functions/health/src/probes.rs", "table", "TABLE_NAMES"),
];

/// The function's environment (Globals, then its own) as (variable, logical id, through a list).
pub(super) fn env_refs(t: &Yaml, f: &Yaml) -> Vec<(String, String, bool)> {
    let globals = t["Globals"]["Function"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    let own = f["Properties"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for (var, value) in globals.iter().chain(own.iter()) {
        for (logical, listed) in refs_in(value) {
            out.push((var.as_str().unwrap().to_owned(), logical, listed));
        }
    }
    out
}

/// What a function's `Policies` grant: (action, target) with targets named like the code's
/// (a resource handed over in a list, like `TABLE_NAMES`, is `TABLE_NAMES[UsersTable]`).
pub(super) fn granted(t: &Yaml, name: &str, f: &Yaml) -> BTreeSet<(String, String)> {
    let env_of: BTreeMap<String, String> = env_refs(t, f)
        .into_iter()
        .map(|(var, logical, listed)| {
            let key = if listed { format!("{var}[{logical}]") } else { var };
            (logical, key)
        })
        .collect();
    let mut out = BTreeSet::new();
    for policy in f["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        assert!(
            policy.get("Statement").is_some(),
            "{name}: use explicit policy statements (not SAM policy templates or managed policies) so this test can check them"
        );
        for st in policy["Statement"].as_sequence().unwrap().iter().map(statement) {
            assert_eq!(st["Effect"].as_str(), Some("Allow"), "{name}: only Allow statements expected");
            for action in strings(&st["Action"]) {
                for resource in list(&st["Resource"]) {
                    let target = match resource {
                        Yaml::String(s) if s == "*" => "*".to_owned(),
                        Yaml::Tagged(ref tag) if tag.tag == "!Sub" && tag.value.is_sequence() => {
                            // The endpoints of a platform application (`${Endpoints}/*`).
                            let app = endpoints_of_app(&resource).unwrap_or_else(|| panic!("{name}: resource {tag:?}"));
                            let var = env_of.get(&app).unwrap_or_else(|| {
                                panic!(
                                    "{name}: grants {action} on {app}'s endpoints, which its environment does not name"
                                )
                            });
                            format!("{var}/endpoint/*")
                        }
                        Yaml::Tagged(tag) => {
                            let text = tag.value.as_str().unwrap_or_else(|| panic!("{name}: resource {tag:?}"));
                            let (logical, rest) = match tag.tag.to_string().as_str() {
                                "!GetAtt" => (text.strip_suffix(".Arn").expect("X.Arn").to_owned(), String::new()),
                                "!Ref" => (text.to_owned(), String::new()),
                                "!Sub" if text.contains(":iot:") => {
                                    // An IoT resource kind, e.g. `arn:...:iot:<region>:<account>:thing/*`.
                                    let kind = text.rsplit(':').next().unwrap();
                                    out.insert((action.clone(), format!("iot:{kind}")));
                                    continue;
                                }
                                "!Sub" if text.contains(":ses:") => {
                                    // A sender identity: `arn:...:ses:<region>:<account>:identity/${Param}`.
                                    let param = text
                                        .rsplit_once(":identity/${")
                                        .and_then(|(_, p)| p.strip_suffix('}'))
                                        .unwrap_or_else(|| panic!("{name}: SES resource {text}"));
                                    (param.to_owned(), String::new())
                                }
                                "!Sub" => {
                                    let inner = text
                                        .strip_prefix("${")
                                        .and_then(|r| r.split_once(".Arn}"))
                                        .expect("${X.Arn}/...");
                                    (inner.0.to_owned(), inner.1.to_owned())
                                }
                                other => panic!("{name}: resource tag {other}"),
                            };
                            let var = env_of.get(&logical).unwrap_or_else(|| {
                                panic!("{name}: grants {action} on {logical}, which its environment does not name")
                            });
                            format!("{var}{rest}")
                        }
                        other => panic!("{name}: resource {other:?} must be a reference to this stack's resource"),
                    };
                    out.insert((action.clone(), target));
                }
            }
        }
    }
    out
}

/// A policy statement, or the statement of a conditional one (`!If [Cond, statement,
/// !Ref AWS::NoValue]`: granted when the condition holds, so checked as granted).
pub(super) fn statement(st: &Yaml) -> &Yaml {
    match st {
        Yaml::Tagged(tag) if tag.tag == "!If" => {
            assert!(
                matches!(&tag.value[2], Yaml::Tagged(no) if no.tag == "!Ref" && no.value.as_str() == Some("AWS::NoValue")),
                "a conditional statement is `!If [Cond, statement, !Ref AWS::NoValue]`: {st:?}"
            );
            &tag.value[1]
        }
        other => other,
    }
}

/// `!Sub ["${Endpoints}/*", {Endpoints: !Join [":endpoint/", !Split [":app/", !Ref App]]}]`
/// (every endpoint of the platform application `App`: its ARN with `:app/` turned into
/// `:endpoint/`, then the endpoint's id) → `App`.
pub(super) fn endpoints_of_app(resource: &Yaml) -> Option<String> {
    let Yaml::Tagged(sub) = resource else { return None };
    if sub.tag != "!Sub" || sub.value[0].as_str()? != "${Endpoints}/*" {
        return None;
    }
    let Yaml::Tagged(join) = &sub.value[1]["Endpoints"] else { return None };
    let Yaml::Tagged(split) = &join.value[1] else { return None };
    let Yaml::Tagged(app) = &split.value[1] else { return None };
    let shape = join.tag == "!Join"
        && join.value[0].as_str() == Some(":endpoint/")
        && split.tag == "!Split"
        && split.value[0].as_str() == Some(":app/")
        && app.tag == "!Ref";
    shape.then(|| app.value.as_str().map(str::to_owned)).flatten()
}

/// The logical ids a value refers to, and whether through a list (`!Join`).
pub(super) fn refs_in(value: &Yaml) -> Vec<(String, bool)> {
    match value {
        Yaml::Tagged(tag) if tag.tag == "!Ref" => vec![(tag.value.as_str().unwrap().to_owned(), false)],
        Yaml::Tagged(tag) if tag.tag == "!Join" => {
            tag.value[1].as_sequence().into_iter().flatten().flat_map(refs_in).map(|(l, _)| (l, true)).collect()
        }
        _ => vec![],
    }
}

pub(super) fn strings(value: &Yaml) -> Vec<String> {
    list(value).iter().map(|v| v.as_str().expect("a string").to_owned()).collect()
}

pub(super) fn list(value: &Yaml) -> Vec<Yaml> {
    match value {
        Yaml::Sequence(items) => items.clone(),
        Yaml::Null => vec![],
        other => vec![other.clone()],
    }
}

/// The crate directory of a function, from its binary name (`petty-auth` → `functions/auth`).
pub(super) fn crate_dir(binary: &str) -> String {
    let dir = format!("functions/{}", binary.strip_prefix("petty-").expect("binaries are named petty-<dir>"));
    let manifest = std::fs::read_to_string(repo_root().join(&dir).join("Cargo.toml")).unwrap();
    assert!(manifest.contains(&format!("name = \"{binary}\"")), "{dir}/Cargo.toml builds {binary}");
    dir
}

#[test]
fn every_function_is_granted_exactly_the_aws_calls_its_code_makes() {
    let t = template();
    // Settings read in the common crate: its config module, and the tables both account jobs read.
    let config = sources_under("shared/src")
        .into_iter()
        .filter(|s| s.path.ends_with("config.rs") || s.path.ends_with("account_jobs.rs"))
        .collect::<Vec<_>>();
    let mut failures = Vec::new();
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        let dir = crate_dir(f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap());
        let krate = sources_under(&format!("{dir}/src"));
        let scan = CodeScan { krate: &krate, config: &config };
        let mut calls = scan.own_calls().unwrap_or_else(|e| panic!("{name}: {e}"));
        calls.extend(scan.shared_calls().unwrap_or_else(|e| panic!("{name}: {e}")));
        // A list-valued target (`TABLE_NAMES`) stands for each resource of the list.
        let env = env_refs(&t, f);
        let calls: BTreeSet<(String, String)> = calls
            .into_iter()
            .flat_map(|(action, target)| {
                let listed: Vec<_> = env
                    .iter()
                    .filter(|(var, _, listed)| *listed && *var == target)
                    .map(|(var, logical, _)| (action.clone(), format!("{var}[{logical}]")))
                    .collect();
                if listed.is_empty() { vec![(action, target)] } else { listed }
            })
            .collect();
        let grants = granted(&t, name, f);
        for missing in calls.difference(&grants) {
            failures.push(format!("{name}: the code calls {} on {} without a grant", missing.0, missing.1));
        }
        for unused in grants.difference(&calls) {
            failures.push(format!("{name}: grants {} on {}, which its code never calls", unused.0, unused.1));
        }
    }
    assert!(failures.is_empty(), "least privilege:\n  {}", failures.join("\n  "));
}

#[test]
fn every_sdk_call_in_shared_code_is_attributed() {
    let shared = sources_under("shared/src");
    for s in &shared {
        let mut found = BTreeSet::new();
        for (call, action) in SDK_CALLS {
            for at in find_word(&s.code, &format!(".{call}()")) {
                let chain = chain_at(&s.code, at);
                if SDK_MARKERS.iter().filter(|m| **m != ".transact_items(").any(|m| chain.contains(m)) {
                    found.insert((*action).to_owned());
                }
            }
        }
        // A transaction's items are authorized per item: the builders a module fills.
        for (builder, action) in TRANSACT_ITEMS {
            if s.code.contains(builder) {
                found.insert((*action).to_owned());
            }
        }
        let declared: BTreeSet<String> = SHARED
            .iter()
            .filter(|sh| sh.file == s.path)
            .flat_map(|sh| sh.calls.iter().map(|a| (*a).to_owned()))
            .collect();
        assert_eq!(found, declared, "{}: SDK calls vs. their entries in SHARED", s.path);
    }
}

#[test]
fn the_source_scan_sees_through_stores_constructors_and_transactions() {
    // A store filled from the configuration, a transaction, an index and a shared constructor.
    let krate = vec![Source {
        path: "functions/x/src/store.rs".into(),
        code: without_tests(&without_comments(
            r#"
            impl Store {
                pub fn new(client: Client, cfg: &Config) -> Self { Self { client, users: cfg.users_table.clone(), reader: Reader::new(client.clone(), cfg.readings_table.clone()) } }
                async fn a(&self) { self.client.get_item().table_name(&self.users).send().await; } // .put_item() in a comment
                async fn b(&self) {
                    let put = |pk| TransactWriteItem::builder().put(Put::builder().table_name(&self.users).build());
                    self.client.transact_write_items().transact_items(put(1)).send().await;
                }
                async fn c(&self) { query_all(self.client.query().table_name(&self.users).index_name("by-email")).await; }
                fn d(&self, req: &Request) { req.uri().query(); }
            }
            impl Reader {
                pub fn new(client: Client, table: impl Into<String>) -> Self { Self { client, table: table.into() } }
                async fn e(&self) { self.client.query().table_name(&self.table).into_paginator(); }
            }
            #[cfg(test)]
            mod tests { fn f(c: Client) { c.delete_item().table_name("t").send(); } }
            "#,
        )),
    }];
    let config = vec![Source {
        path: "functions/x/src/config.rs".into(),
        code: "users_table: env.required(\"USERS_TABLE\")?, readings_table: env.required(\"READINGS_TABLE\")?,".into(),
    }];
    let scan = CodeScan { krate: &krate, config: &config };
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<BTreeSet<_>>();
    assert_eq!(
        scan.own_calls().unwrap(),
        pairs(&[
            ("dynamodb:GetItem", "USERS_TABLE"),
            ("dynamodb:PutItem", "USERS_TABLE"),
            ("dynamodb:Query", "USERS_TABLE/index/by-email"),
            ("dynamodb:Query", "READINGS_TABLE"),
        ])
    );
}

#[test]
fn wildcards_only_where_aws_offers_nothing_narrower() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let t = template();
    fn walk(v: &Yaml, path: &str, out: &mut Vec<(String, Yaml)>) {
        match v {
            Yaml::Mapping(m) => {
                for (k, v) in m {
                    let key = k.as_str().unwrap_or("?");
                    if key == "Statement" {
                        for st in v.as_sequence().into_iter().flatten() {
                            out.push((path.to_owned(), statement(st).clone()));
                        }
                    }
                    walk(v, &format!("{path}/{key}"), out);
                }
            }
            Yaml::Sequence(items) => items.iter().for_each(|i| walk(i, path, out)),
            Yaml::Tagged(tag) => walk(&tag.value, path, out),
            _ => {}
        }
    }
    let mut statements = Vec::new();
    walk(&t["Resources"], "Resources", &mut statements);
    assert!(statements.len() > 5, "the walk finds the policy statements");
    for (path, st) in statements {
        // A Deny only narrows (the exports bucket refuses every request without TLS).
        if st["Effect"].as_str() == Some("Deny") {
            continue;
        }
        let actions = strings(&st["Action"]);
        assert!(actions.iter().all(|a| !a.contains('*')), "{path}: wildcard action in {actions:?}");
        for resource in list(&st["Resource"]) {
            let text_of = match &resource {
                Yaml::Tagged(tag) if tag.tag == "!Sub" && tag.value.is_sequence() => tag.value[0].as_str(),
                Yaml::Tagged(tag) if tag.tag == "!Sub" => tag.value.as_str(),
                Yaml::Tagged(tag) if tag.tag == "!Ref" || tag.tag == "!GetAtt" => None,
                Yaml::Tagged(tag) => panic!("{path}: resource {} - name it with !Ref, !GetAtt or !Sub", tag.tag),
                other => other.as_str(),
            };
            let Some(r) = text_of else { continue };
            if !r.contains('*') {
                continue;
            }
            // Collars' IoT things are named by serial and certificates get generated ids: the
            // kind of IoT resource in this account and region is the narrowest there is.
            let iot_kind = r.strip_prefix("arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:");
            if endpoints_of_app(&resource).is_some() {
                // A push endpoint's ARN is its platform application's plus a generated id: the
                // endpoints of one application are the narrowest there is.
                assert!(
                    actions.iter().all(|a| SNS_ENDPOINT_ACTIONS.contains(&a.as_str())),
                    "{path}: {actions:?} on platform endpoints"
                );
            } else if r == "${ExportsBucket.Arn}/exports/*" {
                // Export archives are keyed by user and export id, known only at run time: the
                // exports prefix of the one bucket is the narrowest there is.
                assert!(
                    actions.iter().all(|a| S3_OBJECT_ACTIONS.contains(&a.as_str())),
                    "{path}: {actions:?} on exports"
                );
            } else if let Some(kind) = iot_kind {
                assert!(["thing/*", "cert/*"].contains(&kind), "{path}: IoT resource {r}");
            } else {
                assert_eq!(r, "*", "{path}: partial wildcard resource {r}");
                for a in &actions {
                    assert!(
                        WILDCARD_ALLOWED.iter().any(|(w, _)| w == a),
                        "{path}: Resource \"*\" for {a}, not in the allow-list"
                    );
                }
            }
            let sid = st["Sid"].as_str().unwrap_or_else(|| panic!("{path}: a wildcard statement needs a Sid"));
            let line = text.find(&format!("- Sid: {sid}\n")).expect("the Sid in the template text");
            let before = &text[..text[..line].rfind('\n').unwrap_or(0)];
            let comment: Vec<&str> = before.lines().rev().take_while(|l| l.trim_start().starts_with('#')).collect();
            assert!(
                comment.iter().any(|l| l.contains("WILDCARD-OK:")),
                "{path}: statement {sid} needs a `# WILDCARD-OK: <why>` comment right above it"
            );
        }
    }
}

#[test]
fn only_the_auth_function_reads_whole_accounts() {
    // The users table holds password hashes and scopes. Any other function may read an
    // account's key and e-mail address only, of account items (`USER#<id>`), never the
    // `EMAIL#<address>` lookup items: IAM's fine-grained conditions, not the code's word.
    let t = template();
    let mut checked = 0;
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        // The auth function owns accounts; the account jobs act on one whole account each (an
        // erasure deletes it, an export copies what its owner may see): their grants on the
        // users table are proven call by call by the test above.
        if ["AuthFunction", "AccountEraserFunction", "AccountExporterFunction"].contains(&name) {
            continue;
        }
        for policy in f["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            for st in policy["Statement"].as_sequence().into_iter().flatten().map(statement) {
                let on_users = list(&st["Resource"]).iter().any(|r| {
                    matches!(r, Yaml::Tagged(tag) if tag.value.as_str().is_some_and(|v| v.starts_with("UsersTable")))
                });
                // Describing the table (health's readiness) reads no item.
                if !on_users || strings(&st["Action"]).iter().all(|a| a == "dynamodb:DescribeTable") {
                    continue;
                }
                checked += 1;
                assert_eq!(strings(&st["Action"]), vec!["dynamodb:GetItem"], "{name}: reads single accounts only");
                let c = &st["Condition"];
                assert_eq!(
                    strings(&c["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]),
                    vec!["USER#*"],
                    "{name}: account items only"
                );
                let attributes = strings(&c["ForAllValues:StringEquals"]["dynamodb:Attributes"]);
                // The households function also shows members' names and refuses closed
                // accounts; neither reads a password hash or a token.
                // The data processor reads only the owner's time zone (a claimed pet's default).
                let allowed: &[&str] = if name == "HouseholdsFunction" {
                    &["pk", "email", "email_verified", "name", "deleted_at", "disabled"]
                } else if name == "DataProcessorFunction" {
                    &["pk", "timezone"]
                } else {
                    &["pk", "email", "email_verified"]
                };
                assert!(
                    !attributes.is_empty() && attributes.iter().all(|a| allowed.contains(&a.as_str())),
                    "{name}: the key and the address only, not {attributes:?}"
                );
                assert_eq!(
                    c["StringEqualsIfExists"]["dynamodb:Select"].as_str(),
                    Some("SPECIFIC_ATTRIBUTES"),
                    "{name}: a projection, never the whole item"
                );
            }
        }
    }
    assert!(checked >= 1, "the notifier reads owners' addresses");
}
