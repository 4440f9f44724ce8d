"""xform.random against jax.random: the same bits for the same seeds and call sequences.

Every comparison is exact (``assert_array_equal`` on the values, plus shape and dtype):
both libraries hash the same counters with Threefry-2x32 and map bits to floats with
the same operations, which XLA compiles to the same code.  Shapes come from a small
fixed pool (each new shape is an XLA compile in both libraries); seeds and call
sequences are drawn by hypothesis and are runtime values, so they cost no compile.
"""
import jax
import jax.numpy as jnp_ref
import jax.random as jr
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import xform
import xform.numpy as xnp
import xform.random as xr
from oracle import assert_exact as _assert_exact


def assert_exact(got, want, where=""):
    return _assert_exact(got, want, where, bf16_bits=True)   # random bits are JAX's


BF16 = np.dtype(ml_dtypes.bfloat16)
SEEDS = st.integers(min_value=-2 ** 31, max_value=2 ** 31 - 1)
U32 = st.integers(min_value=0, max_value=2 ** 32 - 1)


def keys(seed):
    return xr.PRNGKey(seed), jr.PRNGKey(seed)


# --- keys ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, -1, 42, 2 ** 31 - 1, -2 ** 31, 2 ** 31, 2 ** 32 + 5,
                                  2 ** 40 + 7, -2 ** 40, 2 ** 63 - 1, np.uint32(5), np.int8(-3),
                                  np.int64(2 ** 40 + 1), np.uint64(2 ** 64 - 1)])
def test_prng_key_seeds(seed):
    assert_exact(xr.PRNGKey(seed), jr.PRNGKey(seed), f"PRNGKey({seed!r})")
    assert_exact(xr.key(seed), jr.key_data(jr.key(seed)), f"key({seed!r})")


@given(st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1))
def test_prng_key_any_int(seed):
    assert_exact(xr.PRNGKey(seed), jr.PRNGKey(seed), f"PRNGKey({seed})")


def test_key_api():
    k = xr.key(3)
    assert k.shape == (2,) and k.dtype == np.uint32
    assert xr.key_data(k) is k
    assert_exact(xr.wrap_key_data(xr.key_data(k)), jr.key_data(jr.key(3)))
    assert xr.key_impl(k) == "threefry2x32"
    ks = xr.split(k, 4)
    assert xr.key_data(ks).shape == (4, 2)
    with pytest.raises(ValueError, match="single key"):
        xr.normal(ks, (3,))
    with pytest.raises(TypeError, match="uint32"):
        xr.normal(xnp.zeros(2, xnp.int32), (3,))
    with pytest.raises(TypeError, match="integer"):
        xr.PRNGKey(1.5)
    with pytest.raises(ValueError, match="float dtype"):
        xr.uniform(k, (2,), xnp.int32)
    with pytest.raises(TypeError, match="integer dtypes"):
        xr.randint(k, (2,), 0, 3, xnp.float32)
    with pytest.raises(ValueError, match="population"):
        xr.choice(k, 3, (4,), replace=False)
    with pytest.raises(ValueError, match="broadcast"):
        xr.truncated_normal(k, xnp.zeros(3), 1.0, (2,))


def test_traced_seed_and_data():
    f = xform.jit(lambda s, d: xr.fold_in(xr.PRNGKey(s), d))
    g = jax.jit(lambda s, d: jr.fold_in(jr.PRNGKey(s), d))
    for s, d in [(0, 0), (-7, 12345), (2 ** 31 - 1, 2 ** 31 - 1)]:
        assert_exact(f(s, d), g(s, d), f"jit PRNGKey({s}) fold_in {d}")
    assert_exact(xr.fold_in(xr.PRNGKey(1), np.uint32(2 ** 32 - 1)),
                 jr.fold_in(jr.PRNGKey(1), np.uint32(2 ** 32 - 1)))


# --- split / fold_in call sequences ----------------------------------------------------------

OPS = st.lists(st.one_of(
    st.tuples(st.just("split"), st.sampled_from([2, 3]), st.integers(0, 2)),
    st.tuples(st.just("split22"), st.integers(0, 1), st.integers(0, 1)),
    st.tuples(st.just("fold"), U32, st.just(0)),
), min_size=1, max_size=6)


@given(SEEDS, OPS)
def test_call_sequences(seed, ops):
    xk, jk = keys(seed)
    for op, a, b in ops:
        if op == "split":
            xs, js = xr.split(xk, a), jr.split(jk, a)
            assert_exact(xs, js, f"split({a})")
            xk, jk = xs[b % a], js[b % a]
        elif op == "split22":
            xs, js = xr.split(xk, (2, 2)), jr.split(jk, (2, 2))
            assert_exact(xs, js, "split((2, 2))")
            xk, jk = xs[a, b], js[a, b]
        else:
            d = np.uint32(a)
            xk, jk = xr.fold_in(xk, d), jr.fold_in(jk, d)
            assert_exact(xk, jk, f"fold_in({a})")
    assert_exact(xr.bits(xk, (7,)), jr.bits(jk, (7,)), "bits after sequence")


# --- samplers ----------------------------------------------------------------------------------

_LOGITS = np.array([[0.5, -1.0, 2.0, 0.0, -3.0],
                    [1.0, 1.0, 1.0, 1.0, 1.0],
                    [-2.0, 0.3, 0.1, 4.0, -np.inf]], np.float32)
_P = np.array([0.1, 0.0, 0.3, 0.25, 0.35], np.float32)
_X = np.arange(12, dtype=np.int32).reshape(3, 4)
_P_BERN = np.linspace(0, 1, 7, dtype=np.float32)

# name -> fn(random_module, key): the same call for both libraries
SAMPLERS = {
    "bits u32": lambda r, k: r.bits(k, (3, 4)),
    "bits u8": lambda r, k: r.bits(k, (7,), np.uint8),
    "bits u16": lambda r, k: r.bits(k, (7,), np.uint16),
    "bits scalar": lambda r, k: r.bits(k),
    "uniform": lambda r, k: r.uniform(k, (3, 4)),
    "uniform range": lambda r, k: r.uniform(k, (7,), minval=-3.0, maxval=2.5),
    "uniform bf16": lambda r, k: r.uniform(k, (7,), BF16),
    "uniform f16": lambda r, k: r.uniform(k, (7,), np.float16),
    "normal": lambda r, k: r.normal(k, (3, 4)),
    "normal bf16": lambda r, k: r.normal(k, (7,), BF16),
    "normal c64": lambda r, k: r.normal(k, (7,), np.complex64),
    "randint": lambda r, k: r.randint(k, (3, 4), 0, 10),
    "randint full": lambda r, k: r.randint(k, (7,), -2 ** 31, 2 ** 31 - 1),
    "randint int8": lambda r, k: r.randint(k, (7,), -5, 300, np.int8),
    "randint uint8": lambda r, k: r.randint(k, (7,), 0, 256, np.uint8),
    "randint arrays": lambda r, k: r.randint(k, (3, 4), np.array([0, 5, 10, -3]), 20),
    "bernoulli": lambda r, k: r.bernoulli(k, 0.3, (7,)),
    "bernoulli high": lambda r, k: r.bernoulli(k, 0.3, (7,), mode="high"),
    "bernoulli p": lambda r, k: r.bernoulli(k, _P_BERN),
    "truncated_normal": lambda r, k: r.truncated_normal(k, -1.0, 2.0, (7,)),
    "truncated_normal bcast": lambda r, k: r.truncated_normal(
        k, np.array([-1.0, 0.5, -3.0], np.float32), 2.0),
    "gumbel": lambda r, k: r.gumbel(k, (7,)),
    "gumbel high": lambda r, k: r.gumbel(k, (7,), mode="high"),
    "exponential": lambda r, k: r.exponential(k, (7,)),
    "laplace": lambda r, k: r.laplace(k, (7,)),
    "logistic": lambda r, k: r.logistic(k, (7,)),
    "cauchy": lambda r, k: r.cauchy(k, (7,)),
    "rademacher": lambda r, k: r.rademacher(k, (7,)),
    "categorical": lambda r, k: r.categorical(k, _LOGITS),
    "categorical axis0": lambda r, k: r.categorical(k, _LOGITS, axis=0),
    "categorical shape": lambda r, k: r.categorical(k, _LOGITS, shape=(2, 3)),
    "categorical no replace": lambda r, k: r.categorical(k, _LOGITS, shape=(2, 3),
                                                         replace=False),
    "permutation int": lambda r, k: r.permutation(k, 10),
    "permutation axis1": lambda r, k: r.permutation(k, _X, axis=1),
    "permutation independent": lambda r, k: r.permutation(k, _X, axis=1, independent=True),
    "choice": lambda r, k: r.choice(k, 10, (5,)),
    "choice no replace": lambda r, k: r.choice(k, 10, (5,), replace=False),
    "choice p": lambda r, k: r.choice(k, 5, (7,), p=_P),
    "choice p no replace": lambda r, k: r.choice(k, 5, (3,), replace=False, p=_P),
    "choice array axis1": lambda r, k: r.choice(k, _X, (2,), axis=1),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
@settings(max_examples=6)
@given(seed=SEEDS)
def test_sampler_exact(name, seed):
    fn = SAMPLERS[name]
    xk, jk = keys(seed)
    assert_exact(fn(xr, xk), fn(jr, jk), f"{name}, seed {seed}")


# --- under jit -------------------------------------------------------------------------------

def _program(r, key, data):
    k1, k2, k3 = r.split(key, 3)
    k4 = r.fold_in(k3, data)
    return {
        "split": r.split(k1, (2, 2)),
        "bits": r.bits(k2, (3, 4)),
        "uniform": r.uniform(k1, (3, 4), minval=-1.0, maxval=4.0),
        "normal": r.normal(k4, (3, 4)),
        "randint": r.randint(k2, (3, 4), -7, 100),
        "truncated_normal": r.truncated_normal(k3, -1.5, 0.5, (3, 4)),
        "bernoulli": r.bernoulli(k4, 0.7, (3, 4)),
        "gumbel": r.gumbel(k1, (3, 4)),
        "exponential": r.exponential(k2, (3, 4)),
        "categorical": r.categorical(k3, _LOGITS),
        "permutation": r.permutation(k4, 10),
        "choice p": r.choice(k1, 5, (4,), p=_P),
    }


_XPROG = xform.jit(lambda k, d: _program(xr, k, d))
_JPROG = jax.jit(lambda k, d: _program(jr, k, d))


@settings(max_examples=10)
@given(SEEDS, U32)
def test_under_jit(seed, data):
    xk, jk = keys(seed)
    d = np.uint32(data)
    assert_exact(_XPROG(xk, d), _JPROG(jk, d), f"jit program, seed {seed}")


def test_jit_matches_eager():
    xk = xr.PRNGKey(11)
    eager = _program(xr, xk, np.uint32(5))
    jitted = _XPROG(xk, np.uint32(5))
    for name in ("split", "bits", "uniform", "normal", "randint", "categorical", "permutation"):
        np.testing.assert_array_equal(np.asarray(eager[name]), np.asarray(jitted[name]), name)


# --- under vmap (batched keys) -----------------------------------------------------------------

def _vprog(r, k):
    a, b = r.split(k)
    return r.normal(a, (3,)), r.randint(b, (3,), 0, 9), r.split(k), r.uniform(k, (2,))


@settings(max_examples=5)
@given(SEEDS)
def test_vmap_batched_keys(seed):
    xk, jk = keys(seed)
    xks, jks = xr.split(xk, 4), jr.split(jk, 4)
    assert_exact(_jit_once("vprog", lambda: xform.jit(xform.vmap(lambda k: _vprog(xr, k))))(xks),
                 _jit_once("jvprog", lambda: jax.jit(jax.vmap(lambda k: _vprog(jr, k))))(jks),
                 "vmap over keys")
    data = np.arange(4, dtype=np.uint32)
    assert_exact(_jit_once("vfold", lambda: xform.jit(xform.vmap(xr.fold_in, (None, 0))))(xk, data),
                 _jit_once("jvfold", lambda: jax.jit(jax.vmap(jr.fold_in, in_axes=(None, 0))))(
                     jk, data),
                 "vmap fold_in over data")


_JITS = {}


def _jit_once(name, make):
    if name not in _JITS:
        _JITS[name] = make()
    return _JITS[name]


# --- threefry itself ------------------------------------------------------------------------

@given(st.tuples(U32, U32), st.lists(U32, min_size=5, max_size=5))
def test_threefry_2x32(key, count):
    from jax._src.random.threefry2x32 import threefry_2x32 as ref
    k = np.array(key, np.uint32)
    c = np.array(count, np.uint32)
    assert_exact(xr.threefry_2x32(xnp.asarray(k), xnp.asarray(c)),
                 ref(jnp_ref.asarray(k), jnp_ref.asarray(c)), "threefry_2x32 (odd length)")


def test_key_dtype_is_the_dtype_of_keys():
    assert xform.random.key_dtype() == xform.random.key(0).dtype == np.uint32
    assert xform.random.key_dtype("threefry2x32") == np.uint32
    with pytest.raises(NotImplementedError, match="only 'threefry2x32'"):
        xform.random.key_dtype("rbg")
