"""The emitter of the ``checkpoint`` meta-operator (primitives/remat.py): trace a function
and bind one ``checkpoint`` equation holding its jaxpr.  ``xform.checkpoint`` (the API)
and the rules that checkpoint a segment of a loop both emit through here."""
from __future__ import annotations

from primitives import remat as remat_ops
from primitives.irutil import hoist_consts

from ..core.pytree import tree_flatten, tree_unflatten
from ..core.trace import leaf_aval, trace_to_jaxpr
from .. import passes
from ..core import bind


def checkpoint_call(fun, leaves, in_tree, policy, prevent_cse: bool):
    """Bind ``checkpoint`` over ``fun`` traced at ``leaves`` (flattened with ``in_tree``);
    returns (flat outputs, output tree)."""
    avals = [leaf_aval(x, f"checkpoint: argument leaf {i}") for i, x in enumerate(leaves)]
    closed, out_tree = trace_to_jaxpr(fun, avals, in_tree, context="checkpoint")
    body, consts = hoist_consts(passes.simplify(closed))
    outs = bind(remat_ops.checkpoint, *consts, *leaves, jaxpr=body, policy=policy,
                prevent_cse=prevent_cse, differentiated=False)
    return outs, out_tree


def checkpointed(fun, *, prevent_cse: bool = True, policy=None):
    """``fun`` (positional array arguments, any pytree output) as one ``checkpoint``
    equation, always (no eager shortcut: for use inside transformation rules)."""
    def wrapped(*args):
        leaves, in_tree = tree_flatten((args, {}))
        outs, out_tree = checkpoint_call(fun, leaves, in_tree, policy, prevent_cse)
        return tree_unflatten(out_tree, outs)
    return wrapped
