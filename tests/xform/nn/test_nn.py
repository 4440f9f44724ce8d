"""xform.nn against jax.nn: activations, softmax & co., one_hot, standardize, initializers.

Values are compared exactly (``assert_array_equal``, plus shape and dtype): each
function is the same sequence of XLA operations as JAX's, compiled the same way
(jitted where JAX's is jitted, op by op where JAX's runs op by op).  Gradients are
compared with a tolerance (autodiff rules may order the arithmetic differently).
Inputs are drawn by hypothesis from a fixed pool of shapes (each shape is a compile).
"""
import jax
import jax.nn as jnn
import jax.nn.initializers as jinit
import jax.numpy as jnp_ref
import jax.random as jr
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import xform
import xform.nn as xnn
import xform.nn.initializers as xinit
import xform.numpy as xnp
import xform.random as xr
from oracle import assert_exact

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BF16 = np.dtype(ml_dtypes.bfloat16)
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 6.0, 3.0, -3.0, 1e-30, 80.0, -80.0, 100.0, -100.0,
                    np.inf, -np.inf, np.nan], np.float32)


def both(x):
    """The same values as (xform array, jax array)."""
    x = np.asarray(x)
    if x.dtype == BF16:
        return xnp.astype(xnp.asarray(x.astype(np.float32)), BF16), jnp_ref.asarray(x)
    return xnp.asarray(x), jnp_ref.asarray(x)


VEC = hnp.arrays(np.float32, (16,), elements=st.floats(-30, 30, width=32))
MAT = hnp.arrays(np.float32, (3, 6), elements=st.floats(-20, 20, width=32))

UNARY = ["relu", "relu6", "sigmoid", "softplus", "silu", "swish", "log_sigmoid", "elu",
         "leaky_relu", "hard_tanh", "celu", "selu", "gelu", "tanh", "soft_sign", "mish",
         "hard_sigmoid", "hard_silu", "sparse_plus", "sparse_sigmoid", "squareplus",
         "identity"]


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=10)
@given(x=VEC)
def test_unary_f32(name, x):
    x = np.concatenate([x, SPECIAL])
    xa, ja = both(x)
    assert_exact(getattr(xnn, name)(xa), getattr(jnn, name)(ja), f"{name}(f32)")


@pytest.mark.parametrize("name", ["relu", "sigmoid", "softplus", "silu", "gelu", "elu",
                                  "log_sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", [BF16, np.dtype(np.float16)])
def test_unary_half(name, dtype):
    x = np.concatenate([np.linspace(-8, 8, 33, dtype=np.float32), SPECIAL]).astype(dtype)
    xa, ja = both(x)
    assert_exact(getattr(xnn, name)(xa), getattr(jnn, name)(ja), f"{name}({dtype})")


@pytest.mark.parametrize("name", ["relu", "relu6", "hard_tanh", "leaky_relu", "softplus",
                                  "gelu", "elu"])
def test_unary_int(name):
    xa, ja = both(np.arange(-8, 9, dtype=np.int32))
    assert_exact(getattr(xnn, name)(xa), getattr(jnn, name)(ja), f"{name}(int32)")


@settings(max_examples=10)
@given(x=VEC, alpha=st.floats(0.125, 3.0, width=32))
def test_parameterised(x, alpha):
    xa, ja = both(x)
    assert_exact(xnn.elu(xa, alpha), jnn.elu(ja, alpha), "elu alpha")
    assert_exact(xnn.celu(xa, alpha), jnn.celu(ja, alpha), "celu alpha")
    assert_exact(xnn.leaky_relu(xa, alpha), jnn.leaky_relu(ja, alpha), "leaky_relu slope")
    assert_exact(xnn.gelu(xa, approximate=False), jnn.gelu(ja, approximate=False), "gelu exact")
    assert_exact(xnn.gelu(xa, False), jnn.gelu(ja, False), "gelu exact positional")


@settings(max_examples=10)
@given(x=MAT)
def test_glu(x):
    xa, ja = both(x)
    assert_exact(xnn.glu(xa), jnn.glu(ja), "glu")
    assert_exact(xnn.glu(xa.T, axis=0), jnn.glu(ja.T, axis=0), "glu axis 0")


AXES = [-1, 0, None, (0, 1)]


@pytest.mark.parametrize("axis", AXES)
@settings(max_examples=5)
@given(x=MAT)
def test_softmax_family(axis, x):
    xa, ja = both(x)
    assert_exact(xnn.softmax(xa, axis=axis), jnn.softmax(ja, axis=axis), "softmax")
    assert_exact(xnn.log_softmax(xa, axis=axis), jnn.log_softmax(ja, axis=axis), "log_softmax")
    assert_exact(xnn.logsumexp(xa, axis=axis), jnn.logsumexp(ja, axis=axis), "logsumexp")
    assert_exact(xnn.logsumexp(xa, axis=axis, keepdims=True),
                 jnn.logsumexp(ja, axis=axis, keepdims=True), "logsumexp keepdims")
    assert_exact(xnn.standardize(xa, axis=axis), jnn.standardize(ja, axis=axis), "standardize")


@settings(max_examples=10)
@given(x=MAT, mask=hnp.arrays(np.bool_, (3, 6)))
def test_where_and_b(x, mask):
    mask[:, 0] = True   # every row keeps one entry
    xa, ja = both(x)
    assert_exact(xnn.softmax(xa, where=mask), jnn.softmax(ja, where=mask), "softmax where")
    assert_exact(xnn.log_softmax(xa, where=mask), jnn.log_softmax(ja, where=mask),
                 "log_softmax where")
    assert_exact(xnn.logsumexp(xa, axis=1, where=mask), jnn.logsumexp(ja, axis=1, where=mask),
                 "logsumexp where")
    assert_exact(xnn.standardize(xa, where=mask), jnn.standardize(ja, where=mask),
                 "standardize where")
    assert_exact(xnn.standardize(xa, algorithm="stable"), jnn.standardize(ja, algorithm="stable"),
                 "standardize stable")
    # logsumexp with b= runs op by op in JAX: compare both eagerly and both jitted
    assert_exact(xnn.logsumexp(xa, axis=1, b=xa, return_sign=True),
                 jnn.logsumexp(ja, axis=1, b=ja, return_sign=True), "logsumexp b, sign")
    assert_exact(xnn.logsumexp(xa, axis=1, b=xa), jnn.logsumexp(ja, axis=1, b=ja), "logsumexp b")
    assert_exact(_LSE_B(xa), _JLSE_B(ja), "logsumexp b under jit")


_LSE_B = xform.jit(lambda a: xnn.logsumexp(a, axis=1, b=a))
_JLSE_B = jax.jit(lambda a: jnn.logsumexp(a, axis=1, b=a))


def test_one_hot():
    idx = np.array([[0, 2, 5], [-1, 3, 1]], np.int32)
    xa, ja = both(idx)
    assert_exact(xnn.one_hot(xa, 4), jnn.one_hot(ja, 4), "one_hot")
    assert_exact(xnn.one_hot(xa, 4, axis=0, dtype=np.int32),
                 jnn.one_hot(ja, 4, axis=0, dtype=np.int32), "one_hot axis 0 int32")
    assert_exact(xnn.one_hot(xa, 3, axis=1, dtype=xnp.bool_),
                 jnn.one_hot(ja, 3, axis=1, dtype=np.bool_), "one_hot axis 1 bool")


def test_jit_composes():
    x = np.linspace(-5, 5, 16, dtype=np.float32)
    xa, ja = both(x)

    def f(nn, v):
        return nn.gelu(v) + nn.softplus(v) * nn.sigmoid(v) - nn.relu(v), nn.softmax(v)
    assert_exact(xform.jit(lambda v: f(xnn, v))(xa), jax.jit(lambda v: f(jnn, v))(ja),
                 "jit of a composite")


# --- gradients -------------------------------------------------------------------------------

GRAD = ["relu", "relu6", "sigmoid", "softplus", "silu", "log_sigmoid", "elu", "leaky_relu",
        "celu", "selu", "gelu", "tanh", "mish", "hard_tanh"]


@pytest.mark.parametrize("name", GRAD)
def test_gradients(name):
    x = np.concatenate([np.linspace(-7, 7, 29, dtype=np.float32), [0.0, 6.0, 1.0, -1.0]])
    x = x.astype(np.float32)
    xa, ja = both(x)
    g = xform.grad(lambda v: xnp.sum(getattr(xnn, name)(v)))(xa)
    w = jax.grad(lambda v: jnp_ref.sum(getattr(jnn, name)(v)))(ja)
    np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-6, atol=2e-7, err_msg=name)


def test_softmax_gradients():
    x = np.linspace(-3, 3, 18, dtype=np.float32).reshape(3, 6)
    xa, ja = both(x)
    wts = np.arange(18, dtype=np.float32).reshape(3, 6)
    for name in ("softmax", "log_softmax"):
        g = xform.grad(lambda v: xnp.sum(getattr(xnn, name)(v) * wts))(xa)
        w = jax.grad(lambda v: jnp_ref.sum(getattr(jnn, name)(v) * wts))(ja)
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-5,
                                   err_msg=name)
    g = xform.grad(lambda v: xnp.sum(xnn.logsumexp(v, axis=1)))(xa)
    w = jax.grad(lambda v: jnp_ref.sum(jnn.logsumexp(v, axis=1)))(ja)
    np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)


# --- initializers ------------------------------------------------------------------------------

INITS = {
    "glorot_normal": lambda m: m.glorot_normal(),
    "glorot_uniform": lambda m: m.glorot_uniform(),
    "lecun_normal": lambda m: m.lecun_normal(),
    "lecun_uniform": lambda m: m.lecun_uniform(),
    "he_normal": lambda m: m.he_normal(),
    "he_uniform": lambda m: m.he_uniform(),
    "variance_scaling fan_geo_avg normal": lambda m: m.variance_scaling(0.7, "fan_geo_avg",
                                                                        "normal"),
    "variance_scaling fan_out axes": lambda m: m.variance_scaling(
        1.3, "fan_out", "truncated_normal", in_axis=(0, 1), out_axis=-1),
    "uniform": lambda m: m.uniform(0.3),
    "normal": lambda m: m.normal(0.3),
    "truncated_normal": lambda m: m.truncated_normal(0.3),
    "constant": lambda m: m.constant(-7.0),
}


@pytest.mark.parametrize("name", list(INITS))
@settings(max_examples=5)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_initializers(name, seed):
    shape = (2, 3, 4) if "variance_scaling" in name else (4, 5)
    got = INITS[name](xinit)(xr.PRNGKey(seed), shape)
    want = INITS[name](jinit)(jr.PRNGKey(seed), shape)
    assert_exact(got, want, f"{name}, seed {seed}")


def test_initializers_dtypes():
    k, jk = xr.PRNGKey(3), jr.PRNGKey(3)
    assert_exact(xinit.zeros(k, (2, 3)), jinit.zeros(jk, (2, 3)), "zeros")
    assert_exact(xinit.ones(k, (2, 3), np.int32), jinit.ones(jk, (2, 3), np.int32), "ones int32")
    assert_exact(xinit.he_normal()(k, (4, 5), BF16), jinit.he_normal()(jk, (4, 5), BF16),
                 "he_normal bf16")
    with pytest.raises(ValueError, match="2D"):
        xinit.glorot_normal()(k, (5,))
