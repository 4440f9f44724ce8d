"""The oracle sweep in the suite: a bounded, derandomized subset of `sweep_run` (every
classified name of each family, its quick points {0, 1, tie}, float32, under `jit`, many
names per jitted program) must match JAX except for the names in
`sweep_table.KNOWN_FAILURES`; every listed name must still fail (a fixed one is removed
from the list); and a bug planted in xform is reported.  `make oracle` runs the full sweep.
"""
import pytest

import xform

from oracle import sweep_quick, sweep_run, sweep_table

_REPORTS = {}


def _quick(group):
    """The in-suite subset of one group of families (computed once per process)."""
    if group not in _REPORTS:
        specs = [s for s in sweep_table.specs(sweep_table.GROUPS[group])
                 if sweep_table.in_suite(s)]
        _REPORTS[group] = sweep_quick.run_quick_grouped(specs, "f32")
    return _REPORTS[group]


def _known(key):
    if key in sweep_table.KNOWN_FAILURES:
        return True
    return any(k.endswith(".*") and key.startswith(k[:-1])
               for k in sweep_table.KNOWN_FAILURES)


def _group_keys(group):
    return [k for k in sweep_table.KNOWN_FAILURES
            if sweep_table.group_of(k[:-2] if k.endswith(".*") else k.rsplit(".", 1)[0])
            == group]


@pytest.mark.parametrize("group", list(sweep_table.GROUPS))
def test_quick_sweep_matches_jax(group):
    rep = _quick(group)
    new = [f for f in rep.failures if not _known(f.key)]
    missing = [k for k in rep.missing if not _known(k)]
    lines = [f.line() for f in new] + [f"{k}: missing in xform" for k in missing]
    assert not lines, ("xform differs from JAX (fix it, or list the name in "
                       "sweep_table.KNOWN_FAILURES with a reason):\n  " + "\n  ".join(lines))


@pytest.mark.parametrize("group", list(sweep_table.GROUPS))
def test_known_failures_still_fail(group):
    """A listed name that now passes must leave KNOWN_FAILURES; a "family.*" entry (a
    module xform lacks) goes stale as soon as any name of it exists."""
    rep = _quick(group)
    failing = set(rep.failing_keys())
    stale = []
    for key in _group_keys(group):
        if key.endswith(".*"):
            fam = key[:-2]
            names = [s for s in sweep_table.specs([fam])]
            if any(s.xfn is not None for s in names):
                stale.append(f"{key}: xform has part of {fam} now; list its names one by one")
        elif key not in failing:
            stale.append(f"{key}: passes now")
    assert not stale, "stale KNOWN_FAILURES entries (remove them):\n  " + "\n  ".join(stale)


def test_known_failures_name_real_names():
    keys = {s.key for s in sweep_table.specs()}
    fams = {s.family for s in sweep_table.specs()}
    bad = [k for k in sweep_table.KNOWN_FAILURES
           if (k[:-2] not in fams if k.endswith(".*") else k not in keys)]
    assert not bad, bad


def test_every_name_is_classified_or_says_why():
    for s in sweep_table.specs():
        assert s.cls is not None or s.why, s.key


def test_sweep_reports_a_planted_bug(monkeypatch):
    """The sweep can fail: with xform.numpy.sin replaced by cos, both the full checks and
    the in-suite subset report numpy.sin (and only it)."""
    monkeypatch.setattr(xform.numpy, "sin", xform.numpy.cos)
    specs = [s for s in sweep_table.specs(["numpy"]) if s.name in ("sin", "cos")]
    rep = sweep_run.run(specs, ("f32",), ("value", "jit", "vmap", "grad"), quick=True)
    got = {(f.key, f.check, f.point) for f in rep.failures}
    for check in ("value", "jit", "vmap", "grad"):
        assert ("numpy.sin", check, "0") in got, (check, sorted(got))
    assert all(key == "numpy.sin" for key, _, _ in got), sorted(got)
    rep = sweep_quick.run_quick_grouped(specs, "f32")
    assert rep.failing_keys() == ["numpy.sin"], rep.listing()
    assert rep.passed > 0


def test_sweep_reports_a_wrong_derivative(monkeypatch):
    """A derivative-only bug (right values, wrong gradient) is reported by grad/grad2/jvp/vjp
    and not by value/jit."""
    real = xform.numpy.tanh

    @xform.custom_jvp
    def bad_tanh(x):
        return real(x)

    @bad_tanh.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return real(x), t * 2.0      # wrong: should be (1 - tanh(x)**2) * t

    monkeypatch.setattr(xform.numpy, "tanh", bad_tanh)
    specs = [s for s in sweep_table.specs(["numpy"]) if s.name == "tanh"]
    rep = sweep_run.run(specs, ("f32",), sweep_run.CHECKS, quick=True)
    checks = {f.check for f in rep.failures}
    assert {"jvp", "vjp", "grad"} <= checks and not {"value", "jit"} & checks, rep.listing()
