"""xform.scipy.signal against jax.scipy.signal: values, dtypes, gradients, jit, vmap and
errors that name the argument and the caller's line."""
import numpy as np
import pytest

import jax
import jax.scipy.signal as js

import xform
import xform.scipy.signal as xs

R = np.random.default_rng(0)


def _close(ours, theirs, tol=1e-4):
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    for o, t in zip(ours, theirs):
        o, t = np.asarray(o), np.asarray(t)
        assert o.shape == t.shape and o.dtype == t.dtype, (o.shape, t.shape, o.dtype, t.dtype)
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


SHAPES = [((7,), (3,)), ((3,), (7,)), ((5, 6), (2, 3)), ((2, 3), (5, 6)), ((4, 4), (4, 4))]


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_convolutions_match_jax(mode, sa, sb):
    a = R.normal(size=sa).astype(np.float32)
    b = R.normal(size=sb).astype(np.float32)
    for name in ("convolve", "correlate", "fftconvolve"):
        _close(getattr(xs, name)(a, b, mode=mode), getattr(js, name)(a, b, mode=mode))
    if len(sa) == 2:
        for name in ("convolve2d", "correlate2d"):
            _close(getattr(xs, name)(a, b, mode=mode), getattr(js, name)(a, b, mode=mode))


def test_complex_axes_and_float64():
    a = (R.normal(size=(6,)) + 1j * R.normal(size=(6,))).astype(np.complex64)
    b = (R.normal(size=(3,)) + 1j * R.normal(size=(3,))).astype(np.complex64)
    for name in ("convolve", "correlate", "fftconvolve"):
        _close(getattr(xs, name)(a, b), getattr(js, name)(a, b))
    _close(xs.correlate2d(b.reshape(1, 3), a.reshape(2, 3)),
           js.correlate2d(b.reshape(1, 3), a.reshape(2, 3)))
    x, y = R.normal(size=(3, 8)).astype(np.float32), R.normal(size=(3, 4)).astype(np.float32)
    _close(xs.fftconvolve(x, y, mode="same", axes=1), js.fftconvolve(x, y, mode="same", axes=1))
    _close(xs.convolve(np.arange(5), np.arange(3)), js.convolve(np.arange(5), np.arange(3)))
    xform.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_x64", True)
    try:
        x64, y64 = R.normal(size=9), R.normal(size=4)
        _close(xs.convolve(x64, y64, mode="same"), js.convolve(x64, y64, mode="same"), 1e-10)
        _close(xs.fftconvolve(x64, y64), js.fftconvolve(x64, y64), 1e-10)
    finally:
        xform.config.update("jax_enable_x64", False)
        jax.config.update("jax_enable_x64", False)


def test_detrend_and_spectral():
    x = R.normal(size=(3, 20)).astype(np.float32)
    y = R.normal(size=(3, 18)).astype(np.float32)
    _close(xs.detrend(x), js.detrend(x))
    _close(xs.detrend(x.T, axis=0, bp=[5, 11]), js.detrend(x.T, axis=0, bp=[5, 11]))
    _close(xs.stft(x, nperseg=8), js.stft(x, nperseg=8))
    kw = dict(nperseg=8, average="median", scaling="spectrum", detrend="linear")
    _close(xs.welch(x, **kw), js.welch(x, **kw))
    _close(xs.csd(x, y, nperseg=6), js.csd(x, y, nperseg=6))
    _, _, z = js.stft(x, nperseg=8)
    _close(xs.istft(np.asarray(z), nperseg=8), js.istft(z, nperseg=8))


def test_convolve_grad_jit_vmap():
    a = R.normal(size=(6,)).astype(np.float32)
    b = R.normal(size=(3,)).astype(np.float32)

    def loss(m):
        return lambda a, b: (m.scipy.signal.convolve(a, b, mode="same") ** 2).sum()
    g = xform.grad(loss(xform), argnums=(0, 1))(a, b)
    gj = jax.grad(loss(jax), argnums=(0, 1))(a, b)
    _close(tuple(g), tuple(gj))
    _close(xform.jit(xs.fftconvolve)(a, b), js.fftconvolve(a, b))
    batch = R.normal(size=(4, 6)).astype(np.float32)
    _close(xform.vmap(lambda r: xs.correlate(r, b))(batch),
           jax.vmap(lambda r: js.correlate(r, b))(batch))


def test_misuse_names_argument_and_line():
    with pytest.raises(ValueError, match=r"mode must be one of .*'bogus'.*test_signal\.py:\d+"):
        xs.convolve(np.ones(3), np.ones(2), mode="bogus")
    with pytest.raises(ValueError, match=r"in1 and in2 must be 2-dimensional.*test_signal\.py"):
        xs.convolve2d(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"noverlap \(8\) must be less than nperseg"):
        xs.welch(np.ones(20), nperseg=8, noverlap=8)
