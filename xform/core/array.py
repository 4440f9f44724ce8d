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
from lowering import _jaxlib


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

    __slots__ = ("_buf", "aval", "_npy", "__weakref__")
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
            v = np.asarray(self._buf)
            v.flags.writeable = False
            self._npy = v
            return v

    def __array__(self, dtype=None, copy=None):
        v = self._value()
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __dlpack__(self, *args, **kw):
        return self._buf.__dlpack__(*args, **kw)

    def __dlpack_device__(self):
        return self._buf.__dlpack_device__()

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

    def devices(self):
        return self._buf.devices()

    @property
    def device(self):
        return _jaxlib.buffer_device(self._buf)

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
