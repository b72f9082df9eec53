# Earful's two set-up commands: `make demo` and `make test`. Everything else here serves those two.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned and installed first: the pinned CPU build lies on disk, while any other spec
# would pull several GB of CUDA packages.
TORCH_PIN := torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install demo test test-unit test-integration browser clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/earful --config config.yaml demo

test: install browser
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-integration: install browser
	$(BIN)/python -m pytest -q tests/integration

# Debian's Chromium for the real-browser tests (never `playwright install`: no downloads here).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else echo "chromium is missing: sudo apt-get install -y chromium chromium-driver"; fi; \
	fi

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache test-output
