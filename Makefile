# SkyMesh: `make demo` and `make test` each work on a fresh machine on their own.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SHARED_DATA ?= $(abspath $(CURDIR)/../shared/data)
# Export the curated reference data only when it is there; without it the tests that need it skip.
ifneq ($(wildcard $(SHARED_DATA)),)
export SKYMESH_DATA ?= $(SHARED_DATA)
endif

.PHONY: demo test bench fuzz examples docs lint shell clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/skymesh constellations
	$(VENV)/bin/skymesh visible "London, GB" --at 2026-01-01T00:00:00Z --constellation starlink-shell1 --limit 8
	$(VENV)/bin/skymesh latency Paris Luanda --constellation starlink-shell1 \
		--start 2026-01-01T00:00:00Z --duration 600 --step 1 --mode isl
	$(VENV)/bin/skymesh scenarios
	$(VENV)/bin/skymesh run iran-2022 --out results/iran-2022 --force
	@echo "report: results/iran-2022/report.md (figures in results/iran-2022/figures/)"

test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 -q

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench_routing.py
	$(PY) benchmarks/bench_anchor.py
	$(PY) benchmarks/bench_propagation.py
	$(PY) benchmarks/bench_visibility.py
	$(PY) benchmarks/bench_allocation.py
	$(PY) benchmarks/bench_assignment.py
	$(PY) benchmarks/bench_iran.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/compare_hypatia.py
	$(PY) benchmarks/bench_access.py
	$(PY) benchmarks/bench_service.py
	$(PY) benchmarks/bench_scaling.py
	$(PY) benchmarks/bench_packets.py --hypatia

# A longer Hypothesis campaign over the parsers and the CLI (tests/fuzz, profile "fuzz"):
# prints cases tried / accepted / rejected cleanly / bad per parser, also in build/fuzz-counts.json.
# SKYMESH_FUZZ_FACTOR=N scales it (25 = the default campaign, about 10 minutes on 2 cores).
fuzz: $(VENV)/.installed-test
	SKYMESH_FUZZ_PROFILE=fuzz SKYMESH_FUZZ_REPORT=build/fuzz-counts.json \
		$(PY) -m pytest tests/fuzz -q -p no:xdist -p no:cacheprovider
	# the operations service's OpenAPI schema (schemathesis): no input may give a 5xx
	SKYMESH_SERVICE_FUZZ_EXAMPLES=100 $(PY) -m pytest tests/service/test_api_fuzz.py -q -p no:xdist

# The worked examples (examples/*.py, percent-format scripts), each writing its figures
# under build/examples/NAME; each is bounded to well under a minute.
examples: $(VENV)/.installed-test
	@for f in examples/*.py; do \
		n=$$(basename $$f .py); echo "== $$f"; mkdir -p build/examples/$$n; \
		$(PY) $$f --out build/examples/$$n > build/examples/$$n/output.txt \
			|| { cat build/examples/$$n/output.txt; exit 1; }; \
		cat build/examples/$$n/output.txt; \
	done

$(VENV)/.installed-docs: $(VENV)/.installed-test pyproject.toml
	$(PY) -m pip install -e '.[docs]'
	touch $@

# The documentation site, offline, into site/: the examples' figures (make examples), the
# quick validation table, then mkdocs in strict mode (a warning or broken reference fails).
docs: $(VENV)/.installed-docs examples
	mkdir -p build/docs
	-$(VENV)/bin/skymesh validate --quick --md build/docs/validation.md --force
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

$(VENV)/.installed-lint: $(VENV)/.installed-test pyproject.toml
	$(PY) -m pip install -e '.[lint]'
	touch $@

# ruff (rules E, F, W, I; line length 100) and mypy over skymesh/ ([tool.ruff], [tool.mypy]
# in pyproject.toml; skymesh.api is checked with disallow_untyped_defs). Reports; not in
# `make test` until the existing findings are fixed.
lint: $(VENV)/.installed-lint
	-$(VENV)/bin/ruff check --statistics skymesh tests examples benchmarks docs
	-$(VENV)/bin/ruff format --check --quiet skymesh tests examples benchmarks docs
	$(VENV)/bin/ruff check skymesh/api.py tests/test_api.py tests/test_api_doctests.py \
		tests/test_examples.py examples docs/hooks.py
	-$(VENV)/bin/mypy
	$(VENV)/bin/mypy --follow-imports=silent skymesh/api.py

# A shell with the environment activated, so `skymesh ...` runs as the README shows
# (the same as `source .venv/bin/activate`).
shell: $(VENV)/.installed
	@echo "SkyMesh environment active; 'exit' leaves it."
	@VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH $${SHELL:-/bin/sh} -i

clean:
	rm -rf $(VENV) build site *.egg-info
