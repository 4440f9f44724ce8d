"""The jax.numpy.linalg names added for issue 16 (cond, multi_dot, tensorinv, tensorsolve,
cross, trace, diagonal, tensordot) and nn.log1mexp, against JAX."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_

import xform
import xform.numpy as xnp
from oracle import assert_same

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 3)).astype(np.float32)
S = np.array([[1, 2], [2, 4]], np.float32)            # singular
CHAIN = [rng.normal(size=s).astype(np.float32) for s in ((10,), (10, 40), (40, 5), (5, 30), (30,))]
T = rng.normal(size=(2, 3, 6)).astype(np.float32)
B = rng.normal(size=(2, 3, 4)).astype(np.float32)
V = rng.normal(size=(4, 3)).astype(np.float32)
RHS = rng.normal(size=(6,)).astype(np.float32)

CASES = {
    **{f"cond p={p} {name}": (lambda m, p=p, x=x: m.linalg.cond(x, p))
       for p in (None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc")
       for name, x in (("A", A), ("singular", S))},
    "multi_dot chain": lambda m: m.linalg.multi_dot(CHAIN),
    "multi_dot pair": lambda m: m.linalg.multi_dot(CHAIN[1:3]),
    "tensorinv": lambda m: m.linalg.tensorinv(T, 2),
    "tensorsolve": lambda m: m.linalg.tensorsolve(T.reshape(6, 2, 3), RHS),
    "tensorsolve axes": lambda m: m.linalg.tensorsolve(T, RHS, axes=(0, 1)),
    "cross": lambda m: m.linalg.cross(V, V[::-1]),
    "trace": lambda m: m.linalg.trace(B, offset=1),
    "diagonal": lambda m: m.linalg.diagonal(B, offset=-1),
    "tensordot": lambda m: m.linalg.tensordot(B, B.transpose(2, 1, 0), axes=1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_linalg_name_matches_jax(name):
    got, want = CASES[name](xform.numpy), CASES[name](jnp_)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-5)


def test_cond_gradient_and_bad_inputs():
    np.testing.assert_allclose(np.asarray(xform.grad(xnp.linalg.cond)(A)),
                               np.asarray(jax.grad(jnp_.linalg.cond)(A)), rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="linalg.multi_dot: the last dimension"):
        xnp.linalg.multi_dot([A, B[0].T])
    with pytest.raises(ValueError, match="linalg.cross: both inputs must have length 3"):
        xnp.linalg.cross(B, B)


def test_log1mexp_values_and_derivatives():
    x = np.array([1e-6, 0.3, np.log(2.0), 1.0, 5.0, 50.0, 0.0], np.float32)
    assert_same(xform.nn.log1mexp(x), jax.nn.log1mexp(x), "value")
    assert_same(xform.vmap(xform.grad(xform.nn.log1mexp))(x),
                jax.vmap(jax.grad(jax.nn.log1mexp))(x), "grad")
    assert_same(xform.vmap(xform.grad(xform.grad(xform.nn.log1mexp)))(x[:-1]),
                jax.vmap(jax.grad(jax.grad(jax.nn.log1mexp)))(x[:-1]), "grad of grad")


def test_polyfit_matches_jax():
    import jax
    import jax.numpy as jnp
    x = np.linspace(0, 1, 7).astype(np.float32)
    y = (3 * x ** 2 - x + 0.5 + 0.01 * np.sin(9 * x)).astype(np.float32)
    np.testing.assert_allclose(xnp.polyfit(x, y, 2), jnp.polyfit(x, y, 2), rtol=1e-5)
    for kw in ({"full": True}, {"cov": True}, {"cov": "unscaled", "w": np.arange(1, 8.0)}):
        for got, want in zip(xnp.polyfit(x, y, 2, **kw), jnp.polyfit(x, y, 2, **kw)):
            assert np.shape(got) == np.shape(want)
            np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-7)
    Y = np.stack([y, 2 * y], 1)
    for got, want in zip(xnp.polyfit(x, Y, 1, cov=True), jnp.polyfit(x, Y, 1, cov=True)):
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-7)
    np.testing.assert_allclose(xform.grad(lambda v: xnp.polyfit(x, v, 2).sum())(y),
                               jax.grad(lambda v: jnp.polyfit(x, v, 2).sum())(y), rtol=1e-4)
    with pytest.raises(ValueError, match="polyfit: expected deg >= 0"):
        xnp.polyfit(x, y, -1)
