"""``polar``: the polar decomposition, by the QR-based dynamically weighted Halley
iteration (QDWH, Nakatsukasa, Bai and Gygi 2010) as JAX's default, or from the SVD."""
from __future__ import annotations

from ... import numpy as jnp
from ...core import where
from ...lax import linalg as _la
from ._solves import inexact


def _qdwh(x, eps=None):
    """``(u, h)`` with ``x = u h`` for ``m x n`` ``x``, ``m >= n`` (``lax.linalg.qdwh``)."""
    u, h, _, _ = _la.qdwh(x, eps=eps)
    return u, h


def _polar_2d(a, side, method, eps):
    m, n = a.shape
    if method == "qdwh":
        if side == "right" and m >= n:
            return _qdwh(a, eps)
        if side == "left" and m < n:
            u, p = _qdwh(_la.adjoint(a), eps)
            return _la.adjoint(u), _la.adjoint(p)
        raise NotImplementedError(
            f"scipy.linalg.polar: method='qdwh' supports side='right' for m >= n and "
            f"side='left' for m < n (as in JAX), got a of shape {a.shape} with side={side!r}; "
            f"use method='svd'{where()}")
    u, s, vh = _la.svd(a, full_matrices=False)
    s = s.astype(u.dtype)
    if side == "right":
        p = _la.matmul(_la.adjoint(vh) * s[None, :], vh)
    else:
        p = _la.matmul(u * s[None, :], _la.adjoint(u))
    return _la.matmul(u, vh), p


def polar(a, side="right", *, method="qdwh", eps=None, max_iterations=None):
    """``(u, p)``: unitary ``u`` and positive semi-definite ``p`` with ``a = u p``
    (``side='right'``) or ``a = p u`` ('left').  ``max_iterations`` is accepted and, as in
    JAX, not passed on (QDWH takes at most 10 steps)."""
    (a,) = inexact(a)
    if a.ndim < 2:
        raise ValueError(f"scipy.linalg.polar: a must be at least 2-d, got shape {a.shape}"
                         f"{where()}")
    if side not in ("right", "left"):
        raise ValueError(f"scipy.linalg.polar: side must be 'right' or 'left', got {side!r}"
                         f"{where()}")
    if method not in ("qdwh", "svd"):
        raise ValueError(f"scipy.linalg.polar: unknown method {method!r} (use 'qdwh' or "
                         f"'svd'){where()}")
    signature = "(m,n)->(m,n),(n,n)" if side == "right" else "(m,n)->(m,n),(m,m)"
    return jnp.vectorize(lambda x: _polar_2d(x, side, method, eps), signature=signature)(a)
