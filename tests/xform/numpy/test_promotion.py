"""Type promotion: xform.numpy must agree with jax.numpy on every pair of dtypes.

The pairs cover every dtype in ``primitives.dtypes.SUPPORTED`` plus the weak
Python scalars (int, float, complex, bool), with x64 off and on.
"""
import itertools

import jax
import jax.numpy as jnp_ref
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from primitives import dtypes

PY_SCALARS = (True, 3, 2.5, 1 + 2j)   # weak (except bool) Python scalars
OPERANDS = tuple(dtypes.SUPPORTED) + PY_SCALARS
pytestmark = pytest.mark.filterwarnings("ignore:Explicitly requested dtype")


@pytest.fixture(params=[False, True], ids=["x64_off", "x64_on"])
def x64(request):
    """Turn x64 on or off in both libraries, and restore both afterwards."""
    before = (xform.config.read("jax_enable_x64"), jax.config.jax_enable_x64)
    xform.config.update("jax_enable_x64", request.param)
    jax.config.update("jax_enable_x64", request.param)
    yield request.param
    xform.config.update("jax_enable_x64", before[0])
    jax.config.update("jax_enable_x64", before[1])


def _label(op):
    return type(op).__name__ if not isinstance(op, np.dtype) else op.name


def _make(lib, op):
    """A 0-d array of dtype ``op`` (canonicalised as the library does), or the scalar."""
    return lib.zeros((), op) if isinstance(op, np.dtype) else op


def test_x64_fixture_restores(x64):
    assert xform.config.read("jax_enable_x64") == x64
    assert jax.config.jax_enable_x64 == x64


def _refused(jax_call, xform_call):
    """True when JAX refuses to promote (float8/int4 meet only Python scalars and, for
    float8, integers: ``TypePromotionError``, a ``ValueError``); xform must refuse too."""
    try:
        jax_call()
    except ValueError:
        with pytest.raises(ValueError, match="no implicit promotion path"):
            xform_call()
        return True
    return False


@pytest.mark.parametrize("a", OPERANDS, ids=_label)
def test_result_type_pairs(x64, a):
    bad = []
    for b in OPERANDS:
        if _refused(lambda: jnp_ref.result_type(a, b), lambda: xnp.result_type(a, b)):
            continue
        want = jnp_ref.result_type(a, b)
        got = xnp.result_type(a, b)
        if got != want:
            bad.append(f"result_type({_label(a)}, {_label(b)}) = {got}, jax gives {want}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("a", OPERANDS, ids=_label)
def test_add_dtype_and_weak_type(x64, a):
    bad = []
    for b in OPERANDS:
        if not isinstance(a, np.dtype) and not isinstance(b, np.dtype):
            continue  # scalar + scalar is plain Python arithmetic
        if _refused(lambda: jnp_ref.add(_make(jnp_ref, a), _make(jnp_ref, b)),
                    lambda: xnp.add(_make(xnp, a), _make(xnp, b))):
            continue
        try:
            want = jnp_ref.add(_make(jnp_ref, a), _make(jnp_ref, b))
        except Exception as e:  # pragma: no cover - jax accepts every pair
            raise AssertionError(f"jax rejected {a}, {b}: {e}")
        got = xnp.add(_make(xnp, a), _make(xnp, b))
        if (got.dtype, got.weak_type, got.shape) != (want.dtype, want.weak_type, want.shape):
            bad.append(f"add({_label(a)}, {_label(b)}) -> {got.dtype} weak={got.weak_type}, "
                       f"jax gives {want.dtype} weak={want.weak_type}")
        else:
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("a", OPERANDS, ids=_label)
def test_add_under_jit_dtype_and_weak_type(x64, a):
    """Traced operands keep their weak type, so jit must promote as eager does."""
    bad = []
    for b in OPERANDS:
        if not isinstance(a, np.dtype) and not isinstance(b, np.dtype):
            continue
        if _refused(lambda: jax.eval_shape(jnp_ref.add, _make(jnp_ref, a), _make(jnp_ref, b)),
                    lambda: xform.eval_shape(xnp.add, _make(xnp, a), _make(xnp, b))):
            continue
        want = jax.eval_shape(jnp_ref.add, _make(jnp_ref, a), _make(jnp_ref, b))
        got = xform.eval_shape(xnp.add, _make(xnp, a), _make(xnp, b))
        if (got.dtype, got.weak_type) != (want.dtype, want.weak_type):
            bad.append(f"jit add({_label(a)}, {_label(b)}) -> {got.dtype} weak={got.weak_type}, "
                       f"jax gives {want.dtype} weak={want.weak_type}")
    assert not bad, "\n".join(bad)


def test_weak_arrays_promote_like_scalars(x64):
    """A weak-typed array (e.g. jnp.asarray(2.0)) behaves as a Python scalar would."""
    for w, d in itertools.product((3, 2.5, 1j), dtypes.SUPPORTED):
        wx, wr = xnp.asarray(w), jnp_ref.asarray(w)
        assert (wx.dtype, wx.weak_type) == (wr.dtype, wr.weak_type)
        if _refused(lambda: jnp_ref.add(wr, jnp_ref.zeros((), d)),
                    lambda: xnp.add(wx, xnp.zeros((), d))):
            continue
        got, want = xnp.add(wx, xnp.zeros((), d)), jnp_ref.add(wr, jnp_ref.zeros((), d))
        assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type), (w, d)


def test_promote_types_matches(x64):
    for a, b in itertools.product(dtypes.SUPPORTED, repeat=2):
        if _refused(lambda: jnp_ref.promote_types(a, b), lambda: xnp.promote_types(a, b)):
            continue
        assert xnp.promote_types(a, b) == jnp_ref.promote_types(a, b), (a, b)


def test_result_type_of_python_types(x64):
    for t in (int, float, complex, bool):
        assert xnp.result_type(t) == jnp_ref.result_type(t), t
        for d in dtypes.SUPPORTED:
            if _refused(lambda: jnp_ref.result_type(t, d), lambda: xnp.result_type(t, d)):
                continue
            assert xnp.result_type(t, d) == jnp_ref.result_type(t, d), (t, d)


def test_x64_is_off_outside_fixture():
    """Runs after the parametrised tests in file order: toggling must not leak."""
    assert xform.config.read("jax_enable_x64") is False
    assert jax.config.jax_enable_x64 is False
    assert xnp.asarray(1.0).dtype == np.float32


@pytest.mark.parametrize("name", ["bool_", "int8", "int16", "int32", "uint8", "uint32",
                                  "bfloat16", "float16", "float32", "complex64"])
def test_scalar_types_are_dtypes_and_callables_as_jax(name):
    """``jnp.float32(1)`` makes an array (JAX's scalar types are callable); the same
    name still works wherever a dtype does."""

    mine, theirs = getattr(xnp, name), getattr(jnp_ref, name)
    for value in (1, 2.7, [1, 0, 3], True):
        got, want = mine(value), theirs(value)
        assert isinstance(got, xform.Array)
        assert got.dtype == want.dtype and got.shape == want.shape, (name, value)
        np.testing.assert_array_equal(np.asarray(got).astype(np.complex128),
                                      np.asarray(want).astype(np.complex128))
    assert np.dtype(mine) == np.dtype(theirs)
    assert xnp.zeros(2, mine).dtype == mine and mine == np.dtype(theirs)
    assert {mine: 1}[np.dtype(theirs)] == 1
    assert xnp.issubdtype(mine, xnp.floating) == jnp_ref.issubdtype(theirs, jnp_ref.floating)
    assert isinstance(np.dtype(theirs).type(1), mine)


_LIFTED = ["sin", "sqrt", "mean", "var", "std", "angle", "true_divide", "arctan2", "log",
           "average", "nanmean", "median", "cbrt", "exp2", "hypot", "logaddexp", "sinc",
           "deg2rad", "i0", "fft.fft", "linalg.norm", "corrcoef"]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint32, np.int64, np.bool_])
def test_integers_lift_to_the_float_jax_lifts_them_to(x64, dtype):
    """int/bool up to 32 bits compute in float32 even with x64 on (JAX's to_inexact_dtype
    table); 64-bit integers in float64; ``angle`` takes the default float as JAX's does."""
    def get(m, path):
        for part in path.split("."):
            m = getattr(m, part)
        return m
    a = np.arange(1, 5).astype(dtype)
    for name in _LIFTED:
        args = (a, a) if name in ("true_divide", "arctan2", "hypot", "logaddexp") else (a,)
        got, want = get(xform.numpy, name)(*args), get(jax.numpy, name)(*args)
        assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type), (name, dtype)


def test_float_floor_divide_steps_as_cpython(x64):
    """``-1.0 // 1e-6`` is -1000001 (the quotient of x - (x rem y), as CPython and JAX),
    not floor(x / y) = -1000000; infinities, NaN and signed zeros as JAX."""
    v = np.array([-1.0, 1.0, 0.0, -0.0, 7.5, -7.5, np.inf, -np.inf, np.nan, 1e-30])
    d = np.array([1e-6, -1e-6, 2.0, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 0.1])
    a, b = (m.ravel() for m in np.meshgrid(v, d))
    for dt in ((np.float32, np.float64) if x64 else (np.float32,)):
        got = np.asarray(xform.numpy.floor_divide(a.astype(dt), b.astype(dt)))
        want = np.asarray(jax.numpy.floor_divide(a.astype(dt), b.astype(dt)))
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
