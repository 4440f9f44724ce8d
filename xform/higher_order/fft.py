"""``fft`` (primitives/fft.py) under every transform."""
from __future__ import annotations

import math

import numpy as np

from primitives import fft as _fft, ops

from ..transforms.ad_util import aval_of
from ..transforms.batching import _ndim, moveaxis, RULES
from ..transforms.jvp import JVP, linear_jvp
from ..transforms.transpose import TRANSPOSE
from .. import lax
from ..core import bind


# === fft (primitives/fft.py) =================================================================
# The DFT is linear: its JVP is the same transform of the tangent.  Transposes follow JAX's
# convention for complex values (the plain transpose, no conjugation):
#   FFT, IFFT: the DFT matrix is symmetric, so each is its own transpose;
#   RFFT = slice(FFT(complex(x))): transpose = real(FFT(zero-pad(ct)));
#   IRFFT(x) = Re(sum_j w_j/N e^{+2 pi i j.k/N} x_j) with Hermitian weights w_j (1 for the
#   zero and Nyquist frequencies of the last axis, 2 for the others): transpose =
#   conj(w/N * RFFT(ct)).

JVP[_fft.fft] = linear_jvp(_fft.fft)


def _hermitian_weights(n: int, dtype):
    """Weights of the half spectrum's entries in the full one, along a last axis of n."""
    w = np.full(n // 2 + 1, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.astype(dtype)


def _fft_t(ct, x, *, fft_type, fft_lengths):
    def fft(v, kind):
        return bind(_fft.fft, v, fft_type=kind, fft_lengths=fft_lengths)
    if fft_type in ("FFT", "IFFT"):
        return [fft(ct, fft_type)]
    a = aval_of(ct)
    n = fft_lengths[-1]
    if fft_type == "RFFT":
        cfg = [(0, 0, 0)] * (a.ndim - 1) + [(0, n - a.shape[-1], 0)]
        full = lax.pad(ct, np.zeros((), a.dtype), cfg)
        return [lax.real(fft(full, "FFT"))]
    half = fft(ct, "RFFT")
    h = aval_of(half)
    w = _hermitian_weights(n, h.dtype) / math.prod(fft_lengths)
    w = bind(ops.broadcast_in_dim, w, shape=h.shape, broadcast_dimensions=(h.ndim - 1,))
    return [lax.conj(lax.mul(half, w))]


TRANSPOSE[_fft.fft] = _fft_t
# === end fft ===================================================================================


# === fft (primitives/fft.py) =================================================================


def _fft_rule(ax, args, dims, *, fft_type, fft_lengths):
    """The transform acts on the trailing axes: a batch axis among them moves to the front."""
    (x,), (d,) = args, dims
    if d >= _ndim(x) - len(fft_lengths):
        x, d = moveaxis(x, d, 0), 0
    return [bind(_fft.fft, x, fft_type=fft_type, fft_lengths=fft_lengths)], [d]


RULES[_fft.fft] = _fft_rule
# === end fft ===================================================================================
