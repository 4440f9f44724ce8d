"""Discrete Fourier transforms over the trailing 1-3 axes (family ``fft``).

* ``fft[fft_type, fft_lengths]  x -> y``
    ``fft_type`` is one of

    - ``"FFT"``:   complex -> complex, trailing axes ``fft_lengths``, unnormalised
      ``y[k] = sum_j x[j] exp(-2 pi i j.k / n)``;
    - ``"IFFT"``:  its inverse, ``1/prod(fft_lengths)`` included;
    - ``"RFFT"``:  real -> complex, the non-negative half of ``FFT``'s output along the
      last axis (``n // 2 + 1`` entries);
    - ``"IRFFT"``: complex (a Hermitian half spectrum, last axis ``n // 2 + 1``) -> real
      of trailing shape ``fft_lengths``; the imaginary parts of the zero and Nyquist
      frequencies are ignored.

It is a meta-operator rather than a composite because XLA has it (``stablehlo.fft``,
run by ducc on CPU and cuFFT on GPU): an O(n log n) library call that a composite
of ``dot_general`` with a twiddle matrix (O(n^2)) could not match.  NumPy's
``n``/``s`` (crop or zero-pad), ``axes`` (moved to the end) and ``norm`` (a scale)
are composites in ``xform.numpy.fft``.
"""
from __future__ import annotations

from . import dtypes
from .core import ShapedArray
from .ops import _define, _fail

FFT_TYPES = ("FFT", "IFFT", "RFFT", "IRFFT")


def _fft_rule(x: ShapedArray, *, fft_type, fft_lengths):
    if fft_type not in FFT_TYPES:
        _fail("fft", f"fft_type must be one of {FFT_TYPES}, got {fft_type!r}")
    lengths = tuple(fft_lengths)
    if not 1 <= len(lengths) <= 3 or any(not isinstance(n, int) or n < 1 for n in lengths):
        _fail("fft", f"fft_lengths must be 1 to 3 positive ints, got {fft_lengths!r}")
    k = len(lengths)
    if x.ndim < k:
        _fail("fft", f"a {k}-d transform needs an operand of rank >= {k}, got {x.str_short()}")
    lead, trail = x.shape[:-k], x.shape[-k:]
    if fft_type == "RFFT":
        if not dtypes.is_float(x.dtype) or x.dtype not in (dtypes.float32, dtypes.float64):
            _fail("fft", f"RFFT needs a float32 or float64 operand, got {x.str_short()}")
        want, out_trail = lengths, lengths[:-1] + (lengths[-1] // 2 + 1,)
        out_dtype = dtypes.complex_dtype(x.dtype)
    else:
        if x.dtype not in (dtypes.complex64, dtypes.complex128):
            _fail("fft", f"{fft_type} needs a complex64 or complex128 operand, got "
                  f"{x.str_short()}")
        if fft_type == "IRFFT":
            want, out_trail = lengths[:-1] + (lengths[-1] // 2 + 1,), lengths
            out_dtype = dtypes.real_dtype(x.dtype)
        else:
            want, out_trail, out_dtype = lengths, lengths, x.dtype
    if trail != want:
        _fail("fft", f"{fft_type} with fft_lengths={lengths} needs trailing dimensions {want}, "
              f"got {x.str_short()}")
    return [ShapedArray(lead + out_trail, out_dtype)]


fft = _define("fft", "fft", _fft_rule, ("fft_type", "fft_lengths"),
              "DFT (FFT, IFFT, RFFT, IRFFT) over the trailing len(fft_lengths) axes")
