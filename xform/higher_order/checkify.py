"""``check`` (primitives/checkify.py) under every transform, and the ``checkify`` rules of
control flow (``cond``, ``while``, ``scan``; they are here rather than in control_flow.py,
which is near the length limit).

``check``:
* JVP: checked on the primal values, no tangent (as ``io_callback``), so reverse mode
  keeps it in the forward program: ``checkify(grad(f))`` sees it.
* Transpose: never reached (it takes no tangent); a clear error if it is.
* Batching: the batch dimension goes in front of the predicate and of every format
  argument (unbatched ones are broadcast); applied eagerly it then fails if any element
  does, and under ``checkify`` it reports the first failing element.

Control flow under ``checkify`` (xform/transforms/checkify.py): the error state (code and
the payload slots the body needs) goes in as extra operands and comes out as extra
results.  ``scan`` carries it; every ``cond`` branch takes and returns it; ``while`` carries
it through the body, which also evaluates the predicate on the new carry so that a
failure in ``cond_fun`` is recorded (the predicate is also checked once on the initial
carry, before the loop); the loop's own predicate drops the error.
"""
from __future__ import annotations

from primitives import checkify as _checkify, control as _control
from primitives.core import Jaxpr, Var
from primitives.irutil import intern_jaxpr

from ..transforms.batching import RULES, bdim_at
from ..transforms.checkify import (
    CHECKIFY, ErrorState, checkify_eval, eqn_needs, eval_checked, jaxpr_needs, sorted_sigs,
    trace_sub)
from ..transforms.jvp import JVP
from ..transforms.transpose import TRANSPOSE
from .. import lax
from ..core import bind


# --- check under JVP, transpose, batching --------------------------------------------------------

def _check_jvp(primals, tangents, **params):
    bind(_checkify.check, *primals, **params)
    return [], []


def _check_transpose(cts, *args, msg, **_):
    raise TypeError(f"checkify.check ({msg!r}) was given a value that depends on a tangent; "
                    f"reverse mode cannot run it backwards.  Check primal values")


def _check_batch(ax, args, dims, **params):
    moved = [bdim_at(x, d, 0, ax.size) for x, d in zip(args, dims)]
    bind(_checkify.check, *moved, **params)
    return [], []


JVP[_checkify.check] = _check_jvp
TRANSPOSE[_checkify.check] = _check_transpose
RULES[_checkify.check] = _check_batch


# --- checkify of control flow --------------------------------------------------------------------

def _avals(xs) -> list:
    return [lax.aval(x) for x in xs]


def _cond_checkify(err: ErrorState, eqn, args):
    sigs = sorted_sigs(eqn_needs(eqn, err.enabled))
    index, ops = args[0], list(args[1:])
    state = err.leaves(sigs)
    ns = len(state)
    avals = err.leaf_avals(sigs) + _avals(ops)
    traced = []
    for br in eqn.params["branches"]:
        def branch(*a, br=br):
            st, outs = eval_checked(br, err, sigs, a[:ns], a[ns:])
            return st + outs
        traced.append(trace_sub(branch, avals))
    # every branch takes the consts any branch hoisted (each ignores the others')
    hoisted = [c for _, cs in traced for c in cs]
    branches, at = [], 0
    for j, cs in traced:
        jj, n = j.jaxpr, len(cs)
        pad = [Var(a) for a in _avals(hoisted)]
        ins = pad[:at] + jj.invars[:n] + pad[at + n:] + jj.invars[n:]
        branches.append(intern_jaxpr(Jaxpr([], ins, jj.eqns, jj.outvars)))
        at += n
    outs = bind(_control.cond, index, *hoisted, *state, *ops, branches=tuple(branches))
    err.set_leaves(outs[:ns], sigs)
    return list(outs[ns:])


def _scan_checkify(err: ErrorState, eqn, args):
    p = eqn.params
    nc, nk = p["num_consts"], p["num_carry"]
    sigs = sorted_sigs(eqn_needs(eqn, err.enabled))
    consts, init, xs = _control.scan_operands(args, nc, nk)
    state = err.leaves(sigs)
    ns = len(state)
    x_avals = [a.update(shape=a.shape[1:]) for a in _avals(xs)]
    avals = _avals(consts) + err.leaf_avals(sigs) + _avals(init) + x_avals

    def body(*a):
        st, outs = eval_checked(p["jaxpr"], err, sigs, a[nc:nc + ns], a[:nc] + a[nc + ns:])
        return st + outs
    new, hoisted = trace_sub(body, avals)
    outs = bind(_control.scan, *hoisted, *consts, *state, *init, *xs, jaxpr=new,
                length=p["length"], reverse=p["reverse"], num_consts=len(hoisted) + nc,
                num_carry=ns + nk, unroll=p["unroll"])
    err.set_leaves(outs[:ns], sigs)
    return list(outs[ns:])


def _while_checkify(err: ErrorState, eqn, args):
    p = eqn.params
    cn, bn = p["cond_nconsts"], p["body_nconsts"]
    cj, bj = p["cond_jaxpr"], p["body_jaxpr"]
    cc, bc, carry = _control.while_operands(args, cn, bn)
    cond_fails = jaxpr_needs(cj.jaxpr, err.enabled) is not None
    if cond_fails:   # the predicate on the initial carry
        checkify_eval(cj.jaxpr, cj.consts, cc + carry, err)
    sigs = sorted_sigs(eqn_needs(eqn, err.enabled))
    state = err.leaves(sigs)
    ns = len(state)
    st_avals = err.leaf_avals(sigs)

    def body(*a):
        c, b, st, x = a[:cn], a[cn:cn + bn], a[cn + bn:cn + bn + ns], a[cn + bn + ns:]
        st, new = eval_checked(bj, err, sigs, st, b + x)
        if cond_fails:   # the predicate on the new carry, as the loop will evaluate it
            st, _ = eval_checked(cj, err, sigs, st, list(c) + list(new))
        return st + new

    def cond(*a):
        c, st, x = a[:cn], a[cn:cn + ns], a[cn + ns:]
        _, pred = eval_checked(cj, err, sigs, st, c + x)   # (failures: recorded by body)
        return pred

    body_new, bh = trace_sub(body, _avals(cc) + _avals(bc) + st_avals + _avals(carry))
    cond_new, ch = trace_sub(cond, _avals(cc) + st_avals + _avals(carry))
    outs = bind(_control.while_, *ch, *cc, *bh, *cc, *bc, *state, *carry,
                cond_jaxpr=cond_new, body_jaxpr=body_new, cond_nconsts=len(ch) + cn,
                body_nconsts=len(bh) + cn + bn, max_steps=p.get("max_steps"))
    err.set_leaves(outs[:ns], sigs)
    return list(outs[ns:])


CHECKIFY[_control.cond] = _cond_checkify
CHECKIFY[_control.scan] = _scan_checkify
CHECKIFY[_control.while_] = _while_checkify
