"""Cheap IR -> IR passes that keep programs small before they are transformed or lowered.

* ``dce``: drop equations whose outputs are never used.
* ``cse``: merge equations that apply the same op with the same params to the
  same operands.
Both preserve the interface (constvars, invars, outvars).
"""
from __future__ import annotations

from primitives.core import ClosedJaxpr, Eqn, Jaxpr, Literal, Var

# meta-operators that must run even if their results are unused (effects)
EFFECTFUL: set = set()


def dce(jaxpr: Jaxpr) -> Jaxpr:
    live = {v for v in jaxpr.outvars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if eqn.prim in EFFECTFUL or any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(a for a in eqn.invars if isinstance(a, Var))
    kept.reverse()
    if len(kept) == len(jaxpr.eqns):
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, kept, jaxpr.outvars)


def _hashable(v):
    try:
        hash(v)
        return v
    except TypeError:
        return ("<id>", id(v))


def cse(jaxpr: Jaxpr) -> Jaxpr:
    rename: dict = {}
    seen: dict = {}
    eqns = []
    changed = False

    def sub(a):
        return rename.get(a, a) if isinstance(a, Var) else a

    def key_of(a):
        return ("lit", a.key()) if isinstance(a, Literal) else a

    for eqn in jaxpr.eqns:
        invars = [sub(a) for a in eqn.invars]
        if eqn.prim in EFFECTFUL or eqn.prim.subjaxpr_params:
            eqns.append(Eqn(eqn.prim, invars, eqn.outvars, eqn.params, eqn.source)
                        if invars != eqn.invars else eqn)
            continue
        key = (eqn.prim, tuple(key_of(a) for a in invars),
               tuple((k, _hashable(v)) for k, v in eqn.params.items()))
        prev = seen.get(key)
        if prev is not None:
            for old, new in zip(eqn.outvars, prev.outvars):
                rename[old] = new
            changed = True
            continue
        if invars != eqn.invars:
            eqn = Eqn(eqn.prim, invars, eqn.outvars, eqn.params, eqn.source)
            changed = True
        seen[key] = eqn
        eqns.append(eqn)
    if not changed:
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, [sub(a) for a in jaxpr.outvars])


def simplify(closed: ClosedJaxpr) -> ClosedJaxpr:
    """CSE then DCE; unused constvars are dropped together with their values."""
    j = dce(cse(closed.jaxpr))
    used = {a for e in j.eqns for a in e.invars if isinstance(a, Var)} | \
        {a for a in j.outvars if isinstance(a, Var)}
    keep = [i for i, v in enumerate(j.constvars) if v in used]
    if len(keep) != len(j.constvars):
        j = Jaxpr([j.constvars[i] for i in keep], j.invars, j.eqns, j.outvars)
        return ClosedJaxpr(j, [closed.consts[i] for i in keep])
    return closed if j is closed.jaxpr else ClosedJaxpr(j, closed.consts)
