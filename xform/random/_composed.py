"""Samplers composed of the others, as JAX composes them (so the same key gives the
same sample): ``orthogonal`` (the Q of a QR of normal draws, signs fixed by R's
diagonal) and ``multinomial`` (a scan of binomial draws over the categories)."""
from __future__ import annotations

import operator
from functools import partial

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..api import jit
from ..core import Tracer, where
from ._args import _to_dtype
from ._counts import binomial
from ._distributions import normal
from ._keys import split


def _static_int(name, what, v):
    if isinstance(v, Tracer):
        raise TypeError(f"random.{name}: {what} must be a concrete int, not a traced value"
                        f"{where()}")
    return operator.index(v)


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """A uniformly (Haar) distributed ``n x m`` matrix with orthonormal columns (or rows,
    when ``n < m``), batched over ``shape``."""
    n = _static_int("orthogonal", "n", n)
    m = n if m is None else _static_int("orthogonal", "m", m)
    shape = tuple(operator.index(d) for d in shape)
    dt = _dt.canonicalize(dtype or _dt.default_float())
    if not _dt.is_inexact(dt) or _dt.is_complex(dt):
        raise ValueError(f"random.orthogonal: dtype must be a float type, got {dt}{where()}")
    return _orthogonal(key, n, m, shape, dt)


@partial(jit, static_argnums=(1, 2, 3, 4))
def _orthogonal(key, n, m, shape, dt):
    z = normal(key, (*shape, max(n, m), min(n, m)), dt)
    q, r = jnp.linalg.qr(z)
    x = q * jnp.expand_dims(jnp.sign(jnp.linalg.diagonal(r)), -2)
    return jnp.swapaxes(x, -1, -2) if n < m else x


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Counts of ``n`` draws over the categories of ``p`` (last axis), as floats: category
    ``i`` takes a Binomial(remaining, p_i / (p_i + ... + p_last)) share of what is left."""
    n, p = jnp.promote_dtypes_inexact(jnp.asarray(n), jnp.asarray(p))
    if p.ndim == 0:
        raise ValueError(f"random.multinomial: p must have a category axis, got a scalar"
                         f"{where()}")
    shape = p.shape if shape is None else tuple(operator.index(d) for d in shape)
    n = jnp.broadcast_to(n, shape[:-1])
    p = jnp.moveaxis(jnp.broadcast_to(p, shape), -1, 0)
    rest = lax.cumsum(p, 0, reverse=True)
    ratios = p / jnp.where(rest == 0, 1, rest)
    keys = split(key, ratios.shape[0])

    def step(remaining, ratio_key):
        ratio, k = ratio_key
        count = binomial(k, remaining, jnp.clip(ratio, 0, 1), dtype=remaining.dtype)
        return remaining - count, count
    _, counts = lax.scan(step, n, (ratios, keys), unroll=unroll)
    out = jnp.moveaxis(counts, 0, -1)
    return _to_dtype(out, dtype) if dtype is not None else \
        jnp.astype(out, _dt.default_float())
