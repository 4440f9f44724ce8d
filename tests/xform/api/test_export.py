"""xform.export: export a jitted function, serialize it, load it (also in a fresh process,
and in JAX), call it eagerly and under jit, vmap and grad; every bad input is a clear
error."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jjnp
import ml_dtypes
import numpy as np
import pytest

import xform
import xform.numpy as jnp
from xform import export, jit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
F32 = np.float32
RNG = np.random.default_rng(0)
W1 = RNG.normal(size=(3, 5)).astype(F32)
W2 = RNG.normal(size=(5, 2)).astype(F32)


def mlp(params, x):
    h = jnp.tanh(x @ params["w1"])
    return {"out": h @ params["w2"], "norm": jnp.sum(h * h)}


def mlp_jax(params, x):
    h = jjnp.tanh(x @ params["w1"])
    return {"out": h @ params["w2"], "norm": jjnp.sum(h * h)}


PARAMS = {"w1": W1, "w2": W2}
X = RNG.normal(size=(4, 3)).astype(F32)


def _specs():
    return ({"w1": xform.ShapeDtypeStruct(W1.shape, F32),
             "w2": xform.ShapeDtypeStruct(W2.shape, F32)},
            xform.ShapeDtypeStruct(X.shape, F32))


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def test_exported_values_and_structure():
    exp = export.export(jit(mlp))(*_specs())
    assert [a.shape for a in exp.in_avals] == [(3, 5), (5, 2), (4, 3)]
    assert {a.shape for a in exp.out_avals} == {(), (4, 2)}
    assert exp.platforms == (export.default_export_platform(),)
    got = exp.call(PARAMS, X)
    want = mlp_jax(PARAMS, X)
    assert set(got) == {"out", "norm"}
    _close(got["out"], want["out"])
    _close(got["norm"], want["norm"], 1e-4)
    assert "func.func public @main" in exp.mlir_module()


def test_closed_over_constants_are_in_the_module():
    w = jnp.asarray(W1)
    exp = export.export(jit(lambda x: jnp.sin(x @ w)))(xform.ShapeDtypeStruct(X.shape, F32))
    assert len(exp.in_avals) == 1
    e2 = export.deserialize(exp.serialize())
    _close(e2.call(X), np.sin(X @ W1))


def test_round_trip_under_jit_vmap_grad():
    exp = export.export(jit(mlp))(*_specs())
    e2 = export.deserialize(exp.serialize(vjp_order=1))
    assert e2.has_vjp() and not e2.vjp().has_vjp()
    _close(jit(lambda p, x: e2.call(p, x)["out"] * 2)(PARAMS, X),
           mlp_jax(PARAMS, X)["out"] * 2)
    xs = RNG.normal(size=(3, 4, 3)).astype(F32)
    _close(xform.vmap(lambda x: e2.call(PARAMS, x)["out"])(xs),
           jax.vmap(lambda x: mlp_jax(PARAMS, x)["out"])(xs))

    def loss(p, x, m):
        out = m(p, x)
        return jnp.sum(out["out"] ** 2) + out["norm"]

    def loss_jax(p, x):
        out = mlp_jax(p, x)
        return jjnp.sum(out["out"] ** 2) + out["norm"]

    got = xform.grad(loss, argnums=(0, 1))(PARAMS, X, e2.call)
    want = jax.grad(loss_jax, argnums=(0, 1))(PARAMS, X)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        _close(g, w, 1e-4)
    # grad of the exported call inside jit, and vmap of its grad
    g_jit = jit(xform.grad(lambda x: loss(PARAMS, x, e2.call)))(X)
    _close(g_jit, jax.grad(lambda x: loss_jax(PARAMS, x))(X), 1e-4)


def test_second_order_needs_vjp_order_2():
    def f(x):
        return jnp.sum(jnp.sin(x) * x)

    spec = xform.ShapeDtypeStruct((3,), F32)
    x = np.float32([0.3, -1.2, 2.0])
    e1 = export.deserialize(export.export(jit(f))(spec).serialize(vjp_order=1))
    v = np.float32([1.0, -2.0, 0.5])

    def hvp(call):   # reverse over reverse (jacfwd would need a forward rule, as in JAX)
        return xform.grad(lambda x: jnp.sum(xform.grad(call)(x) * v))(x)

    with pytest.raises(TypeError, match="vjp_order"):
        hvp(e1.call)
    e2 = export.deserialize(export.export(jit(f))(spec).serialize(vjp_order=2))
    want = jax.hessian(lambda x: jjnp.sum(jjnp.sin(x) * x))(x) @ v
    _close(hvp(e2.call), want, 1e-4)


def test_integer_arguments_and_results():
    def f(x, n):
        return x * n, n + 1

    exp = export.export(jit(f))(xform.ShapeDtypeStruct((2,), F32),
                                xform.ShapeDtypeStruct((), np.int32))
    e2 = export.deserialize(exp.serialize(vjp_order=1))
    y, m = e2.call(np.float32([1, 2]), np.int32(3))
    _close(y, [3, 6])
    assert m.dtype == np.int32 and int(m) == 4
    g = xform.grad(lambda x: jnp.sum(e2.call(x, np.int32(3))[0]))(np.float32([1, 2]))
    _close(g, [3, 3])


def test_dtypes_bfloat16_and_float64():
    bf = ml_dtypes.bfloat16
    exp = export.export(jit(lambda x: x * 2))(xform.ShapeDtypeStruct((3,), bf))
    e2 = export.deserialize(exp.serialize())
    got = e2.call(np.array([1, 2, 3], bf))
    assert got.dtype == bf
    _close(np.asarray(got, F32), [2, 4, 6])


def test_fresh_process_serves_without_the_training_code(tmp_path):
    path = tmp_path / "model.xfexp"
    exp = export.export(jit(mlp))(*_specs())
    path.write_bytes(exp.serialize())
    np.save(tmp_path / "x.npy", X)
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        from xform import export
        exp = export.deserialize(open({str(path)!r}, "rb").read())
        x = np.load({str(tmp_path / 'x.npy')!r})
        import json
        w = json.loads(sys.stdin.read())
        out = exp.call({{"w1": np.array(w["w1"], np.float32),
                        "w2": np.array(w["w2"], np.float32)}}, x)
        print(json.dumps(np.asarray(out["out"]).tolist()))
        assert "test_export" not in sys.modules
    """)
    import json
    res = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=120,
                         input=json.dumps({"w1": W1.tolist(), "w2": W2.tolist()}))
    assert res.returncode == 0, res.stderr
    _close(np.array(json.loads(res.stdout)), mlp_jax(PARAMS, X)["out"])


def test_artifact_runs_in_jax():
    """The StableHLO payload is a plain portable artifact with ``main(*flat args)``: JAX's
    own ``jax.export.Exported`` built from the fields runs it, under jit too, and survives
    JAX's serialization (docs/differences.md gives this recipe)."""
    from jax import export as jexport
    exp = export.export(jit(lambda x, s: jnp.tanh(x @ W1) * s))(
        xform.ShapeDtypeStruct(X.shape, F32), xform.ShapeDtypeStruct((), F32))
    n_in, n_out = len(exp.in_avals), len(exp.out_avals)
    je = jexport.Exported(
        fun_name=exp.fun_name,
        in_tree=jax.tree_util.tree_structure(((0,) * n_in, {})),
        in_avals=tuple(jax.core.ShapedArray(a.shape, a.dtype) for a in exp.in_avals),
        out_tree=jax.tree_util.tree_structure(0),
        out_avals=tuple(jax.core.ShapedArray(a.shape, a.dtype) for a in exp.out_avals),
        in_shardings_hlo=(None,) * n_in, out_shardings_hlo=(None,) * n_out,
        nr_devices=1, platforms=exp.platforms, ordered_effects=(), unordered_effects=(),
        disabled_safety_checks=(), mlir_module_serialized=exp.mlir_module_serialized,
        calling_convention_version=9, module_kept_var_idx=tuple(range(n_in)),
        uses_global_constants=False, _get_vjp=None, _has_named_shardings=True,
        _in_named_shardings=(None,) * n_in, _out_named_shardings=(None,) * n_out)
    want = np.tanh(X @ W1) * 2
    _close(je.call(X, F32(2)), want)
    _close(jax.jit(je.call)(X, F32(2)), want)
    _close(jexport.deserialize(je.serialize()).call(X, F32(2)), want)


def test_make_jaxpr_shows_one_call():
    exp = export.export(jit(mlp))(*_specs())
    e2 = export.deserialize(exp.serialize())
    jaxpr = xform.make_jaxpr(lambda p, x: e2.call(p, x))(PARAMS, X)
    assert [e.prim.name for e in jaxpr.jaxpr.eqns] == ["call_exported"]


def test_two_exported_programs_in_one_jit():
    e_sin = export.export(jit(jnp.sin))(xform.ShapeDtypeStruct((3,), F32))
    e_cos = export.export(jit(jnp.cos))(xform.ShapeDtypeStruct((3,), F32))
    x = np.float32([0.1, 0.2, 0.3])
    _close(jit(lambda x: e_sin.call(x) + e_cos.call(e_sin.call(x)))(x),
           np.sin(x) + np.cos(np.sin(x)))


# --- errors ------------------------------------------------------------------------------------

def test_call_with_wrong_arguments_names_them():
    exp = export.export(jit(mlp))(*_specs())
    with pytest.raises(TypeError, match=r"argument args\[1\] is f32\[4,4\], but the function "
                                        r"was exported for f32\[4,3\].*test_export.py"):
        exp.call(PARAMS, np.zeros((4, 4), F32))
    with pytest.raises(TypeError, match="structured as"):
        exp.call(X)
    with pytest.raises(TypeError, match=r"args\[0\]\['w1'\] is i32\[3,5\]"):
        exp.call({"w1": np.zeros((3, 5), np.int32), "w2": W2}, X)


def test_bad_bytes_are_clear_errors():
    blob = export.export(jit(jnp.sin))(xform.ShapeDtypeStruct((3,), F32)).serialize()
    with pytest.raises(ValueError, match="not a serialized xform Exported"):
        export.deserialize(b"garbage-garbage-garbage")
    with pytest.raises(ValueError, match="corrupted or truncated"):
        export.deserialize(blob[:-10])
    flipped = bytearray(blob)
    flipped[-5] ^= 0xFF
    with pytest.raises(ValueError, match="checksum"):
        export.deserialize(bytes(flipped))
    newer = bytearray(blob)
    newer[8:12] = (99).to_bytes(4, "little")
    with pytest.raises(ValueError, match="format version 99.*upgrade xform"):
        export.deserialize(bytes(newer))
    with pytest.raises(TypeError, match="expected bytes"):
        export.deserialize("abc")


def test_unreadable_stablehlo_is_a_clear_error():
    exp = export.export(jit(jnp.sin))(xform.ShapeDtypeStruct((3,), F32))
    bad = export.Exported(fun_name="sin", in_tree=exp.in_tree, in_avals=exp.in_avals,
                          out_tree=exp.out_tree, out_avals=exp.out_avals,
                          platforms=exp.platforms, mlir_module_serialized=b"ML\xefR junk",
                          stablehlo_version="9.9.9")
    with pytest.raises(ValueError, match=r"StableHLO 9\.9\.9, which this jaxlib"):
        bad.call(np.zeros(3, F32))


def test_export_refusals():
    with pytest.raises(TypeError, match=r"wrapped in xform.jit"):
        export.export(jnp.sin)
    with pytest.raises(ValueError, match="unknown platform 'gpu'"):
        export.export(jit(jnp.sin), platforms=("gpu",))

    def noisy(x):
        xform.debug.print("x={}", x)
        return x * 2
    with pytest.raises(ValueError, match="host callback"):
        export.export(jit(noisy))(xform.ShapeDtypeStruct((3,), F32))
    with pytest.raises(ValueError, match="vjp_order must be"):
        export.export(jit(jnp.sin))(xform.ShapeDtypeStruct((3,), F32)).serialize(-1)


def test_platform_mismatch_and_forward_mode():
    here = export.default_export_platform()
    other = "tpu" if here != "tpu" else "cpu"
    exp = export.export(jit(jnp.sin), platforms=(other,))(xform.ShapeDtypeStruct((3,), F32))
    with pytest.raises(ValueError, match=f"exported for {other}, but is called on {here}"):
        exp.call(np.zeros(3, F32))
    ok = export.export(jit(jnp.sin), platforms=(other,),
                       disabled_checks=[export.DisabledSafetyCheck.platform()])(
        xform.ShapeDtypeStruct((3,), F32))
    _close(ok.call(np.float32([0, 1, 2])), np.sin([0, 1, 2]))
    e2 = export.deserialize(export.export(jit(jnp.sin))(
        xform.ShapeDtypeStruct((3,), F32)).serialize())
    with pytest.raises(TypeError, match="forward mode"):
        xform.jvp(e2.call, (np.zeros(3, F32),), (np.ones(3, F32),))
    with pytest.raises(TypeError, match="serialized with vjp_order >= 1"):
        xform.grad(lambda x: e2.call(x).sum())(np.zeros(3, F32))


def test_custom_nodes_serialize_once_registered(monkeypatch):
    """Arguments and results structured with a namedtuple or a custom pytree node
    serialize once registered (JAX's register_namedtuple_serialization /
    register_pytree_node_serialization), also inside dicts; the reading process must
    know the name; unregistered ones are clear errors."""
    from collections import namedtuple
    from xform.core import pytree as _pt
    monkeypatch.setattr(_pt, "_SERIALIZED_TYPES", {})
    monkeypatch.setattr(_pt, "_SERIALIZED_NAMES", {})
    P = namedtuple("P", "a b")

    class Scaled:                        # a custom node with auxiliary data (the scale)
        def __init__(self, x, scale):
            self.x, self.scale = x, scale
    xform.tree_util.register_pytree_node(
        Scaled, lambda s: ((s.x,), s.scale), lambda scale, kids: Scaled(kids[0], scale))
    S = xform.ShapeDtypeStruct((), F32)
    f = jit(lambda p, s: {"sum": P(p.a + p.b, s.x * s.scale), "s": Scaled(s.x + 1, s.scale)})
    exp = export.export(f)(P(S, S), Scaled(S, 3))
    with pytest.raises(TypeError, match="register_pytree_node_serialization"):
        exp.serialize()
    export.register_namedtuple_serialization(P, serialized_name="test.P")
    with pytest.raises(TypeError, match="Scaled"):
        exp.serialize()
    export.register_pytree_node_serialization(
        Scaled, serialized_name="test.Scaled", serialize_auxdata=lambda s: str(s).encode(),
        deserialize_auxdata=lambda b: int(b.decode()))
    blob = exp.serialize()
    out = export.deserialize(blob).call(P(F32(1), F32(2)), Scaled(F32(5), 3))
    assert isinstance(out["sum"], P) and isinstance(out["s"], Scaled) and out["s"].scale == 3
    _close(out["sum"].a, 3.0)
    _close(out["sum"].b, 15.0)
    _close(out["s"].x, 6.0)
    with pytest.raises(ValueError, match="already registered"):
        export.register_namedtuple_serialization(P, serialized_name="other.P")
    with pytest.raises(TypeError, match="not a namedtuple"):
        export.register_namedtuple_serialization(dict, serialized_name="d")
    with pytest.raises(ValueError, match="not a registered pytree node"):
        export.register_pytree_node_serialization(
            object, serialized_name="o", serialize_auxdata=bytes, deserialize_auxdata=bytes)
    monkeypatch.setattr(_pt, "_SERIALIZED_NAMES", {})      # a process that never registered
    with pytest.raises(ValueError, match="'test.P', which this process has not registered"):
        export.deserialize(blob)