#!/usr/bin/env bash
# `make dev`: moto on 127.0.0.1, every table, secret and queue of template.yaml created in it
# (fresh RSA key set included; the readings queues with a 2 s visibility timeout, so a failed
# record comes back within seconds), then every function behind one local HTTP endpoint via
# `cargo lambda watch`, tools/queue_poller.py (the local stand-in for Lambda's SQS event source
# mapping: readings queue -> petty-stream), tools/readings_stream_poller.py (the readings
# table's stream -> petty-alert-evaluator, and the alerts table's stream -> petty-notifier),
# a second tools/queue_poller.py (the delivery queue -> petty-notifier: retries),
# tools/sweep_schedule.py (the alert sweep's schedule), tools/webhook_receiver.py on
# 127.0.0.1:PETTY_WEBHOOK_PORT (9010; it prints every delivery it gets and verifies its
# signature), and a demo loaded through the API (tools/demo.py: an operator registers the demo
# collar, its owner claims it with the code and registers the receiver as a webhook, a
# simulated day; the escape at its end arrives at the receiver).
# Ctrl-C stops everything, moto included, by pid.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MOTO_PORT=${MOTO_PORT:-4566}
API_PORT=${API_PORT:-9000}
STAGE=${STAGE:-dev}
WEBHOOK_PORT=${PETTY_WEBHOOK_PORT:-9010}
WEBHOOK_SECRET_FILE=target/dev-webhook-secret
mkdir -p target

cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping (watch pid ${WATCH_PID:-none}, queue poller pid ${POLLER_PID:-none}, moto pid ${MOTO_PID:-none})"
  stop_pid "${DEMO_PID:-}"
  stop_pid "${POLLER_PID:-}"
  stop_pid "${STREAM_POLLER_PID:-}"
  stop_pid "${ALERTS_STREAM_POLLER_PID:-}"
  stop_pid "${DELIVERY_POLLER_PID:-}"
  stop_pid "${ERASURE_POLLER_PID:-}"
  stop_pid "${EXPORT_POLLER_PID:-}"
  stop_pid "${WEBHOOK_PID:-}"
  stop_pid "${SWEEP_PID:-}"
  stop_pid "${WATCH_PID:-}"
  stop_pid "${MOTO_PID:-}"
  exit 0
}
trap cleanup INT TERM EXIT

start_moto "$MOTO_PORT" target/moto-dev.log
echo "moto server on http://127.0.0.1:$MOTO_PORT (pid $MOTO_PID)"
"$VENV/bin/python" tools/local_aws.py seed --endpoint "http://127.0.0.1:$MOTO_PORT" --stage "$STAGE" --env-file .dev.env \
  --queue-visibility 2 --public-base-url "http://127.0.0.1:$API_PORT"

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
# Notifications: the alerts table's stream -> petty-notifier (as the notifier's DynamoDB event,
# BatchSize 10, 10 retries, batches failing every retry described to the delivery DLQ) and the
# delivery queue (retries the notifier schedules) -> petty-notifier.
"$VENV/bin/python" tools/readings_stream_poller.py --env-file .dev.env --endpoint "http://127.0.0.1:$MOTO_PORT" \
  --api "http://127.0.0.1:$API_PORT" --stream-env ALERTS_STREAM_ARN --function petty-notifier --batch-size 10 \
  --retries 10 --on-failure-env DELIVERY_DLQ_URL --label alerts-stream-poller &
ALERTS_STREAM_POLLER_PID=$!
"$VENV/bin/python" tools/queue_poller.py --env-file .dev.env --endpoint "http://127.0.0.1:$MOTO_PORT" \
  --api "http://127.0.0.1:$API_PORT" --queue-env DELIVERY_QUEUE_URL --function petty-notifier --label delivery-poller &
DELIVERY_POLLER_PID=$!
# The account jobs: erasures -> petty-account-eraser, exports -> petty-account-exporter.
"$VENV/bin/python" tools/queue_poller.py --env-file .dev.env --endpoint "http://127.0.0.1:$MOTO_PORT" \
  --api "http://127.0.0.1:$API_PORT" --queue-env ERASURE_QUEUE_URL --function petty-account-eraser --batch-size 1 --label erasure-poller &
ERASURE_POLLER_PID=$!
"$VENV/bin/python" tools/queue_poller.py --env-file .dev.env --endpoint "http://127.0.0.1:$MOTO_PORT" \
  --api "http://127.0.0.1:$API_PORT" --queue-env EXPORT_QUEUE_URL --function petty-account-exporter --batch-size 1 --label export-poller &
EXPORT_POLLER_PID=$!
# The demo owner's webhook receiver: prints each delivery, verified with the secret tools/demo.py
# writes once it has registered the webhook (a secret of an earlier run is useless: moto is new).
rm -f "$WEBHOOK_SECRET_FILE"
"$VENV/bin/python" tools/webhook_receiver.py --port "$WEBHOOK_PORT" --secret-file "$WEBHOOK_SECRET_FILE" \
  --log target/dev-webhooks.jsonl &
WEBHOOK_PID=$!
cat <<MSG

Petty is starting on http://127.0.0.1:$API_PORT (functions compile on their first request).
  curl -s http://127.0.0.1:$API_PORT/v1/health
  curl -s http://127.0.0.1:$API_PORT/v1/health/ready
A demo operator, owner, collar and simulated day are being loaded (set PETTY_DEMO=0 to skip);
how to see its timeline, and how to register and claim a collar, is printed when it is done.
The demo owner's webhook goes to http://127.0.0.1:$WEBHOOK_PORT/petty: its escape arrives there as a
"webhook-receiver: alert.opened zone_exit ..." line (every delivery: target/dev-webhooks.jsonl).
Collar readings through the IoT rule's queue: make stream-demo COLLAR=DM-000001
Press Ctrl-C to stop everything.
MSG
if [ "${PETTY_DEMO:-1}" != 0 ]; then
  "$VENV/bin/python" tools/demo.py --api "http://127.0.0.1:$API_PORT" --endpoint "http://127.0.0.1:$MOTO_PORT" \
    --stage "$STAGE" --webhook-url "http://127.0.0.1:$WEBHOOK_PORT/petty" --webhook-secret-file "$WEBHOOK_SECRET_FILE" &
  DEMO_PID=$!
fi
wait "$WATCH_PID"
