"""Structured control flow: ``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``, ``map``.

Each traces the user's branch/body functions into sub-jaxprs (abstractly, even
when the operands are concrete: both branches of a ``cond`` are always traced,
as in JAX) and emits one ``control`` meta-operator (primitives/control.py).

Values a branch/body closes over (concrete arrays, or tracers of an enclosing
trace) are *hoisted*: the sub-jaxpr's constvars become leading invars and the
captured values become explicit operands of the equation, so every sub-jaxpr in
the IR is a ``ClosedJaxpr`` without consts.

Sub-jaxprs are *interned* by structure: tracing the same program twice gives
the same ``ClosedJaxpr`` object, so eager calls (one cached executable per
equation, keyed by params) and repeated traces reuse compiled code.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives import control
from primitives.core import ClosedJaxpr, Jaxpr, ShapedArray, Var

from primitives.irutil import intern_jaxpr
from primitives.shape_poly import DimExpr, canonical_dim, is_symbolic

from .. import passes
from ..core import Tracer, bind, where
from ..core.trace import leaf_aval, trace_to_jaxpr
from ..core.pytree import (PyTreeDef, leaf_paths, node_type, tree_flatten, tree_unflatten,
                           treedef_children)
from . import ops as lax
from .shape_poly import dim_as_value

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map"]

_PY_SCALARS = (int, float, complex, bool)


# --- tracing a function into a const-free sub-jaxpr ---------------------------------------------

def _leaf_avals(leaves, what):
    return [leaf_aval(x, f"{what} leaf {i}") for i, x in enumerate(leaves)]


def _trace(fun, args: tuple, avals) -> tuple[ClosedJaxpr, list, PyTreeDef]:
    """Trace ``fun(*args)`` at ``avals`` (one per leaf of ``args``).

    Returns (jaxpr taking ``consts + leaves``, consts, output tree)."""
    _, in_tree = tree_flatten((tuple(args), {}))
    closed, out_tree = trace_to_jaxpr(fun, list(avals), in_tree,
                                      context="the body of a lax control-flow op")
    closed = passes.simplify(closed)
    j = closed.jaxpr
    jaxpr = Jaxpr([], list(j.constvars) + list(j.invars), j.eqns, j.outvars)
    return jaxpr, list(closed.consts), out_tree


def _with_consts(jaxpr: Jaxpr, own: list, merged: list) -> Jaxpr:
    """``jaxpr`` takes ``own`` consts then its arguments; make it take ``merged`` instead
    (``own`` is a subset of ``merged``, by identity)."""
    n = len(own)
    pos = {id(c): i for i, c in enumerate(own)}
    cvars = jaxpr.invars[:n]
    new = [cvars[pos[id(c)]] if id(c) in pos else Var(_aval(c)) for c in merged]
    return Jaxpr([], new + list(jaxpr.invars[n:]), jaxpr.eqns, jaxpr.outvars)


def _aval(x) -> ShapedArray:
    return x.aval


def _merge_consts(*const_lists) -> list:
    out, seen = [], set()
    for cs in const_lists:
        for c in cs:
            if id(c) not in seen:
                seen.add(id(c))
                out.append(c)
    return out


# --- error messages ------------------------------------------------------------------------

def _tree_types(td: PyTreeDef, avals) -> str:
    return str(tree_unflatten(td, [_AvalRepr(a) for a in avals]))


class _AvalRepr:
    def __init__(self, a):
        self.a = a

    def __repr__(self):
        return self.a.str_short() + ("{weak}" if self.a.weak_type else "")


def _check_types(op, what_a, tree_a, avals_a, what_b, tree_b, avals_b, root, elem="output"):
    """TypeError if two pytrees of avals differ in structure, shape or dtype."""
    if tree_a != tree_b:
        raise TypeError(
            f"{op}: {what_a} and {what_b} must have the same pytree structure, got\n"
            f"  {what_a}: {tree_a}\n  {what_b}: {tree_b}{where()}")
    bad = [(p, a, b) for p, a, b in zip(leaf_paths(tree_a, root), avals_a, avals_b)
           if a.shape != b.shape or a.dtype != b.dtype]
    if bad:
        diffs = "\n".join(f"  {elem} {p}: {what_a} gives {a.str_short()}, {what_b} gives "
                          f"{b.str_short()}" for p, a, b in bad)
        raise TypeError(
            f"{op}: {what_a} and {what_b} must have identical types; they differ at\n{diffs}\n"
            f"  {what_a}: {_tree_types(tree_a, avals_a)}\n"
            f"  {what_b}: {_tree_types(tree_b, avals_b)}{where()}")


def _promote_weak(leaves, avals, out_avals):
    """Where an initial carry leaf is weakly typed (a Python scalar) and the body returns
    a strongly typed or different-dtype value of the same shape, retype the initial value
    as the body's output dtype, strongly typed (as JAX does: ``fori_loop(0, 3, lambda i, c:
    c + 0.5, 0)`` is a float32 1.5, not a weak one).  Returns (leaves, avals, changed)."""
    changed = False
    leaves, avals = list(leaves), list(avals)
    for i, (a, b) in enumerate(zip(avals, out_avals)):
        if a.weak_type and a.shape == b.shape and (a.dtype != b.dtype or not b.weak_type):
            if _kind(a.dtype) > _kind(b.dtype):  # would lose information: report it
                continue
            leaves[i] = lax.convert_element_type(leaves[i], b.dtype, weak_type=False)
            avals[i] = ShapedArray(a.shape, b.dtype, False)
            changed = True
    return leaves, avals, changed


def _kind(dt) -> int:
    return 0 if dtypes.is_bool(dt) else 1 if dtypes.is_int(dt) else \
        2 if dtypes.is_float(dt) else 3


# --- cond / switch -----------------------------------------------------------------------------

def _scalar_index(x, what, allow_bool):
    """(aval, kind) of a predicate/index, with clear errors for bad ones."""
    if x is None:
        raise TypeError(f"{what} is None{where()}")
    if isinstance(x, (list, tuple)):
        raise TypeError(f"{what} must be a scalar, got a {type(x).__name__}{where()}")
    t = type(x)
    if t in _PY_SCALARS:
        dt = np.dtype(bool) if t is bool else np.dtype(type(x).__name__ if t is not int
                                                       else "int32")
    else:
        a = getattr(x, "aval", None)
        if a is None:
            if not isinstance(x, (np.ndarray, np.generic)):
                raise TypeError(f"{what} must be a scalar array, got {t.__name__}{where()}")
            a = ShapedArray(np.shape(x), x.dtype)
        if a.shape != ():
            raise TypeError(f"{what} must be a scalar, got an array of shape "
                            f"{a.shape} ({a.str_short()}){where()}")
        dt = a.dtype
    ok = dtypes.is_int(dt) or (allow_bool and dtypes.is_bool(dt))
    if not ok:
        need = "a boolean or integer" if allow_bool else "an integer"
        raise TypeError(f"{what} must be {need} scalar, got dtype {np.dtype(dt).name}; "
                        f"{'compare it explicitly (e.g. x > 0)' if allow_bool else 'convert it'}"
                        f"{where()}")
    return dt


def _to_int32(x):
    t = type(x)
    if t in _PY_SCALARS or isinstance(x, np.generic) or isinstance(x, np.ndarray):
        return np.int32(int(x))
    return lax.convert_element_type(x, np.int32)


def cond(pred, true_fun, false_fun, *operands, operand=None):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one ``cond`` op.

    ``pred`` is a boolean or integer scalar (integer: nonzero is true).  Both branches
    are traced, also when ``pred`` is concrete; their outputs must have the same pytree
    structure, shapes and dtypes."""
    if operand is not None:
        if operands:
            raise TypeError("cond: pass operands positionally or as operand=, not both")
        operands = (operand,)
    for f, n in ((true_fun, "true_fun"), (false_fun, "false_fun")):
        if not callable(f):
            raise TypeError(f"cond: {n} must be callable, got {type(f).__name__}{where()}")
    dt = _scalar_index(pred, "cond: the predicate", allow_bool=True)
    if dtypes.is_bool(dt):
        index = _to_int32(pred)
    else:
        if type(pred) in _PY_SCALARS or isinstance(pred, (np.generic, np.ndarray)):
            index = np.int32(int(pred) != 0)
        else:
            index = lax.convert_element_type(lax.ne(pred, 0), np.int32)
    return _switch(index, (false_fun, true_fun), operands, ("false_fun", "true_fun"), "cond")


def switch(index, branches, *operands, operand=None):
    """``branches[clamp(index, 0, len(branches) - 1)](*operands)``, as one ``cond`` op."""
    if operand is not None:
        if operands:
            raise TypeError("switch: pass operands positionally or as operand=, not both")
        operands = (operand,)
    branches = tuple(branches)
    if not branches:
        raise ValueError("switch: empty branch sequence")
    for i, f in enumerate(branches):
        if not callable(f):
            raise TypeError(f"switch: branches[{i}] must be callable, got "
                            f"{type(f).__name__}{where()}")
    _scalar_index(index, "switch: the index", allow_bool=False)
    if len(branches) == 1:
        return branches[0](*operands)
    return _switch(_to_int32(index), branches, operands,
                   tuple(f"branches[{i}]" for i in range(len(branches))), "switch")


def _switch(index, branches, operands, names, op):
    leaves, _ = tree_flatten(tuple(operands))
    avals = _leaf_avals(leaves, f"{op}: operand")
    traced = [_trace(b, tuple(operands), avals) for b in branches]
    ref = len(branches) - 1 if op == "cond" else 0   # report against true_fun / branch 0
    jr, _, tree_r = traced[ref]
    for i, (j, _, tree) in enumerate(traced):
        if i != ref:
            _check_types(op, names[ref], tree_r, jr.out_avals, names[i], tree, j.out_avals,
                         "out", "output")
    tree0 = tree_r
    consts = _merge_consts(*[c for _, c, _ in traced])
    jaxprs = tuple(intern_jaxpr(_with_consts(j, c, consts)) for j, c, _ in traced)
    outs = bind(control.cond, index, *consts, *leaves, branches=jaxprs)
    return tree_unflatten(tree0, outs)


# --- while_loop / fori_loop --------------------------------------------------------------------

def while_loop(cond_fun, body_fun, init_val, max_steps: int | None = None):
    """``while cond_fun(val): val = body_fun(val)``, as one ``while`` op.

    ``max_steps`` (xform extension): an upper bound on the number of iterations.  The
    loop stops after ``max_steps`` iterations even if ``cond_fun`` still holds, and
    reverse mode (``grad``, ``vjp``) works: it runs the loop in checkpointed segments of
    about ``sqrt(max_steps)`` steps, so memory grows with ``sqrt(max_steps)``, not with
    the step count (see docs/differences.md)."""
    if max_steps is not None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) \
                or max_steps < 0:
            raise TypeError(f"while_loop: max_steps must be None or a non-negative Python "
                            f"int, got {max_steps!r}{where()}")
        max_steps = int(max_steps)
    for f, n in ((cond_fun, "cond_fun"), (body_fun, "body_fun")):
        if not callable(f):
            raise TypeError(f"while_loop: {n} must be callable, got {type(f).__name__}{where()}")
    leaves, tree = tree_flatten(init_val)
    avals = _leaf_avals(leaves, "while_loop: init_val")
    for attempt in range(2):
        carry = tree_unflatten(tree, leaves)
        bj, bconsts, btree = _trace(body_fun, (carry,), avals)
        if attempt == 0 and btree == tree:
            leaves, avals, changed = _promote_weak(leaves, avals, bj.out_avals)
            if changed:
                continue
        _check_types("while_loop", "init_val", tree, avals, "body_fun output", btree,
                     bj.out_avals, "carry", "carry element")
        break
    cj, cconsts, ctree = _trace(cond_fun, (carry,), avals)
    couts = cj.out_avals
    if len(couts) != 1 or couts[0].shape != () or not dtypes.is_bool(couts[0].dtype):
        got = ", ".join(a.str_short() for a in couts) or "nothing"
        raise TypeError(f"while_loop: cond_fun must return a boolean scalar, but it returns "
                        f"{got}{where()}")
    outs = bind(control.while_, *cconsts, *bconsts, *leaves,
                cond_jaxpr=intern_jaxpr(cj), body_jaxpr=intern_jaxpr(bj),
                cond_nconsts=len(cconsts), body_nconsts=len(bconsts), max_steps=max_steps)
    return tree_unflatten(tree, outs)


def _static_int(x):
    """The value of ``x`` when it is known at trace time, else None."""
    if type(x) is int or isinstance(x, np.integer):
        return int(x)
    if type(x) is Tracer:
        x = x.val
        if x is None:
            return None
    a = getattr(x, "aval", None)
    if a is not None and a.shape == () and dtypes.is_int(a.dtype):
        return int(np.asarray(x))
    if isinstance(x, np.ndarray) and x.shape == () and dtypes.is_int(x.dtype):
        return int(x)
    return None


def _fori_checked(out, carry):
    """``body_fun``'s result, checked against the carry in fori_loop's own words (the loop
    is a scan or while over ``(i, val)``, whose message would name neither).  A weakly
    typed ``init_val`` may change dtype (it is promoted, as in JAX); shapes may not."""
    o_leaves, o_tree = tree_flatten(out)
    c_leaves, c_tree = tree_flatten(carry)
    c_avals, o_avals = [lax.aval(x) for x in c_leaves], [lax.aval(x) for x in o_leaves]
    weak_ok = [o if c.weak_type and o.shape == c.shape else c
               for c, o in zip(c_avals, o_avals)] if o_tree == c_tree else c_avals
    _check_types("fori_loop", "init_val", c_tree, weak_ok, "body_fun's result", o_tree,
                 o_avals, "val", elem="leaf")
    return out


def _fori_symbolic(lower, upper, body_fun, init_val):
    """``fori_loop`` whose bounds hold a symbolic dimension (``range(x.shape[0])`` in an
    exported function): a scan of ``upper - lower`` steps, the index a traced int."""
    for x, n in ((lower, "lower"), (upper, "upper")):
        if not isinstance(x, (int, DimExpr)):
            raise TypeError(f"fori_loop: with a symbolic dimension in the bounds, {n} must be "
                            f"an int or a symbolic dimension, got {type(x).__name__}{where()}")

    def step(carry, _):
        i, x = carry
        return (i + 1, _fori_checked(body_fun(i, x), x)), None
    start = lax.convert_element_type(dim_as_value(lower), np.int32)
    (_, out), _ = scan(step, (start, init_val), None, length=upper - lower)
    return out


def fori_loop(lower, upper, body_fun, init_val, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)``.

    A ``scan`` when the trip count is known at trace time (reverse-mode
    differentiable), else a ``while``."""
    if not callable(body_fun):
        raise TypeError(f"fori_loop: body_fun must be callable, got {type(body_fun).__name__}")
    if is_symbolic(lower) or is_symbolic(upper):
        return _fori_symbolic(lower, upper, body_fun, init_val)
    for x, n in ((lower, "lower"), (upper, "upper")):
        _scalar_index(x, f"fori_loop: {n}", allow_bool=False)
    dl, du = _aval_dtype(lower), _aval_dtype(upper)
    dt = dl
    if dl != du:   # as JAX: a weakly typed bound takes the other's signed integer dtype
        wl, wu = _is_weak(lower), _is_weak(upper)
        signed = dtypes.is_int(dl) and not dtypes.is_unsigned(dl) and \
            dtypes.is_int(du) and not dtypes.is_unsigned(du)
        dt = du if signed and wl and not wu else dl if signed and wu and not wl else None
        if dt is None:
            raise TypeError(f"fori_loop: lower and upper must have equal types, got "
                            f"{np.dtype(dl).name} and {np.dtype(du).name}{where()}")
    lo, hi = _static_int(lower), _static_int(upper)
    if lo is not None and hi is not None:
        # a static trip count: a scan whose index starts as a Python int (as in JAX)
        def step(carry, _):
            i, x = carry
            return (i + 1, _fori_checked(body_fun(i, x), x)), None
        (_, out), _ = scan(step, (lo, init_val), None, length=max(hi - lo, 0),
                           unroll=1 if unroll is None or unroll is False else unroll)
        return out
    if unroll is not None and unroll is not False and unroll != 1:
        raise ValueError("fori_loop: unroll needs a trip count known at trace time")

    def cond_fun(carry):
        i, u, _ = carry
        return i < u

    def body(carry):
        i, u, x = carry
        return i + 1, u, _fori_checked(body_fun(i, x), x)
    if dl != dt:
        lower = lax.convert_element_type(lower, dt)
    if du != dt:
        upper = lax.convert_element_type(upper, dt)
    _, _, out = while_loop(cond_fun, body, (lower, upper, init_val))
    return out


def _aval_dtype(x):
    if type(x) is int:
        return dtypes.python_scalar_dtype(x)
    a = getattr(x, "aval", None)
    return a.dtype if a is not None else dtypes.canonicalize(np.asarray(x).dtype)


def _is_weak(x) -> bool:
    return type(x) is int or bool(getattr(getattr(x, "aval", None), "weak_type", False))


# --- scan / map ---------------------------------------------------------------------------------

def scan(f, init, xs=None, length=None, reverse=False, unroll=1, _split_transpose=False):
    """``carry, ys = scan(f, init, xs)``: loop ``carry, y = f(carry, x)`` over the leading
    axis of ``xs`` (a pytree, or None with ``length``), stacking the ``y``s."""
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__}{where()}")
    x_leaves, x_tree = tree_flatten(xs)
    x_avals = _leaf_avals(x_leaves, "scan: xs")
    paths = leaf_paths(x_tree, "xs")
    for p, a in zip(paths, x_avals):
        if a.ndim == 0:
            raise ValueError(f"scan: every leaf of xs needs a leading axis to scan over, but "
                             f"{p} is a scalar ({a.str_short()}){where()}")
    lens = {a.shape[0] for a in x_avals}
    if length is not None:
        try:
            length = canonical_dim(length)
        except TypeError:
            raise TypeError(f"scan: length must be a Python int, got {length!r}{where()}") \
                from None
        if length < 0:
            raise ValueError(f"scan: length must be non-negative, got {length}{where()}")
        lens.add(length)
    if len(lens) > 1:
        listing = ", ".join(f"{p}: {a.shape[0]}" for p, a in zip(paths, x_avals))
        extra = f", length={length}" if length is not None else ""
        raise ValueError(f"scan: the leading dimensions of xs must all equal the scan length, "
                         f"got {listing}{extra}{where()}")
    if not lens:
        raise ValueError(f"scan: with xs=None (no leaves), pass length={where()}")
    length = lens.pop()
    if unroll is True:
        unroll = 1 if is_symbolic(length) else max(length, 1)   # (no full unroll of b steps)
    elif unroll is False or unroll is None:
        unroll = 1
    unroll = max(int(unroll), 1)

    c_leaves, c_tree = tree_flatten(init)
    c_avals = _leaf_avals(c_leaves, "scan: init")
    s_avals = [ShapedArray(a.shape[1:], a.dtype, a.weak_type) for a in x_avals]
    for attempt in range(2):
        carry = tree_unflatten(c_tree, c_leaves)
        jaxpr, consts, out_tree = _trace(f, (carry, xs), list(c_avals) + s_avals)
        if node_type(out_tree) is not tuple or len(out_tree.children()) != 2:
            raise TypeError(f"scan: f must return a pair (carry, y), but it returns "
                            f"{out_tree}{where()}")
        ct, yt = treedef_children(out_tree)
        nc = len(c_avals)
        outs = jaxpr.out_avals
        if attempt == 0 and ct == c_tree:
            c_leaves, c_avals, changed = _promote_weak(c_leaves, c_avals, outs[:nc])
            if changed:
                continue
        _check_types("scan", "init", c_tree, c_avals, "the carry f returns", ct, outs[:nc],
                     "carry", "carry element")
        break
    outs = bind(control.scan, *consts, *c_leaves, *x_leaves, jaxpr=intern_jaxpr(jaxpr),
                length=length, reverse=bool(reverse), num_consts=len(consts),
                num_carry=len(c_leaves), unroll=unroll)
    return tree_unflatten(c_tree, outs[:nc]), tree_unflatten(yt, outs[nc:])


def map(f, xs, batch_size=None):
    """``stack([f(x) for x in xs])`` over the leading axis of the pytree ``xs``."""
    if batch_size is not None:
        raise NotImplementedError("lax.map: batch_size is not supported yet")
    _, ys = scan(lambda c, x: (c, f(x)), None, xs)
    return ys
