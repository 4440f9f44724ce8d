"""The NumPy-style operators and methods of ``Array`` and ``Tracer``.

``x + y``, ``x[i]``, ``x.at[i].set(v)``, ``x.sum()``... are composites of the numpy
surface, while ``Array`` and ``Tracer`` live in the core layer below it.  So the core
types carry only what needs no surface, and ``install`` (called once by
``xform.numpy`` when it is imported) copies these methods onto both classes, as JAX's
numpy layer does for its array type.  This is the one place where a layer adds to a
class of a lower one.
"""
from __future__ import annotations

import numpy as np

from ..core.array import Array
from ..core.trace import Tracer, where as _where_msg
_np = None  # the xform.numpy module, bound by install()


def _jnp():
    return _np


def _binop(name, reverse=False):
    f = None   # the xform.numpy function, looked up on first use (not at import: a cycle)

    def method(self, other):
        nonlocal f
        if f is None:   # the plain function behind a ufunc object (add, multiply, ...)
            f = getattr(_jnp()._ufuncs, name, None) or getattr(_jnp(), name)
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
        return _jnp()._ufuncs.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _jnp().abs(self)

    def __invert__(self):
        return _jnp().invert(self)

    def __getitem__(self, idx):
        return _np._indexing.getitem(self, idx)

    def __setitem__(self, idx, value):
        raise TypeError(f"arrays are immutable: instead of x[{_index_text(idx)}] = y, write "
                        f"x = x.at[{_index_text(idx)}].set(y) (or .add, .mul, .min, .max)"
                        f"{_where_msg()}")

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    # the array API standard (xform/numpy/_array_api.py) ------------------------------
    def __array_namespace__(self, /, *, api_version=None):
        return _np._array_api.namespace(api_version, _np)

    def to_device(self, device, /, *, stream=None):
        return _np._array_api.to_device(self, device, stream)

    @property
    def device(self):
        """Under a transformation: the default device, where the program runs (an
        ``Array`` answers with its own device)."""
        return _np._array_api.Info().default_device()

    @property
    def at(self):
        return _np._indexing.AtIndexer(self)

    @property
    def T(self):
        return _jnp().transpose(self)

    @property
    def mT(self):
        """The matrix transpose: the last two axes swapped (the array API's ``mT``)."""
        if self.ndim < 2:
            raise ValueError(f"mT: the matrix transpose needs an array of at least 2 "
                             f"dimensions, got shape {self.shape}{_where_msg()}")
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


def _index_text(idx) -> str:
    """An index as the user wrote it, near enough: ``0``, ``1:3``, ``..., 0``."""
    def one(i):
        if isinstance(i, slice):
            parts = ["" if v is None else str(v) for v in (i.start, i.stop, i.step)]
            return ":".join(parts[:2] if i.step is None else parts)
        return "..." if i is Ellipsis else "None" if i is None else \
            str(i) if isinstance(i, (int, np.integer)) else "idx"
    return ", ".join(one(i) for i in idx) if isinstance(idx, tuple) else one(idx)


def install(jnp) -> None:
    """Give ``Array`` and ``Tracer`` these methods; ``jnp`` is the xform.numpy module."""
    global _np
    _np = jnp
    skip = {"__slots__", "__module__", "__doc__", "__qualname__", "__dict__", "__weakref__"}
    for cls in (Array, Tracer):
        for k, v in vars(ArrayMethods).items():
            if k not in skip and k not in vars(cls):
                setattr(cls, k, v)
