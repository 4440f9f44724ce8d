"""``shard_map``: a per-device program over a mesh (family ``shard_map``).

* ``shard_map[jaxpr, mesh, in_specs, out_specs, manual_axes]  *args -> outs``
    Each device of ``mesh`` runs ``jaxpr`` (a ClosedJaxpr with **no consts**, like the
    control-flow bodies) on its own piece of every operand: operand ``i`` (a global
    array) is split as ``in_specs[i]`` (a ``PartitionSpec``) says over the mesh axes
    ``manual_axes`` (a tuple of mesh axis names, in mesh order; the body may name them
    in collectives, ``psum(x, 'x')``), and the body's outputs are the pieces of global
    outputs laid out as ``out_specs`` says.  An axis of ``manual_axes`` that a spec does
    not mention replicates the value over that axis: each device along it gets all of an
    input, and an output is taken to be equal along it.  Mesh axes outside
    ``manual_axes`` stay automatic: XLA's partitioner lays the body out over them.

The body works on *local* shapes: dimension ``d`` of operand ``i`` divided by the product
of the sizes of the axes ``in_specs[i]`` names for it; an output's global shape is the
body's local shape multiplied likewise by ``out_specs``.
"""
from __future__ import annotations

import math

from .core import ClosedJaxpr, ShapedArray
from .ops import _define, _fail
from .sharding import Mesh, PartitionSpec


def spec_names(entry) -> tuple:
    if entry is None:
        return ()
    return (entry,) if isinstance(entry, str) else tuple(entry)


def spec_factors(mesh: Mesh, spec, ndim: int) -> tuple:
    """Per dimension, how many pieces ``spec`` cuts it into over ``mesh``."""
    entries = tuple(spec) + (None,) * (ndim - len(spec))
    return tuple(math.prod(mesh.shape[n] for n in spec_names(e)) for e in entries[:ndim])


def unmentioned(spec, manual_axes) -> tuple:
    """The manual axes ``spec`` does not name: the value is replicated over them."""
    used = set(spec.axis_names())
    return tuple(n for n in manual_axes if n not in used)


def local_aval(mesh: Mesh, spec, aval: ShapedArray) -> ShapedArray:
    """The piece of a global ``aval`` one device holds (shapes assumed to divide)."""
    f = spec_factors(mesh, spec, aval.ndim)
    return ShapedArray(tuple(n // k for n, k in zip(aval.shape, f)), aval.dtype, aval.weak_type)


def global_aval(mesh: Mesh, spec, aval: ShapedArray) -> ShapedArray:
    """The global array whose pieces, laid out as ``spec``, have the local ``aval``."""
    f = spec_factors(mesh, spec, aval.ndim)
    return ShapedArray(tuple(n * k for n, k in zip(aval.shape, f)), aval.dtype, aval.weak_type)


def _check_spec(what, spec, mesh, manual_axes, aval):
    if not isinstance(spec, PartitionSpec):
        _fail("shard_map", f"{what}: spec must be a PartitionSpec, got {spec!r}")
    for n in spec.axis_names():
        if n not in manual_axes:
            _fail("shard_map", f"{what}: {spec} names axis {n!r}, which is not a manual axis "
                  f"{manual_axes} of {mesh}")
    if len(spec) > aval.ndim:
        _fail("shard_map", f"{what}: {spec} has {len(spec)} entries but the value "
              f"{aval.str_short()} has rank {aval.ndim}")


def _shard_map_rule(*avals, jaxpr, mesh, in_specs, out_specs, manual_axes):
    if not isinstance(jaxpr, ClosedJaxpr):
        _fail("shard_map", f"jaxpr must be a ClosedJaxpr, got {type(jaxpr).__name__}")
    if jaxpr.consts:
        _fail("shard_map", f"jaxpr has {len(jaxpr.consts)} consts; hoist them into operands")
    if not isinstance(mesh, Mesh):
        _fail("shard_map", f"mesh must be a Mesh, got {type(mesh).__name__}")
    if not isinstance(manual_axes, tuple) or not manual_axes or \
            any(n not in mesh.shape for n in manual_axes):
        _fail("shard_map", f"manual_axes must be a non-empty tuple of axes of {mesh}, got "
              f"{manual_axes!r}")
    if not isinstance(in_specs, tuple) or len(in_specs) != len(avals):
        _fail("shard_map", f"in_specs must be a tuple of one PartitionSpec per operand "
              f"({len(avals)}), got {in_specs!r}")
    ins = jaxpr.in_avals
    if len(ins) != len(avals):
        _fail("shard_map", f"jaxpr takes {len(ins)} inputs but is given {len(avals)} operands")
    for i, (a, s, b) in enumerate(zip(avals, in_specs, ins)):
        _check_spec(f"operand {i}", s, mesh, manual_axes, a)
        f = spec_factors(mesh, s, a.ndim)
        bad = [d for d, (n, k) in enumerate(zip(a.shape, f)) if n % k]
        if bad:
            d = bad[0]
            _fail("shard_map", f"operand {i} of shape {a.shape} cannot be split as {s} over "
                  f"{mesh}: dimension {d} (size {a.shape[d]}) is not divisible by {f[d]}")
        loc = local_aval(mesh, s, a)
        if loc.shape != b.shape or loc.dtype != b.dtype:
            _fail("shard_map", f"operand {i} {a.str_short()} split as {s} over {mesh} is "
                  f"{loc.str_short()} per device, but the body's input {i} is "
                  f"{b.str_short()}")
    outs = jaxpr.out_avals
    if not isinstance(out_specs, tuple) or len(out_specs) != len(outs):
        _fail("shard_map", f"out_specs must be a tuple of one PartitionSpec per output "
              f"({len(outs)}), got {out_specs!r}")
    for k, (a, s) in enumerate(zip(outs, out_specs)):
        _check_spec(f"output {k}", s, mesh, manual_axes, a)
    return [global_aval(mesh, s, a) for a, s in zip(outs, out_specs)]


shard_map = _define(
    "shard_map", "shard_map", _shard_map_rule,
    ("jaxpr", "mesh", "in_specs", "out_specs", "manual_axes"),
    "each device of mesh runs jaxpr on its pieces of the operands (split as in_specs "
    "over manual_axes); the outputs are its pieces laid out as out_specs",
    multiple_results=True, subjaxpr_params=("jaxpr",))
