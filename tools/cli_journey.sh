#!/usr/bin/env bash
# The `petty` CLI's whole journey against the real function binaries on a fresh local stack
# (tools/stack.sh: a stage seeded in moto, every function behind `cargo lambda watch`): register, login,
# collars, API keys, ingest (JSONL and CSV), simulate, realtime --watch, timeline, feedback,
# plan, health, a forced token refresh and logout, each checked for its exit code and output.
# A step of `make test` (moto already running: AWS_ENDPOINT_URL); alone (`make cli-journey`)
# it starts and stops its own moto. Stops what it started by pid, even on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target
started=$(date +%s)

source "$ROOT/tools/stack.sh"
work=$(mktemp -d)
cleanup() {
  stack_down
  rm -rf "$work"
}
trap cleanup EXIT

stack_up cli
collars_table=$(sed -n 's/^COLLARS_TABLE=//p' "$PETTY_STACK_ENV")
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

# Collars (the claim moved a day back in moto, as if made yesterday, so simulated past hours are the owner's)
expect 0 collars add SM-000001 --name Biscuit --species dog --weight-kg 18 --breed Beagle; has "collar SM-000001 is yours"
"$VENV/bin/python" - "$PETTY_MOTO_URL" "$collars_table" <<'PY'
import sys, time, boto3
ddb = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
ddb.update_item(TableName=sys.argv[2], Key={"collar_id": {"S": "SM-000001"}},
                UpdateExpression="SET created_at = :t", ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 86400)}})
PY
expect 0 collars list; has "SM-000001"; has "Biscuit"
expect 0 collars show SM-000001; has "Beagle"
expect 4 collars show XX-999999
expect 2 collars add SM-000002 --name Rex --species cow --weight-kg 3

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
printf 'collar_id,timestamp,heart_rate,activity_level,lon,lat\nSM-000001,%s,88,0,-74.006,40.7128\n' "$(ts $((now - 5)))" >"$work/readings.csv"
PETTY_API_KEY=$key expect 0 ingest --file "$work/readings.csv" --json; [ "$(json 'd["accepted"]')" = 1 ]
expect 2 ingest --file "$work/missing.jsonl"

# Simulate two hours (claims nothing new: SM-000001 is ours), then the same again: all duplicates
expect 0 simulate --collars 1 --hours 2 --json
sent=$(json 'd["sent"]'); [ "$(json 'd["accepted"]+d["duplicates"]')" = "$sent" ] && [ "$sent" -gt 500 ]
expect 0 simulate --collars 1 --hours 2 --json; [ "$(json 'd["duplicates"]')" = "$sent" ] && [ "$(json 'd["accepted"]')" = 0 ]

# Realtime, once and watching (adaptive: the next poll's delay follows the activity)
PETTY_API_KEY=$key expect 0 realtime SM-000001; has "SM-000001"; has "bpm"
expect 0 realtime SM-000001 --watch --count 2 --active-every 1 --rest-every 2 --json
[ "$(wc -l <<<"$out")" = 2 ] || { echo "FAIL: two polls expected: $out"; exit 1; }
expect 4 realtime XX-999999

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

# An access token the API refuses: the client refreshes once with the refresh token and saves the new pair
"$VENV/bin/python" - "$PETTY_CONFIG_DIR/session.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
for s in d["sessions"].values():
    s["access_token"] = s["access_token"][:-4] + "AAAA"
json.dump(d, open(p, "w"))
PY
before=$(cat "$PETTY_CONFIG_DIR/session.json")
expect 0 whoami; has "cli@example.com"
[ "$before" != "$(cat "$PETTY_CONFIG_DIR/session.json")" ] || { echo "FAIL: refreshed session not saved"; exit 1; }

# Revoke the key, log out
expect 0 api-keys revoke "$key_id"; has "revoked"
expect 0 api-keys list --json; [ "$(json '[k["revoked"] for k in d if k["key_id"]=="'"$key_id"'"][0]')" = True ]
expect 0 logout
expect 3 whoami

echo "petty CLI journey: $passed commands answered as expected ($(($(date +%s) - started)) s)"
