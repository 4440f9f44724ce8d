"""``xform.tree`` (as ``jax.tree``): short names for the pytree utilities."""
import dataclasses as _dataclasses

from .tree_util import (tree_map as map, tree_flatten as flatten, tree_unflatten as unflatten,
                        tree_leaves as leaves, tree_structure as structure, tree_all as all,
                        tree_reduce as reduce, tree_flatten_with_path as flatten_with_path,
                        tree_leaves_with_path as leaves_with_path,
                        tree_map_with_path as map_with_path, tree_broadcast as broadcast,
                        tree_reduce_associative as reduce_associative,
                        tree_transpose as transpose)

__all__ = ["all", "broadcast", "flatten", "flatten_with_path", "leaves", "leaves_with_path",
           "map", "map_with_path", "reduce", "reduce_associative", "static", "structure",
           "transpose", "unflatten"]


def static(**kwargs):
    """``dataclasses.field(**kwargs)`` marked ``metadata={"static": True}``: a field that
    ``register_dataclass`` (without explicit field lists) makes aux data, not a child."""
    metadata = {"static": True, **(kwargs.pop("metadata", None) or {})}
    return _dataclasses.field(metadata=metadata, **kwargs)
