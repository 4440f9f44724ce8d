"""Lowering of ``sharding_constraint`` (primitives/sharding.py): an
``sdy.sharding_constraint`` that tells XLA's partitioner (Shardy) how to lay the value
out; the mesh it names is declared at the top of the module (``emitter.mesh_symbol``)."""
from __future__ import annotations

from primitives import sharding as _sh

from ..emitter import RULES, in_avals_of, out_avals_of, sdy_sharding


def _constraint(ctx, eqn, args):
    s = eqn.params["sharding"]
    a = in_avals_of(eqn)[0]
    return ctx.op("sdy.sharding_constraint", args, [a], out_avals_of(eqn),
                  f"sharding = {sdy_sharding(s.mesh, s.spec, a.ndim)}")


RULES[_sh.sharding_constraint] = _constraint
