"""The oracle sweep's in-suite subset (test_sweep.py; `sweep_run.py --quick`): each name's
quick cases (points {0, 1, tie}) under `jit`, and for differentiable elementwise names
`jit(grad)` and `jit(grad(grad))`, with many names per jitted program: one compile per chunk
of names and library instead of one per name, which keeps the whole subset near 30 s."""
import time

import jax
import numpy as np

import xform

from oracle import TOL, sweep_table
from oracle.sweep_run import (DTYPES, TOL_SCALE, Failure, Prepared, Report, _jax_run,
                              _pattern, _short, _xform_run, compare, x64)

QUICK_CHECKS = ("jit", "grads")
# the classes whose derivatives the in-suite subset checks (cheap: elementwise, packed)
QUICK_DERIV_CLASSES = ("unary", "binary", "ternary", "quaternary")


def run_quick_grouped(specs, dtype="f32", checks=QUICK_CHECKS, chunk=24):
    """The in-suite subset: each name's quick cases under ``jit``, and for the
    differentiable elementwise ones ("grads") ``jit`` of ``grad`` and of ``grad(grad)`` of
    ``sum(out * w)`` (one program: the inner gradient is the outer one's aux output), many
    names per jitted program (one compile per chunk and library); a chunk that raises is
    split until the names that raise are alone."""
    rep = Report()
    t0 = time.perf_counter()
    dt = DTYPES[dtype]
    items = []
    for s in specs:
        if s.cls is None:
            rep.unclassified.append((s.key, s.why))
            continue
        if s.xfn is None:
            rep.missing.append(s.key)
            continue
        if s.key in sweep_table.SUITE_SKIP:
            continue
        items.append(s)
    with x64(dtype == "f64"):     # (arrays are made in the mode they are used in)
        specs, items = items, []
        for s in specs:
            rs = sweep_table.resolved(s, dt)
            for c in rs.cases(dt):
                q = c.quick_case()
                if q is not None:
                    items.append(_Item(rs, Prepared(rs, q, jax), Prepared(rs, q, xform)))
        host = [it for it in items if it.spec.cls == "host"]
        for it in host:       # host helpers: their value only, no jit
            _compare_into(rep, it, "value", dtype, dt, *_both(it, "value"))
        items = [it for it in items if it.spec.cls != "host"]
        for check in checks:
            todo = items if check == "jit" else [
                it for it in items if it.deriv_ok and it.spec.cls in QUICK_DERIV_CLASSES]
            for i in range(0, len(todo), chunk):
                _grouped(todo[i:i + chunk], check, dtype, dt, rep)
    rep.seconds = time.perf_counter() - t0
    return rep


class _Item:
    def __init__(self, spec, jp, xp):
        self.spec, self.jp, self.xp = spec, jp, xp
        self.deriv_ok = False     # set from JAX's jit output: float outputs, float inputs


def _both(it, check):
    try:
        want = _jax_run({}, None, it.jp, check)
    except Exception as e:
        return e, None
    try:
        return want, _xform_run({}, None, it.xp, check)
    except Exception as e:
        return want, e


def _compare_into(rep, it, check, dtype, dt, want, got):
    c = it.jp.case
    labels = list(c.labels) if c.labels is not None else [c.label]
    if isinstance(want, Exception):
        for name in (("grad", "grad2") if check == "grads" else (check,)):
            rep.jax_errors += [(it.spec.key, name, dtype, lab, _short(want)) for lab in labels]
        return
    if isinstance(got, Exception) and check == "grads":
        for name in ("grad", "grad2"):
            _compare_into(rep, it, name, dtype, dt, want, got)
        return
    if isinstance(got, Exception):
        bad = {lab: ("xform_error", _short(got), "a value") for lab in labels}
    else:
        bad = compare(got, want, TOL[np.dtype(dt)] * TOL_SCALE[check], c.labels, c.label)
        if "all" in bad:
            bad = {lab: bad["all"] for lab in labels}
    for lab, (kind, gs, ws) in bad.items():
        rep.failures.append(Failure(it.spec.key, check, dtype, lab, kind, gs, ws))
    rep.passed += len(labels) - len(bad)


def _program(items, check, side):
    """One function of every item's traced arguments: the items' outputs (jit), or the
    gradients of the sum of their scalarized outputs (grad, grad2)."""
    m = jax if side == "jp" else xform
    preps = [getattr(it, side) for it in items]
    if check == "jit":
        return lambda dyns: [p.f(d) for p, d in zip(preps, dyns)]

    def total(dyns, ps):
        return sum(p.scalar(d, q) for p, d, q in zip(preps, dyns, ps))

    def prog(dyns):
        ps = [[d[j] for j in p.float_pos] for p, d in zip(preps, dyns)]
        if check == "grad":
            return m.grad(lambda q: total(dyns, q))(ps)

        def h(q):
            g = m.grad(lambda r: total(dyns, r))(q)
            return sum(m.numpy.sum(gi * _pattern(gi.shape, gi.dtype, 4))
                       for gl in g for gi in gl), g
        g2, g1 = m.grad(h, has_aux=True)(ps)
        return list(zip(g1, g2)) if check == "grads" else g2
    return prog


def _float_struct(out):
    leaves = jax.tree_util.tree_leaves(out)
    return bool(leaves) and all(np.issubdtype(o.dtype, np.floating) for o in leaves)


def _grouped(items, check, dtype, dt, rep):
    """Trace each item alone in both libraries (eval_shape: cheap, no compile) and report
    those that raise; compile the rest together, halving a group whose run raises."""
    good = []
    for it in items:
        try:
            shape = jax.eval_shape(_program([it], check, "jp"), [it.jp.dyn])[0]
        except Exception as e:
            _compare_into(rep, it, check, dtype, dt, e, None)
            continue
        if check == "jit":
            it.deriv_ok = it.spec.differentiable and bool(it.jp.float_pos) and \
                _float_struct(shape)
        try:
            xform.eval_shape(_program([it], check, "xp"), [it.xp.dyn])
        except Exception as e:
            _compare_into(rep, it, check, dtype, dt, None, e)
            continue
        good.append(it)
    if good:
        _compiled(good, check, dtype, dt, rep)


def _compiled(items, check, dtype, dt, rep):
    def split():
        h = len(items) // 2
        _compiled(items[:h], check, dtype, dt, rep)
        _compiled(items[h:], check, dtype, dt, rep)
    try:
        want = jax.jit(_program(items, check, "jp"))([it.jp.dyn for it in items])
        jax.block_until_ready(want)
    except Exception as e:
        if len(items) > 1:
            return split()
        return _compare_into(rep, items[0], check, dtype, dt, e, None)
    try:
        got = xform.jit(_program(items, check, "xp"))([it.xp.dyn for it in items])
    except Exception as e:
        if len(items) > 1:
            return split()
        got = [e]
    for it, g, w in zip(items, got, want):
        if check == "grads":      # (grad, grad2) per item
            for k, name in enumerate(("grad", "grad2")):
                _compare_into(rep, it, name, dtype, dt, w[k],
                              g if isinstance(g, Exception) else g[k])
        else:
            _compare_into(rep, it, check, dtype, dt, w, g)
