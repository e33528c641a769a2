#!/usr/bin/env bash
# Every sample event of events/expected.tsv through the real function binaries: a fresh local
# stack (tools/stack.sh: a stage seeded in moto, `cargo lambda watch`), `cargo lambda invoke` per event,
# and the response's status checked against the table (SQS events: every record reported in
# batchItemFailures, except the notifier's, which drops what it cannot read: none reported). A
# step of `make test` (moto already running: AWS_ENDPOINT_URL); alone it starts and stops its
# own moto. Stops what it started by pid, even on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target

source "$ROOT/tools/stack.sh"
trap stack_down EXIT
stack_up invoke
port=${PETTY_API_URL##*:}
mapfile -t rows < <(grep -vE '^\s*(#|$)' events/expected.tsv)

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
    # Processed: 200, provided every (invalid) SQS sample record is reported for retry, and
    # no record of a DynamoDB stream sample is (its readings are valid). The notifier reports
    # none of either: it drops a delivery job it cannot read and fails a record only for
    # storage or queue trouble; nor do the account jobs, whose samples name an account or an
    # export that does not exist (events/expected.tsv).
    stream = all(r.get("eventSource") == "aws:dynamodb" for r in event["Records"])
    quiet = ("petty-notifier", "petty-account-eraser", "petty-account-exporter")
    want = 0 if stream or sys.argv[2] in quiet else len(event["Records"])
    ok = len(out["batchItemFailures"]) == want
    print(200 if ok else "batchItemFailures %d of %d records" % (len(out["batchItemFailures"]), len(event["Records"])))
elif isinstance(out, dict) and {"checked", "raised", "lag_s"} <= out.keys():
    print(200)  # a sweep report
else:
    print("unexpected answer: " + text.strip()[:300])
' "events/$file" "$fn")
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $fn events/$file: expected $want, got $got"
  fi
done
echo "cargo lambda invoke: $passed of $((passed + failed)) sample events answered as expected"
[ "$failed" = 0 ] || { echo "function logs: $STACK_WATCH_LOG" >&2; exit 1; }
