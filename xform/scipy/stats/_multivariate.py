"""Multivariate distributions: ``dirichlet``, ``multinomial`` and ``multivariate_normal``
(a Cholesky factor and one triangular solve per point), as JAX writes them."""
from __future__ import annotations

import numpy as np

from ... import lax, numpy as jnp
from ...core import where
from ...lax import linalg as _la
from ... import special
from ._common import check_arraylike, const, distribution, exp_of


def _inexact(name, *xs):
    check_arraylike(name, *xs)
    return jnp.promote_dtypes_inexact(*[jnp.asarray(x) for x in xs])


# ---- dirichlet ------------------------------------------------------------------------------

def dirichlet_logpdf(x, alpha):
    """Log-density of the Dirichlet distribution; the components run along the first axis
    of ``x``, which may leave out the last one (``-inf`` off the simplex)."""
    x, alpha = _inexact("dirichlet.logpdf", x, alpha)
    if alpha.ndim != 1:
        raise ValueError(f"dirichlet.logpdf: `alpha` must be one-dimensional; got "
                         f"alpha.shape={alpha.shape}{where()}")
    k = alpha.shape[0]
    if x.ndim == 0 or x.shape[0] not in (k, k - 1):
        raise ValueError(f"dirichlet.logpdf: `x` must have either the same number of entries "
                         f"as `alpha` or one entry fewer; got x.shape={x.shape}, "
                         f"alpha.shape={alpha.shape}{where()}")
    one = const(x, 1)
    if x.shape[0] != k:
        x = jnp.concatenate([x, lax.sub(one, x.sum(0, keepdims=True))], axis=0)
    log_norm = jnp.sum(special.gammaln(alpha)) - special.gammaln(jnp.sum(alpha))
    if x.ndim > 1:
        alpha = lax.broadcast_in_dim(alpha, alpha.shape + (1,) * (x.ndim - 1), (0,))
    value = lax.sub(jnp.sum(special.xlogy(lax.sub(alpha, one), x), axis=0), log_norm)
    simplex = jnp.all(x > 0, axis=0) & (abs(jnp.sum(x, axis=0) - 1) < 1e-6)
    return jnp.where(simplex, value, -np.inf)


dirichlet = distribution("dirichlet", "The Dirichlet distribution.", dirichlet_logpdf,
                         exp_of(dirichlet_logpdf, "dirichlet_pdf"))


# ---- multinomial ----------------------------------------------------------------------------

def _rank_promoted(x, n):
    """JAX's rank promotion: the operand of lower nonzero rank gets leading unit axes."""
    if x.ndim and n.ndim and x.ndim != n.ndim:
        rank = max(x.ndim, n.ndim)
        x, n = (jnp.reshape(v, (1,) * (rank - v.ndim) + v.shape) for v in (x, n))
    return x, n


def multinomial_logpmf(x, n, p):
    """Log-mass of the multinomial distribution; ``x`` and ``n`` must be integers (``-inf``
    unless the counts sum to ``n``)."""
    check_arraylike("multinomial.logpmf", x, n, p)
    (p,) = jnp.promote_dtypes_inexact(jnp.asarray(p))
    x, n = jnp.promote_dtypes_numeric(jnp.asarray(x), jnp.asarray(n))
    if not jnp.issubdtype(x.dtype, np.integer):
        raise ValueError(f"multinomial.logpmf: x and n must be of integer type; got "
                         f"x.dtype={x.dtype}, n.dtype={n.dtype}{where()}")
    x, n = _rank_promoted(x.astype(p.dtype), n.astype(p.dtype))
    gammaln = special.gammaln
    value = gammaln(n + 1) + jnp.sum(special.xlogy(x, p) - gammaln(x + 1), axis=-1)
    return jnp.where(jnp.equal(jnp.sum(x), n), value, -np.inf)


multinomial = distribution("multinomial", "The multinomial distribution.", multinomial_logpmf,
                           exp_of(multinomial_logpmf, "multinomial_pmf"))


# ---- multivariate_normal --------------------------------------------------------------------

def _whiten(chol, y):
    return _la.triangular_solve(chol, y[None, :], lower=True, transpose_a=True)[0]


def multivariate_normal_logpdf(x, mean, cov, allow_singular=None):
    """Log-density of the multivariate normal distribution (a scalar ``cov`` is a multiple
    of the identity; a scalar ``mean`` makes it univariate)."""
    if allow_singular is not None:
        raise NotImplementedError(f"allow_singular argument of multivariate_normal.logpdf"
                                  f"{where()}")
    x, mean, cov = _inexact("multivariate_normal.logpdf", x, mean, cov)
    if not mean.shape:
        return (-1 / 2 * jnp.square(x - mean) / cov
                - 1 / 2 * (jnp.log(2 * np.pi) + jnp.log(cov)))
    n = mean.shape[-1]
    if not np.shape(cov):
        y = x - mean
        return (-1 / 2 * jnp.einsum("...i,...i->...", y, y) / cov
                - n / 2 * (jnp.log(2 * np.pi) + jnp.log(cov)))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal.logpdf got incompatible shapes: mean "
                         f"{mean.shape}, cov {cov.shape}{where()}")
    chol = _la.cholesky(cov)
    y = jnp.vectorize(_whiten, signature="(n,n),(n)->(n)")(chol, x - mean)
    return (-1 / 2 * jnp.einsum("...i,...i->...", y, y) - n / 2 * jnp.log(2 * np.pi)
            - jnp.log(chol.diagonal(axis1=-1, axis2=-2)).sum(-1))


def multivariate_normal_pdf(x, mean, cov):
    """Density of the multivariate normal distribution."""
    return lax.exp(multivariate_normal_logpdf(x, mean, cov))


multivariate_normal = distribution(
    "multivariate_normal", "The multivariate normal distribution.",
    multivariate_normal_logpdf, multivariate_normal_pdf)
