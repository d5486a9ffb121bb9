# Every target sets itself up: `make test` and `make demo` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup test test-pg lint format typecheck demo bench docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bcrypt]'
	touch $@

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The database tests again, against a throw-away PostgreSQL server on 127.0.0.1.
test-pg: setup
	scripts/with-postgres.sh $(BIN)/python -m pytest -m db $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check core_framework tests benchmarks
	$(BIN)/ruff format --check core_framework tests benchmarks
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format core_framework tests benchmarks
	$(BIN)/ruff check --fix core_framework tests benchmarks

typecheck: setup
	$(BIN)/mypy

demo: setup
	scripts/demo.sh

# Pinned to one core where taskset exists: this machine is small and noisy.
# The HTTP benchmark runs on SQLite, then on a throw-away PostgreSQL server (installed when
# missing); it pins its servers and wrk itself. `make bench BENCH_ARGS=--quick`: a smoke run.
PIN := $(shell command -v taskset >/dev/null 2>&1 && echo "taskset -c 1")
BENCH_ARGS ?=
bench: setup
	$(PIN) $(BIN)/python benchmarks/orm.py
	$(PIN) $(BIN)/python benchmarks/auth.py
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	scripts/with-postgres.sh $(BIN)/python benchmarks/http_bench.py $(BENCH_ARGS)

# The user guide in docs/ as a site in site/: every page, link and anchor checked (--strict).
# Its code samples are tests (tests/docs, part of `make test`); this only builds the site.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
