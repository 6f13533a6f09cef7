# One command each: `make demo`, `make test`, `make ui`. Everything else they need is set up here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
UI_ENV := $(CURDIR)/.bc_pipeline/sandbox.env
# Debian packages the tests drive: Chromium for the UI test, the PostgreSQL server for the production-instance test.
SYSTEM_PACKAGES := chromium postgresql
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup system-deps demo test bench chaos ui clean

setup: system-deps $(STAMP)

system-deps:
	@if ! command -v chromium >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: setup
	$(BIN)/bc-pipeline demo

# Most tests wait on real servers rather than compute, so three workers share the two cores well; a worker
# takes whole files, so a module's servers start once, in the suite's order: the slow files first.
test: setup
	$(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder

# Requests, time and memory against the API's floors and the peers (issue 7); writes bench/results.md.
bench: setup
	$(BIN)/python bench/run.py

# The whole fault matrix (every fault kind of both sandboxes, alone and mixed), then a table per fault kind.
chaos: setup
	$(BIN)/python bench/chaos.py
	$(BIN)/python bench/load.py

ui: setup
	mkdir -p $(DAGSTER_HOME) .bc_pipeline
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/bc-pipeline sandbox serve --env-file $(UI_ENV) & sandbox=$$!; \
	trap 'kill $$sandbox 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 100); do test -s $(UI_ENV) && break; sleep 0.2; done; \
	set -a; . $(UI_ENV); set +a; \
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) .bc_pipeline .dagster_home
