# The two set-up commands are `make run` and `make test`; everything else is a step of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install system-packages run test openapi bench reliability stripe-triggers screenshots lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python system-packages
	$(BIN)/pip install --quiet -e ".[dev]"
	npm install --no-audit --no-fund --silent

# Headless Chromium for browser tests, docker-compose to validate docker/compose.yml, wrk for benchmarks,
# poppler-utils (pdftotext, pdftoppm) to open the emulator's invoice PDFs in tests.
system-packages:
	@command -v chromium >/dev/null && command -v docker-compose >/dev/null && command -v wrk >/dev/null \
	  && command -v pdftotext >/dev/null || \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium docker-compose wrk poppler-utils >/dev/null)

run: install
	scripts/run-local

test: install
	$(BIN)/python -m pytest

# The document names its servers after these settings: pin them so it never depends on the machine.
openapi: install
	DJANGO_SETTINGS_MODULE=saas_platform.settings.test PLATFORM_DOMAIN=localhost PLATFORM_PORT=8000 PLATFORM_SCHEME=http \
	  $(BIN)/python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

bench: install
	$(BIN)/python -m bench

reliability: install
	$(BIN)/python -m pytest -m slow tests/reliability

# Every billing trigger of the installed Stripe CLI against the emulator; prints a table and the pass count.
stripe-triggers: install
	$(BIN)/python -m pytest -s tests/emulator/test_cli.py -k every_billing_trigger

# A screenshot of every page of the web app into docs/images/ (the README's Tour): re-run when pages change.
screenshots: install
	$(BIN)/python -m pytest -q -s -m screenshots tests/browser/test_screenshots.py

lint: install
	$(BIN)/ruff check .
