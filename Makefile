# mediation_flow — three targets: run, test, bench (plus helpers).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export MEDIATION_FLOW_DATA_DIR ?= var
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench lint install clean

## constraints.txt pins every package to the version the tests last passed with (see README, Test).
$(BIN)/mediation-flow: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(BIN)/mediation-flow

## Run the product: install, migrate, load the demo into a new database, serve on HOST:PORT (127.0.0.1:8000;
## e.g. `make run PORT=8080`).
run: install
	$(BIN)/mediation-flow run --host $(HOST) --port $(PORT)

## Run the whole test suite (SQLite and PostgreSQL; browser tests need Debian's chromium).
## --dist loadfile keeps each file on one worker (the browser scenario runs in order); loadgroup is
## silently ignored with pytest 9.2 (pytest-xdist issue #1386).
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile

## Run the benchmarks; results land in benchmarks/results/.
bench: install
	$(BIN)/python -m benchmarks

## Lint and type-check (mypy checks the core, mediation_flow/; its settings are in pyproject.toml).
lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache dist build
