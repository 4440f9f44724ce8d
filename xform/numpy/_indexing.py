"""NumPy indexing (``x[idx]``) and functional updates (``x.at[idx].set(v)``).

Static ints and slices become ``slice``/``rev``/``reshape``; a traced scalar
index becomes ``dynamic_slice``; integer-array and boolean-mask indices become
one ``gather``.  Updates reuse the read path: indexing an iota of flat positions
tells which element each update goes to, and one ``scatter`` writes them.

Out-of-bounds behaviour follows JAX: reads clamp (or fill, with
``.at[].get(mode='fill')``), updates out of bounds are dropped.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives.ops import GatherDimensionNumbers, ScatterDimensionNumbers
from primitives.shape_poly import InconclusiveDimensionOperation, is_symbolic

from .. import lax
from ..core import Array, Tracer, where
from ..core import trace as _trace
from ._core import asarray, astype, broadcast_shapes, stack
from ._shape import broadcast_to, ravel
from ._ufuncs import clip, floor_divide, negative, power, reciprocal, remainder, _where
from ._selection import nonzero

_ARRAY = (Array, Tracer)


def _is_int_scalar(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def _slice_of_ints(s: slice) -> slice:
    """``s`` with 0-d integer arrays as bounds made Python ints (``x[i:i + n]`` with ``i``
    an array, as NumPy and JAX allow); a traced bound fails, naming what it fixes."""
    if not any(type(v) is Array or type(v) is Tracer for v in (s.start, s.stop, s.step)):
        return s

    def bound(v):
        if type(v) is Tracer:
            v.concrete("a slice bound (it fixes the result's shape; use "
                       "lax.dynamic_slice for a traced start)")
        if type(v) is not Array:
            return v
        if v.ndim or not dtypes.is_int(v.dtype):
            raise IndexError(f"slice bounds must be integers or 0-d integer arrays, got an "
                             f"array {v.dtype}{list(v.shape)}{where()}")
        return int(v)
    return slice(bound(s.start), bound(s.stop), bound(s.step))


def _normalize(x, idx):
    """Expand Ellipsis, apply None (new axes) to ``x``; returns (x, one entry per dim)."""
    if isinstance(idx, list):
        raise TypeError("Using a non-tuple sequence for multidimensional indexing is not "
                        "allowed (as in JAX); use x[jnp.array(seq)] or x[tuple(seq)]"
                        f"{where()}")
    if not isinstance(idx, tuple):
        idx = (idx,)
    idx = tuple(asarray(i) if isinstance(i, list) else _slice_of_ints(i)
                if isinstance(i, slice) else i for i in idx)
    # a scalar boolean adds an axis of length 1 (True) or 0 (False), as in NumPy
    idx = tuple((None if bool(i) else _EMPTY_AXIS) if _is_bool_scalar(i) else i for i in idx)
    n_ell = sum(1 for i in idx if i is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")

    def consumed(i):
        if i is None or i is Ellipsis or i is _EMPTY_AXIS:
            return 0
        if isinstance(i, (np.ndarray,) + _ARRAY) and (i.dtype == np.bool_):
            return max(i.ndim, 1) if i.ndim else 0
        return 1
    used = sum(consumed(i) for i in idx)
    if used > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but "
                         f"{used} were indexed{where()}")
    if n_ell:
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (x.ndim - used) + idx[k + 1:]
    else:
        idx = idx + (slice(None),) * (x.ndim - used)
    if any(i is None or i is _EMPTY_AXIS for i in idx):
        shape, j = [], 0
        new_idx = []
        for i in idx:
            if i is None or i is _EMPTY_AXIS:
                shape.append(1)
                new_idx.append(slice(None) if i is None else slice(0, 0))
            else:
                for _ in range(consumed(i)):
                    shape.append(x.shape[j])
                    j += 1
                new_idx.append(i)
        x = lax.reshape(x, shape)
        idx = tuple(new_idx)
    return x, idx


_EMPTY_AXIS = object()  # stands for a False scalar index: a new axis of length 0


def _is_bool_scalar(i):
    if isinstance(i, (bool, np.bool_)):
        return True
    return isinstance(i, (np.ndarray,) + _ARRAY) and i.ndim == 0 and i.dtype == np.bool_


def _symbolic_slice_indices(s: slice, n):
    """``s.indices(n)`` for a symbolic ``n`` (positive steps, and ``::-1``); a bound
    whose clamping depends on ``n``'s value raises InconclusiveDimensionOperation."""
    step = 1 if s.step is None else int(s.step)
    if step < 0:
        if s.start is None and s.stop is None and step == -1:
            return n - 1, -1, -1
        raise InconclusiveDimensionOperation(
            f"slice {s} of a symbolic dimension {n}: only positive steps and ::-1 are "
            f"supported")

    def bound(v, default):
        if v is None:
            return default
        v = int(v)
        if v < 0:
            return n + v if n + v >= 0 else 0
        return v if n >= v else n
    return bound(s.start, 0), bound(s.stop, n), step


def _static_slice(x, dim, s: slice):
    n = x.shape[dim]
    if is_symbolic(n):
        start, stop, step = _symbolic_slice_indices(s, n)
        if step < 0:
            return lax.rev(x, (dim,))
        return lax.slice_in_dim(x, start, stop, step, dim)
    start, stop, step = s.indices(n)
    if step > 0:
        if stop <= start:
            stop = start
        return lax.slice_in_dim(x, start, stop, step, dim)
    # negative step: reverse, then slice forward
    count = len(range(start, stop, step))
    y = lax.rev(x, (dim,))
    first = n - 1 - start
    return lax.slice_in_dim(y, first, first + (count - 1) * (-step) + 1 if count else first,
                            -step, dim)


def _as_index_array(i, n, dim):
    """Integer index array with negative entries wrapped (out-of-range left for the op)."""
    a = asarray(i)
    if not (dtypes.is_int(a.dtype)):
        raise IndexError(f"indices must be integers, slices, None, Ellipsis or integer/boolean "
                         f"arrays; got an array of dtype {a.dtype}{where()}")
    if dtypes.is_unsigned(a.dtype):
        return a
    return _where(a < 0, a + n, a) if n else a


def getitem(x, idx, mode=None, fill_value=None):
    x, idx = _normalize(x, idx)
    if mode is not None:
        # an explicit mode (.at[].get(mode=...), take) handles a static index out of bounds
        # as a traced one; without one it is an IndexError (docs/differences.md)
        idx = tuple(np.asarray(i, np.int32) if _is_int_scalar(i) and
                    not -x.shape[d] <= i < x.shape[d] else i for d, i in enumerate(idx))
    # 1. static ints and slices
    advanced = [d for d, i in enumerate(idx) if not (isinstance(i, slice) or _is_int_scalar(i))]
    if not advanced or all(_is_scalar_index(idx[d]) for d in advanced) and len(advanced) == 1 \
            and mode is None:
        drop = []
        for d, i in enumerate(idx):
            if isinstance(i, slice):
                if i != slice(None):
                    x = _static_slice(x, d, i)
            elif _is_int_scalar(i):
                n = x.shape[d]
                if not -n <= i < n:
                    raise IndexError(f"index {i} is out of bounds for axis {d} with size {n}"
                                     f"{where()}")
                if type(x) is Array and not _trace._stack and n > 1:
                    # eager: the index as an operand, so that one compiled program serves
                    # every i (``for i in range(n): x[i]`` compiled n slices before)
                    k = np.int32(i % n) if n < 2 ** 31 else np.int64(i % n)
                    x = lax.dynamic_slice_in_dim(x, asarray(k), 1, d,
                                                 allow_negative_indices=False)
                else:
                    x = lax.slice_in_dim(x, i % n, i % n + 1, 1, d)
                drop.append(d)
            else:  # one traced scalar: dynamic_slice
                n = x.shape[d]
                k = _as_index_array(i, n, d)
                x = lax.dynamic_slice_in_dim(x, k, 1, d, allow_negative_indices=False)
                drop.append(d)
        return lax.squeeze(x, drop) if drop else x
    # 2. slices first, leaving only integer / array indices
    sliced = []
    for d, i in enumerate(idx):
        if isinstance(i, slice) and i != slice(None):
            x = _static_slice(x, d, i)
            sliced.append(slice(None))
        else:
            sliced.append(i)
    idx = sliced
    # boolean masks -> integer indices (data-dependent shape: needs concrete values)
    expanded, dim = [], 0
    for i in idx:
        if isinstance(i, (np.ndarray,) + _ARRAY) and i.dtype == np.bool_ and i.ndim > 0:
            if isinstance(i, Tracer) and i.val is None:
                raise IndexError(
                    f"boolean mask indexing has a data-dependent shape, which jit cannot "
                    f"compile; use jnp.where(mask, x, 0) or jnp.nonzero(mask, size=N)"
                    f"{where()}")
            if tuple(i.shape) != tuple(x.shape[dim:dim + i.ndim]):
                raise IndexError(f"boolean index shape {i.shape} does not match indexed "
                                 f"shape {x.shape[dim:dim + i.ndim]}{where()}")
            expanded.extend(nonzero(i))
            dim += i.ndim
        else:
            expanded.append(i)
            dim += 1
    idx = expanded
    adv = [d for d, i in enumerate(idx) if not isinstance(i, slice)]
    arrays = [_as_index_array(idx[d], x.shape[d], d) for d in adv]
    bshape = broadcast_shapes(*[a.shape for a in arrays])
    itype = dtypes.promote(*[(a.dtype, False) for a in arrays])[0] if arrays else np.int32
    arrays = [broadcast_to(astype(a, itype), bshape) for a in arrays]
    indices = stack(arrays, axis=-1)
    rest = [d for d in range(x.ndim) if d not in adv]
    nb = len(bshape)
    dn = GatherDimensionNumbers(offset_dims=tuple(range(nb, nb + len(rest))),
                                collapsed_slice_dims=tuple(adv), start_index_map=tuple(adv))
    slice_sizes = [1 if d in adv else x.shape[d] for d in range(x.ndim)]
    out = lax.gather(x, indices, dn, slice_sizes)
    if mode == "fill":
        ok = None
        for a, d in zip(arrays, adv):
            inb = (a >= 0) & (a < x.shape[d])
            ok = inb if ok is None else ok & inb
        ok = lax.broadcast_in_dim(ok, out.shape, tuple(range(nb)))
        fv = fill_value if fill_value is not None else (
            np.nan if dtypes.is_inexact(x.dtype) else
            (np.iinfo(x.dtype).min if dtypes.is_int(x.dtype) else True))
        out = _where(ok, out, asarray(fv, x.dtype))
    # NumPy: adjacent advanced indices keep their place; otherwise they go first
    if adv and adv == list(range(adv[0], adv[0] + len(adv))) and adv[0] > 0:
        perm = list(range(nb, nb + adv[0])) + list(range(nb)) + \
            list(range(nb + adv[0], out.ndim))
        out = lax.transpose(out, perm)
    return out


def _is_scalar_index(i):
    return isinstance(i, _ARRAY) and i.ndim == 0 and dtypes.is_int(i.dtype)


def take(a, indices, axis=None, mode=None, fill_value=None, unique_indices=False,
         indices_are_sorted=False):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = axis % a.ndim
    idx = (slice(None),) * axis + (asarray(indices),)
    return getitem(a, idx, mode="fill" if mode in (None, "fill") else None,
                   fill_value=fill_value) if mode != "clip" and mode != "wrap" else \
        getitem(a, (slice(None),) * axis + (
            clip(asarray(indices), 0, a.shape[axis] - 1) if mode == "clip" else
            remainder(asarray(indices), a.shape[axis]),))


def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None):
    arr, indices = asarray(arr), asarray(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = axis % arr.ndim
    if indices.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: indices and arr must have the same number of "
                         f"dimensions, got {indices.shape} and {arr.shape}{where()}")
    shape = tuple(max(a, b) if d != axis else indices.shape[d]
                  for d, (a, b) in enumerate(zip(arr.shape, indices.shape)))
    idx = []
    for d in range(arr.ndim):
        if d == axis:
            idx.append(broadcast_to(indices, shape))
        else:
            io = lax.broadcasted_iota(np.int32, shape, d)
            idx.append(io)
    arr = broadcast_to(arr, tuple(arr.shape[d] if d == axis else shape[d]
                                      for d in range(arr.ndim)))
    return getitem(arr, tuple(idx), mode="fill" if mode in (None, "fill") else None,
                   fill_value=fill_value)


# --- .at[...] ----------------------------------------------------------------------------------

class AtIndexer:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.array, idx)


class _IndexUpdateRef:
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def get(self, *, mode=None, fill_value=None, indices_are_sorted=False, unique_indices=False):
        if mode in ("fill", "drop"):
            return getitem(self.array, self.index, mode="fill", fill_value=fill_value)
        return getitem(self.array, self.index, mode=mode)

    def set(self, values, *, mode=None, **kw):
        return _scatter(self.array, self.index, values, lax.scatter, mode, **kw)

    def add(self, values, *, mode=None, **kw):
        return _scatter(self.array, self.index, values, lax.scatter_add, mode, **kw)

    def subtract(self, values, *, mode=None, **kw):
        return self.add(negative(values), mode=mode)

    def multiply(self, values, *, mode=None, **kw):
        return _scatter(self.array, self.index, values, lax.scatter_mul, mode, **kw)

    mul = multiply

    def divide(self, values, *, mode=None, **kw):
        return self.multiply(reciprocal(asarray(values, self.array.dtype)), mode=mode) \
            if dtypes.is_inexact(self.array.dtype) else \
            self.set(floor_divide(self.get(), values), mode=mode)

    def power(self, values, *, mode=None, **kw):
        return self.set(power(self.get(), values), mode=mode)

    def min(self, values, *, mode=None, **kw):
        return _scatter(self.array, self.index, values, lax.scatter_min, mode, **kw)

    def max(self, values, *, mode=None, **kw):
        return _scatter(self.array, self.index, values, lax.scatter_max, mode, **kw)

    def apply(self, func, *, mode=None, **kw):
        return self.set(func(self.get()), mode=mode)


def _scatter(x, idx, values, scatter_fn, mode, indices_are_sorted=False, unique_indices=False):
    """Write ``values`` at ``x[idx]`` with one scatter (into the flattened array, unless the
    index is a single integer array on one axis)."""
    x = asarray(x)
    if mode not in (None, "drop", "fill", "promise_in_bounds", "clip"):
        raise ValueError(f".at[]: unknown mode {mode!r}")
    axis_index = _single_axis_index(x, idx)
    if axis_index is not None:
        return _scatter_along_axis(x, *axis_index, values, scatter_fn, mode,
                                   indices_are_sorted, unique_indices)
    positions = lax.reshape(lax.iota(np.int32, x.size), x.shape) if x.size else None
    if positions is None:
        return x
    if mode == "clip":
        target = getitem(positions, idx, mode="clip")
    else:  # out-of-bounds updates are dropped: mark them with an impossible position
        target = getitem(positions, idx, mode="fill", fill_value=-1) \
            if mode is not None or _has_array_index(idx) else getitem(positions, idx)
    vals = asarray(values)
    vals = astype(vals, x.dtype) if vals.dtype != x.dtype else vals
    try:
        vals = broadcast_to(vals, target.shape)
    except ValueError:
        raise ValueError(f".at[].set/add: values of shape {vals.shape} cannot be broadcast to the "
                         f"indexed shape {target.shape}{where()}") from None
    flat_t = lax.reshape(target, (target.size, 1))
    flat_v = lax.reshape(vals, (target.size,))
    dn = ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
                                 scatter_dims_to_operand_dims=(0,))
    out = scatter_fn(lax.reshape(x, (x.size,)), flat_t, flat_v, dn)
    return lax.reshape(out, x.shape)


def _single_axis_index(x, idx):
    """``(axis, index array)`` when ``idx`` is one integer array on one axis and full slices
    on the others (``x.at[i]``, ``x.at[:, i]``): the common case, which needs no table of
    flat positions."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if len(items) > x.ndim or any(i is None or i is Ellipsis for i in items):
        return None
    arrays = [(d, i) for d, i in enumerate(items) if not isinstance(i, slice)]
    if len(arrays) != 1 or any(i != slice(None) for i in items if isinstance(i, slice)):
        return None
    axis, i = arrays[0]
    if not isinstance(i, (np.ndarray,) + _ARRAY) or not dtypes.is_int(i.dtype):
        return None
    return axis, i


def _scatter_along_axis(x, axis, index, values, scatter_fn, mode, indices_are_sorted,
                        unique_indices):
    """``x.at[..., index, ...]`` as one scatter whose windows are the other axes.

    XLA's scatter skips updates whose index is out of bounds, which is JAX's default
    'drop' mode; 'clip' clamps the indices first."""
    n = x.shape[axis]
    index = _as_index_array(index, n, axis)
    if mode == "clip":
        index = clip(index, 0, n - 1)
    nb = index.ndim
    target_shape = tuple(x.shape[:axis]) + tuple(index.shape) + tuple(x.shape[axis + 1:])
    vals = asarray(values)
    vals = astype(vals, x.dtype) if vals.dtype != x.dtype else vals
    try:
        vals = broadcast_to(vals, target_shape)
    except ValueError:
        raise ValueError(f".at[] update: values of shape {vals.shape} cannot be broadcast to "
                         f"the indexed shape {target_shape}{where()}") from None
    window = tuple(range(axis)) + tuple(range(axis + nb, x.ndim + nb - 1))
    dn = ScatterDimensionNumbers(update_window_dims=window, inserted_window_dims=(axis,),
                                 scatter_dims_to_operand_dims=(axis,))
    return scatter_fn(x, lax.reshape(index, tuple(index.shape) + (1,)), vals, dn,
                      indices_are_sorted=indices_are_sorted, unique_indices=unique_indices)


def _has_array_index(idx):
    idx = idx if isinstance(idx, tuple) else (idx,)
    return any(not (isinstance(i, slice) or i is None or i is Ellipsis or _is_int_scalar(i))
               for i in idx)
