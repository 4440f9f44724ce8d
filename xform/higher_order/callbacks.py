"""Host callbacks (primitives/callback.py) under every transform, side by side.

* JVP: an ``io_callback`` without results (``debug.print``, ``debug.callback``) is called
  on the primal values and has no tangent; a callback with results has no derivative
  (as in JAX: wrap it in ``custom_jvp``/``custom_vjp``), so a nonzero tangent reaching
  one is an error that says so.  Because the call takes primals only, reverse mode
  keeps it in the forward (primal) program: it runs once per ``grad`` call, with the
  primal values, and never in the backward pass.
* Transpose: a callback never takes a tangent, so it is never transposed; reaching the
  rule means a callback printed a tangent (e.g. inside a ``custom_jvp`` rule), which
  reverse mode cannot run: a clear error.
* Batching: ``io_callback`` runs once per batch element, in index order (a scan over
  the batch), also when ``ordered`` (JAX refuses that; the order is well defined).
  ``pure_callback`` follows its ``vmap_method`` as JAX documents: ``sequential`` (a scan),
  ``sequential_unrolled`` (one call per element, unrolled), ``expand_dims`` (unbatched
  operands get a leading axis of size 1), ``broadcast_all`` (they are broadcast to the
  batch size), ``legacy_vectorized`` (one call on the batched operands as they are);
  None is an error under ``vmap``, as in JAX 0.10.
"""
from __future__ import annotations

from primitives import callback as _cb

from ..transforms.batching import RULES, batched_aval, moveaxis, sequential
from ..transforms.jvp import JVP
from ..transforms.transpose import TRANSPOSE
from .. import lax
from ..core import bind


def _name(cb) -> str:
    return f"{cb.kind}_callback {cb.name}{cb.where()}"


# --- JVP ----------------------------------------------------------------------------------------

def _io_jvp(primals, tangents, *, callback, result_avals, ordered):
    if result_avals:
        raise TypeError(
            f"{_name(callback)} returns values and has no derivative; to differentiate "
            f"through it, wrap it in xform.custom_jvp or xform.custom_vjp")
    bind(_cb.io_callback, *primals, callback=callback, result_avals=result_avals,
         ordered=ordered)
    return [], []


def _pure_jvp(primals, tangents, *, callback, result_avals, vmap_method):
    raise TypeError(
        f"{_name(callback)} has no derivative (pure callbacks do not support JVP); wrap "
        f"the function that calls it in xform.custom_jvp or xform.custom_vjp and give "
        f"its derivative there")


JVP[_cb.io_callback] = _io_jvp
JVP[_cb.pure_callback] = _pure_jvp


def _no_transpose(cts, *args, callback, result_avals, **_):
    raise TypeError(
        f"{_name(callback)} was given a value that depends on a tangent (for example, "
        f"debug.print of the tangent inside a custom_jvp rule); reverse mode (grad, vjp) "
        f"cannot run it backwards.  Print primal values, or use jvp (forward mode)")


TRANSPOSE[_cb.io_callback] = _no_transpose
TRANSPOSE[_cb.pure_callback] = _no_transpose


# --- batching ------------------------------------------------------------------------------------

def _io_rule(ax, args, dims, **params):
    return sequential(_cb.io_callback, ax, args, dims, params, len(params["result_avals"]))


def _pure_rule(ax, args, dims, *, callback, result_avals, vmap_method):
    params = dict(callback=callback, result_avals=result_avals, vmap_method=vmap_method)
    if vmap_method is None:
        raise NotImplementedError(
            f"vmap of {_name(callback)}: pass vmap_method= to pure_callback to say how it "
            f"batches ('sequential', 'sequential_unrolled', 'expand_dims', 'broadcast_all' "
            f"or 'legacy_vectorized'), as in JAX")
    if vmap_method in ("sequential", "sequential_unrolled"):
        return sequential(_cb.pure_callback, ax, args, dims, params, len(result_avals),
                          unrolled=vmap_method == "sequential_unrolled")
    moved = [x if d is None else moveaxis(x, d, 0) for x, d in zip(args, dims)]
    if vmap_method in ("expand_dims", "broadcast_all"):
        size = ax.size if vmap_method == "broadcast_all" else 1
        moved = [lax.broadcast(x, (size,)) if d is None else x for x, d in zip(moved, dims)]
    out_avals = tuple(batched_aval(a, 0, ax.size) for a in result_avals)
    outs = bind(_cb.pure_callback, *moved, callback=callback, result_avals=out_avals,
                vmap_method=vmap_method)
    return list(outs), [0] * len(outs)


RULES[_cb.io_callback] = _io_rule
RULES[_cb.pure_callback] = _pure_rule

