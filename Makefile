# The two commands a newcomer runs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stook-installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The main job on the bundled example: validate and bag it, serve the store over
# OAI-PMH on loopback, harvest it into a second store, audit both, then start
# `stook web` on the store for a few seconds and fetch its pages.
run: $(STAMP)
	$(BIN)/stook validate examples/wilson-115179/record.yaml
	$(BIN)/python examples/main_job.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The suite includes tests/test_install.py: a wheel installed into a fresh venv with no
# extras runs every command (pip fetches the dependencies, from its cache when it can).
# STOOK_SKIP_INSTALL_TEST=1 skips it on purpose, e.g. offline.
test: $(STAMP) lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bags-harvested
