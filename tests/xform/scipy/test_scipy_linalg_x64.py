"""xform.scipy.linalg against jax.scipy.linalg in float64 (``x64_enabled`` for the module):
``expm`` takes Pade degrees 9 and 13 there, and the loops index with int64 counters."""
import jax
import jax.scipy.linalg as jsl
import numpy as np
import pytest
import scipy.linalg

import xform
import xform.scipy.linalg as xsl

pytestmark = pytest.mark.usefixtures("x64_enabled")

RNG = np.random.default_rng(1)
A = RNG.standard_normal((4, 4))
SPD = A @ A.T + 4 * np.eye(4)


def test_f64():
    # 1-norms from 0.01 to 100 reach every float64 degree (3, 5, 7, 9, 13) and squarings
    a = A * np.array([0.003, 0.05, 0.2, 0.5, 1.5, 30.0])[:, None, None]
    d, e = np.ones(5), np.full(4, 1e-9)
    t, z = scipy.linalg.schur(RNG.standard_normal((4, 4)))

    def run(m, a, spd, d, e, t, z):
        return (m.expm(a), m.cho_solve(m.cho_factor(spd), spd[:, :2]),
                m.solve(spd, spd[0], assume_a="pos"),
                # a cluster of close eigenvalues: inverse iteration orthogonalises it
                m.eigh_tridiagonal(d, e),
                m.rsf2csf(t, z))
    got = xform.jit(lambda *x: run(xsl, *x))(a, SPD, d, e, t, z)
    want = jax.jit(lambda *x: run(jsl, *x))(a, SPD, d, e, t, z)
    for i, (g, w) in enumerate(zip(jax.tree.leaves(got), jax.tree.leaves(want))):
        assert np.asarray(g).dtype == np.asarray(w).dtype, i
        # the clustered eigenvectors (leaf 4): JAX's perturbed tridiagonal solver and the
        # dense LU here round differently, within 1e-8
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-10,
                                   atol=1e-7 if i == 4 else 1e-10, err_msg=str(i))
