"""``xform.random``: the threefry-2x32 counter-based PRNG of ``jax.random``, bit for bit.

A key is a ``uint32`` array of shape ``(2,)`` (a batch of keys: ``(..., 2)``).
``PRNGKey(seed)`` and ``key(seed)`` both return such an array (JAX's ``key()``
returns an opaque typed scalar; see docs/differences.md), and every sampler is a
pure function of the key array, composed from meta-operators (uint32 add, xor,
shifts, bitcasts), so it works eagerly, under ``jit`` and under ``vmap`` over
batched keys.

The algorithms follow JAX's defaults (``jax_threefry_partitionable=True``):

* ``threefry2x32(k, (x0, x1))``: the 20-round Threefry-2x32 block function.
* ``split(key, shape)``: hash the 64-bit counters ``0 .. prod(shape)-1`` (high word,
  low word) under ``key``; the two output words are the new keys' data.
* ``fold_in(key, d)``: hash the single counter ``(0, uint32(d))``.
* ``bits(key, shape)`` (32-bit): ``x0 ^ x1`` of the hash of counters ``0 ..``;
  64-bit bits are ``x0 << 32 | x1``; 8/16-bit bits truncate ``x0 ^ x1``.
* ``uniform``: the top ``nmant`` random bits become the mantissa of a float in
  ``[1, 2)``, minus 1, scaled to ``[minval, maxval)``.
* ``normal``: ``sqrt(2) * erf_inv(u)`` with ``u`` uniform on ``(-1, 1)``.

The package, each module importing only those above it:

* ``_args``: the argument checks and ``_sampler``, the decorator that applies them;
* ``_keys``: the block function, keys, ``split`` and ``fold_in``;
* ``_bits``: ``bits``, ``randint`` and ``permutation``;
* ``_distributions``: ``uniform``, ``normal`` and the samplers built on them;
* ``_gamma``: ``gamma`` and the distributions built on it;
* ``_counts``: ``poisson`` and ``binomial``;
* ``_composed``: ``orthogonal`` and ``multinomial``, built on the others.
"""
from ._keys import (  # noqa: F401
    PRNGKey, clone, fold_in, key, key_data, key_dtype, key_impl, split, threefry2x32, threefry_2x32,
    wrap_key_data)
from ._bits import bits, permutation, randint  # noqa: F401
from ._distributions import (  # noqa: F401
    bernoulli, categorical, cauchy, choice, double_sided_maxwell, exponential, geometric,
    gumbel, laplace, logistic, lognormal, maxwell, multivariate_normal, normal, pareto,
    rademacher, rayleigh, triangular, truncated_normal, uniform, wald, weibull_min)
from ._gamma import (  # noqa: F401
    ball, beta, chisquare, dirichlet, f, gamma, generalized_normal, loggamma, t)
from ._counts import binomial, poisson  # noqa: F401
from ._composed import multinomial, orthogonal  # noqa: F401

__all__ = ["PRNGKey", "key", "key_data", "key_dtype", "wrap_key_data", "key_impl", "clone", "split",
           "fold_in", "bits", "uniform", "normal", "randint", "bernoulli", "categorical",
           "permutation", "choice", "truncated_normal", "gumbel", "exponential", "laplace",
           "logistic", "cauchy", "rademacher", "threefry_2x32", "threefry2x32",
           "gamma", "loggamma", "beta", "dirichlet", "t", "chisquare", "f",
           "generalized_normal", "ball", "pareto", "weibull_min", "maxwell",
           "double_sided_maxwell", "rayleigh", "wald", "lognormal", "triangular", "geometric",
           "poisson", "binomial", "multivariate_normal", "multinomial", "orthogonal"]
