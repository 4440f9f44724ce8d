"""The ``collective`` family: reductions and gathers over a *named* mapped axis.

They appear inside ``vmap(..., axis_name=...)`` (and, later, ``shard_map``).  The
axis is named by ``axis_name`` (a tuple of names; ``psum``/``pmax``/``pmin`` may
reduce over several axes at once).  Per-example shapes:

* ``psum`` / ``pmax`` / ``pmin``: same shape as the operand;
* ``all_gather``: the operand with a new axis of size ``axis_size`` inserted at
  ``axis`` (``tiled``: dimension ``axis`` multiplied by ``axis_size`` instead);
* ``axis_index``: an int32 scalar, the position along the named axis;
* ``ppermute``: same shape; position ``dst`` receives the operand of position ``src``
  for every ``(src, dst)`` pair of ``perm`` (positions no pair reaches receive zeros);
* ``psum_scatter``: the sum over the axis, of which position ``i`` keeps the ``i``-th
  piece along ``scatter_dimension`` (``tiled``: that dimension divided by ``axis_size``;
  not tiled: it must equal ``axis_size`` and is removed);
* ``all_to_all``: position ``i`` receives piece ``i`` (along ``split_axis``) of every
  position's operand and concatenates them along ``concat_axis`` (``tiled``: those
  dimensions divided / multiplied by ``axis_size``; not tiled: ``split_axis`` must
  equal ``axis_size`` and is removed, and a new axis of that size is inserted at
  ``concat_axis``, numbered in the result).

Under ``vmap`` the batching rule of the matching axis turns them into ordinary
reductions/iotas/gathers (xform/higher_order/collectives.py); inside ``shard_map`` they
lower to StableHLO collectives (lowering/rules/collectives.py).
"""
from __future__ import annotations

from . import dtypes
from .core import ShapedArray
from .ops import _define, _fail, _shape_str


def _check_names(op, axis_name):
    if not isinstance(axis_name, tuple) or not axis_name:
        _fail(op, f"axis_name must be a non-empty tuple of axis names, got {axis_name!r}")


def _preduce_rule_for(name):
    def rule(x, *, axis_name):
        _check_names(name, axis_name)
        if name == "psum" and dtypes.is_bool(x.dtype):
            _fail(name, f"does not accept bool operands, got {_shape_str(x)}")
        return [x]
    return rule


def _all_gather_rule(x, *, axis_name, axis, tiled, axis_size):
    _check_names("all_gather", axis_name)
    n = x.ndim if tiled else x.ndim + 1
    if not 0 <= axis < max(n, 1):
        _fail("all_gather", f"axis {axis} out of range for {_shape_str(x)} (tiled={tiled})")
    shape = list(x.shape)
    if tiled:
        if not shape:
            _fail("all_gather", "tiled=True needs an operand of rank >= 1")
        shape[axis] *= axis_size
    else:
        shape.insert(axis, axis_size)
    return [ShapedArray(shape, x.dtype, x.weak_type)]


def _axis_index_rule(*, axis_name):
    _check_names("axis_index", axis_name)
    if len(axis_name) != 1:
        _fail("axis_index", f"takes exactly one axis name, got {axis_name}")
    return [ShapedArray((), dtypes.int32)]


def _one_name(op, axis_name):
    _check_names(op, axis_name)
    if len(axis_name) != 1:
        _fail(op, f"takes exactly one axis name, got {axis_name}")


def _check_size(op, axis_size):
    if not isinstance(axis_size, int) or axis_size < 1:
        _fail(op, f"axis_size must be a positive int, got {axis_size!r}")


def _ppermute_rule(x, *, axis_name, perm):
    _one_name("ppermute", axis_name)
    if not isinstance(perm, tuple) or not all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(i, int) and i >= 0
                                                         for i in p) for p in perm):
        _fail("ppermute", f"perm must be a tuple of (src, dst) pairs of non-negative ints, "
              f"got {perm!r}")
    srcs, dsts = [p[0] for p in perm], [p[1] for p in perm]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        _fail("ppermute", f"perm {perm} is not a permutation: a source or a destination "
              f"appears twice")
    return [x]


def _psum_scatter_rule(x, *, axis_name, scatter_dimension, tiled, axis_size):
    _one_name("psum_scatter", axis_name)
    _check_size("psum_scatter", axis_size)
    if dtypes.is_bool(x.dtype):
        _fail("psum_scatter", f"does not accept bool operands, got {_shape_str(x)}")
    d = scatter_dimension
    if not 0 <= d < x.ndim:
        _fail("psum_scatter", f"scatter_dimension {d} out of range for {_shape_str(x)}")
    shape = _split(x, "psum_scatter", "dimension", d, axis_size, tiled)
    return [ShapedArray(shape, x.dtype, x.weak_type)]


def _split(x, op, what, d, axis_size, tiled) -> list:
    """The shape of ``x`` with dimension ``d`` cut into ``axis_size`` pieces (``tiled``: it
    shrinks) or removed (not tiled: it must be ``axis_size`` long)."""
    shape = list(x.shape)
    if tiled:
        if shape[d] % axis_size:
            _fail(op, f"{what} {d} of {_shape_str(x)} (size {shape[d]}) is not divisible by "
                  f"the axis size {axis_size} (tiled=True)")
        shape[d] //= axis_size
    else:
        if shape[d] != axis_size:
            _fail(op, f"{what} {d} of {_shape_str(x)} (size {shape[d]}) must equal the axis "
                  f"size {axis_size} (tiled=False)")
        del shape[d]
    return shape


def _all_to_all_rule(x, *, axis_name, split_axis, concat_axis, axis_size, tiled):
    _one_name("all_to_all", axis_name)
    _check_size("all_to_all", axis_size)
    s, c = split_axis, concat_axis
    if not 0 <= s < x.ndim:
        _fail("all_to_all", f"split_axis {s} out of range for {_shape_str(x)}")
    if not 0 <= c < x.ndim:
        _fail("all_to_all", f"concat_axis {c} out of range for {_shape_str(x)}")
    shape = _split(x, "all_to_all", "split_axis", s, axis_size, tiled)
    if tiled:
        shape[c] *= axis_size
    else:
        shape.insert(c, axis_size)
    return [ShapedArray(shape, x.dtype, x.weak_type)]


COLLECTIVE_VARIANTS = ("psum", "pmax", "pmin", "all_gather", "axis_index", "ppermute",
                       "psum_scatter", "all_to_all")

collective = {n: _define(n, "collective", _preduce_rule_for(n), ("axis_name",),
                         f"{n[1:]} over the named mapped axis")
              for n in ("psum", "pmax", "pmin")}
collective["all_gather"] = _define(
    "all_gather", "collective", _all_gather_rule, ("axis_name", "axis", "tiled", "axis_size"),
    "stack (or concatenate, tiled) the operand of every position along the named axis")
collective["axis_index"] = _define(
    "axis_index", "collective", _axis_index_rule, ("axis_name",),
    "the position (int32) along the named axis")
collective["ppermute"] = _define(
    "ppermute", "collective", _ppermute_rule, ("axis_name", "perm"),
    "position dst along the named axis receives the operand of position src, for each "
    "(src, dst) pair of perm; positions no pair reaches receive zeros")
collective["psum_scatter"] = _define(
    "psum_scatter", "collective", _psum_scatter_rule,
    ("axis_name", "scatter_dimension", "tiled", "axis_size"),
    "sum over the named axis, each position keeping its piece along scatter_dimension")
collective["all_to_all"] = _define(
    "all_to_all", "collective", _all_to_all_rule,
    ("axis_name", "split_axis", "concat_axis", "axis_size", "tiled"),
    "position i gathers piece i (along split_axis) of every position's operand, "
    "concatenated along concat_axis")
psum, pmax, pmin = collective["psum"], collective["pmax"], collective["pmin"]
all_gather, axis_index = collective["all_gather"], collective["axis_index"]
ppermute, psum_scatter = collective["ppermute"], collective["psum_scatter"]
all_to_all = collective["all_to_all"]
