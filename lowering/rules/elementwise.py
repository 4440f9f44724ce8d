"""Lowering rules of the elementwise meta-operators (primitives/ops.py): unary and binary
ops, comparisons, ``select_n``, ``convert_element_type``, ``bitcast_convert_type``,
``integer_pow``, and the variants StableHLO does not take for every dtype (complex
max/min and ordered compares, unsigned sign/abs, bool shifts and bit counts)."""
from __future__ import annotations

import numpy as np

from primitives import dtypes, ops
from primitives.core import ShapedArray

from ..emitter import (RULES, binop, bool_like, broadcast_scalars, cmp, compare_type,
                       complex_minmax, complex_parts, full, i64s, in_avals_of, not_,
                       out_avals_of, simple)


# unary ops that StableHLO (or CHLO, which XLA legalises) has directly
_UNARY_HLO = {
    "neg": "stablehlo.negate", "sign": "stablehlo.sign", "abs": "stablehlo.abs",
    "floor": "stablehlo.floor", "ceil": "stablehlo.ceil", "is_finite": "stablehlo.is_finite",
    "exp": "stablehlo.exponential", "log": "stablehlo.log", "log1p": "stablehlo.log_plus_one",
    "expm1": "stablehlo.exponential_minus_one", "sqrt": "stablehlo.sqrt",
    "rsqrt": "stablehlo.rsqrt", "cbrt": "stablehlo.cbrt", "sin": "stablehlo.sine",
    "cos": "stablehlo.cosine", "tan": "stablehlo.tan", "tanh": "stablehlo.tanh",
    "logistic": "stablehlo.logistic", "real": "stablehlo.real", "imag": "stablehlo.imag",
    "not": "stablehlo.not", "population_count": "stablehlo.popcnt",
    "clz": "stablehlo.count_leading_zeros",
    "asin": "chlo.asin", "acos": "chlo.acos", "atan": "chlo.atan", "sinh": "chlo.sinh",
    "cosh": "chlo.cosh", "asinh": "chlo.asinh", "acosh": "chlo.acosh", "atanh": "chlo.atanh",
    "erf": "chlo.erf", "erfc": "chlo.erfc", "erf_inv": "chlo.erf_inv",
    "lgamma": "chlo.lgamma", "digamma": "chlo.digamma", "conj": "chlo.conj",
}
for _n, _h in _UNARY_HLO.items():
    RULES[ops.unary[_n]] = simple(_h)


def _logistic(ctx, eqn, args):
    """1 / (1 + exp(-x)), written out as JAX lowers it (stablehlo.logistic rounds
    differently in bfloat16)."""
    (x,), (a,) = args, in_avals_of(eqn)
    one = ctx.broadcast(ctx.constant(1, ShapedArray((), a.dtype)), ShapedArray((), a.dtype),
                        a.shape)
    e = ctx.op1("stablehlo.exponential", [ctx.op1("stablehlo.negate", [x], [a], a)], [a], a)
    return [ctx.op1("stablehlo.divide", [one, ctx.op1("stablehlo.add", [one, e], [a, a], a)],
                    [a, a], a)]


def _complex_sin_cos(which):
    """sin/cos of complex x = a+ib through real sin/cos and expm1: XLA's complex sine
    loses all precision near zero (sinc(1e-28j) came out 0)."""
    hlo = _UNARY_HLO[which]

    def rule(ctx, eqn, args):
        (x,), (c,) = args, in_avals_of(eqn)
        if not dtypes.is_complex(c.dtype):
            return ctx.op(hlo, [x], [c], [c])
        r = c.update(dtype=dtypes.real_dtype(c.dtype))

        def f(name, *xs):
            return ctx.op1(name, list(xs), [r] * len(xs), r)
        a = ctx.op1("stablehlo.real", [x], [c], r)
        b = ctx.op1("stablehlo.imag", [x], [c], r)
        two = ctx.broadcast(ctx.constant(2, ShapedArray((), r.dtype)), ShapedArray((), r.dtype),
                            r.shape)
        zero = ctx.broadcast(ctx.constant(0, ShapedArray((), r.dtype)),
                             ShapedArray((), r.dtype), r.shape)
        sn, cs = f("stablehlo.sine", a), f("stablehlo.cosine", a)
        e1m = f("stablehlo.exponential_minus_one", b)
        e2m = f("stablehlo.exponential_minus_one", f("stablehlo.negate", b))
        snh = f("stablehlo.divide", f("stablehlo.subtract", e1m, e2m), two)
        csh = f("stablehlo.divide", f("stablehlo.add", f("stablehlo.add", e1m, e2m), two), two)
        if which == "sin":
            re, im = f("stablehlo.multiply", sn, csh), f("stablehlo.multiply", cs, snh)
        else:
            re = f("stablehlo.multiply", cs, csh)
            im = f("stablehlo.multiply", f("stablehlo.negate", sn), snh)
        a_zero = ctx.op1("stablehlo.compare", [a, zero], [r, r], r.update(dtype=dtypes.bool_),
                         "comparison_direction = #stablehlo<comparison_direction EQ>, "
                         "compare_type = #stablehlo<comparison_type FLOAT>")
        whole = ctx.op1("stablehlo.complex", [re, im], [r, r], c)
        # a == 0: keep the exact zero part (avoids inf * 0 = nan for huge |b|)
        edge = ctx.op1("stablehlo.complex", [zero, im] if which == "sin" else [re, zero],
                       [r, r], c)
        return [ctx.op1("stablehlo.select", [a_zero, edge, whole],
                        [r.update(dtype=dtypes.bool_), c, c], c)]
    return rule


RULES[ops.unary["logistic"]] = _logistic
RULES[ops.unary["sin"]] = _complex_sin_cos("sin")
RULES[ops.unary["cos"]] = _complex_sin_cos("cos")

_BINARY_HLO = {
    "add": "stablehlo.add", "sub": "stablehlo.subtract", "mul": "stablehlo.multiply",
    "div": "stablehlo.divide", "rem": "stablehlo.remainder", "pow": "stablehlo.power",
    "max": "stablehlo.maximum", "min": "stablehlo.minimum", "atan2": "stablehlo.atan2",
    "and": "stablehlo.and", "or": "stablehlo.or", "xor": "stablehlo.xor",
    "shift_left": "stablehlo.shift_left",
    "shift_right_arithmetic": "stablehlo.shift_right_arithmetic",
    "shift_right_logical": "stablehlo.shift_right_logical", "complex": "stablehlo.complex",
    "nextafter": "chlo.next_after",
}
for _n, _h in _BINARY_HLO.items():
    RULES[ops.binary[_n]] = simple(_h)


def _identity(ctx, eqn, args):
    return [args[0]]


RULES[ops.unary["stop_gradient"]] = _identity


def _round(ctx, eqn, args):
    method = eqn.params.get("rounding_method", 1)  # 0: away from zero, 1: to nearest even
    name = "stablehlo.round_nearest_even" if method in (1, "to_nearest_even") \
        else "stablehlo.round_nearest_afz"
    return ctx.op(name, args, in_avals_of(eqn), out_avals_of(eqn))


RULES[ops.unary["round"]] = _round


def _exp2(ctx, eqn, args):
    (x,), (a,) = args, in_avals_of(eqn)
    ln2 = ctx.constant(np.log(2.0), ShapedArray((), dtypes.real_dtype(a.dtype)))
    if dtypes.is_complex(a.dtype):
        ln2 = ctx.op1("stablehlo.convert", [ln2], [ShapedArray((), dtypes.real_dtype(a.dtype))],
                      ShapedArray((), a.dtype))
    ln2 = ctx.broadcast(ln2, ShapedArray((), a.dtype), a.shape)
    y = ctx.op1("stablehlo.multiply", [x, ln2], [a, a], a)
    return [ctx.op1("stablehlo.exponential", [y], [a], a)]


RULES[ops.unary["exp2"]] = _exp2


def _integer_pow(ctx, eqn, args):
    (x,), (a,), y = args, in_avals_of(eqn), eqn.params["y"]
    acc = None
    base = x
    n = abs(y)
    while n:  # square-and-multiply
        if n & 1:
            acc = base if acc is None else ctx.op1("stablehlo.multiply", [acc, base], [a, a], a)
        n >>= 1
        if n:
            base = ctx.op1("stablehlo.multiply", [base, base], [a, a], a)
    if acc is None:
        acc = ctx.broadcast(ctx.constant(1, ShapedArray((), a.dtype)), ShapedArray((), a.dtype),
                            a.shape)
    if y < 0:
        one = ctx.broadcast(ctx.constant(1, ShapedArray((), a.dtype)), ShapedArray((), a.dtype),
                            a.shape)
        acc = ctx.op1("stablehlo.divide", [one, acc], [a, a], a)
    return [acc]


RULES[ops.unary["integer_pow"]] = _integer_pow


def _reduce_precision(ctx, eqn, args):
    (x,), (a,), p = args, in_avals_of(eqn), eqn.params
    return [ctx.op1("stablehlo.reduce_precision", [x], [a], a,
                    f"exponent_bits = {p['exponent_bits']} : i32, "
                    f"mantissa_bits = {p['mantissa_bits']} : i32")]


RULES[ops.unary["reduce_precision"]] = _reduce_precision


def _compare(direction):
    def attrs(eqn):
        return (f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
                f"compare_type = #stablehlo<comparison_type "
                f"{compare_type(eqn.invars[0].aval.dtype)}>")
    return simple("stablehlo.compare", attrs)


def _compare_rule(direction):
    plain = _compare(direction)

    def rule(ctx, eqn, args):
        a = eqn.invars[0].aval
        if direction in ("EQ", "NE") or not dtypes.is_complex(a.dtype):
            return plain(ctx, eqn, args)
        # XLA's ordered complex compares are not lexicographic (LE is wrong): NumPy's order
        out = out_avals_of(eqn)[0]
        (x, y), (xa, _) = broadcast_scalars(ctx, eqn, args, out.shape)
        xr, xi, ra = complex_parts(ctx, x, xa)
        yr, yi, _ = complex_parts(ctx, y, xa)
        strict = {"LE": "LT", "GE": "GT"}.get(direction, direction)
        return [binop(ctx, "stablehlo.or", cmp(ctx, xr, yr, ra, strict), binop(
            ctx, "stablehlo.and", cmp(ctx, xr, yr, ra, "EQ"), cmp(ctx, xi, yi, ra, direction),
            out), out)]
    return rule


for _n in ops.COMPARE:
    RULES[ops.compare[_n]] = _compare_rule(_n.upper())


def _select_n(ctx, eqn, args):
    pred, *cases = args
    pa, *cavals = in_avals_of(eqn)
    out = out_avals_of(eqn)[0]
    if pa.shape != out.shape:
        pred = ctx.broadcast(pred, pa, out.shape)
        pa = ShapedArray(out.shape, pa.dtype)
    if len(cases) == 1:
        return [cases[0]]
    if pa.dtype == dtypes.bool_:  # select(pred, on_true, on_false): case 1 is "true"
        return ctx.op("stablehlo.select", [pred, cases[1], cases[0]], [pa, out, out], [out])
    # int32 predicate: a chain of selects, case i where pred == i
    result = cases[-1]
    for i in range(len(cases) - 2, -1, -1):
        k = ctx.broadcast(ctx.constant(i, ShapedArray((), pa.dtype)),
                          ShapedArray((), pa.dtype), out.shape)
        ba = ShapedArray(out.shape, dtypes.bool_)
        is_i = ctx.op1("stablehlo.compare", [pred, k], [pa, pa], ba,
                       "comparison_direction = #stablehlo<comparison_direction LE>, "
                       "compare_type = #stablehlo<comparison_type SIGNED>")
        result = ctx.op1("stablehlo.select", [is_i, cases[i], result], [ba, out, out], out)
    return [result]


RULES[ops.select_n] = _select_n


def _convert(ctx, eqn, args):
    (x,), (a,), out = args, in_avals_of(eqn), out_avals_of(eqn)[0]
    if a.dtype == out.dtype:
        return [x]
    if dtypes.is_complex(a.dtype) and not dtypes.is_complex(out.dtype):
        x = ctx.op1("stablehlo.real", [x], [a], a.update(dtype=dtypes.real_dtype(a.dtype)))
        a = a.update(dtype=dtypes.real_dtype(a.dtype))
    if out.dtype == dtypes.bool_ and a.dtype != dtypes.bool_:
        zero = ctx.broadcast(ctx.constant(0, ShapedArray((), a.dtype)), ShapedArray((), a.dtype),
                             a.shape)
        return [ctx.op1("stablehlo.compare", [x, zero], [a, a], out,
                        "comparison_direction = #stablehlo<comparison_direction NE>, "
                        f"compare_type = #stablehlo<comparison_type {compare_type(a.dtype)}>")]
    return [ctx.op1("stablehlo.convert", [x], [a], out)]


RULES[ops.convert_element_type] = _convert
# bitcast_convert_type: see _bitcast below (width changes, complex and bool need more ops)


# --- elementwise variants StableHLO does not take for every dtype -----------------------

def _minmax_rule(opname):
    plain = simple(opname)

    def rule(ctx, eqn, args):
        if not dtypes.is_complex(eqn.invars[0].aval.dtype):
            return plain(ctx, eqn, args)
        out = out_avals_of(eqn)[0]  # XLA's complex max/min are not lexicographic
        (x, y), _ = broadcast_scalars(ctx, eqn, args, out.shape)
        return [complex_minmax(ctx, x, y, out, opname)]
    return rule


RULES[ops.binary["max"]] = _minmax_rule("stablehlo.maximum")
RULES[ops.binary["min"]] = _minmax_rule("stablehlo.minimum")


def _sign(ctx, eqn, args):
    (x,), (a,) = args, in_avals_of(eqn)
    if dtypes.is_unsigned(a.dtype):  # stablehlo.sign is for signed/float/complex only
        nz = cmp(ctx, x, full(ctx, 0, a), a, "NE")
        return [ctx.op1("stablehlo.convert", [nz], [bool_like(a)], a)]
    return ctx.op("stablehlo.sign", args, [a], out_avals_of(eqn))


def _abs(ctx, eqn, args):
    (a,) = in_avals_of(eqn)
    if dtypes.is_unsigned(a.dtype):
        return [args[0]]
    return ctx.op("stablehlo.abs", args, [a], out_avals_of(eqn))


def _bool_or(hlo_name, bool_rule):
    """``hlo_name`` for integers; ``bool_rule(ctx, args, aval)`` for bool (a 1-bit unsigned)."""
    def rule(ctx, eqn, args):
        out = out_avals_of(eqn)
        args, in_avals = broadcast_scalars(ctx, eqn, args, out[0].shape)
        if dtypes.is_bool(in_avals[0].dtype):
            return [bool_rule(ctx, args, in_avals[0])]
        return ctx.op(hlo_name, args, in_avals, out)
    return rule


RULES[ops.unary["sign"]] = _sign
RULES[ops.unary["abs"]] = _abs
RULES[ops.unary["population_count"]] = _bool_or("stablehlo.popcnt", lambda ctx, a, v: a[0])
RULES[ops.unary["clz"]] = _bool_or("stablehlo.count_leading_zeros",
                                   lambda ctx, a, v: not_(ctx, a[0], v))
for _n in ("shift_left", "shift_right_arithmetic", "shift_right_logical"):
    # a 1-bit value shifted by 1 (True) is 0; by 0 it is unchanged
    RULES[ops.binary[_n]] = _bool_or(_BINARY_HLO[_n], lambda ctx, a, v: binop(
        ctx, "stablehlo.and", a[0], not_(ctx, a[1], v), v))


def _complex(ctx, eqn, args):
    out = out_avals_of(eqn)[0]
    args, in_avals = broadcast_scalars(ctx, eqn, args, out.shape)
    part = dtypes.real_dtype(out.dtype)
    if in_avals[0].dtype != part:  # f16/bf16 parts: widen first
        args = [ctx.op1("stablehlo.convert", [n], [a], a.update(dtype=part))
                for n, a in zip(args, in_avals)]
        in_avals = [a.update(dtype=part) for a in in_avals]
    return ctx.op("stablehlo.complex", args, in_avals, [out])


RULES[ops.binary["complex"]] = _complex


# --- bitcast_convert_type ----------------------------------------------------------------

def _reshape_to(ctx, x, aval: ShapedArray, shape) -> tuple[str, ShapedArray]:
    shape = tuple(shape)
    if aval.shape == shape:
        return x, aval
    new = ShapedArray(shape, aval.dtype)
    return ctx.op1("stablehlo.reshape", [x], [aval], new), new


def _bitcast_real(ctx, x, a: ShapedArray, want: ShapedArray) -> str:
    """Bitcast a non-complex array to ``want`` (equal byte count), reshaping as needed."""
    wa, wb = a.dtype.itemsize, want.dtype.itemsize
    if dtypes.is_bool(a.dtype):  # XLA will not bitcast i1; a bool byte is 0 or 1
        u8 = a.update(dtype=dtypes.uint8)
        x, a = ctx.op1("stablehlo.convert", [x], [a], u8), u8
        if want.dtype == dtypes.uint8:
            return _reshape_to(ctx, x, a, want.shape)[0]
    if dtypes.is_bool(want.dtype):  # any nonzero byte reads as True
        u8 = want.update(dtype=dtypes.uint8)
        y = _bitcast_real(ctx, x, a, u8)
        return cmp(ctx, y, full(ctx, 0, u8), u8, "NE")
    if wa == wb:
        x, a = _reshape_to(ctx, x, a, want.shape)
        if a.dtype == want.dtype:
            return x
        return ctx.op1("stablehlo.bitcast_convert", [x], [a], want)
    if wa > wb:
        mid = ShapedArray(a.shape + (wa // wb,), want.dtype)
        y = ctx.op1("stablehlo.bitcast_convert", [x], [a], mid)
        return _reshape_to(ctx, y, mid, want.shape)[0]
    x, a = _reshape_to(ctx, x, a, want.shape + (wb // wa,))
    return ctx.op1("stablehlo.bitcast_convert", [x], [a], want)


def _bitcast(ctx, eqn, args):
    (x,), (a,), out = args, in_avals_of(eqn), out_avals_of(eqn)[0]
    if a.dtype == out.dtype:
        return [x]
    if dtypes.is_complex(a.dtype):
        # StableHLO bitcasts no complex type: view it as (real, imag) pairs in memory order
        re, im, ra = complex_parts(ctx, x, a)
        col = ShapedArray(a.shape + (1,), ra.dtype)
        re = ctx.op1("stablehlo.reshape", [re], [ra], col)
        im = ctx.op1("stablehlo.reshape", [im], [ra], col)
        a = ShapedArray(a.shape + (2,), ra.dtype)
        x = ctx.op1("stablehlo.concatenate", [re, im], [col, col], a,
                    f"dimension = {len(col.shape) - 1} : i64")
    if not dtypes.is_complex(out.dtype):
        return [_bitcast_real(ctx, x, a, out)]
    part = ShapedArray(out.shape + (2,), dtypes.real_dtype(out.dtype))
    y = _bitcast_real(ctx, x, a, part)
    n = len(out.shape)
    half = ShapedArray(out.shape + (1,), part.dtype)
    ra = ShapedArray(out.shape, part.dtype)
    parts = []
    for k in range(2):
        s = ctx.op1("stablehlo.slice", [y], [part], half,
                    f"start_indices = {i64s([0] * n + [k])}, "
                    f"limit_indices = {i64s(list(out.shape) + [k + 1])}, "
                    f"strides = {i64s([1] * (n + 1))}")
        parts.append(ctx.op1("stablehlo.reshape", [s], [half], ra))
    return [ctx.op1("stablehlo.complex", parts, [ra, ra], out)]


RULES[ops.bitcast_convert_type] = _bitcast
