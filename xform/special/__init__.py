"""``xform.special``: the special functions of ``jax.scipy.special`` (published there as
``xform.scipy.special``), each a composite of ``xform.lax``/``xform.numpy`` operations (no
meta-operator of its own).  The layer sits below ``random``, ``nn`` and ``scipy``, so the
gamma sampler differentiates with ``igamma``'s derivatives and ``xform.lax`` publishes
``igamma``, ``zeta``, ``polygamma``, ... from here.

Modules: ``_basic`` (logistic, ``x log y``, entropies, ``logsumexp``/``softmax``,
Box-Cox), ``_gamma`` (gamma, beta, zeta, polygamma and friends), ``_incomplete``
(``gammainc``, ``gammaincc``, ``betainc``), ``_error`` (erf family, normal distribution,
Dawson, Owen's T), ``_bessel`` (``i0``, ``i1``, scaled variants, ``bessel_jn``),
``_expint`` (exponential, sine and cosine integrals, ``spence``), ``_more`` (``fresnel``,
``wofz``), ``_hyper`` (``hyp1f1``, ``hyp2f1``, ``sph_harm_y``).  Values follow the
algorithms JAX runs, so they are JAX's to rounding; derivatives are JAX's rules, with the exceptions written in docs/differences.md."""
from __future__ import annotations

from ._basic import (boxcox, boxcox1p, entr, expit, kl_div, log_softmax, logit, logsumexp,
                     rel_entr, softmax, xlog1py, xlogy)
from ._bessel import bessel_jn, i0, i0e, i1, i1e
from ._error import dawsn, erf, erfc, erfcx, erfinv, log_ndtr, ndtr, ndtri, owens_t
from ._gamma import (bernoulli, beta, betaln, comb, digamma, factorial, gamma, gammaln,
                     gammasgn, loggamma, multigammaln, poch, polygamma, zeta)
from ._incomplete import betainc, gammainc, gammaincc
# lax's names (xform/__init__.py attaches them to xform.lax), not scipy.special's
from ._gamma import lax_polygamma  # noqa: F401
from ._incomplete import igamma_grad_a, random_gamma_grad  # noqa: F401
from ._expint import exp1, expi, expn, sici, spence
from ._hyper import hyp1f1, hyp2f1, sph_harm_y
from ._more import fresnel, wofz

__all__ = [
    "bernoulli", "bessel_jn", "beta", "betainc", "betaln", "boxcox", "boxcox1p", "comb",
    "dawsn", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp1", "expi", "expit",
    "expn", "factorial", "fresnel", "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn",
    "hyp1f1", "hyp2f1", "i0", "i0e", "i1", "i1e", "kl_div", "log_ndtr", "log_softmax",
    "loggamma", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "owens_t", "poch",
    "polygamma", "rel_entr", "sici", "softmax", "spence", "sph_harm_y", "wofz", "xlog1py",
    "xlogy", "zeta",
]
