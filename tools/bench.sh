#!/usr/bin/env bash
# `make bench`: release builds, then numbers (never pass/fail): cold start, warm latency and
# RSS under a Runtime API emulator, and the auth, ingest and timeline benchmarks against a
# seeded moto stack.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p target

cargo build --release -p petty-health -p petty-auth -p petty-data-processor --bins --example auth_bench --example validate_bench --example ingest_bench
cargo build --release -p petty-tests --example timeline_bench
echo "== petty-health under the Runtime API emulator"
"$VENV/bin/python" tools/coldstart.py target/release/petty-health

port=$(free_port)
trap 'stop_pid "${MOTO_PID:-}"' EXIT
start_moto "$port" target/moto-bench.log
"$VENV/bin/python" tools/local_aws.py seed --endpoint "http://127.0.0.1:$port" --stage bench --env-file target/bench.env >/dev/null
set -a; source target/bench.env; set +a
echo "== data processor"
target/release/examples/validate_bench
target/release/examples/ingest_bench
echo "== auth"
target/release/examples/auth_bench
echo "== timeline"
AWS_ENDPOINT_URL="http://127.0.0.1:$port" PETTY_PYTHON="$VENV/bin/python" target/release/examples/timeline_bench
