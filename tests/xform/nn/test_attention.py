"""nn.dot_product_attention against jax.nn's (XLA implementation): grouped-query heads,
bias, masks (boolean, causal, local window, sequence lengths), scale, the residual,
unbatched inputs, bfloat16, gradients, and bad shapes named."""
import ml_dtypes
import numpy as np
import pytest

import jax
import jax.numpy as jnp_

import xform
import xform.numpy as xnp

rng = np.random.default_rng(0)
B, T, S, N, K, H = 2, 4, 5, 4, 2, 8
Q = rng.normal(size=(B, T, N, H)).astype(np.float32)
KK = rng.normal(size=(B, S, K, H)).astype(np.float32)
V = rng.normal(size=(B, S, K, H)).astype(np.float32)
BIAS = rng.normal(size=(B, 1, T, S)).astype(np.float32)
MASK = rng.uniform(size=(B, N, T, S)) > 0.3
LENS = dict(query_seq_lengths=np.array([3, 4], np.int32),
            key_value_seq_lengths=np.array([5, 2], np.int32))


@pytest.mark.parametrize("kw", [{}, {"bias": BIAS}, {"mask": MASK}, {"is_causal": True},
                                {"local_window_size": 1}, LENS,
                                {"scale": 0.3, "bias": BIAS, "mask": MASK, "is_causal": True}],
                         ids=["plain", "bias", "mask", "causal", "window", "lengths", "all"])
def test_values_match_jax(kw):
    got = xform.nn.dot_product_attention(Q, KK, V, **kw)
    want = jax.nn.dot_product_attention(Q, KK, V, **kw)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_residual_unbatched_bfloat16_and_gradients():
    got, res = xform.nn.dot_product_attention(Q, KK, V, is_causal=True, return_residual=True)
    want, wres = jax.nn.dot_product_attention(Q, KK, V, is_causal=True, return_residual=True)
    np.testing.assert_allclose(np.asarray(res), np.asarray(wres), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(xform.nn.dot_product_attention(Q[0], KK[0], V[0])),
                               np.asarray(jax.nn.dot_product_attention(Q[0], KK[0], V[0])),
                               atol=1e-5)
    qb, kb, vb = (x.astype(ml_dtypes.bfloat16) for x in (Q, KK, V))
    got = xform.nn.dot_product_attention(qb, kb, vb)
    assert got.dtype == ml_dtypes.bfloat16
    np.testing.assert_allclose(np.asarray(got, np.float32),
                               np.asarray(jax.nn.dot_product_attention(qb, kb, vb), np.float32),
                               atol=1e-2)
    loss_x = lambda q, k, v: xnp.sum(xform.nn.dot_product_attention(q, k, v, is_causal=True) ** 2)  # noqa: E731,E501
    loss_j = lambda q, k, v: jnp_.sum(jax.nn.dot_product_attention(q, k, v, is_causal=True) ** 2)  # noqa: E731,E501
    for g, w in zip(xform.grad(loss_x, (0, 1, 2))(Q, KK, V), jax.grad(loss_j, (0, 1, 2))(Q, KK, V)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-5)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="query heads .3. must be a multiple"):
        xform.nn.dot_product_attention(Q[:, :, :3], KK, V)
    with pytest.raises(ValueError, match="value must have shape"):
        xform.nn.dot_product_attention(Q, KK, V[:, :4])
    with pytest.raises(NotImplementedError, match="cudnn"):
        xform.nn.dot_product_attention(Q, KK, V, implementation="cudnn")
