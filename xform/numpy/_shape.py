"""Shape manipulation: reshape, transpose and axis moves, broadcasting, joining
(``concatenate``, ``*stack``, ``block``, ``append``), splitting, flips, ``tile``.
``stack`` itself is in _core (``asarray`` needs it); ``pad``, ``repeat`` and ``roll``,
built on ``take`` or ``remainder``, are in _editing."""
from __future__ import annotations

import builtins
import math

import numpy as _onp

from primitives.shape_poly import InconclusiveDimensionOperation, canonical_dim

from .. import lax
from ..core import where as _where_msg
from ._core import (ARRAY_TYPES, asarray, astype, broadcast_shapes, broadcast_to_shape,
                    canonicalize_axes, canonicalize_axis, promote_dtypes, shape_of)

__all__ = ["shape", "ndim", "size", "reshape", "ravel", "transpose", "permute_dims",
           "matrix_transpose", "swapaxes", "moveaxis", "rollaxis", "squeeze", "expand_dims",
           "broadcast_to", "broadcast_arrays", "atleast_1d", "atleast_2d", "atleast_3d",
           "concatenate", "concat", "vstack", "row_stack", "hstack", "dstack", "column_stack",
           "split", "array_split", "hsplit", "vsplit", "dsplit", "flip", "fliplr", "flipud",
           "rot90", "tile", "append", "block", "unstack"]


def _shape_tuple(shape, op):
    if isinstance(shape, (int, _onp.integer)):
        shape = (shape,)
    try:
        shape = tuple(canonical_dim(d) for d in shape)
    except TypeError:
        raise TypeError(f"{op}: shape must be a tuple of ints, got {shape!r}{_where_msg()}") \
            from None
    if builtins.any(d < 0 for d in shape):
        raise ValueError(f"{op}: negative dimensions are not allowed, got {shape}{_where_msg()}")
    return shape


def shape(a):
    return shape_of(a)


def ndim(a):
    return len(shape_of(a))


def size(a, axis=None):
    s = shape_of(a)
    if axis is None:
        return builtins.int(_onp.prod(s))
    if not -len(s) <= axis < len(s):
        raise IndexError(f"size: axis {axis} is out of bounds for an array of shape {s}"
                         f"{_where_msg()}")   # (IndexError, as NumPy's and JAX's)
    return s[axis]


def _divides(k, n) -> bool:
    """Whether ``k`` divides ``n`` (for a symbolic ``n``: for every value of it)."""
    try:
        return n % k == 0
    except InconclusiveDimensionOperation:
        return False


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if copy not in (None, True, False):
        raise TypeError(f"reshape: copy must be None, True or False, got {copy!r}")
    a = asarray(a, copy=True) if copy else asarray(a)   # copy=False: never copies anyway
    shape = newshape if shape is None else shape
    shape = (shape,) if isinstance(shape, (int, _onp.integer)) else tuple(shape)
    if order not in ("C", "F", "A"):
        raise ValueError(f"reshape: unknown order {order!r}")
    if builtins.sum(1 for d in shape if d == -1) > 1:
        raise ValueError(f"reshape: can only specify one unknown dimension, got {shape}")
    if -1 in shape:
        known = math.prod([d for d in shape if d != -1], start=1)
        if known == 0 or not _divides(known, a.size):
            raise TypeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) "
                            f"into shape {shape}{_where_msg()}")
        shape = tuple(a.size // known if d == -1 else d for d in shape)
    if math.prod(shape, start=1) != a.size:
        raise TypeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) into "
                        f"shape {shape} (size {math.prod(shape, start=1)}){_where_msg()}")
    if order == "F":
        return transpose(lax.reshape(transpose(a), shape[::-1]))
    return lax.reshape(a, shape)


def ravel(a, order="C"):
    a = asarray(a)
    return reshape(a, (a.size,), order)


def transpose(a, axes=None):
    a = asarray(a)
    axes = tuple(range(a.ndim))[::-1] if axes is None else \
        tuple(canonicalize_axis(ax, a.ndim, "transpose") for ax in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {a.ndim} axes")
    return lax.transpose(a, axes)


permute_dims = transpose


def matrix_transpose(x):
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    a = asarray(a)
    perm = list(range(a.ndim))
    i, j = canonicalize_axis(axis1, a.ndim), canonicalize_axis(axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return lax.transpose(a, perm)


def moveaxis(a, source, destination):
    a = asarray(a)
    src = canonicalize_axes(source, a.ndim, "moveaxis")
    dst = canonicalize_axes(destination, a.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    order = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return lax.transpose(a, order)


def rollaxis(a, axis, start=0):
    a = asarray(a)
    axis = canonicalize_axis(axis, a.ndim)
    start = start % (a.ndim + 1) if start < 0 else start
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


def squeeze(a, axis=None):
    a = asarray(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = canonicalize_axes(axis, a.ndim, "squeeze")
        for ax in axes:
            if a.shape[ax] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has "
                                 f"size not equal to one (axis {ax} of shape {a.shape})")
    return lax.squeeze(a, axes)


def expand_dims(a, axis):
    a = asarray(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = a.ndim + len(axes)
    axes = [canonicalize_axis(ax, nd, "expand_dims") for ax in axes]
    return lax.expand_dims(a, axes)


def broadcast_to(array, shape):
    array = asarray(array)
    shape = _shape_tuple(shape, "broadcast_to")
    s = array.shape
    if len(s) > len(shape) or builtins.any(a not in (1, b) for a, b in zip(s[::-1], shape[::-1])):
        raise ValueError(f"broadcast_to: cannot broadcast array of shape {s} to {shape}"
                         f"{_where_msg()}")
    if s == shape:
        return array
    if s == ():
        return lax.broadcast_in_dim(array, shape, ())
    return broadcast_to_shape(array, shape)


def broadcast_arrays(*args):
    shape = broadcast_shapes(*[shape_of(a) for a in args])
    return [broadcast_to(a, shape) for a in args]


def atleast_1d(*arys):
    out = [reshape(a, (1,)) if asarray(a).ndim == 0 else asarray(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        out.append(reshape(a, (1,) * (2 - a.ndim) + a.shape) if a.ndim < 2 else a)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        if a.ndim == 0:
            a = reshape(a, (1, 1, 1))
        elif a.ndim == 1:
            a = reshape(a, (1, a.shape[0], 1))
        elif a.ndim == 2:
            a = reshape(a, a.shape + (1,))
        out.append(a)
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0, dtype=None):
    if isinstance(arrays, ARRAY_TYPES):
        arrays = [arrays[i] for i in range(arrays.shape[0])]
    if not len(arrays):
        raise ValueError("concatenate: need at least one array to concatenate")
    arrays = [asarray(a) for a in arrays]
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    arrays = promote_dtypes(*arrays) if len(arrays) > 1 else arrays
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    nd = arrays[0].ndim
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    axis = canonicalize_axis(axis, nd, "concatenate")
    for a in arrays:
        if a.ndim != nd or builtins.any(x != y for i, (x, y) in enumerate(zip(a.shape, arrays[0].shape))
                               if i != axis):
            raise TypeError(f"concatenate: all input shapes must match except along axis {axis}, "
                            f"got {', '.join(str(x.shape) for x in arrays)}{_where_msg()}")
    return lax.concatenate(arrays, axis)


concat = concatenate


def vstack(tup, dtype=None):
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def hstack(tup, dtype=None):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if arrs[0].ndim == 1 else 1, dtype)


def dstack(tup, dtype=None):
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
    arrs = [asarray(a) for a in tup]
    arrs = [reshape(a, (-1, 1)) if a.ndim < 2 else a for a in arrs]
    return concatenate(arrs, 1)


def split(ary, indices_or_sections, axis=0):
    return _split("split", ary, indices_or_sections, axis, strict=True)


def array_split(ary, indices_or_sections, axis=0):
    return _split("array_split", ary, indices_or_sections, axis, strict=False)


def _split(op, ary, sections, axis, strict):
    ary = asarray(ary)
    axis = canonicalize_axis(axis, ary.ndim, op)
    n = ary.shape[axis]
    if isinstance(sections, (int, _onp.integer)):
        if strict and n % sections:
            raise ValueError(f"{op}: array split does not result in an equal division "
                             f"({n} into {sections})")
        q, r = builtins.divmod(n, sections)
        sizes = [q + 1] * r + [q] * (sections - r)
        points = list(_onp.cumsum([0] + sizes))
    else:
        points = [0] + [builtins.min(builtins.max(builtins.int(i) if i >= 0 else n + builtins.int(i), 0), n)
                        for i in sections] + [n]
    return [lax.slice_in_dim(ary, points[i], builtins.max(points[i], points[i + 1]), 1, axis)
            for i in range(len(points) - 1)]


def hsplit(ary, s):
    return split(ary, s, 1 if asarray(ary).ndim > 1 else 0)


def vsplit(ary, s):
    return split(ary, s, 0)


def dsplit(ary, s):
    return split(ary, s, 2)


def flip(m, axis=None):
    m = asarray(m)
    axes = canonicalize_axes(axis, m.ndim, "flip")
    return lax.rev(m, axes) if axes else m


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def rot90(m, k=1, axes=(0, 1)):
    m = asarray(m)
    k %= 4
    a0, a1 = axes
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


def tile(A, reps):
    A = asarray(A)
    reps = (reps,) if isinstance(reps, (int, _onp.integer)) else tuple(reps)
    nd = builtins.max(len(reps), A.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, (1,) * (nd - A.ndim) + A.shape)
    shape = []
    for r, n in zip(reps, A.shape):
        shape += [r, n]
    out = lax.broadcast_in_dim(A, tuple(shape), tuple(range(1, 2 * nd, 2)))
    return reshape(out, [r * n for r, n in zip(reps, A.shape)])


def append(arr, values, axis=None):
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis)


def block(arrays):
    """Assemble an array from nested lists of blocks (innermost lists join the last axis)."""
    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list)
                                                                   else 0)
    d = depth(arrays)
    if isinstance(arrays, tuple):
        raise TypeError("block: arrays must be nested lists, not tuples")
    if d == 0:
        return asarray(arrays)

    def ndim_max(x):
        return builtins.max(ndim_max(e) for e in x) if isinstance(x, list) else asarray(x).ndim
    nd = builtins.max(ndim_max(arrays), d)

    def assemble(x, level):
        if not isinstance(x, list):
            x = asarray(x)
            return reshape(x, (1,) * (nd - x.ndim) + x.shape)
        if not x:
            raise ValueError("block: lists cannot be empty")
        return concatenate([assemble(e, level + 1) for e in x], nd - d + level)
    return assemble(arrays, 0)


def unstack(x, axis=0):
    x = asarray(x)
    if x.ndim == 0:
        raise ValueError("unstack: requires an array of at least one dimension")
    ax = canonicalize_axis(axis, x.ndim, "unstack")
    return tuple(lax.index_in_dim(x, i, ax, keepdims=False) for i in builtins.range(x.shape[ax]))
