"""Devices and placement: ``devices``, ``local_devices``, ``process_index``/``count``,
``device_put`` (to a device or a sharding), ``device_get``, ``block_until_ready``, and
zero-copy ``from_jax`` / ``from_dlpack``."""
from __future__ import annotations

import ctypes

import numpy as np

from primitives import dtypes
from primitives.core import ShapedArray
from primitives.sharding import NamedSharding, Sharding, SingleDeviceSharding
from lowering import _jaxlib

from ..core import trace as core
from ..core import Array, aval_of_scalar
from ..core import array as array_mod
from ..core.pytree import broadcast_prefix, tree_flatten, tree_leaves, tree_map, tree_unflatten

_PY_SCALARS = (int, float, complex, bool)


# --- devices --------------------------------------------------------------------------------------

# After ``xform.distributed.initialize`` the client is the multi-process one: ``devices()``
# lists every process's devices, ``local_devices()`` this process's (the ones it can put
# data on and run on), each device knowing its ``process_index``.

def devices(backend: str | None = None):
    """Every device of every process (all of them when not distributed)."""
    return list(_jaxlib.client(backend).devices())


def local_devices(process_index=None, backend: str | None = None):
    """The devices of this process, or of process ``process_index``."""
    if process_index is None:
        return list(_jaxlib.client(backend).local_devices())
    return [d for d in devices(backend) if d.process_index == process_index]


def device_count(backend=None):
    return len(devices(backend))


def local_device_count(backend=None):
    return len(local_devices(backend=backend))


def default_backend() -> str:
    return _jaxlib.default_device().platform


def process_index(backend: str | None = None) -> int:
    """This process's index among the processes of a distributed run (0 when alone)."""
    return _jaxlib.client(backend).process_index()


def process_count(backend: str | None = None) -> int:
    """How many processes take part (1 when not distributed)."""
    return max(d.process_index for d in devices(backend)) + 1


def device_put(x, device=None, *, may_alias=None, donate=False):
    """Copy a pytree of arrays to ``device`` (default: the default device), or lay it
    out over several devices: ``device`` may be a ``Sharding`` (``NamedSharding(mesh,
    P('x'))``) or a pytree prefix of ``x`` made of devices and shardings.

    ``may_alias=False`` always copies (the result never shares the input's buffer);
    otherwise an ``Array`` already laid out so is returned as it is.  ``donate=True``
    lets the input be deleted; it is a permission, which xform (like JAX on one device)
    does not use: the input stays valid."""
    if may_alias and donate:
        raise ValueError("device_put: may_alias and donate cannot both be True")
    leaves, tree = tree_flatten(x)
    targets = broadcast_prefix(device, tree, _is_placement, "device_put: device")
    return tree_unflatten(tree, [_put_leaf(leaf, t, may_alias, f"device_put: leaf {i}")
                                 for i, (leaf, t) in enumerate(zip(leaves, targets))])


def _is_placement(x) -> bool:
    return x is None or isinstance(x, Sharding) or hasattr(x, "client") and hasattr(x, "id")


def _put_leaf(leaf, target, may_alias, what):
    if isinstance(target, SingleDeviceSharding):
        target = target.device
    if isinstance(target, Sharding):
        return _put_sharded(leaf, target, may_alias, what)
    device = target
    if device is not None and device != _jaxlib.default_device():
        # committed to another device: computations on it run there (as in JAX)
        return _put_sharded(leaf, SingleDeviceSharding(device), may_alias, what)
    if isinstance(leaf, Array):
        if may_alias is not False and (device is None or leaf.device == device):
            return leaf
        return core.array_from_numpy(np.asarray(leaf), device, leaf.weak_type)
    if type(leaf) in _PY_SCALARS:
        a = aval_of_scalar(leaf)
        return core.array_from_numpy(np.asarray(leaf, a.dtype), device, a.weak_type)
    return core.array_from_numpy(np.asarray(leaf), device)


def _put_sharded(leaf, sharding, may_alias, what):
    if isinstance(leaf, Array):
        if may_alias is not False and getattr(leaf, "_sharding", None) == sharding:
            return leaf
        if isinstance(sharding, NamedSharding):
            sharding.check_shape(leaf.shape, f"{what} ({leaf.aval.str_short()})")
        buf = array_mod.laid_out(leaf, sharding, array_mod.buffer_sharding(sharding, leaf.ndim),
                                 what)
        return array_mod.sharded(buf, ShapedArray(leaf.shape, leaf.dtype, leaf.weak_type),
                                 sharding)
    if type(leaf) in _PY_SCALARS:
        a = aval_of_scalar(leaf)
        return array_mod.put_sharded(np.asarray(leaf, a.dtype), sharding, a.weak_type, what)
    if isinstance(sharding, NamedSharding):
        sharding.check_shape(np.shape(leaf), f"{what} (shape {np.shape(leaf)})")
    return array_mod.put_sharded(np.asarray(leaf), sharding, False, what)


def device_get(x):
    return tree_map(lambda l: np.asarray(l) if isinstance(l, Array) else l, x)


def block_until_ready(x):
    for leaf in tree_leaves(x):
        if isinstance(leaf, Array):
            leaf.block_until_ready()
    return x


def from_jax(x) -> Array:
    """Wrap a ``jax.Array`` (single device) as an ``xform.Array`` without copying."""
    aval = ShapedArray(x.shape, x.dtype, getattr(x, "weak_type", False))
    if aval.dtype != dtypes.canonicalize(aval.dtype):
        return core.array_from_numpy(np.asarray(x))
    return Array._from_buffer(x, aval)


def from_dlpack(x, /, *, device=None, copy=None):
    """An ``Array`` of any DLPack producer ``x`` (NumPy, JAX, PyTorch, CuPy, xform):
    the producer's memory itself when it can be (same device, XLA's 64-byte alignment,
    a dtype that exists under the current x64 setting), else a copy.  ``copy=True``
    always copies; ``copy=False`` never does, and raises ``BufferError`` when a copy is
    needed.  ``device``: where the result lives (default: the producer's device).  The
    result must not be written through the producer while it is in use: xform assumes
    arrays never change."""
    if not hasattr(x, "__dlpack__") or not hasattr(x, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: x must have __dlpack__ and __dlpack_device__ (a DLPack "
                        f"producer), got {type(x).__name__}")
    if copy not in (None, True, False):
        raise TypeError(f"from_dlpack: copy must be None, True or False, got {copy!r}")
    if device is not None and not isinstance(device, SingleDeviceSharding) \
            and device not in local_devices():
        raise ValueError(f"from_dlpack: device={device!r} is not one of this process's devices "
                         f"({local_devices()})")
    device = getattr(device, "device", device) if isinstance(device, SingleDeviceSharding) \
        else device
    src = _dlpack_source_device(x)
    if device is not None and device != src and copy is False:
        raise BufferError(f"from_dlpack: device={device} needs a copy of an array on {src}, "
                          f"but copy=False")
    capsule = x.__dlpack__(stream=_consumer_stream(src))
    data = _capsule_data_pointer(capsule)
    buf = _jaxlib.from_dlpack(capsule, src)
    shares = buf.unsafe_buffer_pointer() == data
    dt = dtypes.canonicalize(buf.dtype)
    if not shares and buf.size and copy is False:
        raise BufferError(f"from_dlpack: the producer's data (at {data:#x}) is not aligned to "
                          f"XLA's 64 bytes, so it must be copied, but copy=False")
    if dt != buf.dtype and copy is False:
        raise BufferError(f"from_dlpack: {buf.dtype} data becomes {dt} when x64 is off (a "
                          f"copy), but copy=False")
    if (copy and shares) or dt != buf.dtype:
        buf = _jaxlib.buffer_from_numpy(np.asarray(buf).astype(dt), src)
    out = Array._from_buffer(buf, ShapedArray(buf.shape, dt))
    if src != _jaxlib.default_device():   # on another device than the default: committed
        out = array_mod.sharded(buf, out.aval, SingleDeviceSharding(src))
    if device is not None and device != src:
        out = device_put(out, device)
    return out


def _dlpack_source_device(x):
    """The PJRT device holding a DLPack producer's data (its ``__dlpack_device__``)."""
    kind, index = (int(v) for v in x.__dlpack_device__())
    platform = {_DL_CPU: "cpu", _DL_CUDA: "cuda", _DL_CUDA_HOST: "cpu",
                _DL_ROCM: "rocm"}.get(kind)
    if platform is None:
        raise BufferError(f"from_dlpack: the producer's data is on DLPack device type {kind}, "
                          f"which xform cannot read (it reads CPU, CUDA and ROCm memory)")
    try:
        devs = _jaxlib.client(platform).local_devices()
    except RuntimeError as e:
        raise BufferError(f"from_dlpack: the producer's data is on {platform}, and xform "
                          f"has no {platform} client here: {e}") from None
    if platform == "cpu":
        return devs[0]
    for d in devs:
        if d.local_hardware_id == index:
            return d
    raise BufferError(f"from_dlpack: no local {platform} device has hardware id {index}")


def _consumer_stream(device):
    """The stream the producer must order its work before (None on the CPU): the one
    this device's buffers wait on, as DLPack's ``stream`` argument asks."""
    if device.platform == "cpu":
        return None
    try:
        return device.get_stream_for_external_ready_events()
    except Exception:   # a plugin without streams: the producer synchronises fully
        return None


_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_ROCM = 1, 2, 3, 10
_capsule_name = ctypes.pythonapi.PyCapsule_GetName
_capsule_name.restype, _capsule_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _capsule_data_pointer(capsule) -> int:
    """The address of a DLPack tensor's first element (``data + byte_offset`` of the
    ``DLTensor`` in the capsule, dlpack.h), to tell afterwards whether it was copied."""
    name = _capsule_name(capsule)
    if name != b"dltensor":
        raise BufferError(f"from_dlpack: __dlpack__ gave a capsule named {name!r}, not an "
                          f"unused 'dltensor'")
    tensor = _capsule_pointer(capsule, name)   # DLManagedTensor: its DLTensor comes first
    data = ctypes.c_void_p.from_address(tensor).value or 0
    byte_offset = ctypes.c_uint64.from_address(tensor + 40).value   # after data, device,
    return data + byte_offset                                       # ndim, dtype, shape, strides
