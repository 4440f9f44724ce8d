"""``xform.tree_util`` (as ``jax.tree_util``): the public face of ``xform.core.pytree``."""
from .core.pytree import (  # noqa: F401
    Partial, PyTreeDef, all_leaves, flatten_up_to, register_dataclass, register_pytree_node,
    register_pytree_node_class, tree_all, tree_flatten, tree_leaves, tree_map, tree_reduce,
    tree_structure, tree_unflatten, treedef_children, treedef_is_leaf)
