# Wenming developer commands. Only Python 3.11+ and make are needed; everything else is installed here.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PORT ?= 8000

.PHONY: demo test lint typecheck format serve install clean bench bench-cases

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser tests' accessibility checker (axe-core) from the npm registry, as package-lock.json pins it.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP) ## create .venv and install Wenming with its test tools

demo: $(STAMP) ## create the data directory, migrate, seed the demo district and serve it
	$(BIN)/wenming demo --port $(PORT)

serve: $(STAMP) ## serve the configured database
	$(BIN)/wenming serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

test: $(STAMP) $(NODE_STAMP) lint typecheck ## the whole suite: lint, types, and pytest on SQLite (+ PostgreSQL when configured)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/write_path.py

bench-cases: $(STAMP) ## case intake and overdue sweep benchmarks (SQLite; + PostgreSQL with WENMING_BENCH_DATABASE_URL)
	$(BIN)/python benchmarks/intake.py
	$(BIN)/python benchmarks/sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
