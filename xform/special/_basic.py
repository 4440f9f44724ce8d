"""The logistic family (``expit``, ``logit``), the ``x log y`` family (``xlogy``,
``xlog1py``, ``entr``, ``rel_entr``, ``kl_div``), the stable reductions (``logsumexp``,
``softmax``, ``log_softmax``) and the Box-Cox transforms.

``logit``, ``xlogy``, ``xlog1py`` and ``x log x`` carry their derivative as a ``custom_jvp``
written as JAX writes it: their formulas guard ``0 * log 0`` with a ``where``, which a
derived derivative would read as 0 where JAX's rule gives ``log 0`` (``-inf``).
``logsumexp`` is also ``xform.nn.logsumexp`` (jax.nn has the same function)."""
from __future__ import annotations

from functools import partial

import numpy as np

from .. import lax, numpy as jnp
from ..api import custom_jvp
from ._common import args, check_arraylike, real, weak_as
from ..numpy._core import canonicalize_axes

__all__ = ["expit", "logit", "xlogy", "xlog1py", "entr", "rel_entr", "kl_div", "logsumexp",
           "softmax", "log_softmax", "boxcox", "boxcox1p"]


def expit(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    (x,) = args("expit", x)
    return lax.logistic(x)


def logit(x):
    """``log(x / (1 - x))``, the inverse of ``expit``."""
    (x,) = args("logit", x)
    return _logit(x)


@custom_jvp
def _logit(x):
    return lax.log(lax.div(x, lax.sub(jnp.ones_like(x), x)))


@_logit.defjvp
def _logit_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _logit(x), lax.div(t, lax.mul(x, lax.sub(jnp.ones_like(x), x)))


def xlogy(x, y):
    """``x * log(y)``, 0 where ``x == 0`` (unless ``y`` is NaN)."""
    x, y = args("xlogy", x, y)
    return _xlogy(x, y)


@custom_jvp
def _xlogy(x, y):
    keep = (x != 0) | jnp.isnan(y)
    return jnp.where(keep, lax.mul(x, lax.log(y)), jnp.zeros_like(x))


@_xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return _xlogy(x, y), tx * lax.log(y) + ty * x / y


def xlog1py(x, y):
    """``x * log1p(y)``, 0 where ``x == 0`` (unless ``y`` is NaN)."""
    x, y = args("xlog1py", x, y)
    return _xlog1py(x, y)


@custom_jvp
def _xlog1py(x, y):
    keep = (x != 0) | jnp.isnan(y)
    return jnp.where(keep, lax.mul(x, lax.log1p(y)), jnp.zeros_like(x))


@_xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return _xlog1py(x, y), tx * lax.log1p(y) + ty * x / (1 + y)


@custom_jvp
def _xlogx(x):
    return _xlogy(x, x)


@_xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _xlogx(x), t * (lax.log(x) + 1)


def entr(x):
    """Elementwise entropy ``-x log x`` (0 at 0, ``-inf`` for negative ``x``)."""
    (x,) = args("entr", x)
    real("entr", x)
    return lax.select(x < 0, jnp.full_like(x, -np.inf), lax.neg(_xlogx(x)))


def rel_entr(p, q):
    """Relative entropy ``p log(p / q)``: 0 where ``p == 0 <= q``, ``inf`` where either is
    negative or ``q == 0 < p``."""
    p, q = args("rel_entr", p, q)
    real("rel_entr", p)
    zero = jnp.zeros_like(p)
    positive = (p > 0) & (q > 0)
    zero_p = (p == 0) & (q >= 0)
    safe_p = jnp.where(positive, p, 1)
    safe_q = jnp.where(positive, q, 1)
    value = lax.sub(_xlogx(safe_p), _xlogy(safe_p, safe_q))
    return jnp.where(positive, value, jnp.where(zero_p, zero, np.inf))


def kl_div(p, q):
    """``p log(p / q) - p + q``."""
    p, q = args("kl_div", p, q)
    real("kl_div", p)
    return rel_entr(p, q) - p + q


def _dims(name, axis, ndim):
    return tuple(sorted(canonicalize_axes(axis, ndim, name)))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably (as ``jax.nn.logsumexp``);
    ``return_sign=True`` also returns the sign of the sum."""
    check_arraylike("logsumexp", a, *([] if b is None else [b]))
    a = jnp.asarray(a)
    if where is not None:
        a = jnp.where(where, a, 0)
    if b is not None:
        a, b = jnp.promote_dtypes_inexact(a, jnp.asarray(b))
        a = jnp.where(b != 0, a, -np.inf)
    else:
        (a,) = jnp.promote_dtypes_inexact(a)
    dims = _dims("logsumexp", axis, a.ndim)
    amax = jnp.max(jnp.real(a), axis=dims, keepdims=keepdims, where=where, initial=-np.inf)
    amax = lax.stop_gradient(jnp.where(jnp.isfinite(amax), amax, jnp.zeros_like(amax)))
    amax_dims = amax if keepdims else jnp.expand_dims(amax, dims)
    exp_a = jnp.exp(a - amax_dims.astype(a.dtype))
    if b is not None:
        exp_a = exp_a * b
    sumexp = jnp.sum(exp_a, axis=dims, keepdims=keepdims, where=where)
    sign = lax.sign(sumexp)
    if return_sign or not jnp.iscomplexobj(sumexp):
        sumexp = jnp.abs(sumexp)
    out = lax.add(lax.log(sumexp), amax.astype(sumexp.dtype))
    if return_sign:
        return out, sign
    if b is not None and not jnp.iscomplexobj(out):
        out = jnp.where(sign < 0, np.array(np.nan, out.dtype)[()], out)
    return out


def softmax(x, /, *, axis=None):
    """``exp(x) / sum(exp(x))`` over ``axis`` (all axes by default, as SciPy)."""
    check_arraylike("softmax", x)
    (x,) = jnp.promote_dtypes_inexact(jnp.asarray(x))
    return weak_as(_softmax(x, _dims("softmax", axis, x.ndim)), False)   # (as JAX)


@partial(custom_jvp, nondiff_argnums=(1,))
def _softmax(x, dims):
    e = jnp.exp(x - jnp.max(x, dims, keepdims=True))
    return e / jnp.sum(e, dims, keepdims=True)


@_softmax.defjvp
def _softmax_jvp(dims, primals, tangents):
    (x,), (t,) = primals, tangents
    y = _softmax(x, dims)
    return y, y * (t - jnp.sum(y * t, dims, keepdims=True))


def log_softmax(x, /, *, axis=None):
    """``x - logsumexp(x)`` over ``axis`` (all axes by default, as SciPy)."""
    check_arraylike("log_softmax", x)
    (x,) = jnp.promote_dtypes_inexact(jnp.asarray(x))
    dims = _dims("log_softmax", axis, x.ndim)
    shifted = x - lax.stop_gradient(jnp.max(x, dims, keepdims=True))
    return weak_as(shifted - jnp.log(jnp.sum(jnp.exp(shifted), dims, keepdims=True)), False)


def _boxcox(name, x, lmbda, log):
    x, lmbda = args(name, x, lmbda)
    zero = lmbda == 0
    safe = jnp.where(zero, jnp.ones_like(lmbda), lmbda)
    lx = log(x)
    return jnp.where(zero, lx, jnp.expm1(safe * lx) / safe)


def boxcox(x, lmbda):
    """The Box-Cox transform ``(x**lmbda - 1) / lmbda`` (``log x`` at ``lmbda == 0``)."""
    return _boxcox("boxcox", x, lmbda, jnp.log)


def boxcox1p(x, lmbda):
    """``boxcox(1 + x, lmbda)``, accurate for small ``x``."""
    return _boxcox("boxcox1p", x, lmbda, jnp.log1p)
