"""``xform.numpy.ufunc`` objects against ``jax.numpy``'s: every method of the fourteen
builtins and of ``frompyfunc`` ufuncs, values with dtypes and weak types, gradients,
``jit`` (a ufunc as a static argument) and ``vmap``, and the errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

from oracle import assert_same

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BUILTINS = ["add", "subtract", "multiply", "maximum", "minimum", "bitwise_and",
            "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "logical_xor",
            "logaddexp", "logaddexp2", "negative"]
BINARY = [n for n in BUILTINS if n != "negative"]
BITWISE = {"bitwise_and", "bitwise_or", "bitwise_xor"}

RNG = np.random.default_rng(3)
F = RNG.standard_normal((3, 4)).astype(np.float32)
I = RNG.integers(-5, 6, (3, 4)).astype(np.int32)
B = RNG.integers(0, 2, (3, 4)).astype(bool)
W = np.array([[True, False, True, True]] * 3)


def _inputs(name):
    if name in BITWISE:
        return [I, B]
    if name.startswith("logaddexp"):
        return [F]
    if name in ("subtract", "negative"):     # not defined on bool, in JAX either
        return [F, I]
    return [F, I, B]


def test_the_same_names_are_ufuncs():
    theirs = sorted(n for n in dir(jnp) if isinstance(getattr(jnp, n), jnp.ufunc))
    ours = sorted(n for n in dir(xnp) if isinstance(getattr(xnp, n), xnp.ufunc))
    assert ours == theirs == sorted(BUILTINS)
    for n in BUILTINS:
        u, v = getattr(xnp, n), getattr(jnp, n)
        assert (u.nin, u.nout, u.nargs, u.__name__) == (v.nin, v.nout, v.nargs, v.__name__)
        assert u.identity == v.identity or (np.isneginf(u.identity) and np.isneginf(v.identity))


@pytest.mark.parametrize("name", BINARY)
def test_reduce(name):
    u, v = getattr(xnp, name), getattr(jnp, name)
    for a in _inputs(name):
        for kw in (dict(), dict(axis=1), dict(axis=None), dict(axis=-1, keepdims=True)):
            assert_same(u.reduce(a, **kw), v.reduce(a, **kw), f"{name}.reduce {a.dtype} {kw}")
        if v.identity is not None:
            assert_same(u.reduce(a, axis=1, where=W), v.reduce(a, axis=1, where=W),
                        f"{name}.reduce where")
        init = a.flat[0]
        assert_same(u.reduce(a, axis=0, initial=init), v.reduce(a, axis=0, initial=init),
                    f"{name}.reduce initial")


@pytest.mark.parametrize("name", BINARY)
def test_accumulate_outer_reduceat(name):
    u, v = getattr(xnp, name), getattr(jnp, name)
    idx = np.array([0, 2, 1, 3])
    for a in _inputs(name):
        assert_same(u.accumulate(a, axis=1), v.accumulate(a, axis=1), f"{name}.accumulate")
        assert_same(u.outer(a[0], a[:, :2]), v.outer(a[0], a[:, :2]), f"{name}.outer")
        assert_same(u.reduceat(a, idx, axis=1), v.reduceat(a, idx, axis=1), f"{name}.reduceat")


@pytest.mark.parametrize("name", BUILTINS)
def test_at_repeated_indices(name):
    u, v = getattr(xnp, name), getattr(jnp, name)
    idx = np.array([0, 2, 0, 0])
    for a in _inputs(name):
        row = a[0]
        args = () if name == "negative" else (a[1],)
        assert_same(u.at(row, idx, *args, inplace=False), v.at(row, idx, *args, inplace=False),
                    f"{name}.at {a.dtype}")
        two = (np.array([1, 1, 2]), np.array([0, 0, 3]))    # (row, column) pairs
        assert_same(u.at(a, two, *[x[:3] for x in args], inplace=False),
                    v.at(a, two, *[x[:3] for x in args], inplace=False), f"{name}.at 2-d")


def test_frompyfunc_every_method():
    def f(a, b):
        return a * b + 1.0
    u = xnp.frompyfunc(f, 2, 1, identity=None)
    v = jnp.frompyfunc(f, 2, 1, identity=None)
    x = F[0]
    assert_same(u(x, F), v(x, F))
    assert_same(u.reduce(F, axis=1), v.reduce(F, axis=1))
    assert_same(u.accumulate(F, axis=0), v.accumulate(F, axis=0))
    assert_same(u.outer(x, x[:2]), v.outer(x, x[:2]))
    assert_same(u.at(x, np.array([1, 1, 3]), np.float32(2.0), inplace=False),
                v.at(x, np.array([1, 1, 3]), np.float32(2.0), inplace=False))
    assert_same(u.reduceat(x, np.array([0, 3])), v.reduceat(x, np.array([0, 3])))
    two = xnp.frompyfunc(lambda a: (a + 1, a * 2), 1, 2)
    assert_same(two(F), jnp.frompyfunc(lambda a: (a + 1, a * 2), 1, 2)(F))


def test_gradients_follow_the_generic_definitions():
    x = np.array([1.0, 3.0, 1.0, -2.0], np.float32)
    for name in ("add", "multiply", "maximum", "logaddexp", "subtract"):
        u, v = getattr(xnp, name), getattr(jnp, name)
        assert_same(xform.grad(lambda a: u.reduce(a))(x), jax.grad(lambda a: v.reduce(a))(x),
                    f"grad {name}.reduce")
        assert_same(xform.grad(lambda a: u.accumulate(a).sum())(x),
                    jax.grad(lambda a: v.accumulate(a).sum())(x), f"grad {name}.accumulate")
    # ties of minimum.at fold in order, as JAX's scan does
    g = xform.grad(lambda b: xnp.minimum.at(x, np.array([0, 0]), b, inplace=False).sum())
    h = jax.grad(lambda b: jnp.minimum.at(x, np.array([0, 0]), b, inplace=False).sum())
    b = np.array([1.0, 1.0], np.float32)
    assert_same(g(b), h(b))


def test_jit_with_a_ufunc_as_static_argument_and_vmap():
    @xform.jit
    def outer_of(x):
        return xnp.subtract.outer(x, x)
    assert_same(outer_of(F[0]), jnp.subtract.outer(F[0], F[0]))

    def apply(u, x):
        return u.reduce(x, axis=None)
    f = xform.jit(apply, static_argnums=0)
    assert_same(f(xnp.maximum, F), jnp.maximum.reduce(F, axis=None))
    assert_same(f(xnp.frompyfunc(lambda a, b: a - b, 2, 1), F),
                jnp.frompyfunc(lambda a, b: a - b, 2, 1).reduce(F, axis=None))
    assert_same(xform.vmap(lambda r: xnp.logaddexp.reduce(r))(F),
                jax.vmap(lambda r: jnp.logaddexp.reduce(r))(F))
    assert_same(xform.vmap(lambda r: xnp.add.at(r, np.array([1, 1]), 1.0, inplace=False))(F),
                jax.vmap(lambda r: jnp.add.at(r, np.array([1, 1]), 1.0, inplace=False))(F))


def test_errors_name_the_method():
    with pytest.raises(NotImplementedError, match=r"inplace=False"):
        xnp.add.at(F, 0, 1.0)
    with pytest.raises(ValueError, match=r"negative\.reduce: only binary"):
        xnp.negative.reduce(F)
    with pytest.raises(ValueError, match="where= needs initial="):
        xnp.maximum.reduce(F, where=W)
    with pytest.raises(ValueError, match="no identity"):
        xnp.subtract.reduce(np.zeros((0,), np.float32))
    with pytest.raises(NotImplementedError, match="out="):
        xnp.add(F, F, out=F)
    with pytest.raises(TypeError, match="takes 2 positional arguments, got 1"):
        xnp.add(F)
    with pytest.raises(AttributeError, match="immutable"):
        xnp.add.identity = 3


def test_operators_call_the_plain_functions():
    # x + y does not go through the ufunc object (one Python call fewer per operator)
    x = xnp.asarray(F)
    assert_same(x + x, jnp.asarray(F) + jnp.asarray(F))
    assert_same(-x, -jnp.asarray(F))
    assert xform.make_jaxpr(lambda a: a * 2 - a)(F).eqns.__len__() == 2
