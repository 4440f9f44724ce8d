"""``eigh_tridiagonal``: eigenvalues of a symmetric (Hermitian) tridiagonal matrix by
bisection on Sturm counts, eigenvectors by inverse iteration, as JAX computes them.

JAX's inverse iteration calls LAPACK's perturbed tridiagonal solver; xform.lax.linalg
has no tridiagonal solve, so each step here is a dense LU solve of ``T - w I`` whose
zero pivots are perturbed the same way (to ``eps`` times the matrix's scale).  It costs
``O(k n^3)`` instead of ``O(k n)``: fine for the sizes it is used at, not for large ones.
"""
from __future__ import annotations

import numpy as np

from ... import lax
from ... import numpy as jnp
from ... import random
from ...core import where
from ...lax import linalg as _la
from ...numpy import linalg as _npla


def _sturm_count(alpha, beta_sq, pivmin, alpha0_perturbation, x):
    """How many eigenvalues lie below each ``x`` (the negative pivots of ``T - x I``)."""
    q = alpha[0] - x
    count = (q < 0).astype(np.int32)
    q = jnp.where(alpha[0] == x, alpha0_perturbation, q)

    def step(i, qc):
        q, count = qc
        i = i.astype(np.int32)   # int64 indices fail to lower under x64
        q = alpha[i] - beta_sq[i - 1] / q - x
        low = q <= pivmin
        return jnp.where(low, jnp.minimum(q, -pivmin), q), count + low.astype(np.int32)
    return lax.fori_loop(1, alpha.shape[0], step, (q, count))[1]


def _perturbed_solve(m, b, scale):
    """``m^-1 b`` for a batch of square ``m``, zero pivots of the LU replaced by
    ``eps * scale`` so that (nearly) singular shifted matrices give finite vectors."""
    lu, _, perm = _la.lu(m)
    tiny = np.finfo(np.dtype(jnp.real(m).dtype)).eps * scale
    d = _la.diagonal(lu)
    d_safe = jnp.where(jnp.abs(d) < tiny, jnp.where(jnp.real(d) < 0, -tiny, tiny).astype(d.dtype),
                       d)
    n = m.shape[-1]
    lu = jnp.where(np.eye(n, dtype=bool), d_safe[..., None, :], lu)
    x = jnp.take_along_axis(b, perm[..., :, None], axis=-2)
    x = _la.triangular_solve(lu, x, left_side=True, lower=True, unit_diagonal=True)
    return _la.triangular_solve(lu, x, left_side=True, lower=False)


def _eigenvectors(alpha, beta, eigvals, key):
    n, k = alpha.shape[0], eigvals.shape[0]
    dtype = np.result_type(alpha.dtype, beta.dtype)
    real = np.finfo(dtype).dtype
    # eigenvalues closer than sqrt(eps) |T| form clusters whose vectors are orthogonalised
    eps = float(np.finfo(real).eps)
    t_norm = jnp.maximum(jnp.abs(eigvals[0]), jnp.abs(eigvals[-1]))
    close = (eigvals[1:] - eigvals[:-1]) < np.sqrt(eps) * t_norm
    left = jnp.pad(close, (1, 0), constant_values=False)
    right = jnp.pad(close, (0, 1), constant_values=False)
    max_clusters = k // 2 + 1   # <= k

    def first_true(flags):   # the positions of the first max_clusters True entries
        # (jnp.nonzero(size=) would do, but fails under x64 today: int32 % int)
        return jnp.argsort(~flags, stable=True)[:max_clusters]
    starts, ends = first_true(~left & right), first_true(left & ~right) + 1
    num_clusters = jnp.sum(~left & right)
    arange_k = jnp.arange(k)

    def orthogonalise(v):
        def cluster(i, v):
            start, end = starts[i].astype(np.int32), ends[i].astype(np.int32)
            inside = (arange_k < end - start).astype(v.dtype)
            block = lax.dynamic_slice(jnp.pad(v, ((0, k), (0, 0))), (start, 0), (k, n))
            q, _ = _npla.qr(_la.swap_last(block * inside[:, None]))
            update = lax.dynamic_update_slice(jnp.zeros((2 * k, n), v.dtype),
                                              _la.swap_last(q) * inside[:, None], (start, 0))
            member = (arange_k >= start) & (arange_k < end)
            return jnp.where(member[:, None], update[:k], v)
        return lax.fori_loop(0, num_clusters, cluster, v)

    v = random.normal(key, (k, n), dtype=real).astype(dtype)
    v = v / _npla.norm(v, axis=-1, keepdims=True).astype(dtype)
    t = (jnp.diag(alpha.astype(dtype)) + jnp.diag(jnp.conj(beta), -1) + jnp.diag(beta, 1))
    shifted = t[None] - (eigvals.astype(dtype)[:, None, None] * np.eye(n, dtype=dtype))
    scale = jnp.maximum(t_norm, np.finfo(real).tiny)

    def step(state):
        i, v, norm, _ = state
        w = _perturbed_solve(shifted, v[:, :, None], scale)[..., 0]
        norm_new = _npla.norm(w, axis=-1, keepdims=True)
        return i + 1, orthogonalise(w / norm_new.astype(w.dtype)), norm_new[..., 0], norm

    def growing(state):   # at most 5 steps, while some norm still grows by 10 %
        i, _, norm, norm_old = state
        return (i < 5) & jnp.any(norm >= 1.1 * norm_old)
    state = (0, v, jnp.ones(k, eigvals.dtype), jnp.zeros(k, eigvals.dtype))
    return lax.while_loop(growing, step, state)[1]


def eigh_tridiagonal(d, e, *, eigvals_only=False, select="a", select_range=None, tol=None,
                     key=None):
    """Eigenvalues (ascending) of the Hermitian tridiagonal matrix with diagonal ``d`` and
    off-diagonal ``e``, and with ``eigvals_only=False`` its eigenvectors (columns).
    ``select='i'`` keeps the eigenvalues of indices ``select_range[0] ..
    select_range[1]``; ``key`` seeds inverse iteration (``random.key(42)`` by default)."""
    alpha, beta = jnp.asarray(d), jnp.asarray(e)
    if alpha.dtype != beta.dtype:
        raise TypeError(f"scipy.linalg.eigh_tridiagonal: d and e must have the same dtype, got "
                        f"{alpha.dtype} and {beta.dtype}{where()}")
    if alpha.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        raise TypeError(f"scipy.linalg.eigh_tridiagonal: d and e must be float32, float64, "
                        f"complex64 or complex128, got {alpha.dtype}{where()}")
    if alpha.ndim != 1 or beta.shape != (max(alpha.shape[0] - 1, 0),):
        raise ValueError(f"scipy.linalg.eigh_tridiagonal: needs d of shape (n,) and e of shape "
                         f"(n - 1,), got {alpha.shape} and {beta.shape}{where()}")
    n = alpha.shape[0]
    if n <= 1:
        w = jnp.real(alpha)
        return w if eigvals_only else (w, jnp.eye(n, dtype=alpha.dtype))
    if jnp.iscomplexobj(alpha):
        beta_sq = jnp.real(beta * jnp.conj(beta))
        beta_abs, alpha = jnp.sqrt(beta_sq), jnp.real(alpha)
    else:
        beta_abs, beta_sq = jnp.abs(beta), jnp.square(beta)

    # Gershgorin bounds, and the tolerances of the bisection
    row_sums = jnp.concatenate([beta_abs[:1], beta_abs[:-1] + beta_abs[1:], beta_abs[-1:]])
    est_max, est_min = jnp.max(alpha + row_sums), jnp.min(alpha - row_sums)
    t_norm = jnp.maximum(jnp.abs(est_min), jnp.abs(est_max))
    finfo = np.finfo(alpha.dtype)
    one = np.ones((), alpha.dtype)
    safemin = np.maximum(one / finfo.max, (one + finfo.eps) * finfo.tiny)
    pivmin = safemin * jnp.maximum(1, jnp.max(beta_sq))
    alpha0_perturbation = jnp.square(finfo.eps * beta_abs[0])
    abs_tol = finfo.eps * t_norm
    if tol is not None:
        abs_tol = jnp.maximum(tol, abs_tol)
    if select == "a":
        targets = jnp.arange(n, dtype=np.int32)
    elif select == "i":
        if select_range is None:
            raise ValueError(f"scipy.linalg.eigh_tridiagonal: select='i' needs select_range"
                             f"{where()}")
        if select_range[0] > select_range[1]:
            raise ValueError(f"scipy.linalg.eigh_tridiagonal: empty index range "
                             f"select_range={select_range}{where()}")
        targets = jnp.arange(select_range[0], select_range[1] + 1, dtype=np.int32)
    elif select == "v":
        raise NotImplementedError(f"scipy.linalg.eigh_tridiagonal: select='v' is not "
                                  f"implemented (as in JAX){where()}")
    else:
        raise ValueError(f"scipy.linalg.eigh_tridiagonal: select must be 'a', 'i' or 'v', got "
                         f"{select!r}{where()}")
    slack = jnp.asarray(n, alpha.dtype) * 2.1 * finfo.eps * t_norm
    shape = targets.shape
    lower = jnp.broadcast_to(est_min - slack - 2 * 2.1 * pivmin, shape)
    upper = jnp.broadcast_to(est_max + slack + 2.1 * pivmin, shape)
    pivmin = jnp.broadcast_to(pivmin, shape)
    alpha0_perturbation = jnp.broadcast_to(alpha0_perturbation, shape)

    def unfinished(state):
        i, lower, _, upper = state
        return (i < finfo.nmant + 1) & (abs_tol < jnp.max(upper - lower))

    def bisect(state):
        i, lower, mid, upper = state
        counts = _sturm_count(alpha, beta_sq, pivmin, alpha0_perturbation, mid)
        lower = jnp.where(counts <= targets, mid, lower)
        upper = jnp.where(counts > targets, mid, upper)
        return i + 1, lower, 0.5 * (lower + upper), upper
    mid = lax.while_loop(unfinished, bisect, (0, lower, 0.5 * (upper + lower), upper))[2]
    if eigvals_only:
        return mid
    key = random.key(42) if key is None else key
    return mid, _la.swap_last(_eigenvectors(alpha, beta, mid, key))
