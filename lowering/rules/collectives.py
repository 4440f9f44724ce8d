"""Lowering rules of the ``collective`` family (primitives/collectives.py): ``psum``,
``pmax``, ``pmin``, ``all_gather``, ``axis_index``.

Inside ``vmap(..., axis_name=...)`` every collective is rewritten by its batching rule
into an ordinary reduction before lowering.  One that reaches the lowering is outside
any mapped axis, where there is nothing to lower it to yet: its rule says so clearly."""
from __future__ import annotations

from primitives import collectives as _coll

from ..emitter import RULES


def _unmapped(prim):
    def rule(ctx, eqn, args):
        raise NotImplementedError(
            f"{prim.name}[axis_name={eqn.params['axis_name']}] reached the StableHLO "
            f"lowering: collectives are only supported inside vmap(..., axis_name=...) "
            f"for now (shard_map lowering is not implemented yet)")
    return rule


for _p in _coll.collective.values():
    RULES[_p] = _unmapped(_p)
