"""Cheap IR -> IR passes that keep programs small before they are transformed or lowered.

* ``dce``: drop equations whose outputs are never used.
* ``cse``: merge equations that apply the same op with the same params to the
  same operands.
* ``fold``: forward trivial equations (``mul x 1.0``, ``add x 0.0``, identity
  reshapes/converts, ``neg (neg x)``, ...), fold arithmetic on literals and on
  broadcast literals ("splats"), and use a scalar literal operand directly instead
  of its broadcast.
* ``pack_scan_ys``: a stack of several per-step outputs of one scan becomes one
  per-step output of the scan (one in-place write per step instead of several).
All preserve the interface (constvars, invars, outvars).
"""
from __future__ import annotations

import numpy as np

from primitives import control, dtypes, ops
from primitives.core import ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var, sub_jaxprs

# meta-operators that must run even if their results are unused (effects)
EFFECTFUL: set = set()


def dce(jaxpr: Jaxpr) -> Jaxpr:
    """Drop equations whose outputs are unused; a control-flow equation whose outputs are
    partly used is rewritten to compute only those (see ``_DCE_RULES``)."""
    live = {v for v in jaxpr.outvars if type(v) is Var}
    kept = []
    add = live.add
    changed = False
    for eqn in reversed(jaxpr.eqns):
        outs = eqn.outvars
        if (outs[0] in live if len(outs) == 1 else any(v in live for v in outs)) or \
                eqn.prim in EFFECTFUL:
            if eqn.prim.subjaxpr_params:
                rule = _DCE_RULES.get(eqn.prim)
                if rule is not None and not _has_effects(eqn):
                    new = _memo_dce(rule, eqn, tuple(v in live for v in outs))
                    if new is not eqn:
                        eqn, changed = new, True
            kept.append(eqn)
            for a in eqn.invars:
                if type(a) is Var:
                    add(a)
    kept.reverse()
    if not changed and len(kept) == len(jaxpr.eqns):
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, kept, jaxpr.outvars)


# --- dead code inside control flow ------------------------------------------------------------
# A loop or cond whose results are partly unused (e.g. the primal ys of a scan in a
# gradient) would still compute, and for a scan store per iteration, all of them: XLA does
# not prune loop-carried state.  These rules drop unused outputs, the carries that only feed
# them, and the operands nothing reads any more.  Each returns (new params, which operands
# stay, which outputs stay), or None when there is nothing to drop.

def _has_effects(eqn) -> bool:
    if eqn.prim in EFFECTFUL:
        return True
    return any(_has_effects(e) for c in sub_jaxprs(eqn) for e in c.jaxpr.eqns)


def _intern(j: Jaxpr) -> ClosedJaxpr:
    from .control_flow import intern_jaxpr   # control_flow imports this module
    return intern_jaxpr(j)


def _sub_dce(closed: ClosedJaxpr, used_outs):
    """``closed`` keeping only the outputs ``used_outs`` says are used, dead code removed;
    returns (jaxpr with all the original inputs, which inputs it still reads)."""
    j = closed.jaxpr
    j2 = dce(Jaxpr([], j.invars, j.eqns, [o for o, u in zip(j.outvars, used_outs) if u]))
    read = {a for e in j2.eqns for a in e.invars if isinstance(a, Var)} | \
        {a for a in j2.outvars if isinstance(a, Var)}
    return j2, [v in read for v in j2.invars]


def _keep(xs, mask):
    return [x for x, k in zip(xs, mask) if k]


def _scan_dce(eqn, used):
    p = eqn.params
    nc, nk = p["num_consts"], p["num_carry"]
    keep_k, used_y = list(used[:nk]), list(used[nk:])
    while True:   # a carry read by a kept output must be kept too
        j, reads = _sub_dce(p["jaxpr"], keep_k + used_y)
        new = [k or r for k, r in zip(keep_k, reads[nc:nc + nk])]
        if new == keep_k:
            break
        keep_k = new
    mask = reads[:nc] + keep_k + reads[nc + nk:]
    if all(mask) and all(used_y):
        return None
    body = _intern(Jaxpr([], _keep(j.invars, mask), j.eqns, j.outvars))
    return (dict(p, jaxpr=body, num_consts=sum(reads[:nc]), num_carry=sum(keep_k)), mask,
            keep_k + used_y)


def _while_dce(eqn, used):
    p = eqn.params
    ncc, nbc = p["cond_nconsts"], p["body_nconsts"]
    cj, c_reads = _sub_dce(p["cond_jaxpr"], [True])
    keep_k = [u or r for u, r in zip(used, c_reads[ncc:])]
    while True:
        bj, b_reads = _sub_dce(p["body_jaxpr"], keep_k)
        new = [k or r for k, r in zip(keep_k, b_reads[nbc:])]
        if new == keep_k:
            break
        keep_k = new
    c_mask, b_mask = c_reads[:ncc] + keep_k, b_reads[:nbc] + keep_k
    if all(c_mask) and all(b_mask):
        return None
    params = dict(p, cond_jaxpr=_intern(Jaxpr([], _keep(cj.invars, c_mask), cj.eqns,
                                               cj.outvars)),
                  body_jaxpr=_intern(Jaxpr([], _keep(bj.invars, b_mask), bj.eqns, bj.outvars)),
                  cond_nconsts=sum(c_reads[:ncc]), body_nconsts=sum(b_reads[:nbc]))
    return params, c_reads[:ncc] + b_reads[:nbc] + keep_k, keep_k


def _cond_dce(eqn, used):
    pruned = [_sub_dce(b, used) for b in eqn.params["branches"]]
    n_ops = len(eqn.invars) - 1
    keep_ops = [any(r[i] for _, r in pruned) for i in range(n_ops)]
    if all(used) and all(keep_ops):
        return None
    branches = tuple(_intern(Jaxpr([], _keep(j.invars, keep_ops), j.eqns, j.outvars))
                     for j, _ in pruned)
    return dict(eqn.params, branches=branches), [True] + keep_ops, list(used)


_DCE_RULES = {control.scan: _scan_dce, control.while_: _while_dce, control.cond: _cond_dce}
_dce_memo: dict = {}


def _memo_dce(rule, eqn, used):
    """``rule(eqn, used)`` -> (params, which inputs stay, which outputs stay) or None,
    applied to ``eqn``; remembered per (sub-jaxprs, used), since the same interned bodies are
    pruned again each time an enclosing jaxpr is DCE'd."""
    subs = tuple(sub_jaxprs(eqn))
    others = tuple((k, v) for k, v in eqn.params.items()
                   if k not in eqn.prim.subjaxpr_params)   # num_consts, num_carry, ...
    key = (tuple(id(s) for s in subs), others, used, len(eqn.invars))
    hit = _dce_memo.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], subs)):
        res = hit[1]
    else:
        res = rule(eqn, used)
        if len(_dce_memo) > 4096:
            _dce_memo.clear()
        _dce_memo[key] = (subs, res)
    if res is None:
        return eqn
    params, keep_in, keep_out = res
    return Eqn(eqn.prim, _keep(eqn.invars, keep_in), _keep(eqn.outvars, keep_out), params,
               eqn.source)


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

    def key_of(a):
        return ("lit", a.key()) if type(a) is Literal else a

    get = rename.get
    for eqn in jaxpr.eqns:
        prim, invars = eqn.prim, eqn.invars
        if rename:
            invars = [get(a, a) if type(a) is Var else a for a in invars]
        if prim in EFFECTFUL or prim.subjaxpr_params:
            eqns.append(Eqn(prim, invars, eqn.outvars, eqn.params, eqn.source)
                        if invars is not eqn.invars and invars != eqn.invars else eqn)
            continue
        # the key: operands as they are unless one is a literal (keyed by value), built
        # without a comprehension (a function call in Python 3.11) in the usual case
        args = tuple(invars)
        for a in args:
            if type(a) is Literal:
                args = tuple([key_of(a) for a in invars])
                break
        key = (prim, args, tuple(eqn.params.items())) if eqn.params else (prim, args)
        try:
            prev = seen.get(key)
        except TypeError:  # an unhashable param value: compare by identity
            key = (prim, args, tuple((k, _hashable(v)) for k, v in eqn.params.items()))
            prev = seen.get(key)
        if prev is not None:
            for old, new in zip(eqn.outvars, prev.outvars):
                rename[old] = new
            changed = True
            continue
        if invars is not eqn.invars and invars != eqn.invars:
            eqn = Eqn(prim, invars, eqn.outvars, eqn.params, eqn.source)
            changed = True
        seen[key] = eqn
        eqns.append(eqn)
    if not changed:
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns,
                 [get(a, a) if type(a) is Var else a for a in jaxpr.outvars])


# --- folding and forwarding -------------------------------------------------------------------
_B = ops.binary
_MUL, _ADD, _SUB, _DIV = _B["mul"], _B["add"], _B["sub"], _B["div"]
_NP_BINARY = {_B["add"]: np.add, _B["sub"]: np.subtract, _B["mul"]: np.multiply,
              _B["div"]: np.divide, _B["max"]: np.maximum, _B["min"]: np.minimum}
_NEG = ops.unary["neg"]
_ELEMENTWISE_FAMILIES = ("binary", "compare")
_RESHAPE = ops.reshape
_SHAPE_OPS = (ops.reshape, ops.transpose, ops.rev, ops.slice, ops.convert_element_type)
_REDUCE_FWD = frozenset(p for p in ops.reduce.values() if p.name.startswith("reduce_"))
# every op ``fold`` has a rule for besides the elementwise families: the others (most
# equations of a typical program) skip the chain of tests below with one set lookup
_FOLDABLE = frozenset((_NEG, ops.broadcast_in_dim, ops.unary["integer_pow"], ops.select_n,
                       *_SHAPE_OPS, *_REDUCE_FWD))


def _lit_value(a):
    v = a.val
    return v.item() if isinstance(v, np.generic) else v


def _is_lit(a, value) -> bool:
    if type(a) is not Literal:
        return False
    try:
        return _lit_value(a) == value and not isinstance(_lit_value(a), bool)
    except Exception:  # noqa: BLE001
        return False


def _make_lit(value, aval) -> Literal:
    return Literal(np.asarray(value).astype(aval.dtype)[()],
                   ShapedArray((), aval.dtype, aval.weak_type))


def fold(jaxpr: Jaxpr) -> Jaxpr:
    rename: dict = {}
    splat: dict = {}      # var -> scalar Literal it is a broadcast of
    eqns = []
    changed = False

    def sub(a):
        return rename.get(a, a) if type(a) is Var else a

    def same_type(a, v) -> bool:
        return a.aval.shape == v.aval.shape and a.aval.dtype == v.aval.dtype

    get = rename.get
    for eqn in jaxpr.eqns:
        invars = eqn.invars
        if rename:
            invars = [get(a, a) if type(a) is Var else a for a in invars]
        prim, p = eqn.prim, eqn.params
        outs = eqn.outvars
        out = outs[0] if len(outs) == 1 else None
        fwd = None
        if out is not None and (prim in _FOLDABLE or prim.family in _ELEMENTWISE_FAMILIES):
            if prim.family in _ELEMENTWISE_FAMILIES and len(invars) == 2:
                x, y = invars
                sx = x if type(x) is Literal else splat.get(x)
                sy = y if type(y) is Literal else splat.get(y)
                if sx is None and sy is None:
                    pass   # two plain variables: no rule applies
                elif sx is not None and sy is not None and prim in _NP_BINARY and \
                        dtypes.is_inexact(out.aval.dtype):
                    val = _NP_BINARY[prim](np.asarray(sx.val, out.aval.dtype),
                                           np.asarray(sy.val, out.aval.dtype))
                    lit = _make_lit(val, out.aval)
                    if out.aval.shape == ():
                        fwd = lit
                    else:
                        splat[out] = lit
                        invars, prim, p = [lit], ops.broadcast_in_dim, dict(
                            shape=out.aval.shape, broadcast_dimensions=())
                else:
                    if prim is _MUL:
                        if _is_lit(sy, 1) and same_type(x, out):
                            fwd = x
                        elif _is_lit(sx, 1) and same_type(y, out):
                            fwd = y
                    elif prim is _ADD:
                        if _is_lit(sy, 0) and same_type(x, out):
                            fwd = x
                        elif _is_lit(sx, 0) and same_type(y, out):
                            fwd = y
                    elif prim is _SUB:
                        if _is_lit(sy, 0) and same_type(x, out):
                            fwd = x
                    elif prim is _DIV:
                        if _is_lit(sy, 1) and same_type(x, out):
                            fwd = x
                    if fwd is None:   # a broadcast literal operand: use the literal itself
                        if type(x) is Var and x in splat and type(y) is Var and \
                                y.aval.shape == out.aval.shape:
                            invars = [splat[x], y]
                        elif type(y) is Var and y in splat and type(x) is Var and \
                                x.aval.shape == out.aval.shape:
                            invars = [x, splat[y]]
            elif prim is _NEG:
                x, = invars
                sx = x if type(x) is Literal else splat.get(x)
                if sx is not None and dtypes.is_inexact(out.aval.dtype):
                    lit = _make_lit(-np.asarray(sx.val, out.aval.dtype), out.aval)
                    if out.aval.shape == ():
                        fwd = lit
                    else:
                        splat[out] = lit
                        invars, prim, p = [lit], ops.broadcast_in_dim, dict(
                            shape=out.aval.shape, broadcast_dimensions=())
                else:
                    src = _neg_src.get(x) if type(x) is Var else None
                    if src is not None:
                        fwd = src
            elif prim is ops.broadcast_in_dim:
                x, = invars
                if type(x) is Literal and not p["broadcast_dimensions"]:
                    if out.aval.shape == ():
                        fwd = x
                    else:
                        splat[out] = x
                elif type(x) is Var and x in splat:
                    invars = [splat[x]]
                    p = dict(shape=p["shape"], broadcast_dimensions=())
                    splat[out] = splat[x]
                elif same_type(x, out) and tuple(p["broadcast_dimensions"]) == \
                        tuple(range(out.aval.ndim)):
                    fwd = x
            elif prim in _SHAPE_OPS:
                x, = invars[:1]
                if prim is ops.convert_element_type:
                    if same_type(x, out):
                        fwd = x
                    elif type(x) is Var and x in splat and dtypes.is_inexact(out.aval.dtype) and \
                            (dtypes.is_float(x.aval.dtype) or dtypes.is_int(x.aval.dtype)):
                        lit = _make_lit(np.asarray(splat[x].val).astype(out.aval.dtype), out.aval)
                        splat[out] = lit
                        invars, prim, p = [lit], ops.broadcast_in_dim, dict(
                            shape=out.aval.shape, broadcast_dimensions=())
                elif prim is ops.rev and not p["dimensions"]:
                    fwd = x
                elif prim is ops.transpose and tuple(p["permutation"]) == \
                        tuple(range(len(p["permutation"]))):
                    fwd = x
                elif same_type(x, out) and prim in (ops.reshape, ops.slice):
                    fwd = x
                elif type(x) is Var and x in splat and prim is not ops.convert_element_type:
                    splat[out] = splat[x]
                    invars, prim, p = [splat[x]], ops.broadcast_in_dim, dict(
                        shape=out.aval.shape, broadcast_dimensions=())
                elif prim is ops.reshape and type(x) is Var and x in _reshape_src:
                    invars = [_reshape_src[x]]
                    if same_type(invars[0], out):
                        fwd = invars[0]
            elif prim.name == "integer_pow" and p.get("y") == 1:
                fwd = invars[0]
            elif prim is ops.select_n and len(invars) >= 2 and \
                    all(a is invars[1] for a in invars[2:]) and same_type(invars[1], out):
                fwd = invars[1]
            elif prim in _REDUCE_FWD and not p.get("axes"):
                fwd = invars[0]
        if fwd is not None:
            rename[out] = fwd
            changed = True
            continue
        if prim is not eqn.prim or p is not eqn.params or \
                (invars is not eqn.invars and invars != eqn.invars):
            eqn = Eqn(prim, invars, eqn.outvars, p, eqn.source)
            changed = True
        if prim is _NEG and type(invars[0]) is Var:
            _neg_src[out] = invars[0]
        elif prim is _RESHAPE and type(invars[0]) is Var:
            _reshape_src[out] = invars[0]
        eqns.append(eqn)
    _neg_src.clear()
    _reshape_src.clear()
    if not changed:
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, [sub(a) for a in jaxpr.outvars])


_neg_src: dict = {}
_reshape_src: dict = {}


def use_counts(jaxpr: Jaxpr) -> dict:
    """How many times each variable is read by an equation or returned."""
    uses: dict = {}
    for e in jaxpr.eqns:
        for a in e.invars:
            if type(a) is Var:
                uses[a] = uses.get(a, 0) + 1
    for a in jaxpr.outvars:
        if type(a) is Var:
            uses[a] = uses.get(a, 0) + 1
    return uses


def pack_scan_ys(jaxpr: Jaxpr) -> Jaxpr:
    """``concatenate(reshape(y1, (L, 1, ...)), ..., dimension=1)`` where every ``yj`` is a
    stacked output of the same scan and nothing else reads the ``yj`` or the reshapes:
    the scan body emits the concatenation of the per-step values instead, so the loop
    writes one packed [L, m, ...] array per step where it wrote m arrays.  Reverse mode
    asks for such stacks when it contracts a weight's per-step cotangents after the loop
    (``ad._contract_packed``); the forward loop's residuals are the other side."""
    if not any(e.prim is ops.concatenate for e in jaxpr.eqns):
        return jaxpr
    uses = use_counts(jaxpr)
    producer = {v: (k, e) for k, e in enumerate(jaxpr.eqns) for v in e.outvars}
    new_outs: dict = {}     # scan eqn index -> [(concat outvar, [ys positions])]
    dropped = set()         # concatenate eqn indices
    for k, e in enumerate(jaxpr.eqns):
        if e.prim is not ops.concatenate or e.params["dimension"] != 1 or len(e.invars) < 2:
            continue
        srcs = []
        for a in e.invars:
            pe = producer.get(a) if type(a) is Var else None
            if pe is None or pe[1].prim is not ops.reshape or uses.get(a) != 1:
                break
            y = pe[1].invars[0]
            py = producer.get(y) if type(y) is Var else None
            if py is None or py[1].prim is not control.scan or uses.get(y) != 1 or \
                    a.aval.shape != y.aval.shape[:1] + (1,) + y.aval.shape[1:]:
                break
            srcs.append((py[0], py[1].outvars.index(y)))
        else:
            if len({s for s, _ in srcs}) == 1:
                scan_at = srcs[0][0]
                nk = jaxpr.eqns[scan_at].params["num_carry"]
                if all(pos >= nk for _, pos in srcs):
                    new_outs.setdefault(scan_at, []).append((e.outvars[0],
                                                             [pos for _, pos in srcs]))
                    dropped.add(k)
    if not new_outs:
        return jaxpr
    eqns = []
    for k, e in enumerate(jaxpr.eqns):
        if k in dropped:
            continue
        if k in new_outs:
            e = _scan_with_packed_ys(e, new_outs[k])
        eqns.append(e)
    return dce(Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars))


def _scan_with_packed_ys(eqn, packs):
    body = eqn.params["jaxpr"].jaxpr
    b_eqns, b_outs = list(body.eqns), list(body.outvars)
    for _, positions in packs:
        parts = []
        for pos in positions:
            v = body.outvars[pos]
            r = Var(ShapedArray((1,) + v.aval.shape, v.aval.dtype, v.aval.weak_type))
            b_eqns.append(Eqn(ops.reshape, [v], [r], {"new_sizes": r.aval.shape}, None))
            parts.append(r)
        a0 = parts[0].aval
        packed = Var(ShapedArray((len(parts),) + a0.shape[1:], a0.dtype, a0.weak_type))
        b_eqns.append(Eqn(ops.concatenate, parts, [packed], {"dimension": 0}, None))
        b_outs.append(packed)
    new_body = _intern(Jaxpr([], body.invars, b_eqns, b_outs))
    return Eqn(eqn.prim, eqn.invars, eqn.outvars + [out for out, _ in packs],
               dict(eqn.params, jaxpr=new_body), eqn.source)


_simplified: dict = {}   # id(sub-jaxpr) -> (it, its simplified form)


def _simplify_sub(c: ClosedJaxpr) -> ClosedJaxpr:
    hit = _simplified.get(id(c))
    if hit is not None and hit[0] is c:
        return hit[1]
    j = c.jaxpr
    new = simplify(c) if not c.consts else c
    if new is not c:   # simplify keeps the interface; re-intern so equal bodies stay shared
        new = _intern(Jaxpr([], new.jaxpr.invars, new.jaxpr.eqns, new.jaxpr.outvars)) \
            if not j.constvars else new
    if len(_simplified) > 4096:
        _simplified.clear()
    _simplified[id(c)] = (c, new)
    _simplified[id(new)] = (new, new)
    return new


def _simplify_subjaxprs(jaxpr: Jaxpr) -> Jaxpr:
    """Simplify every control-flow sub-jaxpr: bodies built by transforms (JVP, partial
    evaluation, batching) are not simplified when they are made."""
    eqns, changed = [], False
    for e in jaxpr.eqns:
        if e.prim.subjaxpr_params and e.prim.family == "control":
            params = dict(e.params)
            for name in e.prim.subjaxpr_params:
                old = params[name]
                new = tuple(_simplify_sub(b) for b in old) if isinstance(old, tuple) \
                    else _simplify_sub(old)
                if new != old:   # tuples compare elementwise, ClosedJaxprs by identity
                    params[name] = new
            if params != e.params:
                e = Eqn(e.prim, e.invars, e.outvars, params, e.source)
                changed = True
        eqns.append(e)
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars) if changed else jaxpr


def simplify(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Fold/forward, CSE, then DCE, also inside control-flow sub-jaxprs; unused constvars
    are dropped together with their values."""
    j = dce(pack_scan_ys(cse(fold(_simplify_subjaxprs(closed.jaxpr)))))
    if not j.constvars:
        return closed if j is closed.jaxpr else ClosedJaxpr(j, closed.consts)
    used = {a for e in j.eqns for a in e.invars if isinstance(a, Var)} | \
        {a for a in j.outvars if isinstance(a, Var)}
    keep = [i for i, v in enumerate(j.constvars) if v in used]
    if len(keep) != len(j.constvars):
        j = Jaxpr([j.constvars[i] for i in keep], j.invars, j.eqns, j.outvars)
        return ClosedJaxpr(j, [closed.consts[i] for i in keep])
    return closed if j is closed.jaxpr else ClosedJaxpr(j, closed.consts)
