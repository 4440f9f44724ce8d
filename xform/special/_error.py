"""The error function family and the normal distribution: ``erf``, ``erfc``, ``erfinv``
(meta-operators), ``ndtr``, ``ndtri`` (Cephes' rational approximations), ``log_ndtr``
(with JAX's asymptotic series in the lower tail and its ``custom_jvp``), ``erfcx``,
``dawsn`` (Cody, Paciorek and Thacher's rational approximations) and ``owens_t``."""
from __future__ import annotations

import numpy as np

from .. import lax, numpy as jnp
from ..api import custom_jvp
from ._common import args, polyval, real
from ._more import _erfcx_complex
from ..core import where as _where_msg

__all__ = ["erf", "erfc", "erfinv", "ndtr", "ndtri", "log_ndtr", "erfcx", "dawsn", "owens_t"]


def erf(x):
    """The error function."""
    (x,) = args("erf", x)
    real("erf", x, error=TypeError)
    return lax.erf(x)


def erfc(x):
    """The complementary error function ``1 - erf(x)``."""
    (x,) = args("erfc", x)
    real("erfc", x, error=TypeError)
    return lax.erfc(x)


def erfinv(x):
    """The inverse of ``erf`` on ``[-1, 1]``."""
    (x,) = args("erfinv", x)
    real("erfinv", x, error=TypeError)
    return lax.erf_inv(x)


def _float_only(name, x):
    """``ndtr``/``ndtri``/``log_ndtr`` take float32 and float64 only (integers too are
    refused, as JAX does)."""
    x = jnp.asarray(x) if not hasattr(x, "aval") else x
    if np.dtype(x.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name}: x.dtype={np.dtype(x.dtype)} is not supported, only float32 "
                        f"and float64{_where_msg()}")
    return x


def _c(x, v):
    """A strong scalar of ``x``'s dtype (JAX's ``dtype(v)`` constants)."""
    return np.asarray(v, x.dtype)[()]


def ndtr(x):
    """The standard normal CDF ``(1 + erf(x / sqrt 2)) / 2``."""
    args("ndtr", x)
    return _ndtr(_float_only("ndtr", x))


def _ndtr(x):
    half_sqrt2 = _c(x, 0.5 * np.sqrt(2.0))
    w = x * half_sqrt2
    z = jnp.abs(w)
    y = jnp.where(z < half_sqrt2, _c(x, 1.0) + lax.erf(w),
                  jnp.where(w > _c(x, 0.0), _c(x, 2.0) - lax.erfc(z), lax.erfc(z)))
    return _c(x, 0.5) * y


# Cephes ndtri: rational approximations on p > exp(-2) (in p - 1/2) and on the tails (in
# 1/z, z = sqrt(-2 log p), split at z = 8)
_NDTRI_P0 = [-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
             1.39312609387279679503E1, -1.23916583867381258016E0]
_NDTRI_Q0 = [1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
             -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
             1.59056225126211695515E1, -1.18331621121330003142E0]
_NDTRI_P1 = [4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
             4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
             -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4]
_NDTRI_Q1 = [1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
             1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
             -3.80806407691578277194E-2, -9.33259480895457427372E-4]
_NDTRI_P2 = [3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
             1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
             3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9]
_NDTRI_Q2 = [1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
             2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
             2.89247864745380683936E-6, 6.79019408009981274425E-9]


def ndtri(p):
    """The inverse of ``ndtr``: ``-inf`` at 0, ``inf`` at 1, NaN outside ``[0, 1]``."""
    args("ndtri", p)
    p = _float_only("ndtri", p)
    dt = np.dtype(p.dtype)

    def coeffs(c):
        return np.asarray(c, dt)

    upper = p > _c(p, -np.expm1(-2.0))
    q = jnp.where(upper, _c(p, 1.0) - p, p)
    q = jnp.where(q == _c(p, 0.0), jnp.full_like(q, _c(p, 0.5)), q)
    w = q - _c(p, 0.5)
    ww = lax.square(w)
    central = w + w * ww * (polyval(coeffs(_NDTRI_P0), ww) / polyval(coeffs(_NDTRI_Q0), ww))
    central = central * -_c(p, np.sqrt(2.0 * np.pi))
    z = lax.sqrt(_c(p, -2.0) * lax.log(q))
    head = z - lax.log(z) / z
    inv_z = 1 / z
    far = head - polyval(coeffs(_NDTRI_P2), inv_z) / polyval(coeffs(_NDTRI_Q2), inv_z) / z
    near = head - polyval(coeffs(_NDTRI_P1), inv_z) / polyval(coeffs(_NDTRI_Q1), inv_z) / z
    x = jnp.where(q > _c(p, np.exp(-2.0)), central, jnp.where(z >= _c(p, 8.0), far, near))
    x = jnp.where(p > _c(p, 1.0 - np.exp(-2.0)), x, -x)
    inf = jnp.full_like(x, _c(p, np.inf))
    return jnp.where(p == _c(p, 0.0), -inf, jnp.where(p == _c(p, 1.0), inf, x))


def log_ndtr(x, series_order=3):
    """``log(ndtr(x))``, accurate in both tails (an asymptotic series of ``series_order``
    terms below -10 in float32, -20 in float64)."""
    if not isinstance(series_order, int) or isinstance(series_order, bool):
        raise TypeError(f"log_ndtr: series_order must be a Python integer{_where_msg()}")
    if series_order < 0:
        raise ValueError(f"log_ndtr: series_order must be non-negative{_where_msg()}")
    if series_order > 30:
        raise ValueError(f"log_ndtr: series_order must be <= 30{_where_msg()}")
    args("log_ndtr", x)
    return _log_ndtr(_float_only("log_ndtr", x), series_order)


def _log_ndtr_impl(x, series_order):
    if np.dtype(x.dtype) == np.float64:
        lower, upper = np.array(-20, np.float64), np.array(8, np.float64)
    else:
        lower, upper = np.array(-10, np.float32), np.array(5, np.float32)
    above = x > upper
    # the clamps keep the unused branches finite, so that derivatives stay finite
    r = _ndtr(jnp.where(above, -x, jnp.maximum(x, lower)))
    return jnp.where(above, -r, jnp.where(x > lower, lax.log(r),
                                          _log_ndtr_lower(jnp.minimum(x, lower),
                                                          series_order)))


def _log_ndtr_lower(x, series_order):
    x2 = lax.square(x)
    log_scale = -_c(x, 0.5) * x2 - lax.log(-x) - _c(x, 0.5 * np.log(2.0 * np.pi))
    return log_scale + lax.log(_log_ndtr_series(x, series_order))


def _log_ndtr_series(x, series_order):
    if series_order <= 0:
        return _c(x, 1.0)
    x2 = lax.square(x)
    even = jnp.zeros_like(x)
    odd = jnp.zeros_like(x)
    x2n = x2
    for n in range(1, series_order + 1):
        y = np.asarray(np.prod(np.arange(2 * n - 1, 1, -2)), x.dtype) / x2n
        if n % 2:
            odd = odd + y
        else:
            even = even + y
        x2n = x2n * x2
    return _c(x, 1.0) + even - odd


def _norm_logpdf(x):
    return lax.sub(lax.mul(jnp.full_like(x, -0.5), lax.square(x)),
                   jnp.full_like(x, np.log(np.sqrt(2 * np.pi))))


def _log_ndtr_fn(x, series_order):
    return _log_ndtr_impl(x, series_order)


_log_ndtr = custom_jvp(_log_ndtr_fn, nondiff_argnums=(1,))


@_log_ndtr.defjvp
def _log_ndtr_jvp(series_order, primals, tangents):
    (x,), (t,) = primals, tangents
    out = _log_ndtr(x, series_order)
    return out, lax.mul(t, lax.exp(lax.sub(_norm_logpdf(x), out)))


# ---- erfcx, dawsn ---------------------------------------------------------------------------

def erfcx(x):
    """The scaled complementary error function ``exp(x^2) erfc(x)``."""
    (x,) = args("erfcx", x)
    if jnp.iscomplexobj(x):
        return _erfcx_complex(x)
    return _erfcx(x)


def _erfcx_impl(x):
    if np.dtype(x.dtype).itemsize < 4:
        return _erfcx_impl(x.astype(np.float32)).astype(x.dtype)
    nterms = 9 if np.dtype(x.dtype) == np.float64 else 5
    big = x > _c(x, np.sqrt(np.log(np.finfo(np.dtype(x.dtype)).max)))
    safe = jnp.where(big, jnp.ones_like(x), x)
    direct = lax.exp(lax.square(safe)) * lax.erfc(safe)
    # erfcx(x) ~ P(1/x^2) / (sqrt(pi) x), P's coefficients (-1)^k (2k-1)!! / 2^k
    coeffs = [(-1) ** k * float(np.prod(np.arange(2 * k - 1, 0, -2))) / 2 ** k
              for k in range(nterms - 1, -1, -1)]
    t = 1 / lax.square(x)
    asym = polyval(np.asarray(coeffs, x.dtype), t) / (x * _c(x, np.sqrt(np.pi)))
    return jnp.where(big, asym, direct)


_erfcx = custom_jvp(_erfcx_impl)


@_erfcx.defjvp
def _erfcx_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    out = _erfcx(x)
    return out, t * (2 * x * out - _c(x, 2.0 / np.sqrt(np.pi)))


# Cody, Paciorek and Thacher (1970): Dawson's integral on [0, 3.25) as x P(x^2) / Q(x^2), and
# beyond as (1 + P(1/x^2) / (x^2 Q(1/x^2))) / (2x), two fits split at 6.25
_DAWSN_AN = [1.1368149897175597e-11, 8.492622676674738e-10, 1.9443420417555306e-08,
             9.531517412544844e-07, 3.078283098749132e-06, 0.00035251336852028877,
             -0.0008501498467244109, 0.04226182230055466, -0.09174803717734524, 1.0]
_DAWSN_AD = [2.403720730667626e-11, 1.488646813684934e-09, 5.212652810105416e-08,
             1.2725847827318697e-06, 2.324902498207895e-05, 0.00032552474182605793,
             0.003488058146571626, 0.027944853119882897, 0.15887424196012057,
             0.5749186294893204, 1.0]
_DAWSN_BN = [0.5089551564179009, -0.24475441814269785, 0.09415123353035344,
             -0.021871125514203903, 0.003662076123295692, -0.0004232091144603888,
             3.5964130479389666e-05, -2.1464035171996896e-06, 9.100107800763914e-08,
             -2.4027452082825098e-09, 3.592333854409284e-11]
_DAWSN_BD = [1.0, -0.6318398698733682, 0.2367067882282487, -0.053180636700322324,
             0.008480417185862954, -0.0009479967684866654, 7.810255929445524e-05,
             -4.558751532524426e-06, 1.8910035811142186e-07, -4.913246913319206e-09,
             7.184664032357345e-11]
_DAWSN_CN = [-0.5905928605347732, 0.6292352427243688, -0.17285897538038814,
             0.016483704782518965, -0.0004868276130204627]
_DAWSN_CD = [1.0, -2.698200571975449, 1.7327079904594784, -0.3937085822819395,
             0.03442789240412334, -0.0009736552260409412]


def dawsn(x):
    """Dawson's integral ``exp(-x^2) int_0^x exp(t^2) dt``."""
    (x,) = args("dawsn", x)
    real("dawsn", x)
    return _dawsn(x)


def _dawsn_impl(x):
    if np.dtype(x.dtype).itemsize < 4:
        return _dawsn_impl(x.astype(np.float32)).astype(x.dtype)

    def poly(c, v):
        return polyval(np.asarray(c, x.dtype), v)
    sign = jnp.sign(x)
    ax = lax.abs(x)
    t = _c(x, 1.0) / lax.square(ax)
    # each region evaluated on safe dummies outside it, so that no branch overflows
    r1 = ax < _c(x, 3.25)
    a1 = jnp.where(r1, ax, jnp.ones_like(ax))
    a1sq = lax.square(a1)
    v1 = a1 * poly(_DAWSN_AN, a1sq) / poly(_DAWSN_AD, a1sq)

    def tail(region, num, den):
        tr = jnp.where(region, t, jnp.ones_like(t))
        ar = jnp.where(region, ax, jnp.ones_like(ax))
        return (_c(x, 0.5) / ar) * (_c(x, 1.0) + tr * poly(num, tr) / poly(den, tr))
    v2 = tail((ax >= _c(x, 3.25)) & (ax < _c(x, 6.25)), _DAWSN_BN, _DAWSN_BD)
    v3 = tail(ax >= _c(x, 6.25), _DAWSN_CN, _DAWSN_CD)
    return sign * jnp.where(ax < _c(x, 3.25), v1, jnp.where(ax < _c(x, 6.25), v2, v3))


_dawsn = custom_jvp(_dawsn_impl)


@_dawsn.defjvp
def _dawsn_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    out = _dawsn(x)
    return out, t * (_c(x, 1.0) - _c(x, 2.0) * x * out)


# ---- owens_t --------------------------------------------------------------------------------

def _owens_t_rule():
    """Patefield and Tandy's method T5: Gauss-Legendre (26 points, the positive half) on
    ``T(h, a) = a/(2 pi) int_0^1 exp(-h^2 (1 + a^2 s^2) / 2) / (1 + a^2 s^2) ds``, written
    in ``s^2`` with the ``1/(2 pi)`` folded into the weights."""
    nodes, weights = np.polynomial.legendre.leggauss(26)
    keep = nodes > 0
    order = np.argsort(nodes[keep])
    return nodes[keep][order] ** 2, weights[keep][order] / (2 * np.pi)


_OWENS_T_PTS, _OWENS_T_WTS = _owens_t_rule()


def _owens_t_quadrature(h, a):
    r = lax.square(a)[..., None] * _OWENS_T_PTS
    f = jnp.exp(-0.5 * lax.square(h)[..., None] * (1.0 + r)) / (1.0 + r)
    return a * (f @ _OWENS_T_WTS)


def owens_t(h, a):
    """Owen's T function ``T(h, a)``."""
    h, a = args("owens_t", h, a)
    real("owens_t", h)
    return _owens_t(h, a)


@custom_jvp
def _owens_t(h, a):
    h = jnp.abs(h)
    abs_a = jnp.abs(a)
    root2 = _c(h, np.sqrt(2))
    h_n = h / root2
    small = abs_a <= 1.0
    mod_a = jnp.where(small, abs_a, 1 / abs_a)
    mod_h = jnp.where(small, h, abs_a * h)
    out = _owens_t_quadrature(mod_h, mod_a)
    # exact at h = 0 and at a = 1
    out = jnp.where(mod_h == 0.0, jnp.arctan(mod_a) / (2 * np.pi), out)
    out = jnp.where(mod_a == 1.0,
                    0.125 * lax.erfc(-mod_h / root2) * lax.erfc(mod_h / root2), out)
    # |a| > 1: T(h, a) = (Phi(h) + Phi(ah)) / 2 - Phi(h) Phi(ah) - T(ah, 1/a), by tails
    eh = lax.erfc(h_n)
    eah = lax.erfc(abs_a * h_n)
    flipped = jnp.where(abs_a * h <= 0.67,
                        0.25 - 0.25 * lax.erf(h_n) * lax.erf(abs_a * h_n) - out,
                        0.25 * (eh + eah - eh * eah) - out)
    out = lax.sign(a) * jnp.where(abs_a > 1.0, flipped, out)
    return jnp.where(jnp.isnan(a) | jnp.isnan(h), jnp.full_like(out, np.nan), out)


@_owens_t.defjvp
def _owens_t_jvp(primals, tangents):
    (h, a), (th, ta) = primals, tangents
    out = _owens_t(h, a)
    root2 = _c(h, np.sqrt(2))
    d_h = (-lax.exp(-0.5 * lax.square(h)) * lax.erf(a * h / root2)
           / (2.0 * _c(h, np.sqrt(2.0 * np.pi))))
    d_a = lax.exp(-0.5 * (lax.square(a) + 1.0) * lax.square(h)) / (2.0 * np.pi
                                                                    * (lax.square(a) + 1.0))
    return out, (d_h * th + d_a * ta).astype(out.dtype)
