#!/usr/bin/env bash
# `make test`: formatting, lints and every test, against a moto server started (and stopped,
# by pid, even when a test fails) on a free port.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_rust_tools
mkdir -p target
port=$(free_port)
trap 'stop_pid "${MOTO_PID:-}"' EXIT
start_moto "$port" target/moto-test.log
echo "moto server on 127.0.0.1:$port (pid $MOTO_PID)"

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export PETTY_PYTHON="$VENV/bin/python"

echo "== cargo fmt --check"; cargo fmt --all --check
echo "== cargo clippy -D warnings"; cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo nextest"; cargo nextest run --workspace --locked
