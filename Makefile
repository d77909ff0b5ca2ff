# Two entry points for a fresh machine: `make repro` (the pipeline) and `make test` (the tests).
# Both create .venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: repro test lint compare clean-venv

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

repro: $(BIN)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

# Two processes: the tests that load OpenVINO into the test process run in one of their own
test: $(BIN)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "not openvino"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m openvino

lint: $(BIN)/.installed
	$(BIN)/ruff check .

compare: $(BIN)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/fairmot compare

clean-venv:
	rm -rf $(VENV)
