"""``xform.nn``: activation functions, softmax & co., ``one_hot``, ``standardize`` and
``initializers``, as in ``jax.nn``.

Every function is a composite of ``xform.numpy`` / ``xform.lax`` operations written as
JAX writes them (same operations in the same order, same constants), and is wrapped in
``jit`` exactly where JAX's is (``gelu`` and ``logsumexp`` run op by op
when called eagerly, as in JAX; XLA may round a fused program differently from the same
ops run one at a time): results are the same values as ``jax.nn``'s.  Where JAX uses a ``custom_jvp`` only to pin the derivative
at a kink (``relu``, ``relu6``), the composite selects the linear branch explicitly and
takes the clipped branch under ``stop_gradient``: the same values and the same
derivatives, with no custom rule.  ``softplus`` and ``log_sigmoid`` are smooth where
their formula is not, so they share ``logaddexp``'s custom JVP (``numpy._ufuncs``).
"""
from __future__ import annotations

import operator

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..api import custom_jvp, jit
from ..core import Array
from ..core import Tracer
from ..numpy._core import canonicalize_axis as _canonicalize_axis
from ..numpy._ufuncs import log_add_exp
from ..special import logsumexp  # one algorithm for nn and scipy.special (jax.nn.logsumexp)
from . import initializers

__all__ = ["identity", "dot_product_attention", "scaled_matmul", "log1mexp", "relu", "relu6", "gelu", "silu", "swish", "sigmoid", "log_sigmoid",
           "softplus", "soft_sign", "squareplus", "sparse_plus", "sparse_sigmoid", "mish",
           "elu", "leaky_relu", "celu", "selu", "glu", "hard_tanh", "hard_sigmoid",
           "hard_silu", "hard_swish", "tanh", "softmax", "log_softmax", "logsumexp",
           "logmeanexp", "one_hot", "standardize", "normalize", "initializers"]


def _arr(x):
    return x if isinstance(x, (Array, Tracer)) else jnp.asarray(x)


def _inexact(x):
    (x,) = jnp.promote_dtypes_inexact(_arr(x))
    return x


@jit
def identity(x):
    """The identity function."""
    return _arr(x)


@jit
def relu(x):
    """Rectified linear unit ``max(x, 0)``; its derivative at 0 is 0 (as in JAX)."""
    x = _arr(x)
    return jnp.where(x > 0, x, lax.stop_gradient(jnp.maximum(x, 0)))


@jit
def relu6(x):
    """``min(max(x, 0), 6)``; derivative 1 on (0, 6), else 0 (as in JAX)."""
    x = _arr(x)
    y = jnp.minimum(jnp.maximum(x, 0), 6.)
    return jnp.where((x > 0) & (x < 6), jnp.astype(x, y.dtype), lax.stop_gradient(y))


def _logistic(x):
    # the meta-op, as JAX: its lowering writes 1 / (1 + exp(-x)) as JAX's does (the same
    # values), and its JVP y (1 - y) is finite where the composite's exp(-x) overflows
    return lax.logistic(x)


@jit
def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return _logistic(_arr(x))


def _softplus(x):
    x = _inexact(x)
    zero = lax.broadcast_in_dim(np.zeros((), x.dtype)[()], x.shape, ())
    return log_add_exp(x, zero)


@jit
def softplus(x):
    """``log(1 + exp(x))``, computed as ``logaddexp(x, 0)``."""
    return _softplus(x)


@jit
def soft_sign(x):
    x = _arr(x)
    return x / (jnp.abs(x) + 1)


@jit
def squareplus(x, b=4):
    x, b = _arr(x), _arr(b)
    return (x + jnp.sqrt(jnp.square(x) + b)) / 2


@jit
def sparse_plus(x):
    x = _arr(x)
    return jnp.where(x <= -1.0, 0.0, jnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


@jit
def sparse_sigmoid(x):
    return 0.5 * jnp.clip(_arr(x) + 1.0, 0.0, 2.0)


@jit
def silu(x):
    """``x * sigmoid(x)``."""
    x = _arr(x)
    return x * _logistic(x)


swish = silu


@jit
def mish(x):
    x = _arr(x)
    return x * jnp.tanh(_softplus(x))


@custom_jvp
@jit
def log1mexp(x):
    """``log(1 - exp(-x))`` for x > 0, accurate on both sides of log 2 (log of -expm1
    below it, log1p of -exp above), with the derivative 1 / expm1(x) given directly."""
    x = _arr(x)
    return jnp.where(x < np.log(2.0), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


@log1mexp.defjvp
def _log1mexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1mexp(x), t / jnp.expm1(x)


@jit
def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -_softplus(-_arr(x))


def _elu(x, alpha):
    x = _arr(x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.where(x > 0, 0., x)))


@jit
def elu(x, alpha=1.0):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return _elu(x, alpha)


@jit
def leaky_relu(x, negative_slope=1e-2):
    x = _arr(x)
    return jnp.where(x >= 0, x, negative_slope * x)


@jit
def hard_tanh(x):
    x = _arr(x)
    return jnp.where(x > 1, 1, jnp.where(x < -1, -1, x))


@jit
def celu(x, alpha=1.0):
    x = _arr(x)
    return jnp.maximum(x, 0.0) + alpha * jnp.expm1(jnp.minimum(x, 0.0) / alpha)


@jit
def selu(x):
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return scale * _elu(x, alpha)


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit: the tanh approximation, or exact (``erfc``)."""
    x = _inexact(x)
    if approximate:
        c = np.sqrt(2 / np.pi).astype(x.dtype)[()]
        cdf = 0.5 * (1.0 + jnp.tanh(lax.mul(c, x + 0.044715 * lax.integer_pow(x, 3))))
        return x * cdf
    sqrt_half = np.sqrt(0.5).astype(x.dtype)[()]
    return jnp.asarray(0.5 * x * lax.erfc(lax.mul(-x, sqrt_half)), dtype=x.dtype)


@jit(static_argnames=("axis",))
def glu(x, axis: int = -1):
    """Gated linear unit: the first half of ``x`` along ``axis`` times sigmoid of the second."""
    x = _arr(x)
    size = x.shape[_canonicalize_axis(axis, x.ndim, "glu")]
    if size % 2:
        raise ValueError(f"glu: axis size must be divisible by 2, got {size}")
    x1, x2 = jnp.split(x, 2, axis)
    return x1 * _logistic(x2)


@jit
def hard_sigmoid(x):
    return relu6(_arr(x) + 3.) / 6.


@jit
def hard_silu(x):
    x = _arr(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def tanh(x):
    return jnp.tanh(x)


# --- reductions --------------------------------------------------------------------------

def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(operator.index(a) % ndim for a in axis))
    return (operator.index(axis) % ndim,)


def logmeanexp(x, axis=None, where=None, keepdims=False):
    """``log(mean(exp(x)))`` along ``axis``."""
    x = _arr(x)
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    dims = _axes(axis, x.ndim)
    if where is None:
        count = jnp.asarray(np.array(int(np.prod([x.shape[d] for d in dims])), lse.dtype))
    else:
        count = jnp.sum(jnp.broadcast_to(where, x.shape), axis=dims, keepdims=keepdims,
                        dtype=lse.dtype)
    return lse - jnp.log(count)


def _norm_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def log_softmax(x, axis=-1, where=None):
    """``x - logsumexp(x, axis)``, stable."""
    return _log_softmax(_arr(x), _norm_axis(axis), where)


@jit(static_argnums=(1,))
def _log_softmax(x, axis, where):
    dims = _axes(axis, x.ndim)
    x_max = jnp.max(x, dims, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else jnp.where(where, x, -np.inf)
    shifted = x_safe - lax.stop_gradient(x_max)
    lse = jnp.log(jnp.sum(jnp.exp(shifted), dims, where=where, keepdims=True))
    result = shifted - lse
    if where is not None:
        return jnp.where(where, result, -np.inf)
    return result


def softmax(x, axis=-1, where=None):
    """``exp(x) / sum(exp(x), axis)``, stable."""
    return _softmax(_arr(x), _norm_axis(axis), where)


@jit(static_argnums=(1,))
def _softmax(x, axis, where):
    dims = _axes(axis, x.ndim)
    x_max = jnp.max(x, dims, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else jnp.where(where, x, -np.inf)
    unnormalized = jnp.exp(x_safe - lax.stop_gradient(x_max))
    result = unnormalized / jnp.sum(unnormalized, dims, where=where, keepdims=True)
    if where is not None:
        result = jnp.where(where, result, 0)
    return result


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *,
                algorithm="fast"):
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis``."""
    if algorithm not in ("fast", "stable"):
        raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return _standardize(_arr(x), _norm_axis(axis), mean, variance, epsilon, where, algorithm)


@jit(static_argnums=(1, 6))
def _standardize(x, axis, mean, variance, epsilon, where, algorithm):
    dims = _axes(axis, x.ndim)
    if mean is None:
        mean = jnp.mean(x, dims, keepdims=True, where=where)
    if variance is None:
        if algorithm == "stable":
            variance = jnp.mean(jnp.square(jnp.subtract(x, mean)), dims, keepdims=True,
                                where=where)
        else:
            variance = jnp.mean(jnp.square(x), dims, keepdims=True, where=where) - \
                jnp.square(mean)
            variance = jnp.clip(variance, 0)
    return jnp.subtract(x, mean) * lax.rsqrt(variance + epsilon)


normalize = standardize


def one_hot(x, num_classes: int, *, dtype=None, axis=-1):
    """One-hot encoding of the integers ``x`` over ``num_classes`` classes (a new ``axis``)."""
    try:
        num_classes = operator.index(num_classes)
    except TypeError:
        raise TypeError(f"one_hot: num_classes must be a concrete integer, got "
                        f"{num_classes!r}") from None
    x = _arr(x)
    dtype = _dt.default_float() if dtype is None else _dt.canonicalize(np.dtype(dtype))
    return _one_hot(x, num_classes, dtype, operator.index(axis))


@jit(static_argnums=(1, 2, 3))
def _one_hot(x, num_classes, dtype, axis):
    pos = axis % (x.ndim + 1)
    lhs = lax.expand_dims(x, (axis,))
    rhs_shape = [1] * x.ndim
    rhs_shape.insert(pos, num_classes)
    rhs = lax.broadcasted_iota(x.dtype, rhs_shape, pos)
    return jnp.astype(lhs == rhs, dtype)


from . import _attention  # noqa: E402  (after softmax and logsumexp, which it uses)
_attention.softmax, _attention.logsumexp = softmax, logsumexp
dot_product_attention = _attention.dot_product_attention
from ._scaled import scaled_matmul  # noqa: E402
