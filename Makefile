# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench soak system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# -qq: pip prints errors only (a machine's own pip settings can make it chatty). The project
# is installed as a plain wheel, not editable: the demo and the tests run the working tree
# (`python -m ...` from here), and setuptools has nothing to warn about.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -qq --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -qq --disable-pip-version-check '.[dev]'
	touch $(STAMP)

# Debian packages: the offline translator (Apertium APY and its language pairs), and the
# headless browser the public pages are tested in (Chromium and its WebDriver).
system-deps:
	@command -v apertium-apy >/dev/null 2>&1 && [ -e /usr/share/apertium/modes/fr-es.mode ] \
	  && [ -e /usr/share/apertium/modes/eng-spa.mode ] && [ -e /usr/share/apertium/modes/es-pt.mode ] \
	  && [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
	  || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	       $$SUDO apt-get update -q && \
	       DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends \
	         apertium-apy apertium-fr-es apertium-eng-spa apertium-es-pt chromium chromium-driver; }

demo: system-deps $(STAMP)
	$(BIN)/python -m bot demo

test: system-deps $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot commands tests
	$(BIN)/ruff format --check bot commands tests
	$(BIN)/mypy

# `make bench QUICK=1`: small sizes, a few minutes, a smoke test only; one size alone with
# LIAISON_BENCH_<NAME>=N (the size() calls in tests/benchmarks/). Figures go on top of RESULTS.md.
bench: system-deps $(STAMP)
	LIAISON_BENCH_QUICK=$(QUICK) $(BIN)/python -m pytest tests/benchmarks -s -q -p no:cacheprovider --timeout 3600

# The soak alone; SOAK_SECONDS=240 make soak for a short one (default 900 s).
soak: system-deps $(STAMP)
	LIAISON_BENCH_SOAK_SECONDS=$${SOAK_SECONDS:-900} $(BIN)/python -m pytest tests/benchmarks/test_soak.py -s -q -p no:cacheprovider --timeout 7200

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
