# openbss: `make demo` and `make test` work on a fresh Debian machine with only Python 3.11+ installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint serve clean conformance

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/openbss demo

serve: install
	$(BIN)/openbss serve

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

test: install lint
	$(BIN)/pytest -q -n 2 --dist loadfile

conformance: install
	$(BIN)/python -m tests.conformance.run

clean:
	rm -rf $(VENV) .openbss .pytest_cache
