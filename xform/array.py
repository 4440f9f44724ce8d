"""``xform.Array``: a concrete array on a device, and the NumPy-style methods it
shares with tracers.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives.core import ShapedArray
from lowering import _jaxlib

from . import core

_np = None  # xform.numpy, bound on first use (it imports this module)


def _jnp():
    global _np
    if _np is None:
        from . import numpy as jnp
        _np = jnp
    return _np


def _binop(name, reverse=False):
    f = None   # the xform.numpy function, looked up on first use (not at import: a cycle)

    def method(self, other):
        nonlocal f
        if f is None:
            f = getattr(_jnp(), name)
        try:
            return f(other, self) if reverse else f(self, other)
        except _NotArrayLike:
            return NotImplemented
    method.__name__ = f"__{'r' if reverse else ''}{name}__"
    return method


class _NotArrayLike(TypeError):
    pass


class ArrayMethods:
    """Operators and methods shared by ``Array`` and ``Tracer``."""

    __slots__ = ()
    __array_priority__ = 100

    __add__, __radd__ = _binop("add"), _binop("add", True)
    __sub__, __rsub__ = _binop("subtract"), _binop("subtract", True)
    __mul__, __rmul__ = _binop("multiply"), _binop("multiply", True)
    __truediv__, __rtruediv__ = _binop("true_divide"), _binop("true_divide", True)
    __floordiv__, __rfloordiv__ = _binop("floor_divide"), _binop("floor_divide", True)
    __mod__, __rmod__ = _binop("remainder"), _binop("remainder", True)
    __pow__, __rpow__ = _binop("power"), _binop("power", True)
    __matmul__, __rmatmul__ = _binop("matmul"), _binop("matmul", True)
    __and__, __rand__ = _binop("bitwise_and"), _binop("bitwise_and", True)
    __or__, __ror__ = _binop("bitwise_or"), _binop("bitwise_or", True)
    __xor__, __rxor__ = _binop("bitwise_xor"), _binop("bitwise_xor", True)
    __lshift__, __rlshift__ = _binop("left_shift"), _binop("left_shift", True)
    __rshift__, __rrshift__ = _binop("right_shift"), _binop("right_shift", True)
    __lt__, __le__ = _binop("less"), _binop("less_equal")
    __gt__, __ge__ = _binop("greater"), _binop("greater_equal")
    __eq__, __ne__ = _binop("equal"), _binop("not_equal")

    def __divmod__(self, other):
        return _jnp().divmod(self, other)

    def __neg__(self):
        return _jnp().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _jnp().abs(self)

    def __invert__(self):
        return _jnp().invert(self)

    def __getitem__(self, idx):
        from . import indexing
        return indexing.getitem(self, idx)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    @property
    def at(self):
        from . import indexing
        return indexing.AtIndexer(self)

    @property
    def T(self):
        return _jnp().transpose(self)

    @property
    def mT(self):
        return _jnp().swapaxes(self, -1, -2)

    @property
    def real(self):
        return _jnp().real(self)

    @property
    def imag(self):
        return _jnp().imag(self)

    def conj(self):
        return _jnp().conj(self)

    conjugate = conj

    def astype(self, dtype):
        return _jnp().astype(self, dtype)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _jnp().reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return _jnp().transpose(self, axes or None)

    def ravel(self, order="C"):
        return _jnp().ravel(self, order)

    def flatten(self):
        return _jnp().ravel(self)

    def squeeze(self, axis=None):
        return _jnp().squeeze(self, axis)

    def swapaxes(self, a, b):
        return _jnp().swapaxes(self, a, b)

    def dot(self, other):
        return _jnp().dot(self, other)

    def clip(self, min=None, max=None):
        return _jnp().clip(self, min, max)

    def round(self, decimals=0):
        return _jnp().round(self, decimals)

    def copy(self):
        return _jnp().array(self, copy=True)


def _reduction_method(name):
    def method(self, *args, **kw):
        return getattr(_jnp(), name)(self, *args, **kw)
    method.__name__ = name
    return method


for _name in ("sum", "mean", "max", "min", "prod", "argmax", "argmin", "any", "all", "var",
              "std", "cumsum", "cumprod", "sort", "argsort", "nonzero", "trace", "diagonal"):
    setattr(ArrayMethods, _name, _reduction_method(_name))


class Array(ArrayMethods):
    """A concrete array: a PJRT device buffer plus its abstract value."""

    __slots__ = ("_buf", "aval", "_npy", "__weakref__")

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

    def to_jax(self):
        """The same buffer as a ``jax.Array`` (zero-copy)."""
        return self._buf


def _unpickle(value, weak_type):
    return core.array_from_numpy(value, weak_type=weak_type)


core._Array = Array
core._ARRAY_TYPES.add(Array)

# Tracers get the same operator methods
_SKIP = {"__slots__", "__module__", "__doc__", "__qualname__", "__dict__", "__weakref__"}
for _k, _v in list(vars(ArrayMethods).items()):
    if _k not in _SKIP and _k not in vars(core.Tracer):
        setattr(core.Tracer, _k, _v)

# arrays and tracers are pytree leaves; telling tree_util up front keeps flattening fast
from . import tree_util as _tree_util  # noqa: E402

_tree_util._LEAF_TYPES.update((Array, core.Tracer))
