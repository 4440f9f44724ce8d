"""Type checker: re-derive every equation's output types from the shape rules.

A transform that writes a malformed jaxpr is caught here, with a message naming
the equation, before XLA sees the program.
"""
from __future__ import annotations

from .core import ClosedJaxpr, Jaxpr, Literal, Var, pp_atom, _Names


class JaxprTypeError(TypeError):
    pass


def check_jaxpr(jaxpr: Jaxpr | ClosedJaxpr) -> None:
    if isinstance(jaxpr, ClosedJaxpr):
        _check_consts(jaxpr)
        jaxpr = jaxpr.jaxpr
    names = _Names()
    defined: set = set()

    def define(v, where):
        if not isinstance(v, Var):
            raise JaxprTypeError(f"{where}: binder {v!r} is not a Var")
        if v in defined:
            raise JaxprTypeError(f"{where}: variable {names[v]} is defined twice")
        defined.add(v)

    def read(a, where):
        if isinstance(a, Literal):
            if a.aval.shape != ():
                raise JaxprTypeError(f"{where}: literal {a!r} is not a scalar")
            return a.aval
        if not isinstance(a, Var):
            raise JaxprTypeError(f"{where}: operand {a!r} is neither a Var nor a Literal")
        if a not in defined:
            raise JaxprTypeError(f"{where}: variable {names[a]} is used before it is defined")
        return a.aval

    for v in jaxpr.constvars:
        define(v, "constvars")
    for v in jaxpr.invars:
        define(v, "invars")
    for i, eqn in enumerate(jaxpr.eqns):
        outs = " ".join(names[v] for v in eqn.outvars)
        where = f"equation {i} ({outs} = {eqn.prim.name} " \
                f"{' '.join(pp_atom(a, names) for a in eqn.invars)})"
        in_avals = [read(a, where) for a in eqn.invars]
        for p in eqn.prim.subjaxpr_params:
            sub = eqn.params[p]
            for s in (sub if isinstance(sub, (tuple, list)) else (sub,)):
                check_jaxpr(s)
        try:
            expected = eqn.prim.abstract_eval(*in_avals, **eqn.params)
        except TypeError as e:
            raise JaxprTypeError(f"{where}: {e}") from None
        if len(expected) != len(eqn.outvars):
            raise JaxprTypeError(f"{where}: has {len(eqn.outvars)} outputs, rule gives {len(expected)}")
        for v, aval in zip(eqn.outvars, expected):
            got = v.aval
            if got.shape != aval.shape or got.dtype != aval.dtype:
                raise JaxprTypeError(f"{where}: output {names[v]} is declared "
                                     f"{got.str_short()} but the rule gives {aval.str_short()}")
            define(v, where)
    for a in jaxpr.outvars:
        read(a, "outvars")


def _check_consts(closed: ClosedJaxpr) -> None:
    """Each const value (an array, or a tracer of an outer trace) has its constvar's type."""
    j = closed.jaxpr
    if len(closed.consts) != len(j.constvars):
        raise JaxprTypeError(f"{len(j.constvars)} constvars but {len(closed.consts)} consts")
    names = _Names()
    for v, c in zip(j.constvars, closed.consts):
        a = getattr(c, "aval", None)
        if a is not None and (tuple(a.shape) != v.aval.shape or a.dtype != v.aval.dtype):
            raise JaxprTypeError(f"constvar {names[v]} is declared {v.aval.str_short()} but "
                                 f"its value is {a.dtype}{list(a.shape)}")
