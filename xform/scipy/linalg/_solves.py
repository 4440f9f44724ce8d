"""Factorisations and the solves built on them: Cholesky, LU, triangular and general solves,
``inv`` and ``det``, with ``jax.scipy.linalg``'s SciPy-style signatures.

``overwrite_*``, ``check_finite``, ``debug`` and ``lapack_driver`` are accepted and
ignored, as in JAX (a traced program cannot overwrite its inputs or check values).
"""
from __future__ import annotations

import warnings

from ... import numpy as jnp
from ...api import custom_jvp
from ...core import where
from ...lax import linalg as _la
from ...numpy import linalg as _npla

_TRANS = {0: (False, False), "N": (False, False), 1: (True, False), "T": (True, False),
          2: (True, True), "C": (True, True)}


def inexact(*xs):
    """The arguments as arrays of one common inexact dtype."""
    return jnp.promote_dtypes_inexact(*[jnp.asarray(x) for x in xs])


def check_square(fname, name, x):
    """Raise unless ``x`` is a (batch of) square matrices."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"scipy.linalg.{fname}: {name} must be a square matrix (or a batch "
                         f"of them), got shape {x.shape}{where()}")


def _right_hand_side(fname, a, b, vector_rank=1):
    """``(a, b, vector)``: ``b`` as a matrix of right-hand sides (a vector gets a trailing
    axis), both broadcast to one batch shape.  As JAX: a 1-d ``b`` is a vector, a ``b`` one
    rank below ``a`` whose last axis matches is a batch of vectors (deprecated there, with a
    FutureWarning), anything else a batch of matrices."""
    check_square(fname, "a", a)
    if b.ndim < 1:
        raise ValueError(f"scipy.linalg.{fname}: b must have at least 1 dimension, got shape "
                         f"{b.shape}{where()}")
    vector = b.ndim == vector_rank
    if not vector and a.ndim == b.ndim + 1 and a.shape[-1] == b.shape[-1]:
        warnings.warn(f"scipy.linalg.{fname}: batched 1-d solves with b.ndim > 1 are "
                      f"deprecated (as in JAX); pass b[..., None] and squeeze the result",
                      FutureWarning, stacklevel=3)
        vector = True
    if vector:
        b = b[..., None]
    if b.shape[-2] != a.shape[-1]:
        raise ValueError(f"scipy.linalg.{fname}: b of shape {b.shape[:-1] if vector else b.shape}"
                         f" does not match a of shape {a.shape} (b's "
                         f"{'last' if vector else 'second-to-last'} axis must have length "
                         f"{a.shape[-1]}){where()}")
    batch = jnp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return (jnp.broadcast_to(a, batch + a.shape[-2:]), jnp.broadcast_to(b, batch + b.shape[-2:]),
            vector)


def _triangular(a, b, lower, trans=0, unit_diagonal=False):
    transpose_a, conjugate_a = _TRANS[trans]
    return _la.triangular_solve(a, b, left_side=True, lower=lower, transpose_a=transpose_a,
                                conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     debug=None, check_finite=True):
    """``op(a) x = b`` for triangular ``a``; ``trans`` 0/'N', 1/'T' or 2/'C' picks
    ``op``: ``a``, its transpose or its conjugate transpose."""
    if not isinstance(trans, (int, str)) or trans not in _TRANS:
        raise ValueError(f"scipy.linalg.solve_triangular: trans must be 0, 1, 2, 'N', 'T' or "
                         f"'C', got {trans!r}{where()}")
    a, b, vector = _right_hand_side("solve_triangular", *inexact(a, b))
    x = _triangular(a, b, bool(lower), trans, bool(unit_diagonal))
    return x[..., 0] if vector else x


# --- Cholesky ---------------------------------------------------------------------------------

def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of Hermitian positive-definite ``a``: lower (``l l^H = a``) or
    upper (``u^H u = a``).  Only the requested triangle of ``a`` is read."""
    (a,) = inexact(a)
    check_square("cholesky", "a", a)
    lower = bool(lower)
    l = _la.cholesky(a if lower else _la.adjoint(a), symmetrize_input=False)
    return l if lower else _la.adjoint(l)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)`` for ``cho_solve``: ``c`` holds the factor in the requested triangle."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``a x = b`` from ``cho_factor(a)``."""
    c, lower = c_and_lower
    c, b, vector = _right_hand_side("cho_solve", *inexact(c, b))
    lower = bool(lower)
    # a = l l^H (c holds l) or u^H u (c holds u): two triangular solves
    y = _triangular(c, b, lower, 0 if lower else 2)
    x = _triangular(c, y, lower, 2 if lower else 0)
    return x[..., 0] if vector else x


# --- LU -----------------------------------------------------------------------------------------

def _check_matrix(fname, x):
    if x.ndim < 2:
        raise ValueError(f"scipy.linalg.{fname}: a must be a matrix (or a batch of them), got "
                         f"shape {x.shape}{where()}")


def lu_factor(a, overwrite_a=False, check_finite=True):
    """``(lu, piv)`` as LAPACK's getrf: both factors in one matrix (``l`` has a unit
    diagonal) and 0-based row swaps."""
    (a,) = inexact(a)
    _check_matrix("lu_factor", a)
    lu_, pivots, _ = _la.lu(a)
    return lu_, pivots


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """``a x = b`` (``trans`` 0), ``a^T x = b`` (1) or ``a^H x = b`` (2) from
    ``lu_factor(a)``."""
    if not isinstance(trans, int) or trans not in (0, 1, 2):
        raise ValueError(f"scipy.linalg.lu_solve: trans must be 0, 1 or 2, got {trans!r}"
                         f"{where()}")
    lu_, pivots = lu_and_piv
    lu_, b = inexact(lu_, b)
    pivots = jnp.asarray(pivots)
    check_square("lu_solve", "lu", lu_)
    perm = _la.lu_pivots_to_permutation(pivots, lu_.shape[-2])
    lu_, b, vector = _right_hand_side("lu_solve", lu_, b)
    batch = lu_.shape[:-2]
    p = _la.permutation_matrix(jnp.broadcast_to(perm, batch + perm.shape[-1:]), b.dtype)
    if trans == 0:   # p a = l u: x = u^-1 l^-1 p b
        x = _la.triangular_solve(lu_, _la.matmul(p, b), left_side=True, lower=True,
                                 unit_diagonal=True)
        x = _la.triangular_solve(lu_, x, left_side=True, lower=False)
    else:            # a^T = u^T l^T p: x = p^T l^-T u^-T b (conjugated for trans 2)
        conj = trans == 2
        x = _la.triangular_solve(lu_, b, left_side=True, lower=False, transpose_a=True,
                                 conjugate_a=conj)
        x = _la.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True,
                                 transpose_a=True, conjugate_a=conj)
        x = _la.matmul(_la.swap_last(p), x)
    return x[..., 0] if vector else x


def lu(a, permute_l=False, overwrite_a=False, check_finite=True):
    """``(p, l, u)`` with ``a = p @ l @ u`` (or ``(p @ l, u)`` for ``permute_l``); an
    ``m x n`` ``a`` gives ``l`` of ``m x k`` and ``u`` of ``k x n``, ``k = min(m, n)``."""
    (a,) = inexact(a)
    _check_matrix("lu", a)
    if a.ndim != 2:
        raise ValueError(f"scipy.linalg.lu: a must be a 2-d matrix (as in JAX), got shape "
                         f"{a.shape}{where()}")
    lu_, _, perm = _la.lu(a)
    m, n = a.shape
    k = min(m, n)
    p = jnp.real(_la.swap_last(_la.permutation_matrix(perm, a.dtype)))
    l = jnp.tril(lu_, -1)[:, :k] + jnp.eye(m, k, dtype=a.dtype)
    u = jnp.triu(lu_)[:k, :]
    if permute_l:
        return jnp.matmul(p, l, precision="highest"), u
    return p, l, u


# --- general solves ----------------------------------------------------------------------------

def _pos_solver(lower):
    """``x = a^-1 b`` for Hermitian positive-definite ``a`` (one triangle read by the
    factorisation), with the derivative of a solve with all of ``a``, as JAX's
    ``custom_linear_solve`` gives it: ``dx = a^-1 (db - da x)``."""
    @custom_jvp
    def pos_solve(a, b):
        return cho_solve(cho_factor(a, lower), b)

    @pos_solve.defjvp
    def pos_solve_jvp(primals, tangents):
        (a, b), (da, db) = primals, tangents
        factors = cho_factor(a, lower)
        x = cho_solve(factors, b)
        return x, cho_solve(factors, db - _la.matmul(da, x))
    return pos_solve


_POS_SOLVE = {True: _pos_solver(True), False: _pos_solver(False)}
_ASSUME_A = ("gen", "sym", "her", "pos")


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, debug=False,
          check_finite=True, assume_a="gen"):
    """``a x = b``.  ``assume_a='pos'`` solves through a Cholesky factorisation of the
    ``lower`` (or upper) triangle; 'gen', 'sym' and 'her' through LU (as JAX)."""
    if assume_a not in _ASSUME_A:
        raise ValueError(f"scipy.linalg.solve: assume_a must be one of {list(_ASSUME_A)}, got "
                         f"{assume_a!r}{where()}")
    a, b = inexact(a, b)
    check_square("solve", "a", a)
    if assume_a != "pos":
        if b.ndim < 1 or b.shape[-1 if b.ndim == 1 else -2] != a.shape[-1]:
            raise ValueError(f"scipy.linalg.solve: b must have shape ({a.shape[-1]},) or "
                             f"(..., {a.shape[-1]}, k) to match a of shape {a.shape}, got "
                             f"{b.shape}{where()}")
        return _npla.solve(a, b)
    vector = a.ndim == b.ndim + 1
    if b.ndim not in (a.ndim, a.ndim - 1) or b.shape[a.ndim - 2] != a.shape[-1]:
        raise ValueError(f"scipy.linalg.solve: with assume_a='pos', b must have shape "
                         f"(..., {a.shape[-1]}, k) or (..., {a.shape[-1]}) with as many batch "
                         f"dimensions as a of shape {a.shape}, got {b.shape}{where()}")
    bm = b[..., None] if vector else b
    batch = jnp.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    x = _POS_SOLVE[bool(lower)](jnp.broadcast_to(a, batch + a.shape[-2:]),
                                jnp.broadcast_to(bm, batch + bm.shape[-2:]))
    return x[..., 0] if vector else x


def inv(a, overwrite_a=False, check_finite=True):
    """The inverse of square ``a`` (``jax.numpy.linalg.inv``)."""
    return _npla.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """The determinant of square ``a`` (``jax.numpy.linalg.det``)."""
    return _npla.det(a)
