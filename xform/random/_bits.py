"""Random bits and the integer samplers built directly on them: ``bits``, ``randint``
(JAX's two-word modulus method) and ``permutation`` (rounds of sorting by random bits)."""
from __future__ import annotations

import math

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..api import jit
from ._args import _sampler
from ._keys import _hash_counters, _split2

_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32),
         64: np.dtype(np.uint64)}

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


@_sampler(dtype=np.uint64, kind="unsigned")   # uint64 narrows to uint32 without x64
def bits(key, shape=(), dtype=None):
    """Uniform random bits as unsigned integers (default uint32; uint64 with x64)."""
    return _random_bits_jit(key, dtype.itemsize * 8, shape)


def _convert_and_clip_integer(val, dtype):
    lo = max(int(_dt.iinfo(dtype).min), int(_dt.iinfo(val.dtype).min))
    hi = min(int(_dt.iinfo(dtype).max), int(_dt.iinfo(val.dtype).max))
    val = jnp.minimum(jnp.maximum(val, np.array(lo, val.dtype)[()]), np.array(hi, val.dtype)[()])
    return jnp.astype(val, dtype)


@jit(static_argnums=(3, 4))
def _randint(key, minval, maxval, shape, dtype):
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


@_sampler(dtype=int, kind="integer", batch=("minval", "maxval"))
def randint(key, shape, minval, maxval, dtype=None):
    """Integers in ``[minval, maxval)`` (JAX's two-word modulus method, same bits)."""
    info = _dt.iinfo(dtype)
    sdt = dtype
    if info.bits < 32:
        sdt = np.dtype(np.int32)
        minval = jnp.clip(jnp.astype(jnp.asarray(minval), sdt), int(info.min), int(info.max))
        maxval = jnp.clip(jnp.astype(jnp.asarray(maxval), sdt), int(info.min),
                          int(info.max) + 1)
    out = _randint(key, minval, maxval, shape, sdt)
    return out if out.dtype == dtype else jnp.astype(out, dtype)


def _shuffle(key, x, axis):
    n = int(np.prod(x.shape))
    rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        key, sub = _split2(key)
        sort_keys = _random_bits(sub, 32, tuple(x.shape))
        _, x = lax.sort_key_val(sort_keys, x, axis)
    return x


_shuffle_jit = jit(_shuffle, static_argnums=(2,))


@_sampler()
def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``arange(x)`` (int ``x``) or of ``x`` along ``axis``."""
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
