"""Building and editing arrays: ``pad``, ``repeat``, ``roll``, ``delete``/``insert``,
``resize``, the functional in-place updates (``put``, ``place``, ``put_along_axis``,
``fill_diagonal``), selection by mask or index (``compress``/``extract``, ``choose``, and
``_compact``, which the set operations share), ``trim_zeros``, ``packbits``."""
from __future__ import annotations

import builtins
import math

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import bool_, int32, uint8

from .. import lax
from ..core import Tracer, where as _where_msg
from ._core import (ARRAY_TYPES, asarray, astype, broadcast_shapes, canonicalize_axis,
                    promote_dtypes, _concrete)
from ._shape import (broadcast_to, concatenate, expand_dims, moveaxis, ravel, reshape, tile,
                     _shape_tuple)
from ._creation import arange, zeros
from ._ufuncs import clip, equal, less, remainder, _to_bool
from ._reductions import cumsum, max, min, sum
from ._selection import nonzero, where
from ._indexing import take

__all__ = ["roll", "repeat", "pad", "delete", "insert", "resize", "fill_diagonal", "place", "put",
           "put_along_axis", "extract", "compress", "choose", "trim_zeros", "packbits",
           "unpackbits"]


def roll(a, shift, axis=None):
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(axes) == 1 and len(shifts) > 1:
        axes = axes * len(shifts)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    for s, ax in zip(shifts, axes):
        ax = canonicalize_axis(ax, a.ndim, "roll")
        n = a.shape[ax]
        if n == 0:
            continue
        if isinstance(s, Tracer) and s.val is None:
            s = remainder(asarray(s), n)
            doubled = concatenate([a, a], ax)
            a = lax.dynamic_slice_in_dim(doubled, n - s, n, ax, allow_negative_indices=False)
            continue
        s = builtins.int(s) % n
        if s:
            a = concatenate([lax.slice_in_dim(a, n - s, n, 1, ax),
                             lax.slice_in_dim(a, 0, n - s, 1, ax)], ax)
    return a


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = canonicalize_axis(axis, a.ndim, "repeat")
    if isinstance(repeats, (int, _onp.integer)):
        n = a.shape[axis]
        shape = a.shape[:axis + 1] + (repeats,) + a.shape[axis + 1:]
        b = lax.broadcast_in_dim(a, shape, [i for i in range(a.ndim + 1) if i != axis + 1])
        return reshape(b, a.shape[:axis] + (n * repeats,) + a.shape[axis + 1:])
    reps = _onp.asarray(repeats) if not isinstance(repeats, ARRAY_TYPES) else \
        _onp.asarray(repeats)
    if reps.ndim == 0:
        return repeat(a, builtins.int(reps), axis)
    idx = _onp.repeat(_onp.arange(a.shape[axis]), reps)
    if idx.size == 0:   # nothing to gather (and no row of an empty axis to gather from)
        return lax.full(a.shape[:axis] + (0,) + a.shape[axis + 1:], 0, a.dtype)
    return take(a, asarray(idx.astype(_onp.int32)), axis=axis)


def pad(array, pad_width, mode="constant", *, constant_values=0, **kwargs):
    array = asarray(array)
    pw = _onp.broadcast_to(_onp.asarray(pad_width, dtype=object if False else _onp.int64),
                           (array.ndim, 2)).tolist()
    if mode == "constant":
        cv = _onp.broadcast_to(_onp.asarray(constant_values), (array.ndim, 2)) \
            if _onp.ndim(constant_values) else None
        if cv is None:
            val = lax.convert_element_type(asarray(constant_values), array.dtype)
            return lax.pad(array, val, [(lo, hi, 0) for lo, hi in pw])
        out = array
        for d in range(array.ndim):
            for side in (0, 1):
                cfg = [(0, 0, 0)] * array.ndim
                cfg[d] = (pw[d][0], 0, 0) if side == 0 else (0, pw[d][1], 0)
                out = lax.pad(out, lax.convert_element_type(asarray(cv[d][side]), array.dtype),
                              cfg)
        return out
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        out = array
        for d in range(array.ndim):
            lo, hi = pw[d]
            n = out.shape[d]
            idx = _onp.arange(-lo, n + hi)
            if mode == "edge":
                idx = _onp.clip(idx, 0, n - 1)
            elif mode == "wrap":
                idx = idx % n
            elif mode == "reflect":
                period = 2 * (n - 1) if n > 1 else 1
                idx = _onp.abs(idx) % period
                idx = _onp.where(idx >= n, period - idx, idx)
            else:  # symmetric
                period = 2 * n
                idx = idx % period
                idx = _onp.where(idx >= n, period - 1 - idx, idx)
            out = take(out, asarray(idx.astype(_onp.int32)), axis=d)
        return out
    raise NotImplementedError(f"pad: mode={mode!r} is not supported (supported: constant, edge, "
                              f"reflect, symmetric, wrap)")


def _index_list(op, obj, n):
    """Static, non-negative indices from an int, a sequence or a slice along a length n."""
    if isinstance(obj, builtins.slice):
        return _onp.arange(n)[obj]
    idx = _concrete(obj, op, "obj", "pass the indices as a static NumPy array or slice")
    if idx.dtype == bool_:
        raise TypeError(f"{op}: boolean obj is not supported; pass integer indices")
    idx = idx.astype(_onp.int64)
    if _onp.any((idx < -n) | (idx >= n + (op == "insert"))):
        raise IndexError(f"{op}: index out of bounds for an axis of size {n}: {idx}")
    return _onp.where(idx < 0, idx + n, idx)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    ax = canonicalize_axis(axis, arr.ndim, "delete")
    n = arr.shape[ax]
    drop = _index_list("delete", obj, n)
    keep = _onp.setdiff1d(_onp.arange(n), drop)
    return take(arr, asarray(keep.astype(_onp.int32)), axis=ax)


def insert(arr, obj, values, axis=None):
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    ax = canonicalize_axis(axis, arr.ndim, "insert")
    n = arr.shape[ax]
    where_at = _index_list("insert", obj, n)
    values = asarray(values, arr.dtype)
    shape = list(arr.shape)
    if where_at.ndim == 0:  # one position: values form a block of its own length there
        values = reshape(values, (1,) * (arr.ndim - values.ndim) + values.shape)
        values = moveaxis(values, 0, ax)
        shape[ax] = values.shape[ax]
        where_at = _onp.full(shape[ax], where_at)
    else:
        shape[ax] = where_at.shape[0]
    values = broadcast_to(values, shape)
    # inserted entries go before the original entry at their index, in the order given
    keys = _onp.concatenate([2 * _onp.arange(n) + 1, 2 * where_at])
    src = _onp.argsort(keys, kind="stable")
    return take(concatenate([arr, values], ax), asarray(src.astype(_onp.int32)), axis=ax)


def resize(a, new_shape):
    a = ravel(asarray(a))
    new_shape = _shape_tuple(new_shape, "resize")
    total = math.prod(new_shape)
    if a.size == 0 or total == 0:
        return zeros(new_shape, a.dtype)
    reps = -(-total // a.size)
    return reshape(tile(a, reps)[:total], new_shape)


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    if inplace:
        raise ValueError("fill_diagonal: JAX arrays are immutable; pass inplace=False and use "
                         "the returned array")
    a = asarray(a)
    if a.ndim < 2:
        raise ValueError("fill_diagonal: array must be at least 2-d")
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise ValueError("fill_diagonal: all dimensions of an array of rank > 2 must be equal")
    if a.ndim == 2:
        step = a.shape[1] + 1
        end = a.size if wrap else builtins.min(a.size, a.shape[1] * a.shape[1])
    else:
        step = 1 + builtins.sum(math.prod(a.shape[:i + 1]) for i in builtins.range(a.ndim - 1))
        end = a.size
    idx = _onp.arange(0, end, step)
    vals = ravel(asarray(val, a.dtype))
    vals = resize(vals, idx.shape) if vals.size else vals
    return reshape(ravel(a).at[asarray(idx.astype(_onp.int32))].set(vals), a.shape)


def _no_inplace(op, inplace):
    if inplace:
        raise ValueError(f"{op}: JAX arrays are immutable; pass inplace=False and use the "
                         f"returned array")


def place(arr, mask, vals, *, inplace=True):
    _no_inplace("place", inplace)
    arr = asarray(arr)
    m = ravel(broadcast_to(_to_bool(asarray(mask)), arr.shape))
    vals = ravel(asarray(vals, arr.dtype))
    if vals.size == 0:
        return arr
    slot = cumsum(astype(m, int32)) - 1
    fill = take(vals, remainder(slot, vals.size))
    return reshape(where(m, fill, ravel(arr)), arr.shape)


def put(a, ind, v, mode=None, *, inplace=True):
    _no_inplace("put", inplace)
    a = asarray(a)
    ind = ravel(asarray(ind))
    v = ravel(asarray(v, a.dtype))
    if v.size == 0 or ind.size == 0:
        return a
    v = resize(v, ind.shape) if v.shape != ind.shape else v
    if mode not in (None, "fill", "drop", "promise_in_bounds", "clip", "wrap"):
        raise ValueError(f"put: mode must be one of 'clip', 'wrap', 'fill', 'drop', got "
                         f"{mode!r}")
    if mode == "wrap":
        ind, mode = remainder(ind, a.size), None
    return reshape(ravel(a).at[ind].set(v, mode=mode), a.shape)


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    _no_inplace("put_along_axis", inplace)
    arr, indices = asarray(arr), asarray(indices)
    if axis is None:
        return put(arr, indices, values, mode, inplace=False)
    ax = canonicalize_axis(axis, arr.ndim, "put_along_axis")
    if indices.ndim != arr.ndim:
        raise ValueError(f"put_along_axis: indices must have the same rank as arr "
                         f"({arr.ndim}), got shape {indices.shape}")
    idx_shape = tuple(indices.shape[d] if d == ax else
                      broadcast_shapes((indices.shape[d],), (arr.shape[d],))[0]
                      for d in builtins.range(arr.ndim))
    indices = broadcast_to(indices, idx_shape)
    index = tuple(indices if d == ax else lax.broadcasted_iota(int32, idx_shape, d)
                  for d in builtins.range(arr.ndim))
    return arr.at[index].set(broadcast_to(asarray(values, arr.dtype), idx_shape), mode=mode)


_SIZE_HINT = "pass size=N (and optionally fill_value=) to get a fixed-size result"


def _count_true(mask, op):
    """How many entries of a boolean mask are set, for a result with no ``size=``."""
    return builtins.int(_onp.count_nonzero(_concrete(mask, op, "values", _SIZE_HINT)))


def _compact(op, values, mask, size, fill_value, default_fill="first"):
    """The entries of ``values`` where ``mask`` is set, in order: all of them (concrete
    mask), or exactly ``size`` of them padded with ``fill_value``."""
    if size is None:
        size = _count_true(mask, op)
        fill_value = 0 if fill_value is None else fill_value
    n = values.shape[0]
    (idx,) = nonzero(mask, size=size, fill_value=n)
    picked = take(values, idx, axis=0, mode="fill", fill_value=0) if n else \
        zeros((size,) + values.shape[1:], values.dtype)
    valid = less(arange(size), sum(mask))
    valid = reshape(valid, (size,) + (1,) * (values.ndim - 1))
    if fill_value is None:
        if default_fill == "first":
            fill = picked[:1] if size else picked
        else:  # the smallest valid entry (0 if there is none), as JAX fills
            top = max(picked, 0, keepdims=True) if size else picked
            fill = min(where(valid, picked, top), 0, keepdims=True) if size else picked
        return where(valid, picked, fill) if n else picked
    return where(valid, picked, asarray(fill_value, values.dtype))


def extract(condition, arr, *, size=None, fill_value=0):
    return compress(ravel(condition), ravel(arr), size=size, fill_value=fill_value)


def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    if out is not None:
        raise NotImplementedError("compress: out= is not supported; use the return value")
    cond = _to_bool(asarray(condition))
    if cond.ndim != 1:
        raise ValueError(f"compress: condition must be 1-dimensional, got {cond.shape}")
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, a.ndim, "compress")
    n = a.shape[ax]
    if cond.shape[0] > n:
        cond = cond[:n]
    elif cond.shape[0] < n:
        cond = concatenate([cond, zeros(n - cond.shape[0], bool_)])
    moved = moveaxis(a, ax, 0)
    return moveaxis(_compact("compress", moved, cond, size, fill_value), 0, ax)


def choose(a, choices, out=None, mode="raise"):
    if out is not None:
        raise NotImplementedError("choose: out= is not supported; use the return value")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    a = asarray(a)
    choices = [asarray(c) for c in choices] if not isinstance(choices, ARRAY_TYPES) else \
        [choices[i] for i in builtins.range(choices.shape[0])]
    n = len(choices)
    if mode == "raise":   # as JAX: a check of concrete values (under jit, an error)
        if isinstance(a, Tracer) and a.val is None:
            raise TypeError(f"choose: mode='raise' checks the values of a, which under jit "
                            f"are abstract ({a.aval.str_short()}); use mode='wrap' or "
                            f"mode='clip'{_where_msg()}")
        vals = _onp.asarray(a.val if isinstance(a, Tracer) else a)
        if ((vals < 0) | (vals >= n)).any():
            raise ValueError(f"choose: invalid entry in choice array: a must be in [0, {n}) "
                             f"with mode='raise'{_where_msg()}")
        mode = "clip"     # every index is in range: clipping changes nothing
    a = remainder(a, n) if mode == "wrap" else clip(a, 0, n - 1)
    choices = promote_dtypes(*choices)
    shape = broadcast_shapes(a.shape, *[c.shape for c in choices])
    out = broadcast_to(choices[0], shape)
    a = broadcast_to(a, shape)
    for i in builtins.range(1, n):
        out = where(equal(a, i), broadcast_to(choices[i], shape), out)
    return out


def trim_zeros(filt, trim="fb", axis=None):
    """Drop leading ('f') and/or trailing ('b') zeros; the length depends on the values,
    so ``filt`` must be concrete."""
    vals = _concrete(filt, "trim_zeros", "filt", "trim concrete arrays outside jit")
    nz = _onp.flatnonzero(vals)
    start = nz[0] if "f" in trim and nz.size else (vals.size if "f" in trim else 0)
    stop = nz[-1] + 1 if "b" in trim and nz.size else (0 if "b" in trim and "f" not in trim
                                                       else vals.size)
    return asarray(filt)[start:builtins.max(start, stop)]


def packbits(a, axis=None, bitorder="big"):
    a = asarray(a)
    if not (_dt.is_int(a.dtype) or a.dtype == bool_):
        raise TypeError(f"packbits: expected an integer or bool array, got {a.dtype}")
    if bitorder not in ("big", "little"):
        raise ValueError(f"packbits: bitorder must be 'big' or 'little', got {bitorder!r}")
    bits = astype(_to_bool(a), uint8)
    if axis is None:
        bits, axis = ravel(bits), 0
    ax = canonicalize_axis(axis, bits.ndim, "packbits")
    bits = moveaxis(bits, ax, -1)
    n = bits.shape[-1]
    bits = pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, -n % 8)])
    bits = reshape(bits, bits.shape[:-1] + (-1, 8))
    shifts = _onp.arange(8, dtype=_onp.uint8)
    shifts = shifts[::-1] if bitorder == "big" else shifts
    packed = sum(bits << asarray(shifts), -1, dtype=uint8)
    return moveaxis(packed, -1, ax)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    a = asarray(a)
    if a.dtype != uint8:
        raise TypeError(f"unpackbits: expected a uint8 array, got {a.dtype}")
    if bitorder not in ("big", "little"):
        raise ValueError(f"unpackbits: bitorder must be 'big' or 'little', got {bitorder!r}")
    shifts = _onp.arange(8, dtype=_onp.uint8)
    shifts = shifts[::-1] if bitorder == "big" else shifts
    bits = (expand_dims(a, -1) >> asarray(shifts)) & asarray(1, uint8)
    if axis is None:
        bits, axis = ravel(bits), 0
    else:
        ax = canonicalize_axis(axis, a.ndim, "unpackbits")
        bits = moveaxis(reshape(moveaxis(bits, ax, -2), a.shape[:ax] + a.shape[ax + 1:]
                                + (a.shape[ax] * 8,)), -1, ax)
        axis = ax
    if count is not None:
        bits = lax.slice_in_dim(bits, 0, builtins.min(count, bits.shape[axis]), 1, axis) \
            if count >= 0 else lax.slice_in_dim(bits, 0, bits.shape[axis] + count, 1, axis)
    return bits
