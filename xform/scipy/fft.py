"""``xform.scipy.fft``: ``jax.scipy.fft``'s discrete cosine transforms (type 2 and its
inverse, type 3, the only types JAX has), built on ``xform.numpy.fft``.

The DCT-II of length N is one complex FFT of the reordered signal (even samples, then
the odd ones reversed) times a quarter-turn twiddle (Makhoul's algorithm); its inverse
undoes each step.  The n-d forms apply the 1-d transform along each axis: the DCT is
separable."""
from __future__ import annotations

import operator

import numpy as np

from primitives import dtypes as _dt

from .. import lax
from .. import numpy as jnp
from ..core import where
from ..numpy._core import canonicalize_axis, promote_dtypes_inexact

__all__ = ["dct", "dctn", "idct", "idctn"]


def _check(fname, type, norm):
    if type != 2:
        raise NotImplementedError(f"scipy.fft.{fname}: only type=2 is implemented (as in "
                                  f"JAX), got type={type!r}{where()}")
    if norm not in (None, "backward", "ortho"):
        raise ValueError(f"scipy.fft.{fname}: norm must be None, 'backward' or 'ortho', got "
                         f"norm={norm!r}{where()}")


def _resize(x, axis, n):
    """Zero-pad or truncate ``x`` to length ``n`` along ``axis``."""
    if n is None or n == x.shape[axis]:
        return x
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"scipy.fft: the transform length must be positive, got {n}"
                         f"{where()}")
    if n < x.shape[axis]:
        return lax.slice_in_dim(x, 0, n, axis=axis)
    widths = [(0, 0)] * x.ndim
    widths[axis] = (0, n - x.shape[axis])
    return jnp.pad(x, widths)


def _along(x, axis, shape):
    """A 1-d array of ``shape[0]`` entries laid along ``axis`` of an ``x.ndim`` array."""
    s = [1] * x.ndim
    s[axis] = shape
    return s


def _ortho_factor(n, axis, x):
    """Per-frequency factor of the orthonormal scaling: 1/sqrt(4N) for the DC term,
    1/sqrt(2N) for the others."""
    f = np.full(n, 1 / np.sqrt(2 * n))
    f[0] = 1 / np.sqrt(4 * n)
    return jnp.reshape(jnp.asarray(f, dtype=x.dtype), _along(x, axis, n))


def _twiddle(n, axis, x, sign):
    k = np.arange(n)
    w = np.exp(sign * -0.5j * np.pi * k / n)
    return jnp.reshape(jnp.asarray(w, dtype=_dt.complex_dtype(x.dtype)), _along(x, axis, n))


def _split_complex(f, x, *args):
    if jnp.iscomplexobj(x):
        return lax.complex(f(jnp.real(x), *args), f(jnp.imag(x), *args))
    return None


def _dct1(x, n, axis, norm):
    x = _resize(x, axis, n)
    m = x.shape[axis]
    v = jnp.take(x, jnp.asarray(_interleave_order(m)), axis=axis)
    out = 2 * jnp.real(jnp.fft.fft(v, axis=axis) * _twiddle(m, axis, x, 1))
    if norm == "ortho":
        out = out * _ortho_factor(m, axis, out)
    return out


def _interleave_order(m):
    """Even indices ascending, then odd indices descending."""
    odd = np.arange(1, m, 2)[::-1]
    return np.r_[np.arange(0, m, 2), odd].astype(np.int32)


def _idct1(x, n, axis, norm):
    x = _resize(x, axis, n)
    m = x.shape[axis]
    if norm == "ortho":   # undo the orthonormal scaling, then invert the plain transform
        x = x / _ortho_factor(m, axis, x)
    # inverse of out = 2 Re(W V): V is the FFT of a real signal, so V[m-k] = conj(V[k]),
    # which recovers V from the real output: V[k] = W[k]^* (y[k] - i y[m-k]) / 2
    y_rev = jnp.concatenate([jnp.zeros_like(lax.slice_in_dim(x, 0, 1, axis=axis)),
                             jnp.flip(lax.slice_in_dim(x, 1, m, axis=axis), axis)], axis)
    v = (x - 1j * y_rev) * _twiddle(m, axis, x, -1) / 2
    u = jnp.real(jnp.fft.ifft(v, axis=axis))
    inv = np.argsort(_interleave_order(m)).astype(np.int32)
    return jnp.take(u, jnp.asarray(inv), axis=axis)


def _prepare(fname, x, type, norm):
    _check(fname, type, norm)
    (x,) = promote_dtypes_inexact(jnp.asarray(x))
    return x


def dct(x, type=2, n=None, axis=-1, norm=None):
    """The type-2 discrete cosine transform along ``axis`` (``n``: zero-pad or truncate
    to that length first)."""
    x = _prepare("dct", x, type, norm)
    axis = canonicalize_axis(axis, x.ndim)
    z = _split_complex(_dct1, x, n, axis, norm)
    return _dct1(x, n, axis, norm) if z is None else z


def idct(x, type=2, n=None, axis=-1, norm=None):
    """The inverse of ``dct`` (a type-3 DCT scaled so that ``idct(dct(x)) == x``)."""
    x = _prepare("idct", x, type, norm)
    axis = canonicalize_axis(axis, x.ndim)
    z = _split_complex(_idct1, x, n, axis, norm)
    return _idct1(x, n, axis, norm) if z is None else z


def _axes_and_sizes(fname, x, s, axes):
    if s is not None:
        s = [operator.index(s)] if np.ndim(s) == 0 else [operator.index(v) for v in s]
        if len(s) > x.ndim:
            raise ValueError(f"scipy.fft.{fname}: s must have at most x.ndim ({x.ndim}) "
                             f"entries, got s={s}{where()}")
    if axes is None:
        axes = list(range(x.ndim - (x.ndim if s is None else len(s)), x.ndim))
    else:
        axes = [canonicalize_axis(a, x.ndim) for a in
                ([axes] if np.ndim(axes) == 0 else axes)]
        if len(set(axes)) != len(axes):
            raise ValueError(f"scipy.fft.{fname}: axes must be distinct, got axes={axes}"
                             f"{where()}")
    if s is not None and len(s) != len(axes):
        raise ValueError(f"scipy.fft.{fname}: s and axes must have the same length, got "
                         f"s={s} and axes={axes}{where()}")
    return axes, (s if s is not None else [None] * len(axes))


def _nd(fname, one, x, type, s, axes, norm):
    x = _prepare(fname, x, type, norm)
    axes, sizes = _axes_and_sizes(fname, x, s, axes)
    for a, m in zip(axes, sizes):
        x = one(x, n=m, axis=a, norm=norm)
    return x


def dctn(x, type=2, s=None, axes=None, norm=None):
    """The type-2 DCT over several axes (all by default)."""
    return _nd("dctn", dct, x, type, s, axes, norm)


def idctn(x, type=2, s=None, axes=None, norm=None):
    """The inverse of ``dctn``."""
    return _nd("idctn", idct, x, type, s, axes, norm)
