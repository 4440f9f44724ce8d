"""xform.scipy.ndimage.map_coordinates against JAX: every mode, orders 0 and 1, integer
input, gradients, jit, vmap and a misuse."""
import numpy as np
import pytest

import jax
import jax.scipy.ndimage as jn

import xform
import xform.scipy.ndimage as xn

R = np.random.default_rng(2)


def _close(o, t, tol=1e-5):
    o, t = np.asarray(o), np.asarray(t)
    assert o.shape == t.shape and o.dtype == t.dtype, (o.shape, t.shape, o.dtype, t.dtype)
    np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
@pytest.mark.parametrize("order", [0, 1])
def test_matches_jax(mode, order):
    x = R.normal(size=(4, 5)).astype(np.float32)
    c = [R.uniform(-3, 7, size=(6,)).astype(np.float32) for _ in range(2)]
    c[0][:2] = [1.5, -0.5]   # ties round away from zero, as in JAX
    _close(xn.map_coordinates(x, c, order, mode=mode, cval=0.5),
           jn.map_coordinates(x, c, order, mode=mode, cval=0.5))
    xi = np.arange(20, dtype=np.int32).reshape(4, 5)
    _close(xn.map_coordinates(xi, c, order, mode=mode), jn.map_coordinates(xi, c, order, mode=mode))


def test_grad_jit_vmap():
    x = R.normal(size=(4, 5)).astype(np.float32)
    c = np.stack([R.uniform(0, 3, 6), R.uniform(0, 4, 6)]).astype(np.float32)

    def loss(m):
        return lambda x, c: (m.scipy.ndimage.map_coordinates(x, [c[0], c[1]], 1) ** 2).sum()
    g = xform.grad(loss(xform), argnums=(0, 1))(x, c)
    gj = jax.grad(loss(jax), argnums=(0, 1))(x, c)
    _close(g[0], gj[0], 1e-4)
    _close(g[1], gj[1], 1e-4)
    f = xform.jit(lambda x, c: xn.map_coordinates(x, [c[0], c[1]], 1, mode="wrap"))
    _close(f(x, c), jn.map_coordinates(x, [c[0], c[1]], 1, mode="wrap"))
    cs = np.stack([c, c + 0.25])
    _close(xform.vmap(lambda c: xn.map_coordinates(x, [c[0], c[1]], 1))(cs),
           jax.vmap(lambda c: jn.map_coordinates(x, [c[0], c[1]], 1))(cs))


def test_misuse_names_argument_and_line():
    with pytest.raises(NotImplementedError, match=r"order=3.*test_ndimage\.py:\d+"):
        xn.map_coordinates(np.ones((2, 2)), [np.zeros(1), np.zeros(1)], 3)
    with pytest.raises(ValueError, match=r"coordinates must hold one array per.*test_ndimage"):
        xn.map_coordinates(np.ones((2, 2)), [np.zeros(1)], 1)
