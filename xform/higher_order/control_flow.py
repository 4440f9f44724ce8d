"""``cond``, ``while`` and ``scan`` (primitives/control.py) under every transform: JVP,
partial evaluation, transposition and batching side by side, since they share the
operand bookkeeping (consts, carries, per-step inputs)."""
from __future__ import annotations

import math

import numpy as np

from primitives import control as _control, ops
from primitives.core import (ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var, has_effects,
                             jaxpr_effects)
from primitives.irutil import hoist_consts, inline, intern_jaxpr, permute

from ..core.pytree import tree_flatten
from ..core.trace import trace_to_jaxpr
from ..lax.remat import checkpointed
from ..transforms.ad_util import (
    ad_state, aval_of, instantiate, is_diff_dtype, NonDifferentiableError, Zero,
    zeros_like_aval)
from ..transforms.batching import (
    _elementwise_args, _scalar, batch_subjaxpr, bdim_at, moveaxis, RULES)
from ..transforms.jvp import JVP, jvp_jaxpr, jvp_sub, nonzero_mask
from ..transforms.partial_eval import partial_eval, PARTIAL_EVAL, split_known_eqns
from ..transforms.transpose import LinearIn, TRANSPOSE, transpose_linear
from .. import lax, passes
from ..core import bind, eval_jaxpr


# --- control flow: cond / while / scan ------------------------------------------------------------
# JVP rules re-emit the control-flow op with JVP'd sub-jaxprs (loop carries get a tangent
# where a fixpoint says one can be nonzero).  Reverse mode: PARTIAL_EVAL splits a cond/scan
# equation into a known (primal) one that also returns residuals -- for scan, stacked per
# iteration as extra ys -- and an unknown (linear) one; TRANSPOSE of a linear cond is a cond
# of transposed branches, of a linear scan a reverse scan of the transposed body.


def _trace_sub(fn, avals) -> ClosedJaxpr:
    """Trace ``fn(*tracers) -> output(s)`` at ``avals`` into a simplified jaxpr with one
    output per leaf (how every rule here builds a new loop body or branch)."""
    _, tree = tree_flatten((tuple(range(len(avals))), {}))
    closed, _ = trace_to_jaxpr(fn, list(avals), tree)
    return passes.simplify(closed)


def _carry_nz_fixpoint(body, n_before, nz_before, carry_nz, nz_after, n_carry_out):
    carry_nz = [bool(n) and is_diff_dtype(a.dtype)
                for n, a in zip(carry_nz, body.in_avals[n_before:n_before + len(carry_nz)])]
    while True:
        _, out_nz = jvp_jaxpr(body, list(nz_before) + carry_nz + list(nz_after),
                              instantiate_out=False, mode=ad_state.mode)
        new = [a or b for a, b in zip(carry_nz, out_nz[:n_carry_out])]
        if new == carry_nz:
            return carry_nz
        carry_nz = new


def _cond_jvp(primals, tangents, *, branches):
    index, ops = primals[0], primals[1:]
    ts = tangents[1:]
    nz = [n and is_diff_dtype(aval_of(p).dtype) for n, p in zip(nonzero_mask(ts), ops)]
    out_nz = [False] * len(branches[0].out_avals)
    for br in branches:
        _, o = jvp_jaxpr(br, nz, instantiate_out=False, mode=ad_state.mode)
        out_nz = [a or b for a, b in zip(out_nz, o)]
    jv = [jvp_sub(br, nz, out_nz) for br in branches]
    all_consts = [c for _, cs, _, _ in jv for c in cs]
    new = []
    for k, (J, cs, _, _) in enumerate(jv):
        pre = sum(len(c) for _, c, _, _ in jv[:k])
        post = sum(len(c) for _, c, _, _ in jv[k + 1:])
        j = J.jaxpr
        pad = [Var(aval_of(c)) for c in all_consts[:pre]]
        pad2 = [Var(aval_of(c)) for c in all_consts[pre + len(cs):]]
        assert len(pad2) == post
        new.append(intern_jaxpr(Jaxpr([], pad + j.invars[:len(cs)] + pad2 + j.invars[len(cs):],
                                      j.eqns, j.outvars)))
    tin = [instantiate(t, aval_of(p)) for t, p, n in zip(ts, ops, nz) if n]
    outs = bind(_control.cond, index, *all_consts, *ops, *tin, branches=tuple(new))
    n = len(out_nz)
    it = iter(outs[n:])
    touts = [next(it) if o else Zero(a) for o, a in zip(out_nz, branches[0].out_avals)]
    return outs[:n], touts


JVP[_control.cond] = _cond_jvp


def _scan_jvp(primals, tangents, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    nc, nk = num_consts, num_carry
    nz = [n and is_diff_dtype(aval_of(p).dtype) for n, p in zip(nonzero_mask(tangents), primals)]
    c_nz, k_nz, x_nz = _control.scan_operands(nz, nc, nk)
    k_nz = _carry_nz_fixpoint(jaxpr, nc, c_nz, k_nz, x_nz, nk)
    n_ys = len(jaxpr.out_avals) - nk
    J, consts, out_nz, in_nz = jvp_sub(jaxpr, c_nz + k_nz + x_nz, k_nz + [False] * n_ys)
    # J: [hoisted consts] + primals (c, k, x) + tangents (c, k, x nonzero) ->
    #    primal outs (k, y) + tangent outs (k nonzero, y nonzero)
    nh = len(consts)
    nx = len(primals) - nc - nk
    tc, tk, tx = sum(c_nz), sum(k_nz), sum(x_nz)
    P = nh + nc + nk + nx
    in_perm = (list(range(nh)) + list(range(nh, nh + nc)) + list(range(P, P + tc))
               + list(range(nh + nc, nh + nc + nk)) + list(range(P + tc, P + tc + tk))
               + list(range(nh + nc + nk, P)) + list(range(P + tc + tk, P + tc + tk + tx)))
    ty = sum(out_nz[nk:])
    no = nk + n_ys
    out_perm = (list(range(nk)) + list(range(no, no + tk)) + list(range(nk, no))
                + list(range(no + tk, no + tk + ty)))
    Jp = permute(J, in_perm, out_perm)
    new = intern_jaxpr(Jp.jaxpr)
    tin = [instantiate(t, aval_of(p)) for t, p, n in zip(tangents, primals, in_nz) if n]
    tcs, tks, txs = tin[:tc], tin[tc:tc + tk], tin[tc + tk:]
    pc, pk, px = _control.scan_operands(primals, nc, nk)
    outs = bind(_control.scan, *consts, *pc, *tcs, *pk, *tks, *px, *txs, jaxpr=new, length=length, reverse=reverse,
                num_consts=nh + nc + tc, num_carry=nk + tk, unroll=unroll)
    k_out, tk_out = outs[:nk], outs[nk:nk + tk]
    y_out, ty_out = outs[nk + tk:nk + tk + n_ys], outs[nk + tk + n_ys:]
    out_avals = _control.scan.abstract_eval(*[aval_of(p) for p in primals], jaxpr=jaxpr,
                                             length=length, reverse=reverse, num_consts=nc,
                                             num_carry=nk, unroll=unroll)
    it_k, it_y = iter(tk_out), iter(ty_out)
    touts = [next(it_k) if n else Zero(a) for n, a in zip(k_nz, out_avals[:nk])] + \
        [next(it_y) if n else Zero(a) for n, a in zip(out_nz[nk:], out_avals[nk:])]
    return list(k_out) + list(y_out), touts


JVP[_control.scan] = _scan_jvp


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
               max_steps=None):
    ncc, nbc = cond_nconsts, body_nconsts
    nz = [n and is_diff_dtype(aval_of(p).dtype) for n, p in zip(nonzero_mask(tangents), primals)]
    _, b_nz, k_nz = _control.while_operands(nz, ncc, nbc)
    nk = len(k_nz)
    k_nz = _carry_nz_fixpoint(body_jaxpr, nbc, b_nz, k_nz, [], nk)
    if not any(k_nz):
        # no carry has a tangent (the body drops its consts' tangents: floor, compares, ...):
        # the loop is all primal, and reads no tangent (reverse mode needs no trip bound)
        outs = bind(_control.while_, *primals, cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr,
                    cond_nconsts=ncc, body_nconsts=nbc, max_steps=max_steps)
        return outs, [Zero(aval_of(o)) for o in outs]
    J, consts, out_nz, in_nz = jvp_sub(body_jaxpr, b_nz + k_nz, k_nz)
    nh = len(consts)
    tb, tk = sum(b_nz), sum(k_nz)
    P = nh + nbc + nk
    in_perm = (list(range(nh + nbc)) + list(range(P, P + tb)) + list(range(nh + nbc, P))
               + list(range(P + tb, P + tb + tk)))
    body_new = intern_jaxpr(permute(J, in_perm).jaxpr)
    cj = cond_jaxpr.jaxpr
    tk_avals = [a for a, n in zip(body_jaxpr.in_avals[nbc:], k_nz) if n]
    cond_new = intern_jaxpr(Jaxpr([], list(cj.invars) + [Var(a) for a in tk_avals],
                                  cj.eqns, cj.outvars))
    cc, bc, carry = _control.while_operands(primals, ncc, nbc)
    tin = [instantiate(t, aval_of(p)) for t, p, n in zip(tangents[ncc:], primals[ncc:],
                                                      in_nz) if n]
    outs = bind(_control.while_, *cc, *consts, *bc, *tin[:tb], *carry, *tin[tb:],
                cond_jaxpr=cond_new, body_jaxpr=body_new, cond_nconsts=ncc,
                body_nconsts=nh + nbc + tb, max_steps=max_steps)
    it = iter(outs[nk:])
    touts = [next(it) if n else Zero(aval_of(o)) for n, o in zip(k_nz, outs[:nk])]
    return outs[:nk], touts


JVP[_control.while_] = _while_jvp


# partial evaluation of control flow ---------------------------------------------------------------

def _pe_sub(closed: ClosedJaxpr, unknowns, force_unknown_outs=None):
    """Partial evaluation of a consts-free sub-jaxpr whose unknown inputs are anywhere:
    ``K``: known inputs (in order) -> known outputs + residuals; ``L`` (Jaxpr): residuals +
    unknown inputs (in order) -> unknown outputs."""
    perm = [i for i, u in enumerate(unknowns) if not u] + [i for i, u in enumerate(unknowns) if u]
    K, L, n_res, out_known = partial_eval(permute(closed, perm), sum(not u for u in unknowns),
                                          force_unknown_outs)
    if K.consts:
        raise NotImplementedError("partial evaluation of a control-flow body created consts")
    return K, L, n_res, out_known


def _interned(closed: ClosedJaxpr) -> ClosedJaxpr:
    if closed.consts:
        raise NotImplementedError("a control-flow sub-jaxpr built by autodiff has consts")
    return intern_jaxpr(closed.jaxpr)


def _scan_partial_eval(eqn, unknowns):
    p = eqn.params
    body, nc, nk = p["jaxpr"], p["num_consts"], p["num_carry"]
    length = p["length"]
    if all(unknowns):
        return [], [eqn]
    c_uk, k_uk, x_uk = _control.scan_operands(unknowns, nc, nk)
    n_ys = len(body.out_avals) - nk
    while True:
        _, _, _, ok = _pe_sub(body, c_uk + k_uk + x_uk)
        new = [u or not k for u, k in zip(k_uk, ok[:nk])]
        if new == k_uk:
            break
        k_uk = new
    uk = c_uk + k_uk + x_uk
    K, L, n_res, out_known = _pe_sub(body, uk, k_uk + [False] * n_ys)
    in_c, in_k, in_x = _control.scan_operands(eqn.invars, nc, nk)
    kc = [a for a, u in zip(in_c, c_uk) if not u]
    kk = [a for a, u in zip(in_k, k_uk) if not u]
    kx = [a for a, u in zip(in_x, x_uk) if not u]
    n_kout = sum(out_known)
    # Residuals come in three kinds: loop-invariant ones (functions of the known consts
    # only: computed once, outside the loop, and passed to the linear scan as consts
    # instead of being stacked `length` times), known xs read unchanged (the linear scan
    # reads the original xs), and the rest, stacked per iteration as extra ys.
    kj = K.jaxpr
    invariant = _invariant_vars(kj, len(kc))
    x_pos = {v: i for i, v in enumerate(kj.invars[len(kc) + len(kk):])}
    res_out = kj.outvars[n_kout:]
    hoist_eqns, inv_atoms = _hoist_invariant(kj, kc, [r for r in res_out if r in invariant])
    inv_iter = iter(inv_atoms)
    res_in: list = []          # per residual: the atom the linear scan reads
    stacked: list = []         # (index in res_out) of residuals stacked as ys
    inv_idx = []
    for i, r in enumerate(res_out):
        if r in invariant:
            inv_idx.append(i)
            res_in.append(next(inv_iter))
        elif r in x_pos:
            res_in.append(kx[x_pos[r]])
        else:
            stacked.append(i)
            res_in.append(Var(ShapedArray((length,) + r.aval.shape, r.aval.dtype,
                                          r.aval.weak_type)))
    K = passes.dce(Jaxpr([], kj.invars, kj.eqns,
                         kj.outvars[:n_kout] + [res_out[i] for i in stacked]))
    k_outs = [v for v, k in zip(eqn.outvars, out_known) if k]
    known = Eqn(_control.scan, kc + kk + kx, k_outs + [res_in[i] for i in stacked],
                dict(p, jaxpr=_interned(ClosedJaxpr(K, [])), num_consts=len(kc),
                     num_carry=len(kk)),
                eqn.source)
    uc = [a for a, u in zip(in_c, c_uk) if u]
    ukk = [a for a, u in zip(in_k, k_uk) if u]
    ux = [a for a, u in zip(in_x, x_uk) if u]
    li = L.invars
    nuc, nuk = len(uc), len(ukk)
    per_step = [i for i in range(n_res) if i not in set(inv_idx)]
    Lp = Jaxpr([], li[n_res:n_res + nuc] + [li[i] for i in inv_idx]
               + li[n_res + nuc:n_res + nuc + nuk] + [li[i] for i in per_step]
               + li[n_res + nuc + nuk:], L.eqns, L.outvars)
    u_outs = [v for v, k in zip(eqn.outvars, out_known) if not k]
    unknown = Eqn(_control.scan, uc + [res_in[i] for i in inv_idx] + ukk
                  + [res_in[i] for i in per_step] + ux, u_outs,
                  dict(p, jaxpr=_interned(ClosedJaxpr(Lp, [])), num_consts=nuc + len(inv_idx),
                       num_carry=nuk),
                  eqn.source)
    return hoist_eqns + [known], [unknown]


def _invariant_vars(j: Jaxpr, n_consts: int) -> set:
    """The variables of a scan body that depend on its first ``n_consts`` inputs only."""
    inv = set(j.invars[:n_consts])
    for e in j.eqns:
        if not has_effects(e) and \
                all(type(a) is Literal or a in inv for a in e.invars):
            inv.update(e.outvars)
    return inv


def _hoist_invariant(j: Jaxpr, outer_consts, wanted):
    """Equations computing the loop-invariant body variables ``wanted`` from the scan's
    operands ``outer_consts`` (the body's first inputs), with fresh variables; returns
    (eqns, one atom per ``wanted``)."""
    h = passes.dce(Jaxpr([], j.invars[:len(outer_consts)], j.eqns, list(wanted)),
                   keep_effects=False)
    return inline(h, outer_consts)


PARTIAL_EVAL[_control.scan] = _scan_partial_eval


def _cond_partial_eval(eqn, unknowns):
    branches = eqn.params["branches"]
    if unknowns[0] or all(unknowns[1:]):
        return [], [eqn]
    uk = list(unknowns[1:])
    n_out = len(branches[0].out_avals)
    out_uk = [False] * n_out
    for br in branches:
        _, _, _, ok = _pe_sub(br, uk)
        out_uk = [a or not b for a, b in zip(out_uk, ok)]
    pes = [_pe_sub(br, uk, out_uk) for br in branches]
    all_res = [[v.aval for v in L.invars[:n]] for _, L, n, _ in pes]
    flat_res = [a for r in all_res for a in r]
    ops = list(eqn.invars[1:])
    k_ops = [a for a, u in zip(ops, uk) if not u]
    u_ops = [a for a, u in zip(ops, uk) if u]
    k_in_avals = [a.aval for a in k_ops]
    u_in_avals = [a.aval for a in u_ops]
    k_br, u_br = [], []
    for i, (K, L, n, _) in enumerate(pes):
        def kf(*xs, K=K, i=i):
            outs = eval_jaxpr(K.jaxpr, [], list(xs))
            nko = len(outs) - len(all_res[i])
            res = []
            for j, r in enumerate(all_res):
                res += outs[nko:] if j == i else [zeros_like_aval(a) for a in r]
            return outs[:nko] + res

        off = sum(len(r) for r in all_res[:i])

        def uf(*xs, L=L, n=n, off=off):
            return eval_jaxpr(L, [], list(xs[off:off + n]) + list(xs[len(flat_res):]))
        k_br.append(_interned(_trace_sub(kf, k_in_avals)))
        u_br.append(_interned(_trace_sub(uf, flat_res + u_in_avals)))
    res_vars = [Var(a) for a in flat_res]
    k_outs = [v for v, u in zip(eqn.outvars, out_uk) if not u]
    u_outs = [v for v, u in zip(eqn.outvars, out_uk) if u]
    index = eqn.invars[0]
    known = Eqn(_control.cond, [index] + k_ops, k_outs + res_vars,
                dict(branches=tuple(k_br)), eqn.source)
    unknown = Eqn(_control.cond, [index] + res_vars + u_ops, u_outs,
                  dict(branches=tuple(u_br)), eqn.source)
    return [known], [unknown]


PARTIAL_EVAL[_control.cond] = _cond_partial_eval


# transposition of control flow --------------------------------------------------------------------

def _merge_consts_branches(items):
    """``items``: (ClosedJaxpr taking own consts + inputs, own consts) per branch ->
    (branches all taking every branch's consts + inputs, all consts)."""
    all_consts = [c for _, cs in items for c in cs]
    new, pre = [], 0
    for J, cs in items:
        j = J.jaxpr
        pad = [Var(aval_of(c)) for c in all_consts[:pre]]
        pad2 = [Var(aval_of(c)) for c in all_consts[pre + len(cs):]]
        new.append(intern_jaxpr(Jaxpr([], pad + j.invars[:len(cs)] + pad2 + j.invars[len(cs):],
                                      j.eqns, j.outvars)))
        pre += len(cs)
    return tuple(new), all_consts


def _cond_t(cts, index, *args, branches):
    if type(index) is LinearIn:
        raise NonDifferentiableError("internal error: a cond index is linear")
    lin = [type(a) is LinearIn for a in args]
    nl = [a for a in args if type(a) is not LinearIn]
    perm = [i for i, l in enumerate(lin) if not l] + [i for i, l in enumerate(lin) if l]
    items = []
    for br in branches:
        Lb = permute(br, perm).jaxpr
        T = transpose_linear(Lb, len(nl), [a for a in br.out_avals])
        items.append(hoist_consts(T))
    new, consts = _merge_consts_branches(items)
    cts = [instantiate(c, a) for c, a in zip(cts, branches[0].out_avals)]
    outs = bind(_control.cond, index, *consts, *nl, *cts, branches=new)
    it = iter(outs)
    return [None] + [next(it) if l else None for l in lin]


TRANSPOSE[_control.cond] = _cond_t


def _outer_products(T: Jaxpr, n_acc: int, invariant: set):
    """Which of the transposed scan body's first ``n_acc`` outputs (the per-step
    cotangents of loop-invariant linear inputs, summed over the loop in a carry) are sums
    of ``dot_general`` equations on per-step values whose operands are smaller than
    the product.

    The cotangent of ``W`` in a step that computes ``W @ x`` is the outer product of the
    step's output cotangent and ``x``: accumulating that in a ``W``-sized carry is a rank-1
    update per step.  Stacking the operands instead and contracting over the step axis
    after the loop is one matrix product.  Returns ``{output index: [dot eqn, ...]}``."""
    producer = {v: e for e in T.eqns for v in e.outvars}
    uses = passes.use_counts(T)
    add = ops.binary["add"]
    found = {}
    for i, out in enumerate(T.outvars[:n_acc]):
        dots, stack = [], [out]
        while stack:
            v = stack.pop()
            e = producer.get(v) if type(v) is Var else None
            if e is None or uses.get(v, 0) != 1:
                dots = None
                break
            if e.prim is add and aval_of(e.invars[0]) == aval_of(e.invars[1]) == aval_of(v):
                stack.extend(e.invars)
            elif e.prim is ops.dot_general and all(
                    type(a) is Var and a not in invariant for a in e.invars) and \
                    sum(aval_of(a).size for a in e.invars) < aval_of(v).size:
                dots.append(e)
            else:
                dots = None
                break
        if dots:
            found[i] = dots
    return found


def _scan_t(cts, *args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    nc, nk = num_consts, num_carry
    lin = [type(a) is LinearIn for a in args]
    # Every carry is transposed as linear.  One whose initial value is not a linear input
    # is a tangent that starts at a known constant (zeros: the loop's state did not depend
    # on the differentiated inputs at first, but does after a step); the loop is affine in
    # it, so the cotangents of the real linear inputs do not depend on its value, and its
    # own cotangent is dropped by the caller.
    c_lin, _, x_lin = _control.scan_operands(lin, nc, nk)
    a_c, _, a_x = _control.scan_operands(args, nc, nk)
    nl_c = [a for a, l in zip(a_c, c_lin) if not l]
    nl_x = [a for a, l in zip(a_x, x_lin) if not l]
    idx_nlc = [i for i, l in enumerate(c_lin) if not l]
    idx_lc = [i for i, l in enumerate(c_lin) if l]
    idx_nlx = [nc + nk + i for i, l in enumerate(x_lin) if not l]
    idx_lx = [nc + nk + i for i, l in enumerate(x_lin) if l]
    perm = idx_nlc + idx_nlx + idx_lc + list(range(nc, nc + nk)) + idx_lx
    Lb = permute(jaxpr, perm).jaxpr
    T = transpose_linear(Lb, len(nl_c) + len(nl_x), list(jaxpr.out_avals))
    T, t_consts = hoist_consts(T)
    in_avals = jaxpr.in_avals
    out_avals = jaxpr.out_avals
    k_avals = _control.scan_operands(in_avals, nc, nk)[1]
    nth, nnlc, nlc, nnlx = len(t_consts), len(nl_c), len(idx_lc), len(nl_x)
    ct_k = [instantiate(c, a) for c, a in zip(cts[:nk], out_avals[:nk])]
    y_avals = [ShapedArray((length,) + a.shape, a.dtype, a.weak_type) for a in out_avals[nk:]]
    ct_y = [instantiate(c, a) for c, a in zip(cts[nk:], y_avals)]

    # T's inputs: t_consts, nl_c (both loop-invariant), nl_x, ct_k, ct_y (per step).
    # Cotangents that are sums of outer-product-like dots leave the carry: their operands
    # become extra per-step outputs (or are read from the stacked xs they already are) and
    # are contracted over the step axis after the loop.
    Tj = T.jaxpr
    hoist = _outer_products(Tj, nlc, set(Tj.invars[:nth + nnlc]))
    stacked_in = {v: x for v, x in zip(Tj.invars[nth + nnlc:nth + nnlc + nnlx], nl_x)}
    stacked_in.update({v: y for v, y in zip(Tj.invars[nth + nnlc + nnlx + nk:], ct_y)})
    # Per weight, one contraction per operand pair, or (when its dots agree in form) a
    # single one of operands packed along a new axis after the step axis.
    sides = {i: _packed_sides(dots) for i, dots in hoist.items()}
    extra = []            # per extra ys: a body value, or a tuple of them packed
    for i, dots in hoist.items():
        if sides[i] is None:
            extra.extend(a for e in dots for a in e.invars
                         if a not in stacked_in and a not in extra)
            continue
        for side in sides[i]:
            if not any(a in stacked_in for a in side):
                if tuple(side) not in extra:
                    extra.append(tuple(side))
            else:
                extra.extend(a for a in side if a not in stacked_in and a not in extra)
    flat_extra = list(dict.fromkeys(a for item in extra
                                    for a in (item if type(item) is tuple else (item,))))
    keep = [i for i in range(nlc) if i not in hoist]
    if hoist:
        Tj = passes.dce(Jaxpr([], Tj.invars, Tj.eqns,
                              [Tj.outvars[i] for i in keep] + Tj.outvars[nlc:] + flat_extra))
    nacc = len(keep)
    n_rest = len(Tj.outvars) - nacc - len(flat_extra)
    lc_avals = [in_avals[idx_lc[i]] for i in keep]

    def body(*a):
        tc = a[:nth]
        nlc_ = a[nth:nth + nnlc]
        acc = a[nth + nnlc:nth + nnlc + nacc]
        ctk = a[nth + nnlc + nacc:nth + nnlc + nacc + nk]
        nlx_ = a[nth + nnlc + nacc + nk:nth + nnlc + nacc + nk + nnlx]
        cty = a[nth + nnlc + nacc + nk + nnlx:]
        outs = eval_jaxpr(Tj, [], list(tc) + list(nlc_) + list(nlx_) + list(ctk)
                          + list(cty))
        ct_lc, rest = outs[:nacc], outs[nacc:nacc + n_rest]
        val = dict(zip(flat_extra, outs[nacc + n_rest:]))
        ys = []
        for item in extra:
            if type(item) is tuple:
                parts = [bind(ops.reshape, val[v], new_sizes=(1,) + v.aval.shape)
                         for v in item]
                ys.append(bind(ops.concatenate, *parts, dimension=0))
            else:
                ys.append(val[item])
        return [bind(ops.binary["add"], x, y) for x, y in zip(acc, ct_lc)] + list(rest) + ys
    avals = ([aval_of(c) for c in t_consts] + [in_avals[i] for i in idx_nlc] + lc_avals
             + k_avals + [in_avals[i] for i in idx_nlx] + list(out_avals[nk:]))
    TB = _interned(_trace_sub(body, avals))
    zeros = [zeros_like_aval(a) for a in lc_avals]
    outs = bind(_control.scan, *t_consts, *nl_c, *zeros, *ct_k, *nl_x, *ct_y, jaxpr=TB,
                length=length, reverse=not reverse, num_consts=nth + nnlc,
                num_carry=nacc + nk, unroll=unroll)
    ct_acc, ct_init = outs[:nacc], outs[nacc:nacc + nk]
    ct_lx, stacks = outs[nacc + nk:nacc + nk + len(idx_lx)], outs[nacc + nk + len(idx_lx):]
    stacked = dict(stacked_in)
    stacked.update(zip(extra, stacks))
    ct_lc = [None] * nlc
    for i, c in zip(keep, ct_acc):
        ct_lc[i] = c
    for i, dots in hoist.items():
        ct_lc[i] = (_contract_packed(dots[0], sides[i], stacked, length) if sides[i]
                    else _contract_each(dots, stacked))
    res = [None] * len(args)
    for i, c in zip(idx_lc, ct_lc):
        res[i] = c
    for i in range(nk):
        res[nc + i] = ct_init[i]
    for i, c in zip(idx_lx, ct_lx):
        res[i] = c
    return res


def _packed_sides(dots):
    """When every ``dot_general`` of one weight's cotangent has the same parameters and
    operand types (the four ``g_i (x) x_i`` of an RK4 step), the operand lists of each
    side: the sum of the dots is then one contraction of operands stacked along a new
    axis, so the loop stacks each side once per step instead of once per dot."""
    if len(dots) < 2:
        return None
    e0 = dots[0]
    for e in dots[1:]:
        if e.params != e0.params or any(aval_of(a) != aval_of(b)
                                        for a, b in zip(e.invars, e0.invars)):
            return None
    return [[e.invars[0] for e in dots], [e.invars[1] for e in dots]]


def _stacked_side(side, stacked, length):
    """[length, len(side), ...]: a packed extra ys, or the per-operand stacks joined."""
    if tuple(side) in stacked:
        return stacked[tuple(side)]
    parts = [bind(ops.reshape, stacked[a], new_sizes=(length, 1) + aval_of(a).shape)
             for a in side]
    return bind(ops.concatenate, *parts, dimension=1)


def _contract_packed(e, sides, stacked, length):
    """The sum over steps and over the packed dots, as one ``dot_general``: the packed
    [length, m, ...] operands are merged to [length * m, ...] first, so the product keeps
    the form of a single step-axis contraction (XLA then needs no transposing copy)."""
    lhs, rhs = (_stacked_side(side, stacked, length) for side in sides)
    lhs, rhs = (bind(ops.reshape, x, new_sizes=(x.aval.shape[0] * x.aval.shape[1],)
                     + x.aval.shape[2:]) for x in (lhs, rhs))
    return _over_steps(e, lhs, rhs)


def _contract_each(dots, stacked):
    total = None
    for e in dots:
        term = _over_steps(e, *(stacked[a] for a in e.invars))
        total = term if total is None else bind(ops.binary["add"], total, term)
    return total


def _over_steps(e, lhs, rhs):
    """``e`` (a per-step ``dot_general``) on operands with a leading step axis, summed
    over that axis."""
    (cu, cv), (bu, bv) = e.params["dimension_numbers"]
    shift = lambda d: tuple(k + 1 for k in d)
    dims = (((0,) + shift(cu), (0,) + shift(cv)), (shift(bu), shift(bv)))
    return bind(ops.dot_general, lhs, rhs, **dict(e.params, dimension_numbers=dims))


TRANSPOSE[_control.scan] = _scan_t


def _while_partial_eval(eqn, unknowns):
    """Reverse mode through ``while``: only with a ``max_steps`` bound.  The loop becomes
    ``ceil(max_steps / s)`` segments of ``s = ceil(sqrt(max_steps))`` steps, each a
    checkpointed scan; a step updates the carry only while the predicate holds and
    fewer than ``max_steps`` steps have run (a done-mask).  Splitting that stores one
    carry per segment, and the backward pass recomputes one segment at a time: about
    ``2 * sqrt(max_steps)`` carries' worth of memory instead of ``max_steps`` steps'
    residuals."""
    p = eqn.params
    ms = p["max_steps"]
    if ms is None:
        raise NonDifferentiableError(
            "reverse-mode differentiation (grad, vjp, jacrev) of lax.while_loop needs a bound "
            "on the trip count: pass max_steps=N to while_loop (an xform extension), or use "
            "lax.scan / lax.fori_loop with static bounds"
            f"{' (at ' + str(eqn.source) + ')' if eqn.source else ''}")
    J = _trace_sub(_segmented_while(p), [a.aval for a in eqn.invars])
    eqns, _ = inline(J.jaxpr, list(eqn.invars), list(eqn.outvars), eqn.source)
    known = {a for a, u in zip(eqn.invars, unknowns) if not u and type(a) is Var}
    return split_known_eqns(eqns, known)


def _segmented_while(p):
    """``while`` params -> a function of the loop's operands that runs it as checkpointed
    segments of a masked scan (see ``_while_partial_eval``)."""
    cj, bj, ms = p["cond_jaxpr"].jaxpr, p["body_jaxpr"].jaxpr, p["max_steps"]
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]
    seg = math.isqrt(ms - 1) + 1 if ms > 1 else 1
    n_seg = -(-ms // seg)
    effects = bool(jaxpr_effects(bj))

    def run(*a):
        cc, bc, carry = _control.while_operands(a, ncc, nbc)

        def step(state, _):
            i, c = state
            running = eval_jaxpr(cj, [], cc + c)[0]
            if n_seg * seg > ms:       # the last segment is padded: stop at max_steps
                running = bind(ops.binary["and"], running, bind(ops.compare["lt"], i, ms))
            if effects:   # a body that prints runs only while the loop would
                new = lax.cond(running, lambda c: eval_jaxpr(bj, [], bc + c),
                               lambda c: list(c), c)
                return (i + 1, list(new)), None
            new = eval_jaxpr(bj, [], bc + c)
            return (i + 1, [bind(ops.select_n, running, x, n) for x, n in zip(c, new)]), None

        def segment(state):
            return lax.scan(step, state, None, length=seg)[0]
        segment = checkpointed(segment, prevent_cse=False)
        (_, out), _ = lax.scan(lambda st, _: (segment(st), None),
                               (np.int32(0), carry), None, length=n_seg)
        return out
    return run


PARTIAL_EVAL[_control.while_] = _while_partial_eval


# --- control flow -------------------------------------------------------------------------------
# (appended after vmap so that the helpers above are all defined)


def _cond_rule(ax, args, dims, *, branches):
    idx, xs = args[0], args[1:]
    idx_d, x_dims = dims[0], list(dims[1:])
    if idx_d is not None:
        # a batched index: run every branch and select per example.  As JAX, each branch
        # sees its inexact operands through select(chosen, x, stop_gradient(x)), so the
        # examples it does not serve send no cotangent (not 0 * NaN) back to x
        n = len(branches)
        i32 = np.dtype(np.int32)
        idx = bind(ops.binary["min"], bind(ops.binary["max"], idx, _scalar(0, i32)),
                   _scalar(n - 1, i32))
        idx0 = moveaxis(idx, idx_d, 0)
        diff = [is_diff_dtype(aval_of(x).dtype) and n > 1 for x in xs]
        xs0 = [bdim_at(x, d, 0, ax.size) if f else x for x, d, f in zip(xs, x_dims, diff)]
        dims0 = [0 if f else d for d, f in zip(x_dims, diff)]
        results = []
        for i, br in enumerate(branches):
            new, od = batch_subjaxpr(br, dims0, ax)
            chosen = lax.eq(idx0, _scalar(i, i32))
            ins = [lax.select(bind(ops.broadcast_in_dim, chosen, shape=aval_of(x).shape,
                                   broadcast_dimensions=(0,)), x, lax.stop_gradient(x))
                   if f else x for x, f in zip(xs0, diff)]
            results.append((eval_jaxpr(new.jaxpr, [], ins), od))
        if n == 1:
            return results[0]
        outs, odims = [], []
        for k in range(len(results[0][0])):
            cases = [r[0][k] for r in results]
            cdims = [r[1][k] for r in results]
            new, d = _elementwise_args(ax, [idx] + cases, [idx_d] + cdims,
                                       [True] + [False] * n)
            outs.append(bind(ops.select_n, *new))
            odims.append(d)
        return outs, odims
    nat = [batch_subjaxpr(br, x_dims, ax)[1] for br in branches]
    want = [0 if any(b[k] is not None for b in nat) else None for k in range(len(nat[0]))]
    new = tuple(batch_subjaxpr(br, x_dims, ax, want)[0] for br in branches)
    outs = bind(_control.cond, idx, *xs, branches=new)
    return list(outs), want


RULES[_control.cond] = _cond_rule


def _carry_fixpoint(body, const_dims, carry_b, ax, extra_in=(), n_carry_out=None):
    """Which carry elements end up batched: iterate the body until nothing new is batched."""
    while True:
        cin = [0 if b else None for b in carry_b]
        _, od = batch_subjaxpr(body, list(const_dims) + cin + list(extra_in), ax)
        new = [b or d is not None for b, d in zip(carry_b, od[:len(carry_b)])]
        if new == carry_b:
            return carry_b, od
        carry_b = new


def _while_rule(ax, args, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts,
                max_steps=None):
    nc, nb = cond_nconsts, body_nconsts
    cc, bc, carry = args[:nc], args[nc:nc + nb], args[nc + nb:]
    cc_d, bc_d, carry_d = dims[:nc], dims[nc:nc + nb], dims[nc + nb:]
    carry_b, _ = _carry_fixpoint(body_jaxpr, bc_d, [d is not None for d in carry_d], ax)
    cin = [0 if b else None for b in carry_b]
    _, pd = batch_subjaxpr(cond_jaxpr, list(cc_d) + cin, ax)
    if pd[0] is not None and not all(carry_b):
        # a batched predicate: every carry element is batched
        carry_b = [True] * len(carry_b)
        cin = [0] * len(carry_b)
        _, pd = batch_subjaxpr(cond_jaxpr, list(cc_d) + cin, ax)
    carry = [bdim_at(x, d, 0, ax.size) if b else x for x, d, b in zip(carry, carry_d, carry_b)]
    body_b, _ = batch_subjaxpr(body_jaxpr, list(bc_d) + cin, ax, cin)
    if pd[0] is None:
        cond_b, _ = batch_subjaxpr(cond_jaxpr, list(cc_d) + cin, ax, [None])
        outs = bind(_control.while_, *cc, *bc, *carry, cond_jaxpr=cond_b, body_jaxpr=body_b,
                    cond_nconsts=nc, body_nconsts=nb, max_steps=max_steps)
        return list(outs), cin
    # per-example predicates: loop while any example runs; finished examples keep their carry
    if jaxpr_effects(body_jaxpr.jaxpr) or jaxpr_effects(cond_jaxpr.jaxpr):
        raise NotImplementedError(
            "vmap of a while_loop whose predicate differs per batch element, with a callback "
            "(debug.print, io_callback) or a checkify.check in its body or condition, is not "
            "supported (as in JAX): finished elements would keep calling it.  Move the "
            "callback out of the loop, or give every element the same trip count (for a "
            "check: apply vmap outside checkify, vmap(checkify(f)))")
    cond_p, _ = batch_subjaxpr(cond_jaxpr, list(cc_d) + cin, ax, [0])
    cc_avals = [aval_of(x) for x in cc]
    bc_avals = [aval_of(x) for x in bc]
    carry_avals = [aval_of(x) for x in carry]

    def cond_fun(*a):
        p, = eval_jaxpr(cond_p.jaxpr, [], list(a))
        return bind(ops.reduce["reduce_or"], p, axes=(0,))

    def body_fun(*a):
        c, b, x = a[:nc], a[nc:nc + nb], list(a[nc + nb:])
        p, = eval_jaxpr(cond_p.jaxpr, [], list(c) + x)
        new = eval_jaxpr(body_b.jaxpr, [], list(b) + x)
        outs = []
        for old, nw in zip(x, new):
            (pp, o, n_), _ = _elementwise_args(ax, [p, old, nw], [0, 0, 0], [True, False, False])
            outs.append(bind(ops.select_n, pp, o, n_))
        return outs

    cond_new = _trace_sub(cond_fun, cc_avals + carry_avals)
    body_new = _trace_sub(body_fun, cc_avals + bc_avals + carry_avals)
    outs = bind(_control.while_, *cc, *cc, *bc, *carry, cond_jaxpr=cond_new, body_jaxpr=body_new,
                cond_nconsts=nc, body_nconsts=nc + nb, max_steps=max_steps)
    return list(outs), [0] * len(carry)


RULES[_control.while_] = _while_rule


def _scan_rule(ax, args, dims, *, jaxpr, length, reverse, num_consts, num_carry, unroll):
    nc, nk = num_consts, num_carry
    consts, init, xs = _control.scan_operands(args, nc, nk)
    c_d, i_d, x_d = _control.scan_operands(dims, nc, nk)
    # the scanned axis stays leading: a batch axis at 0 moves to 1
    for k, d in enumerate(x_d):
        if d == 0:
            xs[k], x_d[k] = moveaxis(xs[k], 0, 1), 1
    slice_d = [None if d is None else d - 1 for d in x_d]
    carry_b, od = _carry_fixpoint(jaxpr, c_d, [d is not None for d in i_d], ax, slice_d)
    cin = [0 if b else None for b in carry_b]
    y_want = [None if d is None else 0 for d in od[nk:]]
    new, _ = batch_subjaxpr(jaxpr, list(c_d) + cin + slice_d, ax, cin + y_want)
    init = [bdim_at(x, d, 0, ax.size) if b else x for x, d, b in zip(init, i_d, carry_b)]
    outs = bind(_control.scan, *consts, *init, *xs, jaxpr=new, length=length, reverse=reverse,
                num_consts=nc, num_carry=nk, unroll=unroll)
    return list(outs), cin + [None if d is None else 1 for d in y_want]


RULES[_control.scan] = _scan_rule
