"""``where`` (one argument: ``nonzero``; three: ``_where`` of _ufuncs), ``select``,
``nonzero``/``flatnonzero``/``argwhere``, and flat/multi-index conversion."""
from __future__ import annotations

import builtins

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import bool_, int32

from .. import lax
from ..core import Tracer, where as _where_msg
from ._core import asarray, stack
from ._shape import concatenate, ravel
from ._creation import arange, zeros
from ._ufuncs import clip, floor_divide, logical_not, remainder, _to_bool, _where
from ._reductions import sum

__all__ = ["where", "select", "nonzero", "flatnonzero", "argwhere", "unravel_index",
           "ravel_multi_index"]


def where(condition, x=None, y=None, *, size=None, fill_value=None):
    """Three-argument form: elementwise choice.  One argument: ``nonzero``."""
    if x is None and y is None:
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("where: pass either one argument or three")
    return _where(condition, x, y)


def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist):
        raise ValueError("select: condlist and choicelist must have the same length")
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(c, v, out)
    return asarray(out)


def nonzero(a, *, size=None, fill_value=None):
    a = asarray(a)
    if a.ndim == 0:   # as NumPy 2, JAX and the array API standard
        raise ValueError(f"nonzero: a 0-d array has no axis to index: call it on "
                         f"atleast_1d(a){_where_msg()}")
    if size is None:
        if isinstance(a, Tracer) and a.val is None:
            raise TypeError(
                f"nonzero/where with one argument has a data-dependent output shape, which "
                f"jit cannot compile: pass size=N (and optionally fill_value){_where_msg()}")
        size = builtins.int(_onp.count_nonzero(_onp.asarray(a)))
    mask = ravel(_to_bool(a))
    n = mask.shape[0]
    flat_idx = arange(n, dtype=int32)
    # stable sort: true entries first, in order
    key = lax.convert_element_type(logical_not(mask), int32)
    _, order = lax.sort((key, flat_idx), num_keys=1)
    idx = order[:size] if size <= n else concatenate([order, zeros(size - n, int32)])
    idx = lax.convert_element_type(idx, _dt.default_int())   # JAX's index type (int64 with x64 on)
    valid = arange(size) < sum(mask)
    fills = fill_value if isinstance(fill_value, (tuple, list)) else [fill_value] * a.ndim
    out = []
    for d, coord in enumerate(unravel_index(idx, a.shape)):
        fv = 0 if fills[d] is None else fills[d]
        out.append(where(valid, coord, asarray(fv, coord.dtype)))
    return tuple(out)


def flatnonzero(a, *, size=None, fill_value=None):
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    return stack(nonzero(a, size=size, fill_value=fill_value), axis=-1) if asarray(a).ndim else \
        zeros((builtins.int(builtins.bool(a)), 0), _dt.default_int())


def unravel_index(indices, shape):
    indices = asarray(indices)
    out = []
    for n in reversed(shape):
        out.append(remainder(indices, n))
        indices = floor_divide(indices, n)
    return tuple(reversed(out))


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    out = None
    for idx, n in zip(multi_index, dims):
        idx = clip(asarray(idx), 0, n - 1) if mode == "clip" else asarray(idx)
        out = idx if out is None else out * n + idx
    return out
