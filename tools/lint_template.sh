#!/usr/bin/env bash
# `make lint-template` (and a step of `make test`): template.yaml must pass
#   1. cfn-lint          - zero errors and zero warnings (exit code 0, nothing printed),
#   2. sam validate --lint - SAM's transform plus cfn-lint, offline,
#   3. checkov           - zero failed checks; every suppression is inline in the template
#                          (Metadata: checkov: skip: [{id, comment}]) with its reason.
# Each tool lives in a git-ignored venv of its own, installed from a pinned requirements file
# the first time (about a minute, both venvs in parallel) and reused after: a stamp named after
# the requirements file's hash marks a finished install, so an edited pin reinstalls.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SAM_VENV="$ROOT/.venv-sam"          # aws-sam-cli + cfn-lint
CHECKOV_VENV="$ROOT/.venv-checkov"  # checkov pins an old boto3 that breaks aws-sam-cli

stamp_of() { echo "$1/.installed-$(sha1sum "$2" | cut -c1-12)"; }

# ensure_venv DIR REQUIREMENTS: creates DIR and installs REQUIREMENTS unless its stamp exists.
ensure_venv() {
  local dir=$1 reqs=$2 stamp
  stamp=$(stamp_of "$dir" "$reqs")
  [ -f "$stamp" ] && return 0
  echo "installing $reqs into ${dir#"$ROOT"/} (once)"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
  rm -f "$dir"/.installed-*
  touch "$stamp"
}

install_tools() {
  local pids=() failed=0
  ensure_venv "$SAM_VENV" tools/requirements-sam.txt & pids+=($!)
  ensure_venv "$CHECKOV_VENV" tools/requirements-checkov.txt & pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || { echo "installing the template tools failed" >&2; exit 1; }
}

[ "${1:-}" = "--install-only" ] && { install_tools; exit 0; }
install_tools

# Offline: a region and dummy credentials are all `sam validate` needs; no telemetry, and no
# download of checkov's guideline mapping (it would only fail without network).
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=lint AWS_SECRET_ACCESS_KEY=lint
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
export SAM_CLI_TELEMETRY=0 BC_SKIP_MAPPING=TRUE

echo "-- cfn-lint $("$SAM_VENV/bin/cfn-lint" --version | awk '{print $2}')"
# Any finding, warning or informational, fails: cfn-lint prints nothing when clean.
out=$("$SAM_VENV/bin/cfn-lint" --format parseable template.yaml) || true
if [ -n "$out" ]; then echo "$out"; echo "cfn-lint: findings above (zero errors and zero warnings required)" >&2; exit 1; fi
echo "   0 errors, 0 warnings"

echo "-- sam validate --lint ($("$SAM_VENV/bin/sam" --version | awk '{print $NF}'))"
"$SAM_VENV/bin/sam" validate --lint --template template.yaml --config-file "$ROOT/samconfig.toml"

echo "-- checkov $("$CHECKOV_VENV/bin/checkov" --version)"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
"$CHECKOV_VENV/bin/checkov" --file template.yaml --framework cloudformation --output json \
  --compact >"$report" 2>/dev/null || true
"$CHECKOV_VENV/bin/python" - "$report" <<'PY'
import json, sys
raw = open(sys.argv[1]).read().strip()
data = json.loads(raw) if raw else {}
data = data[0] if isinstance(data, list) else data
results = data.get("results", {})
summary = data.get("summary", {})
failed = results.get("failed_checks", [])
skipped = results.get("skipped_checks", [])
if not summary:
    sys.exit("checkov produced no report")
for check in failed:
    print(f"   FAILED {check['check_id']} {check['resource']}: {check['check_name']}")
unexplained = [s for s in skipped if len((s.get("check_result", {}).get("suppress_comment") or "").strip()) < 20]
for s in unexplained:
    print(f"   SKIPPED WITHOUT A REASON {s['check_id']} {s['resource']}")
by_id = {}
for s in skipped:
    by_id.setdefault(s["check_id"], []).append(s["resource"].split(".", 1)[-1])
print(f"   passed {summary.get('passed', 0)}, failed {summary.get('failed', 0)}, skipped {summary.get('skipped', 0)}")
for check_id, resources in sorted(by_id.items()):
    print(f"   skipped {check_id} on {len(resources)}: {', '.join(resources)}")
sys.exit(1 if failed or unexplained or summary.get("parsing_errors") else 0)
PY
echo "template.yaml: cfn-lint, sam validate --lint and checkov clean"
