# The local stack as `make dev` runs it, for the tests that drive the system from outside:
# moto, tools/fault_proxy.py in front of it (pass-through until a test injects a fault), a
# fresh stage seeded from template.yaml (tables, secrets, the IoT policy, the readings queues
# with a 2 s visibility timeout so retries and redrive show within seconds), and every
# function behind one HTTP endpoint through `cargo lambda watch` (its invoke endpoint serves
# petty-stream to tools/queue_poller.py, petty-alert-evaluator to
# tools/readings_stream_poller.py, which runs with the stack, petty-notifier to a second
# tools/readings_stream_poller.py (the alerts table's stream) and a second tools/queue_poller.py
# (the delivery queue), both running with the stack, and petty-alert-sweep to
# tools/sweep_schedule.py, every PETTY_SWEEP_EVERY=5 s). The seed writes
# WEBHOOK_ALLOW_LOOPBACK=true and PUBLIC_BASE_URL=PETTY_API_URL, so webhooks to
# http://127.0.0.1:<port> (tools/webhook_receiver.py) get deliveries. Sourced, not run; needs
# tools/lib.sh.
#
#   stack_up NAME      starts it (reusing moto at AWS_ENDPOINT_URL when set) and exports:
#     PETTY_API_URL      the HTTP endpoint (http://127.0.0.1:PORT)
#     PETTY_MOTO_URL     moto itself (for checks that bypass the functions)
#     PETTY_FAULT_URL    the fault proxy's control API
#     PETTY_STACK_ENV    the functions' KEY=VALUE environment (table names, secret ids,
#                        READINGS_QUEUE_URL and READINGS_DLQ_URL, DELIVERY_QUEUE_URL and
#                        DELIVERY_DLQ_URL, the stream ARNs, the SNS platform application ARNs)
#     PETTY_STACK_STAGE  the stage name (secrets petty/<stage>/...)
#     PETTY_STREAM_POLLER_PID / _LOG  the readings stream stand-in (SIGSTOP pauses alert evaluation)
#     PETTY_ALERTS_STREAM_POLLER_PID / _LOG  the alerts stream stand-in (-> petty-notifier)
#     PETTY_DELIVERY_POLLER_PID / _LOG  the delivery queue stand-in (-> petty-notifier: retries)
#   stack_down         stops what stack_up started, by pid (safe to call twice)
# shellcheck shell=bash

stack_up() {
  local name=$1
  mkdir -p "$ROOT/target"
  if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
    local moto_port; moto_port=$(free_port)
    start_moto "$moto_port" "$ROOT/target/moto-$name.log"
    STACK_MOTO_PID=$MOTO_PID
    export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
  fi
  export AWS_REGION=${AWS_REGION:-us-east-1} AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} \
    AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
  export PETTY_MOTO_URL=$AWS_ENDPOINT_URL

  local proxy_port control_port
  proxy_port=$(free_port); control_port=$(free_port)
  "$VENV/bin/python" "$ROOT/tools/fault_proxy.py" --port "$proxy_port" --upstream "$PETTY_MOTO_URL" \
    --control-port "$control_port" >"$ROOT/target/proxy-$name.log" 2>&1 &
  STACK_PROXY_PID=$!
  export PETTY_FAULT_URL="http://127.0.0.1:$control_port"

  export PETTY_STACK_STAGE="$name$(date +%s)$$"
  export PETTY_STACK_ENV="$ROOT/target/stack-$PETTY_STACK_STAGE.env"
  local api_port; api_port=$(free_port)
  "$VENV/bin/python" "$ROOT/tools/local_aws.py" seed --endpoint "$PETTY_MOTO_URL" --stage "$PETTY_STACK_STAGE" \
    --function-endpoint "http://127.0.0.1:$proxy_port" --env-file "$PETTY_STACK_ENV" --queue-visibility 2 \
    --public-base-url "http://127.0.0.1:$api_port" >/dev/null

  # Built first, exactly as `cargo lambda watch` builds them (`cargo build --bin X`), so no
  # request waits on a compile.
  local fn
  for fn in auth data-processor stream timeline feedback admin alerts alert-evaluator alert-sweep notifications notifier account-eraser account-exporter health; do
    cargo build --quiet --bin "petty-$fn"
  done

  STACK_WATCH_LOG="$ROOT/target/watch-$name.log"
  # PETTY_CONCURRENCY instances per function (default 4, sized for 2 cores): concurrent
  # requests to one function run side by side, as on Lambda, so races show up locally too.
  "$VENV/bin/cargo-lambda" lambda watch -A 127.0.0.1 -P "$api_port" --env-file "$PETTY_STACK_ENV" \
    --concurrency "${PETTY_CONCURRENCY:-4}" --ignore-changes >"$STACK_WATCH_LOG" 2>&1 &
  STACK_WATCH_PID=$!
  export PETTY_API_URL="http://127.0.0.1:$api_port"
  local _
  for _ in $(seq 1 300); do
    if "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/v1/health", timeout=2)' \
      "$PETTY_API_URL" 2>/dev/null; then
      # The readings stream -> petty-alert-evaluator and the sweep's schedule, as on AWS.
      "$VENV/bin/python" "$ROOT/tools/readings_stream_poller.py" --env-file "$PETTY_STACK_ENV" \
        --endpoint "$PETTY_MOTO_URL" --api "$PETTY_API_URL" >"$ROOT/target/stream-poller-$name.log" 2>&1 &
      STACK_STREAM_PID=$!
      export PETTY_STREAM_POLLER_PID=$STACK_STREAM_PID PETTY_STREAM_POLLER_LOG="$ROOT/target/stream-poller-$name.log"
      # Notifications: the alerts table's stream -> petty-notifier (the notifier's DynamoDB event:
      # BatchSize 10, 10 retries, a batch failing them all described to the delivery DLQ), and the
      # delivery queue (the retries the notifier schedules) -> petty-notifier.
      "$VENV/bin/python" "$ROOT/tools/readings_stream_poller.py" --env-file "$PETTY_STACK_ENV" \
        --endpoint "$PETTY_MOTO_URL" --api "$PETTY_API_URL" --stream-env ALERTS_STREAM_ARN --function petty-notifier \
        --batch-size 10 --retries 10 --on-failure-env DELIVERY_DLQ_URL --label alerts-stream-poller \
        >"$ROOT/target/alerts-stream-poller-$name.log" 2>&1 &
      STACK_ALERTS_STREAM_PID=$!
      export PETTY_ALERTS_STREAM_POLLER_PID=$STACK_ALERTS_STREAM_PID \
        PETTY_ALERTS_STREAM_POLLER_LOG="$ROOT/target/alerts-stream-poller-$name.log"
      "$VENV/bin/python" "$ROOT/tools/queue_poller.py" --env-file "$PETTY_STACK_ENV" --endpoint "$PETTY_MOTO_URL" \
        --api "$PETTY_API_URL" --queue-env DELIVERY_QUEUE_URL --function petty-notifier --label delivery-poller \
        >"$ROOT/target/delivery-poller-$name.log" 2>&1 &
      STACK_DELIVERY_PID=$!
      export PETTY_DELIVERY_POLLER_PID=$STACK_DELIVERY_PID PETTY_DELIVERY_POLLER_LOG="$ROOT/target/delivery-poller-$name.log"
      # The account jobs' queues -> petty-account-eraser and petty-account-exporter (BatchSize 1).
      "$VENV/bin/python" "$ROOT/tools/queue_poller.py" --env-file "$PETTY_STACK_ENV" --endpoint "$PETTY_MOTO_URL" \
        --api "$PETTY_API_URL" --queue-env ERASURE_QUEUE_URL --function petty-account-eraser --batch-size 1 --label erasure-poller \
        >"$ROOT/target/erasure-poller-$name.log" 2>&1 &
      STACK_ERASURE_PID=$!
      "$VENV/bin/python" "$ROOT/tools/queue_poller.py" --env-file "$PETTY_STACK_ENV" --endpoint "$PETTY_MOTO_URL" \
        --api "$PETTY_API_URL" --queue-env EXPORT_QUEUE_URL --function petty-account-exporter --batch-size 1 --label export-poller \
        >"$ROOT/target/export-poller-$name.log" 2>&1 &
      STACK_EXPORT_PID=$!
      "$VENV/bin/python" "$ROOT/tools/sweep_schedule.py" --api "$PETTY_API_URL" --every "${PETTY_SWEEP_EVERY:-5}" \
        >"$ROOT/target/sweep-$name.log" 2>&1 &
      STACK_SWEEP_PID=$!
      echo "stack $name: API $PETTY_API_URL, moto $PETTY_MOTO_URL via proxy :$proxy_port, stage $PETTY_STACK_STAGE"
      return 0
    fi
    kill -0 "$STACK_WATCH_PID" 2>/dev/null || { cat "$STACK_WATCH_LOG" >&2; return 1; }
    sleep 0.2
  done
  echo "stack $name: the API did not answer on $PETTY_API_URL; log: $STACK_WATCH_LOG" >&2
  return 1
}

stack_down() {
  stop_pid "${STACK_STREAM_PID:-}"
  stop_pid "${STACK_ALERTS_STREAM_PID:-}"
  stop_pid "${STACK_DELIVERY_PID:-}"
  stop_pid "${STACK_ERASURE_PID:-}"
  stop_pid "${STACK_EXPORT_PID:-}"
  stop_pid "${STACK_SWEEP_PID:-}"
  if [ -n "${STACK_WATCH_PID:-}" ]; then
    kill -INT "$STACK_WATCH_PID" 2>/dev/null && sleep 0.5
    stop_pid "$STACK_WATCH_PID"
  fi
  stop_pid "${STACK_PROXY_PID:-}"
  stop_pid "${STACK_MOTO_PID:-}"
  rm -f "${PETTY_STACK_ENV:-}"
  STACK_WATCH_PID="" STACK_PROXY_PID="" STACK_MOTO_PID="" STACK_STREAM_PID="" STACK_SWEEP_PID=""
  STACK_ALERTS_STREAM_PID="" STACK_DELIVERY_PID="" STACK_ERASURE_PID="" STACK_EXPORT_PID=""
}
