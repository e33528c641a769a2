#!/usr/bin/env bash
# with_stack.sh NAME CMD...: runs CMD against a fresh local stack (tools/stack.sh: moto, the
# fault proxy, a seeded stage, every function behind `cargo lambda watch`), with PETTY_API_URL,
# PETTY_MOTO_URL, PETTY_FAULT_URL, PETTY_STACK_ENV and PETTY_STACK_STAGE exported, and stops
# the stack by pid afterwards, even when CMD fails. Reuses moto at AWS_ENDPOINT_URL when set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/stack.sh"
cd "$ROOT"
name=$1; shift
trap stack_down EXIT
stack_up "$name"
"$@"
