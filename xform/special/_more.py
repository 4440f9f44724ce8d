"""Fresnel integrals (``fresnel``, Cephes' rational approximations as JAX's third-party
port), the Faddeeva function ``wofz`` (Weideman's 32-term rational approximation; also
``erfcx`` of complex input).  (``hyp1f1``, ``hyp2f1`` and ``sph_harm_y`` are in
``_hyper``.)"""
from __future__ import annotations

import numpy as np

from primitives import dtypes as _dt

from .. import lax, numpy as jnp
from ..api import custom_jvp, jit
from ._common import check_arraylike, polyval
from ..core import where as _where_msg

__all__ = ["fresnel", "wofz"]


# ---- fresnel --------------------------------------------------------------------------------

_FRESNL_SN_32 = [
    1.6476294637887e-09, -1.522754752581096e-07, 8.4247488085024e-06,
    -0.0003120693124703272, 0.007244727626597022, -0.09228055941124598, 0.5235987735681432,]
_FRESNL_CN_32 = [
    1.416802502367354e-08, -1.157231412229871e-06, 5.387223446683264e-05,
    -0.001604381798862293, 0.02818489036795073, -0.2467398198317899, 0.9999999760004487,]
_FRESNL_FN_32 = [
    -1903009855649.792, 135594238805.0252, -4158143148.511033, 73438484.63587323,
    -873235.6681548485, 8560.51546627547, -103.2877601091159, 2.999401847870011,]
_FRESNL_GN_32 = [
    -186084399762.465, 12783506733.93208, -377938771.3202229, 6492611.570598858,
    -77877.89623358162, 860.2931494734327, -14.93439396592284, 0.9999841934744914,]
_FRESNL_SN_64 = [
    -2991.8191940101983, 708840.0452577386, -62974148.62058625, 2548908805.7337637,
    -44297951805.96978, 318016297876.5678,]
_FRESNL_SD_64 = [
    1.0, 281.3762688899943, 45584.78108065326, 5173438.887700964, 419320245.8981112,
    22441179564.534092, 607366389490.0846,]
_FRESNL_CN_64 = [
    -4.9884311457357354e-08, 9.504280628298596e-06, -0.0006451914356839651,
    0.018884331939670384, -0.20552590095501388, 1.0,]
_FRESNL_CD_64 = [
    3.99982968972496e-12, 9.154392157746574e-10, 1.2500186247959882e-07,
    1.2226278902417902e-05, 0.0008680295429417843, 0.04121420907221998, 1.0,]
_FRESNL_FN_64 = [
    0.4215435550436775, 0.1434079197807589, 0.011522095507358577, 0.000345017939782574,
    4.6361374928786735e-06, 3.055689837902576e-08, 1.0230451416490724e-10,
    1.7201074326816183e-13, 1.3428327623306275e-16, 3.763297112699879e-20,]
_FRESNL_FD_64 = [
    1.0, 0.7515863983533789, 0.11688892585919138, 0.0064405152650885865,
    0.00015593440916415301, 1.8462756734893055e-06, 1.1269922476399903e-08,
    3.6014002958937136e-11, 5.887545336215784e-14, 4.5200143407412973e-17,
    1.2544323709001127e-20,]
_FRESNL_GN_64 = [
    0.5044420736433832, 0.1971028335255234, 0.018764858409257526, 0.0006840793809153931,
    1.1513882611188428e-05, 9.828524436884223e-08, 4.4534441586175015e-10,
    1.0826804113902088e-12, 1.375554606332618e-15, 8.363544356306774e-19,
    1.8695871016278324e-22,]
_FRESNL_GD_64 = [
    1.0, 1.4749575992512833, 0.33774898912002, 0.02536037414203388, 0.0008146791071843061,
    1.2754507566772912e-05, 1.0431458965757199e-07, 4.6068072814652043e-10,
    1.1027321506624028e-12, 1.3879653125957886e-15, 8.391588162831187e-19,
    1.8695871016278324e-22,]


@jit
def _sin_cos_pi_half_square(x):
    """``sin(pi x^2 / 2)`` and ``cos(pi x^2 / 2)`` with the argument reduced exactly: with
    ``s = x mod 2``, ``x^2 / 2 mod 2 = s (x - s/2) mod 2``."""
    x = jnp.abs(x)
    s = jnp.fmod(x, 2.0)
    r = jnp.fmod(s * (x - s / 2), 2.0)
    sin = jnp.where(r < 0.5, jnp.sin(np.pi * r),
                    jnp.where(r > 1.5, jnp.sin(np.pi * (r - 2.0)), -jnp.sin(np.pi * (r - 1.0))))
    cos = jnp.where(r == 0.5, 0.0,
                    jnp.where(r < 1.0, -jnp.sin(np.pi * (r - 0.5)), jnp.sin(np.pi * (r - 1.5))))
    return sin, cos


def fresnel(x):
    """The Fresnel integrals ``(S(x), C(x))``."""
    check_arraylike("fresnel", x)
    (x,) = jnp.promote_dtypes_inexact(jnp.asarray(x))
    if _dt.is_complex(x.dtype):
        raise NotImplementedError(f"fresnel: complex-valued inputs are not supported"
                                  f"{_where_msg()}")
    return _fresnel(x)


def _fresnel_impl(xa):
    dtype = xa.dtype
    if np.dtype(dtype) != np.float64:
        xa = xa.astype(np.float32)
    single = np.dtype(xa.dtype) == np.float32
    dt = np.dtype(xa.dtype)

    def p(c, v):
        return polyval(np.asarray(c, dt), v)
    x = jnp.abs(xa)
    x2 = x * x
    t = x2 * x2
    if single:
        s_small = x * x2 * p(_FRESNL_SN_32, t)
        c_small = x * p(_FRESNL_CN_32, t)
    else:
        s_small = x * x2 * p(_FRESNL_SN_64, t) / p(_FRESNL_SD_64, t)
        c_small = x * p(_FRESNL_CN_64, t) / p(_FRESNL_CD_64, t)
    sin, cos = _sin_cos_pi_half_square(x)
    if single:
        c_large = s_large = 0.5
    else:
        c_large = 0.5 + 1 / (np.pi * x) * sin
        s_large = 0.5 - 1 / (np.pi * x) * cos
    t = np.pi * x2
    u = 1.0 / (t * t)
    t = 1.0 / t
    if single:
        f = 1.0 - u * p(_FRESNL_FN_32, u)
        g = t * p(_FRESNL_GN_32, u)
    else:
        f = 1.0 - u * p(_FRESNL_FN_64, u) / p(_FRESNL_FD_64, u)
        g = t * p(_FRESNL_GN_64, u) / p(_FRESNL_GD_64, u)
    t = np.pi * x
    c_mid = 0.5 + (f * sin - g * cos) / t
    s_mid = 0.5 - (f * cos + g * sin) / t
    inf = jnp.isinf(xa)
    small = x2 < 2.5625
    large = x > 36974.0
    s = jnp.where(inf, 0.5, jnp.where(small, s_small, jnp.where(large, s_large, s_mid)))
    c = jnp.where(inf, 0.5, jnp.where(small, c_small, jnp.where(large, c_large, c_mid)))
    neg = xa < 0.0
    s = jnp.where(neg, -s, s)
    c = jnp.where(neg, -c, c)
    return s.astype(dtype), c.astype(dtype)


_fresnel = custom_jvp(_fresnel_impl)


@_fresnel.defjvp
def _fresnel_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    sin, cos = _sin_cos_pi_half_square(x)
    return _fresnel(x), (sin * t, cos * t)


# ---- wofz -----------------------------------------------------------------------------------

def _weideman(n=32):
    """Weideman's (1994) coefficients for ``w(z) = 2 p(Z) / (L - iz)^2 + 1 / (sqrt(pi)
    (L - iz))``, ``Z = (L + iz) / (L - iz)``, ``L = sqrt(n / sqrt 2)`` (Im z >= 0): the
    FFT of ``exp(-t^2) (L^2 + t^2)`` on the mapped grid, highest power first."""
    m = 2 * n
    length = np.sqrt(n / np.sqrt(2))
    t = length * np.tan(np.arange(-m + 1, m) * np.pi / m / 2)
    f = np.concatenate([[0.0], np.exp(-t ** 2) * (length ** 2 + t ** 2)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return length, a[1:n + 1][::-1].copy()


_WOFZ_L, _WOFZ_C = _weideman()


def _complex_args(name, z):
    check_arraylike(name, z)
    z = jnp.asarray(z)
    (z,) = jnp.promote_dtypes_inexact(z)
    if not _dt.is_complex(z.dtype):
        z = z.astype(np.complex128 if np.dtype(z.dtype) == np.float64 else np.complex64)
    return z


def wofz(z):
    """The Faddeeva function ``w(z) = exp(-z^2) erfc(-iz)``."""
    return _wofz(_complex_args("wofz", z))


def _wofz_upper(z):
    re = lax.real(z)
    zero = jnp.zeros_like(re)
    ell = lax.complex(jnp.full_like(re, _WOFZ_L), zero)
    iz = lax.complex(lax.neg(lax.imag(z)), re)
    denom = ell - iz
    big_z = (ell + iz) / denom
    p = polyval(np.asarray(_WOFZ_C, big_z.dtype), big_z)
    inv_sqrt_pi = lax.complex(jnp.full_like(re, 1 / np.sqrt(np.pi)), zero)
    return 2 * p / (denom * denom) + inv_sqrt_pi / denom


@custom_jvp
def _wofz(z):
    upper = lax.imag(z) >= 0
    zu = jnp.where(upper, z, -z)
    wu = _wofz_upper(zu)
    # w(-z) = 2 exp(-z^2) - w(z)
    return jnp.where(upper, wu, 2 * lax.exp(-(z * z)) - wu)


@_wofz.defjvp
def _wofz_jvp(primals, tangents):
    (z,), (t,) = primals, tangents
    out = _wofz(z)
    re = lax.real(z)
    two_i_over_sqrt_pi = lax.complex(jnp.zeros_like(re), jnp.full_like(re, 2 / np.sqrt(np.pi)))
    return out, t * (-(2 * z * out) + two_i_over_sqrt_pi)


def _erfcx_complex(x):
    """``erfcx(z) = w(iz)``."""
    return _wofz(lax.complex(lax.neg(lax.imag(x)), lax.real(x)))
