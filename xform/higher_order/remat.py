"""``checkpoint`` and ``name`` (primitives/remat.py) under every transform."""
from __future__ import annotations

import numpy as np

from primitives import remat as _remat
from primitives.core import EFFECTFUL, ClosedJaxpr, Eqn, Jaxpr, Literal, Var, has_effects
from primitives.irutil import hoist_consts, intern_jaxpr, permute

from ..transforms.ad_util import aval_of, instantiate, is_diff_dtype, Zero
from ..transforms.batching import batch_subjaxpr, RULES
from ..transforms.checkify import CHECKIFY, eqn_needs, eval_checked, sorted_sigs, trace_sub
from ..transforms.jvp import JVP, jvp_sub, nonzero_mask
from ..transforms.partial_eval import PARTIAL_EVAL, split_known_eqns
from ..transforms.transpose import LinearIn, TRANSPOSE, transpose_linear
from .. import passes
from ..core import bind


# --- checkpoint / remat (primitives/remat.py) -----------------------------------------------------
# JVP: the JVP of the body, still inside a ``checkpoint``.  Reverse mode: the partial-evaluation
# rule splits the JVP'd body into a known ``checkpoint`` (primal outputs + the residuals the policy
# lets it save) and an unknown one (``differentiated=True``) that first recomputes, from those
# residuals and the body's primal inputs, every other primal value the linear part reads, then
# runs the linear part.  Transposing the unknown one transposes its body: the recomputation is
# evaluated forward inside the transposed body, which stays a ``checkpoint`` (so that its
# lowering keeps the optimization barrier).


def _checkpoint_jvp(primals, tangents, *, jaxpr, policy, prevent_cse, differentiated):
    nz = [n and is_diff_dtype(aval_of(p).dtype) for n, p in zip(nonzero_mask(tangents), primals)]
    J, consts, out_nz, in_nz = jvp_sub(jaxpr, nz, False)
    tin = [instantiate(t, aval_of(p)) for t, p, n in zip(tangents, primals, in_nz) if n]
    outs = bind(_remat.checkpoint, *consts, *primals, *tin, jaxpr=J, policy=policy,
                prevent_cse=prevent_cse, differentiated=differentiated)
    n = len(jaxpr.out_avals)
    it = iter(outs[n:])
    return outs[:n], [next(it) if o else Zero(a) for o, a in zip(out_nz, jaxpr.out_avals)]


JVP[_remat.checkpoint] = _checkpoint_jvp


def _saveable(policy, eqn) -> bool:
    """Whether ``policy`` lets the forward pass keep ``eqn``'s outputs for the backward pass."""
    if policy is None:
        return False
    ok = policy(eqn.prim, *[a.aval for a in eqn.invars], **eqn.params)
    if not isinstance(ok, (bool, np.bool_)):
        raise TypeError(f"checkpoint policy {getattr(policy, '__name__', policy)!r} returned "
                        f"{ok!r} for meta-operator {eqn.prim.name!r}; a policy must return a "
                        f"bool (True: save the value, False: recompute it)")
    return bool(ok)


def remat_split(body: Jaxpr, unknowns, policy):
    """Policy-aware partial evaluation of a checkpoint body (inputs known / unknown).

    Returns ``(K, L, saved_in, saved_mid, out_known)``: ``K`` (Jaxpr) maps the known
    inputs to the known outputs followed by the saved intermediates ``saved_mid`` (values
    ``policy`` allows to keep); ``L`` (Jaxpr) takes ``saved_in`` (known inputs that the
    backward pass reads) + ``saved_mid`` + the unknown inputs, recomputes every other known
    value the unknown equations need, and returns the unknown outputs.
    """
    known_in = [v for v, u in zip(body.invars, unknowns) if not u]
    known = set(known_in)
    k_eqns, u_eqns = split_known_eqns(body.eqns, known)
    out_known = [type(a) is Literal or a in known for a in body.outvars]
    u_outs = [a for a, k in zip(body.outvars, out_known) if not k]
    L0 = passes.dce(Jaxpr([], [], u_eqns, u_outs))
    producer = {v: e for e in k_eqns for v in e.outvars}
    verdict: dict = {}       # id(eqn) -> saveable?
    needed, recompute = set(), set()
    stack = [a for e in L0.eqns for a in e.invars if type(a) is Var and a in known]
    while stack:
        v = stack.pop()
        if v in needed:
            continue
        needed.add(v)
        e = producer.get(v)
        if e is None:
            continue          # a known input of the body
        if id(e) not in verdict:
            # an effect ran in the forward pass: the backward pass must not run it again, so
            # what an effectful equation computes is saved (the effects of a loop that is
            # recomputed are dropped from the copy instead, see ``_without_effects``)
            verdict[id(e)] = _saveable(policy, e) or (
                has_effects(e) and _without_effects(e) is None)
        if not verdict[id(e)] and id(e) not in recompute:
            recompute.add(id(e))
            stack.extend(a for a in e.invars if type(a) is Var)
    saved_in = [v for v in known_in if v in needed]
    saved_mid = [v for e in k_eqns if verdict.get(id(e)) for v in e.outvars if v in needed]
    k_outs = [a for a, k in zip(body.outvars, out_known) if k]
    K = passes.dce(Jaxpr([], known_in, k_eqns, k_outs + saved_mid))
    unknown_in = [v for v, u in zip(body.invars, unknowns) if u]
    redo = [e if not has_effects(e) else _without_effects(e)
            for e in k_eqns if id(e) in recompute]
    L = Jaxpr([], saved_in + saved_mid + unknown_in, redo + L0.eqns, u_outs)
    return K, L, saved_in, saved_mid, out_known


def _without_effects(eqn):
    """``eqn`` with the effects that return nothing (prints, ``debug.callback``) removed
    from the programs it holds, for a recomputation; None if an effect it holds returns
    values (those cannot be recomputed without running it again)."""
    if not has_effects(eqn):
        return eqn
    if not eqn.prim.subjaxpr_params:
        return None
    params = dict(eqn.params)
    for name in eqn.prim.subjaxpr_params:
        val = params[name]
        many = isinstance(val, (tuple, list))
        new = []
        for c in (val if many else (val,)):
            j = c.jaxpr
            eqns = []
            for e in j.eqns:
                if has_effects(e):
                    if e.prim in EFFECTFUL and not e.outvars:
                        continue              # a print: it ran in the forward pass
                    e = _without_effects(e)
                    if e is None:
                        return None
                eqns.append(e)
            new.append(ClosedJaxpr(Jaxpr(j.constvars, j.invars, eqns, j.outvars), c.consts))
        params[name] = tuple(new) if many else new[0]
    return Eqn(eqn.prim, eqn.invars, eqn.outvars, params, eqn.source)


def _checkpoint_partial_eval(eqn, unknowns):
    p = eqn.params
    if all(unknowns):
        return [], [eqn]
    body = p["jaxpr"].jaxpr
    K, L, saved_in, saved_mid, out_known = remat_split(body, unknowns, p["policy"])
    outer = dict(zip(body.invars, eqn.invars))
    mid_vars = [Var(v.aval) for v in saved_mid]
    k_outs = [v for v, k in zip(eqn.outvars, out_known) if k]
    known = []
    if k_outs or mid_vars:
        known.append(Eqn(_remat.checkpoint, [a for a, u in zip(eqn.invars, unknowns) if not u],
                         k_outs + mid_vars, dict(p, jaxpr=intern_jaxpr(K),
                                                 differentiated=False), eqn.source))
    u_ins = [outer[v] for v in saved_in] + mid_vars + \
        [a for a, u in zip(eqn.invars, unknowns) if u]
    unknown = Eqn(_remat.checkpoint, u_ins, [v for v, k in zip(eqn.outvars, out_known) if not k],
                  dict(p, jaxpr=intern_jaxpr(L), differentiated=True), eqn.source)
    return known, [unknown]


PARTIAL_EVAL[_remat.checkpoint] = _checkpoint_partial_eval


def _checkpoint_t(cts, *args, jaxpr, policy, prevent_cse, differentiated):
    lin = [type(a) is LinearIn for a in args]
    nonlin = [a for a in args if type(a) is not LinearIn]
    perm = [i for i, l in enumerate(lin) if not l] + [i for i, l in enumerate(lin) if l]
    T = transpose_linear(permute(jaxpr, perm).jaxpr, len(nonlin), list(jaxpr.out_avals))
    T, consts = hoist_consts(T)
    cts = [instantiate(c, a) for c, a in zip(cts, jaxpr.out_avals)]
    outs = bind(_remat.checkpoint, *consts, *nonlin, *cts, jaxpr=T, policy=policy,
                prevent_cse=prevent_cse, differentiated=True)
    it = iter(outs)
    return [next(it) if l else None for l in lin]


TRANSPOSE[_remat.checkpoint] = _checkpoint_t


def _name_jvp(primals, tangents, *, name):
    return [bind(_remat.name, primals[0], name=name)], [tangents[0]]   # the tangent is not named


JVP[_remat.name] = _name_jvp
TRANSPOSE[_remat.name] = lambda ct, x, *, name: [ct]


# --- checkpoint / remat (primitives/remat.py) -----------------------------------------------------


def _checkpoint_rule(ax, args, dims, *, jaxpr, **params):
    """Batch the body; operands keep their batch dimensions, outputs keep whatever they get."""
    new, out_dims = batch_subjaxpr(jaxpr, list(dims), ax)
    outs = bind(_remat.checkpoint, *args, jaxpr=intern_jaxpr(new.jaxpr), **params)
    return list(outs), out_dims


RULES[_remat.checkpoint] = _checkpoint_rule
RULES[_remat.name] = lambda ax, args, dims, *, name: (
    [bind(_remat.name, args[0], name=name)], [dims[0]])


def _checkpoint_checkify(err, eqn, args, *, jaxpr, **params):
    """``checkify``: the body takes and returns the error state, still inside a checkpoint."""
    sigs = sorted_sigs(eqn_needs(eqn, err.enabled))
    state = err.leaves(sigs)
    ns = len(state)

    def body(*a):
        st, outs = eval_checked(jaxpr, err, sigs, a[:ns], a[ns:])
        return st + outs
    new, hoisted = trace_sub(body, err.leaf_avals(sigs) + [aval_of(x) for x in args])
    outs = bind(_remat.checkpoint, *hoisted, *state, *args, jaxpr=new, **params)
    err.set_leaves(outs[:ns], sigs)
    return list(outs[ns:])


CHECKIFY[_remat.checkpoint] = lambda err, eqn, args: _checkpoint_checkify(err, eqn, args,
                                                                          **eqn.params)
