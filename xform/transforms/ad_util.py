"""What the differentiation transforms share: symbolic zeros, tangent types, small
broadcast/accumulate helpers, and the equation being rewritten (for error messages)."""
from __future__ import annotations

import numpy as np

from primitives import dtypes, ops
from primitives.ops import GatherDimensionNumbers
from primitives.core import Literal, ShapedArray

from .. import lax
from ..core import bind


# JAX's dtype of the tangent of an integer or boolean value
float0 = np.dtype([("float0", np.void, 0)])


class Zero:
    """A symbolic zero tangent/cotangent of abstract value ``aval``."""
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


class NonDifferentiableError(TypeError):
    """Differentiation reached a meta-operator that has no derivative."""


def is_diff_dtype(dt) -> bool:
    return dtypes.is_inexact(dt)


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    return aval


def aval_of(x):
    return lax.aval(x)


def zeros_like_aval(aval: ShapedArray):
    lit = Literal(np.zeros((), aval.dtype)[()], ShapedArray((), aval.dtype, aval.weak_type))
    if aval.shape == ():
        return lit
    return bind(ops.broadcast_in_dim, lit, shape=aval.shape, broadcast_dimensions=())


def instantiate(t, aval=None):
    if type(t) is Zero:
        return zeros_like_aval(t.aval)
    if t is None:
        return zeros_like_aval(aval)
    return t


def bcast_to(x, shape):
    """Broadcast a scalar (rank-0) to ``shape``; identity if it already has it."""
    a = aval_of(x)
    if a.shape == tuple(shape):
        return x
    assert a.shape == (), (a, shape)
    return bind(ops.broadcast_in_dim, x, shape=tuple(shape), broadcast_dimensions=())


def unbroadcast(ct, aval):
    """Sum ``ct`` down to ``aval``'s shape (operands of rank 0 broadcast implicitly)."""
    a = aval_of(ct)
    if a.shape != aval.shape:
        assert aval.shape == (), (a, aval)
        ct = lax.reduce_sum(ct, tuple(range(a.ndim)))
    return ct


def add_tangents(a, b):
    """Zero/None-aware addition of tangents or cotangents of equal type."""
    if a is None or type(a) is Zero:
        return b
    if b is None or type(b) is Zero:
        return a
    return bind(ops.binary["add"], a, b)


def weak_const(x, v):
    """A weakly typed scalar literal ``v`` in the dtype of ``x``."""
    return lax.weak_literal(v, aval_of(x).dtype)


M, D, A, S, NEG = lax.mul, lax.div, lax.add, lax.sub, lax.neg


def keep_dims_bcast(y, in_shape, axes):
    """Broadcast a reduced value back to the operand's shape."""
    kept = tuple(d for d in range(len(in_shape)) if d not in axes)
    return bind(ops.broadcast_in_dim, y, shape=tuple(in_shape), broadcast_dimensions=kept) \
        if aval_of(y).shape != tuple(in_shape) else y


class _State:
    """What the AD rewrites are doing now, for the rules that depend on it."""
    mode = "rev"   # "fwd" while building a jaxpr for forward mode (jvp, linearize)
    eqn = None     # the equation being rewritten (for error messages)


ad_state = _State()


def where_eqn():
    e = ad_state.eqn
    return f" (at {e.source})" if e is not None and e.source is not None else ""


def nondiff_error(name, why=""):
    raise NonDifferentiableError(
        f"cannot differentiate meta-operator {name!r}{why}{where_eqn()}; wrap the value in "
        f"lax.stop_gradient if its derivative is not needed")


# --- scatter windows: shared by scatter's JVP and its transpose -----------------------------
def index_bounds(idx, operand_shape, sizes, index_map):
    """(clamped indices, in-bounds mask over the batch of index vectors)."""
    ia = aval_of(idx)
    ub = np.asarray([operand_shape[d] - sizes[d] for d in index_map], ia.dtype)
    ubb = bind(ops.broadcast_in_dim, ub, shape=ia.shape, broadcast_dimensions=(ia.ndim - 1,))
    zero = Literal(np.zeros((), ia.dtype)[()], ShapedArray((), ia.dtype))
    clamped = lax.max(lax.min(idx, ubb), bcast_to(zero, ia.shape))
    inb = lax.reduce_and(lax.bitwise_and(lax.ge(idx, bcast_to(zero, ia.shape)), lax.le(idx, ubb)),
                         (ia.ndim - 1,))
    return clamped, inb


def gather_scattered_windows(ct, idx, u_aval, x_shape, dn, **params):
    """``ct`` gathered at the windows a scatter with ``dn`` writes (shaped like its updates,
    ``u_aval``), zero where the update was dropped (out of bounds): the cotangent of a
    scatter's updates, and which update won each place (scatter's JVP)."""
    sizes = []
    pos = 0
    for d in range(len(x_shape)):
        if d in dn.inserted_window_dims or d in dn.operand_batching_dims:
            sizes.append(1)
        else:
            sizes.append(u_aval.shape[dn.update_window_dims[pos]])
            pos += 1
    gdn = GatherDimensionNumbers(
        offset_dims=dn.update_window_dims, collapsed_slice_dims=dn.inserted_window_dims,
        start_index_map=dn.scatter_dims_to_operand_dims,
        operand_batching_dims=dn.operand_batching_dims,
        start_indices_batching_dims=dn.scatter_indices_batching_dims)
    g = bind(ops.gather, ct, idx, dimension_numbers=gdn, slice_sizes=tuple(sizes),
             indices_are_sorted=params.get("indices_are_sorted", False),
             unique_indices=params.get("unique_indices", False))
    _, inb = index_bounds(idx, x_shape, sizes, dn.scatter_dims_to_operand_dims)
    batch_dims = tuple(d for d in range(u_aval.ndim) if d not in dn.update_window_dims)
    mask = bind(ops.broadcast_in_dim, inb, shape=u_aval.shape, broadcast_dimensions=batch_dims)
    return bind(ops.select_n, mask, zeros_like_aval(u_aval), g)
