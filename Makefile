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

.PHONY: demo test fuzz oracle bench venv clean

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

bench: $(VENV)/.installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info
