"""Pytrees: nested containers whose leaves are arrays.

Containers: tuple, list, dict (keys sorted), None (no leaves), namedtuples,
dataclasses, and anything registered with ``register_pytree_node``.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, NamedTuple

from primitives.lru import LRU


class _NodeType(NamedTuple):
    flatten: Callable     # node -> (children, aux_data)
    unflatten: Callable   # (aux_data, children) -> node


_registry: dict[type, _NodeType] = {
    tuple: _NodeType(lambda t: (t, None), lambda _, c: tuple(c)),
    list: _NodeType(lambda l: (l, None), lambda _, c: list(c)),
    type(None): _NodeType(lambda n: ((), None), lambda _, c: None),
}


def _dict_flatten(d):
    keys = sorted(d)
    return [d[k] for k in keys], tuple(keys)


def _dict_unflatten(keys, children):
    return dict(zip(keys, children))


_registry[dict] = _NodeType(_dict_flatten, _dict_unflatten)


def register_pytree_node(nodetype: type, flatten_func: Callable, unflatten_func: Callable) -> None:
    """Register ``nodetype``: ``flatten_func(x) -> (children, aux)``,
    ``unflatten_func(aux, children) -> x``."""
    _registry[nodetype] = _NodeType(flatten_func, unflatten_func)
    _LEAF_TYPES.discard(nodetype)


def register_pytree_node_class(cls):
    """Class decorator: the class defines ``tree_flatten`` and classmethod ``tree_unflatten``."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(cls, data_fields=None, meta_fields=None):
    fields = dataclasses.fields(cls)
    if data_fields is None:
        meta_fields = tuple(meta_fields or ())
        data_fields = tuple(f.name for f in fields if f.name not in meta_fields)
    meta_fields = tuple(meta_fields or ())
    data_fields = tuple(data_fields)

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def unflatten(meta, children):
        return cls(**dict(zip(data_fields, children)), **dict(zip(meta_fields, meta)))
    register_pytree_node(cls, flatten, unflatten)
    return cls


_LEAF_TYPES: set = set()   # types seen to be leaves (forgotten when a type is registered)


def _lookup(t: type):
    node = _registry.get(t)
    if node is not None:
        return node
    if t in _LEAF_TYPES:
        return None
    if issubclass(t, tuple) and hasattr(t, "_fields"):  # namedtuple
        node = _NodeType(lambda x: (tuple(x), None), lambda _, c, t=t: t(*c))
    elif dataclasses.is_dataclass(t):
        names = [f.name for f in dataclasses.fields(t) if f.init]
        node = _NodeType(lambda x: ([getattr(x, n) for n in names], None),
                         lambda _, c, t=t: t(**dict(zip(names, c))))
    else:
        _LEAF_TYPES.add(t)
        return None
    _registry[t] = node
    return node


class PyTreeDef:
    """The structure of a pytree: node type, aux data and children structures."""

    __slots__ = ("node_type", "aux", "children", "num_leaves", "_hash")

    def __init__(self, node_type, aux, children):
        self.node_type = node_type
        self.aux = aux
        self.children = children
        self.num_leaves = 1 if node_type is None else sum(c.num_leaves for c in children)
        self._hash = None

    def __eq__(self, other):
        if self is other:
            return True
        return (isinstance(other, PyTreeDef) and self.node_type is other.node_type
                and self.aux == other.aux and self.children == other.children)

    def __hash__(self):
        if self._hash is None:
            try:
                self._hash = hash((self.node_type, self.aux, self.children))
            except TypeError:
                self._hash = hash((self.node_type, id(self.aux), self.children))
        return self._hash

    @property
    def num_nodes(self):
        return 1 + sum(c.num_nodes for c in self.children)

    def unflatten(self, leaves):
        return tree_unflatten(self, leaves)

    def __repr__(self):
        return f"PyTreeDef({self._body()})"   # as JAX prints it

    def _body(self):
        if self.node_type is None:
            return "*"
        inner = ", ".join(c._body() for c in self.children)
        name = self.node_type.__name__
        if self.node_type is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if self.node_type is list:
            return f"[{inner}]"
        if self.node_type is dict:
            return "{" + ", ".join(f"{k!r}: {c._body()}" for k, c in zip(self.aux, self.children)) + "}"
        if self.node_type is type(None):
            return "None"
        return f"{name}({inner})"


LEAF = PyTreeDef(None, None, ())
_NONE_DEF = PyTreeDef(type(None), None, ())


_interned_lru = LRU("pytree structures")   # hits read the plain dict (primitives/lru.py)
_interned = _interned_lru.data


def _treedef(t, aux, children) -> PyTreeDef:
    """One shared PyTreeDef per structure, so cache keys compare by identity."""
    key = (t, aux, children)
    try:
        td = _interned.get(key)
    except TypeError:  # unhashable aux data
        return PyTreeDef(t, aux, children)
    if td is None:
        td = _interned_lru.put(key, PyTreeDef(t, aux, children))
    return td


_flat_seq_lru = LRU("flat sequence structures")
_flat_seq_defs = _flat_seq_lru.data


def _flat_seq_def(t, n) -> PyTreeDef:
    td = _flat_seq_defs.get((t, n))
    if td is None:
        td = _flat_seq_lru.put((t, n), _treedef(t, None, (LEAF,) * n))
    return td


def _flatten(x, leaves, is_leaf):
    t = type(x)
    if is_leaf is not None:
        if is_leaf(x):
            leaves.append(x)
            return LEAF
    elif t is tuple or t is list:  # hot path (jit arguments): a sequence of leaves
        for c in x:
            if type(c) not in _LEAF_TYPES:
                break
        else:
            leaves.extend(x)
            return _flat_seq_def(t, len(x))
    if t in _LEAF_TYPES:
        leaves.append(x)
        return LEAF
    if x is None:
        return _NONE_DEF
    node = _registry.get(t) or _lookup(t)
    if node is None:
        leaves.append(x)
        return LEAF
    children, aux = node.flatten(x)
    return _treedef(t, aux, tuple([_flatten(c, leaves, is_leaf) for c in children]))


def tree_flatten(tree, is_leaf: Callable | None = None):
    leaves: list = []
    return leaves, _flatten(tree, leaves, is_leaf)


def tree_unflatten(treedef: PyTreeDef, leaves):
    it = iter(leaves)
    out = _unflatten(treedef, it)
    return out


def _unflatten(td, it):
    if td.node_type is None:
        return next(it)
    node = _registry.get(td.node_type) or _lookup(td.node_type)
    return node.unflatten(td.aux, [_unflatten(c, it) for c in td.children])


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f: Callable, tree, *rest, is_leaf=None):
    leaves, td = tree_flatten(tree, is_leaf)
    others = [_flatten_like(td, r) for r in rest]
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])


def _flatten_like(td: PyTreeDef, tree):
    """Leaves of ``tree`` at the leaf positions of ``td`` (``tree`` may be deeper there)."""
    out: list = []

    def go(t, x):
        if t.node_type is None:
            out.append(x)
            return
        if type(x) is not t.node_type and not (t.node_type is type(None) and x is None):
            raise ValueError(f"pytree structure mismatch: expected {t!r}, got {type(x).__name__}")
        children, aux = (_registry.get(t.node_type) or _lookup(t.node_type)).flatten(x)
        if len(children) != len(t.children) or aux != t.aux:
            raise ValueError(f"pytree structure mismatch: expected {t!r}, got {x!r}")
        for c, xc in zip(t.children, children):
            go(c, xc)
    go(td, tree)
    return out


def flatten_up_to(td: PyTreeDef, tree):
    return _flatten_like(td, tree)


def _child_keys(td: PyTreeDef) -> list[str]:
    """How a path names each child of node ``td``: ``['w']``, ``.field`` or ``[0]``."""
    if td.node_type is dict:
        return [f"[{k!r}]" for k in td.aux]
    if isinstance(td.aux, tuple) and td.aux and len(td.aux) == len(td.children) and \
            all(isinstance(a, str) for a in td.aux):
        return [f".{a}" for a in td.aux]          # namedtuple-like nodes
    return [f"[{i}]" for i in range(len(td.children))]


def leaf_paths(td: PyTreeDef, path: str = "") -> list[str]:
    """``path`` extended to each leaf of ``td`` (``"[0]['w']"``, ...), for messages."""
    if td.node_type is None:
        return [path]
    out: list = []
    for c, k in zip(td.children, _child_keys(td)):
        out.extend(leaf_paths(c, path + k))
    return out


def broadcast_prefix(prefix, td: PyTreeDef, is_entry: Callable, what: str) -> list:
    """One entry per leaf of structure ``td``, from ``prefix``: a pytree prefix of ``td``
    whose leaves are entries (``is_entry(x)``; each covers the whole subtree it sits
    at).  How ``jit(in_shardings=)`` and ``shard_map(in_specs=)`` read their argument
    (the treedef is the arguments', so ``None`` there is an entry, not an empty node).
    A mismatch raises ``ValueError`` naming ``what`` and the path where it happens."""
    out: list = []

    def go(p, t, path):
        if is_entry(p):
            out.extend([p] * t.num_leaves)
            return
        node = None if t.node_type is None else (_registry.get(t.node_type) or
                                                 _lookup(t.node_type))
        if node is None or type(p) is not t.node_type:
            raise ValueError(
                f"{what} must be a pytree prefix of the value it describes: at "
                f"{path or 'the top level'} it is {p!r:.80} ({type(p).__name__}), but the "
                f"value there is {t!r:.80}")
        children, aux = node.flatten(p)
        children = list(children)
        if len(children) != len(t.children) or aux != t.aux:
            raise ValueError(
                f"{what} must be a pytree prefix of the value it describes: at "
                f"{path or 'the top level'} it has {len(children)} entries, the value "
                f"{len(t.children)} ({t!r:.80})")
        for c, tc, k in zip(children, t.children, _child_keys(t)):
            go(c, tc, path + k)
    go(prefix, td, "")
    return out


def tree_all(tree):
    return all(tree_leaves(tree))


def tree_reduce(f, tree, *initializer):
    return functools.reduce(f, tree_leaves(tree), *initializer)


def treedef_children(td: PyTreeDef):
    return list(td.children)


def treedef_is_leaf(td: PyTreeDef) -> bool:
    return td.node_type is None


class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree: its bound args are leaves."""

    def __new__(cls, func, *args, **kw):
        return super().__new__(cls, func, *args, **kw)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, c: Partial(func, *c[0], **c[1]))


def all_leaves(iterable, is_leaf=None):
    return all(tree_structure(x, is_leaf) == LEAF for x in iterable)
