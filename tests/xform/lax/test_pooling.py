"""Pooling through lax.reduce_window against jax.lax: values, and gradients that match
JAX exactly, including overlapping windows, SAME padding and ties (the cotangent of a
max-pool window goes to the first maximal element of the window, as XLA's
select_and_scatter_add does)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.lax as xl
import xform.numpy as xnp

RNG = np.random.default_rng(1)
# small integers: most windows hold several equal maxima
TIES = RNG.integers(0, 3, (2, 7, 6, 3)).astype(np.float32)
DISTINCT = RNG.permutation(2 * 7 * 6 * 3).reshape(2, 7, 6, 3).astype(np.float32) / 10

# (window, strides, padding) in NHWC: overlapping windows, SAME / explicit padding
POOLS = [((1, 3, 3, 1), (1, 2, 2, 1), "SAME"),
         ((1, 2, 3, 1), (1, 1, 2, 1), ((0, 0), (1, 1), (0, 2), (0, 0))),
         ((1, 3, 2, 1), (1, 3, 2, 1), "VALID")]


def _max_pool(L, window, strides, padding):
    return lambda x: L.reduce_window(x, -np.inf, L.max, window, strides, padding)


def _min_pool(L, window, strides, padding):
    return lambda x: L.reduce_window(x, np.inf, L.min, window, strides, padding)


def _avg_pool(L, window, strides, padding):
    """Average over the elements inside the operand (padding excluded from the count)."""
    def f(x):
        total = L.reduce_window(x, 0.0, L.add, window, strides, padding)
        ones = (x * 0 + 1) if L is xl else jnp.ones_like(x)
        return total / L.reduce_window(ones, 0.0, L.add, window, strides, padding)
    return f


def _loss(pool, L, np_mod, *cfg):
    """A small model: pooled features, a nonlinearity and a weighted sum."""
    p = pool(L, *cfg)

    def f(x):
        y = p(x * 1.5)
        w = np_mod.arange(y.size, dtype=np.float32).reshape(y.shape) / y.size
        return np_mod.sum(np_mod.tanh(y) * w)
    return f


@pytest.mark.parametrize("pool,cfg,x", [
    (_max_pool, POOLS[0], TIES), (_max_pool, POOLS[1], TIES), (_max_pool, POOLS[2], DISTINCT),
    (_min_pool, POOLS[1], TIES), (_avg_pool, POOLS[0], TIES), (_avg_pool, POOLS[1], DISTINCT)],
    ids=["max_same", "max_explicit", "max_valid", "min_explicit", "avg_same", "avg_explicit"])
def test_pool_value_and_grad_match_jax(pool, cfg, x):
    got_v, got_g = xform.jit(xform.value_and_grad(_loss(pool, xl, xnp, *cfg)))(x)
    want_v, want_g = jax.value_and_grad(_loss(pool, jax.lax, jnp, *cfg))(x)
    np.testing.assert_allclose(float(got_v), float(want_v), rtol=1e-6)
    got_g, want_g = np.asarray(got_g), np.asarray(want_g)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-5, atol=1e-8)
    # the same elements receive a gradient (max/min pools: one per window)
    np.testing.assert_array_equal(got_g == 0, want_g == 0)


@pytest.mark.parametrize("pool,cfg", [(_max_pool, POOLS[0]), (_max_pool, POOLS[1]),
                                      (_max_pool, POOLS[2]), (_min_pool, POOLS[0])],
                         ids=["max_same", "max_explicit", "max_valid", "min_same"])
def test_pool_cotangent_routing_is_exact(pool, cfg):
    """Integer cotangents make every sum exact, so the routing must match bit for bit."""
    for x in (TIES, DISTINCT):
        f = jax.jit(lambda x, ct: jax.vjp(pool(jax.lax, *cfg), x)[1](ct)[0])
        g = xform.jit(lambda x, ct: xform.vjp(pool(xl, *cfg), x)[1](ct)[0])
        ct = RNG.integers(1, 50, jax.eval_shape(pool(jax.lax, *cfg), x).shape)
        ct = ct.astype(np.float32)
        np.testing.assert_array_equal(np.asarray(g(x, ct)), np.asarray(f(x, ct)))


def test_max_pool_jvp():
    """Without ties the JVP equals JAX's.  With ties JAX's forward mode picks whichever
    element XLA's reduce_window order happens to keep (it varies with padding and rank);
    ours picks the first maximum in row-major window order, the element reverse mode
    routes to, so that JVP and VJP are transposes of each other (dot-product test)."""
    pool = _max_pool(xl, *POOLS[0])
    t = RNG.integers(-9, 9, TIES.shape).astype(np.float32)
    got = xform.jvp(pool, (DISTINCT,), (t,))
    want = jax.jvp(_max_pool(jax.lax, *POOLS[0]), (DISTINCT,), (t,))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
    y, ty = xform.jvp(pool, (TIES,), (t,))
    ct = RNG.integers(-9, 9, y.shape).astype(np.float32)
    ct_x, = xform.vjp(pool, TIES)[1](ct)
    assert float(np.sum(np.asarray(ty) * ct)) == float(np.sum(t * np.asarray(ct_x)))


@pytest.mark.parametrize("computation,init", [("add", 0.0), ("add", 1.5), ("max", -np.inf),
                                              ("max", 1.0), ("min", np.inf), ("mul", 1.0),
                                              ("mul", 2.0)])
def test_reduce_window_values(computation, init):
    x = TIES[:1, :, :, :2] + 0.5
    kw = dict(window_dimensions=(1, 3, 2, 1), window_strides=(1, 2, 1, 1), padding="SAME",
              base_dilation=(1, 1, 2, 1), window_dilation=(1, 1, 2, 1))
    got = xl.reduce_window(x, init, getattr(xl, computation), **kw)
    want = jax.lax.reduce_window(x, init, getattr(jax.lax, computation), **kw)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_reduce_window_generic_computation_and_pytree():
    x = DISTINCT[0, :, :, 0]
    kw = dict(window_dimensions=(2, 3), window_strides=(1, 2), padding="SAME")
    # an arbitrary computation through the sliced fallback: values, and a gradient (JAX
    # cannot differentiate a generic reduce_window; the oracle is exp(window sum of logs))
    x = x + 1.0
    f = lambda x: xl.reduce_window(x, 1.0, xl.mul, **kw)
    g = lambda x: jnp.exp(jax.lax.reduce_window(jnp.log(x), 0.0, jax.lax.add, **kw))
    np.testing.assert_allclose(np.asarray(f(x)), np.asarray(jax.lax.reduce_window(
        x, 1.0, jax.lax.mul, **kw)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(xform.grad(lambda x: f(x).sum())(x)),
                               np.asarray(jax.grad(lambda x: g(x).sum())(x)), rtol=1e-4)
    # a pytree of operands: a running (sum, max) pair
    comp = lambda a, b: (a[0] + b[0], jnp.maximum(a[1], b[1]))
    xcomp = lambda a, b: (a[0] + b[0], xl.max(a[1], b[1]))
    got = xl.reduce_window((x, -x), (0.0, -np.inf), xcomp, **kw)
    want = jax.lax.reduce_window((x, -x), (0.0, -np.inf), comp, **kw)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_reduce_window_integer_max():
    x = (TIES[0, :, :, 0] * 3).astype(np.int32)
    kw = dict(window_dimensions=(2, 2), window_strides=(2, 1), padding="SAME")
    info = np.iinfo(np.int32)
    got = xl.reduce_window(x, np.int32(info.min), xl.max, **kw)
    want = jax.lax.reduce_window(x, np.int32(info.min), jax.lax.max, **kw)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_pool_vmap_matches_loop():
    pool = _max_pool(xl, (3, 2, 1), (2, 1, 1), "SAME")
    xs = TIES[:, :, :, :]   # batch of 2, each (7, 6, 3)
    got = xform.vmap(pool, in_axes=3)(xs)
    want = np.stack([np.asarray(pool(xs[..., i])) for i in range(xs.shape[3])])
    np.testing.assert_array_equal(np.asarray(got), want)
    g = xform.vmap(xform.grad(lambda x: pool(x).sum()))(xs)
    want_g = jax.vmap(jax.grad(lambda x: _max_pool(jax.lax, (3, 2, 1), (2, 1, 1), "SAME")(
        x).sum()))(xs)
    np.testing.assert_array_equal(np.asarray(g), np.asarray(want_g))


def test_reduce_window_bad_input():
    x = TIES[0, :, :, 0]
    with pytest.raises(TypeError, match="window_dimensions"):
        xl.reduce_window(x, 0.0, xl.add, (2,), (1, 1), "VALID")
    with pytest.raises(TypeError, match="padding"):
        xl.reduce_window(x, 0.0, xl.add, (2, 2), (1, 1), ((0, 0),))
    with pytest.raises(ValueError, match="padding"):
        xl.reduce_window(x, 0.0, xl.add, (2, 2), (1, 1), "FULL")
    with pytest.raises(TypeError, match="pytree structure"):
        xl.reduce_window((x, x), 0.0, xl.add, (2, 2), (1, 1), "VALID")
    with pytest.raises(TypeError, match="init_value"):
        xl.reduce_window(x, np.zeros(2, np.float32), xl.add, (2, 2), (1, 1), "VALID")
