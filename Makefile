# The commands the README gives. `make up` runs the platform; `make test` runs every test.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export UV_PYTHON ?= 3.11

.PHONY: up test setup web lint bench tools test-python test-web

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

setup: $(UV)
	$(UV) sync --frozen

## Build the web app when it is missing or older than its sources.
web:
	@if [ -f web/package.json ]; then \
	  cd web && { [ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund; } \
	  && if [ ! -f dist/index.html ] || [ -n "$$(find src index.html package.json -newer dist/index.html 2>/dev/null | head -1)" ]; then npm run build; fi; \
	fi

up: setup
	$(UV) run python scripts/up.py

test: setup
	$(UV) run pytest

lint: setup
	$(UV) run ruff check .

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(UV) run python $$b || exit 1; done
