# Control Tower: `make demo` to try it, `make test` to check it.
# Needs only GNU make and Python 3.11 (python3 is used when python3.11 is missing).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV = .venv
BIN = $(VENV)/bin
MANAGE = $(BIN)/python manage.py
PYTEST = $(BIN)/pytest -q -p no:cacheprovider
# pytest-xdist: two processes, one test database each.
XDIST ?= -n 2

DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
WORKER_PID = var/demo-worker.pid
WORKER_LOG = var/demo-worker.log

PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/0
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ct_bench
BENCH_ARGS ?=
# Secret keys for the local PostgreSQL runs only (settings refuse keys under
# 50 characters outside the embedded default). Those runs are production mode
# over plain http on the loopback, so they turn the https redirect off.
CI_ENV = SECRET_KEY=ci-only-secret-key-for-the-test-suite-never-use-in-production SECURE_SSL_REDIRECT=false
BENCH_ENV = SECRET_KEY=bench-only-secret-key-for-the-benchmark-never-use-in-production SECURE_SSL_REDIRECT=false

.PHONY: venv migrate demo demo-data test test-postgres bench screenshots docs clean

# The virtualenv is (re)built only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(MANAGE) migrate --noinput

# Master data, users and five weeks of events with their KPI rollups (a
# second run posts nothing new), then one reconciliation pass so the
# exception cases are there at once, and today's rollup with them (the
# worker's beat repeats both on its schedule).
# The demo's retailer sells goods of 0.01 to 25 a unit: finance approves its
# corrective adjustments above 50.00 (the default 500.00 no correction of
# its reaches), when loading it and when serving it.
demo demo-data: export CASE_ADJUSTMENT_APPROVAL_THRESHOLD = 50.00

demo-data: migrate
	$(MANAGE) load_demo
	$(MANAGE) reconcile
	$(MANAGE) rollup_kpis

# The embedded demo: SQLite + a real Celery worker with embedded beat over
# the filesystem broker, and the web server. Ctrl-C stops both.
# DEMO_NO_SERVE=1 stops after loading the data (CI checks that path).
# The worker runs in its own session (setsid), so its beat child goes with
# it: TERM the group, wait for the warm shutdown, KILL what is left.
stop_group = kill -TERM -- -$(1) 2>/dev/null && for _ in $$(seq 150); do kill -0 -- -$(1) 2>/dev/null || break; sleep 0.1; done; kill -KILL -- -$(1) 2>/dev/null || true

demo: demo-data
ifeq ($(DEMO_NO_SERVE),1)
	@echo "DEMO_NO_SERVE=1: demo data loaded; servers not started."
else
	@if [ -f $(WORKER_PID) ]; then \
	  pid=$$(cat $(WORKER_PID)); \
	  if grep -qs celery /proc/$$pid/cmdline; then \
	    echo "Stopping the worker left by an earlier run (pid $$pid)"; $(call stop_group,$$pid); \
	  fi; \
	  rm -f $(WORKER_PID); \
	fi
	@setsid $(BIN)/celery -A controltower worker -B --pool=threads -c 2 \
	  --scheduler django_celery_beat.schedulers:DatabaseScheduler \
	  --loglevel INFO >$(WORKER_LOG) 2>&1 & worker=$$!; echo $$worker >$(WORKER_PID); \
	trap '$(call stop_group,$$worker); rm -f $(WORKER_PID)' EXIT; trap 'exit 130' INT TERM; \
	echo ""; \
	echo "Control Tower demo: http://$(DEMO_HOST):$(DEMO_PORT)/  (logins above, password demo-password)"; \
	echo "Celery worker + beat: pid $$worker, log $(WORKER_LOG). Ctrl-C stops both."; \
	echo ""; \
	$(MANAGE) runserver $(DEMO_HOST):$(DEMO_PORT) --noreload
endif

test: venv
	$(PYTEST) $(XDIST)

# The same suite on PostgreSQL and Redis. Tests that start a real Celery
# worker over Redis run afterwards in one process, so two workers never
# share a queue.
test-postgres: venv
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL) $(CI_ENV) \
	  $(PYTEST) $(XDIST) -m "not redis"
	DATABASE_URL=$(PG_URL) CELERY_BROKER_URL=$(REDIS_URL) $(CI_ENV) \
	  $(PYTEST) -m redis

# The benchmarks against PostgreSQL (creates the database when missing).
# They live in tests/bench/, outside the installed packages.
bench: venv
	@url='$(BENCH_DATABASE_URL)'; db=$${url##*/}; server=$${url%/*}; \
	  psql "$$server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$$db'" | grep -q 1 \
	  || psql "$$server/postgres" -c "CREATE DATABASE \"$$db\""
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BENCH_ENV) $(MANAGE) migrate --noinput
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BENCH_ENV) $(BIN)/python -m tests.bench $(BENCH_ARGS)

# Each demo login's path captured in Chromium for the role guides (docs/screenshots/).
screenshots: venv
	$(BIN)/python -m tests.browser.role_paths

# The documentation site (mkdocs.yml, docs/), offline, into var/site/; strict:
# a broken link or anchor fails it.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# Removes the embedded database, secret key, broker folders and logs
# (the virtualenv stays; it is rebuilt when pyproject.toml changes).
clean:
	rm -rf var
	find . -name __pycache__ -type d -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
