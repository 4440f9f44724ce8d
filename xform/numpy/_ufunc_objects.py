"""``ufunc`` objects: ``add.reduce``, ``multiply.outer``, ``add.at``, ``frompyfunc``.

In ``jax.numpy`` fourteen functions (``add``, ``subtract``, ``multiply``, ``maximum``,
``minimum``, the bitwise and logical binaries, ``logaddexp``/``logaddexp2`` and
``negative``) are ``ufunc`` objects, so JAX programs write ``jnp.subtract.outer(x, y)``
or ``jnp.add.at(x, i, v, inplace=False)``.  Here each is a thin object around the plain
function of ``_ufuncs`` (which the library itself keeps calling directly).

Every method has a generic meaning derived from the binary function alone (``reduce``
is a ``fori_loop`` folding the axis left to right, ``accumulate`` a ``scan``, ``at`` a
``scan`` over the indices, ``outer`` two ``vmap``s), and the builtins name a faster
equivalent where one gives the same values: ``add.reduce`` is ``sum``, ``add.at`` is
``x.at[i].add``.  Derivatives follow from those definitions, as in JAX, which makes the
same choices (so ``minimum.at`` folds in order and ties split as ``minimum`` splits them).
"""
from __future__ import annotations

import builtins
import operator

import numpy as _onp

from .. import lax
from ..api import eval_shape, jit, vmap
from ._core import asarray, astype, canonicalize_axis, promote_dtypes_inexact
from ._shape import broadcast_to, moveaxis, reshape
from ._creation import full
from ._ufuncs import (add, bitwise_and, bitwise_or, bitwise_xor, isfinite, log, logaddexp,
                      logaddexp2, logical_and, logical_or, logical_xor, maximum, minimum,
                      multiply, negative, subtract)
from ._reductions import cumprod, cumsum, max, min, prod, sum
from ._selection import where as _where
from ._indexing import take
from ._misc import vectorize

__all__ = ["ufunc", "frompyfunc", "add", "subtract", "multiply", "maximum", "minimum",
           "bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or",
           "logical_xor", "logaddexp", "logaddexp2", "negative"]

_AT_INPLACE = ("{name}.at: xform arrays are immutable, so ufunc.at cannot update in place "
               "as numpy.ufunc.at does. Pass inplace=False and use the returned array: "
               "x = xform.numpy.{name}.at(x, indices, values, inplace=False)")


def _no_out(name, out):
    if out is not None:
        raise NotImplementedError(f"{name}: the out= argument is not supported (arrays are "
                                  f"immutable); use the return value")


class ufunc:
    """A function of ``nin`` arrays with NumPy's ufunc methods, as ``jax.numpy.ufunc``.

    ``frompyfunc(f, 2, 1)`` makes one from any binary function of scalars written with
    xform operations; ``reduce``/``accumulate``/``reduceat``/``outer`` need ``nin == 2`` and
    ``nout == 1``.  Instances are immutable and hash by their function, so they may be
    passed as static arguments of ``jit``.
    """
    def __init__(self, func, /, nin, nout, *, name=None, nargs=None, identity=None, call=None,
                 reduce=None, accumulate=None, at=None):
        s = object.__setattr__
        s(self, "_func", func)
        s(self, "__name__", name or getattr(func, "__name__", "ufunc"))
        s(self, "__doc__", getattr(func, "__doc__", None))
        s(self, "nin", operator.index(nin))
        s(self, "nout", operator.index(nout))
        s(self, "nargs", operator.index(nargs or nin))
        s(self, "identity", identity)
        s(self, "_call", call or jit(vectorize(func)))
        s(self, "_reduce", reduce)
        s(self, "_accumulate", accumulate)
        s(self, "_at", at)

    def __setattr__(self, name, value):
        raise AttributeError(f"ufunc {self.__name__!r} is immutable")

    def _key(self):
        return (self._func, self.__name__, self.identity, self.nin, self.nout, self.nargs)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, ufunc) and self._key() == other._key()

    def __repr__(self):
        return f"<xform.numpy.ufunc '{self.__name__}'>"

    def __call__(self, *args, out=None, where=None):
        if out is not None or where is not None:
            what = "out" if out is not None else "where"
            raise NotImplementedError(f"{self.__name__}: the {what}= argument of a ufunc call "
                                      f"is not supported")
        if len(args) != self.nin:
            raise TypeError(f"{self.__name__} takes {self.nin} positional argument"
                            f"{'s' if self.nin != 1 else ''}, got {len(args)}")
        return self._call(*args)

    def _binary(self, method):
        if self.nin != 2:
            raise ValueError(f"{self.__name__}.{method}: only binary ufuncs have it "
                             f"({self.__name__} takes {self.nin} argument(s))")
        if self.nout != 1:
            raise ValueError(f"{self.__name__}.{method}: only ufuncs returning one value "
                             f"have it ({self.__name__} returns {self.nout})")

    def _result_dtype(self, *arrays):
        ones = [lax.full((), 1, a.dtype) for a in arrays]
        return eval_shape(self._func, *ones).dtype

    # -- reduce ----------------------------------------------------------------------
    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None,
               where=None):
        """Fold ``axis`` of ``a`` with the binary function (``axis=None``: all axes)."""
        name = f"{self.__name__}.reduce"
        self._binary("reduce")
        _no_out(name, out)
        if where is not None:
            if self.identity is None and initial is None:
                raise ValueError(f"{name}: where= needs initial=, since {self.__name__} has "
                                 f"no identity")
            where = asarray(where)
            if where.dtype != _onp.dtype(bool):
                raise ValueError(f"{name}: where= must have dtype bool, got {where.dtype}")
        if self._reduce is not None:
            return self._reduce(a, axis=axis, dtype=dtype, keepdims=keepdims,
                                initial=initial, where=where)
        return self._reduce_by_loop(asarray(a), axis, dtype, keepdims, initial, where)

    def _reduce_by_loop(self, arr, axis, dtype, keepdims, initial, where):
        name = f"{self.__name__}.reduce"
        if initial is None:
            initial = self.identity
        dtype = self._result_dtype(arr, arr) if dtype is None else _onp.dtype(dtype)
        if where is not None:
            where = broadcast_to(where, arr.shape)
        if isinstance(axis, tuple):
            raise NotImplementedError(f"{name}: a tuple of axes (reduce one axis at a time)")
        if axis is None:
            final = (1,) * arr.ndim if keepdims else ()
            arr = reshape(arr, (-1,))
            where = None if where is None else reshape(where, (-1,))
            axis = 0
        else:
            axis = canonicalize_axis(axis, arr.ndim, name)
            final = arr.shape[:axis] + ((1,) if keepdims else ()) + arr.shape[axis + 1:]
            arr = moveaxis(arr, axis, 0)
            where = None if where is None else moveaxis(where, axis, 0)
        if arr.shape[0] == 0:
            if initial is None:
                raise ValueError(f"{name}: zero-size array to reduction operation "
                                 f"{self.__name__} which has no identity")
            return full(final, initial, dtype)

        def step(i, acc):
            new = self(acc, astype(arr[i], dtype))
            return new if where is None else _where(where[i], new, acc)
        start, acc = (1, arr[0]) if initial is None else (0, initial)
        acc = broadcast_to(astype(asarray(acc), dtype), arr.shape[1:])
        return reshape(lax.fori_loop(start, arr.shape[0], step, acc), final)

    # -- accumulate --------------------------------------------------------------------
    def accumulate(self, a, axis=0, dtype=None, out=None):
        """The running ``reduce`` along one axis (``add.accumulate`` is ``cumsum``)."""
        name = f"{self.__name__}.accumulate"
        self._binary("accumulate")
        _no_out(name, out)
        if axis is None or isinstance(axis, tuple):
            raise ValueError(f"{name}: accumulate takes one integer axis, got {axis!r}")
        if self._accumulate is not None:
            return self._accumulate(a, axis=axis, dtype=dtype)
        arr = asarray(a)
        dtype = self._result_dtype(arr, arr) if dtype is None else _onp.dtype(dtype)
        axis = canonicalize_axis(axis, arr.ndim, name)
        if arr.size == 0:
            return full(arr.shape, 0, dtype)
        arr = astype(moveaxis(arr, axis, 0), dtype)

        def step(acc, x):
            acc = self(acc, x)
            return acc, acc
        _, rest = lax.scan(step, arr[0], arr[1:])
        out = lax.concatenate([arr[:1], astype(rest, dtype)], 0)
        return moveaxis(out, 0, axis)

    # -- at ------------------------------------------------------------------------------
    def at(self, a, indices, b=None, /, *, inplace=True):
        """A copy of ``a`` with ``f(a[indices], b)`` written at ``indices``, repeated
        indices applied one after another (``inplace=False`` is required)."""
        if inplace:
            raise NotImplementedError(_AT_INPLACE.format(name=self.__name__))
        args = () if b is None else (b,)
        if len(args) + 1 != self.nin:
            raise TypeError(f"{self.__name__}.at takes {self.nin - 1} value argument(s) "
                            f"after the indices, got {len(args)}")
        if self._at is not None:
            return self._at(asarray(a), indices, *args)
        return self._at_by_scan(a, indices, *args)

    def _at_by_scan(self, a, indices, *args):
        a = asarray(a)
        args = tuple(asarray(x) for x in args)
        dtype = self._result_dtype(a, *args)
        a = astype(a, dtype)
        args = tuple(astype(x, dtype) for x in args)
        idx = indices if isinstance(indices, tuple) else (indices,)
        if not idx:
            return a
        shapes = [_onp.shape(i) for i in idx if not isinstance(i, slice)]
        shape = lax.broadcast_shapes(*shapes) if shapes else ()
        if not shape:
            return a.at[indices].set(self(a.at[indices].get(), *args))
        n = builtins.int(_onp.prod(shape))
        flat = [i if isinstance(i, slice) else reshape(broadcast_to(asarray(i), shape), (n,))
                for i in idx]
        vals = [reshape(broadcast_to(x, shape + x.shape[len(shape):]),
                        (n,) + x.shape[len(shape):]) for x in args]

        def step(acc, xs):
            pos, vs = xs
            where_ = tuple(i if isinstance(i, slice) else i[pos] for i in flat)
            return acc.at[where_].set(self(acc.at[where_].get(), *vs)), None
        out, _ = lax.scan(step, a, (lax.iota(_onp.int32, n), tuple(vals)))
        return out

    # -- reduceat ------------------------------------------------------------------------
    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """``reduce`` over the slices ``a[indices[i]:indices[i+1]]`` along ``axis`` (a
        single element where the next index is not larger, as NumPy)."""
        name = f"{self.__name__}.reduceat"
        self._binary("reduceat")
        _no_out(name, out)
        a, indices = asarray(a), asarray(indices)
        if a.ndim == 0:
            raise ValueError(f"{name}: a must have at least one dimension, got shape ()")
        if indices.ndim != 1:
            raise ValueError(f"{name}: indices must be one-dimensional, got shape "
                             f"{indices.shape}")
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError(f"{name}: reduceat takes one integer axis, got {axis!r}")
        axis = canonicalize_axis(axis, a.ndim, name)
        if dtype is not None:
            a = astype(a, dtype)
        res = take(a, indices, axis=axis)
        ends = lax.concatenate([indices[1:], lax.full((1,), a.shape[axis], indices.dtype)], 0)
        bshape = [1] * a.ndim
        bshape[axis] = indices.shape[0]
        starts, ends = reshape(indices, bshape), reshape(ends, bshape)

        def step(i, acc):
            inside = (i > starts) & (i < ends)
            return _where(inside, self(acc, take(a, reshape(i, (1,)), axis=axis)), acc)
        return lax.fori_loop(0, a.shape[axis], step, res)

    # -- outer ---------------------------------------------------------------------------
    def outer(self, A, B, /):
        """``f`` of every pair: the result has shape ``A.shape + B.shape``."""
        self._binary("outer")
        A, B = asarray(A), asarray(B)
        pairs = vmap(vmap(self, (None, 0)), (0, None))(reshape(A, (-1,)), reshape(B, (-1,)))
        return reshape(pairs, A.shape + B.shape)


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A ``ufunc`` from ``func``, a function of ``nin`` scalars returning ``nout`` values,
    written with xform operations; it is called through ``vectorize`` under ``jit``."""
    return ufunc(func, nin, nout, identity=identity)


# -- the builtins: fast equivalents of the generic methods -------------------------------
def _reduction(reducer):
    def reduce(a, *, axis, dtype, keepdims, initial, where):
        return reducer(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                       where=where)
    return reduce


def _bitwise_reduce(lax_reduce, op, identity, logical=False):
    """``reduce`` of a bitwise (or, with ``logical``, a truth-value) binary: one
    ``lax.reduce_and/or/xor`` over the axes."""
    name = f"{op.__name__}.reduce"

    def reducer(a, *, axis, dtype, keepdims, initial, where):
        a = asarray(a)
        if logical:
            a = astype(a, bool)
        elif dtype is not None:
            a = astype(a, dtype)
        if a.dtype.kind not in "biu":
            raise TypeError(f"{name}: needs integer or bool input, got {a.dtype}")
        if where is not None:
            a = _where(where, a, _onp.array(identity).astype(a.dtype))
        axes = tuple(range(a.ndim)) if axis is None else tuple(
            canonicalize_axis(ax, a.ndim, name)
            for ax in (axis if isinstance(axis, tuple) else (axis,)))
        r = lax_reduce(a, axes)
        if initial is not None:
            r = astype(op(r, initial), a.dtype)
        if keepdims:
            r = reshape(r, tuple(1 if i in axes else n for i, n in enumerate(a.shape)))
        return r
    return reducer


def _logaddexp_reduce(base2):
    """log-sum-exp (of base 2 with ``base2``): the maximum taken out, its gradient
    stopped, as JAX's ``logaddexp.reduce`` computes it."""
    ln2 = _onp.log(2)

    def reducer(a, *, axis, dtype, keepdims, initial, where):
        a = asarray(a) if dtype is None else astype(asarray(a), dtype)
        a, = promote_dtypes_inexact(a)
        if base2:
            a = a * ln2
        top = max(a, axis=axis, keepdims=True, initial=-_onp.inf, where=where)
        top = lax.stop_gradient(_where(isfinite(top), top, lax.full((), 0, a.dtype)))
        total = sum(lax.exp(a - top), axis=axis, keepdims=keepdims, where=where)
        r = log(total) + reshape(top, total.shape)
        if base2:
            r = r / ln2
        if initial is not None:
            r = (logaddexp2 if base2 else logaddexp)(r, initial)
        return r
    return reducer


def _add_at(a, indices, b):
    if a.dtype == _onp.dtype(bool):
        hits = astype(astype(asarray(b), bool), _onp.int32)
        return astype(astype(a, _onp.int32).at[indices].add(hits), bool)
    return a.at[indices].add(b)


def _multiply_at(a, indices, b):
    if a.dtype == _onp.dtype(bool):
        return a.at[indices].multiply(astype(asarray(b), bool))
    return a.at[indices].multiply(b)


def _subtract_at(a, indices, b):
    return a.at[indices].subtract(b)


def _make(func, nin, identity=None, **methods):
    return ufunc(func, nin, 1, identity=identity, call=func, **methods)


add = _make(add, 2, 0, reduce=_reduction(sum), accumulate=cumsum, at=_add_at)
multiply = _make(multiply, 2, 1, reduce=_reduction(prod), accumulate=cumprod, at=_multiply_at)
subtract = _make(subtract, 2, at=_subtract_at)
maximum = _make(maximum, 2, reduce=_reduction(max))
minimum = _make(minimum, 2, reduce=_reduction(min))
bitwise_and = _make(bitwise_and, 2, -1, reduce=_bitwise_reduce(lax.reduce_and, bitwise_and, -1))
bitwise_or = _make(bitwise_or, 2, 0, reduce=_bitwise_reduce(lax.reduce_or, bitwise_or, 0))
bitwise_xor = _make(bitwise_xor, 2, 0, reduce=_bitwise_reduce(lax.reduce_xor, bitwise_xor, 0))
logical_and = _make(logical_and, 2, True,
                    reduce=_bitwise_reduce(lax.reduce_and, logical_and, True, logical=True))
logical_or = _make(logical_or, 2, False,
                   reduce=_bitwise_reduce(lax.reduce_or, logical_or, False, logical=True))
logical_xor = _make(logical_xor, 2, False,
                    reduce=_bitwise_reduce(lax.reduce_xor, logical_xor, False, logical=True))
logaddexp = _make(logaddexp, 2, -_onp.inf, reduce=_logaddexp_reduce(False))
logaddexp2 = _make(logaddexp2, 2, -_onp.inf, reduce=_logaddexp_reduce(True))
negative = _make(negative, 1)
