"""``xform.Array``: a concrete array on a device (a PJRT buffer plus its abstract value).

Its NumPy-style operators and methods (``x + y``, ``x[i]``, ``x.sum()``) are composites
of the numpy surface, which sits layers above this one: ``xform/numpy/_methods.py``
installs them on ``Array`` and on ``Tracer`` when ``xform.numpy`` is imported (as
JAX's numpy layer does for its array type).  Here is only what needs no surface.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives.core import ShapedArray
from primitives.sharding import Sharding, SingleDeviceSharding
from lowering import _jaxlib


# DLPack's device type numbers (dlpack.h, DLDeviceType): the host
_DL_CPU = 1


class DeletedArrayError(RuntimeError):
    """An ``Array`` whose buffer was donated to a jitted function (or deleted) was used."""


class DeletedBuffer:
    """Stands in for the device buffer of a deleted ``Array`` (donated to a jitted
    function, or ``x.delete()``).  Whatever touches it raises ``DeletedArrayError``
    saying why, instead of a jaxlib message about an invalid buffer: reading the value,
    asking its device; handed to an executable in place of a buffer, the call fails
    with a ``TypeError`` that ``raise_if_deleted`` then explains."""

    __slots__ = ("aval", "why")

    def __init__(self, aval: ShapedArray, why: str):
        self.aval = aval
        self.why = why

    def error(self) -> DeletedArrayError:
        return DeletedArrayError(f"Array has been deleted ({self.why}): "
                                 f"{self.aval.str_short()}")

    def is_deleted(self):
        return True

    def delete(self):
        pass

    def __array__(self, *args, **kwargs):
        raise self.error()

    def __getattr__(self, name):   # block_until_ready, devices, __dlpack__, ...
        if name.startswith("__") and name not in ("__dlpack__", "__dlpack_device__"):
            raise AttributeError(name)
        raise self.error()

    def __repr__(self):
        return f"<deleted buffer {self.aval.str_short()} ({self.why})>"


def raise_if_deleted(bufs, what: str, n_consts: int = -1, where: str = "") -> None:
    """After a failed PJRT call on ``bufs``: if one of them is a deleted array's, raise
    ``DeletedArrayError`` naming ``what`` was called and which operand it was, instead of
    the call's error.  ``n_consts >= 0``: ``bufs`` are a jitted program's (its captured
    constants first, then its argument leaves).  ``where`` (" (at file:line)") is appended:
    the caller knows the user's frame, this layer does not."""
    for i, b in enumerate(bufs):
        if type(b) is DeletedBuffer:
            err = b.error()
        elif _jaxlib.is_buffer(b) and b.is_deleted():
            err = DeletedArrayError("Array has been deleted (its buffer was donated or "
                                    "deleted through another handle to it)")
        else:
            continue
        which = f"operand {i}" if n_consts < 0 else \
            f"argument leaf {i - n_consts}" if i >= n_consts else "a captured array"
        raise DeletedArrayError(f"{what}: {which}: {err}{where}") from None


class Array:
    """A concrete array: a PJRT device buffer plus its abstract value."""

    __slots__ = ("_buf", "aval", "_npy", "_sharding", "__weakref__")
    # _sharding: set only for an array over several devices (``sharded``); one on a
    # single device answers ``sharding`` from its buffer
    __array_priority__ = 100

    def __init__(self, *a, **k):
        raise TypeError("create arrays with xform.numpy.array / asarray, not Array(...)")

    @classmethod
    def _from_buffer(cls, buf, aval: ShapedArray):
        self = object.__new__(cls)
        self._buf = buf
        self.aval = aval        # _npy (the host copy) stays unset until asked for
        return self

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def itemsize(self):
        return self.dtype.itemsize

    # host interop ---------------------------------------------------------------------------
    def _value(self) -> np.ndarray:
        try:
            return self._npy
        except AttributeError:
            buf = self._buf
            s = getattr(self, "_sharding", None)
            if s is not None and not s.is_fully_addressable:
                if not s.is_fully_replicated:
                    raise RuntimeError(
                        f"the value of an array spread over the devices of several "
                        f"processes ({s}) cannot be read in one process: read this "
                        f"process's pieces from .addressable_shards, or replicate it first "
                        f"(jit with out_shardings=NamedSharding(mesh, P()))")
                buf = _jaxlib.device_buffers(buf)[0]   # every process holds all of it
            v = np.asarray(buf)
            v.flags.writeable = False
            self._npy = v
            return v

    def __array__(self, dtype=None, copy=None):
        v = self._value()
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule of this array's buffer (the standard's keywords): no copy
        unless ``copy=True``, or ``dl_device`` asks for the host copy of an array on an
        accelerator (``copy=False`` then raises ``BufferError``).  The capsule is the
        unversioned kind whatever ``max_version`` allows, which the DLPack protocol
        permits; a consumer must not write through it (xform arrays are immutable)."""
        buf = self._buf
        if type(buf) is DeletedBuffer:
            raise buf.error()
        if max_version is not None and not (
                isinstance(max_version, tuple) and len(max_version) == 2
                and all(isinstance(v, int) for v in max_version)):
            raise TypeError(f"__dlpack__: max_version must be None or a (major, minor) tuple "
                            f"of ints, got {max_version!r}")
        if copy not in (None, True, False):
            raise TypeError(f"__dlpack__: copy must be None, True or False, got {copy!r}")
        if len(self.devices()) > 1:
            raise BufferError(f"__dlpack__: the array is spread over {len(self.devices())} "
                              f"devices ({self.sharding}); DLPack describes one buffer on one "
                              f"device: export its pieces (.addressable_shards) one by one")
        here = tuple(int(v) for v in buf.__dlpack_device__())
        if dl_device is not None and tuple(int(v) for v in dl_device) != here:
            if int(dl_device[0]) != _DL_CPU:
                raise BufferError(f"__dlpack__: dl_device={tuple(dl_device)}: an array on "
                                  f"{here} can be exported to its own device or to the host "
                                  f"({_DL_CPU}, 0), not there")
            if copy is False:
                raise BufferError(f"__dlpack__: dl_device={tuple(dl_device)} (the host) needs "
                                  f"a copy of an array on device {here}, but copy=False")
            return np.array(self._value()).__dlpack__(max_version=max_version)
        if here[0] == _DL_CPU and stream is not None:
            raise BufferError(f"__dlpack__: stream={stream!r}: an array on the CPU has no "
                              f"streams; pass stream=None")
        if copy:
            buf = _jaxlib.buffer_from_numpy(np.array(self._value()), _jaxlib.buffer_device(buf),
                                            self.weak_type)
        return buf.__dlpack__(stream=stream)

    def unsafe_buffer_pointer(self) -> int:
        """The address of the buffer's first element (as ``jax.Array``'s): to tell
        whether two arrays share memory, e.g. after a DLPack exchange."""
        buf = self._buf
        if type(buf) is DeletedBuffer:
            raise buf.error()
        if len(self.devices()) > 1:
            raise ValueError(f"unsafe_buffer_pointer: the array is spread over "
                             f"{len(self.devices())} devices; ask its .addressable_shards")
        return buf.unsafe_buffer_pointer()

    def __dlpack_device__(self) -> tuple:
        """``(device type, device id)`` in DLPack's numbering (1: CPU, 2: CUDA)."""
        buf = self._buf
        if type(buf) is DeletedBuffer:
            raise buf.error()
        return buf.__dlpack_device__()

    def item(self, *args):
        return self._value().item(*args)

    def tolist(self):
        return self._value().tolist()

    def __bool__(self):
        return bool(self._value())

    def __int__(self):
        return int(self._value())

    def __float__(self):
        return float(self._value())

    def __complex__(self):
        return complex(self._value())

    def __index__(self):
        if not dtypes.is_int(self.dtype) and not dtypes.is_bool(self.dtype):
            raise TypeError(f"only integer arrays can be used as an index, got {self.dtype}")
        return int(self._value())

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d array)")
        return self.shape[0]

    def __hash__(self):
        raise TypeError("unhashable type: 'Array'")

    def __repr__(self):
        body = np.array2string(self._value(), separator=", ", prefix="Array(")
        weak = ", weak_type=True" if self.weak_type else ""
        shape = f", shape={self.shape}" if self.size == 0 and self.shape != (0,) else ""
        return f"Array({body}{shape}, dtype={self.dtype}{weak})"

    def __str__(self):
        return str(self._value())

    def __format__(self, spec):
        return format(self._value(), spec) if self.ndim == 0 else str(self)

    def __reduce__(self):  # pickling goes through NumPy
        return (_unpickle, (self._value(), self.weak_type))

    # device ------------------------------------------------------------------------------
    def block_until_ready(self):
        self._buf.block_until_ready()
        return self

    def devices(self) -> set:
        try:
            return set(self._sharding.device_list)
        except AttributeError:
            return self._buf.devices()

    @property
    def device(self):
        """The device holding the array; for an array over several devices, its sharding
        (as ``jax.Array.device``)."""
        try:
            return self._sharding
        except AttributeError:
            return _jaxlib.buffer_device(self._buf)

    @property
    def sharding(self) -> Sharding:
        try:
            return self._sharding
        except AttributeError:
            return SingleDeviceSharding(_jaxlib.buffer_device(self._buf))

    @property
    def is_fully_addressable(self) -> bool:
        return self.sharding.is_fully_addressable

    @property
    def is_fully_replicated(self) -> bool:
        return self.sharding.is_fully_replicated

    @property
    def committed(self) -> bool:
        """Whether the array is bound to its devices: an array over several devices is;
        one on a single device may move to wherever a computation needs it."""
        return hasattr(self, "_sharding")

    @property
    def addressable_shards(self) -> list:
        """The pieces this process holds: ``Shard(device, index, replica_id, data)``."""
        s = self.sharding
        if type(s) is SingleDeviceSharding:
            return [Shard(s.device, (slice(None),) * self.ndim, 0, self)]
        index = s.devices_indices_map(self.shape)
        local = s.shard_shape(self.shape)
        seen: dict = {}
        out = []
        for buf in _jaxlib.device_buffers(self._buf):
            dev = _jaxlib.buffer_device(buf)
            idx = index[dev]
            key = tuple((sl.start, sl.stop) for sl in idx)
            rid = seen[key] = seen.get(key, -1) + 1
            data = Array._from_buffer(buf, ShapedArray(local, self.dtype, self.weak_type))
            out.append(Shard(dev, idx, rid, data))
        return out

    def addressable_data(self, index: int) -> "Array":
        return self.addressable_shards[index].data

    def is_deleted(self):
        return self._buf.is_deleted()

    def delete(self):
        self._buf.delete()
        self._invalidate("deleted with Array.delete()")

    def _invalidate(self, why: str) -> bool:
        """After PJRT invalidated this array's buffer (a donation): swap in a
        ``DeletedBuffer`` saying ``why``, so any later use is a clear error.  Returns
        whether the buffer was indeed deleted (XLA may decline a donation)."""
        buf = self._buf
        if type(buf) is DeletedBuffer or not buf.is_deleted():
            return False
        self._buf = DeletedBuffer(self.aval, why)
        try:
            del self._npy        # a host copy made earlier must not outlive the array
        except AttributeError:
            pass
        return True

    def to_jax(self):
        """The same buffer as a ``jax.Array`` (zero-copy)."""
        buf = self._buf
        if type(buf) is DeletedBuffer:
            raise buf.error()
        return buf


class Shard:
    """One device's piece of an ``Array`` (``jax.Shard``)."""

    __slots__ = ("device", "index", "replica_id", "data")

    def __init__(self, device, index, replica_id, data):
        self.device, self.index, self.replica_id, self.data = device, index, replica_id, data

    def __repr__(self):
        return (f"Shard(device={self.device!r}, index={self.index}, "
                f"replica_id={self.replica_id}, data={self.data.aval.str_short()})")


# Set once any array over several devices exists: until then eager dispatch and jit
# skip every sharding check.
any_sharded = False


def sharded(buf, aval: ShapedArray, sharding: Sharding) -> Array:
    """An ``Array`` of a buffer laid out over several devices as ``sharding`` says."""
    global any_sharded
    any_sharded = True
    x = Array._from_buffer(buf, aval)
    x._sharding = sharding
    return x


def put_sharded(x: np.ndarray, sharding: Sharding, weak_type=False, what="device_put"):
    """A host array laid out over devices as ``sharding`` says (each device gets its
    piece of ``x``)."""
    x = np.asarray(x)
    dt = dtypes.canonicalize(x.dtype)
    if x.dtype != dt:
        x = x.astype(dt)
    if len(sharding.device_list) == 1:
        buf = _jaxlib.buffer_from_numpy(x, sharding.device_list[0], weak_type)
    else:
        buf = _put_pieces(x, sharding, buffer_sharding(sharding, x.ndim), weak_type, what)
    return sharded(buf, ShapedArray(x.shape, dt, weak_type), sharding)


def _put_pieces(x: np.ndarray, sharding: Sharding, bsharding, weak_type, what):
    """One buffer holding, on each device of this process, its piece of host array ``x``."""
    sharding.check_shape(x.shape, what)
    index = sharding.devices_indices_map(x.shape)
    devs = [d for d in sharding.device_list if d in sharding.addressable_devices]
    return _jaxlib.put_shards(x.shape, x.dtype, bsharding, [x[index[d]] for d in devs],
                              devs, weak_type)


def buffer_sharding(sharding: Sharding, ndim: int):
    """The binding's spelling of ``sharding`` for arrays of rank ``ndim``."""
    return _jaxlib.buffer_sharding(tuple(sharding.device_list), *sharding.tile_assignment(ndim))


def laid_out(x, sharding: Sharding, bsharding, what: str):
    """The buffer of ``x`` (an Array) laid out as ``sharding`` (binding spelling
    ``bsharding``): its own buffer when it already is, else a copy."""
    if type(x) is Array:
        try:
            same = x._sharding == sharding
        except AttributeError:
            same = type(sharding) is SingleDeviceSharding and \
                _jaxlib.buffer_device(x._buf) == sharding.device
        if same:
            return x._buf
        if not x.is_fully_addressable:
            raise ValueError(f"{what}: an array spread over processes ({x.sharding}) cannot "
                             f"be re-laid out as {sharding} here; pass it with that sharding")
        value, weak = x._value(), x.weak_type
    else:
        value, weak = np.asarray(x), False
    if type(sharding) is SingleDeviceSharding:
        return array_from_numpy(value, sharding.device, weak)._buf
    return _put_pieces(value, sharding, bsharding, weak, what)


def run_on_mesh(exe, values, what: str) -> list:
    """Run ``exe`` (a program compiled over a mesh, ``lowering.compile.Executable``) on
    ``values`` (Arrays, host arrays or scalars, one per parameter), each first laid out
    as the program takes it; its outputs come back as sharded Arrays."""
    ins = []
    for v, s, b, a in zip(values, exe.in_shardings, exe.in_buffer_shardings, exe.in_avals):
        if type(v) is not Array and not _jaxlib.is_buffer(v):
            v = np.asarray(v, a.dtype)
        elif _jaxlib.is_buffer(v):
            v = Array._from_buffer(v, a)
        ins.append(laid_out(v, s, b, what))
    outs = _execute(exe, ins, what)
    return [sharded(b, a, s) for b, a, s in zip(outs, exe.out_avals, exe.out_shardings)]


def _execute(exe, ins, what):
    try:
        return exe(ins)
    except (TypeError, _jaxlib.JaxRuntimeError):   # a donated (deleted) array: say so
        raise_if_deleted(ins, what)
        raise


def committed_device(shardings, what: str):
    """The device a one-device program must run on, given its operands' committed
    layouts (None entries: uncommitted): None if none is committed to a single device
    other than the default one, or if one is spread over a mesh (then the program runs
    over the mesh).  Two different committed devices are an error, as in JAX."""
    device, first = None, None
    for i, s in enumerate(shardings):
        if s is None:
            continue
        if type(s) is not SingleDeviceSharding:
            return None
        if device is None:
            device, first = s.device, i
        elif s.device != device:
            raise ValueError(f"{what}: operands committed to different devices: operand "
                             f"{first} is on {device}, operand {i} on {s.device}; move them "
                             f"to one device with device_put")
    return device


def run_committed(exe, values, what: str) -> list:
    """Run ``exe`` (compiled for one device other than the default) on ``values``, each
    first moved to that device; its outputs stay committed to it."""
    sh = SingleDeviceSharding(exe.device)
    ins = []
    for v, a in zip(values, exe.in_avals):
        if type(v) is not Array:
            v = Array._from_buffer(v, a) if _jaxlib.is_buffer(v) else \
                array_from_numpy(np.asarray(v, a.dtype), exe.device, a.weak_type)
        ins.append(laid_out(v, sh, None, what))
    return [sharded(b, a, sh) for b, a in zip(_execute(exe, ins, what), exe.out_avals)]


def _unpickle(value, weak_type):
    return array_from_numpy(value, weak_type=weak_type)


def array_from_numpy(x, device=None, weak_type=False) -> Array:
    """A device copy of a NumPy array (or anything ``np.asarray`` takes)."""
    x = np.asarray(x)
    dt = dtypes.canonicalize(x.dtype)
    if x.dtype != dt:
        x = x.astype(dt)
    buf = _jaxlib.buffer_from_numpy(x, device, weak_type)
    return Array._from_buffer(buf, ShapedArray(x.shape, dt, weak_type))
