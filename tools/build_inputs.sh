#!/usr/bin/env bash
# Prints one hash of what decides whether the arm64 release build (`make build`) can break:
# how template.yaml builds each function (build method, binary, code URI, runtime,
# architecture), the Cargo profiles, the cross toolchain pin (zig) and the aws-lc crates (the
# one C dependency known to break arm64 cross-compiles). Alarms, dashboards, policies and Rust
# code changes do not move it: `cargo clippy`/`nextest` in `make test` already compile the code.
#
# `make build` records it in tools/arm64-build.stamp after a successful build; `make test` in
# CI (CI=true) runs `make build` only when the recorded hash differs (see README, Deploy).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  grep -E '^\s*(BuildMethod|Binary|CodeUri|Runtime|Architectures):' template.yaml
  awk '/^\[/{p = ($0 ~ /^\[profile\./)} p' Cargo.toml | grep -vE '^\s*(#|$)'
  grep -vE '^\s*(#|$)' tools/requirements-build.txt
  grep -A1 -E '^name = "aws-lc-(sys|rs)"' Cargo.lock
} | sha1sum | cut -c1-16
