"""The ``jax.lax`` names that are compositions of other lax operations rather than
meta-operators of their own: cumulative reductions, ``top_k``, array builders (``full``,
``stack``, ``split``, ``tile``), shape arithmetic for convolutions and windows, scatter
variants, ``reduce`` with a user computation, ``mulhi`` and the identity-valued markers.

Cumulative reductions are ``associative_scan`` of the binary op, the formulation JAX lowers
to on CPU and GPU and differentiates through, so values and derivatives (ties of
``cummax`` split their slope by the same tree) agree with JAX's.
"""
from __future__ import annotations

import builtins
import enum
import math
import operator
from typing import Sequence

import numpy as np

from primitives import custom as _custom
from primitives import dtypes
from primitives import fft as _fft
from primitives.irutil import hoist_consts
from lowering import _jaxlib

from .. import passes
from ..core import bind, where
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import find_builder, leaf_aval, trace_to_jaxpr
from . import ops as lax
from .associative import associative_scan
from .parallel import ppermute

__all__ = ["scaled_dot", "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp", "top_k", "approx_max_k",
           "approx_min_k", "full", "full_like", "empty", "stack", "unstack", "split", "tile",
           "broadcast_shapes", "broadcast_to_rank", "broadcast_like", "collapse",
           "batch_matmul", "index_take", "scatter_sub", "scatter_apply", "reduce", "mulhi",
           "optimization_barrier", "dce_sink", "stage", "composite", "dtype",
           "shape_as_value", "pshuffle", "fft", "FftType", "platform_dependent",
           "reduce_window_shape_tuple"]


# --- cumulative reductions ------------------------------------------------------------------

def _with_jvp(name, fun, jvp, *args):
    """``fun(*args)`` (arrays in, one array out) as one ``custom_jvp_call`` equation whose
    JVP is ``jvp(primals, tangents) -> (out, tangent)``: the emitter of the meta-operator
    behind ``custom_jvp``, for the lax names JAX defines with one (they lie below api)."""
    if find_builder() is None:
        return fun(*args)
    avals = [leaf_aval(x, f"{name}: argument {i}") for i, x in enumerate(args)]
    closed, _ = trace_to_jaxpr(fun, avals, tree_flatten((args, {}))[1], context=name)
    call, consts = hoist_consts(passes.simplify(closed))

    def rule(primals, tangents):
        out, t = jvp(primals, tangents)
        return [out], [t]
    return bind(_custom.custom_jvp_call, *consts, *args, call_jaxpr=call, jvp=rule,
                num_consts=len(consts), name=name)[0]


def _log_add_exp_value(a, b):
    amax = lax.max(a, b)
    if dtypes.is_complex(lax.aval(a).dtype):
        # max + log1p(exp(a + b - 2 max)), the imaginary part wrapped into [-pi, pi]
        out = amax + lax.log1p(lax.exp(a + b - amax * 2))
        pi = full_like(lax.imag(out), np.pi)
        im = lax.rem(lax.imag(out) + pi, pi * 2)
        im = lax.select(lax.lt(im, full_like(im, 0)), im + pi * 2, im) - pi
        return lax.complex(lax.real(out), im)
    # max + log1p(exp(-|a - b|)); NaN, or infinities of one sign: a + b
    delta = a - b
    tail = lax.log1p(lax.exp(lax.neg(lax.abs(delta))))
    return lax.select(lax.ne(delta, delta), a + b, amax + tail)


def _log_add_exp_jvp(primals, tangents):
    # d/da = e^(a - out), +inf read as 0 (JAX's rule, so its values at infinities too);
    # the primal is the custom call again, so every order of derivative follows this rule
    a, b = primals
    ta, tb = tangents
    out = _log_add_exp(a, b)

    def finite(v):   # of a complex v, its real part is tested
        re = lax.real(v) if dtypes.is_complex(lax.aval(v).dtype) else v
        return lax.select(lax.eq(re, full_like(re, np.inf)), full_like(v, 0), v)
    return out, (ta * lax.exp(finite(a) - finite(out))) + (tb * lax.exp(finite(b) - finite(out)))


def _log_add_exp(a, b):
    """JAX's ``lax.logaddexp``, with its custom JVP: no kink at a tie."""
    return _with_jvp("logaddexp", _log_add_exp_value, _log_add_exp_jvp, a, b)


def _cumulative(name, combine, kinds):
    def f(operand, axis: int = 0, reverse: bool = False):
        a = lax.aval(operand)
        if kinds == "inexact" and not dtypes.is_inexact(a.dtype):
            raise TypeError(f"{name}: operand must be floating or complex, got {a.dtype}"
                            f"{where()}")
        if kinds == "numeric" and a.dtype == np.bool_:
            raise TypeError(f"{name}: operand must be numeric, got bool{where()}")
        if a.ndim == 0:
            raise ValueError(f"{name}: operand must have at least one dimension{where()}")
        if axis < 0:   # as JAX: lax takes axes as XLA does
            raise ValueError(f"{name}: axis must be non-negative (lax, as XLA, does not count "
                             f"from the end), got {axis}{where()}")
        if axis >= a.ndim:
            raise ValueError(f"{name}: axis {axis} is out of bounds for an operand of shape "
                             f"{a.shape}{where()}")
        return associative_scan(combine, operand, reverse=bool(reverse), axis=axis)
    f.__doc__ = (f"``{name}(operand, axis=0, reverse=False)``: the inclusive prefix "
                 f"reduction along ``axis`` (from the end when ``reverse``).")
    return lax.named(f, name)


cumsum = _cumulative("cumsum", lax.add, "numeric")
cumprod = _cumulative("cumprod", lax.mul, "numeric")
cummax = _cumulative("cummax", lax.max, "any")
cummin = _cumulative("cummin", lax.min, "any")
cumlogsumexp = _cumulative("cumlogsumexp", _log_add_exp, "inexact")


# --- top_k ----------------------------------------------------------------------------------

def _k_along(name, operand, k, axis):
    a = lax.aval(operand)
    k = operator.index(k)
    if a.ndim == 0:
        raise TypeError(f"{name}: operand must have at least one dimension{where()}")
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for shape {a.shape}{where()}")
    axis %= a.ndim
    if not 0 <= k <= a.shape[axis]:
        raise ValueError(f"{name}: k must be between 0 and the size {a.shape[axis]} of axis "
                         f"{axis}, got k={k}{where()}")
    return a, k, axis


def _total_order_key(x):
    """An integer key whose order is IEEE total order (-NaN < -inf < ... < -0 < +0 < ...
    < inf < NaN), the order XLA's TopK compares floats in; other dtypes are their own key."""
    dt = lax.aval(x).dtype
    if not dtypes.is_inexact(dt) or dtypes.is_complex(dt):
        return x
    it = np.dtype(f"int{np.dtype(dt).itemsize * 8}")
    bits = lax.bitcast_convert_type(x, it)
    flip = lax.shift_right_logical(lax.shift_right_arithmetic(bits, full_like(bits, it.itemsize * 8 - 1)),
                                   full_like(bits, 1))
    return lax.bitwise_xor(bits, flip)


def top_k(operand, k: int, *, axis: int = -1):
    """``[values, indices]``: the ``k`` largest entries along ``axis`` in descending order
    and their int32 indices; equal entries keep their order (lower index first); floats
    compare in IEEE total order (NaN largest, -NaN smallest), as XLA's TopK."""
    a, k, axis = _k_along("top_k", operand, k, axis)
    # a stable ascending sort of the reversed axis, read backwards, puts ties in index order
    idx = lax.broadcasted_iota(np.int32, a.shape, axis)
    rev = lax.rev(operand, (axis,))
    key = _total_order_key(rev)
    ops = (key, rev, lax.rev(idx, (axis,))) if key is not rev else (rev, lax.rev(idx, (axis,)))
    outs = lax.sort(ops, axis, num_keys=1)[-2:]
    n = a.shape[axis]
    return [lax.rev(lax.slice_in_dim(x, n - k, n, 1, axis), (axis,)) for x in outs]


def _bottom_k(name, operand, k, axis):
    a, k, axis = _k_along(name, operand, k, axis)
    idx = lax.broadcasted_iota(np.int32, a.shape, axis)
    key = _total_order_key(operand)
    ops = (key, operand, idx) if key is not operand else (operand, idx)
    outs = lax.sort(ops, axis, num_keys=1)[-2:]
    return [lax.slice_in_dim(x, 0, k, 1, axis) for x in outs]


def _approx_k(name, largest):
    def f(operand, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
          reduction_input_size_override: int = -1, aggregate_to_topk: bool = True):
        if not aggregate_to_topk:
            raise NotImplementedError(f"{name}: aggregate_to_topk=False (a TPU partial "
                                      f"result) is not supported; xform computes the exact "
                                      f"top k{where()}")
        if not 0 < recall_target <= 1:
            raise ValueError(f"{name}: recall_target must be in (0, 1], got "
                             f"{recall_target}{where()}")
        if largest:
            return top_k(operand, k, axis=reduction_dimension)
        return _bottom_k(name, operand, k, reduction_dimension)
    f.__doc__ = (f"``{name}``: exact on every backend (as JAX on CPU and GPU), so any "
                 f"``recall_target`` is met.")
    return lax.named(f, name)


approx_max_k = _approx_k("approx_max_k", True)
approx_min_k = _approx_k("approx_min_k", False)


# --- builders -------------------------------------------------------------------------------

def _shape_tuple(name, shape):
    try:
        return tuple(operator.index(d) for d in (shape if isinstance(shape, (tuple, list))
                                                 else (shape,)))
    except TypeError:
        raise TypeError(f"{name}: shape must be a sequence of integers, got {shape!r}"
                        f"{where()}") from None


def full(shape, fill_value, dtype=None, *, sharding=None):
    """An array of ``shape`` filled with ``fill_value`` (a scalar), in ``dtype`` or the
    value's own (a Python scalar gives the weak default type)."""
    shape = _shape_tuple("full", shape)
    if sharding is not None:
        raise NotImplementedError(f"full: sharding= is not supported; use "
                                  f"with_sharding_constraint{where()}")
    fill_shape = lax.aval(fill_value).shape if hasattr(fill_value, "aval") else \
        np.shape(fill_value)
    if fill_shape:
        raise TypeError(f"full: fill_value must be a scalar, got shape {fill_shape}{where()}")
    if type(fill_value) in (bool, int, float, builtins.complex) and dtype is None:
        dt = dtypes.canonicalize(dtypes.python_scalar_dtype(fill_value))
        v = lax.weak_literal(fill_value, dt)
    else:
        v = fill_value
        if not isinstance(v, (lax.Tracer, lax.Literal)) and not hasattr(v, "aval"):
            v = np.asarray(v)
            v = v.astype(dtypes.canonicalize(v.dtype))
        if dtype is not None:
            v = lax.convert_element_type(v, dtypes.canonicalize(np.dtype(dtype)))
    return lax.broadcast(v, shape)


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """``full`` with the shape and dtype of ``x`` (weak when ``x`` is weak)."""
    a = lax.aval(x)
    dt = a.dtype if dtype is None else dtypes.canonicalize(np.dtype(dtype))
    v = lax.convert_element_type(fill_value, dt, weak_type=a.weak_type and dtype is None)
    return full(a.shape if shape is None else shape, v, sharding=sharding)


def empty(shape, dtype, *, out_sharding=None):
    """A zero-filled array (XLA has no uninitialised memory to hand out)."""
    return full(shape, 0, dtype, sharding=out_sharding)


def stack(operands: Sequence, axis: int = 0):
    """The operands (of one shape and dtype) stacked along a new ``axis``."""
    operands = list(operands)
    if not operands:
        raise ValueError(f"stack: needs at least one operand{where()}")
    nd = lax.aval(operands[0]).ndim
    if not -(nd + 1) <= axis <= nd:
        raise ValueError(f"stack: axis {axis} is out of bounds for rank {nd + 1}{where()}")
    axis %= nd + 1
    return lax.concatenate([lax.expand_dims(x, (axis,)) for x in operands], axis)


def unstack(x, axis: int = 0):
    """The slices of ``x`` along ``axis``, as a tuple."""
    a = lax.aval(x)
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"unstack: axis {axis} is out of bounds for shape {a.shape}"
                         f"{where()}")
    axis %= a.ndim
    return tuple(lax.index_in_dim(x, i, axis, keepdims=False) for i in range(a.shape[axis]))


def split(operand, sizes: Sequence[int], axis: int = 0):
    """Consecutive pieces of ``operand`` along ``axis`` of the given ``sizes`` (which must
    add up to that axis's length)."""
    a = lax.aval(operand)
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"split: axis {axis} is out of bounds for shape {a.shape}{where()}")
    axis %= a.ndim
    sizes = [operator.index(s) for s in sizes]
    if any(s < 0 for s in sizes) or builtins.sum(sizes) != a.shape[axis]:
        raise ValueError(f"split: sizes {sizes} must be non-negative and add up to "
                         f"{a.shape[axis]}, the length of axis {axis}{where()}")
    starts = np.cumsum([0] + sizes)
    return [lax.slice_in_dim(operand, int(s), int(s) + n, 1, axis)
            for s, n in zip(starts, sizes)]


def tile(operand, reps: Sequence[int]):
    """``operand`` repeated ``reps[i]`` times along axis ``i`` (``reps`` has its rank)."""
    a = lax.aval(operand)
    reps = tuple(operator.index(r) for r in reps)
    if len(reps) != a.ndim:
        raise ValueError(f"tile: reps {reps} must have one entry per axis of the operand of "
                         f"shape {a.shape}{where()}")
    # broadcast to (r0, d0, r1, d1, ...) then merge each pair
    inter = tuple(v for r, d in zip(reps, a.shape) for v in (r, d))
    b = lax.broadcast_in_dim(operand, inter, tuple(range(1, 2 * a.ndim, 2)))
    return lax.reshape(b, tuple(r * d for r, d in zip(reps, a.shape)))


def broadcast_shapes(*shapes):
    """The NumPy broadcast of the shapes (a tuple), or a ValueError naming them."""
    shapes = [tuple(operator.index(d) for d in s) for s in shapes]
    if not shapes:
        return ()
    nd = builtins.max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (nd - len(s)) + s for s in shapes]):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}"
                             f"{where()}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_to_rank(x, rank: int):
    """``x`` with leading axes of length 1 added up to ``rank``."""
    nd = lax.aval(x).ndim
    if rank < nd:
        raise ValueError(f"broadcast_to_rank: rank {rank} is below the operand's rank {nd}"
                         f"{where()}")
    return lax.broadcast(x, (1,) * (rank - nd)) if rank > nd else x


def broadcast_like(arr, like_arr):
    """``arr`` broadcast to ``like_arr``'s shape."""
    shape = lax.aval(like_arr).shape
    a = lax.aval(arr)
    target = broadcast_shapes(a.shape, shape)
    if target != shape:
        raise ValueError(f"broadcast_like: shape {a.shape} does not broadcast to {shape}"
                         f"{where()}")
    dims = tuple(range(len(shape) - a.ndim, len(shape)))
    return lax.broadcast_in_dim(arr, shape, dims)


def collapse(operand, start_dimension: int, stop_dimension: int | None = None):
    """The axes ``[start_dimension, stop_dimension)`` merged into one."""
    a = lax.aval(operand)
    start = start_dimension % builtins.max(a.ndim, 1) if start_dimension < 0 else start_dimension
    stop = a.ndim if stop_dimension is None else (
        stop_dimension % (a.ndim + 1) if stop_dimension < 0 else stop_dimension)
    if not 0 <= start <= stop <= a.ndim:
        raise ValueError(f"collapse: dimensions [{start_dimension}, {stop_dimension}) are not "
                         f"a range of the axes of shape {a.shape}{where()}")
    shape = a.shape[:start] + (math.prod(a.shape[start:stop]),) + a.shape[stop:]
    return lax.reshape(operand, shape)


def batch_matmul(lhs, rhs, precision=None):
    """``lhs @ rhs`` over matching leading batch axes (both of rank >= 2)."""
    la, ra = lax.aval(lhs), lax.aval(rhs)
    if la.ndim < 2 or la.ndim != ra.ndim or la.shape[:-2] != ra.shape[:-2] or \
            la.shape[-1] != ra.shape[-2]:
        raise ValueError(f"batch_matmul: shapes {la.shape} and {ra.shape} must be (..., m, k) "
                         f"and (..., k, n) with the same batch axes{where()}")
    batch = tuple(range(la.ndim - 2))
    return lax.dot_general(lhs, rhs, (((la.ndim - 1,), (ra.ndim - 2,)), (batch, batch)),
                           precision=precision)


def index_take(src, idxs, axes: Sequence[int]):
    """``src[idxs[0], idxs[1], ...]`` over ``axes`` (one index vector per axis, wrapped
    modulo the axis length): a gather of whole slices along the other axes."""
    axes = tuple(operator.index(a) for a in axes)
    a = lax.aval(src)
    idxs = list(idxs)
    if len(idxs) != len(axes) or any(lax.aval(i).ndim != 1 for i in idxs):
        raise ValueError(f"index_take: idxs must be {len(axes)} index vectors, one per axis "
                         f"of {axes}{where()}")
    cols = []
    for i, ax in zip(idxs, axes):
        i = i if isinstance(i, (lax.Tracer, lax.Literal)) or hasattr(i, "aval") \
            else np.asarray(i)
        n = full_like(i, a.shape[ax])
        cols.append(lax.expand_dims(lax.rem(lax.rem(i, n) + n, n), (1,)))   # Python's %
    indices = lax.concatenate(cols, 1)
    dn = lax.GatherDimensionNumbers(offset_dims=tuple(range(1, a.ndim - len(axes) + 1)),
                                    collapsed_slice_dims=axes, start_index_map=axes)
    sizes = tuple(1 if i in axes else a.shape[i] for i in range(a.ndim))
    return lax.gather(src, indices, dn, sizes)


# --- scatter variants and reduce --------------------------------------------------------------

def scatter_sub(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """``operand`` with ``updates`` subtracted at the indices (duplicates accumulate)."""
    return lax.scatter_add(operand, scatter_indices, lax.neg(updates), dimension_numbers,
                           indices_are_sorted=indices_are_sorted,
                           unique_indices=unique_indices, mode=mode)


def scatter_apply(operand, scatter_indices, func, dimension_numbers, *, update_shape=(),
                  indices_are_sorted=False, unique_indices=False, mode=None):
    """``operand`` with ``func`` applied once at each indexed position: the indexed values
    are gathered, mapped and written back (duplicate indices apply ``func`` once)."""
    dn = dimension_numbers
    a = lax.aval(operand)
    ones = full(tuple(update_shape), True, np.bool_)
    # mark the positions the scatter reaches, then apply func where marked
    marks = lax.scatter(full(a.shape, False, np.bool_), scatter_indices, ones, dn,
                        indices_are_sorted=indices_are_sorted,
                        unique_indices=unique_indices, mode=mode)
    return lax.select(marks, func(operand), operand)


_MONOIDS = {lax.add: (lax.reduce_sum, 0), lax.mul: (lax.reduce_prod, 1),
            lax.max: (lax.reduce_max, None), lax.min: (lax.reduce_min, None),
            lax.bitwise_and: (lax.reduce_and, None), lax.bitwise_or: (lax.reduce_or, None),
            lax.bitwise_xor: (lax.reduce_xor, None)}


def reduce(operands, init_values, computation, dimensions: Sequence[int], out_sharding=None):
    """Reduce ``dimensions`` of the operand(s) with ``computation`` starting from
    ``init_values`` (pytrees of matching structure).  A known monoid (``lax.add``,
    ``lax.max``, ...) becomes its reduction meta-operator; any other computation, assumed
    associative as XLA assumes it, is applied by pairwise halving."""
    if out_sharding is not None:
        raise NotImplementedError(f"reduce: out_sharding= is not supported{where()}")
    xs, tree = tree_flatten(operands)
    inits, itree = tree_flatten(init_values)
    if tree != itree:
        raise TypeError(f"reduce: operands {tree} and init_values {itree} must have the same "
                        f"structure{where()}")
    dims = tuple(sorted(operator.index(d) % builtins.max(lax.aval(xs[0]).ndim, 1)
                        for d in dimensions))
    if len(xs) == 1 and computation in _MONOIDS:
        red, _ = _MONOIDS[computation]
        out = red(xs[0], dims)
        return tree_unflatten(tree, [computation(out, inits[0])])
    shape = lax.aval(xs[0]).shape
    keep = [d for d in range(len(shape)) if d not in dims]
    perm = keep + list(dims)
    n = math.prod(shape[d] for d in dims)
    flat = [lax.reshape(lax.transpose(x, perm), tuple(shape[d] for d in keep) + (n,))
            for x in xs]
    axis = len(keep)
    acc = [lax.broadcast(i, tuple(shape[d] for d in keep)) for i in inits]

    def apply(a, b):
        out, otree = tree_flatten(computation(tree_unflatten(tree, a), tree_unflatten(tree, b)))
        if otree != tree:
            raise TypeError(f"reduce: computation must return the structure {tree}, got "
                            f"{otree}{where()}")
        return out

    while n > 1:
        half = n // 2
        # neighbours pair up (0+1, 2+3, ...): left operands stay left, as in a left fold
        lo = [lax.slice_in_dim(x, 0, 2 * half, 2, axis) for x in flat]
        hi = [lax.slice_in_dim(x, 1, 2 * half, 2, axis) for x in flat]
        tail = [lax.slice_in_dim(x, 2 * half, n, 1, axis) for x in flat]
        flat = [lax.concatenate([p, t], axis) for p, t in zip(apply(lo, hi), tail)]
        n = half + n - 2 * half
    if n == 1:
        acc = apply(acc, [lax.squeeze(x, (axis,)) for x in flat])
    return tree_unflatten(tree, acc)


# --- integer arithmetic -----------------------------------------------------------------------

def mulhi(x, y, /):
    """The high half of the double-width product of two integers of one type."""
    a = lax.aval(x)
    if a.dtype != lax.aval(y).dtype or not dtypes.is_int(a.dtype):
        raise TypeError(f"mulhi: operands must be integers of one type, got {a.dtype} and "
                        f"{lax.aval(y).dtype}{where()}")
    bits = np.dtype(a.dtype).itemsize * 8
    udt = np.dtype(f"uint{bits}")
    half = bits // 2
    mask = full_like(lax.convert_element_type(x, udt), (1 << half) - 1)
    sh = full_like(mask, half)
    ux, uy = lax.bitcast_convert_type(x, udt), lax.bitcast_convert_type(y, udt)
    xl, xh = lax.bitwise_and(ux, mask), lax.shift_right_logical(ux, sh)
    yl, yh = lax.bitwise_and(uy, mask), lax.shift_right_logical(uy, sh)
    ll, lh, hl, hh = xl * yl, xl * yh, xh * yl, xh * yh
    mid = lax.shift_right_logical(ll, sh) + lax.bitwise_and(lh, mask) + \
        lax.bitwise_and(hl, mask)
    hi = hh + lax.shift_right_logical(lh, sh) + lax.shift_right_logical(hl, sh) + \
        lax.shift_right_logical(mid, sh)
    if dtypes.is_unsigned(a.dtype):
        return hi
    # signed: subtract y where x < 0 and x where y < 0 (two's complement correction)
    zero = full_like(x, 0)
    fix = lax.select(lax.lt(x, zero), uy, full_like(uy, 0)) + \
        lax.select(lax.lt(y, zero), ux, full_like(ux, 0))
    return lax.bitcast_convert_type(hi - fix, a.dtype)


# --- markers whose value is their operand -----------------------------------------------------

def optimization_barrier(operand, /):
    """The operand (a pytree), unchanged.  JAX uses it to stop XLA from moving computation
    across it; xform's programs are scheduled by XLA without that hint (values are
    identical, see docs/differences.md)."""
    return operand


def dce_sink(val, *, prevent_mlir_dce: bool = False):
    """Returns None: JAX's marker that keeps ``val`` from dead-code elimination.  xform
    removes no equation a caller can observe, so there is nothing to keep alive."""
    return None


def stage(x, /):
    """``x`` unchanged (JAX's staging marker)."""
    return x


def composite(decomposition, name: str, version: int = 0):
    """A decorator: ``decomposition`` called as itself (JAX also tags it in StableHLO as a
    named composite, which XLA inlines on every backend)."""
    if not callable(decomposition):
        raise TypeError(f"composite: decomposition must be callable{where()}")

    def call(*args, **kwargs):
        return decomposition(*args, **kwargs)
    call.__name__ = getattr(decomposition, "__name__", name)
    call.__doc__ = decomposition.__doc__
    return call


def dtype(x):
    """The canonical dtype of ``x`` (an array, scalar or dtype-like)."""
    if isinstance(x, (lax.Tracer, lax.Literal)) or hasattr(x, "aval"):
        return lax.aval(x).dtype
    if type(x) in (bool, int, float, builtins.complex):
        return dtypes.canonicalize(dtypes.python_scalar_dtype(x))
    try:
        return dtypes.canonicalize(np.result_type(x))
    except TypeError:
        raise TypeError(f"dtype: cannot determine the dtype of {x!r}{where()}") from None


def shape_as_value(shape):
    """The shape as an int array."""
    return full((len(shape),), 0, np.int32) + np.asarray(shape, np.int32) if shape else \
        full((0,), 0, np.int32)


def pshuffle(x, axis_name, perm):
    """Position ``i`` along ``axis_name`` receives ``x`` from position ``perm[i]``."""
    perm = [operator.index(p) for p in perm]
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"pshuffle: perm {perm} is not a permutation of range({len(perm)})"
                         f"{where()}")
    return ppermute(x, axis_name, [(src, dst) for dst, src in enumerate(perm)])


class FftType(enum.IntEnum):
    """The four transforms of ``lax.fft`` (as ``jax.lax.FftType``)."""
    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3


def fft(x, fft_type, fft_lengths):
    """The ``fft`` meta-operator over the trailing ``len(fft_lengths)`` (1 to 3) axes;
    ``fft_type`` is a ``FftType`` or its name ('FFT', 'IFFT', 'RFFT', 'IRFFT')."""
    if isinstance(fft_type, str):
        name = fft_type.upper()
    elif isinstance(fft_type, enum.Enum) or isinstance(fft_type, int):
        try:
            name = FftType(int(fft_type.value if isinstance(fft_type, enum.Enum)
                               else fft_type)).name
        except ValueError:
            name = str(fft_type)
    else:
        name = repr(fft_type)
    return bind(_fft.fft, x, fft_type=name,
                fft_lengths=tuple(operator.index(n) for n in fft_lengths))


def platform_dependent(*args, default=None, **per_platform):
    """``per_platform[p](*args)`` for the platform ``p`` of the default device ('cpu',
    'cuda', 'rocm', 'tpu'), else ``default(*args)``.  xform lowers for one platform, so the
    choice is made while tracing."""
    dev = _jaxlib.default_device()
    plat = dev.platform
    names = [plat]
    if plat == "gpu":
        version = str(getattr(dev.client, "platform_version", "")).lower()
        names = ["rocm" if "rocm" in version else "cuda", "gpu"]
    for n in names:
        if n in per_platform:
            return per_platform[n](*args)
    if default is None:
        raise NotImplementedError(f"platform_dependent: no branch for platform {names[0]!r} "
                                  f"(have {sorted(per_platform)}) and no default{where()}")
    return default(*args)


def reduce_window_shape_tuple(operand_shape, window_dimensions, window_strides, padding,
                              base_dilation=None, window_dilation=None):
    """The output shape of a ``reduce_window`` (padding as (lo, hi) pairs)."""
    nd = len(operand_shape)
    base = base_dilation or (1,) * nd
    wdil = window_dilation or (1,) * nd
    out = []
    for n, w, s, (lo, hi), b, d in zip(operand_shape, window_dimensions, window_strides,
                                      padding, base, wdil):
        size = (n - 1) * b + 1 + lo + hi if n else lo + hi
        span = (w - 1) * d + 1
        out.append(builtins.max(0, (size - span) // s + 1))
    return tuple(out)


def _scaled_operand(x, scale, contracting, dtype, side):
    """``x * scale`` in ``dtype``, ``scale`` repeated over its blocks of each contracting
    dimension (the other dimensions of ``x`` and ``scale`` must be equal)."""
    x = lax.convert_element_type(x, dtype)
    if scale is None:
        return x
    scale_shape = lax.aval(scale).shape
    if len(scale_shape) != x.ndim:
        raise TypeError(f"scaled_dot: {side}_scale must have the rank of {side} ({x.ndim}), "
                        f"got shape {scale_shape} for {side} of shape {x.shape}{where()}")
    for d, (n, m) in enumerate(zip(x.shape, scale_shape)):
        if d in contracting:
            if m == 0 or n % m:
                raise TypeError(f"scaled_dot: {side}_scale's contracting dimension {d} has "
                                f"{m} blocks, which does not divide {side}'s {n}{where()}")
        elif n != m:
            raise TypeError(f"scaled_dot: {side}_scale {scale_shape} and {side} {x.shape} "
                            f"differ in the non-contracting dimension {d}{where()}")
    # each block of the scale, broadcast over a new axis and folded back: jnp.repeat's
    # layout, written with the two structural meta-ops XLA's own decomposition uses
    s = lax.convert_element_type(scale, dtype)
    for d in sorted(contracting, reverse=True):
        reps = x.shape[d] // s.shape[d]
        if reps == 1:
            continue
        shape = s.shape[:d + 1] + (reps,) + s.shape[d + 1:]
        s = lax.broadcast_in_dim(s, shape, tuple(i if i <= d else i + 1
                                                 for i in range(s.ndim)))
        s = lax.reshape(s, s.shape[:d] + (s.shape[d] * reps,) + s.shape[d + 2:])
    return lax.mul(x, s)


def scaled_dot(lhs, rhs, *, lhs_scale=None, rhs_scale=None, dimension_numbers=None,
               preferred_element_type=None):
    """``dot_general(lhs * lhs_scale, rhs * rhs_scale)`` with each scale repeated over
    its blocks of the contracting dimensions: operands and scales in bfloat16, the
    product accumulated into ``preferred_element_type`` (default bfloat16).  That is
    XLA's decomposition of its ``scaled_dot``, so the bits are the ones JAX gets on the
    CPU.  Unlike JAX's (no transpose rule), it differentiates."""
    ls, rs = lax.aval(lhs).shape, lax.aval(rhs).shape
    if dimension_numbers is None:
        if len(ls) == len(rs) == 2:
            dimension_numbers = (((1,), (0,)), ((), ()))
        elif len(ls) == len(rs) == 3:
            dimension_numbers = (((2,), (1,)), ((0,), (0,)))
        else:
            raise TypeError(f"scaled_dot: without dimension_numbers the operands must both "
                            f"be 2-d or both 3-d, got shapes {ls} and {rs}"
                            f"{where()}")
    dtype = dtypes.canonicalize(np.dtype(preferred_element_type or dtypes.bfloat16))
    (lc, rc), _ = dimension_numbers
    # XLA's decomposition scales in bfloat16 whatever the operand and output types
    a = _scaled_operand(lhs, lhs_scale, tuple(lc), dtypes.bfloat16, "lhs")
    b = _scaled_operand(rhs, rhs_scale, tuple(rc), dtypes.bfloat16, "rhs")
    return lax.dot_general(a, b, dimension_numbers, preferred_element_type=dtype)
