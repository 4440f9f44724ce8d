"""The oracle sweep's runner: call every classified name of JAX and of xform on the same
arguments and compare.

Checks, per (name, dtype, case): ``value`` (eager), ``jit``, ``vmap`` (over the packed
points, or a batch of 3), and for float-differentiable classes ``jvp`` (fixed tangents),
``vjp`` (fixed cotangents), ``grad`` and ``grad2`` (grad of grad of ``sum(out * w)``).
Each compares the pytree leaves' shape, dtype, weak type and values (NaN matches NaN;
tolerance `oracle.TOL` per dtype, looser for derivatives).  A mismatch is a `Failure` per
(name, check, dtype, point).  Where JAX itself raises, the point is a "jax_error" (not a
failure); where JAX raises on every case of the value check, the name's class does not
fit it and it counts as unclassified.  xform raising where JAX does not is a failure.

The JAX side runs under `jax.jit` where it can (each check's function is built once per
name and dtype, so the cases of a name share one compile), eagerly otherwise; a derivative
or vmap check that disagrees is compared again with JAX run eagerly, as xform's side is
(XLA's simplifier can turn JAX's jitted ``nan * 0`` into 0).  float64 runs
with x64 turned on at runtime in both libraries (``xform.config.update("jax_enable_x64")``,
`x64`).  The command line runs names in worker processes (sweep_pool.py) so that a check
that hangs is killed after ``--timeout`` seconds instead of stopping the run.

Command line (`make oracle` runs it all, f32 and f64):

    python tests/oracle/sweep_run.py --out /tmp/oracle.txt  # everything; full listing there
    python tests/oracle/sweep_run.py --family nn --dtype f32 --name softplus,sigmoid
    python tests/oracle/sweep_run.py --quick               # the in-suite subset (sweep_quick)
    python tests/oracle/sweep_run.py --quick --known       # KNOWN_FAILURES for today
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XFORM_CHECK_IR", "1")
# xform is imported with tests/ off sys.path: there, tests/xform (a folder of tests, no
# __init__.py) would shadow it as a namespace package (xform is installed in editable mode,
# whose finder comes after the path finder).  Spawned sweep workers start here too.
_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PATH = sys.path[:]
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _TESTS]
import jax  # noqa: E402
import numpy as np  # noqa: E402

import xform  # noqa: E402

sys.path[:] = _PATH
if _TESTS not in sys.path:     # run as a script: make `oracle` importable
    sys.path.insert(1, _TESTS)

from oracle import TOL  # noqa: E402
from oracle import sweep_table  # noqa: E402
from oracle.sweep_cases import CLASSES, Lib  # noqa: E402

CHECKS = ("value", "jit", "vmap", "jvp", "vjp", "grad", "grad2")
DERIV_CHECKS = ("jvp", "vjp", "grad", "grad2")
# tolerance multipliers of oracle.TOL: derivatives a bit looser, second ones looser again
TOL_SCALE = {"value": 1, "jit": 1, "vmap": 1, "jvp": 4, "vjp": 4, "grad": 4, "grad2": 16,
             "grads": 16}
DTYPES = {"f32": np.float32, "f64": np.float64}


@dataclasses.dataclass
class Failure:
    key: str       # family.name
    check: str
    dtype: str
    point: str
    kind: str      # value, shape, dtype, weak_type, structure, type, xform_error
    got: str
    want: str

    def line(self):
        return f"{self.key}: {self.check} {self.dtype} @{self.point}: {self.kind} " \
               f"got {self.got} want {self.want}"


@dataclasses.dataclass
class Report:
    failures: list = dataclasses.field(default_factory=list)
    passed: int = 0
    jax_errors: list = dataclasses.field(default_factory=list)   # (key, check, dtype, point, msg)
    missing: list = dataclasses.field(default_factory=list)      # keys
    unclassified: list = dataclasses.field(default_factory=list)  # (key, why)
    seconds: float = 0.0
    ncases: int = 0          # value-check cases, and those where JAX raised (see finish)
    value_errors: int = 0

    def merge(self, other):
        for f in dataclasses.fields(self):
            if f.name in ("passed", "seconds", "ncases", "value_errors"):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
            else:
                getattr(self, f.name).extend(getattr(other, f.name))

    def failing_keys(self):
        return sorted({f.key for f in self.failures} | set(self.missing))

    def summary(self):
        return (f"{self.passed} passed, {len(self.failures)} failed "
                f"({len({f.key for f in self.failures})} names), {len(self.missing)} missing, "
                f"{len(self.unclassified)} unclassified, {len(self.jax_errors)} jax_error "
                f"in {self.seconds:.0f} s")

    def listing(self, per_name=None, jax_errors=False):
        """Failures grouped by name (at most ``per_name`` lines each), then the missing and
        unclassified names (and with ``jax_errors``, where JAX raised, by name and check)."""
        out = []
        by = collections.defaultdict(list)
        for f in self.failures:
            by[f.key].append(f)
        for key in sorted(by):
            fs = by[key]
            out.append(f"{key}: {len(fs)} failed")
            shown = fs if per_name is None else fs[:per_name]
            out += [f"    {f.check} {f.dtype} @{f.point}: {f.kind} got {f.got} want {f.want}"
                    for f in shown]
            if len(shown) < len(fs):
                out.append(f"    ... {len(fs) - len(shown)} more")
        if self.missing:
            out.append(f"missing ({len(self.missing)}): " + " ".join(sorted(self.missing)))
        if self.unclassified:
            out.append(f"unclassified ({len(self.unclassified)}):")
            out += [f"    {k}: {why}" for k, why in sorted(self.unclassified)]
        if jax_errors and self.jax_errors:
            by_check = collections.Counter((k, c, d, m) for k, c, d, p, m in self.jax_errors)
            out.append(f"jax_error ({len(self.jax_errors)} points where JAX raised or hung; "
                       "not failures):")
            out += [f"    {k}: {c} {d} x{n}: {m}" for (k, c, d, m), n in sorted(by_check.items())]
        return "\n".join(out)


@contextlib.contextmanager
def x64(on):
    """64-bit mode in xform and in JAX, both toggled at runtime (xform.config.update)."""
    old_x, old_j = xform.config.read("jax_enable_x64"), jax.config.jax_enable_x64
    xform.config.update("jax_enable_x64", on)
    jax.config.update("jax_enable_x64", on)
    try:
        yield
    finally:
        xform.config.update("jax_enable_x64", old_x)
        jax.config.update("jax_enable_x64", old_j)


# --- calling one library ------------------------------------------------------------------

def _pattern(shape, dtype, seed):
    """Fixed tangents / cotangents / weights: distinct, non-special, deterministic."""
    n = int(np.prod(shape))
    v = 0.5 + ((np.arange(n) + 1) * (0.6180339 + 0.1 * seed)) % 1.0
    return v.reshape(shape).astype(dtype)


def _short(e):
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg}"[:160]


class Prepared:
    """One case, ready to call in library ``m``: the traced arguments (converted), and
    ``f(dyn)`` that puts them back among the static ones."""

    def __init__(self, spec, case, m):
        self.case, self.m = case, m
        self.dyn_idx = [i for i, a in enumerate(case.args) if isinstance(a, np.ndarray)]
        self.float_pos = [j for j, i in enumerate(self.dyn_idx)
                          if np.issubdtype(case.args[i].dtype, np.floating)]
        self.batched = [j for j, i in enumerate(self.dyn_idx) if i < case.nprimary]
        statics = [a.fn(m) if isinstance(a, Lib) else a for a in case.args]
        kwargs = {k: v.fn(m) if isinstance(v, Lib) else v for k, v in case.kwargs.items()}
        fn = spec.jfn if m is jax else spec.xfn
        if spec.call is not None:
            fn = spec.call(m, fn)
        wrap = CLASSES[spec.cls].wrap
        if wrap is not None:
            fn = wrap(m, fn)
        dyn_idx = self.dyn_idx

        def f(dyn):
            args = list(statics)
            for i, v in zip(dyn_idx, dyn):
                args[i] = v
            return fn(*args, **kwargs)
        self.f = f
        self.dyn = [m.numpy.asarray(case.args[i]) for i in dyn_idx]

    def static_key(self):
        """Cases with equal statics and traced shapes can share one jitted function."""
        c = self.case
        statics = [("dyn", a.shape, str(a.dtype)) if isinstance(a, np.ndarray) else repr(a)
                   for a in c.args]
        return repr((statics, sorted((k, repr(v)) for k, v in c.kwargs.items()), c.nprimary,
                     c.labels is not None))

    def with_diff(self, d, p):
        d = list(d)
        for j, v in zip(self.float_pos, p):
            d[j] = v
        return d

    def scalar(self, d, p):
        """sum(out * w) over the output leaves, with the float arguments replaced by p."""
        leaves = self.m.tree_util.tree_leaves(self.f(self.with_diff(d, p)))
        return sum(self.m.numpy.sum(o * _pattern(o.shape, o.dtype, 1)) for o in leaves)

    # the check functions: each takes the traced arguments as positional arguments
    def fun(self, check, out_like=None):
        m, f, fp = self.m, self.f, self.float_pos
        if check in ("value", "jit"):
            return lambda *d: f(d)
        if check == "vmap":
            axes = tuple(0 if j in self.batched else None for j in range(len(self.dyn)))
            return m.vmap(lambda *d: f(d), in_axes=axes)

        with_diff = self.with_diff

        scalar = self.scalar
        argn = tuple(range(len(fp)))
        if check == "jvp":
            def jvp(*d):
                prim = [d[j] for j in fp]
                tans = [m.numpy.asarray(_pattern(p.shape, p.dtype, 2)) for p in prim]
                return m.jvp(lambda *p: f(with_diff(d, p)), tuple(prim), tuple(tans))
            return jvp
        if check == "vjp":
            def vjp(*d):
                out, pull = m.vjp(lambda *p: f(with_diff(d, p)), *[d[j] for j in fp])
                ct = m.tree_util.tree_map(
                    lambda o: m.numpy.asarray(_pattern(o.shape, o.dtype, 3)), out)
                return pull(ct)
            return vjp
        if check == "grad":
            return lambda *d: m.grad(lambda *p: scalar(d, p), argnums=argn)(*[d[j] for j in fp])
        if check == "grad2":
            def hvp_like(d, p):
                g = m.grad(lambda *q: scalar(d, q), argnums=argn)(*p)
                return sum(m.numpy.sum(gi * _pattern(gi.shape, gi.dtype, 4)) for gi in g)
            return lambda *d: m.grad(lambda *p: hvp_like(d, p), argnums=argn)(
                *[d[j] for j in fp])
        raise ValueError(check)

    def batched_args(self):
        """vmap's arguments: packed points as they are, else a batch of 3 (case, partners)."""
        c = self.case
        if c.labels is not None or not self.batched:
            return self.dyn
        out = list(self.dyn)
        for k, j in enumerate(self.batched):
            i = self.dyn_idx[j]
            out[j] = self.m.numpy.asarray(
                np.stack([c.args[i]] + [p[k] for p in c.partners]))
        return out


# --- comparing ----------------------------------------------------------------------------

def _fmt(v):
    v = np.asarray(v)
    if v.size == 1:
        x = v.reshape(()).item()
        return f"{x:.6g}" if isinstance(x, float) else repr(x)
    return np.array2string(v.ravel()[:6], precision=5, separator=",") + \
        ("..." if v.size > 6 else "")


def _is_array(x):
    return isinstance(x, (jax.Array, xform.Array))


def compare(got, want, tol, labels, case_label):
    """{point: (kind, got, want)} for every point where ``got`` differs from ``want``."""
    everywhere = "all" if labels is not None else case_label
    gl, wl = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    if len(gl) != len(wl):
        return {everywhere: ("structure", f"{len(gl)} leaves", f"{len(wl)} leaves")}
    bad = {}
    for g, w in zip(gl, wl):
        if not _is_array(w):        # a host value (shape, dtype, bool): compare by ==
            ok = (g == w) if not _is_array(g) else False
            try:
                ok = bool(np.all(ok))
            except Exception:
                ok = False
            if not ok:
                bad[everywhere] = ("value", repr(g)[:60], repr(w)[:60])
            continue
        if not isinstance(g, xform.Array):
            bad[everywhere] = ("type", type(g).__name__, "Array")
            continue
        for kind in ("shape", "dtype", "weak_type"):
            if getattr(g, kind) != getattr(w, kind):
                bad.setdefault(everywhere, (kind, str(getattr(g, kind)), str(getattr(w, kind))))
        if g.shape != w.shape:
            continue
        gv, wv = np.asarray(g), np.asarray(w)
        if gv.dtype != wv.dtype:
            gv = gv.astype(wv.dtype) if np.can_cast(gv.dtype, wv.dtype) else gv
        try:
            if np.issubdtype(wv.dtype, np.inexact):
                gv = gv.astype(wv.dtype)
                ok = np.isclose(gv, wv, rtol=tol, atol=tol) | (np.isnan(gv) & np.isnan(wv))
            else:
                ok = gv == wv
        except (TypeError, ValueError):
            ok = np.zeros(wv.shape, bool)
        ok = np.asarray(ok)
        if ok.all():
            continue
        if labels is not None and wv.ndim >= 1 and wv.shape[0] == len(labels):
            for i in np.nonzero(~ok.reshape(len(labels), -1).all(axis=1))[0]:
                bad.setdefault(labels[i], ("value", _fmt(gv[i]), _fmt(wv[i])))
        else:
            idx = np.unravel_index(int(np.argmin(ok.ravel())), ok.shape) if ok.ndim else ()
            where = f"[{','.join(map(str, idx))}]" if idx else ""
            bad.setdefault(everywhere, ("value", where + _fmt(gv[idx]), where + _fmt(wv[idx])))
    return bad


# --- running a name -----------------------------------------------------------------------

def _jax_run(cache, key, prep, check):
    """JAX's answer: under jax.jit when it can (cached per static key), else eagerly."""
    fn = prep.fun(check)
    args = prep.batched_args() if check == "vmap" else prep.dyn
    if check == "value":
        return fn(*args)
    jitted = cache.get(key)
    if jitted is None:
        jitted = cache[key] = jax.jit(fn)
    try:
        return jitted(*args)
    except Exception:
        if check == "jit":
            raise
        return fn(*args)


def _xform_run(cache, key, prep, check):
    args = prep.batched_args() if check == "vmap" else prep.dyn
    if check == "jit":
        jitted = cache.get(key)
        if jitted is None:
            jitted = cache[key] = xform.jit(prep.fun("value"))
        return jitted(*args)
    return prep.fun(check)(*args)


def _against_eager_jax(bad, got, jp, check, tol, case):
    """xform runs a derivative or vmap check eagerly, JAX (for speed) under ``jax.jit``,
    where XLA may rewrite ``nan * 0`` into ``0`` (a select) and so answer differently from
    JAX's own eager run at NaN and inf inputs.  On a mismatch, compare like with like:
    JAX's eager answer decides."""
    args = jp.batched_args() if check == "vmap" else jp.dyn
    try:
        want = jp.fun(check)(*args)
    except Exception:
        return bad
    return compare(got, want, tol, case.labels, case.label)


def _float_out(out):
    leaves = jax.tree_util.tree_leaves(out)
    return bool(leaves) and all(_is_array(o) and np.issubdtype(o.dtype, np.floating)
                                for o in leaves)


def run_spec(spec, dtype="f32", checks=CHECKS, quick=False, on_check=None, on_stage=None):
    """Sweep one name in one dtype (x64 must already be set for f64), check by check;
    ``on_check(check, report)`` gets each check's part, ``on_stage(check, side)`` is called
    before each library call (the worker pool uses both to survive hangs)."""
    rep = Report()
    dt = DTYPES[dtype]
    rs = sweep_table.resolved(spec, dt)
    cases = rs.cases(dt)
    if quick:
        cases = [q for q in (c.quick_case() for c in cases) if q is not None]
    preps = []
    for case in cases:
        jp, xp = Prepared(rs, case, jax), Prepared(rs, case, xform)
        labels = list(case.labels) if case.labels is not None else [case.label]
        preps.append([case, labels, jp, xp, jp.static_key(), None])    # [..., JAX's value]
    jcache, xcache = {}, {}
    for check in checks:
        part = Report()
        for pr in preps:
            case, labels, jp, xp, skey, value = pr
            if check in DERIV_CHECKS:
                try:
                    ok = rs.differentiable and bool(jp.float_pos) and _float_out(
                        value if value is not None else jp.f(jp.dyn))
                except Exception:
                    ok = False
                if not ok:
                    continue
            if check == "vmap" and not jp.batched or check != "value" and rs.cls == "host":
                continue
            if check == "value":
                part.ncases += 1
            try:
                if on_stage:
                    on_stage(check, "jax")
                want = _jax_run(jcache, (check, skey), jp, check)
                jax.block_until_ready(want)
                if check == "value":
                    pr[5] = want
            except Exception as e:
                part.value_errors += check == "value"
                part.jax_errors += [(spec.key, check, dtype, lab, _short(e)) for lab in labels]
                continue
            try:
                if on_stage:
                    on_stage(check, "xform")
                got = _xform_run(xcache, (check, skey), xp, check)
                tol = TOL[np.dtype(dt)] * TOL_SCALE[check]
                bad = compare(got, want, tol, case.labels, case.label)
                if bad and check not in ("value", "jit"):
                    bad = _against_eager_jax(bad, got, jp, check, tol, case)
            except Exception as e:
                bad = {("all" if case.labels is not None else case.label):
                       ("xform_error", _short(e), "a value")}
            if "all" in bad:
                bad = {lab: bad["all"] for lab in labels}
            for lab, (kind, g, w) in bad.items():
                part.failures.append(Failure(spec.key, check, dtype, lab, kind, g, w))
            part.passed += len(labels) - len(bad)
        if on_check:
            on_check(check, part)
        rep.merge(part)
    return rep


def finish(spec, rep):
    """One name's report in one dtype: if JAX raised on every case of the value check, the
    class does not fit the name (unclassified, with JAX's message), else the report."""
    if rep.ncases and rep.value_errors == rep.ncases:
        msgs = sorted({m for k, c, d, p, m in rep.jax_errors if c == "value"})
        return Report(unclassified=[(spec.key, f"class {spec.cls!r}: JAX raises {msgs[0]}")])
    return rep


def _split(specs):
    rep, todo = Report(), []
    for s in specs:
        if s.cls is None:
            rep.unclassified.append((s.key, s.why))
        elif s.xfn is None:
            rep.missing.append(s.key)
        else:
            todo.append(s)
    return rep, todo


def run(specs, dtypes=("f32", "f64"), checks=CHECKS, quick=False, progress=None, jobs=0,
        timeout=120):
    """Sweep ``specs``: in this process (``jobs=0``), or in ``jobs`` worker processes that
    are killed and replaced when one check of a name runs past ``timeout`` seconds (a hang
    in JAX is a jax_error, in xform a failure)."""
    t0 = time.perf_counter()
    rep, todo = _split(specs)
    if jobs:
        from oracle import sweep_pool
        rep.merge(sweep_pool.run_pool(todo, dtypes, checks, quick, jobs, timeout, progress))
    else:
        for dtype in dtypes:
            with x64(dtype == "f64"):
                for s in todo:
                    t1 = time.perf_counter()
                    try:
                        r = finish(s, run_spec(s, dtype, checks, quick))
                    except Exception as e:     # the sweep's own bug: say so, go on
                        r = Report(unclassified=[(s.key, f"sweep error: {_short(e)}")])
                    if progress:
                        progress(s, dtype, r, time.perf_counter() - t1)
                    rep.merge(r)
    # a name unclassified in both dtypes is listed once
    rep.unclassified = sorted(dict(rep.unclassified).items())
    rep.seconds = time.perf_counter() - t0
    return rep


def known_failures_source(rep):
    """The body of sweep_table.KNOWN_FAILURES for a report: one line per failing name (its
    first failure as the reason), "family.*" for a module xform lacks entirely."""
    by = collections.defaultdict(list)
    for f in rep.failures:
        by[f.key].append(f)
    whole = set()
    fams = collections.defaultdict(list)
    for s in sweep_table.specs():
        fams[s.family.split(".")[0] + "." + s.family.split(".")[1]
             if s.family.startswith("scipy.") else s.family].append(s)
    for fam, ss in fams.items():
        if all(s.xfn is None for s in ss) and any(s.key in rep.missing for s in ss):
            whole.add(fam)
    lines = [f'    "{fam}.*": "xform.{fam} does not exist",' for fam in sorted(whole)]
    for key in sorted(set(by) | set(rep.missing)):
        if any(key.startswith(fam + ".") for fam in whole):
            continue
        if key in by:
            f = by[key][0]
            more = f" (+{len(by[key]) - 1})" if len(by[key]) > 1 else ""
            why = f"{f.check} @{f.point}: " + (f"raises {f.got}" if f.kind == "xform_error"
                                              else f"{f.kind} {f.got}, JAX {f.want}")
            why = (why.split(" (at ")[0][:72] + more).replace('"', "'")
        else:
            why = "missing in xform"
        lines.append(f'    "{key}": "{why}",')
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", help="comma-separated families (numpy, nn, lax, ...)")
    ap.add_argument("--name", help="comma-separated names (sin, softplus, ...)")
    ap.add_argument("--dtype", default="f32,f64")
    ap.add_argument("--checks", default=",".join(CHECKS))
    ap.add_argument("--quick", action="store_true", help="the in-suite subset (grouped jit)")
    ap.add_argument("--per-name", type=int, default=8, help="failure lines shown per name")
    ap.add_argument("--out", help="write the full failure listing here")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per name")
    ap.add_argument("--jobs", type=int, default=1,
                    help="worker processes (0: run in this process, with no hang timeout)")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds one check of one name may take before its worker is killed")
    ap.add_argument("--known", action="store_true",
                    help="with --quick: print sweep_table.KNOWN_FAILURES for today's failures")
    a = ap.parse_args(argv)
    from oracle import sweep_quick
    fams = a.family.split(",") if a.family else None
    specs = sweep_table.specs(fams)
    if a.name:
        names = set(a.name.split(","))
        specs = [s for s in specs if s.name in names or s.key in names]
    dtypes = a.dtype.split(",")

    def progress(s, dtype, r, secs):
        if a.verbose:
            print(f"{s.key} {dtype}: {r.passed} passed, {len(r.failures)} failed "
                  f"({secs:.1f} s)", flush=True)
    if a.quick:
        rep = Report()
        for dtype in dtypes:
            rep.merge(sweep_quick.run_quick_grouped(
                specs, dtype, tuple(a.checks.split(",")) if a.checks != ",".join(CHECKS)
                else sweep_quick.QUICK_CHECKS))
        rep.missing = sorted(set(rep.missing))
        rep.unclassified = sorted(dict(rep.unclassified).items())
    else:
        rep = run(specs, dtypes, tuple(a.checks.split(",")), progress=progress, jobs=a.jobs,
                  timeout=a.timeout)
    if a.known:
        print(known_failures_source(rep))
        return 0
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(rep.listing(jax_errors=True) + "\n" + rep.summary() + "\n")
    print(rep.listing(a.per_name))
    print(rep.summary())
    return 1 if rep.failures or rep.missing else 0


if __name__ == "__main__":
    from oracle import sweep_run as _self      # one copy of the module (workers pickle its types)
    sys.exit(_self.main())
