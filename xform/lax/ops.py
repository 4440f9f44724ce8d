"""``xform.lax``: thin, typed wrappers over the meta-operators (as ``jax.lax``).

Unlike ``xform.numpy``, lax does not promote dtypes: operands must agree,
except that Python scalars take the dtype of the array operands (weakly).
"""
from __future__ import annotations

import builtins
import itertools

import numpy as np

from primitives import dtypes, ops
from primitives.core import Literal, ShapedArray
from primitives.lru import LRU
from primitives.shape_poly import (InconclusiveDimensionOperation, canonical_dim,
                                   is_symbolic_shape)
from primitives.ops import GatherDimensionNumbers, ScatterDimensionNumbers

from ..core import Tracer, bind, aval_of_scalar, where
from .precision import Precision, canonical_precision  # noqa: F401 - Precision: public
from .enums import GatherScatterMode, RandomAlgorithm, RoundingMethod  # noqa: F401 - public
from ..core.trace import named
from ..core.pytree import tree_flatten, tree_map, tree_unflatten

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


_weak_literals_lru = LRU("weak scalar literals")   # hits read the plain dict
_weak_literals = _weak_literals_lru.data


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
        info = dtypes.iinfo(dtype)
        if not info.min <= x <= info.max:
            raise OverflowError(f"Python int {x} is too large to convert to {dtype}{where()}")
    lit = Literal(np.asarray(x).astype(dtype)[()], ShapedArray((), dtype, weak_type=True))
    if key is not None and x == x:  # NaN keys never match: don't let them pile up
        _weak_literals_lru.put(key, lit)
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

    def f(x):   # (one operand: there is no array dtype for a Python scalar to take)
        return bind(prim, x)
    return named(f, name, f"Elementwise ``{name}`` (meta-operator family ``unary``).")


def _binary(name, prim):
    def f(x, y):
        tx, ty = type(x), type(y)
        if tx in _PY_SCALARS or ty in _PY_SCALARS:   # else nothing to convert: skip the call
            x, y = _operands(name, x, y)
        return bind(prim, x, y)
    return named(f, name, f"Elementwise ``{name}``; operands must share a dtype.")


neg, sign, floor, ceil, is_finite = (_unary(n) for n in ("neg", "sign", "floor", "ceil", "is_finite"))
exp, exp2, log, log1p, expm1 = (_unary(n) for n in ("exp", "exp2", "log", "log1p", "expm1"))
sqrt, rsqrt, cbrt = _unary("sqrt"), _unary("rsqrt"), _unary("cbrt")
sin, cos, tan, asin, acos, atan = (_unary(n) for n in ("sin", "cos", "tan", "asin", "acos", "atan"))
sinh, cosh, tanh, asinh, acosh, atanh = (_unary(n) for n in
                                         ("sinh", "cosh", "tanh", "asinh", "acosh", "atanh"))
logistic, erf, erfc, erf_inv, lgamma, digamma = (_unary(n) for n in (
    "logistic", "erf", "erfc", "erf_inv", "lgamma", "digamma"))
abs, real, imag = _unary("abs"), _unary("real"), _unary("imag")
_conj = _unary("conj")


def conj(x):
    """Complex conjugate; a real operand is first made complex (as JAX's ``lax.conj``)."""
    a = aval(x)
    if a.dtype in (dtypes.float32, dtypes.float64):
        x = convert_element_type(x, dtypes.complex_dtype(a.dtype))
    return _conj(x)   # other dtypes: the meta-operator's own error
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


def reduce_precision(operand, exponent_bits: int, mantissa_bits: int):
    """Round ``operand`` (a float array) to the float format with ``exponent_bits`` and
    ``mantissa_bits`` and back, as XLA does: ``reduce_precision(x, 8, 7)`` is a round trip
    through bfloat16.  Its derivative is the same rounding of the tangent (as JAX's)."""
    e, m = int(exponent_bits), int(mantissa_bits)
    if e < 1 or m < 0:
        raise ValueError(f"reduce_precision: needs exponent_bits >= 1 and mantissa_bits >= 0, "
                         f"got {exponent_bits} and {mantissa_bits}{where()}")
    if type(operand) in _PY_SCALARS:
        operand = weak_literal(operand, dtypes.canonicalize(np.float64))
    return bind(ops.unary["reduce_precision"], operand, exponent_bits=e, mantissa_bits=m)


def integer_pow(x, y: int):
    return bind(ops.unary["integer_pow"], x, y=int(y))


def stop_gradient(x):
    """Identity whose derivative is zero."""
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
    """``min(max(x, lo), hi)``; as JAX, the slope goes to ``x`` strictly inside (lo, hi),
    to ``lo`` below, to ``hi`` above, to none at a bound (``max`` would split a tie)."""
    out = min(max(x, lo), hi)
    a = aval(out)

    def full(v):
        if type(v) in _PY_SCALARS:
            v = weak_literal(v, a.dtype)
        return v if aval(v).shape == a.shape else broadcast_in_dim(v, a.shape, ())
    x, lo, hi = full(x), full(lo), full(hi)
    routed = select(bitwise_and(gt(x, lo), lt(x, hi)), x,
                    select(bitwise_and(gt(lo, x), lt(lo, hi)), lo,
                           select(lt(hi, x), hi, stop_gradient(out))))
    if not dtypes.is_inexact(a.dtype):
        return routed
    # a NaN bound makes the value NaN (XLA's clamp), the slope still routed as JAX's
    nan_bound = bitwise_or(ne(lo, lo), ne(hi, hi))
    return select(nan_bound, add(routed, stop_gradient(out)), routed)


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

def rng_bit_generator(key, shape, dtype=np.uint32, algorithm=RandomAlgorithm.RNG_DEFAULT, *,
                      out_sharding=None):
    """``(new_key, bits)``: XLA's RngBitGenerator, uniform bits of ``shape`` and ``dtype``
    (uint8/16/32/64) from a ``uint32[4]`` key; the platform's generator for
    ``RNG_DEFAULT`` (Philox on CPU and GPU), so the bits are JAX's on the same device."""
    if out_sharding is not None:
        raise NotImplementedError("rng_bit_generator: out_sharding is not supported")
    dt = dtypes.canonicalize(dtype)
    return tuple(bind(ops.rng_bit_generator, key, shape=tuple(int(d) for d in shape),
                      dtype=dt, algorithm=int(algorithm)))


def iota(dtype, size: int):
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape, dimension: int):
    return bind(ops.iota, dtype=dtypes.canonicalize(dtype),
                shape=tuple(canonical_dim(d) for d in shape),
                dimension=int(dimension))


def broadcast_in_dim(x, shape, broadcast_dimensions):
    shape = tuple(canonical_dim(d) for d in shape)
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
    new_sizes = tuple(canonical_dim(d) for d in new_sizes)
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
    start = tuple(canonical_dim(i) for i in start_indices)
    limit = tuple(canonical_dim(i) for i in limit_indices)
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


def _dynamic_starts(x, start_indices, allow_negative_indices):
    """Start indices with negative ones counted from the end, as JAX's (a traced one with a
    `select`); out-of-range starts are then clamped by the op itself."""
    shape = aval(x).shape
    allow = [allow_negative_indices] * len(shape) if isinstance(allow_negative_indices, bool) \
        else list(allow_negative_indices)
    out = []
    for i, d, neg in zip(start_indices, shape, allow):
        if type(i) in _PY_SCALARS or isinstance(i, np.generic):
            if i < 0 and not neg:
                raise ValueError(f"Index {i} is out of bounds for dimension {d} if "
                                 f"allow_negative_indices=False")
            out.append(np.int32(i + d if i < 0 else i))
        elif neg and not dtypes.is_unsigned(aval(i).dtype):
            out.append(select(lt(i, 0), add(i, d), i))
        else:
            out.append(i)
    # XLA wants one index type: with an int64 index (x64), the rest are widened to it
    kinds = {np.dtype(o.dtype) if isinstance(o, np.generic) else aval(o).dtype for o in out}
    if len(kinds) > 1:
        wide = builtins.max(kinds, key=lambda k: (k.itemsize, k.kind == "i"))
        out = [o.astype(wide) if isinstance(o, np.generic) else
               (o if aval(o).dtype == wide else convert_element_type(o, wide)) for o in out]
    return out


def dynamic_slice(x, start_indices, slice_sizes, *, allow_negative_indices=True):
    idx = _dynamic_starts(x, start_indices, allow_negative_indices)
    return bind(ops.dynamic_slice, x, *idx,
                slice_sizes=tuple(canonical_dim(s) for s in slice_sizes))


def dynamic_update_slice(x, update, start_indices, *, allow_negative_indices=True):
    idx = _dynamic_starts(x, start_indices, allow_negative_indices)
    return bind(ops.dynamic_update_slice, x, update, *idx)


def dynamic_slice_in_dim(x, start_index, slice_size=1, axis=0, *, allow_negative_indices=True):
    a = aval(x)
    starts, sizes = [0] * a.ndim, list(a.shape)
    starts[axis], sizes[axis] = start_index, slice_size
    return dynamic_slice(x, starts, sizes, allow_negative_indices=allow_negative_indices)


def dynamic_index_in_dim(x, index, axis=0, keepdims=True, *, allow_negative_indices=True):
    y = dynamic_slice_in_dim(x, index, 1, axis, allow_negative_indices=allow_negative_indices)
    return y if keepdims else squeeze(y, (axis,))


def dynamic_update_slice_in_dim(x, update, start_index, axis, *, allow_negative_indices=True):
    starts = [0] * aval(x).ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts, allow_negative_indices=allow_negative_indices)


def dynamic_update_index_in_dim(x, update, index, axis, *, allow_negative_indices=True):
    if aval(update).ndim + 1 == aval(x).ndim:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(x, update, index, axis,
                                       allow_negative_indices=allow_negative_indices)


def _start_bounds(indices, operand_shape, index_dims, windows):
    """Per index-vector component, the largest start that keeps its window in bounds,
    broadcast to ``indices``' shape (the index vector is the last axis)."""
    ia = aval(indices)
    hi = np.array([operand_shape[d] - windows[d] for d in index_dims], ia.dtype)
    return broadcast_in_dim(hi, ia.shape, (ia.ndim - 1,))


def _mode(op, mode):
    m = GatherScatterMode.from_any(mode)
    if m is GatherScatterMode.ONE_HOT:
        raise NotImplementedError(f"{op}: mode=ONE_HOT is not implemented in xform{where()}")
    return m


def _default_fill(dtype):
    """JAX's fill for out-of-bounds gathers: NaN, the smallest signed or largest unsigned
    integer, True."""
    if dtypes.is_inexact(dtype):
        return np.nan
    if dtype == dtypes.bool_:
        return True
    info = dtypes.iinfo(dtype)
    return info.min if dtypes.is_int(dtype) and info.min < 0 else info.max


def gather(operand, start_indices, dimension_numbers: GatherDimensionNumbers, slice_sizes,
           *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
    """XLA gather.  ``mode`` None, 'clip' or 'promise_in_bounds': out-of-bounds starts
    clamp (XLA's rule, and JAX's for None); 'fill': slices not wholly in bounds are
    ``fill_value`` (default NaN / the integer minimum / True, as JAX)."""
    m = None if mode is None else _mode("lax.gather", mode)
    slice_sizes = tuple(canonical_dim(s) for s in slice_sizes)
    out = bind(ops.gather, operand, start_indices, dimension_numbers=dimension_numbers,
               slice_sizes=slice_sizes, indices_are_sorted=bool(indices_are_sorted),
               unique_indices=bool(unique_indices))
    if m is not GatherScatterMode.FILL_OR_DROP:
        return out
    dn = dimension_numbers
    if dn.operand_batching_dims:
        raise NotImplementedError(f"lax.gather: mode='fill' with operand_batching_dims"
                                  f"{where()}")
    hi = _start_bounds(start_indices, aval(operand).shape, dn.start_index_map, slice_sizes)
    zero = weak_literal(0, aval(start_indices).dtype)
    ok = bitwise_and(ge(start_indices, zero), le(start_indices, hi))
    ok = reduce_and(ok, (aval(ok).ndim - 1,))
    oa = aval(out)
    batch = [d for d in range(oa.ndim) if d not in dn.offset_dims]
    ok = broadcast_in_dim(ok, oa.shape, tuple(batch))
    fill = _default_fill(oa.dtype) if fill_value is None else fill_value
    return select(ok, out, broadcast_in_dim(convert_element_type(fill, oa.dtype), oa.shape, ()))


def _scatter(name):
    prim = ops.scatter[name]

    def f(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers, *,
          indices_are_sorted=False, unique_indices=False, mode=None):
        """XLA scatter.  ``mode`` None, 'drop'/'fill' or 'promise_in_bounds': updates whose
        window is not wholly in bounds are skipped (XLA's rule); 'clip': the indices are
        clamped into bounds first."""
        updates = _operands(name, operand, updates)[1]
        if mode is not None and _mode(f"lax.{name}", mode) is GatherScatterMode.CLIP:
            scatter_indices = _clip_scatter_indices(operand, scatter_indices, updates,
                                                    dimension_numbers)
        return bind(prim, operand, scatter_indices, updates, dimension_numbers=dimension_numbers,
                    indices_are_sorted=bool(indices_are_sorted),
                    unique_indices=bool(unique_indices))
    return named(f, name)


def _clip_scatter_indices(operand, indices, updates, dn: ScatterDimensionNumbers):
    shape = aval(operand).shape
    skipped = set(dn.inserted_window_dims) | set(dn.operand_batching_dims)
    window_sizes = iter(aval(updates).shape[d] for d in dn.update_window_dims)
    windows = [1 if d in skipped else next(window_sizes) for d in range(len(shape))]
    hi = _start_bounds(indices, shape, dn.scatter_dims_to_operand_dims, windows)
    return min(max(indices, weak_literal(0, aval(indices).dtype)), hi)


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
    return named(f, name)


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
        shape = aval(x).shape
        window_dimensions, window_strides, padding, base_dilation, window_dilation = \
            _window_params(name, shape, window_dimensions, window_strides, padding,
                           base_dilation, window_dilation)
        return bind(prim, x, window_dimensions=window_dimensions, window_strides=window_strides,
                     padding=padding, base_dilation=base_dilation,
                     window_dilation=window_dilation)
    return named(f, name, f"``{name}`` meta-operator: padding is 'SAME', 'SAME_LOWER', "
                          f"'VALID' or (lo, hi) pairs, and padded elements are the "
                          f"reduction's identity.")


def _window_params(name, shape, window_dimensions, window_strides, padding, base_dilation,
                   window_dilation):
    """Check and normalise reduce_window's window arguments to tuples of ints."""
    n = len(shape)

    def per_dim(what, value, default):
        if value is None:
            return (default,) * n
        if is_symbolic_shape(value):
            raise InconclusiveDimensionOperation(
                f"{name}: {what} {tuple(value)} holds a symbolic dimension; windows must "
                f"have static sizes (a cumulative op along a symbolic axis is not supported)"
                f"{where()}")
        value = tuple(int(v) for v in value)
        if len(value) != n:
            raise TypeError(f"{name}: {what} {value} needs one entry per operand dimension "
                            f"(operand shape {tuple(shape)})")
        return value
    window_dimensions = per_dim("window_dimensions", window_dimensions, 1)
    window_strides = per_dim("window_strides", window_strides, 1)
    base_dilation = per_dim("base_dilation", base_dilation, 1)
    window_dilation = per_dim("window_dilation", window_dilation, 1)
    if isinstance(padding, str):
        extents = [(w - 1) * d + 1 for w, d in zip(window_dimensions, window_dilation)]
        padding = padtype_to_pads(shape, extents, window_strides, padding)
    elif padding is None:
        padding = ((0, 0),) * n
    try:
        padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or (low, high) "
                        f"pairs, got {padding!r}") from None
    if len(padding) != n:
        raise TypeError(f"{name}: padding {padding} needs one (low, high) pair per operand "
                        f"dimension (operand shape {tuple(shape)})")
    return window_dimensions, window_strides, padding, base_dilation, window_dilation


reduce_window_sum, reduce_window_max, reduce_window_min = (
    _reduce_window(n) for n in ops.REDUCE_WINDOW_VARIANTS)


_WINDOW_VARIANTS = {"reduce_window_sum": (reduce_window_sum, add),
                    "reduce_window_max": (reduce_window_max, max),
                    "reduce_window_min": (reduce_window_min, min)}


def _window_identity(variant, dtype):
    """The value that leaves ``variant``'s reduction unchanged, for ``dtype``."""
    dtype = np.dtype(dtype)
    if variant == "reduce_window_sum":
        return np.zeros((), dtype)[()]
    big = variant == "reduce_window_min"
    if dtype == np.bool_:
        return np.bool_(big)
    return dtype.type(dtypes.highest(dtype) if big else dtypes.lowest(dtype))


_WINDOW_MONOIDS: dict = {}   # computation -> reduce_window variant; see register_window_monoid


def register_window_monoid(computation, variant: str) -> None:
    """Let ``reduce_window(computation=...)`` recognise another function as the monoid
    ``variant`` ("reduce_window_sum" / "_max" / "_min"): the numpy surface registers
    ``jnp.add`` / ``jnp.maximum`` / ``jnp.minimum`` this way."""
    _WINDOW_MONOIDS[computation] = variant


def _window_monoid(computation):
    """The reduce_window variant for a recognised ``computation``, else None."""
    try:
        return _WINDOW_MONOIDS.get(computation)
    except TypeError:   # an unhashable callable
        return None


def _concrete_scalar(x):
    """``x`` as a NumPy scalar when its value is known at trace time, else None."""
    if isinstance(x, Tracer):
        return None
    if isinstance(x, Literal):
        return x.val
    try:
        v = np.asarray(x)
    except Exception:
        return None
    return v[()] if v.shape == () else None


def reduce_window(operand, init_value, computation, window_dimensions, window_strides=None,
                  padding="VALID", base_dilation=None, window_dilation=None):
    """Reduce each window of ``operand`` with ``computation``, starting from ``init_value``.

    As XLA's ReduceWindow: padded (and base-dilated) positions hold ``init_value``, and each
    output is ``computation`` folded over ``init_value`` and its window.  ``lax.add``,
    ``lax.max`` and ``lax.min`` (or their ``xform.numpy`` twins) become the
    ``reduce_window_sum/max/min`` meta-operators; any other ``computation``, and pytrees of
    operands with a matching pytree of ``init_value``, are folded over one strided slice per
    window offset (exact, and differentiable, but a loop over the window's size).
    """
    flat_ops, tree = tree_flatten(operand)
    flat_inits, init_tree = tree_flatten(init_value)
    if tree != init_tree:
        raise TypeError(f"reduce_window: operand and init_value must have the same pytree "
                        f"structure, got {tree} and {init_tree}")
    if not flat_ops:
        raise TypeError("reduce_window: needs at least one operand")
    shape = aval(flat_ops[0]).shape
    for x in flat_ops[1:]:
        if aval(x).shape != shape:
            raise TypeError(f"reduce_window: all operands need one shape, got {shape} and "
                            f"{aval(x).shape}")
    flat_inits = [_operands("reduce_window", x, i)[1] for x, i in zip(flat_ops, flat_inits)]
    for x, i in zip(flat_ops, flat_inits):
        if aval(i).shape != () or aval(i).dtype != aval(x).dtype:
            raise TypeError(f"reduce_window: init_value must be a scalar of the operand's "
                            f"dtype {aval(x).dtype}, got {aval(i).str_short()}")
    params = _window_params("reduce_window", shape, window_dimensions, window_strides,
                            padding, base_dilation, window_dilation)
    variant = _window_monoid(computation) if len(flat_ops) == 1 else None
    if variant is None:
        out = _reduce_window_by_slices(flat_ops, flat_inits, computation, tree, *params)
        return tree_unflatten(tree, out)
    x, init = flat_ops[0], flat_inits[0]
    dtype = aval(x).dtype
    value = _concrete_scalar(init)
    wdims, strides, pads, bdil, wdil = params
    reducer, combine = _WINDOW_VARIANTS[variant]
    out = reducer(x, wdims, strides, pads, bdil, wdil)
    if value is not None and value == _window_identity(variant, dtype):
        return out
    return combine(out, init)   # init joins every window once


def _reduce_window_by_slices(xs, inits, computation, tree, window_dimensions, window_strides,
                             padding, base_dilation, window_dilation):
    """Generic reduce_window: fold ``computation`` over one strided slice per window offset.

    Padded and base-dilated positions are skipped (as XLA does), with a mask known at trace
    time, so ``computation`` needs no identity element."""
    sizes = aval(xs[0]).shape
    cfg = [(lo, hi, d - 1) for (lo, hi), d in zip(padding, base_dilation)]
    xs = [pad(x, i, cfg) for x, i in zip(xs, inits)]
    padded = aval(xs[0]).shape
    # real[d][j]: position j of the padded, dilated dimension d holds an operand element
    real = []
    for n, size, (lo, _), d in zip(padded, sizes, padding, base_dilation):
        j = np.arange(n) - lo
        real.append((j >= 0) & (j <= (size - 1) * d) & (j % d == 0))
    out_shape = []
    for n, w, d, s in zip(padded, window_dimensions, window_dilation, window_strides):
        extent = (w - 1) * d + 1
        out_shape.append((n - extent) // s + 1 if n >= extent else 0)
    acc = [broadcast_in_dim(i, out_shape, ()) for i in inits]
    for offset in itertools.product(*[range(w) for w in window_dimensions]):
        start = [o * d for o, d in zip(offset, window_dilation)]
        limit = [b + (m - 1) * s + 1 if m else b for b, m, s in zip(start, out_shape,
                                                                    window_strides)]
        window = [slice(x, start, limit, window_strides) for x in xs]
        res = computation(tree_unflatten(tree, acc), tree_unflatten(tree, window))
        res, res_tree = tree_flatten(res)
        if res_tree != tree:
            raise TypeError(f"reduce_window: computation must return the operand's pytree "
                            f"structure {tree}, got {res_tree}")
        mask = np.ones(out_shape, bool)
        for dim, (b, m, s) in enumerate(zip(start, out_shape, window_strides)):
            along = real[dim][b:b + (m - 1) * s + 1:s] if m else np.zeros(0, bool)
            mask &= along.reshape([-1 if k == dim else 1 for k in range(len(out_shape))])
        if mask.all():
            acc = res
        elif mask.any():
            acc = [select(mask, r, a) for r, a in zip(res, acc)]
    return acc


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
    return bind(ops.dot_general, lhs, rhs, dimension_numbers=dn,
                precision=canonical_precision(precision), preferred_element_type=pet)


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    a, b = aval(lhs), aval(rhs)
    if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
        raise TypeError(f"lax.dot: needs 1-d or 2-d operands, got {a.str_short()} and "
                        f"{b.str_short()}{where()}")
    return dot_general(lhs, rhs, (((a.ndim - 1,), (0,)), ((), ())), precision,
                       preferred_element_type)


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


register_window_monoid(add, "reduce_window_sum")
register_window_monoid(max, "reduce_window_max")
register_window_monoid(min, "reduce_window_min")

# The public names: JAX's.  The library's own helpers that other modules reach as
# ``lax.X`` (weak literals, avals, window monoids, axis reshapes) stay out of ``__all__``.
__all__ = [n for n, v in list(globals().items())
           if not n.startswith("_") and not isinstance(v, type(np)) and
           n not in ("Sequence", "LRU", "tree_flatten", "tree_map", "tree_unflatten", "bind",
                     "annotations", "where", "named", "Literal", "ShapedArray", "Tracer",
                     "aval", "aval_of_scalar", "reduce_window_max", "reduce_window_min",
                     "reduce_window_sum", "register_window_monoid", "reshape_axis_into",
                     "reshape_axis_out_of", "weak_literal", "canonical_precision")]
