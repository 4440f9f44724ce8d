"""The differential fuzzer's op table: one function per kind of step, grouped by family.

Each op takes the generator `g` (`fuzz_gen.Gen`: the values so far, new inputs, random
choices, what the transform stack needs) and returns the source of one expression over
`np`, `lax`, `random`, `nn` and `m` (the library: `xform` or `jax`), or `(expr, True)` for
a PRNG key, or None when it cannot apply.  Expressions only need to be plausible: the
generator types each one with JAX and draws another op if JAX rejects it.

Domains are respected (logs of positive values, divisions away from zero), and programs
stay reverse-differentiable where the stack needs it: `while_loop` and `fori_loop` with
traced bounds are drawn only for stacks without reverse mode, `custom_vjp` only for stacks
without forward mode (JAX rejects both, as documented).
"""

F32, I32, BOOL, U32 = "float32", "int32", "bool", "uint32"

# Known xform bugs the generator steers around until they are fixed: name -> (what, where
# the generator avoids it).  Empty: every bug the fuzzer found so far is fixed, each with a
# test in test_regressions.py.
KNOWN_GAPS: dict = {
}

# What the generator does not draw because JAX leaves it undefined or refuses it, or xform
# differs on purpose (docs/differences.md): name -> (what, where it is avoided).
UNDEFINED = {
    "oob-reverse": ("reverse mode through out-of-bounds gather/scatter indices in the "
                    "default mode: JAX's gather clamps and its transpose drops (JAX's sharp "
                    "bits call it undefined)", "_ix: wrapped indices under reverse mode"),
    "static-oob": ("a static out-of-bounds integer index: JAX clamps, xform raises "
                   "IndexError on purpose (docs/differences.md)", "Gen.int_scalar(n)"),
    "set-duplicates": ("`.at[idx].set` with repeated indices: which update wins is "
                       "unspecified", "scatter: `set` only with unique or scalar indices"),
    "while-reverse": ("reverse mode through `while_loop` (and `fori_loop` with traced "
                      "bounds): JAX refuses it", "OPS['while_loop'] needs 'fwd'; fori"),
    "custom_vjp-forward": ("forward mode through a `custom_vjp` function: JAX refuses it "
                           "(xform accepts it given a JVP, docs/differences.md)", "custom"),
    "minmax-clip-oob": ("the derivative of `.at[i].min/max(u, mode='clip')` with i out of "
                        "bounds: JAX's rule gathers i unclipped (NaN fill) and scatters it "
                        "clipped, giving NaN", "scatter: wrapped indices then"),
    "nan-derivatives": ("derivatives where the program holds NaN (`take`'s default fill): "
                        "JAX's own jit and eager results differ there (0 against NaN)",
                        "gather: `take(..., fill_value=-1.0)` under differentiation"),
    "pmax-ad": ("differentiating `pmax`/`pmin`: JAX has no rule", "collective"),
}

# Elementwise float functions, domain-safe, as templates over one operand `{0}`.
UNARY = [
    "np.sin({0})", "np.cos({0})", "np.tanh({0})", "np.arctan({0})", "np.exp(-{0} * {0})",
    "np.exp(np.tanh({0}))", "np.log1p({0} * {0})", "np.log(np.abs({0}) + 0.5)",
    "np.sqrt({0} * {0} + 1.0)", "lax.rsqrt({0} * {0} + 0.5)", "{0} ** 2", "{0} ** 3",
    "np.square({0})", "-{0}", "np.abs({0})", "lax.logistic({0})", "nn.relu({0})",
    "nn.softplus({0})", "nn.gelu({0})", "nn.silu({0})", "lax.erf({0})", "np.arcsinh({0})",
    "1.0 / (1.0 + {0} * {0})", "np.floor({0})", "np.round({0})", "np.ceil({0})",
    "np.clip({0}, -1.0, 1.0)", "np.sign({0}) * {0}", "np.expm1(np.tanh({0}))",
    "np.sinh(np.tanh({0}))", "np.cosh(np.tanh({0}))", "np.cbrt({0} * {0} + 1.0)",
    "lax.integer_pow({0}, 3)", "np.power({0}, 2)", "lax.stop_gradient({0}) * {0}",
    "np.arcsin(0.9 * np.tanh({0}))", "np.arccos(0.9 * np.tanh({0}))",
    "np.tan(0.5 * np.tanh({0}))", "np.exp2(np.tanh({0}))", "np.log2({0} * {0} + 1.0)",
    "lax.erf_inv(0.9 * np.tanh({0}))", "lax.lgamma(np.abs({0}) + 0.5)",
    "lax.digamma(np.abs({0}) + 0.5)", "np.arctanh(0.9 * np.tanh({0}))",
    "np.arccosh(np.abs({0}) + 1.5)", "lax.erfc({0})", "np.log10(np.abs({0}) + 0.5)",
    "np.abs(lax.complex({0}, 0.5 * {0} + 1.0))", "np.imag(np.exp(lax.complex(0.0 * {0}, {0})))",
    "cj({0})", "np.sinc({0})", "np.deg2rad({0})", "np.maximum({0}, 0.1 * {0})",
]

# Elementwise float functions of two operands `{0}`, `{1}` that broadcast.
BINARY = [
    "{0} + {1}", "{0} - {1}", "{0} * {1}", "{0} / (1.0 + {1} * {1})", "np.maximum({0}, {1})",
    "np.minimum({0}, {1})", "np.arctan2({0}, {1})", "np.where({0} > {1}, {0}, {1} * 0.5)",
    "np.power(np.abs({0}) + 0.5, np.tanh({1}))", "lax.rem({0}, np.abs({1}) + 1.0)",
    "np.logaddexp({0}, {1})", "lax.select({0} < {1}, {0}, {1})", "np.hypot({0}, {1} + 3.0)",
    "{0} * np.cos({1})", "np.fmax({0}, {1})", "np.copysign({0}, {1})",
]

INT_UNARY = ["-{0}", "np.abs({0})", "{0} % 3", "{0} // 2", "{0} >> 1", "{0} & 3",
             "np.sign({0})", "np.clip({0}, -2, 2)", "lax.population_count({0})",
             "lax.clz({0})", "np.square({0})", "~{0}"]
INT_BINARY = ["{0} + {1}", "{0} - {1}", "{0} * {1}", "np.maximum({0}, {1})",
              "np.minimum({0}, {1})", "{0} ^ {1}", "{0} | {1}",
              "{0} // ({1} * {1} + 1)", "lax.rem({0}, {1} * {1} + 1)", "{0} << ({1} & 3)"]


def _t(xs):
    """A tuple literal: (2,) for one element."""
    return "(" + "".join(f"{x}, " for x in xs) + ")" if len(xs) == 1 else \
        "(" + ", ".join(str(x) for x in xs) + ")"


def _axis(g, a):
    return g.int(-a.ndim, a.ndim - 1)


# --- elementwise --------------------------------------------------------------------------

def unary(g):
    a = g.arr(F32, new=0.3)
    return g.unary(a.name) if a else None


def binary(g):
    a = g.arr(F32)
    if a is None:
        return None
    b = g.partner(a)
    x, y = (a.name, b) if g.coin(0.7) else (b, a.name)
    return g.choice(BINARY).format(x, y)


def integer(g):
    i = g.arr(I32, new=0.5)
    if i is None:
        return None
    if g.coin(0.4):
        return g.choice(INT_UNARY).format(i.name)
    r = g.rng.random()
    j = (g.arr(I32, shape=i.shape, new=0.3) if r < 0.6 else None)
    other = j.name if j is not None else str(g.int(-2, 4))
    return g.choice(INT_BINARY).format(i.name, other)


def convert(g):
    r = g.rng.random()
    if r < 0.45:
        a = g.arr(F32)
        return a and g.choice([
            f"np.floor({a.name} * 2.0).astype(np.int32)", f"np.round({a.name}).astype(np.int32)",
            f"lax.convert_element_type({a.name}, np.int32)",
            f"lax.bitcast_convert_type({a.name}, np.int32) % 7",
            f"({a.name} * 3.0).astype(np.int32)"])
    i = g.arr(I32)
    return i and g.choice([
        f"{i.name}.astype(np.float32)", f"{i.name} * 0.5", f"lax.convert_element_type({i.name}, "
        "np.float32)", f"np.float32({i.name}) + 1.0", f"{i.name} / 2",
        f"np.sqrt(np.abs({i.name}) + 1.0)"])


def compare_select(g):
    a = g.arr(F32)
    if a is None:
        return None
    bools = g.find(BOOL, lambda v: v.shape == a.shape)
    r = g.rng.random()
    if r < 0.3 or not bools:
        b = g.partner(a)
        return g.choice([f"{a.name} > {b}", f"{a.name} <= {b}", f"np.isfinite({a.name})",
                         f"{a.name} == np.round({a.name})", f"np.logical_and({a.name} > 0.0, "
                         f"{a.name} < 1.0)", f"({a.name} != {b})"])
    p = g.choice(bools).name
    c = g.partner(a)
    return g.choice([f"np.where({p}, {a.name}, {c})", f"np.where({p}, {c}, {a.name})",
                     f"lax.select({p}, {a.name}, {a.name} * 2.0)",
                     f"lax.select_n({p}, {a.name}, np.sin({a.name}))",
                     f"np.where(~{p}, {a.name}, 0.0)", f"{p}.astype(np.float32) * {a.name}",
                     f"np.logical_or({p}, {a.name} > 0.5)"])


def iota(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    n, d = a.shape[-1], g.int(0, a.ndim - 1)
    return g.choice([f"{a.name} * np.arange({n}, dtype=np.float32)",
                     f"{a.name} + lax.broadcasted_iota(np.float32, {_t(a.shape)}, {d})",
                     f"np.arange({n}) + np.sum({a.name} > 0.0)",
                     f"{a.name} * np.linspace(0.0, 1.0, {n})",
                     f"{a.name} @ np.eye({n}, dtype=np.float32)"])


# --- reductions, sorting, windows ---------------------------------------------------------

def reduce(g):
    if g.coin(0.2):
        i = g.arr(I32, pred=lambda v: v.ndim >= 1, lo=1)
        return i and f"{g.choice(['np.sum', 'np.max', 'np.min', 'np.prod'])}({i.name}, " \
            f"axis={_axis(g, i)})"
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    r = g.rng.random()
    if r < 0.5:
        axis = f"axis={_axis(g, a)}"
    elif r < 0.7 and a.ndim >= 2:
        axis = f"axis={_t(sorted(set([0, a.ndim - 1])))}"
    else:
        axis = "axis=None"
    kd = ", keepdims=True" if g.coin(0.25) else ""
    fn = g.choice(["np.sum", "np.mean", "np.max", "np.min", "np.prod", "np.var",
                   "nn.logsumexp", "np.argmax", "np.argmin", "np.std", "np.amax"])
    if fn == "np.std":
        return f"np.sqrt(np.var({a.name}, {axis}{kd}) + 0.5)"
    if fn in ("np.argmax", "np.argmin") and "(" in axis:
        axis = "axis=-1"
    if g.coin(0.1):
        return f"np.any({a.name} > 0.5, {axis}{kd})"
    return f"{fn}({a.name}, {axis}{kd})"


def sort_cum(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    k = _axis(g, a)
    r = g.rng.random()
    if r < 0.2:
        b = g.arr(F32, shape=a.shape, new=0.2)
        return f"np.take_along_axis({a.name}, np.argsort({b.name}, axis={k}), axis={k})"
    return g.choice([f"np.sort({a.name}, axis={k})", f"np.argsort({a.name}, axis={k})",
                     f"np.cumsum({a.name}, axis={k})", f"np.cumprod(np.tanh({a.name}), axis={k})",
                     f"nn.softmax({a.name}, axis={k})", f"np.sort({a.name}, axis={k})[..., ::-1]",
                     f"np.flip(np.cumsum(np.flip({a.name}, {k}), axis={k}), {k})",
                     f"lax.sort({a.name}, dimension={k % a.ndim})",
                     f"np.median({a.name}, axis={k})"])


def window(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1 and max(v.shape) >= 2, lo=1)
    if a is None:
        return None
    dims = _t([g.int(1, min(2, d)) for d in a.shape])
    strides = _t([g.int(1, 2) for _ in a.shape])
    init, comp = g.choice([("0.0", "lax.add"), ("-np.inf", "lax.max"), ("np.inf", "lax.min")])
    pad = g.choice(["'VALID'", "'SAME'"])
    extra = f", window_dilation={_t([g.int(1, 2) for _ in a.shape])}" if g.coin(0.2) else ""
    return f"lax.reduce_window({a.name}, {init}, {comp}, {dims}, {strides}, {pad}{extra})"


# --- shapes -------------------------------------------------------------------------------

def _reshape_to(g, shape):
    n = 1
    for d in shape:
        n *= d
    factors = [p for p in (2, 3, 5, 7) for _ in range(8) if n % (p ** (_ + 1)) == 0]
    dims = []
    for p in factors:
        if dims and g.coin(0.5):
            dims[g.int(0, len(dims) - 1)] *= p
        else:
            dims.append(p)
    if g.coin(0.3):
        dims.insert(g.int(0, len(dims)), 1)
    return tuple(dims)


def reshape(g):
    a = g.arr(g.choice([F32, F32, I32]), new=0.2)
    if a is None:
        return None
    s = _reshape_to(g, a.shape)
    ones = [i for i, d in enumerate(a.shape) if d == 1]
    opts = [f"np.reshape({a.name}, {_t(s)})", f"{a.name}.ravel()",
            f"np.expand_dims({a.name}, {g.int(-a.ndim - 1, a.ndim)})", f"{a.name}[None]",
            f"{a.name}.reshape(-1)", f"lax.reshape({a.name}, {_t(s)})"]
    if ones:
        opts.append(f"np.squeeze({a.name}, axis={g.choice(ones)})")
    return g.choice(opts)


def transpose(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 2, lo=2)
    if a is None:
        return None
    perm = [int(p) for p in g.rng.permutation(a.ndim)]
    return g.choice([f"np.transpose({a.name}, {_t(perm)})", f"{a.name}.T",
                     f"np.swapaxes({a.name}, 0, -1)", f"np.moveaxis({a.name}, 0, -1)",
                     f"lax.transpose({a.name}, {_t(perm)})"])


def broadcast(g):
    a = g.arr(F32, new=0.2, hi=2)
    if a is None:
        return None
    k = g.int(1, 3)
    out = (k,) + tuple(d if d != 1 or g.coin(0.5) else g.int(2, 3) for d in a.shape)
    dims = tuple(range(1, a.ndim + 1))
    return g.choice([f"np.broadcast_to({a.name}, {_t(out)})",
                     f"lax.broadcast_in_dim({a.name}, {_t(out)}, {_t(dims)})",
                     f"lax.broadcast({a.name}, ({k},))",
                     f"np.tile({a.name}, {_t([g.int(1, 2) for _ in range(max(a.ndim, 1))])})",
                     f"np.repeat({a.name}, 2, axis={g.int(0, max(a.ndim, 1) - 1)})"
                     if a.ndim else f"np.repeat({a.name}, 2)"])


def concatenate(g):
    a = g.arr(g.choice([F32, F32, I32]), pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    if g.coin(0.3):
        b = g.arr(a.dtype, shape=a.shape)
        return b and f"np.stack([{a.name}, {b.name}], axis={g.int(0, a.ndim)})"
    k = g.int(0, a.ndim - 1)
    bs = a.shape[:k] + (g.int(1, 3),) + a.shape[k + 1:]
    b = g.arr(a.dtype, shape=bs)
    if b is None:
        return None
    return g.choice([f"np.concatenate([{a.name}, {b.name}], axis={k})",
                     f"lax.concatenate([{b.name}, {a.name}, {b.name}], {k})",
                     f"np.concatenate([{a.name}, {b.name}, {a.name}], axis={k - a.ndim})"])


def rev_pad(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    k = _axis(g, a)
    widths = _t([_t([g.int(0, 2), g.int(0, 1)]) for _ in a.shape])
    cfg = [_t([g.int(-1 if d >= 3 else 0, 1), g.int(0, 1), g.int(0, 1)]) for d in a.shape]
    return g.choice([f"np.flip({a.name}, axis={k})", f"{a.name}[::-1]",
                     f"np.roll({a.name}, {g.int(-2, 2)}, axis={k})",
                     f"lax.rev({a.name}, ({k % a.ndim},))", f"np.pad({a.name}, {widths})",
                     f"np.pad({a.name}, {widths}, mode='edge')",
                     f"np.pad({a.name}, {widths}, mode='reflect')",
                     f"lax.pad({a.name}, 0.5, {_t(cfg)})"])


# --- indexing, gather, scatter ------------------------------------------------------------

def _slice(g, d):
    r = g.rng.random()
    if r < 0.25:
        return ":"
    if r < 0.45:
        return str(g.int(-d, d - 1))
    if r < 0.6:
        return "::-1"
    if r < 0.8:
        lo = g.int(0, d - 1)
        return f"{lo}:{g.int(lo + 1, d)}"
    return f"{g.int(0, d - 1)}::2"


def static_index(g):
    a = g.arr(g.choice([F32, F32, I32]), pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    k = g.int(1, a.ndim)
    if g.coin(0.2):   # the last k axes, after an ellipsis
        idx = ["..."] + [_slice(g, d) for d in a.shape[a.ndim - k:]]
    else:
        idx = [_slice(g, d) for d in a.shape[:k]]
    if g.coin(0.2):
        idx.insert(g.int(0, len(idx)), "None")
    return f"{a.name}[{', '.join(idx)}]"


def _int_array(g, hi=2):
    i = g.arr(I32, pred=lambda v: 1 <= v.ndim <= hi, lo=1, hi=hi, new=0.4)
    return i


def dynamic_index(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    n = a.shape[0]
    i = g.int_scalar(n)
    sizes = _t([g.int(1, d) for d in a.shape])
    starts = _t([i] + ["0"] * (a.ndim - 1))
    k = g.int(0, a.ndim - 1)
    return g.choice([f"{a.name}[{i}]", f"{a.name}[{i} % {n}]",
                     f"lax.dynamic_slice({a.name}, {starts}, {sizes})",
                     f"lax.dynamic_slice_in_dim({a.name}, {i}, {g.int(1, a.shape[k])}, {k})",
                     f"lax.dynamic_index_in_dim({a.name}, {i}, {k}, keepdims=False)",
                     f"{a.name}[..., {g.int_scalar(a.shape[-1])}]",
                     f"{a.name}.at[{i}].get(mode='clip')"])


def dynamic_update(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    i = g.int_scalar()
    us = tuple(g.int(1, d) for d in a.shape)
    u = g.arr(F32, shape=us, new=0.4)
    if u is None:
        return None
    starts = _t([i] + [str(g.int(0, d - 1)) for d in a.shape[1:]])
    return g.choice([f"lax.dynamic_update_slice({a.name}, {u.name}, {starts})",
                     f"lax.dynamic_update_slice_in_dim({a.name}, {u.name}, {i}, 0)"])


def _ix(g, name, n):
    """An index expression from int array `name` for an axis of length `n`: wrapped into
    range, or raw (negative and out-of-bounds entries) where JAX defines the result
    (`UNDEFINED["oob-reverse"]`)."""
    return f"{name} % {n}" if g.reverse or g.coin(0.5) else name


def gather(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    idx = _int_array(g)
    if a is None or idx is None:
        return None
    n, i = a.shape[0], idx.name
    fill = ", fill_value=-1.0" if g.diff else ""   # UNDEFINED["nan-derivatives"]
    opts = [f"{a.name}[{_ix(g, i, n)}]", f"np.take({a.name}, {i}, axis=0{fill})",
            f"np.take({a.name}, {_ix(g, i, n)}, axis=0, mode='clip')",
            f"{a.name}.at[{i}].get(mode='clip')",
            f"{a.name}.at[{i}].get(mode='fill', fill_value=-1.0)",
            f"{a.name}[np.array({[int(x) for x in g.rng.integers(-n, n, 3)]})]"]
    if a.ndim >= 2:
        m = a.shape[1]
        opts += [f"{a.name}[:, {_ix(g, i, m)}]", f"{a.name}[{i} % {n}, ({i} + 1) % {m}]",
                 f"{a.name}[1:, {_ix(g, i, m)}]", f"np.take({a.name}, {i}, axis=1{fill})",
                 f"{a.name}[{_ix(g, i, n)}, :, None]"]
    return g.choice(opts)


def scatter(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    n = a.shape[0]
    r = g.rng.random()
    mode = g.choice(["", "", ", mode='drop'", ", mode='clip'", ", mode='promise_in_bounds'"])
    if r < 0.5:   # an index array: duplicates, so no `set` (which update wins is undefined)
        idx = _int_array(g)
        if idx is None:
            return None
        op = g.choice(["add", "add", "mul", "min", "max"])
        ix = idx.name if mode == ", mode='drop'" else _ix(g, idx.name, n)
        if mode == ", mode='clip'":
            wrap = g.diff and op in ("min", "max")     # UNDEFINED["minmax-clip-oob"]
            ix = f"{idx.name} % {n}" if wrap else idx.name
        ushape = idx.shape + a.shape[1:]
    elif r < 0.75:
        k = g.int(1, n)
        vals = sorted(int(x) for x in g.rng.permutation(n)[:k])
        ix, ushape = f"np.array({vals})", (k,) + a.shape[1:]
        op = g.choice(["set", "add", "mul", "min", "max"])
    else:
        i = g.int_scalar(n)
        op = g.choice(["set", "add", "max"])
        ix = i if mode == ", mode='drop'" else _ix(g, i, n)
        if mode == ", mode='clip'":
            ix = f"{i} % {n}" if g.diff and op == "max" else i
        ushape = a.shape[1:]
    if "%" not in ix and mode == ", mode='promise_in_bounds'":
        mode = ""
    u = g.arr(F32, shape=ushape, new=0.4) if g.coin(0.8) else None
    uname = u.name if u is not None else g.choice(["0.5", "-1.0", "2.0"])
    return f"{a.name}.at[{ix}].{op}({uname}{mode})"


# --- contractions -------------------------------------------------------------------------

def dot(g):
    dt = F32 if g.coin(0.9) else I32
    a = g.arr(dt, pred=lambda v: 1 <= v.ndim <= 3, lo=1)
    if a is None:
        return None
    k = a.shape[-1]
    r = g.rng.random()
    if a.ndim == 3 and r < 0.3:
        b = g.arr(dt, shape=(a.shape[0], k, g.int(1, 3)))
        return b and g.choice([
            f"lax.dot_general({a.name}, {b.name}, (((2,), (1,)), ((0,), (0,))))",
            f"np.einsum('bij,bjk->bik', {a.name}, {b.name})", f"{a.name} @ {b.name}"])
    if r < 0.55:
        b = g.arr(dt, shape=(k, g.int(1, 4)) if g.coin(0.7) else (k,))
        return b and g.choice([f"{a.name} @ {b.name}", f"np.matmul({a.name}, {b.name})",
                               f"np.dot({a.name}, {b.name})",
                               f"np.tensordot({a.name}, {b.name}, axes=1)",
                               f"lax.dot_general({a.name}, {b.name}, "
                               f"((({a.ndim - 1},), (0,)), ((), ())))",
                               f"lax.dot({a.name}, {b.name}, preferred_element_type=np.{dt})"
                               if a.ndim <= 2 else f"{a.name} @ {b.name}"])
    if r < 0.75:
        b = g.arr(dt, shape=a.shape)
        return b and g.choice([f"np.vdot({a.name}, {b.name})",
                               f"np.inner({a.name}, {b.name})",
                               f"np.einsum('...i,...i->...', {a.name}, {b.name})"])
    b = g.arr(dt, pred=lambda v: 1 <= v.ndim <= 2, lo=1, hi=2)
    return b and g.choice([f"np.outer({a.name}, {b.name})",
                           f"np.einsum('...i,j->...ij', {a.name}, {b.name}.ravel())"])


def conv(g):
    layout = g.choice(["NCHW", "NHWC", "NCH"])
    nsp = len(layout) - 2
    n, c = g.int(1, 2), g.int(1, 2)
    sp = tuple(g.int(3, 5) for _ in range(nsp))
    groups = g.choice([1, c])
    o = groups * g.int(1, 2)
    ks = tuple(g.int(1, 3) for _ in range(nsp))
    if layout == "NHWC":
        ls, rs, dn = (n,) + sp + (c,), ks + (c // groups, o), ("NHWC", "HWIO", "NHWC")
    else:
        ls, rs = (n, c) + sp, (o, c // groups) + ks
        dn = (layout, "OI" + layout[2:], layout)
    lhs = g.arr(F32, shape=ls, new=0.7)
    if lhs is None:
        return None
    if g.coin(0.25):  # conv_transpose: rhs I is the lhs feature dim
        rs = ks + (c, o) if layout == "NHWC" else (o, c) + ks
        rhs = g.arr(F32, shape=rs, new=0.8)
        return rhs and (f"lax.conv_transpose({lhs.name}, {rhs.name}, "
                        f"{_t([g.int(1, 2) for _ in ks])}, {g.choice(['SAME', 'VALID'])!r}, "
                        f"dimension_numbers={dn!r})")
    rhs = g.arr(F32, shape=rs, new=0.8)
    if rhs is None:
        return None
    strides = _t([g.int(1, 2) for _ in ks])
    if g.coin(0.5):
        pad, lhs_dil = g.choice(["'SAME'", "'VALID'"]), ""
    else:
        pad = "[" + ", ".join(_t([g.int(0, 1), g.int(0, 1)]) for _ in ks) + "]"
        lhs_dil = f", lhs_dilation={_t([g.int(1, 2) for _ in ks])}"
    rhs_dil = f", rhs_dilation={_t([g.int(1, 2) for _ in ks])}" if g.coin(0.3) else ""
    return (f"lax.conv_general_dilated({lhs.name}, {rhs.name}, {strides}, {pad}{lhs_dil}"
            f"{rhs_dil}, dimension_numbers={dn!r}, feature_group_count={groups})")


# --- control flow -------------------------------------------------------------------------

def _pred(g):
    r = g.rng.random()
    bools = g.find(BOOL, lambda v: v.ndim == 0)
    if r < 0.2 and bools:
        return g.choice(bools).name
    if r < 0.5:
        return f"{g.int_scalar()} > 0"
    p = g.arr(F32)
    return f"np.sum({p.name}) > 0.0" if p else "True"


def cond(g):
    a = g.arr(F32)
    if a is None:
        return None
    pred = _pred(g)
    r = g.rng.random()
    if r < 0.4:
        b = g.partner(a)
        return (f"lax.cond({pred}, lambda a, b: {g.unary('a')} * b, "
                f"lambda a, b: {g.unary('b')} - a, {a.name}, {b})")
    if r < 0.7:
        return f"lax.cond({pred}, lambda a: {g.unary('a')}, lambda a: {g.unary('a')}, {a.name})"
    if r < 0.85:
        return f"lax.cond({pred}, lambda: {g.unary(a.name)}, lambda: {a.name} * 0.5)"
    i = g.int_scalar()
    return (f"lax.switch({i}, [lambda a: {g.unary('a')}, lambda a: {g.unary('a')}, "
            f"lambda a: {g.unary('a')}], {a.name})")


def fori(g):
    a = g.arr(F32)
    if a is None:
        return None
    n, lo = g.int(0, 4), g.int(0, 1)
    r = g.rng.random()
    if r < 0.3:
        b = g.partner(a)
        return f"lax.fori_loop({lo}, {n}, lambda i, c: {g.unary('c')} * 0.5 + c * {b}, {a.name})"
    if r < 0.5:
        return (f"lax.fori_loop({lo}, {n}, lambda i, c: c * 0.9 + np.sin(c + i * 0.1), "
                f"{a.name})")
    if r < 0.7:
        b = g.arr(F32, new=0.3)
        if b is None:
            return None
        return (f"lax.fori_loop({lo}, {n}, lambda i, c: ({g.unary('c[0]')} + 0.1 * "
                f"np.sum(c[1]), c[1] * 0.8 + np.mean(c[0])), ({a.name}, {b.name}))"
                f"[{g.int(0, 1)}]")
    if r < 0.85:
        return (f"lax.fori_loop({lo}, {n}, lambda i, c: (c[0] + i, c[1] * 0.9 + 0.1 * c[0]), "
                f"(0, {a.name}))[{g.int(0, 1)}]")
    if g.reverse:
        return None
    return (f"lax.fori_loop(0, np.clip({g.int_scalar()}, 0, 3), "
            f"lambda i, c: {g.unary('c')} + 0.5 * c, {a.name})")


def while_loop(g):
    a = g.arr(F32)
    if a is None:
        return None
    if g.coin(0.5):
        return (f"lax.while_loop(lambda c: c[0] < {g.int(0, 4)}, lambda c: (c[0] + 1, "
                f"{g.unary('c[1]')}), (0, {a.name}))[{g.int(0, 1)}]")
    return (f"lax.while_loop(lambda c: (c[0] < 6) & (np.sum(c[1]) < 4.0), "
            f"lambda c: (c[0] + 1, c[1] + np.abs(np.sin(c[1])) + 0.1), (0, {a.name}))[1]")


def scan(g):
    if g.coin(0.25):
        a = g.arr(F32)
        return a and (f"lax.scan(lambda c, _: ({g.unary('c')} * 0.9, c), {a.name}, None, "
                      f"length={g.int(1, 3)})[{g.int(0, 1)}]")
    xs = g.arr(F32, pred=lambda v: 1 <= v.ndim <= 3, lo=1)
    if xs is None:
        return None
    init = g.arr(F32, shape=xs.shape[1:], new=0.3) if g.coin(0.8) else None
    iname = init.name if init is not None else "np.zeros(" + _t(xs.shape[1:]) + ")"
    rev = ", reverse=True" if g.coin(0.3) else ""
    unroll = f", unroll={g.int(2, 3)}" if g.coin(0.2) else ""
    body = g.choice([f"({g.unary('c')} * 0.5 + x, {g.unary('c + x')})",
                     "(c * np.cos(x) + x, c * x)",
                     f"(c + {g.unary('x')}, np.sum(c) * x)"])
    return f"lax.scan(lambda c, x: {body}, {iname}, {xs.name}{rev}{unroll})[{g.int(0, 1)}]"


def lax_map(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    return a and f"lax.map(lambda r: {g.unary('r')} * 2.0, {a.name})"


def remat(g):
    a = g.arr(F32)
    if a is None:
        return None
    if g.coin(0.5):
        pol = g.choice(["", ", policy=m.checkpoint_policies.nothing_saveable",
                        ", policy=m.checkpoint_policies.dots_saveable"])
        return f"m.checkpoint(lambda a: {g.unary('a')} * {g.unary('a')}{pol})({a.name})"
    return (f"m.checkpoint(lambda a: m.ad_checkpoint.checkpoint_name({g.unary('a')}, 'n') * a, "
            f"policy=m.checkpoint_policies.save_only_these_names('n'))({a.name})")


def custom(g):
    a = g.arr(F32)
    if a is None:
        return None
    if g.forward or g.coin(0.4):
        return f"cj({a.name})"
    b = g.arr(F32, shape=a.shape)
    return b and f"cv({a.name}, {b.name})"


# --- random -------------------------------------------------------------------------------

def random_key(g):
    k = g.key()
    return g.choice([(f"random.split({k})[{g.int(0, 1)}]", True),
                     (f"random.fold_in({k}, {g.int_scalar()})", True),
                     (f"random.PRNGKey({g.int_scalar()})", True),
                     (f"random.split({k}, 3)[2]", True)])


def random_sample(g):
    k = g.key()
    s = _t(g.shape(0, 2))
    if g.coin(0.3):
        a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
        if a is not None:
            return g.choice([f"random.categorical({k}, {a.name}, axis=-1)",
                             f"{a.name} + 0.1 * random.normal({k}, {_t(a.shape)})",
                             f"random.permutation({k}, {a.name})"])
    return g.choice([f"random.normal({k}, {s})",
                     f"random.uniform({k}, {s}, minval=-1.0, maxval=2.0)",
                     f"random.randint({k}, {s}, 0, 5)", f"random.bernoulli({k}, 0.3, {s})",
                     f"random.gumbel({k}, {s})", f"random.permutation({k}, {g.int(1, 5)})",
                     f"random.truncated_normal({k}, -1.0, 1.0, {s})",
                     f"random.exponential({k}, {s})", f"random.bits({k}, {s})"])


# --- named axes (vmap's axis_name), linear algebra, fft ----------------------------------

def collective(g):
    a = g.arr(F32)
    if a is None:
        return None
    name, size = g.choice(g.axes)
    perm = [(i, (i + 1) % size) for i in range(size)]
    opts = [f"lax.psum({a.name}, {name!r})", f"lax.pmean({a.name}, {name!r})",
            f"lax.pmax({a.name}, {name!r})" if not g.diff else f"lax.psum({a.name}, {name!r})",
            f"lax.pmin({a.name}, {name!r})" if not g.diff else f"lax.pmean({a.name}, {name!r})",
            f"lax.all_gather({a.name}, {name!r})", f"{a.name} * lax.axis_index({name!r})",
            f"lax.ppermute({a.name}, {name!r}, perm={perm})"]
    if len(g.axes) >= 2:
        opts.append(f"lax.psum({a.name}, {tuple(n for n, _ in g.axes)!r})")
    return g.choice(opts)


def linalg(g):
    n = g.int(1, 3)
    a = g.arr(F32, shape=(n, n) if g.coin(0.7) else (2, n, n), new=0.5)
    if a is None:
        return None
    spd = f"({a.name} @ np.swapaxes({a.name}, -1, -2) + {n + 1}.0 * np.eye({n}))"
    b = g.arr(F32, shape=a.shape[:-1] + (g.int(1, 2),), new=0.5)
    opts = [f"np.linalg.cholesky({spd})", f"np.linalg.inv({spd})", f"np.linalg.det({spd})",
            f"np.linalg.slogdet({spd})[1]", f"np.linalg.qr({a.name})[1]",
            f"np.linalg.eigh({spd})[0]", f"np.linalg.svd({a.name}, compute_uv=False)",
            f"np.linalg.qr({a.name})[0]"]
    if b is not None:
        opts += [f"np.linalg.solve({spd}, {b.name})",
                 f"lax.linalg.triangular_solve(np.tril({a.name}) + {n + 1}.0 * np.eye({n}), "
                 f"{b.name}, left_side=True, lower=True)"]
    return g.choice(opts)


def fft(g):
    a = g.arr(F32, pred=lambda v: v.ndim >= 1, lo=1)
    if a is None:
        return None
    opts = [f"np.real(np.fft.fft({a.name}))", f"np.abs(np.fft.rfft({a.name}) + 1.0)",
            f"np.fft.irfft(np.fft.rfft({a.name}), n={a.shape[-1]})",
            f"np.imag(np.fft.ifft({a.name}))"]
    if a.ndim >= 2:
        opts.append(f"np.real(np.fft.fft2({a.name}))")
    return g.choice(opts)


# family: (weight, op, needs): needs "fwd" = no reverse mode in the stack, "rev" = no
# forward mode in it, "axes" = a named vmap axis around the program.
OPS = {
    "unary": (5, unary, ""), "binary": (5, binary, ""), "integer": (2, integer, ""),
    "convert": (1.5, convert, ""), "compare_select": (2, compare_select, ""),
    "iota": (1, iota, ""), "reduce": (3, reduce, ""), "sort_cum": (2, sort_cum, ""),
    "reduce_window": (1.5, window, ""), "reshape": (2, reshape, ""),
    "transpose": (1.5, transpose, ""), "broadcast": (1.5, broadcast, ""),
    "concatenate": (1.5, concatenate, ""), "rev_pad": (1.5, rev_pad, ""),
    "static_index": (2, static_index, ""), "dynamic_index": (2, dynamic_index, ""),
    "dynamic_update": (1.5, dynamic_update, ""), "gather": (2.5, gather, ""),
    "scatter": (2.5, scatter, ""), "dot": (3, dot, ""), "conv": (1.5, conv, ""),
    "cond": (2, cond, ""), "fori_loop": (2, fori, ""), "while_loop": (1.5, while_loop, "fwd"),
    "scan": (2, scan, ""), "map": (1, lax_map, ""), "checkpoint": (1, remat, ""),
    "custom": (1, custom, ""), "random_key": (1, random_key, ""),
    "random": (2, random_sample, ""), "collective": (2, collective, "axes"),
    "linalg": (1.5, linalg, ""), "fft": (1, fft, ""),
}


def allowed(g, needs):
    return not (("fwd" in needs and g.reverse) or ("axes" in needs and not g.axes))


def draw(g):
    """A (family, op) pair the stack allows, drawn by weight."""
    names = [k for k, (_, _, needs) in OPS.items() if allowed(g, needs)]
    w = [OPS[k][0] for k in names]
    tot = sum(w)
    x, acc = g.rng.random() * tot, 0.0
    for k, wk in zip(names, w):
        acc += wk
        if x < acc:
            return k, OPS[k][1]
    return names[-1], OPS[names[-1]][1]
