"""``xform.scipy.stats``: the distributions and statistics of ``jax.scipy.stats``, each a
composite of ``xform.lax``/``xform.numpy``/``xform.scipy.special`` operations (no
meta-operator of its own), written with JAX's formulas so that values, dtypes, weak types
and derivatives follow JAX's, support edges included.

Each distribution is a submodule (``xform.scipy.stats.norm``, ...) holding exactly the
functions JAX's has; the functions are written in a few themed modules: ``_line``
(``norm``, ``t``, ``cauchy``, ``logistic``, ``laplace``, ``gennorm``, ``uniform``),
``_halfline`` (``gamma``, ``chi2``, ``beta``, ``expon``, ``pareto``), ``_more``
(``gumbel_l``, ``gumbel_r``, ``vonmises``, ``wrapcauchy``, ``truncnorm``), ``_discrete``
(``poisson``, ``bernoulli``, ``binom``, ``nbinom``, ``geom``, ``betabinom``) and
``_multivariate`` (``dirichlet``, ``multinomial``, ``multivariate_normal``).  ``_core``
holds ``mode``, ``rankdata`` and ``sem``; ``_kde`` holds ``gaussian_kde``."""
from __future__ import annotations

from ._core import ModeResult, mode, rankdata, sem
from ._discrete import bernoulli, betabinom, binom, geom, nbinom, poisson
from ._halfline import beta, chi2, expon, gamma, pareto
from ._kde import gaussian_kde
from ._line import cauchy, gennorm, laplace, logistic, norm, t, uniform
from ._more import gumbel_l, gumbel_r, truncnorm, vonmises, wrapcauchy
from ._multivariate import dirichlet, multinomial, multivariate_normal

__all__ = [
    "ModeResult", "bernoulli", "beta", "betabinom", "binom", "cauchy", "chi2", "dirichlet",
    "expon", "gamma", "gaussian_kde", "gennorm", "geom", "gumbel_l", "gumbel_r", "laplace",
    "logistic", "mode", "multinomial", "multivariate_normal", "nbinom", "norm", "pareto",
    "poisson", "rankdata", "sem", "t", "truncnorm", "uniform", "vonmises", "wrapcauchy",
]
