# Petty: `make dev` runs it locally, `make test` tests it. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       := .venv
REQS       := tools/requirements.txt
VENV_STAMP := $(VENV)/.installed-$(shell sha1sum $(REQS) | cut -c1-12)
BUILD_REQS  := tools/requirements-build.txt
BUILD_STAMP := $(VENV)/.build-installed-$(shell sha1sum $(BUILD_REQS) | cut -c1-12)
GIT_SHA    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

SAM_VENV   := .venv-sam
BUILD_STAMP_FILE := tools/arm64-build.stamp

.PHONY: help venv dev test lint fmt invoke keys rotate-keys build build-if-changed bench bench-accounts bench-days fuzz fuzz-api clean \
        lint-template template-tools sam-build deploy cli cli-journey e2e load faults admin stream-check stream-demo

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

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

test: venv ## fmt, template lint, clippy and every test against a fresh moto server
	tools/test.sh

lint-template: ## cfn-lint (0 errors, 0 warnings), sam validate --lint and checkov (0 failed) on template.yaml
	tools/lint_template.sh

template-tools: ## Install sam-cli + cfn-lint (.venv-sam) and checkov (.venv-checkov); fast when done
	tools/lint_template.sh --install-only

cli: ## Build the `petty` CLI (target/debug/petty); `cargo install --path clients/petty-cli` installs it
	cargo build -p petty-cli
	@echo "target/debug/petty: try \`target/debug/petty --help\`"

e2e: venv ## The owner's journey over HTTP against a fresh local stack (tests/integration/e2e.rs)
	tools/e2e.sh

cli-journey: venv ## The CLI's whole journey against a fresh local stack (moto + cargo lambda watch)
	tools/cli_journey.sh

load: venv ## Collars ingesting, owners reading for 60 s on a fresh local stack; no 5xx, every reading stored once (COLLARS= OWNERS= DURATION=)
	tools/with_stack.sh load $(VENV)/bin/python tools/load.py --collars $${COLLARS:-20} --owners $${OWNERS:-5} --duration $${DURATION:-60}

faults: venv ## Endpoint outage, JWT key rotation and DynamoDB throttling on a fresh local stack (~2 min), each asserted
	tools/with_stack.sh faults $(VENV)/bin/python tools/faults.py

stream-check: venv ## The collar stream on a fresh local stack: IoT rule's queue -> tools/queue_poller.py -> petty-stream; good stored once, bad dead-lettered
	tools/with_stack.sh stream $(VENV)/bin/python tools/stream_check.py

stream-demo: venv ## Publish the last MINUTES=10 of COLLAR=DM-000001's simulated day through the readings queue, as the IoT rule would (needs `make dev`)
	$(VENV)/bin/python tools/queue_publish.py --env-file .dev.env simulate --collar $${COLLAR:-DM-000001} --minutes $${MINUTES:-10}
	@echo "the queue poller of \`make dev\` hands them to petty-stream; then: petty realtime $${COLLAR:-DM-000001}, petty collars show $${COLLAR:-DM-000001}"

# An operator: an account with the `admin` scope (registers collars: POST /v1/admin/collars,
# `petty admin register`). Local by default (`make dev`'s moto); ENDPOINT= (empty) grants it in
# the AWS account of your credentials (AWS_PROFILE / AWS_REGION), stage STAGE.
ADMIN_ENDPOINT = $(if $(filter undefined,$(origin ENDPOINT)),http://127.0.0.1:$(or $(MOTO_PORT),4566),$(ENDPOINT))

admin: venv ## Grant EMAIL's account the admin scope (audited), then log in again: EMAIL=... [STAGE=dev] [ENDPOINT=http://127.0.0.1:4566; empty: AWS]
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=ops@example.com [STAGE=dev] [ENDPOINT=http://127.0.0.1:4566]" >&2; exit 2; }
	$(VENV)/bin/python tools/local_aws.py grant-scope --stage $(or $(STAGE),dev) --email '$(EMAIL)' $(if $(ADMIN_ENDPOINT),--endpoint $(ADMIN_ENDPOINT))
	@echo "$(EMAIL) has the admin scope from its next login: petty login --email $(EMAIL), then petty admin register COLLAR..."

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

# Against AWS: your usual credentials and region (AWS_PROFILE / AWS_REGION); the secrets are the
# stack's `petty/<STAGE>/jwt-signing-keys` and `petty/<STAGE>/jwt-public-keys`.
keys: venv ## New current RSA key (previous kept) in STAGE's deployed secrets; ENDPOINT=... for local
	$(VENV)/bin/python tools/local_aws.py keys --stage $${STAGE:-dev} $${ENDPOINT:+--endpoint $$ENDPOINT}

build: $(BUILD_STAMP) ## arm64 release bootstrap per function in target/lambda/ (cargo-lambda + zig)
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu \
	  || { echo "cannot add the aarch64-unknown-linux-gnu target (rustup needs its download server)" >&2; exit 1; }
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PETTY_GIT_SHA=$(GIT_SHA) cargo lambda build --release --arm64 --workspace --exclude petty-cli --exclude petty-bench-floor
	@ls -l target/lambda/*/bootstrap | awk '{printf "  %-45s %6.2f MB\n", $$9, $$5/1048576}'
	@{ echo "# Written by \`make build\` after a successful arm64 build; CI rebuilds when tools/build_inputs.sh differs."; \
	   echo "inputs $$(tools/build_inputs.sh)"; \
	   ls -l target/lambda/*/bootstrap | awk '{split($$9, p, "/"); printf "size %s %d\n", p[3], $$5}'; } > $(BUILD_STAMP_FILE)

build-if-changed: ## `make build` only if the build inputs changed since tools/arm64-build.stamp
	@recorded=$$(awk '$$1 == "inputs" {print $$2}' $(BUILD_STAMP_FILE) 2>/dev/null); current=$$(tools/build_inputs.sh); \
	if [ "$$recorded" = "$$current" ]; then echo "arm64 build inputs unchanged since the recorded build ($$current): skipped"; \
	else echo "arm64 build inputs changed ($${recorded:-none} -> $$current): building"; $(MAKE) --no-print-directory build; fi

sam-build: $(BUILD_STAMP) template-tools ## `sam build` (rust-cargolambda, arm64) into .aws-sam/ with this repo's pinned tools
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build

deploy: sam-build ## sam build, then `sam deploy --guided` (asks for the stage, alarm e-mail...; needs AWS credentials)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided

fuzz: ## Property tests (parsers, cursors, event ids, segmentation) with many cases: CASES=20000 by default
	PROPTEST_CASES=$${CASES:-20000} cargo test --workspace --lib --locked properties

fuzz-api: venv ## Schemathesis on openapi.yaml against a fresh local stack, many examples (EXAMPLES=150, SEED=)
	tools/fuzz_api.sh

bench: $(BUILD_STAMP) ## Numbers, not pass/fail: cold start, warm p50/p99, RSS, sizes vs a lambda_http floor, in-process figures; one table + JSON in target/bench/
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PETTY_GIT_SHA=$(GIT_SHA) tools/bench.sh
	tools/bench_days.sh

bench-accounts: venv ## Numbers, not pass/fail: reset-request timing, export and erasure of 30 days of readings (DAYS=) on moto
	tools/bench_accounts.sh

bench-days: venv ## Numbers, not pass/fail: finished days from their records, the plan and the summary with COLLARS=3 x DAYS=30 days of readings on moto
	tools/bench_days.sh

rotate-keys: venv ## Rotate the local stack's key set (new current key, previous kept); needs `make dev`
	$(VENV)/bin/python tools/local_aws.py keys --stage $${STAGE:-dev} --endpoint http://127.0.0.1:$${MOTO_PORT:-4566}

clean: ## Remove build output and the venvs
	cargo clean
	rm -rf $(VENV) $(SAM_VENV) .venv-checkov .aws-sam .dev.env
