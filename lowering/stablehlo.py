"""Every meta-operator's lowering rule: IR -> StableHLO module text.

We write MLIR text in the generic operation form (``"stablehlo.add"(%a, %b) :
(...) -> ...``) instead of building it through the MLIR Python bindings: text is
an order of magnitude cheaper to produce, it is exactly what ``.as_text()``
shows, and PJRT parses it directly (see docs/design.md, "Lowering").

A rule has the signature ``rule(ctx, eqn, args) -> list[str]`` where ``args``
are the SSA names of the operands (already materialised, literals included)
and the result is the SSA names of the outputs.  ``ctx.op`` emits one op.
"""
from __future__ import annotations

import numpy as np

from primitives import dtypes
from primitives.core import ClosedJaxpr, Jaxpr, Literal, ShapedArray
from primitives import ops

# --- types and constants --------------------------------------------------------

_ELT = {
    "bool": "i1", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "ui8", "uint16": "ui16", "uint32": "ui32", "uint64": "ui64",
    "bfloat16": "bf16", "float16": "f16", "float32": "f32", "float64": "f64",
    "complex64": "complex<f32>", "complex128": "complex<f64>",
}


def elt(dtype) -> str:
    return _ELT[np.dtype(dtype).name]


def ttype(aval: ShapedArray) -> str:
    dims = "".join(f"{d}x" for d in aval.shape)
    return f"tensor<{dims}{elt(aval.dtype)}>"


def _scalar_text(v, dtype) -> str:
    dt = np.dtype(dtype)
    if dt == dtypes.bool_:
        return "true" if bool(v) else "false"
    if dtypes.is_int(dt):
        return str(int(v))
    if dtypes.is_complex(dt):
        part = dtypes.real_dtype(dt)
        c = complex(v)
        return f"({_scalar_text(c.real, part)}, {_scalar_text(c.imag, part)})"
    # floats: exact bit pattern in hex, so no value is rounded twice
    bits = np.asarray(v, dtype=dt).view(f"u{dt.itemsize}")
    return f"0x{int(bits):0{2 * dt.itemsize}X}"


def dense_attr(value, aval: ShapedArray) -> str:
    """``dense<...> : tensor<...>`` for a scalar (splat) or a small array."""
    arr = np.asarray(value, dtype=aval.dtype)
    if arr.ndim == 0 or (arr.size and np.all(arr == arr.flat[0])):
        body = _scalar_text(arr.flat[0] if arr.size else 0, aval.dtype)
    else:
        def nest(a):
            if a.ndim == 0:
                return _scalar_text(a, aval.dtype)
            return "[" + ", ".join(nest(x) for x in a) + "]"
        body = nest(arr)
    return f"dense<{body}> : {ttype(aval)}"


def i64s(xs) -> str:
    """A ``array<i64: ...>`` attribute."""
    xs = list(xs)
    return f"array<i64{': ' if xs else ''}{', '.join(str(int(x)) for x in xs)}>"


def dims(xs) -> str:
    return "[" + ", ".join(str(int(x)) for x in xs) + "]"


# --- the emitter ------------------------------------------------------------------

class Ctx:
    """Collects lines of one function body; hands out fresh SSA names."""

    def __init__(self, counter=None):
        self.lines: list[str] = []
        self.counter = counter if counter is not None else [0]
        self.indent = "    "

    def fresh(self) -> str:
        self.counter[0] += 1
        return f"%{self.counter[0]}"

    def op(self, name, args, in_avals, out_avals, attrs="", regions=None) -> list[str]:
        """Emit ``"name"(args) ({regions}) {attrs} : (in types) -> out types``."""
        outs = [self.fresh() for _ in out_avals]
        lhs = ""
        if len(outs) == 1:
            lhs = f"{outs[0]} = "
        elif outs:
            base = self.fresh()
            lhs = f"{base}:{len(outs)} = "
            outs = [f"{base}#{i}" for i in range(len(outs))]
        region_txt = ""
        if regions:
            region_txt = " (" + ", ".join(regions) + ")"
        attr_txt = f" {{{attrs}}}" if attrs else ""
        ins = ", ".join(ttype(a) for a in in_avals)
        res = ", ".join(ttype(a) for a in out_avals)
        res = res if len(out_avals) == 1 else f"({res})"
        self.lines.append(f'{self.indent}{lhs}"{name}"({", ".join(args)}){region_txt}'
                          f'{attr_txt} : ({ins}) -> {res}')
        return outs

    def op1(self, name, args, in_avals, out_aval, attrs="", regions=None) -> str:
        return self.op(name, args, in_avals, [out_aval], attrs, regions)[0]

    def constant(self, value, aval: ShapedArray) -> str:
        return self.op1("stablehlo.constant", [], [], aval, f"value = {dense_attr(value, aval)}")

    def broadcast(self, x: str, x_aval: ShapedArray, shape, bdims=()) -> str:
        out = ShapedArray(shape, x_aval.dtype)
        return self.op1("stablehlo.broadcast_in_dim", [x], [x_aval], out,
                        f"broadcast_dimensions = {i64s(bdims)}")

    def region(self, arg_avals, body) -> str:
        """A region ``{ ^bb0(args): ... stablehlo.return }``; ``body(ctx, names) -> names``."""
        sub = Ctx(self.counter)
        sub.indent = self.indent + "    "
        names = [sub.fresh() for _ in arg_avals]
        outs, out_avals = body(sub, names)
        sub.lines.append(f'{sub.indent}"stablehlo.return"({", ".join(outs)}) : '
                         f'({", ".join(ttype(a) for a in out_avals)}) -> ()')
        head = ", ".join(f"{n}: {ttype(a)}" for n, a in zip(names, arg_avals))
        return "{\n" + f"{self.indent}  ^bb0({head}):\n" + "\n".join(sub.lines) + \
            f"\n{self.indent}}}"

    def scalar_region(self, dtype, nargs, opname):
        """A region combining ``nargs`` scalars with a binary op (reductions, scatter)."""
        sa = ShapedArray((), dtype)

        def body(sub, names):
            return [sub.op1(opname, names, [sa] * nargs, sa)], [sa]
        return self.region([sa] * nargs, body)


def lower_jaxpr_body(ctx: Ctx, jaxpr: Jaxpr, consts: list[str], args: list[str]) -> list[str]:
    """Emit the equations of ``jaxpr`` with constvars/invars bound to SSA names."""
    env: dict = {}
    for v, n in zip(jaxpr.constvars, consts):
        env[v] = n
    for v, n in zip(jaxpr.invars, args):
        env[v] = n
    literal_cache: dict = {}

    def read(a):
        if isinstance(a, Literal):
            key = a.key()
            if key not in literal_cache:
                literal_cache[key] = ctx.constant(a.val, a.aval)
            return literal_cache[key]
        return env[a]

    for eqn in jaxpr.eqns:
        rule = RULES.get(eqn.prim)
        if rule is None:
            raise NotImplementedError(f"no StableHLO lowering for meta-operator {eqn.prim.name}")
        outs = rule(ctx, eqn, [read(a) for a in eqn.invars])
        for v, n in zip(eqn.outvars, outs):
            env[v] = n
    return [read(a) for a in jaxpr.outvars]


_platform = [None]   # the platform lower_module is writing for (see lowering_platform)


def lowering_platform() -> str:
    """'cpu', 'cuda', 'rocm' or 'tpu': rules that call vendor libraries (linalg) ask."""
    if _platform[0] is None:
        from . import _jaxlib
        return _jaxlib.platform_name(_jaxlib.default_device())
    return _platform[0]


def lower_module(jaxpr: Jaxpr, name: str = "main", donated=(), platform=None) -> str:
    """A whole StableHLO module whose ``main`` takes ``constvars + invars``; ``platform``
    (default: the default device's) picks vendor custom calls where a rule has them."""
    saved, _platform[0] = _platform[0], platform
    try:
        return _lower_module(jaxpr, name, donated)
    finally:
        _platform[0] = saved


def _lower_module(jaxpr: Jaxpr, name, donated) -> str:
    ctx = Ctx()
    params = jaxpr.constvars + jaxpr.invars
    names = [f"%arg{i}" for i in range(len(params))]
    outs = lower_jaxpr_body(ctx, jaxpr, names[:len(jaxpr.constvars)], names[len(jaxpr.constvars):])
    donated = set(donated)
    arg_decls = []
    for i, (n, v) in enumerate(zip(names, params)):
        attr = ""
        if i in donated:
            attr = " {jax.buffer_donor = true}"
        arg_decls.append(f"{n}: {ttype(v.aval)}{attr}")
    out_types = ", ".join(ttype(v.aval) for v in jaxpr.outvars)
    body = "\n".join(ctx.lines)
    ret_types = ", ".join(ttype(v.aval) for v in jaxpr.outvars)
    ret = f'    "func.return"({", ".join(outs)}) : ({ret_types}) -> ()'
    return (f"module @{name} attributes {{mhlo.num_partitions = 1 : i32, "
            f"mhlo.num_replicas = 1 : i32}} {{\n"
            f"  func.func public @main({', '.join(arg_decls)}) -> ({out_types}) {{\n"
            f"{body}\n{ret}\n  }}\n}}\n")


# --- rules ----------------------------------------------------------------------------
RULES: dict = {}


def _in_avals(eqn):
    return [a.aval for a in eqn.invars]


def _out_avals(eqn):
    return [v.aval for v in eqn.outvars]


def _broadcast_scalars(ctx, eqn, args, shape):
    """Elementwise meta-ops accept rank-0 operands; StableHLO wants equal shapes."""
    out, avals = [], []
    for a, n in zip(_in_avals(eqn), args):
        if a.shape != shape:
            n = ctx.broadcast(n, a, shape)
            a = ShapedArray(shape, a.dtype)
        out.append(n)
        avals.append(a)
    return out, avals


def _simple(hlo_name, attrs=None, elementwise=True):
    def rule(ctx, eqn, args):
        out = _out_avals(eqn)
        if elementwise:
            args, in_avals = _broadcast_scalars(ctx, eqn, args, out[0].shape)
        else:
            in_avals = _in_avals(eqn)
        a = attrs(eqn) if attrs else ""
        return ctx.op(hlo_name, args, in_avals, out, a)
    return rule


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
    RULES[ops.unary[_n]] = _simple(_h)


def _logistic(ctx, eqn, args):
    """1 / (1 + exp(-x)), written out as JAX lowers it (stablehlo.logistic rounds
    differently in bfloat16)."""
    (x,), (a,) = args, _in_avals(eqn)
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
        (x,), (c,) = args, _in_avals(eqn)
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
    RULES[ops.binary[_n]] = _simple(_h)


def _identity(ctx, eqn, args):
    return [args[0]]


RULES[ops.unary["stop_gradient"]] = _identity


def _round(ctx, eqn, args):
    method = eqn.params.get("rounding_method", 1)  # 0: away from zero, 1: to nearest even
    name = "stablehlo.round_nearest_even" if method in (1, "to_nearest_even") \
        else "stablehlo.round_nearest_afz"
    return ctx.op(name, args, _in_avals(eqn), _out_avals(eqn))


RULES[ops.unary["round"]] = _round


def _exp2(ctx, eqn, args):
    (x,), (a,) = args, _in_avals(eqn)
    ln2 = ctx.constant(np.log(2.0), ShapedArray((), dtypes.real_dtype(a.dtype)))
    if dtypes.is_complex(a.dtype):
        ln2 = ctx.op1("stablehlo.convert", [ln2], [ShapedArray((), dtypes.real_dtype(a.dtype))],
                      ShapedArray((), a.dtype))
    ln2 = ctx.broadcast(ln2, ShapedArray((), a.dtype), a.shape)
    y = ctx.op1("stablehlo.multiply", [x, ln2], [a, a], a)
    return [ctx.op1("stablehlo.exponential", [y], [a], a)]


RULES[ops.unary["exp2"]] = _exp2


def _integer_pow(ctx, eqn, args):
    (x,), (a,), y = args, _in_avals(eqn), eqn.params["y"]
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


def _compare_type(dtype) -> str:
    if dtypes.is_inexact(dtype):
        return "FLOAT"
    if dtypes.is_unsigned(dtype) or dtypes.is_bool(dtype):
        return "UNSIGNED"
    return "SIGNED"


def _compare(direction):
    def attrs(eqn):
        return (f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
                f"compare_type = #stablehlo<comparison_type "
                f"{_compare_type(eqn.invars[0].aval.dtype)}>")
    return _simple("stablehlo.compare", attrs)


def _compare_rule(direction):
    simple = _compare(direction)

    def rule(ctx, eqn, args):
        a = eqn.invars[0].aval
        if direction in ("EQ", "NE") or not dtypes.is_complex(a.dtype):
            return simple(ctx, eqn, args)
        # XLA's ordered complex compares are not lexicographic (LE is wrong): NumPy's order
        out = _out_avals(eqn)[0]
        (x, y), (xa, _) = _broadcast_scalars(ctx, eqn, args, out.shape)
        xr, xi, ra = _complex_parts(ctx, x, xa)
        yr, yi, _ = _complex_parts(ctx, y, xa)
        strict = {"LE": "LT", "GE": "GT"}.get(direction, direction)
        return [_bin(ctx, "stablehlo.or", _cmp(ctx, xr, yr, ra, strict), _bin(
            ctx, "stablehlo.and", _cmp(ctx, xr, yr, ra, "EQ"), _cmp(ctx, xi, yi, ra, direction),
            out), out)]
    return rule


for _n in ops.COMPARE:
    RULES[ops.compare[_n]] = _compare_rule(_n.upper())


def _select_n(ctx, eqn, args):
    pred, *cases = args
    pa, *cavals = _in_avals(eqn)
    out = _out_avals(eqn)[0]
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
    (x,), (a,), out = args, _in_avals(eqn), _out_avals(eqn)[0]
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
                        f"compare_type = #stablehlo<comparison_type {_compare_type(a.dtype)}>")]
    return [ctx.op1("stablehlo.convert", [x], [a], out)]


RULES[ops.convert_element_type] = _convert
# bitcast_convert_type: see _bitcast below (width changes, complex and bool need more ops)


def _iota(ctx, eqn, args):
    out = _out_avals(eqn)[0]
    attr = f"iota_dimension = {eqn.params['dimension']} : i64"
    if dtypes.is_bool(out.dtype):  # no i1 iota: count in i32, then "!= 0" like a convert
        ia = out.update(dtype=dtypes.int32)
        i = ctx.op1("stablehlo.iota", [], [], ia, attr)
        return [_cmp(ctx, i, _full(ctx, 0, ia), ia, "NE")]
    return ctx.op("stablehlo.iota", [], [], [out], attr)


RULES[ops.iota] = _iota


def _broadcast_in_dim(ctx, eqn, args):
    return ctx.op("stablehlo.broadcast_in_dim", args, _in_avals(eqn), _out_avals(eqn),
                  f"broadcast_dimensions = {i64s(eqn.params['broadcast_dimensions'])}")


RULES[ops.broadcast_in_dim] = _broadcast_in_dim
RULES[ops.reshape] = _simple("stablehlo.reshape", elementwise=False)
RULES[ops.transpose] = _simple(
    "stablehlo.transpose", lambda e: f"permutation = {i64s(e.params['permutation'])}",
    elementwise=False)


def _slice(ctx, eqn, args):
    p = eqn.params
    strides = p["strides"] or (1,) * len(p["start_indices"])
    return ctx.op("stablehlo.slice", args, _in_avals(eqn), _out_avals(eqn),
                  f"start_indices = {i64s(p['start_indices'])}, "
                  f"limit_indices = {i64s(p['limit_indices'])}, strides = {i64s(strides)}")


RULES[ops.slice] = _slice


def _pad(ctx, eqn, args):
    cfg = eqn.params["padding_config"]
    return ctx.op("stablehlo.pad", args, _in_avals(eqn), _out_avals(eqn),
                  f"edge_padding_low = {i64s(c[0] for c in cfg)}, "
                  f"edge_padding_high = {i64s(c[1] for c in cfg)}, "
                  f"interior_padding = {i64s(c[2] for c in cfg)}")


RULES[ops.pad] = _pad
RULES[ops.concatenate] = lambda ctx, eqn, args: ctx.op(
    "stablehlo.concatenate", args, _in_avals(eqn), _out_avals(eqn),
    f"dimension = {eqn.params['dimension']} : i64")
RULES[ops.rev] = _simple("stablehlo.reverse", lambda e: f"dimensions = {i64s(e.params['dimensions'])}",
                         elementwise=False)
RULES[ops.dynamic_slice] = lambda ctx, eqn, args: ctx.op(
    "stablehlo.dynamic_slice", args, _in_avals(eqn), _out_avals(eqn),
    f"slice_sizes = {i64s(eqn.params['slice_sizes'])}")
RULES[ops.dynamic_update_slice] = lambda ctx, eqn, args: ctx.op(
    "stablehlo.dynamic_update_slice", args, _in_avals(eqn), _out_avals(eqn))


def _dot_general(ctx, eqn, args):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    attrs = (f"dot_dimension_numbers = #stablehlo.dot<lhs_batching_dimensions = {dims(lb)}, "
             f"rhs_batching_dimensions = {dims(rb)}, lhs_contracting_dimensions = {dims(lc)}, "
             f"rhs_contracting_dimensions = {dims(rc)}>")
    return ctx.op("stablehlo.dot_general", args, _in_avals(eqn), _out_avals(eqn), attrs)


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
    if dt == dtypes.bool_:
        return False
    if dtypes.is_int(dt):
        return np.iinfo(dt).min
    return -np.inf


def _highest(dt):
    dt = np.dtype(dt)
    if dtypes.is_complex(dt):
        return complex(np.inf, np.inf)
    if dt == dtypes.bool_:
        return True
    if dtypes.is_int(dt):
        return np.iinfo(dt).max
    return np.inf


def _reduce_rule(name):
    combiner, init = _REDUCE[name]

    def rule(ctx, eqn, args):
        (a,) = _in_avals(eqn)
        sa = ShapedArray((), a.dtype)
        init_v = init(a.dtype)
        if dtypes.is_unsigned(a.dtype) and init_v == -1:
            init_v = np.iinfo(a.dtype).max
        iv = ctx.constant(init_v, sa)
        region = _minmax_region(ctx, a.dtype, combiner)
        return ctx.op("stablehlo.reduce", [args[0], iv], [a, sa], _out_avals(eqn),
                      f"dimensions = {i64s(eqn.params['axes'])}", [region])
    return rule


for _n in _REDUCE:
    RULES[ops.reduce[_n]] = _reduce_rule(_n)


# --- small helpers for multi-op rules ------------------------------------------------

def _bool_like(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape, dtypes.bool_)


def _full(ctx, value, aval: ShapedArray) -> str:
    """A constant of ``aval``'s shape and dtype filled with ``value``."""
    sa = ShapedArray((), aval.dtype)
    c = ctx.constant(value, sa)
    return c if aval.shape == () else ctx.broadcast(c, sa, aval.shape)


def _cmp(ctx, x, y, aval: ShapedArray, direction: str, ctype: str | None = None) -> str:
    ctype = ctype or _compare_type(aval.dtype)
    return ctx.op1("stablehlo.compare", [x, y], [aval, aval], _bool_like(aval),
                   f"comparison_direction = #stablehlo<comparison_direction {direction}>, "
                   f"compare_type = #stablehlo<comparison_type {ctype}>")


def _bin(ctx, name, x, y, aval: ShapedArray) -> str:
    return ctx.op1(name, [x, y], [aval, aval], aval)


def _select(ctx, pred, on_true, on_false, aval: ShapedArray) -> str:
    return ctx.op1("stablehlo.select", [pred, on_true, on_false],
                   [_bool_like(aval), aval, aval], aval)


def _not(ctx, x, aval: ShapedArray) -> str:
    return ctx.op1("stablehlo.not", [x], [aval], aval)


def _isnan(ctx, x, aval: ShapedArray) -> str:
    return _cmp(ctx, x, x, aval, "NE", "FLOAT")


def _complex_parts(ctx, x, aval: ShapedArray):
    ra = aval.update(dtype=dtypes.real_dtype(aval.dtype))
    return (ctx.op1("stablehlo.real", [x], [aval], ra),
            ctx.op1("stablehlo.imag", [x], [aval], ra), ra)


# --- elementwise variants StableHLO does not take for every dtype -----------------------

def _minmax_rule(opname):
    simple = _simple(opname)

    def rule(ctx, eqn, args):
        if not dtypes.is_complex(eqn.invars[0].aval.dtype):
            return simple(ctx, eqn, args)
        out = _out_avals(eqn)[0]  # XLA's complex max/min are not lexicographic
        (x, y), _ = _broadcast_scalars(ctx, eqn, args, out.shape)
        return [_complex_minmax(ctx, x, y, out, opname)]
    return rule


RULES[ops.binary["max"]] = _minmax_rule("stablehlo.maximum")
RULES[ops.binary["min"]] = _minmax_rule("stablehlo.minimum")


def _sign(ctx, eqn, args):
    (x,), (a,) = args, _in_avals(eqn)
    if dtypes.is_unsigned(a.dtype):  # stablehlo.sign is for signed/float/complex only
        nz = _cmp(ctx, x, _full(ctx, 0, a), a, "NE")
        return [ctx.op1("stablehlo.convert", [nz], [_bool_like(a)], a)]
    return ctx.op("stablehlo.sign", args, [a], _out_avals(eqn))


def _abs(ctx, eqn, args):
    (a,) = _in_avals(eqn)
    if dtypes.is_unsigned(a.dtype):
        return [args[0]]
    return ctx.op("stablehlo.abs", args, [a], _out_avals(eqn))


def _bool_or(hlo_name, bool_rule):
    """``hlo_name`` for integers; ``bool_rule(ctx, args, aval)`` for bool (a 1-bit unsigned)."""
    def rule(ctx, eqn, args):
        out = _out_avals(eqn)
        args, in_avals = _broadcast_scalars(ctx, eqn, args, out[0].shape)
        if dtypes.is_bool(in_avals[0].dtype):
            return [bool_rule(ctx, args, in_avals[0])]
        return ctx.op(hlo_name, args, in_avals, out)
    return rule


RULES[ops.unary["sign"]] = _sign
RULES[ops.unary["abs"]] = _abs
RULES[ops.unary["population_count"]] = _bool_or("stablehlo.popcnt", lambda ctx, a, v: a[0])
RULES[ops.unary["clz"]] = _bool_or("stablehlo.count_leading_zeros",
                                   lambda ctx, a, v: _not(ctx, a[0], v))
for _n in ("shift_left", "shift_right_arithmetic", "shift_right_logical"):
    # a 1-bit value shifted by 1 (True) is 0; by 0 it is unchanged
    RULES[ops.binary[_n]] = _bool_or(_BINARY_HLO[_n], lambda ctx, a, v: _bin(
        ctx, "stablehlo.and", a[0], _not(ctx, a[1], v), v))


def _complex(ctx, eqn, args):
    out = _out_avals(eqn)[0]
    args, in_avals = _broadcast_scalars(ctx, eqn, args, out.shape)
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
        return _cmp(ctx, y, _full(ctx, 0, u8), u8, "NE")
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
    (x,), (a,), out = args, _in_avals(eqn), _out_avals(eqn)[0]
    if a.dtype == out.dtype:
        return [x]
    if dtypes.is_complex(a.dtype):
        # StableHLO bitcasts no complex type: view it as (real, imag) pairs in memory order
        re, im, ra = _complex_parts(ctx, x, a)
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


# --- gather / scatter ------------------------------------------------------------------------

def _gather(ctx, eqn, args):
    p = eqn.params
    dn = p["dimension_numbers"]
    _, idx = _in_avals(eqn)
    attrs = (f"dimension_numbers = #stablehlo.gather<"
             f"offset_dims = {dims(dn.offset_dims)}, "
             f"collapsed_slice_dims = {dims(dn.collapsed_slice_dims)}, "
             f"operand_batching_dims = {dims(dn.operand_batching_dims)}, "
             f"start_indices_batching_dims = {dims(dn.start_indices_batching_dims)}, "
             f"start_index_map = {dims(dn.start_index_map)}, "
             f"index_vector_dim = {idx.ndim - 1}>, "
             f"slice_sizes = {i64s(p['slice_sizes'])}, "
             f"indices_are_sorted = {'true' if p.get('indices_are_sorted') else 'false'}")
    return ctx.op("stablehlo.gather", args, _in_avals(eqn), _out_avals(eqn), attrs)


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
        x, idx, _ = _in_avals(eqn)
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
        return ctx.op("stablehlo.scatter", args, _in_avals(eqn), _out_avals(eqn), attrs,
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
        return [_complex_minmax(sub, names[0], names[1], sa, opname)], [sa]
    return ctx.region([sa, sa], body)


def _complex_minmax(ctx, x, y, aval, opname):
    xr, xi, ra = _complex_parts(ctx, x, aval)
    yr, yi, _ = _complex_parts(ctx, y, aval)
    d = "GT" if opname == "stablehlo.maximum" else "LT"
    pick_x = _bin(ctx, "stablehlo.or", _cmp(ctx, xr, yr, ra, d), _bin(
        ctx, "stablehlo.and", _cmp(ctx, xr, yr, ra, "EQ"), _cmp(ctx, xi, yi, ra, d),
        _bool_like(ra)), _bool_like(ra))
    return _select(ctx, pick_x, x, y, aval)


for _n in ops.SCATTER_VARIANTS:
    RULES[ops.scatter[_n]] = _scatter_rule(_n)


# --- argmax / argmin -------------------------------------------------------------------------

def _argminmax_rule(name):
    direction = "GT" if name == "argmax" else "LT"

    def better_and_equal(sub, a, b, sa):
        """(a strictly better than b, a equal to b); NaN is better than everything."""
        sb = _bool_like(sa)
        if dtypes.is_complex(sa.dtype):
            ar, ai, ra = _complex_parts(sub, a, sa)
            br, bi, _ = _complex_parts(sub, b, sa)
            a_nan = _bin(sub, "stablehlo.or", _isnan(sub, ar, ra), _isnan(sub, ai, ra), sb)
            b_nan = _bin(sub, "stablehlo.or", _isnan(sub, br, ra), _isnan(sub, bi, ra), sb)
            re_eq = _cmp(sub, ar, br, ra, "EQ")
            lt = _bin(sub, "stablehlo.or", _cmp(sub, ar, br, ra, direction), _bin(
                sub, "stablehlo.and", re_eq, _cmp(sub, ai, bi, ra, direction), sb), sb)
            eq = _bin(sub, "stablehlo.and", re_eq, _cmp(sub, ai, bi, ra, "EQ"), sb)
        elif dtypes.is_float(sa.dtype):
            a_nan, b_nan = _isnan(sub, a, sa), _isnan(sub, b, sa)
            lt = _cmp(sub, a, b, sa, direction)
            eq = _cmp(sub, a, b, sa, "EQ")
        else:
            return _cmp(sub, a, b, sa, direction), _cmp(sub, a, b, sa, "EQ")
        better = _bin(sub, "stablehlo.or", lt, _bin(
            sub, "stablehlo.and", a_nan, _not(sub, b_nan, sb), sb), sb)
        equal = _bin(sub, "stablehlo.or", eq, _bin(sub, "stablehlo.and", a_nan, b_nan, sb), sb)
        return better, equal

    def rule(ctx, eqn, args):
        (x,), (a,), out = args, _in_avals(eqn), _out_avals(eqn)[0]
        axis = eqn.params["axes"][0]
        idt = np.dtype(eqn.params["index_dtype"])
        ia = ShapedArray(a.shape, idt)
        iota = ctx.op1("stablehlo.iota", [], [], ia, f"iota_dimension = {axis} : i64")
        sa, si = ShapedArray((), a.dtype), ShapedArray((), idt)
        worst = _lowest(a.dtype) if name == "argmax" else _highest(a.dtype)
        init_v, init_i = ctx.constant(worst, sa), ctx.constant(0, si)

        def body(sub, names):
            av, ai, bv, bi = names
            sb = ShapedArray((), dtypes.bool_)
            better, equal = better_and_equal(sub, av, bv, sa)
            first = _cmp(sub, ai, bi, si, "LT")
            pick_a = _bin(sub, "stablehlo.or", better,
                          _bin(sub, "stablehlo.and", equal, first, sb), sb)
            return [_select(sub, pick_a, av, bv, sa), _select(sub, pick_a, ai, bi, si)], [sa, si]

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
        (a,), out = _in_avals(eqn), _out_avals(eqn)[0]
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
    return ctx.op("stablehlo.convolution", args, _in_avals(eqn), _out_avals(eqn), attrs)


RULES[ops.conv_general_dilated] = _conv


# --- sort -------------------------------------------------------------------------------------

def _float_sort_key(ctx, x, aval):
    """-0.0 -> 0.0 and every NaN -> +NaN, so TOTALORDER puts NaNs last and 0s together."""
    zero = ctx.constant(0, aval)
    x = _select(ctx, _cmp(ctx, x, zero, aval, "EQ", "FLOAT"), zero, x, aval)
    nan = ctx.constant(np.nan, aval)
    return _select(ctx, _isnan(ctx, x, aval), nan, x, aval)


def _sort_lt_eq(ctx, a, b, aval):
    """(a < b, a == b) for scalars under a total order matching NumPy's sort."""
    if dtypes.is_complex(aval.dtype):
        ar, ai, ra = _complex_parts(ctx, a, aval)
        br, bi, _ = _complex_parts(ctx, b, aval)
        lt_r, eq_r = _sort_lt_eq(ctx, ar, br, ra)
        lt_i, eq_i = _sort_lt_eq(ctx, ai, bi, ra)
        sb = _bool_like(ra)
        return (_bin(ctx, "stablehlo.or", lt_r, _bin(ctx, "stablehlo.and", eq_r, lt_i, sb), sb),
                _bin(ctx, "stablehlo.and", eq_r, eq_i, sb))
    if dtypes.is_float(aval.dtype):
        a, b = _float_sort_key(ctx, a, aval), _float_sort_key(ctx, b, aval)
        return (_cmp(ctx, a, b, aval, "LT", "TOTALORDER"),
                _cmp(ctx, a, b, aval, "EQ", "TOTALORDER"))
    return _cmp(ctx, a, b, aval, "LT"), _cmp(ctx, a, b, aval, "EQ")


def _sort(ctx, eqn, args):
    p = eqn.params
    in_avals = _in_avals(eqn)
    scalars = [ShapedArray((), a.dtype) for a in in_avals]
    num_keys = int(p["num_keys"])

    def body(sub, names):
        sb = ShapedArray((), dtypes.bool_)
        result = None
        for k in reversed(range(num_keys)):  # lexicographic over the keys
            lt, eq = _sort_lt_eq(sub, names[2 * k], names[2 * k + 1], scalars[k])
            if result is not None:
                lt = _bin(sub, "stablehlo.or", lt, _bin(sub, "stablehlo.and", eq, result, sb), sb)
            result = lt
        return [result], [sb]

    region_args = [s for s in scalars for _ in range(2)]
    region = ctx.region(region_args, body)
    return ctx.op("stablehlo.sort", args, in_avals, _out_avals(eqn),
                  f"dimension = {int(p['dimension'])} : i64, "
                  f"is_stable = {'true' if p.get('is_stable') else 'false'}", [region])


RULES[ops.sort] = _sort


# === control flow: cond / while / scan (primitives/control.py) ===========================
# Sub-jaxprs carry no consts (closed-over values are operands of the equation), so a
# region is the sub-jaxpr lowered inline with ``lower_jaxpr_body``.  ``case`` branches
# take no block arguments: they read the operands from the enclosing scope.  ``while``
# regions take every loop-carried value (consts included, as JAX does) as arguments.
from primitives import control as _control  # noqa: E402

_I32 = ShapedArray((), np.dtype("int32"))
_I1 = ShapedArray((), np.dtype("bool"))


def _cf_block(ctx, body) -> str:
    """An argument-less region ``{ ...; stablehlo.return }``; ``body(sub) -> (names, avals)``."""
    sub = Ctx(ctx.counter)
    sub.indent = ctx.indent + "    "
    outs, out_avals = body(sub)
    sub.lines.append(f'{sub.indent}"stablehlo.return"({", ".join(outs)}) : '
                     f'({", ".join(ttype(a) for a in out_avals)}) -> ()')
    return "{\n" + "\n".join(sub.lines) + f"\n{ctx.indent}}}"


def _cf_i32(ctx, v) -> str:
    return ctx.constant(int(v), _I32)


def _cond_lower(ctx, eqn, args):
    branches = eqn.params["branches"]
    idx, ops_ = args[0], args[1:]
    idx_aval = eqn.invars[0].aval
    out_avals = _out_avals(eqn)
    if len(branches) == 1:
        return lower_jaxpr_body(ctx, branches[0].jaxpr, [], ops_)
    lo, hi = _cf_i32(ctx, 0), _cf_i32(ctx, len(branches) - 1)
    idx = ctx.op1("stablehlo.clamp", [lo, idx, hi], [_I32, idx_aval, _I32], _I32)

    def branch(b):
        return lambda sub: (lower_jaxpr_body(sub, b.jaxpr, [], ops_), out_avals)
    regions = [_cf_block(ctx, branch(b)) for b in branches]
    return ctx.op("stablehlo.case", [idx], [_I32], out_avals, regions=regions)


RULES[_control.cond] = _cond_lower


def _while_lower(ctx, eqn, args):
    p = eqn.params
    cj, bj = p["cond_jaxpr"].jaxpr, p["body_jaxpr"].jaxpr
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    max_steps = p.get("max_steps")
    avals = _in_avals(eqn)
    k = 0 if max_steps is None else 1   # an i32 step counter first when bounded
    st_avals = [_I32] * k + avals

    def cond_region(sub, names):
        return lower_jaxpr_body(sub, cj, [], names[:nc] + names[nc + nb:]), [_I1]

    def cond_region_bounded(sub, names):
        step, rest = names[0], names[1:]
        pred = lower_jaxpr_body(sub, cj, [], rest[:nc] + rest[nc + nb:])[0]
        more = _cmp(sub, step, _cf_i32(sub, max_steps), _I32, "LT")
        return [sub.op1("stablehlo.and", [pred, more], [_I1, _I1], _I1)], [_I1]

    def body_region(sub, names):
        step, rest = names[:k], names[k:]
        new = lower_jaxpr_body(sub, bj, [], rest[nc:])
        if k:
            step = [sub.op1("stablehlo.add", [step[0], _cf_i32(sub, 1)], [_I32, _I32], _I32)]
        return step + rest[:nc + nb] + new, st_avals

    init = ([_cf_i32(ctx, 0)] if k else []) + list(args)
    cregion = ctx.region(st_avals, cond_region_bounded if k else cond_region)
    outs = ctx.op("stablehlo.while", init, st_avals, st_avals,
                  regions=[cregion, ctx.region(st_avals, body_region)])
    return outs[k + nc + nb:]


RULES[_control.while_] = _while_lower


def _scan_lower(ctx, eqn, args):
    p = eqn.params
    body, length, reverse = p["jaxpr"].jaxpr, p["length"], p["reverse"]
    nconsts, ncarry = p["num_consts"], p["num_carry"]
    in_avals, out_avals = _in_avals(eqn), _out_avals(eqn)
    consts, init, xs = args[:nconsts], args[nconsts:nconsts + ncarry], args[nconsts + ncarry:]
    c_avals = in_avals[nconsts:nconsts + ncarry]
    xs_avals = in_avals[nconsts + ncarry:]
    ys_avals = out_avals[ncarry:]
    c_avals = [ShapedArray(a.shape, a.dtype) for a in c_avals]
    if length == 0:  # no step runs: the carry passes through, ys are empty
        return list(init) + [_full(ctx, 0, a) for a in ys_avals]
    unroll = max(1, min(int(p["unroll"]), length))

    def step(sub, i, consts, carry, xs, ys):
        """One step at loop position ``i`` (an i32 SSA name)."""
        if reverse:
            i = sub.op1("stablehlo.subtract", [_cf_i32(sub, length - 1), i], [_I32, _I32], _I32)
        xsl = []
        for x, a in zip(xs, xs_avals):
            zeros = [_cf_i32(sub, 0)] * (a.ndim - 1)
            one = ShapedArray((1,) + a.shape[1:], a.dtype)
            s = sub.op1("stablehlo.dynamic_slice", [x, i] + zeros, [a] + [_I32] * a.ndim, one,
                        f"slice_sizes = {i64s(one.shape)}")
            xsl.append(sub.op1("stablehlo.reshape", [s], [one],
                               ShapedArray(a.shape[1:], a.dtype)))
        outs = lower_jaxpr_body(sub, body, [], list(consts) + list(carry) + xsl)
        new_ys = []
        for y, acc, a in zip(outs[ncarry:], ys, ys_avals):
            one = ShapedArray((1,) + a.shape[1:], a.dtype)
            y1 = sub.op1("stablehlo.reshape", [y], [ShapedArray(a.shape[1:], a.dtype)], one)
            zeros = [_cf_i32(sub, 0)] * (a.ndim - 1)
            new_ys.append(sub.op1("stablehlo.dynamic_update_slice", [acc, y1, i] + zeros,
                                  [a, one] + [_I32] * a.ndim, a))
        return outs[:ncarry], new_ys

    # a broadcast zero, not a dense constant: XLA would build (and copy) the whole literal
    ys0 = [_full(ctx, 0, a) for a in ys_avals]
    n_iter, rem = divmod(length, unroll)
    carry, ys = list(init), ys0
    if n_iter:
        # loop state: counter, consts, carry, ys, xs
        st_avals = [_I32] + in_avals[:nconsts] + c_avals + ys_avals + xs_avals
        nc_, nk, ny = nconsts, ncarry, len(ys_avals)

        def split(names):
            i = names[0]
            cs = names[1:1 + nc_]
            ca = names[1 + nc_:1 + nc_ + nk]
            y = names[1 + nc_ + nk:1 + nc_ + nk + ny]
            x = names[1 + nc_ + nk + ny:]
            return i, cs, ca, y, x

        def cond_region(sub, names):
            lim = _cf_i32(sub, n_iter * unroll)
            return [_cmp(sub, names[0], lim, _I32, "LT")], [_I1]

        def body_region(sub, names):
            i, cs, ca, y, x = split(names)
            for k in range(unroll):
                ik = i if k == 0 else sub.op1("stablehlo.add", [i, _cf_i32(sub, k)],
                                              [_I32, _I32], _I32)
                ca, y = step(sub, ik, cs, ca, x, y)
            nxt = sub.op1("stablehlo.add", [i, _cf_i32(sub, unroll)], [_I32, _I32], _I32)
            return [nxt] + list(cs) + list(ca) + list(y) + list(x), st_avals

        outs = ctx.op("stablehlo.while", [_cf_i32(ctx, 0)] + list(consts) + carry + ys + list(xs),
                      st_avals, st_avals,
                      regions=[ctx.region(st_avals, cond_region),
                               ctx.region(st_avals, body_region)])
        _, _, carry, ys, _ = split(outs)
        carry, ys = list(carry), list(ys)
    for k in range(rem):  # the steps left over when unroll does not divide length
        carry, ys = step(ctx, _cf_i32(ctx, n_iter * unroll + k), consts, carry, xs, ys)
    return list(carry) + list(ys)


RULES[_control.scan] = _scan_lower
# === end control flow ======================================================================


# --- custom derivative calls (owned by the AD work: xform/ad.py) ------------------------------
# custom_jvp_call / custom_vjp_call inline their primal sub-jaxpr; custom_vjp_lin only
# exists between the JVP rewrite and transposition and is never lowered.
from primitives import custom as _custom  # noqa: E402


def _inline_call(ctx, eqn, args):
    return lower_jaxpr_body(ctx, eqn.params["call_jaxpr"].jaxpr, [], args)


RULES[_custom.custom_jvp_call] = _inline_call
RULES[_custom.custom_vjp_call] = _inline_call


def _custom_vjp_lin(ctx, eqn, args):
    raise NotImplementedError(
        f"the linearized custom_vjp function {eqn.params['name']} cannot be evaluated in "
        f"forward mode; give it a forward rule with defjvp")


RULES[_custom.custom_vjp_lin] = _custom_vjp_lin



# --- checkpoint / remat (primitives/remat.py) ---------------------------------------------------
# The body is inlined.  The copy that recomputes during the backward pass (differentiated) first
# passes its operands through an optimization barrier when prevent_cse is set: XLA then cannot
# see that the recomputation repeats the forward pass and merge the two (which would keep the
# forward values alive, undoing the checkpoint).  ``name`` is the identity.
from primitives import remat as _remat  # noqa: E402


def _checkpoint_lower(ctx, eqn, args):
    p = eqn.params
    args = list(args)
    if p["differentiated"] and p["prevent_cse"] and args:
        avals = _in_avals(eqn)
        args = ctx.op("stablehlo.optimization_barrier", args, avals, avals)
    return lower_jaxpr_body(ctx, p["jaxpr"].jaxpr, [], args)


RULES[_remat.checkpoint] = _checkpoint_lower
RULES[_remat.name] = lambda ctx, eqn, args: [args[0]]

# --- linalg (primitives/linalg.py): LAPACK / cuSOLVER custom calls, in lowering/linalg.py ------
from . import linalg as _linalg_rules  # noqa: E402,F401  registers its RULES

# === fft (primitives/fft.py) =================================================================
from primitives import fft as _fft  # noqa: E402


def _fft_lower(ctx, eqn, args):
    p = eqn.params
    attrs = (f"fft_type = #stablehlo<fft_type {p['fft_type']}>, "
             f"fft_length = {i64s(p['fft_lengths'])}")
    return ctx.op("stablehlo.fft", args, _in_avals(eqn), _out_avals(eqn), attrs)


RULES[_fft.fft] = _fft_lower
# === end fft ===================================================================================
