"""xform.Array: repr, host interop, device transfer, zero-copy JAX interop, pickling."""
import pickle

import jax
import jax.numpy as jnp_ref
import numpy as np
import pytest

import xform
import xform.numpy as xnp

SAMPLES = [
    lambda m: m.arange(6.0).reshape(2, 3), lambda m: m.arange(4, dtype=m.int8),
    lambda m: m.asarray(2.5), lambda m: m.asarray(3), lambda m: m.array([True, False]),
    lambda m: m.zeros((0, 2)), lambda m: m.asarray([1.5, 2], m.bfloat16),
    lambda m: m.asarray([1 + 2j]), lambda m: m.ones((2, 2, 2), m.uint8),
]


@pytest.mark.parametrize("i", range(len(SAMPLES)))
def test_repr_str_matches_jax(i):
    x, r = SAMPLES[i](xnp), SAMPLES[i](jnp_ref)
    assert repr(x) == repr(r)
    assert str(x) == str(r)
    assert (x.shape, x.dtype, x.weak_type, x.ndim, x.size) == \
        (r.shape, r.dtype, r.weak_type, r.ndim, r.size)
    assert x.nbytes == r.nbytes and x.itemsize == r.itemsize


def test_array_protocol_and_conversions():
    x = xnp.arange(6.0).reshape(2, 3)
    a = np.asarray(x)
    assert a.dtype == np.float32 and a.shape == (2, 3)
    np.testing.assert_array_equal(a, np.arange(6.0).reshape(2, 3))
    assert np.asarray(x, np.int64).dtype == np.int64
    assert np.array(x, copy=True) is not a
    assert float(x[1, 2]) == 5.0 and int(x[0, 1]) == 1 and complex(x[0, 0]) == 0j
    assert x[1, 1].item() == 4.0 and x.item(3) == 3.0
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert bool(xnp.asarray(1)) and not bool(xnp.asarray(0))
    assert [10, 20, 30][xnp.asarray(1)] == 20
    with pytest.raises(TypeError):
        [1, 2][xnp.asarray(1.0)]
    with pytest.raises(TypeError):
        hash(x)


def test_len_iteration_astype():
    x = xnp.arange(6).reshape(3, 2)
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and all(isinstance(r, xform.Array) and r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(np.asarray(rows[2]), [4, 5])
    with pytest.raises(TypeError):
        len(xnp.asarray(1.0))
    with pytest.raises(TypeError):
        iter(xnp.asarray(1.0))
    for dt in (np.float16, xnp.bfloat16, np.bool_, np.uint8, np.complex64):
        y, r = x.astype(dt), jnp_ref.arange(6).reshape(3, 2).astype(dt)
        assert (y.dtype, y.weak_type, y.shape) == (r.dtype, r.weak_type, r.shape)
        np.testing.assert_array_equal(np.asarray(y), np.asarray(r))
    w = xnp.asarray(2.0)
    assert w.weak_type and not w.astype(np.float32).weak_type


def test_methods_match_jax():
    x, r = xnp.arange(12.0).reshape(3, 4), jnp_ref.arange(12.0).reshape(3, 4)
    for name, args in (("sum", (1,)), ("mean", ()), ("max", (0,)), ("argmin", ()),
                       ("reshape", (4, 3)), ("transpose", ()), ("ravel", ()), ("cumsum", (1,)),
                       ("clip", (2, 5)), ("round", ()), ("std", ()), ("squeeze", ())):
        got, want = getattr(x, name)(*args), getattr(r, name)(*args)
        assert (got.shape, got.dtype) == (want.shape, want.dtype), name
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, err_msg=name)
    np.testing.assert_array_equal(np.asarray(x.T), np.asarray(r.T))


def test_block_until_ready_device_put_get():
    x = xnp.arange(3.0)
    assert x.block_until_ready() is x
    assert xform.block_until_ready({"a": x})["a"] is x
    dev = xform.devices()[0]
    y = xform.device_put(np.arange(3, dtype=np.float32), dev)
    assert isinstance(y, xform.Array) and y.device == dev
    tree = xform.device_put({"a": np.ones(2), "b": [1.0]})
    assert isinstance(tree["a"], xform.Array) and tree["a"].dtype == np.float32
    assert isinstance(tree["b"][0], xform.Array) and tree["b"][0].weak_type
    host = xform.device_get({"a": x, "b": 3})
    assert isinstance(host["a"], np.ndarray) and host["b"] == 3
    np.testing.assert_array_equal(host["a"], [0, 1, 2])


def test_from_jax_is_zero_copy():
    r = jnp_ref.arange(4.0)
    x = xform.from_jax(r)
    assert isinstance(x, xform.Array) and x.dtype == r.dtype and x.shape == r.shape
    assert x.to_jax() is r  # the very same device buffer
    assert x.weak_type == r.weak_type
    np.testing.assert_array_equal(np.asarray(x + 1), np.asarray(r + 1))
    assert xnp.asarray(r).to_jax() is r
    w = xform.from_jax(jnp_ref.asarray(2.0))
    assert w.weak_type


def test_dlpack_round_trip_through_numpy():
    x = xnp.arange(6, dtype=xnp.int32).reshape(2, 3)
    a = np.from_dlpack(x)
    np.testing.assert_array_equal(a, np.arange(6).reshape(2, 3))
    assert a.dtype == np.int32
    y = xform.from_dlpack(np.arange(4.0, dtype=np.float32))
    assert isinstance(y, xform.Array) and y.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(y * 2), [0, 2, 4, 6])
    z = xnp.from_dlpack(x)
    np.testing.assert_array_equal(np.asarray(z), np.asarray(x))


@pytest.mark.parametrize("i", range(len(SAMPLES)))
def test_pickle_round_trip(i):
    x = SAMPLES[i](xnp)
    y = pickle.loads(pickle.dumps(x))
    assert isinstance(y, xform.Array)
    assert (y.shape, y.dtype, y.weak_type) == (x.shape, x.dtype, x.weak_type)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))


def test_array_cannot_be_constructed_directly():
    with pytest.raises(TypeError, match="asarray"):
        xform.Array(np.ones(2))


def test_operators_match_jax():
    x, r = xnp.arange(1, 5, dtype=xnp.int32), jnp_ref.arange(1, 5, dtype=jnp_ref.int32)
    for op in (lambda a: a + 1.5, lambda a: 2 - a, lambda a: a * a, lambda a: a / 2,
               lambda a: 7 // a, lambda a: a % 3, lambda a: a ** 2, lambda a: -a, lambda a: ~a,
               lambda a: a & 6, lambda a: 1 << a, lambda a: a >> 1, lambda a: a == 2,
               lambda a: abs(-a), lambda a: np.float32(2) * a,
               lambda a: np.ones(4, np.int8) + a, lambda a: divmod(a, 3)[1]):
        got, want = op(x), op(r)
        assert isinstance(got, xform.Array)
        assert (got.shape, got.dtype, got.weak_type) == (want.shape, want.dtype, want.weak_type)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_comparison_with_weak_operands_is_weak_like_jax():
    """JAX's comparison result is weakly typed when both promoted operands are weak."""
    for op in (lambda a: a < 2.5, lambda a: a == a):
        for x, r in ((xnp.arange(3), jnp_ref.arange(3)), (xnp.asarray(1.0), jnp_ref.asarray(1.0))):
            got, want = op(x), op(r)
            assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type)


def test_typeof_prints_as_jax():
    import jax
    for v in (1.0, True, np.ones((2, 3), np.float32), np.int8(3)):
        assert repr(xform.typeof(v)) == repr(jax.typeof(v))
    assert repr(xform.typeof(xform.numpy.arange(3))) == "ShapedArray(int32[3])"
    seen = []
    xform.vmap(lambda x: seen.append(repr(xform.typeof(x))) or x)(np.ones((2, 3), np.float32))
    assert seen == ["ShapedArray(float32[3])"]
