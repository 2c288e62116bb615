# quiz_engine: `make run` serves the demo, `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)
# Test-only JavaScript (axe-core, for tests/browser/test_accessibility.py), from package-lock.json.
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | sha1sum | cut -c1-12)

.PHONY: run test lint bench clean translations

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) quiz demo
	@echo ""
	@echo "  quiz_engine đang chạy tại / serving at:  http://127.0.0.1:5000"
	@echo "  Dừng bằng Ctrl-C (stop with Ctrl-C)."
	@echo ""
	@# The gunicorn master runs the upkeep (overdue attempts, stale boards, final rankings) every
	@# QUIZ_UPKEEP_SECONDS, on the server's Redis, and stops it with the server (gunicorn.conf.py): Ctrl-C ends all.
	export QUIZ_UPKEEP_SECONDS=$${QUIZ_UPKEEP_SECONDS:-30}; \
	exec $(BIN)/gunicorn --config gunicorn.conf.py

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The load benchmark drives the server with Debian's wrk: installed here when missing and run as root.
bench: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null; } \
		|| { echo "wrk is missing: sudo apt-get install wrk"; exit 1; }
	$(BIN)/python -m benchmarks $(BENCH)

lint: $(STAMP)
	$(BIN)/ruff check .

# Source strings are Vietnamese (the default language); English is the translation.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o quiz_engine/translations/messages.pot quiz_engine
	$(BIN)/pybabel update --no-fuzzy-matching -w 120 -i quiz_engine/translations/messages.pot -d quiz_engine/translations -l en
	$(BIN)/pybabel compile -d quiz_engine/translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache node_modules
