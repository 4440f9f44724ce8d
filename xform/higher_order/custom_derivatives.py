"""``custom_jvp_call`` / ``custom_vjp_call`` / ``custom_vjp_lin`` (primitives/custom.py)
under every transform: the user's rules take the place of differentiating the body."""
from __future__ import annotations

import functools

import numpy as np

from primitives import custom as _custom, custom as custom_ops
from primitives.core import Jaxpr, Literal

from ..transforms.ad_util import ad_state, aval_of, instantiate, where_eqn, Zero
from ..transforms.batching import batch_callable, batch_subjaxpr, batched_aval, bdim_at, RULES
from ..transforms.checkify import CHECKIFY, eqn_needs, eval_checked, sorted_sigs, trace_sub
from ..transforms.jvp import JVP
from ..transforms.transpose import TRANSPOSE, LinearIn, backward_pass
from ..core import array_from_numpy, bind


# custom rules -------------------------------------------------------------------------------------


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, name):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise TypeError(f"custom_jvp function {name} closes over a value that is being "
                        f"differentiated; pass it as an argument instead{where_eqn()}")
    ps = primals[num_consts:]
    ts = [instantiate(t) for t in tangents[num_consts:]]
    outs, touts = jvp(ps, ts)
    return outs, touts


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, jvp, num_consts, name):
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise TypeError(f"custom_vjp function {name} closes over a value that is being "
                        f"differentiated; pass it as an argument instead{where_eqn()}")
    ps = list(primals[num_consts:])
    ts = list(tangents[num_consts:])
    if ad_state.mode == "fwd":
        if jvp is None:
            raise TypeError(
                f"can't apply forward-mode autodiff (jvp, jacfwd, linearize) to the custom_vjp "
                f"function {name}{where_eqn()}: it only has a reverse-mode rule. Give it a "
                f"forward rule too with {name}.defjvp(jvp_fn) (an xform extension), or use "
                f"reverse mode (grad, vjp, jacrev)")
        return jvp(ps, [instantiate(t) for t in ts])
    outs, res = fwd(ps)
    mask = tuple(type(t) is not Zero for t in ts)
    lin = [t for t in ts if type(t) is not Zero]
    out_avals = tuple(aval_of(o) for o in outs)
    touts = bind(custom_ops.custom_vjp_lin, *res, *lin, bwd=bwd, num_res=len(res),
                 lin_mask=mask, out_avals=out_avals, name=name)
    return list(outs), list(touts)


JVP[custom_ops.custom_jvp_call] = _custom_jvp_call_jvp
JVP[custom_ops.custom_vjp_call] = _custom_vjp_call_jvp


def _custom_jvp_call_t(cts, *args, call_jaxpr, jvp, num_consts, name):
    """A ``custom_jvp`` function applied to a tangent inside a derivative rule (JAX's own
    pattern: ``custom_root``'s ``tangent_solve`` calling ``linalg.solve``) is linear there,
    and its body is what gets transposed: the rule was only needed to differentiate it."""
    j = call_jaxpr.jaxpr
    lin = [i for i, a in enumerate(args) if type(a) is LinearIn]
    res = [i for i, a in enumerate(args) if type(a) is not LinearIn]
    body = Jaxpr([], [j.invars[i] for i in res] + [j.invars[i] for i in lin], j.eqns,
                 j.outvars)
    ct_lin = backward_pass(body, len(res), [args[i] for i in res], cts)
    out = [None] * len(args)
    for i, c in zip(lin, ct_lin):
        out[i] = c
    return out


TRANSPOSE[custom_ops.custom_jvp_call] = _custom_jvp_call_t


def _custom_vjp_lin_jvp(primals, tangents, **params):
    raise TypeError(f"the linearized custom_vjp function {params['name']} cannot be "
                    f"differentiated again in forward mode{where_eqn()}")


JVP[custom_ops.custom_vjp_lin] = _custom_vjp_lin_jvp


def _custom_vjp_lin_t(cts, *args, bwd, num_res, lin_mask, out_avals, name):
    res = args[:num_res]
    cts = [instantiate(c, a) for c, a in zip(cts, out_avals)]
    # the user's bwd gets arrays: ``grad``'s seed cotangent is a literal 1.0 in the IR
    cts = [array_from_numpy(np.asarray(c.val, c.aval.dtype), weak_type=c.aval.weak_type)
           if type(c) is Literal else c for c in cts]
    cts_in = bwd(list(res), cts)
    out = [None] * num_res
    for m, c in zip(lin_mask, cts_in):
        if m:
            out.append(c)
    return out


TRANSPOSE[custom_ops.custom_vjp_lin] = _custom_vjp_lin_t


# --- custom derivative rules ---------------------------------------------------------------------

def _vmapped_callable(f, ax):
    """The user's rule, vectorised: every argument and result batched along axis 0."""
    if not callable(f):
        return f

    @functools.wraps(f)
    def g(*a, **k):
        return batch_callable(f, ax.size, ax.name)(*a, **k)
    return g


def _custom_call_rule(prim):
    def rule(ax, args, dims, *, call_jaxpr, num_consts, name, **fns):
        xs = [bdim_at(x, d, 0, ax.size) for x, d in zip(args, dims)]
        n_out = len(call_jaxpr.out_avals)
        new, _ = batch_subjaxpr(call_jaxpr, [0] * len(xs), ax, [0] * n_out)
        wrapped = {k: _vmapped_callable(f, ax) for k, f in fns.items()}
        outs = bind(prim, *xs, call_jaxpr=new, num_consts=num_consts, name=name, **wrapped)
        return list(outs), [0] * n_out
    return rule


RULES[_custom.custom_jvp_call] = _custom_call_rule(_custom.custom_jvp_call)
RULES[_custom.custom_vjp_call] = _custom_call_rule(_custom.custom_vjp_call)


def _custom_vjp_lin_rule(ax, args, dims, *, bwd, out_avals, **params):
    xs = [bdim_at(x, d, 0, ax.size) for x, d in zip(args, dims)]
    new_avals = tuple(batched_aval(a, 0, ax.size) for a in out_avals)
    outs = bind(_custom.custom_vjp_lin, *xs, bwd=_vmapped_callable(bwd, ax),
                out_avals=new_avals, **params)
    return list(outs), [0] * len(new_avals)


RULES[_custom.custom_vjp_lin] = _custom_vjp_lin_rule


# --- checkify ----------------------------------------------------------------------------------
# The primal program takes and returns the error state (after its consts, before its
# arguments); the user's rules see only their own arguments, and pass the state through with
# a zero tangent / no cotangent: failures inside a rule are not checked (as in JAX).


def _custom_checkify(prim):
    def rule(err, eqn, args):
        p = dict(eqn.params)
        nc, call = p.pop("num_consts"), p.pop("call_jaxpr")
        sigs = sorted_sigs(eqn_needs(eqn, err.enabled))
        state = err.leaves(sigs)
        ns = len(state)

        def body(*a):
            st, outs = eval_checked(call, err, sigs, a[nc:nc + ns], a[:nc] + a[nc + ns:])
            return st + outs
        avals = [aval_of(x) for x in args]
        new, hoisted = trace_sub(body, avals[:nc] + err.leaf_avals(sigs) + avals[nc:])
        fns = {k: _passing_state(k, f, ns) for k, f in p.items() if k in ("jvp", "fwd", "bwd")}
        outs = bind(prim, *hoisted, *args[:nc], *state, *args[nc:], call_jaxpr=new,
                    num_consts=len(hoisted) + nc, **dict(p, **fns))
        err.set_leaves(outs[:ns], sigs)
        return list(outs[ns:])
    return rule


def _passing_state(kind, f, ns):
    """A user rule of the checkified call: the ``ns`` error-state operands pass through."""
    if f is None:
        return None
    if kind == "jvp":
        def jvp(ps, ts):
            outs, touts = f(list(ps[ns:]), list(ts[ns:]))
            return list(ps[:ns]) + list(outs), [Zero(aval_of(s)) for s in ps[:ns]] + list(touts)
        return jvp
    if kind == "fwd":
        def fwd(ps):
            outs, res = f(list(ps[ns:]))
            return list(ps[:ns]) + list(outs), res
        return fwd

    def bwd(res, cts):
        return [None] * ns + list(f(res, list(cts[ns:])))
    return bwd


CHECKIFY[_custom.custom_jvp_call] = _custom_checkify(_custom.custom_jvp_call)
CHECKIFY[_custom.custom_vjp_call] = _custom_checkify(_custom.custom_vjp_call)
