"""Evenly spaced values and index grids: ``linspace``/``logspace``/``geomspace``, the
window functions (``hanning``, ``kaiser``, ...), ``indices``/``fromfunction``, ``ix_``, the
``tril``/``triu``/``diag``/``mask`` index helpers, and ``s_``, ``r_``/``c_``,
``mgrid``/``ogrid``."""
from __future__ import annotations

import builtins
import operator
from functools import partial

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import bool_, int32, float32, float64

from ..api import jit

from .. import lax
from ..core import where as _where_msg
from ._core import (asarray, astype, broadcast_shapes, canonicalize_axis, result_type, shape_of,
                    stack, with_device, _concrete)
from ._dtypes import pi, _inexact
from ._shape import broadcast_to, concatenate, expand_dims, reshape, transpose
from ._creation import arange, full, meshgrid, ones, zeros
from ._ufuncs import abs, cos, floor, i0, log10, power, signbit, sqrt, _where

__all__ = ["linspace", "logspace", "bartlett", "blackman", "hamming", "hanning", "kaiser",
           "geomspace", "fromfunction", "indices", "ix_", "tril_indices", "triu_indices",
           "tril_indices_from", "triu_indices_from", "diag_indices", "diag_indices_from",
           "mask_indices", "s_", "index_exp", "r_", "c_", "mgrid", "ogrid"]


@with_device
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """JAX's formula ``start * (1 - t) + stop * t``: it hits both endpoints exactly in
    float32, and gives the same (floored) values as JAX for integer dtypes."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    dt = _inexact(result_type(start, stop)) if dtype is None else _dt.canonicalize(dtype)
    return _linspace(start, stop, num, bool(endpoint), bool(retstep), dt, axis)


@partial(jit, static_argnums=(2, 3, 4, 5, 6))
def _linspace(start, stop, num, endpoint, retstep, dt, axis):
    # one compiled program, as JAX's: XLA then rounds ``iota / div`` as JAX's does (its
    # simplifier turns a division by a constant into a multiplication)
    cdt = _inexact(dt)
    start, stop = astype(start, cdt), astype(stop, cdt)
    bshape = broadcast_shapes(start.shape, stop.shape)
    start, stop = broadcast_to(start, bshape), broadcast_to(stop, bshape)
    axis = canonicalize_axis(axis, len(bshape) + 1, "linspace")
    bounds = bshape[:axis] + (1,) + bshape[axis:]
    div = (num - 1) if endpoint else num
    if num > 1:
        delta = (stop - start) / asarray(div, cdt)
        rdt = _dt.real_dtype(cdt)
        t = astype(lax.iota(rdt, div) / asarray(div, rdt), cdt)
        t = reshape(t, [div if d == axis else 1 for d in range(len(bounds))])
        out = reshape(start, bounds) * (1 - t) + reshape(stop, bounds) * t
        if endpoint:
            out = concatenate([out, reshape(stop, bounds)], axis)
    elif num == 1:
        delta = asarray(_onp.nan if endpoint else stop - start, cdt)
        out = reshape(start, bounds)
    else:
        delta = full((), _onp.nan, cdt)
        out = zeros(bshape[:axis] + (0,) + bshape[axis:], cdt)
    if _dt.is_int(dt) and not _dt.is_int(out.dtype):
        out = floor(out)
    out = astype(out, dt)
    return (out, delta) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    return astype(power(base, linspace(start, stop, num, endpoint, axis=axis)),
                  dtype or result_type(float32 if not _dt.x64_enabled() else float64))


def _window_length(M, op):
    m = _concrete(M, op, "M", "pass M as a Python int")
    if m.ndim:
        raise TypeError(f"{op}: M must be an integer, got an array of shape {m.shape}{_where_msg()}")
    return operator.index(m.item())


def _window(op, M, fn):
    M = _window_length(M, op)
    dt = _dt.default_float()
    if M <= 1:
        return ones(builtins.max(M, 0), dt)
    return fn(M, arange(0, M, dtype=dt))


def bartlett(M):
    return _window("bartlett", M, lambda M, n: 1 - abs(2 * n - (M - 1)) / (M - 1))


def blackman(M):
    return _window("blackman", M, lambda M, n: 0.42 - 0.5 * cos(2 * pi * n / (M - 1))
                   + 0.08 * cos(4 * pi * n / (M - 1)))


def hamming(M):
    return _window("hamming", M, lambda M, n: 0.54 - 0.46 * cos(2 * pi * n / (M - 1)))


def hanning(M):
    return _window("hanning", M, lambda M, n: 0.5 - 0.5 * cos(2 * pi * n / (M - 1)))


def kaiser(M, beta):
    def fn(M, n):
        alpha = (M - 1) / 2.0
        b = asarray(beta, n.dtype)
        return i0(b * sqrt(1 - ((n - alpha) / alpha) ** 2)) / i0(b)
    return _window("kaiser", M, fn)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Points evenly spaced on a log scale, with the endpoints exact."""
    dt = _inexact(result_type(start, stop)) if dtype is None else _dt.canonicalize(dtype)
    start, stop = astype(asarray(start), _inexact(dt)), astype(asarray(stop), _inexact(dt))
    if _dt.is_complex(dt):
        raise NotImplementedError("geomspace: complex start/stop are not supported; use "
                                  "logspace with complex exponents")
    sign = _where(signbit(start), -1.0, 1.0).astype(start.dtype)
    logs = linspace(log10(abs(start)), log10(abs(stop)), num, endpoint=endpoint, axis=axis)
    out = power(asarray(10.0, logs.dtype), logs)
    if num > 0:
        nd = out.ndim
        ax = canonicalize_axis(axis, nd)
        first = lax.slice_in_dim(out, 0, 1, 1, ax)
        bounds = [expand_dims(abs(start), ax)]
        out = concatenate([broadcast_to(bounds[0], first.shape),
                           lax.slice_in_dim(out, 1, out.shape[ax], 1, ax)], ax)
        if endpoint and num > 1:
            out = concatenate([lax.slice_in_dim(out, 0, out.shape[ax] - 1, 1, ax),
                               broadcast_to(expand_dims(abs(stop), ax), first.shape)], ax)
    out = out * (expand_dims(sign, canonicalize_axis(axis, out.ndim)) if sign.ndim else sign)
    return astype(out, dt)


def fromfunction(function, shape, *, dtype=float, **kwargs):
    return function(*indices(shape, dtype=dtype), **kwargs)


def indices(dimensions, dtype=None, sparse=False):
    dimensions = tuple(operator.index(d) for d in dimensions)
    dt = _dt.canonicalize(dtype or _dt.default_int())
    nd = len(dimensions)
    out = []
    for i, n in enumerate(dimensions):
        if sparse:
            out.append(reshape(arange(n, dtype=dt), [n if j == i else 1 for j in range(nd)]))
        else:
            out.append(lax.broadcasted_iota(dt, dimensions, i))
    if sparse:
        return tuple(out)
    return stack(out) if out else zeros((0,), dt)


def ix_(*args):
    nd = len(args)
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if a.ndim != 1:
            raise ValueError(f"ix_: arguments must be 1-dimensional, got shape {a.shape}")
        if a.dtype == bool_:
            raise TypeError("ix_: boolean arguments are not supported (their nonzero count "
                            "fixes the shape); pass integer indices")
        out.append(reshape(a, [a.shape[0] if j == i else 1 for j in range(nd)]))
    return tuple(out)


def _int_pair(rows, cols):
    dt = _dt.default_int()   # int64 with x64 on, as JAX
    return asarray(rows.astype(dt)), asarray(cols.astype(dt))


def tril_indices(n, k=0, m=None):
    return _int_pair(*_onp.tril_indices(operator.index(n), operator.index(k), m))


def triu_indices(n, k=0, m=None):
    return _int_pair(*_onp.triu_indices(operator.index(n), operator.index(k), m))


def tril_indices_from(arr, k=0):
    s = shape_of(arr)
    if len(s) != 2:
        raise ValueError(f"tril_indices_from: input array must be 2-d, got shape {s}")
    return tril_indices(s[0], k, s[1])


def triu_indices_from(arr, k=0):
    s = shape_of(arr)
    if len(s) != 2:
        raise ValueError(f"triu_indices_from: input array must be 2-d, got shape {s}")
    return triu_indices(s[0], k, s[1])


def diag_indices(n, ndim=2):
    n, ndim = operator.index(n), operator.index(ndim)
    if n < 0 or ndim < 0:
        raise ValueError(f"diag_indices: n and ndim must be non-negative, got {n}, {ndim}")
    return (arange(n, dtype=_dt.default_int()),) * ndim


def diag_indices_from(arr):
    s = shape_of(arr)
    if len(s) < 2 or len(set(s)) != 1:
        raise ValueError(f"diag_indices_from: input must be at least 2-d with equal dimensions, "
                         f"got shape {s}")
    return diag_indices(s[0], len(s))


def mask_indices(n, mask_func, k=0, *, size=None):
    mask = _concrete(mask_func(ones((n, n), int32), k), "mask_indices", "mask_func's result",
                     "it must be computable from its arguments alone")
    rows, cols = _onp.nonzero(mask)
    if size is not None:
        rows, cols = rows[:size], cols[:size]
        rows = _onp.pad(rows, (0, size - rows.size))
        cols = _onp.pad(cols, (0, size - cols.size))
    return _int_pair(rows, cols)


s_, index_exp = _onp.s_, _onp.index_exp


class _AxisConcat:
    """``r_``/``c_``: concatenate arrays, scalars and slices (``a:b:step`` is ``arange``,
    ``a:b:nj`` is ``linspace`` with n points) along an axis; a leading string
    ``"axis"`` / ``"axis,ndmin"`` / ``"axis,ndmin,trans1d"`` sets the layout."""

    def __init__(self, axis, ndmin, trans1d):
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        if key and isinstance(key[0], str):
            spec, key = key[0], key[1:]
            if spec in ("r", "c"):
                raise NotImplementedError(f"r_/c_: the matrix directive {spec!r} is not "
                                          f"supported")
            parts = [builtins.int(p) for p in spec.split(",")]
            axis = parts[0]
            if len(parts) > 1:
                ndmin = parts[1]
            if len(parts) > 2:
                trans1d = parts[2]
        items = []
        for item in key:
            if isinstance(item, builtins.slice):
                a = _slice_range(item)
            else:
                a = asarray(item)
            if a.ndim < ndmin:
                a0 = a.ndim
                a = reshape(a, (1,) * (ndmin - a0) + a.shape)
                if trans1d != -1 and a0 > 0:
                    t = trans1d % ndmin
                    order = list(range(ndmin - a0, ndmin))
                    rest = list(range(ndmin - a0))
                    perm = rest[:t] + order + rest[t:] if t <= len(rest) else rest + order
                    a = transpose(a, [perm.index(i) for i in range(ndmin)]) \
                        if perm != list(range(ndmin)) else a
            items.append(a)
        if not items:
            return zeros(0)
        return concatenate(items, axis)

    def __len__(self):
        return 0


def _slice_range(s):
    start = 0 if s.start is None else s.start
    step = 1 if s.step is None else s.step
    if isinstance(step, complex):
        return linspace(start, s.stop, builtins.int(builtins.abs(step)), endpoint=True)
    return arange(start, s.stop, step)


r_ = _AxisConcat(0, 1, -1)
c_ = _AxisConcat(-1, 2, 0)


class _Grid:
    """``mgrid`` (dense) / ``ogrid`` (open): index grids from slices."""

    def __init__(self, sparse):
        self.sparse = sparse

    def __getitem__(self, key):
        if isinstance(key, builtins.slice):
            return _slice_range(key)
        ranges = [_slice_range(k) for k in key]
        if not ranges:
            return zeros(0)
        dt = result_type(*ranges)
        grids = meshgrid(*[astype(r, dt) for r in ranges], indexing="ij", sparse=self.sparse)
        return tuple(grids) if self.sparse else stack(grids)


mgrid = _Grid(sparse=False)
ogrid = _Grid(sparse=True)
