"""``xform.scipy.linalg``: SciPy-style triangular and Cholesky/LU solves, as ``jax.scipy.linalg``."""
from __future__ import annotations

from .. import numpy as jnp
from ..core import where
from ..lax import linalg as _la

_TRANS = {0: (False, False), "N": (False, False), 1: (True, False), "T": (True, False),
          2: (True, True), "C": (True, True)}


def _inexact(*xs):
    return jnp.promote_dtypes_inexact(*[jnp.asarray(x) for x in xs])


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     debug=None, check_finite=True):
    """``a x = b`` for triangular ``a``; ``trans`` 0/'N', 1/'T' or 2/'C' applies to ``a``."""
    if trans not in _TRANS:
        raise ValueError(f"scipy.linalg.solve_triangular: trans must be 0, 1, 2, 'N', 'T' or "
                         f"'C', got {trans!r}{where()}")
    a, b = _inexact(a, b)
    transpose_a, conjugate_a = _TRANS[trans]
    vector = b.ndim == a.ndim - 1
    x = _la.triangular_solve(a, b[..., None] if vector else b, left_side=True, lower=lower,
                             transpose_a=transpose_a, conjugate_a=conjugate_a,
                             unit_diagonal=unit_diagonal)
    return x[..., 0] if vector else x


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)``: the Cholesky factor in the requested triangle, for ``cho_solve``."""
    (a,) = _inexact(a)
    l = _la.cholesky(a)
    return (l if lower else _la.adjoint(l)), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``a x = b`` from ``cho_factor(a)``."""
    c, lower = c_and_lower
    c, b = _inexact(c, b)
    # a = l l^H: solve with l, then with l^H (c holds l, or u = l^H)
    y = solve_triangular(c, b, trans=0 if lower else 2, lower=lower)
    return solve_triangular(c, y, trans=2 if lower else 0, lower=lower)


def lu_factor(a, overwrite_a=False, check_finite=True):
    """``(lu, pivots)`` as LAPACK's getrf (0-based pivots)."""
    (a,) = _inexact(a)
    lu, pivots, _ = _la.lu(a)
    return lu, pivots
