# Quick start: `make demo` runs Partnerloop with a demo program on SQLite; `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/partnerloop serve --demo

test: install
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/test.sh

lint: install
	$(BIN)/ruff check partnerloop tests bench scripts
	$(BIN)/ruff format --check partnerloop tests bench scripts
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/redirect.py
	$(BIN)/python bench/track_sale.py
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) partnerloop.db partnerloop.db-wal partnerloop.db-shm
