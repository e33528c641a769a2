#!/usr/bin/env bash
# `make bench`: release builds, then numbers (never pass/fail) from tools/bench.py: cold start,
# warm latency, RSS and sizes of each function and of the floor (a bare lambda_http
# hello-world, tools/bench-floor) under a Runtime API emulator against a seeded moto stack, and
# the in-process auth, ingest and timeline examples; then tools/alert_latency.py on a local
# stack (reading -> alert p50/p99, reading -> webhook received p50/p99 through petty-notifier to
# a local tools/webhook_receiver.py, ingest with evaluation on/off), folded into the same table
# (bench.py --alerts-json). JSON in target/bench/.
# BENCH_ARGS passes options to `bench.py run` (e.g. BENCH_ARGS="--runs 5 --warm 200").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target

cargo build --release -p petty-health -p petty-auth -p petty-data-processor -p petty-timeline -p petty-feedback -p petty-admin \
  -p petty-bench-floor --bins --example auth_bench --example validate_bench --example ingest_bench
cargo build --release -p petty-tests --example timeline_bench
# The floor's arm64 size, beside `make build`'s bootstraps (target/lambda/, which the floor stays
# out of). Best effort: without the cross toolchain the table says n/a.
if [ -x "$VENV/bin/cargo-lambda" ] && rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu; then
  cargo lambda build --release --arm64 -p petty-bench-floor --lambda-dir target/bench/lambda \
    || echo "arm64 floor build failed: its arm64 size is n/a" >&2
fi

# Reading -> alert and reading -> webhook latency, and ingest with alert evaluation on/off, on a
# fresh local stack (the debug functions behind cargo lambda watch, as `make dev` runs them).
mkdir -p target/bench
# (the stack prints its start line first; the figures are the last line)
if tools/with_stack.sh alerts "$VENV/bin/python" tools/alert_latency.py >target/bench/alerts.out; then
  tail -n 1 target/bench/alerts.out >target/bench/alerts.json
else
  echo "alert latency run failed: its rows are missing" >&2; rm -f target/bench/alerts.json
fi

port=$(free_port)
trap 'stop_pid "${MOTO_PID:-}"' EXIT
start_moto "$port" target/moto-bench.log
"$VENV/bin/python" tools/local_aws.py seed --endpoint "http://127.0.0.1:$port" --stage bench --env-file target/bench.env >/dev/null
# shellcheck disable=SC2086
"$VENV/bin/python" tools/bench.py run --env-file target/bench.env --alerts-json target/bench/alerts.json ${BENCH_ARGS:-}
