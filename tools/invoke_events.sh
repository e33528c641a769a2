#!/usr/bin/env bash
# Every sample event of events/expected.tsv through the real function binaries: a fresh stage
# seeded in moto, `cargo lambda watch` serving the functions, `cargo lambda invoke` per event,
# and the response's status checked against the table (SQS events: every record reported in
# batchItemFailures). A step of `make test` (moto already running: AWS_ENDPOINT_URL); alone it
# starts and stops its own moto. Stops what it started by pid, even on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target

cleanup() {
  [ -n "${WATCH_PID:-}" ] && kill -INT "$WATCH_PID" 2>/dev/null && sleep 0.5
  stop_pid "${WATCH_PID:-}"
  stop_pid "${OWN_MOTO_PID:-}"
}
trap cleanup EXIT

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  moto_port=$(free_port)
  start_moto "$moto_port" target/moto-invoke.log
  OWN_MOTO_PID=$MOTO_PID
  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
fi
stage="inv$(date +%s)$$"
env_file="target/invoke-$stage.env"
"$VENV/bin/python" tools/local_aws.py seed --endpoint "$AWS_ENDPOINT_URL" --stage "$stage" --env-file "$env_file" >/dev/null

# Build each function first, exactly as `cargo lambda watch` will (`cargo build --bin X`:
# same features, so watch finds it built) - an invoke would otherwise wait on a long compile.
mapfile -t rows < <(grep -vE '^\s*(#|$)' events/expected.tsv)
mapfile -t functions < <(printf '%s\n' "${rows[@]}" | cut -f1 | cut -d/ -f1 | sort -u)
for dir in "${functions[@]}"; do cargo build --quiet --bin "petty-$dir"; done

port=$(free_port)
"$VENV/bin/cargo-lambda" lambda watch -A 127.0.0.1 -P "$port" --env-file "$env_file" --ignore-changes \
  >target/invoke-watch.log 2>&1 &
WATCH_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$WATCH_PID" 2>/dev/null || { cat target/invoke-watch.log >&2; exit 1; }
  sleep 0.1
done

passed=0 failed=0
for row in "${rows[@]}"; do
  file=$(cut -f1 <<<"$row"); want=$(cut -f2 <<<"$row"); fn="petty-${file%%/*}"
  got=$("$VENV/bin/cargo-lambda" lambda invoke "$fn" -A 127.0.0.1 -P "$port" --data-file "events/$file" 2>&1 \
    | "$VENV/bin/python" -c '
import json, sys
event = json.load(open(sys.argv[1]))
text = sys.stdin.read()
try:
    out = json.loads(text)
except ValueError:
    print("no JSON answer: " + text.strip()[:300]); sys.exit()
if isinstance(out, dict) and "statusCode" in out:
    print(out["statusCode"])
elif isinstance(out, dict) and "batchItemFailures" in out and "Records" in event:
    # Processed: 200, provided every (invalid) sample record is reported for retry.
    ok = len(out["batchItemFailures"]) == len(event["Records"])
    print(200 if ok else "batchItemFailures %d of %d records" % (len(out["batchItemFailures"]), len(event["Records"])))
else:
    print("unexpected answer: " + text.strip()[:300])
' "events/$file")
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $fn events/$file: expected $want, got $got"
  fi
done
rm -f "$env_file"
echo "cargo lambda invoke: $passed of $((passed + failed)) sample events answered as expected"
[ "$failed" = 0 ] || { echo "function logs: target/invoke-watch.log" >&2; exit 1; }
