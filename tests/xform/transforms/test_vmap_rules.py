"""Every batching rule against a Python loop: vmap(f)(xs) == stack([f(x) for x in xs]).

Each meta-operator in ``primitives.ops.REGISTRY`` must have a batching rule and
at least one case below whose jaxpr contains it (``test_every_primitive_has_a_rule_and_a_case``).
Hypothesis draws the batch size, each argument's ``in_axes`` (``None`` too,
negative too) and ``out_axes``.  Programs are compiled with ``jit`` on both sides
(one compile per drawn shape); ``test_eager`` runs each case once without ``jit``.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import xform
from xform import lax
from xform.transforms.batching import RULES
from primitives import ops
from primitives.ops import GatherDimensionNumbers as GDN, ScatterDimensionNumbers as SDN
from primitives import collectives, custom, linalg

f32, i32, c64 = np.float32, np.int32, np.complex64


def U(shape, lo=-2.0, hi=2.0, dtype=f32):
    return lambda rng: rng.uniform(lo, hi, shape).astype(dtype)


def I(shape, lo, hi, dtype=i32):
    return lambda rng: rng.integers(lo, hi, shape).astype(dtype)


def B(shape):
    return lambda rng: rng.random(shape) < 0.5


def C(shape):
    return lambda rng: (rng.uniform(-1, 1, shape) + 1j * rng.uniform(-1, 1, shape)).astype(c64)


def PERM(n, k, extra=()):
    """k distinct indices in [0, n), shaped (k, 1) (scatter with unique indices)."""
    return lambda rng: rng.permutation(n)[:k].reshape((k,) + extra + (1,)).astype(i32)


CASES = []   # (id, fun, [arg generators])


def case(name, fun, *gens):
    CASES.append((f"{name}-{sum(c[0].startswith(name + '-') for c in CASES)}", fun, list(gens)))


# --- elementwise -----------------------------------------------------------------------------
_UNARY_DOMAIN = {"acosh": U((2, 3), 1.1, 3.0), "not": I((2, 3), -50, 50),
                 "population_count": I((2, 3), -50, 50), "clz": I((2, 3), -50, 50),
                 "real": C((2, 3)), "imag": C((2, 3)), "conj": C((2, 3)),
                 "is_finite": U((2, 3), -2, 2)}
for _n, _p in ops.unary.items():
    _params = {"integer_pow": {"y": 3}, "round": {"rounding_method": 0},
               "reduce_precision": {"exponent_bits": 5, "mantissa_bits": 2}}.get(_n, {})
    _gen = _UNARY_DOMAIN.get(_n, U((2, 3), 0.1, 0.9))
    case(_n, (lambda p, kw: lambda x: xform.core.bind(p, x, **kw))(_p, _params), _gen)
case("exp", lambda x: lax.exp(x), U((), -1, 1))  # a per-example scalar

_BINARY_GEN = {"and": I, "or": I, "xor": I, "shift_left": I, "shift_right_arithmetic": I,
               "shift_right_logical": I}


def _binary_gens(name, shape):
    if name in _BINARY_GEN:
        return I(shape, 0, 6), I(shape, 0, 6)
    if name in ("pow", "rem", "div"):
        return U(shape, 0.5, 2.0), U(shape, 0.5, 2.0)
    return U(shape), U(shape)


for _n, _p in ops.binary.items():
    f = (lambda p: lambda x, y: xform.core.bind(p, x, y))(_p)
    case(_n, f, *_binary_gens(_n, (2, 3)))
for _n in ("add", "mul", "max"):   # rank-0 operands mixed with full-shape ones
    f = (lambda p: lambda x, y: xform.core.bind(p, x, y))(ops.binary[_n])
    case(_n, f, U(()), U((3, 2)))
    case(_n, f, U((4,)), U(()))
case("add", lambda x: lax.add(x, 1.5), U((3,)))
case("and", lambda x, y: lax.bitwise_and(x, y), B((3,)), B(()))
for _n, _p in ops.compare.items():
    f = (lambda p: lambda x, y: xform.core.bind(p, x, y))(_p)
    case(_n, f, I((2, 3), 0, 3), I((2, 3), 0, 3))
    case(_n, f, U(()), U((4,)))
case("select_n", lambda p, a, b: lax.select_n(p, a, b), B((2, 3)), U((2, 3)), U((2, 3)))
case("select_n", lambda p, a, b: lax.select_n(p, a, b), B(()), U((2, 3)), U((2, 3)))
case("select_n", lambda p, a, b, c: lax.select_n(p, a, b, c), I((4,), 0, 3), U((4,)), U((4,)),
     U((4,)))
case("select_n", lambda p, a, b: lax.select_n(p, a, b), B(()), U(()), U(()))
case("convert_element_type", lambda x: lax.convert_element_type(x, i32), U((2, 3), -9, 9))
case("convert_element_type", lambda x: lax.convert_element_type(x, f32), I((3,), -9, 9))
case("bitcast_convert_type", lambda x: lax.bitcast_convert_type(x, i32), U((2, 3)))
case("bitcast_convert_type", lambda x: lax.bitcast_convert_type(x, np.int16), U((3,)))
case("bitcast_convert_type", lambda x: lax.bitcast_convert_type(x, f32), I((3, 2), 0, 2 ** 14,
                                                                          np.int16))

# --- structural ------------------------------------------------------------------------------
case("iota", lambda x: x + lax.broadcasted_iota(f32, (2, 3), 1), U((2, 3)))
# an unbatched key (a batched one follows JAX's rule, not a loop: test_rng_bit_generator.py)
case("rng_bit_generator", lambda x: x * lax.convert_element_type(lax.rng_bit_generator(
    np.array([5, 6, 7, 8], np.uint32), (2, 3), np.uint8)[1], f32), U((2, 3)))
case("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 3), (1,)), U((3,)))
case("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 4, 3), (0, 2)), U((2, 1)))
case("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 3), ()), U(()))
case("reshape", lambda x: lax.reshape(x, (3, 2)), U((2, 3)))
case("reshape", lambda x: lax.reshape(x, (2, 2, 3)), U((4, 3)))
case("reshape", lambda x: lax.reshape(x, (6,)), U((2, 3)))
case("transpose", lambda x: lax.transpose(x, (2, 0, 1)), U((2, 3, 4)))
case("slice", lambda x: lax.slice(x, (1, 0), (4, 3), (2, 1)), U((5, 4)))
case("slice", lambda x: lax.slice(x, (1,), (3,)), U((4,)))
case("pad", lambda x, v: lax.pad(x, v, ((1, 2, 1),)), U((3,)), U(()))
case("pad", lambda x, v: lax.pad(x, v, ((-1, 1, 0), (0, 1, 2))), U((3, 2)), U(()))
case("concatenate", lambda x, y: lax.concatenate([x, y], 0), U((2, 3)), U((1, 3)))
case("concatenate", lambda x, y, z: lax.concatenate([x, y, z], 1), U((2, 1)), U((2, 2)),
     U((2, 3)))
case("rev", lambda x: lax.rev(x, (0, 1)), U((3, 4)))
case("rev", lambda x: lax.rev(x, (1,)), U((2, 3)))
case("dynamic_slice", lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 2)), U((5, 4)),
     I((), -2, 6), I((), -2, 6))
case("dynamic_slice", lambda x, i: lax.dynamic_slice(x, (i,), (3,)), U((6,)), I((), 0, 5))
case("dynamic_update_slice", lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
     U((5, 4)), U((2, 3)), I((), -2, 6), I((), -2, 6))
case("dynamic_update_slice", lambda x, u, i: lax.dynamic_update_slice(x, u, (i,)),
     U((5,)), U((2,)), I((), 0, 5))

_take = GDN(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
_point = GDN(offset_dims=(), collapsed_slice_dims=(0, 1), start_index_map=(0, 1))
_bgather = GDN(offset_dims=(), collapsed_slice_dims=(1,), start_index_map=(1,),
               operand_batching_dims=(0,), start_indices_batching_dims=(0,))
case("gather", lambda x, i: lax.gather(x, i, _take, (1, 3)), U((5, 3)), I((4, 1), 0, 5))
case("gather", lambda x, i: lax.gather(x, i, _point, (1, 1)), U((4, 5)), I((3, 2), 0, 4))
case("gather", lambda x, i: lax.gather(x, i, _bgather, (1, 1)), U((3, 5)), I((3, 2, 1), 0, 5))
case("gather", lambda x, i: lax.gather(x, i, GDN((0,), (1,), (1,)), (2, 1)), U((4, 5)),
     I((3, 1), 0, 5))

_sc = SDN(update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))
_bsc = SDN(update_window_dims=(), inserted_window_dims=(1,), scatter_dims_to_operand_dims=(1,),
           operand_batching_dims=(0,), scatter_indices_batching_dims=(0,))
for _n in ops.SCATTER_VARIANTS:
    _fn = getattr(lax, _n)
    case(_n, (lambda g: lambda x, i, u: g(x, i, u, _sc))(_fn), U((5, 3)), PERM(5, 4), U((4, 3)))
    case(_n, (lambda g: lambda x, i, u: g(x, i, u, _bsc))(_fn), U((2, 5)),
         lambda rng: np.stack([rng.permutation(5)[:3] for _ in range(2)])[..., None].astype(i32),
         U((2, 3)))

# --- reductions ------------------------------------------------------------------------------
for _n in ("reduce_sum", "reduce_prod", "reduce_max", "reduce_min"):
    case(_n, (lambda g: lambda x: g(x, (0, 2)))(getattr(lax, _n)), U((2, 3, 4)))
    case(_n, (lambda g: lambda x: g(x, (0,)))(getattr(lax, _n)), U((3,)))
for _n in ("reduce_and", "reduce_or", "reduce_xor"):
    case(_n, (lambda g: lambda x: g(x, (1,)))(getattr(lax, _n)), B((2, 3)))
    case(_n, (lambda g: lambda x: g(x, (0,)))(getattr(lax, _n)), I((3, 2), 0, 8))
case("argmax", lambda x: lax.argmax(x, 1, i32), U((3, 4)))
case("argmin", lambda x: lax.argmin(x, 0, i32), U((3, 4)))
for _n in ops.REDUCE_WINDOW_VARIANTS:
    _fn = getattr(lax, _n)
    case(_n, (lambda g: lambda x: g(x, (2, 3), (1, 2), ((1, 0), (0, 1))))(_fn), U((5, 6)))
    case(_n, (lambda g: lambda x: g(x, (2,), (1,), ((0, 0),), (2,), (2,)))(_fn), U((4,)))

# --- contractions ----------------------------------------------------------------------------
case("fft", lambda x: xform.numpy.fft.fft(x), C((2, 3)))
case("fft", lambda x: xform.numpy.fft.irfft2(xform.numpy.fft.rfft2(x)), U((2, 4)))
case("dot_general", lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))), U((2, 3)),
     U((3, 4)))
case("dot_general", lambda x, y: lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
     U((2, 3, 4)), U((2, 4, 5)))
case("dot_general", lambda x, y: lax.dot_general(x, y, (((0,), (0,)), ((), ()))), U((3,)),
     U((3,)))
case("dot_general", lambda x, y: lax.dot_general(x, y, (((0,), (1,)), ((), ()))), U((3, 2)),
     U((4, 3)))
case("conv_general_dilated", lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "SAME"),
     U((1, 2, 5, 5)), U((3, 2, 2, 2)))
case("conv_general_dilated",
     lambda x, w: lax.conv_general_dilated(x, w, (2,), ((1, 0),), (1,), (2,),
                                           feature_group_count=2),
     U((2, 4, 6)), U((4, 2, 2)))
case("conv_general_dilated",
     lambda x, w: lax.conv_general_dilated(x, w, (1,), "VALID", batch_group_count=2),
     U((4, 2, 5)), U((4, 2, 3)))
case("conv_general_dilated",
     lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "VALID",
                                           dimension_numbers=("NHWC", "HWIO", "NHWC")),
     U((2, 4, 4, 3)), U((2, 2, 3, 2)))
case("sort", lambda x: lax.sort(x, 1), U((3, 4)))
case("sort", lambda k, v: lax.sort((k, v), 0, num_keys=1), I((5, 2), 0, 3), U((5, 2)))


# --- control flow and custom derivatives --------------------------------------------------------
from xform.lax import control_flow as cf   # noqa: E402

case("cond", lambda p, x: cf.cond(p > 0, lambda v: lax.sin(v), lambda v: v * 2.0, x),
     U(()), U((2, 3)))
case("cond", lambda i, x, y: cf.switch(i, [lambda a, b: a + b, lambda a, b: a * b,
                                           lambda a, b: a - b], x, y),
     I((), -1, 4), U((3,)), U(()))
case("while", lambda n, x: cf.while_loop(lambda c: c[0] < n,
                                         lambda c: (c[0] + 1, c[1] * 1.5 + 1.0), (0, x))[1],
     I((), 0, 4), U((3,)))
case("while", lambda x, y: cf.while_loop(lambda c: c[0] < 3,
                                         lambda c: (c[0] + 1, c[1] * y), (0, x))[1],
     U((2,)), U((2,)))
case("scan", lambda c, xs: cf.scan(lambda c, x: (c * 0.5 + x, lax.sin(c)), c, xs), U((3,)),
     U((4, 3)))
case("scan", lambda w, xs: cf.scan(lambda c, x: (c + x @ w, c), np.zeros(2, f32), xs,
                                   reverse=True), U((3, 2)), U((4, 3)))


@xform.custom_jvp
def _softplus(x):
    return lax.log1p(lax.exp(x))


_softplus.defjvp(lambda p, t: (_softplus(p[0]), t[0] * lax.logistic(p[0])))


@xform.custom_vjp
def _clip_grad(x, y):
    return x * y


_clip_grad.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (g * r[1], g * r[0]))

case("custom_jvp_call", lambda x: _softplus(x) * 2.0, U((2, 3)))
case("custom_vjp_call", lambda x, y: _clip_grad(x, y), U((3,)), U((3,)))

# checkpoint / remat (primitives/remat.py): more in test_checkpoint.py
case("checkpoint", xform.checkpoint(lambda x, y: lax.sin(x) * y), U((2, 3)), U((2, 3)))
case("name", lambda x: lax.sin(xform.checkpoint_name(x, "a")), U((2, 3)))

# shard_map (primitives/shard_map.py): over a one-device mesh here; over 8 devices, with
# collectives, in tests/xform/higher_order/test_shard_map.py
_mesh1 = xform.sharding.Mesh(np.array(xform.devices()[:1]), ("x",))
case("shard_map", xform.shard_map(lambda x, y: (lax.sin(x) * y, y.sum()), mesh=_mesh1,
                                  in_specs=(xform.P("x"), xform.P()),
                                  out_specs=(xform.P(None, "x"), xform.P())),
     U((2, 3)), U((2, 3)))


def _case_ids():
    return [c[0] for c in CASES]


_PER_EXAMPLE = {}   # id -> jit(f), compiled once per case


def _jf(cid, fun):
    if cid not in _PER_EXAMPLE:
        _PER_EXAMPLE[cid] = xform.jit(fun)
    return _PER_EXAMPLE[cid]


def _expected(cid, fun, args, in_axes, size, out_axis):
    outs = []
    for b in range(size):
        ex = [a if ax is None else np.take(a, b, axis=ax) for a, ax in zip(args, in_axes)]
        outs.append(xform.tree_util.tree_leaves(_jf(cid, fun)(*ex)))
    result = []
    for k in range(len(outs[0])):
        stacked = np.stack([np.asarray(o[k]) for o in outs])
        nd = stacked.ndim
        result.append(np.moveaxis(stacked, 0, out_axis % nd))
    return result


def _make_args(gens, in_axes, size, rng):
    args = []
    for g, ax in zip(gens, in_axes):
        if ax is None:
            args.append(np.asarray(g(rng)))
        else:
            stacked = np.stack([np.asarray(g(rng)) for _ in range(size)])
            args.append(np.moveaxis(stacked, 0, ax % stacked.ndim))
    return args


def _check(got, want, cid):
    got = xform.tree_util.tree_leaves(got)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g = np.asarray(g)
        assert g.shape == w.shape and g.dtype == w.dtype, (cid, g.shape, w.shape, g.dtype, w.dtype)
        if w.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5, equal_nan=True, err_msg=cid)
        else:
            np.testing.assert_array_equal(g, w, err_msg=cid)


def _out_rank(fun, gens):
    rng = np.random.default_rng(0)
    shapes = [xform.ShapeDtypeStruct(np.shape(g(rng)), np.asarray(g(rng)).dtype) for g in gens]
    outs = xform.tree_util.tree_leaves(xform.eval_shape(fun, *shapes))
    return min(len(o.shape) for o in outs)


@st.composite
def _draw_axes(draw, gens, out_rank):
    rng = np.random.default_rng(0)
    ranks = [np.ndim(g(rng)) for g in gens]
    in_axes = [draw(st.one_of(st.none(), st.integers(-(r + 1), r))) for r in ranks]
    if all(a is None for a in in_axes):
        k = draw(st.integers(0, len(ranks) - 1))
        in_axes[k] = 0
    out_axis = draw(st.integers(-(out_rank + 1), out_rank))
    size = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2 ** 16))
    return in_axes, out_axis, size, seed


@pytest.mark.parametrize("cid,fun,gens", CASES, ids=_case_ids())
@settings(max_examples=4)
@given(data=st.data())
def test_rule_vs_loop(cid, fun, gens, data):
    in_axes, out_axis, size, seed = data.draw(_draw_axes(gens, _out_rank(fun, gens)))
    rng = np.random.default_rng(seed)
    args = _make_args(gens, in_axes, size, rng)
    got = xform.jit(xform.vmap(fun, tuple(in_axes), out_axis))(*args)
    _check(got, _expected(cid, fun, args, in_axes, size, out_axis), cid)


@pytest.mark.parametrize("cid,fun,gens", CASES, ids=_case_ids())
def test_eager(cid, fun, gens):
    """Without jit: the batched program runs op by op; in_axes all 0, out_axes 0."""
    rng = np.random.default_rng(1)
    in_axes = [0] * len(gens)
    args = _make_args(gens, in_axes, 2, rng)
    got = xform.vmap(fun)(*args)
    _check(got, _expected(cid, fun, args, in_axes, 2, 0), cid)


def _prims_in(fun, gens, in_axes):
    rng = np.random.default_rng(0)
    args = _make_args(gens, in_axes, 2, rng)
    closed = xform.make_jaxpr(fun)(*[a if ax is None else np.take(a, 0, ax)
                                     for a, ax in zip(args, in_axes)])
    return {e.prim for e in closed.eqns}


def test_every_primitive_has_a_rule_and_a_case():
    missing_rule = [n for n, p in ops.REGISTRY.items() if p not in RULES]
    assert not missing_rule, f"meta-operators without a batching rule: {missing_rule}"
    covered = set()
    for cid, fun, gens in CASES:
        covered |= _prims_in(fun, gens, [None] * len(gens))
    covered |= set(collectives.collective.values())   # tested in test_vmap.py
    covered.add(custom.custom_vjp_lin)                 # test_custom_vjp_lin_rule below
    covered |= set(linalg.linalg.values())             # tested in test_linalg.py
    covered.add(ops.REGISTRY["sharding_constraint"])  # over 8 devices: api/test_sharding.py
    covered |= {ops.REGISTRY["pure_callback"], ops.REGISTRY["io_callback"]}  # test_callbacks
    covered.add(ops.REGISTRY["check"])   # raises eagerly: experimental/test_checkify.py
    covered.add(ops.REGISTRY["call_exported"])   # api/test_export.py (vmap of a call)
    missing_case = [n for n, p in ops.REGISTRY.items() if p not in covered]
    assert not missing_case, f"meta-operators without a batching test case: {missing_case}"


def test_custom_vjp_lin_rule():
    """custom_vjp_lin exists only between the JVP and transpose passes of reverse mode,
    so no user program hands it to vmap; check its rule on a hand-built jaxpr."""
    from primitives.core import ClosedJaxpr, Eqn, Jaxpr, ShapedArray, Var
    from xform.transforms.batching import batch_jaxpr
    a = ShapedArray((3,), np.dtype(f32))
    res, t = Var(a), Var(a)
    out = Var(a)
    bwd = lambda r, cts: [cts[0] * r[0]]
    eqn = Eqn(custom.custom_vjp_lin, [res, t], [out],
              dict(bwd=bwd, num_res=1, lin_mask=(True,), out_avals=(a,), name="f"))
    closed = ClosedJaxpr(Jaxpr([], [res, t], [eqn], [out]), [])
    new, dims = batch_jaxpr(closed, [1, None], 4, None)
    assert dims == [0]
    e, = [e for e in new.eqns if e.prim is custom.custom_vjp_lin]
    assert [v.aval.shape for v in e.outvars] == [(4, 3)]
    r, c = np.arange(12, dtype=f32).reshape(4, 3), np.ones((4, 3), f32)
    got = e.params["bwd"]([r], [c])
    np.testing.assert_allclose(np.asarray(got[0]), r * c)
