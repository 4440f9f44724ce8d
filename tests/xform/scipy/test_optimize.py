"""xform.scipy.optimize.minimize against jax.scipy.optimize.minimize: BFGS on a quadratic
in float32 (Rosenbrock and L-BFGS in test_optimize_x64.py: on Rosenbrock float32 rounding
decides when the line search gives up, so counts are compared in float64).

The algorithms are JAX's step for step, so the iterate and evaluation counts must agree,
not only the minimizer."""
import jax
import jax.numpy as jnp
import jax.scipy.optimize as jso
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.scipy.optimize as xso

F32 = np.float32
H = np.diag(np.arange(1.0, 5.0)).astype(F32) + 0.3
STARTS = np.array([[0.0, 0.0, 0.0, 0.0], [-1.2, 1.0, 0.5, 2.0], [3.0, 3.0, 3.0, 3.0],
                   [10.0, -7.0, 0.1, 1.0]], F32)


def quadratic(np_):
    return lambda x, h, c: 0.5 * x @ (h @ x) - np_.sum(c * x)


def minimizer(np_, opt, method, args, options=None):
    """One jitted ``minimize`` per library, reused for every starting point (one
    compilation each)."""
    jit = xform.jit if opt is xso else jax.jit
    return jit(lambda x0: opt.minimize(quadratic(np_), x0, args, method=method,
                                       options=options))


def compare(got, want, tol=1e-5):
    assert type(got).__name__ == "OptimizeResults" and got._fields == want._fields
    for field in ("nit", "nfev", "njev", "status", "success"):
        np.testing.assert_array_equal(np.asarray(getattr(got, field)),
                                      np.asarray(getattr(want, field)), err_msg=field)
    for field in ("x", "fun", "jac") + (("hess_inv",) if want.hess_inv is not None else ()):
        np.testing.assert_allclose(np.asarray(getattr(got, field)),
                                   np.asarray(getattr(want, field)), rtol=tol, atol=tol,
                                   err_msg=field)
    assert (got.hess_inv is None) == (want.hess_inv is None)


def test_bfgs_quadratic_from_several_starts():
    args = (H, np.ones(4, F32))
    ours, theirs = minimizer(xnp, xso, "BFGS", args), minimizer(jnp, jso, "BFGS", args)
    solution = np.linalg.solve(H, np.ones(4))
    successes = 0
    for x0 in STARTS:
        got = ours(x0)
        compare(got, theirs(x0))
        # in float32 the line search often gives up (status 3), JAX's as well
        if got.success:
            np.testing.assert_allclose(np.asarray(got.x), solution, atol=1e-4)
            successes += 1
    assert successes >= 1


def test_options():
    # maxiter stops early (status 1, not a success); norm and gtol reach the stopping test
    got = minimizer(xnp, xso, "BFGS", (H, np.ones(4, F32)),
                    {"maxiter": 2, "norm": 2, "gtol": 1e-2})(STARTS[3])
    assert (int(got.nit), int(got.status), bool(got.success)) == (2, 1, False)
    assert np.asarray(got.hess_inv).shape == (4, 4)


def test_errors():
    f = quadratic(xnp)
    args = (H, np.ones(4, F32))
    with pytest.raises(ValueError, match=r"minimize: method 'Nelder-Mead' not recognized"):
        xso.minimize(f, STARTS[0], args, method="Nelder-Mead")
    with pytest.raises(TypeError, match=r"minimize: args must be a tuple, got list"):
        xso.minimize(f, STARTS[0], list(args), method="BFGS")
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['maxcor'\] for method 'BFGS'"):
        xso.minimize(f, STARTS[0], args, method="BFGS", options={"maxcor": 3})
    with pytest.raises(ValueError, match=r"x0 must be 1-d, got shape \(2, 2\)") as info:
        xso.minimize(f, np.zeros((2, 2), F32), args, method="BFGS")
    assert "test_optimize.py" in str(info.value)
