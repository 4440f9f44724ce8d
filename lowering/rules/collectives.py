"""Lowering rules of the ``collective`` family (primitives/collectives.py): ``psum``,
``pmax``, ``pmin``, ``all_gather``, ``axis_index``, ``ppermute``, ``psum_scatter``,
``all_to_all``.

Inside ``vmap(..., axis_name=...)`` every collective is rewritten by its batching rule
into ordinary operations before lowering.  Inside a ``shard_map`` body (an
``sdy.manual_computation``, ``emitter.manual_mesh()``) each one becomes the StableHLO
collective JAX emits, among the devices that share the coordinates of every mesh axis
it does not name (``emitter.replica_groups``); device ids are logical ids of the
compiled program (mesh positions, row-major), which is what ``use_global_device_ids``
(and a channel handle without it, for ``all_to_all`` and ``collective_permute``) asks
XLA to read them as.  Anywhere else there is nothing to lower them to: the rule says so.
"""
from __future__ import annotations

import math

import numpy as np

from primitives import collectives as _coll
from primitives import dtypes
from primitives.core import ShapedArray

from ..emitter import (RULES, channel_handle, complex_minmax, full, groups_attr,
                       in_avals_of, manual_mesh, out_avals_of, replica_groups)

_U32 = ShapedArray((), np.dtype("uint32"))


def _region(eqn):
    """``(mesh, axis names)`` for a collective inside a manual region, or a clear error."""
    names = eqn.params["axis_name"]
    m = manual_mesh()
    if m is None:
        raise NotImplementedError(
            f"{eqn.prim.name}[axis_name={names}] reached the StableHLO lowering outside "
            f"any shard_map: collectives only work inside vmap(..., axis_name=...) (which "
            f"rewrites them) or shard_map (which runs them among devices)")
    mesh, manual = m
    bad = [n for n in names if n not in manual]
    if bad:
        raise NotImplementedError(
            f"{eqn.prim.name}[axis_name={names}]: axis {bad[0]!r} is not a manual axis "
            f"{manual} of the enclosing shard_map over {mesh}")
    return mesh, names


def _common(mesh, names, global_ids=True) -> str:
    a = f"{channel_handle()}, {groups_attr(replica_groups(mesh, names))}"
    return a + ", use_global_device_ids" if global_ids else a


def _combiner(ctx, dtype, opname):
    if dtypes.is_bool(dtype):
        opname = {"stablehlo.maximum": "stablehlo.or",
                  "stablehlo.minimum": "stablehlo.and"}.get(opname, opname)
    if dtypes.is_complex(dtype) and opname != "stablehlo.add":
        sa = ShapedArray((), dtype)
        return ctx.region([sa, sa], lambda sub, n: (
            [complex_minmax(sub, n[0], n[1], sa, opname)], [sa]))
    return ctx.scalar_region(dtype, 2, opname)


def _all_reduce(opname):
    def rule(ctx, eqn, args):
        mesh, names = _region(eqn)
        a = in_avals_of(eqn)[0]
        return ctx.op("stablehlo.all_reduce", args, [a], out_avals_of(eqn),
                      _common(mesh, names), [_combiner(ctx, a.dtype, opname)])
    return rule


RULES[_coll.psum] = _all_reduce("stablehlo.add")
RULES[_coll.pmax] = _all_reduce("stablehlo.maximum")
RULES[_coll.pmin] = _all_reduce("stablehlo.minimum")


def _reshape(ctx, x, a, shape):
    out = ShapedArray(tuple(shape), a.dtype)
    return ctx.op1("stablehlo.reshape", [x], [a], out), out


def _all_gather(ctx, eqn, args):
    mesh, names = _region(eqn)
    p = eqn.params
    x, a, axis = args[0], in_avals_of(eqn)[0], p["axis"]
    if not p["tiled"]:   # a new axis: gather along a size-1 one
        shape = list(a.shape)
        shape.insert(axis, 1)
        x, a = _reshape(ctx, x, a, shape)
    out = out_avals_of(eqn)[0]
    return ctx.op("stablehlo.all_gather", [x], [a], [out],
                  f"all_gather_dim = {axis} : i64, {_common(mesh, names)}")


RULES[_coll.all_gather] = _all_gather


def _axis_index(ctx, eqn, args):
    mesh, (name,) = _region(eqn)
    k = mesh.axis_names.index(name)
    out = out_avals_of(eqn)[0]
    if mesh.axis_sizes[k] == 1:
        return [full(ctx, 0, out)]
    i = ctx.op1("stablehlo.partition_id", [], [], _U32)
    stride = math.prod(mesh.axis_sizes[k + 1:])
    if stride > 1:
        i = ctx.op1("stablehlo.divide", [i, ctx.constant(stride, _U32)], [_U32, _U32], _U32)
    if k > 0:
        i = ctx.op1("stablehlo.remainder", [i, ctx.constant(mesh.axis_sizes[k], _U32)],
                    [_U32, _U32], _U32)
    return [ctx.op1("stablehlo.convert", [i], [_U32], out)]


RULES[_coll.axis_index] = _axis_index


def _ppermute(ctx, eqn, args):
    mesh, names = _region(eqn)
    perm = eqn.params["perm"]
    a = in_avals_of(eqn)[0]
    if not perm:   # nobody sends: every device receives zeros
        return [full(ctx, 0, a)]
    pairs = [[g[s], g[t]] for g in replica_groups(mesh, names) for s, t in perm]
    rows = ", ".join(f"[{s}, {t}]" for s, t in pairs)
    attrs = (f"{channel_handle()}, source_target_pairs = dense<[{rows}]> : "
             f"tensor<{len(pairs)}x2xi64>")
    return ctx.op("stablehlo.collective_permute", args, [a], [a], attrs)


RULES[_coll.ppermute] = _ppermute


def _psum_scatter(ctx, eqn, args):
    mesh, names = _region(eqn)
    p = eqn.params
    a, d = in_avals_of(eqn)[0], p["scatter_dimension"]
    shape = list(a.shape)
    shape[d] //= p["axis_size"]
    mid = ShapedArray(tuple(shape), a.dtype)
    y = ctx.op1("stablehlo.reduce_scatter", args, [a], mid,
                f"scatter_dimension = {d} : i64, {_common(mesh, names)}",
                [_combiner(ctx, a.dtype, "stablehlo.add")])
    out = out_avals_of(eqn)[0]
    if out.shape != mid.shape:   # not tiled: drop the size-1 piece dimension
        y = _reshape(ctx, y, mid, out.shape)[0]
    return [y]


RULES[_coll.psum_scatter] = _psum_scatter


def _all_to_all(ctx, eqn, args):
    mesh, names = _region(eqn)
    p = eqn.params
    x, a = args[0], in_avals_of(eqn)[0]
    s, c, n = p["split_axis"], p["concat_axis"], p["axis_size"]
    out = out_avals_of(eqn)[0]
    if not p["tiled"] and s != c:
        # as JAX: a size-1 axis where the pieces are concatenated, dropped afterwards
        if s < c:
            c += 1
        shape = list(a.shape)
        shape.insert(c, 1)
        x, a = _reshape(ctx, x, a, shape)
        if c <= s:
            s += 1
    shape = list(a.shape)
    shape[s] //= n
    shape[c] *= n
    mid = ShapedArray(tuple(shape), a.dtype)
    y = ctx.op1("stablehlo.all_to_all", [x], [a], mid,
                f"split_dimension = {s} : i64, concat_dimension = {c} : i64, "
                f"split_count = {n} : i64, {_common(mesh, names, global_ids=False)}")
    if mid.shape != out.shape:
        y = _reshape(ctx, y, mid, out.shape)[0]
    return [y]


RULES[_coll.all_to_all] = _all_to_all
