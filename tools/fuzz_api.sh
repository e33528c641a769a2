#!/usr/bin/env bash
# fuzz_api.sh [--bounded]: the API contract (openapi.yaml) against a fresh local stack with
# schemathesis: every operation, examples + coverage + fuzzing phases, with real credentials
# for a seeded owner, collar, API key and timeline event (tools/st_seed.py, applied per
# operation by tools/st_hooks.py). Fails on any 5xx, undocumented status code, wrong content
# type, body not matching its schema, or missing documented header.
#
#   --bounded   a few examples per operation and a fixed seed (~2-3 min of fuzzing): `make test`
#   (default)   many examples, a fresh seed each run: `make fuzz-api`; EXAMPLES=N to change
#   --inside    against the stack already up (PETTY_API_URL set by tools/with_stack.sh)
#
# Installs schemathesis (tools/requirements-st.txt) into .venv-st first; fast when done.
# Reports (JUnit, NDJSON) go to target/fuzz-api/. Reuses moto at AWS_ENDPOINT_URL when set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ST_VENV="$ROOT/.venv-st"
ST_REQS="$ROOT/tools/requirements-st.txt"
ST_STAMP="$ST_VENV/.installed-$(sha1sum "$ST_REQS" | cut -c1-12)"

install_schemathesis() {
  [ -f "$ST_STAMP" ] && return 0
  echo "fuzz-api: installing schemathesis into .venv-st"
  [ -x "$ST_VENV/bin/python" ] || python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ST_REQS"
  rm -f "$ST_VENV"/.installed-*
  touch "$ST_STAMP"
}

mode=long
inside=0
for arg in "$@"; do
  case $arg in
    --bounded) mode=bounded ;;
    --inside) inside=1 ;;
    *) echo "usage: $0 [--bounded]" >&2; exit 2 ;;
  esac
done

install_schemathesis
if [ "$inside" = 0 ]; then
  args=(--inside)
  [ "$mode" = bounded ] && args+=(--bounded)
  exec "$ROOT/tools/with_stack.sh" fuzz-api "$0" "${args[@]}"
fi

# Inside the stack: PETTY_API_URL is the local API.
: "${PETTY_API_URL:?run through tools/with_stack.sh}"
out="$ROOT/target/fuzz-api"
mkdir -p "$out"
started=$(date +%s)
seed_env="$out/seed.env"
"$ST_VENV/bin/python" "$ROOT/tools/st_seed.py" --api "$PETTY_API_URL" >"$seed_env"
# shellcheck disable=SC1090
set -a; source "$seed_env"; set +a

if [ "$mode" = bounded ]; then
  examples=${EXAMPLES:-8}
  seed=${SEED:-20261123}
  export PETTY_ST_SEED=$seed
  extra=(--seed "$seed" --generation-database none)
else
  examples=${EXAMPLES:-150}
  extra=(--generation-database "$out/examples.db")
  [ -n "${SEED:-}" ] && extra+=(--seed "$SEED") && export PETTY_ST_SEED=$SEED
fi

echo "fuzz-api ($mode): $examples examples per operation against $PETTY_API_URL"
export PETTY_ST_TALLY="$out/statuses.json"
rm -f "$PETTY_ST_TALLY"
export SCHEMATHESIS_HOOKS=st_hooks PYTHONPATH="$ROOT/tools${PYTHONPATH:+:$PYTHONPATH}"
status=0
# From target/fuzz-api: Hypothesis keeps its .hypothesis/ in the working directory.
(cd "$out" && exec "$ST_VENV/bin/st" run "$ROOT/openapi.yaml" \
  --url "$PETTY_API_URL" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$examples" \
  --workers 2 \
  --request-timeout 60 \
  --no-color \
  --report junit,ndjson --report-dir "$out" \
  "${extra[@]}") || status=$?

# Per operation: how many answers of each status (the happy paths ran, not only the 4xx).
if [ -f "$PETTY_ST_TALLY" ]; then
  "$ST_VENV/bin/python" - "$PETTY_ST_TALLY" <<'PY'
import json, sys
tally = json.load(open(sys.argv[1]))
print(f"{'operation':<36} {'2xx':>5} {'4xx':>5} {'5xx':>5}  statuses")
for op, by in sorted(tally.items(), key=lambda kv: kv[0].split(" ")[::-1]):
    n = {c: sum(v for s, v in by.items() if s.startswith(c)) for c in "245"}
    detail = " ".join(f"{s}:{v}" for s, v in sorted(by.items()))
    print(f"{op:<36} {n['2']:>5} {n['4']:>5} {n['5']:>5}  {detail}")
PY
fi
elapsed=$(( $(date +%s) - started ))
if [ "$status" = 0 ]; then
  echo "fuzz-api ($mode): passed in ${elapsed}s (seed, fuzzing and checks); reports in target/fuzz-api/"
else
  echo "fuzz-api ($mode): FAILED (exit $status) after ${elapsed}s; reproduce with the curl lines above; reports in target/fuzz-api/" >&2
fi
exit "$status"
