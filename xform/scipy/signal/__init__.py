"""``xform.scipy.signal``: ``jax.scipy.signal``'s names, composites over
``xform.numpy`` (its FFTs) and ``xform.lax`` (``conv_general_dilated``).

Modules: ``_convolve`` (``convolve``, ``correlate``, their 2-d forms, ``fftconvolve``,
``detrend``) and ``_spectral`` (``stft``, ``istft``, ``csd``, ``welch``)."""
from ._convolve import (convolve, convolve2d, correlate, correlate2d, detrend,
                        fftconvolve)
from ._spectral import csd, istft, stft, welch

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "csd", "detrend",
           "fftconvolve", "istft", "stft", "welch"]
