# reportgen: two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_AREA ?= Hartlepool
DEMO_DATA := output/demo-data/health-assets-demo.csv

.PHONY: demo test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the package metadata changes.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/reportgen demo-data --out $(DEMO_DATA)
	$(BIN)/reportgen build --area "$(DEMO_AREA)" --data $(DEMO_DATA)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check reportgen tests

bench: $(STAMP)
	$(BIN)/python -m reportgen.bench

clean:
	rm -rf $(VENV) build dist *.egg-info output/demo-data
