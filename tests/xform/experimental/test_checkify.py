"""checkify: functional run-time errors (user checks, NaN, division by zero, out-of-bounds
indexing) through jit, vmap, grad and control flow, against jax.experimental.checkify.

Our messages are JAX's followed by `` at file:line`` (JAX ends some with a period and puts
the line in a traceback instead), so a JAX message, stripped of its trailing period, must
begin ours; the deliberate differences are in docs/differences.md."""
import re
import types

import jax
import jax.experimental.checkify as jck
import numpy as np
import pytest

import xform
import xform.numpy as jnp
from xform import lax
from xform.experimental import checkify

J = types.SimpleNamespace(jax=jax, jnp=jax.numpy, lax=jax.lax, ck=jck)
X = types.SimpleNamespace(jax=xform, jnp=xform.numpy, lax=xform.lax, ck=checkify)
HERE = r"test_checkify\.py:\d+"


def _errors(ns, names):
    out = frozenset()
    for n in names:
        out = out | getattr(ns.ck, n)
    return out


def _run(ns, make, names, args, wrap=None):
    f = ns.ck.checkify(make(ns), errors=_errors(ns, names))
    if wrap is not None:
        f = wrap(ns, f)
    return f(*[ns.jnp.asarray(a) for a in args])


def _same_message(ours, theirs):
    """Both None, or every line of JAX's message (its period stripped) begins ours, and ours
    names a line of this file."""
    if theirs is None:
        assert ours is None, ours
        return
    assert ours is not None, f"jax reports {theirs!r}, xform nothing"
    o_lines, t_lines = ours.splitlines(), theirs.splitlines()
    assert len(o_lines) == len(t_lines), (ours, theirs)
    for o, t in zip(o_lines, t_lines):
        assert o.startswith(t.rstrip(" ").rstrip(".")), (o, t)
        assert re.search(HERE, o), o


def compare(make, names, *args, wrap=None):
    """checkify ``make(ns)`` in both libraries; same error message (up to the line) and the
    same outputs.  Returns our Error."""
    xerr, xout = _run(X, make, names, args, wrap)
    jerr, jout = _run(J, make, names, args, wrap)
    _same_message(xerr.get(), jerr.get())
    for a, b in zip(jax.tree_util.tree_leaves(xout), jax.tree_util.tree_leaves(jout)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    return xerr


def compare_vmapped(make, names, *args):
    """``vmap(checkify(make(ns)))`` against JAX's checkify of each element (JAX 0.10 fails on
    vmap of a checkified while_loop): the same message per failing element."""
    xerr, _ = _run(X, make, names, args, wrap=_vmap)
    lines = []
    for i in range(len(args[0])):
        jerr, _ = _run(J, make, names, [a[i] for a in args])
        if jerr.get() is not None:
            lines.append(f"at mapped index {i}: {jerr.get()}")
    _same_message(xerr.get(), "\n".join(lines) or None)
    return xerr


def _positive(ns):
    def f(x):
        ns.ck.check(x > 0, "x must be positive, got {}", x)
        return ns.jnp.log(x)
    return f


# --- user checks -----------------------------------------------------------------------------

def test_check_message_formats_runtime_values_and_names_the_line():
    def f(x):
        checkify.check(x > 0, "x must be positive, got {} ({y})", x, y=2 * x)  # THE LINE
        return x
    err, out = checkify.checkify(f)(jnp.float32(-1.5))
    line = next(i for i, s in enumerate(open(__file__), 1) if s.rstrip().endswith("# THE LINE"))
    assert err.get() == (f"x must be positive, got -1.5 (-3.0) (`check` failed) at "
                         f"{__file__}:{line}")
    assert float(out) == -1.5


@pytest.mark.parametrize("x", [-3.0, 2.0])
def test_check_against_jax(x):
    compare(_positive, ("user_checks",), np.float32(x))


def test_fmt_arguments_are_pytrees_of_arrays():
    def make(ns):
        def f(x):
            ns.ck.check(ns.jnp.all(x > 0), "{a} and {b[0]}", a=x, b=(x.sum(),))
            return x
        return f
    compare(make, ("user_checks",), np.float32([1.0, -2.0]))
    with pytest.raises(TypeError, match="pytrees of arrays"):
        checkify.checkify(lambda x: checkify.check(x > 0, "{}", 3))(jnp.float32(1))
    with pytest.raises(TypeError, match="scalar bool pred"):
        checkify.check(jnp.array([True, False]), "not a scalar")


def test_error_get_exception_and_throw():
    err, _ = checkify.checkify(_positive(X))(jnp.float32(-1.0))
    exc = err.get_exception()
    assert isinstance(exc, checkify.FailedCheckError) and str(exc) == err.get()
    with pytest.raises(checkify.JaxRuntimeError, match="x must be positive, got -1.0") as e:
        err.throw()
    assert isinstance(e.value, ValueError)   # as JAX's JaxRuntimeError
    ok, _ = checkify.checkify(_positive(X))(jnp.float32(1.0))
    assert ok.get() is None and ok.get_exception() is None
    ok.throw()
    assert str(ok) == "Error(None)"


def test_check_outside_checkify_raises_at_once():
    f = _positive(X)
    assert float(f(jnp.float32(np.e))) == pytest.approx(1.0)
    with pytest.raises(checkify.JaxRuntimeError, match=r"x must be positive, got -1\.0"):
        f(jnp.float32(-1.0))
    with pytest.raises(jck.JaxRuntimeError, match=r"x must be positive, got -1\.0"):
        _positive(J)(jax.numpy.float32(-1.0))
    # under grad and vmap it still runs with the primal / per-element values
    with pytest.raises(checkify.JaxRuntimeError, match="got -1.0"):
        xform.grad(f)(jnp.float32(-1.0))
    with pytest.raises(checkify.JaxRuntimeError, match="at mapped index 1: .* got -2.0"):
        xform.vmap(f)(jnp.array([1.0, -2.0, -3.0]))


def test_check_under_jit_without_checkify_is_a_clear_error():
    with pytest.raises(ValueError, match="checkify") as e:
        xform.jit(_positive(X))(jnp.float32(1.0))
    assert isinstance(e.value, NotImplementedError)
    assert re.search(HERE, str(e.value))
    with pytest.raises(ValueError, match="functionalized"):   # JAX refuses too
        jax.jit(_positive(J))(jax.numpy.float32(1.0))
    with pytest.raises(ValueError, match="checkify"):          # inside a loop, eagerly
        lax.scan(lambda c, x: (c + _positive(X)(x), None), 0.0, jnp.ones(3))


def test_debug_check():
    def make(ns):
        def f(x):
            ns.ck.debug_check(x > 0, "cannot be {}", x)
            return x * 2
        return f
    assert float(make(X)(jnp.float32(-1))) == -2.0
    assert float(xform.jit(make(X))(jnp.float32(-1))) == -2.0
    compare(make, ("user_checks",), np.float32(-1.0))


# --- automatic checks ------------------------------------------------------------------------

def _nan(ns):
    return lambda x: ns.jnp.sin(x) + x


def test_nan_generated():
    compare(_nan, ("nan_checks",), np.float32(np.inf))
    compare(_nan, ("nan_checks",), np.float32(1.0))
    compare(lambda ns: lambda x: ns.jnp.log(x) * 2, ("float_checks",), np.float32([1, -1]))


def test_nan_in_an_input_is_not_an_error():
    """Only an operation that makes a NaN from inputs without one fails (JAX also flags every
    operation a NaN input flows through: docs/differences.md)."""
    err, out = checkify.checkify(_nan(X), errors=checkify.nan_checks)(jnp.float32(np.nan))
    assert err.get() is None and np.isnan(out)
    err, _ = checkify.checkify(lambda x: jnp.log(x - 2) + x, errors=checkify.nan_checks)(
        jnp.float32([np.nan, 1.0]))
    assert err.get().startswith("nan generated by primitive: log at ")


def test_division_by_zero():
    compare(lambda ns: lambda x, y: x // y, ("div_checks",), np.int32([3, 4]), np.int32([1, 0]))
    compare(lambda ns: lambda x, y: x / y, ("div_checks",), np.float32([3, 4]),
            np.float32([1, 0]))
    compare(lambda ns: lambda x, y: x // y, ("div_checks",), np.int32([3, 4]), np.int32([1, 2]))
    # jnp's % replaces a zero divisor (the result is 0), as JAX's: nothing to report
    compare(lambda ns: lambda x, y: x % y, ("div_checks",), np.int32([3, 4]), np.int32([1, 0]))
    # lax.rem of integers by zero is reported (JAX checks only div)
    err, _ = checkify.checkify(lax.rem, errors=checkify.div_checks)(jnp.int32(3), jnp.int32(0))
    assert err.get().startswith("division by zero at ")


@pytest.mark.parametrize("i", [5, 3, -4, -3, -1, 0, 2])
def test_index_out_of_bounds(i):
    compare(lambda ns: lambda x, i: x[i], ("index_checks",), np.arange(3.0), np.int32(i))
    compare(lambda ns: lambda x, i: x.at[i].set(7.0), ("index_checks",), np.arange(3.0),
            np.int32(i))


def test_index_forms():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    compare(lambda ns: lambda x, i, j: x[i, j], ("index_checks",), x, np.int32(1), np.int32(7))
    compare(lambda ns: lambda x, i: x[i, 1:3], ("index_checks",), x, np.int32(3))
    compare(lambda ns: lambda x, i: x[i], ("index_checks",), x, np.int32([0, 5, 1]))
    compare(lambda ns: lambda x, i: x.at[i].add(1.0), ("index_checks",), x, np.int32([0, 3]))
    compare(lambda ns: lambda x, i, j: x.at[i, j].set(1.0), ("index_checks",), x,
            np.int32([1, 2]), np.int32([0, 4]))
    compare(lambda ns: lambda x, i: ns.lax.dynamic_slice(x, (i, 0), (2, 4)), ("index_checks",),
            x, np.int32(2))
    compare(lambda ns: lambda x, i: ns.lax.dynamic_update_slice(x, ns.jnp.ones((1, 2)), (1, i)),
            ("index_checks",), x, np.int32(3))
    compare(lambda ns: lambda x, i: ns.jnp.take(x, i), ("index_checks",), x, np.int32([3, 12]))


def test_first_error_wins():
    def both(ns):
        return lambda x, i: (x / 0.0, x[i])
    compare(both, ("all_checks",), np.arange(3.0), np.int32(5))
    compare(lambda ns: lambda x, i: (x[i], x / 0.0), ("all_checks",), np.arange(3.0),
            np.int32(5))

    def in_loop(ns):   # the failure that happens first at run time wins
        def step(c, x):
            ns.ck.check(x != 3, "A at {}", x)
            ns.ck.check(x != 1, "B at {}", x)
            return c, None
        return lambda xs: ns.lax.scan(step, 0, xs)[0]
    err = compare(in_loop, ("user_checks",), np.arange(5, dtype=np.int32))
    assert err.get().startswith("B at 1")


def test_errors_subsets():
    def make(ns):
        def f(x, i):
            ns.ck.check(i < 2, "i is {}", i)
            return ns.jnp.log(x), x[i], x / 0.0
        return f
    args = (-np.ones(3, np.float32), np.int32(4))
    for names in [("user_checks",), ("nan_checks",), ("index_checks",), ("div_checks",),
                  ("float_checks",), ("automatic_checks",), ("all_checks",)]:
        compare(make, names, *args)
    err, _ = checkify.checkify(make(X), errors=checkify.all_checks - checkify.user_checks)(
        *[jnp.asarray(a) for a in args])
    assert err.get().startswith("nan generated by primitive: log")
    assert checkify.float_checks == checkify.nan_checks | checkify.div_checks
    assert checkify.all_checks - checkify.user_checks == checkify.automatic_checks
    err, _ = checkify.checkify(make(X), errors=frozenset())(*[jnp.asarray(a) for a in args])
    assert err.get() is None
    with pytest.raises(TypeError, match="error categories"):
        checkify.checkify(make(X), errors={"nan"})


def test_no_false_positives():
    def make(ns):
        def f(x, i):
            y = ns.jnp.sort(x)[::-1] @ ns.jnp.cumsum(x)
            z = ns.jax.nn.softmax(x) * ns.jnp.exp(-x)
            w = x[i] + x[-1] + x.at[i].add(1.0)[i] + ns.jnp.take(x, ns.jnp.array([0, 3]))
            return y, z, w, x // 2.0, ns.jnp.where(x > 0, x, 1.0) ** 0.5
        return f
    err = compare(make, ("all_checks",), np.float32([3.0, -1.0, 2.0, 0.5]), np.int32(2))
    assert err.get() is None


# --- through the transforms --------------------------------------------------------------------

def _jit(ns, f):
    return ns.jax.jit(f)


def _vmap(ns, f):
    return ns.jax.vmap(f)


def test_jit_of_checkify_and_checkify_of_jit():
    for x in (-3.0, 2.0):
        compare(_positive, ("user_checks",), np.float32(x), wrap=_jit)
        compare(lambda ns: ns.jax.jit(_positive(ns)), ("user_checks",), np.float32(x))
        compare(lambda ns: lambda x, i: ns.jax.jit(lambda x, i: x[i])(x, i), ("index_checks",),
                np.arange(3.0), np.int32(2 + 2 * (x < 0)), wrap=_jit)


def test_vmap_of_checkify_reports_each_failing_element():
    xs = np.float32([1.0, -1.0, -2.0])
    err = compare(_positive, ("user_checks",), xs, wrap=_vmap)
    assert err.get().startswith("at mapped index 1: x must be positive, got -1.0")
    assert isinstance(err.get_exception(), checkify.BatchedError)
    compare(_positive, ("user_checks",), np.abs(xs) + 1, wrap=_vmap)
    compare(lambda ns: lambda x, i: x[i], ("index_checks",), np.arange(6.0).reshape(2, 3),
            np.int32([1, 3]), wrap=_vmap)
    compare(_positive, ("user_checks",), xs, wrap=lambda ns, f: ns.jax.jit(ns.jax.vmap(f)))
    compare(_positive, ("user_checks",), xs, wrap=lambda ns, f: ns.jax.vmap(ns.jax.jit(f)))


def test_checkify_of_vmap_reports_a_failing_element():
    """One error for the whole batch: ours names the first failing element (JAX's the
    last; docs/differences.md)."""
    err, out = checkify.checkify(xform.vmap(_positive(X)))(jnp.array([1.0, -1.0, -2.0]))
    assert re.fullmatch(r"x must be positive, got -1\.0 \(`check` failed\) at .*" + HERE,
                        err.get())
    jerr, _ = jck.checkify(jax.vmap(_positive(J)))(jax.numpy.array([1.0, -1.0, -2.0]))
    assert jerr.get() is not None
    err, _ = checkify.checkify(xform.vmap(_positive(X)))(jnp.array([1.0, 2.0]))
    assert err.get() is None
    compare(lambda ns: ns.jax.vmap(lambda x, i: x[i]), ("index_checks",),
            np.arange(6.0).reshape(2, 3), np.int32([1, 3]))


def test_checkify_of_grad():
    compare(lambda ns: ns.jax.grad(_positive(ns)), ("user_checks",), np.float32(-1.0))
    compare(lambda ns: ns.jax.grad(_positive(ns)), ("user_checks",), np.float32(2.0))
    compare(lambda ns: ns.jax.grad(ns.jnp.sqrt), ("nan_checks",), np.float32(-1.0))
    compare(lambda ns: ns.jax.grad(lambda x: ns.jnp.sin(x).sum()), ("all_checks",),
            np.float32([1.0, 2.0]))


def test_nan_made_by_the_backward_pass_names_the_forward_line():
    def f(x):
        return jnp.sqrt(x) * 0.0   # BACKWARD LINE
    err, g = checkify.checkify(xform.grad(f), errors=checkify.nan_checks)(jnp.float32(0.0))
    assert np.isnan(g)
    line = next(i for i, s in enumerate(open(__file__), 1) if s.rstrip().endswith("# BACKWARD LINE"))
    assert err.get().startswith("nan generated by primitive: ")
    assert err.get().endswith(f"{__file__}:{line}")
    jerr, _ = jck.checkify(jax.grad(lambda x: jax.numpy.sqrt(x) * 0.0),
                           errors=jck.nan_checks)(jax.numpy.float32(0.0))
    assert jerr.get() is not None


def test_grad_through_a_checkified_function():
    f = checkify.checkify(_positive(X))
    assert float(xform.grad(lambda x: f(x)[1])(jnp.float32(2.0))) == pytest.approx(0.5)
    assert float(xform.jit(xform.grad(lambda x: f(x)[1]))(jnp.float32(4.0))) == \
        pytest.approx(0.25)


# --- control flow --------------------------------------------------------------------------------

def _scan(ns):
    def step(c, x):
        ns.ck.check(x < 3, "x too big: {}", x)
        return c + x, ns.jnp.log(c)
    return lambda xs: ns.lax.scan(step, 1.0, xs)


def _while(ns):
    def cond(c):
        ns.ck.check(c < 5, "cond saw {}", c)
        return c < 10
    def body(c):
        ns.ck.check(c != 2, "body saw {}", c)
        return c + 1
    return lambda c: ns.lax.while_loop(cond, body, c)


def _cond(ns):
    return lambda p, x: ns.lax.cond(p, lambda x: ns.jnp.log(x), lambda x: x[::-1], x)


@pytest.mark.parametrize("wrap", [None, _jit], ids=["eager", "jit"])
def test_control_flow(wrap):
    compare(_scan, ("user_checks",), np.float32([0, 1, 3, 4]), wrap=wrap)
    compare(_scan, ("user_checks", "nan_checks"), np.float32([-2, 0.5, 1]), wrap=wrap)
    compare(_scan, ("all_checks",), np.float32([0, 1, 2]), wrap=wrap)
    compare(_while, ("user_checks",), np.int32(0), wrap=wrap)   # the body fails first
    compare(_while, ("user_checks",), np.int32(3), wrap=wrap)   # then the cond
    compare(_while, ("user_checks",), np.int32(7), wrap=wrap)   # the first cond
    compare(_cond, ("nan_checks",), np.bool_(True), np.float32([-1, 1]), wrap=wrap)
    compare(_cond, ("nan_checks",), np.bool_(False), np.float32([-1, 1]), wrap=wrap)


def test_control_flow_under_vmap():
    compare_vmapped(_scan, ("user_checks",), np.float32([[0, 1, 3, 4], [0, 1, 2, 1]]))
    compare_vmapped(_scan, ("user_checks", "nan_checks"), np.float32([[2, 0.5], [-2, 0.5]]))
    compare_vmapped(_while, ("user_checks",), np.int32([0, 3, 7, 12]))
    compare_vmapped(_cond, ("nan_checks",), np.bool_([True, False, True]),
                    np.float32([[-1, 1], [-1, 1], [1, 1]]))


def test_vmap_of_checkify_of_a_loop_with_a_per_element_trip_count():
    def make(ns):
        def f(n):
            def body(c):
                ns.ck.check(c < 4, "c reached {}", c)
                return c + 1
            return ns.lax.while_loop(lambda c: c < n, body, 0)
        return f
    err = compare_vmapped(make, ("user_checks",), np.int32([2, 6, 3]))
    assert err.get().startswith("at mapped index 1: c reached 4")
    with pytest.raises(NotImplementedError, match="vmap outside checkify"):
        checkify.checkify(xform.vmap(make(X)))(jnp.int32([2, 6, 3]))


def test_nested_loops_and_checkpoint_and_custom_rules():
    def make(ns):
        def inner(c, x):
            ns.ck.check(x * c < 20, "product {} {}", x, c)
            return c + 1.0, x * c

        def outer(c, xs):
            c2, ys = ns.lax.scan(inner, c, xs)
            return c2, ys.sum()
        return lambda xs: ns.lax.scan(ns.jax.checkpoint(outer), 0.0, xs)
    compare(make, ("user_checks",), np.arange(12.0, dtype=np.float32).reshape(3, 4))
    compare(make, ("user_checks",), np.ones((3, 4), np.float32))

    @xform.custom_jvp
    def safe_log(x):
        checkify.check(x > 0, "log of {}", x)
        return jnp.log(x)
    safe_log.defjvp(lambda p, t: (safe_log(p[0]), t[0] / p[0]))
    err, _ = checkify.checkify(safe_log)(jnp.float32(-2.0))
    assert err.get().startswith("log of -2.0 (`check` failed) at ")
    err, g = checkify.checkify(xform.grad(safe_log))(jnp.float32(2.0))
    assert err.get() is None and float(g) == 0.5
    assert float(xform.grad(lambda x: checkify.checkify(safe_log)(x)[1])(jnp.float32(4.0))) \
        == 0.25

    @xform.custom_vjp
    def root(x):
        return jnp.sqrt(x)
    root.defvjp(lambda x: (jnp.sqrt(x), x), lambda r, g: (g * 0.5 / jnp.sqrt(r),))
    err, _ = checkify.checkify(root, errors=checkify.nan_checks)(jnp.float32(-2.0))
    assert err.get().startswith("nan generated by primitive: sqrt")
    g = xform.grad(lambda x: checkify.checkify(root, errors=checkify.nan_checks)(x)[1] * x)
    assert float(g(jnp.float32(4.0))) == 3.0


# --- the Error value ------------------------------------------------------------------------------

def test_error_is_a_pytree_that_crosses_jit():
    err, _ = checkify.checkify(_positive(X))(jnp.float32(-3.0))
    leaves, tree = xform.tree_util.tree_flatten(err)
    assert [np.asarray(v).tolist() for v in leaves] == [1, -3.0]
    again = xform.jit(lambda e: e)(err)
    assert again.get() == err.get()
    assert xform.tree_util.tree_unflatten(tree, leaves).get() == err.get()
    assert checkify.init_error.get() is None


def test_check_error_and_traced_errors():
    err, _ = checkify.checkify(_positive(X))(jnp.float32(-3.0))
    with pytest.raises(checkify.JaxRuntimeError, match="got -3.0"):
        checkify.check_error(err)
    checkify.check_error(checkify.init_error)
    with pytest.raises(xform.ConcretizationError, match="return the Error"):
        xform.jit(lambda x: checkify.checkify(_positive(X))(x)[0].get())(jnp.float32(1.0))
    with pytest.raises(NotImplementedError, match="check_error"):
        xform.jit(lambda e: checkify.check_error(e))(err)


def test_checks_are_dropped_when_user_checks_are_off():
    """As JAX: a check in a function checkified without user_checks is removed, also from
    staged loops (so it does not reach the compiler)."""
    compare(_scan, ("nan_checks",), np.float32([0, 1, 3, 4]), wrap=_jit)
    compare(_positive, ("index_checks",), np.float32(-1.0))


def test_checkify_of_shard_map_that_can_fail_is_refused():
    from xform.sharding import P
    mesh = xform.make_mesh((1,), ("i",))
    f = xform.shard_map(lambda x: _positive(X)(x[0])[None], mesh=mesh, in_specs=P("i"),
                        out_specs=P("i"))
    with pytest.raises(NotImplementedError, match="shard_map"):
        checkify.checkify(f)(jnp.float32([1.0]))
    g = xform.shard_map(jnp.sin, mesh=mesh, in_specs=P("i"), out_specs=P("i"))
    err, out = checkify.checkify(g)(jnp.float32([1.0]))   # nothing in it can fail
    assert err.get() is None and np.allclose(out, np.sin(1.0))
