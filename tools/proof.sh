#!/usr/bin/env bash
# The bounded proof runs of `make test` against one fresh local stack, in turn: the API
# contract (schemathesis on openapi.yaml), load (collars ingesting, owners reading; every
# reading stored once), the collar stream (the IoT rule's queue -> tools/queue_poller.py ->
# petty-stream: good readings stored once, bad records retried and dead-lettered) and faults
# (outage, key rotation, throttling), last because it takes the endpoint down. Each one alone:
# `make fuzz-api`, `make load`, `make stream-check`, `make faults` (longer runs).
# Reuses moto at AWS_ENDPOINT_URL when set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

if [ "${1:-}" != --inside ]; then
  exec tools/with_stack.sh proof "$0" --inside
fi
step() { echo "-- $1"; local t0=$SECONDS; shift; "$@"; echo "-- done in $((SECONDS - t0)) s"; }
step "contract: schemathesis, bounded" tools/fuzz_api.sh --bounded --inside
step "load, bounded" "$VENV/bin/python" tools/load.py --bounded
step "collar stream through the readings queue" timeout 120 "$VENV/bin/python" tools/stream_check.py
step "faults" "$VENV/bin/python" tools/faults.py
