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
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from primitives import dtypes as _dt

from . import lax
from . import numpy as jnp
from .api import jit
from .array import Array
from .core import Tracer

__all__ = ["PRNGKey", "key", "key_data", "wrap_key_data", "key_impl", "clone", "split",
           "fold_in", "bits", "uniform", "normal", "randint", "bernoulli", "categorical",
           "permutation", "choice", "truncated_normal", "gumbel", "exponential", "laplace",
           "logistic", "cauchy", "rademacher", "threefry_2x32", "threefry2x32",
           "gamma", "loggamma", "beta", "dirichlet", "t", "chisquare", "f",
           "generalized_normal", "ball", "pareto", "weibull_min", "maxwell",
           "double_sided_maxwell", "rayleigh", "wald", "lognormal", "triangular", "geometric",
           "poisson", "binomial", "multivariate_normal"]

_U32 = np.dtype(np.uint32)
_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32),
         64: np.dtype(np.uint64)}


# --- helpers ---------------------------------------------------------------------------------

def _canon_shape(shape, name) -> tuple:
    if isinstance(shape, (int, np.integer)) or not isinstance(shape, Sequence) and \
            not isinstance(shape, np.ndarray):
        raise TypeError(f"{name}: shape must be a sequence of integers, got {shape!r}")
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be a sequence of concrete integers, "
                        f"got {shape!r}") from None


def _canon_dtype(dtype, default):
    return _dt.canonicalize(np.dtype(default if dtype is None else dtype))


def _shape_of(x) -> tuple:
    return tuple(getattr(x, "shape", np.shape(x)))


def _check_shape(name, shape, *param_shapes):
    if param_shapes:
        try:
            out = tuple(np.broadcast_shapes(shape, *param_shapes))
        except ValueError:
            out = "no shape (they do not broadcast)"
        if out != tuple(shape):
            raise ValueError(
                f"{name} parameter shapes must be broadcast-compatible with shape argument, "
                f"and the result of broadcasting the shapes must equal the shape argument, "
                f"but got result {out} for shape argument {tuple(shape)} (parameter "
                f"shapes {', '.join(str(tuple(p)) for p in param_shapes)}).")


def _is_key_array(k) -> bool:
    return isinstance(k, (Array, Tracer))


def _check_key(name, key, allow_batched=False):
    """The key as an xform array of dtype uint32 and shape (2,) (or (..., 2))."""
    k = key if _is_key_array(key) else jnp.asarray(key)
    if k.dtype != _U32 or k.ndim < 1 or k.shape[-1] != 2:
        raise TypeError(f"{name}: a key must be a uint32 array of shape (2,) (from "
                        f"random.PRNGKey/key/split/fold_in), got {k.dtype}{list(k.shape)}")
    if not allow_batched and k.ndim != 1:
        raise ValueError(f"{name} accepts a single key, but was given a key array of shape "
                         f"{tuple(k.shape[:-1])} != (). Use xform.vmap for batching.")
    return k


def _key_words(key):
    """(k0, k1): the two uint32 words of a (2,) key, as scalars."""
    k0 = lax.reshape(lax.slice(key, (0,), (1,)), ())
    k1 = lax.reshape(lax.slice(key, (1,), (2,)), ())
    return k0, k1


def _stack_last(a, b):
    shape = tuple(a.shape) + (1,)
    return lax.concatenate([lax.reshape(a, shape), lax.reshape(b, shape)], len(shape) - 1)


# --- the block function ------------------------------------------------------------------------

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotl(x, d):
    return lax.bitwise_or(lax.shift_left(x, np.uint32(d)),
                          lax.shift_right_logical(x, np.uint32(32 - d)))


def threefry2x32(k0, k1, x0, x1):
    """The Threefry-2x32 block function (20 rounds) on uint32 words.

    ``k0``, ``k1`` are the key words, ``x0``, ``x1`` the counter words (arrays of
    one shape, or scalars that broadcast to it); returns the two output words.
    """
    ks = (k0, k1, lax.bitwise_xor(lax.bitwise_xor(k0, k1), _PARITY))
    y0 = lax.add(x0, ks[0])
    y1 = lax.add(x1, ks[1])
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            y0 = lax.add(y0, y1)
            y1 = lax.bitwise_xor(y0, _rotl(y1, r))
        y0 = lax.add(y0, ks[(i + 1) % 3])
        y1 = lax.add(lax.add(y1, ks[(i + 2) % 3]), np.uint32(i + 1))
    return y0, y1


def _threefry2x32_rolled(k0, k1, x0, x1):
    """The same function as :func:`threefry2x32`, as a loop over the 5 groups of 4 rounds
    (as JAX lowers it on CPU).

    Used to derive keys (``split``, ``fold_in``): the loop's result is a buffer, so XLA
    cannot fuse the whole derivation into every use of the new key words (with the
    unrolled form, a sampler on a derived key compiles ~10x slower).
    """
    from .lax import fori_loop   # control flow lives in its own module
    ks2 = lax.bitwise_xor(lax.bitwise_xor(k0, k1), _PARITY)
    y0 = lax.add(x0, k0)
    y1 = lax.add(x1, k1)
    rot = [lax.broadcast_in_dim(np.uint32(r), (), ()) for r in _ROTATIONS[0] + _ROTATIONS[1]]

    def group(i, state):
        y0, y1, ka, kb, kc, r = state
        for j in range(4):
            y0 = lax.add(y0, y1)
            s = r[j]
            y1 = lax.bitwise_xor(y0, lax.bitwise_or(
                lax.shift_left(y1, s), lax.shift_right_logical(y1, lax.sub(np.uint32(32), s))))
        y0 = lax.add(y0, kb)
        y1 = lax.add(lax.add(y1, kc), lax.add(lax.convert_element_type(i, _U32), np.uint32(1)))
        return y0, y1, kb, kc, ka, r[4:] + r[:4]

    y0, y1, *_ = fori_loop(0, 5, group, (y0, y1, k0, k1, ks2, rot))
    return y0, y1


def _hash_counters(key, shape, rolled=False):
    """Hash the 64-bit counters 0..prod(shape)-1 (laid out in ``shape``) under ``key``."""
    n = math.prod(shape)
    if n >= 2 ** 32:
        raise NotImplementedError(f"random: {n} values from one key (at most 2**32 - 1 "
                                  f"are supported)")
    k0, k1 = _key_words(key)
    lo = lax.reshape(lax.iota(_U32, n), shape)
    hi = lax.broadcast_in_dim(np.uint32(0), shape, ())   # high counter words: all 0
    return (_threefry2x32_rolled if rolled else threefry2x32)(k0, k1, hi, lo)


@jit
def threefry_2x32(keypair, count):
    """``jax.random.threefry_2x32``: hash a uint32 array ``count`` (split into halves)."""
    k0, k1 = _key_words(keypair) if not isinstance(keypair, tuple) else keypair
    flat = lax.reshape(count, (count.size,))
    n = count.size
    if n % 2:
        flat = lax.concatenate([flat, lax.broadcast_in_dim(np.uint32(0), (1,), ())], 0)
    h = (n + 1) // 2
    y0, y1 = threefry2x32(k0, k1, lax.slice(flat, (0,), (h,)), lax.slice(flat, (h,), (2 * h,)))
    out = lax.concatenate([y0, y1], 0)
    if n % 2:
        out = lax.slice(out, (0,), (n,))
    return lax.reshape(out, count.shape)


# --- keys ---------------------------------------------------------------------------------------

def _seed_words_host(seed):
    """(hi, lo) uint32 words of a concrete integer seed, as JAX derives them."""
    if isinstance(seed, (bool, np.bool_)):
        seed = int(seed)
    if isinstance(seed, int):
        s = np.int64(seed)               # OverflowError beyond int64, as in JAX
        if not _dt.x64_enabled():
            s = s.astype(np.int32)       # JAX canonicalises to int32 (wrapping)
    else:
        s = np.asarray(seed)
        if not np.issubdtype(s.dtype, np.integer):
            raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
        s = s.astype(_dt.canonicalize(s.dtype))[()]
    lo = np.uint32(int(s) & 0xFFFFFFFF)
    hi = np.uint32((int(s) >> 32) & 0xFFFFFFFF) if s.dtype.itemsize == 8 else np.uint32(0)
    return hi, lo


def _seed_traced(seed):
    if seed.shape:
        raise TypeError(f"PRNG key seed must be a scalar; got shape {seed.shape}")
    if not _dt.is_int(seed.dtype):
        raise TypeError(f"PRNG key seed must be an integer; got {seed.dtype}")
    lo = lax.convert_element_type(seed, _U32)
    if seed.dtype.itemsize == 8:
        hi = lax.convert_element_type(lax.shift_right_logical(seed, 32), _U32)
    else:
        hi = lax.broadcast_in_dim(np.uint32(0), (), ())
    return _stack_last(hi, lo)


def PRNGKey(seed, *, impl=None):
    """A key (uint32[2]) from an integer seed, as ``jax.random.PRNGKey``."""
    _check_impl(impl)
    if isinstance(seed, (Array, Tracer)):
        return _seed_traced(seed)
    if np.ndim(seed):
        raise TypeError(f"PRNGKey accepts a scalar seed, but was given an array of shape "
                        f"{np.shape(seed)} != (). Use xform.vmap for batching")
    if isinstance(seed, (float, complex)) or (isinstance(seed, np.generic) and
                                              not np.issubdtype(seed.dtype, np.integer)):
        raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
    if type(seed).__name__ == "ArrayImpl":
        seed = np.asarray(seed)[()]
    hi, lo = _seed_words_host(seed)
    return jnp.asarray(np.array([hi, lo], dtype=_U32))


def key(seed, *, impl=None, dtype=None):
    """As ``jax.random.key``; xform keys are plain uint32[2] arrays (see docs/differences.md)."""
    _check_impl(impl if dtype is None else dtype)
    return PRNGKey(seed)


def _check_impl(impl):
    if impl is not None and str(impl) not in ("threefry2x32", "fry"):
        raise NotImplementedError(f"random: PRNG implementation {impl!r}; xform implements "
                                  f"only 'threefry2x32'")


def key_data(keys):
    """The uint32 data of a key array (xform keys are their data)."""
    return _check_key("key_data", keys, allow_batched=True)


def wrap_key_data(key_bits_array, *, impl=None, dtype=None):
    """A key array from uint32 data of shape (..., 2) (the identity in xform)."""
    _check_impl(impl if dtype is None else dtype)
    return _check_key("wrap_key_data", key_bits_array, allow_batched=True)


def key_impl(keys):
    _check_key("key_impl", keys, allow_batched=True)
    return "threefry2x32"


def clone(key):
    return key


@jit
def _fold_in(key, data):
    k0, k1 = _key_words(key)
    y0, y1 = _threefry2x32_rolled(k0, k1, np.uint32(0), data)
    return _stack_last(y0, y1)


def fold_in(key, data):
    """A new key that is a deterministic function of ``key`` and the 32-bit integer ``data``."""
    key = _check_key("fold_in", key)
    if np.ndim(data):
        raise TypeError(f"fold_in accepts a scalar, but was given an array of shape "
                        f"{np.shape(data)} != (). Use xform.vmap for batching.")
    return _fold_in(key, jnp.asarray(data, dtype=_U32))


@jit(static_argnums=(1,))
def _split(key, shape):
    y0, y1 = _hash_counters(key, shape, rolled=True)
    return _stack_last(y0, y1)


def split(key, num=2):
    """``num`` new keys (an int or a shape), stacked on a leading axis: uint32[*num, 2]."""
    key = _check_key("split", key)
    shape = tuple(int(n) for n in num) if isinstance(num, Sequence) else (int(num),)
    return _split(key, shape)


def _split2(key):
    ks = _split(key, (2,))
    return lax.index_in_dim(ks, 0, 0, False), lax.index_in_dim(ks, 1, 0, False)


# --- bits -----------------------------------------------------------------------------------

def _random_bits(key, bit_width, shape):
    dtype = _UINT[bit_width]
    if math.prod(shape) == 0:
        return lax.broadcast_in_dim(np.zeros((), dtype), shape, ())
    y0, y1 = _hash_counters(key, shape)
    if bit_width == 64:
        hi = lax.convert_element_type(y0, dtype)
        lo = lax.convert_element_type(y1, dtype)
        return lax.bitwise_or(lax.shift_left(hi, np.uint64(32)), lo)
    out = lax.bitwise_xor(y0, y1)
    return out if bit_width == 32 else lax.convert_element_type(out, dtype)


_random_bits_jit = jit(_random_bits, static_argnums=(1, 2))


def bits(key, shape=(), dtype=None):
    """Uniform random bits as unsigned integers (default uint32; uint64 with x64)."""
    key = _check_key("bits", key)
    dtype = _canon_dtype(dtype, np.uint64 if _dt.x64_enabled() else np.uint32)
    if not _dt.is_unsigned(dtype):
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    shape = _canon_shape(shape, "bits")
    return _random_bits_jit(key, dtype.itemsize * 8, shape)


# --- continuous samplers ----------------------------------------------------------------------

def _bcast_rank(x, rank):
    nd = len(x.shape)
    return x if nd == rank else lax.reshape(x, (1,) * (rank - nd) + tuple(x.shape))


def _to_dtype(x, dtype):
    """``x`` (array, NumPy value or Python scalar) as an xform array of ``dtype``."""
    if isinstance(x, (Array, Tracer)):
        return lax.convert_element_type(x, dtype)
    a = np.asarray(x).astype(dtype)
    if a.dtype.kind == "V":   # bfloat16 & co.: jnp.asarray refuses them, go through float32
        return lax.convert_element_type(jnp.asarray(a.astype(np.float32)), dtype)
    return jnp.asarray(a)


def _uniform_impl(key, minval, maxval, shape, dtype):
    _check_shape("uniform", shape)
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


def uniform(key, shape=(), dtype=None, minval=0., maxval=1.):
    """Uniform floats in ``[minval, maxval)``."""
    key = _check_key("uniform", key)
    dtype = _canon_dtype(dtype, float)
    shape = _canon_shape(shape, "uniform")
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `uniform` must be a float dtype, got {dtype}")
    return _uniform(key, minval, maxval, shape, dtype)


def _normal_real(key, shape, dtype):
    _check_shape("normal", shape)
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


def normal(key, shape=(), dtype=None):
    """Standard normal floats (real or complex)."""
    key = _check_key("normal", key)
    shape = _canon_shape(shape, "normal")
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_inexact(dtype):
        raise ValueError(f"dtype argument to `normal` must be a float or complex dtype, "
                         f"got {dtype}")
    return _normal(key, shape, dtype)


@jit(static_argnums=(3, 4))
def _truncated_normal(key, lower, upper, shape, dtype):
    if shape is None:
        shape = tuple(np.broadcast_shapes(_shape_of(lower), _shape_of(upper)))
    else:
        _check_shape("truncated_normal", shape, _shape_of(lower), _shape_of(upper))
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


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal values truncated to the open interval ``(lower, upper)``."""
    key = _check_key("truncated_normal", key)
    if shape is not None:
        shape = _canon_shape(shape, "truncated_normal")
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `truncated_normal` must be a float dtype, "
                         f"got {dtype}")
    return _truncated_normal(key, lower, upper, shape, dtype)


@jit(static_argnums=(1, 2))
def _exponential(key, shape, dtype):
    u = _uniform_impl(key, 0., 1., shape, dtype)
    return lax.neg(lax.log1p(lax.neg(u)))


def exponential(key, shape=(), dtype=None):
    """Exponential(1) floats: ``-log1p(-u)``."""
    key = _check_key("exponential", key)
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `exponential` must be a float dtype, got {dtype}")
    return _exponential(key, _canon_shape(shape, "exponential"), dtype)


@jit(static_argnums=(1, 2))
def _laplace(key, shape, dtype):
    u = _uniform_impl(key, -1. + _dt.finfo(dtype).epsneg, 1., shape, dtype)
    return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))))


def laplace(key, shape=(), dtype=None):
    """Laplace(0, 1) floats."""
    key = _check_key("laplace", key)
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `laplace` must be a float dtype, got {dtype}")
    return _laplace(key, _canon_shape(shape, "laplace"), dtype)


@jit(static_argnums=(1, 2))
def _logistic(key, shape, dtype):
    x = _uniform_impl(key, _dt.finfo(dtype).tiny, 1., shape, dtype)
    return lax.sub(lax.log(x), lax.log1p(lax.neg(x)))


def logistic(key, shape=(), dtype=None):
    """Standard logistic floats: ``log(u) - log1p(-u)``."""
    key = _check_key("logistic", key)
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `logistic` must be a float dtype, got {dtype}")
    return _logistic(key, _canon_shape(shape, "logistic"), dtype)


@jit(static_argnums=(1, 2))
def _cauchy(key, shape, dtype):
    u = _uniform_impl(key, _dt.finfo(dtype).eps, 1., shape, dtype)
    pi = np.array(np.pi, dtype)[()]
    return lax.tan(lax.mul(pi, lax.sub(u, np.array(0.5, dtype)[()])))


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy floats: ``tan(pi * (u - 1/2))``."""
    key = _check_key("cauchy", key)
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `cauchy` must be a float dtype, got {dtype}")
    return _cauchy(key, _canon_shape(shape, "cauchy"), dtype)


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


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel floats: ``-log(-log(u))`` (``mode='high'`` uses two uniforms)."""
    key = _check_key("gumbel", key)
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `gumbel` must be a float dtype, got {dtype}")
    return _gumbel(key, _canon_shape(shape, "gumbel"), dtype, _gumbel_mode(mode))


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


def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Booleans that are True with probability ``p``."""
    if shape is not None:
        shape = _canon_shape(shape, "bernoulli")
    if mode not in ("high", "low"):
        raise ValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    key = _check_key("bernoulli", key)
    p = jnp.asarray(p)
    if not _dt.is_float(p.dtype):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {p.dtype}.")
    p = lax.convert_element_type(p, p.dtype)
    if shape is None:
        shape = tuple(p.shape)
    else:
        _check_shape("bernoulli", shape, tuple(p.shape))
    return _bernoulli(key, p, shape, mode)


def _convert_and_clip_integer(val, dtype):
    lo = max(int(_dt.iinfo(dtype).min), int(_dt.iinfo(val.dtype).min))
    hi = min(int(_dt.iinfo(dtype).max), int(_dt.iinfo(val.dtype).max))
    val = jnp.minimum(jnp.maximum(val, np.array(lo, val.dtype)[()]), np.array(hi, val.dtype)[()])
    return jnp.astype(val, dtype)


@jit(static_argnums=(3, 4))
def _randint(key, minval, maxval, shape, dtype):
    _check_shape("randint", shape, _shape_of(minval), _shape_of(maxval))
    minval = jnp.asarray(minval)
    maxval = jnp.asarray(maxval)
    if not _dt.is_int(minval.dtype):
        minval = jnp.astype(minval, _dt.default_int())
    if not _dt.is_int(maxval.dtype):
        maxval = jnp.astype(maxval, _dt.default_int())
    top = _convert_and_clip_integer(jnp.asarray(np.array(_dt.iinfo(dtype).max, dtype)),
                                    maxval.dtype)
    maxval_out_of_range = jnp.broadcast_to(maxval > top, shape)
    minval = jnp.broadcast_to(_convert_and_clip_integer(minval, dtype), shape)
    maxval = jnp.broadcast_to(_convert_and_clip_integer(maxval, dtype), shape)
    nbits = _dt.iinfo(dtype).bits
    k1, k2 = _split2(key)
    higher = _random_bits(k1, nbits, shape)
    lower = _random_bits(k2, nbits, shape)
    udt = _UINT[nbits]
    one = np.array(1, udt)[()]
    span = lax.convert_element_type(lax.sub(maxval, minval), udt)
    span = lax.select(lax.le(maxval, minval), jnp.full(shape, 1, udt), span)
    span = lax.select(lax.bitwise_and(maxval_out_of_range, lax.gt(maxval, minval)),
                      lax.add(span, one), span)
    mult = lax.rem(lax.broadcast_in_dim(np.array(2 ** (nbits // 2), udt)[()], shape, ()), span)
    mult = lax.rem(lax.mul(mult, mult), span)
    off = lax.add(lax.mul(lax.rem(higher, span), mult), lax.rem(lower, span))
    off = lax.rem(off, span)
    return lax.add(minval, lax.convert_element_type(off, dtype))


def randint(key, shape, minval, maxval, dtype=None):
    """Integers in ``[minval, maxval)`` (JAX's two-word modulus method, same bits)."""
    key = _check_key("randint", key)
    dtype = _canon_dtype(dtype, int)
    shape = _canon_shape(shape, "randint")
    if not _dt.is_int(dtype):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    info = _dt.iinfo(dtype)
    sdt = dtype
    if info.bits < 32:
        sdt = np.dtype(np.int32)
        minval = jnp.clip(jnp.astype(jnp.asarray(minval), sdt), int(info.min), int(info.max))
        maxval = jnp.clip(jnp.astype(jnp.asarray(maxval), sdt), int(info.min),
                          int(info.max) + 1)
    out = _randint(key, minval, maxval, shape, sdt)
    return out if out.dtype == dtype else jnp.astype(out, dtype)


@jit(static_argnums=(1, 2))
def _rademacher(key, shape, dtype):
    b = _bernoulli(key, jnp.asarray(np.array(0.5, _dt.default_float())), shape, "low")
    return jnp.astype(2 * jnp.astype(b, dtype) - 1, dtype)


def rademacher(key, shape=(), dtype=None):
    """-1 or +1 with equal probability."""
    key = _check_key("rademacher", key)
    dtype = _canon_dtype(dtype, int)
    return _rademacher(key, _canon_shape(shape, "rademacher"), dtype)


def _shuffle(key, x, axis):
    n = int(np.prod(x.shape))
    rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        key, sub = _split2(key)
        sort_keys = _random_bits(sub, 32, tuple(x.shape))
        _, x = lax.sort_key_val(sort_keys, x, axis)
    return x


_shuffle_jit = jit(_shuffle, static_argnums=(2,))


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``arange(x)`` (int ``x``) or of ``x`` along ``axis``."""
    key = _check_key("permutation", key)
    if not np.ndim(x):
        xa = jnp.asarray(x)
        if not _dt.is_int(xa.dtype):
            raise TypeError("x must be an integer or at least 1-dimensional")
        r = int(x)
        return _shuffle_jit(key, jnp.arange(r), 0)
    x = jnp.asarray(x)
    axis = axis % x.ndim
    if independent or x.ndim == 1:
        return _shuffle_jit(key, x, axis)
    ind = _shuffle_jit(key, jnp.arange(x.shape[axis]), 0)
    return jnp.take(x, ind, axis)


def _top_k_indices(x, k):
    """Indices of the ``k`` largest entries along the last axis (ties: lower index first)."""
    n = x.shape[-1]
    idx = lax.broadcasted_iota(np.dtype(np.int32), x.shape, x.ndim - 1)
    neg = lax.neg(x)
    _, order = lax.sort((neg, idx), x.ndim - 1, True, 1)
    return lax.slice_in_dim(order, 0, k, 1, x.ndim - 1) if k < n else order


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Random samples from ``a`` (an int: ``arange(a)``), with or without replacement."""
    key = _check_key("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of random.choice must be a sequence, got {shape}")
    shape = _canon_shape(shape, "choice")
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


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Samples from categorical distributions given by unnormalised log probabilities."""
    key = _check_key("categorical", key)
    logits = jnp.asarray(logits)
    axis = axis % logits.ndim if axis >= 0 else axis
    batch_shape = tuple(np.delete(logits.shape, axis))
    if shape is None:
        shape = batch_shape
    else:
        shape = _canon_shape(shape, "categorical")
        _check_shape("categorical", shape, batch_shape)
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


# --- gamma and the distributions built on it ----------------------------------------------------
# JAX's algorithms, operation for operation, so that the same key gives the same samples.

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


def _no_gamma_gradient(name):
    def jvp(primals, tangents):
        raise NotImplementedError(
            f"random.{name}: the derivative with respect to the shape parameter is not "
            f"implemented (JAX differentiates it by implicit reparameterisation); wrap the "
            f"parameter in lax.stop_gradient if its gradient is not needed")
    return jvp


def _make_gamma_sampler(log_space):
    from .batching import vmap
    from .custom_derivatives import custom_jvp

    @custom_jvp
    def sample(keys, alphas):
        return vmap(lambda k, a: _gamma_one(k, a, log_space))(keys, alphas)
    sample.defjvp(_no_gamma_gradient("loggamma" if log_space else "gamma"))
    return sample


_gamma_samplers = {}


@jit(static_argnums=(2, 3, 4))
def _gamma(key, a, shape, dtype, log_space):
    if shape is None:
        shape = _shape_of(a)
    else:
        _check_shape("gamma", shape, _shape_of(a))
    a = jnp.broadcast_to(_to_dtype(a, dtype), shape)
    n = math.prod(shape)
    if n == 0:
        return jnp.zeros(shape, dtype)
    if log_space not in _gamma_samplers:
        _gamma_samplers[log_space] = _make_gamma_sampler(log_space)
    samples = _gamma_samplers[log_space](_split(key, (n,)), jnp.reshape(a, (n,)))
    return jnp.reshape(samples, shape)


def _float_dtype(name, dtype):
    dtype = _canon_dtype(dtype, float)
    if not _dt.is_float(dtype):
        raise ValueError(f"dtype argument to `{name}` must be a float dtype, got {dtype}")
    return dtype


def _opt_shape(name, shape):
    return None if shape is None else _canon_shape(shape, name)


def _param_shape(name, shape, *params):
    """``shape``, or the broadcast shape of the parameters when ``shape`` is None."""
    shapes = [_shape_of(p) for p in params]
    if shape is None:
        return tuple(np.broadcast_shapes(*shapes)) if shapes else ()
    shape = _canon_shape(shape, name)
    _check_shape(name, shape, *shapes)
    return shape


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a) floats (unit scale), by JAX's Marsaglia-Tsang sampler: the same values."""
    key = _check_key("gamma", key)
    return _gamma(key, a, _opt_shape("gamma", shape), _float_dtype("gamma", dtype), False)


def loggamma(key, a, shape=None, dtype=None):
    """``log`` of Gamma(a) samples, computed in log space (accurate for tiny ``a``)."""
    key = _check_key("loggamma", key)
    return _gamma(key, a, _opt_shape("loggamma", shape), _float_dtype("loggamma", dtype), True)


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


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) floats, from two log-gamma samples."""
    key = _check_key("beta", key)
    dtype = _float_dtype("beta", dtype)
    return _beta(key, a, b, _param_shape("beta", shape, a, b), dtype)


@jit(static_argnums=(2, 3))
def _dirichlet(key, alpha, shape, dtype):
    from .nn import softmax
    alpha = _to_dtype(alpha, dtype)
    log_gamma = _gamma(key, alpha, shape + tuple(alpha.shape[-1:]), dtype, True)
    return softmax(log_gamma, -1)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) vectors along the last axis (a softmax of log-gamma samples)."""
    key = _check_key("dirichlet", key)
    dtype = _float_dtype("dirichlet", dtype)
    alpha_shape = _shape_of(alpha)
    if len(alpha_shape) < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == "
                         f"{len(alpha_shape)}")
    if shape is None:
        shape = alpha_shape[:-1]
    else:
        shape = _canon_shape(shape, "dirichlet")
        _check_shape("dirichlet", shape, alpha_shape[:-1])
    return _dirichlet(key, alpha, shape, dtype)


@jit(static_argnums=(2, 3))
def _t(key, df, shape, dtype):
    df = _to_dtype(df, dtype)
    key_n, key_g = _split2(key)
    n = _normal_real(key_n, shape, dtype)
    half_df = lax.div(df, np.array(2, dtype)[()])
    g = _gamma(key_g, half_df, shape, dtype, False)
    return n * jnp.sqrt(half_df / g)


def t(key, df, shape=None, dtype=None):
    """Student's t floats with ``df`` degrees of freedom."""
    key = _check_key("t", key)
    dtype = _float_dtype("t", dtype)
    return _t(key, df, _param_shape("t", shape, df), dtype)


@jit(static_argnums=(2, 3))
def _chisquare(key, df, shape, dtype):
    half_df = lax.div(_to_dtype(df, dtype), np.array(2, dtype)[()])
    log_g = _gamma(key, half_df, shape, dtype, True)
    return lax.mul(jnp.exp(log_g), np.array(2, dtype)[()])


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square floats with ``df`` degrees of freedom (twice a Gamma(df / 2))."""
    key = _check_key("chisquare", key)
    dtype = _float_dtype("chisquare", dtype)
    return _chisquare(key, df, _param_shape("chisquare", shape, df), dtype)


@jit(static_argnums=(3, 4))
def _f(key, dfnum, dfden, shape, dtype):
    dfden, dfnum = _to_dtype(dfden, dtype), _to_dtype(dfnum, dtype)
    key_den, key_num = _split2(key)
    num = lax.div(_chisquare(key_num, dfnum, shape, dtype), dfnum)
    den = lax.div(_chisquare(key_den, dfden, shape, dtype), dfden)
    return lax.div(num, den)


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distributed floats: a ratio of scaled chi-squares."""
    key = _check_key("f", key)
    dtype = _float_dtype("f", dtype)
    return _f(key, dfnum, dfden, _param_shape("f", shape, dfnum, dfden), dtype)


@jit(static_argnums=(2, 3))
def _generalized_normal(key, p, shape, dtype):
    k_gamma, k_sign = _split2(key)
    g = _gamma(k_gamma, 1 / jnp.asarray(p), shape, dtype, False)
    r = _rademacher(k_sign, shape, dtype)
    return r * g ** (1 / jnp.asarray(p))


def generalized_normal(key, p, shape=(), dtype=None):
    """Generalised normal floats with shape parameter ``p`` (density ~ exp(-|x|**p))."""
    key = _check_key("generalized_normal", key)
    dtype = _float_dtype("generalized_normal", dtype)
    return _generalized_normal(key, p, _canon_shape(shape, "generalized_normal"), dtype)


@jit(static_argnums=(2, 3, 4))
def _ball(key, p, d, shape, dtype):
    k1, k2 = _split2(key)
    g = _generalized_normal(k1, p, (*shape, d), dtype)
    e = _exponential(k2, shape, dtype)
    return g / (((jnp.abs(g) ** p).sum(-1) + e) ** (1 / jnp.asarray(p)))[..., None]


def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniformly distributed in the unit ``p``-norm ball of dimension ``d``."""
    key = _check_key("ball", key)
    dtype = _float_dtype("ball", dtype)
    if isinstance(d, Tracer) or not isinstance(d, (int, np.integer)) or d < 0:
        raise TypeError(f"ball: d must be a non-negative concrete int, got {d!r}")
    return _ball(key, p, int(d), _canon_shape(shape, "ball"), dtype)


# --- closed-form transforms of uniforms and normals ------------------------------------------

@jit(static_argnums=(2, 3))
def _pareto(key, b, shape, dtype):
    b = _to_dtype(b, dtype)
    return lax.exp(_exponential(key, shape, dtype) / b)


def pareto(key, b, shape=None, dtype=None):
    """Pareto(b) floats on [1, inf): ``exp(e / b)`` with ``e`` exponential."""
    key = _check_key("pareto", key)
    dtype = _float_dtype("pareto", dtype)
    return _pareto(key, b, _param_shape("pareto", shape, b), dtype)


@jit(static_argnums=(3, 4))
def _weibull_min(key, scale, concentration, shape, dtype):
    u = _uniform_impl(key, 0, 1, shape, dtype)
    return jnp.power(-jnp.log1p(-u), 1.0 / jnp.asarray(concentration)) * scale


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull floats, by inverting the CDF."""
    key = _check_key("weibull_min", key)
    dtype = _float_dtype("weibull_min", dtype)
    return _weibull_min(key, scale, concentration, _canon_shape(shape, "weibull_min"), dtype)


@jit(static_argnums=(1, 2))
def _maxwell(key, shape, dtype):
    z = _normal_real(key, shape + (3,), dtype)
    return jnp.sqrt(jnp.sum(z * z, axis=-1))   # the 2-norm, as jnp.linalg.norm computes it


def maxwell(key, shape=(), dtype=None):
    """Maxwell floats: the norm of a 3-d standard normal vector."""
    key = _check_key("maxwell", key)
    dtype = _float_dtype("maxwell", dtype)
    return _maxwell(key, _canon_shape(shape, "maxwell"), dtype)


@jit(static_argnums=(3, 4))
def _double_sided_maxwell(key, loc, scale, shape, dtype):
    params_shape = tuple(np.broadcast_shapes(_shape_of(loc), _shape_of(scale)))
    shape = (shape or params_shape) + params_shape
    maxwell_key, sign_key = _split2(key)
    m = _maxwell(maxwell_key, shape, dtype)
    sign = _rademacher(sign_key, shape, dtype)
    return sign * m * scale + loc


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Maxwell floats with a random sign, scaled by ``scale`` and shifted by ``loc``."""
    key = _check_key("double_sided_maxwell", key)
    dtype = _float_dtype("double_sided_maxwell", dtype)
    return _double_sided_maxwell(key, loc, scale, _canon_shape(shape, "double_sided_maxwell"),
                                 dtype)


@jit(static_argnums=(2, 3))
def _rayleigh(key, scale, shape, dtype):
    u = _uniform_impl(key, 0., 1., shape, dtype)
    scale = jnp.broadcast_to(_to_dtype(scale, dtype), shape)
    return lax.mul(scale, lax.sqrt(lax.mul(lax.log(u), np.array(-2, dtype)[()])))


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh floats: ``scale * sqrt(-2 log u)``."""
    key = _check_key("rayleigh", key)
    dtype = _float_dtype("rayleigh", dtype)
    return _rayleigh(key, scale, _param_shape("rayleigh", shape, scale), dtype)


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


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) floats with the given ``mean`` and unit shape."""
    key = _check_key("wald", key)
    dtype = _float_dtype("wald", dtype)
    return _wald(key, mean, _param_shape("wald", shape, mean), dtype)


@jit(static_argnums=(2, 3))
def _lognormal(key, sigma, shape, dtype):
    return lax.exp(_normal_real(key, shape, dtype) * _to_dtype(sigma, dtype))


def lognormal(key, sigma=np.float32(1), shape=None, dtype=None):
    """``exp(sigma * n)`` with ``n`` standard normal."""
    key = _check_key("lognormal", key)
    dtype = _float_dtype("lognormal", dtype)
    return _lognormal(key, sigma, _param_shape("lognormal", shape, sigma), dtype)


@jit(static_argnums=(4, 5))
def _triangular(key, left, mode, right, shape, dtype):
    left, mode, right = (jnp.broadcast_to(_to_dtype(v, dtype), shape)
                         for v in (left, mode, right))
    fc = (mode - left) / (right - left)
    u = _uniform_impl(key, 0., 1., shape, dtype)
    below = left + lax.sqrt(u * (right - left) * (mode - left))
    above = right - lax.sqrt((1 - u) * (right - left) * (right - mode))
    return lax.select(u < fc, below, above)


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular floats on [left, right] with peak at ``mode`` (inverse CDF)."""
    key = _check_key("triangular", key)
    dtype = _float_dtype("triangular", dtype)
    return _triangular(key, left, mode, right,
                       _param_shape("triangular", shape, left, mode, right), dtype)


@jit(static_argnums=(2, 3))
def _geometric(key, p, shape, dtype):
    u = _uniform_impl(key, 0., 1., shape, p.dtype)
    u = jnp.where(u == 0, 1, u)   # JAX maps u = 0 to 1 to keep log(u) finite
    log_q = jnp.broadcast_to(lax.log1p(lax.neg(p)), shape)
    return jnp.astype(lax.floor(lax.div(lax.log(u), log_q)) + 1, dtype)


def geometric(key, p, shape=None, dtype=None):
    """Number of Bernoulli(p) trials up to and including the first success (ints >= 1)."""
    key = _check_key("geometric", key)
    dtype = _canon_dtype(dtype, int)
    if not _dt.is_int(dtype):
        raise ValueError(f"dtype argument to `geometric` must be an int dtype, got {dtype}")
    shape = _param_shape("geometric", shape, p)
    p = jnp.asarray(p)
    if not _dt.is_inexact(p.dtype):
        p = jnp.astype(p, _dt.default_float())
    return _geometric(key, p, shape, dtype)


# --- Poisson and binomial: rejection loops over the whole sample --------------------------------

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


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) integers: Knuth's method for lam < 10, transformed rejection above."""
    key = _check_key("poisson", key)
    dtype = _canon_dtype(dtype, int)
    if not _dt.is_int(dtype):
        raise ValueError(f"dtype argument to `poisson` must be an int dtype, got {dtype}")
    shape = _shape_of(lam) if shape is None else _canon_shape(shape, "poisson")
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


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) counts, as floats (inversion for small n * p, BTRS above)."""
    key = _check_key("binomial", key)
    dtype = _float_dtype("binomial", dtype)
    shape = _param_shape("binomial", shape, n, p)
    p = jnp.asarray(p)
    if not _dt.is_inexact(p.dtype):
        p = jnp.astype(p, _dt.default_float())
    return _binomial(key, n, p, shape, dtype)


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


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Normal vectors with the given ``mean`` (..., n) and covariance ``cov`` (..., n, n)."""
    key = _check_key("multivariate_normal", key)
    dtype = _float_dtype("multivariate_normal", dtype)
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError(f"multivariate_normal: method must be one of 'svd', 'eigh' or "
                         f"'cholesky', got {method!r}")
    mean, cov = _to_dtype(mean, dtype), _to_dtype(cov, dtype)
    if mean.ndim < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got {mean.ndim}")
    if cov.ndim < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got {cov.ndim}")
    n = mean.shape[-1]
    if tuple(cov.shape[-2:]) != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, "
                         f"but got cov.shape == {tuple(cov.shape)}")
    batch = (tuple(mean.shape[:-1]), tuple(cov.shape[:-2]))
    if shape is None:
        shape = tuple(np.broadcast_shapes(*batch))
    else:
        shape = _canon_shape(shape, "multivariate_normal")
        _check_shape("multivariate_normal", shape, *batch)
    return _multivariate_normal(key, mean, cov, shape, dtype, method)
