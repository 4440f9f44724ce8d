"""Ahead-of-time compilation (``jit(f).lower(...).compile()``) against JAX's stages:
``ShapeDtypeStruct`` arguments and pytrees of them, the compiled object's call, its
signature check, ``cost_analysis``/``memory_analysis``, trees and ``out_info``."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp


def f(np_):
    def fn(params, x, scale=2.0):
        return {"y": np_.tanh(x @ params["w"] + params["b"]) * scale, "n": x.shape[0]}
    return fn


P = {"w": np.ones((4, 3), np.float32), "b": np.zeros(3, np.float32)}
X = np.arange(8, dtype=np.float32).reshape(2, 4) / 8


def _structs(lib, tree):
    return lib.tree_util.tree_map(lambda a: lib.ShapeDtypeStruct(a.shape, a.dtype), tree)


def test_lower_abstract_pytrees_and_call_compiled():
    ours = xform.jit(f(xnp), static_argnames="scale").lower(
        _structs(xform, P), _structs(xform, X), scale=3.0).compile()
    theirs = jax.jit(f(jnp), static_argnames="scale").lower(
        _structs(jax, P), _structs(jax, X), scale=3.0).compile()
    got, want = ours(P, X), theirs(P, X)
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-6)
    assert got["n"] == want["n"] == 2
    assert str(ours.in_tree) == str(theirs.in_tree)
    assert str(ours.out_tree) == str(theirs.out_tree)
    # static arguments may be repeated (equal) or left out
    np.testing.assert_allclose(ours(P, X, scale=3.0)["y"], want["y"], rtol=1e-6)
    cost = ours.cost_analysis()
    assert cost["flops"] > 0 and "bytes accessed" in cost
    mem = ours.memory_analysis()
    assert mem.argument_size_in_bytes == (4 * 3 + 3 + 2 * 4) * 4
    assert "tanh" in ours.as_text()


def test_compiled_refuses_another_signature_naming_the_argument():
    c = xform.jit(f(xnp)).lower(_structs(xform, P), _structs(xform, X)).compile()
    with pytest.raises(TypeError, match=r"argument args\[1\] is f32\[3,4\], but the program "
                                        r"was compiled for f32\[2,4\]"):
        c(P, np.ones((3, 4), np.float32))
    with pytest.raises(TypeError, match=r"argument args\[0\]\['w'\] is i32\[4,3\]"):
        c({"w": np.ones((4, 3), np.int32), "b": P["b"]}, X)
    with pytest.raises(TypeError, match="structured as"):
        c(P)
    s = xform.jit(f(xnp), static_argnames="scale").lower(P, X, scale=3.0).compile()
    with pytest.raises(TypeError, match=r"static arguments scale=4.0 differ .* scale=3.0"):
        s(P, X, scale=4.0)


def test_lowered_infos_and_text():
    lo = xform.jit(lambda x, y: (x * y, x.sum())).lower(
        xform.ShapeDtypeStruct((3,), np.float32), 2.0)
    assert [repr(o) for o in lo.out_info] == ["ShapeDtypeStruct(shape=(3,), dtype=float32)",
                                             "ShapeDtypeStruct(shape=(), dtype=float32)"]
    args, kwargs = lo.args_info
    assert (args[0].shape, args[1].shape, kwargs) == ((3,), (), {})
    assert "stablehlo.multiply" in lo.as_text()
    with pytest.raises(TypeError, match=r"argument 0 is a ShapeDtypeStruct whose sharding is "
                                        r"a object; give a NamedSharding"):
        xform.jit(lambda x: x).lower(xform.ShapeDtypeStruct((2,), np.float32, sharding=object()))
    # the compiled program is the one the jitted function then runs
    g = xform.jit(lambda x: x + 1)
    g.lower(xform.ShapeDtypeStruct((2,), np.float32)).compile()
    assert g._cache_size() == 1
    np.testing.assert_array_equal(g(np.zeros(2, np.float32)), [1, 1])
    assert g._cache_size() == 1
