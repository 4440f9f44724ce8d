"""float8_* and int4/uint4 against JAX: promotion (JAX's lattice: they meet only Python
scalars, bools and, for float8, integers), creation, conversions both ways, arithmetic,
reductions, eager and jit, and their StableHLO types."""
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import xform
import xform.numpy as xnp

NARROW = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz", "float8_e4m3fnuz",
          "float8_e5m2fnuz", "float8_e3m4", "float8_e4m3", "int4", "uint4"]
FLOAT8 = NARROW[:7]
OTHERS = ["bool_", "int8", "uint8", "int16", "int32", "uint32", "bfloat16", "float16",
          "float32", "complex64"]
SCALARS = [True, 1, 1.0, 1j]
HLO = {"float8_e4m3fn": "f8E4M3FN", "float8_e5m2": "f8E5M2",
       "float8_e4m3b11fnuz": "f8E4M3B11FNUZ", "float8_e4m3fnuz": "f8E4M3FNUZ",
       "float8_e5m2fnuz": "f8E5M2FNUZ", "float8_e3m4": "f8E3M4", "float8_e4m3": "f8E4M3",
       "int4": "i4", "uint4": "ui4"}


def same(got, want, where=""):
    """Same shape, dtype, weak type and bits (NaNs as NaNs)."""
    assert isinstance(got, xform.Array), where
    assert got.shape == want.shape, f"{where}: shape {got.shape} vs {want.shape}"
    assert got.dtype == want.dtype, f"{where}: dtype {got.dtype} vs {want.dtype}"
    assert got.weak_type == want.weak_type, f"{where}: weak_type {got.weak_type}"
    g, w = np.asarray(got), np.asarray(want)
    if np.dtype(g.dtype).kind in "fcV" and g.dtype.name not in ("int4", "uint4"):
        gf, wf = g.astype(np.float32) if g.dtype.kind == "V" else g, \
            w.astype(np.float32) if w.dtype.kind == "V" else w
        np.testing.assert_array_equal(np.isnan(gf), np.isnan(wf), err_msg=where)
        np.testing.assert_array_equal(np.where(np.isnan(gf), 0, gf),
                                      np.where(np.isnan(wf), 0, wf), err_msg=where)
    else:
        np.testing.assert_array_equal(g, w, err_msg=where)


@pytest.mark.parametrize("name", NARROW)
def test_names_are_the_ml_dtypes(name):
    assert np.dtype(getattr(xnp, name)) == np.dtype(getattr(ml_dtypes, name))
    assert getattr(xnp, name) == getattr(jnp, name)
    for parent in (np.floating, np.inexact, np.integer, np.signedinteger, np.unsignedinteger,
                   np.number, np.generic):
        assert xnp.issubdtype(getattr(xnp, name), parent) == \
            jnp.issubdtype(getattr(jnp, name), parent), parent
    info = xnp.finfo if name in FLOAT8 else xnp.iinfo
    jinfo = jnp.finfo if name in FLOAT8 else jnp.iinfo
    assert float(info(getattr(xnp, name)).max) == float(jinfo(getattr(jnp, name)).max)
    assert float(info(getattr(xnp, name)).min) == float(jinfo(getattr(jnp, name)).min)


@pytest.mark.parametrize("name", NARROW)
def test_promotion_as_jax(name):
    a = getattr(xnp, name)
    ja = getattr(jnp, name)
    for other in NARROW + OTHERS + SCALARS:
        xb = getattr(xnp, other) if isinstance(other, str) else type(other)
        jb = getattr(jnp, other) if isinstance(other, str) else type(other)
        for xs, js in (((a, xb), (ja, jb)), ((xb, a), (jb, ja))):
            try:
                want = jnp.result_type(*js)
            except ValueError:
                with pytest.raises(ValueError, match="no implicit promotion path"):
                    xnp.result_type(*xs)
                continue
            assert xnp.result_type(*xs) == want, (xs, want)


@pytest.mark.parametrize("name", NARROW)
def test_operations_promote_as_jax(name):
    x = np.asarray([1, 2, 3], getattr(ml_dtypes, name))
    xa, ja = xnp.asarray(x), jnp.asarray(x)
    for scalar in (2, 1.5, True):
        try:
            want = ja * scalar
        except ValueError:   # int4 * 1.5
            with pytest.raises(ValueError, match=f"'{name}', 'float'"):
                xa * scalar
            continue
        same(xa * scalar, want, f"{name} * {scalar!r}")
        same(scalar + xa, scalar + ja, f"{scalar!r} + {name}")
    for other in ("int32", "float32", "bfloat16"):
        y = np.ones(3, other)
        try:
            want = ja + jnp.asarray(y)
        except ValueError:
            with pytest.raises(ValueError, match=f"'{name}', '{other}'.*astype"):
                xa + xnp.asarray(y)
            continue
        same(xa + xnp.asarray(y), want, f"{name} + {other}")


def _values(name):
    if name in FLOAT8:
        v = np.asarray([0.0, -0.0, 1.3, -2.75, 0.01, 3e-3, 17.0, 300.0, 1e5, -1e5, np.inf,
                        -np.inf, np.nan, 0.3333], np.float32)
    else:
        v = np.asarray([0, 1, -1, 7, 8, -8, -9, 15, 16, 3], np.float32)
    return v


@pytest.mark.parametrize("name", NARROW)
def test_creation_as_jax(name):
    dt_x, dt_j = getattr(xnp, name), getattr(jnp, name)
    vals = [0, 1, 3, -2] if name != "uint4" else [0, 1, 3, 14]
    same(xnp.array(vals, dt_x), jnp.array(vals, dt_j), "array")
    same(xnp.asarray(np.asarray(vals, dt_j)), jnp.asarray(np.asarray(vals, dt_j)), "asarray")
    same(xnp.zeros((2, 3), dt_x), jnp.zeros((2, 3), dt_j), "zeros")
    same(xnp.ones(4, dt_x), jnp.ones(4, dt_j), "ones")
    same(xnp.full((2,), 3, dt_x), jnp.full((2,), 3, dt_j), "full")
    same(xnp.arange(5, dtype=dt_x), jnp.arange(5, dtype=dt_j), "arange")
    same(dt_x(3), dt_j(3), "scalar type")
    same(xform.device_put(np.asarray(vals, dt_j)), jax.device_put(np.asarray(vals, dt_j)),
         "device_put")


@pytest.mark.parametrize("name", NARROW)
def test_conversions_both_ways(name):
    v = _values(name)
    dt_x, dt_j = getattr(xnp, name), getattr(jnp, name)
    to_narrow = lambda lib, dt: lambda a: a.astype(dt)  # noqa: E731
    src = v if name in FLOAT8 else v.astype(np.int32)
    same(xnp.asarray(src).astype(dt_x), jnp.asarray(src).astype(dt_j), "to, eager")
    same(xform.jit(to_narrow(xnp, dt_x))(src), jax.jit(to_narrow(jnp, dt_j))(src), "to, jit")
    same(xform.lax.convert_element_type(src, dt_x),
         jax.lax.convert_element_type(src, dt_j), "lax.convert_element_type")
    narrow = np.asarray(jnp.asarray(src).astype(dt_j))
    for back in ("float32", "int32", "bfloat16", "bool_", *NARROW):
        bx, bj = getattr(xnp, back), getattr(jnp, back)
        same(xnp.asarray(narrow).astype(bx), jnp.asarray(narrow).astype(bj), f"-> {back}")
        same(xform.jit(lambda a: a.astype(bx))(narrow), jax.jit(lambda a: a.astype(bj))(narrow),
             f"jit -> {back}")


def _ops(lib, x, y, floating):
    out = [x + y, x * y, x - y, lib.maximum(x, y), lib.minimum(x, y), x < y, x == y,
           lib.max(x), lib.min(x, axis=0), lib.where(x > y, x, y), lib.concatenate([x, y]),
           x.T, x.reshape(3, 2)[1:], x * 2, 3 + y]
    if floating:
        out += [lib.sin(x), lib.exp(x / 4), x / y, lib.abs(x), -x, lib.sqrt(lib.abs(x)),
                x @ y.T, lib.sum(x, axis=1), lib.mean(x), lib.cumsum(x, axis=1), x * 0.5]
    else:
        out += [x // y, x % y, x & y, x | y, x << 1]
    return out


@pytest.mark.parametrize("name", NARROW)
def test_arithmetic_and_reductions_eager_and_jit(name):
    dt = getattr(ml_dtypes, name)
    floating = name in FLOAT8
    if floating:
        x = np.asarray([[0.5, -1.25, 3.0], [2.0, 0.125, -6.0]], dt)
        y = np.asarray([[1.0, 2.0, -0.5], [0.25, 4.0, 1.5]], dt)
    else:
        x = np.asarray([[1, -2, 3], [2, 0, -4]] if name == "int4" else [[1, 2, 3], [2, 0, 4]], dt)
        y = np.asarray([[1, 2, 1], [3, 1, 1]], dt)
    want = _ops(jnp, jnp.asarray(x), jnp.asarray(y), floating)
    got = _ops(xnp, xnp.asarray(x), xnp.asarray(y), floating)
    for k, (g, w) in enumerate(zip(got, want)):
        same(g, w, f"eager op {k}")
    got = xform.jit(lambda a, b: _ops(xnp, a, b, floating))(x, y)
    want = jax.jit(lambda a, b: _ops(jnp, a, b, floating))(x, y)
    for k, (g, w) in enumerate(zip(got, want)):
        same(g, w, f"jit op {k}")


@pytest.mark.parametrize("name", NARROW)
def test_stablehlo_types(name):
    x = np.ones(3, getattr(ml_dtypes, name))
    text = xform.jit(lambda a: a + xnp.asarray(np.arange(3).astype(a.dtype))).lower(x).as_text()
    assert f"tensor<3x{HLO[name]}>" in text
    assert f"tensor<3x{HLO[name]}>" in jax.jit(lambda a: a).lower(x).as_text()


@pytest.mark.parametrize("name", FLOAT8)
def test_float8_grad_and_vmap(name):
    x = np.asarray([0.5, 1.5, -2.0], getattr(ml_dtypes, name))
    f = lambda lib: lambda a: lib.sum(lib.sin(a) * a)  # noqa: E731
    same(xform.grad(f(xnp))(x), jax.grad(f(jnp))(x), "grad")
    same(xform.vmap(lambda a: a * 2)(x), jax.vmap(lambda a: a * 2)(x), "vmap")


def test_promotion_error_names_the_dtypes():
    with pytest.raises(ValueError, match=r"\('float8_e4m3fn', 'float32'\).*astype\('float32'\)"):
        xnp.ones(2, xnp.float8_e4m3fn) + xnp.ones(2, xnp.float32)
    with pytest.raises(TypeError, match=r"\('int4', 'int8'\).*astype\('int32'\)"):
        xnp.ones(2, xnp.int4) * xnp.ones(2, xnp.int8)   # (also a TypeError)
