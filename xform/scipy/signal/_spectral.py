"""Short-time Fourier analysis with SciPy's signatures: ``stft`` and its inverse
``istft``, and the averaged periodograms ``csd`` and ``welch``.  Segments are cut with
static slices (their count is known at trace time), so every function here is a plain
composite that ``grad``, ``vmap`` and ``jit`` see through."""
from __future__ import annotations

import operator
import warnings

import numpy as np

from primitives import dtypes as _dt

from ... import numpy as jnp
from ...core import where
from ...numpy._core import canonicalize_axis, promote_dtypes_inexact
from ._convolve import detrend as _detrend

# SciPy's periodic ("fftbins") windows that need no SciPy to compute.
_WINDOWS = {
    "hann": lambda n: np.sin(np.pi * np.arange(n) / n) ** 2,
    "hamming": lambda n: np.hamming(n + 1)[:-1],
    "blackman": lambda n: np.blackman(n + 1)[:-1],
    "bartlett": lambda n: np.bartlett(n + 1)[:-1],
    "boxcar": np.ones,
}


def _static_int(fname, name, v):
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"scipy.signal.{fname}: {name} must be a Python int (it sets "
                        f"shapes), got {v!r}{where()}") from None


def _window(fname, window, nperseg, length, dtype):
    """The window array and the segment length it implies (JAX's rules: a named window
    spans the whole signal unless ``nperseg`` says otherwise)."""
    if isinstance(window, str):
        if window not in _WINDOWS:
            raise NotImplementedError(f"scipy.signal.{fname}: window {window!r} is not "
                                      f"available; use one of {sorted(_WINDOWS)} or pass "
                                      f"the window as an array{where()}")
        n = length if nperseg is None else nperseg
        if n > length:
            warnings.warn(f"nperseg={n} is greater than input_length={length}, using "
                          f"nperseg={length}")
            n = length
        w = np.ones(1) if n == 1 else _WINDOWS[window](n)
        return jnp.asarray(w, dtype=dtype), n
    w = jnp.asarray(window, dtype=dtype)
    if w.ndim != 1:
        raise ValueError(f"scipy.signal.{fname}: window must be 1-dimensional, got shape "
                         f"{w.shape}{where()}")
    n = w.shape[0] if nperseg is None else nperseg
    if length < w.shape[0]:
        raise ValueError(f"scipy.signal.{fname}: window (length {w.shape[0]}) is longer "
                         f"than the signal (length {length}){where()}")
    if n != w.shape[0]:
        raise ValueError(f"scipy.signal.{fname}: nperseg={n} differs from the window's "
                         f"length {w.shape[0]}{where()}")
    return w, n


def _pad_last(x, lo, hi, mode="constant"):
    return jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(lo, hi)], mode)


def _odd_ext(x, n):
    if n < 1:
        return x
    if n > x.shape[-1] - 1:
        raise ValueError(f"scipy.signal: the boundary extension ({n}) must not exceed the "
                         f"signal length less one ({x.shape[-1] - 1}){where()}")
    left = 2 * x[..., :1] - jnp.flip(x[..., 1:n + 1], -1)
    right = 2 * x[..., -1:] - jnp.flip(x[..., -n - 1:-1], -1)
    return jnp.concatenate([left, x, right], -1)


_BOUNDARIES = {
    "even": lambda x, n: _pad_last(x, n, n, "reflect"),
    "odd": _odd_ext,
    "constant": lambda x, n: _pad_last(x, n, n, "edge"),
    "zeros": lambda x, n: _pad_last(x, n, n),
    None: lambda x, n: x,
}


def _segments_fft(x, win, detrend_fn, nperseg, noverlap, nfft, twosided):
    """Windowed FFT of each segment: (..., segments, frequencies)."""
    step = nperseg - noverlap
    starts = range(0, x.shape[-1] - nperseg + 1, step)
    seg = jnp.stack([x[..., s:s + nperseg] for s in starts], -2)
    seg = detrend_fn(seg)
    if jnp.iscomplexobj(win) and not jnp.iscomplexobj(seg):
        seg = seg.astype(win.dtype)
    seg = win * seg
    return jnp.fft.fft(seg, n=nfft) if twosided else jnp.fft.rfft(jnp.real(seg), n=nfft)


def _spectral(fname, x, y, fs, window, nperseg, noverlap, nfft, detrend_type,
              return_onesided, scaling, axis, mode, boundary=None, padded=False):
    if boundary not in _BOUNDARIES:
        raise ValueError(f"scipy.signal.{fname}: boundary must be one of "
                         f"{list(_BOUNDARIES)}, got {boundary!r}{where()}")
    x = jnp.asarray(x)
    axis = canonicalize_axis(_static_int(fname, "axis", axis), x.ndim)
    if y is None:
        (x,) = promote_dtypes_inexact(x)
        outer = x.shape[:axis] + x.shape[axis + 1:]
    else:
        x, y = promote_dtypes_inexact(x, jnp.asarray(y))
        if x.ndim != y.ndim:
            raise ValueError(f"scipy.signal.{fname}: x and y must have the same rank, got "
                             f"shapes {x.shape} and {y.shape}{where()}")
        try:
            outer = np.broadcast_shapes(x.shape[:axis] + x.shape[axis + 1:],
                                        y.shape[:axis] + y.shape[axis + 1:])
        except ValueError:
            raise ValueError(f"scipy.signal.{fname}: x and y do not broadcast, got shapes "
                             f"{x.shape} and {y.shape}{where()}") from None
    cdtype = _dt.complex_dtype(x.dtype)
    fdtype = np.finfo(cdtype).dtype
    if nperseg is not None:
        nperseg = _static_int(fname, "nperseg", nperseg)
        if nperseg < 1:
            raise ValueError(f"scipy.signal.{fname}: nperseg must be a positive integer, "
                             f"got {nperseg}{where()}")
    win, nperseg = _window(fname, window, nperseg, x.shape[axis], x.dtype)
    noverlap = nperseg // 2 if noverlap is None else _static_int(fname, "noverlap", noverlap)
    nfft = nperseg if nfft is None else _static_int(fname, "nfft", nfft)
    if x.size == 0 or (y is not None and y.size == 0):
        n = x.shape[axis] if y is None else min(x.shape[axis], y.shape[axis])
        shape = outer[:axis] + (n,) + outer[axis:]
        return (jnp.zeros(shape, fdtype), jnp.zeros(shape, fdtype),
                jnp.zeros(shape, cdtype))
    x = jnp.moveaxis(x, axis, -1)
    if y is not None:
        y = jnp.moveaxis(y, axis, -1)
        d = x.shape[-1] - y.shape[-1]
        if d < 0:
            x = _pad_last(x, 0, -d)
        elif d > 0:
            y = _pad_last(y, 0, d)
    if nfft < nperseg:
        raise ValueError(f"scipy.signal.{fname}: nfft ({nfft}) must be at least nperseg "
                         f"({nperseg}){where()}")
    if noverlap >= nperseg:
        raise ValueError(f"scipy.signal.{fname}: noverlap ({noverlap}) must be less than "
                         f"nperseg ({nperseg}){where()}")
    step = nperseg - noverlap
    ext = _BOUNDARIES[boundary]
    x = ext(x, nperseg // 2)
    y = None if y is None else ext(y, nperseg // 2)
    if padded:
        extra = (-(x.shape[-1] - nperseg) % step) % nperseg
        x = _pad_last(x, 0, extra)
        y = None if y is None else _pad_last(y, 0, extra)
    if isinstance(detrend_type, str):
        def detrend_fn(d):
            return _detrend(d, axis=-1, type=detrend_type)
    elif callable(detrend_type):
        detrend_fn = detrend_type
    elif not detrend_type:
        def detrend_fn(d):
            return d
    else:
        raise ValueError(f"scipy.signal.{fname}: detrend must be a string, a function or "
                         f"False, got {detrend_type!r}{where()}")
    if scaling == "density":
        scale = 1.0 / (fs * jnp.sum(win * win))
    elif scaling == "spectrum":
        scale = 1.0 / jnp.sum(win) ** 2
    else:
        raise ValueError(f"scipy.signal.{fname}: scaling must be 'density' or 'spectrum', "
                         f"got {scaling!r}{where()}")
    if mode == "stft":
        scale = jnp.sqrt(scale)
    twosided = not return_onesided
    if return_onesided and (jnp.iscomplexobj(x) or (y is not None and jnp.iscomplexobj(y))):
        warnings.warn("Input data is complex, switching to return_onesided=False")
        twosided = True
    freqs = (jnp.fft.fftfreq(nfft, 1 / fs, dtype=fdtype) if twosided
             else jnp.fft.rfftfreq(nfft, 1 / fs, dtype=fdtype))
    res = _segments_fft(x, win, detrend_fn, nperseg, noverlap, nfft, twosided)
    if y is not None:
        res = jnp.conj(res) * _segments_fft(y, win, detrend_fn, nperseg, noverlap, nfft,
                                            twosided)
    elif mode == "psd":
        res = jnp.conj(res) * res
    res = res * scale
    if not twosided and mode == "psd":   # fold the negative frequencies onto the positive
        hi = res.shape[-1] if nfft % 2 else res.shape[-1] - 1
        double = np.ones(res.shape[-1])
        double[1:hi] = 2
        res = res * jnp.asarray(double, dtype=fdtype)
    time = jnp.arange(nperseg / 2, x.shape[-1] - nperseg / 2 + 1, step, dtype=fdtype) / fs
    if boundary is not None:
        time = time - (nperseg / 2) / fs
    res = res.astype(cdtype)
    if y is None and mode != "stft":
        res = jnp.real(res)
    return freqs, time, jnp.moveaxis(res, -1, axis)


def stft(x, fs=1.0, window="hann", nperseg=256, noverlap=None, nfft=None, detrend=False,
         return_onesided=True, boundary="zeros", padded=True, axis=-1):
    """``(f, t, Zxx)``: the short-time Fourier transform of ``x`` along ``axis``
    (frequencies before segments in the result, as in SciPy)."""
    return _spectral("stft", x, None, fs, window, nperseg, noverlap, nfft, detrend,
                     return_onesided, "spectrum", axis, "stft", boundary, padded)


def _median_bias(n):
    i = 2.0 * np.arange(1, (n - 1) // 2 + 1)
    return 1 + np.sum(1.0 / (i + 1) - 1.0 / i)


def csd(x, y, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
        detrend="constant", return_onesided=True, scaling="density", axis=-1,
        average="mean"):
    """``(f, Pxy)``: Welch's estimate of the cross spectral density (``y=None``: of
    ``x`` with itself)."""
    freqs, _, p = _spectral("csd", x, y, fs, window, nperseg, noverlap, nfft, detrend,
                            return_onesided, scaling, axis, "psd")
    if y is not None:
        p = p + 0j
    if p.ndim >= 2 and p.size > 0:
        if p.shape[-1] == 1:
            p = p[..., 0]
        elif average == "mean":
            p = jnp.mean(p, -1)
        elif average == "median":
            bias = _median_bias(p.shape[-1])
            if jnp.iscomplexobj(p):
                p = jnp.median(jnp.real(p), -1) + 1j * jnp.median(jnp.imag(p), -1)
            else:
                p = jnp.median(p, -1)
            p = p / jnp.asarray(bias, p.dtype)
        else:
            raise ValueError(f"scipy.signal.csd: average must be 'mean' or 'median', got "
                             f"{average!r}{where()}")
    return freqs, p


def welch(x, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
          detrend="constant", return_onesided=True, scaling="density", axis=-1,
          average="mean"):
    """``(f, Pxx)``: Welch's power spectral density estimate (the mean or median of
    windowed periodograms)."""
    freqs, p = csd(x, None, fs, window, nperseg, noverlap, nfft, detrend, return_onesided,
                   scaling, axis, average)
    return freqs, jnp.real(p)


def _overlap_add(frames, step):
    """Sum frames (..., n, length) placed ``step`` apart into one signal."""
    n, length = frames.shape[-2:]
    total = step * (n - 1) + length
    pieces = [_pad_last(frames[..., i, :], i * step, total - i * step - length)
              for i in range(n)]
    return sum(pieces[1:], pieces[0])


def istft(Zxx, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
          input_onesided=True, boundary=True, time_axis=-1, freq_axis=-2):
    """``(t, x)``: the inverse of ``stft`` by weighted overlap-add."""
    z = jnp.asarray(Zxx)
    if z.ndim < 2:
        raise ValueError(f"scipy.signal.istft: Zxx must be at least 2-dimensional, got shape "
                         f"{z.shape}{where()}")
    fa = canonicalize_axis(freq_axis, z.ndim)
    ta = canonicalize_axis(time_axis, z.ndim)
    if fa == ta:
        raise ValueError(f"scipy.signal.istft: time_axis and freq_axis must differ, both are "
                         f"{ta}{where()}")
    z = z.astype(_dt.complex_dtype(z.dtype))
    default = 2 * (z.shape[fa] - 1) if input_onesided else z.shape[fa]
    n = _static_int("istft", "nperseg", nperseg or default)
    if n < 1:
        raise ValueError(f"scipy.signal.istft: nperseg must be a positive integer, got "
                         f"{n}{where()}")
    if nfft is None:
        nfft = default + 1 if input_onesided and n == default + 1 else default
    nfft = _static_int("istft", "nfft", nfft)
    if nfft < n:
        raise ValueError(f"scipy.signal.istft: nfft ({nfft}) must be at least nperseg "
                         f"({n}){where()}")
    noverlap = _static_int("istft", "noverlap", noverlap or n // 2)
    if noverlap >= n:
        raise ValueError(f"scipy.signal.istft: noverlap ({noverlap}) must be less than "
                         f"nperseg ({n}){where()}")
    step = n - noverlap
    outer = [d for d in range(z.ndim) if d not in (fa, ta)]
    z = jnp.transpose(z, outer + [fa, ta])
    inv = jnp.fft.irfft if input_onesided else jnp.fft.ifft
    frames = inv(z, n=nfft, axis=-2)[..., :n, :]
    rdt = frames.dtype
    if isinstance(window, str):
        win, _ = _window("istft", window, n, n, np.finfo(rdt).dtype)
        win = win.astype(rdt)
    else:
        win = jnp.asarray(window).astype(rdt)
        if win.ndim != 1 or win.shape[0] != n:
            raise ValueError(f"scipy.signal.istft: window must be 1-dimensional of length "
                             f"{n}, got shape {win.shape}{where()}")
    frames = frames * jnp.sum(win)
    frames = jnp.swapaxes(frames * win[:, None], -2, -1)
    x = _overlap_add(frames, step)
    norm = _overlap_add(jnp.broadcast_to(win * win, (frames.shape[-2], n)), step)
    if boundary:
        x = x[..., n // 2:-(n // 2)]
        norm = norm[..., n // 2:-(n // 2)]
    x = x / jnp.where(norm > 1e-10, norm, 1.0)
    if x.ndim > 1 and ta != z.ndim - 1:
        if fa < ta:
            ta -= 1
        x = jnp.moveaxis(x, -1, ta)
    t = jnp.arange(x.shape[0], dtype=np.finfo(x.dtype).dtype) / fs
    return t, x
