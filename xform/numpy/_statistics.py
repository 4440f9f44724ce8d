"""Order statistics (``quantile``, ``percentile``, ``median`` and their NaN-ignoring
versions), ``cov``/``corrcoef``, counting and histograms (``bincount``, ``histogram*``),
and ``interp``."""
from __future__ import annotations

import builtins
import math
import operator

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import bool_, int32

from .. import lax
from ..core import where as _where_msg
from ._core import (asarray, astype, canonicalize_axes, promote_dtypes_inexact, result_type,
                    shape_of, stack, _concrete)
from ._dtypes import finfo, _inexact
from ._shape import atleast_2d, broadcast_to, concatenate, reshape, squeeze, transpose
from ._creation import full, ones, ones_like, zeros
from ._ufuncs import (abs, ceil, clip, conj, equal, floor, greater, imag, isnan, less, less_equal,
                      logical_not, real, remainder, sqrt)
from ._reductions import any, max, mean, min, sum
from ._ranges import linspace
from ._selection import where
from ._indexing import take, take_along_axis
from ._linalg_ops import diagonal, dot
from ._sorting import searchsorted, sort
from ._polynomial import diff

__all__ = ["quantile", "nanquantile", "percentile", "nanpercentile", "median", "nanmedian", "cov",
           "corrcoef", "bincount", "histogram_bin_edges", "histogram", "histogramdd",
           "histogram2d", "interp"]


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, a, q, axis, method, keepdims, skip_nans):
    """Sorted values at the positions ``q * (n - 1)``, interpolated by ``method``; with
    ``skip_nans`` n counts the non-NaN entries (sorted NaNs go last)."""
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"{op}: method must be one of {_QUANTILE_METHODS}, got {method!r}")
    a, q = asarray(a), asarray(q)
    (a,) = promote_dtypes_inexact(a)
    if _dt.is_complex(a.dtype):
        raise ValueError(f"{op} does not support complex input{_where_msg()}")
    if q.ndim > 1:
        raise ValueError(f"{op}: q must have rank <= 1, got shape {q.shape}")
    (q,) = promote_dtypes_inexact(q)
    axes = canonicalize_axes(axis, a.ndim, op)
    kept = [d for d in range(a.ndim) if d not in axes]
    moved = transpose(a, kept + list(axes))
    flat = reshape(moved, [a.shape[d] for d in kept] + [-1])
    n_all = flat.shape[-1]
    if skip_nans:
        n = sum(logical_not(isnan(flat)), -1, dtype=q.dtype, keepdims=True)
    else:
        flat = where(any(isnan(flat), -1, keepdims=True), asarray(_onp.nan, flat.dtype), flat)
        n = full((1,) * flat.ndim, n_all, q.dtype)
    s = sort(flat, -1)
    qs = reshape(q, q.shape + (1,) * flat.ndim)                # q dims first
    pos = qs * (n - 1)
    low, high = floor(pos), ceil(pos)
    high_w = pos - low
    low = astype(clip(low, 0, n - 1), int32)
    high = astype(clip(high, 0, n - 1), int32)
    sb = broadcast_to(s, q.shape + s.shape)

    def pick(idx):
        idx = broadcast_to(idx, q.shape + s.shape[:-1] + (1,))
        return take_along_axis(sb, idx, axis=-1)[..., 0]
    lo_v, hi_v = pick(low), pick(high)
    high_w = broadcast_to(high_w, q.shape + s.shape[:-1] + (1,))[..., 0]
    if method == "linear":
        out = lo_v * (1 - high_w) + hi_v * high_w
    elif method == "lower":
        out = lo_v
    elif method == "higher":
        out = hi_v
    elif method == "nearest":
        out = where(less_equal(high_w, 0.5), lo_v, hi_v)
    else:
        out = (lo_v + hi_v) * 0.5
    if keepdims:
        shape = list(a.shape)
        for d in axes:
            shape[d] = 1
        out = reshape(out, q.shape + tuple(shape))
    return astype(out, result_type(a, q)) if out.dtype != result_type(a, q) else out


def _no_out(op, out, overwrite_input):
    if out is not None or overwrite_input:
        raise ValueError(f"{op}: out= and overwrite_input=True are not supported (arrays are "
                         f"immutable); use the return value")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    _no_out("quantile", out, overwrite_input)
    if weights is not None:
        raise NotImplementedError("quantile: weights= is not supported")
    return _quantile("quantile", a, q, axis, method, keepdims, False)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False):
    _no_out("nanquantile", out, overwrite_input)
    return _quantile("nanquantile", a, q, axis, method, keepdims, True)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False):
    _no_out("percentile", out, overwrite_input)
    (q,) = promote_dtypes_inexact(asarray(q))
    return _quantile("percentile", a, q / 100, axis, method, keepdims, False)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False):
    _no_out("nanpercentile", out, overwrite_input)
    (q,) = promote_dtypes_inexact(asarray(q))
    return _quantile("nanpercentile", a, q / 100, axis, method, keepdims, True)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _no_out("median", out, overwrite_input)
    return _quantile("median", a, 0.5, axis, "midpoint", keepdims, False)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _no_out("nanmedian", out, overwrite_input)
    return _quantile("nanmedian", a, 0.5, axis, "midpoint", keepdims, True)


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
        dtype=None):
    m = atleast_2d(asarray(m))
    if m.ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {m.shape})")
    if not rowvar and m.shape[0] != 1:
        m = m.T
    if y is not None:
        y = atleast_2d(asarray(y))
        if not rowvar and y.shape[0] != 1:
            y = y.T
        m = concatenate([m, y], 0)
    (m,) = promote_dtypes_inexact(m)
    if dtype is not None:
        m = astype(m, dtype)
    ddof = (0 if bias else 1) if ddof is None else ddof
    w = None
    if fweights is not None:
        w = asarray(fweights)
    if aweights is not None:
        aw = asarray(aweights)
        w = aw if w is None else w * aw
    if w is None:
        n = m.shape[1]
        avg = mean(m, 1, keepdims=True)
        fact = n - ddof
    else:
        w = astype(w, m.dtype)
        wsum = sum(w)
        avg = sum(m * w, 1, keepdims=True) / wsum
        fact = wsum - ddof if aweights is None else \
            wsum - ddof * sum(w * astype(asarray(aweights), m.dtype)) / wsum
    x = m - avg
    xw = x if w is None else x * w
    c = dot(xw, conj(x).T) / fact
    return squeeze(c) if c.shape == (1, 1) else c


def corrcoef(x, y=None, rowvar=True, dtype=None):
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = diagonal(c)
    stddev = sqrt(real(d))
    c = c / stddev[:, None] / stddev[None, :]
    if _dt.is_complex(c.dtype):
        return lax.complex(clip(real(c), -1, 1), clip(imag(c), -1, 1))
    return clip(c, -1, 1)


def bincount(x, weights=None, minlength=0, *, length=None):
    x = asarray(x)
    if x.dtype == bool_:
        x = astype(x, int32)
    if not _dt.is_int(x.dtype):
        raise TypeError(f"bincount: x must have an integer type, got {x.dtype}{_where_msg()}")
    if x.ndim != 1:
        raise ValueError(f"bincount: only 1-dimensional input is supported, got {x.shape}")
    minlength = operator.index(minlength)
    if length is None:
        vals = _concrete(x, "bincount", "x", "pass length=N, the number of bins")
        length = builtins.max(minlength, builtins.int(vals.max()) + 1 if vals.size else 0)
    w = asarray(1, _dt.default_int()) if weights is None else asarray(weights)
    if weights is not None and w.shape != x.shape:
        raise ValueError(f"bincount: weights shape {w.shape} must match x shape {x.shape}")
    return zeros(length, w.dtype).at[clip(x, 0)].add(w, mode="drop")


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    if isinstance(bins, str):
        raise NotImplementedError("histogram_bin_edges: string values of bins (estimators) "
                                  "are not supported; pass a number of bins or the edges")
    a = asarray(a)
    dt = _inexact(a.dtype)
    if _onp.ndim(bins) == 1:
        return asarray(bins, dt)
    nbins = operator.index(_concrete(bins, "histogram_bin_edges", "bins",
                                     "pass a Python int").item())
    lo, hi = (min(a), max(a)) if range is None else (asarray(range[0]), asarray(range[1]))
    lo, hi = astype(lo, dt), astype(hi, dt)
    flat = equal(lo, hi)
    lo, hi = where(flat, lo - 0.5, lo), where(flat, hi + 0.5, hi)
    return linspace(lo, hi, nbins + 1, dtype=dt)


def histogram(a, bins=10, range=None, weights=None, density=None):
    a = asarray(a)
    if weights is None:
        (a,) = promote_dtypes_inexact(a)
        weights = ones_like(a)
    else:
        if shape_of(weights) != a.shape:
            raise ValueError(f"histogram: weights shape {shape_of(weights)} must match a's "
                             f"shape {a.shape}")
        a, weights = promote_dtypes_inexact(a, asarray(weights))
    edges = histogram_bin_edges(a, bins, range)
    idx = searchsorted(edges, a, side="right")
    idx = where(equal(a, edges[-1]), edges.shape[0] - 1, idx)
    counts = zeros(edges.shape[0], weights.dtype).at[idx].add(weights)[1:]
    if density:
        counts = counts / diff(edges) / sum(counts)
    return counts, edges


def histogramdd(sample, bins=10, range=None, weights=None, density=None):
    sample = asarray(sample)
    if sample.ndim != 2:
        raise ValueError(f"histogramdd: sample must be 2-dimensional (N, D), got {sample.shape}")
    n, d = sample.shape
    if weights is not None and shape_of(weights) != (n,):
        raise ValueError(f"histogramdd: weights shape {shape_of(weights)} must be ({n},)")
    bins_per = bins if isinstance(bins, (list, tuple)) else [bins] * d
    ranges = range if range is not None else [None] * d
    if len(bins_per) != d or len(ranges) != d:
        raise ValueError(f"histogramdd: need one bins/range entry per dimension ({d})")
    edges, flat_idx, shape = [], None, []
    for k in builtins.range(d):
        e = histogram_bin_edges(sample[:, k], bins_per[k], ranges[k])
        col = sample[:, k]
        i = searchsorted(e, col, side="right")
        i = where(equal(col, e[-1]), e.shape[0] - 1, i)
        edges.append(e)
        shape.append(e.shape[0] + 1)
        flat_idx = i if flat_idx is None else flat_idx * (e.shape[0] + 1) + i
    # unweighted counts are integers (as in JAX), made float by density
    w = ones(n, _dt.default_int()) if weights is None else asarray(weights)
    counts = zeros(math.prod(shape), w.dtype).at[flat_idx].add(w)
    counts = reshape(counts, shape)[(builtins.slice(1, -1),) * d]
    if density:
        counts = counts / astype(sum(counts), _inexact(counts.dtype))
        for k, e in enumerate(edges):
            width = reshape(diff(e), [-1 if j == k else 1 for j in builtins.range(d)])
            counts = counts / width
    return counts, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):
    if not isinstance(bins, (list, tuple)) and _onp.ndim(bins) == 1:
        bins = [bins, bins]
    counts, (ex, ey) = histogramdd(stack([asarray(x), asarray(y)], 1), bins, range, weights,
                                   density)
    return counts, ex, ey


def interp(x, xp, fp, left=None, right=None, period=None):
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    if xp.ndim != 1 or xp.shape != fp.shape:
        raise ValueError(f"interp: xp and fp must be 1-dimensional of equal size, got "
                         f"{xp.shape} and {fp.shape}")
    x, xp = promote_dtypes_inexact(x, xp)
    (fp,) = promote_dtypes_inexact(fp)
    if _dt.is_complex(x.dtype):
        raise ValueError("interp: complex x values are not supported")
    for name, v in (("left", left), ("right", right)):
        if isinstance(v, str) and v != "extrapolate":
            raise ValueError(f"interp: the only string value of {name} is 'extrapolate', "
                             f"got {v!r}")
    if period is not None:
        period = abs(asarray(period))
        x, xp = remainder(x, period), remainder(xp, period)
        xp, fp = lax.sort((xp, fp), num_keys=1)
        xp = concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = concatenate([fp[-1:], fp, fp[:1]])
    i = clip(searchsorted(xp, x, side="right"), 1, xp.shape[0] - 1)
    x0, x1, f0, f1 = take(xp, i - 1), take(xp, i), take(fp, i - 1), take(fp, i)
    dx = x1 - x0
    flat = less_equal(abs(dx), _onp.spacing(finfo(xp.dtype).eps))
    f = where(flat, f0, f0 + (x - x0) / where(flat, ones_like(dx), dx) * (f1 - f0))
    if period is None:
        if not isinstance(left, str):
            f = where(less(x, xp[0]), fp[0] if left is None else asarray(left, f.dtype), f)
        if not isinstance(right, str):
            f = where(greater(x, xp[-1]), fp[-1] if right is None else asarray(right, f.dtype), f)
    return f
