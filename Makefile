# Vitrine. `make run` sets everything up on the embedded default (SQLite, no Redis) and serves
# http://127.0.0.1:8000 ; `make test` runs the whole test suite against whatever DATABASE_URL/REDIS_URL say.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
SEED ?= 42
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: venv install migrate demo demo-reset train run serve serve-production lint test fuzz worker beat bench clean

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "python3.11 not found; set PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

# Demo data is built once; `make demo-reset` rebuilds it from scratch.
# Order-only: migrate runs first (once per make call) without making the seeded demo out of date.
var/.demo-seeded: | migrate
	$(PY) manage.py seed_demo --seed $(SEED)
	@mkdir -p var && touch $@

demo: var/.demo-seeded

demo-reset: migrate
	$(PY) manage.py seed_demo --seed $(SEED) --reset
	@mkdir -p var && touch var/.demo-seeded

# Trains the configured models on the demo events and activates the best (skipped when a version is active).
var/.demo-trained: var/.demo-seeded
	$(PY) manage.py train
	@touch $@

train: var/.demo-trained

run: migrate demo train serve

serve:
	@echo "Vitrine on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/ user 'admin' / password 'admin')"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production (config.settings.production; environment in the README's "Deploying"): check --deploy, collectstatic,
# migrate, then gunicorn on $(VITRINE_BIND) (default 0.0.0.0:8000). Never seeds demo data.
serve-production: install
	bin/start-production

# ruff (pyflakes, imports, bugbear, Django rules, complexity) and import-linter (the architecture contracts in
# pyproject.toml). `make test` runs it first.
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo

test: lint
	$(BIN)/pytest -q

# schemathesis against a live gunicorn on a fresh PostgreSQL database (created beside DATABASE_URL's, dropped
# after): every response documented, no 5xx. FUZZ_EXAMPLES test cases per operation (.ci/run uses 50).
FUZZ_EXAMPLES ?= 100
fuzz: install
	$(PY) tests/fuzz/run.py --max-examples $(FUZZ_EXAMPLES)

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=2

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

# Benchmarks need PostgreSQL (ingest, pipeline, serving); each prints a table and writes bench/results/*.json.
bench: install
	$(PY) bench/ingest.py
	$(PY) bench/train_speed.py --sizes 100k,1m
	$(PY) bench/pipeline.py
	$(PY) bench/serving.py

clean:
	rm -rf $(VENV) var
