"""Structured control flow: meta-operators that hold sub-jaxprs (family ``control``).

Every sub-jaxpr is a ``ClosedJaxpr`` with **no consts**: values a branch or body
closes over are hoisted at trace time into explicit operands of the equation, so
each transform (JVP, transpose, batching, lowering) sees all inputs as operands
and rewrites the sub-jaxprs like any other jaxpr.

* ``cond[branches]  index, *ops -> outs``
    ``index`` is an int32 scalar, clamped into ``[0, len(branches) - 1]``; every
    branch takes ``ops`` and returns values of the same types.
* ``while[cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps]
  *cond_consts, *body_consts, *carry -> carry``
    ``cond_jaxpr: (cond_consts, carry) -> bool[]``,
    ``body_jaxpr: (body_consts, carry) -> carry``.  ``max_steps`` (None or int) is
    a user-given bound on the trip count, kept for reverse mode; it does not
    change the forward semantics.
* ``scan[jaxpr, length, reverse, num_consts, num_carry, unroll]
  *consts, *init, *xs -> *carry, *ys``
    ``jaxpr: (consts, carry, x slices) -> (carry, y slices)``; every ``xs``
    operand has leading dimension ``length`` and each ``ys`` output gets one.
    ``reverse`` walks the leading axis from the end; ``unroll`` (int >= 1) is
    how many steps one loop iteration runs (a performance hint only).

Transforms re-emit these ops with ``bind(control.<op>, *operands, **params)`` and
rewritten sub-jaxprs; ``xform.control_flow.hoist_consts`` turns a transformed
ClosedJaxpr's consts into operands.  A batching rule for ``cond`` with a batched
index must clamp it as the lowering does.
"""
from __future__ import annotations

from . import dtypes
from .core import ClosedJaxpr, ShapedArray
from .ops import _define, _fail
from .shape_poly import DimExpr


def scan_operands(xs, num_consts: int, num_carry: int) -> tuple[list, list, list]:
    """Split a ``scan``'s operands (or anything laid out like them: dims, masks, avals)
    into (consts, initial carry, per-step xs)."""
    xs = list(xs)
    k = num_consts + num_carry
    return xs[:num_consts], xs[num_consts:k], xs[k:]


def while_operands(xs, cond_nconsts: int, body_nconsts: int) -> tuple[list, list, list]:
    """Split a ``while``'s operands (or anything laid out like them) into (cond consts,
    body consts, carry)."""
    xs = list(xs)
    k = cond_nconsts + body_nconsts
    return xs[:cond_nconsts], xs[cond_nconsts:k], xs[k:]


def _same(a: ShapedArray, b: ShapedArray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype


def _types(avals) -> str:
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _check_closed(op, what, j):
    if not isinstance(j, ClosedJaxpr):
        _fail(op, f"{what} must be a ClosedJaxpr, got {type(j).__name__}")
    if j.consts:
        _fail(op, f"{what} has {len(j.consts)} consts; hoist them into operands")


def _check_inputs(op, what, j, avals):
    ins = j.in_avals
    if len(ins) != len(avals):
        _fail(op, f"{what} takes {len(ins)} inputs {_types(ins)} but is given "
              f"{len(avals)} operands {_types(avals)}")
    for i, (p, a) in enumerate(zip(ins, avals)):
        if not _same(p, a):
            _fail(op, f"{what} input {i} has type {p.str_short()} but its operand is "
                  f"{a.str_short()}")


def _join_weak(*avals):
    a = avals[0]
    return ShapedArray(a.shape, a.dtype, all(b.weak_type for b in avals))


# --- cond -------------------------------------------------------------------------------

def _cond_rule(index, *ops, branches):
    if not branches:
        _fail("cond", "needs at least one branch")
    if index.shape != () or index.dtype != dtypes.int32:
        _fail("cond", f"index must be an int32 scalar, got {index.str_short()}")
    for i, b in enumerate(branches):
        _check_closed("cond", f"branch {i}", b)
        _check_inputs("cond", f"branch {i}", b, ops)
    outs0 = branches[0].out_avals
    for i, b in enumerate(branches[1:], 1):
        outs = b.out_avals
        if len(outs) != len(outs0):
            _fail("cond", f"branch 0 returns {len(outs0)} values {_types(outs0)} but branch "
                  f"{i} returns {len(outs)} {_types(outs)}")
        for k, (a, c) in enumerate(zip(outs0, outs)):
            if not _same(a, c):
                _fail("cond", f"output {k} of branch 0 is {a.str_short()} but of branch {i} "
                      f"is {c.str_short()}")
    return [_join_weak(*avs) for avs in zip(*[b.out_avals for b in branches])]


cond = _define(
    "cond", "control", _cond_rule, ("branches",),
    "branches[clamp(index, 0, n-1)](*ops)", multiple_results=True,
    subjaxpr_params=("branches",))


# --- while ------------------------------------------------------------------------------

def _while_rule(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps=None):
    if len(args) < cond_nconsts + body_nconsts:
        _fail("while", f"has {len(args)} operands, fewer than cond_nconsts + body_nconsts = "
              f"{cond_nconsts + body_nconsts}")
    cconsts = args[:cond_nconsts]
    bconsts = args[cond_nconsts:cond_nconsts + body_nconsts]
    carry = args[cond_nconsts + body_nconsts:]
    _check_closed("while", "cond_jaxpr", cond_jaxpr)
    _check_closed("while", "body_jaxpr", body_jaxpr)
    _check_inputs("while", "cond_jaxpr", cond_jaxpr, cconsts + carry)
    _check_inputs("while", "body_jaxpr", body_jaxpr, bconsts + carry)
    couts = cond_jaxpr.out_avals
    if len(couts) != 1 or couts[0].shape != () or couts[0].dtype != dtypes.bool_:
        _fail("while", f"cond_jaxpr must return one bool scalar, returns {_types(couts)}")
    bouts = body_jaxpr.out_avals
    if len(bouts) != len(carry):
        _fail("while", f"body_jaxpr returns {len(bouts)} values {_types(bouts)} for a carry "
              f"of {len(carry)} {_types(carry)}")
    for k, (a, b) in enumerate(zip(carry, bouts)):
        if not _same(a, b):
            _fail("while", f"carry element {k} enters the body as {a.str_short()} but the "
                  f"body returns {b.str_short()}")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 0):
        _fail("while", f"max_steps must be None or a non-negative int, got {max_steps!r}")
    return [_join_weak(a, b) for a, b in zip(carry, bouts)]


while_ = _define(
    "while", "control", _while_rule,
    ("cond_jaxpr", "body_jaxpr", "cond_nconsts", "body_nconsts", "max_steps"),
    "carry = body(carry) while cond(carry)", multiple_results=True,
    subjaxpr_params=("cond_jaxpr", "body_jaxpr"))


# --- scan -------------------------------------------------------------------------------

def _scan_rule(*args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    if not isinstance(length, (int, DimExpr)) or length < 0:
        _fail("scan", f"length must be a non-negative int, got {length!r}")
    if not isinstance(unroll, int) or unroll < 1:
        _fail("scan", f"unroll must be an int >= 1, got {unroll!r}")
    if len(args) < num_consts + num_carry:
        _fail("scan", f"has {len(args)} operands, fewer than num_consts + num_carry = "
              f"{num_consts + num_carry}")
    _check_closed("scan", "jaxpr", jaxpr)
    consts = args[:num_consts]
    carry = args[num_consts:num_consts + num_carry]
    xs = args[num_consts + num_carry:]
    for k, x in enumerate(xs):
        if x.ndim == 0 or x.shape[0] != length:
            _fail("scan", f"xs operand {k} is {x.str_short()}; its leading dimension must be "
                  f"length={length}")
    x_slices = [ShapedArray(x.shape[1:], x.dtype, x.weak_type) for x in xs]
    _check_inputs("scan", "jaxpr", jaxpr, consts + carry + tuple(x_slices))
    outs = jaxpr.out_avals
    if len(outs) < num_carry:
        _fail("scan", f"jaxpr returns {len(outs)} values, fewer than num_carry={num_carry}")
    for k, (a, b) in enumerate(zip(carry, outs)):
        if not _same(a, b):
            _fail("scan", f"carry element {k} enters the body as {a.str_short()} but the "
                  f"body returns {b.str_short()}")
    ys = [ShapedArray((length,) + y.shape, y.dtype, y.weak_type) for y in outs[num_carry:]]
    return [_join_weak(a, b) for a, b in zip(carry, outs)] + ys


scan = _define(
    "scan", "control", _scan_rule,
    ("jaxpr", "length", "reverse", "num_consts", "num_carry", "unroll"),
    "carry, ys = loop of jaxpr over the leading axis of xs", multiple_results=True,
    subjaxpr_params=("jaxpr",))

control = {"cond": cond, "while": while_, "scan": scan}
