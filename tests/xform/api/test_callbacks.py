"""Host callbacks: debug.print / debug.callback / pure_callback / io_callback through jit,
grad, vmap, control flow and checkpoint, against JAX where JAX is right, and better
than JAX where it drops or reorders prints (jax#28738, jax#16637)."""
import jax
import jax.numpy as jnp_
import numpy as np
import pytest

import xform
import xform.numpy as jnp
from xform import lax
from xform.experimental import io_callback


@pytest.fixture
def log():
    """A recorder: ``log.cb`` is a debug.callback target that appends float values."""
    class Log(list):
        def cb(self, *xs):
            self.append(tuple(np.asarray(x).tolist() for x in xs))
    return Log()


def _record(log, tag, *xs, ordered=True):
    xform.debug.callback(lambda *v: log.append((tag,) + tuple(np.asarray(a).tolist()
                                                                for a in v)),
                         *xs, ordered=ordered)


# --- debug.print -----------------------------------------------------------------------------

def test_print_eager_and_jit_format_like_jax(capsys):
    def f(x, y):
        xform.debug.print("x={x} y={} s={s:.2f}", y, x=x, s=x.sum())
        return x * y
    x = np.float32([1.0, 2.5])
    f(jnp.asarray(x), 3.0)
    xform.jit(f)(x, 3.0)

    def g(x, y):
        jax.debug.print("x={x} y={} s={s:.2f}", y, x=x, s=x.sum())
        return x * y
    jax.jit(g)(x, 3.0)
    jax.effects_barrier()
    ours_eager, ours_jit, theirs = capsys.readouterr().out.splitlines()
    assert ours_eager == ours_jit == theirs == "x=[1.  2.5] y=3.0 s=3.50"


def test_print_of_float32_scalars_matches_jax(capsys):
    x = np.float32(0.47942555)
    xform.jit(lambda x: xform.debug.print("{} {y} {z:.3f}", x, y=x, z=x))(x)
    jax.jit(lambda x: jax.debug.print("{} {y} {z:.3f}", x, y=x, z=x))(x)
    jax.effects_barrier()
    ours, theirs = capsys.readouterr().out.splitlines()
    assert ours == theirs


def test_print_format_error_names_the_argument():
    with pytest.raises(ValueError, match=r"refers to 'y'"):
        xform.jit(lambda x: xform.debug.print("{y}", x))(1.0)


def test_print_of_unused_values_is_not_dropped_or_merged(log):
    def f(x):
        _record(log, "a", x)
        _record(log, "a", x)   # the same call twice: both run (never merged)
        return x + 1
    xform.jit(f)(1.0)
    assert log == [("a", 1.0), ("a", 1.0)]
    assert "io_callback" in str(xform.make_jaxpr(f)(1.0))


def test_static_leaves_are_passed_through(capsys):
    xform.jit(lambda x: xform.debug.print("{} {} {}", "tag", None, x))(2.0)
    assert capsys.readouterr().out == "tag None 2.0\n"


def test_callback_gets_xform_arrays():
    seen = []
    xform.jit(lambda x: xform.debug.callback(lambda v: seen.append(v), x))(jnp.ones(2))
    assert type(seen[0]) is xform.Array and seen[0].shape == (2,)


# --- grad: primal values, once, in order --------------------------------------------------------

def test_grad_prints_primal_values_once(log):
    def f(x):
        _record(log, "x", x)
        return jnp.sin(x).sum()
    x = np.float32([0.0, 1.0])
    for fn in (xform.grad(f), xform.jit(xform.grad(f))):
        log.clear()
        g = fn(x)
        assert log == [("x", [0.0, 1.0])]
        np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)


def test_scan_under_grad_keeps_prints_in_forward_order(log):
    """jax#28738: JAX drops a debug.print inside scan from value_and_grad; we keep it,
    once per step, in forward order (ordered=True), and the gradient is JAX's."""
    def step(c, x):
        _record(log, "c", c)
        return c * x, None

    def g(c0, xs):
        return lax.scan(step, c0, xs)[0]
    xs = np.float32([1.5, 2.0, 0.5])
    for fn in (xform.value_and_grad(g, argnums=(0, 1)),
               xform.jit(xform.value_and_grad(g, argnums=(0, 1)))):
        log.clear()
        v, (g0, gx) = fn(2.0, xs)
        assert log == [("c", 2.0), ("c", 3.0), ("c", 6.0)]
    jv, (jg0, jgx) = jax.value_and_grad(
        lambda c, xs: jax.lax.scan(lambda c, x: (c * x, None), c, xs)[0], argnums=(0, 1))(
        2.0, xs)
    np.testing.assert_allclose(v, jv, rtol=1e-6)
    np.testing.assert_allclose(g0, jg0, rtol=1e-6)
    np.testing.assert_allclose(gx, jgx, rtol=1e-6)


def test_while_loop_under_grad_prints_only_real_steps(log):
    """Reverse mode runs a bounded while_loop as masked fixed-length segments; the
    masked (padding) steps must not call the body's callbacks."""
    def h(x):
        def body(c):
            _record(log, "w", c)
            return c * 2.0
        return lax.while_loop(lambda c: c < 10.0, body, x, max_steps=20)
    for fn in (xform.grad(h), xform.jit(xform.grad(h))):
        log.clear()
        assert float(fn(1.0)) == 16.0
        assert log == [("w", 1.0), ("w", 2.0), ("w", 4.0), ("w", 8.0)]


def test_checkpoint_does_not_print_again_when_recomputing(log):
    @xform.checkpoint
    def seg(x):
        def body(c, _):
            _record(log, "s", c)
            return jnp.sin(c), None
        return lax.scan(body, x, length=2)[0]
    for fn in (xform.grad(seg), xform.jit(xform.grad(seg))):
        log.clear()
        g = fn(1.0)
        assert log == [("s", 1.0), ("s", pytest.approx(np.sin(1.0)))]
    np.testing.assert_allclose(g, jax.grad(lambda x: jnp_.sin(jnp_.sin(x)))(1.0), rtol=1e-6)


def test_jvp_prints_primals(log):
    def f(x):
        _record(log, "p", x)
        return x * x
    out, t = xform.jvp(f, (3.0,), (1.0,))
    assert (float(out), float(t)) == (9.0, 6.0)
    assert log == [("p", 3.0)]


def test_printing_a_tangent_under_grad_is_a_clear_error():
    @xform.custom_jvp
    def f(x):
        return x * 2

    @f.defjvp
    def f_jvp(primals, tangents):
        xform.debug.print("t={}", tangents[0])
        return f(primals[0]), tangents[0] * 2
    assert float(xform.jvp(f, (1.0,), (1.0,))[1]) == 2.0
    with pytest.raises(TypeError, match="depends on a tangent"):
        xform.grad(f)(1.0)


# --- control flow, vmap, ordering ------------------------------------------------------------------

def test_cond_branches_print(log):
    def k(x):
        return lax.cond(x > 0, lambda x: (_record(log, "pos", x), x)[1],
                        lambda x: (_record(log, "neg", x), -x)[1], x)
    f = xform.jit(k)
    assert float(f(1.0)) == 1.0 and float(f(-2.0)) == 2.0
    assert log == [("pos", 1.0), ("neg", -2.0)]


def test_vmap_calls_once_per_element_in_order(log):
    def f(x, y):
        _record(log, "v", x, y)
        return x * y
    xs = np.float32([0.0, 1.0, 2.0])
    for fn in (xform.vmap(f, in_axes=(0, None)), xform.jit(xform.vmap(f, in_axes=(0, None)))):
        log.clear()
        np.testing.assert_allclose(fn(xs, 2.0), xs * 2)
        assert log == [("v", 0.0, 2.0), ("v", 1.0, 2.0), ("v", 2.0, 2.0)]


def test_ordered_calls_follow_program_order_across_calls(log):
    f = xform.jit(lambda x: (_record(log, "jit", x), x + 1)[1])
    for i in range(3):
        f(float(i))
        _record(log, "eager", float(i))
    assert log == [("jit", 0.0), ("eager", 0.0), ("jit", 1.0), ("eager", 1.0),
                   ("jit", 2.0), ("eager", 2.0)]


def test_ordered_prints_in_nested_loops(log):
    def f(x):
        def outer(c, i):
            def inner(c2, j):
                _record(log, "ij", i, j)
                return c2 + 1.0, None
            return lax.scan(inner, c, jnp.arange(2))[0], None
        return lax.scan(outer, x, jnp.arange(2))[0]
    assert float(xform.jit(f)(0.0)) == 4.0
    assert log == [("ij", 0, 0), ("ij", 0, 1), ("ij", 1, 0), ("ij", 1, 1)]


# --- pure_callback and io_callback ---------------------------------------------------------------

def _np_sin(x):
    return np.sin(np.asarray(x))


def test_pure_callback_values_match_jax():
    x = np.float32([0.1, 0.7, 2.0])
    sds = xform.ShapeDtypeStruct(x.shape, x.dtype)
    ours = xform.jit(lambda x: xform.pure_callback(_np_sin, sds, x) * 2)(x)
    theirs = jax.jit(lambda x: jax.pure_callback(
        _np_sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x) * 2)(x)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("method", ["sequential", "sequential_unrolled", "expand_dims",
                                    "broadcast_all", "legacy_vectorized"])
def test_pure_callback_vmap_methods_match_a_loop_and_jax(method):
    shapes = []

    def add(a, b):
        shapes.append((np.shape(a), np.shape(b)))
        return np.asarray(a) + np.asarray(b)

    def ours(x, y):
        return xform.pure_callback(add, xform.ShapeDtypeStruct((), np.float32), x, y,
                                   vmap_method=method)

    def theirs(x, y):
        return jax.pure_callback(add, jax.ShapeDtypeStruct((), np.float32), x, y,
                                 vmap_method=method)
    xs, y = np.float32([0.0, 1.0, 2.0]), np.float32(5.0)
    got = xform.jit(xform.vmap(ours, in_axes=(0, None)))(xs, y)
    our_shapes = list(shapes)
    shapes.clear()
    want = jax.jit(jax.vmap(theirs, in_axes=(0, None)))(xs, y)
    assert our_shapes == shapes     # the callback saw the shapes JAX gives it
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, [float(ours(x, y)) for x in xs])


def test_pure_callback_under_vmap_needs_a_method():
    f = lambda x: xform.pure_callback(_np_sin, xform.ShapeDtypeStruct((), np.float32), x)
    with pytest.raises(NotImplementedError, match="vmap_method"):
        xform.vmap(f)(jnp.ones(2))


def test_pure_callback_has_no_derivative():
    f = lambda x: xform.pure_callback(_np_sin, xform.ShapeDtypeStruct((), np.float32), x)
    with pytest.raises(TypeError, match="custom_jvp"):
        xform.grad(f)(1.0)


def test_io_callback_returns_values_in_order_and_batches_sequentially():
    seen = []

    def rec(x):
        seen.append(float(np.asarray(x)))
        return np.float32(len(seen))
    sds = xform.ShapeDtypeStruct((), np.float32)
    f = xform.jit(lambda x: io_callback(rec, sds, x, ordered=True) + x)
    assert [float(f(float(i))) for i in range(3)] == [1.0, 3.0, 5.0]
    assert seen == [0.0, 1.0, 2.0]
    seen.clear()
    out = xform.vmap(lambda x: io_callback(rec, sds, x))(np.float32([4.0, 5.0]))
    np.testing.assert_array_equal(out, [1.0, 2.0])
    assert seen == [4.0, 5.0]
    with pytest.raises(TypeError, match="no derivative"):
        xform.grad(lambda x: io_callback(rec, sds, x))(1.0)


# --- errors ----------------------------------------------------------------------------------------

def test_exception_in_a_callback_is_raised_as_itself():
    def bad(x):
        xform.debug.callback(lambda v: 1 / 0, x)
        return x
    with pytest.raises(ZeroDivisionError) as e:
        xform.jit(bad)(1.0)
    assert any("host callback" in n and "test_callbacks.py" in n for n in e.value.__notes__)
    with pytest.raises(ZeroDivisionError):
        bad(1.0)
    assert float(xform.jit(lambda x: x + 1)(1.0)) == 2.0   # the runtime is fine afterwards


def test_wrong_result_shape_dtype_or_structure_is_named():
    from primitives.callback import CallbackError
    f = lambda x: xform.pure_callback(lambda v: np.zeros(2, np.float32),
                                      xform.ShapeDtypeStruct((3,), np.float32), x)
    for fn in (f, xform.jit(f)):
        with pytest.raises(CallbackError, match=r"shape \(2,\).*declares \(3,\)"):
            fn(1.0)
    g = lambda x: xform.pure_callback(lambda v: np.zeros(3, np.int32),
                                      xform.ShapeDtypeStruct((3,), np.float32), x)
    with pytest.raises(CallbackError, match="dtype int32"):
        xform.jit(g)(1.0)
    h = lambda x: xform.pure_callback(lambda v: (v, v),
                                      xform.ShapeDtypeStruct((), np.float32), x)
    with pytest.raises(CallbackError, match="structure"):
        xform.jit(h)(1.0)


def test_repeated_jit_calls_keep_order_and_errors(log):
    """The second call of a jitted function takes jit's fast path: it too runs the
    program to completion and raises a callback's exception as itself."""
    def f(x):
        xform.debug.callback(lambda v: log.append(float(v)) if float(v) >= 0 else 1 / 0, x)
        return x + 1
    g = xform.jit(f)
    x = xform.numpy.asarray(np.float32(1.0))
    for i in range(3):
        g(x)
    assert log == [1.0, 1.0, 1.0]
    bad = xform.numpy.asarray(np.float32(-1.0))
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            g(bad)
