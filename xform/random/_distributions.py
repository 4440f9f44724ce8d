"""The distributions computed from uniforms and normals: ``uniform``, ``normal``,
``truncated_normal``, ``exponential`` & co., ``bernoulli``, ``rademacher``, ``choice``,
``categorical``, the closed-form transforms (``pareto`` .. ``geometric``) and
``multivariate_normal``.
"""
from __future__ import annotations

import math

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..api import jit
from ._args import _sampler, _shape_of, _to_dtype
from ._bits import _UINT, _random_bits, permutation, randint
from ._keys import _split2


# --- continuous samplers ----------------------------------------------------------------------

def _bcast_rank(x, rank):
    nd = len(x.shape)
    return x if nd == rank else lax.reshape(x, (1,) * (rank - nd) + tuple(x.shape))


def _uniform_impl(key, minval, maxval, shape, dtype):
    if not _dt.is_float(dtype):
        raise TypeError("uniform only accepts floating point dtypes.")
    minval = _to_dtype(minval, dtype)
    maxval = _to_dtype(maxval, dtype)
    minval = _bcast_rank(minval, len(shape))
    maxval = _bcast_rank(maxval, len(shape))
    fi = _dt.finfo(dtype)
    nbits, nmant = fi.bits, fi.nmant
    if nbits not in (16, 32, 64):
        raise TypeError(f"uniform only accepts 16-, 32- or 64-bit dtypes, got {dtype}")
    rng_bits = 8 if nmant < 8 else nbits
    udt = _UINT[nbits]
    rb = _random_bits(key, rng_bits, shape)
    if rng_bits != nbits:
        rb = lax.convert_element_type(rb, udt)
    fbits = lax.shift_right_logical(rb, np.array(rng_bits - nmant, udt)[()])
    fbits = lax.bitwise_or(fbits, np.array(1.0, dtype).view(udt)[()])
    floats = lax.sub(lax.bitcast_convert_type(fbits, dtype), np.array(1.0, dtype)[()])
    return jnp.maximum(minval, floats * (maxval - minval) + minval)


_uniform = jit(_uniform_impl, static_argnums=(3, 4))


@_sampler(dtype=float, kind="float")
def uniform(key, shape=(), dtype=None, minval=0., maxval=1.):
    """Uniform floats in ``[minval, maxval)``."""
    return _uniform(key, minval, maxval, shape, dtype)


def _normal_real(key, shape, dtype):
    lo = np.nextafter(np.array(-1., dtype), np.array(0., dtype), dtype=dtype)
    u = _uniform_impl(key, lo[()], np.array(1., dtype)[()], shape, dtype)
    return lax.mul(np.array(np.sqrt(2), dtype)[()], lax.erf_inv(u))


@jit(static_argnums=(1, 2))
def _normal(key, shape, dtype):
    if _dt.is_complex(dtype):
        kre, kim = _split2(key)
        rdt = _dt.real_dtype(dtype)
        re = jnp.astype(_normal_real(kre, shape, rdt), dtype)
        im = jnp.astype(_normal_real(kim, shape, rdt), dtype)
        # a Python scalar, so that it is an inline constant as in JAX (XLA simplifies a
        # complex division by a constant with zero imaginary part: other rounding)
        return (re + 1j * im) / complex(np.array(np.sqrt(2), rdt))
    return _normal_real(key, shape, dtype)


@_sampler(dtype=float, kind="inexact")
def normal(key, shape=(), dtype=None):
    """Standard normal floats (real or complex)."""
    return _normal(key, shape, dtype)


@jit(static_argnums=(3, 4))
def _truncated_normal(key, lower, upper, shape, dtype):
    sqrt2 = np.array(np.sqrt(2), dtype)[()]
    lower = _to_dtype(lower, dtype)
    upper = _to_dtype(upper, dtype)
    # sqrt2 is a literal: with constant bounds XLA then folds erf(bound / sqrt2), as in JAX
    a = lax.erf(lax.div(lower, sqrt2))
    b = lax.erf(lax.div(upper, sqrt2))
    u = _uniform_impl(key, a, b, shape, dtype)
    out = lax.mul(sqrt2, lax.erf_inv(u))
    lo = lax.nextafter(lax.stop_gradient(lower), jnp.full(lower.shape, np.inf, dtype))
    hi = lax.nextafter(lax.stop_gradient(upper), jnp.full(upper.shape, -np.inf, dtype))
    return jnp.minimum(jnp.maximum(out, lo), hi)


@_sampler(dtype=float, kind="float", batch=("lower", "upper"))
def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal values truncated to the open interval ``(lower, upper)``."""
    return _truncated_normal(key, lower, upper, shape, dtype)


@jit(static_argnums=(1, 2))
def _exponential(key, shape, dtype):
    u = _uniform_impl(key, 0., 1., shape, dtype)
    return lax.neg(lax.log1p(lax.neg(u)))


@_sampler(dtype=float, kind="float")
def exponential(key, shape=(), dtype=None):
    """Exponential(1) floats: ``-log1p(-u)``."""
    return _exponential(key, shape, dtype)


@jit(static_argnums=(1, 2))
def _laplace(key, shape, dtype):
    u = _uniform_impl(key, -1. + _dt.finfo(dtype).epsneg, 1., shape, dtype)
    return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))))


@_sampler(dtype=float, kind="float")
def laplace(key, shape=(), dtype=None):
    """Laplace(0, 1) floats."""
    return _laplace(key, shape, dtype)


@jit(static_argnums=(1, 2))
def _logistic(key, shape, dtype):
    x = _uniform_impl(key, _dt.finfo(dtype).tiny, 1., shape, dtype)
    return lax.sub(lax.log(x), lax.log1p(lax.neg(x)))


@_sampler(dtype=float, kind="float")
def logistic(key, shape=(), dtype=None):
    """Standard logistic floats: ``log(u) - log1p(-u)``."""
    return _logistic(key, shape, dtype)


@jit(static_argnums=(1, 2))
def _cauchy(key, shape, dtype):
    u = _uniform_impl(key, _dt.finfo(dtype).eps, 1., shape, dtype)
    pi = np.array(np.pi, dtype)[()]
    return lax.tan(lax.mul(pi, lax.sub(u, np.array(0.5, dtype)[()])))


@_sampler(dtype=float, kind="float")
def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy floats: ``tan(pi * (u - 1/2))``."""
    return _cauchy(key, shape, dtype)


def _gumbel_impl(key, shape, dtype, mode):
    fi = _dt.finfo(dtype)
    if mode == "high":
        u = _uniform_impl(key, 0., 1., (2,) + shape, dtype)
        high = lax.index_in_dim(u, 0, 0, False)
        low = lax.index_in_dim(u, 1, 0, False)
        x = jnp.where(high >= 0.5, high, high + 2 ** -int(fi.nmant) * low + float(fi.tiny))
        return -jnp.log(-jnp.log1p(-x))
    return -jnp.log(-jnp.log(_uniform_impl(key, fi.tiny, 1., shape, dtype)))


_gumbel = jit(_gumbel_impl, static_argnums=(1, 2, 3))


def _gumbel_mode(mode):
    mode = "low" if mode is None else mode
    if mode == "highest":
        raise NotImplementedError("random.gumbel: mode='highest' is not implemented; "
                                  "use mode='high'")
    if mode not in ("high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    return mode


@_sampler(dtype=float, kind="float")
def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel floats: ``-log(-log(u))`` (``mode='high'`` uses two uniforms)."""
    return _gumbel(key, shape, dtype, _gumbel_mode(mode))


# --- discrete samplers --------------------------------------------------------------------------

@jit(static_argnums=(2, 3))
def _bernoulli(key, p, shape, mode):
    dtype = p.dtype
    if mode == "high":
        u = _uniform_impl(key, 0., 1., (2,) + shape, dtype)
        u1 = lax.index_in_dim(u, 0, 0, False)
        u2 = lax.index_in_dim(u, 1, 0, False) * 2 ** -int(_dt.finfo(dtype).nmant)
        return u2 < p - u1
    return _uniform_impl(key, 0., 1., shape, dtype) < p


@_sampler(batch=("p",))
def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Booleans that are True with probability ``p``."""
    if mode not in ("high", "low"):
        raise ValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    p = jnp.asarray(p)
    if not _dt.is_float(p.dtype):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {p.dtype}.")
    p = lax.convert_element_type(p, p.dtype)
    return _bernoulli(key, p, shape, mode)


@jit(static_argnums=(1, 2))
def _rademacher(key, shape, dtype):
    b = _bernoulli(key, jnp.asarray(np.array(0.5, _dt.default_float())), shape, "low")
    return jnp.astype(2 * jnp.astype(b, dtype) - 1, dtype)


@_sampler(dtype=int)
def rademacher(key, shape=(), dtype=None):
    """-1 or +1 with equal probability."""
    return _rademacher(key, shape, dtype)


def _top_k_indices(x, k):
    """Indices of the ``k`` largest entries along the last axis (ties: lower index first)."""
    n = x.shape[-1]
    idx = lax.broadcasted_iota(np.dtype(np.int32), x.shape, x.ndim - 1)
    neg = lax.neg(x)
    _, order = lax.sort((neg, idx), x.ndim - 1, True, 1)
    return lax.slice_in_dim(order, 0, k, 1, x.ndim - 1) if k < n else order


@_sampler()
def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Random samples from ``a`` (an int: ``arange(a)``), with or without replacement."""
    arr = jnp.asarray(a)
    if arr.ndim == 0:
        n_inputs = int(a)
    else:
        axis = axis % arr.ndim
        n_inputs = arr.shape[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        return jnp.zeros(shape, dtype=arr.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"Cannot take a larger sample (size {n_draws}) than population "
                         f"(size {n_inputs}) when 'replace=False'")
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n_inputs)
            result = ind if arr.ndim == 0 else jnp.take(arr, ind, axis)
        else:
            perm = permutation(key, n_inputs if arr.ndim == 0 else arr, axis)
            result = lax.slice_in_dim(perm, 0, n_draws, 1, axis)
    else:
        p_arr = jnp.asarray(p)
        if not _dt.is_inexact(p_arr.dtype):
            p_arr = jnp.astype(p_arr, _dt.default_float())
        if tuple(p_arr.shape) != (n_inputs,):
            raise ValueError(
                "p must be None or a 1D vector with the same size as a.shape[axis]. "
                f"p has shape {tuple(p_arr.shape)} and a.shape[axis] is {n_inputs}.")
        if replace:
            ind = _choice_p(key, p_arr, shape)
        else:
            g = gumbel(key, (n_inputs,), dtype=p_arr.dtype, mode=mode) + jnp.log(p_arr)
            ind = jnp.astype(_top_k_indices(g, n_draws), _dt.default_int())
        result = ind if arr.ndim == 0 else jnp.take(arr, ind, axis)
    return jnp.reshape(result, shape if arr.ndim == 0 else
                       tuple(arr.shape[:axis]) + shape + tuple(arr.shape[axis + 1:]))


@jit(static_argnums=(2,))
def _choice_p(key, p_arr, shape):
    p_cuml = jnp.cumsum(p_arr)
    total = lax.index_in_dim(p_cuml, p_cuml.shape[0] - 1, 0, False)
    r = total * (1 - _uniform_impl(key, 0., 1., shape, p_cuml.dtype))
    # searchsorted(p_cuml, r, side='left') on a sorted p_cuml: how many entries are < r
    less = jnp.expand_dims(p_cuml, tuple(range(len(shape)))) < jnp.expand_dims(r, -1)
    return jnp.sum(less, axis=-1, dtype=_dt.default_int())


def _categorical_axis(logits, axis):
    """(the category axis, non-negative if given so; the batch shape: the other axes)."""
    logits_shape = _shape_of(logits)
    axis = axis % len(logits_shape) if axis >= 0 else axis
    return axis, tuple(np.delete(logits_shape, axis))


@_sampler(batch=lambda logits, axis: [_categorical_axis(logits, axis)[1]])
def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Samples from categorical distributions given by unnormalised log probabilities."""
    logits = jnp.asarray(logits)
    axis, batch_shape = _categorical_axis(logits, axis)
    mode = _gumbel_mode(mode)
    return _categorical(key, logits, shape, batch_shape, axis, bool(replace), mode)


@jit(static_argnums=(2, 3, 4, 5, 6))
def _categorical(key, logits, shape, batch_shape, axis, replace, mode):
    nd = logits.ndim
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        if axis >= 0:
            axis -= nd
        lshape = list(shape[len(shape) - len(batch_shape):])
        lshape.insert(axis % nd, logits.shape[axis])
        g = _gumbel_impl(key, (*prefix, *lshape), logits.dtype, mode)
        return jnp.argmax(g + lax.expand_dims(logits, tuple(range(len(prefix)))), axis=axis)
    logits = logits + _gumbel_impl(key, tuple(logits.shape), logits.dtype, mode)
    k = math.prod(prefix)
    if k > logits.shape[axis]:
        raise ValueError(f"Number of samples without replacement ({k}) cannot exceed number "
                         f"of categories ({logits.shape[axis]}).")
    idx = _top_k_indices(jnp.moveaxis(logits, axis, -1), k)
    dims = (idx.ndim - 1, *range(idx.ndim - 1))
    return lax.reshape(idx, shape, dims)


# --- closed-form transforms of uniforms and normals ------------------------------------------

@jit(static_argnums=(2, 3))
def _pareto(key, b, shape, dtype):
    b = _to_dtype(b, dtype)
    return lax.exp(_exponential(key, shape, dtype) / b)


@_sampler(dtype=float, kind="float", batch=("b",))
def pareto(key, b, shape=None, dtype=None):
    """Pareto(b) floats on [1, inf): ``exp(e / b)`` with ``e`` exponential."""
    return _pareto(key, b, shape, dtype)


@jit(static_argnums=(3, 4))
def _weibull_min(key, scale, concentration, shape, dtype):
    u = _uniform_impl(key, 0, 1, shape, dtype)
    return jnp.power(-jnp.log1p(-u), 1.0 / jnp.asarray(concentration)) * scale


@_sampler(dtype=float, kind="float")
def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull floats, by inverting the CDF."""
    return _weibull_min(key, scale, concentration, shape, dtype)


@jit(static_argnums=(1, 2))
def _maxwell(key, shape, dtype):
    z = _normal_real(key, shape + (3,), dtype)
    return jnp.sqrt(jnp.sum(z * z, axis=-1))   # the 2-norm, as jnp.linalg.norm computes it


@_sampler(dtype=float, kind="float")
def maxwell(key, shape=(), dtype=None):
    """Maxwell floats: the norm of a 3-d standard normal vector."""
    return _maxwell(key, shape, dtype)


@jit(static_argnums=(3, 4))
def _double_sided_maxwell(key, loc, scale, shape, dtype):
    params_shape = tuple(np.broadcast_shapes(_shape_of(loc), _shape_of(scale)))
    shape = (shape or params_shape) + params_shape
    maxwell_key, sign_key = _split2(key)
    m = _maxwell(maxwell_key, shape, dtype)
    sign = _rademacher(sign_key, shape, dtype)
    return sign * m * scale + loc


@_sampler(dtype=float, kind="float")
def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Maxwell floats with a random sign, scaled by ``scale`` and shifted by ``loc``."""
    return _double_sided_maxwell(key, loc, scale, shape, dtype)


@jit(static_argnums=(2, 3))
def _rayleigh(key, scale, shape, dtype):
    u = _uniform_impl(key, 0., 1., shape, dtype)
    scale = jnp.broadcast_to(_to_dtype(scale, dtype), shape)
    return lax.mul(scale, lax.sqrt(lax.mul(lax.log(u), np.array(-2, dtype)[()])))


@_sampler(dtype=float, kind="float", batch=("scale",))
def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh floats: ``scale * sqrt(-2 log u)``."""
    return _rayleigh(key, scale, shape, dtype)


@jit(static_argnums=(2, 3))
def _wald(key, mean, shape, dtype):
    k1, k2 = _split2(key)
    mean = jnp.broadcast_to(_to_dtype(mean, dtype), shape)
    v = _normal_real(k1, shape, dtype)
    z = _uniform_impl(k2, 0., 1., shape, dtype)
    y = lax.integer_pow(v, 2)
    y_sq = lax.integer_pow(y, 2)
    mean_sq = lax.integer_pow(mean, 2)
    sqrt_term = lax.sqrt(4 * mean * y + mean_sq * y_sq)
    x = mean + mean_sq * y / 2 - mean / 2 * sqrt_term
    return lax.select(lax.le(z, mean / (mean + x)), x, mean_sq / x)


@_sampler(dtype=float, kind="float", batch=("mean",))
def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) floats with the given ``mean`` and unit shape."""
    return _wald(key, mean, shape, dtype)


@jit(static_argnums=(2, 3))
def _lognormal(key, sigma, shape, dtype):
    return lax.exp(_normal_real(key, shape, dtype) * _to_dtype(sigma, dtype))


@_sampler(dtype=float, kind="float", batch=("sigma",))
def lognormal(key, sigma=np.float32(1), shape=None, dtype=None):
    """``exp(sigma * n)`` with ``n`` standard normal."""
    return _lognormal(key, sigma, shape, dtype)


@jit(static_argnums=(4, 5))
def _triangular(key, left, mode, right, shape, dtype):
    left, mode, right = (jnp.broadcast_to(_to_dtype(v, dtype), shape)
                         for v in (left, mode, right))
    fc = (mode - left) / (right - left)
    u = _uniform_impl(key, 0., 1., shape, dtype)
    below = left + lax.sqrt(u * (right - left) * (mode - left))
    above = right - lax.sqrt((1 - u) * (right - left) * (right - mode))
    return lax.select(u < fc, below, above)


@_sampler(dtype=float, kind="float", batch=("left", "mode", "right"))
def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular floats on [left, right] with peak at ``mode`` (inverse CDF)."""
    return _triangular(key, left, mode, right, shape, dtype)


@jit(static_argnums=(2, 3))
def _geometric(key, p, shape, dtype):
    u = _uniform_impl(key, 0., 1., shape, p.dtype)
    u = jnp.where(u == 0, 1, u)   # JAX maps u = 0 to 1 to keep log(u) finite
    log_q = jnp.broadcast_to(lax.log1p(lax.neg(p)), shape)
    return jnp.astype(lax.floor(lax.div(lax.log(u), log_q)) + 1, dtype)


@_sampler(dtype=int, kind="int", batch=("p",))
def geometric(key, p, shape=None, dtype=None):
    """Number of Bernoulli(p) trials up to and including the first success (ints >= 1)."""
    p = jnp.asarray(p)
    if not _dt.is_inexact(p.dtype):
        p = jnp.astype(p, _dt.default_float())
    return _geometric(key, p, shape, dtype)


@jit(static_argnums=(3, 4, 5))
def _multivariate_normal(key, mean, cov, shape, dtype, method):
    linalg = jnp.linalg
    if method == "svd":
        u, s, _ = linalg.svd(cov)
        factor = u * jnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = linalg.eigh(cov)
        factor = v * jnp.sqrt(w[..., None, :])
    else:
        factor = linalg.cholesky(cov)
    z = _normal_real(key, shape + tuple(mean.shape[-1:]), dtype)
    return mean + jnp.einsum("...ij,...j->...i", factor, z)


def _mvn_batch(mean, cov):
    """The batch shapes of ``mean`` (..., n) and ``cov`` (..., n, n), checked."""
    mean_shape, cov_shape = _shape_of(mean), _shape_of(cov)
    if len(mean_shape) < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got {len(mean_shape)}")
    if len(cov_shape) < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got {len(cov_shape)}")
    n = mean_shape[-1]
    if tuple(cov_shape[-2:]) != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, "
                         f"but got cov.shape == {cov_shape}")
    return [mean_shape[:-1], cov_shape[:-2]]


@_sampler(dtype=float, kind="float", batch=_mvn_batch)
def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Normal vectors with the given ``mean`` (..., n) and covariance ``cov`` (..., n, n)."""
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError(f"multivariate_normal: method must be one of 'svd', 'eigh' or "
                         f"'cholesky', got {method!r}")
    mean, cov = _to_dtype(mean, dtype), _to_dtype(cov, dtype)
    return _multivariate_normal(key, mean, cov, shape, dtype, method)
