"""Lowering of ``shard_map`` (primitives/shard_map.py): an ``sdy.manual_computation``.

Its region is the body, lowered on local types; the operands' and results' layouts are
``#sdy.sharding_per_value`` lists over the mesh (declared at the top of the module by
``emitter.mesh_symbol``), and ``manual_axes`` names the axes the body runs per device
over.  While the body is lowered, ``emitter.in_manual`` tells the collectives' rules the
mesh and axes they run among.  With some mesh axes left automatic, every dimension is
written open (``{"x", ?}``), so that XLA's partitioner may also split it over those axes,
as JAX writes it."""
from __future__ import annotations

from primitives import shard_map as _sm

from ..emitter import RULES, Ctx, in_avals_of, in_manual, lower_jaxpr_body, mesh_symbol, ttype


def _dims(spec, ndim: int, open_: bool) -> str:
    entries = tuple(spec) + (None,) * (ndim - len(spec))
    out = []
    for e in entries[:ndim]:
        names = [f'"{n}"' for n in _sm.spec_names(e)]
        if open_:
            names.append("?")
        out.append("{" + ", ".join(names) + "}")
    return "[" + ", ".join(out) + "]"


def _per_value(mesh, specs, avals, open_: bool) -> str:
    sym = mesh_symbol(mesh)
    return "#sdy.sharding_per_value<[" + ", ".join(
        f"<{sym}, {_dims(s, a.ndim, open_)}>" for s, a in zip(specs, avals)) + "]>"


def _shard_map_lower(ctx, eqn, args):
    p = eqn.params
    mesh, axes, body = p["mesh"], p["manual_axes"], p["jaxpr"].jaxpr
    open_ = len(axes) < len(mesh.axis_names)
    in_avals = in_avals_of(eqn)
    out_avals = [v.aval for v in eqn.outvars]
    local_in = [v.aval for v in body.invars]
    local_out = [a.aval for a in body.outvars]
    # the region: block arguments are the local pieces; it ends in ``sdy.return``
    sub = Ctx(ctx.counter)
    sub.indent = ctx.indent + "    "
    names = [sub.fresh() for _ in local_in]
    with in_manual(mesh, axes):
        outs = lower_jaxpr_body(sub, body, [], names)
    sub.lines.append(f'{sub.indent}"sdy.return"({", ".join(outs)}) : '
                     f'({", ".join(ttype(a) for a in local_out)}) -> ()')
    head = ", ".join(f"{n}: {ttype(a)}" for n, a in zip(names, local_in))
    region = "{\n" + f"{ctx.indent}  ^bb0({head}):\n" + "\n".join(sub.lines) + \
        f"\n{ctx.indent}}}"
    manual = ", ".join(f'"{n}"' for n in axes)
    attrs = (f"in_shardings = {_per_value(mesh, p['in_specs'], in_avals, open_)}, "
             f"manual_axes = #sdy<manual_axes{{{manual}}}>, "
             f"out_shardings = {_per_value(mesh, p['out_specs'], out_avals, open_)}")
    return ctx.op("sdy.manual_computation", args, in_avals, out_avals, attrs, [region])


RULES[_sm.shard_map] = _shard_map_lower
