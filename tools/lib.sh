# Shared shell helpers for the Makefile's scripts (sourced, not run).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0

# A free TCP port on 127.0.0.1.
free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_moto PORT LOGFILE: starts moto server on 127.0.0.1:PORT, waits until it answers, and
# sets MOTO_PID. Fails loudly if it does not come up.
start_moto() {
  local port=$1 log=$2
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" - "$port" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=0.5)
PY
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto server exited; its log:" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.1
  done
  echo "moto server did not answer on port $port" >&2
  return 1
}

# stop_pid PID: stops a background process and its children, by pid.
stop_pid() {
  local pid=${1:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# Installs the Rust tools the project needs, if missing (idempotent, fast when present).
ensure_rust_tools() {
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
      rustup component add "$component"
    fi
  done
  if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
  fi
}
