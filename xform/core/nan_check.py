"""``debug_nans`` / ``debug_infs``: find the operation that made the first NaN or Inf.

With ``config.update("jax_debug_nans", True)`` (``jax_debug_infs``, ``with
xform.debug_nans():``, or ``JAX_DEBUG_NANS=1`` in the environment) every eager op and
every ``jit`` call looks at its floating-point outputs; when both switches are off, the
hot paths pay one bool test (``checks.special``) and nothing else.

* An eager op whose output holds a NaN raises ``FloatingPointError`` naming the op, its
  operand and result types and the user's line (``checked_apply``), as JAX's eager ops
  do, also when an operand already held one.  An op that holds a program (a loop, a
  branch, a checkpoint, a custom-derivative call) is first run again op by op inside, so
  that the error names the operation in the body that made the value.
* A ``jit`` call whose output holds one runs its program again equation by equation,
  eagerly, with the checks off (``check_call``), and names the first equation whose
  output holds one.  The transforms keep the source of the equation they rewrite on what
  they emit (``trace.with_sources``), so an equation of a backward pass points at the
  forward line it came from.
* If that run makes none (XLA computed differently than op by op, or a NaN came in as an
  argument and was returned unchanged), the error names the jitted function, as JAX's
  does.

This module evaluates IR without importing ``trace`` (which sits above it): callers pass
``run(prim, args, params) -> outputs``, the eager application of one equation.
"""
from __future__ import annotations

import numpy as np

from primitives import control, dtypes
from primitives.core import Literal, ShapedArray

from . import checks
from .array import array_from_numpy


class _Found(Exception):
    """The first equation (in run order) whose output holds a NaN / Inf."""

    def __init__(self, prim, params, ins, outs, kind, source, inside):
        super().__init__(prim.name)
        self.prim, self.params, self.ins, self.outs = prim, params, ins, outs
        self.kind, self.source, self.inside = kind, source, inside


def _holds(v, kind: str) -> bool:
    if type(v) is Literal:
        v = v.val
    aval = getattr(v, "aval", None)
    dt = aval.dtype if aval is not None else np.result_type(v)
    if not dtypes.is_inexact(dt):
        return False
    x = np.asarray(v)
    return bool(np.isnan(x).any() if kind == "nan" else np.isinf(x).any())


def kind_of(vals) -> str | None:
    """``"nan"`` or ``"inf"`` if a floating value in ``vals`` holds one that is being
    checked for, else None."""
    for v in vals:
        if checks.debug_nans and _holds(v, "nan"):
            return "nan"
        if checks.debug_infs and _holds(v, "inf"):
            return "inf"
    return None


class _Unchecked:
    """``with _Unchecked():`` runs ops without the checks (restored afterwards)."""

    def __enter__(self):
        self.was = checks.special
        checks.special = False

    def __exit__(self, *exc):
        checks.special = self.was


# --- running a program op by op ------------------------------------------------------------

def _run_jaxpr(jaxpr, consts, args, run, inside):
    """Evaluate ``jaxpr`` one equation at a time with ``run``; raises ``_Found`` at the
    first equation whose output holds a NaN / Inf (looking inside the programs an
    equation holds first), else returns the outputs."""
    env = {}

    def read(a):
        return a if type(a) is Literal else env[a]

    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        ins = [read(a) for a in eqn.invars]
        outs = run(eqn.prim, ins, eqn.params)
        kind = kind_of(outs)
        if kind is not None:
            _look_inside(eqn.prim, eqn.params, ins, run, inside + [(eqn.prim, eqn.source)])
            raise _Found(eqn.prim, eqn.params, ins, outs, kind, eqn.source, inside)
        env.update(zip(eqn.outvars, outs))
    return [read(a) for a in jaxpr.outvars]


def _look_inside(prim, params, ins, run, inside):
    """Run the program(s) ``prim`` holds op by op on ``ins`` (raises ``_Found`` if an
    equation in them makes the value)."""
    name = prim.name
    if name == "cond":
        branches = params["branches"]
        i = min(max(int(np.asarray(_value(ins[0]))), 0), len(branches) - 1)
        _run_jaxpr(branches[i].jaxpr, branches[i].consts, ins[1:], run, inside)
    elif name == "while":
        cc, bc, carry = control.while_operands(ins, params["cond_nconsts"],
                                               params["body_nconsts"])
        cj, bj = params["cond_jaxpr"], params["body_jaxpr"]
        step, bound = 0, params.get("max_steps")
        while bound is None or step < bound:   # (max_steps: the loop stops there)
            at = inside[:-1] + [inside[-1] + (f"step {step}",)]
            pred, = _run_jaxpr(cj.jaxpr, cj.consts, cc + carry, run, at)
            if not bool(np.asarray(_value(pred))):
                return
            carry = _run_jaxpr(bj.jaxpr, bj.consts, bc + carry, run, at)
            step += 1
    elif name == "scan":
        consts, carry, xs = control.scan_operands(ins, params["num_consts"],
                                                  params["num_carry"])
        body, n = params["jaxpr"], params["length"]
        xs = [(np.asarray(_value(x)), getattr(getattr(x, "aval", None), "weak_type", False))
              for x in xs]
        for t in (reversed(range(n)) if params["reverse"] else range(n)):
            at = inside[:-1] + [inside[-1] + (f"step {t}",)]
            x_t = [array_from_numpy(x[t], weak_type=w) for x, w in xs]
            outs = _run_jaxpr(body.jaxpr, body.consts, consts + carry + x_t, run, at)
            carry = outs[:params["num_carry"]]
    elif name in ("checkpoint", "custom_jvp_call", "custom_vjp_call"):
        sub = params["jaxpr" if name == "checkpoint" else "call_jaxpr"]
        _run_jaxpr(sub.jaxpr, sub.consts, ins, run, inside)


def _value(v):
    return v.val if type(v) is Literal else v


# --- the messages --------------------------------------------------------------------------

def _type(v) -> str:
    aval = getattr(v, "aval", None)   # an Array, a Literal
    if aval is None and isinstance(v, (bool, int, float, complex)):
        aval = ShapedArray((), dtypes.python_scalar_dtype(v), not isinstance(v, bool))
    if aval is None:                  # a NumPy array or scalar
        aval = ShapedArray(np.shape(v), dtypes.canonicalize(np.result_type(v)))
    return aval.str_short()


def _at(source) -> str:
    if source is None:
        return ""
    try:
        return f" (at {source.filename}:{source.lineno} ({source.function}))"
    except AttributeError:   # a LazySource with no user frame
        return ""


def _message(f: _Found) -> str:
    types = ", ".join(_type(v) for v in f.ins)
    outs = ", ".join(_type(v) for v in f.outs)
    msg = f"invalid value ({f.kind}) encountered in {f.prim.name}: ({types}) -> ({outs})"
    msg += _at(f.source)
    for prim, source, *step in reversed(f.inside):
        msg += f", inside {prim.name}{' ' + step[0] if step else ''}{_at(source)}"
    already = [i for i, v in enumerate(f.ins) if _holds(v, f.kind)]
    if already:
        msg += (f"; operand{'s' if len(already) > 1 else ''} "
                f"{', '.join(map(str, already))} already held {f.kind}")
    return msg


# --- the two entry points ------------------------------------------------------------------

def checked_apply(run, source, prim, args, params):
    """``run(prim, args, params)`` (an eager op) with its outputs checked; ``source()``:
    the user's line, asked for only on an error."""
    with _Unchecked():
        outs = run(prim, args, params)
        kind = kind_of(outs)
        if kind is None:
            return outs
        src = source()
        try:
            _look_inside(prim, params, list(args), run, [(prim, src)])
            found = _Found(prim, params, args, outs, kind, src, [])
        except _Found as inner:
            found = inner
    raise FloatingPointError(_message(found)) from None


def check_call(name: str, jaxpr, consts, args, outs, run) -> None:
    """After a compiled call of ``jaxpr`` (named ``name``, e.g. ``jit(f)``) on ``args``
    returned ``outs``: if an output holds a NaN / Inf, run the program again op by op
    and raise ``FloatingPointError`` naming the first equation that made one."""
    kind = kind_of(outs)
    if kind is None:
        return
    args = [array_from_numpy(np.asarray(a), weak_type=a.weak_type)   # a jax.Array
            if type(a).__name__ == "ArrayImpl" else a for a in args]
    with _Unchecked():
        try:
            _run_jaxpr(jaxpr, consts, args, run, [])
            found = None
        except _Found as f:
            found = f
    if found is not None:
        raise FloatingPointError(f"{_message(found)}; found by running {name} op by op") \
            from None
    raise FloatingPointError(
        f"invalid value ({kind}) encountered in the output of {name}, but running its "
        f"program op by op made none: XLA may compute differently than op by op, or a "
        f"{kind} came in with an argument and was returned unchanged.  Run the function "
        f"without jit to find where it comes from") from None
