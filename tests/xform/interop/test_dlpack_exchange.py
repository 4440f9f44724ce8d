"""Zero-copy exchange through DLPack with NumPy, JAX and PyTorch on the CPU (issue 17).

No copy is proved by equal buffer addresses (``unsafe_buffer_pointer``,
``ndarray.ctypes.data``, ``tensor.data_ptr()``); ``copy=True`` must give another address,
``copy=False`` where a copy is needed must raise ``BufferError``.  Values are checked
against the producer's (NumPy as the oracle)."""
import gc

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import xform
import xform.numpy as xnp


def _aligned(values, align=64):
    """A NumPy array holding ``values`` whose data starts on an ``align``-byte boundary
    (XLA's CPU buffers need 64; NumPy's allocator gives 16)."""
    values = np.asarray(values)
    raw = np.empty(values.nbytes + align, np.uint8)
    off = (-raw.ctypes.data) % align
    out = raw[off:off + values.nbytes].view(values.dtype).reshape(values.shape)
    out[...] = values
    assert out.ctypes.data % align == 0
    return out


def _ptr(x):
    return x.unsafe_buffer_pointer()


VALUES = np.arange(24, dtype=np.float32).reshape(4, 6) - 7.5


# --- producers -> xform -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_, np.complex64])
def test_from_numpy_shares_memory(dtype):
    a = _aligned(VALUES.astype(dtype))
    x = xnp.from_dlpack(a)
    assert isinstance(x, xform.Array) and x.dtype == a.dtype and x.shape == a.shape
    assert _ptr(x) == a.ctypes.data
    np.testing.assert_array_equal(np.asarray(x), a)


def test_from_numpy_copy_true_copies():
    a = _aligned(VALUES)
    x = xnp.from_dlpack(a, copy=True)
    assert _ptr(x) != a.ctypes.data
    np.testing.assert_array_equal(np.asarray(x), a)
    a[0, 0] = 100.0   # the copy does not see later writes to the producer
    assert float(x[0, 0]) == VALUES[0, 0]


def test_from_numpy_copy_false_shares_when_it_can():
    a = _aligned(VALUES)
    assert _ptr(xnp.from_dlpack(a, copy=False)) == a.ctypes.data


def test_misaligned_numpy_producer_is_copied():
    a = _aligned(np.arange(17, dtype=np.float32))[1:]   # 4 bytes past a 64-byte boundary
    x = xnp.from_dlpack(a)
    assert _ptr(x) != a.ctypes.data
    np.testing.assert_array_equal(np.asarray(x), np.arange(1, 17, dtype=np.float32))
    with pytest.raises(BufferError, match="copy=False"):
        xnp.from_dlpack(a, copy=False)


def test_from_torch_shares_memory():
    t = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    x = xnp.from_dlpack(t)
    assert _ptr(x) == t.data_ptr()
    np.testing.assert_array_equal(np.asarray(x), t.numpy())
    y = xnp.from_dlpack(t, copy=True)
    assert _ptr(y) != t.data_ptr()
    np.testing.assert_array_equal(np.asarray(y), t.numpy())


def test_from_torch_outlives_the_tensor():
    t = torch.arange(10, dtype=torch.int64)
    x = xform.from_dlpack(t)
    del t
    gc.collect()
    np.testing.assert_array_equal(np.asarray(x + 1), np.arange(1, 11))


def test_from_jax_shares_memory():
    j = jnp.arange(12.0).reshape(3, 4)
    x = xnp.from_dlpack(j)
    assert _ptr(x) == j.unsafe_buffer_pointer()
    np.testing.assert_array_equal(np.asarray(x), np.asarray(j))
    assert _ptr(xnp.from_dlpack(j, copy=True)) != j.unsafe_buffer_pointer()


def test_from_xform_itself():
    x = xnp.asarray(VALUES)
    assert _ptr(xnp.from_dlpack(x)) == _ptr(x)
    assert _ptr(xnp.from_dlpack(x, copy=True)) != _ptr(x)


def test_from_dlpack_device_argument():
    dev = xform.local_devices()[0]
    t = torch.arange(8, dtype=torch.float32)
    x = xnp.from_dlpack(t, device=dev)
    assert x.device == dev and _ptr(x) == t.data_ptr()


def test_from_dlpack_rejects_non_producers():
    with pytest.raises(TypeError, match="from_dlpack: x must have __dlpack__"):
        xnp.from_dlpack([1, 2, 3])
    with pytest.raises(TypeError, match="copy must be None, True or False"):
        xnp.from_dlpack(torch.zeros(2), copy="yes")


# --- xform -> consumers -----------------------------------------------------------------------

def test_dlpack_device_is_the_cpu():
    assert tuple(xnp.arange(3).__dlpack_device__()) == (1, 0)


@pytest.mark.parametrize("dtype", [xnp.float32, xnp.int32, xnp.bool_, xnp.complex64])
def test_numpy_reads_xform_memory(dtype):
    x = xnp.asarray(VALUES).astype(dtype)
    a = np.from_dlpack(x)
    assert a.ctypes.data == _ptr(x)
    np.testing.assert_array_equal(a, VALUES.astype(np.dtype(dtype)))
    b = np.from_dlpack(x, copy=True)     # the standard's copy keyword reaches __dlpack__
    assert b.ctypes.data != _ptr(x)
    np.testing.assert_array_equal(b, a)


def test_torch_reads_xform_memory():
    x = xnp.asarray(VALUES)
    t = torch.from_dlpack(x)
    assert t.data_ptr() == _ptr(x)
    np.testing.assert_array_equal(t.numpy(), VALUES)


@pytest.mark.parametrize("consume", [jnp.from_dlpack, jax.dlpack.from_dlpack])
def test_jax_reads_xform_memory(consume):
    x = xnp.asarray(VALUES)
    j = consume(x)
    assert j.unsafe_buffer_pointer() == _ptr(x)
    np.testing.assert_array_equal(np.asarray(j), VALUES)


def test_dlpack_protocol_arguments():
    x = xnp.asarray(VALUES)
    # dl_device = where it already is: no copy; copy=True: a new buffer
    assert np.from_dlpack(x, device="cpu").ctypes.data == _ptr(x)
    assert _ptr(xnp.from_dlpack(_Producer(x, copy=True))) != _ptr(x)
    with pytest.raises(BufferError, match="stream"):
        x.__dlpack__(stream=1)
    with pytest.raises(BufferError, match="dl_device"):
        x.__dlpack__(dl_device=(2, 0))
    with pytest.raises(TypeError, match="max_version"):
        x.__dlpack__(max_version=1)


class _Producer:
    """Forwards to an array's ``__dlpack__`` with fixed keywords (what a consumer that
    passes ``copy=`` sends)."""

    def __init__(self, x, **kw):
        self.x, self.kw = x, kw

    def __dlpack__(self, stream=None):
        return self.x.__dlpack__(stream=stream, **self.kw)

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()


def test_round_trip_keeps_one_buffer():
    t = torch.arange(16, dtype=torch.float32)
    x = xnp.from_dlpack(t)
    back = torch.from_dlpack(x)
    assert back.data_ptr() == t.data_ptr()
    np.testing.assert_array_equal(back.numpy(), np.arange(16, dtype=np.float32))


def test_float64_producer_without_x64_is_converted():
    a = _aligned(np.arange(8, dtype=np.float64))
    old = xform.config.read("jax_enable_x64")
    xform.config.update("jax_enable_x64", False)
    try:
        x = xnp.from_dlpack(a)
        assert x.dtype == np.float32 and _ptr(x) != a.ctypes.data
        np.testing.assert_array_equal(np.asarray(x), a.astype(np.float32))
        with pytest.raises(BufferError, match="copy=False"):
            xnp.from_dlpack(a, copy=False)
    finally:
        xform.config.update("jax_enable_x64", old)
