#!/usr/bin/env bash
# `make bench-accounts`: numbers, never pass/fail. On its own moto: the answer time of password
# reset requests (an existing address against unknown ones), then an export and an erasure of
# one owner whose collar holds DAYS (default 30) days of 10-second readings, each job run from
# its real queue in a release build (tests/examples/account_jobs_bench.rs). The figures are the
# last three lines, also kept in target/bench/accounts.txt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target/bench
cargo build --release -p petty-tests --example account_jobs_bench
port=$(free_port)
trap 'stop_pid "${MOTO_PID:-}"' EXIT
start_moto "$port" target/moto-bench-accounts.log
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export PETTY_PYTHON="$VENV/bin/python"
started=$(date +%s)
target/release/examples/account_jobs_bench 2>target/bench/accounts.log | tee target/bench/accounts.txt
echo "($(uname -m), $(nproc) cores, $(date -u +%F); $(($(date +%s) - started)) s in all, seeding included; job logs in target/bench/accounts.log)"
