"""``xform.numpy`` as an array API namespace (issue 17): the namespace object, its info
object, the array attributes the standard adds, and the keywords it adds to NumPy's
functions, each against jax.numpy (or NumPy) as the oracle."""
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp


def test_namespace_is_xform_numpy():
    x = xnp.arange(3)
    assert x.__array_namespace__() is xnp
    assert x.__array_namespace__(api_version="2024.12") is xnp
    assert xnp.__array_api_version__ == jnp.__array_api_version__ == "2024.12"
    with pytest.raises(ValueError, match="api_version='2099.01'"):
        x.__array_namespace__(api_version="2099.01")
    assert xform.jit(lambda v: v.__array_namespace__() is xnp and v)(x) is not None


@pytest.mark.parametrize("x64", [False, True])
def test_info_matches_jax(x64):
    old_x, old_j = xform.config.read("jax_enable_x64"), jax.config.jax_enable_x64
    xform.config.update("jax_enable_x64", x64)
    jax.config.update("jax_enable_x64", x64)
    try:
        mine, ref = xnp.__array_namespace_info__(), jnp.__array_namespace_info__()
        assert mine.capabilities() == {k: v for k, v in ref.capabilities().items()
                                       if k in mine.capabilities()}
        assert {k: np.dtype(v) for k, v in mine.default_dtypes().items()} == \
            {k: np.dtype(v) for k, v in ref.default_dtypes().items()}
        for kind in (None, "bool", "signed integer", "unsigned integer", "integral",
                     "real floating", "complex floating", "numeric",
                     ("real floating", "complex floating")):
            assert {k: np.dtype(v) for k, v in mine.dtypes(kind=kind).items()} == \
                {k: np.dtype(v) for k, v in ref.dtypes(kind=kind).items()}, kind
        assert mine.default_device() == xform.local_devices()[0]
        assert mine.devices() == xform.local_devices()
        with pytest.raises(ValueError, match="kind='floats'"):
            mine.dtypes(kind="floats")
    finally:
        xform.config.update("jax_enable_x64", old_x)
        jax.config.update("jax_enable_x64", old_j)


def test_device_and_to_device():
    dev = xform.local_devices()[0]
    x = xnp.arange(4.0)
    assert x.device == dev
    assert x.to_device(dev) is x
    with pytest.raises(ValueError, match="to_device: stream=1"):
        x.to_device(dev, stream=1)
    with pytest.raises(ValueError, match="to_device: device='gpu:7'"):
        x.to_device("gpu:7")
    out = xform.jit(lambda v: v.to_device(v.device) + 1)(x)
    np.testing.assert_array_equal(np.asarray(out), np.arange(4.0) + 1)


def test_mT_matches_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(xnp.asarray(a).mT), np.matrix_transpose(a))
    out = xform.jit(lambda v: v.mT)(xnp.asarray(a))
    np.testing.assert_array_equal(np.asarray(out), np.matrix_transpose(a))
    with pytest.raises(ValueError, match="mT: .* at least 2 dimensions, got shape \\(3,\\)"):
        xnp.arange(3).mT


def test_setitem_names_the_functional_update():
    x = xnp.zeros(3)
    with pytest.raises(TypeError, match=r"immutable.*x = x\.at\[0\]\.set\(y\)"):
        x[0] = 1
    y = x
    y += 1          # rebinding, as on a JAX array: x is unchanged
    np.testing.assert_array_equal(np.asarray(x), np.zeros(3))
    np.testing.assert_array_equal(np.asarray(y), np.ones(3))
    np.testing.assert_array_equal(np.asarray(x.at[0].set(1)), [1, 0, 0])


def test_binary_functions_have_the_standard_signature():
    for name in ("atan2", "divide", "equal", "less", "remainder", "bitwise_left_shift",
                 "nextafter", "floor_divide"):
        params = list(inspect.signature(getattr(xnp, name)).parameters.values())
        assert [p.name for p in params] == ["x1", "x2"], name
        assert all(p.kind is p.POSITIONAL_ONLY for p in params), name


def test_creation_functions_take_device():
    dev = xform.local_devices()[0]
    for name, args in [("zeros", ((2, 3),)), ("ones", ((2,),)), ("empty", ((2,),)),
                       ("full", ((2,), 7.0)), ("arange", (5,)), ("eye", (3,)),
                       ("linspace", (0.0, 1.0, 5)), ("zeros_like", (np.ones(2),)),
                       ("ones_like", (np.ones(2),)), ("full_like", (np.ones(2), 3)),
                       ("empty_like", (np.ones(2),))]:
        out = getattr(xnp, name)(*args, device=dev)
        ref = getattr(jnp, name)(*args, device=jax.devices("cpu")[0])
        assert out.device == dev, name
        assert out.dtype == ref.dtype and out.shape == ref.shape, name
        if not name.startswith("empty"):
            np.testing.assert_array_equal(np.asarray(out), np.asarray(ref), err_msg=name)
        assert "device" in inspect.signature(getattr(xnp, name)).parameters, name


def test_asarray_copy_and_device():
    x = xnp.arange(4.0)
    assert xnp.asarray(x) is x and xnp.asarray(x, copy=False) is x
    y = xnp.asarray(x, copy=True)
    assert y.unsafe_buffer_pointer() != x.unsafe_buffer_pointer()
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
    with pytest.raises(ValueError, match="asarray: copy=False, but converting float32 to int32"):
        xnp.asarray(x, dtype=xnp.int32, copy=False)
    with pytest.raises(TypeError, match="asarray: copy must be None, True or False"):
        xnp.asarray(x, copy="no")
    z = xnp.asarray([1, 2], device=xform.local_devices()[0])
    np.testing.assert_array_equal(np.asarray(z), np.asarray(jnp.asarray([1, 2])))
    out = xform.jit(lambda v: xnp.asarray(v, copy=True) * 2)(x)
    np.testing.assert_array_equal(np.asarray(out), np.arange(4.0) * 2)


def test_astype_copy():
    x = xnp.arange(3, dtype=xnp.int32)
    assert xnp.astype(x, xnp.int32) is x
    c = xnp.astype(x, xnp.int32, copy=True)
    assert c.unsafe_buffer_pointer() != x.unsafe_buffer_pointer()
    assert xnp.astype(x, xnp.float32, copy=True).dtype == jnp.astype(
        jnp.arange(3, dtype=jnp.int32), jnp.float32, copy=True).dtype


@pytest.mark.parametrize("fn", ["cumulative_sum", "cumulative_prod"])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "float32", "bool"])
@pytest.mark.parametrize("include_initial", [False, True])
def test_cumulative_functions_follow_the_standard(fn, dtype, include_initial):
    a = (np.arange(1, 13).reshape(3, 4) % 4).astype(dtype)
    for axis in (0, 1, -1):
        out = getattr(xnp, fn)(xnp.asarray(a), axis=axis, include_initial=include_initial)
        # the standard widens small integers as sum/prod do (jax.numpy 0.10.2 does so for
        # cumulative_sum only): the expected dtype is the one of xnp.sum, the values NumPy's
        wide = np.dtype(xnp.sum(xnp.asarray(a)).dtype) if dtype != "float32" else np.float32
        ref = (np.cumsum if fn == "cumulative_sum" else np.cumprod)(a, axis=axis, dtype=wide)
        if include_initial:
            shape = list(ref.shape)
            shape[axis] = 1
            ref = np.concatenate([np.full(shape, fn == "cumulative_prod", wide), ref], axis)
        assert out.dtype == ref.dtype, (axis, out.dtype, ref.dtype)
        np.testing.assert_array_equal(np.asarray(out), ref)
    with pytest.raises(ValueError, match=f"{fn}: axis must be given for an array of 2"):
        getattr(xnp, fn)(xnp.asarray(a))
    if fn == "cumulative_sum":
        ref = jnp.cumulative_sum(jnp.asarray(a), axis=1, include_initial=include_initial)
        out = xnp.cumulative_sum(xnp.asarray(a), axis=1, include_initial=include_initial)
        np.testing.assert_array_equal(np.asarray(out), np.asarray(ref))
