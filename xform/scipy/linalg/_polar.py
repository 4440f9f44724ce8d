"""``polar``: the polar decomposition, by the QR-based dynamically weighted Halley
iteration (QDWH, Nakatsukasa, Bai and Gygi 2010) as JAX's default, or from the SVD."""
from __future__ import annotations

import numpy as np

from primitives import dtypes

from ... import lax
from ... import numpy as jnp
from ...core import where
from ...lax import linalg as _la
from ...numpy import linalg as _npla
from ._solves import inexact

_CHOLESKY_CUTOFF = 100   # weights c above this take the QR form of the update (stabler)
_QDWH_MAX_ITERATIONS = 10


def _qdwh_weights(eps, max_iterations):
    """The static schedule of Halley weights ``(a, b, c)``: ``l`` bounds the smallest
    singular value of the scaled iterate from below and rises to 1."""
    weights, l, tol_l = [], eps, 10.0 * eps / 2.0
    while l + tol_l < 1 and len(weights) < max_iterations:
        l2 = l * l
        d = (4 * (1 / l2 - 1) / l2) ** (1 / 3)
        sqd = (1.0 + d) ** 0.5
        a = sqd + (2 - d + 2 * (2 - l2) / (l2 * sqd)) ** 0.5
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        l = l * (a + b * l2) / (1 + c * l2)
        weights.append((a, b, c))
    return weights


def _qr_update(u, a, b, c):
    """One weighted Halley step in QR form: ``e u + (a - e) / sqrt(c) q1 q2^H`` with
    ``e = b / c`` and ``[sqrt(c) u; I] = [q1; q2] r``."""
    m, n = u.shape
    e = b / c
    sqrt_c = c ** 0.5
    q, _ = _la.qr(jnp.concatenate([sqrt_c * u, jnp.eye(n, dtype=u.dtype)], axis=0),
                  full_matrices=False)
    return e * u + ((a - e) / sqrt_c) * _la.matmul(q[:m], _la.adjoint(q[m:]))


def _cholesky_update(u, a, b, c):
    """The same step through the Cholesky factor of ``c u^H u + I``."""
    n = u.shape[1]
    e = b / c
    y = _la.cholesky(c * _la.matmul(_la.adjoint(u), u) + jnp.eye(n, dtype=u.dtype),
                     symmetrize_input=False)
    z = jnp.conj(_la.triangular_solve(y, _la.swap_last(u), left_side=True, lower=True,
                                      conjugate_a=True))
    z = _la.adjoint(_la.triangular_solve(y, z, left_side=True, lower=True, transpose_a=True,
                                         conjugate_a=True))
    return e * u + (a - e) * z


def _qdwh(x, eps=None, max_iterations=_QDWH_MAX_ITERATIONS):
    """``(u, h)`` with ``x = u h`` for ``m x n`` ``x``, ``m >= n``."""
    real = dtypes.real_dtype(x.dtype)
    eps = float(dtypes.finfo(real).eps) if eps is None else eps
    one_norm, inf_norm = _npla.norm(x, ord=1), _npla.norm(x, ord=np.inf)
    scale = jnp.where(one_norm == 0, 1, lax.rsqrt(one_norm) * lax.rsqrt(inf_norm))
    u = x * scale.astype(x.dtype)
    tol_norm = (10.0 * eps / 2.0) ** (1 / 3)
    weights = _qdwh_weights(eps, max_iterations)
    qr_weights = [w for w in weights if w[2] > _CHOLESKY_CUTOFF]
    chol_weights = [w for w in weights if w[2] <= _CHOLESKY_CUTOFF]

    def sweep(u, ws, update, test):
        if not ws:
            return u, jnp.asarray(True)
        table = jnp.asarray(np.asarray(ws), x.dtype)

        def body(k, state):
            u_prev = state[0]
            w = table[k.astype(np.int32)]   # int64 indices fail to lower under x64
            u_next = update(u_prev, w[0], w[1], w[2])
            busy = _npla.norm(u_next - u_prev) > tol_norm if test else jnp.asarray(True)
            return u_next, busy
        return lax.fori_loop(0, len(ws), body, (u, jnp.asarray(True)))

    u, _ = sweep(u, qr_weights, _qr_update, False)
    u, busy = sweep(u, chol_weights, _cholesky_update, True)

    def more(state):
        return state[2] & (state[0] < max_iterations)

    def halley(state):   # the fixed weights (3, 1, 3) once l has reached 1
        k, u_prev, _ = state
        u_next = _cholesky_update(u_prev, 3.0, 1.0, 3.0)
        return k + 1, u_next, _npla.norm(u_next - u_prev) > tol_norm
    # at most max_iterations steps in all: the bound lets reverse mode through the loop
    _, u, _ = lax.while_loop(more, halley, (len(weights), u, busy),
                             max_steps=max(max_iterations - len(weights), 0))
    u = 1.5 * u - 0.5 * _la.matmul(u, _la.matmul(_la.adjoint(u), u))
    h = _la.matmul(_la.adjoint(u), x)
    return u, (h + _la.adjoint(h)) / 2


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
