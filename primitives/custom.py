"""Meta-operators for user-defined derivative rules (``custom_jvp``, ``custom_vjp``).

Each holds the primal computation as a sub-jaxpr (``call_jaxpr``, a ClosedJaxpr
without consts: captured values are passed as the first ``num_consts`` operands)
plus Python callables for the rule.  Lowering inlines ``call_jaxpr``; the rules
themselves are only read by the AD transform (xform/ad.py).

* ``custom_jvp_call[call_jaxpr, jvp, num_consts, name]``
* ``custom_vjp_call[call_jaxpr, fwd, bwd, jvp, num_consts, name]``
* ``custom_vjp_lin[bwd, num_res, lin_mask, out_avals, name]``: the linear
  (tangent) half of a ``custom_vjp`` call after the JVP rewrite; its transpose
  calls ``bwd``.  It can never be evaluated or lowered.
"""
from __future__ import annotations

from .ops import _define, _fail


def _call_rule(name):
    def rule(*avals, call_jaxpr, **params):
        ins = call_jaxpr.in_avals
        if len(ins) != len(avals) or any(a.shape != b.shape or a.dtype != b.dtype
                                         for a, b in zip(ins, avals)):
            _fail(name, "operand types do not match the sub-jaxpr's inputs")
        return list(call_jaxpr.out_avals)
    return rule


def _lin_rule(*avals, out_avals, **params):
    return list(out_avals)


custom_jvp_call = _define(
    "custom_jvp_call", "custom", _call_rule("custom_jvp_call"),
    ("call_jaxpr", "jvp", "num_consts", "name"),
    "calls call_jaxpr; its JVP is the user's rule", multiple_results=True,
    subjaxpr_params=("call_jaxpr",))

custom_vjp_call = _define(
    "custom_vjp_call", "custom", _call_rule("custom_vjp_call"),
    ("call_jaxpr", "fwd", "bwd", "jvp", "num_consts", "name"),
    "calls call_jaxpr; reverse mode uses the user's fwd/bwd", multiple_results=True,
    subjaxpr_params=("call_jaxpr",))

custom_vjp_lin = _define(
    "custom_vjp_lin", "custom", _lin_rule,
    ("bwd", "num_res", "lin_mask", "out_avals", "name"),
    "linear part of a custom_vjp call (residuals, tangents) -> tangents; transposed by bwd",
    multiple_results=True)
