"""Lowering rules of control flow: cond / while / scan (primitives/control.py).

Sub-jaxprs carry no consts (closed-over values are operands of the equation), so a
region is the sub-jaxpr lowered inline with ``lower_jaxpr_body``.  ``case`` branches
take no block arguments: they read the operands from the enclosing scope.  ``while``
regions take every loop-carried value (consts included, as JAX does) as arguments."""
from __future__ import annotations

import numpy as np

from primitives import control as _control
from primitives.core import ShapedArray, jaxpr_effects
from primitives.shape_poly import is_symbolic

from ..emitter import (RULES, TOKEN, Ctx, cmp, full, i64s, in_avals_of, lower_jaxpr_body,
                       out_avals_of, ttype)

_I32 = ShapedArray((), np.dtype("int32"))
_I1 = ShapedArray((), np.dtype("bool"))


def _ordered(ctx, *jaxprs) -> bool:
    """Whether ``jaxprs`` have ordered effects: the equation then carries ``ctx.token``."""
    return ctx.token is not None and any("ordered" in jaxpr_effects(j) for j in jaxprs)


def _cf_block(ctx, body) -> str:
    """An argument-less region ``{ ...; stablehlo.return }``; ``body(sub) -> (names, avals)``."""
    sub = Ctx(ctx.counter, ctx.token)
    sub.indent = ctx.indent + "    "
    outs, out_avals = body(sub)
    sub.lines.append(f'{sub.indent}"stablehlo.return"({", ".join(outs)}) : '
                     f'({", ".join(ttype(a) for a in out_avals)}) -> ()')
    return "{\n" + "\n".join(sub.lines) + f"\n{ctx.indent}}}"


def _cf_i32(ctx, v) -> str:
    """An i32 scalar: a constant, or for a symbolic dimension (a scan over a symbolic
    length) its value computed from the program's shapes."""
    if is_symbolic(v):
        return ctx.op1("stablehlo.convert", [ctx.dim_value(v)], [ShapedArray((), np.int64)],
                       _I32)
    return ctx.constant(int(v), _I32)


def _cond_lower(ctx, eqn, args):
    branches = eqn.params["branches"]
    idx, ops_ = args[0], args[1:]
    idx_aval = eqn.invars[0].aval
    out_avals = out_avals_of(eqn)
    if len(branches) == 1:
        return lower_jaxpr_body(ctx, branches[0].jaxpr, [], ops_)
    lo, hi = _cf_i32(ctx, 0), _cf_i32(ctx, len(branches) - 1)
    idx = ctx.op1("stablehlo.clamp", [lo, idx, hi], [_I32, idx_aval, _I32], _I32)

    tk = [TOKEN] if _ordered(ctx, *(b.jaxpr for b in branches)) else []

    def branch(b):   # each branch starts from the token before the case, returns its own
        return lambda sub: (lower_jaxpr_body(sub, b.jaxpr, [], ops_) + [sub.token] * len(tk),
                            out_avals + tk)
    regions = [_cf_block(ctx, branch(b)) for b in branches]
    outs = ctx.op("stablehlo.case", [idx], [_I32], out_avals + tk, regions=regions)
    if tk:
        ctx.token, outs = outs[-1], outs[:-1]
    return outs


RULES[_control.cond] = _cond_lower


def _while_lower(ctx, eqn, args):
    p = eqn.params
    cj, bj = p["cond_jaxpr"].jaxpr, p["body_jaxpr"].jaxpr
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    max_steps = p.get("max_steps")
    avals = in_avals_of(eqn)
    k = 0 if max_steps is None else 1   # an i32 step counter first when bounded
    if _ordered(ctx, cj):
        raise NotImplementedError(
            "an ordered callback (io_callback/debug.print with ordered=True) in a while "
            "loop's cond_fun is not supported; call it in body_fun")
    tk = [TOKEN] if _ordered(ctx, bj) else []   # the token is carried last
    st_avals = [_I32] * k + avals + tk
    n = len(avals)

    def cond_region(sub, names):
        rest = names[k:k + n]
        pred = lower_jaxpr_body(sub, cj, [], rest[:nc] + rest[nc + nb:])[0]
        if k:
            more = cmp(sub, names[0], _cf_i32(sub, max_steps), _I32, "LT")
            pred = sub.op1("stablehlo.and", [pred, more], [_I1, _I1], _I1)
        return [pred], [_I1]

    def body_region(sub, names):
        step, rest = names[:k], names[k:k + n]
        if tk:
            sub.token = names[-1]
        new = lower_jaxpr_body(sub, bj, [], rest[nc:])
        if k:
            step = [sub.op1("stablehlo.add", [step[0], _cf_i32(sub, 1)], [_I32, _I32], _I32)]
        return step + rest[:nc + nb] + new + [sub.token] * len(tk), st_avals

    init = ([_cf_i32(ctx, 0)] if k else []) + list(args) + [ctx.token] * len(tk)
    outs = ctx.op("stablehlo.while", init, st_avals, st_avals,
                  regions=[ctx.region(st_avals, cond_region),
                           ctx.region(st_avals, body_region)])
    if tk:
        ctx.token = outs[-1]
    return outs[k + nc + nb:k + n]


RULES[_control.while_] = _while_lower


def _scan_lower(ctx, eqn, args):
    p = eqn.params
    body, length, reverse = p["jaxpr"].jaxpr, p["length"], p["reverse"]
    nconsts, ncarry = p["num_consts"], p["num_carry"]
    in_avals, out_avals = in_avals_of(eqn), out_avals_of(eqn)
    consts, init, xs = args[:nconsts], args[nconsts:nconsts + ncarry], args[nconsts + ncarry:]
    c_avals = in_avals[nconsts:nconsts + ncarry]
    xs_avals = in_avals[nconsts + ncarry:]
    ys_avals = out_avals[ncarry:]
    c_avals = [ShapedArray(a.shape, a.dtype) for a in c_avals]
    if length == 0:  # no step runs: the carry passes through, ys are empty
        return list(init) + [full(ctx, 0, a) for a in ys_avals]
    # (a symbolic length runs one step per iteration: the unrolled remainder needs its value)
    unroll = 1 if is_symbolic(length) else max(1, min(int(p["unroll"]), length))

    def step(sub, i, consts, carry, xs, ys):
        """One step at loop position ``i`` (an i32 SSA name)."""
        if reverse:
            i = sub.op1("stablehlo.subtract", [_cf_i32(sub, length - 1), i], [_I32, _I32], _I32)
        xsl = []
        for x, a in zip(xs, xs_avals):
            zeros = [_cf_i32(sub, 0)] * (a.ndim - 1)
            one = ShapedArray((1,) + a.shape[1:], a.dtype)
            s = sub.op1("stablehlo.dynamic_slice", [x, i] + zeros, [a] + [_I32] * a.ndim, one,
                        f"slice_sizes = {i64s(one.shape)}")
            xsl.append(sub.op1("stablehlo.reshape", [s], [one],
                               ShapedArray(a.shape[1:], a.dtype)))
        outs = lower_jaxpr_body(sub, body, [], list(consts) + list(carry) + xsl)
        new_ys = []
        for y, acc, a in zip(outs[ncarry:], ys, ys_avals):
            one = ShapedArray((1,) + a.shape[1:], a.dtype)
            y1 = sub.op1("stablehlo.reshape", [y], [ShapedArray(a.shape[1:], a.dtype)], one)
            zeros = [_cf_i32(sub, 0)] * (a.ndim - 1)
            new_ys.append(sub.op1("stablehlo.dynamic_update_slice", [acc, y1, i] + zeros,
                                  [a, one] + [_I32] * a.ndim, a))
        return outs[:ncarry], new_ys

    # a broadcast zero, not a dense constant: XLA would build (and copy) the whole literal
    ys0 = [full(ctx, 0, a) for a in ys_avals]
    n_iter, rem = (length, 0) if unroll == 1 else divmod(length, unroll)
    carry, ys = list(init), ys0
    if n_iter:
        # loop state: counter, consts, carry, ys, xs (and the token, last, if ordered)
        tk = [TOKEN] if _ordered(ctx, body) else []
        st_avals = [_I32] + in_avals[:nconsts] + c_avals + ys_avals + xs_avals + tk
        nc_, nk, ny, nx = nconsts, ncarry, len(ys_avals), len(xs_avals)

        def split(names):
            i = names[0]
            cs = names[1:1 + nc_]
            ca = names[1 + nc_:1 + nc_ + nk]
            y = names[1 + nc_ + nk:1 + nc_ + nk + ny]
            x = names[1 + nc_ + nk + ny:1 + nc_ + nk + ny + nx]
            return i, cs, ca, y, x

        def cond_region(sub, names):
            lim = _cf_i32(sub, n_iter * unroll)
            return [cmp(sub, names[0], lim, _I32, "LT")], [_I1]

        def body_region(sub, names):
            i, cs, ca, y, x = split(names)
            if tk:
                sub.token = names[-1]
            for k in range(unroll):
                ik = i if k == 0 else sub.op1("stablehlo.add", [i, _cf_i32(sub, k)],
                                              [_I32, _I32], _I32)
                ca, y = step(sub, ik, cs, ca, x, y)
            nxt = sub.op1("stablehlo.add", [i, _cf_i32(sub, unroll)], [_I32, _I32], _I32)
            return ([nxt] + list(cs) + list(ca) + list(y) + list(x) + [sub.token] * len(tk),
                    st_avals)

        outs = ctx.op("stablehlo.while", [_cf_i32(ctx, 0)] + list(consts) + carry + ys + list(xs)
                      + [ctx.token] * len(tk), st_avals, st_avals,
                      regions=[ctx.region(st_avals, cond_region),
                               ctx.region(st_avals, body_region)])
        if tk:
            ctx.token = outs[-1]
        _, _, carry, ys, _ = split(outs)
        carry, ys = list(carry), list(ys)
    for k in range(rem):  # the steps left over when unroll does not divide length
        carry, ys = step(ctx, _cf_i32(ctx, n_iter * unroll + k), consts, carry, xs, ys)
    return list(carry) + list(ys)


RULES[_control.scan] = _scan_lower
