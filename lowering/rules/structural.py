"""Lowering rules of the structural meta-operators (primitives/ops.py): ``iota``,
broadcast, reshape, transpose, slice, pad, concatenate, rev, dynamic slices,
``dot_general``, reductions, gather/scatter, argmin/argmax, ``reduce_window``,
convolution and sort."""
from __future__ import annotations

import numpy as np

from primitives import dtypes, ops
from primitives.core import ShapedArray
from primitives.shape_poly import is_symbolic_shape

from ..emitter import (RULES, binop, bool_like, cmp, complex_minmax, complex_parts, dims,
                       full, i64s, in_avals_of, isnan, not_, out_avals_of, select, simple)


def _iota(ctx, eqn, args):
    out, dim = out_avals_of(eqn)[0], eqn.params["dimension"]
    if dtypes.is_bool(out.dtype):  # no i1 iota: count in i32, then "!= 0" like a convert
        ia = out.update(dtype=dtypes.int32)
        return [cmp(ctx, ctx.iota(ia, dim), full(ctx, 0, ia), ia, "NE")]
    return [ctx.iota(out, dim)]


RULES[ops.iota] = _iota


def _broadcast_in_dim(ctx, eqn, args):
    return [ctx.broadcast(args[0], eqn.invars[0].aval, eqn.params["shape"],
                          eqn.params["broadcast_dimensions"])]


def _reshape(ctx, eqn, args):
    out = out_avals_of(eqn)[0]
    if is_symbolic_shape(out.shape):
        return [ctx.op1("stablehlo.dynamic_reshape", [args[0], ctx.shape_tensor(out.shape)],
                        [eqn.invars[0].aval, ShapedArray((out.ndim,), np.int64)], out)]
    return ctx.op("stablehlo.reshape", args, in_avals_of(eqn), [out])


RULES[ops.broadcast_in_dim] = _broadcast_in_dim
RULES[ops.reshape] = _reshape
RULES[ops.transpose] = simple(
    "stablehlo.transpose", lambda e: f"permutation = {i64s(e.params['permutation'])}",
    elementwise=False)


def _slice(ctx, eqn, args):
    p = eqn.params
    strides = p["strides"] or (1,) * len(p["start_indices"])
    if is_symbolic_shape(p["start_indices"]) or is_symbolic_shape(p["limit_indices"]):
        vec = ShapedArray((len(strides),), np.int64)
        bounds = [ctx.shape_tensor(p[k]) for k in ("start_indices", "limit_indices")]
        return [ctx.op1("stablehlo.real_dynamic_slice",
                        [args[0], *bounds, ctx.shape_tensor(strides)],
                        [eqn.invars[0].aval, vec, vec, vec], out_avals_of(eqn)[0])]
    return ctx.op("stablehlo.slice", args, in_avals_of(eqn), out_avals_of(eqn),
                  f"start_indices = {i64s(p['start_indices'])}, "
                  f"limit_indices = {i64s(p['limit_indices'])}, strides = {i64s(strides)}")


RULES[ops.slice] = _slice


def _pad(ctx, eqn, args):
    cfg = eqn.params["padding_config"]
    return ctx.op("stablehlo.pad", args, in_avals_of(eqn), out_avals_of(eqn),
                  f"edge_padding_low = {i64s(c[0] for c in cfg)}, "
                  f"edge_padding_high = {i64s(c[1] for c in cfg)}, "
                  f"interior_padding = {i64s(c[2] for c in cfg)}")


RULES[ops.pad] = _pad
RULES[ops.concatenate] = lambda ctx, eqn, args: ctx.op(
    "stablehlo.concatenate", args, in_avals_of(eqn), out_avals_of(eqn),
    f"dimension = {eqn.params['dimension']} : i64")
RULES[ops.rev] = simple("stablehlo.reverse",
                        lambda e: f"dimensions = {i64s(e.params['dimensions'])}",
                        elementwise=False)
RULES[ops.dynamic_slice] = lambda ctx, eqn, args: ctx.op(
    "stablehlo.dynamic_slice", args, in_avals_of(eqn), out_avals_of(eqn),
    f"slice_sizes = {i64s(eqn.params['slice_sizes'])}")
RULES[ops.dynamic_update_slice] = lambda ctx, eqn, args: ctx.op(
    "stablehlo.dynamic_update_slice", args, in_avals_of(eqn), out_avals_of(eqn))


def _dot_general(ctx, eqn, args):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    attrs = (f"dot_dimension_numbers = #stablehlo.dot<lhs_batching_dimensions = {dims(lb)}, "
             f"rhs_batching_dimensions = {dims(rb)}, lhs_contracting_dimensions = {dims(lc)}, "
             f"rhs_contracting_dimensions = {dims(rc)}>"
             + _precision_config(eqn.params.get("precision")))
    return ctx.op("stablehlo.dot_general", args, in_avals_of(eqn), out_avals_of(eqn), attrs)


RULES[ops.dot_general] = _dot_general

# reductions: init value and combiner for each variant
_REDUCE = {
    "reduce_sum": ("stablehlo.add", lambda dt: 0),
    "reduce_prod": ("stablehlo.multiply", lambda dt: 1),
    "reduce_max": ("stablehlo.maximum", lambda dt: _lowest(dt)),
    "reduce_min": ("stablehlo.minimum", lambda dt: _highest(dt)),
    "reduce_and": ("stablehlo.and", lambda dt: True if dt == dtypes.bool_ else -1),
    "reduce_or": ("stablehlo.or", lambda dt: 0),
    "reduce_xor": ("stablehlo.xor", lambda dt: 0),
}


def _lowest(dt):
    dt = np.dtype(dt)
    if dtypes.is_complex(dt):  # lexicographic order: (-inf, -inf) is below everything
        return complex(-np.inf, -np.inf)
    return dtypes.lowest(dt)


def _highest(dt):
    dt = np.dtype(dt)
    if dtypes.is_complex(dt):
        return complex(np.inf, np.inf)
    return dtypes.highest(dt)


def _reduce_rule(name):
    combiner, init = _REDUCE[name]

    def rule(ctx, eqn, args):
        (a,) = in_avals_of(eqn)
        sa = ShapedArray((), a.dtype)
        init_v = init(a.dtype)
        if dtypes.is_unsigned(a.dtype) and init_v == -1:
            init_v = dtypes.iinfo(a.dtype).max
        iv = ctx.constant(init_v, sa)
        region = _minmax_region(ctx, a.dtype, combiner)
        return ctx.op("stablehlo.reduce", [args[0], iv], [a, sa], out_avals_of(eqn),
                      f"dimensions = {i64s(eqn.params['axes'])}", [region])
    return rule


for _n in _REDUCE:
    RULES[ops.reduce[_n]] = _reduce_rule(_n)


# --- gather / scatter ------------------------------------------------------------------------

def _gather(ctx, eqn, args):
    p = eqn.params
    dn = p["dimension_numbers"]
    _, idx = in_avals_of(eqn)
    attrs = (f"dimension_numbers = #stablehlo.gather<"
             f"offset_dims = {dims(dn.offset_dims)}, "
             f"collapsed_slice_dims = {dims(dn.collapsed_slice_dims)}, "
             f"operand_batching_dims = {dims(dn.operand_batching_dims)}, "
             f"start_indices_batching_dims = {dims(dn.start_indices_batching_dims)}, "
             f"start_index_map = {dims(dn.start_index_map)}, "
             f"index_vector_dim = {idx.ndim - 1}>, "
             f"slice_sizes = {i64s(p['slice_sizes'])}, "
             f"indices_are_sorted = {'true' if p.get('indices_are_sorted') else 'false'}")
    return ctx.op("stablehlo.gather", args, in_avals_of(eqn), out_avals_of(eqn), attrs)


RULES[ops.gather] = _gather


def _replace_region(ctx, dtype):
    sa = ShapedArray((), dtype)
    return ctx.region([sa, sa], lambda sub, names: ([names[1]], [sa]))


_SCATTER_COMBINER = {"scatter_add": "stablehlo.add", "scatter_mul": "stablehlo.multiply",
                     "scatter_min": "stablehlo.minimum", "scatter_max": "stablehlo.maximum"}


def _scatter_rule(name):
    def rule(ctx, eqn, args):
        p = eqn.params
        dn = p["dimension_numbers"]
        x, idx, _ = in_avals_of(eqn)
        if name == "scatter":
            region = _replace_region(ctx, x.dtype)
        else:
            region = _minmax_region(ctx, x.dtype, _SCATTER_COMBINER[name])
        attrs = (f"scatter_dimension_numbers = #stablehlo.scatter<"
                 f"update_window_dims = {dims(dn.update_window_dims)}, "
                 f"inserted_window_dims = {dims(dn.inserted_window_dims)}, "
                 f"input_batching_dims = {dims(dn.operand_batching_dims)}, "
                 f"scatter_indices_batching_dims = {dims(dn.scatter_indices_batching_dims)}, "
                 f"scatter_dims_to_operand_dims = {dims(dn.scatter_dims_to_operand_dims)}, "
                 f"index_vector_dim = {idx.ndim - 1}>, "
                 f"indices_are_sorted = {'true' if p.get('indices_are_sorted') else 'false'}, "
                 f"unique_indices = {'true' if p.get('unique_indices') else 'false'}")
        return ctx.op("stablehlo.scatter", args, in_avals_of(eqn), out_avals_of(eqn), attrs,
                      [region])
    return rule


_BOOL_COMBINER = {"stablehlo.add": "stablehlo.or", "stablehlo.multiply": "stablehlo.and"}


def _minmax_region(ctx, dtype, opname):
    """A binary combiner region; complex max/min are lexicographic on (real, imag), and
    bool sums/products are or/and."""
    if dtypes.is_bool(dtype):
        opname = _BOOL_COMBINER.get(opname, opname)
    if opname not in ("stablehlo.maximum", "stablehlo.minimum") or not dtypes.is_complex(dtype):
        return ctx.scalar_region(dtype, 2, opname)
    sa = ShapedArray((), dtype)

    def body(sub, names):
        return [complex_minmax(sub, names[0], names[1], sa, opname)], [sa]
    return ctx.region([sa, sa], body)


for _n in ops.SCATTER_VARIANTS:
    RULES[ops.scatter[_n]] = _scatter_rule(_n)


# --- argmax / argmin -------------------------------------------------------------------------

def _argminmax_rule(name):
    direction = "GT" if name == "argmax" else "LT"

    def better_and_equal(sub, a, b, sa):
        """(a strictly better than b, a equal to b); NaN is better than everything."""
        sb = bool_like(sa)
        if dtypes.is_complex(sa.dtype):
            ar, ai, ra = complex_parts(sub, a, sa)
            br, bi, _ = complex_parts(sub, b, sa)
            a_nan = binop(sub, "stablehlo.or", isnan(sub, ar, ra), isnan(sub, ai, ra), sb)
            b_nan = binop(sub, "stablehlo.or", isnan(sub, br, ra), isnan(sub, bi, ra), sb)
            re_eq = cmp(sub, ar, br, ra, "EQ")
            lt = binop(sub, "stablehlo.or", cmp(sub, ar, br, ra, direction), binop(
                sub, "stablehlo.and", re_eq, cmp(sub, ai, bi, ra, direction), sb), sb)
            eq = binop(sub, "stablehlo.and", re_eq, cmp(sub, ai, bi, ra, "EQ"), sb)
        elif dtypes.is_float(sa.dtype):
            a_nan, b_nan = isnan(sub, a, sa), isnan(sub, b, sa)
            lt = cmp(sub, a, b, sa, direction)
            eq = cmp(sub, a, b, sa, "EQ")
        else:
            return cmp(sub, a, b, sa, direction), cmp(sub, a, b, sa, "EQ")
        better = binop(sub, "stablehlo.or", lt, binop(
            sub, "stablehlo.and", a_nan, not_(sub, b_nan, sb), sb), sb)
        equal = binop(sub, "stablehlo.or", eq, binop(sub, "stablehlo.and", a_nan, b_nan, sb), sb)
        return better, equal

    def rule(ctx, eqn, args):
        (x,), (a,), out = args, in_avals_of(eqn), out_avals_of(eqn)[0]
        axis = eqn.params["axes"][0]
        idt = np.dtype(eqn.params["index_dtype"])
        ia = ShapedArray(a.shape, idt)
        iota = ctx.iota(ia, axis)
        sa, si = ShapedArray((), a.dtype), ShapedArray((), idt)
        worst = _lowest(a.dtype) if name == "argmax" else _highest(a.dtype)
        init_v, init_i = ctx.constant(worst, sa), ctx.constant(0, si)

        def body(sub, names):
            av, ai, bv, bi = names
            sb = ShapedArray((), dtypes.bool_)
            better, equal = better_and_equal(sub, av, bv, sa)
            first = cmp(sub, ai, bi, si, "LT")
            pick_a = binop(sub, "stablehlo.or", better,
                           binop(sub, "stablehlo.and", equal, first, sb), sb)
            return [select(sub, pick_a, av, bv, sa), select(sub, pick_a, ai, bi, si)], [sa, si]

        region = ctx.region([sa, si, sa, si], body)
        outs = ctx.op("stablehlo.reduce", [x, iota, init_v, init_i], [a, ia, sa, si],
                      [out.update(dtype=a.dtype), out], f"dimensions = {i64s([axis])}", [region])
        return [outs[1]]
    return rule


for _n in ("argmax", "argmin"):
    RULES[ops.reduce[_n]] = _argminmax_rule(_n)


# --- reduce_window ---------------------------------------------------------------------------

def _padding_attr(padding) -> str:
    body = ", ".join(f"[{int(lo)}, {int(hi)}]" for lo, hi in padding)
    return f"dense<[{body}]> : tensor<{len(padding)}x2xi64>"


_REDUCE_WINDOW = {
    "reduce_window_sum": ("stablehlo.add", lambda dt: 0),
    "reduce_window_max": ("stablehlo.maximum", _lowest),
    "reduce_window_min": ("stablehlo.minimum", _highest),
}


def _reduce_window_rule(name):
    combiner, init = _REDUCE_WINDOW[name]

    def rule(ctx, eqn, args):
        p = eqn.params
        (a,), out = in_avals_of(eqn), out_avals_of(eqn)[0]
        if a.ndim == 0:  # a window over no dimensions holds the one element
            return [args[0]]
        sa = ShapedArray((), a.dtype)
        iv = init(a.dtype)
        region = _minmax_region(ctx, a.dtype, combiner)
        attrs = (f"window_dimensions = {i64s(p['window_dimensions'])}, "
                 f"window_strides = {i64s(p['window_strides'])}, "
                 f"base_dilations = {i64s(p['base_dilation'])}, "
                 f"window_dilations = {i64s(p['window_dilation'])}, "
                 f"padding = {_padding_attr(p['padding'])}")
        return ctx.op("stablehlo.reduce_window", [args[0], ctx.constant(iv, sa)], [a, sa],
                      [out], attrs, [region])
    return rule


for _n in ops.REDUCE_WINDOW_VARIANTS:
    RULES[ops.reduce_window[_n]] = _reduce_window_rule(_n)


# --- convolution ----------------------------------------------------------------------------

_PRECISION = {None: "DEFAULT", 0: "DEFAULT", 1: "HIGH", 2: "HIGHEST", "default": "DEFAULT",
              "high": "HIGH", "highest": "HIGHEST", "bfloat16": "DEFAULT",
              "tensorfloat32": "HIGH", "float32": "HIGHEST", "fastest": "DEFAULT"}


def _precision_config(precision) -> str:
    if precision is None:
        return ""
    ps = precision if isinstance(precision, (tuple, list)) else (precision, precision)

    def one(p):
        key = getattr(p, "name", p)
        key = key.lower() if isinstance(key, str) else key
        return f"#stablehlo<precision {_PRECISION.get(key, 'DEFAULT')}>"
    return f", precision_config = [{one(ps[0])}, {one(ps[1])}]"


def _conv(ctx, eqn, args):
    p = eqn.params
    lhs_spec, rhs_spec, out_spec = p["dimension_numbers"]
    attrs = (f"dimension_numbers = #stablehlo.conv<raw "
             f"input_batch_dimension = {lhs_spec[0]}, "
             f"input_feature_dimension = {lhs_spec[1]}, "
             f"input_spatial_dimensions = {dims(lhs_spec[2:])}, "
             f"kernel_input_feature_dimension = {rhs_spec[1]}, "
             f"kernel_output_feature_dimension = {rhs_spec[0]}, "
             f"kernel_spatial_dimensions = {dims(rhs_spec[2:])}, "
             f"output_batch_dimension = {out_spec[0]}, "
             f"output_feature_dimension = {out_spec[1]}, "
             f"output_spatial_dimensions = {dims(out_spec[2:])}>, "
             f"window_strides = {i64s(p['window_strides'])}, "
             f"padding = {_padding_attr(p['padding'])}, "
             f"lhs_dilation = {i64s(p['lhs_dilation'])}, "
             f"rhs_dilation = {i64s(p['rhs_dilation'])}, "
             f"feature_group_count = {int(p.get('feature_group_count', 1))} : i64, "
             f"batch_group_count = {int(p.get('batch_group_count', 1))} : i64"
             + _precision_config(p.get("precision")))
    return ctx.op("stablehlo.convolution", args, in_avals_of(eqn), out_avals_of(eqn), attrs)


RULES[ops.conv_general_dilated] = _conv


# --- sort -------------------------------------------------------------------------------------

def _float_sort_key(ctx, x, aval):
    """-0.0 -> 0.0 and every NaN -> +NaN, so TOTALORDER puts NaNs last and 0s together."""
    zero = ctx.constant(0, aval)
    x = select(ctx, cmp(ctx, x, zero, aval, "EQ", "FLOAT"), zero, x, aval)
    nan = ctx.constant(np.nan, aval)
    return select(ctx, isnan(ctx, x, aval), nan, x, aval)


def _sort_lt_eq(ctx, a, b, aval):
    """(a < b, a == b) for scalars under a total order matching NumPy's sort."""
    if dtypes.is_complex(aval.dtype):
        ar, ai, ra = complex_parts(ctx, a, aval)
        br, bi, _ = complex_parts(ctx, b, aval)
        lt_r, eq_r = _sort_lt_eq(ctx, ar, br, ra)
        lt_i, eq_i = _sort_lt_eq(ctx, ai, bi, ra)
        sb = bool_like(ra)
        return (binop(ctx, "stablehlo.or", lt_r, binop(ctx, "stablehlo.and", eq_r, lt_i, sb), sb),
                binop(ctx, "stablehlo.and", eq_r, eq_i, sb))
    if dtypes.is_float(aval.dtype):
        a, b = _float_sort_key(ctx, a, aval), _float_sort_key(ctx, b, aval)
        return (cmp(ctx, a, b, aval, "LT", "TOTALORDER"),
                cmp(ctx, a, b, aval, "EQ", "TOTALORDER"))
    return cmp(ctx, a, b, aval, "LT"), cmp(ctx, a, b, aval, "EQ")


def _sort(ctx, eqn, args):
    p = eqn.params
    in_avals = in_avals_of(eqn)
    scalars = [ShapedArray((), a.dtype) for a in in_avals]
    num_keys = int(p["num_keys"])

    def body(sub, names):
        sb = ShapedArray((), dtypes.bool_)
        result = None
        for k in reversed(range(num_keys)):  # lexicographic over the keys
            lt, eq = _sort_lt_eq(sub, names[2 * k], names[2 * k + 1], scalars[k])
            if result is not None:
                lt = binop(sub, "stablehlo.or", lt, binop(sub, "stablehlo.and", eq, result, sb), sb)
            result = lt
        return [result], [sb]

    region_args = [s for s in scalars for _ in range(2)]
    region = ctx.region(region_args, body)
    return ctx.op("stablehlo.sort", args, in_avals, out_avals_of(eqn),
                  f"dimension = {int(p['dimension'])} : i64, "
                  f"is_stable = {'true' if p.get('is_stable') else 'false'}", [region])


RULES[ops.sort] = _sort
