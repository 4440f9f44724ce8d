"""``xform.tree_util`` (as ``jax.tree_util``): the public face of ``xform.core.pytree``,
plus the utilities built on it (broadcast, transpose, associative reduce) and
``default_registry``, xform's one (C++) pytree registry."""
from __future__ import annotations

from typing import Callable

from .core.pytree import (  # noqa: F401
    REGISTRY, DictKey, FlattenedIndexKey, GetAttrKey, KeyEntry, KeyPath, Partial, PyTreeDef,
    SequenceKey, _NO_INIT, _flatten_rest, all_leaves, flatten_one_level,
    flatten_one_level_with_keys, flatten_up_to, is_tree_node, keystr, register_dataclass,
    register_pytree_node, register_pytree_node_class, register_pytree_with_keys,
    register_pytree_with_keys_class, register_static, tree_all, tree_flatten,
    tree_flatten_with_path, tree_leaves, tree_leaves_with_path, tree_map, tree_map_with_path,
    tree_reduce, tree_structure, tree_unflatten, treedef_children, treedef_is_leaf,
    treedef_tuple)

def tree_reduce_associative(operation: Callable, tree, *, identity=_NO_INIT, is_leaf=None):
    """Reduce the leaves with an associative ``operation`` as a balanced tree (halves,
    recursively); ``identity`` is returned for a tree without leaves."""
    leaves = tree_leaves(tree, is_leaf)
    if not leaves:
        if identity is _NO_INIT:
            raise TypeError("Must specify identity for parallel reduction of empty sequence.")
        return identity

    def go(lo, hi):
        if hi - lo == 1:
            return leaves[lo]
        mid = lo + (hi - lo) // 2
        return operation(go(lo, mid), go(mid, hi))
    return go(0, len(leaves))


def tree_broadcast(prefix_tree, full_tree, is_leaf=None):
    """``full_tree``'s structure, each leaf the ``prefix_tree`` leaf above it."""
    leaves, td = tree_flatten(prefix_tree, is_leaf)
    subtrees = _flatten_rest("broadcast_prefix prefix_tree", td, prefix_tree, (full_tree,),
                             is_leaf)[0]
    out: list = []
    for x, sub in zip(leaves, subtrees):
        out.extend([x] * tree_structure(sub).num_leaves)
    return tree_unflatten(tree_structure(full_tree), out)


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None,
                   pytree_to_transpose):
    """An ``outer`` tree of ``inner`` trees, turned into an ``inner`` tree of ``outer``
    trees (``inner_treedef=None``: read from the first outer leaf)."""
    flat, td = tree_flatten(pytree_to_transpose)
    if inner_treedef is None:
        inner_treedef = tree_structure(outer_treedef.flatten_up_to(pytree_to_transpose)[0])
    n_in, n_out = inner_treedef.num_leaves, outer_treedef.num_leaves
    if td.num_leaves != n_in * n_out:
        raise TypeError(f"Mismatch\n{td}\n != \n{outer_treedef.compose(inner_treedef)}")
    rows = [flat[i * n_in:(i + 1) * n_in] for i in range(n_out)]
    return tree_unflatten(inner_treedef,
                          [tree_unflatten(outer_treedef, col) for col in zip(*rows)])


# jaxlib's C++ registry object itself (flatten, flatten_with_path, flatten_one_level*,
# is_node, register_node, register_dataclass_node), as jax.tree_util.default_registry is
default_registry = REGISTRY
