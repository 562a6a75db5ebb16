# reportgen: two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_AREA ?= Hartlepool
DEMO_DATA := output/demo-data/health-assets-demo.csv

.PHONY: demo test check install lint typecheck docs bench bench-national clean system-deps browser-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the package metadata changes.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@$(MAKE) --no-print-directory browser-deps
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint,docs]'
	touch $(STAMP)

# Optional: HarfBuzz's font subsetter makes PDF writing about twice as fast. Without it
# WeasyPrint falls back to fontTools, so this step never fails the build.
system-deps:
	@if ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  timeout 300 apt-get install -y -qq libharfbuzz-subset0 >/dev/null 2>&1 || \
	  { timeout 300 apt-get update -qq >/dev/null 2>&1 && timeout 300 apt-get install -y -qq libharfbuzz-subset0 >/dev/null 2>&1; } || \
	  echo "note: libharfbuzz-subset0 could not be installed; PDFs will build more slowly"; \
	else echo "note: install libharfbuzz-subset0 (apt) for faster PDF builds"; fi

# The "Find your area" page is tested in Debian's chromium (driven by Playwright's Python package,
# which uses this browser: it never downloads one). The browser test fails, with the reason, if
# chromium is missing.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  timeout 600 apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium >/dev/null 2>&1 || \
	  { timeout 300 apt-get update -qq >/dev/null 2>&1 && \
	    timeout 600 apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium >/dev/null 2>&1; } || \
	  echo "note: chromium could not be installed; the browser test will fail"; \
	else echo "note: install chromium (apt) for the browser test"; fi

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/reportgen demo-data --out $(DEMO_DATA)
	@path=$$($(BIN)/reportgen build --area "$(DEMO_AREA)" --data $(DEMO_DATA)) && \
	  echo "Demo profile (synthetic data): $$path"

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest

# What CI runs: style, types, the documentation site and the tests.
check: lint typecheck docs test

lint: $(STAMP)
	$(BIN)/ruff check reportgen tests benchmarks docs/hooks docs/maintainers
	$(BIN)/ruff format --check reportgen tests benchmarks docs/hooks docs/maintainers

typecheck: $(STAMP)
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml) into site/; --strict turns every warning into an error.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

# Writes BENCHMARKS.md; BENCH_ARGS=--quick skips the national build.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

# Wall time of the national run on the demo data: full build, no-op rerun, one-area change.
bench-national: $(STAMP)
	$(BIN)/python -m benchmarks.national_bench --jobs 2

clean:
	rm -rf $(VENV) build dist site *.egg-info output/demo-data
