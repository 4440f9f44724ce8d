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

from primitives import control, dtypes, lru, ops
from primitives.core import (EFFECTFUL, ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var,
                             has_effects, sub_jaxprs)
from primitives.irutil import intern_jaxpr

from .core.checks import check_ir


def dce(jaxpr: Jaxpr, keep_effects: bool = True) -> Jaxpr:
    """Drop equations whose outputs are unused; a control-flow equation whose outputs are
    partly used is rewritten to compute only those (see ``DCE_RULES``).  Equations with
    effects stay, unless ``keep_effects=False``: then the result is the slice of the
    program that computes its outputs (to copy that computation elsewhere)."""
    live = {v for v in jaxpr.outvars if type(v) is Var}
    kept = []
    add = live.add
    changed = False
    for eqn in reversed(jaxpr.eqns):
        outs = eqn.outvars
        if (outs[0] in live if len(outs) == 1 else any(v in live for v in outs)) or \
                keep_effects and has_effects(eqn):   # an effect runs even if unused
            if eqn.prim.subjaxpr_params:
                rule = DCE_RULES.get(eqn.prim)
                if rule is not None:   # (rules keep a body's effects: dce keeps them)
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

def _intern(j: Jaxpr) -> ClosedJaxpr:
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


# meta-operator holding sub-programs -> its DCE rule ``rule(eqn, used) -> None | (params,
# used operands, used outputs)``; xform/higher_order modules add theirs (shard_map)
DCE_RULES = {control.scan: _scan_dce, control.while_: _while_dce, control.cond: _cond_dce}
_dce_memo = lru.LRU("passes.dce_memo")   # (sub-jaxpr ids, params, used) -> result


def _memo_dce(rule, eqn, used):
    """``rule(eqn, used)`` -> (params, which inputs stay, which outputs stay) or None,
    applied to ``eqn``; remembered per (sub-jaxprs, used), since the same interned bodies are
    pruned again each time an enclosing jaxpr is DCE'd."""
    subs = tuple(sub_jaxprs(eqn))
    others = tuple((k, v) for k, v in eqn.params.items()
                   if k not in eqn.prim.subjaxpr_params)   # num_consts, num_carry, ...
    key = (tuple(id(s) for s in subs), others, used, len(eqn.invars))
    hit = _dce_memo.data.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], subs)):
        res = hit[1]
    else:
        res = rule(eqn, used)
        _dce_memo.put(key, (subs, res))
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
_RESHAPE = ops.reshape
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


# Each rule: ``rule(st, prim, invars, params, out) -> None`` (keep the equation), an atom
# (a Var or Literal: the output *is* that atom, forward it), or ``(prim, invars, params)``
# (rewrite the equation).  ``st`` is the pass's state: ``splat`` maps a variable to the
# scalar Literal it is a broadcast of, ``neg_src``/``reshape_src`` map the output of a kept
# ``neg``/``reshape`` to its operand.

class _FoldState:
    __slots__ = ("splat", "neg_src", "reshape_src")

    def __init__(self):
        self.splat, self.neg_src, self.reshape_src = {}, {}, {}


def _same_type(a, v) -> bool:
    return a.aval.shape == v.aval.shape and a.aval.dtype == v.aval.dtype


def _splat_of(st, x):
    return x if type(x) is Literal else st.splat.get(x)


def _broadcast_lit(st, lit, out):
    """The output is ``lit`` everywhere: a scalar output is the literal, a larger one
    becomes a broadcast of it (and is remembered as a splat)."""
    if out.aval.shape == ():
        return lit
    st.splat[out] = lit
    return ops.broadcast_in_dim, [lit], dict(shape=out.aval.shape, broadcast_dimensions=())


# identities x op c -> x: (literal on the right, literal on the left) that make an op a no-op
_RIGHT_UNIT = {_MUL: 1, _ADD: 0, _SUB: 0, _DIV: 1}
_LEFT_UNIT = {_MUL: 1, _ADD: 0}


def _fold_elementwise(st, prim, invars, p, out):
    """binary/compare: fold two splat operands, drop a unit operand, or use the literal
    itself in place of a broadcast of it."""
    if len(invars) != 2:
        return None
    x, y = invars
    sx, sy = _splat_of(st, x), _splat_of(st, y)
    if sx is None and sy is None:
        return None                   # two plain variables: no rule applies
    if sx is not None and sy is not None and prim in _NP_BINARY and \
            dtypes.is_inexact(out.aval.dtype):
        val = _NP_BINARY[prim](np.asarray(sx.val, out.aval.dtype),
                               np.asarray(sy.val, out.aval.dtype))
        return _broadcast_lit(st, _make_lit(val, out.aval), out)
    unit = _RIGHT_UNIT.get(prim)
    if unit is not None and _is_lit(sy, unit) and _same_type(x, out):
        return x
    unit = _LEFT_UNIT.get(prim)
    if unit is not None and _is_lit(sx, unit) and _same_type(y, out):
        return y
    if type(x) is Var and x in st.splat and type(y) is Var and y.aval.shape == out.aval.shape:
        return prim, [st.splat[x], y], p
    if type(y) is Var and y in st.splat and type(x) is Var and x.aval.shape == out.aval.shape:
        return prim, [x, st.splat[y]], p
    return None


def _fold_neg(st, prim, invars, p, out):
    x, = invars
    sx = _splat_of(st, x)
    if sx is not None and dtypes.is_inexact(out.aval.dtype):
        return _broadcast_lit(st, _make_lit(-np.asarray(sx.val, out.aval.dtype), out.aval), out)
    return st.neg_src.get(x) if type(x) is Var else None     # -(-x) -> x


def _fold_broadcast(st, prim, invars, p, out):
    x, = invars
    if type(x) is Literal and not p["broadcast_dimensions"]:
        if out.aval.shape == ():
            return x
        st.splat[out] = x
        return None
    if type(x) is Var and x in st.splat:
        st.splat[out] = st.splat[x]
        return prim, [st.splat[x]], dict(shape=p["shape"], broadcast_dimensions=())
    if _same_type(x, out) and tuple(p["broadcast_dimensions"]) == tuple(range(out.aval.ndim)):
        return x
    return None


def _fold_convert(st, prim, invars, p, out):
    x = invars[0]
    if _same_type(x, out) and x.aval.weak_type == out.aval.weak_type:
        return x
    if type(x) is Var and x in st.splat and dtypes.is_inexact(out.aval.dtype) and \
            (dtypes.is_float(x.aval.dtype) or dtypes.is_int(x.aval.dtype)):
        lit = _make_lit(np.asarray(st.splat[x].val).astype(out.aval.dtype), out.aval)
        st.splat[out] = lit
        return ops.broadcast_in_dim, [lit], dict(shape=out.aval.shape, broadcast_dimensions=())
    return None


def _fold_layout(st, prim, invars, p, out):
    """reshape / transpose / rev / slice: the identity ones are dropped, a splat stays a
    splat, and a reshape of a reshape reads the first one's operand."""
    x = invars[0]
    if prim is ops.rev and not p["dimensions"]:
        return x
    if prim is ops.transpose and tuple(p["permutation"]) == tuple(range(len(p["permutation"]))):
        return x
    if _same_type(x, out) and prim in (ops.reshape, ops.slice):
        return x
    if type(x) is Var and x in st.splat:
        st.splat[out] = st.splat[x]
        return ops.broadcast_in_dim, [st.splat[x]], dict(shape=out.aval.shape,
                                                         broadcast_dimensions=())
    if prim is ops.reshape and type(x) is Var and x in st.reshape_src:
        src = st.reshape_src[x]
        return src if _same_type(src, out) else (prim, [src], p)
    return None


def _fold_integer_pow(st, prim, invars, p, out):
    return invars[0] if p.get("y") == 1 else None


def _fold_select(st, prim, invars, p, out):
    if len(invars) >= 2 and all(a is invars[1] for a in invars[2:]) and \
            _same_type(invars[1], out):
        return invars[1]      # every case is the same value
    return None


def _fold_reduce(st, prim, invars, p, out):
    return invars[0] if not p.get("axes") else None


FOLD_RULES: dict = {_NEG: _fold_neg, ops.broadcast_in_dim: _fold_broadcast,
                    ops.convert_element_type: _fold_convert,
                    ops.unary["integer_pow"]: _fold_integer_pow, ops.select_n: _fold_select}
FOLD_RULES.update({q: _fold_layout for q in (ops.reshape, ops.transpose, ops.rev, ops.slice)})
FOLD_RULES.update({q: _fold_elementwise for q in (*ops.binary.values(), *ops.compare.values())})
FOLD_RULES.update({q: _fold_reduce for q in ops.reduce.values() if q.name.startswith("reduce_")})


def fold(jaxpr: Jaxpr) -> Jaxpr:
    """Constant folding and forwarding of trivial equations, one rule per meta-operator
    (``FOLD_RULES``); an equation with no rule is kept after one dict lookup."""
    rename: dict = {}
    st = _FoldState()
    eqns = []
    changed = False
    get = rename.get
    for eqn in jaxpr.eqns:
        invars = eqn.invars
        if rename:
            invars = [get(a, a) if type(a) is Var else a for a in invars]
        prim, p = eqn.prim, eqn.params
        rule = FOLD_RULES.get(prim)
        if rule is not None and len(eqn.outvars) == 1:
            out = eqn.outvars[0]
            res = rule(st, prim, invars, p, out)
            if res is not None:
                if type(res) is not tuple:        # forward: the output is this atom
                    rename[out] = res
                    changed = True
                    continue
                prim, invars, p = res
        if prim is not eqn.prim or p is not eqn.params or \
                (invars is not eqn.invars and invars != eqn.invars):
            eqn = Eqn(prim, invars, eqn.outvars, p, eqn.source)
            changed = True
        if prim is _NEG and type(invars[0]) is Var:
            st.neg_src[eqn.outvars[0]] = invars[0]
        elif prim is _RESHAPE and type(invars[0]) is Var:
            st.reshape_src[eqn.outvars[0]] = invars[0]
        eqns.append(eqn)
    if not changed:
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns,
                 [get(a, a) if type(a) is Var else a for a in jaxpr.outvars])


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
    (``higher_order.control_flow._contract_packed``); the forward loop's residuals are the other side."""
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


_simplified = lru.LRU("passes.simplified")   # id(sub-jaxpr) -> (it, its simplified form)


def _simplify_sub(c: ClosedJaxpr) -> ClosedJaxpr:
    hit = _simplified.data.get(id(c))
    if hit is not None and hit[0] is c:
        return hit[1]
    j = c.jaxpr
    new = simplify(c) if not c.consts else c
    if new is not c:   # simplify keeps the interface; re-intern so equal bodies stay shared
        new = _intern(Jaxpr([], new.jaxpr.invars, new.jaxpr.eqns, new.jaxpr.outvars)) \
            if not j.constvars else new
    _simplified.put(id(c), (c, new))
    _simplified.put(id(new), (new, new))
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
    are dropped together with their values.  With ``xform_check_ir`` on, the result is
    type-checked."""
    return check_ir(_simplify(closed), "simplify")


def _simplify(closed: ClosedJaxpr) -> ClosedJaxpr:
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
