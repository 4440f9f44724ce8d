"""Lowering rules of the call-like meta-operators, which inline their sub-jaxpr.

* custom derivative calls (primitives/custom.py; owned by the AD work):
  ``custom_jvp_call`` / ``custom_vjp_call`` inline their primal sub-jaxpr;
  ``custom_vjp_lin`` only exists between the JVP rewrite and transposition and is
  never lowered.
* checkpoint / remat (primitives/remat.py): the body is inlined.  The copy that
  recomputes during the backward pass (``differentiated``) first passes its operands
  through an optimization barrier when ``prevent_cse`` is set: XLA then cannot see that
  the recomputation repeats the forward pass and merge the two (which would keep the
  forward values alive, undoing the checkpoint).  ``name`` is the identity.
* ``call_exported`` (primitives/exported.py): the foreign module's functions are linked
  into the program once (``link_module``) and its ``main`` is called."""
from __future__ import annotations

from primitives import custom as _custom
from primitives import exported as _exported
from primitives import remat as _remat

from ..emitter import RULES, in_avals_of, link_module, lower_jaxpr_body, out_avals_of


def _inline_call(ctx, eqn, args):
    return lower_jaxpr_body(ctx, eqn.params["call_jaxpr"].jaxpr, [], args)


RULES[_custom.custom_jvp_call] = _inline_call
RULES[_custom.custom_vjp_call] = _inline_call


def _custom_vjp_lin(ctx, eqn, args):
    raise NotImplementedError(
        f"the linearized custom_vjp function {eqn.params['name']} cannot be evaluated in "
        f"forward mode; give it a forward rule with defjvp")


RULES[_custom.custom_vjp_lin] = _custom_vjp_lin


def _checkpoint_lower(ctx, eqn, args):
    p = eqn.params
    args = list(args)
    if p["differentiated"] and p["prevent_cse"] and args:
        avals = in_avals_of(eqn)
        args = ctx.op("stablehlo.optimization_barrier", args, avals, avals)
    return lower_jaxpr_body(ctx, p["jaxpr"].jaxpr, [], args)


RULES[_remat.checkpoint] = _checkpoint_lower
RULES[_remat.name] = lambda ctx, eqn, args: [args[0]]


def _call_exported(ctx, eqn, args):
    module = eqn.params["module"]
    callee = link_module(module)
    if not module.symbolic:
        return ctx.op("func.call", args, in_avals_of(eqn), out_avals_of(eqn),
                      f"callee = {callee}")
    # a symbolic signature: static -> dynamic types around the call; shape refinement
    # (lower_program) then makes the callee's shapes static again
    ins, outs = module.callee_avals
    args = [a if i == c else ctx.op1("stablehlo.convert", [a], [i], c)
            for a, i, c in zip(args, module.in_avals, ins)]
    res = ctx.op("func.call", args, ins, outs, f"callee = {callee}")
    return [r if o == c else ctx.op1("stablehlo.convert", [r], [c], o)
            for r, o, c in zip(res, module.out_avals, outs)]


RULES[_exported.call_exported] = _call_exported
