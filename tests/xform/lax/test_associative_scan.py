"""lax.associative_scan against jax.lax.associative_scan: lengths that are and are not
powers of two, reverse, axis, a non-commutative fn, a pytree fn (a linear recurrence),
grad, and jit of vmap."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_

import xform
import xform.numpy as xnp

rng = np.random.default_rng(0)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_matches_jax(n):
    x = rng.normal(size=(n, 3)).astype(np.float32)
    for rev in (False, True):
        for ax in (0, 1):
            np.testing.assert_allclose(
                np.asarray(xform.lax.associative_scan(xnp.add, x, reverse=rev, axis=ax)),
                np.asarray(jax.lax.associative_scan(jnp_.add, x, reverse=rev, axis=ax)),
                rtol=1e-5, atol=1e-5)
    m = rng.normal(size=(n, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(xform.lax.associative_scan(xnp.matmul, m)),
                               np.asarray(jax.lax.associative_scan(jnp_.matmul, m)),
                               rtol=1e-4, atol=1e-4)
    a, b = rng.uniform(size=(n,)).astype(np.float32), rng.normal(size=(n,)).astype(np.float32)
    step = lambda l, r: (l[0] * r[0], r[0] * l[1] + r[1])   # noqa: E731  h = a h + b
    for got, want in zip(xform.lax.associative_scan(step, (a, b)),
                         jax.lax.associative_scan(step, (a, b))):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_gradient_and_batching():
    x = rng.normal(size=(7,)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(xform.grad(lambda x: xnp.sum(xform.lax.associative_scan(xnp.multiply, x) ** 2))(x)),
        np.asarray(jax.grad(lambda x: jnp_.sum(jax.lax.associative_scan(jnp_.multiply, x) ** 2))(x)),
        rtol=1e-4)
    got = xform.jit(xform.vmap(lambda r: xform.lax.associative_scan(xnp.add, r)))(
        np.ones((2, 5), np.float32))
    np.testing.assert_array_equal(np.asarray(got), np.tile(np.arange(1, 6, dtype=np.float32), (2, 1)))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="same length along axis 0"):
        xform.lax.associative_scan(lambda a, b: a, (np.ones(3), np.ones(4)))
    with pytest.raises(TypeError, match="must return the structure"):
        xform.lax.associative_scan(lambda a, b: (a, b), np.ones(3))
