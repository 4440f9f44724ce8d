"""The regularized incomplete gamma functions ``gammainc``/``gammaincc`` and the
regularized incomplete beta function ``betainc``.

Values follow the algorithms behind JAX's ``lax.igamma``/``igammac``/``betainc``
(XLA's, after Cephes): a power series or a continued fraction for the incomplete gamma
function, chosen by the region, run as a ``while_loop`` until every element has converged;
the Lentz-Thompson-Barnett evaluation of the beta continued fraction after the symmetry
``I_x(a, b) = 1 - I_{1-x}(b, a)``.  float16/bfloat16 compute in float32.

Derivatives, as JAX's: ``d/dx`` is the integrand in closed form (differentiable again);
``d/da`` of the incomplete gamma functions is a second loop that carries the derivative of
every term (``_igamma_da``).  Beyond JAX, which has no rule for that loop, ``_igamma_da``
has one too: its ``x`` slope in closed form and its ``a`` slope by forward
differentiation of the loop (``_igamma_daa``), so second derivatives in ``a`` exist; a
third derivative in ``a`` raises ``NotImplementedError``.  ``betainc`` refuses derivatives
in ``a`` and ``b`` with JAX's ``ValueError``."""
from __future__ import annotations

import numpy as np

from primitives import dtypes as _dt

from ._gamma import _digamma, _lgamma
from .. import lax, numpy as jnp
from ..api import custom_jvp, jit, jvp as _jvp
from ._common import args, compute_dtype, gate, real, weak_as
from ..core import where as _where_msg

__all__ = ["gammainc", "gammaincc", "betainc", "igamma_grad_a", "random_gamma_grad"]

# what _series/_cfrac return: P or Q, its derivative in a, or the derivative of a Gamma(a)
# sample in a (the a-derivative over the x-derivative, with the common prefactor cancelled)
_VALUE, _DERIV, _SAMPLE = "value", "derivative", "sample derivative"


def _upcast(fn):
    """Run ``fn`` on float32 copies of float16/bfloat16 operands, cast back."""
    def run(*xs):
        dt = xs[0].dtype
        cdt = compute_dtype(xs[0])
        if cdt == dt:
            return fn(*xs)
        return fn(*[x.astype(cdt) for x in xs]).astype(dt)
    return run


def _eps(x):
    return float(_dt.finfo(x.dtype).eps)


def _log_max(x):
    return float(np.log(_dt.finfo(x.dtype).max))


def _series(ax, x, a, enabled, mode):
    """``P(a, x)`` (or its ``a`` derivative) by the power series
    ``x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n))``."""
    e = _eps(x)

    def cond(v):
        return jnp.any(v[0])

    def body(v):
        on, r, c, total, dc, dtotal = v
        r1 = r + 1
        dc1 = dc * (x / r1) - (c * x) / (r1 * r1)
        dtotal1 = dtotal + dc1
        c1 = c * (x / r1)
        total1 = total + c1
        more = on & ((c1 / total1 > e) if mode == _VALUE else (jnp.abs(dc1 / dtotal1) > e))
        return (more, jnp.where(on, r1, r), jnp.where(on, c1, c), jnp.where(on, total1, total),
                jnp.where(on, dc1, dc), jnp.where(on, dtotal1, dtotal))

    one, zero = jnp.ones_like(a), jnp.zeros_like(a)
    _, _, _, total, _, dtotal = lax.while_loop(cond, body, (enabled, a, one, one, zero, zero))
    if mode == _VALUE:
        return (total * ax) / a
    dlog = lax.log(x) - lax.digamma(a + 1)
    if mode == _SAMPLE:
        return -(dtotal + total * dlog) * x / a
    return ax * (total * dlog + dtotal) / a


def _cfrac(ax, x, a, enabled, mode):
    """``Q(a, x)`` (or its ``a`` derivative) by Legendre's continued fraction, with the
    numerators and denominators rescaled when they grow past ``1/eps``."""
    e = _eps(x)

    def cond(v):
        return (v[5] < 2000) & jnp.any(v[0])

    def body(v):
        on, ans, t, y, z, c, pkm1, qkm1, pkm2, qkm2, dpkm2, dqkm2, dpkm1, dqkm1, dans = v
        c = c + 1
        y1 = y + 1
        z1 = z + 2
        yc = y1 * c
        pk = pkm1 * z1 - pkm2 * yc
        qk = qkm1 * z1 - qkm2 * yc
        nz = qk != 0
        r = pk / qk
        t1 = jnp.where(nz, jnp.abs((ans - r) / r), jnp.ones_like(r))
        ans1 = jnp.where(nz, r, ans)
        dpk = dpkm1 * z1 - pkm1 - dpkm2 * yc + pkm2 * c
        dqk = dqkm1 * z1 - qkm1 - dqkm2 * yc + qkm2 * c
        dans1 = jnp.where(nz, (dpk - ans1 * dqk) / qk, dans)
        moved = jnp.where(nz, jnp.abs(dans1 - dans), jnp.ones_like(dans))
        nxt = [pk, qk, pkm1, qkm1, dpkm1, dqkm1, dpk, dqk]   # pkm1, qkm1, pkm2, qkm2, d...
        big = jnp.abs(pk) > 1 / e
        nxt = [jnp.where(big, w * e, w) for w in nxt]
        more = on & ((t1 > e) if mode == _VALUE else (moved > e))
        old = [pkm1, qkm1, pkm2, qkm2, dpkm2, dqkm2, dpkm1, dqkm1]
        kept = [jnp.where(on, n_, o_) for n_, o_ in zip(nxt, old)]
        return (more, jnp.where(on, ans1, ans), jnp.where(on, t1, t), jnp.where(on, y1, y),
                jnp.where(on, z1, z), c, *kept, jnp.where(on, dans1, dans))

    y = 1 - a
    z = x + y + 1
    c = jnp.zeros((), x.dtype)
    pkm2, qkm2 = jnp.ones_like(x), x
    pkm1, qkm1 = x + 1, z * x
    ans = pkm1 / qkm1
    zero = jnp.zeros_like(x)
    dqkm1 = -x
    dans = (zero - ans * dqkm1) / qkm1
    init = (enabled, ans, jnp.ones_like(x), y, z, c, pkm1, qkm1, pkm2, qkm2,
            zero, zero, zero, dqkm1, dans)
    out = lax.while_loop(cond, body, init)
    ans, dans = out[1], out[14]
    if mode == _VALUE:
        return ans * ax
    dlog = lax.log(x) - lax.digamma(a)
    if mode == _SAMPLE:
        return -(dans + ans * dlog) * x
    return ax * (ans * dlog + dans)


def _prefactor(a, x):
    """``x^a e^-x / Gamma(a)`` and whether its log underflows."""
    log_ax = a * lax.log(x) - x - lax.lgamma(a)
    return lax.exp(log_ax), log_ax < -_log_max(x)


@jit
@_upcast
def _igamma_value(a, x):
    nan = jnp.isnan(a) | jnp.isnan(x)
    x_inf = x == np.inf
    x0 = x == 0
    domain = (x < 0) | (a < 0) | ((a == 0) & x0) | nan
    use_cf = (x >= 1) & (x > a)
    ax, under = _prefactor(a, x)
    on = ~(x0 | domain | under | x_inf)
    out = jnp.where(use_cf, 1 - _cfrac(ax, x, a, on & use_cf, _VALUE),
                    _series(ax, x, a, on & ~use_cf, _VALUE))
    out = jnp.where(x0, 0, out)
    out = jnp.where(x_inf, 1, out)
    return jnp.where(domain, np.nan, out)


@jit
@_upcast
def _igammac_value(a, x):
    nan = jnp.isnan(a) | jnp.isnan(x)
    x_inf = x == np.inf
    a0 = a == 0
    domain = (x < 0) | (a < 0) | (a0 & (x == 0)) | nan
    use_series = (x < 1) | (x < a)
    ax, under = _prefactor(a, x)
    on = ~(domain | under | x_inf | a0)
    out = jnp.where(use_series, 1 - _series(ax, x, a, on & use_series, _VALUE),
                    _cfrac(ax, x, a, on & ~use_series, _VALUE))
    out = jnp.where(x_inf | a0, 0, out)
    return jnp.where(domain, np.nan, out)


def _da_like(a, x, mode):
    """``dP/da`` (``_DERIV``) or a Gamma sample's ``dx/da`` (``_SAMPLE``), as JAX computes
    them: 0 at x = 0, NaN out of the domain (selected, so their tangents are 0)."""
    nan = jnp.isnan(a) | jnp.isnan(x)
    x0 = x == 0
    domain = (x < 0) | (a <= 0)
    use_cf = (x > 1) & (x > a)
    ax, under = _prefactor(a, x)
    on = ~(x0 | domain | under | nan)
    out = jnp.where(use_cf, -_cfrac(ax, x, a, on & use_cf, mode),
                    _series(ax, x, a, on & ~use_cf, mode))
    out = jnp.where(x0, 0, out)
    return jnp.where(domain | nan, np.nan, out)


@jit
@_upcast
def _igamma_da_value(a, x):
    return _da_like(a, x, _DERIV)


@jit
@_upcast
def _random_gamma_grad_value(a, x):
    return _da_like(a, x, _SAMPLE)


def _igamma_dx(a, x):
    """``dP/dx = x^(a-1) e^-x / Gamma(a)``, written as JAX writes it."""
    return lax.exp(-x + (a - 1) * lax.log(x) - _lgamma(a))


@custom_jvp
def _igamma_daa(a, x):
    return _jvp(_igamma_da_value, (a, x), (jnp.ones_like(a), jnp.zeros_like(x)))[1]


@_igamma_daa.defjvp
def _igamma_daa_jvp(primals, tangents):
    raise NotImplementedError("gammainc/gammaincc: derivatives of order three involving two "
                              "derivatives in `a` are not implemented" + _where_msg())


@custom_jvp
def _igamma_da(a, x):
    return _igamma_da_value(a, x)


@_igamma_da.defjvp
def _igamma_da_jvp(primals, tangents):
    (a, x), (ta, tx) = primals, tangents
    # d/dx of dP/da is d/da of dP/dx: (log x - digamma(a)) dP/dx
    dax = _igamma_dx(a, x) * (lax.log(x) - _digamma(a))
    return _igamma_da(a, x), ta * _igamma_daa(a, x) + tx * dax


def gammainc(a, x):
    """The regularized lower incomplete gamma function ``P(a, x)``."""
    a, x = args("gammainc", a, x)
    real("gammainc", a)
    return weak_as(_gammainc(a, x), a.aval.weak_type and x.aval.weak_type)


@custom_jvp
def _gammainc(a, x):
    return _igamma_value(a, x)


@_gammainc.defjvp
def _gammainc_jvp(primals, tangents):
    (a, x), (ta, tx) = primals, tangents
    return _gammainc(a, x), ta * _igamma_da(a, x) + tx * _igamma_dx(a, x)


def gammaincc(a, x):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    a, x = args("gammaincc", a, x)
    real("gammaincc", a)
    return weak_as(_gammaincc(a, x), a.aval.weak_type and x.aval.weak_type)


@custom_jvp
def _gammaincc(a, x):
    return _igammac_value(a, x)


@_gammaincc.defjvp
def _gammaincc_jvp(primals, tangents):
    (a, x), (ta, tx) = primals, tangents
    return _gammaincc(a, x), -(ta * _igamma_da(a, x)) - tx * _igamma_dx(a, x)


def igamma_grad_a(a, x):
    """``dP(a, x)/da``, the derivative of the regularized incomplete gamma function in its
    shape (``jax.lax.igamma_grad_a``)."""
    a, x = args("igamma_grad_a", a, x)
    real("igamma_grad_a", a)
    return _igamma_da(a, x)


def random_gamma_grad(a, x):
    """``dx/da`` for a Gamma(a) sample ``x`` held at its quantile ``P(a, x)`` (implicit
    reparameterisation): ``-(dP/da) / (dP/dx)`` (``jax.lax.random_gamma_grad``), computed
    as JAX does with the prefactor ``x^a e^-x / Gamma(a)`` cancelled (so it stays finite
    where that underflows)."""
    a, x = args("random_gamma_grad", a, x)
    real("random_gamma_grad", a)
    return _random_gamma_grad_value(a, x)


@custom_jvp
def implicit_gamma_grad(a, x):
    """``random_gamma_grad`` for the samplers' JVP (random.gamma): the same values, and
    derivatives of ``-(dP/da) / (dP/dx)`` through ``_igamma_da``'s rule rather than through
    the loops, so that samples have second derivatives in reverse mode too (JAX's have
    none); 0 where JAX's selects a constant (x = 0, NaN out of the domain)."""
    return _random_gamma_grad_value(a, x)


@implicit_gamma_grad.defjvp
def _implicit_gamma_grad_jvp(primals, tangents):
    (a, x), (ta, tx) = primals, tangents
    _, t = _jvp(lambda a, x: -_igamma_da(a, x) / _igamma_dx(a, x), (a, x), (ta, tx))
    held = (x <= 0) | (a <= 0) | jnp.isnan(a) | jnp.isnan(x)
    return implicit_gamma_grad(a, x), jnp.where(held, 0, t)


# ---- betainc ------------------------------------------------------------------------------

def _lentz(a, b, x, iterations, small):
    """The continued fraction of ``I_x(a, b)`` (DLMF 8.17.22) by the modified Lentz
    method, stopping when every element's last factor is within ``small`` of 1."""
    tiny = jnp.full_like(x, small)

    def numerator(it):
        m_int = (it - 1) // 2
        m = m_int.astype(x.dtype)
        first = -(a + b) * x / (a + 1)
        even = jnp.where(m_int == 0, first,
                         -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)))
        odd = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        even_it = lax.rem(it, np.int32(2)) == 0
        return jnp.where(it == 1, jnp.ones_like(x), jnp.where(even_it, even, odd))

    def cond(v):
        return (v[0] < iterations) & v[1]

    def body(v):
        it, _, c, d, h = v
        num = numerator(it)
        c = 1 + num / c
        c = jnp.where(jnp.abs(c) < small, tiny, c)
        d = 1 + num * d
        d = jnp.where(jnp.abs(d) < small, tiny, d)
        d = 1 / d
        delta = c * d
        h = h * delta
        return it + 1, jnp.any(jnp.abs(delta - 1) >= small), c, d, h

    init = (jnp.asarray(1, np.int32), jnp.asarray(True), tiny, jnp.zeros_like(x), tiny)
    return lax.while_loop(cond, body, init)[4]


@jit
@_upcast
def _betainc_value(a, b, x):
    dt = np.dtype(x.dtype)
    half_eps = float(np.asarray(_dt.finfo(dt).eps / 2, dt))
    a_zero = (a == 0) | (b == np.inf)
    b_zero = (b == 0) | (a == np.inf)
    x0, x1 = x == 0, x == 1
    nan = jnp.isnan(a) | jnp.isnan(b) | jnp.isnan(x)
    to_zero = (b_zero & ~x1) | (a_zero & x0)
    to_one = (a_zero & ~x0) | (b_zero & x1)
    to_nan = (a < 0) | (b < 0) | (x < 0) | (x > 1) | (a_zero & b_zero) | nan
    # the fraction converges fast for x < (a + 1) / (a + b + 2); else use the symmetry
    fast = x < (a + 1) / (a + b + 2)
    a, b = jnp.where(fast, a, b), jnp.where(fast, b, a)
    x = jnp.where(fast, x, 1 - x)
    frac = _lentz(a, b, x, 200 if dt == np.float32 else 600, half_eps)
    very_small = float(_dt.finfo(dt).tiny) * 2
    lbeta_small_a = lax.lgamma(b) - lax.lgamma(a + b)
    lbeta = lax.lgamma(a) + lbeta_small_a
    factor = jnp.where(a < very_small, lax.exp(lax.log1p(-x) * b - lbeta_small_a),
                       lax.exp(lax.log(x) * a + lax.log1p(-x) * b - lbeta) / a)
    out = frac * factor
    out = jnp.where(fast, out, 1 - out)
    out = jnp.where(to_zero, 0, out)
    out = jnp.where(to_one, 1, out)
    return jnp.where(to_nan, np.nan, out)


_betainc_ab_gate = gate("betainc", "the gradient with respect to a and b is not supported "
                        "(as in JAX)")


def betainc(a, b, x):
    """The regularized incomplete beta function ``I_x(a, b)``; differentiable in ``x``."""
    a, b, x = args("betainc", a, b, x)
    real("betainc", x)
    return weak_as(_betainc(_betainc_ab_gate(a), _betainc_ab_gate(b), x),
                   a.aval.weak_type and b.aval.weak_type and x.aval.weak_type)


@custom_jvp
def _betainc(a, b, x):
    return _betainc_value(a, b, x)


@_betainc.defjvp
def _betainc_jvp(primals, tangents):
    (a, b, x), (_, _, tx) = primals, tangents
    lbeta = _lgamma(a) + _lgamma(b) - _lgamma(a + b)
    dx = lax.exp((b - 1) * lax.log1p(-x) + (a - 1) * lax.log(x) - lbeta)
    return _betainc(a, b, x), dx * tx
