"""lax.scaled_dot: bit for bit JAX's on the CPU (XLA's decomposition), in every layout and
dtype; derivatives (which JAX's lacks) against the same formula written with jax.numpy."""
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import xform

F8, BF16 = ml_dtypes.float8_e4m3fn, ml_dtypes.bfloat16


def _case(lhs_shape, rhs_shape, ls_shape, rs_shape, dtype, seed=0):
    r = np.random.default_rng(seed)
    return (r.normal(size=lhs_shape).astype(dtype), r.normal(size=rhs_shape).astype(dtype),
            r.uniform(0.5, 2, size=ls_shape).astype(np.float32),
            r.uniform(0.5, 2, size=rs_shape).astype(np.float32))


CASES = [  # (lhs, rhs, lhs_scale, rhs_scale, dimension_numbers)
    ((2, 4, 64), (2, 64, 3), (2, 4, 2), (2, 2, 3), None),
    ((4, 64), (64, 3), (4, 4), (8, 3), None),
    ((3, 32), (5, 32), (3, 1), (5, 2), (((1,), (1,)), ((), ()))),
]


@pytest.mark.parametrize("shapes", CASES, ids=str)
@pytest.mark.parametrize("dtype", [F8, ml_dtypes.float8_e5m2, BF16, np.float32])
@pytest.mark.parametrize("out", [None, np.float32])
def test_bits_equal_jax(shapes, dtype, out):
    *shp, dn = shapes
    l, r, ls, rs = _case(*shp, dtype)
    kw = dict(dimension_numbers=dn, preferred_element_type=out)
    want = jax.lax.scaled_dot(l, r, lhs_scale=ls, rhs_scale=rs, **kw)
    got = xform.jit(lambda *a: xform.lax.scaled_dot(a[0], a[1], lhs_scale=a[2],
                                                    rhs_scale=a[3], **kw))(l, r, ls, rs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))
    eager = xform.lax.scaled_dot(l, r, lhs_scale=ls, rhs_scale=rs, **kw)
    np.testing.assert_array_equal(np.asarray(eager, np.float32), np.asarray(want, np.float32))


def test_without_scales_equals_jax():
    l, r, _, _ = _case((4, 64), (64, 3), (4, 1), (1, 3), F8)
    np.testing.assert_array_equal(np.asarray(xform.lax.scaled_dot(l, r), np.float32),
                                  np.asarray(jax.lax.scaled_dot(l, r), np.float32))


def _formula(l, r, ls, rs):
    """The op in jax.numpy: bfloat16 products of repeated scales, float32 accumulation."""
    a = jnp.asarray(l).astype(BF16) * jnp.repeat(jnp.asarray(ls).astype(BF16), 32, axis=-1)
    b = jnp.asarray(r).astype(BF16) * jnp.repeat(jnp.asarray(rs).astype(BF16), 32, axis=0)
    return jax.lax.dot_general(a, b, (((1,), (0,)), ((), ())), preferred_element_type=jnp.float32)


def test_gradients_and_vmap():
    l, r, ls, rs = _case((4, 64), (64, 3), (4, 2), (2, 3), np.float32, seed=3)
    f = lambda l, r, ls, rs: xform.numpy.sum(xform.lax.scaled_dot(
        l, r, lhs_scale=ls, rhs_scale=rs, preferred_element_type=np.float32) ** 2)
    g = lambda l, r, ls, rs: jnp.sum(_formula(l, r, ls, rs) ** 2)
    for gx, gj in zip(xform.grad(f, argnums=(0, 1, 2, 3))(l, r, ls, rs),
                      jax.grad(g, argnums=(0, 1, 2, 3))(l, r, ls, rs)):
        assert gx.dtype == gj.dtype
        np.testing.assert_allclose(np.asarray(gx, np.float32), np.asarray(gj, np.float32),
                                   rtol=2e-2, atol=1e-2)
    sd = lambda l, r, ls, rs: xform.lax.scaled_dot(l, r, lhs_scale=ls, rhs_scale=rs)
    stacked = [np.stack([x, x[::-1]]) for x in (l, r, ls, rs)]
    got = xform.vmap(sd)(*stacked)
    for i in range(2):
        np.testing.assert_array_equal(np.asarray(got[i], np.float32),
                                      np.asarray(sd(*(x[i] for x in stacked)), np.float32))


def test_bad_scales_name_the_argument():
    l, r, ls, rs = _case((4, 64), (64, 3), (4, 2), (2, 3), F8)
    with pytest.raises(TypeError, match=r"lhs_scale's contracting dimension 1 has 3 blocks"):
        xform.lax.scaled_dot(l, r, lhs_scale=np.ones((4, 3), np.float32), rhs_scale=rs)
    with pytest.raises(TypeError, match=r"rhs_scale \(2, 4\) and rhs \(64, 3\) differ"):
        xform.lax.scaled_dot(l, r, lhs_scale=ls, rhs_scale=np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match=r"both be 2-d or both 3-d.*test_scaled_dot"):
        xform.lax.scaled_dot(l[None], r)


def test_grad_of_a_wider_accumulating_dot_general_equals_jax():
    """The transpose of dot_general(bf16, bf16, preferred_element_type=f32) meets an f32
    cotangent with a bf16 operand (it raised "operand dtypes must be equal")."""
    a = np.random.default_rng(0).normal(size=(4, 8)).astype(BF16)
    b = np.random.default_rng(1).normal(size=(8, 3)).astype(BF16)

    def loss(m):
        return lambda a, b: (m.lax.dot_general(a, b, (((1,), (0,)), ((), ())),
                                               preferred_element_type=np.float32) ** 2).sum()
    for gx, gj in zip(xform.grad(loss(xform), argnums=(0, 1))(a, b),
                      jax.grad(loss(jax), argnums=(0, 1))(a, b)):
        assert gx.dtype == gj.dtype == BF16
        np.testing.assert_array_equal(np.asarray(gx, np.float32), np.asarray(gj, np.float32))
