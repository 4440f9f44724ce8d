"""Convolution and correlation with SciPy's signatures: the direct forms are one
``lax.conv_general_dilated`` (the meta-operator XLA maps to its fast kernels), the FFT
form a product of spectra; ``detrend`` removes a least-squares line or the mean."""
from __future__ import annotations

import operator

import numpy as np

from ... import lax
from ... import numpy as jnp
from ...core import where
from ...numpy._core import canonicalize_axis, promote_dtypes_inexact

_MODES = ("full", "same", "valid")


def _check_mode(fname, mode):
    if mode not in _MODES:
        raise ValueError(f"scipy.signal.{fname}: mode must be one of {list(_MODES)}, got "
                         f"{mode!r}{where()}")


def _operands(fname, in1, in2):
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    if in1.ndim != in2.ndim:
        raise ValueError(f"scipy.signal.{fname}: in1 and in2 must have the same number of "
                         f"dimensions, got shapes {in1.shape} and {in2.shape}{where()}")
    return promote_dtypes_inexact(in1, in2)


def _direct(fname, in1, in2, mode, precision):
    """N-d convolution as one XLA convolution over a batch of one, one channel.  The
    larger operand is the image; ``same`` is centred on the original ``in1``."""
    _check_mode(fname, mode)
    in1, in2 = _operands(fname, in1, in2)
    if in1.size == 0 or in2.size == 0:
        raise ValueError(f"scipy.signal.{fname}: in1 and in2 must not be empty, got shapes "
                         f"{in1.shape} and {in2.shape}{where()}")
    ge = all(a >= b for a, b in zip(in1.shape, in2.shape))
    le = all(a <= b for a, b in zip(in1.shape, in2.shape))
    if not (ge or le):
        raise ValueError(f"scipy.signal.{fname}: in1 must be at least as large as in2 in "
                         f"every dimension or the other way round, got shapes {in1.shape} "
                         f"and {in2.shape}{where()}")
    orig2 = in2.shape
    if le and not ge:
        in1, in2 = in2, in1
    k = in2.shape
    if mode == "valid":
        pads = [(0, 0)] * len(k)
    elif mode == "full":
        pads = [(s - 1, s - 1) for s in k]
    else:   # centre the output on in1 as it was given
        pads = [(s - 1 - (o - 1) // 2, s - o + (o - 1) // 2) for s, o in zip(k, orig2)]
    out = lax.conv_general_dilated(in1[None, None], jnp.flip(in2)[None, None],
                                   (1,) * len(k), pads, precision=precision)
    return out[0, 0]


def convolve(in1, in2, mode="full", method="auto", precision=None):
    """N-d convolution of ``in1`` and ``in2`` (``method`` 'fft' uses ``fftconvolve``)."""
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    if method not in ("auto", "direct"):
        raise ValueError(f"scipy.signal.convolve: method must be 'auto', 'direct' or 'fft', "
                         f"got {method!r}{where()}")
    return _direct("convolve", in1, in2, mode, precision)


def correlate(in1, in2, mode="full", method="auto", precision=None):
    """N-d cross-correlation: convolution with ``in2`` reversed and conjugated."""
    in2 = jnp.asarray(in2)
    return convolve(in1, jnp.flip(jnp.conj(in2)), mode, method=method, precision=precision)


def _check_2d(fname, in1, in2, boundary, fillvalue):
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"scipy.signal.{fname}: only boundary='fill' with "
                                  f"fillvalue=0 is supported, got boundary={boundary!r}, "
                                  f"fillvalue={fillvalue!r}{where()}")
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"scipy.signal.{fname}: in1 and in2 must be 2-dimensional, got "
                         f"shapes {np.shape(in1)} and {np.shape(in2)}{where()}")


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """2-d convolution (zero fill outside the input, the only boundary JAX has)."""
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return _direct("convolve2d", in1, in2, mode, precision)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """2-d cross-correlation.  Written as a convolution of a reversed operand so that
    ``same`` and the operand swap place the output exactly where SciPy and JAX do."""
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    smaller = all(a <= b for a, b in zip(in1.shape, in2.shape))
    equal = in1.shape == in2.shape

    def run(a, b):
        return _direct("correlate2d", a, b, mode, precision)
    if mode == "valid" and smaller and not equal:
        return run(jnp.flip(in2), jnp.conj(in1))
    if mode == "full" and smaller:
        return jnp.conj(run(jnp.flip(in2), jnp.conj(in1)))
    return jnp.flip(run(jnp.flip(in1), jnp.conj(in2)))


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolution through the FFT over ``axes`` (all by default); the other axes are
    paired elementwise and must match, as in JAX."""
    in1, in2 = _operands("fftconvolve", in1, in2)
    _check_mode("fftconvolve", mode)
    nd = in1.ndim
    if axes is None:
        axes = tuple(range(nd))
    else:
        axes = (axes,) if np.ndim(axes) == 0 else tuple(axes)
        axes = tuple(canonicalize_axis(operator.index(a), nd) for a in axes)
        paired = [d for d in range(nd) if d not in axes]
        if any(in1.shape[d] != in2.shape[d] for d in paired):
            raise ValueError(f"scipy.signal.fftconvolve: in1 and in2 must agree on the axes "
                             f"not in axes={axes}, got shapes {in1.shape} and "
                             f"{in2.shape}{where()}")
    s1 = [in1.shape[d] for d in axes]
    s2 = [in2.shape[d] for d in axes]
    if mode == "valid":
        ge = all(a >= b for a, b in zip(s1, s2))
        le = all(a <= b for a, b in zip(s1, s2))
        if not (ge or le):
            raise ValueError(f"scipy.signal.fftconvolve: in 'valid' mode one of in1, in2 must "
                             f"be at least as large as the other along every axis, got "
                             f"shapes {in1.shape} and {in2.shape}{where()}")
        if le:
            in1, in2, s1, s2 = in2, in1, s2, s1
    full = [a + b - 1 for a, b in zip(s1, s2)]
    if all(a == 1 or b == 1 for a, b in zip(s1, s2)):
        conv = in1 * in2   # no overlap to sum: the product is the convolution
    elif jnp.iscomplexobj(in1):
        conv = jnp.fft.ifftn(jnp.fft.fftn(in1, full, axes) * jnp.fft.fftn(in2, full, axes),
                             full, axes)
    else:
        conv = jnp.fft.irfftn(jnp.fft.rfftn(in1, full, axes) * jnp.fft.rfftn(in2, full, axes),
                              full, axes)
    if mode == "full":
        out = full
    elif mode == "same":
        out = s1
    else:
        out = [a - b + 1 for a, b in zip(s1, s2)]
    start = [0] * nd
    size = list(conv.shape)
    for d, f, o in zip(axes, full, out):
        start[d], size[d] = (f - o) // 2, o
    return lax.slice(conv, start, [a + b for a, b in zip(start, size)])


def detrend(data, axis=-1, type="linear", bp=0, overwrite_data=None):
    """``data`` less its mean (``type='constant'``) or less a least-squares line fitted
    separately between consecutive breakpoints ``bp`` (``'linear'``)."""
    if overwrite_data is not None:
        raise NotImplementedError(f"scipy.signal.detrend: overwrite_data is not supported "
                                  f"(arrays are immutable){where()}")
    if type not in ("constant", "linear"):
        raise ValueError(f"scipy.signal.detrend: type must be 'linear' or 'constant', got "
                         f"{type!r}{where()}")
    (x,) = promote_dtypes_inexact(jnp.asarray(data))
    if type == "constant":
        return x - jnp.mean(x, axis, keepdims=True)
    axis = canonicalize_axis(axis, x.ndim)
    n = x.shape[axis]
    bps = np.unique(np.r_[0, np.asarray(bp).ravel(), n].astype(np.int64))
    if bps[0] < 0 or bps[-1] > n:
        raise ValueError(f"scipy.signal.detrend: breakpoints bp must lie in [0, {n}], got "
                         f"{bp!r}{where()}")
    x = jnp.moveaxis(x, axis, -1)
    parts = []
    for lo, hi in zip(bps[:-1], bps[1:]):
        seg = x[..., int(lo):int(hi)]
        m = int(hi - lo)
        if m == 1:   # one sample: the fitted line passes through it
            parts.append(jnp.zeros_like(seg))
            continue
        t = np.arange(1, m + 1) / m
        t = jnp.asarray(t - t.mean(), dtype=jnp.real(seg).dtype)
        centred = seg - jnp.mean(seg, -1, keepdims=True)
        slope = jnp.sum(t * centred, -1, keepdims=True) / jnp.sum(t * t)
        parts.append(centred - slope * t)
    out = parts[0] if len(parts) == 1 else jnp.concatenate(parts, -1)
    return jnp.moveaxis(out, -1, axis)

