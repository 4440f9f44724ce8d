"""Structured control flow (``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``,
``map``): each against JAX and against the equivalent Python loop, eager and under jit,
with pytree carries, closures, nesting, bad input, printing and the type checker.

Every distinct program is one XLA compile (~25 ms, for us and for the JAX oracle), so
shapes are small and fixed, and the property tests are bounded.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp_ref
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import xform
import xform.numpy as jnp
from xform import lax
from xform.core import trace as xcore
from primitives import Eqn, Jaxpr, ShapedArray, check_jaxpr, control, JaxprTypeError

jlax = jax.lax

SETTINGS = settings(max_examples=12, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def close(got, want, rtol=1e-5, atol=1e-6):
    gl, gt = jax.tree_util.tree_flatten(jax.tree_util.tree_map(np.asarray, _to_np(got)))
    wl, wt = jax.tree_util.tree_flatten(jax.tree_util.tree_map(np.asarray, want))
    assert gt == wt, (gt, wt)
    for g, w in zip(gl, wl):
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _to_np(tree):
    leaves, td = xform.tree_util.tree_flatten(tree)
    rebuilt = xform.tree_util.tree_unflatten(td, [np.asarray(x) for x in leaves])
    return rebuilt


def both(fun_x, fun_j, *args, jit=True, **kw):
    """Run ``fun_x`` eagerly and (optionally) under xform.jit; compare with ``fun_j`` in JAX."""
    want = fun_j(*[jnp_ref.asarray(a) if isinstance(a, np.ndarray) else a for a in args])
    close(fun_x(*[jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]), want,
          **kw)
    if jit:
        close(xform.jit(fun_x)(*[jnp.asarray(a) if isinstance(a, np.ndarray) else a
                                 for a in args]), want, **kw)
    return want


RNG = np.random.default_rng(0)
X = RNG.standard_normal(5).astype(np.float32)
M = RNG.standard_normal((4, 3)).astype(np.float32)


# --- cond / switch ---------------------------------------------------------------------------

@pytest.mark.parametrize("pred", [True, False])
def test_cond_matches_jax_and_python(pred):
    def make(L, np_):
        def f(p, x, m):
            return L.cond(p, lambda a, b: {"s": np_.sin(a) * 2, "t": (b.sum(), b)},
                          lambda a, b: {"s": a - 1, "t": (b.max(), b * b)}, x, m)
        return f
    want = both(make(lax, jnp), make(jlax, jnp_ref), pred, X, M)
    py = ({"s": np.sin(X) * 2, "t": (M.sum(), M)} if pred
          else {"s": X - 1, "t": (M.max(), M * M)})
    close(want, py)


def test_cond_traced_and_integer_predicates():
    f_x = lambda x: lax.cond(x[0] > 0, lambda a: a * 3, lambda a: -a, x)
    f_j = lambda x: jlax.cond(x[0] > 0, lambda a: a * 3, lambda a: -a, x)
    for x in (X, -np.abs(X)):
        both(f_x, f_j, x)
    # integer predicates: nonzero is true
    for p in (0, 3, -1):
        g_x = lambda p, x: lax.cond(p, lambda a: a + 1, lambda a: a - 1, x)
        g_j = lambda p, x: jlax.cond(p, lambda a: a + 1, lambda a: a - 1, x)
        both(g_x, g_j, np.int32(p), X)


def test_cond_concrete_predicate_traces_both_branches():
    called = []

    def t(a):
        called.append("t")
        return a + 1

    def f(a):
        called.append("f")
        return a - 1
    out = lax.cond(True, t, f, jnp.asarray(X))
    assert sorted(called) == ["f", "t"]
    close(out, X + 1)


def test_cond_no_operands_and_python_scalar_outputs():
    f_x = lambda x: lax.cond(x[1] > x[0], lambda: (x * 2, 1.0), lambda: (x, 2.0))
    f_j = lambda x: jlax.cond(x[1] > x[0], lambda: (x * 2, 1.0), lambda: (x, 2.0))
    both(f_x, f_j, X)


@pytest.mark.parametrize("index", [-3, 0, 1, 2, 7])
def test_switch_clamps_index_like_jax(index):
    branches_x = [lambda a: a * 2, lambda a: jnp.cos(a), lambda a: a - 5]
    branches_j = [lambda a: a * 2, lambda a: jnp_ref.cos(a), lambda a: a - 5]
    both(lambda i, x: lax.switch(i, branches_x, x),
         lambda i, x: jlax.switch(i, branches_j, x), np.int32(index), X)
    # a Python int index, eager
    close(lax.switch(index, branches_x, jnp.asarray(X)),
          jlax.switch(index, branches_j, jnp_ref.asarray(X)))


def test_switch_single_branch_is_inlined():
    closed = xform.make_jaxpr(lambda i, x: lax.switch(i, [lambda a: a + 1], x))(1, X)
    assert all(e.prim.family != "control" for e in closed.eqns)


# --- while_loop / fori_loop ------------------------------------------------------------------

def test_while_loop_pytree_carry_matches_jax_and_python():
    def make(L, np_):
        def f(x, n):
            def body(c):
                return {"i": c["i"] + 1, "v": (c["v"][0] * 1.1 + np_.sin(c["v"][1]),
                                               c["v"][1] + 1.0)}
            return L.while_loop(lambda c: c["i"] < n, body,
                                {"i": 0, "v": (x, x[0])})
        return f
    want = both(make(lax, jnp), make(jlax, jnp_ref), X, np.int32(4))
    i, v, s = 0, X.copy(), X[0]
    while i < 4:
        i, v, s = i + 1, v * np.float32(1.1) + np.sin(s), s + 1
    close(want, {"i": np.int32(4), "v": (v, s)}, rtol=1e-5)


def test_while_loop_data_dependent_trip_count():
    f_x = lambda x: lax.while_loop(lambda c: c.sum() < 100.0, lambda c: c * 2 + 1, x)
    f_j = lambda x: jlax.while_loop(lambda c: c.sum() < 100.0, lambda c: c * 2 + 1, x)
    both(f_x, f_j, np.abs(X))


def test_while_loop_max_steps_bounds_the_loop():
    out = lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * 2.0),
                         (0, jnp.asarray(X)), max_steps=3)
    close(out, (np.int32(3), X * 8))
    # a bound that is not reached does not change the result
    f = xform.jit(lambda x: lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] + 1.0),
                                           (0, x), max_steps=100))
    close(f(jnp.asarray(X)), (np.int32(4), X + 4))
    closed = xform.make_jaxpr(lambda x: lax.while_loop(lambda c: c < 3.0, lambda c: c + 1, x,
                                                       max_steps=7))(1.0)
    assert "max_steps=7" in str(closed)
    with pytest.raises(TypeError, match="max_steps"):
        lax.while_loop(lambda c: c < 3.0, lambda c: c + 1, 1.0, max_steps=-1)


@pytest.mark.parametrize("static", [True, False])
def test_fori_loop(static):
    body_x = lambda i, c: (c[0] + i * c[1], c[1] * 0.5)
    body_j = lambda i, c: (c[0] + i * c[1], c[1] * 0.5)
    if static:
        f_x = lambda x: lax.fori_loop(1, 5, body_x, (x, x))
        f_j = lambda x: jlax.fori_loop(1, 5, body_j, (x, x))
        want = both(f_x, f_j, X)
        prims = {e.prim.name for e in xform.make_jaxpr(f_x)(X).eqns}
        assert "scan" in prims and "while" not in prims
    else:
        f_x = lambda x, n: lax.fori_loop(1, n, body_x, (x, x))
        f_j = lambda x, n: jlax.fori_loop(1, n, body_j, (x, x))
        want = both(f_x, f_j, X, np.int32(5))
        prims = {e.prim.name for e in xform.make_jaxpr(f_x)(X, np.int32(5)).eqns}
        assert "while" in prims
    a, b = X.copy(), X.copy()
    for i in range(1, 5):
        a, b = a + i * b, b * np.float32(0.5)
    close(want, (a, b))


def test_fori_loop_empty_and_unrolled():
    close(lax.fori_loop(3, 1, lambda i, c: c + 1.0, jnp.asarray(X)), X)
    close(lax.fori_loop(0, 7, lambda i, c: c + i, jnp.asarray(X), unroll=3),
          jlax.fori_loop(0, 7, lambda i, c: c + i, jnp_ref.asarray(X), unroll=3))


# --- scan / map ---------------------------------------------------------------------------

def _scan_fns(L, np_):
    def step(c, x):
        a, b = c
        y = {"p": a * x["u"] + b, "q": np_.tanh(x["v"]).sum()}
        return (a + x["u"] * 0.5, b * 0.9), y
    return step


def _py_scan(step, init, xs, length, reverse):
    c, ys = init, []
    order = range(length - 1, -1, -1) if reverse else range(length)
    for i in order:
        c, y = step(c, jax.tree_util.tree_map(lambda a: a[i], xs))
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    ys = jax.tree_util.tree_map(lambda *a: np.stack(a), *ys) if ys else None
    return c, ys


@SETTINGS
@given(length=st.integers(1, 6), reverse=st.booleans(), unroll=st.sampled_from([1, 2, 3, True]))
def test_scan_property_vs_jax_and_python(length, reverse, unroll):
    rng = np.random.default_rng(length * 10 + int(reverse))
    xs = {"u": rng.standard_normal((length, 3)).astype(np.float32),
          "v": rng.standard_normal((length, 2, 2)).astype(np.float32)}
    init = (rng.standard_normal(3).astype(np.float32), np.float32(1.5))

    conv_x = lambda t: xform.tree_util.tree_map(jnp.asarray, t)
    conv_j = lambda t: jax.tree_util.tree_map(jnp_ref.asarray, t)
    want = jlax.scan(_scan_fns(jlax, jnp_ref), conv_j(init), conv_j(xs), reverse=reverse,
                     unroll=unroll)
    f = lambda init, xs: lax.scan(_scan_fns(lax, jnp), init, xs, reverse=reverse, unroll=unroll)
    close(f(conv_x(init), conv_x(xs)), want, rtol=1e-5)
    close(xform.jit(f)(conv_x(init), conv_x(xs)), want, rtol=1e-5)
    py = _py_scan(_scan_fns(lax, np), init, xs, length, reverse)
    close(want, py, rtol=1e-5)


def test_scan_xs_none_length_and_ys_none():
    f_x = lambda x: lax.scan(lambda c, _: (c * 1.5, c.sum()), x, None, length=4)
    f_j = lambda x: jlax.scan(lambda c, _: (c * 1.5, c.sum()), x, None, length=4)
    both(f_x, f_j, X)
    g_x = lambda x: lax.scan(lambda c, a: (c + a, None), 0.0, x)
    g_j = lambda x: jlax.scan(lambda c, a: (c + a, None), 0.0, x)
    both(g_x, g_j, X)


def test_scan_length_zero():
    f_x = lambda c, xs: lax.scan(lambda c, a: (c + a, a * 2), c, xs)
    f_j = lambda c, xs: jlax.scan(lambda c, a: (c + a, a * 2), c, xs)
    both(f_x, f_j, X, np.zeros((0, 5), np.float32))


def test_scan_weak_typed_init_is_promoted():
    # carry starts as a Python float and becomes f32 (strong) in the body, as in JAX
    f_x = lambda x: lax.scan(lambda c, a: (c + a, c), 0.0, x)
    f_j = lambda x: jlax.scan(lambda c, a: (c + a, c), 0.0, x)
    both(f_x, f_j, X)
    out = f_x(jnp.asarray(X))[0]
    assert out.dtype == np.float32


def test_map():
    both(lambda m: lax.map(lambda r: (r.sum(), jnp.exp(r)), m),
         lambda m: jlax.map(lambda r: (r.sum(), jnp_ref.exp(r)), m), M)


# --- closures and nesting ------------------------------------------------------------------

def test_closure_over_outer_array_and_outer_tracer():
    w = jnp.asarray(M[0])           # a concrete array closed over
    w_ref = jnp_ref.asarray(M[0])

    def make(L, np_, w):
        def f(x):
            y = x * 2                # a tracer of the jit trace, closed over by the bodies
            c = L.cond(x[0] > 0, lambda: y[:3] + w, lambda: w - y[:3])
            s, ys = L.scan(lambda c, a: (c + a * y[1] + w.sum(), c), 0.0, x)
            wl = L.while_loop(lambda v: v.sum() < 50.0, lambda v: v + np_.abs(y[:3]) + w ** 2,
                              np_.abs(c))
            return c, s, ys, wl
        return f
    both(make(lax, jnp, w), make(jlax, jnp_ref, w_ref), X, rtol=1e-4)
    closed = xform.make_jaxpr(make(lax, jnp, w))(X)
    for e in closed.eqns:
        for p in e.prim.subjaxpr_params:
            subs = e.params[p] if isinstance(e.params[p], tuple) else (e.params[p],)
            assert all(not s.consts and not s.jaxpr.constvars for s in subs)


def _nested(L, np_):
    def f(x, n):
        def body(c):
            i, v = c

            def with_scan(v):
                s, ys = L.scan(lambda cc, a: (cc + a * x[1], np_.sin(cc * a)), v[0], v)
                return ys + s

            return i + 1, L.cond(i % 2 == 0, with_scan, lambda v: v * 0.5 - x, v)
        return L.while_loop(lambda c: c[0] < n, body, (0, x))
    return f


def test_nested_scan_in_cond_in_while():
    want = both(_nested(lax, jnp), _nested(jlax, jnp_ref), X, np.int32(5), rtol=1e-4)
    # Python reference
    i, v = 0, X.copy()
    while i < 5:
        if i % 2 == 0:
            cc, ys = v[0], []
            for a in v:
                ys.append(np.sin(cc * a))
                cc = cc + a * X[1]
            v = np.stack(ys) + cc
        else:
            v = v * np.float32(0.5) - X
        i += 1
    close(want, (np.int32(5), v), rtol=1e-4)


# --- eager execution reuses compiled code ------------------------------------------------------

def test_eager_calls_reuse_the_executable():
    x = jnp.asarray(X)

    def run():
        return lax.scan(lambda c, a: (c + a, c * a), 0.0, x)
    run()
    n = len(xcore._eager_cache)
    for _ in range(3):
        run()
    assert len(xcore._eager_cache) == n


# --- bad input ----------------------------------------------------------------------------------

def test_cond_branch_type_mismatch_names_both():
    with pytest.raises(TypeError, match=r"(?s)true_fun gives f32\[5\], false_fun gives f32\[3\]"):
        lax.cond(True, lambda a: a, lambda a: a[:3], jnp.asarray(X))
    with pytest.raises(TypeError, match=r"(?s)out\['q'\].*i32\[5\].*true_fun:.*false_fun:"):
        lax.cond(True, lambda a: {"p": a, "q": a}, lambda a: {"p": a, "q": a.astype(jnp.int32)},
                 jnp.asarray(X))
    with pytest.raises(TypeError, match="pytree structure"):
        lax.cond(True, lambda a: (a, a), lambda a: [a, a], jnp.asarray(X))
    with pytest.raises(TypeError, match=r"branches\[0\] gives f32\[5\], branches\[2\] gives f32\[\]"):
        lax.switch(1, [lambda a: a, lambda a: a, lambda a: a.sum()], jnp.asarray(X))
    with pytest.raises(TypeError, match="identical types"):   # under jit too
        xform.jit(lambda x: lax.cond(x[0] > 0, lambda: x, lambda: x[0]))(jnp.asarray(X))


def test_bad_predicates():
    x = jnp.asarray(X)
    with pytest.raises(TypeError, match="boolean or integer scalar.*float"):
        lax.cond(1.5, lambda a: a, lambda a: a, x)
    with pytest.raises(TypeError, match="boolean or integer scalar.*float32"):
        xform.jit(lambda x: lax.cond(x[0], lambda a: a, lambda a: a, x))(x)
    with pytest.raises(TypeError, match=r"must be a scalar.*\(5,\)"):
        lax.cond(x > 0, lambda a: a, lambda a: a, x)
    with pytest.raises(TypeError, match="index must be an integer"):
        lax.switch(x[0], [lambda a: a, lambda a: a], x)
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c + 1, x)


def test_while_carry_type_change():
    x = jnp.asarray(X)
    with pytest.raises(TypeError, match=r"carry\[1\]: init_val gives f32\[5\], body_fun output "
                                        r"gives f32\[10\]"):
        lax.while_loop(lambda c: c[0] < 3,
                       lambda c: (c[0] + 1, jnp.concatenate([c[1], c[1]])), (0, x))
    with pytest.raises(TypeError, match=r"carry\[1\].*i32\[5\]"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1].astype(jnp.int32)), (0, x))
    with pytest.raises(TypeError, match="pytree structure"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: [c[0] + 1, c[1]], (0, x))
    with pytest.raises(TypeError, match=r"carry.*f32\[\].*f32\[5\]"):
        lax.scan(lambda c, a: (c + x, a), 0.0, x)
    with pytest.raises(TypeError, match=r"pair \(carry, y\)"):
        lax.scan(lambda c, a: c, 0.0, x)


def test_scan_leading_dims_mismatch():
    with pytest.raises(ValueError, match=r"xs\['a'\]: 5, xs\['b'\]: 4"):
        lax.scan(lambda c, a: (c, a), 0.0, {"a": jnp.asarray(X), "b": jnp.ones((4, 2))})
    with pytest.raises(ValueError, match=r"xs\[0\]: 5, length=3"):
        lax.scan(lambda c, a: (c, a), 0.0, (jnp.asarray(X),), length=3)
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, a: (c, a), 0.0, None)
    with pytest.raises(ValueError, match="leading axis"):
        lax.scan(lambda c, a: (c, a), 0.0, jnp.asarray(1.0))


# --- the IR: printing and the type checker ------------------------------------------------------

def test_make_jaxpr_prints_sub_jaxprs_and_check_accepts():
    closed = xform.make_jaxpr(_nested(lax, jnp))(X, np.int32(3))
    text = str(closed)
    for piece in ("while[cond_jaxpr=", "body_jaxpr=", "cond[branches=(", "scan[jaxpr=",
                  "length=5", "reverse=False", "num_carry=1"):
        assert piece in text, piece
    assert text.count("{ lambda") == 6   # outer, cond, body, 2 branches, scan body
    check_jaxpr(closed)


def test_check_jaxpr_rejects_mismatched_sub_jaxprs():
    closed = xform.make_jaxpr(lambda x: lax.cond(x[0] > 0, lambda a: a + 1, lambda a: a * 2, x))(X)
    eqn = next(e for e in closed.eqns if e.prim is control.cond)
    other = xform.make_jaxpr(lambda x: lax.cond(x[0] > 0, lambda a: a[:2], lambda a: a[:2], x))(X)
    bad_branch = next(e for e in other.eqns if e.prim is control.cond).params["branches"][0]
    bad = Eqn(eqn.prim, eqn.invars, eqn.outvars,
              {"branches": (eqn.params["branches"][0], bad_branch)})
    j = closed.jaxpr
    broken = Jaxpr(j.constvars, j.invars, [bad if e is eqn else e for e in j.eqns], j.outvars)
    with pytest.raises(JaxprTypeError, match="output 0 of branch 0 is f32\\[5\\] but of branch 1 "
                                             "is f32\\[2\\]"):
        check_jaxpr(broken)
    # the shape rule also checks operand types against the sub-jaxpr inputs
    i32, f32 = ShapedArray((), np.int32), ShapedArray((3,), np.float32)
    with pytest.raises(TypeError, match="input 0 has type f32\\[5\\]"):
        control.cond.abstract_eval(i32, f32, branches=eqn.params["branches"])


# --- result types and lowering ------------------------------------------------------------------

_WEAK_CASES = {
    "while_int_carry": lambda L, np_: L.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1]),
                                                   (0, np_.asarray(X))),
    "while_weak_float": lambda L, np_: L.while_loop(lambda c: c < 3, lambda c: c + 1, 0.0),
    "while_weak_to_strong": lambda L, np_: L.while_loop(lambda c: c < 3,
                                                        lambda c: c + np.float32(1), 0.0),
    "scan_weak": lambda L, np_: L.scan(lambda c, a: (c + 1, 2.0), 0.0, np_.asarray(X)),
    "cond_weak": lambda L, np_: L.cond(True, lambda: 1.0, lambda: 2.0),
    "cond_mixed": lambda L, np_: L.cond(True, lambda: 1.0, lambda: np.float32(2.0)),
    "fori_int": lambda L, np_: L.fori_loop(0, 3, lambda i, c: c + i, 0),
    "fori_float": lambda L, np_: L.fori_loop(0, 3, lambda i, c: c + i, 0.0),
    "fori_dynamic": lambda L, np_: L.fori_loop(0, np_.asarray(3), lambda i, c: c + i, 0),
}


@pytest.mark.parametrize("name", sorted(_WEAK_CASES))
def test_result_dtypes_and_weak_types_match_jax(name):
    f = _WEAK_CASES[name]
    got = xform.tree_util.tree_leaves(f(lax, jnp))
    want = jax.tree_util.tree_leaves(f(jlax, jnp_ref))
    assert [(g.dtype, g.weak_type) for g in got] == [(w.dtype, w.weak_type) for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w))


def test_lowering_uses_case_and_while():
    x = jnp.asarray(X)
    text = xform.jit(lambda x: lax.cond(x[0] > 0, lambda: x, lambda: -x)).lower(x).as_text()
    assert '"stablehlo.case"' in text and '"stablehlo.clamp"' in text
    text = xform.jit(lambda x: lax.scan(lambda c, a: (c + a, c), 0.0, x)).lower(x).as_text()
    assert '"stablehlo.while"' in text and '"stablehlo.dynamic_update_slice"' in text


def test_hoist_consts_for_transforms():
    from primitives.irutil import hoist_consts
    w = jnp.asarray(X)
    closed = xform.make_jaxpr(lambda x: x * w + 1.0)(X)   # w is a const
    assert closed.consts
    hoisted, consts = hoist_consts(closed)
    assert not hoisted.consts and len(hoisted.jaxpr.invars) == len(consts) + 1
    # usable as a scan body: carry c, no xs; consts first
    out = xform.core.bind(control.scan, *consts, jnp.asarray(X), jaxpr=hoisted, length=2,
                          reverse=False, num_consts=len(consts), num_carry=1, unroll=1)
    close(out[0], (X * X + 1) * X + 1)
    again, _ = hoist_consts(closed)
    assert again is hoisted      # interned


def test_stack_of_scan_outputs_is_written_by_the_loop():
    """``stack([ys1, ys2], axis=1)`` of one scan's outputs becomes a single packed output
    of the scan (one in-place write per step): same values as NumPy, eagerly and jitted."""
    def f(x):
        def body(c, _):
            c = jnp.sin(c)
            return c, (c, c * 2.0, c + 1.0)
        last, (a, b, c) = lax.scan(body, x, None, length=5)
        return last, jnp.stack([a, c], axis=1), b

    x = np.linspace(0.1, 1.0, 3).astype(np.float32)
    ref, steps = x, []
    for _ in range(5):
        ref = np.sin(ref)
        steps.append(ref)
    ys = np.stack(steps)
    want = (ref, np.stack([ys, ys + 1.0], axis=1), ys * 2.0)
    for got in (f(x), xform.jit(f)(x)):
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-6)
    (scan,) = xform.make_jaxpr(f)(x).jaxpr.eqns
    assert [v.aval.shape for v in scan.outvars] == [(3,), (5, 3), (5, 2, 3)]


def test_weak_initial_carry_takes_the_body_type_as_jax():
    """A Python-scalar initial carry is promoted to the type the body returns, strongly
    typed, in fori_loop, scan and while_loop (JAX: fori_loop(0, 3, c + 0.5, 0) == 1.5 f32)."""
    from jax import lax as jl
    cases = [lambda L: L.fori_loop(0, 3, lambda i, c: c + 0.5, 0),
             lambda L: L.scan(lambda c, x: (c + 0.5, None), 0, None, length=3)[0],
             lambda L: L.while_loop(lambda c: c < 1, lambda c: c + 0.5, 0),
             lambda L: L.fori_loop(0, 3, lambda i, c: c * 2, 1.0),
             lambda L: L.fori_loop(0, 3, lambda i, c: c + np.float32(1), 0.0)]
    for case in cases:
        got, want = case(lax), case(jl)
        assert (got.dtype, got.weak_type, got.shape) == (want.dtype, want.weak_type, want.shape)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
