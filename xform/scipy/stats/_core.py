"""The summary statistics of ``jax.scipy.stats``: ``mode``, ``rankdata`` and ``sem``."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from primitives import dtypes as _dt

from ... import lax, numpy as jnp
from ...api import vmap
from ...core import Array, where
from ...numpy._core import canonicalize_axes
from ._common import args, check_arraylike

__all__ = ["ModeResult", "mode", "rankdata", "sem"]


class ModeResult(NamedTuple):
    mode: Array
    count: Array


def _nan_policy(name, nan_policy):
    if nan_policy not in ("propagate", "omit", "raise"):
        raise ValueError(f"{name}: illegal nan_policy value {nan_policy!r}; expected one of "
                         f"{{'propagate', 'omit', 'raise'}}{where()}")
    if nan_policy == "omit":
        raise NotImplementedError(f"{name}: nan_policy='omit' is not implemented{where()}")
    if nan_policy == "raise":
        raise NotImplementedError(f"{name}: nan_policy='raise' cannot be compiled (whether the "
                                  f"input holds NaNs is not known); check for NaNs outside "
                                  f"{name}{where()}")


def _column_mode(col):
    if col.size == 0:
        dt = _dt.default_float()
        return jnp.array(np.nan, dt), jnp.array(0, dt)
    values, counts = jnp.unique(col, return_counts=True, size=col.size)
    return values[jnp.argmax(counts)], counts.max()


def _modes(x):
    return vmap(_column_mode, in_axes=1)(x)


def mode(a, axis=0, nan_policy="propagate", keepdims=False):
    """The most common value along ``axis`` (the smallest of the tied ones) and its count,
    as a ``ModeResult``; ``axis=None`` looks at the flattened array."""
    check_arraylike("mode", a)
    x = jnp.atleast_1d(a)
    _nan_policy("mode", nan_policy)
    if axis is not None:
        (axis,) = canonicalize_axes(axis, x.ndim, "mode")
    shape = x.shape
    if axis is None:
        out_shape = (1,) * len(shape) if keepdims else ()
        axis, x = 0, x.ravel()
    elif keepdims:
        out_shape = tuple(1 if i == axis else s for i, s in enumerate(shape))
    else:
        out_shape = tuple(s for i, s in enumerate(shape) if i != axis)
    x = jnp.moveaxis(x, axis, 0)
    values, counts = _modes(x.reshape(x.shape[0], math.prod(x.shape[1:])))
    return ModeResult(values.reshape(out_shape), counts.reshape(out_shape))


_METHODS = ("average", "min", "max", "dense", "ordinal")


def _ranks(a, method):
    dt = _dt.default_float()
    srt, order = lax.sort_key_val(a, jnp.arange(a.size))
    inverse = jnp.empty_like(order).at[order].set(jnp.arange(order.size, dtype=order.dtype))
    if method == "ordinal":
        return (inverse + 1).astype(dt)
    first = jnp.concatenate([jnp.array([True]), srt[1:] != srt[:-1]])
    dense = first.cumsum()[inverse]
    if method == "dense":
        return dense.astype(dt)
    starts = jnp.nonzero(first, size=srt.size + 1, fill_value=first.size)[0].astype(dt)
    if method == "max":
        return starts[dense]
    if method == "min":
        return starts[dense - 1] + 1
    return 0.5 * (starts[dense] + starts[dense - 1] + 1)


def _rank_flat(a, method):
    a = jnp.ravel(a)
    return lax.cond(jnp.any(jnp.isnan(a)),
                    lambda v: jnp.full_like(v, jnp.nan, _dt.default_float()),
                    lambda v: _ranks(v, method), a)


def rankdata(a, method="average", *, axis=None, nan_policy="propagate"):
    """Ranks of the data, 1 for the smallest; ``method`` ('average', 'min', 'max', 'dense' or
    'ordinal') settles ties.  NaN everywhere when the data hold a NaN."""
    check_arraylike("rankdata", a)
    _nan_policy("rankdata", nan_policy)
    if method not in _METHODS:
        raise ValueError(f"rankdata: unknown method {method!r}{where()}")
    if axis is not None:
        return jnp.apply_along_axis(lambda v: _rank_flat(v, method), axis, jnp.asarray(a))
    return _rank_flat(jnp.asarray(a), method)


def sem(a, axis=0, ddof=1, nan_policy="propagate", *, keepdims=False):
    """Standard error of the mean along ``axis``: ``std(ddof) / sqrt(n)``; with
    ``nan_policy='omit'`` NaNs are left out of both."""
    (b,) = args("sem", a)
    if nan_policy == "propagate":
        size = b.size if axis is None else b.shape[axis]
        return b.std(axis, ddof=ddof, keepdims=keepdims) / jnp.sqrt(size).astype(b.dtype)
    if nan_policy == "omit":
        count = (~jnp.isnan(b)).sum(axis, keepdims=keepdims)
        return (jnp.nanstd(b, axis, ddof=ddof, keepdims=keepdims)
                / jnp.sqrt(count).astype(b.dtype))
    raise ValueError(f"sem: nan_policy={nan_policy!r} is not supported{where()}")
