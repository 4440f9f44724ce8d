"""The named-axis collectives (primitives/collectives.py) under every transform: JVP,
transpose and batching rules side by side."""
from __future__ import annotations

import numpy as np

from primitives import collectives as coll, ops

from ..transforms.ad_util import aval_of, D, M
from ..transforms.batching import _ALWAYS, _scalar, bdim_at, RULES
from ..transforms.jvp import JVP, linear_jvp, zero_jvp
from ..transforms.transpose import TRANSPOSE
from .. import lax
from ..core import bind


# --- AD ---
# collectives (named-axis ops) -----------------------------------------------------------------------

def _define_collective_rules():
    JVP[coll.psum] = linear_jvp(coll.psum)
    JVP[coll.all_gather] = linear_jvp(coll.all_gather)
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

    def psum_t(ct, x, *, axis_name):
        return [bind(coll.psum, ct, axis_name=axis_name)]

    def all_gather_t(ct, x, *, axis_name, axis, tiled, axis_size):
        total = bind(coll.psum, ct, axis_name=axis_name)
        i = bind(coll.axis_index, axis_name=axis_name[:1])
        a = x.aval
        if tiled:
            start = [0] * a.ndim
            start[axis] = lax.mul(i, np.int32(a.shape[axis]))
            return [lax.dynamic_slice(total, start, a.shape)]
        start = [0] * (a.ndim + 1)
        start[axis] = i
        sizes = list(a.shape)
        sizes.insert(axis, 1)
        return [lax.reshape(lax.dynamic_slice(total, start, sizes), a.shape)]
    TRANSPOSE[coll.psum] = psum_t
    TRANSPOSE[coll.all_gather] = all_gather_t


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
