"""The named-axis collectives (primitives/collectives.py) under every transform: JVP,
transpose and batching rules side by side."""
from __future__ import annotations

import numpy as np

from primitives import collectives as coll, ops

from ..transforms.ad_util import aval_of, D, M
from ..transforms.batching import _ALWAYS, _scalar, bdim_at, moveaxis, RULES
from ..transforms.jvp import JVP, linear_jvp, zero_jvp
from ..transforms.transpose import TRANSPOSE
from .. import lax
from ..core import bind


# --- AD ---
# collectives (named-axis ops) -----------------------------------------------------------------------

def _define_collective_rules():
    for p in (coll.psum, coll.all_gather, coll.ppermute, coll.psum_scatter, coll.all_to_all):
        JVP[p] = linear_jvp(p)
    JVP[coll.axis_index] = zero_jvp(coll.axis_index)

    def chooser(prim):
        def rule(primals, tangents, *, axis_name):
            x, = primals
            t, = tangents
            out = bind(prim, x, axis_name=axis_name)
            locf = bind(ops.convert_element_type, lax.eq(x, out), new_dtype=aval_of(x).dtype,
                        weak_type=False)
            num = bind(coll.psum, M(t, locf), axis_name=axis_name)
            return [out], [D(num, bind(coll.psum, locf, axis_name=axis_name))]
        return rule
    JVP[coll.pmax] = chooser(coll.pmax)
    JVP[coll.pmin] = chooser(coll.pmin)

    # psum's transpose is psum: each position's value is its own (shard_map's transpose
    # divides the cotangent of an output replicated over an axis by the axis size)
    def psum_t(ct, x, *, axis_name):
        return [bind(coll.psum, ct, axis_name=axis_name)]

    def all_gather_t(ct, x, *, axis_name, axis, tiled, axis_size):
        return [bind(coll.psum_scatter, ct, axis_name=axis_name, scatter_dimension=axis,
                     tiled=tiled, axis_size=axis_size)]

    def psum_scatter_t(ct, x, *, axis_name, scatter_dimension, tiled, axis_size):
        return [bind(coll.all_gather, ct, axis_name=axis_name, axis=scatter_dimension,
                     tiled=tiled, axis_size=axis_size)]

    def ppermute_t(ct, x, *, axis_name, perm):
        return [bind(coll.ppermute, ct, axis_name=axis_name,
                     perm=tuple((d, s) for s, d in perm))]

    def all_to_all_t(ct, x, *, axis_name, split_axis, concat_axis, axis_size, tiled):
        return [bind(coll.all_to_all, ct, axis_name=axis_name, split_axis=concat_axis,
                     concat_axis=split_axis, axis_size=axis_size, tiled=tiled)]
    TRANSPOSE[coll.psum] = psum_t
    TRANSPOSE[coll.all_gather] = all_gather_t
    TRANSPOSE[coll.psum_scatter] = psum_scatter_t
    TRANSPOSE[coll.ppermute] = ppermute_t
    TRANSPOSE[coll.all_to_all] = all_to_all_t


_define_collective_rules()


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
            y = bind(ops.binary["mul"], x, _scalar(ax.size, aval_of(x).dtype))
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
        shape = list(aval_of(y).shape)
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


# ppermute: on the matching axis, example ``dst`` takes example ``src``: slices of the batch
# axis (one per run of consecutive pairs) concatenated, zeros where no pair arrives.

def _ppermute_rule(ax, args, dims, *, axis_name, perm):
    x, d = args[0], dims[0]
    if ax.name is None or ax.name not in axis_name:
        return [bind(coll.ppermute, x, axis_name=axis_name, perm=perm)], [d]
    n = ax.size
    src_of = dict((t, s) for s, t in perm)
    if d is None and len(src_of) == n:
        return [x], [None]             # every example receives the same value
    x = bdim_at(x, d, 0, n)
    a = aval_of(x)
    pieces, t = [], 0
    while t < n:
        k = 1
        if t in src_of:
            while t + k < n and src_of.get(t + k) == src_of[t] + k:
                k += 1
            s = src_of[t]
            pieces.append(lax.slice_in_dim(x, s, s + k, axis=0))
        else:
            while t + k < n and t + k not in src_of:
                k += 1
            zero = lax.weak_literal(False if a.dtype == np.bool_ else 0, a.dtype) \
                if a.weak_type else _scalar(0, a.dtype)
            pieces.append(bind(ops.broadcast_in_dim, zero, shape=(k,) + a.shape[1:],
                               broadcast_dimensions=()))
        t += k
    return [lax.concatenate(pieces, 0)], [0]


RULES[coll.ppermute] = _ppermute_rule
_ALWAYS.add(coll.ppermute)


def _psum_scatter_rule(ax, args, dims, *, axis_name, scatter_dimension, tiled, axis_size):
    x, d = args[0], dims[0]
    sd = scatter_dimension
    params = dict(axis_name=axis_name, tiled=tiled, axis_size=axis_size)
    if ax.name is None or ax.name not in axis_name:
        if d is None:
            return [bind(coll.psum_scatter, x, scatter_dimension=sd, **params)], [None]
        sdb = sd + (sd >= d)
        od = d if tiled or d < sdb else d - 1
        return [bind(coll.psum_scatter, x, scatter_dimension=sdb, **params)], [od]
    # the scattered axis is the batch axis: sum over it, then example i keeps piece i
    if d is None:
        y = bind(ops.binary["mul"], x, _scalar(ax.size, aval_of(x).dtype))
    else:
        y = bind(ops.reduce["reduce_sum"], x, axes=(d,))
    if tiled:
        y = lax.reshape_axis_out_of(sd, ax.size, y)
    return [y], [sd]


RULES[coll.psum_scatter] = _psum_scatter_rule
_ALWAYS.add(coll.psum_scatter)


def _all_to_all_rule(ax, args, dims, *, axis_name, split_axis, concat_axis, axis_size, tiled):
    x, d = args[0], dims[0]
    s, c = split_axis, concat_axis
    params = dict(axis_name=axis_name, axis_size=axis_size, tiled=tiled)
    if ax.name is None or ax.name not in axis_name:
        if d is None:
            return [bind(coll.all_to_all, x, split_axis=s, concat_axis=c, **params)], [None]
        x = moveaxis(x, d, 0)
        return [bind(coll.all_to_all, x, split_axis=s + 1, concat_axis=c + 1, **params)], [0]
    # the exchange is over the batch axis: example i's piece j is example j's piece i, a
    # transpose of (batch, split) into (new batch, concat)
    n = ax.size
    x = bdim_at(x, d, 0, n)                  # x[j, ...], dimension 1+s holds the pieces
    if tiled:
        x = lax.reshape_axis_out_of(1 + s, n, x)   # x[j, .., i, m, ..]
    perm = list(range(aval_of(x).ndim))
    perm.insert(0, perm.pop(1 + s))          # x[i, j, ...]
    perm.insert(1 + c, perm.pop(1))          # j just before the concat dimension
    x = lax.transpose(x, perm)
    if tiled:
        shape = list(aval_of(x).shape)
        shape[1 + c:3 + c] = [shape[1 + c] * shape[2 + c]]
        x = lax.reshape(x, shape)
    return [x], [0]


RULES[coll.all_to_all] = _all_to_all_rule
_ALWAYS.add(coll.all_to_all)
