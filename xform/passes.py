"""Cheap IR -> IR passes that keep programs small before they are transformed or lowered.

* ``dce``: drop equations whose outputs are never used.
* ``cse``: merge equations that apply the same op with the same params to the
  same operands.
* ``fold``: forward trivial equations (``mul x 1.0``, ``add x 0.0``, identity
  reshapes/converts, ``neg (neg x)``, ...), fold arithmetic on literals and on
  broadcast literals ("splats"), and use a scalar literal operand directly instead
  of its broadcast.
All preserve the interface (constvars, invars, outvars).
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes, ops
from primitives.core import ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var

# meta-operators that must run even if their results are unused (effects)
EFFECTFUL: set = set()


def dce(jaxpr: Jaxpr) -> Jaxpr:
    live = {v for v in jaxpr.outvars if type(v) is Var}
    kept = []
    add = live.add
    for eqn in reversed(jaxpr.eqns):
        outs = eqn.outvars
        if (outs[0] in live if len(outs) == 1 else any(v in live for v in outs)) or \
                eqn.prim in EFFECTFUL:
            kept.append(eqn)
            for a in eqn.invars:
                if type(a) is Var:
                    add(a)
    kept.reverse()
    if len(kept) == len(jaxpr.eqns):
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, kept, jaxpr.outvars)


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
        invars = [get(a, a) if type(a) is Var else a for a in eqn.invars] if rename \
            else eqn.invars
        if eqn.prim in EFFECTFUL or eqn.prim.subjaxpr_params:
            eqns.append(Eqn(eqn.prim, invars, eqn.outvars, eqn.params, eqn.source)
                        if invars != eqn.invars else eqn)
            continue
        params = tuple(eqn.params.items())
        key = (eqn.prim, tuple([key_of(a) for a in invars]), params)
        try:
            prev = seen.get(key)
        except TypeError:  # an unhashable param value: compare by identity
            key = (eqn.prim, tuple(key_of(a) for a in invars),
                   tuple((k, _hashable(v)) for k, v in params))
            prev = seen.get(key)
        if prev is not None:
            for old, new in zip(eqn.outvars, prev.outvars):
                rename[old] = new
            changed = True
            continue
        if invars != eqn.invars:
            eqn = Eqn(eqn.prim, invars, eqn.outvars, eqn.params, eqn.source)
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
        invars = [get(a, a) if type(a) is Var else a for a in eqn.invars] if rename \
            else eqn.invars
        prim, p = eqn.prim, eqn.params
        outs = eqn.outvars
        out = outs[0] if len(outs) == 1 else None
        fwd = None
        if out is not None and not prim.subjaxpr_params:
            fam = prim.family
            if fam in _ELEMENTWISE_FAMILIES and len(invars) == 2:
                x, y = invars
                sx = x if type(x) is Literal else splat.get(x)
                sy = y if type(y) is Literal else splat.get(y)
                np_fn = _NP_BINARY.get(prim)
                if sx is not None and sy is not None and np_fn is not None and \
                        dtypes.is_inexact(out.aval.dtype):
                    val = np_fn(np.asarray(sx.val, out.aval.dtype), np.asarray(sy.val, out.aval.dtype))
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
            elif prim in (ops.reshape, ops.transpose, ops.rev, ops.slice, ops.convert_element_type):
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
            elif prim in ops.reduce.values() and prim.name.startswith("reduce_") and \
                    not p.get("axes"):
                fwd = invars[0]
        if fwd is not None:
            rename[out] = fwd
            changed = True
            continue
        if prim is not eqn.prim or invars != eqn.invars or p is not eqn.params:
            eqn = Eqn(prim, invars, eqn.outvars, p, eqn.source)
            changed = True
        if eqn.prim is _NEG and type(invars[0]) is Var:
            _neg_src[out] = invars[0]
        if eqn.prim is ops.reshape and type(invars[0]) is Var:
            _reshape_src[out] = invars[0]
        eqns.append(eqn)
    _neg_src.clear()
    _reshape_src.clear()
    if not changed:
        return jaxpr
    return Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, [sub(a) for a in jaxpr.outvars])


_neg_src: dict = {}
_reshape_src: dict = {}


def simplify(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Fold/forward, CSE, then DCE; unused constvars are dropped together with their values."""
    j = dce(cse(fold(closed.jaxpr)))
    used = {a for e in j.eqns for a in e.invars if isinstance(a, Var)} | \
        {a for a in j.outvars if isinstance(a, Var)}
    keep = [i for i, v in enumerate(j.constvars) if v in used]
    if len(keep) != len(j.constvars):
        j = Jaxpr([j.constvars[i] for i in keep], j.invars, j.eqns, j.outvars)
        return ClosedJaxpr(j, [closed.consts[i] for i in keep])
    return closed if j is closed.jaxpr else ClosedJaxpr(j, closed.consts)
