#!/usr/bin/env bash
# `make dev`: moto on 127.0.0.1, every table, secret and queue of template.yaml created in it
# (fresh RSA key set included; the readings queues with a 2 s visibility timeout, so a failed
# record comes back within seconds), then every function behind one local HTTP endpoint via
# `cargo lambda watch`, tools/queue_poller.py (the local stand-in for Lambda's SQS event source
# mapping: readings queue -> petty-stream), tools/readings_stream_poller.py (the readings
# table's stream -> petty-alert-evaluator), tools/sweep_schedule.py (the alert sweep's
# schedule), and a demo loaded through the API (tools/demo.py:
# an operator registers the demo collar, its owner claims it with the code, a simulated day).
# Ctrl-C stops everything, moto included, by pid.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MOTO_PORT=${MOTO_PORT:-4566}
API_PORT=${API_PORT:-9000}
STAGE=${STAGE:-dev}
mkdir -p target

cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping (watch pid ${WATCH_PID:-none}, queue poller pid ${POLLER_PID:-none}, moto pid ${MOTO_PID:-none})"
  stop_pid "${DEMO_PID:-}"
  stop_pid "${POLLER_PID:-}"
  stop_pid "${STREAM_POLLER_PID:-}"
  stop_pid "${SWEEP_PID:-}"
  stop_pid "${WATCH_PID:-}"
  stop_pid "${MOTO_PID:-}"
  exit 0
}
trap cleanup INT TERM EXIT

start_moto "$MOTO_PORT" target/moto-dev.log
echo "moto server on http://127.0.0.1:$MOTO_PORT (pid $MOTO_PID)"
"$VENV/bin/python" tools/local_aws.py seed --endpoint "http://127.0.0.1:$MOTO_PORT" --stage "$STAGE" --env-file .dev.env \
  --queue-visibility 2

# PETTY_CONCURRENCY instances per function (default 4, sized for 2 cores), as Lambda would
# run concurrent requests side by side.
cargo lambda watch -A 127.0.0.1 -P "$API_PORT" --env-file .dev.env --concurrency "${PETTY_CONCURRENCY:-4}" &
WATCH_PID=$!
# Readings queue -> petty-stream through the watch's invoke endpoint, as Lambda's event source
# mapping would (it waits for the API, then logs one line per batch).
"$VENV/bin/python" tools/queue_poller.py --env-file .dev.env --endpoint "http://127.0.0.1:$MOTO_PORT" \
  --api "http://127.0.0.1:$API_PORT" &
POLLER_PID=$!
# Readings stream -> petty-alert-evaluator (Lambda's DynamoDB event source mapping) and the
# alert sweep's schedule (every 10 s locally; 5 min deployed).
"$VENV/bin/python" tools/readings_stream_poller.py --env-file .dev.env --endpoint "http://127.0.0.1:$MOTO_PORT" \
  --api "http://127.0.0.1:$API_PORT" &
STREAM_POLLER_PID=$!
"$VENV/bin/python" tools/sweep_schedule.py --api "http://127.0.0.1:$API_PORT" --every "${PETTY_SWEEP_EVERY:-10}" &
SWEEP_PID=$!
cat <<MSG

Petty is starting on http://127.0.0.1:$API_PORT (functions compile on their first request).
  curl -s http://127.0.0.1:$API_PORT/v1/health
  curl -s http://127.0.0.1:$API_PORT/v1/health/ready
A demo operator, owner, collar and simulated day are being loaded (set PETTY_DEMO=0 to skip);
how to see its timeline, and how to register and claim a collar, is printed when it is done.
Collar readings through the IoT rule's queue: make stream-demo COLLAR=DM-000001
Press Ctrl-C to stop everything.
MSG
if [ "${PETTY_DEMO:-1}" != 0 ]; then
  "$VENV/bin/python" tools/demo.py --api "http://127.0.0.1:$API_PORT" --endpoint "http://127.0.0.1:$MOTO_PORT" \
    --stage "$STAGE" &
  DEMO_PID=$!
fi
wait "$WATCH_PID"
