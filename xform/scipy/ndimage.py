"""``xform.scipy.ndimage``: ``map_coordinates`` with JAX's orders (0: nearest, 1:
linear) and boundary modes.  Each output is a weighted sum over the 2**ndim (order 1)
neighbouring samples, read with gathers, so values are differentiable in ``input`` and
(piecewise) in ``coordinates``."""
from __future__ import annotations

import itertools

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..core import where

__all__ = ["map_coordinates"]


def _mirror(i, n):
    s = n - 1   # a triangle wave of half-period n - 1
    return jnp.abs((i + s) % (2 * s) - s) if s > 0 else jnp.zeros_like(i)


_FIX = {
    "constant": lambda i, n: i,
    "nearest": lambda i, n: jnp.clip(i, 0, n - 1),
    "wrap": lambda i, n: i % n,
    "mirror": _mirror,
    "reflect": lambda i, n: (_mirror(2 * i + 1, 2 * n + 1) - 1) // 2,
}


def _nodes(c, order):
    """(index, weight) pairs of the 1-d interpolation at coordinates ``c``."""
    if order == 0:
        idx = c if _dt.is_int(c.dtype) else lax.round(c)   # half away from zero
        return [(idx.astype(np.int32), None)]
    lo = jnp.floor(c)
    hi_w = c - lo
    lo = lo.astype(np.int32)
    return [(lo, 1 - hi_w), (lo + 1, hi_w)]


def map_coordinates(input, coordinates, order, mode="constant", cval=0.0):
    """Sample ``input`` at ``coordinates`` (one array per input axis) by spline
    interpolation of ``order`` 0 or 1; ``mode`` says how indices outside the array are
    read (``constant`` reads ``cval``)."""
    x = jnp.asarray(input)
    coords = [jnp.asarray(c) for c in coordinates]
    if len(coords) != x.ndim:
        raise ValueError(f"scipy.ndimage.map_coordinates: coordinates must hold one array per "
                         f"input dimension ({x.ndim}), got {len(coords)}{where()}")
    if mode not in _FIX:
        raise NotImplementedError(f"scipy.ndimage.map_coordinates: mode={mode!r} is not "
                                  f"supported; use one of {sorted(_FIX)}{where()}")
    if order not in (0, 1):
        raise NotImplementedError(f"scipy.ndimage.map_coordinates: order={order!r} is not "
                                  f"supported (JAX has orders 0 and 1){where()}")
    cval = jnp.asarray(cval, x.dtype)
    per_axis = []
    for c, n in zip(coords, x.shape):
        per_axis.append([(_FIX[mode](i, n), (i >= 0) & (i < n) if mode == "constant" else None,
                          w) for i, w in _nodes(c, order)])
    total = None
    for combo in itertools.product(*per_axis):
        idx = tuple(i for i, _, _ in combo)
        val = x[idx]
        masks = [m for _, m, _ in combo if m is not None]
        if masks:
            ok = masks[0]
            for m in masks[1:]:
                ok = ok & m
            val = jnp.where(ok, val, cval)
        for _, _, w in combo:
            if w is not None:
                val = w * val
        total = val if total is None else total + val
    if _dt.is_int(x.dtype) and not _dt.is_int(total.dtype):
        total = lax.round(total)
    return total.astype(x.dtype)
