"""xform.numpy.fft and the ``fft`` meta-operator against jax.numpy.fft.

Values, shapes and dtypes of every function (float32/complex64, then float64/complex128
with x64 on: those tests come last because the x64 fixture stays on to the module's
end); dot-product tests of the four transpose rules; gradients vs jax.grad; vmap vs a
Python loop.  Inputs come from a small pool of shapes so the one-op executables are
shared between tests.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import xform
import xform.numpy as xnp
from primitives import fft as fft_ops
from xform.core import bind

from oracle import assert_same

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 6)).astype(np.float32)
Z = (X + 1j * RNG.standard_normal(X.shape)).astype(np.complex64)
TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.complex64): 2e-5,
       np.dtype(np.float64): 1e-12, np.dtype(np.complex128): 1e-12}

# (name, keyword arguments, input): complex inputs where the transform's input is complex
CASES = [
    ("fft", {}, Z), ("fft", dict(n=4), X), ("fft", dict(n=9, axis=0, norm="ortho"), Z),
    ("ifft", {}, X), ("ifft", dict(n=5, axis=1, norm="forward"), Z),
    ("rfft", {}, X), ("rfft", dict(n=5, axis=1), X), ("rfft", dict(norm="ortho"), X),
    ("irfft", {}, Z), ("irfft", dict(n=7), Z), ("irfft", dict(n=4, axis=0, norm="forward"), X),
    ("hfft", {}, Z), ("hfft", dict(n=5), Z), ("ihfft", {}, X), ("ihfft", dict(n=3, norm="ortho"), X),
    ("fft2", {}, X), ("fft2", dict(s=(3, 8), axes=(0, 2)), Z), ("ifft2", dict(norm="ortho"), Z),
    ("rfft2", {}, X), ("rfft2", dict(axes=(2, 0)), X), ("irfft2", {}, Z),
    ("irfft2", dict(s=(4, 5)), Z), ("fftn", {}, Z), ("fftn", dict(axes=(1,)), X),
    ("fftn", dict(s=(2, 2), norm="forward"), Z), ("ifftn", dict(axes=(-1, 0)), Z),
    ("rfftn", {}, X), ("rfftn", dict(s=(5, 3)), X), ("irfftn", {}, Z),
    ("irfftn", dict(s=(3, 4, 9)), Z), ("irfftn", dict(axes=(0, 1)), X),
    ("fftshift", {}, X), ("fftshift", dict(axes=1), Z), ("ifftshift", {}, X),
    ("ifftshift", dict(axes=(0, 2)), Z),
]
CASE_IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)]


def _tol(dt):
    return TOL.get(np.dtype(dt), 2e-5)


@functools.lru_cache(maxsize=None)
def _jax_jitted(name, kw):
    """The oracle as one compiled program per case (eager jnp compiles every op)."""
    return jax.jit(functools.partial(getattr(jnp.fft, name), **dict(kw)))


def _compare(name, kw, arg):
    want = _jax_jitted(name, tuple(sorted(kw.items())))(arg)
    got = getattr(xnp.fft, name)(xnp.asarray(arg), **kw)
    assert got.shape == want.shape and got.dtype == want.dtype, \
        f"{name}{kw}: {got.dtype}{got.shape}, jax gives {want.dtype}{want.shape}"
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=_tol(want.dtype),
                               atol=_tol(want.dtype) * scale, err_msg=f"{name}{kw}")


@pytest.mark.parametrize("name,kw,x", CASES, ids=CASE_IDS)
def test_values_shapes_dtypes(name, kw, x):
    _compare(name, kw, x)


@pytest.mark.parametrize("dtype", [np.int32, np.bool_])
def test_integer_and_bool_inputs(dtype):
    a = (X[0] > 0).astype(dtype)
    for name in ("fft", "rfft", "ifft2"):
        _compare(name, {}, a)


def test_more_than_three_axes():
    x = RNG.standard_normal((2, 3, 2, 2, 3)).astype(np.float32)
    for name in ("fftn", "ifftn", "rfftn"):
        _compare(name, {}, x)
    _compare("irfftn", {}, np.asarray(jnp.fft.rfftn(x)))


def test_freqs():
    for n, d in [(5, 1.0), (6, 0.1)]:
        assert_same(xnp.fft.fftfreq(n, d), jnp.fft.fftfreq(n, d))
        assert_same(xnp.fft.rfftfreq(n, d), jnp.fft.rfftfreq(n, d))
    assert_same(xnp.fft.fftfreq(6, dtype=np.int32), jnp.fft.fftfreq(6, dtype=jnp.int32))


def test_under_jit():
    f = xform.jit(lambda v: xnp.fft.irfft2(xnp.fft.rfft2(v), s=v.shape[-2:]))
    np.testing.assert_allclose(np.asarray(f(xnp.asarray(X))), X, atol=1e-5)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="float32 or float64"):
        xnp.fft.rfft(xnp.asarray(X.astype(np.float16)))
    for name in ("rfft", "rfft2", "rfftn", "ihfft"):
        with pytest.raises(ValueError, match="real"):
            getattr(xnp.fft, name)(xnp.asarray(Z))
    with pytest.raises(ValueError, match="norm"):
        xnp.fft.fft(xnp.asarray(Z), norm="bogus")
    with pytest.raises(ValueError, match="multiple axes"):
        xnp.fft.fft(xnp.asarray(Z), axis=(0, 1))
    with pytest.raises(ValueError, match="2 axes"):
        xnp.fft.fft2(xnp.asarray(Z), axes=(0,))
    with pytest.raises(ValueError, match="repeated axes"):
        xnp.fft.fftn(xnp.asarray(Z), axes=(1, -2))
    with pytest.raises(ValueError, match="different lengths"):
        xnp.fft.fftn(xnp.asarray(Z), s=(2, 2), axes=(0,))
    with pytest.raises(TypeError, match="fft.*trailing dimensions"):
        bind(fft_ops.fft, xnp.asarray(Z), fft_type="IRFFT", fft_lengths=(6,))


# --- the meta-operator's rules ------------------------------------------------------------

# (fft_type, fft_lengths, input); inputs have trailing shapes the op needs
PRIM_CASES = [
    ("FFT", (6,), Z), ("IFFT", (4, 6), Z), ("FFT", (3, 4, 6), Z),
    ("RFFT", (6,), X), ("RFFT", (3, 4, 6), X), ("RFFT", (5,), X[..., :5]),
    ("IRFFT", (6,), Z[..., :4]), ("IRFFT", (7,), Z[..., :4]), ("IRFFT", (4, 6), Z[..., :4]),
]
PRIM_IDS = [f"{t}{n}" for t, n, _ in PRIM_CASES]


def _prim(kind, lengths):
    return functools.partial(bind, fft_ops.fft, fft_type=kind, fft_lengths=lengths)


def _random_like(a):
    a = np.asarray(a)
    r = RNG.standard_normal(a.shape)
    if np.iscomplexobj(a):
        r = r + 1j * RNG.standard_normal(a.shape)
    return r.astype(a.dtype)


@pytest.mark.parametrize("kind,lengths,x", PRIM_CASES, ids=PRIM_IDS)
def test_transpose_dot_product(kind, lengths, x):
    """<T(ct), x> == <ct, L(x)> with JAX's unconjugated pairing; the real part for RFFT and
    IRFFT, which are linear over the reals only."""
    op = _prim(kind, lengths)
    y, pullback = xform.vjp(op, xnp.asarray(x))
    ct = _random_like(y)
    (t,) = pullback(xnp.asarray(ct))
    assert t.shape == x.shape and t.dtype == x.dtype
    lhs = np.sum(np.asarray(t, np.complex128) * x)
    rhs = np.sum(ct.astype(np.complex128) * np.asarray(y))
    if kind in ("FFT", "IFFT"):
        np.testing.assert_allclose(lhs, rhs, rtol=1e-4)
    else:
        np.testing.assert_allclose(lhs.real, rhs.real, rtol=1e-4)


@pytest.mark.parametrize("kind,lengths,x", PRIM_CASES, ids=PRIM_IDS)
def test_jvp_is_the_transform_of_the_tangent(kind, lengths, x):
    op = _prim(kind, lengths)
    t = _random_like(x)
    y, ty = xform.jvp(op, (xnp.asarray(x),), (xnp.asarray(t),))
    np.testing.assert_allclose(np.asarray(ty), np.asarray(op(xnp.asarray(t))), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("kind,lengths,x", PRIM_CASES, ids=PRIM_IDS)
def test_vmap_matches_loop(kind, lengths, x):
    op = _prim(kind, lengths)
    # batch along the first axis, and along an axis the transform acts on (moved out)
    for axis in sorted({0, x.ndim - len(lengths) - 1 if x.ndim > len(lengths) else 0}):
        batched = np.moveaxis(np.stack([x, 2 * x]), 0, axis)
        got = xform.vmap(op, in_axes=axis)(xnp.asarray(batched))
        want = np.stack([np.asarray(op(xnp.asarray(x))), np.asarray(op(xnp.asarray(2 * x)))])
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_vmap_over_a_transformed_axis():
    """fft over the last axis of per-example arrays whose batch axis is last."""
    got = xform.vmap(xnp.fft.fft, in_axes=-1)(xnp.asarray(Z))
    want = jax.vmap(jnp.fft.fft, in_axes=-1)(Z)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


GRAD_CASES = [
    ("fft", {}, Z), ("ifft2", dict(norm="ortho"), Z), ("rfft", dict(n=8), X),
    ("irfft", dict(n=7), Z), ("irfftn", dict(s=(3, 4, 5)), Z), ("hfft", {}, Z),
]


@pytest.mark.parametrize("name,kw,x", GRAD_CASES, ids=[f"{n}-{i}" for i, (n, _, _) in
                                                      enumerate(GRAD_CASES)])
def test_grad_matches_jax(name, kw, x):
    def loss(lib, v):
        y = getattr(lib.fft, name)(v, **kw)
        return lib.sum(lib.abs(y) ** 2 * lib.cos(lib.real(y)))
    got = xform.jit(xform.grad(functools.partial(loss, xnp)))(xnp.asarray(x))
    want = jax.jit(jax.grad(functools.partial(loss, jnp)))(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=2e-4)


@settings(max_examples=8, deadline=None)
@given(shape=st.sampled_from([(4,), (3, 4), (2, 3, 4)]), kind=st.sampled_from(
    ["fftn", "ifftn", "rfftn", "irfftn"]), norm=st.sampled_from([None, "ortho", "forward"]),
    seed=st.integers(0, 2 ** 16))
def test_hypothesis_round_trip_and_values(shape, kind, norm, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape).astype(np.float32)
    if kind in ("fftn", "ifftn", "irfftn"):
        x = (x + 1j * r.standard_normal(shape)).astype(np.complex64)
    _compare(kind, dict(norm=norm), x)


# --- float64 / complex128 (x64 on for the rest of the module) ----------------------------

@pytest.mark.parametrize("name,kw,x", CASES[::6], ids=CASE_IDS[::6])
def test_values_x64(x64_enabled, name, kw, x):
    _compare(name, kw, x.astype(np.complex128 if np.iscomplexobj(x) else np.float64))


def test_grad_x64(x64_enabled):
    z = Z.astype(np.complex128)

    def loss(lib, v):
        return lib.sum(lib.fft.irfft2(v) ** 3)
    got = xform.jit(xform.grad(functools.partial(loss, xnp)))(xnp.asarray(z))
    want = jax.jit(jax.grad(functools.partial(loss, jnp)))(z)
    assert got.dtype == np.complex128
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10, atol=1e-10)
