"""``with_sharding_constraint``: tell XLA's partitioner how to lay out a value inside a
jitted program (as ``jax.lax.with_sharding_constraint``)."""
from __future__ import annotations

from primitives import sharding as _sh

from ..core import bind, where
from ..core.pytree import broadcast_prefix, tree_flatten, tree_unflatten


def _is_entry(x) -> bool:
    return isinstance(x, (_sh.Sharding, _sh.PartitionSpec))


def with_sharding_constraint(x, shardings):
    """``x`` (a pytree of arrays), each leaf laid out as its entry of ``shardings`` (a
    pytree prefix of ``x`` of ``NamedSharding``s, or of ``PartitionSpec``s inside
    ``with mesh:``).  The values do not change; under ``jit`` the partitioner splits
    the program to match, and called eagerly the arrays are moved into that layout."""
    leaves, tree = tree_flatten(x)
    what = "with_sharding_constraint: shardings"
    try:
        entries = broadcast_prefix(shardings, tree, _is_entry, what)
    except ValueError as e:
        raise ValueError(f"{e}{where()}") from None
    outs = []
    for i, (leaf, s) in enumerate(zip(leaves, entries)):
        if isinstance(s, _sh.PartitionSpec):
            mesh = _sh.context_mesh()
            if mesh is None:
                raise ValueError(f"{what}: a bare {s} needs a mesh: pass NamedSharding(mesh, "
                                 f"spec), or call inside `with mesh:`{where()}")
            s = _sh.NamedSharding(mesh, s)
        elif not isinstance(s, _sh.NamedSharding):
            raise TypeError(f"{what}: leaf {i}: expected a NamedSharding or PartitionSpec, "
                            f"got {type(s).__name__}{where()}")
        outs.append(bind(_sh.sharding_constraint, leaf, sharding=s))
    return tree_unflatten(tree, outs)
