"""``lax.rng_bit_generator`` (the ``rng_bit_generator`` meta-operator, XLA's
RngBitGenerator): bits and new keys equal JAX's for every dtype and algorithm, eagerly
and under jit; vmap over a batch of keys follows JAX's rule; bad input is named."""
import jax
import numpy as np
import pytest

import xform
from xform import lax

KEY = np.array([1, 2, 3, 4], np.uint32)


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
@pytest.mark.parametrize("alg", list(lax.RandomAlgorithm))
def test_bits_and_keys_equal_jax(dtype, alg):
    want = jax.lax.rng_bit_generator(KEY, (3, 5), dtype, jax.lax.RandomAlgorithm(int(alg)))
    for got in (lax.rng_bit_generator(KEY, (3, 5), dtype, alg),
                xform.jit(lambda k: lax.rng_bit_generator(k, (3, 5), dtype, alg))(KEY)):
        for g, w in zip(got, want):
            _same(g, w)


def test_key_chain_and_uint64_under_x64():
    k1, b1 = lax.rng_bit_generator(KEY, (4,))
    k2, b2 = lax.rng_bit_generator(k1, (4,))
    j1, c1 = jax.lax.rng_bit_generator(KEY, (4,))
    _same(b2, jax.lax.rng_bit_generator(j1, (4,))[1])
    assert not np.array_equal(np.asarray(b1), np.asarray(b2))
    with jax.enable_x64(True):
        xform.config.update("jax_enable_x64", True)
        try:
            _same(lax.rng_bit_generator(KEY, (3,), np.uint64)[1],
                  jax.lax.rng_bit_generator(KEY, (3,), np.uint64)[1])
        finally:
            xform.config.update("jax_enable_x64", False)


def test_vmap_over_keys_follows_jax():
    keys = np.stack([KEY, KEY + 1, KEY + 7])
    got = xform.vmap(lambda k: lax.rng_bit_generator(k, (2, 3)))(keys)
    want = jax.vmap(lambda k: jax.lax.rng_bit_generator(k, (2, 3)))(keys)
    for g, w in zip(got, want):
        _same(g, w)


def test_bits_are_constants_to_grad():
    f = lambda x: (x * lax.convert_element_type(lax.rng_bit_generator(KEY, (3,))[1],
                                                np.float32)).sum()
    bits = np.asarray(lax.rng_bit_generator(KEY, (3,))[1]).astype(np.float32)
    np.testing.assert_allclose(np.asarray(xform.grad(f)(np.ones(3, np.float32))), bits)


def test_bad_input_is_named():
    with pytest.raises(TypeError, match=r"rng_bit_generator: the key must be uint32\[4\]"):
        lax.rng_bit_generator(np.array([1, 2], np.uint32), (3,))
    with pytest.raises(TypeError, match="rng_bit_generator: unsupported dtype int32"):
        lax.rng_bit_generator(KEY, (3,), np.int32)
