"""Every meta-operator's StableHLO lowering rule, checked against JAX (or NumPy).

``test_primitive`` is parametrised over ``primitives.ops.REGISTRY``: a meta-operator
whose family has no checker below fails, so a new op cannot land without a lowering
test.  Each checker compiles one-op executables with ``compile_single_op`` and
compares values, dtypes and shapes with the matching ``jax.lax`` op (NumPy where
JAX has no such op or rejects the dtype).

Compiles dominate the runtime (tens of ms each, for us and again for the JAX
oracle; complex inverse trig takes most of a second), so every checker works on a
small fixed set of shapes/dtypes -- hypothesis varies the *values* within them --
and elementwise ops spread dtype coverage across ops rather than taking the full
op x dtype product.  ``XFORM_TEST_ALL_DTYPE_PAIRS=1`` widens the convert/bitcast
pair test to the full dtype x dtype matrix (~450 more compiles).
"""
from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jax import lax

from lowering import RULES, _jaxlib, compile_single_op
from primitives import ClosedJaxpr, Eqn, Jaxpr, Literal, ShapedArray, Var, dtypes, ops
from primitives.ops import ConvDimensionNumbers, GatherDimensionNumbers, ScatterDimensionNumbers

SETTINGS = settings(max_examples=15, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def each_case(cases, body):
    """``body(case, data)`` under hypothesis, for every case: a case fixes the shapes and
    dtypes (one compile), hypothesis draws the values."""
    for case in cases:
        @SETTINGS
        @given(st.data())
        def inner(data):
            body(case, data)
        inner()

DEV = _jaxlib.default_device()
D = np.dtype
BOOL, I8, I16, I32, I64 = D(np.bool_), D(np.int8), D(np.int16), D(np.int32), D(np.int64)
U8, U16, U32, U64 = D(np.uint8), D(np.uint16), D(np.uint32), D(np.uint64)
BF16, F16, F32, F64 = D(ml_dtypes.bfloat16), D(np.float16), D(np.float32), D(np.float64)
C64, C128 = D(np.complex64), D(np.complex128)
# the NumPy oracle's dtypes; float8 and int4/uint4 (ml_dtypes, whose NumPy casts are not
# XLA's) are checked against JAX in tests/xform/numpy/test_narrow_dtypes.py
ALL = tuple(d for d in dtypes.SUPPORTED if d not in dtypes.FLOAT8 + dtypes.INT4)

_TOL = {BF16: (2e-2, 1e-2), F16: (2e-3, 1e-3), F32: (2e-5, 1e-6), F64: (1e-12, 1e-14)}


@pytest.fixture(autouse=True, scope="module")
def _x64():
    """64-bit buffers (and a 64-bit JAX oracle) need x64 on while this file runs."""
    with jax.enable_x64(True):
        yield


# --- helpers --------------------------------------------------------------------------

def run(prim, params, *xs):
    """Compile ``prim`` as a one-op executable, run it, check the result avals."""
    xs = [np.asarray(x) for x in xs]
    in_avals = tuple(ShapedArray(x.shape, x.dtype) for x in xs)
    ex = compile_single_op(prim, tuple(params.items()), in_avals, DEV)
    outs = [np.asarray(o) for o in ex([_jaxlib.buffer_from_numpy(x) for x in xs])]
    want = prim.abstract_eval(*in_avals, **params)
    assert len(outs) == len(want)
    for o, a in zip(outs, want):
        assert (o.shape, o.dtype) == (a.shape, a.dtype), (prim, o.shape, o.dtype, a)
    return outs


def check(got, want, *, tol=None):
    """Equal dtype and shape; values exact for integers/bools, close for inexact."""
    want = np.asarray(want)
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if dtypes.is_inexact(got.dtype):
        rtol, atol = tol or _TOL[dtypes.real_dtype(got.dtype)]
        wide = np.complex128 if dtypes.is_complex(got.dtype) else np.float64
        np.testing.assert_allclose(got.astype(wide), want.astype(wide), rtol=rtol, atol=atol,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def jx(fn, *xs, **kw):
    """The JAX oracle: positional arguments become arrays, keywords stay as they are."""
    return np.asarray(fn(*[jnp.asarray(x) for x in xs], **kw))


def values(dtype, shape, rng, *, special=True, lo=None, hi=None):
    """Random values of ``dtype``; they start with the awkward ones (±0, ±inf, nan, ties)."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt == BOOL:
        return rng.integers(0, 2, n).astype(bool).reshape(shape)
    if dtypes.is_int(dt):
        info = np.iinfo(dt)
        lo = info.min if lo is None else lo
        hi = info.max if hi is None else hi
        out = rng.integers(lo, hi, n, dtype=np.uint64 if dt == U64 else np.int64, endpoint=True)
        if special:
            sp = [v for v in (0, 1, -1, info.min, info.max, 2, 7) if lo <= v <= hi][:n]
            out[:len(sp)] = sp
        return out.astype(dt).reshape(shape)
    lo = -6.0 if lo is None else lo
    hi = 6.0 if hi is None else hi
    if dtypes.is_complex(dt):
        re, im = rng.uniform(lo, hi, n), rng.uniform(lo, hi, n)
        if special:
            sp = [0.0, 1.0, -1.0, 0.5, 2.5][:n]
            re[:len(sp)] = sp
            im[:len(sp)] = sp[::-1]
        return (re + 1j * im).astype(dt).reshape(shape)
    out = rng.uniform(lo, hi, n)
    if special:
        sp = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 2.5, np.inf, -np.inf, np.nan, 1e-3, 30.0][:n]
        out[:len(sp)] = sp
    return out.astype(dt).reshape(shape)


def _kindkey(dt):
    dt = np.dtype(dt)
    return "b" if dt == BOOL else "f" if dt == BF16 else dt.kind


def closed(in_avals, build):
    """A ClosedJaxpr from ``build(*invars) -> outvars``; ``emit`` below adds equations."""
    invars = [Var(a) for a in in_avals]
    eqns: list = []
    _EQNS.append(eqns)
    try:
        outs = build(*invars)
    finally:
        _EQNS.pop()
    return ClosedJaxpr(Jaxpr([], invars, eqns, list(outs)), [])


_EQNS: list = []


def emit(prim, *ins, **params):
    outs = [Var(a) for a in prim.abstract_eval(*[v.aval for v in ins], **params)]
    _EQNS[-1].append(Eqn(prim, list(ins), outs, params))
    return outs if prim.multiple_results else outs[0]


# --- elementwise: unary, binary, compare --------------------------------------------

_GROUPS = ((U8, U16, U32, U64), (F16, BF16), (C64, C128), (F64, I64), (I8, I16), (BOOL,))


def elementwise_dtypes(kind, index):
    """The kind's main dtype plus one more picked by rotation, so all dtypes get used."""
    ok = [d for d in ALL if ops._kind_ok(d, kind)]
    picks = [next(d for d in (F32, I32, BOOL, C64) if d in ok)]
    groups = [g for g in ([d for d in g if d in ok] for g in _GROUPS) if g]
    g = groups[index % len(groups)]
    picks.append(g[(index // len(groups)) % len(g)])
    return list(dict.fromkeys(picks))


# dtypes for which a rule has a code path of its own: always checked
_REGRESSIONS = {
    "sign": [U8], "abs": [U16], "population_count": [BOOL], "clz": [BOOL],
    "shift_left": [BOOL], "shift_right_arithmetic": [BOOL], "shift_right_logical": [BOOL],
    "complex": [F16, BF16], "max": [C64, BOOL], "min": [C128], "lt": [C64], "le": [C64],
    "gt": [C128], "ge": [C64], "rem": [C64], "nextafter": [BF16], "integer_pow": [U8],
}
_SCALAR_OPERAND = {"add", "complex", "max", "shift_left", "rem", "lt"}  # rank-0 y too

_JAX_NAME = {"not": "bitwise_not", "and": "bitwise_and", "or": "bitwise_or",
             "xor": "bitwise_xor"}

# What an op means where JAX rejects the dtype (bool as a 1-bit unsigned, f16 parts, ...)
_FALLBACK = {
    ("abs", "u"): lambda x: x,
    ("population_count", "b"): lambda x: x,
    ("clz", "b"): lambda x: ~x,
    ("shift_left", "b"): lambda x, y: x & ~y,
    ("shift_right_logical", "b"): lambda x, y: x & ~y,
    ("shift_right_arithmetic", "b"): lambda x, y: x & ~y,
    ("complex", "f"): lambda x, y: (x.astype(np.float32) + 1j * y.astype(np.float32)).astype(C64),
    ("lt", "c"): np.less, ("le", "c"): np.less_equal, ("gt", "c"): np.greater,
    ("ge", "c"): np.greater_equal,
}


def oracle(name, dt, *xs, **params):
    fn = getattr(lax, _JAX_NAME.get(name, name))
    try:
        return jx(fn, *xs, **params)
    except TypeError:
        fb = _FALLBACK.get((name, _kindkey(dt)))
        if fb is None:
            raise
        return fb(*xs)


def check_unary(prim):
    name = prim.name
    kind = ops.UNARY[name][0]
    index = list(ops.UNARY).index(name)
    rng = np.random.default_rng(index)
    for dt in dict.fromkeys(elementwise_dtypes(kind, index) + _REGRESSIONS.get(name, [])):
        x = values(dt, (16,), rng)
        if name == "integer_pow" and dtypes.is_int(dt):
            x = values(dt, (16,), rng, lo=0 if dtypes.is_unsigned(dt) else -5, hi=5)
        tol = (5e-2, 5e-2) if name in ("tan", "lgamma", "digamma") and dt in (F16, BF16) else None
        if name == "round":
            for method in (0, 1):
                check(run(prim, {"rounding_method": method}, x)[0],
                      oracle(name, dt, x, rounding_method=method))
        elif name == "reduce_precision":
            for e, m in ((8, 7), (5, 10), (4, 3), (8, 0), (2, 1)):
                check(run(prim, {"exponent_bits": e, "mantissa_bits": m}, x)[0],
                      oracle(name, dt, x, exponent_bits=e, mantissa_bits=m))
        elif name == "integer_pow":
            for y in (0, 3) + ((-2,) if dtypes.is_inexact(dt) else ()):
                check(run(prim, {"y": y}, x)[0], oracle(name, dt, x, y=y))
        else:
            check(run(prim, {}, x)[0], oracle(name, dt, x), tol=tol)


def _binary_inputs(name, dt, rng, shape=(16,)):
    x, y = values(dt, shape, rng), values(dt, shape, rng, special=False)
    if name.startswith("shift") and dtypes.is_int(dt):
        y = values(dt, shape, rng, special=False, lo=0, hi=8 * np.dtype(dt).itemsize + 2)
    if name in ("div", "rem") and dtypes.is_int(dt):  # x / 0 is implementation-defined
        y = np.where(y == 0, np.asarray(3, dt), y).astype(dt)
    if name == "pow" and dtypes.is_complex(dt):
        y = (y / 4).astype(dt)
    return x, y


def check_binary(prim):
    name = prim.name
    index = list(ops.BINARY).index(name)
    rng = np.random.default_rng(100 + index)
    dts = elementwise_dtypes(ops.BINARY[name], index) + _REGRESSIONS.get(name, [])
    for dt in dict.fromkeys(dts):
        x, y = _binary_inputs(name, dt, rng)
        if name == "rem" and dtypes.is_complex(dt):  # XLA would crash compiling it
            with pytest.raises(ops.OpTypeError, match="rem: does not accept dtype complex"):
                run(prim, {}, x, y)
            continue
        check(run(prim, {}, x, y)[0], oracle(name, dt, x, y))
    if name in _SCALAR_OPERAND:  # a rank-0 operand is broadcast inside the rule
        dt = dts[-1] if not (name == "rem" and dtypes.is_complex(dts[-1])) else dts[0]
        x, y = _binary_inputs(name, dt, rng, (3,))
        check(run(prim, {}, y[1], x)[0], oracle(name, dt, np.broadcast_to(y[1], (3,)), x))


def check_compare(prim):
    name = prim.name
    rng = np.random.default_rng(200 + ops.COMPARE.index(name))
    for dt in dict.fromkeys([F32, U8, BOOL] + _REGRESSIONS.get(name, [])):
        x = values(dt, (16,), rng)
        y = np.where(rng.integers(0, 2, 16).astype(bool), x, values(dt, (16,), rng)).astype(dt)
        if dtypes.is_complex(dt):  # equal real parts often, so imaginary parts decide
            y = (np.where(np.arange(16) % 3 == 0, y.real, x.real) + 1j * y.imag).astype(dt)
        check(run(prim, {}, x, y)[0], oracle(name, dt, x, y))
    if name in _SCALAR_OPERAND:
        c = values(C64, (3,), rng)
        check(run(prim, {}, c, c[1])[0], oracle(name, C64, c, np.broadcast_to(c[1], (3,))))


# --- select, converts -----------------------------------------------------------------

def check_select_n(prim):
    rng = np.random.default_rng(1)
    cases = [values(F32, (2, 3), rng) for _ in range(3)]
    p = rng.integers(0, 2, (2, 3)).astype(bool)
    check(run(prim, {}, p, cases[0], cases[1])[0], jx(lax.select_n, p, cases[0], cases[1]))
    check(run(prim, {}, np.bool_(True), cases[0], cases[1])[0], cases[1])
    pi = rng.integers(0, 3, (2, 3)).astype(np.int32)
    check(run(prim, {}, pi, *cases)[0], jx(lax.select_n, pi, *cases))
    ci = [values(C64, (2, 3), rng) for _ in range(2)]
    check(run(prim, {}, np.int32(1), *ci)[0], ci[1])
    check(run(prim, {}, p, cases[0])[0], cases[0])


def _convert_inputs(src, dst, rng):
    """Values whose conversion is fully defined, so NumPy is an exact oracle."""
    if dtypes.is_inexact(src) and dtypes.is_int(dst):  # in range of dst, with fractions
        lo, hi = (0.0, 200.0) if dtypes.is_unsigned(dst) else (-100.0, 100.0)
        return values(src, (16,), rng, special=False, lo=lo, hi=hi)
    if dtypes.is_int(src) and dst in (F16, BF16):  # ints exact in the narrow float
        return values(src, (16,), rng, lo=0 if dtypes.is_unsigned(src) else -256, hi=256)
    return values(src, (16,), rng)


def _convert_oracle(x, dst):
    if dtypes.is_complex(x.dtype) and not dtypes.is_complex(dst):
        x = x.real  # JAX keeps the real part, also for bool (1j -> False)
    with np.errstate(all="ignore"):
        return x != 0 if dst == BOOL else x.astype(dst)


def check_convert_pair(src, dst, rng):
    x = _convert_inputs(src, dst, rng)
    check(run(ops.convert_element_type, {"new_dtype": dst, "weak_type": False}, x)[0],
          _convert_oracle(x, dst))


def check_convert_element_type(prim):
    rng = np.random.default_rng(2)
    for i, src in enumerate(ALL):  # every source to a few targets, by rotation
        for dst in (ALL[(i + 1) % 15], ALL[(i + 4) % 15], ALL[(i + 9) % 15]):
            check_convert_pair(src, dst, rng)
    for src, dst in ((F32, I32), (F32, U8), (F64, U64), (BF16, I16), (F16, BOOL), (C64, BOOL)):
        # NaN, inf and out-of-range values: whatever JAX does, so do we
        x = values(src, (16,), rng)
        x[-4:] = np.array([300.7, -129.5, 1e30, -1e30]).astype(src)
        check(run(prim, {"new_dtype": dst, "weak_type": False}, x)[0],
              jx(lax.convert_element_type, x, new_dtype=dst))
    check(run(prim, {"new_dtype": F32, "weak_type": True}, np.int32([1, 2]))[0],
          np.float32([1, 2]))


def _bitcast_in_shape(src, dst):
    a, b = np.dtype(src).itemsize, np.dtype(dst).itemsize
    return (3, b // a) if b > a else (3,)


def _bitcast_oracle(x, dst):
    """NumPy's view; a bool result is "some byte nonzero", a bool input is one 0/1 byte."""
    dst = np.dtype(dst)
    a, b = x.dtype.itemsize, dst.itemsize
    shape = x.shape if a == b else x.shape + (a // b,) if a > b else x.shape[:-1]
    x = np.ascontiguousarray(x).astype(U8) if x.dtype == BOOL else np.ascontiguousarray(x)
    if dst == BOOL:
        return x.view(U8).reshape(shape) != 0
    return x.view(dst).reshape(shape)


def check_bitcast_pair(src, dst, rng):
    x = values(src, _bitcast_in_shape(src, dst), rng)
    if dtypes.is_inexact(src):  # NaN payloads need not survive a float round trip
        x = np.where(np.isnan(x), np.asarray(1.25, src), x).astype(src)
    got = run(ops.bitcast_convert_type, {"new_dtype": dst}, x)[0]
    want = _bitcast_oracle(x, dst)
    assert (got.dtype, got.shape) == (want.dtype, want.shape)
    if dtypes.is_inexact(dst):  # compare bits: NaN != NaN
        bits = D(f"u{dtypes.real_dtype(dst).itemsize}")
        got, want = got.view(bits), want.view(bits)
    np.testing.assert_array_equal(got, want)


def check_bitcast_convert_type(prim):
    rng = np.random.default_rng(3)
    for i, src in enumerate(ALL):
        for dst in (ALL[(i + 2) % 15], ALL[(i + 7) % 15]):
            check_bitcast_pair(src, dst, rng)
    for src, dst in ((C64, F32), (C64, I64), (C128, U8), (F16, C64), (C64, C128), (C128, C64),
                     (BOOL, I16), (F32, BOOL), (U64, BOOL), (BOOL, C64)):
        check_bitcast_pair(src, dst, rng)


@pytest.mark.parametrize("src", ALL, ids=str)
def test_convert_and_bitcast_dtype_pairs(src):
    """Every source dtype against two rotating destinations (every destination is hit);
    XFORM_TEST_ALL_DTYPE_PAIRS=1 checks the whole matrix (~450 compiles)."""
    rng = np.random.default_rng(4)
    i = ALL.index(src)
    dsts = ALL if os.environ.get("XFORM_TEST_ALL_DTYPE_PAIRS") else \
        [ALL[(i + 1) % len(ALL)], ALL[(i + 7) % len(ALL)]]
    for dst in dsts:
        check_convert_pair(src, dst, rng)
        check_bitcast_pair(src, dst, rng)


# --- structural -----------------------------------------------------------------------

def check_iota(prim):
    for dt, shape, d in ((I32, (5,), 0), (F32, (2, 3), 1), (U8, (3, 2), 0), (BF16, (4,), 0),
                         (C64, (2, 2), 1), (BOOL, (3,), 0), (I64, (2, 3, 2), 2)):
        (got,) = run(prim, {"dtype": dt, "shape": shape, "dimension": d})
        ar = np.arange(shape[d]).reshape([-1 if i == d else 1 for i in range(len(shape))])
        want = np.broadcast_to(ar, shape)
        check(got, want != 0 if dt == BOOL else want.astype(dt))


def check_broadcast_in_dim(prim):
    rng = np.random.default_rng(5)
    for dt, xs, shape, bd in ((F32, (3, 1), (2, 3, 4), (1, 2)), (I8, (), (2, 2), ()),
                              (BOOL, (4,), (4, 3), (0,)), (C64, (1,), (5,), (0,))):
        x = values(dt, xs, rng)
        want = np.broadcast_to(np.expand_dims(x, [i for i in range(len(shape)) if i not in bd]),
                               shape)
        check(run(prim, {"shape": shape, "broadcast_dimensions": bd}, x)[0], want)


def check_reshape(prim):
    rng = np.random.default_rng(6)
    for dt, xs, ns in ((F32, (2, 6), (3, 4)), (U16, (4,), (2, 1, 2)), (BOOL, (1,), ()),
                       (C128, (2, 3), (6,)), (I32, (0, 3), (3, 0))):
        x = values(dt, xs, rng)
        check(run(prim, {"new_sizes": ns}, x)[0], x.reshape(ns))


def check_transpose(prim):
    rng = np.random.default_rng(7)
    for dt, xs, perm in ((F32, (2, 3, 4), (2, 0, 1)), (I8, (3, 2), (1, 0)), (BF16, (4,), (0,))):
        x = values(dt, xs, rng)
        check(run(prim, {"permutation": perm}, x)[0], np.transpose(x, perm))


def check_slice(prim):
    rng = np.random.default_rng(8)
    x = values(F32, (4, 5), rng)
    for st_, lim, strides in (((1, 0), (3, 5), None), ((0, 1), (4, 5), (2, 3)),
                              ((2, 2), (2, 4), (1, 1))):
        want = x[tuple(slice(a, b, c) for a, b, c in zip(st_, lim, strides or (1, 1)))]
        check(run(prim, {"start_indices": st_, "limit_indices": lim, "strides": strides},
                  x)[0], want)
    c = values(C64, (6,), rng)
    check(run(prim, {"start_indices": (1,), "limit_indices": (6,), "strides": (2,)}, c)[0],
          c[1:6:2])


def check_pad(prim):
    rng = np.random.default_rng(9)
    for dt, xs, cfg in ((F32, (3, 4), ((1, 2, 0), (0, 1, 1))), (I32, (5,), ((-1, 2, 1),)),
                        (BOOL, (2, 2), ((0, 0, 2), (1, -1, 0))), (C64, (3,), ((2, 0, 0),))):
        x, pv = values(dt, xs, rng), values(dt, (), rng, special=False)
        check(run(prim, {"padding_config": cfg}, x, pv)[0],
              jx(lax.pad, x, pv, padding_config=cfg))


def check_concatenate(prim):
    rng = np.random.default_rng(10)
    xs = [values(F32, (2, n), rng) for n in (1, 3, 2)]
    check(run(prim, {"dimension": 1}, *xs)[0], np.concatenate(xs, 1))
    bs = [values(BOOL, (n,), rng) for n in (2, 0)]
    check(run(prim, {"dimension": 0}, *bs)[0], np.concatenate(bs))
    cs = values(C128, (1, 2), rng)
    check(run(prim, {"dimension": 0}, cs)[0], cs)


def check_rev(prim):
    rng = np.random.default_rng(11)
    x = values(F32, (2, 3, 4), rng)
    for d in ((0,), (1, 2), ()):
        check(run(prim, {"dimensions": d}, x)[0], np.flip(x, d) if d else x)


def _clamped_starts(idx, sizes, shape):
    """XLA clamps start indices so the slice fits (no negative-index wrap-around)."""
    return [min(max(int(i), 0), n - s) for i, s, n in zip(idx, sizes, shape)]


def check_dynamic_slice(prim):
    rng = np.random.default_rng(12)
    x = values(F32, (4, 5), rng)
    for idx, sizes, it in (((1, 2), (2, 3), I32), ((3, -1), (2, 2), I32), ((9, 4), (4, 1), I64),
                           ((0, 200), (1, 5), U8)):
        s = _clamped_starts(idx, sizes, x.shape)
        want = x[s[0]:s[0] + sizes[0], s[1]:s[1] + sizes[1]]
        check(run(prim, {"slice_sizes": sizes}, x, *[np.asarray(i, it) for i in idx])[0], want)


def check_dynamic_update_slice(prim):
    rng = np.random.default_rng(13)
    for dt in (F32, BOOL, C64):
        x, u = values(dt, (4, 5), rng), values(dt, (2, 3), rng)
        for idx in ((1, 1), (3, -2), (0, 4)):
            s = _clamped_starts(idx, u.shape, x.shape)
            want = x.copy()
            want[s[0]:s[0] + 2, s[1]:s[1] + 3] = u
            check(run(prim, {}, x, u, *[np.int32(i) for i in idx])[0], want)


# --- contractions ---------------------------------------------------------------------

def check_dot_general(prim):
    rng = np.random.default_rng(14)
    configs = [  # lhs shape, rhs shape, dimension numbers, dtype, preferred_element_type
        ((3, 4), (4, 2), (((1,), (0,)), ((), ())), F32, None),
        ((2, 3, 4), (2, 4, 3), (((2,), (1,)), ((0,), (0,))), I32, None),
        ((3,), (3,), (((0,), (0,)), ((), ())), C64, None),
        ((2, 3), (4,), (((), ()), ((), ())), BF16, None),
        ((2, 3, 4), (4, 3, 2), (((1, 2), (1, 0)), ((), ())), F64, None),
        ((3, 4), (4, 2), (((1,), (0,)), ((), ())), I8, I32),
        ((3, 4), (4, 2), (((1,), (0,)), ((), ())), BF16, F32),
    ]
    for ls, rs, dn, dt, pet in configs:
        lhs, rhs = values(dt, ls, rng, special=False), values(dt, rs, rng, special=False)
        if dtypes.is_int(dt):
            lhs, rhs = values(dt, ls, rng, lo=-9, hi=9), values(dt, rs, rng, lo=-9, hi=9)
        got = run(prim, {"dimension_numbers": dn, "precision": None,
                         "preferred_element_type": pet}, lhs, rhs)[0]
        want = jx(lax.dot_general, lhs, rhs, dimension_numbers=dn,
                  precision=lax.Precision.HIGHEST, preferred_element_type=pet)
        check(got, want, tol=(2e-2, 2e-2) if BF16 in (dt, pet) else
              (1e-4, 1e-4) if dt in (F32, C64) else None)


# --- reductions -----------------------------------------------------------------------

_NP_REDUCE = {
    "reduce_sum": lambda x, ax: np.sum(x, axis=ax, dtype=x.dtype),
    "reduce_prod": lambda x, ax: np.prod(x, axis=ax, dtype=x.dtype),
    "reduce_max": lambda x, ax: np.max(x, axis=ax),
    "reduce_min": lambda x, ax: np.min(x, axis=ax),
    "reduce_and": lambda x, ax: np.bitwise_and.reduce(x, axis=ax),
    "reduce_or": lambda x, ax: np.bitwise_or.reduce(x, axis=ax),
    "reduce_xor": lambda x, ax: np.bitwise_xor.reduce(x, axis=ax),
}
_REDUCE_CASES = {  # (dtype, shape, axes)
    "reduce_sum": [(F32, (3, 4), (1,)), (I8, (2, 3, 4), (0, 2)), (C64, (3, 4), (0, 1)),
                   (U32, (0, 3), (0,))],
    "reduce_prod": [(F64, (3, 4), (1,)), (I32, (2, 3, 4), (0, 2)), (C128, (0, 3), (0,))],
    "reduce_max": [(F32, (3, 4), (1,)), (U8, (2, 3, 4), (0, 2)), (BOOL, (3, 4), (0,)),
                   (C64, (3, 4), (1,)), (BF16, (0, 3), (0,))],
    "reduce_min": [(F16, (3, 4), (1,)), (I16, (2, 3, 4), (0, 2)), (BOOL, (3, 4), (1,)),
                   (C128, (3, 4), (0,)), (I32, (0, 3), (0,))],
    "reduce_and": [(BOOL, (3, 4), (1,)), (I32, (2, 3, 4), (0, 2)), (U8, (0, 3), (0,))],
    "reduce_or": [(BOOL, (3, 4), (1,)), (U16, (2, 3, 4), (0, 2))],
    "reduce_xor": [(BOOL, (3, 4), (1,)), (I64, (2, 3, 4), (0, 2))],
}


def _extreme(dt, lowest):
    """The identity of max (lowest=True) or min; complex order is lexicographic."""
    if dt == BOOL:
        return not lowest
    if dtypes.is_int(dt):
        return np.iinfo(dt).min if lowest else np.iinfo(dt).max
    inf = -np.inf if lowest else np.inf
    return complex(inf, inf) if dtypes.is_complex(dt) else inf


def check_reduce(prim):
    name = prim.name
    if name in ("argmax", "argmin"):
        return check_argminmax(prim)
    rng = np.random.default_rng(15 + list(_NP_REDUCE).index(name))
    for dt, shape, axes in _REDUCE_CASES[name]:
        x = values(dt, shape, rng, special=name in ("reduce_max", "reduce_min"))
        if name == "reduce_prod" and dtypes.is_inexact(dt):
            x = (x / 3).astype(dt)
        if name in ("reduce_max", "reduce_min") and x.size == 0:  # the init value
            want = np.full([n for i, n in enumerate(shape) if i not in axes],
                           _extreme(dt, name == "reduce_max"), dt)
        else:
            want = np.asarray(_NP_REDUCE[name](x, axes), dt)
        check(run(prim, {"axes": axes}, x)[0], want,
              tol=(1e-4, 1e-4) if dt in (F32, C64) else None)


_ARG_POOL = {  # few distinct values: many ties, and NaNs
    "f": [-np.inf, -1.0, 0.0, -0.0, 2.0, np.inf, np.nan],
    "i": [-3, 0, 5, 7], "u": [0, 5, 200], "b": [False, True],
    "c": [1 + 1j, 1 - 1j, 2 + 0j, -1 + 5j, complex(np.nan, 0)],
}
_ARG_CASES = [  # shape, axis, dtype, index dtype
    ((5,), 0, F32, I32), ((3, 4), 1, F16, I64), ((3, 4), 0, I32, U8), ((2, 3, 4), 1, F64, I32),
    ((3, 4), 1, BOOL, I32), ((4, 3), 0, U8, I32), ((3, 4), 1, C64, I32), ((6,), 0, BF16, I16),
]


def check_argminmax(prim):
    name = prim.name

    def body(case, data):
        shape, axis, dt, idt = case
        n = int(np.prod(shape))
        flat = data.draw(st.lists(st.sampled_from(_ARG_POOL[_kindkey(dt)]), min_size=n,
                                  max_size=n))
        x = np.asarray(flat, dtype=dt).reshape(shape)
        got = run(prim, {"axes": (axis,), "index_dtype": idt}, x)[0]
        if dtypes.is_complex(dt):  # JAX has no complex argmax; NumPy's order (NaN first)
            want = getattr(np, name)(x, axis=axis).astype(idt)
        else:
            want = jx(getattr(lax, name), x, axis=axis, index_dtype=idt)
        check(got, want)
    each_case(_ARG_CASES, body)


_WINDOW_FN = {"reduce_window_sum": lax.add, "reduce_window_max": lax.max,
              "reduce_window_min": lax.min}
_WINDOW_CASES = [  # shape, dtype, window, strides, padding, base dilation, window dilation
    ((5,), F32, (2,), (1,), ((0, 0),), (1,), (1,)),
    ((3, 4), I32, (2, 3), (1, 2), ((1, 0), (0, 2)), (1, 1), (1, 1)),
    ((4, 4), F32, (2, 2), (2, 1), ((0, 1), (1, 1)), (2, 1), (1, 2)),
    ((2, 3, 2), BF16, (1, 2, 2), (1, 1, 1), ((0, 0), (1, 1), (0, 0)), (1, 1, 1), (1, 1, 1)),
    ((3,), U8, (3,), (1,), ((2, 2),), (1,), (2,)),
    ((2, 2), F64, (3, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1)),   # empty output
]


def check_reduce_window(prim):
    name = prim.name

    def body(case, data):
        shape, dt, win, strides, pad, bdil, wdil = case
        n = int(np.prod(shape))
        if dtypes.is_int(dt):
            flat = data.draw(st.lists(st.integers(0 if dt == U8 else -50, 50), min_size=n,
                                      max_size=n))
        else:
            flat = data.draw(st.lists(st.floats(-50, 50, width=16), min_size=n, max_size=n))
        x = np.asarray(flat, dtype=dt).reshape(shape)
        if name == "reduce_window_sum":
            init = np.asarray(0, dt)
        else:
            init = np.asarray(_extreme(dt, name == "reduce_window_max"), dt)
        params = {"window_dimensions": win, "window_strides": strides, "padding": pad,
                  "base_dilation": bdil, "window_dilation": wdil}
        got = run(prim, params, x)[0]
        want = jx(lambda v: lax.reduce_window(v, init, _WINDOW_FN[name], win, strides, pad,
                                              bdil, wdil), x)
        check(got, want, tol=(2e-2, 5e-2) if dt == BF16 else None)
    each_case(_WINDOW_CASES, body)
    # rank 0, and a complex window (max/min lexicographic like lax.max)
    check(run(prim, {"window_dimensions": (), "window_strides": (), "padding": (),
                     "base_dilation": (), "window_dilation": ()}, np.float32(3.5))[0],
          np.float32(3.5))
    c = np.array([1 + 2j, 1 + 3j, 0 + 9j, 2 - 1j, 2 - 2j], C64)
    params = {"window_dimensions": (2,), "window_strides": (1,), "padding": ((0, 0),),
              "base_dilation": (1,), "window_dilation": (1,)}
    key = lambda z: (z.real, z.imag)  # noqa: E731
    pick = {"reduce_window_sum": lambda a, b: a + b,
            "reduce_window_max": lambda a, b: max(a, b, key=key),
            "reduce_window_min": lambda a, b: min(a, b, key=key)}[name]
    check(run(prim, params, c)[0], np.array([pick(c[i], c[i + 1]) for i in range(4)], C64))


# --- gather / scatter -----------------------------------------------------------------

GD = GatherDimensionNumbers
_GATHER_CASES = [  # operand shape, dtype, indices shape, index dtype, dimension numbers, sizes
    ((4, 3), F32, (2, 1), I32, GD((1,), (0,), (0,)), (1, 3)),                 # rows: x[i]
    ((3, 4), I32, (5, 2), I64, GD((), (0, 1), (0, 1)), (1, 1)),               # points: x[i, j]
    ((4, 4), BOOL, (2, 2), I32, GD((1, 2), (), (0, 1)), (2, 3)),              # windows, clamped
    ((2, 4, 3), C64, (2, 1), U8, GD((1,), (1,), (1,), (0,), (0,)), (1, 1, 3)),  # batching dims
    ((4,), F32, (2, 3, 1), I32, GD((), (0,), (0,)), (1,)),                    # 2-d index batch
    ((3, 4, 2), BF16, (2, 2), I32, GD((1, 2), (0,), (2, 0)), (1, 2, 1)),      # permuted map
    ((3, 4), F32, (2, 0), I32, GD((1, 2), (), ()), (2, 2)),                   # no index vector
]


def _indices(data, shape, bound, idt):
    lo = 0 if dtypes.is_unsigned(idt) else -2
    n = int(np.prod(shape))
    flat = data.draw(st.lists(st.integers(lo, bound + 2), min_size=n, max_size=n))
    return np.asarray(flat, dtype=np.int64).astype(idt).reshape(shape)


def check_gather(prim):
    def body(case, data):
        xs, dt, ishape, idt, dn, sizes = case
        x = values(dt, xs, np.random.default_rng(0))
        idx = _indices(data, ishape, max(xs), idt)
        params = {"dimension_numbers": dn, "slice_sizes": sizes, "indices_are_sorted": False,
                  "unique_indices": False}
        got = run(prim, params, x, idx)[0]
        want = jx(lax.gather, x, idx, dimension_numbers=lax.GatherDimensionNumbers(*dn),
                  slice_sizes=sizes, mode=lax.GatherScatterMode.CLIP)
        check(got, want)
    each_case(_GATHER_CASES, body)


SD = ScatterDimensionNumbers
_SCATTER_PATTERNS = [  # operand shape, indices shape, updates shape, dimension numbers
    ((4, 3), (2, 1), (2, 3), SD((1,), (0,), (0,))),                           # rows
    ((3, 4), (5, 2), (5,), SD((), (0, 1), (0, 1))),                           # points
    ((4, 4), (2, 2), (2, 2, 3), SD((1, 2), (), (0, 1))),                      # windows
    ((2, 4, 3), (2, 1), (2, 3), SD((1,), (1,), (1,), (0,), (0,))),            # batching dims
    ((5,), (2, 3, 1), (2, 3), SD((), (0,), (0,))),                            # 2-d index batch
]
_SCATTER_DTYPES = (F32, I32, BOOL, C64, F16)
_JAX_SCATTER = {"scatter": lax.scatter, "scatter_add": lax.scatter_add,
                "scatter_mul": lax.scatter_mul, "scatter_min": lax.scatter_min,
                "scatter_max": lax.scatter_max}


def check_scatter(prim):
    name = prim.name
    k = ops.SCATTER_VARIANTS.index(name)
    # each pattern with one dtype, rotated per variant, and one index dtype
    cases = [(p, _SCATTER_DTYPES[(i + k) % 5], (I32, I64, U8)[(i + k) % 3])
             for i, p in enumerate(_SCATTER_PATTERNS)]

    def body(case, data):
        (xs, ishape, ushape, dn), dt, idt = case
        rng = np.random.default_rng(data.draw(st.integers(0, 5)))
        x, upd = values(dt, xs, rng, special=False), values(dt, ushape, rng, special=False)
        if dtypes.is_int(dt):
            x, upd = values(dt, xs, rng, lo=-9, hi=9), values(dt, ushape, rng, lo=-9, hi=9)
        idx = _indices(data, ishape, max(xs), idt)
        params = {"dimension_numbers": dn, "indices_are_sorted": False, "unique_indices": False}
        got = run(prim, params, x, idx, upd)[0]
        kw = {"dimension_numbers": lax.ScatterDimensionNumbers(*dn),
              "mode": lax.GatherScatterMode.FILL_OR_DROP}
        if dt == BOOL and name in ("scatter_add", "scatter_mul"):
            # JAX has no bool add/mul: ours are or/and, i.e. the 0/1 result "!= 0"
            want = jx(_JAX_SCATTER[name], x.astype(I32), idx, upd.astype(I32), **kw) != 0
        else:
            want = jx(_JAX_SCATTER[name], x, idx, upd, **kw)
        check(got, want, tol=(1e-2, 1e-2) if dt == F16 else (1e-5, 1e-5))
    each_case(cases, body)


# --- convolution ----------------------------------------------------------------------

CD = ConvDimensionNumbers
_CONV_CASES = [  # lhs, rhs, dimension numbers, strides, padding, lhs/rhs dilation, groups, dtypes
    ((1, 2, 5), (3, 2, 2), CD((0, 1, 2), (0, 1, 2), (0, 1, 2)), (1,), ((0, 0),), (1,), (1,),
     1, 1, F32, None),
    ((2, 2, 4, 4), (3, 2, 2, 2), CD((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3)), (2, 1),
     ((1, 0), (0, 1)), (1, 1), (2, 1), 1, 1, F64, None),
    ((1, 4, 4, 2), (2, 2, 2, 3), CD((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2)), (1, 1),
     ((1, 1), (1, 1)), (1, 1), (1, 1), 1, 1, F32, None),                      # NHWC/HWIO/NHWC
    ((1, 4, 3, 3), (4, 2, 2, 2), CD((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3)), (1, 1),
     ((0, 0), (0, 0)), (1, 1), (1, 1), 2, 1, C64, None),                      # feature groups
    ((4, 2, 3), (4, 2, 2), CD((0, 1, 2), (0, 1, 2), (0, 1, 2)), (1,), ((1, 1),), (1,), (1,),
     1, 2, I32, None),                                                        # batch groups
    ((1, 1, 3, 3), (1, 1, 2, 2), CD((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3)), (1, 1),
     ((1, 1), (1, 1)), (2, 2), (1, 1), 1, 1, I8, I32),                        # transposed
    ((3, 1, 4), (2, 1, 3), CD((2, 0, 1), (1, 2, 0), (1, 2, 0)), (1,), ((2, -1),), (1,), (1,),
     1, 1, BF16, F32),                                                        # permuted, pad<0
]


def _conv_params(case, precision=None):
    _, _, dn, strides, pad, ld, rd, fgc, bgc, _, pet = case
    return {"window_strides": strides, "padding": pad, "lhs_dilation": ld, "rhs_dilation": rd,
            "dimension_numbers": dn, "feature_group_count": fgc, "batch_group_count": bgc,
            "precision": precision, "preferred_element_type": pet}


def _conv_oracle(lhs, rhs, p):
    return jx(lax.conv_general_dilated, lhs, rhs, window_strides=p["window_strides"],
              padding=p["padding"], lhs_dilation=p["lhs_dilation"],
              rhs_dilation=p["rhs_dilation"],
              dimension_numbers=lax.ConvDimensionNumbers(*p["dimension_numbers"]),
              feature_group_count=p["feature_group_count"],
              batch_group_count=p["batch_group_count"], precision=lax.Precision.HIGHEST,
              preferred_element_type=p["preferred_element_type"])


def check_conv_general_dilated(prim):
    def body(case, data):
        ls, rs, dt, pet = case[0], case[1], case[9], case[10]
        rng = np.random.default_rng(data.draw(st.integers(0, 3)))
        lhs = values(dt, ls, rng, special=False, lo=-5, hi=5)
        rhs = values(dt, rs, rng, special=False, lo=-5, hi=5)
        p = _conv_params(case)
        check(run(prim, p, lhs, rhs)[0], _conv_oracle(lhs, rhs, p),
              tol=(1e-2, 1e-2) if BF16 in (dt, pet) else (1e-4, 1e-4))
    each_case(_CONV_CASES, body)
    # a precision becomes a precision_config attribute
    case = _CONV_CASES[0]
    rng = np.random.default_rng(0)
    lhs, rhs = values(F32, case[0], rng, special=False), values(F32, case[1], rng, special=False)
    p = _conv_params(case, precision=("highest", "highest"))
    check(run(prim, p, lhs, rhs)[0], _conv_oracle(lhs, rhs, p), tol=(1e-5, 1e-5))


# --- sort -----------------------------------------------------------------------------

_SORT_POOL = {
    "f": [-np.inf, -1.5, -0.0, 0.0, 1.0, 2.0, np.inf, np.nan, -np.nan],
    "i": [-5, 0, 3, 9], "u": [0, 1, 255], "b": [False, True],
    "c": [1 + 1j, 1 - 1j, -0.0 + 2j, 0 + 2j, complex(np.nan, 1), complex(1, np.nan), 2 + 0j],
}
_SORT_CASES = [  # shape, dimension, operand dtypes, num_keys, is_stable
    ((6,), 0, (F32,), 1, True),
    ((3, 4), 1, (F16, I32), 1, True),
    ((3, 4), 0, (I32, F32, U8), 2, True),
    ((6,), 0, (C64, I32), 1, True),
    ((2, 5), 1, (BOOL, F64, BF16), 2, True),
    ((6,), 0, (U8, F32, I32), 3, False),  # unstable: the last key makes every row distinct
]


def check_sort(prim):
    def body(case, data):
        shape, dim, dts, num_keys, is_stable = case
        n = int(np.prod(shape))
        xs = []
        for k, dt in enumerate(dts):
            if not is_stable and k == len(dts) - 1:
                xs.append(np.arange(n, dtype=dt).reshape(shape))
                continue
            flat = data.draw(st.lists(st.sampled_from(_SORT_POOL[_kindkey(dt)]), min_size=n,
                                      max_size=n))
            xs.append(np.asarray(flat, dtype=dt).reshape(shape))
        got = run(prim, {"dimension": dim, "is_stable": is_stable, "num_keys": num_keys}, *xs)
        want = [np.asarray(w) for w in lax.sort([jnp.asarray(x) for x in xs], dimension=dim,
                                                is_stable=True, num_keys=num_keys)]
        for g, w in zip(got, want):
            check(g, w)
            if dtypes.is_float(g.dtype):  # -0.0 and 0.0 tie, so input order is kept
                np.testing.assert_array_equal(np.signbit(g), np.signbit(w))
    each_case(_SORT_CASES, body)


# --- control flow, custom derivatives, collectives ------------------------------------

def _f32(shape=()):
    return ShapedArray(shape, F32)


def check_control(prim):
    x = np.float32([0.5, -1.0, 2.0])
    if prim.name == "cond":
        branches = (closed([_f32((3,))], lambda v: [emit(ops.unary["sin"], v)]),
                    closed([_f32((3,))], lambda v: [emit(ops.unary["cos"], v)]))
        for i, want in ((0, np.sin(x)), (1, np.cos(x)), (7, np.cos(x)), (-3, np.sin(x))):
            check(run(prim, {"branches": branches}, np.int32(i), x)[0], want)
    elif prim.name == "while":
        i32 = ShapedArray((), I32)
        one = Literal(np.int32(1), i32)
        # cond: (limit; i, v) -> i < limit    body: (i, v) -> (i + 1, v + v)
        cj = closed([i32, i32, _f32((3,))], lambda lim, i, v: [emit(ops.compare["lt"], i, lim)])
        bj = closed([i32, _f32((3,))], lambda i, v: [emit(ops.binary["add"], i, one),
                                                     emit(ops.binary["add"], v, v)])
        for limit, max_steps in ((0, None), (4, None), (4, 10)):
            got = run(prim, {"cond_jaxpr": cj, "body_jaxpr": bj, "cond_nconsts": 1,
                             "body_nconsts": 0, "max_steps": max_steps},
                      np.int32(limit), np.int32(0), x)
            check(got[0], np.int32(limit))
            check(got[1], x * 2 ** limit)
    elif prim.name == "scan":
        # carry c, x slices: c' = c + x, y = c' * x   (cumulative sums times x)
        def body(c, xi):
            c2 = emit(ops.binary["add"], c, xi)
            return [c2, emit(ops.binary["mul"], c2, xi)]
        j = closed([_f32(), _f32()], body)
        xs = np.float32([1, 2, 3, 4, 5])
        for reverse, unroll in ((False, 1), (True, 2), (False, 5)):
            seq = xs[::-1] if reverse else xs
            cs = np.cumsum(seq, dtype=np.float32)
            ys = cs * seq
            got = run(prim, {"jaxpr": j, "length": 5, "reverse": reverse, "num_consts": 0,
                             "num_carry": 1, "unroll": unroll}, np.float32(0), xs)
            check(got[0], cs[-1])
            check(got[1], ys[::-1] if reverse else ys)
    else:
        pytest.fail(f"no lowering test for control-flow meta-operator {prim.name}")


def check_custom(prim):
    x = np.float32([0.5, -1.0, 2.0])
    call = closed([_f32((3,))], lambda v: [emit(ops.unary["sin"], v)])
    if prim.name == "custom_jvp_call":
        params = {"call_jaxpr": call, "jvp": None, "num_consts": 0, "name": "f"}
    elif prim.name == "custom_vjp_call":
        params = {"call_jaxpr": call, "fwd": None, "bwd": None, "jvp": None, "num_consts": 0,
                  "name": "f"}
    elif prim.name == "custom_vjp_lin":  # only exists between JVP and transpose
        with pytest.raises(NotImplementedError):
            run(prim, {"bwd": None, "num_res": 0, "lin_mask": (True,),
                       "out_avals": (_f32((3,)),), "name": "f"}, x)
        return
    else:
        pytest.fail(f"no lowering test for custom meta-operator {prim.name}")
    check(run(prim, params, x)[0], np.sin(x))


def check_remat(prim):
    """checkpoint inlines its body (with and without the optimization barrier the
    recomputing copy gets); name is the identity."""
    x = np.float32([0.5, -1.0, 2.0])
    if prim.name == "name":
        check(run(prim, {"name": "a"}, x)[0], x)
        return
    body = closed([_f32((3,)), _f32((3,))], lambda a, b: [emit(ops.unary["sin"], a),
                                                          emit(ops.binary["mul"], a, b)])
    for differentiated in (False, True):
        got = run(prim, {"jaxpr": body, "policy": None, "prevent_cse": True,
                         "differentiated": differentiated}, x, 2 * x)
        check(got[0], np.sin(x))
        check(got[1], 2 * x * x)


def check_collective(prim):
    """Collectives lower inside a ``shard_map`` body only (tests/xform/higher_order/
    test_collectives.py and test_shard_map.py run them over 8 devices); reaching the
    lowering anywhere else must say so rather than miscompile."""
    params = {"axis_name": ("i",)}
    params.update({
        "all_gather": dict(axis=0, tiled=False, axis_size=2),
        "ppermute": dict(perm=((0, 1), (1, 0))),
        "psum_scatter": dict(scatter_dimension=0, tiled=False, axis_size=2),
        "all_to_all": dict(split_axis=0, concat_axis=0, axis_size=2, tiled=False),
    }.get(prim.name, {}))
    args = () if prim.name == "axis_index" else (np.float32([1, 2]),)
    with pytest.raises(NotImplementedError, match="shard_map"):
        run(prim, params, *args)


# --- the registry ---------------------------------------------------------------------

def check_fft(prim):
    """Each fft_type over 1-3 trailing axes against numpy.fft (finite inputs: one inf
    spreads nan over a whole transform)."""
    rng = np.random.default_rng(31)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    z = (x + 1j * rng.standard_normal(x.shape)).astype(np.complex64)
    tol = (1e-4, 1e-4)
    for axes in ((2,), (1, 2), (0, 1, 2)):
        n = tuple(x.shape[a] for a in axes)
        half = np.fft.rfftn(x, axes=axes).astype(np.complex64)
        check(run(prim, {"fft_type": "FFT", "fft_lengths": n}, z)[0],
              np.fft.fftn(z, axes=axes).astype(np.complex64), tol=tol)
        check(run(prim, {"fft_type": "IFFT", "fft_lengths": n}, z)[0],
              np.fft.ifftn(z, axes=axes).astype(np.complex64), tol=tol)
        check(run(prim, {"fft_type": "RFFT", "fft_lengths": n}, x)[0], half, tol=tol)
        check(run(prim, {"fft_type": "IRFFT", "fft_lengths": n}, half)[0], x, tol=tol)


CHECKS = {
    "fft": check_fft,
    "unary": check_unary, "binary": check_binary, "compare": check_compare,
    "select_n": check_select_n, "convert_element_type": check_convert_element_type,
    "bitcast_convert_type": check_bitcast_convert_type, "iota": check_iota,
    "broadcast_in_dim": check_broadcast_in_dim, "reshape": check_reshape,
    "transpose": check_transpose, "slice": check_slice, "pad": check_pad,
    "concatenate": check_concatenate, "rev": check_rev, "dynamic_slice": check_dynamic_slice,
    "dynamic_update_slice": check_dynamic_update_slice, "gather": check_gather,
    "scatter": check_scatter, "reduce": check_reduce, "reduce_window": check_reduce_window,
    "dot_general": check_dot_general, "conv_general_dilated": check_conv_general_dilated,
    "sort": check_sort, "control": check_control, "custom": check_custom, "remat": check_remat,
    "collective": check_collective, "linalg": None,   # set below
}


def check_linalg(prim):
    """One-op executables vs jax.lax.linalg on the same inputs, for each LAPACK dtype:
    both call the same LAPACK routines, so even the sign conventions agree
    (tests/xform/higher_order/test_linalg.py covers the identities, batching and derivatives)."""
    from jax.lax import linalg as jl
    rng = np.random.default_rng(0)
    for dt in (F32, F64, C64, C128):
        x = rng.standard_normal((2, 4, 4)).astype(dt)
        if dtypes.is_complex(dt):
            x = x + 1j * rng.standard_normal(x.shape).astype(dt)
        spd = x @ np.conj(np.swapaxes(x, -1, -2)) + 4 * np.eye(4, dtype=dt)
        tri = np.tril(spd)
        ts = dict(left_side=True, lower=True, transpose_a=True, conjugate_a=True,
                  unit_diagonal=False)
        cases = {
            "cholesky": ((spd,), {}, lambda: [jl.cholesky(spd)]),
            "triangular_solve": ((tri, x), ts, lambda: [jl.triangular_solve(tri, x, **ts)]),
            "lu": ((x,), {}, lambda: jl.lu(x)[:2]),
            "qr": ((x[..., :3],), {"full_matrices": False},
                   lambda: jl.qr(x[..., :3], full_matrices=False)),
            "eigh": ((spd,), {"lower": True}, lambda: jl.eigh(spd)),
            "eig": ((x,), {"compute_left_eigenvectors": True, "compute_right_eigenvectors": True,
                           "enable_eigvec_derivs": False}, lambda: jl.eig(x)),
            "schur": ((x,), {"compute_schur_vectors": True}, lambda: jl.schur(x)),
            "hessenberg": ((x,), {}, lambda: jl.hessenberg(x)),
            "tridiagonal": ((spd,), {"lower": True}, lambda: jl.tridiagonal(spd)),
            "svd": ((x[..., :3, :],), {"full_matrices": False, "compute_uv": True},
                    lambda: (lambda u, s, vh: [s, u, vh])(*jl.svd(x[..., :3, :],
                                                                 full_matrices=False))),
        }
        args, params, oracle = cases[prim.name]
        tol = (1e-4, 1e-4) if dt in (F32, C64) else (1e-10, 1e-10)
        for g, w in zip(run(prim, params, *args), oracle()):
            check(g, np.asarray(w), tol=tol)


CHECKS["linalg"] = check_linalg


def check_sharding(prim):
    """``sharding_constraint`` on a one-device mesh: the value is unchanged and the text
    carries the annotation (tests/xform/api/test_sharding.py runs it over 8 devices)."""
    from primitives.sharding import Mesh, NamedSharding, P
    mesh = Mesh(np.array([DEV]), ("x",))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    params = {"sharding": NamedSharding(mesh, P("x"))}
    got, = run(prim, params, x)
    check(got, x)
    ex = compile_single_op(prim, tuple(params.items()), (ShapedArray((2, 3), F32),), DEV)
    assert 'sdy.sharding_constraint' in ex.text and '[{"x"}, {}]' in ex.text, ex.text


CHECKS["sharding"] = check_sharding


def check_shard_map(prim):
    """``shard_map`` on a one-device mesh: the body runs on the whole operands, inside an
    ``sdy.manual_computation`` (tests/xform/higher_order/test_shard_map.py runs it over
    8 devices, with collectives)."""
    from primitives.sharding import Mesh, P
    mesh = Mesh(np.array([DEV]), ("x",))
    x = np.float32([[0.5, -1.0, 2.0], [1.0, 3.0, -2.0]])
    body = closed([_f32((2, 3)), _f32((2, 3))], lambda a, b: [emit(
        ops.binary["mul"], emit(ops.unary["sin"], a), b)])
    params = {"jaxpr": body, "mesh": mesh, "in_specs": (P("x"), P()),
              "out_specs": (P(None, "x"),), "manual_axes": ("x",)}
    got, = run(prim, params, x, 2 * x)
    check(got, np.sin(x) * 2 * x)
    ex = compile_single_op(prim, tuple(params.items()), (_f32((2, 3)),) * 2, DEV)
    assert '"sdy.manual_computation"' in ex.text and '"sdy.return"' in ex.text, ex.text
    assert 'out_shardings = #sdy.sharding_per_value<[<@mesh, [{}, {"x"}]>]>' in ex.text


CHECKS["shard_map"] = check_shard_map
def check_callback(prim):
    """A host callback lowers to XLA's Python callback custom call: the compiled program
    calls the function with the operands' values and returns what it returns; an
    ``io_callback`` is marked side-effecting, and an ordered one threads a token."""
    from primitives.callback import HostCallback
    x = np.float32([0.5, -1.0, 2.0])
    seen = []

    def fn(a, b):
        seen.append((a.copy(), b.copy()))
        return (np.sin(a) * b,)
    cb = HostCallback(fn, "fn", kind="pure")
    params = {"callback": cb, "result_avals": (_f32((3,)),)}
    variants = [dict(vmap_method=None)] if prim.name == "pure_callback" else \
        [dict(ordered=False), dict(ordered=True)]
    for extra in variants:
        seen.clear()
        p = dict(params, **extra)
        ex = compile_single_op(prim, tuple(p.items()),
                               (ShapedArray((3,), np.dtype("float32")),) * 2, DEV)
        assert "xla_ffi_python_cpu_callback" in ex.text
        assert ("has_side_effect = true" in ex.text) == (prim.name == "io_callback")
        assert ("!stablehlo.token" in ex.text) == bool(extra.get("ordered"))
        outs = ex([_jaxlib.buffer_from_numpy(x), _jaxlib.buffer_from_numpy(2 * x)])
        check(np.asarray(outs[0]), np.sin(x) * 2 * x)
        assert len(seen) == 1
        check(seen[0][0], x)
        check(seen[0][1], 2 * x)


CHECKS["callback"] = check_callback


def check_exported(prim):
    """``call_exported`` links a foreign StableHLO module and calls its ``main``: here a
    module computing ``a * b + 1`` by hand, so the lowering is tested without export."""
    from primitives.exported import ForeignModule
    text = ("module @m {\n  func.func public @main(%a: tensor<3xf32>, %b: tensor<3xf32>) "
            "-> tensor<3xf32> {\n    %0 = stablehlo.multiply %a, %b : tensor<3xf32>\n"
            "    %1 = call @helper(%0) : (tensor<3xf32>) -> tensor<3xf32>\n"
            "    return %1 : tensor<3xf32>\n  }\n"
            "  func.func private @helper(%x: tensor<3xf32>) -> tensor<3xf32> {\n"
            "    %c = stablehlo.constant dense<1.0> : tensor<3xf32>\n"
            "    %0 = stablehlo.add %x, %c : tensor<3xf32>\n    return %0 : tensor<3xf32>\n"
            "  }\n}\n")
    mod = ForeignModule(text, (_f32((3,)),) * 2, (_f32((3,)),), "m", ("cpu",))
    a, b = np.float32([1, 2, 3]), np.float32([0.5, -1, 2])
    out = run(prim, {"module": mod}, a, b)
    np.testing.assert_allclose(np.asarray(out[0]), a * b + 1)
    with pytest.raises(Exception, match=r"argument 1 .* must be f32\[3\], got f32\[4\]"):
        run(prim, {"module": mod}, a, np.float32([1, 2, 3, 4]))


CHECKS["exported"] = check_exported


def check_checkify(prim):
    """``check`` has no lowering: a clear error saying to wrap the function in checkify;
    a ``debug_check`` (``debug=True``) lowers to nothing."""
    from primitives.checkify import CheckNotFunctionalizedError
    from xform.core.pytree import tree_flatten
    _, tree = tree_flatten(((), {}))
    params = {"msg": "x must be positive", "fmt_tree": tree}
    avals = (ShapedArray((), np.dtype("bool")),)
    with pytest.raises(CheckNotFunctionalizedError, match="checkify"):
        compile_single_op(prim, tuple(dict(params, debug=False).items()), avals, DEV)
    ex = compile_single_op(prim, tuple(dict(params, debug=True).items()), avals, DEV)
    assert "custom_call" not in ex.text


CHECKS["checkify"] = check_checkify


def check_rng_bit_generator(prim):
    """XLA's RngBitGenerator from a ``uint32[4]`` key (reinterpreted as XLA's ``uint64[2]``
    state): bits and the new key equal JAX's, for each algorithm and a narrow dtype."""
    import jax
    key = np.array([9, 8, 7, 6], np.uint32)
    for alg in (0, 1, 2):
        for dt in (np.uint32, np.uint8):
            new_key, bits = run(prim, {"shape": (2, 5), "dtype": np.dtype(dt), "algorithm": alg},
                                key)
            jk, jb = jax.lax.rng_bit_generator(key, (2, 5), dt, jax.lax.RandomAlgorithm(alg))
            np.testing.assert_array_equal(new_key, np.asarray(jk))
            np.testing.assert_array_equal(bits, np.asarray(jb))


CHECKS["rng_bit_generator"] = check_rng_bit_generator
_NOT_LOWERED: set = set()  # families with no StableHLO lowering by design (none)


@pytest.mark.parametrize("name", sorted(ops.REGISTRY))
def test_primitive(name):
    prim = ops.REGISTRY[name]
    checker = CHECKS.get(name) or CHECKS.get(prim.family)
    assert checker is not None, f"no lowering test for meta-operator {name} ({prim.family})"
    checker(prim)


def test_every_primitive_has_a_rule():
    missing = [n for n, p in ops.REGISTRY.items()
               if p not in RULES and p.family not in _NOT_LOWERED]
    assert not missing, f"meta-operators without a lowering rule: {missing}"
