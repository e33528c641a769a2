#!/usr/bin/env bash
# The owner's journey (tests/integration/e2e.rs) over HTTP against a fresh local stack, as
# `make dev` runs it: register to logout, a simulated day ingested through an API key, and a
# second owner who gets a 404 on every route with the first owner's ids. Reuses moto at
# AWS_ENDPOINT_URL when set (`make test`); alone (`make e2e`) it starts and stops its own.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
cargo nextest run --locked -p petty-tests --no-run
exec tools/with_stack.sh e2e cargo nextest run --locked -p petty-tests --run-ignored only -E 'test(/against_the_local_stack/)'
