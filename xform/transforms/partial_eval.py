"""Partial evaluation: split a JVP jaxpr into its primal part (known from the primal
inputs; it also returns residuals) and its linear part (every equation that depends on
a tangent).  Meta-operators holding sub-programs split themselves (``PARTIAL_EVAL``)."""
from __future__ import annotations

from primitives.core import ClosedJaxpr, Jaxpr, Literal, Var

from ..core.checks import check_ir
from .. import passes


# --- partial evaluation: split the JVP into its primal and linear parts -------------------------

# prim -> rule(eqn, unknowns: list[bool]) -> (known eqns, unknown eqns).  Only for
# meta-operators holding sub-jaxprs (control flow), whose one equation may have to be split
# into a primal and a linear equation; residuals are found automatically (variables
# defined by known equations and read by unknown ones).
PARTIAL_EVAL: dict = {}

def split_known_eqns(eqns, known: set):
    """Sort ``eqns`` into known ones (every operand in ``known``) and unknown ones,
    splitting an equation whose meta-operator has a PARTIAL_EVAL rule.  ``known`` grows
    by the known equations' outputs."""
    k_eqns, l_eqns = [], []
    for eqn in eqns:
        if all(type(a) is Literal or a in known for a in eqn.invars):
            k_eqns.append(eqn)
            known.update(eqn.outvars)
        elif eqn.prim in PARTIAL_EVAL:
            # e.g. a loop whose body is part primal, part linear: the rule splits it
            unknowns = [not (type(a) is Literal or a in known) for a in eqn.invars]
            ks, us = PARTIAL_EVAL[eqn.prim](eqn, unknowns)
            k_eqns.extend(ks)
            for e in ks:
                known.update(e.outvars)
            l_eqns.extend(us)
        else:
            l_eqns.append(eqn)
    return k_eqns, l_eqns


def partial_eval(J: ClosedJaxpr, n_known_in: int, force_unknown_outs=None):
    """Split ``J`` (inputs: ``n_known_in`` known ones, then unknown ones) into

    * ``K`` (ClosedJaxpr): known inputs -> known outputs ... + residuals
    * ``L`` (Jaxpr): residuals + unknown inputs -> every output of ``J`` that is unknown
      (or is computed by unknown equations)

    Returns ``(K, L, n_res, out_known)``: ``out_known[i]`` says whether output ``i``
    of ``J`` is an output of ``K`` (otherwise it is an output of ``L``).  An equation
    is unknown iff it depends on an unknown input.
    """
    j = J.jaxpr
    known = set(j.constvars) | set(j.invars[:n_known_in])
    k_eqns, l_eqns = split_known_eqns(j.eqns, known)
    out_known = [type(a) is Literal or a in known for a in j.outvars]
    if force_unknown_outs is not None:   # outputs that L must return even if known
        out_known = [k and not f for k, f in zip(out_known, force_unknown_outs)]
    l_outs = [a for a, k in zip(j.outvars, out_known) if not k]
    L0 = passes.dce(Jaxpr([], j.invars[n_known_in:], l_eqns, l_outs))
    res, seen = [], set()
    for eqn in L0.eqns:
        for a in eqn.invars:
            if type(a) is Var and a in known and a not in seen:
                seen.add(a)
                res.append(a)
    for a in L0.outvars:
        if type(a) is Var and a in known and a not in seen:
            seen.add(a)
            res.append(a)
    k_outs = [a for a, k in zip(j.outvars, out_known) if k] + res
    K = passes.dce(Jaxpr(j.constvars, j.invars[:n_known_in], k_eqns, k_outs))
    K = ClosedJaxpr(K, J.consts)
    L = Jaxpr([], res + list(j.invars[n_known_in:]), L0.eqns, L0.outvars)
    check_ir(K, "partial_eval (known part)")
    check_ir(L, "partial_eval (linear part)")
    return K, L, len(res), out_known
