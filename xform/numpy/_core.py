"""Promotion, broadcasting and conversion shared by every ``xform.numpy`` function.

The bottom of the package: ``asarray``/``astype``, JAX's dtype promotion, broadcasting,
axis checks, and ``stack`` (here because ``asarray`` of a list of arrays stacks them).
"""
from __future__ import annotations

import functools
import inspect
import operator
import warnings

import numpy as np

from primitives import dtypes
from primitives.core import Literal
from primitives.shape_poly import DimExpr, register_value_hook

from .. import lax
from ..lax.shape_poly import dim_as_value
from ..api import from_jax
from ..api.devices import device_put as _device_put, local_devices as _local_devices
from ..core import Array
from ..core.config import config as _config
from ..core import Tracer, array_from_numpy, where

__all__ = ["ARRAY_TYPES", "typeinfo", "result_type", "promote_dtypes", "promote_dtypes_inexact",
           "promote_dtypes_numeric", "shape_of", "broadcast_shapes", "broadcast_to_shape",
           "broadcast_arrays_for", "asarray", "astype", "canonicalize_axis", "canonicalize_axes",
           "stack"]

_PY_SCALARS = (int, float, complex, bool)
ARRAY_TYPES = (Array, Tracer)


def typeinfo(x):
    """(dtype, weak_type) of an operand under JAX's rules."""
    t = type(x)
    if t is Array or t is Tracer:
        a = x.aval
        return a.dtype, a.weak_type
    if t in _PY_SCALARS:
        return dtypes.python_scalar_dtype(x), t is not bool
    if t is Literal:
        return x.aval.dtype, x.aval.weak_type
    if t is DimExpr:   # a symbolic dimension: an int, like a Python int
        return dtypes.canonicalize(np.int64), True
    if isinstance(x, (np.ndarray, np.generic)):
        return dtypes.canonicalize(x.dtype), False
    if isinstance(x, (list, tuple)):
        return typeinfo(asarray(x))
    if hasattr(x, "__jax_array__") or t.__name__ == "ArrayImpl":   # (a jax.Array: no copy)
        return typeinfo(asarray(x))
    raise TypeError(f"{type(x).__name__} is not a valid array value{where()}")


def result_type(*args):
    """The dtype ``jnp`` ops give for these operands (or dtypes)."""
    if not args:
        raise ValueError("at least one array or dtype is required")
    typed = []
    for a in args:
        if isinstance(a, type) and isinstance(getattr(a, "dtype", None), np.dtype):
            typed.append((dtypes.canonicalize(a.dtype), False))   # xform.numpy.float32 & co.
        elif isinstance(a, (np.dtype, type)) and not isinstance(a, type) or \
                (isinstance(a, type) and issubclass(a, np.generic)) or isinstance(a, str):
            typed.append((dtypes.canonicalize(np.dtype(a)), False))
        elif a is int or a is float or a is complex or a is bool:
            typed.append((dtypes.python_scalar_dtype(a(0)), a is not bool))
        elif isinstance(a, np.dtype):
            typed.append((dtypes.canonicalize(a), False))
        else:
            typed.append(typeinfo(a))
    return _promote(typed)[0]


def _promote(infos):
    try:
        return dtypes.promote(*infos)
    except dtypes.TypePromotionError as e:   # float8/int4 meeting a wider type
        raise dtypes.TypePromotionError(f"{e}{where()}") from None


def promote_dtypes(*args):
    """Cast operands to their common dtype; Python scalars become weak literals."""
    if len(args) == 2:
        a, b = args
        ta, tb = type(a), type(b)
        if ta is Array or ta is Tracer:
            if tb is Array or tb is Tracer:
                if a.aval.dtype == b.aval.dtype and a.aval.weak_type == b.aval.weak_type:
                    return args
            elif tb is float or tb is int:  # the common `x * 2.0` case
                dt = a.aval.dtype
                if dtypes.is_inexact(dt) or (tb is int and dtypes.is_int(dt)):
                    return a, lax.weak_literal(b, dt)
        elif (ta is float or ta is int) and (tb is Array or tb is Tracer):
            dt = b.aval.dtype
            if dtypes.is_inexact(dt) or (ta is int and dtypes.is_int(dt)):
                return lax.weak_literal(a, dt), b
    infos = [typeinfo(x) for x in args]
    dt, weak = _promote(infos)
    return [_cast(x, info, dt, weak) for x, info in zip(args, infos)]


def _cast(x, info, dt, weak):
    t = type(x)
    if t in _PY_SCALARS:
        return lax.weak_literal(x, dt)
    if t is Literal:
        return x if x.aval.dtype == dt else lax.weak_literal(x.val.item(), dt)
    if t is not Array and t is not Tracer:
        x = asarray(x)
    if info[0] == dt:
        if info[1] and not weak and t is Tracer:
            # as JAX: a traced weak operand meeting a strong one is converted, so reverse
            # mode gives its cotangent the weak type back (the convert's transpose)
            return lax.convert_element_type(x, dt, weak_type=False)
        return x
    # a weak result (e.g. bool array + Python int) makes every converted operand weak
    return lax.convert_element_type(x, dt, weak_type=weak)


def promote_dtypes_inexact(*args):
    """Promote, then lift integer/bool results to the default float dtype."""
    infos = [typeinfo(x) for x in args]
    dt, weak = _promote(infos)
    if dtypes.is_inexact(dt):
        return promote_dtypes(*args)
    # the result is as weak as the promotion (2 / int8_array is a strong float)
    fdt = dtypes.to_inexact(dt)
    return [_cast(x, info, fdt, weak) for x, info in zip(args, infos)]


def promote_dtypes_numeric(*args):
    """Promote, then lift bool results to the default int (JAX's arithmetic on bools)."""
    args = promote_dtypes(*args)
    dt, weak = typeinfo(args[0])
    if dt != dtypes.bool_:
        return args
    return [_cast(x, typeinfo(x), dtypes.default_int(), False) for x in args]


def shape_of(x):
    t = type(x)
    if t is Array or t is Tracer or t is Literal:
        return x.aval.shape
    return np.shape(x)


def _as_shape(op, s) -> tuple:
    """``s`` as a tuple of ints (an int is a 1-d shape), or a TypeError naming it."""
    if isinstance(s, (int, np.integer)):
        return (int(s),)
    try:
        return tuple(operator.index(d) for d in s)
    except TypeError:
        raise TypeError(f"{op}: a shape must be a tuple of ints, got {type(s).__name__} "
                        f"{s!r:.40}{where()}") from None


def broadcast_shapes(*shapes, op="broadcast"):
    if not all(type(s) is tuple for s in shapes):   # (the shapes of arrays are tuples)
        shapes = [_as_shape(op, s) for s in shapes]
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        sizes = {s[i - ndim + len(s)] for s in shapes if i - ndim + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise TypeError(f"{op}: shapes {', '.join(str(tuple(s)) for s in shapes)} are "
                            f"not broadcast-compatible{where()}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_to_shape(x, shape):
    s = shape_of(x)
    if s == shape or s == ():  # rank-0 operands broadcast inside the meta-operator
        return x
    if type(x) not in ARRAY_TYPES:
        x = asarray(x)
    lead = len(shape) - len(s)
    keep = [i for i, n in enumerate(s) if n == shape[lead + i]]
    if len(keep) != len(s):  # size-1 axes that grow: drop them first
        x = lax.reshape(x, [s[i] for i in keep])
    return lax.broadcast_in_dim(x, shape, [lead + i for i in keep])


def broadcast_arrays_for(op, *args):
    shapes = [shape_of(a) for a in args]
    full = [s for s in shapes if s != ()]
    if all(s == full[0] for s in full):  # equal shapes, or rank-0 operands: nothing to do
        return args
    if _config._values["jax_numpy_rank_promotion"] != "allow":
        _check_rank_promotion(op, full)
    shape = broadcast_shapes(*shapes, op=op)
    return [broadcast_to_shape(a, shape) for a in args]


def _check_rank_promotion(op, shapes):
    """``jax_numpy_rank_promotion`` "warn" / "raise": operands of different ranks (rank 0
    aside, as in JAX) are broadcast only with the user's consent."""
    if len({len(s) for s in shapes}) < 2:
        return
    msg = (f"{op}: operands of shapes {', '.join(map(str, shapes))} would be broadcast to a "
           f"higher rank (jax_numpy_rank_promotion is "
           f"{_config._values['jax_numpy_rank_promotion']!r}); add the leading axes "
           f"explicitly (x[None], expand_dims) or set the option to 'allow'{where()}")
    if _config._values["jax_numpy_rank_promotion"] == "raise":
        raise ValueError(msg)
    warnings.warn(msg, stacklevel=3)


def asarray(x, dtype=None, order=None, *, copy=None, device=None):
    if copy is not None or device is not None or order is not None:
        return _asarray_options(x, dtype, order, copy, device)
    t = type(x)
    if t is Array or t is Tracer:
        return x if dtype is None else astype(x, dtype)
    if t is Literal:
        x = x.val
    if t is DimExpr:
        return dim_as_value(x) if dtype is None else astype(dim_as_value(x), dtype)
    if t in _PY_SCALARS:
        dt = dtypes.canonicalize(dtype) if dtype is not None else dtypes.python_scalar_dtype(x)
        return array_from_numpy(np.asarray(x, dt), weak_type=dtype is None and t is not bool)
    if hasattr(x, "__jax_array__"):
        return asarray(x.__jax_array__(), dtype)
    if isinstance(x, (list, tuple)) and any(isinstance(e, ARRAY_TYPES) or
                                          (isinstance(e, (list, tuple))) for e in x):
        if any(_contains_array(e) for e in x):
            return stack([asarray(e) for e in x]) if dtype is None else \
                astype(stack([asarray(e) for e in x]), dtype)
    if type(x).__name__ == "ArrayImpl":  # a jax.Array: same buffer, no copy
        return from_jax(x) if dtype is None else astype(from_jax(x), dtype)
    if isinstance(x, str) or (isinstance(x, np.ndarray) and x.dtype.kind in "USO"):
        raise TypeError(f"xform arrays hold numbers, not {type(x).__name__} values: {x!r}"
                        f"{where()}")
    try:
        if dtype is None and isinstance(x, (list, tuple)):
            dtype = _sequence_dtype(x)
        arr = np.asarray(x) if dtype is None else np.asarray(x, dtypes.canonicalize(dtype))
    except ValueError as e:   # a ragged nested list, ...: NumPy's words, and the user's line
        raise ValueError(f"cannot make an array from {type(x).__name__} {x!r:.60}: {e}"
                         f"{where()}") from None
    if arr.dtype.kind in "USO" or (arr.dtype.kind == "V" and arr.dtype not in dtypes.SUPPORTED):
        raise TypeError(f"cannot convert {type(x).__name__} to an xform array{where()}")
    return array_from_numpy(arr)


def _asarray_options(x, dtype, order, copy, device):
    """``asarray`` with the array API standard's ``copy=`` and ``device=`` (and NumPy's
    ``order=``, of which only the C layout exists here).  ``copy=True`` gives a new buffer;
    ``copy=False`` refuses what needs a copy: a dtype change, another device, or host data
    for an accelerator."""
    if copy not in (None, True, False):
        raise TypeError(f"asarray: copy must be None, True or False, got {copy!r}{where()}")
    if order not in (None, "K", "A", "C"):
        raise NotImplementedError(f"asarray: order={order!r}: xform arrays are row-major "
                                  f"(order None, 'K', 'A' or 'C'){where()}")
    mine = type(x) is Array or type(x) is Tracer
    target = getattr(device, "device", device) if device is not None else \
        (x.device if type(x) is Array else _local_devices()[0])
    if copy is False:
        if not mine and getattr(target, "platform", "cpu") != "cpu":
            raise ValueError(f"asarray: copy=False, but {type(x).__name__} data must be "
                             f"copied to {target}{where()}")
        if type(x) is Array and device is not None and x.device != target:
            raise ValueError(f"asarray: copy=False, but moving the array from {x.device} to "
                             f"device={device} is a copy{where()}")
        if mine and dtype is not None and np.dtype(dtypes.canonicalize(dtype)) != x.dtype:
            raise ValueError(f"asarray: copy=False, but converting {x.dtype} to "
                             f"{np.dtype(dtype)} is a copy{where()}")
    out = asarray(x, dtype)
    if device is not None:
        out = _device_put(out, device)
    if copy and out is x and type(x) is Array:   # a new buffer with the same value
        out = _device_put(array_from_numpy(np.array(x._value()), weak_type=x.weak_type),
                          x.sharding)
    return out


def with_device(fn):
    """``fn`` (a creation function) with the array API standard's keyword ``device=``:
    the result is put on that device (None: the default device)."""
    @functools.wraps(fn)
    def f(*args, device=None, **kwargs):
        out = fn(*args, **kwargs)
        return out if device is None else _device_put(out, device)
    sig = inspect.signature(fn)
    f.__signature__ = sig.replace(parameters=[*sig.parameters.values(), inspect.Parameter(
        "device", inspect.Parameter.KEYWORD_ONLY, default=None)])
    return f


def _sequence_dtype(x):
    """JAX's dtype for a nested list: the promotion of its leaves, Python scalars weak
    (``[np.int16(1), 2]`` is int16; ``[]`` is the default float)."""
    leaves = []

    def walk(e):
        if isinstance(e, (list, tuple)):
            for c in e:
                walk(c)
        else:
            leaves.append(typeinfo(e))
    walk(x)
    return dtypes.promote(*leaves)[0] if leaves else dtypes.default_float()


def _contains_array(x):
    if isinstance(x, ARRAY_TYPES):
        return True
    if isinstance(x, (list, tuple)):
        return any(_contains_array(e) for e in x)
    return False


def astype(x, dtype, /, *, copy=False, device=None):
    """``x`` as ``dtype`` (the array API's ``copy=`` and ``device=``: ``copy=True`` gives a
    new buffer even when the dtype is already ``dtype``)."""
    if copy or device is not None:
        y = astype(x, dtype)
        return asarray(y, copy=(copy and y is x) or None, device=device)
    x = asarray(x)
    dt = dtypes.canonicalize(dtype)
    if x.dtype == dt and not x.aval.weak_type:
        return x
    if x.dtype == dt:
        return lax.convert_element_type(x, dt, weak_type=False)
    return lax.convert_element_type(x, dt)


def canonicalize_axis(axis, ndim, op="axis"):
    if not -ndim <= axis < max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise ValueError(f"{op}: axis {axis} is out of bounds for array of dimension {ndim}"
                         f"{where()}")
    return axis % ndim if ndim else 0


def canonicalize_axes(axis, ndim, op="axis"):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim, op) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: repeated axis in {axis}{where()}")
        return axes
    return (canonicalize_axis(int(axis), ndim, op),)


def stack(arrays, axis=0, dtype=None):
    """Join equal-shaped arrays along a new axis: ``expand_dims`` of each, then
    ``concatenate`` (written out with lax, as ``asarray`` needs it down here)."""
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    s0 = arrays[0].shape
    for a in arrays:
        if a.shape != s0:
            raise ValueError(f"stack: all input arrays must have the same shape, got "
                             f"{', '.join(str(x.shape) for x in arrays)}{where()}")
    axis = canonicalize_axis(axis, len(s0) + 1, "stack")
    arrays = [lax.expand_dims(a, [axis]) for a in arrays]
    arrays = promote_dtypes(*arrays) if len(arrays) > 1 else arrays
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    return lax.concatenate(arrays, axis)


def _concrete(x, op, arg, hint):
    """The value of ``x`` where it is needed at trace time (it fixes a shape)."""
    if isinstance(x, Tracer):
        if x.val is None:
            raise TypeError(f"{op}: argument {arg} fixes the output shape, so it needs a "
                            f"concrete value, but under jit it is an abstract "
                            f"{x.aval.str_short()}; {hint}{where()}")
        x = x.val
    return np.asarray(x)


# A symbolic dimension met by a float or an array (``x.shape[0] * 0.5``) becomes a value
# (primitives/shape_poly.py asks through this hook; it cannot import upward).
register_value_hook(asarray)
