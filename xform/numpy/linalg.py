"""``xform.numpy.linalg``: norms, products, and the decompositions with what is built on
them (solve, inv, det, pinv, ...), with ``jax.numpy.linalg``'s signatures and results.

The decompositions are ``xform.lax.linalg`` (one ``linalg`` meta-operator each); the
rest are composites.  Integer and bool inputs are promoted to the default float
dtype, as in JAX.
"""
from __future__ import annotations

from typing import NamedTuple as _NamedTuple

import numpy as _onp

from primitives import dtypes as _dtypes
from primitives.linalg import LINALG_DTYPES as _LINALG_DTYPES

from ..api import custom_jvp as _custom_jvp
from ..core import where as _at_user
from ..lax import linalg as _la
from ._core import (asarray as _asarray,
                    canonicalize_axis as _canonicalize_axis,
                    promote_dtypes_inexact as _promote_dtypes_inexact)
from ._shape import (broadcast_to as _broadcast_to, expand_dims as _expand_dims,
                     moveaxis as _moveaxis, reshape as _reshape)
from ._creation import arange as _arange, ones_like as _ones_like, zeros as _zeros
from ._ufuncs import (abs as _abs, conj as _conj, exp as _exp, isfinite as _isfinite,
                      isnan as _isnan,
                      log as _log, real as _real, sign as _sign, sqrt as _sqrt, _where)
from ._reductions import (any as _any, cumprod as _cumprod, max as _max, min as _min,
                          prod as _prod, sum as _sum)
from ._indexing import take_along_axis as _take_along_axis
from ._linalg_ops import (cross as _cross, diagonal as _diagonal, matmul as _matmul,
                          outer as _outer, tensordot as _tensordot, trace as _trace,
                          vecdot as _vecdot)
from ._sorting import argsort as _argsort


def norm(x, ord=None, axis=None, keepdims=False):
    """As ``jax.numpy.linalg.norm``, written the way JAX writes it so that derivatives at
    zeros and ties agree: ``max``/``min`` reductions with ``initial=0`` where JAX has one
    (a tie with it takes half the slope), and the matrix 2-, -2- and nuclear norms from
    the singular values."""
    (x,) = _promote_dtypes_inexact(_asarray(x))
    if axis is None:
        if ord is None:
            return _sqrt(_sum(_real(x * _conj(x)), keepdims=keepdims))
        axis = tuple(range(x.ndim))
    axes = tuple(_canonicalize_axis(a, x.ndim, "linalg.norm")
                 for a in (axis if isinstance(axis, tuple) else (axis,)))
    if len(axes) == 1:
        return vector_norm(x, ord=2 if ord is None else ord, axis=axes, keepdims=keepdims)
    if len(axes) != 2:
        raise ValueError(f"linalg.norm: axis must be an int or a pair of ints, got {axis!r}"
                         f"{_at_user()}")
    row, col = axes
    if ord is None or ord in ("f", "fro"):
        return _sqrt(_sum(_real(x * _conj(x)), axis=axes, keepdims=keepdims))
    if ord in (1, -1, _onp.inf, -_onp.inf):
        # sum |x| over rows (ord 1) or columns (inf), then the extreme of those sums
        inner, outer = (row, col) if ord in (1, -1) else (col, row)
        if not keepdims and outer > inner:
            outer -= 1
        sums = _sum(_abs(x), axis=inner, keepdims=keepdims)
        return (_max(sums, axis=outer, keepdims=keepdims, initial=0) if ord > 0
                else _min(sums, axis=outer, keepdims=keepdims))
    if ord in ("nuc", 2, -2):
        s = svd(_moveaxis(x, axes, (-2, -1)), compute_uv=False)
        y = (_sum(s, axis=-1) if ord == "nuc" else
             _max(s, axis=-1, initial=0) if ord == 2 else _min(s, axis=-1))
        return _expand_dims(y, axes) if keepdims else y
    raise ValueError(f"linalg.norm: invalid order {ord!r} for a matrix norm (use None, "
                     f"'fro', 'nuc', 1, -1, 2, -2, inf or -inf){_at_user()}")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    (x,) = _promote_dtypes_inexact(_asarray(x))
    if axis is None:
        y = vector_norm(_reshape(x, (-1,)), axis=0, ord=ord)
        return _reshape(y, (1,) * x.ndim) if keepdims else y
    if ord is None or ord == 2:
        return _sqrt(_sum(_real(x * _conj(x)), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"linalg.vector_norm: invalid order {ord!r} (use a number, "
                         f"inf or -inf){_at_user()}")
    a = _abs(x)
    if ord == _onp.inf:
        return _max(a, axis=axis, keepdims=keepdims, initial=0)
    if ord == -_onp.inf:
        return _min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return _sum(x != 0, axis=axis, keepdims=keepdims, dtype=a.dtype)
    if ord == 1:
        return _sum(a, axis=axis, keepdims=keepdims)
    p = _onp.asarray(ord, a.dtype)
    return _sum(a ** p, axis=axis, keepdims=keepdims) ** _onp.asarray(1.0 / p, a.dtype)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    return norm(x, ord=ord, keepdims=keepdims, axis=(-2, -1))


def matmul(a, b):
    return _matmul(a, b)


def vecdot(a, b, axis=-1):
    return _vecdot(a, b, axis=axis)


def outer(a, b):
    return _outer(a, b)


# --- result types (as jax.numpy.linalg's) -----------------------------------------------------

class EigResult(_NamedTuple):
    eigenvalues: object
    eigenvectors: object


class EighResult(_NamedTuple):
    eigenvalues: object
    eigenvectors: object


class QRResult(_NamedTuple):
    Q: object
    R: object


class SlogdetResult(_NamedTuple):
    sign: object
    logabsdet: object


class SVDResult(_NamedTuple):
    U: object
    S: object
    Vh: object


def _matrices(fname, *xs, square=False):
    """Arrays promoted to a common inexact dtype, checked to be (batches of) matrices."""
    xs = _promote_dtypes_inexact(*[_asarray(x) for x in xs])
    for name, x in zip(("a", "b"), xs):
        if x.ndim < 2:
            raise ValueError(f"linalg.{fname}: {name} must have at least 2 dimensions (a "
                             f"matrix, or a stack of them), got shape {x.shape}{_at_user()}")
        if _onp.dtype(x.dtype) not in _LINALG_DTYPES:
            raise TypeError(f"linalg.{fname}: unsupported dtype {_onp.dtype(x.dtype).name} "
                            f"(supported: float32, float64, complex64, complex128){_at_user()}")
    if square and xs[0].shape[-1] != xs[0].shape[-2]:
        raise ValueError(f"linalg.{fname}: the matrix must be square in its last two "
                         f"dimensions, got shape {xs[0].shape}{_at_user()}")
    return xs


# --- decompositions -----------------------------------------------------------------------------

def cholesky(a, *, upper: bool = False, symmetrize_input: bool = True):
    (a,) = _matrices("cholesky", a, square=True)
    lower = _la.cholesky(a, symmetrize_input=symmetrize_input)
    return _la.adjoint(lower) if upper else lower


def qr(a, mode: str = "reduced"):
    (a,) = _matrices("qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"linalg.qr: mode={mode!r} is not supported (supported: "
                                  f"'reduced', 'complete', 'r'){_at_user()}")
    q, r = _la.qr(a, full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False,
        subset_by_index=None):
    (a,) = _matrices("svd", a)
    if hermitian:   # eigh is cheaper: |w| are the singular values
        w, v = eigh(a)
        order = _argsort(-_abs(w), axis=-1)
        s = _take_along_axis(_abs(w), order, axis=-1)
        if not compute_uv:
            return s
        u = _take_along_axis(v, order[..., None, :], axis=-1)
        signs = _take_along_axis(_sign(w), order, axis=-1).astype(v.dtype)
        return SVDResult(u, s, _la.adjoint(u * signs[..., None, :]))
    res = _la.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                  subset_by_index=subset_by_index)
    return SVDResult(*res) if compute_uv else res


def svdvals(x):
    return svd(x, compute_uv=False)


def eig(a):
    """Eigenvalues and right eigenvectors of a general matrix, always complex (LAPACK geev;
    CPU only, as JAX's default)."""
    (a,) = _matrices("eig", a, square=True)
    w, v = _la.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


def eigvals(a):
    (a,) = _matrices("eigvals", a, square=True)
    return _la.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


def eigh(a, UPLO=None, symmetrize_input: bool = True):
    (a,) = _matrices("eigh", a, square=True)
    if UPLO not in (None, "L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}{_at_user()}")
    v, w = _la.eigh(a, lower=UPLO != "U", symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", *, symmetrize_input: bool = True):
    return eigh(a, UPLO, symmetrize_input=symmetrize_input).eigenvalues


# --- solves and what is built on them ------------------------------------------------------------

def _lu_solve(lu, perm, b):
    """``x`` with ``(P^T L U) x = b`` from an LU factorisation (equal batch dims)."""
    pb = _la.matmul(_la.permutation_matrix(perm, b.dtype), b)
    y = _la.triangular_solve(lu, pb, left_side=True, lower=True, unit_diagonal=True)
    return _la.triangular_solve(lu, y, left_side=True, lower=False)


@_custom_jvp
def _solve(a, b):
    lu, _, perm = _la.lu(a)
    return _lu_solve(lu, perm, b)


@_solve.defjvp
def _solve_jvp(primals, tangents):
    # one factorisation serves the value and the tangent: dx = a^-1 (db - da x)
    a, b = primals
    da, db = tangents
    lu, _, perm = _la.lu(a)
    x = _lu_solve(lu, perm, b)
    return x, _lu_solve(lu, perm, db - _la.matmul(da, x))


def solve(a, b):
    a, b = _promote_dtypes_inexact(_asarray(a), _asarray(b))
    (a,) = _matrices("solve", a, square=True)
    vector = b.ndim == 1
    if b.ndim == 0 or b.shape[-1 if vector else -2] != a.shape[-1]:
        raise ValueError(f"linalg.solve: b must have shape ({a.shape[-1]},) or (..., "
                         f"{a.shape[-1]}, k) to match a of shape {a.shape}, got {b.shape}"
                         f"{_at_user()}")
    if vector:
        b = b[:, None]
    batch = _onp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = _broadcast_to(a, batch + a.shape[-2:])
    b = _broadcast_to(b, batch + b.shape[-2:])
    x = _solve(a, b)
    return x[..., 0] if vector else x


def inv(a):
    (a,) = _matrices("inv", a, square=True)
    return _solve(a, _broadcast_to(_la.eye_like(a), a.shape))


def _lu_parity(pivots, dtype):
    """-1 where an LU's row swaps are odd, else 1: the sign its permutation gives det."""
    swaps = _sum(pivots != _arange(pivots.shape[-1], dtype=pivots.dtype), axis=-1)
    return _where(swaps % 2 == 1, -1, 1).astype(dtype)


def _lu_det_parts(fname, a):
    """(diagonal of u, the parity of the row swaps) of ``a``'s LU."""
    (a,) = _matrices(fname, a, square=True)
    lu, pivots, _ = _la.lu(a)
    return _la.diagonal(lu), _lu_parity(pivots, a.dtype)


def det(a):
    """The determinant as JAX computes it: the 2x2 and 3x3 cofactor formulas (their
    derivatives are the exact adjugate, zeros included), else ``sign * exp(logabsdet)``
    with a JVP that stays finite at singular matrices (``_adjugate_times``)."""
    (a,) = _matrices("det", a, square=True)
    n = a.shape[-1]
    if n == 2:
        return a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    if n == 3:
        e = [[a[..., i, j] for j in range(3)] for i in range(3)]
        return (e[0][0] * e[1][1] * e[2][2] + e[0][1] * e[1][2] * e[2][0]
                + e[0][2] * e[1][0] * e[2][1] - e[0][2] * e[1][1] * e[2][0]
                - e[0][0] * e[1][2] * e[2][1] - e[0][1] * e[1][0] * e[2][2])
    return _det_lu(a)


@_custom_jvp
def _det_lu(a):
    sign, logabsdet = slogdet(a)
    return sign * _exp(logabsdet).astype(sign.dtype)


@_det_lu.defjvp
def _det_lu_jvp(primals, tangents):
    # d det = trace(adj(a) da); adj(a) = det(a) a^-1 only where a is invertible
    (a,), (da,) = primals, tangents
    d, adj_da = _adjugate_times(a, da)
    return d, _sum(_la.diagonal(adj_da), axis=-1)


def _adjugate_times(a, b):
    """``(det(a), adj(a) @ b)`` for square ``a`` (batched), finite when ``a`` is singular.

    With ``P a = L U``, ``adj(a) b = det(a) U^-1 L^-1 P b``.  Back substitution with ``U``
    divides the last row by ``u_nn``, and ``det(a) / u_nn`` is ``s = sign * u_11 ...
    u_(n-1)(n-1)``; so scale the rows of ``L^-1 P b`` but the last by ``det(a)`` and solve
    with ``U`` whose corner is ``1 / s``: the same answer when ``a`` is invertible, and
    the rank-one adjugate when ``u_nn`` is 0.  Where even ``s`` is 0 (rank below n - 1)
    the adjugate is 0; a solve with ones finds those matrices (it overflows)."""
    n = a.shape[-1]
    if n == 1:
        return a[..., 0, 0], b
    lu, pivots, perm = _la.lu(a)
    partial = _cumprod(_la.diagonal(lu), axis=-1) * _lu_parity(pivots, a.dtype)[..., None]
    d, s = partial[..., -1], partial[..., -2]
    corner = (_arange(n) == n - 1)[:, None] & (_arange(n) == n - 1)[None, :]
    u = _where(corner, (1 / s)[..., None, None], lu)
    probe = _la.triangular_solve(u, _ones_like(b[..., :1]), left_side=True, lower=False)
    low_rank = _any(~_isfinite(probe), axis=(-2, -1))[..., None, None]
    x = _take_along_axis(_where(low_rank, 0, b), perm[..., :, None], axis=-2)
    x = _la.triangular_solve(lu, x, left_side=True, lower=True, unit_diagonal=True)
    last_row = (_arange(n) == n - 1)[:, None]
    x = _where(last_row, x, x * d[..., None, None])
    x = _la.triangular_solve(u, x, left_side=True, lower=False)
    return d, _where(low_rank, 0, x)


def slogdet(a, *, method=None):
    if method not in (None, "lu"):
        raise NotImplementedError(f"linalg.slogdet: method={method!r} is not supported "
                                  f"(supported: 'lu'){_at_user()}")
    diag, parity = _lu_det_parts("slogdet", a)
    mag = _abs(diag)
    singular = _any(diag == 0, axis=-1)
    logabsdet = _where(singular, -_onp.inf, _sum(_log(mag), axis=-1))
    if _dtypes.is_complex(diag.dtype):
        unit = diag / _where(mag == 0, 1, mag).astype(diag.dtype)
    else:
        unit = _sign(diag)
    sign = _where(singular, 0, parity * _prod(unit, axis=-1))
    return SlogdetResult(sign, logabsdet)


def matrix_power(a, n):
    (a,) = _matrices("matrix_power", a, square=True)
    if not isinstance(n, (int, _onp.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be a Python int, got {n!r}{_at_user()}")
    n = int(n)
    if n < 0:
        a, n = inv(a), -n
    result, power = None, a
    while n:   # square and multiply
        if n & 1:
            result = power if result is None else _la.matmul(result, power)
        n >>= 1
        if n:
            power = _la.matmul(power, power)
    return _broadcast_to(_la.eye_like(a), a.shape) if result is None else result


def _default_rtol(a):
    return 10.0 * max(a.shape[-2:]) * float(_dtypes.finfo(_dtypes.real_dtype(a.dtype)).eps)


def pinv(a, rtol=None, hermitian: bool = False):
    """Moore-Penrose pseudo-inverse from the SVD; singular values below ``rtol * max(s)``
    count as zero.  Its derivative is the pseudo-inverse's own (below), not the SVD's,
    which is NaN at repeated singular values (the identity, any diagonal matrix)."""
    (a,) = _matrices("pinv", a)
    rtol = _default_rtol(a) if rtol is None else rtol
    return _pinv(a, rtol, hermitian)


def _pinv_value(a, rtol, hermitian):
    u, s, vh = svd(a, full_matrices=False, hermitian=hermitian)
    cutoff = _asarray(rtol, s.dtype)[..., None] * _max(s, axis=-1, keepdims=True)
    s_inv = _where(s > cutoff, 1 / _where(s > cutoff, s, 1), 0).astype(a.dtype)
    return _la.matmul(_la.adjoint(vh) * s_inv[..., None, :], _la.adjoint(u))


_pinv = _custom_jvp(_pinv_value, nondiff_argnums=(1, 2))


@_pinv.defjvp
def _pinv_jvp(rtol, hermitian, primals, tangents):
    # Golub & Pereyra (1973), as JAX: dp = -p da p + (I - p a) da^H p^H p
    #                                           + p p^H da^H (I - a p)
    (a,), (da,) = primals, tangents
    p = _pinv(a, rtol, hermitian)
    adj, mm = _la.adjoint, _la.matmul
    dah = adj(da)
    m, n = a.shape[-2:]
    eye_n = _onp.eye(n, dtype=a.dtype)
    eye_m = _onp.eye(m, dtype=a.dtype)
    dp = (-mm(mm(p, da), p) + mm(mm(eye_n - mm(p, a), dah), mm(adj(p), p))
          + mm(mm(mm(p, adj(p)), dah), eye_m - mm(a, p)))
    return p, dp


def matrix_rank(M, rtol=None, *, tol=None):
    (M,) = _matrices("matrix_rank", M)
    s = svd(M, compute_uv=False)
    if tol is None:
        rtol = _default_rtol(M) if rtol is None else rtol
        tol = _asarray(rtol, s.dtype)[..., None] * _max(s, axis=-1, keepdims=True)
    else:
        tol = _asarray(tol, s.dtype)[..., None]
    return _sum(s > tol, axis=-1)


def lstsq(a, b, rcond=None, *, numpy_resid: bool = False):
    """Least squares ``argmin |a x - b|`` through the SVD: ``(x, resid, rank, s)``."""
    a, b = _promote_dtypes_inexact(_asarray(a), _asarray(b))
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"linalg.lstsq: needs a of shape (m, n) and b of shape (m,) or "
                         f"(m, k), got {a.shape} and {b.shape}{_at_user()}")
    (a, b2) = _matrices("lstsq", a, b if b.ndim == 2 else b[:, None])
    m, n = a.shape
    rcond = float(_dtypes.finfo(_dtypes.real_dtype(a.dtype)).eps) * max(m, n) \
        if rcond is None else rcond
    u, s, vh = svd(a, full_matrices=False)
    keep = s > rcond * _max(s) if s.size else s > 0
    rank = _sum(keep)
    s_inv = _where(keep, 1 / _where(keep, s, 1), 0).astype(a.dtype)
    x = _la.matmul(_la.adjoint(vh), s_inv[:, None] * _la.matmul(_la.adjoint(u), b2))
    fit = b2 - _la.matmul(a, x)
    resid = _sum(_real(fit * _conj(fit)), axis=0)
    if numpy_resid and (rank < n or m <= n):
        resid = _zeros((0,), resid.dtype)   # NumPy's convention; shapes are static here
    if b.ndim == 1:   # (resid keeps its length-1 axis, as NumPy's and JAX's)
        x = x[:, 0]
    return x, resid, rank, s


def matrix_transpose(x):
    x = _asarray(x)
    if x.ndim < 2:
        raise ValueError(f"linalg.matrix_transpose: x must have at least 2 dimensions, got "
                         f"shape {x.shape}{_at_user()}")
    return _la.swap_last(x)


# --- products and inverses of tensors, the condition number ---------------------------------

def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors along ``axis`` (the array API's, stricter than
    ``numpy.cross``: both operands have length 3 there)."""
    x1, x2 = _asarray(x1), _asarray(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(f"linalg.cross: both inputs must have length 3 along axis {axis}, "
                         f"got shapes {x1.shape} and {x2.shape}{_at_user()}")
    return _cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset=0):
    """The diagonals of the last two axes."""
    return _diagonal(_asarray(x), offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the diagonals of the last two axes."""
    return _trace(_asarray(x), offset, -2, -1, dtype)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None):
    return _tensordot(x1, x2, axes, precision=precision,
                      preferred_element_type=preferred_element_type)


def multi_dot(arrays, *, precision=None):
    """``arrays[0] @ arrays[1] @ ...`` in the cheapest order: the classic matrix-chain
    dynamic programme over the shapes (the first and last array may be vectors)."""
    arrs = [_asarray(a) for a in arrays]
    if len(arrs) < 2:
        raise ValueError(f"linalg.multi_dot: needs at least two arrays, got {len(arrs)}"
                         f"{_at_user()}")
    shapes = [a.shape for a in arrs]
    if not (arrs[0].ndim in (1, 2) and arrs[-1].ndim in (1, 2)
            and all(a.ndim == 2 for a in arrs[1:-1])):
        raise ValueError(f"linalg.multi_dot: the arrays must be 2-d, except the first and "
                         f"last, which may be 1-d; got shapes {shapes}{_at_user()}")
    if any(a.shape[-1] != b.shape[0] for a, b in zip(arrs[:-1], arrs[1:])):
        raise ValueError(f"linalg.multi_dot: the last dimension of each array must match "
                         f"the first of the next; got shapes {shapes}{_at_user()}")
    # dims[i], dims[i + 1]: the (rows, columns) of array i, a vector counting as 1 x n
    dims = [1 if arrs[0].ndim == 1 else arrs[0].shape[0]] + [a.shape[-1] for a in arrs[:-1]] \
        + [1 if arrs[-1].ndim == 1 else arrs[-1].shape[-1]]
    n = len(arrs)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                for k in range(i, j))

    def product(i, j):
        if i == j:
            return arrs[i]
        k = split[i][j]
        return _matmul(product(i, k), product(k + 1, j), precision=precision)
    return product(0, n - 1)


def tensorinv(a, ind=2):
    """The inverse of ``a`` seen as a map from its last axes to its first ``ind`` axes."""
    a = _asarray(a)
    if not isinstance(ind, int) or ind <= 0:
        raise ValueError(f"linalg.tensorinv: ind must be a positive int, got {ind!r}"
                         f"{_at_user()}")
    out_shape, in_shape = a.shape[:ind], a.shape[ind:]
    rows = int(_onp.prod(out_shape))
    if rows != int(_onp.prod(in_shape)):
        raise ValueError(f"linalg.tensorinv: the first {ind} axes of {a.shape} must hold as "
                         f"many elements as the rest{_at_user()}")
    return _reshape(inv(_reshape(a, (rows, rows))), in_shape + out_shape)


def tensorsolve(a, b, axes=None):
    """``x`` with ``tensordot(a, x, x.ndim) == b``."""
    a, b = _asarray(a), _asarray(b)
    if axes is not None:
        axes = [_canonicalize_axis(ax, a.ndim, "linalg.tensorsolve") for ax in axes]
        a = _moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    x_shape = a.shape[b.ndim:]
    n = int(_onp.prod(x_shape))
    if int(_onp.prod(a.shape[:b.ndim])) != n or a.shape[:b.ndim] != b.shape:
        raise ValueError(f"linalg.tensorsolve: a of shape {a.shape} does not map an array of "
                         f"shape {x_shape} onto b of shape {b.shape}{_at_user()}")
    return _reshape(solve(_reshape(a, (n, n)), _reshape(b, (n,))), x_shape)


def cond(x, p=None):
    """The condition number in the norm ``p`` (singular values for None, 2, -2); inf where
    the matrix is singular (a NaN the inverse made where ``x`` holds none)."""
    x = _asarray(x)
    if x.ndim < 2 or x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"linalg.cond: needs a non-empty matrix (or a stack of them), got "
                         f"shape {x.shape}{_at_user()}")
    if p is None or p == 2:
        s = svdvals(x)
        return s[..., 0] / s[..., -1]
    if p == -2:
        s = svdvals(x)
        r = s[..., -1] / s[..., 0]
    else:
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(f"linalg.cond: p={p!r} needs a square matrix, got shape "
                             f"{x.shape}{_at_user()}")
        r = norm(x, ord=p, axis=(-2, -1)) * norm(inv(x), ord=p, axis=(-2, -1))
    made_nan = _isnan(r) & ~_any(_isnan(x), axis=(-2, -1))
    return _where(made_nan, _onp.inf, r)
