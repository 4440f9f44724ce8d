# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# pytest processes: the suite is XLA-compile bound, so one per core (CI has 2)
TEST_WORKERS ?= 2

# `make fuzz N=5000 [SEED=0]`: the differential fuzzer against JAX over N seeds (tests/fuzz;
# `make test` runs a bounded, fixed set); a failing seed prints its standalone reproducer
N ?= 1000
SEED ?= 0
# `make oracle [ORACLE_ARGS="--family nn --dtype f32 --jobs 2"]`: the table-driven sweep of every
# public name of jax.numpy/nn/scipy/lax/random against xform (tests/oracle; `make test` runs a
# bounded subset); prints the failures per name, then `N passed, M failed` and the counts of
# names xform lacks (missing) and the sweep cannot call (unclassified)
ORACLE_ARGS ?=
# `make array-api [ARRAY_API_MODULE=jax.numpy]`: the array API standard's conformance suite
# (vendored: third_party/array-api-tests) against xform.numpy with the settings of JAX's
# tally in issue 17 (x64 on, 10 examples, seed 0); prints the failures, then the tally.
# `make test` runs a bounded part (tests/xform/interop/test_array_api_conformance.py).
ARRAY_API_MODULE ?= xform.numpy

.PHONY: demo test fuzz oracle array-api bench venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e ".[test]"
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) examples/quickstart.py

test: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile tests

fuzz: $(VENV)/.installed-test
	FUZZ_N=$(N) FUZZ_SEED=$(SEED) $(PY) -m pytest -n $(TEST_WORKERS) --dist load \
		tests/fuzz/test_fuzz.py -k test_random_program_matches_jax

oracle: $(VENV)/.installed-test
	$(PY) tests/oracle/sweep_run.py $(ORACLE_ARGS)

array-api: $(VENV)/.installed-test
	cd third_party/array-api-tests && ARRAY_API_TESTS_MODULE=$(ARRAY_API_MODULE) JAX_ENABLE_X64=1 \
		$(CURDIR)/$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) -q -rfE \
		--max-examples=10 --hypothesis-seed=0 array_api_tests

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info
