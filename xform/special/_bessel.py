"""Modified Bessel functions of the first kind: ``i0e``, ``i1e`` (Cephes' Chebyshev
series on ``[0, 8]`` and ``[8, inf)``, the coefficients XLA uses: fewer terms in float32)
and ``i0``, ``i1``; and ``bessel_jn`` (Bessel functions of the first kind by backward
recurrence).

``i0e``/``i1e`` carry JAX's derivative rules (``i0e' = i1e - sign(x) i0e``, ``i1e' = i0e -
i1e (sign(x) + 1/x)``, 1/2 at 0).  ``i0``/``i1`` are smooth at 0 but ``exp(|x|) i0e(x)`` is
not: they carry their own rules (``i0' = i1``, ``i1' = i0 - i1/x``, 1/2 at 0), where JAX
differentiates the product and gets ``i0'(0) = 1`` (docs/differences.md)."""
from __future__ import annotations

import numpy as np

from ..api import custom_jvp, jit
from .. import lax, numpy as jnp
from ._common import args, chebyshev, concrete_int, is64, real

__all__ = ["i0e", "i0", "i1e", "i1", "bessel_jn"]

# Cephes i0.c: exp(-x) I0(x) on [0, 8] in (x/2 - 2), and exp(-x) sqrt(x) I0(x) on
# [8, inf) in (32/x - 2)
_I0E_A = [
    -4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
    1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
    -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
    9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
    -1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
    1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
    -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
    1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
    -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
    1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1]
_I0E_B = [
    -7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
    3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
    1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
    -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
    7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
    -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
    3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
    2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
    8.04490411014108831608E-1]
# Cephes i1.c: exp(-x) I1(x) / x on [0, 8], exp(-x) sqrt(x) I1(x) on [8, inf)
_I1E_A = [
    2.77791411276104639959E-18, -2.11142121435816608115E-17, 1.55363195773620046921E-16,
    -1.10559694773538630805E-15, 7.60068429473540693410E-15, -5.04218550472791168711E-14,
    3.22379336594557470981E-13, -1.98397439776494371520E-12, 1.17361862988909016308E-11,
    -6.66348972350202774223E-11, 3.62559028155211703701E-10, -1.88724975172282928790E-9,
    9.38153738649577178388E-9, -4.44505912879632808065E-8, 2.00329475355213526229E-7,
    -8.56872026469545474066E-7, 3.47025130813767847674E-6, -1.32731636560394358279E-5,
    4.78156510755005422638E-5, -1.61760815825896745588E-4, 5.12285956168575772895E-4,
    -1.51357245063125314899E-3, 4.15642294431288815669E-3, -1.05640848946261981558E-2,
    2.47264490306265168283E-2, -5.29459812080949914269E-2, 1.02643658689847095384E-1,
    -1.76416518357834055153E-1, 2.52587186443633654823E-1]
_I1E_B = [
    7.51729631084210481353E-18, 4.41434832307170791151E-18, -4.65030536848935832153E-17,
    -3.20952592199342395980E-17, 2.96262899764595013876E-16, 3.30820231092092828324E-16,
    -1.88035477551078244854E-15, -3.81440307243700780478E-15, 1.04202769841288027642E-14,
    4.27244001671195135429E-14, -2.10154184277266431302E-14, -4.08355111109219731823E-13,
    -7.19855177624590851209E-13, 2.03562854414708950722E-12, 1.41258074366137813316E-11,
    3.25260358301548823856E-11, -1.89749581235054123450E-11, -5.58974346219658380687E-10,
    -3.83538038596423702205E-9, -2.63146884688951950684E-8, -2.51223623787020892529E-7,
    -3.88256480887769039346E-6, -1.10588938762623716291E-4, -9.76109749136146840777E-3,
    7.78576235018280120474E-1]


def _in_f32(fn):
    def run(x):
        if np.dtype(x.dtype).itemsize < 4:
            return fn(x.astype(np.float32)).astype(x.dtype)
        return fn(x)
    return run


@jit
@_in_f32
def _i0e_value(x):
    n_small, n_large = (30, 25) if is64(x) else (18, 7)
    z = jnp.abs(x)
    small = chebyshev(0.5 * z - 2.0, _I0E_A[-n_small:])
    large = chebyshev(32.0 / z - 2.0, _I0E_B[-n_large:]) / lax.sqrt(z)
    return jnp.where(z <= 8.0, small, large)


@jit
@_in_f32
def _i1e_value(x):
    n_small, n_large = (29, 25) if is64(x) else (17, 7)
    z = jnp.abs(x)
    small = z * chebyshev(0.5 * z - 2.0, _I1E_A[-n_small:])
    large = chebyshev(32.0 / z - 2.0, _I1E_B[-n_large:]) / lax.sqrt(z)
    return lax.sign(x) * jnp.where(z <= 8.0, small, large)


@custom_jvp
def _i0e(x):
    return _i0e_value(x)


@_i0e.defjvp
def _i0e_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    y = _i0e(x)
    return y, t * (_i1e(x) - lax.sign(x) * y)


@custom_jvp
def _i1e(x):
    return _i1e_value(x)


def _tiny_guard(x, keep_nan=False):
    """``|x| > eps`` (NaN counts as not tiny with ``keep_nan``) and ``x`` with the tiny
    values replaced by ``eps``."""
    eps = float(np.finfo(np.dtype(x.dtype)).eps)
    ok = ~(jnp.abs(x) <= eps) if keep_nan else jnp.abs(x) > eps
    return ok, jnp.where(ok, x, jnp.full_like(x, eps))


@_i1e.defjvp
def _i1e_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    y = _i1e(x)
    ok, safe = _tiny_guard(x)
    slope = _i0e(safe) - y * (lax.sign(safe) + 1 / safe)
    return y, t * jnp.where(ok, slope, jnp.full_like(x, 0.5))


@custom_jvp
def _i0(x):
    return lax.mul(lax.exp(lax.abs(x)), _i0e_value(x))


@_i0.defjvp
def _i0_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _i0(x), t * _i1(x)


@custom_jvp
def _i1(x):
    return lax.mul(lax.exp(lax.abs(x)), _i1e_value(x))


@_i1.defjvp
def _i1_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    ok, safe = _tiny_guard(x, keep_nan=True)
    slope = _i0(safe) - _i1(safe) / safe
    return _i1(x), t * jnp.where(ok, slope, jnp.full_like(x, 0.5))


def i0e(x):
    """The exponentially scaled modified Bessel function of order 0, ``exp(-|x|) I0(x)``."""
    (x,) = args("i0e", x)
    real("i0e", x, error=TypeError)
    return _i0e(x)


def i1e(x):
    """The exponentially scaled modified Bessel function of order 1, ``exp(-|x|) I1(x)``."""
    (x,) = args("i1e", x)
    real("i1e", x, error=TypeError)
    return _i1e(x)


def i0(x):
    """The modified Bessel function of the first kind of order 0."""
    (x,) = args("i0", x)
    real("i0", x, error=TypeError)
    return _i0(x)


def i1(x):
    """The modified Bessel function of the first kind of order 1."""
    (x,) = args("i1", x)
    real("i1", x, error=TypeError)
    return _i1(x)


def bessel_jn(z, *, v, n_iter=50):
    """``J_0(z) .. J_v(z)`` stacked on a new leading axis, by Miller's backward recurrence
    from order ``n_iter`` normalised with ``J_0 + 2 sum J_2k = 1``."""
    (z,) = args("bessel_jn", z)
    real("bessel_jn", z)
    v = concrete_int("bessel_jn", "v", v)
    n_iter = concrete_int("bessel_jn", "n_iter", n_iter)

    def step(carry, k):
        f0, f1, total = carry
        f = 2.0 * (k + 1.0) * f1 / z - f0
        total = jnp.where(jnp.remainder(k, 2) == 0, total + 2.0 * f, total)
        return (f1, f, total), f

    zero = jnp.zeros_like(z)
    ks = jnp.arange(n_iter + 1, dtype=z.dtype)
    (_, _, total), fs = lax.scan(step, (zero, zero + 1e-16, zero), ks, reverse=True)
    return fs[: v + 1] / (total - fs[0])
