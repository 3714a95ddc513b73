# The commands the README gives. `make up` runs the platform; `make test` runs every test.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export UV_PYTHON ?= 3.11

.PHONY: up test setup web schema check-schema test-deps test-web lint bench images test-compose

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

## The Python environment, exactly as locked, compiled to bytecode: with PYTHONDONTWRITEBYTECODE
## set (as on CI machines) every process would otherwise compile what it imports each time it
## starts, which made `make up` take 8 s instead of 3 (docs/performance.md, "Start-up").
setup: $(UV)
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --no-sync python -m compileall -q -j0 libs services gateway cli scripts >/dev/null

## Build the web app when it is missing or older than its sources. The build fails when the
## JavaScript the first page loads is over its budget (web/scripts/initial-js.mjs); a failed
## build leaves no index.html, so the next `make web` builds again instead of taking it as done.
web:
	@if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then \
	  (cd web && npm ci --no-audit --no-fund) && touch web/node_modules; fi
	@if [ ! -f web/dist/index.html ] || [ -n "$$(find web/src web/index.html web/package.json \
	  web/vite.config.ts web/tsconfig.json web/scripts/initial-js.mjs \
	  libs/contracts/pyk8s_contracts/rbac.json \
	  libs/contracts/pyk8s_contracts/password.json -newer web/dist/index.html 2>/dev/null | head -1)" ]; then \
	  (cd web && npm run build) || { rm -f web/dist/index.html; exit 1; }; fi

## The web app's API types (web/src/api/schema.ts) from the gateway's OpenAPI document,
## taken from the gateway code without a running server.
schema: setup web
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && set -e && \
	  $(UV) run python scripts/openapi.py "$$tmp/openapi.json" && \
	  (cd web && node scripts/gen-api.mjs "$$tmp/openapi.json")

## Fails when the committed web/src/api/schema.ts differs from what `make schema` makes.
check-schema: setup web
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && set -e && \
	  $(UV) run python scripts/openapi.py "$$tmp/openapi.json" && \
	  (cd web && node scripts/gen-api.mjs "$$tmp/openapi.json" "$$tmp/schema.ts") && \
	  if ! diff -u web/src/api/schema.ts "$$tmp/schema.ts"; then \
	    echo "web/src/api/schema.ts is stale against the gateway: run make schema"; exit 1; fi

up: setup web
	$(UV) run python scripts/up.py

## What the cluster, terminal and Helm tests need: a Docker engine, kind, k3d, helm, kwok and
## the Kubernetes binaries (the kwok provider, tests/deploy), and the local node image, which
## carries the kubectl built just before.
test-deps:
	scripts/ensure-docker.sh
	scripts/install-cluster-tools.sh
	scripts/install-k8s-tools.sh
	scripts/node-image.sh

test-web: web
	cd web && npm test

## The web app's API types match the gateway and its component tests pass, then every Python
## test (services, gateway, CLI, browser, the Helm chart on a real API server) but the compose
## stack's, which has its own target.
test: setup web check-schema test-deps test-web
	$(UV) run pytest --ignore=tests/deploy/test_compose.py --basetemp="$$(mktemp -d /tmp/pyk8s-tests.XXXXXX)"

## The images compose.yaml runs, built offline (see scripts/build-images.sh).
images: setup web test-deps
	scripts/build-images.sh

## compose.yaml for real (tests/deploy/test_compose.py). Apart from `make test` because a fresh machine first
## builds docker compose and buildx from Go (about 9 minutes here); later runs take about 1.
test-compose: setup web test-deps
	$(UV) run pytest tests/deploy/test_compose.py -rP --basetemp="$$(mktemp -d /tmp/pyk8s-tests.XXXXXX)"

lint: setup web
	$(UV) run ruff check .
	cd web && npm run lint

# Every benchmark; the others under bench/ are what they share.
BENCH_HELPERS = bench/platform_runner.py bench/baseline_app.py bench/locustfile.py
bench: setup test-deps
	scripts/install-bench-tools.sh
	@for b in $(filter-out $(BENCH_HELPERS),$(wildcard bench/*.py)); do echo "== $$b"; $(UV) run python $$b || exit 1; done
