"""xform.scipy.optimize.minimize against JAX in float64 (``x64_enabled`` for the module):
the Rosenbrock function, where float32 rounding decides when the line search gives up,
matches JAX's iterate and evaluation counts exactly in float64 (including the runs that
end in a line-search failure, status 3 or 5)."""
import jax
import jax.numpy as jnp
import jax.scipy.optimize as jso
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.scipy.optimize as xso

pytestmark = pytest.mark.usefixtures("x64_enabled")

STARTS = np.array([[0.0, 0.0, 0.0, 0.0], [-1.2, 1.0, 0.5, 2.0], [3.0, 3.0, 3.0, 3.0]])


def rosenbrock(np_):
    return lambda x: np_.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@pytest.mark.parametrize("method", ["BFGS", "l-bfgs-experimental-do-not-rely-on-this"])
def test_rosenbrock_f64(method):
    ours = xform.jit(lambda x: xso.minimize(rosenbrock(xnp), x, method=method))
    theirs = jax.jit(lambda x: jso.minimize(rosenbrock(jnp), x, method=method))
    for x0 in STARTS:
        got, want = ours(x0), theirs(x0)
        for field in ("nit", "nfev", "njev", "status", "success"):
            np.testing.assert_array_equal(np.asarray(getattr(got, field)),
                                          np.asarray(getattr(want, field)), err_msg=field)
        assert np.asarray(got.x).dtype == np.float64
        for field in ("x", "fun", "jac"):
            np.testing.assert_allclose(np.asarray(getattr(got, field)),
                                       np.asarray(getattr(want, field)), rtol=1e-4,
                                       atol=1e-9, err_msg=field)
    # BFGS from the origin reaches the global minimum
    assert method != "BFGS" or np.allclose(np.asarray(ours(STARTS[0]).x), 1, atol=1e-6)
