"""``xform.lax``: thin, typed wrappers over the meta-operators (as ``jax.lax``).

Unlike ``xform.numpy``, lax does not promote dtypes: operands must agree,
except that Python scalars take the dtype of the array operands (weakly).
"""
from __future__ import annotations

import builtins
from typing import Sequence

import numpy as np

from primitives import dtypes, ops
from primitives.core import Literal, ShapedArray
from primitives.ops import GatherDimensionNumbers, ScatterDimensionNumbers, ConvDimensionNumbers

from ..core import Tracer, bind, aval_of_scalar, where

_PY_SCALARS = (int, float, complex, bool)


def aval(x) -> ShapedArray:
    """Abstract value of any array-like operand."""
    a = getattr(x, "aval", None)
    if a is not None:
        return a
    if type(x) in _PY_SCALARS:
        return aval_of_scalar(x)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(np.shape(x), dtypes.canonicalize(x.dtype))
    raise TypeError(f"{type(x).__name__} is not a valid array value{where()}")


_weak_literals: dict = {}


def weak_literal(x, dtype) -> Literal:
    """A Python scalar as a weakly typed scalar literal of ``dtype`` (cached: literals are
    immutable, and tracing ``x * 2.0`` in a loop should not rebuild one each time)."""
    key = (x, type(x), dtype)
    try:
        lit = _weak_literals.get(key)
    except TypeError:  # unhashable (a NumPy array): not cached
        lit, key = None, None
    if lit is not None:
        return lit
    dtype = np.dtype(dtype)
    if isinstance(x, builtins.complex) and not dtypes.is_complex(dtype):
        raise TypeError(f"cannot convert complex {x} to {dtype}{where()}")
    if dtypes.is_int(dtype) and isinstance(x, builtins.float):
        raise TypeError(f"cannot convert float {x} to {dtype}{where()}")
    if dtypes.is_int(dtype) and isinstance(x, builtins.int):
        info = np.iinfo(dtype)
        if not info.min <= x <= info.max:
            raise OverflowError(f"Python int {x} is too large to convert to {dtype}{where()}")
    lit = Literal(np.asarray(x).astype(dtype)[()], ShapedArray((), dtype, weak_type=True))
    if key is not None and x == x:  # NaN keys never match: don't let them pile up
        if len(_weak_literals) > 10000:
            _weak_literals.clear()
        _weak_literals[key] = lit
    return lit


def _operands(name, *xs):
    """Convert Python scalars to the dtype of the array operands."""
    for x in xs:
        if type(x) in _PY_SCALARS:
            break
    else:
        return xs
    dt = next((aval(x).dtype for x in xs if type(x) not in _PY_SCALARS), None)
    if dt is None:
        return xs
    return tuple(weak_literal(x, dt) if type(x) in _PY_SCALARS else x for x in xs)


# --- elementwise ------------------------------------------------------------------------

def _unary(name):
    prim = ops.unary[name]

    def f(x):
        return bind(prim, *_operands(name, x))
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` (meta-operator family ``unary``)."
    return f


def _binary(name, prim):
    def f(x, y):
        return bind(prim, *_operands(name, x, y))
    f.__qualname__ = name
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}``; operands must share a dtype."
    return f


neg, sign, floor, ceil, is_finite = (_unary(n) for n in ("neg", "sign", "floor", "ceil", "is_finite"))
exp, exp2, log, log1p, expm1 = (_unary(n) for n in ("exp", "exp2", "log", "log1p", "expm1"))
sqrt, rsqrt, cbrt = _unary("sqrt"), _unary("rsqrt"), _unary("cbrt")
sin, cos, tan, asin, acos, atan = (_unary(n) for n in ("sin", "cos", "tan", "asin", "acos", "atan"))
sinh, cosh, tanh, asinh, acosh, atanh = (_unary(n) for n in
                                         ("sinh", "cosh", "tanh", "asinh", "acosh", "atanh"))
logistic, erf, erfc, erf_inv, lgamma, digamma = (_unary(n) for n in (
    "logistic", "erf", "erfc", "erf_inv", "lgamma", "digamma"))
abs, real, imag, conj = _unary("abs"), _unary("real"), _unary("imag"), _unary("conj")
bitwise_not = _unary("not")
population_count, clz = _unary("population_count"), _unary("clz")

add, sub, mul, div, rem = (_binary(n, ops.binary[n]) for n in ("add", "sub", "mul", "div", "rem"))
pow, max, min, atan2, nextafter = (_binary(n, ops.binary[n]) for n in
                                   ("pow", "max", "min", "atan2", "nextafter"))
bitwise_and, bitwise_or, bitwise_xor = (_binary(n, ops.binary[n.split("_")[1]])
                                        for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))
shift_left, shift_right_arithmetic, shift_right_logical = (
    _binary(n, ops.binary[n]) for n in ("shift_left", "shift_right_arithmetic",
                                         "shift_right_logical"))
complex = _binary("complex", ops.binary["complex"])
eq, ne, lt, le, gt, ge = (_binary(n, ops.compare[n]) for n in ops.COMPARE)


def round(x, rounding_method=0):
    """Round to integral values: method 0 away from zero, 1 to nearest even."""
    return bind(ops.unary["round"], x, rounding_method=int(rounding_method))


def integer_pow(x, y: int):
    return bind(ops.unary["integer_pow"], x, y=int(y))


def stop_gradient(x):
    """Identity whose derivative is zero."""
    from ..tree_util import tree_map
    return tree_map(lambda l: bind(ops.unary["stop_gradient"], l), x)


def square(x):
    return integer_pow(x, 2)


def reciprocal(x):
    return integer_pow(x, -1)


def select_n(which, *cases):
    """Elementwise ``cases[which]``."""
    return bind(ops.select_n, which, *_operands("select_n", *cases))


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false`` (note: the argument order of jax.lax)."""
    return select_n(pred, on_false, on_true)


def clamp(lo, x, hi):
    return min(max(x, lo), hi)


def convert_element_type(x, new_dtype, weak_type: bool = False):
    new_dtype = dtypes.canonicalize(new_dtype)
    a = aval(x)
    if type(x) in _PY_SCALARS:
        return weak_literal(x, new_dtype) if weak_type else np.asarray(x, new_dtype)[()]
    if a.dtype == new_dtype and a.weak_type == weak_type:
        return x
    return bind(ops.convert_element_type, x, new_dtype=new_dtype, weak_type=bool(weak_type))


def bitcast_convert_type(x, new_dtype):
    return bind(ops.bitcast_convert_type, x, new_dtype=dtypes.canonicalize(new_dtype))


# --- structural ----------------------------------------------------------------------------

def iota(dtype, size: int):
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape, dimension: int):
    return bind(ops.iota, dtype=dtypes.canonicalize(dtype), shape=tuple(int(d) for d in shape),
                dimension=int(dimension))


def broadcast_in_dim(x, shape, broadcast_dimensions):
    shape = tuple(int(d) for d in shape)
    bdims = tuple(int(d) for d in broadcast_dimensions)
    if aval(x).shape == shape and bdims == tuple(range(len(shape))):
        return x
    return bind(ops.broadcast_in_dim, x, shape=shape, broadcast_dimensions=bdims)


def broadcast(x, sizes):
    """Prepend dimensions ``sizes``."""
    a = aval(x)
    n = len(sizes)
    return broadcast_in_dim(x, tuple(sizes) + a.shape, tuple(range(n, n + a.ndim)))


def reshape(x, new_sizes, dimensions=None):
    if dimensions is not None:
        x = transpose(x, dimensions)
    new_sizes = tuple(int(d) for d in new_sizes)
    if aval(x).shape == new_sizes:
        return x
    return bind(ops.reshape, x, new_sizes=new_sizes)


def reshape_axis_into(src, dst, x):
    """Merge axis ``src`` into axis ``dst`` (``src`` becomes the major part)."""
    shape = aval(x).shape
    perm = [i for i in range(len(shape)) if i != src]
    perm.insert(dst, src)
    new_shape = [shape[i] for i in range(len(shape)) if i != src]
    new_shape[dst] *= shape[src]
    return reshape(x, new_shape, perm)


def reshape_axis_out_of(src, size1, x):
    """Split axis ``src`` into ``(size1, rest)``."""
    shape = list(aval(x).shape)
    size2, ragged = divmod(shape[src], size1)
    if ragged:
        raise ValueError(f"axis {src} of size {shape[src]} does not split into {size1} parts")
    shape[src:src + 1] = [size1, size2]
    return reshape(x, shape)


def transpose(x, permutation):
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return bind(ops.transpose, x, permutation=permutation)


def slice(x, start_indices, limit_indices, strides=None):
    start = tuple(int(i) for i in start_indices)
    limit = tuple(int(i) for i in limit_indices)
    st = None if strides is None or builtins.all(s == 1 for s in strides) else \
        tuple(int(s) for s in strides)
    if start == (0,) * len(start) and limit == aval(x).shape and st is None:
        return x
    return bind(ops.slice, x, start_indices=start, limit_indices=limit, strides=st)


def slice_in_dim(x, start, limit, stride=1, axis=0):
    a = aval(x)
    starts, limits, strides = [0] * a.ndim, list(a.shape), [1] * a.ndim
    starts[axis], limits[axis], strides[axis] = start, limit, stride
    return slice(x, starts, limits, strides)


def index_in_dim(x, index, axis=0, keepdims=True):
    y = slice_in_dim(x, index, index + 1, 1, axis)
    if keepdims:
        return y
    shape = list(aval(y).shape)
    del shape[axis]
    return reshape(y, shape)


def pad(x, padding_value, padding_config):
    cfg = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    padding_value = _operands("pad", x, padding_value)[1]
    return bind(ops.pad, x, padding_value, padding_config=cfg)


def concatenate(operands, dimension):
    if len(operands) == 1:
        return operands[0]
    return bind(ops.concatenate, *operands, dimension=int(dimension))


def rev(x, dimensions):
    return bind(ops.rev, x, dimensions=tuple(int(d) for d in dimensions))


def squeeze(x, dimensions):
    a = aval(x)
    dims_ = {d % a.ndim for d in dimensions}
    return reshape(x, [n for i, n in enumerate(a.shape) if i not in dims_])


def expand_dims(x, dimensions):
    a = aval(x)
    ndim = a.ndim + len(dimensions)
    dims_ = sorted(d % ndim for d in dimensions)
    shape = list(a.shape)
    for d in dims_:
        shape.insert(d, 1)
    return reshape(x, shape)


def _index_scalar(i):
    if type(i) in _PY_SCALARS or isinstance(i, np.generic):
        return np.int32(i)
    return i


def dynamic_slice(x, start_indices, slice_sizes):
    idx = [_index_scalar(i) for i in start_indices]
    return bind(ops.dynamic_slice, x, *idx, slice_sizes=tuple(int(s) for s in slice_sizes))


def dynamic_update_slice(x, update, start_indices):
    idx = [_index_scalar(i) for i in start_indices]
    return bind(ops.dynamic_update_slice, x, update, *idx)


def dynamic_slice_in_dim(x, start_index, slice_size, axis=0):
    a = aval(x)
    starts = [0] * a.ndim
    sizes = list(a.shape)
    starts[axis] = start_index
    sizes[axis] = slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(x, index, axis=0, keepdims=True):
    y = dynamic_slice_in_dim(x, index, 1, axis)
    return y if keepdims else squeeze(y, (axis,))


def dynamic_update_slice_in_dim(x, update, start_index, axis):
    starts = [0] * aval(x).ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)


def gather(operand, start_indices, dimension_numbers: GatherDimensionNumbers, slice_sizes,
           *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
    """XLA gather (out-of-bounds starts clamp); ``mode='fill'`` is not handled here."""
    if mode not in (None, "clip", "promise_in_bounds"):
        raise NotImplementedError(f"lax.gather: mode={mode!r}; use jnp indexing with "
                                  f".at[].get(mode='fill') for fill semantics")
    return bind(ops.gather, operand, start_indices, dimension_numbers=dimension_numbers,
                slice_sizes=tuple(int(s) for s in slice_sizes),
                indices_are_sorted=bool(indices_are_sorted), unique_indices=bool(unique_indices))


def _scatter(name):
    prim = ops.scatter[name]

    def f(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers, *,
          indices_are_sorted=False, unique_indices=False, mode=None):
        updates = _operands(name, operand, updates)[1]
        return bind(prim, operand, scatter_indices, updates, dimension_numbers=dimension_numbers,
                    indices_are_sorted=bool(indices_are_sorted),
                    unique_indices=bool(unique_indices))
    f.__name__ = name
    return f


scatter, scatter_add, scatter_mul, scatter_min, scatter_max = (
    _scatter(n) for n in ops.SCATTER_VARIANTS)


# --- reductions ------------------------------------------------------------------------------

def _reducer(name):
    prim = ops.reduce[name]

    def f(x, axes):
        axes = tuple(sorted(int(a) for a in axes))
        if not axes:
            return x
        return bind(prim, x, axes=axes)
    f.__name__ = name
    return f


reduce_sum, reduce_prod, reduce_max, reduce_min, reduce_and, reduce_or, reduce_xor = (
    _reducer(n) for n in ops.REDUCE_VARIANTS)


def argmax(x, axis: int, index_dtype):
    return bind(ops.reduce["argmax"], x, axes=(int(axis),),
                index_dtype=dtypes.canonicalize(index_dtype))


def argmin(x, axis: int, index_dtype):
    return bind(ops.reduce["argmin"], x, axes=(int(axis),),
                index_dtype=dtypes.canonicalize(index_dtype))


def _reduce_window(name):
    prim = ops.reduce_window[name]

    def f(x, window_dimensions, window_strides=None, padding=None, base_dilation=None,
          window_dilation=None):
        n = aval(x).ndim
        if isinstance(padding, str):
            padding = padtype_to_pads(aval(x).shape, window_dimensions,
                                      window_strides or (1,) * n, padding)
        return bind(prim, x, window_dimensions=tuple(window_dimensions),
                    window_strides=tuple(window_strides or (1,) * n),
                    padding=tuple(tuple(p) for p in (padding or ((0, 0),) * n)),
                    base_dilation=tuple(base_dilation or (1,) * n),
                    window_dilation=tuple(window_dilation or (1,) * n))
    f.__name__ = name
    return f


reduce_window_sum, reduce_window_max, reduce_window_min = (
    _reduce_window(n) for n in ops.REDUCE_WINDOW_VARIANTS)


def padtype_to_pads(in_shape, window_shape, window_strides, padding: str):
    """Explicit (lo, hi) pads for 'SAME' / 'SAME_LOWER' / 'VALID'."""
    padding = padding.upper()
    if padding == "VALID":
        return tuple((0, 0) for _ in in_shape)
    if padding not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"unknown padding {padding!r}: use 'SAME', 'SAME_LOWER' or 'VALID'")
    out = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        total = builtins.max(0, (-(-n // s) - 1) * s + k - n)
        lo = total // 2 if padding == "SAME" else -(-total // 2)
        out.append((lo, total - lo))
    return tuple(out)


# --- contractions --------------------------------------------------------------------------

def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(int(i) for i in lc), tuple(int(i) for i in rc)),
          (tuple(int(i) for i in lb), tuple(int(i) for i in rb)))
    pet = None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type)
    return bind(ops.dot_general, lhs, rhs, dimension_numbers=dn, precision=None,
                preferred_element_type=pet)


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    a, b = aval(lhs), aval(rhs)
    if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
        raise TypeError(f"lax.dot: needs 1-d or 2-d operands, got {a.str_short()} and "
                        f"{b.str_short()}{where()}")
    return dot_general(lhs, rhs, (((a.ndim - 1,), (0,)), ((), ())), precision,
                       preferred_element_type)


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """Normalise None / ('NCHW', 'OIHW', 'NCHW')-style specs to axis positions."""
    n = len(lhs_shape)
    if dimension_numbers is None:
        default = (0, 1) + tuple(range(2, n))
        return ConvDimensionNumbers(default, default, default)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    lhs_s, rhs_s, out_s = dimension_numbers
    if not builtins.all(isinstance(s, str) for s in (lhs_s, rhs_s, out_s)):
        return ConvDimensionNumbers(*(tuple(s) for s in dimension_numbers))
    # spatial dimensions are paired up in the order the kernel spec lists them
    spatial = [c for c in rhs_s if c not in "OI"]

    def spec(s, first, second):
        if sorted(c for c in s if c not in (first, second)) != sorted(spatial):
            raise ValueError(f"conv dimension spec {s!r} does not match kernel spec {rhs_s!r}")
        return (s.index(first), s.index(second)) + tuple(s.index(c) for c in spatial)
    lhs_spec, rhs_spec, out_spec = spec(lhs_s, "N", "C"), spec(rhs_s, "O", "I"), spec(out_s, "N", "C")
    return ConvDimensionNumbers(lhs_spec, rhs_spec, out_spec)


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1,
                         precision=None, preferred_element_type=None):
    la, ra = aval(lhs), aval(rhs)
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nsp = la.ndim - 2
    lhs_dilation = tuple(lhs_dilation or (1,) * nsp)
    rhs_dilation = tuple(rhs_dilation or (1,) * nsp)
    if isinstance(padding, str):
        in_sp = [la.shape[d] for d in dn.lhs_spec[2:]]
        k_sp = [(ra.shape[d] - 1) * r + 1 for d, r in zip(dn.rhs_spec[2:], rhs_dilation)]
        in_sp = [(n - 1) * l + 1 for n, l in zip(in_sp, lhs_dilation)]
        padding = padtype_to_pads(in_sp, k_sp, window_strides, padding)
    pet = None if preferred_element_type is None else dtypes.canonicalize(preferred_element_type)
    return bind(ops.conv_general_dilated, lhs, rhs, window_strides=tuple(window_strides),
                padding=tuple((int(lo), int(hi)) for lo, hi in padding),
                lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation, dimension_numbers=dn,
                feature_group_count=int(feature_group_count),
                batch_group_count=int(batch_group_count), precision=None,
                preferred_element_type=pet)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


# --- sorting ---------------------------------------------------------------------------------

def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort one array, or a sequence of arrays by the first ``num_keys`` of them."""
    single = not isinstance(operand, (tuple, list))
    xs = [operand] if single else list(operand)
    dim = dimension % aval(xs[0]).ndim
    outs = bind(ops.sort, *xs, dimension=dim, is_stable=bool(is_stable), num_keys=int(num_keys))
    return outs[0] if single else tuple(outs)


def sort_key_val(keys, values, dimension=-1, is_stable=True):
    return sort((keys, values), dimension, is_stable, 1)


__all__ = [n for n in dir() if not n.startswith("_")]
from .parallel import psum, pmean, pmax, pmin, all_gather, axis_index, axis_size
from ..control_flow import cond, switch, while_loop, fori_loop, scan, map  # noqa: E402,F401
from . import linalg  # noqa: E402,F401
