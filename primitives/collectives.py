"""The ``collective`` family: reductions and gathers over a *named* mapped axis.

They appear inside ``vmap(..., axis_name=...)`` (and, later, ``shard_map``).  The
axis is named by ``axis_name`` (a tuple of names; ``psum``/``pmax``/``pmin`` may
reduce over several axes at once).  Per-example shapes:

* ``psum`` / ``pmax`` / ``pmin``: same shape as the operand;
* ``all_gather``: the operand with a new axis of size ``axis_size`` inserted at
  ``axis`` (``tiled``: dimension ``axis`` multiplied by ``axis_size`` instead);
* ``axis_index``: an int32 scalar, the position along the named axis.

Under ``vmap`` the batching rule of the matching axis turns them into ordinary
reductions/iotas (xform/batching.py); there is no lowering outside a mapped axis yet.
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


COLLECTIVE_VARIANTS = ("psum", "pmax", "pmin", "all_gather", "axis_index")

collective = {n: _define(n, "collective", _preduce_rule_for(n), ("axis_name",),
                         f"{n[1:]} over the named mapped axis")
              for n in ("psum", "pmax", "pmin")}
collective["all_gather"] = _define(
    "all_gather", "collective", _all_gather_rule, ("axis_name", "axis", "tiled", "axis_size"),
    "stack (or concatenate, tiled) the operand of every position along the named axis")
collective["axis_index"] = _define(
    "axis_index", "collective", _axis_index_rule, ("axis_name",),
    "the position (int32) along the named axis")
psum, pmax, pmin = collective["psum"], collective["pmax"], collective["pmin"]
all_gather, axis_index = collective["all_gather"], collective["axis_index"]
