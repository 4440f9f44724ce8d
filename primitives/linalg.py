"""Matrix decompositions and triangular solves (family ``linalg``).

Every variant works on the last two dimensions of its operands; any leading
dimensions are batch dimensions (equal across operands).  Operands must be
float32/float64/complex64/complex128: the dtypes LAPACK and cuSOLVER take.

* ``cholesky  a[..., n, n] -> l``: lower Cholesky factor of the Hermitian matrix
  whose lower triangle is ``a`` (the upper triangle is not read); zeros above the
  diagonal, NaN everywhere when ``a`` is not positive definite.
* ``triangular_solve[left_side, lower, transpose_a, conjugate_a, unit_diagonal]
  a[..., m, m], b -> x``: ``op(a) x = b`` (left side, ``b[..., m, n]``) or
  ``x op(a) = b`` (right side, ``b[..., n, m]``); only the ``lower`` (or upper)
  triangle of ``a`` is read, its diagonal is taken as ones if ``unit_diagonal``.
  ``op`` transposes if ``transpose_a`` and conjugates if ``conjugate_a``.
* ``lu  a[..., m, n] -> lu, pivots``: LU with partial pivoting, ``lu`` holds unit
  lower ``l`` below the diagonal and ``u`` on and above it; ``pivots[..., k]``
  (int32, ``k = min(m, n)``, 0-based) says row ``i`` was swapped with row
  ``pivots[i]``.
* ``qr[full_matrices]  a[..., m, n] -> q, r``: ``q`` is ``m x k`` and ``r`` is
  ``k x n`` (``k = min(m, n)``), or ``m x m`` and ``m x n`` if ``full_matrices``.
* ``eigh[lower]  a[..., n, n] -> v, w``: eigenvectors (columns of ``v``) and
  ascending real eigenvalues ``w`` of the Hermitian matrix whose ``lower`` (or
  upper) triangle is ``a``.
* ``svd[full_matrices, compute_uv]  a[..., m, n] -> s (, u, vh)``: descending
  singular values ``s[..., k]``, and if ``compute_uv`` the singular vectors
  ``u[..., m, k]``, ``vh[..., k, n]`` (``m x m`` / ``n x n`` if ``full_matrices``).
* ``eig[compute_left_eigenvectors, compute_right_eigenvectors, enable_eigvec_derivs]
  a[..., n, n] -> w (, vl) (, vr)``: eigenvalues ``w[..., n]`` of a general matrix and,
  as asked, its left/right eigenvectors (columns, unit 2-norm, largest component
  real: LAPACK geev's normalisation), all complex.  ``enable_eigvec_derivs`` only
  lets the JVP rule differentiate the eigenvectors.
* ``schur[compute_schur_vectors]  a[..., n, n] -> t (, z)``: ``a = z t z^H`` with ``t``
  upper (quasi-upper for real ``a``: 2x2 blocks for complex pairs) triangular.
* ``hessenberg  a[..., n, n] -> h, taus``: upper Hessenberg form in ``h``'s upper
  triangle and first subdiagonal, the reflectors below it, their scales ``taus[..., n-1]``.
* ``tridiagonal[lower]  a[..., n, n] -> h, d, e, taus``: the Hermitian ``a`` (its
  ``lower`` or upper triangle) reduced to a real tridiagonal matrix (diagonal ``d[..., n]``,
  off-diagonal ``e[..., n-1]``, both real), reflectors in ``h``, scales ``taus[..., n-1]``.

A decomposition that fails (LAPACK's ``info != 0``) yields NaNs, as in JAX.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from .core import ShapedArray
from .ops import _define, _fail

LINALG_DTYPES = tuple(np.dtype(d) for d in ("float32", "float64", "complex64", "complex128"))


def _check_matrix(op, what, a: ShapedArray, square=False):
    if a.ndim < 2:
        _fail(op, f"{what} must have rank >= 2 (a matrix, or a batch of them), got "
              f"{a.str_short()}")
    if a.dtype not in LINALG_DTYPES:
        _fail(op, f"{what} must be float32, float64, complex64 or complex128, got "
              f"{a.str_short()}")
    if square and a.shape[-1] != a.shape[-2]:
        _fail(op, f"{what} must be square in its last two dimensions, got {a.str_short()}")


def _real(a: ShapedArray, shape) -> ShapedArray:
    return ShapedArray(tuple(shape), dtypes.real_dtype(a.dtype))


def _cholesky_rule(a):
    _check_matrix("cholesky", "operand", a, square=True)
    return [a.strip_weak()]


def _triangular_solve_rule(a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    op = "triangular_solve"
    _check_matrix(op, "a", a, square=True)
    _check_matrix(op, "b", b)
    if a.dtype != b.dtype:
        _fail(op, f"a and b must have the same dtype, got {a.str_short()} and {b.str_short()}")
    if a.shape[:-2] != b.shape[:-2]:
        _fail(op, f"a and b must have the same batch dimensions, got {a.str_short()} and "
              f"{b.str_short()}")
    side = -2 if left_side else -1
    if b.shape[side] != a.shape[-1]:
        which = "rows" if left_side else "columns"
        _fail(op, f"b's {which} must match a's order with left_side={left_side}, got "
              f"a {a.str_short()} and b {b.str_short()}")
    return [b.strip_weak()]


def _lu_rule(a):
    _check_matrix("lu", "operand", a)
    *batch, m, n = a.shape
    return [a.strip_weak(), ShapedArray((*batch, min(m, n)), np.dtype("int32"))]


def _qr_rule(a, *, full_matrices):
    _check_matrix("qr", "operand", a)
    *batch, m, n = a.shape
    k = m if full_matrices else min(m, n)
    return [ShapedArray((*batch, m, k), a.dtype), ShapedArray((*batch, k, n), a.dtype)]


def _eigh_rule(a, *, lower):
    _check_matrix("eigh", "operand", a, square=True)
    return [a.strip_weak(), _real(a, a.shape[:-1])]


def _svd_rule(a, *, full_matrices, compute_uv):
    _check_matrix("svd", "operand", a)
    *batch, m, n = a.shape
    k = min(m, n)
    s = _real(a, (*batch, k))
    if not compute_uv:
        return [s]
    um, vn = (m, n) if full_matrices else (k, k)
    return [s, ShapedArray((*batch, m, um), a.dtype), ShapedArray((*batch, vn, n), a.dtype)]


def _eig_rule(a, *, compute_left_eigenvectors, compute_right_eigenvectors,
              enable_eigvec_derivs):
    _check_matrix("eig", "operand", a, square=True)
    c = np.dtype(np.result_type(a.dtype, np.complex64))
    vecs = [ShapedArray(a.shape, c)] * (int(bool(compute_left_eigenvectors)) +
                                         int(bool(compute_right_eigenvectors)))
    return [ShapedArray(a.shape[:-1], c), *vecs]


def _schur_rule(a, *, compute_schur_vectors):
    _check_matrix("schur", "operand", a, square=True)
    return [a.strip_weak()] * (2 if compute_schur_vectors else 1)


def _hessenberg_rule(a):
    _check_matrix("hessenberg", "operand", a, square=True)
    n = a.shape[-1]
    return [a.strip_weak(), ShapedArray((*a.shape[:-2], max(n - 1, 0)), a.dtype)]


def _tridiagonal_rule(a, *, lower):
    _check_matrix("tridiagonal", "operand", a, square=True)
    *batch, n, _ = a.shape
    if n == 0:
        _fail("tridiagonal", f"operand must not be empty, got {a.str_short()}")
    return [a.strip_weak(), _real(a, (*batch, n)), _real(a, (*batch, n - 1)),
            ShapedArray((*batch, n - 1), a.dtype)]


cholesky = _define("cholesky", "linalg", _cholesky_rule, (),
                   "lower Cholesky factor (NaN if not positive definite)")
triangular_solve = _define(
    "triangular_solve", "linalg", _triangular_solve_rule,
    ("left_side", "lower", "transpose_a", "conjugate_a", "unit_diagonal"),
    "solve op(a) x = b (or x op(a) = b) for triangular a")
lu = _define("lu", "linalg", _lu_rule, (), "LU with partial pivoting: lu, pivots",
             multiple_results=True)
qr = _define("qr", "linalg", _qr_rule, ("full_matrices",), "QR decomposition: q, r",
             multiple_results=True)
eigh = _define("eigh", "linalg", _eigh_rule, ("lower",),
               "Hermitian eigendecomposition: v, w (ascending)", multiple_results=True)
svd = _define("svd", "linalg", _svd_rule, ("full_matrices", "compute_uv"),
              "singular value decomposition: s (, u, vh)", multiple_results=True)

eig = _define("eig", "linalg", _eig_rule,
              ("compute_left_eigenvectors", "compute_right_eigenvectors", "enable_eigvec_derivs"),
              "general eigendecomposition: w (, vl) (, vr), complex", multiple_results=True)
schur = _define("schur", "linalg", _schur_rule, ("compute_schur_vectors",),
                "Schur decomposition: t (, z)", multiple_results=True)
hessenberg = _define("hessenberg", "linalg", _hessenberg_rule, (),
                     "Hessenberg reduction: h, taus", multiple_results=True)
tridiagonal = _define("tridiagonal", "linalg", _tridiagonal_rule, ("lower",),
                      "Hermitian tridiagonal reduction: h, d, e, taus", multiple_results=True)

linalg = {p.name: p for p in (cholesky, triangular_solve, lu, qr, eigh, svd, eig, schur,
                              hessenberg, tridiagonal)}
