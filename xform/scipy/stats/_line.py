"""Location-scale distributions on the real line: ``norm``, ``t``, ``cauchy``, ``logistic``,
``laplace``, ``gennorm`` and ``uniform``.  Each function promotes its arguments as JAX does
and evaluates JAX's formula, so values, dtypes, weak types and derivatives follow JAX's."""
from __future__ import annotations

import numpy as np

from ... import lax, numpy as jnp
from ... import special
from ._common import (args, check_arraylike, const, distribution, exp_of, full_shape, log_of,
                      mirror_of)


def _standard(x, loc, scale):
    return lax.div(lax.sub(x, loc), scale)


# ---- norm -----------------------------------------------------------------------------------

def norm_logpdf(x, loc=0, scale=1):
    """Log-density of the normal distribution."""
    x, loc, scale = args("norm.logpdf", x, loc, scale)
    var = lax.square(scale)
    log_norm = lax.log(lax.mul(const(x, 2 * np.pi), var))
    quad = lax.div(lax.square(lax.sub(x, loc)), var)
    return lax.div(lax.add(log_norm, quad), const(x, -2))


def norm_cdf(x, loc=0, scale=1):
    """Normal CDF (``ndtr`` of the standardized point)."""
    x, loc, scale = args("norm.cdf", x, loc, scale)
    return special.ndtr(_standard(x, loc, scale))


def norm_logcdf(x, loc=0, scale=1):
    """Log of the normal CDF (``log_ndtr``)."""
    x, loc, scale = args("norm.logcdf", x, loc, scale)
    return special.log_ndtr(_standard(x, loc, scale))


norm_sf = mirror_of(norm_cdf, "norm_sf", "Normal survival function")
norm_logsf = mirror_of(norm_logcdf, "norm_logsf", "Log of the normal survival function")


def norm_ppf(q, loc=0, scale=1):
    """Normal quantile ``ndtri(q) * scale + loc``, in the default float dtype."""
    return jnp.asarray(special.ndtri(q) * scale + loc, float)


def norm_isf(q, loc=0, scale=1):
    """Inverse survival function ``ppf(1 - q)``."""
    check_arraylike("norm.isf", q)
    q = jnp.asarray(q)
    return norm_ppf(lax.sub(const(q, 1), q), loc, scale)


norm = distribution("norm", "The normal distribution.", norm_logpdf,
                    exp_of(norm_logpdf, "norm_pdf"), norm_cdf, norm_logcdf, norm_sf,
                    norm_logsf, norm_ppf, norm_isf)


# ---- t --------------------------------------------------------------------------------------

def t_logpdf(x, df, loc=0, scale=1):
    """Log-density of Student's t distribution."""
    x, df, loc, scale = args("t.logpdf", x, df, loc, scale)
    two = const(x, 2)
    z = _standard(x, loc, scale)
    half_df = lax.div(df, two)
    half_df1 = lax.add(half_df, const(x, 0.5))
    log_scale_term = lax.div(lax.log(lax.mul(lax.mul(lax.mul(scale, scale), const(x, np.pi)),
                                             df)), two)
    log_norm = lax.sub(lax.add(lax.lgamma(half_df), log_scale_term), lax.lgamma(half_df1))
    return lax.neg(lax.add(log_norm, lax.mul(half_df1, lax.log1p(lax.div(lax.mul(z, z), df)))))


t = distribution("t", "Student's t distribution.", t_logpdf, exp_of(t_logpdf, "t_pdf"))


# ---- cauchy ---------------------------------------------------------------------------------

def cauchy_logpdf(x, loc=0, scale=1):
    """Log-density of the Cauchy distribution."""
    x, loc, scale = args("cauchy.logpdf", x, loc, scale)
    z = _standard(x, loc, scale)
    return lax.neg(lax.add(lax.log(lax.mul(const(x, np.pi), scale)), lax.log1p(lax.mul(z, z))))


def cauchy_cdf(x, loc=0, scale=1):
    """Cauchy CDF ``1/2 + atan(z) / pi``."""
    x, loc, scale = args("cauchy.cdf", x, loc, scale)
    inv_pi = lax.div(const(x, 1.0), const(x, np.pi))
    return lax.add(const(x, 0.5), lax.mul(inv_pi, jnp.arctan(_standard(x, loc, scale))))


cauchy_logcdf = log_of(cauchy_cdf, "cauchy_logcdf")


cauchy_sf = mirror_of(cauchy_cdf, "cauchy_sf", "Cauchy survival function")
cauchy_logsf = mirror_of(cauchy_logcdf, "cauchy_logsf", "Log of the Cauchy survival function")


def _cauchy_quantile(name, q, loc, scale, sign):
    q, loc, scale = args(name, q, loc, scale)
    angle = lax.mul(const(q, np.pi), q)
    half_pi = const(q, np.pi / 2)
    angle = lax.sub(angle, half_pi) if sign > 0 else lax.sub(half_pi, angle)
    return lax.add(lax.mul(lax.tan(angle), scale), loc)


def cauchy_ppf(q, loc=0, scale=1):
    """Cauchy quantile ``loc + scale tan(pi (q - 1/2))``."""
    return _cauchy_quantile("cauchy.ppf", q, loc, scale, 1)


def cauchy_isf(q, loc=0, scale=1):
    """Cauchy inverse survival function ``loc + scale tan(pi (1/2 - q))``."""
    return _cauchy_quantile("cauchy.isf", q, loc, scale, -1)


cauchy = distribution("cauchy", "The Cauchy distribution.", cauchy_logpdf,
                      exp_of(cauchy_logpdf, "cauchy_pdf"), cauchy_cdf, cauchy_logcdf,
                      cauchy_sf, cauchy_logsf, cauchy_ppf, cauchy_isf)


# ---- logistic -------------------------------------------------------------------------------

def logistic_logpdf(x, loc=0, scale=1):
    """Log-density of the logistic distribution, ``-2 logaddexp(z/2, -z/2) - log scale``."""
    x, loc, scale = args("logistic.logpdf", x, loc, scale)
    z = _standard(x, loc, scale)
    two = const(z, 2)
    half = lax.div(z, two)
    return lax.sub(lax.mul(lax.neg(two), jnp.logaddexp(half, lax.neg(half))), lax.log(scale))


def logistic_cdf(x, loc=0, scale=1):
    """Logistic CDF ``expit(z)``."""
    x, loc, scale = args("logistic.cdf", x, loc, scale)
    return special.expit(_standard(x, loc, scale))


def logistic_sf(x, loc=0, scale=1):
    """Logistic survival function ``expit(-z)``."""
    x, loc, scale = args("logistic.sf", x, loc, scale)
    return special.expit(lax.neg(_standard(x, loc, scale)))


def logistic_ppf(x, loc=0, scale=1):
    """Logistic quantile ``loc + scale logit(q)``."""
    x, loc, scale = args("logistic.ppf", x, loc, scale)
    return lax.add(lax.mul(special.logit(x), scale), loc)


def logistic_isf(x, loc=0, scale=1):
    """Logistic inverse survival function ``loc - scale logit(q)``."""
    x, loc, scale = args("logistic.isf", x, loc, scale)
    return lax.add(lax.mul(lax.neg(special.logit(x)), scale), loc)


logistic = distribution("logistic", "The logistic distribution.", logistic_logpdf,
                        exp_of(logistic_logpdf, "logistic_pdf"), logistic_cdf, logistic_sf,
                        logistic_ppf, logistic_isf)


# ---- laplace --------------------------------------------------------------------------------

def laplace_logpdf(x, loc=0, scale=1):
    """Log-density of the Laplace distribution."""
    x, loc, scale = args("laplace.logpdf", x, loc, scale)
    dist = lax.div(lax.abs(lax.sub(x, loc)), scale)
    return lax.neg(lax.add(dist, lax.log(lax.mul(const(x, 2), scale))))


def laplace_cdf(x, loc=0, scale=1):
    """Laplace CDF: ``exp(z) / 2`` left of ``loc``, ``1 - exp(-z) / 2`` right of it."""
    x, loc, scale = args("laplace.cdf", x, loc, scale)
    half = const(x, 0.5)
    z = _standard(x, loc, scale)
    left = lax.mul(half, lax.exp(z))
    right = lax.sub(const(x, 1), lax.mul(half, lax.exp(lax.neg(z))))
    return lax.select(lax.le(z, const(x, 0)), left, right)


laplace = distribution("laplace", "The Laplace distribution.", laplace_logpdf,
                       exp_of(laplace_logpdf, "laplace_pdf"), laplace_cdf)


# ---- gennorm --------------------------------------------------------------------------------

def gennorm_logpdf(x, beta):
    """Log-density of the generalized normal distribution with shape ``beta``."""
    x, beta = args("gennorm.logpdf", x, beta)
    return lax.log(0.5 * beta) - lax.lgamma(1 / beta) - lax.abs(x) ** beta


def gennorm_cdf(x, beta):
    """Generalized normal CDF ``(1 + sign(x) P(1/beta, |x|**beta)) / 2``."""
    x, beta = args("gennorm.cdf", x, beta)
    p = full_shape(special.gammainc, 1 / beta, lax.abs(x) ** beta)
    return 0.5 * (1 + lax.sign(x) * p)


gennorm = distribution("gennorm", "The generalized normal distribution.", gennorm_logpdf,
                       exp_of(gennorm_logpdf, "gennorm_pdf"), gennorm_cdf)


# ---- uniform --------------------------------------------------------------------------------

def _outside(x, lo, hi):
    return jnp.logical_or(lax.gt(x, hi), lax.lt(x, lo))


def uniform_logpdf(x, loc=0, scale=1):
    """Log-density of the uniform distribution on ``[loc, loc + scale]``."""
    x, loc, scale = args("uniform.logpdf", x, loc, scale)
    return jnp.where(_outside(x, loc, lax.add(loc, scale)), -np.inf, lax.neg(lax.log(scale)))


def uniform_cdf(x, loc=0, scale=1):
    """Uniform CDF (0 left of the support, 1 right of it)."""
    x, loc, scale = args("uniform.cdf", x, loc, scale)
    hi = lax.add(loc, scale)
    zero, one = jnp.array(0, x.dtype), jnp.array(1, x.dtype)
    conds = [lax.lt(x, loc), lax.gt(x, hi), lax.ge(x, loc) & lax.le(x, hi)]
    return jnp.select(conds, [zero, one, _standard(x, loc, scale)])


def uniform_ppf(q, loc=0, scale=1):
    """Uniform quantile ``loc + scale q`` (NaN outside ``[0, 1]``)."""
    q, loc, scale = args("uniform.ppf", q, loc, scale)
    bad = jnp.isnan(q) | (q < 0) | (q > 1)
    return jnp.where(bad, np.nan, lax.add(loc, lax.mul(scale, q)))


uniform = distribution("uniform", "The uniform distribution.", uniform_logpdf,
                       exp_of(uniform_logpdf, "uniform_pdf"), uniform_cdf, uniform_ppf)
