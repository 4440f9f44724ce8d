"""Rematerialisation: meta-operators of ``checkpoint`` / ``remat`` (family ``remat``).

* ``checkpoint[jaxpr, policy, prevent_cse, differentiated]  *args -> outs``
    Runs ``jaxpr`` (a ClosedJaxpr with **no consts**, like the control-flow
    bodies) on ``args``.  Evaluating it is just evaluating the body; what makes
    it a meta-operator is reverse mode: its partial-evaluation rule (xform/ad.py)
    saves for the backward pass only the intermediates that ``policy`` allows
    and re-emits the rest inside the linear part, so they are recomputed.
    ``policy`` is ``None`` (save nothing) or a callable
    ``policy(prim, *in_avals, **params) -> bool`` asked about each equation whose
    outputs the backward pass needs.  ``differentiated`` marks the copy that
    recomputes during the backward pass; with ``prevent_cse`` its lowering routes
    the inputs through ``stablehlo.optimization_barrier`` so that XLA cannot
    merge the recomputation with the forward computation it repeats.
* ``name[name]  x -> x``
    The identity, carrying a string that policies (``save_only_these_names``)
    can refer to.  ``checkpoint_name(x, "a")`` binds it.
"""
from __future__ import annotations

from .core import ClosedJaxpr
from .ops import _define, _fail


def _checkpoint_rule(*avals, jaxpr, policy, prevent_cse, differentiated):
    if not isinstance(jaxpr, ClosedJaxpr):
        _fail("checkpoint", f"jaxpr must be a ClosedJaxpr, got {type(jaxpr).__name__}")
    if jaxpr.consts:
        _fail("checkpoint", f"jaxpr has {len(jaxpr.consts)} consts; hoist them into operands")
    if policy is not None and not callable(policy):
        _fail("checkpoint", f"policy must be None or a callable, got {type(policy).__name__}")
    ins = jaxpr.in_avals
    if len(ins) != len(avals):
        _fail("checkpoint", f"jaxpr takes {len(ins)} inputs but is given {len(avals)} operands")
    for i, (p, a) in enumerate(zip(ins, avals)):
        if p.shape != a.shape or p.dtype != a.dtype:
            _fail("checkpoint", f"jaxpr input {i} has type {p.str_short()} but its operand is "
                  f"{a.str_short()}")
    return list(jaxpr.out_avals)


def _name_rule(x, *, name):
    if not isinstance(name, str):
        _fail("name", f"name must be a str, got {type(name).__name__} {name!r}")
    return [x]


checkpoint = _define(
    "checkpoint", "remat", _checkpoint_rule,
    ("jaxpr", "policy", "prevent_cse", "differentiated"),
    "runs jaxpr; reverse mode saves what policy allows and recomputes the rest",
    multiple_results=True, subjaxpr_params=("jaxpr",))

name = _define("name", "remat", _name_rule, ("name",),
               "identity that names a value for checkpoint policies")

remat = {"checkpoint": checkpoint, "name": name}
