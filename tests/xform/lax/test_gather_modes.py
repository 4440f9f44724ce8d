"""``mode=`` of ``lax.gather`` and the scatters, and lax's enums, against ``jax.lax``:
every mode gives JAX's values for in- and out-of-bounds indices (a mode was ignored
before: ``scatter_add(mode='clip')`` dropped what JAX clamps)."""
import jax
import numpy as np
import pytest
from jax import lax

import xform
import xform.lax as xl

X = np.arange(10.0, dtype=np.float32).reshape(5, 2)
IDX = np.array([[1], [4], [7], [-1]])
U = np.arange(8.0, dtype=np.float32).reshape(4, 2)


def _gdn(L):
    return L.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                    start_index_map=(0,))


def _sdn(L):
    return L.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                     scatter_dims_to_operand_dims=(0,))


@pytest.mark.parametrize("mode", [None, "clip", "fill", "promise_in_bounds", "FILL_OR_DROP"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, bool])
def test_gather_modes(mode, dtype):
    def run(L):
        m = getattr(L.GatherScatterMode, mode) if mode == "FILL_OR_DROP" else mode
        return L.gather(X.astype(dtype), IDX, _gdn(L), (1, 2), mode=m)
    np.testing.assert_array_equal(run(xl), run(lax))


@pytest.mark.parametrize("mode", [None, "clip", "drop", "promise_in_bounds"])
@pytest.mark.parametrize("name", ["scatter", "scatter_add", "scatter_mul", "scatter_min",
                                  "scatter_max"])
def test_scatter_modes(mode, name):
    got = getattr(xl, name)(X, IDX, U, _sdn(xl), mode=mode)
    want = getattr(lax, name)(X, IDX, U, _sdn(lax), mode=mode)
    np.testing.assert_array_equal(got, want)


def test_fill_value_and_gradients_as_jax():
    def f(L, g):
        return lambda x: (g(x, IDX, _gdn(L), (1, 2), mode="fill", fill_value=-3.0) ** 2).sum()
    np.testing.assert_array_equal(f(xl, xl.gather)(X), f(lax, lax.gather)(X))
    np.testing.assert_array_equal(xform.grad(f(xl, xl.gather))(X),
                                  jax.grad(f(lax, lax.gather))(X))
    clip = lambda L: lambda u: L.scatter_add(X, IDX, u, _sdn(L), mode="clip").sum()  # noqa
    np.testing.assert_array_equal(xform.grad(clip(xl))(U), jax.grad(clip(lax))(U))
    np.testing.assert_array_equal(xform.vmap(lambda i: xl.gather(X, i, _gdn(xl), (1, 2),
                                                                 mode="fill"))(IDX[:, None]),
                                  jax.vmap(lambda i: lax.gather(X, i, _gdn(lax), (1, 2),
                                                                mode="fill"))(IDX[:, None]))


def test_enums_and_bad_modes():
    assert [m.name for m in xl.GatherScatterMode] == [m.name for m in lax.GatherScatterMode]
    assert [(m.name, int(m)) for m in xl.RoundingMethod] == \
        [(m.name, int(m)) for m in lax.RoundingMethod]
    assert [(m.name, int(m)) for m in xl.RandomAlgorithm] == \
        [(m.name, int(m)) for m in lax.RandomAlgorithm]
    assert float(xl.round(np.float32(2.5), xl.RoundingMethod.TO_NEAREST_EVEN)) == 2.0
    assert float(xl.round(np.float32(2.5), xl.RoundingMethod.AWAY_FROM_ZERO)) == 3.0
    with pytest.raises(ValueError, match="Unknown gather/scatter mode 'wrap'"):
        xl.gather(X, IDX, _gdn(xl), (1, 2), mode="wrap")
    with pytest.raises(NotImplementedError, match="ONE_HOT"):
        xl.scatter_add(X, IDX, U, _sdn(xl), mode=xl.GatherScatterMode.ONE_HOT)


@pytest.mark.parametrize("e,m", [(8, 7), (5, 10), (4, 3), (8, 0), (2, 1), (8, 23)])
def test_reduce_precision_as_jax(e, m):
    x = np.array([1.0, 1.00390625, 3.14159, 1e-40, 1e38, 7e4, np.nan, np.inf, -np.inf, -0.0,
                  65519.0, 65520.0, -2.5e-5], np.float32)
    np.testing.assert_array_equal(xl.reduce_precision(x, e, m), lax.reduce_precision(x, e, m))
    f = lambda L: lambda v: (L.reduce_precision(v * 3.0, e, m) ** 2).sum()   # noqa: E731
    np.testing.assert_array_equal(xform.grad(f(xl))(x[:3]), jax.grad(f(lax))(x[:3]))
    t = x[:3] * 0.3
    for got, want in zip(xform.jvp(lambda v: xl.reduce_precision(v, e, m), (x[:3],), (t,)),
                         jax.jvp(lambda v: lax.reduce_precision(v, e, m), (x[:3],), (t,))):
        np.testing.assert_array_equal(got, want)
    got = xl.reduce_precision(1.1, e, m)
    want = lax.reduce_precision(1.1, e, m)
    assert (got.dtype, got.weak_type, float(got)) == (want.dtype, want.weak_type, float(want))
    with pytest.raises(ValueError, match="exponent_bits >= 1"):
        xl.reduce_precision(x, 0, m)
