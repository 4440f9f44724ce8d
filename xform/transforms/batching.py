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

import numpy as np

from primitives import ops, sharding as _sharding
from primitives.core import ClosedJaxpr, Jaxpr, Literal, ShapedArray
from primitives.ops import GatherDimensionNumbers, ScatterDimensionNumbers
from primitives.shape_poly import canonical_dim

from ..core.checks import check_ir
from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import eval_jaxpr, leaf_aval, trace_to_jaxpr, with_sources
from ..lax.parallel import axis_frame
from .. import lax, passes
from ..core import bind, Builder, trace_scope, where


__all__ = ["batch_jaxpr", "RULES", "not_mapped"]

not_mapped = None


class AxisInfo:
    """What a rule knows about the axis being batched: its size and name."""
    __slots__ = ("size", "name")

    def __init__(self, size: int, name=None):
        self.size = canonical_dim(size)   # a DimExpr when vmapping a symbolic axis
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


def sequential(prim, ax, args, dims, params, n_out: int, unrolled: bool = False):
    """The batching rule of last resort: one ``prim`` per batch element, in index order
    (a ``lax.map``, or unrolled), results stacked on axis 0.  For meta-operators whose
    inside the IR cannot see (host callbacks, exported programs)."""
    batched = [d is not None for d in dims]
    moved = [x if d is None else moveaxis(x, d, 0) for x, d in zip(args, dims)]
    fixed = [x for x, b in zip(moved, batched) if not b]
    per_elt = [x for x, b in zip(moved, batched) if b]

    def one(xs):
        fx, bx = iter(fixed), iter(xs)
        ops_ = [next(bx) if b else next(fx) for b in batched]
        return bind(prim, *ops_, **params)

    if unrolled:
        rows = [one([lax.index_in_dim(x, i, 0, keepdims=False) for x in per_elt])
                for i in range(ax.size)]
        outs = [lax.concatenate([lax.expand_dims(r[k], (0,)) for r in rows], 0)
                for k in range(n_out)]
    else:
        outs = lax.map(one, per_elt)
    return list(outs), [0] * len(outs)


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
    for eqn in with_sources(jaxpr.eqns):
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
    out = passes.simplify(out)
    check_ir(out, "vmap")
    return out, dims


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


def _rng_bit_generator_rule(ax, args, dims, *, shape, dtype, algorithm):
    """As JAX: a batch of keys draws one batch of bits from the first key, which alone
    advances (the others come back unchanged); not a loop over the keys."""
    keys, d = args[0], dims[0]
    params = dict(dtype=dtype, algorithm=algorithm)
    if d is None:
        return bind(ops.rng_bit_generator, keys, shape=shape, **params), [None, None]
    keys = moveaxis(keys, d, 0)
    first = lax.squeeze(lax.slice_in_dim(keys, 0, 1, 1, 0), (0,))
    new_key, bits = bind(ops.rng_bit_generator, first, shape=(ax.size, *shape), **params)
    rest = lax.slice_in_dim(keys, 1, ax.size, 1, 0)
    return [lax.concatenate([new_key[None], rest], 0), bits], [0, 0]


RULES[ops.rng_bit_generator] = _rng_bit_generator_rule


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


# --- for the rules of sub-program families (xform/higher_order) -----------------------------

def batch_subjaxpr(closed, in_dims, ax, out_dims=None):
    new, dims = batch_jaxpr(closed, in_dims, ax.size, ax.name, out_dims)
    assert not new.consts, "batching a sub-jaxpr created consts"
    return new, dims


def batch_callable(fun, size: int, axis_name=None):
    """``fun`` vectorised over axis 0 of every argument and result leaf: ``vmap`` without
    its in_axes/out_axes API, for rules that batch a user callable held in an equation's
    params (a custom_vjp's backward function)."""
    def batched(*args):
        leaves, in_tree = tree_flatten((args, {}))
        avals = [unbatched_aval(leaf_aval(x, f"batched callable argument {i}"), 0)
                 for i, x in enumerate(leaves)]
        with axis_frame(axis_name, size):
            closed, out_tree = trace_to_jaxpr(fun, avals, in_tree)
        new, _ = batch_jaxpr(closed, [0] * len(leaves), size, axis_name,
                             [0] * len(closed.out_avals))
        return tree_unflatten(out_tree, eval_jaxpr(new.jaxpr, new.consts, leaves))
    return batched


def _sharding_constraint_rule(ax, args, dims, *, sharding):
    """The batch dimension is not split: the spec gains a ``None`` there."""
    x, d = args[0], dims[0]
    if d is None:
        return [bind(_sharding.sharding_constraint, x, sharding=sharding)], [None]
    entries = list(sharding.spec.padded(_ndim(x) - 1))
    entries.insert(d, None)
    s = sharding.with_spec(_sharding.PartitionSpec(*entries))
    return [bind(_sharding.sharding_constraint, x, sharding=s)], [d]


RULES[_sharding.sharding_constraint] = _sharding_constraint_rule
