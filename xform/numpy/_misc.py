"""Comparisons of whole arrays (``isclose``, ``allclose``, ``array_equal``), ``gcd``/``lcm``
(elementwise, but their loop stops on a reduction, so they sit above _reductions), the
functional helpers (``vectorize``, ``apply_along_axis``, ``apply_over_axes``,
``piecewise``), and printing."""
from __future__ import annotations

import builtins
import functools
import re

import numpy as _onp

from primitives import dtypes as _dt

from .. import lax
from ..api import vmap
from ..core import where as _where_msg
from ._core import (asarray, broadcast_arrays_for, broadcast_shapes, canonicalize_axis,
                    promote_dtypes, promote_dtypes_inexact, typeinfo)
from ._shape import broadcast_arrays, broadcast_to, expand_dims
from ._creation import ones_like, zeros_like
from ._ufuncs import (abs, equal, floor_divide, isfinite, isnan, less_equal, logical_and,
                      logical_or, multiply, not_equal, remainder, _to_bool)
from ._reductions import all, any
from ._selection import where

__all__ = ["gcd", "lcm", "allclose", "isclose", "array_equal", "array_equiv", "piecewise",
           "apply_along_axis", "apply_over_axes", "vectorize", "get_printoptions", "printoptions",
           "iterable", "array_repr", "array_str", "set_printoptions", "save", "savez", "load"]


def _integers(name, x1, x2):
    x1, x2 = promote_dtypes(x1, x2)
    if not _dt.is_int(typeinfo(x1)[0]):
        raise ValueError(f"arguments to {name} must be integers, got {typeinfo(x1)[0]}"
                         f"{_where_msg()}")
    return broadcast_arrays_for(name, x1, x2)


def gcd(x1, x2):
    x1, x2 = _integers("gcd", x1, x2)

    def euclid_step(ab):
        a, b = ab
        nz = not_equal(b, 0)
        safe_b = where(nz, b, ones_like(b))
        return where(nz, b, a), where(nz, remainder(a, safe_b), b)

    # a loop, not an unrolled chain: unrolling enough steps for the bit width made
    # programs of ~1,000 equations that XLA took seconds to compile
    init = broadcast_arrays(asarray(abs(x1)), asarray(abs(x2)))  # the carry's fixed type
    a, _ = lax.while_loop(lambda ab: any(not_equal(ab[1], 0)), euclid_step, tuple(init))
    dt, weak = typeinfo(x1)
    return lax.convert_element_type(a, dt, weak_type=True) if weak else a


def lcm(x1, x2):
    x1, x2 = _integers("lcm", x1, x2)
    g = gcd(x1, x2)
    safe = where(equal(g, 0), ones_like(g), g)
    return where(equal(g, 0), zeros_like(g), abs(multiply(floor_divide(x1, safe), x2)))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return all(isclose(a, b, rtol, atol, equal_nan))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = broadcast_arrays_for("isclose", *promote_dtypes_inexact(a, b))
    a, b = asarray(a), asarray(b)
    # within tolerance of a finite b, or equal (infinities of the same sign); as NumPy, an
    # infinite b is close only to itself (|1 - inf| <= inf would say otherwise)
    close = logical_and(isfinite(b), less_equal(abs(a - b), atol + rtol * abs(b)))
    close = logical_or(close, equal(a, b))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def array_equal(a1, a2, equal_nan=False):
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all(eq)


def array_equiv(a1, a2):
    try:
        return all(equal(a1, a2))
    except TypeError:
        return asarray(False)


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x)`` where ``condlist[i]`` holds (the last one wins); one extra
    function is the default for where none holds."""
    x = asarray(x)
    if not isinstance(condlist, (list, tuple)) and asarray(condlist).ndim == x.ndim:
        condlist = [condlist]  # one condition for the whole array
    conds = [broadcast_to(_to_bool(asarray(c)), x.shape) for c in condlist]
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        funclist = [funclist[-1]] + list(funclist[:-1])
    elif nf == nc:
        funclist = [0] + list(funclist)   # the default where no condition holds
    else:
        raise ValueError(f"piecewise: with {nc} conditions, funclist must have {nc} or "
                         f"{nc + 1} functions, got {nf}")
    index = zeros_like(x, dtype=_dt.int32)     # the last condition that holds wins
    for i, c in enumerate(conds):
        index = where(c, i + 1, index)

    def branch(f):
        if callable(f):
            return lambda v: asarray(f(v, *args, **kw)).astype(x.dtype)
        return lambda v: asarray(f, x.dtype)
    # as JAX: a switch per element, so each function runs on scalars and only the chosen
    # one is differentiated (under vmap, over arrays, the switch becomes a select)
    return vectorize(lax.switch, excluded=(1,))(index, [branch(f) for f in funclist], x)


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    arr = asarray(arr)
    ax = canonicalize_axis(axis, arr.ndim, "apply_along_axis")
    fn = lambda v: func1d(v, *args, **kwargs)  # noqa: E731
    for _ in builtins.range(ax):
        fn = vmap(fn, in_axes=0, out_axes=0)
    for _ in builtins.range(arr.ndim - ax - 1):
        fn = vmap(fn, in_axes=-1, out_axes=-1)
    return asarray(fn(arr))


def apply_over_axes(func, a, axes):
    a = asarray(a)
    for ax in [axes] if isinstance(axes, int) else axes:
        res = asarray(func(a, ax))
        a = res if res.ndim == a.ndim else expand_dims(res, ax) \
            if res.ndim == a.ndim - 1 else _bad_apply(res, a)
    return a


def _bad_apply(res, a):
    raise ValueError(f"apply_over_axes: func returned shape {res.shape}, which is neither the "
                     f"input's rank ({a.ndim}) nor one less")


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """``pyfunc`` mapped over the broadcast leading dimensions of its arguments with
    ``vmap``; ``signature`` ("(n),(n)->()") names core dimensions left to ``pyfunc``."""
    in_cores, out_cores = _parse_signature(signature) if signature else (None, None)

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        dyn = [i for i in builtins.range(len(args)) if i not in excluded]
        excluded_kw = {k: v for k, v in kwargs.items() if k in excluded}
        dyn_kw = {k: v for k, v in kwargs.items() if k not in excluded}
        if dyn_kw:
            raise NotImplementedError("vectorize: pass mapped arguments positionally")
        vals = [asarray(args[i]) for i in dyn]
        cores = in_cores or [()] * len(vals)
        if len(cores) != len(vals):
            raise TypeError(f"vectorize: signature has {len(cores)} inputs, got {len(vals)}")
        loop_shapes = [v.shape[:v.ndim - len(c)] for v, c in zip(vals, cores)]
        loop = broadcast_shapes(*loop_shapes, op="vectorize")
        vals = [broadcast_to(v, loop + v.shape[v.ndim - len(c):]) for v, c in zip(vals, cores)]

        def call(*dyn_vals):
            full = list(args)
            for i, v in zip(dyn, dyn_vals):
                full[i] = v
            return pyfunc(*full, **excluded_kw)
        fn = call
        for _ in loop:
            fn = vmap(fn)
        return fn(*vals)
    return wrapped


def _parse_signature(signature):
    m = re.fullmatch(r"\s*(.*?)\s*->\s*(.*?)\s*", signature)
    if not m:
        raise ValueError(f"vectorize: not a valid signature: {signature!r}")

    def groups(s):
        return [tuple(d.strip() for d in g.split(",") if d.strip())
                for g in re.findall(r"\(([^)]*)\)", s)]
    return groups(m.group(1)), groups(m.group(2))


def get_printoptions():
    return _onp.get_printoptions()


printoptions = _onp.printoptions
set_printoptions = _onp.set_printoptions
# NumPy's own writers, as in jax.numpy (they take any array through __array__)
save, savez = _onp.save, _onp.savez


def load(file, *args, **kwargs):
    """``numpy.load``, with a ``.npy`` array returned as an xform Array and ``bfloat16``
    restored (NumPy writes it as 2-byte void); ``.npz`` archives stay NumPy's."""
    try:
        out = _onp.load(file, *args, **kwargs)
    except OSError as e:   # a missing or unreadable file: say where the user asked for it
        e.add_note(f"(xform.numpy.load{_where_msg()})")
        raise
    if isinstance(out, _onp.ndarray):
        if out.dtype == _onp.dtype("V2"):
            out = out.view(_dt.bfloat16)
        try:
            return asarray(out)
        except (TypeError, ValueError):   # an object array, a structured dtype: NumPy's
            return out
    return out


iterable = _onp.iterable


def array_repr(arr, max_line_width=None, precision=None, suppress_small=None):
    return _onp.array_repr(_onp.asarray(arr), max_line_width, precision, suppress_small)


def array_str(a, max_line_width=None, precision=None, suppress_small=None):
    return _onp.array_str(_onp.asarray(a), max_line_width, precision, suppress_small)
