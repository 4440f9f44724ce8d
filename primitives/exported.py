"""The ``exported`` family: a call of a program that was lowered elsewhere.

* ``call_exported[module]  *args -> outs``
    Runs ``module``, a ``ForeignModule``: a StableHLO module (text, as the portable
    artifact of ``xform.export`` deserializes to) whose ``main`` takes ``in_avals`` and
    returns ``out_avals``.  The IR cannot see inside it; the lowering links its functions
    into the program being compiled and calls its ``main`` (lowering/rules/calls.py).

It is a meta-operator because no composite of the others can run a program given as
StableHLO: it is what makes a deserialized ``Exported`` callable inside ``jit``, ``vmap``
and ``grad`` (rules: xform/higher_order/exported.py; its derivative is the VJP program
exported with it, attached by ``Exported.call`` as a ``custom_vjp``).
"""
from __future__ import annotations

import hashlib

from .core import ShapedArray
from .ops import _define, _fail


class ForeignModule:
    """A StableHLO module and its signature; compared and hashed by the module's text, so
    two deserializations of one artifact are one program to the caches."""

    __slots__ = ("text", "in_avals", "out_avals", "name", "platforms", "fingerprint",
                 "callee_avals", "symbolic")

    def __init__(self, text: str, in_avals, out_avals, name: str, platforms=(),
                 callee_avals=None):
        self.text = text
        self.in_avals = tuple(in_avals)
        self.out_avals = tuple(out_avals)
        self.name = name
        self.platforms = tuple(platforms)
        self.fingerprint = hashlib.sha256(text.encode()).hexdigest()
        # ``(in avals, out avals)`` of ``main`` when its shapes are symbolic
        # (primitives/shape_poly.py): ``in_avals``/``out_avals`` are then one call's
        # static shapes, and the lowering refines the module to them
        self.callee_avals = callee_avals
        self.symbolic = callee_avals is not None

    def __eq__(self, other):
        return isinstance(other, ForeignModule) and self.fingerprint == other.fingerprint \
            and self.in_avals == other.in_avals and self.out_avals == other.out_avals

    def __hash__(self):
        return hash(self.fingerprint)

    def __repr__(self):
        return f"exported {self.name}"


def _call_rule(*avals, module):
    op = "call_exported"
    if not isinstance(module, ForeignModule):
        _fail(op, f"module must be a ForeignModule, got {type(module).__name__}")
    if len(avals) != len(module.in_avals):
        _fail(op, f"the exported function {module.name} takes {len(module.in_avals)} "
                  f"arrays, but is given {len(avals)}")
    for i, (want, got) in enumerate(zip(module.in_avals, avals)):
        if want.shape != got.shape or want.dtype != got.dtype:
            _fail(op, f"argument {i} of the exported function {module.name} must be "
                      f"{want.str_short()}, got {got.str_short()}")
    return [ShapedArray(a.shape, a.dtype, a.weak_type) for a in module.out_avals]


call_exported = _define(
    "call_exported", "exported", _call_rule, ("module",),
    "outs = module(*args): a StableHLO program lowered elsewhere (xform.export)",
    multiple_results=True)
