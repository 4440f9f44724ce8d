"""Exponential and trigonometric integrals and the dilogarithm: ``expi``, ``exp1``,
``expn``, ``sici`` and ``spence``, following Cephes (``ei.c``, ``expn.c``, ``sici.c``,
``spence.c``) as JAX does: rational approximations on fixed intervals, a power series and
a continued fraction for ``E_n`` (run elementwise to convergence in a ``while_loop``: an
element stops when its own test fails, as under JAX's ``vectorize``).

Derivatives are JAX's rules: ``expi' = e^x / x``, ``E_n' = -E_{n-1}``, ``Si' = sinc``,
``Ci' = cos(x) / x``; ``spence`` is differentiated through its formula, as in JAX."""
from __future__ import annotations

import numpy as np

from .. import lax, numpy as jnp
from ..api import custom_jvp, jit
from ._common import args, polyval, real, weak_as
from ..core import where as _where_msg

__all__ = ["expi", "exp1", "expn", "sici", "spence"]

_EXPINT1_A = [
    -5.350447357812543, 218.50491688166133, -4176.572384826693, 55411.76756393557,
    -331338.13311781443, 1592627.1633849454,]
_EXPINT1_B = [
    1.0, -52.505479591128626, 1259.6161867867906, -17565.495819735348, 149306.2117002726,
    -729494.9239640528, 1592627.1633849454,]
_EXPINT2_A = [
    0.019818085032596897, -1.2716456259849176, -2.0881603356812284, 2.7555445091879367,
    -0.44095070487016, 0.046656238059358916, -0.0015450426796734852, 7.059980605299618e-05,]
_EXPINT2_B = [
    1.0, 1.4764986709149215, 0.5629177174822436, 0.16990178978793072, 0.02291647179034212,
    0.0044501504397287525, 0.00017274396122065214, 3.953167195549672e-05,]
_EXPINT3_A = [
    -1.3732153758712087, -0.7084559133740839, 1.580806855547941, -0.2601500427425623,
    0.029946746941137137, -0.001038086040188744, 4.371064420753005e-05,
    2.141783679522603e-06,]
_EXPINT3_B = [
    1.0, 0.8585231423622028, 0.4483285822873995, 0.07687932158124476, 0.024498682410218877,
    0.0008832165941927797, 0.00045909522995113536, -4.729848351866523e-06,
    2.66519553739071e-06,]
_EXPINT4_A = [
    -2.1069346016919166, 1.7327338696646881, -0.2423619178935842, 0.02322724180937566,
    0.00023728804404931798, -8.343219561192553e-05, 1.3634087956052505e-05,
    -3.655412321999254e-07, 1.4649417339759612e-08, 6.17640786371036e-10,]
_EXPINT4_B = [
    1.0, -0.2298062239901678, 0.11050770414740378, -0.015665429666307924,
    0.002761106850817353, -0.00020891480122840484, 1.7085289388076754e-05,
    -4.4593117963566865e-07, 1.3946349303538475e-08, 6.150865933977338e-10,]
_EXPINT5_A = [
    -0.24581193676740204, -0.14833822533220778, 0.07248291795735552, -0.013483156873809405,
    0.001342775069788637, -7.942465637159712e-05, 2.644179518984236e-06,
    -4.239473659313765e-08,]
_EXPINT5_B = [
    1.0, -0.10442259084438711, -0.26764531281014026, 0.09695000254621984,
    -0.01601745692712991, 0.001496414899205908, -8.462452563778485e-05,
    2.7289384034767266e-06, -4.239462431819542e-08,]
_EXPINT6_A = [
    0.12125611181054567, -0.5823133179043894, 0.2348887314557017, -0.030400343181132484,
    0.0015100821468651906, -2.5231370954995714e-05,]
_EXPINT6_B = [
    1.0, -1.002252150365854, 0.2928709694872224, -0.03337004338674008,
    0.0015605448811273888, -2.5231370936032347e-05,]
_EXPINT7_A = [
    -0.7657847078286127, 0.6886192415566705, -0.2132598113545206, 0.033461075523841935,
    -0.003076541477344756, 0.00017471193164549074, -6.1037116822741705e-06,
    1.218032765428652e-07, -1.0860761027932903e-09,]
_EXPINT7_B = [
    1.0, -1.8888028686623086, 1.066691687211409, -0.27519159823063805,
    0.039308526882338234, -0.003414684558602365, 0.00018668443707035555,
    -6.345146083130515e-06, 1.239754287483207e-07, -1.0860761027931265e-09,]
_SICI_SERIES_SN = [
    -8.391678279103039e-11, 4.625917144270128e-08, -9.757593038436328e-06,
    0.0009769454381704354, -0.04134703162294066, 1.0,]
_SICI_SERIES_SD = [
    2.0326926619595193e-12, 1.279978911799433e-09, 4.418278428012189e-07,
    9.964121220438756e-05, 0.01420852393261499, 1.0,]
_SICI_SERIES_CN = [
    2.0252400238910228e-11, -1.3524950491579076e-08, 3.593250514199931e-06,
    -0.0004740072068734079, 0.028915965260755523, -1.0,]
_SICI_SERIES_CD = [
    4.077460400618806e-12, 3.067809975818878e-09, 1.2321035568588342e-06,
    0.00031744202477503275, 0.051002805623644606, 4.0,]
_SICI_ASYMPT_FN4 = [
    4.236128628922166, 5.4593771716181285, 1.6208328770153833, 0.16700661183132304,
    0.006810201324725182, 0.00010893658065032867, 5.489002234213736e-07,]
_SICI_ASYMPT_FD4 = [
    1.0, 8.16496634205391, 7.308288225055645, 1.867922579501842, 0.1787920529631499,
    0.007017106683227897, 0.00011003435715391573, 5.489002527562557e-07,]
_SICI_ASYMPT_GN4 = [
    0.08710016989731142, 0.6113791099522193, 0.3971802963923375, 0.07485277376284691,
    0.005388686814621773, 0.00016199979459893403, 1.9796387414096365e-06,
    7.825790407440903e-09,]
_SICI_ASYMPT_GD4 = [
    1.0, 1.6440220241335535, 0.666296701268988, 0.09887717612776888, 0.006223963454417684,
    0.0001732210814741771, 2.0265918208634397e-06, 7.825792189335346e-09,]
_SICI_ASYMPT_FN8 = [
    0.4558808734704653, 0.7137152741001467, 0.16030015822231947, 0.01160642294081244,
    0.00034955644244785906, 4.8621543082645475e-06, 3.200927900910049e-08,
    9.41779576128513e-11, 9.70507110881952e-14,]
_SICI_ASYMPT_FD8 = [
    1.0, 0.9174636118736841, 0.17868554533207454, 0.012225359477197129,
    0.00035869648188185157, 4.924350643178815e-06, 3.21956939101046e-08,
    9.437205903502767e-11, 9.70507110881952e-14,]
_SICI_ASYMPT_GN8 = [
    0.6973599534432762, 0.33041097930563207, 0.03848787676499743, 0.001717182390523479,
    3.4894116550227946e-05, 3.471311670841167e-07, 1.7040445278204452e-09,
    3.859459254302766e-12, 3.1404009894636335e-15,]
_SICI_ASYMPT_GD8 = [
    1.0, 1.6854889881101165, 0.48785225869530496, 0.04679131942596258,
    0.0019028442667439953, 3.684755044425611e-05, 3.5704322344374083e-07,
    1.7269374896631615e-09, 3.878301660239547e-12, 3.1404009894636335e-15,]
_SPENCE_POLY_A = [
    4.6512858607399003e-05, 0.007315890452380947, 0.13384763957830903, 0.8796913117545303,
    2.7114985119655346, 4.256971560081218, 3.297713409852251, 1.0,]
_SPENCE_POLY_B = [
    0.0006909904889125533, 0.02540437639325444, 0.2829748606025681, 1.4117259775183106,
    3.6380053334513707, 5.03278880143317, 3.547713409852251, 1.0,]


def _piecewise(x, conds, choices):
    """``jnp.piecewise``'s rule on precomputed values: the last true condition picks its
    choice, none true picks the last (``otherwise``)."""
    out = choices[-1]
    for cond, value in zip(conds, choices):
        out = jnp.where(cond, value, out)
    return out


def _c(x, v):
    return np.asarray(v, x.dtype)


# ---- expi -----------------------------------------------------------------------------------

def _ei_small(x):
    """``Ei`` on ``(0, 2]``: ``x A(x) / B(x) + gamma + log x``."""
    f = polyval(_c(x, _EXPINT1_A), x) / polyval(_c(x, _EXPINT1_B), x)
    return x * f + np.euler_gamma + jnp.log(x)


def _ei_large(coeffs, x):
    """``Ei`` beyond 2: ``e^x / x (1 + A(1/x) / (x B(1/x)))``."""
    a, b = coeffs
    one = _c(x, 1.0)[()]
    w = one / x
    f = polyval(_c(x, a), w) / polyval(_c(x, b), w)
    f = w * f + one
    return jnp.exp(x) * w * f


_EI_INTERVALS = [(_EXPINT2_A, _EXPINT2_B), (_EXPINT3_A, _EXPINT3_B),
                 (_EXPINT4_A, _EXPINT4_B), (_EXPINT5_A, _EXPINT5_B),
                 (_EXPINT6_A, _EXPINT6_B), (_EXPINT7_A, _EXPINT7_B)]


def _expi_pos(x):
    conds = [(x > 0) & (x <= 2)] + [(x > 2 ** i) & (x <= 2 ** (i + 1)) for i in range(1, 6)]
    choices = [_ei_small(x)] + [_ei_large(c, x) for c in _EI_INTERVALS]
    return _piecewise(x, conds, choices)


@jit
def _expi_value(x):
    return _piecewise(x, [x < 0], [-_expn_value(jnp.ones_like(x), -x), _expi_pos(x)])


def expi(x):
    """The exponential integral ``Ei(x)``."""
    (x,) = args("expi", x)
    real("expi", x)
    return _expi(x)


@custom_jvp
def _expi(x):
    return _expi_value(x)


@_expi.defjvp
def _expi_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _expi(x), jnp.exp(x) / x * t


# ---- expn -----------------------------------------------------------------------------------

def _loop(cond, step, state):
    """Run ``step`` on every element whose ``cond`` holds, until none does (what a
    ``vmap``-ed ``while_loop`` does)."""
    def body(s):
        on = cond(s)
        new = step(s)
        return {k: jnp.where(on, new[k], s[k]) for k in s}
    return lax.while_loop(lambda s: jnp.any(cond(s)), body, state)


def _expn_series(x, n, active):
    eps = float(np.finfo(np.dtype(x.dtype)).eps)
    one = jnp.ones_like(x)
    # psi(n) = -gamma - log x + sum_{i < n} 1/i
    psi0 = -np.euler_gamma - jnp.log(x)
    stop = jnp.where(active, n, one)
    psi = lax.while_loop(lambda s: jnp.any(s[0] < stop),
                         lambda s: (s[0] + 1, jnp.where(s[0] < stop, s[1] + one / s[0], s[1])),
                         (one, psi0))[1]
    n1 = jnp.where(n == 1, one + one, n)
    state = dict(z=-x, xk=jnp.zeros_like(x), yk=one, pk=one - n,
                 ans=jnp.where(n == 1, jnp.zeros_like(x), one / (one - n1)),
                 t=jnp.full_like(x, np.inf))

    def step(d):
        xk = d["xk"] + one
        yk = d["yk"] * (d["z"] / xk)
        pk = d["pk"] + one
        ans = d["ans"] + jnp.where(pk != 0, yk / pk, jnp.zeros_like(x))
        t = jnp.where(ans != 0, jnp.abs(yk / ans), one)
        return dict(z=d["z"], xk=xk, yk=yk, pk=pk, ans=ans, t=t)
    d = _loop(lambda d: active & (x > 0) & (d["t"] > eps), step, state)
    return d["z"] ** (n - 1) * psi / jnp.exp(lax.lgamma(n)) - d["ans"]


def _expn_cfrac(x, n, active):
    eps = float(np.finfo(np.dtype(x.dtype)).eps)
    big = 1.44115188075855872e17
    one = jnp.ones_like(x)
    state = dict(k=one, pkm2=one, qkm2=x, pkm1=one, qkm1=x + n, ans=one / (x + n),
                 t=jnp.full_like(x, np.inf), r=jnp.zeros_like(x))

    def step(d):
        k = d["k"] + 1
        odd = lax.rem(k, jnp.full_like(k, 2)) == 1
        yk = jnp.where(odd, one, x)
        xk = jnp.where(odd, n + (k - 1) / 2, k / 2)
        pk = d["pkm1"] * yk + d["pkm2"] * xk
        qk = d["qkm1"] * yk + d["qkm2"] * xk
        nz = qk != 0
        r = jnp.where(nz, pk / qk, d["r"])
        t = jnp.where(nz, jnp.abs((d["ans"] - r) / r), one)
        ans = jnp.where(nz, r, d["ans"])
        scale = jnp.abs(pk) > big
        out = dict(k=k, r=r, t=t, ans=ans, pkm2=d["pkm1"], pkm1=pk, qkm2=d["qkm1"], qkm1=qk)
        for key in ("pkm1", "pkm2", "qkm1", "qkm2"):
            out[key] = jnp.where(scale, out[key] / big, out[key])
        return out
    d = _loop(lambda d: active & (x > 0) & (d["t"] > eps), step, state)
    return d["ans"] * jnp.exp(-x)


def _expn_large_n(x, n):
    xk = x + n
    yk = 1 / (xk * xk)
    ans = yk * n * (6 * x * x - 8 * n * x + n * n)
    ans = yk * (ans + n * (n - 2 * x))
    ans = yk * (ans + n)
    return (ans + 1) * jnp.exp(-x) / xk


@jit
def _expn_value(n, x):
    conds = [(n < 0) | (x < 0), (x == 0) & (n < 2), (x == 0) & (n >= 2),
             (n == 0) & (x >= 0), n >= 5000, x > 1]
    # which branch each element takes (the last true condition; the series otherwise)
    pick = jnp.full(x.shape, len(conds), np.int32)
    for i, c in enumerate(conds):
        pick = jnp.where(c, i, pick)
    n1 = jnp.where(n == 1, n + n, n)
    choices = [jnp.full_like(x, np.nan), jnp.full_like(x, np.inf), 1 / n1,
               jnp.exp(-x) / x, _expn_large_n(x, n), _expn_cfrac(x, n, pick == 5),
               _expn_series(x, n, pick == 6)]
    return _piecewise(x, conds, choices)


def expn(n, x):
    """The generalized exponential integral ``E_n(x)`` (``n`` an integer, as a float array).
    Its derivative in ``n`` is 0, as JAX's: ``E_n`` is defined at integers only."""
    n, x = args("expn", n, x)
    real("expn", x)
    return weak_as(_expn(lax.stop_gradient(n), x), False)   # (JAX's is strong)


@custom_jvp
def _expn(n, x):
    return _expn_value(n, x)


@_expn.defjvp
def _expn_jvp(primals, tangents):
    (n, x), (_, t) = primals, tangents
    return _expn(n, x), lax.mul(lax.neg(t), _expn(n - 1, x))


def exp1(x):
    """The exponential integral ``E_1(x)``."""
    (x,) = args("exp1", x)
    real("exp1", x)
    return weak_as(_expn(jnp.ones_like(x), x), False)


# ---- sici -----------------------------------------------------------------------------------

def _sici_small(x):
    t = x * x
    si = (x * polyval(_c(x, _SICI_SERIES_SN), t)) / polyval(_c(x, _SICI_SERIES_SD), t)
    ci = (np.euler_gamma + jnp.log(x)
          + t * polyval(_c(x, _SICI_SERIES_CN), t) / polyval(_c(x, _SICI_SERIES_CD), t))
    return jnp.where(x == 0, 0.0, si), jnp.where(x == 0, -np.inf, ci)


def _sici_mid(x):
    s, c = jnp.sin(x), jnp.cos(x)
    z = 1.0 / (x * x)

    def ratio(num, den, scale):
        return polyval(_c(x, num), z) / (scale * polyval(_c(x, den), z))
    f4 = ratio(_SICI_ASYMPT_FN4, _SICI_ASYMPT_FD4, x)
    g4 = z * polyval(_c(x, _SICI_ASYMPT_GN4), z) / polyval(_c(x, _SICI_ASYMPT_GD4), z)
    f8 = ratio(_SICI_ASYMPT_FN8, _SICI_ASYMPT_FD8, x)
    g8 = z * polyval(_c(x, _SICI_ASYMPT_GN8), z) / polyval(_c(x, _SICI_ASYMPT_GD8), z)
    below8 = x < 8.0
    f = jnp.where(below8, f4, f8)
    g = jnp.where(below8, g4, g8)
    return (np.pi / 2) - f * c - g * s, f * s - g * c


def _sici_far(x):
    si = (np.pi / 2) - jnp.cos(x) / x
    ci = jnp.sin(x) / x
    inf = x == np.inf
    return jnp.where(inf, np.pi / 2, si), jnp.where(inf, 0.0, ci)


@jit
def _sici_value(x):
    ax = jnp.abs(x)
    small, mid, far = _sici_small(ax), _sici_mid(ax), _sici_far(ax)
    c1 = ax <= 4
    c2 = (ax > 4) & (ax <= 1e9)
    si = jnp.select([c1, c2], [small[0], mid[0]], far[0])
    ci = jnp.select([c1, c2], [small[1], mid[1]], far[1])
    return jnp.sign(x) * si, jnp.where(x == -np.inf, np.nan, ci)


def sici(x):
    """The sine and cosine integrals ``(Si(x), Ci(x))``."""
    (x,) = args("sici", x)
    if jnp.iscomplexobj(x):
        raise ValueError(f"sici: argument x must be real-valued, got dtype {x.dtype}"
                         f"{_where_msg()}")
    return _sici(x)


@custom_jvp
def _sici(x):
    return _sici_value(x)


@_sici.defjvp
def _sici_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _sici(x), (jnp.sinc(x / np.pi) * t, jnp.cos(x) / x * t)


# ---- spence ---------------------------------------------------------------------------------

def _spence_core(x):
    above2 = x > 2.0
    x = jnp.where(above2, 1.0 / x, x)
    above15 = x > 1.5
    below05 = x < 0.5
    flip = above2 | above15
    w = _piecewise(x, [above15, below05], [1.0 / x - 1.0, -x, x - 1.0])
    y = -w * polyval(_c(w, _SPENCE_POLY_A), w) / polyval(_c(w, _SPENCE_POLY_B), w)
    y = jnp.where(below05, np.pi ** 2 / 6.0 - jnp.log(x) * jnp.log(1.0 - x) - y, y)
    return jnp.where(flip, -0.5 * jnp.log(x) ** 2 - y, y)


def spence(x):
    """Spence's function (the dilogarithm ``Li2(1 - x)``), float32/float64 only."""
    args("spence", x)
    x = jnp.asarray(x) if not hasattr(x, "aval") else x
    if np.dtype(x.dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"spence: x.dtype={np.dtype(x.dtype)} is not supported, only float32 "
                        f"and float64{_where_msg()}")
    return _spence_value(x)


@jit
def _spence_value(x):
    # JAX's piecewise takes one branch per element, so a derivative sees only the branch
    # taken: 0 at the constants x < 0, x == 0 and x == 1.  The formula runs on a safe
    # input (0.5) where a constant is taken, so no NaN of an unused branch reaches it.
    const = (x < 0.0) | (x == 1.0) | (x == 0.0)
    core = _spence_core(jnp.where(const, jnp.full_like(x, 0.5), x))
    out = jnp.where(x == 0.0, jnp.full_like(x, np.pi ** 2 / 6), core)
    out = jnp.where(x == 1.0, jnp.zeros_like(x), out)
    return jnp.where(x < 0.0, jnp.full_like(x, np.nan), out)
