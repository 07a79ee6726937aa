# openbss: `make demo` and `make test` work on a fresh Debian machine with only Python 3.11+ installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint serve clean conformance node peers harfbuzz

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: install harfbuzz
	$(BIN)/openbss demo

serve: install
	$(BIN)/openbss serve

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

# The TM Forum conformance kits run with newman (npm). As root on Debian, a missing npm is installed.
node:
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; } || \
		{ echo "make test needs Node.js and npm for the TM Forum conformance kits: apt-get install nodejs npm"; exit 1; }

# Real protocol peers the tests talk to: radclient (Debian's freeradius-utils) for the RADIUS collector; Kamailio
# with its IMS charging module and sipp for the Diameter Ro end-to-end test.
PEER_PACKAGES = freeradius-utils kamailio kamailio-ims-modules sip-tester
peers:
	@{ command -v radclient && command -v kamailio && command -v sipp && \
		ls /usr/lib/*/kamailio/modules/ims_charging.so; } >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PEER_PACKAGES) >/dev/null; } || \
		{ echo "make test needs these peers: apt-get install $(PEER_PACKAGES)"; exit 1; }

# PDF invoices render about twice as fast with HarfBuzz's font subsetter (WeasyPrint falls back to fontTools
# without it). As root on Debian it is installed; elsewhere PDFs are still made, more slowly.
harfbuzz:
	@ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq libharfbuzz-subset0 >/dev/null 2>&1; } || \
		echo "PDFs render faster with HarfBuzz's subsetter: apt-get install libharfbuzz-subset0"

test: install lint node peers harfbuzz
	$(BIN)/pytest -q -n 2 --dist loadfile

conformance: install node
	$(BIN)/python -m tests.conformance.run

clean:
	rm -rf $(VENV) .openbss .pytest_cache
