"""``xform.numpy.fft``: ``jax.numpy.fft`` on the ``fft`` meta-operator (primitives/fft.py).

The meta-operator transforms the trailing 1-3 axes of an array with given lengths; the
rest is composed here: ``axes`` are moved to the end and back, ``n``/``s`` crop or
zero-pad the input, ``norm`` is a scale, and transforms over more than three axes are
split into several of at most three.
"""
from __future__ import annotations

import math
import operator

from primitives import dtypes as _dt
from primitives import fft as _fft

from .. import lax
from ..core import bind, where as _where_msg
from ._core import asarray, astype, canonicalize_axis, promote_dtypes_inexact
from ._shape import moveaxis
from ._creation import arange
from ._ufuncs import conj
from ._editing import pad, roll

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_NORMS = (None, "backward", "ortho", "forward")


def _to_input_dtype(name, kind, x):
    """RFFT takes float32/float64 (integers and bools become the default float); the other
    transforms take the complex type of the promoted float."""
    if kind == "RFFT":
        if _dt.is_complex(x.dtype):
            raise ValueError(f"jax.numpy.fft.{name}: only real-valued inputs are supported; "
                             f"use fft for complex input{_where_msg()}")
        (x,) = promote_dtypes_inexact(x)
        if x.dtype not in (_dt.float32, _dt.float64):
            raise ValueError(f"jax.numpy.fft.{name}: input must be float32 or float64, got "
                             f"{x.dtype}; cast it with .astype(jnp.float32){_where_msg()}")
        return x
    if _dt.is_complex(x.dtype):
        return x
    (x,) = promote_dtypes_inexact(x)
    wide = x.dtype == _dt.float64
    return lax.convert_element_type(x, _dt.complex128 if wide else _dt.complex64)


def _transform(x, kind, lengths):
    """``kind`` over the trailing ``len(lengths)`` axes; more than three are done in steps
    (the last 2 or 3 axes first for forward transforms, last for inverse ones)."""
    k = len(lengths)
    if k == 0:
        return x
    if k <= 3:
        return bind(_fft.fft, x, fft_type=kind, fft_lengths=tuple(lengths))
    step = 2 if k == 4 else 3
    nd = x.ndim
    head = list(range(nd - k, nd - step))    # the axes left for the later transform
    tail = list(range(nd - k + step, nd))    # where they go meanwhile
    if kind in ("FFT", "RFFT"):
        x = bind(_fft.fft, x, fft_type=kind, fft_lengths=tuple(lengths[-step:]))
        x = moveaxis(x, head, tail)
        x = _transform(x, "FFT", lengths[:-step])
        return moveaxis(x, tail, head)
    x = moveaxis(x, head, tail)
    x = _transform(x, "IFFT", lengths[:-step])
    x = moveaxis(x, tail, head)
    return bind(_fft.fft, x, fft_type=kind, fft_lengths=tuple(lengths[-step:]))


def _core(name, kind, a, s, axes, norm):
    if norm not in _NORMS:
        raise ValueError(f'jax.numpy.fft.{name}: invalid norm value {norm!r}; should be '
                         f'"backward", "ortho" or "forward"')
    x = asarray(a)
    if s is not None:
        s = tuple(operator.index(n) for n in s)
        if any(n <= 0 for n in s):
            raise ValueError(f"jax.numpy.fft.{name}: shape s={s} must be positive")
        if axes is not None and len(s) != len(axes):
            raise ValueError(f"jax.numpy.fft.{name}: s={s} and axes={tuple(axes)} have "
                             f"different lengths")
    explicit_axes = axes is not None
    if axes is None:
        axes = range(x.ndim) if s is None else range(x.ndim - len(s), x.ndim)
    axes = tuple(canonicalize_axis(operator.index(ax), x.ndim, f"jax.numpy.fft.{name}")
                 for ax in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"jax.numpy.fft.{name} does not support repeated axes, got {axes}")
    trailing = tuple(range(x.ndim - len(axes), x.ndim))
    if explicit_axes:
        x = moveaxis(x, axes, trailing)
    x = _to_input_dtype(name, kind, x)
    if s is None:
        s = [x.shape[ax] for ax in trailing]
        if kind == "IRFFT" and s:
            s[-1] = max(0, 2 * (s[-1] - 1))
    else:  # crop or zero-pad each transformed axis to the length the transform reads
        want = list(x.shape)
        for ax, n in zip(trailing, s):
            want[ax] = n
        if kind == "IRFFT":
            want[-1] = want[-1] // 2 + 1
        if any(w < n for w, n in zip(want, x.shape)):
            x = lax.slice(x, [0] * x.ndim, [min(w, n) for w, n in zip(want, x.shape)])
        if any(w > n for w, n in zip(want, x.shape)):
            x = pad(x, [(0, w - n) for w, n in zip(want, x.shape)])
    if any(n <= 0 for n in s):
        raise ValueError(f"jax.numpy.fft.{name}: invalid number of data points "
                         f"({tuple(s)}) for the transformed axes")
    out = _transform(x, kind, s)
    out = out * _norm_scale(name, norm, math.prod(s), out.dtype)
    return moveaxis(out, trailing, axes) if explicit_axes else out


def _norm_scale(name, norm, size, dtype):
    inverse = name.startswith("i")
    if norm in (None, "backward"):
        scale = 1.0
    elif norm == "ortho":
        scale = math.sqrt(size) if inverse else 1 / math.sqrt(size)
    else:
        scale = size if inverse else 1 / size
    return lax.weak_literal(float(scale), dtype) if scale != 1.0 else 1


def _check_1d(name, axis):
    if isinstance(axis, (list, tuple)):
        raise ValueError(f"jax.numpy.fft.{name} does not support multiple axes; use "
                         f"{name}n, got axis={axis!r}")
    return None if axis is None else [axis]


def _check_2d(name, axes):
    if len(axes) != 2:
        raise ValueError(f"jax.numpy.fft.{name} only supports 2 axes, got axes={tuple(axes)}; "
                         f"use {name[:-1]}n")
    return axes


def fft(a, n=None, axis=-1, norm=None):
    return _core("fft", "FFT", a, None if n is None else [n], _check_1d("fft", axis), norm)


def ifft(a, n=None, axis=-1, norm=None):
    return _core("ifft", "IFFT", a, None if n is None else [n], _check_1d("ifft", axis), norm)


def rfft(a, n=None, axis=-1, norm=None):
    return _core("rfft", "RFFT", a, None if n is None else [n], _check_1d("rfft", axis), norm)


def irfft(a, n=None, axis=-1, norm=None):
    return _core("irfft", "IRFFT", a, None if n is None else [n], _check_1d("irfft", axis),
                 norm)


def hfft(a, n=None, axis=-1, norm=None):
    """The FFT of a signal with a Hermitian spectrum: ``irfft`` of the conjugate, times n."""
    a = asarray(a)
    _check_1d("hfft", axis)
    size = 2 * (a.shape[canonicalize_axis(axis, a.ndim, "hfft")] - 1) if n is None else n
    out = _core("hfft", "IRFFT", conj(a), None if n is None else [n], [axis], norm)
    return out * size  # the norm scale is the forward one: the name does not start with i


def ihfft(a, n=None, axis=-1, norm=None):
    a = asarray(a)
    _check_1d("ihfft", axis)
    size = a.shape[canonicalize_axis(axis, a.ndim, "ihfft")] if n is None else n
    return conj(_core("ihfft", "RFFT", a, None if n is None else [n], [axis], norm)) * (1 / size)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    return _core("fft2", "FFT", a, s, _check_2d("fft2", axes), norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    return _core("ifft2", "IFFT", a, s, _check_2d("ifft2", axes), norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    return _core("rfft2", "RFFT", a, s, _check_2d("rfft2", axes), norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    return _core("irfft2", "IRFFT", a, s, _check_2d("irfft2", axes), norm)


def fftn(a, s=None, axes=None, norm=None):
    return _core("fftn", "FFT", a, s, axes, norm)


def ifftn(a, s=None, axes=None, norm=None):
    return _core("ifftn", "IFFT", a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    return _core("rfftn", "RFFT", a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    return _core("irfftn", "IRFFT", a, s, axes, norm)


def _freq_args(name, n, d):
    if isinstance(n, (list, tuple)):
        raise ValueError(f"jax.numpy.fft.{name}: n takes only an int, got n={list(n)}")
    if isinstance(d, (list, tuple)):
        raise ValueError(f"jax.numpy.fft.{name}: d takes a single value, got d={list(d)}")
    return operator.index(n)


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """Sample frequencies ``[0, 1, ..., n//2 - 1 (or n//2), -n//2, ..., -1] / (d n)``."""
    n = _freq_args("fftfreq", n, d)
    out_dtype = _dt.canonicalize(dtype or _dt.default_float())
    work = out_dtype if _dt.is_inexact(out_dtype) else _dt.default_float()
    i = arange(n, dtype=work)
    k = (i + n // 2) % n - n // 2
    return astype(k / asarray(d * n, work), out_dtype)


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    """Sample frequencies of ``rfft``'s output: ``[0, 1, ..., n//2] / (d n)``."""
    n = _freq_args("rfftfreq", n, d)
    dtype = _dt.canonicalize(dtype or _dt.default_float())
    return arange(0, n // 2 + 1, dtype=dtype) / asarray(d * n, dtype)


def _shift(name, x, axes, sign):
    x = asarray(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, int):
        axes = (axes,)
    axes = tuple(axes)
    shifts = [sign * (x.shape[ax] // 2) for ax in axes]
    return roll(x, shifts, axes) if axes else x


def fftshift(x, axes=None):
    """Move the zero frequency to the centre of the spectrum."""
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, axes=None):
    """The inverse of ``fftshift`` (they differ for odd lengths)."""
    return _shift("ifftshift", x, axes, -1)
