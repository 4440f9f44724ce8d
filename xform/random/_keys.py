"""Keys and their derivation: the Threefry-2x32 block function, ``PRNGKey``/``key`` from a
seed, the key-data accessors, ``split`` and ``fold_in`` (the algorithms: see the package
docstring)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..api import jit
from ..core import Array
from ..core import Tracer
from ._args import _U32, _check_key, _sampler


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

    y0, y1, *_ = lax.fori_loop(0, 5, group, (y0, y1, k0, k1, ks2, rot))
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


def key_dtype(impl=None):
    """The dtype of the keys ``key(seed, impl=impl)`` makes: ``uint32`` here, where JAX has
    its opaque ``key<fry>`` (xform keys are their data; docs/differences.md)."""
    _check_impl(impl)
    return _U32


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


@_sampler()
def fold_in(key, data):
    """A new key that is a deterministic function of ``key`` and the 32-bit integer ``data``."""
    if np.ndim(data):
        raise TypeError(f"fold_in accepts a scalar, but was given an array of shape "
                        f"{np.shape(data)} != (). Use xform.vmap for batching.")
    return _fold_in(key, jnp.asarray(data, dtype=_U32))


@jit(static_argnums=(1,))
def _split(key, shape):
    y0, y1 = _hash_counters(key, shape, rolled=True)
    return _stack_last(y0, y1)


@_sampler()
def split(key, num=2):
    """``num`` new keys (an int or a shape), stacked on a leading axis: uint32[*num, 2]."""
    shape = tuple(int(n) for n in num) if isinstance(num, Sequence) else (int(num),)
    return _split(key, shape)


def _split2(key):
    ks = _split(key, (2,))
    return lax.index_in_dim(ks, 0, 0, False), lax.index_in_dim(ks, 1, 0, False)
