"""xform.scipy.special against jax.scipy.special, float32: the less common functions
(Dawson, Owen's T, exponential/sine/cosine/Fresnel integrals, Spence, Faddeeva, complex
gamma, Bessel J).  The helpers and conventions are test_special.py's."""
import jax
import jax.numpy as jnp_ref
import jax.scipy.special as jss
import numpy as np
import pytest

import xform
import xform.scipy.special as xss
from test_special import F32, P, PAIRS, X, check, check_derivs, check_unary, grid

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# JAX's exp1/expn run their continued fraction on every element, and it does not stop for a
# tiny positive argument (JAX hangs on exp1(1e-20), expi(-1e-20) in an array with others)
NO_TINY = {"expi": -1.0, "exp1": 1.0}


@pytest.mark.parametrize("name", ["dawsn", "spence", "expi", "exp1", "sici", "fresnel"])
def test_unary_values(name):
    x = np.concatenate([X, P, [1.6, 40.0, 70.0, 1e9, 2e9]]).astype(F32)
    if name in NO_TINY:
        x = x[~((NO_TINY[name] * x > 0) & (np.abs(x) < 1e-3))]
    check_unary(name, x)


def test_complex_values():
    v = np.array([0.0, 1.0, -1.0, 0.5, 3.0, -3.0, 10.0, -30.0, 1e-3, 6.0, -2.5], F32)
    re, im = np.meshgrid(v, v)
    z = np.concatenate([(re + 1j * im).ravel(), [np.nan, np.inf]]).astype(np.complex64)
    for name in ["wofz", "erfcx", "gamma", "loggamma"]:
        check(getattr(xss, name)(z), getattr(jss, name)(z), f"{name}(complex)")
    check(xss.wofz(v), jss.wofz(v), "wofz(real)")
    t = np.ones_like(z[:-2])
    for name in ["wofz", "loggamma"]:
        got = xform.jvp(getattr(xss, name), (z[:-2],), (t,))[1]
        want = jax.jvp(getattr(jss, name), (z[:-2],), (t,))[1]
        check(got, want, f"{name}(complex) jvp", rtol=2e-5)


def test_expn_owens_t_values():
    # (no tiny x: JAX runs its slow continued fraction on every element)
    n, x = grid(np.array([0, 1, 2, 7, 5000, -1], F32),
                np.array([0.0, 0.5, 1.0, 2.5, 30.0, -1.0, np.nan], F32))
    check(xss.expn(n, x), jss.expn(n, x), "expn")
    h, a = grid(X, np.array([0.0, 0.5, 1.0, -1.0, 2.0, 10.0, -0.3, 1e-5, np.inf, np.nan, 0.9,
                             1.1], F32))
    check(xss.owens_t(h, a), jss.owens_t(h, a), "owens_t")


D = np.array([0.0, -0.0, 1.0, -1.0, 0.3, 2.5, -2.5, 9.0, 20.0, 1e-8, -15.0, 0.99, np.inf,
              np.nan], F32)


@pytest.mark.parametrize("name", ["dawsn", "spence", "expi"])
def test_unary_derivatives(name):
    check_derivs(name, getattr(xss, name), getattr(jss, name), D,
                 orders=(1, 2) if name == "dawsn" else (1,))


def test_expint_derivatives():
    x = np.array([0.3, 1.0, 2.5, 9.0, 20.0, 0.99, 5.0, 40.0, -1.0, 0.0], F32)
    for i in (0, 1):
        check_derivs(f"sici[{i}]", lambda v: xss.sici(v)[i], lambda v: jss.sici(v)[i], x,
                     orders=(1, 2) if i else (1,))
        check_derivs(f"fresnel[{i}]", lambda v: xss.fresnel(v)[i],
                     lambda v: jss.fresnel(v)[i], x, orders=(1,))
    # JAX differentiates expn once only (and not under jit): per point, eagerly
    want = jnp_ref.asarray(np.array([jax.grad(lambda v: jss.expn(3, v))(v) for v in x[:3]]))
    check(xform.vmap(xform.grad(lambda v: xss.expn(3, v)))(x[:3]), want, "expn(3)'", rtol=2e-5)
    # second derivative: -E_{n-1}' = E_{n-2}
    check(xform.vmap(xform.grad(xform.grad(lambda v: xss.expn(3, v))))(x[:5]),
          xss.expn(1, x[:5]), "expn(3)''", rtol=2e-5)
    check_derivs("owens_t", xss.owens_t, jss.owens_t, *PAIRS, argnums=(0, 1))


def test_bessel_jn():
    z = np.array([0.5, 1.0, 2.0, 10.0], F32)
    check(xss.bessel_jn(z, v=3), jss.bessel_jn(z, v=3), "bessel_jn", rtol=1e-5, atol=1e-7)
    check_derivs("bessel_jn", lambda v: xss.bessel_jn(v, v=2)[2],
                 lambda v: jss.bessel_jn(v, v=2)[2], z, orders=(1,), rtol=(1e-4,))
