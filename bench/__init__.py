"""xform vs JAX benchmarks: ``python -m bench [-k substring] [--quick] [--json PATH]``.

Add a benchmark by adding a ``bench/bench_<topic>.py`` module that uses
:func:`bench.harness.benchmark`; ``python -m bench`` discovers it.
"""
from .harness import Case, Measurement, Pair, Stats, benchmark, block  # noqa: F401
