"""Distributions on a half-line or an interval: ``gamma``, ``chi2``, ``beta``, ``expon`` and
``pareto``, written with JAX's formulas (``-inf`` log-density outside the support, the
incomplete gamma and beta functions of ``xform.scipy.special`` for the CDFs)."""
from __future__ import annotations

import numpy as np

from ... import lax, numpy as jnp
from ... import special
from ._common import args, const, distribution, exp_of, full_shape, log_of


def _standard(x, loc, scale):
    return lax.div(lax.sub(x, loc), scale)


def _clamped(x, y, hi):
    return lax.clamp(const(x, 0), y, const(x, hi))


# ---- gamma ----------------------------------------------------------------------------------

def gamma_logpdf(x, a, loc=0, scale=1):
    """Log-density of the gamma distribution with shape ``a``."""
    x, a, loc, scale = args("gamma.logpdf", x, a, loc, scale)
    inside = lax.ge(x, loc)
    one = const(x, 1)
    y = jnp.where(inside, _standard(x, loc, scale), one)
    linear = lax.sub(special.xlogy(lax.sub(a, one), y), y)
    shape = lax.add(special.gammaln(a), lax.log(scale))
    return jnp.where(inside, lax.sub(linear, shape), -np.inf)


def gamma_cdf(x, a, loc=0, scale=1):
    """Gamma CDF, the regularized lower incomplete gamma function."""
    x, a, loc, scale = args("gamma.cdf", x, a, loc, scale)
    return full_shape(special.gammainc, a, _clamped(x, _standard(x, loc, scale), np.inf))


def gamma_sf(x, a, loc=0, scale=1):
    """Gamma survival function (1 left of the support)."""
    x, a, loc, scale = args("gamma.sf", x, a, loc, scale)
    y = _standard(x, loc, scale)
    return jnp.where(lax.lt(y, const(y, 0)), 1, full_shape(special.gammaincc, a, y))


gamma = distribution("gamma", "The gamma distribution.", gamma_logpdf,
                     exp_of(gamma_logpdf, "gamma_pdf"), gamma_cdf,
                     log_of(gamma_cdf, "gamma_logcdf"), gamma_sf,
                     log_of(gamma_sf, "gamma_logsf"))


# ---- chi2 -----------------------------------------------------------------------------------

def chi2_logpdf(x, df, loc=0, scale=1):
    """Log-density of the chi-squared distribution with ``df`` degrees of freedom."""
    x, df, loc, scale = args("chi2.logpdf", x, df, loc, scale)
    one, two = const(x, 1), const(x, 2)
    y = _standard(x, loc, scale)
    half_df = lax.div(df, two)
    kernel = lax.sub(lax.mul(lax.sub(half_df, one), lax.log(y)), lax.div(y, two))
    log_norm = lax.neg(lax.add(lax.lgamma(half_df),
                               lax.div(lax.mul(const(x, np.log(2.0)), df), two)))
    return jnp.where(lax.lt(x, loc), -np.inf, lax.add(lax.sub(log_norm, lax.log(scale)), kernel))


def _chi2_half(name, x, df, loc, scale):
    x, df, loc, scale = args(name, x, df, loc, scale)
    two = const(scale, 2)
    y = lax.div(lax.sub(x, loc), lax.mul(scale, two))
    return lax.div(df, two), _clamped(x, y, np.inf)


def chi2_cdf(x, df, loc=0, scale=1):
    """Chi-squared CDF, ``P(df/2, y/2)``."""
    return full_shape(special.gammainc, *_chi2_half("chi2.cdf", x, df, loc, scale))


def chi2_sf(x, df, loc=0, scale=1):
    """Chi-squared survival function, ``Q(df/2, y/2)``."""
    return full_shape(special.gammaincc, *_chi2_half("chi2.sf", x, df, loc, scale))


chi2 = distribution("chi2", "The chi-squared distribution.", chi2_logpdf,
                    exp_of(chi2_logpdf, "chi2_pdf"), chi2_cdf, log_of(chi2_cdf, "chi2_logcdf"),
                    chi2_sf, log_of(chi2_sf, "chi2_logsf"))


# ---- beta -----------------------------------------------------------------------------------

def beta_logpdf(x, a, b, loc=0, scale=1):
    """Log-density of the beta distribution on ``[loc, loc + scale]``; NaN unless
    ``a``, ``b`` and ``scale`` are positive."""
    x, a, b, loc, scale = args("beta.logpdf", x, a, b, loc, scale)
    one, zero = const(x, 1), const(a, 0)
    y = _standard(x, loc, scale)
    linear = lax.add(special.xlogy(lax.sub(a, one), y),
                     special.xlog1py(lax.sub(b, one), lax.neg(y)))
    value = lax.sub(lax.add(lax.neg(special.betaln(a, b)), linear), lax.log(scale))
    outside = jnp.logical_or(lax.gt(x, lax.add(loc, scale)), lax.lt(x, loc))
    value = jnp.where(outside, -np.inf, value)
    bad = jnp.logical_or(jnp.logical_or(lax.le(a, zero), lax.le(b, zero)), lax.le(scale, zero))
    return jnp.where(bad, np.nan, value)


def _beta_point(name, x, a, b, loc, scale):
    x, a, b, loc, scale = args(name, x, a, b, loc, scale)
    return a, b, lax.clamp(const(x, 0), _standard(x, loc, scale), const(x, 1))


def beta_cdf(x, a, b, loc=0, scale=1):
    """Beta CDF, the regularized incomplete beta function."""
    a, b, y = _beta_point("beta.cdf", x, a, b, loc, scale)
    return full_shape(special.betainc, a, b, y)


def beta_sf(x, a, b, loc=0, scale=1):
    """Beta survival function ``I(1 - y; b, a)``."""
    a, b, y = _beta_point("beta.sf", x, a, b, loc, scale)
    return full_shape(special.betainc, b, a, 1 - y)


beta = distribution("beta", "The beta distribution.", beta_logpdf,
                    exp_of(beta_logpdf, "beta_pdf"), beta_cdf, log_of(beta_cdf, "beta_logcdf"),
                    beta_sf, log_of(beta_sf, "beta_logsf"))


# ---- expon ----------------------------------------------------------------------------------

def expon_logpdf(x, loc=0, scale=1):
    """Log-density of the exponential distribution."""
    x, loc, scale = args("expon.logpdf", x, loc, scale)
    value = lax.neg(lax.add(_standard(x, loc, scale), lax.log(scale)))
    return jnp.where(lax.lt(x, loc), -np.inf, value)


def expon_cdf(x, loc=0, scale=1):
    """Exponential CDF ``-expm1(-z)`` (0 left of ``loc``)."""
    x, loc, scale = args("expon.cdf", x, loc, scale)
    neg_z = lax.div(lax.sub(loc, x), scale)
    return jnp.where(lax.lt(x, loc), jnp.zeros_like(neg_z), lax.neg(lax.expm1(neg_z)))


def expon_logsf(x, loc=0, scale=1):
    """Log of the exponential survival function, ``-z`` (0 left of ``loc``)."""
    x, loc, scale = args("expon.sf", x, loc, scale)
    neg_z = lax.div(lax.sub(loc, x), scale)
    return jnp.where(lax.lt(x, loc), jnp.zeros_like(neg_z), neg_z)


expon_sf = exp_of(expon_logsf, "expon_sf")


def expon_logcdf(x, loc=0, scale=1):
    """Log of the exponential CDF, ``log1p(-sf)``."""
    return lax.log1p(lax.neg(expon_sf(x, loc, scale)))


def expon_ppf(q, loc=0, scale=1):
    """Exponential quantile ``loc - scale log1p(-q)`` (NaN outside ``[0, 1]``)."""
    q, loc, scale = args("expon.ppf", q, loc, scale)
    bad = jnp.isnan(q) | (q < 0) | (q > 1)
    return jnp.where(bad, np.nan, lax.sub(loc, lax.mul(scale, lax.log1p(lax.neg(q)))))


expon = distribution("expon", "The exponential distribution.", expon_logpdf,
                     exp_of(expon_logpdf, "expon_pdf"), expon_cdf, expon_logcdf, expon_sf,
                     expon_logsf, expon_ppf)


# ---- pareto ---------------------------------------------------------------------------------

def _pareto(name, x, b, loc, scale):
    x, b, loc, scale = args(name, x, b, loc, scale)
    return x, b, scale, _standard(x, loc, scale), lax.lt(x, lax.add(loc, scale))


def pareto_logpdf(x, b, loc=0, scale=1):
    """Log-density of the Pareto distribution with shape ``b`` (``-inf`` below
    ``loc + scale``)."""
    x, b, scale, z, below = _pareto("pareto.logpdf", x, b, loc, scale)
    log_norm = lax.log(lax.div(scale, b))
    value = lax.neg(lax.add(log_norm, lax.mul(lax.add(b, const(x, 1)), lax.log(z))))
    return jnp.where(below, -np.inf, value)


def pareto_cdf(x, b, loc=0, scale=1):
    """Pareto CDF ``1 - z**-b``."""
    x, b, _, z, below = _pareto("pareto.cdf", x, b, loc, scale)
    return jnp.where(below, const(x, 0), lax.sub(const(x, 1), lax.pow(z, lax.neg(b))))


def pareto_logcdf(x, b, loc=0, scale=1):
    """Log of the Pareto CDF, ``log1p(-z**-b)``."""
    x, b, _, z, below = _pareto("pareto.logcdf", x, b, loc, scale)
    return jnp.where(below, -np.inf, lax.log1p(lax.neg(lax.pow(z, lax.neg(b)))))


def pareto_logsf(x, b, loc=0, scale=1):
    """Log of the Pareto survival function, ``-b log z``."""
    x, b, _, z, below = _pareto("pareto.logsf", x, b, loc, scale)
    return jnp.where(below, const(x, 0), lax.neg(lax.mul(b, lax.log(z))))


def pareto_ppf(q, b, loc=0, scale=1):
    """Pareto quantile ``loc + scale (1 - q)**(-1/b)`` (NaN outside ``[0, 1]``)."""
    q, b, loc, scale = args("pareto.ppf", q, b, loc, scale)
    one = const(q, 1)
    value = lax.add(loc, lax.mul(scale, lax.pow(lax.sub(one, q), lax.neg(lax.div(one, b)))))
    return jnp.where(jnp.isnan(q) | (q < 0) | (q > 1), np.nan, value)


pareto = distribution("pareto", "The Pareto distribution.", pareto_logpdf,
                      exp_of(pareto_logpdf, "pareto_pdf"), pareto_cdf, pareto_logcdf,
                      exp_of(pareto_logsf, "pareto_sf"), pareto_logsf, pareto_ppf)
