"""Discrete distributions: ``poisson`` (with its entropy), ``bernoulli``, ``binom``,
``nbinom``, ``geom`` and ``betabinom``, written with JAX's formulas (``-inf`` log-mass off
the support, ``xlogy``/``xlog1py`` so that ``0 log 0`` is 0)."""
from __future__ import annotations

import numpy as np

from ... import lax, numpy as jnp
from ... import special
from ._common import args, check_arraylike, const, distribution, exp_of, full_shape


# ---- poisson --------------------------------------------------------------------------------

def poisson_logpmf(k, mu, loc=0):
    """Log-mass of the Poisson distribution (``-inf`` below ``loc`` and off the integers)."""
    k, mu, loc = args("poisson.logpmf", k, mu, loc)
    x = lax.sub(k, loc)
    value = special.xlogy(x, mu) - special.gammaln(x + 1) - mu
    off = jnp.logical_or(lax.lt(x, const(k, 0)), lax.ne(jnp.round(k), k))
    return jnp.where(off, -np.inf, value)


def poisson_pmf(k, mu, loc=0):
    """Poisson probability mass."""
    return jnp.exp(poisson_logpmf(k, mu, loc))


def poisson_cdf(k, mu, loc=0):
    """Poisson CDF ``Q(floor(k - loc) + 1, mu)``."""
    k, mu, loc = args("poisson.cdf", k, mu, loc)
    zero = const(k, 0)
    x = lax.sub(k, loc)
    q = full_shape(special.gammaincc, jnp.floor(1 + x), mu)
    return jnp.where(lax.lt(x, zero), zero, q)


def _entropy_by_sum(mu, terms, bound):
    k = jnp.arange(terms, dtype=mu.dtype)[:, None]
    probs = poisson_pmf(k, mu, 0)
    keep = k < jnp.ceil(bound).astype(k.dtype)[None, :]
    return jnp.sum(special.entr(jnp.where(keep, probs, 0.0)), axis=0)


def poisson_entropy(mu, loc=0):
    """Entropy of the Poisson distribution: a direct sum below ``mu = 100``, the asymptotic
    ``log(2 pi e mu) / 2 - 1 / (12 mu)`` above."""
    check_arraylike("poisson.entropy", mu, loc)
    mu, loc = jnp.promote_dtypes_inexact(jnp.asarray(mu), jnp.asarray(loc))
    shape = jnp.broadcast_shapes(mu.shape, loc.shape)
    flat = jnp.ravel(mu)
    small = _entropy_by_sum(flat, 35, flat + 20)
    medium = _entropy_by_sum(flat, 250, flat + 10 * jnp.sqrt(flat) + 20)
    large = 0.5 * jnp.log(2 * np.pi * np.e * flat) - 1.0 / (12 * flat)
    out = jnp.where(flat == 0, jnp.zeros_like(flat),
                    jnp.where(flat < 10, small, jnp.where(flat < 100, medium, large)))
    return jnp.broadcast_to(jnp.reshape(out, mu.shape), shape)


poisson = distribution("poisson", "The Poisson distribution.", poisson_logpmf, poisson_pmf,
                       poisson_cdf, poisson_entropy)


# ---- bernoulli ------------------------------------------------------------------------------

def bernoulli_logpmf(k, p, loc=0):
    """Log-mass of the Bernoulli distribution (``-inf`` off ``{loc, loc + 1}``'s range)."""
    k, p, loc = args("bernoulli.logpmf", k, p, loc)
    x = lax.sub(k, loc)
    value = special.xlogy(x, p) + special.xlog1py(lax.sub(const(k, 1), x), -p)
    off = jnp.logical_or(lax.lt(x, const(k, 0)), lax.gt(x, const(k, 1)))
    return jnp.where(off, -np.inf, value)


def bernoulli_pmf(k, p, loc=0):
    """Bernoulli probability mass."""
    return jnp.exp(bernoulli_logpmf(k, p, loc))


def _bad_p(p, zero, one):
    return jnp.isnan(p) | (p < zero) | (p > one)


def bernoulli_cdf(k, p):
    """Bernoulli CDF (NaN for NaN input or ``p`` outside ``[0, 1]``)."""
    k, p = args("bernoulli.cdf", k, p)
    zero, one = const(k, 0), const(k, 1)
    conds = [jnp.isnan(k) | _bad_p(p, zero, one), lax.lt(k, zero),
             jnp.logical_and(lax.ge(k, zero), lax.lt(k, one)), lax.ge(k, one)]
    return jnp.select(conds, [jnp.nan, zero, one - p, one])


def bernoulli_ppf(q, p):
    """Bernoulli quantile: 0 up to ``1 - p``, 1 above (NaN outside the domain)."""
    q, p = args("bernoulli.ppf", q, p)
    zero, one = const(q, 0), const(q, 1)
    bad = jnp.isnan(q) | _bad_p(p, zero, one) | (q < zero) | (q > one)
    return jnp.where(bad, jnp.nan, jnp.where(lax.le(q, one - p), zero, one))


bernoulli = distribution("bernoulli", "The Bernoulli distribution.", bernoulli_logpmf,
                         bernoulli_pmf, bernoulli_cdf, bernoulli_ppf)


# ---- binom, nbinom, geom --------------------------------------------------------------------

def binom_logpmf(k, n, p, loc=0):
    """Log-mass of the binomial distribution (``-inf`` outside ``[loc, loc + n]``)."""
    k, n, p, loc = args("binom.logpmf", k, n, p, loc)
    y = lax.sub(k, loc)
    gammaln = special.gammaln
    comb = lax.sub(gammaln(n + 1), lax.add(gammaln(y + 1), gammaln(n - y + 1)))
    linear = lax.add(special.xlogy(y, p), special.xlog1py(lax.sub(n, y), lax.neg(p)))
    zero = const(y, 0)
    certain = jnp.logical_or(jnp.logical_and(lax.eq(y, zero), lax.eq(n, zero)),
                             lax.eq(linear, zero))
    value = jnp.where(certain, 0.0, lax.add(comb, linear))
    return jnp.where(lax.ge(k, loc) & lax.lt(k, loc + n + 1), value, -np.inf)


def nbinom_logpmf(k, n, p, loc=0):
    """Log-mass of the negative binomial distribution (``-inf`` below ``loc``)."""
    k, n, p, loc = args("nbinom.logpmf", k, n, p, loc)
    one = const(k, 1)
    y = lax.sub(k, loc)
    gammaln = special.gammaln
    comb = lax.sub(lax.sub(gammaln(lax.add(y, n)), gammaln(n)), gammaln(lax.add(y, one)))
    linear = lax.add(special.xlogy(n, p), special.xlogy(y, lax.sub(one, p)))
    return jnp.where(lax.lt(k, loc), -np.inf, lax.add(comb, linear))


def geom_logpmf(k, p, loc=0):
    """Log-mass of the geometric distribution on ``loc + 1, loc + 2, ...``."""
    k, p, loc = args("geom.logpmf", k, p, loc)
    x = lax.sub(k, loc)
    value = special.xlog1py(lax.sub(x, const(k, 1)), -p) + lax.log(p)
    return jnp.where(lax.le(x, const(k, 0)), -np.inf, value)


def geom_pmf(k, p, loc=0):
    """Geometric probability mass."""
    return jnp.exp(geom_logpmf(k, p, loc))


binom = distribution("binom", "The binomial distribution.", binom_logpmf,
                     exp_of(binom_logpmf, "binom_pmf"))
nbinom = distribution("nbinom", "The negative binomial distribution.", nbinom_logpmf,
                      exp_of(nbinom_logpmf, "nbinom_pmf"))
geom = distribution("geom", "The geometric distribution.", geom_logpmf, geom_pmf)


# ---- betabinom ------------------------------------------------------------------------------

def betabinom_logpmf(k, n, a, b, loc=0):
    """Log-mass of the beta-binomial distribution (``k`` rounded down; NaN unless ``n >= 0``
    and ``a, b > 0``)."""
    k, n, a, b, loc = args("betabinom.logpmf", k, n, a, b, loc)
    y = lax.sub(lax.floor(k), loc)
    one, zero = const(y, 1), const(y, 0)
    betaln = special.betaln
    log_comb = lax.neg(lax.add(lax.log1p(n), betaln(lax.add(lax.sub(n, y), one),
                                                    lax.add(y, one))))
    log_beta = lax.sub(betaln(lax.add(y, a), lax.add(lax.sub(n, y), b)), betaln(a, b))
    value = lax.add(log_comb, log_beta)
    value = jnp.where(jnp.logical_and(lax.eq(y, zero), lax.eq(n, zero)), 0.0, value)
    off = jnp.logical_or(jnp.logical_or(lax.lt(y, lax.neg(loc)), lax.gt(y, n)),
                         lax.le(lax.add(y, a), zero))
    value = jnp.where(off, -np.inf, value)
    bad = jnp.logical_or(jnp.logical_or(lax.lt(n, zero), lax.le(a, zero)), lax.le(b, zero))
    return jnp.where(bad, np.nan, value)


betabinom = distribution("betabinom", "The beta-binomial distribution.", betabinom_logpmf,
                         exp_of(betabinom_logpmf, "betabinom_pmf"))
