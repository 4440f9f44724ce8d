"""Special matrices (``toeplitz``, ``hankel``, ``circulant``, ``pascal``, ``dft``, ...) and
``block_diag``, with ``jax.scipy.linalg``'s arguments, dtypes and batching (a leading
batch of vectors gives a batch of matrices)."""
from __future__ import annotations

import math
import operator

import numpy as np

from ... import lax
from ... import numpy as jnp
from ...core import where
from ..special import comb


def _vectors(*xs):
    return [jnp.atleast_1d(jnp.asarray(x)) for x in xs]


def block_diag(*arrs):
    """The block-diagonal matrix of the (at most 2-d) arguments."""
    if not arrs:
        arrs = (jnp.zeros((1, 0)),)
    arrs = jnp.promote_dtypes(*[jnp.asarray(a) for a in arrs])
    for i, a in enumerate(arrs):
        if a.ndim > 2:
            raise ValueError(f"scipy.linalg.block_diag: arguments must have at most 2 "
                             f"dimensions, got shape {a.shape} at argument {i}{where()}")
    blocks = [jnp.atleast_2d(a) for a in arrs]
    total = sum(b.shape[1] for b in blocks)
    rows, start = [], 0
    for b in blocks:
        rows.append(jnp.pad(b, ((0, 0), (start, total - start - b.shape[1]))))
        start += b.shape[1]
    return jnp.concatenate(rows, axis=0)


def _toeplitz_2d(c, r):
    m, n = c.shape[0], r.shape[0]
    dtype = jnp.promote_types(c.dtype, r.dtype)
    if m == 0 or n == 0:
        return jnp.zeros((m, n), dtype)
    # element (i, j) is c[i - j] on and below the diagonal, r[j - i] above
    elems = jnp.concatenate([c[::-1], r[1:]]).astype(dtype)
    return elems[(m - 1) - np.arange(m)[:, None] + np.arange(n)[None, :]]


def toeplitz(c, r=None):
    """The Toeplitz matrix with first column ``c`` and first row ``r`` (``conj(c)`` when
    omitted; ``c[0]`` wins the corner).  Batched over leading axes."""
    c = jnp.asarray(c)
    r = jnp.conj(c) if r is None else jnp.asarray(r)
    c, r = _vectors(c, r)
    return jnp.vectorize(_toeplitz_2d, signature="(m),(n)->(m,n)")(c, r)


def _hankel_2d(c, r):
    m, n = c.shape[0], r.shape[0]
    dtype = jnp.result_type(c, r)
    if m == 0 or n == 0:
        return jnp.zeros((m, n), dtype)
    elems = jnp.concatenate([c, r[1:]]).astype(dtype)   # element (i, j) is elems[i + j]
    return elems[np.arange(m)[:, None] + np.arange(n)[None, :]]


def hankel(c, r=None):
    """The Hankel matrix with first column ``c`` and last row ``r`` (zeros when omitted;
    ``c[-1]`` wins the corner).  Batched over leading axes."""
    c = jnp.asarray(c)
    r = jnp.zeros_like(c) if r is None else jnp.asarray(r)
    for name, x in (("c", c), ("r", r)):
        if x.ndim == 0:
            raise ValueError(f"scipy.linalg.hankel: {name} must be at least 1-d, got a scalar"
                             f"{where()}")
    if c.ndim < r.ndim:
        c = c.reshape((1,) * (r.ndim - c.ndim) + c.shape)
    elif r.ndim < c.ndim:
        r = r.reshape((1,) * (c.ndim - r.ndim) + r.shape)
    return jnp.vectorize(_hankel_2d, signature="(m),(n)->(m,n)")(c, r)


def circulant(c):
    """The circulant matrix with first column ``c``: element ``(i, j)`` is
    ``c[(i - j) % n]``.  Batched over leading axes."""
    (c,) = _vectors(c)
    n = c.shape[-1]
    return c[..., (np.arange(n)[:, None] - np.arange(n)[None, :]) % n]


def leslie(f, s):
    """The Leslie matrix: fecundities ``f`` in the first row, survival rates ``s`` on the
    subdiagonal."""
    f, s = _vectors(f, s)
    if f.shape[-1] < 2:
        raise ValueError(f"scipy.linalg.leslie: f must have length >= 2 along its last axis, "
                         f"got shape {f.shape}{where()}")
    if s.shape[-1] != f.shape[-1] - 1:
        raise ValueError(f"scipy.linalg.leslie: s must be one shorter than f along the last "
                         f"axis, got shapes {f.shape} and {s.shape}{where()}")

    def one(f, s):
        f, s = jnp.promote_dtypes(f, s)
        return jnp.diag(s, k=-1).at[0].set(f)
    return jnp.vectorize(one, signature="(n),(m)->(n,n)")(f, s)


def _coefficients(fname, a, min_length):
    (a,) = jnp.promote_dtypes_inexact(jnp.asarray(a))
    a = jnp.atleast_1d(a)
    if a.shape[-1] < min_length:
        raise ValueError(f"scipy.linalg.{fname}: a must have length >= {min_length} along its "
                         f"last axis, got shape {a.shape}{where()}")
    return a


def companion(a):
    """The companion matrix of the polynomial with coefficients ``a`` (highest degree
    first): ``-a[1:] / a[0]`` in the first row, ones on the subdiagonal."""
    a = _coefficients("companion", a, 2)

    def one(a):
        m = a.shape[0] - 1
        return jnp.eye(m, m, k=-1, dtype=a.dtype).at[0].set(-a[1:] / a[0])
    return jnp.vectorize(one, signature="(n)->(m,m)")(a)


def fiedler(a):
    """The symmetric Fiedler matrix ``|a_i - a_j|``."""
    (a,) = _vectors(a)
    return jnp.abs(a[..., :, None] - a[..., None, :])


def _fiedler_companion_2d(a):
    n = a.shape[0] - 1
    if n == 0:
        return jnp.zeros((0, 0), a.dtype)
    a = a / a[0]
    if n == 1:
        return -a[1:].reshape(1, 1)
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    even, odd = i % 2 == 0, i % 2 == 1
    # a pentadiagonal pattern: -a_1 and 1 in the first column's top, then on even rows
    # -a_(i+2), 1 to the right and -a_(i+1) to the left, on odd rows a 1 two to the left
    above = -a[np.minimum(i + 2, n)]
    below = -a[np.minimum(i + 1, n)]
    one, zero = jnp.ones((), a.dtype), jnp.zeros((), a.dtype)
    out = jnp.where((j == i - 2) & odd & (i >= 3), one, zero)
    out = jnp.where((j == i - 1) & even & (i >= 2), below, out)
    out = jnp.where((j == i + 2) & even, one, out)
    out = jnp.where((j == i + 1) & even, above, out)
    out = jnp.where((i == 1) & (j == 0), one, out)
    return jnp.where((i == 0) & (j == 0), -a[1], out)


def fiedler_companion(a):
    """The Fiedler companion matrix of the polynomial with coefficients ``a`` (a
    pentadiagonal matrix with the roots of the polynomial as eigenvalues)."""
    a = _coefficients("fiedler_companion", a, 1)
    return jnp.vectorize(_fiedler_companion_2d, signature="(n)->(m,m)")(a)


def convolution_matrix(a, n, mode="full"):
    """The Toeplitz matrix ``A`` with ``A @ v == convolve(a, v, mode)`` for ``v`` of
    length ``n``."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"scipy.linalg.convolution_matrix: n must be an int, got {n!r}"
                        f"{where()}") from None
    if n <= 0:
        raise ValueError(f"scipy.linalg.convolution_matrix: n must be positive, got {n}"
                         f"{where()}")
    a = jnp.asarray(a)
    if a.ndim == 0 or a.shape[-1] < 1:
        raise ValueError(f"scipy.linalg.convolution_matrix: a must be a non-empty vector (or "
                         f"a batch of them), got shape {a.shape}{where()}")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"scipy.linalg.convolution_matrix: mode must be 'full', 'valid' or "
                         f"'same', got {mode!r}{where()}")
    m = a.shape[-1]
    pad = [(0, 0)] * (a.ndim - 1) + [(0, n - 1)]
    az, raz = jnp.pad(a, pad), jnp.pad(jnp.flip(a, axis=-1), pad)
    length = m + n - 1
    if mode == "full":
        lo = hi = 0
    elif mode == "valid":
        lo = hi = min(n, m) - 1
    else:
        trim = min(n, m) - 1
        lo, hi = trim // 2, trim - trim // 2
    return toeplitz(az[..., lo:length - hi], raz[..., length - n - lo:length - lo])


def _default_float():
    return jnp.zeros(()).dtype   # float32, or float64 under x64


def hilbert(n):
    """The ``n x n`` Hilbert matrix ``1 / (i + j + 1)``."""
    a = lax.broadcasted_iota(_default_float(), (n, 1), 0)
    return 1 / (a + a.T + 1)


def invhilbert(n):
    """The inverse of the ``n x n`` Hilbert matrix, from its closed form."""
    a = jnp.arange(n, dtype=_default_float())
    i, j = a[:, None], a[None, :]
    s = i + j
    return ((-1.0) ** s * (s + 1.0) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1)
            * comb(s, i) ** 2)


def _binomial(n, k):
    return lax.exp(lax.lgamma(n + 1.0) - lax.lgamma(n - k + 1.0) - lax.lgamma(k + 1.0))


_PASCAL_KINDS = ("symmetric", "lower", "upper")


def _pascal_kind(fname, kind):
    kind = "symmetric" if kind is None else kind
    if kind not in _PASCAL_KINDS:
        raise ValueError(f"scipy.linalg.{fname}: kind must be one of {list(_PASCAL_KINDS)}, "
                         f"got {kind!r}{where()}")
    return kind


def pascal(n, kind=None):
    """The ``n x n`` Pascal matrix (binomial coefficients, from ``lgamma`` in float32 as
    JAX computes them): lower- or upper-triangular, or their symmetric product."""
    kind = _pascal_kind("pascal", kind)
    a = jnp.arange(n, dtype=np.float32)
    low = _binomial(a[:, None], a[None, :])
    return low if kind == "lower" else low.T if kind == "upper" else jnp.dot(low, low.T)


def invpascal(n, kind=None):
    """The inverse of ``pascal(n, kind)``."""
    kind = _pascal_kind("invpascal", kind)
    a = jnp.arange(n, dtype=_default_float())
    i, j = a[:, None], a[None, :]
    low = (-1.0) ** (i - j) * _binomial(i, j)
    return low if kind == "lower" else low.T if kind == "upper" else jnp.dot(low.T, low)


def helmert(n, full=False):
    """The Helmert matrix of order ``n``: ``n - 1`` orthonormal contrasts, with the row
    ``1 / sqrt(n)`` first when ``full``."""
    if n < 1:
        raise ValueError(f"scipy.linalg.helmert: n must be a positive integer, got {n}"
                         f"{where()}")
    i, j = np.arange(n - 1)[:, None], np.arange(n)[None, :]
    k = (i + 1).astype(_default_float())
    denom = jnp.sqrt(jnp.asarray(k) * (k + 1))
    h = jnp.where(j <= i, 1.0 / denom, jnp.where(j == i + 1, -k / denom, jnp.zeros_like(denom)))
    if full:
        h = jnp.concatenate([jnp.full((1, n), 1.0 / jnp.sqrt(n), dtype=h.dtype), h], axis=0)
    return h


def hadamard(n, dtype=int):
    """The ``n x n`` Hadamard matrix (Sylvester's construction; ``n`` a power of 2)."""
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"scipy.linalg.hadamard: n must be a positive power of 2, got {n}"
                         f"{where()}")
    h = jnp.ones((1, 1), dtype=dtype)
    for _ in range(int(math.log2(n))):
        h = jnp.block([[h, h], [h, -h]])
    return h


def dft(n, scale=None, *, dtype=None):
    """The ``n x n`` discrete Fourier transform matrix ``exp(-2 pi i j k / n)``, divided by
    ``sqrt(n)`` (``scale='sqrtn'``) or ``n`` ('n')."""
    if scale not in (None, "sqrtn", "n"):
        raise ValueError(f"scipy.linalg.dft: scale must be None, 'sqrtn' or 'n', got "
                         f"{scale!r}{where()}")
    dtype = jnp.zeros((), complex).dtype if dtype is None else jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.complexfloating):
        raise ValueError(f"scipy.linalg.dft: dtype must be complex, got {dtype}{where()}")
    a = jnp.arange(n, dtype=dtype)
    w = jnp.exp(-2j * np.pi * a[:, None] * a[None, :] / n)
    if scale == "sqrtn":
        return w / jnp.sqrt(n)
    return w / n if scale == "n" else w
