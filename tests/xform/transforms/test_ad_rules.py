"""Every JVP rule against central finite differences (float64) and ``jax.jvp``; every
transpose rule by the dot-product test ``<ct, L(t)> == <T(ct), t>``.

Each case is written once against a ``lax`` namespace and instantiated with
``xform.lax`` and ``jax.lax``.  ``test_every_primitive_has_rules_and_a_case`` iterates
``primitives.ops.REGISTRY``: a meta-operator without a JVP rule (or, if it is
linear, a transpose rule), or without a case here whose jaxpr contains it, fails.
"""
import types

import zlib

import numpy as np
import pytest
from hypothesis import Phase, given, settings, strategies as st

import jax
import jax.numpy as jnp
import jax.ad_checkpoint

import xform
from xform import lax as xl
from xform.transforms import jvp as ad_jvp, transpose as ad_transpose
from primitives import ops
from primitives.ops import GatherDimensionNumbers as XGDN, ScatterDimensionNumbers as XSDN

f64, i32 = np.float64, np.int32

# families whose AD rules live with their own issue (control flow: issue 5)
OWNED_ELSEWHERE = {"control", "linalg", "fft"}   # tests/xform/higher_order/test_linalg.py, test_fft.py


pytestmark = pytest.mark.usefixtures("x64_enabled")  # float64 oracles (tests/conftest.py)



def _jax_ns():
    """jax.lax plus the few wrappers whose xform.lax signature is different."""
    ns = types.SimpleNamespace()
    for k in dir(jax.lax):
        if not k.startswith("_"):
            setattr(ns, k, getattr(jax.lax, k))
    L = jax.lax

    def rw(init, comp):
        def f(x, window_dimensions, window_strides=None, padding=None, base_dilation=None,
              window_dilation=None):
            n = x.ndim
            return L.reduce_window(x, init, comp, tuple(window_dimensions),
                                   tuple(window_strides or (1,) * n),
                                   tuple(padding or ((0, 0),) * n), base_dilation, window_dilation)
        return f
    ns.reduce_window_sum = rw(0.0, L.add)
    ns.reduce_window_max = rw(-np.inf, L.max)
    ns.reduce_window_min = rw(np.inf, L.min)
    ns.GDN, ns.SDN = L.GatherDimensionNumbers, L.ScatterDimensionNumbers
    ns.gather = lambda x, i, dn, ss: L.gather(x, i, dn, ss, mode="clip")
    for n in ("scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max"):
        setattr(ns, n, (lambda g: lambda x, i, u, dn, unique=False: g(
            x, i, u, dn, unique_indices=unique, mode="promise_in_bounds"))(getattr(L, n)))
    ns.np = jnp
    return ns


def _xform_ns():
    ns = types.SimpleNamespace(**{k: getattr(xl, k) for k in dir(xl) if not k.startswith("_")})
    ns.GDN, ns.SDN = XGDN, XSDN
    ns.gather = lambda x, i, dn, ss: xl.gather(x, i, dn, ss)
    for n in ("scatter", "scatter_add", "scatter_mul", "scatter_min", "scatter_max"):
        setattr(ns, n, (lambda g: lambda x, i, u, dn, unique=False: g(
            x, i, u, dn, unique_indices=unique))(getattr(xl, n)))
    ns.np = xform.numpy
    return ns


JL, XL = _jax_ns(), _xform_ns()


# --- argument generators --------------------------------------------------------------------

def U(shape, lo=-2.0, hi=2.0):
    return lambda rng, s: rng.uniform(lo, hi, shape if shape != "S" else s).astype(f64)


def Upm(shape, lo, hi):
    """|x| in [lo, hi], random sign."""
    def g(rng, s):
        sh = shape if shape != "S" else s
        return (rng.uniform(lo, hi, sh) * rng.choice([-1.0, 1.0], sh)).astype(f64)
    return g


def DISTINCT(shape):
    """Well-separated values (no ties for max/min/sort)."""
    def g(rng, s):
        sh = shape if shape != "S" else s
        n = int(np.prod(sh))
        return (rng.permutation(n) * 0.37 + rng.uniform(0, 0.1)).reshape(sh).astype(f64)
    return g


CASES = []      # (id, make(L) -> fun, [generators], kind) ; kind: "diff" | "zero" | "error"


def case(name, make, *gens, kind="diff"):
    n = sum(c[0].startswith(name + "-") for c in CASES)
    CASES.append((f"{name}-{n}", make, list(gens), kind))


# elementwise -------------------------------------------------------------------------------------
_DOMAIN = {"log": U("S", 0.2, 3), "log1p": U("S", -0.5, 3), "sqrt": U("S", 0.2, 3),
           "rsqrt": U("S", 0.2, 3), "cbrt": Upm("S", 0.2, 3), "tan": U("S", -1, 1),
           "asin": U("S", -0.9, 0.9), "acos": U("S", -0.9, 0.9), "acosh": U("S", 1.2, 3),
           "atanh": U("S", -0.9, 0.9), "erf_inv": U("S", -0.9, 0.9), "lgamma": U("S", 0.5, 4),
           "digamma": U("S", 0.3, 4), "abs": Upm("S", 0.2, 2)}
for _n in ("neg", "exp", "exp2", "log", "log1p", "expm1", "sqrt", "rsqrt", "cbrt", "sin", "cos",
           "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
           "logistic", "erf", "erfc", "erf_inv", "lgamma", "digamma", "abs"):
    case(_n, (lambda n: lambda L: getattr(L, n))(_n), _DOMAIN.get(_n, U("S", -2, 2)))
case("digamma", lambda L: L.digamma, U((3,), -2.9, -2.1))   # reflection branch
for _y in (-2, 0, 1, 2, 3):
    case("integer_pow", (lambda y: lambda L: lambda x: L.integer_pow(x, y))(_y), Upm("S", 0.3, 2))
case("complex_abs", lambda L: lambda x, y: L.abs(L.complex(x, y)), U("S", 0.3, 2), U("S", 0.3, 2))
case("real", lambda L: lambda x, y: L.real(L.mul(L.complex(x, y), L.complex(y, x))),
     U("S"), U("S"))
case("imag", lambda L: lambda x, y: L.imag(L.mul(L.complex(x, y), L.complex(x, x))),
     U("S"), U("S"))
case("conj", lambda L: lambda x, y: L.imag(L.conj(L.mul(L.complex(x, y), L.complex(y, y)))),
     U("S"), U("S"))
for _n in ("sign", "floor", "ceil", "stop_gradient"):
    case(_n, (lambda n: lambda L: lambda x: L.mul(getattr(L, n)(x), x))(_n), Upm("S", 0.2, 2.7))
case("round", lambda L: lambda x: L.mul(L.round(x, 1), x), U("S", 0.1, 0.4))
case("is_finite", lambda L: lambda x: L.select(L.is_finite(x), x, L.neg(x)), U("S"))
# float64's own format: the identity, so finite differences apply (narrower formats round
# the tangent too; tests/xform/lax/test_gather_modes.py checks those against JAX)
case("reduce_precision", lambda L: lambda x: L.mul(L.reduce_precision(x, 11, 52), x), U("S"))

_B = {"add": (U("S"), U("S")), "sub": (U("S"), U("S")), "mul": (U("S"), U("S")),
      "div": (U("S"), Upm("S", 0.5, 2)), "rem": (U("S", 0.3, 0.45), U("S", 1.0, 1.3)),
      "pow": (U("S", 0.3, 2), U("S", -1.5, 1.5)), "atan2": (U("S"), Upm("S", 0.3, 2))}
for _n, _g in _B.items():
    case(_n, (lambda n: lambda L: getattr(L, n))(_n), *_g)
case("add", lambda L: lambda x, y: L.add(x, y), U(()), U((2, 3)))      # rank-0 operand
case("mul", lambda L: lambda x, y: L.mul(x, y), U((2, 3)), U(()))
case("sub", lambda L: lambda x, y: L.sub(x, y), U(()), U((3,)))
case("div", lambda L: lambda x, y: L.div(x, y), U(()), Upm((3,), 0.5, 2))
for _n in ("max", "min"):
    case(_n, (lambda n: lambda L: lambda x: getattr(L, n)(x[0], x[1]))(_n), DISTINCT((2, 5)))
    case(_n, (lambda n: lambda L: lambda x, y: getattr(L, n)(x, y))(_n), DISTINCT((4,)),
         DISTINCT(()))
case("complex", lambda L: lambda x, y: L.complex(x, y), U("S"), U("S"))
case("nextafter", lambda L: lambda x: L.nextafter(x, L.add(x, 1.0)), U("S"), kind="error")


def _ints(shape, lo=-40, hi=40):
    return lambda rng, s: rng.integers(lo, hi, shape).astype(i32)


for _n in ("and", "or", "xor", "shift_left", "shift_right_arithmetic", "shift_right_logical"):
    _fn = {"and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor"}.get(_n, _n)
    case(_n, (lambda n: lambda L: lambda x, i: L.mul(
        x, L.convert_element_type(getattr(L, n)(i, L.bitwise_and(i, np.int32(3))), np.float64)))(_fn),
        U((4,)), _ints((4,), 0, 40))
for _n in ("not", "population_count", "clz"):
    _fn = {"not": "bitwise_not"}.get(_n, _n)
    case(_n, (lambda n: lambda L: lambda x, i: L.mul(
        x, L.convert_element_type(getattr(L, n)(i), np.float64)))(_fn), U((4,)), _ints((4,)))
for _n in ops.COMPARE:
    case(_n, (lambda n: lambda L: lambda x, y: L.select(getattr(L, n)(x, y), x, y))(_n),
         DISTINCT((5,)), DISTINCT((5,)))
case("select_n", lambda L: lambda p, x, y: L.select_n(L.gt(p, 0.0), x, y), U("S"), U("S"), U("S"))
case("select_n", lambda L: lambda x, y, z: L.select_n(
    L.convert_element_type(L.floor(L.mul(L.abs(x), 1.49)), np.int32), y, z, L.mul(y, z)),
    U((5,), 0.0, 1.9), U((5,)), U((5,)))
case("convert_element_type", lambda L: lambda x: L.convert_element_type(
    L.mul(L.convert_element_type(x, np.float32), L.convert_element_type(x, np.float32)), np.float64), U("S"))
case("convert_element_type", lambda L: lambda x: L.mul(
    x, L.convert_element_type(L.convert_element_type(L.mul(x, 3.0), np.int32), np.float64)),
    U("S", 0.1, 0.3))
case("bitcast_convert_type", lambda L: lambda x: L.mul(x, L.convert_element_type(
    L.bitwise_and(L.bitcast_convert_type(x, np.int64), 1), np.float64)), U((3,)))
case("iota", lambda L: lambda x: L.mul(x, L.broadcasted_iota(np.float64, (2, 3), 1)), U((2, 3)))
case("rng_bit_generator", lambda L: lambda x: L.mul(x, L.convert_element_type(L.rng_bit_generator(
    np.array([5, 6, 7, 8], np.uint32), (2, 3), np.uint8)[1], np.float64)), U((2, 3)))   # bits: a zero

# structural --------------------------------------------------------------------------------
case("broadcast_in_dim", lambda L: lambda x: L.broadcast_in_dim(x, (2, 3, 4), (0, 2)),
     U((2, 4)))
case("broadcast_in_dim", lambda L: lambda x: L.broadcast_in_dim(x, (2, 3), (1,)), U((1,)))
case("broadcast_in_dim", lambda L: lambda x: L.broadcast_in_dim(x, (2, 3), ()), U(()))
case("reshape", lambda L: lambda x: L.reshape(x, (3, 4)), U((2, 6)))
case("transpose", lambda L: lambda x: L.transpose(x, (2, 0, 1)), U((2, 3, 4)))
case("slice", lambda L: lambda x: L.slice(x, (1, 0), (4, 3), (2, 2)), U((5, 4)))
case("slice", lambda L: lambda x: L.slice(x, (1,), (3,)), U((5,)))
case("pad", lambda L: lambda x, v: L.pad(x, v, ((1, 2, 1), (-1, 1, 0))), U((3, 4)), U(()))
case("pad", lambda L: lambda x: L.pad(x, 0.0, ((2, -1, 2),)), U((4,)))
case("concatenate", lambda L: lambda x, y: L.concatenate([x, y, x], 1), U((2, 3)), U((2, 1)))
case("rev", lambda L: lambda x: L.rev(x, (0, 1)), U((3, 4)))
case("dynamic_slice", lambda L: lambda x: L.dynamic_slice(x, (np.int32(1), np.int32(3)), (2, 2)),
     U((4, 4)))
case("dynamic_update_slice", lambda L: lambda x, u: L.dynamic_update_slice(
    x, u, (np.int32(2), np.int32(1))), U((4, 4)), U((2, 3)))


def _gather_case(L):
    dn = L.GDN(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
    idx = np.array([[2], [0], [2], [1]], np.int32)
    return lambda x: L.gather(x, idx, dn, (1, 3))


def _gather_clamp_case(L):
    dn = L.GDN(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
    idx = np.array([[5], [-3], [1]], np.int32)   # out of bounds: clamped
    return lambda x: L.gather(x, idx, dn, (2, 3))[:, 0] if False else L.gather(
        x, idx, L.GDN(offset_dims=(1, 2), collapsed_slice_dims=(), start_index_map=(0,)), (2, 3))


case("gather", _gather_case, U((4, 3)))
case("gather", _gather_clamp_case, U((4, 3)))


def _scatter_case(name, unique, idx):
    def make(L):
        dn = L.SDN(update_window_dims=(1,), inserted_window_dims=(0,),
                   scatter_dims_to_operand_dims=(0,))
        f = getattr(L, name)
        return lambda x, u: f(x, idx, u, dn, unique)
    return make


_UIDX = np.array([[3], [0], [1]], np.int32)
_DIDX = np.array([[3], [0], [3]], np.int32)
case("scatter_add", _scatter_case("scatter_add", False, _DIDX), U((5, 2)), U((3, 2)))
case("scatter", _scatter_case("scatter", True, _UIDX), U((5, 2)), U((3, 2)))
case("scatter_mul", _scatter_case("scatter_mul", True, _UIDX), U((5, 2)), U((3, 2)))
case("scatter_min", _scatter_case("scatter_min", True, _UIDX), DISTINCT((5, 2)), DISTINCT((3, 2)))
case("scatter_max", _scatter_case("scatter_max", True, _UIDX), DISTINCT((5, 2)), DISTINCT((3, 2)))

# reductions ---------------------------------------------------------------------------------
case("reduce_sum", lambda L: lambda x: L.reduce_sum(x, (0, 2)), U((2, 3, 2)))
case("reduce_prod", lambda L: lambda x: L.reduce_prod(x, (1,)), U((2, 4)))
case("reduce_prod", lambda L: lambda x: L.reduce_prod(L.mul(x, L.convert_element_type(
    L.ne(L.broadcasted_iota(np.int32, (2, 3), 1), np.int32(1)), np.float64)), (1,)), U((2, 3)))  # a zero
case("reduce_max", lambda L: lambda x: L.reduce_max(x, (1,)), DISTINCT((3, 4)))
case("reduce_min", lambda L: lambda x: L.reduce_min(x, (0, 1)), DISTINCT((3, 4)))
for _n in ("reduce_and", "reduce_or", "reduce_xor"):
    case(_n, (lambda n: lambda L: lambda x, i: L.mul(x, L.convert_element_type(
        getattr(L, n)(i, (0,)), np.float64)))(_n), U((3,)), _ints((2, 3), 0, 5))
case("argmax", lambda L: lambda x: L.mul(x[0], L.convert_element_type(
    L.argmax(x, 0, np.int32), np.float64)), DISTINCT((3, 4)))
case("argmin", lambda L: lambda x: L.mul(x[:, 0], L.convert_element_type(
    L.argmin(x, 1, np.int32), np.float64)), DISTINCT((3, 4)))
case("reduce_window_sum", lambda L: lambda x: L.reduce_window_sum(
    x, (2, 2), (1, 2), ((1, 0), (0, 1)), (1, 1), (1, 1)), U((4, 5)))
case("reduce_window_sum", lambda L: lambda x: L.reduce_window_sum(
    x, (2,), (2,), ((1, 2),), (2,), (2,)), U((5,)))
case("reduce_window_max", lambda L: lambda x: L.reduce_window_max(
    x, (2, 2), (1, 2), ((0, 1), (1, 0)), (1, 1), (1, 1)), DISTINCT((4, 5)))
case("reduce_window_min", lambda L: lambda x: L.reduce_window_min(
    x, (3,), (1,), ((1, 1),), (1,), (2,)), DISTINCT((7,)))

# contractions -------------------------------------------------------------------------------
case("dot_general", lambda L: lambda x, y: L.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
     U((2, 3, 4)), U((2, 4, 5)))
case("dot_general", lambda L: lambda x, y: L.dot_general(x, y, (((0,), (1,)), ((), ()))),
     U((3, 2)), U((4, 3)))
case("conv_general_dilated", lambda L: lambda x, w: L.conv_general_dilated(
    x, w, (1, 2), ((1, 0), (0, 1)), (1, 1), (2, 1)), U((2, 3, 5, 6)), U((4, 3, 2, 2)))
case("conv_general_dilated", lambda L: lambda x, w: L.conv_general_dilated(
    x, w, (1,), ((1, 1),), (2,), (1,), feature_group_count=2), U((1, 4, 5)), U((6, 2, 3)))
case("conv_general_dilated", lambda L: lambda x, w: L.conv_general_dilated(
    x, w, (1,), ((0, 0),), (1,), (1,), batch_group_count=2), U((2, 2, 5)), U((4, 2, 2)))
case("conv_general_dilated", lambda L: lambda x, w: L.conv_general_dilated(
    x, w, (2, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")),
    U((1, 5, 4, 2)), U((3, 2, 2, 3)))
case("sort", lambda L: lambda x: L.sort(x, 1), DISTINCT((3, 4)))
case("sort", lambda L: lambda x, y: L.sort((x, y), 0, True, 1), DISTINCT((5,)), U((5,)))

# custom derivatives (meta-operators of primitives/custom.py) --------------------------------


def _custom_jvp_case(L):
    if L is JL:
        f = jax.custom_jvp(lambda x: jnp.sin(x))
        f.defjvp(lambda p, t: (jnp.sin(p[0]), 3.0 * jnp.cos(p[0]) * t[0]))
        return f
    f = xform.custom_jvp(lambda x: xform.numpy.sin(x))
    f.defjvp(lambda p, t: (xform.numpy.sin(p[0]), 3.0 * xform.numpy.cos(p[0]) * t[0]))
    return f


case("custom_jvp_call", _custom_jvp_case, U("S"))

# checkpoint / remat (primitives/remat.py): more in test_checkpoint.py
case("checkpoint", lambda L: (jax.checkpoint if L is JL else xform.checkpoint)(
    lambda x, y: L.sin(x) * L.cos(y)), U("S"), U("S"))
case("name", lambda L: lambda x: L.sin(
    (jax.ad_checkpoint.checkpoint_name if L is JL else xform.checkpoint_name)(x * x, "a")),
    U("S"))



# shard_map (primitives/shard_map.py): over a one-device mesh here; over 8 devices, with
# collectives, in tests/xform/higher_order/test_shard_map.py
def _shard_map_case(L):
    if L is JL:
        from jax.sharding import Mesh as JMesh, PartitionSpec as JP
        m = JMesh(np.array(jax.devices()[:1]), ("x",))
        return jax.shard_map(lambda x, y: jnp.sin(x) * y, mesh=m, in_specs=(JP("x"), JP()),
                             out_specs=JP("x"))
    m = xform.sharding.Mesh(np.array(xform.devices()[:1]), ("x",))
    return xform.shard_map(lambda x, y: xform.numpy.sin(x) * y, mesh=m,
                           in_specs=(xform.P("x"), xform.P()), out_specs=xform.P("x"))


case("shard_map", _shard_map_case, U((4,)), U((4,)))

SKIP_FD = {"custom_jvp_call", "stop_gradient", "convert_element_type", "bitcast_convert_type"}   # the custom rule is deliberately not the true derivative


def _custom_vjp_case(L):
    mod, npm = (jax, jnp) if L is JL else (xform, xform.numpy)
    f = mod.custom_vjp(lambda x, y: npm.sin(x) * y)
    f.defvjp(lambda x, y: (npm.sin(x) * y, (x, y)),
             lambda r, g: (npm.cos(r[0]) * r[1] * g, npm.sin(r[0]) * g))
    return f


CUSTOM_VJP_CASES = [("custom_vjp", _custom_vjp_case, [U("S"), U("S")])]


# --- the checks ------------------------------------------------------------------------------------

def _args(gens, seed, shape):
    rng = np.random.default_rng(seed)
    return [g(rng, tuple(shape)) for g in gens]


def _diff_mask(args):
    return [np.issubdtype(np.asarray(a).dtype, np.inexact) for a in args]


def _tangent(rng, a):
    a = np.asarray(a)
    if np.issubdtype(a.dtype, np.inexact):
        return rng.normal(size=a.shape).astype(a.dtype)
    return np.zeros(a.shape, jax.dtypes.float0)


def _np(x):
    return np.asarray(x)


def _close(a, b, tol):
    a, b = _np(a), _np(b)
    if a.dtype == jax.dtypes.float0 or b.dtype == jax.dtypes.float0:
        return
    np.testing.assert_allclose(a.astype(np.complex128) if np.iscomplexobj(a) else a.astype(f64),
                               b.astype(np.complex128) if np.iscomplexobj(b) else b.astype(f64),
                               rtol=tol, atol=tol)


def _fd(f, args, ts, eps=1e-6):
    plus = [a + eps * t if np.issubdtype(np.asarray(a).dtype, np.inexact) else a
            for a, t in zip(args, ts)]
    minus = [a - eps * t if np.issubdtype(np.asarray(a).dtype, np.inexact) else a
             for a, t in zip(args, ts)]
    return jax.tree_util.tree_map(lambda p, m: (_np(p) - _np(m)) / (2 * eps), f(*plus), f(*minus))


shape_st = st.lists(st.integers(1, 3), min_size=0, max_size=2)


@pytest.mark.parametrize("cid,make,gens,kind", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=2, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(seed=st.integers(0, 2 ** 20), shape=shape_st)
def test_jvp(cid, make, gens, kind, seed, shape):
    args = _args(gens, seed, shape)
    fx, fj = make(XL), make(JL)
    rng = np.random.default_rng(seed + 1)
    ts = [_tangent(rng, a) for a in args]
    if kind == "error":
        with pytest.raises(TypeError, match=cid.split("-")[0]):
            xform.jvp(fx, tuple(args), tuple(ts))
        return
    px, tx = xform.jvp(fx, tuple(args), tuple(ts))
    pj, tj = jax.jvp(fj, tuple(args), tuple(ts))
    jax.tree_util.tree_map(lambda a, b: _close(a, b, 1e-9), xform.tree_util.tree_leaves(px),
                           jax.tree_util.tree_leaves(pj))
    jax.tree_util.tree_map(lambda a, b: _close(a, b, 1e-7), xform.tree_util.tree_leaves(tx),
                           jax.tree_util.tree_leaves(tj))
    if cid.split("-")[0] not in SKIP_FD:
        fd = _fd(fj, args, ts)
        jax.tree_util.tree_map(lambda a, b: _close(a, b, 1e-5), xform.tree_util.tree_leaves(tx),
                               jax.tree_util.tree_leaves(fd))


@pytest.mark.parametrize("cid,make,gens,kind", CASES + [c + ("diff",) for c in CUSTOM_VJP_CASES],
                         ids=[c[0] for c in CASES] + [c[0] for c in CUSTOM_VJP_CASES])
@settings(max_examples=2, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(seed=st.integers(0, 2 ** 20), shape=shape_st)
def test_vjp_matches_jax(cid, make, gens, kind, seed, shape):
    """Reverse mode (JVP + partial eval + transpose) of each case against jax.vjp."""
    if kind == "error":
        return
    args = _args(gens, seed, shape)
    mask = _diff_mask(args)
    fx, fj = make(XL), make(JL)

    def only_diff(f):
        def g(*dargs):
            it = iter(dargs)
            full = [next(it) if m else a for a, m in zip(args, mask)]
            return f(*full)
        return g
    dargs = [a for a, m in zip(args, mask) if m]
    ox, pbx = xform.vjp(only_diff(fx), *dargs)
    oj, pbj = jax.vjp(only_diff(fj), *dargs)
    rng = np.random.default_rng(seed + 2)
    oj_leaves = jax.tree_util.tree_leaves(oj)
    cts = []
    for o in oj_leaves:
        o = np.asarray(o)
        if np.issubdtype(o.dtype, np.inexact):
            c = rng.normal(size=o.shape)
            if np.iscomplexobj(o):
                c = c + 1j * rng.normal(size=o.shape)
            cts.append(c.astype(o.dtype))
        else:
            cts.append(np.zeros(o.shape, jax.dtypes.float0))
    ct_j = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(oj), cts)
    ct_x = xform.tree_util.tree_unflatten(xform.tree_util.tree_structure(ox), [
        c if c.dtype != jax.dtypes.float0 else np.zeros(c.shape, xform.float0) for c in cts])
    gx = pbx(ct_x)
    try:
        gj = pbj(ct_j)
    except NotImplementedError:   # e.g. JAX has no VJP of a window-dilated max pool:
        # check <ct, J t> == <J^T ct, t> between our own jvp and vjp instead
        ts = [rng.normal(size=np.shape(a)) for a in dargs]
        _, tout = xform.jvp(only_diff(fx), tuple(dargs), tuple(ts))
        np.testing.assert_allclose(np.vdot(cts[0], np.asarray(tout)),
                                   sum(np.vdot(np.asarray(a), b) for a, b in zip(gx, ts)),
                                   rtol=1e-9)
        return
    for a, b in zip(gx, gj):
        _close(a, b, 1e-7)


# --- transpose rules: the dot-product test --------------------------------------------------------
# (name, linear function of t built from xform.lax, shape of t)
LINEAR = [
    ("neg", lambda t: xl.neg(t), (3,)),
    ("add", lambda t: xl.add(t, xl.mul(t, 2.0)), (2, 3)),
    ("add_bcast", lambda t: xl.add(xl.reduce_sum(t, (0,)), np.ones((4,), f64)[0] * t[0]), (4,)),
    ("sub", lambda t: xl.sub(xl.broadcast_in_dim(t[0], (3,), ()), t), (3,)),
    ("mul", lambda t: xl.mul(np.arange(1.0, 4.0), t), (3,)),
    ("mul_scalar", lambda t: xl.mul(xl.reduce_sum(t, (0,)), np.arange(1.0, 4.0)), (3,)),
    ("div", lambda t: xl.div(t, np.arange(1.0, 4.0)), (3,)),
    ("convert_element_type", lambda t: xl.convert_element_type(t, np.float32), (3,)),
    ("reduce_sum", lambda t: xl.reduce_sum(t, (1,)), (2, 3)),
    ("broadcast_in_dim", lambda t: xl.broadcast_in_dim(t, (2, 3, 4), (0, 2)), (2, 4)),
    ("broadcast_in_dim_unit", lambda t: xl.broadcast_in_dim(t, (3, 4), (0, 1)), (1, 4)),
    ("reshape", lambda t: xl.reshape(t, (6, 2)), (3, 4)),
    ("transpose", lambda t: xl.transpose(t, (1, 2, 0)), (2, 3, 4)),
    ("slice", lambda t: xl.slice(t, (1, 0), (5, 3), (3, 2)), (6, 4)),
    ("pad", lambda t: xl.pad(t, 0.0, ((1, -1, 2), (0, 2, 0))), (3, 2)),
    ("pad_value", lambda t: xl.pad(t[1:], t[0], ((2, 1, 1),)), (4,)),
    ("concatenate", lambda t: xl.concatenate([t, xl.mul(t, 3.0)], 0), (2, 3)),
    ("rev", lambda t: xl.rev(t, (1,)), (2, 3)),
    ("select_n", lambda t: xl.select_n(np.array([True, False, True]), t, xl.neg(t)), (3,)),
    ("dynamic_slice", lambda t: xl.dynamic_slice(t, (np.int32(1), np.int32(2)), (2, 2)), (4, 4)),
    ("dynamic_update_slice", lambda t: xl.dynamic_update_slice(
        t, xl.mul(t[:2, :2], 5.0), (np.int32(1), np.int32(1))), (4, 4)),
    ("gather", lambda t: xl.gather(t, np.array([[1], [5], [1]], np.int32), XGDN(
        offset_dims=(1,), collapsed_slice_dims=(), start_index_map=(0,)), (2,)), (4,)),
    ("scatter_add", lambda t: xl.scatter_add(t[:4], np.array([[1], [7], [1]], np.int32), t[4:],
                                             XSDN((), (0,), (0,))), (7,)),
    ("scatter", lambda t: xl.scatter(t[:4], np.array([[2], [0], [9]], np.int32), t[4:],
                                     XSDN((), (0,), (0,)), unique_indices=True), (7,)),
    ("scatter_mul", lambda t: xl.scatter_mul(t, np.array([[2], [0]], np.int32),
                                             np.array([3.0, -2.0]), XSDN((), (0,), (0,))), (4,)),
    ("reduce_window_sum", lambda t: xl.reduce_window_sum(
        t, (2, 3), (2, 1), ((1, 0), (2, 1)), (2, 1), (1, 2)), (4, 5)),
    ("dot_general_lhs", lambda t: xl.dot_general(t, np.ones((4, 3, 5)),
                                                 (((2,), (1,)), ((0,), (0,)))), (4, 2, 3)),
    ("dot_general_rhs", lambda t: xl.dot_general(np.arange(8.0).reshape(2, 4), t,
                                                 (((1,), (0,)), ((), ()))), (4, 3)),
    ("conv_lhs", lambda t: xl.conv_general_dilated(t, np.arange(24.0).reshape(4, 3, 2, 1),
                                                   (2, 1), ((1, 1), (0, 0)), (1, 2), (1, 1)),
     (2, 3, 5, 4)),
    ("conv_rhs", lambda t: xl.conv_general_dilated(np.arange(60.0).reshape(2, 3, 5, 2), t,
                                                   (1, 1), ((0, 1), (1, 0)), (1, 1), (2, 1)),
     (4, 3, 2, 2)),
    ("conv_groups_lhs", lambda t: xl.conv_general_dilated(
        t, np.arange(36.0).reshape(6, 2, 3), (1,), ((1, 1),), (1,), (1,),
        feature_group_count=2), (1, 4, 5)),
    ("conv_groups_rhs", lambda t: xl.conv_general_dilated(
        np.arange(20.0).reshape(1, 4, 5), t, (1,), ((1, 1),), (1,), (1,),
        feature_group_count=2), (6, 2, 3)),
    ("conv_batch_groups_lhs", lambda t: xl.conv_general_dilated(
        t, np.arange(16.0).reshape(4, 2, 2), (1,), ((0, 0),), (1,), (1,),
        batch_group_count=2), (2, 2, 5)),
    ("conv_batch_groups_rhs", lambda t: xl.conv_general_dilated(
        np.arange(20.0).reshape(2, 2, 5), t, (1,), ((0, 0),), (1,), (1,),
        batch_group_count=2), (4, 2, 2)),
    ("real_complex", lambda t: xl.real(xl.mul(xl.complex(t, xl.neg(t)),
                                              np.array([1 + 2j, 3 - 1j]))), (2,)),
    ("imag_conj", lambda t: xl.imag(xl.conj(xl.complex(xl.mul(t, 2.0), t))), (2,)),
    ("reduce_precision", lambda t: xl.reduce_precision(xl.mul(t, 3.0), 11, 52), (3,)),
]


@pytest.mark.parametrize("name,lin,shape", LINEAR, ids=[c[0] for c in LINEAR])
def test_transpose_dot_product(name, lin, shape):
    rng = np.random.default_rng(zlib.crc32(name.encode()))   # (str hashes vary per process)
    t = rng.normal(size=shape)
    y, pullback = xform.vjp(lin, t)
    ct = rng.normal(size=np.shape(y)).astype(np.asarray(y).dtype)
    (tt,) = pullback(ct)
    lhs = np.vdot(ct, np.asarray(lin(t)))
    rhs = np.vdot(np.asarray(tt), t)
    # float32: both sides round ~n products; their sum may cancel, so the error is
    # bounded relative to the sizes of the vectors, not to the (possibly small) result
    eps = 1e-6 if np.asarray(y).dtype == np.float32 else 1e-12
    scale = np.linalg.norm(np.ravel(ct)) * np.linalg.norm(np.ravel(np.asarray(lin(t))))
    np.testing.assert_allclose(lhs, rhs, rtol=eps * 10, atol=eps * scale)
    # the transpose rule itself must have been used: the linear jaxpr contains the op
    assert np.shape(tt) == shape


def _prims_in(closed, acc):
    for e in closed.jaxpr.eqns:
        acc.add(e.prim)
        for p in e.prim.subjaxpr_params:
            sub = e.params[p]
            for s in (sub if isinstance(sub, (tuple, list)) else (sub,)):
                _prims_in(s, acc)
    return acc


def test_every_primitive_has_rules_and_a_case():
    covered = set()
    for cid, make, gens, kind in CASES + [c + ("diff",) for c in CUSTOM_VJP_CASES]:
        args = _args(gens, 0, (2,))
        covered |= _prims_in(xform.make_jaxpr(make(XL))(*args), set())
    missing_jvp, missing_t, missing_case = [], [], []
    for name, p in ops.REGISTRY.items():
        if p.family in OWNED_ELSEWHERE:
            continue
        if p not in ad_jvp.JVP:
            missing_jvp.append(name)
        if p.family in ("collective",) or name == "custom_vjp_lin":
            continue   # need a named axis / only exist inside reverse mode: see test_ad.py
        if p.family == "sharding":
            continue   # needs a mesh of devices: tests/xform/api/test_sharding.py
        if p.family == "callback":
            continue   # no derivative (an error) or primal-only: tests/xform/api/test_callbacks.py
        if p.family == "checkify":
            continue   # primal-only: tests/xform/experimental/test_checkify.py
        if p.family == "exported":
            continue   # JVP/transpose are errors naming vjp_order; grad: tests/xform/api/test_export.py
        if p not in covered:
            missing_case.append(name)
    linear = ["neg", "add", "sub", "mul", "div", "convert_element_type", "reduce_sum",
              "broadcast_in_dim", "reshape", "transpose", "slice", "pad", "concatenate", "rev",
              "select_n", "dot_general", "conv_general_dilated", "dynamic_slice",
              "dynamic_update_slice", "gather", "scatter_add", "scatter", "reduce_window_sum",
              "real", "imag", "complex", "conj", "reduce_precision", "custom_vjp_lin", "psum",
              "all_gather",
              "sharding_constraint"]
    missing_t = [n for n in linear if ops.REGISTRY[n] not in ad_transpose.TRANSPOSE]
    assert not missing_jvp, f"meta-operators without a JVP rule: {missing_jvp}"
    assert not missing_t, f"linear meta-operators without a transpose rule: {missing_t}"
    assert not missing_case, f"meta-operators without a JVP test case: {missing_case}"


def test_nondifferentiable_error_names_op_and_line():
    def f(x):
        return xl.nextafter(x, 2.0)   # THIS LINE
    with pytest.raises(TypeError) as e:
        xform.grad(f)(1.0)
    msg = str(e.value)
    assert "nextafter" in msg and "test_ad_rules.py" in msg
