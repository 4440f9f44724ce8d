"""xform.scipy.special against jax.scipy.special, float32: the common functions (the rest in
test_special_extra.py, float64 in test_special_x64.py).

Values are compared on grids that include the special points (0, -0, +-1, tiny, large,
+-inf, NaN, domain edges) with a tight tolerance, NaN where JAX has NaN, and the dtype and
weak type of the result.  First and second derivatives are compared at a few points per
function (``vmap`` of ``grad`` in one call per order).  Where xform differs from JAX on
purpose (``i0``/``i1`` at 0, second derivatives of ``gammainc`` in ``a``) the expected
value is the mathematical one (SciPy in float64)."""
import jax
import jax.scipy.special as jss
import numpy as np
import pytest
import scipy.special as sps

import xform
import xform.scipy.special as xss

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F32 = np.float32
X = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-30, -1e-30, 1e-6, 2.5, -2.5, 3.7, 7.9, 8.1,
              12.0, 30.0, 88.0, 100.0, -100.0, np.inf, -np.inf, np.nan, 1e10, -7.5, -3.0,
              0.1], F32)
P = np.array([0.0, 1.0, 0.5, 1e-30, 1e-7, 0.02, 0.1, 0.135, 0.3, 0.8, 0.865, 0.9, 0.99,
              0.9999, 1 - 1e-7, -0.1, 1.1, np.nan, 1e-20], F32)
A = np.array([0.0, 1e-30, 0.1, 0.5, 1.0, 2.0, 3.5, 10.0, 50.0, 200.0, 1e4, -1.0, np.inf,
              np.nan], F32)


def grid(*axes):
    return [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]


def check(got, want, what, rtol=2e-6, atol=0.0):
    """Same dtype, weak type and shape; equal values up to ``rtol`` (NaN where NaN)."""
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert getattr(got, "weak_type", False) == getattr(want, "weak_type", False), \
        f"{what}: weak_type {got.weak_type} != {want.weak_type}"
    kind = np.complex128 if np.iscomplexobj(want) else np.float64
    g, w = np.asarray(got, kind), np.asarray(want, kind)
    assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
    same = (g == w) | (np.isnan(g) & np.isnan(w))
    near = np.abs(g - w) <= atol + rtol * np.abs(w)
    bad = ~(same | near)
    assert not bad.any(), (f"{what}: {bad.sum()} mismatches, first at index "
                           f"{np.argwhere(bad)[0]}: got {g[bad][:4]}, want {w[bad][:4]}")


# ---- values ---------------------------------------------------------------------------------

UNARY = ["expit", "logit", "erf", "erfc", "erfinv", "gammaln", "gammasgn", "gamma", "loggamma",
         "digamma", "factorial", "i0e", "i1e", "i0", "i1", "entr", "erfcx", "ndtr",
         "log_ndtr"]


def check_unary(name, x):
    got, want = getattr(xss, name)(x), getattr(jss, name)(x)
    if isinstance(want, tuple):
        for i, (g, w) in enumerate(zip(got, want)):
            check(g, w, f"{name}[{i}]")
    else:
        check(got, want, name)


@pytest.mark.parametrize("name", UNARY)
def test_unary_values(name):
    check_unary(name, np.concatenate([X, P, [1.6, 40.0, 70.0, 1e9, 2e9]]).astype(F32))


def test_ndtri_values():
    check(xss.ndtri(P), jss.ndtri(P), "ndtri")


BINARY = {
    "xlogy": (A, X), "xlog1py": (A, X), "rel_entr": (A, X), "kl_div": (A, X),
    "beta": (A, X), "betaln": (A, X), "comb": (A, X), "poch": (X, A),
    "gammainc": (A, X), "gammaincc": (A, X), "zeta": (np.concatenate([A, [1.5, 2.0, 7.0]]), X),
    "boxcox": (X, A), "boxcox1p": (X, A),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values(name):
    a, b = grid(*BINARY[name])
    check(getattr(xss, name)(a, b), getattr(jss, name)(a, b), name)


def test_polygamma_values():
    n, x = grid(np.array([0, 1, 2, 3, 5], np.int32), X)
    check(xss.polygamma(n, x), jss.polygamma(n, x), "polygamma")


def test_betainc_values():
    a, b, x = grid(A, A, np.array([0.0, 1e-20, 0.2, 0.5, 0.9, 1.0, -0.1, np.nan], F32))
    check(xss.betainc(a, b, x), jss.betainc(a, b, x), "betainc", rtol=1e-5)


def test_weak_types_and_promotion():
    # Python scalars give weak float32, integers compute in float32
    for name in ["gammaln", "i0e"]:
        check(getattr(xss, name)(2.0), getattr(jss, name)(2.0), f"{name}(2.0)")
        check(getattr(xss, name)(np.int32(3)), getattr(jss, name)(np.int32(3)),
              f"{name}(int32)")
    check(xss.xlogy(2, 3.0), jss.xlogy(2, 3.0), "xlogy(2, 3.0)")
    check(xss.ndtr(np.float32(0.3)), jss.ndtr(np.float32(0.3)), "ndtr")
    check(xss.comb(5.0, 3.0, repetition=True), jss.comb(5.0, 3.0, repetition=True), "comb rep")
    check(xss.factorial(np.arange(6)), jss.factorial(np.arange(6)), "factorial")
    # float16 computes in float32 and rounds back, as JAX
    h = np.array([0.5, 2.0, 3.0], np.float16)
    check(xss.i0e(h), jss.i0e(h), "i0e(f16)")


def test_reductions():
    m = np.random.RandomState(0).randn(3, 4).astype(F32)
    m[0, 0] = -np.inf
    for kw in [{"axis": (0, 1), "keepdims": True}, {"axis": -1, "b": m}]:
        check(xss.logsumexp(m, **kw), jax.jit(lambda v: jss.logsumexp(v, **kw))(m),
              f"logsumexp {kw}")
    out, sign = xss.logsumexp(m, axis=0, b=-m, return_sign=True)
    want, wsign = jax.jit(lambda v: jss.logsumexp(v, axis=0, b=-v, return_sign=True))(m)
    check(out, want, "logsumexp sign")
    check(sign, wsign, "logsumexp sign")
    check(xss.softmax(m), jax.jit(jss.softmax)(m), "softmax")
    check(xss.log_softmax(m, axis=1), jax.jit(lambda v: jss.log_softmax(v, axis=1))(m),
          "log_softmax")


def test_static_argument_functions():
    check(xss.multigammaln(np.array([2.0, 3.0, 10.5], F32), 3),
          jss.multigammaln(np.array([2.0, 3.0, 10.5], F32), 3), "multigammaln")
    # B_4 = -1/30: xform's numbers are exact (JAX's are a float32 approximation)
    check(xss.bernoulli(20), jss.bernoulli(20), "bernoulli", rtol=1e-5)
    check(xss.bernoulli(1), jss.bernoulli(1), "bernoulli(1)")


# ---- derivatives ----------------------------------------------------------------------------

def _derivs(mod, f, argnum, nargs):
    """First and second derivatives in ``argnum``, vmapped over the points and jitted (one
    compiled program per order: much cheaper than running them op by op)."""
    g1 = mod.grad(f, argnum)
    g2 = mod.grad(g1, argnum)
    return mod.jit(mod.vmap(g1)), mod.jit(mod.vmap(g2))


def check_derivs(name, xf, jf, *pts, argnums=(0,), rtol=(2e-5, 2e-4), atol=1e-6,
                 orders=(1, 2)):
    pts = [np.asarray(p, F32) for p in np.broadcast_arrays(*pts)]
    for an in argnums:
        xd = _derivs(xform, xf, an, len(pts))
        jd = _derivs(jax, jf, an, len(pts))
        for order in orders:
            got, want = xd[order - 1](*pts), jd[order - 1](*pts)
            check(got, want, f"{name}: derivative {order} in argument {an}",
                  rtol=rtol[order - 1], atol=atol)


D = np.array([0.0, -0.0, 1.0, -1.0, 0.3, 2.5, -2.5, 9.0, 20.0, 1e-8, -15.0, 0.99, np.inf,
              np.nan], F32)


# second derivatives where xform writes the rule (custom_jvp, or a chain of them); the
# others are differentiated through lax's own rules
UNARY_D2 = {"logit", "gammaln", "digamma", "i0e", "i1e", "entr", "log_ndtr", "erfcx", "ndtri"}


@pytest.mark.parametrize("name", ["expit", "logit", "erf", "erfc", "erfinv", "gammaln",
                                  "gamma", "loggamma", "digamma", "factorial", "i0e",
                                  "i1e", "entr", "ndtr", "ndtri", "log_ndtr", "erfcx",
                                  "gammasgn"])
def test_unary_derivatives(name):
    check_derivs(name, getattr(xss, name), getattr(jss, name), D,
                 orders=(1, 2) if name in UNARY_D2 else (1,))


def test_i0_i1_derivatives():
    # away from 0 as JAX; at 0 the true values (JAX differentiates exp(|x|) there)
    x = np.array([1.0, -1.0, 0.3, 2.5, -2.5, 9.0, 20.0, -15.0, np.nan], F32)
    check_derivs("i0", xss.i0, jss.i0, x)
    check_derivs("i1", xss.i1, jss.i1, x)
    zero = np.array([0.0, -0.0, 1e-8], F32)
    g_i0, gg_i0 = _derivs(xform, xss.i0, 0, 1)
    g_i1, gg_i1 = _derivs(xform, xss.i1, 0, 1)
    np.testing.assert_allclose(g_i0(zero), [0, 0, 5e-9], atol=1e-7)
    np.testing.assert_allclose(gg_i0(zero), [0.5, 0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(g_i1(zero), [0.5, 0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(gg_i1(zero), [0, 0, 0], atol=1e-7)


PAIRS = (np.array([0.0, 0.0, 1.0, 2.0, 0.5, 3.0, -1.0, 1.0, 2.0, 10.0, 1e-3, 5.0, 0.0, 1.0],
                  F32),
         np.array([0.0, 1.0, 0.0, 3.0, 0.25, 2.0, 2.0, -1.0, 2.0, 20.0, 5.0, 1e-3, -1.0,
                   np.inf], F32))


# second derivatives where they are cheap to compile; the gamma-function ones reduce to the
# polygamma chain, checked by test_unary_derivatives[digamma] and test_polygamma_...
SECOND = {"xlogy", "xlog1py", "rel_entr", "kl_div", "boxcox", "boxcox1p", "zeta"}
FIRST_ARG_SECOND = {"zeta": 1}   # only in this argument


@pytest.mark.parametrize("name", ["xlogy", "xlog1py", "rel_entr", "kl_div", "beta", "betaln",
                                  "comb", "poch", "zeta", "boxcox", "boxcox1p"])
def test_binary_derivatives(name):
    for argnum in (0, 1):
        orders = (1, 2) if name in SECOND and FIRST_ARG_SECOND.get(name, argnum) == argnum \
            else (1,)
        check_derivs(name, getattr(xss, name), getattr(jss, name), *PAIRS, argnums=(argnum,),
                     orders=orders)


def test_gammainc_derivatives():
    # gammainc and gammaincc together (their derivatives are opposite: a wrong sign in one
    # rule shows as a factor 4 / 2 instead of -2)
    def make(s):
        return lambda a, x: s.gammainc(a, x) + 3 * s.gammaincc(a, x)
    xf, jf = make(xss), make(jss)
    check_derivs("gammainc+3 gammaincc", xf, jf, *PAIRS, argnums=(1,))
    check_derivs("gammainc+3 gammaincc", xf, jf, *PAIRS, argnums=(0,), orders=(1,))
    # mixed: d/da of d/dx works in JAX too
    a, x = PAIRS
    got = xform.jit(xform.vmap(xform.grad(xform.grad(xf, 1), 0)))(a, x)
    want = jax.jit(jax.vmap(jax.grad(jax.grad(jf, 1), 0)))(a, x)
    check(got, want, "gammainc: d2/dadx", rtol=2e-4, atol=1e-6)


def test_gammainc_second_derivative_in_a():
    # JAX has no rule for it; xform differentiates the derivative loop.  Reference: a
    # five-point stencil on SciPy's float64 gammainc.
    a = np.array([0.5, 2.0, 3.0, 10.0, 0.01, 5.0], np.float64)
    x = np.array([0.25, 3.0, 2.0, 20.0, 5.0, 1e-3], np.float64)
    h = 1e-3
    f = sps.gammainc
    want = (-f(a + 2 * h, x) + 16 * f(a + h, x) - 30 * f(a, x) + 16 * f(a - h, x)
            - f(a - 2 * h, x)) / (12 * h * h)
    # gammainc + 3 gammaincc: -2 P''
    both = xform.grad(xform.grad(lambda u, v: xss.gammainc(u, v) + 3 * xss.gammaincc(u, v)))
    got = xform.jit(xform.vmap(both))(a.astype(F32), x.astype(F32))
    np.testing.assert_allclose(np.asarray(got), -2 * want, rtol=2e-3, atol=1e-8)
    with pytest.raises(NotImplementedError, match="gammainc"):
        xform.make_jaxpr(xform.grad(xform.grad(xform.grad(xss.gammainc, 0), 0), 0))(2.0, 3.0)


def test_polygamma_and_betainc_derivatives():
    x = np.array([0.3, 1.0, 2.5, -2.5, 9.0, 1e-3, np.inf], F32)
    for n in (0, 2):
        check_derivs(f"polygamma({n})", lambda v, n=n: xss.polygamma(n, v),
                     lambda v, n=n: jss.polygamma(n, v), x)
    a = np.array([2.0, 0.5, 1.0, 5.0, 5.0, 30.0], F32)
    b = np.array([3.0, 0.5, 1.0, 2.0, 2.0, 40.0], F32)
    t = np.array([0.5, 0.1, 0.9, 0.0, 1.0, 0.4], F32)
    check_derivs("betainc", xss.betainc, jss.betainc, a, b, t, argnums=(2,))
    for argnum in (0, 1):
        with pytest.raises(ValueError, match="betainc"):
            xform.grad(xss.betainc, argnum)(2.0, 3.0, 0.5)


def test_reduction_derivatives():
    w = np.arange(3.0, dtype=F32)
    m = np.array([0.3, 1.0, -2.0, 0.0], F32)

    def make(s):
        def f(v):
            u = v * w
            return (s.logsumexp(u) + 2 * s.logsumexp(u, b=v + w) + 3 * s.softmax(u)[1]
                    + 5 * s.log_softmax(u)[2])

        def g(v):
            return s.multigammaln(v + 3, 3)
        return f, g
    (xf, xg), (jf, jg) = make(xss), make(jss)
    check_derivs("logsumexp & softmax", xf, jf, m)
    check_derivs("multigammaln", xg, jg, m, orders=(1,))


# ---- transforms, errors ---------------------------------------------------------------------

def test_jit_and_vmap():
    # (the derivative tests run every function under jit(vmap(grad)) too)
    a = np.array([0.5, 2.0, 10.0], F32)
    x = np.array([0.25, 3.0, 20.0], F32)
    check(xform.jit(xss.xlogy)(a, x), jss.xlogy(a, x), "jit xlogy")
    check(xform.vmap(xss.betainc)(a, a, x / 25), jss.betainc(a, a, x / 25), "vmap betainc",
          rtol=1e-5)
    m = np.arange(6.0, dtype=F32).reshape(2, 3)
    check(xform.vmap(lambda r: xss.logsumexp(r))(m), jss.logsumexp(m, axis=1), "vmap lse")


def test_errors():
    with pytest.raises(TypeError, match="xlogy"):
        xss.xlogy([1.0, 2.0], 3.0)
    with pytest.raises(ValueError, match="beta"):
        xss.beta(1j, 2.0)
    with pytest.raises(ValueError, match="polygamma"):
        xss.polygamma(1.5, 2.0)
    with pytest.raises(NotImplementedError, match="zeta"):
        xss.zeta(2.0)
    with pytest.raises(NotImplementedError, match="factorial"):
        xss.factorial(3, exact=True)
    with pytest.raises(TypeError, match="ndtr"):
        xss.ndtr(1)
    with pytest.raises(ValueError, match="log_ndtr"):
        xss.log_ndtr(1.0, series_order=31)
    with pytest.raises(ValueError, match="bernoulli"):
        xss.bernoulli(-1)
    with pytest.raises(TypeError, match="multigammaln"):
        xform.jit(lambda d: xss.multigammaln(3.0, d))(2)
    with pytest.raises(ValueError, match="softmax"):
        xss.softmax(np.ones(3, F32), axis=2)


def test_names():
    # every callable of jax.scipy.special (hyp1f1, hyp2f1, sph_harm_y: test_special_hyp.py)
    assert sorted(xss.__all__) == sorted(n for n in dir(jss) if not n.startswith("_")
                                         and callable(getattr(jss, n))
                                         and n not in ("lpmn", "lpmn_values"))
