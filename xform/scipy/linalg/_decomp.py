"""Decompositions with SciPy's signatures and tuple results: ``svd``, ``eigh``, ``qr``,
``qr_multiply`` and ``rsf2csf`` (``_schur`` has the rest: ``schur``, ``hessenberg`` and
what needs a Schur form).
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes

from ... import lax
from ... import numpy as jnp
from ...core import where
from ...lax import linalg as _la
from ...numpy import linalg as _npla
from ._solves import check_square, inexact


def _missing(fname, what):
    raise NotImplementedError(f"scipy.linalg.{fname}: needs {what}, which xform.lax.linalg "
                              f"does not have yet{where()}")


def _check_matrix(fname, name, x):
    if x.ndim < 2:
        raise ValueError(f"scipy.linalg.{fname}: {name} must be a matrix (or a batch of them), "
                         f"got shape {x.shape}{where()}")


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    """``(u, s, vh)`` with ``a = u @ diag(s) @ vh`` (``s`` descending), or ``s`` alone."""
    (a,) = inexact(a)
    _check_matrix("svd", "a", a)
    res = _la.svd(a, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(res) if compute_uv else res


def eigh(a, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         turbo=True, eigvals=None, type=1, check_finite=True):
    """``(w, v)``: ascending eigenvalues and eigenvectors (columns) of Hermitian ``a``, of
    which the ``lower`` (or upper) triangle is read; ``w`` alone for ``eigvals_only``."""
    if b is not None:
        raise NotImplementedError(f"scipy.linalg.eigh: only b=None is supported (the "
                                  f"generalized problem is not, as in JAX){where()}")
    if type != 1:
        raise NotImplementedError(f"scipy.linalg.eigh: only type=1 is supported, got "
                                  f"{type!r}{where()}")
    if eigvals is not None:
        raise NotImplementedError(f"scipy.linalg.eigh: only eigvals=None is supported, got "
                                  f"{eigvals!r}{where()}")
    (a,) = inexact(a)
    check_square("eigh", "a", a)
    v, w = _la.eigh(a, lower=bool(lower))
    return w if eigvals_only else (w, v)


_QR_MODES = {"full": True, "r": True, "economic": False}


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """``(q, r)``; ``mode`` 'full' (``q`` is ``m x m``), 'economic' (``m x k``) or 'r'
    (the one-tuple ``(r,)``)."""
    if mode not in _QR_MODES:
        raise ValueError(f"scipy.linalg.qr: unsupported mode {mode!r} (use 'full', "
                         f"'economic' or 'r'){where()}")
    if pivoting:
        _missing("qr", "a column-pivoted QR (LAPACK geqp3) for pivoting=True")
    (a,) = inexact(a)
    _check_matrix("qr", "a", a)
    q, r = _la.qr(a, full_matrices=_QR_MODES[mode])
    return (r,) if mode == "r" else (q, r)


def qr_multiply(a, c, mode="right", pivoting=False, conjugate=False, overwrite_a=False,
                overwrite_c=False):
    """``(q @ c, r)`` (``mode='left'``) or ``(c @ q, r)`` (``'right'``) for the economic QR
    of ``a``, with ``q`` conjugated for ``conjugate``."""
    if mode not in ("right", "left"):
        raise ValueError(f"scipy.linalg.qr_multiply: mode must be 'right' or 'left', got "
                         f"{mode!r}{where()}")
    if pivoting:
        _missing("qr_multiply", "a column-pivoted QR (LAPACK geqp3) for pivoting=True")
    a, c = inexact(a, c)
    _check_matrix("qr_multiply", "a", a)
    vector = c.ndim == 1
    if vector:
        c = c[:, None] if mode == "left" else c[None, :]
    m, n = a.shape[-2:]
    k = min(m, n)
    if mode == "left" and c.shape[-2] != k:
        raise ValueError(f"scipy.linalg.qr_multiply: q @ c needs c with {k} rows for a of "
                         f"shape {a.shape}, got c of shape {c.shape}{where()}")
    if mode == "right" and c.shape[-1] != m:
        raise ValueError(f"scipy.linalg.qr_multiply: c @ q needs c with {m} columns for a of "
                         f"shape {a.shape}, got c of shape {c.shape}{where()}")
    batch = jnp.broadcast_shapes(a.shape[:-2], c.shape[:-2])
    a = jnp.broadcast_to(a, batch + a.shape[-2:])
    c = jnp.broadcast_to(c, batch + c.shape[-2:])
    q, r = _la.qr(a, full_matrices=True)
    if conjugate:
        q = jnp.conj(q)
    if mode == "left":
        if m > k:   # q's economic columns: the full q applied to c padded with zero rows
            c = jnp.concatenate([c, jnp.zeros(c.shape[:-2] + (m - k,) + c.shape[-1:],
                                              c.dtype)], axis=-2)
        cq = _la.matmul(q, c)
    else:
        cq = _la.matmul(c, q)[..., :k]
    if vector:
        cq = cq.ravel()
    return cq, jnp.triu(r[..., :k, :])


# --- real to complex Schur form -----------------------------------------------------------------

def _complex_dtype(dtype):
    return np.result_type(dtype, np.complex64)


def _rsf2csf_2d(T, Z):
    n = T.shape[0]
    if n == 1:
        return T, Z
    eps = float(dtypes.finfo(T.dtype).eps)
    cols = jnp.arange(n)

    def rotate(m, T, Z):
        # a Givens rotation g on rows/columns m-1, m that zeroes T[m, m-1]
        blk = lax.dynamic_slice(T, (m - 1, m - 1), (2, 2))
        # the first eigenvalue LAPACK's geev gives for the block, as JAX
        mu = _npla.eigvals(blk)[0] - T[m, m]
        r = _npla.norm(jnp.stack([mu, T[m, m - 1]])).astype(T.dtype)
        c, s = mu / r, T[m, m - 1] / r
        g = jnp.stack([jnp.stack([jnp.conj(c), s]), jnp.stack([-s, c])])
        rows = lax.dynamic_slice_in_dim(T, m - 1, 2, axis=0)
        right = cols >= m - 1
        T = lax.dynamic_update_slice_in_dim(
            T, jnp.where(right, _la.matmul(g, jnp.where(right, rows, 0)), rows), m - 1, axis=0)
        tcols = lax.dynamic_slice_in_dim(T, m - 1, 2, axis=1)
        upper = (cols < m + 1)[:, None]
        T = lax.dynamic_update_slice_in_dim(
            T, jnp.where(upper, _la.matmul(jnp.where(upper, tcols, 0), _la.adjoint(g)), tcols),
            m - 1, axis=1)
        zcols = lax.dynamic_slice_in_dim(Z, m - 1, 2, axis=1)
        Z = lax.dynamic_update_slice_in_dim(Z, _la.matmul(zcols, _la.adjoint(g)), m - 1, axis=1)
        return T, Z

    def step(i, TZ):
        m = (n - i).astype(np.int32)   # int64 indices fail to lower under x64
        T, Z = TZ
        small = jnp.abs(T[m, m - 1]) <= eps * (jnp.abs(T[m - 1, m - 1]) + jnp.abs(T[m, m]))
        T, Z = lax.cond(small, lambda m, T, Z: (T, Z), rotate, m, T, Z)
        return T.at[m, m - 1].set(0), Z
    return lax.fori_loop(1, n, step, (T, Z))


def rsf2csf(T, Z, check_finite=True):
    """The complex Schur form ``(t, z)`` from a real one (``T`` quasi-upper-triangular
    with 2x2 blocks for complex pairs, ``Z`` unitary): ``z t z^H == Z T Z^T``."""
    T, Z = jnp.asarray(T), jnp.asarray(Z)
    for name, x in (("T", T), ("Z", Z)):
        check_square("rsf2csf", name, x)
    if T.shape[-1] != Z.shape[-1]:
        raise ValueError(f"scipy.linalg.rsf2csf: T and Z must have the same shape, got "
                         f"{T.shape} and {Z.shape}{where()}")
    T, Z = inexact(T, Z)
    cdt = _complex_dtype(T.dtype)
    return jnp.vectorize(_rsf2csf_2d, signature="(n,n),(n,n)->(n,n),(n,n)")(
        T.astype(cdt), Z.astype(cdt))
