"""nn.scaled_matmul against JAX's documented definition (JAX's own raises on the CPU:
its only lowering is cuDNN's), in values, dtypes, gradients and under vmap/jit."""
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import xform
import xform.nn as xnn


def _jax_definition(a, b, sa, sb, out=jnp.float32):
    """The formula of jax.nn.scaled_matmul's docstring, computed in float32."""
    a, b, sa, sb = (jnp.asarray(x).astype(jnp.float32) for x in (a, b, sa, sb))
    a = a * jnp.repeat(sa, a.shape[-1] // sa.shape[-1], axis=-1)
    b = b * jnp.repeat(sb, b.shape[-1] // sb.shape[-1], axis=-1)
    return jnp.einsum("BMK,BNK->BMN", a, b, precision="highest").astype(out)


def _operands(dtype, blocks=(2, 4), seed=0):
    r = np.random.default_rng(seed)
    a = r.normal(size=(2, 4, 32)).astype(dtype)
    b = r.normal(size=(2, 3, 32)).astype(dtype)
    sa = r.uniform(0.5, 2, size=(2, 4, blocks[0])).astype(np.float32)
    sb = r.uniform(0.5, 2, size=(2, 3, blocks[1])).astype(np.float32)
    return a, b, sa, sb


def test_docstring_example():
    a = np.array([1, 2, 3]).reshape(1, 1, 3)
    b = np.array([4, 5, 6]).reshape(1, 1, 3)
    s = np.array([0.5]).reshape(1, 1, 1)
    out = xnn.scaled_matmul(a, b, s, s)
    assert out.dtype == np.float32 and np.asarray(out).tolist() == [[[8.0]]]


@pytest.mark.parametrize("dtype", [np.float32, ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn,
                                   ml_dtypes.float8_e5m2])
@pytest.mark.parametrize("out", [np.float32, ml_dtypes.bfloat16])
def test_values_and_dtypes_match_the_definition(dtype, out):
    args = _operands(dtype)
    got = xform.jit(lambda *a: xnn.scaled_matmul(*a, preferred_element_type=out))(*args)
    want = _jax_definition(*args, out=out)
    assert got.dtype == want.dtype and got.shape == want.shape == (2, 4, 3)
    np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(want, np.float32),
                               rtol=1e-2 if out != np.float32 else 1e-5, atol=1e-5)


def test_gradients_and_vmap_match_the_definition():
    a, b, sa, sb = _operands(np.float32, seed=1)
    loss_x = lambda a, b, sa, sb: xform.numpy.sum(xnn.scaled_matmul(a, b, sa, sb) ** 2)
    loss_j = lambda a, b, sa, sb: jnp.sum(_jax_definition(a, b, sa, sb) ** 2)
    for gx, gj in zip(xform.grad(loss_x, argnums=(0, 1, 2, 3))(a, b, sa, sb),
                      jax.grad(loss_j, argnums=(0, 1, 2, 3))(a, b, sa, sb)):
        np.testing.assert_allclose(np.asarray(gx), np.asarray(gj), rtol=1e-4, atol=1e-4)
    stack = lambda x: np.stack([x, 2 * x])
    got = xform.vmap(xnn.scaled_matmul)(*(stack(x) for x in (a, b, sa, sb)))
    want = jax.vmap(_jax_definition)(*(stack(x) for x in (a, b, sa, sb)))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-4)


def test_bad_shapes_name_the_argument():
    a, b, sa, sb = _operands(np.float32)
    with pytest.raises(ValueError, match=r"must be 3-d"):
        xnn.scaled_matmul(a[0], b, sa, sb)
    with pytest.raises(ValueError, match=r"lhs \(2, 4, 32\) and rhs \(2, 3, 16\)"):
        xnn.scaled_matmul(a, b[..., :16], sa, sb)
    with pytest.raises(ValueError, match=r"rhs_scales has 3 blocks.*K = 32.*test_scaled_matmul"):
        xnn.scaled_matmul(a, b, sa, np.ones((2, 3, 3), np.float32))
