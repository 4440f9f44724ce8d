"""``vmap``: the batching rewrite of the IR, and every meta-operator's batching rule.

``vmap(f)(*args)`` traces ``f`` on *per-example* abstract values into a jaxpr,
then rewrites that jaxpr with ``batch_jaxpr``: every value carries its batch
dimension (an int) or ``None`` ("not batched"), and each meta-operator has a
rule ``rule(ax, args, dims, **params) -> (outs, out_dims)`` (the ``RULES`` table
below, all side by side).  An equation whose operands are all unbatched is kept
as it is.  Rules move a batch dimension only when they must: elementwise ops with
operands batched at different dimensions move one of them, unbatched rank-0
operands stay as they are, ``dot_general`` gets a batch dimension,
``conv_general_dilated`` folds the batch into its batch/feature dimensions,
``gather``/``scatter`` use operand/indices batching dimensions, and a
``dynamic_slice`` with batched indices becomes a ``gather``.

The batched jaxpr is evaluated with ``eval_jaxpr`` into the current context
(eager, or an outer trace), so ``vmap`` composes with ``jit``, with itself and
with the other transforms.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from primitives import collectives as coll
from primitives import dtypes, ops
from primitives.core import ClosedJaxpr, Jaxpr, Literal, ShapedArray
from primitives.ops import ConvDimensionNumbers, GatherDimensionNumbers, ScatterDimensionNumbers

from . import lax, passes
from .array import Array
from .core import Builder, Tracer, bind, eval_jaxpr, trace_scope, where
from .lax.parallel import axis_frame
from .tree_util import LEAF, _lookup, _registry, tree_flatten, tree_unflatten

__all__ = ["vmap", "batch_jaxpr", "RULES", "not_mapped"]

not_mapped = None


class AxisInfo:
    """What a rule knows about the axis being batched: its size and name."""
    __slots__ = ("size", "name")

    def __init__(self, size: int, name=None):
        self.size = int(size)
        self.name = name

    def __repr__(self):
        return f"AxisInfo(size={self.size}, name={self.name!r})"


# --- helpers ----------------------------------------------------------------------------------

def _aval(x) -> ShapedArray:
    return lax.aval(x)


def _ndim(x) -> int:
    return _aval(x).ndim


def moveaxis(x, src: int, dst: int):
    """``x`` with axis ``src`` moved to ``dst`` (a transpose, or nothing)."""
    if src == dst:
        return x
    perm = [i for i in range(_ndim(x)) if i != src]
    perm.insert(dst, src)
    return lax.transpose(x, perm)


def bdim_at(x, bd, dst: int, size: int):
    """``x`` with its batch dimension at ``dst``; an unbatched ``x`` is broadcast."""
    if bd is None:
        a = _aval(x)
        shape = list(a.shape)
        shape.insert(dst, size)
        return bind(ops.broadcast_in_dim, x, shape=tuple(shape),
                    broadcast_dimensions=tuple(i for i in range(len(shape)) if i != dst))
    return moveaxis(x, bd, dst)


def _shift(axes, d):
    """Per-example axis numbers -> axis numbers with a batch dimension at ``d``."""
    return tuple(a + (a >= d) for a in axes)


def _inc(axes):
    return tuple(a + 1 for a in axes)


def _scalar(value, dtype):
    return np.asarray(value, dtype)[()]


def batched_aval(aval: ShapedArray, bd, size: int) -> ShapedArray:
    if bd is None:
        return aval
    shape = list(aval.shape)
    shape.insert(bd, size)
    return ShapedArray(tuple(shape), aval.dtype, aval.weak_type)


def unbatched_aval(aval: ShapedArray, bd) -> ShapedArray:
    if bd is None:
        return aval
    shape = list(aval.shape)
    del shape[bd]
    return ShapedArray(tuple(shape), aval.dtype, aval.weak_type)


# --- the rewrite --------------------------------------------------------------------------------
RULES: dict = {}
_ALWAYS: set = set()   # primitives whose rule runs even when no operand is batched


def batch_eval(jaxpr: Jaxpr, consts, args, in_dims, ax: AxisInfo):
    """Interpret ``jaxpr`` on batched values, binding into the current context.

    Returns ``(outs, out_dims)``.  ``consts`` are unbatched.
    """
    env: dict = {}

    def read(a):
        if type(a) is Literal:
            return a, None
        return env[a]

    for v, c in zip(jaxpr.constvars, consts):
        env[v] = (c, None)
    for v, x, d in zip(jaxpr.invars, args, in_dims):
        env[v] = (x, d)
    for eqn in jaxpr.eqns:
        vals, dims = [], []
        for a in eqn.invars:
            x, d = read(a)
            vals.append(x)
            dims.append(d)
        prim = eqn.prim
        if prim not in _ALWAYS and all(d is None for d in dims) and not (
                ax.name is not None and prim.subjaxpr_params
                and _mentions_axis(eqn.params, ax.name)):
            outs = bind(prim, *vals, **eqn.params)
            outs = list(outs) if prim.multiple_results else [outs]
            odims = [None] * len(outs)
        else:
            rule = RULES.get(prim)
            if rule is None:
                raise NotImplementedError(
                    f"vmap: no batching rule for meta-operator {prim.name} "
                    f"(family {prim.family}){where(eqn.source)}")
            outs, odims = rule(ax, vals, dims, **eqn.params)
        for v, o, d in zip(eqn.outvars, outs, odims):
            env[v] = (o, d)
    outs, dims = [], []
    for a in jaxpr.outvars:
        x, d = read(a)
        outs.append(x)
        dims.append(d)
    return outs, dims


_ANY = object()   # in ``out_dims``: keep whatever batch dimension the output has


def batch_jaxpr(closed: ClosedJaxpr, in_dims, axis_size: int, axis_name=None, out_dims=None):
    """The batching rewrite: ``(closed_batched, out_dims)``.

    ``in_dims[i]`` is the batch dimension of input ``i`` (``None``: not batched);
    the batched jaxpr takes inputs with those batch dimensions inserted.  With
    ``out_dims`` (a list of int / ``None`` / ``batching._ANY``) each output is
    moved (or broadcast) to that batch dimension; ``None`` requires the output
    to be unbatched.
    """
    ax = AxisInfo(axis_size, axis_name)
    jaxpr = closed.jaxpr
    b = Builder()
    with trace_scope(b):
        args = [b.new_arg(batched_aval(v.aval, d, ax.size)) for v, d in zip(jaxpr.invars, in_dims)]
        outs, dims = batch_eval(jaxpr, closed.consts, args, list(in_dims), ax)
        if out_dims is not None:
            outs, dims = list(outs), list(dims)
            for i, want in enumerate(out_dims):
                if want is _ANY:
                    continue
                if want is None:
                    if dims[i] is not None:
                        raise ValueError(
                            f"vmap has mapped output but out_axes is None (output {i} of "
                            f"per-example type {jaxpr.outvars[i].aval.str_short()} depends "
                            f"on a mapped input)")
                    continue
                outs[i] = bdim_at(outs[i], dims[i], want, ax.size)
                dims[i] = want
        out = b.to_jaxpr(outs)
    return passes.simplify(out), dims


# --- elementwise ------------------------------------------------------------------------------

def _elementwise_args(ax, args, dims, scalar_ok):
    """Line up operands of an elementwise op; returns (args, out_dim).

    Operands batched at another dimension are moved; rank-0 unbatched operands
    (where ``scalar_ok``) stay as they are; other unbatched or per-example rank-0
    operands are broadcast, which the op's equal-shapes rule requires.
    """
    pe = [_ndim(x) - (d is not None) for x, d in zip(args, dims)]
    full = max(pe)
    full_dims = {d for d, n in zip(dims, pe) if d is not None and n == full}
    # operands that agree keep their batch dimension; otherwise all move to 0 (as JAX)
    d_out = full_dims.pop() if len(full_dims) == 1 else 0
    pe_shape = None
    for x, d, n in zip(args, dims, pe):
        if n == full:
            s = list(_aval(x).shape)
            if d is not None:
                del s[d]
            pe_shape = s
            break
    b_shape = list(pe_shape)
    b_shape.insert(d_out, ax.size)
    b_shape = tuple(b_shape)
    out = []
    for x, d, n, ok in zip(args, dims, pe, scalar_ok):
        if d is None:
            if n == 0 and ok:
                out.append(x)
            elif n == 0:
                out.append(bind(ops.broadcast_in_dim, x, shape=b_shape, broadcast_dimensions=()))
            else:
                out.append(bdim_at(x, None, d_out, ax.size))
        elif n == full:
            out.append(moveaxis(x, d, d_out))
        else:  # per-example scalar, batched (B,), among full-rank operands
            out.append(bind(ops.broadcast_in_dim, x, shape=b_shape, broadcast_dimensions=(d_out,)))
    return out, d_out


def _unary_rule(prim):
    def rule(ax, args, dims, **params):
        return [bind(prim, args[0], **params)], [dims[0]]
    return rule


def _nary_rule(prim, scalar_ok_first_only=False):
    def rule(ax, args, dims, **params):
        ok = [True] + [not scalar_ok_first_only] * (len(args) - 1)
        new, d = _elementwise_args(ax, args, dims, ok)
        return [bind(prim, *new, **params)], [d]
    return rule


for _p in ops.unary.values():
    RULES[_p] = _unary_rule(_p)
for _p in (*ops.binary.values(), *ops.compare.values()):
    RULES[_p] = _nary_rule(_p)
RULES[ops.select_n] = _nary_rule(ops.select_n, scalar_ok_first_only=True)
RULES[ops.convert_element_type] = _unary_rule(ops.convert_element_type)


def _bitcast_rule(ax, args, dims, *, new_dtype):
    x, d = args[0], dims[0]
    old, new = _aval(x).dtype.itemsize, np.dtype(new_dtype).itemsize
    if old != new and d == _ndim(x) - 1:   # the op changes the last axis: keep it last
        x, d = moveaxis(x, d, 0), 0
    return [bind(ops.bitcast_convert_type, x, new_dtype=new_dtype)], [d]


RULES[ops.bitcast_convert_type] = _bitcast_rule


# --- structural -------------------------------------------------------------------------------

def _iota_rule(ax, args, dims, **params):   # no operands: never batched
    return [bind(ops.iota, **params)], [None]


RULES[ops.iota] = _iota_rule


def _broadcast_in_dim_rule(ax, args, dims, *, shape, broadcast_dimensions):
    x, d = args[0], dims[0]
    bdims = tuple(broadcast_dimensions)
    od = bdims[d - 1] + 1 if d > 0 else 0   # as early as the operand's order allows
    new_shape = list(shape)
    new_shape.insert(od, ax.size)
    new_bdims = bdims[:d] + (od,) + tuple(b + 1 for b in bdims[d:])
    return [bind(ops.broadcast_in_dim, x, shape=tuple(new_shape),
                 broadcast_dimensions=new_bdims)], [od]


RULES[ops.broadcast_in_dim] = _broadcast_in_dim_rule


def _reshape_rule(ax, args, dims, *, new_sizes):
    x, d = args[0], dims[0]
    shape = list(_aval(x).shape)
    # a reshape that leaves every axis before the batch axis alone keeps it in place
    pe = shape[:d] + shape[d + 1:]
    if tuple(pe[:d]) == tuple(new_sizes[:d]) and d <= len(new_sizes):
        out_shape = tuple(new_sizes[:d]) + (ax.size,) + tuple(new_sizes[d:])
        return [bind(ops.reshape, x, new_sizes=out_shape)], [d]
    x = moveaxis(x, d, 0)
    return [bind(ops.reshape, x, new_sizes=(ax.size,) + tuple(new_sizes))], [0]


RULES[ops.reshape] = _reshape_rule


def _transpose_rule(ax, args, dims, *, permutation):
    x, d = args[0], dims[0]
    n = len(permutation)
    perm = []
    for j in range(n + 1):
        if j == d:
            perm.append(d)
        else:
            p = permutation[j if j < d else j - 1]
            perm.append(p if p < d else p + 1)
    return [lax.transpose(x, perm)], [d]


RULES[ops.transpose] = _transpose_rule


def _slice_rule(ax, args, dims, *, start_indices, limit_indices, strides):
    x, d = args[0], dims[0]
    st = tuple(start_indices[:d]) + (0,) + tuple(start_indices[d:])
    li = tuple(limit_indices[:d]) + (ax.size,) + tuple(limit_indices[d:])
    sr = None if strides is None else tuple(strides[:d]) + (1,) + tuple(strides[d:])
    return [bind(ops.slice, x, start_indices=st, limit_indices=li, strides=sr)], [d]


RULES[ops.slice] = _slice_rule


def _pad_rule(ax, args, dims, *, padding_config):
    (x, pv), (xd, pd) = args, dims
    cfg = tuple(padding_config)
    if pd is None:
        cfg = cfg[:xd] + ((0, 0, 0),) + cfg[xd:]
        return [bind(ops.pad, x, pv, padding_config=cfg)], [xd]
    # batched padding value: pad with zeros, then select the padding value where padded
    dt = _aval(x).dtype
    xcfg = cfg if xd is None else cfg[:xd] + ((0, 0, 0),) + cfg[xd:]
    padded = bind(ops.pad, x, _scalar(0, dt), padding_config=xcfg)
    pe_shape = unbatched_aval(_aval(x), xd).shape
    src = bind(ops.broadcast_in_dim, np.bool_(False), shape=tuple(pe_shape), broadcast_dimensions=())
    mask = bind(ops.pad, src, np.bool_(True), padding_config=cfg)
    (m, p, v), od = _elementwise_args(ax, [mask, padded, pv], [None, xd, pd], [True, False, False])
    return [bind(ops.select_n, m, p, v)], [od]


RULES[ops.pad] = _pad_rule


def _concatenate_rule(ax, args, dims, *, dimension):
    d = next(d for d in dims if d is not None)
    xs = [bdim_at(x, xd, d, ax.size) for x, xd in zip(args, dims)]
    return [bind(ops.concatenate, *xs, dimension=dimension + (dimension >= d))], [d]


RULES[ops.concatenate] = _concatenate_rule


def _rev_rule(ax, args, dims, *, dimensions):
    return [bind(ops.rev, args[0], dimensions=_shift(dimensions, dims[0]))], [dims[0]]


RULES[ops.rev] = _rev_rule


def _index_vector(ax, idx, idx_dims):
    """Per-example scalar indices -> one (B, n) index array (common dtype)."""
    dts = [_aval(i).dtype for i in idx]
    dt = dts[0]
    for t in dts[1:]:
        if t.itemsize > dt.itemsize:
            dt = t
    cols = []
    for i, d in zip(idx, idx_dims):
        i = lax.convert_element_type(i, dt)
        i = bdim_at(i, d, 0, ax.size)   # (B,)
        cols.append(bind(ops.reshape, i, new_sizes=(ax.size, 1)))
    return lax.concatenate(cols, 1), dt


def _dynamic_slice_rule(ax, args, dims, *, slice_sizes):
    x, idx = args[0], args[1:]
    xd, idx_dims = dims[0], dims[1:]
    n = len(slice_sizes)
    if all(d is None for d in idx_dims):
        dt = _aval(idx[0]).dtype if idx else np.dtype(np.int32)
        new_idx = list(idx[:xd]) + [_scalar(0, dt)] + list(idx[xd:])
        sizes = tuple(slice_sizes[:xd]) + (ax.size,) + tuple(slice_sizes[xd:])
        return [bind(ops.dynamic_slice, x, *new_idx, slice_sizes=sizes)], [xd]
    indices, _ = _index_vector(ax, idx, idx_dims)
    if xd is None:
        dn = GatherDimensionNumbers(offset_dims=tuple(range(1, n + 1)), collapsed_slice_dims=(),
                                    start_index_map=tuple(range(n)))
        sizes = tuple(slice_sizes)
    else:
        x = moveaxis(x, xd, 0)
        dn = GatherDimensionNumbers(offset_dims=tuple(range(1, n + 1)), collapsed_slice_dims=(),
                                    start_index_map=tuple(range(1, n + 1)),
                                    operand_batching_dims=(0,), start_indices_batching_dims=(0,))
        sizes = (1,) + tuple(slice_sizes)
    return [bind(ops.gather, x, indices, dimension_numbers=dn, slice_sizes=sizes,
                 indices_are_sorted=False, unique_indices=False)], [0]


RULES[ops.dynamic_slice] = _dynamic_slice_rule


def _dynamic_update_slice_rule(ax, args, dims):
    x, upd, idx = args[0], args[1], args[2:]
    xd, ud, idx_dims = dims[0], dims[1], dims[2:]
    if all(d is None for d in idx_dims):
        d = xd if xd is not None else ud
        x, upd = bdim_at(x, xd, d, ax.size), bdim_at(upd, ud, d, ax.size)
        dt = _aval(idx[0]).dtype if idx else np.dtype(np.int32)
        new_idx = list(idx[:d]) + [_scalar(0, dt)] + list(idx[d:])
        return [bind(ops.dynamic_update_slice, x, upd, *new_idx)], [d]
    # batched start indices: a scatter, with the indices clamped as dynamic_update_slice does
    x_shape = unbatched_aval(_aval(x), xd).shape
    u_shape = unbatched_aval(_aval(upd), ud).shape
    n = len(x_shape)
    clamped = []
    for k, (i, d) in enumerate(zip(idx, idx_dims)):
        dt = _aval(i).dtype
        hi = _scalar(x_shape[k] - u_shape[k], dt)
        clamped.append(bind(ops.binary["min"], bind(ops.binary["max"], i, _scalar(0, dt)), hi))
    indices, _ = _index_vector(ax, clamped, idx_dims)
    x, upd = bdim_at(x, xd, 0, ax.size), bdim_at(upd, ud, 0, ax.size)
    dn = ScatterDimensionNumbers(update_window_dims=tuple(range(1, n + 1)), inserted_window_dims=(),
                                 scatter_dims_to_operand_dims=tuple(range(1, n + 1)),
                                 operand_batching_dims=(0,), scatter_indices_batching_dims=(0,))
    return [bind(ops.scatter["scatter"], x, indices, upd, dimension_numbers=dn,
                 indices_are_sorted=True, unique_indices=True)], [0]


RULES[ops.dynamic_update_slice] = _dynamic_update_slice_rule


def _gather_rule(ax, args, dims, *, dimension_numbers, slice_sizes, indices_are_sorted=False,
                 unique_indices=False):
    (x, idx), (xd, id_) = args, dims
    dn = dimension_numbers
    if id_ is None:   # the batch axis of the operand becomes a full-size window axis
        x = moveaxis(x, xd, 0)
        dn2 = GatherDimensionNumbers(
            offset_dims=(0,) + _inc(dn.offset_dims), collapsed_slice_dims=_inc(dn.collapsed_slice_dims),
            start_index_map=_inc(dn.start_index_map),
            operand_batching_dims=_inc(dn.operand_batching_dims),
            start_indices_batching_dims=tuple(dn.start_indices_batching_dims))
        sizes = (ax.size,) + tuple(slice_sizes)
    elif xd is None:  # a new leading batch axis of the indices
        idx = moveaxis(idx, id_, 0)
        dn2 = GatherDimensionNumbers(
            offset_dims=_inc(dn.offset_dims), collapsed_slice_dims=tuple(dn.collapsed_slice_dims),
            start_index_map=tuple(dn.start_index_map),
            operand_batching_dims=tuple(dn.operand_batching_dims),
            start_indices_batching_dims=_inc(dn.start_indices_batching_dims))
        sizes = tuple(slice_sizes)
    else:             # both batched: a gather batching dimension
        x, idx = moveaxis(x, xd, 0), moveaxis(idx, id_, 0)
        dn2 = GatherDimensionNumbers(
            offset_dims=_inc(dn.offset_dims), collapsed_slice_dims=_inc(dn.collapsed_slice_dims),
            start_index_map=_inc(dn.start_index_map),
            operand_batching_dims=(0,) + _inc(dn.operand_batching_dims),
            start_indices_batching_dims=(0,) + _inc(dn.start_indices_batching_dims))
        sizes = (1,) + tuple(slice_sizes)
    return [bind(ops.gather, x, idx, dimension_numbers=dn2, slice_sizes=sizes,
                 indices_are_sorted=indices_are_sorted, unique_indices=unique_indices)], [0]


RULES[ops.gather] = _gather_rule


def _scatter_rule(prim):
    def rule(ax, args, dims, *, dimension_numbers, indices_are_sorted=False, unique_indices=False):
        (x, idx, upd), (xd, id_, ud) = args, dims
        dn = dimension_numbers
        x, upd = bdim_at(x, xd, 0, ax.size), bdim_at(upd, ud, 0, ax.size)
        if id_ is None:   # batch axis: a full-size update window axis
            dn2 = ScatterDimensionNumbers(
                update_window_dims=(0,) + _inc(dn.update_window_dims),
                inserted_window_dims=_inc(dn.inserted_window_dims),
                scatter_dims_to_operand_dims=_inc(dn.scatter_dims_to_operand_dims),
                operand_batching_dims=_inc(dn.operand_batching_dims),
                scatter_indices_batching_dims=tuple(dn.scatter_indices_batching_dims))
        else:             # a scatter batching dimension
            idx = moveaxis(idx, id_, 0)
            dn2 = ScatterDimensionNumbers(
                update_window_dims=_inc(dn.update_window_dims),
                inserted_window_dims=_inc(dn.inserted_window_dims),
                scatter_dims_to_operand_dims=_inc(dn.scatter_dims_to_operand_dims),
                operand_batching_dims=(0,) + _inc(dn.operand_batching_dims),
                scatter_indices_batching_dims=(0,) + _inc(dn.scatter_indices_batching_dims))
        return [bind(prim, x, idx, upd, dimension_numbers=dn2,
                     indices_are_sorted=indices_are_sorted, unique_indices=unique_indices)], [0]
    return rule


for _p in ops.scatter.values():
    RULES[_p] = _scatter_rule(_p)


# --- reductions -------------------------------------------------------------------------------

def _reduce_rule(prim):
    def rule(ax, args, dims, *, axes, **params):
        d = dims[0]
        od = d - sum(a < d for a in axes)
        return [bind(prim, args[0], axes=_shift(axes, d), **params)], [od]
    return rule


for _p in ops.reduce.values():
    RULES[_p] = _reduce_rule(_p)


def _reduce_window_rule(prim):
    def rule(ax, args, dims, *, window_dimensions, window_strides, padding, base_dilation,
             window_dilation):
        d = dims[0]

        def ins(t, v):
            t = tuple(t)
            return t[:d] + (v,) + t[d:]
        return [bind(prim, args[0], window_dimensions=ins(window_dimensions, 1),
                     window_strides=ins(window_strides, 1), padding=ins(padding, (0, 0)),
                     base_dilation=ins(base_dilation, 1),
                     window_dilation=ins(window_dilation, 1))], [d]
    return rule


for _p in ops.reduce_window.values():
    RULES[_p] = _reduce_window_rule(_p)


# --- contractions -----------------------------------------------------------------------------

def _dot_general_rule(ax, args, dims, *, dimension_numbers, precision=None,
                      preferred_element_type=None):
    (x, y), (xd, yd) = args, dims
    (lc, rc), (lb, rb) = dimension_numbers
    if xd is not None and yd is not None:     # a new dot batch dimension, first in the output
        lc2, lb2 = _shift(lc, xd), (xd,) + _shift(lb, xd)
        rc2, rb2 = _shift(rc, yd), (yd,) + _shift(rb, yd)
        od = 0
    elif xd is not None:                      # a free lhs dimension
        lc2, lb2, rc2, rb2 = _shift(lc, xd), _shift(lb, xd), tuple(rc), tuple(rb)
        free = [i for i in range(_ndim(x)) if i not in lc2 and i not in lb2]
        od = len(lb) + free.index(xd)
    else:                                     # a free rhs dimension
        lc2, lb2, rc2, rb2 = tuple(lc), tuple(lb), _shift(rc, yd), _shift(rb, yd)
        free = [i for i in range(_ndim(y)) if i not in rc2 and i not in rb2]
        od = len(lb) + (_ndim(x) - len(lc) - len(lb)) + free.index(yd)
    return [bind(ops.dot_general, x, y, dimension_numbers=((lc2, rc2), (lb2, rb2)),
                 precision=precision, preferred_element_type=preferred_element_type)], [od]


RULES[ops.dot_general] = _dot_general_rule


def _conv_rule(ax, args, dims, *, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count=1, batch_group_count=1, precision=None,
               preferred_element_type=None):
    (lhs, rhs), (ld, rd) = args, dims
    lspec, rspec, ospec = dimension_numbers
    B = ax.size
    params = dict(window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
                  rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                  precision=precision, preferred_element_type=preferred_element_type)

    def conv(l, r, fgc, bgc):
        return bind(ops.conv_general_dilated, l, r, feature_group_count=fgc,
                    batch_group_count=bgc, **params)

    fgc, bgc = feature_group_count, batch_group_count
    if ld is not None and rd is not None:
        # the batch becomes feature groups (or batch groups): one conv for all examples
        if bgc > 1:
            new_lhs = lax.reshape_axis_into(ld, lspec[0], lhs)
            bgc *= B
        else:
            new_lhs = lax.reshape_axis_into(ld, lspec[1], lhs)
            fgc *= B
        new_rhs = lax.reshape_axis_into(rd, rspec[0], rhs)
        out = conv(new_lhs, new_rhs, fgc, bgc)
        return [lax.reshape_axis_out_of(ospec[1], B, out)], [ospec[1]]
    if ld is not None:
        if bgc == 1:   # fold the batch into the conv's batch dimension
            new_lhs = lax.reshape_axis_into(ld, lspec[0], lhs)
            out = conv(new_lhs, rhs, fgc, bgc)
            return [lax.reshape_axis_out_of(ospec[0], B, out)], [ospec[0]]
        new_lhs = lax.reshape_axis_out_of(lspec[0] + int(ld <= lspec[0]), bgc, lhs)
        new_lhs = lax.reshape_axis_into(ld + int(lspec[0] < ld), lspec[0] + 1, new_lhs)
        new_lhs = lax.reshape_axis_into(lspec[0], lspec[0], new_lhs)
        out = conv(new_lhs, rhs, fgc, bgc)
        return [lax.reshape_axis_out_of(ospec[0], B, out)], [ospec[0]]
    # only the kernel is batched: fold the batch into the output features
    if fgc == 1 and bgc == 1:
        new_rhs = lax.reshape_axis_into(rd, rspec[0], rhs)
        out = conv(lhs, new_rhs, fgc, bgc)
        return [lax.reshape_axis_out_of(ospec[1], B, out)], [ospec[1]]
    groups = fgc if fgc > 1 else bgc
    new_rhs = lax.reshape_axis_out_of(rspec[0] + int(rd <= rspec[0]), groups, rhs)
    new_rhs = lax.reshape_axis_into(rd + int(rspec[0] < rd), rspec[0] + 1, new_rhs)
    new_rhs = lax.reshape_axis_into(rspec[0], rspec[0], new_rhs)
    out = conv(lhs, new_rhs, fgc, bgc)
    out = lax.reshape_axis_out_of(ospec[1], groups, out)
    out = lax.reshape_axis_out_of(ospec[1] + 1, B, out)
    out = lax.reshape_axis_into(ospec[1], ospec[1] + 1, out)
    return [out], [ospec[1]]


RULES[ops.conv_general_dilated] = _conv_rule


def _sort_rule(ax, args, dims, *, dimension, is_stable, num_keys):
    d = next(d for d in dims if d is not None)
    xs = [bdim_at(x, xd, d, ax.size) for x, xd in zip(args, dims)]
    outs = bind(ops.sort, *xs, dimension=dimension + (dimension >= d), is_stable=is_stable,
                num_keys=num_keys)
    return list(outs), [d] * len(outs)


RULES[ops.sort] = _sort_rule


# --- collectives --------------------------------------------------------------------------------

_PREDUCE = {coll.psum: ops.reduce["reduce_sum"], coll.pmax: ops.reduce["reduce_max"],
            coll.pmin: ops.reduce["reduce_min"]}


def _preduce_rule(prim):
    def rule(ax, args, dims, *, axis_name):
        x, d = args[0], dims[0]
        if ax.name is None or ax.name not in axis_name:   # another axis: keep it
            return [bind(prim, x, axis_name=axis_name)], [d]
        rest = tuple(n for n in axis_name if n != ax.name)
        if d is not None:
            y = bind(_PREDUCE[prim], x, axes=(d,))
        elif prim is coll.psum:
            y = bind(ops.binary["mul"], x, _scalar(ax.size, _aval(x).dtype))
        else:
            y = x
        if rest:
            y = bind(prim, y, axis_name=rest)
        return [y], [None]
    return rule


for _p in _PREDUCE:
    RULES[_p] = _preduce_rule(_p)
    _ALWAYS.add(_p)


def _all_gather_rule(ax, args, dims, *, axis_name, axis, tiled, axis_size):
    x, d = args[0], dims[0]
    if ax.name is None or ax.name not in axis_name:
        if d is None:
            return [bind(coll.all_gather, x, axis_name=axis_name, axis=axis, tiled=tiled,
                         axis_size=axis_size)], [None]
        if tiled:
            a2, od = (axis, d) if axis < d else (axis + 1, d)
        else:
            a2, od = (axis, d + 1) if axis <= d else (axis + 1, d)
        return [bind(coll.all_gather, x, axis_name=axis_name, axis=a2, tiled=tiled,
                     axis_size=axis_size)], [od]
    # the gathered axis is the batch axis: every example sees the same stacked value
    y = bdim_at(x, d, axis, ax.size)
    if tiled:
        shape = list(_aval(y).shape)
        shape[axis:axis + 2] = [shape[axis] * shape[axis + 1]]
        y = bind(ops.reshape, y, new_sizes=tuple(shape))
    return [y], [None]


RULES[coll.all_gather] = _all_gather_rule
_ALWAYS.add(coll.all_gather)


def _axis_index_rule(ax, args, dims, *, axis_name):
    if ax.name is None or ax.name not in axis_name:
        return [bind(coll.axis_index, axis_name=axis_name)], [None]
    return [bind(ops.iota, dtype=np.dtype(np.int32), shape=(ax.size,), dimension=0)], [0]


RULES[coll.axis_index] = _axis_index_rule
_ALWAYS.add(coll.axis_index)


# --- vmap ---------------------------------------------------------------------------------------

def _children(x):
    """(children, keys) of a pytree node, or None for a leaf."""
    if x is None:
        return None
    node = _registry.get(type(x)) or _lookup(type(x))
    if node is None:
        return None
    children, aux = node.flatten(x)
    children = list(children)
    if type(x) is dict:
        keys = [f"[{k!r}]" for k in aux]
    elif hasattr(x, "_fields"):
        keys = [f".{f}" for f in x._fields]
    else:
        keys = [f"[{i}]" for i in range(len(children))]
    return children, keys


def _leaves_with_paths(tree, path, out):
    c = _children(tree)
    if c is None:
        if tree is not None:
            out.append((path, tree))
        return
    for child, key in zip(*c):
        _leaves_with_paths(child, path + key, out)


def _broadcast_prefix(prefix, tree, path, what, out):
    """Append (path, leaf, axis) for every leaf of ``tree`` under the axis spec ``prefix``."""
    if prefix is None or isinstance(prefix, (int, np.integer)) and not isinstance(prefix, bool):
        leaves: list = []
        _leaves_with_paths(tree, path, leaves)
        ax = None if prefix is None else int(prefix)
        out.extend((p, leaf, ax) for p, leaf in leaves)
        return
    pc = _children(prefix)
    if pc is None:
        raise ValueError(f"vmap {what} must be made of ints, None and containers; at "
                         f"{path or 'the top level'} it is {prefix!r} ({type(prefix).__name__})")
    tc = _children(tree)
    if tc is None or type(tree) is not type(prefix) or len(tc[0]) != len(pc[0]) or \
            tc[1] != pc[1]:
        kind = type(tree).__name__ if tree is not None else "None"
        n = "" if tc is None else f" with {len(tc[0])} entries {tc[1]}"
        raise ValueError(
            f"vmap {what} specification must be a tree prefix of the corresponding value: "
            f"at {path or 'the top level'}, {what} is a {type(prefix).__name__} with "
            f"{len(pc[0])} entries {pc[1]}, but the value is a {kind}{n}")
    for pchild, tchild, key in zip(pc[0], tc[0], tc[1]):
        _broadcast_prefix(pchild, tchild, path + key, what, out)


def _shape_of(x):
    a = getattr(x, "aval", None)
    if a is not None:
        return tuple(a.shape)
    return tuple(np.shape(x))


def _per_example_aval(x, axis, what):
    from .api import _leaf_aval
    a = _leaf_aval(x, what)
    return unbatched_aval(a, axis)


def _normalize_in_axes(in_axes):
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or type(in_axes) is int or isinstance(in_axes, tuple)):
        raise TypeError(f"vmap in_axes must be an int, None, or a tuple of entries corresponding "
                        f"to the positional arguments passed to the function, but got "
                        f"{in_axes!r}")
    return in_axes


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_size=None, axis_name=None,
         spmd_axis_name=None) -> Callable:
    """Vectorise ``fun`` over a new leading (or ``in_axes``) axis of its arguments.

    ``in_axes``: an int, ``None`` (not mapped) or a tuple (one entry per positional
    argument) whose entries may be pytree prefixes of the arguments; keyword
    arguments are always mapped over axis 0.  ``out_axes``: the same for the
    outputs.  ``axis_size`` gives the size when no argument is mapped.
    ``axis_name`` names the mapped axis for collectives (``lax.psum``, ...).
    ``spmd_axis_name`` is accepted for compatibility and ignored (single device).
    """
    if not callable(fun):
        raise TypeError(f"vmap: expected a callable, got {type(fun).__name__}")
    in_axes = _normalize_in_axes(in_axes)
    if isinstance(out_axes, list):
        out_axes = tuple(out_axes)
    name = getattr(fun, "__name__", type(fun).__name__)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []

    def arg_name(i):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY,
                                                   params[i].POSITIONAL_OR_KEYWORD):
            return params[i].name
        return f"args[{i}]"

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        # 1. which axis of which leaf is mapped
        if isinstance(in_axes, tuple):
            if len(in_axes) != len(args):
                raise ValueError(
                    f"vmap in_axes must be an int, None, or a tuple of entries corresponding to "
                    f"the positional arguments passed to the function, but got "
                    f"len(in_axes)={len(in_axes)}, len(args)={len(args)} (vmap of {name})")
            specs = in_axes
        else:
            specs = (in_axes,) * len(args)
        entries = []   # (path, leaf, axis)
        for i, (spec, arg) in enumerate(zip(specs, args)):
            _broadcast_prefix(spec, arg, arg_name(i), "in_axes", entries)
        for k in sorted(kwargs):
            _broadcast_prefix(0, kwargs[k], k, "in_axes", entries)
        leaves, in_tree = tree_flatten((args, kwargs))
        assert len(leaves) == len(entries), (len(leaves), len(entries))
        # 2. check axes and sizes
        in_dims, sizes = [], []
        for path, leaf, a in entries:
            if a is None:
                in_dims.append(None)
                continue
            shape = _shape_of(leaf)
            nd = len(shape)
            if not -nd <= a < nd:
                raise ValueError(
                    f"vmap was requested to map argument {path} (of shape {shape}) along axis "
                    f"{a}, which is out of range for its rank {nd} (vmap of {name}){where()}")
            a = a % nd
            in_dims.append(a)
            sizes.append((path, shape, a, shape[a]))
        distinct = {s for *_, s in sizes}
        if axis_size is not None:
            distinct.add(int(axis_size))
        if len(distinct) > 1:
            lines = [f"  argument {p} of shape {s} has size {n} along axis {a}"
                     for p, s, a, n in sizes]
            if axis_size is not None:
                lines.append(f"  axis_size={axis_size}")
            raise ValueError("vmap got inconsistent sizes for the array axes to be mapped:\n"
                             + "\n".join(lines))
        if not distinct:
            raise ValueError(f"vmap must have at least one non-None value in in_axes, or be "
                             f"given axis_size (vmap of {name})")
        size = distinct.pop()
        # 3. trace fun on per-example values
        from .api import trace_to_jaxpr
        avals = [_per_example_aval(leaf, d, f"vmap({name}): argument {path}")
                 for (path, leaf, _), d in zip(entries, in_dims)]
        with axis_frame(axis_name, size):
            closed, out_tree = trace_to_jaxpr(fun, avals, in_tree)
        # 4. where each output's batch axis goes
        out_avals = closed.out_avals
        out_dims = _out_dims(out_axes, out_tree, out_avals, name)
        batched, _ = batch_jaxpr(closed, in_dims, size, axis_name, out_dims)
        outs = eval_jaxpr(batched.jaxpr, batched.consts, leaves)
        outs = [_as_array(o) for o in outs]
        return tree_unflatten(out_tree, outs)

    return vmapped


def _out_dims(out_axes, out_tree, out_avals, name):
    placeholder = tree_unflatten(out_tree, list(range(len(out_avals))))
    entries: list = []
    _broadcast_prefix(out_axes, placeholder, "out", "out_axes", entries)
    dims = [None] * len(out_avals)
    for path, i, a in entries:
        if a is None:
            dims[i] = None
            continue
        nd = out_avals[i].ndim + 1
        if not -nd <= a < nd:
            raise ValueError(f"vmap out_axes={a} is out of range for output {path} of "
                             f"per-example shape {out_avals[i].shape} (batched rank {nd}) "
                             f"(vmap of {name})")
        dims[i] = a % nd
    return dims


def _as_array(x):
    if type(x) in (Tracer, Array):
        return x
    from . import numpy as jnp
    if type(x) is Literal:
        x = x.val
    return jnp.asarray(x)


# --- control flow -------------------------------------------------------------------------------
# (appended after vmap so that the helpers above are all defined)
from primitives import control as _control   # noqa: E402
from primitives import custom as _custom     # noqa: E402


def _no_consts(closed: ClosedJaxpr) -> ClosedJaxpr:
    assert not closed.consts, "batching a sub-jaxpr created consts"
    return closed


def _sub_batch(closed, in_dims, ax, out_dims=None):
    new, dims = batch_jaxpr(closed, in_dims, ax.size, ax.name, out_dims)
    return _no_consts(new), dims


def _trace_flat(fun, avals) -> ClosedJaxpr:
    from .api import trace_to_jaxpr
    _, tree = tree_flatten((tuple(range(len(avals))), {}))
    closed, _ = trace_to_jaxpr(fun, list(avals), tree)
    return _no_consts(passes.simplify(closed))


def _cond_rule(ax, args, dims, *, branches):
    idx, xs = args[0], args[1:]
    idx_d, x_dims = dims[0], list(dims[1:])
    if idx_d is not None:
        # a batched index: run every branch and select per example
        n = len(branches)
        results = []
        for br in branches:
            new, od = _sub_batch(br, x_dims, ax)
            results.append((eval_jaxpr(new.jaxpr, [], xs), od))
        if n == 1:
            return results[0]
        i32 = np.dtype(np.int32)
        idx = bind(ops.binary["min"], bind(ops.binary["max"], idx, _scalar(0, i32)),
                   _scalar(n - 1, i32))
        outs, odims = [], []
        for k in range(len(results[0][0])):
            cases = [r[0][k] for r in results]
            cdims = [r[1][k] for r in results]
            new, d = _elementwise_args(ax, [idx] + cases, [idx_d] + cdims,
                                       [True] + [False] * n)
            outs.append(bind(ops.select_n, *new))
            odims.append(d)
        return outs, odims
    nat = [_sub_batch(br, x_dims, ax)[1] for br in branches]
    want = [0 if any(b[k] is not None for b in nat) else None for k in range(len(nat[0]))]
    new = tuple(_sub_batch(br, x_dims, ax, want)[0] for br in branches)
    outs = bind(_control.cond, idx, *xs, branches=new)
    return list(outs), want


RULES[_control.cond] = _cond_rule


def _carry_fixpoint(body, const_dims, carry_b, ax, extra_in=(), n_carry_out=None):
    """Which carry elements end up batched: iterate the body until nothing new is batched."""
    while True:
        cin = [0 if b else None for b in carry_b]
        _, od = _sub_batch(body, list(const_dims) + cin + list(extra_in), ax)
        new = [b or d is not None for b, d in zip(carry_b, od[:len(carry_b)])]
        if new == carry_b:
            return carry_b, od
        carry_b = new


def _while_rule(ax, args, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
                max_steps=None):
    nc, nb = cond_nconsts, body_nconsts
    cc, bc, carry = args[:nc], args[nc:nc + nb], args[nc + nb:]
    cc_d, bc_d, carry_d = dims[:nc], dims[nc:nc + nb], dims[nc + nb:]
    carry_b, _ = _carry_fixpoint(body_jaxpr, bc_d, [d is not None for d in carry_d], ax)
    cin = [0 if b else None for b in carry_b]
    _, pd = _sub_batch(cond_jaxpr, list(cc_d) + cin, ax)
    if pd[0] is not None and not all(carry_b):
        # a batched predicate: every carry element is batched
        carry_b = [True] * len(carry_b)
        cin = [0] * len(carry_b)
        _, pd = _sub_batch(cond_jaxpr, list(cc_d) + cin, ax)
    carry = [bdim_at(x, d, 0, ax.size) if b else x for x, d, b in zip(carry, carry_d, carry_b)]
    body_b, _ = _sub_batch(body_jaxpr, list(bc_d) + cin, ax, cin)
    if pd[0] is None:
        cond_b, _ = _sub_batch(cond_jaxpr, list(cc_d) + cin, ax, [None])
        outs = bind(_control.while_, *cc, *bc, *carry, cond_jaxpr=cond_b, body_jaxpr=body_b,
                    cond_nconsts=nc, body_nconsts=nb, max_steps=max_steps)
        return list(outs), cin
    # per-example predicates: loop while any example runs; finished examples keep their carry
    cond_p, _ = _sub_batch(cond_jaxpr, list(cc_d) + cin, ax, [0])
    cc_avals = [_aval(x) for x in cc]
    bc_avals = [_aval(x) for x in bc]
    carry_avals = [_aval(x) for x in carry]

    def cond_fun(*a):
        p, = eval_jaxpr(cond_p.jaxpr, [], list(a))
        return bind(ops.reduce["reduce_or"], p, axes=(0,))

    def body_fun(*a):
        c, b, x = a[:nc], a[nc:nc + nb], list(a[nc + nb:])
        p, = eval_jaxpr(cond_p.jaxpr, [], list(c) + x)
        new = eval_jaxpr(body_b.jaxpr, [], list(b) + x)
        outs = []
        for old, nw in zip(x, new):
            (pp, o, n_), _ = _elementwise_args(ax, [p, old, nw], [0, 0, 0], [True, False, False])
            outs.append(bind(ops.select_n, pp, o, n_))
        return outs

    cond_new = _trace_flat(cond_fun, cc_avals + carry_avals)
    body_new = _trace_flat(body_fun, cc_avals + bc_avals + carry_avals)
    outs = bind(_control.while_, *cc, *cc, *bc, *carry, cond_jaxpr=cond_new, body_jaxpr=body_new,
                cond_nconsts=nc, body_nconsts=nc + nb, max_steps=max_steps)
    return list(outs), [0] * len(carry)


RULES[_control.while_] = _while_rule


def _scan_rule(ax, args, dims, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    nc, nk = num_consts, num_carry
    consts, init, xs = args[:nc], args[nc:nc + nk], list(args[nc + nk:])
    c_d, i_d, x_d = dims[:nc], dims[nc:nc + nk], list(dims[nc + nk:])
    # the scanned axis stays leading: a batch axis at 0 moves to 1
    for k, d in enumerate(x_d):
        if d == 0:
            xs[k], x_d[k] = moveaxis(xs[k], 0, 1), 1
    slice_d = [None if d is None else d - 1 for d in x_d]
    carry_b, od = _carry_fixpoint(jaxpr, c_d, [d is not None for d in i_d], ax, slice_d)
    cin = [0 if b else None for b in carry_b]
    y_want = [None if d is None else 0 for d in od[nk:]]
    new, _ = _sub_batch(jaxpr, list(c_d) + cin + slice_d, ax, cin + y_want)
    init = [bdim_at(x, d, 0, ax.size) if b else x for x, d, b in zip(init, i_d, carry_b)]
    outs = bind(_control.scan, *consts, *init, *xs, jaxpr=new, length=length, reverse=reverse,
                num_consts=nc, num_carry=nk, unroll=unroll)
    return list(outs), cin + [None if d is None else 1 for d in y_want]


RULES[_control.scan] = _scan_rule


# --- custom derivative rules ---------------------------------------------------------------------

def _vmapped_callable(f, ax):
    """The user's rule, vectorised: every argument and result batched along axis 0."""
    if not callable(f):
        return f

    @functools.wraps(f)
    def g(*a, **k):
        return vmap(f, 0, 0, axis_size=ax.size, axis_name=ax.name)(*a, **k)
    return g


def _custom_call_rule(prim):
    def rule(ax, args, dims, *, call_jaxpr, num_consts, name, **fns):
        xs = [bdim_at(x, d, 0, ax.size) for x, d in zip(args, dims)]
        n_out = len(call_jaxpr.out_avals)
        new, _ = _sub_batch(call_jaxpr, [0] * len(xs), ax, [0] * n_out)
        wrapped = {k: _vmapped_callable(f, ax) for k, f in fns.items()}
        outs = bind(prim, *xs, call_jaxpr=new, num_consts=num_consts, name=name, **wrapped)
        return list(outs), [0] * n_out
    return rule


RULES[_custom.custom_jvp_call] = _custom_call_rule(_custom.custom_jvp_call)
RULES[_custom.custom_vjp_call] = _custom_call_rule(_custom.custom_vjp_call)


def _custom_vjp_lin_rule(ax, args, dims, *, bwd, out_avals, **params):
    xs = [bdim_at(x, d, 0, ax.size) for x, d in zip(args, dims)]
    new_avals = tuple(batched_aval(a, 0, ax.size) for a in out_avals)
    outs = bind(_custom.custom_vjp_lin, *xs, bwd=_vmapped_callable(bwd, ax),
                out_avals=new_avals, **params)
    return list(outs), [0] * len(new_avals)


RULES[_custom.custom_vjp_lin] = _custom_vjp_lin_rule


def _mentions_axis(params, name) -> bool:
    """Whether a sub-jaxpr in ``params`` uses a collective over axis ``name``."""
    for v in params.values():
        subs = v if isinstance(v, (tuple, list)) else (v,)
        for s in subs:
            j = getattr(s, "jaxpr", s)
            if not hasattr(j, "eqns"):
                continue
            for e in j.eqns:
                if e.prim.family == "collective" and name in e.params.get("axis_name", ()):
                    return True
                if e.prim.subjaxpr_params and _mentions_axis(e.params, name):
                    return True
    return False


# --- checkpoint / remat (primitives/remat.py) -----------------------------------------------------
from primitives import remat as _remat     # noqa: E402


def _checkpoint_rule(ax, args, dims, *, jaxpr, **params):
    """Batch the body; operands keep their batch dimensions, outputs keep whatever they get."""
    from .control_flow import intern_jaxpr
    new, out_dims = _sub_batch(jaxpr, list(dims), ax)
    outs = bind(_remat.checkpoint, *args, jaxpr=intern_jaxpr(new.jaxpr), **params)
    return list(outs), out_dims


RULES[_remat.checkpoint] = _checkpoint_rule
RULES[_remat.name] = lambda ax, args, dims, *, name: (
    [bind(_remat.name, args[0], name=name)], [dims[0]])

# --- linalg (primitives/linalg.py) ---------------------------------------------------------------
# The decompositions and triangular_solve take any leading batch dimensions: move the vmapped
# one to the front of every operand (broadcasting an unbatched operand of triangular_solve).
from primitives import linalg as _linalg_ops  # noqa: E402


def _linalg_rule(prim):
    def rule(ax, args, dims, **params):
        xs = [bdim_at(x, d, 0, ax.size) for x, d in zip(args, dims)]
        outs = bind(prim, *xs, **params)
        outs = list(outs) if prim.multiple_results else [outs]
        return outs, [0] * len(outs)
    return rule


for _p in _linalg_ops.linalg.values():
    RULES[_p] = _linalg_rule(_p)

# === fft (primitives/fft.py) =================================================================
from primitives import fft as _fft  # noqa: E402


def _fft_rule(ax, args, dims, *, fft_type, fft_lengths):
    """The transform acts on the trailing axes: a batch axis among them moves to the front."""
    (x,), (d,) = args, dims
    if d >= _ndim(x) - len(fft_lengths):
        x, d = moveaxis(x, d, 0), 0
    return [bind(_fft.fft, x, fft_type=fft_type, fft_lengths=fft_lengths)], [d]


RULES[_fft.fft] = _fft_rule
# === end fft ===================================================================================
