"""IR utilities shared by every transform: interning, const hoisting, inlining.

* ``intern_jaxpr`` / ``hoist_consts``: structurally equal const-free sub-jaxprs become
  one object, so a transform that rebuilds the same body twice (and eager mode, which
  caches one executable per equation) sees one program.
* ``permute``: reorder a jaxpr's inputs/outputs.
* ``inline``: copy a jaxpr's equations into another with its inputs renamed.
"""
from __future__ import annotations

import numpy as np

from . import ops
from .core import ClosedJaxpr, Eqn, Jaxpr, Literal, Var
from .lru import LRU

_interned = LRU("interned sub-jaxprs")   # structural fingerprint -> the one ClosedJaxpr


def _fingerprint(jaxpr: Jaxpr):
    """A hashable key equal for structurally identical jaxprs (conservative: params it
    cannot compare by value are compared by identity)."""
    num: dict = {}

    def define(v):
        num[v] = len(num)
        return v.aval

    def atom(a):
        if isinstance(a, Literal):
            v = a.val.item() if isinstance(a.val, np.generic) else a.val
            return ("lit", type(v).__name__, repr(v), a.aval)
        return num[a]

    key = [tuple(define(v) for v in jaxpr.constvars), tuple(define(v) for v in jaxpr.invars)]
    for e in jaxpr.eqns:
        ins = tuple(atom(a) for a in e.invars)
        key.append((e.prim, ins, tuple((k, _param_key(v)) for k, v in e.params.items()),
                    tuple(define(v) for v in e.outvars)))
    key.append(tuple(atom(a) for a in jaxpr.outvars))
    return tuple(key)


def _param_key(v):
    if v is None or isinstance(v, (bool, int, str, np.dtype)):
        return (type(v).__name__, v)
    if isinstance(v, float):
        return ("float", repr(v))
    if isinstance(v, ClosedJaxpr):
        return ("jaxpr", id(v))  # sub-jaxprs are interned themselves
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_param_key(x) for x in v))
    try:
        hash(v)
        return (type(v), v)
    except TypeError:
        return ("id", id(v))


def _intern(jaxpr: Jaxpr) -> ClosedJaxpr:
    try:
        key = _fingerprint(jaxpr)
        hit = _interned.get(key)
    except TypeError:
        return ClosedJaxpr(jaxpr, [])
    if hit is None:
        hit = _interned.put(key, ClosedJaxpr(jaxpr, []))
    return hit


def hoist_consts(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list]:
    """For transforms: turn ``closed``'s consts into leading inputs.  Returns a const-free
    (interned) ClosedJaxpr taking ``consts + inputs``, and the consts, which the caller
    passes as operands of the control-flow equation (before the sub-jaxpr's own inputs)."""
    j = closed.jaxpr
    if not j.constvars:
        return (closed if not closed.consts else _intern(j)), []
    return _intern(Jaxpr([], list(j.constvars) + list(j.invars), j.eqns, j.outvars)), \
        list(closed.consts)


def intern_jaxpr(jaxpr: Jaxpr) -> ClosedJaxpr:
    """For transforms: the canonical const-free ClosedJaxpr for ``jaxpr`` (no constvars),
    so that equal programs share one object and eager mode one executable."""
    assert not jaxpr.constvars, "hoist constvars into invars first (hoist_consts)"
    return _intern(jaxpr)



def inline(j: Jaxpr, ins, outs=None, source=None):
    """``j``'s equations with its inputs renamed to the atoms ``ins`` and fresh variables
    elsewhere; returns (eqns, output atoms).  With ``outs`` (variables), the outputs are
    written to those instead (an output that is an input or a literal gets a copy)."""
    env = dict(zip(j.invars, ins))
    if outs is not None:
        env.update({o: n for o, n in zip(j.outvars, outs)
                    if type(o) is Var and o not in env})

    def read(a):
        return a if type(a) is Literal else env.setdefault(a, Var(a.aval))
    eqns = [Eqn(e.prim, [read(a) for a in e.invars], [read(v) for v in e.outvars],
                e.params, e.source or source) for e in j.eqns]
    if outs is None:
        return eqns, [read(a) for a in j.outvars]
    for o, n in zip(j.outvars, outs):
        if read(o) is not n:
            eqns.append(Eqn(ops.reshape, [read(o)], [n], {"new_sizes": n.aval.shape}, source))
    return eqns, list(outs)


def permute(closed: ClosedJaxpr, in_perm=None, out_perm=None) -> ClosedJaxpr:
    """``closed`` with inputs/outputs reordered (``perm[k]`` = old index of new slot k)."""
    j = closed.jaxpr
    ins = list(j.invars) if in_perm is None else [j.invars[i] for i in in_perm]
    outs = list(j.outvars) if out_perm is None else [j.outvars[i] for i in out_perm]
    return ClosedJaxpr(Jaxpr(j.constvars, ins, j.eqns, outs), closed.consts)
