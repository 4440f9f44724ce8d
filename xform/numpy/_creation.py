"""Array creation: ``array``, ``full``/``zeros``/``ones``/``empty`` and their ``*_like``,
``arange``, ``eye``/``identity``/``tri``, ``meshgrid``, ``copy``, and conversion from
buffers and DLPack.  ``linspace`` and the other spaced ranges, which need the elementwise
functions, are in _ranges."""
from __future__ import annotations

import builtins
import math

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import int32
from primitives.shape_poly import InconclusiveDimensionOperation, is_symbolic

from .. import lax
from ..api.devices import from_dlpack as _from_dlpack
from ..core import Array, Tracer, array_from_numpy, where as _where_msg
from ..core import trace as _trace
from ._core import asarray, result_type, shape_of, typeinfo, with_device
from ._shape import broadcast_to, ravel, _shape_tuple

__all__ = ["array", "full", "zeros", "ones", "empty", "full_like", "zeros_like", "ones_like",
           "empty_like", "arange", "eye", "identity", "tri", "meshgrid", "copy", "from_dlpack",
           "frombuffer", "fromstring", "fromiter", "fromfile"]


def array(object, dtype=None, copy=True, ndmin=0):
    out = asarray(object, dtype)
    if ndmin > out.ndim:
        out = lax.reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


@with_device
def full(shape, fill_value, dtype=None):
    shape = _shape_tuple(shape, "full")
    # as in JAX, a Python scalar fill with no dtype gives a weakly typed array
    fill = asarray(fill_value, dtype)
    return broadcast_to(fill, shape) if fill.shape != shape else fill


@with_device
def zeros(shape, dtype=None):
    return full(shape, 0, dtype or _dt.default_float())


@with_device
def ones(shape, dtype=None):
    return full(shape, 1, dtype or _dt.default_float())


@with_device
def empty(shape, dtype=None):
    return zeros(shape, dtype)


@with_device
def full_like(a, fill_value, dtype=None, shape=None):
    a_dt, a_weak = typeinfo(a)
    out = full(shape_of(a) if shape is None else shape, fill_value,
               a_dt if dtype is None else dtype)
    # with no dtype, the result is as weak as ``a`` (zeros_like(3) is weak, as in JAX)
    return lax.convert_element_type(out, a_dt, weak_type=True) \
        if dtype is None and a_weak else out


@with_device
def zeros_like(a, dtype=None, shape=None):
    return full_like(a, 0, dtype, shape)


@with_device
def ones_like(a, dtype=None, shape=None):
    return full_like(a, 1, dtype, shape)


@with_device
def empty_like(a, dtype=None, shape=None):
    return zeros_like(a, dtype, shape)


@with_device
def arange(start, stop=None, step=None, dtype=None):
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            v.concrete("arange's start/stop/step (they fix the output shape)")
    if stop is None:   # arange(n) and arange(n, step=s) both count from 0
        start, stop = 0, start
    step = 1 if step is None else step
    if is_symbolic(stop) or is_symbolic(start):   # arange(x.shape[0]) in an export
        if start != 0 or step != 1 or is_symbolic(start):
            raise InconclusiveDimensionOperation(
                f"arange({start}, {stop}, {step}): with a symbolic dimension only "
                f"arange(n) is supported{_where_msg()}")
        return lax.iota(_dt.canonicalize(dtype or _dt.default_int()), stop)
    vals = [builtins.float(v) if isinstance(v, Array) else v for v in (start, stop, step)]
    if dtype is None:
        dtype = result_type(*[v for v in (start, stop, step) if v is not None])
        if builtins.all(isinstance(v, (int, _onp.integer)) for v in (start, stop, step)):
            dtype = _dt.default_int()
    dtype = _dt.canonicalize(dtype)
    n = builtins.max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    if _dt.is_int(dtype) and builtins.all(isinstance(v, (int, _onp.integer)) for v in vals):
        ramp = lax.iota(dtype, n)
        return ramp * vals[2] + vals[0] if (vals[0], vals[2]) != (0, 1) else ramp
    return asarray(_onp.arange(vals[0], vals[1], vals[2], dtype=_onp.float64).astype(dtype))


@with_device
def eye(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    dt = _dt.canonicalize(dtype or _dt.default_float())
    if not _trace._stack and builtins.all(isinstance(v, (int, _onp.integer)) for v in (N, M, k)):
        # eager: NumPy's exact 0/1 matrix, one transfer instead of a compile per shape
        return array_from_numpy(_onp.eye(N, M, k, dtype=dt))
    r = lax.broadcasted_iota(int32, (N, M), 0)
    c = lax.broadcasted_iota(int32, (N, M), 1)
    return lax.convert_element_type(lax.eq(c - r, _onp.int32(k)), dt)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    r = lax.broadcasted_iota(int32, (N, M), 0)
    c = lax.broadcasted_iota(int32, (N, M), 1)
    return lax.convert_element_type(lax.le(c, r + _onp.int32(k)),
                                    _dt.canonicalize(dtype or _onp.float32))  # JAX: float32 always


def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    xi = [ravel(asarray(x)) for x in xi]
    shape = [x.shape[0] for x in xi]
    if indexing == "xy" and len(xi) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xi):
        d = i
        if indexing == "xy" and len(xi) >= 2 and i < 2:
            d = 1 - i
        if sparse:
            s = [1] * len(xi)
            s[d] = x.shape[0]
            out.append(lax.reshape(x, s))
        else:
            out.append(lax.broadcast_in_dim(x, tuple(shape), (d,)))
    return out


def copy(a, order=None):
    return asarray(a)


from_dlpack = _from_dlpack   # one function: xform.from_dlpack is xform.numpy.from_dlpack


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    return asarray(_onp.frombuffer(buffer, dtype, count, offset))


def fromstring(string, dtype=float, count=-1, *, sep):
    return asarray(_onp.fromstring(string, dtype, count, sep=sep))


def fromiter(iterable, dtype, count=-1):
    return asarray(_onp.fromiter(iterable, dtype, count))


def fromfile(*args, **kwargs):
    raise NotImplementedError("fromfile: xform does not read files; use numpy.fromfile and "
                              "pass the result to xform.numpy.asarray")
