"""The gamma family: ``gammaln``, ``gammasgn``, ``gamma``, ``loggamma``, ``digamma``,
``polygamma``, ``zeta`` (Hurwitz), ``beta``, ``betaln``, ``factorial``, ``comb``, ``poch``,
``multigammaln`` and ``bernoulli``.

``lgamma`` and ``digamma`` are meta-operators; ``zeta`` and ``polygamma`` are written here
as XLA's CHLO decompositions compute them (Euler-Maclaurin summation with ten direct terms
and twelve Bernoulli corrections), so the values are JAX's.  ``zeta``'s derivative is JAX's:
the forward derivative of a second series (Johansson 2015, formula (5)), whose derivative
in ``x`` exists too; ``polygamma``'s derivative in ``x`` is ``polygamma(n + 1, x)``."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from primitives import dtypes as _dt

from .. import lax, numpy as jnp
from ..api import custom_jvp, jit, jvp as _jvp
from ._common import args, concrete_int, full, is64, real
from ..core import where as _where_msg

__all__ = ["gammaln", "gammasgn", "gamma", "loggamma", "digamma", "polygamma", "zeta",
           "beta", "betaln", "factorial", "comb", "poch", "multigammaln", "bernoulli"]


# Lanczos (1964), g = 7, nine coefficients (as GSL's gamma.c)
_LANCZOS_G = 7.0
_LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7]


def _complex_loggamma(z):
    """A branch of log Gamma for complex ``z``: Lanczos' approximation, with the reflection
    ``Gamma(z) Gamma(1 - z) = pi / sin(pi z)`` for ``Re z < 0.5``."""
    reflect = lax.real(z) < 0.5
    zz = jnp.where(reflect, 1.0 - z, z) - 1.0
    ks = np.arange(1, 9).astype(z.dtype)
    coeffs = np.asarray(_LANCZOS, z.dtype)
    ag = coeffs[0] + jnp.sum(coeffs[1:] / (zz[..., None] + ks), axis=-1)
    t = zz + _LANCZOS_G + 0.5
    half_log_2pi = np.asarray(0.5 * np.log(2.0 * np.pi), z.dtype)
    direct = half_log_2pi + (zz + 0.5) * jnp.log(t) - t + jnp.log(ag)
    # a safe value in the branch not taken, so that its derivative stays finite
    z_safe = jnp.where(reflect, z, jnp.full_like(z, 0.5))
    reflected = (jnp.log(np.asarray(np.pi, z.dtype)) - jnp.log(jnp.sin(np.pi * z_safe))
                 - direct)
    return jnp.where(reflect, reflected, direct)


def _complex_special(z):
    """NaN and the poles (nonpositive integers), and ``z`` with them replaced by 1."""
    nan_or_pole = jnp.isnan(z) | ((lax.imag(z) == 0) & (lax.real(z) == lax.floor(lax.real(z)))
                                  & (lax.real(z) <= 0))
    return nan_or_pole, jnp.where(nan_or_pole, jnp.ones_like(z), z)


def _complex_gamma(z):
    bad, z_safe = _complex_special(z)
    nan = np.asarray(complex(np.nan, np.nan), z.dtype)
    return jnp.where(bad, nan, jnp.exp(_complex_loggamma(z_safe)))


@jit
def _complex_loggamma_principal(z):
    """SciPy's branch: shift ``z`` right by ``n`` (``log Gamma(z) = log Gamma(z + n) -
    sum_k log(z + k)``) before Lanczos, so that the cut is SciPy's."""
    bad, z_safe = _complex_special(z)
    nan = np.asarray(complex(np.nan, np.nan), z.dtype)
    n = jnp.maximum(0, jnp.ceil(0.5 - lax.real(z_safe)).astype(int))

    def body(state):
        k, total = state
        on = k < n
        zk = jnp.where(on, z_safe + k, jnp.ones_like(z_safe))
        return k + 1, total + jnp.where(on, jnp.log(zk), jnp.zeros_like(total))
    _, total = lax.while_loop(lambda s: jnp.any(s[0] < n), body,
                              (jnp.asarray(0), jnp.zeros_like(z_safe)))
    return jnp.where(bad, nan, _complex_loggamma(z_safe + n) - total)


@custom_jvp
def _lgamma(x):
    """``lax.lgamma`` with JAX's chain of derivatives: ``digamma``, then ``polygamma(1, x)``,
    ``polygamma(2, x)``, ... (``lax.digamma``'s own rule is a different composite)."""
    return lax.lgamma(x)


@_lgamma.defjvp
def _lgamma_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _lgamma(x), t * _digamma(x)


@custom_jvp
def _digamma(x):
    return lax.digamma(x)


@_digamma.defjvp
def _digamma_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _digamma(x), t * _polygamma(jnp.ones_like(x), x)


def gammaln(x):
    """``log |Gamma(x)|``."""
    (x,) = args("gammaln", x)
    real("gammaln", x)
    return _lgamma(x)


def gammasgn(x):
    """The sign of ``Gamma(x)``: NaN at the poles (0 excepted: ``+-1`` by the sign of
    zero) and at NaN and ``-inf``."""
    (x,) = args("gammasgn", x)
    real("gammasgn", x)
    return _gammasgn(x)


@jit
def _gammasgn(x):
    dt = np.dtype(x.dtype).type
    fl = lax.floor(x)
    neg = x < 0
    pole = (neg & (x == fl)) | jnp.isnan(x)
    minus = (neg & (jnp.remainder(fl, 2) != 0)) | ((x == 0) & jnp.signbit(x))
    return jnp.select([pole, minus], [dt(np.nan), dt(-1.0)], dt(1.0))


def gamma(x):
    """The gamma function, as ``gammasgn(x) * exp(gammaln(x))`` (complex ``x``: Lanczos'
    approximation)."""
    (x,) = args("gamma", x)
    if _dt.is_complex(x.dtype):
        return _complex_gamma(x)
    return _gammasgn(x) * lax.exp(_lgamma(x))


def loggamma(x):
    """The principal branch of ``log Gamma``: ``gammaln`` for ``x > 0``, NaN elsewhere on
    the real line; for complex ``x``, SciPy's branch."""
    (x,) = args("loggamma", x)
    if _dt.is_complex(x.dtype):
        return _complex_loggamma_principal(x)
    return jnp.where(x > 0, _lgamma(x), np.nan)


def digamma(x):
    """The logarithmic derivative of the gamma function."""
    (x,) = args("digamma", x)
    real("digamma", x)
    return _digamma(x)


# ---- Hurwitz zeta and polygamma ------------------------------------------------------------

def _bernoulli_exact(n):
    """B_0 .. B_n as Fractions (Akiyama-Tanigawa), B_1 = -1/2."""
    out, row = [], []
    for m in range(n + 1):
        row.append(Fraction(1, m + 1))
        for j in range(m, 0, -1):
            row[j - 1] = j * (row[j - 1] - row[j])
        out.append(row[0])
    if n >= 1:
        out[1] = -out[1]
    return out


_B = _bernoulli_exact(32)
# (2k)! / B_2k for k = 1..16: the Euler-Maclaurin coefficients
_EM = [float(Fraction(math.factorial(2 * k)) / _B[2 * k]) for k in range(1, 17)]


@jit
def _zeta_value(x, q):
    """Hurwitz zeta by Euler-Maclaurin: the first ten terms of the sum, the integral of the
    tail and twelve Bernoulli corrections (in Horner form), with CHLO's special cases."""
    neg_x = -x
    a = q
    head = lax.pow(q, neg_x)
    for _ in range(9):
        a = a + 1
        head = head + lax.pow(a, neg_x)
    a = a + 1
    tail_power = lax.pow(a, neg_x)
    s = head + tail_power * a / (x - 1)
    inv_a2 = 1 / (a * a)
    horner = jnp.zeros_like(a)
    for i in range(11):
        factor = (x + (22 - 2 * i)) * (x + (21 - 2 * i))
        horner = factor * (inv_a2 * (horner + 1 / _EM[11 - i]))
    s = s + tail_power * (0.5 + x / a * (1 / _EM[0] + horner))
    tiny = float(np.finfo(np.dtype(x.dtype)).smallest_subnormal)
    out = jnp.where(jnp.abs(tail_power) < jnp.abs(head) * tiny, head, s)
    out = jnp.where(x < 1, np.nan, out)
    q_nonpos = q <= 0
    out = jnp.where(q_nonpos & (x != lax.floor(x)), np.nan, out)
    x_even = (x == lax.floor(x)) & (lax.rem(x, full(x, 2.0)) == 0)
    pole = q_nonpos & (q == lax.floor(q))
    out = jnp.where(pole, jnp.where(x_even, np.inf, np.nan), out)
    return jnp.where(x == 1, np.inf, out)


def _zeta_series(s, a):
    """Johansson's expansion of the Hurwitz zeta function: ``n`` direct terms, the integral
    of the tail and ``n`` Bernoulli corrections (8 in float32, 16 in float64).  Only its
    derivatives are used (it is what JAX differentiates)."""
    n = 16 if is64(a) else 8
    dt = np.dtype(a.dtype)
    s_, a_ = s[..., None], a[..., None]
    k = np.arange(n, dtype=dt)
    head = jnp.sum((a_ + k) ** -s_, -1)
    integral = (a + n) ** (1 - s) / (s - 1)
    t0 = (a + n) ** -s
    m = np.arange(2 * n, dtype=dt)
    ratios = jnp.cumprod((s_ + m) / (a_ + n), -1)[..., ::2]
    ratios = jnp.minimum(ratios, float(np.finfo(dt).max))
    corr = ratios / np.asarray(_EM[:n], dt)
    return head + integral + t0 * (0.5 + jnp.sum(corr, -1))


def zeta(x, q=None):
    """The Hurwitz zeta function ``sum_k (k + q) ** -x`` (``q`` is required, as in JAX)."""
    if q is None:
        raise NotImplementedError("zeta: the Riemann zeta function is not implemented; pass "
                                  f"q to compute the Hurwitz zeta function{_where_msg()}")
    x, q = args("zeta", x, q)
    real("zeta", x)
    return _zeta(x, q)


@custom_jvp
def _zeta(x, q):
    return _zeta_value(x, q)


@_zeta.defjvp
def _zeta_jvp(primals, tangents):
    return _jvp(_zeta_series, tuple(primals), tuple(tangents))


def polygamma(n, x):
    """The ``n``-th derivative of ``digamma`` (``n`` a nonnegative integer array)."""
    n_dtype = n.dtype if hasattr(n, "dtype") else np.asarray(n).dtype
    if not (np.issubdtype(n_dtype, np.integer) or isinstance(n, int)) or isinstance(n, bool):
        raise ValueError(f"polygamma: argument n must be of integer type, got dtype "
                         f"{np.dtype(n_dtype)}{_where_msg()}")
    n, x = args("polygamma", n, x)
    real("polygamma", x)
    return _polygamma(n, x)


def lax_polygamma(m, x):
    """``jax.lax.polygamma``: ``m`` is a float array of ``x``'s dtype holding whole
    numbers (NaN elsewhere), not the integer array ``scipy.special.polygamma`` takes."""
    m, x = args("polygamma", m, x)
    real("polygamma", x)
    return _polygamma(m, x)


@jit
def _polygamma_value(n, x):
    n1 = n + 1
    sign = 2 * lax.rem(n, full(n, 2.0)) - 1
    out = jnp.where(n == 0, lax.digamma(x), sign * lax.exp(lax.lgamma(n1)) * _zeta_value(n1, x))
    return jnp.where((n != lax.floor(n)) | (n < 0), np.nan, out)


@custom_jvp
def _polygamma(n, x):
    return _polygamma_value(n, x)


@_polygamma.defjvp
def _polygamma_jvp(primals, tangents):
    (n, x), (_, tx) = primals, tangents
    return _polygamma(n, x), _polygamma(n + 1, x) * tx


# ---- beta, factorials -------------------------------------------------------------------------

def _algdiv(a, b):
    """``lgamma(b) - lgamma(a + b)`` for ``b >= 8`` (TOMS 708's ALGDIV)."""
    c0, c1, c2 = 0.833333333333333e-01, -0.277777777760991e-02, 0.793650666825390e-03
    c3, c4, c5 = -0.595202931351870e-03, 0.837308034031215e-03, -0.165322962780713e-02
    h = a / b
    c = h / (1 + h)
    x = h / (1 + h)
    d = b + (a - 0.5)
    x2 = x * x
    s3 = 1.0 + (x + x2)
    s5 = 1.0 + (x + x2 * s3)
    s7 = 1.0 + (x + x2 * s5)
    s9 = 1.0 + (x + x2 * s7)
    s11 = 1.0 + (x + x2 * s9)
    t = (1.0 / b) ** 2
    w = ((((c5 * s11 * t + c4 * s9) * t + c3 * s7) * t + c2 * s5) * t + c1 * s3) * t + c0
    w = w * (c / b)
    u = d * lax.log1p(a / b)
    v = a * (lax.log(b) - 1.0)
    return jnp.where(u <= v, (w - v) - u, (w - u) - v)


def _betaln(a, b):
    a, b = jnp.minimum(a, b), jnp.maximum(a, b)
    small = _lgamma(a) + (_lgamma(b) - _lgamma(a + b))
    large = _lgamma(a) + _algdiv(a, b)
    return jnp.where(b < 8, small, large)


def betaln(a, b):
    """``log |B(a, b)|``, accurate for large ``b``."""
    a, b = args("betaln", a, b)
    real("betaln", a)
    return _betaln(a, b)


def beta(a, b):
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``."""
    a, b = args("beta", a, b)
    real("beta", a)
    sign = _gammasgn(a) * _gammasgn(b) * _gammasgn(a + b)
    return sign * lax.exp(_betaln(a, b))


def factorial(n, exact=False):
    """``n!`` as ``Gamma(n + 1)`` (0 for negative ``n``)."""
    if exact:
        raise NotImplementedError(f"factorial with exact=True{_where_msg()}")
    (n,) = args("factorial", n)
    real("factorial", n)
    return jnp.where(n < 0, 0, lax.exp(_lgamma(n + 1)))


def comb(N, k, *, repetition=False):
    """The number of combinations of ``N`` things taken ``k`` at a time (with
    ``repetition``: multisets), through ``gammaln``; 0 outside ``0 <= k <= N``."""
    N, k = args("comb", N, k)
    real("comb", N)
    if repetition:
        return jnp.where((k == 0) & (N >= 0), 1.0, comb(N + k - 1, k))
    ok = (k <= N) & (N >= 0) & (k >= 0)
    sN = jnp.where(ok, N, 0.0)
    sk = jnp.where(ok, k, 0.0)
    value = lax.exp(_lgamma(sN + 1) - _lgamma(sk + 1) - _lgamma(sN + 1 - sk))
    return jnp.where(ok, value, 0.0)


def poch(z, m):
    """The Pochhammer symbol (rising factorial) ``Gamma(z + m) / Gamma(z)``."""
    z, m = args("poch", z, m)
    real("poch", z)
    return _poch(z, m)


@custom_jvp
def _poch(z, m):
    one = np.asarray(1, z.dtype)[()]
    return jnp.where(m == 0.0, one, gamma(z + m) / gamma(z))


@_poch.defjvp
def _poch_jvp(primals, tangents):
    (z, m), (tz, tm) = primals, tangents
    out = _poch(z, m)
    dz = (_digamma(z + m) - _digamma(z)) * out
    dm = _digamma(z + m) * out
    return out, dz * tz + dm * tm


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (a static int)."""
    d = concrete_int("multigammaln", "d", d)
    check = args("multigammaln", a)
    real("multigammaln", check[0])
    a, d_ = jnp.promote_dtypes_inexact(check[0], jnp.asarray(d))
    log_pi = lax.log(np.asarray(np.pi, a.dtype)[()])
    constant = 0.25 * d_ * (d_ - 1) * log_pi
    b = np.arange(d, dtype=np.dtype(a.dtype)) / np.asarray(2, a.dtype)
    res = jnp.sum(_lgamma(a[..., None] - b), axis=-1)
    return res + constant


def bernoulli(n):
    """The Bernoulli numbers ``B_0 .. B_n`` (``B_1 = -1/2``), a static ``n``."""
    n = concrete_int("bernoulli", "n", n)
    if n < 0:
        raise ValueError(f"bernoulli: n must be a non-negative integer, got {n}"
                         f"{_where_msg()}")
    dt = _dt.canonicalize(np.float64)
    if n <= 64:
        vals = [float(v) for v in _bernoulli_exact(n)]
    else:
        # B_2k = (-1)^(k+1) 2 (2k)! zeta(2k) / (2 pi)^(2k), in float64 through log-gamma
        vals = [float(v) for v in _bernoulli_exact(64)]
        for m in range(65, n + 1):
            if m % 2:
                vals.append(0.0)
                continue
            zeta_m = sum(float(j) ** -m for j in range(1, 8))
            mag = math.lgamma(m + 1) + math.log(2 * zeta_m) - m * math.log(2 * math.pi)
            sign = 1.0 if (m // 2) % 2 else -1.0
            vals.append(sign * math.exp(mag) if mag < 709.7 else sign * math.inf)
    with np.errstate(over="ignore"):
        return jnp.asarray(np.asarray(vals, np.float64).astype(dt))
