# Every target sets itself up: `make test` and `make demo` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
# Every install is pinned by the lock (constraints.txt). `make test CONSTRAINTS= VENV=.venv-latest`
# (what `make test-latest` runs) takes the newest versions pyproject.toml allows instead.
CONSTRAINTS ?= constraints.txt
PIP_INSTALL = $(BIN)/python -m pip install --quiet --disable-pip-version-check \
	$(if $(CONSTRAINTS),-c $(CONSTRAINTS),--upgrade --upgrade-strategy eager)

.PHONY: setup test test-pg test-mysql test-redis test-lowest test-latest test-browser wheel-smoke lock lint format \
	typecheck demo bench docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -e '.[dev,bcrypt]'
	touch $@

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The database tests again, against a throw-away PostgreSQL server on 127.0.0.1.
test-pg: setup
	scripts/with-postgres.sh $(BIN)/python -m pytest -m db $(PYTEST_ARGS)

# The database tests again, against a throw-away MariaDB server on 127.0.0.1,
# with the `mysql` extra (aiomysql, asyncmy) installed into the venv first.
MYSQL_STAMP := $(VENV)/.mysql-installed

$(MYSQL_STAMP): $(VENV)/.installed pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e '.[mysql]'
	touch $@

test-mysql: $(MYSQL_STAMP)
	scripts/with-mariadb.sh $(BIN)/python -m pytest -m db $(PYTEST_ARGS)

# The Redis throttle store's tests, against a throw-away redis-server on 127.0.0.1.
REDIS_STAMP := $(VENV)/.redis-installed

$(REDIS_STAMP): $(VENV)/.installed pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e '.[redis]'
	touch $@

test-redis: $(REDIS_STAMP)
	scripts/with-redis.sh $(BIN)/python -m pytest -m redis $(PYTEST_ARGS)

# The SQLite suite with every runtime dependency at its lowest allowed version (pyproject's
# lower bounds, written out in constraints-lowest.txt), in its own venv.
test-lowest:
	$(MAKE) test VENV=.venv-lowest CONSTRAINTS=constraints-lowest.txt

# The suite with the newest versions pyproject.toml allows (no lock), in its own venv.
test-latest:
	rm -f .venv-latest/.installed
	$(MAKE) test VENV=.venv-latest CONSTRAINTS=

# /docs in headless Chromium (Debian's package, installed here if missing) with the network
# cut off but for loopback: operations listed, "Try it out" on GET /health answers 200.
BROWSER_STAMP := $(VENV)/.browser-installed

$(BROWSER_STAMP): $(VENV)/.installed pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e '.[browser]'
	touch $@

test-browser: $(BROWSER_STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
	CORE_BROWSER_TESTS=1 $(BIN)/python -m pytest -p no:cacheprovider tests/browser $(PYTEST_ARGS)

# Build the sdist and wheel, install the wheel in a fresh venv outside the checkout, run the
# quick start from there (core init, makemigrations, migrate, core run, /health).
wheel-smoke: setup
	scripts/wheel-smoke.sh $(BIN)/python

# Refresh the lock: the newest allowed versions of everything the targets install.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e '.[dev,bcrypt,browser,docs,redis,mysql]'
	{ sed -n '/^#/p' constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable \
		| LC_ALL=C sort -f; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

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
# missing); it pins its servers and wrk itself. Then pagination depth on 1,000,000 PostgreSQL rows.
# `make bench BENCH_ARGS=--quick`: a smoke run.
PIN := $(shell command -v taskset >/dev/null 2>&1 && echo "taskset -c 1")
BENCH_ARGS ?=
bench: setup
	$(PIN) $(BIN)/python benchmarks/orm.py
	$(PIN) $(BIN)/python benchmarks/auth.py
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	scripts/with-postgres.sh $(BIN)/python benchmarks/http_bench.py $(BENCH_ARGS)
	scripts/with-postgres.sh $(BIN)/python benchmarks/pagination_depth.py $(BENCH_ARGS)

# The user guide in docs/ as a site in site/: every page, link and anchor checked (--strict).
# Its code samples are tests (tests/docs, part of `make test`); this only builds the site.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(VENV)/.installed pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e '.[docs]'
	touch $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .venv-lowest .venv-latest .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
