# Petty: `make dev` runs it locally, `make test` tests it. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       := .venv
REQS       := tools/requirements.txt
VENV_STAMP := $(VENV)/.installed-$(shell sha1sum $(REQS) | cut -c1-12)
BUILD_REQS  := tools/requirements-build.txt
BUILD_STAMP := $(VENV)/.build-installed-$(shell sha1sum $(BUILD_REQS) | cut -c1-12)
GIT_SHA    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: help venv dev test lint fmt invoke keys rotate-keys build bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

venv: $(VENV_STAMP) ## Create the repo-local Python venv (moto, cargo-lambda); fast when done

$(VENV_STAMP): $(REQS)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(REQS)
	rm -f $(VENV)/.installed-*
	touch $@

$(BUILD_STAMP): $(BUILD_REQS) $(VENV_STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(BUILD_REQS)
	rm -f $(VENV)/.build-installed-*
	touch $@

dev: venv ## Run moto + every function behind http://127.0.0.1:9000 (Ctrl-C stops all)
	tools/dev.sh

test: venv ## fmt, clippy and every test against a fresh moto server
	tools/test.sh

fmt: ## Format the code
	cargo fmt --all

lint: ## clippy with warnings as errors
	cargo clippy --workspace --all-targets --locked -- -D warnings

invoke: venv ## Invoke every events/<function>/*.json against a running `make dev`
	@for f in events/*/*.json; do \
	  fn=petty-$$(basename $$(dirname $$f)); \
	  echo "== $$fn $$f"; \
	  $(VENV)/bin/cargo-lambda lambda invoke $$fn -A 127.0.0.1 -P $${API_PORT:-9000} --data-file $$f | head -c 400; echo; \
	done

keys: venv ## Generate a new current RSA key (keeping the previous) in STAGE's secrets; ENDPOINT for local
	$(VENV)/bin/python tools/local_aws.py keys --stage $${STAGE:-dev} $${ENDPOINT:+--endpoint $$ENDPOINT}

build: $(BUILD_STAMP) ## arm64 release bootstrap per function in target/lambda/ (cargo-lambda + zig)
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PETTY_GIT_SHA=$(GIT_SHA) cargo lambda build --release --arm64 --workspace
	@ls -l target/lambda/*/bootstrap | awk '{printf "  %-45s %6.2f MB\n", $$9, $$5/1048576}'

bench: venv ## Numbers, not pass/fail: cold start, warm latency, RSS; tokens/s, argon2, login p50 vs moto
	PETTY_GIT_SHA=$(GIT_SHA) tools/bench.sh

rotate-keys: venv ## Rotate the local stack's key set (new current key, previous kept); needs `make dev`
	$(VENV)/bin/python tools/local_aws.py keys --stage $${STAGE:-dev} --endpoint http://127.0.0.1:$${MOTO_PORT:-4566}

clean: ## Remove build output and the venv
	cargo clean
	rm -rf $(VENV) .dev.env
