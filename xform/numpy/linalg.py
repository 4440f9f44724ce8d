"""``xform.numpy.linalg`` (first tranche: norms and products; decompositions come later)."""
from __future__ import annotations

import numpy as _onp

from .. import numpy as jnp
from ..core import where


def norm(x, ord=None, axis=None, keepdims=False):
    x = jnp.asarray(x)
    (x,) = jnp.promote_dtypes_inexact(x)
    if axis is None and ord is None:
        r = jnp.sqrt(jnp.sum(jnp.real(x * jnp.conj(x))))
        return jnp.reshape(r, (1,) * x.ndim) if keepdims else r
    if axis is None:
        axis = tuple(range(x.ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    a = jnp.abs(x)
    if len(axes) == 1:
        if ord is None or ord == 2:
            return jnp.sqrt(jnp.sum(a * a, axes, keepdims=keepdims))
        if ord == _onp.inf:
            return jnp.max(a, axes, keepdims=keepdims)
        if ord == -_onp.inf:
            return jnp.min(a, axes, keepdims=keepdims)
        if ord == 0:
            return jnp.sum(jnp.astype(a != 0, a.dtype), axes, keepdims=keepdims)
        if ord == 1:
            return jnp.sum(a, axes, keepdims=keepdims)
        return jnp.sum(a ** ord, axes, keepdims=keepdims) ** (1.0 / ord)
    if len(axes) == 2:
        r0, r1 = axes
        if ord in (None, "fro"):
            return jnp.sqrt(jnp.sum(a * a, axes, keepdims=keepdims))
        if ord == 1:
            return jnp.max(jnp.sum(a, r0, keepdims=True), axes, keepdims=keepdims)
        if ord == _onp.inf:
            return jnp.max(jnp.sum(a, r1, keepdims=True), axes, keepdims=keepdims)
        raise NotImplementedError(f"linalg.norm: matrix ord={ord!r} is not supported yet "
                                  f"(supported: None, 'fro', 1, inf){where()}")
    raise ValueError(f"linalg.norm: axis must be an int or a pair, got {axis}")


def matmul(a, b):
    return jnp.matmul(a, b)


def vecdot(a, b, axis=-1):
    return jnp.vecdot(a, b, axis=axis)


def outer(a, b):
    return jnp.outer(a, b)
