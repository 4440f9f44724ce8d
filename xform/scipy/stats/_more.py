"""The Gumbel distributions (``gumbel_l``, ``gumbel_r``), the circular ones (``vonmises``,
``wrapcauchy``) and the truncated normal (``truncnorm``, with JAX's stable log-mass of a
normal interval: tail differences by ``logsumexp`` of ``log_ndtr``, the central case by
``log1p``)."""
from __future__ import annotations

import numpy as np

from ... import lax, numpy as jnp
from ... import special
from ._common import args, const, distribution, exp_of, log1mexp
from ._line import norm_logpdf


def _gumbel(name, x, loc, scale):
    """(positive scale, z) for a Gumbel function."""
    x, loc, scale = args(name, x, loc, scale)
    return lax.gt(scale, const(scale, 0)), lax.div(lax.sub(x, loc), scale), scale


def _quantile_inputs(name, p, loc, scale):
    p, loc, scale = args(name, p, loc, scale)
    inside = lax.bitwise_and(lax.gt(p, const(p, 0)), lax.lt(p, const(p, 1)))
    return p, loc, scale, inside


# ---- gumbel_l -------------------------------------------------------------------------------

def gumbel_l_logpdf(x, loc=0, scale=1):
    """Log-density of the left-skewed Gumbel distribution (NaN unless ``scale > 0``)."""
    ok, z, scale = _gumbel("gumbel_l.logpdf", x, loc, scale)
    return jnp.where(ok, lax.add(special.xlogy(-1, scale), lax.sub(z, lax.exp(z))), np.nan)


def gumbel_l_logcdf(x, loc=0, scale=1):
    """Log of the left Gumbel CDF, ``log(-expm1(-exp(z)))``."""
    ok, z, _ = _gumbel("gumbel_l.logcdf", x, loc, scale)
    return jnp.where(ok, lax.log(-lax.expm1(lax.neg(lax.exp(z)))), np.nan)


def gumbel_l_logsf(x, loc=0, scale=1):
    """Log of the left Gumbel survival function, ``-exp(z)``."""
    ok, z, _ = _gumbel("gumbel_l.logsf", x, loc, scale)
    return jnp.where(ok, lax.neg(lax.exp(z)), np.nan)


def gumbel_l_ppf(p, loc=0, scale=1):
    """Left Gumbel quantile ``loc + scale log(-log1p(-p))`` (NaN outside ``(0, 1)``)."""
    p, loc, scale, inside = _quantile_inputs("gumbel_l.ppf", p, loc, scale)
    value = lax.add(loc, lax.mul(scale, lax.log(special.xlog1py(-1, lax.neg(p)))))
    return jnp.where(inside, value, np.nan)


gumbel_l = distribution(
    "gumbel_l", "The left-skewed Gumbel distribution.", gumbel_l_logpdf,
    exp_of(gumbel_l_logpdf, "gumbel_l_pdf"), gumbel_l_logcdf,
    exp_of(gumbel_l_logcdf, "gumbel_l_cdf"), gumbel_l_logsf,
    exp_of(gumbel_l_logsf, "gumbel_l_sf"), gumbel_l_ppf)


# ---- gumbel_r -------------------------------------------------------------------------------

def gumbel_r_logpdf(x, loc=0, scale=1):
    """Log-density of the right-skewed Gumbel distribution (NaN unless ``scale > 0``)."""
    ok, z, scale = _gumbel("gumbel_r.logpdf", x, loc, scale)
    value = lax.add(special.xlogy(-1, scale), lax.neg(lax.add(z, lax.exp(lax.neg(z)))))
    return jnp.where(ok, value, np.nan)


def gumbel_r_logcdf(x, loc=0, scale=1):
    """Log of the right Gumbel CDF, ``-exp(-z)``."""
    ok, z, _ = _gumbel("gumbel_r.logcdf", x, loc, scale)
    return jnp.where(ok, lax.neg(lax.exp(lax.neg(z))), np.nan)


def _gumbel_r_neg(name, x, loc, scale):
    x, loc, scale = args(name, x, loc, scale)
    return lax.gt(scale, const(scale, 0)), lax.div(lax.sub(loc, x), scale), x


def gumbel_r_sf(x, loc=0, scale=1):
    """Right Gumbel survival function ``1 - exp(-exp(-z))``."""
    ok, neg_z, x = _gumbel_r_neg("gumbel_r.sf", x, loc, scale)
    value = lax.sub(const(x, 1), lax.exp(lax.neg(lax.exp(neg_z))))
    return jnp.where(ok, value, np.nan)


def gumbel_r_logsf(x, loc=0, scale=1):
    """Log of the right Gumbel survival function, ``log1mexp(exp(-z))``."""
    ok, neg_z, _ = _gumbel_r_neg("gumbel_r.logsf", x, loc, scale)
    return jnp.where(ok, log1mexp(lax.exp(neg_z)), np.nan)


def gumbel_r_ppf(p, loc=0, scale=1):
    """Right Gumbel quantile ``loc - scale log(-log p)`` (NaN outside ``(0, 1)``)."""
    p, loc, scale, inside = _quantile_inputs("gumbel_r.ppf", p, loc, scale)
    value = lax.sub(loc, lax.mul(scale, lax.log(special.xlogy(-1, p))))
    return jnp.where(inside, value, np.nan)


gumbel_r = distribution(
    "gumbel_r", "The right-skewed Gumbel distribution.", gumbel_r_logpdf,
    exp_of(gumbel_r_logpdf, "gumbel_r_pdf"), gumbel_r_logcdf,
    exp_of(gumbel_r_logcdf, "gumbel_r_cdf"), gumbel_r_sf, gumbel_r_logsf, gumbel_r_ppf)


# ---- circular -------------------------------------------------------------------------------

def vonmises_logpdf(x, kappa):
    """Log-density of the von Mises distribution (NaN unless ``kappa > 0``)."""
    x, kappa = args("vonmises.logpdf", x, kappa)
    value = kappa * (jnp.cos(x) - 1) - jnp.log(2 * np.pi * special.i0e(kappa))
    return jnp.where(lax.gt(kappa, const(kappa, 0)), value, np.nan)


vonmises = distribution("vonmises", "The von Mises distribution.", vonmises_logpdf,
                        exp_of(vonmises_logpdf, "vonmises_pdf"))


def wrapcauchy_logpdf(x, c):
    """Log-density of the wrapped Cauchy distribution on ``[0, 2 pi]`` (NaN unless
    ``0 < c < 1``)."""
    x, c = args("wrapcauchy.logpdf", x, c)
    c_ok = lax.gt(c, const(c, 0)) & lax.lt(c, const(c, 1))
    x_ok = lax.ge(x, const(x, 0)) & lax.le(x, const(x, 2 * np.pi))
    value = jnp.log(1 - c * c) - jnp.log(2 * np.pi) - jnp.log(1 + c * c - 2 * c * jnp.cos(x))
    return jnp.where(c_ok, jnp.where(x_ok, value, -np.inf), np.nan)


wrapcauchy = distribution("wrapcauchy", "The wrapped Cauchy distribution.", wrapcauchy_logpdf,
                          exp_of(wrapcauchy_logpdf, "wrapcauchy_pdf"))


# ---- truncnorm ------------------------------------------------------------------------------

def _log_sub(x, y):
    """``log(exp(x) - exp(y))`` by a signed ``logsumexp``."""
    return special.logsumexp(jnp.array([x, y]), axis=0,
                             b=jnp.array([jnp.ones_like(x), -jnp.ones_like(y)]))


def _log_gauss_mass(a, b):
    """``log(ndtr(b) - ndtr(a))``, accurate in both tails and in the middle."""
    a, b = jnp.broadcast_arrays(jnp.array(a), jnp.array(b))
    left, right = b <= 0, a > 0
    central = ~(left | right)
    lo = jnp.where(right, -b, a)
    hi = jnp.where(right, -a, b)
    tail = _log_sub(special.log_ndtr(hi), special.log_ndtr(lo))
    middle = jnp.log1p(-special.ndtr(a) - special.ndtr(-b))
    return jnp.where(central, middle, tail)


def truncnorm_logpdf(x, a, b, loc=0, scale=1):
    """Log-density of the normal distribution truncated to ``[a, b]`` (standardized bounds);
    NaN where ``a >= b``."""
    x, a, b, loc, scale = args("truncnorm.logpdf", x, a, b, loc, scale)
    value = lax.sub(norm_logpdf(x, loc, scale), _log_gauss_mass(a, b))
    z = lax.div(lax.sub(x, loc), scale)
    value = jnp.where((z < a) | (z > b), -np.inf, value)
    return jnp.where(a >= b, np.nan, value)


def truncnorm_logcdf(x, a, b, loc=0, scale=1):
    """Log of the truncated normal CDF (through the survival function near 1)."""
    x, a, b, loc, scale = args("truncnorm.logcdf", x, a, b, loc, scale)
    x, a, b = jnp.broadcast_arrays(x, a, b)
    z = lax.div(lax.sub(x, loc), scale)
    mass = _log_gauss_mass(a, b)
    log_cdf = _log_gauss_mass(a, z) - mass
    log_sf = _log_gauss_mass(z, b) - mass
    out = jnp.select([z >= b, z <= a, log_cdf > -0.1, z > a],
                     [0, -np.inf, jnp.log1p(-jnp.exp(log_sf)), log_cdf])
    return jnp.where(a >= b, np.nan, out)


def truncnorm_logsf(x, a, b, loc=0, scale=1):
    """Log of the truncated normal survival function, ``logcdf`` of the mirror image."""
    x, a, b, loc, scale = args("truncnorm.logsf", x, a, b, loc, scale)
    return truncnorm_logcdf(-x, -b, -a, -loc, scale)


truncnorm = distribution(
    "truncnorm", "The truncated normal distribution.", truncnorm_logpdf,
    exp_of(truncnorm_logpdf, "truncnorm_pdf"), truncnorm_logcdf,
    exp_of(truncnorm_logcdf, "truncnorm_cdf"), truncnorm_logsf,
    exp_of(truncnorm_logsf, "truncnorm_sf"))
