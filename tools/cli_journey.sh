#!/usr/bin/env bash
# The `petty` CLI's whole journey against the real function binaries on a fresh local stack
# (tools/stack.sh: a stage seeded in moto, every function behind `cargo lambda watch`): register, login,
# an operator (granted `admin` with tools/local_aws.py grant-scope) registering collars with
# `petty admin register` (codes, IoT certificates to 0600 files, reset-code), the owner
# claiming with `--claim-code` (wrong, malformed and missing codes refused first), API keys,
# ingest (JSONL and CSV), simulate (claiming with a code), realtime --watch, the fleet status,
# zones, alert settings and alerts (an escape raised by the evaluator, acknowledged), notifications
# (a webhook to a local tools/webhook_receiver.py verifying each delivery's signature, a test,
# the settings, the escape's resolution delivered, its delivery log), a household (a second
# account invited as a viewer, accepting with the e-mailed token, promoted to caregiver, handed
# the collar), timeline, feedback, plan,
# health, a forced token refresh and logout, then keeping the account (profile, e-mail verification
# from the local inbox, sessions on two devices, password change and reset, the export downloaded
# and read, deletion), each checked for its exit code and output.
# A step of `make test` (moto already running: AWS_ENDPOINT_URL); alone (`make cli-journey`)
# it starts and stops its own moto. Stops what it started by pid, even on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target
started=$(date +%s)

source "$ROOT/tools/stack.sh"
work=$(mktemp -d)
receiver_pid=""
cleanup() {
  stop_pid "$receiver_pid"
  stack_down
  rm -rf "$work"
}
trap cleanup EXIT

stack_up cli
cargo build --quiet -p petty-cli
PETTY="$ROOT/target/debug/petty"
export PETTY_CONFIG_DIR="$work/config" PETTY_PASSWORD="correct horse battery staple"
unset PETTY_API_KEY

passed=0
# expect CODE CMD...: runs the CLI, keeps stdout in $out (stderr in $err), checks the exit code.
expect() {
  local want=$1; shift
  local got=0
  "$PETTY" "$@" >"$work/out" 2>"$work/err" || got=$?
  out=$(cat "$work/out"); err=$(cat "$work/err")
  if [ "$got" != "$want" ]; then
    echo "FAIL petty $*: exit $got, expected $want" >&2
    echo "--- stdout"; echo "$out"; echo "--- stderr"; echo "$err"; echo "function logs: $STACK_WATCH_LOG" >&2
    exit 1
  fi
  passed=$((passed + 1))
}
# has TEXT: the last output contains TEXT.
has() {
  grep -qF -- "$1" <<<"$out$err" || { echo "FAIL: output lacks '$1':"; echo "$out"; echo "$err"; exit 1; }
}
json() { "$VENV/bin/python" -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$out"; }
# inbox EMAIL SUBJECT: the token of the newest mail to EMAIL with SUBJECT in its subject (moto's SES).
inbox() {
  "$VENV/bin/python" tools/local_aws.py inbox --endpoint "$PETTY_MOTO_URL" --to "$1" --subject "$2"
}

expect 0 health; has "ok"
expect 0 health --ready; has "ready"

# Accounts
expect 0 register --email cli@example.com --name "Cli Owner"; has "registered cli@example.com"
expect 6 register --email cli@example.com; has "409"
expect 3 whoami; has "not logged in"
PETTY_PASSWORD="wrong password, surely" expect 3 login --email cli@example.com
expect 0 login --email cli@example.com; has "logged in as cli@example.com"
[ "$(stat -c %a "$PETTY_CONFIG_DIR/session.json")" = 600 ] || { echo "FAIL: session file not 0600"; exit 1; }
expect 0 whoami --json; [ "$(json 'd["email"]')" = cli@example.com ]

# An operator, as on any stack: an account of its own (its own session directory), refused the
# operators' routes until granted `admin` (tools/local_aws.py grant-scope) and logged in again.
ops() { PETTY_CONFIG_DIR="$work/ops" PETTY_PASSWORD="operator password, locally" expect "$@"; }
ops 0 register --email ops@example.com --name "Cli Operator"; has "registered ops@example.com"
ops 3 admin register SM-000001; has "not logged in"
ops 0 login --email ops@example.com
ops 3 admin register SM-000001; has "403"
expect 3 admin register SM-000001    # the owner is no operator either
"$VENV/bin/python" tools/local_aws.py grant-scope --endpoint "$PETTY_MOTO_URL" --stage "$PETTY_STACK_STAGE" \
  --email ops@example.com >/dev/null
ops 3 admin register SM-000001; has "403"    # the scope is in tokens issued after the grant
ops 0 login --email ops@example.com
ops 0 whoami; has "admin"
ops 0 admin register SM-000001 SM-000002 SM-000003 --json
code1=$(json '[c["claim_code"] for c in d["collars"] if c["collar_id"] == "SM-000001"][0]')
code2=$(json '[c["claim_code"] for c in d["collars"] if c["collar_id"] == "SM-000002"][0]')
[ "$(json '" ".join(c["status"] for c in d["collars"])')" = "registered registered registered" ] \
  || { echo "FAIL: three new registrations expected: $out"; exit 1; }
ops 0 admin register SM-000003 SM-000004; has "SM-000003  exists"; has "(not shown again)"; has "SM-000004  registered"
code4=$(awk '$1 == "SM-000004" {print $3}' <<<"$out")
[[ "$code4" =~ ^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$ ]] || { echo "FAIL: no claim code printed: $out"; exit 1; }
ops 6 admin register SM-1; has "422"
ops 2 admin register SM-000005 SM-000005; has "twice"
# IoT identities: certificate and key to 0600 files in --out, nothing secret on stdout.
ops 0 admin register IO-000001 --iot --out "$work/certs"; has "IO-000001  registered"; has "$work/certs/IO-000001.private.key"
grep -q "PRIVATE KEY" <<<"$out$err" && { echo "FAIL: a private key on the terminal"; exit 1; }
for f in IO-000001.cert.pem IO-000001.private.key; do
  [ "$(stat -c %a "$work/certs/$f")" = 600 ] && [ -s "$work/certs/$f" ] || { echo "FAIL: $f missing or not 0600"; exit 1; }
done
grep -q "PRIVATE KEY" "$work/certs/IO-000001.private.key" || { echo "FAIL: no private key in the file"; exit 1; }
ops 2 admin register IO-000001 --iot --out "$work/certs"; has "not overwritten"
# A lost code replaced: the old one stops working.
ops 0 admin reset-code SM-000003 --json; code3=$(json 'd["claim_code"]')
old3=$code3; ops 0 admin reset-code SM-000003; has "new claim code"; code3=$(awk '{print $NF}' <<<"$out")
ops 4 admin reset-code XX-999999

# The owner claims with the code from the box: wrong, malformed and missing codes refused first.
pet=(--name Biscuit --species dog --weight-kg 18 --breed Beagle)
expect 2 collars add SM-000001 "${pet[@]}"; has "--claim-code"
expect 6 collars add SM-000001 --claim-code "not a code" "${pet[@]}"; has "invalid_claim_code"
expect 4 collars add SM-000001 --claim-code "$code2" "${pet[@]}"    # another collar's code
expect 4 collars add SM-000003 --claim-code "$old3" "${pet[@]}"     # replaced by reset-code
expect 4 collars add SM-000009 --claim-code "$code1" "${pet[@]}"    # not registered: the same answer
expect 0 collars add SM-000001 --claim-code "$(tr 'A-Z' 'a-z' <<<"${code1//-/ }")" "${pet[@]}"; has "collar SM-000001 is yours"
expect 0 collars add SM-000001 --claim-code "$code1" "${pet[@]}" --json; [ "$(json 'd["collar_id"]')" = SM-000001 ]
ops 4 collars add SM-000001 --claim-code "$code1" --name Rex --species dog --weight-kg 30    # someone else's now
expect 0 collars list; has "SM-000001"; has "Biscuit"
expect 0 collars show SM-000001; has "Beagle"; has "last seen  never"
expect 4 collars show XX-999999
expect 2 collars add SM-000003 --claim-code "$code3" --name Rex --species cow --weight-kg 3

# API keys
expect 0 api-keys create --name journey --scope readings:write --scope readings:read --scope timeline:read --collar SM-000001 --json
key=$(json 'd["api_key"]'); key_id=$(json 'd["key_id"]')
expect 0 api-keys list; has "$key_id"; has "journey"

# Readings: a file of two good readings and a bad one, through the collar's key
now=$(date -u +%s)
ts() { date -u -d "@$1" +%FT%TZ; }
{
  echo "{\"collar_id\":\"SM-000001\",\"timestamp\":\"$(ts $((now - 30)))\",\"heart_rate\":90,\"activity_level\":1,\"location\":{\"type\":\"Point\",\"coordinates\":[-74.006,40.7128]}}"
  echo "{\"collar_id\":\"SM-000001\",\"timestamp\":\"$(ts $((now - 20)))\",\"heart_rate\":999,\"activity_level\":1,\"location\":{\"type\":\"Point\",\"coordinates\":[-74.006,40.7128]}}"
  echo "{\"collar_id\":\"SM-000001\",\"timestamp\":\"$(ts $((now - 10)))\",\"heart_rate\":95,\"activity_level\":2,\"location\":{\"type\":\"Point\",\"coordinates\":[-74.006,40.7128]}}"
} >"$work/readings.jsonl"
PETTY_API_KEY=$key expect 6 ingest --file "$work/readings.jsonl"; has "3 readings: 2 accepted, 0 duplicates, 1 rejected"
PETTY_API_KEY=$key expect 6 ingest --file "$work/readings.jsonl"; has "0 accepted, 2 duplicates, 1 rejected"
printf 'collar_id,timestamp,heart_rate,activity_level,lon,lat,battery_pct,firmware\nSM-000001,%s,88,0,-74.006,40.7128,77,2.4.1-b7\n' \
  "$(ts $((now - 5)))" >"$work/readings.csv"
PETTY_API_KEY=$key expect 0 ingest --file "$work/readings.csv" --json; [ "$(json 'd["accepted"]')" = 1 ]
# The fleet status follows the newest reading.
expect 0 collars show SM-000001; has "battery    77%"; has "firmware   2.4.1-b7"; has "s ago)"
expect 0 collars show SM-000001 --json; [ "$(json 'd["firmware"]')" = 2.4.1-b7 ] && [ "$(json 'd["last_seen_at"] is not None')" = True ]
expect 2 ingest --file "$work/missing.jsonl"

# Simulate two hours of two collars: SM-000001 is ours, SM-000002 needs its code; then the
# same again: all duplicates (nothing left to claim). A first owner sees the hours before the claim.
expect 2 simulate --collars 2 --hours 2 --json; has "SM-000002 is not yours yet"; has "--claim-code SM-000002=CODE"
expect 2 simulate --collars 2 --hours 2 --claim-code "$code2" --json; has "say whose"
expect 0 simulate --collars 2 --hours 2 --claim-code "SM-000002=$code2" --json
sent=$(json 'd["sent"]'); [ "$(json 'd["accepted"]+d["duplicates"]')" = "$sent" ] && [ "$sent" -gt 1000 ]
expect 0 simulate --collars 2 --hours 2 --json; [ "$(json 'd["duplicates"]')" = "$sent" ] && [ "$(json 'd["accepted"]')" = 0 ]
expect 0 collars list; has "SM-000002"
expect 4 simulate --collars 1 --prefix IO --hours 1 --claim-code "$code4"    # SM-000004's code for IO-000001
# Realtime, once and watching (adaptive: the next poll's delay follows the activity)
PETTY_API_KEY=$key expect 0 realtime SM-000001; has "SM-000001"; has "bpm"
expect 0 realtime SM-000001 --watch --count 2 --active-every 1 --rest-every 2 --json
[ "$(wc -l <<<"$out")" = 2 ] || { echo "FAIL: two polls expected: $out"; exit 1; }
expect 4 realtime XX-999999

# Safe zones, alert settings and alerts (the evaluator runs with the stack)
expect 0 collars edit SM-000001 --timezone America/New_York; has "updated"
expect 0 collars show SM-000001 --json; [ "$(json 'd["pet"]["timezone"]')" = America/New_York ]
expect 0 zones add SM-000001 home --name Home --circle=-74.006,40.7128 --radius 150; has "zone home created"
expect 0 zones add SM-000001 home --name Home --circle=-74.006,40.7128 --radius 200 --active 00:00-23:59; has "replaced"
printf '{"type":"Polygon","coordinates":[[[-74.01,40.71],[-74.00,40.71],[-74.00,40.72],[-74.01,40.72],[-74.01,40.71]]]}' >"$work/park.geojson"
expect 0 zones add SM-000001 park --name Park --polygon "$work/park.geojson" --json; [ "$(json 'd["zone_id"]')" = park ]
expect 0 zones list SM-000001; has "circle 200 m"; has "polygon 4 pts"; has "00:00-23:59"
PETTY_API_KEY=$key expect 0 zones list SM-000001 --json; [ "$(json 'len(d["zones"])')" = 2 ]
expect 2 zones add SM-000001 Bad_Id --name X --circle=0,0 --radius 50; has "zone id"
expect 2 zones add SM-000001 far --name X --circle=0,0 --radius 6000; has "--radius"
expect 2 zones add SM-000001 open --name X --polygon '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}'; has "not closed"
expect 0 zones rm SM-000001 park; has "deleted zone park"
expect 4 zones rm SM-000001 park
expect 0 alert-settings SM-000001; has "battery_low"
expect 0 alert-settings SM-000001 --disable battery_low --offline-after 60 --json
[ "$(json 'd["disabled"]')" = "['battery_low']" ] && [ "$(json 'd["offline_after_min"]')" = 60 ]
expect 0 alert-settings SM-000001 --enable battery_low; has "(saved)"
expect 2 alert-settings SM-000001 --battery-low 60
# Two accurate fixes ~1.5 km outside home (just after the simulated readings) confirm an escape
now2=$(date -u +%s)
for dt in 2 4; do echo "{\"collar_id\":\"SM-000001\",\"timestamp\":\"$(ts $((now2 + dt)))\",\"heart_rate\":95,\"activity_level\":1,\"accuracy_m\":5,\"location\":{\"type\":\"Point\",\"coordinates\":[-73.99,40.72]}}"; done >"$work/away.jsonl"
PETTY_API_KEY=$key expect 0 ingest --file "$work/away.jsonl"
for _ in $(seq 1 100); do
  expect 0 alerts SM-000001 --status open --json
  [ "$(json 'len([a for a in d["alerts"] if a["type"] == "zone_exit"])')" = 1 ] && break
  sleep 0.2
done
alert=$(json '[a for a in d["alerts"] if a["type"] == "zone_exit"][0]["alert_id"]')
expect 0 alerts SM-000001; has "zone_exit"; has "$alert"
expect 0 alerts --watch --interval 1 --count 1 --json; has "$alert"
expect 0 alerts ack "$alert"; has "acknowledged"
expect 0 alerts ack "$alert" --json; [ "$(json 'd["status"]')" = acknowledged ]
expect 0 alerts SM-000001 --status acknowledged --all --json; [ "$(json 'd["next_cursor"]')" = None ]
expect 4 alerts ack SM-000001.zone_exit.home.1
expect 2 alerts --from yesterday

# Notifications: a webhook to a local receiver that verifies each delivery's Petty-Signature with
# the secret `webhooks add` printed. The notifier reads the owner's destinations when it handles
# an alert event, so the escape's opening, handled before the webhook is registered (its e-mail
# to the owner is in its log first), never reaches the webhook; a test does, and so does the
# escape's resolution, which happens after the webhook exists and `--resolved on` asked for it.
# within SECS CMD...: CMD succeeds within SECS seconds (polled every half second).
within() {
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
# received EVENT ALERT_ID: the receiver got that event about that alert, its signature verified.
received() {
  "$VENV/bin/python" - "$work/webhooks.jsonl" "$1" "$2" <<'PY'
import json, sys
log, event, alert = sys.argv[1:]
try:
    rows = [json.loads(line) for line in open(log)]
except FileNotFoundError:
    rows = []
got = [r for r in rows if isinstance(r["body"], dict) and r["body"].get("event") == event
       and r["body"].get("alert", {}).get("alert_id") == alert]
sys.exit(0 if any(r["verified"] and r["status"] == 200 for r in got) else 1)
PY
}
opening_handled() {
  expect 0 alerts show "$alert" --json
  [ "$(json 'len([x for x in d["deliveries"] if x["event"] == "alert.opened"])')" -gt 0 ]
}
within 30 opening_handled || { echo "FAIL: the escape's opening not handled by the notifier within 30 s: $out"; exit 1; }
"$VENV/bin/python" tools/webhook_receiver.py --port 0 --log "$work/webhooks.jsonl" \
  --secret-file "$work/webhook-secret" >"$work/receiver.out" 2>&1 &
receiver_pid=$!
receiver=""
for _ in $(seq 1 100); do
  # The background job's redirection may not have created the file yet: not an error (set -e).
  receiver=$(sed -n 's|^webhook-receiver: listening on \(http://127\.0\.0\.1:[0-9]*\).*|\1|p' "$work/receiver.out" 2>/dev/null || true)
  [ -n "$receiver" ] && break
  kill -0 "$receiver_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$receiver" ] || { echo "FAIL: the webhook receiver did not start:"; cat "$work/receiver.out"; exit 1; }
expect 0 webhooks add "$receiver/petty" --name journey; has "$receiver/petty"; has "shown once"
hook=$(awk '$1 == "webhook" {print $2}' <<<"$out"); secret=$(awk '$1 == "secret" {print $2}' <<<"$out")
[[ "$hook" =~ ^wh_[0-9a-f]+$ && "$secret" =~ ^whsec_ ]] || { echo "FAIL: no webhook id or secret printed: $out"; exit 1; }
printf '%s' "$secret" >"$work/webhook-secret"
expect 0 webhooks list; has "$hook"; has "journey"; has "active"
expect 0 webhooks list --json; [ "$(json '[w["webhook_id"] for w in d["webhooks"]]')" = "['$hook']" ]
grep -qF -- "$secret" <<<"$out" && { echo "FAIL: the list shows the secret"; exit 1; }
expect 6 webhooks add "http://10.0.0.1/petty"; has "invalid_webhook_url"
expect 2 webhooks rm "wh/1"
# The escape's log: its opening went out before the webhook existed, none to it.
expect 0 alerts show "$alert"; has "$alert is acknowledged"; has "zone_exit on SM-000001"; has "alert.opened"
expect 0 alerts show "$alert" --json
[ "$(json 'len([x for x in d["deliveries"] if x["destination_id"] == "'"$hook"'"])')" = 0 ] \
  || { echo "FAIL: an opening handled before the webhook existed was delivered to it: $out"; exit 1; }
expect 4 alerts show SM-000001.zone_exit.home.1
expect 0 notifications test; has "queued"; has "webhook  $hook"
test_id=$(awk '$1 == "test" {print $2}' <<<"$out")
within 30 received test "test.$test_id" \
  || { echo "FAIL: the test did not reach the receiver within 30 s:"; cat "$work/receiver.out"; exit 1; }
expect 0 notifications settings; has "zone_exit                webhook, email, push"; has "quiet hours              none"
expect 0 notifications settings --quiet 22:00-07:00 --timezone America/New_York --json
[ "$(json '(d["quiet_hours"]["timezone"], d["quiet_hours"]["hold_urgent"])')" = "('America/New_York', False)" ]
expect 0 notifications settings --hold-urgent on; has "every alert waits"; has "(saved)"
expect 0 notifications settings --quiet off --resolved on; has "quiet hours              none"; has "delivered too"
expect 0 notifications settings --resolved on; has "(unchanged)"
expect 2 notifications settings --timezone UTC; has "no quiet hours"
expect 2 notifications settings --channels zone_exit=sms; has "sms"
# Back home: two accurate fixes inside resolve the escape; its resolution reaches the webhook.
t3=$(date -u +%s); [ "$t3" -gt $((now2 + 4)) ] || t3=$((now2 + 4))
for dt in 2 4; do echo "{\"collar_id\":\"SM-000001\",\"timestamp\":\"$(ts $((t3 + dt)))\",\"heart_rate\":90,\"activity_level\":1,\"accuracy_m\":5,\"location\":{\"type\":\"Point\",\"coordinates\":[-74.006,40.7128]}}"; done >"$work/home.jsonl"
PETTY_API_KEY=$key expect 0 ingest --file "$work/home.jsonl"
within 30 received alert.resolved "$alert" \
  || { echo "FAIL: the resolution did not reach the receiver within 30 s:"; cat "$work/receiver.out"; exit 1; }
# The log records the delivery once the receiver's answer is in.
resolution_logged() {
  expect 0 alerts show "$alert" --json
  [ "$(json '[(x["status"], x["attempts"]) for x in d["deliveries"] if x["destination_id"] == "'"$hook"'"]')" = "[('delivered', 1)]" ]
}
within 10 resolution_logged || { echo "FAIL: the webhook's delivery not in the log: $out"; exit 1; }
[ "$(json '(d["status"], [x["event"] for x in d["deliveries"] if x["destination_id"] == "'"$hook"'"])')" = "('resolved', ['alert.resolved'])" ]
expect 0 alerts show "$alert"; has "$alert is resolved"; has "by zone_return"; has "alert.resolved  webhook  $hook"
expect 0 webhooks rm "$hook" --json; [ "$(json 'd["deleted"]')" = True ]
expect 4 webhooks rm "$hook"
expect 0 webhooks list; has "no webhooks yet"
stop_pid "$receiver_pid"; receiver_pid=""

# Households: SM-000003 shared with a second account (verified; its own session directory), the
# invitation's token read from its inbox. A viewer only reads; a caregiver changes zones and may be
# handed the collar, after which the old owner's access is gone (not found, like any other's collar).
member() { PETTY_CONFIG_DIR="$work/member" PETTY_PASSWORD="member password, locally" expect "$@"; }
expect 0 collars add SM-000003 --claim-code "$code3" --name Pixel --species cat --weight-kg 4; has "collar SM-000003 is yours"
expect 0 collars list; has "ROLE"; has "owner"
member 0 register --email member@example.com --name "Cli Member"
member 0 login --email member@example.com
member 0 account verify-email; has "on its way"
member 0 account verify-email --token "$(inbox member@example.com verify)"; has "(verified)"
expect 2 members invite SM-000003 member@example.com --role viewer --until tomorrow; has "RFC 3339"
expect 0 members invite SM-000003 member@example.com --role viewer --json
[ "$(json '(d["role"], d["expires_at"])')" = "('viewer', None)" ] || { echo "FAIL: a viewer with no end expected: $out"; exit 1; }
member 4 collars show SM-000003    # not shared until accepted
invitation=$(inbox member@example.com shared)
member 0 members accept --token "$invitation"; has "joined the household of SM-000003 as viewer"
member 6 members accept --token "$invitation"; has "invalid_token"    # it works once
member 0 members SM-000003 --json
[ "$(json '(d["role"], [m["role"] for m in d["members"]], any("email" in m for m in d["members"]))')" \
  = "('viewer', ['owner', 'viewer'], False)" ] || { echo "FAIL: a viewer's household without addresses expected: $out"; exit 1; }
member_id=$(json '[m["user_id"] for m in d["members"] if m["role"] == "viewer"][0]')
owner_id=$(json '[m["user_id"] for m in d["members"] if m["role"] == "owner"][0]')
member 0 members SM-000003; has "(you: viewer)"; has "Cli Member"
grep -qF "@example.com" <<<"$out" && { echo "FAIL: a viewer sees addresses: $out"; exit 1; }
member 0 collars list; has "SM-000003"; has "viewer"
member 3 members invite SM-000003 third@example.com --role viewer; has "403"    # the owner's
member 3 zones add SM-000003 home --name Home --circle=-74.006,40.7128 --radius 150; has "403"
expect 0 members SM-000003; has "(you: owner)"; has "member@example.com"
expect 0 members set SM-000003 "$member_id" --role caregiver --until "$(ts $(($(date -u +%s) + 86400)))" --json
[ "$(json '(d["role"], d["expires_at"] is not None)')" = "('caregiver', True)" ] || { echo "FAIL: a caregiver with an end expected: $out"; exit 1; }
expect 0 members set SM-000003 "$member_id" --no-end; has "caregiver, no end"
member 0 zones add SM-000003 home --name Home --circle=-74.006,40.7128 --radius 150; has "zone home created"
expect 0 collars transfer SM-000003 "$member_id"; has "transferred to $member_id"
expect 4 collars show SM-000003
expect 4 members SM-000003
member 0 collars show SM-000003; has "role       owner"
member 0 members SM-000003 --json; [ "$(json '(d["role"], len(d["members"]))')" = "('owner', 1)" ] \
  || { echo "FAIL: the new owner alone expected: $out"; exit 1; }
member 4 members rm SM-000003 "$owner_id"    # the old owner is no member either

# Timeline: table and chart, then JSON for the event ids
from=$(ts $((now - 7200))); to=$(ts $((now + 60)))
expect 0 timeline SM-000001 --from "$from" --to "$to"; has "BEHAVIOUR"; has "deep sleep"; has "SM-000001."
expect 0 timeline SM-000001 --from "$from" --to "$to" --json
event=$(json 'd["timeline"][0]["event_id"]'); behavior=$(json 'd["timeline"][0]["behavior"]')
other=$([ "$behavior" = play ] && echo rest || echo play)

# Feedback, then the timeline shows it
expect 0 feedback "$event" correct; has "feedback recorded"
expect 0 feedback "$event" incorrect --corrected "$other" --comment "journey"; has "replaced"
expect 2 feedback "$event" incorrect --corrected dancing
expect 6 feedback "not-an-event" correct
expect 0 timeline SM-000001 --from "$from" --to "$to" --json
[ "$(json 'd["timeline"][0]["feedback"]["user_feedback"]')" = incorrect ]

# Plan
expect 0 plan SM-000001; has "daily goals"; has "recommendations"

# Day summaries: this month as a chart, a range as JSON, the pet's local day
expect 0 summary SM-000001; has "goal streak"; has "SM-000001"
today=$(TZ=America/New_York date +%F)    # the pet's zone, set above
expect 0 summary SM-000001 --from "$today" --to "$today" --json
[ "$(json 'd["days"][0]["date"]')" = "$today" ] && [ "$(json 'd["days"][0]["complete"]')" = False ]
expect 6 summary SM-000001 --from 2020-01-01 --to "$today"
expect 0 timeline SM-000001 --day "$today" --json
[ "$(json 'd["metadata"]["timezone"]')" = America/New_York ]

# An access token the API refuses: the client refreshes once with the refresh token and saves the new pair
# spoil_access DIR: breaks the access token kept in DIR's session file (the next call must refresh).
spoil_access() {
  "$VENV/bin/python" - "$1/session.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
for s in d["sessions"].values():
    s["access_token"] = s["access_token"][:-4] + "AAAA"
json.dump(d, open(p, "w"))
PY
}
spoil_access "$PETTY_CONFIG_DIR"
before=$(cat "$PETTY_CONFIG_DIR/session.json")
expect 0 whoami; has "cli@example.com"
[ "$before" != "$(cat "$PETTY_CONFIG_DIR/session.json")" ] || { echo "FAIL: refreshed session not saved"; exit 1; }

# Revoke the key, log out
expect 0 api-keys revoke "$key_id"; has "revoked"
expect 0 api-keys list --json; [ "$(json '[k["revoked"] for k in d if k["key_id"]=="'"$key_id"'"][0]')" = True ]
expect 0 logout
expect 3 whoami

# Keeping the account: profile, e-mail verification (the token read from moto's SES, as from an
# inbox), sessions on two devices, password change and reset, the export, deletion.
second() { PETTY_CONFIG_DIR="$work/second" expect "$@"; }
expect 0 login --email cli@example.com
expect 0 account show; has "cli@example.com (not verified"; has "timezone UTC"
expect 0 account update --name "Cli Renamed" --timezone Europe/Berlin --locale de-DE; has "Cli Renamed"; has "Europe/Berlin"
expect 6 account update --timezone Mars/Olympus; has "invalid_timezone"
expect 2 account update; has "nothing to change"
expect 0 account verify-email; has "on its way"
expect 6 account verify-email --token "not-a-token"; has "invalid_token"
expect 0 account verify-email --token "$(inbox cli@example.com verify)"; has "(verified)"
second 0 login --email cli@example.com
expect 0 sessions; has "this one"
expect 0 sessions --json
[ "$(json 'len(d["sessions"])')" = 2 ] || { echo "FAIL: two sessions expected: $out"; exit 1; }
other_session=$(json '[s["session_id"] for s in d["sessions"] if not s["current"]][0]')
grep -qE '"source": "127\.0\.0\.0/24"' <<<"$out" || { echo "FAIL: no approximate source: $out"; exit 1; }
PETTY_PASSWORD="wrong password, surely" PETTY_NEW_PASSWORD="a brand new passphrase" expect 3 password change
PETTY_NEW_PASSWORD="short" expect 6 password change
PETTY_NEW_PASSWORD="a brand new passphrase" expect 0 password change; has "1 other session ended"
spoil_access "$work/second"; second 3 whoami    # its refresh family was revoked
expect 4 sessions end "$other_session"          # already ended: like any unknown session
export PETTY_PASSWORD="a brand new passphrase"
second 0 login --email cli@example.com
expect 0 sessions --json; other_session=$(json '[s["session_id"] for s in d["sessions"] if not s["current"]][0]')
expect 0 sessions end "$other_session"; has "ended session $other_session"
spoil_access "$work/second"; second 3 whoami
# A forgotten password: the same answer for an unknown address; the token works once.
expect 0 password reset --email nobody@example.com; unknown_answer=$out
expect 0 password reset --email cli@example.com
[ "$out" = "$unknown_answer" ] || { echo "FAIL: reset answers differ: '$out' vs '$unknown_answer'"; exit 1; }
reset_token=$(inbox cli@example.com reset)
PETTY_NEW_PASSWORD="reset passphrase, long enough" expect 0 password reset --token "$reset_token"; has "session"
PETTY_NEW_PASSWORD="reset passphrase, long enough" expect 6 password reset --token "$reset_token"; has "invalid_token"
spoil_access "$PETTY_CONFIG_DIR"; expect 3 whoami    # the reset ended this session too
expect 3 login --email cli@example.com               # the old password is gone
export PETTY_PASSWORD="reset passphrase, long enough"
expect 0 login --email cli@example.com
second 0 login --email cli@example.com
expect 0 sessions end-all; has "this one included"
expect 3 sessions; spoil_access "$work/second"; second 3 whoami
# The export: ready with a link; the zip holds the owner's readings and a manifest.
expect 0 login --email cli@example.com
expect 0 export --json
[ "$(json 'd["status"]')" = ready ] || { echo "FAIL: export not ready: $out"; exit 1; }
export_id=$(json 'd["export_id"]'); url=$(json 'd["url"]')
curl -fsS -o "$work/export.zip" "$url"
"$VENV/bin/python" - "$work/export.zip" <<'PY'
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
manifest = json.loads(z.read("manifest.json"))
readings = [json.loads(line) for line in z.read("readings.jsonl").splitlines()]
collars = {r["collar_id"] for r in readings}
assert collars == {"SM-000001", "SM-000002"}, collars    # the owner's two collars, nobody else's
assert all("expires_at" not in r for r in readings), readings[:1]
assert manifest["counts"]["readings.jsonl"] == len(readings), manifest
assert json.loads(z.read("profile.jsonl"))["email"] == "cli@example.com"
PY
expect 0 export status "$export_id"; has "ready"; has "valid 15 minutes"
expect 4 export status 00000000000000000000000000000000
# Deletion: confirmed, with the password; then nothing of the account answers.
expect 2 account delete; has "--yes"
PETTY_PASSWORD="wrong password, surely" expect 3 account delete --yes
expect 0 account delete --yes; has "erasure"
expect 3 whoami
expect 3 login --email cli@example.com

echo "petty CLI journey: $passed commands answered as expected ($(($(date +%s) - started)) s)"
