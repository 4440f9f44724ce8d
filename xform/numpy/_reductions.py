"""Reductions: ``sum``/``prod``/``max``/``min``/``any``/``all`` with ``where=`` and
``initial=``, ``mean``/``var``/``std``/``average``, arg-reductions, cumulative sums and
products, and the NaN-ignoring versions of all of these.  Selects here use ``_where``
of _ufuncs: the public ``where`` is above, in _selection."""
from __future__ import annotations

import builtins
import math

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import bool_, uint32, uint64
from primitives.shape_poly import is_symbolic

from .. import lax
from ..core import where as _where_msg
from ..core.trace import named
from ._core import asarray, astype, canonicalize_axes, canonicalize_axis, promote_dtypes_inexact
from ._shape import broadcast_to, expand_dims, ravel, reshape
from ._creation import full_like
from ._ufuncs import (add, conj, isnan, logical_and, logical_not, maximum, minimum, multiply, real,
                      sqrt, _to_bool, _where)

__all__ = ["sum", "prod", "max", "amax", "min", "amin", "any", "all", "alltrue", "sometrue",
           "mean", "var", "std", "argmax", "argmin", "ptp", "count_nonzero", "average", "cumsum",
           "cumprod", "cumulative_sum", "cumulative_prod", "nansum", "nanprod", "nanmax", "nanmin",
           "nanargmax", "nanargmin", "nanmean", "nanvar", "nanstd", "nancumsum", "nancumprod"]


def _reduction(name, reducer, identity=None, bool_reducer=None, upcast_int=False,
               need_inexact=False):
    def f(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        a = asarray(a)
        if out is not None:
            raise NotImplementedError(f"{name}: the out= argument is not supported (arrays are "
                                      f"immutable); use the return value")
        axes = canonicalize_axes(axis, a.ndim, name)
        if dtype is not None:
            a = astype(a, dtype)
        elif upcast_int and (_dt.is_int(a.dtype) or a.dtype == bool_):
            wide = _dt.default_int() if not _dt.is_unsigned(a.dtype) else \
                (uint64 if _dt.x64_enabled() else uint32)
            if a.dtype.itemsize < wide.itemsize or a.dtype == bool_:
                a = astype(a, wide)
        if where is not None:
            if identity is None:
                if initial is None:
                    raise ValueError(f"{name}: reduction with where= needs initial=")
                fill = initial
            else:
                fill = identity(a.dtype)
            a = _where3(where, a, fill)
        r = bool_reducer(a, axes) if (bool_reducer and a.dtype == bool_) else reducer(a, axes)
        if initial is not None:
            r = (maximum if name == "max" else minimum if name == "min" else
                 add if name == "sum" else multiply)(r, initial)
            r = astype(r, a.dtype)
        if keepdims:
            r = reshape(r, [1 if i in axes else n for i, n in enumerate(a.shape)])
        return r
    return named(f, name)


def _where3(cond, x, fill):
    return _where(cond, x, lax.convert_element_type(asarray(fill), x.dtype))


def _empty_check(name):
    def reducer(a, axes):
        if builtins.any(a.shape[ax] == 0 for ax in axes):
            raise ValueError(f"{name}: zero-size array to reduction operation {name} which "
                             f"has no identity")
        return (lax.reduce_max if name == "max" else lax.reduce_min)(a, axes)
    return reducer


sum = _reduction("sum", lax.reduce_sum, lambda dt: 0, lax.reduce_or, upcast_int=True)
prod = _reduction("prod", lax.reduce_prod, lambda dt: 1, lax.reduce_and, upcast_int=True)
max = amax = _reduction("max", _empty_check("max"))
min = amin = _reduction("min", _empty_check("min"))


def _any_all(name, reducer):
    def f(a, axis=None, out=None, keepdims=False, *, where=None):
        a = _to_bool(asarray(a))
        axes = canonicalize_axes(axis, a.ndim, name)
        if where is not None:
            a = _where3(where, a, name == "all")
        r = reducer(a, axes)
        if keepdims:
            r = reshape(r, [1 if i in axes else n for i, n in enumerate(a.shape)])
        return r
    return named(f, name)


any = _any_all("any", lax.reduce_or)
all = _any_all("all", lax.reduce_and)
alltrue, sometrue = all, any


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    a = asarray(a)
    axes = canonicalize_axes(axis, a.ndim, "mean")
    if dtype is None:
        dtype = _dt.to_inexact(a.dtype)
    if where is None:
        n = math.prod([a.shape[ax] for ax in axes], start=1)
        s = sum(a, axis=axes, dtype=dtype, keepdims=keepdims)
        if is_symbolic(n):     # a symbolic dimension (export): the count is a value
            return lax.div(s, astype(n, s.dtype))
        return lax.div(s, lax.weak_literal(n, s.dtype)) if n else s / 0
    w = broadcast_to(asarray(where), a.shape)
    s = sum(a, axis=axes, dtype=dtype, keepdims=keepdims, where=w)
    n = sum(w, axis=axes, dtype=dtype, keepdims=keepdims)
    return s / n


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    a = asarray(a)
    if correction is not None:
        ddof = correction
    axes = canonicalize_axes(axis, a.ndim, "var")
    comp_dt = dtype or _dt.to_inexact(a.dtype)
    a = astype(a, comp_dt)
    m = mean(a, axes, keepdims=True, where=where)
    d = a - m
    d = real(d * conj(d)) if _dt.is_complex(a.dtype) else d * d
    if where is None:
        n = math.prod([a.shape[ax] for ax in axes], start=1)
        den = maximum(asarray(n - ddof), 0) if is_symbolic(n) else builtins.max(n - ddof, 0)
        return sum(d, axes, keepdims=keepdims) / den
    w = broadcast_to(asarray(where), a.shape)
    n = sum(w, axes, dtype=d.dtype, keepdims=keepdims)
    return sum(d, axes, keepdims=keepdims, where=w) / (n - ddof)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        correction=None):
    if dtype is not None and not _dt.is_inexact(_dt.canonicalize(dtype)):
        raise ValueError(f"std: the dtype argument must be inexact, got {dtype}{_where_msg()}")
    return sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, correction=correction))


def _arg_reduce(name, prim_fn):
    def f(a, axis=None, out=None, keepdims=False):
        a = asarray(a)
        if axis is None:
            flat = ravel(a)
            if flat.size == 0:
                raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
            r = prim_fn(flat, 0, _dt.default_int())
            return reshape(r, (1,) * a.ndim) if keepdims else r
        ax = canonicalize_axis(axis, a.ndim, name)
        if a.shape[ax] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
        r = prim_fn(a, ax, _dt.default_int())
        return expand_dims(r, ax) if keepdims else r
    return named(f, name)


argmax = _arg_reduce("argmax", lax.argmax)
argmin = _arg_reduce("argmin", lax.argmin)


def ptp(a, axis=None, keepdims=False):
    return max(a, axis, keepdims=keepdims) - min(a, axis, keepdims=keepdims)


def count_nonzero(a, axis=None, keepdims=False):
    return sum(_to_bool(asarray(a)), axis, dtype=_dt.default_int(), keepdims=keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        n = a.size / avg.size if avg.size else 0
        return (avg, full_like(avg, n)) if returned else avg
    a, w = promote_dtypes_inexact(a, asarray(weights))
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError("average: weights must match a's shape, or be 1-d along axis")
        ax = canonicalize_axis(axis, a.ndim)
        w = lax.broadcast_in_dim(w, a.shape, (ax,))
    sw = sum(w, axis, keepdims=keepdims)
    avg = sum(a * w, axis, keepdims=keepdims) / sw
    return (avg, broadcast_to(sw, avg.shape)) if returned else avg


def _cumulative(name, window_reduce):
    def f(a, axis=None, dtype=None, out=None):
        a = asarray(a)
        if axis is None:
            a, axis = ravel(a), 0
        ax = canonicalize_axis(axis, a.ndim, name)
        if dtype is not None:
            a = astype(a, dtype)
        elif a.dtype == bool_:  # JAX keeps narrow ints (cumsum(int8) is int8); bools count
            a = astype(a, _dt.default_int())
        n = a.shape[ax]
        if n == 0:
            return a
        nd = a.ndim
        window = [1] * nd
        window[ax] = n
        padding = [(0, 0)] * nd
        padding[ax] = (n - 1, 0)
        return window_reduce(a, window, (1,) * nd, padding)
    return named(f, name)


def _cumprod_window(a, window, strides, padding):
    axes = [i for i, w in enumerate(window) if w > 1]
    if not axes:        # an axis of length 1: nothing to scan
        return a
    if a.dtype == bool_:   # dtype=bool: lax multiplies numbers only
        return astype(lax.cummin(astype(a, uint32), axes[0]), bool_)
    # lax.cumprod, as JAX: its derivative is the one of JAX's pairwise scan tree (which
    # products of inf and 0 turn NaN depends on the tree)
    return lax.cumprod(a, axes[0])


cumsum = _cumulative("cumsum", lax.reduce_window_sum)
cumprod = _cumulative("cumprod", _cumprod_window)


def _cumulative_standard(name, scan, identity):
    """The array API standard's ``cumulative_sum``/``cumulative_prod``: ``axis`` may be
    left out only for a 1-d array, small integers widen as in ``sum``/``prod``, and
    ``include_initial=True`` puts the identity first."""
    def f(x, /, *, axis=None, dtype=None, include_initial=False):
        x = asarray(x)
        if x.ndim == 0:
            raise ValueError(f"{name}: x must have at least one dimension, got a 0-d "
                             f"array{_where_msg()}")
        if axis is None:
            if x.ndim > 1:
                raise ValueError(f"{name}: axis must be given for an array of {x.ndim} "
                                 f"dimensions (shape {x.shape}){_where_msg()}")
            axis = 0
        ax = canonicalize_axis(axis, x.ndim, name)
        if dtype is None and (_dt.is_int(x.dtype) or x.dtype == bool_):
            wide = _dt.default_int() if not _dt.is_unsigned(x.dtype) else \
                (uint64 if _dt.x64_enabled() else uint32)
            if x.dtype.itemsize < wide.itemsize or x.dtype == bool_:
                dtype = wide
        out = scan(x, ax, dtype)
        if include_initial:
            shape = list(out.shape)
            shape[ax] = 1
            first = lax.full(tuple(shape), identity, out.dtype)
            out = lax.concatenate([first, out], ax)
        return out
    return named(f, name)


cumulative_sum = _cumulative_standard("cumulative_sum", cumsum, 0)
cumulative_prod = _cumulative_standard("cumulative_prod", cumprod, 1)


def _nan_filled(a, fill):
    a = asarray(a)
    if not _dt.is_inexact(a.dtype):
        return a, None
    mask = isnan(a)
    return _where(mask, lax.convert_element_type(asarray(fill), a.dtype), a), mask


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    return sum(_nan_filled(a, 0)[0], axis, dtype, out, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    return prod(_nan_filled(a, 1)[0], axis, dtype, out, keepdims, initial, where)


def _nan_extreme(name, reducer, fill):
    def f(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        filled, mask = _nan_filled(a, fill)
        r = reducer(filled, axis, out=out, keepdims=keepdims, initial=initial, where=where)
        if mask is None:
            return r
        every = all(mask, axis, keepdims=keepdims, where=where)
        return _where(every, lax.convert_element_type(asarray(_onp.nan), r.dtype), r)
    return named(f, name)


nanmax = _nan_extreme("nanmax", max, -_onp.inf)
nanmin = _nan_extreme("nanmin", min, _onp.inf)


def _nan_arg(name, reducer, fill):
    def f(a, axis=None, out=None, keepdims=False):
        filled, mask = _nan_filled(a, fill)
        r = reducer(filled, axis, keepdims=keepdims)
        if mask is None:
            return r
        return _where(all(mask, axis, keepdims=keepdims), asarray(-1, r.dtype), r)
    return named(f, name)


nanargmax = _nan_arg("nanargmax", argmax, -_onp.inf)
nanargmin = _nan_arg("nanargmin", argmin, _onp.inf)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    a = asarray(a)
    if not _dt.is_inexact(a.dtype):
        return mean(a, axis, dtype, out, keepdims, where=where)
    dtype = dtype or a.dtype
    valid = logical_not(isnan(a))
    if where is not None:
        valid = logical_and(valid, where)
    total = sum(a, axis, dtype, keepdims=keepdims, where=valid)
    return total / sum(valid, axis, dtype=dtype, keepdims=keepdims)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None,
           correction=None):
    a = asarray(a)
    if correction is not None:
        ddof = correction
    if not _dt.is_inexact(a.dtype):
        return var(a, axis, dtype, out, ddof, keepdims, where=where)
    comp = dtype or a.dtype
    a = astype(a, comp)
    valid = logical_not(isnan(a))
    if where is not None:
        valid = logical_and(valid, where)
    centered = _where(valid, a - nanmean(a, axis, keepdims=True, where=valid), 0)
    sq = real(centered * conj(centered)) if _dt.is_complex(comp) else centered * centered
    n = sum(valid, axis, dtype=sq.dtype, keepdims=keepdims) - ddof
    return sum(sq, axis, keepdims=keepdims) / n


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None,
           correction=None):
    return sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where, correction))


def _nan_cumulative(name, fn, fill):
    def f(a, axis=None, dtype=None, out=None):
        return fn(_nan_filled(a, fill)[0], axis, dtype)
    return named(f, name)


nancumsum = _nan_cumulative("nancumsum", cumsum, 0)
nancumprod = _nan_cumulative("nancumprod", cumprod, 1)
