"""xform.scipy.fft (DCT type 2 and its inverse) and xform.scipy.integrate against JAX."""
import numpy as np
import pytest

import jax
import jax.scipy.fft as jf
import jax.scipy.integrate as ji

import xform
import xform.scipy.fft as xf
import xform.scipy.integrate as xi

R = np.random.default_rng(1)


def _close(o, t, tol=1e-4):
    o, t = np.asarray(o), np.asarray(t)
    assert o.shape == t.shape and o.dtype == t.dtype, (o.shape, t.shape, o.dtype, t.dtype)
    np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


def _both(ours, theirs, x, **kw):
    """One compiled program per call on each side (eager op-by-op compiles are slow)."""
    _close(xform.jit(lambda x: ours(x, **kw))(x), jax.jit(lambda x: theirs(x, **kw))(x))


@pytest.mark.parametrize("m", [1, 5])
@pytest.mark.parametrize("norm", [None, "ortho"])
@pytest.mark.parametrize("name", ["dct", "idct"])
def test_1d_matches_jax(m, norm, name):
    x = R.normal(size=(3, m)).astype(np.float32)
    ours, theirs = getattr(xf, name), getattr(jf, name)
    _both(ours, theirs, x.T, axis=0, norm=norm)
    _both(ours, theirs, x, n=m + 2, norm=norm)
    if m > 2:
        _both(ours, theirs, x, n=m - 1, norm=norm)


@pytest.mark.parametrize("norm", [None, "ortho"])
@pytest.mark.parametrize("name", ["dctn", "idctn"])
def test_nd_matches_jax(norm, name):
    x = R.normal(size=(4, 5, 6)).astype(np.float32)
    ours, theirs = getattr(xf, name), getattr(jf, name)
    _both(ours, theirs, x, norm=norm)
    _both(ours, theirs, x, s=(3, 7), norm=norm)


def test_complex_int_float64_and_roundtrip():
    x = R.normal(size=(4, 5)).astype(np.float32)
    xc = (x + 1j * x[::-1]).astype(np.complex64)
    _close(xf.dct(xc), jf.dct(xc))
    _close(xf.idctn(xc), jf.idctn(xc))
    _close(xf.dct(np.arange(6)), jf.dct(np.arange(6)))
    _close(xf.idct(xf.dct(x, norm="ortho"), norm="ortho"), x)
    xform.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_x64", True)
    try:
        x64 = R.normal(size=(3, 7))
        _close(xf.dctn(x64, norm="ortho"), jf.dctn(x64, norm="ortho"), 1e-10)
    finally:
        xform.config.update("jax_enable_x64", False)
        jax.config.update("jax_enable_x64", False)


def test_dct_grad_jit_vmap():
    x = R.normal(size=(6,)).astype(np.float32)
    w = np.linspace(0, 1, 6).astype(np.float32)

    def loss(m):
        return lambda x: (w * m.scipy.fft.dct(x, norm="ortho") ** 2).sum()
    _close(xform.grad(loss(xform))(x), jax.grad(loss(jax))(x))
    _close(xform.grad(lambda x: (w * xf.idct(x)).sum())(x),
           jax.grad(lambda x: (w * jf.idct(x)).sum())(x))
    _close(xform.jit(xf.dctn)(x.reshape(2, 3)), jf.dctn(x.reshape(2, 3)))
    b = R.normal(size=(3, 5)).astype(np.float32)
    _close(xform.vmap(xf.idct)(b), jax.vmap(jf.idct)(b))


def test_trapezoid():
    y = R.normal(size=(3, 7)).astype(np.float32)
    xs = np.sort(R.normal(size=7)).astype(np.float32)
    _close(xi.trapezoid(y), ji.trapezoid(y))
    _close(xi.trapezoid(y, xs), ji.trapezoid(y, xs))
    _close(xi.trapezoid(y, dx=0.5, axis=0), ji.trapezoid(y, dx=0.5, axis=0))


def test_misuse_names_argument_and_line():
    with pytest.raises(NotImplementedError, match=r"type=3.*test_scipy_fft\.py:\d+"):
        xf.dct(np.ones(4), type=3)
    with pytest.raises(ValueError, match=r"norm='forward'.*test_scipy_fft\.py:\d+"):
        xf.idctn(np.ones((2, 2)), norm="forward")
