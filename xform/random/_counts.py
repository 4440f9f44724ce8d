"""The counting distributions, ``poisson`` and ``binomial``: rejection loops over the whole
sample (Knuth's method or inversion for small means, Hormann's transformed rejection for
large ones), as JAX runs them.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..api import jit
from ._args import _sampler
from ._distributions import _uniform_impl
from ._keys import _split, _split2


def _poisson_knuth(key, lam, shape, dtype, max_iters):
    """Count uniforms until their product drops below exp(-lam) (small lam)."""
    def body(carry):
        i, k, rng, log_prod = carry
        rng, sub = _split2(rng)
        k = lax.select(log_prod > -lam, k + 1, k)
        u = _uniform_impl(sub, 0., 1., shape, np.dtype(np.float32))
        return i + 1, k, rng, log_prod + jnp.log(u)

    def cond(carry):
        i, log_prod = carry[0], carry[3]
        return jnp.any(log_prod > -lam) & (i < max_iters)

    init = (0, jnp.zeros(shape, dtype), key, jnp.zeros(shape, np.float32))
    k = lax.while_loop(cond, body, init)[1]
    return jnp.astype(k - 1, dtype)


def _poisson_rejection(key, lam, shape, dtype, max_iters):
    """Hormann's transformed rejection (large lam)."""
    log_lam = lax.log(lam)
    b = 0.931 + 2.53 * lax.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def propose(u, v):
        u = u - 0.5
        u_shifted = 0.5 - abs(u)
        k = lax.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = lax.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t = -lam + k * log_lam - lax.lgamma(k + 1)
        accept1 = (u_shifted >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        return k, accept1 | (~reject & (s <= t))

    return _rejection_loop(key, propose, shape, lam.dtype, dtype, max_iters)


def _rejection_loop(key, propose, shape, float_dtype, dtype, max_iters):
    """Hormann's transformed rejection, shared by Poisson and binomial: each round
    draws two uniforms per element (new key, u key, v key from one split), and an
    element keeps the first proposal ``propose(u, v) -> (k, accept)`` accepts."""
    def body(carry):
        i, k_out, accepted, key = carry
        keys = _split(key, (3,))
        key, k0, k1 = (lax.index_in_dim(keys, j, 0, False) for j in range(3))
        u = _uniform_impl(k0, 0., 1., shape, float_dtype)
        v = _uniform_impl(k1, 0., 1., shape, float_dtype)
        k, accept = propose(u, v)
        return i + 1, lax.select(accept, k, k_out), accepted | accept, key

    def cond(carry):
        i, _, accepted, _ = carry
        return jnp.any(~accepted) & (i < max_iters)

    init = (0, jnp.full(shape, -1, float_dtype), jnp.zeros(shape, bool), key)
    return jnp.astype(lax.while_loop(cond, body, init)[1], dtype)


@jit(static_argnums=(2, 3))
def _poisson(key, lam, shape, dtype):
    use_knuth = (lam != lam) | (lam < 10)
    lam_knuth = lax.select(use_knuth, lam, jnp.zeros_like(lam))
    lam_rejection = lax.select(use_knuth, jnp.full_like(lam, 1e5), lam)
    max_iters = np.array(_dt.iinfo(dtype).max, dtype)[()]
    result = lax.select(use_knuth,
                        _poisson_knuth(key, lam_knuth, shape, dtype, max_iters),
                        _poisson_rejection(key, lam_rejection, shape, dtype, max_iters))
    return lax.select(lam == 0, jnp.zeros_like(result), result)


@_sampler(dtype=int, kind="int", batch=("lam",))
def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) integers: Knuth's method for lam < 10, transformed rejection above."""
    lam = jnp.astype(jnp.broadcast_to(jnp.asarray(lam), shape), np.float32)
    return _poisson(key, lam, shape, dtype)


_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                  0.0118967099458917, 0.0104112652619720, 0.00925546218271273,
                  0.00833056343336287)


def _stirling_tail(k):
    """log(k!) minus its Stirling approximation: a table for k <= 9, a series above."""
    table = jnp.asarray(np.array(_STIRLING_TAIL, k.dtype))
    small = k <= 9
    k = lax.clamp(np.array(0, k.dtype)[()], k, np.array(9, k.dtype)[()])
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    return lax.select(small, table[jnp.astype(jnp.floor(k), np.int32)], approx)


def _binomial_inversion(key, count, prob, shape, dtype, max_iters):
    """Count geometric waiting times until they pass ``count`` (small count * prob)."""
    log1m_prob = jnp.log1p(-prob)

    def body(carry):
        i, num_geom, geom_sum, key = carry
        sub, key = _split2(key)
        num_geom = lax.select(geom_sum <= count, num_geom + 1, num_geom)
        u = _uniform_impl(sub, 0., 1., shape, prob.dtype)
        return i + 1, num_geom, geom_sum + jnp.ceil(jnp.log(u) / log1m_prob), key

    def cond(carry):
        i, _, geom_sum, _ = carry
        return jnp.any(geom_sum <= count) & (i < max_iters)

    zeros = jnp.zeros(shape, prob.dtype)
    k = lax.while_loop(cond, body, (0, zeros, zeros, key))[1]
    return jnp.astype(k - 1, dtype)


def _btrs(key, count, prob, shape, dtype, max_iters):
    """Hormann's BTRS transformed rejection (large count * prob)."""
    stddev = jnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = jnp.floor((count + 1) * prob)

    def propose(u, v):
        u = u - 0.5
        us = 0.5 - jnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = jnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = jnp.log(v * alpha / (a / (us * us) + b))
        ub = ((m + 0.5) * jnp.log((m + 1) / (r * (count - m + 1)))
              + (count + 1) * jnp.log((count - m + 1) / (count - k + 1))
              + (k + 0.5) * jnp.log(r * (count - k + 1) / (k + 1))
              + _stirling_tail(m) + _stirling_tail(count - m)
              - _stirling_tail(k) - _stirling_tail(count - k))
        return k, accept1 | (~reject & (v <= ub))

    return _rejection_loop(key, propose, shape, prob.dtype, dtype, max_iters)


@jit(static_argnums=(3, 4))
def _binomial(key, count, prob, shape, dtype):
    count = jnp.broadcast_to(jnp.astype(count, prob.dtype), shape)
    prob = jnp.broadcast_to(prob, shape)
    p_lt_half = prob < 0.5
    q = lax.select(p_lt_half, prob, 1.0 - prob)
    count_nan_or_neg = (count != count) | (count < 0.0)
    count_inf = jnp.isinf(count)
    q_is_nan = q != q
    q_l_0 = q < 0.0
    q = lax.select(q_is_nan | q_l_0, jnp.full_like(q, 0.01), q)
    use_inversion = count_nan_or_neg | (count * q <= 10.0)
    count = jnp.floor(count)
    count_inv = lax.select(use_inversion, count, jnp.zeros_like(count))
    count_btrs = lax.select(use_inversion, jnp.full_like(count, 1e4), count)
    q_btrs = lax.select(use_inversion, jnp.full_like(q, 0.5), q)
    max_iters = np.array(_dt.finfo(dtype).max, dtype)[()]
    samples = lax.select(use_inversion,
                         _binomial_inversion(key, count_inv, q, shape, dtype, max_iters),
                         _btrs(key, count_btrs, q_btrs, shape, dtype, max_iters))
    invalid = q_l_0 | q_is_nan | count_nan_or_neg
    samples = lax.select(invalid, jnp.full_like(samples, np.nan), samples)
    samples = lax.select(count_inf & ~invalid, jnp.full_like(samples, np.inf), samples)
    return lax.select(p_lt_half | count_nan_or_neg | q_is_nan | count_inf, samples,
                      jnp.astype(count, dtype) - samples)


@_sampler(dtype=float, kind="float", batch=("n", "p"))
def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) counts, as floats (inversion for small n * p, BTRS above)."""
    p = jnp.asarray(p)
    if not _dt.is_inexact(p.dtype):
        p = jnp.astype(p, _dt.default_float())
    return _binomial(key, n, p, shape, dtype)
