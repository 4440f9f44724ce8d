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
           "logistic", "cauchy", "rademacher", "threefry_2x32", "threefry2x32"]

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
        out = np.broadcast_shapes(shape, *param_shapes)
        if tuple(out) != tuple(shape):
            raise ValueError(
                f"{name} parameter shapes must be broadcast-compatible with shape argument, "
                f"and the result of broadcasting the shapes must equal the shape argument, "
                f"but got result {tuple(out)} for shape argument {tuple(shape)}.")


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
