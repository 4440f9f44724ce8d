"""``polyfit``: least squares over a Vandermonde matrix, so it sits above ``linalg``
(it solves with ``linalg.lstsq``) and beside nothing else."""
from __future__ import annotations

import operator


from primitives import dtypes as _dt

from ..core import Tracer, where as _where_msg
from ._core import asarray, promote_dtypes_inexact
from ._ufuncs import sqrt
from ._reductions import sum
from ._linalg_ops import dot, outer
from ._polynomial import vander
from . import linalg

__all__ = ["polyfit"]


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares polynomial of degree ``deg`` through ``(x, y)``, highest power
    first (as ``jax.numpy.polyfit``: the Vandermonde columns are scaled to unit norm
    before ``lstsq``); ``full`` adds residuals, rank, singular values and ``rcond``,
    ``cov`` the coefficients' covariance."""
    if isinstance(deg, Tracer):
        raise TypeError(f"polyfit: deg must be a concrete int, not a traced value"
                        f"{_where_msg()}")
    deg = operator.index(deg)
    x, y = asarray(x), asarray(y)
    if deg < 0:
        raise ValueError(f"polyfit: expected deg >= 0, got {deg}{_where_msg()}")
    if x.ndim != 1 or x.size == 0:
        raise TypeError(f"polyfit: x must be a non-empty 1-d array, got shape {x.shape}"
                        f"{_where_msg()}")
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise TypeError(f"polyfit: y must be 1-d or 2-d with x's length {x.shape[0]}, got "
                        f"shape {y.shape}{_where_msg()}")
    order = deg + 1
    if rcond is None:
        rcond = len(x) * float(_dt.finfo(_dt.to_inexact(x.dtype)).eps)
    if isinstance(rcond, Tracer):
        raise TypeError(f"polyfit: rcond must be a concrete float{_where_msg()}")
    rcond = float(rcond)
    lhs, rhs = vander(x, order), y
    if w is not None:
        (w,) = promote_dtypes_inexact(asarray(w))
        if w.ndim != 1 or w.shape[0] != y.shape[0]:
            raise TypeError(f"polyfit: w must be 1-d with y's length {y.shape[0]}, got "
                            f"shape {w.shape}{_where_msg()}")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
    scale = sqrt(sum(lhs * lhs, axis=0))
    lhs = lhs / scale[None, :]
    c, resids, rank, s = linalg.lstsq(lhs, rhs, rcond)
    c = (c.T / scale[None, :]).T if c.ndim > 1 else c / scale
    if full:
        return c, resids, rank, s, asarray(rcond)
    if not cov:
        return c
    base = linalg.inv(dot(lhs.T, lhs)) / outer(scale, scale)
    if cov == "unscaled":
        fac = asarray(1.0)
    else:
        if len(x) <= order:
            raise ValueError(f"polyfit: the number of data points ({len(x)}) must exceed "
                             f"deg + 1 ({order}) to scale the covariance{_where_msg()}")
        fac = resids / (len(x) - order)
    fac = fac.reshape((-1,)) if fac.ndim else fac.reshape((1,))
    if y.ndim == 1:
        return c, base * fac[None]
    return c, base[:, :, None] * fac[None, None, :]
