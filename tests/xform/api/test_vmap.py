"""vmap: the API (in_axes/out_axes/kwargs/axis_size), nesting and jit, the IR it
produces, collectives, control flow, errors, compositions with autodiff, and
random programs compared with ``jax.vmap``.  (Per-rule tests: test_vmap_rules.py.)"""
import collections
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jax
import jax.numpy as jjnp

import xform
import xform.numpy as jnp
from xform import lax

f32 = np.float32
RNG = np.random.default_rng(0)


def R(*shape, dtype=f32):
    return RNG.normal(size=shape).astype(dtype)


def close(a, b, rtol=1e-5, atol=1e-5):
    la, lb = xform.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, (x.shape, y.shape)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


# --- in_axes / out_axes / kwargs / axis_size ----------------------------------------------------

def test_default_axes_and_negative_axes():
    x, y = R(3, 4), R(4, 3)
    f = lambda a, b: jnp.sin(a) * b
    close(xform.vmap(f)(x, y.T), jax.vmap(lambda a, b: jjnp.sin(a) * b)(x, y.T))
    close(xform.vmap(f, (0, -1))(x, y), jax.vmap(lambda a, b: jjnp.sin(a) * b, (0, -1))(x, y))
    close(xform.vmap(f, (-2, 1), -1)(x, y),
          jax.vmap(lambda a, b: jjnp.sin(a) * b, (-2, 1), -1)(x, y))


def test_in_axes_none_and_python_scalars():
    x, w = R(5, 3), R(3)
    out = xform.vmap(lambda a, b, s: a * b + s, (0, None, None))(x, w, 2.0)
    close(out, x * w + 2.0)
    out = xform.vmap(lambda a, n: a * n, [1, None])(x, 3)     # a list is taken as a tuple
    close(out, (x * 3).T)


def test_pytree_in_axes_prefix_and_kwargs():
    params = {"w": R(3, 2), "b": R(2)}
    xs = R(4, 3)

    def f(p, x, scale=1.0):
        return jnp.tanh(x @ p["w"] + p["b"]) * scale

    def fj(p, x, scale=1.0):
        return jjnp.tanh(x @ p["w"] + p["b"]) * scale

    close(xform.vmap(f, (None, 0))(params, xs), jax.vmap(fj, (None, 0))(params, xs))
    bs = R(4, 2)
    close(xform.vmap(f, ({"w": None, "b": 0}, 0))({"w": params["w"], "b": bs}, xs),
          jax.vmap(fj, ({"w": None, "b": 0}, 0))({"w": params["w"], "b": bs}, xs))
    scales = R(4)   # keyword arguments are mapped over axis 0
    close(xform.vmap(f, (None, 0))(params, xs, scale=scales),
          jax.vmap(fj, (None, 0))(params, xs, scale=scales))


def test_nested_tuple_in_axes_and_namedtuple():
    P = collections.namedtuple("P", "a b")
    a, b = R(2, 3), R(3, 2)
    f = lambda p, c: p.a + p.b.T + c
    fj = lambda p, c: p.a + p.b.T + c
    c = R(3)
    close(xform.vmap(f, (P(0, 1), None))(P(a, b), c), jax.vmap(fj, (P(0, 1), None))(P(a, b), c))


def test_out_axes_pytree_none_and_unbatched_outputs():
    x = R(4, 3)
    w = R(3)

    def f(a):
        return {"y": a * 2.0, "w": w, "s": jnp.sum(a)}

    def fj(a):
        return {"y": a * 2.0, "w": jjnp.asarray(w), "s": jjnp.sum(a)}
    oa = {"y": 1, "w": None, "s": 0}
    close(xform.vmap(f, out_axes=oa)(x), jax.vmap(fj, out_axes=oa)(x))
    # an unbatched output with an int out_axes is broadcast along the batch
    close(xform.vmap(lambda a: (a, w), out_axes=(0, 1))(x),
          jax.vmap(lambda a: (a, jjnp.asarray(w)), out_axes=(0, 1))(x))


def test_axis_size_without_mapped_args():
    w = R(3)
    out = xform.vmap(lambda v: v * 2.0, in_axes=None, axis_size=5)(w)
    close(out, np.broadcast_to(w * 2.0, (5, 3)))
    out = xform.vmap(lambda: jnp.ones(2), axis_size=3)()
    close(out, np.ones((3, 2)))


def test_closure_over_array_and_identity():
    c = R(3)
    x = R(2, 3)
    close(xform.vmap(lambda a: a + c)(x), x + c)
    close(xform.vmap(lambda a: a)(x), x)
    close(xform.vmap(lambda a: a, 0, 1)(x), x.T)


# --- nesting and jit ----------------------------------------------------------------------------

def test_nested_vmap_and_jit():
    x, y = R(2, 3, 4), R(4, 5)
    f = lambda a, b: jnp.tanh(a @ b)
    fj = lambda a, b: jjnp.tanh(a @ b)
    want = jax.vmap(jax.vmap(fj, (0, None)), (0, None))(x, y)
    close(xform.vmap(xform.vmap(f, (0, None)), (0, None))(x, y), want)
    jf = xform.jit(xform.vmap(xform.vmap(f, (0, None)), (0, None)))
    close(jf(x, y), want)
    close(jf(x, y), want)
    assert jf.trace_count == 1
    # inner and outer axes that differ, and vmap of jit
    xt = np.transpose(x, (1, 0, 2))
    want = jax.vmap(jax.vmap(fj, (0, None), 1), (1, None))(xt, y)
    close(xform.vmap(xform.vmap(xform.jit(f), (0, None), 1), (1, None))(xt, y), want)


def test_vmap_of_matmul_is_one_dot_general():
    x, y = R(7, 3, 4), R(7, 4, 5)
    closed = xform.make_jaxpr(xform.vmap(lambda a, b: a @ b))(x, y)
    names = [e.prim.name for e in closed.eqns]
    assert names.count("dot_general") == 1 and "transpose" not in names, names
    closed = xform.make_jaxpr(xform.vmap(lambda a, b: a @ b, (0, None)))(x, y[0])
    names = [e.prim.name for e in closed.eqns]
    assert names == ["dot_general"], names


# --- the IR: no transposes/broadcasts that JAX does not have ------------------------------------

def _names(closed_or_jaxpr, counter=None):
    """Equation names, counting the equations inside JAX's nested ``jit`` calls too."""
    counter = collections.Counter() if counter is None else counter
    j = getattr(closed_or_jaxpr, "jaxpr", closed_or_jaxpr)
    for e in j.eqns:
        if hasattr(e, "prim"):
            counter[e.prim.name] += 1
        elif "jaxpr" in e.params:
            _names(e.params["jaxpr"], counter)
        else:
            counter[e.primitive.name] += 1
    return counter


_ELEMENTWISE = [
    (lambda a, b: a + b, lambda a, b: a + b),
    (lambda a, b: jnp.sin(a) * b + 2.0, lambda a, b: jjnp.sin(a) * b + 2.0),
    (lambda a, b: jnp.maximum(a, 0.0) * jnp.exp(b), lambda a, b: jjnp.maximum(a, 0.0) * jjnp.exp(b)),
    (lambda a, b: jnp.where(a > b, a, b * 3.0), lambda a, b: jjnp.where(a > b, a, b * 3.0)),
]


@pytest.mark.parametrize("k", range(len(_ELEMENTWISE)))
@pytest.mark.parametrize("in_axes,shapes", [
    ((0, 0), ((5, 3), (5, 3))), ((0, None), ((5, 3), (3,))), ((1, 0), ((3, 5), (5, 3))),
    ((0, 0), ((5, 3), (5,))), ((None, 0), ((), (5, 2))), ((1, None), ((3, 5), ())),
])
def test_elementwise_ir_has_no_extra_transpose_or_broadcast(k, in_axes, shapes):
    f, fj = _ELEMENTWISE[k]
    args = [R(*s) for s in shapes]
    ours = _names(xform.make_jaxpr(xform.vmap(f, in_axes))(*args))
    theirs = _names(jax.make_jaxpr(jax.vmap(fj, in_axes))(*args))
    for name in ("transpose", "broadcast_in_dim"):
        assert ours[name] <= theirs[name], (name, dict(ours), dict(theirs))
    close(xform.vmap(f, in_axes)(*args), jax.vmap(fj, in_axes)(*args))


# --- collectives ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["psum", "pmean", "pmax", "pmin"])
def test_reducing_collectives(name):
    x = R(4, 3)
    f = lambda a: getattr(lax, name)(a, "i") - a
    fj = lambda a: getattr(jax.lax, name)(a, "i") - a
    close(xform.vmap(f, axis_name="i")(x), jax.vmap(fj, axis_name="i")(x))
    close(xform.jit(xform.vmap(f, axis_name="i"))(x), jax.vmap(fj, axis_name="i")(x))
    # an operand that is not batched
    w = R(3)
    g = lambda a: getattr(lax, name)(w, "i") + a
    gj = lambda a: getattr(jax.lax, name)(w, "i") + a
    close(xform.vmap(g, axis_name="i")(x), jax.vmap(gj, axis_name="i")(x))


def test_softmax_normalisation_with_psum_and_pytrees():
    x = R(5, 2)
    f = lambda a: jnp.exp(a) / lax.psum(jnp.exp(a), "b")
    fj = lambda a: jjnp.exp(a) / jax.lax.psum(jjnp.exp(a), "b")
    close(xform.vmap(f, axis_name="b")(x), jax.vmap(fj, axis_name="b")(x))
    t = {"u": x, "v": x[:, 0]}
    close(xform.vmap(lambda d: lax.psum(d, "b"), axis_name="b")(t),
          jax.vmap(lambda d: jax.lax.psum(d, "b"), axis_name="b")(t))


@pytest.mark.parametrize("axis,tiled", [(0, False), (1, False), (-1, False), (0, True), (1, True)])
def test_all_gather(axis, tiled):
    x = R(3, 2, 4)
    f = lambda a: lax.all_gather(a, "i", axis=axis, tiled=tiled)
    fj = lambda a: jax.lax.all_gather(a, "i", axis=axis, tiled=tiled)
    close(xform.vmap(f, axis_name="i")(x), jax.vmap(fj, axis_name="i")(x))
    close(xform.vmap(f, axis_name="i", out_axes=1)(x),
          jax.vmap(fj, axis_name="i", out_axes=1)(x))


def test_axis_index():
    x = R(4, 2)
    f = lambda a: a * lax.axis_index("i")
    fj = lambda a: a * jax.lax.axis_index("i")
    close(xform.vmap(f, axis_name="i")(x), jax.vmap(fj, axis_name="i")(x))
    close(xform.vmap(lambda: lax.axis_index("i"), axis_name="i", axis_size=3)(), np.arange(3))


def test_collectives_over_nested_axes():
    x = R(2, 3, 4)

    def f(a):
        return (lax.psum(a, "i"), lax.psum(a, "j"), lax.psum(a, ("i", "j")),
                lax.axis_index("i") * 10 + lax.axis_index("j"), lax.all_gather(a, "i"))

    def fj(a):
        return (jax.lax.psum(a, "i"), jax.lax.psum(a, "j"), jax.lax.psum(a, ("i", "j")),
                jax.lax.axis_index("i") * 10 + jax.lax.axis_index("j"),
                jax.lax.all_gather(a, "i"))
    ours = xform.vmap(xform.vmap(f, axis_name="j"), axis_name="i")(x)
    theirs = jax.vmap(jax.vmap(fj, axis_name="j"), axis_name="i")(x)
    close(ours, theirs)
    close(xform.jit(xform.vmap(xform.vmap(f, axis_name="j"), axis_name="i"))(x), theirs)


def test_unknown_axis_name_is_a_name_error():
    x = R(3, 2)
    with pytest.raises(NameError, match="'k'"):
        xform.vmap(lambda a: lax.psum(a, "k"), axis_name="i")(x)
    with pytest.raises(NameError, match="unbound axis name"):
        lax.psum(x, "i")
    with pytest.raises(NameError, match="'j'"):
        xform.vmap(lambda a: lax.axis_index("j"))(x)


# --- control flow ----------------------------------------------------------------------------------

def _cf():
    import xform.lax.control_flow as cf
    return cf


def test_cond_batched_and_unbatched_predicate():
    cf = _cf()
    x = R(4, 3)
    f = lambda a, s: cf.cond(s > 0, lambda v: jnp.sin(v), lambda v: v * 2.0, a)
    fj = lambda a, s: jax.lax.cond(s > 0, lambda v: jjnp.sin(v), lambda v: v * 2.0, a)
    s = np.array([1.0, -1.0, 2.0, -3.0], f32)
    close(xform.vmap(f)(x, s), jax.vmap(fj)(x, s))
    close(xform.vmap(f, (0, None))(x, -1.0), jax.vmap(fj, (0, None))(x, -1.0))
    close(xform.jit(xform.vmap(f))(x, s), jax.vmap(fj)(x, s))


def test_while_loop_batched_predicate_and_scan():
    cf = _cf()
    n = np.array([1, 4, 0, 2], np.int32)
    x = R(3)
    f = lambda k, a: cf.while_loop(lambda c: c[0] < k, lambda c: (c[0] + 1, c[1] * 1.5), (0, a))
    fj = lambda k, a: jax.lax.while_loop(lambda c: c[0] < k, lambda c: (c[0] + 1, c[1] * 1.5),
                                         (0, a))
    close(xform.vmap(f, (0, None))(n, x), jax.vmap(fj, (0, None))(n, x))
    xs = R(2, 5, 3)
    g = lambda c, v: cf.scan(lambda c, y: (c * 0.5 + y, jnp.sin(c)), c, v)
    gj = lambda c, v: jax.lax.scan(lambda c, y: (c * 0.5 + y, jjnp.sin(c)), c, v)
    close(xform.vmap(g, (None, 1))(x, xs.transpose(1, 0, 2)),
          jax.vmap(gj, (None, 1))(x, xs.transpose(1, 0, 2)))
    c0 = R(2, 3)
    close(xform.vmap(g)(c0, xs), jax.vmap(gj)(c0, xs))


def test_scan_with_axis_index_in_body():
    cf = _cf()
    f = lambda a: cf.scan(lambda c, y: (c + y * lax.axis_index("i"), c), a, jnp.ones((3,)))
    fj = lambda a: jax.lax.scan(lambda c, y: (c + y * jax.lax.axis_index("i"), c), a,
                                jjnp.ones((3,)))
    z = np.zeros(4, f32)
    close(xform.vmap(f, axis_name="i")(z), jax.vmap(fj, axis_name="i")(z))


# --- bad input ------------------------------------------------------------------------------------

def test_mismatched_sizes_list_every_argument():
    with pytest.raises(ValueError) as e:
        xform.vmap(lambda a, b: a + b)(np.ones((3, 2), f32), np.ones((4, 2), f32))
    msg = str(e.value)
    assert "argument a of shape (3, 2) has size 3 along axis 0" in msg
    assert "argument b of shape (4, 2) has size 4 along axis 0" in msg
    with pytest.raises(ValueError, match="axis_size=5"):
        xform.vmap(lambda a: a, axis_size=5)(np.ones(3, f32))
    with pytest.raises(ValueError, match=r"x\['u'\] of shape \(2,\)"):
        xform.vmap(lambda x: x["u"] + x["v"])({"u": np.ones(2, f32), "v": np.ones(3, f32)})


def test_in_axes_tree_mismatch():
    x = np.ones((3, 2), f32)
    with pytest.raises(ValueError, match=r"len\(in_axes\)=2, len\(args\)=1"):
        xform.vmap(lambda a: a, (0, 0))(x)
    with pytest.raises(ValueError, match="tree prefix.*at p"):
        xform.vmap(lambda p: p[0], ((0, 0, 0),))((x, x))
    with pytest.raises(ValueError, match=r"tree prefix.*\['b'\]"):
        xform.vmap(lambda p: p["a"], ({"a": 0, "b": 0},))({"a": x, "c": x})
    with pytest.raises(TypeError, match="in_axes must be an int, None, or a tuple"):
        xform.vmap(lambda a: a, {"a": 0})(x)


def test_axis_out_of_range_names_argument_and_shape():
    with pytest.raises(ValueError, match=r"argument b \(of shape \(3, 2\)\) along axis 2"):
        xform.vmap(lambda a, b: a + b, (0, 2))(np.ones((3, 2), f32), np.ones((3, 2), f32))
    with pytest.raises(ValueError, match=r"argument s \(of shape \(\)\)"):
        xform.vmap(lambda a, s: a * s)(np.ones(3, f32), 2.0)
    with pytest.raises(ValueError, match="out_axes=3 is out of range"):
        xform.vmap(lambda a: a, out_axes=3)(np.ones((3, 2), f32))


def test_no_mapped_argument_and_out_axes_none():
    with pytest.raises(ValueError, match="at least one non-None value in in_axes"):
        xform.vmap(lambda a: a, None)(np.ones(3, f32))
    with pytest.raises(ValueError, match="mapped output but out_axes is None"):
        xform.vmap(lambda a: a, out_axes=None)(np.ones(3, f32))


# --- random programs vs jax.vmap --------------------------------------------------------------------

W = R(4, 3)


def _ops(shape):
    """Ops valid on a per-example shape: (name, fn(m, x, y), new shape)."""
    nd = len(shape)
    out = [("sin", lambda m, x, y: m.sin(x), shape),
           ("tanh", lambda m, x, y: m.tanh(x) * 2.0, shape),
           ("addy", lambda m, x, y: x + m.sum(y), shape),
           ("mulc", lambda m, x, y: x * 0.5 + 1.0, shape),
           ("max0", lambda m, x, y: m.maximum(x, 0.0), shape)]
    if nd >= 1:
        out += [("flip", lambda m, x, y: m.flip(x, -1), shape),
                ("sort", lambda m, x, y: m.sort(x, axis=-1), shape),
                ("cat", lambda m, x, y: m.concatenate([x, x], axis=-1),
                 shape[:-1] + (2 * shape[-1],)),
                ("sum", lambda m, x, y: m.sum(x, axis=-1), shape[:-1]),
                ("where", lambda m, x, y: m.where(x > 0, x, m.sum(y)), shape)]
        if shape[-1] >= 2:
            out += [("slice", lambda m, x, y: x[..., 1:], shape[:-1] + (shape[-1] - 1,))]
        if shape[-1] == 4:
            out += [("matmul", lambda m, x, y: x @ W, shape[:-1] + (3,))]
    if nd >= 2:
        out += [("T", lambda m, x, y: m.swapaxes(x, 0, -1), shape[::-1][:1] + shape[1:-1]
                 + shape[:1]),
                ("flat", lambda m, x, y: m.reshape(x, (-1,)), (int(np.prod(shape)),))]
    if nd <= 1:
        out += [("outer", lambda m, x, y: x[..., None] * m.ones((2,)), shape + (2,))]
    return out


@st.composite
def _programs(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    start = shape
    prog = []
    for _ in range(draw(st.integers(1, 5))):
        choices = _ops(shape)
        name, fn, shape = choices[draw(st.integers(0, len(choices) - 1))]
        prog.append((name, fn))
    in_axis = draw(st.integers(-(len(start) + 1), len(start)))
    y_axis = draw(st.sampled_from([None, 0]))
    out_axis = draw(st.integers(-(len(shape) + 1), len(shape)))
    size = draw(st.integers(1, 3))
    nest = draw(st.booleans())
    return start, prog, in_axis, y_axis, out_axis, size, nest


def _run(prog, m):
    def f(x, y):
        for _, fn in prog:
            x = fn(m, x, y)
        return x
    return f


@settings(max_examples=20)
@given(_programs())
def test_random_programs_vs_jax(p):
    start, prog, in_axis, y_axis, out_axis, size, nest = p
    rng = np.random.default_rng(len(prog))
    x = rng.normal(size=(size,) + start).astype(f32)
    x = np.moveaxis(x, 0, in_axis % x.ndim)
    y = rng.normal(size=(size, 2) if y_axis == 0 else (2,)).astype(f32)
    fx, fj = _run(prog, jnp), _run(prog, jjnp)
    vx = xform.vmap(fx, (in_axis, y_axis), out_axis)
    vj = jax.vmap(fj, (in_axis, y_axis), out_axis)
    if nest:   # an outer vmap over a second batch axis, inside jit
        x2 = np.stack([x, x * 0.5 + 1.0])
        y2 = np.stack([y, y - 1.0])
        close(xform.jit(xform.vmap(vx))(x2, y2), jax.vmap(vj)(x2, y2), rtol=1e-4, atol=1e-4)
    else:
        close(vx(x, y), vj(x, y), rtol=1e-4, atol=1e-4)


# --- compositions with autodiff ---------------------------------------------------------------------

def _mlp(m):
    def loss(params, x, y):
        h = m.tanh(x @ params["w1"] + params["b1"])
        out = h @ params["w2"]
        return m.mean((out - y) ** 2)
    return loss


PARAMS = {"w1": R(3, 5) * 0.5, "b1": R(5) * 0.1, "w2": R(5, 2) * 0.5}


def test_per_example_grads_vmap_of_grad():
    xs, ys = R(6, 3), R(6, 2)
    ours = xform.jit(xform.vmap(xform.grad(_mlp(jnp)), in_axes=(None, 0, 0)))(PARAMS, xs, ys)
    theirs = jax.vmap(jax.grad(_mlp(jjnp)), in_axes=(None, 0, 0))(PARAMS, xs, ys)
    close(ours, theirs, rtol=1e-4, atol=1e-5)
    close(xform.vmap(xform.grad(_mlp(jnp)), in_axes=(None, 0, 0))(PARAMS, xs, ys), theirs,
          rtol=1e-4, atol=1e-5)


def test_grad_of_vmap():
    xs = R(4, 3)
    f = lambda w: jnp.sum(xform.vmap(lambda x: jnp.sin(x @ w))(xs) ** 2)
    fj = lambda w: jjnp.sum(jax.vmap(lambda x: jjnp.sin(x @ w))(xs) ** 2)
    w = R(3, 2)
    close(xform.grad(f)(w), jax.grad(fj)(w), rtol=1e-4)
    close(xform.jit(xform.grad(f))(w), jax.grad(fj)(w), rtol=1e-4)


def test_jacobians_vs_jax():
    x = R(3)
    f = lambda v: jnp.sin(v) * jnp.sum(v ** 2)
    fj = lambda v: jjnp.sin(v) * jjnp.sum(v ** 2)
    close(xform.jacrev(f)(x), jax.jacrev(fj)(x), rtol=1e-4)
    close(xform.jacfwd(f)(x), jax.jacfwd(fj)(x), rtol=1e-4)
    xs = R(2, 3)
    close(xform.vmap(xform.jacrev(f))(xs), jax.vmap(jax.jacrev(fj))(xs), rtol=1e-4)


def test_grad_through_collective():
    x = R(4, 3)
    f = lambda v: jnp.sum(xform.vmap(lambda a: a * lax.pmean(a, "i"), axis_name="i")(v))
    fj = lambda v: jjnp.sum(jax.vmap(lambda a: a * jax.lax.pmean(a, "i"), axis_name="i")(v))
    close(xform.grad(f)(x), jax.grad(fj)(x), rtol=1e-4)


def test_custom_rules_survive_vmap():
    """grad(vmap(f)) must use f's custom rule, not differentiate its primal code."""

    @xform.custom_jvp
    def f(x):
        return jnp.sin(x)
    f.defjvp(lambda p, t: (f(p[0]), t[0] * 3.0))   # deliberately not cos

    @xform.custom_vjp
    def g(x):
        return jnp.sin(x)
    g.defvjp(lambda x: (jnp.sin(x), x), lambda r, ct: (ct * 5.0,))

    x = R(4)
    for h, slope in ((f, 3.0), (g, 5.0)):
        close(xform.grad(lambda v: jnp.sum(xform.vmap(h)(v)))(x), np.full(4, slope))
        # (h(v) * 2.0: grad of a bare scalar custom_vjp hands bwd a Literal; reported)
        close(xform.vmap(xform.grad(lambda v: h(v) * 2.0))(x), np.full(4, 2 * slope))
        close(xform.jit(xform.grad(lambda v: jnp.sum(xform.vmap(h)(v) * v)))(x),
              np.sin(x) + slope * x, rtol=1e-4)


def test_unmapped_python_scalars_reach_fun_untraced_as_in_jax():
    """in_axes=None on a Python scalar passes the value itself (JAX does not trace it):
    Python control flow and shapes may depend on it; results match JAX's, weak types too."""
    import jax.numpy as jnp_ref

    def make(np_):
        def f(x, flag, n):
            return x * 2 + np_.zeros(n).sum() if flag else x
        return f
    x = np.arange(3.0, dtype=np.float32)
    for flag in (True, False):
        got = xform.vmap(make(jnp), in_axes=(0, None, None))(x, flag, 4)
        want = jax.vmap(make(jnp_ref), in_axes=(0, None, None))(x, flag, 4)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    for args, axes in (((2.0,), None), ((np.ones(2, np.float32), 3), (0, None))):
        got = xform.vmap(lambda *a: tuple(v * 2 for v in a), in_axes=axes, axis_size=2)(*args)
        want = jax.vmap(lambda *a: tuple(v * 2 for v in a), in_axes=axes, axis_size=2)(*args)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.weak_type == w.weak_type and g.shape == w.shape
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
