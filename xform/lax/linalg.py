"""``xform.lax.linalg``: decompositions and triangular solves, as ``jax.lax.linalg``.

Each function binds one meta-operator of the ``linalg`` family
(primitives/linalg.py) plus the small composites around it (symmetrising the
input, turning LU pivots into a permutation).  The matrix helpers at the top
(batched matmul, adjoint, triangles, diagonals) are shared with the JVP rules in
xform/ad.py and with ``xform.numpy.linalg``.
"""
from __future__ import annotations

import warnings

import numpy as np

from primitives import dtypes, ops
from primitives import linalg as _L

from ..core import bind, where
from .control_flow import fori_loop, scan, while_loop
from .ops import (abs, add, aval, bitwise_and, bitwise_not, broadcast_in_dim, broadcasted_iota,
               concatenate, conj, convert_element_type, div, dynamic_index_in_dim, eq, ge, gt,
               le, lt, mul, real, reduce_max, reduce_sum, reshape, rsqrt, select, slice, sqrt,
               sub, transpose, weak_literal)

__all__ = ["cholesky", "triangular_solve", "lu", "lu_pivots_to_permutation", "qr", "eigh",
           "svd", "eig", "schur", "hessenberg", "tridiagonal", "symmetric_product",
           "cholesky_update", "tridiagonal_solve", "householder_product", "ormqr", "qdwh"]

_INT32 = np.dtype("int32")


# --- matrix helpers (leading dimensions are batch dimensions) ----------------------------------

def matmul(a, b):
    """``a @ b`` for ``[..., m, k] x [..., k, n]`` with equal batch dimensions, at full
    precision (as JAX's linalg derivatives use)."""
    nb = aval(a).ndim - 2
    batch = tuple(range(nb))
    return bind(ops.dot_general, a, b,
                dimension_numbers=(((nb + 1,), (nb,)), (batch, batch)),
                precision="highest", preferred_element_type=None)


def swap_last(x):
    nd = aval(x).ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def adjoint(x):
    """Conjugate transpose of the last two dimensions."""
    x = swap_last(x)
    return conj(x) if dtypes.is_complex(aval(x).dtype) else x


def _zeros_like(x):
    a = aval(x)
    return broadcast_in_dim(np.zeros((), a.dtype), a.shape, ())


def _offset_mask(shape, k, direction):
    """Boolean ``[..., m, n]``: ``col - row <direction> k`` ('le': on/below diagonal k)."""
    nd = len(shape)
    rows = broadcasted_iota(_INT32, shape, nd - 2)
    cols = broadcasted_iota(_INT32, shape, nd - 1)
    diff = sub(cols, rows)
    return (le if direction == "le" else ge)(diff, np.int32(k))


def tril(x, k=0):
    return select(_offset_mask(aval(x).shape, k, "le"), x, _zeros_like(x))


def triu(x, k=0):
    return select(_offset_mask(aval(x).shape, k, "ge"), x, _zeros_like(x))


def eye_like(x, shape=None):
    """Identity matrices (broadcast over the batch) of ``x``'s dtype and shape."""
    a = aval(x)
    shape = a.shape if shape is None else tuple(shape)
    return convert_element_type(_diag_mask(shape), a.dtype)


def _diag_mask(shape):
    nd = len(shape)
    return eq(broadcasted_iota(_INT32, shape, nd - 2), broadcasted_iota(_INT32, shape, nd - 1))


def diagonal(x):
    """``x[..., i, i]`` for square ``x``."""
    return reduce_sum(select(_diag_mask(aval(x).shape), x, _zeros_like(x)), (aval(x).ndim - 1,))


def expand_last(v, n, axis):
    """``v[..., k]`` broadcast to a matrix: as rows (``axis=-2``) or columns (``axis=-1``)."""
    a = aval(v)
    nd = a.ndim + 1
    keep = tuple(range(a.ndim - 1)) + ((nd - 1,) if axis == -2 else (nd - 2,))
    shape = a.shape[:-1] + ((n, a.shape[-1]) if axis == -2 else (a.shape[-1], n))
    return broadcast_in_dim(v, shape, keep)


def hermitian_from_triangle(x, lower):
    """The Hermitian matrix whose ``lower`` (or upper) triangle is that of ``x``: what a
    solver that reads one triangle sees."""
    if lower:
        return add(tril(x), adjoint(tril(x, -1)))
    return add(triu(x), adjoint(triu(x, 1)))


def symmetrize(x):
    return div(add(x, adjoint(x)), np.asarray(2, aval(x).dtype)[()])


# --- the public functions ---------------------------------------------------------------------

def _check(fname, x, square=False, min_rank=2):
    a = aval(x)
    if a.ndim < min_rank:
        raise ValueError(f"{fname}: argument must have rank >= {min_rank} (a matrix or a batch "
                         f"of matrices), got shape {a.shape}{where()}")
    if square and a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{fname}: argument must be square in its last two dimensions, got "
                         f"shape {a.shape}{where()}")
    if np.dtype(a.dtype) not in _L.LINALG_DTYPES:
        raise TypeError(f"{fname}: argument must be float32, float64, complex64 or complex128, "
                        f"got {np.dtype(a.dtype).name}{where()}; convert it first (xform.numpy."
                        f"linalg promotes integers to floats)")
    return a


def cholesky(x, *, symmetrize_input: bool = True):
    """Lower Cholesky factor; NaN if ``x`` is not positive definite."""
    _check("lax.linalg.cholesky", x, square=True)
    if symmetrize_input:
        x = symmetrize(x)
    return bind(_L.cholesky, x)


def triangular_solve(a, b, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False):
    """``op(a) x = b`` (``left_side``) or ``x op(a) = b`` for triangular ``a``."""
    _check("lax.linalg.triangular_solve", a, square=True)
    _check("lax.linalg.triangular_solve", b)
    return bind(_L.triangular_solve, a, b, left_side=bool(left_side), lower=bool(lower),
                transpose_a=bool(transpose_a), conjugate_a=bool(conjugate_a),
                unit_diagonal=bool(unit_diagonal))


def lu_pivots_to_permutation(pivots, permutation_size: int):
    """The row permutation that LAPACK-style ``pivots`` (row ``i`` swapped with row
    ``pivots[i]``, in order) apply to ``range(permutation_size)``."""
    pa = aval(pivots)
    batch, k = pa.shape[:-1], pa.shape[-1]
    shape = batch + (int(permutation_size),)
    axis = len(batch)
    positions = broadcasted_iota(_INT32, shape, axis)

    def pick(perm, at):
        """``perm[..., j]`` where ``at`` marks ``j`` (one per row)."""
        return broadcast_in_dim(reduce_sum(select(at, perm, _zeros_like(perm)), (axis,)),
                                shape, tuple(range(axis)))

    def swap(i, perm):
        i = convert_element_type(i, _INT32)   # the loop counter is int64 under x64
        j = broadcast_in_dim(dynamic_index_in_dim(pivots, i, axis, keepdims=True,
                                                  allow_negative_indices=False), shape,
                             tuple(range(axis + 1)))
        at_i, at_j = eq(positions, i), eq(positions, j)
        p_i, p_j = pick(perm, at_i), pick(perm, at_j)
        return select(at_i, p_j, select(at_j, p_i, perm))

    return fori_loop(0, k, swap, positions) if k else positions


def lu(x):
    """``(lu, pivots, permutation)`` with ``x[..., permutation, :] == l @ u``."""
    a = _check("lax.linalg.lu", x)
    lu_, pivots = bind(_L.lu, x)
    return lu_, pivots, lu_pivots_to_permutation(pivots, a.shape[-2])


def qr(x, *, pivoting: bool = False, full_matrices: bool = True, use_magma=None):
    """``(q, r)``: ``q`` has orthonormal columns, ``r`` is upper triangular."""
    _check("lax.linalg.qr", x)
    if pivoting:
        raise NotImplementedError(f"lax.linalg.qr: pivoting=True is not supported{where()}")
    return tuple(bind(_L.qr, x, full_matrices=bool(full_matrices)))


def eigh(x, *, lower: bool = True, symmetrize_input: bool = True,
         sort_eigenvalues: bool = True, subset_by_index=None):
    """``(v, w)``: eigenvectors (columns) and ascending eigenvalues of Hermitian ``x``."""
    a = _check("lax.linalg.eigh", x, square=True)
    if subset_by_index is not None and tuple(subset_by_index) != (0, a.shape[-1]):
        raise NotImplementedError(f"lax.linalg.eigh: subset_by_index is not supported "
                                  f"(got {subset_by_index}){where()}")
    if symmetrize_input:
        x = symmetrize(x)
    return tuple(bind(_L.eigh, x, lower=bool(lower)))


def svd(x, *, full_matrices: bool = True, compute_uv: bool = True, subset_by_index=None,
        algorithm=None):
    """``[u, s, vh]`` (or ``s``) with ``x == u @ diag(s) @ vh``, ``s`` descending."""
    a = _check("lax.linalg.svd", x)
    if subset_by_index is not None and tuple(subset_by_index) != (0, min(a.shape[-2:])):
        raise NotImplementedError(f"lax.linalg.svd: subset_by_index is not supported "
                                  f"(got {subset_by_index}){where()}")
    if algorithm is not None:
        raise NotImplementedError(f"lax.linalg.svd: only the default algorithm is supported "
                                  f"(got {algorithm}){where()}")
    outs = bind(_L.svd, x, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    if not compute_uv:
        return outs[0]
    s, u, vh = outs
    return [u, s, vh]


def _eig_implementation(implementation, use_magma):
    if use_magma is not None:
        warnings.warn("use_magma is deprecated, please use implementation= instead "
                      "(as in JAX)", DeprecationWarning, stacklevel=3)
        implementation = "magma" if use_magma else "lapack"
    name = getattr(implementation, "value", implementation)
    if name is not None and str(name).lower() != "lapack":
        raise ValueError(f"lax.linalg.eig: only the LAPACK implementation is supported (xform "
                         f"runs eig on CPU only), got implementation {implementation!r}{where()}")


def eig(x, *, compute_left_eigenvectors: bool = True, compute_right_eigenvectors: bool = True,
        enable_eigvec_derivs: bool = False, implementation=None, use_magma=None):
    """``[w, vl, vr]`` (the eigenvectors as asked): eigenvalues and left/right eigenvectors
    (columns) of a general square matrix, complex; LAPACK geev's order and normalisation
    (unit 2-norm, largest component real).  CPU only, as JAX's LAPACK path."""
    _check("lax.linalg.eig", x, square=True)
    _eig_implementation(implementation, use_magma)
    return list(bind(_L.eig, x, compute_left_eigenvectors=bool(compute_left_eigenvectors),
                     compute_right_eigenvectors=bool(compute_right_eigenvectors),
                     enable_eigvec_derivs=bool(enable_eigvec_derivs)))


def schur(x, *, compute_schur_vectors: bool = True, sort_eig_vals: bool = False,
          select_callable=None):
    """``[t, z]`` (or ``[t]``) with ``x = z t z^H``: LAPACK gees, CPU only (as in JAX);
    ``t`` is quasi-upper-triangular for real ``x``."""
    _check("lax.linalg.schur", x, square=True)
    if sort_eig_vals:
        raise NotImplementedError(f"lax.linalg.schur: the sort feature of LAPACK's gees "
                                  f"routine is not implemented (as in JAX){where()}")
    return list(bind(_L.schur, x, compute_schur_vectors=bool(compute_schur_vectors)))


def hessenberg(a):
    """``[h, taus]``: the upper Hessenberg form in the upper triangle and first subdiagonal
    of ``h``, the Householder reflectors below, their scales in ``taus`` (LAPACK gehrd; CPU
    only, as in JAX)."""
    _check("lax.linalg.hessenberg", a, square=True)
    return list(bind(_L.hessenberg, a))


def tridiagonal(a, *, lower: bool = True):
    """``[h, d, e, taus]``: the Hermitian ``a`` (its ``lower`` or upper triangle) reduced
    to the real tridiagonal matrix of diagonal ``d`` and off-diagonal ``e``; the reflectors
    in ``h`` beyond that band and their scales in ``taus`` (LAPACK sytrd/hetrd)."""
    sh = _check("lax.linalg.tridiagonal", a, square=True).shape
    if sh[-1] == 0:
        raise ValueError(f"lax.linalg.tridiagonal: the input must be a non-empty square "
                         f"matrix, got shape {sh}{where()}")
    return list(bind(_L.tridiagonal, a, lower=bool(lower)))


# --- more helpers for the JVP rules (xform/ad.py) -------------------------------------------

def solve(a, b):
    """``a^-1 b`` for square ``a[..., n, n]`` and ``b[..., n, k]`` (equal batch), through
    LU; differentiable through the rules of ``lu`` and ``triangular_solve``."""
    lu_, _, perm = lu(a)
    pb = matmul(permutation_matrix(perm, aval(b).dtype), b)
    y = triangular_solve(lu_, pb, left_side=True, lower=True, unit_diagonal=True)
    return triangular_solve(lu_, y, left_side=True, lower=False)


def diagonal_matrix(v):
    """Matrices with ``v[..., k]`` on the diagonal."""
    n = aval(v).shape[-1]
    rows = expand_last(v, n, -1)
    return select(_diag_mask(aval(rows).shape), rows, _zeros_like(rows))


def safe_reciprocal(s):
    """``1 / s``, with 0 where ``s == 0``."""
    zero = eq(s, _zeros_like(s))
    one = add(_zeros_like(s), np.asarray(1, aval(s).dtype)[()])
    return select(zero, _zeros_like(s), div(one, select(zero, one, s)))


def permutation_matrix(perm, dtype):
    """``P[..., i, j] = (perm[..., i] == j)``, so ``P @ x == x[..., perm, :]``."""
    a = aval(perm)
    n = a.shape[-1]
    shape = a.shape + (n,)
    rows = broadcast_in_dim(perm, shape, tuple(range(a.ndim)))
    return convert_element_type(eq(rows, broadcasted_iota(_INT32, shape, a.ndim)), dtype)


def _cut(x, axis, start, stop):
    a = aval(x)
    lo, hi = [0] * a.ndim, list(a.shape)
    lo[axis], hi[axis] = start, stop
    return slice(x, lo, hi)


def take_cols(x, k):
    return _cut(x, aval(x).ndim - 1, 0, k)


def drop_cols(x, k):
    return _cut(x, aval(x).ndim - 1, k, aval(x).shape[-1])


def take_rows(x, k):
    return _cut(x, aval(x).ndim - 2, 0, k)


def pad_to_square(x, lower):
    """An ``m x k`` unit-lower (``lower``) or ``k x n`` upper factor completed with the
    identity's last columns (rows) to a square invertible triangular matrix."""
    *batch, r, c = aval(x).shape
    if r == c:
        return x
    nd = len(batch) + 2
    size = r if lower else c
    eye = eye_like(x, (*batch, size, size))
    if lower:
        return concatenate([x, drop_cols(eye, c)], nd - 1)
    return concatenate([x, _cut(eye, nd - 2, r, size)], nd - 2)


# --- the rest of jax.lax.linalg, as composites -------------------------------------------------

def symmetric_product(a_matrix, c_matrix, *, alpha: float = 1.0, beta: float = 0.0,
                      symmetrize_output: bool = False):
    """``alpha * a @ a^T + beta * c`` (the whole matrix: it is symmetric already, so
    ``symmetrize_output`` changes nothing here)."""
    _check("symmetric_product", a_matrix)
    return add(mul(matmul(a_matrix, swap_last(a_matrix)), alpha), mul(c_matrix, beta))


def cholesky_update(r_matrix, w_vector):
    """The upper Cholesky factor of ``r^T r + w w^T`` for the upper factor ``r`` of a
    real positive-definite matrix (refactored, not rotated: the same matrix to rounding)."""
    _check("cholesky_update", r_matrix, square=True)
    w = w_vector
    wa = aval(w)
    w = reshape(w, wa.shape + (1,))
    s = add(matmul(swap_last(r_matrix), r_matrix), matmul(w, swap_last(w)))
    return swap_last(cholesky(s, symmetrize_input=False))


def _to_front(x, axis):
    nd = aval(x).ndim
    axis %= nd
    return transpose(x, (axis,) + tuple(i for i in range(nd) if i != axis))


def _from_front(x, axis):
    nd = aval(x).ndim
    axis %= nd
    perm = list(range(1, nd))
    perm.insert(axis, 0)
    return transpose(x, tuple(perm))


def tridiagonal_solve(dl, d, du, b, *, perturb_singular: bool = False):
    """``x`` with ``T x = b`` for the tridiagonal ``T`` of sub-, main and super-diagonals
    ``dl`` (``dl[0]`` unused), ``d``, ``du`` (``du[-1]`` unused), all ``(..., m)``;
    ``b`` is ``(..., m, n)``.  The Thomas algorithm (no pivoting: LAPACK's gtsv pivots,
    so a nearly singular leading block rounds differently), as two scans, so it
    differentiates and batches as any composite."""
    if perturb_singular:
        raise NotImplementedError(f"tridiagonal_solve: perturb_singular=True is not "
                                  f"supported{where()}")
    shape = aval(d).shape
    if aval(b).ndim != len(shape) + 1 or aval(b).shape[-2] != shape[-1] or \
            any(aval(v).shape != shape for v in (dl, du)):
        raise ValueError(f"tridiagonal_solve: dl, d, du must have one shape (..., m) and b "
                         f"(..., m, n), got {aval(dl).shape}, {shape}, {aval(du).shape} and "
                         f"{aval(b).shape}{where()}")
    lo, di, up = (_to_front(v, -1) for v in (dl, d, du))     # (m, ...)
    rhs = _to_front(b, -2)                                     # (m, ..., n)

    def widen(v):               # (...) -> (..., 1): broadcast against a row of b
        return reshape(v, aval(v).shape + (1,))

    def forward(carry, row):
        c_prev, y_prev = carry
        l_i, d_i, u_i, b_i = row
        denom = sub(d_i, mul(l_i, c_prev))
        c_i = div(u_i, denom)
        y_i = div(sub(b_i, mul(broadcast_to(widen(l_i), aval(b_i).shape), y_prev)),
                  broadcast_to(widen(denom), aval(b_i).shape))
        return (c_i, y_i), (c_i, y_i)

    def backward(x_next, row):
        c_i, y_i = row
        x_i = sub(y_i, mul(broadcast_to(widen(c_i), aval(y_i).shape), x_next))
        return x_i, x_i
    zero_c = _zeros_like(slice_first(di))
    zero_y = _zeros_like(slice_first(rhs))
    _, (c, y) = scan(forward, (zero_c, zero_y), (lo, di, up, rhs))
    _, x = scan(backward, zero_y, (c, y), reverse=True)
    return _from_front(x, -2)


def slice_first(x):
    a = aval(x)
    return reshape(slice(x, (0,) * a.ndim, (1,) + a.shape[1:]), a.shape[1:])


def broadcast_to(x, shape):
    a = aval(x)
    return x if a.shape == shape else broadcast_in_dim(x, shape, tuple(range(a.ndim)))


def householder_product(a, taus):
    """The first ``n`` columns of ``H_1 ... H_k`` for the reflectors ``H_i = I - tau_i v_i
    v_i^H`` stored below ``a``'s diagonal (``v_i[i] = 1``), as LAPACK's orgqr/ungqr."""
    _check("householder_product", a)
    sh = aval(a).shape
    m, n = sh[-2], sh[-1]
    k = aval(taus).shape[-1]
    if k > n or n > m:
        raise ValueError(f"householder_product: needs m >= n >= k, got a {sh} and taus "
                         f"{aval(taus).shape}{where()}")
    q = eye_like(a, sh)
    rows = broadcasted_iota(_INT32, sh[:-2] + (m,), len(sh) - 2)
    for i in reversed(range(k)):
        col = reshape(slice(a, (0,) * (len(sh) - 1) + (i,), sh[:-1] + (i + 1,)), sh[:-1])
        zero = _zeros_like(col)
        v = select(eq(rows, i), add(zero, 1), select(ge(rows, i + 1), col, zero))
        tau = reshape(slice(taus, (0,) * (len(sh) - 2) + (i,), sh[:-2] + (i + 1,)),
                      sh[:-2] + (1, 1))
        v2 = reshape(v, sh[:-2] + (m, 1))
        proj = matmul(adjoint(v2), q)                                   # (..., 1, n)
        q = sub(q, mul(broadcast_to(tau, sh), matmul(v2, proj)))
    return q


def ormqr(a, taus, c, *, left: bool = True, transpose: bool = False):
    """``q @ c`` (``left``) or ``c @ q``, with ``q^H`` for ``q`` if ``transpose``, where
    ``q = H_1 ... H_k`` is given by the reflectors ``H_i = I - tau_i v_i v_i^H`` stored
    below ``a``'s diagonal (``v_i[i] = 1``), as LAPACK's ormqr/unmqr: one reflector at a
    time, ``q`` never formed."""
    _check("ormqr", a)
    _check("ormqr", c)
    sh, csh = aval(a).shape, aval(c).shape
    m, k = sh[-2], aval(taus).shape[-1]
    if csh[-2 if left else -1] != m:
        raise ValueError(f"ormqr: with left={left}, c must have as many "
                         f"{'rows' if left else 'columns'} as a has rows, got a {sh} and c "
                         f"{csh}{where()}")
    nb = len(sh) - 2
    rows = broadcasted_iota(_INT32, sh[:-2] + (m,), nb)
    cplx = dtypes.is_complex(aval(a).dtype)
    # q c and c q^H apply the reflectors last to first; q^H c and c q first to last
    order = range(k - 1, -1, -1) if left != transpose else range(k)
    for i in order:
        col = reshape(slice(a, (0,) * (nb + 1) + (i,), sh[:-1] + (i + 1,)), sh[:-1])
        zero = _zeros_like(col)
        v = select(eq(rows, i), add(zero, 1), select(ge(rows, i + 1), col, zero))
        tau = reshape(slice(taus, (0,) * nb + (i,), sh[:-2] + (i + 1,)), sh[:-2] + (1, 1))
        if transpose and cplx:
            tau = conj(tau)
        v2 = reshape(v, sh[:-2] + (m, 1))
        update = matmul(v2, matmul(adjoint(v2), c)) if left else \
            matmul(matmul(c, v2), adjoint(v2))
        c = sub(c, mul(broadcast_to(tau, csh), update))
    return c


# --- qdwh: the polar decomposition by the QR-based dynamically weighted Halley iteration ---------
# (Nakatsukasa, Bai and Gygi 2010), as JAX's lax.linalg.qdwh: a composite of qr, cholesky and
# triangular_solve, so it differentiates and batches as any composite.

QDWH_CHOLESKY_CUTOFF = 100   # weights c above this take the QR form of the step (stabler)


def qdwh_weights(eps, max_iterations):
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


def _qdwh_qr_step(u, params):
    """``e u + (a - e) / sqrt(c) q1 q2^H`` with ``[sqrt(c) u; I] = [q1; q2] r``; ``params``
    holds ``((a - e) / sqrt(c), sqrt(c), e)``."""
    scale, sqrt_c, e = params
    m, n = aval(u).shape
    q, _ = qr(concatenate([mul(u, sqrt_c), eye_like(u, (n, n))], 0), full_matrices=False)
    q1, q2 = slice(q, (0, 0), (m, n)), slice(q, (m, 0), (m + n, n))
    return add(mul(u, e), mul(matmul(q1, adjoint(q2)), scale))


def _qdwh_cholesky_step(u, params):
    """The same step through the Cholesky factor of ``c u^H u + I``; ``params`` holds
    ``(a - e, c, e)``."""
    a_minus_e, c, e = params
    n = aval(u).shape[1]
    y = cholesky(add(mul(matmul(adjoint(u), u), c), eye_like(u, (n, n))), symmetrize_input=False)
    z = triangular_solve(y, swap_last(u), left_side=True, lower=True, conjugate_a=True)
    z = conj(z) if dtypes.is_complex(aval(u).dtype) else z
    z = adjoint(triangular_solve(y, z, left_side=True, lower=True, transpose_a=True,
                                 conjugate_a=True))
    return add(mul(u, e), mul(z, a_minus_e))


def _frobenius(x):
    sq = real(mul(x, conj(x))) if dtypes.is_complex(aval(x).dtype) else mul(x, x)
    return sqrt(reduce_sum(sq, tuple(range(aval(x).ndim))))


def qdwh(x, *, is_hermitian: bool = False, max_iterations: int | None = None,
         eps: float | None = None, dynamic_shape=None):
    """``(u, h, num_iters, is_converged)``: the polar decomposition ``x = u h`` of an
    ``m x n`` matrix (``m >= n``), ``u`` with orthonormal columns and ``h`` Hermitian
    positive semi-definite, by at most ``max_iterations`` (10) Halley steps; convergence
    is ``|u_k - u_k-1| < (5 eps)^(1/3)``.  ``is_hermitian`` is unused, as in JAX."""
    a = _check("lax.linalg.qdwh", x)
    if a.ndim != 2:
        raise ValueError(f"lax.linalg.qdwh: x must be a matrix, got shape {a.shape}{where()}")
    m, n = a.shape
    if m < n:
        raise ValueError(f"lax.linalg.qdwh: the input matrix of shape M x N must have M >= N, "
                         f"got {a.shape}{where()}")
    if dynamic_shape is not None:
        raise NotImplementedError(f"lax.linalg.qdwh: dynamic_shape is not supported{where()}")
    del is_hermitian
    max_iterations = 10 if max_iterations is None else int(max_iterations)
    eps = float(dtypes.finfo(dtypes.real_dtype(a.dtype)).eps) if eps is None else float(eps)
    ax = abs(x)
    one_norm = reduce_max(reduce_sum(ax, (0,)), (0,))
    inf_norm = reduce_max(reduce_sum(ax, (1,)), (0,))
    zero = eq(one_norm, _zeros_like(one_norm))
    scale = select(zero, add(_zeros_like(one_norm), 1), mul(rsqrt(one_norm), rsqrt(inf_norm)))
    u = mul(x, convert_element_type(scale, a.dtype))
    tol_norm = (10.0 * eps / 2.0) ** (1 / 3)
    weights = qdwh_weights(eps, max_iterations)
    qr_params = [((wa - wb / wc) / wc ** 0.5, wc ** 0.5, wb / wc) for wa, wb, wc in weights
                 if wc > QDWH_CHOLESKY_CUTOFF]
    chol_params = [(wa - wb / wc, wc, wb / wc) for wa, wb, wc in weights
                   if wc <= QDWH_CHOLESKY_CUTOFF]
    true = eq(np.int32(0), np.int32(0))

    def busy(u_next, u_prev):
        return gt(_frobenius(sub(u_next, u_prev)), np.asarray(tol_norm, np.abs(
            np.zeros((), a.dtype)).dtype)[()])

    def sweep(u, params, step, test):
        if not params:
            return u, true
        table = np.asarray(params, a.dtype)

        def body(k, state):
            u_prev = state[0]
            row = dynamic_index_in_dim(table, convert_element_type(k, _INT32), 0,
                                       keepdims=False, allow_negative_indices=False)
            p = [reshape(slice(row, (j,), (j + 1,)), ()) for j in range(3)]
            u_next = step(u_prev, p)
            return u_next, busy(u_next, u_prev) if test else true
        return fori_loop(0, len(params), body, (u, true))

    u, _ = sweep(u, qr_params, _qdwh_qr_step, False)
    u, not_converged = sweep(u, chol_params, _qdwh_cholesky_step, True)
    fixed = [np.asarray(v, a.dtype)[()] for v in (3.0 - 1.0 / 3.0, 3.0, 1.0 / 3.0)]

    def more(state):
        k, _, going = state
        return bitwise_and(going, lt(k, max_iterations))

    def halley(state):   # the fixed weights (3, 1, 3) once l has reached 1
        k, u_prev, _ = state
        u_next = _qdwh_cholesky_step(u_prev, fixed)
        return add(k, 1), u_next, busy(u_next, u_prev)
    k0 = weak_literal(len(weights), dtypes.default_int())   # weakly typed, as JAX's
    # at most max_iterations steps in all: the bound lets reverse mode through the loop
    num_iters, u, not_converged = while_loop(more, halley, (k0, u, not_converged),
                                             max_steps=max(max_iterations - len(weights), 0))
    u = sub(mul(u, 1.5), mul(matmul(u, matmul(adjoint(u), u)), 0.5))
    h = matmul(adjoint(u), x)
    h = div(add(h, adjoint(h)), np.asarray(2, a.dtype)[()])
    return u, h, num_iters, bitwise_not(not_converged)
