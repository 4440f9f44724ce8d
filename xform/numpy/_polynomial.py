"""Differences and integration (``diff``, ``ediff1d``, ``gradient``, ``trapezoid``,
``unwrap``), 1-d convolution (``convolve``, ``correlate``) and the polynomial functions
(``polyval``, ``polyadd``, ..., ``poly``, ``roots``, ``vander``)."""
from __future__ import annotations

import builtins
import operator

import numpy as _onp

from primitives import dtypes as _dt
from primitives.dtypes import bool_

from .. import lax
from ._core import (_concrete, asarray, astype, canonicalize_axes, canonicalize_axis,
                    promote_dtypes, promote_dtypes_inexact, stack)
from ._shape import broadcast_to, concatenate, expand_dims, flip, moveaxis, ravel, reshape
from ._creation import arange, eye, ones, zeros, zeros_like
from ._ufuncs import (abs, conj, equal, greater, less, logical_and, negative, not_equal, power,
                      real, remainder)
from ._reductions import all, argmin, cumsum, sum
from ._selection import where
from ._editing import pad, roll
from ._sorting import isin

__all__ = ["diff", "ediff1d", "gradient", "trapezoid", "convolve", "correlate", "polyval",
           "polyadd", "polysub", "polymul", "polyder", "polyint", "polydiv", "poly", "roots",
           "vander", "unwrap"]


def diff(a, n=1, axis=-1, prepend=None, append=None):
    a = asarray(a)
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    if a.ndim == 0:
        raise ValueError("diff: requires an input of at least one dimension")
    ax = canonicalize_axis(axis, a.ndim, "diff")
    parts = [a]
    if prepend is not None:
        parts.insert(0, _diff_edge(prepend, a, ax))
    if append is not None:
        parts.append(_diff_edge(append, a, ax))
    a = concatenate(parts, ax) if len(parts) > 1 else a
    for _ in builtins.range(n):
        hi = lax.slice_in_dim(a, 1, a.shape[ax], 1, ax)
        lo = lax.slice_in_dim(a, 0, a.shape[ax] - 1, 1, ax)
        a = not_equal(hi, lo) if a.dtype == bool_ else hi - lo
    return a


def _diff_edge(extra, a, ax):
    """``prepend``/``append`` of ``diff``: a scalar becomes a slice of length 1."""
    e = asarray(extra)
    if e.ndim:
        return e
    shape = list(a.shape)
    shape[ax] = 1
    return broadcast_to(e, shape)


def ediff1d(ary, to_end=None, to_begin=None):
    d = diff(ravel(ary))
    pieces = [ravel(asarray(to_begin, d.dtype))] if to_begin is not None else []
    pieces.append(d)
    if to_end is not None:
        pieces.append(ravel(asarray(to_end, d.dtype)))
    return concatenate(pieces) if len(pieces) > 1 else d


def gradient(f, *varargs, axis=None, edge_order=None):
    """Central differences inside, one-sided at the edges; spacing a scalar or coordinates."""
    if edge_order is not None:
        raise NotImplementedError("gradient: edge_order is not supported (first-order edges "
                                  "only, as in JAX)")
    a, *spacing = promote_dtypes_inexact(asarray(f), *varargs)
    axes = canonicalize_axes(axis, a.ndim, "gradient")
    if not axes:
        return []
    if builtins.min(a.shape[ax] for ax in axes) < 2:
        raise ValueError("gradient: the array is too small to compute a numerical gradient, "
                         "at least 2 elements along each axis are required")
    if not spacing:
        spacing = [1.0] * len(axes)
    elif len(spacing) == 1:
        spacing = spacing * len(axes)
    elif len(spacing) != len(axes):
        raise TypeError(f"gradient: {len(spacing)} spacing arguments for {len(axes)} axes")

    def along(ax, h):
        def sl(x, lo, hi):
            return lax.slice_in_dim(x, lo, hi % x.shape[ax] if hi < 0 else hi, 1, ax)
        n = a.shape[ax]
        first = sl(a, 1, 2) - sl(a, 0, 1)
        last = sl(a, n - 1, n) - sl(a, n - 2, n - 1)
        h = asarray(h)
        if h.ndim == 0:
            inner = (sl(a, 2, n) - sl(a, 0, n - 2)) * 0.5 / h
            first, last = first / h, last / h
        elif h.ndim == 1:
            if h.shape[0] != n:
                raise ValueError("gradient: a spacing array must be as long as its axis")
            h = reshape(h, [n if d == ax else 1 for d in builtins.range(a.ndim)])
            first = first / (sl(h, 1, 2) - sl(h, 0, 1))
            last = last / (sl(h, n - 1, n) - sl(h, n - 2, n - 1))
            d1 = sl(h, 1, n - 1) - sl(h, 0, n - 2)
            d2 = sl(h, 2, n) - sl(h, 1, n - 1)
            inner = (-d2 / (d1 * (d1 + d2)) * sl(a, 0, n - 2) + (d2 - d1) / (d1 * d2)
                     * sl(a, 1, n - 1) + d1 / (d2 * (d1 + d2)) * sl(a, 2, n))
        else:
            raise ValueError("gradient: spacing must be scalars or 1-d coordinate arrays")
        return concatenate([first, inner, last], ax)
    out = [along(ax, h) for ax, h in zip(axes, spacing)]
    return out[0] if len(out) == 1 else out


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoid rule along ``axis``, computed as JAX does: with a constant spacing,
    ``dx * (sum(y) - (y[0] + y[-1]) / 2)`` (so inf and -inf samples give NaN there too),
    else the sum of ``dx_i * (y_i + y_{i+1}) / 2``."""
    if x is None:
        (y,) = promote_dtypes_inexact(asarray(y))
        d = asarray(dx)
        if d.ndim > 0:   # spacings per sample, broadcast against y
            d = moveaxis(reshape(d, (1,) * (y.ndim - d.ndim) + d.shape), axis, -1)
    else:
        y, x = promote_dtypes_inexact(asarray(y), asarray(x))
        d = diff(x) if x.ndim == 1 else moveaxis(diff(x, axis=axis), axis, -1)
    y = moveaxis(y, axis, -1)
    if d.ndim == 0 or d.shape[-1] == 1:
        d = d if d.ndim == 0 else d[..., 0]
        return d * (sum(y, -1) - 0.5 * (y[..., 0] + y[..., -1]))
    return 0.5 * sum(d * (y[..., 1:] + y[..., :-1]), -1)


def _conv1d(op, x, y, mode, precision=None, preferred_element_type=None):
    x, y = asarray(x), asarray(y)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{op}: only 1-dimensional inputs are supported, got shapes "
                         f"{x.shape} and {y.shape}")
    x, y = promote_dtypes_inexact(x, y)
    if x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError(f"{op}: inputs cannot be empty, got shapes {x.shape} and {y.shape}")
    reverse_out = False
    if op == "correlate":
        y = conj(y)
        if x.shape[0] < y.shape[0]:
            x, y, reverse_out = y, x, True
    else:
        if x.shape[0] < y.shape[0]:
            x, y = y, x
        y = flip(y)
    m = y.shape[0]
    pads = {"valid": (0, 0), "same": (m // 2, m - m // 2 - 1), "full": (m - 1, m - 1)}
    if mode not in pads:
        raise ValueError(f"{op}: mode must be one of ['full', 'same', 'valid'], got {mode!r}")
    out = lax.conv_general_dilated(reshape(x, (1, 1, -1)), reshape(y, (1, 1, -1)), (1,),
                                   [pads[mode]], precision=precision,
                                   preferred_element_type=preferred_element_type)[0, 0]
    return flip(out) if reverse_out else out


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    return _conv1d("convolve", a, v, mode, precision, preferred_element_type)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    return _conv1d("correlate", a, v, mode, precision, preferred_element_type)


def _poly1d(op, p):
    p = asarray(p)
    if p.ndim != 1:
        raise ValueError(f"{op}: coefficients must be 1-dimensional, got shape {p.shape}")
    return p


def polyval(p, x, *, unroll=16):
    """Horner's rule: ``p[0] * x**(n-1) + ... + p[n-1]``."""
    p, x = promote_dtypes(asarray(p), x)
    x = asarray(x)
    p = _poly1d("polyval", p)
    # a scan over the coefficients, as JAX: its derivatives carry zero tangents through
    # every step (0 * inf is NaN), where a Python loop would drop them symbolically
    y, _ = lax.scan(lambda y, c: (y * x + c, None), zeros_like(x), p, unroll=unroll)
    return y


def polyadd(a1, a2):
    a1, a2 = promote_dtypes(_poly1d("polyadd", a1), _poly1d("polyadd", a2))
    n = builtins.max(a1.shape[0], a2.shape[0])
    return pad(a1, (n - a1.shape[0], 0)) + pad(a2, (n - a2.shape[0], 0))


def polysub(a1, a2):
    return polyadd(a1, negative(asarray(a2)))


def polymul(a1, a2, *, trim_leading_zeros=False):
    if trim_leading_zeros:
        raise NotImplementedError("polymul: trim_leading_zeros=True has a value-dependent "
                                  "shape; call trim_zeros(..., 'f') on concrete inputs instead")
    a1, a2 = promote_dtypes_inexact(_poly1d("polymul", a1), _poly1d("polymul", a2))
    if a1.shape[0] == 0:
        a1 = zeros(1, a1.dtype)
    if a2.shape[0] == 0:
        a2 = zeros(1, a2.dtype)
    return convolve(a1, a2, mode="full")


def polyder(p, m=1):
    p = _poly1d("polyder", p)
    if m < 0:
        raise ValueError(f"polyder: order m must be non-negative, got {m}")
    (p,) = promote_dtypes_inexact(p)
    for _ in builtins.range(m):
        n = p.shape[0]
        p = p[:-1] * arange(n - 1, 0, -1, dtype=p.dtype) if n > 1 else zeros(0, p.dtype)
    return p


def polyint(p, m=1, k=None):
    p = _poly1d("polyint", p)
    if m < 0:
        raise ValueError(f"polyint: order m must be non-negative, got {m}")
    (p,) = promote_dtypes_inexact(p)
    if m == 0:
        return p
    ks = zeros(m, p.dtype) if k is None else broadcast_to(asarray(k, p.dtype), (m,))
    for i in builtins.range(m):
        n = p.shape[0]
        p = concatenate([p / arange(n, 0, -1, dtype=p.dtype), ks[i:i + 1]])
    return p


def polydiv(u, v, *, trim_leading_zeros=False):
    """Quotient and remainder of polynomial long division (leading divisor coefficient
    must be nonzero)."""
    u, v = promote_dtypes_inexact(_poly1d("polydiv", u), _poly1d("polydiv", v))
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = 1.0 / v[0]
    q = zeros(builtins.max(m - n + 1, 1), u.dtype)
    r = u
    for k in builtins.range(0, m - n + 1):
        d = scale * r[k]
        q = q.at[k].set(d)
        r = r.at[k:k + n + 1].add(-d * v)
    if trim_leading_zeros:
        raise NotImplementedError("polydiv: trim_leading_zeros=True has a value-dependent "
                                  "shape; use trim_zeros on concrete results")
    return q, r


def _eigvals(a):
    return lax.linalg.eig(a, compute_left_eigenvectors=False,
                          compute_right_eigenvectors=False)[0]


def _complex_dtype(dtype):
    return _onp.result_type(dtype, _onp.complex64)


def _roots_no_zeros(p):
    """The eigenvalues of the companion matrix of ``p`` (``p[0] != 0``)."""
    n = p.shape[0]
    if n < 2:
        return zeros((0,), _complex_dtype(p.dtype))
    top = reshape(-p[1:] / p[0], (1, n - 1))
    return _eigvals(concatenate([top, eye(n - 2, n - 1, dtype=p.dtype)], 0))


def _roots_with_zeros(p, num_leading_zeros):
    """Roots of ``p`` rolled past its leading zeros; the roots those zeros stand for are
    NaN, at the end (a fixed shape: works under jit)."""
    n = p.shape[0]
    p = where(num_leading_zeros == n, _onp.ones((), p.dtype), p)   # all zero: no LAPACK error
    r = _roots_no_zeros(roll(p, -num_leading_zeros))
    r = lax.sort_key_val(equal(r, 0), r)[1]      # the zero roots to the end
    keep = arange(r.shape[0]) < r.shape[0] - num_leading_zeros
    return where(keep, r, _onp.asarray(complex(_onp.nan, _onp.nan), r.dtype))


def roots(p, *, strip_zeros: bool = True):
    """The roots of the polynomial of coefficients ``p`` (highest power first), complex:
    the eigenvalues of its companion matrix.  Leading zeros are stripped (a shape that
    depends on values: not under jit) or, with ``strip_zeros=False``, give NaN roots."""
    (p,) = promote_dtypes_inexact(asarray(p))
    if p.ndim == 0:
        p = reshape(p, (1,))
    if p.ndim != 1:
        raise ValueError(f"roots: input must be a rank-1 array, got shape {p.shape}")
    if p.shape[0] < 2:
        return zeros((0,), _complex_dtype(p.dtype))
    num_leading_zeros = where(all(equal(p, 0)), p.shape[0], argmin(equal(p, 0)))
    if strip_zeros:
        k = _concrete(num_leading_zeros, "roots", "p", "to use roots under jit, pass "
                      "strip_zeros=False (leading zeros then give NaN roots)")
        return _roots_no_zeros(p[builtins.int(k):])
    return _roots_with_zeros(p, num_leading_zeros)


def poly(seq_of_zeros):
    """Coefficients of the monic polynomial with the given roots (1-d input), or the
    characteristic polynomial of a square matrix (its eigenvalues as roots)."""
    z = asarray(seq_of_zeros)
    (z,) = promote_dtypes_inexact(z)
    if z.ndim == 0:
        z = reshape(z, (1,))
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] != 0:
        z = _eigvals(z)
    if z.ndim != 1:
        raise ValueError(f"poly: input must be 1-d or a non-empty square 2-d array, got "
                         f"shape {z.shape}")
    if z.shape[0] == 0:
        return ones((), z.dtype)
    out = ones(1, z.dtype)
    for i in builtins.range(z.shape[0]):
        out = convolve(out, stack([ones((), z.dtype), -z[i]]), mode="full")
    if _dt.is_complex(out.dtype):
        conj_closed = all(isin(z, conj(z)))  # roots in conjugate pairs: real coefficients
        out = where(conj_closed, astype(real(out), out.dtype), out)
    return out


def vander(x, N=None, increasing=False):
    x = asarray(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-dimensional, got shape {x.shape}")
    N = x.shape[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError(f"vander: N must be non-negative, got {N}")
    powers = arange(N, dtype=_dt.default_int())
    if not increasing:
        powers = flip(powers)
    return power(expand_dims(x, -1), powers)


def unwrap(p, discont=None, axis=-1, period=2 * _onp.pi):
    (p,) = promote_dtypes_inexact(asarray(p))
    if _dt.is_complex(p.dtype):
        raise ValueError("unwrap does not support complex input")
    ax = canonicalize_axis(axis, p.ndim, "unwrap")
    half = asarray(period, p.dtype) / 2
    discont = half if discont is None else asarray(discont, p.dtype)
    dd = diff(p, axis=ax)
    ddmod = remainder(dd + half, asarray(period, p.dtype)) - half
    ddmod = where(logical_and(equal(ddmod, -half), greater(dd, 0)), half, ddmod)
    correction = where(less(abs(dd), discont), zeros_like(dd), ddmod - dd)
    first = lax.slice_in_dim(p, 0, 1, 1, ax)
    return concatenate([first, lax.slice_in_dim(p, 1, p.shape[ax], 1, ax)
                        + cumsum(correction, ax)], ax)
