"""Key paths and the rest of ``jax.tree_util``: every name against JAX's on the same trees
(leaves, key objects by ``keystr``, equality, hash and repr, treedef printing, errors)."""
import collections
import dataclasses
import operator
import pickle

import jax
import jax.tree_util as jtu
import pytest
from hypothesis import given, strategies as st

import xform
from xform import tree_util as xtu

Point = collections.namedtuple("Point", "x y")
Empty = collections.namedtuple("Empty", "")


def both(fn):
    """Register with xform and with JAX (the oracle) alike."""
    fn(xtu)
    fn(jtu)


class Box:                       # registered without keys: FlattenedIndexKey paths
    def __init__(self, items, label):
        self.items, self.label = items, label

    def __eq__(self, other):
        return type(other) is Box and (self.items, self.label) == (other.items, other.label)

    def __repr__(self):
        return f"Box({self.items!r}, {self.label!r})"


both(lambda tu: tu.register_pytree_node(Box, lambda b: (b.items, b.label),
                                        lambda label, items: Box(list(items), label)))


class Keyed:                     # registered with keys (function form, with flatten_func)
    def __init__(self, a, b, tag="t"):
        self.a, self.b, self.tag = a, b, tag

    def __eq__(self, other):
        return type(other) is Keyed and (self.a, self.b, self.tag) == (other.a, other.b, other.tag)

    def __repr__(self):
        return f"Keyed({self.a!r}, {self.b!r}, {self.tag!r})"


both(lambda tu: tu.register_pytree_with_keys(
    Keyed, lambda k: (((tu.GetAttrKey("a"), k.a), (tu.DictKey("bee"), k.b)), k.tag),
    lambda tag, c: Keyed(*c, tag=tag), lambda k: ((k.a, k.b), k.tag)))


def _make_special(tu):            # register_pytree_with_keys_class, no tree_flatten
    @tu.register_pytree_with_keys_class
    class Special:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def tree_flatten_with_keys(self):
            return ((tu.GetAttrKey("x"), self.x), (tu.SequenceKey(7), self.y)), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

        def __eq__(self, other):
            return type(other) is type(self) and (self.x, self.y) == (other.x, other.y)

        def __repr__(self):
            return f"Special({self.x!r}, {self.y!r})"
    return Special


XSpecial, JSpecial = _make_special(xtu), _make_special(jtu)


def _make_dc(tu):                 # register_dataclass, static field by metadata
    @tu.register_dataclass
    @dataclasses.dataclass
    class DC:
        w: object
        b: object
        name: str = dataclasses.field(default="n", metadata=dict(static=True))
    return DC


XDC, JDC = _make_dc(xtu), _make_dc(jtu)


@dataclasses.dataclass(frozen=True)
class Explicit:                  # register_dataclass with explicit field lists
    p: object
    q: object
    m: int = 0


both(lambda tu: tu.register_dataclass(Explicit, data_fields=["q", "p"], meta_fields=["m"]))


class Tag(str):                  # register_static
    pass


both(lambda tu: tu.register_static(Tag))


def trees(special, dc):
    """The same trees for either library (classes made per library where needed)."""
    return [
        1, None, (), [], {}, (1, 2.0), [1, [2, (3, None)]], {"b": 1, "a": 2, "c": [3, 4]},
        {"z": {"y": 1, "x": (2,)}, "a": None}, Point(1, (2, 3)), Empty(),
        Box([1, {"q": 2}], "lbl"), Box([], "e"), Keyed([1, 2], {"k": 3}), special(1, [2, 3]),
        dc(w=[1, 2], b={"k": 3}, name="s"), Explicit(p=1, q=(2, 3), m=4),
        collections.OrderedDict([("z", 1), ("a", [2, 3])]),
        collections.defaultdict(list, {"y": 1, "x": 2}), [Tag("static"), 5],
        {1: "int key", 0: (None, 2)}, {(1, "a"): 1, (0, "b"): 2},
        [Box([Point(1, 2)], None), {"q": Keyed(Point(3, 4), None)}],
    ]


X_TREES, J_TREES = trees(XSpecial, XDC), trees(JSpecial, JDC)
IDS = [repr(t) for t in J_TREES]
CASES = pytest.mark.parametrize("i", range(len(J_TREES)), ids=IDS)


def same_keys(xpath, jpath):
    """One key path of xform's equals JAX's: type name, repr, str, simple str, hash."""
    assert len(xpath) == len(jpath), (xpath, jpath)
    for xk, jk in zip(xpath, jpath):
        assert type(xk).__name__ == type(jk).__name__
        assert repr(xk) == repr(jk) and str(xk) == str(jk)
        assert hash(xk) == hash(jk)
    assert xtu.keystr(xpath) == jtu.keystr(jpath)
    assert xtu.keystr(xpath, simple=True, separator="/") == \
        jtu.keystr(jpath, simple=True, separator="/")


def same_path_leaves(xpl, jpl):
    assert len(xpl) == len(jpl)
    for (xp, xl), (jp, jl) in zip(xpl, jpl):
        same_keys(xp, jp)
        assert xl == jl


# ---------------------------------------------------------------- key entries

@pytest.mark.parametrize("cls,arg", [
    ("DictKey", "a"), ("DictKey", 1), ("DictKey", (1, "a")), ("DictKey", "it's"),
    ("DictKey", None), ("DictKey", 1.5), ("SequenceKey", 0), ("SequenceKey", -3),
    ("SequenceKey", True), ("SequenceKey", 2**31 - 1), ("GetAttrKey", "x"),
    ("GetAttrKey", "a b"), ("FlattenedIndexKey", 2), ("FlattenedIndexKey", -1)])
def test_key_entries_print_compare_and_hash_as_jax(cls, arg):
    xk, jk = getattr(xtu, cls)(arg), getattr(jtu, cls)(arg)
    assert repr(xk) == repr(jk) and str(xk) == str(jk) and hash(xk) == hash(jk)
    assert xtu.keystr((xk,), simple=True) == jtu.keystr((jk,), simple=True)
    assert type(xk).__match_args__ == type(jk).__match_args__
    field = type(jk).__match_args__[0]
    assert getattr(xk, field) == getattr(jk, field)
    assert xk == getattr(xtu, cls)(arg) and hash(xk) == hash(getattr(xtu, cls)(arg))
    assert not (xk != getattr(xtu, cls)(arg))
    assert pickle.loads(pickle.dumps(xk)) == xk
    with pytest.raises(AttributeError):
        setattr(xk, field, arg)


def test_key_entries_equality_across_kinds_and_pattern_matching():
    for tu in (xtu, jtu):
        assert tu.DictKey("a") != tu.GetAttrKey("a")
        assert tu.DictKey(0) != tu.SequenceKey(0)
        assert tu.SequenceKey(0) != tu.FlattenedIndexKey(0)
        assert tu.DictKey("a") != "a" and tu.DictKey(1) == tu.DictKey(True)
        assert len({tu.DictKey("a"), tu.DictKey("a"), tu.SequenceKey(1)}) == 2
    got = []
    for k in (xtu.DictKey("d"), xtu.SequenceKey(1), xtu.GetAttrKey("g"),
              xtu.FlattenedIndexKey(2), "other"):
        match k:
            case xtu.DictKey(key=v) | xtu.SequenceKey(idx=v) | xtu.GetAttrKey(name=v):
                got.append(v)
            case xtu.FlattenedIndexKey(v):
                got.append(("flat", v))
            case _:
                got.append(None)
    assert got == ["d", 1, "g", ("flat", 2), None]


@pytest.mark.parametrize("cls,arg", [("SequenceKey", "a"), ("SequenceKey", 1.5),
                                     ("SequenceKey", 2**31), ("GetAttrKey", 1),
                                     ("FlattenedIndexKey", 1.5)])
def test_key_entries_reject_bad_arguments_as_jax(cls, arg):
    with pytest.raises(TypeError):
        getattr(jtu, cls)(arg)
    with pytest.raises(TypeError):
        getattr(xtu, cls)(arg)


def test_unhashable_dict_key_fails_on_hash_only():
    for tu in (xtu, jtu):
        k = tu.DictKey([1])
        assert str(k) == "[[1]]"
        with pytest.raises(TypeError):
            hash(k)


def test_keystr_options_and_plain_entries():
    for tu in (xtu, jtu):
        keys = (tu.DictKey("a"), tu.SequenceKey(0), tu.GetAttrKey("f"), tu.FlattenedIndexKey(1))
        assert tu.keystr(keys) == "['a'][0].f[<flat index 1>]"
        assert tu.keystr(keys, simple=True, separator="/") == "a/0/f/1"
        assert tu.keystr(keys, separator=" ") == "['a'] [0] .f [<flat index 1>]"
        assert tu.keystr((tu.DictKey("a"), 3, "x")) == "['a']3x"
        assert tu.keystr(()) == "" and tu.keystr([tu.DictKey("a")]) == "['a']"
        with pytest.raises(TypeError):
            tu.keystr(keys, True)  # simple= and separator= are keyword-only


def test_key_typing_names():
    assert repr(xtu.KeyEntry) == repr(jtu.KeyEntry) == "~KeyEntry"
    assert repr(xtu.KeyPath) == repr(jtu.KeyPath)


# ---------------------------------------------------------------- paths on fixed trees

@CASES
def test_flatten_with_path_matches_jax(i):
    xt, jt = X_TREES[i], J_TREES[i]
    xpl, xtd = xtu.tree_flatten_with_path(xt)
    jpl, jtd = jtu.tree_flatten_with_path(jt)
    same_path_leaves(xpl, jpl)
    assert [x for _, x in xpl] == xtu.tree_leaves(xt) == jtu.tree_leaves(jt)
    assert xtd == xtu.tree_structure(xt)
    assert repr(xtd).replace("XSpecial", "Special") == repr(jtd)
    assert (xtd.num_leaves, xtd.num_nodes) == (jtd.num_leaves, jtd.num_nodes)
    assert xtu.tree_unflatten(xtd, [x for _, x in xpl]) == xt
    same_path_leaves(xtu.tree_leaves_with_path(xt), jtu.tree_leaves_with_path(jt))
    same_path_leaves(xform.tree.leaves_with_path(xt), jax.tree.leaves_with_path(jt))
    same_path_leaves(xform.tree.flatten_with_path(xt)[0], jax.tree.flatten_with_path(jt)[0])


@CASES
def test_map_with_path_matches_jax(i):
    xt, jt = X_TREES[i], J_TREES[i]
    f = lambda p, x, y: (jtu.keystr(p, simple=True, separator="."), x, y)
    fx = lambda p, x, y: (xtu.keystr(p, simple=True, separator="."), x, y)
    xo = xtu.tree_map_with_path(fx, xt, xt)
    jo = jtu.tree_map_with_path(f, jt, jt)
    assert xtu.tree_leaves(xo, is_leaf=lambda v: isinstance(v, tuple) and len(v) == 3) == \
        jtu.tree_leaves(jo, is_leaf=lambda v: isinstance(v, tuple) and len(v) == 3)
    assert xtu.tree_leaves(xform.tree.map_with_path(lambda p, x: len(p), xt)) == \
        jtu.tree_leaves(jax.tree.map_with_path(lambda p, x: len(p), jt))


@CASES
def test_flatten_one_level_matches_jax(i):
    xt, jt = X_TREES[i], J_TREES[i]
    if not jtu.is_tree_node(type(jt)):
        with pytest.raises(ValueError, match="can't tree-flatten type"):
            xtu.flatten_one_level(xt)
        with pytest.raises(ValueError, match="can't tree-flatten type"):
            xtu.flatten_one_level_with_keys(xt)
        assert xtu.default_registry.flatten_one_level(xt) is None
        return
    assert xtu.is_tree_node(type(xt))
    xc, xm = xtu.flatten_one_level(xt)
    jc, jm = jtu.flatten_one_level(jt)
    assert list(xc) == list(jc) and xm == jm
    xkc, xkm = xtu.flatten_one_level_with_keys(xt)
    jkc, jkm = jtu.flatten_one_level_with_keys(jt)
    assert xkm == jkm and [c for _, c in xkc] == [c for _, c in jkc]
    if type(jt) is not Point:   # JAX 0.10.2 repeats the first field's key for namedtuples
        same_keys([k for k, _ in xkc], [k for k, _ in jkc])
    assert xtu.default_registry.flatten_one_level(xt)[1] == xm


def test_namedtuple_one_level_keys_name_each_field():
    pairs, meta = xtu.flatten_one_level_with_keys(Point(1, 2))
    assert pairs == [(xtu.GetAttrKey("x"), 1), (xtu.GetAttrKey("y"), 2)] and meta is Point
    # jax.tree_flatten_with_path (which we match) names both fields too:
    assert [p for p, _ in jtu.tree_leaves_with_path(Point(1, 2))] == \
        [(jtu.GetAttrKey("x"),), (jtu.GetAttrKey("y"),)]


# ---------------------------------------------------------------- hypothesis: nested containers

LEAVES = st.one_of(st.integers(-5, 5), st.sampled_from(["s", "t"]), st.floats(0, 1, width=32))
DKEYS = st.one_of(st.text("abc", min_size=1, max_size=2), st.integers(0, 3))


def _containers(children):
    return st.one_of(
        st.lists(children, max_size=3), st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text("abcd", min_size=1, max_size=2), children, max_size=3),
        st.dictionaries(st.integers(0, 5), children, max_size=3),
        st.tuples(children, children).map(lambda t: Point(*t)),
        st.tuples(children, children).map(lambda t: Box(list(t), "b")),
        st.tuples(children, children).map(lambda t: Keyed(*t)),
        st.tuples(children, children).map(lambda t: Explicit(*t)),
        st.lists(st.tuples(DKEYS.map(str), children), max_size=3).map(collections.OrderedDict))


NESTED = st.recursive(st.one_of(LEAVES, st.none()), _containers, max_leaves=12)


@given(NESTED)
def test_hypothesis_paths_match_jax(tree):
    xpl, xtd = xtu.tree_flatten_with_path(tree)
    jpl, jtd = jtu.tree_flatten_with_path(tree)
    same_path_leaves(xpl, jpl)
    assert repr(xtd) == repr(jtd)
    assert xtu.tree_unflatten(xtd, [x for _, x in xpl]) == tree
    doubled = xtu.tree_map_with_path(lambda p, x: (len(p), x), tree)
    assert doubled == jtu.tree_map_with_path(lambda p, x: (len(p), x), tree)
    xs = [xtu.keystr(p, simple=True, separator="/") for p, _ in xpl]
    assert xs == [jtu.keystr(p, simple=True, separator="/") for p, _ in jpl]


@given(NESTED, st.integers(0, 3))
def test_hypothesis_is_leaf_calls_match_jax(tree, depth):
    """``is_leaf`` sees the same nodes in the same order (with their paths when
    ``is_leaf_takes_path``), and stopping at a depth gives the same leaves."""
    for takes_path in (False, True):
        seen = {"x": [], "j": []}

        def pred(tag, keystr):
            def stop(*args):
                seen[tag].append((keystr(args[0]), args[1]) if takes_path else args[0])
                return takes_path and len(args[0]) >= depth
            return stop
        xo = xtu.tree_flatten_with_path(tree, pred("x", xtu.keystr), is_leaf_takes_path=takes_path)
        jo = jtu.tree_flatten_with_path(tree, pred("j", jtu.keystr), is_leaf_takes_path=takes_path)
        same_path_leaves(xo[0], jo[0])
        assert repr(xo[1]) == repr(jo[1])
        assert seen["x"] == seen["j"]


@given(NESTED)
def test_hypothesis_is_leaf_without_path(tree):
    is_seq = lambda x: isinstance(x, (list, tuple))
    same_path_leaves(xtu.tree_leaves_with_path(tree, is_seq),
                     jtu.tree_leaves_with_path(tree, is_seq))
    assert xtu.tree_leaves(tree, is_seq) == jtu.tree_leaves(tree, is_seq)
    f = lambda p, x: xtu.keystr(p) if is_seq(x) else x
    g = lambda p, x: jtu.keystr(p) if is_seq(x) else x
    assert xtu.tree_map_with_path(f, tree, is_leaf=is_seq) == \
        jtu.tree_map_with_path(g, tree, is_leaf=is_seq)


@given(NESTED)
def test_hypothesis_reductions_and_broadcast(tree):
    cat = lambda a, b: f"({a}{b})"
    assert xtu.tree_reduce_associative(cat, tree, identity="") == \
        jtu.tree_reduce_associative(cat, tree, identity="")
    assert xtu.tree_reduce(cat, tree, "") == jtu.tree_reduce(cat, tree, "")
    assert xtu.tree_all(tree) == jtu.tree_all(tree)
    assert xtu.tree_broadcast(0, tree) == jtu.tree_broadcast(0, tree)
    assert xtu.tree_broadcast(tree, tree) == jtu.tree_broadcast(tree, tree)


# ---------------------------------------------------------------- errors

MISMATCHES = [
    ({"a": 1, "b": [2]}, {"a": 10, "b": [20, 30]}), ({"a": 1}, {"b": 1}),
    ({"a": 1}, {"a": 1, "b": 2}), ([1], (1,)), (Box([1], "L"), Box([1], "M")),
    (Box([1], "L"), Box([1, 2], "L")), ((1, [2]), (1, {"x": 2})), ({"a": [1, 2]}, {"a": 3}),
    (Explicit(1, 2, m=0), Explicit(1, 2, m=1)), ([Point(1, (2, 3))], [Point(1, (2, 3, 4))]),
    ({"k": Keyed(1, [2])}, {"k": Keyed(1, [2, 3])}), ([None], [1]),
    ({"a": None, "b": {"c": (1, 2)}}, {"a": None, "b": {"c": [1, 2]}}),
]


@pytest.mark.parametrize("a,b", MISMATCHES, ids=repr)
def test_structure_errors_name_the_difference_as_jax(a, b):
    for name, xf, jf, args in [
            ("tree_map_with_path", xtu.tree_map_with_path, jtu.tree_map_with_path,
             (lambda p, x, y: x, a, b)),
            ("tree_map", xtu.tree_map, jtu.tree_map, (lambda x, y: x, a, b)),
            ("broadcast", xtu.tree_broadcast, jtu.tree_broadcast, (a, b))]:
        with pytest.raises(ValueError) as jerr:
            jf(*args)
        with pytest.raises(ValueError) as xerr:
            xf(*args)
        expect = str(jerr.value)
        if isinstance(a, list) and isinstance(a[0], Point):
            # JAX 0.10.2's flatten_one_level_with_keys names every namedtuple field after
            # the first (see test_namedtuple_one_level_keys_name_each_field); we name it
            expect = expect.replace("[0].x\n", "[0].y\n")
        assert str(xerr.value) == expect, name


def test_prefix_tree_maps_and_broadcasts():
    a, b = {"x": 1, "y": [2, 3]}, {"x": (10, 20), "y": [30, {"z": 40}]}
    assert xtu.tree_map(lambda u, v: (u, v), a, b) == jtu.tree_map(lambda u, v: (u, v), a, b)
    f = lambda p, u, v: (len(p), u, v)
    assert xtu.tree_map_with_path(f, a, b) == jtu.tree_map_with_path(f, a, b)
    prefix, full = (1, 2, 3), (0, {"a": 0, "b": 0}, (0, 0))
    assert xform.tree.broadcast(prefix, full) == jax.tree.broadcast(prefix, full) == \
        (1, {"a": 2, "b": 2}, (3, 3))
    is_t = lambda x: isinstance(x, tuple)
    assert xtu.tree_broadcast([1, (2, 3)], [[0, 0], [0, 0]], is_leaf=is_t) == \
        jtu.tree_broadcast([1, (2, 3)], [[0, 0], [0, 0]], is_leaf=is_t)


def test_flatten_errors_for_leaves():
    for bad in (1, "x", object()):
        with pytest.raises(ValueError) as j:
            jtu.flatten_one_level(bad)
        with pytest.raises(ValueError) as x:
            xtu.flatten_one_level(bad)
        assert str(x.value) == str(j.value)


# ---------------------------------------------------------------- the other names

def test_reduce_associative_shape_and_identity():
    cat = lambda a, b: f"({a}{b})"
    assert xtu.tree_reduce_associative(cat, list("abcdefg")) == \
        jtu.tree_reduce_associative(cat, list("abcdefg")) == "((a(bc))((de)(fg)))"
    assert xform.tree.reduce_associative(operator.add, [1, (2, 3), [4, 5, 6]]) == 21
    assert xtu.tree_reduce_associative(operator.add, [], identity=0) == 0
    assert xtu.tree_reduce_associative(operator.add, [5], identity=100) == 5
    with pytest.raises(TypeError, match="Must specify identity"):
        xtu.tree_reduce_associative(operator.add, [])
    is_p = lambda x: isinstance(x, tuple)
    assert xtu.tree_reduce_associative(operator.add, [(1,), [(2,)]], is_leaf=is_p) == (1, 2)
    assert xtu.tree_reduce(operator.add, [(1,), [(2,)]], is_leaf=is_p) == (1, 2)
    assert xtu.tree_all([0, (1,)], is_leaf=is_p) == jtu.tree_all([0, (1,)], is_leaf=is_p)


def test_transpose_and_treedef_tuple():
    outer, inner = xtu.tree_structure([1, 2]), xtu.tree_structure((1, {"a": 1}))
    t = [(1, {"a": 2}), (3, {"a": 4})]
    j_outer, j_inner = jtu.tree_structure([1, 2]), jtu.tree_structure((1, {"a": 1}))
    ref = jtu.tree_transpose(j_outer, j_inner, t)
    assert xtu.tree_transpose(outer, inner, t) == ref == ([1, 3], {"a": [2, 4]})
    assert xtu.tree_transpose(outer, None, t) == jtu.tree_transpose(j_outer, None, t)
    assert xform.tree.transpose(outer, inner, t) == ref
    with pytest.raises(TypeError) as x:
        xtu.tree_transpose(outer, inner, [(1, {"a": 2})])
    with pytest.raises(TypeError) as j:
        jtu.tree_transpose(j_outer, j_inner, [(1, {"a": 2})])
    assert str(x.value) == str(j.value)
    parts = [1, {"a": 1, "b": [2, None]}, Point(1, 2), Box([1], "x")]
    xt = xtu.treedef_tuple([xtu.tree_structure(p) for p in parts])
    jt = jtu.treedef_tuple([jtu.tree_structure(p) for p in parts])
    assert repr(xt) == repr(jt) and xt == xtu.tree_structure(tuple(parts))
    assert repr(xtu.treedef_tuple([])) == repr(jtu.treedef_tuple([])) == "PyTreeDef(())"
    assert xtu.treedef_tuple(iter([xtu.tree_structure(1)])) == xtu.tree_structure((1,))


def test_is_tree_node():
    for t in (dict, list, tuple, type(None), Point, Box, Keyed, XSpecial, Explicit, Tag,
              collections.OrderedDict, collections.defaultdict, xtu.Partial, int, str,
              float, object):
        expect = jtu.is_tree_node({XSpecial: JSpecial, xtu.Partial: jtu.Partial}.get(t, t))
        assert xtu.is_tree_node(t) == expect, t
    assert xtu.is_tree_node(XDC) and jtu.is_tree_node(JDC)


def test_register_static_has_no_leaves_and_is_its_own_aux():
    v = [Tag("s"), 1]
    assert xtu.tree_leaves(v) == jtu.tree_leaves(v) == [1]
    assert repr(xtu.tree_structure(v)) == repr(jtu.tree_structure(v))
    assert xtu.tree_structure([Tag("s"), 1]) != xtu.tree_structure([Tag("t"), 1])
    assert xtu.tree_map(lambda x: x + 1, v) == [Tag("s"), 2]
    out = xform.jit(lambda s, x: x * 2 if s == "s" else x)(Tag("s"), xform.numpy.ones(2))
    assert out.tolist() == [2.0, 2.0]


def test_register_dataclass_static_fields_and_errors():
    m = XDC(w=1.0, b=[2.0], name="keep")
    assert xtu.tree_leaves(m) == [1.0, 2.0]
    out = xform.jit(lambda d: xtu.tree_map(lambda v: v + 1, d))(m)
    assert type(out) is XDC and out.name == "keep" and float(out.b[0]) == 3.0

    @dataclasses.dataclass
    class S:
        a: object
        s: str = xform.tree.static(default="x")
    for tu in (xtu, jtu):
        assert dataclasses.fields(S)[1].metadata["static"] is True
        tu.register_dataclass(S)
        assert tu.tree_flatten(S(1))[0] == [1]

    @dataclasses.dataclass
    class T:
        a: object
        b: object
    for kwargs, err in [(dict(data_fields=["a"]), TypeError),
                        (dict(data_fields=["a"], meta_fields=[]), ValueError),
                        (dict(data_fields=["a", "b", "c"], meta_fields=[]), ValueError),
                        (dict(data_fields=["a", "b"], meta_fields=["a"]), ValueError)]:
        with pytest.raises(err) as x:
            xtu.register_dataclass(T, **kwargs)
        with pytest.raises(err) as j:
            jtu.register_dataclass(T, **kwargs)
        assert str(x.value) == str(j.value)
    with pytest.raises(TypeError):
        xtu.register_dataclass(Box)
    xtu.register_dataclass(T, data_fields=["a"], meta_fields=[], drop_fields=["b"])


def test_partial_paths_are_flattened_indices():
    xp, jp = xtu.Partial(print, 1, k=2), jtu.Partial(print, 1, k=2)
    same_path_leaves(xtu.tree_leaves_with_path(xp), jtu.tree_leaves_with_path(jp))


def test_default_registry():
    r = xtu.default_registry
    t = {"a": [1, Box([2], "b")], "c": Point(3, None)}
    assert r.flatten(t) == xtu.tree_flatten(t)
    assert r.flatten(t, lambda x: isinstance(x, Box))[0] == \
        jtu.default_registry.flatten(t, lambda x: isinstance(x, Box))[0]
    stop = lambda p, x: len(p) == 2
    same_path_leaves(r.flatten_with_path(t, stop)[0],
                     jtu.default_registry.flatten_with_path(t, stop)[0])
    assert r.flatten_one_level(1) is None and r.flatten_one_level_with_keys("s") is None
    assert r.is_node(dict) and not r.is_node(int)

    class Fresh:
        def __init__(self, v):
            self.v = v
    r.register_node(Fresh, lambda f: ((f.v,), None), lambda _, c: Fresh(*c))
    assert xtu.tree_leaves([Fresh(7)]) == [7]
    assert xtu.keystr(xtu.tree_leaves_with_path([Fresh(7)])[0][0]) == "[0][<flat index 0>]"
    assert pickle.loads(pickle.dumps(r)) is r


def test_tree_module_has_jax_tree_names():
    public = lambda m: {n for n in dir(m) if not n.startswith("_")}
    assert public(jax.tree) <= public(xform.tree)
    assert public(jtu) <= public(xtu)
    f = xform.tree.static(default=3)
    assert f.default == 3 and f.metadata["static"] is True
    g = xform.tree.static(metadata={"k": 1})
    assert dict(g.metadata) == dict(jax.tree.static(metadata={"k": 1}).metadata)


def test_custom_node_reprs_match_jax():
    for xt, jt in zip(X_TREES, J_TREES):
        assert repr(xtu.tree_structure(xt)).replace("XSpecial", "Special") == \
            repr(jtu.tree_structure(jt))
