#!/usr/bin/env bash
# `make test`: formatting, template checks, lints and every test, against a moto server started
# (and stopped, by pid, even when a test fails) on a free port. In CI (CI=true) also the arm64
# release build, when its inputs changed.
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

# step TITLE CMD...: one step, its wall time printed after it (the summary at the end lists all).
timings=()
step() {
  local title=$1 start=$SECONDS; shift
  echo "== $title"
  "$@"
  timings+=("$(printf '%5d s  %s' $((SECONDS - start)) "$title")")
  echo "-- $title: $((SECONDS - start)) s"
}
step "cargo fmt --check" cargo fmt --all --check
step "template: cfn-lint, sam validate --lint, checkov" tools/lint_template.sh
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
step "sample events through cargo lambda invoke" tools/invoke_events.sh
step "petty CLI journey against the local stack" tools/cli_journey.sh
step "end-to-end journey over HTTP against the local stack" tools/e2e.sh
step "contract (schemathesis), load, the collar stream and faults against the local stack, bounded" tools/proof.sh
step "cargo nextest" cargo nextest run --workspace --locked

# The arm64 release build takes ~5 min here: CI runs it only when what decides it (see
# tools/build_inputs.sh) changed since the build recorded in tools/arm64-build.stamp.
if [ "${CI:-}" = "true" ] || [ "${PETTY_BUILD_CHECK:-}" = "1" ]; then
  echo "== arm64 release build (when its inputs changed)"; make --no-print-directory build-if-changed
elif [ "$(awk '$1 == "inputs" {print $2}' tools/arm64-build.stamp 2>/dev/null)" != "$(tools/build_inputs.sh)" ]; then
  echo "note: the arm64 build inputs changed since tools/arm64-build.stamp: CI will run \`make build\`;"
  echo "      run it here and commit the stamp it writes to spare CI those minutes."
fi

echo "== step times (wall clock)"; printf '%s\n' "${timings[@]}"; echo "total: $SECONDS s"
