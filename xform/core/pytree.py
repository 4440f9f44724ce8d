"""Pytrees: nested containers whose leaves are arrays.

Containers: tuple, list, dict (keys sorted), None (no leaves), namedtuples,
dataclasses, ``OrderedDict``/``defaultdict``, and anything registered with
``register_pytree_node`` (or ``register_pytree_with_keys``, ``register_dataclass``,
``register_static``).

Key paths (``tree_flatten_with_path``) name each child as JAX does: ``DictKey`` for
dict keys, ``SequenceKey`` for list/tuple positions, ``GetAttrKey`` for namedtuple and
dataclass fields, ``FlattenedIndexKey`` for nodes registered without keys.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import operator
import textwrap
from collections import OrderedDict, defaultdict
from typing import Any, Callable, NamedTuple, TypeVar

from primitives.lru import LRU


# ---- key entries: how a key path names one child (printed as JAX prints them) ----

def _c_int(v, cls: str, arg: str) -> int:
    try:
        i = operator.index(v)
    except TypeError:
        i = None
    if i is None or not -2**31 <= i < 2**31:
        raise TypeError(f"{cls}(): {arg} must be an int (C int range), got {v!r}")
    return int(i)


class _Key:
    __slots__ = ("_v",)

    def __reduce__(self):
        return type(self), (self._v,)

    def __eq__(self, other):
        return isinstance(other, type(self)._base) and self._v == other._v

    def __ne__(self, other):
        return not self == other


class DictKey(_Key):
    """The key of a dict entry: ``DictKey(key='a')``, printed in a path as ``['a']``."""
    __slots__ = ()
    __match_args__ = ("key",)

    def __init__(self, key: Any):
        self._v = key

    key = property(lambda self: self._v)
    __str__ = lambda self: f"[{self._v!r}]"
    __repr__ = lambda self: f"DictKey(key={self._v!r})"
    __hash__ = lambda self: hash(self._v)


class SequenceKey(_Key):
    """A list or tuple position: ``SequenceKey(idx=0)``, printed as ``[0]``."""
    __slots__ = ()
    __match_args__ = ("idx",)

    def __init__(self, idx: int):
        self._v = _c_int(idx, "SequenceKey", "idx")

    idx = property(lambda self: self._v)
    __str__ = lambda self: f"[{self._v}]"
    __repr__ = lambda self: f"SequenceKey(idx={self._v})"
    __hash__ = lambda self: hash(self._v + 1)


class GetAttrKey(_Key):
    """A named field (namedtuple, dataclass): ``GetAttrKey(name='x')``, printed ``.x``."""
    __slots__ = ()
    __match_args__ = ("name",)

    def __init__(self, name: str):
        if not isinstance(name, str):
            raise TypeError(f"GetAttrKey(): name must be a str, got {name!r}")
        self._v = name

    name = property(lambda self: self._v)
    __str__ = lambda self: f".{self._v}"
    __repr__ = lambda self: f"GetAttrKey(name={self._v!r})"
    __hash__ = lambda self: hash(self._v)


class FlattenedIndexKey(_Key):
    """The position of a child of a node registered without keys: ``[<flat index 0>]``."""
    __slots__ = ()
    __match_args__ = ("key",)

    def __init__(self, key: int):
        self._v = _c_int(key, "FlattenedIndexKey", "key")

    key = property(lambda self: self._v)
    __str__ = lambda self: f"[<flat index {self._v}>]"
    __repr__ = lambda self: f"FlattenedIndexKey(key={self._v})"
    __hash__ = lambda self: hash(self._v + 42)


for _k in (DictKey, SequenceKey, GetAttrKey, FlattenedIndexKey):
    _k._base = _k
    _k.__module__ = "xform.tree_util"

KeyEntry = TypeVar("KeyEntry", bound=Any)
KeyPath = tuple[KeyEntry, ...]


def keystr(keys, *, simple: bool = False, separator: str = "") -> str:
    """A key path as text: ``"['a'][0].x"``; ``simple=True`` writes each key bare
    (``a``, ``0``, ``x``), joined by ``separator``."""
    if not simple:
        return separator.join(map(str, keys))
    return separator.join(str(k._v) if isinstance(k, _Key) else str(k) for k in keys)


# ---- the registry ----

class _NodeType(NamedTuple):
    flatten: Callable     # node -> (children, aux_data)
    unflatten: Callable   # (aux_data, children) -> node
    flatten_with_keys: Callable | None = None   # node -> ([(key, child)...], aux_data)


_LEAF_TYPES: set = set()   # types seen to be leaves (forgotten when a type is registered)
_NAMEDTUPLES: set = set()  # namedtuple types met (not registered): flatten_one_level's aux


def _seq_keys(x):
    return [(SequenceKey(i), c) for i, c in enumerate(x)], None


_registry: dict[type, _NodeType] = {
    tuple: _NodeType(lambda t: (t, None), lambda _, c: tuple(c), _seq_keys),
    list: _NodeType(lambda l: (l, None), lambda _, c: list(c), _seq_keys),
    type(None): _NodeType(lambda n: ((), None), lambda _, c: None, lambda n: ((), None)),
}


def _dict_flatten(d):
    keys = sorted(d)
    return [d[k] for k in keys], tuple(keys)


def _dict_unflatten(keys, children):
    return dict(zip(keys, children))


def _dict_flatten_with_keys(d):
    keys = sorted(d)
    return [(DictKey(k), d[k]) for k in keys], tuple(keys)


_registry[dict] = _NodeType(_dict_flatten, _dict_unflatten, _dict_flatten_with_keys)


def register_pytree_node(nodetype: type, flatten_func: Callable, unflatten_func: Callable,
                         flatten_with_keys_func: Callable | None = None) -> None:
    """Register ``nodetype``: ``flatten_func(x) -> (children, aux)``,
    ``unflatten_func(aux, children) -> x``; optionally ``flatten_with_keys_func(x) ->
    ([(key, child), ...], aux)`` (else paths name children ``FlattenedIndexKey(i)``)."""
    _registry[nodetype] = _NodeType(flatten_func, unflatten_func, flatten_with_keys_func)
    _LEAF_TYPES.discard(nodetype)
    _NAMEDTUPLES.discard(nodetype)


def register_pytree_node_class(cls):
    """Class decorator: the class defines ``tree_flatten`` and classmethod ``tree_unflatten``."""
    register_pytree_node(cls, operator.methodcaller("tree_flatten"), cls.tree_unflatten)
    return cls


def register_pytree_with_keys(nodetype: type, flatten_with_keys: Callable,
                              unflatten_func: Callable, flatten_func: Callable | None = None):
    """As ``register_pytree_node``, from ``flatten_with_keys(x) -> ([(key, child)...],
    aux)``; ``flatten_func`` (same children and aux, no keys) is optional, for speed."""
    if not flatten_func:
        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_with_keys_class(cls):
    """Class decorator: ``tree_flatten_with_keys``, classmethod ``tree_unflatten`` and
    optionally ``tree_flatten``."""
    flat = operator.methodcaller("tree_flatten") if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(cls, operator.methodcaller("tree_flatten_with_keys"),
                              cls.tree_unflatten, flat)
    return cls


def register_dataclass(nodetype, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a dataclass-like type: ``data_fields`` are children (paths name them
    ``GetAttrKey``), ``meta_fields`` are aux data.  Both omitted (a dataclass only):
    fields with ``metadata={"static": True}`` (``xform.tree.static``) are meta."""
    if data_fields is None or meta_fields is None:
        if (data_fields is None) != (meta_fields is None):
            raise TypeError("register_dataclass: data_fields and meta_fields must both be "
                            f"specified when either is specified. Got {data_fields=} "
                            f"{meta_fields=}.")
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError("register_dataclass: data_fields and meta_fields are required "
                            f"when nodetype is not a dataclass. Got {nodetype=}.")
        fs = dataclasses.fields(nodetype)
        data_fields = [f.name for f in fs if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in fs if f.metadata.get("static", False)]
    meta_fields, data_fields = tuple(meta_fields), tuple(data_fields)
    if dataclasses.is_dataclass(nodetype):
        init = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
        given = {*meta_fields, *data_fields}
        if given != init:
            msg = ("data_fields and meta_fields must include all dataclass fields with "
                   "``init=True`` and only them.")
            if init - given:
                msg += (f" Missing fields: {init - given}. Add them to drop_fields to "
                        "suppress this error.")
            if given - init:
                msg += f" Unexpected fields: {given - init}."
            raise ValueError(msg)
    if set(data_fields) & set(meta_fields):
        raise ValueError("data_fields and meta_fields must not overlap. Overlapping fields:"
                         f" {set(data_fields) & set(meta_fields)}.")
    keys = [GetAttrKey(n) for n in data_fields]

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def flatten_with_keys(x):
        children, meta = flatten(x)
        return list(zip(keys, children)), meta

    def unflatten(meta, children):
        return nodetype(**dict(zip(data_fields, children)), **dict(zip(meta_fields, meta)))
    register_pytree_node(nodetype, flatten, unflatten, flatten_with_keys)
    return nodetype


def register_static(cls):
    """Register ``cls`` as a node with no children whose value is its aux data (so
    ``jit`` treats instances as static); instances must be hashable."""
    register_pytree_with_keys(cls, lambda x: ((), x), lambda x, _: x)
    return cls


register_pytree_with_keys(
    OrderedDict, lambda d: ([(DictKey(k), v) for k, v in d.items()], tuple(d)),
    lambda keys, c: OrderedDict(zip(keys, c)))
register_pytree_with_keys(
    defaultdict, lambda d: ([(DictKey(k), d[k]) for k in sorted(d)],
                            (d.default_factory, tuple(sorted(d)))),
    lambda aux, c: defaultdict(aux[0], zip(aux[1], c)))


def _lookup(t: type):
    node = _registry.get(t)
    if node is not None:
        return node
    if t in _LEAF_TYPES:
        return None
    if issubclass(t, tuple) and hasattr(t, "_fields"):  # namedtuple
        keys = [GetAttrKey(f) for f in t._fields]
        node = _NodeType(lambda x: (tuple(x), None), lambda _, c, t=t: t(*c),
                         lambda x: (list(zip(keys, x)), None))
        _NAMEDTUPLES.add(t)
    elif dataclasses.is_dataclass(t):
        names = [f.name for f in dataclasses.fields(t) if f.init]
        keys = [GetAttrKey(n) for n in names]
        node = _NodeType(lambda x: ([getattr(x, n) for n in names], None),
                         lambda _, c, t=t: t(**dict(zip(names, c))),
                         lambda x: ([(k, getattr(x, n)) for k, n in zip(keys, names)], None))
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
        if self.node_type in _NAMEDTUPLES:
            return f"CustomNode(namedtuple[{name}], [{inner}])"
        return f"CustomNode({name}[{self.aux}], [{inner}])"

    def compose(self, inner: "PyTreeDef") -> "PyTreeDef":
        """This structure with each leaf replaced by ``inner``."""
        if self.node_type is None:
            return inner
        return _treedef(self.node_type, self.aux, tuple(c.compose(inner) for c in self.children))

    def flatten_up_to(self, tree):
        return _flatten_like(self, tree)


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


def treedef_tuple(treedefs) -> PyTreeDef:
    """The structure of a tuple whose children have structures ``treedefs``."""
    return _treedef(tuple, None, tuple(treedefs))


def _node_of(t: type):
    return _registry.get(t) or _lookup(t)


def _keyed_children(node: _NodeType, x):
    """``([(key, child), ...], aux)`` of node ``x``."""
    if node.flatten_with_keys is not None:
        pairs, aux = node.flatten_with_keys(x)
        return list(pairs), aux
    children, aux = node.flatten(x)
    return [(FlattenedIndexKey(i), c) for i, c in enumerate(children)], aux


def _flatten_with_path(x, path, out, is_leaf):
    if is_leaf is not None and is_leaf(path, x):
        out.append((path, x))
        return LEAF
    t = type(x)
    node = None if t in _LEAF_TYPES else _node_of(t)
    if node is None:
        out.append((path, x))
        return LEAF
    pairs, aux = _keyed_children(node, x)
    return _treedef(t, aux, tuple([_flatten_with_path(c, (*path, k), out, is_leaf)
                                   for k, c in pairs]))


def _path_pred(is_leaf, takes_path):
    if is_leaf is None or takes_path:
        return is_leaf
    return lambda _, x: is_leaf(x)


def tree_flatten_with_path(tree, is_leaf: Callable | None = None,
                           is_leaf_takes_path: bool = False):
    """``([(key_path, leaf), ...], treedef)``; ``is_leaf(x)``, or ``is_leaf(path, x)``
    with ``is_leaf_takes_path=True``."""
    out: list = []
    return out, _flatten_with_path(tree, (), out, _path_pred(is_leaf, is_leaf_takes_path))


def tree_leaves_with_path(tree, is_leaf: Callable | None = None,
                          is_leaf_takes_path: bool = False):
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def tree_map_with_path(f: Callable, tree, *rest, is_leaf: Callable | None = None,
                       is_leaf_takes_path: bool = False):
    """``f(key_path, leaf, *leaves_of_rest)`` at each leaf of ``tree``."""
    pairs, td = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = _flatten_rest("tree_map_with_path tree", td, tree, rest, is_leaf,
                           is_leaf_takes_path)
    return tree_unflatten(td, [f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


def flatten_one_level(tree):
    """``(children, aux)`` of one node; ``ValueError`` for a leaf."""
    node = _node_of(type(tree))
    if node is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    children, aux = node.flatten(tree)
    return children, (type(tree) if type(tree) in _NAMEDTUPLES else aux)


def flatten_one_level_with_keys(tree):
    """``([(key, child), ...], aux)`` of one node; ``ValueError`` for a leaf."""
    node = _node_of(type(tree))
    if node is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    pairs, aux = _keyed_children(node, tree)
    return pairs, (type(tree) if type(tree) in _NAMEDTUPLES else aux)


def is_tree_node(typ) -> bool:
    """Whether values of type ``typ`` are pytree nodes (not leaves)."""
    return isinstance(typ, type) and _node_of(typ) is not None


# ---- structure errors that name the key path where two trees differ (as JAX's) ----

def _structure_error(name, path, prefix, full, is_leaf):
    """The message for the first place where ``prefix`` is not a pytree prefix of
    ``full`` (``is_leaf(path, x)`` stops at a leaf), or None."""
    if is_leaf is not None and is_leaf(path, prefix):
        return None
    t = type(prefix)
    node = None if t in _LEAF_TYPES else _node_of(t)
    if node is None:
        return None                       # a leaf is a prefix of any tree
    where = f"at key path\n    {name}{keystr(path)}\n"
    if t is not type(full):
        return (f"pytree structure error: different types {where}At that key path, the "
                f"prefix pytree {name} has a subtree of type\n    {t}\nbut at the same key "
                f"path the full pytree has a subtree of different type\n    {type(full)}.")
    p_pairs, p_meta = flatten_one_level_with_keys(prefix)
    f_pairs, f_meta = flatten_one_level_with_keys(full)
    if isinstance(prefix, (list, tuple)):
        if len(prefix) != len(full):
            return (f"pytree structure error: different lengths of {t.__name__} {where}At "
                    f"that key path, the prefix pytree {name} has a subtree of type "
                    f"{t.__name__} of length {len(prefix)}, but the full pytree has a "
                    f"subtree of the same type but of length {len(full)}.")
    elif len(p_pairs) != len(f_pairs):
        bare = lambda ks: " ".join(keystr((k,), simple=True) for k in ks)
        pk, fk = [k for k, _ in p_pairs], [k for k, _ in f_pairs]
        try:
            diff = "so the symmetric difference on key sets is\n    " + bare(set(pk) ^ set(fk))
        except TypeError:
            diff = ""
        return (f"pytree structure error: different numbers of pytree children {where}At "
                f"that key path, the prefix pytree {name} has a subtree of type\n    {t}\n"
                f"with {len(pk)} child keys\n    {bare(pk)}\nbut at the same key path the "
                f"full pytree has a subtree of the same type but with {len(fk)} child keys\n"
                f"    {bare(fk)}\n{diff}")
    if p_meta != f_meta:
        ps, fs = str(p_meta), str(f_meta)
        ndiff = textwrap.indent("\n".join(difflib.ndiff(ps.splitlines(), fs.splitlines())),
                                prefix="    ")
        return (f"pytree structure error: different pytree metadata {where}At that key "
                f"path, the prefix pytree {name} has a subtree of type\n    {t}\nwith "
                f"metadata\n    {ps}\nbut at the same key path the full pytree has a "
                f"subtree of the same type but with metadata\n    {fs}\nso the diff in the "
                f"metadata at these pytree nodes is\n{ndiff}")
    for (k, pc), (_, fc) in zip(p_pairs, f_pairs):
        msg = _structure_error(name, (*path, k), pc, fc, is_leaf)
        if msg is not None:
            return msg
    return None


def _flatten_rest(name, td, tree, rest, is_leaf, takes_path=False):
    """``_flatten_like(td, r)`` for each of ``rest``; a mismatch raises ``ValueError``
    naming the key path where ``r`` differs from ``tree``."""
    out = []
    for r in rest:
        try:
            out.append(_flatten_like(td, r))
        except Exception:
            try:
                msg = _structure_error(name, (), tree, r, _path_pred(is_leaf, takes_path))
            except Exception:
                msg = None
            if msg is None:
                raise
            raise ValueError(msg) from None
    return out


def tree_map(f: Callable, tree, *rest, is_leaf=None):
    leaves, td = tree_flatten(tree, is_leaf)
    others = _flatten_rest("tree_map tree", td, tree, rest, is_leaf) if rest else ()
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


def tree_all(tree, *, is_leaf=None):
    return all(tree_leaves(tree, is_leaf))


_NO_INIT = object()


def tree_reduce(function, tree, initializer=_NO_INIT, is_leaf=None):
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INIT:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


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


def treedef_to_json(td: PyTreeDef):
    """A structure of tuples, lists, dicts (str/int keys) and None as JSON data (what
    ``xform.export`` and the trace cache write): a leaf is ``"*"``, a node
    ``[kind, children]`` (a dict: ``["dict", children, keys]``); any other node type is a
    ``TypeError`` naming it."""
    t = td.node_type
    if t is None:
        return "*"
    kids = [treedef_to_json(c) for c in td.children]
    if t is type(None):
        return ["none", []]
    if t is tuple:
        return ["tuple", kids]
    if t is list:
        return ["list", kids]
    if t is dict and all(type(k) in (str, int) for k in td.aux):
        return ["dict", kids, [[type(k).__name__, k] for k in td.aux]]
    raise TypeError(f"{td._body()} is not made of tuples, lists, dicts (str or int keys) "
                    f"and None only")


def treedef_from_json(x) -> PyTreeDef:
    """The inverse of ``treedef_to_json`` (ValueError on data it did not write)."""
    def skeleton(node):
        if node == "*":
            return 0
        kind, kids = node[0], [skeleton(k) for k in node[1]]
        if kind == "none":
            return None
        if kind == "tuple":
            return tuple(kids)
        if kind == "list":
            return kids
        if kind == "dict":
            keys = [int(v) if t == "int" else str(v) for t, v in node[2]]
            return dict(zip(keys, kids))
        raise ValueError(f"unknown tree node {kind!r}")
    return LEAF if x == "*" else tree_structure(skeleton(x))
