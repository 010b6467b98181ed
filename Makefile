# Front door for data engineers. Every target sets up .venv itself when it is missing or stale,
# so a fresh clone needs nothing but python3 (3.11) and make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Dagster keeps the run history of `make dev` here (ignored by git).
DAGSTER_HOME ?= $(CURDIR)/dagster_home

.PHONY: help run test test-fast dev docs bench lint lock clean browser spark java

help:
	@echo "make run    build, gate and release the warehouse from raw/ (generates Musterstadt if raw/ is empty)"
	@echo "make test   run the test suite"
	@echo "make test-fast  the inner loop: unit, model and format tests, no generated city (pytest -m 'not slow')"
	@echo "make dev    open the Dagster UI with the whole pipeline loaded"
	@echo "make docs   generate the dbt lineage docs (dbt_project/target/static_index.html)"
	@echo "make bench  benchmark the pipeline, write docs/performance.md"
	@echo "make lint   ruff (lint and format), the import layers (import-linter), sqlfluff and dbt-score on the dbt project; CI runs it before the tests"

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Once `make dev` has made the Dagster instance, a run reports what it built to it (shown in the UI).
# SOZIALMONITOR_ENGINE=spark make run: the same run with dbt on Apache Spark (docs/deployment.md)
run: $(STAMP) $(if $(filter spark,$(SOZIALMONITOR_ENGINE)),spark)
	$(if $(wildcard $(DAGSTER_HOME)/dagster.yaml),DAGSTER_HOME=$(DAGSTER_HOME) )$(BIN)/sozialmonitor run

# Two worker processes (this machine has 2 cores), each taking whole test files, so a file's
# module fixtures are built once. The session cities are built once per run and shared by the
# workers (tests/shared.py). Files are handed out in collection order, the longest first
# (tests/conftest.py, RUN_FIRST), not xdist's default (most tests first), which left the long files
# with few tests for the end. pytest prints the 15 slowest tests and who built each shared city.
# Serial: make test PYTEST_WORKERS=0.
PYTEST_WORKERS ?= 2
XDIST = $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)
test: $(STAMP) browser spark
	$(BIN)/python -m pytest $(XDIST)

test-fast: $(STAMP) browser
	$(BIN)/python -m pytest $(XDIST) -m "not slow"

# The dbt project on Apache Spark (docs/deployment.md): dbt-spark and pyspark from the registry,
# pinned in requirements-spark.lock, and Java 17 (apt) when missing. `make test` needs them (the
# engine check, tests/engines); `make run` does not.
SPARK_STAMP := $(VENV)/.spark
spark: $(SPARK_STAMP) java
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-spark.lock
	touch $(SPARK_STAMP)

java:
	@command -v java >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless)

# The atlas tests drive Debian's Chromium through Playwright (`playwright install` downloads a
# browser of its own, which this kind of machine cannot fetch). Installed with apt when missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

dev: export DAGSTER_HOME := $(DAGSTER_HOME)
# dagster-dbt re-parses the dbt project under `dagster dev` and looks for `dbt` on PATH
dev: export PATH := $(CURDIR)/$(BIN):$(PATH)
# SOZIALMONITOR_ENGINE=spark make dev: Dagster's dbt asset builds on Spark (docs/deployment.md)
dev: $(STAMP) $(if $(filter spark,$(SOZIALMONITOR_ENGINE)),spark)
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/sozialmonitor dbt-parse
	$(BIN)/dagster dev -m orchestration.definitions

docs: $(STAMP)
	$(BIN)/sozialmonitor docs

bench: $(STAMP) spark
	$(BIN)/python -m orchestration.benchmark

# ruff over the Python; import-linter checks the layers of the code (pyproject.toml,
# [tool.importlinter]): no import cycle, each layer imports only from the layers below it.
# Then the dbt project: `dbt-parse` renders the catalogue files and writes the manifest; sqlfluff
# lints the SQL (.sqlfluff: rules and why some are left out); dbt-score scores the manifest
# (pyproject.toml, [tool.dbt-score]): a model without a description or a data test fails.
DBT_TARGET ?= $(or $(SOZIALMONITOR_DBT_TARGET_DIR),dbt_project/target)
lint: $(STAMP)
	$(BIN)/ruff check orchestration data_quality tests dbt_project
	$(BIN)/ruff format --check orchestration data_quality tests dbt_project
	$(BIN)/lint-imports --no-cache
	$(BIN)/sozialmonitor dbt-parse
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests --processes 0
	$(BIN)/dbt-score lint --manifest $(DBT_TARGET)/manifest.json

# Regenerate requirements.lock from pyproject.toml in a throw-away environment.
lock:
	rm -rf /tmp/sozialmonitor-lock && $(PYTHON) -m venv /tmp/sozialmonitor-lock
	/tmp/sozialmonitor-lock/bin/pip install --quiet --upgrade "pip>=24"
	/tmp/sozialmonitor-lock/bin/pip install --quiet ".[dev]"
	( echo "# Fully pinned lock of every package the project installs (generated with \`make lock\`)."; \
	  echo "# A fresh machine gets exactly these versions: \`make\` installs from this file."; \
	  /tmp/sozialmonitor-lock/bin/pip freeze --all --exclude pip --exclude sozialmonitor ) > requirements.lock
	/tmp/sozialmonitor-lock/bin/pip install --quiet ".[spark]"
	( echo "# Fully pinned lock of the \`spark\` extra, on top of requirements.lock (generated with \`make lock\`)."; \
	  echo "# \`make spark\` (and so \`make test\`) installs exactly these versions."; \
	  /tmp/sozialmonitor-lock/bin/pip freeze --all --exclude pip --exclude sozialmonitor \
	    | grep -vxFf <(grep -v '^#' requirements.lock) ) > requirements-spark.lock

# Releases are read-only on disk (immutable); `make clean` leaves them alone. To discard them too:
# chmod -R u+w releases && rm -rf releases
clean:
	rm -rf warehouse quarantine dbt_project/target dbt_project/logs dbt_project/generated
