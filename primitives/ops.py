"""The meta-operator set: every primitive xform's IR may contain, with its shape/dtype rule.

Each meta-operator belongs to a *family*; the README counts families.  Families
with several variants (``unary``: sin, exp, ...) share one shape rule.  Anything
not listed here is a composite built from these in ``xform`` and needs no rules.

Shape rules raise ``TypeError`` naming the op and the offending shapes/dtypes;
the tracer adds the user's file:line.
"""
from __future__ import annotations

from typing import NamedTuple

import math

import numpy as np

from . import dtypes
from .core import ShapedArray, Primitive

REGISTRY: dict[str, Primitive] = {}


def _define(name, family, rule, params=(), doc="", **kw) -> Primitive:
    prim = Primitive(name, family, rule, params, doc, **kw)
    REGISTRY[name] = prim
    return prim


class OpTypeError(TypeError):
    """A meta-operator was applied to operands its shape/dtype rule rejects."""


def _fail(op, msg):
    raise OpTypeError(f"{op}: {msg}")


def _shape_str(a: ShapedArray):
    return a.str_short()


# --- elementwise ------------------------------------------------------------------
# Which dtype kinds each unary variant accepts, and how its result dtype is formed.
_INEXACT, _FLOAT, _NUMERIC, _INTEGRAL, _ANY, _COMPLEX = \
    "inexact", "float", "numeric", "integral", "any", "complex"

UNARY = {
    # name: (accepted kinds, result dtype: "same" | "real" | "bool")
    "neg": (_NUMERIC, "same"), "sign": (_NUMERIC, "same"), "abs": (_NUMERIC, "real"),
    "floor": (_FLOAT, "same"), "ceil": (_FLOAT, "same"), "round": (_FLOAT, "same"),
    "is_finite": (_FLOAT, "bool"),
    "exp": (_INEXACT, "same"), "exp2": (_INEXACT, "same"), "log": (_INEXACT, "same"),
    "log1p": (_INEXACT, "same"), "expm1": (_INEXACT, "same"),
    "sqrt": (_INEXACT, "same"), "rsqrt": (_INEXACT, "same"), "cbrt": (_FLOAT, "same"),
    "sin": (_INEXACT, "same"), "cos": (_INEXACT, "same"), "tan": (_INEXACT, "same"),
    "asin": (_INEXACT, "same"), "acos": (_INEXACT, "same"), "atan": (_INEXACT, "same"),
    "sinh": (_INEXACT, "same"), "cosh": (_INEXACT, "same"), "tanh": (_INEXACT, "same"),
    "asinh": (_INEXACT, "same"), "acosh": (_INEXACT, "same"), "atanh": (_INEXACT, "same"),
    "logistic": (_INEXACT, "same"),
    "erf": (_FLOAT, "same"), "erfc": (_FLOAT, "same"), "erf_inv": (_FLOAT, "same"),
    "lgamma": (_FLOAT, "same"), "digamma": (_FLOAT, "same"),
    "real": (_COMPLEX, "real"), "imag": (_COMPLEX, "real"), "conj": (_COMPLEX, "same"),
    "not": (_INTEGRAL, "same"), "population_count": (_INTEGRAL, "same"),
    "clz": (_INTEGRAL, "same"),
    "integer_pow": (_NUMERIC, "same"),   # param y: int
    "stop_gradient": (_ANY, "same"),     # identity whose tangent is zero
    # params exponent_bits, mantissa_bits: round to that float format and back (XLA's op)
    "reduce_precision": (_FLOAT, "same"),
}

BINARY = {
    "add": _NUMERIC, "sub": _NUMERIC, "mul": _NUMERIC, "div": _NUMERIC, "rem": "real",
    "pow": _INEXACT, "max": _ANY, "min": _ANY, "atan2": _INEXACT, "nextafter": _FLOAT,
    "and": _INTEGRAL, "or": _INTEGRAL, "xor": _INTEGRAL,
    "shift_left": _INTEGRAL, "shift_right_arithmetic": _INTEGRAL,
    "shift_right_logical": _INTEGRAL, "complex": _FLOAT,
}

COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")


def _kind_ok(dt, kind) -> bool:
    if kind == _ANY:
        return True
    if kind == _INEXACT:
        return dtypes.is_inexact(dt)
    if kind == _FLOAT:
        return dtypes.is_float(dt)
    if kind == _COMPLEX:
        return dtypes.is_complex(dt)
    if kind == _NUMERIC:
        return not dtypes.is_bool(dt)
    if kind == "real":  # numeric, not complex (XLA has no complex remainder)
        return not dtypes.is_bool(dt) and not dtypes.is_complex(dt)
    if kind == _INTEGRAL:
        return dtypes.is_int(dt) or dtypes.is_bool(dt)
    raise AssertionError(kind)


def _unary_rule(name):
    kinds, result = UNARY[name]

    def rule(x, **params):
        if not _kind_ok(x.dtype, kinds):
            _fail(name, f"does not accept dtype {x.dtype} (needs {kinds} input), got {_shape_str(x)}")
        if result == "real":
            return [x.update(dtype=dtypes.real_dtype(x.dtype))]
        if result == "bool":
            return [ShapedArray(x.shape, dtypes.bool_)]
        return [x]
    return rule


def _elementwise_shape(name, avals):
    shapes = [a.shape for a in avals if a.shape != ()]
    if shapes and any(s != shapes[0] for s in shapes):
        _fail(name, "operand shapes must be equal (or rank 0), got "
              + ", ".join(_shape_str(a) for a in avals))
    return shapes[0] if shapes else ()


def _binary_rule(name):
    kinds = BINARY[name]

    def rule(x, y):
        if x.dtype != y.dtype:
            _fail(name, f"operand dtypes must be equal, got {_shape_str(x)} and {_shape_str(y)}")
        if not _kind_ok(x.dtype, kinds):
            _fail(name, f"does not accept dtype {x.dtype}")
        shape = _elementwise_shape(name, (x, y))
        weak = x.weak_type and y.weak_type
        if name == "complex":
            return [ShapedArray(shape, dtypes.complex_dtype(x.dtype), weak)]
        for a in (x, y):  # reuse an operand's aval when it already is the result's
            if a.shape == shape and a.weak_type == weak:
                return [a]
        return [ShapedArray(shape, x.dtype, weak)]
    return rule


def _compare_rule(name):
    def rule(x, y):
        if x.dtype != y.dtype:
            _fail(name, f"operand dtypes must be equal, got {_shape_str(x)} and {_shape_str(y)}")
        return [ShapedArray(_elementwise_shape(name, (x, y)), dtypes.bool_,
                            x.weak_type and y.weak_type)]
    return rule


_UNARY_PARAMS = {"integer_pow": ("y",), "round": ("rounding_method",),
                 "reduce_precision": ("exponent_bits", "mantissa_bits")}
unary = {n: _define(n, "unary", _unary_rule(n), _UNARY_PARAMS.get(n, ())) for n in UNARY}
binary = {n: _define(n, "binary", _binary_rule(n)) for n in BINARY}
compare = {n: _define(n, "compare", _compare_rule(n)) for n in COMPARE}


def _select_n_rule(pred, *cases):
    if not cases:
        _fail("select_n", "needs at least one case")
    if pred.dtype != dtypes.bool_ and pred.dtype != dtypes.int32:
        _fail("select_n", f"predicate must be bool or int32, got {_shape_str(pred)}")
    if pred.dtype == dtypes.bool_ and len(cases) > 2:
        _fail("select_n", "a bool predicate selects between at most 2 cases")
    c0 = cases[0]
    for c in cases[1:]:
        if c.shape != c0.shape or c.dtype != c0.dtype:
            _fail("select_n", "cases must have equal types, got "
                  + ", ".join(_shape_str(c) for c in cases))
    if pred.shape not in ((), c0.shape):
        _fail("select_n", f"predicate shape {pred.shape} must be () or {c0.shape}")
    return [ShapedArray(c0.shape, c0.dtype, all(c.weak_type for c in cases))]


select_n = _define("select_n", "select_n", _select_n_rule, (),
                   "case[pred] elementwise; pred False/0 picks the first case")


def _convert_rule(x, *, new_dtype, weak_type=False):
    return [ShapedArray(x.shape, new_dtype, weak_type)]


convert_element_type = _define("convert_element_type", "convert_element_type",
                               _convert_rule, ("new_dtype", "weak_type"))


def _bitcast_rule(x, *, new_dtype):
    old, new = x.dtype.itemsize, np.dtype(new_dtype).itemsize
    if old == new:
        return [ShapedArray(x.shape, new_dtype)]
    if old > new:
        return [ShapedArray(x.shape + (old // new,), new_dtype)]
    if not x.shape or x.shape[-1] != new // old:
        _fail("bitcast_convert_type", f"cannot bitcast {_shape_str(x)} to {new_dtype}: "
              f"last dimension must be {new // old}")
    return [ShapedArray(x.shape[:-1], new_dtype)]


bitcast_convert_type = _define("bitcast_convert_type", "bitcast_convert_type",
                               _bitcast_rule, ("new_dtype",))


# --- structural -------------------------------------------------------------------

def _iota_rule(*, dtype, shape, dimension):
    if not 0 <= dimension < len(shape):
        _fail("iota", f"dimension {dimension} out of range for shape {shape}")
    return [ShapedArray(shape, dtype)]


iota = _define("iota", "iota", _iota_rule, ("dtype", "shape", "dimension"))


def _broadcast_in_dim_rule(x, *, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim:
        _fail("broadcast_in_dim", f"broadcast_dimensions {broadcast_dimensions} must have "
              f"one entry per operand dimension of {_shape_str(x)}")
    for i, d in enumerate(broadcast_dimensions):
        if not 0 <= d < len(shape) or x.shape[i] not in (1, shape[d]):
            _fail("broadcast_in_dim", f"cannot broadcast {_shape_str(x)} to {tuple(shape)} "
                  f"with broadcast_dimensions={broadcast_dimensions}")
    if list(broadcast_dimensions) != sorted(set(broadcast_dimensions)):
        _fail("broadcast_in_dim", f"broadcast_dimensions {broadcast_dimensions} must be increasing")
    return [ShapedArray(shape, x.dtype, x.weak_type)]


broadcast_in_dim = _define("broadcast_in_dim", "broadcast_in_dim", _broadcast_in_dim_rule,
                           ("shape", "broadcast_dimensions"))


def _reshape_rule(x, *, new_sizes):
    if math.prod(new_sizes, start=1) != x.size:
        _fail("reshape", f"cannot reshape {_shape_str(x)} ({x.size} elements) to {tuple(new_sizes)}")
    return [ShapedArray(new_sizes, x.dtype, x.weak_type)]


reshape = _define("reshape", "reshape", _reshape_rule, ("new_sizes",))


def _transpose_rule(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        _fail("transpose", f"permutation {permutation} is not a permutation of {x.ndim} axes "
              f"of {_shape_str(x)}")
    return [ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)]


transpose = _define("transpose", "transpose", _transpose_rule, ("permutation",))


def _slice_rule(x, *, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    if not (len(start_indices) == len(limit_indices) == len(strides) == x.ndim):
        _fail("slice", f"needs one start/limit/stride per dimension of {_shape_str(x)}")
    shape = []
    for d, (lo, hi, st) in enumerate(zip(start_indices, limit_indices, strides)):
        if not (0 <= lo <= hi <= x.shape[d]) or st < 1:
            _fail("slice", f"invalid slice [{lo}:{hi}:{st}] of dimension {d} of {_shape_str(x)}")
        shape.append(-(-(hi - lo) // st))       # (lo <= hi: never negative)
    return [ShapedArray(shape, x.dtype, x.weak_type)]


slice = _define("slice", "slice", _slice_rule, ("start_indices", "limit_indices", "strides"))


def _pad_rule(x, pad_value, *, padding_config):
    if pad_value.shape != () or pad_value.dtype != x.dtype:
        _fail("pad", f"padding value must be a scalar of dtype {x.dtype}, got {_shape_str(pad_value)}")
    if len(padding_config) != x.ndim:
        _fail("pad", f"padding_config needs one (lo, hi, interior) per dimension of {_shape_str(x)}")
    shape = []
    for n, (lo, hi, interior) in zip(x.shape, padding_config):
        if interior < 0:
            _fail("pad", f"interior padding must be >= 0, got {interior}")
        # (a symbolic n is >= 1, and max() cannot compare it)
        size = lo + hi + n + (max(0, n - 1) if type(n) is int else n - 1) * interior
        if size < 0:
            _fail("pad", f"padding {padding_config} gives a negative size for {_shape_str(x)}")
        shape.append(size)
    return [ShapedArray(shape, x.dtype, x.weak_type)]


pad = _define("pad", "pad", _pad_rule, ("padding_config",))


def _concatenate_rule(*xs, dimension):
    if not xs:
        _fail("concatenate", "needs at least one operand")
    x0 = xs[0]
    if not 0 <= dimension < x0.ndim:
        _fail("concatenate", f"dimension {dimension} out of range for {_shape_str(x0)}")
    for x in xs:
        if x.dtype != x0.dtype or x.ndim != x0.ndim or any(
                a != b for i, (a, b) in enumerate(zip(x.shape, x0.shape)) if i != dimension):
            _fail("concatenate", f"operands must agree except along dimension {dimension}, got "
                  + ", ".join(_shape_str(x) for x in xs))
    shape = list(x0.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return [ShapedArray(shape, x0.dtype, all(x.weak_type for x in xs))]


concatenate = _define("concatenate", "concatenate", _concatenate_rule, ("dimension",))


def _rev_rule(x, *, dimensions):
    if any(not 0 <= d < x.ndim for d in dimensions):
        _fail("rev", f"dimensions {dimensions} out of range for {_shape_str(x)}")
    return [x]


rev = _define("rev", "rev", _rev_rule, ("dimensions",))


def _check_start_indices(op, x, idx):
    if len(idx) != x.ndim:
        _fail(op, f"needs {x.ndim} start indices for {_shape_str(x)}, got {len(idx)}")
    for i in idx:
        if i.shape != () or not dtypes.is_int(i.dtype):
            _fail(op, f"start indices must be integer scalars, got {_shape_str(i)}")


def _dynamic_slice_rule(x, *idx, slice_sizes):
    _check_start_indices("dynamic_slice", x, idx)
    if len(slice_sizes) != x.ndim or any(not 0 <= s <= n for s, n in zip(slice_sizes, x.shape)):
        _fail("dynamic_slice", f"slice_sizes {slice_sizes} do not fit {_shape_str(x)}")
    return [ShapedArray(slice_sizes, x.dtype, x.weak_type)]


dynamic_slice = _define("dynamic_slice", "dynamic_slice", _dynamic_slice_rule, ("slice_sizes",),
                        "start indices are clamped so the slice stays in bounds")


def _dynamic_update_slice_rule(x, update, *idx):
    _check_start_indices("dynamic_update_slice", x, idx)
    if update.dtype != x.dtype or update.ndim != x.ndim or any(
            u > n for u, n in zip(update.shape, x.shape)):
        _fail("dynamic_update_slice", f"update {_shape_str(update)} does not fit {_shape_str(x)}")
    return [x]


dynamic_update_slice = _define("dynamic_update_slice", "dynamic_update_slice",
                               _dynamic_update_slice_rule)


class GatherDimensionNumbers(NamedTuple):
    """XLA's gather dimension numbers; the index vector is always the last indices axis."""
    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()


class ScatterDimensionNumbers(NamedTuple):
    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple
    operand_batching_dims: tuple = ()
    scatter_indices_batching_dims: tuple = ()


def _gather_rule(x, indices, *, dimension_numbers, slice_sizes, indices_are_sorted=False,
                 unique_indices=False):
    dn = dimension_numbers
    if not dtypes.is_int(indices.dtype) or indices.ndim < 1:
        _fail("gather", f"indices must be an integer array with an index-vector axis, "
              f"got {_shape_str(indices)}")
    if indices.shape[-1] != len(dn.start_index_map):
        _fail("gather", f"indices {_shape_str(indices)} last axis must equal "
              f"len(start_index_map)={len(dn.start_index_map)}")
    if len(slice_sizes) != x.ndim:
        _fail("gather", f"slice_sizes {slice_sizes} needs one entry per dimension of {_shape_str(x)}")
    for d, s in enumerate(slice_sizes):
        if not 0 <= s <= x.shape[d]:
            _fail("gather", f"slice size {s} out of range for dimension {d} of {_shape_str(x)}")
    for d in (*dn.collapsed_slice_dims, *dn.operand_batching_dims):
        if slice_sizes[d] > 1:
            _fail("gather", f"collapsed/batching dimension {d} must have slice size <= 1")
    dropped = set(dn.collapsed_slice_dims) | set(dn.operand_batching_dims)
    offset_sizes = [s for d, s in enumerate(slice_sizes) if d not in dropped]
    if len(offset_sizes) != len(dn.offset_dims):
        _fail("gather", f"offset_dims {dn.offset_dims} must list {len(offset_sizes)} dimensions")
    batch_sizes = list(indices.shape[:-1])
    out_rank = len(batch_sizes) + len(offset_sizes)
    shape, oi, bi = [], iter(offset_sizes), iter(batch_sizes)
    for d in range(out_rank):
        shape.append(next(oi) if d in dn.offset_dims else next(bi))
    return [ShapedArray(shape, x.dtype, x.weak_type)]


gather = _define("gather", "gather", _gather_rule,
                 ("dimension_numbers", "slice_sizes", "indices_are_sorted", "unique_indices"),
                 "XLA gather; out-of-bounds starts are clamped (other modes are composites)")

SCATTER_VARIANTS = ("scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max")


def _scatter_rule_for(name):
    def rule(x, indices, updates, *, dimension_numbers, indices_are_sorted=False,
             unique_indices=False):
        if updates.dtype != x.dtype:
            _fail(name, f"updates dtype {updates.dtype} must equal operand dtype {x.dtype}")
        if not dtypes.is_int(indices.dtype):
            _fail(name, f"indices must be integers, got {_shape_str(indices)}")
        dn = dimension_numbers
        if indices.shape[-1:] != (len(dn.scatter_dims_to_operand_dims),):
            _fail(name, f"indices {_shape_str(indices)} last axis must equal "
                  f"{len(dn.scatter_dims_to_operand_dims)}")
        n_window = x.ndim - len(dn.inserted_window_dims) - len(dn.operand_batching_dims)
        if len(dn.update_window_dims) != n_window or \
                updates.ndim != indices.ndim - 1 + n_window:
            _fail(name, f"updates {_shape_str(updates)} do not match operand {_shape_str(x)} "
                  f"and indices {_shape_str(indices)}")
        return [x.update(weak_type=x.weak_type and updates.weak_type)]
    return rule


scatter = {n: _define(n, "scatter", _scatter_rule_for(n),
                      ("dimension_numbers", "indices_are_sorted", "unique_indices"),
                      "XLA scatter; out-of-bounds updates are dropped")
           for n in SCATTER_VARIANTS}


# --- reductions -------------------------------------------------------------------
REDUCE_VARIANTS = {"reduce_sum": _NUMERIC, "reduce_prod": _NUMERIC, "reduce_max": _ANY,
                   "reduce_min": _ANY, "reduce_and": _INTEGRAL, "reduce_or": _INTEGRAL,
                   "reduce_xor": _INTEGRAL}


def _check_axes(op, x, axes):
    if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
        _fail(op, f"axes {axes} out of range or repeated for {_shape_str(x)}")


def _reduce_rule_for(name):
    kinds = REDUCE_VARIANTS[name]

    def rule(x, *, axes):
        _check_axes(name, x, axes)
        if not _kind_ok(x.dtype, kinds):
            _fail(name, f"does not accept dtype {x.dtype}")
        return [ShapedArray([n for d, n in enumerate(x.shape) if d not in axes],
                            x.dtype, x.weak_type)]
    return rule


def _argreduce_rule_for(name):
    def rule(x, *, axes, index_dtype):
        _check_axes(name, x, axes)
        if len(axes) != 1:
            _fail(name, f"reduces exactly one axis, got {axes}")
        if not dtypes.is_int(index_dtype):
            _fail(name, f"index_dtype must be an integer dtype, got {index_dtype}")
        if x.shape[axes[0]] == 0:
            _fail(name, f"cannot reduce an empty axis of {_shape_str(x)}")
        return [ShapedArray([n for d, n in enumerate(x.shape) if d not in axes], index_dtype)]
    return rule


reduce = {n: _define(n, "reduce", _reduce_rule_for(n), ("axes",)) for n in REDUCE_VARIANTS}
reduce.update({n: _define(n, "reduce", _argreduce_rule_for(n), ("axes", "index_dtype"))
               for n in ("argmax", "argmin")})

REDUCE_WINDOW_VARIANTS = ("reduce_window_sum", "reduce_window_max", "reduce_window_min")


def _reduce_window_rule_for(name):
    def rule(x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation):
        n = x.ndim
        if not (len(window_dimensions) == len(window_strides) == len(padding)
                == len(base_dilation) == len(window_dilation) == n):
            _fail(name, f"window parameters need one entry per dimension of {_shape_str(x)}")
        shape = []
        for d in range(n):
            size = (x.shape[d] - 1) * base_dilation[d] + 1 if x.shape[d] else 0
            size += padding[d][0] + padding[d][1]
            win = (window_dimensions[d] - 1) * window_dilation[d] + 1
            if win > size:
                shape.append(0)
            else:
                shape.append((size - win) // window_strides[d] + 1)
        return [ShapedArray(shape, x.dtype, x.weak_type)]
    return rule


reduce_window = {n: _define(n, "reduce_window", _reduce_window_rule_for(n),
                            ("window_dimensions", "window_strides", "padding",
                             "base_dilation", "window_dilation"))
                 for n in REDUCE_WINDOW_VARIANTS}


# --- contractions -------------------------------------------------------------------

def _dot_general_rule(x, y, *, dimension_numbers, precision=None, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    if x.dtype != y.dtype:
        _fail("dot_general", f"operand dtypes must be equal, got {_shape_str(x)} and {_shape_str(y)}")
    if len(lc) != len(rc) or len(lb) != len(rb):
        _fail("dot_general", f"contracting/batch dimension lists differ in length: {dimension_numbers}")
    for a, b in zip(lc, rc):
        if not (0 <= a < x.ndim and 0 <= b < y.ndim) or x.shape[a] != y.shape[b]:
            _fail("dot_general", f"contracting dimensions do not match: {_shape_str(x)} "
                  f"axis {a} vs {_shape_str(y)} axis {b}")
    for a, b in zip(lb, rb):
        if not (0 <= a < x.ndim and 0 <= b < y.ndim) or x.shape[a] != y.shape[b]:
            _fail("dot_general", f"batch dimensions do not match: {_shape_str(x)} "
                  f"axis {a} vs {_shape_str(y)} axis {b}")
    batch = [x.shape[a] for a in lb]
    lfree = [n for d, n in enumerate(x.shape) if d not in lc and d not in lb]
    rfree = [n for d, n in enumerate(y.shape) if d not in rc and d not in rb]
    dt = x.dtype if preferred_element_type is None else preferred_element_type
    return [ShapedArray(batch + lfree + rfree, dt, x.weak_type and y.weak_type)]


dot_general = _define("dot_general", "dot_general", _dot_general_rule,
                      ("dimension_numbers", "precision", "preferred_element_type"),
                      "out dims: batch, lhs free, rhs free")


class ConvDimensionNumbers(NamedTuple):
    """Axis positions: lhs (batch, feature, *spatial), rhs (out, in, *spatial), out (batch, feature, *spatial)."""
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def _conv_rule(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
               dimension_numbers, feature_group_count=1, batch_group_count=1,
               precision=None, preferred_element_type=None):
    dn = dimension_numbers
    if lhs.dtype != rhs.dtype:
        _fail("conv_general_dilated", f"operand dtypes differ: {_shape_str(lhs)}, {_shape_str(rhs)}")
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        _fail("conv_general_dilated", f"lhs {_shape_str(lhs)} and rhs {_shape_str(rhs)} "
              "must have equal rank >= 2")
    nsp = lhs.ndim - 2
    batch = lhs.shape[dn.lhs_spec[0]]
    in_feat = lhs.shape[dn.lhs_spec[1]]
    out_feat = rhs.shape[dn.rhs_spec[0]]
    if in_feat != rhs.shape[dn.rhs_spec[1]] * feature_group_count:
        _fail("conv_general_dilated", f"lhs features {in_feat} != rhs input features "
              f"{rhs.shape[dn.rhs_spec[1]]} * feature_group_count {feature_group_count} "
              f"(lhs {_shape_str(lhs)}, rhs {_shape_str(rhs)})")
    if batch % batch_group_count or out_feat % max(feature_group_count, batch_group_count):
        _fail("conv_general_dilated", "group counts do not divide the batch/feature sizes")
    spatial = []
    for i in range(nsp):
        n = lhs.shape[dn.lhs_spec[2 + i]]
        n = (n - 1) * lhs_dilation[i] + 1 if n else 0
        n += padding[i][0] + padding[i][1]
        k = (rhs.shape[dn.rhs_spec[2 + i]] - 1) * rhs_dilation[i] + 1
        spatial.append(max(0, (n - k) // window_strides[i] + 1) if n >= k else 0)
    out = [0] * lhs.ndim
    out[dn.out_spec[0]] = batch // batch_group_count
    out[dn.out_spec[1]] = out_feat
    for i in range(nsp):
        out[dn.out_spec[2 + i]] = spatial[i]
    dt = lhs.dtype if preferred_element_type is None else preferred_element_type
    return [ShapedArray(out, dt)]


conv_general_dilated = _define(
    "conv_general_dilated", "conv_general_dilated", _conv_rule,
    ("window_strides", "padding", "lhs_dilation", "rhs_dilation", "dimension_numbers",
     "feature_group_count", "batch_group_count", "precision", "preferred_element_type"))


def _sort_rule(*xs, dimension, is_stable, num_keys):
    if not xs:
        _fail("sort", "needs at least one operand")
    if any(x.shape != xs[0].shape for x in xs):
        _fail("sort", "operands must have equal shapes, got " + ", ".join(_shape_str(x) for x in xs))
    if not 0 <= dimension < xs[0].ndim:
        _fail("sort", f"dimension {dimension} out of range for {_shape_str(xs[0])}")
    if not 1 <= num_keys <= len(xs):
        _fail("sort", f"num_keys {num_keys} must be in [1, {len(xs)}]")
    return list(xs)


sort = _define("sort", "sort", _sort_rule, ("dimension", "is_stable", "num_keys"),
               "sorts all operands along one axis by the first num_keys operands",
               multiple_results=True)


# --- random bits ----------------------------------------------------------------------
_RBG_KEYS = {((4,), "uint32"), ((2,), "uint64")}
_RBG_DTYPES = ("uint8", "uint16", "uint32", "uint64")


def _rng_bit_generator_rule(key, *, shape, dtype, algorithm):
    if (tuple(key.shape), key.dtype.name) not in _RBG_KEYS:
        _fail("rng_bit_generator", f"the key must be uint32[4] (or uint64[2]), got "
                                   f"{_shape_str(key)}")
    if np.dtype(dtype).name not in _RBG_DTYPES:
        _fail("rng_bit_generator", f"unsupported dtype {np.dtype(dtype).name}; the bits are "
                                   f"one of {', '.join(_RBG_DTYPES)}")
    if algorithm not in (0, 1, 2):
        _fail("rng_bit_generator", f"algorithm must be 0 (default), 1 (threefry) or 2 "
                                   f"(philox), got {algorithm!r}")
    return [ShapedArray(key.shape, key.dtype), ShapedArray(shape, np.dtype(dtype))]


# XLA's RngBitGenerator: a platform's own generator (Philox on CPU and GPU for the
# default), whose bits no composite reproduces; what ``lax.rng_bit_generator`` exposes.
rng_bit_generator = _define(
    "rng_bit_generator", "rng_bit_generator", _rng_bit_generator_rule,
    ("shape", "dtype", "algorithm"),
    "new_key, bits = XLA's RngBitGenerator(key): uniform bits of shape and dtype",
    multiple_results=True)


def families() -> dict[str, list[Primitive]]:
    """Family name -> its variants, in definition order."""
    out: dict[str, list[Primitive]] = {}
    for p in REGISTRY.values():
        out.setdefault(p.family, []).append(p)
    return out
