"""What needs a Schur form or a Hessenberg reduction: ``schur``, ``hessenberg``,
``sqrtm`` (Björck and Hammarling's recurrence on the complex Schur form), ``funm``
(Parlett's recurrence, Golub and Van Loan's algorithm 11.1.1, on the complex Schur form)
and ``solve_sylvester`` (Bartels-Stewart on two complex Schur forms, or ``eig``).

``lax.linalg.schur`` and ``hessenberg`` are LAPACK's gees and gehrd: CPU only and with
no derivative, as in JAX, so neither are these.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes

from ... import lax
from ... import numpy as jnp
from ...core import where
from ...lax import linalg as _la
from ...numpy import linalg as _npla
from ._decomp import rsf2csf
from ._solves import check_square, inexact, inv, solve


def _complex_dtype(dtype):
    return np.result_type(dtype, np.complex64)


def schur(a, output="real"):
    """``[t, z]`` with ``a = z t z^H``: ``t`` quasi-upper-triangular (``output='real'``,
    real input) or upper triangular (``'complex'``)."""
    if output not in ("real", "complex"):
        raise ValueError(f"scipy.linalg.schur: output must be 'real' or 'complex', got "
                         f"{output!r}{where()}")
    (a,) = inexact(a)
    check_square("schur", "a", a)
    if output == "complex":
        a = a.astype(_complex_dtype(a.dtype))
    return _la.schur(a)


def hessenberg(a, *, calc_q=False, overwrite_a=False, check_finite=True):
    """``h`` (and ``q`` if ``calc_q``) with ``a = q h q^H``, ``h`` zero below its first
    subdiagonal."""
    (a,) = inexact(a)
    check_square("hessenberg", "a", a)
    n = a.shape[-1]
    if n == 0:
        return (jnp.zeros_like(a), jnp.zeros_like(a)) if calc_q else jnp.zeros_like(a)
    packed, taus = _la.hessenberg(a)
    h = jnp.triu(packed, -1)
    if not calc_q:
        return h
    batch = packed.shape[:-2]
    q = _la.householder_product(packed[..., 1:, :-1], taus)     # acts on rows/columns 1..n-1
    top = jnp.concatenate([jnp.ones(batch + (1, 1), a.dtype),
                           jnp.zeros(batch + (1, n - 1), a.dtype)], axis=-1)
    rest = jnp.concatenate([jnp.zeros(batch + (n - 1, 1), a.dtype), q], axis=-1)
    return h, jnp.concatenate([top, rest], axis=-2)


def _square_2d(fname, A):
    A = jnp.asarray(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"scipy.linalg.{fname}: expected a square matrix, got shape {A.shape}"
                         f"{where()}")
    return A


def _mm(a, b):
    return jnp.matmul(a, b, precision=lax.Precision.HIGHEST)


def _sqrtm_triu(T):
    """The upper triangular square root ``u`` (``u @ u == T``) of upper triangular ``T``,
    column by column, each from the diagonal up."""
    d = jnp.sqrt(jnp.diagonal(T))
    n = d.shape[0]
    idx = jnp.arange(n)

    def column(j, U):
        def entry(l, U):
            i = j - 1 - l
            between = (idx > i) & (idx < j)
            s = jnp.sum(jnp.where(between, U[i, :] * U[:, j], 0))
            value = jnp.where(T[i, j] == s, 0, (T[i, j] - s) / (d[i] + d[j]))
            return U.at[i, j].set(value)
        return lax.fori_loop(0, j, entry, U)
    return lax.fori_loop(0, n, column, jnp.diag(d))


def sqrtm(A, blocksize=1):
    """The principal square root of ``A`` from its complex Schur form (always complex)."""
    if blocksize > 1:
        raise NotImplementedError(f"scipy.linalg.sqrtm: the blocked version (blocksize > 1) "
                                  f"is not implemented (as in JAX){where()}")
    A = _square_2d("sqrtm", A)
    T, Z = schur(A, output="complex")
    return _mm(_mm(Z, _sqrtm_triu(T)), jnp.conj(Z.T))


def _parlett(F, T):
    """Fill the strict upper triangle of ``F = f(T)`` from its diagonal, superdiagonal by
    superdiagonal (Golub and Van Loan, algorithm 11.1.1); also the smallest ``|T[j, j] -
    T[i, i]|`` divided by (the closeness of eigenvalues that spoils the result)."""
    n = T.shape[0]
    idx = jnp.arange(n)

    def diagonal(p, carry):
        def entry(i, carry):
            F, minden = carry
            j = i + p
            s = T[i, j] * (F[j, j] - F[i, i])
            between = (idx > i) & (idx < j)
            s = s + (jnp.sum(jnp.where(between, T[i, :] * F[:, j], 0)) -
                     jnp.sum(jnp.where(between, F[i, :] * T[:, j], 0)))
            den = T[j, j] - T[i, i]
            s = jnp.where(den != 0, s / jnp.where(den != 0, den, 1), s)
            return F.at[i, j].set(s), jnp.minimum(minden, jnp.abs(den))
        return lax.fori_loop(0, n - p, entry, carry)
    return lax.fori_loop(1, n, diagonal, (F, jnp.abs(T[0, 0])))


def funm(A, func, disp=True):
    """``func`` of the matrix ``A`` (``func`` maps an array of eigenvalues elementwise),
    complex; with ``disp=False`` also an estimate of the relative error, as JAX's."""
    A = _square_2d("funm", A)
    T, Z = schur(A)
    T, Z = rsf2csf(T, Z)
    F = jnp.diag(func(jnp.diagonal(T))).astype(T.dtype)
    F, minden = _parlett(F, T)
    F = Z @ F @ jnp.conj(Z.T)
    if disp:
        return F
    # JAX's tolerance: float32's eps for complex64 results, float64's otherwise
    tol = float(dtypes.finfo(np.float32 if F.dtype == np.complex64 else np.float64).eps)
    minden = jnp.where(minden == 0.0, tol, minden)
    err = jnp.where(jnp.any(jnp.isinf(F)), np.inf, jnp.minimum(1, jnp.maximum(
        tol, (tol / minden) * _npla.norm(jnp.triu(T, 1), 1))))
    return F, err


def _sylvester_triangular(R, S, F):
    """``Y`` with ``R Y + Y S^T = F`` for upper triangular ``R``, lower triangular ``S^T``:
    entry by entry from the bottom right (Bartels-Stewart's back substitution)."""
    m, n = F.shape
    rows, cols = jnp.arange(m), jnp.arange(n)

    def step(Y, idx):
        i, j = idx // n, idx % n
        row_term = jnp.sum(jnp.where(rows > i, R[i, :] * Y[:, j], 0))
        col_term = jnp.sum(jnp.where(cols > j, Y[i, :] * S[:, j], 0))
        return Y.at[i, j].set((F[i, j] - row_term - col_term) / (R[i, i] + S[j, j])), None
    Y, _ = lax.scan(step, jnp.zeros_like(F), jnp.arange(m * n - 1, -1, -1, dtype=np.int32))
    return Y


def _solve_sylvester_2d(A, B, C, method, tol):
    m, n = C.shape
    if method == "schur":
        R, U = schur(A, output="complex")
        S, V = schur(jnp.conj(B.T), output="complex")
        F = jnp.conj(U.T) @ C.astype(R.dtype) @ V
        X = U @ _sylvester_triangular(R, jnp.conj(S.T), F) @ jnp.conj(V.T)
    else:
        wa, va = _npla.eig(A)
        wb, vb = _npla.eig(B)
        Y = solve(va, C.astype(wa.dtype) @ vb) / (wa[:, None] + wb[None, :])
        X = va[:m, :m] @ Y[:m, :n] @ inv(vb)[:n, :n]
    if not dtypes.is_complex(C.dtype):
        X = X.real
    close = jnp.any(jnp.abs(_npla.eigvals(A)[:, None] + _npla.eigvals(B)[None, :]) < tol)
    return jnp.where(close, jnp.full_like(X, np.nan), X)


def solve_sylvester(A, B, C, *, method="schur", tol=1e-8):
    """``X`` with ``A X + X B = C``; NaN where some eigenvalues of ``A`` and ``-B`` are
    within ``tol`` (then no unique solution), as JAX."""
    if method not in ("schur", "eigen"):
        raise ValueError(f"scipy.linalg.solve_sylvester: method must be 'schur' or 'eigen', "
                         f"got {method!r}{where()}")
    A, B, C = inexact(A, B, C)
    m, n = C.shape[-2:]
    if A.shape[-2:] != (m, m) or B.shape[-2:] != (n, n):
        raise ValueError(f"scipy.linalg.solve_sylvester: incompatible shapes A {A.shape}, "
                         f"B {B.shape}, C {C.shape} (want (..., m, m), (..., n, n), "
                         f"(..., m, n)){where()}")
    return jnp.vectorize(lambda a, b, c: _solve_sylvester_2d(a, b, c, method, tol),
                         signature="(m,m),(n,n),(m,n)->(m,n)")(A, B, C)
