"""Sorting and searching (``sort``, ``argsort``, ``lexsort``, ``partition``,
``searchsorted``, ``digitize``), ``unique`` and the set operations (``isin``,
``union1d``, ``intersect1d``, ...).  Results whose size depends on the values take
``size=``/``fill_value=``, as in JAX."""
from __future__ import annotations

import builtins
import collections
import operator

from primitives import dtypes as _dt
from primitives.dtypes import bool_, int32

from .. import lax
from ..core import where as _where_msg
from ._core import (ARRAY_TYPES, asarray, astype, broadcast_shapes, canonicalize_axis,
                    promote_dtypes, shape_of, typeinfo)
from ._dtypes import _inexact
from ._shape import broadcast_to, concatenate, expand_dims, flip, moveaxis, ravel, reshape
from ._creation import arange, ones, zeros
from ._ufuncs import (equal, greater_equal, isnan, less, logical_and, logical_not, logical_or,
                      negative, not_equal)
from ._reductions import any, cumsum, sum
from ._selection import nonzero, where
from ._indexing import take
from ._editing import put_along_axis, _compact

__all__ = ["sort", "argsort", "searchsorted", "digitize", "unique", "unique_values",
           "unique_counts", "unique_inverse", "unique_all", "isin", "union1d", "intersect1d",
           "setdiff1d", "setxor1d", "lexsort", "partition", "argpartition", "sort_complex"]


def sort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, a.ndim, "sort")
    out = lax.sort(a, ax, is_stable=stable)
    return flip(out, ax) if descending else out


def argsort(a, axis=-1, kind=None, order=None, *, stable=True, descending=False):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, a.ndim, "argsort")
    idx = lax.broadcasted_iota(_dt.default_int(), a.shape, ax)
    key = negative(a) if descending and not _dt.is_unsigned(a.dtype) and a.dtype != bool_ \
        else a
    if descending and (_dt.is_unsigned(a.dtype) or a.dtype == bool_):
        key = lax.bitwise_not(a)
    _, out = lax.sort((key, idx), ax, is_stable=True, num_keys=1)
    return out


def _sort_lt(x, y):
    """x < y in sort order: NaNs after every number (as ``sort`` places them)."""
    if not _dt.is_inexact(typeinfo(x)[0]):
        return less(x, y)
    return logical_or(less(x, y), logical_and(isnan(y), logical_not(isnan(x))))


def searchsorted(a, v, side="left", sorter=None, *, method="scan"):
    """Insertion points of ``v`` in the sorted 1-d ``a``: a count of the entries of ``a``
    before each value (one comparison per pair; exact, and NaN-aware like ``sort``)."""
    a, v = asarray(a), asarray(v)
    if a.ndim != 1:
        raise ValueError(f"searchsorted: a must be 1-dimensional, got shape {a.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a, v = promote_dtypes(a, v)
    if sorter is not None:
        a = take(a, asarray(sorter), axis=0)
    ae = reshape(a, (1,) * v.ndim + a.shape)
    ve = expand_dims(v, -1)
    before = _sort_lt(ae, ve) if side == "left" else logical_not(_sort_lt(ve, ae))
    return sum(before, -1, dtype=int32)   # as JAX (NumPy and the array API: int64 under x64)


def digitize(x, bins, right=False, *, method=None):
    x, bins = asarray(x), asarray(bins)
    if bins.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-dimensional, got shape {bins.shape}")
    if bins.shape[0] == 0:
        return zeros(x.shape, int32)
    side = "left" if right else "right"
    increasing = greater_equal(bins[-1], bins[0])
    return where(increasing, searchsorted(bins, x, side),
                 bins.shape[0] - searchsorted(flip(bins), x, side))


def _first_of_runs(s, equal_nan=True):
    """Mask of the first entry of each run of equal sorted values (rows if 2-d)."""
    if s.shape[0] == 0:
        return zeros(0, bool_)
    differ = not_equal(s[1:], s[:-1])
    if equal_nan and _dt.is_inexact(s.dtype):
        differ = logical_and(differ, logical_not(logical_and(isnan(s[1:]), isnan(s[:-1]))))
    if s.ndim > 1:
        differ = any(differ, tuple(builtins.range(1, s.ndim)))
    return concatenate([ones(1, bool_), differ])


def _lexsort_rows(rows):
    """Permutation sorting the rows of a 2-d array lexicographically (column 0 first)."""
    n, m = rows.shape
    keys = [rows[:, j] for j in builtins.range(m)]
    return lax.sort(tuple(keys) + (arange(n, dtype=int32),), 0, num_keys=builtins.max(m, 1))[-1]


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, size=None, fill_value=None, sorted=True):
    ar = asarray(ar)
    flat_axis = axis is None
    if flat_axis:
        ar, axis = ravel(ar), 0
    axis = canonicalize_axis(axis, ar.ndim, "unique")
    if ar.shape[axis] == 0 and size and fill_value is None:
        raise ValueError("unique: for an empty input with size > 0, pass fill_value")
    rows = moveaxis(ar, axis, 0)
    n = rows.shape[0]
    if rows.ndim == 1:
        perm = argsort(rows) if n else zeros(0, int32)
        perm = astype(perm, int32)
    else:
        perm = _lexsort_rows(reshape(rows, (n, -1)))
    srt = take(rows, perm, axis=0) if n else rows
    mask = _first_of_runs(srt, equal_nan)
    values = _compact("unique", srt, mask, size, fill_value)
    out = [moveaxis(values, 0, axis)]
    k = values.shape[0]
    # run starts, one past size: the end of the last kept run is the next run's start
    # (values beyond size are dropped, their counts are not folded into the last one)
    (starts,) = nonzero(mask, size=k + 1, fill_value=n) if n else (zeros(k + 1, int32),)
    first = starts[:k]
    if return_index:  # padding repeats the first index, as in JAX
        out.append(astype(take(perm, nonzero(mask, size=k)[0]), _dt.default_int())
                   if n else zeros(k, _dt.default_int()))
    if return_inverse:
        inv = zeros(n, _dt.default_int())
        if n:
            inv = inv.at[perm].set(astype(cumsum(mask) - 1, _dt.default_int()))
        out.append(reshape(inv, shape_of(ar)) if flat_axis and ar.ndim == 1 else inv)
    if return_counts:
        out.append(astype(where(less(first, n), starts[1:] - first, 0), _dt.default_int()))
    return out[0] if len(out) == 1 else tuple(out)


_UniqueCounts = collections.namedtuple("UniqueCountsResult", "values counts")
_UniqueInverse = collections.namedtuple("UniqueInverseResult", "values inverse_indices")
_UniqueAll = collections.namedtuple("UniqueAllResult",
                                    "values indices inverse_indices counts")


def unique_values(x, *, size=None, fill_value=None):
    return unique(x, size=size, fill_value=fill_value)


def unique_counts(x, *, size=None, fill_value=None):
    return _UniqueCounts(*unique(x, return_counts=True, size=size, fill_value=fill_value))


def unique_inverse(x, *, size=None, fill_value=None):
    x = asarray(x)
    vals, inv = unique(x, return_inverse=True, size=size, fill_value=fill_value)
    return _UniqueInverse(vals, reshape(inv, x.shape))


def unique_all(x, *, size=None, fill_value=None):
    x = asarray(x)
    vals, idx, inv, counts = unique(x, True, True, True, size=size, fill_value=fill_value)
    return _UniqueAll(vals, idx, reshape(inv, x.shape), counts)


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    element, test = asarray(element), ravel(asarray(test_elements))
    hit = any(equal(expand_dims(element, -1), test), -1) if test.shape[0] else \
        zeros(element.shape, bool_)
    return logical_not(hit) if invert else hit


def _sorted_with_first(a):
    s = sort(ravel(a))
    return s, _first_of_runs(s)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    a, b = promote_dtypes(ravel(asarray(ar1)), ravel(asarray(ar2)))
    return unique(concatenate([a, b]), size=size, fill_value=fill_value)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None,
                fill_value=None):
    if return_indices:
        raise NotImplementedError("intersect1d: return_indices=True is not supported; use "
                                  "searchsorted on the result")
    a, b = promote_dtypes(ravel(asarray(ar1)), ravel(asarray(ar2)))
    s, first = _sorted_with_first(a)
    return _compact("intersect1d", s, logical_and(first, isin(s, b)), size, fill_value, "min")


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    a, b = ravel(asarray(ar1)), ravel(asarray(ar2))
    s, first = _sorted_with_first(a)
    fill = 0 if fill_value is None else fill_value
    return _compact("setdiff1d", s, logical_and(first, isin(s, b, invert=True)), size, fill)


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """As JAX: the entries of ``unique(ar1)`` and ``unique(ar2)`` together, sorted, that
    differ (``!=``) from both neighbours; so a NaN of each input stays in the result."""
    a, b = promote_dtypes(ravel(asarray(ar1)), ravel(asarray(ar2)))
    if a.shape[0] + b.shape[0] == 0:
        return _compact("setxor1d", concatenate([a, b]), zeros(0, bool_), size, fill_value)
    a, b = sort(a), sort(b)
    keep = ones(a.shape[0] + b.shape[0], bool_) if assume_unique else \
        concatenate([_first_of_runs(a), _first_of_runs(b)])
    # the distinct values of each input, sorted together, first; the duplicates after
    drop, s = lax.sort((logical_not(keep), concatenate([a, b])), 0, num_keys=2)
    differ = not_equal(s[1:], s[:-1])
    after = logical_or(differ, drop[1:])   # the last kept entry has no kept successor
    mask = logical_and(logical_not(drop), logical_and(concatenate([ones(1, bool_), differ]),
                                                      concatenate([after, ones(1, bool_)])))
    return _compact("setxor1d", s, mask, size, fill_value, "min")


def lexsort(keys, axis=-1):
    """Indices sorting by the last key first, ties broken by the earlier keys."""
    keys = [asarray(k) for k in keys] if not isinstance(keys, ARRAY_TYPES) else \
        [keys[i] for i in builtins.range(keys.shape[0])]
    if not keys:
        raise TypeError("lexsort: need at least one key")
    shape = broadcast_shapes(*[k.shape for k in keys])
    keys = [broadcast_to(k, shape) for k in keys]
    if not shape:
        return asarray(0, _dt.default_int())
    ax = canonicalize_axis(axis, len(shape), "lexsort")
    iota = lax.broadcasted_iota(_dt.default_int(), shape, ax)
    return lax.sort(tuple(reversed(keys)) + (iota,), ax, num_keys=len(keys))[-1]


def _partition_args(a, kth, axis):
    """``a`` with ``axis`` moved last, and ``kth`` as a non-negative position on it."""
    a = moveaxis(asarray(a), axis, -1)
    kth = operator.index(kth)
    return a, kth + a.shape[-1] if kth < 0 else kth


def _partition_checked(name, a, kth, axis):
    a, kth = _partition_args(a, kth, axis)
    if _dt.is_complex(a.dtype):
        raise NotImplementedError(f"jnp.{name} for complex dtype is not implemented"
                                  f"{_where_msg()}")
    return a, kth


def _smallest(a, k):
    """``top_k`` of the negated values: the ``k`` smallest (ties in index order, as JAX);
    unsigned values are shifted by one so that 0 negates to a distinct value."""
    if _dt.is_unsigned(a.dtype):
        v, i = lax.top_k(-(a + 1), k)
        return -v - 1, i
    v, i = lax.top_k(-a, k)
    return -v, i


def partition(a, kth, axis=-1):
    """The ``kth + 1`` smallest values in ascending order, then the rest in descending
    order: two ``top_k``s, JAX's arrangement (ties included)."""
    a, kth = _partition_checked("partition", a, kth, axis)
    bottom = _smallest(a, kth + 1)[0]
    top = lax.top_k(a, a.shape[-1] - kth - 1)[0]
    return moveaxis(concatenate([bottom, top], -1), -1, axis)


def argpartition(a, kth, axis=-1):
    """Indices (int32) of the ``kth + 1`` smallest values (ascending), then of the others
    in index order (JAX's arrangement: a ``top_k`` of a 0/1 mask)."""
    a, kth = _partition_checked("argpartition", a, kth, axis)
    bottom = _smallest(a, kth + 1)[1]
    mask = put_along_axis(ones(a.shape, _dt.float32), bottom, 0.0, -1, inplace=False)
    top = lax.top_k(mask, a.shape[-1] - kth - 1)[1]
    return moveaxis(concatenate([bottom, top], -1), -1, axis)


def sort_complex(a):
    a = sort(asarray(a), 0 if asarray(a).ndim == 1 else -1)
    return a if _dt.is_complex(a.dtype) else \
        astype(a, _dt.complex_dtype(_inexact(a.dtype)))
