"""xform.scipy.special against jax.scipy.special in float64 (jax_enable_x64 on for the whole
module, through the ``x64_enabled`` fixture): values on grids with the special points, and
first derivatives of the iterative functions."""
import jax
import jax.scipy.special as jss
import numpy as np
import pytest

import xform
import xform.scipy.special as xss

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.usefixtures("x64_enabled")]

F64 = np.float64
X = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, 1e-8, 2.5, -2.5, 7.9, 8.1, 12.0, 30.0,
              700.0, -100.0, np.inf, -np.inf, np.nan, 0.9999999], F64)
A = np.array([0.0, 1e-300, 0.1, 1.0, 3.5, 10.0, 200.0, 1e5, -1.0, np.inf, np.nan], F64)


def grid(*axes):
    return [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]


def check(got, want, what, rtol=1e-13):
    assert got.dtype == want.dtype == np.float64, f"{what}: dtype {got.dtype}, {want.dtype}"
    g, w = np.asarray(got), np.asarray(want)
    ok = (g == w) | (np.isnan(g) & np.isnan(w)) | (np.abs(g - w) <= rtol * np.abs(w))
    assert ok.all(), f"{what}: got {g[~ok][:4]}, want {w[~ok][:4]} at {np.argwhere(~ok)[:4]}"


@pytest.mark.parametrize("name", ["gammaln", "digamma", "i0e", "i1e", "ndtr", "log_ndtr",
                                  "erfcx"])
def test_unary_f64(name):
    check(getattr(xss, name)(X), getattr(jss, name)(X), name)


def test_ndtri_f64():
    p = np.array([0.0, 1.0, 0.5, 1e-300, 1e-20, 0.1, 0.135, 0.9, 1 - 1e-15, -1.0, np.nan], F64)
    check(xss.ndtri(p), jss.ndtri(p), "ndtri")


@pytest.mark.parametrize("name", ["gammainc", "gammaincc", "zeta", "betaln"])
def test_binary_f64(name):
    a, b = grid(A, X)
    rtol = 1e-11 if name in ("gammainc", "gammaincc") else 1e-13
    check(getattr(xss, name)(a, b), getattr(jss, name)(a, b), name, rtol=rtol)


def test_polygamma_betainc_f64():
    n, x = grid(np.array([0, 1, 4], np.int64), X)
    check(xss.polygamma(n, x), jss.polygamma(n, x), "polygamma", rtol=1e-12)
    a, b, t = grid(A, A, np.array([0.0, 0.3, 0.7, 1.0], F64))
    check(xss.betainc(a, b, t), jss.betainc(a, b, t), "betainc", rtol=1e-11)


def test_derivatives_f64():
    a = np.array([0.5, 2.0, 3.0, 10.0], F64)
    x = np.array([0.25, 3.0, 2.0, 20.0], F64)
    for fx, fj, argnum in [(xss.gammainc, jss.gammainc, 0), (xss.gammaincc, jss.gammaincc, 1),
                           (xss.zeta, jss.zeta, 0)]:
        got = xform.jit(xform.vmap(xform.grad(fx, argnum)))(a + 1, x)
        want = jax.jit(jax.vmap(jax.grad(fj, argnum)))(a + 1, x)
        check(got, want, f"d{fx.__name__}/d{argnum}", rtol=1e-10)
