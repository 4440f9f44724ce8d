"""Pytrees: nested containers whose leaves are arrays.

Containers: tuple, list, dict (keys sorted), None (no leaves), namedtuples,
``OrderedDict``/``defaultdict``, and anything registered with ``register_pytree_node``
(or ``register_pytree_with_keys``, ``register_dataclass``, ``register_static``).

Flattening, unflattening and structure comparison run in C++: the registry is a
``PyTreeRegistry`` of jaxlib's (the binding's, holding nothing of JAX's registrations),
and a ``PyTreeDef`` is jaxlib's C++ treedef, so structures are hashable, compare fast and
print as JAX's.  Key paths (``tree_flatten_with_path``) name each child as JAX does:
``DictKey``, ``SequenceKey``, ``GetAttrKey`` (namedtuple and dataclass fields) and
``FlattenedIndexKey`` (nodes registered without keys).  This module adds what the
binding lacks: dataclass registration checks, structure errors that name the key path
where two trees differ, and prefix broadcasting for ``in_shardings``/``in_specs``.
"""
from __future__ import annotations

import base64

import dataclasses
import difflib
import functools
import operator
import textwrap
from collections import OrderedDict, defaultdict
from typing import Any, Callable, TypeVar

from lowering import _jaxlib

_pt = _jaxlib.pytree
DictKey, SequenceKey = _pt.DictKey, _pt.SequenceKey
GetAttrKey, FlattenedIndexKey = _pt.GetAttrKey, _pt.FlattenedIndexKey
PyTreeDef = _pt.PyTreeDef
_KEYS = (DictKey, SequenceKey, GetAttrKey, FlattenedIndexKey)

KeyEntry = TypeVar("KeyEntry", bound=Any)
KeyPath = tuple[KeyEntry, ...]

# the one registry; named so that treedefs pickle by reference to it
REGISTRY = _jaxlib.pytree_registry(__name__, "REGISTRY")


def _bare(k) -> str:
    if isinstance(k, DictKey):
        return str(k.key)
    if isinstance(k, SequenceKey):
        return str(k.idx)
    if isinstance(k, GetAttrKey):
        return k.name
    if isinstance(k, FlattenedIndexKey):
        return str(k.key)
    return str(k)


def keystr(keys, *, simple: bool = False, separator: str = "") -> str:
    """A key path as text: ``"['a'][0].x"``; ``simple=True`` writes each key bare
    (``a``, ``0``, ``x``), joined by ``separator``."""
    return separator.join(map(_bare if simple else str, keys))


# ---- the registry ----

def register_pytree_node(nodetype: type, flatten_func: Callable, unflatten_func: Callable,
                         flatten_with_keys_func: Callable | None = None) -> None:
    """Register ``nodetype``: ``flatten_func(x) -> (children, aux)``,
    ``unflatten_func(aux, children) -> x``; optionally ``flatten_with_keys_func(x) ->
    ([(key, child), ...], aux)`` (else paths name children ``FlattenedIndexKey(i)``).
    A type can be registered once (as in JAX)."""
    if not isinstance(nodetype, type):
        raise TypeError(f"register_pytree_node: nodetype must be a type (a class), got "
                        f"{nodetype!r}")
    try:
        REGISTRY.register_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func)
    except ValueError:
        raise ValueError(f"register_pytree_node: {nodetype.__qualname__} is already a "
                         f"registered pytree node type; a type can be registered once") from None


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
    fields with ``metadata={"static": True}`` (``xform.tree.static``) are meta.  An
    unregistered dataclass is a leaf, as in JAX."""
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
    try:
        REGISTRY.register_dataclass_node(nodetype, list(data_fields), list(meta_fields))
    except ValueError:
        raise ValueError(f"register_dataclass: {nodetype.__qualname__} is already a "
                         f"registered pytree node type") from None
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


# ---- structures ----

def node_type(td: PyTreeDef):
    """The node type at the root of ``td`` (None for a leaf)."""
    data = td.node_data()
    return None if data is None else data[0]


def node_aux(td: PyTreeDef):
    """The aux data at the root of ``td`` (a dict's sorted keys, a node's metadata)."""
    data = td.node_data()
    return None if data is None else data[1]


def is_leaf_def(td: PyTreeDef) -> bool:
    """Whether ``td`` is a single leaf (``*``), not an empty node such as ``None``."""
    return td.num_nodes == 1 and td.num_leaves == 1


def tree_flatten(tree, is_leaf: Callable | None = None):
    return REGISTRY.flatten(tree, is_leaf)


def tree_unflatten(treedef: PyTreeDef, leaves):
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None):
    return REGISTRY.flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return REGISTRY.flatten(tree, is_leaf)[1]


LEAF = tree_structure(0)


def treedef_tuple(treedefs) -> PyTreeDef:
    """The structure of a tuple whose children have structures ``treedefs``."""
    return _pt.treedef_tuple(REGISTRY, list(treedefs))


def _path_pred(is_leaf, takes_path):
    if is_leaf is None or takes_path:
        return is_leaf
    return lambda _, x: is_leaf(x)


def tree_flatten_with_path(tree, is_leaf: Callable | None = None,
                           is_leaf_takes_path: bool = False):
    """``([(key_path, leaf), ...], treedef)``; ``is_leaf(x)``, or ``is_leaf(path, x)``
    with ``is_leaf_takes_path=True``."""
    return REGISTRY.flatten_with_path(tree, _path_pred(is_leaf, is_leaf_takes_path))


def tree_leaves_with_path(tree, is_leaf: Callable | None = None,
                          is_leaf_takes_path: bool = False):
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def tree_map_with_path(f: Callable, tree, *rest, is_leaf: Callable | None = None,
                       is_leaf_takes_path: bool = False):
    """``f(key_path, leaf, *leaves_of_rest)`` at each leaf of ``tree``."""
    pairs, td = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = _flatten_rest("tree_map_with_path tree", td, tree, rest, is_leaf,
                           is_leaf_takes_path)
    return td.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


def flatten_one_level(tree):
    """``(children, aux)`` of one node; ``ValueError`` for a leaf."""
    out = REGISTRY.flatten_one_level(tree)
    if out is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    return out


def flatten_one_level_with_keys(tree):
    """``([(key, child), ...], aux)`` of one node; ``ValueError`` for a leaf."""
    out = REGISTRY.flatten_one_level_with_keys(tree)
    if out is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    fields = getattr(type(tree), "_fields", None)
    if isinstance(tree, tuple) and isinstance(fields, tuple) and out[1] is type(tree):
        # jaxlib 0.10.2 names every namedtuple child after the first field here (its
        # flatten_with_path names them right): name each by its field
        return [(GetAttrKey(f), c) for f, (_, c) in zip(fields, out[0])], out[1]
    return out


def is_tree_node(typ) -> bool:
    """Whether values of type ``typ`` are pytree nodes (not leaves)."""
    return isinstance(typ, type) and REGISTRY.is_node(typ)


# ---- structure errors that name the key path where two trees differ (as JAX's) ----

def _structure_error(name, path, prefix, full, is_leaf):
    """The message for the first place where ``prefix`` is not a pytree prefix of
    ``full`` (``is_leaf(path, x)`` stops at a leaf), or None."""
    if is_leaf is not None and is_leaf(path, prefix):
        return None
    t = type(prefix)
    if not REGISTRY.is_node(t):
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
            out.append(td.flatten_up_to(r))
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
    leaves, td = REGISTRY.flatten(tree, is_leaf)
    if not rest:
        return td.unflatten([f(x) for x in leaves])
    others = _flatten_rest("tree_map tree", td, tree, rest, is_leaf)
    return td.unflatten([f(*xs) for xs in zip(leaves, *others)])


def flatten_up_to(td: PyTreeDef, tree):
    """Leaves of ``tree`` at the leaf positions of ``td`` (``tree`` may be deeper there)."""
    return td.flatten_up_to(tree)


def _child_keys(td: PyTreeDef) -> list[str]:
    """How a path names each child of node ``td``: ``['w']``, ``.field`` or ``[0]``."""
    t, aux, n = node_type(td), node_aux(td), len(td.children())
    if t is dict:
        return [f"[{k!r}]" for k in aux]
    fields = getattr(t, "_fields", None)
    if isinstance(fields, tuple) and len(fields) == n:
        return [f".{a}" for a in fields]          # namedtuples
    if isinstance(aux, tuple) and aux and len(aux) == n and all(isinstance(a, str) for a in aux):
        return [f".{a}" for a in aux]             # namedtuple-like nodes
    return [f"[{i}]" for i in range(n)]


def leaf_paths(td: PyTreeDef, path: str = "") -> list[str]:
    """``path`` extended to each leaf of ``td`` (``"[0]['w']"``, ...), for messages."""
    if td.node_data() is None:
        return [path]
    out: list = []
    for c, k in zip(td.children(), _child_keys(td)):
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
        level = REGISTRY.flatten_one_level(p)
        if t.node_data() is None or level is None or type(p) is not node_type(t):
            raise ValueError(
                f"{what} must be a pytree prefix of the value it describes: at "
                f"{path or 'the top level'} it is {p!r:.80} ({type(p).__name__}), but the "
                f"value there is {t!r:.80}")
        children, aux = list(level[0]), level[1]
        kids = t.children()
        want = node_aux(t)
        if type(p) is dict:   # keys: a tuple from flatten_one_level, a list in node_data
            aux, want = list(aux), list(want)
        if len(children) != len(kids) or aux != want:
            raise ValueError(
                f"{what} must be a pytree prefix of the value it describes: at "
                f"{path or 'the top level'} it has {len(children)} entries, the value "
                f"{len(kids)} ({t!r:.80})")
        for c, tc, k in zip(children, kids, _child_keys(t)):
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
    return td.children()


def treedef_is_leaf(td: PyTreeDef) -> bool:
    """True for a structure of one node: a leaf, or an empty node such as ``None`` (as
    JAX's)."""
    return td.num_nodes == 1


class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree: its bound args are leaves."""

    def __new__(cls, func, *args, **kw):
        return super().__new__(cls, func, *args, **kw)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, c: Partial(func, *c[0], **c[1]))


def all_leaves(iterable, is_leaf=None):
    if is_leaf is None:
        return _pt.all_leaves(REGISTRY, iterable)
    items = list(iterable)
    leaves = tree_leaves(items, is_leaf)
    return len(leaves) == len(items) and all(a is b for a, b in zip(items, leaves))


# Node types the JSON form may hold besides tuples, lists, dicts and None: registered
# for serialization (``xform.export.register_pytree_node_serialization``) under a name
# that the reading process has registered too.
_SERIALIZED_TYPES: dict = {}    # node type -> (name, serialize_auxdata)
_SERIALIZED_NAMES: dict = {}    # name -> (node type, deserialize_auxdata)


class UnregisteredNodeError(ValueError):
    """Serialized tree data names a node type this process has not registered."""


def register_node_serialization(nodetype, name: str, serialize_auxdata: Callable,
                                deserialize_auxdata: Callable, what: str):
    """Let ``treedef_to_json`` write nodes of ``nodetype`` as ``name`` (their auxiliary
    data through ``serialize_auxdata``, which returns bytes) and ``treedef_from_json``
    read them back (``deserialize_auxdata(bytes)``)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"{what}: serialized_name must be a non-empty str, got {name!r}")
    if not is_tree_node(nodetype):
        raise ValueError(f"{what}: {getattr(nodetype, '__name__', nodetype)} is not a "
                         f"registered pytree node type; register it first "
                         f"(tree_util.register_pytree_node / register_dataclass)")
    if nodetype in (tuple, list, dict, type(None)):
        raise ValueError(f"{what}: {nodetype.__name__} is serialized already")
    known = _SERIALIZED_NAMES.get(name)
    if known is not None and known[0] is not nodetype:
        raise ValueError(f"{what}: the name {name!r} is already registered for "
                         f"{known[0].__name__}")
    if nodetype in _SERIALIZED_TYPES and _SERIALIZED_TYPES[nodetype][0] != name:
        raise ValueError(f"{what}: {nodetype.__name__} is already registered as "
                         f"{_SERIALIZED_TYPES[nodetype][0]!r}")
    _SERIALIZED_TYPES[nodetype] = (name, serialize_auxdata)
    _SERIALIZED_NAMES[name] = (nodetype, deserialize_auxdata)
    return nodetype


def treedef_to_json(td: PyTreeDef):
    """A structure of tuples, lists, dicts (str/int keys), None and node types registered
    for serialization as JSON data (what ``xform.export`` and the trace cache write): a
    leaf is ``"*"``, a node ``[kind, children]`` (a dict: ``["dict", children, keys]``; a
    registered type: ``["custom", children, name, base64 of its serialized aux data]``);
    any other node type is a ``TypeError`` naming it."""
    t, aux = node_type(td), node_aux(td)
    if td.node_data() is None:
        return "*"
    kids = [treedef_to_json(c) for c in td.children()]
    if t is type(None):
        return ["none", []]
    if t is tuple:
        return ["tuple", kids]
    if t is list:
        return ["list", kids]
    if t is dict and all(type(k) in (str, int) for k in aux):
        return ["dict", kids, [[type(k).__name__, k] for k in aux]]
    if t in _SERIALIZED_TYPES:
        name, ser = _SERIALIZED_TYPES[t]
        data = ser(aux)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"the serialize_auxdata registered for {t.__name__} returned "
                            f"{type(data).__name__}, not bytes")
        return ["custom", kids, name, base64.b64encode(bytes(data)).decode()]
    raise TypeError(f"{str(td)[len('PyTreeDef('):-1]} is not made of tuples, lists, dicts "
                    f"(str or int keys), None and node types registered for serialization "
                    f"(export.register_pytree_node_serialization)")


def treedef_from_json(x) -> PyTreeDef:
    """The inverse of ``treedef_to_json`` (ValueError on data it did not write, or on a
    node type this process has not registered for serialization)."""
    if x == "*":
        return LEAF
    kind, kids = x[0], [treedef_from_json(k) for k in x[1]]
    if kind == "none":
        data = (type(None), None)
    elif kind in ("tuple", "list"):
        data = (tuple if kind == "tuple" else list, None)
    elif kind == "dict":
        data = (dict, [int(v) if t == "int" else str(v) for t, v in x[2]])
    elif kind == "custom":
        if x[2] not in _SERIALIZED_NAMES:
            raise UnregisteredNodeError(f"the tree holds a node serialized as {x[2]!r}, which this "
                             f"process has not registered (export."
                             f"register_pytree_node_serialization)")
        nodetype, deser = _SERIALIZED_NAMES[x[2]]
        data = (nodetype, deser(base64.b64decode(x[3])))
    else:
        raise ValueError(f"unknown tree node {kind!r}")
    return PyTreeDef.from_node_data_and_children(REGISTRY, data, kids)
