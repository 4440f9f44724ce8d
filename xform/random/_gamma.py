"""Gamma and the distributions built on it: ``gamma``, ``loggamma``, ``beta``,
``dirichlet``, ``t``, ``chisquare``, ``f``, ``generalized_normal`` and ``ball``.

JAX's algorithms, operation for operation, so that the same key gives the same samples:
each element is drawn by Marsaglia and Tsang's rejection method from its own key
(``split(key, n)``), under ``vmap``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import lax
from .. import numpy as jnp
from ..api import custom_jvp, jit, vmap
from ..core import Tracer
from ..special._incomplete import implicit_gamma_grad
from ._args import _sampler, _shape_of, _to_dtype
from ._distributions import _exponential, _normal_real, _rademacher, _uniform_impl
from ._keys import _split, _split2


def _scalar(value, dtype):
    return jnp.asarray(np.array(value, dtype))


def _gamma_one(key, alpha, log_space):
    """One Gamma(alpha) sample (Marsaglia and Tsang's rejection method) from one key.

    For alpha < 1 the sample of Gamma(alpha + 1) is boosted by ``u ** (1 / alpha)``
    (in log space: plus ``log(u) / alpha``), which keeps tiny alphas finite."""
    dtype = alpha.dtype
    zero, one = _scalar(0, dtype), _scalar(1, dtype)
    boost_mask = lax.ge(alpha, one)
    alpha_orig = alpha
    alpha = lax.select(boost_mask, alpha, lax.add(alpha, one))
    d = lax.sub(alpha, np.array(1. / 3., dtype)[()])
    c = lax.div(np.array(1. / 3., dtype)[()], lax.sqrt(d))

    def rejected(state):
        _, x2, v, u = state
        squeeze = lax.ge(u, lax.sub(one, lax.mul(np.array(0.0331, dtype)[()], lax.mul(x2, x2))))
        exact = lax.ge(lax.log(u), lax.add(lax.mul(x2, np.array(0.5, dtype)[()]),
                                          lax.mul(d, lax.add(lax.sub(one, v), lax.log(v)))))
        return lax.bitwise_and(squeeze, exact)

    def propose(state):
        def positive_v(kxv):
            k, sub = _split2(kxv[0])
            x = _normal_real(sub, (), dtype)
            return k, x, lax.add(one, lax.mul(x, c))
        keys = _split(state[0], (3,))
        key_next, x_key, u_key = (lax.index_in_dim(keys, i, 0, False) for i in range(3))
        _, x, v = lax.while_loop(lambda kxv: lax.le(kxv[2], zero), positive_v,
                                 (x_key, zero, _scalar(-1, dtype)))
        u = _uniform_impl(u_key, 0., 1., (), dtype)
        return key_next, lax.mul(x, x), lax.mul(lax.mul(v, v), v), u

    key, subkey = _split2(key)
    _, _, v, _ = lax.while_loop(rejected, propose, (key, zero, one, _scalar(2, dtype)))
    if log_space:
        log_u = lax.neg(_exponential(subkey, (), dtype))
        log_boost = lax.select(lax.bitwise_or(boost_mask, lax.eq(log_u, zero)), zero,
                               lax.mul(log_u, lax.div(one, alpha_orig)))
        return lax.add(lax.add(lax.log(d), lax.log(v)), log_boost)
    u = 1 - _uniform_impl(subkey, 0., 1., (), dtype)
    boost = lax.select(boost_mask, one, lax.pow(u, lax.div(one, alpha_orig)))
    return lax.mul(lax.mul(d, v), boost)


def _make_gamma_sampler(log_space):
    """The samples differentiate in ``alpha`` by implicit reparameterisation (as JAX): the
    sample moves with ``alpha`` at a fixed quantile of Gamma(alpha)."""
    @custom_jvp
    def sample(keys, alphas):
        return vmap(lambda k, a: _gamma_one(k, a, log_space))(keys, alphas)

    @sample.defjvp
    def _(primals, tangents):
        keys, alphas = primals
        t = tangents[1]
        out = sample(keys, alphas)
        x = jnp.exp(out) if log_space else out
        dx = implicit_gamma_grad(alphas, x)
        return out, t * (dx / x if log_space else dx)
    return sample


_gamma_samplers = {log_space: _make_gamma_sampler(log_space) for log_space in (False, True)}


@jit(static_argnums=(2, 3, 4))
def _gamma(key, a, shape, dtype, log_space):
    a = jnp.broadcast_to(_to_dtype(a, dtype), shape)
    n = math.prod(shape)
    if n == 0:
        return jnp.zeros(shape, dtype)
    samples = _gamma_samplers[log_space](_split(key, (n,)), jnp.reshape(a, (n,)))
    return jnp.reshape(samples, shape)


@_sampler(dtype=float, kind="float", batch=("a",))
def gamma(key, a, shape=None, dtype=None):
    """Gamma(a) floats (unit scale), by JAX's Marsaglia-Tsang sampler: the same values."""
    return _gamma(key, a, shape, dtype, False)


@_sampler(dtype=float, kind="float", batch=("a",))
def loggamma(key, a, shape=None, dtype=None):
    """``log`` of Gamma(a) samples, computed in log space (accurate for tiny ``a``)."""
    return _gamma(key, a, shape, dtype, True)


@jit(static_argnums=(3, 4))
def _beta(key, a, b, shape, dtype):
    key_a, key_b = _split2(key)
    a = jnp.broadcast_to(_to_dtype(a, dtype), shape)
    b = jnp.broadcast_to(_to_dtype(b, dtype), shape)
    log_a = _gamma(key_a, a, shape, dtype, True)
    log_b = _gamma(key_b, b, shape, dtype, True)
    # a / (a + b) from the logs, scaled by the larger one so that nothing underflows
    log_max = lax.max(log_a, log_b)
    ga, gb = jnp.exp(log_a - log_max), jnp.exp(log_b - log_max)
    return ga / (ga + gb)


@_sampler(dtype=float, kind="float", batch=("a", "b"))
def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) floats, from two log-gamma samples."""
    return _beta(key, a, b, shape, dtype)


@jit(static_argnums=(2, 3))
def _dirichlet(key, alpha, shape, dtype):
    alpha = _to_dtype(alpha, dtype)
    log_gamma = _gamma(key, alpha, shape + tuple(alpha.shape[-1:]), dtype, True)
    # softmax over the last axis, as xform.nn.softmax computes it (random is below nn)
    unnormalized = jnp.exp(log_gamma - lax.stop_gradient(
        jnp.max(log_gamma, -1, initial=-np.inf, keepdims=True)))
    return unnormalized / jnp.sum(unnormalized, -1, keepdims=True)


def _dirichlet_batch(alpha):
    alpha_shape = _shape_of(alpha)
    if len(alpha_shape) < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == "
                         f"{len(alpha_shape)}")
    return [alpha_shape[:-1]]


@_sampler(dtype=float, kind="float", batch=_dirichlet_batch)
def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) vectors along the last axis (a softmax of log-gamma samples)."""
    return _dirichlet(key, alpha, shape, dtype)


@jit(static_argnums=(2, 3))
def _t(key, df, shape, dtype):
    df = _to_dtype(df, dtype)
    key_n, key_g = _split2(key)
    n = _normal_real(key_n, shape, dtype)
    half_df = lax.div(df, np.array(2, dtype)[()])
    g = _gamma(key_g, half_df, shape, dtype, False)
    return n * jnp.sqrt(half_df / g)


@_sampler(dtype=float, kind="float", batch=("df",))
def t(key, df, shape=None, dtype=None):
    """Student's t floats with ``df`` degrees of freedom."""
    return _t(key, df, shape, dtype)


@jit(static_argnums=(2, 3))
def _chisquare(key, df, shape, dtype):
    half_df = lax.div(_to_dtype(df, dtype), np.array(2, dtype)[()])
    log_g = _gamma(key, half_df, shape, dtype, True)
    return lax.mul(jnp.exp(log_g), np.array(2, dtype)[()])


@_sampler(dtype=float, kind="float", batch=("df",))
def chisquare(key, df, shape=None, dtype=None):
    """Chi-square floats with ``df`` degrees of freedom (twice a Gamma(df / 2))."""
    return _chisquare(key, df, shape, dtype)


@jit(static_argnums=(3, 4))
def _f(key, dfnum, dfden, shape, dtype):
    dfden, dfnum = _to_dtype(dfden, dtype), _to_dtype(dfnum, dtype)
    key_den, key_num = _split2(key)
    num = lax.div(_chisquare(key_num, dfnum, shape, dtype), dfnum)
    den = lax.div(_chisquare(key_den, dfden, shape, dtype), dfden)
    return lax.div(num, den)


@_sampler(dtype=float, kind="float", batch=("dfnum", "dfden"))
def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distributed floats: a ratio of scaled chi-squares."""
    return _f(key, dfnum, dfden, shape, dtype)


@jit(static_argnums=(2, 3))
def _generalized_normal(key, p, shape, dtype):
    k_gamma, k_sign = _split2(key)
    g = _gamma(k_gamma, 1 / jnp.asarray(p), shape, dtype, False)
    r = _rademacher(k_sign, shape, dtype)
    return r * g ** (1 / jnp.asarray(p))


@_sampler(dtype=float, kind="float", batch=("p",))
def generalized_normal(key, p, shape=(), dtype=None):
    """Generalised normal floats with shape parameter ``p`` (density ~ exp(-|x|**p))."""
    return _generalized_normal(key, p, shape, dtype)


@jit(static_argnums=(2, 3, 4))
def _ball(key, p, d, shape, dtype):
    k1, k2 = _split2(key)
    g = _generalized_normal(k1, p, (*shape, d), dtype)
    e = _exponential(k2, shape, dtype)
    return g / (((jnp.abs(g) ** p).sum(-1) + e) ** (1 / jnp.asarray(p)))[..., None]


@_sampler(dtype=float, kind="float")
def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniformly distributed in the unit ``p``-norm ball of dimension ``d``."""
    if isinstance(d, Tracer) or not isinstance(d, (int, np.integer)) or d < 0:
        raise TypeError(f"ball: d must be a non-negative concrete int, got {d!r}")
    return _ball(key, p, int(d), shape, dtype)
