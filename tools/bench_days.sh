#!/usr/bin/env bash
# `make bench-days`: numbers, never pass/fail. On its own moto: COLLARS (default 3) collars with
# DAYS (default 30) days of 10-second readings, then the timeline, the plan and the summary read
# through the real timeline handler (release build, tests/examples/days_bench.rs): a finished
# day first computed, then from its record. The figures are kept in target/bench/days.txt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target/bench
cargo build --release -p petty-tests --example days_bench
port=$(free_port)
trap 'stop_pid "${MOTO_PID:-}"' EXIT
start_moto "$port" target/moto-bench-days.log
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export PETTY_PYTHON="$VENV/bin/python"
started=$(date +%s)
target/release/examples/days_bench 2>target/bench/days.log | tee target/bench/days.txt
echo "($(uname -m), $(nproc) cores, $(date -u +%F); $(($(date +%s) - started)) s in all, seeding included)" | tee -a target/bench/days.txt
