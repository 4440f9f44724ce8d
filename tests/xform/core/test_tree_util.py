"""Pytrees behave as jax.tree_util's: same leaves, same order, same round trips."""
import collections
import dataclasses
import functools

import jax
import numpy as np
import pytest

import xform
from xform import tree_util as xtu

Point = collections.namedtuple("Point", "x y")


@dataclasses.dataclass
class DC:
    a: object
    b: object


class Box:
    def __init__(self, items, label):
        self.items, self.label = items, label

    def __eq__(self, other):
        return type(other) is Box and (self.items, self.label) == (other.items, other.label)

    def __repr__(self):   # stable test ids (pytest-xdist workers must collect the same)
        return f"Box({self.items!r}, {self.label!r})"


@xtu.register_pytree_node_class
@jax.tree_util.register_pytree_node_class
class Pair:
    def __init__(self, first, second, tag="t"):
        self.first, self.second, self.tag = first, second, tag

    def tree_flatten(self):
        return (self.first, self.second), self.tag

    @classmethod
    def tree_unflatten(cls, tag, children):
        return cls(*children, tag=tag)

    def __eq__(self, other):
        return type(other) is Pair and (self.first, self.second, self.tag) == \
            (other.first, other.second, other.tag)

    def __repr__(self):
        return f"Pair({self.first!r}, {self.second!r}, tag={self.tag!r})"


for _reg in (xtu.register_pytree_node, jax.tree_util.register_pytree_node):
    _reg(Box, lambda b: (b.items, b.label), lambda label, items: Box(list(items), label))
for _reg in (xtu.register_dataclass, jax.tree_util.register_dataclass):
    _reg(DC, data_fields=["a", "b"], meta_fields=[])

TREES = [
    1, None, (), [], {}, (1, 2.0), [1, [2, (3, None)]], {"b": 1, "a": 2, "c": [3, 4]},
    {"z": {"y": 1, "x": (2,)}, "a": None}, Point(1, (2, 3)), DC(a=[1, 2], b={"k": 3}),
    Box([1, 2, 3], "lbl"), Pair(1, [2, 3]), [Pair(Point(1, 2), None), {"q": Box([4], "m")}],
    (None, [None, {"n": None}]),
]


@pytest.mark.parametrize("tree", TREES, ids=repr)
def test_flatten_unflatten_matches_jax(tree):
    leaves, td = xtu.tree_flatten(tree)
    ref_leaves, ref_td = jax.tree_util.tree_flatten(tree)
    assert leaves == ref_leaves
    assert td.num_leaves == ref_td.num_leaves
    assert td.num_nodes == ref_td.num_nodes
    assert xtu.tree_unflatten(td, leaves) == tree
    assert xtu.tree_leaves(tree) == jax.tree_util.tree_leaves(tree)
    doubled = xtu.tree_map(lambda v: v * 2, tree)
    assert doubled == jax.tree_util.tree_map(lambda v: v * 2, tree)
    assert xtu.tree_structure(tree) == td


def test_treedef_equality_and_hash():
    a = xtu.tree_structure({"a": 1, "b": (2, 3)})
    b = xtu.tree_structure({"b": (5, 6), "a": 4})
    assert a == b and hash(a) == hash(b)
    assert a != xtu.tree_structure({"a": 1, "b": [2, 3]})
    assert xtu.tree_structure(Point(1, 2)) != xtu.tree_structure((1, 2))
    assert xtu.tree_structure(Pair(1, 2, "t")) != xtu.tree_structure(Pair(1, 2, "u"))


def test_dict_keys_sorted_and_None_has_no_leaves():
    assert xtu.tree_leaves({"b": 1, "a": 2, "c": None}) == [2, 1]
    assert xtu.tree_leaves([None, None]) == []
    assert xtu.tree_map(lambda v: v + 1, {"a": None, "b": 1}) == {"a": None, "b": 2}


def test_tree_map_multiple_trees_and_is_leaf():
    t1, t2 = {"a": 1, "b": (2, 3)}, {"a": 10, "b": (20, 30)}
    assert xtu.tree_map(lambda x, y: x + y, t1, t2) == jax.tree_util.tree_map(
        lambda x, y: x + y, t1, t2)
    with pytest.raises(ValueError):
        xtu.tree_map(lambda x, y: x + y, t1, {"a": 1, "b": [2, 3]})
    is_pair = lambda x: isinstance(x, tuple)
    assert xtu.tree_leaves([(1, 2), 3], is_leaf=is_pair) == \
        jax.tree_util.tree_leaves([(1, 2), 3], is_leaf=is_pair)


def test_partial_is_a_pytree():
    p = xtu.Partial(lambda a, b, c=0: a * b + c, 2.0, c=1.0)
    rp = jax.tree_util.Partial(lambda a, b, c=0: a * b + c, 2.0, c=1.0)
    assert xtu.tree_leaves(p) == jax.tree_util.tree_leaves(rp) == [2.0, 1.0]
    q = xtu.tree_map(lambda v: v * 10, p)
    assert isinstance(q, xtu.Partial) and q(3.0) == 70.0
    assert isinstance(p, functools.partial)
    out = xform.jit(lambda f, x: f(x))(p, xform.numpy.ones(2))
    np.testing.assert_allclose(np.asarray(out), [3.0, 3.0])


def test_pytrees_through_jit():
    tree = {"p": Point(xform.numpy.ones(2), xform.numpy.zeros(2)), "d": DC(a=1.0, b=[2.0]),
            "box": Box([xform.numpy.ones(1)], "keep"), "pair": Pair(1.0, 2.0, "tag")}
    out = xform.jit(lambda t: xtu.tree_map(lambda v: v + 1, t))(tree)
    assert type(out["p"]) is Point and type(out["d"]) is DC and type(out["pair"]) is Pair
    assert out["box"].label == "keep" and out["pair"].tag == "tag"
    np.testing.assert_allclose(np.asarray(out["p"].y), [1.0, 1.0])
    assert float(out["d"].b[0]) == 3.0


def test_tree_module_aliases():
    t = {"a": [1, 2], "b": 3}
    assert xform.tree.leaves(t) == jax.tree.leaves(t)
    assert xform.tree.map(lambda v: -v, t) == jax.tree.map(lambda v: -v, t)
    leaves, td = xform.tree.flatten(t)
    assert xform.tree.unflatten(td, leaves) == t
    assert xform.tree.structure(t) == td


def test_treedef_prints_as_jax_prints_it():
    import jax
    for t in (((1, {"a": 2, "b": [3, None]}),), 1, None, [1], {}):
        assert repr(xform.tree_util.tree_structure(t)) == repr(jax.tree_util.tree_structure(t))


def test_unregistered_dataclass_is_a_leaf_and_errors_say_register():
    @dataclasses.dataclass
    class Params:
        w: object

    p = Params(xform.numpy.ones(2))
    assert xtu.tree_leaves(p) == [p] == jax.tree_util.tree_leaves(p)
    assert not xtu.is_tree_node(Params) and not jax.tree_util.default_registry.is_node(Params)
    with pytest.raises(TypeError, match=r"argument 0 is a Params .*not a registered pytree "
                                        r"node .*register_dataclass"):
        xform.jit(lambda q: q.w * 2)(p)
    xtu.register_dataclass(Params, data_fields=["w"], meta_fields=[])
    assert xtu.tree_leaves(p)[0] is p.w
    assert float(xform.jit(lambda q: q.w * 2)(p)[0]) == 2.0
    with pytest.raises(ValueError, match="already a registered pytree node"):
        xtu.register_dataclass(Params, data_fields=["w"], meta_fields=[])
