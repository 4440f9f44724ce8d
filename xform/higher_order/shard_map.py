"""``shard_map`` (primitives/shard_map.py) under every transform: JVP, partial
evaluation, transposition, batching and dead-code elimination side by side.

* JVP: the JVP of the body, still one ``shard_map``; a tangent is laid out as its
  primal (same spec).
* Partial evaluation splits the body into a known ``shard_map`` (primal outputs and the
  residuals) and an unknown one (the linear part).  A residual is a per-device value, so
  it leaves the known ``shard_map`` with a new leading axis of size 1 per device, split
  over every manual axis (local ``(1, *s)``, global ``(devices, *s)``), and enters the
  unknown one with that same spec; a residual that is a known *input* of the body is
  passed to the unknown one as that input, with its spec, instead.
* Transpose: the transposed body, run per device, as JAX's ``check_vma=False`` shard_map
  does: the cotangent of an output replicated over manual axes (its out spec leaves them
  unmentioned) is divided by their total size before the body's transpose, and the
  cotangent of an input replicated over manual axes is ``psum``-med over them after it.
  Together with ``psum``'s transpose being ``psum``, this gives the gradient of the
  global function.
* Batching: batch dimensions move to the front; the specs of batched operands and
  outputs gain a leading ``None`` (the batch axis is not split); collectives over mesh
  axes in the body stay as they are.
"""
from __future__ import annotations

import math

from primitives import ops, shard_map as _sm
from primitives.collectives import psum as _psum
from primitives.core import ClosedJaxpr, Eqn, Jaxpr, Var
from primitives.irutil import hoist_consts, intern_jaxpr, permute
from primitives.sharding import PartitionSpec

from ..core.pytree import tree_flatten
from ..core.trace import trace_to_jaxpr
from ..transforms.ad_util import aval_of, instantiate, is_diff_dtype, Zero
from ..transforms.batching import batch_subjaxpr, moveaxis, RULES
from ..transforms.jvp import JVP, jvp_sub, nonzero_mask
from ..transforms.partial_eval import partial_eval, PARTIAL_EVAL
from ..transforms.transpose import LinearIn, TRANSPOSE, transpose_linear
from .. import lax, passes
from ..core import bind, eval_jaxpr

_REPLICATED = PartitionSpec()


def _body(closed: ClosedJaxpr) -> ClosedJaxpr:
    """A transform-built body, simplified and interned (consts must be hoisted)."""
    closed = passes.simplify(closed)
    if closed.consts:
        raise NotImplementedError("internal error: a shard_map body built by a transform "
                                  "has consts")
    return intern_jaxpr(closed.jaxpr)


def _bind(args, body, mesh, in_specs, out_specs, manual_axes):
    return bind(_sm.shard_map, *args, jaxpr=body, mesh=mesh, in_specs=tuple(in_specs),
                out_specs=tuple(out_specs), manual_axes=manual_axes)


def _trace(fn, avals) -> ClosedJaxpr:
    """Trace ``fn(*tracers) -> list`` at ``avals``."""
    _, tree = tree_flatten((tuple(range(len(avals))), {}))
    closed, _ = trace_to_jaxpr(fn, list(avals), tree)
    return closed


# --- JVP ------------------------------------------------------------------------------------

def _shard_map_jvp(primals, tangents, *, jaxpr, mesh, in_specs, out_specs, manual_axes):
    nz = [n and is_diff_dtype(aval_of(p).dtype) for n, p in zip(nonzero_mask(tangents), primals)]
    J, consts, out_nz, in_nz = jvp_sub(jaxpr, nz, False)
    body = _body(J)
    tin = [instantiate(t, aval_of(p)) for t, p, n in zip(tangents, primals, in_nz) if n]
    specs = [_REPLICATED] * len(consts) + list(in_specs) + \
        [s for s, n in zip(in_specs, in_nz) if n]
    o_specs = list(out_specs) + [s for s, n in zip(out_specs, out_nz) if n]
    outs = _bind(list(consts) + list(primals) + tin, body, mesh, specs, o_specs, manual_axes)
    n = len(out_specs)
    it = iter(outs[n:])
    out_avals = [aval_of(o) for o in outs[:n]]
    return outs[:n], [next(it) if o else Zero(a) for o, a in zip(out_nz, out_avals)]


JVP[_sm.shard_map] = _shard_map_jvp


# --- partial evaluation ---------------------------------------------------------------------

def _stacked_spec(manual_axes) -> PartitionSpec:
    """A new leading axis split over every manual axis: one entry per device."""
    return PartitionSpec(manual_axes if len(manual_axes) > 1 else manual_axes[0])


def _shard_map_partial_eval(eqn, unknowns):
    if all(unknowns):
        return [], [eqn]
    p = eqn.params
    mesh, axes = p["mesh"], p["manual_axes"]
    in_specs, out_specs = p["in_specs"], p["out_specs"]
    perm = [i for i, u in enumerate(unknowns) if not u] + [i for i, u in enumerate(unknowns) if u]
    n_known = sum(not u for u in unknowns)
    K, L, n_res, out_known = partial_eval(permute(p["jaxpr"], perm), n_known)
    if K.consts:
        raise NotImplementedError("internal error: partial evaluation of a shard_map body "
                                  "created consts")
    k = K.jaxpr
    k_in_outer = [a for a, u in zip(eqn.invars, unknowns) if not u]
    k_in_specs = [s for s, u in zip(in_specs, unknowns) if not u]
    u_in_outer = [a for a, u in zip(eqn.invars, unknowns) if u]
    u_in_specs = [s for s, u in zip(in_specs, unknowns) if u]
    n_kout = len(k.outvars) - n_res
    res = list(L.invars[:n_res])
    where_in = {v: i for i, v in enumerate(k.invars)}
    stacked = _stacked_spec(axes)
    n_dev = math.prod(mesh.shape[n] for n in axes)
    # residuals: known inputs of the body are passed on as they are; the rest are stacked
    k_eqns, k_res_outs, stacked_outer = list(k.eqns), [], []
    l_invars, l_eqns, res_outer, res_specs = [], [], [], []
    for r in res:
        if r in where_in:
            i = where_in[r]
            l_invars.append(r)
            res_outer.append(k_in_outer[i])
            res_specs.append(k_in_specs[i])
            continue
        a = r.aval
        one = Var(a.update(shape=(1,) + a.shape))
        k_eqns.append(Eqn(ops.reshape, [r], [one], {"new_sizes": one.aval.shape}, eqn.source))
        k_res_outs.append(one)
        inner = Var(one.aval)
        l_invars.append(inner)
        l_eqns.append(Eqn(ops.reshape, [inner], [r], {"new_sizes": a.shape}, eqn.source))
        outer = Var(a.update(shape=(n_dev,) + a.shape))
        stacked_outer.append(outer)
        res_outer.append(outer)
        res_specs.append(stacked)
    k_outs = [v for v, kn in zip(eqn.outvars, out_known) if kn]
    k_out_specs = [s for s, kn in zip(out_specs, out_known) if kn]
    u_outs = [v for v, kn in zip(eqn.outvars, out_known) if not kn]
    known = []
    if k_outs or stacked_outer:
        Kb = intern_jaxpr(passes.dce(Jaxpr([], k.invars, k_eqns,
                                           list(k.outvars[:n_kout]) + k_res_outs)))
        known.append(Eqn(_sm.shard_map, k_in_outer, k_outs + stacked_outer,
                         dict(p, jaxpr=Kb, in_specs=tuple(k_in_specs),
                              out_specs=tuple(k_out_specs) + (stacked,) * len(stacked_outer)),
                         eqn.source))
    if not u_outs:
        return known, []
    Lb = intern_jaxpr(Jaxpr([], l_invars + list(L.invars[n_res:]), l_eqns + list(L.eqns),
                            L.outvars))
    unknown = Eqn(_sm.shard_map, res_outer + u_in_outer, u_outs,
                  dict(p, jaxpr=Lb, in_specs=tuple(res_specs) + tuple(u_in_specs),
                       out_specs=tuple(s for s, kn in zip(out_specs, out_known) if not kn)),
                  eqn.source)
    return known, [unknown]


PARTIAL_EVAL[_sm.shard_map] = _shard_map_partial_eval


# --- transpose ------------------------------------------------------------------------------

def _shard_map_t(cts, *args, jaxpr, mesh, in_specs, out_specs, manual_axes):
    lin = [type(a) is LinearIn for a in args]
    nonlin = [a for a in args if type(a) is not LinearIn]
    nl_specs = [s for s, l in zip(in_specs, lin) if not l]
    lin_specs = [s for s, l in zip(in_specs, lin) if l]
    perm = [i for i, l in enumerate(lin) if not l] + [i for i, l in enumerate(lin) if l]
    out_avals = list(jaxpr.out_avals)
    T = transpose_linear(permute(jaxpr, perm).jaxpr, len(nonlin), out_avals)
    rep_out = [math.prod(mesh.shape[n] for n in _sm.unmentioned(s, manual_axes))
               for s in out_specs]
    rep_in = [tuple(n for n in _sm.unmentioned(s, manual_axes) if mesh.shape[n] > 1)
              for s in lin_specs]   # a psum over axes of size 1 is the identity

    def body(*xs):
        nl, cs = list(xs[:len(nonlin)]), list(xs[len(nonlin):])
        cs = [c if r == 1 else lax.div(c, float(r)) for c, r in zip(cs, rep_out)]
        outs = eval_jaxpr(T.jaxpr, T.consts, nl + cs)
        return [o if not names else bind(_psum, o, axis_name=names)
                for o, names in zip(outs, rep_in)]

    nl_avals = [v.aval for v, l in zip(jaxpr.jaxpr.invars, lin) if not l]
    B, consts = hoist_consts(passes.simplify(_trace(body, nl_avals + out_avals)))
    gcts = [instantiate(c, _sm.global_aval(mesh, s, a))
            for c, s, a in zip(cts, out_specs, out_avals)]
    outs = _bind(list(consts) + nonlin + gcts, B, mesh,
                 [_REPLICATED] * len(consts) + nl_specs + list(out_specs), lin_specs,
                 manual_axes)
    it = iter(outs)
    return [next(it) if l else None for l in lin]


TRANSPOSE[_sm.shard_map] = _shard_map_t


# --- batching -------------------------------------------------------------------------------

def _with_batch(spec) -> PartitionSpec:
    return PartitionSpec(None, *spec)


def _shard_map_batch(ax, args, dims, *, jaxpr, mesh, in_specs, out_specs, manual_axes):
    args = [x if d in (None, 0) else moveaxis(x, d, 0) for x, d in zip(args, dims)]
    in_dims = [None if d is None else 0 for d in dims]
    _, natural = batch_subjaxpr(jaxpr, in_dims, ax)
    want = [None if d is None else 0 for d in natural]
    new, _ = batch_subjaxpr(jaxpr, in_dims, ax, want)
    specs = [s if d is None else _with_batch(s) for s, d in zip(in_specs, in_dims)]
    o_specs = [s if d is None else _with_batch(s) for s, d in zip(out_specs, want)]
    outs = _bind(args, intern_jaxpr(new.jaxpr), mesh, specs, o_specs, manual_axes)
    return list(outs), want


RULES[_sm.shard_map] = _shard_map_batch


# --- dead code ------------------------------------------------------------------------------

def _shard_map_dce(eqn, used):
    """Drop unused outputs, and the operands the pruned body no longer reads."""
    p = eqn.params
    j, reads = passes._sub_dce(p["jaxpr"], list(used))
    if all(used) and all(reads):
        return None
    body = intern_jaxpr(Jaxpr([], [v for v, r in zip(j.invars, reads) if r], j.eqns,
                              j.outvars))
    return (dict(p, jaxpr=body,
                 in_specs=tuple(s for s, r in zip(p["in_specs"], reads) if r),
                 out_specs=tuple(s for s, u in zip(p["out_specs"], used) if u)),
            reads, list(used))


passes.DCE_RULES[_sm.shard_map] = _shard_map_dce
