"""``call_exported`` (primitives/exported.py) under every transform, side by side.

The called program is StableHLO the IR cannot look into, so no rule can be derived from
its inside:

* JVP: none of its own.  ``Exported.call`` attaches the derivative an ``Exported``
  carries (its VJP program, ``Exported.vjp()``) as a ``custom_vjp``, so ``grad`` and
  ``vjp`` work; reaching this rule means there is no VJP to use (serialized with
  ``vjp_order=0``, or one level of grad too many) or forward mode (``jvp``,
  ``jacfwd``), which has no rule, as in JAX: an error that says which.
* Transpose: the call is not linear; reaching the rule is an error.
* Batching: one call per batch element, in index order (``lax.map``), results
  stacked.  JAX has no batching rule (it asks for a symbolic batch dimension); a loop
  is correct for any exported program.
"""
from __future__ import annotations

from primitives import exported as _ex

from ..transforms.batching import RULES, sequential
from ..transforms.jvp import JVP
from ..transforms.transpose import TRANSPOSE


def _jvp(primals, tangents, *, module):
    raise TypeError(
        f"the {module} cannot be differentiated here: an exported program carries only "
        f"its reverse-mode derivative (grad, vjp), and only when it was serialized with "
        f"vjp_order >= 1 (one order per level of grad); forward mode (jvp, jacfwd) is not "
        f"supported")


def _transpose(cts, *args, module):
    raise TypeError(f"the {module} is not linear and cannot be transposed")


def _batch(ax, args, dims, *, module):
    return sequential(_ex.call_exported, ax, args, dims, dict(module=module),
                      len(module.out_avals))


JVP[_ex.call_exported] = _jvp
TRANSPOSE[_ex.call_exported] = _transpose
RULES[_ex.call_exported] = _batch
